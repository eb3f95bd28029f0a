from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

import distillguard.decisions as decisions
from distillguard.decisions import Decision, DecisionType, ThrottleParams
from distillguard.decisions.model import DEFAULT_THROTTLE


def test_public_names() -> None:
    assert set(decisions.__all__) == {
        "DEFAULT_THROTTLE",
        "Allowlist",
        "Decision",
        "DecisionMatcher",
        "DecisionStreamClient",
        "DecisionType",
        "Jurisdiction",
        "Origin",
        "Ownership",
        "Policies",
        "PolicyConfig",
        "RequestContext",
        "Scope",
        "StoreError",
        "StreamError",
        "ThrottleParams",
        "Verdict",
        "load_policy_config",
    }
    for name in decisions.__all__:
        assert getattr(decisions, name) is not None


@pytest.mark.parametrize(
    ("scope", "value", "expected"),
    [
        ("cidr", "203.0.113.77/24", "203.0.113.0/24"),
        ("cidr", "2001:DB8::1/32", "2001:db8::/32"),
        ("cidr", "198.51.100.4", "198.51.100.4/32"),
        ("ip", " 2001:db8:0::1 ", "2001:db8::1"),
        ("country", "kp", "KP"),
        ("asn", "AS64500", "64500"),
        ("asn", "0064500", "64500"),
        ("account", " acct_1 ", "acct_1"),
        ("entity", "Example Holdings", "Example Holdings"),
    ],
)
def test_values_are_normalised(scope: str, value: str, expected: str) -> None:
    d = Decision(type="block", scope=scope, value=value, origin="analyst")  # type: ignore[arg-type]
    assert d.value == expected


@pytest.mark.parametrize(
    ("scope", "value"),
    [
        ("cidr", "10.0.0.0/33"),
        ("ip", "10.0.0"),
        ("country", "KOR"),
        ("country", "K1"),
        ("asn", "AS-1"),
        ("asn", "99999999999"),
        ("account", "   "),
        ("planet", "earth"),
    ],
)
def test_bad_values_are_refused(scope: str, value: str) -> None:
    with pytest.raises(ValidationError):
        Decision(type="block", scope=scope, value=value, origin="analyst")  # type: ignore[arg-type]


def test_throttle_gets_default_params_and_others_refuse_params() -> None:
    d = Decision(type="throttle", scope="account", value="a", origin="profile")  # type: ignore[arg-type]
    assert d.params == DEFAULT_THROTTLE
    with pytest.raises(ValidationError, match="throttle decisions only"):
        Decision(
            type="block",  # type: ignore[arg-type]
            scope="account",  # type: ignore[arg-type]
            value="a",
            origin="profile",  # type: ignore[arg-type]
            params=ThrottleParams(requests_per_minute=5),
        )
    with pytest.raises(ValidationError, match="needs requests_per_minute"):
        ThrottleParams()


def test_times_are_utc_and_until_is_exclusive() -> None:
    until = datetime(2030, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    d = Decision(type="block", scope="account", value="a", origin="analyst", until=until)  # type: ignore[arg-type]
    assert d.until == datetime(2030, 1, 1, 10, tzinfo=UTC)
    assert d.until is not None and d.until.tzinfo is UTC
    assert d.active(datetime(2030, 1, 1, 9, 59, tzinfo=UTC))
    assert not d.active(datetime(2030, 1, 1, 10, tzinfo=UTC))
    naive = Decision(
        type="block", scope="account", value="a", origin="analyst", until=datetime(2030, 1, 1)
    )  # type: ignore[arg-type]
    assert naive.until == datetime(2030, 1, 1, tzinfo=UTC)


def test_json_round_trip() -> None:
    d = Decision(
        type=DecisionType.THROTTLE,
        scope="api_key",  # type: ignore[arg-type]
        value="key_9",
        origin="exchange",  # type: ignore[arg-type]
        params=ThrottleParams(tokens_per_minute=500),
        reason="peer indicator",
        simulated=True,
        until=datetime(2031, 5, 1, tzinfo=UTC),
    )
    assert Decision.model_validate(d.to_json()) == d
    assert len(d.id) == 32
    assert d.type.rank > DecisionType.REVIEW.rank
    assert DecisionType.BLOCK.denies and not DecisionType.DEGRADE.denies
