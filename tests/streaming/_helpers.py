"""A detection worker in the test process, and what its state holds."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import nats
import orjson

from distillguard.decisions.store import DecisionStore
from distillguard.live.config import LoopConfig
from distillguard.live.loop import DetectionLoop
from distillguard.live.state import LiveState
from distillguard.streaming import JetStreamWorker, StreamSettings, WorkerSettings


def make_loop(folder: Path) -> DetectionLoop:
    folder.mkdir(parents=True, exist_ok=True)
    store = DecisionStore(f"sqlite:///{folder / 'decisions.db'}")
    return DetectionLoop(
        folder / "spool", folder / "state.duckdb", store, LoopConfig(detect_every_s=3600)
    )


def worker(loop: DetectionLoop, stream: StreamSettings, **fields: object) -> JetStreamWorker:
    settings = WorkerSettings.model_validate({"stream": stream, "linger_s": 0.3, **fields})
    return JetStreamWorker(loop, settings)


def ledger(state: LiveState) -> Counter[str]:
    rows = state.con.execute("SELECT request_id FROM live_requests").fetchall()
    return Counter(str(r[0]) for r in rows)


async def publish(
    stream: StreamSettings, events: list[dict[str, object]], msg_ids: list[str] | None = None
) -> int:
    """Publish ``events`` (``Nats-Msg-Id``: ``msg_ids`` or the request ids);
    returns how many the stream stored (a duplicate is acknowledged, not stored)."""
    nc = await nats.connect(stream.url)
    try:
        js = nc.jetstream()
        stored = 0
        for i, ev in enumerate(events):
            mid = msg_ids[i] if msg_ids is not None else str(ev["request_id"])
            ack = await js.publish(stream.subject, orjson.dumps(ev), headers={"Nats-Msg-Id": mid})
            stored += 0 if ack.duplicate else 1
        return stored
    finally:
        await nc.close()


async def stream_state(stream: StreamSettings) -> tuple[int, int]:
    """Messages in the stream, and messages delivered but not acknowledged."""
    nc = await nats.connect(stream.url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream.stream)
        try:
            consumer = await js.consumer_info(stream.stream, "detect")
            pending = consumer.num_ack_pending or 0
        except nats.js.errors.NotFoundError:
            pending = 0
        return int(info.state.messages), int(pending)
    finally:
        await nc.close()
