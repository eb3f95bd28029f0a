"""Model pivot: traffic moved onto a newly released model within a day."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from distillguard._types import Family
from distillguard.detectors._util import column, reported, squash
from distillguard.detectors.base import Detector, Finding

if TYPE_CHECKING:
    from distillguard.engine.state import DetectionContext


class ModelPivotDetector(Detector):
    """Accounts that send a far larger share of their traffic to a model in the
    24 hours after its first appearance than the population does. A model
    counts as new when it first appears a day or more after observation starts."""

    name: ClassVar[str] = "model_pivot"
    family: ClassVar[Family] = Family.BEHAVIOUR

    def __init__(self, min_requests: int = 30) -> None:
        self.min_requests = min_requests

    def detect(self, ctx: DetectionContext) -> list[Finding]:
        f = ctx.features
        n = column(f, "n")
        share = column(f, "new_model_share")
        active = (n >= 5) & np.isfinite(share)
        if not active.any() or np.nanmax(share) <= 0:
            return []
        base = float(np.mean(share[active]))
        score = squash(share - base, 0.3, 0.07) * squash(n, self.min_requests, 8.0)
        ids = f.column("account_id").to_pylist()
        return [
            self.finding(
                (ids[i],),
                score[i],
                f"{share[i]:.0%} of traffic went to a newly released model within 24 h "
                f"(population: {base:.0%})",
                {"new_model_share": float(share[i]), "population_share": base},
            )
            for i in reported(score)
        ]
