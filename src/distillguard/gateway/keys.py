"""API keys → accounts.

The key file is YAML or CSV. Each entry names the account a key bills and,
optionally, the key's public id, the owning entity and the declared country
(for entity and jurisdiction policies). Keys may be given in clear
(``api_key``) or as their SHA-256 (``sha256``): the gateway only keeps the
hashes, so the file need never hold a usable secret.

    # keys.yaml
    - {api_key: sk-live-1, account_id: acct_1, key_id: key_1}
    - {sha256: 9f86d0…, account_id: acct_2, entity: Example Labs, declared_country: US}

    # keys.csv
    api_key,account_id,key_id,entity,declared_country
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from distillguard._exceptions import ConfigError


@dataclass(frozen=True, slots=True)
class Principal:
    """Who sent a request, as far as the gateway knows."""

    account_id: str
    key_id: str | None = None
    entity: str | None = None
    declared_country: str | None = None


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: str | None = None
    sha256: str | None = None
    account_id: str
    key_id: str | None = None
    entity: str | None = None
    declared_country: str | None = None

    @model_validator(mode="after")
    def _one_key(self) -> _Entry:
        if (self.api_key is None) == (self.sha256 is None):
            raise ValueError("give exactly one of api_key and sha256")
        return self

    def digest(self) -> str:
        return self.sha256.lower() if self.sha256 else key_digest(self.api_key or "")


def key_digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


class KeyMap:
    """``lookup(secret) -> Principal | None``; one hash and one dict probe."""

    def __init__(self, principals: dict[str, Principal]) -> None:
        self._by_digest = principals

    def __len__(self) -> int:
        return len(self._by_digest)

    def lookup(self, api_key: str) -> Principal | None:
        return self._by_digest.get(key_digest(api_key))

    @classmethod
    def from_entries(cls, entries: list[dict[str, object]]) -> KeyMap:
        out: dict[str, Principal] = {}
        for n, raw in enumerate(entries, 1):
            try:
                e = _Entry.model_validate({k: v for k, v in raw.items() if v not in ("", None)})
            except ValidationError as exc:
                raise ConfigError(f"key entry {n}: {exc}") from exc
            digest = e.digest()
            if digest in out:
                raise ConfigError(f"key entry {n}: the same key is listed twice")
            key_id = e.key_id or f"key_{digest[:12]}"
            out[digest] = Principal(e.account_id, key_id, e.entity, e.declared_country)
        return cls(out)

    @classmethod
    def load(cls, path: Path) -> KeyMap:
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read key file {path}: {exc}") from exc
        if path.suffix.lower() == ".csv":
            return cls.from_entries(list(csv.DictReader(text.splitlines())))
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"key file {path}: {exc}") from exc
        if isinstance(data, dict) and isinstance(data.get("keys"), list):
            data = data["keys"]
        if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
            raise ConfigError(f"key file {path}: expected a list of key entries")
        return cls.from_entries(data)
