"""Ingest on Spark: Parquet files → validated, enriched, deduplicated events.

Each file is read by Spark (one scan per file, so every partition holds rows
of one file, with their row index). The Python workers turn each Arrow batch
into the JSON records the embedded Parquet reader builds, and validate,
normalise and enrich them with the embedded reader's own code
(``events._candidates``, ``IngestRun.enrich`` of ``events.reader``): a record is
accepted or rejected for the same reason on both engines. Only the removal of
repeated ``request_id`` values is global, and it is done by Spark: the first
record in input order (file, then row) is kept, as the embedded reader does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pyarrow as pa

from distillguard._exceptions import IngestError
from distillguard.events import EVENT_SCHEMA, MAX_REJECTS, REJECT_SCHEMA, IngestSummary
from distillguard.events._candidates import TierPlan, candidates
from distillguard.events._formats import drop_oversized, rows_as_json, timestamps_as_text
from distillguard.events.reader import IngestRun, SourceSummary

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: An event's position in the input: file index in the high bits, line below.
#: It orders events as the embedded reader meets them.
LINE_BITS = 40

_EXTRA = pa.schema(
    [
        pa.field("_ord", pa.int64()),
        pa.field("_file", pa.int32()),
        pa.field("_line", pa.int64()),
        pa.field("_reason", pa.string()),
        pa.field("_raw", pa.string()),
    ]
)
#: What the validating workers return: an event, or a reject (``_reason`` set).
CHECKED_SCHEMA = pa.schema([f.with_nullable(True) for f in EVENT_SCHEMA] + list(_EXTRA))


@dataclass(slots=True)
class SparkEvents:
    """Accepted events (``EVENT_SCHEMA`` plus ``_ord``) and what ingest counted."""

    events: DataFrame
    summary: IngestSummary
    rejects: pa.Table


def read_parquet_events(spark: SparkSession, paths: Sequence[str | Path]) -> SparkEvents:
    """Validated events of ``paths`` (Parquet), in the shape of ``read_events``."""
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    if not paths:
        raise IngestError("no input files")
    names = [str(p) for p in paths]
    checked: DataFrame | None = None
    for i, name in enumerate(names):
        if not Path(name).exists():
            raise IngestError(f"cannot read {name}: no such file")
        raw = spark.read.parquet(name).select(
            "*",
            F.lit(i).cast("int").alias("_file"),
            F.col("_metadata.row_index").alias("_row_index"),
        )
        part = raw.mapInArrow(_validate, from_arrow_schema(CHECKED_SCHEMA))
        checked = part if checked is None else checked.unionByName(part)
    assert checked is not None
    checked = checked.persist()
    valid = checked.where(F.col("_reason").isNull()).drop("_line", "_reason", "_raw")
    events = _first_of_each_request(valid).persist()
    summary = _summary(checked, events, names)
    rejects = _rejects(checked, names)
    checked.unpersist()
    return SparkEvents(events.drop("_file"), summary, rejects)


def _first_of_each_request(valid: DataFrame) -> DataFrame:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    keyed = valid.where(F.col("request_id").isNotNull())
    first = F.row_number().over(Window.partitionBy("request_id").orderBy("_ord"))
    kept = keyed.withColumn("_n", first).where(F.col("_n") == 1).drop("_n")
    return kept.unionByName(valid.where(F.col("request_id").isNull()))


def _summary(checked: DataFrame, events: DataFrame, names: list[str]) -> IngestSummary:
    from pyspark.sql import functions as F

    summary = IngestSummary()
    per = {name: SourceSummary() for name in names}
    rows = checked.groupBy("_file", "_reason").count().collect()
    for file, reason, count in rows:
        src = per[names[file]]
        src.lines += count
        if reason is None:
            src.accepted += count
        else:
            src.rejected += count
            summary.by_reason[reason] = summary.by_reason.get(reason, 0) + count
    for file, count in events.groupBy("_file").agg(F.count("*")).collect():
        src = per[names[file]]
        src.duplicates = src.accepted - count
        src.accepted = count
    for src in per.values():
        summary.lines += src.lines
        summary.accepted += src.accepted
        summary.rejected += src.rejected
        summary.duplicates += src.duplicates
    summary.by_source = per
    return summary


def _rejects(checked: DataFrame, names: list[str]) -> pa.Table:
    from pyspark.sql import functions as F

    rows = (
        checked.where(F.col("_reason").isNotNull())
        .select("_file", "_line", "_reason", "_raw")
        .orderBy("_file", "_line")
        .limit(MAX_REJECTS)
        .collect()
    )
    if not rows:
        return REJECT_SCHEMA.empty_table()
    columns = {
        "source": [names[r[0]] for r in rows],
        "line": [r[1] for r in rows],
        "reason": [r[2] for r in rows],
        "raw": [r[3] for r in rows],
    }
    return pa.table(columns, schema=REJECT_SCHEMA)


# -- on the workers ---------------------------------------------------------------


@cache
def _worker() -> tuple[IngestRun, duckdb.DuckDBPyConnection]:
    """Per worker process: the IP enrichment cache and a DuckDB connection."""
    return IngestRun(True), duckdb.connect()


def _validate(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    run, con = _worker()
    plan = TierPlan()
    for batch in batches:
        if batch.num_rows:
            yield from _check(batch, run, con, plan).to_batches()


def _check(
    batch: pa.RecordBatch, run: IngestRun, con: duckdb.DuckDBPyConnection, plan: TierPlan
) -> pa.Table:
    """One batch of a file's rows: events and rejects, as ``CHECKED_SCHEMA``."""
    file = int(batch.column("_file")[0].as_py())
    lines = batch.column("_row_index").to_numpy(zero_copy_only=False).astype(np.int64) + 1
    data = batch.select([n for n in batch.schema.names if n not in ("_file", "_row_index")])
    block = drop_oversized(rows_as_json(con, timestamps_as_text(data)), lines)
    # The embedded reader's IP checks and enrichment (``IngestRun.finish``
    # without its de-duplication, which is global here).
    table, rejects = run.enrich(block, *candidates(block, plan=plan))
    event_lines = block.lines[table.column("_row").to_numpy()]
    events = table.drop_columns(["_row"]).cast(EVENT_SCHEMA)
    n = events.num_rows
    ords = (np.int64(file) << LINE_BITS) | event_lines
    columns = [*events.columns, ords, [file] * n, event_lines, [None] * n, [None] * n]
    out = pa.table(columns, schema=CHECKED_SCHEMA)
    if rejects:
        line = np.array([r[0] for r in rejects], dtype=np.int64)
        bad_rows = {
            "_ord": (np.int64(file) << LINE_BITS) | line,
            "_file": [file] * len(rejects),
            "_line": line,
            "_reason": [str(r[1]) for r in rejects],
            "_raw": [r[2] for r in rejects],
        }
        nulls = {f.name: pa.nulls(len(rejects), f.type) for f in EVENT_SCHEMA}
        out = pa.concat_tables([out, pa.table({**nulls, **bad_rows}, schema=CHECKED_SCHEMA)])
    return out.combine_chunks()
