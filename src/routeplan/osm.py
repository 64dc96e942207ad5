"""Read OpenStreetMap files (``.osm.pbf``, ``.osm``, ``.osm.bz2``) into plain arrays.

One streaming pass with pyosmium (its C++ node-location index resolves way geometry), keeping
only the ways a coach may use (see :func:`routeplan.vehicle.way_access`) and named places for the
offline place resolver.  Motorway services and rest areas (``highway=services``,
``highway=rest_area``; nodes, or closed/open ways as the centroid of their nodes) join the places,
named or not (``"services"``), for the drivers' hours planner (:mod:`routeplan.hours`).
Everything downstream sees numpy arrays, never pyosmium objects.
"""

from __future__ import annotations

import logging
import os
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from routeplan.errors import DataError
from routeplan.vehicle import CLASS_CODES, CoachProfile, node_delay_s, way_access, way_speed_kph

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None], None]

# Tags that make a named object a place a planner may name as a stop.
PLACE_KEYS = ("place", "amenity", "leisure", "tourism", "building", "shop", "railway", "public_transport", "office", "historic", "sport")
# Named objects that are lines, not places one can stop at.
NOT_PLACES = {"railway=rail", "railway=razed", "railway=abandoned", "railway=disused", "railway=platform_edge"}
# Places where a coach may take a drivers' break off the carriageway (OSM highway=services/rest_area).
BREAK_PLACE_KINDS = ("highway=services", "highway=rest_area")
SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz", ".o5m")
# How routeplan.synth marks its GENERATED files, inside the file itself: the header's generator
# (PBF ``writingprogram``, XML ``generator``) and a ``source`` tag on every node and way.
GENERATOR_PREFIX = "routeplan.synth"
SOURCE_TAG = ("source", "routeplan-synth")


@dataclass(frozen=True)
class Place:
    """A named OSM object, as a point: a town, a leisure centre, a town hall."""

    name: str
    kind: str  # e.g. "place=town", "leisure=sports_centre"
    lat: float
    lon: float
    osm: str  # "n123" / "w456"


@dataclass
class OsmRoads:
    """Coach-usable ways and their nodes, as flat arrays.

    ``way_nodes[way_ptr[i]:way_ptr[i+1]]`` are indexes into ``node_lon``/``node_lat``/``node_id``.
    """

    node_id: npt.NDArray[np.int64]
    node_lon: npt.NDArray[np.float64]
    node_lat: npt.NDArray[np.float64]
    node_delay: npt.NDArray[np.float64]  # seconds to pass the node (signals, stop lines)
    way_id: npt.NDArray[np.int64]
    way_class: npt.NDArray[np.int8]
    way_kph: npt.NDArray[np.float64]
    way_fwd: npt.NDArray[np.bool_]
    way_bwd: npt.NDArray[np.bool_]
    way_ptr: npt.NDArray[np.int64]
    way_nodes: npt.NDArray[np.int64]
    way_name: list[str]
    places: list[Place]
    skipped_ways: int  # highway ways a coach may not use
    generated: bool = False  # synthetic (routeplan.synth): the file's header or tags say so


def road_label(tags: dict[str, str]) -> str:
    """How the ledger names a road: ``"A48 Cardiff Road"``, ``"A48"``, ``"Cardiff Road"`` or
    ``"unnamed residential"``."""
    return " ".join(t for t in (tags.get("ref"), tags.get("name")) if t) or f"unnamed {tags.get('highway', 'road')}"


def break_place_kind(tags: dict[str, str]) -> str | None:
    """``"highway=services"`` or ``"highway=rest_area"`` for a motorway services / rest area, else None."""
    kind = f"highway={tags.get('highway')}"
    return kind if kind in BREAK_PLACE_KINDS else None


def _centroid(lonlat: list[tuple[float, float]]) -> tuple[float, float]:
    """(lat, lon) mean of a way's node locations (a closed way's repeated first node counted once)."""
    if len(lonlat) > 1 and lonlat[0] == lonlat[-1]:
        lonlat = lonlat[:-1]
    arr = np.asarray(lonlat)
    return float(arr[:, 1].mean()), float(arr[:, 0].mean())


def _check_file(path: Path) -> None:
    if not path.exists():
        msg = f"OSM file not found: {path}"
        raise DataError(msg)
    if not path.is_file():
        msg = f"not a file: {path}"
        raise DataError(msg)
    if not path.name.lower().endswith(SUFFIXES):
        msg = f"not an OSM file (expected one of {', '.join(SUFFIXES)}): {path}"
        raise DataError(msg)
    if path.stat().st_size == 0:
        msg = f"OSM file is empty: {path}"
        raise DataError(msg)


def read_osm(path: str | os.PathLike[str], profile: CoachProfile, *, progress: Progress | None = None) -> OsmRoads:
    """Read the coach-usable road ways, named places and motorway services/rest areas of an OSM file.

    Raises
    ------
    DataError
        Missing, empty or corrupt file, or a file with no coach-usable roads.
    """
    import osmium

    path = Path(path)
    _check_file(path)
    node_index: dict[int, int] = {}
    # Typed arrays, not lists: no Python object per coordinate or node reference.
    lons = array("d")
    lats = array("d")
    ids = array("q")
    w_id = array("q")
    w_cls: list[int] = []
    w_kph: list[float] = []
    w_fwd: list[bool] = []
    w_bwd: list[bool] = []
    w_ptr = array("q", [0])
    w_nodes = array("q")
    w_name: list[str] = []
    places: list[Place] = []
    delay_of: dict[int, float] = {}
    skipped = 0
    seen = 0
    keys = ("highway", *PLACE_KEYS)
    src_key, src_val = SOURCE_TAG
    try:
        # The second filter drops, in C++, what the loop below would ignore anyway: objects with
        # none of highway (roads, signals, services), name (places) or source (GENERATED mark,
        # read on ways) - mostly unnamed buildings, three quarters of a town's tagged objects.
        fp = (
            osmium.FileProcessor(str(path))
            .with_locations()
            .with_filter(osmium.filter.KeyFilter(*keys))
            .with_filter(osmium.filter.KeyFilter("highway", "name", src_key))
        )
        generated = str(fp.header.get("generator", "")).startswith(GENERATOR_PREFIX)
        for obj in fp:
            if isinstance(obj, osmium.osm.Way):
                seen += 1
                if progress and seen % 20000 == 0:
                    progress(seen, None)
                otags = obj.tags
                if "highway" not in otags:
                    # Most ways are buildings and areas: look up the few keys needed in
                    # libosmium's tag list instead of copying every tag into a dict.
                    generated = generated or otags.get(src_key) == src_val
                    name = otags.get("name")
                    if name:
                        kind = next((f"{k}={otags[k]}" for k in PLACE_KEYS if k in otags), None)
                        if kind is not None and kind not in NOT_PLACES:
                            pts = [(n.location.lon, n.location.lat) for n in obj.nodes if n.location.valid()]
                            if pts:
                                arr = np.asarray(pts)
                                places.append(Place(name, kind, float(arr[:, 1].mean()), float(arr[:, 0].mean()), f"w{obj.id}"))
                    continue  # not a road, and break_place_kind needs highway=*
                tags = {t.k: t.v for t in otags}
                generated = generated or tags.get(src_key) == src_val
                name = tags.get("name")
                if name and any(k in tags for k in PLACE_KEYS) and "highway" not in tags:
                    pts = [(n.location.lon, n.location.lat) for n in obj.nodes if n.location.valid()]
                    if pts:
                        arr = np.asarray(pts)
                        kind = next(f"{k}={tags[k]}" for k in PLACE_KEYS if k in tags)
                        if kind not in NOT_PLACES:
                            places.append(Place(name, kind, float(arr[:, 1].mean()), float(arr[:, 0].mean()), f"w{obj.id}"))
                svc = break_place_kind(tags)
                if svc is not None:
                    pts = [(n.location.lon, n.location.lat) for n in obj.nodes if n.location.valid()]
                    if pts:
                        lat, lon = _centroid(pts)
                        places.append(Place(name or "services", svc, lat, lon, f"w{obj.id}"))
                if "highway" not in tags:
                    continue
                usable, fwd, bwd = way_access(tags, profile)
                if not usable:
                    skipped += 1
                    continue
                refs = []
                for n in obj.nodes:
                    if not n.location.valid():
                        continue  # node outside the extract: the way is cut there
                    idx = node_index.get(n.ref)
                    if idx is None:
                        idx = node_index[n.ref] = len(ids)
                        ids.append(n.ref)
                        lons.append(n.location.lon)
                        lats.append(n.location.lat)
                    refs.append(idx)
                if len(refs) < 2:
                    continue
                w_id.append(obj.id)
                w_cls.append(CLASS_CODES[tags["highway"]])
                w_kph.append(way_speed_kph(tags, profile))
                w_fwd.append(fwd)
                w_bwd.append(bwd)
                w_nodes.extend(refs)
                w_ptr.append(len(w_nodes))
                w_name.append(road_label(tags))
            elif isinstance(obj, osmium.osm.Node):
                otags = obj.tags
                if "highway" not in otags:  # no delay, no services: at most a named place
                    name = otags.get("name")
                    if name:
                        kind = next((f"{k}={otags[k]}" for k in PLACE_KEYS if k in otags), None)
                        if kind is not None and kind not in NOT_PLACES:
                            places.append(Place(name, kind, obj.location.lat, obj.location.lon, f"n{obj.id}"))
                    continue
                tags = {t.k: t.v for t in otags}
                d = node_delay_s(tags, profile)
                if d > 0:
                    delay_of[obj.id] = d
                name = tags.get("name")
                if name and any(k in tags for k in PLACE_KEYS):
                    kind = next(f"{k}={tags[k]}" for k in PLACE_KEYS if k in tags)
                    if kind not in NOT_PLACES:
                        places.append(Place(name, kind, obj.location.lat, obj.location.lon, f"n{obj.id}"))
                svc = break_place_kind(tags)
                if svc is not None and obj.location.valid():
                    places.append(Place(name or "services", svc, obj.location.lat, obj.location.lon, f"n{obj.id}"))
    except RuntimeError as exc:  # libosmium reports corrupt input as RuntimeError
        msg = f"cannot read OSM file {path}: {exc}"
        raise DataError(msg) from exc
    if not w_id:
        msg = f"no coach-usable roads in {path}"
        raise DataError(msg)
    if generated:
        log.warning("%s is a GENERATED synthetic network (routeplan.synth), not real roads", path.name)
    log.info("read %s: %d coach ways (%d highway ways unusable), %d nodes, %d places", path.name, len(w_id), skipped, len(ids), len(places))
    node_delay = np.zeros(len(ids), dtype=np.float64)
    for osm_id, d in delay_of.items():
        idx = node_index.get(osm_id)
        if idx is not None:
            node_delay[idx] = d
    return OsmRoads(
        node_id=np.frombuffer(ids, dtype=np.int64).copy(),
        node_delay=node_delay,
        node_lon=np.frombuffer(lons, dtype=np.float64).copy(),
        node_lat=np.frombuffer(lats, dtype=np.float64).copy(),
        way_id=np.frombuffer(w_id, dtype=np.int64).copy(),
        way_class=np.asarray(w_cls, dtype=np.int8),
        way_kph=np.asarray(w_kph, dtype=np.float64),
        way_fwd=np.asarray(w_fwd, dtype=np.bool_),
        way_bwd=np.asarray(w_bwd, dtype=np.bool_),
        way_ptr=np.frombuffer(w_ptr, dtype=np.int64).copy(),
        way_nodes=np.frombuffer(w_nodes, dtype=np.int64).copy(),
        way_name=w_name,
        places=places,
        skipped_ways=skipped,
        generated=generated,
    )
