"""Fuse findings into account and campaign scores with readable reasons.

Accounts first: per evidence family the strongest account-level finding, then
a noisy-or in which one family alone reaches at most ``SINGLE_FAMILY_CAP``.

Campaigns next: group findings (accounts sharing a payment instrument, a
wrapper, near-duplicate prompts, a network, a sign-up burst…) become a
bipartite graph of accounts and shared things; its Leiden communities are the
candidate campaigns. A campaign needs two things at once:

* **coordination** — its members are tied together, per family, by the share
  of members attached to a link of that family inside the community;
* **harvest** — the operation as a whole takes a lot: total volume, and the
  share of members with their own harvesting evidence (volume, automation,
  elicitation, capability concentration, model pivot).

The campaign score is the geometric mean of the two, so neither a tight but
harmless group (a classroom behind one NAT) nor a loose crowd of heavy users
(a viral prompt, a popular benchmark) becomes a campaign. Member accounts
inherit the campaign score, scaled by how firmly each is attached.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import igraph as ig

from distillguard._types import Family
from distillguard.detectors.base import Finding

#: How far one family of evidence can push an account's own score.
SINGLE_FAMILY_CAP = 0.6
#: Families whose links count as coordination inside a campaign.
LINK_FAMILIES = (Family.CONTENT, Family.INFRASTRUCTURE, Family.BEHAVIOUR)
#: A family counts as present in a campaign above this member coverage.
FAMILY_PRESENT = 0.3


@dataclass(slots=True)
class AccountScore:
    account_id: str
    score: float = 0.0
    own_score: float = 0.0
    families: set[Family] = field(default_factory=set)
    campaign_id: str | None = None
    campaign_score: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Campaign:
    campaign_id: str
    accounts: list[str]
    score: float
    coordination: float
    harvest: float
    families: dict[Family, float]
    requests: int
    first_seen: float
    last_seen: float
    signals: list[str]
    member_families: dict[str, set[Family]] = field(default_factory=dict)


@dataclass(slots=True)
class ScoreResult:
    accounts: dict[str, AccountScore]
    campaigns: list[Campaign]


def fuse_families(family_scores: Iterable[float]) -> float:
    """Noisy-or with each family capped: one family gives at most the cap."""
    miss = 1.0
    for s in family_scores:
        miss *= 1.0 - SINGLE_FAMILY_CAP * s
    return 1.0 - miss


def score(
    findings: Sequence[Finding],
    account_ids: Sequence[str],
    requests: dict[str, int],
    span: dict[str, tuple[float, float]],
    *,
    min_campaign_requests: float = 2000.0,
) -> ScoreResult:
    """Account and campaign scores from all findings of one detection run."""
    accounts = {a: AccountScore(a) for a in account_ids}
    own = [f for f in findings if not f.is_group]
    groups = [f for f in findings if f.is_group]
    _score_accounts(accounts, own)
    campaigns = _campaigns(accounts, groups, requests, span, min_campaign_requests)
    for c in campaigns:
        for a in c.accounts:
            acc = accounts[a]
            attach = _attachment(acc, c)
            inherited = c.score * attach
            acc.campaign_id = c.campaign_id
            acc.campaign_score = c.score
            acc.families |= {f for f, cov in c.families.items() if cov >= FAMILY_PRESENT}
            if inherited > acc.score:
                acc.score = inherited
            acc.reasons.insert(
                0,
                f"member of campaign {c.campaign_id} ({len(c.accounts)} accounts, "
                f"score {c.score:.2f}): " + "; ".join(c.signals[:3]),
            )
    for acc in accounts.values():
        acc.score = round(min(max(acc.score, 0.0), 1.0), 4)
    return ScoreResult(accounts, campaigns)


def _score_accounts(accounts: dict[str, AccountScore], own: Sequence[Finding]) -> None:
    for f in own:
        acc = accounts.get(f.accounts[0])
        if acc is not None:
            acc.findings.append(f)
    for acc in accounts.values():
        best: dict[Family, float] = defaultdict(float)
        for f in acc.findings:
            best[f.family] = max(best[f.family], f.score)
        acc.own_score = fuse_families(best.values())
        acc.score = acc.own_score
        acc.families = {fam for fam, s in best.items() if s >= 0.5}
        acc.reasons = [f.reason for f in sorted(acc.findings, key=lambda f: -f.score)[:4]]


def _campaigns(
    accounts: dict[str, AccountScore],
    groups: Sequence[Finding],
    requests: dict[str, int],
    span: dict[str, tuple[float, float]],
    min_campaign_requests: float,
) -> list[Campaign]:
    if not groups:
        return []
    names: list[str] = []
    index: dict[str, int] = {}
    pair_weight: dict[tuple[int, int], float] = defaultdict(float)
    member_links: dict[int, list[int]] = defaultdict(list)
    for k, f in enumerate(groups):
        members = sorted(a for a in f.accounts if a in accounts)
        if len(members) < 2:
            continue
        ids = []
        for a in members:
            i = index.get(a)
            if i is None:
                i = index[a] = len(names)
                names.append(a)
            ids.append(i)
            member_links[i].append(k)
        w = f.score / max(1.0, math.log2(len(ids)))
        for i, j in _pairs(ids, f.link or str(k)):
            pair_weight[(i, j) if i < j else (j, i)] += w
    graph = ig.Graph(n=len(names), edges=list(pair_weight), directed=False)
    graph.es["weight"] = list(pair_weight.values())
    random.seed(0)
    parts = graph.community_leiden(
        objective_function="modularity", weights="weight", n_iterations=-1
    )
    out = []
    for members in parts:
        if len(members) < 2:
            continue
        accs = sorted(names[i] for i in members)
        links = [groups[k] for k in sorted({k for i in members for k in member_links[i]})]
        c = _campaign(accs, links, accounts, requests, span, min_campaign_requests)
        if c is not None:
            out.append(c)
    out.sort(key=lambda c: -c.score)
    return out


def _pairs(
    ids: list[int], salt: str, dense: int = 40, degree: int = 8
) -> Iterable[tuple[int, int]]:
    """Edges that tie a group together: every pair for a small group; for a
    large one, each member to its next ``degree`` members in a fixed
    pseudo-random order, which keeps the group connected at linear cost."""
    if len(ids) <= dense:
        return ((ids[a], ids[b]) for a in range(len(ids)) for b in range(a + 1, len(ids)))
    order = sorted(
        ids, key=lambda i: hashlib.blake2b(f"{salt}:{i}".encode(), digest_size=8).digest()
    )
    n = len(order)
    return ((order[a], order[(a + d) % n]) for a in range(n) for d in range(1, degree + 1))


def _campaign(
    accs: list[str],
    links: list[Finding],
    accounts: dict[str, AccountScore],
    requests: dict[str, int],
    span: dict[str, tuple[float, float]],
    min_campaign_requests: float,
) -> Campaign | None:
    members = set(accs)
    attached: dict[Family, set[str]] = defaultdict(set)
    strength: dict[Family, list[float]] = defaultdict(list)
    by_detector: dict[str, list[Finding]] = defaultdict(list)
    member_families: dict[str, set[Family]] = defaultdict(set)
    for f in links:
        inside = members.intersection(f.accounts)
        if len(inside) < 2:
            continue
        attached[f.family] |= inside
        for a in inside:
            member_families[a].add(f.family)
        strength[f.family].append(f.score)
        by_detector[f.detector].append(f)
    families: dict[Family, float] = {}
    for fam in LINK_FAMILIES:
        cov = len(attached[fam]) / len(accs)
        families[fam] = cov * (max(strength[fam]) if strength[fam] else 0.0)
    coordination = 1.0 - math.prod(1.0 - 0.7 * s for s in families.values())
    # Harvest: the members' own evidence, and the operation's total volume.
    # Request-weighted: the share of the operation's traffic that shows
    # harvesting behaviour of its own.
    total = sum(requests.get(a, 0) for a in accs)
    intensity = sum(accounts[a].own_score * requests.get(a, 0) for a in accs) / max(total, 1)
    volume = 1.0 / (
        1.0 + math.exp(-(math.log10(max(total, 1)) - math.log10(min_campaign_requests)) / 0.25)
    )
    harvest = 1.0 - (1.0 - 0.6 * volume) * (1.0 - 0.9 * intensity)
    # Own evidence also counts towards family presence.
    for fam in LINK_FAMILIES:
        share = sum(1 for a in accs if fam in accounts[a].families) / len(accs)
        families[fam] = max(families[fam], share)
    score = math.sqrt(max(coordination, 0.0) * max(harvest, 0.0))
    if score < 0.2:
        return None
    firsts = [span[a][0] for a in accs if a in span]
    lasts = [span[a][1] for a in accs if a in span]
    cid = "cmp_" + hashlib.sha1(accs[0].encode()).hexdigest()[:10]
    return Campaign(
        campaign_id=cid,
        accounts=accs,
        score=round(score, 4),
        coordination=round(coordination, 4),
        harvest=round(harvest, 4),
        families={k: round(v, 4) for k, v in families.items()},
        requests=total,
        first_seen=min(firsts) if firsts else 0.0,
        last_seen=max(lasts) if lasts else 0.0,
        signals=_signals(accs, by_detector, accounts, intensity, total),
        member_families=dict(member_families),
    )


def _signals(
    accs: list[str],
    by_detector: dict[str, list[Finding]],
    accounts: dict[str, AccountScore],
    intensity: float,
    total: int,
) -> list[str]:
    out = []
    for detector, fs in sorted(by_detector.items(), key=lambda kv: -len(kv[1])):
        linked = len(set().union(*(f.accounts for f in fs)) & set(accs))
        best = max(fs, key=lambda f: (f.score, len(f.accounts)))
        out.append(f"{detector}: {len(fs)} shared items link {linked} accounts, e.g. {best.reason}")
    own: dict[str, int] = defaultdict(int)
    for a in accs:
        for f in accounts[a].findings:
            if f.score >= 0.5:
                own[f.detector] += 1
    for detector, k in sorted(own.items(), key=lambda kv: -kv[1]):
        out.append(f"{detector}: {k} of {len(accs)} accounts")
    out.append(f"{total} requests in all; mean member evidence {intensity:.2f}")
    return out


def _attachment(acc: AccountScore, c: Campaign) -> float:
    """How firmly one account belongs to its campaign. Only links count here:
    an account's own harvesting evidence says what it does, not whom it works
    with, so a heavy legitimate user who happens to send the same benchmark
    as an operation is not pulled into it. Two families of links carry the
    campaign's score fully; one family carries less."""
    linked = c.member_families.get(acc.account_id, set())
    if len(linked) >= 2:
        return 1.0
    return 0.7 if linked else 0.5
