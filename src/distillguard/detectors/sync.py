"""Synchronised activity: many accounts that start (or stop) working within
the same ten minutes, far beyond the usual rate of first requests."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from distillguard._types import Family
from distillguard.detectors._util import column
from distillguard.detectors.base import Detector, Finding

if TYPE_CHECKING:
    from distillguard.engine.state import DetectionContext

_BUCKET_S = 600.0
_EDGE_S = 2 * 3600.0


class SynchronisedActivityDetector(Detector):
    """Group findings for ten-minute buckets of first (or last) requests that
    hold at least ``factor`` times the median bucket. Buckets at the edges of
    the observed window are skipped: every account seems to start there.
    Starting together is weak evidence (a newsletter, a launch, a school bell),
    so these links shape communities but never tie an account firmly."""

    name: ClassVar[str] = "synchronised_activity"
    family: ClassVar[Family] = Family.BEHAVIOUR

    def __init__(self, factor: float = 5.0, min_accounts: int = 5) -> None:
        self.factor = factor
        self.min_accounts = min_accounts

    def detect(self, ctx: DetectionContext) -> list[Finding]:
        f = ctx.features
        if f.num_rows == 0:
            return []
        ids = f.column("account_id").to_pylist()
        first, last = column(f, "first_ts"), column(f, "last_ts")
        lo, hi = float(np.nanmin(first)), ctx.now
        out = []
        for label, ts, edge_ok in (
            ("started", first, first > lo + _EDGE_S),
            ("stopped", last, last < hi - _EDGE_S),
        ):
            buckets: dict[int, list[int]] = defaultdict(list)
            for i in np.flatnonzero(edge_ok & (column(f, "n") >= 5)):
                buckets[int(ts[i] // _BUCKET_S)].append(int(i))
            if not buckets:
                continue
            usual = float(np.median([len(v) for v in buckets.values()]))
            need = max(float(self.min_accounts), self.factor * usual)
            for b, members in sorted(buckets.items()):
                if len(members) >= need:
                    out.append(
                        Finding(
                            self.name,
                            self.family,
                            tuple(sorted(ids[i] for i in members)),
                            0.35,
                            f"{len(members)} accounts {label} within the same 10 minutes "
                            f"(usual: {usual:.0f})",
                            {
                                "bucket_start": b * _BUCKET_S,
                                "accounts": len(members),
                                "usual": usual,
                                "edge": label,
                            },
                            link=f"{label}:{b}",
                        )
                    )
        return out
