"""``scan``: one pass over a whole input, then one detection run."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from distillguard.detectors.base import Detector
from distillguard.engine.detect import Detection, detect
from distillguard.engine.state import DetectionState
from distillguard.events import IngestSummary, read_accounts, read_events
from distillguard.scoring import Profile, load_profile
from distillguard.signals import analyze_prompts
from distillguard.signals.parallel import PromptAnalyzer

#: Called with (stage, events done so far).
Progress = Callable[[str, int], None]

#: Input from this size on starts the prompt-analysis workers before the
#: first batch is read (about 25,000 events of JSON Lines).
WARM_BYTES = 16 << 20

#: Events held between merges into the detection state. It bounds scan
#: memory: each merge's working set grows with it, and DuckDB keeps much of
#: it for reuse. Each merge also reads the whole incidence table once, so
#: more merges cost more time: at 5M events, half of 262,144 took the peak
#: while reading from 4.26 GB to 3.77 GB, and the merges from 47 s to 66 s
#: (of a 300 s scan).
MERGE_ROWS = 131_072


@dataclass(slots=True)
class ScanResult:
    detection: Detection
    summary: IngestSummary
    rejects: pa.Table
    account_rejects: pa.Table | None
    state: DetectionState
    timings: dict[str, float] = field(default_factory=dict)
    #: Peak resident memory of the largest prompt-analysis worker (``workers`` > 1).
    worker_peak_rss_mb: float = 0.0


def scan(
    paths: Sequence[str | Path],
    *,
    accounts: str | Path | None = None,
    profile: Profile | None = None,
    fmt: str | None = None,
    progress: Progress | None = None,
    database: str | Path | None = None,
    detectors: Sequence[Detector] | None = None,
    merge_rows: int = MERGE_ROWS,
    batch_rows: int = 65536,
    workers: int = 1,
) -> ScanResult:
    """Ingest ``paths``, compute signals batch by batch, merge them into the
    detection state every ``merge_rows`` events (the merge is exact whatever
    the chunking, so this only bounds memory), and run detection once.

    ``workers`` > 1 analyses the prompts of the batch read ahead on
    ``workers - 1`` other processes (``signals.parallel``) while this one
    adds the batch before to the indexes and the state, with the same
    result. The workers start from a fresh interpreter, so a script calling
    this with ``workers`` > 1 needs the ``if __name__ == "__main__":`` guard."""
    profile = profile or load_profile()
    con = duckdb.connect(str(database) if database else ":memory:")
    state = DetectionState(con)
    timings: dict[str, float] = {"ingest": 0.0, "signals": 0.0, "state": 0.0}
    account_rejects = None
    if accounts is not None:
        t0 = time.perf_counter()
        table, account_rejects = read_accounts(accounts)
        state.load_accounts(table)
        timings["accounts"] = time.perf_counter() - t0
    reader = read_events(paths, fmt=fmt, batch_rows=batch_rows)
    pending = 0
    done = 0

    def flush() -> None:
        nonlocal pending
        t0 = time.perf_counter()
        state.merge("_sig_all")
        con.execute("DROP TABLE _sig_all")
        pending = 0
        timings["state"] += time.perf_counter() - t0

    analyzer = PromptAnalyzer(workers)
    state.prompts.analyze = analyzer
    if input_bytes(paths) >= WARM_BYTES:
        analyzer.start()
    try:
        it = iter(reader)
        t0 = time.perf_counter()
        coming = next(it, None)
        timings["ingest"] += time.perf_counter() - t0
        while coming is not None:
            batch = coming
            t0 = time.perf_counter()
            coming = next(it, None)
            timings["ingest"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            if coming is not None:
                # The worker processes analyse the next batch's new prompts
                # while this process adds this batch's.
                state.prompts.prefetch(coming.column("prompt"), background=True)
            sig = state.signals(pa.Table.from_batches([batch]))
            con.register("_batch_sig", sig)
            if pending == 0:
                con.execute("CREATE OR REPLACE TEMP TABLE _sig_all AS SELECT * FROM _batch_sig")
            else:
                con.execute("INSERT INTO _sig_all SELECT * FROM _batch_sig")
            con.unregister("_batch_sig")
            pending += batch.num_rows
            timings["signals"] += time.perf_counter() - t0
            done += batch.num_rows
            if progress:
                progress("signals", done)
            if pending >= merge_rows:
                flush()
        if pending:
            flush()
    finally:
        analyzer.close()
        state.prompts.analyze = analyze_prompts
    worker_rss = analyzer.worker_peak_rss_mb
    if not any(d.reads_prompt_index for d in detectors or ()):
        state.prompts.seal()
    if progress:
        progress("detect", done)
    detection = detect(state, profile, detectors)
    timings.update(detection.timings)
    return ScanResult(
        detection, reader.summary, reader.rejects, account_rejects, state, timings, worker_rss
    )


def input_bytes(paths: Sequence[str | Path]) -> int:
    """The size of the input files (what is not a readable file counts 0)."""
    total = 0
    for p in paths:
        try:
            total += os.path.getsize(p)
        except OSError:
            continue
    return total
