"""Where the gateway sends its traffic events.

A :class:`TrafficSink` receives one ``EVENT_SCHEMA`` event per answered
request. ``submit`` runs on the event loop right after the answer, so it must
never wait on the network: the spool sink appends to a local file, the
JetStream sink (:mod:`distillguard.streaming.sink`) queues the event in memory
and publishes it from a background task.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any

from distillguard.gateway.config import GatewayConfig
from distillguard.gateway.metrics import GatewayMetrics
from distillguard.gateway.spool import SpoolWriter

log = logging.getLogger(__name__)


class TrafficSink(ABC):
    """One place traffic events go. ``start`` and ``close`` run on the
    gateway's event loop (ASGI lifespan)."""

    async def start(self) -> None:  # noqa: B027 - optional hook, nothing to start by default
        """Start background work, if any."""

    @abstractmethod
    def submit(self, event: dict[str, Any]) -> None:
        """Take one event without blocking the event loop."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Deliver or persist what is still held; the sink takes no more events."""


class SpoolSink(TrafficSink):
    """Events appended to the local spool (the embedded default)."""

    def __init__(self, spool: SpoolWriter, metrics: GatewayMetrics) -> None:
        self.spool = spool
        self.metrics = metrics

    def submit(self, event: dict[str, Any]) -> None:
        try:
            self.spool.append(event)
        except OSError as exc:  # a full disk must not take the gateway down with it
            log.error("traffic spool write failed: %s", exc)
            return
        self.metrics.spooled.inc()

    async def close(self) -> None:
        """The spool itself is closed by its owner (the gateway)."""


def open_sink(
    config: GatewayConfig, spool: SpoolWriter | None, metrics: GatewayMetrics
) -> TrafficSink | None:
    """The sink ``config.traffic`` names (``None``: traffic is not recorded)."""
    if spool is None:
        return None
    if config.traffic.sink == "jetstream":
        from distillguard.streaming.sink import JetStreamSink

        return JetStreamSink(config.traffic, spool, metrics)
    return SpoolSink(spool, metrics)
