"""Cross-account prompt reuse: pairs of accounts that sent near-duplicates of
several of the same *specific* prompts.

Two unrelated people rarely send the same long prompt twice over; when they
do, it is because the prompt is popular (a viral prompt, a famous riddle, a
homework question every student gets). So only clusters sent by few accounts
count ("specific"), and a pair needs several of them in common: a viral
prompt, shared by hundreds of strangers, links nobody.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from distillguard._types import Family
from distillguard.detectors.base import Detector, Finding

if TYPE_CHECKING:
    from distillguard.engine.state import DetectionContext

_SQL = """
WITH specific AS (
    SELECT key FROM key_pop
    WHERE family = 'cluster' AND n_accounts BETWEEN 2 AND ?
), ak AS (
    SELECT a.account_id, a.key FROM acct_key a JOIN specific s
    ON a.family = 'cluster' AND a.key = s.key
)
SELECT x.account_id AS a, y.account_id AS b, count(*) AS shared, min(x.key) AS example
FROM ak x JOIN ak y ON x.key = y.key AND x.account_id < y.account_id
GROUP BY ALL
HAVING count(*) >= ?
ORDER BY a, b
"""


class PromptReuseDetector(Detector):
    """One group finding per pair of accounts sharing at least ``min_shared``
    near-duplicate clusters, each sent by at most ``max_accounts`` accounts."""

    name: ClassVar[str] = "prompt_reuse"
    family: ClassVar[Family] = Family.CONTENT

    def __init__(self, min_shared: int = 3, max_accounts: int = 25) -> None:
        self.min_shared = min_shared
        self.max_accounts = max_accounts

    def detect(self, ctx: DetectionContext) -> list[Finding]:
        rows = ctx.sql(_SQL, [self.max_accounts, self.min_shared]).to_pydict()
        out = []
        for a, b, shared, example in zip(
            rows["a"], rows["b"], rows["shared"], rows["example"], strict=True
        ):
            score = min(0.85, 0.35 + 0.05 * float(shared))
            sample = ctx.prompts.sample(int(example)) or ""
            out.append(
                Finding(
                    self.name,
                    self.family,
                    (a, b),
                    round(score, 4),
                    f"2 accounts sent near-duplicates of {shared} of the same uncommon prompts",
                    {"shared_clusters": int(shared), "example": sample[:200]},
                    link=f"reuse:{a}|{b}",
                )
            )
        return out
