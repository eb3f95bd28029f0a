"""Streaming fixtures: a private JetStream stream per test on the NATS server
at 127.0.0.1:4222 (or DISTILLGUARD_TEST_NATS), Redis and PostgreSQL for the
replica tests. Each service is required when CI is set."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar
from urllib.parse import urlparse

import nats
import pytest

from distillguard.streaming import StreamSettings

NATS_URL = os.environ.get("DISTILLGUARD_TEST_NATS", "nats://127.0.0.1:4222")
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def require(service: str, url: str) -> None:
    """Fail in CI, skip elsewhere, when nothing listens at ``url``."""
    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname, parsed.port), timeout=1).close()
    except OSError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{service} is required in CI and unreachable at {url}: {exc}")
        pytest.skip(f"{service} unreachable at {url}")


async def _delete(name: str) -> None:
    nc = await nats.connect(NATS_URL)
    try:
        await nc.jetstream().delete_stream(name)
    except nats.js.errors.NotFoundError:
        pass
    finally:
        await nc.close()


@pytest.fixture
def stream() -> Iterator[StreamSettings]:
    """A fresh stream (created by whoever uses it first), deleted afterwards."""
    require("NATS", NATS_URL)
    tag = uuid.uuid4().hex[:10]
    settings = StreamSettings(
        url=NATS_URL, stream=f"DGTEST_{tag}", subject=f"dgtest.{tag}", storage="memory"
    )
    yield settings
    run(_delete(settings.stream))


def event(i: int, *, account: str | None = None, rid: str | None = None) -> dict[str, Any]:
    """One gateway event, ``ts`` recent."""
    return {
        "ts": 1_760_000_000_000 + i * 250,
        "request_id": rid or f"req_{i}",
        "account_id": account or f"acct_{i % 17}",
        "ip": f"203.0.113.{i % 17}",
        "endpoint": "chat.completions",
        "model": "mock-reasoner",
        "prompt": f"Solve step by step: what is {i % 89} times {i % 7}?",
        "input_tokens": 20,
        "output_tokens": 200,
        "status": 200,
        "gateway_action": "allow",
    }
