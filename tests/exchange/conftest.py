"""Fixtures of the exchange tests: publishers, a consortium keyring, and a
small detected operation to publish."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from distillguard.exchange import (
    CampaignIntel,
    ExchangeConfig,
    Indicator,
    KeyRing,
    Kind,
    Mapper,
    PeerConfig,
    Publisher,
)
from distillguard.exchange.derive import Derived
from distillguard.exchange.signing import public_key_text

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def peer_of(pub: Publisher, trust: float = 0.7) -> PeerConfig:
    return PeerConfig(name=pub.name, public_key=public_key_text(pub.public_key), trust=trust)


def config(provider: str, *peers: PeerConfig, **extra: object) -> ExchangeConfig:
    return ExchangeConfig.model_validate(
        {
            "provider": provider,
            "signing_key": "unused.pem",
            "keyring": "unused.json",
            "peers": [p.model_dump() for p in peers],
            **extra,
        }
    )


def small_derived(keys: KeyRing, now: datetime = NOW) -> Derived:
    """One campaign with one indicator of each kind."""
    c = CampaignIntel(
        "cmp_local1",
        "",
        now - timedelta(days=1),
        now,
        85,
        12,
        4000,
        {"math": 0.6, "elicit": 0.8},
        {"hour_of_day": [round(1 / 24, 4)] * 24, "requests_per_account_hour": 40.0},
    )
    band = keys.active.hasher(Kind.PROMPT_BAND).hex_u64([11, 12, 13])
    pay = [f"{v:016x}" for v in keys.active.hasher(Kind.PAYMENT).text(["card-77"]).tolist()]
    values: dict[Kind, list[str]] = {
        Kind.CIDR: ["198.51.100.0/24", "2001:db8:7::/48"],
        Kind.ASN: ["64500"],
        Kind.JA4: ["t13d1516h2_8daaf6152771_e5627efa2ab1"],
        Kind.USER_AGENT: ["harvester/1.0 (it's 'quoted')"],
        Kind.PROMPT_BAND: band,
        Kind.PAYMENT: pay,
    }
    inds = [
        Indicator(
            "cmp_local1",
            k,
            tuple(v),
            85,
            now,
            now + timedelta(days=30),
            keys.active.key_id if k.keyed else None,
        )
        for k, v in values.items()
    ]
    return Derived([c], inds)


@pytest.fixture
def keys() -> KeyRing:
    return KeyRing.generate("k1")


@pytest.fixture
def pub_a() -> Publisher:
    return Publisher.generate("Provider A")


@pytest.fixture
def mapper_a(pub_a: Publisher) -> Mapper:
    return Mapper(pub_a)


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    return tmp_path
