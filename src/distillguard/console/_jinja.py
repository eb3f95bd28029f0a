"""The console's one Jinja2 environment: autoescaped, strict, with the
filters the pages and the exported report share."""

from __future__ import annotations

from functools import cache

import jinja2
import orjson

__all__ = ["environment"]


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("distillguard.console", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v: f"{float(v or 0):.0%}"
    env.filters["num"] = lambda v: f"{int(v or 0):,}"
    env.filters["score"] = lambda v: "-" if v is None else f"{float(v):.2f}"
    env.filters["tojson_attr"] = lambda v: orjson.dumps(v, default=str).decode()
    env.filters["when"] = lambda v: "" if not v else str(v)[:19].replace("T", " ")
    return env
