"""Turn what a planner types (``"51.58,-3.0"``, ``"Rogerstone"``) into a stop on the coach graph.

Names are found offline in the OSM data itself (places, named amenities).  A name resolves only
on an exact match after :func:`normalise_name` (case, Unicode form, punctuation, ``St``/``Saint``,
``&``/``and``); a name that merely contains, or shares a word with, what was typed is never taken.
An ambiguous or unknown name is an error that lists candidates, never a guess.  The stop keeps its
own point - it is charged to the constituency it stands in - and is joined to the nearest
coach-usable node.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from routeplan.boundaries import Boundaries, to_bng
from routeplan.errors import LocateError, UsageError
from routeplan.network import Network
from routeplan.osm import Place

_NUM = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:nan|inf(?:inity)?)"
_LATLON = re.compile(rf"^\s*({_NUM})\s*(?:,\s*|\s+)({_NUM})\s*$", re.IGNORECASE)
# Places of the same name closer than this are one place (a building mapped as node and way).
SAME_PLACE_M = 400.0
# Preference when one name matches several kinds of object.
_KIND_RANK = ("place=city", "place=town", "place=suburb", "place=village", "place=quarter", "place=neighbourhood", "place=hamlet")
# The largest distance a stop may be from the road a coach joins (50 km: beyond it a stop is a typo).
MAX_SNAP_LIMIT_M = 50_000.0
_N_SUGGEST = 5
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


def _dist_m(a: Place, b: Place) -> float:
    dy = (a.lat - b.lat) * 111_320.0
    dx = (a.lon - b.lon) * 111_320.0 * math.cos(math.radians(a.lat))
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


def find_place(text: str, places: Sequence[Place]) -> Place:
    """Find a place by name: an exact match after :func:`normalise_name`, never a partial one.

    Same-named objects within :data:`SAME_PLACE_M` of each other are one place.  If several
    distinct places match but exactly one of them is a settlement (``place=town`` ...), that one
    is taken.

    Raises
    ------
    UsageError
        The name is empty (or has no letters or digits).
    LocateError
        Unknown name (with up to five ranked candidates and their kinds), or several distinct
        places (listed with kinds and positions).
    """
    q = normalise_name(text)
    if not q:
        msg = "empty place name" if not text.strip() else f"empty place name: {text!r} has no letters or digits"
        raise UsageError(msg)
    hits = _group([p for p in places if normalise_name(p.name) == q])
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        ranked = [h for h in hits if h.kind in _KIND_RANK]
        if len(ranked) == 1:
            return ranked[0]
        listing = "; ".join(f"{h.name} ({h.kind}) at {h.lat:.5f},{h.lon:.5f}" for h in hits[:8])
        more = f" and {len(hits) - 8} more" if len(hits) > 8 else ""
        msg = f"place {text!r} is ambiguous: {listing}{more}. Give a fuller name or lat,lon"
        raise LocateError(msg)
    close = _suggestions(q, places)
    hint = f"; did you mean: {', '.join(f'{p.name} ({p.kind})' for p in close)}?" if close else ""
    msg = f"unknown place {text!r} in this map data{hint} (names must match exactly; they come from the OSM extract; or give lat,lon)"
    raise LocateError(msg)


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


def resolve(text: str, net: Network, boundaries: Boundaries, *, max_snap_m: float = 750.0) -> Stop:
    """Resolve ``lat,lon`` or a place name to a :class:`Stop` in a constituency of ``boundaries``.

    Raises
    ------
    UsageError
        Empty name, or ``max_snap_m`` not a finite distance with 0 < max_snap_m <= 50,000 m.
    LocateError
        Unknown or ambiguous name, a bad position, or no coach road within ``max_snap_m``.
    """
    _check_max_snap(max_snap_m)
    if tuple(boundaries.codes) != tuple(net.cell_codes):
        msg = f"boundary set {boundaries.name} is not the one the network was built with"
        raise LocateError(msg)
    pos = parse_latlon(text)
    if pos is not None:
        lat, lon = pos
        label, source = text.strip(), "lat,lon"
    else:
        place = find_place(text, net.places)
        lat, lon, label, source = place.lat, place.lon, place.name, f"{place.osm} {place.kind}"
    node, d = snap(net, lat, lon, max_snap_m=max_snap_m)
    cell, how = boundaries.cell_at(lat, lon, snap_m=float(net.meta.get("overlay", {}).get("outside_snap_m", 2000.0)))
    return Stop(label, lat, lon, node, d, source, cell, how)
