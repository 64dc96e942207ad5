"""The trade-off chart: the exact Pareto set of (charge, driving time) routes as an inline SVG.

Plain SVG text (no plotting library, no network): it goes into a map's legend panel, which must
draw offline, and into a ``.svg`` file on request.  Deterministic: the same front gives the same
bytes.
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Point:
    """One route of the front: its charge (pence), driving time (s) and a short label."""

    pence: int
    time_s: float
    label: str = ""


def _nice_step(span: float, ticks: int = 4) -> float:
    """A 1-2-5 step giving about ``ticks`` intervals over ``span``."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / ticks
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return float(m * mag)
    return float(10 * mag)


def _money(pence: float) -> str:
    return f"£{pence / 100:,.0f}"


def pareto_svg(points: Sequence[Point], *, chosen: int = 0, fastest: int | None = None, width: int = 340, height: int = 170,
               title: str = "Charge against driving time (exact Pareto set)") -> str:
    """An SVG chart of the front: a step line through the points, the chosen route ringed.

    ``chosen`` and ``fastest`` index ``points``.  With a single point the chart still draws (one
    dot): there is no trade-off to make.
    """
    if not points:
        msg = "pareto_svg needs at least one point"
        raise ValueError(msg)
    for p in points:
        if not (math.isfinite(p.time_s) and p.time_s >= 0 and p.pence >= 0):
            msg = f"pareto_svg: not a finite, non-negative point: {p!r}"
            raise ValueError(msg)
    left, right, top, bottom = 56, 12, 22, 34
    pw, ph = width - left - right, height - top - bottom
    mins = [p.time_s / 60 for p in points]
    pounds = [float(p.pence) for p in points]
    x0, x1 = min(mins), max(mins)
    y0, y1 = 0.0, max(pounds)
    if x1 - x0 < 1e-9:
        x0, x1 = x0 - 0.5, x1 + 0.5
    if y1 <= 0:
        y1 = 100.0
    xs, ys = _nice_step(x1 - x0), _nice_step(y1 - y0)
    x0, x1 = math.floor(x0 / xs) * xs, math.ceil(x1 / xs) * xs
    y1 = math.ceil(y1 / ys) * ys

    def px(m: float) -> float:
        return left + (m - x0) / (x1 - x0) * pw

    def py(v: float) -> float:
        return top + ph - (v - y0) / (y1 - y0) * ph

    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'font-family="sans-serif" font-size="10" role="img" aria-label="{html.escape(title)}">'),
           f"<title>{html.escape(title)}</title>",
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#bbb"/>',
           f'<text x="{left}" y="13" font-size="11" font-weight="bold">{html.escape(title)}</text>']
    t = x0
    while t <= x1 + 1e-9:
        out.append(f'<line x1="{px(t):.1f}" y1="{top + ph}" x2="{px(t):.1f}" y2="{top + ph + 4}" stroke="#555"/>'
                   f'<text x="{px(t):.1f}" y="{top + ph + 14}" text-anchor="middle">{t:g}</text>')
        t += xs
    v = y0
    while v <= y1 + 1e-9:
        out.append(f'<line x1="{left - 4}" y1="{py(v):.1f}" x2="{left}" y2="{py(v):.1f}" stroke="#555"/>'
                   f'<text x="{left - 6}" y="{py(v) + 3:.1f}" text-anchor="end">{html.escape(_money(v))}</text>')
        v += ys
    out.append(f'<text x="{left + pw / 2:.1f}" y="{height - 4}" text-anchor="middle">driving time, minutes</text>')
    order = sorted(range(len(points)), key=lambda i: (mins[i], -pounds[i]))
    if len(order) > 1:
        # A step line: between two routes of the front no route is both cheaper and faster.
        path = [f"M{px(mins[order[0]]):.1f},{py(pounds[order[0]]):.1f}"]
        for _a, b in itertools.pairwise(order):
            path.append(f"H{px(mins[b]):.1f}V{py(pounds[b]):.1f}")
        out.append(f'<path d="{"".join(path)}" fill="none" stroke="#888" stroke-dasharray="3 2"/>')
    for i in order:
        colour = "#0b3d91" if i == chosen else "#d6336c" if i == fastest else "#666"
        label = points[i].label or f"{_money(points[i].pence)}, {mins[i]:.1f} min"
        out.append(f'<circle cx="{px(mins[i]):.1f}" cy="{py(pounds[i]):.1f}" r="4" fill="{colour}">'
                   f"<title>{html.escape(label)}</title></circle>")
    c = chosen
    out.append(f'<circle cx="{px(mins[c]):.1f}" cy="{py(pounds[c]):.1f}" r="8" fill="none" stroke="#0b3d91" stroke-width="2"/>'
               f'<text x="{px(mins[c]) + 10:.1f}" y="{py(pounds[c]) - 6:.1f}" fill="#0b3d91">chosen</text>')
    out.append("</svg>")
    return "".join(out)


__all__ = ["Point", "pareto_svg"]
