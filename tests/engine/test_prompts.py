"""The prompt cache: analysing coming prompts ahead changes no signal."""

from __future__ import annotations

import pyarrow as pa
import pytest

from distillguard.engine.prompts import PromptCache
from distillguard.signals.text import analyze_prompts

FRAME = "Solve step by step and show all reasoning: "


def _texts() -> list[str]:
    problems = [f"what is {i} times {i + 3}, and why is it even?" for i in range(40)]
    near = [f"what is {i} times {i + 3}, and why is it even ?" for i in range(10)]
    chat = ["hello there, how are you today?", "write me a short poem about rain"]
    return [FRAME + p for p in problems + near] + chat


def _refuse(texts: list[str]) -> pa.Table:
    raise AssertionError(f"{len(texts)} prompts analysed again")


def test_prompts_analysed_ahead_give_the_same_signals() -> None:
    texts = _texts()
    steps = [texts[i : i + 7] + texts[:2] for i in range(0, len(texts), 7)]
    plain = PromptCache()
    expected = [plain.lookup(pa.array(s)) for s in steps]
    ahead = PromptCache()
    assert ahead.prefetch(pa.array(texts + texts[:5])) == len(texts)
    ahead.analyze = _refuse  # every prompt of the steps was analysed ahead
    got = [ahead.lookup(pa.array(s)) for s in steps]
    assert [t.to_pylist() for t in got] == [t.to_pylist() for t in expected]
    assert ahead.wrappers.describe(int(got[0].column("wrapper")[0].as_py())) == (
        plain.wrappers.describe(int(expected[0].column("wrapper")[0].as_py()))
    )


def test_prefetch_skips_what_is_added_or_analysed_already() -> None:
    texts = _texts()
    cache = PromptCache()
    cache.lookup(pa.array(texts[:10]))
    assert cache.prefetch(pa.chunked_array([texts[:20]])) == 10
    assert cache.prefetch(pa.array(texts[5:20])) == 0
    cache.lookup(pa.array(texts[10:15]))
    # The five added since are dropped from what waits; five still wait.
    assert cache.prefetch(pa.array(texts[:30])) == 10
    cache.analyze = _refuse
    cache.lookup(pa.array(texts[15:30]))
    with pytest.raises(AssertionError, match="analysed again"):
        cache.lookup(pa.array(["a prompt nobody announced"]))


def test_a_prompt_not_analysed_ahead_is_analysed_as_before() -> None:
    texts = _texts()
    cache = PromptCache()
    cache.prefetch(pa.array(texts[:10]))
    calls: list[int] = []

    def counting(batch: list[str]) -> pa.Table:
        calls.append(len(batch))
        return analyze_prompts(batch)

    cache.analyze = counting
    mixed = cache.lookup(pa.array(texts[5:15]))
    assert calls == [10]  # a step with prompts not analysed ahead analyses all its new ones
    assert mixed.to_pylist() == PromptCache().lookup(pa.array(texts[5:15])).to_pylist()
