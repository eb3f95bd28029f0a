from pathlib import Path

import pytest

from distillguard import ProfileError
from distillguard._types import Action, Family
from distillguard.scoring import AccountScore, Campaign, load_profile


def _campaign(score: float, n: int = 5, requests: int = 10_000) -> Campaign:
    return Campaign(
        "cmp_x", [f"a{i}" for i in range(n)], score, score, score, {}, requests, 0.0, 1.0, []
    )


def test_default_profile_loads() -> None:
    prof = load_profile()
    assert prof.name == "default"
    assert prof.rules[0].action is Action.SUSPEND


def test_suspend_needs_campaign_and_two_families() -> None:
    prof = load_profile()
    acc = AccountScore(
        "a0", score=0.95, families={Family.CONTENT, Family.INFRASTRUCTURE}, firm=True
    )
    assert prof.decide(acc, _campaign(0.9)) is Action.SUSPEND
    # Loosely attached to the campaign: campaign rules do not apply.
    loose = AccountScore("a0", score=0.95, families={Family.CONTENT, Family.INFRASTRUCTURE})
    assert prof.decide(loose, _campaign(0.9)) is Action.REVIEW
    # No campaign: never suspended, whatever the score.
    assert prof.decide(acc, None) is not Action.SUSPEND
    # One family only: no enforcement at all.
    one = AccountScore("a0", score=0.95, families={Family.CONTENT}, firm=True)
    assert prof.decide(one, _campaign(0.9)) is Action.REVIEW


def test_a_member_of_another_part_is_judged_by_its_own_part() -> None:
    """A campaign whose core falls into parts scores as its most harvesting
    part; a firm member of a weaker part (heavy services tied to each other
    by a common client, next to an operation) is judged by what its part
    earns, however heavy its own traffic."""
    prof = load_profile()
    campaign = _campaign(0.9)
    campaign.part_scores = {"a0": 0.9, "a1": 0.9, "a2": 0.53, "a3": 0.53}
    fams = {Family.CONTENT, Family.INFRASTRUCTURE, Family.BEHAVIOUR}
    operation = AccountScore("a0", score=0.9, families=fams, firm=True)
    service = AccountScore("a2", score=0.81, own_score=0.81, families=fams, firm=True)
    assert prof.decide(operation, campaign) is Action.SUSPEND
    assert prof.decide(service, campaign) is Action.REVIEW
    # A member outside the parts (no part score) is judged by the campaign.
    other = AccountScore("a4", score=0.9, families=fams, firm=True)
    assert prof.decide(other, campaign) is Action.SUSPEND


def test_allowlist_wins(tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text(
        "name: t\nrules:\n  - action: suspend\nallowlist:\n  accounts: [a0]\n  entities: [Eval Co]\n"
    )
    prof = load_profile(p)
    acc = AccountScore("a0", score=1.0)
    assert prof.decide(acc, None) is Action.ALLOW
    assert prof.decide(AccountScore("a1", score=1.0), None, "Eval Co") is Action.ALLOW
    assert prof.decide(AccountScore("a1", score=1.0), None, "Other") is Action.SUSPEND


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: t\nrules: []\nbogus: 1\n", "bogus"),
        ("name: t\nrules:\n  - action: obliterate\n", "action"),
        ("name: t\nrules:\n  - action: review\n    min_account_score: 2\n", "min_account_score"),
        ("name: t\nrules:\n  - action: review\n    typo_key: 1\n", "typo_key"),
        ("- just\n- a list\n", "mapping"),
        ("name: [unclosed\n", "YAML"),
        ("rules: []\n", "name"),
    ],
)
def test_invalid_profiles_are_rejected(tmp_path: Path, text: str, message: str) -> None:
    p = tmp_path / "p.yaml"
    p.write_text(text)
    with pytest.raises(ProfileError, match=message):
        load_profile(p)


def test_missing_profile_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "nope.yaml")
