from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from distillguard._exceptions import ConfigError
from distillguard.exchange import KeyRing, Kind


def test_keyed_digests_are_stable_per_key_and_family(keys: KeyRing) -> None:
    h = keys.active.hasher(Kind.PROMPT_BAND)
    vals = np.array([1, 2, 2**63 + 5], dtype=np.uint64)
    assert (h.u64(vals) == h.u64(vals)).all()
    assert len(set(h.u64(vals).tolist())) == 3
    other_family = keys.active.hasher(Kind.WRAPPER).u64(vals)
    assert not np.isin(other_family, h.u64(vals)).any()
    other_key = KeyRing.generate("k1").active.hasher(Kind.PROMPT_BAND).u64(vals)
    assert not np.isin(other_key, h.u64(vals)).any()


def test_text_digests_do_not_contain_the_value(keys: KeyRing) -> None:
    h = keys.active.hasher(Kind.EMAIL_DOMAIN)
    d = h.text(["example.com"])
    assert len(d) == 1 and "example" not in f"{int(d[0]):016x}"


def test_rotation_keeps_old_keys_for_matching(tmp_path: Path, keys: KeyRing) -> None:
    old = keys.active
    new = keys.rotate("k2")
    assert keys.active is new and keys.get("k1") is not None
    assert keys.get("k1").retired is not None  # type: ignore[union-attr]
    path = tmp_path / "ring.json"
    keys.save(path)
    assert path.stat().st_mode & 0o077 == 0
    loaded = KeyRing.load(path)
    assert loaded.active.key_id == "k2"
    assert loaded.get("k1").secret == old.secret  # type: ignore[union-attr]
    with pytest.raises(ConfigError):
        keys.rotate("k2")


def test_bad_keyring_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "ring.json"
    path.write_text('{"keys": [{"key_id": "k", "secret": "c2hvcnQ=", "created": "2026-01-01"}]}')
    with pytest.raises(ConfigError, match="shorter"):
        KeyRing.load(path)


def test_u64_digests_are_aes_cmac(keys: KeyRing) -> None:
    from cryptography.hazmat.primitives import cmac
    from cryptography.hazmat.primitives.ciphers import algorithms

    h = keys.active.hasher(Kind.WRAPPER)
    values = np.array([0, 7, 2**64 - 1], dtype=np.uint64)
    for v, d in zip(values.tolist(), h.u64(values).tolist(), strict=True):
        mac = cmac.CMAC(algorithms.AES(h._aes))
        mac.update(int(v).to_bytes(8, "little") + h._tag)
        assert int.from_bytes(mac.finalize()[:8], "little") == d
