"""RE2 patterns compiled once per process, for small batches.

``pyarrow.compute``'s regex kernels compile their pattern on every call: on a
batch of a few hundred texts that costs more than the matching. ``PatternSet``
compiles its patterns once and tells which of them occur in each text, with
the same semantics as ``pyarrow.compute.match_substring_regex``. Large
batches (``ARROW_MIN`` texts and more) are faster through Arrow's kernels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import re2

__all__ = ["ARROW_MIN", "PatternSet"]

#: Fewest texts for which one Arrow pass per pattern (compiled on each call)
#: beats compiled patterns applied text by text.
ARROW_MIN: Final = 1000


class PatternSet:
    """Which of several RE2 patterns occur in each text, in one pass per text.

    The semantics are those of ``pyarrow.compute.match_substring_regex`` (an
    unanchored search with RE2's default options, UTF-8, case-sensitive), but
    the patterns are compiled once, not on every call. RE2 runs a set of
    patterns as one DFA; should that DFA run out of memory on some text, the
    text is searched pattern by pattern instead (RE2 then falls back to its
    slower engines, as a single search does)."""

    def __init__(self, patterns: Sequence[str], *, max_mem: int = 64 << 20) -> None:
        self.patterns = tuple(patterns)
        self._options = re2.Options()
        self._options.log_errors = False
        self._options.max_mem = max_mem
        self._set = re2.Set.SearchSet(self._options)
        # The empty pattern matches every text: an answer without it is a failure.
        self._set.Add("")
        for pattern in self.patterns:
            self._set.Add(pattern)
        self._set.Compile()
        self._single: list[Any] | None = None

    def matches(self, arr: pa.LargeStringArray) -> npt.NDArray[np.bool_]:
        """``(len(arr), len(patterns))``: pattern ``j`` occurs in text ``i``."""
        out = np.zeros((len(arr), len(self.patterns) + 1), dtype=bool)
        data, offsets = _utf8_buffers(arr)
        match = self._set.Match
        rows: list[int] = []
        cols: list[int] = []
        for i in range(len(arr)):
            text = data[offsets[i] : offsets[i + 1]]
            found = match(text)
            if not found:
                found = [0, *self._one_by_one(text)]
            rows.extend([i] * len(found))
            cols.extend(found)
        out[rows, cols] = True
        return out[:, 1:]

    def _one_by_one(self, text: memoryview) -> list[int]:
        if self._single is None:
            self._single = [re2.compile(p, self._options) for p in self.patterns]
        return [j + 1 for j, r in enumerate(self._single) if r.search(text) is not None]


def _utf8_buffers(arr: pa.Array) -> tuple[memoryview, list[int]]:
    """The UTF-8 bytes of a string array and each text's byte offsets."""
    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    if arr.null_count:
        arr = arr.fill_null("")
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
    data = arr.buffers()[2]
    return memoryview(data if data is not None else b""), offsets.tolist()
