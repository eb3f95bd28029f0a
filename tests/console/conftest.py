"""Fixtures of the console tests: one small simulated scan for the session,
and a console database (SQLite, or PostgreSQL where a test asks for it)
with that scan imported and three users."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from distillguard.console import ConsoleContext, ConsoleSettings, open_context
from tests.decisions.conftest import pg_schema_engine  # noqa: F401  (a fixture)

PASSWORD = "correct horse battery staple"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id with small parameters: the tests log in often, and what they
    test is the flow, not the cost (production keeps argon2-cffi's defaults)."""
    from argon2 import PasswordHasher

    from distillguard.console import auth

    monkeypatch.setattr(
        auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture(scope="session")
def cases_doc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The case document of a scan of a small simulated provider (a day,
    15k requests: a dozen campaigns)."""
    from distillguard.console import cases_from_scan
    from distillguard.engine.scan import scan
    from distillguard.report.json_report import build_report
    from distillguard.simulate import SimConfig, generate, write

    out = tmp_path_factory.mktemp("sim")
    files = write(generate(SimConfig.demo(n_events=15_000, days=1.0, seed=11)), out)
    result = scan([files.events], accounts=files.accounts)
    report = build_report(result.summary, result.detection)
    return cases_from_scan(result, report, source="simulated day")


def make_context(url: str | Engine, cases_doc: dict[str, Any], **settings: Any) -> ConsoleContext:
    """A console database with ``cases_doc`` imported and users ana (analyst),
    vic (viewer) and adm (admin)."""
    s = ConsoleSettings(
        db_url=url if isinstance(url, str) else "sqlite://",
        prompt_retention_days=None,
        **settings,
    )
    ctx = open_context(s, None if isinstance(url, str) else url)
    ctx.cases.import_cases(cases_doc, "test")
    for name, role in (("ana", "analyst"), ("vic", "viewer"), ("adm", "admin")):
        ctx.users.add(name, PASSWORD, role)
    return ctx


@pytest.fixture
def ctx(tmp_path: Path, cases_doc: dict[str, Any]) -> Iterator[ConsoleContext]:
    c = make_context(f"sqlite:///{tmp_path / 'console.db'}", cases_doc)
    yield c
    c.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_ctx(
    request: pytest.FixtureRequest, tmp_path: Path, cases_doc: dict[str, Any]
) -> Iterator[ConsoleContext]:
    """The console database on SQLite and on PostgreSQL (required in CI)."""
    if request.param == "sqlite":
        c = make_context(f"sqlite:///{tmp_path / 'console.db'}", cases_doc)
    else:
        c = make_context(request.getfixturevalue("pg_schema_engine"), cases_doc)
    yield c
    c.engine.dispose()
