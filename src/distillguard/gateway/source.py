"""Keeps the gateway's decision matcher fresh, and knows how fresh it is.

Decisions come from a remote decision service (the ``{new, deleted}`` stream,
pulled by :class:`~distillguard.decisions.DecisionStreamClient`), from a
decision database in the same process, from the Redis decision cache a mirror
keeps (followed as it changes, see :mod:`distillguard.decisions.rediscache`),
or only from what the embedding program applies itself. A background thread
pulls every ``poll_interval_s`` (or, on the Redis cache, waits on its stream
and retries after ``poll_interval_s`` when that fails); when no pull has
succeeded for ``max_staleness_s`` the source is *stale*, and the gateway fails
open (serves on the last decisions it had) or closed (refuses with 503) as
configured.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from distillguard.decisions import DecisionMatcher, DecisionStreamClient
from distillguard.gateway.config import DecisionSourceConfig

if TYPE_CHECKING:
    from distillguard.decisions.rediscache import CacheFollower

log = logging.getLogger(__name__)

Puller = Callable[[DecisionMatcher], int]


class DecisionSource:
    """``start()`` the background pulls; ``fresh`` tells whether they succeed."""

    def __init__(
        self,
        matcher: DecisionMatcher,
        config: DecisionSourceConfig,
        pull: Puller | None = None,
    ) -> None:
        self.matcher = matcher
        self.config = config
        self._follower = _follower(config) if pull is None else None
        self._pull = pull or (self._follower.pull if self._follower else _puller(config))
        self.last_ok: float | None = None
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def remote(self) -> bool:
        """Whether decisions come from somewhere that can fail."""
        return self._pull is not None

    @property
    def fresh(self) -> bool:
        if self._pull is None:
            return True
        last = self.last_ok
        return last is not None and time.monotonic() - last <= self.config.max_staleness_s

    def pull_once(self) -> bool:
        """One pull (and purge of expired decisions); False when it failed."""
        if self._pull is None:
            self.matcher.purge()
            return True
        try:
            self._pull(self.matcher)
        except Exception as exc:  # any failure of the source only makes it stale
            if self.last_error != str(exc):
                log.warning("decision source: %s", exc)
            self.last_error = str(exc)
            return False
        self.matcher.purge()
        self.last_ok = time.monotonic()
        self.last_error = None
        return True

    def start(self) -> None:
        if self._thread is not None:
            return
        self.pull_once()
        self._thread = threading.Thread(target=self._run, name="decision-source", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # A follower's pull waits for changes itself: pull again at once, and
        # only pause after a failure (so an unreachable Redis is not hammered).
        wait = 0.0 if self._follower is not None else self.config.poll_interval_s
        while not self._stop.wait(wait):
            ok = self.pull_once()
            if self._follower is not None:
                wait = 0.0 if ok else self.config.poll_interval_s

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._follower is not None:
            self._follower.close()


def _follower(config: DecisionSourceConfig) -> CacheFollower | None:
    """A follower of the Redis decision cache; it waits on the stream for at
    most a third of ``max_staleness_s`` (and a second), so freshness is
    refreshed well before it runs out."""
    if not config.redis:
        return None
    from distillguard.decisions.rediscache import CacheFollower, RedisDecisionCache

    block_s = min(1.0, config.max_staleness_s / 3)
    cache = RedisDecisionCache(config.redis, config.prefix, socket_timeout=block_s + 2.0)
    return CacheFollower(cache, block_s=block_s)


def _puller(config: DecisionSourceConfig) -> Puller | None:
    if config.url:
        client = DecisionStreamClient(config.url, config.token or "")
        return client.pull
    if config.database:
        return _database_puller(config.database)
    return None


def _database_puller(url: str) -> Puller:
    """Pull from a decision database directly: a snapshot first, then the changes
    since the cursor of the previous pull (kept here, so that every gateway
    process gets every change). The store is opened on the first pull, so an
    unreachable database makes the source stale instead of failing start-up."""
    from distillguard.decisions.store import Cursor, DecisionStore

    store: DecisionStore | None = None
    cursor: Cursor | None = None

    def pull(matcher: DecisionMatcher) -> int:
        nonlocal store, cursor
        if store is None:
            store = DecisionStore(url)
        delta = store.changes(cursor)
        if delta.startup:  # the first pull, or a cursor the store cannot follow
            matcher.replace(delta.new)
        else:
            matcher.apply(delta.new, delta.deleted)
        cursor = delta.cursor
        return len(delta.new) + len(delta.deleted)

    return pull
