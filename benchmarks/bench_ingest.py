"""Ingest throughput: N synthetic valid JSON Lines records through ``read_events``.

    python benchmarks/bench_ingest.py 500000 [--ips 20000] [--keep DIR]

Prints events/s (excluding the one-off load of the IP database, which is
timed separately) and the peak RSS of the process.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

from distillguard.events import read_events
from distillguard.events.enrich import get_database, sample_ips


def generate(path: Path, n: int, n_ips: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    ips = sample_ips("residential", None, n_ips // 2, rng) + sample_ips(
        "hosting", None, n_ips - n_ips // 2, rng
    )
    start_ms = 1_775_563_200_000
    with path.open("wb") as out:
        for i in range(n):
            record = {
                "ts": start_ms + i * 10
                if i % 2
                else f"2026-04-07T12:{i // 6000 % 60:02d}:{i // 100 % 60:02d}.{i % 1000:03d}Z",
                "account_id": f"acct_{i % 5000}",
                "request_id": f"req_{i}",
                "api_key_id": f"key_{i % 9000}",
                "ip": ips[i % len(ips)],
                "user_agent": "openai-python/1.40.0",
                "model": "model-large",
                "endpoint": "chat.completions",
                "messages": [
                    {"role": "system", "content": "You are a helpful assistant."},
                    {
                        "role": "user",
                        "content": f"Explain, step by step, how {i} relates "
                        "to the prime numbers below it, with a worked example.",
                    },
                ],
                "params": {"temperature": 0.7, "max_tokens": 1024, "stream": False},
                "input_tokens": 120,
                "output_tokens": 400,
                "status": 200,
                "latency_ms": 812.5,
            }
            out.write(orjson.dumps(record) + b"\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("n", type=int, nargs="?", default=200_000)
    parser.add_argument("--ips", type=int, default=20_000, help="distinct client IPs")
    parser.add_argument("--keep", type=Path, help="write the input file here and keep it")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = (args.keep or Path(tmp)) / "bench_events.jsonl"
        t0 = time.perf_counter()
        get_database()
        load = time.perf_counter() - t0
        generate(path, args.n, args.ips)
        size = path.stat().st_size
        t0 = time.perf_counter()
        reader = read_events([path])
        rows = sum(batch.num_rows for batch in reader)
        elapsed = time.perf_counter() - t0
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    s = reader.summary
    assert rows == s.accepted == args.n, s
    print(f"records        {args.n:,} ({size / 2**20:.0f} MiB, {args.ips:,} distinct IPs)")
    print(f"IP database    loaded in {load:.2f} s (once per process)")
    print(
        f"read_events    {elapsed:.2f} s -> {args.n / elapsed:,.0f} events/s "
        f"({size / 2**20 / elapsed:.0f} MiB/s)"
    )
    print(f"peak RSS       {peak_mib:,.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
