"""Exports (issue 15 item 3): GPX, GeoJSON, GeoPackage and the driver's sheet, round-tripped on a
real Newport leg and on the example tour."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from typing import Any

import geopandas as gpd
import gpxpy
import pyogrio
import pytest
from datapaths import REPO

from routeplan import exports
from routeplan.errors import UsageError
from routeplan.hours import Break
from routeplan.itinerary import read_itinerary
from routeplan.locate import resolve
from routeplan.routing import Leg, plan_leg
from routeplan.tour import TourPlan, plan_tour

NS = "{http://www.topografix.com/GPX/1/1}"
HOSTILE = 'Evil <script>alert("x")</script> & ]]> \'q\' \x00\x1b\u202e end'


@pytest.fixture(scope="module")
def leg(newport2024, b2024) -> Leg:
    return plan_leg(newport2024, resolve("Duffryn", newport2024, b2024), resolve("Stow Park", newport2024, b2024))


@pytest.fixture(scope="module")
def tour(newport2024, b2024) -> TourPlan:
    return plan_tour(newport2024, b2024, read_itinerary(REPO / "examples" / "newport-day.toml"))


@pytest.fixture(params=["leg", "tour"])
def subject(request: pytest.FixtureRequest, leg: Leg, tour: TourPlan) -> Leg | TourPlan:
    return leg if request.param == "leg" else tour


def routes_of(obj: Leg | TourPlan) -> list[Any]:
    return [obj.cheapest] if isinstance(obj, Leg) else [r for d in obj.days for r in d.plan.best.legs]


def ledgers_of(obj: Leg | TourPlan) -> dict[int, Any]:
    """day -> the day's ledger."""
    return {obj.cheapest.ledger.day: obj.cheapest.ledger} if isinstance(obj, Leg) else {d.number: d.plan.best.ledger for d in obj.days}


def stops_of(obj: Leg | TourPlan) -> list[str]:
    return [s.label for s in obj.stops] if isinstance(obj, Leg) else [s.label for d in obj.days for s in d.stops]


def write(tmp_path: Path, fmt: str, net: Any, bnd: Any, obj: Any) -> Path:
    out = tmp_path / f"out{exports.SUFFIXES[fmt]}"
    exports.export(fmt, out, net, bnd, obj)
    assert out.is_file()
    assert [p.name for p in tmp_path.iterdir()] == [out.name], "a temporary file was left behind"
    return out


def road_names(net: Any, obj: Leg | TourPlan) -> set[str]:
    return {net.way_name[int(net.pieces.way[p])] for r in routes_of(obj) for p in r.pieces}


# -- GPX ---------------------------------------------------------------------------------------------

def test_gpx_round_trip(tmp_path: Path, newport2024: Any, b2024: Any, subject: Leg | TourPlan) -> None:
    net = newport2024
    out = write(tmp_path, "gpx", net, b2024, subject)
    gpx = gpxpy.parse(out.read_text(encoding="utf-8"))
    routes = routes_of(subject)
    assert len(gpx.tracks) == len(routes)
    for trk, route in zip(gpx.tracks, routes, strict=True):
        want = route.coords(net)
        assert len(trk.segments) == 1
        pts = trk.segments[0].points
        assert len(pts) == len(want) > 1
        assert max(max(abs(p.latitude - a), abs(p.longitude - b)) for p, (a, b) in zip(pts, want, strict=True)) <= 1e-7
    stops = [w for w in gpx.waypoints if w.type == "stop"]
    assert [w.name for w in stops] == stops_of(subject)
    assert all(w.comment and w.description for w in stops)
    assert "OpenStreetMap" in (gpx.description or "") and gpx.copyright_author == "OpenStreetMap contributors"
    assert "GENERATED" not in out.read_text(encoding="utf-8")
    if isinstance(subject, TourPlan):
        # Dated tour: waypoint times in UTC (December: GMT, so the clock time itself).
        first = stops[0]
        assert first.time is not None and first.time.strftime("%H:%M") == "07:00"


# The GPX 1.1 schema's sequences (element order matters; every child optional unless noted).
WPT_ORDER = ["ele", "time", "magvar", "geoidheight", "name", "cmt", "desc", "src", "link", "sym", "type", "fix", "sat",
             "hdop", "vdop", "pdop", "ageofdgpsdata", "dgpsid", "extensions"]
GPX_ORDER = {
    "gpx": ["metadata", "wpt", "rte", "trk", "extensions"],
    "metadata": ["name", "desc", "author", "copyright", "link", "time", "keywords", "bounds", "extensions"],
    "wpt": WPT_ORDER,
    "trk": ["name", "cmt", "desc", "src", "link", "number", "type", "extensions", "trkseg"],
    "trkseg": ["trkpt", "extensions"],
    "trkpt": WPT_ORDER,
    "copyright": ["year", "license"],
    "link": ["text", "type"],
}
ONCE = {"metadata", "name", "desc", "cmt", "time", "keywords", "bounds", "copyright", "number", "type", "sym", "license", "text"}


def check_gpx_structure(el: ET.Element) -> None:
    tag = el.tag.removeprefix(NS)
    assert el.tag.startswith(NS), f"element {el.tag} outside the GPX 1.1 namespace"
    order = GPX_ORDER.get(tag)
    kids = [k.tag.removeprefix(NS) for k in el]
    if order is not None:
        pos = [order.index(k) for k in kids]  # ValueError: an element the schema does not allow here
        assert pos == sorted(pos), f"<{tag}> children out of schema order: {kids}"
        for k in set(kids) & ONCE:
            assert kids.count(k) == 1, f"<{tag}> has {k} more than once"
    else:
        assert not kids, f"<{tag}> should be a simple element, has {kids}"
    if tag in ("wpt", "trkpt"):
        assert -90 <= float(el.attrib["lat"]) <= 90 and -180 <= float(el.attrib["lon"]) < 180
        assert re.fullmatch(r"-?\d+\.\d+", el.attrib["lat"]) and re.fullmatch(r"-?\d+\.\d+", el.attrib["lon"])
    if tag == "number":
        assert el.text is not None and el.text.isdigit()
    for k in el:
        check_gpx_structure(k)


def test_gpx_schema_structure(tmp_path: Path, newport2024: Any, b2024: Any, subject: Leg | TourPlan) -> None:
    out = write(tmp_path, "gpx", newport2024, b2024, subject)
    root = ET.parse(out).getroot()
    assert root.tag == f"{NS}gpx" and root.attrib["version"] == "1.1" and root.attrib["creator"]
    check_gpx_structure(root)
    assert [t.findtext(f"{NS}number") for t in root.iter(f"{NS}trk")] == [str(i + 1) for i in range(len(routes_of(subject)))]


def test_gpx_generated_network_says_so(tmp_path: Path, newport2024: Any, b2024: Any, leg: Leg) -> None:
    net = dataclasses.replace(newport2024, meta={**newport2024.meta, "generated": True})
    text = exports.gpx_text(net, leg)
    root = ET.fromstring(text)
    assert "GENERATED" in (root.findtext(f"{NS}metadata/{NS}keywords") or "")
    assert "GENERATED" in (root.findtext(f"{NS}metadata/{NS}name") or "")
    assert "GENERATED" in exports.driver_sheet_html(net, leg)
    assert exports.geojson_dict(net, b2024, leg)["metadata"]["generated"] is True


# -- GeoJSON / GeoPackage ----------------------------------------------------------------------------

def check_layers(net: Any, obj: Leg | TourPlan, pieces: Any, stops: Any, seats: Any) -> None:
    routes = routes_of(obj)
    ledgers = ledgers_of(obj)
    assert len(pieces) == sum(len(r.pieces) for r in routes)
    length = pieces.to_crs("EPSG:27700").length
    for seq, route in enumerate(routes, start=1):
        sel = pieces["leg_seq"] == seq
        assert list(pieces.loc[sel, "piece"]) == list(route.pieces)
        assert float(length[sel].sum()) == pytest.approx(route.length_m, rel=0.005)
        assert float(pieces.loc[sel, "length_m"].sum()) == pytest.approx(route.length_m, abs=0.005 * len(route.pieces) + 1e-6)
    # Per day and seat: the pence on the (non-exempt) pieces is the ledger's.
    got: dict[tuple[int, str], set[int]] = defaultdict(set)
    for _, row in pieces.iterrows():
        if row["code"] is not None and not row["exempt"]:
            got[(int(row["day"]), row["code"])].add(int(row["charged_pence"]))
        else:
            assert int(row["charged_pence"]) == 0
    assert got, "no charged road at all?"
    for (day, code), pence in got.items():
        want = {r.code: r.pence for r in ledgers[day].rows}[code]
        assert pence == {want}, (day, code)
    # Polygons: every charged seat of every day, with its pence; totals equal the ledgers'.
    want_seats = {(day, r.code): r.pence for day, led in ledgers.items() for r in led.rows if r.pence > 0}
    have = {(int(r["day"]), r["code"]): int(r["pence"]) for _, r in seats.iterrows()}
    assert have == want_seats
    assert sum(have.values()) == sum(led.total_pence for led in ledgers.values())
    assert all(g is not None and not g.is_empty and g.geom_type in ("Polygon", "MultiPolygon") for g in seats.geometry)
    assert all(isinstance(r, str) and r for r in seats["reason"])
    assert list(stops["label"]) == stops_of(obj)
    assert all(isinstance(e, str) and e for e in stops["eta"])


def test_geojson_round_trip(tmp_path: Path, newport2024: Any, b2024: Any, subject: Leg | TourPlan) -> None:
    out = write(tmp_path, "geojson", newport2024, b2024, subject)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection" and "OpenStreetMap" in " ".join(data["metadata"]["attribution"])
    gdf = gpd.read_file(out, DATE_AS_STRING="YES")  # else GDAL turns "07:09" into a time
    layer = gdf["layer"]
    check_layers(newport2024, subject, gdf[layer == "piece"], gdf[layer == "stop"], gdf[layer == "constituency"])
    if isinstance(subject, TourPlan):
        assert (layer == "break").sum() == sum(len(d.hours.breaks) for d in subject.days)
        etas = gdf[layer == "stop"]["eta"].tolist()
        assert etas[:2] == ["07:00", "07:09"]  # README: depart Marshfield 07:00, photo call 07:09


def test_gpkg_round_trip(tmp_path: Path, newport2024: Any, b2024: Any, subject: Leg | TourPlan) -> None:
    net = newport2024
    out = write(tmp_path, "gpkg", net, b2024, subject)
    layers = {str(name): str(kind) for name, kind in pyogrio.list_layers(out)}
    assert layers == {"routes": "LineString", "pieces": "LineString", "stops": "Point", "breaks": "Point", "constituencies": "MultiPolygon"}
    read = {name: gpd.read_file(out, layer=name) for name in layers}
    assert all(str(g.crs) == "EPSG:4326" for g in read.values())
    check_layers(net, subject, read["pieces"], read["stops"], read["constituencies"])
    routes = read["routes"]
    for (_, row), route in zip(routes.iterrows(), routes_of(subject), strict=True):
        want = route.coords(net)
        got = list(row.geometry.coords)
        assert len(got) == len(want)
        assert max(max(abs(y - a), abs(x - b)) for (x, y), (a, b) in zip(got, want, strict=True)) <= 1e-7
        assert int(row["adds_pence"]) == route.cost_pence


# -- driver's sheet ----------------------------------------------------------------------------------

def visible(page: str) -> str:
    """The page's text as a reader sees it (tags dropped, entities decoded)."""
    import html

    page = re.sub(r"<style>.*?</style>", "", page, flags=re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_driver_sheet(tmp_path: Path, newport2024: Any, b2024: Any, subject: Leg | TourPlan) -> None:
    net = newport2024
    out = write(tmp_path, "driver-sheet", net, b2024, subject)
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    # Self-contained: no scripts, no external stylesheets, images or fonts.
    assert not re.search(r"<script|<link|<img|<iframe|src=|url\(|@import", page, flags=re.IGNORECASE)
    text = visible(page)
    for name in road_names(net, subject):
        assert name in text, name
    for led in ledgers_of(subject).values():
        for r in led.rows:
            assert r.name in text
    for label in stops_of(subject):
        assert label in text
    if isinstance(subject, TourPlan):
        for d in subject.days:
            for b in d.hours.breaks:
                assert b.where in text and b.kind in text
        assert "07:09" in text and "£922.00" in text
    # Consecutive pieces of one road are merged: one row per run of a road name.
    route = routes_of(subject)[0]
    names = [net.way_name[int(net.pieces.way[p])] for p in route.pieces]
    runs = [n for i, n in enumerate(names) if i == 0 or names[i - 1] != n]
    first_table = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = [r for r in first_table.split("</tr>") if "<tr>" in r]
    assert len(rows) == len(runs)
    assert "Newport West and Islwyn" in text


def test_road_break_is_placed_everywhere(newport2024: Any, b2024: Any, tour: TourPlan) -> None:
    """A break inserted on the road shows in the sheet's road table after its piece, as a GPX
    waypoint and a GeoJSON point at the end of that piece."""
    net = newport2024
    d = tour.days[0]
    leg0 = d.plan.best.legs[0]
    j = 5
    brk = Break(0, j, 0.0, 2700.0, "Test Lay-by (exempt motorway)", "exempt road", "full", 2700.0)
    hours = dataclasses.replace(d.hours, breaks=(brk, *d.hours.breaks))
    t2 = dataclasses.replace(tour, days=(dataclasses.replace(d, hours=hours), *tour.days[1:]))
    p, fw = leg0.pieces[j], leg0.forward[j]
    node = int(net.pieces.b[p] if fw else net.pieces.a[p])
    lat, lon = float(net.pieces.node_lat[node]), float(net.pieces.node_lon[node])
    root = ET.fromstring(exports.gpx_text(net, t2))
    wpts = [w for w in root.iter(f"{NS}wpt") if w.findtext(f"{NS}type") == "break"]
    assert len(wpts) == 1
    assert abs(float(wpts[0].attrib["lat"]) - lat) < 1e-7 and abs(float(wpts[0].attrib["lon"]) - lon) < 1e-7
    elapsed = sum(net.edge_time_s(q, f) for q, f in zip(leg0.pieces[: j + 1], leg0.forward[: j + 1], strict=True))
    gj = exports.geojson_dict(net, b2024, t2)
    pts = [f for f in gj["features"] if f["properties"]["layer"] == "break" and f["properties"]["kind"] == "exempt road"]
    assert len(pts) == 1 and pts[0]["properties"]["clock_s"] == pytest.approx(d.schedule[0].depart_s + elapsed, abs=1e-3)
    # Pieces after the break start 45 minutes later.
    after = [f for f in gj["features"] if f["properties"]["layer"] == "piece" and f["properties"]["leg_seq"] == 1]
    assert after[j + 1]["properties"]["clock_s"] == pytest.approx(d.schedule[0].depart_s + elapsed + 2700.0, abs=1e-3)
    page = exports.driver_sheet_html(net, t2)
    table = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = [visible(r) for r in table.split("</tr>") if "<tr" in r]
    at = next(i for i, r in enumerate(rows) if "BREAK 45 min" in r)
    assert "Test Lay-by" in rows[at]
    # The rows before it cover exactly the pieces up to j.
    km_before = float(re.findall(r"([\d.]+) km", rows[at - 1])[1])
    assert km_before == pytest.approx(sum(float(net.pieces.length_m[q]) for q in leg0.pieces[: j + 1]) / 1000, abs=0.006)


# -- hostile text ------------------------------------------------------------------------------------

def test_hostile_names_are_escaped(tmp_path: Path, newport2024: Any, b2024: Any, leg: Leg) -> None:
    route = leg.cheapest
    names = list(newport2024.way_name)
    for p in route.pieces[:3]:
        names[int(newport2024.pieces.way[p])] = HOSTILE
    net = dataclasses.replace(newport2024, way_name=names)
    evil = dataclasses.replace(leg, stops=(dataclasses.replace(leg.stops[0], label=HOSTILE), leg.stops[1]))
    clean = exports.clean_text(HOSTILE)
    assert "\x00" not in clean and "\x1b" not in clean and "<script>" in clean
    # GPX: well-formed XML, the names come back as written (minus what XML cannot hold).
    gpx_path = write(tmp_path / "g", "gpx", net, b2024, evil)
    text = gpx_path.read_text(encoding="utf-8")
    assert "<script>" not in text
    g = gpxpy.parse(text)
    assert g.waypoints[0].name == clean
    # GeoJSON: valid JSON, the road name intact.
    gj_path = write(tmp_path / "j", "geojson", net, b2024, evil)
    data = json.loads(gj_path.read_text(encoding="utf-8"))
    assert HOSTILE in {f["properties"].get("road") for f in data["features"]}
    assert HOSTILE in {f["properties"].get("label") for f in data["features"]}
    # GeoPackage: stored and read back.
    gp = write(tmp_path / "p", "gpkg", net, b2024, evil)
    assert (gpd.read_file(gp, layer="pieces")["road"] == clean).sum() == sum(names[int(net.pieces.way[p])] == HOSTILE for p in route.pieces) >= 3
    assert (gpd.read_file(gp, layer="stops")["label"] == clean).sum() == 1
    # Driver's sheet: no live markup from the names, the text visible as written.
    page = exports.driver_sheet_html(net, evil)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "\x00" not in page and "\x1b" not in page
    assert clean in visible(page)


# -- API ---------------------------------------------------------------------------------------------

def test_dispatch_and_targets(tmp_path: Path, newport2024: Any, b2024: Any, leg: Leg) -> None:
    with pytest.raises(UsageError, match="unknown export format"):
        exports.export("kml", tmp_path / "x.kml", newport2024, b2024, leg)
    assert not list(tmp_path.iterdir())
    assert exports.parse_export("gpx=out/a.gpx") == ("gpx", "out/a.gpx")
    assert exports.parse_export("Driver-Sheet=a=b.html") == ("driver-sheet", "a=b.html")
    assert exports.export_targets(["gpx=a.gpx", "geojson=b.geojson", "gpx=c.gpx"]) == [
        ("--export gpx #1", "gpx", "a.gpx"), ("--export geojson", "geojson", "b.geojson"), ("--export gpx #2", "gpx", "c.gpx")]
    for bad in ("gpx", "gpx=", "=a.gpx", "kml=a.kml"):
        with pytest.raises(UsageError):
            exports.parse_export(bad)
    with pytest.raises(UsageError):
        exports.export("gpx", tmp_path / "x.gpx", newport2024, b2024, object())  # type: ignore[arg-type]
    # An open text file is a target for the text formats; a GeoPackage needs a path.
    buf = io.StringIO()
    exports.write_gpx(buf, newport2024, None, leg)
    assert buf.getvalue() == exports.gpx_text(newport2024, leg)
    with pytest.raises(UsageError, match="file path"):
        exports.write_gpkg(io.StringIO(), newport2024, b2024, leg)  # type: ignore[arg-type]
    # Overwriting keeps the file's mode and leaves nothing else behind; output is deterministic.
    target = tmp_path / "route.geojson"
    target.write_text("old")
    target.chmod(0o640)
    exports.export("geojson", target, newport2024, b2024, leg)
    first = target.read_bytes()
    exports.export("geojson", target, newport2024, b2024, leg)
    assert target.read_bytes() == first and (target.stat().st_mode & 0o777) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["route.geojson"]
    # Without boundaries the seats are still listed, without polygons.
    data = exports.geojson_dict(newport2024, None, leg)
    seats = [f for f in data["features"] if f["properties"]["layer"] == "constituency"]
    assert seats and all(f["geometry"] is None for f in seats)


def test_failed_export_leaves_old_file(tmp_path: Path, newport2024: Any, b2024: Any, leg: Leg, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "route.gpkg"
    target.write_bytes(b"previous")

    def boom(*_a: Any, **_k: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(pyogrio, "write_dataframe", boom)
    with pytest.raises(OSError, match="disk full"):
        exports.export("gpkg", target, newport2024, b2024, leg)
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["route.gpkg"]


def test_eta_formats(leg: Leg, newport2024: Any) -> None:
    plan = exports.collect(newport2024, leg)
    assert plan.kind == "leg" and next(s.eta for s in plan.stops) == "start"
    assert plan.stops[1].eta.startswith("+") and math.isclose(plan.stops[1].elapsed_s, leg.cheapest.time_s)
