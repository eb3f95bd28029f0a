"""From a block of JSON texts to a candidate table, in three tiers.

1. ``_arrow``: pyarrow's JSON reader over segments of lines (multi-threaded);
2. ``_fast``: one DuckDB query over the rows the first tier handed on;
3. ``_normalize``: the reference path, record by record, for the rest; it
   gives the precise reject reason.

The two fast tiers accept only records they can check with certainty and must
give exactly what the reference gives for them (parity tests check this).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from distillguard.events._arrow import parse_segment, segments
from distillguard.events._fast import fast_rows
from distillguard.events._normalize import Rejected, extra_of, normalize, parse_json
from distillguard.events._sources import Block, truncate
from distillguard.events.schema import EVENT_SCHEMA

#: ``EVENT_SCHEMA`` plus the row of the record in its block.
CANDIDATE_SCHEMA = pa.schema([*EVENT_SCHEMA, pa.field("_row", pa.int64(), nullable=False)])
_NAMES = CANDIDATE_SCHEMA.names

Reject = tuple[int, str, str]  # line, reason, raw text


@cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1))


class TierPlan:
    """Whether the Arrow tier is worth trying on the next block of a run.

    On input with many bad lines it takes few rows (its reader reports one
    failure per read), and trying it only adds to the DuckDB tier's work.
    After a block where it took less than half the rows it is skipped for one
    block, then two, four, ... (at most ``MAX_SKIP``), and tried again."""

    MAX_SKIP = 16

    def __init__(self) -> None:
        self._skip = 0
        self._penalty = 1

    def use_arrow(self) -> bool:
        if self._skip > 0:
            self._skip -= 1
            return False
        return True

    def record(self, rows: int, taken: int) -> None:
        """The Arrow tier took ``taken`` of ``rows`` rows."""
        if rows and 2 * taken < rows:
            self._skip = self._penalty
            self._penalty = min(2 * self._penalty, self.MAX_SKIP)
        else:
            self._penalty = 1


def candidates(
    block: Block, *, tiers: int = 3, plan: TierPlan | None = None
) -> tuple[pa.Table, list[Reject]]:
    """Valid records of the block (``CANDIDATE_SCHEMA``, in block order) and the
    rejects found on the way. IP addresses are not yet checked.

    ``tiers`` (for tests): 3 uses every tier, 2 skips the Arrow tier, 1 uses
    the reference path alone. ``plan`` carries across the blocks of a run
    whether the Arrow tier pays."""
    texts = block.texts
    if texts.type != pa.string():
        texts = texts.cast(pa.string())
    rest = np.arange(len(texts), dtype=np.int64)
    parts = []
    for tier in (3, 2):
        if tiers < tier or not len(rest):
            continue
        if tier == 3:
            if plan is not None and not plan.use_arrow():
                continue
            fast = _arrow_tier(texts, rest)
            if plan is not None:
                plan.record(len(rest), fast.num_rows if fast is not None else 0)
        else:
            fast = fast_rows(texts.take(pa.array(rest)), pa.array(rest))
        if fast is None or not fast.num_rows:
            continue
        fast = _with_extra(texts, fast, check_keys=tier == 2)
        done = np.zeros(len(texts), dtype=bool)
        done[fast.column("_row").to_numpy()] = True
        rest = rest[~done[rest]]
        parts.append(fast)
    slow, rejects = _slow(block, rest)
    if slow.num_rows:
        parts.append(slow)
    if not parts:
        return CANDIDATE_SCHEMA.empty_table(), rejects
    table = pa.concat_tables([p.select(_NAMES).cast(CANDIDATE_SCHEMA) for p in parts])
    order = table.column("_row").to_numpy()
    if (np.diff(order) < 0).any():
        table = table.take(np.argsort(order, kind="stable"))
    return table, rejects


def _arrow_tier(texts: pa.StringArray, rows: np.ndarray) -> pa.Table | None:
    """Rows the Arrow tier accepts (segments parsed in parallel)."""
    segs = list(segments(texts, rows))
    if not segs:
        return None
    tables = [t for done in _pool().map(lambda seg: parse_segment(texts, seg), segs) for t in done]
    return pa.concat_tables(tables) if tables else None


def _with_extra(texts: pa.StringArray, fast: pa.Table, *, check_keys: bool) -> pa.Table:
    """Fill ``extra`` for fast rows with unknown fields (parsed again here). Rows
    that do not parse, or (``check_keys``) where a key repeats, are dropped, for
    the reference path."""
    flagged = np.flatnonzero(fast.column("_unknown").to_numpy(zero_copy_only=False))
    extra: list[str | None] = [None] * fast.num_rows
    keep = np.ones(fast.num_rows, dtype=bool)
    if len(flagged) and "_extra_group" in fast.column_names:
        flagged = _extra_by_group(texts, fast, flagged, extra, keep)
    if len(flagged):
        rows = fast.column("_row").to_numpy()
        if check_keys:
            n_keys = fast.column("n_keys").to_numpy(zero_copy_only=False)
            n_pkeys = fast.column("n_pkeys").to_pylist()
        for i in flagged.tolist():
            try:
                obj = orjson.loads(texts[int(rows[i])].as_py())
            except orjson.JSONDecodeError:
                keep[i] = False
                continue
            if check_keys:
                params = obj.get("params")
                if len(obj) != n_keys[i] or (
                    isinstance(params, dict) and len(params) != n_pkeys[i]
                ):
                    keep[i] = False
                    continue
            extra[i] = extra_of(obj)
    fast = fast.append_column("extra", pa.array(extra, pa.string()))
    return fast if keep.all() else fast.filter(pa.array(keep))


def _extra_by_group(
    texts: pa.StringArray,
    fast: pa.Table,
    flagged: np.ndarray,
    extra: list[str | None],
    keep: np.ndarray,
) -> np.ndarray:
    """``extra`` of flagged rows that share it for sure (``_arrow._extra_groups``),
    built once per group from its first row; returns the other flagged rows."""
    groups = np.asarray(fast.column("_extra_group").to_numpy(), dtype=np.int64)[flagged]
    grouped = groups >= 0
    if not grouped.any():
        return flagged
    rows = fast.column("_row").to_numpy()
    members = flagged[grouped]
    _, first, inverse = np.unique(groups[grouped], return_index=True, return_inverse=True)
    values: list[str | None] = []
    parsed: list[bool] = []
    for i in members[first].tolist():
        try:
            values.append(extra_of(orjson.loads(texts[int(rows[i])].as_py())))
            parsed.append(True)
        except orjson.JSONDecodeError:
            values.append(None)
            parsed.append(False)
    for i, g in zip(members.tolist(), inverse.reshape(-1).tolist(), strict=True):
        extra[i] = values[g]
        keep[i] = parsed[g]
    rest: np.ndarray = flagged[~grouped]
    return rest


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
