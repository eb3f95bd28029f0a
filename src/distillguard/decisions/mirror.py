"""The mirror: follows the decision store's change sequence and writes each
change batch into the Redis decision cache, so that gateway replicas follow
Redis instead of each polling the database.

Several mirrors may run (one beside each decision service, say); a Redis lock
(``SET NX PX``, redis-py's :class:`~redis.lock.Lock`) lets one write at a
time. The holder renews it every round; if it stops or hangs, the lock
expires after ``lock_ttl_s`` and a standby takes over from the store cursor
kept in the cache, so no change is lost or sent twice. A write also checks
the lock inside Redis, so a mirror that lost it cannot write.

    mirror = DecisionMirror(DecisionStore(db), RedisDecisionCache(redis_url))
    mirror.start()        # a background thread; or mirror.step() in a loop
"""

from __future__ import annotations

import contextlib
import logging
import threading

import redis
from redis.exceptions import LockError
from redis.lock import Lock

from distillguard._exceptions import DistillGuardError
from distillguard.decisions.rediscache import LockLost, RedisDecisionCache
from distillguard.decisions.store import Cursor, DecisionStore

__all__ = ["DecisionMirror"]

log = logging.getLogger(__name__)


class DecisionMirror:
    """Copies ``store``'s changes into ``cache`` every ``interval_s`` while it
    holds the mirror lock. ``heartbeat_s`` is how long readers count the cache
    as synced after the last successful read of the store."""

    def __init__(
        self,
        store: DecisionStore,
        cache: RedisDecisionCache,
        *,
        interval_s: float = 0.2,
        lock_ttl_s: float = 5.0,
        heartbeat_s: float = 5.0,
    ) -> None:
        self.store = store
        self.cache = cache
        self.interval_s = interval_s
        self.heartbeat_s = heartbeat_s
        self.lock = Lock(
            cache.redis, cache.keys["lock"], timeout=lock_ttl_s, blocking=False, thread_local=False
        )
        self.holding = False
        self.published = 0
        self._cursor: Cursor | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self) -> bool:
        """One round: take or keep the lock, read what changed in the store and
        write it to the cache. True when this mirror holds the lock."""
        if not self._hold():
            return False
        delta = self.store.changes(self._cursor)
        if delta.startup or delta.new or delta.deleted:
            try:
                self.cache.publish(delta, self._token())
            except LockLost:
                log.warning("decision mirror: lost the lock to another mirror")
                self.holding = False
                return False
            self.published += 1
        self._cursor = delta.cursor
        self.cache.mark_synced(self.heartbeat_s)
        return True

    def _hold(self) -> bool:
        if self.holding:
            try:
                self.lock.reacquire()
                return True
            except LockError:
                log.warning("decision mirror: the lock expired; trying to take it again")
                self.holding = False
        if not self.lock.acquire(blocking=False):
            return False
        self.holding = True
        self._cursor = self.cache.cursor()  # go on where the last holder stopped
        return True

    def _token(self) -> bytes:
        token = self.lock.local.token
        assert token is not None, "the lock is held, so it has a token"
        return bytes(token)

    def run(self, stop: threading.Event | None = None) -> None:
        """Mirror until ``stop`` is set; errors of the store or Redis are logged
        and retried (readers see the cache go stale meanwhile)."""
        stop = stop or self._stop
        last_error = ""
        while not stop.is_set():
            try:
                self.step()
                last_error = ""
            except (DistillGuardError, redis.RedisError) as exc:
                if str(exc) != last_error:
                    log.warning("decision mirror: %s", exc)
                last_error = str(exc)
            stop.wait(self.interval_s)
        self.release()

    def release(self) -> None:
        """Give the lock up, so that a standby takes over at once."""
        if self.holding:
            with contextlib.suppress(LockError, redis.RedisError):
                self.lock.release()  # (expired or unreachable: it lapses by itself)
            self.holding = False

    def start(self) -> DecisionMirror:
        """Run in a background thread (tests, or beside another service)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self.run, name="decision-mirror", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> DecisionMirror:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
