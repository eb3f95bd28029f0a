"""The detection worker on the traffic stream: micro-batches pulled from a
durable JetStream consumer, merged into the live detection state, then
acknowledged.

One cycle: fetch up to ``batch`` messages (waiting at most ``linger_s`` for
more once the stream runs dry), merge them into the state in one DuckDB
transaction together with the ledger of their request ids
(:meth:`~distillguard.live.DetectionLoop.absorb` with ``skip_seen``), and
only then acknowledge them; detection and decisions follow on the loop's own
schedule (``detect_every_s``).

- **Killed mid-batch** (before the commit): nothing of the batch is in the
  state and nothing was acknowledged; JetStream redelivers it after
  ``ack_wait_s``. Killed between the commit and the acknowledgements: the
  batch is redelivered too, and the ledger drops every event of it. Either
  way each request is counted once.
- **One active worker per state.** The detection state is one DuckDB file
  (campaign detectors need every account's traffic in one place: splitting
  accounts across shards would split the campaigns they look for). Workers
  started on the same state file form an active/standby group: the one that
  holds the state's lock consumes, the others wait for the lock and take over
  within ``standby_poll_s`` of its death, from its last commit, on the same
  durable consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
from pathlib import Path

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig
from pydantic import BaseModel, ConfigDict, Field

from distillguard.live.loop import CycleStats, DetectionLoop
from distillguard.streaming.stream import StreamSettings, connect, ensure_stream

log = logging.getLogger(__name__)


class WorkerSettings(BaseModel):
    """The consumer side: which durable consumer, how big a micro-batch."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stream: StreamSettings = StreamSettings()
    consumer: str = Field(default="detect", pattern=r"^[A-Za-z0-9_-]+$")
    batch: int = Field(default=5_000, gt=0)
    linger_s: float = Field(default=1.0, gt=0)
    ack_wait_s: float = Field(default=60.0, gt=0)
    standby_poll_s: float = Field(default=0.5, gt=0)


class StateLock:
    """An exclusive lock beside the state file, held by the active worker; the
    kernel releases it when that process dies, however it dies."""

    def __init__(self, state_path: Path) -> None:
        self.path = state_path.with_name(state_path.name + ".lock")
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    async def acquire(self, poll_s: float) -> None:
        """Wait (on standby) until this process is the active worker."""
        if self.try_acquire():
            return
        log.info("standby: another worker holds %s", self.path)
        while not self.try_acquire():
            await asyncio.sleep(poll_s)
        log.info("active: took over the detection state")

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class JetStreamWorker:
    """Feeds ``loop`` (its state, detection and publisher) from the stream.
    ``async with`` connects; ``step`` is one micro-batch; ``run`` loops."""

    def __init__(self, loop: DetectionLoop, settings: WorkerSettings) -> None:
        self.loop = loop
        self.settings = settings
        self.batches = 0
        self.redelivered = 0  # messages delivered more than once
        self._nc: Client | None = None
        self._sub: JetStreamContext.PullSubscription | None = None

    async def __aenter__(self) -> JetStreamWorker:
        s = self.settings
        self._nc = await connect(s.stream.url)
        js = self._nc.jetstream()
        await ensure_stream(js, s.stream)
        config = ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=s.ack_wait_s,
            max_ack_pending=max(2 * s.batch, 1_000),
            max_deliver=-1,
        )
        self._sub = await js.pull_subscribe(
            s.stream.subject, durable=s.consumer, stream=s.stream.stream, config=config
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.close()  # acks are flushed; drain would wait on the pull inbox
            self._nc = None

    async def fetch(self) -> list[Msg]:
        """Up to ``batch`` messages; waits at most ``linger_s`` in all."""
        assert self._sub is not None, "use the worker as an async context manager"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.linger_s
        msgs: list[Msg] = []
        while len(msgs) < self.settings.batch:
            remaining = deadline - loop.time()
            if remaining <= 0.01:
                break
            try:
                msgs += await self._sub.fetch(self.settings.batch - len(msgs), timeout=remaining)
            except TimeoutError:  # nats' own TimeoutError is a subclass
                break
        return msgs

    async def step(self, *, force_detect: bool = False) -> CycleStats:
        """One micro-batch: fetch, merge (one transaction), acknowledge, and
        detect if it is time."""
        stats = CycleStats(started=time.time())
        cycle_start = time.monotonic()
        msgs = await self.fetch()
        if msgs:
            t0 = time.perf_counter()
            lines = [m.data for m in msgs]
            end = self.loop.state.position
            try:
                await asyncio.to_thread(
                    self.loop.absorb, lines, "jetstream", end, stats, skip_seen=True
                )
            except BaseException:
                await asyncio.gather(*(m.nak() for m in msgs), return_exceptions=True)
                raise
            stats.ingest_s = time.perf_counter() - t0
            await self._ack(msgs)
        await asyncio.to_thread(
            self.loop.finish_cycle, stats, cycle_start, force_detect=force_detect
        )
        return stats

    async def _ack(self, msgs: list[Msg]) -> None:
        self.redelivered += sum(1 for m in msgs if m.metadata.num_delivered > 1)
        await asyncio.gather(*(m.ack() for m in msgs))
        assert self._nc is not None
        await self._nc.flush()
        self.batches += 1

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; a failed batch is redelivered."""
        while not stop.is_set():
            try:
                stats = await self.step()
            except Exception:
                log.exception("detection worker: batch failed; it will be redelivered")
                await asyncio.sleep(1.0)
                continue
            if stats.lines:
                log.info(
                    "batch: %d messages, %d events, %d already absorbed, %.2f s",
                    stats.lines,
                    stats.events,
                    stats.skipped,
                    stats.ingest_s,
                )
