"""The in-memory matcher: scopes, CIDR containment, expiry, shadow mode,
allowlists and policies."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from distillguard.decisions import (
    Decision,
    DecisionMatcher,
    DecisionType,
    RequestContext,
    ThrottleParams,
)
from distillguard.decisions.policy import parse_policy_config

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def dec(scope: str, value: str, type: str = "block", **kw: object) -> Decision:
    return Decision(scope=scope, value=value, type=type, origin="analyst", **kw)  # type: ignore[arg-type]


def test_nothing_matches_allows() -> None:
    m = DecisionMatcher()
    m.apply([dec("account", "other")])
    v = m.check(RequestContext(account_id="a", ip="192.0.2.1"), NOW)
    assert v.action is None and v.allowed and v.matched == () and v.throttle is None


def test_every_keyed_scope_matches() -> None:
    m = DecisionMatcher()
    ds = [
        dec("account", "acct", "review"),
        dec("api_key", "key_1", "degrade"),
        dec("ip", "2001:db8::5"),
        dec("asn", "AS64500", "throttle"),
        dec("country", "fr", "review"),
        dec("entity", "Example Holdings", "suspend"),
    ]
    m.apply(ds)
    ctx = RequestContext(
        account_id="acct",
        api_key="key_1",
        ip="2001:DB8:0::5",
        country="FR",
        asn=64500,
        entity="  example   HOLDINGS ",
    )
    v = m.check(ctx, NOW)
    assert {d.id for d in v.matched} == {d.id for d in ds}
    assert v.action is DecisionType.BLOCK and not v.allowed
    assert v.decision is not None and v.decision.scope == "ip"


def test_every_containing_cidr_matches_v4_and_v6() -> None:
    outer = dec("cidr", "10.0.0.0/8", "throttle")
    inner = dec("cidr", "10.1.0.0/16", "degrade")
    v6 = dec("cidr", "2001:db8::/32", "block")
    m = DecisionMatcher()
    m.apply([outer, inner, v6, dec("cidr", "10.2.0.0/16")])
    v = m.check(RequestContext(ip="10.1.2.3"), NOW)
    assert {d.id for d in v.matched} == {outer.id, inner.id}
    assert v.action is DecisionType.DEGRADE
    assert m.check(RequestContext(ip="2001:db8:1::1"), NOW).action is DecisionType.BLOCK
    # An IPv4-mapped IPv6 address is the IPv4 address.
    assert m.check(RequestContext(ip="::ffff:10.1.2.3"), NOW).action is DecisionType.DEGRADE
    assert m.check(RequestContext(ip="11.0.0.1"), NOW).action is None
    assert m.check(RequestContext(ip="not an ip"), NOW).action is None


def test_expiry_is_honoured_at_check_time() -> None:
    m = DecisionMatcher()
    m.apply([dec("account", "a", until=NOW + timedelta(minutes=5))])
    assert m.check(RequestContext(account_id="a"), NOW).action is DecisionType.BLOCK
    assert m.check(RequestContext(account_id="a"), NOW + timedelta(minutes=5)).action is None
    assert m.purge(NOW + timedelta(minutes=6)) == 1 and len(m) == 0


def test_simulated_decisions_are_reported_not_enforced() -> None:
    m = DecisionMatcher()
    shadow = dec("account", "a", simulated=True)
    real = dec("account", "a", "review")
    m.apply([shadow, real])
    v = m.check(RequestContext(account_id="a"), NOW)
    assert v.action is DecisionType.REVIEW and v.allowed
    assert set(v.matched) == {shadow, real}
    only_shadow = DecisionMatcher()
    only_shadow.apply([shadow])
    v = only_shadow.check(RequestContext(account_id="a"), NOW)
    assert v.action is None and v.matched == (shadow,)


def test_tightest_throttle_rate_by_rate() -> None:
    m = DecisionMatcher()
    m.apply(
        [
            dec("account", "a", "throttle", params=ThrottleParams(requests_per_minute=30)),
            dec(
                "cidr",
                "192.0.2.0/24",
                "throttle",
                params=ThrottleParams(requests_per_minute=60, tokens_per_minute=1000),
            ),
            dec(
                "ip",
                "192.0.2.7",
                "throttle",
                params=ThrottleParams(requests_per_minute=5),
                simulated=True,
            ),
        ]
    )
    v = m.check(RequestContext(account_id="a", ip="192.0.2.7"), NOW)
    assert v.action is DecisionType.THROTTLE
    assert v.throttle == ThrottleParams(requests_per_minute=30, tokens_per_minute=1000)


def test_apply_replaces_and_deletes_by_id_and_replace_swaps() -> None:
    m = DecisionMatcher()
    first = dec("account", "a", "review")
    m.apply([first, dec("cidr", "10.0.0.0/8")])
    assert len(m) == 2
    stronger = Decision(**{**first.model_dump(), "type": DecisionType.SUSPEND})
    m.apply([stronger])
    assert len(m) == 2
    assert m.check(RequestContext(account_id="a"), NOW).action is DecisionType.SUSPEND
    m.apply(deleted=[first.id, "unknown"])
    assert m.check(RequestContext(account_id="a"), NOW).action is None
    m.replace([dec("ip", "192.0.2.1")])
    assert len(m) == 1
    assert m.check(RequestContext(ip="10.0.0.1"), NOW).action is None


def test_country_and_asn_are_looked_up_from_the_address() -> None:
    m = DecisionMatcher()
    m.apply([dec("country", "US", "review"), dec("asn", "15169", "degrade")])
    v = m.check(RequestContext(ip="8.8.8.8"), NOW)
    assert {d.scope for d in v.matched} == {"country", "asn"}
    # What the enforcer already knows wins over the lookup.
    assert m.check(RequestContext(ip="8.8.8.8", country="DE", asn=1), NOW).matched == ()


def test_policies_block_and_allowlist_overrides_everything() -> None:
    policy = parse_policy_config(
        {
            "allowlist": {"accounts": ["eval_co"], "cidrs": ["198.51.100.0/24"]},
            "jurisdiction": {"countries": ["US"]},
            "ownership": {"entities": ["Example Holdings"]},
        }
    )
    m = DecisionMatcher(allowlist=policy.allowlist, policies=policy.policies)
    m.apply([dec("account", "eval_co"), dec("account", "x", "throttle")])

    by_ip = m.check(RequestContext(account_id="x", ip="8.8.8.8"), NOW)
    assert by_ip.action is DecisionType.BLOCK and by_ip.decision is not None
    assert by_ip.decision.origin == "policy" and "address in US" in by_ip.decision.reason
    assert by_ip.throttle is not None  # the account's throttle still shows

    declared = m.check(RequestContext(account_id="y", declared_country="us"), NOW)
    assert declared.decision is not None and "declared country US" in declared.decision.reason
    owned = m.check(RequestContext(account_id="y", entity="example holdings"), NOW)
    assert owned.decision is not None and owned.decision.scope == "entity"

    for ctx in (
        RequestContext(account_id="eval_co", ip="8.8.8.8"),
        RequestContext(account_id="x", ip="198.51.100.9", declared_country="US"),
    ):
        v = m.check(ctx, NOW)
        assert v.allowlisted and v.action is None and v.allowed and v.matched


def test_simulated_policy_is_shadow_only() -> None:
    policy = parse_policy_config({"ownership": {"entities": ["E"], "simulated": True}})
    m = DecisionMatcher(policies=policy.policies)
    v = m.check(RequestContext(entity="e"), NOW)
    assert v.action is None and len(v.matched) == 1


def test_concurrent_updates_and_checks() -> None:
    m = DecisionMatcher()
    nets = [dec("cidr", f"10.{i}.0.0/16") for i in range(200)]
    errors: list[BaseException] = []

    def writer() -> None:
        for _ in range(20):
            m.apply(nets)
            m.apply(deleted=[d.id for d in nets])

    def reader() -> None:
        try:
            for i in range(4000):
                m.check(RequestContext(ip=f"10.{i % 200}.1.1"), NOW)
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=writer),
        *(threading.Thread(target=reader) for _ in range(2)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(m) == 0
