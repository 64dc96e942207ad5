"""Drivers' hours (routeplan.hours): break placement on synthetic day profiles, the weekly checks,
and break points on real (Newport, Rutland) and drawn networks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from datapaths import RUTLAND
from drawn import cell_box, write_osm

from routeplan.boundaries import from_polygons
from routeplan.errors import UsageError
from routeplan.hours import (
    DayHours,
    LegProfile,
    break_points,
    check_week,
    duration,
    hhmm,
    plan_breaks,
)
from routeplan.network import Network, assemble
from routeplan.osm import BREAK_PLACE_KINDS, read_osm
from routeplan.overlay import OverlayParams
from routeplan.policy import ExpensePolicy
from routeplan.vehicle import CLASS_CODES, CoachProfile

H = 3600.0
M = 60.0
START = 8 * H  # 08:00


def leg(minutes: list[float], ok: list[bool] | None = None, name: str = "A48") -> LegProfile:
    """A leg of pieces of the given minutes; every end allowed unless ``ok`` says otherwise."""
    flags = ok if ok is not None else [True] * len(minutes)
    return LegProfile(tuple(m * M for m in minutes), tuple(flags), tuple(f"{name} piece {i}" for i in range(len(minutes))))


# -- breaks in one day ----------------------------------------------------------------------------

def test_exactly_4h30_needs_no_break() -> None:
    plan = plan_breaks(START, [leg([30] * 9)], [0.0])
    assert plan.breaks == () and plan.violations == ()
    assert plan.arrive_s == (START + 4.5 * H,)


def test_break_at_the_last_allowed_point_before_the_limit() -> None:
    # Six 1 h pieces; a break may be taken after pieces 1, 3 and 5 (2 h, 4 h, 6 h of driving).
    ok = [False, True, False, True, False, True]
    plan = plan_breaks(START, [leg([60] * 6, ok)], [0.0])
    assert len(plan.breaks) == 1
    b = plan.breaks[0]
    assert (b.leg, b.after_piece, b.clock_s, b.duration_s) == (0, 3, START + 4 * H, 45 * M)
    assert (b.kind, b.role, b.where, b.added_s) == ("exempt road", "full", "A48 piece 3", 45 * M)
    assert plan.arrive_s == (START + 6 * H + 45 * M,)
    assert plan.violations == () and plan.added_s == 45 * M


def test_break_kind_comes_from_the_profile() -> None:
    prof = LegProfile((4 * H, 1 * H), (True, True), ("M4 services Magor", "A48"), ("services", "charged seat"))
    plan = plan_breaks(START, [prof], [0.0])
    assert [(b.after_piece, b.kind, b.where) for b in plan.breaks] == [(0, "services", "M4 services Magor")]


def test_nine_hours_need_one_break() -> None:
    # 9 h in 15-minute pieces, all allowed: one break after exactly 4h30, then 4h30 more.
    plan = plan_breaks(START, [leg([15] * 36)], [0.0])
    assert [b.clock_s - START for b in plan.breaks] == [4.5 * H]  # the second 4h30 ends the day
    assert plan.arrive_s == (START + 9 * H + 45 * M,)
    assert not plan.uses_extended_day and not plan.needs_second_driver


def test_no_break_point_before_the_limit_is_a_violation() -> None:
    plan = plan_breaks(START, [leg([60] * 6, [False] * 6)], [0.0])
    (b,) = plan.breaks
    assert (b.after_piece, b.kind, b.clock_s) == (3, "charged road", START + 4 * H)  # the latest piece end before the limit
    assert [v.kind for v in plan.violations] == ["break"]
    assert "break on a charged road may trigger a charge in A48 piece 3" in plan.violations[0].message


def test_break_point_only_after_the_limit_does_not_count() -> None:
    # The only allowed point is at 5 h: too late; the break goes at 4 h, on charged road.
    plan = plan_breaks(START, [leg([60] * 6, [False, False, False, False, True, True])], [0.0])
    assert [(b.after_piece, b.kind) for b in plan.breaks] == [(3, "charged road")]
    assert len(plan.violations) == 1


def test_one_piece_longer_than_the_limit() -> None:
    plan = plan_breaks(START, [leg([300, 30], [True, True])], [0.0])
    assert [(b.after_piece, b.clock_s) for b in plan.breaks] == [(0, START + 5 * H)]
    assert [v.kind for v in plan.violations] == ["break"]
    assert "exceeds the 4h30 limit" in plan.violations[0].message


def test_45_minute_dwell_resets_the_count() -> None:
    plan = plan_breaks(START, [leg([60] * 4), leg([60] * 4)], [45 * M, 0.0], stop_labels=["Newport", "Cardiff"])
    assert [(b.kind, b.role, b.added_s) for b in plan.breaks] == [("stop dwell", "full", 0.0)]
    assert plan.arrive_s == (START + 4 * H, START + 8 * H + 45 * M)
    assert plan.violations == ()


def test_split_break_15_then_30_at_stops() -> None:
    plan = plan_breaks(START, [leg([120]), leg([120]), leg([120])], [15 * M, 30 * M, 0.0])
    assert [(b.leg, b.kind, b.role) for b in plan.breaks] == [(0, "stop dwell", "split first part"), (1, "stop dwell", "split second part")]
    assert plan.added_s == 0.0 and plan.violations == ()
    assert plan.arrive_s[-1] == START + 6 * H + 45 * M


def test_split_break_must_be_15_then_30_not_30_then_15() -> None:
    # 30 then 15: the 30 is only a first part, the 15 completes nothing; the later stop's dwell is
    # extended to 30 minutes (the second part), 15 minutes added.
    plan = plan_breaks(START, [leg([120]), leg([120]), leg([120])], [30 * M, 15 * M, 0.0], stop_labels=["A", "B", "C"])
    first, second = plan.breaks
    assert (first.kind, first.role) == ("stop dwell", "split first part")
    assert (second.leg, second.kind, second.role, second.duration_s, second.added_s) == (1, "stop dwell extended", "split second part", 30 * M, 15 * M)
    assert "extended to 0h30" in second.where
    assert plan.arrive_s[-1] == START + 6 * H + 30 * M + 30 * M


def test_stop_with_a_first_part_is_extended_to_a_full_break() -> None:
    # 1 h, a 20-minute dwell (a first part), then 5 h: the stop is preferred and extended to 45
    # (it is itself the first part, so nothing before it to complete), then a road break.
    plan = plan_breaks(START, [leg([60]), leg([60] * 5)], [20 * M, 0.0])
    got = [(b.leg, b.after_piece, b.kind, b.role, b.duration_s, b.added_s) for b in plan.breaks]
    assert got == [(0, 0, "stop dwell extended", "full", 45 * M, 25 * M), (1, 3, "exempt road", "full", 45 * M, 45 * M)]


def test_dwells_then_a_road_break() -> None:
    prof = LegProfile((60 * M,) * 5, (True,) * 5, tuple("M4" for _ in range(5)))
    plan = plan_breaks(START, [leg([30]), leg([10]), prof], [15 * M, 50 * M, 0.0])
    got = [(b.leg, b.kind, b.role, b.duration_s) for b in plan.breaks]
    assert got == [(0, "stop dwell", "split first part", 15 * M), (1, "stop dwell", "full", 50 * M), (2, "exempt road", "full", 45 * M)]
    assert plan.breaks[2].after_piece == 3


def test_stop_is_preferred_and_a_short_dwell_is_extended() -> None:
    # 1 h to a 10-minute stop, then 4 h: 5 h in one period; the stop's dwell becomes 45 minutes.
    plan = plan_breaks(START, [leg([60]), leg([60] * 4)], [10 * M, 0.0], stop_labels=["Rally", "Hotel"])
    (b,) = plan.breaks
    assert (b.leg, b.kind, b.duration_s, b.added_s, b.clock_s) == (0, "stop dwell extended", 45 * M, 35 * M, START + 1 * H)
    assert b.where == "stop Rally (dwell 0h10 extended to 0h45 for the drivers' break)"
    assert plan.depart_s[0] == START + 1 * H + 45 * M
    assert plan.arrive_s[1] == START + 5 * H + 45 * M


@pytest.mark.parametrize(
    ("hours", "extended", "second"),
    [(9.0, False, False), (9.5, True, False), (10.0, True, False), (10.5, True, True)],
)
def test_daily_driving(hours: float, extended: bool, second: bool) -> None:
    plan = plan_breaks(6 * H, [leg([30] * int(hours * 2))], [0.0])
    assert plan.driving_s == hours * H
    assert plan.uses_extended_day is extended
    assert plan.needs_second_driver is second
    assert [v.kind for v in plan.violations] == (["daily driving"] if second else [])
    if second:
        assert "needs a second driver" in plan.violations[0].message


def test_window_missed_after_a_break() -> None:
    plan = plan_breaks(START, [leg([60] * 5)], [0.0], [START + 5 * H], stop_labels=["Town Hall"])
    assert plan.arrive_s == (START + 5 * H + 45 * M,)
    assert [(v.kind, v.message) for v in plan.violations] == [("window", "stop Town Hall: arrives 13:45 after breaks, window ends 13:00")]
    # Met without the break: no violation when the window allows it.
    assert plan_breaks(START, [leg([60] * 5)], [0.0], [START + 6 * H]).violations == ()
    assert plan_breaks(START, [leg([60] * 4)], [0.0], [START + 4 * H]).violations == ()


def test_bad_input() -> None:
    with pytest.raises(UsageError):
        plan_breaks(START, [leg([60])], [])
    with pytest.raises(UsageError):
        LegProfile((1.0, 2.0), (True,), ("x", "y"))
    with pytest.raises(UsageError):
        LegProfile((-1.0,), (True,), ("x",))


def test_clock_text() -> None:
    assert hhmm(9 * H + 52 * M) == "09:52"
    assert hhmm(25 * H + 10 * M) == "01:10 (+1 day)"
    assert duration(4.5 * H) == "4h30"


# -- the week -------------------------------------------------------------------------------------

MONDAY = dt.date(2024, 6, 3)


def days_with_rest(rest_h: float, n: int, *, drive_h: float = 8.0, spread_h: float = 12.0) -> list[DayHours]:
    """``n`` consecutive working days of ``spread_h`` hours, each followed by ``rest_h`` of rest."""
    out = []
    t = 6 * H
    for _ in range(n):
        date = MONDAY + dt.timedelta(days=int(t // (24 * H)))
        start = t - (date - MONDAY).days * 24 * H
        out.append(DayHours(drive_h * H, start, start + spread_h * H, date))
        t += (spread_h + rest_h) * H
    return out


def test_week_regular_rests_11h() -> None:
    assert check_week(days_with_rest(11, 5, spread_h=13)) == ()
    assert check_week(days_with_rest(12, 5)) == ()


def test_week_reduced_rests_10h() -> None:
    # Three reduced daily rests (10 h) between weekly rests are allowed, a fourth is not.
    assert check_week(days_with_rest(10, 4)) == ()  # the last day's rest is not known: assumed 12 h
    got = check_week(days_with_rest(10, 5))
    assert [v.kind for v in got] == ["reduced rests"]
    assert "fourth reduced daily rest" in got[0].message


def test_week_reduced_rests_count_restarts_after_a_weekly_rest() -> None:
    first = days_with_rest(10, 4)
    second = [DayHours(d.driving_s, d.start_s, d.end_s, d.date + dt.timedelta(days=7)) for d in days_with_rest(10, 4)]
    assert check_week([*first, *second]) == ()


def test_week_rest_8h_is_always_a_violation() -> None:
    got = check_week(days_with_rest(8, 2))
    assert [v.kind for v in got] == ["daily rest"]
    assert "shorter than 9h00" in got[0].message


def test_week_long_working_day_leaves_too_little_rest_in_24h() -> None:
    # A 16-hour working day: even a long rest afterwards is not 9 h within the 24 h (Art. 8(2)).
    got = check_week([DayHours(8 * H, 6 * H, 22 * H, MONDAY), DayHours(8 * H, 6 * H, 14 * H, MONDAY + dt.timedelta(days=2))])
    assert [v.kind for v in got] == ["daily rest"]
    # 14 hours: the rest inside the 24 h is 10 h, a reduced rest (allowed).
    assert check_week([DayHours(8 * H, 6 * H, 20 * H, MONDAY)]) == ()


@pytest.mark.parametrize(("n_long", "bad"), [(2, False), (3, True)])
def test_week_ten_hour_days(n_long: int, bad: bool) -> None:
    days = [DayHours((10 if i < n_long else 8) * H, 7 * H, 19 * H, MONDAY + dt.timedelta(days=i)) for i in range(5)]
    got = check_week(days)
    assert [v.kind for v in got] == (["extended days"] if bad else [])
    if bad:
        assert "3 days of more than 9 h driving" in got[0].message


def test_week_ten_hour_days_count_per_calendar_week() -> None:
    # Sat, Sun (week 1) and Mon (week 2): three 10 h days in a row, but two in each week.
    sat = MONDAY + dt.timedelta(days=5)
    days = [DayHours(10 * H, 7 * H, 19 * H, sat + dt.timedelta(days=i)) for i in range(3)]
    assert check_week(days) == ()


def test_week_more_than_10h_and_weekly_driving() -> None:
    got = check_week([DayHours(10.5 * H, 7 * H, 20 * H, MONDAY)])
    assert [v.kind for v in got] == ["daily driving"]
    six = [DayHours(10 * H if i < 2 else 9 * H, 7 * H, 19 * H, MONDAY + dt.timedelta(days=i)) for i in range(6)]
    assert check_week(six) == ()  # 56 h exactly
    seven = [*six, DayHours(1 * H, 7 * H, 8 * H, MONDAY + dt.timedelta(days=6))]
    kinds = [v.kind for v in check_week(seven)]
    assert "weekly driving" in kinds and "weekly rest" in kinds


def test_week_overlap_is_an_error() -> None:
    with pytest.raises(UsageError):
        check_week([DayHours(1 * H, 7 * H, 20 * H, MONDAY), DayHours(1 * H, -5 * H, 10 * H, MONDAY + dt.timedelta(days=1))])


def test_plan_feeds_the_week() -> None:
    plan = plan_breaks(START, [leg([60] * 5)], [30 * M])
    day = plan.day_hours(MONDAY)
    assert (day.driving_s, day.start_s, day.end_s) == (5 * H, START, START + 5 * H + 45 * M + 30 * M)


# -- break points on networks ---------------------------------------------------------------------

def test_newport_motorway_pieces_are_break_points(newport2024: Network) -> None:
    net = newport2024
    pc = net.pieces
    # Finding: the Newport extract has no highway=services or rest_area (checked with pyosmium).
    assert not [p for p in net.places if p.kind in BREAK_PLACE_KINDS]
    m4 = [int(p) for p in np.flatnonzero(net.piece_class == CLASS_CODES["motorway"]) if net.way_name[int(pc.way[p])].startswith("M4")]
    assert len(m4) >= 4
    prof = break_points(net, m4, [bool(pc.fwd[p]) for p in m4], set(), ExpensePolicy(), include_route_cells=False)
    assert all(prof.break_ok)
    assert set(prof.kinds or ()) == {"exempt road"}
    assert all(w.startswith("M4") and "exempt motorway" in w for w in prof.where)
    # With nothing exempt, the same pieces are charged road in a constituency not yet charged.
    prof = break_points(net, m4, [bool(pc.fwd[p]) for p in m4], set(), ExpensePolicy(exempt_classes=frozenset()), include_route_cells=False)
    assert not any(prof.break_ok)
    assert all("not charged today" in w for w in prof.where)


def test_newport_route_profile(newport2024: Network, b2024: Any) -> None:
    from routeplan.locate import resolve
    from routeplan.routing import plan_leg

    net = newport2024
    a, b = resolve("Duffryn", net, b2024), resolve("Stow Park", net, b2024)
    route = plan_leg(net, a, b).cheapest
    prof = break_points(net, route.pieces, route.forward, {a.cell, b.cell}, ExpensePolicy())
    assert sum(prof.piece_drive_s) == pytest.approx(route.time_s)
    # Every constituency the route drives on local road is charged today anyway: breaks are free.
    assert all(prof.break_ok)
    bare = break_points(net, route.pieces, route.forward, set(), ExpensePolicy(), include_route_cells=False)
    charged = {net.cell_names[int(net.pieces.cell[p])] for p in route.pieces}
    assert not all(bare.break_ok) and charged
    plan = plan_breaks(START, [prof], [0.0])
    assert plan.breaks == () and plan.violations == ()


def test_rutland_rest_area_is_read() -> None:
    roads = read_osm(RUTLAND, CoachProfile())
    (ra,) = [p for p in roads.places if p.kind in BREAK_PLACE_KINDS]
    assert (ra.name, ra.kind, ra.osm) == ("services", "highway=rest_area", "w619983274")  # unnamed in OSM
    assert ra.lat == pytest.approx(52.7328, abs=1e-3) and ra.lon == pytest.approx(-0.6007, abs=1e-3)


# A drawn line: a (0 km) - b (1 km) - c (2 km) - d (3 km) - e (4 km); local road a-c in
# Seat 0 / Seat 1 (boundary at 1.5 km), motorway c-e in Seat 1.  Named services 100 m from b,
# an unnamed rest area (a way) around a point 100 m from c.
LINE = "a" + " -" * 9 + " b" + " -" * 9 + " c" + " -" * 9 + " d" + " -" * 9 + " e"


def _drawn_network(tmp_path: Path) -> Network:
    path = tmp_path / "m.osm"
    nodes = write_osm(path, LINE, [
        ("ab", {"highway": "primary", "ref": "A1", "name": "Main Road"}),
        ("bc", {"highway": "primary", "ref": "A1", "name": "Main Road"}),
        ("cd", {"highway": "motorway", "ref": "M9", "oneway": "no"}),
        ("de", {"highway": "motorway", "ref": "M9", "oneway": "no"}),
    ])
    dlat = 100.0 / 111_320.0
    (blat, blon), (clat, clon) = nodes["b"], nodes["c"]
    extra = [
        f'<node id="1000" version="1" lat="{blat + dlat:.7f}" lon="{blon:.7f}"><tag k="highway" v="services"/><tag k="name" v="Magor Services"/></node>',
        *(f'<node id="{1001 + k}" version="1" lat="{clat - dlat + dy:.7f}" lon="{clon + dx:.7f}"/>'
          for k, (dy, dx) in enumerate([(-2e-4, -3e-4), (-2e-4, 3e-4), (2e-4, 3e-4), (2e-4, -3e-4)])),
        '<way id="1000" version="1"><nd ref="1001"/><nd ref="1002"/><nd ref="1003"/><nd ref="1004"/><nd ref="1001"/><tag k="highway" v="rest_area"/></way>',
    ]
    text = path.read_text(encoding="utf-8").replace("</osm>", "\n".join(extra) + "\n</osm>")
    path.write_text(text, encoding="utf-8")
    roads = read_osm(path, CoachProfile())
    got = {(p.name, p.kind, p.osm) for p in roads.places if p.kind in BREAK_PLACE_KINDS}
    assert got == {("Magor Services", "highway=services", "n1000"), ("services", "highway=rest_area", "w1000")}
    ra = next(p for p in roads.places if p.osm == "w1000")
    assert ra.lat == pytest.approx(clat - dlat, abs=1e-7) and ra.lon == pytest.approx(clon, abs=1e-7)  # centroid
    bnd = from_polygons("drawn", ["C0", "C1"], ["Seat 0", "Seat 1"], [cell_box(-1, -1, 15, 1), cell_box(15, -1, 45, 1)])
    return assemble(roads, bnd, profile=CoachProfile(), params=OverlayParams(), meta={})


def _route(net: Network) -> list[int]:
    """Pieces from a to e, in order."""
    pc = net.pieces
    cur = int(np.flatnonzero(pc.node_id == 1)[0])  # a
    end = int(np.flatnonzero(pc.node_id == 5)[0])  # e
    out: list[int] = []
    while cur != end:
        p = next(int(p) for p in np.flatnonzero(pc.a == cur) if int(p) not in out)
        out.append(p)
        cur = int(pc.b[p])
    return out


def test_drawn_services_make_break_points(tmp_path: Path) -> None:
    net = _drawn_network(tmp_path)
    route = _route(net)
    fw = [True] * len(route)
    prof = break_points(net, route, fw, set(), ExpensePolicy(), include_route_cells=False)
    assert list(prof.kinds or ()) == ["services", "charged road", "services", "exempt road", "exempt road"]
    assert prof.break_ok == (True, False, True, True, True)
    assert prof.where[0] == "A1 Main Road services Magor Services (Seat 0)"
    assert prof.where[1] == "A1 Main Road (Seat 0, not charged today)"
    assert prof.where[2] == "A1 Main Road services (Seat 1)"
    assert prof.where[3] == "M9 (exempt motorway, in Seat 1)"
    # Seat 0 already charged (a stop there): its road is a break point too.
    c0 = net.cell_codes.index("C0")
    prof = break_points(net, route, fw, {c0}, ExpensePolicy(), include_route_cells=False)
    assert prof.kinds is not None and prof.kinds[1] == "charged seat" and prof.where[1] == "A1 Main Road (Seat 0, already charged)"
    # By default the route's own local road charges its seat anyway.
    prof = break_points(net, route, fw, set(), ExpensePolicy())
    assert prof.where[1] == "A1 Main Road (Seat 0, charged by this route)" and all(prof.break_ok)
    # Farther than the radius, services do not count.
    prof = break_points(net, route, fw, set(), ExpensePolicy(), include_route_cells=False, radius_m=50.0)
    assert list(prof.kinds or ())[:3] == ["charged road", "charged road", "charged road"]
    assert sum(prof.piece_drive_s) == pytest.approx(sum(net.edge_time_s(p) for p in route))
