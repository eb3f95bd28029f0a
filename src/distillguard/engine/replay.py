"""``replay``: an online backtest.

Events are processed in time order in steps of ``step_s`` seconds of event
time. Each step's prompts are analysed when the step arrives (near-duplicate
clusters and wrappers come from the prompts seen so far); the detection state
absorbs the steps' signals (no history is rescanned) and detection runs; the
actions it decides apply to the events of later steps. When detection runs
less often than every step, the steps in between are merged into the state
together, just before detection: the merge is exact whatever the grouping.
A prompt's own analysis depends on its text alone, so the embedded engine
has the prompts of the next ``AHEAD_ROWS`` events analysed in one batch (on
``workers - 1`` other processes, while the steps before run); clusters and
wrappers are still assigned step by step from the prompts seen so far, so
this changes no result, only the cost of many small analyses.
The first time an account gets an enforced action (throttle, degrade,
suspend) is its ``first_action_at``; everything it sent before then was
served. Decisions can be withdrawn as evidence changes, so the strongest
action each account got at any step is kept too (``strongest_action``):
a customer throttled for a day and released was still harmed.

The step loop (:func:`run_steps`) is shared by the engines: the embedded
engine feeds it steps of raw events, whose signals ``DetectionState``
computes; the Spark engine (``engine.spark.replay``) feeds it steps of
per-event rows whose prompt signals were computed on the cluster.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from distillguard._types import Action
from distillguard.detectors.base import Detector
from distillguard.engine.detect import Detection, detect
from distillguard.engine.prompts import PromptCache
from distillguard.engine.scan import WARM_BYTES, input_bytes
from distillguard.engine.state import DetectionState
from distillguard.events import IngestSummary, read_accounts, read_events
from distillguard.events.schema import EVENT_SCHEMA
from distillguard.scoring import Profile, load_profile
from distillguard.signals import analyze_prompts
from distillguard.signals.parallel import PromptAnalyzer

Progress = Callable[[str, int], None]
#: One step: the end of its window of event time, and its rows.
Step = tuple[float, pa.Table]

#: Events whose prompts are analysed together ahead of their steps. A step
#: of 15 minutes holds a few hundred events; analysing them one step at a
#: time costs mostly the fixed cost of each vectorised call.
AHEAD_ROWS = 65_536


@dataclass(slots=True)
class ReplayResult:
    detection: Detection
    summary: IngestSummary
    rejects: pa.Table
    first_action_at: dict[str, float]
    first_review_at: dict[str, float]
    campaign_detected_at: dict[str, float]
    steps: int
    served_before_action: dict[str, int]
    requests: dict[str, int]
    strongest_action: dict[str, Action] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def replay(
    paths: Sequence[str | Path],
    *,
    accounts: str | Path | None = None,
    profile: Profile | None = None,
    step_s: float = 900.0,
    detect_every_s: float | None = None,
    fmt: str | None = None,
    progress: Progress | None = None,
    detectors: Sequence[Detector] | None = None,
    workers: int = 1,
) -> ReplayResult:
    """Replay ``paths`` in steps of ``step_s`` seconds of event time. Detection
    runs after every step unless ``detect_every_s`` spaces it out (the state
    still absorbs every step); actions apply from the next step on.
    ``workers`` > 1 analyses the prompts read ahead on that many processes
    (see ``scan``)."""
    profile = profile or load_profile()
    state = DetectionState(duckdb.connect())
    timings = {"ingest": 0.0, "state": 0.0, "detect": 0.0}
    if accounts is not None:
        table, _ = read_accounts(accounts)
        state.load_accounts(table)
    analyzer = PromptAnalyzer(workers)
    if input_bytes(paths) >= WARM_BYTES:
        analyzer.start()  # the workers boot while the input is read
    t0 = time.perf_counter()
    reader = read_events(paths, fmt=fmt)
    events = duckdb.connect()
    first = True
    for batch in reader:
        events.register("_b", pa.Table.from_batches([batch]))
        if first:
            events.execute("CREATE TABLE events AS SELECT * FROM _b")
            first = False
        else:
            events.execute("INSERT INTO events SELECT * FROM _b")
        events.unregister("_b")
    timings["ingest"] = time.perf_counter() - t0
    steps = () if first else _analysed_ahead(_steps(events, step_s), state.prompts, analyzer)
    if first:
        analyzer.close()
    return run_steps(
        state,
        steps,
        state.signals,
        summary=reader.summary,
        rejects=reader.rejects,
        profile=profile,
        step_s=step_s,
        detect_every_s=detect_every_s,
        progress=progress,
        detectors=detectors,
        timings=timings,
    )


def run_steps(
    state: DetectionState,
    steps: Iterable[Step],
    signals: Callable[[pa.Table], pa.Table],
    *,
    summary: IngestSummary,
    rejects: pa.Table,
    profile: Profile,
    step_s: float = 900.0,
    detect_every_s: float | None = None,
    progress: Progress | None = None,
    detectors: Sequence[Detector] | None = None,
    timings: dict[str, float] | None = None,
) -> ReplayResult:
    """The online loop over ``steps`` (in time order): count each step's
    requests as served unless its account was already acted on, compute the
    step's per-event ``signals`` (its rows carry ``account_id``), and, when
    the cadence says so, merge the signals held so far into ``state`` and
    detect; actions apply from the next step on."""
    timings = timings if timings is not None else {}
    timings.setdefault("state", 0.0)
    timings.setdefault("detect", 0.0)
    first_action: dict[str, float] = {}
    first_review: dict[str, float] = {}
    strongest: dict[str, Action] = {}
    served: dict[str, int] = {}
    requests: dict[str, int] = {}
    detection: Detection | None = None
    n_steps = 0
    done = 0
    every = max(detect_every_s or step_s, step_s)
    next_detect = 0.0
    pending: list[pa.Table] = []

    def merge() -> None:
        if pending:
            state.merge_signals(pa.concat_tables(pending))
            pending.clear()

    for step_end, table in steps:
        t0 = time.perf_counter()
        # Actions decided so far apply to this step's events.
        for acc in table.column("account_id").to_pylist():
            requests[acc] = requests.get(acc, 0) + 1
            if acc not in first_action:
                served[acc] = served.get(acc, 0) + 1
        if table.num_rows:
            pending.append(signals(table))
        n_steps += 1
        done += table.num_rows
        if progress:
            progress("replay", done)
        if step_end < next_detect:
            timings["state"] += time.perf_counter() - t0
            continue
        next_detect = step_end + every - 1e-6
        merge()
        timings["state"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        detection = detect(state, profile, detectors)
        timings["detect"] += time.perf_counter() - t0
        for acc, action in detection.actions.items():
            if action.enforced and acc not in first_action:
                first_action[acc] = step_end
            if action.rank >= 1:
                if acc not in first_review:
                    first_review[acc] = step_end
                if action.rank > strongest.get(acc, Action.ALLOW).rank:
                    strongest[acc] = action
    if detection is None or pending:
        merge()
        detection = detect(state, profile, detectors)
    detected = {
        c.campaign_id: min((first_action[a] for a in c.accounts if a in first_action), default=None)
        for c in detection.scores.campaigns
    }
    return ReplayResult(
        detection=detection,
        summary=summary,
        rejects=rejects,
        first_action_at=first_action,
        first_review_at=first_review,
        campaign_detected_at={k: v for k, v in detected.items() if v is not None},
        steps=n_steps,
        served_before_action=served,
        requests=requests,
        strongest_action=strongest,
        timings=timings,
    )


def cut_steps(
    tables: Iterable[pa.Table | pa.RecordBatch],
    step_s: float,
    seconds: Callable[[pa.Table], np.ndarray],
) -> Iterator[Step]:
    """Rows in time order (``seconds`` gives a table's event times in epoch
    seconds), cut into windows of ``step_s`` seconds of event time; yields
    (window end, rows). A window starts at the step boundary before its first
    row, so empty stretches of time make no steps."""
    pending: list[pa.Table] = []
    end: float | None = None
    for part in tables:
        table = part if isinstance(part, pa.Table) else pa.Table.from_batches([part])
        ts = seconds(table)
        start = 0
        while start < len(ts):
            if end is None:
                end = (ts[start] // step_s + 1) * step_s
            stop = int(np.searchsorted(ts, end, side="left"))
            if stop > start:
                pending.append(table.slice(start, stop - start))
            if stop < len(ts):
                yield end, pa.concat_tables(pending)
                pending = []
                end = None
            start = stop
    if pending and end is not None:
        yield end, pa.concat_tables(pending)


def _analysed_ahead(
    steps: Iterable[Step], prompts: PromptCache, analyzer: PromptAnalyzer, rows: int = AHEAD_ROWS
) -> Iterator[Step]:
    """``steps`` as they come, in runs of about ``rows`` events whose new
    prompts ``prompts`` analyses in one batch (with ``analyzer``, which is
    closed at the end), in the background while the run before is replayed."""
    prompts.analyze = analyzer
    try:
        run: list[Step] = []
        before: list[Step] = []
        held = 0
        for step in steps:
            run.append(step)
            held += step[1].num_rows
            if held >= rows:
                prompts.prefetch(_prompts_of(run), background=True)
                yield from before
                before, run, held = run, [], 0
        if run:
            prompts.prefetch(_prompts_of(run), background=True)
        yield from before
        yield from run
    finally:
        analyzer.close()
        prompts.analyze = analyze_prompts


def _prompts_of(run: list[Step]) -> pa.ChunkedArray:
    kind = run[0][1].schema.field("prompt").type
    return pa.chunked_array([c for _, t in run for c in t.column("prompt").chunks], kind)


def _steps(con: duckdb.DuckDBPyConnection, step_s: float) -> Iterator[Step]:
    """The ``events`` table in time order, cut into steps."""
    names = ", ".join(EVENT_SCHEMA.names)
    reader = con.sql(f"SELECT {names} FROM events ORDER BY ts").to_arrow_reader(65536)
    return cut_steps(reader, step_s, _event_seconds)


def _event_seconds(table: pa.Table) -> np.ndarray:
    seconds: np.ndarray = table.column("ts").cast(pa.int64()).to_numpy() / 1e6
    return seconds
