"""Account linking: accounts tied together by who they are and where they
connect from — shared payment instruments, sign-up bursts, rare e-mail
domains, networks and client fingerprints."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, ClassVar

import igraph as ig
import numpy as np

from distillguard._types import Family
from distillguard.detectors._util import key_groups, key_members
from distillguard.detectors.base import Detector, Finding

if TYPE_CHECKING:
    from distillguard.engine.state import DetectionContext


#: A client link of a user agent and a TLS fingerprint.
CLIENT = 0.35
#: A client link of which the traffic recorded one half only. A user agent
#: alone is most often a library's default string (``python-requests/2.32.3``)
#: that unrelated scripts send, and a TLS fingerprint alone the TLS
#: library's; either is rare in one provider's traffic by chance. Two
#: accounts sharing it are linked, but too weakly to tie or second a tie to
#: a campaign (``scoring.fuse.SECOND_LINK``): an evaluation company that
#: sends the public benchmarks a swarm sweeps, with the same HTTP library as
#: two of its accounts, is not one of them.
PARTIAL_CLIENT = 0.15
#: The score and wording of a client link, whole or recorded by half.
_WHOLE = (CLIENT, "share a rare client (user agent and TLS fingerprint)")
_HALF = (PARTIAL_CLIENT, "share a rare user agent or TLS fingerprint (the other unrecorded)")


def _whole_client(key: str) -> bool:
    """Whether a client key (``user agent | TLS fingerprint``) holds both."""
    agent, _, tls = key.partition(" | ")
    return bool(agent.strip()) and bool(tls.strip())


class AccountLinkingDetector(Detector):
    """One group finding per linking key shared by a plausible number of
    accounts. Keys shared by a large part of the population (a popular SDK, a
    free-mail domain, a mobile carrier's NAT) link nothing and are skipped."""

    name: ClassVar[str] = "account_linking"
    family: ClassVar[Family] = Family.INFRASTRUCTURE

    def __init__(self, common_share: float = 0.002, max_net_accounts: int = 12) -> None:
        self.common_share = common_share
        self.max_net_accounts = max_net_accounts

    def detect(self, ctx: DetectionContext) -> list[Finding]:
        n_acc = max(ctx.n_accounts, 1)
        common = max(5, int(self.common_share * n_acc))
        out: list[Finding] = []
        out += self._groups(
            ctx, "payment", 2, max(common, 1000), 0.9, "share one payment instrument"
        )
        out += self._groups(ctx, "email", 2, common, 0.3, "share a rare e-mail domain")
        out += self._groups(
            ctx, "net", 2, self.max_net_accounts, 0.45, "connect from the same network"
        )
        out += [
            self._group("client", key, accounts, n, *(_WHOLE if _whole_client(key) else _HALF))
            for key, accounts, n in key_groups(ctx, "client", 2, common)
        ]
        out += self._signup_bursts(ctx, common)
        return out

    def _groups(
        self, ctx: DetectionContext, family: str, lo: int, hi: int, score: float, what: str
    ) -> list[Finding]:
        return [
            self._group(family, key, accounts, n, score, what)
            for key, accounts, n in key_groups(ctx, family, lo, hi)
        ]

    def _group(
        self,
        family: str,
        key: str,
        accounts: tuple[str, ...],
        n: int,
        score: float,
        what: str,
    ) -> Finding:
        """The finding of one linking key shared by ``accounts`` (``n`` requests)."""
        return Finding(
            self.name,
            self.family,
            accounts,
            score,
            f"{len(accounts)} accounts {what} ({family} {key})",
            {"family": family, "key": key, "accounts": len(accounts), "requests": n},
            link=f"{family}:{key}",
        )

    def _signup_bursts(self, ctx: DetectionContext, hi: int) -> list[Finding]:
        """Ten-minute sign-up buckets holding many times the usual number.

        A bucket can hold bursts that have nothing to do with each other: a
        class signing up together in its school's network, and an operation's
        script creating accounts behind proxies in the same ten minutes. So
        the accounts of bursts that connect from one network in numbers that
        make a burst on their own (a place: a school, an office) are reported
        apart from the rest of their bucket, and the rest as a burst of its
        own if they still are one: a shared bucket does not tie one to the
        other."""
        groups = key_groups(ctx, "signup", 1, 10 * hi)
        if not groups:
            return []
        sizes = np.array([len(g[1]) for g in groups], dtype=float)
        usual = float(np.median(sizes))
        need = max(5.0, 5.0 * usual)
        bursts = [(key, accounts) for key, accounts, _ in groups if len(accounts) >= need]
        place = _places(ctx, {a for _, accounts in bursts for a in accounts}, 10 * hi, need)
        out = []
        for key, accounts in bursts:
            parts = _apart(accounts, place, need)
            for i, part in enumerate(parts):
                shown = "" if len(parts) == 1 else f", one of {len(parts)} bursts in the bucket"
                out.append(
                    Finding(
                        self.name,
                        self.family,
                        part,
                        0.6,
                        f"{len(part)} accounts created within the same 10 minutes "
                        f"(usual: {usual:.0f}{shown})",
                        {
                            "family": "signup",
                            "bucket": key,
                            "accounts": len(part),
                            "usual": usual,
                            "bursts_in_bucket": len(parts),
                        },
                        link=f"signup:{key}" if len(parts) == 1 else f"signup:{key}/{i}",
                    )
                )
        return out


def _places(ctx: DetectionContext, members: set[str], hi: int, need: float) -> dict[str, int]:
    """Places among the ``members``: networks (/24) that ``need`` members or
    more connect from, a school's or an office's, with the members there
    (a label per place; places sharing a member are one). An operation
    whose accounts share proxy exits here and there has no such place;
    networks shared by more than ``hi`` accounts, a carrier's NAT, are none."""
    if not members:
        return {}
    m = key_members(ctx, "net", 2, hi)
    # Ranks of the members (``m.names`` is sorted), to compare integers.
    wanted = np.array(sorted(members), dtype=object)
    ranks = np.searchsorted(m.names, wanted)
    ranks = ranks[(ranks < len(m.names)) & (m.names[np.minimum(ranks, len(m.names) - 1)] == wanted)]
    inside = np.isin(m.account, ranks)
    key, account = m.key[inside], m.account[inside]
    keys, count = np.unique(key, return_counts=True)
    big = count >= need
    if not big.any():
        return {}
    at = np.isin(key, keys[big])
    key, account = key[at], account[at]
    same = np.flatnonzero(key[1:] == key[:-1])
    ranks, local = np.unique(np.r_[account[same], account[same + 1]], return_inverse=True)
    edges = local.reshape(2, -1).T.tolist()
    labels = ig.Graph(n=len(ranks), edges=edges).connected_components().membership
    return dict(zip(m.names[ranks].tolist(), labels, strict=True))


def _apart(accounts: tuple[str, ...], place: dict[str, int], need: float) -> list[tuple[str, ...]]:
    """The bursts of one bucket (``_signup_bursts``): the accounts of each
    place (a place is counted over every burst, since a class signing up for
    half an hour spans three buckets), then the rest if they are a burst. A
    bucket that does not split is returned whole."""
    by_place: dict[int, list[str]] = defaultdict(list)
    for a in accounts:
        if a in place:
            by_place[place[a]].append(a)
    if not by_place or (len(by_place) == 1 and sum(map(len, by_place.values())) == len(accounts)):
        return [accounts]
    own = [tuple(g) for g in by_place.values() if len(g) >= 2]
    taken = {a for g in by_place.values() for a in g}
    rest = tuple(a for a in accounts if a not in taken)
    return own + ([rest] if len(rest) >= need else [])
