"""Latency the gateway adds: the same requests sent straight to the mock model
server and through the gateway (and, when ``litellm[proxy]`` is installed —
the ``bench`` extra — through the LiteLLM proxy on the same upstream), at a
moderate paced load. Each server runs in its own process; the targets are
measured in interleaved rounds so that drift on a shared machine hits all alike.

    python benchmarks/bench_gateway.py --requests 3000 --rate 200
    python benchmarks/bench_gateway.py --stream --throttled

Added latency = a percentile through the proxy minus the same percentile
direct. The gateway runs as deployed: API keys, decision matcher, traffic spool
(fsync every second), Prometheus metrics; ``--throttled`` also puts every
request through the rate limiter (in-process counters).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml
from rich.console import Console
from rich.table import Table

KEY = "sk-bench-0001"
BODY = {
    "model": "mock-reasoner",
    "messages": [
        {"role": "user", "content": "What is the derivative of x^3 + 2x? Explain briefly."}
    ],
    "max_tokens": 256,
}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(
    cmd: list[str], url: str, probe: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(
                f"{cmd[0]} exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}"
            )
        try:
            if httpx.get(url + probe, timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{cmd} did not come up at {url}")


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from distillguard.cli import main; main()", *args]


async def _measure(url: str, n: int, rate: float, stream: bool) -> list[float]:
    """Latencies (s) of ``n`` requests sent at ``rate`` per second (open loop)."""
    body = {**BODY, "stream": stream}
    headers = {"authorization": f"Bearer {KEY}"}
    out: list[float] = []
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:

        async def one() -> None:
            t = time.perf_counter()
            if stream:
                async with client.stream("POST", "/v1/chat/completions", json=body) as r:
                    async for _ in r.aiter_raw():
                        pass
            else:
                r = await client.post("/v1/chat/completions", json=body)
            out.append(time.perf_counter() - t)
            assert r.status_code == 200, r.status_code

        t0 = time.perf_counter()
        tasks = []
        for i in range(n):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return out


def _pct(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1]
        if len(values) > 1
        else values[0]
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=3000, help="per target")
    ap.add_argument("--rate", type=float, default=200.0, help="requests per second")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--stream", action="store_true")
    ap.add_argument("--throttled", action="store_true", help="rate-limit every request")
    ap.add_argument("--no-litellm", action="store_true")
    args = ap.parse_args()
    console = Console()
    work = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        mock_url = f"http://127.0.0.1:{_port()}"
        procs.append(
            _start(
                _cli("gateway", "mock", "--port", mock_url.rsplit(":", 1)[1]),
                mock_url,
                "/v1/models",
            )
        )
        (work / "keys.yaml").write_text(
            yaml.safe_dump([{"api_key": KEY, "account_id": "acct_bench"}])
        )
        gw_port = _port()
        config: dict[str, object] = {
            "upstream": mock_url,
            "port": gw_port,
            "keys": str(work / "keys.yaml"),
            "spool": {"dir": str(work / "spool"), "fsync": "interval"},
        }
        if args.throttled:
            config["ratelimit"] = {
                "requests_per_minute": 10_000_000,
                "tokens_per_minute": 10_000_000_000,
            }
        (work / "gateway.yaml").write_text(yaml.safe_dump(config))
        gw_url = f"http://127.0.0.1:{gw_port}"
        procs.append(
            _start(
                _cli("gateway", "run", "--config", str(work / "gateway.yaml")), gw_url, "/healthz"
            )
        )
        targets = {"direct": mock_url, "distillguard": gw_url}
        litellm_note = ""
        if args.no_litellm:
            litellm_note = "LiteLLM: skipped (--no-litellm)"
        elif (
            importlib.util.find_spec("litellm") is None
            or shutil.which("litellm", path=str(Path(sys.executable).parent)) is None
        ):
            litellm_note = "LiteLLM: not installed (pip install -e '.[bench]' to compare)"
        else:
            targets["litellm"] = _start_litellm(work, mock_url, procs)
        for url in targets.values():  # warm up connections and caches
            asyncio.run(_measure(url, 200, args.rate, args.stream))
        lat: dict[str, list[float]] = {k: [] for k in targets}
        per_round = max(1, args.requests // args.rounds)
        for _ in range(args.rounds):
            for name, url in targets.items():
                lat[name] += asyncio.run(_measure(url, per_round, args.rate, args.stream))
        _report(console, lat, args, litellm_note)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)


def _start_litellm(work: Path, mock_url: str, procs: list[subprocess.Popen[bytes]]) -> str:
    port = _port()
    cfg = {
        "model_list": [
            {
                "model_name": "mock-reasoner",
                "litellm_params": {
                    "model": "openai/mock-reasoner",
                    "api_base": mock_url + "/v1",
                    "api_key": "unused",
                },
            }
        ],
        "litellm_settings": {"telemetry": False, "drop_params": True},
        "general_settings": {"master_key": KEY},
    }
    (work / "litellm.yaml").write_text(yaml.safe_dump(cfg))
    exe = str(Path(sys.executable).parent / "litellm")
    env = {
        **os.environ,
        "LITELLM_LOG": "ERROR",
        "LITELLM_TELEMETRY": "False",
        "DISABLE_SCHEMA_UPDATE": "True",
    }
    url = f"http://127.0.0.1:{port}"
    procs.append(
        _start(
            [
                exe,
                "--config",
                str(work / "litellm.yaml"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--num_workers",
                "1",
            ],
            url,
            "/health/liveliness",
            env,
        )
    )
    return url


def _report(
    console: Console, lat: dict[str, list[float]], args: argparse.Namespace, note: str
) -> None:
    kind = "streamed" if args.stream else "plain"
    table = Table(
        title=f"chat completions ({kind}), {args.rate:g} req/s, {len(lat['direct'])} per target; ms"
    )
    for col in ("target", "p50", "p90", "p99", "added p50", "added p99"):
        table.add_column(col, justify="right")
    base = {q: _pct(lat["direct"], q) for q in (50, 90, 99)}
    added: dict[str, tuple[float, float]] = {}
    for name, values in lat.items():
        p = {q: _pct(values, q) for q in (50, 90, 99)}
        added[name] = (p[50] - base[50], p[99] - base[99])
        extra = (
            ("", "")
            if name == "direct"
            else (f"{added[name][0] * 1e3:.3f}", f"{added[name][1] * 1e3:.3f}")
        )
        table.add_row(name, *(f"{p[q] * 1e3:.3f}" for q in (50, 90, 99)), *extra)
    console.print(table)
    dg = added["distillguard"]
    console.print(
        f"DistillGuard added latency: p50 {dg[0] * 1e3:.3f} ms (target <= 1), p99 {dg[1] * 1e3:.3f} ms (target <= 5)"
    )
    if "litellm" in added:
        ll = added["litellm"]
        console.print(
            f"LiteLLM added latency: p50 {ll[0] * 1e3:.3f} ms, p99 {ll[1] * 1e3:.3f} ms; "
            f"DistillGuard / LiteLLM at p50: {dg[0] / ll[0]:.3f} (target <= 0.2)"
        )
    else:
        console.print(note)


if __name__ == "__main__":
    main()
