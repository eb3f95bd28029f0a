from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from distillguard import IngestError
from distillguard.events import EVENT_SCHEMA, read_events
from tests.events._helpers import read_all, record


def test_batches_follow_event_schema_exactly(write):
    table, _ = read_all(write([record()]))
    assert table.schema.equals(EVENT_SCHEMA)
    for batch in read_events([write([record()])]):
        assert batch.schema.equals(EVENT_SCHEMA)


def test_normalises_a_full_record(write):
    rec = record(
        ts="2026-04-07T14:00:00.250+02:00",
        api_key_id="k1",
        user_agent="ua",
        tls_fingerprint="t13d",
        country="fr",
        model="m",
        endpoint="chat.completions",
        prompt=...,
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {
                "role": "user",
                "content": [{"type": "text", "text": "second"}, {"type": "image_url"}],
            },
        ],
        params={
            "temperature": 0.2,
            "top_p": 1,
            "max_tokens": 50,
            "n": 2,
            "seed": -3,
            "stream": True,
            "logprobs": False,
            "reasoning_effort": "high",
            "frequency_penalty": 0.5,
        },
        input_tokens=10,
        output_tokens=20,
        reasoning_tokens=0,
        status=200,
        latency_ms=12,
        response="Paris",
        region="eu",
    )
    row = read_all(write([rec]))[0].to_pylist()[0]
    assert row["ts"] == datetime(2026, 4, 7, 12, 0, 0, 250000, tzinfo=UTC)
    assert row["country"] == "FR"  # the record's country wins over the database
    assert row["asn"] == 15169 and row["hosting"] is True
    assert row["prompt"] == "second" and row["user_turns"] == 2
    assert row["system_prompt"] == "Be brief."
    assert (row["temperature"], row["top_p"], row["max_tokens"], row["n"], row["seed"]) == (
        0.2,
        1.0,
        50,
        2,
        -3,
    )
    assert row["stream"] is True and row["logprobs"] is False
    assert row["reasoning_effort"] == "high"
    assert (row["input_tokens"], row["output_tokens"], row["status"]) == (10, 20, 200)
    assert orjson.loads(row["extra"]) == {"region": "eu", "params": {"frequency_penalty": 0.5}}


def test_extra_is_null_without_unknown_fields(write):
    row = read_all(write([record()]))[0].to_pylist()[0]
    assert row["extra"] is None and row["user_turns"] == 1


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        ("2026-04-07T12:00:00Z", datetime(2026, 4, 7, 12, tzinfo=UTC)),
        ("2026-04-07 12:00:00+00:00", datetime(2026, 4, 7, 12, tzinfo=UTC)),
        ("2026-04-07T12:00:00.123456-05:00", datetime(2026, 4, 7, 17, 0, 0, 123456, tzinfo=UTC)),
        (1775563200000, datetime(2026, 4, 7, 12, tzinfo=UTC)),
        ("1775563200000", datetime(2026, 4, 7, 12, tzinfo=UTC)),
    ],
)
def test_timestamps(write, ts, expected):
    assert read_all(write([record(ts=ts)]))[0].column("ts").to_pylist() == [expected]


def test_gzip_crlf_bom_and_blank_lines(write):
    body = (
        b"\xef\xbb\xbf"
        + orjson.dumps(record())
        + b"\r\n\r\n\n"
        + orjson.dumps(record(request_id="req_2"))
        + b"\r\n"
    )
    for name in ("a.jsonl", "b.ndjson.gz", "c.json"):
        table, reader = read_all(write(body, name))
        assert table.num_rows == 2 and reader.summary.lines == 2


def test_last_line_without_newline(write):
    path = write(orjson.dumps(record()) + b"\n" + orjson.dumps(record(request_id="r2")))
    assert read_all(path)[0].num_rows == 2


def test_duplicates_dropped_across_files_first_wins(write):
    a = write([record(request_id="x", prompt="one"), record(request_id="y")])
    b = write(
        [record(request_id="x", prompt="two"), record(request_id=None), record(request_id=None)]
    )
    table, reader = read_all(a, b)
    assert reader.summary.duplicates == 1
    assert table.num_rows == 4
    assert table.column("prompt").to_pylist()[0] == "one"
    assert reader.summary.by_source[str(b)].duplicates == 1


def test_duplicates_within_one_batch_and_across_batches(write):
    recs = [record(request_id=f"r{i % 7}") for i in range(50)]
    table, reader = read_all(write(recs), batch_rows=4)
    assert table.num_rows == 7 and reader.summary.duplicates == 43
    assert all(b.num_rows <= 4 for b in read_events([write(recs)], batch_rows=4))


def test_invalid_ip_canonical_ipv6_and_private(write):
    recs = [
        record(ip="2001:4860:4860:0::8888", request_id="a"),
        record(ip="192.168.1.1", request_id="b"),
        record(ip="", request_id="c"),
    ]
    rows = read_all(write(recs))[0].to_pylist()
    assert rows[0]["ip"] == "2001:4860:4860::8888" and rows[0]["country"] == "US"
    assert rows[1]["country"] is None and rows[1]["asn_org"] is None
    assert rows[2]["ip"] is None


def test_enrich_false_keeps_record_values_only(write):
    row = read_all(write([record()]), enrich=False)[0].to_pylist()[0]
    assert row["ip"] == "8.8.8.8" and row["country"] is None and row["asn_org"] is None


def test_record_asn_wins_and_mismatching_org_is_not_taken(write):
    row = read_all(write([record(asn=3320)]))[0].to_pylist()[0]
    assert row["asn"] == 3320 and row["asn_org"] is None and row["country"] == "US"


def test_missing_file_and_unknown_format_raise(tmp_path, write):
    with pytest.raises(IngestError):
        read_events([tmp_path / "nope.jsonl"])
    with pytest.raises(IngestError):
        read_events([write(b"x", "a.txt")])
    with pytest.raises(IngestError):
        read_events([write(b"x", "a.jsonl")], fmt="xml")


def test_rejects_table_and_summary(write):
    path = write([record(), b"{oops", record(account_id=None, request_id="r2")])
    _, reader = read_all(path)
    rejects = reader.rejects.to_pylist()
    assert [(r["line"], r["reason"]) for r in rejects] == [
        (2, "not JSON"),
        (3, "missing account_id"),
    ]
    assert rejects[0]["source"] == str(path) and rejects[0]["raw"] == "{oops"
    assert reader.summary.by_reason == {"not JSON": 1, "missing account_id": 1}


def test_raw_is_truncated(write):
    _, reader = read_all(write([record(ts="x" * 10_000)]))
    assert len(reader.rejects.column("raw")[0].as_py()) == 2048


def test_oversized_lines_streamed_past(write, monkeypatch):
    huge = orjson.dumps(record(prompt="p" * (1 << 20)))
    path = write(
        b"\n".join(
            [orjson.dumps(record(request_id="a")), huge, orjson.dumps(record(request_id="b"))]
        )
        + b"\n"
    )
    monkeypatch.setattr("distillguard.events._sources._READ_BYTES", 4096)
    table, reader = read_all(path)
    assert table.num_rows == 2
    assert reader.rejects.to_pylist()[0]["line"] == 2
    assert reader.summary.by_reason == {"oversized record": 1}
