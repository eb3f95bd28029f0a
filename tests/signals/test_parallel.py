"""Prompt analysis shared out over processes gives the table of one call."""

from __future__ import annotations

from distillguard.signals.parallel import PromptAnalyzer
from distillguard.signals.text import analyze_prompts

TEXTS = [
    *(f"Solve step by step and show all reasoning: what is {i} times {i + 7}?" for i in range(300)),
    *(f"请一步一步地思考并写出完整的推理过程：{i} 加 {i} 等于多少？" for i in range(100)),
    *(f"Écris une lettre de motivation pour le poste numéro {i}." for i in range(100)),
    "",
    "   ",
    "x" * 20_000,
]


def test_shared_out_batch_equals_one_call() -> None:
    with PromptAnalyzer(3, min_parallel=10) as analyzer:
        assert analyzer(TEXTS).equals(analyze_prompts(TEXTS))
        # the pool is reused by a second large call
        assert analyzer(TEXTS[::-1]).equals(analyze_prompts(TEXTS[::-1]))


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
    analyzer.close()
