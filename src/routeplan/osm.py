"""Read OpenStreetMap files (``.osm.pbf``, ``.osm``, ``.osm.bz2``) into plain arrays.

Keeps only the ways a coach may use (see :func:`routeplan.vehicle.way_access`) and named places
for the offline place resolver.  Motorway services and rest areas (``highway=services``,
``highway=rest_area``; nodes, or closed/open ways as the centroid of their nodes) join the places,
named or not (``"services"``), for the drivers' hours planner (:mod:`routeplan.hours`).
Everything downstream sees numpy arrays, never pyosmium objects.

A national download is mostly objects a router skips (a GB extract: about 230 M nodes and 32 M
ways, half of them buildings), so the work is pushed into libosmium's C++: only nodes and ways
are decoded, and objects with neither a ``highway`` tag nor a name and a place key are dropped
there.  Small files are read in one pass: a location index over all nodes, Python judging each
remaining object through pyosmium (tag look-ups in C++, never a copy of a tag list), and the
chosen ways written with their node locations to an OPL file that numpy parses (one C++ call a
way instead of a Python call a node reference).  Large ones are read in two passes, as
``osmium tags-filter`` does, with no Python call an object: libosmium writes the candidates as
OPL text, numba indexes it and Python judges each distinct tag list once (millions of footways,
street lamps and unnamed residential roads share a few thousand; named objects are judged one
by one); then libosmium writes the locations of the chosen ways' nodes only, reading the file
again.  Both give the same arrays as the plain one-pass reader they replaced
(``tests/test_osm_read.py`` keeps it as the oracle).
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


def _tag_getter(obj: Any) -> Callable[[str, None], str | None]:
    """``get(key, None)``: an object's tag value or None, one C++ call (pyosmium 4's own
    ``TagList.get`` adds a Python frame a look-up; this skips it where the binding allows)."""
    tags = obj.tags
    get = getattr(getattr(tags, "_pyosmium_data", None), "tags_get_value_by_key", None) if _FAST_TAGS else None
    return get if get is not None else tags.get  # type: ignore[no-any-return]


_FAST_TAGS = True  # tests switch it off to check the public path gives the same


class _Tags(Mapping[str, str]):
    """An object's tags as a read-only mapping, looked up key by key in C++.

    Copying a tag list into a dict costs pyosmium about 4 us a tag (and an exception at the end
    of each list), a look-up about 0.3 us: a coach way's access, speed and label need 15-20
    look-ups, most objects a national read meets two or three.  ``get`` and ``in`` never raise
    (a missing key is the common case)."""

    __slots__ = ("_get",)

    def __init__(self, get: Callable[[str, None], str | None]) -> None:
        self._get = get

    def get(self, key: str, default: Any = None) -> Any:
        value = self._get(key, None)
        return default if value is None else value

    def __getitem__(self, key: str) -> str:
        value = self._get(key, None)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._get(key, None) is not None

    def __iter__(self) -> Iterator[str]:
        msg = "tags are looked up by key, not listed"
        raise TypeError(msg)

    def __len__(self) -> int:
        msg = "tags are looked up by key, not counted"
        raise TypeError(msg)


def _place_kind(get: Callable[[str, None], str | None]) -> str | None:
    """``"amenity=pub"``: the first of :data:`PLACE_KEYS` an object has, as ``key=value``."""
    for k in PLACE_KEYS:
        v = get(k, None)
        if v is not None:
            return f"{k}={v}"
    return None


_BREAK_HIGHWAYS = frozenset(k.split("=", 1)[1] for k in BREAK_PLACE_KINDS)


@dataclass
class _Way:
    """A coach way's attributes, decided from its tags."""

    osm_id: int
    cls: int
    kph: float
    fwd: bool
    bwd: bool
    name: str


class _Collector:
    """What a read keeps, object by object in file order, whichever pass sees the geometry:
    places, node delays, coach ways and their valid node refs."""

    def __init__(self, path: Path, profile: CoachProfile, generated: bool) -> None:
        self.path = path
        self.profile = profile
        self.road_classes = frozenset(profile.road_classes)
        self.generated = generated
        self.ways: list[_Way] = []
        self.places: list[Place | None] = []  # a place way's entry is filled when its nodes are located
        self.place_ways: dict[int, tuple[str, str, bool]] = {}  # places index -> name, kind, services centroid
        self.delay_of: dict[int, float] = {}
        self.skipped = 0
        # The chosen ways in file order, with their roles: index in ``ways`` and in ``places`` (or -1).
        self.chosen_id = array("q")
        self.chosen_road = array("q")
        self.chosen_place = array("q")
        self.counts = np.zeros(0, dtype=np.int64)  # valid refs per coach way (filled by fill)
        self.refs = np.zeros(0, dtype=np.int64)  # valid refs of the coach ways, one way after another
        self.lons = np.zeros(0)
        self.lats = np.zeros(0)

    # Decisions from an object's tags, with no side effect (so a read of OPL text can reuse them
    # for every object with the same tags): ``get(key, None)`` gives a tag's value or None, and
    # ``tags`` is the same as a mapping for the vehicle rules (made from ``get`` if not given).

    def judge_node(self, get: Callable[[str, None], str | None], tags: Mapping[str, str] | None = None) -> tuple[str | None, str | None, float, str | None]:
        """``(name, place kind, delay, services kind)`` of a node: a named place, a node delay
        (signals, stop lines), motorway services (kinds None if not)."""
        name = get("name", None)
        kind = _place_kind(get) if name else None
        if kind in NOT_PLACES:
            kind = None
        hw = get("highway", None)
        if hw is None:  # no delay, no services
            return name, kind, 0.0, None
        d = node_delay_s(tags if tags is not None else _Tags(get), self.profile)  # street lamps, crossings, bus stops
        return name, kind, d, (f"highway={hw}" if hw in _BREAK_HIGHWAYS else None)

    def judge_way(self, get: Callable[[str, None], str | None], tags: Mapping[str, str] | None = None, *,
                  generated: bool = True) -> tuple[bool, tuple[int, float, bool, bool, str] | None, tuple[str, str, bool] | None, int]:
        """``(generated, road, place, skipped)`` of a way: whether it has the GENERATED source tag
        (looked up only if ``generated``), a coach way's ``(class, km/h, forward, backward,
        label)``, a place's ``(name, kind, services)``, and 1 for a highway a coach may not use.

        Most ways reaching here are footways, paths and tracks (only counted) and named
        buildings: a few look-ups each.  Only the road classes of the profile go through the
        access, speed and label rules."""
        src_key, src_val = SOURCE_TAG
        gen = generated and get(src_key, None) == src_val
        hw = get("highway", None)
        if hw is None:
            name = get("name", None)
            if name:
                kind = _place_kind(get)
                if kind is not None and kind not in NOT_PLACES:
                    return gen, None, (name, kind, False), 0
            return gen, None, None, 0
        place = (get("name", None) or "services", f"highway={hw}", True) if hw in _BREAK_HIGHWAYS else None
        if hw not in self.road_classes:  # way_access would say unusable
            return gen, None, place, 1
        if tags is None:
            tags = _Tags(get)
        usable, fwd, bwd = way_access(tags, self.profile)
        if not usable:
            return gen, None, place, 1
        return gen, (CLASS_CODES[hw], way_speed_kph(tags, self.profile), fwd, bwd, road_label(tags)), place, 0

    def add_node(self, judged: tuple[str | None, str | None, float, str | None], osm_id: int, lat: float | None, lon: float | None) -> None:
        """Keep what :meth:`judge_node` found (``lat`` None: the node has no location)."""
        name, kind, d, svc = judged
        if kind is not None and lat is not None:
            self.places.append(Place(name, kind, lat, lon, f"n{osm_id}"))  # type: ignore[arg-type]
        if d > 0:
            self.delay_of[osm_id] = d
        if svc is not None and lat is not None:
            self.places.append(Place(name or "services", svc, lat, lon, f"n{osm_id}"))  # type: ignore[arg-type]

    def add_way(self, judged: tuple[bool, tuple[int, float, bool, bool, str] | None, tuple[str, str, bool] | None, int], osm_id: int) -> bool:
        """Keep what :meth:`judge_way` found; whether the way is chosen (a coach way or a place)."""
        gen, road, place, skipped = judged
        if gen:
            self.generated = True
        self.skipped += skipped
        if road is None and place is None:
            return False
        p = -1
        if place is not None:
            p = len(self.places)
            self.place_ways[p] = place
            self.places.append(None)
        r = -1
        if road is not None:
            r = len(self.ways)
            self.ways.append(_Way(osm_id, *road))
        self.chosen_id.append(osm_id)
        self.chosen_road.append(r)
        self.chosen_place.append(p)
        return True

    def node(self, obj: Any) -> None:
        """A pyosmium node: :meth:`judge_node` with look-ups in libosmium's tag list."""
        judged = self.judge_node(_tag_getter(obj))
        if judged[1] is not None or judged[2] > 0 or judged[3] is not None:
            loc = obj.location
            valid = loc.valid()
            self.add_node(judged, obj.id, loc.lat if valid else None, loc.lon if valid else None)

    def choose(self, obj: Any) -> bool:
        """A pyosmium way: whether it is a coach way or a place (:meth:`judge_way`), noting its roles."""
        return self.add_way(self.judge_way(_tag_getter(obj), generated=not self.generated), obj.id)

    def read_candidates(self, opl: Path, chosen: Path, tick: Callable[[], None] | None = None) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Judge the objects of an OPL file libosmium wrote in file order (nodes, then ways), as
        :meth:`node` and :meth:`choose` judge pyosmium objects, but each distinct tag list of
        unnamed objects once: a national file's millions of footways, street lamps and unnamed
        residential roads share a few thousand.  numba indexes and hashes the lines, Python
        judges the distinct tag lists and the named objects, and visits only the objects that
        leave something (places, delays, chosen ways).  Writes the chosen ways' lines to
        ``chosen``; returns their node refs, one way after another, and the refs per way."""
        memo: dict[tuple[int, bytes], int] = {}
        judged: list[Any] = []  # of the distinct unnamed tag lists: the judgement, and
        acts: list[bool] = []  # whether it leaves something (per object)
        skips: list[int] = []  # highway ways a coach may not use
        gens: list[bool] = []  # GENERATED source tag
        refs: list[npt.NDArray[np.int64]] = []
        counts: list[npt.NDArray[np.int64]] = []
        with open(chosen, "wb") as out:
            for data in _opl_blocks(opl, tick):
                buf = np.frombuffer(data, dtype=np.uint8)
                kind, oid, span, fix, ok, digest, named = _opl_lines(data)
                # Distinct tag lists of the unnamed nodes and ways (hash, then bytes compared).
                jid = np.full(kind.shape[0], -1, dtype=np.int64)
                plain = np.flatnonzero(~named & ((kind == 0) | (kind == 1)))
                if plain.shape[0]:
                    keyed = digest[plain] ^ kind[plain].astype(np.uint64)
                    _, first, inverse = np.unique(keyed, return_index=True, return_inverse=True)
                    rep = plain[first]
                    ids = np.empty(rep.shape[0], dtype=np.int64)
                    for u, (k, a, b) in enumerate(zip(kind[rep].tolist(), span[rep, 2].tolist(), span[rep, 3].tolist(), strict=True)):
                        j = memo.get((k, data[a:b]))
                        if j is None:
                            tags = _opl_tags(data[a:b])
                            jt: Any = self.judge_way(tags.get, tags) if k == 1 else self.judge_node(tags.get, tags)
                            j = memo[(k, data[a:b])] = len(judged)
                            judged.append(jt)
                            if k == 1:
                                acts.append(jt[1] is not None or jt[2] is not None)
                                skips.append(jt[3])
                                gens.append(jt[0])
                            else:
                                acts.append(jt[1] is not None or jt[2] > 0 or jt[3] is not None)
                                skips.append(0)
                                gens.append(False)
                        ids[u] = j
                    same = _jit(_same_bytes_loop)(buf, span[plain, 2:4], span[rep[inverse], 2:4])
                    jid[plain[same]] = ids[inverse[same]]
                known = jid >= 0
                act = ~known & ((kind == 0) | (kind == 1))  # named (or a hash shared by two tag lists)
                if known.any():
                    act[known] = np.asarray(acts, dtype=bool)[jid[known]]
                    quiet = jid[known & ~act]  # counted here; the others by add_way
                    self.skipped += int(np.asarray(skips, dtype=np.int64)[quiet].sum())
                    self.generated = self.generated or bool(np.asarray(gens, dtype=bool)[quiet].any())
                rows = np.flatnonzero(act)
                lat, lon = (fix[rows, 1] / 1e7).tolist(), (fix[rows, 0] / 1e7).tolist()
                picked: list[int] = []
                for i, k, osm_id, j, a, b, valid, y, x in zip(rows.tolist(), kind[rows].tolist(), oid[rows].tolist(), jid[rows].tolist(),
                                                             span[rows, 2].tolist(), span[rows, 3].tolist(), ok[rows].tolist(), lat, lon, strict=True):
                    if j >= 0:
                        jt = judged[j]
                    else:
                        tags = _opl_tags(data[a:b])
                        jt = self.judge_way(tags.get, tags) if k == 1 else self.judge_node(tags.get, tags)
                    if k == 1:
                        if self.add_way(jt, osm_id):
                            picked.append(i)
                    else:
                        self.add_node(jt, osm_id, y if valid else None, x if valid else None)
                if picked:
                    sel = np.array(picked, dtype=np.int64)
                    r, c = _opl_refs(data, span[sel, 4], span[sel, 5])
                    refs.append(r)
                    counts.append(c)
                    out.write(b"".join(data[a:b + 1] for a, b in zip(span[sel, 0].tolist(), span[sel, 1].tolist(), strict=True)))
        empty = np.zeros(0, dtype=np.int64)
        return (np.concatenate(refs) if refs else empty), (np.concatenate(counts) if counts else empty)

    def fill(self, opl: Path, tick: Callable[[], None] | None = None) -> None:
        """Take the chosen ways' node refs and locations from the OPL file libosmium wrote
        (:func:`_parse_opl_ways`): a coach way keeps its valid refs (a node outside the extract cuts
        the way there), a place way gets the centroid of its valid nodes (a services area's
        closing node counted once), summed as numpy sums one way's coordinates."""
        self.take(*_parse_opl_ways(opl, tick))

    def take(self, way_id: npt.NDArray[np.int64], n_valid: npt.NDArray[np.int64], ref: npt.NDArray[np.int64],
             lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]) -> None:
        """The chosen ways' valid refs and their locations, way after way (see :meth:`fill`)."""
        chosen = np.frombuffer(self.chosen_id, dtype=np.int64) if len(self.chosen_id) else np.zeros(0, dtype=np.int64)
        if not np.array_equal(chosen, way_id):  # only if a way id repeats in the file
            msg = f"{self.path}: the ways read twice do not match"
            raise DataError(msg)
        road_k = np.array(self.chosen_road, dtype=np.int64)
        place_k = np.array(self.chosen_place, dtype=np.int64)
        starts = np.cumsum(n_valid) - n_valid
        road = road_k >= 0
        self.counts = np.zeros(len(self.ways), dtype=np.int64)
        self.counts[road_k[road]] = n_valid[road]
        at = np.flatnonzero((place_k >= 0) & (n_valid > 0))
        if at.shape[0]:
            services = np.array([self.place_ways[k][2] for k in place_k[at].tolist()], dtype=bool)
            first, n = starts[at], n_valid[at]
            last = first + n - 1
            closed = services & (n > 1) & (lon[first] == lon[last]) & (lat[first] == lat[last])
            n = n - closed
            c_lat, c_lon = np.empty(at.shape[0]), np.empty(at.shape[0])
            for size in np.unique(n).tolist():  # a (ways, size) matrix sums as one way's column does
                rows = np.flatnonzero(n == size)
                idx = first[rows][:, None] + np.arange(size)[None, :]
                c_lat[rows] = lat[idx].mean(axis=1)
                c_lon[rows] = lon[idx].mean(axis=1)
            for k, w, y, x in zip(place_k[at].tolist(), way_id[at].tolist(), c_lat.tolist(), c_lon.tolist(), strict=True):
                name, kind, _ = self.place_ways[k]
                self.places[k] = Place(name, kind, y, x, f"w{w}")
        keep = np.repeat(road, n_valid)
        self.refs, self.lons, self.lats = ref[keep], lon[keep], lat[keep]


_OPL_WAYS = "opl,add_metadata=false,locations_on_ways=true"
_OPL_BLOCK = 1 << 23
# From this size on the OPL file is parsed by a numba loop over its bytes (about 1 s a GB) rather
# than numpy's vectorised passes (about 40 s a GB); below it numba's import and load (about 1 s)
# do not pay.
NUMBA_OPL_BYTES = 1 << 26


def _opl_blocks(path: Path, tick: Callable[[], None] | None = None) -> Iterator[bytes]:
    """An OPL file in blocks of whole lines (about :data:`_OPL_BLOCK` bytes), ticking after each."""
    rest = b""
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(_OPL_BLOCK)
            data = rest + chunk
            cut = data.rfind(b"\n") + 1 if chunk else len(data)
            rest = data[cut:]
            if cut:
                yield data[:cut]
            if tick is not None:
                tick()
            if not chunk:
                break


def _parse_opl_ways(path: Path, tick: Callable[[], None] | None = None) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The ways of an OPL file written with node locations (``w1 T... Nn5x-1.5y51.25,n6xy,...``),
    parsed with numpy instead of a Python call per node reference: way ids, valid refs per way,
    and the valid refs with their lon and lat (as :class:`osmium.osm.Location` gives them: the
    7-decimal fixed-point value divided by 1e7).  Other lines (nodes) are skipped."""
    parse = _parse_opl_block_numba if path.stat().st_size >= NUMBA_OPL_BYTES else _parse_opl_block
    ids: list[npt.NDArray[np.int64]] = []
    nvs: list[npt.NDArray[np.int64]] = []
    refs: list[npt.NDArray[np.int64]] = []
    lons: list[npt.NDArray[np.int64]] = []
    lats: list[npt.NDArray[np.int64]] = []
    for data in _opl_blocks(path, tick):
        for out, part in zip((ids, nvs, refs, lons, lats), parse(data), strict=True):
            out.append(part)
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


def _opl_ways_loop(buf: Any) -> tuple[Any, ...]:  # pragma: no cover - compiled by numba
    """:func:`_parse_opl_block` as one loop over the bytes, for numba (see :func:`_parse_opl_block_numba`).
    The last field of a way line is its node list: ``N``, then ``n<ref>x<lon>y<lat>`` joined by
    commas, a coordinate empty when the node has no location."""
    n = buf.shape[0]
    way_id = np.empty(n // 6 + 1, np.int64)
    n_valid = np.empty(n // 6 + 1, np.int64)
    ref = np.empty(n // 5 + 1, np.int64)
    fix = np.empty((n // 5 + 1, 2), np.int64)
    nw = 0
    m = 0
    i = 0
    while i < n:
        e = i  # the line is buf[i:e]; its last field starts after its last space
        last_space = -1
        while e < n and buf[e] != 10:
            if buf[e] == 32:
                last_space = e
            e += 1
        if buf[i] == 119:  # "w"
            j = i + 1
            wid = 0
            while j < e and 48 <= buf[j] <= 57:
                wid = wid * 10 + (buf[j] - 48)
                j += 1
            if last_space < 0 or last_space + 1 >= e or buf[last_space + 1] != 78:  # "N"
                return way_id[:0], n_valid[:0], ref[:0], fix[:0, 0], fix[:0, 1], i
            k = last_space + 2
            cnt = 0
            while k < e:
                if buf[k] != 110:  # "n"
                    return way_id[:0], n_valid[:0], ref[:0], fix[:0, 0], fix[:0, 1], i
                k += 1
                r = 0
                while k < e and 48 <= buf[k] <= 57:
                    r = r * 10 + (buf[k] - 48)
                    k += 1
                valid = True
                for c in range(2):  # "x<lon>", "y<lat>": decimals with at most 7 places, as libosmium writes them
                    if k >= e or buf[k] != 120 + c:
                        return way_id[:0], n_valid[:0], ref[:0], fix[:0, 0], fix[:0, 1], i
                    k += 1
                    neg = k < e and buf[k] == 45
                    if neg:
                        k += 1
                    val = 0
                    digits = 0
                    dec = -1
                    while k < e:
                        b = buf[k]
                        if 48 <= b <= 57:
                            val = val * 10 + (b - 48)
                            digits += 1
                            if dec >= 0:
                                dec += 1
                        elif b == 46 and dec < 0:  # "."
                            dec = 0
                        else:
                            break
                        k += 1
                    dec = max(dec, 0)
                    while dec < 7:
                        val *= 10
                        dec += 1
                    fix[m, c] = -val if neg else val
                    valid = valid and digits > 0
                if k < e:
                    if buf[k] != 44:  # ","
                        return way_id[:0], n_valid[:0], ref[:0], fix[:0, 0], fix[:0, 1], i
                    k += 1
                if valid:
                    ref[m] = r
                    m += 1
                    cnt += 1
            way_id[nw] = wid
            n_valid[nw] = cnt
            nw += 1
        i = e + 1
    return way_id[:nw].copy(), n_valid[:nw].copy(), ref[:m].copy(), fix[:m, 0].copy(), fix[:m, 1].copy(), -1


_JITTED: dict[str, Any] = {}


def _jit(fn: Any) -> Any:
    """``fn`` compiled by numba, imported on first use only (small reads never pay for it; the
    compiled code is cached on disk)."""
    if fn.__name__ not in _JITTED:
        import numba

        _JITTED[fn.__name__] = numba.njit(cache=True, nogil=True)(fn)
    return _JITTED[fn.__name__]


def _opl_error(data: bytes, at: int) -> DataError:
    line = data[at:data.find(b"\n", at)][:80].decode("utf-8", "replace")
    return DataError(f"unexpected OPL line: {line!r}")


def _parse_opl_block_numba(data: bytes) -> tuple[npt.NDArray[np.int64], ...]:
    """:func:`_parse_opl_block`, the same arrays, compiled by numba."""
    *parts, bad = _jit(_opl_ways_loop)(np.frombuffer(data, dtype=np.uint8))
    if bad >= 0:
        raise _opl_error(data, bad)
    return tuple(parts)


def _opl_lines_loop(buf: Any, lines: int) -> tuple[Any, ...]:  # pragma: no cover - compiled by numba
    """The lines of an OPL block (at most ``lines``): each line's type (0 node, 1 way, 2
    relation, -1 other), id, its spans ``[line start, end, tags start, end, node list start,
    end]`` (the tag field after ``T``, the node list after ``N``; empty if absent) and a node's
    location in units of 1e-7 degrees, ``ok`` if it has one (fields ``x<lon> y<lat>``); and of
    the tag field a hash (64-bit FNV-1a) and whether it has the key ``name``."""
    n = buf.shape[0]
    kind = np.empty(lines, np.int8)
    digest = np.empty(lines, np.uint64)
    named = np.zeros(lines, np.bool_)
    oid = np.empty(lines, np.int64)
    span = np.empty((lines, 6), np.int64)
    fix = np.zeros((lines, 2), np.int64)
    ok = np.zeros(lines, np.bool_)
    nl = 0
    i = 0
    while i < n:
        e = i
        while e < n and buf[e] != 10:
            e += 1
        if e == i:
            i = e + 1
            continue
        c = buf[i]
        kind[nl] = 0 if c == 110 else (1 if c == 119 else (2 if c == 114 else -1))
        j = i + 1
        neg = j < e and buf[j] == 45
        if neg:
            j += 1
        v = 0
        while j < e and 48 <= buf[j] <= 57:
            v = v * 10 + (buf[j] - 48)
            j += 1
        oid[nl] = -v if neg else v
        span[nl, 0] = i
        span[nl, 1] = e
        for q in range(2, 6):
            span[nl, q] = j
        located = 0
        while j < e:
            if buf[j] == 32:
                j += 1
                continue
            f = j
            while j < e and buf[j] != 32:
                j += 1
            t = buf[f]
            if t == 84:  # "T"
                span[nl, 2] = f + 1
                span[nl, 3] = j
            elif t == 78:  # "N"
                span[nl, 4] = f + 1
                span[nl, 5] = j
            elif t == 120 or t == 121:  # "x", "y": decimals with at most 7 places, as libosmium writes them
                k = f + 1
                neg = k < j and buf[k] == 45
                if neg:
                    k += 1
                val = 0
                digits = 0
                dec = -1
                while k < j:
                    b = buf[k]
                    if 48 <= b <= 57:
                        val = val * 10 + (b - 48)
                        digits += 1
                        if dec >= 0:
                            dec += 1
                    elif b == 46 and dec < 0:
                        dec = 0
                    else:
                        break
                    k += 1
                dec = max(dec, 0)
                while dec < 7:
                    val *= 10
                    dec += 1
                fix[nl, t - 120] = -val if neg else val
                if digits > 0:
                    located += 1
        ok[nl] = located == 2
        h = np.uint64(14695981039346656037)
        a = span[nl, 2]
        for k in range(a, span[nl, 3]):
            h = (h ^ np.uint64(buf[k])) * np.uint64(1099511628211)
            if (k == a or buf[k - 1] == 44) and k + 5 <= span[nl, 3] and buf[k] == 110 and buf[k + 1] == 97 \
                    and buf[k + 2] == 109 and buf[k + 3] == 101 and buf[k + 4] == 61:  # "name="
                named[nl] = True
        digest[nl] = h
        nl += 1
        i = e + 1
    return kind[:nl], oid[:nl], span[:nl], fix[:nl], ok[:nl], digest[:nl], named[:nl]


def _same_bytes_loop(buf: Any, a: Any, b: Any) -> Any:  # pragma: no cover - compiled by numba
    """Whether ``buf[a[i, 0]:a[i, 1]] == buf[b[i, 0]:b[i, 1]]``, for each i."""
    out = np.zeros(a.shape[0], np.bool_)
    for i in range(a.shape[0]):
        n = a[i, 1] - a[i, 0]
        if n != b[i, 1] - b[i, 0]:
            continue
        same = True
        for k in range(n):
            if buf[a[i, 0] + k] != buf[b[i, 0] + k]:
                same = False
                break
        out[i] = same
    return out


def _opl_refs_loop(buf: Any, starts: Any, ends: Any) -> tuple[Any, ...]:  # pragma: no cover - compiled by numba
    """The node refs in OPL node lists ``buf[starts[i]:ends[i]]`` (``n5,n6``; locations, if
    any, skipped), one list after another, and their counts; the offset of a malformed list or -1."""
    total = 0
    for i in range(starts.shape[0]):
        total += (ends[i] - starts[i]) // 2 + 1
    ref = np.empty(total, np.int64)
    cnt = np.zeros(starts.shape[0], np.int64)
    m = 0
    for i in range(starts.shape[0]):
        k = starts[i]
        e = ends[i]
        while k < e:
            if buf[k] != 110:  # "n"
                return ref[:0], cnt, k
            k += 1
            neg = k < e and buf[k] == 45
            if neg:
                k += 1
            r = 0
            while k < e and 48 <= buf[k] <= 57:
                r = r * 10 + (buf[k] - 48)
                k += 1
            ref[m] = -r if neg else r
            m += 1
            cnt[i] += 1
            while k < e and buf[k] != 44:
                k += 1
            k += 1
    return ref[:m].copy(), cnt, -1


def _opl_lines(data: bytes) -> tuple[npt.NDArray[Any], ...]:
    """:func:`_opl_lines_loop` of a block of whole lines."""
    return _jit(_opl_lines_loop)(np.frombuffer(data, dtype=np.uint8), data.count(b"\n") + 1)  # type: ignore[no-any-return]


def _opl_refs(data: bytes, starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """:func:`_opl_refs_loop` of a block."""
    ref, cnt, bad = _jit(_opl_refs_loop)(np.frombuffer(data, dtype=np.uint8), starts, ends)
    if bad >= 0:
        raise _opl_error(data, data.rfind(b"\n", 0, bad) + 1)
    return ref, cnt


_OPL_CHARS: dict[str, str] = {}


def _opl_unescape(text: str) -> str:
    """libosmium's OPL escapes (``%20%`` for a space, ``%2c%`` for a comma, ``%25%`` for ``%``)
    undone: every ``%`` opens or closes one, so the odd parts between them are code points."""
    if "%" not in text:
        return text
    parts = text.split("%")
    for i in range(1, len(parts), 2):
        c = _OPL_CHARS.get(parts[i])
        if c is None:
            try:
                c = _OPL_CHARS[parts[i]] = chr(int(parts[i], 16))
            except ValueError as exc:
                msg = f"unexpected OPL escape in {text!r}"
                raise DataError(msg) from exc
        parts[i] = c
    return "".join(parts)


def _opl_tags(field: bytes) -> dict[str, str]:
    """An OPL tag field (``highway=primary,name=Cardiff%20%Road``) as a dict (the first value of
    a repeated key, as libosmium's look-up gives)."""
    tags: dict[str, str] = {}
    if field:
        for kv in field.decode("utf-8").split(","):
            k, _, v = kv.partition("=")
            if "%" in kv:
                k, v = _opl_unescape(k), _opl_unescape(v)
            tags.setdefault(k, v)
    return tags


def _read_opl_nodes(path: Path, tick: Callable[[], None] | None = None) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Ids and locations (1e-7 degrees) of the located nodes of an OPL file, in file order."""
    ids, lons, lats = [], [], []
    for data in _opl_blocks(path, tick):
        kind, oid, _, fix, ok, _, _ = _opl_lines(data)
        keep = (kind == 0) & ok
        ids.append(oid[keep])
        lons.append(fix[keep, 0])
        lats.append(fix[keep, 1])
    empty = np.zeros(0, dtype=np.int64)
    return tuple(np.concatenate(a) if a else empty for a in (ids, lons, lats))  # type: ignore[return-value]


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
    * two passes (``two_pass=True``, as ``osmium tags-filter`` works): the candidates' tags first
      (written by libosmium as OPL, judged per distinct tag list), then the file's nodes again,
      keeping the locations of the chosen ways' nodes only.  Lean and fast for national files
      (a GB extract has about 230 M nodes, 10 % of them on roads); numba parses the text.

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
            (_two_passes if two_pass else _one_pass)(osmium, path, got, ticker, Path(tmp))
    except RuntimeError as exc:  # libosmium reports corrupt input as RuntimeError
        msg = f"cannot read OSM file {path}: {exc}"
        raise DataError(msg) from exc
    ticker.finish()
    return _assemble(got)


def _candidates(osmium: Any) -> tuple[Any, Any]:
    """The C++ filters that keep what a read may need: nodes and ways with a highway tag, or with
    a name and a key of :data:`PLACE_KEYS` (a named object may be a place); buildings, land use,
    barriers, addresses, most of a national file, go no further."""
    return osmium.filter.KeyFilter("highway", *PLACE_KEYS), osmium.filter.KeyFilter("highway", "name")


def _one_pass(osmium: Any, path: Path, got: _Collector, ticker: _Ticker, tmp: Path) -> None:
    """Locations of all nodes in an index; Python judges each candidate object, and the chosen
    ways go, with their locations, to an OPL file (one C++ call a way, not a Python call a node)."""
    opl = tmp / "ways.opl"
    writer = osmium.SimpleWriter(osmium.io.File(str(opl), _OPL_WAYS), overwrite=True)
    try:
        ticker.start_pass(0)
        fp = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations()
        for f in _candidates(osmium):
            fp = fp.with_filter(f)
        way_type = osmium.osm.Way
        for obj in fp:
            ticker.tick()
            if isinstance(obj, way_type):
                if got.choose(obj):
                    writer.add_way(obj)
            else:
                got.node(obj)
    finally:
        writer.close()
    got.fill(opl, ticker.tick)


# Tags of objects spread through a national file (and found among the candidates): libosmium
# hands them to Python while it streams everything else in C++, as the heartbeat of the progress bar.
_HEARTBEAT_TAGS = (*(("place", v) for v in ("city", "town", "village", "hamlet", "suburb", "quarter", "neighbourhood", "locality", "isolated_dwelling")),
                   *(("highway", v) for v in ("motorway", "trunk", "primary", "secondary", "tertiary", "traffic_signals", "motorway_junction")))


def _two_passes(osmium: Any, path: Path, got: _Collector, ticker: _Ticker, tmp: Path) -> None:
    """As ``osmium tags-filter`` works, Python reading text rather than objects:

    1. libosmium writes the candidates (:func:`_candidates`) to an OPL file, and Python judges
       each distinct tag list once (:meth:`_Collector.read_candidates`: a national file's
       millions of footways, street lamps and unnamed residential roads share a few thousand),
       keeping the chosen ways' node refs;
    2. libosmium tracks those nodes (from the chosen ways, written back as OPL) and writes their
       locations, reading the file's nodes again; numpy looks the refs up there.

    The heartbeat of the progress bar: objects with :data:`_HEARTBEAT_TAGS` in pass 1, about 64
    tracked nodes spread over the id range in pass 2 (each costs libosmium 512 kB of id set)."""
    cand = tmp / "candidates.opl"
    writer = osmium.SimpleWriter(osmium.io.File(str(cand), "opl,add_metadata=false"), overwrite=True)
    beat = osmium.filter.TagFilter(*_HEARTBEAT_TAGS)
    filters = _candidates(osmium)  # the handlers must outlive the iterator
    try:
        ticker.start_pass(0)
        with osmium.io.Reader(str(path), osmium.osm.NODE | osmium.osm.WAY) as reader:
            for _ in osmium.OsmFileIterator(reader, *filters, writer, beat):
                ticker.tick()
    finally:
        writer.close()
    log.debug("pass 1 (candidates to OPL) done at %.1f s process cpu", time.process_time())
    chosen = tmp / "chosen.opl"
    refs, counts = got.read_candidates(cand, chosen, ticker.tick)
    log.debug("candidates judged at %.1f s process cpu", time.process_time())
    cand.unlink()
    tracker = osmium.IdTracker()
    for w in got.chosen_id:
        tracker.add_way(w)
    tracker.complete_backward_references(str(chosen), relation_depth=0)
    chosen.unlink()
    log.debug("road nodes tracked at %.1f s process cpu", time.process_time())
    beat_nodes: list[int] = []
    if refs.shape[0]:
        beat_nodes = np.unique(np.quantile(refs, np.linspace(0, 1, 64), method="nearest")).tolist()
    beat_n = osmium.filter.IdFilter(beat_nodes)
    tracked = tracker.id_filter()
    nodes = tmp / "nodes.opl"
    writer = osmium.SimpleWriter(osmium.io.File(str(nodes), "opl,add_metadata=false"), overwrite=True)
    try:
        ticker.start_pass(1)
        with osmium.io.Reader(str(path), osmium.osm.NODE) as reader:
            for _ in osmium.OsmFileIterator(reader, tracked, writer, beat_n):
                ticker.tick()
    finally:
        writer.close()
    del tracker, tracked
    log.debug("pass 2 (road nodes to OPL) done at %.1f s process cpu", time.process_time())
    node_id, lon_fix, lat_fix = _read_opl_nodes(nodes, ticker.tick)
    nodes.unlink()
    # Each ref's location: the node of that id written in pass 2 (none: a node outside the
    # extract, which cuts the way there).
    if node_id.shape[0] > 1 and not np.all(node_id[1:] > node_id[:-1]):
        order = np.argsort(node_id, kind="stable")
        node_id, lon_fix, lat_fix = node_id[order], lon_fix[order], lat_fix[order]
    pos = np.minimum(np.searchsorted(node_id, refs), max(node_id.shape[0] - 1, 0))
    found = node_id[pos] == refs if node_id.shape[0] else np.zeros(refs.shape[0], dtype=bool)
    owner = np.repeat(np.arange(counts.shape[0]), counts)
    n_valid = np.bincount(owner[found], minlength=counts.shape[0]).astype(np.int64)
    pos = pos[found]
    way_id = np.frombuffer(got.chosen_id, dtype=np.int64) if len(got.chosen_id) else np.zeros(0, dtype=np.int64)
    got.take(way_id, n_valid, refs[found], lon_fix[pos] / 1e7, lat_fix[pos] / 1e7)


def _assemble(got: _Collector) -> OsmRoads:
    """Arrays from the coach ways' valid refs: nodes numbered in order of first use, ways with
    fewer than two valid nodes dropped (their nodes kept, as the reader always has)."""
    path = got.path
    ref, lon, lat = got.refs, got.lons, got.lats
    cnt = got.counts
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
