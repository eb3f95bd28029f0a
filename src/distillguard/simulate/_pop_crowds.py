"""Benign crowds that share prompts: classrooms behind one NAT and strangers
copying a viral prompt."""

from __future__ import annotations

import numpy as np

from distillguard.simulate import _kit as kit
from distillguard.simulate import _phrases as ph
from distillguard.simulate import _timing as tm
from distillguard.simulate import _world as world
from distillguard.simulate._accounts import people
from distillguard.simulate._clients import UA, pick_clients
from distillguard.simulate._conv import follow_up_pool, threads
from distillguard.simulate._frame import CHAT, MATH, MATH_HARD, ROLE, Block
from distillguard.simulate._net import RESIDENTIAL
from distillguard.simulate._pop_people import CONSUMER_MODELS, CONSUMER_PARAMS, group_mix
from distillguard.simulate._sim import Sim
from distillguard.simulate._text import casual, with_suffix

Rng = np.random.Generator

SCHOOLS = {
    "US": 5,
    "GB": 1,
    "DE": 1,
    "FR": 1,
    "IN": 2,
    "ES": 1,
    "JP": 1,
    "BR": 1,
    "MX": 1,
    "CA": 1,
    "AU": 1,
}
ASK_EN = (
    "Can you explain how to solve this step by step?",
    "explain step by step",
    "I don't get this, can you show the steps?",
    "what's the answer and how do you get it?",
    "Show your work.",
)
CHROMEBOOK = np.flatnonzero(np.char.find(UA.astype(str), "CrOS") >= 0)


def _school_days(sim: Sim, tz: float) -> np.ndarray:
    """Local midnights (as UTC us) of the weekdays in the window."""
    first = (sim.clock.start + int(tz * tm.HOUR)) // tm.DAY
    last = (sim.clock.end + int(tz * tm.HOUR)) // tm.DAY
    days = np.arange(first, last + 1)
    weekday = (days + 3) % 7
    keep = days[weekday < 5] if np.any(weekday < 5) else days
    return keep * tm.DAY - int(tz * tm.HOUR)


def classroom(sim: Sim, rng: Rng, budget: int, pop: int) -> None:
    n_days = max(1, round(sim.days * 5 / 7))
    n_classes = int(np.clip(round(budget / (35 * 6 * n_days)), 1, 40))
    for size, events in zip(
        rng.integers(30, 41, n_classes), kit.split(rng, budget, n_classes), strict=True
    ):
        _one_class(sim, rng, pop, int(size), max(int(events), int(size)))


def _one_class(sim: Sim, rng: Rng, pop: int, size: int, events: int) -> None:
    country = str(world.pick(rng, SCHOOLS, 1)[0])
    lang = world.COUNTRIES[country][1]
    tz = float(world.tz_offsets(rng, np.asarray([country]))[0])
    countries = np.full(size, country)
    days = _school_days(sim, tz)
    signup = days[0] + int((8.5 - 24 * (rng.random() < 0.6) * rng.integers(1, 40)) * tm.HOUR)
    created = signup + (rng.exponential(600, size) * 1e6).astype(np.int64)
    acc = people(
        rng,
        sim,
        "classroom",
        countries,
        tiers={"free": 1},
        created=created,
        verified=0.0,
        shared_payment=0.0,
    )
    _, school = world.org_names(rng, countries[:1])
    on_school = rng.random(size) < 0.7
    acc.email_domain[on_school] = "students." + school[0].split(".")[0] + ".org"
    owner = np.sort(rng.choice(size, events, p=_weights(rng, size))).astype(np.int32)
    # 80 % in class periods (45 minutes from a local hour between 8 and 14), the rest at home.
    day = rng.integers(0, len(days), events)
    period_h = rng.integers(8, 15, len(days))
    in_class = rng.random(events) < 0.8
    ts = np.where(
        in_class,
        days[day] + period_h[day] * tm.HOUR + (rng.random(events) * 45 * 60e6).astype(np.int64),
        days[day] + int(18 * tm.HOUR) + (rng.random(events) * 4 * tm.HOUR).astype(np.int64),
    )
    settle = acc.created_at[owner] + (rng.uniform(1, 60, events) * 60e6).astype(np.int64)
    ts = np.maximum(ts, settle)
    b = Block.empty(events)
    b.ts, b.acct, b.pop[:] = ts, acc.index[owner], pop
    hard = rng.random() < 0.35
    pool = sim.corpus.group("math_hard" if hard else "math")
    first = rng.integers(0, max(1, len(pool) - 12 * len(days)))
    problems = pool[first + np.arange(10 * len(days)) % len(pool)].reshape(len(days), 10)
    q = problems[day, rng.integers(0, 10, events)]
    style = rng.random(events)
    asks = ph.STUDENT.get(lang, ASK_EN) if rng.random() < 0.7 else ASK_EN
    rec = casual(sim, rng, q, 0.6)
    ask = style > 0.7
    rec[ask] = with_suffix(
        sim,
        q[ask],
        asks,
        rng.integers(0, len(asks), int(ask.sum())),
        rng.random(int(ask.sum())) < 0.5,
    )
    rec[style < 0.4] = q[style < 0.4]
    b.task[:] = MATH_HARD if hard else MATH
    b.elicit = ask
    b.text, b.conv = threads(
        sim, rng, owner.astype(np.int64) * 1000 + day, ts, rec, 0.3, follow_up_pool(sim), 0.2
    )
    shared_ua = CHROMEBOOK[rng.integers(0, len(CHROMEBOOK))]
    own = pick_clients(rng, {"browser": 1}, size)
    b.client = np.where((rng.random(size) < 0.7)[owner], shared_ua, own[owner]).astype(np.int32)
    nat = sim.ips.add(RESIDENTIAL, country, 1)[0]
    home = kit.AccountIps.draw(rng, sim, RESIDENTIAL, countries, np.ones(size, np.int64))
    b.ip = np.where(in_class, nat, home.sticky(rng, owner, 1.0)).astype(np.int32)
    b.model = kit.models(rng, sim, ts, {"lumen-1-mini": 3, "lumen-1": 2}, 0.2, 24.0, owner)
    b.endpoint[:] = world.EP_CHAT
    kit.apply_params(rng, b, owner, size, CONSUMER_PARAMS)
    b.status = kit.statuses(rng, events, 0.004)
    b.key = acc.pick_keys(rng, owner)
    sim.emit(b)


def _weights(rng: Rng, n: int) -> np.ndarray:
    w = rng.lognormal(0.0, 0.7, n)
    out: np.ndarray = w / w.sum()
    return out


EDITS = (
    " My name is Sam.",
    " I live in Toronto.",
    " Keep it fun.",
    " Answer in English.",
    " Start now.",
    " Be brief.",
)


def viral_prompt(sim: Sim, rng: Rng, budget: int, pop: int) -> None:
    n = max(30, round(budget / 5.0))
    roles, chat = sim.corpus.group("role"), sim.corpus.group("chat")
    viral = np.r_[
        sim.corpus.pick(rng, roles if len(roles) else chat, 2), sim.corpus.pick(rng, chat, 1)
    ]
    wave = sim.clock.start + int(rng.random() * 0.5 * (sim.clock.end - sim.clock.start))
    first_use = wave + (rng.exponential(0.6, n) * tm.DAY).astype(np.int64)
    first_use = np.minimum(first_use, sim.clock.end - tm.HOUR)
    countries = world.pick(rng, world.CONSUMER, n)
    created = kit.created(rng, sim, n)
    new = rng.random(n) < 0.35
    created[new] = first_use[new] - (rng.exponential(1800, int(new.sum())) * 1e6).astype(np.int64)
    acc = people(rng, sim, "viral_prompt", countries, tiers={"free": 8, "payg": 2}, created=created)
    owner = kit.owners(kit.counts(rng, budget, n, 0.8))
    m = len(owner)
    tz = world.tz_offsets(rng, countries)
    ts, sess = tm.sessions(
        rng, sim.clock, owner, tz, tm.HUMAN_HOURS, tm.HUMAN_WEEK, 3.0, 60.0, lo=first_use
    )
    b = Block.empty(m)
    b.ts, b.acct, b.pop[:] = ts, acc.index[owner], pop
    rec, b.task = group_mix(
        sim, rng, m, {"chat": 60, "role": 10, "math": 10, "instruct": 10, "query": 10}
    )
    # The first one to three requests of each account are the viral prompt.
    order = np.lexsort((ts, owner))
    rank = np.arange(m) - np.searchsorted(owner[order], owner[order])
    uses = 1 + rng.poisson(0.7, n)
    is_viral = np.empty(m, bool)
    is_viral[order] = rank < uses[owner[order]]
    which = viral[(rng.random(n) * len(viral)).astype(np.int64)][owner]
    variant = casual(sim, rng, which, 0.3)
    edited = rng.random(m) < 0.15
    variant[edited] = with_suffix(
        sim, which[edited], EDITS, rng.integers(0, len(EDITS), int(edited.sum()))
    )
    rec[is_viral] = variant[is_viral]
    b.task[is_viral] = np.where(np.isin(which[is_viral], roles), ROLE, CHAT)
    b.text, b.conv = threads(sim, rng, sess, ts, rec, 0.4, follow_up_pool(sim))
    b.client = pick_clients(rng, {"browser": 60, "app": 40}, n)[owner]
    home = kit.AccountIps.draw(
        rng, sim, RESIDENTIAL, countries, kit.ichoice(rng, n, {1: 3, 2: 2, 3: 1})
    )
    b.ip = sim.ips.via_carrier_nat(rng, countries[owner], home.sticky(rng, owner, 0.8), 0.15)
    b.model = kit.models(rng, sim, ts, CONSUMER_MODELS, 0.35, 12.0, owner)
    b.endpoint = kit.endpoints(rng, b.client, 0.1)
    kit.apply_params(rng, b, owner, n, CONSUMER_PARAMS)
    b.status = kit.statuses(rng, m, 0.003)
    b.key = acc.pick_keys(rng, owner)
    sim.emit(b)
