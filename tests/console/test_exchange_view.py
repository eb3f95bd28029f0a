"""The exchange page and campaign status on a configured exchange; an appeal
records a revocation request (``not-shared`` when nothing was published)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from distillguard.cli import app
from distillguard.console import ConsoleContext
from distillguard.console.exchange_view import ExchangeLink, indicator_state, revocations


def _link(tmp_path: Path, ctx: ConsoleContext) -> ExchangeLink:
    config = tmp_path / "exchange.yaml"
    r = CliRunner().invoke(
        app, ["exchange", "keys", "init", "--provider", "Provider B", "--config", str(config)]
    )
    assert r.exit_code == 0, r.output
    return ExchangeLink(config, ctx.engine)


def test_indicator_states() -> None:
    assert indicator_state(True, None, True, 10.0) == "revoked"
    assert indicator_state(False, 5.0, True, 10.0) == "expired"
    assert indicator_state(False, 50.0, True, 10.0) == "DISPUTED"
    assert indicator_state(False, None, False, 10.0) == "active"


def test_unpublished_campaign_and_revocation_request(
    tmp_path: Path, ctx: ConsoleContext, cases_doc: dict[str, Any]
) -> None:
    link = _link(tmp_path, ctx)
    assert link.peers() == [] and link.indicators() == []
    campaign = cases_doc["campaigns"][0]["campaign_id"]
    status = link.campaign_status(campaign)
    assert status["published"] is False and status["stix_id"].startswith("campaign--")
    ctx.review.revoker = link.request_revocation
    item = next(i for i in ctx.cases.reviews() if i["subject"] == campaign)
    user = ctx.users.get("ana")
    assert user is not None
    made = ctx.review.approve(int(item["id"]), user, "suspend")
    out = ctx.review.appeal(made[0].id, user, "upheld")
    assert out["revocation"]["state"] == "not-shared"
    (row,) = revocations(ctx.engine)
    assert (row["account_id"], row["campaign_id"], row["state"]) == (
        made[0].value,
        campaign,
        "not-shared",
    )
    assert ctx.audit.entries(action="exchange.revocation_request")
