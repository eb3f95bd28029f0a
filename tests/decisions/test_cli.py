"""``distillguard decisions``: add, list, delete, import-report, enforcers, settings."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from distillguard._exceptions import ConfigError
from distillguard.cli import app
from distillguard.cli.decisions import load_service_settings, parse_duration
from distillguard.decisions.store import DecisionStore

runner = CliRunner()


def run(db: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["decisions", *args, "--db", db])
    return result.exit_code, result.output


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_add_list_delete(db: str) -> None:
    code, out = run(
        db,
        "add",
        "--type",
        "throttle",
        "--scope",
        "account",
        "--value",
        "acct_1",
        "--rpm",
        "5",
        "--ttl",
        "2h",
        "--reason",
        "manual",
    )
    assert code == 0, out
    decision_id = out.split("id ")[-1].strip()
    code, out = run(
        db, "add", "--type", "block", "--scope", "cidr", "--value", "203.0.113.9/24", "--simulated"
    )
    assert code == 0, out

    store = DecisionStore(db)
    listed = {d.id: d for d in store.list()}
    assert listed[decision_id].params is not None
    assert listed[decision_id].params.requests_per_minute == 5
    assert {d.value for d in listed.values()} == {"acct_1", "203.0.113.0/24"}

    code, out = run(db, "list", "--scope", "cidr", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["value"] for r in rows] == ["203.0.113.0/24"] and rows[0]["simulated"]
    code, out = run(db, "list")
    assert code == 0 and "2 decisions" in out

    assert run(db, "delete", decision_id)[0] == 0
    assert run(db, "delete", decision_id)[0] == 1
    assert [d.value for d in store.list()] == ["203.0.113.0/24"]
    assert len(store.list(active_only=False)) == 2
    store.close()


@pytest.mark.parametrize(
    "args",
    [
        ("--type", "smite", "--scope", "account", "--value", "a"),
        ("--type", "block", "--scope", "cidr", "--value", "300.0.0.0/8"),
        ("--type", "block", "--scope", "account", "--value", "a", "--ttl", "soon"),
        (
            "--type",
            "block",
            "--scope",
            "account",
            "--value",
            "a",
            "--ttl",
            "1h",
            "--until",
            "2030-01-01",
        ),
        ("--type", "block", "--scope", "account", "--value", "a", "--until", "tomorrow"),
    ],
)
def test_add_rejects_bad_input_with_exit_2(db: str, args: tuple[str, ...]) -> None:
    code, out = run(db, "add", *args)
    assert code == 2 and "error" in out


def test_import_report_supersedes_earlier_reports(db: str, tmp_path: Path) -> None:
    def write(action: str) -> Path:
        path = tmp_path / f"{action}.json"
        path.write_text(
            json.dumps(
                {
                    "schema": "distillguard.report/1",
                    "accounts": [
                        {"account_id": "a", "score": 0.9, "action": action, "reasons": ["r"]},
                        {"account_id": "b", "score": 0.1, "action": "allow", "reasons": []},
                    ],
                }
            )
        )
        return path

    code, out = run(db, "import-report", str(write("throttle")), "--rpm", "3")
    assert code == 0 and "imported 1 decisions: 1 throttle" in out
    code, out = run(db, "import-report", str(write("suspend")), "--ttl", "1d")
    assert code == 0, out
    store = DecisionStore(db)
    assert [(d.value, d.type) for d in store.list()] == [("a", "suspend")]
    store.close()
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert run(db, "import-report", str(bad))[0] == 3
    assert run(db, "import-report", str(tmp_path / "missing.json"))[0] == 3


def test_enforcer_tokens_are_printed_once(db: str) -> None:
    code, out = run(db, "enforcer", "add", "edge-1")
    assert code == 0
    token = out.strip().splitlines()[-1]
    store = DecisionStore(db)
    who = store.authenticate(token)
    assert who is not None and who.name == "edge-1"
    assert run(db, "enforcer", "add", "edge-1")[0] == 3
    code, out = run(db, "enforcer", "list")
    assert code == 0 and "edge-1" in out and "never" in out
    assert run(db, "enforcer", "delete", "edge-1")[0] == 0
    assert store.authenticate(token) is None
    store.close()


def test_parse_duration() -> None:
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("2w") == timedelta(weeks=2)
    for bad in ("0h", "1y", "h", ""):
        with pytest.raises(ConfigError):
            parse_duration(bad)


def test_service_settings_from_files(tmp_path: Path) -> None:
    cfg = tmp_path / "service.yaml"
    cfg.write_text("refresh_interval: 0.5\ncheck:\n  account_header: x-account\n")
    accounts = tmp_path / "accounts.jsonl"
    accounts.write_text(
        json.dumps({"account_id": "a", "declared_country": "kp", "parent_entity": "E"})
        + "\n"
        + json.dumps({"account_id": "b"})
        + "\n"
    )
    s = load_service_settings(cfg, accounts, trusted_proxies=2)
    assert s.refresh_interval == 0.5 and s.check.account_header == "x-account"
    assert s.check.trusted_proxies == 2
    assert set(s.check.accounts) == {"a"} and s.check.accounts["a"].parent_entity == "E"
    cfg.write_text("check:\n  acount_header: x\n")
    with pytest.raises(ConfigError, match="acount_header"):
        load_service_settings(cfg)
