"""The store and its change stream, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event

from distillguard.decisions import Decision, StoreError, ThrottleParams
from distillguard.decisions.store import Cursor, DecisionStore

T0 = datetime(2030, 1, 1, 12, tzinfo=UTC)


def dec(value: str, *, until: datetime | None = None, **kw: object) -> Decision:
    fields: dict[str, object] = {"type": "block", "scope": "account", "origin": "analyst"}
    fields.update(kw)
    return Decision(value=value, until=until, created_at=T0, **fields)  # type: ignore[arg-type]


def test_round_trip_keeps_every_field(store: DecisionStore) -> None:
    d = dec(
        "acct_7",
        type="throttle",
        params=ThrottleParams(requests_per_minute=3, tokens_per_minute=900),
        until=T0 + timedelta(hours=1),
        origin="profile",
        reason="campaign cmp_1",
        simulated=True,
    )
    store.add(d)
    assert store.get(d.id) == d
    with pytest.raises(StoreError, match="refused"):
        store.add(d)


def test_list_filters_and_hides_expired_and_deleted(store: DecisionStore) -> None:
    live = dec("a", scope="account")
    cidr = dec("10.0.0.0/8", scope="cidr", type="degrade")
    old = dec("b", until=T0 - timedelta(minutes=1))
    gone = dec("c")
    store.add([live, cidr, old, gone])
    assert store.delete(gone.id)
    assert not store.delete(gone.id)
    assert not store.delete("nope")
    assert {d.id for d in store.list(now=T0)} == {live.id, cidr.id}
    assert [d.id for d in store.list(scope="cidr", now=T0)] == [cidr.id]
    assert [d.id for d in store.list(type="block", now=T0)] == [live.id]
    assert {d.id for d in store.list(active_only=False)} == {live.id, cidr.id, old.id, gone.id}
    assert store.get(gone.id) is None


def test_stream_startup_snapshot_then_deltas(store: DecisionStore) -> None:
    store.add_enforcer("edge-1")
    a, b = dec("a"), dec("b", until=T0 + timedelta(minutes=10))
    store.add([a, b, dec("old", until=T0 - timedelta(seconds=1))])

    first = store.stream("edge-1", startup=True, now=T0)
    assert first.startup
    assert {d.id for d in first.new} == {a.id, b.id}
    assert first.deleted == []

    quiet = store.stream("edge-1", now=T0 + timedelta(minutes=1))
    assert (quiet.new, quiet.deleted) == ([], [])

    c = dec("c")
    store.add(c)
    store.delete(a.id)
    delta = store.stream("edge-1", now=T0 + timedelta(minutes=2))
    assert [d.id for d in delta.new] == [c.id]
    assert delta.deleted == [a.id]


def test_expiry_arrives_as_deletion_exactly_once(store: DecisionStore) -> None:
    store.add_enforcer("edge-1")
    short = dec("short", until=T0 + timedelta(minutes=5))
    store.add(short)
    store.stream("edge-1", startup=True, now=T0)
    assert store.stream("edge-1", now=T0 + timedelta(minutes=4)).deleted == []
    assert store.stream("edge-1", now=T0 + timedelta(minutes=6)).deleted == [short.id]
    assert store.stream("edge-1", now=T0 + timedelta(minutes=7)).deleted == []
    # Deleting it after it expired tells nobody anything new.
    store.delete(short.id)
    assert store.stream("edge-1", now=T0 + timedelta(minutes=8)).deleted == []


def test_changes_unseen_by_the_consumer_are_not_sent(store: DecisionStore) -> None:
    start = store.changes(None, T0)
    born_and_gone = dec("x")
    expired_unseen = dec("y", until=T0 + timedelta(minutes=1))
    store.add([born_and_gone, expired_unseen])
    store.delete(born_and_gone.id)
    delta = store.changes(start.cursor, T0 + timedelta(minutes=2))
    assert (delta.new, delta.deleted) == ([], [])


def test_each_enforcer_has_its_own_cursor_and_a_given_cursor_wins(store: DecisionStore) -> None:
    for name in ("edge-1", "edge-2"):
        store.add_enforcer(name)
    first = store.stream("edge-1", startup=True, now=T0)
    store.stream("edge-2", startup=True, now=T0)
    a = dec("a")
    store.add(a)
    assert [d.id for d in store.stream("edge-1", now=T0).new] == [a.id]
    assert [d.id for d in store.stream("edge-2", now=T0).new] == [a.id]
    assert store.stream("edge-1", now=T0).new == []
    # A second worker sharing edge-1's token passes its own cursor back.
    again = store.stream("edge-1", since=first.cursor, now=T0)
    assert [d.id for d in again.new] == [a.id]


def test_first_pull_without_startup_is_a_snapshot(store: DecisionStore) -> None:
    store.add_enforcer("late")
    a = dec("a")
    store.add(a)
    delta = store.stream("late", now=T0)
    assert delta.startup and [d.id for d in delta.new] == [a.id]
    with pytest.raises(StoreError, match="unknown enforcer"):
        store.stream("ghost")


def test_cursor_from_the_future_restarts(store: DecisionStore) -> None:
    store.add(dec("a"))
    delta = store.changes(Cursor(10_000, T0), T0)
    assert delta.startup and len(delta.new) == 1


def test_supersede_replaces_same_subject_of_same_origin(store: DecisionStore) -> None:
    store.add_enforcer("e")
    store.stream("e", startup=True, now=T0)
    old = dec("acct", type="throttle", origin="profile")
    other_origin = dec("acct", type="review", origin="analyst")
    store.add([old, other_origin])
    store.stream("e", now=T0)
    new = dec("acct", type="suspend", origin="profile")
    store.add([new], supersede=True)
    delta = store.stream("e", now=T0)
    assert [d.id for d in delta.new] == [new.id]
    assert delta.deleted == [old.id]
    assert {d.id for d in store.list(now=T0)} == {new.id, other_origin.id}


def test_enforcer_tokens(store: DecisionStore) -> None:
    token = store.add_enforcer("edge-1")
    admin = store.add_enforcer("ops", admin=True)
    assert token != admin and len(token) > 40
    who = store.authenticate(token)
    assert who is not None and who.name == "edge-1" and not who.admin
    assert (a := store.authenticate(admin)) is not None and a.admin
    assert store.authenticate(token + "x") is None
    with pytest.raises(StoreError, match="exists already"):
        store.add_enforcer("edge-1")
    assert [e.name for e in store.enforcers()] == ["edge-1", "ops"]
    assert store.delete_enforcer("edge-1")
    assert store.authenticate(token) is None


def test_cursor_encoding() -> None:
    c = Cursor(42, datetime(2030, 1, 1, 0, 0, 0, 123456, tzinfo=UTC))
    assert Cursor.decode(c.encode()) == c
    for bad in ("", "x.1", "1", "1.-2"):
        with pytest.raises(ValueError, match="cursor"):
            Cursor.decode(bad)


def test_stream_queries_use_indexes_not_table_scans(tmp_path: Path) -> None:
    """Each query of a pull is a range scan of one index, so that millions of
    long-expired rows cost nothing (benchmarks/bench_check.py times it)."""
    store = DecisionStore(f"sqlite:///{tmp_path / 'plan.db'}")
    store.add([dec(f"old{i}", until=T0 - timedelta(days=1)) for i in range(50)])
    store.add(dec("live"))
    first = store.changes(None, T0)
    seen: list[tuple[str, object]] = []

    def capture(conn: object, cursor: object, statement: str, params: object, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "dg_decisions" in statement:
            seen.append((statement, params))

    event.listen(store.engine, "before_cursor_execute", capture)
    store.add(dec("new"))
    store.delete(store.list(now=T0)[0].id)
    store.changes(first.cursor, T0 + timedelta(days=1))
    store.changes(None, T0)
    event.remove(store.engine, "before_cursor_execute", capture)
    assert len(seen) >= 4
    with store.engine.connect() as conn:
        for statement, params in seen:
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()  # type: ignore[arg-type]
            details = " ".join(str(row[-1]) for row in plan)
            assert "USING INDEX" in details and "SCAN dg_decisions" not in details, (
                statement,
                details,
            )
    store.close()
