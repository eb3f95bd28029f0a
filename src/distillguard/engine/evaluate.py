"""Quality against labels: recall on attack accounts, harm to legitimate ones.

Every recall is reported next to harm. "Enforced" means throttle, degrade or
suspend: an action that changes what the customer gets. A campaign counts as
found when at least half of its accounts are enforced against; leakage is the
share of its requests served before its accounts were actioned (replay only).

In a replay, decisions change as evidence grows, and each measure takes the
less favourable reading: a legitimate account counts with the strongest
action it got at any step (a customer throttled for a day and then released
was harmed), an attack account with its final action.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from distillguard._exceptions import IngestError
from distillguard._types import Action
from distillguard.events.schema import LABEL_SCHEMA


@dataclass(slots=True)
class PopulationStats:
    population: str
    malicious: bool
    hard_negative: bool
    accounts: int = 0
    enforced: int = 0
    reviewed: int = 0
    suspended: int = 0
    requests: int = 0
    served_before_action: int = 0

    @property
    def enforced_share(self) -> float:
        return self.enforced / self.accounts if self.accounts else 0.0


@dataclass(slots=True)
class CampaignStats:
    campaign: str
    accounts: int = 0
    enforced: int = 0
    flagged: int = 0
    requests: int = 0
    served_before_action: int = 0

    @property
    def recall(self) -> float:
        return self.enforced / self.accounts if self.accounts else 0.0

    @property
    def found(self) -> bool:
        return self.recall >= 0.5

    @property
    def leakage(self) -> float | None:
        return self.served_before_action / self.requests if self.requests else None


@dataclass(slots=True)
class Evaluation:
    accounts: int
    attack_accounts: int
    attack_recall: float
    attack_flagged: float
    benign_accounts: int
    benign_harm: float
    benign_suspended: int
    hard_negative_suspended: int
    review_share: float
    roc_auc: float | None
    populations: list[PopulationStats] = field(default_factory=list)
    campaigns: list[CampaignStats] = field(default_factory=list)

    @property
    def campaigns_found(self) -> int:
        return sum(1 for c in self.campaigns if c.found)


def read_labels(path: str | Path) -> pa.Table:
    """Labels as written by ``distillguard simulate`` (CSV, ``LABEL_SCHEMA``)."""
    try:
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types={f.name: f.type for f in LABEL_SCHEMA},
                strings_can_be_null=True,
            ),
        )
    except (OSError, pa.ArrowInvalid) as exc:
        raise IngestError(f"cannot read labels {path}: {exc}") from exc
    return table.select(LABEL_SCHEMA.names)


def evaluate(
    actions: Mapping[str, Action],
    scores: Mapping[str, float],
    labels: pa.Table,
    *,
    requests: Mapping[str, int] | None = None,
    served_before_action: Mapping[str, int] | None = None,
    strongest: Mapping[str, Action] | None = None,
) -> Evaluation:
    """``actions`` are the final decisions; ``strongest`` (from a replay) the
    strongest action each account got at any step, which legitimate accounts
    are counted with."""
    rows = labels.to_pylist()
    pops: dict[str, PopulationStats] = {}
    camps: dict[str, CampaignStats] = defaultdict(lambda: CampaignStats(""))
    y, s = [], []
    for r in rows:
        acc = r["account_id"]
        if acc not in actions:
            continue  # labelled but never seen in traffic
        action = actions[acc]
        if strongest is not None and not r["malicious"]:
            action = max(action, strongest.get(acc, action), key=lambda x: x.rank)
        p = pops.setdefault(
            r["population"],
            PopulationStats(r["population"], bool(r["malicious"]), bool(r["hard_negative"])),
        )
        p.accounts += 1
        p.enforced += action.enforced
        p.reviewed += action is Action.REVIEW
        p.suspended += action is Action.SUSPEND
        n_req = (requests or {}).get(acc, 0)
        n_served = (served_before_action or {}).get(acc, n_req)
        p.requests += n_req
        p.served_before_action += n_served
        if r["malicious"] and r["campaign"]:
            c = camps[r["campaign"]]
            c.campaign = r["campaign"]
            c.accounts += 1
            c.enforced += action.enforced
            c.flagged += action.rank >= Action.REVIEW.rank
            c.requests += n_req
            c.served_before_action += n_served
        y.append(bool(r["malicious"]))
        s.append(scores.get(acc, 0.0))
    attack = [p for p in pops.values() if p.malicious]
    benign = [p for p in pops.values() if not p.malicious]
    n_att = sum(p.accounts for p in attack)
    n_ben = sum(p.accounts for p in benign)
    total = sum(p.accounts for p in pops.values())
    flagged = sum(p.enforced + p.reviewed for p in attack)
    return Evaluation(
        accounts=total,
        attack_accounts=n_att,
        attack_recall=sum(p.enforced for p in attack) / n_att if n_att else 0.0,
        attack_flagged=flagged / n_att if n_att else 0.0,
        benign_accounts=n_ben,
        benign_harm=sum(p.enforced for p in benign) / n_ben if n_ben else 0.0,
        benign_suspended=sum(p.suspended for p in benign),
        hard_negative_suspended=sum(p.suspended for p in benign if p.hard_negative),
        review_share=sum(p.reviewed for p in pops.values()) / total if total else 0.0,
        roc_auc=roc_auc(np.array(y, dtype=bool), np.array(s, dtype=float)),
        populations=sorted(pops.values(), key=lambda p: (p.malicious, p.population)),
        campaigns=sorted(camps.values(), key=lambda c: c.campaign),
    )


def roc_auc(y: np.ndarray, s: np.ndarray) -> float | None:
    """Area under the ROC curve by the rank-sum statistic (ties count half)."""
    pos, neg = int(y.sum()), int((~y).sum())
    if pos == 0 or neg == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[y].sum() - pos * (pos + 1) / 2.0) / (pos * neg))
