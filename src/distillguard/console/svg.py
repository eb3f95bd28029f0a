"""Server-side SVG: the campaign link graph, and the small charts of the
exported report (which must work with no script at all).

The graph is laid out with igraph's Fruchterman–Reingold (seeded, so a page
draws the same graph every time); nodes are member accounts coloured by
action, edges are coloured by what links them. Text is escaped; account ids
appear only in ``<title>`` tooltips and links.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape
from typing import Any

import igraph as ig
from markupsafe import Markup

__all__ = ["ACTION_COLORS", "LINK_COLORS", "bars_svg", "link_graph_svg", "timeline_svg"]

ACTION_COLORS = {
    "allow": "#9aa5b1",
    "review": "#3b82f6",
    "throttle": "#eab308",
    "degrade": "#f97316",
    "suspend": "#dc2626",
    "block": "#7f1d1d",
}
LINK_COLORS = {
    "payment": "#b91c1c",
    "email": "#c026d3",
    "net": "#0369a1",
    "asn": "#0891b2",
    "client": "#4d7c0f",
    "signup": "#a16207",
    "wrapper": "#7c3aed",
    "reuse": "#db2777",
    "sync": "#475569",
    "exchange": "#0f766e",
}
_OTHER = "#64748b"
MAX_NODES = 300


def link_graph_svg(
    members: Sequence[dict[str, Any]],
    edges: Sequence[Sequence[Any]],
    href: Callable[[str], str],
    *,
    size: int = 560,
) -> Markup:
    """Members (``account_id``, ``action``) and ``[a, b, kind, score]`` edges."""
    shown = [m["account_id"] for m in members[:MAX_NODES]]
    index = {a: i for i, a in enumerate(shown)}
    kept = [e for e in edges if e[0] in index and e[1] in index]
    if not shown:
        return Markup('<p class="muted">No members.</p>')
    g = ig.Graph(n=len(shown), edges=[(index[e[0]], index[e[1]]) for e in kept])
    layout = g.layout_fruchterman_reingold(seed=_circle(len(shown)), niter=300)
    xy = _fit(layout.coords, size, pad=16)
    action = {m["account_id"]: m.get("action", "allow") for m in members}
    parts = [
        f'<svg class="graph" viewBox="0 0 {size} {size}" role="img" '
        f'aria-label="accounts of the campaign and what links them">'
    ]
    for a, b, kind, score in kept:
        (x1, y1), (x2, y2) = xy[index[a]], xy[index[b]]
        color = LINK_COLORS.get(str(kind), _OTHER)
        width = 0.6 + 2.0 * float(score)
        parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{color}" '
            f'stroke-width="{width:.2f}" stroke-opacity="0.55"><title>{escape(str(kind))} '
            f"link, score {float(score):.2f}</title></line>"
        )
    radius = 4.5 if len(shown) > 60 else 7
    for i, a in enumerate(shown):
        x, y = xy[i]
        color = ACTION_COLORS.get(action.get(a, "allow"), _OTHER)
        parts.append(
            f'<a href="{escape(href(a))}"><circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}" '
            f'fill="{color}" stroke="#fff" stroke-width="1"><title>{escape(a)} '
            f"({escape(action.get(a, 'allow'))})</title></circle></a>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _circle(n: int) -> list[list[float]]:
    return [[math.cos(2 * math.pi * i / n), math.sin(2 * math.pi * i / n)] for i in range(n)]


def _fit(coords: Sequence[Sequence[float]], size: int, pad: int) -> list[tuple[float, float]]:
    xs = [c[0] for c in coords]
    ys = [c[1] for c in coords]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    span = max(x1 - x0, y1 - y0, 1e-9)
    scale = (size - 2 * pad) / span
    return [(pad + (x - x0) * scale, pad + (y - y0) * scale) for x, y in zip(xs, ys, strict=True)]


def timeline_svg(
    points: Sequence[tuple[int, int]], *, width: int = 720, height: int = 140
) -> Markup:
    """Requests per hour as bars; the x axis labelled with first and last hour."""
    if not points:
        return Markup('<p class="muted">No timeline.</p>')
    h0, h1 = points[0][0], points[-1][0]
    top = max(n for _, n in points) or 1
    slots = h1 - h0 + 1
    bar = (width - 40) / slots
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="timeline">']
    for h, n in points:
        x = 36 + (h - h0) * bar
        bh = (height - 30) * n / top
        parts.append(
            f'<rect x="{x:.1f}" y="{height - 20 - bh:.1f}" width="{max(bar - 0.5, 0.5):.1f}" '
            f'height="{bh:.1f}" fill="#2563eb"><title>{n} requests</title></rect>'
        )
    parts.append(f'<text x="2" y="12" font-size="10">{top}/h</text>')
    parts.append(f'<text x="36" y="{height - 4}" font-size="10">{_hour(h0)}</text>')
    parts.append(
        f'<text x="{width - 4}" y="{height - 4}" font-size="10" text-anchor="end">{_hour(h1)}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def _hour(h: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(h * 3600, UTC).strftime("%Y-%m-%d %H:00 UTC")


def bars_svg(rows: Sequence[tuple[str, float, float]], *, width: int = 520) -> Markup:
    """Paired horizontal bars (campaign vs population share) per label."""
    if not rows:
        return Markup('<p class="muted">No profile.</p>')
    row_h = 18
    height = row_h * len(rows) + 24
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="profile">']
    span = width - 180
    for i, (label, mine, pop) in enumerate(rows):
        y = 4 + i * row_h
        parts.append(f'<text x="0" y="{y + 11}" font-size="11">{escape(label)}</text>')
        parts.append(
            f'<rect x="120" y="{y}" width="{span * mine:.1f}" height="7" fill="#dc2626">'
            f"<title>campaign {mine:.0%}</title></rect>"
        )
        parts.append(
            f'<rect x="120" y="{y + 8}" width="{span * pop:.1f}" height="7" fill="#9aa5b1">'
            f"<title>population {pop:.0%}</title></rect>"
        )
        parts.append(
            f'<text x="{width - 4}" y="{y + 11}" font-size="10" text-anchor="end">'
            f"{mine:.0%} vs {pop:.0%}</text>"
        )
    parts.append(
        f'<text x="120" y="{height - 4}" font-size="10" fill="#dc2626">campaign</text>'
        f'<text x="190" y="{height - 4}" font-size="10" fill="#64748b">population</text></svg>'
    )
    return Markup("".join(parts))
