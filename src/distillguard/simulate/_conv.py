"""Multi-turn conversations.

A conversation request carries the whole history: earlier user turns, the
assistant's answers, and the new user turn last. :func:`threads` turns the
requests of one human session into one growing conversation;
:func:`histories` gives independent requests a history of random length (what
an app or router forwards on behalf of its users).
"""

from __future__ import annotations

import numpy as np

from distillguard.simulate import _phrases as ph
from distillguard.simulate._sim import Sim
from distillguard.simulate._text import assistant_pool


def follow_up_pool(sim: Sim, harvest: bool = False, lang: str = "en") -> np.ndarray:
    phrases = ph.HARVEST_FOLLOW_UPS if harvest else ph.FOLLOW_UPS_BY_LANG.get(lang, ph.FOLLOW_UPS)
    return np.asarray([sim.texts.intern(p) for p in phrases], np.int32)


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
    requests, every request after the first continues the conversation."""
    text = prompts.astype(np.int32).copy()
    conv = np.full(len(prompts), -1, np.int32)
    order = np.lexsort((ts, sess))
    s = sess[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    ends = np.r_[starts[1:], len(s)]
    chosen = np.flatnonzero((ends - starts >= 2) & (rng.random(len(starts)) < share))
    assist = assistant_pool(sim, rng)
    for si in chosen.tolist():
        events = order[starts[si] : ends[si]].tolist()
        turns = [int(prompts[events[0]])]
        for e in events[1:]:
            if len(turns) >= 2 * max_turns - 1:
                turns = [int(prompts[e])]
                continue
            user = (
                prompts[e]
                if rng.random() < new_topic
                else follow_ups[rng.integers(0, len(follow_ups))]
            )
            turns = [*turns, int(assist[rng.integers(0, len(assist))]), int(user)]
            conv[e] = sim.convs.add(turns)
            text[e] = -1
    return text, conv


def histories(
    sim: Sim,
    rng: np.random.Generator,
    prompts: np.ndarray,
    share: float,
    follow_ups: np.ndarray,
    others: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(text, conv) per event: ``share`` of the requests arrive with 1 to 6
    earlier turns; the last user turn is a follow-up or the request itself."""
    text = prompts.astype(np.int32).copy()
    conv = np.full(len(prompts), -1, np.int32)
    chosen = np.flatnonzero(rng.random(len(prompts)) < share)
    assist = assistant_pool(sim, rng)
    earlier = prompts if others is None or len(others) == 0 else others
    for e in chosen.tolist():
        depth = int(rng.integers(1, 7))
        turns = [int(earlier[rng.integers(0, len(earlier))])]
        for _ in range(depth - 1):
            turns += [
                int(assist[rng.integers(0, len(assist))]),
                int(follow_ups[rng.integers(0, len(follow_ups))]),
            ]
        last = prompts[e] if rng.random() < 0.5 else follow_ups[rng.integers(0, len(follow_ups))]
        turns += [int(assist[rng.integers(0, len(assist))]), int(last)]
        conv[e] = sim.convs.add(turns)
        text[e] = -1
    return text, conv


def as_messages(
    sim: Sim, rng: np.random.Generator, text: np.ndarray, conv: np.ndarray, share: float
) -> tuple[np.ndarray, np.ndarray]:
    """Send ``share`` of the single-turn requests as a one-message ``messages`` list."""
    pick = np.flatnonzero((conv < 0) & (rng.random(len(text)) < share))
    conv = conv.copy()
    text = text.copy()
    for e in pick.tolist():
        conv[e] = sim.convs.add([int(text[e])])
    text[pick] = -1
    return text, conv
