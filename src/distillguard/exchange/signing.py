"""Publisher identities and signed publications (Ed25519).

STIX 2.1 has no signature of its own, and TAXII serves objects one page at a
time rather than as the bundles they were published in. So each publication
carries one signed *attestation*: a STIX Report listing the publication's
objects with a digest of each (BLAKE2b-256 of its canonical JSON: sorted keys,
no spaces) and an Ed25519 signature over the report itself. A consumer
verifies the report against the publisher's pinned public key, then each
object against its digest. An object no verified report covers is unsigned.

One signature per publication keeps the cost at one digest per object, so a
million indicators are signed and verified in seconds.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from distillguard._exceptions import ConfigError
from distillguard.exchange.errors import SignatureError

JSON = dict[str, Any]
#: Namespace of the exchange's deterministic STIX ids.
NAMESPACE = uuid.UUID("6b1c3c1e-7a0b-5d0e-9f4e-2f1d7c9a4b10")
#: The property extension that carries DistillGuard's own fields.
EXT_ID = "extension-definition--1f0b5a4e-2c43-4d5e-9b7a-8e6c3d2f1a90"


def canonical(obj: Mapping[str, Any]) -> bytes:
    """Canonical JSON: sorted keys, compact separators, UTF-8."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def digest(obj: Mapping[str, Any]) -> str:
    return hashlib.blake2b(canonical(obj), digest_size=32).hexdigest()


def identity_id(name: str) -> str:
    """The STIX identity id of a provider, stable across publications."""
    raw = uuid.uuid5(NAMESPACE, "provider:" + name)
    return f"identity--{uuid.UUID(bytes=raw.bytes, version=4)}"


def key_fingerprint(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:32]


def public_key_text(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def load_public_key(text: str) -> Ed25519PublicKey:
    """A public key as base64 of its 32 raw bytes."""
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
    except ValueError as exc:
        raise ConfigError(f"not an Ed25519 public key: {text!r}") from exc


@dataclass(frozen=True, slots=True)
class Publisher:
    """A provider that publishes: its name, STIX identity and signing key."""

    name: str
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> Publisher:
        return cls(name, Ed25519PrivateKey.generate())

    @property
    def identity(self) -> str:
        return identity_id(self.name)

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def salt(self) -> bytes:
        """A secret of this publisher's, for ids that must not reveal local ids."""
        raw = self.private_key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return hashlib.blake2b(raw, digest_size=32, person=b"dg-ids").digest()

    def save(self, path: str | Path) -> None:
        pem = self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(pem)
        p.chmod(0o600)

    @classmethod
    def load(cls, name: str, path: str | Path) -> Publisher:
        try:
            key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read signing key {path}: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(f"{path} is not an Ed25519 private key")
        return cls(name, key)

    def attest(self, objects: Sequence[Mapping[str, Any]], now: datetime | None = None) -> JSON:
        """The signed attestation (a STIX Report) of one publication."""
        stamp = _ts(now or datetime.now(UTC))
        digests = {
            f"{o['id']}|{o.get('modified', o.get('created', ''))}": digest(o) for o in objects
        }
        report: JSON = {
            "type": "report",
            "spec_version": "2.1",
            "id": f"report--{uuid.uuid4()}",
            "created": stamp,
            "modified": stamp,
            "created_by_ref": self.identity,
            "name": f"signed publication of {self.name}",
            "report_types": ["threat-report"],
            "published": stamp,
            "object_refs": sorted({str(o["id"]) for o in objects}) or [self.identity],
            "extensions": {
                EXT_ID: {
                    "extension_type": "property-extension",
                    "digests": digests,
                    "key": key_fingerprint(self.public_key),
                }
            },
        }
        signature = self.private_key.sign(canonical(report))
        report["extensions"][EXT_ID]["signature"] = base64.b64encode(signature).decode()
        return report


def verify_attestation(report: Mapping[str, Any], public: Ed25519PublicKey) -> dict[str, str]:
    """Check the report's signature; return its digests (``id|modified`` →
    digest). Raises :class:`SignatureError` with the reason."""
    ext = (report.get("extensions") or {}).get(EXT_ID)
    if not isinstance(ext, dict) or "signature" not in ext:
        raise SignatureError("unsigned: the report carries no signature")
    if ext.get("key") != key_fingerprint(public):
        raise SignatureError("signed with a key other than the peer's pinned key")
    body = {k: v for k, v in report.items() if k != "extensions"}
    body["extensions"] = {
        **report["extensions"],
        EXT_ID: {k: v for k, v in ext.items() if k != "signature"},
    }
    try:
        public.verify(base64.b64decode(ext["signature"], validate=True), canonical(body))
    except (InvalidSignature, ValueError) as exc:
        raise SignatureError("forged or tampered: the signature does not verify") from exc
    digests = ext.get("digests")
    if not isinstance(digests, dict):
        raise SignatureError("malformed attestation: no digests")
    return {str(k): str(v) for k, v in digests.items()}


def _ts(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
