"""Every route of the console, walked: a state change needs a valid session
(with its CSRF token) or API token, and the right role; a page needs a login.
Nothing changes when a request is refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from distillguard.console import ConsoleContext, create_console_app
from distillguard.decisions.model import Decision
from tests.console.conftest import PASSWORD

CHANGES = {"POST", "PUT", "PATCH", "DELETE"}
PUBLIC = {"/login"}
BODY = {"reason": "walk", "action": "reject", "type": "suspend"}


@pytest.fixture
def app_ctx(ctx: ConsoleContext) -> Iterator[tuple[TestClient, ConsoleContext]]:
    ctx.decisions.add(Decision(type="suspend", scope="account", value="acct_x", origin="analyst"))
    with TestClient(create_console_app(ctx.settings, context=ctx)) as client:
        yield client, ctx


def _all_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every API route, including those of included routers (which newer
    FastAPI keeps behind a wrapper holding ``original_router``)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _all_routes(route.original_router.routes)


def _routes(client: TestClient, methods: set[str]) -> list[tuple[str, str, APIRoute]]:
    app = client.app
    out = [
        (m, route.path, route)
        for route in _all_routes(app.routes)  # type: ignore[attr-defined]
        for m in sorted(route.methods & methods)
    ]
    # Nothing the schema documents is missed by the walk.
    documented = {
        (m.upper(), p)
        for p, ops in app.openapi()["paths"].items()  # type: ignore[attr-defined]
        for m in ops
    }
    walked = {(m, p) for m, p, _ in out}
    assert {(m, p) for m, p in documented if m in methods} <= walked
    return out


def _url(ctx: ConsoleContext, route: APIRoute) -> str:
    """The route's path with real ids: the first review item, campaign, decision."""
    item = ctx.cases.reviews()[0]
    decision = ctx.decisions.list(limit=1)[0]
    values = {
        "item_id": str(item["id"]),
        "key": str(item["campaign_key"] or 1),
        "decision_id": decision.id,
        "account_id": "acct_x",
    }
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], route.path)


def _send(client: TestClient, method: str, url: str, **kw: object) -> int:
    if url.startswith("/api/"):
        r = client.request(method, url, json=BODY, follow_redirects=False, **kw)  # type: ignore[arg-type]
    else:
        r = client.request(method, url, data=BODY, follow_redirects=False, **kw)  # type: ignore[arg-type]
    return r.status_code


def _state(ctx: ConsoleContext) -> tuple[int, int, int]:
    return ctx.audit.count(), len(ctx.decisions.list(limit=100_000)), len(ctx.cases.reviews())


def _login(client: TestClient, user: str) -> str:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    r = client.post(
        "/login",
        data={"username": user, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    meta = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text)
    assert meta is not None
    return meta.group(1)


def test_there_are_routes_to_walk(app_ctx: tuple[TestClient, ConsoleContext]) -> None:
    client, _ = app_ctx
    paths = {p for _, p, _ in _routes(client, CHANGES)}
    assert len(paths) >= 10  # login, logout, review x3, bulk, revert, their API twins


def test_changes_without_credentials_are_refused(
    app_ctx: tuple[TestClient, ConsoleContext],
) -> None:
    client, ctx = app_ctx
    before = _state(ctx)
    for method, path, route in _routes(client, CHANGES):
        url = _url(ctx, route)
        if path in PUBLIC:
            assert _send(client, method, url) == 403, path  # no CSRF token
            continue
        assert _send(client, method, url) in (401, 403), path
        bad = {"authorization": "Bearer dgc_not-a-token"}
        assert _send(client, method, url, headers=bad) == 401, path
    assert _state(ctx)[1:] == before[1:]
    assert ctx.audit.count() == before[0]


def test_changes_with_a_session_need_the_csrf_token(
    app_ctx: tuple[TestClient, ConsoleContext],
) -> None:
    client, ctx = app_ctx
    _login(client, "adm")
    before = _state(ctx)
    for method, _path, route in _routes(client, CHANGES):
        url = _url(ctx, route)
        assert _send(client, method, url) == 403, url
        wrong = {"x-csrf-token": "0" * 43}
        assert _send(client, method, url, headers=wrong) == 403, url
    assert _state(ctx) == before


def test_a_viewer_may_not_act(app_ctx: tuple[TestClient, ConsoleContext]) -> None:
    client, ctx = app_ctx
    csrf = _login(client, "vic")
    token = ctx.users.add_token("vic", "viewer-script")
    before = _state(ctx)
    for method, path, route in _routes(client, CHANGES):
        if path in PUBLIC or path == "/logout":
            continue
        url = _url(ctx, route)
        assert _send(client, method, url, headers={"x-csrf-token": csrf}) == 403, url
        client.cookies.clear()
        bearer = {"authorization": f"Bearer {token}"}
        assert _send(client, method, url, headers=bearer) == 403, url
        csrf = _login(client, "vic")
    assert _state(ctx)[1:] == before[1:]


def test_pages_need_a_login_and_the_api_a_token(
    app_ctx: tuple[TestClient, ConsoleContext],
) -> None:
    client, ctx = app_ctx
    for _, path, route in _routes(client, {"GET"}):
        if path in PUBLIC or path in ("/openapi.json",):
            continue
        r = client.get(_url(ctx, route), follow_redirects=False)
        if path.startswith("/api/"):
            assert r.status_code == 401, path
        else:
            assert r.status_code == 303, path
            assert "/login" in r.headers["location"]


def test_an_expired_or_outdated_session_ends(
    app_ctx: tuple[TestClient, ConsoleContext],
) -> None:
    client, ctx = app_ctx
    _login(client, "ana")
    assert client.get("/", follow_redirects=False).status_code == 200
    ctx.users.set_password("ana", PASSWORD + "!")  # bumps the session epoch
    assert client.get("/", follow_redirects=False).status_code == 303


def test_api_token_acts_without_csrf(app_ctx: tuple[TestClient, ConsoleContext]) -> None:
    client, ctx = app_ctx
    token = ctx.users.add_token("ana", "script")
    item = next(i for i in ctx.cases.reviews() if i["kind"] == "account")
    r = client.post(
        f"/api/v1/review/{item['id']}/escalate",
        json={"reason": "needs a second look"},
        headers={"authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text
    entry = ctx.audit.entries(limit=1)[0]
    assert (entry.actor, entry.action, entry.reason) == (
        "ana",
        "review.escalate",
        "needs a second look",
    )
