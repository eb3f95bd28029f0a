"""``--engine`` on the command line: refusals (no Spark job runs for them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from distillguard.cli import app


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["scan", "events.jsonl", "--engine", "spark"], "reads Parquet"),
        (["scan", "events.parquet", "--engine", "flink"], "unknown engine"),
        (["replay", "events.jsonl", "--engine", "spark"], "reads Parquet"),
        (["replay", "events.parquet", "--engine", "flink"], "unknown engine"),
    ],
)
def test_engine_errors_exit_2(command: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [*command, "--out", str(tmp_path / "r.json")])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
