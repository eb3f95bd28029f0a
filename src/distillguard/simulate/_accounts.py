"""Account records for people, organisations and operators.

Attackers get their records from the same functions as customers, with other
weights: a shell company looks like any small company, a bought account like
any old personal account.
"""

from __future__ import annotations

import numpy as np

from distillguard.simulate import _kit as kit
from distillguard.simulate import _world as world
from distillguard.simulate._frame import Accounts
from distillguard.simulate._sim import Sim


def people(
    rng: np.random.Generator,
    sim: Sim,
    population: str,
    countries: np.ndarray,
    *,
    created: np.ndarray,
    tiers: kit.Options,
    verified: float = 0.05,
    disposable: float = 0.005,
    campaign: list[str | None] | None = None,
    shared_payment: float = 0.03,
    payment_pool: int = 0,
    declared_noise: float = 0.05,
) -> Accounts:
    """Individuals: free-mail addresses, no organisation."""
    n = len(countries)
    tier = kit.choice(rng, n, tiers).astype(str)
    paying = tier != "free"
    pool = payment_pool or max(1, n // 3)
    declared = countries.copy()
    moved = rng.random(n) < declared_noise
    declared[moved] = world.pick(rng, world.CONSUMER, int(moved.sum()))
    acc = Accounts(
        population=population,
        campaign=campaign if campaign is not None else [None] * n,
        created_at=created,
        email_domain=world.consumer_emails(rng, countries, disposable),
        payment=kit.payments(rng, paying, shared_payment, pool),
        country=declared,
        org_name=np.full(n, None, dtype=object),
        parent=np.full(n, None, dtype=object),
        tier=tier,
        verified=rng.random(n) < verified,
        keys=kit.ichoice(rng, n, {1: 7, 2: 2.5, 3: 0.5}).astype(np.int32),
    )
    return sim.register(acc)


def organisations(
    rng: np.random.Generator,
    sim: Sim,
    population: str,
    countries: np.ndarray,
    per_org: np.ndarray,
    *,
    created: np.ndarray,
    tiers: kit.Options,
    verified: float,
    keys: kit.Options,
    campaign: list[str | None] | None = None,
    holding: float = 0.15,
    own_domain: float = 0.95,
    names: list[str] | None = None,
    domains: list[str] | None = None,
) -> tuple[Accounts, np.ndarray]:
    """Organisations (one per entry of ``countries``) with ``per_org`` accounts
    each. Accounts of one organisation share its domain, payment instrument and
    parent. Returns the accounts and each account's organisation index."""
    n_org = len(countries)
    if names is None or domains is None:
        names, domains = world.org_names(rng, countries)
    org_tier = kit.choice(rng, n_org, tiers).astype(str)
    org_pay = kit.fingerprints(rng, n_org)
    parents = np.asarray(names, dtype=object)
    group = rng.random(n_org) < holding
    if group.any():
        holdings, _ = world.org_names(rng, countries[group])
        parents[group] = [h.split(" ")[0] + " Holdings" for h in holdings]
    org = np.repeat(np.arange(n_org), per_org)
    n = len(org)
    email = np.asarray(domains, dtype=object)[org]
    free = rng.random(n) >= own_domain
    email[free] = world.consumer_emails(rng, countries[org][free])
    pay = org_pay[org].copy()
    pay[org_tier[org] == "free"] = None
    acc = Accounts(
        population=population,
        campaign=campaign if campaign is not None else [None] * n,
        created_at=created[org] + rng.integers(0, 30 * 86_400_000_000, n) * (rng.random(n) < 0.5),
        email_domain=email,
        payment=pay,
        country=countries[org],
        org_name=np.asarray(names, dtype=object)[org],
        parent=parents[org],
        tier=org_tier[org],
        verified=(rng.random(n_org) < verified)[org],
        keys=kit.ichoice(rng, n, keys).astype(np.int32),
    )
    acc.created_at = np.minimum(acc.created_at, sim.clock.end - 3_600_000_000)
    return sim.register(acc), org
