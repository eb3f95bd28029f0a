"""Allowlists and standing policies, loaded from one YAML file.

An allowlist names customers who must never be stopped (evaluation companies,
research partners): it overrides every decision, policies included. A
jurisdiction policy bans countries, matched on the country of the client's
address and on the country the account declared at sign-up; an ownership policy
bans owning entities, matched on the account's ``parent_entity``. A policy match
is a ``block`` with origin ``policy``.

.. code-block:: yaml

    allowlist:
      accounts: [acct_eval_partner]
      cidrs: [198.51.100.0/24]
    jurisdiction:
      countries: [KP]
    ownership:
      entities: ["Example Holdings Ltd"]
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import pytricia
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)

from distillguard._exceptions import ConfigError
from distillguard.decisions.model import Decision, DecisionType, Origin, Scope, normalise_value

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def entity_key(name: str) -> str:
    """How owning entities are compared: case and surrounding space do not matter."""
    return " ".join(name.split()).casefold()


def ip_key(ip: str) -> str | None:
    """The canonical text of an address (IPv4-mapped IPv6 as IPv4); ``None`` if invalid."""
    try:
        addr = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)


def _as_set(value: Any) -> Any:
    """YAML gives lists; the models keep sets (a strict model takes no implicit cast)."""
    return frozenset(value) if isinstance(value, list | tuple | set) else value


Names = Annotated[frozenset[str], BeforeValidator(_as_set)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class Allowlist(_Strict):
    """Subjects exempt from every decision and policy."""

    accounts: Names = frozenset()
    api_keys: Names = frozenset()
    entities: Names = frozenset()
    cidrs: tuple[str, ...] = ()
    _tree: Any = PrivateAttr(default=None)

    @field_validator("entities")
    @classmethod
    def _entities(cls, value: frozenset[str]) -> frozenset[str]:
        return frozenset(entity_key(v) for v in value)

    @field_validator("cidrs", mode="before")
    @classmethod
    def _cidrs(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tuple(normalise_value(Scope.CIDR, str(v)) for v in value)
        return value

    def model_post_init(self, context: Any, /) -> None:
        tree = pytricia.PyTricia(128)
        for cidr in self.cidrs:
            tree[cidr] = True
        self._tree = tree

    def __bool__(self) -> bool:
        return bool(self.accounts or self.api_keys or self.entities or self.cidrs)

    def matches(
        self,
        *,
        account_id: str | None = None,
        api_key: str | None = None,
        entity: str | None = None,
        ip: str | None = None,
    ) -> bool:
        """Whether any of the request's subjects is allowlisted (``ip`` canonical)."""
        if account_id is not None and account_id in self.accounts:
            return True
        if api_key is not None and api_key in self.api_keys:
            return True
        if entity is not None and entity_key(entity) in self.entities:
            return True
        return ip is not None and self.cidrs != () and self._tree.get_key(ip) is not None


class Jurisdiction(_Strict):
    """Countries whose customers are refused, by address and by declaration."""

    countries: Names = frozenset()
    match: Annotated[frozenset[Literal["ip", "declared"]], BeforeValidator(_as_set)] = frozenset(
        {"ip", "declared"}
    )
    simulated: bool = False
    reason: str = "jurisdiction policy"

    @field_validator("countries")
    @classmethod
    def _codes(cls, value: frozenset[str]) -> frozenset[str]:
        return frozenset(normalise_value(Scope.COUNTRY, v) for v in value)


class Ownership(_Strict):
    """Owning entities whose accounts are refused, matched on ``parent_entity``."""

    entities: Names = frozenset()
    simulated: bool = False
    reason: str = "ownership policy"


class Policies(_Strict):
    """Standing jurisdiction and ownership bans. Each banned country or entity
    becomes one ``block`` decision with origin ``policy`` (see :meth:`by_country`)."""

    jurisdiction: Jurisdiction = Field(default_factory=Jurisdiction)
    ownership: Ownership = Field(default_factory=Ownership)
    _ip_country: dict[str, Decision] = PrivateAttr(default_factory=dict)
    _declared: dict[str, Decision] = PrivateAttr(default_factory=dict)
    _entity: dict[str, Decision] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        j, o = self.jurisdiction, self.ownership
        for code in sorted(j.countries):
            if "ip" in j.match:
                self._ip_country[code] = _policy(
                    f"policy-country-ip-{code}",
                    Scope.COUNTRY,
                    code,
                    f"{j.reason}: address in {code}",
                    j.simulated,
                )
            if "declared" in j.match:
                self._declared[code] = _policy(
                    f"policy-country-declared-{code}",
                    Scope.COUNTRY,
                    code,
                    f"{j.reason}: declared country {code}",
                    j.simulated,
                )
        for i, name in enumerate(sorted(o.entities)):
            self._entity[entity_key(name)] = _policy(
                f"policy-entity-{i}",
                Scope.ENTITY,
                name,
                f"{o.reason}: owned by {name}",
                o.simulated,
            )

    def __bool__(self) -> bool:
        return bool(self._ip_country or self._declared or self._entity)

    @property
    def needs_ip_country(self) -> bool:
        return bool(self._ip_country)

    def matches(
        self, *, country: str | None, declared_country: str | None, entity: str | None
    ) -> list[Decision]:
        """The policy decisions a request falls under."""
        out: list[Decision] = []
        if country is not None and (d := self._ip_country.get(country.upper())) is not None:
            out.append(d)
        if (
            declared_country is not None
            and (d := self._declared.get(declared_country.upper())) is not None
        ):
            out.append(d)
        if entity is not None and (d := self._entity.get(entity_key(entity))) is not None:
            out.append(d)
        return out

    def decisions(self) -> Iterable[Decision]:
        """Every decision the policies stand for (for listing and reports)."""
        yield from self._ip_country.values()
        yield from self._declared.values()
        yield from self._entity.values()


def _policy(id_: str, scope: Scope, value: str, reason: str, simulated: bool) -> Decision:
    return Decision(
        id=id_,
        type=DecisionType.BLOCK,
        scope=scope,
        value=value,
        origin=Origin.POLICY,
        reason=reason,
        simulated=simulated,
        created_at=_EPOCH,
    )


class PolicyConfig(_Strict):
    """The policy file: an allowlist and the standing policies."""

    allowlist: Allowlist = Field(default_factory=Allowlist)
    jurisdiction: Jurisdiction = Field(default_factory=Jurisdiction)
    ownership: Ownership = Field(default_factory=Ownership)

    @property
    def policies(self) -> Policies:
        return Policies(jurisdiction=self.jurisdiction, ownership=self.ownership)


def load_policy_config(path: str | Path) -> PolicyConfig:
    """Read and validate a policy file; every problem is a :class:`ConfigError`
    that names the file and the offending key."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read policy file: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    return parse_policy_config(raw or {}, source=str(path))


def parse_policy_config(raw: Any, *, source: str = "policy") -> PolicyConfig:
    """Validate an already-parsed policy document."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the policy file must be a mapping")
    try:
        return PolicyConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"{source}: {problems}") from exc
