"""Times of a day's stops: time windows, dwell times and the timetable of a planned day.

Semantics (what :func:`routeplan.day.plan_day`, its windowed kernel
:mod:`routeplan.kernels.windowlabels` and everything built on them agree on)
--------------------------------------------------------------------------------------------------
Times are seconds since midnight of the day being planned (``86_400`` and later is the next day).

* The day starts at ``start_s`` with the departure from stop 0 (the start: depot or hotel).  Stop
  0's window and dwell are ignored: ``arrive = start = depart = start_s``.
* For stop ``j >= 1`` with window ``(earliest_s, latest_s)`` (either may be ``None``: no limit)
  and dwell ``dwell_s[j]``:

  - ``arrive_j = depart_{j-1} + drive_j`` where ``drive_j`` is leg ``j``'s driving time
    (leg ``j`` runs from stop ``j - 1`` to stop ``j``);
  - the stop is **on time** iff ``arrive_j <= latest_j`` (up to :data:`ON_TIME_SLACK_S`, one
    microsecond, so that the same road times summed in another order compare equal); a
    ``latest_s`` of ``None`` never makes a stop late;
  - service starts at ``start_j = max(arrive_j, earliest_j)`` (the coach waits when early:
    ``wait_j = start_j - arrive_j``) and ``depart_j = start_j + dwell_j``.

* The last stop is the overnight stop: it has only an arrive-by time (its ``latest_s``); its
  ``earliest_s`` and its dwell are ignored (``start = depart = arrive``, no wait).
* A plan **meets the windows** when every stop is on time.  The planner's objective is unchanged
  by windows: the minimal day charge, then the minimal total *driving* time (the sum of the legs'
  drive times; waiting and dwell are not driving), among the plans that meet every window; ties
  after that go to the earliest arrival at the last stop.

:func:`timetable` applies these rules to any day (it never raises for lateness: a baseline that
misses its windows is reported with ``late_s > 0``, not refused).

Every departure depends on the arrival through ``max(., earliest) + dwell``, a non-decreasing
function: arriving earlier anywhere never makes any later arrival later.  Hence the day that
drives every leg by its fastest route arrives at every stop as early as possible, and some plan
meets the windows iff that day does (what :func:`routeplan.day.plan_day` reports when none does).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from routeplan.errors import UsageError

DAY_S = 86_400.0
# Arrivals up to this much after latest_s are on time: sums of the same float road times in a
# different order differ by rounding (~1e-12 s), never by a microsecond.
ON_TIME_SLACK_S = 1e-6


@dataclass(frozen=True)
class Window:
    """When a stop may be served: not before ``earliest_s``, arriving no later than ``latest_s``
    (seconds since the day's midnight; ``None``: no limit)."""

    earliest_s: float | None = None
    latest_s: float | None = None


@dataclass(frozen=True)
class Visit:
    """One stop of a timetable (see the module docstring for the rules)."""

    stop_index: int
    label: str
    arrive_s: float
    wait_s: float
    start_s: float
    depart_s: float
    dwell_s: float
    earliest_s: float | None
    latest_s: float | None
    late_s: float  # arrive_s - latest_s when late, 0.0 when on time

    @property
    def on_time(self) -> bool:
        return self.late_s == 0.0

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["arrive"] = format_clock(self.arrive_s)
        d["depart"] = format_clock(self.depart_s)
        return d


def _number(value: object, name: str) -> float:
    """A finite, non-negative number (bools refused), else UsageError naming the parameter."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{name} must be a number of seconds, got {value!r}"
        raise UsageError(msg)
    x = float(value)
    if not math.isfinite(x) or x < 0.0:
        msg = f"{name} must be a finite number of seconds from 0, got {value!r}"
        raise UsageError(msg)
    return x


def check_start(start_s: object) -> float:
    """``start_s`` validated (finite, non-negative)."""
    return _number(start_s, "start_s")


def check_windows(windows: Sequence[Window | None] | None, n_stops: int) -> tuple[Window | None, ...]:
    """One window (or ``None``) per stop, each finite, non-negative, ``earliest_s <= latest_s``."""
    if windows is None:
        return (None,) * n_stops
    if isinstance(windows, str | bytes) or not isinstance(windows, Sequence):
        msg = f"windows must be a sequence of Window or None, one per stop, got {windows!r}"
        raise UsageError(msg)
    if len(windows) != n_stops:
        msg = f"windows must have one entry per stop ({n_stops}), got {len(windows)}"
        raise UsageError(msg)
    out: list[Window | None] = []
    for j, w in enumerate(windows):
        if w is None:
            out.append(None)
            continue
        if not isinstance(w, Window):
            msg = f"windows[{j}] must be a Window or None, got {w!r}"
            raise UsageError(msg)
        e = None if w.earliest_s is None else _number(w.earliest_s, f"windows[{j}].earliest_s")
        z = None if w.latest_s is None else _number(w.latest_s, f"windows[{j}].latest_s")
        if e is not None and z is not None and e > z:
            msg = f"windows[{j}]: earliest_s ({e:g}) is after latest_s ({z:g})"
            raise UsageError(msg)
        out.append(Window(e, z))
    return tuple(out)


def check_dwell(dwell_s: Sequence[float] | None, n_stops: int) -> tuple[float, ...]:
    """One dwell time per stop, finite and non-negative (``None``: no dwell anywhere)."""
    if dwell_s is None:
        return (0.0,) * n_stops
    if isinstance(dwell_s, str | bytes) or not isinstance(dwell_s, Sequence):
        msg = f"dwell_s must be a sequence of seconds, one per stop, got {dwell_s!r}"
        raise UsageError(msg)
    if len(dwell_s) != n_stops:
        msg = f"dwell_s must have one entry per stop ({n_stops}), got {len(dwell_s)}"
        raise UsageError(msg)
    return tuple(_number(d, f"dwell_s[{j}]") for j, d in enumerate(dwell_s))


def effective(windows: Sequence[Window | None], dwell_s: Sequence[float]) -> tuple[
        tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
    """Per stop ``(earliest, latest, dwell)`` as the rules apply them: stop 0's ignored, the last
    stop's earliest and dwell ignored; no limit is ``-inf`` / ``+inf``.  Inputs already checked."""
    k = len(windows) - 1
    lo: list[float] = []
    hi: list[float] = []
    dw: list[float] = []
    for j, w in enumerate(windows):
        e = -math.inf if w is None or w.earliest_s is None else float(w.earliest_s)
        z = math.inf if w is None or w.latest_s is None else float(w.latest_s)
        d = float(dwell_s[j])
        if j == 0:
            e, z, d = -math.inf, math.inf, 0.0
        elif j == k:
            e, d = -math.inf, 0.0
        lo.append(e)
        hi.append(z)
        dw.append(d)
    return tuple(lo), tuple(hi), tuple(dw)


def lateness(arrive_s: float, latest_s: float) -> float:
    """How late an arrival is for a latest time (0.0 when on time, within the slack)."""
    late = arrive_s - latest_s
    return late if late > ON_TIME_SLACK_S else 0.0


def timetable(
    start_s: float,
    leg_drive_s: Sequence[float],
    windows: Sequence[Window | None] | None = None,
    dwell_s: Sequence[float] | None = None,
    labels: Sequence[str] | None = None,
) -> tuple[Visit, ...]:
    """The visits of a day whose legs drive ``leg_drive_s`` seconds (module docstring's rules).

    Parameters
    ----------
    start_s
        Departure from stop 0, seconds since the day's midnight.
    leg_drive_s
        Driving time of each leg (``len(stops) - 1`` values).
    windows, dwell_s, labels
        One per stop (``None``: no windows / no dwell / labels ``"stop <j>"``).

    Returns
    -------
    tuple[Visit, ...]
        One visit per stop; ``late_s > 0`` where the arrival misses the window (never raises
        for lateness).

    Raises
    ------
    UsageError
        A time that is not a finite, non-negative number (named), ``earliest_s > latest_s``, or
        lengths that do not match.
    """
    start = check_start(start_s)
    if isinstance(leg_drive_s, str | bytes) or not isinstance(leg_drive_s, Sequence) or not leg_drive_s:
        msg = f"leg_drive_s must be a non-empty sequence of seconds, got {leg_drive_s!r}"
        raise UsageError(msg)
    drive = [_number(t, f"leg_drive_s[{i}]") for i, t in enumerate(leg_drive_s)]
    n = len(drive) + 1
    wins = check_windows(windows, n)
    dwell = check_dwell(dwell_s, n)
    if labels is None:
        names = [f"stop {j}" for j in range(n)]
    elif len(labels) != n:
        msg = f"labels must have one entry per stop ({n}), got {len(labels)}"
        raise UsageError(msg)
    else:
        names = [str(x) for x in labels]
    lo, hi, dw = effective(wins, dwell)
    visits = [Visit(0, names[0], start, 0.0, start, start, 0.0, None, None, 0.0)]
    depart = start
    for j in range(1, n):
        arrive = depart + drive[j - 1]
        begin = max(arrive, lo[j])
        depart = begin + dw[j]
        visits.append(Visit(
            j, names[j], arrive, begin - arrive, begin, depart, dw[j],
            None if math.isinf(lo[j]) else lo[j], None if math.isinf(hi[j]) else hi[j], lateness(arrive, hi[j]),
        ))
    return tuple(visits)


def format_clock(s: float) -> str:
    """``"HH:MM"`` to the nearest minute, with ``"+1d"`` (``"+2d"``, ...) past midnight."""
    if not math.isfinite(s):
        return "--:--"
    m = math.floor(s / 60.0 + 0.5)
    days, m = divmod(m, 24 * 60)
    hh, mm = divmod(m, 60)
    return f"{hh:02d}:{mm:02d}" + (f"+{days}d" if days > 0 else "" if days == 0 else f"{days}d")


def format_duration(s: float) -> str:
    """A short duration: ``"40 s"`` under a minute, ``"22 min"`` under an hour, else
    ``"2 h 05 min"`` (to the nearest second / minute)."""
    if not math.isfinite(s):
        return "unbounded"
    if s < 59.5:
        return f"{max(round(s), 1)} s" if s > 0 else "0 s"
    m = round(s / 60.0)
    if m < 60:
        return f"{m} min"
    return f"{m // 60} h {m % 60:02d} min"


__all__ = [
    "DAY_S", "ON_TIME_SLACK_S", "Visit", "Window", "check_dwell", "check_start", "check_windows", "effective",
    "format_clock", "format_duration", "lateness", "timetable",
]
