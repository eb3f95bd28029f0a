"""What analysts do: approve, reject, escalate, appeal.

* **approve** applies a review item's decision (the proposed type, or the one
  the analyst chose) to its account, or to every member of its campaign, as
  analyst decisions in the decision store: enforcers see them in the stream.
* **reject** closes the item and records each account as a false positive
  (exportable as labels and as a profile allowlist).
* **escalate** hands the item to an admin: only admins decide escalated items.
* **appeal** reverts a decision and every other live decision on the same
  subject, so the customer is restored everywhere enforcers look; the
  accounts become false-positive labels, and a revocation is requested for
  what was shared about them with peers.

Each action writes its audit entry (before and after) in the transaction that
changes the review items. Decisions are written first; if the review
transaction then fails, they are deleted again, so no enforced decision is
left without its audit entry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from distillguard._types import JSON
from distillguard.console import audit
from distillguard.console.auth import User
from distillguard.console.cases import OPEN_STATES, CaseStore
from distillguard.console.tables import accounts_t, labels_t, reviews_t
from distillguard.decisions.model import Decision, DecisionType, Origin, Scope, utcnow
from distillguard.decisions.store import DecisionStore

__all__ = ["Forbidden", "NotFound", "Refused", "ReviewService"]

#: Revocation hook: (account id, campaign id or None, actor) -> (state, detail).
Revoker = Callable[[str, str | None, str], tuple[str, JSON]]


class Refused(Exception):
    """The action does not apply (wrong state, missing reason, ...)."""


class NotFound(Refused):
    """No such review item or decision."""


class Forbidden(Refused):
    """The user's role may not do this."""


def _need_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise Refused("a reason is required")
    if len(reason) > 2000:
        raise Refused("a reason has at most 2000 characters")
    return reason


def _item_json(item: JSON) -> JSON:
    keep = ("id", "kind", "subject", "state", "proposed", "decided_by", "reason", "decision_ids")
    return {k: item.get(k) for k in keep}


class ReviewService:
    """Review and appeal actions over the case store and the decision store."""

    def __init__(
        self,
        engine: Engine,
        decisions: DecisionStore,
        *,
        decision_ttl: timedelta | None = None,
        revoker: Revoker | None = None,
    ) -> None:
        self.engine = engine
        self.cases = CaseStore(engine)
        self.decisions = decisions
        self.decision_ttl = decision_ttl
        self.revoker = revoker

    def _open_item(self, item_id: int, user: User) -> JSON:
        item = self.cases.review(item_id)
        if item is None:
            raise NotFound(f"no review item {item_id}")
        if item["state"] not in OPEN_STATES:
            raise Refused(f"review item {item_id} is {item['state']} already")
        if item["state"] == "escalated" and not user.at_least("admin"):
            raise Forbidden("only an admin decides an escalated item")
        return item

    def _accounts(self, item: JSON) -> list[str]:
        if item["kind"] == "account":
            return [str(item["subject"])]
        q = select(accounts_t.c.account_id).where(
            accounts_t.c.import_id == item["import_id"],
            accounts_t.c.campaign_id == item["subject"],
        )
        with self.engine.connect() as conn:
            return sorted(str(a) for (a,) in conn.execute(q))

    # -- approve ------------------------------------------------------------------

    def approve(
        self, item_id: int, user: User, decision_type: str | None = None, reason: str = ""
    ) -> list[Decision]:
        """Apply the item's decision; returns the decisions made."""
        item = self._open_item(item_id, user)
        kind = decision_type or item["proposed"]
        if not kind:
            raise Refused("this item proposes no decision: choose a type")
        try:
            dtype = DecisionType(kind)
        except ValueError as exc:
            raise Refused(f"unknown decision type {kind!r}") from exc
        reason = reason.strip()[:1500]
        now = utcnow()
        until = now + self.decision_ttl if self.decision_ttl else None
        label = f"review #{item_id} ({item['kind']} {item['subject']}) approved by {user.username}"
        made = [
            Decision(
                type=dtype,
                scope=Scope.ACCOUNT,
                value=a,
                until=until,
                origin=Origin.ANALYST,
                reason=f"{label}: {reason}" if reason else label,
                created_at=now,
            )
            for a in self._accounts(item)
        ]
        if not made:
            raise Refused("the item has no accounts to decide on")
        self.decisions.add(made)
        try:
            with self.engine.begin() as conn:
                ids = [d.id for d in made]
                after = self._close(conn, item, "approved", user, reason, ids)
                self._close_members(conn, item, "approved", user, reason, made)
                audit.append(
                    conn,
                    user.username,
                    "review.approve",
                    f"review:{item_id}",
                    reason,
                    before=_item_json(item),
                    after={**after, "decisions": [d.to_json() for d in made]},
                )
        except Exception:
            for d in made:
                self.decisions.delete(d.id)
            raise
        return made

    def _close(
        self, conn: Connection, item: JSON, state: str, user: User, reason: str, ids: list[str]
    ) -> JSON:
        values = {
            "state": state,
            "decided_by": user.username,
            "decided_at": utcnow(),
            "reason": reason,
            "decision_ids": ids,
        }
        res = conn.execute(
            update(reviews_t)
            .where(reviews_t.c.id == item["id"], reviews_t.c.state == item["state"])
            .values(**values)
        )
        if res.rowcount != 1:
            raise Refused(f"review item {item['id']} changed meanwhile; reload and retry")
        return _item_json({**item, **values})

    def _close_members(
        self,
        conn: Connection,
        item: JSON,
        state: str,
        user: User,
        reason: str,
        made: Sequence[Decision] = (),
    ) -> None:
        """A campaign decision settles its members' own open items too."""
        if item["kind"] != "campaign":
            return
        by_account = {d.value: d.id for d in made}
        members = self._accounts(item)
        rows = conn.execute(
            select(reviews_t.c.id, reviews_t.c.subject).where(
                reviews_t.c.kind == "account",
                reviews_t.c.subject.in_(members),
                reviews_t.c.state.in_(OPEN_STATES),
            )
        ).all()
        for rid, subject in rows:
            conn.execute(
                update(reviews_t)
                .where(reviews_t.c.id == rid)
                .values(
                    state=state,
                    decided_by=user.username,
                    decided_at=utcnow(),
                    reason=f"with campaign review #{item['id']}: {reason}".strip(": "),
                    decision_ids=[by_account[subject]] if subject in by_account else [],
                )
            )

    # -- reject / escalate ---------------------------------------------------------

    def reject(self, item_id: int, user: User, reason: str) -> int:
        """Close the item as a false positive; returns the accounts labelled."""
        reason = _need_reason(reason)
        item = self._open_item(item_id, user)
        accounts = self._accounts(item)
        campaign = item["subject"] if item["kind"] == "campaign" else None
        with self.engine.begin() as conn:
            after = self._close(conn, item, "rejected", user, reason, [])
            self._close_members(conn, item, "rejected", user, reason)
            self._label(conn, accounts, campaign, "review", reason, user)
            audit.append(
                conn,
                user.username,
                "review.reject",
                f"review:{item_id}",
                reason,
                before=_item_json(item),
                after={**after, "false_positive_labels": accounts},
            )
        return len(accounts)

    def escalate(self, item_id: int, user: User, reason: str) -> None:
        reason = _need_reason(reason)
        item = self._open_item(item_id, user)
        if item["state"] == "escalated":
            raise Refused(f"review item {item_id} is escalated already")
        with self.engine.begin() as conn:
            res = conn.execute(
                update(reviews_t)
                .where(reviews_t.c.id == item_id, reviews_t.c.state == "pending")
                .values(state="escalated", reason=reason)
            )
            if res.rowcount != 1:
                raise Refused(f"review item {item_id} changed meanwhile; reload and retry")
            audit.append(
                conn,
                user.username,
                "review.escalate",
                f"review:{item_id}",
                reason,
                before=_item_json(item),
                after=_item_json({**item, "state": "escalated", "reason": reason}),
            )

    def bulk(
        self, campaign_key: int, user: User, verb: str, decision_type: str | None, reason: str
    ) -> int:
        """Approve or reject a campaign's own review item (which settles its
        members' items); returns the accounts affected."""
        items = self.cases.reviews(OPEN_STATES, kind="campaign", campaign_key=campaign_key)
        if not items:
            raise NotFound("this campaign has no open review item")
        if verb == "approve":
            return len(self.approve(int(items[0]["id"]), user, decision_type, reason))
        if verb == "reject":
            return self.reject(int(items[0]["id"]), user, reason)
        raise Refused(f"unknown bulk action {verb!r}")

    def _label(
        self,
        conn: Connection,
        accounts: Sequence[str],
        campaign: str | None,
        source: str,
        reason: str,
        user: User,
    ) -> None:
        now = utcnow()
        rows = [
            {
                "account_id": a,
                "campaign_id": campaign,
                "source": source,
                "reason": reason,
                "actor": user.username,
                "at": now,
            }
            for a in accounts
        ]
        if rows:
            conn.execute(labels_t.insert(), rows)

    # -- appeals --------------------------------------------------------------------

    def appeal(self, decision_id: str, user: User, reason: str) -> JSON:
        """Revert a decision and every other live decision on its subject."""
        reason = _need_reason(reason)
        target = self.decisions.get(decision_id)
        if target is None:
            raise NotFound(f"no live decision {decision_id}")
        same = self.decisions.list(scope=target.scope, value=target.value, limit=10_000)
        gone = [d for d in same if self.decisions.delete(d.id)]
        if not any(d.id == decision_id for d in gone) and self.decisions.delete(decision_id):
            gone.append(target)
        account = target.value if target.scope is Scope.ACCOUNT else None
        campaign = self._campaign_of(account) if account else None
        revocation: JSON | None = None
        if account and self.revoker is not None:
            state, detail = self.revoker(account, campaign, user.username)
            revocation = {"state": state, **detail}
        with self.engine.begin() as conn:
            reverted = self._mark_reverted(conn, [d.id for d in gone])
            if account:
                self._label(conn, [account], campaign, "appeal", reason, user)
            audit.append(
                conn,
                user.username,
                "decision.revert",
                f"{target.scope.value}:{target.value}",
                reason,
                before={"decisions": [d.to_json() for d in gone]},
                after={
                    "deleted": [d.id for d in gone],
                    "reviews_reverted": reverted,
                    "revocation": revocation,
                },
            )
        return {"deleted": [d.id for d in gone], "revocation": revocation}

    def _campaign_of(self, account: str) -> str | None:
        acc = self.cases.account(account)
        return None if acc is None else acc.get("campaign_id")

    def _mark_reverted(self, conn: Connection, ids: Sequence[str]) -> list[int]:
        wanted = set(ids)
        rows = conn.execute(
            select(reviews_t.c.id, reviews_t.c.decision_ids).where(reviews_t.c.state == "approved")
        ).all()
        hit = [int(rid) for rid, dids in rows if wanted & set(dids or [])]
        if hit:
            conn.execute(update(reviews_t).where(reviews_t.c.id.in_(hit)).values(state="reverted"))
        return hit

    # -- labels ---------------------------------------------------------------------

    def labels(self) -> list[JSON]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(labels_t).order_by(labels_t.c.id)).all()
        return [dict(r._mapping) for r in rows]


def labels_csv(labels: Sequence[JSON]) -> str:
    """False positives in the label schema of the evaluation tools
    (``account_id,population,malicious,campaign,hard_negative``)."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["account_id", "population", "malicious", "campaign", "hard_negative"])
    seen: set[str] = set()
    for lab in labels:
        if lab["account_id"] in seen:
            continue
        seen.add(lab["account_id"])
        w.writerow([lab["account_id"], f"analyst_{lab['source']}", "false", "", "true"])
    return buf.getvalue()


def allowlist_yaml(labels: Sequence[JSON]) -> str:
    """The false positives as a profile ``allowlist`` fragment."""
    import yaml

    accounts = sorted({str(lab["account_id"]) for lab in labels})
    doc: dict[str, Any] = {"allowlist": {"accounts": accounts}}
    return yaml.safe_dump(doc, sort_keys=False)
