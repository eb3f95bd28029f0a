"""Two simulated providers attacked by one operation, the first one first.

The operation is simulated once: the same prompts, wrappers, proxies, client
fingerprints and payment instruments reach both providers, through different
accounts (an operator opens accounts at each provider), and reach the second
provider ``lag`` later. Each provider has its own legitimate customers,
simulated with its own seed. Nothing here changes how the simulator works:
it combines three runs of it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

import pyarrow as pa
import pyarrow.compute as pc

from distillguard.simulate import ATTACK_STYLES, BENIGN, SimConfig, SimResult, generate

_RENAMED = ("account_id", "api_key_id", "request_id")


@dataclass(frozen=True, slots=True)
class TwoProviders:
    a: SimResult
    b: SimResult
    attack_start_b: float  # epoch seconds of the operation's first request at B


def two_providers(
    *,
    style: str = "proxy_swarm",
    n_events: int = 40_000,
    attack_events: int = 12_000,
    days: float = 3.0,
    lag: timedelta = timedelta(hours=12),
    seed: int = 11,
) -> TwoProviders:
    """Providers A and B: ``n_events`` legitimate requests each over ``days``,
    plus about ``attack_events`` of one ``style`` operation at each, B's
    starting ``lag`` after A's (its events past the window are dropped)."""
    if style not in ATTACK_STYLES:
        raise ValueError(f"unknown attack style {style!r}")
    none = {s: 0 for s in ATTACK_STYLES}
    share = _share(style)
    op = generate(
        SimConfig.model_validate(
            {
                "seed": seed,
                "n_events": max(500, round(attack_events / share)),
                "days": days,
                "scale": {b: 0.0 for b in BENIGN},
                "campaigns": {**none, style: 1},
            }
        )
    )
    legit = {"n_events": n_events, "days": days, "campaigns": none}
    legit_a = generate(SimConfig.model_validate({"seed": seed + 1, **legit}))
    legit_b = generate(SimConfig.model_validate({"seed": seed + 2, **legit}))
    end_us = int(legit_b.events.column("ts").cast(pa.int64()).to_numpy().max())
    op_b = _moved(op, "B", int(lag.total_seconds() * 1e6), end_us)
    start_b = int(op_b.events.column("ts").cast(pa.int64()).to_numpy().min()) / 1e6
    return TwoProviders(_merged(legit_a, op), _merged(legit_b, op_b), start_b)


def _share(style: str) -> float:
    from distillguard.simulate import POPULATIONS

    return POPULATIONS[style].share


def _rename(values: pa.ChunkedArray, provider: str) -> pa.Array:
    def one(v: str | None) -> str | None:
        if v is None:
            return None
        head, _, _ = v.partition("_")
        digest = hashlib.blake2b(f"{provider}:{v}".encode(), digest_size=12).hexdigest()
        return f"{head}_{digest}"

    return pa.array([one(v) for v in values.to_pylist()], pa.string())


def _set(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    i = table.schema.get_field_index(name)
    field = table.schema.field(name)
    return table.set_column(i, field, values.cast(field.type))


def _moved(op: SimResult, provider: str, lag_us: int, end_us: int) -> SimResult:
    """The operation as seen by another provider: other accounts, later."""
    ts = op.events.column("ts").cast(pa.int64()).to_numpy() + lag_us
    keep = pa.array(ts <= end_us)
    events = op.events.filter(keep)
    truth = op.truth.filter(keep)
    events = _set(events, "ts", pa.array(ts[ts <= end_us]).cast(op.events.schema.field("ts").type))
    for name in _RENAMED:
        events = _set(events, name, _rename(events.column(name), provider))
    accounts = _set(op.accounts, "account_id", _rename(op.accounts.column("account_id"), provider))
    created = accounts.column("created_at").cast(pa.int64()).to_numpy(zero_copy_only=False)
    accounts = _set(
        accounts,
        "created_at",
        pa.array(created + lag_us).cast(accounts.schema.field("created_at").type),
    )
    labels = _set(op.labels, "account_id", _rename(op.labels.column("account_id"), provider))
    return SimResult(events, accounts, labels, dict(op.manifest), truth)


def _merged(legit: SimResult, op: SimResult) -> SimResult:
    events = pa.concat_tables([legit.events, op.events.cast(legit.events.schema)])
    truth = pa.concat_tables([legit.truth, op.truth.cast(legit.truth.schema)])
    order = pc.sort_indices(events.column("ts"))
    accounts = pa.concat_tables([legit.accounts, op.accounts.cast(legit.accounts.schema)])
    labels = pa.concat_tables([legit.labels, op.labels.cast(legit.labels.schema)])
    manifest = {
        "generator": "distillguard.exchange.sim/1",
        "events": events.num_rows,
        "accounts": accounts.num_rows,
        "campaigns": op.manifest.get("campaigns", []),
    }
    return SimResult(events.take(order), accounts, labels, manifest, truth.take(order))


__all__ = ["TwoProviders", "two_providers"]
