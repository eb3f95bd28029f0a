"""A mirror of the decision store's live decisions in Redis, for gateway
replicas to follow instead of each polling the database.

Keys, all under one prefix:

- ``<prefix>:decisions``: a hash, decision id → the decision's JSON (the
  stream's form, :meth:`Decision.to_json`);
- ``<prefix>:changes``: a stream with one entry per change batch — its
  version ``v`` (1, 2, 3, … with no gap), the store's sequence ``seq`` after
  it, and ``new``/``deleted``, or ``kind=reset`` when the whole hash was
  rewritten (readers then reload it). Trimmed with ``MAXLEN ~``;
- ``<prefix>:state``: a hash with the mirrored ``version``, ``seq`` and the
  store cursor the mirror goes on from;
- ``<prefix>:lock``: the mirror lock (``SET NX PX``, see :mod:`.mirror`);
- ``<prefix>:synced``: present while a mirror has read the store recently.

One change batch is written by one Lua script, which also checks that the
writer still holds the mirror lock: a reader never sees the hash and the
stream disagree, and a mirror that lost its lock cannot write. A reader loads
the hash, the version and the last stream id in one ``MULTI``/``EXEC``, then
follows the stream with ``XREAD BLOCK``; an entry whose version is not the
next one (the stream was trimmed past it, or the cache rebuilt) makes it
reload the hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import orjson
import redis

from distillguard.decisions._errors import StreamError
from distillguard.decisions.matcher import DecisionMatcher
from distillguard.decisions.model import Decision
from distillguard.decisions.store import Cursor, Delta

__all__ = ["CacheFollower", "Change", "LockLost", "RedisDecisionCache", "Snapshot"]

#: A change batch larger than this is written as a reset (readers reload the
#: hash) rather than as one huge stream entry.
MAX_ENTRY_CHANGES = 10_000

# KEYS: decisions, changes, state, lock
# ARGV: token, kind ("delta" or "reset"), replace (1: drop the hash first), seq,
#       cursor, maxlen, n_new, n_deleted, new_json, deleted_json,
#       then n_new (id, json) pairs, then n_deleted ids
_PUBLISH = """
if redis.call('GET', KEYS[4]) ~= ARGV[1] then return -1 end
local n_new, n_del = tonumber(ARGV[7]), tonumber(ARGV[8])
local v = redis.call('HINCRBY', KEYS[3], 'version', 1)
if ARGV[3] == '1' then redis.call('DEL', KEYS[1]) end
local first, last = 11, 10 + 2 * n_new
for i = first, last, 2000 do
  redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + 1999, last)))
end
first, last = last + 1, last + n_del
for i = first, last, 1000 do
  redis.call('HDEL', KEYS[1], unpack(ARGV, i, math.min(i + 999, last)))
end
local entry = {'v', v, 'seq', ARGV[4], 'kind', ARGV[2]}
if ARGV[2] == 'delta' then
  table.insert(entry, 'new'); table.insert(entry, ARGV[9])
  table.insert(entry, 'deleted'); table.insert(entry, ARGV[10])
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', unpack(entry))
redis.call('HSET', KEYS[3], 'seq', ARGV[4], 'cursor', ARGV[5])
return v
"""


class LockLost(StreamError):
    """A write was refused: the writer no longer holds the mirror lock."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The cache at one version, and the stream position to follow it from."""

    decisions: list[Decision]
    version: int
    seq: int
    position: str


@dataclass(frozen=True, slots=True)
class Change:
    """One stream entry; ``reset`` means the hash was rewritten as a whole."""

    position: str
    version: int
    seq: int
    reset: bool
    new: list[Decision] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


class RedisDecisionCache:
    """The keys above, on one Redis client. ``url`` is a ``redis://`` URL."""

    def __init__(
        self,
        url: str,
        prefix: str = "distillguard",
        *,
        maxlen: int = 10_000,
        socket_timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.maxlen = maxlen
        self.redis: redis.Redis = redis.Redis.from_url(
            url, socket_connect_timeout=1.0, socket_timeout=socket_timeout
        )
        self.keys = {
            k: f"{prefix}:{k}" for k in ("decisions", "changes", "state", "lock", "synced")
        }
        self._publish = self.redis.register_script(_PUBLISH)

    def close(self) -> None:
        self.redis.close()

    # -- writing (the mirror) -----------------------------------------------------

    def publish(self, delta: Delta, token: bytes | str) -> int:
        """Write one change batch atomically; returns its version. A start-up
        delta replaces the whole hash; it and a very large delta go in the
        stream as a reset. Raises ``LockLost`` when ``token`` is not the mirror
        lock's current token."""
        reset = delta.startup or len(delta.new) + len(delta.deleted) > MAX_ENTRY_CHANGES
        blobs = [orjson.dumps(d.to_json()) for d in delta.new]
        args: list[Any] = [
            token,
            "reset" if reset else "delta",
            1 if delta.startup else 0,
            delta.cursor.seq,
            delta.cursor.encode(),
            self.maxlen,
            len(blobs),
            len(delta.deleted),
            b"[]" if reset else b"[" + b",".join(blobs) + b"]",
            b"[]" if reset else orjson.dumps(delta.deleted),
        ]
        for d, blob in zip(delta.new, blobs, strict=True):
            args += (d.id, blob)
        args += delta.deleted
        keys = [self.keys[k] for k in ("decisions", "changes", "state", "lock")]
        version = int(cast(int, self._publish(keys=keys, args=args)))
        if version < 0:
            raise LockLost(f"{self.prefix}: the mirror lock is held by another mirror")
        return version

    def mark_synced(self, ttl_s: float) -> None:
        """Tell readers the mirror read the store just now (for ``ttl_s``)."""
        self.redis.set(self.keys["synced"], 1, px=max(1, int(ttl_s * 1000)))

    def cursor(self) -> Cursor | None:
        """The store cursor the cache was last written at (``None``: never)."""
        raw = self.redis.hget(self.keys["state"], "cursor")
        if raw is None:
            return None
        try:
            return Cursor.decode(cast(bytes, raw).decode())
        except ValueError:
            return None

    # -- reading (the replicas) -----------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The hash, its version and the last stream id, read in one transaction."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hgetall(self.keys["decisions"])
        pipe.hmget(self.keys["state"], ["version", "seq"])
        pipe.xrevrange(self.keys["changes"], count=1)
        blobs, (version, seq), last = pipe.execute()
        decisions = [Decision.model_validate_json(b) for b in blobs.values()]
        position = last[0][0].decode() if last else "0-0"
        return Snapshot(decisions, int(version or 0), int(seq or 0), position)

    def changes(self, position: str, block_s: float, count: int = 1000) -> list[Change]:
        """Entries after ``position``, waiting up to ``block_s`` for the first."""
        # RESP2 (the default protocol): [[stream, [(id, fields), ...]]]
        answer: list[Any] = self.redis.xread(  # type: ignore[assignment]
            {self.keys["changes"]: position}, count=count, block=max(1, int(block_s * 1000))
        )
        if not answer:
            return []
        return [_change(entry_id, fields) for entry_id, fields in answer[0][1]]

    def status(self) -> tuple[int, bool]:
        """The cache's version, and whether a mirror has synced it recently."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.hget(self.keys["state"], "version")
        pipe.exists(self.keys["synced"])
        version, synced = pipe.execute()
        return int(version or 0), bool(synced)

    def drop(self) -> None:
        """Delete every key of this prefix (tests, or to rebuild the cache)."""
        self.redis.delete(*self.keys.values())


def _change(entry_id: bytes, fields: dict[bytes, bytes]) -> Change:
    reset = fields[b"kind"] == b"reset"
    return Change(
        position=entry_id.decode(),
        version=int(fields[b"v"]),
        seq=int(fields[b"seq"]),
        reset=reset,
        new=[] if reset else [Decision.model_validate(d) for d in orjson.loads(fields[b"new"])],
        deleted=[] if reset else [str(i) for i in orjson.loads(fields[b"deleted"])],
    )


class CacheFollower:
    """Keeps a matcher in step with the cache: the snapshot on the first pull,
    then each :meth:`pull` waits up to ``block_s`` for stream entries and applies
    them. A gap in the versions, a reset entry or a cache older than the
    follower's version makes it reload the snapshot. A pull raises
    ``StreamError`` when Redis cannot be reached or no mirror has synced the
    cache lately, which makes the gateway's source stale."""

    def __init__(self, cache: RedisDecisionCache, *, block_s: float = 1.0) -> None:
        self.cache = cache
        self.block_s = block_s
        self.version: int | None = None
        self.seq = 0
        self.position = "0-0"
        self.reloads = 0

    def pull(self, matcher: DecisionMatcher) -> int:
        """One round into ``matcher``; returns the number of decisions applied."""
        try:
            applied = self._step(matcher)
            version, synced = self.cache.status()
            if self.version is not None and version < self.version:
                applied += self._load(matcher)  # the cache was rebuilt from scratch
        except redis.RedisError as exc:
            raise StreamError(f"{self.cache.url}: decision cache unreachable: {exc}") from exc
        if not synced:
            raise StreamError(f"{self.cache.prefix}: no mirror has synced the decision cache")
        return applied

    def _step(self, matcher: DecisionMatcher) -> int:
        if self.version is None:
            return self._load(matcher)
        changes = self.cache.changes(self.position, self.block_s)
        applied = 0
        for change in changes:
            if change.reset or change.version != self.version + 1:
                return applied + self._load(matcher)
            matcher.apply(change.new, change.deleted)
            applied += len(change.new) + len(change.deleted)
            self.version, self.seq, self.position = change.version, change.seq, change.position
        return applied

    def _load(self, matcher: DecisionMatcher) -> int:
        snap = self.cache.snapshot()
        matcher.replace(snap.decisions)
        self.version, self.seq, self.position = snap.version, snap.seq, snap.position
        self.reloads += 1
        return len(snap.decisions)

    def close(self) -> None:
        self.cache.close()
