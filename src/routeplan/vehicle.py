"""The campaign coach: dimensions, which OSM ways it may use, and how fast it goes on them.

Behaviour is data (as in OSRM's ``profiles/car.lua``): road classes, default speeds and the
access rules are tables here, not code paths elsewhere.  GB limits for a coach over 12 m:
30 mph built-up, 50 mph single carriageway, 60 mph dual carriageway, 60 mph motorway; up to
12 m the motorway limit is 70 mph.  Posted ``maxspeed`` always applies when lower.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
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


@dataclass(frozen=True)
class CoachProfile:
    """A coach's dimensions and speed caps; frozen because it is part of the graph cache key."""

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

    def __post_init__(self) -> None:
        for f in ("length_m", "width_m", "height_m", "weight_t"):
            if not getattr(self, f) > 0:
                msg = f"vehicle {f} must be positive, got {getattr(self, f)!r}"
                raise ConfigError(msg)
        unknown = set(self.road_classes) - set(ROAD_CLASSES)
        if unknown:
            msg = f"unknown road classes in vehicle profile: {sorted(unknown)}"
            raise ConfigError(msg)
        if self.length_m <= 12.0 and self.max_kph_motorway == 60 * MPH:
            object.__setattr__(self, "max_kph_motorway", 70 * MPH)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CoachProfile:
        """Build from a TOML table; unknown keys raise (strict, like ``nx.config``)."""
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            msg = f"unknown vehicle settings: {sorted(unknown)} (known: {sorted(names)})"
            raise ConfigError(msg)
        kw = dict(data)
        if "road_classes" in kw:
            kw["road_classes"] = tuple(kw["road_classes"])
        if "node_delays_s" in kw:
            kw["node_delays_s"] = tuple((str(k), float(v)) for k, v in dict(kw["node_delays_s"]).items())
        try:
            return cls(**kw)
        except TypeError as exc:
            raise ConfigError(str(exc)) from exc

    def with_(self, **kw: Any) -> CoachProfile:
        """A copy with some fields changed (CLI overrides)."""
        return replace(self, **kw)

    def key(self) -> str:
        """Stable text of every field, for cache keys."""
        return repr(tuple((f.name, getattr(self, f.name)) for f in fields(self)))


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
        parts = [parse_speed_kph(p) for p in re.split(r"[;|]", v) if p != v]
        parts = [p for p in parts if p]
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


def way_access(tags: Mapping[str, str], profile: CoachProfile) -> tuple[bool, bool, bool]:
    """Whether a coach may use a way: ``(usable, forward, backward)``.

    Access follows the most specific tag present: ``bus``/``psv`` beat ``motor_vehicle``/
    ``vehicle``, which beat ``access``.  A way too low, narrow, short or weak for the coach is
    unusable.  One-way handling: ``oneway=yes|1|true``, ``-1``, roundabouts and motorways.
    """
    hw = tags.get("highway")
    if hw not in profile.road_classes:
        return False, False, False
    if tags.get("area") == "yes":
        return False, False, False
    allowed = True
    for key in ("access", "vehicle", "motor_vehicle", "hgv", "psv", "bus"):
        val = tags.get(key)
        if val is None or key == "hgv" and profile.weight_t <= 7.5:
            continue
        if val in _NO:
            allowed = False
        elif val in _YES:
            allowed = True
    if hw == "busway" and tags.get("bus") not in _YES and tags.get("psv") not in _YES:
        allowed = tags.get("access") in _YES
    if not allowed:
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
