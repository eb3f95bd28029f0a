from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from distillguard.signals import capability
from distillguard.signals.capability import capability_area, language
from distillguard.signals.patterns import ARROW_MIN
from distillguard.signals.text import analyze_prompts, cap_text
from tests.signals._corpora import load

AREA_CASES = [
    ("Solve for x: 3x^2 - 5x + 2 = 0", "math"),
    ("Tom has 12 apples and gives 5 to Ann. How many apples does Tom have left?", "math"),
    ("Compute $\\int_0^1 x^2 \\, dx$.", "math"),
    ("Write a Python function that returns the n-th Fibonacci number.", "code"),
    ("```js\nconst x = [1, 2, 3].map(v => v * 2);\n```\nWhy does this fail?", "code"),
    ("Translate the following sentence into French: I love reading books.", "translation"),
    (
        "Summarize the following article in 3 sentences: The city council met on Monday.",
        "summarization",
    ),
    (
        "Classify the sentiment of this review as positive or negative: Great phone!",
        "classification",
    ),
    ("Extract all the person names from this text: Alice met Bob in Paris.", "extraction"),
    ("I want you to act as a travel guide. I will tell you my location.", "roleplay"),
    ("Write a short poem about the sea at night.", "writing"),
    ("who won the world cup in 2010", "qa"),
    ("Resuelve la ecuación: 2x + 3 = 7", "math"),
    ("Traduce al inglés: Me gusta leer libros.", "translation"),
    (
        "Fasse den folgenden Text zusammen: Die Stadt wächst schnell. Zusammenfassung:",
        "summarization",
    ),
    ("Schreibe eine Funktion in Python, die eine Liste sortiert.", "code"),
    ("Traduis en anglais : j'aime lire des livres.", "translation"),
    ("Écris une fonction Python qui trie une liste.", "code"),
    ("请把下面的句子翻译成英文：我喜欢读书。", "translation"),
    ("计算：3 + 5 × 2 = ?", "math"),
    ("次の文章を要約してください。", "summarization"),
    ("Pythonで関数を書いてください。", "code"),
    ("Переведи на английский: я люблю читать книги.", "translation"),
    ("Реши уравнение: 2x + 3 = 7", "math"),
]


@pytest.mark.parametrize(("text", "area"), AREA_CASES)
def test_area(text: str, area: str) -> None:
    assert capability_area([text]) == [area]


def test_area_batch_and_empty() -> None:
    assert capability_area([]) == []
    assert capability_area(["", "hi"]) == ["other", "chat"]


LANG_CASES = [
    ("What is the capital of France and why is it famous?", "en"),
    ("请用中文写出你完整的思考过程", "zh"),
    ("思考過程をすべて日本語で書いてください", "ja"),
    ("이 문제를 단계별로 풀어 주세요", "ko"),
    ("Напиши все свои рассуждения шаг за шагом", "ru"),
    ("¿Cuál es la capital de Francia y por qué es famosa?", "es"),
    ("Was ist die Hauptstadt von Frankreich und warum ist sie berühmt?", "de"),
    ("Quelle est la capitale de la France et pourquoi est-elle célèbre ?", "fr"),
    ("Qual é a capital da França e por que ela é famosa? Você sabe?", "pt"),
    ("Qual è la capitale della Francia e perché è famosa? Non lo so.", "it"),
    ("", "other"),
]


@pytest.mark.parametrize(("text", "lang"), LANG_CASES)
def test_language(text: str, lang: str) -> None:
    assert language([text]) == [lang]


def test_structure_cues_agree_with_arrow(corpora: Path) -> None:
    """Small batches find the structural cues through compiled patterns,
    large ones through Arrow's kernels: the same cues on the corpora."""
    texts = load(corpora, "harvest_tasks")[::3] + load(corpora, "benign_chat")[::3]
    low = pc.utf8_lower(cap_text(pa.array(texts, pa.large_string())))
    assert len(low) >= ARROW_MIN
    arrow = capability._structure(low)
    compiled = np.concatenate(
        [capability._structure(low.slice(i, 500)) for i in range(0, len(low), 500)]
    )
    assert np.array_equal(arrow, compiled)
    assert arrow.any(axis=0).all()


def test_area_and_language_do_not_depend_on_the_batch(corpora: Path) -> None:
    texts = load(corpora, "harvest_tasks")[:900] + load(corpora, "benign_chat")[:900]
    whole = analyze_prompts(texts)
    parts = pa.concat_tables(
        [analyze_prompts(texts[i : i + 150]) for i in range(0, len(texts), 150)]
    )
    assert whole.equals(parts)
