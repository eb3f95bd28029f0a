"""Gateway configuration: one strict YAML file, overridable by CLI flags.

An unknown key is an error; the file is validated without I/O first (the key
file, the upstream and the decision source are only opened at start-up).

    upstream: http://127.0.0.1:8001
    keys: keys.yaml
    ratelimit:
      storage: redis://127.0.0.1:6379/0
      fail_open: false
    decisions:
      url: http://decisions.internal:8080
      token: ${DISTILLGUARD_DECISIONS_TOKEN}
      # or: redis: redis://127.0.0.1:6379/0  (the decision cache a mirror keeps)
    spool:
      dir: /var/spool/distillguard
      fsync: interval
    traffic:                      # where events go: the spool (default) or JetStream
      sink: jetstream             # with the spool as the fallback when JetStream refuses
      url: nats://127.0.0.1:4222
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from distillguard._exceptions import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateLimitConfig(_Strict):
    """Per-account limits. Accounts are limited when a throttle decision applies
    to them, or always when a default rate is set here."""

    storage: str = "memory://"
    strategy: Literal["fixed-window", "moving-window"] = "fixed-window"
    fail_open: bool = True
    default_max_tokens: int = Field(default=4096, gt=0)
    requests_per_minute: int | None = Field(default=None, gt=0)
    tokens_per_minute: int | None = Field(default=None, gt=0)
    key_prefix: str = "distillguard"


class DecisionSourceConfig(_Strict):
    """Where decisions come from: a remote decision stream (``url``), a decision
    database in this process (``database``, an SQLAlchemy URL), the Redis
    decision cache a mirror keeps (``redis``, with its key ``prefix``), or none
    of these (decisions are then only what the embedding program applies).

    ``url`` and ``database`` are pulled every ``poll_interval_s``; ``redis`` is
    followed as it changes, and ``poll_interval_s`` is then the wait before
    trying again after a failure."""

    url: str | None = None
    token: str | None = None
    database: str | None = None
    redis: str | None = Field(default=None, pattern=r"^(redis|rediss|unix)://")
    prefix: str = Field(default="distillguard", pattern=r"^[A-Za-z0-9_.:-]+$")
    poll_interval_s: float = Field(default=2.0, gt=0)
    max_staleness_s: float = Field(default=30.0, gt=0)
    fail_open: bool = True

    @model_validator(mode="after")
    def _one_source(self) -> DecisionSourceConfig:
        given = [k for k in ("url", "database", "redis") if getattr(self, k)]
        if len(given) > 1:
            got = " and ".join(given)
            raise ValueError(f"decisions: give only one of url, database and redis, not {got}")
        return self


class SpoolConfig(_Strict):
    dir: Path | None = None
    fsync: Literal["always", "interval", "never"] = "interval"
    fsync_interval_s: float = Field(default=1.0, gt=0)
    segment_bytes: int = Field(default=64 << 20, gt=0)
    keep_prompts: bool = True
    keep_responses: bool = False


class TrafficConfig(_Strict):
    """Where the traffic events go. ``spool`` writes them to ``spool.dir``;
    ``jetstream`` publishes them to a NATS JetStream stream from a bounded
    in-memory queue, and writes to ``spool.dir`` whatever it cannot publish
    (queue full, stream full, server down), to publish it later."""

    sink: Literal["spool", "jetstream"] = "spool"
    url: str = "nats://127.0.0.1:4222"
    stream: str = Field(default="DG_TRAFFIC", pattern=r"^[A-Za-z0-9_-]+$")
    subject: str = Field(default="dg.traffic", pattern=r"^[A-Za-z0-9_.-]+$")
    queue_size: int = Field(default=10_000, gt=0)
    max_in_flight: int = Field(default=1_000, gt=0)
    publish_timeout_s: float = Field(default=2.0, gt=0)
    replay_interval_s: float = Field(default=5.0, gt=0)


class GatewayConfig(_Strict):
    upstream: str = "http://127.0.0.1:8001"
    upstream_api_key: str | None = None
    upstream_timeout_s: float = Field(default=600.0, gt=0)
    upstream_connections: int = Field(default=256, gt=0)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    keys: Path | None = None
    account_header: str | None = None
    trust_forwarded_for: bool = False
    max_body_bytes: int = Field(default=16 << 20, gt=0)
    ratelimit: RateLimitConfig = RateLimitConfig()
    decisions: DecisionSourceConfig = DecisionSourceConfig()
    spool: SpoolConfig = SpoolConfig()
    traffic: TrafficConfig = TrafficConfig()

    @model_validator(mode="after")
    def _auth(self) -> GatewayConfig:
        if self.keys is None and self.account_header is None:
            raise ValueError("give keys (an API key file) or account_header")
        if self.traffic.sink == "jetstream" and self.spool.dir is None:
            raise ValueError("traffic.sink jetstream needs spool.dir for its fallback")
        return self


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand(value: Any) -> Any:
    """``${NAME}`` in strings is replaced by the environment variable (secrets stay out of files)."""
    if isinstance(value, str):
        return _ENV.sub(lambda m: os.environ.get(m.group(1), ""), value)
    if isinstance(value, dict):
        return {k: _expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v) for v in value]
    return value


def load_config(path: Path | None = None, **overrides: Any) -> GatewayConfig:
    """The configuration in ``path`` (YAML) with ``overrides`` applied on top;
    nested sections are given as ``{"ratelimit": {...}}``."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text("utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read gateway config {path}: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the gateway config must be a mapping")
        data = _expand(loaded or {})
        if path is not None and isinstance(data.get("keys"), str):
            data["keys"] = str((path.parent / data["keys"]).resolve())
    for key, value in overrides.items():
        if value is None:
            continue
        if isinstance(value, dict):
            data[key] = {**data.get(key, {}), **{k: v for k, v in value.items() if v is not None}}
        else:
            data[key] = value
    try:
        return GatewayConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"invalid gateway config: {exc}") from exc
