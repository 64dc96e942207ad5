"""Exports of a planned leg or tour for other tools: GPX, GeoJSON, GeoPackage and a printable
driver's sheet.

Pure writers: no folium, no network access, nothing time-dependent (two exports of one plan are
byte-identical).  Each works for a single leg (:class:`routeplan.routing.Leg`: its cheapest
route) and for a tour (:class:`routeplan.tour.TourPlan`: each day's best plan, with its timetable
and the drivers' breaks).

* **GPX 1.1** (:func:`write_gpx`): ``<metadata>`` (title, the OpenStreetMap attribution and
  licence, the boundary attribution, the keyword ``GENERATED`` for a synthetic network, bounds),
  one ``<wpt>`` per stop (name, ETA in ``cmt``/``desc``, ``<time>`` in UTC when the tour has
  dates) and per drivers' break placed on the road, then one ``<trk>`` per leg holding the leg's
  full geometry (exactly :meth:`routeplan.routing.Route.coords`), in the element order of the
  GPX 1.1 schema.
* **GeoJSON** (:func:`write_geojson`, RFC 7946, lon/lat): one LineString per road piece of each
  route (leg, day, road, class, constituency, the pence that seat costs that day -- 0 when the
  piece is exempt or the seat free --, exempt flag), stops and breaks as Points with their ETA,
  and the charged constituencies as (Multi)Polygons with pence and reason.  Every feature has a
  ``layer`` property: ``piece``, ``stop``, ``break`` or ``constituency``.
* **GeoPackage** (:func:`write_gpkg`): layers ``routes`` (a LineString per leg), ``pieces``,
  ``stops``, ``breaks`` and ``constituencies``, EPSG:4326, written with pyogrio.
* **Driver's sheet** (:func:`write_driver_sheet`): one self-contained, printable HTML page (no
  scripts, no external assets, every text escaped): per leg the roads in order (consecutive
  pieces of one road merged) with distances and ETAs, the constituencies entered and what each
  costs that day, the breaks, and the day's ledger.

A path target is written atomically (:func:`routeplan.atomic.atomic_path`): a temporary file
beside it renamed into place only when complete.  The CLI passes its
:class:`~routeplan.atomic.OutputSet` temporary path, so a run's outputs stay all or nothing.
Text formats also accept an open text file.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeAlias

from routeplan import __version__
from routeplan.atomic import atomic_path
from routeplan.errors import UsageError
from routeplan.ledger import format_money
from routeplan.locate import Stop
from routeplan.network import Network
from routeplan.policy import ExpensePolicy
from routeplan.routing import Leg, Route
from routeplan.schedule import format_clock, format_duration
from routeplan.vehicle import CLASS_NAMES

if TYPE_CHECKING:
    from routeplan.boundaries import Boundaries
    from routeplan.hours import Break
    from routeplan.tour import TourPlan

FORMATS: tuple[str, ...] = ("gpx", "geojson", "gpkg", "driver-sheet")
SUFFIXES: dict[str, str] = {"gpx": ".gpx", "geojson": ".geojson", "gpkg": ".gpkg", "driver-sheet": ".html"}

OSM_TEXT = "© OpenStreetMap contributors"
OSM_ATTRIBUTION = f"{OSM_TEXT} (ODbL)"
OSM_COPYRIGHT_URL = "https://www.openstreetmap.org/copyright"
ODBL_URL = "https://opendatacommons.org/licenses/odbl/1-0/"
GENERATED_NOTICE = "GENERATED synthetic network (not real roads) over real constituency polygons"
GPX_NS = "http://www.topografix.com/GPX/1/1"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
GPX_SCHEMA = "http://www.topografix.com/GPX/1/1/gpx.xsd"
UK_TZ = "Europe/London"
ROAD_BREAK_KINDS = frozenset({"services", "exempt road", "charged seat", "charged road"})
STOP_BREAK_KINDS = frozenset({"stop dwell", "stop dwell extended"})
# Decimal places: 8 for GPX (about 1 mm, never exponent notation), 7 for GeoJSON (about 1 cm).
_GPX_DP = 8
_JSON_DP = 7
# Characters XML 1.0 cannot hold, even escaped (C0 controls but tab/newline/CR, surrogates, FFFE/FFFF).
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")

Target: TypeAlias = "str | os.PathLike[str] | IO[str]"


def clean_text(text: object) -> str:
    """``text`` as a string without the control characters XML and HTML cannot carry."""
    return _BAD_XML.sub("\ufffd", str(text))


# ------------------------------------------------------------------------------ the plan, flattened


@dataclass(frozen=True)
class ExportStop:
    """One stop of an exported plan, with its times.

    Clock times (``arrive_s``, ``depart_s``) are seconds since the day's midnight, known for a
    tour and ``None`` for a single leg (no departure time); ``elapsed_s`` (since the day's first
    departure) is always known.
    """

    day: int
    index: int  # in the day; 0 is the start
    label: str
    role: str  # "start", "stop", "overnight" or "end"
    lat: float
    lon: float
    code: str | None
    constituency: str | None
    date: dt.date | None
    arrive_s: float | None
    depart_s: float | None
    elapsed_s: float
    dwell_s: float = 0.0
    wait_s: float = 0.0
    late_s: float = 0.0

    @property
    def eta(self) -> str:
        """``"07:09"`` (``"07:00"`` for the start: its departure), or ``"+26 min"`` for a leg."""
        if self.arrive_s is not None:
            return format_clock(self.arrive_s)
        if self.index == 0 and self.depart_s is not None:
            return format_clock(self.depart_s)
        return "start" if self.index == 0 else f"+{format_duration(self.elapsed_s)}"


@dataclass(frozen=True)
class ExportLeg:
    """One leg: its route, its stops, when it leaves and the drivers' breaks taken on it."""

    day: int
    number: int  # in the day, from 1
    seq: int  # in the whole export, from 1
    route: Route
    origin: ExportStop
    destination: ExportStop
    depart_s: float | None  # clock, or None for a single leg
    depart_elapsed_s: float
    breaks: tuple[Break, ...]  # on the road of this leg and at the stop ending it
    policy: ExpensePolicy

    @property
    def title(self) -> str:
        return f"Day {self.day} leg {self.number}: {self.origin.label} → {self.destination.label}"


@dataclass(frozen=True)
class ExportDay:
    """A day's charges: pence per constituency code (the day's ledger) and why."""

    day: int
    date: dt.date | None
    pence: dict[str, int]
    names: dict[str, str]
    reasons: dict[str, str]
    total_pence: int
    notes: tuple[str, ...]
    drive_s: float
    length_m: float


@dataclass(frozen=True)
class ExportPlan:
    """A leg or a tour flattened into what every export needs (see :func:`collect`)."""

    title: str
    kind: str  # "leg" or "tour"
    days: tuple[ExportDay, ...]
    legs: tuple[ExportLeg, ...]
    stops: tuple[ExportStop, ...]
    generated: bool
    attribution: tuple[str, ...]
    network: str
    boundaries: str

    def day(self, number: int) -> ExportDay:
        return next(d for d in self.days if d.day == number)


def _stop_seat(net: Network, st: Stop) -> tuple[str | None, str | None]:
    if st.cell < 0:
        return None, None
    return net.cell_codes[st.cell], net.cell_names[st.cell]


def _attribution(net: Network) -> tuple[str, ...]:
    out = [OSM_ATTRIBUTION]
    bnd = str(net.meta.get("boundary_attribution") or "").strip()
    if bnd:
        out.append(bnd)
    if net.meta.get("generated"):
        out.append(GENERATED_NOTICE)
    return tuple(out)


def _is_tour(obj: object) -> bool:
    from routeplan.tour import TourPlan

    return isinstance(obj, TourPlan)


def collect(net: Network, leg_or_tour: Leg | TourPlan) -> ExportPlan:
    """Flatten a :class:`~routeplan.routing.Leg` (its cheapest route) or a
    :class:`~routeplan.tour.TourPlan` (each day's best plan, its timetable with the breaks)."""
    generated = bool(net.meta.get("generated"))
    common = {"generated": generated, "attribution": _attribution(net),
              "network": str(net.meta.get("osm_file", "")), "boundaries": str(net.meta.get("boundaries", ""))}
    if isinstance(leg_or_tour, Leg):
        return _collect_leg(net, leg_or_tour, common)
    if _is_tour(leg_or_tour):
        return _collect_tour(net, leg_or_tour, common)
    msg = f"can only export a routing.Leg or a tour.TourPlan, got {type(leg_or_tour).__name__}"
    raise UsageError(msg)


def _collect_leg(net: Network, leg: Leg, common: dict[str, Any]) -> ExportPlan:
    route = leg.cheapest
    day = route.ledger.day
    o, d = leg.stops[0], leg.stops[-1]
    oc, on = _stop_seat(net, o)
    dc, dn = _stop_seat(net, d)
    s0 = ExportStop(day, 0, o.label, "start", o.lat, o.lon, oc, on, None, None, None, 0.0)
    s1 = ExportStop(day, 1, d.label, "end", d.lat, d.lon, dc, dn, None, None, None, route.time_s)
    rows = route.ledger.rows
    ed = ExportDay(day, None, {r.code: r.pence for r in rows}, {r.code: r.name for r in rows},
                   {r.code: " | ".join(r.reasons) for r in rows}, route.ledger.total_pence, route.ledger.notes,
                   route.time_s, route.length_m)
    el = ExportLeg(day, 1, 1, route, s0, s1, None, 0.0, (), leg.policy)
    return ExportPlan(title=f"{o.label} → {d.label}", kind="leg", days=(ed,), legs=(el,), stops=(s0, s1), **common)


def _collect_tour(net: Network, tour: TourPlan, common: dict[str, Any]) -> ExportPlan:
    from routeplan.tour import paid_before

    again = paid_before(tour)
    days: list[ExportDay] = []
    legs: list[ExportLeg] = []
    stops: list[ExportStop] = []
    for d in tour.days:
        best = d.plan.best
        sched = d.schedule
        t0 = sched[0].depart_s
        by = {c.code: c.charged_by for c in best.charges}
        day_stops: list[ExportStop] = []
        for j, (st, v) in enumerate(zip(d.stops, sched, strict=True)):
            last = j == len(d.stops) - 1
            role = "start" if j == 0 else ("overnight" if d.spec.overnight is not None else "end") if last else "stop"
            code, name = _stop_seat(net, st)
            day_stops.append(ExportStop(
                d.number, j, st.label, role, st.lat, st.lon, code, name, d.date,
                None if j == 0 else v.arrive_s, v.depart_s, (v.depart_s if j == 0 else v.arrive_s) - t0,
                v.dwell_s, v.wait_s, v.late_s,
            ))
        stops.extend(day_stops)
        for i, route in enumerate(best.legs):
            brk = tuple(b for b in d.hours.breaks if b.leg == i)
            start = day_stops[i]
            dep = sched[i].depart_s
            legs.append(ExportLeg(d.number, i + 1, len(legs) + 1, route, start, day_stops[i + 1], dep, dep - t0, brk, d.policy))
        reasons: dict[str, str] = {}
        for r in best.ledger.rows:
            why = list(r.reasons)
            if by.get(r.code):
                why.insert(0, f"charged by {by[r.code]}")
            prior = again.get((d.number, r.code))
            if prior:
                why.append(f"paid again: also charged on day {', '.join(map(str, prior))} (each day is charged afresh)")
            reasons[r.code] = " | ".join(why)
        rows = best.ledger.rows
        days.append(ExportDay(d.number, d.date, {r.code: r.pence for r in rows}, {r.code: r.name for r in rows}, reasons,
                              best.cost_pence, best.ledger.notes, best.time_s, best.length_m))
    return ExportPlan(title=tour.name, kind="tour", days=tuple(days), legs=tuple(legs), stops=tuple(stops), **common)


# ------------------------------------------------------------------------------ pieces


@dataclass(frozen=True)
class PieceRow:
    """One road piece of one leg, in driving order, with what its seat costs that day."""

    leg: ExportLeg
    index: int  # in the leg
    piece: int
    forward: bool
    road: str
    road_class: str
    code: str | None
    constituency: str | None
    exempt: bool
    charged_pence: int
    length_m: float
    time_s: float
    start_elapsed_s: float  # since the leg's departure, breaks on the road included
    coords: list[tuple[float, float]]  # (lat, lon)


def piece_rows(net: Network, plan: ExportPlan) -> Iterator[PieceRow]:
    """Every piece of every leg, in order.  ``charged_pence`` is the day's charge for the
    piece's constituency (the ledger's), 0 when the piece is exempt road or the seat is free."""
    pc = net.pieces
    for leg in plan.legs:
        day = plan.day(leg.day)
        exempt_mask = leg.policy.exempt_mask()
        after: dict[int, float] = {}
        for b in leg.breaks:
            if b.kind not in STOP_BREAK_KINDS:
                after[b.after_piece] = after.get(b.after_piece, 0.0) + b.duration_s
        t = 0.0
        for i, (p, fw) in enumerate(zip(leg.route.pieces, leg.route.forward, strict=True)):
            cell = int(pc.cell[p])
            cls = int(net.piece_class[p])
            exempt = bool(exempt_mask[cls])
            code = net.cell_codes[cell] if cell >= 0 else None
            pence = 0 if code is None or exempt else int(day.pence.get(code, 0))
            dt_s = net.edge_time_s(int(p), bool(fw))
            coords = [(float(a), float(b)) for a, b in net.piece_coords(int(p), bool(fw))]
            yield PieceRow(leg, i, int(p), bool(fw), net.way_name[int(pc.way[p])], CLASS_NAMES[cls], code,
                           net.cell_names[cell] if cell >= 0 else None, exempt, pence, float(pc.length_m[p]), dt_s, t, coords)
            t += dt_s + after.get(i, 0.0)


def _break_point(net: Network, leg: ExportLeg, b: Break) -> tuple[float, float]:
    """(lat, lon) where a break is taken: the end of the piece it follows, or the stop."""
    if b.kind in STOP_BREAK_KINDS or not leg.route.pieces or not 0 <= b.after_piece < len(leg.route.pieces):
        return leg.destination.lat, leg.destination.lon
    p = leg.route.pieces[b.after_piece]
    node = int(net.pieces.b[p] if leg.route.forward[b.after_piece] else net.pieces.a[p])
    return float(net.pieces.node_lat[node]), float(net.pieces.node_lon[node])


@dataclass(frozen=True)
class BreakRow:
    leg: ExportLeg
    brk: Break
    lat: float
    lon: float
    clock_s: float | None
    elapsed_s: float


def break_rows(net: Network, plan: ExportPlan) -> list[BreakRow]:
    """Every drivers' break, with where and (by the timetable with breaks) when it starts."""
    out: list[BreakRow] = []
    for leg in plan.legs:
        if not leg.breaks:
            continue
        cum = [0.0]
        for p, fw in zip(leg.route.pieces, leg.route.forward, strict=True):
            cum.append(cum[-1] + net.edge_time_s(int(p), bool(fw)))
        road_before = 0.0
        for b in sorted(leg.breaks, key=lambda x: (x.after_piece, x.kind in STOP_BREAK_KINDS)):
            if b.kind in STOP_BREAK_KINDS:
                el = leg.destination.elapsed_s - leg.depart_elapsed_s
                clock = leg.destination.arrive_s
            else:
                el = cum[min(b.after_piece + 1, len(cum) - 1)] + road_before
                road_before += b.duration_s
                clock = None if leg.depart_s is None else leg.depart_s + el
            lat, lon = _break_point(net, leg, b)
            out.append(BreakRow(leg, b, lat, lon, clock, leg.depart_elapsed_s + el))
    return out


def _clock_or_elapsed(clock: float | None, elapsed: float) -> str:
    return format_clock(clock) if clock is not None else f"+{format_duration(elapsed)}"


# ------------------------------------------------------------------------------ targets


def _write_text(target: Target, text: str) -> None:
    if isinstance(target, str | os.PathLike):
        with atomic_path(target) as tmp:
            tmp.write_text(text, encoding="utf-8")
        return
    target.write(text)


def _utc_time(date: dt.date | None, clock_s: float | None) -> str | None:
    """``2026-12-03T07:09:14Z`` for a UK local clock time on a date, else None."""
    if date is None or clock_s is None or not math.isfinite(clock_s):
        return None
    try:
        from zoneinfo import ZoneInfo

        tz: dt.tzinfo = ZoneInfo(UK_TZ)
    except Exception:  # noqa: BLE001 - no time zone database: leave the time out
        return None
    local = dt.datetime.combine(date, dt.time(), tzinfo=tz) + dt.timedelta(seconds=round(clock_s))
    # Re-anchor the wall-clock time in its own zone (DST), then convert to UTC.
    local = local.replace(tzinfo=None).replace(tzinfo=tz)
    return local.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------------ GPX


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{GPX_NS}}}{tag}", attrs)
    if text is not None:
        el.text = clean_text(text)
    return el


def _fix(x: float) -> str:
    return f"{x:.{_GPX_DP}f}"


def _stop_desc(s: ExportStop) -> str:
    where = f"{s.constituency} ({s.code})" if s.code else "no constituency"
    if s.index == 0:
        when = f"depart {format_clock(s.depart_s)}" if s.depart_s is not None else "start of the leg"
    else:
        when = f"arrive {s.eta}"
    parts = [f"Day {s.day} {s.role} {s.index}: {when}"]
    if s.wait_s > 0:
        parts.append(f"wait {format_duration(s.wait_s)}")
    if s.dwell_s > 0:
        parts.append(f"dwell {format_duration(s.dwell_s)}")
    if s.late_s > 0:
        parts.append(f"LATE by {format_duration(s.late_s)}")
    parts.append(where)
    return "; ".join(parts)


def gpx_text(net: Network, leg_or_tour: Leg | TourPlan | ExportPlan) -> str:
    """The GPX 1.1 document of a leg or a tour (see the module docstring)."""
    plan = leg_or_tour if isinstance(leg_or_tour, ExportPlan) else collect(net, leg_or_tour)
    ET.register_namespace("", GPX_NS)
    ET.register_namespace("xsi", XSI_NS)
    root = ET.Element(f"{{{GPX_NS}}}gpx", {
        "version": "1.1", "creator": f"routeplan {__version__}",
        f"{{{XSI_NS}}}schemaLocation": f"{GPX_NS} {GPX_SCHEMA}",
    })
    tracks = [(leg, leg.route.coords(net)) for leg in plan.legs]
    breaks = break_rows(net, plan)
    road_breaks = [b for b in breaks if b.brk.kind not in STOP_BREAK_KINDS]
    lats = [s.lat for s in plan.stops] + [b.lat for b in road_breaks] + [p[0] for _, c in tracks for p in c]
    lons = [s.lon for s in plan.stops] + [b.lon for b in road_breaks] + [p[1] for _, c in tracks for p in c]

    meta = _sub(root, "metadata")
    title = f"{plan.title} (GENERATED)" if plan.generated else plan.title
    _sub(meta, "name", title)
    _sub(meta, "desc", "; ".join((*plan.attribution, f"network {plan.network}, boundaries {plan.boundaries}")))
    cr = _sub(meta, "copyright", author="OpenStreetMap contributors")
    _sub(cr, "license", ODBL_URL)
    link = _sub(meta, "link", href=OSM_COPYRIGHT_URL)
    _sub(link, "text", OSM_TEXT)
    keywords = ["routeplan", "campaign coach", plan.kind]
    if plan.generated:
        keywords.insert(0, "GENERATED")
    _sub(meta, "keywords", ", ".join(keywords))
    if lats:
        _sub(meta, "bounds", minlat=_fix(min(lats)), minlon=_fix(min(lons)), maxlat=_fix(max(lats)), maxlon=_fix(max(lons)))

    for s in plan.stops:
        w = _sub(root, "wpt", lat=_fix(s.lat), lon=_fix(s.lon))
        when = _utc_time(s.date, s.depart_s if s.index == 0 else s.arrive_s)
        if when:
            _sub(w, "time", when)
        _sub(w, "name", s.label)
        _sub(w, "cmt", f"ETA {s.eta}" if s.index else f"depart {s.eta}" if s.depart_s is not None else "start")
        _sub(w, "desc", _stop_desc(s))
        _sub(w, "sym", "Flag, Blue")
        _sub(w, "type", "stop")
    for br in road_breaks:
        b = br.brk
        w = _sub(root, "wpt", lat=_fix(br.lat), lon=_fix(br.lon))
        when = _utc_time(br.leg.origin.date, br.clock_s)
        if when:
            _sub(w, "time", when)
        _sub(w, "name", f"Break {format_duration(b.duration_s)}")
        _sub(w, "cmt", f"ETA {_clock_or_elapsed(br.clock_s, br.elapsed_s)}")
        _sub(w, "desc", f"Day {br.leg.day} leg {br.leg.number}: drivers' break ({b.kind}, {b.role}) at {b.where}")
        _sub(w, "sym", "Rest Area")
        _sub(w, "type", "break")
    for leg, coords in tracks:
        trk = _sub(root, "trk")
        _sub(trk, "name", leg.title)
        r = leg.route
        _sub(trk, "desc", f"{r.length_m / 1000:.2f} km, {format_duration(r.time_s)} driving; leg adds {format_money(r.cost_pence)}"
             + (f"; depart {format_clock(leg.depart_s)}" if leg.depart_s is not None else ""))
        _sub(trk, "number", str(leg.seq))
        _sub(trk, "type", r.kind)
        seg = _sub(trk, "trkseg")
        for lat, lon in coords:
            _sub(seg, "trkpt", lat=_fix(lat), lon=_fix(lon))
    ET.indent(root, space=" ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_gpx(target: Target, net: Network, boundaries: Boundaries | None, leg_or_tour: Leg | TourPlan) -> None:
    """Write the GPX 1.1 file of a leg or a tour (``boundaries`` is not needed; accepted so
    every writer takes the same arguments)."""
    _write_text(target, gpx_text(net, leg_or_tour))


# ------------------------------------------------------------------------------ GeoJSON


def _ll(coords: Sequence[tuple[float, float]]) -> list[list[float]]:
    return [[round(lon, _JSON_DP), round(lat, _JSON_DP)] for lat, lon in coords]


def _line(coords: Sequence[tuple[float, float]]) -> dict[str, Any] | None:
    return {"type": "LineString", "coordinates": _ll(coords)} if len(coords) >= 2 else None


def _point(lat: float, lon: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [round(lon, _JSON_DP), round(lat, _JSON_DP)]}


def _opt(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(float(x), nd)


def _piece_props(r: PieceRow) -> dict[str, Any]:
    leg = r.leg
    clock = None if leg.depart_s is None else leg.depart_s + r.start_elapsed_s
    return {
        "day": leg.day, "leg": leg.number, "leg_seq": leg.seq, "index": r.index, "piece": r.piece, "forward": r.forward,
        "road": r.road, "road_class": r.road_class, "code": r.code, "constituency": r.constituency,
        "exempt": r.exempt, "charged_pence": r.charged_pence, "length_m": round(r.length_m, 2), "time_s": round(r.time_s, 3),
        "eta": _clock_or_elapsed(clock, leg.depart_elapsed_s + r.start_elapsed_s), "clock_s": _opt(clock),
    }


def _stop_props(s: ExportStop) -> dict[str, Any]:
    return {
        "day": s.day, "index": s.index, "label": s.label, "role": s.role, "eta": s.eta,
        "date": s.date.isoformat() if s.date else None, "arrive_s": _opt(s.arrive_s), "depart_s": _opt(s.depart_s),
        "elapsed_s": _opt(s.elapsed_s), "dwell_s": _opt(s.dwell_s), "wait_s": _opt(s.wait_s), "late_s": _opt(s.late_s),
        "code": s.code, "constituency": s.constituency,
    }


def _break_props(br: BreakRow) -> dict[str, Any]:
    b = br.brk
    return {
        "day": br.leg.day, "leg": br.leg.number, "leg_seq": br.leg.seq, "after_piece": b.after_piece, "kind": b.kind,
        "role": b.role, "duration_s": round(b.duration_s, 3), "added_s": round(b.added_s, 3), "where": b.where,
        "eta": _clock_or_elapsed(br.clock_s, br.elapsed_s), "clock_s": _opt(br.clock_s),
    }


def _seat_rows(plan: ExportPlan) -> Iterator[tuple[ExportDay, str]]:
    """(day, code) of every constituency charged (pence > 0) on a day, in ledger order."""
    for d in plan.days:
        for code, pence in d.pence.items():
            if pence > 0:
                yield d, code


def _seat_props(d: ExportDay, code: str) -> dict[str, Any]:
    return {"day": d.day, "date": d.date.isoformat() if d.date else None, "code": code, "constituency": d.names[code],
            "pence": d.pence[code], "charge": format_money(d.pence[code]), "reason": d.reasons.get(code, "")}


def _seat_geom(boundaries: Boundaries | None, code: str) -> Any:
    if boundaries is None or code not in boundaries.index_of:
        return None
    return boundaries.geom[boundaries.index_of[code]]


def _geojson_geom(g: Any) -> dict[str, Any] | None:
    if g is None:
        return None
    import shapely

    g = shapely.transform(g, lambda a: a.round(_JSON_DP))
    out: dict[str, Any] = json.loads(shapely.to_geojson(g))
    return out


def geojson_dict(net: Network, boundaries: Boundaries | None, leg_or_tour: Leg | TourPlan | ExportPlan) -> dict[str, Any]:
    """The GeoJSON FeatureCollection of a leg or a tour (see the module docstring)."""
    plan = leg_or_tour if isinstance(leg_or_tour, ExportPlan) else collect(net, leg_or_tour)
    feats: list[dict[str, Any]] = []

    def add(layer: str, geom: dict[str, Any] | None, props: dict[str, Any]) -> None:
        feats.append({"type": "Feature", "geometry": geom, "properties": {"layer": layer, **props}})

    for r in piece_rows(net, plan):
        add("piece", _line(r.coords), _piece_props(r))
    for s in plan.stops:
        add("stop", _point(s.lat, s.lon), _stop_props(s))
    for br in break_rows(net, plan):
        add("break", _point(br.lat, br.lon), _break_props(br))
    for d, code in _seat_rows(plan):
        add("constituency", _geojson_geom(_seat_geom(boundaries, code)), _seat_props(d, code))
    return {
        "type": "FeatureCollection",
        "name": plan.title,
        "metadata": {
            "title": plan.title, "kind": plan.kind, "generated": plan.generated, "attribution": list(plan.attribution),
            "network": plan.network, "boundaries": plan.boundaries, "creator": f"routeplan {__version__}",
            "total_pence": sum(d.total_pence for d in plan.days),
        },
        "features": feats,
    }


def write_geojson(target: Target, net: Network, boundaries: Boundaries | None, leg_or_tour: Leg | TourPlan) -> None:
    """Write the GeoJSON of a leg or a tour (constituency polygons need ``boundaries``)."""
    text = json.dumps(geojson_dict(net, boundaries, leg_or_tour), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    _write_text(target, text + "\n")


# ------------------------------------------------------------------------------ GeoPackage

GPKG_LAYERS: tuple[str, ...] = ("routes", "pieces", "stops", "breaks", "constituencies")


def gpkg_frames(net: Network, boundaries: Boundaries | None, leg_or_tour: Leg | TourPlan | ExportPlan) -> dict[str, Any]:
    """The GeoPackage's layers as GeoDataFrames (EPSG:4326), by layer name."""
    import geopandas as gpd
    from shapely.geometry import LineString, Point

    plan = leg_or_tour if isinstance(leg_or_tour, ExportPlan) else collect(net, leg_or_tour)

    def frame(rows: list[dict[str, Any]], geoms: list[Any], columns: dict[str, str]) -> Any:
        if rows:
            # GDAL stores C strings: characters like NUL would cut a name short.
            rows = [{k: clean_text(v) if isinstance(v, str) else v for k, v in r.items()} for r in rows]
            return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")
        import numpy as np

        cols = {k: np.array([], dtype=v) for k, v in columns.items()}
        return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")

    def line(coords: Sequence[tuple[float, float]]) -> Any:
        return LineString([(lon, lat) for lat, lon in coords]) if len(coords) >= 2 else None

    routes, rgeom = [], []
    for leg in plan.legs:
        r = leg.route
        routes.append({
            "day": leg.day, "leg": leg.number, "leg_seq": leg.seq, "kind": r.kind, "origin": leg.origin.label,
            "destination": leg.destination.label, "depart": _clock_or_elapsed(leg.depart_s, leg.depart_elapsed_s),
            "arrive": leg.destination.eta, "time_s": round(r.time_s, 3), "length_m": round(r.length_m, 2),
            "adds_pence": r.cost_pence, "pieces": len(r.pieces),
        })
        rgeom.append(line(r.coords(net)))
    pieces, pgeom = [], []
    for pr in piece_rows(net, plan):
        pieces.append(_piece_props(pr))
        pgeom.append(line(pr.coords))
    stops = [_stop_props(s) for s in plan.stops]
    sgeom = [Point(s.lon, s.lat) for s in plan.stops]
    brs = break_rows(net, plan)
    breaks = [_break_props(b) for b in brs]
    bgeom = [Point(b.lon, b.lat) for b in brs]
    seats, cgeom = [], []
    for d, code in _seat_rows(plan):
        seats.append(_seat_props(d, code))
        cgeom.append(_seat_geom(boundaries, code))
    return {
        "routes": frame(routes, rgeom, {"day": "int64", "leg": "int64", "origin": "object", "destination": "object"}),
        "pieces": frame(pieces, pgeom, {"day": "int64", "leg": "int64", "road": "object", "code": "object", "charged_pence": "int64"}),
        "stops": frame(stops, sgeom, {"day": "int64", "index": "int64", "label": "object", "eta": "object"}),
        "breaks": frame(breaks, bgeom, {"day": "int64", "leg": "int64", "kind": "object", "duration_s": "float64", "eta": "object"}),
        "constituencies": frame(seats, cgeom, {"day": "int64", "code": "object", "constituency": "object", "pence": "int64", "reason": "object"}),
    }


def write_gpkg(target: str | os.PathLike[str], net: Network, boundaries: Boundaries | None, leg_or_tour: Leg | TourPlan) -> None:
    """Write a GeoPackage with the layers of :data:`GPKG_LAYERS` (a path only: GeoPackage is a
    database, not a stream)."""
    if not isinstance(target, str | os.PathLike):
        msg = "a GeoPackage export needs a file path, not an open file"
        raise UsageError(msg)
    import pyogrio

    frames = gpkg_frames(net, boundaries, leg_or_tour)
    plan_meta = {"attribution": "; ".join(_attribution(net)), "creator": f"routeplan {__version__}"}
    with atomic_path(target) as tmp, tempfile.TemporaryDirectory(prefix=".gpkg-", dir=tmp.parent) as folder:
        # GDAL wants a .gpkg name (and may add -wal/-journal files): build it in a private
        # folder beside the target, then move the finished database onto the temporary path.
        work = Path(folder) / "export.gpkg"
        for i, name in enumerate(GPKG_LAYERS):
            pyogrio.write_dataframe(frames[name], work, layer=name, driver="GPKG", append=False,
                                    geometry_type=_GPKG_GEOMETRY[name], promote_to_multi=name == "constituencies",
                                    dataset_metadata=plan_meta if i == 0 else None, layer_metadata={"description": name})
        os.replace(work, tmp)


_GPKG_GEOMETRY = {"routes": "LineString", "pieces": "LineString", "stops": "Point", "breaks": "Point", "constituencies": "MultiPolygon"}


# ------------------------------------------------------------------------------ driver's sheet

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Arial,sans-serif;font-size:11pt;margin:1.5em;color:#111}
h1{font-size:16pt;margin:0 0 .3em}h2{font-size:14pt;margin:1.2em 0 .3em;border-bottom:2px solid #333}
h3{font-size:12pt;margin:1em 0 .3em}p{margin:.2em 0}
table{border-collapse:collapse;width:100%;margin:.3em 0}th,td{border:1px solid #999;padding:2px 5px;text-align:left;vertical-align:top}
th{background:#eee}td.n{text-align:right;white-space:nowrap}tr.break td{background:#fff3cd;font-weight:bold}
tr.stop td{background:#e7f1ff;font-weight:bold}.generated{color:#b00020;font-weight:bold}.small{font-size:9pt;color:#444}
.charged{color:#b00020;font-weight:bold}
@media print{body{margin:0;font-size:10pt}section.day{page-break-before:always}section.day:first-of-type{page-break-before:auto}
tr{page-break-inside:avoid}}
"""


def _e(text: object) -> str:
    return html.escape(clean_text(text), quote=True)


@dataclass
class _Run:
    road: str
    road_class: str
    start_elapsed_s: float
    clock_s: float | None
    length_m: float = 0.0
    time_s: float = 0.0
    seats: tuple[str, ...] = ()


def _runs(rows: list[PieceRow], break_after: set[int]) -> list[tuple[_Run, int | None]]:
    """Consecutive pieces of one road merged, split where a break is taken; with each run the
    index of the piece a break follows it at (or None)."""
    out: list[tuple[_Run, int | None]] = []
    cur: _Run | None = None
    for r in rows:
        seat = r.constituency or "no constituency"
        if cur is None or cur.road != r.road:
            if cur is not None:
                out.append((cur, None))
            leg = r.leg
            clock = None if leg.depart_s is None else leg.depart_s + r.start_elapsed_s
            cur = _Run(r.road, r.road_class, leg.depart_elapsed_s + r.start_elapsed_s, clock)
        cur.length_m += r.length_m
        cur.time_s += r.time_s
        if not cur.seats or cur.seats[-1] != seat:
            cur.seats = (*cur.seats, seat)
        if r.index in break_after:
            out.append((cur, r.index))
            cur = None
    if cur is not None:
        out.append((cur, None))
    return out


def _entered(rows: list[PieceRow], day: ExportDay) -> list[str]:
    """The constituencies a leg drives through, in order, with what each costs that day."""
    seen: list[str | None] = []
    only_exempt: dict[str | None, bool] = {}
    names: dict[str | None, str | None] = {}
    for r in rows:
        if not seen or seen[-1] != r.code:
            seen.append(r.code)
        only_exempt[r.code] = only_exempt.get(r.code, True) and r.exempt
        names[r.code] = r.constituency
    out = []
    for code in seen:
        if code is None:
            out.append("road outside every constituency (not charged)")
            continue
        pence = day.pence.get(code, 0)
        if pence > 0:
            status = f"charged {format_money(pence)} today"
        elif only_exempt.get(code):
            status = "exempt road only, no charge"
        else:
            status = "£0 today (free or already charged)"
        out.append(f"{names[code]} ({code}): {status}")
    return list(dict.fromkeys(out))


def driver_sheet_html(net: Network, leg_or_tour: Leg | TourPlan | ExportPlan) -> str:
    """The printable driver's sheet (one self-contained HTML page)."""
    plan = leg_or_tour if isinstance(leg_or_tour, ExportPlan) else collect(net, leg_or_tour)
    rows_by_leg: dict[int, list[PieceRow]] = {}
    for r in piece_rows(net, plan):
        rows_by_leg.setdefault(r.leg.seq, []).append(r)
    brk_by_leg: dict[int, list[BreakRow]] = {}
    for br in break_rows(net, plan):
        brk_by_leg.setdefault(br.leg.seq, []).append(br)
    out: list[str] = []
    w = out.append
    w('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n')
    w('<meta name="viewport" content="width=device-width, initial-scale=1">\n')
    w(f"<title>Driver's sheet: {_e(plan.title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n")
    w(f"<h1>Driver's sheet: {_e(plan.title)}</h1>\n")
    if plan.generated:
        w(f'<p class="generated">{_e(GENERATED_NOTICE)}</p>\n')
    total = sum(d.total_pence for d in plan.days)
    drive = sum(d.drive_s for d in plan.days)
    km = sum(d.length_m for d in plan.days) / 1000
    w(f"<p>{len(plan.days)} day{'s' if len(plan.days) != 1 else ''}, {len(plan.legs)} leg{'s' if len(plan.legs) != 1 else ''}: "
      f"{km:.1f} km, {_e(format_duration(drive))} driving; constituency charges {_e(format_money(total))}.</p>\n")
    w(f'<p class="small">Network {_e(plan.network)}, boundaries {_e(plan.boundaries)}.</p>\n')
    for d in plan.days:
        legs = [leg for leg in plan.legs if leg.day == d.day]
        when = d.date.strftime("%a %d %b %Y") if d.date else f"day {d.day}"
        first = legs[0].origin.label if legs else ""
        last = legs[-1].destination.label if legs else ""
        w(f'<section class="day">\n<h2>Day {d.day} ({_e(when)}): {_e(first)} → {_e(last)}</h2>\n')
        w(f"<p>Day charge <b>{_e(format_money(d.total_pence))}</b>; driving {_e(format_duration(d.drive_s))}; {d.length_m / 1000:.1f} km.</p>\n")
        for leg in legs:
            _sheet_leg(w, leg, rows_by_leg.get(leg.seq, []), brk_by_leg.get(leg.seq, []), d)
        dbreaks = [br for leg in legs for br in brk_by_leg.get(leg.seq, [])]
        w("<h3>Drivers' breaks</h3>\n")
        if dbreaks:
            w("<table><thead><tr><th>At</th><th>Length</th><th>Kind</th><th>Where</th></tr></thead><tbody>\n")
            for br in dbreaks:
                b = br.brk
                w(f"<tr><td class=\"n\">{_e(_clock_or_elapsed(br.clock_s, br.elapsed_s))}</td><td class=\"n\">{_e(format_duration(b.duration_s))}</td>"
                  f"<td>{_e(b.kind)} ({_e(b.role)})</td><td>{_e(b.where)}</td></tr>\n")
            w("</tbody></table>\n")
        else:
            w("<p>No break needed: under 4 h 30 of driving between breaks.</p>\n" if plan.kind == "tour" else
              "<p>Breaks are planned for tours (routeplan plan); a single leg has no timetable.</p>\n")
        w("<h3>Constituency charges</h3>\n<table><thead><tr><th>Constituency</th><th>Charge</th><th>Why</th></tr></thead><tbody>\n")
        for code, pence in d.pence.items():
            cls = ' class="charged"' if pence > 0 else ""
            w(f"<tr><td>{_e(d.names[code])} ({_e(code)})</td><td class=\"n\"{cls}>{_e(format_money(pence))}</td><td class=\"small\">{_e(d.reasons.get(code, ''))}</td></tr>\n")
        w(f"<tr><td><b>Day total</b></td><td class=\"n\"><b>{_e(format_money(d.total_pence))}</b></td><td></td></tr>\n</tbody></table>\n")
        for note in d.notes:
            w(f'<p class="small">NOTE: {_e(note)}</p>\n')
        w("</section>\n")
    w(f'<p class="small">Roads: {_e("; ".join(plan.attribution))}. Made by routeplan {_e(__version__)}.</p>\n</body>\n</html>\n')
    return "".join(out)


def _sheet_leg(w: Any, leg: ExportLeg, rows: list[PieceRow], breaks: list[BreakRow], day: ExportDay) -> None:
    r = leg.route
    dep = format_clock(leg.depart_s) if leg.depart_s is not None else "start"
    w(f"<h3>Leg {leg.number}: {_e(leg.origin.label)} → {_e(leg.destination.label)}</h3>\n")
    w(f"<p>Depart {_e(dep)}, arrive {_e(leg.destination.eta)}; {r.length_m / 1000:.2f} km, {_e(format_duration(r.time_s))} driving; "
      f"this leg adds {_e(format_money(r.cost_pence))}.</p>\n")
    entered = _entered(rows, day)
    if entered:
        w("<p>Constituencies entered: " + "; ".join(_e(x) for x in entered) + "</p>\n")
    road_breaks = {br.brk.after_piece: br for br in breaks if br.brk.kind not in STOP_BREAK_KINDS}
    w("<table><thead><tr><th>At</th><th>Road</th><th>Distance</th><th>Total</th><th>Constituency</th></tr></thead><tbody>\n")
    w(f'<tr class="stop"><td class="n">{_e(dep)}</td><td colspan="4">Depart {_e(leg.origin.label)}</td></tr>\n')
    total = 0.0
    for run, after in _runs(rows, set(road_breaks)):
        total += run.length_m
        w(f"<tr><td class=\"n\">{_e(_clock_or_elapsed(run.clock_s, run.start_elapsed_s))}</td><td>{_e(run.road)} <span class=\"small\">({_e(run.road_class)})</span></td>"
          f"<td class=\"n\">{run.length_m / 1000:.2f} km</td><td class=\"n\">{total / 1000:.2f} km</td><td>{_e(' → '.join(run.seats))}</td></tr>\n")
        if after is not None:
            br = road_breaks[after]
            w(f'<tr class="break"><td class="n">{_e(_clock_or_elapsed(br.clock_s, br.elapsed_s))}</td>'
              f"<td colspan=\"4\">BREAK {_e(format_duration(br.brk.duration_s))} ({_e(br.brk.kind)}, {_e(br.brk.role)}): {_e(br.brk.where)}</td></tr>\n")
    s = leg.destination
    extra = []
    if s.wait_s > 0:
        extra.append(f"wait {format_duration(s.wait_s)}")
    if s.dwell_s > 0:
        extra.append(f"dwell {format_duration(s.dwell_s)}")
    if s.late_s > 0:
        extra.append(f"LATE by {format_duration(s.late_s)}")
    for br in breaks:
        if br.brk.kind in STOP_BREAK_KINDS:
            extra.append(f"counts as the drivers' break ({br.brk.kind}, {br.brk.role}, {format_duration(br.brk.duration_s)})")
    tail = f" — {'; '.join(extra)}" if extra else ""
    w(f'<tr class="stop"><td class="n">{_e(s.eta)}</td><td colspan="4">Arrive {_e(s.label)}{_e(tail)}</td></tr>\n')
    w("</tbody></table>\n")


def write_driver_sheet(target: Target, net: Network, boundaries: Boundaries | None, leg_or_tour: Leg | TourPlan) -> None:
    """Write the driver's sheet (HTML) of a leg or a tour (``boundaries`` is not needed)."""
    _write_text(target, driver_sheet_html(net, leg_or_tour))


# ------------------------------------------------------------------------------ dispatch


def export(fmt: str, target: Path | str | os.PathLike[str], net: Network, boundaries: Boundaries | None, leg_or_tour: Leg | TourPlan) -> None:
    """Write ``leg_or_tour`` in format ``fmt`` (one of :data:`FORMATS`) to ``target``."""
    writers = {"gpx": write_gpx, "geojson": write_geojson, "gpkg": write_gpkg, "driver-sheet": write_driver_sheet}
    writer = writers.get(fmt)
    if writer is None:
        msg = f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})"
        raise UsageError(msg)
    writer(target, net, boundaries, leg_or_tour)


def parse_export(spec: str) -> tuple[str, str]:
    """``"gpx=out/day.gpx"`` -> ``("gpx", "out/day.gpx")`` (the CLI's ``--export FORMAT=PATH``)."""
    fmt, sep, path = spec.partition("=")
    fmt = fmt.strip().lower()
    if not sep or not path.strip():
        msg = f"--export {spec!r}: expected FORMAT=PATH with FORMAT one of {', '.join(FORMATS)}"
        raise UsageError(msg)
    if fmt not in FORMATS:
        msg = f"--export {spec!r}: unknown format {fmt!r} (known: {', '.join(FORMATS)})"
        raise UsageError(msg)
    return fmt, path


def export_targets(specs: Sequence[str]) -> list[tuple[str, str, str]]:
    """``--export FORMAT=PATH`` values -> ``(output name, format, path)`` for an
    :class:`~routeplan.atomic.OutputSet`: the name is ``"--export gpx"``, numbered when one format
    is given twice (``"--export gpx #2"``), so every output has its own entry."""
    parsed = [parse_export(s) for s in specs]
    fmts = [f for f, _ in parsed]
    out: list[tuple[str, str, str]] = []
    for i, (fmt, path) in enumerate(parsed):
        what = f"--export {fmt}" if fmts.count(fmt) == 1 else f"--export {fmt} #{fmts[: i + 1].count(fmt)}"
        out.append((what, fmt, path))
    return out


__all__ = [
    "FORMATS", "GPKG_LAYERS", "ExportDay", "ExportLeg", "ExportPlan", "ExportStop", "PieceRow", "break_rows", "clean_text",
    "collect", "driver_sheet_html", "export", "export_targets", "geojson_dict", "gpkg_frames", "gpx_text", "parse_export", "piece_rows",
    "write_driver_sheet", "write_geojson", "write_gpkg", "write_gpx",
]
