"""The demo, end to end, on a small simulated provider."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from distillguard.cli import app


def test_demo_writes_reports_and_prints_recall_and_harm(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    res = CliRunner().invoke(app, ["demo", "--out", str(out), "--events", "6000"])
    assert res.exit_code == 0, res.output
    report = json.loads((out / "report.json").read_text())
    assert report["schema"] == "distillguard.report/1"
    labels = (out / "labels.csv").read_text().splitlines()
    assert len(report["accounts"]) == report["input"]["accounts"] == len(labels) - 1
    html = (out / "report.html").read_text()
    assert "<svg" in html
    for heading in ("Top campaigns", "Top accounts", "Recall and harm", "ROC AUC"):
        assert heading in res.output
