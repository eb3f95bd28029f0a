"""The detector interface: one small base class, one required method.

A detector reads the carried-forward detection state (per-account features and
the account–key incidence tables, see :mod:`distillguard.engine.state`) and
returns findings. It never reads raw events, so the same detector serves a
one-shot ``scan`` and every step of an online ``replay``.

Higher score means more suspicious. The constructor only stores parameters.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from distillguard._types import Family

if TYPE_CHECKING:
    from distillguard.engine.state import DetectionContext


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of evidence against one account or a group of accounts.

    ``accounts`` holds one account for an account-level finding, several for a
    group finding (accounts that share something). Group findings become edges
    of the account graph whose communities are campaigns; ``link`` names what
    they share (a wrapper, a payment fingerprint, a network, …).
    """

    detector: str
    family: Family
    accounts: tuple[str, ...]
    score: float
    reason: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    link: str | None = None

    def __post_init__(self) -> None:
        if not self.accounts:
            raise ValueError("a finding needs at least one account")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score {self.score} outside [0, 1]")

    @property
    def is_group(self) -> bool:
        return len(self.accounts) > 1


class Detector(ABC):
    """Base class of every detector."""

    name: ClassVar[str]
    family: ClassVar[Family]
    #: Whether ``detect`` reads the near-duplicate index of the prompts
    #: (``ctx.prompts.fingerprints``). A scan drops that index before
    #: detection unless a detector needs it.
    reads_prompt_index: ClassVar[bool] = False

    @abstractmethod
    def detect(self, ctx: DetectionContext) -> list[Finding]:
        """Return findings for the state in ``ctx``."""

    def finding(
        self,
        accounts: tuple[str, ...],
        score: float,
        reason: str,
        evidence: Mapping[str, Any] | None = None,
        link: str | None = None,
    ) -> Finding:
        """A finding of this detector, its score rounded for stable reports."""
        return Finding(
            self.name, self.family, accounts, round(float(score), 4), reason, evidence or {}, link
        )
