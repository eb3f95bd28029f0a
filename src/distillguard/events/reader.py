"""``read_events``: every input file, in order, as validated ``EVENT_SCHEMA`` batches."""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard._exceptions import IngestError
from distillguard.events._candidates import Reject, TierPlan, candidates
from distillguard.events._dedup import SeenIds
from distillguard.events._fields import Reason
from distillguard.events._formats import open_source
from distillguard.events._sources import Block, Source, truncate
from distillguard.events.enrich import Enricher, hosting_of_asn
from distillguard.events.schema import EVENT_SCHEMA, REJECT_SCHEMA

#: Rejected records kept in ``EventReader.rejects`` (the counts are always exact).
MAX_REJECTS = 100_000
#: Records per block inside the reader's pipeline. Its stages hold several
#: blocks at once (raw text, candidates, enriched rows), so blocks smaller than
#: the batches handed on keep the pipeline's memory small.
BLOCK_ROWS = 8192


@dataclass
class SourceSummary:
    """Counts for one input file."""

    lines: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0


@dataclass
class IngestSummary:
    """What a run read. ``lines == accepted + rejected + duplicates``, always.

    ``lines`` counts records: non-blank lines of JSON Lines, data rows of CSV
    and Parquet, spans of OpenTelemetry exports.
    """

    lines: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, SourceSummary] = field(default_factory=dict)
    distinct_ips: int = 0
    seconds: float = 0.0

    def _add(self, source: str, accepted: int, rejects: Sequence[Reject], duplicates: int) -> None:
        per = self.by_source.setdefault(source, SourceSummary())
        n = accepted + len(rejects) + duplicates
        for counts in (self, per):
            counts.lines += n
            counts.accepted += accepted
            counts.rejected += len(rejects)
            counts.duplicates += duplicates
        reasons = Counter(reason for _, reason, _ in rejects)
        for reason, count in reasons.items():
            self.by_reason[reason] = self.by_reason.get(reason, 0) + count


class EventReader:
    """Iterable of ``pa.RecordBatch`` in ``EVENT_SCHEMA``; ``summary`` and
    ``rejects`` describe the run once it has been iterated."""

    def __init__(
        self,
        sources: Sequence[Source],
        *,
        batch_rows: int = 65536,
        enrich: bool = True,
        max_rejects: int = MAX_REJECTS,
    ) -> None:
        if batch_rows < 1:
            raise ValueError("batch_rows must be at least 1")
        self._sources = list(sources)
        self._batch_rows = batch_rows
        self._enrich = enrich
        self._max_rejects = max_rejects
        self.summary = IngestSummary()
        self._rejects: list[tuple[str, int, str, str]] = []

    @property
    def rejects(self) -> pa.Table:
        """Rejected records (``REJECT_SCHEMA``), at most ``max_rejects`` of them."""
        if not self._rejects:
            return REJECT_SCHEMA.empty_table()
        columns = list(zip(*self._rejects, strict=True))
        return pa.table([pa.array(c) for c in columns], schema=REJECT_SCHEMA)

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        """Reading and decompressing, validation, enrichment and the caller's
        own work on the batches run in four threads (the heavy parts release
        the GIL), so ingest overlaps with whatever consumes it."""
        self.summary = IngestSummary()
        self._rejects = []
        started = time.perf_counter()
        run = IngestRun(self._enrich)
        # Blocks and validation slices are smaller than ``batch_rows``: gather
        # them and hand on batches of ``batch_rows``.
        held: list[pa.Table] = []
        rows = 0
        for name, table, rejects, duplicates in prefetch(self._processed(run)):
            self.summary._add(name, table.num_rows, rejects, duplicates)
            self._keep(name, rejects)
            if table.num_rows:
                held.append(table)
                rows += table.num_rows
            if rows >= self._batch_rows:
                whole = pa.concat_tables(held).combine_chunks()
                cut = rows - rows % self._batch_rows
                yield from whole.slice(0, cut).to_batches(max_chunksize=self._batch_rows)
                held = [whole.slice(cut)] if cut < rows else []
                rows -= cut
            self.summary.seconds = time.perf_counter() - started
        if rows:
            yield from pa.concat_tables(held).combine_chunks().to_batches()
        self.summary.distinct_ips = run.enricher.lookups
        self.summary.seconds = time.perf_counter() - started

    def _processed(self, run: IngestRun) -> Iterator[tuple[str, pa.Table, list[Reject], int]]:
        for name, block, table, rejects in prefetch(self._validated()):
            yield (name, *run.finish(block, table, rejects))

    def _validated(self) -> Iterator[tuple[str, Block, pa.Table, list[Reject]]]:
        plan = TierPlan()
        for source in self._sources:
            for block in prefetch(source.blocks(min(self._batch_rows, BLOCK_ROWS))):
                yield (source.name, block, *candidates(block, plan=plan))

    def read_all(self) -> pa.Table:
        """Every batch as one table."""
        return pa.Table.from_batches(list(self), schema=EVENT_SCHEMA)

    def _keep(self, source: str, rejects: Sequence[Reject]) -> None:
        room = self._max_rejects - len(self._rejects)
        for line, reason, raw in rejects[: max(room, 0)]:
            self._rejects.append((source, line, reason, raw))


T = TypeVar("T")


def prefetch(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """``items``, computed ahead by a worker thread (at most ``depth`` waiting).

    An exception of the worker is raised here, where its item would have come;
    closing this generator early stops the worker after its current item."""
    channel: queue.Queue[tuple[int, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(kind: int, value: object) -> bool:
        while not stop.is_set():
            try:
                channel.put((kind, value), timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put(_ITEM, item):
                    return
            put(_END, None)
        except BaseException as exc:  # handed to the consumer
            put(_ERROR, exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=work, name="distillguard-ingest", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = channel.get()
            if kind == _ITEM:
                yield value  # type: ignore[misc]
            elif kind == _END:
                return
            else:
                assert isinstance(value, BaseException)
                raise value
    finally:
        stop.set()
        worker.join()


_ITEM, _END, _ERROR = 0, 1, 2


class IngestRun:
    """State carried across the files of one run: seen ids, IP cache."""

    def __init__(self, enrich: bool) -> None:
        self.seen = SeenIds()
        self.enricher = Enricher(enrich)
        self.ips = _ResolvedIps(self.enricher)
        self._con = duckdb.connect()

    def process(self, block: Block) -> tuple[pa.Table, list[Reject], int]:
        return self.finish(block, *candidates(block))

    def finish(
        self, block: Block, table: pa.Table, rejects: list[Reject]
    ) -> tuple[pa.Table, list[Reject], int]:
        """IP checks and enrichment, then duplicates (in block order)."""
        table, rejects = self.enrich(block, table, rejects)
        keep = self._first_seen(table.column("request_id"))
        duplicates = int((~keep).sum())
        if duplicates:
            table = table.filter(pa.array(keep))
        return table.drop_columns(["_row"]).cast(EVENT_SCHEMA), rejects, duplicates

    def enrich(
        self, block: Block, table: pa.Table, rejects: list[Reject]
    ) -> tuple[pa.Table, list[Reject]]:
        """The candidates of ``block`` with IPs checked and enriched, and all the
        block's rejects (its own, ``rejects``, then malformed IPs)."""
        rejects = list(block.rejects) + rejects
        table, bad = self._check_ips(table)
        for row in table.column("_row").to_numpy()[bad].tolist():
            raw = truncate(block.texts[row].as_py().rstrip())
            rejects.append((int(block.lines[row]), Reason.BAD_IP, raw))
        return table.filter(pa.array(~bad)), rejects

    def _check_ips(self, table: pa.Table) -> tuple[pa.Table, np.ndarray]:
        """Canonical IPs and enrichment; the mask of rows whose IP is malformed.
        Values the record carries (country, asn, asn_org, hosting) win; the
        database's organisation and hosting flag are used only when the record
        gives no ``asn`` or the same one."""
        ips = table.column("ip")
        if ips.null_count == table.num_rows:
            return table, np.zeros(table.num_rows, dtype=bool)
        unique = pc.unique(ips).drop_null()
        index = pc.index_in(ips, value_set=unique)
        found = self.ips.resolve(unique).take(index)
        bad = pc.and_(pc.is_valid(ips), pc.is_null(found.column("ip")))
        given_asn = table.column("asn")
        db_asn = found.column("asn")
        same = pc.fill_null(pc.or_kleene(pc.is_null(given_asn), pc.equal(given_asn, db_asn)), False)
        asn = _coalesce(given_asn, db_asn)
        updates = {
            "ip": found.column("ip"),
            "country": _coalesce(table.column("country"), found.column("country")),
            "asn": asn,
            "asn_org": _coalesce(
                table.column("asn_org"), pc.if_else(same, found.column("asn_org"), None)
            ),
            "hosting": _coalesce(
                table.column("hosting"),
                pc.if_else(same, found.column("hosting"), None),
                _hosting_of(asn),
            ),
        }
        for name, column in updates.items():
            table = table.set_column(table.schema.get_field_index(name), name, column)
        return table, bad.to_numpy(zero_copy_only=False)

    def _first_seen(self, ids: pa.ChunkedArray) -> np.ndarray:
        keep = np.ones(len(ids), dtype=bool)
        present = pc.is_valid(ids).to_numpy(zero_copy_only=False)
        if not present.any():
            return keep
        t = pa.table({"id": ids.filter(pa.array(present))})  # noqa: F841 (read by DuckDB)
        hashes = self._con.sql("SELECT hash(id) AS h FROM t").to_arrow_table()
        first = self.seen.first_seen(hashes.column("h").to_numpy())
        keep[present] = first
        return keep


class _ResolvedIps:
    """Addresses already resolved in this run (the same ones recur block after
    block); at most ``limit`` are kept, then it starts afresh."""

    def __init__(self, enricher: Enricher, limit: int = 1 << 19) -> None:
        self._enricher = enricher
        self._limit = limit
        self._keys: pa.Array | None = None
        self._resolved: pa.Table | None = None

    def resolve(self, unique: pa.Array) -> pa.Table:
        """``Enricher.resolve`` of distinct addresses, from the cache where it can."""
        if self._keys is None or self._resolved is None or len(self._keys) > self._limit:
            self._keys, self._resolved = unique, self._enricher.resolve(unique)
            return self._resolved
        index = pc.index_in(unique, value_set=self._keys)
        if index.null_count:
            missing = unique.filter(pc.is_null(index))
            fresh = self._enricher.resolve(missing)
            self._resolved = pa.concat_tables([self._resolved, fresh]).combine_chunks()
            self._keys = pa.concat_arrays([self._keys, missing])
            index = pc.index_in(unique, value_set=self._keys)
        return self._resolved.take(index)


def _coalesce(*values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """``pc.coalesce``, skipping columns that are all null (no copy when one is left)."""
    given = [v for v in values if v.null_count < len(v)]
    if not given:
        return values[-1]
    return given[0] if len(given) == 1 or given[0].null_count == 0 else pc.coalesce(*given)


def _hosting_of(asn: pa.ChunkedArray) -> pa.ChunkedArray:
    """Hosting flag of well-known AS numbers the record gave without an IP."""
    unique = pc.unique(asn).drop_null()
    flags = pa.array([hosting_of_asn(a) for a in unique.to_pylist()], pa.bool_())
    return flags.take(pc.index_in(asn, value_set=unique))


def read_events(
    paths: Sequence[str | Path] | str | Path,
    *,
    fmt: str | None = None,
    batch_rows: int = 65536,
    enrich: bool = True,
    max_rejects: int = MAX_REJECTS,
) -> EventReader:
    """Read request events from files (JSON Lines, Parquet, CSV, OpenTelemetry).

    The format comes from each file's extension, or from ``fmt`` (``"jsonl"``,
    ``"parquet"``, ``"csv"``, ``"otlp"``) for all of them. A file that cannot be
    opened raises :class:`~distillguard.IngestError` here; bad records never
    raise, they end in ``reader.rejects``.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    sources = [open_source(Path(p), fmt) for p in paths]
    if not sources:
        raise IngestError("no input files")
    return EventReader(sources, batch_rows=batch_rows, enrich=enrich, max_rejects=max_rejects)
