"""Per-record validation and normalisation: the reference path.

:func:`normalize` turns one parsed record (a ``dict`` from JSON, CSV, Parquet or
an OpenTelemetry span) into a row of the candidate table, or returns the reason
it is rejected. The vectorised path in ``_fast`` accepts a subset of records and
must produce exactly what this function produces for them; everything it is not
sure about comes here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from distillguard.events._fields import (
    ASN_MAX,
    INT32_MAX,
    INT64_MAX,
    KNOWN_FIELDS,
    MAX_EPOCH_MS,
    MIN_EPOCH_MS,
    PARAM_FIELDS,
    SIMPLE_FIELDS,
    SYSTEM_ROLES,
    Kind,
    Reason,
)
from distillguard.events.schema import TURN_SEPARATOR

Row = dict[str, Any]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DIGITS = re.compile(r"-?[0-9]{1,16}")
_BLANK = re.compile(r"[\t\n\f\r ]*")
_COUNTRY = re.compile(r"[A-Za-z]{2}")
_ASN_TEXT = re.compile(r"(?:AS|as)?([0-9]{1,10})")


class Rejected(Exception):
    """Raised inside the checks below; carries the reject reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_json(text: str | bytes) -> Any:
    """Parse one JSON document; :class:`Rejected` with "not JSON" if it is not."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise Rejected(Reason.NOT_JSON) from exc


def normalize(obj: Any) -> Row | str:
    """One record as a candidate row, or the reason it is rejected."""
    if not isinstance(obj, dict):
        return Reason.NOT_OBJECT
    try:
        return _normalize(obj)
    except Rejected as rej:
        return rej.reason


def _normalize(obj: dict[str, Any]) -> Row:
    row: Row = {"ts": parse_ts(obj.get("ts")), "account_id": _account(obj.get("account_id"))}
    row.update(_prompt(obj))
    for name, kind in SIMPLE_FIELDS.items():
        if name != "system_prompt" or obj.get(name) is not None:
            row[name] = _check(name, kind, obj.get(name))
    row["ip"] = _ip(obj.get("ip"))
    row["country"] = _country(obj.get("country"))
    row["asn"] = _asn(obj.get("asn"))
    row["status"] = _status(obj.get("status"))
    params, extra_params = _params(obj)
    row.update(params)
    row["extra"] = _extra(obj, extra_params)
    return row


# -- timestamps -----------------------------------------------------------------


def parse_ts(value: Any, field: str = "ts") -> datetime:
    """RFC 3339 / ISO 8601 text with an offset, or integer epoch milliseconds."""
    if value is None or value == "":
        raise Rejected(Reason.MISSING_TS if field == "ts" else Reason.BAD_TS)
    if isinstance(value, str):
        if _DIGITS.fullmatch(value):
            return _from_epoch_ms(int(value))
        return _from_iso(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return _from_epoch_ms(value)
    if isinstance(value, float):
        raise Rejected(Reason.BAD_TS)
    raise Rejected(Reason.wrong_type(field))


def _from_epoch_ms(ms: int) -> datetime:
    if not MIN_EPOCH_MS <= ms <= MAX_EPOCH_MS:
        raise Rejected(Reason.BAD_TS)
    return _EPOCH + timedelta(milliseconds=ms)


def _from_iso(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise Rejected(Reason.BAD_TS) from exc
    if parsed.tzinfo is None:
        raise Rejected(Reason.NAIVE_TS)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise Rejected(Reason.BAD_TS) from exc


# -- identity and network -------------------------------------------------------


def _account(value: Any) -> str:
    if value is None:
        raise Rejected(Reason.MISSING_ACCOUNT)
    if not isinstance(value, str):
        raise Rejected(Reason.wrong_type("account_id"))
    if _BLANK.fullmatch(value):
        raise Rejected(Reason.MISSING_ACCOUNT)
    return value


def _ip(value: Any) -> str | None:
    """Type only; the address itself is checked (and canonicalised) per batch."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Rejected(Reason.wrong_type("ip"))
    return value


def _country(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Rejected(Reason.wrong_type("country"))
    if not _COUNTRY.fullmatch(value):
        raise Rejected(Reason.BAD_COUNTRY)
    return value.upper()


def _asn(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        match = _ASN_TEXT.fullmatch(value)
        if match is None:
            raise Rejected(Reason.wrong_type("asn"))
        value = int(match.group(1))
    if not isinstance(value, int) or isinstance(value, bool):
        raise Rejected(Reason.wrong_type("asn"))
    if not 0 <= value <= ASN_MAX:
        raise Rejected(Reason.out_of_range("asn"))
    return value


def _status(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise Rejected(Reason.wrong_type("status"))
    if not -INT32_MAX - 1 <= value <= INT32_MAX:
        raise Rejected(Reason.out_of_range("status"))
    return value


# -- typed scalars --------------------------------------------------------------


def _check(name: str, kind: Kind, value: Any) -> Any:
    if value is None:
        return None
    if kind is Kind.COUNT:
        return _count(name, value)
    if kind is Kind.STR and isinstance(value, str):
        return value
    if kind is Kind.BOOL and isinstance(value, bool):
        return value
    if isinstance(value, bool):
        raise Rejected(Reason.wrong_type(name))
    if kind is Kind.INT and isinstance(value, int):
        if not -INT64_MAX - 1 <= value <= INT64_MAX:
            raise Rejected(Reason.out_of_range(name))
        return value
    if kind is Kind.FLOAT and isinstance(value, int | float):
        return _as_float(name, value)
    raise Rejected(Reason.wrong_type(name))


def _count(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise Rejected(Reason.NON_INTEGER_TOKENS)
    if value < 0:
        raise Rejected(Reason.NEGATIVE_TOKENS)
    if value > INT64_MAX:
        raise Rejected(Reason.out_of_range(name))
    return value


def _as_float(name: str, value: int | float) -> float:
    try:
        result = float(value)
    except OverflowError as exc:
        raise Rejected(Reason.out_of_range(name)) from exc
    if result != result or result in (float("inf"), float("-inf")):
        raise Rejected(Reason.out_of_range(name))
    return result


# -- prompt and messages --------------------------------------------------------


def _prompt(obj: dict[str, Any]) -> Row:
    prompt = obj.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise Rejected(Reason.wrong_type("prompt"))
    messages = _messages(obj.get("messages"))
    users = [m for m in messages if m.get("role") == "user"]
    if prompt is None:
        if not users:
            raise Rejected(Reason.NO_PROMPT)
        prompt = message_text(users[-1])
        if prompt is None:
            raise Rejected(Reason.wrong_type("messages"))
    row: Row = {
        "prompt": prompt,
        "user_turns": len(users) or _user_turns(obj.get("user_turns")),
        "earlier_prompts": earlier_prompts(users[:-1]),
    }
    if obj.get("system_prompt") is None:
        system = [m for m in messages if m.get("role") in SYSTEM_ROLES]
        row["system_prompt"] = message_text(system[0]) if system else None
    return row


def _messages(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise Rejected(Reason.wrong_type("messages")) from exc
    if not isinstance(value, list):
        raise Rejected(Reason.wrong_type("messages"))
    return [m for m in value if isinstance(m, dict)]


def earlier_prompts(users: list[dict[str, Any]]) -> str | None:
    """The text of the user turns before the last, joined by
    ``TURN_SEPARATOR`` (turns without text left out; ``None`` when none is
    left). A request can carry its demand for written-out reasoning in an
    earlier turn (a priming turn, "from now on, show every step") and send
    the bare problem last."""
    texts = [t for t in map(message_text, users) if t]
    return TURN_SEPARATOR.join(texts) if texts else None


def message_text(message: dict[str, Any]) -> str | None:
    """Text of one chat message: ``content`` as a string or a list of parts
    (OpenAI ``{"type": "text", "text": ...}``, OpenTelemetry ``parts`` with
    ``{"type": "text", "content": ...}``). ``None`` when the content has a type
    that carries no text."""
    content = message.get("content")
    if content is None:
        content = message.get("parts")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    texts = []
    for part in content:
        if isinstance(part, dict) and part.get("type") == "text":
            text = part.get("text", part.get("content"))
            if isinstance(text, str):
                texts.append(text)
    return "\n".join(texts)


def _user_turns(value: Any) -> int:
    if value is None:
        return 1
    if not isinstance(value, int) or isinstance(value, bool):
        raise Rejected(Reason.wrong_type("user_turns"))
    if not 1 <= value <= INT32_MAX:
        raise Rejected(Reason.out_of_range("user_turns"))
    return value


# -- params and extra -----------------------------------------------------------


def _params(obj: dict[str, Any]) -> tuple[Row, dict[str, Any]]:
    params = obj.get("params")
    if params is None:
        params = {}
    elif isinstance(params, str):
        try:
            params = orjson.loads(params)
        except orjson.JSONDecodeError as exc:
            raise Rejected(Reason.wrong_type("params")) from exc
    if not isinstance(params, dict):
        raise Rejected(Reason.wrong_type("params"))
    row: Row = {}
    for name, kind in PARAM_FIELDS.items():
        value = params.get(name)
        if value is None:
            value = obj.get(name)
        if name == "logprobs" and isinstance(value, int) and not isinstance(value, bool):
            value = value > 0  # legacy completions send the number of logprobs
        row[name] = _check(name, kind, value)
    unknown = {k: v for k, v in params.items() if k not in PARAM_FIELDS and v is not None}
    return row, unknown


def _extra(obj: dict[str, Any], extra_params: dict[str, Any]) -> str | None:
    extra = _given_extra(obj.get("extra"))
    extra.update((k, v) for k, v in obj.items() if k not in KNOWN_FIELDS and v is not None)
    if extra_params:
        extra["params"] = extra_params
    return orjson.dumps(extra).decode() if extra else None


def _given_extra(value: Any) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise Rejected(Reason.wrong_type("extra")) from exc
    if not isinstance(value, dict):
        raise Rejected(Reason.wrong_type("extra"))
    return dict(value)


def extra_of(obj: dict[str, Any]) -> str | None:
    """The ``extra`` column of a record whose known fields are valid."""
    params = obj.get("params")
    unknown = {}
    if isinstance(params, dict):
        unknown = {k: v for k, v in params.items() if k not in PARAM_FIELDS and v is not None}
    return _extra(obj, unknown)
