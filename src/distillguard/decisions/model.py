"""The decision record: what to do (type), to whom (scope and value), until when,
who decided (origin) and why.

A decision is immutable and validated once, where it is made: values are
normalised here (a CIDR to its network form, a country to upper-case ISO alpha-2,
an ASN to its bare number) so that the store, the stream and the matcher can
compare them as plain strings.

>>> d = Decision(type="block", scope="cidr", value="203.0.113.7/24", origin="analyst")
>>> d.value
'203.0.113.0/24'
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from distillguard._types import Action


class DecisionType(StrEnum):
    """What an enforcer does, weakest first (see :attr:`rank`)."""

    REVIEW = "review"
    THROTTLE = "throttle"
    DEGRADE = "degrade"
    SUSPEND = "suspend"
    BLOCK = "block"

    @property
    def rank(self) -> int:
        """Strength of the type: block > suspend > degrade > throttle > review."""
        return _TYPE_ORDER[self]

    @property
    def denies(self) -> bool:
        """True for the types that refuse the request outright."""
        return self in (DecisionType.SUSPEND, DecisionType.BLOCK)


_TYPE_ORDER = {t: i for i, t in enumerate(DecisionType)}

#: The decision a policy profile's action becomes (``allow`` becomes none).
#: Keyed by ``Action``, a ``StrEnum``: the action's name looks it up too.
DECISION_OF_ACTION: dict[str, DecisionType] = {
    Action.REVIEW: DecisionType.REVIEW,
    Action.THROTTLE: DecisionType.THROTTLE,
    Action.DEGRADE: DecisionType.DEGRADE,
    Action.SUSPEND: DecisionType.SUSPEND,
}


class Scope(StrEnum):
    """What a decision's value names."""

    ACCOUNT = "account"
    API_KEY = "api_key"
    IP = "ip"
    CIDR = "cidr"
    ASN = "asn"
    COUNTRY = "country"
    ENTITY = "entity"


class Origin(StrEnum):
    """Who made a decision."""

    DETECTOR = "detector"
    PROFILE = "profile"
    ANALYST = "analyst"
    EXCHANGE = "exchange"
    POLICY = "policy"


_COUNTRY = re.compile(r"^[A-Z]{2}$")
_ASN = re.compile(r"^(?:AS)?(\d{1,10})$", re.IGNORECASE)


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """A timestamp in UTC; a naive one is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def normalise_value(scope: Scope, value: str) -> str:
    """The canonical text of ``value`` for ``scope``; ``ValueError`` if it is not one."""
    value = value.strip()
    if not value:
        raise ValueError("value must not be empty")
    if scope is Scope.IP:
        return str(ipaddress.ip_address(value))
    if scope is Scope.CIDR:
        return str(ipaddress.ip_network(value, strict=False))
    if scope is Scope.COUNTRY:
        code = value.upper()
        if not _COUNTRY.match(code):
            raise ValueError(f"country must be an ISO 3166-1 alpha-2 code, got {value!r}")
        return code
    if scope is Scope.ASN:
        m = _ASN.match(value)
        if m is None or int(m.group(1)) > 4_294_967_295:
            raise ValueError(f"asn must be an AS number such as 64500 or AS64500, got {value!r}")
        return str(int(m.group(1)))
    return value


class ThrottleParams(BaseModel):
    """The rate a throttled subject is held to; ``None`` leaves that rate unlimited."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requests_per_minute: int | None = Field(default=None, gt=0)
    tokens_per_minute: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_rate(self) -> Self:
        if self.requests_per_minute is None and self.tokens_per_minute is None:
            raise ValueError("a throttle needs requests_per_minute or tokens_per_minute")
        return self

    def tighten(self, other: ThrottleParams) -> ThrottleParams:
        """The tighter of two throttles, rate by rate."""
        return ThrottleParams(
            requests_per_minute=_min_rate(self.requests_per_minute, other.requests_per_minute),
            tokens_per_minute=_min_rate(self.tokens_per_minute, other.tokens_per_minute),
        )


def _min_rate(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


#: The throttle of a throttle decision made without parameters.
DEFAULT_THROTTLE = ThrottleParams(requests_per_minute=10, tokens_per_minute=20_000)


class Decision(BaseModel):
    """One decision. ``simulated`` ones (shadow mode) are logged and reported but
    never enforced."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default_factory=lambda: uuid.uuid4().hex, min_length=1, max_length=64)
    type: DecisionType
    scope: Scope
    value: str = Field(max_length=512)
    params: ThrottleParams | None = None
    until: datetime | None = None
    origin: Origin
    reason: str = Field(default="", max_length=2000)
    simulated: bool = False
    created_at: datetime = Field(default_factory=utcnow)

    @field_validator("until", "created_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else as_utc(value)

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("value"), str) and "scope" in data:
            try:
                scope = Scope(data["scope"])
            except ValueError:
                return data  # the field validator reports the bad scope
            data = {**data, "value": normalise_value(scope, data["value"])}
        return data

    @model_validator(mode="after")
    def _params(self) -> Self:
        if self.type is DecisionType.THROTTLE and self.params is None:
            object.__setattr__(self, "params", DEFAULT_THROTTLE)
        elif self.type is not DecisionType.THROTTLE and self.params is not None:
            raise ValueError("params apply to throttle decisions only")
        return self

    def active(self, now: datetime) -> bool:
        """Whether the decision is in force at ``now`` (it ends at ``until``, exclusive)."""
        return self.until is None or self.until > now

    def to_json(self) -> dict[str, Any]:
        """The JSON form used by the stream and the API."""
        return self.model_dump(mode="json")
