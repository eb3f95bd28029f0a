"""TAXII 2.1 interoperability: the ``taxii2-client`` library against our
server, and our client against a ``medallion`` server started here."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from taxii2client.v21 import ApiRoot, Server, as_pages

from distillguard.exchange import ExchangeStore, KeyRing, Mapper, Publisher, publish
from distillguard.exchange.config import ExchangeConfig, UserConfig, hash_password
from distillguard.exchange.publish import INBOX, OUTBOUND
from distillguard.exchange.stix import ts
from distillguard.exchange.taxii import TaxiiClient, create_app, pull_peer
from distillguard.exchange.taxii.server import MEDIA_TYPE, collection_ids
from tests.decisions._server import free_port

from .conftest import NOW, config, peer_of, small_derived


def _wait(url: str, auth: tuple[str, str] | None = None) -> None:
    for _ in range(200):
        try:
            httpx.get(url, auth=auth, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


class _Server:
    def __init__(self, cfg: ExchangeConfig, store: ExchangeStore) -> None:
        self.port = free_port()
        conf = uvicorn.Config(
            create_app(store, cfg), host="127.0.0.1", port=self.port, log_level="error"
        )
        self.server = uvicorn.Server(conf)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> _Server:
        self.thread.start()
        _wait(self.url + "/taxii2/")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def provider_a(keys: KeyRing, pub_a: Publisher) -> Iterator[tuple[_Server, ExchangeConfig]]:
    reader = Publisher.generate("Provider B")
    cfg = config(
        "Provider A",
        peer_of(reader),
        server={
            "page_size": 4,
            "users": [
                UserConfig(
                    username="b", password_hash=hash_password("pw-b"), write=True, peer="Provider B"
                ).model_dump(),
                UserConfig(
                    username="nobody", password_hash=hash_password("pw-n"), read=False
                ).model_dump(),
            ],
        },
    )
    store = ExchangeStore()
    publish(store, Mapper(pub_a), small_derived(keys), now=NOW)
    with _Server(cfg, store) as srv:
        yield srv, cfg


def test_taxii2_client_reads_our_server(provider_a: tuple[_Server, ExchangeConfig]) -> None:
    srv, cfg = provider_a
    with Server(srv.url + "/taxii2/", user="b", password="pw-b") as server:
        _read_with_taxii2_client(server, cfg)


def _read_with_taxii2_client(server: Server, cfg: ExchangeConfig) -> None:
    assert server.title == cfg.server.title
    root: ApiRoot = server.api_roots[0]
    assert MEDIA_TYPE in root.versions
    outbound = next(c for c in root.collections if c.can_read)
    pages = list(as_pages(outbound.get_objects, per_request=4))
    assert len(pages) > 1  # paginated
    objects = [o for p in pages for o in p.get("objects", [])]
    ids = [o["id"] for o in objects]
    assert len(ids) == len(set(ids))
    assert {"indicator", "campaign", "report"} <= {o["type"] for o in objects}
    manifest = outbound.get_manifest()
    assert manifest["objects"] and "date_added" in manifest["objects"][0]
    ind = next(o for o in objects if o["type"] == "indicator")
    assert outbound.get_object(ind["id"])["objects"][0]["id"] == ind["id"]
    later = outbound.get_objects(added_after=manifest["objects"][-1]["date_added"])
    assert all(
        o["id"] not in {m["id"] for m in manifest["objects"]} for o in later.get("objects", [])
    )


def test_server_headers_auth_and_rights(provider_a: tuple[_Server, ExchangeConfig]) -> None:
    srv, cfg = provider_a
    cid = {v: k for k, v in collection_ids(cfg).items()}
    root = f"{srv.url}/{cfg.server.api_root}/"
    h = {"Accept": MEDIA_TYPE}
    r = httpx.get(
        root + f"collections/{cid[OUTBOUND]}/objects/?limit=2", auth=("b", "pw-b"), headers=h
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/taxii+json")
    assert r.headers["X-TAXII-Date-Added-First"] <= r.headers["X-TAXII-Date-Added-Last"]
    assert r.json()["more"] is True and r.json()["next"]
    assert httpx.get(root, headers=h).status_code == 401
    assert httpx.get(root, auth=("b", "wrong"), headers=h).status_code == 401
    bad = httpx.get(
        root + f"collections/{cid[OUTBOUND]}/objects/", auth=("nobody", "pw-n"), headers=h
    )
    assert bad.status_code == 403
    assert httpx.get(root, auth=("b", "pw-b"), headers={"Accept": "text/html"}).status_code == 406


def test_peer_feedback_goes_to_the_inbox(
    keys: KeyRing, provider_a: tuple[_Server, ExchangeConfig]
) -> None:
    srv, cfg = provider_a
    pub_b = Publisher.generate("Provider B")
    # The server pinned a different key for Provider B: a forged write.
    mapper_b = Mapper(pub_b)
    op = mapper_b.sighting("indicator--" + str(uuid.uuid4()), 1, NOW, false_positive=True)
    objs = [mapper_b.identity(), op]
    objs.append(pub_b.attest(objs))
    cid = {v: k for k, v in collection_ids(cfg).items()}
    with TaxiiClient(f"{srv.url}/{cfg.server.api_root}/", username="b", password="pw-b") as c:
        status = c.add(cid[INBOX], objs)
    assert status["failure_count"] >= 1
    assert any("pinned key" in f["message"] for f in status["failures"])


@pytest.fixture
def medallion(tmp_path: Path) -> Iterator[tuple[str, str]]:
    port = free_port()
    collection = str(uuid.uuid4())
    base = f"http://127.0.0.1:{port}"
    data = {
        "/discovery": {
            "title": "medallion",
            "default": f"{base}/api1/",
            "api_roots": [f"{base}/api1/"],
        },
        "api1": {
            "information": {
                "title": "api1",
                "versions": [MEDIA_TYPE],
                "max_content_length": 100_000_000,
            },
            "status": [],
            "collections": [
                {
                    "id": collection,
                    "title": "exchange",
                    "can_read": True,
                    "can_write": True,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [],
                    "manifest": [],
                }
            ],
        },
    }
    (tmp_path / "data.json").write_text(json.dumps(data))
    conf = {
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": str(tmp_path / "data.json"),
        },
        "users": {"admin": "Password0"},
        "taxii": {"max_page_size": 5},
    }
    (tmp_path / "medallion.json").write_text(json.dumps(conf))
    script = "from medallion.scripts.run import main; main()"
    proc = subprocess.Popen(
        [sys.executable, "-c", script, "--port", str(port), str(tmp_path / "medallion.json")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(f"{base}/taxii2/", ("admin", "Password0"))
        yield f"{base}/api1/", collection
    finally:
        proc.terminate()
        proc.wait(10)


def test_our_client_pulls_from_medallion(
    keys: KeyRing, pub_a: Publisher, medallion: tuple[str, str]
) -> None:
    root, collection = medallion
    now = datetime.now(UTC)
    bundle = publish(ExchangeStore(), Mapper(pub_a), small_derived(keys, now), now=now)
    # medallion 3 takes an extension definition's own ``version`` property
    # ("1.0.0") for the object's TAXII version and then fails to sort it; the
    # definitions are constants a consumer does not need, so leave them out.
    objects = [o for o in bundle["objects"] if o["type"] != "extension-definition"]
    with TaxiiClient(root, username="admin", password="Password0") as client:
        _pull_from_medallion(client, pub_a, collection, objects, now)


def _pull_from_medallion(
    client: TaxiiClient,
    pub_a: Publisher,
    collection: str,
    objects: list[dict[str, Any]],
    now: datetime,
) -> None:
    status = client.add(collection, objects)
    assert status["failure_count"] == 0
    peer = peer_of(pub_a).model_copy(update={"collection": collection})
    store = ExchangeStore()
    first = pull_peer(store, peer, client, limit=5)
    assert first.received == len(objects)
    assert not first.imported.rejected
    assert store.query("SELECT count(*) FROM indicator")[0][0] == 6
    assert first.checkpoint is not None
    # Nothing new: the checkpoint holds.
    again = pull_peer(store, peer, client, limit=5)
    assert again.received == 0
    # A revocation travels as a new version.
    ind = next(o for o in objects if o["type"] == "indicator")
    revoked = {**ind, "modified": ts(now + timedelta(seconds=1)), "revoked": True}
    client.add(collection, [revoked, pub_a.attest([revoked])])
    third = pull_peer(store, peer, client, limit=5)
    assert not third.imported.rejected and third.received == 2
    assert store.query("SELECT revoked FROM indicator WHERE id = ?", (ind["id"],))[0][0] == 1
