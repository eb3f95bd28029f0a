"""Strict configuration and key files: one rejection per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from distillguard._exceptions import ConfigError
from distillguard.gateway import KeyMap, load_config
from distillguard.gateway.keys import key_digest


def test_config_file_with_overrides_and_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPSTREAM_KEY", "sk-upstream")
    path = tmp_path / "gw.yaml"
    path.write_text(
        "upstream: http://model:8000\nupstream_api_key: ${UPSTREAM_KEY}\nkeys: keys.yaml\n"
        "ratelimit: {storage: 'redis://r:6379/0', fail_open: false}\n"
    )
    cfg = load_config(path, port=9000, ratelimit={"strategy": "moving-window", "storage": None})
    assert cfg.upstream_api_key == "sk-upstream" and cfg.port == 9000
    assert cfg.keys == tmp_path / "keys.yaml"
    assert cfg.ratelimit.storage == "redis://r:6379/0" and cfg.ratelimit.strategy == "moving-window"
    assert cfg.ratelimit.fail_open is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("upstream: x\nkeys: k.yaml\nretries: 3\n", "retries"),
        ("account_header: x\nratelimit: {strategy: token-bucket}\n", "strategy"),
        ("account_header: x\nspool: {fsync: sometimes}\n", "fsync"),
        ("upstream: x\n", "keys"),
        ("account_header: x\ndecisions: {url: 'http://a', database: 'sqlite://'}\n", "only one"),
        ("account_header: x\ndecisions: {redis: 'redis://r', database: 'sqlite://'}\n", "only one"),
        ("account_header: x\ndecisions: {redis: 'http://r'}\n", "redis"),
        ("account_header: x\ndecisions: {redis: 'redis://r', prefix: 'a b'}\n", "prefix"),
        ("account_header: x\ndecisions: {redis: 'redis://r', channel: c}\n", "channel"),
        ("- a list\n", "mapping"),
    ],
)
def test_config_rejections(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "gw.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_key_files(tmp_path: Path) -> None:
    yaml_file = tmp_path / "keys.yaml"
    yaml_file.write_text(
        f"- {{api_key: sk-1, account_id: acct_1, key_id: k1}}\n"
        f"- {{sha256: {key_digest('sk-2')}, account_id: acct_2, entity: Labs, declared_country: US}}\n"
    )
    keys = KeyMap.load(yaml_file)
    assert keys.lookup("sk-1").account_id == "acct_1"  # type: ignore[union-attr]
    two = keys.lookup("sk-2")
    assert (
        two is not None and two.entity == "Labs" and two.key_id == f"key_{key_digest('sk-2')[:12]}"
    )
    assert keys.lookup("sk-3") is None
    csv_file = tmp_path / "keys.csv"
    csv_file.write_text("api_key,account_id,key_id,entity,declared_country\nsk-9,acct_9,,,\n")
    assert KeyMap.load(csv_file).lookup("sk-9").account_id == "acct_9"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([{"account_id": "a"}], "exactly one"),
        ([{"api_key": "k", "sha256": "00", "account_id": "a"}], "exactly one"),
        ([{"api_key": "k"}], "account_id"),
        ([{"api_key": "k", "account_id": "a"}, {"api_key": "k", "account_id": "b"}], "twice"),
        ([{"api_key": "k", "account_id": "a", "tier": "free"}], "tier"),
    ],
)
def test_key_rejections(entries: list[dict[str, object]], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        KeyMap.from_entries(entries)
