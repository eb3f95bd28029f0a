"""One detection run over the current state: detectors → scores → actions."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from distillguard._types import Action
from distillguard.detectors import Detector, Finding, default_detectors
from distillguard.detectors._util import column
from distillguard.engine.state import DetectionContext, DetectionState
from distillguard.scoring import Profile, ScoreResult, Usage, score


@dataclass(slots=True)
class Detection:
    """The outcome of one detection run."""

    now: float
    findings: list[Finding]
    scores: ScoreResult
    actions: dict[str, Action]
    timings: dict[str, float] = field(default_factory=dict)


#: The most accounts one payment instrument and one e-mail domain make one
#: organisation of, when the account table declares no owner.
INFERRED_OWNER_MAX = 5

# Accounts that look like one organisation though no owner is declared: a
# handful that pay with one instrument and sign up with one e-mail domain,
# which no other account uses (a company's production, staging and
# development accounts). A consumer domain is shared with strangers, and an
# operation of many accounts on one card and one domain is more than a
# handful, so neither is taken for one.
_OWNERS_SQL = """
WITH a AS (
    SELECT account_id, payment_fingerprint AS pay, lower(email_domain) AS dom FROM accounts
    WHERE coalesce(email_domain, '') <> ''
), d AS (
    SELECT dom, count(*) AS n_dom FROM a GROUP BY dom
), p AS (
    SELECT pay, dom, count(*) AS n_pair FROM a WHERE coalesce(pay, '') <> '' GROUP BY pay, dom
)
SELECT a.account_id, 'inferred: ' || p.dom AS owner
FROM a JOIN p USING (pay, dom) JOIN d USING (dom)
WHERE p.n_pair BETWEEN 2 AND ? AND d.n_dom = p.n_pair
"""

_HARVEST_AREA_SQL = """
SELECT account_id, sum(n) AS n FROM acct_key
WHERE family = 'area' AND key IN ('math', 'code', 'reasoning') GROUP BY account_id
"""


def inferred_owners(ctx: DetectionContext) -> dict[str, str]:
    """The owner each account is taken to have though the account table
    declares none (``_OWNERS_SQL``): a name for the organisation, per account."""
    found = ctx.sql(_OWNERS_SQL, [INFERRED_OWNER_MAX])
    return dict(zip(found["account_id"].to_pylist(), found["owner"].to_pylist(), strict=True))


def _usage(ctx: DetectionContext, ids: list[str]) -> dict[str, Usage]:
    feats = ctx.features
    n = column(feats, "n")
    first, last = column(feats, "first_ts"), column(feats, "last_ts")
    elicit = column(feats, "elicit_share") * n
    reas, out = column(feats, "reasoning_tokens"), column(feats, "output_tokens")
    expected = ctx.reasoning_expected
    could = ctx.reasoning_requests
    area = dict(zip(*ctx.sql(_HARVEST_AREA_SQL).to_pydict().values(), strict=True))
    # A declared owning entity makes accounts one organisation; so does, for
    # a handful of accounts, one payment instrument with one e-mail domain of
    # their own (``_OWNERS_SQL``). A shared payment instrument alone is
    # evidence, not a declaration.
    inferred = inferred_owners(ctx)
    owner = [
        declared if declared is not None else inferred.get(a)
        for a, declared in zip(ids, feats.column("parent_entity").to_pylist(), strict=True)
    ]
    return {
        a: Usage(
            int(n[i]),
            float(first[i]),
            float(last[i]),
            float(elicit[i]),
            float(area.get(a, 0)),
            float(reas[i]),
            float(out[i]),
            owner[i],
            float(expected[i]),
            float(could[i]),
        )
        for i, a in enumerate(ids)
    }


def detect(
    state: DetectionState,
    profile: Profile,
    detectors: Sequence[Detector] | None = None,
) -> Detection:
    """Run every detector on ``state``, fuse, and decide an action per account."""
    ctx = state.context()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    feats = ctx.features
    timings["features"] = time.perf_counter() - t0
    findings: list[Finding] = []
    for det in detectors if detectors is not None else default_detectors():
        t0 = time.perf_counter()
        findings.extend(det.detect(ctx))
        timings[f"detector:{det.name}"] = time.perf_counter() - t0
    ctx.release_shared()
    t0 = time.perf_counter()
    ids = feats.column("account_id").to_pylist()
    scores = score(findings, _usage(ctx, ids))
    entity = dict(zip(ids, feats.column("parent_entity").to_pylist(), strict=True))
    campaigns = {c.campaign_id: c for c in scores.campaigns}
    actions = {
        a: profile.decide(s, campaigns.get(s.campaign_id or ""), entity.get(a))
        for a, s in scores.accounts.items()
    }
    timings["scoring"] = time.perf_counter() - t0
    return Detection(ctx.now, findings, scores, actions, timings)
