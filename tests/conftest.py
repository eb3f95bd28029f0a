"""Shared fixtures. The real prompt corpora live outside the package (their
licences vary); tests find them through DISTILLGUARD_CORPORA, by default the
``shared/corpora`` folder beside the repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def corpora_dir() -> Path | None:
    env = os.environ.get("DISTILLGUARD_CORPORA")
    path = Path(env) if env else ROOT.parent / "shared" / "corpora"
    return path if (path / "harvest_tasks.jsonl").exists() else None


@pytest.fixture(scope="session")
def corpora() -> Path:
    path = corpora_dir()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("the real corpora are required in CI: set DISTILLGUARD_CORPORA")
        pytest.skip("real corpora not available (set DISTILLGUARD_CORPORA)")
    return path
