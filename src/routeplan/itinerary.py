"""The itinerary file: a tour of days, read strictly from TOML into plain data.

This module only *reads*: it does no routing and resolves no places.  Places stay text (a
name, ``"lat,lon"`` or, later, a postcode); a later layer resolves them with
:func:`routeplan.locate.resolve`.  The vehicle and policy tables are kept as plain dicts and
validated later by :meth:`routeplan.vehicle.CoachProfile.from_mapping` and
:mod:`routeplan.policy`.

Format
------
.. code-block:: toml

    [tour]                          # optional table
    name = "Newport day"            # optional text
    osm = "newport"                 # optional: like --osm (file path or name under <data-dir>/osm)
    boundaries = "wpc-2024"         # optional: like --boundaries
    start_date = "2026-12-03"       # optional ISO date
    [tour.vehicle]                  # optional; keys of the [vehicle] table of a vehicle file
    height_m = 4.0
    [tour.policy]                   # optional; keys of the [policy] table of a policy file
    day_rate = 461

    [[day]]                         # one or more
    date = "2026-12-03"             # optional ISO date
    start = "Duffryn"               # required place text (depot or hotel)
    start_time = "07:00"            # required "HH:MM" (24 h)
    overnight = "Stow Park"         # optional place text; default: the day ends at its last stop
    overnight_arrive_by = "22:30"   # optional "HH:MM"; needs overnight
    already_charged = ["W07000104"] # optional list of constituency codes or names
    [day.policy]                    # optional; per-day overrides ONLY
    overrides = { "Newport East" = 0 }   # name-or-code = £ or "avoid"

    [[day.stop]]                    # zero or more per day, in the planned order
    place = "Rogerstone"            # required place text
    name = "Dawn photo call"        # optional label (default: the place text)
    arrive_by = "09:30"             # optional; OR window = ["09:00", "09:30"] (not both)
    dwell = 45                      # minutes, default 30, from 0 to 720
    fixed = true                    # default false: --optimise-order may move it

Rules
-----
* **Times** are text ``"HH:MM"`` (24 h), measured from midnight at the start of *that day*; in the
  model they are seconds since that midnight (float).  A time after the next midnight is written
  past 24: ``"25:30"`` is 01:30 the next morning; the latest allowed is ``"30:00"`` (late rallies).
  ``"7am"``, ``"7:00:00"``, ``"24:61"``, ``"-01:00"`` and TOML's unquoted local times are errors.
  A window's start must not be after its end, and no deadline (``arrive_by``, a window's end,
  ``overnight_arrive_by``) may be before the day's ``start_time``.
* **Dates** are ISO ``"YYYY-MM-DD"`` text or TOML dates (``2026-12-03`` unquoted).  Day 1 without
  a date is ``start_date``; any later day without a date is the day after the previous day (when
  that has one).  Dates strictly increase from day to day (no two days on one date), and with
  ``start_date`` day *i* is ``start_date + (i - 1)`` or later.  Without ``start_date`` days before
  the first dated day have no date (``None``).
* **Days**: at least one.  A day with no stops must have an ``overnight`` (a travel day).
* **Places**: non-empty text, kept stripped.  A place that is two numbers must be a valid
  ``lat,lon`` (:func:`routeplan.locate.parse_latlon`), so a swapped or out-of-range point fails here.
* **Strict**: unknown keys or tables anywhere are errors listing the known ones; numbers must be
  finite and never booleans; text is never accepted where a list or table is needed.

Every error is a :class:`~routeplan.errors.ConfigError` of one line naming the file, the line and
the field, e.g. ``tour.toml line 14: day 2, stop 3: dwell must be minutes from 0 to 720, got -5``.
:mod:`tomllib` keeps no line numbers, so :class:`_Locator` scans the source text for table headers
(``[[day]]``, ``[[day.stop]]``, ``[day.policy]``...) and ``key =`` lines; a key it cannot find
(inline tables, unusual layouts) is reported at the line of its table header.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from routeplan.errors import ConfigError, RouteplanError
from routeplan.locate import parse_latlon
from routeplan.policy import parse_charge

__all__ = [
    "DEFAULT_DWELL_MIN",
    "MAX_DWELL_MIN",
    "MAX_TIME_S",
    "DaySpec",
    "Itinerary",
    "StopSpec",
    "format_time",
    "itinerary_from_mapping",
    "parse_itinerary",
    "parse_time",
    "read_itinerary",
]

DEFAULT_DWELL_MIN = 30
MAX_DWELL_MIN = 720
MAX_TIME_S = 30 * 3600.0  # "30:00": 06:00 the next morning, for late rallies

_TOP_KEYS = ("day", "tour")
_TOUR_KEYS = ("boundaries", "name", "osm", "policy", "start_date", "vehicle")
_DAY_KEYS = ("already_charged", "date", "overnight", "overnight_arrive_by", "policy", "start", "start_time", "stop")
_DAY_POLICY_KEYS = ("overrides",)
_STOP_KEYS = ("arrive_by", "dwell", "fixed", "name", "place", "window")
_TIME_RE = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME_HELP = '"HH:MM" (24 h, up to "30:00" for after midnight)'

Path_ = tuple[str | int, ...]  # a table in the document: ("day", 1, "stop", 0) is day 2, stop 1


# -- the model -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class StopSpec:
    """One stop as written: place text, time limits in seconds since the day's midnight."""

    place: str
    label: str
    earliest_s: float | None  # a window's start; None for arrive_by or no limit
    latest_s: float | None  # arrive_by or a window's end; None for no limit
    dwell_s: float
    fixed: bool
    line: int  # line of its [[day.stop]] header (0 when not known)


@dataclass(frozen=True)
class DaySpec:
    """One day of the tour (``number`` from 1)."""

    number: int
    date: dt.date | None  # given, or derived from start_date / the previous day
    start: str
    start_s: float
    stops: tuple[StopSpec, ...]
    overnight: str | None
    overnight_latest_s: float | None
    already_charged: tuple[str, ...]
    overrides: dict[str, Any]  # name-or-code -> £ or "avoid", as written (checked)
    line: int  # line of its [[day]] header (0 when not known)


@dataclass(frozen=True)
class Itinerary:
    """A whole tour as read from an itinerary file; ``source`` names the file."""

    name: str | None
    osm: str | None
    boundaries: str | None
    start_date: dt.date | None
    vehicle: dict[str, Any]
    policy: dict[str, Any]
    days: tuple[DaySpec, ...]
    source: str


# -- times ---------------------------------------------------------------------------------------
def parse_time(text: object) -> float:
    """``"HH:MM"`` -> seconds since midnight (``"25:30"`` is 01:30 the next day; at most 30:00).

    Raises :class:`ConfigError` with a reason (``must be ... got ...``) and no location.
    """
    if isinstance(text, dt.time):
        msg = f'must be quoted text {_TIME_HELP}, got an unquoted TOML time {text.isoformat()}'
        raise ConfigError(msg)
    if not isinstance(text, str):
        msg = f"must be a time {_TIME_HELP}, got {_show(text)}"
        raise ConfigError(msg)
    m = _TIME_RE.fullmatch(text.strip())
    if m is None:
        msg = f"must be a time {_TIME_HELP}, got {text!r}"
        raise ConfigError(msg)
    hours, minutes = int(m.group(1)), int(m.group(2))
    seconds = hours * 3600.0 + minutes * 60.0
    if minutes > 59 or seconds > MAX_TIME_S:
        msg = f"must be a time {_TIME_HELP}, got {text!r}"
        raise ConfigError(msg)
    return seconds


def format_time(seconds: float) -> str:
    """Seconds since midnight -> ``"HH:MM"`` (rounded to the minute; past 24 h as ``"25:30"``)."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or seconds < 0:
        msg = f"a time must be finite seconds from 0, got {seconds!r}"
        raise ValueError(msg)
    minutes = round(seconds / 60.0)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# -- reading -------------------------------------------------------------------------------------
def read_itinerary(path: str | os.PathLike[str]) -> Itinerary:
    """Read an itinerary TOML file (UTF-8, with or without a BOM); every problem is one
    :class:`ConfigError` line naming the file, the line and the field."""
    p = Path(path)
    source = str(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        msg = f"cannot read itinerary file {source}: {reason}"
        raise ConfigError(msg) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        msg = f"{source} line {line}: itinerary file is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); save it as UTF-8"
        raise ConfigError(msg) from exc
    return parse_itinerary(text, source)


def parse_itinerary(text: str, source: str = "<string>") -> Itinerary:
    """Parse itinerary TOML text; ``source`` names it in messages."""
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        reason = " ".join(str(exc).split())
        m = re.search(r"at line (\d+)", reason)
        line = int(m.group(1)) if m else max(1, len(text.splitlines()))
        msg = f"{source} line {line}: invalid TOML: {reason}"
        raise ConfigError(msg) from exc
    return itinerary_from_mapping(data, source, text=text)


def itinerary_from_mapping(data: Mapping[str, Any], source: str = "<mapping>", *, text: str | None = None) -> Itinerary:
    """Build an :class:`Itinerary` from parsed TOML (``tomllib.loads``) and check it.

    ``text`` is the TOML source, used only to give line numbers in messages; without it
    messages name the file and the field but no line, and ``line`` fields are 0.
    """
    return _Reader(data, source, _Locator(text) if text is not None else None).itinerary()


# -- locating keys in the source text ------------------------------------------------------------
_KEY_PART = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|\'[^\']*\')'
_KEY_RE = re.compile(rf"\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=")
_PART_RE = re.compile(_KEY_PART)
_AOT_RE = re.compile(rf"\s*\[\[\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*\]\]")
_TABLE_RE = re.compile(rf"\s*\[\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*\]")


def _parts(dotted: str) -> list[str]:
    out = []
    for part in _PART_RE.findall(dotted):
        if part[:1] in "\"'":
            part = part[1:-1]
        out.append(part)
    return out


class _Locator:
    """Map (table path, key) to a line of the TOML source, for the documented layout.

    Table headers are resolved the way TOML does: ``[[day.stop]]`` appends a stop to the
    *last* ``[[day]]`` so far.  Lines inside multi-line strings are skipped.
    """

    def __init__(self, text: str) -> None:
        self.headers: dict[Path_, int] = {(): 1}
        self.keys: dict[tuple[Path_, str], int] = {}
        self.n_lines = max(1, len(text.splitlines()))
        arrays: dict[Path_, int] = {}
        current: Path_ = ()
        in_string: str | None = None

        def resolve(names: list[str]) -> Path_:
            path: Path_ = ()
            for name in names:
                path = (*path, name)
                if path in arrays:
                    path = (*path, arrays[path] - 1)
            return path

        for lineno, line in enumerate(text.splitlines(), start=1):
            if in_string is not None:
                if line.count(in_string) % 2 == 1:
                    in_string = None
                continue
            if (m := _AOT_RE.match(line)) is not None:
                names = _parts(m.group(1))
                array = (*resolve(names[:-1]), names[-1])
                arrays[array] = arrays.get(array, 0) + 1
                current = (*array, arrays[array] - 1)
                self.headers.setdefault(current, lineno)
            elif (m := _TABLE_RE.match(line)) is not None:
                current = resolve(_parts(m.group(1)))
                self.headers.setdefault(current, lineno)
            elif (m := _KEY_RE.match(line)) is not None:
                names = _parts(m.group(1))
                path = current
                for name in names:
                    self.keys.setdefault((path, name), lineno)
                    path = (*path, name)
            for quote in ('"""', "'''"):
                if line.count(quote) % 2 == 1:
                    in_string = quote
                    break

    def line(self, path: Path_, key: str | None = None) -> int:
        """The line of ``key`` in table ``path``; else of the nearest enclosing header or key."""
        if key is not None:
            for found in (self.keys.get((path, key)), self.headers.get((*path, key)), self.headers.get((*path, key, 0))):
                if found is not None:
                    return found
        p = path
        while p:
            if p in self.headers:
                return self.headers[p]
            last = p[-1]
            if isinstance(last, str) and (p[:-1], last) in self.keys:
                return self.keys[(p[:-1], last)]
            p = p[:-1]
        return self.headers[()]


# -- checking ------------------------------------------------------------------------------------
def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        shown = repr(value)
        return shown if len(shown) <= 60 else "a list"
    if isinstance(value, dt.datetime):
        return f"a date-time {value.isoformat()}"
    if isinstance(value, dt.date):
        return f"a date {value.isoformat()}"
    return repr(value)


def _where(path: Path_) -> str:
    """``("day", 1, "stop", 2)`` -> ``"day 2, stop 3"``; ``("tour", "policy")`` -> ``"tour.policy"``."""
    out: list[str] = []
    names: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"{names.pop()} {part + 1}")
            if names:
                out[-1:] = [".".join(names) + "." + out[-1]]
                names = []
        else:
            names.append(part)
    if names:
        out.append(".".join(names))
    return ", ".join(out)


class _Reader:
    def __init__(self, data: Mapping[str, Any], source: str, locator: _Locator | None) -> None:
        self.data = data
        self.source = source
        self.loc = locator

    # errors
    def line(self, path: Path_, key: str | None = None) -> int:
        return self.loc.line(path, key) if self.loc is not None else 0

    def fail(self, path: Path_, key: str | None, reason: str, *, name: bool = True) -> NoReturn:
        """Raise a one-line ConfigError: ``FILE line N: day 2, stop 3: KEY REASON``."""
        line = self.line(path, key)
        head = f"{self.source} line {line}" if line else self.source
        where = _where(path)
        field = f"{key} " if key is not None and name else ""
        msg = f"{head}: {where + ': ' if where else ''}{field}{reason}"
        raise ConfigError(" ".join(msg.split("\n")))

    def check_keys(self, table: Mapping[str, Any], path: Path_, known: tuple[str, ...], hint: str = "") -> None:
        unknown = [str(k) for k in table if k not in known]
        if unknown:
            first = min(unknown, key=lambda k: (self.line(path, k), k))
            what = f"unknown key or table {first!r}" if len(unknown) == 1 else f"unknown keys or tables {', '.join(map(repr, sorted(unknown)))}"
            self.fail(path, first, f"{what} (known: {', '.join(known)}){hint}", name=False)

    # typed getters
    def table(self, parent: Mapping[str, Any], path: Path_, key: str) -> dict[str, Any]:
        value = parent.get(key, {})
        if not isinstance(value, Mapping):
            self.fail(path, key, f"must be a table, got {_show(value)}")
        return _plain(value)

    def text(self, parent: Mapping[str, Any], path: Path_, key: str, *, required: bool = False) -> str | None:
        if key not in parent:
            if required:
                self.fail(path, None, f"needs {key} (place text)" if key in ("start", "place") else f"needs {key}")
            return None
        value = parent[key]
        if not isinstance(value, str):
            self.fail(path, key, f"must be text, got {_show(value)}")
        if not value.strip():
            self.fail(path, key, "must not be empty")
        return value.strip()

    def place(self, parent: Mapping[str, Any], path: Path_, key: str, *, required: bool = False) -> str | None:
        value = self.text(parent, path, key, required=required)
        if value is not None:
            try:
                parse_latlon(value)
            except RouteplanError as exc:
                self.fail(path, key, f"{key}: {exc}", name=False)
        return value

    def time(self, parent: Mapping[str, Any], path: Path_, key: str, *, required: bool = False) -> float | None:
        if key not in parent:
            if required:
                self.fail(path, None, f'needs {key} ("HH:MM")')
            return None
        try:
            return parse_time(parent[key])
        except ConfigError as exc:
            self.fail(path, key, str(exc))

    def date(self, parent: Mapping[str, Any], path: Path_, key: str) -> dt.date | None:
        if key not in parent:
            return None
        value = parent[key]
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if isinstance(value, str) and _DATE_RE.fullmatch(value.strip()):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.fail(path, key, f'must be a date "YYYY-MM-DD", got {_show(value)}')

    # the document
    def itinerary(self) -> Itinerary:
        data = self.data
        self.check_keys(data, (), _TOP_KEYS, " ([tour] and [[day]] tables only)")
        tour = self.table(data, (), "tour")
        tp: Path_ = ("tour",)
        self.check_keys(tour, tp, _TOUR_KEYS)
        name = None
        if "name" in tour:
            if not isinstance(tour["name"], str):
                self.fail(tp, "name", f"must be text, got {_show(tour['name'])}")
            name = tour["name"]
        osm = self.text(tour, tp, "osm")
        bnd = self.text(tour, tp, "boundaries")
        start_date = self.date(tour, tp, "start_date")
        vehicle = self.table(tour, tp, "vehicle")
        policy = self.table(tour, tp, "policy")

        if "day" not in data:
            self.fail((), None, "no days: an itinerary needs at least one [[day]] table")
        raw_days = data["day"]
        if isinstance(raw_days, Mapping):
            self.fail((), "day", "must be [[day]] tables (one per day), got a single [day] table")
        if not isinstance(raw_days, list) or not all(isinstance(d, Mapping) for d in raw_days):
            self.fail((), "day", f"must be [[day]] tables, got {_show(raw_days)}")
        if not raw_days:
            self.fail((), "day", "is empty: an itinerary needs at least one [[day]] table")

        days: list[DaySpec] = []
        for i, raw in enumerate(raw_days):
            day = self.day(raw, i)
            days.append(self.dated(day, days, start_date))
        return Itinerary(name, osm, bnd, start_date, vehicle, policy, tuple(days), self.source)

    def dated(self, day: DaySpec, before: list[DaySpec], start_date: dt.date | None) -> DaySpec:
        """Give ``day`` its date and check the order of dates."""
        dp: Path_ = ("day", day.number - 1)
        prev = before[-1].date if before else None
        if day.date is None:
            if not before:
                date = start_date
            else:
                date = prev + dt.timedelta(days=1) if prev is not None else None
            return _with_date(day, date)
        if start_date is not None and day.date < start_date + dt.timedelta(days=day.number - 1):
            earliest = start_date + dt.timedelta(days=day.number - 1)
            self.fail(dp, "date", f"{day.date.isoformat()} is before {earliest.isoformat()}, day {day.number} of a tour from start_date {start_date.isoformat()}")
        for other in before:
            if other.date == day.date:
                self.fail(dp, "date", f"{day.date.isoformat()} is also the date of day {other.number}{_at(other.line)}: each day needs its own date")
        if prev is not None and day.date < prev:
            self.fail(dp, "date", f"{day.date.isoformat()} is before day {day.number - 1}'s date {prev.isoformat()}: days must be in date order")
        return day

    def day(self, raw: Mapping[str, Any], i: int) -> DaySpec:
        dp: Path_ = ("day", i)
        self.check_keys(raw, dp, _DAY_KEYS)
        date = self.date(raw, dp, "date")
        start = self.place(raw, dp, "start", required=True)
        start_s = self.time(raw, dp, "start_time", required=True)
        assert start is not None and start_s is not None  # required: fail() raised otherwise
        overnight = self.place(raw, dp, "overnight")
        overnight_latest = self.time(raw, dp, "overnight_arrive_by")
        if overnight_latest is not None:
            if overnight is None:
                self.fail(dp, "overnight_arrive_by", "needs an overnight place (overnight = ...)")
            self.not_before_start(dp, "overnight_arrive_by", overnight_latest, start_s)
        charged: tuple[str, ...] = ()
        if "already_charged" in raw:
            ac = raw["already_charged"]
            if not isinstance(ac, list) or not all(isinstance(c, str) and c.strip() for c in ac):
                self.fail(dp, "already_charged", f"must be a list of constituency codes or names (non-empty text), got {_show(ac)}")
            charged = tuple(c.strip() for c in ac)
        overrides: dict[str, Any] = {}
        if "policy" in raw:
            pol = self.table(raw, dp, "policy")
            pp: Path_ = (*dp, "policy")
            self.check_keys(pol, pp, _DAY_POLICY_KEYS, " (other policy settings belong in [tour.policy])")
            if "overrides" in pol:
                table = pol["overrides"]
                if not isinstance(table, Mapping):
                    self.fail(pp, "overrides", f'must be a table of constituency = £ or "avoid", got {_show(table)}')
                op: Path_ = (*pp, "overrides")
                for k, v in table.items():
                    if not isinstance(k, str) or not k.strip():
                        self.fail(op, k, "names an empty constituency")
                    try:
                        parse_charge(v, k, strict=True)
                    except ConfigError as exc:
                        self.fail(op, k, str(exc), name=False)
                overrides = _plain(table)
        stops: list[StopSpec] = []
        if "stop" in raw:
            raw_stops = raw["stop"]
            if isinstance(raw_stops, Mapping):
                self.fail(dp, "stop", "must be [[day.stop]] tables (one per stop), got a single [day.stop] table")
            if not isinstance(raw_stops, list) or not all(isinstance(s, Mapping) for s in raw_stops):
                self.fail(dp, "stop", f"must be [[day.stop]] tables, got {_show(raw_stops)}")
            stops = [self.stop(s, (*dp, "stop", j), start_s) for j, s in enumerate(raw_stops)]
        if not stops and overnight is None:
            self.fail(dp, None, "has no stops and no overnight: give [[day.stop]] tables, or an overnight for a travel day")
        return DaySpec(i + 1, date, start, start_s, tuple(stops), overnight, overnight_latest, charged, overrides, self.line(dp))

    def not_before_start(self, path: Path_, key: str, t: float, start_s: float) -> None:
        if t < start_s:
            self.fail(path, key, f"{format_time(t)} is before the day's start_time {format_time(start_s)} (write times after midnight as 24:00 or later, e.g. \"25:30\")")

    def stop(self, raw: Mapping[str, Any], sp: Path_, start_s: float) -> StopSpec:
        self.check_keys(raw, sp, _STOP_KEYS)
        place = self.place(raw, sp, "place", required=True)
        assert place is not None
        label = self.text(raw, sp, "name") or place
        earliest: float | None = None
        latest: float | None = None
        if "arrive_by" in raw and "window" in raw:
            self.fail(sp, "window", "and arrive_by both given: use one (arrive_by = \"09:30\" or window = [\"09:00\", \"09:30\"])")
        if "arrive_by" in raw:
            latest = self.time(raw, sp, "arrive_by")
            assert latest is not None
            self.not_before_start(sp, "arrive_by", latest, start_s)
        if "window" in raw:
            w = raw["window"]
            if not isinstance(w, list) or len(w) != 2:
                self.fail(sp, "window", f'must be a list of two times ["HH:MM", "HH:MM"], got {_show(w)}')
            times: list[float] = []
            for end, value in zip(("start", "end"), w, strict=True):
                try:
                    times.append(parse_time(value))
                except ConfigError as exc:
                    self.fail(sp, "window", f"{end} {exc}")
            earliest, latest = times
            if latest < earliest:
                self.fail(sp, "window", f"ends before it starts: {w[0]!r} to {w[1]!r}")
            self.not_before_start(sp, "window", latest, start_s)
        dwell = raw.get("dwell", DEFAULT_DWELL_MIN)
        if (
            isinstance(dwell, bool)
            or not isinstance(dwell, (int, float))
            or not math.isfinite(dwell)
            or not 0 <= dwell <= MAX_DWELL_MIN
        ):
            self.fail(sp, "dwell", f"must be minutes from 0 to {MAX_DWELL_MIN}, got {_show(dwell)}")
        fixed = raw.get("fixed", False)
        if not isinstance(fixed, bool):
            self.fail(sp, "fixed", f"must be true or false, got {_show(fixed)}")
        return StopSpec(place, label, earliest, latest, float(dwell) * 60.0, fixed, self.line(sp))


def _at(line: int) -> str:
    return f" (line {line})" if line else ""


def _with_date(day: DaySpec, date: dt.date | None) -> DaySpec:
    return DaySpec(day.number, date, day.start, day.start_s, day.stops, day.overnight, day.overnight_latest_s,
                   day.already_charged, day.overrides, day.line)


def _plain(value: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy as plain dicts and lists (tomllib's tables are dicts already)."""
    def conv(v: Any) -> Any:
        if isinstance(v, Mapping):
            return {str(k): conv(x) for k, x in v.items()}
        if isinstance(v, list):
            return [conv(x) for x in v]
        return v

    return {str(k): conv(x) for k, x in value.items()}
