"""From detection to decisions: a scan report's account actions as decisions.

Every account the report gives an action other than ``allow`` becomes one
account-scoped decision of origin ``profile``, with the score, the campaign and
the report's reasons as its reason. Decisions expire after ``ttl``: detection
runs again before then, and a new report supersedes the old one's decisions.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from distillguard._exceptions import IngestError
from distillguard.decisions.model import (
    DECISION_OF_ACTION,
    DEFAULT_THROTTLE,
    Decision,
    DecisionType,
    Origin,
    Scope,
    ThrottleParams,
    utcnow,
)

__all__ = ["REPORT_SCHEMA", "decisions_from_report"]

REPORT_SCHEMA = "distillguard.report/1"


def decisions_from_report(
    report: dict[str, Any],
    *,
    ttl: timedelta | None = timedelta(hours=24),
    simulated: bool = False,
    throttle: ThrottleParams = DEFAULT_THROTTLE,
    now: datetime | None = None,
) -> list[Decision]:
    """The decisions a scan report (``distillguard.report/1``) stands for."""
    if not isinstance(report, dict) or report.get("schema") != REPORT_SCHEMA:
        raise IngestError(f"not a scan report: expected schema {REPORT_SCHEMA!r}")
    accounts = report.get("accounts")
    if not isinstance(accounts, list):
        raise IngestError("scan report has no 'accounts' list")
    now = now or utcnow()
    until = now + ttl if ttl is not None else None
    out: list[Decision] = []
    for i, acc in enumerate(accounts):
        if not isinstance(acc, dict) or not acc.get("account_id"):
            raise IngestError(f"scan report account #{i} has no account_id")
        action = str(acc.get("action", "allow"))
        if action == "allow":
            continue
        if action not in DECISION_OF_ACTION:
            raise IngestError(
                f"scan report account {acc['account_id']!r}: unknown action {action!r}"
            )
        kind = DECISION_OF_ACTION[action]
        out.append(
            Decision(
                type=kind,
                scope=Scope.ACCOUNT,
                value=str(acc["account_id"]),
                params=throttle if kind is DecisionType.THROTTLE else None,
                until=until,
                origin=Origin.PROFILE,
                reason=_reason(acc),
                simulated=simulated,
                created_at=now,
            )
        )
    return out


def _reason(acc: dict[str, Any]) -> str:
    head = f"score {float(acc.get('score') or 0):.2f}"
    if acc.get("campaign_id"):
        head += f", campaign {acc['campaign_id']}"
    reasons = [str(r) for r in acc.get("reasons") or ()]
    text = head + (": " + "; ".join(reasons) if reasons else "")
    return text if len(text) <= 2000 else text[:1997] + "..."
