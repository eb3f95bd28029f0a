"""Import peers' publications: verify, then apply.

For each object a peer sends, in this order:

1. an attestation (signed Report) must verify against the peer's pinned key,
   must not have been seen before (a replayed publication) and must not be
   older than ``max_age`` (a stale one);
2. the object must be created by that peer (``created_by_ref``), be covered
   by a verified attestation, and match its digest (else it is unsigned,
   relayed or tampered);
3. its version must be newer than the one stored (else it is a replay of an
   old version; the same version again is a harmless duplicate).

Everything rejected is logged with its reason, in the store and to the
``distillguard.exchange`` logger. Nothing rejected is applied.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from distillguard.exchange.config import PeerConfig
from distillguard.exchange.errors import SignatureError
from distillguard.exchange.model import Kind, OpinionValue
from distillguard.exchange.signing import EXT_ID, digest, load_public_key, verify_attestation
from distillguard.exchange.stix import PROJECT_IDENTITY, parse_ts, pattern_values
from distillguard.exchange.store import ExchangeStore, version_of

log = logging.getLogger("distillguard.exchange")
JSON = dict[str, Any]
_CONSTANT_TYPES = {"marking-definition", "extension-definition"}


@dataclass(slots=True)
class ImportResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[str | None, str]] = field(default_factory=list)

    def reject(self, store: ExchangeStore, peer: str, object_id: str | None, reason: str) -> None:
        self.rejected.append((object_id, reason))
        store.log_reject(peer, object_id, reason)
        log.warning("rejected %s from %s: %s", object_id, peer, reason)


def import_objects(
    store: ExchangeStore,
    peer: PeerConfig,
    objects: Sequence[Mapping[str, Any]],
    *,
    max_age: timedelta = timedelta(days=30),
    now: datetime | None = None,
) -> ImportResult:
    """Verify and apply one batch of a peer's objects (a bundle, or what a
    pull returned)."""
    now = now or datetime.now(UTC)
    result = ImportResult()
    key = load_public_key(peer.public_key)
    digests: dict[str, str] = {}
    reports = [o for o in objects if o.get("type") == "report" and _ext(o).get("signature")]
    for r in reports:
        reason = _check_report(store, peer, r, now, max_age)
        if reason is None:
            try:
                digests.update(verify_attestation(r, key))
            except SignatureError as exc:
                reason = str(exc)
        if reason is not None:
            result.reject(store, peer.name, str(r.get("id")), reason)
            continue
        with store.transaction() as con:
            con.execute(
                "INSERT INTO attestation VALUES (?, ?, ?)", (r["id"], peer.name, r["published"])
            )
    body = [o for o in objects if not (o.get("type") == "report" and _ext(o).get("signature"))]
    accepted = _verified(store, peer, body, digests, result)
    _apply(store, peer, accepted, result)
    return result


def _check_report(
    store: ExchangeStore, peer: PeerConfig, r: Mapping[str, Any], now: datetime, max_age: timedelta
) -> str | None:
    if r.get("created_by_ref") != peer.identity:
        return "attestation not created by the peer"
    if store.query("SELECT 1 FROM attestation WHERE id = ?", (r.get("id"),)):
        return "replayed publication: attestation seen before"
    try:
        published = parse_ts(str(r["published"]))
    except (KeyError, ValueError):
        return "malformed attestation: no publication time"
    if now - published > max_age:
        return f"stale publication: published {published:%Y-%m-%d}, older than {max_age.days} days"
    if published - now > timedelta(minutes=10):
        return "publication dated in the future"
    return None


def _verified(
    store: ExchangeStore,
    peer: PeerConfig,
    objects: Sequence[Mapping[str, Any]],
    digests: Mapping[str, str],
    result: ImportResult,
) -> list[Mapping[str, Any]]:
    out = []
    for o in objects:
        oid = o.get("id")
        if o.get("type") in _CONSTANT_TYPES or oid == PROJECT_IDENTITY:
            continue  # well-known definitions: nothing to apply
        if o.get("created_by_ref", o.get("id")) != peer.identity:
            result.reject(
                store, peer.name, oid, "not created by the peer (relayed objects are not accepted)"
            )
            continue
        want = digests.get(f"{oid}|{o.get('modified', o.get('created', ''))}")
        if want is None:
            result.reject(store, peer.name, oid, "unsigned: no verified attestation covers it")
        elif want != digest(o):
            result.reject(store, peer.name, oid, "tampered: digest differs from the signed one")
        else:
            out.append(o)
    return out


_TABLE = {
    "indicator": "indicator",
    "campaign": "campaign",
    "opinion": "opinion",
    "sighting": "sighting",
}


def _apply(
    store: ExchangeStore,
    peer: PeerConfig,
    objects: Sequence[Mapping[str, Any]],
    result: ImportResult,
) -> None:
    by_table: dict[str, list[Mapping[str, Any]]] = {}
    for o in objects:
        table = _TABLE.get(str(o.get("type")))
        if table is None:
            result.accepted += 1  # identity, relationships: kept below or not at all
            continue
        by_table.setdefault(table, []).append(o)
    for table, objs in by_table.items():
        stored = store.stored_versions(table, [str(o["id"]) for o in objs])
        fresh = []
        for o in objs:
            have, version = stored.get(str(o["id"])), version_of(dict(o))
            if have is not None and have == version:
                result.duplicates += 1
            elif have is not None and have > version:
                result.reject(
                    store, peer.name, str(o["id"]), "replayed old version: a newer one is stored"
                )
            else:
                fresh.append(o)
        rows = _rows(table, peer.name, fresh, store, result)
        result.accepted += rows
    _link_campaigns(store, [o for o in objects if o.get("relationship_type") == "indicates"])


def _link_campaigns(store: ExchangeStore, relationships: Sequence[Mapping[str, Any]]) -> None:
    """Record which campaign each indicator indicates."""
    pairs = [
        (str(r["target_ref"]), str(r["source_ref"]))
        for r in relationships
        if str(r.get("target_ref", "")).startswith("campaign--")
    ]
    if pairs:
        with store.transaction() as con:
            con.executemany("UPDATE indicator SET campaign = ? WHERE id = ?", pairs)


def _rows(
    table: str,
    peer: str,
    objs: Sequence[Mapping[str, Any]],
    store: ExchangeStore,
    result: ImportResult,
) -> int:
    if not objs:
        return 0
    with store.transaction() as con:
        ids = [(str(o["id"]),) for o in objs]
        con.executemany(f"DELETE FROM {table} WHERE id = ?", ids)
        if table == "indicator":
            con.executemany("DELETE FROM indicator_value WHERE indicator = ?", ids)
            n = 0
            for o in objs:
                n += _indicator(con, peer, o, store, result)
            return n
        if table == "campaign":
            con.executemany(
                "INSERT INTO campaign VALUES (?, ?, ?, ?)",
                [(o["id"], peer, version_of(dict(o)), orjson.dumps(o)) for o in objs],
            )
        elif table == "opinion":
            con.executemany(
                "INSERT INTO opinion VALUES (?, ?, ?, ?, ?)",
                [
                    (
                        o["id"],
                        peer,
                        version_of(dict(o)),
                        OpinionValue(o["opinion"]).support,
                        orjson.dumps(list(o.get("object_refs", []))).decode(),
                    )
                    for o in objs
                ],
            )
        else:
            con.executemany(
                "INSERT INTO sighting VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        o["id"],
                        peer,
                        version_of(dict(o)),
                        o["sighting_of_ref"],
                        int(o.get("count", 1)),
                        int(bool(_ext(o).get("false_positive"))),
                    )
                    for o in objs
                ],
            )
    return len(objs)


def _indicator(
    con: Any, peer: str, o: Mapping[str, Any], store: ExchangeStore, result: ImportResult
) -> int:
    ext = _ext(o)
    try:
        kind = Kind(str(ext.get("kind")))
        values = pattern_values(kind, str(o["pattern"]))
        valid_from = parse_ts(str(o["valid_from"])).timestamp()
        until = o.get("valid_until")
        valid_until = parse_ts(str(until)).timestamp() if until else None
    except (ValueError, KeyError) as exc:
        result.reject(store, peer, str(o.get("id")), f"malformed indicator: {exc}")
        return 0
    key_id = ext.get("key_id")
    if kind.keyed and not key_id:
        result.reject(store, peer, str(o.get("id")), "keyed indicator without a key id")
        return 0
    con.execute(
        "INSERT INTO indicator VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            o["id"],
            peer,
            version_of(dict(o)),
            None,
            str(kind),
            key_id,
            int(o.get("confidence", 50)),
            valid_from,
            valid_until,
            int(bool(o.get("revoked"))),
        ),
    )
    con.executemany(
        "INSERT INTO indicator_value VALUES (?, ?, ?, ?)",
        [(o["id"], str(kind), key_id, v) for v in values],
    )
    return 1


def _ext(o: Mapping[str, Any]) -> Mapping[str, Any]:
    ext = (o.get("extensions") or {}).get(EXT_ID)
    return ext if isinstance(ext, dict) else {}


__all__ = ["ImportResult", "import_objects"]
