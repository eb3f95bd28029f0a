"""Two gateway processes sharing Redis hold one account to one limit, with
the throttle decision read from a shared decision database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import yaml

from distillguard.decisions import Decision
from distillguard.decisions.store import DecisionStore
from distillguard.gateway.server import BackgroundServer
from tests.decisions._server import free_port

LIMIT = 10


def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "gateway exited"
        try:
            if httpx.get(url + "/readyz", timeout=1).json().get("decisions") == 1:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"gateway at {url} not ready")


def test_limit_holds_across_two_gateways(
    upstream: BackgroundServer, redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'decisions.db'}"
    store = DecisionStore(db)
    store.add(
        Decision(
            type="throttle",
            scope="account",
            value="acct_shared",
            origin="analyst",
            params={"requests_per_minute": LIMIT},
        )
    )
    store.close()
    procs: list[subprocess.Popen[bytes]] = []
    urls = []
    try:
        for i in range(2):
            port = free_port()
            config = {
                "upstream": upstream.url,
                "port": port,
                "account_header": "x-test-account",
                "ratelimit": {"storage": redis_url, "fail_open": False, "key_prefix": key_prefix},
                "decisions": {"database": db, "poll_interval_s": 0.2, "fail_open": False},
            }
            path = tmp_path / f"gw{i}.yaml"
            path.write_text(yaml.safe_dump(config))
            cmd = [sys.executable, "-c", "from distillguard.cli import main; main()"]
            cmd += ["gateway", "run", "--config", str(path)]
            procs.append(subprocess.Popen(cmd, env={**os.environ}))
            urls.append(f"http://127.0.0.1:{port}")
        for url, proc in zip(urls, procs, strict=True):
            _wait_ready(url, proc)

        def call(i: int) -> int:
            r = httpx.post(
                urls[i % 2] + "/v1/chat/completions",
                json={"model": "m", "messages": [{"role": "user", "content": f"q{i}"}]},
                headers={"x-test-account": "acct_shared"},
                timeout=10,
            )
            return r.status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(call, range(40)))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)
    assert statuses.count(200) == LIMIT
    assert statuses.count(429) == 40 - LIMIT
