"""Shared fixtures. The real prompt corpora live outside the package (their
licences vary); tests find them through DISTILLGUARD_CORPORA, by default the
``shared/corpora`` folder beside the repository."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
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


def make_events(rows: list[dict[str, object]]) -> pa.Table:
    """Events in ``EVENT_SCHEMA`` from partial rows (``ts`` in epoch seconds)."""
    from distillguard.events.schema import EVENT_SCHEMA

    defaults: dict[str, object] = {"user_turns": 1}
    cols: dict[str, list[object]] = {f.name: [] for f in EVENT_SCHEMA}
    for r in rows:
        r = {**defaults, **r}
        for f in EVENT_SCHEMA:
            v = r.get(f.name)
            if f.name == "ts":
                v = int(float(v) * 1e6)  # type: ignore[arg-type]
            cols[f.name].append(v)
    arrays = []
    for f in EVENT_SCHEMA:
        if f.name == "ts":
            arrays.append(pa.array(cols["ts"], pa.int64()).cast(f.type))
        else:
            arrays.append(pa.array(cols[f.name], f.type))
    return pa.Table.from_arrays(arrays, schema=EVENT_SCHEMA)


@pytest.fixture
def events_factory():  # type: ignore[no-untyped-def]
    return make_events
