"""Fail open or fail closed when the rate limit storage or the decision source
cannot be reached."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import openai
import pytest

from distillguard.decisions import Decision, DecisionMatcher
from distillguard.decisions.mirror import DecisionMirror
from distillguard.decisions.rediscache import RedisDecisionCache
from distillguard.decisions.store import DecisionStore
from distillguard.gateway.config import DecisionSourceConfig
from distillguard.gateway.source import DecisionSource
from tests.gateway.conftest import GatewayFactory, sdk

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}
DOWN_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def _throttle(matcher: DecisionMatcher) -> None:
    matcher.apply(
        [Decision(type="throttle", scope="account", value="acct_alice", origin="analyst")]
    )


@pytest.mark.parametrize("fail_open", [True, False])
def test_rate_limit_storage_down(gateway_factory: GatewayFactory, fail_open: bool) -> None:
    gw, server = gateway_factory(ratelimit={"storage": DOWN_REDIS, "fail_open": fail_open})
    _throttle(gw.matcher)
    client = sdk(server)
    if fail_open:
        assert client.chat.completions.create(**CHAT).choices  # type: ignore[call-overload]
    else:
        with pytest.raises(openai.InternalServerError) as info:
            client.chat.completions.create(**CHAT)  # type: ignore[call-overload]
        assert info.value.status_code == 503
    # Accounts without a throttle never touch the storage.
    assert sdk(server, "sk-bob").chat.completions.create(**CHAT).choices  # type: ignore[call-overload]
    assert (
        "distillguard_gateway_limiter_errors_total 1.0" in httpx.get(server.url + "/metrics").text
    )


@pytest.mark.parametrize("fail_open", [True, False])
@pytest.mark.parametrize(
    "source",
    [
        {"url": "http://127.0.0.1:1"},
        {"database": "postgresql+psycopg://postgres@127.0.0.1:1/none"},
        {"redis": DOWN_REDIS},
    ],
    ids=["stream", "database", "redis"],
)
def test_decision_source_unreachable(
    gateway_factory: GatewayFactory, fail_open: bool, source: dict[str, str]
) -> None:
    _gw, server = gateway_factory(decisions={**source, "fail_open": fail_open})
    ready = httpx.get(server.url + "/readyz")
    assert ready.json()["decisions_fresh"] is False
    assert ready.status_code == (200 if fail_open else 503)
    r = httpx.post(server.url + "/v1/chat/completions", json=CHAT, headers={"x-test-account": "a1"})
    assert r.status_code == (200 if fail_open else 503)
    if not fail_open:
        assert r.json()["error"]["code"] == "service_unavailable"


def test_source_goes_stale_then_recovers(gateway_factory: GatewayFactory) -> None:
    up = {"ok": True}

    def pull(matcher: DecisionMatcher) -> int:
        if not up["ok"]:
            raise ConnectionError("decision service down")
        matcher.replace(
            [Decision(type="suspend", scope="account", value="acct_bob", origin="analyst")]
        )
        return 1

    matcher = DecisionMatcher()
    cfg = DecisionSourceConfig(poll_interval_s=0.05, max_staleness_s=0.3, fail_open=False)
    src = DecisionSource(matcher, cfg, pull=pull)
    _gw, server = gateway_factory(matcher=matcher, source=src, decisions=cfg.model_dump())
    client = sdk(server)
    assert client.chat.completions.create(**CHAT).choices  # type: ignore[call-overload]
    with pytest.raises(openai.PermissionDeniedError):
        sdk(server, "sk-bob").chat.completions.create(**CHAT)  # type: ignore[call-overload]
    up["ok"] = False
    time.sleep(0.5)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(**CHAT)  # type: ignore[call-overload]
    up["ok"] = True
    time.sleep(0.2)
    assert client.chat.completions.create(**CHAT).choices  # type: ignore[call-overload]


def test_redis_cache_goes_stale_when_its_mirror_stops(
    gateway_factory: GatewayFactory, redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    """A replica following the Redis cache is fresh while a mirror syncs it,
    fails closed once none has for ``max_staleness_s``, and recovers."""
    store = DecisionStore(f"sqlite:///{tmp_path / 'decisions.db'}")
    store.add(Decision(type="suspend", scope="account", value="acct_bob", origin="analyst"))
    cache = RedisDecisionCache(redis_url, key_prefix)
    mirror = DecisionMirror(store, cache, interval_s=0.05, heartbeat_s=0.2)
    assert mirror.step()  # the cache is filled before the gateway starts
    mirror.start()
    try:
        _gw, server = gateway_factory(
            decisions={
                "redis": redis_url,
                "prefix": key_prefix,
                "max_staleness_s": 0.5,
                "poll_interval_s": 0.1,
                "fail_open": False,
            }
        )
        client = sdk(server)
        assert client.chat.completions.create(**CHAT).choices  # type: ignore[call-overload]
        with pytest.raises(openai.PermissionDeniedError):
            sdk(server, "sk-bob").chat.completions.create(**CHAT)  # type: ignore[call-overload]
        mirror.stop()
        time.sleep(1.0)  # heartbeat (0.2 s) and staleness (0.5 s) run out
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(**CHAT)  # type: ignore[call-overload]
        mirror.start()
        time.sleep(0.3)
        assert client.chat.completions.create(**CHAT).choices  # type: ignore[call-overload]
    finally:
        mirror.stop()
        cache.drop()
        cache.close()
        store.close()
