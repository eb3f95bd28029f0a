"""Hostile input never crashes ingest, counts reconcile, and the fast path
agrees with the reference normaliser on every record it accepts."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distillguard.events import read_events
from distillguard.events._fast import fast_rows
from distillguard.events._normalize import extra_of, normalize

text = st.text(max_size=30)
int64 = st.integers(-(2**63), 2**63 - 1)
ts = st.one_of(
    st.integers(0, 4_000_000_000_000),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.just("2026-04-07T12:00:00.5Z"),
)
params = st.fixed_dictionaries(
    {},
    optional={
        "temperature": st.floats(0, 2),
        "top_p": st.integers(0, 1),
        "max_tokens": st.integers(0, 10**6),
        "seed": st.integers(-(2**63), 2**63 - 1),
        "stream": st.booleans(),
        "logprobs": st.booleans(),
        "reasoning_effort": text,
        "top_k": st.integers(0, 50),
    },
)
message = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "system", "assistant", "developer"])},
    optional={
        "content": st.one_of(
            text, st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": text}))
        )
    },
)


@st.composite
def valid_records(draw: Any, i: int = 0) -> dict[str, Any]:
    rec: dict[str, Any] = {"ts": draw(ts), "account_id": draw(text.filter(lambda s: s.strip()))}
    if draw(st.booleans()):
        rec["prompt"] = draw(text)
    else:
        msgs = draw(st.lists(message, max_size=4))
        msgs.append({"role": "user", "content": draw(text)})
        rec["messages"] = msgs
    optional = {
        "ip": st.sampled_from(["8.8.8.8", "2001:db8::1", "73.15.2.3", None]),
        "country": st.sampled_from(["us", "DE", None]),
        "asn": st.integers(0, 2**32 - 1),
        "params": params,
        "input_tokens": st.integers(0, 2**40),
        "status": st.integers(100, 599),
        "latency_ms": st.floats(0, 1e6),
        "model": text,
        "system_prompt": text,
        "zz_unknown": st.one_of(text, int64, st.lists(int64, max_size=3)),
        "temperature": st.floats(0, 1),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            rec[key] = draw(strategy)
    return rec


hostile = st.one_of(
    st.binary(max_size=200).map(lambda b: b.replace(b"\n", b" ")),
    st.text(max_size=200).map(lambda s: s.replace("\n", " ").encode("utf-8", "surrogatepass")),
    st.recursive(st.none() | int64 | text, lambda c: st.lists(c) | st.dictionaries(text, c)).map(
        lambda v: orjson.dumps(v)
    ),
    st.just(b'{"a":' * 1100 + b"1" + b"}" * 1100),
    st.just(b'{"ts": 1e999, "account_id": "a", "prompt": "p"}'),
    st.just(b'{"ts": "2026-04-07T12:00:00Z", "account_id": "a\\u0000", "prompt": "\x00"}'),
    st.just(b"\xef\xbb\xbf{}"),
    st.just(b'{"ts": 1, "account_id": "a", "prompt": "p", "input_tokens": 99999999999999999999}'),
    st.just(b'{"ts": 1, "account_id": "a", "prompt": "p", "x": NaN}'),
    st.just(b'{"ts": 1, "account_id": "a", "prompt": "p",}'),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.booleans(), valid_records(), hostile), max_size=25), st.booleans())
def test_hostile_mix(items: list[tuple[bool, dict[str, Any], bytes]], crlf: bool) -> None:
    lines, valid_ids = [], []
    for i, (is_valid, rec, junk) in enumerate(items):
        if is_valid:
            rec["request_id"] = f"valid-{i}"
            valid_ids.append(rec["request_id"])
            lines.append(orjson.dumps(rec))
        else:
            lines.append(junk)
    end = b"\r\n" if crlf else b"\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mix.jsonl"
        path.write_bytes(end.join(lines) + end)
        reader = read_events([path], batch_rows=7)
        table = reader.read_all()
    s = reader.summary
    assert s.lines == s.accepted + s.rejected + s.duplicates
    assert s.accepted == table.num_rows
    assert all(reason for reason in reader.rejects.column("reason").to_pylist())
    assert sum(s.by_reason.values()) == s.rejected
    accepted = set(table.column("request_id").to_pylist())
    assert set(valid_ids) <= accepted


@settings(max_examples=40, deadline=None)
@given(st.lists(valid_records(), min_size=1, max_size=20))
def test_fast_path_matches_reference(records: list[dict[str, Any]]) -> None:
    texts = [orjson.dumps(r).decode() for r in records]
    fast = fast_rows(pa.array(texts, pa.string()), pa.array(np.arange(len(texts))))
    assert fast is not None
    for row in fast.to_pylist():
        obj = orjson.loads(texts[row["_row"]])
        expected = normalize(obj)
        assert isinstance(expected, dict)
        for key, value in expected.items():
            if key == "extra":
                continue
            got = row[key]
            if isinstance(value, float) and isinstance(got, float):
                assert abs(got - value) <= 1e-9 * max(1.0, abs(value)), key
            else:
                assert got == value, (key, got, value)
        if row["_unknown"]:
            assert extra_of(obj) == expected["extra"]
        else:
            assert expected["extra"] is None
