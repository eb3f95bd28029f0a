"""The console as an ASGI app.

    app = create_console_app(ConsoleSettings(db_url="sqlite:///distillguard.db"))
    uvicorn.run(app, port=8090)

Pages are server-rendered (Jinja2, autoescaped) with a little vanilla
JavaScript and a vendored Chart.js; the JSON API under ``/api/v1`` serves the
same data to scripts holding an API token. Mount it under another app with
``Mount("/console", app)``: every link is built with ``url_for``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.middleware.sessions import SessionMiddleware

from distillguard.console.audit import AuditLog
from distillguard.console.auth import Users
from distillguard.console.cases import CaseStore
from distillguard.console.exchange_view import ExchangeLink
from distillguard.console.retention import apply_retention
from distillguard.console.review import ReviewService
from distillguard.console.security import LoginRequired
from distillguard.console.settings import ConsoleSettings
from distillguard.console.tables import metadata
from distillguard.decisions.store import DecisionStore, make_engine

__all__ = ["ConsoleContext", "create_console_app", "open_context"]

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


@dataclass(slots=True)
class ConsoleContext:
    """Everything a request handler needs."""

    settings: ConsoleSettings
    engine: Engine
    decisions: DecisionStore
    users: Users
    cases: CaseStore
    audit: AuditLog
    review: ReviewService
    exchange: ExchangeLink | None


def open_context(settings: ConsoleSettings, engine: Engine | None = None) -> ConsoleContext:
    """Open the database (creating missing tables) and the services on it;
    ``engine``, when given, is used instead of ``settings.db_url``."""
    engine = engine or make_engine(settings.db_url)
    decisions = DecisionStore(engine)
    metadata.create_all(engine)
    exchange = ExchangeLink(settings.exchange_config, engine) if settings.exchange_config else None
    ttl = timedelta(days=settings.decision_ttl_days) if settings.decision_ttl_days else None
    return ConsoleContext(
        settings=settings,
        engine=engine,
        decisions=decisions,
        users=Users(engine),
        cases=CaseStore(engine),
        audit=AuditLog(engine),
        review=ReviewService(
            engine,
            decisions,
            decision_ttl=ttl,
            revoker=exchange.request_revocation if exchange else None,
        ),
        exchange=exchange,
    )


def create_console_app(
    settings: ConsoleSettings, *, context: ConsoleContext | None = None
) -> FastAPI:
    """The console app; ``context`` lets a caller share an open database."""
    from distillguard.console import api, pages

    ctx = context or open_context(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.prompt_retention_days is not None:
            result = apply_retention(ctx.engine, settings.prompt_retention_days)
            log.info("retention: %d prompt texts dropped", result.prompts)
        yield

    app = FastAPI(
        title="DistillGuard analyst console",
        version="1",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.console = ctx
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="dg_console",
        max_age=settings.session_max_age,
        same_site="strict",
        https_only=settings.cookie_secure,
    )

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        return response

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, _exc: LoginRequired) -> Response:
        target = request.url_for("login_form").include_query_params(next=request.url.path)
        return RedirectResponse(str(target), status_code=303)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)
    return app
