"""Random opaque identifiers, generated in bulk.

Every population gets its ids from the same functions, so an id says nothing
about who owns it.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_ALPHABET = np.frombuffer(
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", np.uint8
)
_HEX = np.frombuffer(b"0123456789abcdef", np.uint8)


def _fixed_width(prefix: bytes, body: np.ndarray) -> pa.StringArray:
    """One string per row of ``body`` (uint8 characters), each behind ``prefix``."""
    n, width = body.shape
    size = len(prefix) + width
    buf = np.empty((n, size), np.uint8)
    buf[:, : len(prefix)] = np.frombuffer(prefix, np.uint8)
    buf[:, len(prefix) :] = body
    offsets = np.arange(n + 1, dtype=np.int32) * size
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(buf))


def opaque_ids(rng: np.random.Generator, n: int, prefix: str, width: int) -> pa.StringArray:
    """``n`` distinct ids ``prefix`` + ``width`` base-62 characters."""
    while True:
        body = _ALPHABET[rng.integers(0, len(_ALPHABET), size=(n, width), dtype=np.uint8)]
        ids = _fixed_width(prefix.encode(), body)
        if len(pc.unique(ids)) == n:
            return ids


def hex_ids(rng: np.random.Generator, n: int, prefix: str, width: int) -> pa.StringArray:
    """``n`` distinct ids ``prefix`` + ``width`` hex digits."""
    while True:
        body = _HEX[rng.integers(0, 16, size=(n, width), dtype=np.uint8)]
        ids = _fixed_width(prefix.encode(), body)
        if len(pc.unique(ids)) == n:
            return ids
