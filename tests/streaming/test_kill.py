"""Two worker processes on one detection state: the active one is killed
(SIGKILL) while it holds an unacknowledged batch; the standby takes over and
every event ends up in the state exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from distillguard.live.state import LiveState
from distillguard.streaming import StreamSettings, connect, ensure_stream
from tests.streaming._helpers import ledger, publish, stream_state
from tests.streaming.conftest import event, run

N = 6000


def _worker(data: Path, stream: StreamSettings, log: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-c", "from distillguard.cli import main; main()", "worker"]
    cmd += ["--data-dir", str(data), "--nats-url", stream.url, "--stream", stream.stream]
    cmd += ["--subject", stream.subject, "--batch", "1000", "--linger", "0.2"]
    cmd += ["--ack-wait", "2", "--detect-every", "3600", "--log-level", "warning"]
    with log.open("wb") as fh:  # the child keeps its own descriptor
        return subprocess.Popen(cmd, stderr=fh, stdout=subprocess.DEVNULL)


def _wait(what: str, check: object, timeout: float = 40.0) -> None:
    assert callable(check)
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_sigkill_mid_batch_loses_and_duplicates_nothing(
    stream: StreamSettings, tmp_path: Path
) -> None:
    async def setup() -> int:
        nc = await connect(stream.url)
        await ensure_stream(nc.jetstream(), stream)
        await nc.close()
        return await publish(stream, [event(i) for i in range(N)])

    assert run(setup()) == N
    data = tmp_path / "data"
    lock = data / "state.duckdb.lock"
    first = _worker(data, stream, tmp_path / "a.log")
    _wait("the first worker to become active", lambda: lock.exists() and lock.read_text().strip())
    second = _worker(data, stream, tmp_path / "b.log")
    procs = {first.pid: first, second.pid: second}
    try:
        active = int(lock.read_text())
        # a batch is fetched and not yet acknowledged: the worker is merging it
        _wait("a batch in flight", lambda: run(stream_state(stream))[1] > 0)
        os.kill(active, signal.SIGKILL)
        procs[active].wait(timeout=10)
        standby = next(p for pid, p in procs.items() if pid != active)
        _wait("the standby to take over", lambda: lock.read_text().strip() == str(standby.pid))
        _wait("the stream to be consumed", lambda: run(stream_state(stream)) == (0, 0), 60)
        standby.send_signal(signal.SIGTERM)
        assert standby.wait(timeout=20) == 0
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
    log = (tmp_path / ("a.log" if standby is first else "b.log")).read_text()
    redelivered = int(log.split(" messages redelivered")[0].rsplit(" ", 1)[1])
    assert redelivered > 0, log  # the killed worker's batch came back
    state = LiveState(data / "state.duckdb")
    try:
        seen = ledger(state)
        assert len(seen) == N
        assert max(seen.values()) == 1
        assert state.counts()["events"] == N
        assert state.state.events == N
    finally:
        state.close()
