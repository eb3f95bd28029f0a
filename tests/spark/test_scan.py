"""The Spark engine against the embedded one on the same input."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import SparkSession

from distillguard.engine.scan import scan as embedded_scan
from distillguard.engine.spark import scan as spark_scan
from distillguard.engine.spark._ingest import read_parquet_events
from distillguard.events import read_events
from distillguard.report.json_report import build_report
from distillguard.simulate import SimFiles

_STATE = ("acct", "acct_key", "acct_distinct", "key_pop", "model_seen", "accounts")


def test_same_report_as_embedded(spark: SparkSession, sample: SimFiles) -> None:
    # Exact equality holds when the embedded engine sees the whole input in
    # one batch: across batches its clusters and wrappers are those of the
    # prompts seen so far (docs/scaling.md).
    assert len(list(read_events(sample.events))) == 1
    ours = spark_scan([sample.events], accounts=sample.accounts, master="local[2]")
    theirs = embedded_scan([sample.events], accounts=sample.accounts)
    for table in _STATE:
        query = f"SELECT * FROM {table} ORDER BY ALL"
        assert ours.state.con.sql(query).fetchall() == theirs.state.con.sql(query).fetchall()
    report = build_report(ours.summary, ours.detection)
    assert report == build_report(theirs.summary, theirs.detection)
    assert report["campaigns"], "the sample should hold at least one campaign"
    assert any(a["campaign_id"] for a in report["accounts"])


def test_rejects_and_duplicates_as_embedded(
    spark: SparkSession, sample: SimFiles, tmp_path: Path
) -> None:
    events = pq.read_table(sample.events).slice(0, 300)
    bad = events.slice(0, 3).to_pylist()
    bad[0]["ip"] = "999.1.2.3"  # malformed address
    bad[1]["account_id"] = None  # required field missing
    # bad[2] repeats a request id seen earlier: a duplicate
    path = tmp_path / "events.parquet"
    pq.write_table(pa.concat_tables([events, pa.Table.from_pylist(bad, events.schema)]), path)
    ours = read_parquet_events(spark, [path])
    reader = read_events(path)
    accepted = pa.Table.from_batches(list(reader)).select(["request_id", "ts"])
    assert ours.summary.lines == reader.summary.lines == 303
    assert ours.summary.accepted == accepted.num_rows
    assert ours.summary.duplicates == reader.summary.duplicates == 1
    assert ours.summary.by_reason == reader.summary.by_reason
    by_line = sorted(reader.rejects.to_pylist(), key=lambda r: (r["source"], r["line"]))
    assert ours.rejects.to_pylist() == by_line
    kept = pa.Table.from_pylist(ours.events.select("request_id", "ts").toArrow().to_pylist())
    assert sorted(kept.to_pylist(), key=str) == sorted(accepted.to_pylist(), key=str)
