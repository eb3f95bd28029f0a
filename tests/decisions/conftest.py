"""Stores for the decision tests: SQLite always, PostgreSQL when reachable
(required in CI), each test in a schema of its own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from distillguard.decisions.store import DecisionStore

PG_URL = os.environ.get("DISTILLGUARD_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_engine() -> Engine:
    engine = create_engine(PG_URL, pool_pre_ping=True)
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except OperationalError as exc:
        engine.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and unreachable at {PG_URL}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    return engine


@pytest.fixture
def pg_schema_engine() -> Iterator[Engine]:
    """An engine whose connections work in a fresh, private schema."""
    admin = _pg_engine()
    schema = f"dg_test_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(
        PG_URL, connect_args={"options": f"-csearch_path={schema}"}, pool_pre_ping=True
    )
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DecisionStore]:
    if request.param == "sqlite":
        db = tmp_path_factory.mktemp("store") / "decisions.db"
        s = DecisionStore(f"sqlite:///{db}")
    else:
        s = DecisionStore(request.getfixturevalue("pg_schema_engine"))
    try:
        yield s
    finally:
        s.close()
