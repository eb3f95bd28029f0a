"""Which source reads a file, and the tabular sources (CSV, Parquet)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from distillguard._exceptions import IngestError
from distillguard.events._fields import PARAM_FIELDS, SIMPLE_FIELDS, Kind, Reason
from distillguard.events._otlp import OtlpSource
from distillguard.events._sources import (
    MAX_RECORD_BYTES,
    Block,
    JsonLinesSource,
    Source,
    open_binary,
    truncate,
)

FORMATS = ("jsonl", "parquet", "csv", "otlp")
_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
}


def detect_format(path: Path) -> str:
    """Format from the extension (``.gz`` looked through); a ``.json`` file that
    holds an OpenTelemetry export (``resourceSpans``) is read as ``otlp``."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    fmt = _EXTENSIONS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise IngestError(f"{path}: unknown format (use fmt= one of {', '.join(FORMATS)})")
    if suffixes[-1] == ".json" and _looks_like_otlp(path):
        return "otlp"
    return fmt


def _looks_like_otlp(path: Path) -> bool:
    with open_binary(path) as handle:
        try:
            head = handle.read(4096)
        except OSError as exc:
            raise IngestError(f"cannot read {path}: {exc}") from exc
    return b'"resourceSpans"' in head


def open_source(path: Path, fmt: str | None) -> Source:
    """The source for one file; IngestError if it is missing or the format unknown."""
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    fmt = fmt.lower() if fmt else detect_format(path)
    sources: dict[str, type[Source]] = {
        "jsonl": JsonLinesSource,
        "parquet": ParquetSource,
        "csv": CsvSource,
        "otlp": OtlpSource,
    }
    if fmt not in sources:
        raise IngestError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    return sources[fmt](path)


def texts_block(records: list[tuple[int, Any]]) -> Block:
    """A block from (line, record) pairs; records too large once serialised are rejected."""
    texts, lines, rejects = [], [], []
    for line, record in records:
        text = orjson.dumps(record).decode()
        if len(text) > MAX_RECORD_BYTES:
            rejects.append((line, Reason.OVERSIZED, truncate(text)))
        else:
            texts.append(text)
            lines.append(line)
    return Block(pa.array(texts, pa.string()), np.array(lines, dtype=np.int64), rejects)


# -- Parquet ------------------------------------------------------------------------


class ParquetSource(Source):
    """Parquet, either in the contract's shape (``params`` struct, ``messages``
    list) or flat like ``EVENT_SCHEMA``. Timestamp columns are read as UTC
    instants (a timestamp column without a time zone is taken as UTC)."""

    def blocks(self, batch_rows: int) -> Iterator[Block]:
        try:
            # Without ``pre_buffer=False`` the reader keeps every column chunk
            # it has read until it is closed: about the compressed size of
            # the file, more than a gigabyte at five million events.
            parquet = pq.ParquetFile(self.path, pre_buffer=False)
        except (OSError, pa.ArrowException) as exc:
            raise IngestError(f"cannot read {self.path}: {exc}") from exc
        con = duckdb.connect()
        line = 1
        try:
            for batch in parquet.iter_batches(batch_size=batch_rows):
                texts = rows_as_json(con, timestamps_as_text(batch))
                lines = np.arange(line, line + batch.num_rows, dtype=np.int64)
                line += batch.num_rows
                yield drop_oversized(texts, lines)
        except (OSError, pa.ArrowException) as exc:
            raise IngestError(f"cannot read {self.path}: {exc}") from exc
        finally:
            con.close()


def timestamps_as_text(batch: pa.RecordBatch) -> pa.Table:
    """``batch`` with timestamps as the contract's UTC text and strings as plain ``string``."""
    table = pa.Table.from_batches([batch])
    for i, fld in enumerate(table.schema):
        if pa.types.is_timestamp(fld.type):
            utc = table.column(i).cast(pa.timestamp("us", tz="UTC"))
            text = pc.strftime(utc, format="%Y-%m-%dT%H:%M:%SZ")
            table = table.set_column(i, fld.name, text)
        elif pa.types.is_large_string(fld.type) or pa.types.is_dictionary(fld.type):
            table = table.set_column(i, fld.name, table.column(i).cast(pa.string()))
    return table


def rows_as_json(con: duckdb.DuckDBPyConnection, table: pa.Table) -> pa.Array:
    """Each row of ``table`` as one JSON object text, as a JSON Lines record would be."""
    t = table  # noqa: F841 (read by DuckDB)
    result = con.sql("SELECT to_json(t)::VARCHAR AS j FROM t").to_arrow_table()
    return result.column("j").combine_chunks()


def drop_oversized(texts: pa.Array, lines: np.ndarray) -> Block:
    """A block of ``texts``, records over ``MAX_RECORD_BYTES`` rejected as oversized."""
    too_big = pc.greater(pc.binary_length(texts), MAX_RECORD_BYTES).to_numpy(zero_copy_only=False)
    rejects = []
    if too_big.any():
        for i in np.flatnonzero(too_big):
            rejects.append((int(lines[i]), Reason.OVERSIZED, truncate(texts[i].as_py())))
        texts = texts.filter(pa.array(~too_big))
        lines = lines[~too_big]
    return Block(texts, lines, rejects)


# -- CSV --------------------------------------------------------------------------------

_INT = re.compile(r"[+-]?[0-9]+")
_TRUE = {"true", "1", "yes", "t", "y"}
_FALSE = {"false", "0", "no", "f", "n"}
_CSV_KINDS: dict[str, Kind] = {**SIMPLE_FIELDS, **PARAM_FIELDS}
_CSV_INTS = ("asn", "status", "user_turns")


def coerce_text(kind: Kind | None, value: str) -> Any:
    """A CSV cell as the JSON value its field expects; left as text when it does
    not convert, so validation rejects it with the field's reason."""
    if kind in (Kind.COUNT, Kind.INT) and _INT.fullmatch(value):
        return int(value)
    if kind is Kind.FLOAT:
        try:
            number = float(value)
        except ValueError:
            return value
        return number if number == number and abs(number) != float("inf") else value
    if kind is Kind.BOOL:
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    return value


def csv_record(names: list[str], values: list[str | None]) -> dict[str, Any]:
    """One CSV row as a record: ``params.x`` columns gathered into ``params``,
    numbers and booleans converted by field, empty cells absent."""
    record: dict[str, Any] = {}
    params: dict[str, Any] = {}
    for name, value in zip(names, values, strict=True):
        if value is None or value == "":
            continue
        if name.startswith("params."):
            key = name[len("params.") :]
            params[key] = coerce_text(PARAM_FIELDS.get(key), value)
        elif name in _CSV_INTS:
            record[name] = int(value) if _INT.fullmatch(value) else value
        else:
            record[name] = coerce_text(_CSV_KINDS.get(name), value)
    if params:
        given = record.get("params")
        if isinstance(given, str):
            try:
                parsed = orjson.loads(given)
            except orjson.JSONDecodeError:
                parsed = None
            if isinstance(parsed, dict):
                params = {**parsed, **params}
        record["params"] = params
    return record


class CsvSource(Source):
    """CSV with a header row. ``params`` as a JSON text column or as
    ``params.temperature``-style columns; ``messages`` as JSON text. The line of
    a record is its data row number plus one (the header is line 1)."""

    def blocks(self, batch_rows: int) -> Iterator[Block]:
        with open_binary(self.path) as handle:
            try:
                data = handle.read()
            except (OSError, EOFError) as exc:
                raise IngestError(f"cannot read {self.path}: {exc}") from exc
        data = data.removeprefix(b"\xef\xbb\xbf")
        names = _header(data)
        if not names:
            return
        bad: list[tuple[int, str, str]] = []

        def on_invalid(row: pacsv.InvalidRow) -> str:
            bad.append((row.number or 0, Reason.BAD_ROW, truncate(row.text or "")))
            return "skip"

        try:
            table = pacsv.read_csv(
                io.BytesIO(data),
                parse_options=pacsv.ParseOptions(
                    newlines_in_values=True, invalid_row_handler=on_invalid
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types={n: pa.string() for n in names}, strings_can_be_null=True
                ),
                read_options=pacsv.ReadOptions(use_threads=False),
            )
        except (pa.ArrowException, UnicodeDecodeError) as exc:
            yield Block(
                pa.array([], pa.string()),
                np.empty(0, np.int64),
                [(1, Reason.BAD_ROW, truncate(f"unreadable CSV: {exc}"))],
            )
            return
        yield from self._rows(table, bad, batch_rows)

    def _rows(
        self, table: pa.Table, bad: list[tuple[int, str, str]], batch_rows: int
    ) -> Iterator[Block]:
        names = table.column_names
        skipped = {line for line, _, _ in bad}
        line = 1
        pending: list[tuple[int, Any]] = []
        for batch in table.to_batches(max_chunksize=batch_rows):
            columns = [c.to_pylist() for c in batch.columns]
            for values in zip(*columns, strict=True):
                line += 1
                while line in skipped:
                    line += 1
                pending.append((line, csv_record(names, list(values))))
            block = texts_block(pending)
            pending = []
            if bad:
                block.rejects.extend(bad)
                bad = []
            yield block
        if bad:
            yield Block(pa.array([], pa.string()), np.empty(0, np.int64), bad)


def _header(data: bytes) -> list[str]:
    first = data.split(b"\n", 1)[0].decode("utf-8", errors="replace").rstrip("\r")
    rows = list(csv.reader([first]))
    return [name.strip() for name in rows[0]] if rows else []
