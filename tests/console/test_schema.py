"""Schemathesis over the OpenAPI schemas of the console and of the decision
service: whatever a client sends, no server error. Requests carry an admin
token, so every operation reaches its handler (and its store)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from distillguard.console import ConsoleContext, create_console_app
from distillguard.decisions.api import create_decision_app
from distillguard.decisions.model import Decision
from tests.console.conftest import make_context

POSITIVE = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
NEGATIVE = settings(POSITIVE, max_examples=10)


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, cases_doc: dict[str, Any]
) -> tuple[ConsoleContext, str, str]:
    db = Path(tmp_path_factory.mktemp("schema")) / "console.db"
    ctx = make_context(f"sqlite:///{db}", cases_doc)
    ctx.decisions.add(Decision(type="suspend", scope="account", value="acct_x", origin="analyst"))
    return (
        ctx,
        ctx.users.add_token("adm", "schemathesis"),
        ctx.decisions.add_enforcer("schemathesis", admin=True),
    )


@pytest.fixture(scope="module")
def console_schema(world: tuple[ConsoleContext, str, str]) -> Any:
    ctx = world[0]
    return schemathesis.openapi.from_asgi(
        "/openapi.json", create_console_app(ctx.settings, context=ctx)
    )


@pytest.fixture(scope="module")
def decision_schema(world: tuple[ConsoleContext, str, str]) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", create_decision_app(world[0].decisions))


def _no_server_error(case: Any, headers: dict[str, str]) -> None:
    response = case.call(headers=headers)
    assert response.status_code < 500, (case.as_curl_command(), response.text[:500])


def fuzz(schema: Any, headers: dict[str, str]) -> int:
    """Valid and invalid requests to every operation; returns how many operations."""
    n = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        n += 1
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @(POSITIVE if mode is schemathesis.GenerationMode.POSITIVE else NEGATIVE)
            def run(case: Any) -> None:
                _no_server_error(case, headers)

            try:
                run()
            except Unsatisfiable:
                # No invalid request exists for an operation without inputs.
                assert mode is schemathesis.GenerationMode.NEGATIVE
    return n


def test_console_api_never_fails(
    console_schema: Any, world: tuple[ConsoleContext, str, str]
) -> None:
    assert fuzz(console_schema, {"authorization": f"Bearer {world[1]}"}) >= 20


def test_decision_api_never_fails(
    decision_schema: Any, world: tuple[ConsoleContext, str, str]
) -> None:
    assert fuzz(decision_schema, {"authorization": f"Bearer {world[2]}"}) >= 5
