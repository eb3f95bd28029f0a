"""The ``simulate`` command.

Either call :func:`simulate_command` from an existing command, or mount the
sub-app: ``main_app.add_typer(app, name="simulate")`` gives
``distillguard simulate --out DIR [--events N] [--days D] ...``.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from distillguard._exceptions import ConfigError
from distillguard.simulate._config import SimConfig
from distillguard.simulate._generate import generate
from distillguard.simulate._write import FORMATS, SimFiles, write

app = typer.Typer(
    name="simulate",
    help="Simulate labelled API traffic (benign populations and harvesting campaigns).",
    pretty_exceptions_enable=False,
)


def _pairs(values: list[str] | None, cast: type[float] | type[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in values or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"expected NAME=VALUE, got {item!r}")
        try:
            out[name.strip()] = cast(value)
        except ValueError as exc:
            raise ConfigError(f"bad value in {item!r}") from exc
    return out


def simulate_command(
    out: Path,
    events: int = 1_000_000,
    seed: int = 0,
    fmt: str = "jsonl",
    corpora: Path | None = None,
    days: float = 7.0,
    *,
    demo: bool = False,
    scale: list[str] | None = None,
    campaigns: list[str] | None = None,
    release: datetime | None = None,
    console: Console | None = None,
) -> SimFiles:
    """Generate, write to ``out`` and print a summary of the populations.
    ``scale`` and ``campaigns`` take ``NAME=VALUE`` items. With ``demo`` the
    small preset is used and ``events``/``days`` are ignored."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    settings: dict[str, Any] = {
        "seed": seed,
        "corpora": corpora,
        "scale": _pairs(scale, float),
        "campaigns": _pairs(campaigns, int),
    }
    if release is not None:
        settings["new_model_release"] = release
    try:
        if demo:
            cfg = SimConfig.demo(**settings)
        else:
            cfg = SimConfig.model_validate(settings | {"n_events": events, "days": days})
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise ConfigError(f"invalid simulation settings: {exc}") from exc
    console = console or Console()
    t0 = time.perf_counter()
    result = generate(cfg)
    t1 = time.perf_counter()
    files = write(result, out, fmt)
    t2 = time.perf_counter()
    console.print(summary_table(result.manifest))
    console.print(
        f"{result.events.num_rows:,} requests, {result.accounts.num_rows:,} accounts: "
        f"generated in {t1 - t0:.1f} s, written in {t2 - t1:.1f} s -> {out}"
    )
    return files


def summary_table(manifest: dict[str, Any]) -> Table:
    """One row per population: label, accounts, requests, campaigns."""
    table = Table(title=f"Simulated traffic {manifest['start']} .. {manifest['end']}")
    for column in ("population", "label", "accounts", "requests", "campaigns"):
        table.add_column(column, justify="right" if column in ("accounts", "requests") else "left")
    for p in manifest["populations"]:
        label = "attack" if p["malicious"] else "hard negative" if p["hard_negative"] else "benign"
        style = "red" if p["malicious"] else "yellow" if p["hard_negative"] else None
        table.add_row(
            p["population"],
            label,
            f"{p['accounts']:,}",
            f"{p['requests']:,}",
            ", ".join(p["campaigns"]),
            style=style,
        )
    table.add_section()
    table.add_row("total", "", f"{manifest['accounts']:,}", f"{manifest['events']:,}", "")
    return table


@app.callback(invoke_without_command=True)
def main(
    out: Annotated[Path, typer.Option("--out", help="Folder to write into.")],
    events: Annotated[int, typer.Option("--events", help="Requests to generate (about).")] = (
        1_000_000
    ),
    days: Annotated[float, typer.Option("--days", help="Length of the window.")] = 7.0,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or parquet.")] = "jsonl",
    corpora: Annotated[
        Path | None,
        typer.Option("--corpora", envvar="DISTILLGUARD_CORPORA", help="Full corpora folder."),
    ] = None,
    demo: Annotated[bool, typer.Option("--demo", help="The small demo preset.")] = False,
    scale: Annotated[
        list[str] | None, typer.Option("--scale", help="POPULATION=FACTOR, repeatable.")
    ] = None,
    campaigns: Annotated[
        list[str] | None, typer.Option("--campaigns", help="STYLE=COUNT, repeatable.")
    ] = None,
) -> None:
    """Simulate a provider's traffic and write events, accounts, labels, manifest."""
    try:
        simulate_command(
            out, events, seed, fmt, corpora, days, demo=demo, scale=scale, campaigns=campaigns
        )
    except ConfigError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
