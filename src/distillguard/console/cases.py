"""The case store: scans imported for analysts, and the reads the pages make.

Every import is kept (``cn_imports``); pages show the latest one, and an
account's page the latest import that saw it. Importing opens review items:
one per campaign (a decision on the whole operation) and one per account the
profile acted on or flagged. An item still open from an earlier import is
refreshed rather than repeated.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, select, update

from distillguard._exceptions import IngestError
from distillguard._types import JSON, Action
from distillguard.console import audit
from distillguard.console.collect import CASES_SCHEMA, parse_time
from distillguard.console.tables import (
    accounts_t,
    campaigns_t,
    finding_accounts_t,
    findings_t,
    imports_t,
    prompts_t,
    reviews_t,
    timelines_t,
)
from distillguard.decisions.model import utcnow

__all__ = ["OPEN_STATES", "CaseStore", "ImportSummary"]

#: Review states that keep an item in the queue.
OPEN_STATES = ("pending", "escalated")
_CHUNK = 2000


@dataclass(frozen=True, slots=True)
class ImportSummary:
    import_id: int
    campaigns: int
    accounts: int
    findings: int
    prompts: int
    reviews_opened: int


def _rows(result: Any) -> list[JSON]:
    return [dict(r._mapping) for r in result]


def _insert(conn: Connection, table: Any, rows: Sequence[JSON]) -> None:
    for i in range(0, len(rows), _CHUNK):
        conn.execute(table.insert(), list(rows[i : i + _CHUNK]))


def _enforced(action: str | None) -> str | None:
    """The decision type an action proposes, or None for ``allow``/``review``."""
    if action is None:
        return None
    a = Action(action)
    return a.value if a.enforced else None


class CaseStore:
    """Imports and reads of cases."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- import -------------------------------------------------------------------

    def import_cases(self, doc: JSON, actor: str) -> ImportSummary:
        """Load one case document (``distillguard.cases/1``) in one transaction."""
        if doc.get("schema") != CASES_SCHEMA:
            raise IngestError(f"not a case document: expected schema {CASES_SCHEMA!r}")
        now = utcnow()
        with self.engine.begin() as conn:
            res = conn.execute(
                imports_t.insert().values(
                    source=str(doc.get("source", ""))[:512],
                    imported_at=now,
                    data_end=parse_time(doc.get("data_end")),
                    summary=doc.get("input", {}),
                )
            )
            assert res.inserted_primary_key is not None
            iid = int(res.inserted_primary_key[0])
            keys = self._campaigns(conn, iid, doc["campaigns"])
            self._accounts(conn, iid, doc["accounts"])
            n_findings = self._findings(conn, iid, doc.get("findings", []))
            n_prompts = self._details(conn, iid, doc, keys)
            opened = self._open_reviews(conn, iid, doc, keys)
            summary = ImportSummary(
                iid,
                len(keys),
                len(doc["accounts"]),
                n_findings,
                n_prompts,
                opened,
            )
            audit.append(
                conn,
                actor,
                "cases.import",
                f"import:{iid}",
                f"imported {doc.get('source', '')}",
                after={
                    "campaigns": summary.campaigns,
                    "accounts": summary.accounts,
                    "reviews_opened": opened,
                },
            )
        return summary

    def _campaigns(self, conn: Connection, iid: int, campaigns: list[JSON]) -> dict[str, int]:
        keys: dict[str, int] = {}
        for c in campaigns:
            res = conn.execute(
                campaigns_t.insert().values(
                    import_id=iid,
                    campaign_id=c["campaign_id"],
                    score=float(c["score"]),
                    coordination=c.get("coordination"),
                    harvest=c.get("harvest"),
                    families=c.get("families", {}),
                    requests=int(c.get("requests", 0)),
                    n_accounts=len(c["accounts"]),
                    first_seen=parse_time(c.get("first_seen")),
                    last_seen=parse_time(c.get("last_seen") or c.get("detected_at")),
                    signals=c.get("signals", []),
                    capability=c.get("capability", {}),
                    edges=c.get("edges", []),
                )
            )
            assert res.inserted_primary_key is not None
            keys[c["campaign_id"]] = int(res.inserted_primary_key[0])
        return keys

    def _accounts(self, conn: Connection, iid: int, accounts: list[JSON]) -> None:
        _insert(
            conn,
            accounts_t,
            [
                {
                    "import_id": iid,
                    "account_id": a["account_id"],
                    "score": float(a["score"]),
                    "own_score": a.get("own_score"),
                    "action": a["action"],
                    "campaign_id": a.get("campaign_id"),
                    "tier": a.get("tier"),
                    "requests": int(a.get("requests") or 0),
                    "reasons": a.get("reasons", []),
                    "features": a.get("features", {}),
                }
                for a in accounts
            ],
        )

    def _findings(self, conn: Connection, iid: int, findings: list[JSON]) -> int:
        if not findings:
            return 0
        rows = [
            {
                "import_id": iid,
                "detector": f["detector"],
                "family": f["family"],
                "score": float(f["score"]),
                "reason": f["reason"],
                "evidence": f.get("evidence", {}),
                "link": f.get("link"),
                "n_accounts": int(f.get("n_accounts", len(f["accounts"]))),
            }
            for f in findings
        ]
        # One round trip per chunk, ids returned in the order of the rows.
        ids: list[int] = []
        for i in range(0, len(rows), _CHUNK):
            res = conn.execute(
                findings_t.insert().returning(findings_t.c.id, sort_by_parameter_order=True),
                rows[i : i + _CHUNK],
            )
            ids.extend(int(r[0]) for r in res)
        links = [
            {"finding_id": fid, "account_id": a}
            for fid, f in zip(ids, findings, strict=True)
            for a in dict.fromkeys(f["accounts"])
        ]
        _insert(conn, finding_accounts_t, links)
        return len(findings)

    def _details(self, conn: Connection, iid: int, doc: JSON, keys: dict[str, int]) -> int:
        prompts: list[JSON] = []
        hours: list[JSON] = []
        for c in doc["campaigns"]:
            key = keys[c["campaign_id"]]
            for kind, items in (
                ("prompt", c.get("prompts", [])),
                ("wrapper", c.get("wrappers", [])),
            ):
                prompts.extend(_prompt_row(iid, p, kind, campaign_key=key) for p in items)
            hours.extend(
                {"import_id": iid, "subject": f"c:{key}", "hour": h, "n": n}
                for h, n in c.get("timeline", [])
            )
        for account, detail in doc.get("account_details", {}).items():
            prompts.extend(
                _prompt_row(iid, p, "prompt", account_id=account) for p in detail.get("prompts", [])
            )
            hours.extend(
                {"import_id": iid, "subject": f"a:{account}", "hour": h, "n": n}
                for h, n in detail.get("timeline", [])
            )
        _insert(conn, prompts_t, prompts)
        _insert(conn, timelines_t, hours)
        return len(prompts)

    def _open_reviews(self, conn: Connection, iid: int, doc: JSON, keys: dict[str, int]) -> int:
        now = utcnow()
        actions = {a["account_id"]: a["action"] for a in doc["accounts"]}
        wanted: list[JSON] = []
        for c in doc["campaigns"]:
            strongest = max(
                (Action(actions.get(a, "allow")) for a in c["accounts"]), key=lambda x: x.rank
            )
            wanted.append(
                {
                    "kind": "campaign",
                    "subject": c["campaign_id"],
                    "campaign_key": keys[c["campaign_id"]],
                    "score": float(c["score"]),
                    "proposed": _enforced(strongest.value),
                    "summary": f"{len(c['accounts'])} accounts, {int(c.get('requests', 0)):,} requests",
                }
            )
        for a in doc["accounts"]:
            if a["action"] == "allow":
                continue
            cid = a.get("campaign_id")
            wanted.append(
                {
                    "kind": "account",
                    "subject": a["account_id"],
                    "campaign_key": keys.get(cid) if cid else None,
                    "score": float(a["score"]),
                    "proposed": _enforced(a["action"]),
                    "summary": f"profile action {a['action']}"
                    + (f", campaign {cid}" if cid else ""),
                }
            )
        opened = 0
        for item in wanted:
            same = and_(
                reviews_t.c.kind == item["kind"],
                reviews_t.c.subject == item["subject"],
                reviews_t.c.state.in_(OPEN_STATES),
            )
            res = conn.execute(update(reviews_t).where(same).values(import_id=iid, **item))
            if res.rowcount == 0:
                conn.execute(
                    reviews_t.insert().values(
                        import_id=iid,
                        state="pending",
                        decision_ids=[],
                        created_at=now,
                        **item,
                    )
                )
                opened += 1
        return opened

    # -- reads --------------------------------------------------------------------

    def latest_import(self) -> JSON | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(imports_t).order_by(imports_t.c.id.desc()).limit(1)).first()
        return None if row is None else dict(row._mapping)

    def campaigns(self, import_id: int, limit: int = 500) -> list[JSON]:
        q = (
            select(campaigns_t)
            .where(campaigns_t.c.import_id == import_id)
            .order_by(campaigns_t.c.score.desc(), campaigns_t.c.campaign_id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return _rows(conn.execute(q))

    def campaign(self, key: int) -> JSON | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(campaigns_t).where(campaigns_t.c.id == key)).first()
        return None if row is None else dict(row._mapping)

    def members(self, campaign: JSON) -> list[JSON]:
        q = (
            select(accounts_t)
            .where(
                accounts_t.c.import_id == campaign["import_id"],
                accounts_t.c.campaign_id == campaign["campaign_id"],
            )
            .order_by(accounts_t.c.score.desc(), accounts_t.c.account_id)
        )
        with self.engine.connect() as conn:
            return _rows(conn.execute(q))

    def account(self, account_id: str) -> JSON | None:
        """The account as the latest import that saw it shows it."""
        q = (
            select(accounts_t)
            .where(accounts_t.c.account_id == account_id)
            .order_by(accounts_t.c.import_id.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        return None if row is None else dict(row._mapping)

    def campaign_key(self, import_id: int, campaign_id: str) -> int | None:
        q = select(campaigns_t.c.id).where(
            campaigns_t.c.import_id == import_id, campaigns_t.c.campaign_id == campaign_id
        )
        with self.engine.connect() as conn:
            v = conn.execute(q).scalar()
        return None if v is None else int(v)

    def findings(self, import_id: int, accounts: Sequence[str], limit: int = 200) -> list[JSON]:
        """Findings of one import touching any of ``accounts``, strongest first."""
        if not accounts:
            return []
        ids = (
            select(finding_accounts_t.c.finding_id)
            .where(finding_accounts_t.c.account_id.in_(list(accounts)))
            .distinct()
        )
        q = (
            select(findings_t)
            .where(findings_t.c.import_id == import_id, findings_t.c.id.in_(ids))
            .order_by(findings_t.c.score.desc(), findings_t.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return _rows(conn.execute(q))

    def prompts(
        self, import_id: int, *, account_id: str | None = None, campaign_key: int | None = None
    ) -> list[JSON]:
        q = select(prompts_t).where(prompts_t.c.import_id == import_id)
        if account_id is not None:
            q = q.where(prompts_t.c.account_id == account_id)
        if campaign_key is not None:
            q = q.where(prompts_t.c.campaign_key == campaign_key)
        q = q.order_by(prompts_t.c.kind, prompts_t.c.n_accounts.desc(), prompts_t.c.n.desc())
        with self.engine.connect() as conn:
            return _rows(conn.execute(q))

    def timeline(self, import_id: int, subject: str) -> list[tuple[int, int]]:
        q = (
            select(timelines_t.c.hour, timelines_t.c.n)
            .where(timelines_t.c.import_id == import_id, timelines_t.c.subject == subject)
            .order_by(timelines_t.c.hour)
        )
        with self.engine.connect() as conn:
            return [(int(h), int(n)) for h, n in conn.execute(q)]

    def action_counts(self, import_id: int) -> dict[str, int]:
        q = (
            select(accounts_t.c.action, func.count())
            .where(accounts_t.c.import_id == import_id)
            .group_by(accounts_t.c.action)
        )
        with self.engine.connect() as conn:
            return {str(a): int(n) for a, n in conn.execute(q)}

    def tiers(self, import_id: int) -> list[tuple[str, str, int]]:
        """(tier, action, accounts) of one import."""
        q = (
            select(accounts_t.c.tier, accounts_t.c.action, func.count())
            .where(accounts_t.c.import_id == import_id)
            .group_by(accounts_t.c.tier, accounts_t.c.action)
        )
        with self.engine.connect() as conn:
            return [(str(t or "unknown"), str(a), int(n)) for t, a, n in conn.execute(q)]

    def tiers_of(self, import_id: int, accounts: Sequence[str]) -> Counter[str]:
        if not accounts:
            return Counter()
        q = select(accounts_t.c.tier).where(
            accounts_t.c.import_id == import_id, accounts_t.c.account_id.in_(list(accounts))
        )
        with self.engine.connect() as conn:
            return Counter(str(t or "unknown") for (t,) in conn.execute(q))

    # -- review items ------------------------------------------------------------

    def reviews(
        self,
        states: Sequence[str] = OPEN_STATES,
        *,
        kind: str | None = None,
        campaign_key: int | None = None,
        subject: str | None = None,
        limit: int = 500,
    ) -> list[JSON]:
        q = select(reviews_t).where(reviews_t.c.state.in_(list(states)))
        if kind is not None:
            q = q.where(reviews_t.c.kind == kind)
        if campaign_key is not None:
            q = q.where(reviews_t.c.campaign_key == campaign_key)
        if subject is not None:
            q = q.where(reviews_t.c.subject == subject)
        q = q.order_by(reviews_t.c.score.desc(), reviews_t.c.id).limit(limit)
        with self.engine.connect() as conn:
            return _rows(conn.execute(q))

    def review(self, item_id: int) -> JSON | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(reviews_t).where(reviews_t.c.id == item_id)).first()
        return None if row is None else dict(row._mapping)

    def queue_size(self) -> dict[str, int]:
        q = (
            select(reviews_t.c.state, func.count())
            .where(reviews_t.c.state.in_(OPEN_STATES))
            .group_by(reviews_t.c.state)
        )
        with self.engine.connect() as conn:
            return {str(s): int(n) for s, n in conn.execute(q)}


def _prompt_row(
    iid: int, p: JSON, kind: str, *, account_id: str | None = None, campaign_key: int | None = None
) -> JSON:
    last = parse_time(p.get("last_seen")) or utcnow()
    return {
        "import_id": iid,
        "account_id": account_id,
        "campaign_key": campaign_key,
        "kind": kind,
        "fingerprint": str(p["fingerprint"])[:32],
        "n": int(p.get("n", 0)),
        "n_accounts": int(p.get("n_accounts", 1)),
        "first_seen": parse_time(p.get("first_seen")),
        "last_seen": last,
        "text": p.get("text"),
        "redacted_at": None,
    }
