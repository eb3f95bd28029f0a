"""Prompt reuse links the accounts of one operation, not heavy users of the
same public dataset."""

from __future__ import annotations

import numpy as np

from distillguard.detectors.reuse import PromptReuseDetector
from distillguard.engine.state import DetectionState
from tests.conftest import make_events
from tests.detectors.scenario import START, problems


def _rows(account: str, texts: list[str], rng: np.random.Generator) -> list[dict[str, object]]:
    t = START + float(rng.uniform(0, 3600))
    out: list[dict[str, object]] = []
    for text in texts:
        t += float(rng.uniform(5, 60))
        out.append({"ts": t, "account_id": account, "prompt": text, "model": "m-large"})
    return out


def test_operation_pairs_link_and_dataset_users_do_not() -> None:
    rng = np.random.default_rng(7)
    dataset = problems(400, seed=3)
    rows: list[dict[str, object]] = []
    # An evaluation company runs the whole benchmark; thirty people each try
    # forty of its problems.
    rows += _rows("eval", dataset, rng)
    for u in range(30):
        picks = rng.choice(len(dataset), 40, replace=False)
        rows += _rows(f"user{u:02d}", [dataset[i] for i in picks], rng)
    # Two accounts of one operation send the same sixty problems.
    seeds = [dataset[i] for i in rng.choice(len(dataset), 60, replace=False)]
    rows += _rows("op1", seeds, rng)
    rows += _rows("op2", seeds, rng)
    state = DetectionState()
    state.update(make_events(rows))
    findings = PromptReuseDetector().detect(state.context())
    firm = {f.accounts for f in findings if f.score >= 0.4}
    assert ("op1", "op2") in firm
    assert firm == {("op1", "op2")}, sorted(firm)
    assert not any("eval" in f.accounts and f.score >= 0.2 for f in findings)
    op = next(f for f in findings if f.accounts == ("op1", "op2"))
    assert op.evidence["lift"] > 4
