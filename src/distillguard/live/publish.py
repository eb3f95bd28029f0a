"""From the actions of a detection run to changes in the decision store.

The loop owns the live account decisions of one origin (``detector`` by
default) and no other: an analyst's decisions, imported reports, exchange and
policy decisions are never touched. Each run is compared with what the store
holds, and only differences are written:

* **new** — an account gets an action it had no decision for;
* **escalated** — a stronger action than its decision (throttle → suspend):
  the new decision supersedes the old one in the same transaction;
* **renewed** — still warranted but less than half its TTL left;
* **released** — no longer warranted (allow, or a weaker action) for
  ``release_after`` runs in a row: the decision is deleted, or replaced by the
  weaker one. Waiting a few runs keeps a campaign whose community boundary
  wobbles from one run to the next from flapping in and out of enforcement.

An unchanged decision is not rewritten, so the change stream stays quiet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from distillguard._types import Action
from distillguard.decisions.model import (
    DECISION_OF_ACTION,
    DEFAULT_THROTTLE,
    Decision,
    DecisionType,
    Origin,
    Scope,
    ThrottleParams,
    utcnow,
)
from distillguard.decisions.store import DecisionStore
from distillguard.scoring.fuse import AccountScore


@dataclass(slots=True)
class PublishResult:
    """What one publication changed."""

    new: list[Decision] = field(default_factory=list)
    escalated: list[Decision] = field(default_factory=list)
    renewed: list[Decision] = field(default_factory=list)
    released: list[str] = field(default_factory=list)  # account ids
    unchanged: int = 0

    @property
    def changed(self) -> int:
        return len(self.new) + len(self.escalated) + len(self.renewed) + len(self.released)


class DecisionPublisher:
    """Writes the loop's account decisions to ``store``, changes only."""

    def __init__(
        self,
        store: DecisionStore,
        *,
        ttl: timedelta = timedelta(hours=24),
        simulated: bool = False,
        origin: Origin = Origin.DETECTOR,
        throttle: ThrottleParams = DEFAULT_THROTTLE,
        min_action: Action = Action.REVIEW,
        release_after: int = 3,
    ) -> None:
        if origin in (Origin.ANALYST, Origin.POLICY, Origin.EXCHANGE):
            raise ValueError(f"the live loop must not own decisions of origin {origin.value!r}")
        self.store = store
        self.ttl = ttl
        self.simulated = simulated
        self.origin = origin
        self.throttle = throttle
        self.min_action = min_action
        self.release_after = max(release_after, 1)
        self._weaker_runs: dict[str, int] = {}

    def current(self, now: datetime | None = None) -> dict[str, Decision]:
        """The live decisions this publisher owns, by account (the strongest one
        if several are live)."""
        out: dict[str, Decision] = {}
        for d in self.store.list(scope=Scope.ACCOUNT, origin=self.origin, now=now):
            if d.simulated != self.simulated:
                continue
            held = out.get(d.value)
            if held is None or d.type.rank > held.type.rank:
                out[d.value] = d
        return out

    def publish(
        self,
        actions: dict[str, Action],
        scores: dict[str, AccountScore],
        now: datetime | None = None,
    ) -> PublishResult:
        """Bring the store in line with ``actions``; returns what changed."""
        now = now or utcnow()
        held = self.current(now)
        result = PublishResult()
        supersede: list[Decision] = []
        for account, action in actions.items():
            want = DECISION_OF_ACTION.get(action) if action.rank >= self.min_action.rank else None
            have = held.get(account)
            if want is None and have is None:
                continue
            if have is None:
                assert want is not None
                decision = self._decision(account, want, scores.get(account), now)
                result.new.append(decision)
            elif want is not None and want.rank > have.type.rank:
                decision = self._decision(account, want, scores.get(account), now)
                result.escalated.append(decision)
                supersede.append(decision)
            elif want is not None and want == have.type:
                self._weaker_runs.pop(account, None)
                if have.until is not None and have.until - now < self.ttl / 2:
                    decision = self._decision(account, want, scores.get(account), now)
                    result.renewed.append(decision)
                    supersede.append(decision)
                else:
                    result.unchanged += 1
            else:
                self._weaker(account, want, have, scores.get(account), now, result, supersede)
        self.store.add(result.new)
        self.store.add(supersede, supersede=True)
        return result

    def _weaker(
        self,
        account: str,
        want: DecisionType | None,
        have: Decision,
        score: AccountScore | None,
        now: datetime,
        result: PublishResult,
        supersede: list[Decision],
    ) -> None:
        runs = self._weaker_runs.get(account, 0) + 1
        if runs < self.release_after:
            self._weaker_runs[account] = runs
            result.unchanged += 1
            return
        self._weaker_runs.pop(account, None)
        result.released.append(account)
        if want is None:
            self.store.delete(have.id)
        else:
            supersede.append(self._decision(account, want, score, now))

    def _decision(
        self, account: str, kind: DecisionType, score: AccountScore | None, now: datetime
    ) -> Decision:
        return Decision(
            type=kind,
            scope=Scope.ACCOUNT,
            value=account,
            params=self.throttle if kind is DecisionType.THROTTLE else None,
            until=now + self.ttl,
            origin=self.origin,
            reason=_reason(score),
            simulated=self.simulated,
            created_at=now,
        )


def _reason(score: AccountScore | None) -> str:
    if score is None:
        return "live detection"
    head = f"live detection: score {score.score:.2f}"
    if score.campaign_id:
        head += f", campaign {score.campaign_id} ({score.campaign_score:.2f})"
    text = head + (": " + "; ".join(score.reasons) if score.reasons else "")
    return text if len(text) <= 2000 else text[:1997] + "..."
