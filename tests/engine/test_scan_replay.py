"""scan and replay end to end on files, and the report contract."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from distillguard._types import Action
from distillguard.cli import app
from distillguard.detectors import Finding, VolumeDetector
from distillguard.engine.prompts import PromptCache
from distillguard.engine.replay import replay
from distillguard.engine.scan import scan
from distillguard.engine.state import DetectionContext
from distillguard.report.json_report import build_report
from distillguard.signals.parallel import PromptAnalyzer
from tests.detectors.scenario import scenario


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, set[str]]:
    rows, accounts, op = scenario()
    d = tmp_path_factory.mktemp("scan")
    ev, acc = d / "events.jsonl", d / "accounts.jsonl"
    with ev.open("w") as fh:
        for i, r in enumerate(rows):
            fh.write(json.dumps({**r, "ts": _iso(float(r["ts"])), "request_id": f"r{i}"}) + "\n")
        fh.write("this line is not JSON\n")
        fh.write(
            json.dumps({**rows[0], "ts": _iso(float(rows[0]["ts"])), "request_id": "r0"}) + "\n"
        )
    with acc.open("w") as fh:
        for a in accounts.to_pylist():
            a.pop("extra", None)
            fh.write(json.dumps({**a, "created_at": a["created_at"].isoformat()}) + "\n")
    return ev, acc, op


def _check_contract(report: dict[str, object], n_accounts: int) -> None:
    assert report["schema"] == "distillguard.report/1"
    inp = report["input"]
    assert isinstance(inp, dict)
    assert inp["lines"] == inp["events"] + inp["rejected"] + inp["duplicates"]
    accounts = report["accounts"]
    assert isinstance(accounts, list) and len(accounts) == n_accounts == inp["accounts"]
    for a in accounts:
        assert set(a) == {
            "account_id",
            "score",
            "action",
            "campaign_id",
            "first_action_at",
            "reasons",
        }
        assert 0.0 <= a["score"] <= 1.0
        assert a["action"] in {"allow", "review", "throttle", "degrade", "suspend"}
    campaigns = report["campaigns"]
    assert isinstance(campaigns, list)
    for c in campaigns:
        assert set(c) == {
            "campaign_id",
            "score",
            "accounts",
            "requests",
            "first_seen",
            "detected_at",
            "signals",
        }


def test_scan_finds_the_operation(files: tuple[Path, Path, set[str]]) -> None:
    ev, acc, op = files
    result = scan([ev], accounts=acc)
    report = build_report(result.summary, result.detection)
    _check_contract(report, 50)
    assert report["input"] == {
        "lines": len(ev.read_text().splitlines()),
        "events": report["input"]["events"],  # type: ignore[index]
        "rejected": 1,
        "duplicates": 1,
        "accounts": 50,
    }
    by_id = {a["account_id"]: a for a in report["accounts"]}  # type: ignore[union-attr]
    assert all(by_id[a]["action"] in {"suspend", "degrade"} for a in op)
    assert all(by_id[a]["action"] in {"allow", "review"} for a in by_id if a.startswith("user"))
    assert not any(by_id[a]["action"] == "suspend" for a in by_id if a.startswith("user"))
    camp = report["campaigns"][0]  # type: ignore[index]
    assert op <= set(camp["accounts"])
    assert camp["signals"]


def test_scan_in_chunks_gives_the_same_result(files: tuple[Path, Path, set[str]]) -> None:
    """Merging the state every few batches bounds memory and changes nothing."""
    ev, acc, _ = files
    whole = scan([ev], accounts=acc)
    chunked = scan([ev], accounts=acc, batch_rows=97, merge_rows=200)
    assert chunked.detection.actions == whole.detection.actions
    a = {k: v.score for k, v in whole.detection.scores.accounts.items()}
    b = {k: v.score for k, v in chunked.detection.scores.accounts.items()}
    assert a == pytest.approx(b)
    assert chunked.state.events == whole.state.events


def test_a_finished_scan_keeps_signals_but_takes_no_new_prompt(
    files: tuple[Path, Path, set[str]],
) -> None:
    """After ingest the near-duplicate index is dropped: what was seen can
    still be looked up, nothing new can be added."""
    ev, acc, _ = files
    result = scan([ev], accounts=acc)
    prompts = result.state.prompts
    first = json.loads(ev.read_text().splitlines()[0])["prompt"]
    assert prompts.lookup(pa.array([first])).num_rows == 1
    with pytest.raises(RuntimeError, match="sealed"):
        prompts.lookup(pa.array(["a prompt this scan never saw, seven words long"]))


def test_a_detector_reading_the_prompt_index_keeps_it(
    files: tuple[Path, Path, set[str]],
) -> None:
    class Reader(VolumeDetector):
        reads_prompt_index = True
        seen = 0

        def detect(self, ctx: DetectionContext) -> list[Finding]:
            Reader.seen = ctx.prompts.fingerprints.n_prompts
            return []

    ev, acc, _ = files
    scan([ev], accounts=acc, detectors=[Reader()])
    assert Reader.seen > 0


def test_scan_on_several_processes_gives_the_same_result(
    files: tuple[Path, Path, set[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Prompts analysed by worker processes, a batch ahead of the one being
    added: the same state and report."""
    ev, acc, _ = files
    whole = scan([ev], accounts=acc)
    monkeypatch.setattr("distillguard.signals.parallel.MIN_PARALLEL", 50)
    shares: list[int] = []
    real = PromptAnalyzer._ensure_pool
    monkeypatch.setattr(PromptAnalyzer, "_ensure_pool", lambda self: shares.append(1) or real(self))
    submitted: list[int] = []
    submit = PromptAnalyzer.submit
    monkeypatch.setattr(
        PromptAnalyzer, "submit", lambda self, t: submitted.append(len(t)) or submit(self, t)
    )
    shared = scan([ev], accounts=acc, batch_rows=500, workers=2)
    assert shares  # the worker process did take shares
    assert len(submitted) > 1  # batches read ahead were analysed in the background
    assert shared.detection.actions == whole.detection.actions
    a = {k: v.score for k, v in whole.detection.scores.accounts.items()}
    b = {k: v.score for k, v in shared.detection.scores.accounts.items()}
    assert a == pytest.approx(b)
    assert shared.state.prompts.size == whole.state.prompts.size


def test_replay_acts_early_and_reports_when(files: tuple[Path, Path, set[str]]) -> None:
    ev, acc, op = files
    result = replay([ev], accounts=acc, step_s=900)
    assert result.steps > 3
    report = build_report(
        result.summary,
        result.detection,
        first_action_at=result.first_action_at,
        detected_at=result.campaign_detected_at,
    )
    _check_contract(report, 50)
    acted = {a: result.first_action_at.get(a) for a in op}
    assert all(t is not None for t in acted.values())
    served = sum(result.served_before_action[a] for a in op)
    total = sum(result.requests[a] for a in op)
    assert served < total  # actions did apply before the operation ended
    for a in report["accounts"]:  # type: ignore[union-attr]
        if a["account_id"] in op:
            assert a["first_action_at"] is not None
    # The strongest action ever taken holds every enforcement, the final
    # ones included.
    strongest = result.strongest_action
    assert {a for a, x in strongest.items() if x.enforced} == set(result.first_action_at)
    for a, x in result.detection.actions.items():
        if x is not Action.ALLOW:
            assert strongest[a].rank >= x.rank


def test_replay_detecting_hourly_ends_in_the_same_state(
    files: tuple[Path, Path, set[str]],
) -> None:
    """Steps between detections are merged together, which changes nothing
    but when actions start."""
    ev, acc, _ = files
    every = replay([ev], accounts=acc, step_s=900)
    hourly = replay([ev], accounts=acc, step_s=900, detect_every_s=3600)
    assert hourly.steps == every.steps
    assert hourly.detection.actions == every.detection.actions
    a = {k: v.score for k, v in every.detection.scores.accounts.items()}
    b = {k: v.score for k, v in hourly.detection.scores.accounts.items()}
    assert a == b
    assert set(hourly.first_action_at) <= set(every.first_action_at)
    for acc_id, t in hourly.first_action_at.items():
        assert t >= every.first_action_at[acc_id]


def test_replay_analysing_prompts_ahead_changes_nothing(
    files: tuple[Path, Path, set[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Prompts read ahead are analysed in one batch, here on two processes;
    clusters and wrappers are still assigned step by step."""
    ev, acc, _ = files
    monkeypatch.setattr("distillguard.signals.parallel.MIN_PARALLEL", 50)
    fetched: list[int] = []
    real = PromptCache.prefetch
    monkeypatch.setattr(
        PromptCache,
        "prefetch",
        lambda self, p, **kw: fetched.append(real(self, p, **kw)) or fetched[-1],
    )
    ahead = replay([ev], accounts=acc, step_s=900, workers=2)
    assert sum(fetched) > 50
    monkeypatch.setattr(PromptCache, "prefetch", lambda self, p, **kw: 0)
    plain = replay([ev], accounts=acc, step_s=900)
    assert ahead.detection.actions == plain.detection.actions
    a = {k: v.score for k, v in plain.detection.scores.accounts.items()}
    b = {k: v.score for k, v in ahead.detection.scores.accounts.items()}
    assert a == b
    assert ahead.first_action_at == plain.first_action_at
    assert ahead.served_before_action == plain.served_before_action


def test_cli_scan_writes_report_and_rejects(
    files: tuple[Path, Path, set[str]], tmp_path: Path
) -> None:
    ev, acc, _ = files
    out, rej = tmp_path / "r.json", tmp_path / "rejects.jsonl"
    res = CliRunner().invoke(
        app, ["scan", str(ev), "--accounts", str(acc), "--out", str(out), "--rejects", str(rej)]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["schema"] == "distillguard.report/1"
    lines = [json.loads(x) for x in rej.read_text().splitlines()]
    assert len(lines) == 1 and lines[0]["reason"]


def test_cli_errors_have_exit_codes(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text("name: x\nrules: []\nunknown: 1\n")
    ev = tmp_path / "e.jsonl"
    ev.write_text("")
    res = CliRunner().invoke(
        app, ["scan", str(ev), "--profile", str(bad), "--out", str(tmp_path / "o.json")]
    )
    assert res.exit_code == 2
    assert "unknown" in res.output
    res = CliRunner().invoke(
        app, ["scan", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o.json")]
    )
    assert res.exit_code == 3
