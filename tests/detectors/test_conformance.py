"""One conformance check run over every detector (scikit-learn style), and
targeted checks on a small scenario."""

from __future__ import annotations

import inspect

import pytest

from distillguard.detectors import Detector, Finding, default_detectors
from distillguard.engine.state import DetectionState
from tests.conftest import make_events
from tests.detectors.scenario import build_state, scenario

DETECTORS = default_detectors()


@pytest.fixture(scope="module")
def world() -> tuple[DetectionState, set[str]]:
    rows, accounts, op = scenario()
    return build_state(make_events(rows), accounts), op


def test_names_are_unique() -> None:
    names = [d.name for d in DETECTORS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("det", DETECTORS, ids=lambda d: d.name)
def test_constructor_only_stores_parameters(det: Detector) -> None:
    params = inspect.signature(type(det).__init__).parameters
    for name in params:
        if name != "self":
            assert hasattr(det, name), f"{det.name} does not keep parameter {name}"


@pytest.mark.parametrize("det", DETECTORS, ids=lambda d: d.name)
def test_empty_state_gives_no_findings(det: Detector) -> None:
    assert det.detect(DetectionState().context()) == []


@pytest.mark.parametrize("det", DETECTORS, ids=lambda d: d.name)
def test_findings_are_well_formed_and_deterministic(
    det: Detector, world: tuple[DetectionState, set[str]]
) -> None:
    state, _ = world
    seen = set(state.context().features.column("account_id").to_pylist())
    first = det.detect(state.context())
    again = det.detect(state.context())
    assert first == again
    for f in first:
        assert isinstance(f, Finding)
        assert f.detector == det.name and f.family == det.family
        assert 0.0 <= f.score <= 1.0
        assert f.reason.strip()
        assert set(f.accounts) <= seen
        if f.is_group:
            assert f.link, "group findings name what the accounts share"


def _flagged(det: Detector, world: tuple[DetectionState, set[str]]) -> set[str]:
    state, _ = world
    return {a for f in det.detect(state.context()) if f.score >= 0.5 for a in f.accounts}


@pytest.mark.parametrize(
    "name",
    ["automation_timing", "reasoning_elicitation", "shared_wrapper", "account_linking"],
)
def test_operation_is_flagged_and_users_are_not(
    name: str, world: tuple[DetectionState, set[str]]
) -> None:
    det = next(d for d in DETECTORS if d.name == name)
    flagged = _flagged(det, world)
    _, op = world
    assert op <= flagged, f"{name} missed {sorted(op - flagged)}"
    assert not {a for a in flagged if a.startswith("user")}
