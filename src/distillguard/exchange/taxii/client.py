"""Polling peers' TAXII 2.1 collections, with a checkpoint per peer.

Each pull asks for the objects added after the peer's checkpoint (the
``X-TAXII-Date-Added-Last`` of the last page seen), follows ``next`` while
the server says there is ``more``, verifies and imports everything received,
then moves the checkpoint. Additions are new objects, revocations new
versions with ``revoked``; expiries need no message (``valid_until``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from distillguard.exchange.config import PeerConfig
from distillguard.exchange.errors import PeerError
from distillguard.exchange.importer import ImportResult, import_objects
from distillguard.exchange.store import ExchangeStore
from distillguard.exchange.taxii.server import MEDIA_TYPE

JSON = dict[str, Any]


class TaxiiClient:
    """A small TAXII 2.1 client over httpx (one API root)."""

    def __init__(
        self,
        api_root: str,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        auth = httpx.BasicAuth(username, password or "") if username else None
        self.api_root = api_root.rstrip("/") + "/"
        self._http = httpx.Client(
            auth=auth,
            timeout=timeout,
            headers={"Accept": MEDIA_TYPE},
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TaxiiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        try:
            r = self._http.get(self.api_root + path, params=params)
        except httpx.HTTPError as exc:
            raise PeerError(f"cannot reach {self.api_root}: {exc}") from exc
        if r.status_code != 200:
            raise PeerError(f"{self.api_root}{path}: HTTP {r.status_code}: {r.text[:200]}")
        return r

    def collections(self) -> list[JSON]:
        return list(self._get("collections/").json().get("collections", []))

    def pages(
        self, collection: str, added_after: str | None = None, limit: int = 1000
    ) -> Iterator[tuple[list[JSON], str | None]]:
        """Pages of objects added after ``added_after``: (objects, the
        page's ``X-TAXII-Date-Added-Last``)."""
        params: dict[str, Any] = {"limit": limit}
        if added_after:
            params["added_after"] = added_after
        while True:
            r = self._get(f"collections/{collection}/objects/", params)
            env = r.json()
            yield list(env.get("objects", [])), r.headers.get("X-TAXII-Date-Added-Last")
            if not env.get("more") or not env.get("next"):
                return
            params["next"] = env["next"]

    def add(self, collection: str, objects: list[JSON]) -> JSON:
        try:
            r = self._http.post(
                self.api_root + f"collections/{collection}/objects/",
                json={"objects": objects},
                headers={"Content-Type": MEDIA_TYPE},
            )
        except httpx.HTTPError as exc:
            raise PeerError(f"cannot reach {self.api_root}: {exc}") from exc
        if r.status_code not in (200, 202):
            raise PeerError(f"{self.api_root}: HTTP {r.status_code}: {r.text[:200]}")
        status: JSON = r.json()
        return status


@dataclass(frozen=True, slots=True)
class PullResult:
    peer: str
    received: int
    imported: ImportResult
    checkpoint: str | None


def pull_peer(
    store: ExchangeStore,
    peer: PeerConfig,
    client: TaxiiClient | None = None,
    *,
    limit: int = 1000,
) -> PullResult:
    """Pull what ``peer`` added since the last pull, verify and import it."""
    if client is None:
        if not peer.url or not peer.collection:
            raise PeerError(f"peer {peer.name!r} has no url or collection to poll")
        root = peer.url.rstrip("/") + "/" + peer.api_root.strip("/") + "/"
        with TaxiiClient(root, username=peer.username, password=peer.password()) as own:
            return pull_peer(store, peer, own, limit=limit)
    after = store.checkpoint(peer.name)
    objects: list[JSON] = []
    last = after
    for page, page_last in client.pages(str(peer.collection), after, limit):
        objects.extend(page)
        last = page_last or last
    result = import_objects(store, peer, objects)
    if last and last != after:
        store.set_checkpoint(peer.name, last)
    return PullResult(peer.name, len(objects), result, last)
