"""``distillguard exchange``: keys, peers, publish, pull, serve.

Everything reads one exchange configuration (``--config``, default
``exchange.yaml``; see :mod:`distillguard.exchange.config`).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from distillguard._exceptions import ConfigError
from distillguard.cli._common import errors
from distillguard.exchange.config import (
    ExchangeConfig,
    PeerConfig,
    UserConfig,
    hash_password,
    load_config,
    save_config,
)

app = typer.Typer(
    name="exchange",
    help="Share detection signals with other providers (STIX 2.1 over TAXII 2.1).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(help="Signing key and consortium keys.", no_args_is_help=True)
peers_app = typer.Typer(help="Peers we trust and peers who read us.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(peers_app, name="peers")
console = Console()

ConfigOpt = Annotated[Path, typer.Option("--config", help="Exchange configuration (YAML).")]
DEFAULT_CONFIG = Path("exchange.yaml")


@keys_app.command("init")
def keys_init(
    provider: Annotated[str, typer.Option("--provider", help="This provider's name.")],
    config: ConfigOpt = DEFAULT_CONFIG,
    key_id: Annotated[str, typer.Option("--key-id", help="Id of the first consortium key.")] = "k1",
) -> None:
    """Create a signing key, a consortium keyring and a configuration."""
    from distillguard.exchange.keys import KeyRing
    from distillguard.exchange.signing import Publisher, public_key_text

    if config.exists():
        with errors():
            raise ConfigError(f"{config} exists already")
    base = config.parent
    cfg = ExchangeConfig.model_validate(
        {
            "provider": provider,
            "signing_key": "keys/signing.pem",
            "keyring": "keys/consortium.json",
            "store": "exchange.db",
        }
    )
    pub = Publisher.generate(provider)
    pub.save(base / cfg.signing_key)
    KeyRing.generate(key_id).save(base / cfg.keyring)
    save_config(cfg, config)
    console.print(
        f"Wrote {config}. Public key (give it to peers): {public_key_text(pub.public_key)}"
    )


@keys_app.command("show")
def keys_show(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """This provider's public key and the consortium key ids."""
    from distillguard.exchange.keys import KeyRing
    from distillguard.exchange.signing import Publisher, key_fingerprint, public_key_text

    with errors():
        cfg = load_config(config)
        pub = Publisher.load(cfg.provider, cfg.signing_key)
        ring = KeyRing.load(cfg.keyring)
    console.print(f"provider {cfg.provider}  identity {pub.identity}")
    console.print(
        f"public key {public_key_text(pub.public_key)}  ({key_fingerprint(pub.public_key)})"
    )
    for k in ring.keys.values():
        state = (
            "active" if k is ring.active else f"retired {k.retired:%Y-%m-%d}" if k.retired else ""
        )
        console.print(f"consortium key {k.key_id}  created {k.created:%Y-%m-%d}  {state}")


@keys_app.command("rotate")
def keys_rotate(
    new_id: Annotated[str, typer.Argument(help="Id of the new consortium key.")],
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Add a new active consortium key; older keys stay for matching."""
    from distillguard.exchange.keys import KeyRing

    with errors():
        cfg = load_config(config)
        ring = KeyRing.load(cfg.keyring)
        ring.rotate(new_id)
        ring.save(cfg.keyring)
    console.print(f"consortium key {new_id} is active; share it with members out of band")


@keys_app.command("import")
def keys_import(
    keyring: Annotated[Path, typer.Argument(help="A keyring file from the consortium.")],
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Add the consortium keys of another keyring file to ours."""
    from distillguard.exchange.keys import KeyRing

    with errors():
        cfg = load_config(config)
        ours, theirs = KeyRing.load(cfg.keyring), KeyRing.load(keyring)
        for k in theirs.keys.values():
            if ours.get(k.key_id) is None:
                ours.add(k)
        ours.save(cfg.keyring)
    console.print(f"keyring has {', '.join(ours.keys)}")


@peers_app.command("list")
def peers_list(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Peers, their trust, and the users of our TAXII server."""
    with errors():
        cfg = load_config(config)
    table = Table("peer", "trust", "polls", "public key")
    for p in cfg.peers:
        table.add_row(p.name, f"{p.trust:.2f}", p.url or "-", p.public_key[:16] + "…")
    console.print(table)
    users = Table("user", "peer", "read", "write")
    for u in cfg.server.users:
        users.add_row(u.username, u.peer or "-", str(u.read), str(u.write))
    console.print(users)


@peers_app.command("add")
def peers_add(
    name: Annotated[str, typer.Argument(help="The peer's provider name.")],
    public_key: Annotated[str, typer.Option("--public-key", help="Its Ed25519 key, base64.")],
    trust: Annotated[float, typer.Option("--trust", help="Trust weight, 0..1.")] = 0.5,
    url: Annotated[str | None, typer.Option("--url", help="Its TAXII discovery URL.")] = None,
    collection: Annotated[str | None, typer.Option("--collection")] = None,
    username: Annotated[str | None, typer.Option("--username")] = None,
    password_env: Annotated[str | None, typer.Option("--password-env")] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Pin a peer's public key and trust it (to poll it, give its URL)."""
    from distillguard.exchange.signing import load_public_key

    with errors(ValueError):
        cfg = load_config(config)
        load_public_key(public_key)
        peer = PeerConfig(
            name=name,
            public_key=public_key,
            trust=trust,
            url=url,
            collection=collection,
            username=username,
            password_env=password_env,
        )
        peers = [p for p in cfg.peers if p.name != name] + [peer]
        save_config(_unresolved(cfg, config).model_copy(update={"peers": peers}), config)
    console.print(f"peer {name} trusted at {trust:.2f}")


@peers_app.command("grant")
def peers_grant(
    username: Annotated[str, typer.Argument(help="Login for the peer on our server.")],
    peer: Annotated[str, typer.Option("--peer", help="The peer this login writes for.")],
    write: Annotated[bool, typer.Option("--write/--read-only")] = True,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Give a peer credentials on our TAXII server; prints the password once."""
    with errors():
        cfg = load_config(config)
        cfg.peer(peer)
    password = secrets.token_urlsafe(24)
    user = UserConfig(
        username=username, password_hash=hash_password(password), read=True, write=write, peer=peer
    )
    users = [u for u in cfg.server.users if u.username != username] + [user]
    server = cfg.server.model_copy(update={"users": users})
    save_config(_unresolved(cfg, config).model_copy(update={"server": server}), config)
    console.print(f"user {username} for {peer}; password (shown once): {password}")


@app.command()
def publish(
    events: Annotated[list[Path], typer.Argument(help="Event files to scan.")],
    accounts: Annotated[Path | None, typer.Option("--accounts")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Also write the bundle here.")] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Scan events, derive indicators of the campaigns acted on, sign and
    publish them to the outbound collection."""
    from distillguard.engine.scan import scan
    from distillguard.exchange import DeriveOptions, ExchangeStore, KeyRing, Mapper, Publisher
    from distillguard.exchange import derive as run_derive
    from distillguard.exchange import publish as run_publish

    with errors():
        cfg = load_config(config)
        pub = Publisher.load(cfg.provider, cfg.signing_key)
        ring = KeyRing.load(cfg.keyring)
        result = scan(events, accounts=accounts)
        from datetime import timedelta

        derived = run_derive(
            result.detection, result.state, ring, DeriveOptions(ttl=timedelta(days=cfg.ttl_days))
        )
        store = ExchangeStore(cfg.store)
        bundle = run_publish(store, Mapper(pub, cfg.tlp), derived)
    if out is not None:
        out.write_bytes(orjson.dumps(bundle))
    n = sum(1 for o in bundle["objects"] if o["type"] == "indicator")
    console.print(f"published {len(derived.campaigns)} campaigns, {n} indicators")


@app.command()
def pull(
    peer: Annotated[str | None, typer.Option("--peer", help="Only this peer.")] = None,
    bundle: Annotated[
        Path | None, typer.Option("--bundle", help="Import a bundle file instead of polling.")
    ] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Poll peers' TAXII collections (or import a bundle file from ``--peer``),
    verify signatures and apply additions, revocations and expiries."""
    from distillguard.exchange import ExchangeStore, import_objects
    from distillguard.exchange.taxii.client import pull_peer

    with errors():
        cfg = load_config(config)
        store = ExchangeStore(cfg.store)
        if bundle is not None:
            if peer is None:
                raise ConfigError("--bundle needs --peer: whose signature to check")
            objs = orjson.loads(bundle.read_bytes()).get("objects", [])
            r = import_objects(store, cfg.peer(peer), objs)
            _print_import(peer, len(objs), r.accepted, r.duplicates, r.rejected)
            return
        for p in cfg.peers if peer is None else [cfg.peer(peer)]:
            if not p.url:
                continue
            res = pull_peer(store, p)
            i = res.imported
            _print_import(p.name, res.received, i.accepted, i.duplicates, i.rejected)
        store.purge_expired()


@app.command()
def serve(
    config: ConfigOpt = DEFAULT_CONFIG,
    host: Annotated[str | None, typer.Option("--host")] = None,
    port: Annotated[int | None, typer.Option("--port")] = None,
) -> None:
    """Serve the outbound collection and the inbox over TAXII 2.1."""
    import uvicorn

    from distillguard.exchange import ExchangeStore
    from distillguard.exchange.taxii.server import collection_ids, create_app

    with errors():
        cfg = load_config(config)
    for cid, name in collection_ids(cfg).items():
        console.print(f"collection {name}: {cid}")
    app_ = create_app(ExchangeStore(cfg.store), cfg)
    uvicorn.run(app_, host=host or cfg.server.host, port=port or cfg.server.port)


def _print_import(
    peer: str, received: int, accepted: int, duplicates: int, rejected: list[tuple[str | None, str]]
) -> None:
    console.print(
        f"{peer}: {received} objects, {accepted} applied, {duplicates} duplicates, "
        f"{len(rejected)} rejected"
    )
    for oid, reason in rejected[:20]:
        console.print(f"  rejected {oid}: {reason}")


def _unresolved(cfg: ExchangeConfig, path: Path) -> ExchangeConfig:
    """``cfg`` with its paths relative to the config file again."""
    base = path.parent.resolve()

    def rel(p: Path) -> Path:
        try:
            return p.resolve().relative_to(base)
        except ValueError:
            return p

    return cfg.model_copy(
        update={
            "signing_key": rel(cfg.signing_key),
            "keyring": rel(cfg.keyring),
            "store": rel(cfg.store),
        }
    )
