"""Arrow schemas of the event contract (``EVENT_SCHEMA.md``, version 1).

Every ingest path yields record batches of :data:`EVENT_SCHEMA`. Text fields
(``prompt``, ``system_prompt``, ``response``) are kept as sent; ``messages`` is
reduced to the last user turn (``prompt``, when absent), the number of user
turns (``user_turns``) and the text of the user turns before the last
(``earlier_prompts``), which is all detection needs. Sampling parameters are
flattened out of ``params``. Unknown fields survive as a JSON object in
``extra``. Enrichment (``country``, ``asn``, ``asn_org``, ``hosting``) is filled
from the shipped IP database when the record does not carry it.
"""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")

#: What joins the user turns before the last into ``earlier_prompts``: the
#: ASCII record separator, which text does not use, so that each turn (the
#: first above all, a conversation's opening) can be told apart again.
TURN_SEPARATOR = "\x1e"

EVENT_SCHEMA = pa.schema(
    [
        pa.field("ts", TS, nullable=False),
        pa.field("account_id", pa.string(), nullable=False),
        pa.field("request_id", pa.string()),
        pa.field("api_key_id", pa.string()),
        pa.field("ip", pa.string()),
        pa.field("user_agent", pa.string()),
        pa.field("tls_fingerprint", pa.string()),
        pa.field("country", pa.string()),
        pa.field("asn", pa.int64()),
        pa.field("asn_org", pa.string()),
        pa.field("hosting", pa.bool_()),
        pa.field("model", pa.string()),
        pa.field("endpoint", pa.string()),
        pa.field("prompt", pa.string(), nullable=False),
        pa.field("user_turns", pa.int32(), nullable=False),
        pa.field("earlier_prompts", pa.string()),
        pa.field("system_prompt", pa.string()),
        pa.field("temperature", pa.float64()),
        pa.field("top_p", pa.float64()),
        pa.field("max_tokens", pa.int64()),
        pa.field("n", pa.int64()),
        pa.field("seed", pa.int64()),
        pa.field("stream", pa.bool_()),
        pa.field("logprobs", pa.bool_()),
        pa.field("reasoning_effort", pa.string()),
        pa.field("input_tokens", pa.int64()),
        pa.field("output_tokens", pa.int64()),
        pa.field("reasoning_tokens", pa.int64()),
        pa.field("status", pa.int32()),
        pa.field("latency_ms", pa.float64()),
        pa.field("response", pa.string()),
        pa.field("extra", pa.string()),
    ]
)

ACCOUNT_SCHEMA = pa.schema(
    [
        pa.field("account_id", pa.string(), nullable=False),
        pa.field("created_at", TS),
        pa.field("email_domain", pa.string()),
        pa.field("payment_fingerprint", pa.string()),
        pa.field("declared_country", pa.string()),
        pa.field("org_name", pa.string()),
        pa.field("parent_entity", pa.string()),
        pa.field("tier", pa.string()),
        pa.field("verified", pa.bool_()),
        pa.field("extra", pa.string()),
    ]
)

REJECT_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("line", pa.int64(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("raw", pa.string()),
    ]
)

#: Label file written by ``distillguard simulate`` and read by ``--labels``.
LABEL_SCHEMA = pa.schema(
    [
        pa.field("account_id", pa.string(), nullable=False),
        pa.field("population", pa.string(), nullable=False),
        pa.field("malicious", pa.bool_(), nullable=False),
        pa.field("campaign", pa.string()),
        pa.field("hard_negative", pa.bool_(), nullable=False),
    ]
)
