"""Everything ``distillguard serve`` runs, in one process.

* the **gateway** (an OpenAI-compatible proxy to ``upstream``) spooling its
  traffic to ``data_dir/spool`` and pulling decisions from the local decision
  store's change stream;
* the **detection loop** tailing that spool into ``data_dir/state.duckdb`` and
  publishing decisions to the store;
* the **decision service** over the same store (``/v1/decisions/stream`` and
  ``/v1/check``) for other gateways and enforcers;
* any **extra ASGI apps** given (the analyst console mounts here), each on a
  port of its own.

Each app is served by uvicorn on a thread of its own; the loop runs on
another. The store (SQLite by default, PostgreSQL when ``decisions.database``
says so) is the one place decisions go through.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from distillguard.decisions.api import create_decision_app
from distillguard.decisions.matcher import DecisionMatcher
from distillguard.decisions.policy import PolicyConfig, load_policy_config
from distillguard.decisions.store import DecisionStore
from distillguard.gateway import Gateway, load_config
from distillguard.gateway.config import GatewayConfig
from distillguard.gateway.server import BackgroundServer
from distillguard.live.config import ServeConfig
from distillguard.live.loop import DetectionLoop, Listener

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ExtraApp:
    """An ASGI app served next to the others (e.g. the analyst console). The
    factory gets the running service, so it can read its store and state."""

    name: str
    factory: Callable[[LiveService], Any]
    port: int
    host: str = "127.0.0.1"


def gateway_config(config: ServeConfig) -> GatewayConfig:
    """The gateway's settings: ``config.gateway`` with the serve-wide upstream,
    spool and (unless a remote decision service is named) the local store."""
    given = dict(config.gateway)
    spool = {"dir": str(config.spool_dir), **given.pop("spool", {})}
    decisions = dict(given.pop("decisions", {}))
    if not decisions.get("url"):
        decisions.setdefault("database", config.decisions_url)
    given.setdefault("upstream", config.upstream)
    if given.get("keys") is None and given.get("account_header") is None:
        given["account_header"] = "x-account"
    return load_config(None, **given, spool=spool, decisions=decisions)


class LiveService:
    """Build with a config, then ``start()``; ``stop()`` ends every part."""

    def __init__(
        self,
        config: ServeConfig,
        *,
        extra_apps: Sequence[ExtraApp] = (),
        listeners: Sequence[Listener] = (),
    ) -> None:
        self.config = config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.policy = (
            load_policy_config(config.decisions.policy)
            if config.decisions.policy is not None
            else PolicyConfig()
        )
        self.store = DecisionStore(config.decisions_url)
        self.gateway_config = gateway_config(config)
        matcher = DecisionMatcher(allowlist=self.policy.allowlist, policies=self.policy.policies)
        self.gateway = Gateway(self.gateway_config, matcher=matcher)
        self.loop = DetectionLoop(
            config.spool_dir,
            config.state_path,
            self.store,
            config.loop,
            listeners=listeners,
        )
        self.extra_apps = list(extra_apps)
        self.servers: dict[str, BackgroundServer] = {}

    def start(self) -> LiveService:
        gw = self.gateway_config
        self.servers["gateway"] = BackgroundServer(self.gateway, gw.host, gw.port).start()
        dec = self.config.decisions
        if dec.enabled:
            app = create_decision_app(self.store, policy=self.policy)
            self.servers["decisions"] = BackgroundServer(app, dec.host, dec.port).start()
        for extra in self.extra_apps:
            server = BackgroundServer(extra.factory(self), extra.host, extra.port)
            self.servers[extra.name] = server.start()
        self.loop.start()
        return self

    def urls(self) -> dict[str, str]:
        return {name: server.url for name, server in self.servers.items()}

    def stop(self) -> None:
        self.loop.stop()
        for server in reversed(list(self.servers.values())):
            server.stop()
        self.servers.clear()
        self.loop.close()
        self.store.close()

    def __enter__(self) -> LiveService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
