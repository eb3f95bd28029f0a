"""Settings of the analyst console.

Strict (an unknown key is an error) and validated without I/O. The database
defaults to the decision store's: approving a review item writes a decision
that enforcers read from the same place.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["viewer", "analyst", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "analyst", "admin")


class ConsoleSettings(BaseModel):
    """What the console needs to run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: SQLAlchemy URL of the case store, the audit log and the decision store.
    db_url: str = "sqlite:///distillguard.db"
    #: Key that signs session cookies. A random one (the default) logs every
    #: user out when the process restarts; set one to share sessions across
    #: restarts and replicas.
    secret_key: str = Field(default_factory=lambda: secrets.token_urlsafe(32), min_length=16)
    #: Seconds a session lasts after login (the cookie's signature expires too).
    session_max_age: int = Field(default=8 * 3600, ge=60)
    #: Send the session cookie only over HTTPS (set behind TLS).
    cookie_secure: bool = False
    #: Roles that may read raw prompt text (and wrapper templates drawn from it).
    prompt_roles: frozenset[Role] = frozenset({"analyst", "admin"})
    #: Days raw prompt text is kept after it was last seen; ``None`` keeps it.
    prompt_retention_days: float | None = Field(default=30.0, gt=0)
    #: How long an analyst's decision lasts; ``None`` until it is reverted.
    decision_ttl_days: float | None = Field(default=None, gt=0)
    #: Exchange configuration (YAML) for the exchange page and revocations.
    exchange_config: Path | None = None

    def can_read_prompts(self, role: str) -> bool:
        return role in self.prompt_roles
