"""Type aliases and small enums shared by every stage."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

JSON = dict[str, Any]
AccountId = str


class Action(StrEnum):
    """What a policy profile decides for an account, weakest first."""

    ALLOW = "allow"
    REVIEW = "review"
    THROTTLE = "throttle"
    DEGRADE = "degrade"
    SUSPEND = "suspend"

    @property
    def rank(self) -> int:
        return _ACTION_ORDER.index(self)

    @property
    def enforced(self) -> bool:
        """True for actions that change what the customer gets."""
        return self.rank >= _ACTION_ORDER.index(Action.THROTTLE)


_ACTION_ORDER = [Action.ALLOW, Action.REVIEW, Action.THROTTLE, Action.DEGRADE, Action.SUSPEND]


class Family(StrEnum):
    """Independent families of evidence. The default profile suspends only when a
    campaign is supported by at least two of them."""

    CONTENT = "content"  # what is asked: reuse, wrappers, elicitation, topic sweeps
    INFRASTRUCTURE = "infrastructure"  # who asks: payment, network, client, sign-up links
    BEHAVIOUR = "behaviour"  # how it is asked: volume, timing, synchrony, model pivot
    EXCHANGE = "exchange"  # what peers told us
