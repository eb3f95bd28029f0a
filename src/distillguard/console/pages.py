"""The console's HTML pages and the forms they post.

Every form carries the session's CSRF token; every post answers with a
redirect (303) back to a page and a one-line message, so a reload never
repeats an action.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from fastapi.templating import Jinja2Templates

from distillguard._exceptions import DistillGuardError
from distillguard.console import export, views
from distillguard.console._jinja import environment
from distillguard.console.api import DecisionId, RowId
from distillguard.console.exchange_view import revocations
from distillguard.console.review import Forbidden, NotFound, Refused, allowlist_yaml, labels_csv
from distillguard.console.security import (
    Principal,
    check_csrf,
    csrf_token,
    ctx_of,
    login,
    require,
)
from distillguard.console.svg import ACTION_COLORS, LINK_COLORS, link_graph_svg

__all__ = ["router"]

router = APIRouter(tags=["pages"])

PageViewer = Annotated[Principal, Depends(require("viewer", page=True))]
PageAnalyst = Annotated[Principal, Depends(require("analyst", page=True))]
PageAdmin = Annotated[Principal, Depends(require("admin", page=True))]
FormAnalyst = Annotated[Principal, Depends(require("analyst", page=True, change=True))]
FormViewer = Annotated[Principal, Depends(require("viewer", page=True, change=True))]
Reason = Annotated[str, Form(max_length=2000)]
DecisionKind = Literal["review", "throttle", "degrade", "suspend", "block"]


@cache
def templates() -> Jinja2Templates:
    return Jinja2Templates(env=environment())


def render(request: Request, name: str, who: Principal | None, **data: Any) -> HTMLResponse:
    flash = request.session.pop("flash", None)
    return templates().TemplateResponse(
        request,
        name,
        {
            "who": who,
            "csrf": csrf_token(request),
            "flash": flash,
            "action_colors": ACTION_COLORS,
            "link_colors": LINK_COLORS,
            **data,
        },
    )


def back(request: Request, route: str, message: str, **params: Any) -> RedirectResponse:
    request.session["flash"] = message
    return RedirectResponse(str(request.url_for(route, **params)), status_code=303)


async def attempt(request: Request, fn: Any, *args: Any) -> tuple[Any, str | None]:
    """Run an action; a refusal becomes the message shown, not an error page."""
    try:
        return await run_in_threadpool(fn, *args), None
    except Forbidden as exc:
        raise HTTPException(403, str(exc)) from exc
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    except Refused as exc:
        return None, f"Refused: {exc}"
    except DistillGuardError as exc:
        return None, f"Failed: {exc}"


# -- login ----------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html.j2", None, next=_safe_next(next), error=None)


@router.post("/login", response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
async def login_submit(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    ctx = ctx_of(request)
    user = await run_in_threadpool(ctx.users.authenticate, username, password)
    if user is None:
        await run_in_threadpool(ctx.audit.record, username[:64], "login.failed", "session")
        page = render(request, "login.html.j2", None, next=_safe_next(next), error="Wrong login.")
        page.status_code = 401
        return page
    login(request, user)
    await run_in_threadpool(ctx.audit.record, user.username, "login", "session")
    return RedirectResponse(_safe_next(next), status_code=303)


def _safe_next(target: str) -> str:
    """Only a local path: never another site (``//evil``, ``https://…``)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.post("/logout")
def logout(request: Request, who: FormViewer) -> Response:
    ctx_of(request).audit.record(who.name, "logout", "session")
    request.session.clear()
    return RedirectResponse(str(request.url_for("login_form")), status_code=303)


# -- pages ----------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, who: PageViewer) -> HTMLResponse:
    return render(request, "overview.html.j2", who, o=views.overview(ctx_of(request)))


@router.get("/campaigns", response_class=HTMLResponse)
def campaigns(request: Request, who: PageViewer) -> HTMLResponse:
    return render(request, "campaigns.html.j2", who, o=views.overview(ctx_of(request)))


@router.get("/campaigns/{key}", response_class=HTMLResponse)
def campaign(request: Request, key: RowId, who: PageViewer) -> HTMLResponse:
    c = views.campaign_view(ctx_of(request), key, who)
    if c is None:
        raise HTTPException(404, "no such campaign")
    graph = link_graph_svg(
        c["members"], c["edges"], lambda a: str(request.url_for("account", account_id=a))
    )
    return render(request, "campaign.html.j2", who, c=c, graph=graph)


@router.get("/campaigns/{key}/report", response_class=HTMLResponse)
def campaign_report(request: Request, key: RowId, who: PageViewer) -> HTMLResponse:
    ctx = ctx_of(request)
    c = views.campaign_view(ctx, key, who)
    if c is None:
        raise HTTPException(404, "no such campaign")
    ctx.audit.record(who.name, "report.export", f"campaign:{c['campaign_id']}", f"import {key}")
    page = export.campaign_report(c, who.name)
    name = f"distillguard-{c['campaign_id']}.html"
    return HTMLResponse(page, headers={"content-disposition": f'attachment; filename="{name}"'})


@router.get("/accounts/{account_id}", response_class=HTMLResponse)
def account(request: Request, account_id: str, who: PageViewer) -> HTMLResponse:
    a = views.account_view(ctx_of(request), account_id, who)
    if a is None:
        raise HTTPException(404, "no such account")
    return render(request, "account.html.j2", who, a=a)


@router.get("/review", response_class=HTMLResponse)
def review_queue(
    request: Request,
    who: PageViewer,
    state: Literal["open", "approved", "rejected", "reverted"] = "open",
) -> HTMLResponse:
    states = ["pending", "escalated"] if state == "open" else [state]
    items = ctx_of(request).cases.reviews(states)
    return render(request, "review.html.j2", who, items=items, state=state)


@router.get("/decisions", response_class=HTMLResponse)
def decisions(
    request: Request, who: PageViewer, value: Annotated[str | None, Query(max_length=512)] = None
) -> HTMLResponse:
    found = ctx_of(request).decisions.list(value=value or None, limit=1000)
    return render(request, "decisions.html.j2", who, decisions=found, value=value or "")


@router.get("/exchange", response_class=HTMLResponse)
def exchange(request: Request, who: PageViewer) -> HTMLResponse:
    ctx = ctx_of(request)
    data: dict[str, Any] = {"configured": ctx.exchange is not None, "error": None}
    if ctx.exchange is not None:
        try:
            data["peers"] = ctx.exchange.peers()
            data["indicators"] = ctx.exchange.indicators()
        except (DistillGuardError, OSError, ValueError) as exc:
            data["error"] = str(exc)
    data["revocations"] = revocations(ctx.engine)
    return render(request, "exchange.html.j2", who, x=data)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    who: PageAnalyst,
    before_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    entries = ctx_of(request).audit.entries(
        limit=100, before_id=before_id, actor=actor or None, action=action or None
    )
    return render(
        request, "audit.html.j2", who, entries=entries, actor=actor or "", action=action or ""
    )


@router.get("/audit/export")
def audit_export(
    request: Request, who: PageAdmin, format: Literal["csv", "jsonl"] = "jsonl"
) -> Response:
    log = ctx_of(request).audit
    log.record(who.name, "audit.export", "audit", f"format {format}")
    if format == "csv":
        return StreamingResponse(
            log.csv(),
            media_type="text/csv",
            headers={"content-disposition": 'attachment; filename="audit.csv"'},
        )
    return StreamingResponse(
        log.jsonl(),
        media_type="application/x-ndjson",
        headers={"content-disposition": 'attachment; filename="audit.jsonl"'},
    )


@router.get("/labels/export")
def labels_export(
    request: Request, _who: PageAnalyst, format: Literal["csv", "yaml"] = "csv"
) -> Response:
    labels = ctx_of(request).review.labels()
    if format == "yaml":
        return Response(allowlist_yaml(labels), media_type="application/yaml")
    return Response(labels_csv(labels), media_type="text/csv")


# -- actions --------------------------------------------------------------------


@router.post("/review/{item_id}/approve")
async def approve(
    request: Request,
    item_id: RowId,
    who: FormAnalyst,
    reason: Reason = "",
    type: Annotated[DecisionKind | None, Form()] = None,
) -> Response:
    made, error = await attempt(
        request, ctx_of(request).review.approve, item_id, who.user, type, reason
    )
    msg = error or f"Approved: {len(made)} decision(s) applied."
    return back(request, "review_queue", msg)


@router.post("/review/{item_id}/reject")
async def reject(
    request: Request, item_id: RowId, who: FormAnalyst, reason: Reason = ""
) -> Response:
    n, error = await attempt(request, ctx_of(request).review.reject, item_id, who.user, reason)
    return back(
        request, "review_queue", error or f"Rejected: {n} account(s) labelled false positive."
    )


@router.post("/review/{item_id}/escalate")
async def escalate(
    request: Request, item_id: RowId, who: FormAnalyst, reason: Reason = ""
) -> Response:
    _, error = await attempt(request, ctx_of(request).review.escalate, item_id, who.user, reason)
    return back(request, "review_queue", error or "Escalated to an admin.")


@router.post("/campaigns/{key}/bulk")
async def campaign_bulk(
    request: Request,
    key: RowId,
    who: FormAnalyst,
    action: Annotated[Literal["approve", "reject"], Form()],
    reason: Reason = "",
    type: Annotated[DecisionKind | None, Form()] = None,
) -> Response:
    n, error = await attempt(
        request, ctx_of(request).review.bulk, key, who.user, action, type, reason
    )
    done = "applied to" if action == "approve" else "labelled false positive for"
    return back(
        request, "campaign", error or f"Campaign {action}d: {done} {n} account(s).", key=key
    )


@router.post("/decisions/{decision_id}/revert")
async def revert(
    request: Request, decision_id: DecisionId, who: FormAnalyst, reason: Reason = ""
) -> Response:
    out, error = await attempt(
        request, ctx_of(request).review.appeal, decision_id, who.user, reason
    )
    if error is None:
        rev = out["revocation"]
        extra = f"; exchange revocation {rev['state']}" if rev else ""
        error = f"Reverted {len(out['deleted'])} decision(s){extra}."
    return back(request, "decisions", error)
