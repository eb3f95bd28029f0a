"""The publisher writes changes only, owns only its own decisions, and keeps
shadow decisions simulated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from distillguard._types import Action
from distillguard.decisions import Decision, DecisionType, Origin, Scope
from distillguard.decisions.store import DecisionStore
from distillguard.live import DecisionPublisher
from distillguard.scoring.fuse import AccountScore

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def store() -> DecisionStore:
    return DecisionStore("sqlite://")


def scores(*accounts: str) -> dict[str, AccountScore]:
    return {
        a: AccountScore(a, score=0.9, campaign_id="cmp_1", reasons=["shares a wrapper"])
        for a in accounts
    }


def test_new_decisions_then_nothing_when_unchanged(store: DecisionStore) -> None:
    pub = DecisionPublisher(store)
    actions = {"a": Action.SUSPEND, "b": Action.REVIEW, "c": Action.ALLOW}
    first = pub.publish(actions, scores("a", "b"), NOW)
    assert {(d.value, d.type) for d in first.new} == {
        ("a", DecisionType.SUSPEND),
        ("b", DecisionType.REVIEW),
    }
    held = store.list()
    assert all(d.origin is Origin.DETECTOR and not d.simulated for d in held)
    assert "score 0.90, campaign cmp_1" in held[0].reason
    cursor = store.changes(None).cursor
    rows = store.count()
    again = pub.publish(actions, scores("a", "b"), NOW + timedelta(minutes=1))
    assert again.changed == 0 and again.unchanged == 2
    assert store.count() == rows
    delta = store.changes(cursor)
    assert delta.new == [] and delta.deleted == []


def test_escalation_supersedes(store: DecisionStore) -> None:
    pub = DecisionPublisher(store)
    pub.publish({"a": Action.THROTTLE}, scores("a"), NOW)
    result = pub.publish({"a": Action.SUSPEND}, scores("a"), NOW)
    assert [d.type for d in result.escalated] == [DecisionType.SUSPEND]
    live = store.list(value="a")
    assert [d.type for d in live] == [DecisionType.SUSPEND]


def test_release_waits_for_repeated_runs(store: DecisionStore) -> None:
    pub = DecisionPublisher(store, release_after=3)
    pub.publish({"a": Action.SUSPEND}, scores("a"), NOW)
    for _ in range(2):
        assert pub.publish({"a": Action.ALLOW}, scores(), NOW).released == []
        assert len(store.list(value="a")) == 1
    # A run that warrants the action again resets the count.
    pub.publish({"a": Action.SUSPEND}, scores("a"), NOW)
    for _ in range(2):
        pub.publish({"a": Action.ALLOW}, scores(), NOW)
    assert pub.publish({"a": Action.ALLOW}, scores(), NOW).released == ["a"]
    assert store.list(value="a") == []


def test_downgrade_replaces_after_repeated_runs(store: DecisionStore) -> None:
    pub = DecisionPublisher(store, release_after=2)
    pub.publish({"a": Action.SUSPEND}, scores("a"), NOW)
    pub.publish({"a": Action.THROTTLE}, scores("a"), NOW)
    assert [d.type for d in store.list(value="a")] == [DecisionType.SUSPEND]
    pub.publish({"a": Action.THROTTLE}, scores("a"), NOW)
    assert [d.type for d in store.list(value="a")] == [DecisionType.THROTTLE]


def test_renewed_before_expiry(store: DecisionStore) -> None:
    pub = DecisionPublisher(store, ttl=timedelta(hours=2))
    pub.publish({"a": Action.DEGRADE}, scores("a"), NOW)
    assert (
        pub.publish({"a": Action.DEGRADE}, scores("a"), NOW + timedelta(minutes=50)).renewed == []
    )
    later = NOW + timedelta(minutes=70)
    result = pub.publish({"a": Action.DEGRADE}, scores("a"), later)
    assert len(result.renewed) == 1
    (live,) = store.list(value="a", now=later)
    assert live.until == later + timedelta(hours=2)


def test_analyst_decisions_are_never_touched(store: DecisionStore) -> None:
    analyst = Decision(
        type=DecisionType.SUSPEND,
        scope=Scope.ACCOUNT,
        value="a",
        origin=Origin.ANALYST,
        reason="manual",
    )
    store.add(analyst)
    pub = DecisionPublisher(store, release_after=1)
    pub.publish({"a": Action.THROTTLE}, scores("a"), NOW)
    pub.publish({"a": Action.SUSPEND}, scores("a"), NOW)  # escalation supersedes its own only
    pub.publish({"a": Action.ALLOW}, scores(), NOW)  # release deletes its own only
    live = store.list(value="a")
    assert [(d.id, d.origin) for d in live] == [(analyst.id, Origin.ANALYST)]


def test_shadow_mode_writes_simulated_decisions_only(store: DecisionStore) -> None:
    pub = DecisionPublisher(store, simulated=True)
    pub.publish({"a": Action.SUSPEND, "b": Action.THROTTLE}, scores("a", "b"), NOW)
    held = store.list()
    assert len(held) == 2 and all(d.simulated for d in held)
    assert pub.publish({"a": Action.SUSPEND, "b": Action.THROTTLE}, scores(), NOW).changed == 0


def test_refuses_to_own_analyst_decisions(store: DecisionStore) -> None:
    with pytest.raises(ValueError, match="analyst"):
        DecisionPublisher(store, origin=Origin.ANALYST)


def test_scope_is_account(store: DecisionStore) -> None:
    DecisionPublisher(store).publish({"a": Action.SUSPEND}, scores("a"), NOW)
    assert store.list()[0].scope is Scope.ACCOUNT
