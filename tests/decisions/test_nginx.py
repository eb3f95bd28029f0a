"""A real nginx in front of a mock model server, asking /v1/check through
``auth_request``: an allowed client gets the model's answer, a blocked one a
403, and a throttled one over its rate a 429 mapped from the check's 403."""

from __future__ import annotations

import getpass
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from distillguard.decisions import Decision, ThrottleParams
from distillguard.decisions.api import ServiceSettings, create_decision_app
from distillguard.decisions.check import CheckSettings, KeyOwner
from distillguard.decisions.store import DecisionStore
from distillguard.gateway.mock import MockServer

from ._server import free_port, serve

NGINX_CONF = """
{user}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;

    server {{
        listen 127.0.0.1:{port};

        location /v1/ {{
            auth_request /_distillguard_check;
            auth_request_set $dg_action $upstream_http_x_distillguard_action;
            auth_request_set $dg_decision $upstream_http_x_distillguard_decision;
            proxy_set_header X-DistillGuard-Action $dg_action;
            error_page 403 = @distillguard_denied;
            proxy_pass http://127.0.0.1:{model_port};
        }}

        location = /_distillguard_check {{
            internal;
            proxy_pass http://127.0.0.1:{check_port}/v1/check?over_limit=403;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Original-URI $request_uri;
        }}

        location @distillguard_denied {{
            default_type application/json;
            add_header X-DistillGuard-Decision $dg_decision always;
            if ($dg_action = "throttle") {{
                return 429 '{{"error": {{"type": "throttle", "message": "rate limit exceeded"}}}}';
            }}
            return 403 '{{"error": {{"type": "$dg_action", "message": "request refused"}}}}';
        }}
    }}
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is required in CI (Debian package nginx)")
        pytest.skip("nginx not installed")
    return found


def wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited: {log.read_text() if log.exists() else ''}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError("nginx did not start listening")


@pytest.fixture
def nginx_factory(tmp_path: Path) -> Iterator[object]:
    binary = nginx_binary()
    procs: list[subprocess.Popen[bytes]] = []

    def start(check_port: int, model_port: int) -> str:
        port = free_port()
        user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""
        conf = tmp_path / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(
                user=user, tmp=tmp_path, port=port, check_port=check_port, model_port=model_port
            )
        )
        proc = subprocess.Popen(
            [
                binary,
                "-p",
                str(tmp_path),
                "-e",
                str(tmp_path / "error.log"),
                "-c",
                str(conf),
                "-g",
                "daemon off;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(proc)
        wait_for_port(port, proc, tmp_path / "error.log")
        return f"http://127.0.0.1:{port}"

    yield start
    for proc in procs:
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def test_nginx_auth_request_allows_blocks_and_throttles(
    tmp_path: Path, nginx_factory: object
) -> None:
    store = DecisionStore(f"sqlite:///{tmp_path / 'decisions.db'}")
    store.add(
        [
            Decision(type="block", scope="account", value="acct_bad", origin="analyst"),  # type: ignore[arg-type]
            Decision(
                type="throttle",  # type: ignore[arg-type]
                scope="account",  # type: ignore[arg-type]
                value="acct_slow",
                origin="profile",  # type: ignore[arg-type]
                params=ThrottleParams(requests_per_minute=1),
            ),
        ]
    )
    keys = {
        key_hash("sk-good"): KeyOwner(account_id="acct_good"),
        key_hash("sk-bad"): KeyOwner(account_id="acct_bad"),
        key_hash("sk-slow"): KeyOwner(account_id="acct_slow"),
    }
    settings = ServiceSettings(check=CheckSettings(api_keys=keys))
    body = {"model": "mock-reasoner", "messages": [{"role": "user", "content": "2+2?"}]}
    with serve(create_decision_app(store, settings)) as check_url, serve(MockServer()) as model_url:
        start = nginx_factory
        assert callable(start)
        base = start(int(check_url.rsplit(":", 1)[1]), int(model_url.rsplit(":", 1)[1]))
        with httpx.Client(base_url=base, timeout=10) as http:

            def ask(key: str) -> httpx.Response:
                return http.post(
                    "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"}
                )

            good = ask("sk-good")
            assert good.status_code == 200, good.text
            assert good.json()["choices"][0]["message"]["content"]

            bad = ask("sk-bad")
            assert bad.status_code == 403
            assert bad.json()["error"]["type"] == "block"
            assert len(bad.headers["x-distillguard-decision"]) == 32

            first, second = ask("sk-slow"), ask("sk-slow")
            assert first.status_code == 200
            assert second.status_code == 429
            assert second.json()["error"]["type"] == "throttle"
    store.close()
