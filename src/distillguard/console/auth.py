"""Local users and API tokens.

Passwords are hashed with Argon2id (``argon2-cffi``, its default parameters,
re-hashed on login when those change). API tokens are 256 random bits shown
once and stored as a SHA-256 (as the decision store does for enforcers: there
is nothing to guess that a slow hash would protect). A token acts with its
user's role.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, select, update

from distillguard._exceptions import ConfigError
from distillguard.console.settings import ROLES
from distillguard.console.tables import tokens_t, users_t
from distillguard.decisions.model import utcnow
from distillguard.decisions.store import hash_token

__all__ = ["MIN_PASSWORD", "User", "Users"]

MIN_PASSWORD = 12
_hasher = PasswordHasher()
# Verified against when the user does not exist, so that a wrong user name
# takes as long as a wrong password.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    role: str
    session_epoch: int = 0
    disabled: bool = False

    def at_least(self, role: str) -> bool:
        """Whether this user's role is ``role`` or stronger."""
        return ROLES.index(self.role) >= ROLES.index(role)


def _user(row: object) -> User:
    return User(
        row.id,  # type: ignore[attr-defined]
        row.username,  # type: ignore[attr-defined]
        row.role,  # type: ignore[attr-defined]
        row.session_epoch,  # type: ignore[attr-defined]
        row.disabled,  # type: ignore[attr-defined]
    )


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ConfigError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"a password needs at least {MIN_PASSWORD} characters")


class Users:
    """Users and tokens in the console's database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, username: str, password: str, role: str) -> User:
        username = username.strip()
        if not username or len(username) > 64:
            raise ConfigError("a user name has 1 to 64 characters")
        _check_role(role)
        _check_password(password)
        with self.engine.begin() as conn:
            if conn.execute(select(users_t.c.id).where(users_t.c.username == username)).first():
                raise ConfigError(f"user {username!r} exists already")
            res = conn.execute(
                users_t.insert().values(
                    username=username,
                    password_hash=_hasher.hash(password),
                    role=role,
                    disabled=False,
                    session_epoch=0,
                    created_at=utcnow(),
                )
            )
            pk = res.inserted_primary_key
            assert pk is not None
        return User(int(pk[0]), username, role)

    def get(self, username: str) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(users_t).where(users_t.c.username == username)).first()
        return None if row is None else _user(row)

    def by_id(self, user_id: int) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(users_t).where(users_t.c.id == user_id)).first()
        return None if row is None else _user(row)

    def list(self) -> list[User]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(users_t).order_by(users_t.c.username)).all()
        return [_user(r) for r in rows]

    def authenticate(self, username: str, password: str) -> User | None:
        """The user, if the password is right and the user is enabled."""
        with self.engine.connect() as conn:
            row = conn.execute(select(users_t).where(users_t.c.username == username)).first()
        stored = row.password_hash if row is not None else _DUMMY
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row.disabled:
            return None
        if _hasher.check_needs_rehash(stored):
            with self.engine.begin() as conn:
                conn.execute(
                    update(users_t)
                    .where(users_t.c.id == row.id)
                    .values(password_hash=_hasher.hash(password))
                )
        return _user(row)

    def set_password(self, username: str, password: str) -> None:
        """Change a password; the user's open sessions end."""
        _check_password(password)
        self._update(username, password_hash=_hasher.hash(password))

    def set_role(self, username: str, role: str) -> None:
        _check_role(role)
        self._update(username, role=role)

    def set_disabled(self, username: str, disabled: bool) -> None:
        self._update(username, disabled=disabled)

    def _update(self, username: str, **values: object) -> None:
        with self.engine.begin() as conn:
            res = conn.execute(
                update(users_t)
                .where(users_t.c.username == username)
                .values(session_epoch=users_t.c.session_epoch + 1, **values)
            )
        if res.rowcount != 1:
            raise ConfigError(f"no user {username!r}")

    # -- tokens ---------------------------------------------------------------------

    def add_token(self, username: str, name: str) -> str:
        """A new API token for ``username``; returned once, stored as a hash."""
        user = self.get(username)
        if user is None:
            raise ConfigError(f"no user {username!r}")
        token = "dgc_" + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(
                tokens_t.insert().values(
                    name=name.strip() or "token",
                    token_hash=hash_token(token),
                    user_id=user.id,
                    created_at=utcnow(),
                    revoked=False,
                )
            )
        return token

    def revoke_token(self, name: str) -> int:
        with self.engine.begin() as conn:
            res = conn.execute(update(tokens_t).where(tokens_t.c.name == name).values(revoked=True))
        return int(res.rowcount)

    def by_token(self, token: str) -> User | None:
        """The enabled user an unrevoked token belongs to."""
        q = (
            select(users_t)
            .join(tokens_t, tokens_t.c.user_id == users_t.c.id)
            .where(tokens_t.c.token_hash == hash_token(token), tokens_t.c.revoked.is_(False))
        )
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        if row is None or row.disabled:
            return None
        return _user(row)
