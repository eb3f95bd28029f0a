"""The connection pool to the model server.

aiohttp rather than httpx on this one path: measured on the same machine, a
keep-alive POST to a local model server costs about 0.14 ms through an aiohttp
session, 0.32 ms through httpx on an aiohttp transport and 0.56 ms through
httpx's own pool — most of the gateway's latency budget (see
``benchmarks/bench_gateway.py``).
"""

from __future__ import annotations

import asyncio

import aiohttp

from distillguard.gateway._asgi import Headers

#: What a failed upstream call raises.
UpstreamError = (aiohttp.ClientError, asyncio.TimeoutError)

_RESP_HOP = frozenset(
    b"connection keep-alive transfer-encoding content-length content-encoding date server".split()
)


class Upstream:
    """Keep-alive connections to ``base_url``; created on first use, in the
    event loop that serves requests."""

    def __init__(self, base_url: str, *, connections: int, timeout_s: float) -> None:
        self.base_url = base_url.rstrip("/")
        self._connections = connections
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=5.0, sock_read=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections, ttl_dns_cache=300),
                timeout=self._timeout,
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
            )
        return self._session

    async def request(
        self, method: str, path: str, body: bytes | None, headers: list[tuple[str, str]]
    ) -> aiohttp.ClientResponse:
        """The response once its headers are in; read or stream it, then ``release()``."""
        return await self.session().request(
            method, self.base_url + path, data=body, headers=headers
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def response_headers(resp: aiohttp.ClientResponse) -> Headers:
    """The upstream's response headers to pass on (hop-by-hop ones dropped)."""
    out = []
    for key, value in resp.raw_headers:
        name = key.lower()
        if name not in _RESP_HOP:
            out.append((name, value))
    return out
