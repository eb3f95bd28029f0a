"""Every exported bundle is valid STIX 2.1 for stix2-validator and stix2."""

from __future__ import annotations

import stix2
from stix2validator import ValidationOptions, validate_instance

from distillguard.exchange import ExchangeStore, KeyRing, Kind, Mapper, OpinionValue, publish
from distillguard.exchange.stix import bundle, pattern, pattern_values

from .conftest import NOW, small_derived


def assert_valid(b: dict[str, object]) -> None:
    result = validate_instance(b, ValidationOptions(version="2.1"))
    problems = [str(e) for e in result.errors]
    assert result.is_valid, problems
    assert not [str(w) for w in result.warnings]
    stix2.parse(b, allow_custom=False)


def test_published_bundle_validates(keys: KeyRing, mapper_a: Mapper) -> None:
    b = publish(ExchangeStore(), mapper_a, small_derived(keys), now=NOW)
    types = {o["type"] for o in b["objects"]}
    assert {"identity", "campaign", "indicator", "relationship", "report"} <= types
    assert {"marking-definition", "extension-definition"} <= types
    assert_valid(b)


def test_feedback_objects_validate(keys: KeyRing, mapper_a: Mapper) -> None:
    ind = mapper_a.indicator(small_derived(keys).indicators[0], NOW)
    objs = [
        mapper_a.identity(),
        mapper_a.sighting(ind["id"], 4, NOW),
        mapper_a.sighting(ind["id"], 2, NOW, false_positive=True),
        mapper_a.opinion([ind["id"]], OpinionValue.DISAGREE, "false positive", NOW),
    ]
    assert_valid(bundle(objs))


def test_indicators_parse_with_stix2_patterns(keys: KeyRing, mapper_a: Mapper) -> None:
    for ind in small_derived(keys).indicators:
        obj = mapper_a.indicator(ind, NOW)
        parsed = stix2.parse(obj, allow_custom=False)  # validates the pattern
        assert parsed.confidence == 85 and parsed.revoked is False
        assert pattern_values(ind.kind, obj["pattern"]) == list(ind.values)


def test_pattern_quoting_round_trips() -> None:
    ua = ["a'b\\c", "plain"]
    assert pattern_values(Kind.USER_AGENT, pattern(Kind.USER_AGENT, ua)) == ua


def test_ids_are_stable_and_hide_local_ids(keys: KeyRing, mapper_a: Mapper) -> None:
    d = small_derived(keys)
    a = mapper_a.indicator(d.indicators[0], NOW)
    b = mapper_a.indicator(d.indicators[0], NOW)
    assert a["id"] == b["id"]
    assert "cmp_local1" not in str(mapper_a.campaign(d.campaigns[0], NOW))
