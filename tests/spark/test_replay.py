"""The Spark replay against the embedded one on the same input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from typer.testing import CliRunner

from distillguard.cli import app
from distillguard.engine.replay import ReplayResult
from distillguard.engine.replay import replay as embedded_replay
from distillguard.engine.spark import replay as spark_replay
from distillguard.report.json_report import build_report
from distillguard.scoring import Profile
from distillguard.simulate import SimFiles

#: Hourly steps keep the test short; a profile that throttles on the
#: account score alone makes the small sample act during the replay.
STEP_S = 3600.0
EAGER = Profile.model_validate(
    {
        "name": "eager",
        "rules": [
            {"action": "throttle", "min_account_score": 0.5},
            {"action": "review", "min_account_score": 0.3},
        ],
    }
)


@pytest.fixture(scope="module")
def embedded(sample: SimFiles) -> ReplayResult:
    return embedded_replay([sample.events], accounts=sample.accounts, profile=EAGER, step_s=STEP_S)


def _report(result: ReplayResult) -> object:
    return build_report(
        result.summary,
        result.detection,
        first_action_at=result.first_action_at,
        detected_at=result.campaign_detected_at,
    )


def test_same_backtest_as_embedded(
    spark: SparkSession, sample: SimFiles, embedded: ReplayResult
) -> None:
    ours = spark_replay(
        [sample.events], accounts=sample.accounts, profile=EAGER, step_s=STEP_S, master="local[2]"
    )
    assert ours.steps == embedded.steps
    assert len(embedded.first_action_at) > 10, "the sample should be acted on during the replay"
    assert embedded.campaign_detected_at
    assert ours.first_action_at == embedded.first_action_at
    assert ours.first_review_at == embedded.first_review_at
    assert ours.campaign_detected_at == embedded.campaign_detected_at
    assert ours.served_before_action == embedded.served_before_action
    assert ours.requests == embedded.requests
    assert ours.detection.actions == embedded.detection.actions
    assert _report(ours) == _report(embedded)


def test_cli_replay_on_spark(
    spark: SparkSession, sample: SimFiles, embedded: ReplayResult, tmp_path: Path
) -> None:
    profile, out = tmp_path / "eager.yaml", tmp_path / "replay.json"
    profile.write_text(json.dumps(EAGER.model_dump(mode="json")))
    args = ["replay", str(sample.events), "--accounts", str(sample.accounts), "--out", str(out)]
    args += ["--profile", str(profile), "--step", "60", "--labels", str(sample.labels)]
    result = CliRunner().invoke(app, [*args, "--engine", "spark", "--spark-master", "local[2]"])
    assert result.exit_code == 0, result.output
    assert "leakage" in result.output.lower() or "served" in result.output.lower()
    assert json.loads(out.read_text()) == json.loads(json.dumps(_report(embedded)))
