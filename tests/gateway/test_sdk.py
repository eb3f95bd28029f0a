"""The official ``openai`` SDK against the gateway: allowed, throttled,
suspended, blocked and degraded, plain and streamed."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import openai
import orjson
import pytest

from distillguard.decisions import Decision
from distillguard.gateway import Gateway, MockConfig, MockServer
from distillguard.gateway.server import BackgroundServer
from tests.gateway.conftest import GatewayFactory, sdk

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Prove that the square root of 2 is irrational."},
]


def _decide(
    gw: Gateway, type_: str, scope: str = "account", value: str = "acct_alice", **kw: object
) -> None:
    gw.matcher.apply([Decision(type=type_, scope=scope, value=value, origin="analyst", **kw)])  # type: ignore[arg-type]


def _stream_text(client: openai.OpenAI, **kw: object) -> tuple[str, list[object]]:
    chunks = list(
        client.chat.completions.create(model="mock-reasoner", messages=MESSAGES, stream=True, **kw)
    )  # type: ignore[call-overload]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return text, chunks


def _reasoning_in(chunks: list[object]) -> str:
    return "".join(
        getattr(c.choices[0].delta, "reasoning_content", None) or ""  # type: ignore[attr-defined]
        for c in chunks
        if c.choices  # type: ignore[attr-defined]
    )


def test_allowed_plain_and_streamed(gateway: tuple[Gateway, BackgroundServer]) -> None:
    _gw, server = gateway
    client = sdk(server)
    r = client.chat.completions.create(model="mock-reasoner", messages=MESSAGES)  # type: ignore[arg-type]
    msg = r.choices[0].message
    assert msg.content is not None and "<think>" in msg.content
    assert getattr(msg, "reasoning_content", None)
    assert r.usage is not None and r.usage.completion_tokens > 0
    text, chunks = _stream_text(client)
    assert "<think>" in text and "Answer:" in text
    assert _reasoning_in(chunks)
    # The gateway asked the upstream for usage; the client, who did not, gets no usage chunk.
    assert all(getattr(c, "usage", None) is None for c in chunks)
    _, with_usage = _stream_text(client, stream_options={"include_usage": True})
    assert with_usage[-1].usage.total_tokens > 0  # type: ignore[attr-defined]


def test_degraded_removes_reasoning(gateway: tuple[Gateway, BackgroundServer]) -> None:
    gw, server = gateway
    _decide(gw, "degrade")
    client = sdk(server)
    r = client.chat.completions.create(model="mock-reasoner", messages=MESSAGES)  # type: ignore[arg-type]
    msg = r.choices[0].message
    assert msg.content is not None and msg.content.startswith("Answer:")
    assert "<think>" not in msg.content and "Reasoning" not in msg.content
    assert getattr(msg, "reasoning_content", None) is None
    text, chunks = _stream_text(client)
    assert text.startswith("Answer:") and "think>" not in text and "Reasoning" not in text
    assert _reasoning_in(chunks) == ""
    # Another account is untouched.
    other = sdk(server, "sk-bob").chat.completions.create(model="m", messages=MESSAGES)  # type: ignore[arg-type]
    assert "<think>" in (other.choices[0].message.content or "")


def test_degraded_responses_and_completions(gateway: tuple[Gateway, BackgroundServer]) -> None:
    gw, server = gateway
    _decide(gw, "degrade")
    client = sdk(server)
    resp = client.responses.create(model="mock-reasoner", input="Why is the sky blue?")
    assert [item.type for item in resp.output] == ["message"]
    assert resp.output_text.startswith("Answer:")
    events = list(client.responses.create(model="mock-reasoner", input="Why?", stream=True))
    kinds = {e.type for e in events}
    assert not any(k.startswith("response.reasoning") for k in kinds)
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")  # type: ignore[union-attr]
    assert deltas.startswith("Answer:") and "think" not in deltas
    done = events[-1]
    assert done.type == "response.completed" and [i.type for i in done.response.output] == [
        "message"
    ]  # type: ignore[union-attr]
    comp = client.completions.create(model="mock-reasoner", prompt="2+2=")
    assert comp.choices[0].text.startswith("Answer:")
    streamed = "".join(
        c.choices[0].text
        for c in client.completions.create(model="m", prompt="2+2=", stream=True)
        if c.choices
    )
    assert streamed == comp.choices[0].text


def test_suspended_is_permission_denied(gateway: tuple[Gateway, BackgroundServer]) -> None:
    gw, server = gateway
    _decide(gw, "suspend", reason="harvesting reasoning traces")
    client = sdk(server)
    with pytest.raises(openai.PermissionDeniedError, match="harvesting reasoning traces"):
        client.chat.completions.create(model="m", messages=MESSAGES)  # type: ignore[arg-type]
    with pytest.raises(openai.PermissionDeniedError):
        _stream_text(client)
    sdk(server, "sk-bob").chat.completions.create(model="m", messages=MESSAGES)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("scope", "value"),
    [
        ("cidr", "127.0.0.0/8"),
        ("ip", "127.0.0.1"),
        ("api_key", "key_alice"),
        ("entity", "carol labs"),
    ],
)
def test_blocks(gateway: tuple[Gateway, BackgroundServer], scope: str, value: str) -> None:
    gw, server = gateway
    _decide(gw, "block", scope=scope, value=value)
    key = "sk-carol" if scope == "entity" else "sk-alice"
    with pytest.raises(openai.PermissionDeniedError) as info:
        sdk(server, key).chat.completions.create(model="m", messages=MESSAGES)  # type: ignore[arg-type]
    assert info.value.code == "block"


def test_throttled_is_rate_limit_error(gateway: tuple[Gateway, BackgroundServer]) -> None:
    gw, server = gateway
    _decide(gw, "throttle", params={"requests_per_minute": 3})
    client = sdk(server)
    for _ in range(3):
        client.chat.completions.create(model="m", messages=MESSAGES)  # type: ignore[arg-type]
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="m", messages=MESSAGES)  # type: ignore[arg-type]
    assert 1 <= int(info.value.response.headers["retry-after"]) <= 60
    with pytest.raises(openai.RateLimitError):
        _stream_text(client)
    sdk(server, "sk-bob").chat.completions.create(model="m", messages=MESSAGES)  # type: ignore[arg-type]


def _settled(gw: Gateway) -> None:
    """Wait for the token reservations of answered requests to be settled."""
    deadline = time.monotonic() + 5
    while gw._tasks and time.monotonic() < deadline:
        time.sleep(0.005)
    assert not gw._tasks


def test_token_limit_reserves_max_tokens(gateway_factory: GatewayFactory) -> None:
    gw, server = gateway_factory()
    _decide(gw, "throttle", params={"tokens_per_minute": 1000})
    client = sdk(server)
    # Each answer uses under 80 tokens but reserves 400 + the prompt's estimate while it runs;
    # once answered, the unused part is given back, so many such requests fit in 1000.
    for _ in range(2):
        text, _ = _stream_text(client, max_tokens=400)
        assert text
        _settled(gw)
    for _ in range(6):
        client.chat.completions.create(model="m", messages=MESSAGES, max_tokens=400)  # type: ignore[arg-type]
        _settled(gw)
    # ~600 used: a request that may produce 900 more cannot start.
    with pytest.raises(openai.RateLimitError, match="tokens"):
        client.chat.completions.create(model="m", messages=MESSAGES, max_tokens=900)  # type: ignore[arg-type]
    client.chat.completions.create(model="m", messages=MESSAGES, max_tokens=100)  # type: ignore[arg-type]


def test_reservation_bounds_concurrent_streams(gateway_factory: GatewayFactory) -> None:
    """Without settling, reservations alone refuse what could overshoot the limit."""
    with BackgroundServer(MockServer(MockConfig(chunk_delay_ms=20))) as slow:
        gw, server = gateway_factory(upstream=slow.url)
        _decide(gw, "throttle", params={"tokens_per_minute": 1000})
        client = sdk(server)
        _held_stream(client)


def _held_stream(client: openai.OpenAI) -> None:
    held = client.chat.completions.create(model="m", messages=MESSAGES, max_tokens=600, stream=True)  # type: ignore[call-overload]
    next(iter(held))  # the first stream is open: its 600 + prompt are reserved
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="m", messages=MESSAGES, max_tokens=500)  # type: ignore[arg-type]
    held.close()


def test_errors_in_openai_shape(gateway: tuple[Gateway, BackgroundServer]) -> None:
    _, server = gateway
    with pytest.raises(openai.AuthenticationError):
        sdk(server, "sk-nobody").chat.completions.create(model="m", messages=MESSAGES)  # type: ignore[arg-type]
    r = httpx.post(
        server.url + "/v1/chat/completions", content=b"not json", headers={"x-test-account": "a"}
    )
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    models = sdk(server).models.list()
    assert {m.id for m in models.data} >= {"mock-reasoner"}


def test_traffic_is_spooled_as_events(
    gateway: tuple[Gateway, BackgroundServer], tmp_path: Path
) -> None:
    from distillguard.events import read_events

    gw, server = gateway
    client = sdk(server)
    client.chat.completions.create(
        model="mock-reasoner", messages=MESSAGES, temperature=0.2, max_tokens=300
    )  # type: ignore[arg-type]
    _stream_text(client)
    _decide(gw, "suspend")
    with pytest.raises(openai.PermissionDeniedError):
        client.chat.completions.create(model="m", messages=MESSAGES)  # type: ignore[arg-type]
    server.stop()  # closes the spool
    files = sorted((tmp_path / "spool").glob("*.jsonl"))
    events = [orjson.loads(line) for f in files for line in f.read_bytes().splitlines()]
    assert [e["status"] for e in events] == [200, 200, 403]
    first = events[0]
    assert first["account_id"] == "acct_alice" and first["api_key_id"] == "key_alice"
    assert first["prompt"] == MESSAGES[1]["content"] and first["system_prompt"] == "You are terse."
    assert first["params"] == {"temperature": 0.2, "max_tokens": 300}
    assert (
        first["input_tokens"] > 0 and first["reasoning_tokens"] > 0 and first["ip"] == "127.0.0.1"
    )
    assert events[1]["output_tokens"] > 0 and events[1]["params"]["stream"] is True
    assert events[2]["gateway_action"] == "suspend"
    reader = read_events(files)
    assert sum(b.num_rows for b in reader) == 3 and reader.summary.rejected == 0


def test_metrics_health_ready(gateway: tuple[Gateway, BackgroundServer]) -> None:
    _, server = gateway
    sdk(server).chat.completions.create(model="m", messages=MESSAGES)  # type: ignore[arg-type]
    text = httpx.get(server.url + "/metrics").text
    assert (
        'distillguard_gateway_requests_total{action="allow",endpoint="chat.completions",status="200"} 1.0'
        in text
    )
    assert "distillguard_gateway_added_seconds_bucket" in text
    assert "distillguard_gateway_upstream_seconds_count" in text
    assert httpx.get(server.url + "/healthz").status_code == 200
    assert httpx.get(server.url + "/readyz").json()["ready"] is True
