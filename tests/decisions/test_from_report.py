from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from distillguard._exceptions import IngestError
from distillguard.decisions import DecisionType, ThrottleParams
from distillguard.decisions.from_report import decisions_from_report

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def report(*accounts: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema": "distillguard.report/1",
        "input": {},
        "accounts": list(accounts),
        "campaigns": [],
    }


def test_actions_become_account_decisions() -> None:
    rep = report(
        {
            "account_id": "a",
            "score": 0.97,
            "action": "suspend",
            "campaign_id": "cmp_3",
            "reasons": ["shares prompts", "same card"],
        },
        {"account_id": "b", "score": 0.6, "action": "throttle", "campaign_id": None, "reasons": []},
        {"account_id": "c", "score": 0.5, "action": "degrade", "reasons": ["x"]},
        {"account_id": "d", "score": 0.3, "action": "review", "reasons": ["y"]},
        {"account_id": "e", "score": 0.01, "action": "allow", "reasons": []},
    )
    rpm = ThrottleParams(requests_per_minute=7)
    ds = decisions_from_report(rep, ttl=timedelta(hours=6), throttle=rpm, now=NOW)
    assert [(d.value, d.type) for d in ds] == [
        ("a", DecisionType.SUSPEND),
        ("b", DecisionType.THROTTLE),
        ("c", DecisionType.DEGRADE),
        ("d", DecisionType.REVIEW),
    ]
    assert all(d.scope == "account" and d.origin == "profile" for d in ds)
    assert all(d.until == NOW + timedelta(hours=6) and not d.simulated for d in ds)
    assert ds[0].reason == "score 0.97, campaign cmp_3: shares prompts; same card"
    assert ds[1].params == rpm and ds[1].reason == "score 0.60"
    shadow = decisions_from_report(rep, ttl=None, simulated=True, now=NOW)
    assert all(d.simulated and d.until is None for d in shadow)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"schema": "other"}, "not a scan report"),
        ({"schema": "distillguard.report/1"}, "no 'accounts'"),
        (report({"score": 1, "action": "suspend"}), "no account_id"),
        (report({"account_id": "a", "action": "obliterate"}), "unknown action"),
    ],
)
def test_malformed_reports_are_refused(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(IngestError, match=message):
        decisions_from_report(bad)
