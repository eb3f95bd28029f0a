"""``scan`` on Spark: the embedded scan's result, from a cluster's work.

Distributed (Spark): reading Parquet, validation and enrichment (Python
workers running the embedded reader's code), removal of repeated request ids,
signals per distinct prompt (``analyze_prompts`` in the workers), the
near-duplicate clusters (connected components over the prompt–band graph)
and wrapper frames, and the aggregations that build the state tables.

On the driver: the state tables once aggregated (a row per account, per
account and key, per key), loaded into DuckDB; the feature view, every
detector, scoring and the policy, with the embedded engine's own code. The
account graph that scoring builds from group findings is small next to the
traffic (its nodes are accounts that share something, its edges at most
eight per member of a group), and scoring it in one place is what makes the
report equal to the embedded one.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import duckdb

from distillguard._exceptions import ConfigError
from distillguard.detectors.base import Detector
from distillguard.engine.detect import detect
from distillguard.engine.scan import Progress, ScanResult
from distillguard.engine.spark._catalogue import collect_catalogue
from distillguard.engine.spark._ingest import read_parquet_events
from distillguard.engine.spark._prompts import (
    earlier_signals,
    prompt_signals,
    system_signals,
)
from distillguard.engine.spark._session import spark_session
from distillguard.engine.spark._state import load_state, state_tables
from distillguard.engine.state import DetectionState
from distillguard.events import read_accounts
from distillguard.scoring import Profile, load_profile

_PARQUET = (".parquet", ".pq")


def scan(
    paths: Sequence[str | Path],
    *,
    accounts: str | Path | None = None,
    profile: Profile | None = None,
    fmt: str | None = None,
    master: str = "local[*]",
    progress: Progress | None = None,
    database: str | Path | None = None,
    detectors: Sequence[Detector] | None = None,
) -> ScanResult:
    """Scan Parquet event files on Spark (``master``); same result as
    ``engine.scan.scan`` on the same input (see ``docs/scaling.md`` for the
    bounded differences)."""
    check_parquet(paths, fmt)
    profile = profile or load_profile()
    spark = spark_session(master)
    timings: dict[str, float] = {}
    state = DetectionState(duckdb.connect(str(database) if database else ":memory:"))
    account_rejects = None
    if accounts is not None:
        t0 = time.perf_counter()
        table, account_rejects = read_accounts(accounts)
        state.load_accounts(table)
        timings["accounts"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ingest = read_parquet_events(spark, paths)
    timings["ingest"] = time.perf_counter() - t0
    if progress:
        progress("signals", ingest.summary.accepted)
    t0 = time.perf_counter()
    prompts = prompt_signals(ingest.events)
    prompts.by_norm.count()
    timings["signals"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    system = system_signals(ingest.events).persist()
    earlier = earlier_signals(ingest.events).persist()
    frames = state_tables(spark, ingest.events, prompts.by_text, system, earlier)
    load_state(state, {name: df.toArrow() for name, df in frames.items()})
    state.prompts = collect_catalogue(prompts.by_norm, frames["key_pop"], system, earlier)
    timings["state"] = time.perf_counter() - t0
    if progress:
        progress("detect", ingest.summary.accepted)
    spark.catalog.clearCache()
    detection = detect(state, profile, detectors)
    timings.update(detection.timings)
    return ScanResult(detection, ingest.summary, ingest.rejects, account_rejects, state, timings)


def check_parquet(paths: Sequence[str | Path], fmt: str | None) -> None:
    """Raise :class:`ConfigError` unless the input is Parquet."""
    if fmt not in (None, "parquet"):
        raise ConfigError(f"the Spark engine reads Parquet, not {fmt!r}")
    other = [str(p) for p in paths if Path(p).suffix.lower() not in _PARQUET]
    if fmt is None and other:
        raise ConfigError(
            f"the Spark engine reads Parquet; not Parquet by name: {', '.join(other[:3])}"
        )
