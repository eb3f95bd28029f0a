"""The Redis decision cache, its mirror and its follower, on a real Redis
(required in CI) and the SQLite and PostgreSQL stores."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from distillguard.cli import app
from distillguard.decisions import Decision, DecisionMatcher, StreamError
from distillguard.decisions import rediscache as rc
from distillguard.decisions.mirror import DecisionMirror
from distillguard.decisions.model import utcnow
from distillguard.decisions.rediscache import CacheFollower, LockLost, RedisDecisionCache
from distillguard.decisions.store import Cursor, DecisionStore, Delta
from tests.streaming.conftest import require

REDIS_URL = os.environ.get("DISTILLGUARD_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture
def cache() -> Iterator[RedisDecisionCache]:
    """A cache under a prefix of this test only."""
    require("Redis", REDIS_URL)
    c = RedisDecisionCache(REDIS_URL, "dgtest" + uuid.uuid4().hex[:8])
    yield c
    c.drop()
    c.close()


def block(value: str) -> Decision:
    return Decision(type="block", scope="account", value=value, origin="analyst")


def ids(decisions: list[Decision]) -> list[str]:
    return sorted(d.id for d in decisions)


def follow(cache: RedisDecisionCache) -> tuple[CacheFollower, DecisionMatcher]:
    return CacheFollower(cache, block_s=0.05), DecisionMatcher()


def test_snapshot_then_changes_round_trip(store: DecisionStore, cache: RedisDecisionCache) -> None:
    first = [block(f"acct_{i}") for i in range(3)]
    store.add(first)
    mirror = DecisionMirror(store, cache)
    assert mirror.step()
    follower, matcher = follow(cache)
    assert follower.pull(matcher) == 3
    assert ids(matcher.decisions()) == ids(first)

    short = Decision(
        type="suspend",
        scope="ip",
        value="203.0.113.9",
        origin="analyst",
        until=utcnow() + timedelta(seconds=1),
    )
    store.add([block("acct_new"), short])
    store.delete(first[0].id)
    mirror.step()
    follower.pull(matcher)
    assert ids(matcher.decisions()) == ids(store.active())
    assert follower.reloads == 1  # the changes came as deltas, no reload
    assert follower.seq == store.changes(None).cursor.seq

    time.sleep(1.1)  # the short decision expires: the mirror reports it deleted
    mirror.step()
    follower.pull(matcher)
    assert short.id not in ids(matcher.decisions())
    assert len(cache.redis.hkeys(cache.keys["decisions"])) == len(store.active())


def _publish(cache: RedisDecisionCache, token: str, new: list[Decision], seq: int) -> int:
    delta = Delta(new, [], Cursor(seq, utcnow()), startup=seq == 1)
    return cache.publish(delta, token)


def _hold(cache: RedisDecisionCache, token: str = "t1") -> str:
    cache.redis.set(cache.keys["lock"], token)
    return token


def test_trimmed_stream_makes_the_follower_reload(cache: RedisDecisionCache) -> None:
    token = _hold(cache)
    cache.mark_synced(10)
    _publish(cache, token, [block("acct_0")], 1)
    follower, matcher = follow(cache)
    follower.pull(matcher)
    for i in range(1, 4):
        _publish(cache, token, [block(f"acct_{i}")], i + 1)
    cache.redis.xtrim(cache.keys["changes"], maxlen=1, approximate=False)
    follower.pull(matcher)
    assert follower.reloads == 2
    assert sorted(d.value for d in matcher.decisions()) == [f"acct_{i}" for i in range(4)]
    assert follower.version == 4


def test_large_batch_is_announced_as_a_reset(
    cache: RedisDecisionCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = _hold(cache)
    cache.mark_synced(10)
    _publish(cache, token, [block("acct_0")], 1)
    follower, matcher = follow(cache)
    follower.pull(matcher)
    monkeypatch.setattr(rc, "MAX_ENTRY_CHANGES", 2)
    _publish(cache, token, [block(f"acct_big_{i}") for i in range(3)], 2)
    (entry,) = cache.changes(follower.position, 0.05)
    assert entry.reset and not entry.new
    follower.pull(matcher)
    assert follower.reloads == 2 and len(matcher) == 4  # the hash kept acct_0


def test_readers_never_see_hash_and_stream_disagree(cache: RedisDecisionCache) -> None:
    """Each change adds decision i and deletes i-1: at version v the hash holds
    exactly decision v-1, and the last stream entry is version v."""
    token = _hold(cache)
    made = [block(f"acct_{i}") for i in range(300)]
    _publish(cache, token, [made[0]], 1)
    done = threading.Event()

    def write() -> None:
        for i in range(1, len(made)):
            cache.publish(Delta([made[i]], [made[i - 1].id], Cursor(i + 1, utcnow())), token)
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    seen = 0
    while not done.is_set():
        snap = cache.snapshot()
        assert [d.id for d in snap.decisions] == [made[snap.version - 1].id]
        (entry,) = cache.redis.xrange(cache.keys["changes"], snap.position, snap.position)
        assert int(entry[1][b"v"]) == snap.version
        seen += 1
    writer.join()
    assert seen > 3


def test_one_mirror_at_a_time(store: DecisionStore, cache: RedisDecisionCache) -> None:
    store.add(block("acct_0"))
    other = RedisDecisionCache(cache.url, cache.prefix)
    first, second = DecisionMirror(store, cache), DecisionMirror(store, other)
    try:
        assert first.step()
        assert not second.step()
        with pytest.raises(LockLost):
            other.publish(store.changes(None), b"not-the-token")
        first.release()
        store.add(block("acct_1"))
        assert second.step()  # takes over where the first stopped: a delta, no reset
        (last,) = cache.redis.xrevrange(cache.keys["changes"], count=1)
        assert last[1][b"kind"] == b"delta" and int(last[1][b"v"]) == 2
        assert not first.step()
    finally:
        second.release()
        other.close()


def test_an_expired_lock_passes_to_a_standby(
    store: DecisionStore, cache: RedisDecisionCache
) -> None:
    first = DecisionMirror(store, cache, lock_ttl_s=0.3)
    second = DecisionMirror(store, cache, lock_ttl_s=0.3)
    assert first.step()  # then hangs: it renews no more
    assert not second.step()
    time.sleep(0.4)
    assert second.step()
    assert not first.step()  # its renewal fails and the lock is taken
    store.add(block("acct_late"))
    with pytest.raises(LockLost):  # a write with the old token is refused
        cache.publish(store.changes(None), b"stale-token")
    second.release()


def test_follower_is_stale_without_a_mirror_or_redis(cache: RedisDecisionCache) -> None:
    follower, matcher = follow(cache)
    with pytest.raises(StreamError, match="no mirror"):
        follower.pull(matcher)
    down = CacheFollower(RedisDecisionCache("redis://127.0.0.1:1/0"), block_s=0.05)
    with pytest.raises(StreamError, match="unreachable"):
        down.pull(matcher)


def test_a_rebuilt_cache_is_reloaded(store: DecisionStore, cache: RedisDecisionCache) -> None:
    store.add([block("acct_0"), block("acct_1")])
    mirror = DecisionMirror(store, cache)
    mirror.step()
    store.add(block("acct_2"))
    mirror.step()
    follower, matcher = follow(cache)
    follower.pull(matcher)
    mirror.release()
    cache.drop()  # Redis lost its data; a new mirror starts over
    fresh = DecisionMirror(store, cache)
    fresh.step()
    follower.pull(matcher)
    assert follower.reloads == 2 and follower.version == 1
    assert ids(matcher.decisions()) == ids(store.active())
    fresh.release()


def test_a_change_reaches_a_waiting_follower_in_milliseconds(cache: RedisDecisionCache) -> None:
    token = _hold(cache)
    cache.mark_synced(10)
    _publish(cache, token, [block("acct_0")], 1)
    follower, matcher = CacheFollower(cache, block_s=1.0), DecisionMatcher()
    follower.pull(matcher)
    arrived: list[float] = []

    def wait() -> None:
        while len(matcher) < 2:
            follower.pull(matcher)
        arrived.append(time.monotonic())

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.2)  # the follower is blocked in XREAD now
    t0 = time.monotonic()
    _publish(cache, token, [block("acct_1")], 2)
    waiter.join(timeout=5)
    delay = arrived[0] - t0
    print(f"cache -> follower: {delay * 1000:.1f} ms")
    assert delay < 0.1


def test_mirror_command_fills_the_cache_and_lets_go_on_sigterm(
    cache: RedisDecisionCache, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'decisions.db'}"
    store = DecisionStore(db)
    store.add(block("acct_0"))
    store.close()
    cli = "from distillguard.cli import app; app()"
    args = ["decisions", "mirror", "--db", db, "--redis", cache.url, "--prefix", cache.prefix]
    proc = subprocess.Popen([sys.executable, "-c", cli, *args], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not cache.snapshot().decisions and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [d.value for d in cache.snapshot().decisions] == ["acct_0"]
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err.decode()
    assert not cache.redis.exists(cache.keys["lock"])  # released for a standby


def test_mirror_command_rejects_bad_options(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'decisions.db'}"
    args = ["decisions", "mirror", "--db", db, "--redis", REDIS_URL, "--lock-ttl", "0.1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2


def test_a_mirror_behind_a_purge_rewrites_the_cache(
    store: DecisionStore, cache: RedisDecisionCache
) -> None:
    gone, kept = block("acct_gone"), block("acct_kept")
    store.add([gone, kept])
    mirror = DecisionMirror(store, cache)
    mirror.step()
    follower, matcher = follow(cache)
    follower.pull(matcher)
    store.delete(gone.id)  # purged before the mirror reads it: the delta cannot tell
    store.purge(timedelta(days=7), now=utcnow() + timedelta(days=8))
    mirror.step()
    follower.pull(matcher)
    assert follower.reloads == 2
    assert ids(matcher.decisions()) == ids(store.active()) == [kept.id]
    mirror.release()
