"""The exchange's records as STIX 2.1 objects, and back.

* an **Identity** per provider; a **Campaign** per shared operation, with its
  capability profile and timing shape in DistillGuard's property extension;
* an **Indicator** per kind of value (split in chunks for long lists) with a
  STIX pattern, ``confidence``, ``valid_from``/``valid_until`` and ``revoked``,
  and a **Relationship** ``indicates`` to its campaign. Network values use
  standard observables (``ipv4-addr``, ``autonomous-system``, the HTTP
  ``User-Agent`` header); JA4 and the keyed fingerprints use a new
  observable type, ``distillguard-fingerprint``, declared by an extension
  definition;
* a **Sighting** ("seen here too", or a false positive) and an **Opinion**
  (agree/disagree) from a consumer back to the publisher;
* TLP 2.0 markings (the OASIS marking definitions) on every object.

Low-volume objects are built with the ``stix2`` library. Indicators are built
as plain dicts of the same shape, because ``stix2`` parses every pattern
(about 0.4 ms each, over six minutes for a million indicators); the tests
check every indicator shape with ``stix2`` and ``stix2-validator``.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import stix2

from distillguard.exchange.model import CampaignIntel, Indicator, Kind, OpinionValue, Tlp
from distillguard.exchange.signing import EXT_ID, JSON, NAMESPACE, Publisher, identity_id

#: The new observable type of JA4 and keyed fingerprints.
FINGERPRINT_SCO = "distillguard-fingerprint"
EXT_SCO_ID = "extension-definition--8c2d9e7a-4b1f-4c3a-a5e6-0d9b7f3c2e14"
PROJECT_IDENTITY = identity_id("DistillGuard project")
_DEFINED = "2026-01-01T00:00:00.000Z"
SCHEMA_URL = "https://github.com/distillguard/distillguard/blob/main/docs/exchange.md"

#: The OASIS TLP 2.0 marking definitions (extension-definition--60a3c5c5-…).
TLP_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP_IDS = {
    Tlp.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Tlp.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Tlp.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    Tlp.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP_OASIS_IDENTITY = "identity--b3bca3c2-1f3d-4b54-b44f-dac42c3a8f01"


def tlp_marking(level: Tlp) -> JSON:
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP_IDS[level],
        "created": "2022-10-01T00:00:00.000Z",
        "created_by_ref": TLP_OASIS_IDENTITY,
        "name": f"TLP:{level.upper()}",
        "extensions": {TLP_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": level}},
    }


def definitions() -> list[JSON]:
    """The project identity and the two extension definitions every bundle
    refers to."""
    project = stix2.Identity(
        id=PROJECT_IDENTITY,
        created=_DEFINED,
        modified=_DEFINED,
        name="DistillGuard project",
        identity_class="organization",
    )
    props = stix2.ExtensionDefinition(
        id=EXT_ID,
        created_by_ref=PROJECT_IDENTITY,
        created=_DEFINED,
        modified=_DEFINED,
        name="DistillGuard exchange properties",
        description="Campaign capability and timing, indicator kind and consortium key id, "
        "false-positive sightings, and the signed attestation of a publication.",
        schema=SCHEMA_URL,
        version="1.0.0",
        extension_types=["property-extension"],
    )
    sco = stix2.ExtensionDefinition(
        id=EXT_SCO_ID,
        created_by_ref=PROJECT_IDENTITY,
        created=_DEFINED,
        modified=_DEFINED,
        name="distillguard-fingerprint",
        description="A client fingerprint (JA4) or a keyed fingerprint computed under a "
        "consortium key: kind, key_id, value.",
        schema=SCHEMA_URL,
        version="1.0.0",
        extension_types=["new-sco"],
    )
    return [_plain(project), _plain(props), _plain(sco)]


def ts(t: datetime) -> str:
    t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Mapper:
    """Maps one publisher's records onto STIX objects with stable ids."""

    def __init__(self, publisher: Publisher, tlp: Tlp = Tlp.AMBER) -> None:
        self.publisher = publisher
        self.tlp = tlp
        self._ns = uuid.uuid5(NAMESPACE, publisher.identity)
        self._salt = publisher.salt

    def _id(self, kind: str, *parts: object) -> str:
        return stable_id(kind, self._ns, *parts)

    def campaign_id(self, local_id: str) -> str:
        """A campaign's STIX id: stable for a local id, and revealing nothing
        about it (local ids derive from account ids)."""
        hidden = hashlib.blake2b(local_id.encode(), key=self._salt, digest_size=16).hexdigest()
        return self._id("campaign", hidden)

    def identity(self) -> JSON:
        ident = stix2.Identity(
            id=self.publisher.identity,
            created=_DEFINED,
            modified=_DEFINED,
            name=self.publisher.name,
            identity_class="organization",
            sectors=["technology"],
        )
        return _plain(ident)

    def campaign(self, c: CampaignIntel, modified: datetime) -> JSON:
        cid = self.campaign_id(c.local_id)
        obj = stix2.Campaign(
            id=cid,
            created=ts(c.first_seen),
            modified=ts(max(modified, c.first_seen)),
            created_by_ref=self.publisher.identity,
            name=c.name or f"distillation campaign {cid[-12:]}",
            description="Adversarial distillation: many accounts harvesting model answers.",
            first_seen=ts(c.first_seen),
            last_seen=ts(max(c.last_seen, c.first_seen)),
            objective="harvest model outputs and reasoning traces to train another model",
            confidence=c.confidence,
            object_marking_refs=[TLP_IDS[self.tlp]],
            extensions={
                EXT_ID: {
                    "extension_type": "property-extension",
                    "accounts": c.accounts,
                    "requests": c.requests,
                    "capability": c.capability,
                    "timing": c.timing,
                }
            },
        )
        return _plain(obj)

    def indicator(self, ind: Indicator, modified: datetime) -> JSON:
        cid = self.campaign_id(ind.campaign)
        iid = self._id("indicator", cid, ind.kind, ind.chunk)
        ext: JSON = {"extension_type": "property-extension", "kind": str(ind.kind)}
        if ind.key_id:
            ext["key_id"] = ind.key_id
        stamp = ts(modified)
        obj: JSON = {
            "type": "indicator",
            "spec_version": "2.1",
            "id": iid,
            "created_by_ref": self.publisher.identity,
            "created": ts(ind.valid_from),
            "modified": stamp,
            "name": f"{ind.kind} of {cid}",
            "description": _DESCRIBE[ind.kind],
            "indicator_types": ["malicious-activity"],
            "pattern": pattern(ind.kind, ind.values, ind.key_id),
            "pattern_type": "stix",
            "pattern_version": "2.1",
            "valid_from": ts(ind.valid_from),
            "valid_until": ts(ind.valid_until),
            "confidence": ind.confidence,
            "revoked": ind.revoked,
            "object_marking_refs": [TLP_IDS[self.tlp]],
            "extensions": {EXT_ID: ext},
        }
        return obj

    def indicates(self, indicator_id: str, campaign_id: str, created: datetime) -> JSON:
        """The ``indicates`` relationship (a plain dict: there is one per
        indicator, see :meth:`indicator`)."""
        stamp = ts(created)
        return {
            "type": "relationship",
            "spec_version": "2.1",
            "id": self._id("relationship", indicator_id, "indicates", campaign_id),
            "created_by_ref": self.publisher.identity,
            "created": stamp,
            "modified": stamp,
            "relationship_type": "indicates",
            "source_ref": indicator_id,
            "target_ref": campaign_id,
            "object_marking_refs": [TLP_IDS[self.tlp]],
        }

    def sighting(
        self,
        indicator_id: str,
        count: int,
        when: datetime,
        *,
        false_positive: bool = False,
        publisher_identity: str | None = None,
    ) -> JSON:
        """ "Seen here too" (``count`` accounts matched and acted on here), or
        a false positive (matched customers known to be legitimate)."""
        s = stix2.Sighting(
            id=self._id("sighting", indicator_id, "fp" if false_positive else "tp"),
            created=ts(when),
            modified=ts(when),
            created_by_ref=self.publisher.identity,
            sighting_of_ref=indicator_id,
            count=max(0, count),
            first_seen=ts(when),
            last_seen=ts(when),
            where_sighted_refs=[self.publisher.identity],
            summary=True,
            object_marking_refs=[TLP_IDS[self.tlp]],
            extensions={
                EXT_ID: {
                    "extension_type": "property-extension",
                    "false_positive": false_positive,
                    **({"publisher": publisher_identity} if publisher_identity else {}),
                }
            },
        )
        return _plain(s)

    def opinion(
        self, object_ids: Sequence[str], value: OpinionValue, explanation: str, when: datetime
    ) -> JSON:
        op = stix2.Opinion(
            id=self._id("opinion", *sorted(object_ids)),
            created=ts(when),
            modified=ts(when),
            created_by_ref=self.publisher.identity,
            opinion=str(value),
            explanation=explanation,
            object_refs=list(object_ids),
            object_marking_refs=[TLP_IDS[self.tlp]],
        )
        return _plain(op)


def stable_id(kind: str, namespace: uuid.UUID, *parts: object) -> str:
    """A STIX id that is the same for the same parts: a name-based UUID laid
    out as version 4, as STIX recommends for domain objects."""
    name = uuid.uuid5(namespace, "|".join(str(p) for p in parts))
    return f"{kind}--{uuid.UUID(bytes=name.bytes, version=4)}"


def bundle(objects: Iterable[Mapping[str, Any]]) -> JSON:
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": list(objects)}


def _plain(obj: Any) -> JSON:
    """A ``stix2`` object as a plain dict of JSON types."""
    import orjson

    out: JSON = orjson.loads(obj.serialize())
    return out


_DESCRIBE = {
    Kind.CIDR: "Networks the campaign's accounts connected from, dominated by them.",
    Kind.ASN: "Autonomous systems dominated by the campaign's accounts.",
    Kind.JA4: "TLS client fingerprints (JA4) of the campaign's clients.",
    Kind.USER_AGENT: "HTTP user agents of the campaign's clients.",
    Kind.PROMPT_BAND: "Keyed MinHash/LSH band hashes of the campaign's prompts.",
    Kind.WRAPPER: "Keyed fingerprints of the templates the campaign wraps prompts in.",
    Kind.PAYMENT: "Keyed fingerprints of the campaign's payment instruments.",
    Kind.EMAIL_DOMAIN: "Keyed sign-up e-mail domains dominated by the campaign.",
}

# -- patterns ---------------------------------------------------------------------

_UA_PATH = "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'"


def quote(value: str) -> str:
    """A STIX pattern string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def pattern(kind: Kind, values: Sequence[str], key_id: str | None = None) -> str:
    """The STIX pattern matching any of ``values`` of ``kind``."""
    if kind is Kind.CIDR:
        return " OR ".join(
            f"[{'ipv6-addr' if ':' in v else 'ipv4-addr'}:value ISSUBSET {quote(v)}]"
            for v in values
        )
    if kind is Kind.ASN:
        return " OR ".join(f"[autonomous-system:number = {int(v)}]" for v in values)
    if kind is Kind.USER_AGENT:
        return " OR ".join(f"[{_UA_PATH} = {quote(v)}]" for v in values)
    sco = FINGERPRINT_SCO
    head = f"[{sco}:kind = {quote(str(kind))}"
    if key_id:
        head += f" AND {sco}:key_id = {quote(key_id)}"
    if len(values) == 1:
        return f"{head} AND {sco}:value = {quote(values[0])}]"
    return f"{head} AND {sco}:value IN ({', '.join(quote(v) for v in values)})]"


_LITERAL = re.compile(r"'((?:[^'\\]|\\.)*)'")
_ISSUBSET = re.compile(r"ISSUBSET\s+'((?:[^'\\]|\\.)*)'")
_ASN = re.compile(r"autonomous-system:number\s*=\s*(\d+)")
_UA = re.compile(r"'User-Agent'\s*=\s*'((?:[^'\\]|\\.)*)'")
_FP_VALUE = re.compile(rf"{FINGERPRINT_SCO}:value\s*(?:=|IN)\s*\(?(.*?)\)?\]\s*$", re.S)


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def pattern_values(kind: Kind, text: str) -> list[str]:
    """The values of a pattern written by :func:`pattern`; ``ValueError`` for
    a pattern of another shape."""
    if kind is Kind.CIDR:
        found = [_unquote(v) for v in _ISSUBSET.findall(text)]
    elif kind is Kind.ASN:
        found = _ASN.findall(text)
    elif kind is Kind.USER_AGENT:
        found = [_unquote(v) for v in _UA.findall(text)]
    else:
        m = _FP_VALUE.search(text)
        found = [_unquote(v) for v in _LITERAL.findall(m.group(1))] if m else []
    if not found:
        raise ValueError(f"no {kind} values in pattern")
    return found
