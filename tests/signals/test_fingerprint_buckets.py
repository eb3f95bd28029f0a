"""``FingerprintIndex.buckets``: every band hash seen, and the prompt that
opened its bucket, mapping back to that prompt's cluster."""

from __future__ import annotations

import numpy as np
import pytest

from distillguard.signals.text import FingerprintIndex, analyze_prompts

BASE = "a farmer has 17 cows and buys 5 more every week for a year how many cows does he have"
TEXTS = [BASE, BASE.replace("17", "18"), "write a python function that reverses a linked list"]


def test_buckets_hold_every_band_and_its_opening_prompt() -> None:
    t = analyze_prompts(TEXTS)
    nh = t.column("norm_hash").to_numpy()
    bands = np.stack(t.column("bands").to_numpy(zero_copy_only=False))
    idx = FingerprintIndex()
    ids = idx.add(nh, bands)
    got, reps = idx.buckets()
    expected = np.unique(bands[bands != 0])
    assert np.array_equal(got, expected)  # sorted, each band once
    assert len(reps) == len(got)
    # The opening prompt of each band's bucket is a prompt that has that band.
    for band, rep in zip(got.tolist(), reps.tolist(), strict=True):
        row = nh.tolist().index(rep)
        assert band in bands[row].tolist()
    # Near-duplicates share bands, so their bands map back to their cluster.
    shared = np.intersect1d(bands[0], bands[1])
    shared = shared[shared != 0]
    assert len(shared)
    pos = np.searchsorted(got, shared)
    assert set(idx.clusters_of(reps[pos]).tolist()) == {int(ids[0])}
    assert ids[0] == ids[1] != ids[2]


def test_buckets_are_read_only() -> None:
    idx = FingerprintIndex()
    t = analyze_prompts(TEXTS)
    idx.add(
        t.column("norm_hash").to_numpy(), np.stack(t.column("bands").to_numpy(zero_copy_only=False))
    )
    bands, reps = idx.buckets()
    with pytest.raises(ValueError):
        bands[0] = 1
    with pytest.raises(ValueError):
        reps[0] = 1


def test_empty_index_has_no_buckets() -> None:
    bands, reps = FingerprintIndex().buckets()
    assert len(bands) == len(reps) == 0
