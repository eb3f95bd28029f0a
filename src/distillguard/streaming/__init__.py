"""Traffic through NATS JetStream: the gateways' sink and the detection
worker that consumes the stream. See ``docs/streaming.md``.

The file spool stays the embedded default; this package needs the ``nats``
extra (``nats-py``)."""

from distillguard.streaming.stream import StreamError, StreamSettings, connect, ensure_stream
from distillguard.streaming.worker import JetStreamWorker, StateLock, WorkerSettings

__all__ = [
    "JetStreamWorker",
    "StateLock",
    "StreamError",
    "StreamSettings",
    "WorkerSettings",
    "connect",
    "ensure_stream",
]
