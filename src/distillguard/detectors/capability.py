"""Capability concentration: an account's traffic piled on a few capability
areas (maths, code, reasoning) far beyond the population's mix."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from distillguard._types import Family
from distillguard.detectors._util import reported, sorted_codes, squash
from distillguard.detectors.base import Detector, Finding

if TYPE_CHECKING:
    from distillguard.engine.state import DetectionContext

#: Areas a distiller harvests for: verifiable, reasoning-heavy capabilities.
HARVEST_AREAS = ("math", "code", "reasoning")

_AREA_SQL = """
SELECT account_id, key AS area, n FROM acct_key WHERE family = 'area'
"""


class CapabilityConcentrationDetector(Detector):
    """Scores the divergence (KL, in bits) of an account's capability mix from
    the population's, counting only accounts whose mix leans on harvestable
    areas (maths, code, reasoning) and with enough requests."""

    name: ClassVar[str] = "capability_concentration"
    family: ClassVar[Family] = Family.CONTENT

    def __init__(self, min_requests: int = 50) -> None:
        self.min_requests = min_requests

    def detect(self, ctx: DetectionContext) -> list[Finding]:
        rows = ctx.sql(_AREA_SQL)
        if rows.num_rows == 0:
            return []
        area, areas = sorted_codes(rows.column("area"))
        acc, accounts = sorted_codes(rows.column("account_id"))
        m = np.zeros((len(accounts), len(areas)))
        np.add.at(m, (acc, area), rows.column("n").to_numpy().astype(np.float64))
        col = {a: i for i, a in enumerate(areas)}
        totals = m.sum(axis=1)
        pop = m.sum(axis=0) / max(m.sum(), 1.0)
        p = m / np.maximum(totals, 1.0)[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(p > 0, p * np.log2(p / np.maximum(pop, 1e-9)), 0.0).sum(axis=1)
        harvest = np.array([col[a] for a in HARVEST_AREAS if a in col], dtype=int)
        h_share = p[:, harvest].sum(axis=1) if len(harvest) else np.zeros(len(accounts))
        pop_h = float(pop[harvest].sum()) if len(harvest) else 0.0
        score = (
            squash(kl, 1.2, 0.25)
            * squash(h_share, max(0.7, pop_h + 0.3), 0.06)
            * squash(totals, self.min_requests, self.min_requests / 4)
        )
        out = []
        for i in reported(score):
            top = int(np.argmax(p[i]))
            out.append(
                self.finding(
                    (accounts[i],),
                    score[i],
                    f"{p[i, top]:.0%} of prompts are {areas[top]} (population: {pop[top]:.0%}); "
                    f"{h_share[i]:.0%} maths/code/reasoning",
                    {
                        "kl_bits": float(kl[i]),
                        "top_area": areas[top],
                        "top_share": float(p[i, top]),
                        "population_share": float(pop[top]),
                        "harvest_share": float(h_share[i]),
                    },
                )
            )
        return out
