"""The traffic spool: rotation, torn tails, checkpoints, and a consumer killed
with SIGKILL mid-run that, restarted, ingests every event exactly once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from distillguard.gateway.spool import SpoolError, SpoolReader, SpoolWriter, segments
from tests.gateway.conftest import GatewayFactory


def test_rotation_and_batches(tmp_path: Path) -> None:
    w = SpoolWriter(tmp_path, fsync="always", segment_bytes=64)
    for i in range(50):
        w.append({"i": i})
    assert len(segments(tmp_path)) > 3
    r = SpoolReader(tmp_path, "c")
    seen: list[int] = []
    while batch := r.read(max_bytes=100):
        if not batch.lines:
            break
        seen += [rec["i"] for rec in batch.records()]
        r.commit(batch.end)
    assert seen == list(range(50))
    w.append({"i": 50})
    assert [rec["i"] for rec in SpoolReader(tmp_path, "c").read().records()] == [50]
    w.close()


def test_prune_keeps_unconsumed(tmp_path: Path) -> None:
    w = SpoolWriter(tmp_path, fsync="never", segment_bytes=64)
    for i in range(20):
        w.append({"i": i})
    w.close()
    r = SpoolReader(tmp_path, "c")
    batch = r.read(max_bytes=200)
    r.commit(batch.end)
    before = segments(tmp_path)
    removed = r.prune()
    assert removed == len([s for s in before if s < batch.end.segment]) > 0
    rest = [rec["i"] for rec in SpoolReader(tmp_path, "c").read().records()]
    assert [rec["i"] for rec in batch.records()] + rest == list(range(20))


def test_one_writer_per_folder_and_new_segment_per_writer(tmp_path: Path) -> None:
    w = SpoolWriter(tmp_path)
    with pytest.raises(SpoolError):
        SpoolWriter(tmp_path)
    w.append({"a": 1})
    w.close()
    w2 = SpoolWriter(tmp_path)
    w2.append({"a": 2})
    w2.close()
    assert segments(tmp_path) == [1, 2]


def test_torn_tail_is_skipped(tmp_path: Path) -> None:
    w = SpoolWriter(tmp_path, fsync="never")
    w.append({"a": 1})
    w.append_raw(b'{"a": 2, "cut sh')  # the writer died in the middle of a line
    w.close()
    w2 = SpoolWriter(tmp_path, fsync="never")
    w2.append({"a": 3})
    w2.close()
    r = SpoolReader(tmp_path, "c")
    assert [rec["a"] for rec in r.read().records()] == [1, 3]
    assert r.torn == 1


CONSUMER = r"""
import sqlite3, sys, time
from pathlib import Path
from distillguard.gateway.spool import Position, SpoolReader

spool, db = Path(sys.argv[1]), sys.argv[2]
con = sqlite3.connect(db, isolation_level=None)
con.execute("CREATE TABLE IF NOT EXISTS events (request_id TEXT)")
con.execute("CREATE TABLE IF NOT EXISTS pos (id INTEGER PRIMARY KEY, segment INT, offset INT)")


class InDatabase:
    # The position is committed in the same transaction as the events: exactly once.
    def load(self):
        row = con.execute("SELECT segment, offset FROM pos WHERE id = 1").fetchone()
        return None if row is None else Position(*row)

    def save(self, p):
        con.execute("INSERT OR REPLACE INTO pos VALUES (1, ?, ?)", (p.segment, p.offset))


reader = SpoolReader(spool, InDatabase())
while True:
    batch = reader.read(max_bytes=600)  # a few events per batch
    if batch.lines:
        con.execute("BEGIN")
        con.executemany("INSERT INTO events VALUES (?)", [(r["request_id"],) for r in batch.records()])
        reader.commit(batch.end)
        con.execute("COMMIT")
    time.sleep(0.01)
"""


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(db) as con:
            return int(con.execute("SELECT count(*) FROM events").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def _send(url: str, n: int) -> None:
    with httpx.Client(base_url=url, headers={"x-test-account": "acct_spool"}) as client:
        for i in range(n):
            r = client.post(
                "/v1/chat/completions",
                json={"model": "m", "messages": [{"role": "user", "content": f"q{i}"}]},
            )
            assert r.status_code == 200


def test_consumer_killed_mid_run_loses_nothing(
    gateway_factory: GatewayFactory, tmp_path: Path
) -> None:
    spool, db = tmp_path / "spool", tmp_path / "ingest.db"
    _gw, server = gateway_factory(spool={"dir": spool, "fsync": "always", "segment_bytes": 4096})
    _send(server.url, 120)
    script = tmp_path / "consumer.py"
    script.write_text(CONSUMER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}

    def consumer() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, str(script), str(spool), str(db)], env=env)

    proc = consumer()
    try:
        deadline = time.monotonic() + 30
        while _count(db) < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)  # mid-run: events ingested, more waiting
        proc.wait()
        killed_at = _count(db)
        assert 0 < killed_at < 120
        _send(server.url, 80)  # traffic goes on while detection is down
        proc = consumer()
        deadline = time.monotonic() + 60
        while _count(db) < 200 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # would a duplicate arrive late?
    finally:
        proc.kill()
        proc.wait()
    server.stop()
    spooled = [rec["request_id"] for f in sorted(spool.glob("*.jsonl")) for rec in _records(f)]
    with sqlite3.connect(db) as con:
        ingested = [r[0] for r in con.execute("SELECT request_id FROM events")]
    assert len(spooled) == 200 and len(segments(spool)) > 1
    assert sorted(ingested) == sorted(spooled)  # each exactly once


def _records(path: Path) -> list[dict[str, str]]:
    import orjson

    return [orjson.loads(line) for line in path.read_bytes().splitlines()]
