"""The traffic stream: one NATS JetStream stream the gateways publish to and
the detection worker consumes from.

The stream is a *work queue* (a message is removed once the worker has
acknowledged it) with hard limits: when the backlog reaches ``max_msgs`` or
``max_bytes``, JetStream refuses new messages (``discard: new``) instead of
dropping old ones, and the gateways fall back to their local spool. Messages
carry ``Nats-Msg-Id: <request_id>``, so a publish retried within
``duplicate_window_s`` is stored once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import APIError, NotFoundError
from pydantic import BaseModel, ConfigDict, Field

from distillguard._exceptions import DistillGuardError

log = logging.getLogger(__name__)


class StreamError(DistillGuardError):
    """The traffic stream cannot be reached or set up."""


class StreamSettings(BaseModel):
    """The stream and its limits (the worker creates or updates it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = "nats://127.0.0.1:4222"
    stream: str = Field(default="DG_TRAFFIC", pattern=r"^[A-Za-z0-9_-]+$")
    subject: str = Field(default="dg.traffic", pattern=r"^[A-Za-z0-9_.-]+$")
    max_msgs: int = Field(default=5_000_000, gt=0)
    max_bytes: int = Field(default=8 << 30, gt=0)
    max_age_s: float = Field(default=7 * 24 * 3600.0, gt=0)
    duplicate_window_s: float = Field(default=120.0, gt=0)
    storage: str = Field(default="file", pattern=r"^(file|memory)$")

    def stream_config(self) -> StreamConfig:
        return StreamConfig(
            name=self.stream,
            subjects=[self.subject],
            retention=RetentionPolicy.WORK_QUEUE,
            discard=DiscardPolicy.NEW,
            max_msgs=self.max_msgs,
            max_bytes=self.max_bytes,
            max_age=self.max_age_s,
            duplicate_window=self.duplicate_window_s,
            storage=StorageType.FILE if self.storage == "file" else StorageType.MEMORY,
        )


async def _log_error(exc: Exception) -> None:
    log.debug("nats: %s", exc)


async def connect(url: str, timeout_s: float = 2.0, **options: Any) -> Client:
    """A NATS connection that, once made, keeps reconnecting; a first
    connection that does not succeed within ``timeout_s`` raises
    :class:`StreamError` (the client alone would retry it for ever)."""
    try:
        return await asyncio.wait_for(
            nats.connect(
                url,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                connect_timeout=timeout_s,
                error_cb=_log_error,
                **options,
            ),
            timeout_s,
        )
    except Exception as exc:  # nats raises OSError, TimeoutError, NoServersError
        raise StreamError(f"cannot connect to NATS at {url}: {exc or type(exc).__name__}") from exc


async def ensure_stream(js: JetStreamContext, settings: StreamSettings) -> None:
    """Create the stream, or bring an existing one's limits to ``settings``
    (its storage and retention are kept: JetStream cannot change them)."""
    config = settings.stream_config()
    try:
        try:
            info = await js.stream_info(settings.stream)
        except NotFoundError:
            await js.add_stream(config)
            return
        current = info.config
        limits = ("max_msgs", "max_bytes", "max_age", "duplicate_window", "discard")
        if any(getattr(current, k) != getattr(config, k) for k in limits):
            for key in limits:
                setattr(current, key, getattr(config, key))
            await js.update_stream(current)
    except APIError as exc:
        raise StreamError(f"stream {settings.stream}: {exc}") from exc
