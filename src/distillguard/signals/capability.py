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

import functools
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.signals.patterns import ARROW_MIN, PatternSet
from distillguard.signals.text import Tokens, cap_text, mix, normalize_array, tokenize

__all__ = [
    "AREAS",
    "LANGS",
    "area_and_language",
    "area_of_tokens",
    "capability_area",
    "language",
    "language_of_tokens",
]

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
        总结 摘要 概括 概要 要約 요약 key_points main_points in_brief few_words one_sentence
        boils_down an_outline sum_up the_gist in_short""",
    "classification": """classify classifying classification categorize categorise categorization
        sentiment sentiments clasifica clasificar clasifique classifique klassifiziere
        klassifizieren kategorisiere classifie classifiez classer classifica classificare
        классифицируй классифицировать категоризируй тональность 分类 分類 情感 感情 감정 분류
        positive_or negative_or or_negative or_positive which_category what_category
        which_section best_describes the_sentiment this_review the_review flattering_or
        pick_one options_are star_rating rating_of asking_about what_type category_does""",
    "extraction": """extract extracting extraction extrae extraer extraia extrahiere extrahieren
        extrais extrayez extraire estrai estrarre извлеки извлечь 提取 抽取 抽出 추출""",
    "roleplay": """roleplay role-play act_as pretend_to pretend_you impersonate actúa_como finge_ser agis_comme joue_le spiele_die
        притворись представь_что 扮演 假装 ロールプレイ 역할극""",
    "code": """python javascript typescript java c++ c# golang kotlin php sql mysql postgresql
        regex html css jquery django flask numpy pandas nodejs write_code the_code this_code
        following_code source_code sql_query code_snippet unit_test unit_tests python_function
        a_function function_that function_to program_that program_to script_that script_to
        a_program a_script código_que una_función eine_funktion une_fonction una_funzione
        функцию_которая 代码 程序 函数 编程 コード プログラム 関数 코드 함수 프로그램""",
    "writing": """poem poems haiku sonnet limerick essay lyrics poema gedicht poème poesia
        стихотворение rewrite paraphrase proofread a_poem a_story an_essay a_letter an_email a_blog
        a_song a_speech cover_letter a_haiku a_tweet a_sonnet a_limerick short_story blog_post
        un_poema un_cuento un_ensayo una_carta ein_gedicht einen_aufsatz eine_geschichte
        un_poème une_histoire une_lettre una_poesia стихотворение 写一 作文 詩を """,
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
        how_many how_much find_the  total cost costs price profit interest rate
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
        infer inference syllogism paradox premise premises conclusion fallacy or_false
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
    "roleplay": """persona imagine_you you_are your_role the_role 你现 你是""",
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
_ARITHMETIC: Final = r"\d\s*[+×÷^=]\s*\(?[\da-z]|[a-z]\s*[\^=]\s*\d|\d\s*[*/]\s*\d+\s*[=?]"
_QUANTITY_Q: Final = (
    r"\bhow (?:many|much|long|far|old|fast|often)\b|\bwhat (?:is|was|are|were) the (?:total"
    r"|sum|difference|average|cost|price|value|number|probability|area|perimeter)\b|\bfind\b"
    r"|\bcalculate\b|\bcompute\b|cuántos|cuánto|wie viele|wie viel|combien|quanti|сколько|多少"
    r"|几|いくつ|何個|몇"
)
_NUMBER: Final = r"\d+(?:[.,]\d+)?"

_W_INSTRUCTION: Final = 3.0
_W_TOPIC: Final = 1.0
_W_CODE_SYNTAX: Final = 3.0
_W_LATEX: Final = 3.0
_W_ARITHMETIC: Final = 1.5
_W_QUANTITY: Final = 2.5
_MIN_SCORE: Final = 1.5
# Framing as a role outweighs the topic of the role ("act as a javascript console").
_INSTRUCTION_SCALE: Final = np.array([5 / 3 if a == "roleplay" else 1.0 for a in AREAS])
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


def _term_hash(term: str) -> int:
    """Hash of a term's first two tokens, as ``_terms`` computes it. Words of a
    two-word term are joined with ``_`` (``how_many``); Han and hiragana
    characters are tokens of their own."""
    tokens = tokenize(normalize_array([term.replace("_", " ")]))
    if not 1 <= len(tokens.hashes) <= 2:
        raise ValueError(f"lexicon terms have one or two tokens: {term!r}")
    hashes = tokens.hashes
    h = hashes[:1]
    if len(hashes) == 2:
        h = mix(mix(h) ^ hashes[1:2])
    return int(h[0])


class _Lexicon:
    """Term hashes with a weight per class: a bitmap of the top hash bits rules
    out most terms at once, a sorted array finds the rest."""

    _BITS = 20

    def __init__(self, tables: Sequence[tuple[dict[str, str], Sequence[str]]]) -> None:
        cols: dict[int, set[int]] = {}
        self.width = 0
        for table, classes in tables:
            for j, name in enumerate(classes):
                for term in table.get(name, "").split():
                    cols.setdefault(_term_hash(term), set()).add(self.width + j)
            self.width += len(classes)
        self.keys = np.array(sorted(cols), dtype=np.uint64)
        per_key = [sorted(cols[int(k)]) for k in self.keys]
        self.n_cols = np.array([len(c) for c in per_key], dtype=np.int64)
        self.start = np.concatenate([[0], np.cumsum(self.n_cols)[:-1]]).astype(np.int64)
        self.cols = np.array([c for cs in per_key for c in cs], dtype=np.int64)
        self.bitmap = np.zeros(1 << self._BITS, dtype=bool)
        self.bitmap[self.keys >> np.uint64(64 - self._BITS)] = True

    def counts(self, tokens: Tokens) -> npt.NDArray[np.float64]:
        """``(n_texts, width)`` number of matching terms per text and class."""
        terms, rows = _terms(tokens)
        n = len(tokens.lengths)
        maybe = np.flatnonzero(self.bitmap[terms >> np.uint64(64 - self._BITS)])
        pos = np.minimum(np.searchsorted(self.keys, terms[maybe]), len(self.keys) - 1)
        hit = self.keys[pos] == terms[maybe]
        key, row = pos[hit], rows[maybe[hit]]
        reps = self.n_cols[key]
        offset = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
        col = self.cols[np.repeat(self.start[key], reps) + offset]
        flat = np.repeat(row, reps) * self.width + col
        return np.bincount(flat, minlength=n * self.width).reshape(n, self.width).astype(float)


def _terms(tokens: Tokens) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.intp]]:
    """Every token and every pair of adjacent tokens of the same text."""
    h, row = tokens.hashes, tokens.row
    if len(h) < 2:
        return h, row
    same = row[1:] == row[:-1]
    pairs = mix(mix(h[:-1][same]) ^ h[1:][same])
    return np.concatenate([h, pairs]), np.concatenate([row, row[:-1][same]])


_LEXICON: Final = _Lexicon([(_INSTRUCTION, AREAS), (_TOPIC, AREAS), (_STOPWORDS, LANGS)])
_A: Final = len(AREAS)


def _matches(arr: pa.Array, pattern: str) -> npt.NDArray[np.bool_]:
    return np.asarray(
        pc.match_substring_regex(arr, pattern).to_numpy(zero_copy_only=False), dtype=bool
    )


def area_of_tokens(tokens: Tokens, raw: pa.Array) -> list[str]:
    """``capability_area`` from a batch's tokens and its raw texts."""
    return _area(tokens, raw, _LEXICON.counts(tokens))


def language_of_tokens(tokens: Tokens, norm: pa.Array) -> list[str]:
    """``language`` from a batch's tokens and its normalised texts."""
    return _language(tokens, norm, _LEXICON.counts(tokens))


def area_and_language(tokens: Tokens, raw: pa.Array, norm: pa.Array) -> tuple[list[str], list[str]]:
    """Both, sharing the lexicon look-up."""
    counts = _LEXICON.counts(tokens)
    return _area(tokens, raw, counts), _language(tokens, norm, counts)


def _area(tokens: Tokens, raw: pa.Array, counts: npt.NDArray[np.float64]) -> list[str]:
    n = len(tokens.lengths)
    if n == 0:
        return []
    topic = _W_TOPIC * np.log1p(counts[:, _A : 2 * _A]) * _TOPIC_SCALE
    score = _W_INSTRUCTION * np.minimum(counts[:, :_A], 1) * _INSTRUCTION_SCALE + topic
    low = pc.utf8_lower(cap_text(raw))
    code, latex, arithmetic, quantity, number = _structure(low).T
    score[:, AREAS.index("code")] += _W_CODE_SYNTAX * code
    score[:, AREAS.index("roleplay")] += _W_INSTRUCTION * _opens_with_role(tokens)
    math = AREAS.index("math")
    score[:, math] += _W_LATEX * latex
    score[:, math] += _W_ARITHMETIC * arithmetic
    score[:, math] += _W_QUANTITY * (quantity & number)
    best = np.argmax(score, axis=1)
    top = score[np.arange(n), best]
    trimmed = pc.utf8_rtrim_whitespace(low)
    question = _bool(pc.ends_with(trimmed, "?")) | _bool(pc.ends_with(trimmed, "？"))
    question |= _starts_with_question_word(tokens)
    fallback = np.where(question, AREAS.index("qa"), AREAS.index("other"))
    fallback = np.where(~question & (tokens.lengths <= 40), AREAS.index("chat"), fallback)
    fallback = np.where(tokens.lengths == 0, AREAS.index("other"), fallback)
    chosen = np.where(top >= _MIN_SCORE, best, fallback)
    return [AREAS[i] for i in chosen.tolist()]


_STRUCTURE: Final = (_CODE_SYNTAX, _LATEX, _ARITHMETIC, _QUANTITY_Q, _NUMBER)


def _structure(low: pa.Array) -> npt.NDArray[np.bool_]:
    """``(n, 5)``: which ``_STRUCTURE`` patterns occur in each lower-cased text."""
    if len(low) >= ARROW_MIN:
        return np.stack([_matches(low, p) for p in _STRUCTURE], axis=1)
    return _structure_set().matches(low)


@functools.cache
def _structure_set() -> PatternSet:
    return PatternSet(_STRUCTURE)


_QUESTION_STARTS: Final = """what who when where why how which whose whom is are does do did can
    could should would will was were qué quién cuándo dónde cómo cuál was wer wann wo warum wie
    welche quoi qui quand où pourquoi comment quel quelle o que quem quando onde porque como chi
    cosa quando dove perché что кто когда где почему как какой"""
_QUESTION_WORDS: Final = np.array(
    sorted({_term_hash(w) for w in _QUESTION_STARTS.split()}),
    dtype=np.uint64,
)


_ROLE_OPENINGS: Final = np.array(
    sorted(
        _term_hash(t)
        for t in (
            "you_are",
            "act_as",
            "imagine_you",
            "pretend_you",
            "pretend_to",
            "eres_un",
            "eres_una",
            "du_bist",
            "tu_es",
            "sei_un",
        )
    ),
    dtype=np.uint64,
)


def _opens_with_role(tokens: Tokens) -> npt.NDArray[np.bool_]:
    """Texts whose first two words cast the model in a role ("You are a …")."""
    out = np.zeros(len(tokens.lengths), dtype=bool)
    has = tokens.lengths > 1
    first = (np.cumsum(tokens.lengths) - tokens.lengths)[has]
    pair = mix(mix(tokens.hashes[first]) ^ tokens.hashes[first + 1])
    out[has] = np.isin(pair, _ROLE_OPENINGS)
    return out


def _starts_with_question_word(tokens: Tokens) -> npt.NDArray[np.bool_]:
    """Texts whose first word asks a question (search queries have no "?")."""
    out = np.zeros(len(tokens.lengths), dtype=bool)
    has = tokens.lengths > 0
    first = tokens.hashes[(np.cumsum(tokens.lengths) - tokens.lengths)[has]]
    out[has] = np.isin(first, _QUESTION_WORDS)
    return out


def _bool(arr: pa.Array) -> npt.NDArray[np.bool_]:
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=bool)


_HANGUL: Final = r"[\p{Hangul}]"
_KANA: Final = r"[\p{Hiragana}\p{Katakana}]"
_HAN: Final = r"[\p{Han}]"
_CYRILLIC: Final = r"[\p{Cyrillic}]"
_LATIN: Final = r"[\p{Latin}]"


def _language(tokens: Tokens, norm: pa.Array, counts: npt.NDArray[np.float64]) -> list[str]:
    n = len(norm)
    if n == 0:
        return []
    stop = counts[:, 2 * _A : 2 * _A + len(LANGS)]
    out = np.where(stop.max(axis=1) > 0, stop.argmax(axis=1), LANGS.index("en"))
    ascii_ = _bool(pc.string_is_ascii(norm))
    out[(stop.max(axis=1) == 0) & ~ascii_] = LANGS.index("other")
    out[tokens.lengths == 0] = LANGS.index("other")
    other_script = np.zeros(n, dtype=bool)
    rows = np.flatnonzero(~ascii_)
    if len(rows):
        other_script[rows] = _matches(norm.take(pa.array(rows)), r"[\p{Hangul}\p{Cyrillic}]")
    rows = np.flatnonzero((tokens.n_cjk > 0) | other_script)
    if len(rows):
        out[rows] = _by_script(norm.take(pa.array(rows)), out[rows])
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
