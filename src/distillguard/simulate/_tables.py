"""Arrow tables from the simulator's columns: events, accounts, labels."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.events.schema import ACCOUNT_SCHEMA, LABEL_SCHEMA, TS
from distillguard.simulate import _world as world
from distillguard.simulate._catalog import POPULATIONS
from distillguard.simulate._clients import JA4, UA
from distillguard.simulate._frame import EFFORTS, SERVICE_TIERS, Accounts, Block, ConvPool

PARAMS = pa.struct(
    [
        ("temperature", pa.float64()),
        ("top_p", pa.float64()),
        ("max_tokens", pa.int64()),
        ("n", pa.int64()),
        ("seed", pa.int64()),
        ("stream", pa.bool_()),
        ("logprobs", pa.bool_()),
        ("reasoning_effort", pa.string()),
    ]
)


def coded(codes: np.ndarray, values: pa.Array | list[str]) -> pa.DictionaryArray:
    """Dictionary column: ``values[codes]``, null where the code is negative."""
    idx = pa.array(np.asarray(codes, np.int32), mask=np.asarray(codes) < 0)
    dictionary = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
    return pa.DictionaryArray.from_arrays(idx, dictionary)


def _ints(values: np.ndarray) -> pa.Array:
    return pa.array(values, pa.int64(), mask=values < 0)


def _flags(values: np.ndarray) -> pa.Array:
    return pa.array(values == 1, pa.bool_(), mask=values < 0)


def params(b: Block) -> pa.StructArray:
    return pa.StructArray.from_arrays(
        [
            pa.array(b.temperature, pa.float64(), from_pandas=True),
            pa.array(b.top_p, pa.float64(), from_pandas=True),
            _ints(b.max_tokens),
            _ints(b.n),
            _ints(b.seed),
            _flags(b.stream),
            _flags(b.logprobs),
            coded(b.effort, list(EFFORTS)).cast(pa.string()),
        ],
        fields=list(PARAMS),
    )


def messages(conv: np.ndarray, pool: ConvPool, texts: pa.Array) -> pa.ListArray:
    """The ``messages`` list of each event (null where the event has a prompt);
    roles and contents are dictionary-encoded."""
    offsets, turns = pool.offsets, pool.turns
    has = conv >= 0
    c = np.maximum(conv, 0)
    length = np.where(has, offsets[c + 1] - offsets[c], 0) if len(turns) else 0 * conv
    out_offsets = np.r_[0, np.cumsum(length)].astype(np.int32)
    start = np.repeat(offsets[c] if len(turns) else 0 * conv, length)
    pos = np.arange(out_offsets[-1]) - np.repeat(out_offsets[:-1], length)
    flat = turns[start + pos] if len(turns) else np.zeros(0, np.int64)
    role = coded((pos % 2).astype(np.int32), ["user", "assistant"])
    items = pa.StructArray.from_arrays([role, coded(flat, texts)], names=["role", "content"])
    return pa.ListArray.from_arrays(pa.array(out_offsets), items, mask=pa.array(~has))


def events(
    b: Block,
    ids: dict[str, pa.Array],
    texts: pa.Array,
    convs: ConvPool,
    ips: pa.Array,
    measured: dict[str, np.ndarray],
) -> pa.Table:
    """The raw request records, in the shape of the event contract."""
    cols: dict[str, pa.Array] = {
        "ts": pa.array(b.ts, TS),
        "account_id": pc.take(ids["account"], pa.array(b.acct)),
        "request_id": ids["request"],
        "api_key_id": coded(b.key, ids["key"]),
        "ip": coded(b.ip, ips),
        "user_agent": coded(np.where(ids["no_ua"], -1, b.client), pa.array(UA.tolist())),
        "tls_fingerprint": coded(np.where(ids["no_ja4"], -1, b.client), pa.array(JA4.tolist())),
        "model": coded(b.model, list(world.MODEL_NAMES)),
        "endpoint": coded(b.endpoint, list(world.ENDPOINTS)),
        "prompt": coded(b.text, texts),
        "messages": messages(b.conv, convs, texts),
        "system_prompt": coded(b.system, texts),
        "params": params(b),
        "input_tokens": _ints(measured["input_tokens"]),
        "output_tokens": _ints(measured["output_tokens"]),
        "reasoning_tokens": _ints(measured["reasoning_tokens"]),
        "status": pa.array(b.status.astype(np.int32)),
        "latency_ms": pa.array(measured["latency_ms"]),
        "user": pc.take(ids["enduser"], pa.array(b.enduser, pa.int64(), mask=b.enduser < 0)),
        "service_tier": coded(b.service_tier, list(SERVICE_TIERS)),
    }
    return pa.table(cols)


def accounts(
    blocks: list[Accounts],
    ids: pa.Array,
    keep: np.ndarray,
    first_ts: np.ndarray,
    rng: np.random.Generator,
) -> tuple[pa.Table, pa.Table]:
    """(accounts, labels) for the accounts that sent at least one request."""

    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(a, name) for a in blocks])

    created = cat("created_at")
    late = created > first_ts - 60_000_000
    created[late] = (
        first_ts[late]
        - (rng.lognormal(np.log(1200), 1.0, int(late.sum())) * 1e6).astype(np.int64)
        - 60_000_000
    )
    pop = np.concatenate([[a.population] * len(a) for a in blocks])
    campaign = np.asarray([c for a in blocks for c in a.campaign], dtype=object)
    info = [POPULATIONS[str(p)] for p in pop]

    def obj(values: np.ndarray) -> pa.Array:
        return pa.array(values.tolist(), pa.string())

    acc = pa.table(
        {
            "account_id": ids,
            "created_at": pa.array(created, TS),
            "email_domain": obj(cat("email_domain")),
            "payment_fingerprint": obj(cat("payment")),
            "declared_country": obj(cat("country").astype(object)),
            "org_name": obj(cat("org_name")),
            "parent_entity": obj(cat("parent")),
            "tier": obj(cat("tier").astype(object)),
            "verified": pa.array(cat("verified"), pa.bool_()),
            "extra": pa.nulls(len(ids), pa.string()),
        },
        schema=ACCOUNT_SCHEMA,
    )
    labels = pa.table(
        {
            "account_id": ids,
            "population": obj(pop.astype(object)),
            "malicious": pa.array([i.malicious for i in info], pa.bool_()),
            "campaign": obj(campaign),
            "hard_negative": pa.array([i.hard_negative for i in info], pa.bool_()),
        },
        schema=LABEL_SCHEMA,
    )
    mask = pa.array(keep)
    acc = acc.filter(mask)
    labels = labels.filter(mask)
    return acc.sort_by("created_at"), labels.sort_by("account_id")
