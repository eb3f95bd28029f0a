"""Gateway fixtures: a mock upstream and gateways served by uvicorn on free
ports in threads, and the official ``openai`` SDK pointed at them. Redis
(127.0.0.1:6379, or DISTILLGUARD_TEST_REDIS) is required when CI is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import redis

from distillguard.gateway import Gateway, GatewayConfig, KeyMap, MockConfig, MockServer
from distillguard.gateway.server import BackgroundServer

REDIS_URL = os.environ.get("DISTILLGUARD_TEST_REDIS", "redis://127.0.0.1:6379/0")
KEYS = [
    {"api_key": "sk-alice", "account_id": "acct_alice", "key_id": "key_alice"},
    {"api_key": "sk-bob", "account_id": "acct_bob", "key_id": "key_bob"},
    {
        "api_key": "sk-carol",
        "account_id": "acct_carol",
        "key_id": "key_carol",
        "entity": "Carol Labs",
    },
]


@pytest.fixture(scope="session")
def upstream() -> Iterator[BackgroundServer]:
    with BackgroundServer(MockServer(MockConfig(think=True))) as server:
        yield server


@pytest.fixture
def keys() -> KeyMap:
    return KeyMap.from_entries(list(KEYS))


GatewayFactory = Callable[..., tuple[Gateway, BackgroundServer]]


@pytest.fixture
def gateway_factory(upstream: BackgroundServer, keys: KeyMap) -> Iterator[GatewayFactory]:
    """Start gateways on ``upstream``; config fields as keyword arguments."""
    running: list[BackgroundServer] = []

    def make(**fields: Any) -> tuple[Gateway, BackgroundServer]:
        fields.setdefault("upstream", upstream.url)
        fields.setdefault("account_header", "x-test-account")
        parts = {k: fields.pop(k) for k in ("matcher", "source") if k in fields}
        gw = Gateway(GatewayConfig.model_validate(fields), keys=keys, **parts)
        server = BackgroundServer(gw).start()
        running.append(server)
        return gw, server

    yield make
    for server in running:
        server.stop()


@pytest.fixture
def gateway(gateway_factory: GatewayFactory, tmp_path: Path) -> tuple[Gateway, BackgroundServer]:
    return gateway_factory(spool={"dir": tmp_path / "spool", "fsync": "never"})


def sdk(server: BackgroundServer, key: str = "sk-alice") -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=10)


@pytest.fixture
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI and unreachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis unreachable at {REDIS_URL}")
    return REDIS_URL


@pytest.fixture
def key_prefix() -> str:
    """Rate limit keys of this test only."""
    return "dgtest" + uuid.uuid4().hex[:8]
