"""Multi-turn conversations.

A conversation request carries the whole history: earlier user turns, the
assistant's answers, and the new user turn last. :func:`threads` turns the
requests of one human session into one growing conversation;
:func:`histories` gives independent requests a history of random length (what
an app or router forwards on behalf of its users). Both are vectorised: the
messages of all conversations are laid out in one flat array.
"""

from __future__ import annotations

import numpy as np

from distillguard.simulate import _phrases as ph
from distillguard.simulate._sim import Sim
from distillguard.simulate._text import assistant_pool


def follow_up_pool(sim: Sim, harvest: bool = False, lang: str = "en") -> np.ndarray:
    phrases = ph.HARVEST_FOLLOW_UPS if harvest else ph.FOLLOW_UPS_BY_LANG.get(lang, ph.FOLLOW_UPS)
    return np.asarray([sim.texts.intern(p) for p in phrases], np.int32)


def _pick(rng: np.random.Generator, pool: np.ndarray, n: int) -> np.ndarray:
    return pool[rng.integers(0, len(pool), n)]


def _interleave(
    users: np.ndarray, answers: np.ndarray, last: np.ndarray, depth: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Flat messages of conversations ending at row ``last[k]`` with ``depth[k]``
    earlier user turns: ``users[last-depth], answers[last-depth], ...,
    users[last]``. Returns (flat text indices, lengths)."""
    lengths = 2 * depth + 1
    conv = np.repeat(np.arange(len(last)), lengths)
    pos = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    row = last[conv] - depth[conv] + pos // 2
    return np.where(pos % 2 == 0, users[row], answers[row]), lengths


def threads(
    sim: Sim,
    rng: np.random.Generator,
    sess: np.ndarray,
    ts: np.ndarray,
    prompts: np.ndarray,
    share: float,
    follow_ups: np.ndarray,
    new_topic: float = 0.3,
    max_turns: int = 8,
) -> tuple[np.ndarray, np.ndarray]:
    """(text, conv) per event: in ``share`` of the sessions with two or more
    requests, every request after the first continues the conversation (a new
    one starts after ``max_turns`` user turns)."""
    n = len(prompts)
    text = prompts.astype(np.int32).copy()
    conv = np.full(n, -1, np.int32)
    if n == 0:
        return text, conv
    order = np.lexsort((ts, sess))
    s = sess[order]
    first = np.r_[True, s[1:] != s[:-1]]
    seg = np.cumsum(first) - 1
    seg_start = np.flatnonzero(first)
    pos = np.arange(n) - seg_start[seg]
    seg_len = np.diff(np.r_[seg_start, n])
    chosen = (seg_len >= 2) & (rng.random(len(seg_start)) < share)
    depth = pos % max_turns
    users = np.where(
        (depth == 0) | (rng.random(n) < new_topic), prompts[order], _pick(rng, follow_ups, n)
    )
    answers = _pick(rng, assistant_pool(sim, rng), n)
    rows = np.flatnonzero(chosen[seg] & (depth > 0))
    flat, lengths = _interleave(users, answers, rows, depth[rows])
    events = order[rows]
    conv[events] = sim.convs.add_many(flat, lengths)
    text[events] = -1
    return text, conv


def histories(
    sim: Sim,
    rng: np.random.Generator,
    prompts: np.ndarray,
    share: float,
    follow_ups: np.ndarray,
    others: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(text, conv) per event: ``share`` of the requests arrive with one to six
    earlier turns (mostly one or two); the first user turn comes from
    ``others`` (or ``prompts``), the last is the request itself or a follow-up."""
    n = len(prompts)
    text = prompts.astype(np.int32).copy()
    conv = np.full(n, -1, np.int32)
    chosen = np.flatnonzero(rng.random(n) < share)
    k = len(chosen)
    if k == 0:
        return text, conv
    depth = np.minimum(rng.geometric(0.55, k), 6)
    earlier = prompts if others is None or len(others) == 0 else others
    # Rows of a scratch table per conversation: opening, follow-ups, final turn.
    width = 7
    users = _pick(rng, follow_ups, k * width)
    users[::width] = _pick(rng, earlier, k)
    final = np.where(rng.random(k) < 0.5, prompts[chosen], _pick(rng, follow_ups, k))
    last = np.arange(k) * width + depth
    users[last] = final
    answers = _pick(rng, assistant_pool(sim, rng), k * width)
    flat, lengths = _interleave(users, answers, last, depth)
    conv[chosen] = sim.convs.add_many(flat, lengths)
    text[chosen] = -1
    return text, conv


def as_messages(
    sim: Sim,
    rng: np.random.Generator,
    text: np.ndarray,
    conv: np.ndarray,
    share: float,
    where: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Send ``share`` of the single-turn requests flagged in ``where`` as a
    one-message ``messages`` list."""
    pick = np.flatnonzero(where & (conv < 0) & (rng.random(len(text)) < share))
    conv, text = conv.copy(), text.copy()
    conv[pick] = sim.convs.add_many(text[pick], np.ones(len(pick), np.int64))
    text[pick] = -1
    return text, conv
