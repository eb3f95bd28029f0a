"""One demo run shared by the simulator tests (generation takes a few seconds).

The prompts come from the embedded subset, or from the full corpora when
DISTILLGUARD_CORPORA names them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from distillguard.simulate import SimConfig, SimResult, generate


def _corpora() -> Path | None:
    env = os.environ.get("DISTILLGUARD_CORPORA")
    return Path(env) if env else None


@pytest.fixture(scope="session")
def demo() -> SimResult:
    return generate(SimConfig.demo(corpora=_corpora()))


@pytest.fixture(scope="session")
def small() -> SimResult:
    return generate(SimConfig.demo(n_events=20_000, days=2.0, seed=3, corpora=_corpora()))
