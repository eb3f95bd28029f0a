"""From a block of JSON texts to a candidate table: fast path, then reference path."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from distillguard.events._fast import fast_rows
from distillguard.events._normalize import Rejected, extra_of, normalize, parse_json
from distillguard.events._sources import Block, truncate
from distillguard.events.schema import EVENT_SCHEMA

#: ``EVENT_SCHEMA`` plus the row of the record in its block.
CANDIDATE_SCHEMA = pa.schema([*EVENT_SCHEMA, pa.field("_row", pa.int64(), nullable=False)])
_NAMES = CANDIDATE_SCHEMA.names

Reject = tuple[int, str, str]  # line, reason, raw text


def candidates(block: Block) -> tuple[pa.Table, list[Reject]]:
    """Valid records of the block (``CANDIDATE_SCHEMA``, in block order) and the
    rejects found on the way. IP addresses are not yet checked."""
    rows = pa.array(np.arange(len(block.texts), dtype=np.int64))
    fast = fast_rows(block.texts, rows) if len(block.texts) else None
    done = np.zeros(len(block.texts), dtype=bool)
    parts = []
    if fast is not None and fast.num_rows:
        fast = _with_extra(block, fast)
        done[fast.column("_row").to_numpy()] = True
        parts.append(fast.select(_NAMES).cast(CANDIDATE_SCHEMA))
    slow, rejects = _slow(block, np.flatnonzero(~done))
    if slow.num_rows:
        parts.append(slow)
    if not parts:
        return CANDIDATE_SCHEMA.empty_table(), rejects
    table = pa.concat_tables(parts)
    if len(parts) > 1:
        table = table.take(np.argsort(table.column("_row").to_numpy(), kind="stable"))
    return table, rejects


def _with_extra(block: Block, fast: pa.Table) -> pa.Table:
    """Fill ``extra`` for fast rows with unknown fields (parsed again here); rows
    where a key repeats are dropped from the fast result, for the reference path."""
    flagged = np.flatnonzero(fast.column("_unknown").to_numpy(zero_copy_only=False))
    extra: list[str | None] = [None] * fast.num_rows
    keep = np.ones(fast.num_rows, dtype=bool)
    rows = fast.column("_row").to_numpy()
    n_keys = fast.column("n_keys").to_numpy(zero_copy_only=False)
    n_pkeys = fast.column("n_pkeys").to_pylist()
    for i in flagged.tolist():
        try:
            obj = orjson.loads(block.texts[int(rows[i])].as_py())
        except orjson.JSONDecodeError:
            keep[i] = False
            continue
        params = obj.get("params")
        if len(obj) != n_keys[i] or (isinstance(params, dict) and len(params) != n_pkeys[i]):
            keep[i] = False
            continue
        extra[i] = extra_of(obj)
    fast = fast.append_column("extra", pa.array(extra, pa.string()))
    return fast if keep.all() else fast.filter(pa.array(keep))


def _slow(block: Block, rows: np.ndarray) -> tuple[pa.Table, list[Reject]]:
    """The reference path for the given rows of the block."""
    good: list[dict[str, Any]] = []
    rejects: list[Reject] = []
    texts = block.texts
    for i in rows.tolist():
        text = texts[i].as_py()
        try:
            result = normalize(parse_json(text))
        except Rejected as rej:
            result = rej.reason
        if isinstance(result, str):
            rejects.append((int(block.lines[i]), result, truncate(text.rstrip())))
        else:
            result["_row"] = i
            good.append(result)
    return pa.Table.from_pylist(good, schema=CANDIDATE_SCHEMA), rejects
