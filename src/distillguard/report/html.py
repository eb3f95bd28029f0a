"""The HTML scan report: one self-contained file for a trust-and-safety analyst.

The page is built from the report dict of :func:`build_report` plus, when
given, the scan or replay result: hourly campaign timelines come from the
scan's state database (family ``ehour`` of ``acct_key``), reject counts from
``result.rejects``. Plots are inline SVG drawn with matplotlib's
object-oriented API (no pyplot, so no global backend is chosen or changed);
text is escaped by Jinja2's autoescaping, and no user-controlled text is drawn
into a plot. Apart from the generation time, the output is deterministic.
"""

from __future__ import annotations

import io
import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
import numpy as np
from markupsafe import Markup

from distillguard._types import JSON, Action

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from distillguard.engine.replay import ReplayResult
    from distillguard.engine.scan import ScanResult

__all__ = ["render_html", "write_html"]

#: How many campaigns and accounts the page lists.
MAX_CAMPAIGNS = 20
MAX_ACCOUNTS = 50
#: How many member account ids a campaign card names.
MAX_MEMBERS_SHOWN = 12
#: A timeline longer than this many hours is drawn in coarser bins.
MAX_TIMELINE_BINS = 400
ACTIONS: tuple[str, ...] = tuple(a.value for a in Action)
ACTION_COLORS = {
    "allow": "#9aa5b1",
    "review": "#3b82f6",
    "throttle": "#eab308",
    "degrade": "#f97316",
    "suspend": "#dc2626",
}

_HOURLY_SQL = """
WITH members AS (
    SELECT unnest(?::VARCHAR[]) AS campaign_id, unnest(?::VARCHAR[]) AS account_id
)
SELECT m.campaign_id, CAST(k.key AS BIGINT) AS hour, sum(k.n) AS n
FROM acct_key AS k JOIN members AS m ON k.account_id = m.account_id
WHERE k.family = 'ehour'
GROUP BY ALL
ORDER BY 1, 2
"""


def write_html(path: Path, report: JSON, result: ScanResult | ReplayResult | None = None) -> None:
    """Write the report as one HTML file that works offline."""
    page = render_html(report, result, generated_at=datetime.now(UTC))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")


def render_html(
    report: JSON,
    result: ScanResult | ReplayResult | None = None,
    *,
    generated_at: datetime,
) -> str:
    """The page as a string; the same inputs give the same page."""
    accounts = sorted(report["accounts"], key=lambda a: (-a["score"], a["account_id"]))
    campaigns = sorted(report["campaigns"], key=lambda c: (-c["score"], c["campaign_id"]))
    shown = campaigns[:MAX_CAMPAIGNS]
    hourly = _hourly(result, shown)
    return _template().render(
        input=report["input"],
        generated_at=generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        actions=_action_counts(accounts),
        action_colors=ACTION_COLORS,
        campaigns=[_campaign_view(i, c, hourly) for i, c in enumerate(shown)],
        n_campaigns=len(campaigns),
        has_timelines=hourly is not None,
        histogram=_histogram_svg(accounts) if accounts else None,
        accounts=accounts[:MAX_ACCOUNTS],
        n_accounts=len(accounts),
        show_first_action=any(a.get("first_action_at") for a in accounts[:MAX_ACCOUNTS]),
        rejects=_reject_counts(getattr(result, "rejects", None)),
        account_rejects=_reject_counts(getattr(result, "account_rejects", None)),
    )


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("distillguard.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["thousands"] = lambda n: f"{int(n):,}"
    return env.get_template("report.html.j2")


# -- data -----------------------------------------------------------------------


def _action_counts(accounts: Sequence[JSON]) -> list[tuple[str, int]]:
    counts = Counter(a["action"] for a in accounts)
    known = [(name, counts.pop(name, 0)) for name in ACTIONS]
    return known + sorted(counts.items())


def _campaign_view(
    index: int, campaign: JSON, hourly: dict[str, tuple[np.ndarray, np.ndarray]] | None
) -> JSON:
    members = sorted(campaign["accounts"])
    timeline = None
    if hourly is not None and campaign["campaign_id"] in hourly:
        hours, counts = hourly[campaign["campaign_id"]]
        timeline = _timeline_svg(index, hours, counts, _epoch(campaign.get("detected_at")))
    return {
        **campaign,
        "n_accounts": len(members),
        "members": members[:MAX_MEMBERS_SHOWN],
        "more_members": max(0, len(members) - MAX_MEMBERS_SHOWN),
        "timeline": timeline,
    }


def _hourly(
    result: object, campaigns: Sequence[JSON]
) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
    """Requests per epoch hour of each campaign's members, or None when the
    result keeps no state (a replay, or no result at all)."""
    state = getattr(result, "state", None)
    con: duckdb.DuckDBPyConnection | None = getattr(state, "con", None)
    if con is None:
        return None
    ids = [c["campaign_id"] for c in campaigns for _ in c["accounts"]]
    members = [a for c in campaigns for a in c["accounts"]]
    if not members:
        return {}
    rows = con.execute(_HOURLY_SQL, [ids, members]).fetchall()
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for cid, group in groupby(rows, key=lambda r: r[0]):
        _, hours, counts = zip(*group, strict=True)
        out[cid] = (np.array(hours, dtype=np.int64), np.array(counts, dtype=np.float64))
    return out


def _reject_counts(rejects: pa.Table | None) -> list[JSON]:
    """Rejected records per reason, most frequent first, with one example."""
    if rejects is None or rejects.num_rows == 0:
        return []
    grouped = rejects.group_by("reason", use_threads=False).aggregate(
        [("line", "count"), ("source", "first"), ("line", "first")]
    )
    rows = sorted(grouped.to_pylist(), key=lambda r: (-r["line_count"], r["reason"]))
    return [
        {
            "reason": r["reason"],
            "count": r["line_count"],
            "example": f"{r['source_first']}:{r['line_first']}",
        }
        for r in rows
    ]


def _epoch(value: str | None) -> float | None:
    if not value:
        return None
    return datetime.fromisoformat(value).timestamp()


# -- plots ----------------------------------------------------------------------


def _timeline_svg(
    index: int, hours: np.ndarray, counts: np.ndarray, detected_at: float | None
) -> Markup:
    """Requests over time, per hour, or per several hours for long campaigns."""
    h0, h1 = int(hours.min()), int(hours.max())
    width = max(1, math.ceil((h1 - h0 + 1) / MAX_TIMELINE_BINS))
    n_bins = (h1 - h0) // width + 1
    values = np.bincount((hours - h0) // width, weights=counts, minlength=n_bins)
    edges = ((h0 + np.arange(n_bins + 1) * width) * 3600).astype("datetime64[s]")
    with _figure(f"timeline-{index}", (7.5, 1.7)) as (fig, ax):
        ax.stairs(values, edges, fill=True, color="#2563eb", alpha=0.8)
        if detected_at is not None:
            at = np.array([int(detected_at)], dtype="datetime64[s]")
            ax.vlines(at, 0, 1, transform=ax.get_xaxis_transform(), colors="#dc2626", ls="--", lw=1)
        ax.set_ylabel("requests / hour" if width == 1 else f"requests / {width} h")
        ax.set_ylim(bottom=0)
        return _svg(fig, "requests of the member accounts over time")


def _histogram_svg(accounts: Sequence[JSON]) -> Markup:
    """Accounts per score bin and action, overlaid (not stacked: stacks
    mislead on a log scale), so a handful of suspensions stays visible next
    to thousands of allowed accounts."""
    edges = np.linspace(0.0, 1.0, 51)
    with _figure("histogram", (7.5, 2.6)) as (fig, ax):
        top = 1.0
        for action in ACTIONS:
            scores = [x["score"] for x in accounts if x["action"] == action]
            if not scores:
                continue
            counts, _ = np.histogram(np.clip(scores, 0.0, 1.0), bins=edges)
            top = max(top, float(counts.max()))
            color = ACTION_COLORS[action]
            ax.stairs(counts, edges, baseline=0.5, fill=True, color=color, alpha=0.25)
            ax.stairs(counts, edges, baseline=0.5, color=color, lw=1.2, label=action)
        ax.set_yscale("log")
        ax.set_ylim(0.5, top * 10)
        ax.set_xlim(0, 1)
        ax.set_xlabel("account score")
        ax.set_ylabel("accounts")
        ax.legend(loc="upper center", ncols=len(ACTIONS), frameon=False)
        return _svg(fig, "accounts per score bin and action")


@contextmanager
def _figure(name: str, size: tuple[float, float]) -> Iterator[tuple[Figure, Axes]]:
    """A figure drawn without pyplot. SVG text stays text (small, selectable),
    and ids are salted per figure: stable across runs, unique in the page."""
    import matplotlib as mpl
    from matplotlib.figure import Figure

    with mpl.rc_context(
        {
            "svg.fonttype": "none",
            "svg.hashsalt": f"distillguard-{name}",
            "font.size": 8,
            "date.converter": "concise",
        }
    ):
        fig = Figure(figsize=size, layout="constrained")
        ax = fig.add_subplot()
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", color="#e5e7eb", lw=0.6)
        ax.set_axisbelow(True)
        yield fig, ax


def _svg(fig: Figure, label: str) -> Markup:
    """The figure as an inline <svg> element (no XML prologue, no metadata)."""
    buf = io.StringIO()
    fig.savefig(
        buf,
        format="svg",
        metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
    )
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    # Group ids (figure_1, axes_1, ...) would repeat across figures; nothing
    # refers to them.
    text = re.sub(r'<g id="[^"]*"', "<g", text)
    text = text.replace("<svg ", f'<svg class="plot" role="img" aria-label="{label}" ', 1)
    return Markup(text)
