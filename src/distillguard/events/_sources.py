"""Sources: each input format turns a file into blocks of JSON object texts.

A :class:`Source` has one method, :meth:`Source.blocks`, yielding
:class:`Block` s: an Arrow string array of records as JSON texts, their 1-based
line numbers (the span ordinal for OpenTelemetry, the data row for CSV and
Parquet), and the records already rejected while reading (not UTF-8, too
large, unreadable CSV row). Validation and normalisation happen downstream, the
same way for every format.
"""

from __future__ import annotations

import gzip
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa

from distillguard._exceptions import IngestError
from distillguard.events._fields import Reason

#: A record (a JSON line, or one row or span once serialised) larger than this is rejected.
MAX_RECORD_BYTES = 1 << 20
#: Rejected records keep at most this many characters of their text.
RAW_CHARS = 2048
_READ_BYTES = 16 << 20
_BOM = b"\xef\xbb\xbf"


@dataclass
class Block:
    """Records of one source as JSON texts, with their line numbers."""

    texts: pa.StringArray
    lines: np.ndarray  # int64, 1-based
    rejects: list[tuple[int, str, str]] = field(default_factory=list)  # (line, reason, raw)


class Source(ABC):
    """One input file in one format."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)

    @abstractmethod
    def blocks(self, batch_rows: int) -> Iterator[Block]:
        """Blocks of at most ``batch_rows`` records, in file order."""


def truncate(raw: str) -> str:
    return raw[:RAW_CHARS]


def open_binary(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed when it ends in ``.gz``; IngestError if unreadable."""
    try:
        if path.suffix.lower() == ".gz":
            return gzip.open(path, "rb")  # type: ignore[return-value]
        return open(path, "rb")
    except OSError as exc:
        raise IngestError(f"cannot open {path}: {exc}") from exc


def read_chunks(handle: IO[bytes], path: Path) -> Iterator[bytes]:
    """Raw chunks of the file; a read or decompression error is an IngestError."""
    try:
        while chunk := handle.read(_READ_BYTES):
            yield chunk
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise IngestError(f"cannot read {path}: {exc}") from exc


class JsonLinesSource(Source):
    """JSON Lines (``.jsonl``, ``.ndjson``, ``.json``; plain or gzip)."""

    def blocks(self, batch_rows: int) -> Iterator[Block]:
        splitter = _LineSplitter()
        with open_binary(self.path) as handle:
            for data in _chunks_after(handle, self.path, splitter):
                yield from splitter.feed(data, batch_rows, with_rest=True)
            yield from splitter.finish(batch_rows)


def _chunks_after(handle: IO[bytes], path: Path, splitter: _LineSplitter) -> Iterator[bytearray]:
    """Chunks of the file, each read in after the bytes the splitter kept back
    from the one before (so that no chunk is copied again to join them)."""
    try:
        while True:
            rest = splitter.rest
            data = bytearray(len(rest) + _READ_BYTES)
            data[: len(rest)] = rest
            filled = len(rest)
            with memoryview(data) as view:
                while filled < len(data):
                    n = handle.readinto(view[filled:])  # type: ignore[attr-defined]
                    if not n:
                        break
                    filled += n
            if filled == len(rest):
                return
            del data[filled:]
            yield data
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise IngestError(f"cannot read {path}: {exc}") from exc


class _LineSplitter:
    """Cuts a byte stream into lines, vectorised; keeps line numbers exact."""

    def __init__(self) -> None:
        self._rest = b""
        self._next_line = 1
        self._skipping = False  # inside a line already rejected as oversized
        self._first = True

    @property
    def rest(self) -> bytes:
        """The bytes after the last newline fed so far (a line still open)."""
        return self._rest

    def feed(
        self, chunk: bytes | bytearray, batch_rows: int, *, with_rest: bool = False
    ) -> Iterator[Block]:
        """Lines of the next ``chunk`` of the stream; with ``with_rest`` the
        chunk already begins with ``rest``."""
        if self._first or self._skipping:
            with_rest = False  # ``rest`` is empty here: the chunk is all new bytes
        if self._first:
            self._first = False
            if chunk[: len(_BOM)] == _BOM:
                chunk = chunk[len(_BOM) :]
        if self._skipping:  # the rest of a line already rejected as oversized
            end = chunk.find(b"\n")
            if end < 0:
                return
            chunk = chunk[end + 1 :]
            self._skipping = False
        data = chunk if with_rest else self._rest + chunk
        cut = data.rfind(b"\n") + 1
        self._rest = bytes(data[cut:])
        yield from self._split(data, cut, batch_rows)
        if len(self._rest) > MAX_RECORD_BYTES:
            raw = _decode(self._rest[:RAW_CHARS])
            empty = Block(pa.array([], pa.string()), np.empty(0, np.int64))
            empty.rejects.append((self._next_line, Reason.OVERSIZED, raw))
            yield empty
            self._next_line += 1
            self._rest = b""
            self._skipping = True

    def finish(self, batch_rows: int) -> Iterator[Block]:
        if self._rest and not self._skipping:
            data = self._rest + b"\n"
            yield from self._split(data, len(data), batch_rows)
        self._rest = b""

    def _split(self, data: bytes | bytearray, size: int, batch_rows: int) -> Iterator[Block]:
        """The lines of ``data[:size]`` (which ends with a newline)."""
        buf = np.frombuffer(data, dtype=np.uint8, count=size)
        ends = np.flatnonzero(buf == 10)
        starts = np.empty_like(ends)
        starts[:1] = 0
        starts[1:] = ends[:-1] + 1
        numbers = np.arange(self._next_line, self._next_line + len(ends), dtype=np.int64)
        self._next_line += len(ends)
        for lo in range(0, len(ends), batch_rows):
            hi = lo + batch_rows
            block = _block(data, starts[lo:hi], ends[lo:hi], numbers[lo:hi])
            if len(block.texts) or block.rejects:
                yield block


def _decode(raw: bytes | bytearray) -> str:
    return raw.decode("utf-8", errors="replace")


def _block(
    data: bytes | bytearray, starts: np.ndarray, ends: np.ndarray, numbers: np.ndarray
) -> Block:
    """Lines ``data[starts[i]:ends[i]]`` (newline excluded) as a string array."""
    content_ends = ends - ((ends > starts) & (np.frombuffer(data, np.uint8)[ends - 1] == 13))
    lengths = content_ends - starts
    keep = lengths > 0
    rejects = []
    for i in np.flatnonzero(lengths > MAX_RECORD_BYTES):
        raw = _decode(bytes(data[starts[i] : starts[i] + RAW_CHARS]))
        rejects.append((int(numbers[i]), Reason.OVERSIZED, raw))
        keep[i] = False
    if len(starts) == 0:
        return Block(pa.array([], pa.string()), numbers, rejects)
    # Each string runs from its line start to the next line start: the newline
    # (and any CR) stays inside as trailing JSON whitespace, so no copy is needed.
    offsets = np.append(starts, ends[-1] + 1).astype(np.int64)
    base = int(offsets[0])
    texts = pa.LargeStringArray.from_buffers(
        len(starts),
        pa.py_buffer(offsets - base),
        pa.py_buffer(data).slice(base, int(offsets[-1]) - base),
    )
    if not keep.all():
        texts = texts.filter(pa.array(keep))
        numbers = numbers[keep]
    texts, numbers, bad = _check_utf8(texts, numbers)
    rejects.extend(bad)
    return Block(texts.cast(pa.string()), numbers, rejects)


def _check_utf8(
    texts: pa.LargeStringArray, numbers: np.ndarray
) -> tuple[pa.LargeStringArray, np.ndarray, list[tuple[int, str, str]]]:
    try:
        texts.validate(full=True)
        return texts, numbers, []
    except pa.ArrowInvalid:
        pass
    raw = pa.Array.from_buffers(pa.large_binary(), len(texts), texts.buffers()[:3])
    good = np.ones(len(texts), dtype=bool)
    rejects = []
    for i, value in enumerate(raw.to_pylist()):
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            good[i] = False
            rejects.append((int(numbers[i]), Reason.INVALID_UTF8, _decode(value[:RAW_CHARS])))
    kept = raw.filter(pa.array(good))
    fixed = pa.Array.from_buffers(pa.large_string(), len(kept), kept.buffers()[:3])
    return fixed, numbers[good], rejects


__all__ = ["Block", "JsonLinesSource", "Source"]
