"""Gateway → JetStream → detection worker: every event in the state exactly
once, duplicates dropped, back-pressure absorbed by the gateway's spool."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from distillguard.gateway import Gateway, GatewayConfig, MockConfig, MockServer
from distillguard.gateway.config import TrafficConfig
from distillguard.gateway.metrics import GatewayMetrics
from distillguard.gateway.server import BackgroundServer
from distillguard.gateway.spool import SpoolWriter
from distillguard.streaming import JetStreamWorker, StreamSettings, connect, ensure_stream
from distillguard.streaming.sink import JetStreamSink
from tests.streaming._helpers import ledger, make_loop, publish, stream_state, worker
from tests.streaming.conftest import event, run


async def _drain(w: JetStreamWorker, want: int, timeout: float = 20.0) -> tuple[int, int]:
    """Step the worker until it absorbed ``want`` events and the stream is
    dry; the events absorbed and the events dropped as already absorbed."""
    got = skipped = 0
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        stats = await w.step()
        got, skipped = got + stats.events, skipped + stats.skipped
        if got >= want and not stats.lines:
            break
    return got, skipped


def test_each_event_once_and_duplicates_dropped(stream: StreamSettings, tmp_path: Path) -> None:
    events = [event(i) for i in range(300)]
    loop = make_loop(tmp_path)

    async def go() -> tuple[int, int, int]:
        async with worker(loop, stream, batch=120) as w:
            stored = await publish(stream, events)
            # the same request ids again: within the duplicate window the
            # stream keeps one copy; under new message ids (a retry after the
            # window) the worker's ledger drops them
            again = await publish(stream, events[:10])
            late = await publish(stream, events[10:15], msg_ids=[f"late{i}" for i in range(5)])
            absorbed, skipped = await _drain(w, 300)
            assert (stored, again, late) == (300, 0, 5)
            return absorbed, skipped, w.batches

    absorbed, skipped, batches = run(go())
    try:
        assert absorbed == 300
        assert skipped == 5
        assert batches >= 3  # batches of at most 120
        seen = ledger(loop.state)
        assert set(seen) == {e["request_id"] for e in events}
        assert max(seen.values()) == 1
        assert loop.state.counts()["events"] == 300
        assert loop.state.state.events == 300
        assert run(stream_state(stream)) == (0, 0)  # a work queue: acknowledged = removed
    finally:
        loop.close()


def test_gateway_publishes_every_request(stream: StreamSettings, tmp_path: Path) -> None:
    loop = make_loop(tmp_path / "worker")
    traffic = {"sink": "jetstream", "url": stream.url, "stream": stream.stream}
    config = GatewayConfig.model_validate(
        {
            "account_header": "x-account",
            "spool": {"dir": tmp_path / "gw-spool", "fsync": "never"},
            "traffic": {**traffic, "subject": stream.subject},
        }
    )

    async def ensure() -> None:
        nc = await connect(stream.url)
        await ensure_stream(nc.jetstream(), stream)
        await nc.close()

    run(ensure())
    with BackgroundServer(MockServer(MockConfig(think=True))) as upstream:
        gw = Gateway(config.model_copy(update={"upstream": upstream.url}))
        with BackgroundServer(gw) as server, httpx.Client(base_url=server.url) as client:
            for i in range(40):
                r = client.post(
                    "/v1/chat/completions",
                    json={"model": "m", "messages": [{"role": "user", "content": f"q {i}"}]},
                    headers={"x-account": f"acct_{i % 4}"},
                )
                assert r.status_code == 200

    async def consume() -> int:
        async with worker(loop, stream) as w:
            return (await _drain(w, 40))[0]

    try:
        assert run(consume()) == 40
        sample = gw.metrics.registry.get_sample_value
        assert sample("distillguard_gateway_published_events_total") == 40
        assert sample("distillguard_gateway_spooled_events_total") == 0
        seen = ledger(loop.state)
        assert len(seen) == 40 and max(seen.values()) == 1
        rows = loop.state.con.execute(
            "SELECT account_id, count(*) FROM live_requests GROUP BY 1 ORDER BY 1"
        ).fetchall()
        assert rows == [(f"acct_{k}", 10) for k in range(4)]
    finally:
        loop.close()


def _spooled(folder: Path) -> int:
    return sum(len(p.read_bytes().splitlines()) for p in folder.glob("*.jsonl"))


def test_full_stream_falls_back_to_spool_then_replays(
    stream: StreamSettings, tmp_path: Path
) -> None:
    """A stream at its limit refuses publishes (detection is behind): the
    gateway spools them and publishes them once the worker catches up."""
    small = stream.model_copy(update={"max_msgs": 20})
    loop = make_loop(tmp_path / "worker")
    spool = SpoolWriter(tmp_path / "gw-spool", fsync="never")
    metrics = GatewayMetrics()
    sample = metrics.registry.get_sample_value
    cfg = TrafficConfig(
        url=stream.url, stream=stream.stream, subject=stream.subject, replay_interval_s=0.2
    )

    async def go() -> tuple[float | None, float | None, int, int]:
        nc = await connect(stream.url)
        await ensure_stream(nc.jetstream(), small)
        await nc.close()
        sink = JetStreamSink(cfg, spool, metrics)
        await sink.start()
        for i in range(50):
            sink.submit(event(i))
        while (sample("distillguard_gateway_published_events_total") or 0) + (
            sample("distillguard_gateway_spooled_events_total") or 0
        ) < 50:
            await asyncio.sleep(0.02)
        published = sample("distillguard_gateway_published_events_total")
        refused = sample("distillguard_gateway_fallback_events_total", {"reason": "refused"})
        spooled = _spooled(spool.folder)
        async with worker(loop, small, batch=15) as w:
            absorbed = (await _drain(w, 50))[0]
        await sink.close()
        assert published == 20 and refused == 30 and spooled == 30
        return published, refused, absorbed, w.batches

    try:
        _, _, absorbed, _ = run(go())
        assert absorbed == 50
        assert sample("distillguard_gateway_published_events_total") == 50  # 20 + 30 replayed
        seen = ledger(loop.state)
        assert set(seen) == {f"req_{i}" for i in range(50)} and max(seen.values()) == 1
        assert run(stream_state(small)) == (0, 0)
    finally:
        spool.close()
        loop.close()


def test_full_queue_and_no_server_go_to_spool(tmp_path: Path) -> None:
    spool = SpoolWriter(tmp_path / "gw-spool", fsync="never")
    metrics = GatewayMetrics()
    sample = metrics.registry.get_sample_value
    cfg = TrafficConfig(url="nats://127.0.0.1:1", queue_size=10, publish_timeout_s=0.5)

    async def go() -> None:
        sink = JetStreamSink(cfg, spool, metrics)
        await sink.start()
        for i in range(30):  # no await: the publisher cannot take any meanwhile
            sink.submit(event(i))
        assert sample("distillguard_gateway_fallback_events_total", {"reason": "queue_full"}) == 20
        await sink.close()

    try:
        run(go())
        assert (
            sample("distillguard_gateway_fallback_events_total", {"reason": "disconnected"}) == 10
        )
        assert _spooled(spool.folder) == 30
        assert sample("distillguard_gateway_published_events_total") == 0
    finally:
        spool.close()
