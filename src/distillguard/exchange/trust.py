"""Trust: how much imported values count, and when they may enforce.

For every imported value (a CIDR, a keyed band hash, …) the support of each
peer that published it, or agreed with it in an opinion or a "seen here too"
sighting, is

    weight = trust(peer) × confidence / 100 × 0.5 ** (age / half-life)

and the value's support is the noisy-or of its peers' weights. Expired and
revoked indicators count for nothing. An indicator is DISPUTED when any peer
other than its publisher, or this provider itself, disagrees with it (an
opinion below neutral, or a false-positive sighting); a disputed value's
support is multiplied by ``dispute_factor`` and it never counts as
corroborated. A value is *corroborated* when at least ``min_peers``
independent peers (each a distinct signing identity, each weighing at least
``min_peer_weight``) stand behind it and none disputes it: the only way
imported evidence alone may lead to enforcement.

A consortium feed holds millions of values, so the view is columnar: one
Arrow table, one row per distinct value, aggregated in DuckDB. Keyed values
also carry their digest as an unsigned 64-bit integer, sorted per kind and
key, so that matching is a vectorised search; a :class:`ValueSupport` object
is made only for a value that matched.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import duckdb
import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.exchange.config import ExchangeConfig
from distillguard.exchange.model import Kind
from distillguard.exchange.store import ExchangeStore

SELF = "self"
U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
ValueKey = tuple[Kind, str | None, str]


@dataclass(frozen=True, slots=True)
class ValueSupport:
    """The aggregate behind one imported value."""

    support: float
    peers: frozenset[str]
    disputed: bool
    corroborated: bool
    indicators: tuple[str, ...]
    campaigns: tuple[str, ...] = ()


_ROWS = pa.schema(
    [
        ("iid", pa.string()),
        ("peer", pa.string()),
        ("confidence", pa.float64()),
        ("valid_from", pa.float64()),
        ("kind", pa.string()),
        ("key_id", pa.string()),
        ("value", pa.string()),
        ("campaign", pa.string()),
    ]
)
_PAIRS = pa.schema([("iid", pa.string()), ("peer", pa.string()), ("strength", pa.float64())])

#: Distinct values, numbered: the aggregations below group by a number, not
#: by three strings (half the memory at a million values).
_VALUES_SQL = """
CREATE TEMP TABLE _tv_v AS
SELECT row_number() OVER () AS vid, kind, key_id, value
FROM (SELECT DISTINCT kind, key_id, value FROM _tv_rows);
CREATE TEMP TABLE _tv_r AS
SELECT v.vid, r.iid, r.peer, r.campaign,
    r.confidence / 100.0 * pow(0.5, greatest($now - r.valid_from, 0.0) / $half) AS base
FROM _tv_rows r JOIN _tv_v v USING (kind, key_id, value);
"""

#: One row per value; key id '' for clear kinds.
_VIEW_SQL = """
WITH dissent AS (
    SELECT DISTINCT r.iid FROM _tv_r r JOIN _tv_dissent d USING (iid)
    WHERE d.peer <> r.peer OR d.peer = $self
), w AS (
    SELECT r.vid, r.peer, coalesce(t.strength, 0.0) * r.base AS w
    FROM _tv_r r LEFT JOIN _tv_trust t USING (peer)
    UNION ALL
    SELECT r.vid, k.peer, k.strength * r.base
    FROM _tv_r r JOIN _tv_backers k ON k.iid = r.iid AND k.peer <> r.peer
), per_peer AS (
    SELECT vid, peer, max(w) AS w FROM w GROUP BY ALL
), agg AS (
    SELECT vid, 1.0 - product(1.0 - w) AS support,
        coalesce(list(peer ORDER BY peer) FILTER (WHERE w >= $w_min), []) AS peers
    FROM per_peer GROUP BY ALL
), inds AS (
    SELECT vid, list(iid) AS indicators,
        coalesce(list(DISTINCT campaign) FILTER (WHERE campaign IS NOT NULL), []) AS campaigns,
        bool_or(d.iid IS NOT NULL) AS disputed
    FROM _tv_r r LEFT JOIN dissent d USING (iid) GROUP BY ALL
)
SELECT kind, key_id, value,
    CASE WHEN key_id <> '' THEN TRY_CAST('0x' || value AS UBIGINT) END AS digest,
    round(support * CASE WHEN disputed THEN $factor ELSE 1.0 END, 4) AS support,
    peers, disputed, NOT disputed AND len(peers) >= $k_min AS corroborated,
    indicators, campaigns
FROM _tv_v JOIN agg USING (vid) JOIN inds USING (vid)
ORDER BY kind, key_id, digest, value
"""


class TrustView:
    """Imported values with their support (see the module docstring).

    ``table`` holds one row per value, sorted by kind, key id and digest;
    rows are addressed by position. The view does not change once built."""

    def __init__(self, table: pa.Table | None = None) -> None:
        self.table = table if table is not None else _empty()
        self.supports: npt.NDArray[np.float64] = (
            self.table.column("support").to_numpy(zero_copy_only=False).astype(np.float64)
        )
        self._spans = _spans(self.table.column("kind"))
        self._digests: dict[tuple[Kind, str], tuple[U64, I64]] = {}
        self._cache: dict[int, ValueSupport] = {}

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def support(self, row: int) -> ValueSupport:
        """The aggregate of one row (made once, on demand)."""
        s = self._cache.get(row)
        if s is None:
            r = self.table.slice(row, 1).to_pylist()[0]
            s = self._cache[row] = ValueSupport(
                float(r["support"]),
                frozenset(r["peers"]),
                bool(r["disputed"]),
                bool(r["corroborated"]),
                tuple(r["indicators"]),
                tuple(r["campaigns"]),
            )
        return s

    def rows(self, kind: Kind) -> tuple[int, pa.Table]:
        """The first row of ``kind`` and its rows (a zero-copy slice)."""
        start, stop = self._spans.get(str(kind), (0, 0))
        return start, self.table.slice(start, stop - start)

    def key_ids(self, kind: Kind) -> list[str]:
        """Consortium keys the values of a keyed kind are digests under."""
        _, t = self.rows(kind)
        return sorted(k for k in pc.unique(t.column("key_id")).to_pylist() if k)

    def lookup(self, kind: Kind, key_id: str, digests: U64) -> I64:
        """Row of each keyed digest of ``kind`` under ``key_id``; -1 if none."""
        wanted, rows = self.digests(kind, key_id)
        out = np.full(len(digests), -1, dtype=np.int64)
        if not len(wanted) or not len(digests):
            return out
        pos = np.minimum(np.searchsorted(wanted, digests), len(wanted) - 1)
        hit = wanted[pos] == digests
        out[hit] = rows[pos[hit]]
        return out

    def digests(self, kind: Kind, key_id: str) -> tuple[U64, I64]:
        """Sorted digests of one kind under one key, and their rows."""
        cached = self._digests.get((kind, key_id))
        if cached is None:
            start, t = self.rows(kind)
            keys = t.column("key_id").cast(pa.string())
            mask = pc.and_(pc.equal(keys, key_id), pc.is_valid(t.column("digest")))
            rows = np.flatnonzero(mask.to_numpy(zero_copy_only=False)).astype(np.int64)
            d = t.column("digest").to_numpy(zero_copy_only=False)[rows].astype(np.uint64)
            order = np.argsort(d, kind="stable")
            cached = self._digests[(kind, key_id)] = (d[order], rows[order] + start)
        return cached

    def without(self, values: Iterable[str]) -> TrustView:
        """This view without some values (a local allowlist)."""
        drop = sorted(set(values))
        if not drop:
            return self
        keep = pc.invert(pc.is_in(self.table.column("value"), pa.array(drop, pa.string())))
        return TrustView(self.table.filter(keep))

    @property
    def values(self) -> Mapping[ValueKey, ValueSupport]:
        """``(kind, key id, value) -> support``, for inspection (the console,
        tests); matching goes through :meth:`lookup` and :meth:`rows`."""
        return _Values(self)


class _Values(Mapping[ValueKey, ValueSupport]):
    def __init__(self, view: TrustView) -> None:
        self._view = view
        self._index: dict[ValueKey, int] | None = None

    def _keys(self) -> dict[ValueKey, int]:
        if self._index is None:
            t = self._view.table.select(["kind", "key_id", "value"]).to_pydict()
            self._index = {
                (Kind(k), i or None, v): row
                for row, (k, i, v) in enumerate(
                    zip(t["kind"], t["key_id"], t["value"], strict=True)
                )
            }
        return self._index

    def __getitem__(self, key: ValueKey) -> ValueSupport:
        return self._view.support(self._keys()[key])

    def __iter__(self) -> Iterator[ValueKey]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._view)


def trust_view(store: ExchangeStore, cfg: ExchangeConfig, now: float | None = None) -> TrustView:
    """Aggregate every live imported indicator (see the module docstring)."""
    now = time.time() if now is None else now
    trust = {p.name: p.trust for p in cfg.peers}
    rows = store.query_arrow(
        "SELECT i.id, i.peer, i.confidence, i.valid_from, v.kind, coalesce(v.key_id, ''), "
        "v.value, i.campaign FROM indicator i JOIN indicator_value v ON v.indicator = i.id "
        "WHERE i.revoked = 0 AND (i.valid_until IS NULL OR i.valid_until > ?)",
        _ROWS,
        (now,),
    )
    # One thread: a million values aggregate in a few seconds either way,
    # and per-thread hash tables would multiply the peak memory.
    con = duckdb.connect(config={"threads": 1, "preserve_insertion_order": False})
    try:
        con.register("_tv_rows", rows)
        con.register("_tv_trust", _pairs([("", p, t) for p, t in trust.items()]))
        con.register("_tv_backers", _pairs(_backers(store, trust)))
        con.register("_tv_dissent", _pairs(_dissent(store)))
        con.execute(_VALUES_SQL, {"now": now, "half": cfg.half_life_days * 86400.0})
        con.unregister("_tv_rows")
        del rows
        table = con.sql(
            _VIEW_SQL,
            params={
                "self": SELF,
                "w_min": cfg.corroboration.min_peer_weight,
                "factor": cfg.dispute_factor,
                "k_min": cfg.corroboration.min_peers,
            },
        ).to_arrow_table()
    finally:
        con.close()
    return TrustView(_compact(table))


def _compact(table: pa.Table) -> pa.Table:
    """Dictionary-encode the repetitive columns: kinds, key ids, and the
    peers and campaigns in each row's lists (a handful of distinct strings
    repeated a million times)."""
    table = table.combine_chunks()
    for name in ("kind", "key_id"):
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, pc.dictionary_encode(table.column(name)))
    for name in ("peers", "campaigns"):
        i = table.schema.get_field_index(name)
        lists = table.column(name).combine_chunks()
        encoded = pa.ListArray.from_arrays(
            lists.offsets, pc.dictionary_encode(lists.flatten()), mask=lists.is_null()
        )
        table = table.set_column(i, name, encoded)
    return table


def _backers(store: ExchangeStore, trust: dict[str, float]) -> list[tuple[str, str, float]]:
    """(indicator id, peer, strength) from agreeing opinions and sightings;
    the view keeps the strongest per indicator and peer."""
    out: list[tuple[str, str, float]] = []
    for peer, support, refs in store.query(
        "SELECT peer, support, refs FROM opinion WHERE support > 0"
    ):
        strength = trust.get(peer, 0.0) * float(support)
        out.extend((ref, peer, strength) for ref in orjson.loads(refs))
    for peer, ref in store.query(
        "SELECT peer, ref FROM sighting WHERE false_positive = 0 AND count > 0"
    ):
        out.append((ref, peer, trust.get(peer, 0.0)))
    return out


def _dissent(store: ExchangeStore) -> list[tuple[str, str, float]]:
    """(indicator id, peer, 0) for every disagreement: an opinion below
    neutral or a false-positive sighting. It disputes the indicator when the
    peer is not its publisher, or is this provider."""
    out: list[tuple[str, str, float]] = []
    for peer, refs in store.query("SELECT peer, refs FROM opinion WHERE support < 0"):
        out.extend((ref, peer, 0.0) for ref in orjson.loads(refs))
    for peer, ref in store.query("SELECT peer, ref FROM sighting WHERE false_positive = 1"):
        out.append((ref, peer, 0.0))
    return out


def _pairs(rows: list[tuple[str, str, float]]) -> pa.Table:
    cols = list(zip(*rows, strict=True)) if rows else [(), (), ()]
    return pa.table([pa.array(c, f.type) for c, f in zip(cols, _PAIRS, strict=True)], _PAIRS)


def _spans(kinds: pa.ChunkedArray) -> dict[str, tuple[int, int]]:
    """Start and end row of each kind (the table is sorted by kind)."""
    counts = pc.value_counts(kinds).to_pylist()
    out: dict[str, tuple[int, int]] = {}
    start = 0
    for c in sorted(counts, key=lambda c: str(c["values"])):
        out[str(c["values"])] = (start, start + int(c["counts"]))
        start += int(c["counts"])
    return out


def _empty() -> pa.Table:
    return pa.table(
        {
            "kind": pa.array([], pa.string()),
            "key_id": pa.array([], pa.string()),
            "value": pa.array([], pa.string()),
            "digest": pa.array([], pa.uint64()),
            "support": pa.array([], pa.float64()),
            "peers": pa.array([], pa.list_(pa.string())),
            "disputed": pa.array([], pa.bool_()),
            "corroborated": pa.array([], pa.bool_()),
            "indicators": pa.array([], pa.list_(pa.string())),
            "campaigns": pa.array([], pa.list_(pa.string())),
        }
    )
