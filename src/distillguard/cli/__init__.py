"""The ``distillguard`` command line.

Exit codes: 0 success, 2 invalid configuration or usage, 3 unreadable input.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from distillguard._exceptions import ConfigError
from distillguard.cli import render
from distillguard.cli._common import err
from distillguard.cli._common import errors as _errors
from distillguard.cli.console import app as console_app
from distillguard.cli.decisions import app as decisions_app
from distillguard.cli.exchange import app as exchange_app
from distillguard.cli.gateway import app as gateway_app
from distillguard.cli.serve import serve as serve_cmd
from distillguard.cli.worker import worker as worker_cmd

if TYPE_CHECKING:
    from distillguard.detectors.base import Detector
    from distillguard.engine.replay import ReplayResult
    from distillguard.engine.scan import ScanResult

app = typer.Typer(
    name="distillguard",
    help="Detect and stop adversarial distillation campaigns in LLM API traffic.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console(stderr=False)

EventsArg = Annotated[
    list[Path], typer.Argument(help="Event files (JSONL[.gz], Parquet, CSV, OTLP JSON).")
]
AccountsOpt = Annotated[Path | None, typer.Option("--accounts", help="Account side table.")]
ProfileOpt = Annotated[Path | None, typer.Option("--profile", help="Policy profile (YAML).")]
FormatOpt = Annotated[str | None, typer.Option("--format", help="jsonl, parquet, csv or otlp.")]
LabelsOpt = Annotated[Path | None, typer.Option("--labels", help="Labels CSV to measure quality.")]
ExchangeOpt = Annotated[
    Path | None,
    typer.Option("--exchange", help="Exchange config: match indicators imported from peers."),
]
EngineOpt = Annotated[
    str, typer.Option("--engine", help="duckdb (embedded) or spark (Parquet input, pyspark).")
]
MasterOpt = Annotated[
    str, typer.Option("--spark-master", help="Spark master URL for --engine spark.")
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        help="Processes analysing prompts (embedded engine; default: the cores available).",
    ),
]


@contextmanager
def _progress(label: str) -> Iterator[object]:
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[events]:,} events"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None, events=0)

        def update(stage: str, done: int) -> None:
            bar.update(task, description=f"{label}: {stage}", events=done)

        yield update


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))


def _detectors(exchange: Path | None) -> list[Detector] | None:
    """The default detectors, plus matching of peers' indicators when an
    exchange config is given (imported evidence alone never enforces)."""
    if exchange is None:
        return None
    from distillguard.detectors import default_detectors
    from distillguard.exchange.config import load_config
    from distillguard.exchange.detector import ExchangeDetector
    from distillguard.exchange.keys import KeyRing
    from distillguard.exchange.store import ExchangeStore
    from distillguard.exchange.trust import trust_view

    cfg = load_config(exchange)
    view = trust_view(ExchangeStore(cfg.store), cfg)
    return [*default_detectors(), ExchangeDetector(view, KeyRing.load(cfg.keyring), cfg.allowlist)]


@app.command()
def scan(
    events: EventsArg,
    out: Annotated[Path, typer.Option("--out", help="Report JSON to write.")],
    accounts: AccountsOpt = None,
    profile: ProfileOpt = None,
    html: Annotated[Path | None, typer.Option("--html", help="HTML report to write.")] = None,
    fmt: FormatOpt = None,
    labels: LabelsOpt = None,
    rejects: Annotated[
        Path | None, typer.Option("--rejects", help="Write rejected records (JSONL).")
    ] = None,
    engine: EngineOpt = "duckdb",
    spark_master: MasterOpt = "local[*]",
    exchange: ExchangeOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Scan event files and write the report of every account and campaign."""
    from distillguard.report.json_report import build_report
    from distillguard.scoring import load_profile

    with _errors():
        run_scan = _scan_engine(engine, spark_master, workers)
        prof = load_profile(profile)
        t0 = time.perf_counter()
        with _progress("scan") as update:
            result = run_scan(
                events,
                accounts=accounts,
                profile=prof,
                fmt=fmt,
                progress=update,
                detectors=_detectors(exchange),
            )
        elapsed = time.perf_counter() - t0
        report = build_report(result.summary, result.detection)
        _write_json(out, report)
        if rejects is not None:
            _write_rejects(rejects, result.rejects)
        console.print(render.ingest_table(result.summary))
        console.print(render.actions_table(report))
        console.print(render.campaigns_table(report))
        console.print(render.accounts_table(report))
        if labels is not None:
            _print_evaluation(labels, result.detection)
        if html is not None:
            from distillguard.report.html import write_html

            write_html(html, report, result)
            console.print(f"HTML report: {html}")
        rate = result.summary.lines / elapsed if elapsed > 0 else 0.0
        console.print(f"Report: {out}  ({elapsed:.1f} s, {rate:,.0f} events/s)")


@app.command()
def replay(
    events: EventsArg,
    out: Annotated[Path, typer.Option("--out", help="Report JSON to write.")],
    accounts: AccountsOpt = None,
    profile: ProfileOpt = None,
    step: Annotated[float, typer.Option("--step", help="Step length in minutes.")] = 15.0,
    detect_every: Annotated[
        float | None,
        typer.Option(
            "--detect-every", help="Minutes between detection runs (default: every step)."
        ),
    ] = None,
    fmt: FormatOpt = None,
    labels: LabelsOpt = None,
    engine: EngineOpt = "duckdb",
    spark_master: MasterOpt = "local[*]",
    exchange: ExchangeOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Online backtest: process events in time order, acting as detection would."""
    from distillguard.report.json_report import build_report
    from distillguard.scoring import load_profile

    with _errors():
        run_replay = _replay_engine(engine, spark_master, workers)
        if step <= 0:
            raise ConfigError("--step must be positive")
        prof = load_profile(profile)
        t0 = time.perf_counter()
        with _progress("replay") as update:
            result = run_replay(
                events,
                accounts=accounts,
                profile=prof,
                step_s=step * 60,
                detect_every_s=None if detect_every is None else detect_every * 60,
                fmt=fmt,
                progress=update,
                detectors=_detectors(exchange),
            )
        elapsed = time.perf_counter() - t0
        report = build_report(
            result.summary,
            result.detection,
            first_action_at=result.first_action_at,
            detected_at=result.campaign_detected_at,
        )
        _write_json(out, report)
        console.print(render.ingest_table(result.summary))
        console.print(render.actions_table(report))
        console.print(render.campaigns_table(report))
        if labels is not None:
            from distillguard.engine.evaluate import evaluate, read_labels

            ev = evaluate(
                result.detection.actions,
                {a: s.score for a, s in result.detection.scores.accounts.items()},
                read_labels(labels),
                requests=result.requests,
                served_before_action=result.served_before_action,
                strongest=result.strongest_action,
            )
            render.print_all(console, render.evaluation_tables(ev, leakage=True))
        console.print(f"Report: {out}  ({result.steps} steps, {elapsed:.1f} s)")


def _scan_engine(engine: str, master: str, workers: int | None) -> Callable[..., ScanResult]:
    """The scan function of ``--engine`` (Spark's is imported only when asked for)."""
    if engine == "duckdb":
        from distillguard.engine.scan import scan as embedded
        from distillguard.signals.parallel import default_workers

        return partial(embedded, workers=workers or default_workers())
    if engine == "spark":
        from distillguard.engine.spark import require_pyspark
        from distillguard.engine.spark import scan as on_spark

        require_pyspark()
        return partial(on_spark, master=master)
    raise ConfigError(f"unknown engine {engine!r}: duckdb or spark")


def _replay_engine(engine: str, master: str, workers: int | None) -> Callable[..., ReplayResult]:
    """The replay function of ``--engine`` (Spark's is imported only when asked for)."""
    if engine == "duckdb":
        from distillguard.engine.replay import replay as embedded
        from distillguard.signals.parallel import default_workers

        return partial(embedded, workers=workers or default_workers())
    if engine == "spark":
        from distillguard.engine.spark import replay as on_spark
        from distillguard.engine.spark import require_pyspark

        require_pyspark()
        return partial(on_spark, master=master)
    raise ConfigError(f"unknown engine {engine!r}: duckdb or spark")


def _print_evaluation(labels: Path, detection: object) -> None:
    from distillguard.engine.detect import Detection
    from distillguard.engine.evaluate import evaluate, read_labels

    assert isinstance(detection, Detection)
    scores = {a: s.score for a, s in detection.scores.accounts.items()}
    ev = evaluate(detection.actions, scores, read_labels(labels))
    render.print_all(console, render.evaluation_tables(ev))


def _write_rejects(path: Path, rejects: object) -> None:
    import pyarrow as pa

    assert isinstance(rejects, pa.Table)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        for row in rejects.to_pylist():
            fh.write(orjson.dumps(row) + b"\n")


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo's files.")] = Path(
        "demo-out"
    ),
    seed: Annotated[int, typer.Option("--seed")] = 7,
    events: Annotated[
        int | None, typer.Option("--events", help="Requests to simulate (default: 150,000).")
    ] = None,
    corpora: Annotated[
        Path | None, typer.Option("--corpora", help="Full prompt corpora folder.")
    ] = None,
    live: Annotated[
        bool, typer.Option("--live", help="Run the live loop: a campaign stopped at the gateway.")
    ] = False,
) -> None:
    """Simulate a small provider's traffic, scan it, and show what was found."""
    if live:
        from distillguard.live.demo import live_demo_command

        live_demo_command(console, seed=seed, events=events)
        return
    from distillguard.engine.evaluate import evaluate, read_labels
    from distillguard.engine.scan import scan as run_scan
    from distillguard.report.html import write_html
    from distillguard.report.json_report import build_report
    from distillguard.signals.parallel import default_workers
    from distillguard.simulate import SimConfig, generate, write

    with _errors():
        t0 = time.perf_counter()
        overrides: dict[str, object] = {"seed": seed, "corpora": corpora}
        if events is not None:
            overrides["n_events"] = events
        cfg = SimConfig.demo(**overrides)
        with _progress("simulate") as update:
            update("generating traffic", 0)  # type: ignore[operator]
            sim = generate(cfg)
            files = write(sim, out)
        console.print(
            f"Simulated {sim.events.num_rows:,} requests from {sim.accounts.num_rows:,} accounts "
            f"in {time.perf_counter() - t0:.1f} s -> {out}"
        )
        t1 = time.perf_counter()
        with _progress("scan") as update:
            result = run_scan(
                [files.events],
                accounts=files.accounts,
                progress=update,  # type: ignore[arg-type]
                workers=default_workers(),
            )
        report = build_report(result.summary, result.detection)
        _write_json(out / "report.json", report)
        write_html(out / "report.html", report, result)
        console.print(render.ingest_table(result.summary))
        console.print(render.campaigns_table(report, limit=5))
        console.print(render.accounts_table(report, limit=8))
        scores = {a: s.score for a, s in result.detection.scores.accounts.items()}
        ev = evaluate(result.detection.actions, scores, read_labels(files.labels))
        render.print_all(console, render.evaluation_tables(ev))
        console.print(
            f"Scan took {time.perf_counter() - t1:.1f} s. Report: {out / 'report.json'}, "
            f"{out / 'report.html'}"
        )


def _mount_simulate() -> None:
    from distillguard.simulate.cli import app as simulate_app

    app.add_typer(simulate_app, name="simulate")


_mount_simulate()
app.add_typer(gateway_app, name="gateway")
app.add_typer(decisions_app, name="decisions")
app.add_typer(exchange_app, name="exchange")
app.add_typer(console_app, name="console")
app.command(name="serve")(serve_cmd)
app.command(name="worker")(worker_cmd)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
