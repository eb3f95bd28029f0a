"""One fixture per reject reason."""

from __future__ import annotations

import pytest

from tests.events._helpers import jsonl, read_all, record

CASES = {
    "not JSON": b'{"ts": "2026-04-07T12:00:00Z", "account_id": "a"',
    "not an object": b'["ts", "account_id"]',
    "invalid UTF-8": b'{"ts": "2026-04-07T12:00:00Z", "account_id": "\xff\xfe", "prompt": "x"}',
    "missing ts": record(ts=...),
    "unparseable ts": record(ts="yesterday"),
    "timestamp without offset": record(ts="2026-04-07T12:00:00"),
    "missing account_id": record(account_id=" "),
    "wrong type: account_id": record(account_id=42),
    "no prompt": record(prompt=..., messages=[{"role": "system", "content": "x"}]),
    "malformed ip": record(ip="300.1.2.3"),
    "malformed country": record(country="FRA"),
    "negative token count": record(input_tokens=-1),
    "non-integer token count": record(output_tokens=1.5),
    "wrong type: temperature": record(params={"temperature": "hot"}),
    "wrong type: stream": record(params={"stream": "yes"}),
    "wrong type: params": record(params=[1]),
    "wrong type: messages": record(prompt=..., messages={"role": "user"}),
    "wrong type: prompt": record(prompt=["x"]),
    "wrong type: status": record(status="ok"),
    "out of range: asn": record(asn=2**40),
}


@pytest.mark.parametrize(("reason", "line"), list(CASES.items()), ids=list(CASES))
def test_each_reason(write, reason, line):
    path = write(jsonl([record(request_id="ok"), line]))
    table, reader = read_all(path)
    assert table.num_rows == 1
    assert reader.summary.by_reason == {reason: 1}
    reject = reader.rejects.to_pylist()[0]
    assert (reject["line"], reject["reason"]) == (2, reason)


def test_oversized_record(write):
    path = write(jsonl([record(prompt="x" * (1 << 20))]))
    _, reader = read_all(path)
    assert reader.summary.by_reason == {"oversized record": 1}


def test_empty_messages_and_no_user_turn(write):
    _, reader = read_all(write([record(prompt=..., messages=[])]))
    assert reader.summary.by_reason == {"no prompt": 1}
