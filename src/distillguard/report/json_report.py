"""The scan report of ``EVENT_SCHEMA.md`` (``distillguard.report/1``)."""

from __future__ import annotations

from typing import Any

from distillguard._types import JSON
from distillguard.engine.detect import Detection
from distillguard.engine.state import iso
from distillguard.events import IngestSummary

SCHEMA = "distillguard.report/1"


def build_report(
    summary: IngestSummary,
    detection: Detection,
    *,
    first_action_at: dict[str, float] | None = None,
    detected_at: dict[str, float] | None = None,
    max_reasons: int = 5,
) -> JSON:
    """Every account seen, strongest first, and every campaign.

    ``first_action_at`` and ``detected_at`` come from ``replay``; a scan
    leaves ``first_action_at`` null and dates detection at the end of the
    data it saw.
    """
    scores = detection.scores
    accounts: list[dict[str, Any]] = []
    for acc in sorted(scores.accounts.values(), key=lambda a: (-a.score, a.account_id)):
        t = first_action_at.get(acc.account_id) if first_action_at else None
        accounts.append(
            {
                "account_id": acc.account_id,
                "score": round(acc.score, 4),
                "action": detection.actions[acc.account_id].value,
                "campaign_id": acc.campaign_id,
                "first_action_at": iso(t),
                "reasons": acc.reasons[:max_reasons],
            }
        )
    campaigns = [
        {
            "campaign_id": c.campaign_id,
            "score": c.score,
            "accounts": c.accounts,
            "requests": c.requests,
            "first_seen": iso(c.first_seen),
            "detected_at": iso(
                detected_at.get(c.campaign_id) if detected_at is not None else detection.now
            ),
            "signals": c.signals,
        }
        for c in scores.campaigns
    ]
    return {
        "schema": SCHEMA,
        "input": {
            "lines": summary.lines,
            "events": summary.accepted,
            "rejected": summary.rejected,
            "duplicates": summary.duplicates,
            "accounts": len(accounts),
        },
        "accounts": accounts,
        "campaigns": campaigns,
    }
