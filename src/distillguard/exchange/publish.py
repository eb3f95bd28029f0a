"""Publishing: records → signed STIX objects in the outbound collection.

A publication is the campaigns and indicators of one detection run, plus
revocations of what an earlier publication said and this one no longer does
(an indicator's id is stable for a campaign, kind and chunk, so a new version
replaces the old one and a missing one is revoked), plus feedback on peers'
indicators (sightings and opinions). One signed attestation covers it all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from distillguard.exchange.derive import Derived
from distillguard.exchange.model import OpinionValue
from distillguard.exchange.stix import Mapper, bundle, definitions, tlp_marking, ts
from distillguard.exchange.store import ExchangeStore

JSON = dict[str, Any]
OUTBOUND = "outbound"
INBOX = "inbox"


def build_publication(
    mapper: Mapper,
    derived: Derived,
    *,
    previous: Sequence[Mapping[str, Any]] = (),
    feedback: Sequence[JSON] = (),
    now: datetime | None = None,
) -> list[JSON]:
    """The objects of one publication, attestation last (no definitions)."""
    now = now or datetime.now(UTC)
    objects: list[JSON] = [mapper.identity()]
    for c in derived.campaigns:
        objects.append(mapper.campaign(c, now))
    live: set[str] = set()
    for ind in derived.indicators:
        obj = mapper.indicator(ind, now)
        live.add(obj["id"])
        objects.append(obj)
        objects.append(mapper.indicates(obj["id"], mapper.campaign_id(ind.campaign), now))
    stamp = ts(now)
    for old in previous:
        if old["id"] not in live and not old.get("revoked"):
            objects.append({**old, "modified": max(stamp, str(old["modified"])), "revoked": True})
    objects.extend(feedback)
    objects.append(mapper.publisher.attest(objects, now))
    return objects


def publish(
    store: ExchangeStore,
    mapper: Mapper,
    derived: Derived,
    *,
    feedback: Sequence[JSON] = (),
    now: datetime | None = None,
) -> JSON:
    """Publish to the outbound collection; returns the publication as a
    bundle (with the definitions it refers to)."""
    previous = [
        o
        for o in _all(store, OUTBOUND, "indicator")
        if o.get("created_by_ref") == mapper.publisher.identity
    ]
    objects = build_publication(mapper, derived, previous=previous, feedback=feedback, now=now)
    store.add_objects(OUTBOUND, [*definitions(), tlp_marking(mapper.tlp), *objects])
    return bundle([*definitions(), tlp_marking(mapper.tlp), *objects])


def feedback_objects(
    mapper: Mapper,
    matched: Mapping[str, int],
    false_positives: Mapping[str, int],
    publishers: Mapping[str, str],
    now: datetime | None = None,
) -> list[JSON]:
    """Sightings and opinions on peers' indicators: "seen here too" for
    indicators whose matched accounts were acted on here, false positives for
    those that matched customers known to be legitimate."""
    now = now or datetime.now(UTC)
    out: list[JSON] = []
    for iid, n in sorted(matched.items()):
        if iid in publishers and n > 0:
            out.append(mapper.sighting(iid, n, now))
            out.append(mapper.opinion([iid], OpinionValue.AGREE, "seen here too", now))
    for iid, n in sorted(false_positives.items()):
        if iid in publishers:
            out.append(mapper.sighting(iid, n, now, false_positive=True))
            out.append(
                mapper.opinion(
                    [iid],
                    OpinionValue.STRONGLY_DISAGREE,
                    f"false positive: matched {n} customers known to be legitimate",
                    now,
                )
            )
    return out


def _all(store: ExchangeStore, collection: str, kind: str) -> list[JSON]:
    out: list[JSON] = []
    after: int | None = None
    while True:
        page = store.page(collection, added_after=after, limit=10_000, types=[kind])
        out.extend(page.objects)
        if not page.more:
            return out
        after = page.date_added[-1]
