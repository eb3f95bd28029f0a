"""Building prompt texts from corpus records: wrappers, casual noise,
paraphrase, multilingual frames, judge prompts and conversations.

Each builder works on the distinct combinations it is given (a corpus record
and a template, say) and returns text-pool indices per event, so the cost is
per distinct prompt, not per request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from distillguard.simulate import _phrases as ph
from distillguard.simulate._sim import Sim


def fill(template: str, q: str, a: str = "", b: str = "") -> str:
    return template.replace("{q}", q).replace("{a}", a).replace("{b}", b)


def distinct_rows(keys: Sequence[np.ndarray]) -> tuple[list[list[int]], np.ndarray]:
    """The distinct combinations of ``keys`` (integer arrays of equal length,
    values >= -1) and, per element, the index of its combination."""
    cols = [np.asarray(k, np.int64) + 1 for k in keys]
    sizes = [int(c.max(initial=0)) + 1 for c in cols]
    if float(np.prod(np.asarray(sizes, np.float64))) < 2.0**62:
        code = np.zeros(len(cols[0]), np.int64)
        for c, size in zip(cols, sizes, strict=True):
            code = code * size + c
        uniq, inverse = np.unique(code, return_inverse=True)
        parts = []
        for size in reversed(sizes):
            uniq, rest = np.divmod(uniq, size)
            parts.append(rest - 1)
        rows = np.stack(parts[::-1], axis=1)
    else:
        rows, inverse = np.unique(np.stack(cols, axis=1), axis=0, return_inverse=True)
        rows = rows - 1
    return rows.tolist(), inverse.ravel()


def combine(sim: Sim, keys: Sequence[np.ndarray], build: Callable[[list[int]], str]) -> np.ndarray:
    """Text index per event for the combination of ``keys`` (integer arrays of
    equal length); ``build`` makes the text of one distinct combination."""
    if len(keys[0]) == 0:
        return np.zeros(0, np.int32)
    rows, inverse = distinct_rows(keys)
    idx = sim.texts.add([build(row) for row in rows])
    out: np.ndarray = idx[inverse]
    return out


def wrap(sim: Sim, q: np.ndarray, templates: Sequence[str], which: np.ndarray) -> np.ndarray:
    """Corpus record ``q[i]`` inside template ``templates[which[i]]``."""
    text = sim.texts.text
    return combine(sim, (q, which), lambda k: fill(templates[k[1]], text(k[0])))


def with_suffix(
    sim: Sim,
    q: np.ndarray,
    suffixes: Sequence[str],
    which: np.ndarray,
    before: np.ndarray | None = None,
) -> np.ndarray:
    """``suffixes[which]`` after (or, where ``before``, ahead of) record ``q``."""
    text = sim.texts.text
    pos = np.zeros(len(q), np.int64) if before is None else before.astype(np.int64)

    def build(k: list[int]) -> str:
        s, t = suffixes[k[1]], text(k[0])
        return f"{s}\n\n{t}" if k[2] else f"{t}\n\n{s}"

    return combine(sim, (q, which, pos), build)


# -- ordinary users ---------------------------------------------------------------------


def casual(sim: Sim, rng: np.random.Generator, q: np.ndarray, share: float) -> np.ndarray:
    """Record ``q`` as typed by a person: ``share`` of them get a chatty opener or
    closer, lower case or a dropped final stop (a few hundred variants)."""
    n = len(q)
    noisy = rng.random(n) < share
    pre = np.where(noisy, rng.integers(0, len(ph.CASUAL_PRE), n), len(ph.CASUAL_PRE) - 1)
    post = np.where(noisy, rng.integers(0, len(ph.CASUAL_POST), n), len(ph.CASUAL_POST) - 1)
    style = np.where(noisy, rng.integers(0, 3, n), 0)
    text = sim.texts.text

    def build(k: list[int]) -> str:
        t = text(k[0]).strip()
        if k[3] == 1 and t[:1].isupper() and t[1:2].islower():
            t = t[0].lower() + t[1:]
        elif k[3] == 2 and t.endswith((".", "?")) and len(t) < 400:
            t = t[:-1]
        return ph.CASUAL_PRE[k[1]] + t + ph.CASUAL_POST[k[2]]

    return combine(sim, (q, pre, post, style), build)


def native(sim: Sim, rng: np.random.Generator, lang: str, n: int) -> np.ndarray:
    """``n`` everyday questions written in ``lang`` (template and slot fillers)."""
    templates, (xs, ys) = ph.NATIVE[lang], ph.SLOTS[lang]
    t = rng.integers(0, len(templates), n)
    x = rng.integers(0, len(xs), n)
    y = rng.integers(0, len(ys), n)
    return combine(
        sim, (t, x, y), lambda k: templates[k[0]].replace("{x}", xs[k[1]]).replace("{y}", ys[k[2]])
    )


# -- paraphrase -----------------------------------------------------------------------

SYNONYMS = {
    "How many": ("What number of", "How many in total"),
    "how many": ("what number of",),
    "Calculate": ("Compute", "Work out", "Determine"),
    "calculate": ("compute", "work out"),
    "Find": ("Determine", "Compute", "Figure out"),
    "find": ("determine", "figure out"),
    "What is": ("What's", "Determine"),
    "total": ("overall", "combined"),
    "each": ("every",),
    "buys": ("purchases",),
    "bought": ("purchased",),
    "has": ("owns", "has got"),
    "then": ("after that", "next"),
    "If": ("Suppose", "Assume"),
    "Write a": ("Create a", "Implement a"),
    "Given": ("Provided",),
    "Let": ("Suppose",),
    "Compute": ("Calculate", "Evaluate"),
    "Determine": ("Find", "Work out"),
    "Suppose": ("Assume", "Let's say"),
    "number": ("value", "amount"),
    "wants to": ("would like to", "plans to"),
}
_SYN_RE = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, SYNONYMS), key=len, reverse=True)) + r")\b"
)

_OPEN = ("", "Please ", "Kindly ", "Could you ", "I need you to ", "Can you ", "Now ")
_VERB = ("solve", "work through", "answer", "figure out", "tackle", "handle")
_OBJ = ("this problem", "the following question", "the task below", "this", "the problem")
_HOW = (
    "and show every step of your reasoning",
    "explaining your thought process in full",
    "step by step, writing out all intermediate reasoning",
    "and think out loud as you go",
    "— include your complete chain of reasoning",
    "and justify each step in detail",
)
_SEP = (":\n\n", "\n\n", ": ", "\n---\n", ".\n\n")


def paraphrase_frames(rng: np.random.Generator, k: int) -> list[str]:
    """``k`` instruction frames for one account, drawn from a combinatorial grammar."""
    out = []
    for _ in range(k):
        o, v = _OPEN[rng.integers(0, len(_OPEN))], _VERB[rng.integers(0, len(_VERB))]
        head = f"{o}{v if o else v.capitalize()} {_OBJ[rng.integers(0, len(_OBJ))]} "
        head += _HOW[rng.integers(0, len(_HOW))]
        sep = _SEP[rng.integers(0, len(_SEP))]
        if o.startswith(("Could", "Can")):
            head += "?"
            sep = sep.lstrip(".:") or "\n\n"
        if rng.random() < 0.7:
            out.append(f"{head}{sep}{{q}}")
        else:
            after = ("\n\n", "\n---\n", "\n")[rng.integers(0, 3)]
            out.append(f"{{q}}{after}{head}{'' if head.endswith('?') else '.'}")
    return out


def reword(text: str, rng: np.random.Generator, p: float) -> str:
    """Swap some words for synonyms and touch up spacing, keeping numbers."""

    def sub(m: re.Match[str]) -> str:
        if rng.random() >= p:
            return m.group(0)
        options = SYNONYMS[m.group(0)]
        return options[rng.integers(0, len(options))]

    out = _SYN_RE.sub(sub, text)
    if rng.random() < 0.3:
        out = out.replace(". ", ".  ", 1)
    if rng.random() < 0.2:
        out = out.rstrip() + "\n"
    return out


# -- judges and conversations -----------------------------------------------------------

_NUM = re.compile(r"\d+(?:\.\d+)?")


def candidate_answer(rng: np.random.Generator, q: str) -> str:
    """A plausible (often wrong) short answer to grade."""
    nums = [float(x) for x in _NUM.findall(q)[:4]]
    if len(nums) >= 2:
        a, b = nums[0], nums[1]
        op, r = [("+", a + b), ("-", a - b), ("*", a * b)][rng.integers(0, 3)]
        r += rng.integers(-2, 3) * (rng.random() < 0.4)
        return f"We have {a:g} and {b:g}. {a:g} {op} {b:g} = {r:g}. So the answer is {r:g}."
    return assistant_text(rng)


def assistant_text(rng: np.random.Generator) -> str:
    parts = (ph.ASSISTANT_OPEN, ph.ASSISTANT_BODY, ph.ASSISTANT_CLOSE)
    return " ".join(p[rng.integers(0, len(p))] for p in parts).strip()


def judge(
    sim: Sim, rng: np.random.Generator, q: np.ndarray, templates: Sequence[str]
) -> np.ndarray:
    """Judge prompts over records ``q``: every request its own candidate answers."""
    text = sim.texts.text
    built = []
    for i in q.tolist():
        t = templates[int(rng.integers(0, len(templates)))]
        built.append(
            fill(t, text(i), candidate_answer(rng, text(i)), candidate_answer(rng, text(i)))
        )
    return sim.texts.add(built)


def assistant_pool(sim: Sim, rng: np.random.Generator, n: int = 300) -> np.ndarray:
    return np.asarray([sim.texts.intern(assistant_text(rng)) for _ in range(n)], np.int32)


def stamped(
    sim: Sim, rng: np.random.Generator, system: np.ndarray, ts: np.ndarray, how: str
) -> np.ndarray:
    """Per event, its system instruction (text-pool indices, -1 for none)
    stamped, ``how``, with what varies per request: the ``date`` (an
    application telling the model what day it is: one text per instruction
    and day), the ``time`` or a ``request`` id (a pipeline's job ids, or an
    operation making each request's instruction its own: one text per
    request), or ``disguise``d anew in each request (``disguise``). ``ts``
    are the events' times in microseconds."""
    out = system.astype(np.int32).copy()
    use = np.flatnonzero(system >= 0)
    if not len(use):
        return out
    if how == "date":
        day = ts[use] // (86_400 * 10**6)
        out[use] = combine(
            sim,
            [system[use], day],
            lambda r: f"{sim.texts.text(r[0])} Today's date is {np.datetime64(r[1], 'D')}.",
        )
        return out
    if how == "disguise":
        source = sim.texts.text
        out[use] = sim.texts.add([disguise(source(int(s)), rng, 0.2) for s in system[use].tolist()])
        return out
    stamp = (
        [t + "Z" for t in np.datetime_as_string(ts[use].astype("datetime64[us]"), unit="s")]
        if how == "time"
        else [f"{int(x):012x}" for x in rng.integers(0, 2**48, len(use))]
    )
    label = "Current time" if how == "time" else "Request id"
    texts = [
        f"{label}: {st}. {sim.texts.text(int(s))}"
        for st, s in zip(stamp, system[use].tolist(), strict=True)
    ]
    out[use] = sim.texts.add(texts)
    return out


# What a harvester sprinkles into a text so that each copy differs byte for
# byte while it reads the same: invisible characters inside words, Cyrillic
# and Greek letters that look like Latin ones, full-width letters.
_INVISIBLE = ("\u200b", "\u200c", "\u200d", "\u2060", "\u00ad", "\ufeff")
_LOOK_ALIKE = {
    "a": "\u0430", "e": "\u0435", "o": "\u043e\u03bf", "p": "\u0440\u03c1", "c": "\u0441",
    "x": "\u0445", "y": "\u0443", "i": "\u0456", "s": "\u0455", "v": "\u03bd",
    "A": "\u0410\u0391", "B": "\u0412", "E": "\u0415", "T": "\u0422", "O": "\u041e",
}  # fmt: skip
_ASCII_WORD = re.compile(r"[A-Za-z]{3,}")


def disguise(text: str, rng: np.random.Generator, rate: float) -> str:
    """``text`` with about ``rate`` of its words disguised: an invisible
    character inside the word, a letter swapped for a look-alike of another
    script, or the word in full-width letters."""

    def sub(m: re.Match[str]) -> str:
        word = m.group(0)
        if rng.random() >= rate:
            return word
        trick = rng.random()
        if trick < 0.5:
            at = int(rng.integers(1, len(word)))
            return word[:at] + _INVISIBLE[rng.integers(0, len(_INVISIBLE))] + word[at:]
        if trick < 0.9:
            swaps = [i for i, ch in enumerate(word) if ch in _LOOK_ALIKE]
            if swaps:
                i = swaps[rng.integers(0, len(swaps))]
                options = _LOOK_ALIKE[word[i]]
                return word[:i] + options[rng.integers(0, len(options))] + word[i + 1 :]
            return word
        return "".join(chr(ord(ch) + 0xFEE0) for ch in word)

    return _ASCII_WORD.sub(sub, text)
