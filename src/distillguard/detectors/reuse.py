"""Cross-account prompt reuse: the same near-duplicate prompts sent from many
accounts, discounting prompts that many unrelated accounts send."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from distillguard._types import Family
from distillguard.detectors.base import Detector, Finding

if TYPE_CHECKING:
    from distillguard.engine.state import DetectionContext

# For every shared near-duplicate cluster: its accounts, and how many shared
# clusters each of them has. A viral prompt is shared by many accounts that
# share nothing else; a harvesting operation's accounts share many clusters.
_SQL = """
WITH shared AS (
    SELECT key, n_accounts, n FROM key_pop
    WHERE family = 'cluster' AND n_accounts BETWEEN 2 AND ?
), ak AS (
    SELECT a.account_id, a.key FROM acct_key a JOIN shared s
    ON a.family = 'cluster' AND a.key = s.key
), per_account AS (
    SELECT account_id, count(*) AS shared_clusters FROM ak GROUP BY account_id
)
SELECT ak.key, list(ak.account_id ORDER BY ak.account_id) AS accounts,
       median(p.shared_clusters) AS coherence, any_value(s.n) AS n
FROM ak JOIN per_account p USING (account_id) JOIN shared s USING (key)
GROUP BY ak.key
HAVING median(p.shared_clusters) >= ?
ORDER BY ak.key
"""


class PromptReuseDetector(Detector):
    """One group finding per near-duplicate prompt cluster that several
    accounts sent, kept only when those accounts typically share at least
    ``min_coherence`` such clusters (so one viral prompt links nobody)."""

    name: ClassVar[str] = "prompt_reuse"
    family: ClassVar[Family] = Family.CONTENT

    def __init__(self, min_coherence: int = 3, max_share: float = 0.5) -> None:
        self.min_coherence = min_coherence
        self.max_share = max_share

    def detect(self, ctx: DetectionContext) -> list[Finding]:
        cap = max(10, int(self.max_share * ctx.n_accounts))
        rows = ctx.sql(_SQL, [cap, self.min_coherence]).to_pydict()
        out = []
        for key, accounts, coherence, n in zip(
            rows["key"], rows["accounts"], rows["coherence"], rows["n"], strict=True
        ):
            score = min(0.9, 0.4 + 0.05 * float(coherence))
            sample = ctx.prompts.sample(int(key))
            out.append(
                Finding(
                    self.name,
                    self.family,
                    tuple(accounts),
                    round(score, 4),
                    f"{len(accounts)} accounts sent near-duplicates of one prompt; they share "
                    f"{coherence:.0f} such prompts each (median)",
                    {
                        "cluster": key,
                        "accounts": len(accounts),
                        "coherence": float(coherence),
                        "requests": int(n),
                        "sample": (sample or "")[:200],
                    },
                    link=f"cluster:{key}",
                )
            )
        return out
