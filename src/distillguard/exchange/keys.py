"""The consortium key: keyed fingerprints that only members can compute.

Members share a secret key (with a key id) out of band. Every fingerprint
that would reveal something if sent in clear (prompt band hashes, wrapper
fingerprints, payment fingerprints, e-mail domains) is exported as a keyed
digest of it (AES-CMAC for 64-bit fingerprints, keyed BLAKE2b for strings),
with the key id. A member computes the same digests over
its *own* traffic and compares; an outsider without the key learns nothing
from a digest, not even whether two providers saw the same value.

What keying does not hide, from members who hold the key: a value that can be
enumerated. There are only 2**32 IPv4 addresses and a few million e-mail
domains; a member can hash them all and read the exported set back. So the
exchange never exports single IP addresses, and e-mail domains only when they
are dominated by a campaign (see ``docs/exchange.md``).

Rotation: a keyring holds one active key (used to export) and older keys
(still used to match what peers exported under them until those indicators
expire). Each family of value is hashed under its own personalisation, so a
band hash and a payment fingerprint with equal bytes give unrelated digests.

>>> ring = KeyRing.generate("k2026-01")
>>> h = ring.active.hasher("prompt-band")
>>> len(h.hex_u64([1, 2, 3])[0])
16
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import orjson
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from distillguard._exceptions import ConfigError

U64 = npt.NDArray[np.uint64]
#: Secret keys are 32 bytes (BLAKE2b accepts up to 64).
KEY_BYTES = 32


@dataclass(frozen=True, slots=True)
class KeyedHasher:
    """Keyed digests for one family of values under one consortium key.

    64-bit values (band hashes, wrapper ids) use AES-CMAC (RFC 4493): for a
    message of exactly one block, CMAC is one AES encryption of the block
    XOR a subkey, so a million values are done in one vectorised call. The
    block is the value (8 bytes, little-endian) followed by an 8-byte tag of
    the family; the digest is the first 8 bytes of the tag. Strings use keyed
    BLAKE2b personalised with the family."""

    key_id: str
    family: str
    _aes: bytes = field(repr=False)
    _k1: bytes = field(repr=False)
    _tag: bytes = field(repr=False)
    _proto: hashlib.blake2b = field(repr=False)

    def u64(self, values: U64 | Sequence[int]) -> U64:
        """64-bit keyed digests of 64-bit values."""
        v = np.ascontiguousarray(values, dtype="<u8")
        blocks = np.empty((len(v), 2), dtype="<u8")
        blocks[:, 0] = v
        blocks[:, 1] = np.frombuffer(self._tag, dtype="<u8")[0]
        k1 = np.frombuffer(self._k1, dtype="<u8")
        blocks ^= k1
        enc = Cipher(algorithms.AES(self._aes), modes.ECB()).encryptor()
        out = np.frombuffer(enc.update(blocks.tobytes()) + enc.finalize(), dtype="<u8")
        return out.reshape(-1, 2)[:, 0].astype(np.uint64)

    def text(self, values: Iterable[str]) -> U64:
        """64-bit keyed digests of strings (payment fingerprints, domains)."""
        proto = self._proto
        out = bytearray()
        for v in values:
            h = proto.copy()
            h.update(v.encode("utf-8"))
            out += h.digest()
        return np.frombuffer(bytes(out), dtype="<u8").astype(np.uint64)

    def hex_u64(self, values: U64 | Sequence[int]) -> list[str]:
        return [f"{int(v):016x}" for v in self.u64(values)]


def _cmac_k1(aes_key: bytes) -> bytes:
    """The first CMAC subkey (RFC 4493, 2.3)."""
    enc = Cipher(algorithms.AES(aes_key), modes.ECB()).encryptor()
    lval = int.from_bytes(enc.update(bytes(16)) + enc.finalize(), "big")
    k1 = (lval << 1) & ((1 << 128) - 1)
    if lval >> 127:
        k1 ^= 0x87
    return k1.to_bytes(16, "big")


@dataclass(frozen=True, slots=True)
class ConsortiumKey:
    key_id: str
    secret: bytes = field(repr=False)
    created: datetime
    retired: datetime | None = None

    def hasher(self, family: str) -> KeyedHasher:
        person = hashlib.blake2b(family.encode(), digest_size=16).digest()
        proto = hashlib.blake2b(key=self.secret, digest_size=8, person=person)
        aes = hashlib.blake2b(b"aes-cmac", key=self.secret, digest_size=32, person=person).digest()
        tag = hashlib.blake2b(family.encode(), digest_size=8, person=b"dg-family").digest()
        return KeyedHasher(self.key_id, family, aes, _cmac_k1(aes), tag, proto)


class KeyRing:
    """Consortium keys by id; the newest unretired one is active."""

    def __init__(self, keys: Sequence[ConsortiumKey]) -> None:
        if not keys:
            raise ConfigError("a keyring needs at least one consortium key")
        ids = [k.key_id for k in keys]
        if len(set(ids)) != len(ids):
            raise ConfigError(f"duplicate consortium key ids: {ids}")
        self.keys = {k.key_id: k for k in keys}

    @classmethod
    def generate(cls, key_id: str) -> KeyRing:
        return cls([_new_key(key_id)])

    @property
    def active(self) -> ConsortiumKey:
        live = [k for k in self.keys.values() if k.retired is None]
        if not live:
            raise ConfigError("every consortium key is retired; add a new one")
        return max(live, key=lambda k: k.created)

    def get(self, key_id: str) -> ConsortiumKey | None:
        return self.keys.get(key_id)

    def rotate(self, new_id: str) -> ConsortiumKey:
        """Add a new active key and retire the others (kept for matching)."""
        if new_id in self.keys:
            raise ConfigError(f"consortium key {new_id!r} exists already")
        now = datetime.now(UTC)
        for kid, k in list(self.keys.items()):
            if k.retired is None:
                self.keys[kid] = ConsortiumKey(k.key_id, k.secret, k.created, now)
        key = _new_key(new_id)
        self.keys[new_id] = key
        return key

    def add(self, key: ConsortiumKey) -> None:
        if key.key_id in self.keys:
            raise ConfigError(f"consortium key {key.key_id!r} exists already")
        self.keys[key.key_id] = key

    # -- files -----------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the keyring (owner-only permissions: it holds secrets)."""
        data = [
            {
                "key_id": k.key_id,
                "secret": base64.b64encode(k.secret).decode(),
                "created": k.created.isoformat(),
                "retired": k.retired.isoformat() if k.retired else None,
            }
            for k in self.keys.values()
        ]
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(orjson.dumps({"keys": data}, option=orjson.OPT_INDENT_2))

    @classmethod
    def load(cls, path: str | Path) -> KeyRing:
        try:
            data = orjson.loads(Path(path).read_bytes())
            keys = [
                ConsortiumKey(
                    str(k["key_id"]),
                    base64.b64decode(k["secret"], validate=True),
                    datetime.fromisoformat(k["created"]),
                    datetime.fromisoformat(k["retired"]) if k.get("retired") else None,
                )
                for k in data["keys"]
            ]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"cannot read consortium keyring {path}: {exc}") from exc
        for k in keys:
            if len(k.secret) < 16:
                raise ConfigError(f"consortium key {k.key_id!r} is shorter than 16 bytes")
        return cls(keys)


def _new_key(key_id: str) -> ConsortiumKey:
    return ConsortiumKey(key_id, secrets.token_bytes(KEY_BYTES), datetime.now(UTC))
