"""``replay`` on Spark: the embedded online backtest, fed by a cluster.

Distributed (Spark), once for the whole input: reading Parquet, validation
and enrichment, removal of repeated request ids, the analysis of every
distinct prompt text (hashes, MinHash bands, elicitation, area, language:
the heavy per-prompt work), and the per-event rows, sorted by event time.

On the driver, in time order and a batch at a time (``_feed``): each step's
new prompts join the driver's ``PromptCache``, which assigns near-duplicate
clusters and wrappers from the prompts seen so far (an online system cannot
know the prompts still to come, so this part is sequential by nature), and
each step is merged into a DuckDB ``DetectionState`` by the embedded replay's
own loop (``engine.replay.run_steps``): same served counts, same detection
cadence, same first actions.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pyarrow as pa

from distillguard.detectors.base import Detector
from distillguard.engine.replay import Progress, ReplayResult, cut_steps, run_steps
from distillguard.engine.spark._feed import PromptFeed, read_sorted
from distillguard.engine.spark._ingest import read_parquet_events
from distillguard.engine.spark._prompts import analysed_texts
from distillguard.engine.spark._session import spark_session
from distillguard.engine.spark._state import EVENT_COLUMNS_SQL
from distillguard.engine.spark.scan import check_parquet
from distillguard.engine.state import DetectionState
from distillguard.events import read_accounts
from distillguard.scoring import Profile, load_profile

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_ROWS_SQL = f"""
SELECT {EVENT_COLUMNS_SQL}, e.system_prompt, e.earlier_prompts, p.text_key
FROM _events e JOIN _texts p ON e.prompt = p.prompt
"""


def replay(
    paths: Sequence[str | Path],
    *,
    accounts: str | Path | None = None,
    profile: Profile | None = None,
    step_s: float = 900.0,
    detect_every_s: float | None = None,
    fmt: str | None = None,
    master: str = "local[*]",
    progress: Progress | None = None,
    detectors: Sequence[Detector] | None = None,
    spill_dir: str | Path | None = None,
) -> ReplayResult:
    """Replay Parquet event files with Spark (``master``) doing the heavy
    work; same loop and result as ``engine.replay.replay``.

    The sorted rows go through a temporary directory under ``spill_dir``
    (the system's temporary directory by default): on a cluster it must be a
    path that the executors and the driver both reach."""
    check_parquet(paths, fmt)
    profile = profile or load_profile()
    spark = spark_session(master)
    state = DetectionState(duckdb.connect())
    if accounts is not None:
        table, _ = read_accounts(accounts)
        state.load_accounts(table)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    ingest = read_parquet_events(spark, paths)
    timings["ingest"] = time.perf_counter() - t0
    if progress:
        progress("signals", ingest.summary.accepted)
    with tempfile.TemporaryDirectory(prefix="distillguard-replay-", dir=spill_dir) as tmp:
        t0 = time.perf_counter()
        rows, prompts = _sorted_outputs(spark, ingest.events, Path(tmp))
        timings["signals"] = time.perf_counter() - t0
        feed = PromptFeed(read_sorted(prompts, "first_t"), state.prompts)
        return run_steps(
            state,
            cut_steps(read_sorted(rows, "t"), step_s, _seconds),
            feed.signals,
            summary=ingest.summary,
            rejects=ingest.rejects,
            profile=profile,
            step_s=step_s,
            detect_every_s=detect_every_s,
            progress=progress,
            detectors=detectors,
            timings=timings,
        )


def _sorted_outputs(spark: SparkSession, events: DataFrame, out: Path) -> tuple[Path, Path]:
    """Write the event rows sorted by time and the analysed prompts sorted by
    first use (then by input position, the embedded engine's order within a
    step); returns their directories."""
    from pyspark.sql import functions as F

    texts = analysed_texts(events).persist()
    events.createOrReplaceTempView("_events")
    texts.createOrReplaceTempView("_texts")
    rows = spark.sql(_ROWS_SQL).persist()
    first = rows.groupBy("text_key").agg(F.min("t").alias("first_t"))
    prompts = texts.join(first, "text_key").drop("text_key")
    rows.orderBy("t").write.parquet(str(out / "rows"))
    prompts.orderBy("first_t", "first_ord").write.parquet(str(out / "prompts"))
    spark.catalog.clearCache()
    return out / "rows", out / "prompts"


def _seconds(table: pa.Table) -> np.ndarray:
    seconds: np.ndarray = table.column("t").to_numpy()
    return seconds
