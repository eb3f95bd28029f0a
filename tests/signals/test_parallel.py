"""Prompt analysis shared out over processes gives the table of one call."""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
import pytest

from distillguard.signals import parallel
from distillguard.signals.parallel import PromptAnalyzer
from distillguard.signals.text import analyze_prompts
from distillguard.signals.wrappers import SEGMENT_HASHES, SEGMENT_WORDS, analyze_with_segments

TEXTS = [
    *(f"Solve step by step and show all reasoning: what is {i} times {i + 7}?" for i in range(300)),
    *(f"请一步一步地思考并写出完整的推理过程：{i} 加 {i} 等于多少？" for i in range(100)),
    *(f"Écris une lettre de motivation pour le poste numéro {i}." for i in range(100)),
    "",
    "   ",
    "x" * 20_000,
]


def _signals(table: pa.Table) -> pa.Table:
    return table.drop_columns([SEGMENT_HASHES, SEGMENT_WORDS])


def test_shared_out_batch_equals_one_call() -> None:
    """Shared out, the table also carries each text's wrapper segments."""
    with PromptAnalyzer(3, min_parallel=10) as analyzer:
        shared = analyzer(TEXTS)
        assert _signals(shared).equals(analyze_prompts(TEXTS))
        assert shared.equals(analyze_with_segments(TEXTS))
        # the pool is reused by a second large call
        assert _signals(analyzer(TEXTS[::-1])).equals(analyze_prompts(TEXTS[::-1]))


def test_small_batches_and_one_worker_stay_in_process() -> None:
    small = PromptAnalyzer(4, min_parallel=10_000)
    assert small(TEXTS).equals(analyze_prompts(TEXTS))
    assert small._pool is None
    single = PromptAnalyzer(1, min_parallel=1)
    assert single(TEXTS).equals(analyze_prompts(TEXTS))
    assert single._pool is None


def test_closed_analyzer_starts_again() -> None:
    analyzer = PromptAnalyzer(2, min_parallel=10)
    first = analyzer(TEXTS)
    analyzer.close()
    assert analyzer._pool is None
    assert analyzer(TEXTS).equals(first)
    assert _signals(first).equals(analyze_prompts(TEXTS))
    analyzer.close()


def test_shares_follow_the_measured_speeds() -> None:
    """The faster process gets the larger share, by characters; any split
    gives the same table."""
    texts = TEXTS[:-1] * 20  # no single text larger than a share
    chars = np.cumsum([len(t) + 1 for t in texts])
    with PromptAnalyzer(2, min_parallel=10) as analyzer:
        assert analyzer(texts).equals(analyze_with_segments(texts))
        assert all(s is not None and s > 0 for s in analyzer.speed)
        analyzer.speed = [3.0, 1.0]
        cuts = analyzer._cuts(chars)
        assert cuts[0] == 0 and cuts[-1] == len(texts)
        assert chars[cuts[1] - 1] == pytest.approx(0.75 * chars[-1], rel=0.01)
        analyzer.speed = [1.0, 1e9]  # all to the worker
        assert analyzer._cuts(chars)[1] == 0
        assert analyzer(texts).equals(analyze_with_segments(texts))


def test_a_batch_submitted_in_the_background_equals_one_call() -> None:
    with PromptAnalyzer(3, min_parallel=10) as analyzer:
        first = analyzer.submit(TEXTS)
        second = analyzer.submit(TEXTS[::-1])
        assert first is not None and second is not None
        # collected in any order, each is its own batch's table
        assert second.result().equals(analyze_with_segments(TEXTS[::-1]))
        assert first.result().equals(analyze_with_segments(TEXTS))
        assert analyzer.worker_peak_rss_mb > 0


def test_chunks_no_worker_has_started_are_taken_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch goes out in chunks; collected at once, before the worker has
    reached them, the last chunks are analysed by the caller. The table is
    the same, row for row."""
    monkeypatch.setattr(parallel, "CHUNK_TEXTS", 40)
    with PromptAnalyzer(2, min_parallel=10) as analyzer:
        # The worker is busy for a while; the executor has handed it at most
        # one chunk more.
        analyzer._ensure_pool().submit(time.sleep, 3.0)
        pending = analyzer.submit(TEXTS)
        assert pending is not None and len(pending._chunks) > 5
        assert pending.result().equals(analyze_with_segments(TEXTS))
        assert pending.taken_back >= len(pending._chunks) - 1
        # collected after the worker has done them all, nothing is taken back
        done = analyzer.submit(TEXTS[::-1])
        assert done is not None
        for _, future in done._chunks:
            future.result()
        assert done.result().equals(analyze_with_segments(TEXTS[::-1]))
        assert done.taken_back == 0


def test_nothing_is_submitted_without_a_worker_or_a_large_batch() -> None:
    assert PromptAnalyzer(1, min_parallel=1).submit(TEXTS) is None
    small = PromptAnalyzer(4, min_parallel=10_000)
    assert small.submit(TEXTS) is None
    assert small._pool is None
