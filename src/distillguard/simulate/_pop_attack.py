"""Harvesting at volume: bulk scripts, proxy-rotating swarms, paraphrasers."""

from __future__ import annotations

import numpy as np

from distillguard.simulate import _crew as cr
from distillguard.simulate import _kit as kit
from distillguard.simulate import _phrases as ph
from distillguard.simulate import _timing as tm
from distillguard.simulate import _world as world
from distillguard.simulate._clients import pick_clients
from distillguard.simulate._conv import follow_up_pool, histories
from distillguard.simulate._frame import Block
from distillguard.simulate._net import HOSTING, RESIDENTIAL, Kind
from distillguard.simulate._pop_people import group_mix
from distillguard.simulate._sim import Sim
from distillguard.simulate._text import (
    disguise,
    fill,
    paraphrase_frames,
    reword,
    with_suffix,
    wrap,
)

Rng = np.random.Generator
CHAT_MIX = {"chat": 6, "query": 1, "role": 1, "instruct": 1, "math": 1}


def emit(
    sim: Sim,
    rng: Rng,
    pop: int,
    crew: cr.Crew,
    owner: np.ndarray,
    ts: np.ndarray,
    text: np.ndarray,
    task: np.ndarray,
    elicit: np.ndarray,
    client: np.ndarray,
    ip: np.ndarray,
    params: kit.Params,
    throttle: float,
    conv: np.ndarray | None = None,
    adopt: float = 0.35,
    tau_h: float = 12.0,
    system: np.ndarray | None = None,
) -> Block:
    b = Block.empty(len(owner))
    b.ts, b.pop[:], b.acct = ts, pop, crew.acc.index[owner]
    b.key = crew.acc.pick_keys(rng, owner)
    b.text, b.task, b.elicit, b.client, b.ip = text, task, elicit, client, ip
    if conv is not None:
        b.conv = conv
    else:  # now and then a follow-up asking for more of the reasoning
        share = float(rng.uniform(0.0, 0.08))
        b.text, b.conv = histories(sim, rng, text, share, follow_up_pool(sim, harvest=True))
    _disguise(sim, rng, b)
    if system is not None:  # the operation's own system instructions
        b.system = system.astype(np.int32)
    b.model = kit.models(rng, sim, ts, cr.HARVEST_MODELS, adopt, tau_h, owner)
    b.endpoint = kit.endpoints(rng, client, 0.25)
    kit.apply_params(rng, b, owner, crew.n, params)
    b.status = kit.statuses(rng, len(owner), throttle)
    sim.emit(b)
    return b


def _disguise(sim: Sim, rng: Rng, b: Block) -> None:
    """Some operators send a system prompt, some pass end-user ids like an app."""
    m = len(b)
    if rng.random() < 0.3:
        prompts = (*ph.REASONING_SYSTEM, *ph.APP_SYSTEM[:3])
        chosen = rng.choice(len(prompts), size=2, replace=False)
        ids = np.asarray([sim.texts.intern(prompts[i]) for i in chosen], np.int32)
        use = rng.random(m) < rng.uniform(0.3, 1.0)
        b.system[use] = ids[rng.integers(0, 2, int(use.sum()))]
    if rng.random() < 0.25:
        users = max(20, m // 10)
        first = sim.endusers(users)
        b.enduser = np.where(rng.random(m) < 0.8, first + rng.integers(0, users, m), -1)


def harvest_texts(
    sim: Sim, rng: Rng, q: np.ndarray, n_frames: int, plain: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    """Tasks framed by a few of the campaign's wrappers or reasoning suffixes;
    ``plain`` of them sent bare. Returns (text, asks-for-reasoning)."""
    m = len(q)
    frames = rng.choice(len(ph.HARVEST) - 1, size=n_frames, replace=False)
    style = rng.random(m)
    text = q.astype(np.int32).copy()
    framed = style < 0.7
    text[framed] = wrap(
        sim, q[framed], ph.HARVEST, frames[rng.integers(0, n_frames, int(framed.sum()))]
    )
    cot = (style >= 0.7) & (style < 1 - plain)
    suffix = rng.choice(len(ph.COT_SUFFIX), size=2, replace=False)
    text[cot] = with_suffix(sim, q[cot], ph.COT_SUFFIX, suffix[rng.integers(0, 2, int(cot.sum()))])
    return text, style < 1 - plain


def _account_runs(
    sim: Sim,
    rng: Rng,
    crew: cr.Crew,
    per_acct: np.ndarray,
    runs: tuple[int, int],
    busy: float,
    jitter: float,
    hours: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(owner, ts): each account sends its requests in ``runs[0]..runs[1]``
    machine runs that together cover about ``busy`` of the window after its
    sign-up."""
    n_runs = np.minimum(rng.integers(runs[0], runs[1] + 1, crew.n), np.maximum(per_acct, 1))
    first = np.r_[0, np.cumsum(n_runs)[:-1]]
    owner = np.repeat(np.arange(crew.n), per_acct)
    run = first[owner] + (rng.random(len(owner)) * n_runs[owner]).astype(np.int64)
    count = np.bincount(run, minlength=int(n_runs.sum()))
    run_owner = np.repeat(np.arange(crew.n), n_runs)
    span = (sim.clock.end - np.maximum(crew.acc.created_at, sim.clock.start)) / 1e6
    interval = busy * span[run_owner] / np.maximum(per_acct[run_owner], 1)
    start, interval = kit.fit_runs(
        rng,
        sim,
        count,
        interval,
        hours,
        tm.FLAT_WEEK,
        crew.tz[run_owner],
        crew.acc.created_at[run_owner],
    )
    return np.repeat(run_owner, count).astype(np.int64), tm.runs(
        rng, start, count, interval, jitter
    )


def bulk_script(sim: Sim, rng: Rng, budget: int, pop: int, campaigns: int) -> None:
    for c, share in enumerate(kit.split(rng, budget, campaigns, 6.0)):
        name = f"bulk_script-{c + 1}"
        n = int(np.clip(round(share / (8000 * sim.days / 7)), 2, 8))
        crew = cr.crew(
            sim,
            rng,
            "bulk_script",
            name,
            n,
            tiers={"payg": 6, "enterprise": 3, "free": 1},
            verified=0.4,
            aged=0.5,
            shared_pay=0.7,
            shells=0.5,
            catchall=0.0,
        )
        owner, ts = _account_runs(
            sim,
            rng,
            crew,
            kit.counts(rng, int(share), n, 0.4),
            (3, 10),
            0.6,
            float(rng.uniform(0.1, 0.6)),
            tm.FLAT_HOURS,
        )
        m = len(owner)
        reuse = int(rng.integers(1, 4))
        q = cr.sweep(sim, rng, ts, cr.sweep_order(rng), reuse)
        text, elicit = harvest_texts(sim, rng, q, int(rng.integers(1, 3)))
        task = cr.tasks_of(sim, q)
        kind: Kind = RESIDENTIAL if rng.random() < 0.25 else HOSTING
        where = world.pick(rng, world.CLOUD if kind == HOSTING else cr.PROXY_COUNTRIES, 2)
        ips = kit.AccountIps.draw(
            rng, sim, kind, where[rng.integers(0, 2, n)], rng.integers(2, 7, n)
        )
        client = np.full(m, pick_clients(rng, {"sdk_python": 1}, 1)[0], np.int32)
        emit(
            sim,
            rng,
            pop,
            crew,
            owner,
            ts,
            text,
            task,
            elicit,
            client,
            ips.sticky(rng, owner, 0.9),
            cr.harvest_params(rng),
            0.06,
        )
        sim.campaign(name, "bulk_script", {"accounts": n, "reuse": reuse, "ip_kind": kind})


def proxy_swarm(sim: Sim, rng: Rng, budget: int, pop: int, campaigns: int) -> None:
    for c, share in enumerate(kit.split(rng, budget, campaigns, 6.0)):
        name = f"proxy_swarm-{c + 1}"
        n = int(np.clip(round(share / 50), 30, 25000))
        crew = cr.crew(
            sim,
            rng,
            "proxy_swarm",
            name,
            n,
            tiers={"free": 6, "payg": 4},
            verified=0.05,
            aged=0.1,
            bursts=max(2, n // 80),
            shared_pay=0.4,
            catchall=0.15,
        )
        per = kit.counts(rng, int(share), n, 0.7)
        owner, ts = _account_runs(sim, rng, crew, per, (2, 5), 0.12, 1.0, tm.FLAT_HOURS)
        m = len(owner)
        chat_share = float(rng.uniform(0.2, 0.4))
        q = cr.sweep(sim, rng, ts, cr.sweep_order(rng), int(rng.integers(1, 3)))
        text, elicit = harvest_texts(sim, rng, q, int(rng.integers(2, 5)))
        task = cr.tasks_of(sim, q)
        langs = list(ph.COERCE)
        coerce = rng.random(m) < 0.1
        lg = rng.integers(0, len(langs), int(coerce.sum()))
        text[coerce] = with_suffix(sim, q[coerce], [ph.COERCE[x][0] for x in langs], lg)
        elicit |= coerce
        chat = rng.random(m) < chat_share
        text[chat], task[chat] = group_mix(sim, rng, int(chat.sum()), CHAT_MIX)
        elicit &= ~chat
        text, conv = histories(sim, rng, text, 0.05, follow_up_pool(sim, harvest=True))
        pool = sim.ips.add_mixed(
            RESIDENTIAL, world.pick(rng, cr.PROXY_COUNTRIES, min(max(m // 2, 50), 40000))
        )
        dc = sim.ips.add_mixed(HOSTING, world.pick(rng, world.CLOUD, max(20, m // 50)))
        ip = np.where(
            rng.random(m) < 0.12,
            dc[rng.integers(0, len(dc), m)],
            pool[rng.integers(0, len(pool), m)],
        )
        # Mobile proxies exit through carrier NAT, shared with ordinary subscribers.
        exits = world.pick(rng, cr.PROXY_COUNTRIES, m)
        ip = sim.ips.via_carrier_nat(rng, exits, ip, 0.1)
        clients = pick_clients(
            rng, {"sdk_python": 45, "browser": 30, "sdk_node": 15, "headless": 5, "go": 5}, n
        )
        emit(
            sim,
            rng,
            pop,
            crew,
            owner,
            ts,
            text,
            task,
            elicit,
            clients[owner],
            ip,
            cr.harvest_params(rng),
            0.01,
            conv,
        )
        sim.campaign(
            name,
            "proxy_swarm",
            {"accounts": n, "chat_share": round(chat_share, 2), "proxy_pool": len(pool)},
        )


def paraphrase(sim: Sim, rng: Rng, budget: int, pop: int, campaigns: int) -> None:
    for c, share in enumerate(kit.split(rng, budget, campaigns, 6.0)):
        name = f"paraphrase-{c + 1}"
        n = int(np.clip(round(share / 400), 10, 300))
        crew = cr.crew(
            sim,
            rng,
            "paraphrase",
            name,
            n,
            tiers={"free": 5, "payg": 5},
            verified=0.1,
            aged=0.3,
            bursts=max(1, n // 40),
            shared_pay=0.2,
        )
        owner, ts = _account_runs(
            sim, rng, crew, kit.counts(rng, int(share), n, 0.5), (2, 6), 0.3, 0.8, tm.FLAT_HOURS
        )
        m = len(owner)
        targets = sim.corpus.pick(
            rng, sim.corpus.group("math", "math_hard", "code", "instruct"), max(10, m // 2)
        )
        q = targets[rng.integers(0, len(targets), m)]
        frames = [paraphrase_frames(rng, int(rng.integers(2, 4))) for _ in range(n)]
        source = sim.texts.text
        built = [
            fill(frames[o][rng.integers(0, len(frames[o]))], reword(source(t), rng, 0.3))
            for o, t in zip(owner.tolist(), q.tolist(), strict=True)
        ]
        # Some accounts also disguise each prompt: invisible characters and
        # look-alike letters, anew in every request.
        disguised = rng.random(n) < 0.4
        built = [
            disguise(t, rng, 0.15) if disguised[o] else t
            for o, t in zip(owner.tolist(), built, strict=True)
        ]
        text = sim.texts.add(built)
        daily = kit.AccountIps.draw(
            rng,
            sim,
            RESIDENTIAL,
            world.pick(rng, cr.PROXY_COUNTRIES, n),
            np.full(n, int(np.ceil(sim.days)) + 1, np.int64),
        )
        dc = kit.AccountIps.draw(
            rng, sim, HOSTING, world.pick(rng, world.CLOUD, n), np.full(n, 2, np.int64)
        )
        ip = np.where(
            (rng.random(n) < 0.5)[owner], daily.by_day(sim, owner, ts), dc.sticky(rng, owner, 0.8)
        )
        clients = pick_clients(rng, {"sdk_python": 6, "sdk_node": 3, "go": 1}, n)
        emit(
            sim,
            rng,
            pop,
            crew,
            owner,
            ts,
            text,
            cr.tasks_of(sim, q),
            np.ones(m, bool),
            clients[owner],
            ip,
            cr.harvest_params(rng),
            0.01,
        )
        sim.campaign(
            name,
            "paraphrase",
            {"accounts": n, "targets": len(targets), "disguised": int(disguised.sum())},
        )
