"""The threads of ``read_events`` (read-ahead, errors, stopping early) and the
run's cache of resolved addresses."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import pyarrow as pa
import pytest

from distillguard import IngestError
from distillguard.events import read_events
from distillguard.events.enrich import Enricher
from distillguard.events.reader import _ResolvedIps, prefetch
from tests.events._helpers import record


def test_prefetch_keeps_order_and_raises_where_the_item_was() -> None:
    def items() -> Iterator[int]:
        yield from range(5)
        raise ValueError("boom")

    got = []
    with pytest.raises(ValueError, match="boom"):
        for item in prefetch(items(), depth=1):
            got.append(item)
    assert got == [0, 1, 2, 3, 4]


def test_prefetch_closed_early_stops_the_worker() -> None:
    closed = threading.Event()

    def items() -> Iterator[int]:
        try:
            yield from range(1_000_000)
        finally:
            closed.set()

    stream = prefetch(items(), depth=2)
    assert [next(stream) for _ in range(3)] == [0, 1, 2]
    stream.close()
    assert closed.is_set()
    assert not any(t.name == "distillguard-ingest" for t in threading.enumerate())


def test_reader_stopped_early_and_read_again(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_bytes(
        b"\n".join(orjson.dumps(record(request_id=f"r{i}")) for i in range(50)) + b"\n"
    )
    reader = read_events([path], batch_rows=10)
    first = next(iter(reader))
    assert first.num_rows == 10
    assert reader.read_all().num_rows == 50  # a new pass starts afresh
    assert reader.summary.accepted == 50


def test_batches_are_whole_across_blocks_and_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks inside the pipeline are smaller than the batches handed on; the
    batches still hold ``batch_rows`` rows each (the last one the rest), in order."""
    monkeypatch.setattr("distillguard.events.reader.BLOCK_ROWS", 7)
    paths = []
    for f in range(2):
        path = tmp_path / f"e{f}.jsonl"
        path.write_bytes(
            b"\n".join(orjson.dumps(record(request_id=f"r{f}-{i}")) for i in range(31)) + b"\n"
        )
        paths.append(path)
    batches = list(read_events(paths, batch_rows=20))
    assert [b.num_rows for b in batches] == [20, 20, 20, 2]
    ids = [i for b in batches for i in b.column("request_id").to_pylist()]
    assert ids == [f"r{f}-{i}" for f in range(2) for i in range(31)]


def test_corrupt_gzip_raises_from_the_iteration(tmp_path: Path) -> None:
    body = gzip.compress(b"\n".join(orjson.dumps(record(request_id=f"r{i}")) for i in range(500)))
    path = tmp_path / "e.jsonl.gz"
    path.write_bytes(body[: len(body) // 2])
    with pytest.raises(IngestError, match="cannot read"):
        read_events([path]).read_all()


def test_resolved_ips_match_direct_lookups_across_blocks() -> None:
    enricher = Enricher(True)
    cache = _ResolvedIps(Enricher(True), limit=4)
    blocks = [
        ["8.8.8.8", "1.1.1.1", "300.1.1.1"],
        ["1.1.1.1", "2001:4860:4860::8888", "8.8.8.8"],
        ["9.9.9.9", "73.15.2.3", "10.0.0.1", "8.8.4.4", "x"],  # past the limit: afresh
        ["8.8.8.8", "x"],
    ]
    for ips in blocks:
        unique = pa.array(ips, pa.string())
        assert cache.resolve(unique).equals(enricher.resolve(unique))


def test_tier_plan_backs_off_and_tries_again() -> None:
    from distillguard.events._candidates import TierPlan

    plan = TierPlan()
    assert plan.use_arrow()
    plan.record(100, 10)  # took few rows: skip one block
    assert [plan.use_arrow() for _ in range(2)] == [False, True]
    plan.record(100, 0)  # again: skip two
    assert [plan.use_arrow() for _ in range(3)] == [False, False, True]
    plan.record(100, 90)  # pays again: no skipping
    assert plan.use_arrow()
    plan.record(100, 0)
    assert [plan.use_arrow() for _ in range(2)] == [False, True]
