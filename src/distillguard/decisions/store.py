"""The decision database and its change stream (SQLite by default, PostgreSQL in
production), through SQLAlchemy Core.

Every change takes the next number of one global sequence: an insert stamps the
row's ``seq``, a (soft) delete its ``deleted_seq``. Writers take the sequence
row's lock for the whole transaction, so numbers are handed out in commit order
and a reader that saw sequence ``H`` has seen every change up to ``H``.

A consumer's position is a :class:`Cursor`: the sequence ``S`` and the time ``T``
of its last pull. What it holds is every row with ``seq <= S``, not deleted by
``S`` and expiring after ``T``; a pull at ``(H, now)`` sends the rows it lacks
and the ids of the rows it holds that were deleted by ``H`` or expired by
``now``. Each query is a range scan of one index (``seq``, ``deleted_seq``,
``expires``), so millions of long-expired rows cost nothing: expiry is reported
once, in the one window ``(T, now]`` that contains it.

Nothing is removed by those changes; :meth:`DecisionStore.purge` removes rows
deleted or expired long ago, and records the highest deletion number and expiry
it removed as the *purge mark*. A cursor behind the mark may hold a row whose
deletion can no longer be told, so its next pull is a start-up snapshot: the
consumer replaces what it holds instead of applying a delta.
"""

from __future__ import annotations

import builtins
import hashlib
import secrets
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Dialect,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.pool import StaticPool
from sqlalchemy.schema import CreateIndex
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

from distillguard.decisions._errors import ConflictError, StoreError
from distillguard.decisions.model import (
    Decision,
    DecisionType,
    Origin,
    Scope,
    ThrottleParams,
    as_utc,
    utcnow,
)

__all__ = ["Cursor", "DecisionStore", "Delta", "Enforcer", "hash_token"]

#: Stored as the expiry of decisions without ``until``, so that one index serves all.
NEVER = datetime(9999, 12, 31, tzinfo=UTC)
#: The purge mark's time before anything was purged.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and read back tz-aware, on every backend
    (SQLite keeps no offset; PostgreSQL uses ``timestamptz``)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


metadata = MetaData()

decisions_t = Table(
    "dg_decisions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("seq", BigInteger, nullable=False, unique=True),
    Column("deleted_seq", BigInteger, nullable=True, index=True),
    Column("type", String(16), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("value", String(512), nullable=False),
    Column("rpm", Integer, nullable=True),
    Column("tpm", Integer, nullable=True),
    Column("until", UTCDateTime, nullable=True),
    Column("expires", UTCDateTime, nullable=False, index=True),
    Column("origin", String(16), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("simulated", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime, nullable=True),
    Index("ix_dg_decisions_scope_value", "scope", "value"),
)

#: Lets a purge find long-deleted rows without a scan (created on existing tables too).
deleted_at_ix = Index("ix_dg_decisions_deleted_at", decisions_t.c.deleted_at)

enforcers_t = Table(
    "dg_enforcers",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("admin", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("cursor_seq", BigInteger, nullable=True),
    Column("cursor_time", UTCDateTime, nullable=True),
    Column("last_pull_at", UTCDateTime, nullable=True),
)

sequence_t = Table(
    "dg_sequence",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("value", BigInteger, nullable=False),
)

#: The purge mark: the highest deletion number and expiry of the rows purged.
purged_t = Table(
    "dg_purged",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("time", UTCDateTime, nullable=False),
)

#: Rows a purge removes per transaction, so that no lock is held for long.
PURGE_BATCH = 1000


@dataclass(frozen=True, slots=True)
class Cursor:
    """A consumer's position in the change stream."""

    seq: int
    time: datetime

    def encode(self) -> str:
        return f"{self.seq}.{int(self.time.timestamp() * 1_000_000)}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Parse :meth:`encode`'s form; ``ValueError`` if it is not one."""
        seq, _, micros = text.partition(".")
        if not seq.isdigit() or not micros.isdigit():
            raise ValueError(f"not a stream cursor: {text!r}")
        return cls(int(seq), datetime.fromtimestamp(int(micros) / 1_000_000, UTC))


@dataclass(frozen=True, slots=True)
class Delta:
    """One answer of the stream: decisions to add, ids to drop, and where it left off."""

    new: list[Decision]
    deleted: list[str]
    cursor: Cursor
    startup: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "new": [d.to_json() for d in self.new],
            "deleted": self.deleted,
            "cursor": self.cursor.encode(),
            "startup": self.startup,
        }


@dataclass(frozen=True, slots=True)
class Enforcer:
    """A consumer of the stream (or, with ``admin``, a writer of decisions)."""

    name: str
    admin: bool = False
    created_at: datetime = field(default_factory=utcnow)
    last_pull_at: datetime | None = None


def hash_token(token: str) -> str:
    """What is stored of a bearer token. Tokens are 256 random bits, so a plain
    SHA-256 is enough: there is nothing to guess that a slow hash would protect."""
    return hashlib.sha256(token.encode()).hexdigest()


def _row_to_decision(row: Any) -> Decision:
    # Rows were validated on the way in: construct without validating again, which
    # keeps a start-up snapshot of millions of decisions to a few seconds.
    params = None
    if row.rpm is not None or row.tpm is not None:
        params = ThrottleParams.model_construct(
            requests_per_minute=row.rpm, tokens_per_minute=row.tpm
        )
    return Decision.model_construct(
        id=row.id,
        type=DecisionType(row.type),
        scope=Scope(row.scope),
        value=row.value,
        params=params,
        until=row.until,
        origin=Origin(row.origin),
        reason=row.reason,
        simulated=row.simulated,
        created_at=row.created_at,
    )


def _decision_to_row(d: Decision, seq: int) -> dict[str, Any]:
    return {
        "id": d.id,
        "seq": seq,
        "type": d.type.value,
        "scope": d.scope.value,
        "value": d.value,
        "rpm": d.params.requests_per_minute if d.params else None,
        "tpm": d.params.tokens_per_minute if d.params else None,
        "until": d.until,
        "expires": d.until or NEVER,
        "origin": d.origin.value,
        "reason": d.reason,
        "simulated": d.simulated,
        "created_at": d.created_at,
    }


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the settings the store relies on."""
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=StaticPool if memory else None,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


class DecisionStore:
    """Decisions, their change stream and the enforcers that read it.

    ``url`` is an SQLAlchemy URL (``sqlite:///decisions.db``,
    ``postgresql+psycopg://user@host/db``) or a ready engine. Tables are created
    on first use.
    """

    def __init__(self, url: str | Engine = "sqlite:///distillguard.db") -> None:
        try:
            self.engine = make_engine(url) if isinstance(url, str) else url
            metadata.create_all(self.engine)
            with self.engine.begin() as conn:  # on tables made before the index was
                conn.execute(CreateIndex(deleted_at_ix, if_not_exists=True))
            self._seed(sequence_t, {"id": 1, "value": 0})
            self._seed(purged_t, {"id": 1, "seq": 0, "time": EPOCH})
        except SQLAlchemyError as exc:
            raise StoreError(f"decision store unavailable: {_brief(exc)}") from exc

    def _seed(self, table: Table, row: dict[str, Any]) -> None:
        """Insert the single row of ``table`` unless it is there."""
        try:
            with self.engine.begin() as conn:
                if conn.execute(select(table.c.id)).first() is None:
                    conn.execute(table.insert().values(**row))
        except IntegrityError:
            pass  # another process inserted it first

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except IntegrityError as exc:
            raise ConflictError(f"decision store refused the change: {_brief(exc)}") from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"decision store failed: {_brief(exc)}") from exc

    @staticmethod
    def _take(conn: Connection, n: int) -> int:
        """Reserve ``n`` sequence numbers; returns the last. Holds the sequence
        row's lock until the transaction ends, which orders writers."""
        conn.execute(
            update(sequence_t).where(sequence_t.c.id == 1).values(value=sequence_t.c.value + n)
        )
        return int(
            conn.execute(select(sequence_t.c.value).where(sequence_t.c.id == 1)).scalar_one()
        )

    # -- decisions ------------------------------------------------------------------

    def add(self, decisions: Decision | Iterable[Decision], *, supersede: bool = False) -> int:
        """Store new decisions; returns how many. With ``supersede``, live decisions
        of the same scope, value and origin are deleted in the same transaction (a
        newer report replaces what an older one decided)."""
        batch = [decisions] if isinstance(decisions, Decision) else list(decisions)
        if not batch:
            return 0
        with self._tx() as conn:
            if supersede:
                self._supersede(conn, batch)
            last = self._take(conn, len(batch))
            first = last - len(batch) + 1
            rows = [_decision_to_row(d, first + i) for i, d in enumerate(batch)]
            for i in range(0, len(rows), 5000):
                conn.execute(decisions_t.insert(), rows[i : i + 5000])
        return len(batch)

    def _supersede(self, conn: Connection, batch: Sequence[Decision]) -> None:
        now = utcnow()
        old: list[str] = []
        keys = {(d.scope.value, d.origin.value, d.value) for d in batch}
        by_scope: dict[tuple[str, str], list[str]] = {}
        for scope, origin, value in keys:
            by_scope.setdefault((scope, origin), []).append(value)
        for (scope, origin), values in by_scope.items():
            for i in range(0, len(values), 500):
                q = select(decisions_t.c.id).where(
                    decisions_t.c.scope == scope,
                    decisions_t.c.origin == origin,
                    decisions_t.c.value.in_(values[i : i + 500]),
                    decisions_t.c.deleted_seq.is_(None),
                    decisions_t.c.expires > now,
                )
                old.extend(conn.execute(q).scalars())
        self._delete(conn, old, now)

    def delete(self, id_: str) -> bool:
        """Soft-delete one decision (stream consumers learn of it); False if it
        does not exist or was deleted already."""
        with self._tx() as conn:
            return self._delete(conn, [id_], utcnow()) == 1

    def _delete(self, conn: Connection, ids: Sequence[str], now: datetime) -> int:
        if not ids:
            return 0
        seq = self._take(conn, 1)
        done = 0
        for i in range(0, len(ids), 500):
            res = conn.execute(
                update(decisions_t)
                .where(decisions_t.c.id.in_(ids[i : i + 500]), decisions_t.c.deleted_seq.is_(None))
                .values(deleted_seq=seq, deleted_at=now)
            )
            done += res.rowcount
        return done

    def get(self, id_: str) -> Decision | None:
        """One decision by id, unless deleted."""
        q = select(decisions_t).where(decisions_t.c.id == id_, decisions_t.c.deleted_seq.is_(None))
        with self._tx() as conn:
            row = conn.execute(q).first()
        return None if row is None else _row_to_decision(row)

    def list(
        self,
        *,
        active_only: bool = True,
        scope: Scope | str | None = None,
        type: DecisionType | str | None = None,
        origin: Origin | str | None = None,
        value: str | None = None,
        limit: int | None = None,
        now: datetime | None = None,
    ) -> builtins.list[Decision]:
        """Decisions, newest first. ``active_only`` leaves out expired and deleted ones."""
        q = select(decisions_t).order_by(decisions_t.c.seq.desc())
        if active_only:
            q = q.where(
                decisions_t.c.deleted_seq.is_(None), decisions_t.c.expires > (now or utcnow())
            )
        if scope is not None:
            q = q.where(decisions_t.c.scope == Scope(scope).value)
        if type is not None:
            q = q.where(decisions_t.c.type == DecisionType(type).value)
        if origin is not None:
            q = q.where(decisions_t.c.origin == Origin(origin).value)
        if value is not None:
            q = q.where(decisions_t.c.value == value)
        if limit is not None:
            q = q.limit(limit)
        with self._tx() as conn:
            return [_row_to_decision(r) for r in conn.execute(q)]

    def active(self, now: datetime | None = None) -> builtins.list[Decision]:
        """Every decision in force at ``now``."""
        return self.changes(None, now).new

    def count(self) -> int:
        """Rows stored, expired and deleted ones included."""
        from sqlalchemy import func

        with self._tx() as conn:
            return int(conn.execute(select(func.count()).select_from(decisions_t)).scalar_one())

    def purge(self, older_than: timedelta, now: datetime | None = None) -> int:
        """Remove the rows deleted or expired more than ``older_than`` ago (never a
        live one); returns how many. Each transaction removes at most
        :data:`PURGE_BATCH` rows and raises the purge mark, so writers and pulls
        wait on no long lock, and a consumer whose cursor predates what was
        removed reloads a snapshot instead of missing a deletion."""
        if older_than <= timedelta(0):
            raise StoreError("purge needs a positive age")
        cutoff = (as_utc(now) if now is not None else utcnow()) - older_than
        done = 0
        for old in (decisions_t.c.deleted_at < cutoff, decisions_t.c.expires < cutoff):
            while (n := self._purge_batch(old, cutoff)) > 0:
                done += n
                if n < PURGE_BATCH:
                    break
        return done

    def _purge_batch(self, old: ColumnElement[bool], cutoff: datetime) -> int:
        c = decisions_t.c
        batch = select(c.id).where(old).limit(PURGE_BATCH)
        with self._tx() as conn:
            gone = conn.execute(
                decisions_t.delete().where(c.id.in_(batch)).returning(c.deleted_seq, c.expires)
            ).all()
            if gone:
                # A consumer learnt of an expiry once its cursor time passed it,
                # of any other removed row once its cursor passed the deletion.
                seq = max((r.deleted_seq for r in gone if r.expires >= cutoff), default=0)
                time = max((r.expires for r in gone if r.expires < cutoff), default=EPOCH)
                mark = conn.execute(select(purged_t).with_for_update()).one()
                conn.execute(
                    update(purged_t).values(seq=max(mark.seq, seq), time=max(mark.time, time))
                )
        return len(gone)

    # -- the change stream ----------------------------------------------------------

    def changes(self, since: Cursor | None, now: datetime | None = None) -> Delta:
        """What changed since ``since`` (everything in force, when ``None``)."""
        now = as_utc(now) if now is not None else utcnow()
        with self._tx() as conn:
            head = int(
                conn.execute(select(sequence_t.c.value).where(sequence_t.c.id == 1)).scalar_one()
            )
            # A cursor from another database (or a restored one) starts over.
            if since is None or since.seq > head:
                return self._snapshot(conn, head, now)
            new = self._live(conn, since.seq, head, now) if head > since.seq else []
            deleted = self._gone(conn, since, head, now)
            # Read last: a purge that removed rows from under the queries above
            # has committed by now, so its mark shows here.
            mark = conn.execute(select(purged_t.c.seq, purged_t.c.time)).one()
            if since.seq < mark.seq or since.time < mark.time:
                return self._snapshot(conn, head, now)
        return Delta(new, deleted, Cursor(head, max(now, since.time)))

    def _snapshot(self, conn: Connection, head: int, now: datetime) -> Delta:
        return Delta(self._live(conn, 0, head, now), [], Cursor(head, now), startup=True)

    @staticmethod
    def _alive_at(head: int) -> ColumnElement[bool]:
        d = decisions_t.c.deleted_seq
        return or_(d.is_(None), d > head)

    def _live(
        self, conn: Connection, after: int, head: int, now: datetime
    ) -> builtins.list[Decision]:
        c = decisions_t.c
        if after == 0:
            # A snapshot: scan the expiry index from now on. ``seq + 0`` keeps a
            # planner off the seq index, which would walk every expired row.
            q = select(decisions_t).where(c.expires > now, self._alive_at(head), c.seq + 0 <= head)
        else:
            q = select(decisions_t).where(
                c.seq > after, c.seq <= head, c.expires > now, self._alive_at(head)
            )
        return [_row_to_decision(r) for r in conn.execute(q)]

    def _gone(
        self, conn: Connection, since: Cursor, head: int, now: datetime
    ) -> builtins.list[str]:
        c = decisions_t.c
        ids: dict[str, None] = {}
        if head > since.seq:
            deleted = select(c.id).where(
                c.deleted_seq > since.seq,
                c.deleted_seq <= head,
                c.seq <= since.seq,
                c.expires > since.time,
            )
            ids.update(dict.fromkeys(conn.execute(deleted).scalars()))
        if now > since.time:
            expired = select(c.id).where(
                c.expires > since.time,
                c.expires <= now,
                c.seq <= since.seq,
                self._alive_at(since.seq),
            )
            ids.update(dict.fromkeys(conn.execute(expired).scalars()))
        return list(ids)

    # -- enforcers ------------------------------------------------------------------

    def add_enforcer(self, name: str, *, admin: bool = False) -> str:
        """Register an enforcer (or an admin client); returns its token, which is
        stored only as a hash and cannot be shown again."""
        name = name.strip()
        if not name:
            raise StoreError("an enforcer needs a name")
        token = "dg_" + secrets.token_urlsafe(32)
        row = {
            "name": name,
            "token_hash": hash_token(token),
            "admin": admin,
            "created_at": utcnow(),
        }
        with self._tx() as conn:
            if conn.execute(select(enforcers_t.c.name).where(enforcers_t.c.name == name)).first():
                raise StoreError(f"enforcer {name!r} exists already")
            conn.execute(enforcers_t.insert().values(**row))
        return token

    def delete_enforcer(self, name: str) -> bool:
        with self._tx() as conn:
            return (
                conn.execute(enforcers_t.delete().where(enforcers_t.c.name == name)).rowcount == 1
            )

    def enforcers(self) -> builtins.list[Enforcer]:
        with self._tx() as conn:
            rows = conn.execute(select(enforcers_t).order_by(enforcers_t.c.name)).all()
        return [Enforcer(r.name, r.admin, r.created_at, r.last_pull_at) for r in rows]

    def authenticate(self, token: str) -> Enforcer | None:
        """The enforcer a bearer token belongs to, or ``None``."""
        q = select(enforcers_t).where(enforcers_t.c.token_hash == hash_token(token))
        with self._tx() as conn:
            row = conn.execute(q).first()
        return (
            None if row is None else Enforcer(row.name, row.admin, row.created_at, row.last_pull_at)
        )

    def stream(
        self,
        enforcer: str,
        startup: bool = False,
        *,
        since: Cursor | None = None,
        now: datetime | None = None,
    ) -> Delta:
        """The stream as one enforcer sees it: the whole state on ``startup`` (or
        on its first pull), else the changes since its last pull (or since
        ``since``, the cursor it was last given). Its position is saved."""
        with self._tx() as conn:
            row = conn.execute(select(enforcers_t).where(enforcers_t.c.name == enforcer)).first()
        if row is None:
            raise StoreError(f"unknown enforcer {enforcer!r}")
        cursor = since
        if cursor is None and not startup and row.cursor_seq is not None:
            cursor = Cursor(row.cursor_seq, row.cursor_time)
        delta = self.changes(None if startup else cursor, now)
        with self._tx() as conn:
            conn.execute(
                update(enforcers_t)
                .where(enforcers_t.c.name == enforcer)
                .values(
                    cursor_seq=delta.cursor.seq,
                    cursor_time=delta.cursor.time,
                    last_pull_at=utcnow(),
                )
            )
        return delta


def _brief(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc).splitlines()[0]
