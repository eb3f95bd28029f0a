"""The live loop: what a cycle costs at a realistic spool rate, and how long a
campaign runs from its first request to enforcement at the gateway.

    python benchmarks/bench_live.py --history 100000 --rate 200 --cycles 6
    python benchmarks/bench_live.py --demo            # also time-to-enforcement

Cycle cost: the first ``--history`` requests of a simulated week are spooled
and absorbed first (the state a running deployment carries), then the
following traffic is spooled ``--rate`` requests per second of a
``--interval``-second cycle at a time; each cycle ingests (validation, prompt
signals, the state merge and its commit) and runs detection on the whole
state. Reported: events/s ingested, detection seconds, decisions changed, and
the restart time (reopening the state file, prompt cache rebuilt).

``--demo`` runs ``distillguard demo --live`` and prints time-to-enforcement
in campaign seconds and wall seconds (the campaign runs at wall-clock speed,
so they are equal; the benign pacing is what the demo compresses).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import dataset


def spool_lines(events: Path) -> list[bytes]:
    """The dataset's events in time order, as the spool holds them."""
    import duckdb

    con = duckdb.connect()
    rows = con.sql(
        f"SELECT * FROM read_json_auto('{events}', format='newline_delimited') ORDER BY ts"
    )
    import orjson

    out = []
    for record in rows.to_arrow_table().to_pylist():
        rec = {k: v for k, v in record.items() if v is not None}
        rec["ts"] = int(rec["ts"].timestamp() * 1000)
        out.append(orjson.dumps(rec, default=str))
    return out


def bench_cycles(args: argparse.Namespace) -> None:
    from distillguard.decisions.store import DecisionStore
    from distillguard.gateway.spool import SpoolWriter
    from distillguard.live import DetectionLoop, LoopConfig

    data = dataset(args.events, days=7.0)
    lines = spool_lines(next(data.glob("events*.jsonl*")))
    accounts = next(data.glob("accounts*"))
    per_cycle = int(args.rate * args.interval)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        spool, state = folder / "spool", folder / "state.duckdb"
        writer = SpoolWriter(spool, fsync="never")
        for line in lines[: args.history]:
            writer.append_raw(line + b"\n")
        store = DecisionStore(f"sqlite:///{folder / 'decisions.db'}")
        loop = DetectionLoop(spool, state, store, LoopConfig(accounts=accounts))
        t0 = time.perf_counter()
        first = loop.run_once(force_detect=True)
        print(
            f"history: {first.events:,} events absorbed in {time.perf_counter() - t0:.1f} s "
            f"(ingest {first.ingest_s:.1f} s = {first.events / first.ingest_s:,.0f} events/s, "
            f"detect {first.detect_s or 0:.2f} s)"
        )
        rest = lines[args.history :]
        ingest_rates, detects, changed = [], [], []
        for c in range(args.cycles):
            chunk = rest[c * per_cycle : (c + 1) * per_cycle]
            if not chunk:
                break
            for line in chunk:
                writer.append_raw(line + b"\n")
            stats = loop.run_once(force_detect=True)
            ingest_rates.append(stats.events / stats.ingest_s)
            detects.append(stats.detect_s or 0.0)
            changed.append(stats.published.changed if stats.published else 0)
            print(
                f"cycle {c + 1}: {stats.events:,} events, ingest {stats.ingest_s:.2f} s, "
                f"detect {stats.detect_s or 0:.2f} s, decisions changed {changed[-1]}"
            )
        writer.close()
        cycle = statistics.median(
            per_cycle / r + d for r, d in zip(ingest_rates, detects, strict=True)
        )
        print(
            f"per cycle at {args.rate:g} requests/s x {args.interval:g} s = {per_cycle:,} events: "
            f"ingest median {statistics.median(ingest_rates):,.0f} events/s, detect median "
            f"{statistics.median(detects):.2f} s, cycle median {cycle:.2f} s "
            f"({cycle / args.interval:.0%} of the interval) on a state of "
            f"{loop.state.state.events:,} events"
        )
        loop.close()
        t0 = time.perf_counter()
        reopened = DetectionLoop(spool, state, store, LoopConfig())
        print(
            f"restart: state reopened in {time.perf_counter() - t0:.1f} s "
            f"({reopened.state.cache.size:,} distinct prompts re-analysed)"
        )
        reopened.close()


def bench_demo() -> None:
    from rich.console import Console

    from distillguard.live.demo import run_live_demo

    t0 = time.perf_counter()
    tl = run_live_demo(Console(stderr=True))
    wall = time.perf_counter() - t0
    enforced = tl.first_enforced()
    if enforced is None:
        print(f"time-to-enforcement: not enforced during the demo ({wall:.0f} s wall in all)")
        return
    took = enforced.sent - tl.campaign_start
    print(
        f"time-to-enforcement: {took:.1f} campaign s = {took:.1f} wall s from the campaign's "
        f"first request to its first enforced answer ({enforced.kind}); "
        f"demo took {wall:.0f} s wall in all"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=250_000, help="simulated dataset size")
    parser.add_argument("--history", type=int, default=100_000, help="events absorbed first")
    parser.add_argument("--rate", type=float, default=200.0, help="spooled requests per second")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds per cycle")
    parser.add_argument("--cycles", type=int, default=6)
    parser.add_argument("--demo", action="store_true", help="also run the live demo")
    args = parser.parse_args()
    bench_cycles(args)
    if args.demo:
        bench_demo()


if __name__ == "__main__":
    main()
