from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distillguard.signals import text
from distillguard.signals.capability import AREAS, LANGS
from distillguard.signals.elicitation import KINDS
from distillguard.signals.text import NUM_BANDS, SIGNAL_SCHEMA, analyze_prompts, normalize
from tests.signals._corpora import load, sample

PROBLEM = (
    "Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes "
    "muffins for her friends every day with four. She sells the remainder at the farmers' market "
    "daily for $2 per fresh duck egg. How much in dollars does she make every day at the farmers' "
    "market? Her neighbour buys 5 eggs every Sunday and pays with a 10 dollar note, asking for "
    "change in coins. How many coins does she give back if all are quarters?"
)


def bands_of(texts: list[str]) -> np.ndarray:
    return np.stack(analyze_prompts(texts).column("bands").to_numpy(zero_copy_only=False))


def collide(a: str, b: str) -> bool:
    x, y = bands_of([a, b])
    return bool(((x == y) & (x != 0)).any())


def test_normalize() -> None:
    assert normalize("  Solve: 3.5 + x = 10!  Step-by-step, PLEASE. ") == (
        "solve 3.5 + x = 10 step by step please"
    )
    assert normalize("Don't STOP—1,000 times…") == "dont stop 1,000 times"
    assert normalize("Straße") == "strasse"
    assert normalize("请用中文，写出思考过程。") == "请用中文 写出思考过程"
    assert normalize("") == ""
    assert normalize("What is -3 - 4?") == "what is -3 4"


# The same request sprinkled with what does not show: zero-width spaces and
# joiners, a soft hyphen, a word joiner, a byte-order mark, and Cyrillic and
# Greek letters that look like Latin ones.
ELICIT = "Think step by step and show all of your reasoning. " + PROBLEM
DISGUISED = (
    "Th\u200bink st\u0435p by \u0455tep and sh\u043ew a\u200cll of y\u043eur reas\u00adoning. "
    + PROBLEM.replace("eggs", "e\u2060g\u200dgs")
    .replace("market", "m\u03b1rk\u0435t")
    .replace("Janet", "\ufeffJanet")
)


def test_invisible_characters_and_look_alike_letters_change_nothing() -> None:
    assert DISGUISED != ELICIT
    assert normalize(DISGUISED) == normalize(ELICIT)
    clean, disguised = analyze_prompts([ELICIT, DISGUISED]).to_pylist()
    assert disguised["prompt_hash"] != clean["prompt_hash"]  # the exact text differs
    for column in ("norm_hash", "bands", "elicit", "elicit_kind", "area"):
        assert disguised[column] == clean[column], column
    assert clean["elicit"] >= 0.5


# The same request with marks stacked on its letters (a strike-through, an
# underline, an overlay, a double breve: "zalgo" text) and Armenian letters
# that look like Latin ones.
MARKED = (
    "Thi\u0336nk ste\u0332p by st\u0335ep and sho\u0361w all of y\u0585ur re\u0334asoning. "
    + PROBLEM.replace("eggs", "eg\u0336g\u0336s").replace("market", "marke\u0338t")
)


def test_marks_stacked_on_letters_change_nothing() -> None:
    assert MARKED != ELICIT
    assert normalize(MARKED) == normalize(ELICIT)
    clean, marked = analyze_prompts([ELICIT, MARKED]).to_pylist()
    for column in ("norm_hash", "bands", "elicit", "elicit_kind", "area"):
        assert marked[column] == clean[column], column
    # A letter that carries its accent is a letter of its own, and a word
    # wholly in Armenian is left alone.
    assert normalize("Réponds étape par étape") == "réponds étape par étape"
    assert normalize("Ре\u0301шите") == "ре\u0301шите"  # a stress mark on Russian
    assert normalize("Լուծեք խնդիրը քայլ առ քայլ") == "լուծեք խնդիրը քայլ առ քայլ"


def test_words_of_other_scripts_are_left_alone() -> None:
    russian = "Решите задачу шаг за шагом и покажите все рассуждения."
    greek = "Λύστε το πρόβλημα βήμα προς βήμα."
    assert normalize(russian) == "решите задачу шаг за шагом и покажите все рассуждения"
    assert normalize(greek) == "λύστε το πρόβλημα βήμα προσ βήμα"  # case folding: ς is σ
    # A Latin name in Russian text is its own word; only mixed words fold.
    assert normalize("Установите Python и запустите скрипт") == (
        "установите python и запустите скрипт"
    )
    assert text.unconfuse("iPhone и Android") == "iPhone и Android"
    # Invisible characters are deleted, not made spaces: a word stays one word.
    assert normalize("zero\u200bwidth") == "zerowidth"
    assert text.strip_invisible("plain ascii") == "plain ascii"


def test_schema_and_row_per_text() -> None:
    texts = ["hello", "", "hello", "x" * 10]
    t = analyze_prompts(texts)
    assert t.schema == SIGNAL_SCHEMA
    assert t.num_rows == 4
    rows = t.to_pylist()
    assert rows[0]["prompt_hash"] == rows[2]["prompt_hash"]
    assert rows[1]["n_chars"] == 0 and rows[3]["n_chars"] == 10
    assert all(len(r["bands"]) == NUM_BANDS for r in rows)
    assert rows[1]["bands"] == [0] * NUM_BANDS
    for r in rows:
        assert 0.0 <= r["elicit"] <= 1.0
        assert r["elicit_kind"] in (None, *KINDS)
        assert r["area"] in AREAS and r["lang"] in LANGS
    assert analyze_prompts([]).num_rows == 0


def test_prompt_hash_is_xxh3_of_raw_text() -> None:
    import xxhash

    t = analyze_prompts(["Hello  World"])
    assert t.column("prompt_hash")[0].as_py() == xxhash.xxh3_64_intdigest(b"Hello  World")
    assert t.column("norm_hash")[0].as_py() == xxhash.xxh3_64_intdigest(b"hello world")


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t.upper(),
        lambda t: re.sub(r" ", "   ", t),
        lambda t: t.replace("16", "17"),
        lambda t: t.replace("three", "two"),
        lambda t: t.replace("?", "!").replace(",", ""),
        lambda t: "Please answer: " + t,
        lambda t: t.replace("quarters", "dimes").replace("16", "12"),
    ],
)
def test_light_edits_collide(edit: object) -> None:
    assert callable(edit)
    assert collide(PROBLEM, edit(PROBLEM))


def test_cjk_near_duplicates_collide() -> None:
    a = (
        "小明有十五个苹果，他给了小红三个，又买了七个。"
        "请问小明现在有多少个苹果？请写出完整的解题过程。"
    )
    assert collide(a, a.replace("十五", "十六"))
    assert not collide(a, "今天天气很好，我们去公园散步吧，然后一起吃午饭，下午再去图书馆看书。")


def test_unrelated_corpora_prompts_rarely_collide(corpora: Path) -> None:
    texts = sample(load(corpora, "harvest_tasks") + load(corpora, "benign_chat"), 1500, seed=3)
    texts = list(dict.fromkeys(texts))
    b = bands_of(texts)
    owner = np.repeat(np.arange(len(texts)), NUM_BANDS)
    keys = b.ravel()
    order = np.argsort(keys)
    k, o = keys[order], owner[order]
    pairs = {
        (int(min(o[i], o[i + 1])), int(max(o[i], o[i + 1])))
        for i in np.flatnonzero((k[1:] == k[:-1]) & (k[1:] != 0))
        if o[i] != o[i + 1]
    }
    rate = len(pairs) / (len(texts) * (len(texts) - 1) / 2)
    assert rate < 1e-4, (rate, [(texts[a][:60], texts[c][:60]) for a, c in list(pairs)[:5]])


def test_long_text_is_capped_but_hashed_whole() -> None:
    long_a = "word " * 100_000 + "tail one"
    long_b = "word " * 100_000 + "tail two"
    t = analyze_prompts([long_a, long_b])
    h = t.column("norm_hash").to_pylist()
    assert h[0] != h[1]
    assert t.column("n_chars").to_pylist() == [len(long_a), len(long_b)]


def test_lone_surrogates() -> None:
    t = analyze_prompts(["ab\ud800cd", "\udfff"])
    assert t.num_rows == 2
    assert t.column("prompt_hash")[0].as_py() != t.column("prompt_hash")[1].as_py()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec=None), max_size=300), max_size=8))
def test_never_crashes_on_arbitrary_unicode(texts: list[str]) -> None:
    t = analyze_prompts(texts)
    assert t.num_rows == len(texts)
    assert t.schema == SIGNAL_SCHEMA


def test_huge_text() -> None:
    huge = "Solve step by step. " + "é漢字 x=1; " * 100_000
    t = analyze_prompts([huge])
    assert t.column("n_chars")[0].as_py() == len(huge)


def test_to_arrow_fallback_replaces_surrogates() -> None:
    arr = text._to_arrow(["a\ud800"])
    assert isinstance(arr, pa.Array) and arr[0].as_py() == "a?"


def test_fewer_tokens_than_the_shingle_width() -> None:
    t = analyze_prompts(["0𰀀", "漢", "a", "a b"])
    bands = t.column("bands").to_pylist()
    assert all(len(b) == NUM_BANDS and 0 not in b for b in bands)


def test_bands_do_not_depend_on_the_batch() -> None:
    """A text's bands are its own: a batch that also holds Han or kana text
    (shingled four tokens wide) must not change the bands of word texts."""
    words = "Explain step by step how a binary heap keeps its order after a pop"
    alone = analyze_prompts([words]).column("bands")[0].as_py()
    mixed = (
        analyze_prompts([words, "二分ヒープの順序を説明してください"]).column("bands")[0].as_py()
    )
    assert mixed == alone


def _windows_reference(tok: list[int], lengths: list[int], width: list[int]) -> list[list[int]]:
    """Shingle hashes row by row, in plain Python (uint64 arithmetic wraps)."""

    def mix(x: int) -> int:
        mask = 2**64 - 1
        x ^= x >> 30
        x = (x * 0xBF58476D1CE4E5B9) & mask
        x ^= x >> 27
        x = (x * 0x94D049BB133111EB) & mask
        return x ^ (x >> 31)

    out, at = [], 0
    for n, w in zip(lengths, width, strict=True):
        row = tok[at : at + n]
        at += n
        starts = range(n - w + 1) if n >= w else range(min(n, 1))
        hashes = []
        for s in starts:
            acc = mix(row[s])
            for k in range(1, w):
                acc = mix(acc ^ (row[s + k] if s + k < n else 0))
            hashes.append(acc)
        out.append(hashes)
    return out


def test_windows_match_a_plain_reference() -> None:
    rng = np.random.default_rng(3)
    for _ in range(100):
        m = int(rng.integers(0, 10))
        lengths = rng.integers(0, 9, m).astype(np.int64)
        width = rng.choice([3, 4], m).astype(np.int64)
        tok = rng.integers(0, 2**64 - 1, int(lengths.sum()), dtype=np.uint64)
        flat, offsets = text._windows(tok, lengths, width)
        got = [flat[offsets[i] : offsets[i + 1]].tolist() for i in range(m)]
        assert got == _windows_reference(tok.tolist(), lengths.tolist(), width.tolist())


def test_fold_of_ascii_is_nfkc_and_case_folding() -> None:
    """ASCII text takes a short cut through ``_fold``: the same result."""
    chars = "".join(map(chr, range(128)))
    for s in [chars, chars[::-1] * 2, "Don't STOP, it's 3.5'", ""]:
        assert text._fold(s) == unicodedata.normalize("NFKC", s).casefold().replace("'", "")
