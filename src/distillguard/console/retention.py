"""Retention of raw prompt text.

After ``days``, prompt text is dropped: sample prompts and wrapper templates
lose their text (fingerprints, counts and dates stay), and the quotes that
reasons, campaign signals and finding evidence took from prompts are replaced
(:mod:`.redact`) for imports whose data ended before the cut-off. Scores,
features, findings and decisions stay, so every page still works and
fingerprints still match new traffic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, func, select, update

from distillguard.console import audit
from distillguard.console.redact import redact, redact_evidence
from distillguard.console.tables import accounts_t, campaigns_t, findings_t, imports_t, prompts_t
from distillguard.decisions.model import as_utc, utcnow

__all__ = ["RetentionResult", "apply_retention"]


@dataclass(frozen=True, slots=True)
class RetentionResult:
    cutoff: datetime
    prompts: int
    imports: int


def apply_retention(
    engine: Engine, days: float, *, now: datetime | None = None, actor: str = "system"
) -> RetentionResult:
    """Drop prompt text last seen more than ``days`` ago."""
    now = as_utc(now) if now else utcnow()
    cutoff = now - timedelta(days=days)
    with engine.begin() as conn:
        res = conn.execute(
            update(prompts_t)
            .where(prompts_t.c.last_seen < cutoff, prompts_t.c.text.is_not(None))
            .values(text=None, redacted_at=now)
        )
        n_prompts = int(res.rowcount)
        old = [
            int(i)
            for (i,) in conn.execute(
                select(imports_t.c.id).where(
                    func.coalesce(imports_t.c.data_end, imports_t.c.imported_at) < cutoff,
                    imports_t.c.scrubbed_at.is_(None),
                )
            )
        ]
        for iid in old:
            _scrub_import(conn, iid)
            conn.execute(update(imports_t).where(imports_t.c.id == iid).values(scrubbed_at=now))
        if n_prompts or old:
            audit.append(
                conn,
                actor,
                "retention.run",
                "prompts",
                f"prompt text older than {days:g} days",
                after={"cutoff": cutoff.isoformat(), "prompts": n_prompts, "imports": old},
            )
    return RetentionResult(cutoff, n_prompts, len(old))


def _scrub_import(conn: Connection, iid: int) -> None:
    """Replace quoted prompt text in one import's reasons, signals and evidence."""
    rows = conn.execute(
        select(accounts_t.c.account_id, accounts_t.c.reasons).where(accounts_t.c.import_id == iid)
    ).all()
    for account, reasons in rows:
        clean = [redact(r) for r in reasons or []]
        if clean != reasons:
            conn.execute(
                update(accounts_t)
                .where(accounts_t.c.import_id == iid, accounts_t.c.account_id == account)
                .values(reasons=clean)
            )
    for key, signals in conn.execute(
        select(campaigns_t.c.id, campaigns_t.c.signals).where(campaigns_t.c.import_id == iid)
    ).all():
        clean = [redact(s) for s in signals or []]
        if clean != signals:
            conn.execute(update(campaigns_t).where(campaigns_t.c.id == key).values(signals=clean))
    for fid, reason, evidence in conn.execute(
        select(findings_t.c.id, findings_t.c.reason, findings_t.c.evidence).where(
            findings_t.c.import_id == iid
        )
    ).all():
        clean_reason, clean_evidence = redact(reason), redact_evidence(evidence)
        if clean_reason != reason or clean_evidence != evidence:
            conn.execute(
                update(findings_t)
                .where(findings_t.c.id == fid)
                .values(reason=clean_reason, evidence=clean_evidence)
            )
