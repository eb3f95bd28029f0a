"""The HTML report: self-contained, escaped, and robust to empty input."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from distillguard.report.html import render_html, write_html

EVIL = "<script>alert(1)</script>"
HOUR0 = 493_000  # an epoch hour in 2026


@dataclass
class FakeState:
    con: duckdb.DuckDBPyConnection


@dataclass
class FakeScan:
    state: FakeState
    rejects: pa.Table


@dataclass
class FakeReplay:
    rejects: pa.Table


def _report(n_accounts: int = 6, campaigns: bool = True) -> dict[str, Any]:
    ids = ["acct_1", "acct_2", EVIL, "acct_4", "acct_5", "acct_6"][:n_accounts]
    actions = ["suspend", "suspend", "degrade", "review", "allow", "allow"]
    accounts = [
        {
            "account_id": a,
            "score": round(0.95 - 0.15 * i, 4),
            "action": actions[i],
            "campaign_id": "cmp_1" if i < 3 and campaigns else None,
            "first_action_at": None,
            "reasons": [f"wrapper {EVIL!r} reused by 3 accounts"] if i < 3 else [],
        }
        for i, a in enumerate(ids)
    ]
    cmps = [
        {
            "campaign_id": "cmp_1",
            "score": 0.97,
            "accounts": ids[:3],
            "requests": 1234,
            "first_seen": "2026-03-30T08:00:00Z",
            "detected_at": "2026-03-30T20:00:00Z",
            "signals": ["shares a payment instrument", "near-duplicate prompts <b>x</b>"],
        },
        {
            "campaign_id": "cmp_2",
            "score": 0.71,
            "accounts": ["acct_4"],
            "requests": 10,
            "first_seen": "2026-03-30T08:00:00Z",
            "detected_at": "2026-03-30T20:00:00Z",
            "signals": [],
        },
    ]
    return {
        "schema": "distillguard.report/1",
        "input": {
            "lines": 1300,
            "events": 1244,
            "rejected": 2,
            "duplicates": 54,
            "accounts": len(accounts),
        },
        "accounts": accounts,
        "campaigns": cmps if campaigns else [],
    }


def _rejects() -> pa.Table:
    return pa.table(
        {
            "source": ["events.jsonl", "events.jsonl"],
            "line": [3, 9],
            "reason": ["missing ts", EVIL],
            "raw": ["{}", EVIL],
        }
    )


@pytest.fixture
def scan_result() -> FakeScan:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE acct_key (account_id VARCHAR, family VARCHAR, key VARCHAR, "
        "n BIGINT, first_ts DOUBLE, last_ts DOUBLE)"
    )
    rows = [
        ("acct_1", "ehour", str(HOUR0), 40),
        ("acct_1", "ehour", str(HOUR0 + 1), 60),
        ("acct_2", "ehour", str(HOUR0 + 1), 30),
        (EVIL, "ehour", str(HOUR0 + 5), 7),
        ("acct_1", "prompt", "123", 100),
        ("acct_5", "ehour", str(HOUR0), 3),
    ]
    con.executemany("INSERT INTO acct_key VALUES (?, ?, ?, ?, 0, 0)", [list(r) for r in rows])
    return FakeScan(FakeState(con), _rejects())


def _write(tmp_path: Path, report: dict[str, Any], result: object = None) -> str:
    path = tmp_path / "out" / "report.html"
    write_html(path, report, result)  # type: ignore[arg-type]
    return path.read_text(encoding="utf-8")


def test_scan_report_has_campaigns_timelines_and_tables(
    tmp_path: Path, scan_result: FakeScan
) -> None:
    page = _write(tmp_path, _report(), scan_result)
    assert page.startswith("<!DOCTYPE html>")
    for cid in ("cmp_1", "cmp_2"):
        assert cid in page
    # Histogram plus one timeline for cmp_1; cmp_2's member has no hourly rows.
    assert page.count("<svg") == 2
    assert "No hourly activity recorded" in page
    assert "missing ts" in page and "events.jsonl:3" in page
    assert "1,234" in page


def test_page_is_self_contained(tmp_path: Path, scan_result: FakeScan) -> None:
    page = _write(tmp_path, _report(), scan_result)
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert not re.search(r"<link\b|@import|url\(\s*['\"]?(https?:)?//", page, re.I)
    assert "<script" not in page.replace("&lt;script", "")


def test_user_text_is_escaped(tmp_path: Path, scan_result: FakeScan) -> None:
    page = _write(tmp_path, _report(), scan_result)
    assert EVIL not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>x</b>" not in page


def test_replay_result_has_no_timelines(tmp_path: Path) -> None:
    page = _write(tmp_path, _report(), FakeReplay(_rejects()))
    assert "cmp_1" in page
    assert page.count("<svg") == 1  # the histogram only
    assert "not shown for this result" in page


def test_without_result(tmp_path: Path) -> None:
    page = _write(tmp_path, _report())
    assert "cmp_1" in page and page.count("<svg") == 1
    assert 'id="rejects"' not in page


@pytest.mark.parametrize("n_accounts", [0, 6])
def test_zero_campaigns(tmp_path: Path, scan_result: FakeScan, n_accounts: int) -> None:
    page = _write(tmp_path, _report(n_accounts=n_accounts, campaigns=False), scan_result)
    assert "No campaign was found." in page
    assert page.count("<svg") == (1 if n_accounts else 0)


def test_output_is_deterministic(scan_result: FakeScan) -> None:
    at = datetime(2026, 4, 1, tzinfo=UTC)
    first = render_html(_report(), scan_result, generated_at=at)  # type: ignore[arg-type]
    second = render_html(_report(), scan_result, generated_at=at)  # type: ignore[arg-type]
    assert first == second
    assert "2026-04-01 00:00:00 UTC" in first


def test_svg_ids_are_unique(tmp_path: Path, scan_result: FakeScan) -> None:
    report = _report()
    report["campaigns"][1]["accounts"] = ["acct_5"]
    page = _write(tmp_path, report, scan_result)
    assert page.count("<svg") == 3
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
