"""The exchange's SQLite store.

Two halves in one file:

* the TAXII collections this provider serves (``taxii_object``): its own
  outbound publications and the inbox peers write feedback to. Every object
  gets a unique, increasing ``date_added`` (microseconds), so ``added_after``
  pagination never skips or repeats an object;
* what peers told us: indicators and their values, campaigns, opinions,
  sightings, the attestations already seen (replay protection), the reasons
  objects were rejected, and one polling checkpoint per peer.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

JSON = dict[str, Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS taxii_object (
    collection TEXT NOT NULL, id TEXT NOT NULL, version TEXT NOT NULL, type TEXT NOT NULL,
    date_added INTEGER NOT NULL, body BLOB NOT NULL, PRIMARY KEY (collection, id, version)
);
CREATE INDEX IF NOT EXISTS taxii_added ON taxii_object (collection, date_added);
CREATE TABLE IF NOT EXISTS indicator (
    id TEXT PRIMARY KEY, peer TEXT NOT NULL, version TEXT NOT NULL, campaign TEXT,
    kind TEXT NOT NULL, key_id TEXT, confidence INTEGER NOT NULL,
    valid_from REAL NOT NULL, valid_until REAL, revoked INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS indicator_value (
    indicator TEXT NOT NULL, kind TEXT NOT NULL, key_id TEXT, value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS indicator_value_ind ON indicator_value (indicator);
CREATE TABLE IF NOT EXISTS campaign (
    id TEXT PRIMARY KEY, peer TEXT NOT NULL, version TEXT NOT NULL, body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS opinion (
    id TEXT PRIMARY KEY, peer TEXT NOT NULL, version TEXT NOT NULL, support REAL NOT NULL,
    refs TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sighting (
    id TEXT PRIMARY KEY, peer TEXT NOT NULL, version TEXT NOT NULL, ref TEXT NOT NULL,
    count INTEGER NOT NULL, false_positive INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS attestation (
    id TEXT PRIMARY KEY, peer TEXT NOT NULL, published TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reject (
    at REAL NOT NULL, peer TEXT NOT NULL, object_id TEXT, reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoint (peer TEXT PRIMARY KEY, added_after TEXT NOT NULL);
"""

#: Tables of what peers told us, with the version column used for replays.
VERSIONED = {"indicator", "campaign", "opinion", "sighting"}


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a TAXII collection."""

    objects: list[JSON]
    date_added: list[int]
    more: bool


class ExchangeStore:
    """The exchange's state in one SQLite database (``":memory:"`` for tests).

    Safe to share between the threads of the TAXII server: one connection,
    one lock."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._con = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._con.execute("PRAGMA journal_mode = WAL")
        self._con.execute("PRAGMA synchronous = NORMAL")
        self._con.executescript(_SCHEMA)
        self._lock = threading.RLock()
        self._last_added = 0

    def close(self) -> None:
        self._con.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._con.execute("BEGIN")
            try:
                yield self._con
            except BaseException:
                self._con.execute("ROLLBACK")
                raise
            self._con.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._con.execute(sql, params).fetchall()

    def query_arrow(
        self, sql: str, schema: pa.Schema, params: Sequence[Any] = (), batch: int = 65_536
    ) -> pa.Table:
        """A query's rows as an Arrow table of ``schema``, converted
        ``batch`` rows at a time, so that a million rows never exist as
        Python tuples all at once."""
        parts: list[pa.RecordBatch] = []
        with self._lock:
            cur = self._con.execute(sql, params)
            while rows := cur.fetchmany(batch):
                cols = list(zip(*rows, strict=True))
                parts.append(
                    pa.record_batch(
                        [pa.array(c, f.type) for c, f in zip(cols, schema, strict=True)],
                        schema=schema,
                    )
                )
        return pa.Table.from_batches(parts, schema=schema)

    # -- TAXII collections ------------------------------------------------------
    def add_objects(self, collection: str, objects: Sequence[JSON]) -> tuple[int, int]:
        """Add objects to a collection in one transaction; an object whose
        ``(id, version)`` is there already is left as it is. Returns the
        first and last ``date_added`` given (microseconds)."""
        with self.transaction() as con:
            top = con.execute("SELECT max(date_added) FROM taxii_object").fetchone()[0] or 0
            start = max(int(time.time() * 1e6), top + 1, self._last_added + 1)
            rows = [
                (collection, o["id"], version_of(o), o["type"], start + i, orjson.dumps(o))
                for i, o in enumerate(objects)
            ]
            con.executemany("INSERT OR IGNORE INTO taxii_object VALUES (?, ?, ?, ?, ?, ?)", rows)
            self._last_added = start + len(rows) - 1
        return start, start + max(len(rows) - 1, 0)

    def page(
        self,
        collection: str,
        *,
        added_after: int | None = None,
        limit: int = 1000,
        ids: Sequence[str] = (),
        types: Sequence[str] = (),
        versions: str = "last",
    ) -> Page:
        """Objects in ``date_added`` order after ``added_after``, filtered like
        TAXII's ``match[id]``, ``match[type]`` and ``match[version]``
        (``last``, ``first``, ``all`` or a timestamp)."""
        where = ["collection = ?"]
        params: list[Any] = [collection]
        if added_after is not None:
            where.append("date_added > ?")
            params.append(added_after)
        if ids:
            where.append(f"id IN ({','.join('?' * len(ids))})")
            params.extend(ids)
        if types:
            where.append(f"type IN ({','.join('?' * len(types))})")
            params.extend(types)
        if versions in ("last", "first"):
            agg = "max" if versions == "last" else "min"
            where.append(
                f"version = (SELECT {agg}(version) FROM taxii_object t2 "
                "WHERE t2.collection = taxii_object.collection AND t2.id = taxii_object.id)"
            )
        elif versions != "all":
            where.append(f"version IN ({','.join('?' * len(versions.split(',')))})")
            params.extend(versions.split(","))
        sql = (
            f"SELECT body, date_added FROM taxii_object WHERE {' AND '.join(where)} "
            "ORDER BY date_added LIMIT ?"
        )
        rows = self.query(sql, [*params, limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        return Page([orjson.loads(r[0]) for r in rows], [int(r[1]) for r in rows], more)

    def versions(self, collection: str, object_id: str) -> list[tuple[str, int]]:
        return [
            (str(v), int(d))
            for v, d in self.query(
                "SELECT version, date_added FROM taxii_object WHERE collection = ? AND id = ? "
                "ORDER BY version",
                (collection, object_id),
            )
        ]

    def delete_object(self, collection: str, object_id: str) -> int:
        with self.transaction() as con:
            cur = con.execute(
                "DELETE FROM taxii_object WHERE collection = ? AND id = ?", (collection, object_id)
            )
            return int(cur.rowcount)

    # -- what peers told us ------------------------------------------------------
    def stored_version(self, table: str, object_id: str) -> str | None:
        if table not in VERSIONED:
            raise ValueError(f"no versioned table {table!r}")
        row = self.query(f"SELECT version FROM {table} WHERE id = ?", (object_id,))
        return str(row[0][0]) if row else None

    def stored_versions(self, table: str, ids: Iterable[str]) -> dict[str, str]:
        if table not in VERSIONED:
            raise ValueError(f"no versioned table {table!r}")
        out: dict[str, str] = {}
        batch = list(ids)
        for i in range(0, len(batch), 900):
            part = batch[i : i + 900]
            rows = self.query(
                f"SELECT id, version FROM {table} WHERE id IN ({','.join('?' * len(part))})", part
            )
            out.update({str(a): str(b) for a, b in rows})
        return out

    def log_reject(self, peer: str, object_id: str | None, reason: str) -> None:
        with self._lock:
            self._con.execute(
                "INSERT INTO reject VALUES (?, ?, ?, ?)", (time.time(), peer, object_id, reason)
            )

    def rejects(self, peer: str | None = None) -> list[tuple[str, str | None, str]]:
        sql = "SELECT peer, object_id, reason FROM reject"
        rows = self.query(sql + " WHERE peer = ?", (peer,)) if peer else self.query(sql)
        return [(str(p), o, str(r)) for p, o, r in rows]

    def purge_expired(self, now: float | None = None) -> int:
        """Forget indicators past their ``valid_until``; returns how many."""
        now = time.time() if now is None else now
        with self.transaction() as con:
            con.execute(
                "DELETE FROM indicator_value WHERE indicator IN "
                "(SELECT id FROM indicator WHERE valid_until <= ?)",
                (now,),
            )
            return int(con.execute("DELETE FROM indicator WHERE valid_until <= ?", (now,)).rowcount)

    def checkpoint(self, peer: str) -> str | None:
        row = self.query("SELECT added_after FROM checkpoint WHERE peer = ?", (peer,))
        return str(row[0][0]) if row else None

    def set_checkpoint(self, peer: str, added_after: str) -> None:
        with self._lock:
            self._con.execute(
                "INSERT INTO checkpoint VALUES (?, ?) ON CONFLICT (peer) DO UPDATE "
                "SET added_after = excluded.added_after",
                (peer, added_after),
            )


def version_of(obj: JSON) -> str:
    """The version of a STIX object: ``modified``, else ``created``, else a
    constant for objects without versions (SCOs); fractions padded to
    microseconds so that versions compare as strings."""
    return norm_ts(str(obj.get("modified") or obj.get("created") or "1970-01-01T00:00:00Z"))


def norm_ts(text: str) -> str:
    """A STIX timestamp with its fraction padded to six digits."""
    m = _TS.match(text)
    if not m:
        return text
    return f"{m.group(1)}.{(m.group(2) or '').ljust(6, '0')[:6]}Z"


_TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$")
