"""Matching imported values against this provider's own traffic.

Clear values (CIDRs, ASNs, JA4s, user agents) are looked up directly in the
account–key incidence table. Keyed values are matched by hashing *local*
values under the same consortium key: the payment fingerprints and e-mail
domains of the account table, the wrapper ids seen, and the LSH band hashes of
every distinct prompt seen. Local digests are cached per key, so each local
value is hashed once however often detection runs.

A matched band hash points at the near-duplicate bucket of the prompt that
opened it; the accounts that sent prompts of that bucket's cluster are the
matched accounts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from distillguard.engine.state import DetectionContext
from distillguard.exchange.keys import KeyRing
from distillguard.exchange.model import Kind

U64 = npt.NDArray[np.uint64]


@dataclass(slots=True)
class _Digests:
    """Local values and their keyed digests, both sorted by value."""

    values: U64 = field(default_factory=lambda: np.zeros(0, np.uint64))
    digests: U64 = field(default_factory=lambda: np.zeros(0, np.uint64))


class LocalDigests:
    """Keyed digests of local values, computed once per value and key."""

    def __init__(self, keys: KeyRing) -> None:
        self.keys = keys
        self._cache: dict[tuple[str, Kind], _Digests] = {}
        self._text: dict[tuple[str, Kind], dict[str, int]] = {}

    def u64(self, key_id: str, kind: Kind, values: U64) -> U64:
        """The digests of ``values`` (any order) under ``key_id``."""
        key = self.keys.get(key_id)
        if key is None:
            return np.zeros(len(values), np.uint64)
        entry = self._cache.setdefault((key_id, kind), _Digests())
        uniq = _sorted_unique(values)
        known = np.searchsorted(entry.values, uniq)
        seen = np.zeros(len(uniq), dtype=bool)
        if len(entry.values):
            seen = entry.values[np.minimum(known, len(entry.values) - 1)] == uniq
        new = uniq[~seen]
        if len(new):
            digests = key.hasher(kind).u64(new)
            allv = np.concatenate([entry.values, new])
            alld = np.concatenate([entry.digests, digests])
            order = np.argsort(allv, kind="stable")
            entry.values, entry.digests = allv[order], alld[order]
        pos = np.searchsorted(entry.values, values)
        out: U64 = entry.digests[pos]
        return out

    def text(self, key_id: str, kind: Kind, values: Iterable[str]) -> dict[str, int]:
        key = self.keys.get(key_id)
        if key is None:
            return {}
        cache = self._text.setdefault((key_id, kind), {})
        todo = sorted({v for v in values if v not in cache})
        if todo:
            cache.update(zip(todo, key.hasher(kind).text(todo).tolist(), strict=True))
        return cache


def _sorted_unique(values: U64) -> U64:
    """Sorted distinct values (by sorting: faster than hashing for uint64)."""
    s = np.sort(np.asarray(values, dtype=np.uint64))
    if len(s) < 2:
        return s
    out: U64 = s[np.r_[True, s[1:] != s[:-1]]]
    return out


def band_clusters(
    ctx: DetectionContext, digests: LocalDigests, key_id: str, wanted: U64
) -> tuple[U64, U64]:
    """Local prompts whose band hashes have a keyed digest in ``wanted``
    (sorted): for each matching band, the current cluster id of the prompt
    that opened its bucket, and the matching digest."""
    bands, reps = ctx.prompts.fingerprints.buckets()
    empty = np.zeros(0, np.uint64)
    if not len(bands) or not len(wanted):
        return empty, empty
    keyed = digests.u64(key_id, Kind.PROMPT_BAND, bands)
    hit = np.isin(keyed, wanted)
    if not hit.any():
        return empty, empty
    return ctx.prompts.fingerprints.clusters_of(reps[hit]), keyed[hit]
