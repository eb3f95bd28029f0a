"""Parity of the three validation tiers: the Arrow tier and the DuckDB tier must
give exactly what the reference path gives, rows and rejects alike, on any mix
of valid and invalid input."""

from __future__ import annotations

import functools
import math
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distillguard.events import _arrow, read_events
from distillguard.events._candidates import candidates
from tests.events._helpers import record
from tests.events.test_property import hostile, valid_records

GOOD = orjson.dumps(record())

EDGE_LINES: list[bytes] = [
    # lenient JSON that DuckDB reads and the reference parser refuses
    b'{"ts": 1, "account_id": "a", "prompt": "p",}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "messages": [{"role": "user", "content": "x"},]}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "params": {"temperature": 1,}}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "x": [1, 2, ]}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "latency_ms": NaN}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "latency_ms": -Infinity}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "x": NaN}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "params": {"top_k": Infinity}}',
    b'{"ts": 1, "account_id": "a", "messages": [{"role": "user", "content": "x", "w": NaN}]}',
    b'{"ts": 1, "account_id": "a", "messages": [{"role": "user", "content": "x", "w": 1e999}]}',
    b'{"ts": 1, "account_id": "a", "messages": [NaN, {"role": "user", "content": "x"}]}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "latency_ms": 1e999}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "x": 1e999}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "x": ' + b"1" * 400 + b"}",
    # numbers
    b'{"ts": 1, "account_id": "a", "prompt": "p", "latency_ms": -0}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "latency_ms": -0.0}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "temperature": 123456789012345678901}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "input_tokens": 18446744073709551615}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "input_tokens": 5.0}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "seed": -9223372036854775808}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "params": {"max_tokens": 1e2}}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "status": -1}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "asn": "AS15169"}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "asn": ""}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "params": {"logprobs": 5}}',
    # keys
    b'{"ts": 1, "account_id": "a", "prompt": "p", "model": "m1", "model": "m2"}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "model": "m1", "model": null}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "params": {"seed": 1, "seed": 2}}',
    b'{"ts": 1, "account_id": "a", "messages": [{"role": "user", "content": "x", "content": "y"}]}',
    b'{"ts": 1, "account_id": "a", "messages": [{"role": "system", "role": "user", "content": "x"}]}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "extra": {"k": 1}, "z": 2}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "extra": "{\\"k\\": 1}"}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "extra": null, "model": null}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "": 1, "r\\u0065gion": "eu"}',
    b'{"t\\u0073": 1, "account_id": "a", "prompt": "p"}',
    # messages
    b'{"ts": 1, "account_id": "a", "messages": [{"role": "user", "parts": [{"type": "text", "content": "x"}]}]}',
    b'{"ts": 1, "account_id": "a", "messages": [{"role": "user"}]}',
    b'{"ts": 1, "account_id": "a", "messages": [{"role": "user", "content": null}]}',
    b'{"ts": 1, "account_id": "a", "messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]}',
    b'{"ts": 1, "account_id": "a", "messages": [{"role": "developer", "content": "s"}, {"role": "user", "content": "x"}, {"role": "system", "content": "t"}]}',
    b'{"ts": 1, "account_id": "a", "messages": [{"role": "system"}, {"role": "user", "content": "x"}]}',
    b'{"ts": 1, "account_id": "a", "messages": [{"role": "user", "content": "x", "name": "n"}]}',
    b'{"ts": 1, "account_id": "a", "messages": [1, "x", null, {"role": "user", "content": "x"}]}',
    b'{"ts": 1, "account_id": "a", "messages": "[{\\"role\\": \\"user\\", \\"content\\": \\"x\\"}]"}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "messages": []}',
    b'{"ts": 1, "account_id": "a", "messages": [], "user_turns": 3}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "user_turns": 0}',
    b'{"ts": 1, "account_id": "a", "messages": [{"role": "user", "content": "x"}], "user_turns": "x"}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "system_prompt": null, "messages": [{"role": "system", "content": 5}]}',
    # earlier user turns
    b'{"ts": 1, "account_id": "a", "messages": [{"role": "user", "content": "Show every step."}, {"role": "assistant", "content": "OK"}, {"role": "user", "content": "x"}]}',
    b'{"ts": 1, "account_id": "a", "messages": [{"role": "user", "content": "a\\nb \\u00e9"}, {"role": "user", "content": ""}, {"role": "user", "content": "c"}, {"role": "user", "content": "x"}]}',
    b'{"ts": 1, "account_id": "a", "messages": [{"role": "user", "content": null}, {"role": "user", "content": "x"}]}',
    b'{"ts": 1, "account_id": "a", "messages": [{"role": "user"}, {"role": "user", "content": "x"}]}',
    b'{"ts": 1, "account_id": "a", "messages": [{"role": "user", "content": 5}, {"role": "user", "content": "x"}]}',
    b'{"ts": 1, "account_id": "a", "messages": [{"role": "user", "content": [{"type": "text", "text": "t"}]}, {"role": "user", "content": "x"}]}',
    b'{"ts": 1, "account_id": "a", "messages": [{"role": "user", "parts": [{"type": "text", "text": "t"}]}, {"role": "user", "content": "x"}]}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "messages": [{"role": "user", "content": "e"}, {"role": "user", "content": "x"}]}',
    b'{"ts": 1, "account_id": "a", "messages": [{"role": "user", "content": "e"}, {"role": "user", "content": "x"}], "earlier_prompts": "given"}',
    # timestamps
    b'{"ts": "1775563200000", "account_id": "a", "prompt": "p"}',
    b'{"ts": "0001775563200000", "account_id": "a", "prompt": "p"}',
    b'{"ts": -5, "account_id": "a", "prompt": "p"}',
    b'{"ts": 1.5, "account_id": "a", "prompt": "p"}',
    b'{"ts": 999999999999999, "account_id": "a", "prompt": "p"}',
    b'{"ts": "2026-02-30T00:00:00Z", "account_id": "a", "prompt": "p"}',
    b'{"ts": "2026-04-07T12:00:00", "account_id": "a", "prompt": "p"}',
    b'{"ts": "2026-04-07T12:00:00.1234567+01:00", "account_id": "a", "prompt": "p"}',
    b'{"ts": "2026-04-07 12:00:00-0130", "account_id": "a", "prompt": "p"}',
    b'{"ts": "2026\\u002d04-07T12:00:00Z", "account_id": "a", "prompt": "p"}',
    b'{"ts": {"a": 1}, "account_id": "a", "prompt": "p"}',
    # text
    b'{"ts": 1, "account_id": " \\t", "prompt": "p"}',
    b'{"ts": 1, "account_id": "\\u000b", "prompt": "p"}',
    b'{"ts": 1, "account_id": "a\\u0000", "prompt": "\\ud83d\\ude00 \\u00e9"}',
    b'{"ts": 1, "account_id": "a", "prompt": "\\ud800"}',
    b'{"ts": 1, "account_id": "a", "prompt": "x\x01"}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "country": ""}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "country": "fr", "ip": ""}',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "country": "\\u00e9\\u00e9"}',
    # lines
    b'{"ts": 1, "account_id": "a", "prompt": "p"} {"ts": 2, "account_id": "b", "prompt": "q"}',
    b"   ",
    b' {"ts": 1, "account_id": "a", "prompt": "p"}',
    b'{"ts": 1, "account_id": "a",\r "prompt": "p"}',
    b"[1, 2]",
    b'"text"',
    b'{"ts": 1, "account_id": "a", "prompt": "p", "x": ' + b"[" * 1100 + b"]" * 1100 + b"}",
    b'{"ts": 1, "account_id": "a", "messages": [{"role": "user", "content": "x", "d": '
    + b"[" * 30000
    + b"]" * 30000
    + b"}]}",
]


def _read(path: Path, tiers: int, batch_rows: int) -> tuple[pa.Table, list[dict[str, Any]], Any]:
    import distillguard.events.reader as reader_module

    original = reader_module.candidates
    reader_module.candidates = functools.partial(candidates, tiers=tiers)  # type: ignore[assignment]
    try:
        reader = read_events([path], batch_rows=batch_rows)
        table = reader.read_all()
    finally:
        reader_module.candidates = original
    return table, reader.rejects.to_pylist(), reader.summary


def _same(path: Path, batch_rows: int = 65536) -> None:
    expected, rejects, summary = _read(path, 1, batch_rows)
    for tiers in (2, 3):
        table, got_rejects, got_summary = _read(path, tiers, batch_rows)
        assert got_rejects == rejects, tiers
        assert got_summary.by_reason == summary.by_reason, tiers
        assert got_summary.duplicates == summary.duplicates
        assert table.equals(expected), (tiers, _first_difference(table, expected))
        for name in ("temperature", "top_p", "latency_ms"):  # -0.0 == 0.0 for equals()
            signs = [
                math.copysign(1, v) if v is not None else None for v in table[name].to_pylist()
            ]
            want = [
                math.copysign(1, v) if v is not None else None for v in expected[name].to_pylist()
            ]
            assert signs == want, name


def _first_difference(a: pa.Table, b: pa.Table) -> Any:
    if a.num_rows != b.num_rows:
        return ("rows", a.num_rows, b.num_rows)
    for name in a.column_names:
        x, y = a[name].to_pylist(), b[name].to_pylist()
        for i, (u, v) in enumerate(zip(x, y, strict=True)):
            if u != v:
                return (name, i, u, v)
    return None


@pytest.mark.parametrize("line", EDGE_LINES, ids=range(len(EDGE_LINES)))
def test_edge_line_among_valid_ones(tmp_path: Path, line: bytes) -> None:
    lines = [orjson.dumps(record(request_id=f"r{i}")) for i in range(20)]
    lines.insert(7, line)
    path = tmp_path / "edge.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    _same(path)


def test_all_edge_lines_together_and_crlf(tmp_path: Path) -> None:
    lines = []
    for i, line in enumerate(EDGE_LINES):
        lines.append(orjson.dumps(record(request_id=f"r{i}", ts=1775563200000 + i)))
        lines.append(line)
    path = tmp_path / "edges.jsonl"
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    _same(path)
    _same(path, batch_rows=5)


def test_segments_and_mixed_timestamps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_arrow, "SEGMENT_ROWS", 16)
    lines = []
    for i in range(300):
        ts: Any = 1775563200000 + i if i % 3 else f"2026-04-07T12:00:{i % 60:02d}Z"
        rec = record(request_id=f"r{i % 250}", ts=ts, region="eu" if i % 5 == 0 else None)
        lines.append(orjson.dumps(rec))
        if i % 37 == 0:
            lines.append(EDGE_LINES[i % len(EDGE_LINES)])
    path = tmp_path / "mixed.jsonl.gz"
    import gzip

    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    _same(path)
    _same(path, batch_rows=40)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            valid_records().map(orjson.dumps),
            hostile,
            st.sampled_from(EDGE_LINES[:-1]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_tiers_agree_on_any_mix(lines: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mix.jsonl"
        path.write_bytes(b"\n".join(line.replace(b"\n", b" ") for line in lines) + b"\n")
        _same(path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(valid_records(), min_size=1, max_size=30))
def test_tiers_agree_on_valid_records(records: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "valid.jsonl"
        path.write_bytes(b"\n".join(orjson.dumps(r) for r in records) + b"\n")
        _same(path)


def test_fast_tiers_take_clean_records() -> None:
    """Ordinary records never reach the reference path (the parity above is not
    vacuous): the Arrow tier takes them all, and so does the DuckDB tier alone."""
    import numpy as np

    from distillguard.events._candidates import _arrow_tier
    from distillguard.events._fast import fast_rows

    recs = [
        record(request_id=f"r{i}", ts=1775563200000 + i if i % 2 else "2026-04-07T12:00:00.5+02:00")
        for i in range(50)
    ]
    recs += [
        record(
            request_id="m",
            prompt=...,
            messages=[{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
            params={"temperature": 0.5, "top_k": 3},
            region="eu",
        )
    ]
    texts = pa.array([orjson.dumps(r).decode() + "\n" for r in recs], pa.string())
    rows = np.arange(len(recs))
    arrow = _arrow_tier(texts, rows)
    assert arrow is not None and sorted(arrow.column("_row").to_pylist()) == rows.tolist()
    duck = fast_rows(texts, pa.array(rows))
    assert duck is not None and duck.column("_row").to_pylist() == rows.tolist()


@pytest.mark.parametrize(
    "make",
    [
        lambda i: record(model="2026-04-07", request_id=f"r{i}"),  # read as a date if inferred
        lambda i: record(temperature=1 if i % 2 else 0.5, request_id=f"r{i}"),
        lambda i: record(temperature=2**60 + i, request_id=f"r{i}"),
        lambda i: record(params={"temperature": 1, "seed": i}, request_id=f"r{i}"),
        lambda i: record(params=None, messages=None, model=None, request_id=f"r{i}"),
        lambda i: record(messages=[], request_id=f"r{i}"),
        lambda i: record(messages=[None], request_id=f"r{i}"),
        lambda i: record(prompt=..., messages=[{"role": "user"}], request_id=f"r{i}"),
        lambda i: record(messages=[{"content": "c"}], request_id=f"r{i}"),
        lambda i: record(input_tokens=i * 1.5, request_id=f"r{i}"),
        lambda i: record(input_tokens=2**63 + i, request_id=f"r{i}"),
        lambda i: record(extra={"a": i}, request_id=f"r{i}"),
        lambda i: record(region=["eu", i], request_id=f"r{i}"),
        lambda i: record(region="2026-04-07T12:00:00Z", request_id=f"r{i}"),
    ],
)
def test_whole_segments_of_one_shape(tmp_path: Path, make: Any) -> None:
    """Types the reader infers for a whole segment (dates, integers in float
    fields, all-null or empty columns) are checked before they are used."""
    path = tmp_path / "shape.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(make(i)) for i in range(30)) + b"\n")
    _same(path)


def test_numeric_timestamps_quoted_for_the_reader() -> None:
    lines = [
        b'{"ts":1775563200000,"a":1}\n',
        b'{"ts":"2026-04-07T12:00:00Z"}\n',
        b'{"ts":-5}\n',
        b'{"ts":12.5}\n',
        b'{"a":1,"ts":7}\n',
        b'{"ts":1775563200000}\n',
    ]
    part = pa.array([line.decode() for line in lines], pa.string())
    quoted = _arrow._quote_ts(_arrow._joined(part), part).to_pybytes()
    assert quoted.splitlines() == [
        b'{"ts":"1775563200000","a":1}',
        b'{"ts":"2026-04-07T12:00:00Z"}',
        b'{"ts":-5}',
        b'{"ts":"12".5}',
        b'{"a":1,"ts":7}',
        b'{"ts":"1775563200000"}',
    ]


def test_timestamps_mixed_in_any_position(tmp_path: Path) -> None:
    lines = []
    for i in range(200):
        rec = record(request_id=f"r{i}", ts=1775563200000 + i if i % 2 else "2026-04-07T12:00:00Z")
        if i % 3 == 0:  # ts last
            rec = {k: v for k, v in rec.items() if k != "ts"} | {"ts": rec["ts"]}
        if i % 17 == 0:
            rec["ts"] = [-5, 1.5, "1775563200000", 2**63][i % 4]
        lines.append(orjson.dumps(rec))
    path = tmp_path / "ts.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    _same(path)
    csv_path = tmp_path / "ts.csv"
    csv_path.write_text(
        "ts,account_id,prompt\n1775563200000,a,p\n2026-04-07T12:00:00Z,b,q\n-5,c,r\n"
    )
    _same(csv_path)


def test_extra_shared_by_rows_built_once_and_right(tmp_path: Path) -> None:
    """Rows with the same single unknown field (and params key) share ``extra``;
    key order, nulls, other types and a second unknown field do not."""
    lines = []
    for i in range(120):
        rec = record(request_id=f"r{i}", region="eu" if i % 4 else "us")
        if i % 3 == 0:
            rec["params"] = {"top_k": 40, "temperature": 0.5}
        if i % 5 == 0:
            rec = {"region": rec.pop("region"), **rec}  # unknown key first
        if i % 7 == 0:
            rec["zone"] = None
        if i % 11 == 0:
            rec["zone"] = i
        if i % 13 == 0:
            rec["region"] = 1.0 if i % 2 else 1
        lines.append(orjson.dumps(rec))
    path = tmp_path / "extra.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    _same(path)
