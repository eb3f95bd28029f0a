"""Who is asking, and may they: sessions, API tokens, roles and CSRF.

* A **session** is a signed cookie (Starlette's ``SessionMiddleware``, with
  ``itsdangerous``) holding the user id, the user's session epoch and the
  login time. It expires ``session_max_age`` seconds after login: the
  signature stops verifying and the login time is checked here too. A
  password or role change bumps the epoch, which ends older sessions.
* An **API token** (``Authorization: Bearer dgc_…``) acts with its user's role.
* **CSRF**: a random token bound to the session. Every state-changing request
  made with the session cookie must carry it, as the ``csrf_token`` form
  field or the ``X-CSRF-Token`` header; requests with an API token need none
  (a browser never adds that header on its own).
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import HTTPException, Request

from distillguard.console.auth import User

if TYPE_CHECKING:
    from distillguard.console.app import ConsoleContext

__all__ = ["LoginRequired", "Principal", "csrf_token", "principal", "require"]

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):
    """A page needs a logged-in user: the app redirects to the login form."""


@dataclass(frozen=True, slots=True)
class Principal:
    user: User
    via: str  # "session" | "token"

    @property
    def name(self) -> str:
        return self.user.username


def ctx_of(request: Request) -> ConsoleContext:
    ctx: ConsoleContext = request.app.state.console
    return ctx


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def login(request: Request, user: User) -> None:
    """Start a fresh session for ``user`` (a new CSRF token too)."""
    request.session.clear()
    request.session.update(
        {
            "uid": user.id,
            "epoch": user.session_epoch,
            "at": int(time.time()),
            "csrf": secrets.token_urlsafe(32),
        }
    )


def principal(request: Request) -> Principal | None:
    """The user behind the request's token or session, if any and valid."""
    ctx = ctx_of(request)
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token:
        user = ctx.users.by_token(token.strip())
        return None if user is None else Principal(user, "token")
    session = request.session
    uid, epoch, at = session.get("uid"), session.get("epoch"), session.get("at")
    if not isinstance(uid, int) or not isinstance(at, int):
        return None
    if time.time() - at > ctx.settings.session_max_age:
        session.clear()
        return None
    user = ctx.users.by_id(uid)
    if user is None or user.disabled or user.session_epoch != epoch:
        session.clear()
        return None
    return Principal(user, "session")


async def _csrf_ok(request: Request) -> bool:
    expected = request.session.get("csrf")
    if not isinstance(expected, str) or not expected:
        return False
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    return sent is not None and hmac.compare_digest(sent.encode(), expected.encode())


async def check_csrf(request: Request) -> None:
    """Refuse a cookie-authenticated state change without the session's token."""
    if not await _csrf_ok(request):
        raise HTTPException(403, "missing or wrong CSRF token")


def require(
    role: str, *, page: bool = False, change: bool = False
) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the principal, at least ``role``; for ``change``
    (state-changing) requests made with the session, a valid CSRF token.
    Pages without a login redirect to the form; API calls get 401."""

    async def dependency(request: Request) -> Principal:
        who = principal(request)
        if who is None:
            if page and not change:
                raise LoginRequired()
            raise HTTPException(
                401, "login or an API token required", headers={"www-authenticate": "Bearer"}
            )
        if change and who.via == "session":
            await check_csrf(request)
        if not who.user.at_least(role):
            raise HTTPException(403, f"this needs the {role} role")
        return who

    return dependency
