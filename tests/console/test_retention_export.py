"""Retention drops prompt text but keeps fingerprints, features and working
pages; the exported campaign report is self-contained; quotes of prompts are
hidden from roles that may not read them."""

from __future__ import annotations

import re
from datetime import timedelta

from distillguard.console import ConsoleContext, apply_retention, views
from distillguard.console.collect import parse_time
from distillguard.console.export import campaign_report
from distillguard.console.redact import HIDDEN, redact, redact_evidence
from distillguard.console.security import Principal


def _as(ctx: ConsoleContext, name: str) -> Principal:
    user = ctx.users.get(name)
    assert user is not None
    return Principal(user, "token")


def _top_key(ctx: ConsoleContext) -> int:
    imp = ctx.cases.latest_import()
    assert imp is not None
    return int(ctx.cases.campaigns(int(imp["id"]))[0]["id"])


def test_redaction_of_quotes_and_evidence() -> None:
    text = 'wrap prompts in one template: "Solve step by step: {…}'
    assert redact(text) == f'wrap prompts in one template: "{HIDDEN}"'
    assert redact("no quotes here") == "no quotes here"
    ev = redact_evidence({"template": "Solve…", "accounts": 3, "note": 'a "b" c'})
    assert ev == {"template": HIDDEN, "accounts": 3, "note": f'a "{HIDDEN}" c'}


def test_viewer_sees_no_prompt_text_anywhere(ctx: ConsoleContext) -> None:
    key = _top_key(ctx)
    analyst = views.campaign_view(ctx, key, _as(ctx, "ana"))
    viewer = views.campaign_view(ctx, key, _as(ctx, "vic"))
    assert analyst is not None and viewer is not None
    assert any(p["text"] for p in analyst["prompts"])
    assert all(p["text"] is None for p in viewer["prompts"] + viewer["wrappers"])
    page = str(views.jsonable(viewer))
    for p in analyst["prompts"] + analyst["wrappers"]:
        if p["text"] and len(p["text"]) >= 30:
            assert p["text"][:30] not in page


def test_retention_drops_text_and_pages_still_work(ctx: ConsoleContext, cases_doc: dict) -> None:
    key = _top_key(ctx)
    data_end = parse_time(cases_doc["data_end"])
    assert data_end is not None
    soon = apply_retention(ctx.engine, 30, now=data_end + timedelta(days=1))
    assert soon.prompts == 0 and soon.imports == 0  # recent enough
    later = data_end + timedelta(days=40)
    result = apply_retention(ctx.engine, 30, now=later)
    assert result.prompts > 0 and result.imports == 1
    c = views.campaign_view(ctx, key, _as(ctx, "ana"))
    assert c is not None
    assert c["prompts"] and all(p["text"] is None for p in c["prompts"])
    assert {p["text_state"] for p in c["prompts"]} == {"removed by retention"}
    assert all(re.fullmatch(r"[0-9a-f]{16}", p["fingerprint"]) for p in c["prompts"])
    assert c["members"] and c["findings"]  # scores, features and evidence stay
    quoted = [s for s in c["signals"] if '"' in s]
    assert quoted and all(HIDDEN in s for s in quoted)
    account = views.account_view(ctx, c["members"][0]["account_id"], _as(ctx, "ana"))
    assert account is not None and account["features"]
    # A second run finds nothing left; a new scan imports and shows its text.
    assert apply_retention(ctx.engine, 30, now=later).prompts == 0
    ctx.cases.import_cases(cases_doc, "test")
    fresh = views.campaign_view(ctx, _top_key(ctx), _as(ctx, "ana"))
    assert fresh is not None and any(p["text"] for p in fresh["prompts"])
    assert ctx.audit.entries(action="retention.run")


def test_campaign_report_is_self_contained(ctx: ConsoleContext) -> None:
    c = views.campaign_view(ctx, _top_key(ctx), _as(ctx, "vic"))
    assert c is not None
    page = campaign_report(c, "vic")
    assert page.startswith("<!doctype html>")
    assert "<script" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert c["campaign_id"] in page and "<svg" in page
    assert "fingerprints only" in page
