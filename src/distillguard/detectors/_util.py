"""Small numeric helpers shared by detectors: population baselines on a log
scale, squashing to [0, 1], and reading feature columns as numpy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from distillguard.engine.state import DetectionContext


#: Account-level findings weaker than this are not reported.
MIN_REPORTED = 0.3


def reported(score: np.ndarray) -> np.ndarray:
    """Indices of the rows whose score is worth a finding."""
    return np.flatnonzero(score >= MIN_REPORTED)


def column(table: pa.Table, name: str) -> np.ndarray:
    """A numeric column as float64 with nulls as NaN."""
    col = pc.cast(table.column(name), pa.float64())
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)


def robust_z(values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Robust z-score of ``log1p(values)`` against the population (median and
    MAD of the rows in ``mask``). NaN stays NaN."""
    x = np.log1p(np.maximum(values, 0.0))
    ref = x if mask is None else x[mask]
    ref = ref[np.isfinite(ref)]
    if len(ref) == 0:
        return np.zeros_like(x)
    med = float(np.median(ref))
    mad = float(np.median(np.abs(ref - med))) * 1.4826
    z: np.ndarray = (x - med) / max(mad, 0.25)
    return z


def squash(x: np.ndarray | float, at: float, width: float) -> np.ndarray:
    """Logistic map: 0.5 at ``at``, rising over about ``width``. Far below
    ``at`` the exponential overflows to infinity, which maps to exactly 0."""
    with np.errstate(over="ignore"):
        return np.asarray(1.0 / (1.0 + np.exp(-(np.asarray(x, dtype=np.float64) - at) / width)))


def ratio_text(value: float, base: float) -> str:
    if base <= 0:
        return "far above"
    r = value / base
    return f"{r:.0f}×" if r >= 10 else f"{r:.1f}×"


#: Key families whose groups of accounts the group detectors read, with the
#: fewest accounts of a group read (sign-up buckets are compared with the
#: usual bucket, single accounts included). Their incidence and popularity
#: rows come in one scan of each table per detection run, shared by the
#: detectors (``ctx.shared``), rather than one join per family and detector.
GROUP_FAMILIES: dict[str, int] = {
    "cluster": 2,
    "wrapper": 2,
    "system": 2,
    "opening": 2,
    "payment": 2,
    "email": 2,
    "net": 2,
    "client": 2,
    "signup": 1,
}

_INCIDENCE_SQL = """
SELECT family, key, account_id FROM acct_key WHERE list_contains(?, family)
"""
_POPULARITY_SQL = """
SELECT family, key, n_accounts, n FROM key_pop
WHERE list_contains(?, family) AND (n_accounts >= 2 OR list_contains(?, family))
"""


@dataclass(frozen=True, slots=True)
class KeyMembers:
    """The keys of one family held by a given range of accounts, and their
    members. ``keys`` (sorted) and ``n`` (requests) describe the keys;
    ``key`` and ``account`` hold one row per (key, account), sorted by key
    then account, as an index into ``keys`` and an account rank: an index
    into ``names`` (account ids, sorted: ranks compare as the ids do)."""

    keys: pa.Array
    n: np.ndarray
    key: np.ndarray
    account: np.ndarray
    names: np.ndarray


@dataclass(frozen=True, slots=True)
class _Family:
    keys: pa.Array  # of each incidence row
    account: np.ndarray  # rank of each incidence row's account
    pop: pa.Table  # key, n_accounts, n


@dataclass(frozen=True, slots=True)
class _Incidence:
    families: dict[str, _Family]
    names: np.ndarray  # account ids by rank, as Python strings


def sorted_codes(values: pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    """Each value's index into the sorted distinct values (so that codes
    compare as the values do), and those values."""
    enc = pc.dictionary_encode(values).combine_chunks()
    order = pc.sort_indices(enc.dictionary).to_numpy()
    code = np.empty(len(order), dtype=np.int64)
    code[order] = np.arange(len(order))
    return code[enc.indices.to_numpy()], enc.dictionary.take(pa.array(order)).to_pylist()


def _split(table: pa.Table) -> dict[str, np.ndarray]:
    """Row indices of ``table`` by its ``family`` column."""
    enc = pc.dictionary_encode(table.column("family")).combine_chunks()
    code = enc.indices.to_numpy()
    return {name: np.flatnonzero(code == i) for i, name in enumerate(enc.dictionary.to_pylist())}


def _incidence(ctx: DetectionContext) -> _Incidence:
    families = list(GROUP_FAMILIES)
    singles = [f for f, lo in GROUP_FAMILIES.items() if lo < 2]
    rows = ctx.sql(_INCIDENCE_SQL, [families])
    pop = ctx.sql(_POPULARITY_SQL, [families, singles])
    account, names = sorted_codes(rows.column("account_id"))
    at, pop_at = _split(rows), _split(pop)
    empty = np.zeros(0, dtype=np.int64)
    keys = rows.column("key").combine_chunks()
    pop = pop.select(["key", "n_accounts", "n"])
    out = {
        f: _Family(
            keys.take(pa.array(at.get(f, empty))),
            account[at.get(f, empty)],
            pop.take(pa.array(pop_at.get(f, empty))),
        )
        for f in families
    }
    return _Incidence(out, np.array(names, dtype=object))


def key_members(
    ctx: DetectionContext, family: str, min_accounts: int, max_accounts: int
) -> KeyMembers:
    """The keys of ``family`` (one of ``GROUP_FAMILIES``, ``min_accounts`` at
    least its fewest) shared by between ``min_accounts`` and ``max_accounts``
    accounts, and their accounts."""
    if min_accounts < GROUP_FAMILIES[family]:
        raise ValueError(f"{family} groups are read from {GROUP_FAMILIES[family]} accounts")
    inc = ctx.shared("group_incidence", lambda: _incidence(ctx))
    fam = inc.families[family]
    n_accounts = fam.pop.column("n_accounts")
    pop = fam.pop.filter(
        pc.and_(pc.greater_equal(n_accounts, min_accounts), pc.less_equal(n_accounts, max_accounts))
    )
    pop = pop.take(pc.sort_indices(pop.column("key")))
    keys = pop.column("key").combine_chunks()
    index = pc.index_in(fam.keys, value_set=keys)
    valid = index.is_valid()
    key = index.filter(valid).to_numpy(zero_copy_only=False).astype(np.int64)
    account = fam.account[valid.to_numpy(zero_copy_only=False)]
    span = max(len(inc.names), 1)
    both = np.sort(key * span + account)
    return KeyMembers(keys, pop.column("n").to_numpy(), both // span, both % span, inc.names)


def key_groups(
    ctx: DetectionContext, family: str, min_accounts: int, max_accounts: int
) -> list[tuple[str, tuple[str, ...], int]]:
    """Keys of ``family`` (see :func:`key_members`) shared by between
    ``min_accounts`` and ``max_accounts`` accounts, in key order, with their
    accounts (sorted) and request count."""
    m = key_members(ctx, family, min_accounts, max_accounts)
    if len(m.key) == 0:
        return []
    start = np.flatnonzero(np.r_[True, m.key[1:] != m.key[:-1]])
    end = np.r_[start[1:], len(m.key)]
    names = m.names[m.account].tolist()
    ks = m.key[start]
    keys = m.keys.take(pa.array(ks)).to_pylist()
    return [
        (k, tuple(names[s:e]), n)
        for k, s, e, n in zip(keys, start.tolist(), end.tolist(), m.n[ks].tolist(), strict=True)
    ]
