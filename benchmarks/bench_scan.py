"""Throughput of ``scan``: events/s end to end and peak RSS, with a per-stage
breakdown, at several sizes (each scan in a fresh process). "peak RSS" is the
scanning process; "worker RSS" the largest prompt-analysis worker's peak
(they run at the same time, so the machine needs about the sum plus one
worker's share per extra worker).

    python benchmarks/bench_scan.py --events 500000 1000000 5000000 [--workers N]
"""

from __future__ import annotations

import argparse

from _common import dataset, events_file, measured
from rich.console import Console
from rich.table import Table

from distillguard.signals.parallel import default_workers

SCAN = """
import time
from distillguard.engine.scan import scan
t0 = time.perf_counter()
r = scan([{events!r}], accounts={accounts!r}, workers={workers})
elapsed = time.perf_counter() - t0
result = {{"seconds": elapsed, "lines": r.summary.lines, "timings": r.timings,
           "accounts": len(r.detection.actions), "campaigns": len(r.detection.scores.campaigns),
           "worker_rss_mb": r.worker_peak_rss_mb}}
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, nargs="+", default=[500_000, 1_000_000])
    ap.add_argument("--format", default="jsonl", choices=["jsonl", "parquet"])
    ap.add_argument(
        "--workers", type=int, default=None, help="prompt-analysis processes (default: cores)"
    )
    args = ap.parse_args()
    console = Console()
    rows = []
    for n in args.events:
        data = dataset(n, fmt=args.format)
        res = measured(
            SCAN.format(
                events=str(events_file(data)),
                accounts=str(data / "accounts.jsonl"),
                workers=args.workers or default_workers(),
            )
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
        "worker RSS MB",
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
            f"{float(r['worker_rss_mb']):,.0f}",  # type: ignore[arg-type]
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
