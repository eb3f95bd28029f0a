"""Recall, harm and leakage against labels."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from distillguard._types import Action
from distillguard.engine.evaluate import evaluate, roc_auc
from distillguard.events.schema import LABEL_SCHEMA


def _labels(rows: list[tuple[str, str, bool, str | None, bool]]) -> pa.Table:
    return pa.Table.from_pylist(
        [dict(zip(LABEL_SCHEMA.names, r, strict=True)) for r in rows], schema=LABEL_SCHEMA
    )


LABELS = _labels(
    [
        ("a1", "swarm", True, "swarm-1", False),
        ("a2", "swarm", True, "swarm-1", False),
        ("b1", "chat_user", False, None, False),
        ("b2", "classroom", False, None, True),
        ("b3", "classroom", False, None, True),
    ]
)


def test_recall_sits_next_to_harm() -> None:
    actions = {
        "a1": Action.SUSPEND,
        "a2": Action.REVIEW,
        "b1": Action.THROTTLE,
        "b2": Action.ALLOW,
        "b3": Action.REVIEW,
    }
    scores = {"a1": 0.9, "a2": 0.6, "b1": 0.7, "b2": 0.1, "b3": 0.6}
    ev = evaluate(actions, scores, LABELS)
    assert ev.attack_recall == 0.5
    assert ev.attack_flagged == 1.0
    assert ev.benign_harm == pytest.approx(1 / 3)
    assert ev.hard_negative_suspended == 0
    assert ev.review_share == pytest.approx(2 / 5)
    assert ev.campaigns[0].found  # half its accounts enforced
    assert ev.roc_auc == pytest.approx(
        roc_auc(np.array([1, 1, 0, 0, 0], bool), np.array(list(scores.values())))
    )


def test_replay_counts_a_released_customer_as_harmed_and_a_released_attacker_as_missed() -> None:
    final = dict.fromkeys(["a1", "a2", "b1", "b2", "b3"], Action.ALLOW)
    strongest = {"a1": Action.SUSPEND, "b2": Action.SUSPEND, "b3": Action.REVIEW}
    ev = evaluate(final, {}, LABELS, strongest=strongest)
    assert ev.attack_recall == 0.0  # a1 was let go in the end
    assert ev.benign_harm == pytest.approx(1 / 3)  # b2 was suspended for a while
    assert ev.hard_negative_suspended == 1
    assert ev.benign_suspended == 1
    # Without the history, the same run looks harmless.
    assert evaluate(final, {}, LABELS).benign_harm == 0.0


def test_leakage_is_the_share_served_before_action() -> None:
    actions = dict.fromkeys(["a1", "a2", "b1", "b2", "b3"], Action.ALLOW)
    actions["a1"] = actions["a2"] = Action.SUSPEND
    ev = evaluate(
        actions,
        {},
        LABELS,
        requests={"a1": 100, "a2": 300},
        served_before_action={"a1": 10, "a2": 30},
    )
    assert ev.campaigns[0].leakage == pytest.approx(0.1)


def test_roc_auc_counts_ties_half() -> None:
    y = np.array([True, False, True, False])
    assert roc_auc(y, np.array([0.9, 0.1, 0.8, 0.2])) == 1.0
    assert roc_auc(y, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    assert roc_auc(np.array([True, True]), np.array([0.1, 0.2])) is None
