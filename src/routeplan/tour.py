"""Plan a tour: the days of an itinerary, each planned whole, chained through their overnights.

This is the layer the CLI's ``routeplan plan`` and notebooks call.  It only orchestrates plain
pieces that each do one job:

* :mod:`routeplan.itinerary` reads the file (places stay text);
* :mod:`routeplan.locate` resolves every place with the one resolver used everywhere;
* :mod:`routeplan.order` chooses the order of the free stops (``optimise_order``);
* :mod:`routeplan.day` plans each day exactly within its windows, beside two baselines;
* :mod:`routeplan.hours` places the drivers' breaks and checks daily and weekly limits.

Each day's charged set starts empty (plus that day's ``already_charged``): a seat paid on Monday
is paid again if it is entered on Tuesday, and the ledger says so, day by day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from routeplan.boundaries import Boundaries
from routeplan.day import DayPlan, DayRoute, plan_day
from routeplan.errors import RouteplanError
from routeplan.hours import HoursPlan, Violation, break_points, check_week, plan_breaks
from routeplan.itinerary import DaySpec, Itinerary
from routeplan.locate import Stop, resolve
from routeplan.network import Network
from routeplan.order import OrderResult, optimise_order
from routeplan.policy import ExpensePolicy
from routeplan.schedule import Visit, Window, timetable

PLAN_KINDS = ("best", "fastest", "leg_by_leg")
PLAN_TITLES = {"best": "planned whole", "fastest": "fastest legs", "leg_by_leg": "leg by leg"}


@dataclass(frozen=True)
class TourDay:
    """One day of the tour as planned: its stops in driven order, the plan, breaks and limits."""

    spec: DaySpec
    date: dt.date | None
    stops: tuple[Stop, ...]  # start, stops in the chosen order, overnight (if any)
    dwell_s: tuple[float, ...]
    windows: tuple[Window | None, ...]
    policy: ExpensePolicy
    plan: DayPlan
    order: OrderResult | None
    hours: HoursPlan
    schedule: tuple[Visit, ...]  # the best plan's timetable with the drivers' breaks in it

    @property
    def number(self) -> int:
        return self.spec.number

    def route(self, kind: str) -> DayRoute:
        return {"best": self.plan.best, "fastest": self.plan.fastest, "leg_by_leg": self.plan.leg_by_leg}[kind]


@dataclass(frozen=True)
class TourPlan:
    """Every day of the tour, and the week's drivers' hours."""

    name: str
    source: str
    days: tuple[TourDay, ...]
    week: tuple[Violation, ...]
    generated: bool
    meta: dict[str, Any] = field(default_factory=dict)

    def total_pence(self, kind: str = "best") -> int:
        return sum(d.route(kind).cost_pence for d in self.days)

    def drive_s(self, kind: str = "best") -> float:
        return float(sum(d.route(kind).time_s for d in self.days))

    @property
    def violations(self) -> tuple[Violation, ...]:
        return tuple(v for d in self.days for v in d.hours.violations) + self.week

    def as_dict(self, net: Network) -> dict[str, Any]:
        """Plain data for ``--json`` (finite numbers only)."""
        return {
            "tour": self.name,
            "source": self.source,
            "generated": self.generated,
            "totals_pence": {k: self.total_pence(k) for k in PLAN_KINDS},
            "saving_vs_leg_by_leg_pence": self.total_pence("leg_by_leg") - self.total_pence("best"),
            "saving_vs_fastest_pence": self.total_pence("fastest") - self.total_pence("best"),
            "days": [_day_dict(d, net) for d in self.days],
            "week_violations": [_violation_dict(v) for v in self.week],
            **self.meta,
        }


def _violation_dict(v: Violation) -> dict[str, Any]:
    return {"kind": v.kind, "message": v.message}


def _day_dict(d: TourDay, net: Network) -> dict[str, Any]:
    out = d.plan.as_dict(net)
    out["date"] = d.date.isoformat() if d.date else None
    out["stops"] = [
        {"label": s.label, "lat": s.lat, "lon": s.lon, "source": s.source,
         "constituency": net.cell_codes[s.cell] if s.cell >= 0 else None, "dwell_s": dw,
         "earliest_s": w.earliest_s if w else None, "latest_s": w.latest_s if w else None}
        for s, dw, w in zip(d.stops, d.dwell_s, d.windows, strict=True)
    ]
    for kind in PLAN_KINDS:
        out[kind]["visits"] = [v.__dict__ for v in d.route(kind).visits]
    out["schedule"] = [v.__dict__ for v in d.schedule]
    out["order"] = None if d.order is None else {
        "optimal": d.order.optimal, "cost_pence": d.order.cost_pence, "lower_bound_pence": d.order.lower_bound_pence,
        "explored": d.order.explored, "matrix_s": d.order.matrix_s, "search_s": d.order.search_s,
    }
    h = d.hours
    out["hours"] = {
        "driving_s": h.driving_s, "needs_second_driver": h.needs_second_driver, "uses_extended_day": h.uses_extended_day,
        "breaks": [b.__dict__ for b in h.breaks], "violations": [_violation_dict(v) for v in h.violations],
    }
    return out


def day_policy(base: ExpensePolicy, spec: DaySpec, source: str) -> ExpensePolicy:
    """The tour's policy with this day's overrides (a conflict with the tour's is an error)."""
    if not spec.overrides:
        return base
    return ExpensePolicy.from_mapping({"overrides": spec.overrides}, base=base, source=f"{source} day {spec.number}")


def _day_stops(net: Network, bnd: Boundaries, spec: DaySpec, max_snap_m: float) -> tuple[
    list[Stop], list[float], list[Window | None], list[bool]
]:
    """Resolve the day's places: start, stops, overnight; with dwell, windows and fixed flags."""

    def where(text: str, what: str) -> Stop:
        try:
            return resolve(text, net, bnd, max_snap_m=max_snap_m)
        except RouteplanError as exc:
            # Say which day and stop a planner must fix; keep the error's type and exit code.
            exc.args = (f"day {spec.number}, {what}: {exc}",)
            raise

    stops = [where(spec.start, "start")]
    dwell: list[float] = [0.0]
    windows: list[Window | None] = [None]
    fixed = [True]
    for i, s in enumerate(spec.stops, start=1):
        st = where(s.place, f"stop {i}")
        stops.append(Stop(s.label, st.lat, st.lon, st.node, st.snap_m, st.source, st.cell, st.cell_how))
        dwell.append(s.dwell_s)
        windows.append(Window(s.earliest_s, s.latest_s) if s.earliest_s is not None or s.latest_s is not None else None)
        fixed.append(s.fixed)
    if spec.overnight is not None:
        stops.append(where(spec.overnight, "overnight"))
        dwell.append(0.0)
        windows.append(Window(None, spec.overnight_latest_s) if spec.overnight_latest_s is not None else None)
        fixed.append(True)
    return stops, dwell, windows, fixed


def plan_tour(
    net: Network,
    boundaries: Boundaries,
    itinerary: Itinerary,
    policy: ExpensePolicy | None = None,
    *,
    optimise: bool = False,
    engine: str = "fast",
    max_snap_m: float = 750.0,
    order_budget_s: float = 60.0,
    progress: Callable[[str], None] | None = None,
) -> TourPlan:
    """Plan every day of ``itinerary`` on ``net``.

    ``policy`` is the tour's policy (the CLI merges the itinerary's ``[tour.policy]`` with its
    flags); each day adds its own overrides and ``already_charged``.  With ``optimise`` the stops
    not marked ``fixed`` are reordered (exactly up to the order module's limit; above it the
    result says it is not proven optimal).
    """
    policy = policy or ExpensePolicy()
    say = progress or (lambda _msg: None)
    days: list[TourDay] = []
    for spec in itinerary.days:
        say(f"day {spec.number}: resolving places")
        pol = day_policy(policy, spec, itinerary.source)
        stops, dwell, windows, fixed = _day_stops(net, boundaries, spec, max_snap_m)
        order = None
        if optimise and not all(fixed):
            say(f"day {spec.number}: ordering {sum(not f for f in fixed)} free stops")
            order = optimise_order(
                net, stops, fixed, pol, already_charged=spec.already_charged, start_s=spec.start_s,
                windows=[(w.earliest_s, w.latest_s) if w is not None else None for w in windows], dwell_s=dwell,
                time_budget_s=order_budget_s,
            )
            idx = list(order.order)
            stops, dwell, windows = [stops[i] for i in idx], [dwell[i] for i in idx], [windows[i] for i in idx]
        say(f"day {spec.number}: planning {len(stops) - 1} legs")
        plan = plan_day(
            net, stops, pol, already_charged=spec.already_charged, day=spec.number, engine=engine,  # type: ignore[arg-type]
            start_s=spec.start_s, windows=windows if any(w is not None for w in windows) else None, dwell_s=dwell,
        )
        # Seats the day pays anyway (or that are free): a break there triggers no new charge.
        index = {code: i for i, code in enumerate(net.cell_codes)}
        charged = {index[ch.code] for ch in plan.best.charges if ch.pence > 0 or ch.charged_by}
        profiles = [break_points(net, leg.pieces, leg.forward, charged, pol) for leg in plan.best.legs]
        latest = [w.latest_s if w is not None else None for w in windows]
        # Waiting for a window to open is time off the wheel too: it counts towards breaks.
        at_stop = [v.wait_s + v.dwell_s for v in plan.best.visits]
        hours = plan_breaks(spec.start_s, profiles, at_stop[1:], latest[1:], stop_labels=[s.label for s in stops[1:]])
        days.append(TourDay(spec, spec.date, tuple(stops), tuple(dwell), tuple(windows), pol, plan, order, hours,
                            with_breaks(plan, hours, spec.start_s, windows, dwell)))
    # Days without a date are taken as consecutive days from a Monday (rests and week counts).
    anchor = dt.date(2024, 1, 1)
    week = check_week([d.hours.day_hours(d.date or anchor + dt.timedelta(days=d.number - 1)) for d in days]) if days else ()
    return TourPlan(
        name=itinerary.name or "tour",
        source=itinerary.source,
        days=tuple(days),
        week=week,
        generated=bool(net.meta.get("generated")),
    )


def paid_before(tour: TourPlan, kind: str = "best") -> dict[tuple[int, str], tuple[int, ...]]:
    """``(day, code) -> earlier days`` that also paid this seat: each day is charged afresh, so a
    seat entered on Monday and again on Tuesday is paid twice, and the ledger says so."""
    seen: dict[str, list[int]] = {}
    out: dict[tuple[int, str], tuple[int, ...]] = {}
    for d in tour.days:
        for c in d.route(kind).charges:
            if c.pence > 0:
                if seen.get(c.code):
                    out[(d.number, c.code)] = tuple(seen[c.code])
                seen.setdefault(c.code, []).append(d.number)
    return out


def with_breaks(plan: DayPlan, hours: HoursPlan, start_s: float, windows: list[Window | None], dwell: list[float]) -> tuple[Visit, ...]:
    """The best plan's timetable once the breaks are in: a break on the road delays its leg, an
    extended dwell lengthens the stop; waiting for a window may absorb either."""
    legs = plan.best.legs
    road = [0.0] * len(legs)
    extra = [0.0] * len(dwell)
    for b in hours.breaks:
        if b.kind == "stop dwell":
            continue
        if b.kind == "stop dwell extended":
            extra[b.leg + 1] += b.added_s
        else:
            road[b.leg] += b.duration_s
    return timetable(start_s, [leg.time_s + r for leg, r in zip(legs, road, strict=True)], windows,
                     [d + e for d, e in zip(dwell, extra, strict=True)], [s.label for s in plan.stops])


def ledger_rows(tour: TourPlan) -> list[list[str]]:
    """The tour ledger as CSV rows: per plan, day and constituency, with the reason, then totals."""
    rows = [["plan", "day", "date", "code", "constituency", "charge_gbp", "charged_by", "stops", "legs_road_km", "reasons", "note"]]
    for kind in PLAN_KINDS:
        again = paid_before(tour, kind)
        for d in tour.days:
            r = d.route(kind)
            date = d.date.isoformat() if d.date else ""
            reasons = {row.code: " | ".join(row.reasons) for row in r.ledger.rows}
            for c in r.charges:
                legs = "; ".join(f"leg {i}: {km:.2f} km" for i, km in c.legs)
                prior = again.get((d.number, c.code))
                note = f"paid again: also charged on day {', '.join(map(str, prior))} (each day is charged afresh)" if prior else ""
                rows.append([kind, str(d.number), date, c.code, c.name, f"{c.pence / 100:.2f}", c.charged_by,
                             "; ".join(c.stops), legs, reasons.get(c.code, ""), note])
            for note in r.ledger.notes:
                rows.append([kind, str(d.number), date, "", "", "0.00", "", "", "", "", note])
            rows.append([kind, str(d.number), date, "", "DAY TOTAL", f"{r.cost_pence / 100:.2f}", "", "", "", "", ""])
        rows.append([kind, "", "", "", "TOUR TOTAL", f"{tour.total_pence(kind) / 100:.2f}", "", "", "", "", ""])
    return rows


__all__ = ["PLAN_KINDS", "TourDay", "TourPlan", "day_policy", "ledger_rows", "paid_before", "plan_tour"]
