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

The pairs are counted in numpy from the account–cluster incidence rows of
the specific clusters: within each cluster (at most ``max_accounts``
accounts) every pair of its accounts, then one count per pair.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pyarrow as pa

from distillguard._types import Family
from distillguard.detectors._util import key_members
from distillguard.detectors.base import Detector, Finding

if TYPE_CHECKING:
    from distillguard.engine.state import DetectionContext


def shared_pairs(
    account: np.ndarray, key: np.ndarray, min_shared: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pairs ``a < b`` of accounts sharing at least ``min_shared`` keys, from
    one incidence row per (key, account), sorted by key then account (both
    ranks from 0): ``(a, b, shared, smallest shared key)``, ordered by
    ``(a, b)``."""
    empty = np.zeros(0, np.int64)
    if len(key) == 0:
        return empty, empty, empty, empty
    acc, k = account, key
    start = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    size = np.diff(np.r_[start, len(k)])
    end = np.repeat(start + size, size)
    span, n_keys = int(acc.max()) + 1, int(k.max()) + 1
    # Row x and row x + d hold a pair while x + d is still in x's key.
    x = np.arange(len(k))
    codes, keys = [], []
    for d in range(1, int(size.max())):
        x = x[x + d < end[x]]
        codes.append(acc[x] * span + acc[x + d])
        keys.append(k[x])
    if not codes:
        return empty, empty, empty, empty
    code, ex = np.concatenate(codes), np.concatenate(keys)
    if span * span * n_keys < 2**63:
        both = np.sort(code * n_keys + ex)
        code, ex = both // n_keys, both % n_keys
    else:
        order = np.lexsort((ex, code))
        code, ex = code[order], ex[order]
    first = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    shared = np.diff(np.r_[first, len(code)])
    keep = shared >= min_shared
    pair = code[first[keep]]
    return pair // span, pair % span, shared[keep], ex[first[keep]]


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
        m = key_members(ctx, "cluster", 2, self.max_accounts)
        a, b, shared, example = shared_pairs(m.account, m.key, self.min_shared)
        size = np.bincount(m.account)
        lift = shared * float(len(m.keys)) / (size[a] * size[b]).astype(np.float64)
        keep = np.flatnonzero(lift > self.min_lift)
        a, b, shared, lift = a[keep], b[keep], shared[keep], lift[keep]
        # The same float operations as one pair at a time (``math.log``
        # itself, numpy's may differ in the last bit).
        ratio = (lift / self.min_lift).tolist()
        span = math.log(self.full_lift / self.min_lift)
        strength = np.minimum(1.0, np.array([math.log(r) for r in ratio]) / span)
        score = np.minimum(0.85, 0.35 + 0.05 * shared.astype(np.float64)) * strength
        out = []
        for i, j, s, e, x, v in zip(
            m.names[a].tolist(),
            m.names[b].tolist(),
            shared.tolist(),
            m.keys.take(pa.array(example[keep])).to_pylist(),
            lift.tolist(),
            score.tolist(),
            strict=True,
        ):
            sample = ctx.prompts.sample(int(e)) or ""
            out.append(
                self.finding(
                    (i, j),
                    v,
                    f"2 accounts sent near-duplicates of {s} of the same uncommon "
                    f"prompts, {x:.0f}× what chance gives accounts of their size",
                    {"shared_clusters": s, "lift": round(x, 2), "example": sample[:200]},
                    link=f"reuse:{i}|{j}",
                )
            )
        return out
