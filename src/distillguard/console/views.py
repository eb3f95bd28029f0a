"""What each page shows, as plain data: the HTML pages render it, the JSON API
returns it, the exported report prints it. Prompt text is removed here for
roles that may not read it, so no page or endpoint can forget to."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from distillguard._exceptions import DistillGuardError
from distillguard._types import JSON, Action
from distillguard.console.redact import HIDDEN, redact, redact_evidence
from distillguard.decisions.model import Decision, Scope

if TYPE_CHECKING:
    from distillguard.console.app import ConsoleContext
    from distillguard.console.security import Principal

__all__ = ["account_view", "campaign_view", "overview"]

MAX_FINDINGS = 60


def _prompts_ok(ctx: ConsoleContext, who: Principal) -> bool:
    return ctx.settings.can_read_prompts(who.user.role)


def _texts(items: list[str], ok: bool) -> list[str]:
    return list(items) if ok else [redact(s) for s in items]


def _prompt(p: JSON, ok: bool) -> JSON:
    out = {k: p[k] for k in ("kind", "fingerprint", "n", "n_accounts", "first_seen", "last_seen")}
    if p["text"] is None:
        out["text"], out["text_state"] = None, "removed by retention"
    elif not ok:
        out["text"], out["text_state"] = None, HIDDEN
    else:
        out["text"], out["text_state"] = p["text"], "shown"
    return out


def _finding(f: JSON, ok: bool) -> JSON:
    return {
        "id": f["id"],
        "detector": f["detector"],
        "family": f["family"],
        "score": f["score"],
        "reason": f["reason"] if ok else redact(f["reason"]),
        "evidence": f["evidence"] if ok else redact_evidence(f["evidence"]),
        "link": f["link"],
        "n_accounts": f["n_accounts"],
    }


def _decision(d: Decision, live: bool) -> JSON:
    return {**d.to_json(), "live": live}


def _account_decisions(ctx: ConsoleContext) -> dict[str, list[Decision]]:
    out: dict[str, list[Decision]] = defaultdict(list)
    for d in ctx.decisions.list(scope=Scope.ACCOUNT, limit=100_000):
        out[d.value].append(d)
    return out


def overview(ctx: ConsoleContext) -> JSON:
    imp = ctx.cases.latest_import()
    live = ctx.decisions.list(limit=100_000)
    by_type = Counter(d.type.value for d in live if not d.simulated)
    by_origin = Counter(d.origin.value for d in live if not d.simulated)
    out: JSON = {
        "import": None,
        "decisions_by_type": dict(by_type),
        "decisions_by_origin": dict(by_origin),
        "queue": ctx.cases.queue_size(),
        "campaigns": [],
        "harm": [],
        "traffic": {},
    }
    if imp is None:
        return out
    iid = int(imp["id"])
    out["import"] = {
        "id": iid,
        "source": imp["source"],
        "imported_at": imp["imported_at"].isoformat(),
        "data_end": imp["data_end"].isoformat() if imp["data_end"] else None,
    }
    out["traffic"] = {**imp["summary"], "actions": ctx.cases.action_counts(iid)}
    open_campaigns = {r["campaign_key"]: r["state"] for r in ctx.cases.reviews(kind="campaign")}
    out["campaigns"] = [
        {
            "key": c["id"],
            "campaign_id": c["campaign_id"],
            "score": c["score"],
            "accounts": c["n_accounts"],
            "requests": c["requests"],
            "review": open_campaigns.get(c["id"], "settled"),
        }
        for c in ctx.cases.campaigns(iid)
    ]
    out["harm"] = _harm(ctx, iid, live)
    return out


def _harm(ctx: ConsoleContext, iid: int, live: list[Decision]) -> list[JSON]:
    """Per tier: accounts, the share the profile would act on, the share under
    an enforced decision now."""
    totals: Counter[str] = Counter()
    proposed: Counter[str] = Counter()
    for tier, action, n in ctx.cases.tiers(iid):
        totals[tier] += n
        if Action(action).enforced:
            proposed[tier] += n
    enforced_ids = sorted(
        {
            d.value
            for d in live
            if d.scope is Scope.ACCOUNT and not d.simulated and d.type.value != "review"
        }
    )
    enforced = ctx.cases.tiers_of(iid, enforced_ids)
    return [
        {
            "tier": t,
            "accounts": n,
            "proposed_share": round(proposed[t] / n, 4) if n else 0.0,
            "enforced_share": round(enforced[t] / n, 4) if n else 0.0,
        }
        for t, n in sorted(totals.items(), key=lambda kv: -kv[1])
    ]


def campaign_view(ctx: ConsoleContext, key: int, who: Principal) -> JSON | None:
    c = ctx.cases.campaign(key)
    if c is None:
        return None
    ok = _prompts_ok(ctx, who)
    iid = int(c["import_id"])
    members = ctx.cases.members(c)
    ids = [m["account_id"] for m in members]
    decisions = _account_decisions(ctx)
    prompts = ctx.cases.prompts(iid, campaign_key=key)
    return {
        "key": key,
        "import_id": iid,
        "campaign_id": c["campaign_id"],
        "score": c["score"],
        "coordination": c["coordination"],
        "harvest": c["harvest"],
        "families": c["families"],
        "requests": c["requests"],
        "first_seen": c["first_seen"].isoformat() if c["first_seen"] else None,
        "last_seen": c["last_seen"].isoformat() if c["last_seen"] else None,
        "signals": _texts(c["signals"], ok),
        "capability": c["capability"],
        "edges": c["edges"],
        "members": [
            {
                "account_id": m["account_id"],
                "score": m["score"],
                "action": m["action"],
                "tier": m["tier"],
                "requests": m["requests"],
                "decisions": [d.type.value for d in decisions.get(m["account_id"], [])],
            }
            for m in members
        ],
        "tiers": dict(Counter(str(m["tier"] or "unknown") for m in members)),
        "timeline": ctx.cases.timeline(iid, f"c:{key}"),
        "prompts": [_prompt(p, ok) for p in prompts if p["kind"] == "prompt"],
        "wrappers": [_prompt(p, ok) for p in prompts if p["kind"] == "wrapper"],
        "findings": [_finding(f, ok) for f in ctx.cases.findings(iid, ids, MAX_FINDINGS)],
        "decisions": [_decision(d, True) for a in ids for d in decisions.get(a, [])],
        "reviews": ctx.cases.reviews(
            ("pending", "escalated", "approved", "rejected", "reverted"), campaign_key=key
        ),
        "exchange": _exchange_status(ctx, c["campaign_id"]),
        "prompts_visible": ok,
    }


def _exchange_status(ctx: ConsoleContext, campaign_id: str) -> JSON | None:
    if ctx.exchange is None:
        return None
    try:
        return ctx.exchange.campaign_status(campaign_id)
    except (DistillGuardError, OSError, ValueError) as exc:
        return {"error": str(exc)}


def account_view(ctx: ConsoleContext, account_id: str, who: Principal) -> JSON | None:
    acc = ctx.cases.account(account_id)
    if acc is None:
        return None
    ok = _prompts_ok(ctx, who)
    iid = int(acc["import_id"])
    history = ctx.decisions.list(
        active_only=False, scope=Scope.ACCOUNT, value=account_id, limit=1000
    )
    live = {d.id for d in ctx.decisions.list(scope=Scope.ACCOUNT, value=account_id, limit=1000)}
    campaign_key = (
        ctx.cases.campaign_key(iid, acc["campaign_id"]) if acc.get("campaign_id") else None
    )
    return {
        "account_id": account_id,
        "import_id": iid,
        "score": acc["score"],
        "own_score": acc["own_score"],
        "action": acc["action"],
        "campaign_id": acc["campaign_id"],
        "campaign_key": campaign_key,
        "tier": acc["tier"],
        "requests": acc["requests"],
        "reasons": _texts(acc["reasons"], ok),
        "features": acc["features"],
        "findings": [_finding(f, ok) for f in ctx.cases.findings(iid, [account_id], MAX_FINDINGS)],
        "timeline": ctx.cases.timeline(iid, f"a:{account_id}"),
        "prompts": [_prompt(p, ok) for p in ctx.cases.prompts(iid, account_id=account_id)],
        "decisions": [_decision(d, d.id in live) for d in history],
        "reviews": ctx.cases.reviews(
            ("pending", "escalated", "approved", "rejected", "reverted"), subject=account_id
        ),
        "prompts_visible": ok,
    }


def jsonable(value: Any) -> Any:
    """Rows as plain JSON: datetimes as ISO text, and column-name keys (a
    ``str`` subclass in SQLAlchemy) as plain strings."""
    import orjson

    return orjson.loads(orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS))
