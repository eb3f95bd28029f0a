"""``SortedMap``: uint64 keys to rows of numpy value columns, for indexes that
grow by small batches.

Keys live in two sorted arrays: a large *main* part and a smaller *delta* that
new keys go into. When the delta passes ``1 / RATIO`` of the main part (and
``MIN_DELTA`` keys) it is merged into it. Adding ``b`` keys to a map of ``N``
costs ``O(b log N)`` for the look-ups plus ``O(N / RATIO)`` copying on
average, where one sorted array would copy all ``N`` entries on every call:
a live step's few hundred prompts no longer pay for the whole index.

>>> m = SortedMap(np.int32)
>>> m.insert(np.array([30, 10], np.uint64), np.array([3, 1], np.int32))
>>> level, pos = m.find(np.array([10, 20, 30], np.uint64))
>>> (level >= 0).tolist(), m.get(0, level, pos).tolist()
([True, False, True], [1, 0, 3])
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt

__all__ = ["MIN_DELTA", "RATIO", "SortedMap"]

U64 = npt.NDArray[np.uint64]

RATIO: Final = 8
MIN_DELTA: Final = 4096


class SortedMap:
    """uint64 keys (each once) to one value per column (``dtypes``)."""

    def __init__(self, *dtypes: npt.DTypeLike) -> None:
        self._dtypes = tuple(np.dtype(d) for d in dtypes)
        self._keys: list[U64] = [np.zeros(0, np.uint64), np.zeros(0, np.uint64)]
        self._cols: list[list[npt.NDArray[Any]]] = [
            [np.zeros(0, d) for d in self._dtypes],
            [np.zeros(0, d) for d in self._dtypes],
        ]

    @classmethod
    def from_sorted(cls, keys: U64, *columns: npt.NDArray[Any]) -> SortedMap:
        """A map holding these sorted, distinct keys and their values."""
        out = cls(*(c.dtype for c in columns))
        out._keys[0] = np.asarray(keys, dtype=np.uint64)
        out._cols[0] = list(columns)
        return out

    def __len__(self) -> int:
        return len(self._keys[0]) + len(self._keys[1])

    def find(self, keys: U64) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.intp]]:
        """Where each key is: its part (0 main, 1 delta, -1 absent) and its
        position there. Valid until the next ``insert``."""
        level = np.full(len(keys), -1, dtype=np.int8)
        pos = np.zeros(len(keys), dtype=np.intp)
        for part, held in enumerate(self._keys):
            if not len(held) or not len(keys):
                continue
            p = np.minimum(np.searchsorted(held, keys), len(held) - 1)
            hit = held[p] == keys
            level[hit] = part
            pos[hit] = p[hit]
        return level, pos

    def get(
        self, column: int, level: npt.NDArray[np.int8], pos: npt.NDArray[np.intp]
    ) -> npt.NDArray[Any]:
        """Values of ``column`` at places from ``find`` (0 where absent)."""
        out = np.zeros(len(level), dtype=self._dtypes[column])
        for part in (0, 1):
            at = level == part
            if at.any():
                out[at] = self._cols[part][column][pos[at]]
        return out

    def put(
        self,
        column: int,
        level: npt.NDArray[np.int8],
        pos: npt.NDArray[np.intp],
        values: npt.ArrayLike,
    ) -> None:
        """Set ``column`` at places from ``find`` (absent ones are skipped)."""
        vals = np.broadcast_to(np.asarray(values, dtype=self._dtypes[column]), level.shape)
        for part in (0, 1):
            at = level == part
            if at.any():
                self._cols[part][column][pos[at]] = vals[at]

    def insert(self, keys: U64, *values: npt.NDArray[Any]) -> None:
        """Add keys that are not in the map yet (distinct), with their values."""
        if not len(keys):
            return
        cols = [np.asarray(v, dtype=d) for v, d in zip(values, self._dtypes, strict=True)]
        if len(self._keys[1]):
            keys = np.concatenate([self._keys[1], keys])
            cols = [np.concatenate([held, c]) for held, c in zip(self._cols[1], cols, strict=True)]
        if not bool(np.all(keys[1:] > keys[:-1])):
            order = np.argsort(keys, kind="stable")
            keys, cols = keys[order], [c[order] for c in cols]
        part = 1 if len(keys) <= max(MIN_DELTA, len(self._keys[0]) // RATIO) else 0
        if part == 0:
            # Large enough: into the main part at once, with what the delta held.
            self._keys[1] = np.zeros(0, np.uint64)
            self._cols[1] = [np.zeros(0, d) for d in self._dtypes]
        self._put_sorted(part, keys, cols)

    def items(self) -> tuple[U64, list[npt.NDArray[Any]]]:
        """All keys, sorted, and their value columns (not copies)."""
        self._merge()
        return self._keys[0], self._cols[0]

    def keep(self, mask: npt.NDArray[np.bool_]) -> None:
        """Keep the entries where ``mask`` (over ``items()``' order) is true."""
        keys, cols = self.items()
        self._keys[0] = keys[mask]
        self._cols[0] = [c[mask] for c in cols]

    def _merge(self) -> None:
        if len(self._keys[1]):
            keys, cols = self._keys[1], self._cols[1]
            self._keys[1] = np.zeros(0, np.uint64)
            self._cols[1] = [np.zeros(0, d) for d in self._dtypes]
            self._put_sorted(0, keys, cols)

    def _put_sorted(self, part: int, keys: U64, cols: list[npt.NDArray[Any]]) -> None:
        """Merge sorted new keys into a part (the delta is replaced whole)."""
        if part == 1:
            self._keys[1], self._cols[1] = keys, cols
            return
        at = np.searchsorted(self._keys[0], keys)
        self._keys[0] = np.insert(self._keys[0], at, keys)
        self._cols[0] = [np.insert(m, at, c) for m, c in zip(self._cols[0], cols, strict=True)]
