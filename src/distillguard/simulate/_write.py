"""Writing a simulation to disk: events, accounts, labels, manifest."""

from __future__ import annotations

import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from distillguard._exceptions import ConfigError
from distillguard.simulate._generate import SimResult

FORMATS = ("jsonl", "parquet")
CHUNK_ROWS = 50_000

#: Top-level fields in the order of the contract; ``params`` is built apart.
_FIELDS = (
    "account_id",
    "request_id",
    "api_key_id",
    "ip",
    "user_agent",
    "tls_fingerprint",
    "model",
    "endpoint",
    "prompt",
    "messages",
    "system_prompt",
)
_MEASURED = ("input_tokens", "output_tokens", "reasoning_tokens", "status", "latency_ms")
_PARAMS = (
    "temperature",
    "top_p",
    "max_tokens",
    "n",
    "seed",
    "stream",
    "logprobs",
    "reasoning_effort",
)


def _pair(key: str, expr: str) -> str:
    # NULL when the value is: concat_ws then leaves the key out altogether.
    return f"'\"{key}\":' || to_json({expr})"


def json_query(columns: list[str]) -> str:
    """SQL rendering each row of ``chunk`` as one JSON line; absent (null)
    fields are left out rather than written as null. ``columns`` beyond the
    contract's fields are written as they are (unknown fields)."""
    ts = "'\"ts\":\"' || strftime(make_timestamp(epoch_us(ts)), '%Y-%m-%dT%H:%M:%S.%gZ') || '\"'"
    params = ", ".join(_pair(p, f"params.{p}") for p in _PARAMS)
    known = {"ts", "params", *_FIELDS, *_MEASURED}
    parts = [ts, *(_pair(c, f'"{c}"') for c in _FIELDS if c in columns)]
    if "params" in columns:
        parts.append(f"'\"params\":{{' || concat_ws(',', {params}) || '}}'")
    parts += [
        _pair(c, f'"{c}"')
        for c in (*_MEASURED, *(c for c in columns if c not in known))
        if c in columns
    ]
    return f"SELECT '{{' || concat_ws(',', {', '.join(parts)}) || '}}' || chr(10) FROM chunk"


@dataclass(frozen=True, slots=True)
class SimFiles:
    """Where :func:`write` put each part."""

    events: Path
    accounts: Path
    labels: Path
    manifest: Path


def write(result: SimResult, out_dir: str | Path, fmt: str = "jsonl") -> SimFiles:
    """Write ``events.jsonl.gz`` (or ``events.parquet``), ``accounts.jsonl``,
    ``labels.csv`` and ``manifest.json`` into ``out_dir``."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = SimFiles(
        events=out / ("events.jsonl.gz" if fmt == "jsonl" else "events.parquet"),
        accounts=out / "accounts.jsonl",
        labels=out / "labels.csv",
        manifest=out / "manifest.json",
    )
    if fmt == "jsonl":
        write_jsonl(result.events, files.events)
    else:
        write_parquet(result.events, files.events)
    write_accounts(result.accounts, files.accounts)
    pacsv.write_csv(result.labels, files.labels)
    files.manifest.write_bytes(orjson.dumps(result.manifest, option=orjson.OPT_INDENT_2))
    return files


def plain_type(kind: pa.DataType) -> pa.DataType:
    """``kind`` with every dictionary replaced by its value type."""
    if pa.types.is_dictionary(kind):
        return plain_type(kind.value_type)
    if pa.types.is_list(kind):
        return pa.list_(plain_type(kind.value_type))
    if pa.types.is_struct(kind):
        return pa.struct([pa.field(f.name, plain_type(f.type), f.nullable) for f in kind])
    return kind


def decoded(table: pa.Table) -> pa.Table:
    """``table`` without dictionary encoding (DuckDB re-reads a whole dictionary
    for every chunk it is handed; a decoded chunk costs only its own rows)."""
    schema = pa.schema([pa.field(f.name, plain_type(f.type), f.nullable) for f in table.schema])
    return table.cast(schema)


def write_parquet(events: pa.Table, path: Path, rows: int = 250_000) -> None:
    """Events as Parquet (zstd), a row group at a time. Columns are decoded
    first: the in-memory dictionaries span the whole run and would otherwise be
    written out in full with every row group."""
    schema = decoded(events.slice(0, 0)).schema
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for start in range(0, max(events.num_rows, 1), rows):
            writer.write_table(decoded(events.slice(start, rows)))


def _lines(events: pa.Table) -> Iterator[bytes]:
    """The JSON Lines of ``events``, a chunk at a time."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    query = json_query(events.column_names)
    try:
        for start in range(0, events.num_rows, CHUNK_ROWS):
            con.register("chunk", decoded(events.slice(start, CHUNK_ROWS)))
            col = con.sql(query).to_arrow_table().column(0).combine_chunks()
            con.unregister("chunk")
            yield _joined(col)
    finally:
        con.close()


def _joined(col: pa.Array) -> bytes:
    """The concatenated values of a string column, without copying each one."""
    arr = col.cast(pa.large_string())
    offsets = np.frombuffer(arr.buffers()[1], np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = arr.buffers()[2]
    if data is None:
        return b""
    out: bytes = data.to_pybytes()[int(offsets[0]) : int(offsets[-1])]
    return out


def write_jsonl(events: pa.Table, path: Path, level: int = 1, workers: int = 2) -> None:
    """Events as gzip-compressed JSON Lines. Each chunk becomes one gzip member
    (a file of several members is a valid gzip file), compressed in a thread
    pool while DuckDB renders the next chunk."""
    with path.open("wb") as fh, ThreadPoolExecutor(workers) as pool:
        pending: deque[Future[bytes]] = deque()
        for data in _lines(events):
            pending.append(pool.submit(_gzip_member, data, level))
            while len(pending) > workers:  # bounds the memory held
                fh.write(pending.popleft().result())
        while pending:
            fh.write(pending.popleft().result())
        if fh.tell() == 0:
            fh.write(_gzip_member(b"", level))


def _gzip_member(data: bytes, level: int) -> bytes:
    z = zlib.compressobj(level, zlib.DEFLATED, 31)  # wbits 31: with a gzip header
    return z.compress(data) + z.flush()


def write_accounts(accounts: pa.Table, path: Path) -> None:
    rows = []
    for row in accounts.to_pylist():
        rec = {k: v for k, v in row.items() if v is not None}
        rec["created_at"] = row["created_at"].isoformat().replace("+00:00", "Z")
        rows.append(orjson.dumps(rec))
    path.write_bytes(b"\n".join(rows) + b"\n")
