"""The detection state's tables, aggregated by Spark SQL.

The queries mirror ``engine.state`` (``_ACCT_STEP_SQL``, ``_EVENT_KEYS_SQL``
and ``_merge_keys``) for one step merged into an empty state, which is what a
scan is: per-account sums, the account–key incidence table, distinct counts
per account and family, and the accounts behind each key. Their results are
small (a row per account, per account and key) and are loaded into a DuckDB
``DetectionState``, where the same feature view, detectors and scoring run
as on the embedded engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

from distillguard.engine.state import (
    EVENT_KEY_FAMILIES,
    KEY_HASH,
    NEW_MODEL_GRACE_S,
    PIVOT_WINDOW_S,
    DetectionState,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# Per-event signals: the event's own fields and its prompt's signals
# (``DetectionState._signal_table``, which also counts a request as eliciting
# reasoning when its system instruction or an earlier user turn does); hashes are already unsigned
# decimal text.
EVENT_COLUMNS_SQL = """
e.account_id, unix_micros(e.ts) / 1e6 AS t, e.api_key_id, e.ip, e.asn, e.asn_org,
e.hosting, e.user_agent, e.tls_fingerprint, e.model, e.user_turns, e.temperature,
e.top_p, e.max_tokens, e.reasoning_effort, e.input_tokens, e.output_tokens,
e.reasoning_tokens, e.status
"""
_SIG_SQL = f"""
SELECT {EVENT_COLUMNS_SQL},
       p.norm_key AS norm_hash, p.cluster, p.wrapper,
       greatest(p.elicit, coalesce(s.system_elicit, 0), coalesce(q.earlier_elicit, 0)) AS elicit,
       p.elicit_kind, p.area, p.lang, s.system_key AS system, q.opening_key AS opening
FROM _events e JOIN _prompt_sig p ON e.prompt = p.prompt
LEFT JOIN _system_sig s ON e.system_prompt = s.system_prompt
LEFT JOIN _earlier_sig q ON e.earlier_prompts = q.earlier_prompts
"""

_MODELS_SQL = "SELECT model, min(t) AS first_ts FROM _sig WHERE model IS NOT NULL GROUP BY model"

_ACCT_SQL = f"""
WITH s AS (
    SELECT _sig.*, m.first_ts AS model_first, (SELECT min(t) FROM _sig) AS obs_start
    FROM _sig LEFT JOIN _models m ON _sig.model = m.model
), d AS (
    SELECT *, t - lag(t) OVER (PARTITION BY account_id ORDER BY t) AS dt FROM s
), d2 AS (
    SELECT *, lag(dt) OVER (PARTITION BY account_id ORDER BY t) AS pdt FROM d
)
SELECT account_id,
    count(*) AS n, min(t) AS first_ts, max(t) AS last_ts,
    coalesce(sum(input_tokens), 0) AS in_tok,
    coalesce(sum(output_tokens), 0) AS out_tok,
    coalesce(sum(reasoning_tokens), 0) AS reas_tok,
    count_if(user_turns > 1) AS n_multi,
    count_if(elicit >= 0.5) AS n_elicit,
    coalesce(sum(CAST(elicit AS DOUBLE)), 0) AS sum_elicit,
    count_if(elicit >= 0.8) AS n_elicit_strong,
    count_if(hosting) AS n_hosting,
    count_if(status >= 400) AS n_err,
    count_if(model_first - obs_start > {NEW_MODEL_GRACE_S} AND t - model_first < {PIVOT_WINDOW_S})
        AS n_new_model,
    count(dt) AS dt_n, coalesce(sum(dt), 0) AS dt_sum,
    coalesce(sum(dt * dt), 0) AS dt_sumsq,
    count_if(dt < 1.0) AS dt_short,
    count_if(abs(dt - pdt) <= 0.1 * greatest(pdt, 0.5)) AS dt_regular,
    max_by(dt, t) AS last_dt,
    count(temperature) AS temp_n, coalesce(sum(temperature), 0) AS temp_sum,
    coalesce(sum(temperature * temperature), 0) AS temp_sumsq,
    count(max_tokens) AS mt_n, coalesce(sum(max_tokens), 0) AS mt_sum
FROM d2 GROUP BY account_id
"""

_FAMILY_STACK = ", ".join(f"'{f}', {f}" for f in EVENT_KEY_FAMILIES)

# The keys of each event (``_EVENT_KEYS_SQL``), grouped per account and key.
_KEYS_SQL = f"""
WITH k AS (
    SELECT account_id, t, stack({len(EVENT_KEY_FAMILIES)}, {_FAMILY_STACK}) AS (family, key)
    FROM (
        SELECT account_id, t,
            norm_hash AS prompt,
            cluster,
            wrapper,
            system,
            opening,
            ip,
            CASE
                WHEN ip LIKE '%:%' THEN concat_ws(':', slice(split(ip, ':'), 1, 3)) || '::/48'
                WHEN ip IS NOT NULL THEN regexp_replace(ip, '\\\\.[0-9]+$', '.0/24')
            END AS net,
            coalesce(CAST(asn AS STRING), asn_org) AS asn,
            CASE WHEN user_agent IS NOT NULL OR tls_fingerprint IS NOT NULL
                THEN coalesce(user_agent, '') || ' | ' || coalesce(tls_fingerprint, '')
            END AS client,
            model,
            area,
            CAST(hour(timestamp_seconds(t)) AS STRING) AS hour,
            CAST(CAST(floor(t / 3600) AS BIGINT) AS STRING) AS ehour,
            coalesce(CAST(temperature AS STRING), '-') || '|'
                || coalesce(CAST(top_p AS STRING), '-') || '|'
                || coalesce(CAST(max_tokens AS STRING), '-') || '|'
                || coalesce(reasoning_effort, '-') AS params,
            api_key_id AS apikey
        FROM _sig
    )
)
SELECT account_id, family, key, count(*) AS n, min(t) AS first_ts, max(t) AS last_ts
FROM k WHERE key IS NOT NULL GROUP BY account_id, family, key
"""

_DISTINCT_SQL = (
    "SELECT account_id, family, count(*) AS d FROM _acct_key GROUP BY account_id, family"
)
_POP_SQL = """
SELECT family, key, count(*) AS n_accounts, sum(n) AS n, min(first_ts) AS first_ts
FROM _acct_key GROUP BY family, key
"""


def state_tables(
    spark: SparkSession,
    events: DataFrame,
    prompt_sig: DataFrame,
    system_sig: DataFrame,
    earlier_sig: DataFrame,
) -> dict[str, DataFrame]:
    """The state tables of ``events`` (``EVENT_SCHEMA``), their prompts'
    signals, their system instructions' (``system_signals``) and their
    earlier user turns' (``earlier_signals``), as Spark DataFrames named like
    the DuckDB tables."""
    events.createOrReplaceTempView("_events")
    prompt_sig.createOrReplaceTempView("_prompt_sig")
    system_sig.createOrReplaceTempView("_system_sig")
    earlier_sig.createOrReplaceTempView("_earlier_sig")
    sig = spark.sql(_SIG_SQL).persist()
    sig.createOrReplaceTempView("_sig")
    models = spark.sql(_MODELS_SQL)
    models.createOrReplaceTempView("_models")
    acct_key = spark.sql(_KEYS_SQL).persist()
    acct_key.createOrReplaceTempView("_acct_key")
    return {
        "model_seen": models,
        "acct": spark.sql(_ACCT_SQL),
        "acct_key": acct_key,
        "acct_distinct": spark.sql(_DISTINCT_SQL),
        "key_pop": spark.sql(_POP_SQL),
        "_span": spark.sql("SELECT min(t) AS lo, max(t) AS hi, count(*) AS n FROM _sig"),
    }


def load_state(state: DetectionState, tables: dict[str, pa.Table]) -> None:
    """Insert collected state tables into an empty ``DetectionState`` (after
    its account side table, whose key families are disjoint from these)."""
    con = state.con
    for name in ("model_seen", "acct", "acct_key", "acct_distinct", "key_pop"):
        con.register("_in", tables[name])
        try:
            columns = ", ".join(tables[name].column_names)
            if name in KEY_HASH:
                con.execute(
                    f"INSERT INTO {name} ({columns}, h) SELECT {columns}, {KEY_HASH[name]} FROM _in"
                )
            else:
                con.execute(f"INSERT INTO {name} ({columns}) SELECT {columns} FROM _in")
        finally:
            con.unregister("_in")
    lo, hi, n = (tables["_span"].column(c)[0].as_py() for c in ("lo", "hi", "n"))
    if n:
        con.execute("INSERT OR REPLACE INTO meta VALUES ('start_ts', ?)", [lo])
        state.start_ts, state.now, state.events = lo, hi, int(n)
