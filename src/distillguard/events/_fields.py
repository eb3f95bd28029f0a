"""The fields of a request event as they arrive, and how each one is checked.

One table drives both validation paths (the vectorised DuckDB path in
``_fast`` and the per-record reference path in ``_normalize``), so the two
cannot drift apart on which fields exist and what type each one has.
"""

from __future__ import annotations

from enum import Enum


class Kind(Enum):
    """How an input value is checked and converted."""

    STR = "str"  # a JSON string
    COUNT = "count"  # an integer >= 0 (token counts)
    INT = "int"  # any integer that fits int64
    FLOAT = "float"  # any JSON number
    BOOL = "bool"  # true / false


#: Optional top-level fields copied to the output column of the same name.
SIMPLE_FIELDS: dict[str, Kind] = {
    "request_id": Kind.STR,
    "api_key_id": Kind.STR,
    "user_agent": Kind.STR,
    "tls_fingerprint": Kind.STR,
    "asn_org": Kind.STR,
    "hosting": Kind.BOOL,
    "model": Kind.STR,
    "endpoint": Kind.STR,
    "system_prompt": Kind.STR,
    "input_tokens": Kind.COUNT,
    "output_tokens": Kind.COUNT,
    "reasoning_tokens": Kind.COUNT,
    "latency_ms": Kind.FLOAT,
    "response": Kind.STR,
}

#: Sampling parameters, read from the ``params`` object (or, for flat inputs
#: such as CSV or a Parquet file in the output layout, from top-level columns).
PARAM_FIELDS: dict[str, Kind] = {
    "temperature": Kind.FLOAT,
    "top_p": Kind.FLOAT,
    "max_tokens": Kind.INT,
    "n": Kind.INT,
    "seed": Kind.INT,
    "stream": Kind.BOOL,
    "logprobs": Kind.BOOL,
    "reasoning_effort": Kind.STR,
}

#: Fields with their own rules (see ``_normalize``).
SPECIAL_FIELDS = (
    "ts",
    "account_id",
    "ip",
    "country",
    "asn",
    "status",
    "prompt",
    "messages",
    "params",
    "user_turns",
    "extra",
)

KNOWN_FIELDS: frozenset[str] = (
    frozenset(SIMPLE_FIELDS) | frozenset(PARAM_FIELDS) | frozenset(SPECIAL_FIELDS)
)

#: Epoch milliseconds accepted for ``ts`` (years 1 to 9999).
MIN_EPOCH_MS = -62_135_596_800_000
MAX_EPOCH_MS = 253_402_300_799_999

INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1
ASN_MAX = 2**32 - 1

#: Roles whose message text is the system instruction when ``system_prompt`` is absent.
SYSTEM_ROLES = ("system", "developer")


class Reason:
    """Reject reasons: short, stable strings (they are keys of ``by_reason``)."""

    NOT_JSON = "not JSON"
    NOT_OBJECT = "not an object"
    INVALID_UTF8 = "invalid UTF-8"
    OVERSIZED = "oversized record"
    MISSING_TS = "missing ts"
    BAD_TS = "unparseable ts"
    NAIVE_TS = "timestamp without offset"
    MISSING_ACCOUNT = "missing account_id"
    NO_PROMPT = "no prompt"
    BAD_IP = "malformed ip"
    BAD_COUNTRY = "malformed country"
    NEGATIVE_TOKENS = "negative token count"
    NON_INTEGER_TOKENS = "non-integer token count"
    BAD_ROW = "malformed row"

    @staticmethod
    def wrong_type(field: str) -> str:
        return f"wrong type: {field}"

    @staticmethod
    def out_of_range(field: str) -> str:
        return f"out of range: {field}"


ALL_FIXED_REASONS = tuple(
    value for name, value in vars(Reason).items() if name.isupper() and isinstance(value, str)
)
