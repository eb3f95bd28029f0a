"""Purging old decision rows, and the stream's answer to cursors the purge
left behind: a snapshot, which the stream client and the service reload."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from typer.testing import CliRunner

from distillguard.cli import app
from distillguard.decisions import Decision, DecisionMatcher, DecisionStreamClient, StoreError
from distillguard.decisions import store as store_module
from distillguard.decisions.api import ServiceSettings, create_decision_app
from distillguard.decisions.model import utcnow
from distillguard.decisions.store import DecisionStore

from ._server import serve

WEEK = timedelta(days=7)


def block(value: str, until: datetime | None = None) -> Decision:
    return Decision(type="block", scope="account", value=value, origin="analyst", until=until)


def values(decisions: list[Decision]) -> list[str]:
    return sorted(d.value for d in decisions)


def test_purge_removes_only_rows_deleted_or_expired_long_ago(
    store: DecisionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "PURGE_BATCH", 2)  # several batches per kind
    now = utcnow()
    live = [block("live"), block("until_next_month", now + timedelta(days=30))]
    lately = block("expired_lately", now - timedelta(days=2))
    long_ago = [block(f"expired_long_ago_{i}", now - timedelta(days=10)) for i in range(3)]
    deleted = [block(f"deleted_{i}") for i in range(3)]
    store.add([*live, lately, *long_ago, *deleted])
    for d in deleted:
        store.delete(d.id)

    assert store.purge(WEEK) == 3  # the deletions are too recent
    assert store.count() == 6
    assert store.purge(WEEK, now=now + timedelta(days=8)) == 4  # now they are not
    assert values(store.list(active_only=False)) == ["live", "until_next_month"]
    assert store.purge(WEEK, now=now + timedelta(days=8)) == 0
    with pytest.raises(StoreError, match="positive"):
        store.purge(timedelta(0))


def test_a_cursor_behind_the_purge_gets_a_snapshot(store: DecisionStore) -> None:
    t0 = utcnow()
    a, b, c, d = block("a"), block("b", t0 + timedelta(hours=12)), block("c"), block("d")
    store.add([a, b, c])
    for name in ("late", "current"):
        store.add_enforcer(name)
        store.stream(name, startup=True, now=t0)
    store.delete(a.id)
    store.add(d)
    caught_up = store.stream("current", now=t0 + timedelta(days=1))  # a deleted, b expired
    assert sorted(caught_up.deleted) == sorted([a.id, b.id])

    assert store.purge(WEEK, now=t0 + timedelta(days=8)) == 2  # a and b: their news is gone

    late = store.stream("late", now=t0 + timedelta(days=9))
    assert late.startup and values(late.new) == ["c", "d"]
    current = store.stream("current", now=t0 + timedelta(days=9))
    assert not current.startup and (current.new, current.deleted) == ([], [])
    e = block("e")
    store.add(e)
    after = store.stream("current", now=t0 + timedelta(days=9))
    assert not after.startup and [x.id for x in after.new] == [e.id]


def test_an_expiry_purged_before_the_cursor_saw_it_forces_a_snapshot(
    store: DecisionStore,
) -> None:
    t0 = utcnow()
    short, keep = block("short", t0 + timedelta(hours=1)), block("keep")
    store.add([short, keep])
    held = store.changes(None, t0).cursor  # holds short, never saw it expire
    assert store.purge(WEEK, now=t0 + timedelta(days=8)) == 1
    later = store.changes(held, t0 + timedelta(days=8))
    assert later.startup and values(later.new) == ["keep"]
    again = store.changes(later.cursor, t0 + timedelta(days=8))
    assert not again.startup


def test_the_stream_client_reloads_when_its_cursor_was_purged_past(store: DecisionStore) -> None:
    a, b = block("a"), block("b")
    store.add([a, b])
    late_token, current_token = store.add_enforcer("late"), store.add_enforcer("current")
    application = create_decision_app(store, ServiceSettings(refresh_interval=60))
    with (
        serve(application) as url,
        DecisionStreamClient(url, late_token) as late,
        DecisionStreamClient(url, current_token) as current,
    ):
        late_m, current_m = DecisionMatcher(), DecisionMatcher()
        assert late.pull(late_m) == 2 and current.pull(current_m) == 2
        store.delete(a.id)
        c = block("c")
        store.add(c)
        assert current.pull(current_m) == 2  # c new, a deleted

        assert store.purge(WEEK, now=utcnow() + timedelta(days=8)) == 1

        assert late.pull(late_m) == 2  # a snapshot of b and c, not a delta on top of a
        assert values(late_m.decisions()) == ["b", "c"]
        assert current.pull(current_m) == 0
        store.add(block("d"))
        assert current.pull(current_m) == 1
        assert values(current_m.decisions()) == ["b", "c", "d"]


def test_the_service_purges_when_configured(tmp_path: Path) -> None:
    store = DecisionStore(f"sqlite:///{tmp_path / 'd.db'}")
    gone, kept = block("gone"), block("kept")
    store.add([gone, kept])
    store.delete(gone.id)
    settings = ServiceSettings(
        refresh_interval=60, purge_after=timedelta(milliseconds=1), purge_interval=0.05
    )
    with TestClient(create_decision_app(store, settings)):
        deadline = time.monotonic() + 5
        while store.count() > 1 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert values(store.list(active_only=False)) == ["kept"]
    store.close()


def test_purge_command(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    store = DecisionStore(db)
    store.add([block("old", utcnow() - timedelta(days=10)), block("live")])
    runner = CliRunner()
    result = runner.invoke(app, ["decisions", "purge", "--older-than", "7d", "--db", db])
    assert result.exit_code == 0, result.output
    assert "purged 1 decisions" in result.output
    assert values(store.list(active_only=False)) == ["live"]
    bad = runner.invoke(app, ["decisions", "purge", "--older-than", "soon", "--db", db])
    assert bad.exit_code == 2 and "not a duration" in bad.output
    store.close()


def test_purge_finds_its_rows_through_indexes(tmp_path: Path) -> None:
    """A purge walks the index of the deletion or expiry time, never the table,
    so each batch costs the same however many rows are kept."""
    store = DecisionStore(f"sqlite:///{tmp_path / 'plan.db'}")
    now = utcnow()
    store.add([block(f"old{i}", now - timedelta(days=10)) for i in range(20)])
    store.add([block(f"live{i}") for i in range(20)])
    store.delete(store.list()[0].id)
    seen: list[tuple[str, object]] = []

    def capture(conn: object, cursor: object, statement: str, params: object, *_: object) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            seen.append((statement, params))

    event.listen(store.engine, "before_cursor_execute", capture)
    assert store.purge(WEEK, now=now + timedelta(days=8)) == 21
    event.remove(store.engine, "before_cursor_execute", capture)
    assert len(seen) >= 2
    with store.engine.connect() as conn:
        for statement, params in seen:
            query = statement.split("RETURNING")[0]
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + query, params).all()  # type: ignore[arg-type]
            details = " ".join(str(row[-1]) for row in plan)
            assert "SCAN dg_decisions" not in details, (statement, details)
    store.close()
