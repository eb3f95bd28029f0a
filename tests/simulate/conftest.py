"""One demo run shared by the simulator tests (generation takes a few seconds)."""

from __future__ import annotations

import pytest

from distillguard.simulate import SimConfig, SimResult, generate


@pytest.fixture(scope="session")
def demo() -> SimResult:
    return generate(SimConfig.demo())


@pytest.fixture(scope="session")
def small() -> SimResult:
    return generate(SimConfig.demo(n_events=20_000, days=2.0, seed=3))
