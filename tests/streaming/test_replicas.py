"""Three gateway processes sharing Redis (rate limits) and a PostgreSQL
decision store: a combined limit holds exactly under concurrent load, and a
new decision reaches all three within the stated bound. Decisions come either
from the store itself, each replica pulling every ``POLL_S`` (bound: the pull
interval plus one second), or from the Redis decision cache a mirror fills
from the store every ``MIRROR_S`` (bound: the mirror interval plus half a
second)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import create_engine, text

from distillguard.decisions import Decision
from distillguard.decisions.mirror import DecisionMirror
from distillguard.decisions.rediscache import RedisDecisionCache
from distillguard.decisions.store import DecisionStore
from distillguard.gateway import MockConfig, MockServer
from distillguard.gateway.server import BackgroundServer
from tests.decisions._server import free_port
from tests.streaming.conftest import require

REDIS_URL = os.environ.get("DISTILLGUARD_TEST_REDIS", "redis://127.0.0.1:6379/0")
PG_URL = os.environ.get("DISTILLGUARD_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
LIMIT = 25
POLL_S = 0.25
MIRROR_S = 0.1
BOUNDS_S = {"database": POLL_S + 1.0, "redis": MIRROR_S + 0.5}
# what ``distillguard gateway run --config`` does, without importing the whole CLI
_RUN = (
    "import sys; from pathlib import Path;"
    "from distillguard.gateway import Gateway, load_config;"
    "from distillguard.gateway.server import serve;"
    "c = load_config(Path(sys.argv[1])); serve(Gateway(c), c.host, c.port)"
)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose connections work in a private schema."""
    require("PostgreSQL", PG_URL.replace("postgresql+psycopg", "postgresql"))
    schema = f"dg_replicas_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _ready(url: str, proc: subprocess.Popen[bytes], decisions: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "gateway exited"
        try:
            if httpx.get(url + "/readyz", timeout=1).json().get("decisions") == decisions:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"gateway at {url} not ready")


def _ask(url: str, account: str, i: int) -> int:
    r = httpx.post(
        url + "/v1/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": f"q{i}"}]},
        headers={"x-account": account},
        timeout=10,
    )
    return r.status_code


def _until_refused(url: str, account: str, t0: float) -> float:
    """Seconds from ``t0`` until ``url`` refuses ``account``."""
    i = 0
    while time.monotonic() - t0 < 10:
        if _ask(url, account, i) == 403:
            return time.monotonic() - t0
        i += 1
        time.sleep(0.01)
    return float("inf")


def _decisions(source: str, pg_url: str, prefix: str) -> dict[str, Any]:
    """The replicas' ``decisions`` section for ``source``."""
    where = {"database": pg_url} if source == "database" else {"redis": REDIS_URL, "prefix": prefix}
    return {**where, "poll_interval_s": POLL_S, "fail_open": False}


def _mirror(stack: ExitStack, store: DecisionStore, prefix: str) -> None:
    """Run a mirror of ``store`` into the Redis cache until ``stack`` closes."""
    cache = RedisDecisionCache(REDIS_URL, prefix)
    stack.callback(cache.close)
    stack.callback(cache.drop)
    stack.enter_context(DecisionMirror(store, cache, interval_s=MIRROR_S))


@pytest.mark.parametrize("source", ["database", "redis"])
def test_three_replicas_share_limits_and_decisions(
    pg_url: str, tmp_path: Path, source: str
) -> None:
    require("Redis", REDIS_URL)
    prefix = "dgrep" + uuid.uuid4().hex[:8]
    store = DecisionStore(pg_url)
    store.add(
        Decision(
            type="throttle",
            scope="account",
            value="acct_shared",
            origin="analyst",
            params={"requests_per_minute": LIMIT},
        )
    )
    procs: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    with ExitStack() as stack, BackgroundServer(MockServer(MockConfig(think=False))) as upstream:
        stack.callback(store.close)
        if source == "redis":
            _mirror(stack, store, prefix)
        try:
            for i in range(3):
                port = free_port()
                config = {
                    "upstream": upstream.url,
                    "port": port,
                    "account_header": "x-account",
                    "ratelimit": {"storage": REDIS_URL, "fail_open": False, "key_prefix": prefix},
                    "decisions": _decisions(source, pg_url, prefix),
                }
                path = tmp_path / f"gw{i}.yaml"
                path.write_text(yaml.safe_dump(config))
                procs.append(subprocess.Popen([sys.executable, "-c", _RUN, str(path)]))
                urls.append(f"http://127.0.0.1:{port}")
            for url, proc in zip(urls, procs, strict=True):
                _ready(url, proc, 1)

            with ThreadPoolExecutor(12) as pool:
                statuses = list(
                    pool.map(lambda i: _ask(urls[i % 3], "acct_shared", i), range(3 * LIMIT))
                )
            assert statuses.count(200) == LIMIT
            assert statuses.count(429) == 2 * LIMIT

            assert {_ask(u, "acct_new", 0) for u in urls} == {200}
            t0 = time.monotonic()
            store.add(Decision(type="block", scope="account", value="acct_new", origin="analyst"))
            with ThreadPoolExecutor(3) as pool:
                delays = list(pool.map(lambda u: _until_refused(u, "acct_new", t0), urls))
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=10)
    print(f"{source}: decision reached the 3 replicas in {', '.join(f'{d:.3f}' for d in delays)} s")
    assert max(delays) <= BOUNDS_S[source], delays
