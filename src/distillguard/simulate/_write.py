"""Writing a simulation to disk: events, accounts, labels, manifest."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from queue import Queue

import duckdb
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from distillguard._exceptions import ConfigError
from distillguard.simulate._generate import SimResult

FORMATS = ("jsonl", "parquet")
CHUNK_ROWS = 100_000

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
        pq.write_table(result.events, files.events, compression="zstd")
    write_accounts(result.accounts, files.accounts)
    pacsv.write_csv(result.labels, files.labels)
    files.manifest.write_bytes(orjson.dumps(result.manifest, option=orjson.OPT_INDENT_2))
    return files


def _lines(events: pa.Table) -> Iterator[bytes]:
    """The JSON Lines of ``events``, a chunk at a time."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    query = json_query(events.column_names)
    try:
        for start in range(0, events.num_rows, CHUNK_ROWS):
            con.register("chunk", events.slice(start, CHUNK_ROWS))
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


def write_jsonl(events: pa.Table, path: Path, level: int = 1) -> None:
    """Events as gzip-compressed JSON Lines. Compression runs in a second
    thread while DuckDB renders the next chunk."""
    queue: Queue[bytes | None] = Queue(maxsize=2)
    failure: list[BaseException] = []

    def compress() -> None:
        try:
            with gzip.open(path, "wb", compresslevel=level) as fh:
                while (data := queue.get()) is not None:
                    fh.write(data)
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)
            while queue.get() is not None:
                pass

    worker = threading.Thread(target=compress, daemon=True)
    worker.start()
    try:
        for data in _lines(events):
            queue.put(data)
    finally:
        queue.put(None)
        worker.join()
    if failure:
        raise failure[0]


def write_accounts(accounts: pa.Table, path: Path) -> None:
    rows = []
    for row in accounts.to_pylist():
        rec = {k: v for k, v in row.items() if v is not None}
        rec["created_at"] = row["created_at"].isoformat().replace("+00:00", "Z")
        rows.append(orjson.dumps(rec))
    path.write_bytes(b"\n".join(rows) + b"\n")
