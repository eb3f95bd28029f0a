"""Review and appeal on SQLite and PostgreSQL: approvals reach the decision
stream, rejections become false-positive labels, escalated items wait for an
admin, appeals revert and the stream reports the deletion; every step is in
the append-only audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DatabaseError

from distillguard.console import ConsoleContext
from distillguard.console.review import Forbidden, Refused, allowlist_yaml, labels_csv
from distillguard.console.tables import audit_t


def _user(ctx: ConsoleContext, name: str):  # type: ignore[no-untyped-def]
    u = ctx.users.get(name)
    assert u is not None
    return u


def test_import_opens_one_item_per_campaign_and_acted_account(
    any_ctx: ConsoleContext, cases_doc: dict
) -> None:
    items = any_ctx.cases.reviews()
    campaigns = [i for i in items if i["kind"] == "campaign"]
    accounts = [i for i in items if i["kind"] == "account"]
    assert len(campaigns) == len(cases_doc["campaigns"])
    assert len(accounts) == sum(a["action"] != "allow" for a in cases_doc["accounts"])
    # A second import of the same scan refreshes open items instead of repeating them.
    assert any_ctx.cases.import_cases(cases_doc, "test").reviews_opened == 0


def test_campaign_approval_reaches_the_stream_and_settles_members(
    any_ctx: ConsoleContext,
) -> None:
    ctx = any_ctx
    start = ctx.decisions.changes(None)
    item = next(i for i in ctx.cases.reviews() if i["kind"] == "campaign")
    made = ctx.review.approve(int(item["id"]), _user(ctx, "ana"), "suspend", "confirmed")
    members = ctx.review._accounts(item)
    assert sorted(d.value for d in made) == members
    delta = ctx.decisions.changes(start.cursor)
    assert {d.id for d in delta.new} == {d.id for d in made}
    assert all(d.type.value == "suspend" and d.origin.value == "analyst" for d in delta.new)
    settled = ctx.cases.review(int(item["id"]))
    assert settled is not None and settled["state"] == "approved"
    open_members = [i for i in ctx.cases.reviews() if i["subject"] in members]
    assert open_members == []
    entry = ctx.audit.entries(limit=1)[0]
    assert (entry.actor, entry.action, entry.reason) == ("ana", "review.approve", "confirmed")
    assert entry.before["state"] == "pending" and entry.after["state"] == "approved"
    with pytest.raises(Refused):
        ctx.review.approve(int(item["id"]), _user(ctx, "ana"), "suspend")


def test_reject_labels_false_positives_and_needs_a_reason(any_ctx: ConsoleContext) -> None:
    ctx = any_ctx
    item = next(i for i in ctx.cases.reviews() if i["kind"] == "account")
    with pytest.raises(Refused):
        ctx.review.reject(int(item["id"]), _user(ctx, "ana"), "  ")
    assert ctx.review.reject(int(item["id"]), _user(ctx, "ana"), "benchmark vendor") == 1
    labels = ctx.review.labels()
    assert [(lab["account_id"], lab["source"]) for lab in labels] == [(item["subject"], "review")]
    assert f"{item['subject']},analyst_review,false,,true" in labels_csv(labels)
    assert item["subject"] in allowlist_yaml(labels)
    assert ctx.audit.entries(limit=1)[0].action == "review.reject"


def test_escalated_items_wait_for_an_admin(any_ctx: ConsoleContext) -> None:
    ctx = any_ctx
    item = next(i for i in ctx.cases.reviews() if i["kind"] == "account")
    ctx.review.escalate(int(item["id"]), _user(ctx, "ana"), "customer is a partner?")
    with pytest.raises(Forbidden):
        ctx.review.approve(int(item["id"]), _user(ctx, "ana"), "throttle")
    made = ctx.review.approve(int(item["id"]), _user(ctx, "adm"), "throttle")
    assert made[0].params is not None  # a throttle gets its default rates


def test_appeal_reverts_every_live_decision_on_the_subject(any_ctx: ConsoleContext) -> None:
    ctx = any_ctx
    calls: list[tuple[str, str | None, str]] = []
    ctx.review.revoker = lambda a, c, who: calls.append((a, c, who)) or ("not-shared", {})
    item = next(i for i in ctx.cases.reviews() if i["kind"] == "campaign")
    made = ctx.review.approve(int(item["id"]), _user(ctx, "ana"), "suspend")
    account = made[0].value
    from distillguard.decisions.model import Decision

    ctx.decisions.add(Decision(type="degrade", scope="account", value=account, origin="profile"))
    cursor = ctx.decisions.changes(None).cursor
    out = ctx.review.appeal(made[0].id, _user(ctx, "ana"), "customer proved legitimate use")
    assert len(out["deleted"]) == 2
    delta = ctx.decisions.changes(cursor)
    assert set(delta.deleted) == set(out["deleted"])
    assert ctx.decisions.list(value=account) == []
    assert calls == [(account, item["subject"], "ana")]
    assert ctx.cases.review(int(item["id"]))["state"] == "reverted"  # type: ignore[index]
    assert any(lab["source"] == "appeal" for lab in ctx.review.labels())
    entry = ctx.audit.entries(limit=1)[0]
    assert entry.action == "decision.revert"
    assert len(entry.before["decisions"]) == 2


def test_the_audit_log_is_append_only(any_ctx: ConsoleContext) -> None:
    ctx = any_ctx
    assert ctx.audit.count() >= 1
    for stmt in (update(audit_t).values(reason="edited"), delete(audit_t)):
        with pytest.raises(DatabaseError), ctx.engine.begin() as conn:
            conn.execute(stmt)
    if ctx.engine.dialect.name == "postgresql":
        with pytest.raises(DatabaseError), ctx.engine.begin() as conn:
            conn.execute(text("TRUNCATE cn_audit"))
    assert ctx.audit.entries()[-1].action == "cases.import"


def test_audit_exports(ctx: ConsoleContext) -> None:
    import csv
    import io

    import orjson

    ctx.audit.record("ana", "report.export", "campaign:x", "for legal")
    lines = [orjson.loads(x) for x in ctx.audit.jsonl()]
    rows = list(csv.DictReader(io.StringIO("".join(ctx.audit.csv()))))
    assert len(lines) == len(rows) == ctx.audit.count()
    assert rows[-1]["reason"] == lines[-1]["reason"] == "for legal"
