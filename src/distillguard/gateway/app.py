"""The gateway: an OpenAI-compatible reverse proxy that enforces decisions.

Per request, in order: who is it (API key → account), is the decision source
fresh enough (else fail open or closed), what do decisions say (403 for
suspend/block), read the body, rate limits (429 with ``Retry-After``; tokens
reserved up front), forward to the upstream, pass the answer back (streamed
chunks as they come, reasoning removed when degraded), then settle the token
reservation, hand the traffic event to the sink (spool or JetStream) and
count the metrics.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

import aiohttp
import orjson

from distillguard.decisions import (
    DecisionMatcher,
    DecisionType,
    RequestContext,
    ThrottleParams,
    Verdict,
)
from distillguard.gateway import errors
from distillguard.gateway._asgi import (
    Receive,
    Scope,
    Send,
    drain,
    header,
    read_body,
    respond,
    respond_json,
    start,
)
from distillguard.gateway.config import GatewayConfig
from distillguard.gateway.keys import KeyMap, Principal
from distillguard.gateway.metrics import GatewayMetrics
from distillguard.gateway.ratelimit import AccountLimiter, LimiterUnavailable, Refused, Reservation
from distillguard.gateway.reasoning import strip_response
from distillguard.gateway.sink import TrafficSink, open_sink
from distillguard.gateway.source import DecisionSource
from distillguard.gateway.spool import SpoolWriter
from distillguard.gateway.sse import StreamRelay
from distillguard.gateway.traffic import ENDPOINTS, Exchange, conversation, max_tokens, parse_usage
from distillguard.gateway.upstream import Upstream, UpstreamError, response_headers

log = logging.getLogger(__name__)

_HOP = frozenset(
    b"host connection keep-alive proxy-authenticate proxy-authorization te trailer "
    b"transfer-encoding upgrade content-length authorization accept-encoding".split()
)


class Gateway:
    """The ASGI app. Built from a config; the matcher, key map, limiter, spool
    and upstream transport can be given to share or replace them."""

    def __init__(
        self,
        config: GatewayConfig,
        *,
        keys: KeyMap | None = None,
        matcher: DecisionMatcher | None = None,
        source: DecisionSource | None = None,
        limiter: AccountLimiter | None = None,
        spool: SpoolWriter | None = None,
        sink: TrafficSink | None = None,
    ) -> None:
        self.config = config
        self.keys = (
            keys if keys is not None else (KeyMap.load(config.keys) if config.keys else None)
        )
        self.matcher = matcher if matcher is not None else DecisionMatcher()
        self.source = source or DecisionSource(self.matcher, config.decisions)
        self.limiter = limiter or AccountLimiter(config.ratelimit)
        sp = config.spool
        if spool is None and sp.dir is not None:
            spool = SpoolWriter(
                sp.dir,
                fsync=sp.fsync,
                fsync_interval_s=sp.fsync_interval_s,
                segment_bytes=sp.segment_bytes,
            )
        self.spool = spool
        self.metrics = GatewayMetrics()
        self.sink = sink if sink is not None else open_sink(config, spool, self.metrics)
        self.upstream = Upstream(
            config.upstream,
            connections=config.upstream_connections,
            timeout_s=config.upstream_timeout_s,
        )
        self._account_header = (
            config.account_header.lower().encode() if config.account_header else None
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._skip_headers = _HOP | (
            {self._account_header} if self._account_header else frozenset()
        )
        rl = config.ratelimit
        self._default_limit = (
            ThrottleParams(
                requests_per_minute=rl.requests_per_minute, tokens_per_minute=rl.tokens_per_minute
            )
            if rl.requests_per_minute or rl.tokens_per_minute
            else None
        )

    # -- lifecycle -------------------------------------------------------------

    async def startup(self) -> None:
        self.source.start()
        if self.sink is not None:
            await self.sink.start()

    async def shutdown(self) -> None:
        self.source.stop()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.upstream.close()
        await self.limiter.close()
        if self.sink is not None:
            await self.sink.close()
        if self.spool is not None:
            self.spool.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -- routing ---------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        endpoint = ENDPOINTS.get(path)
        if endpoint is not None and method == "POST":
            await self._proxy(scope, receive, send, endpoint)
        elif method == "GET" and path == "/v1/models":
            await self._models(scope, receive, send)
        elif method == "GET" and path == "/healthz":
            await drain(receive)
            await respond_json(send, 200, {"status": "ok"})
        elif method == "GET" and path == "/readyz":
            await drain(receive)
            await self._ready(send)
        elif method == "GET" and path == "/metrics":
            await drain(receive)
            self.metrics.decisions.set(len(self.matcher))
            self.metrics.decisions_up.set(1 if self.source.fresh else 0)
            await respond(
                send, 200, self.metrics.render(), [(b"content-type", b"text/plain; version=0.0.4")]
            )
        else:
            await drain(receive)
            await self._error(send, errors.not_found(path))

    async def _ready(self, send: Send) -> None:
        fresh = self.source.fresh
        ready = fresh or self.config.decisions.fail_open
        body: dict[str, object] = {
            "ready": ready,
            "decisions_fresh": fresh,
            "decisions": len(self.matcher),
        }
        if self.source.last_error:
            body["decisions_error"] = self.source.last_error
        await respond_json(send, 200 if ready else 503, body)

    async def _error(self, send: Send, err: errors.ApiError) -> None:
        await respond(send, err.status, err.body(), err.headers())

    # -- who and what ----------------------------------------------------------

    def principal(self, scope: Scope) -> Principal | None:
        if self._account_header is not None:
            account = header(scope, self._account_header)
            if account:
                return Principal(account.decode("latin-1"))
        auth = header(scope, b"authorization")
        if self.keys is None or auth is None or auth[:7].lower() != b"bearer ":
            return None
        return self.keys.lookup(auth[7:].strip().decode("latin-1"))

    def client_ip(self, scope: Scope) -> str | None:
        if self.config.trust_forwarded_for:
            fwd = header(scope, b"x-forwarded-for")
            if fwd:
                return fwd.split(b",")[0].strip().decode("latin-1")
        client = scope.get("client")
        return str(client[0]) if client else None

    def verdict(self, principal: Principal, ip: str | None) -> Verdict:
        ctx = RequestContext(
            account_id=principal.account_id,
            api_key=principal.key_id,
            ip=ip,
            entity=principal.entity,
            declared_country=principal.declared_country,
        )
        return self.matcher.check(ctx)

    # -- the proxy -------------------------------------------------------------

    async def _models(self, scope: Scope, receive: Receive, send: Send) -> None:
        await drain(receive)
        if self.principal(scope) is None:
            await self._error(send, errors.invalid_key())
            return
        try:
            resp = await self.upstream.request(
                "GET", "/v1/models", None, self._upstream_headers(scope)
            )
            content = await resp.read()
        except UpstreamError as exc:
            await self._error(
                send, errors.bad_gateway(f"upstream unreachable: {type(exc).__name__}")
            )
            return
        resp.release()
        await respond(send, resp.status, content, response_headers(resp))

    async def _proxy(self, scope: Scope, receive: Receive, send: Send, endpoint: str) -> None:
        t0 = time.perf_counter()
        ts_ms = time.time_ns() // 1_000_000
        principal = self.principal(scope)
        if principal is None:
            await drain(receive)
            await self._error(send, errors.invalid_key())
            self.metrics.requests.labels(endpoint, "401", "none").inc()
            return
        ua = header(scope, b"user-agent")
        ex = Exchange(
            ts_ms=ts_ms,
            request_id="req_" + uuid.uuid4().hex,
            account_id=principal.account_id,
            api_key_id=principal.key_id,
            ip=self.client_ip(scope),
            user_agent=ua.decode("latin-1") if ua else None,
            endpoint=endpoint,
        )
        try:
            await self._serve(scope, receive, send, ex, principal, t0)
        finally:
            ex.latency_ms = (time.perf_counter() - t0) * 1000
            self.metrics.requests.labels(endpoint, str(ex.status), ex.action).inc()
            self._record(ex)

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, ex: Exchange, who: Principal, t0: float
    ) -> None:
        body = await read_body(receive, self.config.max_body_bytes)
        if body is None:
            await self._refuse(
                send, ex, errors.ApiError(413, "Request body too large.", "invalid_request_error")
            )
            return
        try:
            req = orjson.loads(body)
        except orjson.JSONDecodeError:
            req = None
        if not isinstance(req, dict):
            await self._refuse(
                send, ex, errors.bad_request("The request body must be a JSON object.")
            )
            return
        ex.model = str(req["model"]) if req.get("model") is not None else None
        ex.conv = conversation(ex.endpoint, req)
        if not self.source.fresh and not self.config.decisions.fail_open:
            ex.action = "unavailable"
            await self._refuse(
                send, ex, errors.unavailable("Decision source unavailable; try again later.")
            )
            return
        verdict = self.verdict(who, ex.ip)
        if verdict.action is not None:
            ex.action = verdict.action.value
        if not verdict.allowed:
            reason = verdict.decision.reason if verdict.decision is not None else None
            await self._refuse(send, ex, errors.forbidden(ex.action, reason))
            return
        reservation = await self._limit(send, ex, req, body, verdict)
        if reservation is False:
            return
        degrade = verdict.action is DecisionType.DEGRADE
        try:
            await self._forward(scope, send, ex, req, body, degrade, t0)
        finally:
            if isinstance(reservation, Reservation):
                self._background(
                    self._settle(reservation, ex.usage.total if ex.status == 200 else 0)
                )

    async def _limit(
        self, send: Send, ex: Exchange, req: dict[str, object], body: bytes, verdict: Verdict
    ) -> Reservation | bool | None:
        """The token reservation (None: not limited); False when the request was refused."""
        cfg = self.config.ratelimit
        limit = verdict.throttle
        if self._default_limit is not None:
            limit = self._default_limit if limit is None else self._default_limit.tighten(limit)
        if limit is None:
            return None
        rpm, tpm = limit.requests_per_minute, limit.tokens_per_minute
        tokens = len(body) // 4 + (max_tokens(req) or cfg.default_max_tokens)
        try:
            got = await self.limiter.acquire(ex.account_id, rpm, tpm, tokens)
        except LimiterUnavailable as exc:
            self.metrics.limiter_errors.inc()
            if cfg.fail_open:
                log.warning("%s; failing open", exc)
                return None
            await self._refuse(
                send, ex, errors.unavailable("Rate limiter unavailable; try again later.")
            )
            return False
        if isinstance(got, Refused):
            ex.action = "throttle"
            await self._refuse(send, ex, errors.rate_limited(got.kind, got.retry_after))
            return False
        return got

    async def _forward(
        self,
        scope: Scope,
        send: Send,
        ex: Exchange,
        req: dict[str, object],
        body: bytes,
        degrade: bool,
        t0: float,
    ) -> None:
        stream = bool(req.get("stream"))
        hide_usage = False
        if stream and ex.endpoint != "responses":
            opts = req.get("stream_options")
            if not (isinstance(opts, dict) and opts.get("include_usage")):
                req["stream_options"] = {
                    **(opts if isinstance(opts, dict) else {}),
                    "include_usage": True,
                }
                body = orjson.dumps(req)
                hide_usage = True
        t_up = time.perf_counter()
        try:
            resp = await self.upstream.request(
                "POST", scope["path"], body, self._upstream_headers(scope)
            )
        except UpstreamError as exc:
            await self._refuse(
                send, ex, errors.bad_gateway(f"upstream unreachable: {type(exc).__name__}")
            )
            return
        t_headers = time.perf_counter()
        self.metrics.upstream_seconds.labels(ex.endpoint).observe(t_headers - t_up)
        ex.status = resp.status
        try:
            if stream and resp.content_type == "text/event-stream":
                await self._relay(send, ex, resp, degrade, hide_usage, t_up - t0, t_headers)
            else:
                await self._answer(send, ex, resp, degrade, t_up - t0)
        except UpstreamError as exc:  # the upstream broke off mid-answer
            log.warning("upstream error during the answer: %s", exc)
        finally:
            resp.release()

    async def _answer(
        self, send: Send, ex: Exchange, resp: aiohttp.ClientResponse, degrade: bool, before: float
    ) -> None:
        content = await resp.read()
        t_body = time.perf_counter()
        if resp.status == 200:
            try:
                data = orjson.loads(content)
            except orjson.JSONDecodeError:
                data = None
            if isinstance(data, dict):
                ex.usage = parse_usage(data.get("usage"))
                if degrade:
                    strip_response(ex.endpoint, data)
                    content = orjson.dumps(data)
        await respond(send, resp.status, content, response_headers(resp))
        self.metrics.added_seconds.observe(before + time.perf_counter() - t_body)

    async def _relay(
        self,
        send: Send,
        ex: Exchange,
        resp: aiohttp.ClientResponse,
        degrade: bool,
        hide_usage: bool,
        before: float,
        t_headers: float,
    ) -> None:
        relay = StreamRelay(ex.endpoint, degrade=degrade, hide_usage=hide_usage)
        await start(send, resp.status, response_headers(resp))
        self.metrics.added_seconds.observe(before + time.perf_counter() - t_headers)
        try:
            async for chunk in resp.content.iter_any():
                out = relay.feed(chunk)
                if out:
                    await send({"type": "http.response.body", "body": out, "more_body": True})
            tail = relay.close()
        finally:
            ex.usage = parse_usage(relay.usage)
        await send({"type": "http.response.body", "body": tail, "more_body": False})

    def _upstream_headers(self, scope: Scope) -> list[tuple[str, str]]:
        skip = self._skip_headers
        out = [
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"] if k not in skip
        ]
        out.append(("accept-encoding", "identity"))
        if self.config.upstream_api_key:
            out.append(("authorization", "Bearer " + self.config.upstream_api_key))
        client = scope.get("client")
        if client:
            out.append(("x-forwarded-for", str(client[0])))
        return out

    async def _refuse(self, send: Send, ex: Exchange, err: errors.ApiError) -> None:
        ex.status = err.status
        await self._error(send, err)

    # -- after the answer ------------------------------------------------------

    async def _settle(self, reservation: Reservation, used: int | None) -> None:
        try:
            await self.limiter.settle(reservation, used)
        except LimiterUnavailable as exc:
            self.metrics.limiter_errors.inc()
            log.warning("%s; token reservation not settled", exc)

    def _background(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[call-overload]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _record(self, ex: Exchange) -> None:
        if self.sink is not None:
            self.sink.submit(ex.event(keep_prompts=self.config.spool.keep_prompts))
