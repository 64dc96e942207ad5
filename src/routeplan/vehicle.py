"""The campaign coach: dimensions, which OSM ways it may use, and how fast it goes on them.

Behaviour is data (as in OSRM's ``profiles/car.lua``): road classes, default speeds and the
access rules are tables here, not code paths elsewhere.  GB limits for a coach over 12 m:
30 mph built-up, 50 mph single carriageway, 60 mph dual carriageway, 60 mph motorway; up to
12 m the motorway limit is 70 mph.  Posted ``maxspeed`` always applies when lower.

Access for the coach (:func:`way_access`)
-----------------------------------------

A coach is a bus / public service vehicle, not a goods vehicle.  The most specific access key
with a recognised value decides: ``coach`` > ``bus`` > ``psv`` > ``motor_vehicle`` >
``vehicle`` > ``access`` (OSM wiki *Key:access*, land-based transport hierarchy; *Key:psv*).

=====================================  ==================================================
Tag                                    Effect for the coach
=====================================  ==================================================
``access/vehicle/motor_vehicle=no``    unusable, unless a more specific key allows it
(also private, agricultural, forestry,
delivery, customers)
``psv/bus/coach=yes|designated|        usable, even if a less specific key says no
permissive|official``
``psv/bus/coach=no`` (etc.)            unusable, even if ``access=yes``
``highway=busway``                     unusable unless ``bus``/``psv``/``coach`` (or
                                       ``access``) allows it
``hgv=*``, ``goods=*``                 ignored (they restrict goods vehicles; GB "no goods
                                       vehicles over 7.5 t" does not apply to buses and
                                       coaches; Valhalla's bus costing ignores them).  With
                                       ``avoid_hgv_restrictions`` and a coach over 3.5 t:
                                       ``hgv`` (else ``goods``) ``=no|destination|
                                       discouraged|unsuitable|...`` makes the way unusable
``maxweight:hgv``,                     ignored; with ``avoid_hgv_restrictions``: unusable
``maxweightrating:hgv``                when below the coach's weight
``maxheight/maxwidth/maxlength``       unusable when below the coach's dimension
``maxweight``                          unusable when below the coach's weight (a structural
                                       limit: applies to every vehicle)
``oneway``, roundabouts, motorways     one-way as tagged (``oneway:bus``/``oneway:psv`` are
                                       not read)
=====================================  ==================================================

Sources: OSM wiki Key:access, Key:hgv, Key:psv, "OSM tags for routing/Access restrictions"
(United Kingdom); the Traffic Signs Regulations and General Directions 2016 (diagram 622.1A
"goods vehicles exceeding 7.5 t" excludes buses); Valhalla ``bus`` costing, which tests bus
access bits only (truck restrictions apply to the ``truck`` costing).
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from routeplan.errors import ConfigError

MPH = 1.609344  # km/h per mph

# Road classes a coach may drive on, with a default speed (km/h) used when no maxspeed is tagged.
ROAD_CLASSES: dict[str, float] = {
    "motorway": 70 * MPH,
    "motorway_link": 40 * MPH,
    "trunk": 60 * MPH,
    "trunk_link": 40 * MPH,
    "primary": 50 * MPH,
    "primary_link": 30 * MPH,
    "secondary": 45 * MPH,
    "secondary_link": 30 * MPH,
    "tertiary": 35 * MPH,
    "tertiary_link": 25 * MPH,
    "unclassified": 30 * MPH,
    "residential": 20 * MPH,
    "living_street": 10 * MPH,
    "service": 10 * MPH,
    "road": 20 * MPH,
    "busway": 30 * MPH,
}
# Small integer codes for the classes, stable across versions (part of the cache format).
CLASS_CODES: dict[str, int] = {name: i for i, name in enumerate(ROAD_CLASSES)}
CLASS_NAMES: tuple[str, ...] = tuple(ROAD_CLASSES)

# Expected delay (s) for a coach passing a controlled node, by the node's OSM tag: what a planner
# feels in town and what other routers model as intersection costs.  Profile data, overridable.
NODE_DELAYS_S: dict[str, float] = {
    "traffic_signals": 10.0,
    "crossing=traffic_signals": 4.0,
    "stop": 6.0,
    "give_way": 3.0,
    "mini_roundabout": 4.0,
}

# Implicit GB speed limits that maxspeed may name.
_IMPLICIT_MAXSPEED = {
    "gb:nsl_single": 60 * MPH,
    "gb:nsl_dual": 70 * MPH,
    "gb:motorway": 70 * MPH,
    "gb:nsl_restricted": 30 * MPH,
    "gb:urban": 30 * MPH,
    "uk:nsl_single": 60 * MPH,
    "uk:nsl_dual": 70 * MPH,
    "uk:motorway": 70 * MPH,
    "walk": 5.0,
    "none": 70 * MPH,
}
_NO = {"no", "private", "agricultural", "forestry", "delivery", "customers", "destination_no"}
_YES = {"yes", "designated", "permissive", "official"}
# Most specific first (OSM wiki Key:access): the first of these with a recognised value decides.
_ACCESS_KEYS = ("coach", "bus", "psv", "motor_vehicle", "vehicle", "access")
# hgv/goods values an operator who opts in (``avoid_hgv_restrictions``) wants to stay off.
_HGV_AVOID = _NO | {"destination", "discouraged", "unsuitable", "local", "permit"}
HGV_MIN_WEIGHT_T = 3.5  # OSM hgv=*: goods vehicles over 3.5 t

# Plausible ranges for profile fields (inclusive); a value outside is a typo, not a vehicle.
FIELD_RANGES: dict[str, tuple[float, float, str]] = {
    "length_m": (3.0, 25.0, "m"),
    "width_m": (1.0, 4.0, "m"),
    "height_m": (1.0, 6.0, "m"),
    "weight_t": (0.5, 60.0, "t"),
    "max_kph_motorway": (1.0, 200.0, "km/h"),
    "max_kph_dual": (1.0, 200.0, "km/h"),
    "max_kph_single": (1.0, 200.0, "km/h"),
    "limiter_kph": (1.0, 200.0, "km/h"),
}
NODE_DELAY_MAX_S = 600.0


def check_number(value: object, name: str, lo: float, hi: float, unit: str = "") -> float:
    """``value`` as a float if it is a finite real number (not a bool) in ``[lo, hi]``; else
    :class:`ConfigError` naming ``name``."""
    unit_s = f" {unit}" if unit else ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        msg = f"{name} must be a number ({lo:g} to {hi:g}{unit_s}), got {value!r}"
        raise ConfigError(msg)
    v = float(value)
    if not math.isfinite(v) or not lo <= v <= hi:
        msg = f"{name} must be between {lo:g} and {hi:g}{unit_s}, got {value!r}"
        raise ConfigError(msg)
    return v


@dataclass(frozen=True)
class CoachProfile:
    """A coach's dimensions and speed caps; frozen because it is part of the graph cache key.

    ``avoid_hgv_restrictions`` (default off): also stay off ways closed or unsuitable for heavy
    goods vehicles (``hgv``/``goods`` tags, ``maxweight:hgv``), for operators who prefer to.
    """

    length_m: float = 13.7
    width_m: float = 2.55
    height_m: float = 3.9
    weight_t: float = 18.0
    max_kph_motorway: float = 60 * MPH  # over 12 m long; 70 mph at 12 m or less
    max_kph_dual: float = 60 * MPH
    max_kph_single: float = 50 * MPH
    limiter_kph: float = 100.0
    road_classes: tuple[str, ...] = field(default=tuple(ROAD_CLASSES))
    node_delays_s: tuple[tuple[str, float], ...] = field(default=tuple(NODE_DELAYS_S.items()))
    avoid_hgv_restrictions: bool = False

    def __post_init__(self) -> None:
        for f, (lo, hi, unit) in FIELD_RANGES.items():
            object.__setattr__(self, f, check_number(getattr(self, f), f, lo, hi, unit))
        if not isinstance(self.avoid_hgv_restrictions, bool):
            msg = f"avoid_hgv_restrictions must be true or false, got {self.avoid_hgv_restrictions!r}"
            raise ConfigError(msg)
        if isinstance(self.road_classes, str) or not all(isinstance(c, str) for c in self.road_classes):
            msg = f"road_classes must be a list of road class names, got {self.road_classes!r}"
            raise ConfigError(msg)
        object.__setattr__(self, "road_classes", tuple(self.road_classes))
        unknown = set(self.road_classes) - set(ROAD_CLASSES)
        if unknown:
            msg = f"unknown road classes in vehicle profile: {sorted(unknown)}"
            raise ConfigError(msg)
        delays: list[tuple[str, float]] = []
        for item in self.node_delays_s:
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
                msg = f"node_delays_s must map node tags to seconds, got {item!r}"
                raise ConfigError(msg)
            delays.append((item[0], check_number(item[1], f"node_delays_s {item[0]!r}", 0.0, NODE_DELAY_MAX_S, "s")))
        object.__setattr__(self, "node_delays_s", tuple(delays))
        if self.length_m <= 12.0 and self.max_kph_motorway == 60 * MPH:
            object.__setattr__(self, "max_kph_motorway", 70 * MPH)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str | None = None) -> CoachProfile:
        """Build from a TOML ``[vehicle]`` table; unknown keys and wrong types raise, naming
        ``source`` (the file) when given."""
        where = f"vehicle file {source}: " if source else ""
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            msg = f"{where}unknown vehicle settings: {sorted(unknown)} (known: {sorted(names)})"
            raise ConfigError(msg)
        kw = dict(data)
        try:
            if "road_classes" in kw:
                rc = kw["road_classes"]
                if not isinstance(rc, list) or not all(isinstance(c, str) for c in rc):
                    msg = f"road_classes must be a list of road class names, got {rc!r}"
                    raise ConfigError(msg)
                kw["road_classes"] = tuple(rc)
            if "node_delays_s" in kw:
                nd = kw["node_delays_s"]
                if not isinstance(nd, Mapping):
                    msg = f"node_delays_s must be a table of node tag = seconds, got {nd!r}"
                    raise ConfigError(msg)
                kw["node_delays_s"] = tuple((str(k), v) for k, v in nd.items())
            return cls(**kw)
        except ConfigError as exc:
            if not where:
                raise
            raise ConfigError(f"{where}{exc}") from exc

    def with_(self, **kw: Any) -> CoachProfile:
        """A copy with some fields changed (CLI overrides)."""
        return replace(self, **kw)

    def key(self) -> str:
        """Stable text of every field, for cache keys."""
        return repr(tuple((f.name, getattr(self, f.name)) for f in fields(self)))


def build_profile(
    vehicle_file: str | os.PathLike[str] | None = None,
    *,
    height_m: float | None = None,
    length_m: float | None = None,
    width_m: float | None = None,
    weight_t: float | None = None,
    avoid_hgv_restrictions: bool | None = None,
    names: Mapping[str, str] | None = None,
) -> CoachProfile:
    """The coach profile from an optional TOML file (one ``[vehicle]`` table) and explicit
    values, which win over the file's.  ``names`` maps argument names to what the caller calls
    them in messages (e.g. ``{"height_m": "--height"}``).  Every problem is a one-line
    :class:`ConfigError`."""
    label = dict(names or {})
    prof = read_vehicle_file(vehicle_file) if vehicle_file is not None else CoachProfile()
    kw: dict[str, Any] = {}
    for name, value in (("height_m", height_m), ("length_m", length_m), ("width_m", width_m), ("weight_t", weight_t)):
        if value is not None:
            lo, hi, unit = FIELD_RANGES[name]
            kw[name] = check_number(value, label.get(name, name), lo, hi, unit)
    if avoid_hgv_restrictions is not None:
        if not isinstance(avoid_hgv_restrictions, bool):
            name = label.get("avoid_hgv_restrictions", "avoid_hgv_restrictions")
            msg = f"{name} must be true or false, got {avoid_hgv_restrictions!r}"
            raise ConfigError(msg)
        kw["avoid_hgv_restrictions"] = avoid_hgv_restrictions
    return prof.with_(**kw) if kw else prof


def read_vehicle_file(path: str | os.PathLike[str]) -> CoachProfile:
    """A profile from a TOML file holding one ``[vehicle]`` table (nothing else)."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        msg = f"cannot read vehicle file {p}: {reason}".splitlines()[0]
        raise ConfigError(msg) from exc
    other = sorted(set(data) - {"vehicle"})
    if other:
        known = {f.name for f in fields(CoachProfile)}
        hint = " (put vehicle settings under a [vehicle] table)" if set(other) & known else ""
        msg = f"vehicle file {p}: unknown keys or tables outside [vehicle]: {other}{hint}"
        raise ConfigError(msg)
    table = data.get("vehicle", {})
    if not isinstance(table, dict):
        msg = f"vehicle file {p}: 'vehicle' must be a table, got {table!r}"
        raise ConfigError(msg)
    return CoachProfile.from_mapping(table, source=str(p))


def node_delay_s(tags: Mapping[str, str], profile: CoachProfile) -> float:
    """Delay for passing a node with these tags (0 for none): signals, stop and give-way lines."""
    hw = tags.get("highway")
    if hw is None:
        return 0.0
    delays = dict(profile.node_delays_s)
    if hw == "crossing" and tags.get("crossing") == "traffic_signals":
        return delays.get("crossing=traffic_signals", 0.0)
    if ";" in hw:  # "crossing;traffic_signals"
        return max(delays.get(h, 0.0) for h in hw.split(";"))
    return delays.get(hw, 0.0)


def parse_speed_kph(value: str | None) -> float | None:
    """Parse an OSM ``maxspeed``: ``"30 mph"``, ``"50"`` (km/h), ``"GB:nsl_single"``; else None."""
    if not value:
        return None
    v = value.strip().lower()
    if v in _IMPLICIT_MAXSPEED:
        return _IMPLICIT_MAXSPEED[v]
    m = re.match(r"^(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?$", v)
    if not m:
        # "30 mph;20 mph" and similar lists: take the lowest parseable value.
        parsed = [parse_speed_kph(p) for p in re.split(r"[;|]", v) if p != v]
        parts = [p for p in parsed if p]
        return min(parts) if parts else None
    num = float(m.group(1))
    return num * MPH if m.group(2) == "mph" else num


def parse_length_m(value: str | None) -> float | None:
    """Parse ``maxheight``/``maxwidth``/``maxlength``: metres, ``14'6"``, ``"4.2 m"``, ``"13 ft"``."""
    if not value:
        return None
    v = value.strip().lower().replace("’", "'").replace("”", '"')
    if v in {"none", "default", "below_default", "no_sign", "no_indications"}:
        return None
    m = re.match(r"^(\d+(?:\.\d+)?)\s*'\s*(?:(\d+(?:\.\d+)?)\s*\"?)?$", v)
    if m:
        return float(m.group(1)) * 0.3048 + float(m.group(2) or 0) * 0.0254
    m = re.match(r"^(\d+(?:\.\d+)?)\s*(m|ft)?$", v)
    if m:
        num = float(m.group(1))
        return num * 0.3048 if m.group(2) == "ft" else num
    return None


def parse_weight_t(value: str | None) -> float | None:
    """Parse ``maxweight`` in tonnes (``"7.5"``, ``"7.5 t"``, ``"18 st"`` is not a weight)."""
    if not value:
        return None
    m = re.match(r"^(\d+(?:\.\d+)?)\s*(t|tonnes?)?$", value.strip().lower())
    return float(m.group(1)) if m else None


def _decides(value: str | None) -> bool | None:
    """``True``/``False`` for an access value that allows/forbids, ``None`` if it says nothing."""
    if value is None:
        return None
    if value in _NO:
        return False
    if value in _YES:
        return True
    return None


def coach_allowed(tags: Mapping[str, str], profile: CoachProfile) -> bool:
    """Legal access for the coach (a bus/PSV), ignoring dimensions and one-ways.

    The most specific key with a recognised value wins: ``coach`` > ``bus`` > ``psv`` >
    ``motor_vehicle`` > ``vehicle`` > ``access``.  ``hgv``/``goods`` only count with
    ``profile.avoid_hgv_restrictions`` (and then only restrict).
    """
    allowed: bool | None = None
    for key in _ACCESS_KEYS:
        allowed = _decides(tags.get(key))
        if allowed is not None:
            break
    if allowed is None:
        allowed = tags.get("highway") != "busway"  # a busway is closed to all but buses unless tagged
    if allowed and profile.avoid_hgv_restrictions and profile.weight_t > HGV_MIN_WEIGHT_T:
        hgv = tags.get("hgv", tags.get("goods"))
        if hgv is not None and hgv in _HGV_AVOID:
            return False
        for key in ("maxweight:hgv", "maxweightrating:hgv"):
            got = parse_weight_t(tags.get(key))
            if got is not None and got < profile.weight_t:
                return False
    return allowed


def way_access(tags: Mapping[str, str], profile: CoachProfile) -> tuple[bool, bool, bool]:
    """Whether a coach may use a way: ``(usable, forward, backward)``.

    Legal access: :func:`coach_allowed` (see the table in the module docstring).  A way too
    low, narrow, short or weak (``maxweight``) for the coach is unusable.  One-way handling:
    ``oneway=yes|1|true``, ``-1``, roundabouts and motorways.
    """
    hw = tags.get("highway")
    if hw not in profile.road_classes:
        return False, False, False
    if tags.get("area") == "yes":
        return False, False, False
    if not coach_allowed(tags, profile):
        return False, False, False
    for key, limit in (("maxheight", profile.height_m), ("maxwidth", profile.width_m), ("maxlength", profile.length_m)):
        got = parse_length_m(tags.get(key))
        if got is not None and got < limit:
            return False, False, False
    got = parse_weight_t(tags.get("maxweight"))
    if got is not None and got < profile.weight_t:
        return False, False, False
    oneway = tags.get("oneway", "")
    if oneway in {"yes", "1", "true"}:
        return True, True, False
    if oneway == "-1":
        return True, False, True
    if oneway == "no":
        return True, True, True
    if tags.get("junction") in {"roundabout", "circular"} or hw in {"motorway", "motorway_link"}:
        return True, True, False
    return True, True, True


def way_speed_kph(tags: Mapping[str, str], profile: CoachProfile) -> float:
    """Speed on a way: posted ``maxspeed`` or the class default, capped by the coach limits.

    Dual carriageway is inferred from ``oneway`` on trunk/primary (OSM maps each carriageway of
    a dual carriageway as a one-way way); motorways take the motorway cap.
    """
    hw = tags.get("highway", "road")
    default = ROAD_CLASSES.get(hw, 20 * MPH)
    posted = parse_speed_kph(tags.get("maxspeed"))
    speed = default if posted is None else posted
    if hw in {"motorway", "motorway_link"}:
        cap = profile.max_kph_motorway
    elif tags.get("oneway") in {"yes", "1", "-1"} and hw in {"trunk", "primary", "secondary"}:
        cap = profile.max_kph_dual
    else:
        cap = profile.max_kph_single
    return max(5.0, min(speed, cap, profile.limiter_kph))
