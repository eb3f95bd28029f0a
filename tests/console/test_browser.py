"""End to end in a real headless Chromium (Debian's ``chromium``, driven by
Playwright; no browser is downloaded): an analyst logs in, opens the top
campaign of a scanned simulated day, approves its suspension and the
decision service streams it; rejects a false positive and finds it in the
audit log; a viewer sees no prompt text and cannot act. Screenshots of the
main pages go to ``test-artifacts/console/``."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from distillguard.console import ConsoleContext, create_console_app
from distillguard.decisions.api import create_decision_app
from tests.console.conftest import ARTIFACTS, PASSWORD
from tests.decisions._server import serve

CHROMIUM = os.environ.get("DISTILLGUARD_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is required in CI and missing at {CHROMIUM}")
        pytest.skip(f"Chromium not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def servers(ctx: ConsoleContext) -> Iterator[tuple[str, str]]:
    """The console and the decision service over one database."""
    console = create_console_app(ctx.settings, context=ctx)
    decisions = create_decision_app(ctx.decisions)
    with serve(console) as c_url, serve(decisions) as d_url:
        yield c_url, d_url


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _login(browser: Any, url: str, user: str) -> Any:
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.goto(url + "/")
    assert "/login" in page.url
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")
    return page


def test_analyst_and_viewer_in_a_real_browser(
    browser: Any, servers: tuple[str, str], ctx: ConsoleContext, cases_doc: dict[str, Any]
) -> None:
    console_url, decisions_url = servers
    token = ctx.decisions.add_enforcer("gateway-1")
    bearer = {"authorization": f"Bearer {token}"}
    first = httpx.get(f"{decisions_url}/v1/decisions/stream", headers=bearer, timeout=10).json()
    assert first["new"] == []

    page = _login(browser, console_url, "ana")
    page.wait_for_selector("canvas[data-drawn='1']")  # the vendored Chart.js drew
    _shot(page, "overview")

    # The top campaign: the overview lists campaigns strongest first.
    top = min(cases_doc["campaigns"], key=lambda c: (-c["score"], c["campaign_id"]))
    link = page.locator("#campaigns a.campaign-link").first
    assert link.inner_text() == top["campaign_id"]
    link.click()
    page.wait_for_selector("#campaign-id")
    assert page.inner_text("#campaign-id") == top["campaign_id"]
    assert page.locator("svg.graph circle").count() == len(top["accounts"])
    assert page.locator("pre.prompt").count() > 0  # analysts read prompts
    _shot(page, "campaign")

    page.on("dialog", lambda d: d.accept())
    page.select_option("#bulk-approve select[name=type]", "suspend")
    page.fill("#bulk-approve input[name=reason]", "coordinated harvesting, confirmed")
    page.click("#bulk-approve button[type=submit]")
    page.wait_for_selector(".flash")
    assert "approved" in page.inner_text(".flash")
    assert page.locator("#members td", has_text="suspend").count() == len(top["accounts"])

    delta = httpx.get(f"{decisions_url}/v1/decisions/stream", headers=bearer, timeout=10).json()
    suspended = {d["value"] for d in delta["new"] if d["type"] == "suspend"}
    assert suspended == set(top["accounts"])
    assert {d["origin"] for d in delta["new"]} == {"analyst"}

    page.goto(console_url + "/accounts/" + top["accounts"][0])
    _shot(page, "account")

    # Reject a false positive from the queue; the audit log shows it.
    page.goto(console_url + "/review")
    row = page.locator("#queue tr[data-kind='account']", has=page.locator("form.reject")).first
    subject = row.get_attribute("data-subject")
    _shot(page, "review")
    row.locator("form.reject input[name=reason]").fill("known evaluation partner")
    row.locator("form.reject button").click()
    page.wait_for_selector(".flash")
    assert "false positive" in page.inner_text(".flash")
    page.goto(console_url + "/audit")
    entry = page.locator("#audit tr[data-action='review.reject']").first
    assert "known evaluation partner" in entry.inner_text()
    assert "ana" in entry.inner_text()
    _shot(page, "audit")
    labels = page.request.get(console_url + "/labels/export?format=csv").text()
    assert f"{subject},analyst_review,false" in labels

    page.goto(console_url + "/exchange")
    _shot(page, "exchange")
    page.goto(console_url + "/decisions")
    _shot(page, "decisions")

    # A viewer: no prompt text, no action, and a forged post is refused.
    viewer = _login(browser, console_url, "vic")
    campaign_url = console_url + link_path(ctx, top["campaign_id"])
    viewer.goto(campaign_url)
    assert viewer.locator("#prompts-hidden").is_visible()
    assert viewer.locator("pre.prompt").count() == 0
    assert viewer.locator("#bulk-approve").count() == 0
    body = viewer.inner_text("body")
    for p in top["prompts"][:5]:
        if p["text"] and len(p["text"]) > 20:
            assert p["text"][:20] not in body
    _shot(viewer, "campaign-viewer")
    csrf = viewer.get_attribute("meta[name=csrf-token]", "content")
    forged = viewer.request.post(
        campaign_url + "/bulk",
        form={"csrf_token": csrf, "action": "reject", "reason": "viewer tries"},
        max_redirects=0,
    )
    assert forged.status == 403
    assert not any(e.actor == "vic" and e.action.startswith("review") for e in ctx.audit.entries())


def link_path(ctx: ConsoleContext, campaign_id: str) -> str:
    imp = ctx.cases.latest_import()
    assert imp is not None
    key = ctx.cases.campaign_key(int(imp["id"]), campaign_id)
    return f"/campaigns/{key}"
