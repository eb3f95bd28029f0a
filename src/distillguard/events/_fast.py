"""The DuckDB tier: one query over the rows the Arrow tier handed on.

The query accepts the records it can check and convert with certainty and
leaves every other row to the per-record reference path (``_normalize``), which
produces the precise reject reason or the row. For the rows it accepts it must
give exactly what ``_normalize.normalize`` gives; parity tests check this.

Each line is parsed into a struct holding the JSON text of every known
top-level field (``json_transform`` with ``JSON`` leaves), and once more for
its number of keys. The JSON type of a value is the first character of its
text, so every check and conversion after that works on short texts: strings
are unescaped with ``->>``, an integer is a number text without a fraction or
an exponent, a float any number whose ``DOUBLE`` is finite; ``messages`` and
``params`` are parsed again from their (short) texts.

Anything unusual goes to the reference path: lenient JSON that DuckDB reads
but strict JSON does not (trailing commas, NaN/Infinity, numbers beyond the
double range, nesting deeper than the strict parser allows), duplicate keys,
a user field called ``extra``, timestamps outside the strict RFC 3339 form,
content given as parts (or absent from an earlier user turn), numbers out of
range. Rows with keys outside the known set (or known keys set to ``null``)
come back flagged (``_unknown``) with their key counts, for the caller to fill
``extra`` and rule out repeated keys.
"""

from __future__ import annotations

import json
import threading
from functools import cache

import duckdb
import pyarrow as pa

from distillguard.events._fields import (
    ASN_MAX,
    INT32_MAX,
    KNOWN_FIELDS,
    MAX_EPOCH_MS,
    PARAM_FIELDS,
    SIMPLE_FIELDS,
    SYSTEM_ROLES,
    Kind,
)
from distillguard.events.schema import TURN_SEPARATOR

# Strict RFC 3339 that DuckDB's cast reads exactly as ``datetime.fromisoformat``.
_ISO_TS = (
    r"[12][0-9]{3}-[01][0-9]-[0-3][0-9][T ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
)
# A comma before a closing bracket (outside strings it is lenient JSON; inside
# a string it only sends the row to the reference path).
_TRAILING_COMMA = r",[ \t\r\n]*[}\]]"
# In the compact text DuckDB writes back: NaN / Infinity literals, and numbers
# that may overflow a double (three-digit exponent, or a very long digit run).
_ODD_NUMBER = r"[:\[,]-?(?:[iIN]|n[^u]|[0-9.]*[eE]\+?[0-9]{3})|[0-9]{200}"
# The strict parser refuses nesting deeper than 1024; a line shorter than this
# cannot nest that deep.
_DEEP_BYTES = 2048
_DEEP_OPENERS = 1000

_TOP = sorted(KNOWN_FIELDS)


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _string(v: str) -> str:
    """The text of JSON value ``v`` (unescaped when it is a string)."""
    return f"({v} ->> '$')"


def _is_str(v: str) -> str:
    return f"starts_with({v}, '\"')"


def _int(v: str) -> str:
    return f"TRY_CAST({v} AS BIGINT)"


def _is_int(v: str) -> str:
    # DuckDB's cast rounds "1.5" to 2: an integer is a number text without a
    # fraction or an exponent (DuckDB writes every float with one of them).
    return f"({_int(v)} IS NOT NULL AND NOT contains({v}, '.') AND NOT contains({v}, 'e'))"


def _kind_ok(kind: Kind, v: str) -> str:
    """SQL: JSON text ``v`` (NULL when absent or null) is valid for ``kind``."""
    if kind is Kind.STR:
        check = _is_str(v)
    elif kind is Kind.BOOL:
        check = f"{v}::VARCHAR IN ('true', 'false')"
    elif kind is Kind.COUNT:
        check = f"({_is_int(v)} AND {_int(v)} >= 0)"
    elif kind is Kind.INT:
        check = _is_int(v)
    else:
        check = f"isfinite(TRY_CAST({v} AS DOUBLE))"
    return f"({v} IS NULL OR {check})"


def _kind_value(kind: Kind, v: str) -> str:
    if kind is Kind.STR:
        return _string(v)
    if kind is Kind.BOOL:
        return f"{v}::VARCHAR = 'true'"
    if kind in (Kind.COUNT, Kind.INT):
        return _int(v)
    return f"TRY_CAST({v} AS DOUBLE)"


def _struct(fields: list[str]) -> str:
    return _q(json.dumps({f: "JSON" for f in fields}))


def _count_sub(text: str, needle: str) -> str:
    return f"((strlen({text}) - strlen(replace({text}, {_q(needle)}, ''))) // {len(needle)})"


def _nonnull(values: list[str]) -> str:
    return " + ".join(f"({v} IS NOT NULL)::INTEGER" for v in values)


@cache
def build_query() -> str:
    """The SQL of the fast path over a table ``chunk(_row BIGINT, line VARCHAR)``.

    Run it with the ``filter_pushdown`` optimizer off: pushing the filters
    below the projections would evaluate the JSON functions twice.
    """
    top = {f: f"j.{f}" for f in _TOP}
    params = {f: f"p.{f}" for f in PARAM_FIELDS}
    sys_roles = ", ".join(_q(json.dumps(r)) for r in SYSTEM_ROLES)

    checks, columns = [], []
    for f, kind in SIMPLE_FIELDS.items():
        checks.append(_kind_ok(kind, top[f]))
        if f != "system_prompt":
            columns.append(f"{_kind_value(kind, top[f])} AS {f}")
    for f, kind in PARAM_FIELDS.items():
        # The value in ``params`` wins; the top-level field is the fallback.
        v = f"coalesce({params[f]}, {top[f]})"
        checks.append(_kind_ok(kind, v))
        columns.append(f"{_kind_value(kind, v)} AS {f}")

    # A message in the plain shape, {"role": "...", "content": "..."} and
    # nothing else, takes exactly this many characters of the compact text.
    plain = (
        "CASE WHEN starts_with(m.role, '\"') AND starts_with(m.content, '\"') "
        "THEN strlen(m.role) + strlen(m.content) + 20 ELSE -1000000000 END"
    )
    return f"""
WITH base AS (
    SELECT _row, line,
        json_transform(line, {_struct(_TOP)}) AS j,
        len(json_keys(line)) AS n_keys
    FROM chunk
    WHERE json_valid(line) AND NOT regexp_matches(line, {_q(_TRAILING_COMMA)})
), parsed AS (
    SELECT _row, line, j, n_keys,
        {_nonnull(list(top.values()))} AS n_known,
        json_transform(j.messages, '[{{"role": "JSON", "content": "JSON"}}]') AS msgs,
        json_transform(j.params, {_struct(list(PARAM_FIELDS))}) AS p,
        len(json_keys(j.params)) AS n_pkeys,
        {_string("j.ts")} AS ts_text
    FROM base
    WHERE j.ts IS NOT NULL AND {_is_str(top["account_id"])} AND j.extra IS NULL
        AND (j.messages IS NULL OR starts_with(j.messages, '['))
        AND (j.params IS NULL OR starts_with(j.params, '{{'))
), roles AS (
    SELECT *,
        list_filter(msgs, lambda m: m.role::VARCHAR = '"user"') AS users,
        list_filter(msgs, lambda m: m.role::VARCHAR IN ({sys_roles}))[1] AS sys,
        greatest(len(msgs), 1) + 1 + coalesce(list_sum(list_transform(msgs, lambda m: {plain})), 0)
            = strlen(j.messages) AS plain_msgs,
        {_nonnull(list(params.values()))} AS n_pknown
    FROM parsed
), checked AS (
    SELECT *,
        CASE WHEN regexp_full_match(ts_text, '[0-9]{{1,15}}') THEN
                CASE WHEN ts_text::BIGINT <= {MAX_EPOCH_MS}
                     THEN make_timestamp(ts_text::BIGINT * 1000)::TIMESTAMPTZ END
             WHEN regexp_full_match(ts_text, {_q(_ISO_TS)})
             THEN TRY_CAST(ts_text AS TIMESTAMPTZ) END AS ts,
        coalesce(len(users), 0) AS n_users,
        users[-1].content AS user_text,
        list_slice(users, 1, len(users) - 1) AS earlier_users,
        sys.content AS sys_text
    FROM roles
    WHERE j.messages IS NULL OR plain_msgs OR (
        -- Anything else in the messages: no key given twice, no number the
        -- strict parser refuses, no nesting deeper than it allows.
        {_count_sub("j.messages", '"role":')}
            = len(list_filter(msgs, lambda m: m.role IS NOT NULL))
        AND {_count_sub("j.messages", '"content":')}
            = len(list_filter(msgs, lambda m: m.content IS NOT NULL))
        AND NOT regexp_matches(j.messages, {_q(_ODD_NUMBER)})
        AND (strlen(line) < {_DEEP_BYTES}
             OR {_count_sub("line", "[")} + {_count_sub("line", "{")} < {_DEEP_OPENERS}))
)
SELECT
    ts,
    {_string(top["account_id"])} AS account_id,
    CASE WHEN j.prompt IS NOT NULL THEN {_string(top["prompt"])} ELSE {_string("user_text")} END
        AS prompt,
    (CASE WHEN n_users > 0 THEN n_users ELSE coalesce({_int(top["user_turns"])}, 1) END)::INTEGER
        AS user_turns,
    nullif(array_to_string(list_filter(
        list_transform(earlier_users, lambda m: {_string("m.content")}), lambda t: t <> ''
    ), {_q(TURN_SEPARATOR)}), '') AS earlier_prompts,
    CASE WHEN j.system_prompt IS NOT NULL THEN {_string(top["system_prompt"])}
         ELSE {_string("sys_text")} END AS system_prompt,
    nullif({_string(top["ip"])}, '') AS ip,
    upper(nullif({_string(top["country"])}, '')) AS country,
    {_int(top["asn"])} AS asn,
    {", ".join(columns)},
    {_int(top["status"])}::INTEGER AS status,
    n_keys > n_known OR coalesce(n_pkeys > n_pknown, false) AS _unknown,
    n_keys,
    n_pkeys,
    _row
FROM checked
WHERE ts IS NOT NULL
    AND trim({_string(top["account_id"])}, ' \t\n\f\r') <> ''
    AND (j.prompt IS NULL OR {_is_str(top["prompt"])})
    AND (j.prompt IS NOT NULL OR (n_users > 0 AND {_is_str("user_text")}))
    AND (n_users > 0 OR j.user_turns IS NULL
         OR ({_is_int(top["user_turns"])} AND {_int(top["user_turns"])} BETWEEN 1 AND {INT32_MAX}))
    AND (j.system_prompt IS NOT NULL OR sys IS NULL OR {_is_str("sys_text")})
    AND (earlier_users IS NULL OR len(list_filter(earlier_users, lambda m: {_is_str("m.content")}))
         = len(earlier_users))
    AND (j.ip IS NULL OR {_is_str(top["ip"])})
    AND (j.country IS NULL OR ({_is_str(top["country"])}
         AND regexp_full_match({_string(top["country"])}, '([A-Za-z]{{2}})?')))
    AND (j.asn IS NULL OR ({_is_int(top["asn"])} AND {_int(top["asn"])} BETWEEN 0 AND {ASN_MAX}))
    AND (j.status IS NULL
         OR ({_is_int(top["status"])} AND {_int(top["status"])} BETWEEN 0 AND {INT32_MAX}))
    AND {" AND ".join(checks)}
"""


_local = threading.local()
_SLICE_ROWS = 16384


def _connection(threads: int = 0) -> duckdb.DuckDBPyConnection:
    """This thread's connection (``threads``: DuckDB's own threads, 0 for its default)."""
    key = f"con{threads}"
    con: duckdb.DuckDBPyConnection | None = getattr(_local, key, None)
    if con is None:
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET disabled_optimizers = 'filter_pushdown'")
        if threads:
            con.execute(f"SET threads = {threads}")
        setattr(_local, key, con)
    return con


def fast_rows(lines: pa.StringArray, rows: pa.Int64Array) -> pa.Table | None:
    """Rows the fast path accepts (columns as named in the query, plus ``_row``).

    ``None`` when the query itself fails: the caller then sends the whole chunk
    to the reference path.
    """
    # Several record batches, so that DuckDB spreads the chunk over its threads.
    chunk = pa.Table.from_batches(  # noqa: F841  (read by DuckDB)
        pa.table({"_row": rows, "line": lines}).to_batches(max_chunksize=_SLICE_ROWS)
    )
    try:
        return _connection().sql(build_query()).to_arrow_table()
    except duckdb.Error:
        return None
