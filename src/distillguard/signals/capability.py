"""Capability area and language of a prompt: cheap, multilingual, vectorised.

Capability area (``AREAS``): each area has a lexicon of *instruction* cues
("translate", "summarize", "act as", "翻译", "übersetze" …), counted once, and
*topic* cues ("equation", "python", "poem" …), counted with diminishing
returns (log1p), looked up for every word and word pair of the batch at once
(sorted numpy arrays of token hashes). A few structural cues are regular
expressions over the raw text: code fences and code syntax, LaTeX, arithmetic
expressions, "how many" questions with numbers. The area with the highest
score wins (ties go to the first in ``AREAS``); a text with no cue is ``qa``
when it is a question, ``chat`` when it is short, ``other`` otherwise.

Language (``LANGS``): script first (kana → ja, Hangul → ko, Han → zh,
Cyrillic → ru), then stopword counts for Latin-script text (en, es, de, fr, pt,
it); Latin text without stopwords is ``en`` when ASCII, ``other`` if not.

>>> capability_area(["Translate into French: good morning", "Solve for x: 2x + 3 = 7"])
['translation', 'math']
>>> language(["¿Cómo estás? Estoy bien, gracias por preguntar.", "今日はいい天気ですね"])
['es', 'ja']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.signals.text import Tokens, cap_text, normalize_array, tokenize

__all__ = ["AREAS", "LANGS", "area_of_tokens", "capability_area", "language", "language_of_tokens"]

AREAS: Final = (
    "math",
    "code",
    "reasoning",
    "writing",
    "translation",
    "summarization",
    "classification",
    "extraction",
    "qa",
    "chat",
    "roleplay",
    "other",
)
LANGS: Final = ("en", "zh", "ja", "ko", "ru", "es", "de", "fr", "pt", "it", "other")

# Instruction cues: one occurrence is decisive (weight 3).
_INSTRUCTION: Final[dict[str, str]] = {
    "translation": """translate translating translation translations translator traduce traduzca
        traducir traduza traduzir traduis traduisez traduire traduci tradurre übersetze übersetzen
        übersetzung переведи переведите перевод перевести 翻译 翻譯 翻訳 번역""",
    "summarization": """summarize summarise summarizing summarization summary summaries tldr
        tl;dr recap resume resumen resumir resuma resumo riassumi riassunto zusammenfassung
        zusammenfassen fasse résume résumez résumé résumer кратко резюме перескажи суммируй
        总结 摘要 概括 概要 要約 요약""",
    "classification": """classify classifying classification categorize categorise categorization
        sentiment sentiments clasifica clasificar clasifique classifique klassifiziere
        klassifizieren kategorisiere classifie classifiez classer classifica classificare
        классифицируй классифицировать категоризируй тональность 分类 分類 情感 感情 감정 분류""",
    "extraction": """extract extracting extraction extrae extraer extraia extrahiere extrahieren
        extrais extrayez extraire estrai estrarre извлеки извлечь 提取 抽取 抽出 추출""",
    "roleplay": """roleplay role-play act_as acting_as pretend_to pretend_you you_are_now
        in_character stay_in impersonate actúa_como finge_ser agis_comme joue_le spiele_die
        притворись представь_что 扮演 假装 ロールプレイ 역할극""",
    "code": """python javascript typescript java c++ c# golang kotlin php sql mysql postgresql
        regex html css jquery django flask numpy pandas nodejs write_code the_code this_code
        following_code source_code sql_query code_snippet unit_test unit_tests python_function
        a_function function_that function_to program_that program_to script_that script_to
        a_program a_script código_que una_función eine_funktion une_fonction una_funzione
        функцию_которая 代码 程序 函数 编程 コード プログラム 関数 코드 함수 프로그램""",
    "writing": """rewrite paraphrase proofread a_poem a_story an_essay a_letter an_email a_blog
        a_song a_speech cover_letter a_haiku a_tweet a_sonnet a_limerick short_story blog_post
        un_poema un_cuento un_ensayo una_carta ein_gedicht einen_aufsatz eine_geschichte
        un_poème une_histoire une_lettre una_poesia стихотворение 写一 作文 詩を 物語を""",
}

# Topic cues: counted with diminishing returns (weight 1 each, log1p of the count).
_TOPIC: Final[dict[str, str]] = {
    "math": """equation equations integral integrals derivative derivatives polynomial
        polynomials probability triangle triangles circle radius diameter perimeter area volume
        sum product quotient remainder divisible prime primes integer integers fraction
        fractions percent percentage ratio average mean median digits digit real solve
        calculate compute evaluate simplify factor prove theorem matrix matrices vector vectors
        cos sin tan log sqrt frac cdot times geometric arithmetic sequence series
        modulo greatest least smallest largest maximum minimum value values number numbers
        how_many how_much find_the what_is_the total cost costs price profit interest rate
        speed distance hours minutes dollars cents miles km meters
        ecuación calcula resuelve cuántos cuánto gleichung berechne löse wie_viele équation
        calcule résous combien equazione calcola quanti уравнение вычисли реши сколько
        计算 方程 求解 多少 几个 概率 面积 計算 何個 確率 계산 방정식""",
    "code": """program programs programming script scripts function functions code coding
        compile compiler debug debugging algorithm algorithms rust swift ruby perl scala
        haskell bash powershell json yaml xml api react node array arrays string strings
        list lists dictionary dict integer class classes
        method methods object objects variable variables loop loops recursion recursive
        database query queries table tables server client endpoint http request requests
        library framework module package install error exception bug stack queue tree
        linked_list binary_tree hash sort sorting implement implementation input output
        return returns parameter parameters argument arguments print def import const var
        let int void public static null true false git docker linux unix terminal command""",
    "reasoning": """riddle riddles puzzle puzzles logic logical logically deduce deduction
        infer inference syllogism paradox premise premises conclusion fallacy true_or_false
        brain_teaser lateral knights knaves statements implies valid validity contradiction
        hypothetical scenario acertijo lógica rätsel logik énigme logique indovinello
        загадка логика 谜题 逻辑 推理 论理 論理 수수께끼 논리""",
    "writing": """story stories poem poems essay essays letter email e-mail blog article
        song lyrics speech cover_letter tweet post haiku limerick slogan tagline
        advertisement bio biography paragraph sonnet novel chapter dialogue joke toast
        caption headline newsletter rewrite rephrase paraphrase proofread reword polish
        compose draft write writing tone persuasive creative fiction narrative character
        plot cuento poema ensayo carta redacta escribe gedicht aufsatz brief geschichte
        schreibe verfasse poème essai lettre histoire écris rédige poesia saggio lettera
        scrivi стихотворение эссе письмо рассказ напиши 故事 文章 書い 物語 手紙 작성 이야기""",
    "classification": """label labels category categories positive negative neutral
        spam review reviews rating rated stars tone topic topics genre which_section
        which_category what_category best_describes flattering unflattering satisfied
        dissatisfied recommend options choices descriptor""",
    "extraction": """entities entity named_entities keywords key_information pull_out
        find_all list_all json_format fields parse structured""",
    "summarization": """brief briefly outline abstract key_points main_points main_idea
        in_brief few_words one_sentence gist sum_up boils_down highlights""",
    "roleplay": """role character characters persona imagine_you you_are 你现 你是""",
    "chat": """hi hello hey thanks thank please help advice feel feeling friend friends
        girlfriend boyfriend wife husband mom dad boss life love sad happy think opinion
        recommend suggest you your yourself me my i we chat talk hola gracias hallo danke
        bonjour merci ciao grazie привет спасибо 你好 谢谢 안녕""",
    "qa": """what who when where why how which whose whom is are does do did can could
        explain define definition meaning difference qué quién cuándo dónde por_qué cómo
        was wer wann wo warum wie quoi qui quand où pourquoi comment что кто когда где
        почему как 什么 何时 哪里 为什 怎么 何で 誰が どこ なぜ 무엇 누구 언제 왜""",
}

_STOPWORDS: Final[dict[str, str]] = {
    "en": "the and is are of to you what how with this that for in it be was not have can",
    "es": "el los las que por para con una es del cómo qué está pero y muy también más",
    "de": "der die das und ist nicht ich sie mit ein eine zu den wie was auf für auch sind",
    "fr": "le les et est une des du pour que vous je avec dans ce pas qui sur sont mais",
    "pt": "não você uma com para os as é do da dos das em que como está mais muito também",
    "it": "il che è di per non una sono gli della con come anche questo ma nel alla perché",
}

_CODE_SYNTAX: Final = (
    r"(?m)```|^\s*(?:def|class|import|from \S+ import|#include|package|using namespace|public"
    r"|private|function|const|let|var|fn|func)\b|\bdef \w+\(|=>|console\.log|system\.out"
    r"|printf\(|std::|</?(?:div|html|span|body|script|table|p)>|^\s*(?:select|insert|update|create"
    r" table)\b.*\b(?:from|into|set|where)\b|[;{}]\s*$|^\s*>>> |\w+\([\w\s,]*\)\s*[:{]"
)
_LATEX: Final = (
    r"\\(?:frac|dfrac|tfrac|sqrt|int|sum|prod|cdot|times|div|le|ge|leq|geq|neq|pi|theta|alpha"
    r"|beta|gamma|lim|log|ln|sin|cos|tan|infty|begin|mathbf|mathrm|mathbb|left|right|binom"
    r"|overline|angle|triangle|circ|lfloor|lceil|pmod|equiv)\b|\$[^$\n]{1,200}\$|\\\(|\\\["
)
_ARITHMETIC: Final = r"\d\s*[-+*/^×÷=<>]\s*[\d(a-z]|[a-z]\s*[\^=]\s*\d|\d+\s*%"
_QUANTITY_Q: Final = (
    r"\bhow (?:many|much|long|far|old|fast|often)\b|\bwhat (?:is|was|are|were) the (?:total"
    r"|sum|difference|average|cost|price|value|number|probability|area|perimeter)\b|\bfind\b"
    r"|\bcalculate\b|\bcompute\b|cuántos|cuánto|wie viele|wie viel|combien|quanti|сколько|多少"
    r"|几|いくつ|何個|몇"
)
_QUESTION_END: Final = r"\?\s*$|？\s*$"
_NUMBER: Final = r"\d+(?:[.,]\d+)?"

_W_INSTRUCTION: Final = 3.0
_W_TOPIC: Final = 1.0
_W_CODE_SYNTAX: Final = 3.0
_W_LATEX: Final = 3.0
_W_ARITHMETIC: Final = 1.5
_W_QUANTITY: Final = 2.5
_MIN_SCORE: Final = 1.5
# Everyday words say little: question words and chat words count less.
_TOPIC_SCALE: Final = np.array([0.6 if a in ("qa", "chat") else 1.0 for a in AREAS])


def capability_area(texts: Sequence[str]) -> list[str]:
    """The capability area (one of ``AREAS``) of each text."""
    texts = list(texts)
    return area_of_tokens(
        tokenize(normalize_array(texts)), pa.array(_clean(texts), pa.large_string())
    )


def language(texts: Sequence[str]) -> list[str]:
    """A cheap guess of each text's language (one of ``LANGS``)."""
    norm = normalize_array(texts)
    return language_of_tokens(tokenize(norm), norm)


def _clean(texts: Sequence[str]) -> list[str]:
    return [t.encode("utf-8", "replace").decode("utf-8") for t in texts]


# --- lexicon lookup ------------------------------------------------------------------

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def _term_hash(term: str) -> int:
    """Hash of a term's first two tokens, as ``_terms`` computes it. Words of a
    two-word term are joined with ``_`` (``how_many``); Han and hiragana
    characters are tokens of their own."""
    tokens = tokenize(normalize_array([term.replace("_", " ")]))
    hashes = tokens.hashes[:2]
    h = hashes[:1]
    if len(hashes) == 2:
        h = _mix(_mix(h) ^ hashes[1:2])
    return int(h[0])


class _Lexicon:
    """Sorted term hashes with one weight column per class."""

    def __init__(self, tables: Sequence[tuple[dict[str, str], Sequence[str]]]) -> None:
        weights: dict[int, np.ndarray] = {}
        width = sum(len(classes) for _, classes in tables)
        col = 0
        for table, classes in tables:
            for j, name in enumerate(classes):
                for term in table.get(name, "").split():
                    h = _term_hash(term)
                    weights.setdefault(h, np.zeros(width, dtype=np.float32))[col + j] = 1.0
            col += len(classes)
        keys = np.array(sorted(weights), dtype=np.uint64)
        self.keys = keys
        self.weights = (
            np.stack([weights[int(k)] for k in keys]) if len(keys) else np.zeros((0, width))
        )

    def counts(self, tokens: Tokens) -> npt.NDArray[np.float64]:
        """``(n_texts, width)`` number of matching terms per text and class."""
        terms, rows = _terms(tokens)
        n = len(tokens.lengths)
        out = np.zeros((n, self.weights.shape[1]))
        if not len(terms) or not len(self.keys):
            return out
        pos = np.minimum(np.searchsorted(self.keys, terms), len(self.keys) - 1)
        hit = self.keys[pos] == terms
        for c in range(self.weights.shape[1]):
            out[:, c] = np.bincount(rows[hit], weights=self.weights[pos[hit], c], minlength=n)
        return out


def _terms(tokens: Tokens) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.intp]]:
    """Every token and every pair of adjacent tokens of the same text."""
    h, row = tokens.hashes, tokens.row
    same = row[1:] == row[:-1] if len(h) > 1 else np.zeros(0, dtype=bool)
    pairs = _mix(_mix(h[:-1][same]) ^ h[1:][same]) if len(h) > 1 else h[:0]
    return np.concatenate([h, pairs]), np.concatenate([row, row[:-1][same]])


_AREA_LEXICON: Final = _Lexicon([(_INSTRUCTION, AREAS), (_TOPIC, AREAS)])
_LANG_LEXICON: Final = _Lexicon([(_STOPWORDS, LANGS)])


def _matches(arr: pa.Array, pattern: str) -> npt.NDArray[np.bool_]:
    return np.asarray(
        pc.match_substring_regex(arr, pattern).to_numpy(zero_copy_only=False), dtype=bool
    )


def area_of_tokens(tokens: Tokens, raw: pa.Array) -> list[str]:
    """``capability_area`` from a batch's tokens and its raw texts."""
    n = len(tokens.lengths)
    if n == 0:
        return []
    counts = _AREA_LEXICON.counts(tokens)
    a = len(AREAS)
    topic = _W_TOPIC * np.log1p(counts[:, a:]) * _TOPIC_SCALE
    score = _W_INSTRUCTION * np.minimum(counts[:, :a], 1) + topic
    low = pc.utf8_lower(cap_text(raw))
    numbers = pc.count_substring_regex(low, _NUMBER).to_numpy(zero_copy_only=False)
    score[:, AREAS.index("code")] += _W_CODE_SYNTAX * _matches(low, _CODE_SYNTAX)
    math = AREAS.index("math")
    score[:, math] += _W_LATEX * _matches(low, _LATEX)
    score[:, math] += _W_ARITHMETIC * _matches(low, _ARITHMETIC)
    score[:, math] += _W_QUANTITY * (_matches(low, _QUANTITY_Q) & (numbers >= 2))
    best = np.argmax(score, axis=1)
    top = score[np.arange(n), best]
    question = _matches(low, _QUESTION_END)
    fallback = np.where(question, AREAS.index("qa"), AREAS.index("other"))
    fallback = np.where(~question & (tokens.lengths <= 40), AREAS.index("chat"), fallback)
    fallback = np.where(tokens.lengths == 0, AREAS.index("other"), fallback)
    chosen = np.where(top >= _MIN_SCORE, best, fallback)
    return [AREAS[i] for i in chosen.tolist()]


_HANGUL: Final = r"[\p{Hangul}]"
_KANA: Final = r"[\p{Hiragana}\p{Katakana}]"
_HAN: Final = r"[\p{Han}]"
_CYRILLIC: Final = r"[\p{Cyrillic}]"
_LATIN: Final = r"[\p{Latin}]"


def language_of_tokens(tokens: Tokens, norm: pa.Array) -> list[str]:
    """``language`` from a batch's tokens and its normalised texts."""
    n = len(norm)
    out = np.full(n, LANGS.index("en"))
    if n == 0:
        return []
    counts = _LANG_LEXICON.counts(tokens)[:, : len(LANGS)]
    latin = counts.argmax(axis=1)
    has_stop = counts.max(axis=1) > 0
    non_ascii = _matches(norm, r"[^\x00-\x7f]")
    out = np.where(has_stop, latin, np.where(non_ascii, LANGS.index("other"), out))
    out[tokens.lengths == 0] = LANGS.index("other")
    rows = np.flatnonzero(non_ascii)
    if len(rows):
        sub = norm.take(pa.array(rows))
        out[rows] = _by_script(sub, out[rows])
    return [LANGS[i] for i in out.tolist()]


def _by_script(sub: pa.Array, guess: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    def count(p: str) -> npt.NDArray[np.int64]:
        return np.asarray(pc.count_substring_regex(sub, p).to_numpy(zero_copy_only=False))

    kana, han, hangul, cyr, latin = (count(p) for p in (_KANA, _HAN, _HANGUL, _CYRILLIC, _LATIN))
    out = guess.copy()
    scripts = np.stack([latin, han + kana, hangul, cyr], axis=1)
    main = scripts.argmax(axis=1)
    cjk = main == 1
    out[cjk] = np.where(kana[cjk] > 0, LANGS.index("ja"), LANGS.index("zh"))
    out[main == 2] = LANGS.index("ko")
    out[main == 3] = LANGS.index("ru")
    out[scripts.max(axis=1) == 0] = LANGS.index("other")
    return out
