"""Benchmark of ``/v1/check`` and the decision stream.

Loads ``--cidrs`` CIDR blocks and ``--accounts`` account decisions, then prints:

1. the in-process matcher alone: checks per second on one core and latency
   percentiles (random accounts, half of them decided, and random addresses);
2. ``/v1/check`` over HTTP: a real ``distillguard decisions serve`` (one uvicorn
   worker) loaded from an SQLite store, driven by ``wrk`` from another process
   with many keep-alive connections; requests per second and latency
   percentiles as wrk measures them;
3. the stream with ``--expired`` long-expired rows in the store: the time of a
   start-up snapshot, an empty delta and a delta of a few changes, then of the
   purge of those rows (SQLite, and PostgreSQL with ``--pg URL``).

    apt-get install wrk          # the load generator (Debian package)
    python benchmarks/bench_check.py [--cidrs 100000] [--accounts 1000000]
        [--duration 10] [--connections 64] [--expired 1000000]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy import Engine, create_engine, text

from distillguard.decisions import Decision, DecisionMatcher, RequestContext, ThrottleParams
from distillguard.decisions.model import DecisionType, Origin, Scope
from distillguard.decisions.store import DecisionStore

T = TypeVar("T")

WRK_SCRIPT = """
math.randomseed(%(seed)d)
request = function()
  local acct = "acct_" .. math.random(0, %(pool)d)
  local ip = math.random(1, 223) .. "." .. math.random(0, 255) .. "." ..
             math.random(0, 255) .. "." .. math.random(1, 254)
  return wrk.format("GET", "/v1/check",
                    {["X-DistillGuard-Account"] = acct, ["X-Forwarded-For"] = ip})
end
"""

_TYPES = [DecisionType.REVIEW, DecisionType.DEGRADE, DecisionType.SUSPEND, DecisionType.BLOCK]


def make_decisions(n_cidrs: int, n_accounts: int, seed: int = 7) -> list[Decision]:
    """Random /24 and /16 blocks and decided accounts ``acct_0`` … ``acct_{n-1}``."""
    rng = random.Random(seed)
    out: list[Decision] = []
    now = datetime.now(UTC)
    nets: set[str] = set()
    while len(nets) < n_cidrs:
        a, b, c = rng.randint(1, 223), rng.randint(0, 255), rng.randint(0, 255)
        nets.add(f"{a}.{b}.0.0/16" if rng.random() < 0.02 else f"{a}.{b}.{c}.0/24")
    for net in sorted(nets):
        out.append(_fast(DecisionType.BLOCK, Scope.CIDR, net, now))
    for i in range(n_accounts):
        kind = _TYPES[i % len(_TYPES)] if i % 5 else DecisionType.THROTTLE
        out.append(_fast(kind, Scope.ACCOUNT, f"acct_{i}", now))
    return out


def _fast(kind: DecisionType, scope: Scope, value: str, now: datetime) -> Decision:
    # Values are canonical already; skip validation to build a million quickly.
    params = None
    if kind is DecisionType.THROTTLE:
        params = ThrottleParams.model_construct(requests_per_minute=600, tokens_per_minute=None)
    return Decision.model_construct(
        id=os.urandom(16).hex(),
        type=kind,
        scope=scope,
        value=value,
        params=params,
        until=now + timedelta(days=7),
        origin=Origin.DETECTOR,
        reason="benchmark",
        simulated=False,
        created_at=now,
    )


def random_contexts(n: int, pool: int, seed: int = 11) -> list[RequestContext]:
    rng = random.Random(seed)
    return [
        RequestContext(
            account_id=f"acct_{rng.randint(0, pool)}",
            ip=f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        )
        for _ in range(n)
    ]


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 10) - 1]


def bench_matcher(decisions: list[Decision], pool: int, n: int) -> None:
    t0 = time.perf_counter()
    matcher = DecisionMatcher()
    matcher.replace(decisions)
    gc.collect()
    gc.freeze()  # as the decision service does after its start-up snapshot
    print(f"matcher: loaded {len(matcher):,} decisions in {time.perf_counter() - t0:.1f} s")
    ctxs = random_contexts(n, pool)
    now = datetime.now(UTC)
    lat: list[float] = []
    enforced = 0
    t0 = time.perf_counter()
    for ctx in ctxs:
        s = time.perf_counter_ns()
        v = matcher.check(ctx, now)
        lat.append((time.perf_counter_ns() - s) / 1000)
        enforced += v.action is not None
    wall = time.perf_counter() - t0
    print(
        f"matcher: {n / wall:,.0f} checks/s on one core; latency p50 {pct(lat, 50):.1f} µs, "
        f"p99 {pct(lat, 99):.1f} µs, max {max(lat):.0f} µs; {enforced / n:.0%} matched"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_http(decisions: list[Decision], pool: int, args: argparse.Namespace, tmp: Path) -> None:
    wrk = shutil.which("wrk")
    if wrk is None:
        print("http: skipped, wrk is not installed (apt-get install wrk)")
        return
    db = f"sqlite:///{tmp / 'check.db'}"
    t0 = time.perf_counter()
    store = DecisionStore(db)
    store.add(decisions)
    store.close()
    print(f"http: stored {len(decisions):,} decisions in {time.perf_counter() - t0:.1f} s")
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("distillguard")), "decisions", "serve", "--db", db,
         "--port", str(port), "--log-level", "warning"],
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        t0 = time.perf_counter()
        _wait_ready(base, server)
        print(f"http: service ready (snapshot loaded) in {time.perf_counter() - t0:.1f} s")
        script = tmp / "check.lua"
        script.write_text(WRK_SCRIPT % {"seed": 3, "pool": pool})
        for conns in (args.connections, args.latency_connections):
            cmd = [wrk, "-t1", f"-c{conns}", f"-d{args.duration}s", "--latency",
                   "-s", str(script), base]  # fmt: skip
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            print(f"http: wrk -t1 -c{conns} -d{args.duration}s against one worker:")
            for line in out.splitlines():
                if line.strip().startswith(("50%", "90%", "99%", "Requests/sec", "Non-2xx")):
                    print("   ", line.strip())
        metrics = httpx.get(f"{base}/metrics").text
        for line in metrics.splitlines():
            if line.startswith("distillguard_check_verdicts_total"):
                print("   ", line)
        print(f"http: server-side check latency (histogram): {server_latency(metrics)}")
    finally:
        server.terminate()
        server.wait(30)


def server_latency(metrics: str) -> str:
    """Share of checks answered within each bound, and the bound that holds p99."""
    buckets: list[tuple[float, float]] = []
    for line in metrics.splitlines():
        if line.startswith("distillguard_check_latency_seconds_bucket"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float(le), float(line.rsplit(" ", 1)[1])))
    total = buckets[-1][1] if buckets else 0.0
    if not total:
        return "no checks"
    p99 = next(le for le, n in buckets if n >= 0.99 * total)
    within = ", ".join(
        f"{n / total:.2%} <= {le * 1000:g} ms" for le, n in buckets if le in (0.001, 0.002)
    )
    return f"p99 <= {p99 * 1000:g} ms; {within}"


def _wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("decision service exited")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("decision service not ready in time")


def timed(fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float]:
    """``fn``'s result and the seconds it took."""
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - t0


def bench_stream(url: str | Engine, n_expired: int, label: str) -> None:
    store = DecisionStore(url)
    now = datetime.now(UTC)
    old = now - timedelta(days=30)
    t0 = time.perf_counter()
    batch: list[Decision] = []
    for i in range(n_expired):
        d = _fast(DecisionType.BLOCK, Scope.ACCOUNT, f"gone_{i}", old)
        batch.append(d.model_copy(update={"until": old + timedelta(hours=1)}))
        if len(batch) == 50_000:
            store.add(batch)
            batch = []
    store.add(batch)
    store.add([_fast(DecisionType.SUSPEND, Scope.ACCOUNT, f"live_{i}", now) for i in range(1000)])
    print(
        f"stream[{label}]: stored {n_expired:,} expired + 1,000 live rows in {time.perf_counter() - t0:.0f} s"
    )
    store.add_enforcer("bench")

    snap, t_snap = timed(store.stream, "bench", startup=True)
    empty, t_empty = timed(store.stream, "bench")
    store.add([_fast(DecisionType.BLOCK, Scope.IP, f"192.0.2.{i}", now) for i in range(50)])
    for d in snap.new[:50]:
        store.delete(d.id)
    delta, t_delta = timed(store.stream, "bench")
    print(
        f"stream[{label}]: startup snapshot {len(snap.new):,} decisions in {t_snap * 1000:.1f} ms; "
        f"empty delta in {t_empty * 1000:.1f} ms; delta of {len(delta.new)} new + "
        f"{len(delta.deleted)} deleted in {t_delta * 1000:.1f} ms"
    )
    assert (len(snap.new), empty.new, empty.deleted) == (1000, [], [])
    purged, t_purge = timed(store.purge, timedelta(days=7))
    after, t_after = timed(store.stream, "bench")
    print(
        f"stream[{label}]: purge of {purged:,} rows expired 30 days ago in {t_purge:.1f} s "
        f"({purged / t_purge:,.0f} rows/s, batches of 1,000); "
        f"the next pull a delta (startup={after.startup}) in {t_after * 1000:.1f} ms"
    )
    store.close()


@contextmanager
def scratch_schema(url: str) -> Iterator[Engine]:
    """An engine working in a new schema of ``url``'s database, dropped after."""
    admin = create_engine(url)
    schema = f"dg_bench_{os.urandom(6).hex()}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cidrs", type=int, default=100_000)
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--checks", type=int, default=200_000, help="in-process checks to time")
    ap.add_argument("--duration", type=int, default=10, help="seconds of HTTP load")
    ap.add_argument("--connections", type=int, default=64, help="for throughput")
    ap.add_argument("--latency-connections", type=int, default=1, help="for latency")
    ap.add_argument("--expired", type=int, default=1_000_000)
    ap.add_argument("--pg", help="also measure the stream on this PostgreSQL URL")
    ap.add_argument("--skip", nargs="*", default=[], choices=["matcher", "http", "stream"])
    args = ap.parse_args()

    pool = 2 * args.accounts  # half of the checked accounts have a decision
    t0 = time.perf_counter()
    decisions = make_decisions(args.cidrs, args.accounts)
    print(f"built {len(decisions):,} decisions in {time.perf_counter() - t0:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        if "matcher" not in args.skip:
            bench_matcher(decisions, pool, args.checks)
        if "http" not in args.skip:
            bench_http(decisions, pool, args, Path(tmp))
        del decisions
        if "stream" not in args.skip:
            bench_stream(f"sqlite:///{Path(tmp) / 'stream.db'}", args.expired, "sqlite")
            if args.pg:
                with scratch_schema(args.pg) as engine:
                    bench_stream(engine, args.expired, "postgresql")


if __name__ == "__main__":
    main()
