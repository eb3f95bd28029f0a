"""Which ``request_id`` values were already seen in this run.

Ids are kept as 64-bit xxh3 hashes in sorted numpy runs, merged like a
log-structured tree (a new run is merged into the previous one while that one is
no larger, as in a binary counter), so memory is 8 bytes per distinct id and each batch costs
a few binary searches and an amortised linear merge. A collision of two
different ids (probability about n²/2⁶⁵, ~3·10⁻⁶ for ten million ids) would
drop one record as a duplicate.
"""

from __future__ import annotations

import numpy as np
import xxhash


def hash_ids(ids: list[str]) -> np.ndarray:
    """xxh3-64 of each id (uint64), in order."""
    digest = xxhash.xxh3_64_intdigest
    return np.fromiter(
        (digest(v.encode("utf-8", "surrogatepass")) for v in ids), dtype=np.uint64, count=len(ids)
    )


class SeenIds:
    """A growing set of uint64 hashes."""

    def __init__(self) -> None:
        self._runs: list[np.ndarray] = []

    def __len__(self) -> int:
        return sum(len(run) for run in self._runs)

    def first_seen(self, hashes: np.ndarray) -> np.ndarray:
        """Mark which hashes are new (not seen before, and first in this array),
        then remember them all. Returns a boolean mask over ``hashes``."""
        uniq, first = np.unique(hashes, return_index=True)
        new = np.ones(len(uniq), dtype=bool)
        for run in self._runs:
            pos = np.searchsorted(run, uniq)
            pos[pos == len(run)] = 0
            new &= run[pos] != uniq if len(run) else True
        mask = np.zeros(len(hashes), dtype=bool)
        mask[first[new]] = True
        self._add(uniq[new])
        return mask

    def _add(self, run: np.ndarray) -> None:
        if not len(run):
            return
        self._runs.append(run)
        while len(self._runs) > 1 and len(self._runs[-2]) <= len(self._runs[-1]):
            top = self._runs.pop()
            below = self._runs.pop()
            merged = np.concatenate([below, top])
            merged.sort(kind="stable")
            self._runs.append(merged)
