"""Read OpenStreetMap files (``.osm.pbf``, ``.osm``, ``.osm.bz2``) into plain arrays.

Keeps only the ways a coach may use (see :func:`routeplan.vehicle.way_access`) and named places
for the offline place resolver.  Motorway services and rest areas (``highway=services``,
``highway=rest_area``; nodes, or closed/open ways as the centroid of their nodes) join the places,
named or not (``"services"``), for the drivers' hours planner (:mod:`routeplan.hours`).
Everything downstream sees numpy arrays, never pyosmium objects.

A national download is mostly objects a router skips (a GB extract: about 230 M nodes and 32 M
ways, half of them buildings), so the work is pushed into libosmium's C++: only nodes and ways
are decoded, objects with neither a ``highway`` nor a ``name`` tag are dropped there, and the
chosen ways are written with their node locations to an OPL file that numpy parses (one C++ call
a way instead of a Python call a node reference).  Small files are read in one pass with a
location index over all nodes; large ones in two passes (tags first, then the locations of the
tracked road nodes only), as ``osmium tags-filter`` does.  Both give the same arrays as the
plain one-pass reader they replaced (``tests/test_osm_read.py`` keeps it as the oracle).
Progress is reported in bytes of the file read, from the reader's file position.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from array import array
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def road_label(tags: Mapping[str, str]) -> str:
    """How the ledger names a road: ``"A48 Cardiff Road"``, ``"A48"``, ``"Cardiff Road"`` or
    ``"unnamed residential"``."""
    return " ".join(t for t in (tags.get("ref"), tags.get("name")) if t) or f"unnamed {tags.get('highway', 'road')}"


def break_place_kind(tags: Mapping[str, str]) -> str | None:
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


class _FilePosition:
    """How far libosmium's reader has got in a file, from ``/proc/self/fdinfo`` (Linux): the one
    progress measure that moves while the C++ reader skips millions of objects no Python code
    sees.  Elsewhere ``pos()`` is None."""

    def __init__(self, path: Path) -> None:
        self.target = str(path.resolve())
        self.fd: int | None = None

    def pos(self) -> int | None:
        if self.fd is None:
            try:
                fds = os.listdir("/proc/self/fd")
            except OSError:
                return None
            for name in fds:
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/self/fd/{name}") == self.target:
                        self.fd = int(name)
            if self.fd is None:
                return None
        try:
            with open(f"/proc/self/fdinfo/{self.fd}", encoding="ascii") as fh:
                return int(fh.readline().split()[1])
        except (OSError, ValueError, IndexError):
            self.fd = None
            return None


class _Ticker:
    """Calls ``progress(bytes read, bytes to read)`` at most every 0.25 s, over one or two passes."""

    def __init__(self, path: Path, progress: Progress | None, passes: int) -> None:
        self.progress = progress
        self.size = path.stat().st_size
        self.total = passes * self.size
        self.path = path
        self.base = 0
        self.where: _FilePosition | None = None
        self.next = 0.0
        self.done = 0

    def start_pass(self, k: int) -> None:
        self.base = k * self.size
        self.where = _FilePosition(self.path)
        self.tick(force=True)

    def tick(self, *, force: bool = False) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if now < self.next and not force:
            return
        self.next = now + 0.25
        pos = self.where.pos() if self.where is not None else None
        if pos is not None:
            self.done = max(self.done, self.base + min(pos, self.size))
        self.progress(self.done, self.total)

    def finish(self) -> None:
        if self.progress is not None:
            self.progress(self.total, self.total)


class _Tags(Mapping[str, str]):
    """A libosmium tag list as a read-only mapping, looked up key by key in C++: most tagged
    objects a national read meets need two or three keys, not a dict of all their tags."""

    __slots__ = ("_tags",)

    def __init__(self, tags: Any) -> None:
        self._tags = tags

    def __getitem__(self, key: str) -> str:
        value = self._tags.get(key)
        if value is None:
            raise KeyError(key)
        return str(value)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._tags.get(key) is not None

    def __iter__(self) -> Iterator[str]:
        return (t.k for t in self._tags)

    def __len__(self) -> int:
        return len(self._tags)


@dataclass
class _Way:
    """A coach way's attributes, decided from its tags."""

    osm_id: int
    cls: int
    kph: float
    fwd: bool
    bwd: bool
    name: str


ROAD, PLACE = 0, 1


class _Collector:
    """What a read keeps, object by object in file order, whichever pass sees the geometry:
    places, node delays, coach ways and their valid node refs."""

    def __init__(self, path: Path, profile: CoachProfile, generated: bool) -> None:
        self.path = path
        self.profile = profile
        self.generated = generated
        self.ways: list[_Way] = []
        self.places: list[Place | None] = []  # a place way's entry is filled when its nodes are located
        self.place_ways: dict[int, tuple[str, str, bool]] = {}  # places index -> name, kind, services centroid
        self.delay_of: dict[int, float] = {}
        self.skipped = 0
        self.pending: list[tuple[int, list[tuple[int, int]]]] = []  # chosen ways and their roles, in file order
        self.counts = array("q")  # valid refs per coach way (filled from pass 2)
        self.refs = np.zeros(0, dtype=np.int64)  # valid refs of the coach ways, one way after another
        self.lons = np.zeros(0)
        self.lats = np.zeros(0)

    def node(self, obj: Any) -> None:
        """Named places, motorway services and node delays (signals, stop lines)."""
        otags = obj.tags
        if "highway" not in otags:  # no delay, no services: at most a named place
            name = otags.get("name")
            if name:
                kind = next((f"{k}={otags[k]}" for k in PLACE_KEYS if k in otags), None)
                if kind is not None and kind not in NOT_PLACES:
                    self.places.append(Place(name, kind, obj.location.lat, obj.location.lon, f"n{obj.id}"))
            return
        tags = _Tags(otags)  # street lamps, crossings, bus stops: a few look-ups, no copy
        d = node_delay_s(tags, self.profile)
        if d > 0:
            self.delay_of[obj.id] = d
        name = tags.get("name")
        if name and any(k in tags for k in PLACE_KEYS):
            kind = next(f"{k}={tags[k]}" for k in PLACE_KEYS if k in tags)
            if kind not in NOT_PLACES:
                self.places.append(Place(name, kind, obj.location.lat, obj.location.lon, f"n{obj.id}"))
        svc = break_place_kind(tags)
        if svc is not None and obj.location.valid():
            self.places.append(Place(name or "services", svc, obj.location.lat, obj.location.lon, f"n{obj.id}"))

    def way(self, obj: Any) -> list[tuple[int, int]]:
        """Decide from the tags what a way is: ``(ROAD, way index)`` for a coach way, ``(PLACE,
        places index)`` for a named place or services area (both for none in practice)."""
        src_key, src_val = SOURCE_TAG
        otags = obj.tags
        roles: list[tuple[int, int]] = []
        if "highway" not in otags:
            # Most ways are buildings and areas: look up the few keys needed in libosmium's tag
            # list instead of copying every tag into a dict.
            self.generated = self.generated or otags.get(src_key) == src_val
            name = otags.get("name")
            if name:
                kind = next((f"{k}={otags[k]}" for k in PLACE_KEYS if k in otags), None)
                if kind is not None and kind not in NOT_PLACES:
                    roles.append(self._place(name, kind, services=False))
            return roles
        if otags.get("highway") in self.profile.road_classes:
            tags: Mapping[str, str] = {t.k: t.v for t in otags}
        else:  # footways, paths, tracks: only counted (and services kept), so no copy
            tags = _Tags(otags)
        self.generated = self.generated or tags.get(src_key) == src_val
        svc = break_place_kind(tags)
        if svc is not None:
            roles.append(self._place(tags.get("name") or "services", svc, services=True))
        usable, fwd, bwd = way_access(tags, self.profile)
        if not usable:
            self.skipped += 1
            return roles
        roles.append((ROAD, len(self.ways)))
        self.ways.append(_Way(obj.id, CLASS_CODES[tags["highway"]], way_speed_kph(tags, self.profile), fwd, bwd, road_label(tags)))
        self.counts.append(0)
        return roles

    def choose(self, obj: Any) -> bool:
        """Whether a way is a coach way or a place, noting its roles."""
        roles = self.way(obj)
        if roles:
            self.pending.append((obj.id, roles))
        return bool(roles)

    def _place(self, name: str, kind: str, *, services: bool) -> tuple[int, int]:
        self.place_ways[len(self.places)] = (name, kind, services)
        self.places.append(None)
        return PLACE, len(self.places) - 1

    def fill(self, opl: Path, tick: Callable[[], None] | None = None) -> None:
        """Take the chosen ways' node refs and locations from the OPL file libosmium wrote
        (:func:`_parse_opl_ways`): a coach way keeps its valid refs (a node outside the extract cuts
        the way there), a place way gets the centroid of its valid nodes."""
        way_id, n_valid, ref, lon, lat = _parse_opl_ways(opl, tick)
        ends = np.cumsum(n_valid)
        if [w for w, _ in self.pending] != way_id.tolist():  # only if a way id repeats in the file
            msg = f"{self.path}: the ways read twice do not match"
            raise DataError(msg)
        road = np.zeros(way_id.shape[0], dtype=bool)
        for i, (_, roles) in enumerate(self.pending):
            for role, k in roles:
                if role == ROAD:
                    road[i] = True
                    self.counts[k] = int(n_valid[i])
                else:
                    pts = list(zip(lon[ends[i] - n_valid[i]:ends[i]].tolist(), lat[ends[i] - n_valid[i]:ends[i]].tolist(), strict=True))
                    if pts:
                        name, kind, services = self.place_ways[k]
                        if services:
                            c_lat, c_lon = _centroid(pts)
                        else:
                            arr = np.asarray(pts)
                            c_lat, c_lon = float(arr[:, 1].mean()), float(arr[:, 0].mean())
                        self.places[k] = Place(name, kind, c_lat, c_lon, f"w{way_id[i]}")
        keep = np.repeat(road, n_valid)
        self.refs, self.lons, self.lats = ref[keep], lon[keep], lat[keep]


_OPL_WAYS = "opl,add_metadata=false,locations_on_ways=true"
_OPL_BLOCK = 1 << 23


def _parse_opl_ways(path: Path, tick: Callable[[], None] | None = None) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The ways of an OPL file written with node locations (``w1 T... Nn5x-1.5y51.25,n6xy,...``),
    parsed with numpy instead of a Python call per node reference: way ids, valid refs per way,
    and the valid refs with their lon and lat (as :class:`osmium.osm.Location` gives them: the
    7-decimal fixed-point value divided by 1e7).  Other lines (nodes) are skipped."""
    ids: list[npt.NDArray[np.int64]] = []
    nvs: list[npt.NDArray[np.int64]] = []
    refs: list[npt.NDArray[np.int64]] = []
    lons: list[npt.NDArray[np.int64]] = []
    lats: list[npt.NDArray[np.int64]] = []
    rest = b""
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(_OPL_BLOCK)
            data = rest + chunk
            cut = data.rfind(b"\n") + 1 if chunk else len(data)
            rest = data[cut:]
            if cut:
                for out, part in zip((ids, nvs, refs, lons, lats), _parse_opl_block(data[:cut]), strict=True):
                    out.append(part)
            if tick is not None:
                tick()
            if not chunk:
                break
    empty = np.zeros(0, dtype=np.int64)
    lon_fix = np.concatenate(lons) if lons else empty
    lat_fix = np.concatenate(lats) if lats else empty
    return (np.concatenate(ids) if ids else empty, np.concatenate(nvs) if nvs else empty,
            np.concatenate(refs) if refs else empty, lon_fix / 1e7, lat_fix / 1e7)


def _parse_opl_block(data: bytes) -> tuple[npt.NDArray[np.int64], ...]:
    """One block of whole OPL lines: see :func:`_parse_opl_ways` (coordinates as fixed-point ints)."""
    buf = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buf == 10)
    starts = np.concatenate([[0], ends[:-1] + 1])
    way = buf[starts] == ord("w")
    starts, ends = starts[way], ends[way]
    spaces = np.flatnonzero(buf == 32)
    # Fields: "w<id> T<tags> N<refs>"; tags are %-escaped, so spaces only separate fields.
    first_space = spaces[np.searchsorted(spaces, starts)]
    n_start = spaces[np.searchsorted(spaces, ends) - 1] + 2
    if not np.all(buf[n_start - 1] == ord("N")):
        msg = "unexpected OPL way line"
        raise DataError(msg)
    way_id = _parse_digits(buf, starts + 1, first_space)
    mark = np.zeros(buf.shape[0] + 1, dtype=np.int8)
    has = n_start < ends
    mark[n_start[has]] = 1
    mark[ends[has]] = -1
    inside = np.cumsum(mark[:-1], dtype=np.int8) > 0  # bytes of the N fields
    pn = np.flatnonzero(inside & (buf == ord("n")))
    px = np.flatnonzero(inside & (buf == ord("x")))
    py = np.flatnonzero(inside & (buf == ord("y")))
    pe = np.sort(np.concatenate([np.flatnonzero(inside & (buf == ord(","))), ends[has]]))
    if not (pn.shape == px.shape == py.shape == pe.shape):
        msg = "unexpected OPL node list"
        raise DataError(msg)
    per_way = np.searchsorted(pn, ends) - np.searchsorted(pn, n_start)
    ref = _parse_digits(buf, pn + 1, px)
    valid = (py > px + 1) & (pe > py + 1)  # "n5xy": no valid location
    lon = _parse_fixed7(buf, px + 1, py)
    lat = _parse_fixed7(buf, py + 1, pe)
    owner = np.repeat(np.arange(way_id.shape[0]), per_way)
    n_valid = np.bincount(owner[valid], minlength=way_id.shape[0]).astype(np.int64)
    return way_id, n_valid, ref[valid], lon[valid], lat[valid]


def _gather(buf: npt.NDArray[np.uint8], a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
    """Bytes ``buf[a[i]:b[i]]`` as rows of a left-aligned matrix, and the mask of real bytes."""
    width = int((b - a).max()) if a.shape[0] else 0
    col = np.arange(width)
    inside = col[None, :] < (b - a)[:, None]
    idx = np.minimum(a[:, None] + col[None, :], buf.shape[0] - 1)
    return buf[idx], inside


def _parse_digits(buf: npt.NDArray[np.uint8], a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Unsigned decimal integers ``buf[a:b]``, vectorised (Horner over the columns)."""
    chars, inside = _gather(buf, a, b)
    val = np.zeros(a.shape[0], dtype=np.int64)
    for j in range(chars.shape[1]):
        val = np.where(inside[:, j], val * 10 + (chars[:, j].astype(np.int64) - 48), val)
    return val


def _parse_fixed7(buf: npt.NDArray[np.uint8], a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Decimals like ``-1.0000001`` or ``51`` (at most 7 decimals, as libosmium writes locations)
    as integers in units of 1e-7; empty fields give 0."""
    chars, inside = _gather(buf, a, b)
    digit = inside & (chars >= 48) & (chars <= 57)
    after_dot = np.logical_or.accumulate(inside & (chars == ord(".")), axis=1) if chars.shape[1] else digit
    val = np.zeros(a.shape[0], dtype=np.int64)
    for j in range(chars.shape[1]):
        val = np.where(digit[:, j], val * 10 + (chars[:, j].astype(np.int64) - 48), val)
    decimals = (digit & after_dot).sum(axis=1)
    val *= 10 ** (7 - decimals)
    negative = inside[:, 0] & (chars[:, 0] == ord("-")) if chars.shape[1] else np.zeros(a.shape[0], dtype=bool)
    return np.where(negative, -val, val)


# Above this size a file is read in two passes (memory for the road nodes' locations only, plus
# libosmium's id sets of about 1.6 GB at planet-wide ids); below it in one pass with a location
# index over all nodes (16-24 bytes a node, about twice the file size).
TWO_PASS_BYTES = 1 << 30


def read_osm(path: str | os.PathLike[str], profile: CoachProfile, *, progress: Progress | None = None,
             two_pass: bool | None = None) -> OsmRoads:
    """Read the coach-usable road ways, named places and motorway services/rest areas of an OSM file.

    Only nodes and ways are decoded, and libosmium drops in C++ every object with neither a
    ``highway`` nor a ``name`` tag (buildings, land use, barriers, addresses: most of a national
    file); Python sees the rest.  Two strategies give the same arrays:

    * one pass (``two_pass=False``): a location index over all nodes adds coordinates to the ways;
    * two passes (``two_pass=True``, as ``osmium tags-filter`` works): the ways' tags first, with
      libosmium tracking the ids of the chosen ways and their nodes, then the file again, in C++
      except for the chosen ways, storing the locations of the tracked nodes only.  Lean for
      national files (a GB extract has about 230 M nodes, 10 % of them on roads).

    ``None`` picks two passes for files of :data:`TWO_PASS_BYTES` or more.  ``progress(done,
    total)`` counts bytes read (over both passes), every 0.25 s.

    Raises
    ------
    DataError
        Missing, empty or corrupt file, or a file with no coach-usable roads.
    """
    import osmium

    path = Path(path)
    _check_file(path)
    if two_pass is None:
        two_pass = path.stat().st_size >= TWO_PASS_BYTES
    ticker = _Ticker(path, progress, 2 if two_pass else 1)
    try:
        generated = str(osmium.FileProcessor(str(path)).header.get("generator", "")).startswith(GENERATOR_PREFIX)
        got = _Collector(path, profile, generated)
        with tempfile.TemporaryDirectory(prefix="routeplan-osm-") as tmp:
            opl = Path(tmp) / "ways.opl"
            (_two_passes if two_pass else _one_pass)(osmium, path, got, ticker, opl)
            got.fill(opl, ticker.tick)
    except RuntimeError as exc:  # libosmium reports corrupt input as RuntimeError
        msg = f"cannot read OSM file {path}: {exc}"
        raise DataError(msg) from exc
    ticker.finish()
    return _assemble(got)


def _first_pass(osmium: Any, path: Path, *, locations: bool) -> Any:
    """Nodes and ways with a highway or name tag (a named object may be a place); the second
    filter drops, in C++, what the collector would ignore anyway."""
    fp = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
    if locations:
        fp = fp.with_locations()
    return fp.with_filter(osmium.filter.KeyFilter("highway", *PLACE_KEYS)).with_filter(osmium.filter.KeyFilter("highway", "name"))


def _one_pass(osmium: Any, path: Path, got: _Collector, ticker: _Ticker, opl: Path) -> None:
    """Locations of all nodes in an index; the chosen ways go, with their locations, to an OPL
    file (one C++ call a way, not a Python call a node)."""
    writer = osmium.SimpleWriter(osmium.io.File(str(opl), _OPL_WAYS), overwrite=True)
    try:
        ticker.start_pass(0)
        for obj in _first_pass(osmium, path, locations=True):
            ticker.tick()
            if isinstance(obj, osmium.osm.Way):
                if got.choose(obj):
                    writer.add_way(obj)
            elif isinstance(obj, osmium.osm.Node):
                got.node(obj)
    finally:
        writer.close()


def _two_passes(osmium: Any, path: Path, got: _Collector, ticker: _Ticker, opl: Path) -> None:
    """Pass 1: tags (no locations), tracking the chosen ways and their nodes.  Pass 2, in C++:
    the tracked nodes' locations, added to the tracked ways, which go to an OPL file.  A few
    tracked nodes and ways come back to Python as a heartbeat for the progress bar (the node
    section of a national file is minutes of C++ with no Python in between)."""
    tracker = osmium.IdTracker()
    firsts = array("q")
    ticker.start_pass(0)
    for obj in _first_pass(osmium, path, locations=False):
        ticker.tick()
        if isinstance(obj, osmium.osm.Way):
            if got.choose(obj):
                tracker.add_way(obj.id)
                tracker.add_references(obj)
                if len(got.pending) % 64 == 1 and len(obj.nodes):
                    firsts.append(obj.nodes[0].ref)
        elif isinstance(obj, osmium.osm.Node):
            got.node(obj)
    # About 64 heartbeat nodes spread over the id range (each costs libosmium 512 kB of id set),
    # and every 64th chosen way.
    beat_nodes: list[int] = []
    if len(firsts):
        beat_nodes = np.unique(np.quantile(np.frombuffer(firsts, dtype=np.int64), np.linspace(0, 1, 64), method="nearest")).tolist()
    beat_n = osmium.filter.IdFilter(beat_nodes)
    beat_n.enable_for(osmium.osm.NODE)
    beat_w = osmium.filter.IdFilter([w for w, _ in got.pending[::64]])
    beat_w.enable_for(osmium.osm.WAY)
    table = osmium.index.create_map("sparse_mem_array")
    locations = osmium.NodeLocationsForWays(table)
    locations.ignore_errors()
    tracked = tracker.id_filter()  # the handlers must outlive the iterator
    writer = osmium.SimpleWriter(osmium.io.File(str(opl), _OPL_WAYS), overwrite=True)
    try:
        ticker.start_pass(1)
        with osmium.io.Reader(str(path), osmium.osm.NODE | osmium.osm.WAY) as reader:
            for _ in osmium.OsmFileIterator(reader, tracked, locations, beat_n, writer, beat_w):
                ticker.tick()
    finally:
        writer.close()


def _assemble(got: _Collector) -> OsmRoads:
    """Arrays from the coach ways' valid refs: nodes numbered in order of first use, ways with
    fewer than two valid nodes dropped (their nodes kept, as the reader always has)."""
    path = got.path
    ref, lon, lat = got.refs, got.lons, got.lats
    cnt = np.frombuffer(got.counts, dtype=np.int64) if len(got.counts) else np.zeros(0, dtype=np.int64)
    keep = cnt >= 2
    if not keep.any():
        msg = f"no coach-usable roads in {path}"
        raise DataError(msg)
    uniq, first, inverse = np.unique(ref, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # node index = rank of the node's first use
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0])
    starts = np.cumsum(cnt) - cnt
    kept_cnt = cnt[keep]
    kept_pos = np.repeat(starts[keep] - (np.cumsum(kept_cnt) - kept_cnt), kept_cnt) + np.arange(int(kept_cnt.sum()))
    node_id = uniq[order]
    node_delay = np.zeros(node_id.shape[0], dtype=np.float64)
    if got.delay_of:
        osm_ids = np.fromiter(got.delay_of.keys(), dtype=np.int64, count=len(got.delay_of))
        delays = np.fromiter(got.delay_of.values(), dtype=np.float64, count=len(got.delay_of))
        at = np.minimum(np.searchsorted(uniq, osm_ids), uniq.shape[0] - 1)
        hit = uniq[at] == osm_ids
        node_delay[rank[at[hit]]] = delays[hit]
    kept = [w for w, k in zip(got.ways, keep.tolist(), strict=True) if k]
    places = [p for p in got.places if p is not None]
    if got.generated:
        log.warning("%s is a GENERATED synthetic network (routeplan.synth), not real roads", path.name)
    log.info("read %s: %d coach ways (%d highway ways unusable), %d nodes, %d places", path.name, len(kept), got.skipped, node_id.shape[0], len(places))
    return OsmRoads(
        node_id=node_id,
        node_delay=node_delay,
        node_lon=lon[first[order]],
        node_lat=lat[first[order]],
        way_id=np.array([w.osm_id for w in kept], dtype=np.int64),
        way_class=np.array([w.cls for w in kept], dtype=np.int8),
        way_kph=np.array([w.kph for w in kept], dtype=np.float64),
        way_fwd=np.array([w.fwd for w in kept], dtype=np.bool_),
        way_bwd=np.array([w.bwd for w in kept], dtype=np.bool_),
        way_ptr=np.concatenate([[0], np.cumsum(kept_cnt)]).astype(np.int64),
        way_nodes=rank[inverse[kept_pos]].astype(np.int64),
        way_name=[w.name for w in kept],
        places=places,
        skipped_ways=got.skipped,
        generated=got.generated,
    )
