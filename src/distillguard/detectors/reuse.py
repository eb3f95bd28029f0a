"""Cross-account prompt reuse: pairs of accounts that sent near-duplicates of
several of the same *specific* prompts, far more of them than chance gives.

Two unrelated people rarely send the same long prompt twice over; when they
do, it is because the prompt is popular (a viral prompt, a famous riddle, a
homework question every student gets). So only clusters sent by few accounts
count ("specific"), and a pair needs several of them in common: a viral
prompt, shared by hundreds of strangers, links nobody.

Volume alone also produces overlap. An evaluation company that runs a public
benchmark of ten thousand problems shares a few dozen of them with everyone
who draws from the same dataset, without knowing any of them. So a pair is
scored by its *lift*: the clusters it shares against what two accounts of
their sizes would share by chance, drawing from the specific clusters seen
(``shared · K / (n_a · n_b)``). Accounts of one operation (paraphrases of a
seed set spread over accounts, a classroom's homework) share many times
more than chance; heavy users of the same public dataset about as much as
chance.
"""

from __future__ import annotations

import math
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
), size AS (
    SELECT account_id, count(*) AS n FROM ak GROUP BY account_id
), pairs AS (
    SELECT x.account_id AS a, y.account_id AS b, count(*) AS shared, min(x.key) AS example
    FROM ak x JOIN ak y ON x.key = y.key AND x.account_id < y.account_id
    GROUP BY ALL
    HAVING count(*) >= ?
)
SELECT p.a, p.b, p.shared, p.example,
       p.shared * (SELECT count(*) FROM specific)::DOUBLE / (sa.n * sb.n) AS lift
FROM pairs p JOIN size sa ON sa.account_id = p.a JOIN size sb ON sb.account_id = p.b
ORDER BY p.a, p.b
"""


class PromptReuseDetector(Detector):
    """One group finding per pair of accounts sharing at least ``min_shared``
    near-duplicate clusters, each sent by at most ``max_accounts`` accounts,
    at least ``min_lift`` times as many as chance; full strength from
    ``full_lift`` times."""

    name: ClassVar[str] = "prompt_reuse"
    family: ClassVar[Family] = Family.CONTENT

    def __init__(
        self,
        min_shared: int = 3,
        max_accounts: int = 25,
        min_lift: float = 2.0,
        full_lift: float = 8.0,
    ) -> None:
        self.min_shared = min_shared
        self.max_accounts = max_accounts
        self.min_lift = min_lift
        self.full_lift = full_lift

    def detect(self, ctx: DetectionContext) -> list[Finding]:
        rows = ctx.sql(_SQL, [self.max_accounts, self.min_shared]).to_pydict()
        out = []
        span = math.log(self.full_lift / self.min_lift)
        for a, b, shared, example, lift in zip(
            rows["a"], rows["b"], rows["shared"], rows["example"], rows["lift"], strict=True
        ):
            if lift <= self.min_lift:
                continue
            strength = min(1.0, math.log(lift / self.min_lift) / span)
            score = min(0.85, 0.35 + 0.05 * float(shared)) * strength
            sample = ctx.prompts.sample(int(example)) or ""
            out.append(
                self.finding(
                    (a, b),
                    score,
                    f"2 accounts sent near-duplicates of {shared} of the same uncommon "
                    f"prompts, {lift:.0f}× what chance gives accounts of their size",
                    {
                        "shared_clusters": int(shared),
                        "lift": round(lift, 2),
                        "example": sample[:200],
                    },
                    link=f"reuse:{a}|{b}",
                )
            )
        return out
