"""The decision service over HTTP: /v1/check, the stream, admin endpoints, health."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from distillguard.decisions import (
    Decision,
    DecisionMatcher,
    DecisionStreamClient,
    DecisionType,
    RequestContext,
    StreamError,
)
from distillguard.decisions.api import ServiceSettings, create_decision_app
from distillguard.decisions.check import AccountInfo, CheckSettings, KeyOwner, client_ip
from distillguard.decisions.policy import parse_policy_config
from distillguard.decisions.store import DecisionStore

from ._server import serve


def dec(scope: str, value: str, type: str = "block", **kw: object) -> Decision:
    return Decision(scope=scope, value=value, type=type, origin="analyst", **kw)  # type: ignore[arg-type]


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[DecisionStore]:
    store = DecisionStore(f"sqlite:///{tmp_path / 'd.db'}")
    yield store
    store.close()


def make_client(store: DecisionStore, **check: object) -> TestClient:
    policy = parse_policy_config(
        {"allowlist": {"accounts": ["eval_co"]}, "jurisdiction": {"countries": ["KP"]}}
    )
    settings = ServiceSettings(check=CheckSettings.model_validate(check), refresh_interval=0.05)
    return TestClient(create_decision_app(store, settings, policy=policy))


def test_check_answers_from_decisions(sqlite_store: DecisionStore) -> None:
    sqlite_store.add(
        [
            dec("account", "bad"),
            dec("account", "slow", "throttle", params={"requests_per_minute": 2}),
            dec("account", "lite", "degrade"),
            dec("account", "watched", "suspend", simulated=True),
            dec("account", "eval_co", "suspend"),
            dec("cidr", "203.0.113.0/24", "suspend"),
        ]
    )
    with make_client(sqlite_store) as c:
        ok = c.get("/v1/check", headers={"x-distillguard-account": "fine"})
        assert ok.status_code == 200 and ok.headers["x-distillguard-action"] == "allow"

        bad = c.get("/v1/check", headers={"x-distillguard-account": "bad"})
        assert bad.status_code == 403
        assert bad.json()["error"]["type"] == "block"
        assert bad.json()["error"]["decision"] == bad.headers["x-distillguard-decision"]

        lite = c.post("/v1/check/v1/chat/completions", headers={"x-distillguard-account": "lite"})
        assert lite.status_code == 200 and lite.headers["x-distillguard-action"] == "degrade"

        shadow = c.get("/v1/check", headers={"x-distillguard-account": "watched"})
        assert shadow.status_code == 200
        assert shadow.headers["x-distillguard-action"] == "allow"
        assert shadow.headers["x-distillguard-shadow"] == "suspend"

        allow = c.get("/v1/check", headers={"x-distillguard-account": "eval_co"})
        assert allow.status_code == 200 and allow.headers["x-distillguard-allowlisted"] == "true"

        by_net = c.get(
            "/v1/check",
            headers={"x-distillguard-account": "fine", "x-forwarded-for": "203.0.113.50"},
        )
        assert by_net.status_code == 403 and by_net.json()["error"]["type"] == "suspend"

        slow = [c.get("/v1/check", headers={"x-distillguard-account": "slow"}) for _ in range(3)]
        assert [r.status_code for r in slow] == [200, 200, 429]
        assert slow[0].headers["x-distillguard-throttle-rpm"] == "2"
        assert slow[2].headers["retry-after"] == "60"
        nginx = c.get("/v1/check?over_limit=403", headers={"x-distillguard-account": "slow"})
        assert nginx.status_code == 403 and nginx.json()["error"]["type"] == "throttle"


def test_check_reads_api_keys_and_account_metadata(sqlite_store: DecisionStore) -> None:
    key = "sk-secret-1"
    sqlite_store.add(dec("api_key", "key_1", "degrade"))
    check = {
        "api_keys": {
            hashlib.sha256(key.encode()).hexdigest(): KeyOwner(
                account_id="acct_k", api_key_id="key_1"
            )
        },
        "accounts": {"acct_kp": AccountInfo(declared_country="KP")},
    }
    with make_client(sqlite_store, **check) as c:
        r = c.get("/v1/check", headers={"authorization": f"Bearer {key}"})
        assert r.headers["x-distillguard-action"] == "degrade"
        r = c.get("/v1/check", headers={"authorization": "Bearer other"})
        assert r.headers["x-distillguard-action"] == "allow"
        r = c.get("/v1/check", headers={"x-distillguard-account": "acct_kp"})
        assert r.status_code == 403 and r.json()["error"]["type"] == "block"


def test_client_ip_trusts_only_the_configured_proxies() -> None:
    h = {"x-forwarded-for": "6.6.6.6, 192.0.2.10, 10.0.0.2", "x-real-ip": "192.0.2.99"}
    assert client_ip(h, "10.0.0.1", 1) == "10.0.0.2"
    assert client_ip(h, "10.0.0.1", 2) == "192.0.2.10"
    assert client_ip(h, "10.0.0.1", 9) == "6.6.6.6"
    assert client_ip(h, "10.0.0.1", 0) == "192.0.2.99"
    assert client_ip({"x-forwarded-for": "junk"}, "10.0.0.1", 1) == "10.0.0.1"
    assert client_ip({}, None, 1) is None


def test_admin_endpoints_and_immediate_effect(sqlite_store: DecisionStore) -> None:
    admin = sqlite_store.add_enforcer("ops", admin=True)
    edge = sqlite_store.add_enforcer("edge")
    auth = {"authorization": f"Bearer {admin}"}
    with make_client(sqlite_store) as c:
        assert c.post("/v1/decisions", json=[]).status_code == 401
        d = dec("ip", "192.0.2.8", until=datetime.now(UTC) + timedelta(hours=1))
        body = d.to_json()
        refused = c.post("/v1/decisions", json=body, headers={"authorization": f"Bearer {edge}"})
        assert refused.status_code == 403
        assert (
            c.post("/v1/decisions", json={**body, "scope": "planet"}, headers=auth).status_code
            == 422
        )
        assert c.post("/v1/decisions", json=body, headers=auth).status_code == 201
        again = c.post("/v1/decisions", json=body, headers=auth)
        assert again.status_code == 409, again.text
        blocked = c.get("/v1/check", headers={"x-real-ip": "192.0.2.8"})
        assert blocked.status_code == 403

        listed = c.get("/v1/decisions", params={"scope": "ip"}, headers=auth).json()
        assert [x["id"] for x in listed["decisions"]] == [d.id]
        assert c.get(f"/v1/decisions/{d.id}", headers=auth).json()["value"] == "192.0.2.8"
        assert c.delete(f"/v1/decisions/{d.id}", headers=auth).status_code == 204
        assert c.delete(f"/v1/decisions/{d.id}", headers=auth).status_code == 404
        assert c.get(f"/v1/decisions/{d.id}", headers=auth).status_code == 404
        assert c.get("/v1/check", headers={"x-real-ip": "192.0.2.8"}).status_code == 200


def test_stream_over_http(sqlite_store: DecisionStore) -> None:
    token = sqlite_store.add_enforcer("edge")
    a = dec("account", "a")
    sqlite_store.add(a)
    auth = {"authorization": f"Bearer {token}"}
    with make_client(sqlite_store) as c:
        assert c.get("/v1/decisions/stream").status_code == 401
        assert (
            c.get("/v1/decisions/stream", headers={"authorization": "Bearer x"}).status_code == 401
        )
        first = c.get("/v1/decisions/stream", params={"startup": "true"}, headers=auth).json()
        assert [x["id"] for x in first["new"]] == [a.id] and first["deleted"] == []
        sqlite_store.delete(a.id)
        b = dec("account", "b")
        sqlite_store.add(b)
        delta = c.get("/v1/decisions/stream", headers=auth).json()
        assert [x["id"] for x in delta["new"]] == [b.id] and delta["deleted"] == [a.id]
        bad = c.get("/v1/decisions/stream", params={"since": "nope"}, headers=auth)
        assert bad.status_code == 400


def test_health_readiness_and_metrics(sqlite_store: DecisionStore) -> None:
    sqlite_store.add(dec("account", "bad"))
    with make_client(sqlite_store) as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        ready = c.get("/readyz")
        assert ready.status_code == 200 and ready.json()["decisions"] == 1
        c.get("/v1/check", headers={"x-distillguard-account": "bad"})
        c.get("/v1/check", headers={"x-distillguard-account": "good"})
        text = c.get("/metrics").text
    assert 'distillguard_check_verdicts_total{action="block"} 1.0' in text
    assert 'distillguard_check_verdicts_total{action="allow"} 1.0' in text
    assert 'distillguard_decision_service_requests_total{endpoint="check",status="403"} 1.0' in text
    assert (
        'distillguard_decision_service_requests_total{endpoint="readyz",status="200"} 1.0' in text
    )
    assert "distillguard_check_latency_seconds_bucket" in text
    assert "distillguard_decisions_loaded 1.0" in text


def test_not_ready_until_the_snapshot_is_loaded(tmp_path: Path) -> None:
    store = DecisionStore(f"sqlite:///{tmp_path / 'gone.db'}")
    app = create_decision_app(store, ServiceSettings(refresh_interval=60))
    store.engine.dispose()
    (tmp_path / "gone.db").unlink()
    (tmp_path / "gone.db").mkdir()  # the database file is now unusable
    with TestClient(app) as c:
        assert c.get("/readyz").status_code == 503
        r = c.get("/v1/check", headers={"x-distillguard-account": "a"})
        assert r.status_code == 503 and r.json()["error"]["type"] == "unavailable"
        errors = re.search(
            r"^distillguard_decision_refresh_errors_total (\S+)$", c.get("/metrics").text, re.M
        )
        assert errors is not None and float(errors.group(1)) >= 1


def test_stream_client_against_a_real_server(sqlite_store: DecisionStore) -> None:
    token = sqlite_store.add_enforcer("gateway")
    a, b = dec("account", "a"), dec("cidr", "10.0.0.0/8", "degrade")
    sqlite_store.add(a)
    app = create_decision_app(sqlite_store, ServiceSettings(refresh_interval=60))
    matcher = DecisionMatcher()
    with serve(app) as url:
        client = DecisionStreamClient(url, token)
        worker2 = DecisionStreamClient(url, token)
        other = DecisionMatcher()
        assert client.pull(matcher) == 1 and worker2.pull(other) == 1
        assert matcher.check(RequestContext(account_id="a")).action is DecisionType.BLOCK
        sqlite_store.add(b)
        sqlite_store.delete(a.id)
        assert client.pull(matcher) == 2
        assert worker2.pull(other) == 2  # a second worker on the same token sees it too
        assert client.pull(matcher) == 0
        for m in (matcher, other):
            assert [d.id for d in m.decisions()] == [b.id]
        with (
            DecisionStreamClient(url, "dg_wrong") as wrong,
            pytest.raises(StreamError, match="refused"),
        ):
            wrong.pull(DecisionMatcher())
        client.close()
        worker2.close()
    with (
        DecisionStreamClient(url, token, timeout=0.5) as gone,
        pytest.raises(StreamError, match="unreachable"),
    ):
        gone.pull(matcher)


def test_stream_client_async_and_malformed_answers() -> None:
    import asyncio

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("startup") == "true":
            return httpx.Response(
                200,
                json={"new": [dec("ip", "192.0.2.1").to_json()], "deleted": [], "cursor": "1.1"},
            )
        return httpx.Response(200, content=b"{not json")

    async def run() -> None:
        client = DecisionStreamClient(
            "http://svc", "t", async_transport=httpx.MockTransport(handler)
        )
        m = DecisionMatcher()
        assert await client.apull(m) == 1 and len(m) == 1
        with pytest.raises(StreamError, match="malformed"):
            await client.apull(m)

    asyncio.run(run())
    err = DecisionStreamClient(
        "http://svc", "t", transport=httpx.MockTransport(lambda r: httpx.Response(500, text="boom"))
    )
    with pytest.raises(StreamError, match="500"):
        err.pull(DecisionMatcher())
