"""Rich tables for the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from distillguard._types import JSON
from distillguard.engine.evaluate import Evaluation
from distillguard.events import IngestSummary


def ingest_table(summary: IngestSummary) -> Table:
    t = Table(title="Ingest", show_header=True)
    for col in ("lines read", "accepted", "rejected", "duplicates"):
        t.add_column(col, justify="right")
    t.add_row(
        *(f"{v:,}" for v in (summary.lines, summary.accepted, summary.rejected, summary.duplicates))
    )
    return t


def campaigns_table(report: JSON, limit: int = 10) -> Table:
    t = Table(title="Top campaigns")
    t.add_column("campaign")
    t.add_column("score", justify="right")
    t.add_column("accounts", justify="right")
    t.add_column("requests", justify="right")
    t.add_column("signals")
    for c in report["campaigns"][:limit]:
        t.add_row(
            c["campaign_id"],
            f"{c['score']:.2f}",
            str(len(c["accounts"])),
            f"{c['requests']:,}",
            "\n".join(s[:140] for s in c["signals"][:4]),
        )
    return t


def accounts_table(report: JSON, limit: int = 10) -> Table:
    t = Table(title="Top accounts")
    t.add_column("account")
    t.add_column("score", justify="right")
    t.add_column("action")
    t.add_column("campaign")
    t.add_column("reasons")
    for a in report["accounts"][:limit]:
        t.add_row(
            a["account_id"],
            f"{a['score']:.2f}",
            a["action"],
            a["campaign_id"] or "",
            "\n".join(r[:140] for r in a["reasons"][:3]),
        )
    return t


def actions_table(report: JSON) -> Table:
    counts: dict[str, int] = {}
    for a in report["accounts"]:
        counts[a["action"]] = counts.get(a["action"], 0) + 1
    t = Table(title="Actions")
    t.add_column("action")
    t.add_column("accounts", justify="right")
    for action in ("allow", "review", "throttle", "degrade", "suspend"):
        t.add_row(action, f"{counts.get(action, 0):,}")
    return t


def evaluation_tables(ev: Evaluation, *, leakage: bool = False) -> list[Table]:
    pops = Table(title="Recall and harm by population (labels)")
    for col in ("population", "kind", "accounts", "enforced", "suspended", "review"):
        pops.add_column(col, justify="right" if col not in ("population", "kind") else "left")
    if leakage:
        pops.add_column("served before action", justify="right")
    for p in ev.populations:
        kind = "attack" if p.malicious else ("hard negative" if p.hard_negative else "benign")
        row = [
            p.population,
            kind,
            str(p.accounts),
            f"{p.enforced} ({p.enforced_share:.1%})",
            str(p.suspended),
            str(p.reviewed),
        ]
        if leakage:
            share = p.served_before_action / p.requests if p.requests else 0.0
            row.append(f"{share:.1%}")
        pops.add_row(*row)
    summary = Table(title="Summary")
    summary.add_column("measure")
    summary.add_column("value", justify="right")
    auc = "n/a" if ev.roc_auc is None else f"{ev.roc_auc:.4f}"
    for k, v in (
        ("attack-account recall (enforced)", f"{ev.attack_recall:.1%}"),
        ("attack accounts flagged (incl. review)", f"{ev.attack_flagged:.1%}"),
        ("campaigns found", f"{ev.campaigns_found} of {len(ev.campaigns)}"),
        ("legitimate accounts harmed (throttle/degrade/suspend)", f"{ev.benign_harm:.2%}"),
        ("legitimate accounts suspended", str(ev.benign_suspended)),
        ("hard-negative accounts suspended", str(ev.hard_negative_suspended)),
        ("review queue (share of accounts)", f"{ev.review_share:.2%}"),
        ("ROC AUC", auc),
    ):
        summary.add_row(k, v)
    tables = [pops, summary]
    if leakage:
        camps = Table(title="Campaigns (labels)")
        for col in ("campaign", "accounts", "enforced", "leakage"):
            camps.add_column(col)
        for c in ev.campaigns:
            lk = "n/a" if c.leakage is None else f"{c.leakage:.1%}"
            camps.add_row(c.campaign, str(c.accounts), f"{c.recall:.0%}", lk)
        tables.append(camps)
    return tables


def print_all(console: Console, tables: list[Table]) -> None:
    for t in tables:
        console.print(t)
