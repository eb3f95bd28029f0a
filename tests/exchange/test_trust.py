"""Trust, decay, expiry, disputes, corroboration by k of n peers, and the
rule that imported evidence alone never enforces."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from distillguard._types import Action, Family
from distillguard.detectors.base import Finding
from distillguard.exchange import (
    ExchangeStore,
    KeyRing,
    Kind,
    Mapper,
    OpinionValue,
    Publisher,
    build_publication,
    import_objects,
    trust_view,
)
from distillguard.scoring import AccountScore, Profile, load_profile

from .conftest import NOW, config, peer_of, small_derived

CIDR = (Kind.CIDR, None, "198.51.100.0/24")


def _store_with(keys: KeyRing, *pubs: Publisher, now=NOW) -> ExchangeStore:  # type: ignore[no-untyped-def]
    store = ExchangeStore()
    for p in pubs:
        objs = build_publication(Mapper(p), small_derived(keys, now), now=now)
        assert not import_objects(store, peer_of(p), objs, now=NOW).rejected
    return store


def test_support_follows_trust_confidence_and_decay(keys: KeyRing, pub_a: Publisher) -> None:
    store = _store_with(keys, pub_a)
    now = NOW.timestamp()
    fresh = trust_view(store, config("B", peer_of(pub_a, 0.8)), now=now).values[CIDR]
    assert abs(fresh.support - 0.8 * 0.85) < 1e-3
    later = trust_view(store, config("B", peer_of(pub_a, 0.8)), now=now + 14 * 86400).values[CIDR]
    assert abs(later.support - fresh.support / 2) < 1e-3  # one half-life
    assert CIDR not in trust_view(store, config("B", peer_of(pub_a)), now=now + 31 * 86400).values
    untrusted = trust_view(store, config("B", peer_of(pub_a, 0.0)), now=now).values[CIDR]
    assert untrusted.support == 0.0


def test_k_of_n_corroboration(keys: KeyRing, pub_a: Publisher) -> None:
    pub_c = Publisher.generate("Provider C")
    one = trust_view(_store_with(keys, pub_a), config("B", peer_of(pub_a)), now=NOW.timestamp())
    assert not one.values[CIDR].corroborated
    store = _store_with(keys, pub_a, pub_c)
    cfg = config("B", peer_of(pub_a), peer_of(pub_c))
    two = trust_view(store, cfg, now=NOW.timestamp()).values[CIDR]
    assert two.corroborated and two.peers == {"Provider A", "Provider C"}
    assert two.support > one.values[CIDR].support
    strict = config("B", peer_of(pub_a), peer_of(pub_c), corroboration={"min_peers": 3})
    assert not trust_view(store, strict, now=NOW.timestamp()).values[CIDR].corroborated


def test_a_disagreeing_peer_marks_disputed(keys: KeyRing, pub_a: Publisher) -> None:
    store = _store_with(keys, pub_a)
    pub_c = Publisher.generate("Provider C")
    ind_id = (
        trust_view(store, config("B", peer_of(pub_a)), now=NOW.timestamp())
        .values[CIDR]
        .indicators[0]
    )
    mapper_c = Mapper(pub_c)
    op = mapper_c.opinion([ind_id], OpinionValue.STRONGLY_DISAGREE, "our customer", NOW)
    objs = [mapper_c.identity(), op, pub_c.attest([mapper_c.identity(), op], NOW)]
    assert not import_objects(store, peer_of(pub_c), objs, now=NOW).rejected
    cfg = config("B", peer_of(pub_a), peer_of(pub_c))
    v = trust_view(store, cfg, now=NOW.timestamp()).values[CIDR]
    assert v.disputed and not v.corroborated
    assert abs(v.support - 0.7 * 0.85 * cfg.dispute_factor) < 1e-3


def _acc(families: set[Family], findings: list[Finding], score: float = 0.9) -> AccountScore:
    return AccountScore("acct", score=score, own_score=score, families=families, findings=findings)


def _exchange(corroborated: bool) -> Finding:
    return Finding(
        "exchange", Family.EXCHANGE, ("acct",), 0.9, "peer", {"corroborated": corroborated}
    )


PERMISSIVE = Profile.model_validate(
    {"name": "permissive", "rules": [{"action": "suspend", "min_account_score": 0.5}]}
)


def test_imported_evidence_alone_reaches_review_never_enforcement() -> None:
    acc = _acc({Family.EXCHANGE}, [_exchange(False)], score=0.6)
    assert load_profile().decide(acc, None) is Action.REVIEW
    # Even a profile that would suspend on any score does not enforce on it.
    assert PERMISSIVE.decide(acc, None) is Action.ALLOW


def test_corroboration_by_peers_or_own_evidence_lifts_the_guard() -> None:
    assert PERMISSIVE.decide(_acc({Family.EXCHANGE}, [_exchange(True)]), None) is Action.SUSPEND
    own = Finding("volume", Family.BEHAVIOUR, ("acct",), 0.9, "heavy")
    both = _acc({Family.EXCHANGE, Family.BEHAVIOUR}, [_exchange(False), own])
    assert PERMISSIVE.decide(both, None) is Action.SUSPEND
    # Without imported evidence nothing changes.
    assert PERMISSIVE.decide(_acc(set(), [], 0.55), None) is Action.SUSPEND


def test_expired_indicators_are_purged(keys: KeyRing, pub_a: Publisher) -> None:
    store = _store_with(keys, pub_a)
    assert store.purge_expired((NOW + timedelta(days=31)).timestamp()) == 6
    assert store.query("SELECT count(*) FROM indicator_value")[0][0] == 0


def test_imported_evidence_is_never_harvest() -> None:
    from distillguard.scoring.fuse import _local_score

    own = Finding("volume", Family.BEHAVIOUR, ("acct",), 0.5, "heavy")
    acc = _acc({Family.EXCHANGE}, [_exchange(False), own])
    assert _local_score(acc) == _local_score(_acc(set(), [own]))
    assert _local_score(_acc({Family.EXCHANGE}, [_exchange(True)])) == 0.0


def test_columnar_view_finds_keyed_digests_and_drops_allowlisted_values(
    keys: KeyRing, pub_a: Publisher
) -> None:
    view = trust_view(_store_with(keys, pub_a), config("B", peer_of(pub_a)), now=NOW.timestamp())
    assert len(view.values) == len(view) == 9  # 2 CIDRs, ASN, JA4, UA, 3 bands, payment
    key_id = keys.active.key_id
    assert view.key_ids(Kind.PROMPT_BAND) == [key_id]
    local = keys.active.hasher(Kind.PROMPT_BAND).u64(np.array([12, 99, 11], np.uint64))
    rows = view.lookup(Kind.PROMPT_BAND, key_id, local)
    assert rows[1] == -1 and rows[0] >= 0 and rows[2] >= 0
    hit = view.support(int(rows[0]))
    assert hit.campaigns and hit.indicators and abs(hit.support - 0.7 * 0.85) < 1e-3
    assert (view.lookup(Kind.PROMPT_BAND, "other-key", local) == -1).all()
    start, cidrs = view.rows(Kind.CIDR)
    assert sorted(cidrs.column("value").to_pylist()) == ["198.51.100.0/24", "2001:db8:7::/48"]
    assert view.support(start).peers == {"Provider A"}
    kept = view.without(["198.51.100.0/24"])
    assert CIDR not in kept.values and len(kept) == len(view) - 1
