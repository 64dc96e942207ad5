"""Draw a planned leg on an interactive Leaflet map (folium), so a planner can *see* why the
cheapest route costs less than the fastest: which constituencies each one pays for, and why.

This is the only module that imports folium.  Every text that reaches the page is escaped here
(tooltips go into JavaScript template literals verbatim), attribution for the tiles (OSM, ODbL)
and for the boundary polygons (ONS, OGL) is always shown - also inside the legend, so a map
opened offline, without tiles, still credits its sources.  Nothing time-dependent is written, so
two renders of the same leg differ only in folium's random element ids.
"""

from __future__ import annotations

import html
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

import folium
import numpy as np
import shapely
from shapely.geometry import mapping

from routeplan.assets import RawHTML, inline_assets
from routeplan.atomic import atomic_path
from routeplan.boundaries import Boundaries
from routeplan.chart import Point, pareto_svg
from routeplan.errors import UsageError
from routeplan.ledger import Charge, format_money
from routeplan.locate import Stop
from routeplan.network import Network
from routeplan.routing import Leg, Route

if TYPE_CHECKING:
    from routeplan.reach import ReachResult
    from routeplan.tour import TourPlan

log = logging.getLogger(__name__)

OSM_COPYRIGHT_URL = "https://www.openstreetmap.org/copyright"
OSM_TEXT = "© OpenStreetMap contributors"
OSM_ATTRIBUTION = f'<a href="{OSM_COPYRIGHT_URL}">{OSM_TEXT}</a> (ODbL)'
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
GENERATED_NOTICE = "GENERATED synthetic network (not real roads)"

# Degrees; ~50 m at British latitudes: invisible at street zoom, shrinks BGC polygons a lot.
SIMPLIFY_DEG = 0.0005

CHEAPEST_COLOUR = "#0b3d91"  # dark blue, solid: the chosen route
FASTEST_COLOUR = "#d6336c"  # magenta, dashed: the comparison
ALTERNATIVE_COLOUR = "#808080"
# Polygon fills: what the *chosen* route pays, what only the fastest would pay, what is free.
PAID_CHEAPEST = "#e4572e"
PAID_FASTEST_ONLY = "#f6ae2d"
PAID_NONE = "#9e9e9e"
LEGEND_CLEARANCE_PX = 280  # bottom padding when fitting bounds, about the legend's height
# Stop pins (inline-styled: no icon font, no network): green origin, red destination, blue between.
ORIGIN_COLOUR = "#2e7d32"
DESTINATION_COLOUR = "#c62828"
STOP_COLOUR = "#1565c0"


def _esc(text: object) -> str:
    """HTML-escape, and neutralise what would break a JS template literal (folium tooltips)."""
    # Braces too: folium renders tooltip, popup and element text through Jinja, so "{{ 7*7 }}" in a
    # stop's name would be evaluated (template injection); as entities they display the same.
    return (html.escape(str(text)).replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")
            .replace("{", "&#123;").replace("}", "&#125;"))


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def _km(metres: float) -> str:
    return f"{metres / 1000:.2f} km"


def _route_summary(route: Route) -> str:
    return f"{format_money(route.cost_pence)} · {_minutes(route.time_s)} · {_km(route.length_m)}"


def _rows_by_code(route: Route) -> dict[str, Charge]:
    return {r.code: r for r in route.ledger.rows}


@dataclass(frozen=True)
class _Seat:
    """One constituency either route touches, with what each route pays there."""

    code: str
    name: str
    cheapest: Charge | None
    fastest: Charge | None

    @property
    def category(self) -> str:
        if self.cheapest is not None and self.cheapest.pence > 0:
            return "cheapest"
        if self.fastest is not None and self.fastest.pence > 0:
            return "fastest"
        return "free"


def _seats(leg: Leg) -> list[_Seat]:
    """Constituencies of both ledgers in the order the routes meet them (cheapest first)."""
    cheap, fast = _rows_by_code(leg.cheapest), _rows_by_code(leg.fastest)
    order: list[str] = list(cheap) + [c for c in fast if c not in cheap]
    out = []
    for code in order:
        row = cheap.get(code) or fast[code]
        out.append(_Seat(code, row.name, cheap.get(code), fast.get(code)))
    return out


_FILL = {"cheapest": PAID_CHEAPEST, "fastest": PAID_FASTEST_ONLY, "free": PAID_NONE}
_CATEGORY_TEXT = {
    "cheapest": "charged on the cheapest route",
    "fastest": "charged on the fastest route only",
    "free": "not charged (exempt roads only, or free under the policy)",
}


def _charge_html(label: str, row: Charge | None) -> str:
    """One route's ledger row for a constituency: amount, kilometres and every reason."""
    if row is None:
        return f"<div style=\"{_COLUMN}\"><b>{_esc(label)}:</b> not entered</div>"
    reasons = "".join(f"<li>{_esc(r)}</li>" for r in row.reasons)
    km = f"{row.road_km:.2f} km charged roads, {row.exempt_km:.2f} km exempt"
    return (
        f"<div style=\"{_COLUMN}\"><b>{_esc(label)}: {_esc(format_money(row.pence))}</b><br>({_esc(km)})"
        f"<ul style=\"margin:2px 0 0 16px;padding:0\">{reasons}</ul></div>"
    )


# The two routes side by side: a long ledger stays short enough to read while hovering.
_COLUMN = "flex:1 1 0;min-width:200px;max-width:340px"


def _seat_tooltip(seat: _Seat) -> str:
    return (
        "<div style=\"width:max-content;max-width:720px;white-space:normal;font-size:12px;line-height:1.3\">"
        f"<b>{_esc(seat.name)}</b> ({_esc(seat.code)}) - <i>{_esc(_CATEGORY_TEXT[seat.category])}</i>"
        "<div style=\"display:flex;gap:12px;margin-top:3px\">"
        f"{_charge_html('Cheapest route', seat.cheapest)}{_charge_html('Fastest route', seat.fastest)}</div></div>"
    )


def _stop_popup(stop: Stop, role: str, net: Network) -> str:
    if stop.cell >= 0:
        where = f"{net.cell_names[stop.cell]} ({net.cell_codes[stop.cell]})"
        if stop.cell_how != "inside":
            where += " - outside every polygon, nearest constituency"
    else:
        where = "outside every constituency"
    return (
        f"<b>{_esc(role)}: {_esc(stop.label)}</b><br>"
        f"Source: {_esc(stop.source)}<br>"
        f"Constituency: {_esc(where)}<br>"
        f"Joined to the road network {stop.snap_m:.0f} m away"
    )


def _polyline(pts: Sequence[tuple[float, float]], layer: folium.FeatureGroup, tooltip: str, **style: object) -> None:
    """Draw a route; an empty route (origin and destination on one node) has nothing to draw."""
    if len(pts) < 2:
        log.debug("route has %d points; not drawn", len(pts))
        return
    # folium's PolyLine.__init__ is unannotated (folium 0.20): nothing to check the call against.
    folium.PolyLine(pts, tooltip=folium.Tooltip(tooltip), **style).add_to(layer)  # type: ignore[no-untyped-call]


def _stop_icon(colour: str, label: str) -> folium.DivIcon:
    """A map pin drawn with CSS alone (folium.Icon needs Bootstrap, Font Awesome and a plugin)."""
    pin = (
        f'<div style="width:24px;height:24px;box-sizing:border-box;border-radius:50% 50% 50% 0;background:{colour};'
        'border:2px solid #fff;box-shadow:0 1px 4px rgba(0,0,0,.55);transform:rotate(-45deg)">'
        '<div style="transform:rotate(45deg);color:#fff;font:bold 11px/20px sans-serif;text-align:center">'
        f"{_esc(label)}</div></div>"
    )
    # The rotated square's sharp corner (its tip) is 12 + 12*sqrt(2) = 29 px below the icon's top.
    return folium.DivIcon(html=pin, icon_size=(24, 24), icon_anchor=(12, 29), popup_anchor=(0, -26), class_name="routeplan-stop")


def _new_map(location: list[float], zoom: int, online_assets: bool) -> folium.Map:
    """An empty map; unless ``online_assets``, with Leaflet inlined instead of folium's CDN links."""
    m = folium.Map(location=location, zoom_start=zoom, tiles=None, control_scale=True)
    if not online_assets:
        inline_assets(m)
    return m


def _figure(m: folium.Map) -> folium.Figure:
    """The page a map sits in: ``folium.Map`` adds itself to a ``Figure`` when created, but
    ``get_root`` is annotated as returning a plain ``Element``."""
    return cast("folium.Figure", m.get_root())


def _same_route(a: Route, b: Route) -> bool:
    return a.pieces == b.pieces and a.forward == b.forward


def _bounds(routes: Iterable[Sequence[tuple[float, float]]], stops: Iterable[Stop]) -> list[list[float]] | None:
    lats: list[float] = []
    lons: list[float] = []
    for pts in routes:
        lats.extend(p[0] for p in pts)
        lons.extend(p[1] for p in pts)
    for s in stops:
        lats.append(s.lat)
        lons.append(s.lon)
    if not lats:
        return None
    return [[min(lats), min(lons)], [max(lats), max(lons)]]


def _attributions(net: Network, boundaries: Boundaries) -> tuple[str, str]:
    """(tile/road attribution HTML, boundary licence text); the boundary text is required."""
    bnd = str(net.meta.get("boundary_attribution") or boundaries.attribution or "").strip()
    if not bnd:
        bnd = f"Boundaries: {boundaries.name} (see its licence)"
    return OSM_ATTRIBUTION, bnd


def _policy_lines(leg: Leg) -> list[str]:
    pol = leg.policy
    exempt = ", ".join(sorted(pol.exempt_classes)) or "none"
    lines = [
        f"Day rate {format_money(pol.day_rate_pence)} per constituency; exempt roads: {exempt}",
        "Stops are charged to their constituency" if pol.charge_stops else "Stops are not charged",
    ]
    if pol.overrides:
        shown = ", ".join(f"{k}={'avoid' if v < 0 else format_money(v)}" for k, v in sorted(pol.overrides.items())[:6])
        more = f" and {len(pol.overrides) - 6} more" if len(pol.overrides) > 6 else ""
        lines.append(f"Overrides: {shown}{more}")
    if pol.value_of_time_pence_per_hour is not None:
        lines.append(f"Value of time {format_money(pol.value_of_time_pence_per_hour)}/hour")
    if leg.already_charged:
        lines.append(f"Already charged today: {', '.join(leg.already_charged)}")
    if leg.limit_time_s is not None:
        lines.append(f"Time limit {_minutes(leg.limit_time_s)}")
    return lines


def tradeoff_points(leg: Leg) -> tuple[list[Point], int, int | None]:
    """The leg's exact front as chart points, with the chosen route's and the fastest's index.

    Without ``alternatives`` only the chosen and the fastest route are known (two points, or one
    when they are the same route)."""
    routes = list(leg.front) if leg.front else [leg.cheapest] + ([] if _same_route(leg.fastest, leg.cheapest) else [leg.fastest])
    pts = [Point(r.cost_pence, r.time_s, f"{format_money(r.cost_pence)}, {_minutes(r.time_s)}") for r in routes]
    chosen = next((i for i, r in enumerate(routes) if _same_route(r, leg.cheapest)), 0)
    fastest = next((i for i, r in enumerate(routes) if _same_route(r, leg.fastest)), None)
    if chosen == 0 and not _same_route(routes[0], leg.cheapest):  # the chosen route is not on the front shown
        pts.insert(0, Point(leg.cheapest.cost_pence, leg.cheapest.time_s, "chosen"))
        fastest = None if fastest is None else fastest + 1
    return pts, chosen, fastest


def tradeoff_svg(leg: Leg) -> str:
    """The trade-off chart (inline SVG) of a leg, for the legend panel or a ``.svg`` file."""
    pts, chosen, fastest = tradeoff_points(leg)
    return pareto_svg(pts, chosen=chosen, fastest=fastest)


def _legend_html(net: Network, boundaries: Boundaries, leg: Leg, title: str, generated: bool) -> str:
    osm_attr, bnd_attr = _attributions(net, boundaries)
    ch, fa = leg.cheapest, leg.fastest
    if leg.saving_pence > 0:
        saving = f"Saving {format_money(leg.saving_pence)} for {_minutes(leg.extra_time_s)} extra"
    elif leg.saving_pence == 0:
        saving = "No saving: the fastest route costs the same"
    else:  # only with a value of time or a time limit: the chosen route may cost more
        saving = f"Chosen route costs {format_money(-leg.saving_pence)} more than the fastest"

    def swatch(colour: str, dashed: bool = False, fill: bool = False) -> str:
        if fill:
            return f'<span style="display:inline-block;width:14px;height:10px;background:{colour};opacity:.6;border:1px solid {colour};margin-right:4px"></span>'
        style = "dashed" if dashed else "solid"
        return f'<span style="display:inline-block;width:22px;border-top:4px {style} {colour};vertical-align:middle;margin-right:4px"></span>'

    warn = f'<div style="color:#b00020;font-weight:bold;margin:2px 0">⚠ {_esc(GENERATED_NOTICE)}</div>' if generated else ""
    uncharged = [r for r in (ch, fa) if r.ledger.uncharged_km > 0]
    notes = "".join(f"<div>{_esc(r.kind)}: {r.ledger.uncharged_km:.2f} km outside every constituency (not charged)</div>" for r in uncharged)
    policy = "".join(f"<div>{_esc(line)}</div>" for line in _policy_lines(leg))
    src = net.meta.get("osm_file")
    if generated:
        tiles_label = "Map tiles"
        src_line = f"<div>Roads: {_esc(GENERATED_NOTICE)}{', ' + _esc(src) if src else ''}</div>"
    else:
        tiles_label = "Map tiles and roads"
        src_line = f"<div>Road data: {_esc(src)}</div>" if src else ""
    return f"""
<div id="routeplan-legend" style="position:fixed;bottom:24px;left:10px;z-index:1000;background:rgba(255,255,255,.93);
 padding:8px 10px;border:1px solid #777;border-radius:4px;font:12px/1.35 sans-serif;max-width:380px;box-shadow:0 1px 4px rgba(0,0,0,.3)">
<details open><summary style="font-weight:bold;font-size:13px;margin-bottom:2px;cursor:pointer">{_esc(title)}</summary>
{warn}
<div>{swatch(CHEAPEST_COLOUR)}<b>Cheapest</b>: {_esc(_route_summary(ch))}</div>
<div>{swatch(FASTEST_COLOUR, dashed=True)}<b>Fastest</b>: {_esc(_route_summary(fa))}</div>
<div style="margin:2px 0"><b>{_esc(saving)}</b></div>
<div style="margin:4px 0">{tradeoff_svg(leg)}</div>
{notes}
<div style="margin-top:4px">{swatch(PAID_CHEAPEST, fill=True)}{_esc(_CATEGORY_TEXT['cheapest'])}</div>
<div>{swatch(PAID_FASTEST_ONLY, fill=True)}{_esc(_CATEGORY_TEXT['fastest'])}</div>
<div>{swatch(PAID_NONE, fill=True)}{_esc(_CATEGORY_TEXT['free'])}</div>
<div style="margin-top:4px;color:#333">{policy}</div>
<div style="margin-top:4px;font-size:10.5px;color:#444">{tiles_label}: {osm_attr}<br>{src_line}
Boundaries: {_esc(bnd_attr)}</div>
</details>
</div>
"""


def route_map(
    net: Network, boundaries: Boundaries, leg: Leg, *, title: str | None = None, online_assets: bool = False,
) -> folium.Map:
    """An interactive map of one leg: both routes, the constituencies they pay for and why.

    The cheapest route is drawn solid, the fastest dashed, distinct Pareto alternatives thin and
    grey (a toggleable layer).  Constituency polygons are shaded by who pays for them, with the
    ledger rows of both routes in their tooltips.  A fixed legend carries the totals, the policy
    and the data attributions (so they show even when tiles cannot load).  The page is
    self-contained (Leaflet inlined, see routeplan.assets) unless ``online_assets``, which keeps
    folium's CDN links; the tiles are always online.
    """
    if tuple(boundaries.codes) != tuple(net.cell_codes):
        msg = f"boundary set {boundaries.name} is not the one the network was built with"
        raise UsageError(msg)
    generated = bool(net.meta.get("generated"))
    origin, destination = leg.stops[0], leg.stops[-1]
    title = title or f"{origin.label} → {destination.label}"
    if generated and GENERATED_NOTICE not in title:
        title = f"{title} - {GENERATED_NOTICE}"
    osm_attr, bnd_attr = _attributions(net, boundaries)

    cheap_pts = leg.cheapest.coords(net)
    fast_pts = leg.fastest.coords(net)
    alternatives = [r for r in leg.front if not _same_route(r, leg.cheapest) and not _same_route(r, leg.fastest)]
    alt_pts = [r.coords(net) for r in alternatives]
    bounds = _bounds([cheap_pts, fast_pts, *alt_pts], leg.stops)
    centre = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2] if bounds else [54.0, -2.5]

    m = _new_map(centre, 12, online_assets)
    folium.TileLayer(
        tiles=OSM_TILES,
        attr=f"{osm_attr} | {html.escape(bnd_attr)}",
        name="OpenStreetMap",
        max_zoom=19,
    ).add_to(m)
    _figure(m).header.add_child(RawHTML(f"<title>{_esc(title)}</title>"))

    # Polygons first, so the routes draw above them.
    seats_layer = folium.FeatureGroup(name="Constituencies (charges)", show=True)
    for seat in _seats(leg):
        geom = boundaries.geom[boundaries.index_of[seat.code]]
        geom = shapely.simplify(geom, SIMPLIFY_DEG, preserve_topology=True)
        colour = _FILL[seat.category]
        feature = {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": {"code": seat.code, "name": seat.name}, "geometry": mapping(geom)}],
        }
        folium.GeoJson(
            feature,
            name=seat.name,
            style_function=lambda _f, c=colour: {"color": c, "weight": 1.5, "fillColor": c, "fillOpacity": 0.22},
            highlight_function=lambda _f, c=colour: {"color": c, "weight": 3, "fillOpacity": 0.35},
            tooltip=folium.Tooltip(_seat_tooltip(seat), sticky=True),
        ).add_to(seats_layer)
    seats_layer.add_to(m)

    if alternatives:
        alt_layer = folium.FeatureGroup(name="Alternatives (cost/time trade-offs)", show=True)
        for route, pts in zip(alternatives, alt_pts, strict=True):
            _polyline(
                pts, alt_layer, f"<b>Alternative {_esc(route.kind)}</b>: {_esc(_route_summary(route))}",
                color=ALTERNATIVE_COLOUR, weight=3, opacity=0.8,
            )
        alt_layer.add_to(m)

    # The fastest goes above the cheapest, thinner and dashed: where they share roads both show.
    cheap_layer = folium.FeatureGroup(name=f"Cheapest route ({format_money(leg.cheapest.cost_pence)})", show=True)
    _polyline(
        cheap_pts, cheap_layer, f"<b>Cheapest route</b> (chosen): {_esc(_route_summary(leg.cheapest))}",
        color=CHEAPEST_COLOUR, weight=6, opacity=0.9,
    )
    cheap_layer.add_to(m)

    fast_layer = folium.FeatureGroup(name=f"Fastest route ({format_money(leg.fastest.cost_pence)})", show=True)
    _polyline(
        fast_pts, fast_layer, f"<b>Fastest route</b>: {_esc(_route_summary(leg.fastest))}",
        color=FASTEST_COLOUR, weight=3.5, opacity=0.95, dash_array="10 8",
    )
    fast_layer.add_to(m)

    stops_layer = folium.FeatureGroup(name="Stops", show=True)
    for i, stop in enumerate(leg.stops):
        last = i == len(leg.stops) - 1
        role, colour, pin = (
            ("Origin", ORIGIN_COLOUR, "A") if i == 0 else ("Destination", DESTINATION_COLOUR, "B") if last
            else (f"Stop {i}", STOP_COLOUR, str(i))
        )
        folium.Marker(
            [stop.lat, stop.lon],
            popup=folium.Popup(_stop_popup(stop, role, net), max_width=320),
            tooltip=folium.Tooltip(f"{_esc(role)}: {_esc(stop.label)}"),
            icon=_stop_icon(colour, pin),
        ).add_to(stops_layer)
    stops_layer.add_to(m)

    folium.LayerControl(collapsed=False).add_to(m)
    _figure(m).html.add_child(RawHTML(_legend_html(net, boundaries, leg, title, generated)))
    if bounds:
        # Keep the routes clear of the legend (bottom left) and the layer control (top right).
        m.fit_bounds(bounds, padding_top_left=(30, 30), padding_bottom_right=(30, LEGEND_CLEARANCE_PX))
    return m


# Day colours for tour maps: distinct, readable on OSM tiles, cycled past seven days.
DAY_COLOURS = ("#0b3d91", "#2a9d8f", "#e76f51", "#6a4c93", "#8a5a00", "#1d7874", "#c1121f")


EXEMPT_COLOUR = "#2b9348"  # green: exempt road (motorway) on a tour map


def _runs_by_exemption(net: Network, route: Route, exempt_mask: Sequence[bool] | object) -> dict[bool, list[list[tuple[float, float]]]]:
    """A route's geometry split into runs of charged and of exempt road (by the pieces' classes)."""
    runs: dict[bool, list[list[tuple[float, float]]]] = {False: [], True: []}
    mask = cast("Sequence[bool]", exempt_mask)
    current: list[tuple[float, float]] = []
    state: bool | None = None
    for p, fw in zip(route.pieces, route.forward, strict=True):
        ex = bool(mask[int(net.piece_class[p])])
        pts = [(float(a), float(b)) for a, b in net.piece_coords(p, fw)]
        if state is None or ex != state:
            if state is not None and len(current) >= 2:
                runs[state].append(current)
            current = list(pts)
            state = ex
        else:
            current.extend(pts[1:])
    if state is not None and len(current) >= 2:
        runs[state].append(current)
    return runs


def tour_map(
    net: Network, boundaries: Boundaries, tour: TourPlan, *, title: str | None = None, online_assets: bool = False,
) -> folium.Map:
    """A tour on one map: a layer per day (route planned whole solid, fastest legs dashed,
    numbered stops with arrival times, the day's charged constituencies shaded with their reason),
    a legend with the totals and the attributions.  Self-contained unless ``online_assets``."""
    from routeplan.schedule import format_clock, format_duration

    if tuple(boundaries.codes) != tuple(net.cell_codes):
        msg = f"boundary set {boundaries.name} is not the one the network was built with"
        raise UsageError(msg)
    generated = bool(net.meta.get("generated"))
    title = title or f"Tour: {tour.name}"
    if generated and GENERATED_NOTICE not in title:
        title = f"{title} - {GENERATED_NOTICE}"
    osm_attr, bnd_attr = _attributions(net, boundaries)
    all_pts = [leg.coords(net) for d in tour.days for leg in d.plan.best.legs]
    bounds = _bounds(all_pts, [s for d in tour.days for s in d.stops])
    centre = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2] if bounds else [54.0, -2.5]
    m = _new_map(centre, 11, online_assets)
    folium.TileLayer(tiles=OSM_TILES, attr=f"{osm_attr} | {html.escape(bnd_attr)}", name="OpenStreetMap", max_zoom=19).add_to(m)
    _figure(m).header.add_child(RawHTML(f"<title>{_esc(title)}</title>"))
    rows = []
    for k, d in enumerate(tour.days):
        colour = DAY_COLOURS[k % len(DAY_COLOURS)]
        best, fast = d.plan.best, d.plan.fastest
        layer = folium.FeatureGroup(name=f"Day {d.number}: {format_money(best.cost_pence)}", show=True)
        for c in best.charges:
            if c.pence <= 0:
                continue
            geom = shapely.simplify(boundaries.geom[boundaries.index_of[c.code]], SIMPLIFY_DEG, preserve_topology=True)
            legs = ", ".join(f"leg {i} {km:.2f} km" for i, km in c.legs)
            tip = (f"<b>{_esc(c.name)}</b> ({_esc(c.code)})<br>Day {d.number}: {_esc(format_money(c.pence))}<br>"
                   f"Charged by {_esc(c.charged_by)}" + (f"<br>{_esc(legs)}" if legs else ""))
            feature = {"type": "Feature", "properties": {"code": c.code}, "geometry": mapping(geom)}
            folium.GeoJson(
                feature, style_function=lambda _f, col=colour: {"color": col, "weight": 1, "fillColor": col, "fillOpacity": 0.15},
                tooltip=folium.Tooltip(tip, sticky=True),
            ).add_to(layer)
        for i, leg in enumerate(fast.legs, start=1):
            _polyline(leg.coords(net), layer, f"<b>Day {d.number} leg {i}, fastest</b>: {_esc(_route_summary(leg))}",
                      color=FASTEST_COLOUR, weight=2.5, opacity=0.8, dash_array="8 8")
        exempt_mask = d.policy.exempt_mask()
        for i, leg in enumerate(best.legs, start=1):
            # Charged road in the day's colour, exempt road (motorway) in its own: one line each.
            runs = _runs_by_exemption(net, leg, exempt_mask)
            for is_exempt, parts in runs.items():
                if not parts:
                    continue
                what = "exempt road, not charged" if is_exempt else "charged road"
                # A list of parts draws as one Leaflet multi-polyline.
                folium.PolyLine(parts, color=EXEMPT_COLOUR if is_exempt else colour, weight=6, opacity=0.85,  # type: ignore[no-untyped-call]
                                tooltip=folium.Tooltip(f"<b>Day {d.number} leg {i}</b> (planned whole, {what}): {_esc(_route_summary(leg))}")).add_to(layer)
        exempt_only = [r for r in best.ledger.rows if r.pence == 0 and r.road_km == 0 and r.exempt_km > 0]
        for r in exempt_only:
            geom = shapely.simplify(boundaries.geom[boundaries.index_of[r.code]], SIMPLIFY_DEG, preserve_topology=True)
            folium.GeoJson(
                {"type": "Feature", "properties": {"code": r.code}, "geometry": mapping(geom)},
                style_function=lambda _f, col=colour: {"color": col, "weight": 2, "dashArray": "4 4", "fillOpacity": 0.0},
                tooltip=folium.Tooltip(f"<b>{_esc(r.name)}</b> ({_esc(r.code)})<br>Day {d.number}: crossed only on exempt road "
                                       f"({r.exempt_km:.2f} km), not charged", sticky=True),
            ).add_to(layer)
        for j, (stop, visit) in enumerate(zip(d.stops, d.schedule, strict=True)):
            when = f"depart {format_clock(visit.depart_s)}" if j == 0 else f"arrive {format_clock(visit.arrive_s)}"
            extra = f", dwell {format_duration(visit.dwell_s)}" if visit.dwell_s > 0 else ""
            late = f"<br><b>LATE by {_esc(format_duration(visit.late_s))}</b>" if visit.late_s > 0 else ""
            popup = f"{_stop_popup(stop, f'Day {d.number}, stop {j}', net)}<br>{_esc(when + extra)}{late}"
            folium.Marker(
                [stop.lat, stop.lon], popup=folium.Popup(popup, max_width=320),
                tooltip=folium.Tooltip(f"Day {d.number} #{j}: {_esc(stop.label)} ({_esc(when)})"),
                icon=folium.DivIcon(html=f'<div style="background:{colour};color:#fff;border-radius:50%;width:22px;height:22px;'
                                         f'text-align:center;font:bold 12px/22px sans-serif;border:2px solid #fff">{j}</div>'),
            ).add_to(layer)
        for b in d.hours.breaks:
            leg = best.legs[b.leg]
            if b.kind == "stop dwell":
                continue
            if not leg.pieces:
                continue
            pts = net.piece_coords(leg.pieces[b.after_piece], leg.forward[b.after_piece])
            folium.CircleMarker([float(pts[-1][0]), float(pts[-1][1])], radius=6, color="#000",
                                tooltip=folium.Tooltip(_esc(f"Break {format_clock(b.clock_s)} {format_duration(b.duration_s)}: {b.where}"))).add_to(layer)
        layer.add_to(m)
        # Where the advance team could still add a stop today at no further charge (hidden at first).
        from routeplan.reach import free_reach

        paid = tuple(c.code for c in best.charges if c.pence > 0 or c.charged_by)
        reach = free_reach(net, d.policy, d.stops[-1], already_charged=paid)
        _reach_layer(net, reach, f"Day {d.number}: £0 reach from {_esc(d.stops[-1].label)}", show=False).add_to(m)
        rows.append(f"<div><span style=\"display:inline-block;width:22px;border-top:4px solid {colour};vertical-align:middle;margin-right:4px\"></span>"
                    f"Day {d.number}: <b>{_esc(format_money(best.cost_pence))}</b> · {_esc(format_duration(best.time_s))} driving"
                    f" (fastest legs {_esc(format_money(fast.cost_pence))}, leg by leg {_esc(format_money(d.plan.leg_by_leg.cost_pence))})</div>")
    folium.LayerControl(collapsed=False).add_to(m)
    warn = f'<div style="color:#b00020;font-weight:bold;margin:2px 0">⚠ {_esc(GENERATED_NOTICE)}</div>' if generated else ""
    tb, tf, tl = tour.total_pence("best"), tour.total_pence("fastest"), tour.total_pence("leg_by_leg")
    legend = f"""
<div id="routeplan-legend" style="position:fixed;bottom:24px;left:10px;z-index:1000;background:rgba(255,255,255,.93);
 padding:8px 10px;border:1px solid #777;border-radius:4px;font:12px/1.35 sans-serif;max-width:420px;box-shadow:0 1px 4px rgba(0,0,0,.3)">
<details open><summary style="font-weight:bold;font-size:13px;margin-bottom:2px;cursor:pointer">{_esc(title)}</summary>
{warn}{"".join(rows)}
<div style="margin-top:4px"><b>Tour {_esc(format_money(tb))}</b> planned whole; fastest legs {_esc(format_money(tf))}; leg by leg {_esc(format_money(tl))}</div>
<div><span style="display:inline-block;width:22px;border-top:3px dashed {FASTEST_COLOUR};vertical-align:middle;margin-right:4px"></span>fastest legs (baseline)</div>
<div><span style="display:inline-block;width:22px;border-top:4px solid {EXEMPT_COLOUR};vertical-align:middle;margin-right:4px"></span>exempt road (not charged); dashed outline: a seat crossed only on exempt road</div>
<div style="margin-top:4px;font-size:10.5px;color:#444">Map tiles and roads: {osm_attr}<br>Boundaries: {_esc(bnd_attr)}</div>
</details></div>
"""
    _figure(m).html.add_child(RawHTML(legend))
    if bounds:
        m.fit_bounds(bounds, padding_top_left=(30, 30), padding_bottom_right=(30, LEGEND_CLEARANCE_PX))
    return m


REACH_COLOURS = ("#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fdae61")  # nearest band darkest green


def _reach_layer(net: Network, result: ReachResult, name: str, *, show: bool) -> folium.FeatureGroup:
    """The roads reachable at £0, one polyline per piece coloured by its drive-time band."""
    layer = folium.FeatureGroup(name=name, show=show)
    by_band: dict[int, list[list[tuple[float, float]]]] = {}
    for p in np.flatnonzero(result.piece_band >= 0).tolist():
        pts = net.piece_coords(int(p))
        by_band.setdefault(int(result.piece_band[p]), []).append([(float(a), float(b)) for a, b in pts])
    for band in sorted(by_band):
        colour = REACH_COLOURS[min(band, len(REACH_COLOURS) - 1)]
        minutes = result.bands_s[band] / 60
        # One multi-polyline per band keeps the page small (thousands of pieces).
        folium.PolyLine(by_band[band], color=colour, weight=4, opacity=0.85,  # type: ignore[no-untyped-call]
                        tooltip=folium.Tooltip(f"£0 reach: within {minutes:.0f} min")).add_to(layer)
    return layer


def reach_map(net: Network, boundaries: Boundaries, result: ReachResult, *, title: str | None = None,
              online_assets: bool = False) -> folium.Map:
    """The £0-reach layer on its own map: where the coach can still go today at no further charge,
    in drive-time bands from the start, with the seats already paid outlined."""
    generated = bool(net.meta.get("generated"))
    title = title or f"£0 reach from {result.start_label}"
    if generated and GENERATED_NOTICE not in title:
        title = f"{title} - {GENERATED_NOTICE}"
    osm_attr, bnd_attr = _attributions(net, boundaries)
    s = result.start
    centre = [float(net.pieces.node_lat[s]), float(net.pieces.node_lon[s])]
    m = _new_map(centre, 12, online_assets)
    folium.TileLayer(tiles=OSM_TILES, attr=f"{osm_attr} | {html.escape(bnd_attr)}", name="OpenStreetMap", max_zoom=19).add_to(m)
    _figure(m).header.add_child(RawHTML(f"<title>{_esc(title)}</title>"))
    seats = folium.FeatureGroup(name="Seats already paid today", show=True)
    for code in result.charged_codes:
        geom = shapely.simplify(boundaries.geom[boundaries.index_of[code]], SIMPLIFY_DEG, preserve_topology=True)
        folium.GeoJson({"type": "Feature", "properties": {}, "geometry": mapping(geom)},
                       style_function=lambda _f: {"color": "#555", "weight": 1.5, "fillOpacity": 0.05},
                       tooltip=folium.Tooltip(f"{_esc(net.cell_names[net.cell_codes.index(code)])} ({_esc(code)}): already paid today")).add_to(seats)
    seats.add_to(m)
    _reach_layer(net, result, "£0 reach (drive-time bands)", show=True).add_to(m)
    folium.Marker(centre, tooltip=folium.Tooltip(f"Start: {_esc(result.start_label)}"),
                  icon=folium.DivIcon(html=f'<div style="background:{ORIGIN_COLOUR};width:14px;height:14px;border-radius:50%;border:2px solid #fff"></div>')).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    rows = "".join(
        f'<div><span style="display:inline-block;width:22px;border-top:4px solid {REACH_COLOURS[min(i, len(REACH_COLOURS) - 1)]};'
        f'vertical-align:middle;margin-right:4px"></span>within {b / 60:.0f} min</div>' for i, b in enumerate(result.bands_s))
    warn = f'<div style="color:#b00020;font-weight:bold;margin:2px 0">⚠ {_esc(GENERATED_NOTICE)}</div>' if generated else ""
    legend = f"""
<div id="routeplan-legend" style="position:fixed;bottom:24px;left:10px;z-index:1000;background:rgba(255,255,255,.93);
 padding:8px 10px;border:1px solid #777;border-radius:4px;font:12px/1.35 sans-serif;max-width:380px;box-shadow:0 1px 4px rgba(0,0,0,.3)">
<details open><summary style="font-weight:bold;font-size:13px;margin-bottom:2px;cursor:pointer">{_esc(title)}</summary>{warn}
<div>Roads the coach can still reach today at no further charge: exempt roads ({_esc(", ".join(sorted(result.exempt_classes)) or "none")})
and seats already paid ({_esc(", ".join(result.charged_codes) or "none")}).</div>{rows}
<div style="margin-top:4px;font-size:10.5px;color:#444">Map tiles and roads: {osm_attr}<br>Boundaries: {_esc(bnd_attr)}</div>
</details></div>
"""
    _figure(m).html.add_child(RawHTML(legend))
    return m


def save_map(m: folium.Map, path: str | os.PathLike[str]) -> Path:
    """Write the map's HTML atomically: a failed render never leaves a half-written page."""
    target = Path(path)
    with atomic_path(target) as tmp:
        m.save(str(tmp))
    log.info("wrote map %s", target)
    return target


__all__ = ["GENERATED_NOTICE", "OSM_ATTRIBUTION", "OSM_TEXT", "reach_map", "route_map", "save_map", "tour_map", "tradeoff_svg"]
