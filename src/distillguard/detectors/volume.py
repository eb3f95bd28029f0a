"""Volume and velocity against the population."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from distillguard._types import Family
from distillguard.detectors._util import column, ratio_text, reported, robust_z, squash
from distillguard.detectors.base import Detector, Finding

if TYPE_CHECKING:
    from distillguard.engine.state import DetectionContext


class VolumeDetector(Detector):
    """Accounts whose request and token rates per active hour, or whose total
    volume, stand far above the population (robust z-scores on a log scale).

    High volume alone is common among legitimate customers (batch jobs,
    resellers), so this detector's family is only one voice among several.
    """

    name: ClassVar[str] = "volume"
    family: ClassVar[Family] = Family.BEHAVIOUR

    def __init__(self, min_requests: int = 50, z_at: float = 4.0) -> None:
        self.min_requests = min_requests
        self.z_at = z_at

    def detect(self, ctx: DetectionContext) -> list[Finding]:
        f = ctx.features
        n = column(f, "n")
        rate = column(f, "req_per_active_hour")
        tok = column(f, "tok_per_active_hour")
        active = n >= 5
        z = np.fmax(np.fmax(robust_z(rate, active), robust_z(tok, active)), robust_z(n, active))
        score = squash(z, self.z_at, 0.8) * (n >= self.min_requests)
        med_rate = float(np.median(rate[active])) if active.any() else 0.0
        med_n = float(np.median(n[active])) if active.any() else 0.0
        ids = f.column("account_id").to_pylist()
        out = []
        for i in reported(score):
            out.append(
                self.finding(
                    (ids[i],),
                    score[i],
                    f"{int(n[i])} requests, {rate[i]:.0f} per active hour "
                    f"({ratio_text(rate[i], med_rate)} the population median)",
                    {
                        "requests": int(n[i]),
                        "req_per_active_hour": float(rate[i]),
                        "population_median_rate": med_rate,
                        "population_median_requests": med_n,
                        "z": float(z[i]),
                    },
                )
            )
        return out
