"""A durable on-disk spool for the gateway's traffic feed.

The gateway appends one JSON line per served request (an ``EVENT_SCHEMA``
event) to numbered segment files; detection reads them at its own pace, so
nothing is lost while it is down or restarting.

    spool/
      .lock                     held by the one writer of this folder
      00000000000000000007.jsonl  segments, rotated at ``segment_bytes``
      consumers/detect.json     a consumer's committed position

- **Append-only.** A writer opens a *new* segment every time it starts, so a
  line torn by a crash is never continued by another record; a reader skips a
  torn tail in any segment that is no longer the newest. Segments are plain
  JSON Lines in the event schema: ``distillguard scan spool/*.jsonl`` reads them.
- **fsync policy.** ``always`` (fsync after every record: survives power loss,
  costs a disk flush per request), ``interval`` (a background thread flushes
  every ``fsync_interval_s``: a power cut loses at most that window; a process
  crash loses nothing, the data is in the page cache), ``never`` (the OS flushes).
- **Consumers** read from a committed :class:`Position` and commit the position
  after the batch. A consumer that stores what it read and the position *in
  one transaction* (a :class:`Checkpoint` of its own, see the tests) gets every
  event exactly once across crashes; with the file checkpoint it gets them at
  least once, and duplicates are dropped by ``request_id`` on ingest.
"""

from __future__ import annotations

import fcntl
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import orjson

from distillguard._exceptions import DistillGuardError

_SEGMENT = re.compile(r"^(\d{20})\.jsonl$")
FsyncPolicy = Literal["always", "interval", "never"]


class SpoolError(DistillGuardError):
    """The spool folder cannot be used (held by another writer, unreadable)."""


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """A place in the spool: segment number and byte offset in it."""

    segment: int = 0
    offset: int = 0


def _name(seq: int) -> str:
    return f"{seq:020d}.jsonl"


def segments(folder: Path) -> list[int]:
    """Segment numbers in ``folder``, oldest first."""
    if not folder.is_dir():
        return []
    found = (_SEGMENT.match(p) for p in os.listdir(folder))
    return sorted(int(m.group(1)) for m in found if m)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SpoolWriter:
    """Appends records to the spool in ``folder``; one writer per folder."""

    def __init__(
        self,
        folder: Path,
        *,
        fsync: FsyncPolicy = "interval",
        fsync_interval_s: float = 1.0,
        segment_bytes: int = 64 << 20,
    ) -> None:
        self.folder = folder
        self.policy = fsync
        self.segment_bytes = segment_bytes
        folder.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(self._lock_fd)
            raise SpoolError(f"spool {folder} is in use by another writer") from exc
        self._lock = threading.Lock()
        self._dirty = False
        self._closed = threading.Event()
        existing = segments(folder)
        self._seq = (existing[-1] + 1) if existing else 1
        self._fd, self._size = self._open(self._seq), 0
        self.records = 0
        self._flusher: threading.Thread | None = None
        if fsync == "interval":
            self._flusher = threading.Thread(
                target=self._flush_loop, args=(fsync_interval_s,), name="spool-fsync", daemon=True
            )
            self._flusher.start()

    def _open(self, seq: int) -> int:
        fd = os.open(self.folder / _name(seq), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        if self.policy != "never":
            _fsync_dir(self.folder)  # the new file's name survives a crash too
        return fd

    def append(self, record: dict[str, Any]) -> None:
        """Write one record; durable according to the fsync policy when it returns."""
        self.append_raw(orjson.dumps(record) + b"\n")

    def append_raw(self, line: bytes) -> None:
        with self._lock:
            if self._closed.is_set():
                raise SpoolError("spool writer is closed")
            if self._size and self._size + len(line) > self.segment_bytes:
                self._rotate()
            view = memoryview(line)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            self._size += len(line)
            self.records += 1
            if self.policy == "always":
                os.fsync(self._fd)
            else:
                self._dirty = True

    def _rotate(self) -> None:
        if self.policy != "never":
            os.fsync(self._fd)
        os.close(self._fd)
        self._seq += 1
        self._fd, self._size = self._open(self._seq), 0

    def _flush_loop(self, interval: float) -> None:
        while not self._closed.wait(interval):
            self.flush()

    def flush(self) -> None:
        """fsync what was written so far. The disk flush runs on a duplicate of
        the descriptor, outside the lock: appends never wait for the disk."""
        with self._lock:
            if not self._dirty or self._closed.is_set():
                return
            fd = os.dup(self._fd)
            self._dirty = False
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def close(self) -> None:
        with self._lock:
            if self._closed.is_set():
                return
            if self.policy != "never":
                os.fsync(self._fd)
            self._closed.set()
            os.close(self._fd)
            os.close(self._lock_fd)
        if self._flusher is not None:
            self._flusher.join()


class Checkpoint(Protocol):
    """Where a consumer keeps its committed position."""

    def load(self) -> Position | None: ...

    def save(self, position: Position) -> None: ...


class FileCheckpoint:
    """A position in a small JSON file, replaced atomically (write, fsync, rename)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Position | None:
        try:
            data = orjson.loads(self.path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, orjson.JSONDecodeError) as exc:
            raise SpoolError(f"unreadable spool checkpoint {self.path}: {exc}") from exc
        return Position(int(data["segment"]), int(data["offset"]))

    def save(self, position: Position) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            fh.write(orjson.dumps({"segment": position.segment, "offset": position.offset}))
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self.path)
        _fsync_dir(self.path.parent)


@dataclass(frozen=True, slots=True)
class Batch:
    lines: list[bytes]
    end: Position  # commit this once the lines are safely processed

    def records(self) -> Iterator[dict[str, Any]]:
        for line in self.lines:
            yield orjson.loads(line)


class SpoolReader:
    """Reads the spool from a committed position, in batches."""

    def __init__(self, folder: Path, checkpoint: Checkpoint | str = "default") -> None:
        self.folder = folder
        if isinstance(checkpoint, str):
            checkpoint = FileCheckpoint(folder / "consumers" / f"{checkpoint}.json")
        self.checkpoint = checkpoint
        self.position = checkpoint.load() or Position()
        self.torn = 0  # torn tails skipped (a writer crashed mid-line)

    def read(self, max_bytes: int = 8 << 20) -> Batch:
        """Complete records after the current position, up to about ``max_bytes``."""
        pos = self.position
        lines: list[bytes] = []
        seqs = [s for s in segments(self.folder) if s >= pos.segment]
        for i, seq in enumerate(seqs):
            start = pos.offset if seq == pos.segment else 0
            with (self.folder / _name(seq)).open("rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                fh.seek(start)
                data = fh.read(max_bytes)
            cut = data.rfind(b"\n") + 1
            lines.extend(line for line in data[:cut].split(b"\n") if line)
            pos = Position(seq, start + cut)
            max_bytes -= cut
            if i == len(seqs) - 1 or max_bytes <= 0:
                break  # the newest segment may still grow; or the batch is full
            if start + len(data) < size:
                break  # the batch is full in the middle of this segment
            if cut < len(data):
                self.torn += 1  # a finished segment that ends mid-line: its writer crashed
        return Batch(lines, pos)

    def commit(self, position: Position) -> None:
        """Record that everything before ``position`` is processed."""
        self.checkpoint.save(position)
        self.position = position

    def prune(self) -> int:
        """Delete the segments wholly before the committed position (with one
        consumer per spool; with several, prune at the slowest one's position)."""
        gone = [s for s in segments(self.folder) if s < self.position.segment]
        for seq in gone:
            (self.folder / _name(seq)).unlink(missing_ok=True)
        return len(gone)
