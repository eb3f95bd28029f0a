"""Benign individuals: chat users, developers, multilingual users and students."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from distillguard.simulate import _kit as kit
from distillguard.simulate import _phrases as ph
from distillguard.simulate import _timing as tm
from distillguard.simulate import _world as world
from distillguard.simulate._accounts import people
from distillguard.simulate._clients import pick_clients
from distillguard.simulate._conv import follow_up_pool, threads
from distillguard.simulate._frame import (
    CHAT,
    CODE,
    INSTRUCT,
    JUDGE,
    MATH,
    MATH_HARD,
    ROLE,
    SHORT,
    Block,
)
from distillguard.simulate._net import HOSTING, RESIDENTIAL
from distillguard.simulate._sim import Sim
from distillguard.simulate._text import casual, judge, native, with_suffix, wrap

Rng = np.random.Generator

#: group -> (task code, casual noise share)
_TASK = {
    "chat": (CHAT, 0.35),
    "query": (SHORT, 0.2),
    "role": (ROLE, 0.0),
    "redteam": (CHAT, 0.1),
    "math": (MATH, 0.3),
    "math_hard": (MATH_HARD, 0.1),
    "code": (CODE, 0.1),
    "instruct": (INSTRUCT, 0.2),
    "batch": (INSTRUCT, 0.0),
    "raw": (INSTRUCT, 0.0),
}

CONSUMER_MODELS = {
    "lumen-1-mini": 3.0,
    "lumen-1": 4.0,
    "lumen-1-reasoner": 2.5,
    "lumen-1-reasoner-mini": 1.0,
}
CONSUMER_PARAMS = kit.Params(
    temperature={None: 6, 0.7: 2, 1.0: 1.5, 0.5: 0.5, 0.8: 0.5, 1.2: 0.2, 0.0: 0.3},
    max_tokens={None: 4, 1024: 1, 2048: 2, 4096: 2, 8192: 0.6, 16384: 0.2, 32768: 0.05},
    top_p={None: 9, 0.9: 0.5, 1.0: 0.5},
    effort={None: 6, "low": 1, "medium": 2, "high": 1},
    reasoning_max_tokens=kit.REASONING_BUDGETS,
    stream=(0.8, 0.1),
    logprobs=(0.0, 0.97),
    vary=0.08,
)


def group_mix(
    sim: Sim, rng: Rng, n: int, mix: Mapping[str, float], zipf: float = 0.6
) -> tuple[np.ndarray, np.ndarray]:
    """(record, task code) per request from corpus groups by weight; groups the
    corpus lacks fall back to ``chat``."""
    groups = list(mix)
    which = kit.choice(rng, n, mix)
    rec = np.empty(n, np.int32)
    task = np.empty(n, np.int8)
    for g in groups:
        where = np.flatnonzero(which == g)
        pool = sim.corpus.group(g)
        if len(pool) == 0:
            pool = sim.corpus.group("chat")
        recs = sim.corpus.pick(rng, pool, len(where), zipf)
        rec[where] = casual(sim, rng, recs, _TASK[g][1]) if _TASK[g][1] else recs
        task[where] = _TASK[g][0]
    return rec, task


def _block(
    sim: Sim, rng: Rng, pop: int, acc_index: np.ndarray, owner: np.ndarray, ts: np.ndarray
) -> Block:
    b = Block.empty(len(owner))
    b.ts, b.acct, b.pop[:] = ts, acc_index[owner], pop
    return b


def _clients(
    rng: Rng, owner: np.ndarray, n_acct: int, fams: dict[str, float], second: float = 0.3
) -> np.ndarray:
    a, c = pick_clients(rng, fams, n_acct), pick_clients(rng, fams, n_acct)
    use_b = (rng.random(n_acct) < second)[owner] & (rng.random(len(owner)) < 0.35)
    out: np.ndarray = np.where(use_b, c[owner], a[owner]).astype(np.int32)
    return out


def _home_ips(
    rng: Rng, sim: Sim, owner: np.ndarray, countries: np.ndarray, vpn: float
) -> np.ndarray:
    n = len(countries)
    home = kit.AccountIps.draw(
        rng, sim, RESIDENTIAL, countries, kit.ichoice(rng, n, {1: 4, 2: 3, 3: 2, 4: 1})
    )
    ips = home.sticky(rng, owner, 0.75)
    on_vpn = rng.random(n) < vpn
    if on_vpn.any():
        vpn_c = world.pick(rng, world.CLOUD, int(on_vpn.sum()))
        v = kit.AccountIps.draw(rng, sim, HOSTING, vpn_c, np.ones(len(vpn_c), np.int64) * 2)
        slot = np.cumsum(on_vpn) - 1
        use = on_vpn[owner] & (rng.random(len(owner)) < 0.7)
        ips[use] = v.sticky(rng, slot[owner[use]], 0.8)
    return sim.ips.via_carrier_nat(rng, countries[owner], ips, 0.15)


def _debug_repeats(rng: Rng, sess: np.ndarray, ts: np.ndarray, share: float) -> np.ndarray:
    """Developers debugging: ``share`` of requests resend the previous request
    of the same session unchanged. Returns the request each one copies."""
    order = np.lexsort((ts, sess))
    s = sess[order]
    again = np.r_[False, (s[1:] == s[:-1]) & (rng.random(len(s) - 1) < share)]
    src = np.maximum.accumulate(np.where(again, 0, np.arange(len(s))))
    out = np.empty(len(s), np.int64)
    out[order] = order[src]
    return out


def chat_user(sim: Sim, rng: Rng, budget: int, pop: int) -> None:
    n = max(10, round(budget / (4.0 * sim.days)))
    countries = world.pick(rng, world.CONSUMER, n)
    acc = people(
        rng,
        sim,
        "chat_user",
        countries,
        tiers={"free": 7, "payg": 3},
        created=kit.created(rng, sim, n, new_share=0.08),
    )
    per = kit.counts(rng, budget, len(acc), 1.1)
    owner = kit.owners(per)
    tz = world.tz_offsets(rng, countries)
    ts, sess = tm.sessions(
        rng, sim.clock, owner, tz, tm.HUMAN_HOURS, tm.HUMAN_WEEK, 3.0, 50.0, lo=acc.created_at
    )
    b = _block(sim, rng, pop, acc.index, owner, ts)
    rec, b.task = group_mix(
        sim,
        rng,
        len(owner),
        {
            "chat": 48,
            "query": 10,
            "role": 6,
            "redteam": 4,
            "math": 11,
            "math_hard": 2,
            "code": 6,
            "instruct": 6,
        },
    )
    b.text, b.conv = threads(sim, rng, sess, ts, rec, 0.45, follow_up_pool(sim))
    b.client = _clients(rng, owner, n, {"browser": 65, "app": 30, "sdk_python": 3, "curl": 2})
    b.ip = _home_ips(rng, sim, owner, countries, vpn=0.06)
    b.model = kit.models(rng, sim, ts, CONSUMER_MODELS, 0.35, 12.0, owner)
    b.endpoint = kit.endpoints(rng, b.client, 0.1)
    kit.apply_params(rng, b, owner, n, CONSUMER_PARAMS)
    persona = (rng.random(n) < 0.2)[owner]
    roles = sim.corpus.group("role")
    if len(roles):
        per_acct = sim.corpus.pick(rng, roles, n)
        b.system = np.where(persona, per_acct[owner], -1).astype(np.int32)
    b.status = kit.statuses(rng, len(owner), 0.002)
    b.key = acc.pick_keys(rng, owner)
    sim.emit(b)


def developer(sim: Sim, rng: Rng, budget: int, pop: int) -> None:
    n = max(8, round(budget / (12.0 * sim.days)))
    countries = world.pick(rng, world.CONSUMER | {"US": 35, "DE": 6, "IN": 12}, n)
    acc = people(
        rng,
        sim,
        "developer",
        countries,
        tiers={"payg": 7, "free": 2.5, "enterprise": 0.5},
        verified=0.3,
        created=kit.created(rng, sim, n, new_share=0.12),
        shared_payment=0.02,
    )
    per = kit.counts(rng, budget, len(acc), 1.3)
    owner = kit.owners(per)
    tz = world.tz_offsets(rng, countries)
    ts, sess = tm.sessions(
        rng, sim.clock, owner, tz, tm.WORK_HOURS, tm.WORK_WEEK, 6.0, 20.0, lo=acc.created_at
    )
    b = _block(sim, rng, pop, acc.index, owner, ts)
    m = len(owner)
    rec, b.task = group_mix(
        sim,
        rng,
        m,
        {"code": 32, "chat": 20, "instruct": 15, "math": 8, "batch": 8, "role": 4, "query": 3},
        zipf=0.3,
    )
    cot = rng.random(m) < 0.08
    rec[cot] = with_suffix(sim, rec[cot], ph.COT_SUFFIX, rng.integers(0, 7, int(cot.sum())))
    b.elicit = cot
    graded = rng.random(m) < 0.03
    rec[graded] = judge(sim, rng, rec[graded], ph.JUDGE)
    b.task[graded] = JUDGE
    same = _debug_repeats(rng, sess, ts, 0.3)
    rec, b.task, b.elicit = rec[same], b.task[same], b.elicit[same]
    b.text, b.conv = threads(sim, rng, sess, ts, rec, 0.15, follow_up_pool(sim))
    b.client = _clients(
        rng,
        owner,
        n,
        {
            "sdk_python": 55,
            "sdk_node": 20,
            "curl": 10,
            "go": 4,
            "java": 3,
            "browser": 5,
            "headless": 1,
            "app": 2,
        },
        0.5,
    )
    home = _home_ips(rng, sim, owner, countries, vpn=0.05)
    cloud_acct = rng.random(n) < 0.4
    cloud = kit.AccountIps.draw(
        rng, sim, HOSTING, world.pick(rng, world.CLOUD, n), kit.ichoice(rng, n, {1: 3, 2: 2, 4: 1})
    )
    use = cloud_acct[owner] & (rng.random(m) < 0.35)
    b.ip = np.where(use, cloud.sticky(rng, owner, 0.8), home)
    b.model = kit.models(
        rng, sim, ts, CONSUMER_MODELS | {"lumen-1-mini": 4.0}, 0.45, 6.0, owner, 0.6
    )
    b.endpoint = kit.endpoints(rng, b.client, 0.3)
    kit.apply_params(
        rng,
        b,
        owner,
        n,
        kit.Params(
            temperature={None: 3, 0.0: 2, 0.2: 1, 0.7: 2, 1.0: 1.5, 0.5: 0.5},
            max_tokens={
                None: 3,
                256: 1,
                512: 1,
                1024: 2,
                2048: 1.5,
                4096: 1.5,
                8192: 0.7,
                16384: 0.3,
            },
            n={None: 9, 1: 1, 2: 0.2, 4: 0.1},
            effort={None: 5, "low": 1, "medium": 2, "high": 1},
            reasoning_max_tokens=kit.REASONING_BUDGETS,
            stream=(0.4, 0.3),
            logprobs=(0.03, 0.9),
            seed=0.05,
            vary=0.25,
        ),
    )
    b.enduser = np.where(rng.random(m) < 0.03, sim.endusers(50) + rng.integers(0, 50, m), -1)
    b.status = kit.statuses(rng, m, 0.01, 0.008)
    b.key = acc.pick_keys(rng, owner)
    sim.emit(b)


def multilingual(sim: Sim, rng: Rng, budget: int, pop: int, student: bool) -> None:
    name = "multilingual_student" if student else "multilingual_user"
    langs = ("zh", "es", "de", "fr", "ja", "ru", "ko", "pt") if student else tuple(ph.NATIVE)
    n = max(12, round(budget / (3.0 * sim.days)))
    lang = kit.choice(rng, n, dict.fromkeys(langs, 1.0)).astype(str)
    countries = np.asarray([world.pick(rng, world.SPEAKERS[str(x)], 1)[0] for x in lang])
    acc = people(
        rng,
        sim,
        name,
        countries,
        tiers={"free": 8, "payg": 2},
        created=kit.created(rng, sim, n, new_share=0.2 if student else 0.08),
    )
    owner = kit.owners(kit.counts(rng, budget, n, 1.0))
    m = len(owner)
    tz = world.tz_offsets(rng, countries)
    hours = tm.EVENING_HOURS if student else tm.HUMAN_HOURS
    ts, sess = tm.sessions(
        rng, sim.clock, owner, tz, hours, tm.HUMAN_WEEK, 3.0, 70.0, lo=acc.created_at
    )
    b = _block(sim, rng, pop, acc.index, owner, ts)
    rec = np.empty(m, np.int32)
    b.task[:] = CHAT
    ev_lang = lang[owner]
    kind = kit.choice(
        rng,
        m,
        {"native": 1, "frame": 1, "plain": 0.3}
        if not student
        else {"student": 6, "native": 1, "plain": 0.5},
    ).astype(str)
    for lg in np.unique(ev_lang):
        lg = str(lg)
        where = ev_lang == lg
        for k in ("native", "frame", "plain", "student"):
            sel = np.flatnonzero(where & (kind == k))
            if len(sel) == 0:
                continue
            if k == "native" and lg in ph.NATIVE:
                rec[sel] = native(sim, rng, lg, len(sel))
            elif k == "frame" and lg in ph.FRAMES:
                q = sim.corpus.pick(rng, sim.corpus.group("chat", "raw", "query"), len(sel))
                frames = ph.FRAMES[lg]
                rec[sel] = wrap(sim, q, frames, rng.integers(0, len(frames), len(sel)))
            elif k == "student":
                q = sim.corpus.pick(rng, sim.corpus.group("math", "math_hard"), len(sel), 0.3)
                phr = ph.STUDENT[lg]
                rec[sel] = with_suffix(
                    sim, q, phr, rng.integers(0, len(phr), len(sel)), rng.random(len(sel)) < 0.6
                )
                b.task[sel] = MATH
                b.elicit[sel] = True
            else:
                rec[sel] = casual(
                    sim, rng, sim.corpus.pick(rng, sim.corpus.group("chat"), len(sel)), 0.3
                )
    b.text, b.conv = rec.copy(), np.full(m, -1, np.int32)
    for lg in np.unique(ev_lang):
        sel = np.flatnonzero(ev_lang == lg)
        pool = follow_up_pool(sim, lang=str(lg))
        b.text[sel], b.conv[sel] = threads(sim, rng, sess[sel], ts[sel], rec[sel], 0.35, pool, 0.2)
    b.client = _clients(rng, owner, n, {"browser": 60, "app": 38, "sdk_python": 2})
    b.ip = _home_ips(rng, sim, owner, countries, vpn=0.08)
    b.model = kit.models(
        rng,
        sim,
        ts,
        CONSUMER_MODELS | {"lumen-1-reasoner": 2.5 if student else 1.5},
        0.3,
        16.0,
        owner,
    )
    b.endpoint = kit.endpoints(rng, b.client, 0.1)
    kit.apply_params(rng, b, owner, n, CONSUMER_PARAMS)
    b.status = kit.statuses(rng, m, 0.002)
    b.key = acc.pick_keys(rng, owner)
    sim.emit(b)


def multilingual_user(sim: Sim, rng: Rng, budget: int, pop: int) -> None:
    multilingual(sim, rng, budget, pop, student=False)


def multilingual_student(sim: Sim, rng: Rng, budget: int, pop: int) -> None:
    multilingual(sim, rng, budget, pop, student=True)
