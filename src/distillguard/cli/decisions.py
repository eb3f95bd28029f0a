"""``distillguard decisions``: manage decisions, enforcers, and run the decision
service.

The database is ``--db`` or ``$DISTILLGUARD_DB``, by default
``sqlite:///distillguard.db`` (``postgresql+psycopg://user@host/db`` in
production).
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from distillguard._exceptions import ConfigError
from distillguard.cli._common import DEFAULT_DB, DbOpt, err, errors

if TYPE_CHECKING:
    from distillguard.decisions.api import ServiceSettings
    from distillguard.decisions.store import DecisionStore

app = typer.Typer(
    name="decisions",
    help="Decisions (block, suspend, degrade, throttle, review), enforcers, the decision service.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
enforcer_app = typer.Typer(help="Enforcers that read the decision stream.", no_args_is_help=True)
app.add_typer(enforcer_app, name="enforcer")
console = Console()
_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def _errors() -> AbstractContextManager[None]:
    """Errors to exit codes; an invalid decision is a usage error."""
    return errors(ValidationError)


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``1h``, ``7d``, ``2w`` as a duration."""
    m = _DURATION.match(text.strip().lower())
    if m is None or int(m.group(1)) == 0:
        raise ConfigError(f"not a duration: {text!r} (use e.g. 30m, 1h, 7d)")
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


def _store(db: str) -> DecisionStore:
    from distillguard.decisions.store import DecisionStore

    return DecisionStore(db)


@app.command()
def add(
    type: Annotated[str, typer.Option("--type", help="review, throttle, degrade, suspend, block")],
    scope: Annotated[
        str, typer.Option("--scope", help="account, api_key, ip, cidr, asn, country, entity")
    ],
    value: Annotated[str, typer.Option("--value", help="The account, address, network, ...")],
    rpm: Annotated[int | None, typer.Option("--rpm", help="Throttle: requests/minute.")] = None,
    tpm: Annotated[int | None, typer.Option("--tpm", help="Throttle: tokens/minute.")] = None,
    ttl: Annotated[str | None, typer.Option("--ttl", help="Lifetime, e.g. 1h, 7d.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="End (ISO 8601).")] = None,
    reason: Annotated[str, typer.Option("--reason")] = "",
    origin: Annotated[str, typer.Option("--origin")] = "analyst",
    simulated: Annotated[
        bool, typer.Option("--simulated", help="Shadow mode: log, never enforce.")
    ] = False,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Add one decision by hand."""
    from distillguard.decisions.model import Decision, ThrottleParams, utcnow

    with _errors():
        if ttl is not None and until is not None:
            raise ConfigError("give --ttl or --until, not both")
        end: datetime | None = utcnow() + parse_duration(ttl) if ttl else None
        if until is not None:
            try:
                end = datetime.fromisoformat(until)
            except ValueError as exc:
                raise ConfigError(f"--until is not an ISO 8601 time: {until!r}") from exc
        params = None
        if rpm is not None or tpm is not None:
            params = ThrottleParams(requests_per_minute=rpm, tokens_per_minute=tpm)
        fields: dict[str, Any] = {"type": type, "scope": scope, "value": value, "origin": origin}
        d = Decision.model_validate(
            {**fields, "params": params, "until": end, "reason": reason, "simulated": simulated}
        )
        _store(db).add(d)
        console.print(f"added {d.type} {d.scope} {d.value}  id {d.id}")


@app.command("list")
def list_(
    all: Annotated[bool, typer.Option("--all", help="Include expired and deleted.")] = False,
    scope: Annotated[str | None, typer.Option("--scope")] = None,
    type: Annotated[str | None, typer.Option("--type")] = None,
    origin: Annotated[str | None, typer.Option("--origin")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines instead of a table.")] = False,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """List decisions, newest first."""
    with _errors():
        try:
            found = _store(db).list(
                active_only=not all, scope=scope, type=type, origin=origin, limit=limit
            )
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        if as_json:
            for d in found:
                console.out(orjson.dumps(d.to_json()).decode(), highlight=False)
            return
        table = Table(title=f"{len(found)} decisions")
        for col in ("id", "type", "scope", "value", "until", "origin", "simulated", "reason"):
            table.add_column(col, overflow="fold")
        for d in found:
            table.add_row(
                d.id,
                d.type.value + (f" {_rates(d.params)}" if d.params else ""),
                d.scope.value,
                d.value,
                d.until.isoformat(timespec="seconds") if d.until else "-",
                d.origin.value,
                "yes" if d.simulated else "",
                d.reason[:80],
            )
        console.print(table)


def _rates(params: Any) -> str:
    parts = []
    if params.requests_per_minute:
        parts.append(f"{params.requests_per_minute} rpm")
    if params.tokens_per_minute:
        parts.append(f"{params.tokens_per_minute} tpm")
    return "(" + ", ".join(parts) + ")"


@app.command()
def delete(
    decision_id: Annotated[str, typer.Argument(help="Decision id.")], db: DbOpt = DEFAULT_DB
) -> None:
    """Delete a decision (enforcers learn of it on their next pull)."""
    with _errors():
        if not _store(db).delete(decision_id):
            err.print(f"[red]error:[/red] no live decision {decision_id}")
            raise typer.Exit(1)
        console.print(f"deleted {decision_id}")


@app.command()
def purge(
    older_than: Annotated[
        str, typer.Option("--older-than", help="Age of a deletion or expiry, e.g. 7d.")
    ],
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Remove decisions deleted or expired longer ago than --older-than. Enforcers
    that last pulled before what was removed reload a full snapshot."""
    with _errors():
        removed = _store(db).purge(parse_duration(older_than))
        console.print(f"purged {removed} decisions")


@app.command("import-report")
def import_report(
    report: Annotated[Path, typer.Argument(help="Scan report JSON (distillguard.report/1).")],
    ttl: Annotated[str, typer.Option("--ttl", help="Lifetime of the decisions.")] = "24h",
    simulated: Annotated[bool, typer.Option("--simulated", help="Shadow mode.")] = False,
    rpm: Annotated[int, typer.Option("--rpm", help="Throttle: requests/minute.")] = 10,
    tpm: Annotated[int, typer.Option("--tpm", help="Throttle: tokens/minute.")] = 20_000,
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep the decisions of earlier reports.")
    ] = False,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Turn a scan report's account actions into decisions. By default they
    replace the earlier profile decisions on the same accounts."""
    from collections import Counter

    from distillguard._exceptions import IngestError
    from distillguard.decisions.from_report import decisions_from_report
    from distillguard.decisions.model import ThrottleParams

    with _errors():
        try:
            data = orjson.loads(report.read_bytes())
        except OSError as exc:
            raise IngestError(f"cannot read {report}: {exc.strerror or exc}") from exc
        except orjson.JSONDecodeError as exc:
            raise IngestError(f"{report}: not JSON: {exc}") from exc
        made = decisions_from_report(
            data,
            ttl=parse_duration(ttl),
            simulated=simulated,
            throttle=ThrottleParams(requests_per_minute=rpm, tokens_per_minute=tpm),
        )
        _store(db).add(made, supersede=not keep)
        counts = Counter(d.type.value for d in made)
        summary = ", ".join(f"{n} {t}" for t, n in sorted(counts.items())) or "nothing to do"
        mode = " (simulated)" if simulated else ""
        console.print(f"imported {len(made)} decisions{mode}: {summary}")


@enforcer_app.command("add")
def enforcer_add(
    name: Annotated[str, typer.Argument(help="Enforcer name, e.g. gateway-eu-1.")],
    admin: Annotated[
        bool, typer.Option("--admin", help="May also add and delete decisions over the API.")
    ] = False,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Register an enforcer and print its token (shown this once only)."""
    with _errors():
        token = _store(db).add_enforcer(name, admin=admin)
        err.print(f"enforcer {name} added; its token (store it now, it is not kept):")
        console.out(token, highlight=False)


@enforcer_app.command("list")
def enforcer_list(db: DbOpt = DEFAULT_DB) -> None:
    """List enforcers and when each last pulled."""
    with _errors():
        table = Table()
        for col in ("name", "admin", "created", "last pull"):
            table.add_column(col)
        for e in _store(db).enforcers():
            last = e.last_pull_at.isoformat(timespec="seconds") if e.last_pull_at else "never"
            table.add_row(
                e.name, "yes" if e.admin else "", e.created_at.isoformat(timespec="seconds"), last
            )
        console.print(table)


@enforcer_app.command("delete")
def enforcer_delete(name: Annotated[str, typer.Argument()], db: DbOpt = DEFAULT_DB) -> None:
    """Remove an enforcer; its token stops working at once."""
    with _errors():
        if not _store(db).delete_enforcer(name):
            err.print(f"[red]error:[/red] no enforcer {name}")
            raise typer.Exit(1)
        console.print(f"deleted enforcer {name}")


def load_service_settings(
    path: Path | None, accounts: Path | None = None, trusted_proxies: int | None = None
) -> ServiceSettings:
    """Service settings from a YAML file, account metadata from an account table."""
    from distillguard.decisions.api import ServiceSettings

    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: the service config must be a mapping")
    check = dict(raw.get("check") or {})
    if trusted_proxies is not None:
        check["trusted_proxies"] = trusted_proxies
    if accounts is not None:
        check["accounts"] = {**_account_info(accounts), **check.get("accounts", {})}
    try:
        return ServiceSettings.model_validate({**raw, "check": check})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path or 'service settings'}: {problems}") from exc


def _account_info(path: Path) -> dict[str, dict[str, str | None]]:
    from distillguard.events import read_accounts

    table, _rejects = read_accounts(path)
    cols = table.select(["account_id", "declared_country", "parent_entity"]).to_pylist()
    return {
        r["account_id"]: {
            "declared_country": r["declared_country"],
            "parent_entity": r["parent_entity"],
        }
        for r in cols
        if r["declared_country"] or r["parent_entity"]
    }


@app.command()
def serve(
    db: DbOpt = DEFAULT_DB,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8081,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Allowlists and policies (YAML).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Service settings (YAML).")
    ] = None,
    accounts: Annotated[
        Path | None,
        typer.Option("--accounts", help="Account table, for declared country and owner."),
    ] = None,
    trusted_proxies: Annotated[
        int | None, typer.Option("--trusted-proxies", help="Proxies that append X-Forwarded-For.")
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level")] = "info",
) -> None:
    """Run the decision service (stream, /v1/check, admin API, /metrics)."""
    import uvicorn

    from distillguard.decisions.api import create_decision_app
    from distillguard.decisions.policy import PolicyConfig, load_policy_config

    with _errors():
        pol = load_policy_config(policy) if policy is not None else PolicyConfig()
        settings = load_service_settings(config, accounts, trusted_proxies)
        app_ = create_decision_app(_store(db), settings, policy=pol)
        uvicorn.run(app_, host=host, port=port, log_level=log_level, access_log=False)


@app.command()
def mirror(
    redis_url: Annotated[str, typer.Option("--redis", help="Redis URL of the decision cache.")],
    db: DbOpt = DEFAULT_DB,
    prefix: Annotated[str, typer.Option("--prefix", help="Key prefix of the cache.")] = (
        "distillguard"
    ),
    interval: Annotated[
        float, typer.Option("--interval", help="Seconds between reads of the store.")
    ] = 0.2,
    lock_ttl: Annotated[
        float, typer.Option("--lock-ttl", help="Seconds before a standby takes over.")
    ] = 5.0,
    maxlen: Annotated[int, typer.Option("--maxlen", help="Changes kept in the stream.")] = 10_000,
    log_level: Annotated[str, typer.Option("--log-level")] = "info",
) -> None:
    """Mirror the store's decisions into Redis for gateways (decisions: {redis: ...}).
    Run one or more; a Redis lock lets one write at a time."""
    import logging
    import signal
    import threading

    from distillguard.decisions.mirror import DecisionMirror
    from distillguard.decisions.rediscache import RedisDecisionCache

    with _errors():
        if interval <= 0 or lock_ttl <= interval or maxlen <= 0:
            raise ConfigError("need --interval > 0, --lock-ttl > --interval and --maxlen > 0")
        cache = RedisDecisionCache(redis_url, prefix, maxlen=maxlen)
        runner = DecisionMirror(_store(db), cache, interval_s=interval, lock_ttl_s=lock_ttl)
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    err.print(f"mirroring decisions into {redis_url} (prefix {prefix})")
    try:
        runner.run(stop)
    except KeyboardInterrupt:
        runner.release()
