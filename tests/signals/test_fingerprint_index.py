from __future__ import annotations

import itertools

import numpy as np

from distillguard.signals.text import NUM_BANDS, FingerprintIndex, analyze_prompts


def signals(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    t = analyze_prompts(texts)
    return t.column("norm_hash").to_numpy(), np.stack(
        t.column("bands").to_numpy(zero_copy_only=False)
    )


BASE = "a farmer has 17 cows and buys 5 more every week for a year how many cows does he have"
GROUP_A = [BASE, BASE.replace("17", "18"), BASE.replace("5 more", "6 more")]
GROUP_B = [
    "write a python function that reverses a linked list in place and returns the new head node",
    "write a python function that reverses a linked list in place and returns the new head",
]
LONE = ["the quick brown fox jumps over the lazy dog near the river bank at dawn"]


def partition(idx: FingerprintIndex, nh: np.ndarray) -> set[frozenset[int]]:
    ids = idx.clusters_of(nh)
    groups: dict[int, set[int]] = {}
    for h, c in zip(nh.tolist(), ids.tolist(), strict=True):
        groups.setdefault(c, set()).add(h)
    return {frozenset(g) for g in groups.values()}


def test_merges_incrementally() -> None:
    nh, b = signals(GROUP_A + GROUP_B + LONE)
    idx = FingerprintIndex()
    first = idx.add(nh[:1], b[:1])
    assert first.tolist() == [nh[0]]
    ids = idx.add(nh[1:], b[1:])
    assert ids[0] == ids[1] == nh[0]  # joined the cluster of the first prompt
    assert ids[2] == ids[3] != ids[0]
    assert ids[4] == nh[5]
    assert idx.n_prompts == 6 and idx.n_clusters == 3


def test_same_norm_hash_same_cluster() -> None:
    nh, b = signals(["Hello there, General Kenobi!", "hello there general kenobi"])
    assert nh[0] == nh[1]
    idx = FingerprintIndex()
    ids = idx.add(nh, b)
    assert ids[0] == ids[1]
    assert idx.n_prompts == 1
    assert idx.add(nh[:1], b[:1])[0] == ids[0]


def test_final_partition_is_order_independent() -> None:
    texts = GROUP_A + GROUP_B + LONE
    nh, b = signals(texts)
    expected = None
    for perm in itertools.permutations(range(len(texts))):
        order = list(perm)
        idx = FingerprintIndex()
        for chunk in (order[:2], order[2:4], order[4:]):
            idx.add(nh[chunk], b[chunk])
        got = partition(idx, nh)
        expected = expected or got
        assert got == expected
    assert expected is not None and len(expected) == 3


def test_clusters_of_unknown_is_itself() -> None:
    idx = FingerprintIndex()
    unknown = np.array([7, 8], dtype=np.uint64)
    assert idx.clusters_of(unknown).tolist() == [7, 8]
    nh, b = signals(LONE)
    idx.add(nh, b)
    assert idx.clusters_of(np.array([nh[0], 9], dtype=np.uint64)).tolist() == [nh[0], 9]


def test_popular_bucket_is_capped() -> None:
    n = 50
    nh = np.arange(1, n + 1, dtype=np.uint64)
    bands = np.zeros((n, NUM_BANDS), dtype=np.uint64)
    bands[:, 0] = 12345  # one band shared by everybody
    bands[:, 1:] = np.arange(1, n + 1, dtype=np.uint64)[:, None] * 1000 + np.arange(1, NUM_BANDS)
    idx = FingerprintIndex(max_bucket=10)
    ids = idx.add(nh, bands)
    assert len(set(ids.tolist())) == n - 9
    assert idx.n_clusters == n - 9


def test_empty_texts_do_not_merge_through_band_zero() -> None:
    nh = np.array([1, 2], dtype=np.uint64)
    idx = FingerprintIndex()
    ids = idx.add(nh, np.zeros((2, NUM_BANDS), dtype=np.uint64))
    assert ids.tolist() == [1, 2]
