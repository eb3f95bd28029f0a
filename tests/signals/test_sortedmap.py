"""``SortedMap`` against a dict, and the indexes built on it: the same answers
whether the delta is merged often, rarely or on every insert."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from distillguard.signals import sortedmap
from distillguard.signals.sortedmap import SortedMap
from distillguard.signals.text import FingerprintIndex, analyze_prompts
from distillguard.signals.wrappers import WrapperIndex
from tests.signals._corpora import load

U64 = np.uint64


@pytest.mark.parametrize(("min_delta", "ratio"), [(4, 2), (0, 10**9), (10**9, 8)])
def test_agrees_with_a_dict(monkeypatch: pytest.MonkeyPatch, min_delta: int, ratio: int) -> None:
    monkeypatch.setattr(sortedmap, "MIN_DELTA", min_delta)
    monkeypatch.setattr(sortedmap, "RATIO", ratio)
    rng = random.Random(min_delta)
    ref: dict[int, tuple[int, int]] = {}
    m = SortedMap(np.int64, np.uint32)
    for step in range(300):
        drawn = {
            rng.randrange(2**64) if rng.random() < 0.5 else rng.randrange(500)
            for _ in range(rng.randrange(40))
        }
        keys = np.array(rng.sample(sorted(drawn), len(drawn)), dtype=U64)  # distinct, unsorted
        level, pos = m.find(keys)
        assert (level >= 0).tolist() == [k in ref for k in keys.tolist()]
        got_a, got_b = m.get(0, level, pos), m.get(1, level, pos)
        for k, a, b, lv in zip(
            keys.tolist(), got_a.tolist(), got_b.tolist(), level.tolist(), strict=True
        ):
            assert (a, b) == (ref[k] if lv >= 0 else (0, 0))
        # Bump the second column of the known keys, add the new ones.
        m.put(1, level, pos, got_b + 1)
        for k, lv in zip(keys.tolist(), level.tolist(), strict=True):
            if lv >= 0:
                ref[k] = (ref[k][0], ref[k][1] + 1)
        new = np.unique(keys[level < 0])[::-1].copy()  # not sorted: insert sorts
        values = rng.sample(range(-1000, 1000), len(new))
        m.insert(new, np.array(values, np.int64), np.full(len(new), 7, np.uint32))
        ref.update({k: (v, 7) for k, v in zip(new.tolist(), values, strict=True)})
        assert len(m) == len(ref)
        if step % 50 == 49:
            held, (a, b) = m.items()
            assert held.tolist() == sorted(ref)
            assert list(zip(a.tolist(), b.tolist(), strict=True)) == [ref[k] for k in sorted(ref)]
            odd = (a % 2) == 1
            m.keep(odd)
            ref = {k: v for k, v in ref.items() if v[0] % 2 == 1}
            assert len(m) == len(ref)


def _run(
    texts: list[str], batch: int
) -> tuple[list[np.ndarray], tuple[np.ndarray, np.ndarray], list[np.ndarray], int]:
    t = analyze_prompts(texts)
    nh = t.column("norm_hash").to_numpy()
    bands = np.stack(t.column("bands").to_numpy(zero_copy_only=False))
    fp, wr = FingerprintIndex(max_bucket=8), WrapperIndex(min_prompts=3, max_segments=3000)
    ids, wids = [], []
    for i in range(0, len(texts), batch):
        ids.append(fp.add(nh[i : i + batch], bands[i : i + batch]))
        wids.append(wr.add(texts[i : i + batch], nh[i : i + batch]))
    ids.append(fp.clusters_of(nh))
    return ids, fp.buckets(), wids, wr.n_segments


def test_indexes_do_not_depend_on_when_the_delta_merges(
    corpora: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = load(corpora, "harvest_tasks")[:1500] + load(corpora, "benign_chat")[:500]
    runs = []
    for min_delta, ratio in [(0, 10**9), (64, 4), (10**9, 8)]:
        monkeypatch.setattr(sortedmap, "MIN_DELTA", min_delta)
        monkeypatch.setattr(sortedmap, "RATIO", ratio)
        runs.append(_run(texts, 37))
    (ids, buckets, wids, n_seg) = runs[0]
    assert len(np.unique(ids[-1])) < len(texts) and any(w.any() for w in wids)
    for other_ids, other_buckets, other_wids, other_n in runs[1:]:
        assert all(np.array_equal(a, b) for a, b in zip(ids, other_ids, strict=True))
        assert all(np.array_equal(a, b) for a, b in zip(buckets, other_buckets, strict=True))
        assert all(np.array_equal(a, b) for a, b in zip(wids, other_wids, strict=True))
        assert n_seg == other_n
