"""``distillguard console``: import scans as cases, manage users and tokens,
apply retention, and serve the analyst console.

The database is ``--db`` or ``$DISTILLGUARD_DB`` (the decision store's, by
default ``sqlite:///distillguard.db``), so approvals reach enforcers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from distillguard._exceptions import ConfigError, DistillGuardError
from distillguard.cli._common import DEFAULT_DB, DbOpt
from distillguard.cli._common import errors as _errors

if TYPE_CHECKING:
    from distillguard.console.app import ConsoleContext
    from distillguard.console.settings import ConsoleSettings

app = typer.Typer(
    name="console",
    help="The analyst console: cases, review queue, appeals, audit log.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
users_app = typer.Typer(help="Local users of the console.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens of console users.", no_args_is_help=True)
retention_app = typer.Typer(help="Retention of raw prompt text.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(retention_app, name="retention")
console = Console()
SECRET_ENV = "DISTILLGUARD_CONSOLE_SECRET"
CASE_FILES = ("cases.json", "report.json")


def _context(db: str) -> ConsoleContext:
    from distillguard.console.app import open_context
    from distillguard.console.settings import ConsoleSettings

    return open_context(ConsoleSettings(db_url=db))


def _password(env: str | None) -> str:
    if env:
        value = os.environ.get(env)
        if not value:
            raise ConfigError(f"${env} is not set")
        return value
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _case_file(path: Path) -> Path:
    if path.is_dir():
        for name in CASE_FILES:
            if (path / name).exists():
                return path / name
        raise ConfigError(f"{path}: no {' or '.join(CASE_FILES)} in this folder")
    return path


@app.command("import")
def import_(
    paths: Annotated[list[Path], typer.Argument(help="Case documents, scan reports, or folders.")],
    db: DbOpt = DEFAULT_DB,
    actor: Annotated[str, typer.Option("--actor", help="Who imports (audit log).")] = "cli",
) -> None:
    """Import scan results as cases (a ``cases.json`` keeps evidence, timelines
    and prompts; a plain ``report.json`` only scores and reasons)."""
    from distillguard.console.collect import load_cases

    with _errors():
        ctx = _context(db)
        for path in paths:
            file = _case_file(path)
            try:
                data = file.read_bytes()
            except OSError as exc:
                raise DistillGuardError(f"cannot read {file}: {exc}") from exc
            s = ctx.cases.import_cases(load_cases(data, str(file)), actor)
            console.print(
                f"import {s.import_id}: {s.campaigns} campaigns, {s.accounts:,} accounts, "
                f"{s.findings:,} findings, {s.prompts:,} prompts; {s.reviews_opened} review items opened"
            )


@app.command()
def scan(
    events: Annotated[list[Path], typer.Argument(help="Event files to scan.")],
    accounts: Annotated[Path | None, typer.Option("--accounts", help="Account side table.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write the case document here.")
    ] = None,
    db: DbOpt = DEFAULT_DB,
    actor: Annotated[str, typer.Option("--actor")] = "cli",
) -> None:
    """Scan event files and import what was found, with its evidence."""
    import orjson

    from distillguard.console.collect import cases_from_scan
    from distillguard.engine.scan import scan as run_scan
    from distillguard.report.json_report import build_report

    with _errors():
        result = run_scan(events, accounts=accounts)
        report = build_report(result.summary, result.detection)
        doc = cases_from_scan(result, report, source=", ".join(str(e) for e in events))
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(orjson.dumps(doc))
        s = _context(db).cases.import_cases(doc, actor)
        console.print(
            f"import {s.import_id}: {s.campaigns} campaigns, {s.accounts:,} accounts; "
            f"{s.reviews_opened} review items opened"
        )


@app.command()
def serve(
    db: DbOpt = DEFAULT_DB,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8090,
    exchange_config: Annotated[
        Path | None, typer.Option("--exchange-config", help="Exchange configuration (YAML).")
    ] = None,
    retention_days: Annotated[
        float | None, typer.Option("--retention-days", help="Days to keep raw prompt text.")
    ] = 30.0,
    prompt_roles: Annotated[
        str, typer.Option("--prompt-roles", help="Comma-separated roles that may read prompts.")
    ] = "analyst,admin",
    session_hours: Annotated[float, typer.Option("--session-hours")] = 8.0,
    cookie_secure: Annotated[
        bool, typer.Option("--cookie-secure/--no-cookie-secure", help="HTTPS-only cookies.")
    ] = False,
) -> None:
    """Serve the console. The session key is ``$DISTILLGUARD_CONSOLE_SECRET``
    (a random one, if unset, logs everyone out on restart)."""
    import uvicorn

    from distillguard.console.app import create_console_app

    with _errors():
        settings = console_settings(
            db, exchange_config, retention_days, prompt_roles, session_hours, cookie_secure
        )
        app_ = create_console_app(settings)
    uvicorn.run(app_, host=host, port=port)


def console_settings(
    db: str,
    exchange_config: Path | None,
    retention_days: float | None,
    prompt_roles: str,
    session_hours: float,
    cookie_secure: bool,
) -> ConsoleSettings:
    """Settings from command-line values; ``ConfigError`` when one is invalid."""
    from pydantic import ValidationError

    from distillguard.console.settings import ConsoleSettings

    values: dict[str, object] = {
        "db_url": db,
        "exchange_config": exchange_config,
        "prompt_retention_days": retention_days,
        "prompt_roles": {r.strip() for r in prompt_roles.split(",") if r.strip()},
        "session_max_age": int(session_hours * 3600),
        "cookie_secure": cookie_secure,
    }
    if os.environ.get(SECRET_ENV):
        values["secret_key"] = os.environ[SECRET_ENV]
    try:
        return ConsoleSettings.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(problems) from exc


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Option("--role", help="viewer, analyst or admin.")] = "analyst",
    password_env: Annotated[
        str | None, typer.Option("--password-env", help="Read the password from this variable.")
    ] = None,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Add a user (asks for the password unless ``--password-env``)."""
    with _errors():
        ctx = _context(db)
        user = ctx.users.add(username, _password(password_env), role)
        ctx.audit.record("cli", "user.add", f"user:{user.username}", after={"role": role})
    console.print(f"user {user.username} ({user.role}) added")


@users_app.command("list")
def users_list(db: DbOpt = DEFAULT_DB) -> None:
    with _errors():
        users = _context(db).users.list()
    table = Table("user", "role", "state")
    for u in users:
        table.add_row(u.username, u.role, "disabled" if u.disabled else "active")
    console.print(table)


@users_app.command("passwd")
def users_passwd(
    username: Annotated[str, typer.Argument()],
    password_env: Annotated[str | None, typer.Option("--password-env")] = None,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Set a new password; the user's open sessions end."""
    with _errors():
        ctx = _context(db)
        ctx.users.set_password(username, _password(password_env))
        ctx.audit.record("cli", "user.passwd", f"user:{username}")
    console.print(f"password of {username} changed")


@users_app.command("role")
def users_role(
    username: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Argument(help="viewer, analyst or admin.")],
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Change a user's role; the user's open sessions end."""
    with _errors():
        ctx = _context(db)
        before = ctx.users.get(username)
        ctx.users.set_role(username, role)
        ctx.audit.record(
            "cli",
            "user.role",
            f"user:{username}",
            before={"role": before.role if before else None},
            after={"role": role},
        )
    console.print(f"{username} is now {role}")


@users_app.command("disable")
def users_disable(username: Annotated[str, typer.Argument()], db: DbOpt = DEFAULT_DB) -> None:
    """Disable a user: no login, no token, open sessions end."""
    with _errors():
        ctx = _context(db)
        ctx.users.set_disabled(username, True)
        ctx.audit.record("cli", "user.disable", f"user:{username}")
    console.print(f"{username} disabled")


@tokens_app.command("add")
def tokens_add(
    username: Annotated[str, typer.Argument(help="The user the token acts as.")],
    name: Annotated[str, typer.Option("--name", help="What the token is for.")] = "api",
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Create an API token; it is printed once and stored only as a hash."""
    with _errors():
        ctx = _context(db)
        token = ctx.users.add_token(username, name)
        ctx.audit.record("cli", "token.add", f"user:{username}", after={"name": name})
    console.print(token)


@tokens_app.command("revoke")
def tokens_revoke(name: Annotated[str, typer.Argument()], db: DbOpt = DEFAULT_DB) -> None:
    """Revoke every token of this name."""
    with _errors():
        ctx = _context(db)
        n = ctx.users.revoke_token(name)
        ctx.audit.record("cli", "token.revoke", f"token:{name}", after={"revoked": n})
    console.print(f"{n} token(s) revoked")


@retention_app.command("run")
def retention_run(
    days: Annotated[float, typer.Option("--days", help="Keep prompt text this many days.")] = 30.0,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Drop raw prompt text older than ``--days``; fingerprints and features stay."""
    from distillguard.console.retention import apply_retention

    with _errors():
        if days <= 0:
            raise ConfigError("--days must be positive")
        result = apply_retention(_context(db).engine, days, actor="cli")
    console.print(
        f"prompt text before {result.cutoff:%Y-%m-%d %H:%M} UTC dropped: {result.prompts} "
        f"prompts, {result.imports} imports scrubbed"
    )


def live_console(port: int, host: str = "127.0.0.1") -> Any:
    """The console as an extra app of ``distillguard serve``, on the live
    service's own decision store (so approvals reach its gateway at once)."""
    from distillguard.console.app import create_console_app, open_context
    from distillguard.live.service import ExtraApp, LiveService

    def factory(service: LiveService) -> Any:
        settings = console_settings(
            service.config.decisions_url, None, 30.0, "analyst,admin", 8.0, False
        )
        return create_console_app(settings, context=open_context(settings, service.store.engine))

    return ExtraApp("console", factory, port, host)
