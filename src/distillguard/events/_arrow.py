"""The first tier of the fast path: pyarrow's JSON reader over whole segments.

``pyarrow.json.read_json`` parses a segment of lines in C++, and it is strict
where the reference parser is: a value whose JSON type changes between rows
or differs from the schema, a key given twice, a trailing comma, an invalid
escape or a line that is not an object fails the read. Types are inferred
(cheaper than an explicit schema; only ``ts`` is declared) and then checked
column by column (``conform``), so the rows of a segment that parses are
well-typed, and only their values are left to check, vectorised
(``accept``). Where the reader is laxer than the reference parser it is
caught here: ``NaN`` and ``Infinity`` (finite checks), ``-0`` read as a float
(sign check), lines that hold two objects or none (row count), deep nesting
(such lines are never given to it: it recurses and could exhaust the stack).

A failed read is retried without the rows the error points at. Rows this
tier does not accept go on to the DuckDB tier (``_fast``), then to the
reference path. Rows with fields outside the known set come back flagged
(``_unknown``) for the caller to fill ``extra`` from the text; messages with
keys other than ``role`` and ``content`` are handed on (only the reference
knows ``parts``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from distillguard.events._fields import (
    ASN_MAX,
    INT32_MAX,
    MAX_EPOCH_MS,
    PARAM_FIELDS,
    SIMPLE_FIELDS,
    SYSTEM_ROLES,
    Kind,
)
from distillguard.events.schema import TS, TURN_SEPARATOR

#: Lines per call of the reader (its cost per call is about a millisecond;
#: at most 2**15 - 1, see ``_extra_groups``).
SEGMENT_ROWS = 16384
#: Lines at least this long have their brackets counted (see ``_DEEP_OPENERS``).
_LONG_LINE = 2000
#: Lines with this many opening brackets are not given to the reader.
_DEEP_OPENERS = 1000

_ARROW_TYPE = {
    Kind.STR: pa.string(),
    Kind.COUNT: pa.int64(),
    Kind.INT: pa.int64(),
    Kind.FLOAT: pa.float64(),
    Kind.BOOL: pa.bool_(),
}
_MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
_PARAMS = pa.struct([(f, _ARROW_TYPE[k]) for f, k in PARAM_FIELDS.items()])
_SPECIAL = {
    "account_id": pa.string(),
    "ip": pa.string(),
    "country": pa.string(),
    "asn": pa.int64(),
    "status": pa.int64(),
    "prompt": pa.string(),
    "messages": pa.list_(_MESSAGE),
    "params": _PARAMS,
    "user_turns": pa.int64(),
}
_TS_TYPES = {"str": pa.string(), "int": pa.int64()}
_ISO_TS = (
    r"^[12][0-9]{3}-[01][0-9]-[0-3][0-9][T ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
_ROW_IN_ERROR = re.compile(r" in row (\d+)")
_NUMBER_IN_ERROR = re.compile(r"^Failed to convert JSON to int64, couldn't parse:(\S+)$")
_TS_IN_ERROR = "Column(/ts) changed"
_TS_IS_TEXT = r'"ts"[ \t\r\n]*:[ \t\r\n]*"'


def _schema(ts_kind: str) -> pa.Schema:
    fields = [pa.field("ts", _TS_TYPES[ts_kind])]
    fields += [pa.field(f, _ARROW_TYPE[k]) for f, k in SIMPLE_FIELDS.items()]
    fields += [pa.field(f, _ARROW_TYPE[k]) for f, k in PARAM_FIELDS.items()]
    fields += [pa.field(f, t) for f, t in _SPECIAL.items()]
    return pa.schema(fields)


_SCHEMAS = {kind: _schema(kind) for kind in _TS_TYPES}

#: Columns of an accepted segment, in order (``EVENT_SCHEMA`` less ``extra``,
#: then ``_unknown``, ``_extra_group`` and ``_row``).
OUT_SCHEMA = pa.schema(
    [
        pa.field("ts", TS),
        pa.field("account_id", pa.string()),
        pa.field("request_id", pa.string()),
        pa.field("api_key_id", pa.string()),
        pa.field("ip", pa.string()),
        pa.field("user_agent", pa.string()),
        pa.field("tls_fingerprint", pa.string()),
        pa.field("country", pa.string()),
        pa.field("asn", pa.int64()),
        pa.field("asn_org", pa.string()),
        pa.field("hosting", pa.bool_()),
        pa.field("model", pa.string()),
        pa.field("endpoint", pa.string()),
        pa.field("prompt", pa.string()),
        pa.field("user_turns", pa.int32()),
        pa.field("earlier_prompts", pa.string()),
        pa.field("system_prompt", pa.string()),
        *(pa.field(f, _ARROW_TYPE[k]) for f, k in PARAM_FIELDS.items()),
        pa.field("input_tokens", pa.int64()),
        pa.field("output_tokens", pa.int64()),
        pa.field("reasoning_tokens", pa.int64()),
        pa.field("status", pa.int32()),
        pa.field("latency_ms", pa.float64()),
        pa.field("response", pa.string()),
        pa.field("_unknown", pa.bool_()),
        pa.field("_extra_group", pa.int64()),
        pa.field("_row", pa.int64()),
    ]
)


@dataclass
class Segment:
    """Rows of a block (``rows``, indices into it), and whether their timestamps
    are text (``"str"``), numbers (``"int"``) or either (``"mixed"``)."""

    rows: np.ndarray
    ts_kind: str


def segments(texts: pa.StringArray, rows: np.ndarray) -> list[Segment]:
    """The given rows of ``texts`` in segments of at most ``SEGMENT_ROWS`` lines,
    leaving out rows the reader must not see (see ``eligible``)."""
    rows = rows[eligible(texts, rows)]
    kind = _ts_kind(texts, rows[:64])
    return [Segment(rows[lo : lo + SEGMENT_ROWS], kind) for lo in range(0, len(rows), SEGMENT_ROWS)]


def eligible(texts: pa.StringArray, rows: np.ndarray) -> np.ndarray:
    """Mask over ``rows``: the text starts with ``{`` and is not deeply nested."""
    offsets, data = _raw(texts)
    starts, ends = offsets[rows], offsets[rows + 1]
    ok: np.ndarray = ends > starts
    ok[ok] = data[starts[ok]] == ord("{")
    for i in np.flatnonzero(ok & (ends - starts >= _LONG_LINE)).tolist():
        line = data[starts[i] : ends[i]]
        if np.count_nonzero((line == ord("[")) | (line == ord("{"))) >= _DEEP_OPENERS:
            ok[i] = False
    return ok


def _raw(texts: pa.StringArray) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (int64, into the data) and data bytes of a string array."""
    buffers = texts.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int32)[
        texts.offset : texts.offset + len(texts) + 1
    ]
    data_buf = buffers[2]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.empty(0, np.uint8)
    )
    return offsets.astype(np.int64), data


def _ts_kind(texts: pa.StringArray, sample: np.ndarray) -> str:
    """How a sample of lines gives ``ts``: all as text, all as numbers, or mixed."""
    if not len(sample):
        return "str"
    text = _ts_is_text(texts, sample)
    return "str" if text.all() else "int" if not text.any() else "mixed"


def _lines(texts: pa.StringArray) -> pa.StringArray:
    """The strings, each ending with a newline (as they come from JSON Lines)."""
    offsets, data = _raw(texts)
    if not len(texts) or (data[offsets[1:] - 1] == 10).all():
        return texts
    joined: pa.StringArray = pc.binary_join_element_wise(texts, "", "\n")
    return joined


def _joined(lines: pa.StringArray) -> pa.Buffer:
    """Newline-ended strings as one buffer (no copy)."""
    if not len(lines):
        return pa.py_buffer(b"")
    offsets, _ = _raw(lines)
    buf = lines.buffers()[2]
    assert buf is not None
    return buf.slice(int(offsets[0]), int(offsets[-1] - offsets[0]))


def _read(data: pa.Buffer, ts_kind: str) -> pa.Table | np.ndarray:
    """Parse a segment. First with every type but ``ts`` inferred (about a third
    cheaper). If a known field comes out with a type other than its own: the
    mask of the rows that are wrong for sure (a fraction in an integer field,
    a number in a text field), for the caller to read the others again; or,
    when no row can be blamed (text read as a date, ...), a second read
    against the explicit schema, which fails on the first wrong row."""
    conformed = conform(_read_with(data, _TS_ONLY[ts_kind]))
    if isinstance(conformed, pa.Table):
        return conformed
    if conformed is not None and conformed.any():
        return conformed
    explicit = conform(_read_with(data, _SCHEMAS[ts_kind]))
    assert isinstance(explicit, pa.Table)  # the explicit types always fit
    return explicit


def _read_with(data: pa.Buffer, schema: pa.Schema) -> pa.Table:
    return pj.read_json(
        pa.BufferReader(data),
        read_options=pj.ReadOptions(use_threads=False, block_size=max(data.size + 1, 1 << 16)),
        parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer"),
    )


_TS_ONLY = {kind: pa.schema([pa.field("ts", t)]) for kind, t in _TS_TYPES.items()}
_ALLOWED = {
    Kind.STR: (pa.string(),),
    Kind.COUNT: (pa.int64(),),
    Kind.INT: (pa.int64(),),
    Kind.FLOAT: (pa.float64(), pa.int64()),
    Kind.BOOL: (pa.bool_(),),
}
_SCALAR_KINDS = {
    **SIMPLE_FIELDS,
    **PARAM_FIELDS,
    "account_id": Kind.STR,
    "ip": Kind.STR,
    "country": Kind.STR,
    "prompt": Kind.STR,
    "asn": Kind.INT,
    "status": Kind.INT,
    "user_turns": Kind.INT,
}


def _fits(kind: Kind, t: pa.DataType) -> bool:
    return pa.types.is_null(t) or t in _ALLOWED[kind]


def _as(values: pa.Array, t: pa.DataType) -> pa.Array:
    """``values`` (null-typed, or integers for a float field) as type ``t``."""
    return values if values.type == t else values.cast(t, safe=False)


def conform(table: pa.Table) -> pa.Table | np.ndarray | None:
    """A parsed table in one fixed shape: the known columns with the explicit
    schema's types (absent ones as nulls), ``messages`` and ``params`` with
    their known keys only, and two masks: ``_unknown`` (the row has a field
    outside the known set, for ``extra``) and ``_hand_on`` (a field called
    ``extra``, or a message with keys other than role and content: the row is
    for the other tiers). If a known column has a type that does not fit: the
    mask of rows surely wrong, or ``None`` when there is no telling."""
    n = table.num_rows
    columns: dict[str, pa.Array] = {}
    unknown = np.zeros(n, dtype=bool)
    hand_on = np.zeros(n, dtype=bool)
    other_top: list[pa.Array] = []
    other_params: list[pa.Array] = []
    for name in table.column_names:
        values = _flat(table, name)
        if name in _SCALAR_KINDS:
            kind = _SCALAR_KINDS[name]
            if not _fits(kind, values.type):
                return _misfits(kind, values)
            columns[name] = _as(values, _ARROW_TYPE[kind])
        elif name == "ts":
            columns[name] = values
        elif name == "messages":
            messages = _conform_messages(values, hand_on)
            if messages is None:
                return None
            columns[name] = messages
        elif name == "params":
            params = _conform_params(values, unknown, other_params)
            if params is None:
                return None
            columns[name] = params
        else:
            valid = _any_valid(values)
            unknown |= valid
            other_top.append(values)
            if name == "extra":
                hand_on |= valid
    for name, kind in _SCALAR_KINDS.items():
        if name not in columns:
            columns[name] = pa.nulls(n, _ARROW_TYPE[kind])
    columns.setdefault("messages", pa.nulls(n, pa.list_(_MESSAGE)))
    columns.setdefault("params", pa.nulls(n, _PARAMS))
    columns["_unknown"] = pa.array(unknown)
    columns["_hand_on"] = pa.array(hand_on)
    columns["_extra_group"] = pa.array(_extra_groups(n, other_top, other_params))
    return pa.table({name: columns[name] for name in _NORMAL_NAMES})


_NORMAL_NAMES = [
    "ts",
    *_SCALAR_KINDS,
    "messages",
    "params",
    "_unknown",
    "_hand_on",
    "_extra_group",
]
_GROUPABLE = (pa.string(), pa.int64(), pa.bool_())


def _extra_groups(n: int, top: list[pa.Array], params: list[pa.Array]) -> np.ndarray:
    """Per row, an id shared by the rows whose ``extra`` is surely the same text,
    or -1. That is so for rows with one field outside the known set at most,
    and one in ``params`` at most, each a string, integer or boolean, with
    equal values: ``extra`` is then ``{key: value, "params": {key: value}}``,
    in this order, whatever the order of the line (fields set to null do not
    count). The caller builds ``extra`` once per group."""
    simple = np.ones(n, dtype=bool)
    if max(len(top), len(params), n) >= 1 << 15:
        return np.full(n, -1, dtype=np.int64)
    keys = []
    for columns in (top, params):
        count = np.zeros(n, dtype=np.int64)
        which = np.full(n, -1, dtype=np.int64)
        value = np.full(n, -1, dtype=np.int64)
        for j, column in enumerate(columns):
            valid = _any_valid(column)
            if not valid.any():
                continue
            count += valid
            if column.type in _GROUPABLE:
                codes = pc.dictionary_encode(column).indices
                which[valid] = j
                value[valid] = np.asarray(pc.fill_null(codes, -1).to_numpy(), dtype=np.int64)[valid]
            else:
                simple &= ~valid
        simple &= count <= 1
        keys += [which, value]
    simple &= (keys[0] >= 0) | (keys[2] >= 0)
    group = np.full(n, -1, dtype=np.int64)
    if simple.any():
        # each part is below 2**15 (columns, and codes within a segment), so
        # the four fit one integer
        key = np.zeros(n, dtype=np.int64)
        for part in keys:
            key = (key << 15) | (part + 1)
        _, inverse = np.unique(key[simple], return_inverse=True)
        group[simple] = inverse.reshape(-1)
    return group


def _misfits(kind: Kind, values: pa.Array) -> np.ndarray | None:
    """Rows of a column inferred with a type ``kind`` does not allow that are
    wrong for sure; ``None`` when there is no telling which."""
    t = values.type
    if kind in (Kind.INT, Kind.COUNT) and pa.types.is_floating(t):
        x = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
        with np.errstate(invalid="ignore"):
            odd = (x != np.floor(x)) | (np.abs(x) >= 2.0**63) | ~np.isfinite(x)
        wrong: np.ndarray = odd & _any_valid(values)
        return wrong
    if pa.types.is_timestamp(t):
        return None  # text read as a date: every row may be right
    return _any_valid(values)  # every value has the wrong JSON type


def _conform_messages(values: pa.Array, hand_on: np.ndarray) -> pa.Array | None:
    """``list<struct<role, content>>``; rows whose messages have other keys
    are marked in ``hand_on``."""
    t = values.type
    n = len(values)
    if pa.types.is_null(t):
        return pa.nulls(n, pa.list_(_MESSAGE))
    if not pa.types.is_list(t):
        return None
    item = t.value_type
    if pa.types.is_null(item):  # only empty lists and nulls
        elements = pa.nulls(len(values.values), _MESSAGE)
    elif pa.types.is_struct(item):
        raw = values.values  # every element, with the list offsets of ``values``
        children = dict(zip([f.name for f in item], raw.flatten(), strict=True))
        parents: np.ndarray | None = None
        for name, child in children.items():
            if name in ("role", "content"):
                if not _fits(Kind.STR, child.type):
                    return None
                continue
            valid = _any_valid(child)
            if valid.any():
                if parents is None:
                    parents = _element_rows(values)
                owners = parents[valid]
                hand_on[owners[owners >= 0]] = True
        m = len(raw)
        role = (
            _as(children["role"], pa.string()) if "role" in children else pa.nulls(m, pa.string())
        )
        content = (
            _as(children["content"], pa.string())
            if "content" in children
            else pa.nulls(m, pa.string())
        )
        elements = pa.StructArray.from_arrays(
            [role, content], fields=list(_MESSAGE), mask=raw.is_null()
        )
    else:
        return None
    return pa.ListArray.from_arrays(values.offsets, elements, mask=values.is_null())


def _element_rows(values: pa.ListArray) -> np.ndarray:
    """For each element of ``values.values``, the row of its list (-1 for
    elements under a null list or outside the array)."""
    offsets = np.asarray(values.offsets.to_numpy(), dtype=np.int64)
    rows = np.repeat(np.arange(len(values)), np.diff(offsets))
    rows[~_any_valid(values)[rows]] = -1
    owner = np.full(len(values.values), -1, dtype=np.int64)
    owner[offsets[0] : offsets[-1]] = rows
    return owner


def _conform_params(
    values: pa.Array, unknown: np.ndarray, others: list[pa.Array]
) -> pa.Array | None:
    """``params`` with the known keys only; rows with other keys are marked in
    ``unknown``, and those keys' values added to ``others``."""
    t = values.type
    n = len(values)
    if pa.types.is_null(t):
        return pa.nulls(n, _PARAMS)
    if not pa.types.is_struct(t):
        return None
    children = dict(zip([f.name for f in t], values.flatten(), strict=True))
    known = []
    for name, kind in PARAM_FIELDS.items():
        child = children.get(name)
        if child is None:
            known.append(pa.nulls(n, _ARROW_TYPE[kind]))
        elif not _fits(kind, child.type):
            return None
        else:
            known.append(_as(child, _ARROW_TYPE[kind]))
    for name, child in children.items():
        if name not in PARAM_FIELDS:
            unknown |= _any_valid(child)
            others.append(child)
    return pa.StructArray.from_arrays(known, fields=list(_PARAMS), mask=values.is_null())


def parse_segment(texts: pa.StringArray, seg: Segment) -> list[pa.Table]:
    """Accepted rows of one segment (tables in ``OUT_SCHEMA``); the other rows
    are handed on.

    A failed read is retried without the rows the error points at: the row it
    names, or the rows holding the number it could not convert, or the
    segment is split by how it gives timestamps. The parts read are checked
    together (the checks cost about as much per call as a read). After
    ``MAX_RETRIES`` the rest of the segment is handed on."""
    parsed: dict[str, tuple[list[pa.Table], list[np.ndarray]]] = {}
    mixed = seg.ts_kind == "mixed"
    pending = _split_by_ts(texts, seg.rows) if mixed else [(seg.rows, seg.ts_kind)]
    retries = MAX_RETRIES
    while pending:
        rows, ts_kind = pending.pop()
        if not len(rows):
            continue
        part = _lines(texts.take(pa.array(rows)) if len(rows) != len(texts) else texts)
        plain = _joined(part)
        data = _quote_ts(plain, part) if ts_kind == "quoted" else plain
        read_as = "int" if ts_kind == "int" else "str"
        try:
            table = _read(data, read_as)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            if retries > 0:
                retries -= 1
                pending.extend(_around_error(texts, rows, ts_kind, str(exc), part, plain))
            continue
        if isinstance(table, np.ndarray):  # rows with a wrong type: read the others
            if len(table) == len(rows):
                pending.append((rows[~table], ts_kind))
        elif table.num_rows == len(rows):  # else a line held two objects, or none
            tables, row_lists = parsed.setdefault(read_as, ([], []))
            tables.append(_offset_groups(table, sum(len(r) for r in row_lists)))
            row_lists.append(rows)
    return [
        accept(pa.concat_tables(tables), np.concatenate(row_lists))
        for tables, row_lists in parsed.values()
    ]


def _offset_groups(table: pa.Table, offset: int) -> pa.Table:
    """``_extra_group`` ids moved past those of the parts read before (a part
    has fewer groups than rows)."""
    if not offset:
        return table
    index = table.schema.get_field_index("_extra_group")
    groups = np.asarray(table.column(index).to_numpy(), dtype=np.int64)
    moved = pa.array(np.where(groups >= 0, groups + offset, -1))
    return table.set_column(index, "_extra_group", moved)


#: Failed reads retried per segment. Each costs a read of the lines up to the
#: failing one, read again, and the reader reports one failure at a time, so
#: a segment with many bad lines is better handed on to the DuckDB tier.
MAX_RETRIES = 6


def _split_by_ts(texts: pa.StringArray, rows: np.ndarray) -> list[tuple[np.ndarray, str]]:
    """Timestamps as text and as numbers. Where a line begins with a numeric
    ``ts``, the number is quoted for the reader (``_quote_ts``) and the line
    read with those giving text; the other numeric ones are read apart."""
    offsets, data = _raw(texts)
    lead = _leads_with_ts(offsets, data, rows)
    text = np.ones(len(rows), dtype=bool)
    others = np.flatnonzero(~lead)
    if len(others):
        found = pc.match_substring_regex(texts.take(pa.array(rows[others])), _TS_IS_TEXT)
        text[others] = _np_bool(found)
    return [(rows[text], "quoted"), (rows[~text], "int")]


def _leads_with_ts(offsets: np.ndarray, data: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Mask over ``rows``: the line begins ``{"ts":`` and one more byte."""
    starts, ends = offsets[rows], offsets[rows + 1]
    lead: np.ndarray = ends - starts > len(_TS_FIRST)
    head = data[starts[lead][:, None] + np.arange(len(_TS_FIRST))]
    lead[lead] = (head == _TS_FIRST).all(axis=1)
    return lead


def _quote_ts(data: pa.Buffer, part: pa.StringArray) -> pa.Buffer:
    """``data`` (the lines of ``part``) with the digits of a leading numeric
    ``ts`` in quotes: ``{"ts":1775563200000,`` becomes ``{"ts":"1775563200000",``.
    The tier reads a string of digits exactly as the reference reads the
    number (epoch milliseconds); anything else (a sign, a fraction, an
    exponent) no longer parses, and the line goes on to the other tiers."""
    offsets, _ = _raw(part)
    offsets = offsets - offsets[0]
    buf = np.frombuffer(data, dtype=np.uint8)
    lead = _leads_with_ts(offsets, buf, np.arange(len(offsets) - 1))
    first = offsets[:-1][lead] + len(_TS_FIRST)
    window = buf[np.minimum(first[:, None] + np.arange(20), len(buf) - 1)]
    digits = np.argmin((window >= ord("0")) & (window <= ord("9")), axis=1)
    number = digits > 0  # at least one digit, and a byte after them within reach
    if not number.any():
        return data
    at = np.sort(np.concatenate([first[number], first[number] + digits[number]]))
    return pa.py_buffer(np.insert(buf, at, ord('"')))


_TS_FIRST = np.frombuffer(b'{"ts":', dtype=np.uint8)


def _ts_is_text(texts: pa.StringArray, rows: np.ndarray) -> np.ndarray:
    """Mask over ``rows``: the line seems to give ``ts`` as text. Lines that
    begin with it (``{"ts":`` then the value) are told by one byte, the others
    by a regular expression."""
    offsets, data = _raw(texts)
    starts, ends = offsets[rows], offsets[rows + 1]
    first = ends - starts > len(_TS_FIRST)
    at = starts[first][:, None] + np.arange(len(_TS_FIRST) + 1)
    head = data[at]
    first[first] = (head[:, :-1] == _TS_FIRST).all(axis=1)
    text = np.zeros(len(rows), dtype=bool)
    text[first] = data[starts[first] + len(_TS_FIRST)] == ord('"')
    others = np.flatnonzero(~first)
    if len(others):
        found = pc.match_substring_regex(texts.take(pa.array(rows[others])), _TS_IS_TEXT)
        text[others] = _np_bool(found)
    return text


def _around_error(
    texts: pa.StringArray,
    rows: np.ndarray,
    ts_kind: str,
    error: str,
    part: pa.StringArray,
    data: pa.Buffer,
) -> list[tuple[np.ndarray, str]]:
    """The parts to read again after a failed read (the rows the error points
    at are left out, so handed on). A lone bad line is cut out; when the first
    bad line comes early (many bad lines), the lines after it are handed on:
    the reader reports one failure per read, the DuckDB tier takes them all
    in one pass."""
    if _TS_IN_ERROR in error:
        return _split_by_ts(texts, rows)
    match = _ROW_IN_ERROR.search(error)
    if match is not None:
        bad = int(match.group(1))
        if (len(rows) - bad) / max(bad, 1) > MAX_RETRIES:
            return [(rows[:bad], ts_kind)]
        return [(rows[:bad], ts_kind), (rows[bad + 1 :], ts_kind)]
    match = _NUMBER_IN_ERROR.search(error)
    if match is not None:
        suspect = _rows_with_number(part, data, match.group(1).encode())
        if suspect.any():
            return [(rows[~suspect], ts_kind)]
    return []


def _rows_with_number(part: pa.StringArray, data: pa.Buffer, number: bytes) -> np.ndarray:
    """Mask over the lines of ``data``: the line holds ``number`` as a JSON value."""
    raw = data.to_pybytes()
    offsets, _ = _raw(part)
    starts = offsets - offsets[0]
    found = np.zeros(len(part), dtype=bool)
    at = raw.find(number)
    while at >= 0:
        before = raw[max(0, at - 64) : at].rstrip(b" \t\r\n")[-1:]
        after = raw[at + len(number) : at + len(number) + 1]
        if before in (b":", b",", b"[") and after in (b",", b"}", b"]", b" ", b"\t", b"\r", b"\n"):
            found[np.searchsorted(starts, at, side="right") - 1] = True
        at = raw.find(number, at + 1)
    return found


# -- checking and converting a parsed segment -----------------------------------------


def _np_bool(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)


def _flat(table: pa.Table, name: str) -> pa.Array:
    column = table.column(name)
    return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)


def _any_valid(array: pa.Array) -> np.ndarray:
    return np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _between(values: pa.Array, lo: int, hi: int) -> np.ndarray:
    """Null, or an integer in [lo, hi]."""
    inside = pc.and_(pc.greater_equal(values, lo), pc.less_equal(values, hi))
    return np.asarray(pc.fill_null(inside, True).to_numpy(zero_copy_only=False), dtype=bool)


def _finite(values: pa.Array) -> np.ndarray:
    """Null, or finite and not -0.0 (which the reference reads as the integer 0)."""
    x = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
    good = np.isfinite(x) & ~((x == 0) & np.signbit(x))
    return np.where(_any_valid(values), good, True)


def _timestamps(ts: pa.Array, ok: np.ndarray) -> pa.Array:
    """``ts`` as instants; clears ``ok`` where it is not one the tier is sure of."""
    n = len(ts)
    micros = np.zeros(n, dtype=np.int64)
    if pa.types.is_integer(ts.type):
        ms = np.asarray(pc.fill_null(ts, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
        good = (ms >= 0) & (ms <= MAX_EPOCH_MS)
        micros[good] = ms[good] * 1000
        ok &= good
        return pa.array(micros, TS)
    digits = _np_bool(pc.match_substring_regex(ts, r"^[0-9]{1,15}$"))
    iso = _np_bool(pc.match_substring_regex(ts, _ISO_TS))
    if digits.any():
        ms = np.asarray(ts.filter(pa.array(digits)).cast(pa.int64()).to_numpy(), dtype=np.int64)
        good = ms <= MAX_EPOCH_MS
        idx = np.flatnonzero(digits)
        micros[idx[good]] = ms[good] * 1000
        digits[idx[~good]] = False
    if iso.any():
        try:
            parsed = ts.filter(pa.array(iso)).cast(TS)
            micros[iso] = np.asarray(parsed.cast(pa.int64()).to_numpy(), dtype=np.int64)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            iso[:] = False  # a date the regex lets through but the calendar does not
    ok &= digits | iso
    return pa.array(micros, TS)


def _child(children: dict[str, pa.Array], name: str, n: int) -> pa.Array:
    """A text child of message elements (nulls where the key never appears)."""
    child = children.get(name)
    return pa.nulls(n, pa.string()) if child is None else _as(child, pa.string())


def _messages(table: pa.Table, ok: np.ndarray) -> tuple[np.ndarray, pa.Array, pa.Array, pa.Array]:
    """Per row: the number of user messages, the last user's content, the
    earlier users' contents joined (``_normalize.earlier_prompts``) and the
    first system content (null where there is none). Clears ``ok`` where a
    message has other keys, or a used message has no text content."""
    n = table.num_rows
    msgs = _flat(table, "messages")
    nulls = pa.nulls(n, pa.string())
    if msgs.null_count == n or not len(msgs.values):
        return np.zeros(n, dtype=np.int64), nulls, nulls, nulls
    parents = np.asarray(pc.list_parent_indices(msgs).to_numpy(), dtype=np.int64)
    elements = msgs.flatten()
    children = dict(zip([f.name for f in elements.type], elements.flatten(), strict=True))
    for name, child in children.items():
        if name not in ("role", "content"):
            ok[np.unique(parents[_any_valid(child)])] = False
    role = _child(children, "role", len(elements))
    content = _child(children, "content", len(elements))
    is_user = _np_bool(pc.equal(role, "user"))
    is_sys = _np_bool(pc.is_in(role, value_set=pa.array(SYSTEM_ROLES)))
    n_users = np.bincount(parents[is_user], minlength=n)

    def pick(mask: np.ndarray, last: bool) -> pa.Array:
        idx = np.flatnonzero(mask)
        owner = parents[idx]
        edge = _edge(owner, last)
        index = np.full(n, -1, dtype=np.int64)
        index[owner[edge]] = idx[edge]
        picked = content.take(pa.array(index, mask=index < 0))
        # a used message whose content is absent or not text: the reference decides
        missing = (index >= 0) & ~_any_valid(picked)
        ok[missing] = False
        return picked

    return (
        n_users,
        pick(is_user, last=True),
        _earlier(content, parents, is_user, n),
        pick(is_sys, last=False),
    )


def _earlier(content: pa.Array, parents: np.ndarray, is_user: np.ndarray, n: int) -> pa.Array:
    """Per row, the contents of its user messages before the last that have
    text, joined by ``TURN_SEPARATOR`` (null where there are none)."""
    idx = np.flatnonzero(is_user)
    text = _np_bool(pc.greater(pc.utf8_length(content), 0))
    idx = idx[~_edge(parents[idx], last=True) & text[idx]]
    if not len(idx):
        return pa.nulls(n, pa.string())
    counts = np.bincount(parents[idx], minlength=n)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    joined = pc.binary_join(pa.ListArray.from_arrays(offsets, content.take(idx)), TURN_SEPARATOR)
    return _choose(counts > 0, joined, pa.nulls(n, pa.string()))


def _edge(owner: np.ndarray, last: bool) -> np.ndarray:
    """Per element of rows ``owner`` (in row order), whether it is its row's
    last element (``last``) or its first."""
    edge = np.ones(len(owner), dtype=bool)
    if last:
        edge[:-1] = owner[1:] != owner[:-1]
    else:
        edge[1:] = owner[1:] != owner[:-1]
    return edge


def _choose(mask: np.ndarray, a: pa.Array, b: pa.Array) -> pa.Array:
    """``a`` where ``mask``, else ``b`` (without a copy when the mask is uniform)."""
    if mask.all():
        return a
    if not mask.any():
        return b
    return pc.if_else(pa.array(mask), a, b)


def _blank_as_null(values: pa.Array) -> pa.Array:
    """Empty strings as nulls."""
    blank = _np_bool(pc.equal(values, ""))
    return _choose(~blank, values, pa.nulls(len(values), values.type))


def _global_groups(groups: pa.Array, rows: np.ndarray) -> pa.Array:
    """Group ids of one segment made distinct from any other segment's."""
    local = np.asarray(groups.to_numpy(zero_copy_only=False), dtype=np.int64)
    base = int(rows.min()) << 20 if len(rows) else 0
    return pa.array(np.where(local >= 0, base + local, -1))


def accept(table: pa.Table, rows: np.ndarray) -> pa.Table:
    """The rows of a parsed segment this tier accepts (``OUT_SCHEMA``)."""
    n = table.num_rows
    ok = np.ones(n, dtype=bool)
    col = {name: _flat(table, name) for name in table.column_names}
    unknown = _np_bool(col["_unknown"])
    ok &= ~_np_bool(col["_hand_on"])

    ts = _timestamps(col["ts"], ok)
    account = col["account_id"]
    ok &= _any_valid(account)
    ok &= ~_np_bool(pc.match_substring_regex(account, r"^[\t\n\f\r ]*$"))

    n_users, user_text, earlier, sys_text = _messages(table, ok)
    prompt = col["prompt"]
    has_prompt = _any_valid(prompt)
    ok &= has_prompt | (n_users > 0)
    prompt = _choose(has_prompt, prompt, user_text)
    turns = col["user_turns"]
    ok &= (n_users > 0) | _between(turns, 1, INT32_MAX)
    user_turns = pa.array(
        np.where(
            n_users > 0,
            n_users,
            np.asarray(pc.fill_null(turns, 1).to_numpy(zero_copy_only=False), dtype=np.int64),
        ).astype(np.int32)
    )
    given_system = col["system_prompt"]
    system_prompt = _choose(_any_valid(given_system), given_system, sys_text)

    ip = _blank_as_null(col["ip"])
    country = col["country"]
    country = _blank_as_null(country)
    ok &= _np_bool(pc.fill_null(pc.match_substring_regex(country, r"^[A-Za-z]{2}$"), True))
    country = pc.utf8_upper(country)
    ok &= _between(col["asn"], 0, ASN_MAX)
    ok &= _between(col["status"], 0, INT32_MAX)

    out: dict[str, pa.Array] = {}
    for name, kind in SIMPLE_FIELDS.items():
        values = col[name]
        if kind is Kind.COUNT:
            ok &= _between(values, 0, 2**63 - 1)
        elif kind is Kind.FLOAT:
            ok &= _finite(values)
        out[name] = values
    params = col["params"]
    param_values = dict(zip([f.name for f in params.type], params.flatten(), strict=True))
    for name, kind in PARAM_FIELDS.items():
        given = param_values.get(name)
        given = pa.nulls(n, _ARROW_TYPE[kind]) if given is None else _as(given, _ARROW_TYPE[kind])
        values = given if col[name].null_count == n else pc.coalesce(given, col[name])
        if kind is Kind.FLOAT:
            ok &= _finite(values)
        out[name] = values

    columns = {
        "ts": ts,
        "account_id": account,
        "ip": ip,
        "country": country,
        "asn": col["asn"],
        "prompt": prompt,
        "user_turns": user_turns,
        "earlier_prompts": earlier,
        "system_prompt": system_prompt,
        **{k: v for k, v in out.items() if k != "system_prompt"},
        "status": col["status"],  # int32 once filtered
        "_unknown": pa.array(unknown),
        "_extra_group": _global_groups(col["_extra_group"], rows),
        "_row": pa.array(rows, pa.int64()),
    }
    keep = pa.array(ok)
    result = pa.table({f.name: columns[f.name] for f in OUT_SCHEMA}).filter(keep)
    return result.cast(OUT_SCHEMA)
