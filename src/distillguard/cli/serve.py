"""``distillguard serve``: gateway, detection loop and decision service in one process."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from distillguard.cli._common import err, errors


def serve(
    config: Annotated[Path | None, typer.Option("--config", help="Serve config (YAML).")] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Spool, detection state, decisions.")
    ] = None,
    upstream: Annotated[
        str | None, typer.Option("--upstream", help="Model server base URL.")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="Gateway port.")] = None,
    decisions_port: Annotated[
        int | None, typer.Option("--decisions-port", help="Decision service port.")
    ] = None,
    keys: Annotated[Path | None, typer.Option("--keys", help="API key file (YAML or CSV).")] = None,
    profile: Annotated[
        Path | None, typer.Option("--profile", help="Policy profile (YAML).")
    ] = None,
    accounts: Annotated[Path | None, typer.Option("--accounts", help="Account side table.")] = None,
    interval: Annotated[
        float | None, typer.Option("--interval", help="Seconds between spool reads.")
    ] = None,
    detect_every: Annotated[
        float | None, typer.Option("--detect-every", help="Seconds between detection runs.")
    ] = None,
    shadow: Annotated[
        bool | None,
        typer.Option("--shadow/--enforce", help="Write simulated decisions only (shadow mode)."),
    ] = None,
    console_port: Annotated[
        int | None, typer.Option("--console-port", help="Serve the analyst console on this port.")
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level")] = "info",
) -> None:
    """Run the gateway, the detection loop on its spooled traffic, and the
    decision service, until interrupted."""
    from distillguard.live.config import load_serve_config
    from distillguard.live.service import LiveService

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    with errors():
        gateway = {"port": port, "keys": str(keys) if keys else None}
        cfg = load_serve_config(
            config,
            data_dir=data_dir,
            upstream=upstream,
            gateway=gateway,
            decisions={"port": decisions_port},
            loop={
                "profile": profile,
                "accounts": accounts,
                "interval_s": interval,
                "detect_every_s": detect_every,
                "shadow": shadow,
            },
        )
        from distillguard.cli.console import live_console

        extra = [live_console(console_port)] if console_port else []
        service = LiveService(cfg, extra_apps=extra)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with service:
        for name, url in service.urls().items():
            err.print(f"{name} on {url}")
        mode = "shadow (simulated decisions)" if cfg.loop.shadow else "enforcing"
        err.print(
            f"detection loop on {cfg.spool_dir} every {cfg.loop.interval_s:g} s, {mode}; "
            "Ctrl-C to stop"
        )
        stop.wait()
        err.print("stopping")
