"""Scoring: fuse findings into account and campaign scores, then actions."""

from distillguard.scoring.fuse import AccountScore, Campaign, ScoreResult, Usage, score
from distillguard.scoring.profile import Profile, Rule, load_profile

__all__ = [
    "AccountScore",
    "Campaign",
    "Profile",
    "Rule",
    "ScoreResult",
    "Usage",
    "load_profile",
    "score",
]
