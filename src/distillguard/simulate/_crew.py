"""What every harvesting campaign shares: its accounts, the tasks it walks
through, and the sampling settings it asks for.

Accounts come from the same generators as customers'. Only the mix differs:
bought old accounts and fresh sign-ups in bursts, shell companies, cards
shared between some accounts (not all), catch-all domains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from distillguard.simulate import _kit as kit
from distillguard.simulate import _world as world
from distillguard.simulate._accounts import organisations, people
from distillguard.simulate._frame import CODE, INSTRUCT, MATH, MATH_HARD, Accounts
from distillguard.simulate._sim import Sim

Rng = np.random.Generator

MATH_SETS = (
    "gsm8k",
    "MATH",
    "svamp",
    "aqua",
    "olympiadbench",
    "gaokao2023en",
    "amc23",
    "aime24",
    "college_math",
    "minerva_math",
)
CODE_SETS = ("humaneval", "mbpp", "codealpaca")
INSTRUCT_SETS = ("ifeval", "self_instruct", "alpaca")
GROUP_TASK = {"math": MATH, "math_hard": MATH_HARD, "code": CODE, "instruct": INSTRUCT}

HARVEST_MODELS = {
    "lumen-1-reasoner": 5.0,
    "lumen-1-reasoner-mini": 2.0,
    "lumen-1": 1.5,
    "lumen-1-mini": 0.5,
}
PROXY_COUNTRIES = {
    "US": 25,
    "BR": 8,
    "IN": 8,
    "VN": 6,
    "ID": 6,
    "PH": 4,
    "MX": 4,
    "TR": 3,
    "DE": 3,
    "GB": 3,
    "FR": 2,
    "PL": 2,
    "TH": 3,
    "EG": 2,
    "NG": 2,
    "CO": 2,
    "AR": 2,
    "UA": 2,
    "RU": 2,
    "KR": 1,
    "JP": 1,
    "CA": 2,
    "IT": 2,
    "ES": 2,
    "MY": 1,
    "PK": 1,
    "BD": 1,
    "ZA": 1,
}
OPERATOR_DECLARED = {
    "US": 6,
    "SG": 3,
    "HK": 3,
    "GB": 2,
    "JP": 1,
    "KR": 1,
    "DE": 1,
    "CA": 1,
    "AE": 1,
    "MY": 1,
    "TW": 1,
}


def harvest_params(rng: Rng) -> kit.Params:
    """Settings of one campaign: long answers, reasoning effort, varied temperature."""
    temps: dict[float | int | str | None, float] = {
        0.0: 1,
        0.3: 1,
        0.6: 2,
        0.7: 2,
        0.8: 1,
        1.0: 2,
        1.2: 0.5,
        None: 2.5,
    }
    if rng.random() < 0.3:
        fixed = float(rng.choice([0.6, 0.7, 1.0]))
        temps = {fixed: 1.0}
    return kit.Params(
        temperature={k: v * rng.lognormal(0, 0.5) for k, v in temps.items()},
        max_tokens={4096: 1.5, 8192: 2, 16384: 2.5, 32768: 1.5, None: 1.5},
        n={None: 6, 1: 1, 2: 0.5, 4: 0.5, 8: 0.2},
        effort={"high": 4, "medium": 1.5, None: 1.5, "low": 0.3},
        stream=(0.3, 0.2),
        logprobs=(float(rng.choice([0.0, 0.05, 0.2])), 0.6),
        seed=0.1,
        per_account=False,
    )


@dataclass(slots=True)
class Crew:
    name: str
    acc: Accounts
    tz: np.ndarray  # the operator's working offset, per account

    @property
    def n(self) -> int:
        return len(self.acc)


def crew(
    sim: Sim,
    rng: Rng,
    style: str,
    name: str,
    n: int,
    *,
    tiers: kit.Options,
    verified: float,
    aged: float,
    bursts: int = 0,
    shared_pay: float = 0.3,
    shells: float = 0.0,
    catchall: float = 0.1,
    declared: dict[str, float] | None = None,
) -> Crew:
    """``n`` accounts of one campaign: ``aged`` of them old (bought), the rest
    signed up in ``bursts`` bursts (or spread over recent weeks)."""
    n_shell = round(n * shells)
    countries = world.pick(rng, declared or OPERATOR_DECLARED | world.CONSUMER, n - n_shell)
    created = (
        kit.bursts(rng, sim, n - n_shell, bursts, 15.0)
        if bursts
        else kit.created(rng, sim, n - n_shell, (120, 1), new_share=0.3)
    )
    old = rng.random(n - n_shell) < aged
    created[old] = kit.created(rng, sim, int(old.sum()), (900, 60))
    campaign: list[str | None] = [name] * (n - n_shell)
    acc = people(
        rng,
        sim,
        style,
        countries,
        created=created,
        tiers=tiers,
        verified=verified,
        disposable=0.03,
        campaign=campaign,
        shared_payment=shared_pay,
        payment_pool=max(2, n // 25),
        declared_noise=0.0,
    )
    if catchall:
        _, domains = world.org_names(rng, countries[:2])
        own = rng.random(len(acc)) < catchall
        acc.email_domain[own] = np.asarray(domains, dtype=object)[
            rng.integers(0, 2, int(own.sum()))
        ]
    if n_shell:
        shell_c = world.pick(rng, OPERATOR_DECLARED, max(1, n_shell // 3))
        per = kit.split(rng, n_shell - len(shell_c), len(shell_c)) + 1
        shell, _ = organisations(
            rng,
            sim,
            style,
            shell_c,
            per,
            created=kit.created(rng, sim, len(shell_c), (400, 5)),
            tiers=tiers,
            verified=verified,
            keys={1: 2, 2: 1, 4: 1},
            campaign=[name] * int(per.sum()),
            holding=0.5,
        )
        acc = _merge(acc, shell)
    tz = world.tz_offsets(rng, world.pick(rng, {"CN": 3, "RU": 1, "US": 1, "SG": 1, "KR": 1}, 1))
    return Crew(name, acc, np.full(len(acc), tz[0]))


def _merge(a: Accounts, b: Accounts) -> Accounts:
    """Two consecutive registrations of one campaign seen as one set."""
    assert b.first == a.first + len(a)

    def cat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.concatenate([x, y])

    merged = Accounts(
        population=a.population,
        campaign=a.campaign + b.campaign,
        created_at=cat(a.created_at, b.created_at),
        email_domain=cat(a.email_domain, b.email_domain),
        payment=cat(a.payment, b.payment),
        country=cat(a.country, b.country),
        org_name=cat(a.org_name, b.org_name),
        parent=cat(a.parent, b.parent),
        tier=cat(a.tier, b.tier),
        verified=cat(a.verified, b.verified),
        keys=cat(a.keys, b.keys),
        first=a.first,
        key_first=cat(a.key_first, b.key_first),
    )
    return merged


def sweep(sim: Sim, rng: Rng, ts: np.ndarray, sets: tuple[str, ...], reuse: int = 1) -> np.ndarray:
    """Tasks walked in order: the ``i``-th request (by time) of the campaign
    gets the ``i // reuse``-th record of ``sets`` concatenated in that order."""
    parts = [sim.corpus.dataset(s) for s in sets]
    pool = np.concatenate([p for p in parts if len(p)] or [sim.corpus.group("math")])
    order = np.argsort(ts, kind="stable")
    start = int(rng.integers(0, len(pool)))
    q = np.empty(len(ts), np.int32)
    q[order] = pool[(start + np.arange(len(ts)) // max(reuse, 1)) % len(pool)]
    return q


def sweep_order(rng: Rng) -> tuple[str, ...]:
    """A campaign's curriculum: maths first, then code and instruction following."""
    maths = list(MATH_SETS)
    rng.shuffle(maths[2:])
    tail = [*CODE_SETS, *INSTRUCT_SETS]
    rng.shuffle(tail)
    return (*maths, *tail)


def tasks_of(sim: Sim, q: np.ndarray) -> np.ndarray:
    groups = sim.corpus.groups[q]
    out = np.full(len(q), INSTRUCT, np.int8)
    for g, code in GROUP_TASK.items():
        out[groups == g] = code
    return out
