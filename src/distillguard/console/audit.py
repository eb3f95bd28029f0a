"""The audit log: who did what, when, why, with the state before and after.

Append-only by construction: this module offers ``append`` and reads, nothing
else, and the table refuses updates and deletes (see :mod:`.tables`). An
entry is written in the same transaction as the change it records, so there
is never a change without its entry.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, func, select

from distillguard.console.tables import audit_t
from distillguard.decisions.model import utcnow

__all__ = ["AuditEntry", "AuditLog", "append"]

EXPORT_FIELDS = ("id", "at", "actor", "action", "subject", "reason", "before", "after")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    reason: str
    before: Any
    after: Any

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "reason": self.reason,
            "before": self.before,
            "after": self.after,
        }


def append(
    conn: Connection,
    actor: str,
    action: str,
    subject: str,
    reason: str = "",
    *,
    before: Any = None,
    after: Any = None,
) -> int:
    """Record one change inside the caller's transaction; returns the entry id."""
    res = conn.execute(
        audit_t.insert().values(
            at=utcnow(),
            actor=actor,
            action=action,
            subject=subject,
            reason=reason,
            before=_plain(before),
            after=_plain(after),
        )
    )
    pk = res.inserted_primary_key
    assert pk is not None
    return int(pk[0])


def _plain(value: Any) -> Any:
    """JSON-safe ``value`` (datetimes as ISO text, numpy scalars as numbers)."""
    if value is None:
        return None
    return orjson.loads(orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY, default=str))


class AuditLog:
    """Reads of the audit log."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, actor: str, action: str, subject: str, reason: str = "", **kw: Any) -> int:
        """Record an event that changes nothing else (a login, an export)."""
        with self.engine.begin() as conn:
            return append(conn, actor, action, subject, reason, **kw)

    def entries(
        self,
        *,
        limit: int = 200,
        before_id: int | None = None,
        actor: str | None = None,
        action: str | None = None,
        subject: str | None = None,
    ) -> list[AuditEntry]:
        """Newest first."""
        q = select(audit_t).order_by(audit_t.c.id.desc()).limit(limit)
        if before_id is not None:
            q = q.where(audit_t.c.id < before_id)
        if actor:
            q = q.where(audit_t.c.actor == actor)
        if action:
            q = q.where(audit_t.c.action == action)
        if subject:
            q = q.where(audit_t.c.subject == subject)
        with self.engine.connect() as conn:
            return [AuditEntry(*r) for r in conn.execute(q)]

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(audit_t)).scalar_one())

    def _all(self) -> Iterator[AuditEntry]:
        with self.engine.connect() as conn:
            for r in conn.execute(select(audit_t).order_by(audit_t.c.id)):
                yield AuditEntry(*r)

    def jsonl(self) -> Iterator[bytes]:
        """The whole log, oldest first, one JSON object a line."""
        for e in self._all():
            yield orjson.dumps(e.to_json()) + b"\n"

    def csv(self) -> Iterator[str]:
        """The whole log as CSV; ``before`` and ``after`` as JSON text."""
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(EXPORT_FIELDS)
        for e in self._all():
            row = e.to_json()
            row["before"] = orjson.dumps(row["before"]).decode()
            row["after"] = orjson.dumps(row["after"]).decode()
            writer.writerow([row[f] for f in EXPORT_FIELDS])
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
        if buf.tell():
            yield buf.getvalue()
