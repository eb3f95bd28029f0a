"""Small vectorised samplers shared by the populations."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from distillguard.simulate import _world as world
from distillguard.simulate._clients import API
from distillguard.simulate._frame import EFFORTS, Block
from distillguard.simulate._ids import hex_ids
from distillguard.simulate._net import Kind
from distillguard.simulate._sim import Sim
from distillguard.simulate._timing import DAY, HOUR

Options = Mapping[Any, float]

#: What people and apps ask of reasoning models: room to think.
REASONING_BUDGETS: Options = {None: 3, 4096: 1, 8192: 2, 16384: 2.5, 32768: 1.5}


def counts(rng: np.random.Generator, total: int, n: int, sigma: float) -> np.ndarray:
    """Events per account: at least one each, the rest spread by lognormal
    weights (``sigma`` sets how heavy the tail is)."""
    n = max(1, min(n, total))
    w = rng.lognormal(0.0, sigma, n)
    return 1 + rng.multinomial(total - n, w / w.sum())


def owners(per_account: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(per_account), dtype=np.int32), per_account)


def split(
    rng: np.random.Generator, total: int, parts: int, concentration: float = 4.0
) -> np.ndarray:
    """``total`` split into ``parts`` random, roughly comparable shares."""
    if parts <= 1:
        return np.asarray([total])
    w = rng.dirichlet(np.full(parts, concentration))
    return rng.multinomial(total, w)


def fingerprints(rng: np.random.Generator, n: int) -> np.ndarray:
    return (
        np.asarray(hex_ids(rng, n, "", 32).to_pylist(), dtype=object) if n else np.empty(0, object)
    )


def _draw(rng: np.random.Generator, n: int, options: Options) -> np.ndarray:
    w = np.asarray(list(options.values()), np.float64)
    return rng.choice(len(w), size=n, p=w / w.sum())


def choice(rng: np.random.Generator, n: int, options: Options) -> np.ndarray:
    """Values of ``options`` (value -> weight), as an object array."""
    out: np.ndarray = np.asarray(list(options), dtype=object)[_draw(rng, n, options)]
    return out


def fchoice(rng: np.random.Generator, n: int, options: Options) -> np.ndarray:
    """Floats from ``options``; ``None`` becomes NaN."""
    keys = np.asarray([np.nan if k is None else float(k) for k in options], np.float64)
    out: np.ndarray = keys[_draw(rng, n, options)]
    return out


def ichoice(rng: np.random.Generator, n: int, options: Options) -> np.ndarray:
    """Integers from ``options``; ``None`` becomes -1."""
    keys = np.asarray([-1 if k is None else int(k) for k in options], np.int64)
    out: np.ndarray = keys[_draw(rng, n, options)]
    return out


def bools(rng: np.random.Generator, n: int, p_true: float, p_absent: float = 0.0) -> np.ndarray:
    """int8 flags: 1 with ``p_true``, -1 (absent) with ``p_absent``, else 0."""
    u = rng.random(n)
    return np.where(u < p_absent, -1, np.where(u < p_absent + p_true, 1, 0)).astype(np.int8)


def created(
    rng: np.random.Generator,
    sim: Sim,
    n: int,
    old_days: tuple[float, float] = (900, 20),
    new_share: float = 0.0,
) -> np.ndarray:
    """Sign-up times: most between ``old_days`` before the window, ``new_share``
    of them inside its first 70 %."""
    start = sim.clock.start
    lo, hi = start - int(old_days[0] * DAY), start - int(old_days[1] * DAY)
    out = rng.integers(lo, hi, n)
    new = rng.random(n) < new_share
    span = int((sim.clock.end - start) * 0.7)
    out[new] = start + rng.integers(0, span, int(new.sum()))
    return out


def bursts(
    rng: np.random.Generator,
    sim: Sim,
    n: int,
    n_bursts: int,
    within_min: float,
    lo_days: float = -25,
    hi_frac: float = 0.4,
) -> np.ndarray:
    """Sign-ups in bursts: ``n_bursts`` moments, accounts minutes apart around each."""
    start, end = sim.clock.start, sim.clock.end
    centres = rng.integers(
        start + int(lo_days * DAY), start + int((end - start) * hi_frac), n_bursts
    )
    which = rng.integers(0, n_bursts, n)
    return centres[which] + (rng.exponential(within_min * 60, n) * 1e6).astype(np.int64)


def payments(
    rng: np.random.Generator, paying: np.ndarray, shared: float = 0.0, pool: int = 1
) -> np.ndarray:
    """A payment fingerprint for each paying account (``None`` otherwise);
    ``shared`` of them reuse one of ``pool`` instruments."""
    n = len(paying)
    out = np.full(n, None, dtype=object)
    own = fingerprints(rng, n)
    common = fingerprints(rng, max(pool, 1))
    reuse = rng.random(n) < shared
    out[paying] = own[paying]
    both = paying & reuse
    out[both] = common[rng.integers(0, len(common), int(both.sum()))]
    return out


def statuses(rng: np.random.Generator, n: int, throttle: float, error: float = 0.004) -> np.ndarray:
    u = rng.random(n)
    out = np.full(n, 200, np.int16)
    out[u < throttle] = 429
    err = (u >= throttle) & (u < throttle + error)
    out[err] = np.asarray([400, 400, 500, 502, 503, 408], np.int16)[
        rng.integers(0, 6, int(err.sum()))
    ]
    return out


def models(
    rng: np.random.Generator,
    sim: Sim,
    ts: np.ndarray,
    before: Mapping[str, float],
    adopt: float,
    tau_h: float,
    owner: np.ndarray | None = None,
    loyalty: float = 0.8,
) -> np.ndarray:
    """A model per request from ``before``; after the release the new model
    takes over ``adopt`` of the traffic within about ``tau_h`` hours.

    With ``owner`` (each request's account, local index) every account has a
    favourite model it uses for ``loyalty`` of its requests, and ``adopt`` of
    the accounts move to the new model, each at its own moment."""
    names = list(before)
    w = np.asarray(list(before.values()), np.float64)
    p = w / w.sum()
    base = np.asarray([world.MODEL_NAMES.index(m) for m in names], np.int8)
    n = len(ts)
    out: np.ndarray = base[rng.choice(len(names), size=n, p=p)]
    if owner is None:
        age_h = (ts - sim.release) / HOUR
        p_new = np.where(age_h >= 0, adopt * (1 - np.exp(-np.maximum(age_h, 0) / tau_h)), 0.0)
        out[rng.random(n) < p_new] = world.NEW_MODEL
        return out
    n_acct = int(owner.max()) + 1 if n else 0
    favourite = base[rng.choice(len(names), size=n_acct, p=p)]
    out = np.where(rng.random(n) < loyalty, favourite[owner], out)
    switch = sim.release + (rng.exponential(tau_h, n_acct) * HOUR).astype(np.int64)
    moved = (rng.random(n_acct) < adopt)[owner] & (ts >= switch[owner]) & (rng.random(n) < 0.9)
    out[moved] = world.NEW_MODEL
    return out


def endpoints(rng: np.random.Generator, clients: np.ndarray, responses: float = 0.2) -> np.ndarray:
    """The endpoint each client calls: Anthropic SDKs ``messages``, others mostly
    ``chat.completions``, some ``responses``."""
    api = API[clients]
    out = np.where(rng.random(len(clients)) < responses, world.EP_RESPONSES, world.EP_CHAT)
    out = np.where(api == "anthropic", world.EP_MESSAGES, out)
    return out.astype(np.int8)


@dataclass(frozen=True, slots=True)
class AccountIps:
    """Addresses owned by each account: ``pool[first[a] : first[a] + count[a]]``."""

    pool: np.ndarray
    first: np.ndarray
    count: np.ndarray

    @classmethod
    def draw(
        cls,
        rng: np.random.Generator,
        sim: Sim,
        kind: Kind,
        countries: np.ndarray,
        count: np.ndarray,
    ) -> AccountIps:
        pool = sim.ips.add_mixed(kind, np.repeat(countries, count))
        return cls(pool, np.r_[0, np.cumsum(count)[:-1]], count)

    def sticky(self, rng: np.random.Generator, owner: np.ndarray, main: float = 0.8) -> np.ndarray:
        """Mostly the account's first address, sometimes one of its others."""
        other = (rng.random(len(owner)) * self.count[owner]).astype(np.int64)
        k = np.where(rng.random(len(owner)) < main, 0, other)
        return self._at(owner, k)

    def _at(self, owner: np.ndarray, k: np.ndarray) -> np.ndarray:
        out: np.ndarray = self.pool[self.first[owner] + k]
        return out

    def uniform(self, rng: np.random.Generator, owner: np.ndarray) -> np.ndarray:
        """Any of the account's addresses, evenly (a rotating pool)."""
        k = (rng.random(len(owner)) * self.count[owner]).astype(np.int64)
        return self._at(owner, k)

    def by_day(self, sim: Sim, owner: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """A new address each day (sticky proxy sessions), cycling through the account's."""
        day = (ts - sim.clock.start) // DAY
        return self._at(owner, day % self.count[owner])


def mix_ips(rng: np.random.Generator, a: np.ndarray, b: np.ndarray, share_b: float) -> np.ndarray:
    return np.where(rng.random(len(a)) < share_b, b, a)


@dataclass(frozen=True, slots=True)
class Params:
    """Sampling parameters of a population. With ``per_account`` each account
    (its client code) keeps one setting and ``vary`` of its requests deviate;
    otherwise every request draws afresh."""

    temperature: Options
    max_tokens: Options
    top_p: Options = field(default_factory=lambda: {None: 1.0})
    n: Options = field(default_factory=lambda: {None: 1.0})
    effort: Options = field(default_factory=lambda: {None: 1.0})
    stream: tuple[float, float] = (0.3, 0.3)  # (share true, share absent)
    logprobs: tuple[float, float] = (0.0, 0.95)
    seed: float = 0.0  # share of requests with a seed
    #: Output budgets asked of reasoning models (they need room to think);
    #: ``None``: the same as ``max_tokens``.
    reasoning_max_tokens: Options | None = None
    per_account: bool = True
    vary: float = 0.1


def _per(
    rng: np.random.Generator,
    owner: np.ndarray,
    n_acct: int,
    p: Params,
    draw: Callable[[int], np.ndarray],
) -> np.ndarray:
    if not p.per_account:
        return draw(len(owner))
    out: np.ndarray = draw(n_acct)[owner]
    vary = rng.random(len(owner)) < p.vary
    out[vary] = draw(int(vary.sum()))
    return out


def apply_params(
    rng: np.random.Generator, b: Block, owner: np.ndarray, n_acct: int, p: Params
) -> None:
    """Fill the sampling parameters of ``b`` (models must be set already)."""
    b.temperature = _per(rng, owner, n_acct, p, lambda k: fchoice(rng, k, p.temperature))
    b.top_p = _per(rng, owner, n_acct, p, lambda k: fchoice(rng, k, p.top_p))
    b.max_tokens = _per(rng, owner, n_acct, p, lambda k: ichoice(rng, k, p.max_tokens))
    if p.reasoning_max_tokens is not None:
        opts = p.reasoning_max_tokens
        budget = _per(rng, owner, n_acct, p, lambda k: ichoice(rng, k, opts))
        b.max_tokens = np.where(world.REASONING[b.model], budget, b.max_tokens)
    b.n = _per(rng, owner, n_acct, p, lambda k: ichoice(rng, k, p.n))
    b.stream = _per(rng, owner, n_acct, p, lambda k: bools(rng, k, p.stream[0], p.stream[1]))
    b.logprobs = _per(rng, owner, n_acct, p, lambda k: bools(rng, k, p.logprobs[0], p.logprobs[1]))
    effort = _per(rng, owner, n_acct, p, lambda k: ichoice(rng, k, _effort_codes(p.effort)))
    b.effort = np.where(world.REASONING[b.model], effort, -1).astype(np.int8)
    seeded = rng.random(len(owner)) < p.seed
    b.seed = np.where(seeded, rng.integers(0, 2**31 - 1, len(owner)), -1)
    b.seed[seeded & (rng.random(len(owner)) < 0.6)] = 42


def _effort_codes(options: Options) -> dict[Any, float]:
    return {(None if k is None else EFFORTS.index(str(k))): w for k, w in options.items()}


def fit_runs(
    rng: np.random.Generator,
    sim: Sim,
    count: np.ndarray,
    interval_s: np.ndarray,
    hours: np.ndarray,
    week: np.ndarray,
    tz: np.ndarray,
    lo: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Start times for runs of ``count`` requests, one per ``interval_s`` seconds,
    so that each run ends inside the window (intervals shrink when a run would
    not fit). Returns (start, interval)."""
    window = sim.clock.end - sim.clock.start
    duration = count * interval_s * 1e6
    interval = np.where(
        duration > 0.9 * window, 0.9 * window / np.maximum(count, 1) / 1e6, interval_s
    )
    duration = (count * interval * 1e6).astype(np.int64)
    hi = np.maximum(sim.clock.end - duration, sim.clock.start + 1)
    start = sim.clock.rhythm(rng, tz, hours, week, lo, hi)
    return start, interval
