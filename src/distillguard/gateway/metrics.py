"""Prometheus metrics of one gateway (its own registry, so that several
gateways in one process — tests, the live demo — do not collide)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_FAST = (0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1)
_SLOW = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "distillguard_gateway_requests",
            "Requests answered, by endpoint, HTTP status and enforcement action.",
            ["endpoint", "status", "action"],
            registry=r,
        )
        self.upstream_seconds = Histogram(
            "distillguard_gateway_upstream_seconds",
            "Time from forwarding a request to the upstream's response headers.",
            ["endpoint"],
            buckets=_SLOW,
            registry=r,
        )
        self.added_seconds = Histogram(
            "distillguard_gateway_added_seconds",
            "Time the gateway itself adds before and after the upstream call "
            "(to the first byte sent back).",
            buckets=_FAST,
            registry=r,
        )
        self.limiter_errors = Counter(
            "distillguard_gateway_limiter_errors",
            "Rate limit storage failures (requests then fail open or closed as configured).",
            registry=r,
        )
        self.decisions_up = Gauge(
            "distillguard_gateway_decisions_fresh",
            "1 when the decision source answered within max_staleness_s.",
            registry=r,
        )
        self.decisions = Gauge(
            "distillguard_gateway_decisions", "Decisions held by the matcher.", registry=r
        )
        self.spooled = Counter(
            "distillguard_gateway_spooled_events",
            "Events written to the traffic spool.",
            registry=r,
        )
        self.published = Counter(
            "distillguard_gateway_published_events",
            "Events the traffic stream (JetStream) stored (replays of the spool included, "
            "repeats it already held excluded).",
            registry=r,
        )
        self.fallback = Counter(
            "distillguard_gateway_fallback_events",
            "Events written to the spool because the traffic stream could not take them, "
            "by reason (queue_full, refused, timeout, disconnected).",
            ["reason"],
            registry=r,
        )
        self.sink_queue = Gauge(
            "distillguard_gateway_sink_queue",
            "Events waiting in memory to be published to the traffic stream.",
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
