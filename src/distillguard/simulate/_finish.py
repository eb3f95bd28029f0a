"""What the provider measures once a request is served: token counts and
latency, from what was asked, of which model, with which settings."""

from __future__ import annotations

import numpy as np

from distillguard.simulate import _world as world
from distillguard.simulate._frame import (
    CHAT,
    CLASSIFY,
    CODE,
    EMBED,
    EXTRACT,
    INSTRUCT,
    JUDGE,
    MATH,
    MATH_HARD,
    ROLE,
    SHORT,
    SUMMARIZE,
    TRANSLATE,
    Block,
)
from distillguard.simulate._sim import Sim

#: Median visible answer and reasoning length (tokens, medium effort) per task.
ANSWER = np.zeros(13)
REASON = np.zeros(13)
for _task, _answer, _reason in (
    (CHAT, 400, 400),
    (MATH, 260, 700),
    (MATH_HARD, 650, 2600),
    (CODE, 420, 1500),
    (INSTRUCT, 300, 500),
    (SUMMARIZE, 110, 150),
    (CLASSIFY, 6, 80),
    (EXTRACT, 140, 250),
    (TRANSLATE, 0, 150),
    (JUDGE, 220, 800),
    (ROLE, 280, 250),
    (SHORT, 120, 150),
    (EMBED, 0, 0),
):
    ANSWER[_task], REASON[_task] = _answer, _reason
EFFORT = np.asarray([0.35, 1.0, 2.6, 1.0])  # low, medium, high, not given (index -1)


def conv_bytes(sim: Sim, nbytes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Total size and message count of every conversation."""
    offsets = sim.convs.offsets
    turns = sim.convs.turns
    if len(turns) == 0:
        return np.zeros(1, np.int64), np.ones(1, np.int64)
    return np.add.reduceat(nbytes[turns], offsets[:-1]), np.diff(offsets)


def finish(
    sim: Sim, rng: np.random.Generator, b: Block, nbytes: np.ndarray
) -> dict[str, np.ndarray]:
    """Token counts and latency of every event of ``b`` (``nbytes``: UTF-8 size
    of every text of the pool); sets the rare ``service_tier`` extra field."""
    n = len(b)
    conv_size, conv_turns = conv_bytes(sim, nbytes)
    has_conv = b.conv >= 0
    conv = np.maximum(b.conv, 0)
    size = np.where(has_conv, conv_size[conv], nbytes[np.maximum(b.text, 0)])
    msgs = np.where(has_conv, conv_turns[conv], 1)
    size = size + np.where(b.system >= 0, nbytes[np.maximum(b.system, 0)], 0)
    msgs = msgs + (b.system >= 0)
    input_tokens = np.ceil(size / 3.6 * rng.lognormal(0, 0.05, n)).astype(np.int64) + 4 * msgs + 3

    reasoning_model = world.REASONING[b.model]
    copies = np.maximum(b.n, 1)
    median = np.where(b.task == TRANSLATE, input_tokens * 1.1, ANSWER[b.task])
    # Accounts differ in how much they ask for (essays, whole programs, terse answers).
    verbosity = rng.lognormal(0.0, 0.5, int(b.acct.max()) + 1 if n else 0)[b.acct]
    median = median * np.where(b.elicit, np.where(reasoning_model, 1.4, 2.2), 1.0) * verbosity
    output = np.maximum(1, rng.lognormal(np.log(np.maximum(median, 1)), 0.6)) * copies
    think = REASON[b.task] * EFFORT[b.effort] * np.where(b.elicit, 1.3, 1.0) * copies * verbosity
    reasoning = np.where(reasoning_model, rng.lognormal(np.log(np.maximum(think, 1)), 0.8), 0.0)
    limit = np.where(b.max_tokens > 0, b.max_tokens * copies, 2**40)
    over = output + reasoning > limit
    reasoning = np.where(over, np.minimum(reasoning, 0.85 * limit), reasoning)
    output = np.where(over, np.maximum(limit - reasoning, 1), output)
    embed = b.task == EMBED
    output[embed] = 0
    reasoning[embed] = 0
    output_tokens = output.astype(np.int64)
    reasoning_tokens = reasoning.astype(np.int64)

    refused = np.isin(b.status, (400, 429))
    failed = b.status >= 500
    output_tokens[refused | failed] = -1
    reasoning_tokens[refused | failed] = -1
    input_tokens[refused] = -1
    speed = np.where(world.SPEED[b.model] > 0, world.SPEED[b.model], 100.0)
    ttft = rng.lognormal(np.log(np.where(reasoning_model, 900.0, 350.0)), 0.4)
    gen = (output + reasoning) / speed * 1000 * rng.lognormal(0, 0.2, n)
    latency = np.where(embed, rng.lognormal(np.log(80), 0.4, n) + input_tokens * 0.02, ttft + gen)
    latency = np.where(b.status == 429, rng.lognormal(np.log(15), 0.5, n), latency)
    latency = np.where(b.status == 400, rng.lognormal(np.log(40), 0.5, n), latency)
    latency = np.where(failed, rng.lognormal(np.log(2000), 1.0, n), latency)
    latency = np.where(b.status == 408, rng.uniform(60_000, 600_000, n), latency)

    b.service_tier = np.where(
        rng.random(n) < sim.cfg.extra_field_rate, rng.choice(3, size=n, p=[0.7, 0.2, 0.1]), -1
    ).astype(np.int8)

    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "reasoning_tokens": reasoning_tokens,
        "latency_ms": np.round(latency, 1),
    }
