"""The in-memory index an enforcer checks every request against.

Lookups are one dict probe per scope the request carries, plus a walk up a radix
tree for the CIDRs that contain the client's address (every containing block
matches, not only the longest). Expiry is honoured at check time, so a decision
stops applying at its ``until`` even before the deletion reaches the index.

>>> m = DecisionMatcher()
>>> m.apply([Decision(type="block", scope="cidr", value="203.0.113.0/24", origin="analyst")])
>>> m.check(RequestContext(account_id="acct_1", ip="203.0.113.9")).action
<DecisionType.BLOCK: 'block'>
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import pytricia

from distillguard.decisions.model import Decision, DecisionType, Scope, ThrottleParams, utcnow
from distillguard.decisions.policy import Allowlist, Policies, entity_key, ip_key

__all__ = ["DecisionMatcher", "RequestContext", "Verdict"]

# Scopes looked up by exact value; CIDRs go to the radix tree.
_KEYED = (Scope.ACCOUNT, Scope.API_KEY, Scope.IP, Scope.ASN, Scope.COUNTRY, Scope.ENTITY)


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What an enforcer knows about one request. Unknown fields stay ``None``;
    the matcher looks the IP's country and ASN up itself when a decision needs them."""

    account_id: str | None = None
    api_key: str | None = None
    ip: str | None = None
    country: str | None = None
    asn: int | None = None
    entity: str | None = None
    declared_country: str | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one check.

    ``action`` is the strongest enforced (not simulated) decision type, ``None``
    to allow; ``throttle`` the tightest of the matching enforced throttles;
    ``matched`` every decision that matched, simulated ones included, for the log.
    """

    action: DecisionType | None
    decision: Decision | None
    throttle: ThrottleParams | None
    matched: tuple[Decision, ...]
    allowlisted: bool = False

    @property
    def allowed(self) -> bool:
        """Whether the request may go on (possibly throttled or degraded)."""
        return self.action is None or not self.action.denies


ALLOW = Verdict(action=None, decision=None, throttle=None, matched=())


@dataclass(slots=True)
class _Index:
    by_id: dict[str, Decision] = field(default_factory=dict)
    keyed: dict[Scope, dict[str, tuple[Decision, ...]]] = field(
        default_factory=lambda: {s: {} for s in _KEYED}
    )
    tree: pytricia.PyTricia = field(default_factory=lambda: pytricia.PyTricia(128))

    def add(self, d: Decision) -> None:
        if d.id in self.by_id:
            self.remove(d.id)
        self.by_id[d.id] = d
        if d.scope is Scope.CIDR:
            self.tree[d.value] = (*self.tree.get(d.value, ()), d)
        else:
            bucket = self.keyed[d.scope]
            key = _key(d)
            bucket[key] = (*bucket.get(key, ()), d)

    def remove(self, id_: str) -> None:
        d = self.by_id.pop(id_, None)
        if d is None:
            return
        if d.scope is Scope.CIDR:
            rest = tuple(x for x in self.tree.get(d.value, ()) if x.id != id_)
            if rest:
                self.tree[d.value] = rest
            else:
                self.tree.delete(d.value)
        else:
            bucket = self.keyed[d.scope]
            key = _key(d)
            rest = tuple(x for x in bucket.get(key, ()) if x.id != id_)
            if rest:
                bucket[key] = rest
            else:
                bucket.pop(key, None)


def _key(d: Decision) -> str:
    return entity_key(d.value) if d.scope is Scope.ENTITY else d.value


@lru_cache(maxsize=65536)
def _ip_info(ip: str) -> tuple[str | None, int | None]:
    from distillguard.events.enrich import lookup_ip

    info = lookup_ip(ip)
    return (None, None) if info is None else (info.country, info.asn)


class DecisionMatcher:
    """In-memory, thread-safe index of active decisions for enforcement."""

    def __init__(
        self, *, allowlist: Allowlist | None = None, policies: Policies | None = None
    ) -> None:
        self._allowlist = allowlist if allowlist else None
        self._policies = policies if policies else None
        self._index = _Index()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._index.by_id)

    def apply(self, new: Iterable[Decision] = (), deleted: Iterable[str] = ()) -> None:
        """Add or replace ``new`` decisions and drop ``deleted`` ones, by id."""
        with self._lock:
            idx = self._index
            for id_ in deleted:
                idx.remove(id_)
            for d in new:
                idx.add(d)

    def replace(self, decisions: Iterable[Decision]) -> None:
        """Swap the whole index for ``decisions`` (a start-up snapshot)."""
        idx = _Index()
        for d in decisions:
            idx.add(d)
        with self._lock:
            self._index = idx

    def purge(self, now: datetime | None = None) -> int:
        """Drop the decisions that have expired; returns how many."""
        now = now or utcnow()
        with self._lock:
            gone = [d.id for d in self._index.by_id.values() if not d.active(now)]
            for id_ in gone:
                self._index.remove(id_)
        return len(gone)

    def decisions(self) -> list[Decision]:
        """A copy of every decision held."""
        with self._lock:
            return list(self._index.by_id.values())

    def check(self, ctx: RequestContext, now: datetime | None = None) -> Verdict:
        """The verdict for one request."""
        now = now or utcnow()
        ip = ip_key(ctx.ip) if ctx.ip else None
        country, asn = self._network(ctx, ip)
        matched = self._lookup(ctx, ip, country, asn, now)
        if self._policies is not None:
            matched += self._policies.matches(
                country=country, declared_country=ctx.declared_country, entity=ctx.entity
            )
        allowlisted = self._allowlist is not None and self._allowlist.matches(
            account_id=ctx.account_id, api_key=ctx.api_key, entity=ctx.entity, ip=ip
        )
        if not matched:
            return Verdict(None, None, None, (), allowlisted) if allowlisted else ALLOW
        if allowlisted:
            return Verdict(None, None, None, tuple(matched), True)
        return _verdict(tuple(matched))

    def _network(self, ctx: RequestContext, ip: str | None) -> tuple[str | None, int | None]:
        country, asn = ctx.country, ctx.asn
        if ip is None or (country is not None and asn is not None):
            return country, asn
        keyed = self._index.keyed
        wants_country = country is None and (
            bool(keyed[Scope.COUNTRY])
            or (self._policies is not None and self._policies.needs_ip_country)
        )
        wants_asn = asn is None and bool(keyed[Scope.ASN])
        if wants_country or wants_asn:
            found_country, found_asn = _ip_info(ip)
            country = country if country is not None else found_country
            asn = asn if asn is not None else found_asn
        return country, asn

    def _lookup(
        self,
        ctx: RequestContext,
        ip: str | None,
        country: str | None,
        asn: int | None,
        now: datetime,
    ) -> list[Decision]:
        probes = (
            (Scope.ACCOUNT, ctx.account_id),
            (Scope.API_KEY, ctx.api_key),
            (Scope.IP, ip),
            (Scope.ASN, None if asn is None else str(asn)),
            (Scope.COUNTRY, None if country is None else country.upper()),
            (Scope.ENTITY, None if ctx.entity is None else entity_key(ctx.entity)),
        )
        found: list[Decision] = []
        with self._lock:
            idx = self._index
            for scope, key in probes:
                if key is not None and (bucket := idx.keyed[scope].get(key)) is not None:
                    found.extend(bucket)
            if ip is not None:  # (len() of a PyTricia walks the whole tree)
                prefix = idx.tree.get_key(ip)
                while prefix is not None:
                    found.extend(idx.tree[prefix])
                    prefix = idx.tree.parent(prefix)
        return [d for d in found if d.until is None or d.until > now]


def _verdict(matched: tuple[Decision, ...]) -> Verdict:
    best: Decision | None = None
    throttle: ThrottleParams | None = None
    for d in matched:
        if d.simulated:
            continue
        if best is None or d.type.rank > best.type.rank:
            best = d
        if d.type is DecisionType.THROTTLE and d.params is not None:
            throttle = d.params if throttle is None else throttle.tighten(d.params)
    if best is None:
        return Verdict(None, None, None, matched)
    return Verdict(best.type, best, throttle, matched)
