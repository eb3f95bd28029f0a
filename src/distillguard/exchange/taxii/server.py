"""A TAXII 2.1 server for the provider's collections (FastAPI).

Endpoints (TAXII 2.1, section numbers of the specification):

* ``GET /taxii2/`` discovery (4.1); ``GET /{root}/`` API root (4.2);
* ``GET /{root}/status/{id}/`` (4.3);
* ``GET /{root}/collections/`` and ``/collections/{id}/`` (5.1, 5.2);
* ``GET /{root}/collections/{id}/manifest/`` (5.3);
* ``GET``/``POST /{root}/collections/{id}/objects/`` (5.4, 5.5), with
  ``added_after``, ``limit``, ``next``, ``match[id|type|version]`` and the
  ``X-TAXII-Date-Added-First/Last`` headers;
* ``GET /{root}/collections/{id}/objects/{object}/`` and ``…/versions/``
  (5.6, 5.8).

Two collections: ``outbound`` (this provider's publications, readable by
peers with the read right) and ``inbox`` (where peers with the write right
send feedback: sightings, opinions). Every peer has its own credentials
(HTTP Basic). Objects written to the inbox are verified and imported at once
as that peer's; the status resource lists what was accepted and rejected,
with reasons.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import Response

from distillguard.exchange.config import ExchangeConfig, UserConfig
from distillguard.exchange.importer import import_objects
from distillguard.exchange.publish import INBOX, OUTBOUND
from distillguard.exchange.store import ExchangeStore

MEDIA_TYPE = "application/taxii+json;version=2.1"
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
MAX_CONTENT = 100 * 1024 * 1024


class TaxiiError(Exception):
    def __init__(self, status: int, title: str, description: str = "") -> None:
        super().__init__(title)
        self.status, self.title, self.description = status, title, description


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, dict(headers or {}), media_type=MEDIA_TYPE)


def ts_us(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_us(text: str) -> int:
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise TaxiiError(400, "bad timestamp", f"not an RFC 3339 timestamp: {text!r}") from exc
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return round(t.timestamp() * 1e6)


def collection_ids(cfg: ExchangeConfig) -> dict[str, str]:
    """Stable collection ids of this provider: collection id -> store name."""
    ns = uuid.uuid5(uuid.NAMESPACE_URL, f"distillguard:{cfg.provider}")
    return {str(uuid.uuid5(ns, name)): name for name in (OUTBOUND, INBOX)}


def create_app(store: ExchangeStore, cfg: ExchangeConfig) -> FastAPI:
    """The TAXII 2.1 server over ``store`` for the users of ``cfg.server``."""
    app = FastAPI(title=cfg.server.title, docs_url=None, redoc_url=None, openapi_url=None)
    root = cfg.server.api_root
    users = {u.username: u for u in cfg.server.users}
    collections = collection_ids(cfg)
    statuses: dict[str, dict[str, Any]] = {}

    @app.exception_handler(TaxiiError)
    async def _taxii_error(_: Request, exc: TaxiiError) -> Response:
        headers = {"WWW-Authenticate": 'Basic realm="taxii"'} if exc.status == 401 else {}
        body = {"title": exc.title, "description": exc.description, "http_status": str(exc.status)}
        return _json(body, exc.status, headers)

    def user(request: Request) -> UserConfig:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            raise TaxiiError(401, "authentication required")
        try:
            name, _, password = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise TaxiiError(401, "malformed credentials") from exc
        u = users.get(name)
        if u is None or not u.check(password):
            raise TaxiiError(401, "bad credentials")
        accept = request.headers.get("accept", MEDIA_TYPE)
        if "application/taxii+json" not in accept and "*/*" not in accept:
            raise TaxiiError(406, "not acceptable", f"use Accept: {MEDIA_TYPE}")
        return u

    auth = Depends(user)

    def info(cid: str, u: UserConfig) -> dict[str, Any]:
        name = collections.get(cid)
        if name is None:
            raise TaxiiError(404, "no such collection", cid)
        read = u.read and name == OUTBOUND
        write = u.write and name == INBOX
        if not (read or write):
            raise TaxiiError(403, "no access to this collection")
        return {
            "id": cid,
            "title": f"{cfg.provider} {name}",
            "description": "signed publications" if name == OUTBOUND else "feedback from peers",
            "can_read": read,
            "can_write": write,
            "media_types": [STIX_MEDIA_TYPE],
        }

    def readable(cid: str, u: UserConfig) -> str:
        if not info(cid, u)["can_read"]:
            raise TaxiiError(403, "no read access to this collection")
        return collections[cid]

    @app.get("/taxii2/")
    def discovery(request: Request, u: UserConfig = auth) -> Response:
        base = str(request.base_url)
        return _json(
            {
                "title": cfg.server.title,
                "description": f"Signal exchange of {cfg.provider}",
                "default": f"{base}{root}/",
                "api_roots": [f"{base}{root}/"],
            }
        )

    @app.get(f"/{root}/")
    def api_root(u: UserConfig = auth) -> Response:
        return _json(
            {
                "title": f"{cfg.provider} exchange",
                "versions": [MEDIA_TYPE],
                "max_content_length": MAX_CONTENT,
            }
        )

    @app.get(f"/{root}/collections/")
    def list_collections(u: UserConfig = auth) -> Response:
        visible = []
        for cid in collections:
            try:
                visible.append(info(cid, u))
            except TaxiiError:
                continue
        return _json({"collections": visible} if visible else {})

    @app.get(f"/{root}/collections/{{cid}}/")
    def get_collection(cid: str, u: UserConfig = auth) -> Response:
        return _json(info(cid, u))

    def _page(
        request: Request, name: str, added_after: str | None, limit: int | None, next_: str | None
    ) -> tuple[Any, dict[str, str]]:
        q = request.query_params
        after = parse_us(added_after) if added_after else None
        if next_:
            try:
                after = max(after or 0, int(next_))
            except ValueError as exc:
                raise TaxiiError(400, "bad next", next_) from exc
        size = min(limit or cfg.server.page_size, cfg.server.page_size)
        page = store.page(
            name,
            added_after=after,
            limit=max(size, 1),
            ids=_split(q.get("match[id]")),
            types=_split(q.get("match[type]")),
            versions=q.get("match[version]") or "last",
        )
        headers = {}
        if page.date_added:
            headers["X-TAXII-Date-Added-First"] = ts_us(page.date_added[0])
            headers["X-TAXII-Date-Added-Last"] = ts_us(page.date_added[-1])
        return page, headers

    @app.get(f"/{root}/collections/{{cid}}/objects/")
    def get_objects(
        request: Request,
        cid: str,
        u: UserConfig = auth,
        added_after: str | None = None,
        limit: Annotated[int | None, Query(ge=1)] = None,
        next: str | None = None,
    ) -> Response:
        page, headers = _page(request, readable(cid, u), added_after, limit, next)
        body: dict[str, Any] = {"more": page.more}
        if page.more:
            body["next"] = str(page.date_added[-1])
        if page.objects:
            body["objects"] = page.objects
        return _json(body, headers=headers)

    @app.get(f"/{root}/collections/{{cid}}/manifest/")
    def manifest(
        request: Request,
        cid: str,
        u: UserConfig = auth,
        added_after: str | None = None,
        limit: Annotated[int | None, Query(ge=1)] = None,
        next: str | None = None,
    ) -> Response:
        page, headers = _page(request, readable(cid, u), added_after, limit, next)
        rows = [
            {
                "id": o["id"],
                "date_added": ts_us(d),
                "version": o.get("modified") or o.get("created") or ts_us(d),
                "media_type": STIX_MEDIA_TYPE,
            }
            for o, d in zip(page.objects, page.date_added, strict=True)
        ]
        body: dict[str, Any] = {"more": page.more}
        if page.more:
            body["next"] = str(page.date_added[-1])
        if rows:
            body["objects"] = rows
        return _json(body, headers=headers)

    @app.get(f"/{root}/collections/{{cid}}/objects/{{oid}}/")
    def get_object(request: Request, cid: str, oid: str, u: UserConfig = auth) -> Response:
        name = readable(cid, u)
        page = store.page(
            name, ids=[oid], versions=request.query_params.get("match[version]") or "last"
        )
        if not page.objects:
            raise TaxiiError(404, "no such object", oid)
        return _json({"more": False, "objects": page.objects})

    @app.get(f"/{root}/collections/{{cid}}/objects/{{oid}}/versions/")
    def versions(cid: str, oid: str, u: UserConfig = auth) -> Response:
        rows = store.versions(readable(cid, u), oid)
        if not rows:
            raise TaxiiError(404, "no such object", oid)
        headers = {
            "X-TAXII-Date-Added-First": ts_us(min(d for _, d in rows)),
            "X-TAXII-Date-Added-Last": ts_us(max(d for _, d in rows)),
        }
        return _json({"more": False, "versions": [v for v, _ in rows]}, headers=headers)

    @app.post(f"/{root}/collections/{{cid}}/objects/")
    async def add_objects(request: Request, cid: str, u: UserConfig = auth) -> Response:
        if not info(cid, u)["can_write"]:
            raise TaxiiError(403, "no write access to this collection")
        if "application/taxii+json" not in request.headers.get("content-type", ""):
            raise TaxiiError(415, "unsupported media type", f"send {MEDIA_TYPE}")
        body = await request.body()
        if len(body) > MAX_CONTENT:
            raise TaxiiError(413, "too large")
        try:
            objects = orjson.loads(body).get("objects", [])
        except (orjson.JSONDecodeError, AttributeError) as exc:
            raise TaxiiError(400, "not a TAXII envelope") from exc
        if u.peer is None:
            raise TaxiiError(403, "this user writes for no peer")
        store.add_objects(collections[cid], objects)
        result = import_objects(store, cfg.peer(u.peer), objects)
        rejected = {i for i, _ in result.rejected}
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        status = {
            "id": str(uuid.uuid4()),
            "status": "complete",
            "request_timestamp": now,
            "total_count": len(objects),
            "success_count": len(objects) - len(rejected),
            "failure_count": len(rejected),
            "pending_count": 0,
            "successes": [
                {"id": o["id"], "version": o.get("modified", o.get("created", now))}
                for o in objects
                if o.get("id") not in rejected
            ],
            "failures": [{"id": i, "message": reason} for i, reason in result.rejected if i],
        }
        statuses[str(status["id"])] = status
        return _json(status, 202)

    @app.get(f"/{root}/status/{{sid}}/")
    def get_status(sid: str, u: UserConfig = auth) -> Response:
        if sid not in statuses:
            raise TaxiiError(404, "no such status", sid)
        return _json(statuses[sid])

    return app


def _split(value: str | None) -> list[str]:
    return [v for v in (value or "").split(",") if v]
