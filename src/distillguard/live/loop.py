"""The detection loop: tail the gateway's spool, merge, detect, decide.

Every ``interval_s`` the loop reads what the gateway spooled since its
committed position, validates it like any other input, and merges it into the
persistent detection state together with the new position (one transaction:
see :mod:`distillguard.live.state`). Every ``detect_every_s`` it runs the
detectors and the policy profile on the state and publishes the resulting
account decisions (changes only, see :mod:`distillguard.live.publish`), where
the gateways pick them up through the decision stream.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from distillguard.decisions.store import DecisionStore
from distillguard.detectors.base import Detector
from distillguard.engine.detect import Detection, detect
from distillguard.events import read_accounts
from distillguard.gateway.spool import Checkpoint, Position, SpoolReader
from distillguard.live.config import LoopConfig
from distillguard.live.ingest import parse_lines
from distillguard.live.publish import DecisionPublisher, PublishResult
from distillguard.live.state import LiveState
from distillguard.scoring import Profile, load_profile

log = logging.getLogger(__name__)


class _StateCheckpoint(Checkpoint):
    """The spool position as the state file holds it; it is written by
    :meth:`LiveState.ingest`, inside the merge's transaction, never alone."""

    def __init__(self, state: LiveState) -> None:
        self._state = state

    def load(self) -> Position | None:
        return self._state.position

    def save(self, position: Position) -> None:  # pragma: no cover - never called
        raise RuntimeError("the live state commits its position with the merge")


@dataclass(slots=True)
class CycleStats:
    """What one cycle did, for logs, metrics and the demo's timeline."""

    started: float  # wall clock (time.time())
    lines: int = 0
    events: int = 0
    rejected: int = 0
    skipped: int = 0  # already absorbed (a redelivery), dropped by request id
    ingest_s: float = 0.0
    detect_s: float | None = None
    detection: Detection | None = None
    published: PublishResult | None = None
    position: Position = field(default_factory=Position)


Listener = Callable[[CycleStats], None]


class DetectionLoop:
    """Tails ``spool_dir`` into the state at ``state_path`` and publishes
    decisions to ``store``. ``run_once`` is one cycle; ``start``/``stop`` run
    it on a thread every ``config.interval_s``."""

    def __init__(
        self,
        spool_dir: Path,
        state_path: Path | None,
        store: DecisionStore,
        config: LoopConfig | None = None,
        *,
        profile: Profile | None = None,
        detectors: Sequence[Detector] | None = None,
        listeners: Sequence[Listener] = (),
    ) -> None:
        self.config = config or LoopConfig()
        self.spool_dir = spool_dir
        self.state_path = state_path
        self.profile = profile or load_profile(self.config.profile)
        self.detectors = detectors
        self.listeners = list(listeners)
        self.publisher = DecisionPublisher(
            store,
            ttl=timedelta(seconds=self.config.decision_ttl_s),
            simulated=self.config.shadow,
            min_action=self.config.min_action,
            release_after=self.config.release_after,
        )
        self.state = self._open()
        self._last_detect: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.cycles = 0
        self.errors = 0
        self.last_error: str | None = None

    def _open(self) -> LiveState:
        state = LiveState(self.state_path, self.config.consumer)
        if self.config.accounts is not None:
            table, _ = read_accounts(self.config.accounts)
            state.load_accounts(table)
        self._dirty = state.state.events > 0  # decide once after a restart
        self.reader = SpoolReader(self.spool_dir, _StateCheckpoint(state))
        return state

    # -- one cycle ------------------------------------------------------------

    def run_once(self, *, force_detect: bool = False) -> CycleStats:
        """Ingest everything spooled so far (in batches of ``max_batch_bytes``),
        then detect and publish if it is time (or ``force_detect``)."""
        stats = CycleStats(started=time.time())
        cycle_start = time.monotonic()
        t0 = time.perf_counter()
        while True:
            start = self.reader.position
            batch = self.reader.read(self.config.max_batch_bytes)
            if not batch.lines and batch.end == start:
                break
            self.absorb(batch.lines, f"spool@{batch.end.segment}", batch.end, stats)
            self.reader.position = batch.end
            if sum(len(line) + 1 for line in batch.lines) < self.config.max_batch_bytes // 2:
                break  # caught up: what the gateway spools meanwhile is the next cycle's
        stats.ingest_s = time.perf_counter() - t0
        stats.position = self.reader.position
        if self.config.prune_spool:
            self.reader.prune()
        self.finish_cycle(stats, cycle_start, force_detect=force_detect)
        return stats

    def absorb(
        self,
        lines: Sequence[bytes],
        source: str,
        end: Position,
        stats: CycleStats,
        *,
        skip_seen: bool = False,
    ) -> None:
        """Validate ``lines`` and merge them into the state with the position
        ``end``, in one transaction; ``skip_seen`` drops events already
        absorbed (sources that redeliver). Adds the counts to ``stats``."""
        parsed = parse_lines(lines, source)
        try:
            self.state.ingest(parsed.events, parsed.rejects, end, skip_seen=skip_seen)
        except BaseException:
            self._reopen()
            raise
        fresh = parsed.events.num_rows - self.state.skipped
        stats.lines += len(lines)
        stats.events += fresh
        stats.rejected += parsed.summary.rejected
        stats.skipped += self.state.skipped
        self._dirty = self._dirty or fresh > 0

    def finish_cycle(
        self, stats: CycleStats, cycle_start: float, *, force_detect: bool = False
    ) -> None:
        """Detect and publish if it is time, then tell the listeners."""
        if self._due(force_detect, cycle_start):
            self._last_detect = cycle_start
            self._detect(stats)
        self.cycles += 1
        for listener in self.listeners:
            listener(stats)

    def _due(self, force: bool, cycle_start: float) -> bool:
        """Detection runs when forced, or when new events came in and
        ``detect_every_s`` passed since the start of the cycle that last ran
        it (a tenth of slack, so that cycle jitter does not skip a run)."""
        if force:
            return self.state.state.events > 0
        if not self._dirty:
            return False
        last = self._last_detect
        return last is None or cycle_start - last >= 0.9 * self.config.detect_every_s

    def _detect(self, stats: CycleStats) -> None:
        t0 = time.perf_counter()
        self._dirty = False
        detection = detect(self.state.state, self.profile, self.detectors)
        stats.detect_s = time.perf_counter() - t0
        stats.detection = detection
        stats.published = self.publisher.publish(detection.actions, detection.scores.accounts)

    def _reopen(self) -> None:
        """After a failed merge the in-memory cache may be ahead of the file:
        start again from what the file holds."""
        log.warning("detection state merge failed; reopening the state from its file")
        try:
            self.state.close()
        finally:
            self.state = self._open()

    # -- on a thread ----------------------------------------------------------

    def start(self) -> DetectionLoop:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="detection-loop", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            t0 = time.monotonic()
            try:
                self.run_once()
                self.last_error = None
            except Exception as exc:  # the loop keeps going; the next cycle retries
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("detection cycle failed")
            self._stop.wait(max(self.config.interval_s - (time.monotonic() - t0), 0.0))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def close(self) -> None:
        self.stop()
        self.state.close()
