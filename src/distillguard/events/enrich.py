"""IP enrichment from the database shipped with ``geoip2fast`` (no network).

``geoip2fast`` bundles MaxMind GeoLite2 country and ASN ranges (IPv4 and IPv6).
Its ASN data carries the AS *organisation name* but not the AS *number*: the
number is filled only for the well-known networks listed in
``data/asn_numbers.txt``; for every other network ``asn`` stays null and
``asn_org`` identifies it. ``hosting`` is true when the organisation matches the
curated list of cloud, hosting and VPS providers in ``data/hosting_asns.txt``.

The ranges are loaded once per process into sorted numpy arrays (about half a
second) and looked up vectorised; IPv6 ranges are matched on their first 64
bits, which is exact for every allocation of /64 or shorter.

>>> info = lookup_ip("8.8.8.8")
>>> (info.country, info.asn, info.asn_org, info.hosting)
('US', 15169, 'GOOGLE', True)
"""

from __future__ import annotations

import gzip
import ipaddress
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from itertools import chain
from pathlib import Path
from typing import Literal

import geoip2fast
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_V4_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_V4 = rf"^{_V4_OCTET}(\.{_V4_OCTET}){{3}}$"
_PRIVATE_IDS = 16  # country ids below this are reserved / private networks in geoip2fast
_DATA_FILE = "geoip2fast-asn-ipv6.dat.gz"
# Networks that are neither hosting nor consumer access: kept out of "residential" samples.
_NOT_RESIDENTIAL = (
    r"DNIC|IANA|\bDOD\b|USDA|\bARMY\b|\bNAVY\b|UNIVERSIT|COLLEGE|SCHOOL|RESEARCH|FORSCHUNG"
    r"|GOVERNMENT|MINISTRY|BANK|INSURANCE|HOSTING|HOST\b|SERVER|DATACENT|DATA CENT|CLOUD|VPN"
)


@dataclass(frozen=True)
class IpInfo:
    """What the database knows about one address (``None``: not known)."""

    ip: str  # canonical text form
    country: str | None
    asn: int | None
    asn_org: str | None
    hosting: bool | None


def _data_text(name: str) -> list[list[str]]:
    text = resources.files("distillguard.events").joinpath("data").joinpath(name).read_text("utf-8")
    rows = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append(line.split("\t"))
    return rows


@cache
def hosting_regex() -> str:
    """One regular expression (RE2 and Python syntax) for every provider of the list."""
    return "|".join(f"(?:{regex})" for _, regex in _data_text("hosting_asns.txt"))


def is_hosting(orgs: Sequence[str | None]) -> np.ndarray:
    """Whether each AS organisation name is a hosting provider of the curated list."""
    matched = pc.match_substring_regex(
        pa.array(orgs, pa.string()), hosting_regex(), ignore_case=True
    )
    return np.asarray(pc.fill_null(matched, False).to_numpy(zero_copy_only=False), dtype=bool)


@cache
def known_asn_numbers() -> dict[str, int]:
    return {name: int(number) for name, number in _data_text("asn_numbers.txt")}


class _Ranges:
    """Sorted first addresses of networks, with their last address and a value id."""

    def __init__(self, first: np.ndarray, last: np.ndarray, ids: np.ndarray) -> None:
        self.first, self.last, self.ids = first, last, ids

    def find(self, keys: np.ndarray) -> np.ndarray:
        """Value id of the network holding each key, -1 where none does."""
        pos = np.searchsorted(self.first, keys, side="right") - 1
        safe = np.maximum(pos, 0)
        hit = (pos >= 0) & (keys <= self.last[safe])
        return np.where(hit, self.ids[safe], -1)


def _split_ranges(firsts: list[int], netlens: list[int], ids: list[int]) -> tuple[_Ranges, _Ranges]:
    """IPv4 ranges on uint64 keys, IPv6 ranges on the first 64 bits."""
    n4 = next((i for i, f in enumerate(firsts) if f >= 1 << 32), len(firsts))
    lens = np.array(netlens, dtype=np.int64)
    id_arr = np.array(ids, dtype=np.int64)
    f4 = np.array(firsts[:n4], dtype=np.uint64)
    v4 = _Ranges(f4, f4 + (np.uint64(1) << (32 - lens[:n4]).astype(np.uint64)) - 1, id_arr[:n4])
    hi = np.array([f >> 64 for f in firsts[n4:]], dtype=np.uint64)
    span = np.where(lens[n4:] <= 64, 64 - lens[n4:], 0).astype(np.uint64)
    last6 = hi + np.where(span >= 64, np.uint64(2**64 - 1), (np.uint64(1) << span) - 1)
    return v4, _Ranges(hi, last6, id_arr[n4:])


class IpDatabase:
    """Country and ASN ranges of the bundled database, as numpy arrays."""

    def __init__(self, path: Path | None = None) -> None:
        path = path or Path(geoip2fast.__file__).with_name(_DATA_FILE)
        with gzip.open(path, "rb") as handle:
            _version, _info, _total, db = pickle.load(handle)
        (_, _, country_names, asn_names, first_c, first_a, id_c, id_a, len_c, len_a) = db
        flat = chain.from_iterable
        self.country_v4, self.country_v6 = _split_ranges(
            list(flat(first_c)), list(flat(len_c)), list(flat(id_c))
        )
        self.asn_v4, self.asn_v6 = _split_ranges(
            list(flat(first_a)), list(flat(len_a)), list(flat(id_a))
        )
        codes = [None if i < _PRIVATE_IDS else n.split(":")[0] for i, n in enumerate(country_names)]
        self.country_codes = np.array([*codes, None], dtype=object)  # id -1 -> None
        names = [None if n in ("", "<unknown>") else n for n in asn_names]
        self.asn_names = np.array([*names, None], dtype=object)
        numbers = known_asn_numbers()
        self.asn_hosting = np.append(is_hosting(names), False)
        self.asn_numbers = np.array([numbers.get(n, -1) if n else -1 for n in names] + [-1])
        self.hosting_by_number = dict(
            zip(numbers.values(), is_hosting(list(numbers)).tolist(), strict=True)
        )

    def lookup_ints(self, keys: np.ndarray, v6: bool) -> tuple[np.ndarray, np.ndarray]:
        """Country ids and ASN ids (``-1``: unknown) of addresses given as uint64
        (IPv4: the address; IPv6: its first 64 bits)."""
        country = (self.country_v6 if v6 else self.country_v4).find(keys)
        asn = (self.asn_v6 if v6 else self.asn_v4).find(keys)
        return country, asn


@cache
def get_database() -> IpDatabase:
    """The process-wide database (loaded on first use)."""
    return IpDatabase()


# -- parsing -------------------------------------------------------------------------


def parse_ips(ips: pa.Array) -> tuple[list[str | None], np.ndarray, np.ndarray]:
    """Canonical text, lookup key and IPv6 flag of each address (text ``None``:
    malformed). IPv4 in dotted form is parsed vectorised; anything else goes
    through :mod:`ipaddress`."""
    n = len(ips)
    keys = np.zeros(n, dtype=np.uint64)
    is_v6 = np.zeros(n, dtype=bool)
    canon: list[str | None] = ips.to_pylist()
    dotted = pc.fill_null(pc.match_substring_regex(ips, _V4), False).to_numpy(zero_copy_only=False)
    if dotted.any():
        parts = pc.list_flatten(pc.split_pattern(ips.filter(pa.array(dotted)), "."))
        octets = parts.cast(pa.uint64()).to_numpy().reshape(-1, 4)
        keys[dotted] = (
            (octets[:, 0] << 24) | (octets[:, 1] << 16) | (octets[:, 2] << 8) | octets[:, 3]
        )
    for i in np.flatnonzero(~dotted):
        canon[i], keys[i], is_v6[i] = _parse_other(canon[i])  # IPv6 and odd forms
    return canon, keys, is_v6


@lru_cache(maxsize=1 << 18)
def _parse_other(text: str | None) -> tuple[str | None, int, bool]:
    if text is None:
        return None, 0, False
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None, 0, False
    if isinstance(addr, ipaddress.IPv4Address):
        return str(addr), int(addr), False
    mapped = addr.ipv4_mapped
    if mapped is not None:
        return str(addr), int(mapped), False
    return str(addr), int(addr) >> 64, True


# -- per-run enrichment ----------------------------------------------------------------

#: Columns of :meth:`Enricher.resolve`.
RESOLVED_SCHEMA = pa.schema(
    [
        pa.field("ip", pa.string()),
        pa.field("country", pa.string()),
        pa.field("asn", pa.int64()),
        pa.field("asn_org", pa.string()),
        pa.field("hosting", pa.bool_()),
    ]
)


class Enricher:
    """Checks, canonicalises and enriches IP addresses, vectorised.

    Dotted IPv4 is parsed and looked up in numpy without a Python loop; the
    parse of other forms (IPv6, IPv4-mapped) is cached per run.
    """

    def __init__(self, enrich: bool = True) -> None:
        self.enrich = enrich
        self.lookups = 0

    def resolve(self, ips: pa.Array) -> pa.Table:
        """One row per address (``RESOLVED_SCHEMA``); ``ip`` is null where the
        address is malformed, the other columns null where unknown."""
        canon, keys, is_v6 = parse_ips(ips)
        self.lookups += len(ips)
        n = len(ips)
        valid = np.array([c is not None for c in canon], dtype=bool)
        if not self.enrich or not n:
            nulls = [pa.nulls(n, f.type) for f in RESOLVED_SCHEMA][1:]
            return pa.table([canon, *nulls], schema=RESOLVED_SCHEMA)
        db = get_database()
        country = np.full(n, -1, dtype=np.int64)
        asn = np.full(n, -1, dtype=np.int64)
        for v6 in (False, True):
            sel = (is_v6 == v6) & valid
            if sel.any():
                country[sel], asn[sel] = db.lookup_ints(keys[sel], v6)
        asn[country < _PRIVATE_IDS] = -1  # reserved and private networks: no owner
        known_org = asn >= 0
        known_org &= np.array([o is not None for o in db.asn_names[asn]], dtype=bool)
        numbers = db.asn_numbers[asn]
        return pa.table(
            [
                pa.array(canon, pa.string()),
                pa.array(db.country_codes[country], pa.string()),
                pa.array(numbers, pa.int64(), mask=numbers < 0),
                pa.array(db.asn_names[asn], pa.string()),
                pa.array(db.asn_hosting[asn], pa.bool_(), mask=~known_org),
            ],
            schema=RESOLVED_SCHEMA,
        )


def lookup_ip(ip: str) -> IpInfo | None:
    """Enrichment of one address; ``None`` if it is malformed."""
    row = Enricher().resolve(pa.array([ip], pa.string())).to_pylist()[0]
    return None if row["ip"] is None else IpInfo(**row)


# -- sampling for simulations -----------------------------------------------------------


@cache
def _sampling_frame() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """IPv4 segments where both the country and the ASN are known (the two range
    lists cut at each other's boundaries): first, size, kind (0 residential,
    1 hosting, 2 neither) and country code."""
    db = get_database()
    c, a = db.country_v4, db.asn_v4
    one = np.uint64(1)
    cuts = np.unique(np.concatenate([c.first, c.last + one, a.first, a.last + one]))
    first, size = cuts[:-1], np.diff(cuts)
    country_id, asn_id = c.find(first), a.find(first)
    names = db.asn_names[asn_id]
    usable = (country_id >= _PRIVATE_IDS) & (asn_id >= 0)
    usable &= np.array([n is not None for n in names], dtype=bool)
    other = pc.match_substring_regex(
        pa.array(names, pa.string()), _NOT_RESIDENTIAL, ignore_case=True
    )
    other_np = np.asarray(pc.fill_null(other, False).to_numpy(zero_copy_only=False), dtype=bool)
    kind = np.where(db.asn_hosting[asn_id], 1, np.where(other_np, 2, 0))
    codes = db.country_codes[country_id]
    return first[usable], size[usable], kind[usable], codes[usable].astype(str)


def sample_ips(
    kind: Literal["hosting", "residential"],
    country: str | None,
    n: int,
    rng: np.random.Generator,
) -> list[str]:
    """``n`` IPv4 addresses inside real networks of the database.

    ``kind="hosting"`` draws from networks of the curated hosting/cloud list,
    ``"residential"`` from the other networks with a known organisation, less
    those whose name marks them as government, military, research, education,
    finance or hosting (an approximation: mostly ISPs and mobile carriers,
    with some enterprise networks). ``country``
    (ISO alpha-2) restricts to networks located there. Networks are chosen with
    probability proportional to their size, so large providers dominate as in
    real traffic. Deterministic for a given ``rng`` state. Raises ``ValueError``
    when no network matches.
    """
    if kind not in ("hosting", "residential"):
        raise ValueError(f"kind must be 'hosting' or 'residential', not {kind!r}")
    first, size, kinds, codes = _sampling_frame()
    mask = kinds == (1 if kind == "hosting" else 0)
    if country is not None:
        mask = mask & (codes == country.upper())
    if not mask.any():
        raise ValueError(f"no {kind} network in the database for country {country!r}")
    weights = size[mask].astype(np.float64)
    picks = rng.choice(int(mask.sum()), size=n, p=weights / weights.sum())
    base, span = first[mask][picks], size[mask][picks]
    inner = span > 2  # skip network and broadcast addresses where there is room
    offset = np.floor(rng.random(n) * np.where(inner, span - 2, span)).astype(np.uint64)
    addr = base + offset + inner.astype(np.uint64)
    return [str(ipaddress.IPv4Address(int(a))) for a in addr]


def hosting_of_asn(asn: int) -> bool | None:
    """Hosting flag of a well-known AS number (``None``: not in the curated list)."""
    return get_database().hosting_by_number.get(asn)


__all__ = [
    "RESOLVED_SCHEMA",
    "Enricher",
    "IpDatabase",
    "IpInfo",
    "get_database",
    "lookup_ip",
    "sample_ips",
]
