"""``read_accounts``: the optional account side table (JSON Lines, CSV or Parquet)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from distillguard.events._fields import Reason
from distillguard.events._formats import open_source
from distillguard.events._normalize import Rejected, parse_json, parse_ts
from distillguard.events._sources import truncate
from distillguard.events.schema import ACCOUNT_SCHEMA, REJECT_SCHEMA

_STRINGS = ("email_domain", "payment_fingerprint", "org_name", "parent_entity", "tier")
_KNOWN = {"account_id", "created_at", "declared_country", "verified", "extra", *_STRINGS}
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def account_row(obj: Any) -> dict[str, Any]:
    """One account record as an ``ACCOUNT_SCHEMA`` row; :class:`Rejected` if invalid."""
    if not isinstance(obj, dict):
        raise Rejected(Reason.NOT_OBJECT)
    account = obj.get("account_id")
    if account is None or account == "":
        raise Rejected(Reason.MISSING_ACCOUNT)
    if not isinstance(account, str):
        raise Rejected(Reason.wrong_type("account_id"))
    row: dict[str, Any] = {"account_id": account}
    created = obj.get("created_at")
    row["created_at"] = None if created in (None, "") else parse_ts(created, "created_at")
    for name in _STRINGS:
        row[name] = _string(name, obj.get(name))
    row["declared_country"] = _country(obj.get("declared_country"))
    row["verified"] = _bool(obj.get("verified"))
    extra = {k: v for k, v in obj.items() if k not in _KNOWN and v is not None}
    row["extra"] = orjson.dumps(extra).decode() if extra else None
    return row


def _string(name: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Rejected(Reason.wrong_type(name))
    text: str = value
    return text


def _country(value: Any) -> str | None:
    text = _string("declared_country", value)
    if text is None:
        return None
    if len(text) != 2 or not text.isascii() or not text.isalpha():
        raise Rejected(Reason.BAD_COUNTRY)
    return text.upper()


def _bool(value: Any) -> bool | None:
    if value is None or value == "" or isinstance(value, bool):
        return value if isinstance(value, bool) else None
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise Rejected(Reason.wrong_type("verified"))


def _records(path: Path) -> Iterator[tuple[str, int, str, Any]]:
    """(source, line, raw text, parsed record or Rejected) for every record."""
    source = open_source(path, None)
    for block in source.blocks(65536):
        for line, reason, raw in block.rejects:
            yield source.name, line, raw, Rejected(reason)
        for text, line in zip(block.texts.to_pylist(), block.lines.tolist(), strict=True):
            try:
                yield source.name, line, text, parse_json(text)
            except Rejected as rej:
                yield source.name, line, text, rej


def read_accounts(path: str | Path) -> tuple[pa.Table, pa.Table]:
    """Accounts (``ACCOUNT_SCHEMA``) and rejects (``REJECT_SCHEMA``) of one file.

    ``created_at`` is read like an event's ``ts``; unknown fields go to
    ``extra``. A later record of the same ``account_id`` replaces an earlier one.
    """
    rows: dict[str, dict[str, Any]] = {}
    rejects: list[tuple[str, int, str, str]] = []
    for source, line, raw, parsed in _records(Path(path)):
        try:
            if isinstance(parsed, Rejected):
                raise parsed
            row = account_row(parsed)
        except Rejected as rej:
            rejects.append((source, line, rej.reason, truncate(raw.rstrip())))
            continue
        rows.pop(row["account_id"], None)
        rows[row["account_id"]] = row
    accounts = pa.Table.from_pylist(list(rows.values()), schema=ACCOUNT_SCHEMA)
    columns: list[list[Any]] = [list(c) for c in zip(*rejects, strict=True)] or [[], [], [], []]
    return accounts, pa.table([pa.array(c) for c in columns], schema=REJECT_SCHEMA)
