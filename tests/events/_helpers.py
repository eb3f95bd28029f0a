from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from distillguard.events import read_events


def record(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "ts": "2026-04-07T12:00:00Z",
        "account_id": "acct_1",
        "request_id": "req_1",
        "ip": "8.8.8.8",
        "prompt": "What is the capital of France?",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


def jsonl(records: list[Any]) -> bytes:
    out = []
    for r in records:
        out.append(r if isinstance(r, bytes) else orjson.dumps(r))
    return b"\n".join(out) + b"\n"


def read_all(*paths: Path, **kwargs: Any) -> tuple[pa.Table, Any]:
    reader = read_events(list(paths), **kwargs)
    table = reader.read_all()
    s = reader.summary
    assert s.lines == s.accepted + s.rejected + s.duplicates
    assert s.accepted == table.num_rows
    return table, reader
