"""The exchange's own records: what one provider tells another.

These are independent of STIX: :mod:`distillguard.exchange.stix` maps them
onto STIX 2.1 objects and back, and the store keeps them in SQLite.

An indicator carries one *kind* of value. Network and client values travel in
clear (a CIDR, an ASN, a JA4 or a user agent of an operation's clients);
everything that could identify content or a person travels keyed under the
consortium key (``keyed`` kinds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Kind(StrEnum):
    """What an indicator's values are. Names are stable: they travel in STIX."""

    CIDR = "cidr"
    ASN = "asn"
    JA4 = "ja4"
    USER_AGENT = "user-agent"
    PROMPT_BAND = "prompt-band"  # keyed MinHash/LSH band hash of a prompt
    WRAPPER = "wrapper"  # keyed template fingerprint
    PAYMENT = "payment"  # keyed payment-instrument fingerprint
    EMAIL_DOMAIN = "email-domain"  # keyed sign-up e-mail domain

    @property
    def keyed(self) -> bool:
        return self in _KEYED


_KEYED = {Kind.PROMPT_BAND, Kind.WRAPPER, Kind.PAYMENT, Kind.EMAIL_DOMAIN}


class Tlp(StrEnum):
    """TLP 2.0 levels."""

    CLEAR = "clear"
    GREEN = "green"
    AMBER = "amber"
    AMBER_STRICT = "amber+strict"
    RED = "red"


class OpinionValue(StrEnum):
    """STIX 2.1 opinion enumeration, weakest support first."""

    STRONGLY_DISAGREE = "strongly-disagree"
    DISAGREE = "disagree"
    NEUTRAL = "neutral"
    AGREE = "agree"
    STRONGLY_AGREE = "strongly-agree"

    @property
    def support(self) -> float:
        """-1 (strongly disagree) … +1 (strongly agree)."""
        return _SUPPORT[self]


_SUPPORT = {
    OpinionValue.STRONGLY_DISAGREE: -1.0,
    OpinionValue.DISAGREE: -0.5,
    OpinionValue.NEUTRAL: 0.0,
    OpinionValue.AGREE: 0.5,
    OpinionValue.STRONGLY_AGREE: 1.0,
}


@dataclass(frozen=True, slots=True)
class CampaignIntel:
    """A detected operation as shared: no account ids, no prompt text.

    ``capability`` holds the shares of its requests per capability area and
    the share eliciting written-out reasoning; ``timing`` its hour-of-day
    profile (24 shares, UTC) and rates."""

    local_id: str
    name: str
    first_seen: datetime
    last_seen: datetime
    confidence: int
    accounts: int
    requests: int
    capability: dict[str, float] = field(default_factory=dict)
    timing: dict[str, float | list[float]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Indicator:
    """Values of one kind tied to one campaign.

    ``values`` are clear strings for clear kinds and 16-hex-digit keyed
    digests for keyed kinds (``key_id`` names the consortium key)."""

    campaign: str  # local id of the campaign
    kind: Kind
    values: tuple[str, ...]
    confidence: int
    valid_from: datetime
    valid_until: datetime
    key_id: str | None = None
    chunk: int = 0  # several indicators of one kind split a long value list
    revoked: bool = False

    def __post_init__(self) -> None:
        if self.kind.keyed and not self.key_id:
            raise ValueError(f"a {self.kind} indicator needs a consortium key id")
        if not self.values:
            raise ValueError("an indicator needs at least one value")
        if not 0 <= self.confidence <= 100:
            raise ValueError(f"confidence {self.confidence} outside 0..100")
