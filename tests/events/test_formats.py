from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from distillguard.events import EVENT_SCHEMA, detect_format, read_events
from tests.events._helpers import read_all, record

CSV = """ts,account_id,request_id,ip,prompt,messages,params,input_tokens,params.seed,status,region
2026-04-07T12:00:00Z,a1,r1,8.8.8.8,hello,,"{""temperature"": 0.5}",12,7,200,eu
2026-04-07T12:00:01Z,a2,r2,,,"[{""role"": ""user"", ""content"": ""from messages""}]",,x,,,
1775563200000,a3,r3,,hi,,,,,,
"""


def test_csv_json_and_flattened_params(write):
    table, reader = read_all(write(CSV, "events.csv"))
    rows = table.to_pylist()
    assert [r["account_id"] for r in rows] == ["a1", "a3"]
    assert rows[0]["temperature"] == 0.5 and rows[0]["seed"] == 7
    assert rows[0]["input_tokens"] == 12 and rows[0]["status"] == 200
    assert orjson.loads(rows[0]["extra"]) == {"region": "eu"}
    assert rows[1]["ts"] == datetime(2026, 4, 7, 12, tzinfo=UTC)
    assert reader.rejects.to_pylist()[0]["line"] == 3
    assert reader.summary.by_reason == {"non-integer token count": 1}


def test_csv_gzip_and_bad_row(write):
    text = CSV.replace("1775563200000,a3,r3,,hi,,,,,,", "1775563200000,a3,r3,,hi")
    table, reader = read_all(write(text, "events.csv.gz"))
    assert table.num_rows == 1
    assert reader.summary.by_reason["malformed row"] == 1


def test_parquet_contract_shape(write, tmp_path):
    path = tmp_path / "e.parquet"
    pq.write_table(
        pa.Table.from_pylist(
            [
                record(
                    params={"temperature": 0.1, "top_k": 5},
                    messages=[{"role": "user", "content": "m"}],
                    prompt=None,
                ),
                record(request_id="r2", ts=datetime(2026, 4, 7, 12, tzinfo=UTC)),
            ][:1]
        ),
        path,
    )
    row = read_all(path)[0].to_pylist()[0]
    assert row["prompt"] == "m" and row["temperature"] == 0.1
    assert orjson.loads(row["extra"]) == {"params": {"top_k": 5}}


def test_parquet_round_trip_of_event_schema(write, tmp_path):
    first, _ = read_all(
        write(
            [
                record(ts="2026-04-07T12:00:00.123456Z", region="x"),
                record(request_id="r2", ip="73.15.2.3", asn=7922),
            ]
        )
    )
    path = tmp_path / "events.parquet"
    pq.write_table(first, path)
    again, reader = read_all(path)
    assert reader.summary.rejected == 0
    assert again.equals(first)


def test_parquet_naive_timestamps_are_utc(tmp_path):
    path = tmp_path / "e.parquet"
    table = pa.table(
        {
            "ts": pa.array([datetime(2026, 4, 7, 12)], pa.timestamp("ms")),
            "account_id": ["a"],
            "prompt": ["p"],
        }
    )
    pq.write_table(table, path)
    out = read_events([path]).read_all()
    assert out.column("ts").to_pylist() == [datetime(2026, 4, 7, 12, tzinfo=UTC)]


def _attr(key, value):
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    if isinstance(value, list):
        return {
            "key": key,
            "value": {
                "arrayValue": {
                    "values": [
                        {"kvlistValue": {"values": [_attr(k, v) for k, v in item.items()]}}
                        for item in value
                    ]
                }
            },
        }
    return {"key": key, "value": {"stringValue": value}}


def otlp(spans):
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [_attr("service.name", "gw")]},
                "scopeSpans": [{"scope": {"name": "x"}, "spans": spans}],
            }
        ]
    }


def span(attrs, start=1775563200000000000):
    return {
        "traceId": "t",
        "spanId": "s",
        "name": "chat",
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 250_000_000),
        "attributes": [_attr(k, v) for k, v in attrs.items()],
    }


def test_otlp_mapping(write):
    spans = [
        span(
            {
                "user.id": "acct_9",
                "client.address": "8.8.8.8",
                "user_agent.original": "ua",
                "gen_ai.request.model": "m",
                "gen_ai.operation.name": "chat",
                "gen_ai.input.messages": orjson.dumps(
                    [{"role": "user", "parts": [{"type": "text", "content": "hi there"}]}]
                ).decode(),
                "gen_ai.system_instructions": "be nice",
                "gen_ai.request.temperature": 0.3,
                "gen_ai.request.max_tokens": 99,
                "gen_ai.request.choice.count": 2,
                "gen_ai.usage.input_tokens": 5,
                "gen_ai.usage.output_tokens": 6,
                "gen_ai.response.id": "resp_1",
                "gen_ai.system": "openai",
            }
        ),
        span(
            {
                "enduser.id": "old_user",
                "gen_ai.input.messages": [{"role": "user", "content": "array form"}],
            }
        ),
        {"name": "http", "startTimeUnixNano": "1", "attributes": [_attr("http.method", "GET")]},
        span({"gen_ai.request.model": "m"}),
    ]
    path = write(orjson.dumps(otlp(spans)), "trace.json")
    assert detect_format(path) == "otlp"
    table, reader = read_all(path)
    rows = table.to_pylist()
    assert rows[0]["account_id"] == "acct_9" and rows[0]["prompt"] == "hi there"
    assert rows[0]["ts"] == datetime(2026, 4, 7, 12, tzinfo=UTC)
    assert rows[0]["request_id"] == "resp_1" and rows[0]["model"] == "m"
    assert rows[0]["endpoint"] == "chat" and rows[0]["system_prompt"] == "be nice"
    assert (rows[0]["temperature"], rows[0]["max_tokens"], rows[0]["n"]) == (0.3, 99, 2)
    assert (rows[0]["input_tokens"], rows[0]["output_tokens"]) == (5, 6)
    assert rows[0]["latency_ms"] == 250.0 and rows[0]["country"] == "US"
    assert orjson.loads(rows[0]["extra"])["otel"]["gen_ai.system"] == "openai"
    assert rows[1]["account_id"] == "old_user" and rows[1]["prompt"] == "array form"
    assert reader.summary.lines == 3  # the HTTP span is not a GenAI record
    assert reader.rejects.to_pylist()[0]["line"] == 4  # span ordinal
    assert reader.rejects.to_pylist()[0]["reason"] == "missing account_id"


def test_otlp_lines_of_export_requests(write):
    body = b"\n".join(
        orjson.dumps(
            otlp(
                [
                    span(
                        {
                            "user.id": f"u{i}",
                            "gen_ai.input.messages": [{"role": "user", "content": "q"}],
                        }
                    )
                ]
            )
        )
        for i in range(3)
    )
    table, _ = read_all(write(body, "spans.jsonl"), fmt="otlp")
    assert table.column("account_id").to_pylist() == ["u0", "u1", "u2"]


def test_event_schema_order_unchanged():
    assert EVENT_SCHEMA.names[:3] == ["ts", "account_id", "request_id"]


def test_parquet_reading_does_not_hold_what_it_has_read(tmp_path):
    """Arrow memory in use while reading stays near one row group, not the
    file: a reader that kept each column chunk it read would end holding
    about the file's compressed size."""
    path = tmp_path / "big.parquet"
    rng = np.random.default_rng(0)
    n, groups = 40_000, 40
    table = pa.table(
        {
            "ts": ["2026-04-07T12:00:00Z"] * n,
            "account_id": [f"a{i % 50}" for i in range(n)],
            "request_id": [f"r{i}" for i in range(n)],
            "prompt": [rng.bytes(600).hex() for _ in range(n)],  # does not compress
        }
    )
    pq.write_table(table, path, row_group_size=n // groups)
    del table
    size = path.stat().st_size
    before = pa.total_allocated_bytes()
    held = 0
    reader = read_events(path, batch_rows=500)
    for _ in reader:
        held = max(held, pa.total_allocated_bytes() - before)
    assert reader.summary.accepted == n
    assert held < size / 3
