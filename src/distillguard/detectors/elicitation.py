"""Reasoning elicitation: prompts that ask the model to write out its reasoning."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from distillguard._types import Family
from distillguard.detectors._util import column, reported, squash
from distillguard.detectors.base import Detector, Finding

if TYPE_CHECKING:
    from distillguard.engine.state import DetectionContext


class ReasoningElicitationDetector(Detector):
    """Accounts whose traffic is dominated by prompts that coerce full reasoning
    traces (any language), weighted by how many such requests they sent and by
    the share of reasoning tokens they received.

    Asking for step-by-step explanations is normal for a person; a *share* near
    one over hundreds of requests, with strong wording, is what harvesting
    looks like. Reasoning tokens count beyond what the same models return to
    ordinary requests (``DetectionContext.reasoning_expected``): a reasoning
    model returns reasoning to every caller, so choosing one is not evidence.
    """

    name: ClassVar[str] = "reasoning_elicitation"
    family: ClassVar[Family] = Family.CONTENT

    def __init__(self, min_requests: int = 30) -> None:
        self.min_requests = min_requests

    def detect(self, ctx: DetectionContext) -> list[Finding]:
        f = ctx.features
        n = column(f, "n")
        share = column(f, "elicit_share")
        strong = column(f, "elicit_strong_share")
        reas = np.nan_to_num(column(f, "reasoning_share"), nan=0.0)
        expected = ctx.reasoning_expected
        s = 1.0 - (1.0 - squash(share, 0.6, 0.08)) * (1.0 - squash(strong, 0.35, 0.07))
        s = s * (0.75 + 0.25 * squash(reas - expected, 0.15, 0.05))
        score = s * squash(n, self.min_requests, self.min_requests / 4)
        ids = f.column("account_id").to_pylist()
        out = []
        for i in reported(score):
            out.append(
                self.finding(
                    (ids[i],),
                    score[i],
                    f"{share[i]:.0%} of {int(n[i])} prompts ask for written-out reasoning "
                    f"({strong[i]:.0%} forcefully); reasoning tokens are {reas[i]:.0%} of output "
                    f"({expected[i]:.0%} for ordinary requests to the same models)",
                    {
                        "elicit_share": float(share[i]),
                        "strong_share": float(strong[i]),
                        "reasoning_share": float(reas[i]),
                        "reasoning_expected": float(expected[i]),
                        "requests": int(n[i]),
                    },
                )
            )
        return out
