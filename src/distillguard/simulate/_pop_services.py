"""Benign services with many people behind one account: routers and resellers,
apps in cloud data centres, and research partners."""

from __future__ import annotations

import numpy as np

from distillguard.simulate import _kit as kit
from distillguard.simulate import _phrases as ph
from distillguard.simulate import _timing as tm
from distillguard.simulate import _world as world
from distillguard.simulate._accounts import organisations
from distillguard.simulate._clients import pick_clients
from distillguard.simulate._conv import follow_up_pool, histories
from distillguard.simulate._frame import JUDGE, MATH, MATH_HARD, Accounts, Block
from distillguard.simulate._net import HOSTING, RESIDENTIAL
from distillguard.simulate._pop_people import group_mix
from distillguard.simulate._sim import Sim
from distillguard.simulate._text import judge, native, stamped, with_suffix, wrap

Rng = np.random.Generator

ALL_MODELS = {
    "lumen-1-mini": 4.0,
    "lumen-1": 3.0,
    "lumen-1-reasoner": 2.0,
    "lumen-1-reasoner-mini": 1.5,
}
ROUTER_MIX = {
    "chat": 30,
    "math": 12,
    "math_hard": 5,
    "code": 12,
    "instruct": 6,
    "role": 5,
    "batch": 5,
    "raw": 3,
    "redteam": 2,
    "query": 5,
}
BROAD = kit.Params(
    temperature={None: 4, 0.0: 1, 0.3: 0.5, 0.7: 2, 1.0: 2, 1.2: 0.3},
    max_tokens={None: 3, 512: 1, 1024: 1.5, 2048: 1.5, 4096: 2, 8192: 1, 16384: 0.6, 32768: 0.3},
    top_p={None: 8, 0.9: 1, 1.0: 1},
    n={None: 20, 1: 3, 2: 0.3},
    effort={None: 4, "low": 1, "medium": 2, "high": 1.5},
    reasoning_max_tokens=kit.REASONING_BUDGETS,
    stream=(0.6, 0.1),
    logprobs=(0.01, 0.95),
    seed=0.01,
    per_account=False,
)


def _elicit_some(sim: Sim, rng: Rng, b: Block, rec: np.ndarray, share: float) -> np.ndarray:
    """Append a reasoning request to ``share`` of the maths requests."""
    cot = np.isin(b.task, (MATH, MATH_HARD)) & (rng.random(len(rec)) < share)
    rec = rec.copy()
    rec[cot] = with_suffix(
        sim, rec[cot], ph.COT_SUFFIX, rng.integers(0, len(ph.COT_SUFFIX), int(cot.sum()))
    )
    b.elicit |= cot
    return rec


def router(sim: Sim, rng: Rng, budget: int, pop: int) -> None:
    n_r = int(np.clip(round(np.sqrt(budget / 15000)), 2, 6))
    countries = world.pick(rng, world.BUSINESS, n_r)
    acc, _org = organisations(
        rng,
        sim,
        "router",
        countries,
        kit.ichoice(rng, n_r, {1: 2, 2: 1}),
        created=kit.created(rng, sim, n_r, (900, 90)),
        tiers={"enterprise": 1},
        verified=0.9,
        keys={3: 1, 6: 1, 10: 1},
    )
    owner = np.sort(rng.choice(len(acc), budget, p=_sizes(rng, len(acc)))).astype(np.int64)
    m = len(owner)
    tz = world.tz_offsets(rng, world.pick(rng, world.CONSUMER, m))
    ts = sim.clock.rhythm(rng, tz, tm.HUMAN_HOURS, tm.HUMAN_WEEK)
    b = Block.empty(m)
    b.ts, b.pop[:], b.acct, b.key = ts, pop, acc.index[owner], acc.pick_keys(rng, owner)
    rec, b.task = group_mix(sim, rng, m, ROUTER_MIX, zipf=0.3)
    rec = _elicit_some(sim, rng, b, rec, 0.35)
    lang = kit.choice(rng, m, {None: 94} | dict.fromkeys(ph.NATIVE, 1.0))
    for lg in ph.NATIVE:
        where = np.flatnonzero(lang == lg)
        rec[where] = native(sim, rng, lg, len(where))
    graded = rng.random(m) < 0.02
    rec[graded] = judge(sim, rng, rec[graded], ph.JUDGE)
    b.task[graded] = JUDGE
    b.text, b.conv = histories(sim, rng, rec, 0.3, follow_up_pool(sim), sim.corpus.group("chat"))
    users = max(50, m // 15)
    b.enduser = np.where(rng.random(m) < 0.6, sim.endusers(users) + rng.integers(0, users, m), -1)
    machines = kit.AccountIps.draw(
        rng, sim, HOSTING, world.pick(rng, world.CLOUD, len(acc)), rng.integers(4, 17, len(acc))
    )
    b.ip = machines.uniform(rng, owner)
    clients = pick_clients(rng, {"sdk_python": 5, "sdk_node": 4, "go": 1}, 2 * len(acc))
    b.client = clients[2 * owner + (rng.random(m) < 0.2)]
    b.model = kit.models(rng, sim, ts, ALL_MODELS, 0.5, 4.0)
    b.endpoint = kit.endpoints(rng, b.client, 0.2)
    kit.apply_params(rng, b, owner, len(acc), BROAD)
    b.status = kit.statuses(rng, m, 0.01)
    sim.emit(b)


def _sizes(rng: Rng, n: int) -> np.ndarray:
    w = rng.lognormal(0, 0.8, n)
    out: np.ndarray = w / w.sum()
    return out


#: app kind -> (system prompt index, prompt mix)
APPS = {
    "writing": (0, {"chat": 6, "instruct": 3, "role": 1}),
    "support": (1, {"raw": 5, "chat": 3, "query": 2}),
    "coding": (2, {"code": 7, "chat": 2, "instruct": 1}),
    "travel": (3, {"chat": 8, "query": 2}),
    "language": (4, {"chat": 5, "raw": 5}),
    "sales": (5, {"chat": 5, "instruct": 5}),
    "tutor": (6, {"math": 6, "math_hard": 2, "chat": 1}),
}


def cloud_app(sim: Sim, rng: Rng, budget: int, pop: int) -> None:
    n_apps = int(np.clip(round(np.sqrt(budget / 800)), 3, 60))
    countries = world.pick(rng, world.BUSINESS, n_apps)
    acc, org = organisations(
        rng,
        sim,
        "cloud_app",
        countries,
        kit.ichoice(rng, n_apps, {1: 3, 2: 1}),
        created=kit.created(rng, sim, n_apps, (900, 30)),
        tiers={"payg": 6, "enterprise": 4},
        verified=0.5,
        keys={1: 2, 2: 1},
    )
    kinds = kit.choice(rng, n_apps, dict.fromkeys(APPS, 1.0)).astype(str)
    for a, share in enumerate(kit.split(rng, budget, n_apps, 1.0)):
        if share:
            _app(
                sim,
                rng,
                pop,
                acc,
                np.flatnonzero(org == a),
                int(share),
                str(kinds[a]),
                str(countries[a]),
            )


def _app(
    sim: Sim,
    rng: Rng,
    pop: int,
    acc: Accounts,
    members: np.ndarray,
    m: int,
    kind: str,
    country: str,
) -> None:
    system, mix = APPS[kind]
    market = world.tz_offsets(rng, np.asarray([country]))[0]
    ts = sim.clock.rhythm(
        rng,
        market + rng.normal(0, 2, m),
        tm.HUMAN_HOURS,
        tm.HUMAN_WEEK,
        lo=int(acc.created_at[members].min()),
    )
    b = Block.empty(m)
    owner = members[rng.integers(0, len(members), m)]
    b.ts, b.pop[:], b.acct, b.key = ts, pop, acc.index[owner], acc.pick_keys(rng, owner)
    rec, b.task = group_mix(sim, rng, m, mix, zipf=0.4)
    if kind == "tutor":
        b.elicit[:] = True
    if kind == "language" and rng.random() < 0.7:
        lg = list(ph.FRAMES)[int(rng.integers(0, len(ph.FRAMES)))]
        rec = wrap(sim, rec, ph.FRAMES[lg], rng.integers(0, len(ph.FRAMES[lg]), m))
    b.text, b.conv = histories(sim, rng, rec, 0.35, follow_up_pool(sim))
    b.system[:] = sim.texts.intern(ph.APP_SYSTEM[system])
    # Many applications tell the model the date or the time in each request.
    how = str(rng.choice(["", "date", "time"], p=[0.5, 0.35, 0.15]))
    if how:
        b.system = stamped(sim, rng, b.system, ts, how)
    users = max(20, m // 8)
    b.enduser = np.where(rng.random(m) < 0.4, sim.endusers(users) + rng.integers(0, users, m), -1)
    machines = sim.ips.add(
        HOSTING, str(world.pick(rng, world.CLOUD, 1)[0]), int(rng.integers(2, 11))
    )
    b.ip = machines[rng.integers(0, len(machines), m)]
    b.client[:] = pick_clients(rng, {"sdk_node": 45, "sdk_python": 45, "go": 5, "java": 5}, 1)[0]
    model = kit.models(rng, sim, ts[:1], ALL_MODELS, 0.0, 1.0)[0]
    b.model[:] = model
    moved = ts > sim.release + int(rng.exponential(48) * tm.HOUR)
    b.model[moved & (rng.random() < 0.3)] = world.NEW_MODEL
    b.endpoint = kit.endpoints(rng, b.client, 0.3 * (rng.random() < 0.5))
    kit.apply_params(
        rng,
        b,
        np.zeros(m, np.int64),
        1,
        kit.Params(
            temperature={0.2: 1, 0.5: 1, 0.7: 2, 1.0: 1, None: 1},
            max_tokens={512: 1, 1024: 2, 2048: 2, 4096: 1, None: 1},
            effort={None: 3, "low": 2, "medium": 2, "high": 0.5},
            reasoning_max_tokens={8192: 2, 16384: 2, 32768: 1},
            stream=(0.6, 0.0),
            vary=0.0,
        ),
    )
    b.status = kit.statuses(rng, m, 0.005)
    sim.emit(b)


UNIVERSITIES = (
    "University of Northfield",
    "Eastbrook Institute of Technology",
    "Universität Lindenau",
    "University of Westmere",
    "Kitamura University",
    "Institut Polytechnique de Valcourt",
    "Riverside State University",
)
UNI_DOMAINS = (
    "northfield.edu",
    "eastbrook-tech.edu",
    "uni-lindenau.de",
    "westmere.ac.uk",
    "kitamura-u.ac.jp",
    "valcourt-polytech.fr",
    "riverside-state.edu",
)
UNI_COUNTRY = ("US", "US", "DE", "GB", "JP", "FR", "US")
RESEARCH_MIX = {"math_hard": 4, "math": 3, "code": 2, "instruct": 1, "chat": 1}


def research_partner(sim: Sim, rng: Rng, budget: int, pop: int) -> None:
    n_inst = int(np.clip(round(budget / 8000), 1, len(UNIVERSITIES)))
    pick = rng.permutation(len(UNIVERSITIES))[:n_inst]
    countries = np.asarray([UNI_COUNTRY[i] for i in pick])
    acc, _org = organisations(
        rng,
        sim,
        "research_partner",
        countries,
        kit.ichoice(rng, n_inst, {1: 1, 2: 2, 3: 1}),
        created=kit.created(rng, sim, n_inst, (700, 30)),
        tiers={"research": 1},
        verified=1.0,
        keys={1: 1, 2: 1},
        holding=0.0,
        own_domain=1.0,
        names=[UNIVERSITIES[i] for i in pick],
        domains=[UNI_DOMAINS[i] for i in pick],
    )
    n = len(acc)
    owner = np.sort(rng.choice(n, budget, p=_sizes(rng, n))).astype(np.int64)
    m = len(owner)
    machine = rng.random(m) < 0.6
    tz = world.tz_offsets(rng, acc.country)[owner]
    ts = np.where(
        machine,
        sim.clock.rhythm(rng, tz, tm.FLAT_HOURS, tm.FLAT_WEEK),
        sim.clock.rhythm(rng, tz, tm.WORK_HOURS, tm.WORK_WEEK),
    )
    b = Block.empty(m)
    b.ts, b.pop[:], b.acct, b.key = ts, pop, acc.index[owner], acc.pick_keys(rng, owner)
    rec, b.task = group_mix(sim, rng, m, RESEARCH_MIX, zipf=0.0)
    wrapped = machine & (rng.random(m) < 0.7)
    rec[wrapped] = wrap(
        sim, rec[wrapped], ph.HARVEST, rng.integers(0, len(ph.HARVEST), int(wrapped.sum()))
    )
    b.elicit = wrapped
    langs = list(ph.COERCE)
    coerce = machine & ~wrapped & (rng.random(m) < 0.1)
    lg = rng.integers(0, len(langs), int(coerce.sum()))
    rec[coerce] = with_suffix(sim, rec[coerce], [ph.COERCE[x][0] for x in langs], lg)
    b.elicit |= coerce
    graded = ~machine & (rng.random(m) < 0.2)
    rec[graded] = judge(sim, rng, rec[graded], ph.RUBRIC)
    b.task[graded] = JUDGE
    b.text = rec
    campus = kit.AccountIps.draw(rng, sim, RESIDENTIAL, acc.country, np.full(n, 2, np.int64))
    cluster = kit.AccountIps.draw(
        rng, sim, HOSTING, world.pick(rng, world.CLOUD, n), np.full(n, 3, np.int64)
    )
    b.ip = np.where(machine, cluster.sticky(rng, owner, 0.6), campus.sticky(rng, owner, 0.7))
    b.client = np.where(
        machine,
        pick_clients(rng, {"sdk_python": 1}, n)[owner],
        pick_clients(rng, {"browser": 1, "sdk_python": 1}, n)[owner],
    ).astype(np.int32)
    b.model = kit.models(
        rng,
        sim,
        ts,
        {"lumen-1-reasoner": 4, "lumen-1": 2, "lumen-1-reasoner-mini": 2},
        0.6,
        6.0,
        owner,
    )
    b.endpoint = kit.endpoints(rng, b.client, 0.2)
    kit.apply_params(
        rng,
        b,
        owner,
        n,
        kit.Params(
            temperature={0.0: 2, 0.6: 2, 0.7: 1, 1.0: 2},
            max_tokens={8192: 2, 16384: 2, 32768: 2},
            n={None: 5, 4: 1, 8: 0.5},
            effort={"high": 4, "medium": 2, None: 1},
            logprobs=(0.15, 0.6),
            stream=(0.1, 0.5),
            seed=0.2,
            vary=0.3,
        ),
    )
    b.status = kit.statuses(rng, m, 0.01)
    sim.emit(b)
