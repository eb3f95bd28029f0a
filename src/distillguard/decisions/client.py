"""Pull decisions from a remote decision service into a local matcher.

The first pull asks for the start-up snapshot and replaces the matcher's
content; every later pull applies the ``{new, deleted}`` delta since the last
one, unless the service answers it with a snapshot (``startup: true``), which
replaces the content again. The client sends back the cursor of its previous
answer, so several processes that share one enforcer token (workers of one
gateway) each get every change, not a share of them.

    client = DecisionStreamClient("http://decisions:8081", token)
    client.pull(matcher)          # start-up snapshot
    client.pull(matcher)          # changes since
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from distillguard.decisions._errors import StreamError
from distillguard.decisions.matcher import DecisionMatcher
from distillguard.decisions.model import Decision

__all__ = ["STREAM_PATH", "DecisionStreamClient"]

STREAM_PATH = "/v1/decisions/stream"


class DecisionStreamClient:
    """A puller of ``GET /v1/decisions/stream``, authenticated by an enforcer token."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"authorization": f"Bearer {token}", "accept": "application/json"}
        self._timeout = timeout
        self._transport = transport
        self._async_transport = async_transport
        self._client: httpx.Client | None = None
        self._cursor: str | None = None

    @property
    def started(self) -> bool:
        """Whether the start-up snapshot has been loaded."""
        return self._cursor is not None

    def reset(self) -> None:
        """Make the next pull a start-up snapshot again."""
        self._cursor = None

    def __enter__(self) -> DecisionStreamClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def pull(self, matcher: DecisionMatcher) -> int:
        """One pull into ``matcher``; returns the number of changes applied."""
        if self._client is None:
            self._client = httpx.Client(
                base_url=self.base_url, timeout=self._timeout, transport=self._transport
            )
        try:
            resp = self._client.get(STREAM_PATH, params=self._params(), headers=self._headers)
        except httpx.HTTPError as exc:
            raise StreamError(f"{self.base_url}: decision stream unreachable: {exc}") from exc
        return self._absorb(resp, matcher)

    async def apull(self, matcher: DecisionMatcher) -> int:
        """:meth:`pull` without blocking an event loop."""
        try:
            async with httpx.AsyncClient(
                base_url=self.base_url, timeout=self._timeout, transport=self._async_transport
            ) as client:
                resp = await client.get(STREAM_PATH, params=self._params(), headers=self._headers)
        except httpx.HTTPError as exc:
            raise StreamError(f"{self.base_url}: decision stream unreachable: {exc}") from exc
        return self._absorb(resp, matcher)

    def _params(self) -> dict[str, str]:
        if self._cursor is None:
            return {"startup": "true"}
        return {"startup": "false", "since": self._cursor}

    def _absorb(self, resp: httpx.Response, matcher: DecisionMatcher) -> int:
        if resp.status_code in (401, 403):
            raise StreamError(f"{self.base_url}: enforcer token refused ({resp.status_code})")
        if resp.status_code != 200:
            raise StreamError(
                f"{self.base_url}: decision stream answered {resp.status_code}: {resp.text[:200]}"
            )
        try:
            body: dict[str, Any] = orjson.loads(resp.content)
            new = [Decision.model_validate(d) for d in body.get("new") or ()]
            deleted = [str(i) for i in body.get("deleted") or ()]
            cursor = str(body["cursor"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise StreamError(f"{self.base_url}: malformed decision stream answer: {exc}") from exc
        # The service answers a cursor it cannot serve deltas from (purged past,
        # or from another database) with a snapshot too.
        if self._cursor is None or body.get("startup") is True:
            matcher.replace(new)
        else:
            matcher.apply(new, deleted)
        self._cursor = cursor
        return len(new) + len(deleted)
