"""Exchange configuration: who we are, whom we trust and how much.

YAML, validated strictly (an unknown key is an error) without I/O; paths are
resolved against the file's folder.

    provider: Provider B
    signing_key: keys/signing.pem        # Ed25519, PKCS#8 PEM
    keyring: keys/consortium.json        # consortium keys (secret)
    store: exchange.db
    tlp: amber
    corroboration: {min_peers: 2}        # k of n: peers that must agree
    peers:
      - name: Provider A
        public_key: 3q2+7w…              # base64 of the 32 raw bytes, pinned
        trust: 0.6
        url: https://taxii.provider-a.example/taxii2/
        api_root: exchange
        collection: 5d6f…
        username: provider-b
        password_env: PROVIDER_A_TAXII_PASSWORD
    server:
      api_root: exchange
      users:
        - {username: provider-a, password_hash: "pbkdf2$…", read: true, write: true}
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from distillguard._exceptions import ConfigError
from distillguard.exchange.model import Tlp

_PBKDF2_ROUNDS = 200_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PeerConfig(_Strict):
    """A peer: its pinned signing key, our trust in it, where to poll it."""

    name: str
    public_key: str
    trust: float = Field(default=0.5, ge=0.0, le=1.0)
    url: str | None = None
    api_root: str = "exchange"
    collection: str | None = None
    username: str | None = None
    password_env: str | None = None

    @field_validator("public_key")
    @classmethod
    def _key(cls, value: str) -> str:
        try:
            raw = base64.b64decode(value, validate=True)
        except ValueError as exc:
            raise ValueError("public_key is base64 of an Ed25519 key's 32 raw bytes") from exc
        if len(raw) != 32:
            raise ValueError("public_key is base64 of an Ed25519 key's 32 raw bytes")
        return value

    @property
    def identity(self) -> str:
        from distillguard.exchange.signing import identity_id

        return identity_id(self.name)

    def password(self) -> str | None:
        return os.environ.get(self.password_env) if self.password_env else None


class UserConfig(_Strict):
    """A peer's credentials on our TAXII server and what it may do."""

    username: str
    password_hash: str
    read: bool = True
    write: bool = False
    peer: str | None = None  # the peer whose signed objects this user may write

    def check(self, password: str) -> bool:
        return check_password(password, self.password_hash)


class ServerConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=9500, ge=1, le=65535)
    api_root: str = "exchange"
    title: str = "DistillGuard signal exchange"
    page_size: int = Field(default=1000, ge=1, le=100_000)
    users: list[UserConfig] = []


class Corroboration(_Strict):
    """Imported evidence alone may enforce only when ``min_peers``
    independent peers stand behind it (k of n), none disputing it."""

    min_peers: int = Field(default=2, ge=1)
    min_peer_weight: float = Field(default=0.2, ge=0.0, le=1.0)


class AllowlistConfig(_Strict):
    """Local knowledge that wins over any peer: accounts and owning entities
    never matched, and values (CIDRs, ASNs, JA4s, user agents) ignored."""

    accounts: list[str] = []
    entities: list[str] = []
    values: list[str] = []


class ExchangeConfig(_Strict):
    provider: str
    signing_key: Path
    keyring: Path
    store: Path = Path("exchange.db")
    tlp: Tlp = Tlp.AMBER
    ttl_days: float = Field(default=30.0, gt=0)
    half_life_days: float = Field(default=14.0, gt=0)
    dispute_factor: float = Field(default=0.25, ge=0.0, le=1.0)
    max_publication_age_days: float = Field(default=30.0, gt=0)
    corroboration: Corroboration = Corroboration()
    allowlist: AllowlistConfig = AllowlistConfig()
    peers: list[PeerConfig] = []
    server: ServerConfig = ServerConfig()

    @field_validator("peers")
    @classmethod
    def _unique(cls, peers: list[PeerConfig]) -> list[PeerConfig]:
        names = [p.name for p in peers]
        if len(set(names)) != len(names):
            raise ValueError(f"peer names must be unique: {names}")
        return peers

    def peer(self, name: str) -> PeerConfig:
        for p in self.peers:
            if p.name == name:
                return p
        raise ConfigError(f"unknown peer {name!r}; known: {', '.join(p.name for p in self.peers)}")

    def resolved(self, base: Path) -> ExchangeConfig:
        def at(p: Path) -> Path:
            return p if p.is_absolute() else base / p

        return self.model_copy(
            update={
                "signing_key": at(self.signing_key),
                "keyring": at(self.keyring),
                "store": at(self.store),
            }
        )


def load_config(path: str | Path) -> ExchangeConfig:
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read exchange config {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the exchange config is a mapping")
    try:
        cfg = ExchangeConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from exc
    return cfg.resolved(p.parent)


def save_config(cfg: ExchangeConfig, path: str | Path) -> None:
    data = cfg.model_dump(mode="json", exclude_defaults=False)
    Path(path).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    dk = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _PBKDF2_ROUNDS)
    return (
        f"pbkdf2${_PBKDF2_ROUNDS}${base64.b64encode(salt).decode()}${base64.b64encode(dk).decode()}"
    )


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, rounds, salt, dk = stored.split("$")
        if scheme != "pbkdf2":
            return False
        got = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(rounds))
    except ValueError:
        return False
    return hmac.compare_digest(got, base64.b64decode(dk))
