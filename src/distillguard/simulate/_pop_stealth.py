"""Harvesting that hides in the crowd: low-and-slow accounts, reasoning
coercion in other languages or in the system instruction, a pivot to a new
model, reward-model grading."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from distillguard.simulate import _crew as cr
from distillguard.simulate import _kit as kit
from distillguard.simulate import _phrases as ph
from distillguard.simulate import _timing as tm
from distillguard.simulate import _world as world
from distillguard.simulate._clients import pick_clients
from distillguard.simulate._frame import JUDGE
from distillguard.simulate._net import HOSTING, RESIDENTIAL
from distillguard.simulate._pop_attack import CHAT_MIX, _account_runs, emit, harvest_texts
from distillguard.simulate._pop_people import group_mix
from distillguard.simulate._sim import Sim
from distillguard.simulate._text import assistant_pool, judge, stamped, with_suffix, wrap

Rng = np.random.Generator


def low_and_slow(sim: Sim, rng: Rng, budget: int, pop: int, campaigns: int) -> None:
    for c, share in enumerate(kit.split(rng, budget, campaigns, 6.0)):
        name = f"low_and_slow-{c + 1}"
        n = int(np.clip(round(share / (25 * sim.days)), 10, 2000))
        crew = cr.crew(
            sim,
            rng,
            "low_and_slow",
            name,
            n,
            tiers={"free": 5, "payg": 5},
            verified=0.1,
            aged=0.5,
            bursts=max(1, n // 60),
            shared_pay=0.15,
            declared=world.CONSUMER,
        )
        owner = kit.owners(kit.counts(rng, int(share), n, 0.3))
        tz = world.tz_offsets(rng, crew.acc.country)
        ts, _ = tm.sessions(
            rng,
            sim.clock,
            owner,
            tz,
            tm.HUMAN_HOURS,
            tm.HUMAN_WEEK,
            4.0,
            90.0,
            lo=crew.acc.created_at,
        )
        m = len(owner)
        # Every account works through its own slice of the campaign's task list.
        targets = rng.permutation(sim.corpus.group("math", "math_hard", "code", "instruct"))
        rank = np.empty(m, np.int64)
        order = np.lexsort((ts, owner))
        rank[order] = np.arange(m) - np.searchsorted(owner[order], owner[order])
        q = targets[(owner * (len(targets) // n) + rank) % len(targets)]
        text, elicit = harvest_texts(sim, rng, q, 2, plain=0.3)
        task = cr.tasks_of(sim, q)
        chat = rng.random(m) < 0.15
        text[chat], task[chat] = group_mix(sim, rng, int(chat.sum()), CHAT_MIX)
        elicit &= ~chat
        days = int(np.ceil(sim.days)) + 1
        ips = kit.AccountIps.draw(rng, sim, RESIDENTIAL, crew.acc.country, np.full(n, days))
        clients = pick_clients(rng, {"browser": 5, "sdk_python": 4, "app": 1}, n)
        params = kit.Params(
            temperature={None: 3, 0.7: 2, 1.0: 2, 0.6: 1},
            max_tokens={None: 2, 8192: 2, 16384: 2, 32768: 1},
            effort={"high": 3, "medium": 1, None: 2},
            stream=(0.5, 0.2),
            vary=0.3,
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
            ips.by_day(sim, owner, ts),
            params,
            0.003,
        )
        sim.campaign(name, "low_and_slow", {"accounts": n, "per_account_day": 25})


def _proxied(
    sim: Sim, rng: Rng, m: int, residential: int, hosting: int, hosted: float
) -> np.ndarray:
    """Addresses of ``m`` requests: exits of a pool of ``residential`` proxy
    networks, ``hosted`` of them from ``hosting`` data-centre networks."""
    pool = sim.ips.add_mixed(RESIDENTIAL, world.pick(rng, cr.PROXY_COUNTRIES, residential))
    dc = sim.ips.add_mixed(HOSTING, world.pick(rng, world.CLOUD, hosting))
    ip: np.ndarray = np.where(
        rng.random(m) < hosted,
        dc[rng.integers(0, len(dc), m)],
        pool[rng.integers(0, len(pool), m)],
    )
    return ip


def multilingual_coercion(sim: Sim, rng: Rng, budget: int, pop: int, campaigns: int) -> None:
    langs = list(ph.COERCE)
    for c, share in enumerate(kit.split(rng, budget, campaigns, 6.0)):
        name = f"multilingual_coercion-{c + 1}"
        n = int(np.clip(round(share / 300), 10, 2000))
        crew = cr.crew(
            sim,
            rng,
            "multilingual_coercion",
            name,
            n,
            tiers={"free": 4, "payg": 6},
            verified=0.1,
            aged=0.2,
            bursts=max(1, n // 50),
            shared_pay=0.3,
        )
        owner, ts = _account_runs(
            sim, rng, crew, kit.counts(rng, int(share), n, 0.5), (1, 5), 0.2, 0.6, tm.FLAT_HOURS
        )
        m = len(owner)
        first, second = rng.integers(0, len(langs), n), rng.integers(0, len(langs), n)
        lang = np.where(rng.random(m) < 0.7, first[owner], second[owner])
        q = cr.sweep(sim, rng, ts, cr.sweep_order(rng), 1)
        phrase = np.asarray([sum(len(ph.COERCE[x]) for x in langs[:i]) for i in range(len(langs))])
        flat = [p for x in langs for p in ph.COERCE[x]]
        which = phrase[lang] + (
            rng.random(m) * np.asarray([len(ph.COERCE[x]) for x in langs])[lang]
        ).astype(np.int64)
        text = with_suffix(sim, q, flat, which, rng.random(m) < 0.5)
        task = cr.tasks_of(sim, q)
        framed = rng.random(m) < 0.1
        fr_lang = [x for x in ph.FRAMES]
        k = rng.integers(0, len(fr_lang), int(framed.sum()))
        text[framed] = wrap(
            sim, q[framed], [ph.FRAMES[fr_lang[i]][3] for i in range(len(fr_lang))], k
        )
        ip = _proxied(sim, rng, m, max(50, m // 3), max(10, m // 100), 0.3)
        clients = pick_clients(rng, {"sdk_python": 6, "browser": 2, "sdk_node": 2}, n)
        emit(
            sim,
            rng,
            pop,
            crew,
            owner,
            ts,
            text,
            task,
            np.ones(m, bool),
            clients[owner],
            ip,
            cr.harvest_params(rng),
            0.01,
        )
        sim.campaign(name, "multilingual_coercion", {"accounts": n, "languages": len(langs)})


@dataclass
class _BareTasks:
    """An operation that sends the bare tasks of a curriculum as prompts and
    puts its demand for the reasoning elsewhere: its crew, and per request
    the account (``owner``), time, task record (``q``), text and task."""

    crew: cr.Crew
    owner: np.ndarray
    ts: np.ndarray
    q: np.ndarray
    text: np.ndarray
    task: np.ndarray

    @property
    def m(self) -> int:
        return len(self.owner)

    @classmethod
    def draw(
        cls,
        sim: Sim,
        rng: Rng,
        style: str,
        name: str,
        share: float,
        tiers: dict[str, float],
        shared_pay: float,
    ) -> _BareTasks:
        n = int(np.clip(round(share / 250), 8, 2000))
        crew = cr.crew(
            sim,
            rng,
            style,
            name,
            n,
            tiers=tiers,
            verified=0.1,
            aged=0.3,
            bursts=max(1, n // 60),
            shared_pay=shared_pay,
        )
        owner, ts = _account_runs(
            sim, rng, crew, kit.counts(rng, int(share), n, 0.6), (1, 6), 0.25, 0.8, tm.FLAT_HOURS
        )
        q = cr.sweep(sim, rng, ts, cr.sweep_order(rng), 1)
        return cls(crew, owner, ts, q, q.astype(np.int32).copy(), cr.tasks_of(sim, q))

    def keep_to(self, rng: Rng, pool: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The operation's few texts of ``pool``, and per request the one its
        account uses: each account keeps to one or two of them."""
        n = self.crew.n
        ours = rng.choice(len(pool), size=int(rng.integers(2, 5)), replace=False)
        first, second = ours[rng.integers(0, len(ours), n)], ours[rng.integers(0, len(ours), n)]
        owner = self.owner
        return ours, pool[np.where(rng.random(self.m) < 0.8, first[owner], second[owner])]

    def mix_chat(self, sim: Sim, rng: Rng) -> np.ndarray:
        """Make some requests ordinary chat; returns which."""
        chat = rng.random(self.m) < float(rng.uniform(0.05, 0.2))
        self.text[chat], self.task[chat] = group_mix(sim, rng, int(chat.sum()), CHAT_MIX)
        return chat


def system_coercion(sim: Sim, rng: Rng, budget: int, pop: int, campaigns: int) -> None:
    """The demand for full reasoning moves into the system instruction (a few
    per operation, in several languages); the prompts are the bare tasks,
    with some ordinary requests mixed in."""
    instructions = np.asarray([sim.texts.intern(t) for t in ph.SYSTEM_COERCE], np.int32)
    for c, share in enumerate(kit.split(rng, budget, campaigns, 6.0)):
        name = f"system_coercion-{c + 1}"
        op = _BareTasks.draw(sim, rng, "system_coercion", name, share, {"free": 3, "payg": 7}, 0.25)
        crew, owner, ts, m, text, task = op.crew, op.owner, op.ts, op.m, op.text, op.task
        n = crew.n
        ours, system = op.keep_to(rng, instructions)
        chat = op.mix_chat(sim, rng)
        system = np.where(chat & (rng.random(m) < 0.5), -1, system)
        # Some stamp each request's instruction with a time or a request id,
        # as applications do, or disguise it anew in each request, so that
        # no two requests share one.
        how = str(rng.choice(["", "time", "request", "disguise"], p=[0.3, 0.25, 0.25, 0.2]))
        if how:
            system = stamped(sim, rng, system, ts, how)
        ip = _proxied(sim, rng, m, max(40, m // 4), max(10, m // 100), 0.4)
        clients = pick_clients(rng, {"sdk_python": 6, "sdk_node": 3, "go": 1}, n)
        emit(
            sim,
            rng,
            pop,
            crew,
            owner,
            ts,
            text,
            task,
            system >= 0,
            clients[owner],
            ip,
            cr.harvest_params(rng),
            0.01,
            system=system,
        )
        sim.campaign(
            name,
            "system_coercion",
            {"accounts": n, "instructions": len(ours), "stamped": how or "no"},
        )


def priming_coercion(sim: Sim, rng: Rng, budget: int, pop: int, campaigns: int) -> None:
    """The demand for full reasoning moves into an earlier user turn: each
    request is a short conversation that opens with a standing instruction
    or a worked example to copy (``ph.PRIMING``), the model's acknowledgement,
    now and then an earlier task and its answer, and the bare task last. No
    prompt and no system instruction asks for anything; some ordinary
    requests are mixed in."""
    primes = np.asarray([sim.texts.intern(t) for t in ph.PRIMING], np.int32)
    acks = np.asarray([sim.texts.intern(t) for t in ph.PRIMING_ACK], np.int32)
    answers = assistant_pool(sim, rng)
    for c, share in enumerate(kit.split(rng, budget, campaigns, 6.0)):
        name = f"priming_coercion-{c + 1}"
        op = _BareTasks.draw(sim, rng, "priming_coercion", name, share, {"free": 4, "payg": 6}, 0.2)
        crew, owner, ts, m, text, task = op.crew, op.owner, op.ts, op.m, op.text, op.task
        n, q = crew.n, op.q
        ours, opening = op.keep_to(rng, primes)
        chat = op.mix_chat(sim, rng)
        primed = np.flatnonzero(~chat)
        k = len(primed)
        # [opening, ack, task] or [opening, ack, earlier task, its answer, task]
        longer = rng.random(k) < 0.3
        lengths = np.where(longer, 5, 3)
        width = 5
        turns = np.full((k, width), -1, np.int32)
        turns[:, 0] = opening[primed]
        turns[:, 1] = acks[rng.integers(0, len(acks), k)]
        turns[:, 2] = np.where(longer, q[rng.integers(0, m, k)], text[primed])
        turns[:, 3] = answers[rng.integers(0, len(answers), k)]
        turns[:, 4] = text[primed]
        flat = turns[np.arange(width)[None, :] < lengths[:, None]]
        conv = np.full(m, -1, np.int32)
        conv[primed] = sim.convs.add_many(flat, lengths)
        text[primed] = -1
        ip = _proxied(sim, rng, m, max(40, m // 4), max(10, m // 100), 0.4)
        clients = pick_clients(rng, {"sdk_python": 6, "sdk_node": 3, "go": 1}, n)
        emit(
            sim,
            rng,
            pop,
            crew,
            owner,
            ts,
            text,
            task,
            ~chat,
            clients[owner],
            ip,
            cr.harvest_params(rng),
            0.01,
            conv,
        )
        sim.campaign(name, "priming_coercion", {"accounts": n, "openings": len(ours)})


def model_pivot(sim: Sim, rng: Rng, budget: int, pop: int, campaigns: int) -> None:
    for c, share in enumerate(kit.split(rng, budget, campaigns, 6.0)):
        name = f"model_pivot-{c + 1}"
        n = int(np.clip(round(share / 600), 6, 500))
        crew = cr.crew(
            sim,
            rng,
            "model_pivot",
            name,
            n,
            tiers={"payg": 6, "enterprise": 2, "research": 0.5, "free": 1},
            verified=0.35,
            aged=0.6,
            shared_pay=0.5,
            shells=0.3,
        )
        owner = kit.owners(kit.counts(rng, int(share), n, 0.5))
        m = len(owner)
        # A third of the volume before the release, the rest surging right after it.
        lo = np.maximum(crew.acc.created_at[owner], sim.clock.start)
        after = (rng.random(m) < 0.65) | (lo >= sim.release - tm.HOUR)
        surge = np.maximum(lo, sim.release) + (rng.gamma(1.5, 10.0, m) * tm.HOUR).astype(np.int64)
        before = sim.clock.rhythm(rng, crew.tz[owner], tm.FLAT_HOURS, tm.FLAT_WEEK, lo, sim.release)
        ts = np.where(after, surge, before)
        q = cr.sweep(
            sim,
            rng,
            ts,
            (
                "MATH",
                "olympiadbench",
                "aime24",
                "amc23",
                "humaneval",
                "mbpp",
                "codealpaca",
                "ifeval",
            ),
            int(rng.integers(1, 3)),
        )
        text, elicit = harvest_texts(sim, rng, q, 2)
        machines = kit.AccountIps.draw(
            rng, sim, HOSTING, world.pick(rng, world.CLOUD, n), rng.integers(1, 4, n)
        )
        pool = sim.ips.add_mixed(RESIDENTIAL, world.pick(rng, cr.PROXY_COUNTRIES, max(50, m // 4)))
        ip = np.where(
            (rng.random(n) < 0.6)[owner],
            machines.sticky(rng, owner, 0.8),
            pool[rng.integers(0, len(pool), m)],
        )
        clients = pick_clients(rng, {"sdk_python": 7, "sdk_node": 3}, n)
        emit(
            sim,
            rng,
            pop,
            crew,
            owner,
            ts,
            text,
            cr.tasks_of(sim, q),
            elicit,
            clients[owner],
            ip,
            cr.harvest_params(rng),
            0.02,
            adopt=0.8,
            tau_h=4.0,
        )
        sim.campaign(
            name,
            "model_pivot",
            {"accounts": n, "share_after_release": 0.65, "adoption": 0.8, "adoption_hours": 4},
        )


def rubric_grading(sim: Sim, rng: Rng, budget: int, pop: int, campaigns: int) -> None:
    for c, share in enumerate(kit.split(rng, budget, campaigns, 6.0)):
        name = f"rubric_grading-{c + 1}"
        n = int(np.clip(round(share / 800), 4, 200))
        crew = cr.crew(
            sim,
            rng,
            "rubric_grading",
            name,
            n,
            tiers={"payg": 7, "enterprise": 3},
            verified=0.3,
            aged=0.4,
            shared_pay=0.5,
            shells=0.5,
            catchall=0.0,
        )
        owner, ts = _account_runs(
            sim, rng, crew, kit.counts(rng, int(share), n, 0.4), (2, 4), 0.5, 0.4, tm.FLAT_HOURS
        )
        m = len(owner)
        q = sim.corpus.pick(rng, sim.corpus.group("math", "math_hard", "chat", "instruct"), m)
        text = judge(sim, rng, q, ph.RUBRIC)
        machines = kit.AccountIps.draw(
            rng, sim, HOSTING, world.pick(rng, world.CLOUD, n), rng.integers(1, 4, n)
        )
        client = pick_clients(rng, {"sdk_python": 1}, 2)
        emit(
            sim,
            rng,
            pop,
            crew,
            owner,
            ts,
            text,
            np.full(m, JUDGE, np.int8),
            np.ones(m, bool),
            client[(rng.random(m) < 0.3).astype(np.int64)],
            machines.sticky(rng, owner, 0.9),
            cr.harvest_params(rng),
            0.02,
        )
        sim.campaign(name, "rubric_grading", {"accounts": n})
