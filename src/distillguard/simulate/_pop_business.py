"""Benign businesses that look like harvesting: evaluation companies and
enterprise batch jobs."""

from __future__ import annotations

import numpy as np

from distillguard.simulate import _kit as kit
from distillguard.simulate import _phrases as ph
from distillguard.simulate import _timing as tm
from distillguard.simulate import _world as world
from distillguard.simulate._accounts import organisations
from distillguard.simulate._clients import pick_clients
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
    SUMMARIZE,
    TRANSLATE,
    Accounts,
    Block,
)
from distillguard.simulate._net import HOSTING
from distillguard.simulate._sim import Sim
from distillguard.simulate._text import combine, fill, judge, stamped

Rng = np.random.Generator

#: name -> (dataset, items (0 = all), task, template family, samples, weight)
BENCHMARKS: dict[str, tuple[str, int, int, str, dict[float | int | str | None, float], float]] = {
    "gsm8k": ("gsm8k", 1319, MATH, "math", {1: 8, 4: 1}, 5.0),
    "math500": ("MATH", 500, MATH_HARD, "math", {1: 6, 4: 1}, 5.0),
    "aime24": ("aime24", 0, MATH_HARD, "math", {8: 1, 16: 1, 32: 0.5}, 2.0),
    "amc23": ("amc23", 0, MATH_HARD, "math", {4: 1, 8: 1}, 1.0),
    "olympiadbench": ("olympiadbench", 0, MATH_HARD, "math", {1: 1}, 1.0),
    "svamp": ("svamp", 0, MATH, "math", {1: 1}, 0.7),
    "aqua": ("aqua", 0, MATH, "math", {1: 1}, 0.5),
    "gaokao": ("gaokao2023en", 0, MATH_HARD, "math", {1: 1}, 0.5),
    "humaneval": ("humaneval", 0, CODE, "code", {1: 3, 5: 1, 10: 1}, 3.0),
    "mbpp": ("mbpp", 0, CODE, "code", {1: 1}, 1.0),
    "ifeval": ("ifeval", 0, INSTRUCT, "plain", {1: 1}, 2.0),
    "mt_bench": ("mt_bench", 0, CHAT, "judge", {1: 1}, 1.0),
    "arena_hard": ("arena_hard", 0, CHAT, "judge", {1: 1}, 1.5),
}
EVAL_MODELS = {
    "lumen-1": 3.0,
    "lumen-1-reasoner": 3.0,
    "lumen-1-reasoner-mini": 2.0,
    "lumen-1-mini": 2.0,
}


def _items(sim: Sim, dataset: str, size: int) -> np.ndarray:
    pool = sim.corpus.dataset(dataset)
    if size and len(pool) > size:
        # A fixed subset, the same for every company (like MATH-500).
        pool = np.sort(np.random.default_rng(size).permutation(pool)[:size])
    return pool


def eval_company(sim: Sim, rng: Rng, budget: int, pop: int) -> None:
    n_comp = int(np.clip(round(np.sqrt(budget / 2000)), 2, 10))
    countries = world.pick(rng, world.BUSINESS, n_comp)
    per_org = kit.ichoice(rng, n_comp, {1: 3, 2: 2, 3: 1})
    acc, org = organisations(
        rng,
        sim,
        "eval_company",
        countries,
        per_org,
        created=kit.created(rng, sim, n_comp, (900, 60)),
        tiers={"enterprise": 6, "payg": 4},
        verified=0.8,
        keys={2: 1, 3: 1, 5: 1},
    )
    for c, share in enumerate(kit.split(rng, budget, n_comp, 2.0)):
        if share:
            _company_runs(sim, rng, pop, acc, np.flatnonzero(org == c), int(share), countries[c])


def _company_runs(
    sim: Sim, rng: Rng, pop: int, acc: Accounts, members: np.ndarray, budget: int, country: str
) -> None:
    names = [k for k, v in BENCHMARKS.items() if len(sim.corpus.dataset(v[0]))]
    weights = np.asarray([BENCHMARKS[k][5] for k in names]) * rng.lognormal(0, 0.5, len(names))
    math_t = int(rng.choice(len(ph.EVAL_MATH), p=_popular(len(ph.EVAL_MATH))))
    code_t = int(rng.integers(0, len(ph.EVAL_CODE)))
    machines = sim.ips.add(
        HOSTING, str(world.pick(rng, world.CLOUD, 1)[0]), int(rng.integers(2, 7))
    )
    clients = pick_clients(rng, {"sdk_python": 8, "sdk_node": 1}, 2)
    runs: list[tuple[np.ndarray, int, int, int]] = []  # items, repeats, n, bench index
    left = budget
    while left > 0:
        b = int(rng.choice(len(names), p=weights / weights.sum()))
        dataset, size, _, family, samples, _ = BENCHMARKS[names[b]]
        items = _items(sim, dataset, size)
        s = int(kit.ichoice(rng, 1, samples)[0])
        n_param, repeats = (s, 1) if family == "code" and s > 1 else (1, s)
        run = np.tile(items, repeats)[:left]
        runs.append((run, repeats, n_param, b))
        left -= len(run)
    count = np.asarray([len(r[0]) for r in runs])
    start, interval = kit.fit_runs(
        rng,
        sim,
        count,
        rng.uniform(0.05, 1.5, len(runs)),
        tm.FLAT_HOURS,
        tm.WORK_WEEK * 0.5 + 0.5,
        np.zeros(len(runs)),
    )
    # A new model ships: a fifth of the runs evaluate it within a day.
    fresh = rng.random(len(runs)) < 0.2
    latest = sim.clock.end - (count * interval * 1e6).astype(np.int64)
    soon = sim.release + (rng.random(len(runs)) * tm.DAY).astype(np.int64)
    start = np.where(fresh, np.maximum(np.minimum(soon, latest), sim.clock.start), start)
    ts = tm.runs(rng, start, count, interval, rng.uniform(0.2, 0.6))
    run_of = np.repeat(np.arange(len(runs)), count)
    q = np.concatenate([r[0] for r in runs]).astype(np.int32)
    bench = np.asarray([r[3] for r in runs])[run_of]
    family = np.asarray([BENCHMARKS[names[i]][3] for i in range(len(names))])[bench]
    m = len(q)
    blk = Block.empty(m)
    blk.ts, blk.pop[:] = ts, pop
    owner = members[rng.integers(0, len(members), len(runs))][run_of]
    blk.acct = acc.index[owner]
    blk.key = acc.pick_keys(rng, owner)
    blk.task = np.asarray([BENCHMARKS[k][2] for k in names], np.int8)[bench]
    tmpl = np.where(family == "math", math_t, np.where(family == "code", code_t, -1))
    blk.text = combine(sim, (q, tmpl, family == "code"), lambda k: _eval_text(sim, k))
    graded = (family == "judge") & (rng.random(m) < 0.5)
    blk.text[graded] = judge(sim, rng, q[graded], ph.JUDGE)
    blk.task[graded] = JUDGE
    blk.elicit = np.isin(tmpl, (0, 1, 2, 3)) & (family == "math") | (
        (family == "code") & (tmpl == 1)
    )
    blk.ip = machines[rng.integers(0, len(machines), len(runs))][run_of]
    blk.client = clients[(rng.random(len(runs)) < 0.2).astype(np.int64)][run_of]
    blk.model = kit.models(rng, sim, start, EVAL_MODELS, 0.6, 3.0)[run_of]
    blk.endpoint = kit.endpoints(rng, blk.client, 0.2)
    kit.apply_params(
        rng,
        blk,
        run_of,
        len(runs),
        kit.Params(
            temperature={0.0: 6, 0.6: 1, 1.0: 1, None: 1},
            max_tokens={2048: 2, 4096: 3, 8192: 2, 16384: 1.5, 32768: 0.8},
            top_p={None: 8, 0.95: 1, 1.0: 1},
            effort={None: 2, "high": 3, "medium": 2, "low": 1},
            stream=(0.1, 0.4),
            logprobs=(0.02, 0.9),
            seed=0.3,
            vary=0.0,
        ),
    )
    blk.n = np.asarray([r[2] for r in runs])[run_of]
    blk.n[blk.n == 1] = -1
    blk.status = kit.statuses(rng, m, 0.03)
    sim.emit(blk)


def _popular(k: int) -> np.ndarray:
    w = np.asarray([4.0, 4.0] + [1.0] * (k - 2))
    out: np.ndarray = w / w.sum()
    return out


def _eval_text(sim: Sim, key: list[int]) -> str:
    q, tmpl, code = sim.texts.text(key[0]), key[1], key[2]
    if tmpl < 0:
        return q
    return fill((ph.EVAL_CODE if code else ph.EVAL_MATH)[tmpl], q)


# -- enterprise batch -------------------------------------------------------------------

LANGS = ("German", "French", "Spanish", "Japanese", "Portuguese", "Italian", "Korean")
#: template -> (task, documents per prompt, uses record number)
PIPELINES = {
    "emotion": (CLASSIFY, 1, False),
    "moderation": (CLASSIFY, 1, False),
    "ticket": (CLASSIFY, 2, True),
    "translate": (TRANSLATE, 1, False),
    "extract": (EXTRACT, 3, False),
    "summary": (SUMMARIZE, 3, True),
    "review": (CLASSIFY, 1, True),
    "triage": (CLASSIFY, 1, True),
    "t0": (SUMMARIZE, 1, False),
    "embed": (EMBED, 1, False),
}
BATCH_MODELS = {"lumen-1-mini": 6.0, "lumen-1": 3.0, "lumen-1-reasoner-mini": 1.0}


def enterprise_batch(sim: Sim, rng: Rng, budget: int, pop: int) -> None:
    n_comp = int(np.clip(round(np.sqrt(budget / 3000)), 2, 12))
    countries = world.pick(rng, world.BUSINESS, n_comp)
    acc, org = organisations(
        rng,
        sim,
        "enterprise_batch",
        countries,
        kit.ichoice(rng, n_comp, {1: 3, 2: 1}),
        created=kit.created(rng, sim, n_comp, (1200, 60)),
        tiers={"enterprise": 7, "payg": 3},
        verified=0.9,
        keys={1: 2, 2: 1},
    )
    n_pipe = kit.ichoice(rng, n_comp, {1: 2, 2: 2, 3: 1})
    pipe_org = np.repeat(np.arange(n_comp), n_pipe)
    shares = kit.split(rng, budget, len(pipe_org), 1.5)
    for p, (o, share) in enumerate(zip(pipe_org, shares, strict=True)):
        if share:
            members = np.flatnonzero(org == o)
            _pipeline(sim, rng, pop, acc, members, int(share), p, str(countries[o]))


def _pipeline(
    sim: Sim,
    rng: Rng,
    pop: int,
    acc: Accounts,
    members: np.ndarray,
    budget: int,
    serial: int,
    country: str,
) -> None:
    kind = str(
        kit.choice(
            rng,
            1,
            {
                "emotion": 2,
                "moderation": 2,
                "ticket": 2,
                "translate": 2,
                "extract": 1.5,
                "summary": 1.5,
                "review": 1,
                "triage": 1.5,
                "t0": 2,
                "embed": 0.7,
            },
        )[0]
    )
    task, docs, numbered = PIPELINES[kind]
    period = float(kit.fchoice(rng, 1, {15: 1, 30: 1, 60: 2, 240: 1, 1440: 1})[0]) * 60
    n_jobs = max(1, int((sim.clock.end - sim.clock.start) / 1e6 // period))
    per_job = kit.split(rng, budget, n_jobs, 20.0)
    offset = rng.random() * period * 1e6
    start = (
        sim.clock.start + offset + np.arange(n_jobs) * period * 1e6 + rng.normal(0, 2e6, n_jobs)
    ).astype(np.int64)
    interval = np.full(n_jobs, min(rng.uniform(0.1, 2.0), 0.8 * period / max(per_job.max(), 1)))
    ts = tm.runs(rng, start, per_job, interval, rng.uniform(0.05, 0.2))
    m = len(ts)
    b = Block.empty(m)
    b.ts, b.pop[:], b.task[:] = ts, pop, task
    owner = np.full(m, members[serial % len(members)], np.int64)
    b.acct, b.key = acc.index[owner], acc.pick_keys(rng, owner)
    b.text = _batch_texts(sim, rng, kind, m, docs, numbered)
    if kind not in ("t0", "embed"):
        b.system[:] = sim.texts.intern(ph.BATCH_SYSTEM[int(rng.integers(0, len(ph.BATCH_SYSTEM)))])
        if rng.random() < 0.3:  # a job id in each request's instruction
            b.system = stamped(sim, rng, b.system, ts, "request")
    machines = sim.ips.add(
        HOSTING, str(world.pick(rng, world.CLOUD, 1)[0]), int(rng.integers(1, 5))
    )
    b.ip = machines[rng.integers(0, len(machines), m)]
    b.client[:] = pick_clients(rng, {"sdk_python": 5, "java": 2, "go": 1, "sdk_node": 2}, 1)[0]
    if kind == "embed":
        b.model[:], b.endpoint[:] = world.EMBED_MODEL, world.EP_EMBEDDINGS
    else:
        b.model[:] = kit.models(rng, sim, ts[:1], BATCH_MODELS, 0.1, 72.0)[0]
        b.endpoint = kit.endpoints(rng, b.client, 0.0)
        kit.apply_params(
            rng,
            b,
            np.zeros(m, np.int64),
            1,
            kit.Params(
                temperature={0.0: 7, 0.2: 2, None: 1},
                max_tokens={256: 3, 512: 3, 1024: 2, 64: 1, None: 1},
                effort={None: 3, "low": 2, "medium": 1},
                stream=(0.0, 0.5),
                vary=0.0,
            ),
        )
    b.status = kit.statuses(rng, m, 0.02)
    sim.emit(b)


def _batch_texts(sim: Sim, rng: Rng, kind: str, m: int, docs: int, numbered: bool) -> np.ndarray:
    corpus = sim.corpus
    if kind == "t0":
        return corpus.pick(rng, corpus.group("batch"), m)
    raw = corpus.group("raw") if len(corpus.group("raw")) else corpus.group("batch")
    k = rng.integers(1, docs + 1, m)
    parts = [np.where(k > i, corpus.pick(rng, raw, m), -1) for i in range(docs)]
    number = (rng.integers(10_000, 90_000) + np.arange(m)) if numbered else np.zeros(m, np.int64)
    lang = rng.integers(0, len(LANGS), m) if kind == "translate" else np.zeros(m, np.int64)
    text = sim.texts.text

    def build(key: list[int]) -> str:
        doc = "\n\n".join(text(i) for i in key[:docs] if i >= 0)
        if kind == "embed":
            return doc
        t = ph.BATCH[kind].replace("{id}", str(key[docs])).replace("{lang}", LANGS[key[docs + 1]])
        return fill(t, doc)

    return combine(sim, (*parts, number, lang), build)
