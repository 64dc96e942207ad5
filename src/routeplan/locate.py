"""Turn what a planner types (``"51.58,-3.0"``, ``"Rogerstone"``) into a stop on the coach graph.

Names are found offline in the OSM data itself (places, named amenities); an ambiguous or
unknown name is an error that lists candidates, never a guess.  The stop keeps its own point -
it is charged to the constituency it stands in - and is joined to the nearest coach-usable node.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from routeplan.boundaries import Boundaries, to_bng
from routeplan.errors import LocateError
from routeplan.network import Network
from routeplan.osm import Place

_LATLON = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*[, ]\s*(-?\d+(?:\.\d+)?)\s*$")
# Places of the same name closer than this are one place (a building mapped as node and way).
SAME_PLACE_M = 400.0
# Preference when one name matches several kinds of object.
_KIND_RANK = ("place=city", "place=town", "place=suburb", "place=village", "place=quarter", "place=neighbourhood", "place=hamlet")


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


def _group(places: Sequence[Place]) -> list[Place]:
    """Collapse same-named objects that are really one place; keep the most specific kind."""
    reps: list[Place] = []
    for p in sorted(places, key=lambda q: (_KIND_RANK.index(q.kind) if q.kind in _KIND_RANK else 99, q.osm)):
        if not any(r.name.lower() == p.name.lower() and _dist_m(r, p) < SAME_PLACE_M for r in reps):
            reps.append(p)
    return reps


def find_place(text: str, places: Sequence[Place]) -> Place:
    """Find a place by name: exact (case-insensitive) match first, then a unique partial match.

    Raises
    ------
    LocateError
        Unknown name (with close spellings), or several distinct places (listed with positions).
    """
    q = text.strip().lower()
    exact = [p for p in places if p.name.lower() == q]
    hits = _group(exact) if exact else _group([p for p in places if q in p.name.lower()])
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        ranked = [h for h in hits if h.kind in _KIND_RANK]
        if exact and len(ranked) == 1:
            return ranked[0]
        listing = "; ".join(f"{h.name} ({h.kind}) at {h.lat:.5f},{h.lon:.5f}" for h in hits[:8])
        more = f" and {len(hits) - 8} more" if len(hits) > 8 else ""
        msg = f"place {text!r} is ambiguous: {listing}{more}. Give a fuller name or lat,lon"
        raise LocateError(msg)
    close = difflib.get_close_matches(text, sorted({p.name for p in places}), n=5, cutoff=0.6)
    hint = f"; did you mean: {', '.join(close)}?" if close else ""
    msg = f"unknown place {text!r} in this map data{hint} (names come from the OSM extract; or give lat,lon)"
    raise LocateError(msg)


def snap(net: Network, lat: float, lon: float, *, max_snap_m: float) -> tuple[int, float]:
    """Nearest coach-usable node and its distance; too far is an error."""
    x, y = to_bng([lon], [lat])
    dist, idx = net.kdtree.query(np.array([x[0], y[0]]))
    if not np.isfinite(dist) or dist > max_snap_m:
        msg = (
            f"point {lat:.5f},{lon:.5f} is {dist / 1000:.1f} km from the nearest road a coach may use "
            f"(limit {max_snap_m:.0f} m); is it inside the map data?"
        )
        raise LocateError(msg)
    return int(idx), float(dist)


def resolve(text: str, net: Network, boundaries: Boundaries, *, max_snap_m: float = 750.0) -> Stop:
    """Resolve ``lat,lon`` or a place name to a :class:`Stop` in a constituency of ``boundaries``."""
    if tuple(boundaries.codes) != tuple(net.cell_codes):
        msg = f"boundary set {boundaries.name} is not the one the network was built with"
        raise LocateError(msg)
    m = _LATLON.match(text)
    if m:
        lat, lon = float(m.group(1)), float(m.group(2))
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            msg = f"not a latitude,longitude: {text!r}"
            raise LocateError(msg)
        if not (49 <= lat <= 61.5) and (49 <= lon <= 61.5):
            msg = f"{text!r} looks like lon,lat; give latitude first (e.g. 51.58,-3.00)"
            raise LocateError(msg)
        label, source = text.strip(), "lat,lon"
    else:
        place = find_place(text, net.places)
        lat, lon, label, source = place.lat, place.lon, place.name, f"{place.osm} {place.kind}"
    node, d = snap(net, lat, lon, max_snap_m=max_snap_m)
    cell, how = boundaries.cell_at(lat, lon, snap_m=float(net.meta.get("overlay", {}).get("outside_snap_m", 2000.0)))
    return Stop(label, lat, lon, node, d, source, cell, how)
