from __future__ import annotations

from datetime import UTC, datetime

import orjson

from distillguard.events import ACCOUNT_SCHEMA, REJECT_SCHEMA, read_accounts


def test_read_accounts_jsonl(write):
    path = write(
        [
            {
                "account_id": "a1",
                "created_at": "2026-01-01T00:00:00Z",
                "email_domain": "x.com",
                "declared_country": "us",
                "tier": "free",
                "verified": True,
                "referrer": "ad",
            },
            {"account_id": "a2", "created_at": "2026-01-01T00:00:00"},
            {"created_at": 0},
            b"nope",
        ]
    )
    accounts, rejects = read_accounts(path)
    assert accounts.schema.equals(ACCOUNT_SCHEMA) and rejects.schema.equals(REJECT_SCHEMA)
    row = accounts.to_pylist()[0]
    assert row["created_at"] == datetime(2026, 1, 1, tzinfo=UTC)
    assert row["declared_country"] == "US" and row["verified"] is True
    assert orjson.loads(row["extra"]) == {"referrer": "ad"}
    assert [(r["line"], r["reason"]) for r in rejects.to_pylist()] == [
        (2, "timestamp without offset"),
        (3, "missing account_id"),
        (4, "not JSON"),
    ]


def test_read_accounts_csv(write):
    path = write(
        "account_id,created_at,verified,org_name\na1,1767225600000,yes,Acme\n", "accounts.csv"
    )
    accounts, rejects = read_accounts(path)
    assert accounts.to_pylist()[0]["verified"] is True and rejects.num_rows == 0
