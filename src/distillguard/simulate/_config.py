"""Configuration of one simulated provider."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from distillguard.simulate._catalog import ATTACK_STYLES, POPULATIONS

DEFAULT_START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday


class SimConfig(BaseModel):
    """What to simulate. Unknown keys are errors.

    ``n_events`` is a target: populations are sized from their share of it, so
    the result lands within a few per cent. ``scale`` multiplies the share of
    single populations (0 switches one off); ``campaigns`` sets how many
    independent campaigns each attack style runs.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = 0
    n_events: int = Field(1_000_000, ge=500, le=50_000_000)
    start: datetime = DEFAULT_START
    days: float = Field(7.0, ge=0.5, le=90.0)
    scale: dict[str, float] = Field(default_factory=dict)
    campaigns: dict[str, int] = Field(default_factory=dict)
    corpora: Path | None = None
    new_model_release: datetime | None = None
    extra_field_rate: float = Field(0.02, ge=0.0, le=1.0)

    @field_validator("start", "new_model_release")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @field_validator("scale")
    @classmethod
    def _scale(cls, value: dict[str, float]) -> dict[str, float]:
        for name, factor in value.items():
            if name not in POPULATIONS:
                raise ValueError(f"unknown population {name!r}; known: {', '.join(POPULATIONS)}")
            if factor < 0:
                raise ValueError(f"scale of {name!r} must be >= 0")
        return value

    @field_validator("campaigns")
    @classmethod
    def _campaigns(cls, value: dict[str, int]) -> dict[str, int]:
        for name, count in value.items():
            if name not in ATTACK_STYLES:
                raise ValueError(
                    f"unknown attack style {name!r}; known: {', '.join(ATTACK_STYLES)}"
                )
            if not 0 <= count <= 50:
                raise ValueError(f"campaigns of {name!r} must be in 0..50")
        return value

    @model_validator(mode="after")
    def _release_in_window(self) -> Self:
        release = self.release
        if not self.start <= release < self.end:
            raise ValueError("new_model_release must fall inside the simulated window")
        return self

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=self.days)

    @property
    def release(self) -> datetime:
        """When the new model ships: as configured, else 40 % into the window."""
        if self.new_model_release is not None:
            return self.new_model_release
        return self.start + timedelta(days=self.days * 0.4)

    def scale_of(self, population: str) -> float:
        return self.scale.get(population, 1.0)

    def campaigns_of(self, style: str) -> int:
        return self.campaigns.get(style, POPULATIONS[style].campaigns)

    @classmethod
    def demo(cls, **overrides: object) -> SimConfig:
        """A small provider: about 150k requests over 3 days, every population
        and attack style present, generated in a few seconds."""
        base: dict[str, object] = {"seed": 7, "n_events": 150_000, "days": 3.0}
        return cls.model_validate(base | overrides)

    @classmethod
    def benchmark(cls, **overrides: object) -> SimConfig:
        """The default benchmark: about 1M requests over 7 days."""
        base: dict[str, object] = {"seed": 1, "n_events": 1_000_000, "days": 7.0}
        return cls.model_validate(base | overrides)
