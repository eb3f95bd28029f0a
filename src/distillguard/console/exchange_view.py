"""The console's window on signal exchange: peers, trust, imported indicators
and their state, what was published about a campaign and what peers said
about it, and revocation requests after an appeal.

Read-only over the exchange's store and configuration, except that a
revocation request is recorded in the console's own table: the next
publication of the exchange (``distillguard exchange publish``), run on the
data after the appeal, no longer contains the campaign's indicators and
revokes them (see :mod:`distillguard.exchange.publish`); the request tells the
operator to run it, and the exchange page lists requests until then.
"""

from __future__ import annotations

import time
from collections import defaultdict
from functools import cached_property
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, select

from distillguard._types import JSON
from distillguard.console import audit
from distillguard.console.tables import revocations_t
from distillguard.decisions.model import utcnow
from distillguard.exchange.config import ExchangeConfig, load_config
from distillguard.exchange.publish import INBOX, OUTBOUND
from distillguard.exchange.signing import Publisher, key_fingerprint, load_public_key
from distillguard.exchange.stix import Mapper
from distillguard.exchange.store import ExchangeStore
from distillguard.exchange.trust import trust_view

__all__ = ["ExchangeLink", "indicator_state"]


def indicator_state(revoked: bool, valid_until: float | None, disputed: bool, now: float) -> str:
    """One of ``revoked``, ``expired``, ``DISPUTED``, ``active``."""
    if revoked:
        return "revoked"
    if valid_until is not None and valid_until <= now:
        return "expired"
    return "DISPUTED" if disputed else "active"


class ExchangeLink:
    """The exchange as configured in ``config`` (YAML)."""

    def __init__(self, config: Path, engine: Engine) -> None:
        self.config_path = config
        self.engine = engine

    @cached_property
    def cfg(self) -> ExchangeConfig:
        return load_config(self.config_path)

    @cached_property
    def store(self) -> ExchangeStore:
        return ExchangeStore(self.cfg.store)

    @cached_property
    def mapper(self) -> Mapper:
        return Mapper(Publisher.load(self.cfg.provider, self.cfg.signing_key), self.cfg.tlp)

    # -- peers and imported indicators -------------------------------------------

    def peers(self) -> list[JSON]:
        counts = dict(self.store.query("SELECT peer, count(*) FROM indicator GROUP BY peer"))
        return [
            {
                "name": p.name,
                "trust": p.trust,
                "url": p.url,
                "key": key_fingerprint(load_public_key(p.public_key)),
                "indicators": int(counts.get(p.name, 0)),
            }
            for p in self.cfg.peers
        ]

    def indicators(self, limit: int = 500) -> list[JSON]:
        now = time.time()
        view = trust_view(self.store, self.cfg, now)
        disputed = {i for s in view.values.values() if s.disputed for i in s.indicators}
        support: dict[str, float] = defaultdict(float)
        for s in view.values.values():
            for i in s.indicators:
                support[i] = max(support[i], s.support)
        rows = self.store.query(
            "SELECT i.id, i.peer, i.kind, i.confidence, i.valid_from, i.valid_until, i.revoked, "
            "i.campaign, (SELECT count(*) FROM indicator_value v WHERE v.indicator = i.id) "
            "FROM indicator i ORDER BY i.valid_from DESC LIMIT ?",
            (limit,),
        )
        return [
            {
                "id": iid,
                "peer": peer,
                "kind": kind,
                "confidence": int(conf),
                "valid_from": float(vf),
                "valid_until": None if vu is None else float(vu),
                "campaign": campaign,
                "values": int(n),
                "support": round(support.get(iid, 0.0), 3),
                "state": indicator_state(bool(rev), vu, iid in disputed, now),
            }
            for iid, peer, kind, conf, vf, vu, rev, campaign, n in rows
        ]

    # -- our publications ----------------------------------------------------------

    def _objects(self, collection: str, types: list[str]) -> list[JSON]:
        out: list[JSON] = []
        after: int | None = None
        while True:
            page = self.store.page(collection, added_after=after, limit=5000, types=types)
            out.extend(page.objects)
            if not page.more:
                return out
            after = page.date_added[-1]

    def campaign_status(self, campaign_id: str) -> JSON:
        """What we published about a local campaign and what peers said of it."""
        stix_id = self.mapper.campaign_id(campaign_id)
        campaign = [o for o in self._objects(OUTBOUND, ["campaign"]) if o["id"] == stix_id]
        rels = self._objects(OUTBOUND, ["relationship"])
        ind_ids = {r["source_ref"] for r in rels if r.get("target_ref") == stix_id}
        indicators = [o for o in self._objects(OUTBOUND, ["indicator"]) if o["id"] in ind_ids]
        live = [o["id"] for o in indicators if not o.get("revoked")]
        return {
            "published": bool(campaign),
            "stix_id": stix_id,
            "name": campaign[0].get("name") if campaign else None,
            "indicators": len(indicators),
            "live_indicators": live,
            "sightings": self._sightings(ind_ids),
            "opinions": self._opinions(ind_ids | {stix_id}),
        }

    def _sightings(self, refs: set[str]) -> list[JSON]:
        out = [
            {"peer": peer, "count": int(n), "false_positive": bool(fp)}
            for peer, ref, n, fp in self.store.query(
                "SELECT peer, ref, count, false_positive FROM sighting"
            )
            if ref in refs
        ]
        for o in self._objects(INBOX, ["sighting"]):
            if o.get("sighting_of_ref") in refs:
                ext: JSON = next(iter(o.get("extensions", {}).values()), {})
                out.append(
                    {
                        "peer": o.get("created_by_ref", "?"),
                        "count": int(o.get("count", 0)),
                        "false_positive": bool(ext.get("false_positive", False)),
                    }
                )
        return out

    def _opinions(self, refs: set[str]) -> list[JSON]:
        out = [
            {"peer": peer, "support": float(s)}
            for peer, s, rs in self.store.query("SELECT peer, support, refs FROM opinion")
            if refs & set(orjson.loads(rs))
        ]
        out.extend(
            {"peer": o.get("created_by_ref", "?"), "opinion": o.get("opinion")}
            for o in self._objects(INBOX, ["opinion"])
            if refs & set(o.get("object_refs", []))
        )
        return out

    # -- revocation ------------------------------------------------------------------

    def request_revocation(
        self, account: str, campaign: str | None, actor: str
    ) -> tuple[str, JSON]:
        """Record that what was shared about ``account``'s campaign must be
        revoked; ``not-shared`` when nothing live was published about it."""
        status = self.campaign_status(campaign) if campaign else None
        live = status["live_indicators"] if status else []
        state = "requested" if live else "not-shared"
        detail: JSON = {
            "campaign": campaign,
            "stix_campaign": status["stix_id"] if status else None,
            "indicators": live,
        }
        with self.engine.begin() as conn:
            conn.execute(
                revocations_t.insert().values(
                    at=utcnow(),
                    actor=actor,
                    account_id=account,
                    campaign_id=campaign,
                    state=state,
                    detail=detail,
                )
            )
            audit.append(
                conn,
                actor,
                "exchange.revocation_request",
                f"account:{account}",
                "appeal upheld",
                after={"state": state, **detail},
            )
        return state, detail


def revocations(engine: Engine, limit: int = 200) -> list[dict[str, Any]]:
    q = select(revocations_t).order_by(revocations_t.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]
