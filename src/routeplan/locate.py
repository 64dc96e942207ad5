"""Turn what a planner types into a point, and a point into a stop on the coach graph.

What may be typed (:func:`resolve_point`, offline, no road network needed):

* ``"51.58,-3.0"`` - a position;
* a GB postcode, ``"NP20 1HG"`` in any spacing or case, from OS Code-Point Open
  (:mod:`routeplan.postcodes`); an outward code alone (``"NP20"``) is the centroid of its units,
  with a warning;
* a name found in the OSM data (places, named amenities), optionally followed by a town and/or a
  postcode: ``"Norwich Castle"``, ``"Rivermead Leisure Centre, Reading"``,
  ``"Rivermead Leisure Centre, Reading RG1 8EQ"``.

A name resolves only on an exact match after :func:`normalise_name` (case, Unicode form,
punctuation, ``St``/``Saint``, ``&``/``and``); a name that merely contains, or shares a word with,
what was typed is never taken.  The town and postcode only choose among exact matches: a match
counts when it lies within :data:`NEAR_M` of the postcode, or of a place with the town's name, or
when its nearest settlement has the town's name.  A venue that is not in the map data but comes
with a postcode resolves to the postcode, and says so.  An ambiguous or unknown name is an error
that lists candidates (kind, nearest settlement, distance), never a guess.

:func:`resolve` then makes the point a :class:`Stop`: it keeps its own point - it is charged to
the constituency it stands in - and is joined to the nearest coach-usable node.
"""

from __future__ import annotations

import difflib
import logging
import math
import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from routeplan import postcodes as pcodes
from routeplan.boundaries import Boundaries, to_bng
from routeplan.errors import DataError, LocateError, UsageError
from routeplan.network import Network
from routeplan.osm import Place

log = logging.getLogger(__name__)

_NUM = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:nan|inf(?:inity)?)"
_LATLON = re.compile(rf"^\s*({_NUM})\s*(?:,\s*|\s+)({_NUM})\s*$", re.IGNORECASE)
# Places of the same name closer than this are one place (a building mapped as node and way).
SAME_PLACE_M = 400.0
# Preference when one name matches several kinds of object.
_KIND_RANK = ("place=city", "place=town", "place=suburb", "place=village", "place=quarter", "place=neighbourhood", "place=hamlet")
# The largest distance a stop may be from the road a coach joins (50 km: beyond it a stop is a typo).
MAX_SNAP_LIMIT_M = 50_000.0
_N_SUGGEST = 5
# A town or postcode after a name picks the exact matches within this distance of it.
NEAR_M = 5000.0
# What "the nearest town" of a candidate may be: any settlement (to say where it is), or one that
# is not part of another (a town typed after a name: "Wheatsheaf, Oakham" is not Langham's).
_TOWN_KINDS = ("place=city", "place=town", "place=village", "place=suburb", "place=hamlet")
_OWN_TOWN_KINDS = ("place=city", "place=town", "place=village", "place=hamlet")
# How far a settlement's own buildings reach from its OSM node, roughly, by kind: a venue this
# close to the town typed is in it.  Farther, up to NEAR_M, it is taken only when nothing nearer
# matches, with a warning.
_TOWN_RADIUS_M = {"place=city": 5000.0, "place=town": 2500.0, "place=suburb": 1000.0, "place=village": 1000.0}
_DEFAULT_TOWN_RADIUS_M = 500.0
# A full postcode at the end of the text, after a space or a comma: "..., Reading RG1 8EQ".
_PC_TAIL = re.compile(r"(?:^|(?<=[\s,]))([A-Za-z]{1,2}[0-9][A-Za-z0-9]?\s*[0-9][A-Za-z]{2})\s*$")
# Apostrophes (and look-alikes) are dropped: "St Mark's" == "St Marks".
_APOSTROPHES = re.compile("['\u2018\u2019\u201b\u02bc\u02b9\u0060\u00b4\u2032]")
# A word is a run of letters and digits; everything else (hyphens, commas, full stops ...) separates.
_WORD = re.compile(r"[^\W_]+")
_WORD_EQUIV = {"saint": "st"}


def normalise_name(text: str) -> str:
    """The form in which names are compared: ``"St. Mark's  Church"`` -> ``"st marks church"``.

    Unicode NFKC and case folding; apostrophes removed; ``&`` read as ``and``; every other
    character that is not a letter or digit (hyphen, comma, full stop, bracket, space) separates
    words; ``Saint``/``St``/``St.`` are one word ``st``.  Words are joined by single spaces, so
    the result is ``""`` for text with no letters or digits.  Pure, no data needed.
    """
    s = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    s = _APOSTROPHES.sub("", s).replace("&", " and ")
    return " ".join(_WORD_EQUIV.get(w, w) for w in _WORD.findall(s))


@dataclass(frozen=True)
class Stop:
    """A resolved stop: where it is, the graph node the coach uses, and how far that is."""

    label: str
    lat: float
    lon: float
    node: int
    snap_m: float
    source: str  # "lat,lon" or the OSM object, e.g. "n123 place=town"
    cell: int = -1  # constituency the stop stands in (charged for the stop), -1 if none
    cell_how: str = "outside"  # "inside", "nearest" (outside every polygon, nearest one) or "outside"
    warnings: tuple[str, ...] = ()  # what a planner should check (a postcode district, a venue not in the map)


@dataclass(frozen=True)
class ResolvedPoint:
    """A point for what was typed, before any road network: where, how it was found, caveats.

    ``how`` says where the point came from: ``"lat,lon"``, the OSM object (``"n123 place=town"``),
    ``"postcode NP20 1HG"``, ``"postcode district NP20 (centroid of 1363 units)"`` or
    ``"postcode RG1 8EQ (venue name not in the map data)"``.  ``kind`` is one of ``latlon``,
    ``place``, ``postcode``, ``district``, ``venue-postcode`` (a name resolved by its postcode).
    """

    lat: float
    lon: float
    how: str
    label: str
    warnings: tuple[str, ...] = ()
    kind: str = ""


def _dist_m(a: Place, b: Place) -> float:
    return _dist_ll(a.lat, a.lon, b.lat, b.lon)


def _dist_ll(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Metres between two nearby points (equirectangular; good to 0.1 % over tens of km)."""
    dy = (lat1 - lat2) * 111_320.0
    dx = (lon1 - lon2) * 111_320.0 * math.cos(math.radians(lat1))
    return math.hypot(dx, dy)


def _kind_rank(p: Place) -> int:
    return _KIND_RANK.index(p.kind) if p.kind in _KIND_RANK else len(_KIND_RANK)


def _group(places: Sequence[Place]) -> list[Place]:
    """Collapse same-named objects that are really one place; keep the most specific kind."""
    reps: list[tuple[str, Place]] = []
    for p in sorted(places, key=lambda q: (_kind_rank(q), q.osm)):
        key = normalise_name(p.name)
        if not any(k == key and _dist_m(r, p) < SAME_PLACE_M for k, r in reps):
            reps.append((key, p))
    return [r for _, r in reps]


class _Towns:
    """The settlements of a places list, to say where a candidate is ("1.2 km from Maindee")."""

    def __init__(self, places: Sequence[Place], kinds: tuple[str, ...] = _TOWN_KINDS) -> None:
        towns = [p for p in places if p.kind in kinds and normalise_name(p.name)]
        self.names = [p.name for p in towns]
        self.keys = np.array([normalise_name(p.name) for p in towns] + [""], dtype=object)[:-1]
        self.lat = np.array([p.lat for p in towns], dtype=np.float64)
        self.lon = np.array([p.lon for p in towns], dtype=np.float64)

    def nearest(self, lat: float, lon: float, *, other_than: str = "") -> tuple[str, float] | None:
        """The nearest settlement (not one named ``other_than``, normalised) and its distance."""
        if not self.names:
            return None
        dy = (self.lat - lat) * 111_320.0
        dx = (self.lon - lon) * 111_320.0 * math.cos(math.radians(lat))
        d = np.hypot(dx, dy)
        if other_than:
            d = np.where(self.keys == other_than, np.inf, d)
        i = int(np.argmin(d))
        return (self.names[i], float(d[i])) if math.isfinite(float(d[i])) else None


def _km(m: float) -> str:
    return f"{m / 1000:.1f} km"


def _where(p: Place, towns: _Towns, ref: tuple[str, float, float] | None = None) -> str:
    """``"1.2 km from Maindee"`` (and from the reference point given), for candidate lists."""
    bits = []
    near = towns.nearest(p.lat, p.lon, other_than=normalise_name(p.name))
    if near is not None:
        bits.append(f"{_km(near[1])} from {near[0]}")
    if ref is not None and (near is None or near[0] != ref[0]):
        bits.append(f"{_km(_dist_ll(p.lat, p.lon, ref[1], ref[2]))} from {ref[0]}")
    return "; ".join(bits)


def _listing(hits: Sequence[Place], towns: _Towns, ref: tuple[str, float, float] | None = None, limit: int = 8) -> str:
    def one(h: Place) -> str:
        w = _where(h, towns, ref)
        return f"{h.name} ({h.kind}) at {h.lat:.5f},{h.lon:.5f}" + (f" ({w})" if w else "")

    more = f" and {len(hits) - limit} more" if len(hits) > limit else ""
    return "; ".join(one(h) for h in hits[:limit]) + more


def _suggestions(query: str, places: Sequence[Place]) -> list[Place]:
    """Up to five candidates for an unknown name, best first, one per (name, kind).

    First names containing every word typed (settlements first, then fewest extra words), then
    names containing the typed text inside a word (``rogerst``), then close spellings (difflib).
    """
    words = set(query.split())
    by_key: dict[str, list[Place]] = {}
    for p in sorted(places, key=lambda q: (_kind_rank(q), q.name, q.kind, q.osm)):
        key = normalise_name(p.name)
        if key:
            by_key.setdefault(key, []).append(p)
    tiers: list[list[str]] = [[], [], []]
    for key in by_key:
        kw = key.split()
        if words <= set(kw):
            tiers[0].append(key)
        elif query in key:
            tiers[1].append(key)

    def order(key: str) -> tuple[int, int, str]:
        return (_kind_rank(by_key[key][0]), len(key.split()), key)

    tiers[0].sort(key=order)
    tiers[1].sort(key=order)
    tiers[2] = difflib.get_close_matches(query, list(by_key), n=_N_SUGGEST, cutoff=0.6)
    out: list[Place] = []
    seen: set[tuple[str, str]] = set()
    for key in (k for tier in tiers for k in tier):
        for p in by_key[key]:
            if (p.name, p.kind) not in seen:
                seen.add((p.name, p.kind))
                out.append(p)
            if len(out) == _N_SUGGEST:
                return out
    return out


def _empty_name(text: str) -> UsageError:
    msg = "empty place name" if not text.strip() else f"empty place name: {text!r} has no letters or digits"
    return UsageError(msg)


def _exact(q: str, places: Sequence[Place]) -> list[Place]:
    return _group([p for p in places if normalise_name(p.name) == q])


def _pick(text: str, hits: list[Place], towns: _Towns, ref: tuple[str, float, float] | None = None) -> Place:
    """One of several exact matches: the only one, or the only settlement; else ambiguous."""
    if len(hits) == 1:
        return hits[0]
    ranked = [h for h in hits if h.kind in _KIND_RANK]
    if len(ranked) == 1:
        return ranked[0]
    msg = f"place {text!r} is ambiguous: {_listing(hits, towns, ref)}. Give the town or postcode after a comma, or lat,lon"
    raise LocateError(msg)


def _unknown(text: str, q: str, places: Sequence[Place], towns: _Towns) -> LocateError:
    close = _suggestions(q, places)

    def one(p: Place) -> str:
        w = _where(p, towns)
        return f"{p.name} ({p.kind}{', ' + w if w else ''})"

    hint = f"; did you mean: {', '.join(one(p) for p in close)}?" if close else ""
    msg = (
        f"unknown place {text!r} in this map data{hint} (names must match exactly; they come from the OSM extract; "
        "or give a postcode or lat,lon)"
    )
    return LocateError(msg)


def find_place(text: str, places: Sequence[Place]) -> Place:
    """Find a place by name: an exact match after :func:`normalise_name`, never a partial one.

    Same-named objects within :data:`SAME_PLACE_M` of each other are one place.  If several
    distinct places match but exactly one of them is a settlement (``place=town`` ...), that one
    is taken.  (A name with a town or postcode after it: :func:`resolve_point`.)

    Raises
    ------
    UsageError
        The name is empty (or has no letters or digits).
    LocateError
        Unknown name (with up to five ranked candidates, their kinds, nearest settlement and
        distance), or several distinct places (listed with kinds, positions and nearest
        settlement).
    """
    q = normalise_name(text)
    if not q:
        raise _empty_name(text)
    towns = _Towns(places)
    hits = _exact(q, places)
    if hits:
        return _pick(text, hits, towns)
    raise _unknown(text, q, places, towns)


def split_venue(text: str) -> tuple[str, str, str | None]:
    """``"Rivermead Leisure Centre, Reading RG1 8EQ"`` -> ``(name, town, postcode)``.

    The postcode is a full unit postcode at the end (after a space or comma), compact
    (``"RG18EQ"``) or None; the town is what follows the last comma (``""`` if none).  Pure.
    """
    rest, pc = text.strip(), None
    m = _PC_TAIL.search(rest)
    if m and pcodes.parse_unit(m.group(1)) is not None and m.start(1) > 0:
        rest, pc = rest[: m.start(1)].rstrip(" ,\t"), pcodes.compact(m.group(1))
    parts = [p.strip() for p in rest.split(",")]
    if len(parts) == 1:
        return parts[0], "", pc
    return ", ".join(parts[:-1]), parts[-1], pc


def resolve_point(
    text: str,
    *,
    places: Sequence[Place] = (),
    data_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> ResolvedPoint:
    """Where ``text`` is, offline: ``lat,lon``, a postcode (or district), or a name in ``places``.

    A name may be followed by a town and/or a postcode (``"Rivermead Leisure Centre, Reading
    RG1 8EQ"``).  The name must match exactly (:func:`normalise_name`); the town and postcode
    only choose among exact matches: those within :data:`NEAR_M` of the postcode, or else of a
    place named like the town or whose nearest settlement is the town.  With a postcode, the
    nearest match to it is taken; a name not in ``places`` (or with no match near the postcode)
    resolves to the postcode point, with a warning.  Postcodes come from
    ``<data_dir>/postcodes`` (:mod:`routeplan.postcodes`).

    Raises
    ------
    UsageError
        Empty text (or no letters or digits).
    LocateError
        A bad position; a malformed or unknown postcode (with the nearest valid spellings); an
        unknown or ambiguous name (with ranked candidates).
    DataError
        A postcode whose area file is missing (the message says how to fetch it).
    """
    if not normalise_name(text):
        raise _empty_name(text)
    pos = parse_latlon(text)
    if pos is not None:
        return ResolvedPoint(pos[0], pos[1], "lat,lon", text.strip(), (), "latlon")
    if pcodes.looks_like_postcode(text) and pcodes.parse_unit(text) is not None:
        return _postcode_point(pcodes.lookup(text, data_dir=data_dir, cache_dir=cache_dir))
    q = normalise_name(text)
    if pcodes.parse_outward(text) is not None and not _exact(q, places):
        return _postcode_point(pcodes.lookup(text, data_dir=data_dir, cache_dir=cache_dir))
    name, town, pc = split_venue(text)
    pc_point: pcodes.PostcodePoint | None = None
    pc_error: DataError | None = None
    if pc is not None:
        try:
            pc_point = pcodes.lookup(pc, data_dir=data_dir, cache_dir=cache_dir)
        except DataError as exc:
            pc_error = exc
    towns = _Towns(places)
    # The longest run of comma-separated parts that is a name; the last part (if left) is the town.
    parts = [p.strip() for p in (f"{name}, {town}" if town else name).split(",")]
    hits: list[Place] = []
    for k in range(len(parts), 0, -1):
        cand = ", ".join(parts[:k])
        hits = _exact(normalise_name(cand), places) if normalise_name(cand) else []
        if hits:
            name, town = cand, (parts[-1] if k < len(parts) else "")
            break
    if not normalise_name(name) and pc_point is not None:
        return _postcode_point(pc_point)
    if hits:
        return _from_hits(text, name, town, hits, places, towns, pc_point, pc_error)
    if pc_point is not None:
        shown = name if not town else f"{name}, {town}"
        warn = f"{shown!r} is not in the map data: using the point of postcode {pc_point.postcode}"
        return ResolvedPoint(pc_point.lat, pc_point.lon, f"postcode {pc_point.postcode} (venue name not in the map data)",
                             shown, (*pc_point.warnings, warn), "venue-postcode")
    if pc_error is not None:
        raise pc_error
    if pcodes.looks_like_postcode(text):
        pcodes.lookup(text, data_dir=data_dir, cache_dir=cache_dir)  # raises, with the nearest valid spellings
    if not places:
        msg = (f"unknown place {text!r}: no map data to look names up in (names come from an OSM extract); "
               "give a postcode or lat,lon, or an OSM extract")
        raise LocateError(msg)
    raise _unknown(text, normalise_name(name), places, towns)


def _postcode_point(pt: pcodes.PostcodePoint) -> ResolvedPoint:
    if pt.district:
        how = f"postcode district {pt.postcode} (centroid of {pt.units} units)"
        return ResolvedPoint(pt.lat, pt.lon, how, pt.postcode, pt.warnings, "district")
    return ResolvedPoint(pt.lat, pt.lon, f"postcode {pt.postcode}", pt.postcode, pt.warnings, "postcode")


def _from_hits(
    text: str,
    name: str,
    town: str,
    hits: list[Place],
    places: Sequence[Place],
    towns: _Towns,
    pc_point: pcodes.PostcodePoint | None,
    pc_error: DataError | None,
) -> ResolvedPoint:
    """Choose among exact matches of ``name`` with the postcode, else the town."""
    warnings: list[str] = []
    ref: tuple[str, float, float] | None = None
    if pc_point is not None:
        ref = (pc_point.postcode, pc_point.lat, pc_point.lon)
        near = sorted((h for h in hits if _dist_ll(h.lat, h.lon, pc_point.lat, pc_point.lon) <= NEAR_M),
                      key=lambda h: _dist_ll(h.lat, h.lon, pc_point.lat, pc_point.lon))
        if not near:
            warn = (f"{name!r} is in the map data, but none within {_km(NEAR_M)} of {pc_point.postcode} "
                    f"({_listing(hits, towns, ref, limit=3)}): using the postcode's point")
            how = f"postcode {pc_point.postcode} (no {name!r} within {_km(NEAR_M)} in the map data)"
            return ResolvedPoint(pc_point.lat, pc_point.lon, how, name, (*pc_point.warnings, warn), "venue-postcode")
        d0, d1 = (_dist_ll(h.lat, h.lon, pc_point.lat, pc_point.lon) for h in near[:2]) if len(near) > 1 else (0.0, math.inf)
        if d1 <= max(1000.0, 2.0 * d0):
            warnings.append(f"{len(near)} places named {name!r} lie within {_km(NEAR_M)} of {pc_point.postcode}; "
                            f"took the nearest ({_listing(near, towns, ref, limit=3)})")
        h = near[0]
        return ResolvedPoint(h.lat, h.lon, f"{h.osm} {h.kind}", h.name, (*pc_point.warnings, *warnings), "place")
    if pc_error is not None:
        warnings.append(f"postcode not checked: {pc_error}")
    if town:
        tq = normalise_name(town)
        anchors = _group([p for p in places if p.kind.startswith("place=") and normalise_name(p.name) == tq])
        anchor = anchors[0] if anchors else None
        ref = (anchor.name, anchor.lat, anchor.lon) if anchor is not None else None
        own = _Towns(places, _OWN_TOWN_KINDS)

        def nearest_is_town(h: Place) -> bool:
            return any(n is not None and normalise_name(n[0]) == tq
                       for n in (t.nearest(h.lat, h.lon, other_than=normalise_name(h.name)) for t in (towns, own)))

        def in_town(h: Place) -> bool:
            return nearest_is_town(h) or any(
                _dist_m(h, a) <= _TOWN_RADIUS_M.get(a.kind, _DEFAULT_TOWN_RADIUS_M) for a in anchors)

        # First those in the town (its nearest settlement, or within the town's reach); else
        # those within NEAR_M of it.
        tier = [h for h in hits if in_town(h)]
        if not tier:
            tier = [h for h in hits if any(_dist_m(h, a) <= NEAR_M for a in anchors)]
        if anchor is not None:
            tier.sort(key=lambda h: _dist_m(h, anchor))
        if not tier:
            where = "" if anchors else f" (no place called {town!r} in the map data)"
            msg = (f"no place {name!r} in or within {_km(NEAR_M)} of {town!r} in this map data{where}; "
                   f"places of that name: {_listing(hits, towns, ref)}")
            raise LocateError(msg)
        h = _pick(text, tier, towns, ref)
        if not in_town(h) and anchor is not None:
            own_near = own.nearest(h.lat, h.lon, other_than=normalise_name(h.name))
            warnings.append(f"{h.name} ({h.kind}) is {_km(_dist_m(h, anchor))} from {anchor.name}"
                            + (f"; the nearest settlement is {own_near[0]}" if own_near is not None else ""))
        return ResolvedPoint(h.lat, h.lon, f"{h.osm} {h.kind}", h.name, tuple(warnings), "place")
    h = _pick(text, hits, towns)
    return ResolvedPoint(h.lat, h.lon, f"{h.osm} {h.kind}", h.name, tuple(warnings), "place")


def _check_max_snap(max_snap_m: float) -> float:
    """``max_snap_m`` must be a finite distance, 0 < x <= 50 km (NaN would compare as 'near')."""
    try:
        x = float(max_snap_m)
    except (TypeError, ValueError):
        x = math.nan
    if isinstance(max_snap_m, bool) or not math.isfinite(x) or not 0.0 < x <= MAX_SNAP_LIMIT_M:
        msg = f"max_snap_m must be a finite distance in metres, 0 < max_snap_m <= {MAX_SNAP_LIMIT_M:.0f}; got {max_snap_m!r}"
        raise UsageError(msg)
    return x


def snap(net: Network, lat: float, lon: float, *, max_snap_m: float) -> tuple[int, float]:
    """Nearest coach-usable node and its distance; too far is an error.

    Raises
    ------
    UsageError
        ``max_snap_m`` is not a finite distance with 0 < max_snap_m <= 50,000 m.
    LocateError
        The nearest coach-usable node is farther than ``max_snap_m``.
    """
    limit = _check_max_snap(max_snap_m)
    x, y = to_bng([lon], [lat])
    dist, idx = net.kdtree.query(np.array([x[0], y[0]]))
    if not np.isfinite(dist) or dist > limit:
        msg = (
            f"point {lat:.5f},{lon:.5f} is {dist / 1000:.1f} km from the nearest road a coach may use "
            f"(limit {limit:.0f} m); is it inside the map data?"
        )
        raise LocateError(msg)
    return int(idx), float(dist)


def parse_latlon(text: str) -> tuple[float, float] | None:
    """``"51.58,-3.0"`` (or space separated) -> (lat, lon); ``None`` if the text is not two numbers.

    Raises
    ------
    LocateError
        Two numbers that are not a position: NaN or infinite, out of range, or lon,lat order.
    """
    m = _LATLON.match(text)
    if not m:
        return None
    lat, lon = float(m.group(1)), float(m.group(2))
    if not (math.isfinite(lat) and math.isfinite(lon)):
        msg = f"not a latitude,longitude: {text!r} (coordinates must be finite numbers)"
        raise LocateError(msg)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        msg = f"not a latitude,longitude: {text!r}"
        raise LocateError(msg)
    if not (49 <= lat <= 61.5) and (49 <= lon <= 61.5):
        msg = f"{text!r} looks like lon,lat; give latitude first (e.g. 51.58,-3.00)"
        raise LocateError(msg)
    return lat, lon


def resolve(
    text: str,
    net: Network,
    boundaries: Boundaries,
    *,
    max_snap_m: float = 750.0,
    data_dir: str | os.PathLike[str] | None = None,
) -> Stop:
    """Resolve what was typed (:func:`resolve_point`: ``lat,lon``, a postcode, a name with an
    optional town and postcode, looked up in the network's places) to a :class:`Stop` in a
    constituency of ``boundaries``.  Warnings (a postcode district, a venue placed by its
    postcode) are kept on the stop and logged.

    Raises
    ------
    UsageError
        Empty name, or ``max_snap_m`` not a finite distance with 0 < max_snap_m <= 50,000 m.
    LocateError
        Unknown or ambiguous name, a bad or unknown postcode, a bad position, or no coach road
        within ``max_snap_m``.
    DataError
        A postcode whose area file is missing from ``<data_dir>/postcodes``.
    """
    _check_max_snap(max_snap_m)
    if tuple(boundaries.codes) != tuple(net.cell_codes):
        msg = f"boundary set {boundaries.name} is not the one the network was built with"
        raise LocateError(msg)
    pt = resolve_point(text, places=net.places, data_dir=data_dir)
    for w in pt.warnings:
        log.warning("%s: %s", pt.label, w)
    node, d = snap(net, pt.lat, pt.lon, max_snap_m=max_snap_m)
    cell, how = boundaries.cell_at(pt.lat, pt.lon, snap_m=float(net.meta.get("overlay", {}).get("outside_snap_m", 2000.0)))
    return Stop(pt.label, pt.lat, pt.lon, node, d, pt.how, cell, how, pt.warnings)
