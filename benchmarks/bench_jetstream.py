"""Traffic through NATS JetStream: how fast the gateway's sink publishes, how
fast a worker can fetch and acknowledge, and how fast it merges the stream
into the detection state.

    python benchmarks/bench_jetstream.py --events 50000 --batch 5000

Needs a NATS server with JetStream (``--nats-url``). Each phase runs on a
fresh stream, deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import nats
from nats.js.api import AckPolicy, ConsumerConfig

from distillguard.decisions.store import DecisionStore
from distillguard.gateway.config import TrafficConfig
from distillguard.gateway.metrics import GatewayMetrics
from distillguard.gateway.spool import SpoolWriter
from distillguard.live.config import LoopConfig
from distillguard.live.loop import DetectionLoop
from distillguard.streaming import JetStreamWorker, StreamSettings, WorkerSettings, ensure_stream
from distillguard.streaming.sink import JetStreamSink

PROMPTS = (
    "Solve step by step and show all of your reasoning: what is {i} times {j}?",
    "Translate to French: the meeting on day {i} moves to room {j}.",
    "Write a haiku about the number {i} and the colour {j}.",
)


def event(k: int, t0: int, run: str) -> dict[str, Any]:
    return {
        "ts": t0 + k * 20,
        "request_id": f"req_{run}_{k}",  # distinct per phase: the stream drops repeats
        "account_id": f"acct_{k % 2000}",
        "ip": f"198.51.{k % 200}.{k % 250}",
        "endpoint": "chat.completions",
        "model": "mock-reasoner",
        "prompt": PROMPTS[k % 3].format(i=k % 997, j=k % 13),
        "input_tokens": 20,
        "output_tokens": 200,
        "status": 200,
        "gateway_action": "allow",
    }


async def publish_phase(settings: StreamSettings, n: int, folder: Path) -> float:
    """Events/s from ``submit`` to the stream's acknowledgement."""
    spool = SpoolWriter(folder / "gw-spool", fsync="never")
    metrics = GatewayMetrics()
    sink = JetStreamSink(
        # a queue that holds the whole burst: this measures the publisher, not the fallback
        TrafficConfig(
            url=settings.url, stream=settings.stream, subject=settings.subject, queue_size=n
        ),
        spool,
        metrics,
    )
    t0_ms = int(time.time() * 1000) - n * 20
    await sink.start()
    t0 = time.perf_counter()
    for k in range(n):
        sink.submit(event(k, t0_ms, folder.name))
        if k % 1000 == 999:
            await asyncio.sleep(0)  # let the publisher run, as requests would
    sample = metrics.registry.get_sample_value
    while (sample("distillguard_gateway_published_events_total") or 0) + (
        sample("distillguard_gateway_spooled_events_total") or 0
    ) < n:
        await asyncio.sleep(0.005)
    seconds = time.perf_counter() - t0
    fallback = sample("distillguard_gateway_spooled_events_total") or 0
    await sink.close()
    spool.close()
    print(f"publish: {n} events in {seconds:.2f} s = {n / seconds:,.0f} events/s ", end="")
    print(f"({fallback:.0f} to the spool fallback)")
    return n / seconds


async def raw_phase(settings: StreamSettings, batch: int, n: int) -> float:
    """Messages/s fetched and acknowledged, nothing else done with them."""
    nc = await nats.connect(settings.url)
    js = nc.jetstream()
    config = ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, max_ack_pending=2 * batch)
    sub = await js.pull_subscribe(
        settings.subject, durable="raw", stream=settings.stream, config=config
    )
    got = 0
    t0 = time.perf_counter()
    while got < n:
        msgs = await sub.fetch(batch, timeout=2)
        await asyncio.gather(*(m.ack() for m in msgs))
        got += len(msgs)
    await nc.flush()
    seconds = time.perf_counter() - t0
    await js.delete_consumer(settings.stream, "raw")
    await nc.close()
    print(f"fetch+ack: {got} messages in {seconds:.2f} s = {got / seconds:,.0f} msgs/s")
    return got / seconds


async def merge_phase(settings: StreamSettings, batch: int, n: int, folder: Path) -> float:
    """Events/s fetched, merged into the DuckDB state (one transaction per
    batch, with the request-id ledger) and acknowledged."""
    store = DecisionStore(f"sqlite:///{folder / 'decisions.db'}")
    loop = DetectionLoop(
        folder / "spool", folder / "state.duckdb", store, LoopConfig(detect_every_s=1e9)
    )
    loop._last_detect = time.monotonic()  # measure the merge, not detection
    worker = JetStreamWorker(loop, WorkerSettings(stream=settings, batch=batch, linger_s=1.0))
    got = 0
    async with worker:
        t0 = time.perf_counter()
        while got < n:
            got += (await worker.step()).events
        seconds = time.perf_counter() - t0
    loop.close()
    store.close()
    print(
        f"merged into the state: {got} events in {seconds:.2f} s = {got / seconds:,.0f} events/s "
        f"({worker.batches} batches of up to {batch})"
    )
    return got / seconds


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nats-url", default="nats://127.0.0.1:4222")
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument("--batch", type=int, default=5_000)
    args = ap.parse_args()
    tag = uuid.uuid4().hex[:8]
    settings = StreamSettings(url=args.nats_url, stream=f"DGBENCH_{tag}", subject=f"dgbench.{tag}")
    nc = await nats.connect(args.nats_url)
    js = nc.jetstream()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        try:
            await ensure_stream(js, settings)
            await publish_phase(settings, args.events, folder)
            await raw_phase(settings, args.batch, args.events)
            await publish_phase(settings, args.events, folder / "again")
            await merge_phase(settings, args.batch, args.events, folder)
        finally:
            await js.delete_stream(settings.stream)
            await nc.close()


if __name__ == "__main__":
    asyncio.run(main())
