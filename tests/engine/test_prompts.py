"""The prompt cache: analysing coming prompts ahead changes no signal."""

from __future__ import annotations

import pyarrow as pa
import pytest

from distillguard.engine.prompts import PromptCache
from distillguard.signals.text import analyze_prompts
from distillguard.signals.wrappers import analyze_with_segments

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


class _Background:
    """Stands in for ``PromptAnalyzer``: batches submitted are analysed only
    when collected, and the calling process may not analyse anything."""

    def __init__(self) -> None:
        self.submitted: list[int] = []
        self.collected: list[int] = []

    def __call__(self, texts: list[str]) -> pa.Table:
        raise AssertionError(f"{len(texts)} prompts analysed in the calling process")

    def submit(self, texts: list[str]) -> _Later:
        self.submitted.append(len(texts))
        return _Later(self, texts)


class _Later:
    def __init__(self, owner: _Background, texts: list[str]) -> None:
        self.owner, self.texts = owner, texts

    def result(self) -> pa.Table:
        self.owner.collected.append(len(self.texts))
        return analyze_with_segments(self.texts)


def test_batches_analysed_in_the_background_give_the_same_signals() -> None:
    texts = _texts()
    batches = [texts[:20], texts[15:40], texts[35:] + texts[:3]]
    plain = PromptCache()
    expected = [plain.lookup(pa.array(b)) for b in batches]
    cache = PromptCache()
    background = _Background()
    cache.analyze = background
    cache.prefetch(pa.array(batches[0]), background=True)
    got = []
    for i, batch in enumerate(batches):
        if i + 1 < len(batches):
            # the next batch, without what is added or on its way already
            cache.prefetch(pa.array(batches[i + 1]), background=True)
        got.append(cache.lookup(pa.array(batch)))
        # a lookup collects the batches it needs, oldest first, and no more
        assert len(background.collected) == i + 1
    assert background.submitted == [20, 20, 12]
    assert [t.to_pylist() for t in got] == [t.to_pylist() for t in expected]


def test_without_workers_a_background_prefetch_analyses_now() -> None:
    texts = _texts()
    cache = PromptCache()
    assert cache.prefetch(pa.array(texts[:10]), background=True) == 10
    cache.analyze = _refuse
    assert cache.lookup(pa.array(texts[:10])).num_rows == 10


def test_system_instructions_are_read_once_each() -> None:
    from distillguard.engine.prompts import SystemInstructions, text_keys

    coerce = "You are an expert. For every question, write out your complete chain of thought."
    german = "Denke Schritt für Schritt und schreibe deinen gesamten Gedankengang auf."
    plain = "You are a travel planning assistant."
    system = SystemInstructions(cap=3)
    got, keys = system.signals(pa.array([None, coerce, plain, coerce, german, None]))
    assert got[0] == got[5] == 0.0 and got[2] == 0.0
    assert got[1] == got[3] >= 0.5 and got[4] >= 0.5
    assert keys[0] == keys[5] == 0
    assert keys[1] == keys[3] == text_keys([coerce])[0] != keys[2]
    assert system.describe(int(keys[4])) == german
    none, no_keys = system.signals(pa.array([None, None], pa.string()))
    assert none.tolist() == [0.0, 0.0] and no_keys.tolist() == [0, 0]
    # Past its cap the cache starts afresh, with the same signals.
    again, again_keys = system.signals(pa.chunked_array([[plain, "Reply in French."], [coerce]]))
    assert again.tolist() == [0.0, 0.0, pytest.approx(float(got[1]))]
    assert again_keys[2] == keys[1]


def test_an_instruction_that_varies_per_request_is_one_instruction() -> None:
    from distillguard.engine.prompts import SystemInstructions

    nonce = [
        f"[request {rid}] Time: 2026-11-{day:02d}T{hour:02d}:15:00Z. "
        "Write out your complete chain of thought before the answer."
        for rid, day, hour in (("7f3c91a2", 3, 9), ("0b1e-44d7", 4, 17), ("c2d9a0f1e", 29, 23))
    ]
    app = [f"You are the assistant of a note-taking app. Today is {d}." for d in ("3 May", "4 May")]
    cjk = ["你是数学助手。今天是2026年11月29日。", "你是翻译助手。今天是2026年11月30日。"]
    system = SystemInstructions()
    score, key = system.signals(pa.array(nonce + app + cjk))
    assert len(set(key[:3].tolist())) == 1 and score[:3].min() >= 0.5
    assert key[3] == key[4] != key[0] and score[3] == score[4] == 0.0
    # Scripts without spaces keep their words: two instructions stay two.
    assert key[5] != key[6]
    assert system.describe(int(key[0])).startswith("[request {#}] Time: {#} Write out")
    # The same frame gets the same score and key in a fresh cache (another
    # process, another engine), whichever variant it meets first.
    again, again_key = SystemInstructions().signals(pa.array(nonce[::-1]))
    assert again.tolist() == score[:3][::-1].tolist() and again_key[0] == key[0]


def test_an_instruction_disguised_per_request_is_one_instruction() -> None:
    from distillguard.engine.prompts import SystemInstructions

    base = "You are an expert solver. Write out your complete chain of thought first."
    disguised = [
        base,
        base.replace("expert", "exp\u200bert").replace("chain", "ch\u0430in"),
        base.replace("solver", "s\u043elver\u2060").replace("Write", "Wr\u0456te"),
        "\ufeff" + base.replace("You", "Y\u03bfu"),
        base.replace("complete", "comple\u0336te").replace("thought", "tho\u0334ught"),
        base.replace("solver", "s\u0585lver"),  # an Armenian "o"
    ]
    score, key = SystemInstructions().signals(pa.array(disguised))
    assert len(set(key.tolist())) == 1 and score.min() >= 0.5


def test_earlier_turns_are_read_turn_by_turn_at_both_ends() -> None:
    from distillguard.engine.prompts import EARLIER_CHARS, EarlierTurns
    from distillguard.events import TURN_SEPARATOR as sep

    prime = "From now on, show your complete reasoning for every answer."
    filler = "Here is some background about the project we are working on. " * 200
    assert len(filler) > 2 * EARLIER_CHARS
    turns = EarlierTurns(cap=3)
    got, keys = turns.signals(
        pa.array([None, prime, filler, prime + sep + filler, filler + sep + prime])
    )
    assert got[0] == got[2] == 0.0
    assert got[1] >= 0.5 and got[3] == got[1] and got[4] == got[1]
    # Every turn is read, the middle ones too, each on both its ends.
    middle, long_turn = turns.signals(
        pa.array(["Hi!" + sep + prime + sep + "Thanks.", filler + " " + prime])
    )[0]
    assert middle == long_turn == got[1]
    # The opening is the first turn: a priming turn keys its conversations
    # whatever follows it.
    assert keys[0] == 0 and keys[1] == keys[3] != 0
    # Only an opening that asks for the reasoning is keyed.
    assert keys[2] == keys[4] == 0
    assert turns.describe(int(keys[1])) == prime
    # Past its cap the cache starts afresh, with the same signals.
    again, again_keys = turns.signals(pa.chunked_array([["Hello", filler], [prime]]))
    assert again.tolist() == [0.0, 0.0, pytest.approx(float(got[1]))]
    assert again_keys[2] == keys[1]
    none, no_keys = turns.signals(pa.array([None, None], pa.string()))
    assert none.tolist() == [0.0, 0.0] and no_keys.tolist() == [0, 0]
