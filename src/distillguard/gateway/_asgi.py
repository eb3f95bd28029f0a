"""The few raw-ASGI helpers the gateway and the mock server share.

Both are plain ASGI callables rather than framework apps: on the proxy's hot
path every microsecond shows up as added latency, and routing four paths does
not need a router.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

JSON_TYPE = (b"content-type", b"application/json")
SSE_TYPE = (b"content-type", b"text/event-stream")


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or ``None`` when it is larger than ``limit``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of request header ``name`` (lower case)."""
    for key, value in scope["headers"]:
        if key == name:
            return value  # type: ignore[no-any-return]
    return None


async def start(send: Send, status: int, headers: Iterable[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": list(headers)})


async def respond(
    send: Send, status: int, body: bytes, headers: Iterable[tuple[bytes, bytes]] = (JSON_TYPE,)
) -> None:
    """Send a complete response with ``body``."""
    out = [*headers, (b"content-length", str(len(body)).encode())]
    await start(send, status, out)
    await send({"type": "http.response.body", "body": body})


async def respond_json(
    send: Send, status: int, data: object, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    await respond(send, status, orjson.dumps(data), [JSON_TYPE, *headers])


async def drain(receive: Receive) -> None:
    """Consume a request body that will not be read."""
    message = await receive()
    while message["type"] == "http.request" and message.get("more_body", False):
        message = await receive()
