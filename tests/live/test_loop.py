"""The detection loop on a spool: ingest, positions, restart, failure."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from distillguard.decisions.store import DecisionStore
from distillguard.events import Reason
from distillguard.live import DetectionLoop, LiveState, LoopConfig

from .conftest import PROMPTS, write_spool


def ledger(state: LiveState) -> list[str]:
    return [r[0] for r in state.con.execute("SELECT request_id FROM live_requests").fetchall()]


def test_loop_ingests_everything_once_and_counts_rejects(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    ids = write_spool(spool, 300, bad=2)
    loop = DetectionLoop(spool, tmp_path / "state.duckdb", DecisionStore("sqlite://"))
    stats = loop.run_once()
    assert (stats.lines, stats.events, stats.rejected) == (302, 300, 2)
    assert stats.detection is not None  # new events: detection ran
    ids += write_spool(spool, 100)
    stats = loop.run_once()
    assert stats.events == 100
    assert sorted(ledger(loop.state)) == sorted(ids)
    assert loop.state.counts() == {"events": 400, "rejected": 2}
    reasons = loop.state.con.execute("SELECT DISTINCT reason FROM live_rejects").fetchall()
    assert reasons == [(Reason.BAD_TS,)]
    assert loop.run_once().events == 0
    loop.close()


def test_restart_resumes_from_the_committed_position(tmp_path: Path) -> None:
    spool, path = tmp_path / "spool", tmp_path / "state.duckdb"
    store = DecisionStore("sqlite://")
    ids = write_spool(spool, 200)
    loop = DetectionLoop(spool, path, store)
    loop.run_once()
    before = loop.state.state.signals(_probe()).select(["norm_hash", "cluster", "wrapper"])
    loop.close()
    ids += write_spool(spool, 50)
    loop = DetectionLoop(spool, path, store)
    assert loop.state.state.events == 200
    assert loop.run_once().events == 50
    assert sorted(ledger(loop.state)) == sorted(ids)
    # The rebuilt prompt cache gives the prompts the ids the stored rows use.
    after = loop.state.state.signals(_probe()).select(["norm_hash", "cluster", "wrapper"])
    assert after.equals(before)
    loop.close()


def _probe() -> pa.Table:
    from tests.conftest import make_events

    return make_events(
        [
            {"ts": 0.0, "account_id": "p", "prompt": PROMPTS[k % 3].format(i=k, j=k)}
            for k in range(9)
        ]
    )


def test_a_failed_merge_keeps_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spool, path = tmp_path / "spool", tmp_path / "state.duckdb"
    ids = write_spool(spool, 120)
    loop = DetectionLoop(spool, path, DecisionStore("sqlite://"))

    def broken(self: LiveState, events: pa.Table) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(LiveState, "_ledger", broken)
    with pytest.raises(OSError, match="disk full"):
        loop.run_once()
    monkeypatch.undo()
    assert loop.state.state.events == 0 and loop.state.cache.size == 0
    assert loop.run_once().events == 120
    assert sorted(ledger(loop.state)) == sorted(ids)
    loop.close()


def test_detection_is_spaced_out(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    write_spool(spool, 50)
    loop = DetectionLoop(spool, None, DecisionStore("sqlite://"), LoopConfig(detect_every_s=3600))
    assert loop.run_once().detection is not None
    write_spool(spool, 50)
    stats = loop.run_once()
    assert stats.events == 50 and stats.detection is None
    assert loop.run_once(force_detect=True).detection is not None
    loop.close()
