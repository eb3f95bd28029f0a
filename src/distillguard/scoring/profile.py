"""Policy profiles: from scores and evidence to actions.

A profile is YAML, validated strictly (an unknown key is an error), without
I/O beyond reading the file. Rules are tried top-down; the first whose every
condition holds gives the action. Allowlisted accounts and owning entities are
always ``allow``.

    name: default
    rules:
      - action: suspend
        min_campaign_score: 0.8
        min_families: 2
        min_account_score: 0.8
    allowlist:
      accounts: [acct_eval_partner]
      entities: [Example Evaluations Ltd]
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from distillguard._exceptions import ProfileError
from distillguard._types import Action, Family
from distillguard.scoring.fuse import AccountScore, Campaign, imported_corroborated


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rule(_Strict):
    action: Action
    min_account_score: float = Field(0.0, ge=0.0, le=1.0)
    min_own_score: float = Field(0.0, ge=0.0, le=1.0)
    min_campaign_score: float | None = Field(None, ge=0.0, le=1.0)
    min_families: int = Field(0, ge=0, le=4)
    min_campaign_accounts: int = Field(0, ge=0)
    min_campaign_requests: int = Field(0, ge=0)


class Allowlist(_Strict):
    accounts: list[str] = []
    entities: list[str] = []


class Profile(_Strict):
    name: str
    description: str = ""
    rules: list[Rule]
    allowlist: Allowlist = Allowlist()

    def decide(
        self, acc: AccountScore, campaign: Campaign | None, entity: str | None = None
    ) -> Action:
        if acc.account_id in self.allowlist.accounts or (
            entity is not None and entity in self.allowlist.entities
        ):
            return Action.ALLOW
        for rule in self.rules:
            if _holds(rule, acc, campaign) and (not rule.action.enforced or _enforceable(acc)):
                return rule.action
        return Action.ALLOW


def _enforceable(acc: AccountScore) -> bool:
    """Imported evidence (family EXCHANGE) never enforces on its own, whatever
    the profile: it needs evidence of this provider's own, or corroboration
    by independent peers (``corroborated`` in the finding's evidence)."""
    imported = any(f.family is Family.EXCHANGE for f in acc.findings)
    if not imported or acc.families - {Family.EXCHANGE}:
        return True
    return imported_corroborated(acc)


def _holds(rule: Rule, acc: AccountScore, campaign: Campaign | None) -> bool:
    if acc.score < rule.min_account_score or len(acc.families) < rule.min_families:
        return False
    if acc.own_score < rule.min_own_score:
        return False
    needs_campaign = (
        rule.min_campaign_score is not None
        or rule.min_campaign_accounts > 0
        or rule.min_campaign_requests > 0
    )
    if not needs_campaign:
        return True
    if campaign is None or not acc.firm:
        return False
    # A member of one part of a campaign's core is judged by what its own
    # part earns (``Campaign.part_scores``), not by the most harvesting part:
    # services tied to each other by a common client, in a community whose
    # other part is an operation, are not that operation.
    earned = campaign.part_scores.get(acc.account_id, campaign.score)
    return (
        earned >= (rule.min_campaign_score or 0.0)
        and len(campaign.accounts) >= rule.min_campaign_accounts
        and campaign.requests >= rule.min_campaign_requests
    )


def load_profile(path: str | Path | None = None) -> Profile:
    """Read and validate a profile; ``None`` gives the shipped default."""
    if path is None:
        text = resources.files("distillguard.scoring").joinpath("default_profile.yaml").read_text()
        where = "default profile"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ProfileError(f"cannot read profile {path}: {exc}") from exc
        where = str(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProfileError(f"{where}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ProfileError(f"{where}: a profile is a mapping with 'name' and 'rules'")
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ProfileError(f"{where}: {problems}") from exc
