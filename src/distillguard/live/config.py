"""Configuration of ``distillguard serve``: one strict YAML file, flags on top.

An unknown key is an error; the file is validated without I/O first.

    data_dir: /var/lib/distillguard     # spool/, state.duckdb, decisions.db
    upstream: http://127.0.0.1:8001     # the model server
    gateway: {port: 8000, account_header: x-account}   # any gateway setting
    decisions: {port: 8081}
    loop:
      interval_s: 5
      detect_every_s: 5
      shadow: false
      profile: profile.yaml
      accounts: accounts.jsonl
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from distillguard._exceptions import ConfigError
from distillguard._types import Action


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LoopConfig(_Strict):
    """The detection loop."""

    interval_s: float = Field(default=5.0, gt=0)
    detect_every_s: float = Field(default=5.0, ge=0)
    max_batch_bytes: int = Field(default=64 << 20, gt=0)
    decision_ttl_s: float = Field(default=24 * 3600.0, gt=0)
    shadow: bool = False
    min_action: Action = Action.REVIEW
    release_after: int = Field(default=3, ge=1)
    profile: Path | None = None
    accounts: Path | None = None
    consumer: str = Field(default="detect", pattern=r"^[A-Za-z0-9_.-]+$")
    prune_spool: bool = False


class DecisionServiceConfig(_Strict):
    """The decision service (``/v1/check``, ``/v1/decisions/stream``) for other enforcers."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8081, ge=0, le=65535)
    database: str | None = None  # SQLAlchemy URL; default: decisions.db in data_dir
    policy: Path | None = None


class ServeConfig(_Strict):
    data_dir: Path = Path("distillguard-data")
    upstream: str = "http://127.0.0.1:8001"
    gateway: dict[str, Any] = Field(default_factory=dict)
    decisions: DecisionServiceConfig = DecisionServiceConfig()
    loop: LoopConfig = LoopConfig()

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"

    @property
    def state_path(self) -> Path:
        return self.data_dir / "state.duckdb"

    @property
    def decisions_url(self) -> str:
        return self.decisions.database or f"sqlite:///{self.data_dir / 'decisions.db'}"


def _relative_to(base: Path, data: dict[str, Any]) -> dict[str, Any]:
    """Paths in a config file are relative to the file, not to where it is run."""
    out = dict(data)
    if isinstance(out.get("data_dir"), str):
        out["data_dir"] = str(base / out["data_dir"])
    for section, keys in (("loop", ("profile", "accounts")), ("decisions", ("policy",))):
        part = out.get(section)
        if isinstance(part, dict):
            out[section] = {
                k: str(base / v) if k in keys and isinstance(v, str) else v for k, v in part.items()
            }
    return out


def load_serve_config(path: Path | None = None, **overrides: Any) -> ServeConfig:
    """The configuration in ``path`` with ``overrides`` on top (``None`` values
    are ignored; nested sections are given as dicts)."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text("utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read serve config {path}: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the serve config must be a mapping")
        data = _relative_to(path.parent, loaded or {})
    for key, value in overrides.items():
        if isinstance(value, dict):
            given = {k: v for k, v in value.items() if v is not None}
            if given:
                data[key] = {**data.get(key, {}), **given}
        elif value is not None:
            data[key] = value
    try:
        return ServeConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"invalid serve config: {exc}") from exc
