"""Indicators from a detection run: what a provider can safely share about
the campaigns it acted on.

Only campaigns with enforced members are shared, and only values that those
members dominate locally: a network, client, wrapper, e-mail domain or prompt
is exported only when at least ``dominance`` of the accounts behind it are
members of the campaign. A carrier NAT, a popular SDK or a viral prompt shared
with ordinary customers is therefore never exported, and nothing tied to a
customer outside the campaign leaves the provider. Single IP addresses are
never exported, only their /24 (IPv4) or /48 (IPv6) network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa

from distillguard.engine.detect import Detection
from distillguard.engine.state import DetectionState
from distillguard.exchange.keys import KeyRing
from distillguard.exchange.model import CampaignIntel, Indicator, Kind
from distillguard.signals.text import analyze_prompts


@dataclass(frozen=True, slots=True)
class DeriveOptions:
    """What to share. ``dominance``: the least share of a value's accounts that
    must be campaign members; ``ttl``: how long indicators stay valid."""

    min_campaign_score: float = 0.6
    dominance: float = 0.8
    max_prompts: int = 2000
    chunk: int = 64
    ttl: timedelta = timedelta(days=30)
    min_enforced_share: float = 0.5


@dataclass(frozen=True, slots=True)
class Derived:
    campaigns: list[CampaignIntel]
    indicators: list[Indicator]


def derive(
    detection: Detection,
    state: DetectionState,
    keys: KeyRing,
    options: DeriveOptions | None = None,
    now: datetime | None = None,
) -> Derived:
    """Campaign descriptions and indicators for the campaigns ``detection``
    enforced against (at least ``min_enforced_share`` of members enforced)."""
    opt = options or DeriveOptions()
    now = now or datetime.fromtimestamp(detection.now, UTC)
    campaigns: list[CampaignIntel] = []
    indicators: list[Indicator] = []
    for c in detection.scores.campaigns:
        enforced = [a for a in c.accounts if detection.actions[a].enforced]
        if c.score < opt.min_campaign_score or len(enforced) < opt.min_enforced_share * len(
            c.accounts
        ):
            continue
        intel = _describe(state, c.campaign_id, enforced, round(100 * c.score))
        campaigns.append(intel)
        indicators.extend(_indicators(state, keys, intel, enforced, opt, now))
    return Derived(campaigns, indicators)


def describe_accounts(
    state: DetectionState,
    keys: KeyRing,
    local_id: str,
    accounts: Sequence[str],
    confidence: int,
    options: DeriveOptions | None = None,
    now: datetime | None = None,
) -> Derived:
    """Campaign description and indicators for a group of accounts an
    analyst confirmed as one operation (``derive`` does this for detected
    campaigns)."""
    opt = options or DeriveOptions()
    now = now or datetime.fromtimestamp(state.now, UTC)
    intel = _describe(state, local_id, accounts, confidence)
    return Derived([intel], _indicators(state, keys, intel, accounts, opt, now))


def _members(state: DetectionState, accounts: Sequence[str]) -> None:
    state.con.register("_xm", pa.table({"account_id": pa.array(list(accounts), pa.string())}))


def _dominated(state: DetectionState, family: str, dominance: float) -> list[tuple[str, int]]:
    """Keys of ``family`` whose accounts are mostly members: (key, requests)."""
    rows = state.con.execute(
        """
        SELECT a.key, sum(a.n) AS n, count(*) AS members, any_value(p.n_accounts) AS total
        FROM acct_key a JOIN _xm USING (account_id)
        JOIN key_pop p ON p.family = a.family AND p.key = a.key
        WHERE a.family = ? GROUP BY a.key
        HAVING count(*) >= ? * any_value(p.n_accounts)
        ORDER BY n DESC, a.key
        """,
        [family, dominance],
    ).fetchall()
    return [(str(k), int(n)) for k, n, _, _ in rows]


def _describe(
    state: DetectionState, local_id: str, members: Sequence[str], confidence: int
) -> CampaignIntel:
    _members(state, members)
    first, last, n, elicit = state.con.execute(
        "SELECT min(first_ts), max(last_ts), sum(n), sum(n_elicit) FROM acct JOIN _xm USING "
        "(account_id)"
    ).fetchall()[0]
    areas = dict(
        state.con.execute(
            "SELECT key, sum(n) FROM acct_key JOIN _xm USING (account_id) "
            "WHERE family = 'area' GROUP BY key"
        ).fetchall()
    )
    hours = dict(
        state.con.execute(
            "SELECT CAST(key AS INTEGER), sum(n) FROM acct_key JOIN _xm USING (account_id) "
            "WHERE family = 'hour' GROUP BY ALL"
        ).fetchall()
    )
    active = state.con.execute(
        "SELECT count(*) FROM acct_key JOIN _xm USING (account_id) WHERE family = 'ehour'"
    ).fetchall()[0]
    total = max(int(n or 0), 1)
    hour_profile = [round(hours.get(h, 0) / total, 4) for h in range(24)]
    capability = {str(k): round(v / total, 4) for k, v in sorted(areas.items()) if k}
    capability["elicit"] = round(float(elicit or 0) / total, 4)
    timing: dict[str, float | list[float]] = {
        "hour_of_day": hour_profile,
        "requests_per_account_hour": round(total / max(int(active[0] if active else 1), 1), 2),
        "active_hours_of_day": float(sum(1 for x in hour_profile if x > 0.01)),
    }
    state.con.unregister("_xm")
    return CampaignIntel(
        local_id=local_id,
        name="",
        first_seen=datetime.fromtimestamp(float(first or 0.0), UTC),
        last_seen=datetime.fromtimestamp(float(last or 0.0), UTC),
        confidence=confidence,
        accounts=len(members),
        requests=int(n or 0),
        capability=capability,
        timing=timing,
    )


def _indicators(
    state: DetectionState,
    keys: KeyRing,
    intel: CampaignIntel,
    members: Sequence[str],
    opt: DeriveOptions,
    now: datetime,
) -> list[Indicator]:
    _members(state, members)
    try:
        clear = _clear_values(state, opt.dominance)
        keyed = _keyed_values(state, keys, opt)
    finally:
        state.con.unregister("_xm")
    out: list[Indicator] = []
    key_id = keys.active.key_id
    for kind, values in [*clear, *keyed]:
        if not values:
            continue
        for chunk, start in enumerate(range(0, len(values), opt.chunk)):
            out.append(
                Indicator(
                    campaign=intel.local_id,
                    kind=kind,
                    values=tuple(values[start : start + opt.chunk]),
                    confidence=intel.confidence,
                    valid_from=now,
                    valid_until=now + opt.ttl,
                    key_id=key_id if kind.keyed else None,
                    chunk=chunk,
                )
            )
    return out


def _clear_values(state: DetectionState, dominance: float) -> list[tuple[Kind, list[str]]]:
    nets = [k for k, _ in _dominated(state, "net", dominance)]
    asns = [k for k, _ in _dominated(state, "asn", dominance) if k.isdigit()]
    ja4: set[str] = set()
    agents: set[str] = set()
    for key, _ in _dominated(state, "client", dominance):
        ua, _, tls = key.partition(" | ")
        if tls:
            ja4.add(tls)
        elif ua:
            agents.add(ua)
    return [
        (Kind.CIDR, sorted(nets)),
        (Kind.ASN, sorted(asns)),
        (Kind.JA4, sorted(ja4)),
        (Kind.USER_AGENT, sorted(agents)),
    ]


def _keyed_values(
    state: DetectionState, keys: KeyRing, opt: DeriveOptions
) -> list[tuple[Kind, list[str]]]:
    key = keys.active
    payments = [k for k, _ in _dominated(state, "payment", opt.dominance)]
    domains = [k for k, _ in _dominated(state, "email", opt.dominance)]
    wrappers = [int(k) for k, _ in _dominated(state, "wrapper", opt.dominance)]
    prompts = [int(k) for k, _ in _dominated(state, "prompt", opt.dominance)][: opt.max_prompts]
    texts = [t for t in (state.prompts.sample(h) for h in prompts) if t]
    bands = np.zeros(0, dtype=np.uint64)
    if texts:
        flat = analyze_prompts(texts).column("bands").combine_chunks().flatten().to_numpy()
        bands = np.unique(np.asarray(flat, dtype=np.uint64))
        bands = bands[bands != 0]
    return [
        (Kind.PAYMENT, _hex(key.hasher(Kind.PAYMENT).text(sorted(payments)))),
        (Kind.EMAIL_DOMAIN, _hex(key.hasher(Kind.EMAIL_DOMAIN).text(sorted(domains)))),
        (Kind.WRAPPER, _hex(key.hasher(Kind.WRAPPER).u64(sorted(wrappers)))),
        (Kind.PROMPT_BAND, _hex(key.hasher(Kind.PROMPT_BAND).u64(bands))),
    ]


def _hex(values: np.ndarray) -> list[str]:
    return sorted(f"{int(v):016x}" for v in values)


__all__ = ["DeriveOptions", "Derived", "derive", "describe_accounts"]
