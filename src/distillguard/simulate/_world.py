"""Places, time zones, e-mail domains, organisation names and models.

Every population draws from these same tables with its own weights, so no
value belongs to one side only.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

#: country -> (UTC offsets in hours, one picked per account; main language)
COUNTRIES: dict[str, tuple[tuple[float, ...], str]] = {
    "US": ((-8, -7, -6, -5, -5, -5), "en"),
    "CA": ((-8, -5, -5), "en"),
    "MX": ((-6,), "es"),
    "BR": ((-3,), "pt"),
    "AR": ((-3,), "es"),
    "CO": ((-5,), "es"),
    "CL": ((-4,), "es"),
    "GB": ((0,), "en"),
    "IE": ((0,), "en"),
    "DE": ((1,), "de"),
    "FR": ((1,), "fr"),
    "ES": ((1,), "es"),
    "IT": ((1,), "it"),
    "NL": ((1,), "nl"),
    "PL": ((1,), "pl"),
    "SE": ((1,), "sv"),
    "CH": ((1,), "de"),
    "AT": ((1,), "de"),
    "BE": ((1,), "fr"),
    "TR": ((3,), "tr"),
    "RU": ((2, 3, 3, 5, 7), "ru"),
    "UA": ((2,), "uk"),
    "RO": ((2,), "ro"),
    "IN": ((5.5,), "en"),
    "PK": ((5,), "en"),
    "BD": ((6,), "en"),
    "VN": ((7,), "vi"),
    "ID": ((7,), "id"),
    "TH": ((7,), "th"),
    "PH": ((8,), "en"),
    "MY": ((8,), "en"),
    "SG": ((8,), "en"),
    "CN": ((8,), "zh"),
    "HK": ((8,), "zh"),
    "TW": ((8,), "zh"),
    "JP": ((9,), "ja"),
    "KR": ((9,), "ko"),
    "AU": ((8, 10, 10), "en"),
    "NZ": ((12,), "en"),
    "NG": ((1,), "en"),
    "EG": ((2,), "ar"),
    "ZA": ((2,), "en"),
    "KE": ((3,), "en"),
    "AE": ((4,), "ar"),
    "SA": ((3,), "ar"),
    "IL": ((2,), "en"),
}

#: Where ordinary people sign up from.
CONSUMER = {
    "US": 28,
    "IN": 9,
    "GB": 5,
    "DE": 4,
    "BR": 4,
    "FR": 3,
    "CA": 3,
    "JP": 3,
    "KR": 2,
    "ES": 2,
    "IT": 2,
    "MX": 2,
    "ID": 2,
    "PH": 2,
    "VN": 2,
    "TR": 1.5,
    "PL": 1.5,
    "NL": 1.5,
    "AU": 1.5,
    "NG": 1,
    "EG": 1,
    "PK": 1,
    "TW": 1,
    "HK": 1,
    "SG": 1,
    "MY": 1,
    "AR": 1,
    "CO": 1,
    "ZA": 1,
    "SE": 1,
    "UA": 1,
    "RU": 1,
    "CN": 0.6,
    "AE": 1,
    "SA": 0.5,
    "IL": 0.5,
    "TH": 1,
    "CL": 0.5,
    "BD": 0.5,
    "KE": 0.5,
    "RO": 0.5,
    "CH": 0.5,
    "AT": 0.5,
    "BE": 0.5,
    "IE": 0.5,
    "NZ": 0.3,
}

#: Where companies are registered.
BUSINESS = {
    "US": 40,
    "GB": 7,
    "DE": 6,
    "FR": 4,
    "IN": 5,
    "CA": 3,
    "JP": 3,
    "SG": 3,
    "NL": 2,
    "KR": 2,
    "AU": 2,
    "IL": 2,
    "SE": 1,
    "CH": 1,
    "ES": 1,
    "BR": 2,
    "HK": 2,
    "CN": 1,
    "AE": 1,
    "IE": 1,
    "TW": 1,
    "PL": 1,
    "IT": 1,
}

#: Cloud regions, by country.
CLOUD = {
    "US": 50,
    "DE": 9,
    "IE": 6,
    "NL": 5,
    "GB": 5,
    "SG": 6,
    "JP": 5,
    "FR": 3,
    "IN": 3,
    "CA": 2,
    "AU": 2,
    "BR": 1,
    "HK": 2,
    "KR": 1,
    "SE": 1,
}

#: Language -> countries where its speakers are found.
SPEAKERS: dict[str, dict[str, float]] = {
    "zh": {"CN": 3, "TW": 3, "HK": 2, "SG": 2, "MY": 1, "US": 2, "CA": 1, "AU": 1},
    "es": {"ES": 3, "MX": 4, "AR": 2, "CO": 2, "CL": 1, "US": 2},
    "de": {"DE": 6, "AT": 1, "CH": 1},
    "fr": {"FR": 5, "BE": 1, "CA": 1, "CH": 1},
    "ja": {"JP": 1},
    "ru": {"RU": 4, "UA": 1, "DE": 0.5, "IL": 0.5},
    "ko": {"KR": 1},
    "pt": {"BR": 4, "US": 0.3},
    "ar": {"EG": 2, "SA": 2, "AE": 1},
    "en": {"US": 1},
}

FREEMAIL = {
    "gmail.com": 52,
    "outlook.com": 8,
    "hotmail.com": 7,
    "yahoo.com": 6,
    "icloud.com": 7,
    "proton.me": 3,
    "aol.com": 1,
    "protonmail.com": 1,
    "live.com": 1,
}
REGIONAL_MAIL = {
    "DE": ("gmx.de", "web.de", "t-online.de"),
    "FR": ("orange.fr", "free.fr", "laposte.net"),
    "RU": ("yandex.ru", "mail.ru"),
    "CN": ("qq.com", "163.com", "126.com"),
    "JP": ("yahoo.co.jp", "docomo.ne.jp"),
    "KR": ("naver.com", "daum.net"),
    "BR": ("uol.com.br", "bol.com.br"),
    "IN": ("rediffmail.com",),
    "GB": ("btinternet.com",),
    "IT": ("libero.it",),
    "TW": ("yahoo.com.tw",),
    "HK": ("yahoo.com.hk",),
    "UA": ("ukr.net",),
}
DISPOSABLE = (
    "mailinator.com",
    "guerrillamail.com",
    "yopmail.com",
    "sharklasers.com",
    "10minutemail.com",
    "temp-mail.org",
)

_NAME_A = (
    "Blue",
    "North",
    "Bright",
    "Quantum",
    "Apex",
    "Vertex",
    "Lumen",
    "Nimbus",
    "Cedar",
    "Harbor",
    "Atlas",
    "Orbit",
    "Pixel",
    "Vector",
    "Summit",
    "Echo",
    "Nova",
    "Delta",
    "Kite",
    "Maple",
    "Iron",
    "Silver",
    "Crimson",
    "Granite",
    "Falcon",
    "Aurora",
    "Beacon",
    "Cobalt",
    "Helix",
    "Prism",
    "Tidal",
    "Zenith",
    "Arbor",
    "Clear",
    "Open",
    "Swift",
    "Bold",
    "True",
    "Deep",
    "Rapid",
    "Lotus",
    "Jade",
    "Sable",
    "Onyx",
    "Polar",
    "Signal",
    "Meridian",
    "Civic",
)
_NAME_B = (
    "Labs",
    "Analytics",
    "Systems",
    "Software",
    "Data",
    "AI",
    "Works",
    "Health",
    "Logistics",
    "Finance",
    "Media",
    "Learning",
    "Robotics",
    "Insights",
    "Cloud",
    "Networks",
    "Bio",
    "Legal",
    "Retail",
    "Games",
    "Research",
    "Digital",
    "Tech",
    "Intelligence",
    "Commerce",
    "Studio",
)
_SUFFIX = {
    "US": ("Inc.", "LLC", "Corp."),
    "GB": ("Ltd",),
    "DE": ("GmbH",),
    "FR": ("SAS",),
    "SG": ("Pte. Ltd.",),
    "JP": ("K.K.",),
    "NL": ("B.V.",),
    "CN": ("Co., Ltd.",),
    "HK": ("Limited",),
    "IN": ("Pvt. Ltd.",),
}
_TLD = {"DE": ".de", "FR": ".fr", "JP": ".jp", "GB": ".co.uk", "SG": ".sg", "IN": ".in"}


def pick(rng: np.random.Generator, table: Mapping[str, float], n: int) -> np.ndarray:
    """``n`` keys of ``table`` drawn with its values as weights."""
    keys = np.asarray(list(table))
    w = np.asarray(list(table.values()), dtype=np.float64)
    out: np.ndarray = keys[rng.choice(len(keys), size=n, p=w / w.sum())]
    return out


def tz_offsets(rng: np.random.Generator, countries: np.ndarray) -> np.ndarray:
    """UTC offset in hours for each account, from its country."""
    out = np.zeros(len(countries))
    for c in np.unique(countries):
        where = countries == c
        choices = COUNTRIES.get(str(c), ((0.0,), "en"))[0]
        out[where] = np.asarray(choices)[rng.integers(0, len(choices), int(where.sum()))]
    return out


def consumer_emails(
    rng: np.random.Generator, countries: np.ndarray, disposable: float = 0.005
) -> np.ndarray:
    out = pick(rng, FREEMAIL, len(countries)).astype(object)
    for i, c in enumerate(countries):
        regional = REGIONAL_MAIL.get(str(c))
        if regional and rng.random() < 0.35:
            out[i] = regional[rng.integers(0, len(regional))]
    dispo = rng.random(len(countries)) < disposable
    out[dispo] = np.asarray(DISPOSABLE)[rng.integers(0, len(DISPOSABLE), int(dispo.sum()))]
    return out


def org_names(rng: np.random.Generator, countries: np.ndarray) -> tuple[list[str], list[str]]:
    """An organisation name and its e-mail domain for each country given."""
    names, domains = [], []
    for c in countries:
        a = _NAME_A[rng.integers(0, len(_NAME_A))]
        b = _NAME_B[rng.integers(0, len(_NAME_B))]
        suffixes = _SUFFIX.get(str(c), ("Ltd", "Inc."))
        names.append(f"{a} {b} {suffixes[rng.integers(0, len(suffixes))]}")
        tld = _TLD.get(str(c)) or (".com", ".io", ".ai", ".co")[rng.integers(0, 4)]
        sep = "" if rng.random() < 0.7 else "-"
        domains.append(f"{a.lower()}{sep}{b.lower()}{tld}")
    return names, domains


# -- models -------------------------------------------------------------------------

#: name -> (reasoning model?, output tokens per second)
MODELS: dict[str, tuple[bool, float]] = {
    "lumen-1-mini": (False, 140.0),
    "lumen-1": (False, 70.0),
    "lumen-1-reasoner": (True, 60.0),
    "lumen-1-reasoner-mini": (True, 120.0),
    "lumen-2": (True, 55.0),  # released during the window
    "lumen-embed-1": (False, 0.0),
}
MODEL_NAMES: tuple[str, ...] = tuple(MODELS)
NEW_MODEL = MODEL_NAMES.index("lumen-2")
EMBED_MODEL = MODEL_NAMES.index("lumen-embed-1")
REASONING = np.asarray([MODELS[m][0] for m in MODEL_NAMES])
SPEED = np.asarray([MODELS[m][1] for m in MODEL_NAMES])

ENDPOINTS: tuple[str, ...] = (
    "chat.completions",
    "responses",
    "messages",
    "completions",
    "embeddings",
)
EP_CHAT, EP_RESPONSES, EP_MESSAGES, EP_COMPLETIONS, EP_EMBEDDINGS = range(5)
