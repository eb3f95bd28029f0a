"""``ExchangeDetector``: what peers told us, as findings of family EXCHANGE.

An account is matched when its traffic or its account record carries
imported values: its networks, clients, wrappers, near-duplicate prompt
clusters, payment instrument or e-mail domain. Each kind of match weighs by
how specific it is (a payment instrument says more than an ASN), by the
share of the account's requests it covers, and by the value's support
across peers (see :mod:`distillguard.exchange.trust`). Findings say which
peers stand behind them and whether the evidence is corroborated by k of n
independent peers; scoring lets uncorroborated imported evidence raise a
score and send an account to review, never more on its own.

Allowlisted accounts and owning entities are never matched; their matches
are remembered as false positives, to go back to the publishers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from distillguard._types import Family
from distillguard.detectors._util import MIN_REPORTED
from distillguard.detectors.base import Detector, Finding
from distillguard.engine.state import DetectionContext
from distillguard.exchange.config import AllowlistConfig
from distillguard.exchange.keys import KeyRing
from distillguard.exchange.matching import LocalDigests, band_clusters
from distillguard.exchange.model import Kind
from distillguard.exchange.trust import TrustView, ValueSupport

#: How much one kind of match implicates an account on its own.
STRENGTH: dict[Kind, float] = {
    Kind.PAYMENT: 0.95,
    Kind.PROMPT_BAND: 0.85,
    Kind.WRAPPER: 0.8,
    Kind.CIDR: 0.6,
    Kind.EMAIL_DOMAIN: 0.5,
    Kind.JA4: 0.3,  # client libraries are shared by many honest customers
    Kind.USER_AGENT: 0.2,
    Kind.ASN: 0.2,
}
#: Accounts matching one peer campaign at least this strongly are tied together.
GROUP_MIN = 0.5
#: The most that matching prompts alone can weigh. Honest customers send the
#: same public problems an operation harvests (benchmarks, homework, viral
#: prompts): the same content says little about who sends it.
CONTENT_ONLY_CAP = 0.35
#: Kinds that identify the operator rather than what it asks or which client
#: library it uses. Only these tie accounts into the peer's campaign: content
#: and common clients are shared with honest customers, and local detectors
#: see the content already (counting it twice would make one fact two).
ACTOR_KINDS = frozenset({Kind.PAYMENT, Kind.EMAIL_DOMAIN, Kind.CIDR})
#: Share of an account's requests at which a traffic match counts in full.
FULL_COVERAGE = 0.5

# Clear kinds: incidence family and the part of its key that holds the value.
_CLEAR_SQL = {
    Kind.CIDR: ("net", "key"),
    Kind.ASN: ("asn", "key"),
    Kind.JA4: ("client", "split_part(key, ' | ', 2)"),
    Kind.USER_AGENT: ("client", "split_part(key, ' | ', 1)"),
}


@dataclass(slots=True)
class _Match:
    """One account's matches of one kind."""

    requests: int = 0
    support: float = 0.0
    corroborated: bool = False
    disputed: bool = False
    peers: set[str] = field(default_factory=set)
    indicators: set[str] = field(default_factory=set)
    campaigns: set[str] = field(default_factory=set)

    def add(self, n: int, s: ValueSupport) -> None:
        self.requests += n
        self.support = max(self.support, s.support)
        self.corroborated |= s.corroborated
        self.disputed |= s.disputed
        self.peers |= s.peers
        self.indicators.update(s.indicators[:4])
        self.campaigns.update(s.campaigns)


class ExchangeDetector(Detector):
    """Findings from imported indicators (see the module docstring)."""

    name = "exchange"
    family = Family.EXCHANGE
    reads_prompt_index = True  # imported prompt bands are matched against it

    def __init__(
        self,
        view: TrustView,
        keys: KeyRing,
        allowlist: AllowlistConfig | None = None,
    ) -> None:
        self.allowlist = allowlist or AllowlistConfig()
        self.view = view.without(self.allowlist.values)
        self.keys = keys
        self.digests = LocalDigests(keys)
        #: indicator id -> allowlisted accounts it matched (false positives).
        self.false_positives: dict[str, set[str]] = defaultdict(set)
        #: indicator id -> accounts it matched in the last run.
        self.matched: dict[str, set[str]] = defaultdict(set)
        #: account -> event time of the run that first matched it: how soon
        #: imported evidence reached each account.
        self.first_matched: dict[str, float] = {}

    def detect(self, ctx: DetectionContext) -> list[Finding]:
        matches: dict[str, dict[Kind, _Match]] = defaultdict(lambda: defaultdict(_Match))
        self._clear(ctx, matches)
        self._accounts(ctx, matches)
        self._wrappers(ctx, matches)
        self._bands(ctx, matches)
        return self._findings(ctx, matches)

    # -- matching -------------------------------------------------------------
    def _clear(self, ctx: DetectionContext, out: dict[str, dict[Kind, _Match]]) -> None:
        for kind, (family, expr) in _CLEAR_SQL.items():
            start, rows = self.view.rows(kind)
            if not rows.num_rows:
                continue
            wanted = pa.table(
                {"v": rows.column("value"), "r": pa.array(np.arange(start, start + rows.num_rows))}
            )
            ctx.con.register("_xv", wanted)
            try:
                hits = ctx.con.execute(
                    f"SELECT account_id, r, sum(n) FROM (SELECT account_id, {expr} AS v, n "
                    "FROM acct_key WHERE family = ?) JOIN _xv USING (v) GROUP BY ALL",
                    [family],
                ).fetchall()
            finally:
                ctx.con.unregister("_xv")
            for account, r, n in hits:
                out[account][kind].add(int(n), self.view.support(int(r)))

    def _accounts(self, ctx: DetectionContext, out: dict[str, dict[Kind, _Match]]) -> None:
        kinds = {Kind.PAYMENT: "payment_fingerprint", Kind.EMAIL_DOMAIN: "email_domain"}
        for kind, column in kinds.items():
            key_ids = self.view.key_ids(kind)
            if not key_ids:
                continue
            rows = ctx.con.execute(
                f"SELECT a.account_id, {column}, n FROM accounts a JOIN acct USING (account_id) "
                f"WHERE {column} IS NOT NULL AND {column} <> ''"
            ).fetchall()
            local = [str(r[1]) for r in rows]
            for key_id in key_ids:
                digests = self.digests.text(key_id, kind, local)
                keyed = np.fromiter((digests[v] for v in local), np.uint64, len(local))
                self._add(out, kind, rows, self.view.lookup(kind, key_id, keyed))

    def _wrappers(self, ctx: DetectionContext, out: dict[str, dict[Kind, _Match]]) -> None:
        key_ids = self.view.key_ids(Kind.WRAPPER)
        if not key_ids:
            return
        rows = ctx.con.execute(
            "SELECT account_id, CAST(key AS UBIGINT), n FROM acct_key WHERE family = 'wrapper'"
        ).fetchall()
        if not rows:
            return
        ids = np.asarray([r[1] for r in rows], dtype=np.uint64)
        for key_id in key_ids:
            keyed = self.digests.u64(key_id, Kind.WRAPPER, ids)
            self._add(out, Kind.WRAPPER, rows, self.view.lookup(Kind.WRAPPER, key_id, keyed))

    def _add(
        self,
        out: dict[str, dict[Kind, _Match]],
        kind: Kind,
        rows: list[tuple[Any, ...]],
        found: npt.NDArray[np.int64],
    ) -> None:
        """Add the local ``(account, value, n)`` rows whose value was found."""
        for i in np.flatnonzero(found >= 0).tolist():
            account, _, n = rows[i]
            out[account][kind].add(int(n), self.view.support(int(found[i])))

    def _bands(self, ctx: DetectionContext, out: dict[str, dict[Kind, _Match]]) -> None:
        for key_id in self.view.key_ids(Kind.PROMPT_BAND):
            wanted, _ = self.view.digests(Kind.PROMPT_BAND, key_id)
            clusters, hits = band_clusters(ctx, self.digests, key_id, wanted)
            if not len(clusters):
                continue
            # The best-supported matching band of each cluster.
            found = self.view.lookup(Kind.PROMPT_BAND, key_id, hits)
            order = np.lexsort((-self.view.supports[found], clusters))
            c, found = clusters[order], found[order]
            first = np.r_[True, c[1:] != c[:-1]]
            best = dict(zip(c[first].tolist(), found[first].tolist(), strict=True))
            ctx.con.register("_xc", pa.table({"key": pa.array([str(k) for k in best])}))
            try:
                rows = ctx.con.execute(
                    "SELECT account_id, key, n FROM acct_key JOIN _xc USING (key) "
                    "WHERE family = 'cluster'"
                ).fetchall()
            finally:
                ctx.con.unregister("_xc")
            for account, key, n in rows:
                out[account][Kind.PROMPT_BAND].add(int(n), self.view.support(best[int(key)]))

    # -- findings -------------------------------------------------------------
    def _findings(
        self, ctx: DetectionContext, matches: dict[str, dict[Kind, _Match]]
    ) -> list[Finding]:
        if not matches:
            return []
        info = ctx.sql(
            "SELECT a.account_id, a.n, acc.parent_entity FROM acct a "
            "LEFT JOIN accounts acc USING (account_id)"
        ).to_pydict()
        total = dict(zip(info["account_id"], info["n"], strict=True))
        entity = dict(zip(info["account_id"], info["parent_entity"], strict=True))
        allowed, entities = set(self.allowlist.accounts), set(self.allowlist.entities)
        self.matched.clear()
        out: list[Finding] = []
        groups: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for account in sorted(matches):
            kinds = matches[account]
            ids = set().union(*(m.indicators for m in kinds.values()))
            if account in allowed or entity.get(account) in entities:
                for i in ids:
                    self.false_positives[i].add(account)
                continue
            for i in ids:
                self.matched[i].add(account)
            self.first_matched.setdefault(account, ctx.now)
            f = self._finding(account, kinds, max(int(total.get(account) or 0), 1))
            if f is not None:
                out.append(f)
                if f.score >= GROUP_MIN and ACTOR_KINDS & set(kinds):
                    for c in set().union(*(m.campaigns for m in kinds.values())):
                        groups[c].append((account, f.score))
        return out + self._groups(groups)

    def _groups(self, groups: dict[str, list[tuple[str, float]]]) -> list[Finding]:
        """Accounts that match one peer's campaign are tied together: the
        operation the peer saw is one operation here too."""
        out = []
        for campaign, members in sorted(groups.items()):
            if len(members) < 2:
                continue
            accounts = tuple(sorted(a for a, _ in members))
            score = float(np.median([s for _, s in members]))
            out.append(
                self.finding(
                    accounts,
                    score,
                    f"{len(accounts)} accounts match indicators of one campaign a peer shared",
                    {"campaign": campaign},
                    link=f"exchange:{campaign}",
                )
            )
        return out

    def _finding(self, account: str, kinds: dict[Kind, _Match], n: int) -> Finding | None:
        scores: dict[Kind, float] = {}
        for kind, m in kinds.items():
            traffic = kind not in (Kind.PAYMENT, Kind.EMAIL_DOMAIN)
            coverage = min(1.0, m.requests / n / FULL_COVERAGE) if traffic else 1.0
            scores[kind] = STRENGTH[kind] * m.support * coverage
        score = 1.0 - float(np.prod([1.0 - s for s in scores.values()]))
        if set(kinds) <= {Kind.PROMPT_BAND}:
            score = min(score, CONTENT_ONLY_CAP)
        if score < MIN_REPORTED:
            return None
        strong = [k for k, s in scores.items() if s >= MIN_REPORTED / 2]
        peers = sorted(set().union(*(kinds[k].peers for k in strong)) or {"unknown"})
        # Corroborated when what independent peers agree on identifies the
        # operator (``ACTOR_KINDS``) strongly enough to tie the account on
        # its own. Content and client libraries are shared with honest
        # customers: a peer naming a customer who sends the same public
        # problems as an operation another peer reported, or uses the same
        # client library, does not vouch for the payment instrument it alone
        # names.
        agreed = [scores[k] for k in strong if kinds[k].corroborated and k in ACTOR_KINDS]
        corroborated = 1.0 - float(np.prod([1.0 - s for s in agreed])) >= GROUP_MIN and not any(
            kinds[k].disputed for k in strong
        )
        disputed = any(m.disputed for m in kinds.values())
        shares = {str(k): round(min(kinds[k].requests / n, 1.0), 3) for k in sorted(kinds)}
        reason = (
            f"matches indicators shared by {', '.join(peers)} "
            f"({', '.join(str(k) for k in sorted(strong, key=lambda k: -scores[k]))})"
            + ("; corroborated by independent peers" if corroborated else "")
            + ("; DISPUTED by a peer" if disputed else "")
        )
        evidence = {
            "peers": peers,
            "kinds": shares,
            "corroborated": corroborated,
            "disputed": disputed,
            "indicators": sorted(set().union(*(kinds[k].indicators for k in strong)))[:10],
        }
        return self.finding((account,), min(score, 1.0), reason, evidence)


def matched_accounts(detector: ExchangeDetector) -> Iterable[tuple[str, int]]:
    """(indicator id, accounts matched) of the last run."""
    return ((i, len(a)) for i, a in sorted(detector.matched.items()))
