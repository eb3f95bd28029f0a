"""Trust: how much imported values count, and when they may enforce.

For every imported value (a CIDR, a keyed band hash, …) the support of each
peer that published it, or agreed with it in an opinion or a "seen here too"
sighting, is

    weight = trust(peer) × confidence / 100 × 0.5 ** (age / half-life)

and the value's support is the noisy-or of its peers' weights. Expired and
revoked indicators count for nothing. An indicator is DISPUTED when any peer
other than its publisher, or this provider itself, disagrees with it (an
opinion below neutral, or a false-positive sighting); a disputed value's
support is multiplied by ``dispute_factor`` and it never counts as
corroborated. A value is *corroborated* when at least ``min_peers``
independent peers (each a distinct signing identity, each weighing at least
``min_peer_weight``) stand behind it and none disputes it: the only way
imported evidence alone may lead to enforcement.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson

from distillguard.exchange.config import ExchangeConfig
from distillguard.exchange.model import Kind
from distillguard.exchange.store import ExchangeStore

SELF = "self"


@dataclass(slots=True)
class ValueSupport:
    """The aggregate behind one imported value."""

    support: float
    peers: frozenset[str]
    disputed: bool
    corroborated: bool
    indicators: tuple[str, ...]
    campaigns: tuple[str, ...] = ()


@dataclass(slots=True)
class TrustView:
    """Imported values by (kind, key id, value), with their support, and
    per kind an index for matching (built once: the view does not change)."""

    values: dict[tuple[Kind, str | None, str], ValueSupport] = field(default_factory=dict)
    publishers: dict[str, str] = field(default_factory=dict)  # indicator id -> peer
    _kinds: dict[Kind, dict[tuple[str | None, str], ValueSupport]] | None = None

    def of_kind(self, kind: Kind) -> dict[tuple[str | None, str], ValueSupport]:
        """``(key id, value) -> support`` of one kind."""
        if self._kinds is None:
            kinds: dict[Kind, dict[tuple[str | None, str], ValueSupport]] = defaultdict(dict)
            for (kd, k, v), s in self.values.items():
                kinds[kd][(k, v)] = s
            self._kinds = dict(kinds)
        return self._kinds.get(kind, {})

    def without(self, values: Iterable[str]) -> TrustView:
        """This view without some values (a local allowlist)."""
        drop = set(values)
        if not drop:
            return self
        kept = {k: s for k, s in self.values.items() if k[2] not in drop}
        return TrustView(kept, self.publishers)


def trust_view(store: ExchangeStore, cfg: ExchangeConfig, now: float | None = None) -> TrustView:
    """Aggregate every live imported indicator (see the module docstring)."""
    now = time.time() if now is None else now
    trust = {p.name: p.trust for p in cfg.peers}
    half_life = cfg.half_life_days * 86400.0
    rows = store.query(
        "SELECT i.id, i.peer, i.confidence, i.valid_from, v.kind, v.key_id, v.value, i.campaign "
        "FROM indicator i JOIN indicator_value v ON v.indicator = i.id "
        "WHERE i.revoked = 0 AND (i.valid_until IS NULL OR i.valid_until > ?)",
        (now,),
    )
    backers = _backers(store, cfg, trust)
    disputed = _disputed(store)
    weights: dict[tuple[Kind, str | None, str], dict[str, float]] = defaultdict(dict)
    inds: dict[tuple[Kind, str | None, str], list[str]] = defaultdict(list)
    camps: dict[tuple[Kind, str | None, str], set[str]] = defaultdict(set)
    view = TrustView()
    for iid, peer, conf, valid_from, kind, key_id, value, campaign in rows:
        decay = 0.5 ** (max(now - float(valid_from), 0.0) / half_life)
        base = float(conf) / 100.0 * decay
        k = (Kind(kind), key_id, str(value))
        w = weights[k]
        w[peer] = max(w.get(peer, 0.0), trust.get(peer, 0.0) * base)
        for other, strength in backers.get(iid, {}).items():
            if other != peer:
                w[other] = max(w.get(other, 0.0), strength * base)
        inds[k].append(iid)
        if campaign:
            camps[k].add(campaign)
        view.publishers[iid] = peer
    k_min, w_min = cfg.corroboration.min_peers, cfg.corroboration.min_peer_weight
    for k, w in weights.items():
        is_disputed = any(i in disputed for i in inds[k])
        support = 1.0 - math.prod(1.0 - x for x in w.values())
        strong = frozenset(p for p, x in w.items() if x >= w_min)
        if is_disputed:
            support *= cfg.dispute_factor
        view.values[k] = ValueSupport(
            round(support, 4),
            strong,
            is_disputed,
            not is_disputed and len(strong) >= k_min,
            tuple(inds[k]),
            tuple(sorted(camps[k])),
        )
    return view


def _backers(
    store: ExchangeStore, cfg: ExchangeConfig, trust: dict[str, float]
) -> dict[str, dict[str, float]]:
    """Indicator id -> {peer: strength} from agreeing opinions and sightings."""
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for peer, support, refs in store.query(
        "SELECT peer, support, refs FROM opinion WHERE support > 0"
    ):
        for ref in orjson.loads(refs):
            out[ref][peer] = max(out[ref].get(peer, 0.0), trust.get(peer, 0.0) * float(support))
    for peer, ref in store.query(
        "SELECT peer, ref FROM sighting WHERE false_positive = 0 AND count > 0"
    ):
        out[ref][peer] = max(out[ref].get(peer, 0.0), trust.get(peer, 0.0))
    return out


def _disputed(store: ExchangeStore) -> set[str]:
    """Indicators some peer other than the publisher, or we, disagree with."""
    publisher = dict(store.query("SELECT id, peer FROM indicator"))
    out: set[str] = set()
    for peer, refs in store.query("SELECT peer, refs FROM opinion WHERE support < 0"):
        out |= {
            r for r in orjson.loads(refs) if publisher.get(r) not in (None, peer) or peer == SELF
        }
    for peer, ref in store.query("SELECT peer, ref FROM sighting WHERE false_positive = 1"):
        if publisher.get(ref) not in (None, peer) or peer == SELF:
            out.add(ref)
    return out
