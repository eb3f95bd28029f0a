"""The Spark engine against the embedded one, in one run on the same Parquet
input: wall time per stage and the ratio. Each engine runs in a fresh process
(the Spark one on ``local[N]``, its session start included and shown apart).

    python benchmarks/bench_engines.py --events 5000000 --master 'local[2]' --workers 2
"""

from __future__ import annotations

import argparse
from collections import Counter

from _common import dataset, events_file, measured
from rich.console import Console
from rich.table import Table

EMBEDDED = """
import time
from distillguard.engine.scan import scan
t0 = time.perf_counter()
r = scan([{events!r}], accounts={accounts!r}, workers={workers})
result = {{"seconds": time.perf_counter() - t0, "lines": r.summary.lines, "timings": r.timings,
           "campaigns": len(r.detection.scores.campaigns),
           "actions": {{a: x.value for a, x in r.detection.actions.items()}}}}
"""

SPARK = """
import time
from distillguard.engine.spark import scan, spark_session
t0 = time.perf_counter()
spark_session({master!r}, driver_memory={driver_memory!r})
started = time.perf_counter() - t0
t0 = time.perf_counter()
r = scan([{events!r}], accounts={accounts!r}, master={master!r})
result = {{"seconds": time.perf_counter() - t0, "lines": r.summary.lines,
           "timings": {{"session start": started, **r.timings}},
           "campaigns": len(r.detection.scores.campaigns),
           "actions": {{a: x.value for a, x in r.detection.actions.items()}}}}
"""

_STAGES = ("session start", "accounts", "ingest", "signals", "state", "features", "scoring")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=5_000_000)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument(
        "--workers", type=int, default=2, help="embedded prompt-analysis processes (as local[N])"
    )
    ap.add_argument(
        "--driver-memory", default="6g", help="Spark driver (and, in local mode, executor) memory"
    )
    args = ap.parse_args()
    console = Console()
    data = dataset(args.events, fmt="parquet")
    paths = {"events": str(events_file(data)), "accounts": str(data / "accounts.jsonl")}
    runs = {}
    for name, code in (("duckdb", EMBEDDED), (f"spark {args.master}", SPARK)):
        res = measured(
            code.format(
                master=args.master,
                workers=args.workers,
                driver_memory=args.driver_memory,
                **paths,
            )
        )
        runs[name] = res
        console.print(f"{name}: {res['lines']:,} events in {res['seconds']:.1f} s")
    table = Table(title=f"scan of {args.events:,} events: seconds per stage")
    table.add_column("stage")
    for name in runs:
        table.add_column(name, justify="right")
    for stage in _STAGES:
        table.add_row(stage, *(_cell(r["timings"].get(stage)) for r in runs.values()))  # type: ignore[union-attr]
    detectors = [
        sum(v for k, v in r["timings"].items() if k.startswith("detector:")) for r in runs.values()
    ]  # type: ignore[union-attr]
    table.add_row("detectors", *(_cell(d) for d in detectors))
    table.add_row("total", *(_cell(r["seconds"]) for r in runs.values()))
    table.add_row("driver peak RSS MB", *(f"{float(r['peak_rss_mb']):,.0f}" for r in runs.values()))  # type: ignore[arg-type]
    table.add_row("campaigns", *(str(r["campaigns"]) for r in runs.values()))
    console.print(table)
    base, spark = (float(r["seconds"]) for r in runs.values())  # type: ignore[arg-type]
    console.print(f"spark / duckdb wall time: {spark / base:.2f}")
    _agreement(console, *(r["actions"] for r in runs.values()))  # type: ignore[misc]


def _agreement(console: Console, a: dict[str, str], b: dict[str, str]) -> None:
    """How far the two reports' actions agree (see docs/scaling.md on the
    bounded difference between engines)."""
    ids = a.keys() | b.keys()
    same = sum(1 for i in ids if a.get(i) == b.get(i))
    enforced = {"throttle", "degrade", "suspend"}
    ea = {i for i, x in a.items() if x in enforced}
    eb = {i for i, x in b.items() if x in enforced}
    moves = Counter(f"{a.get(i)} -> {b.get(i)}" for i in ids if a.get(i) != b.get(i))
    console.print(
        f"same action: {same:,} of {len(ids):,} accounts ({same / max(len(ids), 1):.2%}); "
        f"enforced {len(ea):,} (duckdb) / {len(eb):,} (spark), {len(ea & eb):,} on both"
    )
    if moves:
        console.print(
            "changes duckdb -> spark: " + ", ".join(f"{k} {v}" for k, v in moves.most_common(8))
        )


def _cell(value: object) -> str:
    return "" if value is None else f"{float(value):.1f}"  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
