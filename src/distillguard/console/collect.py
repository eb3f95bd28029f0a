"""From a scan to cases: what an analyst needs, gathered while the scan's state
is still at hand.

A scan report (``distillguard.report/1``) names accounts, campaigns and
reasons; an analyst also needs the evidence behind them, how the members are
linked, when they were active, what they asked and how their asks compare to
the population. :func:`cases_from_scan` reads all of that from the scan's
detection state into one JSON document (``distillguard.cases/1``), which
``distillguard console import`` loads; :func:`cases_from_report` makes the
thinner document a plain report allows.

Only *case* accounts (acted on, flagged, or in a campaign) get findings,
timelines and prompts; every account gets its score, action and features, so
the overview can count harm across the whole population.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa

from distillguard._exceptions import IngestError
from distillguard._types import JSON
from distillguard.engine.state import iso

if TYPE_CHECKING:
    from distillguard.detectors.base import Finding
    from distillguard.engine.scan import ScanResult
    from distillguard.engine.state import DetectionState

__all__ = ["CASES_SCHEMA", "cases_from_report", "cases_from_scan", "load_cases"]

CASES_SCHEMA = "distillguard.cases/1"
REPORT_SCHEMA = "distillguard.report/1"
#: Accounts at or above this score are cases even when allowed.
CASE_SCORE = 0.3
MAX_CASE_ACCOUNTS = 5000
PROMPTS_PER_ACCOUNT = 20
PROMPTS_PER_CAMPAIGN = 30
WRAPPERS_PER_CAMPAIGN = 10
MAX_EDGES = 800
#: A group finding larger than this links its members as a ring, not every pair.
PAIRWISE_MAX = 12
HARVEST_AREAS = ("math", "code", "reasoning")


def cases_from_scan(result: ScanResult, report: JSON, *, source: str = "scan") -> JSON:
    """The case document of one scan (its report built with ``build_report``)."""
    det = result.detection
    state = result.state
    cases = _case_accounts(report)
    feats = _features(state)
    con = state.con
    con.register("_cn_ids", pa.table({"account_id": cases}))
    try:
        timelines = _grouped(con.execute(_ACCOUNT_HOURS_SQL).fetchall())
        prompts = _account_prompts(state)
    finally:
        con.unregister("_cn_ids")
    members = {c.campaign_id: c for c in det.scores.campaigns}
    case_set = set(cases)
    return {
        "schema": CASES_SCHEMA,
        "source": source,
        "data_end": iso(det.now),
        "input": report["input"],
        "campaigns": [
            _campaign(state, c, members[c["campaign_id"]], det.findings)
            for c in report["campaigns"]
            if c["campaign_id"] in members
        ],
        "accounts": [
            _account(
                {**a, "own_score": round(det.scores.accounts[a["account_id"]].own_score, 4)},
                feats.get(a["account_id"], {}),
            )
            for a in report["accounts"]
        ],
        "findings": _findings(det.findings, case_set),
        "account_details": {
            a: {"timeline": timelines.get(a, []), "prompts": prompts.get(a, [])} for a in cases
        },
    }


def cases_from_report(report: JSON, *, source: str = "report") -> JSON:
    """The case document a plain scan report allows: scores, actions, reasons
    and campaign membership, without evidence, timelines or prompts."""
    if not isinstance(report, dict) or report.get("schema") != REPORT_SCHEMA:
        raise IngestError(f"not a scan report: expected schema {REPORT_SCHEMA!r}")
    campaigns = [
        {**c, "families": {}, "capability": {}, "edges": [], "timeline": [], "prompts": []}
        for c in report.get("campaigns", [])
    ]
    return {
        "schema": CASES_SCHEMA,
        "source": source,
        "data_end": None,
        "input": report.get("input", {}),
        "campaigns": campaigns,
        "accounts": [_account(a, {}) for a in report.get("accounts", [])],
        "findings": [],
        "account_details": {},
    }


def load_cases(data: bytes, source: str) -> JSON:
    """A case document from a file's bytes: a case document, or a scan report."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise IngestError(f"{source}: not JSON: {exc}") from exc
    if isinstance(doc, dict) and doc.get("schema") == CASES_SCHEMA:
        return doc
    return cases_from_report(doc, source=source)


# -- accounts ----------------------------------------------------------------------


def _case_accounts(report: JSON) -> list[str]:
    ranked = [
        a["account_id"]
        for a in report["accounts"]
        if a["action"] != "allow" or a.get("campaign_id") or a["score"] >= CASE_SCORE
    ]
    return ranked[:MAX_CASE_ACCOUNTS]  # the report lists the strongest first


def _features(state: DetectionState) -> dict[str, JSON]:
    rows = state.con.sql("SELECT * FROM features").to_arrow_table().to_pylist()
    return {r.pop("account_id"): {k: _clean(v) for k, v in r.items()} for r in rows}


def _clean(value: Any) -> Any:
    """A JSON-safe feature value: DuckDB sums come back as ``Decimal``."""
    if isinstance(value, Decimal):
        value = int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _account(acc: JSON, features: JSON) -> JSON:
    return {
        "account_id": acc["account_id"],
        "score": acc["score"],
        "own_score": acc.get("own_score"),
        "action": acc["action"],
        "campaign_id": acc.get("campaign_id"),
        "reasons": acc.get("reasons", []),
        "tier": features.get("tier"),
        "requests": int(features.get("n") or 0),
        "features": features,
    }


_ACCOUNT_HOURS_SQL = """
SELECT k.account_id, CAST(k.key AS BIGINT) AS hour, k.n
FROM acct_key k JOIN _cn_ids USING (account_id)
WHERE k.family = 'ehour' ORDER BY 1, 2
"""

_ACCOUNT_PROMPTS_SQL = f"""
SELECT account_id, key, n, first_ts, last_ts, n_accounts FROM (
    SELECT k.account_id, k.key, k.n, k.first_ts, k.last_ts, p.n_accounts,
           row_number() OVER (PARTITION BY k.account_id ORDER BY k.n DESC, k.key) AS rank
    FROM acct_key k JOIN _cn_ids USING (account_id)
    LEFT JOIN key_pop p ON p.family = 'prompt' AND p.key = k.key
    WHERE k.family = 'prompt'
) WHERE rank <= {PROMPTS_PER_ACCOUNT} ORDER BY account_id, n DESC, key
"""


def _grouped(rows: Iterable[tuple[Any, ...]]) -> dict[str, list[list[int]]]:
    out: dict[str, list[list[int]]] = defaultdict(list)
    for account, hour, n in rows:
        out[account].append([int(hour), int(n)])
    return dict(out)


def _account_prompts(state: DetectionState) -> dict[str, list[JSON]]:
    out: dict[str, list[JSON]] = defaultdict(list)
    for account, key, n, first, last, n_acc in state.con.execute(_ACCOUNT_PROMPTS_SQL).fetchall():
        out[account].append(_prompt(state, key, n, n_acc, first, last))
    return dict(out)


def _prompt(
    state: DetectionState, key: str, n: int, n_acc: int | None, first: float, last: float
) -> JSON:
    return {
        "fingerprint": f"{int(key):016x}",
        "n": int(n),
        "n_accounts": int(n_acc or 1),
        "first_seen": iso(first),
        "last_seen": iso(last),
        "text": state.prompts.sample(int(key)),
    }


# -- campaigns ---------------------------------------------------------------------

_MEMBER_KEYS_SQL = """
SELECT k.key, sum(k.n) AS n, count(*) AS n_acc, min(k.first_ts), max(k.last_ts)
FROM acct_key k JOIN _cn_ids USING (account_id)
WHERE k.family = ? GROUP BY k.key
ORDER BY n_acc DESC, n DESC, k.key LIMIT ?
"""

_AREA_SQL = """
SELECT key, sum(n) FILTER (WHERE account_id IN (SELECT account_id FROM _cn_ids)),
       sum(n)
FROM acct_key WHERE family = 'area' GROUP BY key
"""

_HOURS_SQL = """
SELECT CAST(k.key AS BIGINT) AS hour, sum(k.n) FROM acct_key k JOIN _cn_ids USING (account_id)
WHERE k.family = 'ehour' GROUP BY 1 ORDER BY 1
"""

_ELICIT_SQL = """
SELECT sum(n_elicit) FILTER (WHERE account_id IN (SELECT account_id FROM _cn_ids)),
       sum(n) FILTER (WHERE account_id IN (SELECT account_id FROM _cn_ids)),
       sum(n_elicit), sum(n),
       sum(reas_tok) FILTER (WHERE account_id IN (SELECT account_id FROM _cn_ids)),
       sum(out_tok + reas_tok) FILTER (WHERE account_id IN (SELECT account_id FROM _cn_ids)),
       sum(reas_tok), sum(out_tok + reas_tok)
FROM acct
"""


def _campaign(state: DetectionState, row: JSON, camp: Any, findings: Sequence[Finding]) -> JSON:
    con = state.con
    con.register("_cn_ids", pa.table({"account_id": list(camp.accounts)}))
    try:
        prompts = [
            _prompt(state, key, n, n_acc, first, last)
            for key, n, n_acc, first, last in con.execute(
                _MEMBER_KEYS_SQL, ["prompt", PROMPTS_PER_CAMPAIGN]
            ).fetchall()
        ]
        wrappers = [
            {
                "fingerprint": f"{int(key):016x}",
                "n": int(n),
                "n_accounts": int(n_acc),
                "first_seen": iso(first),
                "last_seen": iso(last),
                "text": state.prompts.wrappers.describe(int(key)),
            }
            for key, n, n_acc, first, last in con.execute(
                _MEMBER_KEYS_SQL, ["wrapper", WRAPPERS_PER_CAMPAIGN]
            ).fetchall()
        ]
        timeline = [[int(h), int(n)] for h, n in con.execute(_HOURS_SQL).fetchall()]
        capability = _capability(con)
    finally:
        con.unregister("_cn_ids")
    return {
        **row,
        "coordination": round(camp.coordination, 4),
        "harvest": round(camp.harvest, 4),
        "families": {str(f): round(v, 4) for f, v in camp.families.items()},
        "last_seen": iso(camp.last_seen),
        "capability": capability,
        "edges": _edges(set(camp.accounts), findings),
        "timeline": timeline,
        "prompts": prompts,
        "wrappers": wrappers,
    }


def _capability(con: Any) -> JSON:
    """Shares of the campaign's requests per capability area, next to the
    population's; and the shares eliciting reasoning and of reasoning tokens."""
    areas = con.execute(_AREA_SQL).fetchall()
    mine = sum(float(a or 0) for _, a, _ in areas)
    pop = sum(float(p or 0) for _, _, p in areas)
    shares = {
        str(key): [_share(a, mine), _share(p, pop)]
        for key, a, p in sorted(areas, key=lambda r: -float(r[2] or 0))
    }
    e = con.execute(_ELICIT_SQL).fetchall()[0]
    return {
        "areas": shares,
        "elicit": [_share(e[0], e[1]), _share(e[2], e[3])],
        "reasoning_tokens": [_share(e[4], e[5]), _share(e[6], e[7])],
        "harvest_areas": [
            round(sum(shares.get(a, [0.0, 0.0])[0] for a in HARVEST_AREAS), 4),
            round(sum(shares.get(a, [0.0, 0.0])[1] for a in HARVEST_AREAS), 4),
        ],
    }


def _share(part: Any, whole: Any) -> float:
    w = float(whole or 0)
    return round(float(part or 0) / w, 4) if w > 0 else 0.0


def _edges(members: set[str], findings: Sequence[Finding]) -> list[list[Any]]:
    """Links between members as ``[a, b, kind, score]``: every pair of a small
    group, a ring through a large one (enough to draw it, not every pair)."""
    best: dict[tuple[str, str, str], float] = {}
    for f in findings:
        if not f.is_group or not f.link:
            continue
        inside = sorted(a for a in f.accounts if a in members)
        if len(inside) < 2:
            continue
        kind = f.link.split(":", 1)[0]
        if len(inside) <= PAIRWISE_MAX:
            pairs = [(a, b) for i, a in enumerate(inside) for b in inside[i + 1 :]]
        else:
            pairs = list(zip(inside, inside[1:] + inside[:1], strict=True))
        for a, b in pairs:
            key = (a, b, kind)
            best[key] = max(best.get(key, 0.0), f.score)
    ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_EDGES]
    return [[a, b, kind, round(s, 4)] for (a, b, kind), s in ranked]


def _findings(findings: Sequence[Finding], cases: set[str]) -> list[JSON]:
    out: list[JSON] = []
    for f in findings:
        inside = [a for a in f.accounts if a in cases]
        if not inside:
            continue
        out.append(
            {
                "detector": f.detector,
                "family": str(f.family),
                "score": f.score,
                "reason": f.reason,
                "evidence": orjson.loads(
                    orjson.dumps(dict(f.evidence), option=orjson.OPT_SERIALIZE_NUMPY, default=str)
                ),
                "link": f.link,
                "n_accounts": len(f.accounts),
                "accounts": inside,
            }
        )
    return out


def parse_time(value: str | None) -> datetime | None:
    """An RFC 3339 time of a case document, tz-aware."""
    if not value:
        return None
    t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=UTC)
