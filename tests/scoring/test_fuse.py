import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from distillguard._types import Family
from distillguard.detectors.base import Finding
from distillguard.scoring import fuse
from distillguard.scoring.fuse import (
    SINGLE_FAMILY_CAP,
    AccountScore,
    Usage,
    fuse_families,
    score,
)


def _f(
    det: str, fam: Family, accounts: tuple[str, ...], s: float, link: str | None = None
) -> Finding:
    return Finding(det, fam, accounts, s, f"{det} reason", {}, link)


def _campaign(
    members: list[str],
    links: list[Finding],
    accounts: dict[str, AccountScore],
    usage: dict[str, Usage],
    population: tuple[float, float, float],
    min_requests: float,
) -> fuse.Campaign | None:
    """``fuse._campaign`` of one community, given its links as ``_campaigns``
    hands them over: those tying two members or more, with their members."""
    inside = [(f, set(members).intersection(f.accounts)) for f in links]
    ties = [(f, x) for f, x in inside if len(x) >= 2]
    return fuse._campaign(members, ties, accounts, usage, population, min_requests)


def test_one_family_is_capped() -> None:
    assert fuse_families([1.0]) == SINGLE_FAMILY_CAP
    assert fuse_families([1.0, 1.0]) > 0.8
    assert fuse_families([]) == 0.0


def test_operation_becomes_campaign_and_members_inherit() -> None:
    members = tuple(f"m{i}" for i in range(12))
    others = tuple(f"b{i}" for i in range(30))
    findings = [
        _f("account_linking", Family.INFRASTRUCTURE, members, 0.9, "payment:x"),
        _f("shared_wrapper", Family.CONTENT, members, 0.8, "wrapper:1"),
    ]
    findings += [_f("reasoning_elicitation", Family.CONTENT, (m,), 0.9) for m in members]
    findings += [_f("automation_timing", Family.BEHAVIOUR, (m,), 0.9) for m in members]
    usage = {a: Usage(2000, 0.0, 1.0, 1800, 1900, 5000, 1000) for a in members}
    usage |= {a: Usage(10, 0.0, 1.0, 0, 2, 0, 100) for a in others}
    result = score(findings, usage)
    assert len(result.campaigns) == 1
    c = result.campaigns[0]
    assert set(c.accounts) == set(members)
    assert c.score > 0.8
    for m in members:
        assert result.accounts[m].campaign_id == c.campaign_id
        assert result.accounts[m].score >= c.score * 0.99
    for b in others:
        assert result.accounts[b].score == 0.0


def test_tight_but_harmless_group_scores_low() -> None:
    """A classroom: one network, the same homework, but little volume and no
    harvesting behaviour of its own."""
    kids = tuple(f"k{i}" for i in range(30))
    findings = [
        _f("account_linking", Family.INFRASTRUCTURE, kids, 0.45, "net:1"),
        _f("prompt_reuse", Family.CONTENT, kids, 0.6, "cluster:1"),
    ]
    usage = {k: Usage(15, 0.0, 1.0, 2, 12, 10, 100) for k in kids}
    usage |= {f"u{i}": Usage(20, 0.0, 1.0, 1, 5, 10, 100) for i in range(300)}
    result = score(findings, usage)
    assert all(c.score < 0.6 for c in result.campaigns)
    assert all(a.score < 0.6 for a in result.accounts.values())


def test_a_tight_group_does_not_borrow_the_harvest_of_heavy_accounts_around_it() -> None:
    """A classroom (one network, the same homework) and, tied to some pupils
    by the same maths problems only, four heavy accounts of an evaluation
    company that harvest-like on their own. The community may hold them
    all, but the pupils, the only accounts tied to it by two families, take
    nothing: the classroom is not a campaign to act on."""
    kids = tuple(f"k{i}" for i in range(30))
    evals = tuple(f"e{i}" for i in range(4))
    findings = [
        _f("account_linking", Family.INFRASTRUCTURE, kids, 0.45, "net:1"),
        _f("prompt_reuse", Family.CONTENT, kids, 0.6, "cluster:1"),
    ]
    for i, e in enumerate(evals):
        for k in kids[i * 5 : i * 5 + 8]:
            findings.append(_f("prompt_reuse", Family.CONTENT, (e, k), 0.9, f"reuse:{e}|{k}"))
        findings.append(_f("volume", Family.BEHAVIOUR, (e,), 0.95))
        findings.append(_f("reasoning_elicitation", Family.CONTENT, (e,), 0.9))
    usage = {k: Usage(15, 0.0, 1.0, 2, 12, 10, 100) for k in kids}
    usage |= {e: Usage(3000, 0.0, 1.0, 2900, 2900, 6000, 1000) for e in evals}
    usage |= {f"u{i}": Usage(20, 0.0, 1.0, 1, 5, 10, 100) for i in range(300)}
    result = score(findings, usage)
    held = [c for c in result.campaigns if set(evals) & set(c.accounts)]
    assert not held or all(c.score < 0.5 for c in held)
    assert all(result.accounts[k].score < 0.5 for k in kids)


def test_a_group_in_an_operations_community_is_measured_on_its_own() -> None:
    """One community (as Leiden may draw it on real traffic, through heavy
    accounts tied to both sides) holds a class of students, tied to each
    other by a network and their homework template, and a grading operation,
    tied by a payment instrument and a judge template, heavy and eliciting.
    The two are not tied to each other: the campaign scores as the
    operation, and the students only earn what their own group harvests."""
    kids = [f"k{i}" for i in range(20)]
    ops = [f"g{i}" for i in range(8)]
    links = [
        _f("account_linking", Family.INFRASTRUCTURE, tuple(kids), 0.45, "net:1"),
        _f("shared_wrapper", Family.CONTENT, tuple(kids), 0.5, "wrapper:homework"),
        _f("account_linking", Family.INFRASTRUCTURE, tuple(ops), 0.9, "payment:x"),
        _f("shared_wrapper", Family.CONTENT, tuple(ops), 0.8, "wrapper:judge"),
    ]
    own = [_f("reasoning_elicitation", Family.CONTENT, (g,), 0.9) for g in ops]
    own += [_f("automation_timing", Family.BEHAVIOUR, (g,), 0.9) for g in ops]
    usage = {k: Usage(15, 0.0, 1.0, 2, 12, 10, 100) for k in kids}
    usage |= {g: Usage(2000, 0.0, 1.0, 1800, 1900, 5000, 1000) for g in ops}
    accounts = {a: AccountScore(a) for a in usage}
    fuse._score_accounts(accounts, own)
    members = sorted(kids + ops)
    c = _campaign(members, links, accounts, usage, (0.0, 0.3, 0.4), 2000.0)
    assert c is not None and c.score >= 0.8
    assert all(len(c.member_families[a]) == 2 for a in members)  # all firm
    assert all(c.part_scores[g] == c.score for g in ops)
    assert all(c.part_scores[k] < 0.5 for k in kids)
    # The same public problems (one family) do not make them one group.
    shared = _f("prompt_reuse", Family.CONTENT, (kids[0], ops[0]), 0.8, "reuse:k0|g0")
    c = _campaign(members, [*links, shared], accounts, usage, (0.0, 0.3, 0.4), 2000.0)
    assert c is not None and c.part_scores[kids[0]] < 0.5
    # Tied by two families, they are one group, measured together.
    net = _f("account_linking", Family.INFRASTRUCTURE, (kids[0], ops[0]), 0.45, "net:2")
    c = _campaign(members, [*links, shared, net], accounts, usage, (0.0, 0.3, 0.4), 2000.0)
    assert c is not None and not c.part_scores


def test_a_part_whose_harvest_is_one_accounts_holds_nobody_firmly() -> None:
    """Next to an operation in one community, an evaluation company's account
    and two developers are tied to each other by a public judge template and
    a client library: a part of the core of its own, whose harvest is the
    company's alone. A heavy account with a few coincidences is what the
    default profile leaves to review; all three are held as loose members.
    Once a developer harvests too, the part holds two takers, and the two
    are firm."""
    ops = [f"g{i}" for i in range(8)]
    part = ("eval", "dev1", "dev2")
    links = [
        _f("account_linking", Family.INFRASTRUCTURE, tuple(ops), 0.9, "payment:x"),
        _f("shared_wrapper", Family.CONTENT, tuple(ops), 0.8, "wrapper:judge"),
        _f("account_linking", Family.INFRASTRUCTURE, part, 0.45, "client:requests"),
        _f("shared_wrapper", Family.CONTENT, part, 0.75, "wrapper:mt-bench"),
    ]
    own = [_f("reasoning_elicitation", Family.CONTENT, (a,), 0.9) for a in [*ops, "eval"]]
    own += [_f("volume", Family.BEHAVIOUR, (a,), 0.95) for a in [*ops, "eval"]]
    usage = {g: Usage(2000, 0.0, 1.0, 1800, 1900, 5000, 1000) for g in ops}
    usage["eval"] = Usage(3000, 0.0, 1.0, 2400, 2700, 6000, 1000)
    usage |= {d: Usage(60, 0.0, 1.0, 2, 20, 100, 1000) for d in part[1:]}
    members = sorted([*ops, *part])
    for dev_harvests in (False, True):
        if dev_harvests:
            usage["dev1"] = Usage(600, 0.0, 1.0, 500, 550, 1500, 1000)
        accounts = {a: AccountScore(a) for a in usage}
        fuse._score_accounts(accounts, own)
        c = _campaign(members, links, accounts, usage, (0.0, 0.3, 0.4), 2000.0)
        assert c is not None and c.score >= 0.8
        assert len(c.member_families["eval"]) == 2 and c.part_scores["eval"] < c.score
        assert all(fuse._attachment(accounts[g], c) == 1.0 for g in ops)
        assert "dev2" in c.bystanders
        assert ({"eval", "dev1"} <= c.bystanders) is not dev_harvests
        assert (fuse._attachment(accounts["eval"], c) < 1.0) is not dev_harvests


def test_a_weak_link_lends_the_core_no_volume() -> None:
    """Four students of one school, on its network and with one homework
    template, ask for step-by-step explanations: a tight group with a
    harvest-like profile, but 112 requests. Two hundred other students are
    tied to them only by a phrase common in their language's homework help,
    too weak a link to hold anyone (below ``FIRM_LINK``): their requests
    are not the group's volume. Accounts tied by a firm link (a network the
    operation's accounts share) do lend theirs."""
    group = tuple(f"k{i}" for i in range(4))
    others = tuple(f"s{i:03d}" for i in range(200))
    usage = {a: Usage(28, 0.0, 1.0, 21, 20, 60, 1000) for a in group + others}
    harvest = {}
    for strength in (0.36, fuse.FIRM_LINK):
        links = [
            _f("account_linking", Family.INFRASTRUCTURE, group, 0.45, "net:1"),
            _f("shared_wrapper", Family.CONTENT, group, 0.69, "wrapper:problem"),
            _f("shared_wrapper", Family.CONTENT, group + others, strength, "wrapper:phrase"),
        ]
        accounts = {a: AccountScore(a) for a in usage}
        c = _campaign(sorted(group + others), links, accounts, usage, (0.0, 0.3, 0.05), 2000.0)
        assert c is not None
        assert "harvest measured on the 4 members" in " ".join(c.signals)
        harvest[strength] = c.harvest
    assert harvest[0.36] < 0.5 < 0.75 < harvest[fuse.FIRM_LINK]


def _swarm_with_a_bystander() -> tuple[list[str], list[Finding], dict[str, Usage]]:
    """Twenty accounts of a swarm, each eliciting reasoning, tied by one
    payment instrument and a step-by-step template; a developer who connects
    from two residential networks the swarm exits through and used the
    template once."""
    swarm = [f"s{i:02d}" for i in range(20)]
    links = [
        _f("account_linking", Family.INFRASTRUCTURE, tuple(swarm), 0.9, "payment:x"),
        _f("account_linking", Family.INFRASTRUCTURE, ("dev", swarm[0], swarm[1]), 0.45, "net:a"),
        _f("account_linking", Family.INFRASTRUCTURE, ("dev", swarm[2], swarm[3]), 0.45, "net:b"),
        _f("shared_wrapper", Family.CONTENT, ("dev", *swarm), 0.3, "wrapper:steps"),
    ]
    usage = {a: Usage(200, 0.0, 1.0, 130, 150, 3000, 1000) for a in swarm}
    usage["dev"] = Usage(100, 0.0, 1.0, 3, 40, 300, 1000)
    usage |= {f"u{i}": Usage(20, 0.0, 1.0, 0, 6, 300, 1000) for i in range(300)}
    return swarm, links, usage


def _campaign_of(links: list[Finding], usage: dict[str, Usage]) -> fuse.Campaign:
    accounts = {a: AccountScore(a) for a in usage}
    members = sorted(a for a in usage if not a.startswith("u"))
    population = fuse._baseline(usage.values())
    c = _campaign(members, links, accounts, usage, population, 2000.0)
    assert c is not None
    return c


def test_a_member_that_takes_none_of_the_harvest_is_not_acted_on() -> None:
    swarm, links, usage = _swarm_with_a_bystander()
    c = _campaign_of(links, usage)
    assert c.score >= 0.8
    assert len(c.member_families["dev"]) == 2  # tied by two families...
    assert c.bystanders == {"dev"}  # ...but asks for no reasoning
    assert fuse._attachment(AccountScore("dev"), c) < 1.0
    assert fuse._attachment(AccountScore(swarm[0]), c) == 1.0


def test_a_member_with_a_few_requests_gets_the_benefit_of_the_doubt() -> None:
    # A few requests say little either way, and the doubt goes to the
    # customer: they are read next to the typical account's, not next to the
    # operation's it is tied to. Three ordinary ones leave it a loose member;
    # six that all ask for reasoning, like the swarm's, make it a firm one.
    _, links, usage = _swarm_with_a_bystander()
    usage["dev"] = Usage(3, 0.0, 1.0, 0, 1, 30, 100)
    assert _campaign_of(links, usage).bystanders == {"dev"}
    usage["dev"] = Usage(6, 0.0, 1.0, 6, 5, 90, 30)
    assert not _campaign_of(links, usage).bystanders


def test_reasoning_tokens_count_over_the_requests_that_could_return_them() -> None:
    # A developer tied to the swarm sent 24 requests, 4 of them to a reasoning
    # model, with long reasoning: four requests say little, whatever the
    # other twenty to a model without reasoning.
    _, links, usage = _swarm_with_a_bystander()
    usage["dev"] = Usage(24, 0.0, 1.0, 2, 16, 6669, 2000, None, 0.18)
    assert not _campaign_of(links, usage).bystanders  # read over all 24
    usage["dev"] = replace(usage["dev"], reasoning_requests=4)
    assert _campaign_of(links, usage).bystanders == {"dev"}
    # All 24 to the reasoning model: the same reasoning is evidence again.
    usage["dev"] = replace(usage["dev"], reasoning_requests=24)
    assert not _campaign_of(links, usage).bystanders


def test_ties_to_accounts_outside_the_core_are_not_membership() -> None:
    """Students tied to each other by a network and a homework template sit
    in an operation's community; one of them also stops at the same time as
    two of the operation's accounts and uses a template they use. Its two
    families of ties lead to its classmates, who are not in the core: it is
    not a member of the operation."""
    ops = [f"g{i}" for i in range(8)]
    kids = [f"k{i}" for i in range(3)]
    links = [
        _f("account_linking", Family.INFRASTRUCTURE, tuple(ops), 0.9, "payment:x"),
        _f("shared_wrapper", Family.CONTENT, tuple(ops), 0.8, "wrapper:judge"),
        _f("account_linking", Family.INFRASTRUCTURE, (kids[0], kids[1]), 0.45, "net:1"),
        _f("account_linking", Family.INFRASTRUCTURE, (kids[0], kids[2]), 0.45, "net:2"),
        _f("shared_wrapper", Family.CONTENT, tuple(kids), 0.45, "wrapper:homework"),
        _f("synchronised_activity", Family.BEHAVIOUR, (kids[0], ops[0], ops[1]), 0.35, "stop:1"),
        _f("shared_wrapper", Family.CONTENT, (kids[0], ops[0], ops[1]), 0.3, "wrapper:please"),
    ]
    usage = {g: Usage(2000, 0.0, 1.0, 1800, 1900, 5000, 1000) for g in ops}
    usage |= {k: Usage(8, 0.0, 1.0, 6, 6, 500, 1000) for k in kids}
    accounts = {a: AccountScore(a) for a in usage}
    members = sorted(ops + kids)
    c = _campaign(members, links, accounts, usage, (0.0, 0.3, 0.4), 2000.0)
    assert c is not None and c.score >= 0.8
    assert len(c.member_families[kids[0]]) < 2
    assert all(len(c.member_families[g]) >= 2 for g in ops)


def _study_group(
    elicit: float, reasoning: int
) -> tuple[tuple[str, ...], list[Finding], dict[str, Usage]]:
    """40 students behind one network sending the same homework, 150 requests
    each (as much traffic as a small operation), 80 % of it maths. ``elicit``
    is the share of requests asking for written-out reasoning, ``reasoning``
    the reasoning tokens in every 1,000 output tokens (the typical account:
    none, and 400)."""
    kids = tuple(f"k{i}" for i in range(40))
    findings = [
        _f("account_linking", Family.INFRASTRUCTURE, kids, 0.45, "net:1"),
        _f("prompt_reuse", Family.CONTENT, kids, 0.6, "cluster:1"),
    ]
    usage = {k: Usage(150, 0.0, 1.0, 150 * elicit, 120, reasoning, 1000 - reasoning) for k in kids}
    usage |= {f"u{i}": Usage(20, 0.0, 1.0, 0, 6, 400, 600) for i in range(1000)}
    return kids, findings, usage


def test_a_subject_alone_is_not_a_harvest() -> None:
    """Maths homework without asking for, or getting, more reasoning than the
    typical account: no campaign."""
    for reasoning in (100, 400):
        _, findings, usage = _study_group(elicit=0.05, reasoning=reasoning)
        result = score(findings, usage)
        assert all(c.score < 0.5 for c in result.campaigns)
        assert all(a.score < 0.5 for a in result.accounts.values())


def test_reasoning_a_model_returns_to_everyone_is_not_a_harvest() -> None:
    """The study group picked a reasoning model, which returns 800 reasoning
    tokens in every 1,000 to every caller: that is no harvest. Twice what the
    same model returns to the typical account would be."""
    for expected, harvest in ((0.8, False), (0.4, True)):
        _, findings, usage = _study_group(elicit=0.05, reasoning=800)
        usage = {
            a: replace(u, reasoning_expected=expected if a.startswith("k") else 0.4)
            for a, u in usage.items()
        }
        result = score(findings, usage)
        assert any(c.score >= 0.5 for c in result.campaigns) == harvest


def test_a_subject_with_elicited_reasoning_is_a_harvest() -> None:
    """The same group asking for written-out reasoning in most requests looks
    like a swarm sweeping a capability, whatever the model returns."""
    for reasoning in (100, 700):
        kids, findings, usage = _study_group(elicit=0.8, reasoning=reasoning)
        result = score(findings, usage)
        assert result.campaigns and result.campaigns[0].score >= 0.75
        assert set(kids) == set(result.campaigns[0].accounts)


def _swarm() -> tuple[tuple[str, ...], list[Finding], dict[str, Usage]]:
    """An operation of 12 accounts tied by one wrapper and one network, each
    harvesting on its own."""
    members = tuple(f"m{i}" for i in range(12))
    findings = [
        _f("account_linking", Family.INFRASTRUCTURE, members, 0.45, "net:1"),
        _f("shared_wrapper", Family.CONTENT, members, 0.8, "wrapper:1"),
    ]
    findings += [_f("reasoning_elicitation", Family.CONTENT, (m,), 0.9) for m in members]
    usage = {a: Usage(2000, 0.0, 1.0, 1800, 1900, 5000, 1000) for a in members}
    usage |= {f"b{i}": Usage(10, 0.0, 1.0, 0, 2, 0, 100) for i in range(30)}
    # Two unrelated groups (offices behind one NAT each) give the graph the
    # structure real traffic has.
    for g in range(2):
        office = tuple(f"b{i}" for i in range(g * 12, g * 12 + 12))
        findings.append(_f("account_linking", Family.INFRASTRUCTURE, office, 0.45, f"net:o{g}"))
    return members, findings, usage


def test_ties_through_two_families_make_a_firm_member() -> None:
    """x shares uncommon prompts with m0 and m1 and a network with m1 and m2:
    two families of ties to the operation, through a common member. x2's
    ties through the two families go to different members: two coincidences
    (a popular problem, a shared network) do not make a member."""
    _, findings, usage = _swarm()
    findings += [
        _f("prompt_reuse", Family.CONTENT, ("x", "m0"), 0.8, "reuse:x|m0"),
        _f("prompt_reuse", Family.CONTENT, ("x", "m1"), 0.8, "reuse:x|m1"),
        _f("account_linking", Family.INFRASTRUCTURE, ("x", "m1", "m2"), 0.45, "net:2"),
        _f("prompt_reuse", Family.CONTENT, ("x2", "m3"), 0.8, "reuse:x2|m3"),
        _f("prompt_reuse", Family.CONTENT, ("x2", "m4"), 0.8, "reuse:x2|m4"),
        _f("account_linking", Family.INFRASTRUCTURE, ("x2", "m5", "m6"), 0.45, "net:3"),
    ]
    usage["x"] = Usage(2000, 0.0, 1.0, 1800, 1900, 5000, 1000)
    usage["x2"] = Usage(2000, 0.0, 1.0, 1800, 1900, 5000, 1000)
    result = score(findings, usage)
    x, x2 = result.accounts["x"], result.accounts["x2"]
    assert x.campaign_id is not None and x.firm
    assert x2.campaign_id == x.campaign_id and not x2.firm


def test_one_family_of_ties_is_not_membership() -> None:
    """y shares uncommon prompts with three members, nothing else."""
    members, findings, usage = _swarm()
    findings += [
        _f("prompt_reuse", Family.CONTENT, ("y", m), 0.8, f"reuse:y|{m}") for m in members[:3]
    ]
    usage["y"] = Usage(50, 0.0, 1.0, 10, 20, 100, 500)
    result = score(findings, usage)
    assert not result.accounts["y"].firm
    assert all(result.accounts[m].firm for m in members)


def test_one_peers_word_and_one_coincidence_are_not_membership() -> None:
    """A peer puts y in the operation's campaign; y also sends the
    operation's template. Uncorroborated, the imported tie does not count as
    a family: y is not a firm member. Corroborated by independent peers, it
    does."""
    for corroborated in (False, True):
        members, findings, usage = _swarm()
        claim = Finding(
            "exchange", Family.EXCHANGE, ("y",), 0.9, "peer match", {"corroborated": corroborated}
        )
        findings += [
            claim,
            _f("exchange", Family.EXCHANGE, ("y", *members[:4]), 0.9, "exchange:c1"),
            _f("shared_wrapper", Family.CONTENT, ("y", *members[:4]), 0.8, "wrapper:2"),
        ]
        usage["y"] = Usage(50, 0.0, 1.0, 45, 48, 250, 50)  # harvesting like the rest
        result = score(findings, usage)
        y = result.accounts["y"]
        assert y.campaign_id is not None
        assert y.firm is corroborated


def test_ties_among_one_owners_accounts_do_not_count() -> None:
    """An organisation's own accounts share payment and prompts by nature."""
    org = tuple(f"o{i}" for i in range(4))
    findings = [
        _f("account_linking", Family.INFRASTRUCTURE, org, 0.9, "payment:1"),
        _f("shared_wrapper", Family.CONTENT, org, 0.8, "wrapper:1"),
    ]
    findings += [_f("reasoning_elicitation", Family.CONTENT, (a,), 0.9) for a in org]
    usage = {a: Usage(3000, 0.0, 1.0, 2800, 2900, 5000, 1000, owner="Org Ltd") for a in org}
    usage |= {f"b{i}": Usage(10, 0.0, 1.0, 0, 2, 0, 100) for i in range(30)}
    result = score(findings, usage)
    assert not any(result.accounts[a].firm for a in org)


def test_a_weak_link_seconds_a_firm_one_only_when_it_is_the_campaigns_own() -> None:
    """A template the whole operation uses is weak evidence alone (score 0.3),
    but it seconds firm network ties; a weak link mostly to outsiders (a
    synchronised start shared with a crowd) does not."""
    members = tuple(f"m{i}" for i in range(12))
    crowd = tuple(f"c{i}" for i in range(40))
    findings = [
        _f("account_linking", Family.INFRASTRUCTURE, members, 0.6, "signup:1"),
        _f("shared_wrapper", Family.CONTENT, members[:8], 0.3, "wrapper:1"),
        _f("synchronised_activity", Family.BEHAVIOUR, members[8:] + crowd, 0.35, "start:1"),
    ]
    findings += [_f("reasoning_elicitation", Family.CONTENT, (m,), 0.9) for m in members]
    usage = {a: Usage(2000, 0.0, 1.0, 1800, 1900, 5000, 1000) for a in members}
    usage |= {a: Usage(10, 0.0, 1.0, 0, 2, 0, 100) for a in crowd}
    for g in range(2):
        office = tuple(f"b{i}" for i in range(g * 12, g * 12 + 12))
        usage |= {a: Usage(10, 0.0, 1.0, 0, 2, 0, 100) for a in office}
        findings.append(_f("account_linking", Family.INFRASTRUCTURE, office, 0.45, f"net:o{g}"))
    result = score(findings, usage)
    assert all(result.accounts[m].firm for m in members[:8])
    assert not any(result.accounts[m].firm for m in members[8:])


def test_the_families_tying_a_member_count_as_its_evidence() -> None:
    """Three members of an operation share a payment instrument; the
    operation as a whole is tied by a template. Those three have evidence of
    two families even though payment covers too few members to count as a
    family of the whole campaign."""
    members = tuple(f"m{i}" for i in range(12))
    findings = [
        _f("shared_wrapper", Family.CONTENT, members, 0.8, "wrapper:1"),
        _f("account_linking", Family.INFRASTRUCTURE, members[:3], 0.9, "payment:1"),
    ]
    findings += [_f("reasoning_elicitation", Family.CONTENT, (m,), 0.9) for m in members]
    usage = {a: Usage(2000, 0.0, 1.0, 1800, 1900, 5000, 1000) for a in members}
    for g in range(2):
        office = tuple(f"b{i}" for i in range(g * 12, g * 12 + 12))
        usage |= {a: Usage(10, 0.0, 1.0, 0, 2, 0, 100) for a in office}
        findings.append(_f("account_linking", Family.INFRASTRUCTURE, office, 0.45, f"net:o{g}"))
    result = score(findings, usage)
    (c,) = [c for c in result.campaigns if "m0" in c.accounts]
    assert c.families[Family.INFRASTRUCTURE] < 0.3
    for m in members[:3]:
        assert result.accounts[m].families >= {Family.CONTENT, Family.INFRASTRUCTURE}
    assert Family.INFRASTRUCTURE not in result.accounts["m5"].families


def test_a_loose_member_without_harvesting_of_its_own_inherits_less() -> None:
    """Two customers tied to an operation by one family only (a shared
    network): the one that also harvests inherits more of the campaign."""
    _, findings, usage = _swarm()
    for x, m in (("quiet", "m0"), ("busy", "m1")):
        findings.append(_f("account_linking", Family.INFRASTRUCTURE, (x, m, "m2"), 0.45, f"n:{x}"))
        usage[x] = Usage(40, 0.0, 1.0, 5, 10, 50, 400)
    findings.append(_f("reasoning_elicitation", Family.CONTENT, ("busy",), 0.7))
    result = score(findings, usage)
    quiet, busy = result.accounts["quiet"], result.accounts["busy"]
    assert quiet.campaign_id == busy.campaign_id == result.accounts["m0"].campaign_id
    assert not quiet.firm and not busy.firm
    assert quiet.score < busy.score < result.accounts["m0"].score


def test_every_family_tying_a_member_is_reported() -> None:
    """Members tied by a wrapper, a network and a synchronised start: all
    three families are theirs, whichever pair is found first."""
    members, findings, usage = _swarm()
    findings.append(
        _f("synchronised_activity", Family.BEHAVIOUR, members, 0.45, "start:1"),
    )
    result = score(findings, usage)
    (c,) = [c for c in result.campaigns if "m0" in c.accounts]
    tied = {Family.CONTENT, Family.INFRASTRUCTURE, Family.BEHAVIOUR}
    assert all(c.member_families[m] == tied for m in members)


_COVERAGE = """
from distillguard._types import Family
from distillguard.detectors.base import Finding
from distillguard.scoring.fuse import Usage, score

xs, ys = [f"x{i}" for i in range(12)], [f"y{i}" for i in range(12)]
members = tuple(xs + ys)
findings = [Finding("account_linking", Family.INFRASTRUCTURE, members, 0.9, "r", {}, "pay")]
# Content ties: 0.4 for every x, 0.4643 for every y; their mean, 0.43215,
# sits on a rounding boundary, which a sum in another order can cross.
findings += [
    Finding("prompt_reuse", Family.CONTENT, (x, y), 0.4, "r", {}, f"p:{x}")
    for x, y in zip(xs, ys)
]
findings += [
    Finding("prompt_reuse", Family.CONTENT, (a, b), 0.4643, "r", {}, f"q:{a}")
    for a, b in zip(ys, ys[1:] + ys[:1])
]
usage = {a: Usage(2000, 0.0, 1.0, 1800, 1900, 5000, 1000) for a in members}
usage |= {f"b{i}": Usage(10, 0.0, 1.0, 0, 2, 0, 100) for i in range(30)}
for c in sorted(score(findings, usage).campaigns, key=lambda c: c.campaign_id):
    print(c.campaign_id, repr(c.families[Family.CONTENT]), repr(c.score))
"""


def test_campaign_figures_do_not_depend_on_the_hash_seed() -> None:
    """Members are met in set order, which string hashing changes from one
    process to the next: the campaign's figures must not change with it."""
    out = {
        subprocess.run(
            [sys.executable, "-c", _COVERAGE],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in range(8)
    }
    assert len(out) == 1, out


def test_the_account_graph_streams_its_edges_in_order_across_chunks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pairs = np.array([[0, 0, 1, 2, 3, 4, 5], [1, 2, 2, 3, 4, 5, 6]])
    weights = np.array([0.5, 1.0, 0.25, 2.0, 0.75, 1.5, 0.125])
    monkeypatch.setattr(fuse, "GRAPH_CHUNK", 3)
    graph = fuse._graph(8, pairs, weights)
    assert graph.vcount() == 8
    assert graph.get_edgelist() == list(zip(pairs[0].tolist(), pairs[1].tolist(), strict=True))
    assert graph.es["weight"] == weights.tolist()
