"""``distillguard demo --live``: a harvesting campaign, live, from its first
request to its enforcement at the gateway.

In one process: the mock model server, the gateway, the decision service and
the detection loop (``LiveService``), each on a free port. The provider's
history (a simulated day of benign traffic) is spooled before the gateway
starts; then benign users and, from a known second, one harvesting campaign
send their requests through the gateway with httpx. The demo records every
answer (full, degraded, throttled, refused) and prints the timeline.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from distillguard._types import Action
from distillguard.decisions.model import DecisionType
from distillguard.events.accounts import read_accounts
from distillguard.gateway.mock import MockConfig, MockServer
from distillguard.gateway.server import BackgroundServer
from distillguard.live._traffic import Plan, Planned, build_plan, write_history
from distillguard.live.config import DecisionServiceConfig, LoopConfig, ServeConfig
from distillguard.live.loop import CycleStats
from distillguard.live.service import LiveService
from distillguard.simulate import SimConfig, generate


@dataclass(slots=True)
class Outcome:
    sent: float  # seconds after the live phase started
    account_id: str
    campaign: bool
    kind: str  # full, degraded, throttled, refused, error


@dataclass(slots=True)
class Timeline:
    """What the demo saw, in seconds after the live phase started."""

    campaign_start: float
    outcomes: list[Outcome] = field(default_factory=list)
    first_detection: float | None = None
    first_detection_action: str | None = None
    first_decision: float | None = None
    first_decision_type: str | None = None
    first_enforcing: float | None = None
    first_enforcing_type: str | None = None
    cycles: list[tuple[float, CycleStats]] = field(default_factory=list)

    def campaign(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.campaign]

    def first_enforced(self) -> Outcome | None:
        return next((o for o in self.campaign() if o.kind not in ("full", "error")), None)


@dataclass(frozen=True, slots=True)
class DemoSettings:
    seed: int = 7
    events: int = 40_000
    style: str = "proxy_swarm"
    style_scale: float = 4.0  # the campaign's population, times its default share
    campaign_start_s: float = 15.0
    campaign_rps: float = 100.0
    live_s: float = 75.0
    benign_speedup: float = 30.0
    interval_s: float = 5.0
    detect_every_s: float = 5.0
    concurrency: int = 32


class _Watch:
    """Loop listener: when detection first flagged, and first decided on, the campaign."""

    def __init__(self, timeline: Timeline, members: set[str], t0: list[float]) -> None:
        self.timeline, self.members, self.t0 = timeline, members, t0

    def __call__(self, stats: CycleStats) -> None:
        if not self.t0:
            return
        at = time.time() - self.t0[0]
        tl = self.timeline
        tl.cycles.append((at, stats))
        det = stats.detection
        if det is not None and tl.first_detection is None:
            flagged = [
                det.actions[a]
                for a in self.members
                if det.actions.get(a, Action.ALLOW) != Action.ALLOW
            ]
            if flagged:
                tl.first_detection = at
                tl.first_detection_action = max(flagged, key=lambda a: a.rank).value
        pub = stats.published
        if pub is None:
            return
        made = [d for d in pub.new + pub.escalated if d.value in self.members]
        if made and tl.first_decision is None:
            tl.first_decision = at
            tl.first_decision_type = max(made, key=lambda d: d.type.rank).type.value
        enforcing = [d for d in made if d.type.rank > DecisionType.REVIEW.rank]
        if enforcing and tl.first_enforcing is None:
            tl.first_enforcing = at
            tl.first_enforcing_type = max(enforcing, key=lambda d: d.type.rank).type.value


async def _drive(url: str, plan: Plan, timeline: Timeline, t0: float, concurrency: int) -> None:
    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30.0, limits=limits) as client:

        async def one(p: Planned) -> None:
            async with sem:
                kind = await _send(client, p)
            timeline.outcomes.append(Outcome(p.at, p.account_id, p.campaign, kind))

        tasks = []
        for p in plan.requests:
            delay = t0 + p.at - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(p)))
        await asyncio.gather(*tasks)


async def _send(client: httpx.AsyncClient, p: Planned) -> str:
    try:
        resp = await client.post("/v1/chat/completions", json=p.body, headers=p.headers)
    except httpx.HTTPError:
        return "error"
    if resp.status_code == 403:
        return "refused"
    if resp.status_code == 429:
        return "throttled"
    if resp.status_code != 200:
        return "error"
    message = resp.json()["choices"][0]["message"]
    return "full" if message.get("reasoning_content") else "degraded"


@contextmanager
def _services(
    folder: Path, plan: Plan, settings: DemoSettings, listener: _Watch
) -> Iterator[tuple[LiveService, float]]:
    accounts = folder / "accounts.parquet"
    import pyarrow.parquet as pq

    pq.write_table(plan.accounts, accounts)
    read_accounts(accounts)  # validated like any side table
    with BackgroundServer(MockServer(MockConfig())) as mock:
        cfg = ServeConfig(
            data_dir=folder / "data",
            upstream=mock.url,
            gateway={
                "port": 0,
                "account_header": "x-account",
                "trust_forwarded_for": True,
                "decisions": {"poll_interval_s": 0.5},
            },
            decisions=DecisionServiceConfig(port=0),
            loop=LoopConfig(
                interval_s=settings.interval_s,
                detect_every_s=settings.detect_every_s,
                accounts=accounts,
            ),
        )
        history = write_history(plan.history, cfg.spool_dir)
        service = LiveService(cfg, listeners=[listener])
        t = time.perf_counter()
        service.loop.run_once(force_detect=True)
        warm = time.perf_counter() - t
        with service:
            yield service, warm
        _ = history


def run_live_demo(console: Console, settings: DemoSettings | None = None) -> Timeline:
    """Run the live demo and print its timeline; returns what it saw."""
    s = settings or DemoSettings()
    console.print(f"Simulating a small provider's day ({s.events:,} requests) ...")
    sim = generate(
        SimConfig.demo(seed=s.seed, n_events=s.events, days=1.0, scale={s.style: s.style_scale})
    )
    plan = build_plan(
        sim,
        now=time.time(),
        style=s.style,
        campaign_start_s=s.campaign_start_s,
        campaign_rps=s.campaign_rps,
        live_s=s.live_s,
        benign_speedup=s.benign_speedup,
    )
    n_campaign = sum(1 for p in plan.requests if p.campaign)
    timeline = Timeline(campaign_start=s.campaign_start_s)
    t0: list[float] = []
    watch = _Watch(timeline, plan.campaign_accounts, t0)
    with tempfile.TemporaryDirectory(prefix="distillguard-live-") as tmp:
        console.print(
            f"History: {plan.history.num_rows:,} benign requests of the day before now, "
            "written to the gateway's spool before it starts (not sent through it)."
        )
        with _services(Path(tmp), plan, s, watch) as (service, warm):
            console.print(
                f"Detection loop absorbed the history in {warm:.1f} s; gateway on "
                f"{service.urls()['gateway']}, decision service on {service.urls()['decisions']}."
            )
            console.print(
                f"Live for {s.live_s:.0f} s: benign users (their pacing compressed "
                f"{s.benign_speedup:g}x) and, from second {s.campaign_start_s:g}, campaign "
                f"{plan.campaign_id} ({len(plan.campaign_accounts)} accounts, {n_campaign:,} "
                f"requests at {s.campaign_rps:g}/s, wall-clock speed). Loop: spool read every "
                f"{s.interval_s:g} s, detection every {s.detect_every_s:g} s."
            )
            t0.append(time.time())
            asyncio.run(_drive(service.urls()["gateway"], plan, timeline, t0[0], s.concurrency))
    print_timeline(console, timeline)
    return timeline


def print_timeline(console: Console, tl: Timeline) -> None:
    camp = tl.campaign()
    enforced = tl.first_enforced()
    cut = enforced.sent if enforced is not None else float("inf")
    before = [o for o in camp if o.sent < cut]
    after = [o for o in camp if o.sent >= cut]
    benign = [o for o in tl.outcomes if not o.campaign]
    table = Table(title="Live timeline (seconds of campaign time = wall seconds)")
    table.add_column("event")
    table.add_column("at", justify="right")
    table.add_column("campaign +s", justify="right")
    table.add_column("detail")

    def row(name: str, at: float | None, detail: str) -> None:
        if at is None:
            table.add_row(name, "-", "-", "never")
        else:
            table.add_row(name, f"{at:.1f}", f"{at - tl.campaign_start:.1f}", detail)

    row("campaign starts", tl.campaign_start, f"{len(camp):,} requests sent in all")
    row("first detection", tl.first_detection, f"profile action {tl.first_detection_action}")
    row("first decision stored", tl.first_decision, f"type {tl.first_decision_type}")
    row("first enforcing decision", tl.first_enforcing, f"type {tl.first_enforcing_type}")
    row(
        "first enforcement at the gateway",
        enforced.sent if enforced else None,
        enforced.kind if enforced else "",
    )
    console.print(table)
    kinds = ("full", "degraded", "throttled", "refused", "error")
    counts = Table(title="Answers")
    counts.add_column("requests")
    for k in kinds:
        counts.add_column(k, justify="right")
    for name, group in (
        ("campaign, before enforcement", before),
        ("campaign, after", after),
        ("benign", benign),
    ):
        counts.add_row(name, *(f"{sum(1 for o in group if o.kind == k):,}" for k in kinds))
    console.print(counts)
    harvested = sum(1 for o in before if o.kind == "full")
    refused_benign = sum(1 for o in benign if o.kind in ("refused", "throttled", "degraded"))
    if enforced is not None:
        console.print(
            f"The campaign harvested {harvested:,} full answers (with reasoning) in "
            f"{enforced.sent - tl.campaign_start:.1f} s before it was stopped; "
            f"benign requests refused, throttled or degraded: {refused_benign}."
        )
    else:
        console.print(
            f"The campaign was not stopped during the demo ({harvested:,} full answers); "
            f"benign requests refused, throttled or degraded: {refused_benign}."
        )


def live_demo_command(console: Console, *, seed: int, events: int | None) -> None:
    """``distillguard demo --live``."""
    settings = DemoSettings(seed=seed)
    if events is not None:
        settings = DemoSettings(seed=seed, events=events)
    run_live_demo(console, settings)
