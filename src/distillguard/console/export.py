"""The campaign report: one self-contained HTML file to hand to legal or to a
partner. Inline CSS and SVG only: no script, no font, no image, nothing
fetched. It shows what the exporting user may see (prompt text only for
roles allowed to read it)."""

from __future__ import annotations

from datetime import UTC, datetime

from distillguard._types import JSON
from distillguard.console._jinja import environment
from distillguard.console.svg import bars_svg, link_graph_svg, timeline_svg

__all__ = ["campaign_report"]


def campaign_report(c: JSON, exported_by: str, *, now: datetime | None = None) -> str:
    """The report of one campaign view (:func:`views.campaign_view`)."""
    cap = c.get("capability") or {}
    rows = [(area, float(v[0]), float(v[1])) for area, v in (cap.get("areas") or {}).items()]
    for label, key in (("reasoning asked", "elicit"), ("reasoning tokens", "reasoning_tokens")):
        if key in cap:
            rows.append((label, float(cap[key][0]), float(cap[key][1])))
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            c=c,
            exported_by=exported_by,
            exported_at=(now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
            graph=link_graph_svg(c["members"], c["edges"], lambda a: f"#acct-{a}"),
            timeline=timeline_svg(c["timeline"]),
            profile=bars_svg(rows),
        )
    )
