"""Throughput of ``scan``: events/s end to end and peak RSS, with a per-stage
breakdown, at several sizes (each scan in a fresh process).

    python benchmarks/bench_scan.py --events 500000 1000000 5000000
"""

from __future__ import annotations

import argparse

from _common import dataset, events_file, measured
from rich.console import Console
from rich.table import Table

SCAN = """
import time
from distillguard.engine.scan import scan
t0 = time.perf_counter()
r = scan([{events!r}], accounts={accounts!r})
elapsed = time.perf_counter() - t0
result = {{"seconds": elapsed, "lines": r.summary.lines, "timings": r.timings,
           "accounts": len(r.detection.actions), "campaigns": len(r.detection.scores.campaigns)}}
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, nargs="+", default=[500_000, 1_000_000])
    ap.add_argument("--format", default="jsonl", choices=["jsonl", "parquet"])
    args = ap.parse_args()
    console = Console()
    rows = []
    for n in args.events:
        data = dataset(n, fmt=args.format)
        res = measured(
            SCAN.format(events=str(events_file(data)), accounts=str(data / "accounts.jsonl"))
        )
        rows.append((n, res))
        console.print(f"{n:,}: {res['lines']:,} events in {res['seconds']:.1f} s")
    table = Table(title="scan throughput")
    for col in (
        "events",
        "seconds",
        "events/s",
        "µs/event",
        "peak RSS MB",
        "accounts",
        "campaigns",
    ):
        table.add_column(col, justify="right")
    for _, r in rows:
        lines, secs = int(r["lines"]), float(r["seconds"])  # type: ignore[arg-type]
        table.add_row(
            f"{lines:,}",
            f"{secs:.1f}",
            f"{lines / secs:,.0f}",
            f"{1e6 * secs / lines:.1f}",
            f"{float(r['peak_rss_mb']):,.0f}",  # type: ignore[arg-type]
            f"{r['accounts']:,}",
            str(r["campaigns"]),
        )
    console.print(table)
    stages = Table(title="per-stage seconds")
    stages.add_column("stage")
    for _, r in rows:
        stages.add_column(f"{int(r['lines']):,}", justify="right")  # type: ignore[arg-type]
    names = list(rows[0][1]["timings"])  # type: ignore[arg-type]
    for name in names:
        stages.add_row(name, *(f"{r['timings'].get(name, 0.0):.2f}" for _, r in rows))  # type: ignore[union-attr]
    console.print(stages)
    if len(rows) >= 2:
        (_, small), (_, big) = rows[0], rows[-1]
        per = [float(r["seconds"]) / int(r["lines"]) for r in (small, big)]  # type: ignore[arg-type]
        console.print(f"time per event, largest / smallest: {per[1] / per[0]:.2f}")


if __name__ == "__main__":
    main()
