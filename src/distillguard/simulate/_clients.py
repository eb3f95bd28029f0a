"""HTTP clients: user agent with the JA4 fingerprint of its TLS stack.

A client is one (user agent, JA4) pair. Families group clients that a
population picks between (browsers, mobile apps, Python SDKs, ...); the JA4
depends on the TLS library under the client, so every Python SDK shares the
few fingerprints of CPython's OpenSSL builds, every Chromium the Chrome one.
Each client has a popularity weight: recent versions of popular products
dominate, as in real traffic, for customers and operators alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHROME = ("t13d1516h2_8daaf6152771_02713d6af862", "t13d1517h2_8daaf6152771_b0da82dd1658")
FIREFOX = ("t13d1715h2_5b57614c22b0_3d5424432f57", "t13d1716h2_5b57614c22b0_eeeea6562960")
SAFARI = "t13d2014h2_a09f3c656075_14788d8d241b"
ANDROID = "t13d1513h2_8daaf6152771_eca864cca44a"
PYTHON = (
    "t13d1812h1_85036bcba153_d41ae481755e",
    "t13d1811h1_85036bcba153_375ca2c5e164",
    "t13d1812h2_85036bcba153_b1ff8ab2d16f",
)
REQUESTS = "t13d4907h1_0d8feac7bc37_7395dae3b2f3"
NODE = ("t13d5911h1_a33745022dd6_1f22a2ca17c4", "t13d5912h2_a33745022dd6_dbd39dd1d406")
GO = "t13d1312h2_f57a46bbacb6_e7c285222651"
CURL = "t13d3112h2_e8f1e7e78f70_6bebaf5329ac"
JAVA = "t13d4409h2_cf4ca7bd1c8e_2a0b4a4b7ff7"

_WIN = "Windows NT 10.0; Win64; x64"
_MAC = "Macintosh; Intel Mac OS X 10_15_7"
_WEBKIT = "AppleWebKit/537.36 (KHTML, like Gecko)"


@dataclass(frozen=True, slots=True)
class Client:
    ua: str
    ja4: str
    family: str
    api: str  # "openai", "anthropic" or "any": which endpoint the client usually calls
    weight: float  # popularity within its family


def _recent(age: int, decay: float) -> float:
    return float(decay**age)


def _browsers() -> list[Client]:
    out = []
    for v in range(120, 132):
        w, ja4 = _recent(131 - v, 0.6), CHROME[v >= 124]
        chrome = f"{_WEBKIT} Chrome/{v}.0.0.0 Safari/537.36"
        for os_, share in (
            (_WIN, 30),
            (_MAC, 12),
            ("X11; Linux x86_64", 3),
            ("X11; CrOS x86_64 14541.0.0", 3),
        ):
            out.append(Client(f"Mozilla/5.0 ({os_}) {chrome}", ja4, "browser", "any", share * w))
        out.append(
            Client(f"Mozilla/5.0 ({_WIN}) {chrome} Edg/{v}.0.0.0", ja4, "browser", "any", 8 * w)
        )
        out.append(
            Client(
                f"Mozilla/5.0 (Linux; Android 10; K) {_WEBKIT} Chrome/{v}.0.0.0 "
                "Mobile Safari/537.36",
                ja4,
                "browser",
                "any",
                15 * w,
            )
        )
    for v in range(121, 134):
        w = 6 * _recent(133 - v, 0.6)
        for os_ in (_WIN, "Macintosh; Intel Mac OS X 10.15", "X11; Ubuntu; Linux x86_64"):
            out.append(
                Client(
                    f"Mozilla/5.0 ({os_}; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
                    FIREFOX[v >= 128],
                    "browser",
                    "any",
                    w,
                )
            )
    for age, ver in enumerate(("18.1", "18.0", "17.6", "17.5", "17.4", "17.3", "17.2")):
        w = _recent(age, 0.6)
        out.append(
            Client(
                f"Mozilla/5.0 ({_MAC}) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                f"Version/{ver} Safari/605.1.15",
                SAFARI,
                "browser",
                "any",
                8 * w,
            )
        )
        out.append(
            Client(
                f"Mozilla/5.0 (iPhone; CPU iPhone OS {ver.replace('.', '_')} like Mac "
                f"OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{ver} "
                "Mobile/15E148 Safari/604.1",
                SAFARI,
                "browser",
                "any",
                14 * w,
            )
        )
    return out


def _apps() -> list[Client]:
    out = []
    for app, ver, share in (
        ("Quillchat", "2.4.1", 5),
        ("Chatterly", "5.12.0", 4),
        ("AskDesk", "1.9.3", 2),
        ("Parley", "3.0.7", 2),
        ("Mindwell", "0.18.2", 1),
    ):
        out.append(
            Client(
                f"Mozilla/5.0 ({_MAC}) {_WEBKIT} {app}/{ver} Chrome/128.0.6613.186 "
                "Electron/32.1.2 Safari/537.36",
                CHROME[1],
                "app",
                "any",
                share,
            )
        )
        out.append(
            Client(f"{app}/{ver} (iPhone; iOS 17.6; Scale/3.00)", SAFARI, "app", "any", 2 * share)
        )
    for android, w in ((12, 1), (13, 2), (14, 3)):
        out.append(
            Client(
                f"Dalvik/2.1.0 (Linux; U; Android {android}; Pixel 7 Build/AP2A)",
                ANDROID,
                "app",
                "any",
                w,
            )
        )
    out += [
        Client(f"okhttp/4.{v}.0", ANDROID, "app", "any", 3 * _recent(12 - v, 0.6))
        for v in (9, 10, 11, 12)
    ]
    return out


def _python() -> list[Client]:
    out = []
    for minor in range(40, 59):
        for patch in (0, 1):
            w = _recent(58 - minor, 0.85) * (1.0 if patch else 0.6)
            ja4 = PYTHON[(minor + patch) % 2]
            out.append(
                Client(f"OpenAI/Python 1.{minor}.{patch}", ja4, "sdk_python", "openai", 30 * w)
            )
            out.append(
                Client(f"AsyncOpenAI/Python 1.{minor}.{patch}", ja4, "sdk_python", "openai", 12 * w)
            )
    for minor in range(25, 41):
        w = _recent(40 - minor, 0.75)
        out.append(
            Client(
                f"Anthropic/Python 0.{minor}.0",
                PYTHON[minor % 2],
                "sdk_python",
                "anthropic",
                25 * w,
            )
        )
        out.append(
            Client(
                f"anthropic-python/0.{minor}.1", PYTHON[minor % 3], "sdk_python", "anthropic", 5 * w
            )
        )
    for age, v in enumerate(("0.28.1", "0.27.2", "0.27.0", "0.26.0", "0.25.2")):
        out.append(Client(f"python-httpx/{v}", PYTHON[2], "sdk_python", "any", 10 * 0.6**age))
    for age, v in enumerate(("2.32.3", "2.32.2", "2.31.0")):
        out.append(Client(f"python-requests/{v}", REQUESTS, "sdk_python", "any", 10 * 0.5**age))
    for py, aio, w in (("3.12", "3.10.5", 3), ("3.11", "3.9.5", 2), ("3.10", "3.9.3", 1)):
        out.append(Client(f"Python/{py} aiohttp/{aio}", PYTHON[0], "sdk_python", "any", w))
    for age, v in enumerate(("1.52.0", "1.48.2", "1.44.3", "1.40.1")):
        out.append(Client(f"litellm/{v}", PYTHON[1], "sdk_python", "any", 8 * 0.6**age))
    return out


def _others() -> list[Client]:
    out = []
    for minor in range(40, 70, 3):
        out.append(
            Client(
                f"OpenAI/JS 4.{minor}.0",
                NODE[minor % 2],
                "sdk_node",
                "openai",
                20 * _recent((69 - minor) // 3, 0.7),
            )
        )
    for minor in (20, 24, 27, 30):
        out.append(
            Client(
                f"Anthropic/JS 0.{minor}.0",
                NODE[0],
                "sdk_node",
                "anthropic",
                10 * _recent((30 - minor) // 3, 0.6),
            )
        )
    out += [
        Client(f"axios/1.{v}", NODE[1], "sdk_node", "any", w)
        for v, w in (("7.7", 6), ("7.2", 3), ("6.8", 1))
    ]
    out.append(
        Client(
            "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", NODE[0], "sdk_node", "any", 3
        )
    )
    out += [Client(f"Go-http-client/{v}", GO, "go", "any", w) for v, w in (("2.0", 3), ("1.1", 1))]
    out += [Client(f"curl/8.{v}.0", CURL, "curl", "any", 0.7 ** (10 - v)) for v in (4, 5, 7, 9, 10)]
    out += [
        Client(f"Apache-HttpClient/5.2.1 (Java/{v})", JAVA, "java", "any", 1.0)
        for v in ("17.0.9", "21.0.2")
    ]
    for v in (122, 126, 130):
        out.append(
            Client(
                f"Mozilla/5.0 (X11; Linux x86_64) {_WEBKIT} HeadlessChrome/{v}.0.0.0 Safari/537.36",
                CHROME[v >= 124],
                "headless",
                "any",
                0.7 ** (130 - v),
            )
        )
    return out


CLIENTS: tuple[Client, ...] = tuple(_browsers() + _apps() + _python() + _others())
UA = np.asarray([c.ua for c in CLIENTS], dtype=object)
JA4 = np.asarray([c.ja4 for c in CLIENTS], dtype=object)
API = np.asarray([c.api for c in CLIENTS])
FAMILY = np.asarray([c.family for c in CLIENTS])
WEIGHT = np.asarray([c.weight for c in CLIENTS])
_BY_FAMILY = {str(f): np.flatnonzero(f == FAMILY) for f in np.unique(FAMILY)}


def pick_clients(rng: np.random.Generator, families: dict[str, float], n: int) -> np.ndarray:
    """``n`` client indices: a family by weight, then a client of it by popularity."""
    names = list(families)
    w = np.asarray(list(families.values()), dtype=np.float64)
    fam = rng.choice(len(names), size=n, p=w / w.sum())
    out = np.empty(n, np.int32)
    for i, name in enumerate(names):
        where = np.flatnonzero(fam == i)
        members = _BY_FAMILY[name]
        p = WEIGHT[members] / WEIGHT[members].sum()
        out[where] = members[rng.choice(len(members), size=len(where), p=p)]
    return out
