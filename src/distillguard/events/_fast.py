"""The vectorised validation path: one DuckDB query over a chunk of JSON texts.

The query accepts the records it can check and convert with certainty and
marks every other row for the per-record reference path (``_normalize``), which
produces the precise reject reason or the row. For the rows it accepts it must
give exactly what ``_normalize.normalize`` gives; a property test checks this.

Anything unusual goes to the reference path: duplicate keys, a user field
called ``extra``, lenient JSON that DuckDB would accept but strict JSON does
not (trailing commas, NaN/Infinity), timestamps outside the strict RFC 3339
form, content given as parts, numbers out of range.
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

_DUCK_TYPE = {
    Kind.STR: "VARCHAR",
    Kind.COUNT: "BIGINT",
    Kind.INT: "BIGINT",
    Kind.FLOAT: "DOUBLE",
    Kind.BOOL: "BOOLEAN",
}
_JSON_TYPES = {
    Kind.STR: ("VARCHAR",),
    Kind.COUNT: ("UBIGINT",),
    Kind.INT: ("UBIGINT", "BIGINT"),
    Kind.FLOAT: ("UBIGINT", "BIGINT", "DOUBLE"),
    Kind.BOOL: ("BOOLEAN",),
}
_SPECIAL_TYPES = {
    "ts": "VARCHAR",
    "account_id": "VARCHAR",
    "ip": "VARCHAR",
    "country": "VARCHAR",
    "asn": "BIGINT",
    "status": "BIGINT",
    "prompt": "VARCHAR",
    "messages": [{"role": "VARCHAR", "content": "JSON"}],
    "params": "JSON",
    "user_turns": "BIGINT",
}
# Strict RFC 3339 that DuckDB's cast reads exactly as ``datetime.fromisoformat``.
_ISO_TS = (
    r"[12][0-9]{3}-[01][0-9]-[0-3][0-9][T ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
)

#: Output columns of the query, in order (``EVENT_SCHEMA`` less enrichment
#: columns the record did not carry, plus ``_row``).
_TOP = sorted(KNOWN_FIELDS)


def _sql_list(values: list[str] | tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def _type_ok(t: str, kind: Kind, value: str) -> str:
    allowed = ", ".join(f"'{x}'" for x in ("NULL", *_JSON_TYPES[kind]))
    check = f"coalesce({t} IN ({allowed}), true)"
    if kind is Kind.FLOAT:
        check += f" AND ({value} IS NULL OR isfinite({value}))"
    elif kind in (Kind.INT, Kind.COUNT):
        check += f" AND ({t} IS NULL OR {t} = 'NULL' OR {value} IS NOT NULL)"
    return check


@cache
def build_query() -> str:
    """The SQL of the fast path over a table ``chunk(_row BIGINT, line VARCHAR)``."""
    struct: dict[str, object] = {f: _DUCK_TYPE[SIMPLE_FIELDS[f]] for f in SIMPLE_FIELDS}
    struct |= {f: _DUCK_TYPE[PARAM_FIELDS[f]] for f in PARAM_FIELDS}
    struct |= _SPECIAL_TYPES
    paths = _sql_list(["$", *(f"$.{f}" for f in _TOP)])
    t = {f: f"ty[{i + 2}]" for i, f in enumerate(_TOP)}
    pstruct = json.dumps({f: _DUCK_TYPE[k] for f, k in PARAM_FIELDS.items()})
    ppaths = _sql_list([f"$.{f}" for f in PARAM_FIELDS])

    simple_cols, checks = [], []
    for f, kind in SIMPLE_FIELDS.items():
        if f == "system_prompt":
            continue
        simple_cols.append(f"j.{f} AS {f}")
        checks.append(_type_ok(t[f], kind, f"j.{f}"))
    param_cols = []
    for i, (f, kind) in enumerate(PARAM_FIELDS.items()):
        given = f"coalesce(pty[{i + 1}] <> 'NULL', false)"
        ptype = f"CASE WHEN {given} THEN pty[{i + 1}] ELSE {t[f]} END"
        pvalue = f"CASE WHEN {given} THEN pv.{f} ELSE j.{f} END"
        param_cols.append(f"{pvalue} AS {f}")
        checks.append(_type_ok(ptype, kind, pvalue))

    sys_roles = ", ".join(f"'{r}'" for r in SYSTEM_ROLES)
    return f"""
WITH v AS (
    SELECT _row, line FROM chunk
    WHERE json_valid(line)
), p AS MATERIALIZED (
    SELECT _row, line,
        json_type(line, {paths}) AS ty,
        json_transform(line, '{json.dumps(struct)}') AS j,
        json_keys(line) AS keys
    FROM v
), q AS MATERIALIZED (
    SELECT *,
        json_type(j.params, {ppaths}) AS pty,
        json_transform(j.params, '{pstruct}') AS pv,
        json_keys(j.params) AS pkeys,
        list_filter(j.messages, lambda m: m.role = 'user') AS users,
        list_filter(j.messages, lambda m: m.role IN ({sys_roles}))[1] AS sys,
        CASE WHEN {t["ts"]} = 'UBIGINT'
                  OR ({t["ts"]} = 'VARCHAR' AND regexp_full_match(j.ts, '[0-9]{{1,15}}'))
             THEN TRY_CAST(j.ts AS BIGINT) END AS ts_ms
    FROM p
    WHERE ty[1] = 'OBJECT'
), r AS (
    SELECT *,
        len(keys) AS n_keys,
        len(list_filter(ty, lambda x: x IS NOT NULL)) - 1 AS n_known,
        len(pkeys) AS n_pkeys,
        len(list_filter(pty, lambda x: x IS NOT NULL)) AS n_pknown,
        len(users) AS n_users,
        json_type(users[-1].content) AS t_last,
        json_type(sys.content) AS t_sys,
        CASE WHEN ts_ms <= {MAX_EPOCH_MS} THEN make_timestamp(ts_ms * 1000)::TIMESTAMPTZ
             WHEN ts_ms IS NULL AND {t["ts"]} = 'VARCHAR' AND regexp_full_match(j.ts, '{_ISO_TS}')
             THEN TRY_CAST(j.ts AS TIMESTAMPTZ) END AS ts
    FROM q
), s AS MATERIALIZED (
    SELECT *,
        ts IS NOT NULL
        AND {t["account_id"]} = 'VARCHAR'
        AND trim(j.account_id, ' \t\n\f\r') <> ''
        AND coalesce({t["extra"]}, 'NULL') = 'NULL'
        AND coalesce({t["prompt"]} IN ('NULL', 'VARCHAR'), true)
        AND coalesce({t["messages"]} IN ('NULL', 'ARRAY'), true)
        AND coalesce({t["params"]} IN ('NULL', 'OBJECT'), true)
        AND ({t["prompt"]} = 'VARCHAR' OR (n_users > 0 AND t_last = 'VARCHAR'))
        AND (coalesce(n_users, 0) > 0 OR coalesce({t["user_turns"]}, 'NULL') = 'NULL'
             OR ({t["user_turns"]} = 'UBIGINT' AND j.user_turns BETWEEN 1 AND {INT32_MAX}))
        AND (coalesce({t["system_prompt"]}, 'NULL') = 'VARCHAR'
             OR (coalesce({t["system_prompt"]}, 'NULL') = 'NULL'
                 AND (sys IS NULL OR t_sys = 'VARCHAR')))
        AND coalesce({t["ip"]} IN ('NULL', 'VARCHAR'), true)
        AND (coalesce({t["country"]}, 'NULL') = 'NULL' OR ({t["country"]} = 'VARCHAR'
             AND (j.country = '' OR regexp_full_match(j.country, '[A-Za-z]{{2}}'))))
        AND (coalesce({t["asn"]}, 'NULL') = 'NULL'
             OR ({t["asn"]} = 'UBIGINT' AND j.asn BETWEEN 0 AND {ASN_MAX}))
        AND (coalesce({t["status"]}, 'NULL') = 'NULL'
             OR ({t["status"]} = 'UBIGINT' AND j.status BETWEEN 0 AND {INT32_MAX}))
        AND {" AND ".join(checks)} AS ok
    FROM r
)
SELECT
    ts,
    j.account_id AS account_id,
    NULLIF(j.ip, '') AS ip,
    upper(NULLIF(j.country, '')) AS country,
    j.asn AS asn,
    CASE WHEN {t["prompt"]} = 'VARCHAR' THEN j.prompt ELSE users[-1].content ->> '$' END
        AS prompt,
    CASE WHEN n_users > 0 THEN n_users ELSE coalesce(j.user_turns, 1) END::INTEGER
        AS user_turns,
    CASE WHEN {t["system_prompt"]} = 'VARCHAR' THEN j.system_prompt
         ELSE sys.content ->> '$' END AS system_prompt,
    {", ".join(simple_cols)},
    {", ".join(param_cols)},
    j.status::INTEGER AS status,
    n_keys > n_known OR coalesce(n_pkeys > n_pknown, false) AS _unknown,
    n_keys,
    n_pkeys,
    _row
FROM s WHERE ok
"""


_local = threading.local()
_SLICE_ROWS = 16384


def _connection() -> duckdb.DuckDBPyConnection:
    con: duckdb.DuckDBPyConnection | None = getattr(_local, "con", None)
    if con is None:
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        _local.con = con
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
