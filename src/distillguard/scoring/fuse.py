"""Fuse findings into account and campaign scores with readable reasons.

Accounts first: per evidence family the strongest account-level finding, then
a noisy-or in which one family alone reaches at most ``SINGLE_FAMILY_CAP``.

Campaigns next: group findings (accounts sharing a payment instrument, a
wrapper, near-duplicate prompts, a network, a sign-up burst…) become a
bipartite graph of accounts and shared things; its Leiden communities are the
candidate campaigns. A campaign needs two things at once:

* **coordination** — its members are tied together, per family, by the share
  of members attached to a link of that family inside the community;
* **harvest** — the operation takes a lot: its core, the members tied by
  two families of links to other members of the core, shows harvesting
  evidence of its own (volume, automation, elicitation, capability
  concentration, model pivot) or a harvesting profile as a group, amplified
  by its volume. A core that falls into parts not tied to each other is
  measured part by part.

The campaign score is the geometric mean of the two, so neither a tight but
harmless group (a classroom behind one NAT) nor a loose crowd of heavy users
(a viral prompt, a popular benchmark) becomes a campaign. Member accounts
inherit the campaign score, scaled by how firmly each is attached: fully
for members of the core that take their share of its harvest, less for the
rest (a customer tied to the operation by coincidences and asking for no
more reasoning than the typical account).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import random
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import igraph as ig
import numpy as np

from distillguard._types import Family
from distillguard.detectors.base import Finding

#: How far one family of evidence can push an account's own score.
SINGLE_FAMILY_CAP = 0.6
#: Families whose links count as coordination inside a campaign. Imported
#: links (accounts matching one campaign a peer shared) count too, but never
#: alone: firm membership needs a second family, and enforcement evidence of
#: this provider's own (``profile._enforceable``).
LINK_FAMILIES = (Family.CONTENT, Family.INFRASTRUCTURE, Family.BEHAVIOUR, Family.EXCHANGE)
#: Links at least this strong can tie an account firmly to a campaign.
FIRM_LINK = 0.4
#: Links at least this strong can second a firm tie from another family, when
#: at least ``SECOND_INSIDE`` of the accounts they link are in the campaign.
SECOND_LINK = 0.2
SECOND_INSIDE = 2 / 3
#: Fellow members a firm tie needs (or all of them, in a smaller campaign).
FIRM_PARTNERS = 2
#: Own score from which a loosely attached member inherits more of its campaign.
LOOSE_OWN = 0.3
#: A member of a campaign's core takes part in its harvest when its own
#: traffic shows at least this share of what its part of the core takes
#: (``_bystanders``) ...
TAKES_PART = 0.5
#: ... its own profile read as if it had also sent this many requests like
#: the typical account's: a handful of requests is no evidence either way.
BENEFIT_OF_DOUBT = 5.0
#: Members of a part of a campaign's core that must take part in its harvest
#: for the part to hold its members firmly (``_held_loose``).
MIN_TAKERS = 2
#: Communities scoring below this are not campaigns.
MIN_SCORE = 0.2
#: A family counts as present in a campaign above this member coverage.
FAMILY_PRESENT = 0.3
#: Leiden passes over the account graph. Iterating to convergence gains
#: almost nothing (modularity 0.6213 against 0.6211 on the graph of five
#: million events) and costs four times as long there (20 s against 5 s),
#: more as the graph grows.
LEIDEN_ITERATIONS = 2
#: Groups up to this size tie every pair of their members; a larger group ties
#: each member to its next ``RING_DEGREE`` members in a fixed pseudo-random
#: order, which keeps it connected at linear cost.
DENSE_GROUP = 40
RING_DEGREE = 8
#: Edges handed to igraph at a time when the account graph is built.
GRAPH_CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class Usage:
    """What one account sent, as far as campaign scoring needs it."""

    requests: int
    first_ts: float = 0.0
    last_ts: float = 0.0
    elicit: float = 0.0  # requests asking for written-out reasoning
    harvest_area: float = 0.0  # requests in maths, code or reasoning
    reasoning_tokens: float = 0.0
    output_tokens: float = 0.0
    owner: str | None = None  # declared owning entity, if any
    #: the reasoning-token share the typical account gets from the same models
    reasoning_expected: float = 0.0
    #: requests that could return reasoning (to models whose ordinary requests
    #: get some, or whose norm is unknown); None: all of them
    reasoning_requests: float | None = None


@dataclass(slots=True)
class AccountScore:
    account_id: str
    score: float = 0.0
    own_score: float = 0.0
    families: set[Family] = field(default_factory=set)
    campaign_id: str | None = None
    campaign_score: float = 0.0
    firm: bool = False  # tied to fellow members by two families of links
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
    #: When the core falls into parts not tied to each other, what each
    #: core member's own part scores (``_campaign``); empty otherwise.
    part_scores: dict[str, float] = field(default_factory=dict)
    #: Core members whose own traffic shows little of their part's harvest
    #: (``_bystanders``): attached as loosely as members tied by one family.
    bystanders: frozenset[str] = frozenset()


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
    usage: Mapping[str, Usage],
    *,
    min_campaign_requests: float = 2000.0,
) -> ScoreResult:
    """Account and campaign scores from all findings of one detection run;
    ``usage`` holds every account seen."""
    accounts = {a: AccountScore(a) for a in usage}
    own = [f for f in findings if not f.is_group]
    groups = [f for f in findings if f.is_group]
    _score_accounts(accounts, own)
    population = _baseline(usage.values())
    campaigns = _campaigns(accounts, groups, usage, population, min_campaign_requests)
    for c in campaigns:
        present = {f for f, cov in c.families.items() if cov >= FAMILY_PRESENT}
        reason = (
            f"member of campaign {c.campaign_id} ({len(c.accounts)} accounts, "
            f"score {c.score:.2f}): " + "; ".join(c.signals[:3])
        )
        for a in c.accounts:
            acc = accounts[a]
            attach = _attachment(acc, c)
            acc.firm = attach >= 1.0
            inherited = c.part_scores.get(a, c.score) * attach
            acc.campaign_id = c.campaign_id
            acc.campaign_score = c.score
            # The campaign's families of evidence, and those that tie this
            # account to it.
            acc.families |= present
            acc.families |= c.member_families.get(a, set())
            if inherited > acc.score:
                acc.score = inherited
            acc.reasons.insert(0, reason)
            if a in c.bystanders:
                acc.reasons.insert(
                    1,
                    "tied to the campaign by two families of links, but its own traffic "
                    "shows little of the campaign's harvest: held as a loose member",
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
        if not acc.findings:
            continue  # the defaults: no score, no families, no reasons
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
    usage: Mapping[str, Usage],
    population: tuple[float, float, float],
    min_campaign_requests: float,
) -> list[Campaign]:
    if not groups:
        return []
    # Account ids in the order the accounts first appear.
    index: dict[str, int] = defaultdict(itertools.count().__next__)
    linked: list[int] = []  # the groups that tie two accounts or more
    group_sizes: list[int] = []
    arranged: list[int] = []  # their member ids, one group after another
    for k, f in enumerate(groups):
        members = [a for a in f.accounts if a in accounts]
        if len(members) < 2:
            continue
        members.sort()
        linked.append(k)
        ids = [index[a] for a in members]
        arranged += ids if len(ids) <= DENSE_GROUP else _shuffle(ids, f.link or str(k))
        group_sizes.append(len(ids))
    names = list(index)
    sizes = np.array(group_sizes, dtype=np.int64)
    flat = np.array(arranged, dtype=np.int64)
    scores = np.array([groups[k].score for k in linked], dtype=np.float64)
    graph = _graph(len(names), *_pair_weights(flat, sizes, scores, len(names)))
    random.seed(0)
    clustering = graph.community_leiden(
        objective_function="modularity", weights="weight", n_iterations=LEIDEN_ITERATIONS
    )
    # The communities only: the graph is let go before they are scored.
    parts: list[list[int]] = list(clustering)
    membership = clustering.membership
    del graph, clustering
    # The groups touching each community at two members or more, in order,
    # with their members inside it: the memberships sorted by (community,
    # group) once, instead of intersecting every group with every community.
    community = np.asarray(membership, dtype=np.int64)[flat]
    keys = community * len(groups) + np.repeat(np.array(linked, np.int64), sizes)
    order = np.argsort(keys, kind="stable")
    touch, start, times = np.unique(keys[order], return_index=True, return_counts=True)
    keep = times >= 2
    touch, start, times = touch[keep], start[keep], times[keep]
    bounds = np.searchsorted(touch // len(groups), np.arange(len(parts) + 1)).tolist()
    touched = (touch % len(groups)).tolist()
    inside_ids = flat[order].tolist()
    starts, ends = start.tolist(), (start + times).tolist()
    out = []
    for part, part_ids in enumerate(parts):
        if len(part_ids) < 2:
            continue
        accs = sorted(map(names.__getitem__, part_ids))
        ties = [
            (groups[touched[j]], set(map(names.__getitem__, inside_ids[starts[j] : ends[j]])))
            for j in range(bounds[part], bounds[part + 1])
        ]
        c = _campaign(accs, ties, accounts, usage, population, min_campaign_requests)
        if c is not None:
            out.append(c)
    out.sort(key=lambda c: -c.score)
    return out


def _shuffle(ids: list[int], salt: str) -> list[int]:
    """A large group's members in the fixed pseudo-random order ``_ties``
    links them in (a small group's come as they are)."""
    return sorted(
        ids, key=lambda i: hashlib.blake2b(f"{salt}:{i}".encode(), digest_size=8).digest()
    )


def _ties(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the pairs that tie an arranged group of ``n`` together:
    every pair in a small group; in a large one, each member and its next
    ``RING_DEGREE`` members, which keeps the group connected at linear cost."""
    if n <= DENSE_GROUP:
        return _every_pair(n)
    first = np.repeat(np.arange(n), RING_DEGREE)
    return first, (first + np.tile(np.arange(1, RING_DEGREE + 1), n)) % n


@functools.cache
def _every_pair(n: int) -> tuple[np.ndarray, np.ndarray]:
    first, second = np.triu_indices(n, 1)
    return first, second


def _graph(n: int, pairs: np.ndarray, weights: np.ndarray) -> ig.Graph:
    """The weighted account graph of ``n`` accounts and the ``pairs`` (2, m)
    that tie them. igraph reads the edges as tuples of ints; they are made
    ``GRAPH_CHUNK`` at a time as it reads them, since the whole list at once
    would cost about 120 bytes an edge (some 500 MB for the 4 million edges
    of a 5M-event scan), and it is as fast."""

    def edges() -> Iterator[tuple[int, int]]:
        for at in range(0, pairs.shape[1], GRAPH_CHUNK):
            part = pairs[:, at : at + GRAPH_CHUNK].tolist()
            yield from zip(part[0], part[1], strict=True)

    graph = ig.Graph(n=n, edges=edges(), directed=False)
    graph.es["weight"] = weights.tolist()
    return graph


def _pair_weights(
    flat: np.ndarray, sizes: np.ndarray, scores: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """The account graph of the groups (``flat`` holds their arranged member
    ids one group after another): each pair of accounts a group ties, in the
    order the pairs first appear, and its weight. A group gives each of its
    pairs its score over the log of its size (the more members, the less one
    pair says), and a pair's weights are added up group after group, so the
    sums are the same floats whichever way the pairs are found.

    Groups of one size are tied together in one step."""
    counts = np.where(sizes <= DENSE_GROUP, sizes * (sizes - 1) // 2, RING_DEGREE * sizes)
    at = np.cumsum(sizes) - sizes
    start = np.cumsum(counts) - counts
    ends = np.empty((2, int(counts.sum())), dtype=np.int64)
    weights = np.empty(ends.shape[1])
    for m in np.unique(sizes).tolist():
        g = np.flatnonzero(sizes == m)
        first, second = _ties(m)
        pos = start[g, None] + np.arange(len(first))
        ends[0, pos] = flat[at[g, None] + first]
        ends[1, pos] = flat[at[g, None] + second]
        weights[pos] = (scores[g] / max(1.0, math.log2(m)))[:, None]
    keys = np.minimum(ends[0], ends[1]) * n + np.maximum(ends[0], ends[1])
    _, seen, which = np.unique(keys, return_index=True, return_inverse=True)
    first_seen = np.zeros(len(keys), dtype=bool)
    first_seen[seen] = True
    rank = (np.cumsum(first_seen) - 1)[seen]
    summed = np.bincount(rank[which], weights=weights, minlength=len(seen))
    pairs = keys[first_seen]
    return np.stack([pairs // n, pairs % n]), summed


def _campaign(
    accs: list[str],
    ties: list[tuple[Finding, set[str]]],
    accounts: dict[str, AccountScore],
    usage: Mapping[str, Usage],
    population: tuple[float, float, float],
    min_campaign_requests: float,
) -> Campaign | None:
    """The campaign of one community ``accs``, if it is one; ``ties`` are the
    links tying two of its members or more, each with its members inside."""
    member_best: dict[Family, dict[str, float]] = defaultdict(dict)
    for f, inside in ties:
        best = member_best[f.family]
        s = f.score
        for a in inside:
            if s > best.get(a, 0.0):
                best[a] = s
    # Per family: the mean over members of the strongest link tying each one
    # to another member (0 for members it does not tie). An exact sum: the
    # members were met in set order, which Python's string hashing changes
    # from one process to the next, and a plain sum's last digit with it.
    families: dict[Family, float] = {
        fam: math.fsum(member_best[fam].values()) / len(accs) for fam in LINK_FAMILIES
    }
    coordination = 1.0 - math.prod(1.0 - s for s in families.values())
    if coordination < MIN_SCORE**2:
        return None  # no harvest can make up for it
    # Harvest: what the operation takes, as a whole and member by member.
    # ``intensity`` is the request-weighted share of members' own harvesting
    # evidence; ``profile`` compares their combined traffic with the
    # population's (reasoning elicited, maths/code/reasoning, reasoning
    # tokens) — members of a swarm can each look ordinary while the group
    # sweeps a capability. Both are amplified by volume. A crowd of ordinary
    # users has plenty of volume but no harvest.
    #
    # All three are measured on the campaign's core: the members tied to it
    # by two families of links (``_member_families``), the accounts its
    # score can act on. The harvesting that justifies acting on them must be
    # theirs: a tight group that takes nothing (a classroom behind one
    # network, with its shared assignments) must not borrow the harvest, nor
    # the volume, of heavy accounts that the community gathered around it by
    # weaker ties (an evaluation company sending the same benchmark
    # problems). And a community can hold several such groups, tied within
    # but not to each other (a class of students next to a grading
    # operation): each part of the core is measured on its own, the campaign
    # scores as its most harvesting part, and a member of another part
    # inherits what its own part earns.
    member_families = _member_families(accs, ties, usage)
    core = _core(accs, ties, accounts, usage, member_families)
    parts = _core_parts(core, ties) if len(core) >= 2 else [accs]
    in_core = set(core)
    loose: list[int] = []
    if len(core) >= 2:
        # The looser members that lend the core their volume (``_harvest``):
        # those tied to the campaign by a link strong enough to hold a member.
        lending = {a for best in member_best.values() for a, s in best.items() if s >= FIRM_LINK}
        loose = [usage[a].requests for a in accs if a not in in_core and a in lending]
    measured = [
        _harvest(part, loose, accounts, usage, population, min_campaign_requests) for part in parts
    ]
    top = max(range(len(parts)), key=lambda i: measured[i].harvest)
    harvest = measured[top].harvest
    part_scores: dict[str, float] = {}
    if len(parts) > 1:
        for part, m in zip(parts, measured, strict=True):
            for a in part:
                part_scores[a] = round(math.sqrt(coordination * m.harvest), 4)
    bystanders = (
        frozenset(
            a
            for part, m in zip(parts, measured, strict=True)
            for a in _held_loose(part, list(_bystanders(part, m, accounts, usage, population)))
        )
        if len(core) >= 2
        else frozenset()
    )
    # Own evidence also counts towards family presence.
    owned = Counter(fam for a in accs for fam in accounts[a].families)
    for fam in LINK_FAMILIES:
        families[fam] = max(families[fam], owned[fam] / len(accs))
    score = math.sqrt(max(coordination, 0.0) * max(harvest, 0.0))
    if score < MIN_SCORE:
        return None
    use = [usage[a] for a in accs]
    total = sum(u.requests for u in use)
    by_detector: dict[str, list[tuple[Finding, set[str]]]] = defaultdict(list)
    for f, inside in ties:
        by_detector[f.detector].append((f, inside))
    cid = "cmp_" + hashlib.sha1(accs[0].encode()).hexdigest()[:10]
    return Campaign(
        campaign_id=cid,
        accounts=accs,
        score=round(score, 4),
        coordination=round(coordination, 4),
        harvest=round(harvest, 4),
        families={k: round(v, 4) for k, v in families.items()},
        requests=total,
        first_seen=min(u.first_ts for u in use),
        last_seen=max(u.last_ts for u in use),
        signals=_signals(accs, by_detector, accounts, total)
        + _core_signals(parts[top] if len(core) >= 2 else [], measured[top], len(parts))
        + _profile_signals(measured[top].profile, population),
        member_families=member_families,
        part_scores=part_scores,
        bystanders=bystanders,
    )


def _core(
    accs: list[str],
    ties: list[tuple[Finding, set[str]]],
    accounts: dict[str, AccountScore],
    usage: Mapping[str, Usage],
    member_families: dict[str, set[Family]],
) -> list[str]:
    """The campaign's core: the members tied by two families of links
    (``_member_families``), in both of them to another such member. A tie
    to accounts that are themselves only loosely in the campaign says
    nothing about membership in the operation: a student tied to classmates
    by their school network and their homework template, with the classmates
    gathered into an operation's community by coincidences, is not one of
    its members. One fellow of the core in each family is enough here: the
    ties to two fellows were checked over the whole campaign. Updates
    ``member_families`` to the families that tie each member to the core."""
    core = [a for a in accs if _firm(accounts[a], member_families.get(a, set()))]
    if len(core) < 2:
        return core
    again = _member_families(core, ties, usage, among=set(core), need=1)
    for a in core:
        member_families[a] = again.get(a, set())
    return [a for a in core if _firm(accounts[a], member_families[a])]


def _member_families(
    accs: list[str],
    ties: list[tuple[Finding, set[str]]],
    usage: Mapping[str, Usage],
    among: set[str] | None = None,
    need: int = FIRM_PARTNERS,
) -> dict[str, set[Family]]:
    """Per member tied by a firm link, the families that tie it firmly
    (``_firm_families``), to fellows among ``among`` if given."""
    # Per family and member, the links (their members inside the campaign,
    # or those among ``among``) that can tie it firmly, and those that can
    # second a firm tie.
    partners: dict[Family, dict[str, list[set[str]]]] = defaultdict(lambda: defaultdict(list))
    seconds: dict[Family, dict[str, list[set[str]]]] = defaultdict(lambda: defaultdict(list))
    for f, inside in ties:
        seconding = _seconds(f, inside)
        if not seconding and f.score < FIRM_LINK:
            continue
        fellows = inside if among is None else inside & among
        if len(fellows) < 2:
            continue
        if seconding:
            by_member = seconds[f.family]
            for a in fellows:
                by_member[a].append(fellows)
        if f.score >= FIRM_LINK:
            by_member = partners[f.family]
            for a in fellows:
                by_member[a].append(fellows)
    need = min(need, len(accs) - 1)
    out = {}
    for a in accs:
        firm = {fam: links[a] for fam, links in partners.items() if a in links}
        if firm:
            second = {fam: links[a] for fam, links in seconds.items() if a in links}
            out[a] = _firm_families(_Fellows(a, usage), firm, second, need)
    return out


def _signals(
    accs: list[str],
    by_detector: dict[str, list[tuple[Finding, set[str]]]],
    accounts: dict[str, AccountScore],
    total: int,
) -> list[str]:
    out = []
    for detector, ties in sorted(by_detector.items(), key=lambda kv: -len(kv[1])):
        linked = len(set().union(*(inside for _, inside in ties)))
        fs = [f for f, _ in ties]
        best = max(fs, key=lambda f: (f.score, len(f.accounts)))
        out.append(f"{detector}: {len(fs)} shared items link {linked} accounts, e.g. {best.reason}")
    own: dict[str, int] = defaultdict(int)
    for a in accs:
        for f in accounts[a].findings:
            if f.score >= 0.5:
                own[f.detector] += 1
    for detector, k in sorted(own.items(), key=lambda kv: -kv[1]):
        out.append(f"{detector}: {k} of {len(accs)} accounts")
    out.append(f"{total} requests in all")
    return out


@dataclass(frozen=True, slots=True)
class _Harvest:
    harvest: float
    intensity: float
    profile: tuple[float, float, float]  # the members' mean shares (``_member_profile``)
    requests: int


def _harvest(
    takers: list[str],
    loose: list[int],
    accounts: dict[str, AccountScore],
    usage: Mapping[str, Usage],
    population: tuple[float, float, float],
    min_campaign_requests: float,
) -> _Harvest:
    """How much ``takers`` harvest together (see ``_campaign``). The requests
    of the campaign's looser members (``loose``) add to the volume, each at
    most as many as the takers' median: an operation's accounts tied to it
    by one family of links take their share, but a heavy customer the
    community gathered by a coincidence cannot carry the volume of a group
    that takes little. Only members tied by a link as strong as ``FIRM_LINK``
    lend their requests: a phrase common in one language's homework help
    ties four students of one school to two hundred others who use it, and
    the two hundred's requests are not the four's."""
    taken = sum(usage[a].requests for a in takers)
    intensity = sum(_local_score(accounts[a]) * usage[a].requests for a in takers) / max(taken, 1)
    mean_profile = _member_profile([usage[a] for a in takers])
    typical = statistics.median(usage[a].requests for a in takers)
    volume_of = taken + sum(min(n, typical) for n in loose)
    z = (math.log10(max(volume_of, 1)) - math.log10(min_campaign_requests)) / 0.25
    volume = 1.0 / (1.0 + math.exp(-z))
    harvest = max(intensity, _group_profile(mean_profile, population)) * (0.5 + 0.5 * volume)
    return _Harvest(harvest, intensity, mean_profile, taken)


def _held_loose(part: list[str], idle: list[str]) -> list[str]:
    """The members of one part of a campaign's core held as loose members:
    its bystanders (``idle``, see ``_bystanders``), or all of them when
    fewer than ``MIN_TAKERS`` take part in its harvest. A part whose harvest
    is one account's is a heavy customer and the coincidences that tie it to
    a few others (an evaluation company's account and developers who use a
    public judge template and the same client library), which the default
    profile leaves to review, as it does a lone heavy account."""
    return part if len(part) - len(idle) < MIN_TAKERS else idle


def _bystanders(
    part: list[str],
    h: _Harvest,
    accounts: dict[str, AccountScore],
    usage: Mapping[str, Usage],
    population: tuple[float, float, float],
) -> Iterator[str]:
    """Members of one part of a campaign's core whose own traffic shows less
    than ``TAKES_PART`` of what the part takes: the larger of own harvesting
    evidence and own profile against the larger of the part's intensity and
    profile. Links say whom an account is tied to, not what it does: a
    developer who connects from the residential networks a proxy swarm
    exits through, and uses the step-by-step template half the swarm uses,
    is tied to it by two families, yet asks for no more reasoning than the
    typical account. The own profile is read as if the account had also sent
    ``BENEFIT_OF_DOUBT`` requests like the typical account's (``population``),
    so that a few requests say nothing either way: an account that has sent
    nine requests, one of them asking for reasoning, is not presumed to take
    part because of whom it is tied to. Its reasoning tokens are read the
    same way over the requests that could return reasoning
    (``Usage.reasoning_requests``). An operation's accounts that each
    mix in ordinary traffic still show their share of its harvest once they
    have sent a few dozen requests."""
    takes = max(h.intensity, _group_profile(h.profile, population))
    if takes <= 0.0:
        return
    k = BENEFIT_OF_DOUBT
    for a in part:
        u = usage[a]
        n = u.requests
        # Reasoning tokens are evidence only from requests that could return
        # them: a developer's four requests to a reasoning model among twenty
        # to a model without are four, not twenty-four.
        nr = n if u.reasoning_requests is None else min(u.reasoning_requests, n)
        own = _profile(u)
        read = (
            (n * own[0] + k * population[0]) / (n + k),
            (n * own[1] + k * population[1]) / (n + k),
            (nr * own[2] + k * population[2]) / (nr + k),
        )
        mine = max(_local_score(accounts[a]), _group_profile(read, population))
        if mine < TAKES_PART * takes:
            yield a


def _core_parts(core: list[str], ties: list[tuple[Finding, set[str]]]) -> list[list[str]]:
    """The core's members in groups tied to each other the way a member is
    tied to its campaign: by two families of links. Per family, the core
    falls into the groups joined by its links that can tie a member
    (``_can_tie``: a crowd that started work in the same ten minutes, of
    which the campaign holds a few, joins nothing); two members are in one
    part when they share such a group in two families, and parts are closed
    under that. A classroom and an operation that send the same public
    problems share a content group, but not a network or a payment
    instrument: they stay apart. Parts come in the order of their first
    member in ``core``."""
    index = {a: i for i, a in enumerate(core)}
    chains: dict[Family, list[tuple[int, int]]] = defaultdict(list)
    for f, inside in ties:
        if _can_tie(f, inside):
            chains[f.family] += _chain([index[a] for a in inside if a in index])
    labels = {fam: _components(len(core), chains[fam]) for fam in LINK_FAMILIES}
    joined: list[tuple[int, int]] = []
    for one, other in itertools.combinations(LINK_FAMILIES, 2):
        together: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i in range(len(core)):
            together[labels[one][i], labels[other][i]].append(i)
        for ids in together.values():
            joined += _chain(ids)
    parts: dict[int, list[str]] = defaultdict(list)
    for i, part in enumerate(_components(len(core), joined)):
        parts[part].append(core[i])
    return list(parts.values())


def _can_tie(f: Finding, inside: set[str]) -> bool:
    """Whether link ``f`` (``inside``: its accounts in the campaign) can tie
    a member to the campaign: a firm link, or one that can second a firm
    tie (``_seconds``)."""
    return f.score >= FIRM_LINK or _seconds(f, inside)


def _seconds(f: Finding, inside: set[str]) -> bool:
    """Whether link ``f`` can second a firm tie: at least as strong as
    ``SECOND_LINK`` and the campaign's own (``SECOND_INSIDE`` of the accounts
    it links are in the campaign, ``inside``)."""
    return f.score >= SECOND_LINK and len(inside) >= SECOND_INSIDE * len(f.accounts)


def _chain(ids: list[int]) -> list[tuple[int, int]]:
    """Edges that connect ``ids`` (each to the next)."""
    return list(itertools.pairwise(ids))


def _components(n: int, edges: list[tuple[int, int]]) -> list[int]:
    """The connected component of each of ``n`` nodes."""
    membership: list[int] = ig.Graph(n=n, edges=edges).connected_components().membership
    return membership


def _core_signals(part: list[str], h: _Harvest, n_parts: int) -> list[str]:
    if not part:
        who = "all members"
    elif n_parts == 1:
        who = f"the {len(part)} members tied by two families of links"
    else:
        who = (
            f"the most harvesting of {n_parts} groups of members tied by two families "
            f"of links ({len(part)} accounts)"
        )
    return [
        f"harvest measured on {who}: {h.requests} requests, mean own evidence {h.intensity:.2f}"
    ]


def _profile(u: Usage) -> tuple[float, float, float]:
    """Shares of elicited reasoning and harvestable areas in the account's
    requests, and how far its reasoning-token share exceeds what the typical
    account gets from the same models (``Usage.reasoning_expected``)."""
    n = max(float(u.requests), 1.0)
    r = u.reasoning_tokens / max(u.reasoning_tokens + u.output_tokens, 1.0)
    return u.elicit / n, u.harvest_area / n, r - u.reasoning_expected


def _baseline(use: Iterable[Usage]) -> tuple[float, float, float]:
    """The typical account's shares (medians over accounts with a few
    requests), so that heavy users, attackers included, do not set the norm."""
    shares = [_profile(u) for u in use if u.requests >= 5]
    if not shares:
        return 0.0, 0.0, 0.0
    cols = list(zip(*shares, strict=True))
    return (
        statistics.median(cols[0]),
        statistics.median(cols[1]),
        statistics.median(cols[2]),
    )


def _sq(x: float, at: float, width: float) -> float:
    return 1.0 / (1.0 + math.exp(-(x - at) / width))


def _member_profile(use: list[Usage]) -> tuple[float, float, float]:
    """Mean of the members' own shares: every account counts once, so two
    heavy accounts cannot lend their profile to a crowd around them."""
    shares = [_profile(u) for u in use]
    n = max(len(shares), 1)
    return (
        sum(x[0] for x in shares) / n,
        sum(x[1] for x in shares) / n,
        sum(x[2] for x in shares) / n,
    )


def _group_profile(
    mean_profile: tuple[float, float, float], population: tuple[float, float, float]
) -> float:
    """How far the group's combined traffic looks like a harvest of reasoning.

    What a distiller takes is written-out reasoning: asked for in the prompt
    (elicitation) or returned by a reasoning model (reasoning tokens, counted
    beyond what the same models return to the typical account: a team that
    picked a reasoning model gets its reasoning on every request). The
    subject alone (maths, code) is what every study group, tutoring app or
    coding team works on, so it strengthens those two cues but never stands
    in for them: a classroom asking its homework problems, without asking for
    or receiving more reasoning than the typical account, is not a harvest.
    ``mean_profile`` is the group's ``_member_profile``."""
    e, h, r = mean_profile
    e0, h0, r0 = population
    s_e = _sq(e - e0, 0.25, 0.06)
    s_r = _sq(r - r0, 0.15, 0.05)
    s_h = _sq(h - h0, 0.25, 0.06) * max(s_e, s_r)
    return 1.0 - (1.0 - 0.7 * s_e) * (1.0 - 0.5 * s_h) * (1.0 - 0.4 * s_r)


def _profile_signals(
    mean_profile: tuple[float, float, float], population: tuple[float, float, float]
) -> list[str]:
    e, h, r = mean_profile
    e0, h0, r0 = population
    return [
        f"profile of the members measured (mean): {e:.0%} of requests elicit written-out reasoning "
        f"(typical account {e0:.0%}); {h:.0%} maths/code/reasoning ({h0:.0%}); reasoning "
        f"tokens {r:+.0%} of output beside what the same models return to the typical "
        f"account ({r0:+.0%})"
    ]


#: Per family, the member sets of the links that tie one account.
_Ties = dict[Family, list[set[str]]]


class _Fellows:
    """The accounts a tie can bind ``account`` to: any but itself and, if it
    has a declared owner, that owner's other accounts. An organisation's own
    accounts are tied to each other by nature, so ties among them say nothing
    about membership in an operation around them."""

    def __init__(self, account: str, usage: Mapping[str, Usage]) -> None:
        self.account = account
        self.owner = usage[account].owner
        self.usage = usage

    def of(self, links: list[set[str]]) -> Iterator[str]:
        """The fellows among the members of ``links`` (repeats possible)."""
        for inside in links:
            for b in inside:
                if b != self.account and (self.owner is None or self.usage[b].owner != self.owner):
                    yield b

    def among(self, links: list[set[str]]) -> set[str]:
        """The fellows among the members of ``links``, as one set."""
        found = set().union(*links)
        found.discard(self.account)
        if self.owner is not None:
            found = {b for b in found if self.usage[b].owner != self.owner}
        return found

    def at_least(self, links: list[set[str]], need: int) -> bool:
        if self.owner is None and any(len(x) - (self.account in x) >= need for x in links):
            return True  # one link holds enough fellows
        found: set[str] = set()
        for b in self.of(links):
            found.add(b)
            if len(found) >= need:
                return True
        return False


def _firm_families(fellows: _Fellows, firm: _Ties, second: _Ties, need: int) -> set[Family]:
    """The families that tie an account to its campaign, when there are two:
    one through firm links to at least ``need`` fellow members, another
    through links at least as strong as ``SECOND_LINK`` to ``need`` members,
    and one fellow member at least among both. Every family of such a pair is
    returned, so the answer does not depend on the order families are tried.

    A template shared by the whole operation is weak evidence on its own, but
    it confirms firm network ties to members who use it too. The common
    member keeps two coincidences from adding up: a customer who shares a
    popular problem with one member and a household network with other
    customers is tied to two different groups, not twice to one. A
    legitimate organisation's own accounts, tied to each other by nature,
    are left out of both (``_Fellows``).

    Links are kept as the member sets they were found with and searched
    lazily: a link of a thousand members tied to each of them is never
    copied a thousand times."""
    out: set[Family] = set()
    if len(firm.keys() | second.keys()) < 2:
        return out
    strong = [f for f in LINK_FAMILIES if f in firm and fellows.at_least(firm[f], need)]
    for f in strong:
        tied: set[str] | None = None  # the fellows ``f`` ties, once needed
        for g in LINK_FAMILIES:
            if g == f or {f, g} <= out:
                continue
            other = firm.get(g, []) + second.get(g, [])
            if not other or not fellows.at_least(other, need):
                continue
            if tied is None:
                tied = fellows.among(firm[f])
            if any(not x.isdisjoint(tied) for x in other):
                out |= {f, g}
    return out


def _local_score(acc: AccountScore) -> float:
    """An account's own score from this provider's evidence only: what peers
    say can tie accounts to an operation, never show that they harvest."""
    if not acc.findings:
        return 0.0
    best: dict[Family, float] = defaultdict(float)
    for f in acc.findings:
        if f.family is not Family.EXCHANGE:
            best[f.family] = max(best[f.family], f.score)
    return fuse_families(best.values())


def _attachment(acc: AccountScore, c: Campaign) -> float:
    """How firmly one account belongs to its campaign. Membership rests on
    links: an account's own harvesting evidence says what it does, not whom
    it works with, so a heavy legitimate user who happens to send the same
    benchmark as an operation is not pulled into it. Two families of links
    carry the campaign's score fully, unless the account's own traffic shows
    little of the harvest (``_bystanders``). A looser member carries less of it,
    and less again when it shows no harvesting of its own: a customer who
    shares a residential network with a proxy swarm's exits is a lead only
    if it also behaves like one of them."""
    if acc.account_id not in c.bystanders and _firm(
        acc, c.member_families.get(acc.account_id, set())
    ):
        return 1.0
    return 0.7 if acc.own_score >= LOOSE_OWN else 0.6


def _firm(acc: AccountScore, families: set[Family]) -> bool:
    """Whether the families of links that tie ``acc`` to its campaign
    (``_member_families``) make it a firm member: two of them. Imported
    links (what peers told us) count as one only when independent peers
    corroborate them: one peer's word and one coincidence of our own are not
    membership, or a dishonest peer could get a customer enforced by naming
    it next to an operation it happens to share a template with."""
    if Family.EXCHANGE in families and not imported_corroborated(acc):
        families = families - {Family.EXCHANGE}
    return len(families) >= 2


def imported_corroborated(acc: AccountScore) -> bool:
    """Whether independent peers corroborate what peers told us about
    ``acc`` (``corroborated`` in an imported finding's evidence)."""
    return any(
        f.family is Family.EXCHANGE and f.evidence.get("corroborated") is True for f in acc.findings
    )
