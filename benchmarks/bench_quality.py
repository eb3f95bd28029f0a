"""Detection quality on simulated traffic built from the real prompt corpora:
per population recall and harm, campaigns found, replay leakage, ROC AUC, and
the replay/scan time ratio. Every recall is printed next to harm.

    python benchmarks/bench_quality.py --events 1000000
    python benchmarks/bench_quality.py --events 1000000 --no-owners --no-replay
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import orjson
from _common import corpora, dataset, events_file
from rich.console import Console

from distillguard.cli import render
from distillguard.engine.evaluate import evaluate, read_labels
from distillguard.engine.replay import replay
from distillguard.engine.scan import scan
from distillguard.signals.parallel import default_workers


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--days", type=float, default=7.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-replay", action="store_true")
    ap.add_argument("--step", type=float, default=15.0, help="replay step, minutes")
    ap.add_argument("--detect-every", type=float, default=None, help="replay detection, minutes")
    ap.add_argument(
        "--no-owners",
        action="store_true",
        help="drop parent_entity from the account table (a provider that records no owners)",
    )
    args = ap.parse_args()
    console = Console()
    console.print(f"corpora: {'full (real corpora)' if corpora() else 'embedded subset'}")
    data = dataset(args.events, days=args.days, seed=args.seed)
    events, accounts = events_file(data), data / "accounts.jsonl"
    if args.no_owners:
        accounts = without_owners(accounts)
        console.print("account table without owners (parent_entity dropped)")
    labels = read_labels(data / "labels.csv")

    t0 = time.perf_counter()
    workers = default_workers()
    res = scan([events], accounts=accounts, workers=workers)
    scan_s = time.perf_counter() - t0
    det = res.detection
    scores = {a: s.score for a, s in det.scores.accounts.items()}
    console.rule(f"scan: {res.summary.lines:,} events, {scan_s:.1f} s")
    render.print_all(console, render.evaluation_tables(evaluate(det.actions, scores, labels)))

    if args.no_replay:
        return
    t0 = time.perf_counter()
    every = None if args.detect_every is None else args.detect_every * 60
    rep = replay(
        [events], accounts=accounts, step_s=args.step * 60, detect_every_s=every, workers=workers
    )
    replay_s = time.perf_counter() - t0
    det = rep.detection
    scores = {a: s.score for a, s in det.scores.accounts.items()}
    ev = evaluate(
        det.actions,
        scores,
        labels,
        requests=rep.requests,
        served_before_action=rep.served_before_action,
        strongest=rep.strongest_action,
    )
    cadence = "every step" if every is None else f"every {args.detect_every:g} min"
    console.rule(
        f"replay: {rep.steps} steps of {args.step:g} min, detection {cadence}, {replay_s:.1f} s"
    )
    render.print_all(console, render.evaluation_tables(ev, leakage=True))
    console.print(f"replay / scan time: {replay_s / scan_s:.2f}")


def without_owners(accounts: Path) -> Path:
    """A copy of the account table (JSON Lines) without ``parent_entity``."""
    out = accounts.with_name("accounts-no-owners.jsonl")
    with accounts.open("rb") as src, out.open("wb") as dst:
        for line in src:
            if line.strip():
                record = orjson.loads(line)
                record.pop("parent_entity", None)
                dst.write(orjson.dumps(record) + b"\n")
    return out


if __name__ == "__main__":
    main()
