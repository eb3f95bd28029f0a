"""The live demo's traffic, built from the simulator's labelled populations.

One simulated day of a small provider is cut in two. Its benign traffic before
the cut is the provider's *history*: written to the spool before the gateway
starts, with timestamps moved so that it ends now. After the cut, benign
requests are sent live through the gateway, paced by their own timestamps
compressed ``benign_speedup`` times; one harvesting campaign starts at a
known second and sends its requests through the gateway at ``campaign_rps``,
in its own order, at wall-clock speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from distillguard.gateway.spool import SpoolWriter
from distillguard.simulate import SimResult

_PARAMS = ("temperature", "top_p", "max_tokens", "seed", "reasoning_effort")


@dataclass(frozen=True, slots=True)
class Planned:
    """One request to send ``at`` seconds after the live phase starts."""

    at: float
    account_id: str
    campaign: bool
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass(slots=True)
class Plan:
    history: pa.Table  # benign events before the cut (EVENT_SCHEMA-like, raw)
    accounts: pa.Table
    requests: list[Planned]
    campaign_id: str
    campaign_accounts: set[str]
    shift_s: float  # added to simulated timestamps to land on the wall clock


def _epoch(ts: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.divide(pc.cast(pc.cast(ts, pa.timestamp("us", "UTC")), pa.int64()), 1e6)


def pick_campaign(sim: SimResult, style: str) -> tuple[str, set[str]]:
    """The campaign of ``style`` with the most requests, and its accounts."""
    labels = sim.labels.filter(pc.equal(sim.labels.column("population"), style))
    if not labels.num_rows:
        raise ValueError(f"the simulation has no {style} campaign")
    members: dict[str, set[str]] = {}
    for acc, cmp in zip(
        labels.column("account_id").to_pylist(), labels.column("campaign").to_pylist(), strict=True
    ):
        members.setdefault(cmp, set()).add(acc)
    events = sim.events.column("account_id").to_pylist()
    size = {c: sum(1 for a in events if a in accs) for c, accs in members.items()}
    best = max(size, key=lambda c: size[c])
    return best, members[best]


def build_plan(
    sim: SimResult,
    *,
    now: float,
    style: str = "proxy_swarm",
    campaign_start_s: float = 15.0,
    campaign_rps: float = 30.0,
    live_s: float = 90.0,
    benign_speedup: float = 30.0,
) -> Plan:
    campaign_id, members = pick_campaign(sim, style)
    labels = sim.labels
    benign = set(
        pc.filter(labels.column("account_id"), pc.invert(labels.column("malicious"))).to_pylist()
    )
    events = sim.events.sort_by("ts")
    t = _epoch(events.column("ts")).to_numpy()
    cut = float(t[-1]) - live_s * benign_speedup
    shift = now - cut
    accounts = events.column("account_id")
    is_benign = pc.is_in(accounts, pa.array(sorted(benign)))
    before = pc.less(pa.array(t), cut)
    history = events.filter(pc.and_(is_benign, before))
    live_benign = events.filter(pc.and_(is_benign, pc.invert(before)))
    campaign = events.filter(pc.is_in(accounts, pa.array(sorted(members))))
    planned: list[Planned] = []
    for row, at in zip(
        live_benign.to_pylist(), (_epoch(live_benign.column("ts")).to_numpy() - cut), strict=True
    ):
        planned.append(_planned(row, float(at) / benign_speedup, campaign=False))
    for i, row in enumerate(campaign.to_pylist()):
        at = campaign_start_s + i / campaign_rps
        if at < live_s:
            planned.append(_planned(row, at, campaign=True))
    planned.sort(key=lambda p: p.at)
    created = pc.add(
        pc.cast(sim.accounts.column("created_at"), pa.timestamp("us", "UTC")),
        pa.scalar(int(shift * 1e6), pa.duration("us")),
    )
    accounts_table = sim.accounts.set_column(
        sim.accounts.schema.get_field_index("created_at"), "created_at", created
    )
    history = history.set_column(
        history.schema.get_field_index("ts"),
        "ts",
        pc.add(
            pc.cast(history.column("ts"), pa.timestamp("us", "UTC")),
            pa.scalar(int(shift * 1e6), pa.duration("us")),
        ),
    )
    return Plan(history, accounts_table, planned, campaign_id, members, shift)


def _planned(row: dict[str, Any], at: float, *, campaign: bool) -> Planned:
    headers = {"x-account": row["account_id"]}
    if row.get("ip"):
        headers["x-forwarded-for"] = row["ip"]
    if row.get("user_agent"):
        headers["user-agent"] = row["user_agent"]
    messages: list[dict[str, str]] = []
    if row.get("system_prompt"):
        messages.append({"role": "system", "content": row["system_prompt"]})
    if row.get("messages"):
        messages.extend({"role": m["role"], "content": m["content"]} for m in row["messages"])
    else:
        messages.append({"role": "user", "content": row.get("prompt") or ""})
    body: dict[str, Any] = {"model": row.get("model") or "mock-reasoner", "messages": messages}
    params = row.get("params") or {}
    body.update((k, params[k]) for k in _PARAMS if params.get(k) is not None)
    return Planned(at, row["account_id"], campaign, headers, body)


def write_history(history: pa.Table, folder: Path) -> int:
    """Write ``history`` to the spool in ``folder`` as the gateway would have."""
    writer = SpoolWriter(folder, fsync="never")
    try:
        for row in history.to_pylist():
            record = {k: v for k, v in row.items() if v is not None}
            ts = record["ts"]
            record["ts"] = int(ts.timestamp() * 1000) if isinstance(ts, datetime) else ts
            writer.append(record)
    finally:
        writer.close()
    return int(history.num_rows)
