"""The console's JSON API (``/api/v1``): the pages' data and actions for
scripts. Authenticate with ``Authorization: Bearer <token>`` (``distillguard
console tokens add``) or, from the browser, the session plus the
``X-CSRF-Token`` header on changes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from distillguard._exceptions import DistillGuardError
from distillguard.console import views
from distillguard.console.review import Forbidden, NotFound, Refused
from distillguard.console.security import Principal, ctx_of, require
from distillguard.decisions.model import DecisionType

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["api"])

#: Ids in paths: row ids of the case store (32-bit on every backend).
RowId = Annotated[int, Path(ge=1, le=2_147_483_647)]
DecisionId = Annotated[str, Path(min_length=1, max_length=64)]

Viewer = Annotated[Principal, Depends(require("viewer"))]
Analyst = Annotated[Principal, Depends(require("analyst"))]
AnalystChange = Annotated[Principal, Depends(require("analyst", change=True))]


class ReasonBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)


class ApproveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: DecisionType | None = None
    reason: str = Field(default="", max_length=2000)


class BulkBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["approve", "reject"]
    type: DecisionType | None = None
    reason: str = Field(default="", max_length=2000)


def refusal(exc: Exception) -> HTTPException:
    """The HTTP error for a refused action."""
    if isinstance(exc, NotFound):
        return HTTPException(404, str(exc))
    if isinstance(exc, Forbidden):
        return HTTPException(403, str(exc))
    if isinstance(exc, Refused):
        return HTTPException(409, str(exc))
    return HTTPException(503, f"store unavailable: {exc}")


async def act(fn: Any, *args: Any) -> Any:
    """Run a review action in a thread, mapping refusals to HTTP errors."""
    try:
        return await run_in_threadpool(fn, *args)
    except (Refused, DistillGuardError) as exc:
        raise refusal(exc) from exc


@router.get("/overview")
def api_overview(request: Request, _who: Viewer) -> Any:
    return views.jsonable(views.overview(ctx_of(request)))


@router.get("/campaigns")
def api_campaigns(request: Request, _who: Viewer) -> Any:
    return views.jsonable(views.overview(ctx_of(request))["campaigns"])


@router.get("/campaigns/{key}")
def api_campaign(request: Request, key: RowId, who: Viewer) -> Any:
    found = views.campaign_view(ctx_of(request), key, who)
    if found is None:
        raise HTTPException(404, "no such campaign")
    return views.jsonable(found)


@router.get("/accounts/{account_id}")
def api_account(request: Request, account_id: str, who: Viewer) -> Any:
    found = views.account_view(ctx_of(request), account_id, who)
    if found is None:
        raise HTTPException(404, "no such account")
    return views.jsonable(found)


@router.get("/review")
def api_review(
    request: Request,
    _who: Viewer,
    state: Annotated[
        list[Literal["pending", "escalated", "approved", "rejected", "reverted"]] | None, Query()
    ] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> Any:
    states = state or ["pending", "escalated"]
    return views.jsonable(ctx_of(request).cases.reviews(states, limit=limit))


@router.post("/review/{item_id}/approve")
async def api_approve(
    request: Request, item_id: RowId, body: ApproveBody, who: AnalystChange
) -> Any:
    made = await act(
        ctx_of(request).review.approve,
        item_id,
        who.user,
        body.type.value if body.type else None,
        body.reason,
    )
    return {"decisions": [d.to_json() for d in made]}


@router.post("/review/{item_id}/reject")
async def api_reject(request: Request, item_id: RowId, body: ReasonBody, who: AnalystChange) -> Any:
    n = await act(ctx_of(request).review.reject, item_id, who.user, body.reason)
    return {"labelled": n}


@router.post("/review/{item_id}/escalate")
async def api_escalate(
    request: Request, item_id: RowId, body: ReasonBody, who: AnalystChange
) -> Any:
    await act(ctx_of(request).review.escalate, item_id, who.user, body.reason)
    return {"state": "escalated"}


@router.post("/campaigns/{key}/bulk")
async def api_bulk(request: Request, key: RowId, body: BulkBody, who: AnalystChange) -> Any:
    n = await act(
        ctx_of(request).review.bulk,
        key,
        who.user,
        body.action,
        body.type.value if body.type else None,
        body.reason,
    )
    return {"accounts": n}


@router.post("/decisions/{decision_id}/revert")
async def api_revert(
    request: Request, decision_id: DecisionId, body: ReasonBody, who: AnalystChange
) -> Any:
    return await act(ctx_of(request).review.appeal, decision_id, who.user, body.reason)


@router.get("/audit")
def api_audit(
    request: Request,
    _who: Analyst,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
    before_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    actor: str | None = None,
    action: str | None = None,
) -> Any:
    entries = ctx_of(request).audit.entries(
        limit=limit, before_id=before_id, actor=actor, action=action
    )
    return [e.to_json() for e in entries]
