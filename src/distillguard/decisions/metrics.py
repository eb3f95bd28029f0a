"""Prometheus metrics of the decision service, in a registry of its own so that
several services (or tests) in one process do not collide."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

#: Check latency buckets, in seconds: the target is well under a millisecond.
LATENCY_BUCKETS = (
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.002,
    0.005,
    0.01,
    0.025,
    0.1,
)


class ServiceMetrics:
    """Requests, decisions by type, check latency, and the state of the index."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "distillguard_decision_service_requests",
            "HTTP requests served, by endpoint and status.",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.verdicts = Counter(
            "distillguard_check_verdicts",
            "Verdicts of /v1/check, by action (allow when nothing applies).",
            ["action"],
            registry=self.registry,
        )
        self.shadow = Counter(
            "distillguard_check_shadow_matches",
            "Simulated (shadow mode) decisions that matched a checked request, by type.",
            ["type"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "distillguard_check_latency_seconds",
            "Time to answer one /v1/check, from request to response headers.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.loaded = Gauge(
            "distillguard_decisions_loaded",
            "Decisions held by the in-memory index.",
            registry=self.registry,
        )
        self.refresh_errors = Counter(
            "distillguard_decision_refresh_errors",
            "Failed refreshes of the index from the store.",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
