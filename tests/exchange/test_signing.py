"""Unsigned, forged, tampered, relayed and replayed publications are
rejected and logged with the reason; valid ones are applied."""

from __future__ import annotations

import copy
from datetime import timedelta

from distillguard.exchange import (
    ExchangeStore,
    KeyRing,
    Mapper,
    Publisher,
    build_publication,
    import_objects,
)

from .conftest import NOW, peer_of, small_derived


def _objects(keys: KeyRing, mapper: Mapper, now=NOW) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    return build_publication(mapper, small_derived(keys, now), now=now)


def test_valid_publication_is_applied(keys: KeyRing, pub_a: Publisher, mapper_a: Mapper) -> None:
    store = ExchangeStore()
    r = import_objects(store, peer_of(pub_a), _objects(keys, mapper_a), now=NOW)
    assert r.rejected == []
    assert store.query("SELECT count(*) FROM indicator")[0][0] == 6


def test_unsigned_objects_are_rejected(keys: KeyRing, pub_a: Publisher, mapper_a: Mapper) -> None:
    store = ExchangeStore()
    objs = [o for o in _objects(keys, mapper_a) if o["type"] != "report"]
    r = import_objects(store, peer_of(pub_a), objs, now=NOW)
    assert r.accepted == 0 and r.rejected
    assert all("unsigned" in reason for _, reason in r.rejected)
    assert store.rejects("Provider A")


def test_forged_signature_is_rejected(keys: KeyRing, pub_a: Publisher) -> None:
    forger = Publisher(pub_a.name, Publisher.generate("x").private_key)
    r = import_objects(ExchangeStore(), peer_of(pub_a), _objects(keys, Mapper(forger)), now=NOW)
    assert r.accepted == 0
    assert any("pinned key" in reason for _, reason in r.rejected)


def test_tampered_object_is_rejected(keys: KeyRing, pub_a: Publisher, mapper_a: Mapper) -> None:
    objs = copy.deepcopy(_objects(keys, mapper_a))
    ind = next(o for o in objs if o["type"] == "indicator")
    ind["confidence"] = 100
    r = import_objects(ExchangeStore(), peer_of(pub_a), objs, now=NOW)
    assert (ind["id"], "tampered: digest differs from the signed one") in r.rejected


def test_tampered_attestation_is_rejected(
    keys: KeyRing, pub_a: Publisher, mapper_a: Mapper
) -> None:
    objs = copy.deepcopy(_objects(keys, mapper_a))
    objs[-1]["name"] = "edited"
    r = import_objects(ExchangeStore(), peer_of(pub_a), objs, now=NOW)
    assert r.accepted == 0
    assert any("forged or tampered" in reason for _, reason in r.rejected)


def test_replayed_publication_is_rejected(
    keys: KeyRing, pub_a: Publisher, mapper_a: Mapper
) -> None:
    store = ExchangeStore()
    objs = _objects(keys, mapper_a)
    import_objects(store, peer_of(pub_a), objs, now=NOW)
    again = import_objects(store, peer_of(pub_a), objs, now=NOW)
    assert again.accepted == 0
    assert any("replayed publication" in reason for _, reason in again.rejected)


def test_stale_publication_is_rejected(keys: KeyRing, pub_a: Publisher, mapper_a: Mapper) -> None:
    old = _objects(keys, mapper_a, NOW - timedelta(days=60))
    r = import_objects(ExchangeStore(), peer_of(pub_a), old, now=NOW)
    assert any("stale publication" in reason for _, reason in r.rejected)


def test_old_version_is_a_replay(keys: KeyRing, pub_a: Publisher, mapper_a: Mapper) -> None:
    store = ExchangeStore()
    new = _objects(keys, mapper_a, NOW)
    old = _objects(keys, mapper_a, NOW - timedelta(days=1))
    import_objects(store, peer_of(pub_a), new, now=NOW)
    r = import_objects(store, peer_of(pub_a), old, now=NOW)
    assert any("replayed old version" in reason for _, reason in r.rejected)


def test_objects_relayed_for_another_publisher_are_rejected(
    keys: KeyRing, pub_a: Publisher, mapper_a: Mapper
) -> None:
    relay = Publisher.generate("Provider C")
    objs = [o for o in _objects(keys, mapper_a) if o["type"] != "report"]
    objs.append(relay.attest(objs, NOW))
    r = import_objects(ExchangeStore(), peer_of(relay), objs, now=NOW)
    assert r.accepted == 0
    assert any("not created by the peer" in reason for _, reason in r.rejected)
