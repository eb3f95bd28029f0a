"""``distillguard gateway run`` and ``distillguard gateway mock``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Literal

import typer

from distillguard.cli._common import err, errors

app = typer.Typer(
    name="gateway",
    help="The enforcement gateway (OpenAI-compatible proxy) and a mock model server.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.command()
def run(
    config: Annotated[Path | None, typer.Option("--config", help="Gateway config (YAML).")] = None,
    upstream: Annotated[
        str | None, typer.Option("--upstream", help="Model server base URL.")
    ] = None,
    host: Annotated[str | None, typer.Option("--host")] = None,
    port: Annotated[int | None, typer.Option("--port")] = None,
    keys: Annotated[Path | None, typer.Option("--keys", help="API key file (YAML or CSV).")] = None,
    account_header: Annotated[
        str | None, typer.Option("--account-header", help="Trusted header naming the account.")
    ] = None,
    ratelimit_storage: Annotated[
        str | None, typer.Option("--ratelimit-storage", help="memory:// or redis://host:port/db")
    ] = None,
    ratelimit_fail: Annotated[
        str | None, typer.Option("--ratelimit-fail", help="open or closed when storage is down.")
    ] = None,
    decisions_url: Annotated[
        str | None, typer.Option("--decisions-url", help="Decision service base URL.")
    ] = None,
    decisions_token: Annotated[
        str | None, typer.Option("--decisions-token", envvar="DISTILLGUARD_DECISIONS_TOKEN")
    ] = None,
    decisions_db: Annotated[
        str | None, typer.Option("--decisions-db", help="Decision database (SQLAlchemy URL).")
    ] = None,
    decisions_redis: Annotated[
        str | None,
        typer.Option("--decisions-redis", help="Redis decision cache (decisions mirror)."),
    ] = None,
    decisions_fail: Annotated[
        str | None,
        typer.Option("--decisions-fail", help="open or closed when decisions are stale."),
    ] = None,
    spool: Annotated[Path | None, typer.Option("--spool", help="Traffic spool folder.")] = None,
    fsync: Annotated[str | None, typer.Option("--fsync", help="always, interval or never.")] = None,
    log_level: Annotated[str, typer.Option("--log-level")] = "warning",
) -> None:
    """Run the gateway."""
    from distillguard.gateway import Gateway, load_config
    from distillguard.gateway.server import serve

    with errors():
        cfg = load_config(
            config,
            upstream=upstream,
            host=host,
            port=port,
            keys=keys,
            account_header=account_header,
            ratelimit={"storage": ratelimit_storage, "fail_open": _fail_open(ratelimit_fail)},
            decisions={
                "url": decisions_url,
                "token": decisions_token,
                "database": decisions_db,
                "redis": decisions_redis,
                "fail_open": _fail_open(decisions_fail),
            },
            spool={"dir": spool, "fsync": fsync},
        )
        gateway = Gateway(cfg)
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    err.print(f"gateway on http://{cfg.host}:{cfg.port} -> {cfg.upstream}")
    serve(gateway, cfg.host, cfg.port, log_level=log_level)


def _fail_open(value: str | None) -> bool | None:
    if value is None:
        return None
    mode: dict[str, Literal[True, False]] = {"open": True, "closed": False}
    if value not in mode:
        err.print(f"[red]error:[/red] expected open or closed, got {value!r}")
        raise typer.Exit(2)
    return mode[value]


@app.command()
def mock(
    port: Annotated[int, typer.Option("--port")] = 8001,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    think: Annotated[
        bool, typer.Option("--think", help="Also put the reasoning in a <think> block.")
    ] = False,
    latency_ms: Annotated[
        float, typer.Option("--latency-ms", help="Delay before answering.")
    ] = 0.0,
    chunk_delay_ms: Annotated[
        float, typer.Option("--chunk-delay-ms", help="Delay between streamed chunks.")
    ] = 0.0,
) -> None:
    """Run the mock OpenAI-compatible model server."""
    from distillguard.gateway.mock import MockConfig, MockServer
    from distillguard.gateway.server import serve

    if latency_ms < 0 or chunk_delay_ms < 0:
        err.print("[red]error:[/red] delays must not be negative")
        raise typer.Exit(2)
    server = MockServer(
        MockConfig(latency_ms=latency_ms, chunk_delay_ms=chunk_delay_ms, think=think)
    )
    err.print(f"mock model server on http://{host}:{port}")
    serve(server, host, port)
