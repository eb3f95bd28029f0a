"""Ingest throughput: N synthetic records through ``read_events``, per format.

    python benchmarks/bench_ingest.py 300000 [--ips 20000] [--keep DIR]
        [--formats jsonl,gz,bad,parquet,csv] [--repeat 3]

Formats: ``jsonl`` (plain JSON Lines), ``gz`` (the same, gzip), ``bad`` (JSON
Lines with 5% malformed lines of assorted kinds), ``parquet`` and ``csv`` (the
accepted events, written flat like ``EVENT_SCHEMA``). Prints events/s for each
(the best of ``--repeat`` runs; the one-off load of the IP database is timed
separately), the CPU time per event (all threads; useful on a busy machine,
where wall time depends on what else runs) and the peak RSS of the process.
"""

from __future__ import annotations

import argparse
import gzip
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from distillguard.events import read_events
from distillguard.events.enrich import get_database, sample_ips

FORMATS = ("jsonl", "gz", "bad", "parquet", "csv")
BAD_SHARE = 0.05

#: Malformed lines of the ``bad`` file, in turn (each one is rejected).
MALFORMED = [
    lambda r: orjson.dumps(r)[:-17],  # truncated: not JSON
    lambda r: orjson.dumps({k: v for k, v in r.items() if k != "ts"}),
    lambda r: orjson.dumps({**r, "ts": "yesterday"}),
    lambda r: orjson.dumps({**r, "ts": "2026-04-07T12:00:00"}),
    lambda r: orjson.dumps({**r, "account_id": " "}),
    lambda r: orjson.dumps({**r, "account_id": 42}),
    lambda r: orjson.dumps({**r, "ip": "300.1.2.3"}),
    lambda r: orjson.dumps({**r, "input_tokens": -1}),
    lambda r: orjson.dumps({**r, "output_tokens": 1.5}),
    lambda r: orjson.dumps([r]),
]


def make_record(i: int, ips: list[str]) -> dict[str, object]:
    start_ms = 1_775_563_200_000
    return {
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


def _ips(n_ips: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return sample_ips("residential", None, n_ips // 2, rng) + sample_ips(
        "hosting", None, n_ips - n_ips // 2, rng
    )


def generate(path: Path, n: int, n_ips: int, seed: int = 0) -> None:
    """``n`` valid records as JSON Lines."""
    ips = _ips(n_ips, seed)
    with path.open("wb") as out:
        for i in range(n):
            out.write(orjson.dumps(make_record(i, ips)) + b"\n")


def generate_bad(path: Path, n: int, n_ips: int, seed: int = 0) -> int:
    """``n`` lines of which ``BAD_SHARE`` are malformed (spread evenly); returns
    how many are."""
    ips = _ips(n_ips, seed)
    every = round(1 / BAD_SHARE)
    bad = 0
    with path.open("wb") as out:
        for i in range(n):
            record = make_record(i, ips)
            if i % every == every // 2:
                out.write(MALFORMED[bad % len(MALFORMED)](record) + b"\n")
                bad += 1
            else:
                out.write(orjson.dumps(record) + b"\n")
    return bad


def flat_table(jsonl: Path) -> pa.Table:
    """The accepted events of a file, for the Parquet and CSV inputs."""
    table = read_events([jsonl], enrich=False).read_all()
    return table.drop_columns(["extra"])


def write_csv(table: pa.Table, path: Path) -> None:
    ts = pc.strftime(table.column("ts"), format="%Y-%m-%dT%H:%M:%S.%fZ")
    pacsv.write_csv(table.set_column(0, "ts", ts), path)


def measure(path: Path, repeat: int) -> tuple[float, float, int, int]:
    """Best wall seconds and CPU seconds of ``repeat`` reads; lines and accepted."""
    best_wall = best_cpu = float("inf")
    lines = accepted = 0
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        reader = read_events([path])
        rows = sum(batch.num_rows for batch in reader)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
        s = reader.summary
        assert rows == s.accepted and s.lines == s.accepted + s.rejected + s.duplicates, s
        lines, accepted = s.lines, s.accepted
    return best_wall, best_cpu, lines, accepted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("n", type=int, nargs="?", default=200_000)
    parser.add_argument("--ips", type=int, default=20_000, help="distinct client IPs")
    parser.add_argument("--keep", type=Path, help="write the input files here and keep them")
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="runs per format (best kept)")
    args = parser.parse_args(argv)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = set(formats) - set(FORMATS)
    if unknown:
        parser.error(f"unknown formats: {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        get_database()
        load = time.perf_counter() - t0
        plain = folder / "bench_events.jsonl"
        generate(plain, args.n, args.ips)
        files: dict[str, Path] = {}
        bad_lines = 0
        for fmt in formats:
            if fmt == "jsonl":
                files[fmt] = plain
            elif fmt == "gz":
                files[fmt] = folder / "bench_events.jsonl.gz"
                files[fmt].write_bytes(gzip.compress(plain.read_bytes(), compresslevel=6))
            elif fmt == "bad":
                files[fmt] = folder / "bench_bad.jsonl"
                bad_lines = generate_bad(files[fmt], args.n, args.ips)
        if {"parquet", "csv"} & set(formats):
            table = flat_table(plain)
            if "parquet" in formats:
                files["parquet"] = folder / "bench_events.parquet"
                pq.write_table(table, files["parquet"])
            if "csv" in formats:
                files["csv"] = folder / "bench_events.csv"
                write_csv(table, files["csv"])
        print(f"records        {args.n:,} ({args.ips:,} distinct IPs)")
        print(f"IP database    loaded in {load:.2f} s (once per process)")
        for fmt in formats:
            path = files[fmt]
            size = path.stat().st_size
            wall, cpu, lines, accepted = measure(path, args.repeat)
            expected = args.n - bad_lines if fmt == "bad" else args.n
            assert lines == args.n and accepted == expected, (fmt, lines, accepted)
            note = f", {lines - accepted:,} rejected" if fmt == "bad" else ""
            print(
                f"{fmt:<8} {size / 2**20:6.0f} MiB  {wall:6.2f} s -> {lines / wall:9,.0f} events/s"
                f"  ({size / 2**20 / wall:4.0f} MiB/s, CPU {cpu / lines * 1e6:5.1f} µs/event{note})"
            )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS       {peak_mib:,.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
