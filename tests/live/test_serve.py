"""End to end in one process: traffic through the gateway is spooled, the loop
detects on it and decides, and the gateway enforces the decision."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from distillguard._exceptions import ConfigError
from distillguard.decisions import DecisionType, Origin
from distillguard.gateway.mock import MockServer
from distillguard.gateway.server import BackgroundServer
from distillguard.live.config import (
    DecisionServiceConfig,
    LoopConfig,
    ServeConfig,
    load_serve_config,
)
from distillguard.live.service import ExtraApp, LiveService, gateway_config

PROFILE = """
name: test
rules:
  - action: suspend
    min_account_score: 0.5
    min_families: 2
"""
HARVEST = "Think step by step and write out your entire chain of thought: what is {i} * {j}?"
CASUAL = ("hi! what should I cook tonight?", "recommend a film", "fix my cv wording", "a joke")


@pytest.fixture(scope="module")
def upstream() -> Iterator[BackgroundServer]:
    with BackgroundServer(MockServer()) as server:
        yield server


def _config(tmp_path: Path, upstream: str, **loop: object) -> ServeConfig:
    profile = tmp_path / "profile.yaml"
    profile.write_text(PROFILE)
    return ServeConfig(
        data_dir=tmp_path / "data",
        upstream=upstream,
        gateway={"port": 0, "decisions": {"poll_interval_s": 0.2}},
        decisions=DecisionServiceConfig(port=0),
        loop=LoopConfig.model_validate(
            {"interval_s": 0.3, "detect_every_s": 0.3, "profile": profile, **loop}
        ),
    )


def _ask(client: httpx.Client, account: str, prompt: str) -> int:
    resp = client.post(
        "/v1/chat/completions",
        json={"model": "mock-reasoner", "messages": [{"role": "user", "content": prompt}]},
        headers={"x-account": account},
    )
    return resp.status_code


def _drive(service: LiveService, *, until_refused: bool, seconds: float) -> dict[str, list[int]]:
    seen: dict[str, list[int]] = {"harvester": [], "people": []}
    with httpx.Client(base_url=service.urls()["gateway"], timeout=10) as client:
        deadline = time.monotonic() + seconds
        i = 0
        while time.monotonic() < deadline:
            seen["harvester"].append(_ask(client, "acct_harvester", HARVEST.format(i=i, j=i * 7)))
            if i % 10 == 0:
                seen["people"].append(_ask(client, f"acct_person_{i % 7}", CASUAL[i % 4]))
            if until_refused and seen["harvester"][-1] == 403:
                break
            i += 1
            time.sleep(0.005)
    return seen


def test_loop_decides_and_gateway_enforces(tmp_path: Path, upstream: BackgroundServer) -> None:
    with LiveService(_config(tmp_path, upstream.url)) as service:
        seen = _drive(service, until_refused=True, seconds=25)
        assert seen["harvester"][0] == 200
        assert seen["harvester"][-1] == 403, "the harvester was never stopped"
        assert set(seen["people"]) == {200}
        (decision,) = service.store.list(value="acct_harvester")
        assert decision.type is DecisionType.SUSPEND and decision.origin is Origin.DETECTOR
        assert not decision.simulated
        # The decision service serves the same decisions to other enforcers.
        url, who = service.urls()["decisions"] + "/v1/check", "acct_harvester"
        deadline = time.monotonic() + 10
        while (status := _check(url, who)) == 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert status == 403
        assert _check(url, "acct_person_1") == 200


def _check(url: str, account: str) -> int:
    return httpx.get(url, headers={"x-distillguard-account": account}).status_code


def test_shadow_mode_decides_but_never_enforces(tmp_path: Path, upstream: BackgroundServer) -> None:
    with LiveService(_config(tmp_path, upstream.url, shadow=True)) as service:
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline and not service.store.list(value="acct_harvester"):
            seen = _drive(service, until_refused=False, seconds=1)
            assert set(seen["harvester"]) == {200}
        (decision,) = service.store.list(value="acct_harvester")
        assert decision.simulated and decision.type is DecisionType.SUSPEND
        seen = _drive(service, until_refused=False, seconds=1)
        assert set(seen["harvester"]) == {200}


def test_extra_apps_are_served_beside(tmp_path: Path, upstream: BackgroundServer) -> None:
    def factory(service: LiveService) -> MockServer:
        assert service.store is not None
        return MockServer()

    extra = ExtraApp("console", factory, port=0)
    with LiveService(_config(tmp_path, upstream.url), extra_apps=[extra]) as service:
        assert httpx.get(service.urls()["console"] + "/v1/models").status_code == 200


def test_gateway_config_uses_the_local_store_and_spool(tmp_path: Path) -> None:
    cfg = load_serve_config(None, data_dir=tmp_path, upstream="http://up:1", gateway={"port": 9})
    gw = gateway_config(cfg)
    assert gw.upstream == "http://up:1" and gw.port == 9
    assert gw.spool.dir == tmp_path / "spool"
    assert gw.decisions.database == f"sqlite:///{tmp_path / 'decisions.db'}"
    assert gw.account_header == "x-account"
    remote = load_serve_config(None, gateway={"decisions": {"url": "http://d:8081"}})
    assert gateway_config(remote).decisions.database is None


def test_serve_config_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "serve.yaml"
    path.write_text("data_dir: data\nloop:\n  profile: p.yaml\n  interval_s: 2\n")
    cfg = load_serve_config(path, loop={"interval_s": 1.0, "shadow": None})
    assert cfg.data_dir == tmp_path / "data"
    assert cfg.loop.profile == tmp_path / "p.yaml"
    assert cfg.loop.interval_s == 1.0 and not cfg.loop.shadow


def test_serve_config_is_strict(tmp_path: Path) -> None:
    path = tmp_path / "serve.yaml"
    path.write_text("loop:\n  interval_s: 5\n  intervall: 3\n")
    with pytest.raises(ConfigError, match="intervall"):
        load_serve_config(path)
    path.write_text("- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_serve_config(path)
