"""Account linking: accounts tied together by who they are and where they
connect from — shared payment instruments, sign-up bursts, rare e-mail
domains, networks and client fingerprints."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from distillguard._types import Family
from distillguard.detectors._util import key_groups
from distillguard.detectors.base import Detector, Finding

if TYPE_CHECKING:
    from distillguard.engine.state import DetectionContext


class AccountLinkingDetector(Detector):
    """One group finding per linking key shared by a plausible number of
    accounts. Keys shared by a large part of the population (a popular SDK, a
    free-mail domain, a mobile carrier's NAT) link nothing and are skipped."""

    name: ClassVar[str] = "account_linking"
    family: ClassVar[Family] = Family.INFRASTRUCTURE

    def __init__(self, common_share: float = 0.002, max_net_accounts: int = 12) -> None:
        self.common_share = common_share
        self.max_net_accounts = max_net_accounts

    def detect(self, ctx: DetectionContext) -> list[Finding]:
        n_acc = max(ctx.n_accounts, 1)
        common = max(5, int(self.common_share * n_acc))
        out: list[Finding] = []
        out += self._groups(
            ctx, "payment", 2, max(common, 1000), 0.9, "share one payment instrument"
        )
        out += self._groups(ctx, "email", 2, common, 0.3, "share a rare e-mail domain")
        out += self._groups(
            ctx, "net", 2, self.max_net_accounts, 0.45, "connect from the same network"
        )
        out += self._groups(
            ctx, "client", 2, common, 0.35, "share a rare client (user agent and TLS fingerprint)"
        )
        out += self._signup_bursts(ctx, common)
        return out

    def _groups(
        self, ctx: DetectionContext, family: str, lo: int, hi: int, score: float, what: str
    ) -> list[Finding]:
        return [
            Finding(
                self.name,
                self.family,
                accounts,
                score,
                f"{len(accounts)} accounts {what} ({family} {key})",
                {"family": family, "key": key, "accounts": len(accounts), "requests": n},
                link=f"{family}:{key}",
            )
            for key, accounts, n in key_groups(ctx, family, lo, hi)
        ]

    def _signup_bursts(self, ctx: DetectionContext, hi: int) -> list[Finding]:
        """Ten-minute sign-up buckets holding many times the usual number."""
        groups = key_groups(ctx, "signup", 1, 10 * hi)
        if not groups:
            return []
        sizes = np.array([len(g[1]) for g in groups], dtype=float)
        usual = float(np.median(sizes))
        need = max(5.0, 5.0 * usual)
        return [
            Finding(
                self.name,
                self.family,
                accounts,
                0.6,
                f"{len(accounts)} accounts created within the same 10 minutes (usual: {usual:.0f})",
                {"family": "signup", "bucket": key, "accounts": len(accounts), "usual": usual},
                link=f"signup:{key}",
            )
            for key, accounts, _ in groups
            if len(accounts) >= need
        ]
