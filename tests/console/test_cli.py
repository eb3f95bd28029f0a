"""``distillguard console``: users, tokens, import of a case document and of a
plain report, retention."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from typer.testing import CliRunner

from distillguard.cli import app
from distillguard.console import ConsoleSettings, open_context

runner = CliRunner()


def test_users_tokens_import_retention(tmp_path: Path, cases_doc: dict[str, Any]) -> None:
    db = f"sqlite:///{tmp_path / 'c.db'}"
    env = {"DG_PW": "a long enough secret"}
    r = runner.invoke(
        app,
        [
            "console",
            "users",
            "add",
            "ana",
            "--role",
            "analyst",
            "--password-env",
            "DG_PW",
            "--db",
            db,
        ],
        env=env,
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app,
        ["console", "users", "add", "bob", "--role", "boss", "--password-env", "DG_PW", "--db", db],
        env=env,
    )
    assert r.exit_code == 2  # unknown role
    r = runner.invoke(app, ["console", "tokens", "add", "ana", "--name", "ci", "--db", db])
    assert r.exit_code == 0 and r.output.strip().startswith("dgc_")
    (tmp_path / "scan").mkdir()
    (tmp_path / "scan" / "cases.json").write_bytes(orjson.dumps(cases_doc))
    report = {
        "schema": "distillguard.report/1",
        "input": {"events": 1},
        "accounts": [{"account_id": "a1", "score": 0.9, "action": "suspend", "reasons": []}],
        "campaigns": [],
    }
    (tmp_path / "report.json").write_bytes(orjson.dumps(report))
    r = runner.invoke(
        app,
        ["console", "import", str(tmp_path / "scan"), str(tmp_path / "report.json"), "--db", db],
    )
    assert r.exit_code == 0, r.output
    assert "import 1:" in r.output and "import 2:" in r.output
    r = runner.invoke(app, ["console", "import", str(tmp_path / "missing.json"), "--db", db])
    assert r.exit_code == 3
    r = runner.invoke(app, ["console", "retention", "run", "--days", "30", "--db", db])
    assert r.exit_code == 0, r.output
    ctx = open_context(ConsoleSettings(db_url=db))
    assert ctx.users.authenticate("ana", "a long enough secret") is not None
    assert ctx.users.by_token(r.output) is None
    assert [i["subject"] for i in ctx.cases.reviews(kind="account") if i["subject"] == "a1"]
    assert {e.action for e in ctx.audit.entries()} >= {"user.add", "token.add", "cases.import"}
    ctx.engine.dispose()


def test_live_console_shares_the_live_store(tmp_path: Path) -> None:
    """``distillguard serve --console-port`` mounts the console on the live
    service's decision store."""
    from types import SimpleNamespace

    from fastapi.testclient import TestClient

    from distillguard.cli.console import live_console
    from distillguard.decisions.store import DecisionStore

    url = f"sqlite:///{tmp_path / 'decisions.db'}"
    store = DecisionStore(url)
    service = SimpleNamespace(config=SimpleNamespace(decisions_url=url), store=store)
    extra = live_console(0)
    app_ = extra.factory(service)
    assert extra.name == "console"
    assert app_.state.console.decisions.engine is store.engine
    with TestClient(app_) as client:
        assert client.get("/login").status_code == 200
    store.close()
