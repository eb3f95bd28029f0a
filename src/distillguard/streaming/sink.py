"""The gateway's JetStream sink: events published off the request path, the
local spool whenever the stream cannot take them.

``submit`` only puts the encoded event on a bounded in-memory queue; a
background task publishes the queue in pipelined batches (``max_in_flight``
unacknowledged publishes at most) and waits ``publish_timeout_s`` for the
stream's acknowledgements. An event the stream does not acknowledge is
written to the spool, never dropped:

- ``queue_full``: the publisher fell behind and the queue is full;
- ``refused``: JetStream answered with an error (the stream is at its
  ``max_msgs``/``max_bytes`` limit: back-pressure from detection falling
  behind), or no stream listens on the subject;
- ``timeout``: no acknowledgement in time (the server is slow or away);
- ``disconnected``: no connection to NATS.

Every ``replay_interval_s`` while the queue is idle, the spooled events are
published again (consumer ``jetstream`` of the spool) and the published
segments pruned. A replay can publish an event twice (its first publish was
stored but acknowledged too late); the stream drops a repeat within its
duplicate window (``Nats-Msg-Id`` is the ``request_id``) and the worker's
ledger drops any later one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import nats.errors
import nats.js.errors
import orjson
from nats.aio.client import Client
from nats.js import JetStreamContext

from distillguard.gateway.config import TrafficConfig
from distillguard.gateway.metrics import GatewayMetrics
from distillguard.gateway.sink import TrafficSink
from distillguard.gateway.spool import SpoolReader, SpoolWriter
from distillguard.streaming.stream import StreamError, connect

log = logging.getLogger(__name__)

Item = tuple[str | None, bytes]  # request_id, encoded event
_DUPLICATE = "duplicate"  # acknowledged, but the stream already had it (a replay)


class JetStreamSink(TrafficSink):
    """Publishes events to ``config.subject``; ``spool`` takes what it cannot."""

    def __init__(self, config: TrafficConfig, spool: SpoolWriter, metrics: GatewayMetrics) -> None:
        self.config = config
        self.spool = spool
        self.metrics = metrics
        self._queue: asyncio.Queue[Item | None] = asyncio.Queue(config.queue_size)
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._retry_at = 0.0  # no new connection attempt before (event loop time)
        self._replay = SpoolReader(spool.folder, "jetstream")

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="jetstream-sink")

    def submit(self, event: dict[str, Any]) -> None:
        rid = event.get("request_id")
        item = (rid if isinstance(rid, str) else None, orjson.dumps(event))
        if self._closing or self._task is None:
            self._spill([item], "disconnected")
            return
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self._spill([item], "queue_full")

    async def close(self) -> None:
        self._closing = True
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)  # wake the publisher
        if self._task is not None:
            await self._task
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.close()  # every publish was acknowledged or spooled

    # -- the background publisher ------------------------------------------------

    async def _run(self) -> None:
        last_replay = 0.0
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._take()
            self.metrics.sink_queue.set(self._queue.qsize())
            if batch:
                await self._deliver(batch)
            if self._closing and self._queue.empty():
                return
            if not batch and loop.time() - last_replay >= self.config.replay_interval_s:
                last_replay = loop.time()
                await self._replay_spool()

    async def _take(self) -> list[Item]:
        """Up to ``max_in_flight`` queued events, waiting a little for the first."""
        try:
            first = await asyncio.wait_for(self._queue.get(), self.config.replay_interval_s)
        except TimeoutError:
            return []
        batch = [first] if first is not None else []
        while len(batch) < self.config.max_in_flight and not self._queue.empty():
            item = self._queue.get_nowait()
            if item is not None:
                batch.append(item)
        return batch

    async def _deliver(self, batch: list[Item]) -> None:
        js = await self._stream()
        if js is None:
            self._spill(batch, "disconnected")
            return
        failed = await self._publish(js, batch)
        for reason, items in failed.items():
            self._spill(items, reason)

    async def _stream(self) -> JetStreamContext | None:
        """The JetStream context, connecting when there is none yet."""
        if self._nc is not None:
            return self._js if self._nc.is_connected else None
        now = asyncio.get_running_loop().time()
        if now < self._retry_at:
            return None
        try:
            self._nc = await connect(self.config.url, max_outstanding_pings=3)
        except StreamError as exc:
            log.warning("traffic stream: %s; events go to the spool", exc)
            self._retry_at = now + self.config.replay_interval_s
            return None
        self._js = self._nc.jetstream()
        return self._js

    async def _publish(self, js: JetStreamContext, batch: list[Item]) -> dict[str, list[Item]]:
        """Publish ``batch`` pipelined (every request in flight at once); the
        items not acknowledged, by reason. (``publish_async`` of nats-py 2.16
        loses the stream's refusals, which then look like timeouts.)"""
        reasons = await asyncio.gather(*(self._publish_one(js, item) for item in batch))
        failed: dict[str, list[Item]] = {}
        for item, reason in zip(batch, reasons, strict=True):
            if reason is None:
                self.metrics.published.inc()
            elif reason != _DUPLICATE:
                failed.setdefault(reason, []).append(item)
        return failed

    async def _publish_one(self, js: JetStreamContext, item: Item) -> str | None:
        headers = {"Nats-Msg-Id": item[0]} if item[0] else None
        try:
            ack = await js.publish(
                self.config.subject,
                item[1],
                timeout=self.config.publish_timeout_s,
                stream=self.config.stream,
                headers=headers,
            )
        except nats.errors.TimeoutError:
            return "timeout"
        except (nats.js.errors.APIError, nats.js.errors.NoStreamResponseError):
            return "refused"  # the stream is full, or no stream takes the subject
        except Exception:  # the connection closed, its buffer overflowed
            return "disconnected"
        return _DUPLICATE if ack.duplicate else None

    def _spill(self, items: list[Item], reason: str) -> None:
        for _, payload in items:
            try:
                self.spool.append_raw(payload + b"\n")
            except OSError as exc:
                log.error("traffic spool write failed, event lost: %s", exc)
                continue
            self.metrics.spooled.inc()
            self.metrics.fallback.labels(reason).inc()

    async def _replay_spool(self) -> None:
        """Publish what was spooled, a batch at a time, while the stream takes it."""
        while not self._closing and (js := await self._stream()) is not None:
            batch = await asyncio.to_thread(self._replay.read, 1 << 20)
            if not batch.lines:
                return
            items = [(_request_id(line), line) for line in batch.lines]
            for start in range(0, len(items), self.config.max_in_flight):
                chunk = items[start : start + self.config.max_in_flight]
                if await self._publish(js, chunk):
                    return  # the stream still refuses; keep the spool, try later
            await asyncio.to_thread(self._commit, batch.end)

    def _commit(self, end: Any) -> None:
        self._replay.commit(end)
        self._replay.prune()


def _request_id(line: bytes) -> str | None:
    try:
        rid = orjson.loads(line).get("request_id")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return rid if isinstance(rid, str) else None
