"""The live loop's detection state: a :class:`DetectionState` in a DuckDB
file, with the spool position it has absorbed, committed together.

Each ingest is one DuckDB transaction holding the merged aggregates, the
ledger of the request ids it absorbed, the texts of the prompts it analysed
for the first time, and the spool position after the batch. A crash at any
moment (SIGKILL included) leaves either all of it or none of it, so after a
restart every spooled request is counted exactly once.

The prompt cache (near-duplicate and wrapper indexes) lives in memory. It is
rebuilt at start-up by analysing the journaled prompt texts again, in the
order and the groups they were first analysed in: the indexes are
deterministic, so the rebuilt cache gives every prompt the cluster and
wrapper ids the stored incidence rows already use.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.engine.prompts import PromptCache
from distillguard.engine.state import DetectionState, StepStats
from distillguard.gateway.spool import Position

log = logging.getLogger(__name__)

_LIVE_SQL = """
CREATE TABLE IF NOT EXISTS live_position (
    consumer VARCHAR PRIMARY KEY, segment BIGINT, "offset" BIGINT
);
CREATE TABLE IF NOT EXISTS live_prompts (batch BIGINT, seq BIGINT, text VARCHAR);
CREATE TABLE IF NOT EXISTS live_requests (
    request_id VARCHAR, account_id VARCHAR, t DOUBLE, status INTEGER, action VARCHAR
);
CREATE TABLE IF NOT EXISTS live_rejects (
    source VARCHAR, line BIGINT, reason VARCHAR, raw VARCHAR
);
CREATE TABLE IF NOT EXISTS live_counts (k VARCHAR PRIMARY KEY, v BIGINT);
"""


class JournalingPromptCache(PromptCache):
    """A prompt cache that remembers which texts it analysed, in which groups,
    until :meth:`take_journal`; :meth:`replay` rebuilds it from them."""

    def __init__(self) -> None:
        super().__init__()
        self.journal: list[list[str]] = []

    def _analyse(self, texts: list[str], keys: npt.NDArray[np.uint64]) -> None:
        super()._analyse(texts, keys)
        self.journal.append(list(texts))

    def take_journal(self) -> list[list[str]]:
        out, self.journal = self.journal, []
        return out

    def replay(self, groups: list[list[str]]) -> None:
        """Analyse ``groups`` as they were first analysed (each one all new)."""
        for texts in groups:
            self._rows_for(texts)
        self.journal = []


class LiveState:
    """Detection state and spool position in one DuckDB file (``path``; ``None``
    keeps it in memory, for tests and the demo)."""

    def __init__(self, path: Path | None, consumer: str = "detect") -> None:
        self.path = path
        self.consumer = consumer
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(str(path) if path is not None else ":memory:")
        self._run(_LIVE_SQL)
        self.state = DetectionState(self.con)
        self.cache = JournalingPromptCache()
        self.state.prompts = self.cache
        self._batch = 0
        self.skipped = 0  # events the last ingest dropped as already absorbed
        self.restore_seconds = self._restore()

    def _run(self, sql: str, params: list[object] | None = None) -> list[tuple[Any, ...]]:
        """Execute and fetch to the end (DuckDB wants a result finished before
        the connection is used again)."""
        return self.con.execute(sql, params).fetchall()

    # -- start-up ---------------------------------------------------------------

    def _restore(self) -> float:
        """Bring the in-memory parts (prompt cache, clock, counters) back to what
        the file holds."""
        t0 = time.perf_counter()
        rows = self._run(
            "SELECT batch, list(text ORDER BY seq) FROM live_prompts GROUP BY batch ORDER BY batch"
        )
        self.cache.replay([list(texts) for _, texts in rows])
        self._batch = int(rows[-1][0]) + 1 if rows else 0
        start, now, events = self._run(
            "SELECT (SELECT v FROM meta WHERE k = 'start_ts'), max(last_ts), sum(n) FROM acct"
        )[0]
        self.state.start_ts = float(start) if start is not None else None
        self.state.now = float(now) if now is not None else 0.0
        self.state.events = int(events or 0)
        seconds = time.perf_counter() - t0
        if rows:
            log.info(
                "restored detection state: %d events, %d prompts in %.1f s",
                self.state.events,
                self.cache.size,
                seconds,
            )
        return seconds

    def load_accounts(self, accounts: pa.Table) -> None:
        """Add the accounts of the side table the state does not hold yet (a
        restart, or a side table grown by new sign-ups), committed at once."""
        known = self.con.sql("SELECT account_id FROM accounts").to_arrow_table()
        fresh = accounts.filter(
            pc.invert(pc.is_in(accounts.column("account_id"), known.column("account_id")))
        )
        if not fresh.num_rows:
            return
        self._run("BEGIN TRANSACTION")
        try:
            self.state.load_accounts(fresh)
            self._run("COMMIT")
        except BaseException:
            self._run("ROLLBACK")
            raise

    # -- the spool position -------------------------------------------------------

    @property
    def position(self) -> Position:
        rows = self._run(
            'SELECT segment, "offset" FROM live_position WHERE consumer = ?', [self.consumer]
        )
        return Position(int(rows[0][0]), int(rows[0][1])) if rows else Position()

    # -- one ingest ---------------------------------------------------------------

    def ingest(
        self, events: pa.Table, rejects: pa.Table, end: Position, *, skip_seen: bool = False
    ) -> StepStats:
        """Merge ``events``, keep ``rejects`` and move the position to ``end``,
        all in one transaction. On any failure nothing is kept, and the caller
        must reopen the state (the in-memory cache may be ahead of the file).

        With ``skip_seen``, events whose ``request_id`` the ledger already
        holds are dropped first (a source that redelivers, like JetStream);
        ``self.skipped`` tells how many."""
        self._run("BEGIN TRANSACTION")
        try:
            self.skipped = 0
            if skip_seen:
                events = self._unseen(events)
            stats = self.state.update(events)
            self._journal_prompts()
            self._ledger(events)
            if rejects.num_rows:
                self.con.register("_rej_in", rejects)
                self._run("INSERT INTO live_rejects SELECT * FROM _rej_in")
                self.con.unregister("_rej_in")
            counts = {"events": events.num_rows, "rejected": rejects.num_rows}
            if self.skipped:
                counts["skipped"] = self.skipped
            self._count(counts)
            self._run(
                "INSERT OR REPLACE INTO live_position VALUES (?, ?, ?)",
                [self.consumer, end.segment, end.offset],
            )
            self._run("COMMIT")
        except BaseException:
            self._run("ROLLBACK")
            raise
        return stats

    def _unseen(self, events: pa.Table) -> pa.Table:
        """``events`` without those whose request id is in the ledger."""
        if not events.num_rows:
            return events
        self.con.register("_ids_in", events.select(["request_id"]))
        try:
            seen = self._run(
                "SELECT DISTINCT i.request_id FROM _ids_in i"
                " JOIN live_requests r ON r.request_id = i.request_id"
            )
        finally:
            self.con.unregister("_ids_in")
        if not seen:
            return events
        ids = pa.array([row[0] for row in seen], pa.string())
        keep = pc.invert(pc.is_in(events.column("request_id"), ids))
        fresh = events.filter(pc.fill_null(keep, True))
        self.skipped = events.num_rows - fresh.num_rows
        return fresh

    def _journal_prompts(self) -> None:
        groups = self.cache.take_journal()
        if not groups:
            return
        batch = np.concatenate([np.full(len(g), self._batch + i) for i, g in enumerate(groups)])
        seq = np.concatenate([np.arange(len(g)) for g in groups])
        table = pa.table(
            {
                "batch": pa.array(batch, pa.int64()),
                "seq": pa.array(seq, pa.int64()),
                "text": pa.array([t for g in groups for t in g], pa.string()),
            }
        )
        self.con.register("_prompts_in", table)
        self._run("INSERT INTO live_prompts SELECT * FROM _prompts_in")
        self.con.unregister("_prompts_in")
        self._batch += len(groups)

    def _ledger(self, events: pa.Table) -> None:
        if not events.num_rows:
            return
        action = (
            events.column("extra")
            if "extra" in events.column_names
            else pa.nulls(events.num_rows, pa.string())
        )
        ledger = pa.table(
            {
                "request_id": events.column("request_id"),
                "account_id": events.column("account_id"),
                "ts": events.column("ts"),
                "status": events.column("status"),
                "extra": action,
            }
        )
        self.con.register("_ledger_in", ledger)
        self._run(
            """
            INSERT INTO live_requests
            SELECT request_id, account_id, epoch_us(ts) / 1e6, status,
                   json_extract_string(extra, '$.gateway_action')
            FROM _ledger_in
            """
        )
        self.con.unregister("_ledger_in")

    def _count(self, counts: dict[str, int]) -> None:
        for key, value in counts.items():
            self._run(
                "INSERT INTO live_counts VALUES (?, ?) ON CONFLICT DO UPDATE SET v = v + EXCLUDED.v",
                [key, value],
            )

    def counts(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self._run("SELECT k, v FROM live_counts")}

    def close(self) -> None:
        self.con.close()
