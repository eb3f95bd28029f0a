"""Carried-forward detection state.

Detection never rescans history. Each step (the whole input for ``scan``, a
window of event time for ``replay``) is reduced to

* per-account sums (``acct``): counts, token sums, inter-arrival moments, …
* the account–key incidence table (``acct_key``): which account used which
  prompt, near-duplicate cluster, wrapper, network, client, model, hour, …
* distinct counts per account and family (``acct_distinct``) and the number
  of accounts behind each key (``key_pop``), kept up to date from the
  incidence rows the step adds,

and merged into the tables below: an ``UPDATE`` of the rows a step touches and
an ``INSERT`` of the new ones. Incidence and popularity rows are matched on a
64-bit hash of their key, so the cost of a step is linear in its events plus
one scan of an integer column of the incidence table. Prompt signals are
computed once per distinct prompt and cached.

All tables live in one embedded DuckDB database; detectors read them through
:class:`DetectionContext` with SQL, so the same queries can run on Spark.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar, cast

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.engine.prompts import PromptCache

_T = TypeVar("_T")

#: Families of the incidence table, each a column of the per-event signal table.
EVENT_KEY_FAMILIES: tuple[str, ...] = (
    "prompt",
    "cluster",
    "wrapper",
    "system",
    "opening",
    "ip",
    "net",
    "asn",
    "client",
    "model",
    "area",
    "hour",
    "ehour",
    "params",
    "apikey",
)

_SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS acct (
    account_id VARCHAR PRIMARY KEY,
    n BIGINT, first_ts DOUBLE, last_ts DOUBLE,
    in_tok BIGINT, out_tok BIGINT, reas_tok BIGINT,
    n_multi BIGINT, n_elicit BIGINT, sum_elicit DOUBLE, n_elicit_strong BIGINT,
    n_hosting BIGINT, n_err BIGINT, n_new_model BIGINT,
    dt_n BIGINT, dt_sum DOUBLE, dt_sumsq DOUBLE, dt_short BIGINT, dt_regular BIGINT,
    last_dt DOUBLE,
    temp_n BIGINT, temp_sum DOUBLE, temp_sumsq DOUBLE, mt_n BIGINT, mt_sum DOUBLE
);
CREATE TABLE IF NOT EXISTS acct_key (
    account_id VARCHAR, family VARCHAR, key VARCHAR,
    n BIGINT, first_ts DOUBLE, last_ts DOUBLE, h UBIGINT
);
CREATE TABLE IF NOT EXISTS acct_distinct (
    account_id VARCHAR, family VARCHAR, d BIGINT,
    PRIMARY KEY (account_id, family)
);
CREATE TABLE IF NOT EXISTS key_pop (
    family VARCHAR, key VARCHAR, n_accounts BIGINT, n BIGINT, first_ts DOUBLE, h UBIGINT
);
CREATE TABLE IF NOT EXISTS model_seen (model VARCHAR PRIMARY KEY, first_ts DOUBLE);
CREATE TABLE IF NOT EXISTS accounts (
    account_id VARCHAR PRIMARY KEY, created_at DOUBLE, email_domain VARCHAR,
    payment_fingerprint VARCHAR, declared_country VARCHAR, org_name VARCHAR,
    parent_entity VARCHAR, tier VARCHAR, verified BOOLEAN
);
CREATE TABLE IF NOT EXISTS meta (k VARCHAR PRIMARY KEY, v DOUBLE);
"""

#: The 64-bit join key of an incidence row and of a key's popularity row,
#: stored in their ``h`` column. A step's merge matches rows on this one
#: integer rather than on three strings, which makes it several times
#: cheaper. Two different keys share a hash with probability about n²/2⁶⁵
#: for n rows (1e-5 at 20 million rows).
KEY_HASH: dict[str, str] = {
    "acct_key": "hash(account_id, family, key)",
    "key_pop": "hash(family, key)",
}
_HASH_PROBE = "hash('distillguard', 'key', 'hash')"

#: A model's typical reasoning-token share is read on at least this many
#: accounts that use it (almost) alone; below, the typical account's overall.
MODEL_BASELINE_ACCOUNTS = 20
#: ...and that ask for written-out reasoning in less than this share of
#: their requests: what a model returns to ordinary requests.
MODEL_BASELINE_MAX_ELICIT = 0.1

# The reasoning-token share each account would get if each of its requests
# returned the typical reasoning and output tokens of its model: medians per
# request over the accounts that use the model almost alone and seldom ask
# for written-out reasoning (the typical such account's overall where a
# model has too few). A reasoning model returns reasoning to every caller:
# what sets a harvest apart is more of it than ordinary requests get from
# the same models. The accounts that ask for reasoning are left out of the
# norm, or a swarm of thousands of accounts on one model would set it: on
# simulated traffic, half the accounts that use the main reasoning model
# alone are a swarm's, and the median with them is three times the median
# without.
_REASONING_EXPECTED_SQL = """
WITH ordinary AS (
    SELECT account_id, n, reasoning_tokens / n AS r, output_tokens / n AS o
    FROM _feat WHERE n >= 5 AND elicit_share < $ordinary
), overall AS (
    SELECT coalesce(median(r), 0) AS r, coalesce(median(o), 0) AS o FROM ordinary
), base AS (
    SELECT k.key AS model, median(f.r) AS r, median(f.o) AS o
    FROM acct_key k JOIN ordinary f USING (account_id)
    WHERE k.family = 'model' AND k.n >= 0.9 * f.n
    GROUP BY k.key HAVING count(*) >= $least
), per_model AS (
    SELECT k.account_id, k.n, coalesce(b.r, overall.r) AS r, coalesce(b.o, overall.o) AS o,
        b.model IS NULL AS unknown
    FROM acct_key k CROSS JOIN overall LEFT JOIN base b ON b.model = k.key
    WHERE k.family = 'model'
)
SELECT coalesce(
    sum(m.n * m.r) / greatest(sum(m.n * (m.r + m.o)), 1),
    any_value(overall.r) / greatest(any_value(overall.r + overall.o), 1)
) AS expected,
CASE WHEN count(m.account_id) = 0 THEN any_value(f.n)
    ELSE coalesce(sum(m.n) FILTER (WHERE m.r > 0 OR m.unknown), 0) END AS reasoning_requests
FROM _feat f CROSS JOIN overall LEFT JOIN per_model m USING (account_id)
GROUP BY f.account_id ORDER BY f.account_id
"""

#: A model first seen this long after the observation started counts as new.
NEW_MODEL_GRACE_S = 24 * 3600.0
#: The window after a model's first appearance in which traffic counts as a pivot.
PIVOT_WINDOW_S = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class StepStats:
    events: int
    new_prompts: int
    accounts: int


class DetectionContext:
    """What a detector sees: the state database, the prompt cache and the
    current event time. The feature table, and whatever detectors share
    through :meth:`shared`, is computed once per context."""

    def __init__(self, con: duckdb.DuckDBPyConnection, now: float, prompts: PromptCache) -> None:
        self.con = con
        self.now = now
        self.prompts = prompts
        self._features: pa.Table | None = None
        self._reasoning_expected: np.ndarray | None = None
        self._reasoning_requests: np.ndarray | None = None
        self._shared: dict[str, object] = {}

    def sql(self, query: str, params: list[object] | None = None) -> pa.Table:
        return self.con.sql(query, params=params or None).to_arrow_table()

    def shared(self, name: str, compute: Callable[[], _T]) -> _T:
        """``compute()``, run on the first call with this ``name`` only: a
        result several detectors read (one fetch of the rows they all need)."""
        if name not in self._shared:
            self._shared[name] = compute()
        return cast(_T, self._shared[name])

    def release_shared(self) -> None:
        """Drop the results detectors shared, once they have all run (at
        five million events the group families' rows take hundreds of MB)."""
        self._shared.clear()

    @property
    def features(self) -> pa.Table:
        """The per-account feature table (see ``FEATURES_SQL``)."""
        if self._features is None:
            self._features = self.sql("SELECT * FROM features ORDER BY account_id")
        return self._features

    @property
    def reasoning_expected(self) -> np.ndarray:
        """Per account of :attr:`features`, the reasoning-token share the
        typical account gets from the same models (``_REASONING_EXPECTED_SQL``)."""
        if self._reasoning_expected is None:
            cols = ["account_id", "n", "elicit_share", "reasoning_tokens", "output_tokens"]
            self.con.register("_feat", self.features.select(cols))
            try:
                params = {"least": MODEL_BASELINE_ACCOUNTS, "ordinary": MODEL_BASELINE_MAX_ELICIT}
                expected = self.con.execute(_REASONING_EXPECTED_SQL, params).fetchnumpy()
            finally:
                self.con.unregister("_feat")
            self._reasoning_expected = np.asarray(expected["expected"], dtype=np.float64)
            self._reasoning_requests = np.asarray(expected["reasoning_requests"], dtype=np.float64)
        return self._reasoning_expected

    @property
    def reasoning_requests(self) -> np.ndarray:
        """Per account of :attr:`features`, its requests that could return
        reasoning: to models whose ordinary requests get some, or whose
        norm is not known yet (``_REASONING_EXPECTED_SQL``)."""
        if self._reasoning_requests is None:
            _ = self.reasoning_expected
        assert self._reasoning_requests is not None
        return self._reasoning_requests

    @property
    def n_accounts(self) -> int:
        return int(self.features.num_rows)


class DetectionState:
    """Per-account and cross-account state, updated one step at a time."""

    def __init__(self, con: duckdb.DuckDBPyConnection | None = None) -> None:
        self.con = con if con is not None else duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute(_SCHEMA_SQL)
        self.con.execute(FEATURES_SQL)
        self._check_key_hash()
        self.prompts = PromptCache()
        self.events = 0
        self.start_ts: float | None = None
        self.now = 0.0

    # -- account side table -------------------------------------------------
    def load_accounts(self, accounts: pa.Table) -> None:
        """Add the account side table and its linking keys (payment, e-mail
        domain, sign-up burst, owning entity)."""
        self.con.register("_acc_in", accounts)
        self.con.execute(
            """
            INSERT INTO accounts
            SELECT account_id, epoch_us(created_at) / 1e6, lower(email_domain),
                   payment_fingerprint, upper(declared_country), org_name,
                   parent_entity, tier, verified
            FROM _acc_in
            QUALIFY row_number() OVER (PARTITION BY account_id) = 1
            ON CONFLICT DO NOTHING
            """
        )
        self.con.unregister("_acc_in")
        # Sign-up bursts: accounts created in the same 10-minute bucket.
        self.con.execute(
            """
            CREATE OR REPLACE TEMP TABLE _acc_keys AS
            SELECT account_id, 'payment' AS family, payment_fingerprint AS key FROM accounts
                WHERE payment_fingerprint IS NOT NULL AND payment_fingerprint <> ''
            UNION ALL SELECT account_id, 'email', email_domain FROM accounts
                WHERE email_domain IS NOT NULL AND email_domain <> ''
            UNION ALL SELECT account_id, 'signup', CAST(floor(created_at / 600) AS VARCHAR)
                FROM accounts WHERE created_at IS NOT NULL
            UNION ALL SELECT account_id, 'entity', parent_entity FROM accounts
                WHERE parent_entity IS NOT NULL AND parent_entity <> ''
            """
        )
        self._merge_keys("_acc_keys", with_ts=False)

    # -- one step -------------------------------------------------------------
    def signals(self, events: pa.Table) -> pa.Table:
        """Per-event signals of a batch (``EVENT_SCHEMA``): the event's own
        fields plus its prompt's signals, computed once per distinct prompt."""
        return self._signal_table(events)

    def update(self, events: pa.Table) -> StepStats:
        """Merge one step of events (``EVENT_SCHEMA``, any order) into the state."""
        if events.num_rows == 0:
            return StepStats(0, 0, 0)
        before = self.prompts.size
        self.merge_signals(self.signals(events))
        n_acc = len(pc.unique(events.column("account_id")))
        return StepStats(events.num_rows, self.prompts.size - before, n_acc)

    def merge_signals(self, sig: pa.Table) -> None:
        """Merge an Arrow table of per-event signals (the columns of
        :meth:`signals`) into the state."""
        self.con.register("_sig_in", sig)
        try:
            self.merge("_sig_in")
        finally:
            self.con.unregister("_sig_in")

    def merge(self, relation: str) -> None:
        """Merge a table or view of per-event signals into the state."""
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW _sig AS SELECT * FROM {relation}")
        lo, hi, count = self.con.execute(
            "SELECT min(t), max(t), count(*) FROM _sig"
        ).fetchone() or (
            None,
            None,
            0,
        )
        if not count:
            return
        if self.start_ts is None:
            self.con.execute("INSERT OR REPLACE INTO meta VALUES ('start_ts', ?)", [lo])
        self.start_ts = lo if self.start_ts is None else min(self.start_ts, lo)
        self.now = max(self.now, hi)
        self._merge_models()
        self._merge_acct()
        self.con.execute(_EVENT_KEYS_SQL)
        self._merge_keys("_step_keys", with_ts=True)
        self.events += int(count)

    def context(self, now: float | None = None) -> DetectionContext:
        return DetectionContext(self.con, self.now if now is None else now, self.prompts)

    # -- internals --------------------------------------------------------------
    def _signal_table(self, ev: pa.Table) -> pa.Table:
        """Per-event signals: the event's own fields plus its prompt's signals."""
        # A request asks for written-out reasoning whether the prompt, an
        # earlier user turn or the system instruction asks for it; the
        # instruction's key, and the conversation opening's, are families of
        # their own in the incidence table.
        sig = self.prompts.system.fold(
            self.prompts.lookup(ev.column("prompt")), ev.column("system_prompt")
        )
        sig = self.prompts.earlier.fold(sig, ev.column("earlier_prompts"))
        t = pc.divide(pc.cast(pc.cast(ev.column("ts"), pa.int64()), pa.float64()), 1e6)
        cols = {
            "account_id": ev.column("account_id"),
            "t": t,
            "api_key_id": ev.column("api_key_id"),
            "ip": ev.column("ip"),
            "asn": ev.column("asn"),
            "asn_org": ev.column("asn_org"),
            "hosting": ev.column("hosting"),
            "user_agent": ev.column("user_agent"),
            "tls_fingerprint": ev.column("tls_fingerprint"),
            "model": ev.column("model"),
            "user_turns": ev.column("user_turns"),
            "temperature": ev.column("temperature"),
            "top_p": ev.column("top_p"),
            "max_tokens": ev.column("max_tokens"),
            "reasoning_effort": ev.column("reasoning_effort"),
            "input_tokens": ev.column("input_tokens"),
            "output_tokens": ev.column("output_tokens"),
            "reasoning_tokens": ev.column("reasoning_tokens"),
            "status": ev.column("status"),
        }
        for name in sig.column_names:
            cols[name] = sig.column(name)
        return pa.table(cols)

    def _merge_models(self) -> None:
        self.con.execute(
            """
            INSERT INTO model_seen SELECT model, min(t) FROM _sig
            WHERE model IS NOT NULL GROUP BY model
            ON CONFLICT DO UPDATE SET first_ts = least(first_ts, EXCLUDED.first_ts)
            """
        )

    def _merge_acct(self) -> None:
        self.con.execute(_ACCT_STEP_SQL, [NEW_MODEL_GRACE_S, PIVOT_WINDOW_S])
        self.con.execute(_ACCT_MERGE_SQL)

    def _merge_keys(self, table: str, *, with_ts: bool) -> None:
        """Merge step keys ``(account_id, family, key[, t])`` into the incidence
        tables, counting keys new to an account into the distinct counts and
        accounts new to a key into its popularity. Rows are matched on their
        64-bit hash column ``h`` (see ``KEY_HASH``)."""
        agg = (
            "count(*) AS n, min(t) AS first_ts, max(t) AS last_ts"
            if with_ts
            else "count(*) AS n, NULL::DOUBLE AS first_ts, NULL::DOUBLE AS last_ts"
        )
        self.con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _k AS
            SELECT account_id, family, key, {agg}, {KEY_HASH["acct_key"]} AS h
            FROM {table} WHERE key IS NOT NULL GROUP BY account_id, family, key;
            CREATE OR REPLACE TEMP TABLE _k_new AS
            SELECT k.* FROM _k k ANTI JOIN acct_key a USING (h);
            INSERT INTO acct_distinct
            SELECT account_id, family, count(*) FROM _k_new GROUP BY ALL
            ON CONFLICT DO UPDATE SET d = d + EXCLUDED.d;
            CREATE OR REPLACE TEMP TABLE _p AS
            SELECT family, key, sum(new) AS n_accounts, sum(n) AS n, min(first_ts) AS first_ts,
                {KEY_HASH["key_pop"]} AS h
            FROM (
                SELECT family, key, 0 AS new, n, first_ts FROM _k
                UNION ALL SELECT family, key, 1, 0, NULL FROM _k_new
            ) GROUP BY family, key;
            UPDATE key_pop SET n_accounts = key_pop.n_accounts + p.n_accounts,
                n = key_pop.n + p.n, first_ts = least(key_pop.first_ts, p.first_ts)
            FROM _p p WHERE key_pop.h = p.h;
            INSERT INTO key_pop SELECT p.* FROM _p p ANTI JOIN key_pop USING (h);
            UPDATE acct_key SET n = acct_key.n + k.n,
                first_ts = least(acct_key.first_ts, k.first_ts),
                last_ts = greatest(acct_key.last_ts, k.last_ts)
            FROM _k k WHERE acct_key.h = k.h;
            INSERT INTO acct_key SELECT * FROM _k_new;
            DROP TABLE _k; DROP TABLE _k_new; DROP TABLE _p;
            """
        )

    def _check_key_hash(self) -> None:
        """Fill the ``h`` columns of a state file written before they existed,
        and recompute them if this DuckDB hashes differently from the one that
        wrote the state (a state file opened after an upgrade)."""
        stale = [
            name
            for name in KEY_HASH
            if not self.con.execute(
                "SELECT count(*) FROM duckdb_columns() WHERE table_name = ? AND column_name = 'h'",
                [name],
            ).fetchall()[0][0]
        ]
        for name in stale:
            self.con.execute(f"ALTER TABLE {name} ADD COLUMN h UBIGINT")
        probe = float(self.con.execute(f"SELECT CAST({_HASH_PROBE} AS DOUBLE)").fetchall()[0][0])
        stored = self.con.execute("SELECT v FROM meta WHERE k = 'key_hash'").fetchall()
        if stored and stored[0][0] != probe:
            stale = list(KEY_HASH)
        for name in stale:
            self.con.execute(f"UPDATE {name} SET h = {KEY_HASH[name]}")
        if not stored or stored[0][0] != probe:
            self.con.execute("INSERT OR REPLACE INTO meta VALUES ('key_hash', ?)", [probe])


def iso(ts: float | None) -> str | None:
    """Epoch seconds to an RFC 3339 UTC string."""
    if ts is None:
        return None
    return datetime.utcfromtimestamp(ts).strftime("%Y-%m-%dT%H:%M:%SZ")


# Per-account sums of one step, merged into ``acct``. Inter-arrival times
# continue across steps through the carried ``last_ts`` and ``last_dt``.
_ACCT_STEP_SQL = """
CREATE OR REPLACE TEMP TABLE _a AS
WITH s AS (
    SELECT _sig.*, a.last_ts AS prev_ts, a.last_dt AS prev_dt,
           m.first_ts AS model_first,
           (SELECT v FROM meta WHERE k = 'start_ts') AS obs_start
    FROM _sig
    LEFT JOIN acct a USING (account_id)
    LEFT JOIN model_seen m USING (model)
), d AS (
    SELECT *,
        t - coalesce(lag(t) OVER w, prev_ts) AS dt
    FROM s WINDOW w AS (PARTITION BY account_id ORDER BY t)
), d2 AS (
    SELECT *, coalesce(lag(dt) OVER w, prev_dt) AS pdt
    FROM d WINDOW w AS (PARTITION BY account_id ORDER BY t)
), step AS (
    SELECT account_id,
        count(*) AS n, min(t) AS first_ts, max(t) AS last_ts,
        coalesce(sum(input_tokens), 0) AS in_tok,
        coalesce(sum(output_tokens), 0) AS out_tok,
        coalesce(sum(reasoning_tokens), 0) AS reas_tok,
        count(*) FILTER (WHERE user_turns > 1) AS n_multi,
        count(*) FILTER (WHERE elicit >= 0.5) AS n_elicit,
        coalesce(sum(elicit), 0) AS sum_elicit,
        count(*) FILTER (WHERE elicit >= 0.8) AS n_elicit_strong,
        count(*) FILTER (WHERE hosting) AS n_hosting,
        count(*) FILTER (WHERE status >= 400) AS n_err,
        count(*) FILTER (WHERE model_first - obs_start > ? AND t - model_first < ?)
            AS n_new_model,
        count(dt) AS dt_n, coalesce(sum(dt), 0) AS dt_sum,
        coalesce(sum(dt * dt), 0) AS dt_sumsq,
        count(*) FILTER (WHERE dt < 1.0) AS dt_short,
        count(*) FILTER (WHERE abs(dt - pdt) <= 0.1 * greatest(pdt, 0.5)) AS dt_regular,
        arg_max(dt, t) AS last_dt,
        count(temperature) AS temp_n, coalesce(sum(temperature), 0) AS temp_sum,
        coalesce(sum(temperature * temperature), 0) AS temp_sumsq,
        count(max_tokens) AS mt_n, coalesce(sum(max_tokens), 0) AS mt_sum
    FROM d2 GROUP BY account_id
)
SELECT * FROM step
"""

_ACCT_MERGE_SQL = """
UPDATE acct SET
    n = acct.n + a.n,
    first_ts = least(acct.first_ts, a.first_ts),
    last_ts = greatest(acct.last_ts, a.last_ts),
    in_tok = acct.in_tok + a.in_tok,
    out_tok = acct.out_tok + a.out_tok,
    reas_tok = acct.reas_tok + a.reas_tok,
    n_multi = acct.n_multi + a.n_multi,
    n_elicit = acct.n_elicit + a.n_elicit,
    sum_elicit = acct.sum_elicit + a.sum_elicit,
    n_elicit_strong = acct.n_elicit_strong + a.n_elicit_strong,
    n_hosting = acct.n_hosting + a.n_hosting,
    n_err = acct.n_err + a.n_err,
    n_new_model = acct.n_new_model + a.n_new_model,
    dt_n = acct.dt_n + a.dt_n,
    dt_sum = acct.dt_sum + a.dt_sum,
    dt_sumsq = acct.dt_sumsq + a.dt_sumsq,
    dt_short = acct.dt_short + a.dt_short,
    dt_regular = acct.dt_regular + a.dt_regular,
    last_dt = coalesce(a.last_dt, acct.last_dt),
    temp_n = acct.temp_n + a.temp_n,
    temp_sum = acct.temp_sum + a.temp_sum,
    temp_sumsq = acct.temp_sumsq + a.temp_sumsq,
    mt_n = acct.mt_n + a.mt_n,
    mt_sum = acct.mt_sum + a.mt_sum
FROM _a a WHERE acct.account_id = a.account_id;
INSERT INTO acct SELECT a.* FROM _a a ANTI JOIN acct USING (account_id);
DROP TABLE _a;
"""

# The keys of each event, one row per (event, family): a view, aggregated
# per (account, family, key) without being materialised.
_EVENT_KEYS_SQL = f"""
CREATE OR REPLACE TEMP VIEW _step_keys AS
SELECT account_id, t, family, key FROM (
    SELECT account_id, t,
        CAST(norm_hash AS VARCHAR) AS prompt,
        CAST(cluster AS VARCHAR) AS cluster,
        CASE WHEN wrapper <> 0 THEN CAST(wrapper AS VARCHAR) END AS wrapper,
        CASE WHEN system <> 0 THEN CAST(system AS VARCHAR) END AS system,
        CASE WHEN opening <> 0 THEN CAST(opening AS VARCHAR) END AS opening,
        ip,
        CASE
            WHEN ip LIKE '%:%' THEN array_to_string(string_split(ip, ':')[1:3], ':') || '::/48'
            WHEN ip IS NOT NULL THEN regexp_replace(ip, '\\.[0-9]+$', '.0/24')
        END AS net,
        coalesce(CAST(asn AS VARCHAR), asn_org) AS asn,
        CASE WHEN user_agent IS NOT NULL OR tls_fingerprint IS NOT NULL
            THEN coalesce(user_agent, '') || ' | ' || coalesce(tls_fingerprint, '') END AS client,
        model,
        area,
        CAST(hour(to_timestamp(t)) AS VARCHAR) AS hour,
        CAST(CAST(floor(t / 3600) AS BIGINT) AS VARCHAR) AS ehour,
        coalesce(CAST(temperature AS VARCHAR), '-') || '|' || coalesce(CAST(top_p AS VARCHAR), '-')
            || '|' || coalesce(CAST(max_tokens AS VARCHAR), '-') || '|'
            || coalesce(reasoning_effort, '-') AS params,
        api_key_id AS apikey
    FROM _sig
) UNPIVOT (key FOR family IN (
    {", ".join(EVENT_KEY_FAMILIES)}
))
"""

# Derived per-account features. Rates are per active hour so that a short
# burst and a long campaign compare fairly.
FEATURES_SQL = f"""
CREATE OR REPLACE VIEW features AS
WITH dist AS (
    PIVOT (SELECT account_id, family, d FROM acct_distinct)
    ON family IN ({", ".join(f"'{f}'" for f in EVENT_KEY_FAMILIES)})
    USING sum(d) GROUP BY account_id
)
SELECT
    a.account_id,
    a.n,
    a.first_ts,
    a.last_ts,
    greatest(coalesce(dist.ehour, 1), 1) AS active_hours,
    a.n / greatest(coalesce(dist.ehour, 1), 1) AS req_per_active_hour,
    (a.in_tok + a.out_tok) / greatest(coalesce(dist.ehour, 1), 1) AS tok_per_active_hour,
    a.out_tok / greatest(a.in_tok, 1) AS out_in_ratio,
    a.reas_tok / greatest(a.out_tok + a.reas_tok, 1) AS reasoning_share,
    a.reas_tok AS reasoning_tokens,
    a.out_tok AS output_tokens,
    a.n_multi / a.n AS multi_turn_share,
    a.n_elicit / a.n AS elicit_share,
    a.n_elicit_strong / a.n AS elicit_strong_share,
    a.sum_elicit / a.n AS elicit_mean,
    a.n_hosting / a.n AS hosting_share,
    a.n_err / a.n AS error_share,
    a.n_new_model / a.n AS new_model_share,
    CASE WHEN a.dt_n >= 2 AND a.dt_sum > 0 THEN
        sqrt(greatest(a.dt_sumsq / a.dt_n - pow(a.dt_sum / a.dt_n, 2), 0)) / (a.dt_sum / a.dt_n)
    END AS dt_cv,
    CASE WHEN a.dt_n > 0 THEN a.dt_sum / a.dt_n END AS dt_mean,
    CASE WHEN a.dt_n > 0 THEN a.dt_short / a.dt_n END AS dt_short_share,
    CASE WHEN a.dt_n > 1 THEN a.dt_regular / a.dt_n END AS dt_regular_share,
    coalesce(dist.hour, 0) AS distinct_hours_of_day,
    coalesce(dist.prompt, 0) / a.n AS prompt_diversity,
    coalesce(dist.cluster, 0) / a.n AS cluster_diversity,
    coalesce(dist.prompt, 0) AS distinct_prompts,
    coalesce(dist.cluster, 0) AS distinct_clusters,
    coalesce(dist.wrapper, 0) AS distinct_wrappers,
    coalesce(dist.ip, 0) AS distinct_ips,
    coalesce(dist.ip, 0) / a.n AS ip_churn,
    coalesce(dist.net, 0) AS distinct_nets,
    coalesce(dist.asn, 0) AS distinct_asns,
    coalesce(dist.client, 0) AS distinct_clients,
    coalesce(dist.params, 0) AS distinct_params,
    coalesce(dist.model, 0) AS distinct_models,
    coalesce(dist.area, 0) AS distinct_areas,
    coalesce(dist.apikey, 0) AS distinct_keys,
    CASE WHEN a.temp_n > 0 THEN a.temp_sum / a.temp_n END AS temperature_mean,
    CASE WHEN a.mt_n > 0 THEN a.mt_sum / a.mt_n END AS max_tokens_mean,
    (a.first_ts - acc.created_at) / 3600.0 AS account_age_at_first_use_h,
    acc.tier, acc.verified, acc.email_domain, acc.payment_fingerprint,
    acc.declared_country, acc.parent_entity, acc.org_name
FROM acct a
LEFT JOIN dist USING (account_id)
LEFT JOIN accounts acc USING (account_id)
"""
