"""Client addresses: real IPv4 addresses of hosting or residential networks.

:func:`sample_ips` is the only way the simulator gets addresses; it draws from
the IP database the ingest enriches events with
(``distillguard.events.enrich.sample_ips``), so an address drawn as "hosting"
is enriched as hosting.
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np

from distillguard.events.enrich import sample_ips as _database_sample

Kind = Literal["hosting", "residential"]
HOSTING: Final = "hosting"
RESIDENTIAL: Final = "residential"


def sample_ips(kind: Kind, country: str | None, n: int, rng: np.random.Generator) -> list[str]:
    """``n`` real addresses of ``kind`` (``hosting`` or ``residential``) located
    in ``country`` (ISO 3166-1 alpha-2) where the database has such networks."""
    if n <= 0:
        return []
    try:
        return _database_sample(kind, country, n, rng)
    except ValueError:  # no such network in that country: anywhere will do
        return _database_sample(kind, None, n, rng)


#: Addresses fetched at a time per (kind, country): each database query has a
#: fixed cost, so they are drawn in batches and handed out in order.
BATCH = 1024


class IpPool:
    """All addresses used by one run; events refer to them by index."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng  # its own stream: what one population draws leaves the others alone
        self.addresses: list[str] = []
        self.hosting: list[bool] = []
        self.country: list[str] = []
        self._reserve: dict[tuple[str, str], list[str]] = {}
        self._nat: dict[str, np.ndarray] = {}

    def _draw(self, kind: Kind, country: str, n: int) -> list[str]:
        reserve = self._reserve.setdefault((kind, country), [])
        if len(reserve) < n:
            reserve += sample_ips(kind, country, max(BATCH, n - len(reserve)), self._rng)
        out = reserve[:n]
        del reserve[:n]
        return out

    def add(self, kind: Kind, country: str, n: int) -> np.ndarray:
        """Draw ``n`` addresses; return their indices in the pool."""
        ips = self._draw(kind, country, n)
        start = len(self.addresses)
        self.addresses += ips
        self.hosting += [kind == HOSTING] * len(ips)
        self.country += [country] * len(ips)
        return np.arange(start, start + len(ips), dtype=np.int32)

    def add_mixed(self, kind: Kind, countries: np.ndarray) -> np.ndarray:
        """One address per entry of ``countries`` (ISO codes), in that order."""
        out = np.empty(len(countries), np.int32)
        for country in np.unique(countries):
            where = np.flatnonzero(countries == country)
            out[where] = self.add(kind, str(country), len(where))
        return out

    def carrier_nat(self, country: str, size: int = 32) -> np.ndarray:
        """A mobile carrier's NAT addresses in ``country``: few addresses, each
        shared by many unrelated subscribers (and by mobile proxy networks)."""
        if country not in self._nat:
            self._nat[country] = self.add(RESIDENTIAL, country, size)
        return self._nat[country]

    def via_carrier_nat(
        self, rng: np.random.Generator, countries: np.ndarray, ips: np.ndarray, share: float
    ) -> np.ndarray:
        """``ips`` with ``share`` of them replaced by NAT addresses of the
        carrier of each request's country (``countries``, one per request)."""
        out = ips.copy()
        mobile = rng.random(len(ips)) < share
        for country in np.unique(countries[mobile]):
            where = np.flatnonzero(mobile & (countries == country))
            pool = self.carrier_nat(str(country))
            out[where] = pool[rng.integers(0, len(pool), len(where))]
        return out
