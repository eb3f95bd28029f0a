"""What every ``distillguard`` command shares: the error console, the mapping
of errors to exit codes, and the decision database option."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from distillguard._exceptions import ConfigError, DistillGuardError

err = Console(stderr=True)

DbOpt = Annotated[
    str, typer.Option("--db", envvar="DISTILLGUARD_DB", help="Database URL (SQLAlchemy).")
]
DEFAULT_DB = "sqlite:///distillguard.db"


def describe(exc: BaseException) -> str:
    """One line for a user: a pydantic error lists each field's problem."""
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    return str(exc)


@contextmanager
def errors(*usage: type[Exception]) -> Iterator[None]:
    """Exit 2 on invalid configuration or usage (``ConfigError`` and the
    ``usage`` types), 3 on any other DistillGuard error, with the message."""
    invalid: tuple[type[Exception], ...] = (ConfigError, *usage)
    try:
        yield
    except invalid as exc:
        err.print(f"[red]error:[/red] {describe(exc)}")
        raise typer.Exit(2) from exc
    except DistillGuardError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(3) from exc
