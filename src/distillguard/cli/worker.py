"""``distillguard worker``: the detection loop alone, on the gateways' traffic
from NATS JetStream (or from a spool folder), writing decisions to a store
the gateways pull from."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from distillguard.cli._common import err, errors

if TYPE_CHECKING:
    from distillguard.live.config import LoopConfig
    from distillguard.streaming import WorkerSettings


def worker(
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Detection state (and spool, for --source spool).")
    ] = Path("distillguard-data"),
    source: Annotated[
        Literal["jetstream", "spool"],
        typer.Option("--source", help="Where the traffic comes from."),
    ] = "jetstream",
    nats_url: Annotated[str, typer.Option("--nats-url")] = "nats://127.0.0.1:4222",
    stream: Annotated[str, typer.Option("--stream", help="JetStream stream name.")] = "DG_TRAFFIC",
    subject: Annotated[str, typer.Option("--subject")] = "dg.traffic",
    consumer: Annotated[str, typer.Option("--consumer", help="Durable consumer name.")] = "detect",
    batch: Annotated[int, typer.Option("--batch", help="Messages per micro-batch.")] = 5000,
    linger: Annotated[float, typer.Option("--linger", help="Seconds to fill a batch.")] = 1.0,
    ack_wait: Annotated[float, typer.Option("--ack-wait", help="Redelivery after (s).")] = 60.0,
    max_msgs: Annotated[
        int, typer.Option("--max-msgs", help="Stream backlog limit (messages).")
    ] = 5_000_000,
    max_bytes: Annotated[int, typer.Option("--max-bytes", help="Stream backlog limit (bytes).")] = 8
    << 30,
    decisions_db: Annotated[
        str | None,
        typer.Option("--decisions-db", help="Decision store URL; default sqlite in data dir."),
    ] = None,
    profile: Annotated[Path | None, typer.Option("--profile", help="Policy profile.")] = None,
    accounts: Annotated[Path | None, typer.Option("--accounts", help="Account side table.")] = None,
    detect_every: Annotated[float, typer.Option("--detect-every")] = 5.0,
    shadow: Annotated[bool, typer.Option("--shadow/--enforce")] = False,
    log_level: Annotated[str, typer.Option("--log-level")] = "info",
) -> None:
    """Run detection on the traffic stream until interrupted. Workers started
    on one data dir are active/standby: one consumes, the others take over."""
    from distillguard.live.config import LoopConfig

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    with errors(ValueError):
        loop_config = LoopConfig(
            profile=profile,
            accounts=accounts,
            detect_every_s=detect_every,
            shadow=shadow,
            consumer=consumer,
        )
        database = decisions_db or f"sqlite:///{data_dir / 'decisions.db'}"
        if source == "spool":
            _run_spool(data_dir, database, loop_config)
            return
        from distillguard.streaming import StreamSettings, WorkerSettings

        settings = WorkerSettings(
            stream=StreamSettings(
                url=nats_url, stream=stream, subject=subject, max_msgs=max_msgs, max_bytes=max_bytes
            ),
            consumer=consumer,
            batch=batch,
            linger_s=linger,
            ack_wait_s=ack_wait,
        )
        asyncio.run(_run_jetstream(data_dir, database, loop_config, settings))


def _run_spool(data_dir: Path, database: str, config: LoopConfig) -> None:
    from distillguard.decisions.store import DecisionStore
    from distillguard.live.loop import DetectionLoop

    store = DecisionStore(database)
    loop = DetectionLoop(data_dir / "spool", data_dir / "state.duckdb", store, config)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    err.print(f"detection on the spool {data_dir / 'spool'}; Ctrl-C to stop")
    loop.start()
    try:
        stop.wait()
    finally:
        loop.close()
        store.close()


async def _run_jetstream(
    data_dir: Path, database: str, config: LoopConfig, settings: WorkerSettings
) -> None:
    from distillguard.decisions.store import DecisionStore
    from distillguard.live.loop import DetectionLoop
    from distillguard.streaming import JetStreamWorker, StateLock

    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    state_path = data_dir / "state.duckdb"
    lock = StateLock(state_path)
    err.print(f"worker: waiting for the detection state {state_path}")
    await lock.acquire(settings.standby_poll_s)
    store = DecisionStore(database)
    loop = DetectionLoop(data_dir / "spool", state_path, store, config)
    s = settings.stream
    try:
        async with JetStreamWorker(loop, settings) as worker:
            err.print(
                f"active: consuming {s.stream}/{settings.consumer} at {s.url} in batches of "
                f"{settings.batch}; Ctrl-C to stop"
            )
            await worker.run(stop)
            err.print(
                f"stopped: {worker.batches} batches, {worker.redelivered} messages redelivered",
                soft_wrap=True,
            )
    finally:
        loop.close()
        store.close()
        lock.release()
