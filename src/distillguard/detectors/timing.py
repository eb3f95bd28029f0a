"""Automation timing: regular inter-arrival times, round-the-clock activity."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from distillguard._types import Family
from distillguard.detectors._util import column, reported, squash
from distillguard.detectors.base import Detector, Finding

if TYPE_CHECKING:
    from distillguard.engine.state import DetectionContext


class AutomationTimingDetector(Detector):
    """Scripts pace requests regularly and do not sleep; people burst and rest.

    Three cues: a low coefficient of variation of inter-arrival times (human
    traffic is bursty, CV well above 1), a high share of consecutive gaps within
    10 % of each other, and activity spread over most hours of the day across
    several days. Each needs enough requests to mean anything.
    """

    name: ClassVar[str] = "automation_timing"
    family: ClassVar[Family] = Family.BEHAVIOUR

    def __init__(self, min_requests: int = 40) -> None:
        self.min_requests = min_requests

    def detect(self, ctx: DetectionContext) -> list[Finding]:
        f = ctx.features
        n = column(f, "n")
        cv = np.nan_to_num(column(f, "dt_cv"), nan=9.0)
        regular = np.nan_to_num(column(f, "dt_regular_share"), nan=0.0)
        hours = column(f, "distinct_hours_of_day")
        active_h = column(f, "active_hours")
        s_cv = squash(-cv, -0.6, 0.12)
        s_reg = squash(regular, 0.5, 0.08)
        # 24/7: most hours of the day, and active for many distinct hours overall.
        s_clock = squash(hours, 20.5, 1.0) * squash(active_h, 48.0, 8.0)
        score = 1.0 - (1.0 - s_cv) * (1.0 - s_reg) * (1.0 - 0.8 * s_clock)
        score = score * squash(n, self.min_requests, self.min_requests / 4)
        ids = f.column("account_id").to_pylist()
        out = []
        for i in reported(score):
            cues = []
            if s_cv[i] >= 0.5:
                cues.append(f"inter-arrival CV {cv[i]:.2f} (people are bursty, CV > 1)")
            if s_reg[i] >= 0.5:
                cues.append(f"{regular[i]:.0%} of gaps within 10 % of the previous one")
            if s_clock[i] >= 0.5:
                cues.append(f"active in {int(hours[i])} of 24 hours of the day")
            reason = "machine-like timing: " + ("; ".join(cues) or "several weak cues")
            out.append(
                self.finding(
                    (ids[i],),
                    score[i],
                    reason,
                    {
                        "dt_cv": float(cv[i]),
                        "regular_share": float(regular[i]),
                        "hours_of_day": int(hours[i]),
                        "active_hours": int(active_h[i]),
                    },
                )
            )
        return out
