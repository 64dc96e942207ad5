"""Drivers' hours for the coach: where the breaks go, and whether a day or a week is legal.

The rules (GB-retained EU law)
------------------------------
Regulation (EC) No 561/2006 on driving times, breaks and rest periods, as retained in GB law
after 31 December 2020 (legislation.gov.uk/eur/2006/561; DVSA guide "Drivers' hours: GB
domestic and EU/AETR rules"; a campaign coach of more than eight passenger seats is in scope):

* **Art. 7, breaks.**  After a driving period of at most 4 h 30 the driver takes a break of at
  least 45 minutes.  It may be split into at least 15 minutes followed by at least 30 minutes,
  in that order, both within the driving period; only a completed break (45, or 15 then 30)
  starts a new driving period.
* **Art. 6(1), daily driving.**  At most 9 hours, extended to at most 10 hours not more than
  twice in the week (Art. 4(i): Monday 00:00 to Sunday 24:00).  Art. 6(2), 6(3): at most 56 hours
  in a week and 90 hours in two consecutive weeks.
* **Art. 8(1), 8(2), 8(4), daily rest.**  Within each 24 hours after the end of the previous
  daily or weekly rest a new daily rest of at least 11 hours (regular), which may be reduced to
  at least 9 hours at most three times between two weekly rests.  Art. 8(6): a weekly rest
  (at least 24 hours, reduced; 45 hours, regular) starts no later than six 24-hour periods after
  the end of the previous one.

What this module does
---------------------
* :func:`plan_breaks` places the Art. 7 breaks in one day of legs, on plain data
  (:class:`LegProfile`: each road piece's drive time, whether the coach may stop at the end of it
  without triggering a new charge, and a description).  Dwells at stops count as breaks (45
  minutes a full break; 15 then 30 a split break).  When continuous driving would pass 4 h 30 the
  break goes, in order of preference, at the **latest stop** in the driving period (its dwell
  extended to 45 minutes, or 30 when a 15-minute first part was already taken; reported as
  ``"stop dwell extended"``), else at the **last piece end where a break is allowed** before the
  limit, else at the last piece end before the limit, with a :class:`Violation` saying the break
  may trigger a charge there: never silently.  Breaks delay everything after them; stop windows
  missed because of them are reported.
* :func:`check_week` checks a sequence of days (:class:`DayHours`) against Art. 6 and Art. 8.
* :func:`break_points` derives a :class:`LegProfile` from a route on a real network: a piece end
  is a break point when the piece is on an exempt road class under the policy, when its
  constituency is already charged that day (or is charged by the route itself, which drives on
  its non-exempt road), or when OSM ``highway=services``/``highway=rest_area`` lies within 300 m
  of the piece's end.

Left out: split daily rest (3 h + 9 h), multi-manning (a second driver is only flagged),
interrupted rest on ferries and trains, the 12-day derogation for international occasional
services, other work and periods of availability (only driving, breaks and rest are modelled),
and the compensation rules for reduced weekly rests.  A break "on an exempt road" means at the
next place on that road where a coach may lawfully stop; the motorway hard shoulder is not one.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from routeplan.errors import UsageError
from routeplan.osm import BREAK_PLACE_KINDS
from routeplan.vehicle import CLASS_NAMES

if TYPE_CHECKING:
    from routeplan.network import Network
    from routeplan.policy import ExpensePolicy

HOUR = 3600.0
MINUTE = 60.0
MAX_DRIVING_PERIOD_S = 4.5 * HOUR  # Art. 7
FULL_BREAK_S = 45 * MINUTE  # Art. 7
SPLIT_FIRST_S = 15 * MINUTE  # Art. 7, second paragraph
SPLIT_SECOND_S = 30 * MINUTE
DAILY_DRIVING_S = 9 * HOUR  # Art. 6(1)
EXTENDED_DAILY_DRIVING_S = 10 * HOUR
MAX_EXTENDED_DAYS_PER_WEEK = 2
WEEKLY_DRIVING_S = 56 * HOUR  # Art. 6(2)
FORTNIGHT_DRIVING_S = 90 * HOUR  # Art. 6(3)
DAILY_REST_S = 11 * HOUR  # Art. 8(1)
REDUCED_DAILY_REST_S = 9 * HOUR  # Art. 8(4)
MAX_REDUCED_RESTS = 3
REDUCED_WEEKLY_REST_S = 24 * HOUR  # Art. 8(6): a gap this long is a (reduced) weekly rest
DAY_S = 24 * HOUR
MAX_BETWEEN_WEEKLY_RESTS_S = 6 * DAY_S  # Art. 8(6)
SERVICES_RADIUS_M = 300.0
_EPS = 1e-6

PointKind = Literal["services", "exempt road", "charged seat", "charged road"]
BreakKind = Literal["services", "exempt road", "charged seat", "charged road", "stop dwell extended", "stop dwell"]
Role = Literal["full", "split first part", "split second part"]


def hhmm(clock_s: float) -> str:
    """``"09:52"`` for a clock time in seconds after midnight (``"01:10 (+1 day)"`` past midnight)."""
    m = round(clock_s / MINUTE)
    days, m = divmod(m, 24 * 60)
    text = f"{m // 60:02d}:{m % 60:02d}"
    return text if days == 0 else f"{text} ({days:+d} day{'s' if abs(days) > 1 else ''})"


def duration(seconds: float) -> str:
    """``"4h30"`` for a duration in seconds."""
    m = round(seconds / MINUTE)
    return f"{m // 60}h{m % 60:02d}"


@dataclass(frozen=True)
class Violation:
    """A broken rule (or a break that may cost money), with a message a planner can act on.

    ``kind``: ``"break"``, ``"daily driving"``, ``"window"``, ``"daily rest"``,
    ``"reduced rests"``, ``"extended days"``, ``"weekly driving"``, ``"fortnight driving"``,
    ``"weekly rest"``.
    """

    kind: str
    message: str


@dataclass(frozen=True)
class LegProfile:
    """One leg as the driver sees it: per road piece, in driving order, the drive time, whether
    a break may be taken at the END of the piece without triggering a charge, and where that is.

    ``kinds`` says why a piece end is (or is not) a break point; when omitted, allowed points are
    ``"exempt road"`` and the others ``"charged road"``.
    """

    piece_drive_s: tuple[float, ...]
    break_ok: tuple[bool, ...]
    where: tuple[str, ...]
    kinds: tuple[PointKind, ...] | None = None

    def __post_init__(self) -> None:
        drive = tuple(float(t) for t in self.piece_drive_s)
        ok = tuple(bool(b) for b in self.break_ok)
        where = tuple(str(w) for w in self.where)
        if not len(drive) == len(ok) == len(where):
            msg = f"leg profile lengths differ: {len(drive)} drive times, {len(ok)} break flags, {len(where)} descriptions"
            raise UsageError(msg)
        if any(not math.isfinite(t) or t < 0 for t in drive):
            msg = "piece drive times must be finite and not negative"
            raise UsageError(msg)
        kinds: tuple[PointKind, ...]
        if self.kinds is None:
            kinds = tuple("exempt road" if b else "charged road" for b in ok)
        else:
            kinds = tuple(self.kinds)
            if len(kinds) != len(drive):
                msg = f"leg profile has {len(kinds)} kinds for {len(drive)} pieces"
                raise UsageError(msg)
        object.__setattr__(self, "piece_drive_s", drive)
        object.__setattr__(self, "break_ok", ok)
        object.__setattr__(self, "where", where)
        object.__setattr__(self, "kinds", kinds)

    @property
    def drive_s(self) -> float:
        return float(sum(self.piece_drive_s))

    def kind(self, j: int) -> PointKind:
        assert self.kinds is not None  # set in __post_init__
        return self.kinds[j]


@dataclass(frozen=True)
class Break:
    """A break in the day: inserted on the road, or a stop's dwell that counts as one.

    ``after_piece`` is the index (in the leg) of the piece the break follows; a stop's dwell
    follows the leg's last piece.  ``clock_s`` is when the break starts; ``added_s`` is how much
    it delays the rest of the day (the whole break when inserted, the extension at a stop).
    """

    leg: int
    after_piece: int
    clock_s: float
    duration_s: float
    where: str
    kind: BreakKind
    role: Role
    added_s: float


@dataclass(frozen=True)
class HoursPlan:
    """One day's driving with its breaks (see :func:`plan_breaks`)."""

    start_s: float
    breaks: tuple[Break, ...]
    driving_s: float
    arrive_s: tuple[float, ...]  # at the stop ending each leg, with the breaks
    depart_s: tuple[float, ...]  # from the stop ending each leg (after its dwell, extended or not)
    end_driving_s: float  # arrival at the last stop
    end_s: float  # after the last stop's dwell
    violations: tuple[Violation, ...]
    needs_second_driver: bool
    uses_extended_day: bool
    added_s: float = field(default=0.0)  # total delay the breaks add to the day

    def day_hours(self, date: dt.date) -> DayHours:
        """This day for :func:`check_week` (working day from ``start_s`` to ``end_s``)."""
        return DayHours(driving_s=self.driving_s, start_s=self.start_s, end_s=self.end_s, date=date)


@dataclass(frozen=True)
class DayHours:
    """One working day for the weekly checks: driving total, start and end of the working day
    in seconds after midnight of ``date`` (``end_s`` may pass 86400), and the date."""

    driving_s: float
    start_s: float
    end_s: float
    date: dt.date

    @property
    def abs_start_s(self) -> float:
        return self.date.toordinal() * DAY_S + self.start_s

    @property
    def abs_end_s(self) -> float:
        return self.date.toordinal() * DAY_S + self.end_s


# -- one day: the breaks --------------------------------------------------------------------------

@dataclass
class _Period:
    """The Art. 7 state: driving since the last completed break, and a split's first part."""

    driven_s: float = 0.0
    split_first: bool = False

    def take(self, dur: float) -> Role | None:
        """Apply a break of ``dur`` seconds; its role, or None when it does not count."""
        if dur >= FULL_BREAK_S - _EPS:
            self.driven_s, self.split_first = 0.0, False
            return "full"
        if self.split_first and dur >= SPLIT_SECOND_S - _EPS:
            self.driven_s, self.split_first = 0.0, False
            return "split second part"
        if dur >= SPLIT_FIRST_S - _EPS and not self.split_first:
            self.split_first = True
            return "split first part"
        return None


@dataclass(frozen=True)
class _Point:
    stop: bool
    leg: int
    piece: int
    split_first: bool  # a first part was taken earlier in the period


@dataclass
class _Decisions:
    inserted: dict[tuple[int, int], float] = field(default_factory=dict)  # (leg, piece) -> duration
    extended: dict[int, float] = field(default_factory=dict)  # leg -> dwell at its end stop
    forced: set[tuple[int, int]] = field(default_factory=set)  # inserted where a break may charge
    overlong: set[tuple[int, int]] = field(default_factory=set)  # one piece longer than 4h30


def _first_overflow(legs: Sequence[LegProfile], dwell: Sequence[float], d: _Decisions) -> tuple[tuple[int, int], list[_Point]] | None:
    """Drive the day with the decisions so far; the first piece that would pass 4 h 30 and the
    break points of its driving period, or None when the day complies."""
    st = _Period()
    points: list[_Point] = []
    last = len(legs) - 1
    for i, leg in enumerate(legs):
        for j, t in enumerate(leg.piece_drive_s):
            if st.driven_s + t > MAX_DRIVING_PERIOD_S + _EPS and (i, j) not in d.overlong:
                return (i, j), points
            st.driven_s += t
            points.append(_Point(stop=False, leg=i, piece=j, split_first=st.split_first))
            if (i, j) in d.inserted and st.take(d.inserted[i, j]) in ("full", "split second part"):
                points = []
        if i < last:
            points.append(_Point(stop=True, leg=i, piece=len(leg.piece_drive_s) - 1, split_first=st.split_first))
            if st.take(d.extended.get(i, dwell[i])) in ("full", "split second part"):
                points = []
    return None


def _decide(legs: Sequence[LegProfile], dwell: Sequence[float]) -> _Decisions:
    d = _Decisions()
    n_pieces = sum(len(leg.piece_drive_s) for leg in legs)
    for _ in range(4 * n_pieces + 4):  # each decision moves the period start forward
        got = _first_overflow(legs, dwell, d)
        if got is None:
            return d
        (i, j), points = got
        stops = [p for p in points if p.stop]
        ok = [p for p in points if not p.stop and legs[p.leg].break_ok[p.piece]]
        if stops:
            p = stops[-1]
            d.extended[p.leg] = SPLIT_SECOND_S if p.split_first else FULL_BREAK_S
        elif ok:
            p = ok[-1]
            d.inserted[p.leg, p.piece] = SPLIT_SECOND_S if p.split_first else FULL_BREAK_S
        elif points:
            p = points[-1]
            d.inserted[p.leg, p.piece] = SPLIT_SECOND_S if p.split_first else FULL_BREAK_S
            d.forced.add((p.leg, p.piece))
        else:  # this piece alone is longer than the limit: the break can only follow it
            d.overlong.add((i, j))
            d.inserted[i, j] = FULL_BREAK_S
            if not legs[i].break_ok[j]:
                d.forced.add((i, j))
    msg = "drivers' hours: break placement did not converge"  # unreachable: a bug
    raise RuntimeError(msg)


def plan_breaks(
    start_s: float,
    legs: Sequence[LegProfile],
    dwell_s: Sequence[float],
    windows_latest_s: Sequence[float | None] | None = None,
    *,
    stop_labels: Sequence[str] | None = None,
) -> HoursPlan:
    """Place the Art. 7 breaks in one day and check the day's driving (Art. 6(1)).

    Parameters
    ----------
    start_s
        Departure from the first stop, seconds after midnight.
    legs
        The day's legs in order (:func:`break_points` makes one from a route).
    dwell_s
        Dwell at the stop that ends each leg (``len(legs)`` values): a dwell of 45 minutes is a
        full break; 15 minutes is the first part of a split break, which a later 30 completes.
    windows_latest_s
        Latest arrival at the stop that ends each leg, or None for no window.
    stop_labels
        Names of the stops ending each leg, for messages (default ``"stop 1"``, ...).

    Returns
    -------
    HoursPlan
        Breaks in day order (inserted ones and the dwells that count), arrival times shifted by
        the breaks, the violations, and the daily flags.

    Raises
    ------
    UsageError
        Sequences of the wrong length, or times that are not finite and non-negative.
    """
    n = len(legs)
    dwell = [float(x) for x in dwell_s]
    windows = list(windows_latest_s) if windows_latest_s is not None else [None] * n
    labels = list(stop_labels) if stop_labels is not None else [f"stop {i + 1}" for i in range(n)]
    if len(dwell) != n or len(windows) != n or len(labels) != n:
        msg = f"{n} legs need {n} dwell times, windows and labels (one per stop ending a leg); got {len(dwell)}, {len(windows)}, {len(labels)}"
        raise UsageError(msg)
    if not math.isfinite(start_s) or any(not math.isfinite(x) or x < 0 for x in dwell):
        msg = "start and dwell times must be finite (dwell times not negative)"
        raise UsageError(msg)
    d = _decide(legs, dwell)

    violations: list[Violation] = []
    breaks: list[Break] = []
    arrive: list[float] = []
    depart: list[float] = []
    st = _Period()
    clock = float(start_s)
    added = 0.0
    for i, leg in enumerate(legs):
        for j, t in enumerate(leg.piece_drive_s):
            clock += t
            st.driven_s += t
            dur = d.inserted.get((i, j))
            if dur is None:
                continue
            where = leg.where[j]
            if (i, j) in d.overlong:
                violations.append(Violation("break", f"{duration(t)} of driving on one road piece ({where}) exceeds the {duration(MAX_DRIVING_PERIOD_S)} limit (Art. 7): no point to stop before its end"))
            kind: BreakKind = leg.kind(j)
            if (i, j) in d.forced:
                kind = "charged road"
                violations.append(Violation("break", f"break on a charged road may trigger a charge in {where} (no break point before {duration(MAX_DRIVING_PERIOD_S)} of driving)"))
            role = st.take(dur) or "full"
            breaks.append(Break(i, j, clock, dur, where, kind, role, dur))
            clock += dur
            added += dur
        arrive.append(clock)
        win = windows[i]
        if win is not None and clock > float(win) + _EPS:
            why = " after breaks" if added > 0 else ""
            violations.append(Violation("window", f"stop {labels[i]}: arrives {hhmm(clock)}{why}, window ends {hhmm(float(win))}"))
        stay = d.extended.get(i, dwell[i])
        if i < n - 1:
            role_or_none = st.take(stay)
            if role_or_none is not None:
                ext = stay - dwell[i]
                where = f"stop {labels[i]}"
                if ext > 0:
                    where += f" (dwell {duration(dwell[i])} extended to {duration(stay)} for the drivers' break)"
                breaks.append(Break(i, len(leg.piece_drive_s) - 1, clock, stay, where, "stop dwell extended" if ext > 0 else "stop dwell", role_or_none, max(ext, 0.0)))
                added += max(ext, 0.0)
        clock += stay
        depart.append(clock)
    driving = float(sum(leg.drive_s for leg in legs))
    second = driving > EXTENDED_DAILY_DRIVING_S + _EPS
    if second:
        violations.append(Violation("daily driving", f"daily driving {duration(driving)} exceeds {duration(EXTENDED_DAILY_DRIVING_S)} (Art. 6(1)): needs a second driver"))
    return HoursPlan(
        start_s=float(start_s),
        breaks=tuple(breaks),
        driving_s=driving,
        arrive_s=tuple(arrive),
        depart_s=tuple(depart),
        end_driving_s=arrive[-1] if arrive else float(start_s),
        end_s=clock,
        violations=tuple(violations),
        needs_second_driver=second,
        uses_extended_day=driving > DAILY_DRIVING_S + _EPS,
        added_s=added,
    )


# -- the week -------------------------------------------------------------------------------------

def _day_label(day: DayHours) -> str:
    return f"{day.date.isoformat()} ({day.date.strftime('%a')})"


def check_week(days: Sequence[DayHours]) -> tuple[Violation, ...]:
    """Check working days against Art. 6 (daily, weekly, fortnightly driving) and Art. 8 (rests).

    A gap of 24 hours or more between days is taken as a weekly rest.  The daily rest after a day
    is the part of the following gap inside the 24 hours from the day's start (Art. 8(2)); for the
    last day the rest is assumed to follow at once.  Rests of 9 to 11 hours are reduced, at most
    three between weekly rests (Art. 8(4)); days of more than 9 hours' driving are extended, at most
    two in a week, Monday to Sunday (Art. 6(1), Art. 4(i)).

    Raises
    ------
    UsageError
        A day that ends before it starts, or days that overlap.
    """
    ds = sorted(days, key=lambda x: x.abs_start_s)
    for x in ds:
        if not all(math.isfinite(v) for v in (x.driving_s, x.start_s, x.end_s)) or x.end_s < x.start_s or x.driving_s < 0:
            msg = f"day {_day_label(x)}: needs finite times, an end after the start and driving not negative"
            raise UsageError(msg)
    for a, b in itertools.pairwise(ds):
        if b.abs_start_s < a.abs_end_s - _EPS:
            msg = f"days {_day_label(a)} and {_day_label(b)} overlap"
            raise UsageError(msg)
    out: list[Violation] = []
    reduced_in_segment: list[DayHours] = []
    segment_start = ds[0].abs_start_s if ds else 0.0
    for k, day in enumerate(ds):
        if day.driving_s > EXTENDED_DAILY_DRIVING_S + _EPS:
            out.append(Violation("daily driving", f"{_day_label(day)}: driving {duration(day.driving_s)} exceeds {duration(EXTENDED_DAILY_DRIVING_S)} (Art. 6(1)): needs a second driver"))
        nxt = ds[k + 1] if k + 1 < len(ds) else None
        gap = (nxt.abs_start_s - day.abs_end_s) if nxt is not None else math.inf
        window = day.abs_start_s + DAY_S - day.abs_end_s  # rest that fits in the 24 h period
        rest = min(gap, window)
        if day.abs_end_s - segment_start > MAX_BETWEEN_WEEKLY_RESTS_S + _EPS:
            out.append(Violation("weekly rest", f"{_day_label(day)}: ends more than six 24-hour periods after the last weekly rest (Art. 8(6))"))
        if rest < REDUCED_DAILY_REST_S - _EPS:
            why = (f"rest {duration(max(gap, 0.0))} before the next day starts" if gap <= window
                   else f"a working day of {duration(day.abs_end_s - day.abs_start_s)} leaves only {duration(max(window, 0.0))} of the 24 hours")
            out.append(Violation("daily rest", f"{_day_label(day)}: daily rest shorter than {duration(REDUCED_DAILY_REST_S)} ({why}; Art. 8(2), 8(4))"))
        elif rest < DAILY_REST_S - _EPS:
            reduced_in_segment.append(day)
            if len(reduced_in_segment) == MAX_REDUCED_RESTS + 1:
                out.append(Violation("reduced rests", f"{_day_label(day)}: a fourth reduced daily rest (9 to 11 h) between weekly rests (at most {MAX_REDUCED_RESTS}, Art. 8(4))"))
            elif len(reduced_in_segment) > MAX_REDUCED_RESTS + 1:
                out.append(Violation("reduced rests", f"{_day_label(day)}: reduced daily rest number {len(reduced_in_segment)} between weekly rests (at most {MAX_REDUCED_RESTS}, Art. 8(4))"))
        if gap >= REDUCED_WEEKLY_REST_S - _EPS and nxt is not None:
            reduced_in_segment = []
            segment_start = nxt.abs_start_s
    weeks: dict[tuple[int, int], list[DayHours]] = {}
    for day in ds:
        iso = day.date.isocalendar()
        weeks.setdefault((iso[0], iso[1]), []).append(day)
    for (year, week), wd in sorted(weeks.items()):
        ext = [x for x in wd if x.driving_s > DAILY_DRIVING_S + _EPS]
        if len(ext) > MAX_EXTENDED_DAYS_PER_WEEK:
            out.append(Violation("extended days", f"week {year}-W{week:02d}: {len(ext)} days of more than 9 h driving ({', '.join(_day_label(x) for x in ext)}); at most {MAX_EXTENDED_DAYS_PER_WEEK} (Art. 6(1))"))
        total = sum(x.driving_s for x in wd)
        if total > WEEKLY_DRIVING_S + _EPS:
            out.append(Violation("weekly driving", f"week {year}-W{week:02d}: driving {duration(total)} exceeds {duration(WEEKLY_DRIVING_S)} (Art. 6(2))"))
    for (y, w), wd in sorted(weeks.items()):
        monday = dt.date.fromisocalendar(y, w, 1)
        prev = (monday - dt.timedelta(days=7)).isocalendar()
        pd = weeks.get((prev[0], prev[1]))
        if pd is not None:
            total = sum(x.driving_s for x in pd) + sum(x.driving_s for x in wd)
            if total > FORTNIGHT_DRIVING_S + _EPS:
                out.append(Violation("fortnight driving", f"weeks {prev[0]}-W{prev[1]:02d} and {y}-W{w:02d}: driving {duration(total)} exceeds {duration(FORTNIGHT_DRIVING_S)} (Art. 6(3))"))
    return tuple(out)


# -- from a route on a real network ---------------------------------------------------------------

def break_points(
    net: Network,
    route_pieces: Sequence[int],
    forward: Sequence[bool],
    charged_cells: set[int],
    policy: ExpensePolicy,
    *,
    include_route_cells: bool = True,
    radius_m: float = SERVICES_RADIUS_M,
) -> LegProfile:
    """The :class:`LegProfile` of a route (``Route.pieces`` and ``Route.forward``).

    A piece end is a break point, by preference: ``"services"`` when an OSM ``highway=services``
    or ``highway=rest_area`` lies within ``radius_m`` of the piece's end node; ``"exempt road"``
    when the piece's road class is exempt under ``policy``; ``"charged seat"`` when its
    constituency is in ``charged_cells`` (cell indexes charged today: earlier legs, stops) or,
    with ``include_route_cells``, when the route itself drives non-exempt road in it (the day is
    charged there anyway).  Drive times are :meth:`Network.edge_time_s`, as the router counts them.
    """
    from scipy.spatial import cKDTree

    from routeplan.boundaries import to_bng

    if len(route_pieces) != len(forward):
        msg = f"{len(route_pieces)} pieces but {len(forward)} directions"
        raise UsageError(msg)
    pc = net.pieces
    exempt = policy.exempt_mask()
    classes = net.piece_class
    charged = set(charged_cells)
    own: set[int] = set()
    if include_route_cells:
        own = {int(pc.cell[p]) for p in route_pieces if int(pc.cell[p]) >= 0 and not exempt[int(classes[p])]} - charged
    services = [p for p in net.places if p.kind in BREAK_PLACE_KINDS]
    tree = None
    if services:
        sx, sy = to_bng([p.lon for p in services], [p.lat for p in services])
        tree = cKDTree(np.column_stack([sx, sy]))
    drive: list[float] = []
    ok: list[bool] = []
    where: list[str] = []
    kinds: list[PointKind] = []
    for p, fw in zip(route_pieces, forward, strict=True):
        p = int(p)
        end = int(pc.b[p] if fw else pc.a[p])
        road = net.way_name[int(pc.way[p])]
        cell = int(pc.cell[p])
        seat = net.cell_names[cell] if cell >= 0 else "outside every constituency"
        drive.append(net.edge_time_s(p, bool(fw)))
        svc = None
        if tree is not None:
            dist, idx = tree.query(net.node_xy[end], distance_upper_bound=radius_m)
            if math.isfinite(float(dist)):
                svc = services[int(idx)]
        kind: PointKind
        if svc is not None:
            label = "services" if svc.name == "services" else f"services {svc.name}"
            kind, text = "services", f"{road} {label} ({seat})"
        elif exempt[int(classes[p])]:
            kind, text = "exempt road", f"{road} (exempt {CLASS_NAMES[int(classes[p])]}, in {seat})"
        elif cell in charged:
            kind, text = "charged seat", f"{road} ({seat}, already charged)"
        elif cell in own:
            kind, text = "charged seat", f"{road} ({seat}, charged by this route)"
        else:
            kind, text = "charged road", f"{road} ({seat}, not charged today)" if cell >= 0 else f"{road} ({seat})"
        ok.append(kind != "charged road")
        where.append(text)
        kinds.append(kind)
    return LegProfile(tuple(drive), tuple(ok), tuple(where), tuple(kinds))


__all__ = [
    "Break",
    "BreakKind",
    "DayHours",
    "HoursPlan",
    "LegProfile",
    "Violation",
    "break_points",
    "check_week",
    "duration",
    "hhmm",
    "plan_breaks",
]
