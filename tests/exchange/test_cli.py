from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from distillguard.cli import app
from distillguard.exchange import ExchangeStore, KeyRing, Mapper, Publisher, load_config, publish
from distillguard.exchange.signing import public_key_text

from .conftest import small_derived

runner = CliRunner()


def _ok(*args: str) -> str:
    result = runner.invoke(app, ["exchange", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_keys_peers_and_bundle_import(tmp_path: Path, keys: KeyRing, pub_a: Publisher) -> None:
    cfg = tmp_path / "exchange.yaml"
    out = _ok("keys", "init", "--provider", "Provider B", "--config", str(cfg))
    assert "Public key" in out
    assert "consortium key k1" in _ok("keys", "show", "--config", str(cfg))
    _ok("keys", "rotate", "k2", "--config", str(cfg))
    assert KeyRing.load(tmp_path / "keys" / "consortium.json").active.key_id == "k2"
    key = public_key_text(pub_a.public_key)
    _ok("peers", "add", "Provider A", "--public-key", key, "--trust", "0.6", "--config", str(cfg))
    assert "password (shown once)" in _ok(
        "peers", "grant", "provider-a", "--peer", "Provider A", "--config", str(cfg)
    )
    loaded = load_config(cfg)
    assert loaded.peer("Provider A").trust == 0.6 and loaded.server.users[0].write
    assert "Provider A" in _ok("peers", "list", "--config", str(cfg))
    bundle = publish(ExchangeStore(), Mapper(pub_a), small_derived(keys))
    path = tmp_path / "bundle.json"
    path.write_bytes(orjson.dumps(bundle))
    out = _ok("pull", "--bundle", str(path), "--peer", "Provider A", "--config", str(cfg))
    assert "0 rejected" in out
    assert ExchangeStore(loaded.store).query("SELECT count(*) FROM indicator")[0][0] == 6
    again = _ok("pull", "--bundle", str(path), "--peer", "Provider A", "--config", str(cfg))
    assert "replayed publication" in again


def test_unknown_config_keys_are_errors(tmp_path: Path) -> None:
    cfg = tmp_path / "exchange.yaml"
    cfg.write_text("provider: B\nsigning_key: a\nkeyring: b\ntrust_everyone: true\n")
    result = runner.invoke(app, ["exchange", "peers", "list", "--config", str(cfg)])
    assert result.exit_code == 2 and "trust_everyone" in result.output


@pytest.mark.parametrize("bad", ["trust: 2", "public_key: nope"])
def test_bad_peers_are_rejected(tmp_path: Path, bad: str) -> None:
    cfg = tmp_path / "exchange.yaml"
    cfg.write_text(f"provider: B\nsigning_key: a\nkeyring: b\npeers:\n  - name: A\n    {bad}\n")
    result = runner.invoke(app, ["exchange", "peers", "list", "--config", str(cfg)])
    assert result.exit_code == 2


def test_scan_matches_imported_indicators_when_asked(
    tmp_path: Path, keys: KeyRing, pub_a: Publisher
) -> None:
    """``scan --exchange`` runs the exchange detector over the imported
    indicators; a missing config is a usage error (exit code 2)."""
    from tests.conftest import make_events

    cfg = tmp_path / "exchange.yaml"
    _ok("keys", "init", "--provider", "Provider B", "--config", str(cfg))
    key = public_key_text(pub_a.public_key)
    _ok("peers", "add", "Provider A", "--public-key", key, "--config", str(cfg))
    bundle = publish(ExchangeStore(), Mapper(pub_a), small_derived(keys))
    path = tmp_path / "bundle.json"
    path.write_bytes(orjson.dumps(bundle))
    _ok("pull", "--bundle", str(path), "--peer", "Provider A", "--config", str(cfg))
    rows = [
        {"ts": 1_775_000_000.0 + i, "account_id": f"a{i % 3}", "prompt": f"hello {i}"}
        for i in range(30)
    ]
    events = tmp_path / "events.parquet"
    import pyarrow.parquet as pq

    pq.write_table(make_events(rows), events)
    out = tmp_path / "report.json"
    args = ["scan", str(events), "--out", str(out), "--exchange", str(cfg)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert orjson.loads(out.read_bytes())["input"]["events"] == 30
    missing = runner.invoke(app, [*args[:-1], str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2, missing.output
