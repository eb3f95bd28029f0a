"""``/v1/check``: the decision endpoint for gateways that already exist.

Envoy's ``ext_authz`` filter (HTTP mode) and nginx's ``auth_request`` both send
the decision service a copy of the client request's headers and act on the
status of the answer: 2xx lets the request through, anything else stops it.
Envoy appends the original path to its ``path_prefix``, so every path under
``/v1/check/`` is a check too.

The answer is ``200`` with ``x-distillguard-*`` headers (action, decision,
throttle rates) for allowed requests, ``403`` with a short JSON body for
suspended or blocked ones, and ``429`` when a throttled subject is over its
request rate (``?over_limit=403`` for nginx, which cannot pass a 429 through
``auth_request``).

The check is served as a plain ASGI handler in front of the FastAPI app: it is
one in-memory lookup, and skipping the framework's routing and validation is
most of its cost.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any, Protocol
from urllib.parse import parse_qs

import orjson
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter
from pydantic import BaseModel, ConfigDict, Field

from distillguard.decisions.matcher import DecisionMatcher, RequestContext, Verdict
from distillguard.decisions.metrics import ServiceMetrics
from distillguard.decisions.model import DecisionType
from distillguard.decisions.policy import ip_key

__all__ = ["AccountInfo", "CheckHandler", "CheckSettings", "KeyOwner", "client_ip"]

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CHECK_PATH = "/v1/check"


class KeyOwner(BaseModel):
    """Who an API key belongs to (looked up by the SHA-256 of the key)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: str
    api_key_id: str | None = None


class AccountInfo(BaseModel):
    """What the service knows of an account for jurisdiction and ownership policies."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    declared_country: str | None = None
    parent_entity: str | None = None


class CheckSettings(BaseModel):
    """How ``/v1/check`` reads a request. Header names are case-insensitive.

    The account, key, entity and country headers must be set by the proxy from
    its own authentication (and stripped from what the client sent), never
    passed through from the client.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_header: str = "x-distillguard-account"
    api_key_header: str = "x-distillguard-api-key"
    entity_header: str = "x-distillguard-entity"
    declared_country_header: str = "x-distillguard-declared-country"
    #: Proxies in front of the service that append to X-Forwarded-For.
    trusted_proxies: int = Field(default=1, ge=0)
    #: SHA-256 (hex) of an API key → its owner, to read ``Authorization: Bearer``.
    api_keys: dict[str, KeyOwner] = Field(default_factory=dict)
    accounts: dict[str, AccountInfo] = Field(default_factory=dict)
    #: Count requests of throttled subjects and refuse those over their rate.
    count_throttle: bool = True
    over_limit_status: int = Field(default=429, ge=400, le=499)


def client_ip(headers: Mapping[str, str], peer: str | None, trusted_proxies: int) -> str | None:
    """The client's address: the entry of ``X-Forwarded-For`` added by the
    outermost trusted proxy, else ``X-Real-IP``, else the peer. Entries a client
    wrote itself (left of the trusted ones) are never believed."""
    xff = headers.get("x-forwarded-for")
    if xff and trusted_proxies > 0:
        hops = [h.strip() for h in xff.split(",") if h.strip()]
        if hops:
            ip = ip_key(hops[-min(trusted_proxies, len(hops))])
            if ip is not None:
                return ip
    real = headers.get("x-real-ip")
    if real and (ip := ip_key(real)) is not None:
        return ip
    return ip_key(peer) if peer else None


class Readiness(Protocol):
    @property
    def ready(self) -> bool: ...


class _Always:
    ready = True


class CheckHandler:
    """Answers one check from the matcher; counts throttled subjects. Until
    ``readiness`` is ready (the index holds the start-up snapshot) checks are
    answered ``503``: the proxy's own failure mode decides what happens then."""

    def __init__(
        self,
        matcher: DecisionMatcher,
        settings: CheckSettings,
        metrics: ServiceMetrics,
        readiness: Readiness | None = None,
    ) -> None:
        self.matcher = matcher
        self.readiness: Readiness = readiness or _Always()
        self.settings = settings
        self.metrics = metrics
        self._limiter = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._h = {
            "account": settings.account_header.lower(),
            "key": settings.api_key_header.lower(),
            "entity": settings.entity_header.lower(),
            "declared": settings.declared_country_header.lower(),
        }

    def context(self, headers: Mapping[str, str], peer: str | None) -> RequestContext:
        """What the request tells about its sender."""
        s, h = self.settings, self._h
        account, key_id = headers.get(h["account"]), headers.get(h["key"])
        auth = headers.get("authorization", "")
        if s.api_keys and auth[:7].lower() == "bearer ":
            owner = s.api_keys.get(hashlib.sha256(auth[7:].strip().encode()).hexdigest())
            if owner is not None:
                account = account or owner.account_id
                key_id = key_id or owner.api_key_id
        info = s.accounts.get(account) if account else None
        return RequestContext(
            account_id=account or None,
            api_key=key_id or None,
            ip=client_ip(headers, peer, s.trusted_proxies),
            entity=headers.get(h["entity"]) or (info.parent_entity if info else None),
            declared_country=headers.get(h["declared"])
            or (info.declared_country if info else None),
        )

    def decide(
        self, ctx: RequestContext, over_limit_status: int
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Status, headers and body of the answer for ``ctx``."""
        verdict = self.matcher.check(ctx)
        action = verdict.action.value if verdict.action is not None else "allow"
        headers = [(b"x-distillguard-action", action.encode())]
        if verdict.decision is not None:
            headers.append((b"x-distillguard-decision", verdict.decision.id.encode()))
        if verdict.allowlisted:
            headers.append((b"x-distillguard-allowlisted", b"true"))
        shadow = [d for d in verdict.matched if d.simulated]
        if shadow:
            self._shadow(ctx, shadow)
            strongest = max(shadow, key=lambda d: d.type.rank)
            headers.append((b"x-distillguard-shadow", strongest.type.value.encode()))
        self.metrics.verdicts.labels(action).inc()
        if not verdict.allowed:
            return 403, headers, _deny_body(verdict, action)
        if verdict.throttle is not None:
            rpm, tpm = verdict.throttle.requests_per_minute, verdict.throttle.tokens_per_minute
            if rpm is not None:
                headers.append((b"x-distillguard-throttle-rpm", str(rpm).encode()))
            if tpm is not None:
                headers.append((b"x-distillguard-throttle-tpm", str(tpm).encode()))
            if rpm is not None and self.settings.count_throttle and not self._hit(ctx, rpm):
                headers.append((b"retry-after", b"60"))
                return over_limit_status, headers, _deny_body(verdict, "throttle")
        return 200, headers, b""

    def _hit(self, ctx: RequestContext, rpm: int) -> bool:
        subject = f"account:{ctx.account_id}" if ctx.account_id else f"ip:{ctx.ip}"
        return self._limiter.hit(RateLimitItemPerMinute(rpm), "dg-check", subject)

    def _shadow(self, ctx: RequestContext, shadow: list[Any]) -> None:
        for d in shadow:
            self.metrics.shadow.labels(d.type.value).inc()
        log.info(
            "shadow decisions matched account=%s ip=%s decisions=%s",
            ctx.account_id,
            ctx.ip,
            ",".join(f"{d.id}:{d.type.value}" for d in shadow),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        t0 = time.perf_counter()
        if not self.readiness.ready:
            await _respond(send, 503, [(b"retry-after", b"1")], _NOT_READY)
            self.metrics.requests.labels("check", "503").inc()
            return
        headers: dict[str, str] = {}
        for k, v in scope["headers"]:
            name, value = k.decode("latin-1"), v.decode("latin-1")
            # Repeated headers (two X-Forwarded-For lines) read as one list.
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        client = scope.get("client")
        ctx = self.context(headers, client[0] if client else None)
        over_limit = self.settings.over_limit_status
        if scope.get("query_string"):
            asked = parse_qs(scope["query_string"].decode("latin-1")).get("over_limit")
            if asked and asked[0] in ("403", "429"):
                over_limit = int(asked[0])
        status, out, body = self.decide(ctx, over_limit)
        await _respond(send, status, out, body)
        self.metrics.latency.observe(time.perf_counter() - t0)
        self.metrics.requests.labels("check", str(status)).inc()


_NOT_READY = orjson.dumps({"error": {"type": "unavailable", "message": "decisions not loaded"}})


async def _respond(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    if body:
        headers.append((b"content-type", b"application/json"))
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _deny_body(verdict: Verdict, action: str) -> bytes:
    # The customer sees what happened and a reference for support, not the
    # detection's reasons: those would teach an operator what to change.
    message = {
        DecisionType.BLOCK.value: "access from this client is blocked",
        DecisionType.SUSPEND.value: "this account is suspended",
        DecisionType.THROTTLE.value: "rate limit exceeded",
    }.get(action, "request refused")
    body: dict[str, Any] = {"error": {"type": action, "message": message}}
    if verdict.decision is not None:
        body["error"]["decision"] = verdict.decision.id
    return orjson.dumps(body)


class CheckMiddleware:
    """Serves ``/v1/check`` (and every path under it) before the framework's
    routing; counts the other requests by endpoint."""

    def __init__(self, app: ASGIApp, handler: CheckHandler) -> None:
        self.app = app
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == CHECK_PATH or path.startswith(CHECK_PATH + "/"):
            await self.handler(scope, receive, send)
            return
        status = 500

        async def counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counted)
        finally:
            self.handler.metrics.requests.labels(_endpoint(path), str(status)).inc()


def _endpoint(path: str) -> str:
    if path == "/v1/decisions/stream":
        return "stream"
    if path.startswith("/v1/decisions"):
        return "decisions"
    if path in ("/healthz", "/readyz", "/metrics"):
        return path[1:]
    return "other"
