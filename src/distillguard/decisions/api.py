"""The decision service: the stream for enforcers, decision management for
admins, ``/v1/check`` for existing gateways, metrics and health.

    app = create_decision_app(DecisionStore("sqlite:///decisions.db"))
    uvicorn.run(app, port=8081)

``/v1/check`` answers from an in-memory :class:`DecisionMatcher` that a
background task keeps in step with the store's change feed (every
``refresh_interval`` seconds, and at once after a write through this API), so a
check never waits on the database. The index keeps serving its last state when
the database is away; ``/readyz`` turns ready once the start-up snapshot is in.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from distillguard.decisions._errors import ConflictError, StoreError
from distillguard.decisions.check import CheckHandler, CheckMiddleware, CheckSettings
from distillguard.decisions.matcher import DecisionMatcher
from distillguard.decisions.metrics import ServiceMetrics
from distillguard.decisions.model import Decision, DecisionType, Origin, Scope
from distillguard.decisions.policy import PolicyConfig
from distillguard.decisions.store import Cursor, DecisionStore, Enforcer

__all__ = ["DecisionService", "ServiceSettings", "create_decision_app"]

log = logging.getLogger(__name__)


class ServiceSettings(BaseModel):
    """Settings of the decision service."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    check: CheckSettings = Field(default_factory=CheckSettings)
    #: Seconds between pulls of the store's change feed into the index.
    refresh_interval: float = Field(default=1.0, gt=0)
    #: Seconds to wait for the start-up snapshot before serving without it.
    startup_timeout: float = Field(default=120.0, gt=0)
    #: Remove decisions deleted or expired longer ago than this (``P7D``, or
    #: seconds) every ``purge_interval`` seconds; unset, rows are kept for ever.
    purge_after: timedelta | None = Field(default=None, gt=timedelta(0))
    purge_interval: float = Field(default=3600.0, gt=0)


class DecisionService:
    """The store, the index that mirrors it, and the task that keeps them in step."""

    def __init__(
        self,
        store: DecisionStore,
        settings: ServiceSettings,
        policy: PolicyConfig | None = None,
    ) -> None:
        policy = policy or PolicyConfig()
        self.store = store
        self.settings = settings
        self.metrics = ServiceMetrics()
        self.matcher = DecisionMatcher(allowlist=policy.allowlist, policies=policy.policies)
        self.check = CheckHandler(self.matcher, settings.check, self.metrics, self)
        self._cursor: Cursor | None = None
        self._lock = asyncio.Lock()

    @property
    def ready(self) -> bool:
        """Whether the start-up snapshot is loaded."""
        return self._cursor is not None

    async def refresh(self) -> int:
        """Pull the store's changes into the index; returns how many."""
        async with self._lock:
            delta = await run_in_threadpool(self.store.changes, self._cursor)
            if delta.startup:
                await run_in_threadpool(self.matcher.replace, delta.new)
                # Millions of long-lived decisions would make every full garbage
                # collection a pause of a sizeable fraction of a second: move what
                # is alive now out of the collector's sight.
                gc.collect()
                gc.freeze()
            elif len(delta.new) + len(delta.deleted) > 1000:
                await run_in_threadpool(self.matcher.apply, delta.new, delta.deleted)
            else:
                self.matcher.apply(delta.new, delta.deleted)
            self._cursor = delta.cursor
            self.metrics.loaded.set(len(self.matcher))
            return len(delta.new) + len(delta.deleted)

    async def run(self) -> None:
        """Refresh forever; failures are counted and logged, the index keeps its state."""
        while True:
            try:
                await self.refresh()
            except StoreError as exc:
                self.metrics.refresh_errors.inc()
                log.warning("decision refresh failed: %s", exc)
            await asyncio.sleep(self.settings.refresh_interval)

    async def purge(self, older_than: timedelta) -> None:
        """Purge the store every ``purge_interval`` seconds; failures are logged
        and tried again next time."""
        while True:
            try:
                removed = await run_in_threadpool(self.store.purge, older_than)
                log.info("purged %d old decisions", removed)
            except StoreError as exc:
                log.warning("decision purge failed: %s", exc)
            await asyncio.sleep(self.settings.purge_interval)


_bearer = HTTPBearer(auto_error=False)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _service(request: Request) -> DecisionService:
    service: DecisionService = request.app.state.service
    return service


Service = Annotated[DecisionService, Depends(_service)]


def _enforcer(service: Service, creds: Credentials) -> Enforcer:
    if creds is None:
        raise HTTPException(401, "missing bearer token", headers={"www-authenticate": "Bearer"})
    who = service.store.authenticate(creds.credentials)
    if who is None:
        raise HTTPException(401, "unknown token", headers={"www-authenticate": "Bearer"})
    return who


def _admin(who: Annotated[Enforcer, Depends(_enforcer)]) -> Enforcer:
    if not who.admin:
        raise HTTPException(403, "this token may read the stream, not manage decisions")
    return who


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def _store_call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except ConflictError as exc:
        raise HTTPException(409, str(exc)) from exc
    except StoreError as exc:
        raise HTTPException(503, str(exc)) from exc


def create_decision_app(
    store: DecisionStore,
    settings: ServiceSettings | None = None,
    *,
    policy: PolicyConfig | None = None,
) -> FastAPI:
    """The decision service as an ASGI app (its state in ``app.state.service``)."""
    service = DecisionService(store, settings or ServiceSettings(), policy)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Load the snapshot before accepting requests; if the store is away,
        # start anyway and answer checks with 503 until it comes back.
        try:
            await asyncio.wait_for(service.refresh(), timeout=service.settings.startup_timeout)
        except (StoreError, TimeoutError) as exc:
            service.metrics.refresh_errors.inc()
            log.warning("decision snapshot not loaded at start-up: %s", exc or "timed out")
        tasks = [asyncio.create_task(service.run(), name="decision-refresh")]
        if service.settings.purge_after is not None:
            purge = service.purge(service.settings.purge_after)
            tasks.append(asyncio.create_task(purge, name="decision-purge"))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = FastAPI(title="DistillGuard decision service", lifespan=lifespan)
    app.state.service = service
    app.add_middleware(CheckMiddleware, handler=service.check)

    @app.get("/v1/decisions/stream")
    def stream(
        who: Annotated[Enforcer, Depends(_enforcer)],
        service: Service,
        startup: bool = False,
        since: str | None = None,
    ) -> Response:
        """Every active decision (``startup=true`` or first pull), else
        ``{new, deleted}`` since this enforcer's last pull; expiry is a deletion."""
        try:
            cursor = Cursor.decode(since) if since else None
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc
        delta = _store_call(service.store.stream, who.name, startup, since=cursor)
        return _json(delta.to_json())

    @app.get("/v1/decisions")
    def list_decisions(
        _who: Annotated[Enforcer, Depends(_admin)],
        service: Service,
        scope: Scope | None = None,
        type: DecisionType | None = None,
        origin: Origin | None = None,
        value: str | None = None,
        all: bool = False,
        limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    ) -> Response:
        """Decisions, newest first; ``all=true`` includes expired and deleted ones."""
        found = _store_call(
            service.store.list,
            active_only=not all,
            scope=scope,
            type=type,
            origin=origin,
            value=value,
            limit=limit,
        )
        return _json({"decisions": [d.to_json() for d in found]})

    @app.get("/v1/decisions/{decision_id}")
    def get_decision(
        decision_id: str, _who: Annotated[Enforcer, Depends(_admin)], service: Service
    ) -> Response:
        found = _store_call(service.store.get, decision_id)
        if found is None:
            raise HTTPException(404, "no such decision")
        return _json(found.to_json())

    @app.post("/v1/decisions", status_code=201)
    async def add_decisions(
        body: Decision | list[Decision],
        _who: Annotated[Enforcer, Depends(_admin)],
        service: Service,
    ) -> Response:
        """Store one decision or a list of them; they apply at once."""
        batch = body if isinstance(body, list) else [body]
        await run_in_threadpool(_store_call, service.store.add, batch)
        await _refresh_now(service)
        return _json({"decisions": [d.to_json() for d in batch]}, 201)

    @app.delete("/v1/decisions/{decision_id}", status_code=204)
    async def delete_decision(
        decision_id: str, _who: Annotated[Enforcer, Depends(_admin)], service: Service
    ) -> Response:
        if not await run_in_threadpool(_store_call, service.store.delete, decision_id):
            raise HTTPException(404, "no such decision")
        await _refresh_now(service)
        return Response(status_code=204)

    @app.get("/healthz")
    def healthz() -> Response:
        return _json({"status": "ok"})

    @app.get("/readyz")
    def readyz(service: Service) -> Response:
        if not service.ready:
            return _json({"status": "loading"}, 503)
        return _json({"status": "ready", "decisions": len(service.matcher)})

    @app.get("/metrics")
    def metrics(service: Service) -> Response:
        return Response(service.metrics.render(), media_type="text/plain; version=0.0.4")

    return app


async def _refresh_now(service: DecisionService) -> None:
    try:
        await service.refresh()
    except StoreError as exc:  # the background task will catch up
        service.metrics.refresh_errors.inc()
        log.warning("decision refresh after a write failed: %s", exc)
