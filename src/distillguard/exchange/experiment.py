"""The two-provider experiment: does sharing help B, and can it hurt B?

Provider A scans its traffic, publishes what it acted on; B imports it and
replays its own traffic twice, with and without the imported indicators, on
the same events. Measured on B: the operation's leakage (share of its
requests served before its accounts were actioned), time to the first
enforced action against it, and harm to B's legitimate customers. A
dishonest peer can be added: it publishes validly signed indicators that
match B's legitimate customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard._types import Action
from distillguard.detectors import default_detectors
from distillguard.engine.evaluate import evaluate
from distillguard.engine.replay import ReplayResult, replay
from distillguard.engine.scan import scan
from distillguard.exchange.config import ExchangeConfig, PeerConfig
from distillguard.exchange.derive import Derived, DeriveOptions, derive, describe_accounts
from distillguard.exchange.detector import ExchangeDetector
from distillguard.exchange.importer import import_objects
from distillguard.exchange.keys import KeyRing
from distillguard.exchange.publish import build_publication
from distillguard.exchange.signing import Publisher, public_key_text
from distillguard.exchange.sim import TwoProviders
from distillguard.exchange.stix import Mapper
from distillguard.exchange.store import ExchangeStore
from distillguard.exchange.trust import trust_view
from distillguard.simulate import SimFiles, write


@dataclass(frozen=True, slots=True)
class Outcome:
    """B's replay with one set of detectors."""

    leakage: float
    time_to_detect_h: float | None
    attack_enforced: int
    attack_accounts: int
    benign_enforced: int
    benign_accounts: int
    actions: dict[str, Action]
    #: Accounts ever enforced at some step of the replay (the final actions
    #: can have released some of them).
    ever_enforced: frozenset[str] = frozenset()
    #: Leaked requests of accounts opened before the first enforced action
    #: against the operation, and of accounts opened after it (served until
    #: the next detection run caught them).
    leaked_before: int = 0
    leaked_after: int = 0
    #: Median hours from an attack account's first request to its first
    #: imported match (None without the exchange) and to its first action.
    match_delay_h: float | None = None
    action_delay_h: float | None = None


@dataclass(frozen=True, slots=True)
class Experiment:
    off: Outcome
    on: Outcome
    indicators: int
    poisoned: Outcome | None = None
    poisoned_accounts: tuple[str, ...] = ()


def run(
    tp: TwoProviders,
    workdir: Path,
    *,
    trust: float = 0.7,
    poison: int = 0,
    step_s: float = 900.0,
    detect_every_s: float = 3600.0,
) -> Experiment:
    """Run the experiment in ``workdir``; ``poison`` > 0 adds a dishonest
    peer whose indicators match that many of B's legitimate customers."""
    fa, fb = write(tp.a, workdir / "a"), write(tp.b, workdir / "b")
    keys = KeyRing.generate("k1")
    pub_a = Publisher.generate("Provider A")
    ra = scan([fa.events], accounts=fa.accounts)
    derived = derive(ra.detection, ra.state, keys)
    store = ExchangeStore()
    peers = [_import(store, pub_a, derived, trust)]
    now = tp.attack_start_b
    off = _replay(fb, tp, [], step_s, detect_every_s)
    cfg = _config(peers)
    on_view = trust_view(store, cfg, now=now)
    on = _replay(fb, tp, [ExchangeDetector(on_view, keys)], step_s, detect_every_s)
    n_ind = sum(len(i.values) for i in derived.indicators)
    if poison <= 0:
        return Experiment(off, on, n_ind)
    targets = _legit_targets(tp.b.labels, poison)
    rb = scan([fb.events], accounts=fb.accounts)
    fake = describe_accounts(
        rb.state, keys, "fake", targets, 95, DeriveOptions(dominance=0.0), _at(now)
    )
    peers.append(_import(store, Publisher.generate("Provider M"), fake, trust))
    view = trust_view(store, _config(peers), now=now)
    poisoned = _replay(fb, tp, [ExchangeDetector(view, keys)], step_s, detect_every_s)
    return Experiment(off, on, n_ind, poisoned, tuple(targets))


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _config(peers: list[PeerConfig]) -> ExchangeConfig:
    return ExchangeConfig.model_validate(
        {
            "provider": "Provider B",
            "signing_key": "unused",
            "keyring": "unused",
            "peers": [p.model_dump() for p in peers],
        }
    )


def _import(store: ExchangeStore, pub: Publisher, derived: Derived, trust: float) -> PeerConfig:
    peer = PeerConfig(name=pub.name, public_key=public_key_text(pub.public_key), trust=trust)
    when = min((i.valid_from for i in derived.indicators), default=datetime.now(UTC))
    objects = build_publication(Mapper(pub), derived, now=when)
    result = import_objects(store, peer, objects, now=when)
    if result.rejected:
        raise RuntimeError(f"own publication rejected: {result.rejected[:3]}")
    return peer


def _legit_targets(labels: pa.Table, n: int) -> list[str]:
    """The heaviest hard-negative customers first: the ones a dishonest
    peer would most like to get suspended."""
    rows = [r for r in labels.to_pylist() if not r["malicious"]]
    rows.sort(key=lambda r: (not r["hard_negative"], r["account_id"]))
    return [r["account_id"] for r in rows[:n]]


def _replay(
    files: SimFiles, tp: TwoProviders, extra: list[ExchangeDetector], step_s: float, every: float
) -> Outcome:
    r: ReplayResult = replay(
        [files.events],
        accounts=files.accounts,
        detectors=default_detectors() + list(extra),
        step_s=step_s,
        detect_every_s=every,
    )
    labels = tp.b.labels
    scores = {a: s.score for a, s in r.detection.scores.accounts.items()}
    ev = evaluate(
        r.detection.actions,
        scores,
        labels,
        requests=r.requests,
        served_before_action=r.served_before_action,
        strongest=r.strongest_action,
    )
    malicious = {
        a
        for a, m in zip(
            *labels.select(["account_id", "malicious"]).to_pydict().values(), strict=True
        )
        if m
    }
    firsts = [t for a, t in r.first_action_at.items() if a in malicious]
    served = sum(c.served_before_action for c in ev.campaigns)
    total = sum(c.requests for c in ev.campaigns)
    benign = [p for p in ev.populations if not p.malicious]
    opened = _first_requests(tp.b.events, malicious)
    enforced_at = min(firsts, default=float("inf"))
    before = sum(r.served_before_action.get(a, 0) for a, t in opened.items() if t < enforced_at)
    matched = extra[0].first_matched if extra else None
    return Outcome(
        leakage=served / total if total else 0.0,
        time_to_detect_h=(min(firsts) - tp.attack_start_b) / 3600 if firsts else None,
        attack_enforced=sum(c.enforced for c in ev.campaigns),
        attack_accounts=sum(c.accounts for c in ev.campaigns),
        benign_enforced=sum(p.enforced for p in benign),
        benign_accounts=sum(p.accounts for p in benign),
        actions=dict(r.detection.actions),
        ever_enforced=frozenset(a for a, x in r.strongest_action.items() if x.enforced),
        leaked_before=before,
        leaked_after=sum(r.served_before_action.get(a, 0) for a in opened) - before,
        match_delay_h=None if matched is None else _median_delay(opened, matched),
        action_delay_h=_median_delay(opened, r.first_action_at),
    )


def _first_requests(events: pa.Table, accounts: set[str]) -> dict[str, float]:
    """Epoch seconds of each of ``accounts``' first request."""
    mine = events.filter(pc.is_in(events.column("account_id"), pa.array(sorted(accounts))))
    firsts = mine.group_by("account_id").aggregate([("ts", "min")])
    ts = firsts.column("ts_min").cast(pa.int64()).to_numpy() / 1e6
    return dict(zip(firsts.column("account_id").to_pylist(), ts.tolist(), strict=True))


def _median_delay(opened: dict[str, float], at: dict[str, float]) -> float | None:
    delays = [at[a] - t for a, t in opened.items() if a in at]
    return float(np.median(delays)) / 3600 if delays else None
