from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from distillguard.signals.text import analyze_prompts, normalize_array
from distillguard.signals.wrappers import Segments, WrapperIndex, _cut, segments
from tests.signals._corpora import load, sample


def norm_hashes(texts: list[str]) -> np.ndarray:
    return analyze_prompts(texts).column("norm_hash").to_numpy()


def test_finds_the_frame_of_wrapped_gsm8k(corpora: Path) -> None:
    questions = sample(load(corpora, "harvest_tasks", "math_word:gsm8k"), 50, seed=1)
    wrapped = [f"Solve step by step and show all reasoning: {q}" for q in questions]
    idx = WrapperIndex()
    ids = idx.add(wrapped, norm_hashes(wrapped))
    assert len(set(ids.tolist())) == 1 and ids[0] != 0
    assert idx.describe(int(ids[0])) == "Solve step by step and show all reasoning: {…}"


def test_frame_around_content() -> None:
    articles = [f"Article number {i} talks about topic {i * 7} in depth." for i in range(30)]
    texts = [
        f"Summarize the following article in 3 sentences:\n\n{a}\n\nSummary:" for a in articles
    ]
    idx = WrapperIndex()
    ids = idx.add(texts, norm_hashes(texts))
    assert len(set(ids.tolist())) == 1 and ids[0] != 0
    assert idx.describe(int(ids[0])) == (
        "Summarize the following article in 3 sentences:\n\n{…} Summary:"
    )


def test_a_template_disguised_per_prompt_is_one_wrapper(corpora: Path) -> None:
    """Invisible characters and look-alike letters sprinkled into each copy of
    the template make each copy differ byte for byte, not in its frame."""
    questions = sample(load(corpora, "harvest_tasks", "math_word:gsm8k"), 40, seed=4)
    disguises = [
        "Solve step by step and show all reasoning: {q}",
        "S\u200bolve step by st\u0435p and show all reasoning: {q}",
        "Solve st\u00adep by step and sh\u043ew all r\u0435asoning: {q}",
        "Solve step by step and show \u0430ll reason\u200ding: {q}",
    ]
    wrapped = [disguises[i % 4].format(q=q) for i, q in enumerate(questions)]
    idx = WrapperIndex()
    ids = idx.add(wrapped, norm_hashes(wrapped))
    assert len(set(ids.tolist())) == 1 and ids[0] != 0


def test_unwrapped_chat_prompts_have_no_wrapper(corpora: Path) -> None:
    chat = sample(load(corpora, "benign_chat", "chat:"), 2000, seed=2)
    idx = WrapperIndex()
    ids = idx.add(chat, norm_hashes(chat))
    assert (ids != 0).mean() < 0.01


def test_copies_of_one_prompt_are_no_wrapper() -> None:
    texts = ["What is the capital of France? Answer in one word."] * 50
    idx = WrapperIndex()
    nh = norm_hashes(texts)
    assert idx.add(texts, nh).tolist() == [0] * 50
    # even when each copy counts as a distinct prompt
    assert idx.add(texts, np.arange(50, dtype=np.uint64)).tolist() == [0] * 50


def test_incremental_counts() -> None:
    texts = [f"Translate into German: sentence number {i} is here." for i in range(25)]
    idx = WrapperIndex()
    early = idx.add(texts[:10], norm_hashes(texts[:10]))
    assert early.tolist() == [0] * 10  # frame seen in fewer than 20 prompts yet
    late = idx.add(texts[10:], norm_hashes(texts[10:]))
    assert len(set(late.tolist())) == 1 and late[0] != 0
    assert idx.describe(0) == ""


def test_segment_memory_is_bounded() -> None:
    idx = WrapperIndex(max_segments=1000)
    for batch in range(5):
        texts = [f"Fixed frame here: unique content {batch}-{i} x" for i in range(500)]
        idx.add(texts, norm_hashes(texts))
        assert idx.n_segments <= 1000
    ids = idx.add(
        ["Fixed frame here: something new"], norm_hashes(["Fixed frame here: something new"])
    )
    assert ids[0] != 0


def test_empty_batch_and_empty_texts() -> None:
    idx = WrapperIndex()
    assert idx.add([], np.zeros(0, dtype=np.uint64)).tolist() == []
    assert idx.add(["", "  "], np.array([1, 2], dtype=np.uint64)).tolist() == [0, 0]


def test_segment_words_are_the_words_of_the_normalised_segment(corpora: Path) -> None:
    texts = load(corpora, "harvest_tasks")[:300] + load(corpora, "benign_chat")[:300]
    seg = segments(texts)
    norm = normalize_array(seg.raw)
    words = pc.list_value_length(pc.utf8_split_whitespace(norm)).to_numpy(zero_copy_only=False)
    letters = np.asarray(pc.match_substring_regex(norm, r"\pL").to_numpy(zero_copy_only=False))
    assert np.array_equal(seg.words, np.where(letters, words, 0))
    assert seg.words.sum() > 1000


def test_nfkc_short_cut_for_ascii() -> None:
    from distillguard.signals.wrappers import _nfkc_utf8

    chars = "".join(map(chr, range(128)))
    for t in [chars, "Solve: x = 3.", "ｆｕｌｌ．ｗｉｄｔｈ", "a\ud800b", "ﬁ ① Å", ""]:
        assert _nfkc_utf8(t) == unicodedata.normalize("NFKC", t).encode("utf-8", "replace").decode()


def test_segments_handed_in_give_the_same_ids_and_samples(corpora: Path) -> None:
    """Segments computed by the analysing processes (as list columns, without
    their text) give what the index computes itself: ids, counts, samples."""
    from distillguard.signals.wrappers import Segments, analyze_with_segments

    questions = sample(load(corpora, "harvest_tasks", "math_word:gsm8k"), 60, seed=3)
    texts = [f"Solve step by step and show all reasoning: {q}" for q in questions]
    texts += [f"Translate into French. Keep the tone: {q}" for q in questions[:30]]
    texts += ["plain chat, nothing wrapped", texts[5], texts[70]]  # repeats collapse
    table = analyze_with_segments(texts)
    nh = table.column("norm_hash").to_numpy()
    own, handed = WrapperIndex(), WrapperIndex()
    for part in (slice(0, 50), slice(50, None)):
        sub = table.slice(part.start, (part.stop or len(texts)) - part.start)
        a = own.add(texts[part], nh[part])
        b = handed.add(texts[part], nh[part], Segments.from_columns(sub))
        assert a.tolist() == b.tolist()
    assert own.n_segments == handed.n_segments
    ids = {int(w) for w in own.add(texts, nh).tolist() if w}
    assert len(ids) == 2
    assert all(handed.describe(w) for w in ids)
    assert {own.describe(w) for w in ids} == {handed.describe(w) for w in ids}
    assert analyze_prompts(texts).equals(table.drop_columns(["segment_hashes", "segment_words"]))


_BREAKS = [*".!?:;。！？；：\n\t\r\f\v \u3000\u00a0\u2028ab1", "\ud800", "ﬁ"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_BREAKS), max_size=30).map("".join))
def test_a_sample_is_cut_as_the_index_cuts_it(text: str) -> None:
    """Samples are cut again one text at a time; the cut must be the
    vectorised one, segment for segment, or a description is misaligned."""
    assert _cut(text) == segments([text]).raw


def test_samples_of_segments_handed_in_without_text() -> None:
    frame = "Grade the answer below.\nReply with a score: "
    texts = [f"{frame}answer number {i} is {i * 7}." for i in range(30)]
    with_text, without = WrapperIndex(min_prompts=5), WrapperIndex(min_prompts=5)
    nh = np.arange(30, dtype=np.uint64)
    a = with_text.add(texts, nh)
    seg = segments(texts)
    b = without.add(texts, nh, Segments(None, seg.row, seg.hash, seg.words))
    assert (a == b).all() and a[0] != 0
    assert without.describe(int(b[0])) == with_text.describe(int(a[0]))
    assert without.describe(int(b[0])).startswith("Grade the answer below.")
