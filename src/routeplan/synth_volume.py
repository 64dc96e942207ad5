"""GENERATED PBF of the download volume and object mix of Great Britain, over a GENERATED road network.

Reading, filtering and building must be measured on a file of the size a planner downloads
(Geofabrik's ``great-britain-latest.osm.pbf``), not only on the road-only presets of
:mod:`routeplan.synth`: most of a real file is objects a router skips (buildings, land use,
barriers, points of interest, relations), and road ways carry a shape node every few tens of
metres.  This module takes an existing GENERATED road network (a ``routeplan synth`` PBF) and
writes, in one streaming pass per object type, a PBF with

* the source's road ways, each segment densified with collinear shape nodes every 20-40 m
  (so the road graph read back is the source's, junction for junction, with the shape nodes as
  geometry);
* non-coach highway ways (footways, paths, tracks, private service roads, ...), buildings
  (closed 4-6-corner ways), land use, natural areas, barriers, waterways, parking and leisure
  areas, railways and power lines, all placed near the roads;
* tagged nodes (addresses, named points of interest, bus stops and other highway furniture,
  trees, barriers, power poles) and relations (multipolygons, routes, turn restrictions,
  sites);

in OSM's order (nodes, ways, relations, each by id), with realistically spread ids and
metadata (version and timestamp, as in Geofabrik's public files).

Volume and mix (scale 1.0), with their basis
--------------------------------------------
No OSM statistics can be fetched on this machine, so the targets are estimates, stated here:

* **Size and totals.**  Geofabrik's Great Britain extract was about 1.9-2.0 GB in 2025.  The
  planet (about 80 GB of PBF) holds about 9.9 billion nodes, 1.1 billion ways and 13 million
  relations, 8 bytes of PBF per node all told; 1.95 GB at that rate is about 240 million
  nodes.  Great Britain is building-heavy (more ways per node than the planet), so we take
  **230 M nodes, 32 M ways and 600 k relations** (:data:`GB_NODES`, :data:`GB_WAYS`,
  :data:`GB_RELATIONS`).
* **Ways.**  About half are buildings (**16 M**); highways are about 13 % (**4.2 M**: the
  source's coach roads plus 3.4 M footways, paths, tracks, cycleways, private service roads,
  steps and bridleways); the rest is land use (2.5 M), barriers (4 M: fences, walls and hedges
  are mapped densely in Britain), natural areas (2 M), parking and leisure areas (1.2 M),
  waterways (0.8 M) and other lines (railways, power lines, man-made: 1.34 M).  See
  :data:`WAY_KINDS`.
* **Nodes.**  About 4 % carry tags (**9 M**: addresses, named points of interest and places,
  bus stops and street furniture, trees, gates, power poles; :data:`NODE_KINDS`); the rest are
  way nodes: the densified roads, 4-6 corners per building (5 on average), and 2-22 nodes per
  other way (polygons of land use and woods have more, fences fewer).
* **Relations.**  Multipolygons 45 %, turn restrictions 30 %, routes 10 %, sites and others 15 %
  (:data:`RELATION_SHARE`).
* **Ids.**  Node ids up to about 1.3e10, way ids to 1.45e9, relation ids to 1.95e7 (the
  planet's current maxima), so ids are spread like a real extract's (2 % dense for nodes).  This
  matters: libosmium chooses its node-location index (dense array or sorted id list) by id
  density.
* **Other keys.**  About a fifth of the ways carry a ``source=*`` tag (bing, survey, OS
  OpenData StreetView, ...), as British data does.

The extras are laid down per kilometre of source road at the density that gives the totals
above on ``routeplan synth --preset gb --seed 0`` (:data:`REFERENCE_ROAD_KM`, measured on that
file; its 757,739 road km and 3.35 M nodes densify to about 23 M road nodes), so a regional
source gets a regional share.  ``scale`` < 1 keeps the southern part of the source's roads
(whole ways, ordered by the latitude of their first node) holding that share of the road km,
with its extras: a partial extract of the same density, as Geofabrik's sub-regions are.

Limits: the extras' geometry is plausible, not consistent (buildings may overlap each other
or a road, multipolygon rings are not nested, routes are not continuous); routers skip all of
it, and ``osmium tags-filter`` does not look at geometry.

Writing
-------
The file is written by libosmium through pyosmium: each chunk of about ``chunk_km`` of road is
formatted as OPL text with numpy (no Python object per node) and parsed straight into a
:class:`osmium.SimpleWriter` (``osmium.apply``), which encodes PBF.  Three passes over the
chunks (nodes, ways, relations) regenerate each chunk from its own seed, so memory is bounded
by one chunk and the output is a deterministic function of (source, seed, scale, chunk_km).
The GENERATED mark is the header's ``generator`` (``routeplan.synth_volume ...``, recognised by
:mod:`routeplan.osm`) and the source's ``source=routeplan-synth`` tags on every road way, which
survive a ``tags-filter``.

Usage::

    python -m routeplan.synth_volume OUT.osm.pbf --source gb-seed0.osm.pbf --scale 0.01
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import osmium

from routeplan.atomic import atomic_path, atomic_write
from routeplan.boundaries import sha256_file
from routeplan.osm import GENERATOR_PREFIX

log = logging.getLogger(__name__)

GENERATOR = f"{GENERATOR_PREFIX}_volume (GENERATED synthetic network and objects, not OSM data)"
NOTE = (
    "GENERATED file of Great Britain's OSM download volume and mix over a GENERATED road network; "
    "nothing in it is real and it must not be used for navigation"
)

GB_NODES = 230_000_000
GB_WAYS = 32_000_000
GB_RELATIONS = 600_000
NODE_ID_MAX = 13_000_000_000
WAY_ID_MAX = 1_450_000_000
RELATION_ID_MAX = 19_500_000
# Road km of `routeplan synth --preset gb --seed 0` (its 757,060 ways): the extras' densities are
# the GB totals per km of this network.
REFERENCE_ROAD_KM = 757_739.0
SHAPE_STEP_M = (20.0, 40.0)  # spacing of the shape nodes added to road ways (drawn per way)
CHUNK_KM = 1000.0
EARTH_M_PER_DEG = 111_320.0
ID_DIGITS = 11  # zero-padded ids in the OPL text (libosmium reads leading zeros)
TIME_RANGE = (1_199_145_600, 1_764_547_200)  # 2008-01-01 .. 2025-12-01, UTC seconds

Array = npt.NDArray[Any]
Progress = Callable[[str, int, int], None]


def _esc(text: str) -> str:
    """OPL-escape a tag key or value (libosmium's ``%xx%`` form for the separators)."""
    out = []
    for ch in text:
        if ch.isalnum() or ch in "-_.:;/()'&+!?#*":
            out.append(ch)
        else:
            out.append(f"%{ord(ch):x}%")
    return "".join(out)


def _tags(pairs: Sequence[tuple[str, str]]) -> bytes:
    return ",".join(f"{_esc(k)}={_esc(v)}" for k, v in pairs).encode()


# --- vocabularies of tag strings ------------------------------------------------------------

STREETS = [f"{a} {b}" for a in ("High", "Station", "Church", "Mill", "Park", "Victoria", "London", "Green",
                                 "Manor", "School", "Queen", "King", "New", "North", "South", "West")
           for b in ("Street", "Road", "Lane", "Avenue", "Close", "Way", "Drive", "Crescent")]
POSTCODES = [f"{area}{d} {n}{a}{b}" for area in ("NP", "RG", "LE", "CF", "B", "M", "LS", "EH")
             for d in range(1, 9) for n in (1, 4, 7) for a in "ABD" for b in "EHQ"]
NAMES = [f"{a} {b}" for a in ("The Red", "The White", "The Royal", "Old", "New", "St Mary's", "Victoria",
                               "Riverside", "Hillside", "The Crown", "Castle", "Market", "Oak", "Elm")
         for b in ("Lion", "Hart", "Oak", "House", "Centre", "Hall", "Farm", "Arms", "Court", "Works")]
SOURCES = [("source", "bing"), ("source", "survey"), ("source", "OS_OpenData_StreetView"),
           ("source", "Bing;survey"), ("source", "local_knowledge"), ("source", "npe")]


@dataclass(frozen=True)
class _Vocab:
    """Tag strings (OPL bytes) and the chance of each: drawn per object by index."""

    words: tuple[bytes, ...]
    p: tuple[float, ...]

    def __post_init__(self) -> None:
        total = sum(self.p)
        object.__setattr__(self, "p", tuple(x / total for x in self.p))

    def draw(self, rng: np.random.Generator, n: int) -> Array:
        return rng.choice(len(self.words), size=n, p=np.asarray(self.p))


def _vocab(items: Sequence[tuple[Sequence[tuple[str, str]], float]]) -> _Vocab:
    return _Vocab(tuple(_tags(t) for t, _ in items), tuple(w for _, w in items))


def _named(kind: Sequence[tuple[str, str]], weight: float, named: float) -> list[tuple[Sequence[tuple[str, str]], float]]:
    """A tag set without a name (weight 1 - named) and with each of NAMES."""
    out: list[tuple[Sequence[tuple[str, str]], float]] = [(kind, weight * (1 - named))]
    out += [((*kind, ("name", n)), weight * named / len(NAMES)) for n in NAMES]
    return out


def _source_vocab(share: float) -> _Vocab:
    """Either nothing or ``,source=...`` (a separate segment appended to other tags)."""
    words = (b"", *(b"," + _tags([s]) for s in SOURCES))
    return _Vocab(words, (1 - share, *([share / len(SOURCES)] * len(SOURCES))))


_ADDRESS_TAGS = [b"," + _tags([("addr:housenumber", str(h)), ("addr:street", st), ("addr:postcode", pc)])
                 for h in (1, 2, 3, 5, 8, 12, 14, 17, 23, 31, 42, 56, 77, 101) for st in STREETS[::4] for pc in POSTCODES[::37]]
# Nothing (85 %) or ``,addr:housenumber=...,addr:street=...,addr:postcode=...`` (a segment after other tags).
ADDRESSES = _Vocab((b"", *_ADDRESS_TAGS), (0.85, *([0.15 / len(_ADDRESS_TAGS)] * len(_ADDRESS_TAGS))))


@dataclass(frozen=True)
class WayKind:
    """One kind of extra way: how many at scale 1.0, its shape and its tags."""

    name: str
    count: int  # in Great Britain (scale 1.0)
    ring: bool  # closed polygon (else an open line)
    nodes: tuple[int, int]  # unique nodes per way, inclusive range
    size_m: tuple[float, float]  # ring radius or line step
    offset_m: tuple[float, float]  # distance from the road anchor
    tags: _Vocab
    source_share: float = 0.2
    attach: float = 0.0  # chance that a line starts on the road node it is drawn from
    address: bool = False  # buildings: 15 % carry an address


_PATH_TAGS = _vocab([
    ([("highway", "footway")], 30), ([("highway", "footway"), ("footway", "sidewalk")], 12),
    ([("highway", "service"), ("access", "private"), ("service", "driveway")], 16),
    ([("highway", "path")], 13), ([("highway", "track"), ("tracktype", "grade3")], 10),
    ([("highway", "cycleway")], 9), ([("highway", "steps")], 4), ([("highway", "bridleway")], 3),
    ([("highway", "pedestrian")], 1.5), ([("highway", "construction"), ("construction", "residential")], 1.5),
])
_BUILDING_TAGS = _vocab([
    ([("building", "yes")], 40), ([("building", "house")], 25), ([("building", "residential")], 8),
    ([("building", "semidetached_house")], 6), ([("building", "terrace")], 5), ([("building", "garage")], 5),
    ([("building", "detached")], 4), ([("building", "shed")], 3), ([("building", "commercial")], 2),
    *_named([("building", "yes"), ("amenity", "place_of_worship"), ("religion", "christian")], 0.6, 0.9),
    *_named([("building", "school"), ("amenity", "school")], 0.5, 0.95),
    *_named([("building", "retail"), ("shop", "supermarket")], 0.4, 0.9),
    *_named([("building", "pub"), ("amenity", "pub")], 0.5, 0.98),
])
_LANDUSE_TAGS = _vocab([
    ([("landuse", "farmland")], 30), ([("landuse", "grass")], 25), ([("landuse", "meadow")], 12),
    *_named([("landuse", "residential")], 10, 0.2), ([("landuse", "farmyard")], 8),
    ([("landuse", "forest")], 5), *_named([("landuse", "industrial")], 4, 0.3),
    *_named([("landuse", "retail")], 3, 0.3), ([("landuse", "allotments")], 3),
])
_NATURAL_TAGS = _vocab([
    ([("natural", "wood")], 30), ([("natural", "scrub")], 20), *_named([("natural", "water")], 15, 0.15),
    ([("natural", "wetland")], 5), ([("natural", "heath")], 5), ([("natural", "tree_row")], 20),
    ([("natural", "grassland")], 5),
])
_BARRIER_TAGS = _vocab([
    ([("barrier", "fence")], 40), ([("barrier", "wall")], 25), ([("barrier", "hedge")], 30),
    ([("barrier", "retaining_wall")], 5),
])
_WATER_TAGS = _vocab([
    *_named([("waterway", "stream")], 45, 0.25), ([("waterway", "ditch")], 25), ([("waterway", "drain")], 20),
    *_named([("waterway", "river")], 10, 0.9),
])
_AREA_TAGS = _vocab([
    ([("amenity", "parking")], 40), *_named([("amenity", "parking"), ("access", "customers")], 10, 0.5),
    ([("leisure", "pitch"), ("sport", "soccer")], 15), *_named([("leisure", "park")], 12, 0.7),
    ([("leisure", "garden")], 10), *_named([("leisure", "playground")], 8, 0.2),
    *_named([("leisure", "sports_centre")], 5, 0.9),
])
_OTHER_TAGS = _vocab([
    *_named([("railway", "rail"), ("usage", "main")], 12, 0.5), ([("power", "line")], 8),
    ([("power", "minor_line")], 10), ([("man_made", "pipeline")], 3), ([("man_made", "embankment")], 10),
    ([("natural", "cliff")], 4), ([("boundary", "administrative"), ("admin_level", "10")], 3),
    ([("area:highway", "footway")], 10), ([("historic", "citywalls")], 0.5), ([("railway", "abandoned")], 8),
    ([("highway", "proposed"), ("proposed", "tertiary")], 1), ([("aeroway", "taxiway")], 0.5),
])

# Unique nodes per way are uniform in `nodes`; their means (7, 5, 13, 10, 5, 14, 6, 5)
# with the road shape nodes and 9 M tagged nodes give about 230 M nodes on the reference network.
WAY_KINDS: tuple[WayKind, ...] = (
    WayKind("paths", 3_400_000, False, (3, 11), (20, 40), (3, 25), _PATH_TAGS, 0.15, attach=0.3),
    WayKind("buildings", 16_000_000, True, (4, 6), (4, 9), (10, 45), _BUILDING_TAGS, 0.2, address=True),
    WayKind("landuse", 2_500_000, True, (6, 20), (40, 250), (60, 400), _LANDUSE_TAGS, 0.25),
    WayKind("natural", 2_000_000, True, (5, 15), (20, 150), (40, 500), _NATURAL_TAGS, 0.25),
    WayKind("barriers", 4_000_000, False, (2, 8), (10, 35), (5, 60), _BARRIER_TAGS, 0.2),
    WayKind("waterways", 800_000, False, (6, 22), (30, 70), (30, 600), _WATER_TAGS, 0.25),
    WayKind("areas", 1_200_000, True, (4, 8), (15, 80), (20, 120), _AREA_TAGS, 0.2),
    WayKind("other_lines", 1_340_000, False, (2, 8), (30, 120), (20, 400), _OTHER_TAGS, 0.2),
)


@dataclass(frozen=True)
class NodeKind:
    """One kind of tagged point: how many at scale 1.0, distance from the road, tags."""

    name: str
    count: int
    offset_m: tuple[float, float]
    tags: _Vocab


NODE_KINDS: tuple[NodeKind, ...] = (
    NodeKind("addresses", 2_000_000, (8, 40), _Vocab(tuple(w[1:] for w in ADDRESSES.words[1:]), ADDRESSES.p[1:])),
    NodeKind("pois", 1_200_000, (5, 60), _vocab([
        *_named([("amenity", "cafe")], 10, 0.95), *_named([("shop", "convenience")], 12, 0.9),
        *_named([("amenity", "pub")], 8, 0.99), *_named([("amenity", "restaurant")], 8, 0.97),
        *_named([("shop", "hairdresser")], 6, 0.9), *_named([("tourism", "information")], 6, 0.3),
        *_named([("amenity", "place_of_worship")], 3, 0.9), *_named([("office", "company")], 4, 0.95),
        *_named([("place", "hamlet")], 3, 1.0), *_named([("place", "locality")], 2, 1.0),
        *_named([("leisure", "picnic_table")], 5, 0.0), ([("amenity", "recycling")], 6),
        ([("amenity", "parking_entrance")], 3), ([("amenity", "atm")], 3),
    ])),
    NodeKind("street_furniture", 1_500_000, (2, 15), _vocab([
        ([("amenity", "bench")], 40), ([("amenity", "waste_basket")], 30),
        ([("amenity", "post_box"), ("ref", "NP20 12")], 10), ([("amenity", "telephone")], 3),
        ([("amenity", "bicycle_parking")], 10), ([("man_made", "street_cabinet")], 7),
    ])),
    NodeKind("highway_points", 2_000_000, (3, 12), _vocab([
        ([("highway", "street_lamp")], 45), ([("highway", "crossing"), ("crossing", "uncontrolled")], 15),
        ([("highway", "crossing"), ("crossing", "traffic_signals")], 4),
        *_named([("highway", "bus_stop"), ("public_transport", "platform"), ("bus", "yes")], 18, 0.95),
        ([("highway", "give_way")], 6), ([("highway", "traffic_signals")], 4), ([("highway", "stop")], 1),
        ([("highway", "turning_circle")], 5), ([("highway", "speed_camera")], 0.5),
        ([("highway", "motorway_junction"), ("ref", "27")], 0.1),
    ])),
    NodeKind("trees", 1_000_000, (5, 80), _vocab([([("natural", "tree")], 90), ([("natural", "tree"), ("leaf_type", "broadleaved")], 10)])),
    NodeKind("barrier_points", 800_000, (3, 80), _vocab([
        ([("barrier", "gate")], 45), ([("barrier", "stile")], 15), ([("barrier", "bollard")], 20),
        ([("barrier", "kissing_gate")], 10), ([("barrier", "cattle_grid")], 5), ([("entrance", "yes")], 5),
    ])),
    NodeKind("power_points", 500_000, (10, 200), _vocab([([("power", "pole")], 75), ([("power", "tower")], 25)])),
)
RELATION_SHARE = {"multipolygon": 0.45, "restriction": 0.30, "route": 0.10, "site": 0.15}
_MP_TAGS = _vocab([([("type", "multipolygon"), ("landuse", "farmland")], 30), ([("type", "multipolygon"), ("natural", "wood")], 30),
                   ([("type", "multipolygon"), ("building", "yes")], 25), ([("type", "multipolygon"), ("natural", "water")], 15)])
_ROUTE_TAGS = _vocab([
    *_named([("type", "route"), ("route", "bus"), ("ref", "X5")], 40, 0.8),
    *_named([("type", "route"), ("route", "foot")], 25, 1.0), *_named([("type", "route"), ("route", "bicycle"), ("network", "ncn")], 25, 0.8),
    *_named([("type", "route"), ("route", "hiking")], 10, 1.0),
])
_RESTRICTION_TAGS = _vocab([([("type", "restriction"), ("restriction", r)], w) for r, w in
                            (("no_right_turn", 35), ("no_left_turn", 20), ("no_u_turn", 20), ("only_straight_on", 15), ("no_entry", 10))])
_SITE_TAGS = _vocab([*_named([("type", "site"), ("site", "school")], 30, 0.9), ([("type", "associatedStreet")], 40),
                     *_named([("type", "public_transport"), ("public_transport", "stop_area")], 30, 0.9)])


def expected_counts(road_km: float, road_ways: int, road_nodes: int) -> dict[str, float]:
    """Expected object counts for a network of ``road_km`` (extras at the GB density per km)."""
    f = road_km / REFERENCE_ROAD_KM
    ways = {k.name: k.count * f for k in WAY_KINDS}
    way_nodes = {k.name: k.count * f * (sum(k.nodes) / 2) for k in WAY_KINDS}
    points = {k.name: k.count * f for k in NODE_KINDS}
    return {
        "road_ways": float(road_ways), "road_nodes": float(road_nodes),
        **{f"ways.{k}": v for k, v in ways.items()}, **{f"nodes.{k}": v for k, v in points.items()},
        "ways": road_ways + sum(ways.values()),
        "nodes": road_nodes + sum(way_nodes.values()) + sum(points.values()),
        "relations": GB_RELATIONS * f,
    }


# --- OPL text with numpy ------------------------------------------------------------------

_PAIRS16 = np.frombuffer(b"".join(b"%02d" % i for i in range(100)), dtype=np.uint16)
# A fixed-width column: constant text, (ints, width) as zero-padded digits, or raw (n, w) bytes.
Field = bytes | tuple[Array, int] | Array


def _put_digits(dst: Array, values: Array) -> None:
    """Write zero-padded decimal digits of non-negative ints into the (n, width) uint8 view ``dst``:
    two digits per division, looked up as one uint16."""
    n, w = dst.shape
    half = (w + 1) // 2
    buf = np.empty((n, 2 * half), dtype=np.uint8)
    pairs = buf.view(np.uint16)
    v = values.astype(np.int64, copy=True)
    for k in range(half - 1, -1, -1):
        v, r = np.divmod(v, 100)
        pairs[:, k] = _PAIRS16[r]
    dst[:] = buf[:, 2 * half - w:]


def _record(n: int, fields: Sequence[Field]) -> Array:
    """An (n, width) uint8 matrix: one fixed-width text record per row."""
    widths = [len(f) if isinstance(f, bytes) else f[1] if isinstance(f, tuple) else f.shape[1] for f in fields]
    out = np.empty((n, sum(widths)), dtype=np.uint8)
    col = 0
    for f, w in zip(fields, widths, strict=True):
        if isinstance(f, bytes):
            out[:, col:col + w] = np.frombuffer(f, dtype=np.uint8)
        elif isinstance(f, tuple):
            _put_digits(out[:, col:col + w], f[0])
        else:
            out[:, col:col + w] = f
        col += w
    return out


def _coord(deg: Array) -> list[Field]:
    """``-006.1234567`` / ``0051.1234567`` (12 bytes; a zero stands in for the plus sign)."""
    fixed = np.rint(deg * 1e7).astype(np.int64)
    a = np.abs(fixed)
    sign = np.where(fixed < 0, ord("-"), ord("0")).astype(np.uint8)[:, None]
    return [sign, (a // 10_000_000, 3), b".", (a % 10_000_000, 7)]


def _meta(rng: np.random.Generator, n: int) -> list[Field]:
    """`` v3 t2019-05-03T12:34:56Z`` per object.  Versions 1-9; timestamps come in runs (objects
    made in one edit share a time, as consecutive ids in real data mostly do), so the PBF's
    delta-coded metadata compresses as a real file's does."""
    version = np.minimum(rng.geometric(0.55, n), 9)
    jump = rng.random(n) < 0.05
    if n:
        jump[0] = True
    secs = rng.integers(TIME_RANGE[0], TIME_RANGE[1], int(jump.sum()))
    day = (secs // 86400).astype("datetime64[D]")
    month = day.astype("datetime64[M]")
    year = month.astype("datetime64[Y]").astype(np.int64) + 1970
    tod = secs % 86400
    stamps = _record(secs.shape[0], [
        (year, 4), b"-", (month.astype(np.int64) % 12 + 1, 2), b"-",
        ((day - month.astype("datetime64[D]")).astype(np.int64) + 1, 2), b"T",
        (tod // 3600, 2), b":", (tod // 60 % 60, 2), b":", (tod % 60, 2), b"Z"])
    return [b" v", (version, 1), b" t", stamps[np.cumsum(jump) - 1]]


def _ranges(starts: Array, lens: Array) -> Array:
    """Concatenated ``arange(starts[i], starts[i] + lens[i])``."""
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(lens)
    offs = np.repeat(starts.astype(np.int64) - (ends - lens), lens)
    return np.asarray(np.arange(total, dtype=np.int64) + offs)


class _Lines:
    """Many OPL lines of one layout, assembled with numpy: fixed-width columns, tag strings from a
    vocabulary, and ragged lists (way nodes, members) - no Python object per line."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.parts: list[tuple[str, Any]] = []

    def fixed(self, mat: Array) -> _Lines:
        self.parts.append(("fixed", mat))
        return self

    def words(self, vocab: _Vocab, idx: Array) -> _Lines:
        self.parts.append(("words", (vocab, idx)))
        return self

    def ragged(self, cells: Array, ptr: Array) -> _Lines:
        """``cells[ptr[i]:ptr[i+1]]`` (rows of equal width ending in a separator) for line i; the
        last separator is overwritten by what follows."""
        self.parts.append(("ragged", (cells, ptr)))
        return self

    def tobytes(self) -> bytes:
        if self.n == 0:
            return b""
        if all(kind == "fixed" for kind, _ in self.parts):
            return _record(self.n, [*(m for _, m in self.parts), b"\n"]).tobytes()
        lens = np.zeros(self.n, dtype=np.int64)
        for kind, val in self.parts:
            if kind == "fixed":
                lens += val.shape[1]
            elif kind == "words":
                lens += np.fromiter((len(w) for w in val[0].words), dtype=np.int64, count=len(val[0].words))[val[1]]
            else:
                cells, ptr = val
                lens += np.diff(ptr) * cells.shape[1] - 1
        lens += 1
        start = np.cumsum(lens) - lens
        out = np.empty(int(lens.sum()), dtype=np.uint8)
        pos = start.copy()
        for kind, val in self.parts:
            if kind == "fixed":
                w = val.shape[1]
                out[(pos[:, None] + np.arange(w)).ravel()] = np.asarray(val).ravel()
                pos += w
            elif kind == "words":
                vocab, idx = val
                wlen = np.fromiter((len(w) for w in vocab.words), dtype=np.int64, count=len(vocab.words))
                wstart = np.cumsum(wlen) - wlen
                flat = np.frombuffer(b"".join(vocab.words), dtype=np.uint8)
                ln = wlen[idx]
                out[_ranges(pos, ln)] = flat[_ranges(wstart[idx], ln)]
                pos += ln
            else:
                cells, ptr = val
                w = cells.shape[1]
                ln = np.diff(ptr) * w
                out[_ranges(pos, ln)] = cells[ptr[0]:ptr[-1]].ravel()
                pos += np.maximum(ln - 1, 0)
        out[pos] = ord("\n")
        return out.tobytes()


def _node_lines(ids: Array, lon: Array, lat: Array, rng: np.random.Generator,
                tags: tuple[_Vocab, Array] | None = None) -> bytes:
    """OPL lines of nodes; ``tags`` = (vocabulary of `` T...`` strings, index per node)."""
    n = ids.shape[0]
    lines = _Lines(n).fixed(_record(n, [b"n", (ids, ID_DIGITS), *_meta(rng, n),
                                        b" x", *_coord(lon), b" y", *_coord(lat)]))
    if tags is not None:
        lines.words(*tags)
    return lines.tobytes()


def _prefixed(vocab: _Vocab, prefix: bytes) -> _Vocab:
    return _Vocab(tuple(prefix + w for w in vocab.words), vocab.p)


def _ref_cells(prefix: bytes, ids: Array, role: bytes = b"") -> Array:
    n = ids.shape[0]
    return _record(n, [prefix, (ids, ID_DIGITS), role + b","])


# --- the source network -------------------------------------------------------------------

@dataclass
class _Source:
    """A road-only PBF as arrays; nodes by ascending id (``refs`` index them)."""

    lon: Array
    lat: Array
    node_tags: dict[int, bytes]  # node index -> OPL tags (the few tagged nodes)
    refs: Array  # node indexes of the ways, flat
    ptr: Array
    way_tags: list[bytes]  # OPL tags of each way
    way_km: Array
    sha256: str


def _read_source(path: Path) -> _Source:
    """Nodes, ways and their tags (as OPL strings) of a road-only PBF."""
    ids: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    tagged: dict[int, bytes] = {}
    refs: list[int] = []
    lens: list[int] = []
    way_tags: list[bytes] = []
    for obj in osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY):
        if isinstance(obj, osmium.osm.Node):
            if len(obj.tags):
                tagged[obj.id] = _tags([(t.k, t.v) for t in obj.tags])
            ids.append(obj.id)
            lons.append(obj.location.lon)
            lats.append(obj.location.lat)
        elif isinstance(obj, osmium.osm.Way):
            nodes = [n.ref for n in obj.nodes]
            refs.extend(nodes)
            lens.append(len(nodes))
            way_tags.append(_tags([(t.k, t.v) for t in obj.tags]))
    if not lens:
        msg = f"{path}: no ways"
        raise ValueError(msg)
    id_arr = np.asarray(ids, dtype=np.int64)
    order = np.argsort(id_arr, kind="stable")
    sorted_ids = id_arr[order]
    ref_arr = np.asarray(refs, dtype=np.int64)
    pos = np.minimum(np.searchsorted(sorted_ids, ref_arr), len(sorted_ids) - 1)
    if not np.array_equal(sorted_ids[pos], ref_arr):
        msg = f"{path}: ways reference nodes missing from the file"
        raise ValueError(msg)
    lon = np.asarray(lons)[order]
    lat = np.asarray(lats)[order]
    ptr = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    seg = _metres(lon[pos[:-1]], lat[pos[:-1]], lon[pos[1:]], lat[pos[1:]])
    way_of = np.repeat(np.arange(len(lens)), lens)
    same = way_of[:-1] == way_of[1:]
    way_km = np.bincount(way_of[:-1][same], weights=seg[same], minlength=len(lens)) / 1000.0
    node_tags = {int(np.searchsorted(sorted_ids, k)): v for k, v in tagged.items()}
    return _Source(lon, lat, node_tags, pos.astype(np.int64), ptr, way_tags, way_km, sha256_file(path))


def _metres(lon1: Array, lat1: Array, lon2: Array, lat2: Array) -> Array:
    """Equirectangular distance (m): exact enough to space shape nodes and share out the extras."""
    k = np.cos(np.radians((lat1 + lat2) / 2))
    return np.asarray(np.hypot((lon2 - lon1) * k, lat2 - lat1) * EARTH_M_PER_DEG)


# --- the plan: chunks and their id ranges ----------------------------------------------------

@dataclass
class _Plan:
    """Which source ways each chunk holds, which source nodes it writes, and their output ids."""

    ways: list[Array]  # source way indexes per chunk
    km: Array
    owned: list[Array]  # source node indexes written by each chunk
    new_id: Array  # source node index -> output id (filled by the node pass)


def _plan(src: _Source, scale: float, chunk_km: float) -> _Plan:
    """Order the ways south to north, keep the share ``scale`` of the road km, cut into chunks.

    A source node is written by the first chunk with a way through it; a node on no way (a town's
    place node) by the chunk of its latitude band."""
    n_ways = src.ptr.shape[0] - 1
    first_lat = src.lat[src.refs[src.ptr[:-1]]]
    order = np.argsort(first_lat, kind="stable")
    cum = np.cumsum(src.way_km[order])
    keep = n_ways if scale >= 1 else max(1, int(np.searchsorted(cum, scale * float(cum[-1]), side="right")))
    order, cum = order[:keep], cum[:keep]
    cut = np.searchsorted(cum, np.arange(chunk_km, float(cum[-1]), chunk_km), side="right")
    bounds = np.unique(np.concatenate([[0], cut, [keep]]))
    ways = [order[a:b] for a, b in itertools.pairwise(bounds.tolist()) if b > a]
    km = np.array([float(src.way_km[w].sum()) for w in ways])
    n_nodes = src.lon.shape[0]
    owner = np.full(n_nodes, len(ways), dtype=np.int64)
    for c, w in enumerate(ways):
        np.minimum.at(owner, src.refs[_ranges(src.ptr[w], src.ptr[w + 1] - src.ptr[w])], c)
    on_way = np.zeros(n_nodes, dtype=bool)
    on_way[src.refs] = True
    loose = np.flatnonzero(~on_way)
    top = np.array([float(src.lat[src.refs[src.ptr[w]]].max()) for w in ways])
    band = np.searchsorted(top, src.lat[loose])
    inside = (band < len(ways)) | (scale >= 1)
    owner[loose[inside]] = np.minimum(band[inside], len(ways) - 1)
    order_owner = np.argsort(owner, kind="stable")
    splits = np.searchsorted(owner[order_owner], np.arange(len(ways) + 1))
    owned = [order_owner[splits[c]:splits[c + 1]] for c in range(len(ways))]
    return _Plan(ways, km, owned, np.zeros(n_nodes, dtype=np.int64))


def _ids(rng: np.random.Generator, start: int, n: int, id_max: int, total: int) -> Array:
    """``n`` increasing ids after ``start`` at a real extract's id density (``total`` objects up
    to ``id_max``): mostly consecutive (objects made in one edit), with a jump now and then."""
    mean = max(1, id_max // total)
    p_jump = 0.05 if mean > 1 else 0.0
    gaps = np.ones(n, dtype=np.int64)
    if p_jump:
        jump = rng.random(n) < p_jump
        gaps[jump] += rng.geometric(p_jump / (mean - 1), int(jump.sum())) if mean > 1 else 0
    return np.asarray(start + np.cumsum(gaps), dtype=np.int64)


# --- one chunk -------------------------------------------------------------------------------

@dataclass
class _Roads:
    """A chunk's road ways, densified.  ``seq`` holds a source node index (>= 0) or
    ``-1 - i`` for shape node i; ``lon``/``lat``/``ux``/``uy`` are per position in ``seq``."""

    ways: Array  # source way indexes
    seq: Array
    ptr: Array
    lon: Array
    lat: Array
    ux: Array  # unit direction of the road at the position (east, north)
    uy: Array
    shape_lon: Array
    shape_lat: Array

    @property
    def n_shape(self) -> int:
        return int(self.shape_lon.shape[0])


def _densify(src: _Source, ways: Array, rng: np.random.Generator) -> _Roads:
    """Add collinear shape nodes every SHAPE_STEP_M (drawn per way) on each segment: the road
    graph and its lengths stay the source's (up to the 1e-7 degree rounding of the new nodes)."""
    lens = src.ptr[ways + 1] - src.ptr[ways]
    refs = src.refs[_ranges(src.ptr[ways], lens)]
    way_of = np.repeat(np.arange(ways.shape[0]), lens)
    a, b = refs[:-1], refs[1:]
    same = way_of[:-1] == way_of[1:]
    seg = _metres(src.lon[a], src.lat[a], src.lon[b], src.lat[b])
    step = np.asarray(rng.uniform(SHAPE_STEP_M[0], SHAPE_STEP_M[1], ways.shape[0]))[way_of[:-1]]
    k = np.where(same, np.maximum(np.rint(seg / step).astype(np.int64) - 1, 0), 0)
    pair = np.repeat(np.arange(k.shape[0]), k)
    t = _ranges(np.ones(k.shape[0], dtype=np.int64), k) / np.repeat(k + 1, k)
    shape_lon = np.round(src.lon[a[pair]] + t * (src.lon[b[pair]] - src.lon[a[pair]]), 7)
    shape_lat = np.round(src.lat[a[pair]] + t * (src.lat[b[pair]] - src.lat[a[pair]]), 7)
    per = np.concatenate([k, [0]]) + 1  # positions each source ref opens
    ptr = np.concatenate([[0], np.cumsum(np.bincount(way_of, weights=per, minlength=ways.shape[0]))]).astype(np.int64)
    seq = np.empty(int(per.sum()), dtype=np.int64)
    is_src = np.zeros(seq.shape[0], dtype=bool)
    is_src[np.cumsum(per) - per] = True
    seq[is_src] = refs
    seq[~is_src] = -1 - np.arange(int(k.sum()))
    lon = np.empty(seq.shape[0])
    lat = np.empty(seq.shape[0])
    lon[is_src], lat[is_src] = src.lon[refs], src.lat[refs]
    lon[~is_src], lat[~is_src] = shape_lon, shape_lat
    # Direction: towards the next position of the same way (the previous one at a way's end).
    n = seq.shape[0]
    here = np.arange(n)
    last = np.zeros(n, dtype=bool)
    last[ptr[1:] - 1] = True
    u = np.where(last, here, np.minimum(here + 1, n - 1))
    v = np.where(last, np.maximum(here - 1, 0), here)
    dx = (lon[u] - lon[v]) * np.cos(np.radians(lat)) * EARTH_M_PER_DEG
    dy = (lat[u] - lat[v]) * EARTH_M_PER_DEG
    norm = np.hypot(dx, dy)
    norm[norm == 0] = 1.0
    return _Roads(ways, seq, ptr, lon, lat, dx / norm, dy / norm, shape_lon, shape_lat)


@dataclass
class _Drawn:
    """The extra ways of one kind in a chunk: node count per way, their new nodes, and the road
    position an attached line starts on (-1 if none)."""

    kind: WayKind
    ptr: Array  # unique nodes per way (attached start included)
    lon: Array  # new nodes only
    lat: Array
    attach: Array


def _anchors(roads: _Roads, n: int, rng: np.random.Generator) -> Array:
    """``n`` random road positions, west to east: a chunk is a narrow band of latitude, so
    consecutive objects (consecutive ids) lie close together, as in a real file."""
    anchor = rng.integers(0, roads.seq.shape[0], n)
    return anchor[np.argsort(roads.lon[anchor], kind="stable")]


def _draw_ways(roads: _Roads, kind: WayKind, n: int, rng: np.random.Generator) -> _Drawn:
    """``n`` ways of ``kind`` beside random road positions: rings (buildings, areas) set back from
    the road, lines (paths, fences, streams) heading away from it in a gentle random walk."""
    anchor = _anchors(roads, n, rng)
    nodes = rng.integers(kind.nodes[0], kind.nodes[1] + 1, n)
    side = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    attach = rng.random(n) < kind.attach
    offset = np.where(attach, 0.0, rng.uniform(*kind.offset_m, n))
    size = rng.uniform(*kind.size_m, n)
    nx, ny = -roads.uy[anchor] * side, roads.ux[anchor] * side  # away from the road
    idx = np.repeat(np.arange(n), nodes)
    j = _ranges(np.zeros(n, dtype=np.int64), nodes)
    start = np.cumsum(nodes) - nodes
    if kind.ring:
        cx, cy = nx * (offset + size), ny * (offset + size)
        angle = np.arctan2(roads.uy[anchor], roads.ux[anchor])[idx] + np.pi / 4
        angle = angle + (2 * np.pi / nodes[idx]) * (j + rng.uniform(-0.25, 0.25, idx.shape[0]))
        r = size[idx] * rng.uniform(0.8, 1.2, idx.shape[0])
        mx, my = cx[idx] + r * np.cos(angle), cy[idx] + r * np.sin(angle)
    else:
        heading = np.arctan2(ny, nx) + rng.uniform(-1.0, 1.0, n)
        turn = rng.uniform(-0.35, 0.35, idx.shape[0])
        turn[start] = 0.0
        cum = np.cumsum(turn)
        h = heading[idx] + cum - np.repeat(cum[start], nodes)
        stepm = np.where(j == 0, 0.0, size[idx])
        sx, sy = np.cumsum(stepm * np.cos(h)), np.cumsum(stepm * np.sin(h))
        mx = nx[idx] * offset[idx] + sx - np.repeat(sx[start], nodes)
        my = ny[idx] * offset[idx] + sy - np.repeat(sy[start], nodes)
    base = anchor[idx]
    lon = np.round(roads.lon[base] + mx / (np.cos(np.radians(roads.lat[base])) * EARTH_M_PER_DEG), 7)
    lat = np.round(roads.lat[base] + my / EARTH_M_PER_DEG, 7)
    new = ~(attach[idx] & (j == 0))  # an attached line starts on the road node itself
    ptr = np.concatenate([[0], np.cumsum(nodes)]).astype(np.int64)
    return _Drawn(kind, ptr, lon[new], lat[new], np.where(attach, anchor, -1))


def _draw_points(roads: _Roads, kind: NodeKind, n: int, rng: np.random.Generator) -> tuple[Array, Array, Array]:
    """``n`` tagged points beside random road positions: lon, lat, tag index."""
    anchor = _anchors(roads, n, rng)
    side = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    off = rng.uniform(*kind.offset_m, n)
    along = rng.uniform(-10.0, 10.0, n)
    ux, uy = roads.ux[anchor], roads.uy[anchor]
    mx = -uy * side * off + ux * along
    my = ux * side * off + uy * along
    lat0 = roads.lat[anchor]
    lon = np.round(roads.lon[anchor] + mx / (np.cos(np.radians(lat0)) * EARTH_M_PER_DEG), 7)
    lat = np.round(lat0 + my / EARTH_M_PER_DEG, 7)
    return lon, lat, kind.tags.draw(rng, n)


@dataclass
class _Chunk:
    """Everything drawn for one chunk, identical in every pass (its own seeds)."""

    c: int
    roads: _Roads
    drawn: list[_Drawn]
    points: list[tuple[NodeKind, Array, Array, Array]]
    node_ids: Array  # owned source nodes, shape nodes, each kind's new nodes, points
    rng_tags: np.random.Generator  # continues after the geometry: way tags in the way pass

    def split_ids(self, n_owned: int) -> tuple[Array, Array, list[Array], list[Array]]:
        """The node ids of (owned source nodes, shape nodes, new nodes by way kind, points by kind)."""
        cut = [n_owned, self.roads.n_shape, *(d.lon.shape[0] for d in self.drawn), *(p[1].shape[0] for p in self.points)]
        parts = np.split(self.node_ids, np.cumsum(cut)[:-1])
        k = len(self.drawn)
        return parts[0], parts[1], parts[2:2 + k], parts[2 + k:]


def _chunk(src: _Source, plan: _Plan, c: int, seed: int, node_start: int) -> _Chunk:
    """Draw chunk ``c`` from its seed: densified roads, extra ways, tagged points, node ids."""
    rng = np.random.default_rng([seed, c, 1])
    roads = _densify(src, plan.ways[c], rng)
    f = float(plan.km[c]) / REFERENCE_ROAD_KM
    drawn = [_draw_ways(roads, k, int(k.count * f + rng.random()), rng) for k in WAY_KINDS]
    points = [(k, *_draw_points(roads, k, int(k.count * f + rng.random()), rng)) for k in NODE_KINDS]
    n = plan.owned[c].shape[0] + roads.n_shape + sum(d.lon.shape[0] for d in drawn) + sum(p[1].shape[0] for p in points)
    ids = _ids(np.random.default_rng([seed, c, 2]), node_start, n, NODE_ID_MAX, GB_NODES)
    return _Chunk(c, roads, drawn, points, ids, rng)


def _node_text(src: _Source, plan: _Plan, ch: _Chunk, seed: int) -> list[bytes]:
    """The chunk's nodes as OPL, in id order; records the output ids of its source nodes."""
    rng = np.random.default_rng([seed, ch.c, 3])
    owned = plan.owned[ch.c]
    own_ids, shape_ids, new_ids, point_ids = ch.split_ids(owned.shape[0])
    plan.new_id[owned] = own_ids
    tag_of = [src.node_tags.get(i, b"") for i in owned.tolist()]
    words = sorted(set(tag_of))
    index = {w: i for i, w in enumerate(words)}
    own_tags = _Vocab(tuple(b" T" + w if w else b"" for w in words), tuple([1.0] * len(words)))
    text = [_node_lines(own_ids, src.lon[owned], src.lat[owned], rng,
                        (own_tags, np.array([index[t] for t in tag_of], dtype=np.int64)))]
    text.append(_node_lines(shape_ids, ch.roads.shape_lon, ch.roads.shape_lat, rng))
    text += [_node_lines(ids, d.lon, d.lat, rng) for d, ids in zip(ch.drawn, new_ids, strict=True)]
    text += [_node_lines(ids, lon, lat, rng, (_prefixed(k.tags, b" T"), tag_idx))
             for (k, lon, lat, tag_idx), ids in zip(ch.points, point_ids, strict=True)]
    return text


def _way_lines(ids: Array, rng: np.random.Generator, tags: list[tuple[_Vocab, Array]], refs: Array, ptr: Array) -> bytes:
    n = ids.shape[0]
    lines = _Lines(n).fixed(_record(n, [b"w", (ids, ID_DIGITS), *_meta(rng, n), b" T"]))
    for vocab, idx in tags:
        lines.words(vocab, idx)
    return lines.fixed(_record(n, [b" N"])).ragged(_ref_cells(b"n", refs), ptr).tobytes()


@dataclass
class _Ways:
    """A chunk's ways as OPL, their ids by kind, and its road junctions (for turn restrictions)."""

    text: list[bytes]
    ids: dict[str, Array]
    junctions: Array  # output node ids
    junction_ways: Array  # (k, 2) output ids of two road ways meeting there


def _way_text(src: _Source, plan: _Plan, ch: _Chunk, seed: int, way_start: int) -> _Ways:
    """The chunk's ways as OPL, in id order: the densified roads, then each extra kind."""
    rng = np.random.default_rng([seed, ch.c, 4])
    roads = ch.roads
    _, shape_ids, new_ids, _ = ch.split_ids(plan.owned[ch.c].shape[0])
    seq_ids = np.where(roads.seq >= 0, plan.new_id[np.maximum(roads.seq, 0)],
                       shape_ids[np.maximum(-1 - roads.seq, 0)] if roads.n_shape else 0)
    nr = roads.ways.shape[0]
    n_ways = nr + sum(d.ptr.shape[0] - 1 for d in ch.drawn)
    way_ids = _ids(rng, way_start, n_ways, WAY_ID_MAX, GB_WAYS)
    ids = {"roads": way_ids[:nr]}
    road_tags = _Vocab(tuple(src.way_tags[i] for i in roads.ways.tolist()), tuple([1.0] * nr))
    text = [_way_lines(ids["roads"], rng, [(road_tags, np.arange(nr))], seq_ids, roads.ptr)]
    cursor = nr
    for d, new in zip(ch.drawn, new_ids, strict=True):
        n = d.ptr.shape[0] - 1
        ids[d.kind.name] = way_ids[cursor:cursor + n]
        cursor += n
        refs = np.empty(int(d.ptr[-1]), dtype=np.int64)
        att = np.flatnonzero(d.attach >= 0)
        fill = np.ones(refs.shape[0], dtype=bool)
        fill[d.ptr[att]] = False
        refs[fill] = new
        refs[d.ptr[att]] = seq_ids[d.attach[att]]
        ptr = d.ptr
        if d.kind.ring:  # closed: the first node again at the end
            closed_ptr = ptr + np.arange(ptr.shape[0])
            closed = np.empty(int(closed_ptr[-1]), dtype=np.int64)
            end = closed_ptr[1:] - 1
            body = np.ones(closed.shape[0], dtype=bool)
            body[end] = False
            closed[body] = refs
            closed[end] = refs[ptr[:-1]]
            refs, ptr = closed, closed_ptr
        tags = [(d.kind.tags, d.kind.tags.draw(ch.rng_tags, n))]
        source = _source_vocab(d.kind.source_share)
        tags.append((source, source.draw(ch.rng_tags, n)))
        if d.kind.address:
            tags.append((ADDRESSES, ADDRESSES.draw(ch.rng_tags, n)))
        text.append(_way_lines(ids[d.kind.name], rng, tags, refs, ptr))
    # Source nodes where two of the chunk's road ways meet.
    at = np.flatnonzero(roads.seq >= 0)
    way_at = np.repeat(np.arange(nr), np.diff(roads.ptr))[at]
    node_at = roads.seq[at]
    order = np.lexsort((way_at, node_at))
    node_s, way_s = node_at[order], way_at[order]
    pair = np.flatnonzero((node_s[1:] == node_s[:-1]) & (way_s[1:] != way_s[:-1]))
    junction_ways = np.stack([ids["roads"][way_s[pair]], ids["roads"][way_s[pair + 1]]], axis=1)
    return _Ways(text, ids, plan.new_id[node_s[pair]], junction_ways)


def _relations(ways: _Ways, km: float, start: int, seed: int, c: int) -> tuple[bytes, int, int]:
    """Relations over a chunk's ways: multipolygons of its areas, routes along its roads and
    paths, turn restrictions at its junctions, sites of its buildings.  Returns the OPL, the
    count and the last id."""
    rng = np.random.default_rng([seed, c, 5])
    n_total = int(GB_RELATIONS * km / REFERENCE_ROAD_KM + rng.random())
    counts = {k: round(n_total * s) for k, s in RELATION_SHARE.items()}
    empty = np.zeros(0, dtype=np.int64)
    area = np.concatenate([ways.ids.get(k, empty) for k in ("landuse", "natural", "buildings")])
    line = np.concatenate([ways.ids.get(k, empty) for k in ("roads", "paths")])
    building = ways.ids.get("buildings", empty)
    counts["multipolygon"] *= int(area.shape[0] >= 2)
    counts["route"] *= int(line.shape[0] >= 2)
    counts["site"] *= int(building.shape[0] >= 1)
    counts["restriction"] = min(counts["restriction"], ways.junctions.shape[0])
    members: list[bytes] = []
    heads: list[_Vocab] = []
    for _ in range(counts["multipolygon"]):
        m = np.unique(area[rng.integers(0, area.shape[0], int(rng.integers(2, 5)))])
        roles = [b"outer"] + [b"inner"] * (m.shape[0] - 1)
        members.append(b",".join(b"w%d@%s" % (x, r) for x, r in zip(m.tolist(), roles, strict=True)))
        heads.append(_MP_TAGS)
    for _ in range(counts["route"]):
        m = np.unique(line[rng.integers(0, line.shape[0], int(rng.integers(5, 40)))])
        members.append(b",".join(b"w%d@" % x for x in m.tolist()))
        heads.append(_ROUTE_TAGS)
    for p in rng.permutation(ways.junctions.shape[0])[:counts["restriction"]].tolist():
        a, b = ways.junction_ways[p].tolist()
        members.append(b"w%d@from,n%d@via,w%d@to" % (a, ways.junctions[p], b))
        heads.append(_RESTRICTION_TAGS)
    for _ in range(counts["site"]):
        m = np.unique(building[rng.integers(0, building.shape[0], int(rng.integers(1, 6)))])
        members.append(b",".join(b"w%d@" % x for x in m.tolist()))
        heads.append(_SITE_TAGS)
    n = len(members)
    if n == 0:
        return b"", 0, start
    ids = _ids(rng, start, n, RELATION_ID_MAX, GB_RELATIONS)
    meta = _record(n, _meta(rng, n))
    lines = []
    for i, (vocab, mem) in enumerate(zip(heads, members, strict=True)):
        tags = vocab.words[int(rng.choice(len(vocab.words), p=np.asarray(vocab.p)))]
        lines.append(b"r%011d%s T%s M%s\n" % (ids[i], meta[i].tobytes(), tags, mem))
    return b"".join(lines), n, int(ids[-1])


# --- writing ------------------------------------------------------------------------------

@dataclass
class VolumeResult:
    """What was written: counts by object type and kind, and how long it took."""

    path: Path
    nodes: int
    ways: int
    relations: int
    road_ways: int
    road_nodes: int  # distinct nodes on the road ways (source nodes + shape nodes)
    road_km: float
    chunks: int
    counts: dict[str, int]
    seconds: float


def generate_volume(source: str | Path, out: str | Path, *, scale: float = 1.0, seed: int = 0,
                    chunk_km: float = CHUNK_KM, progress: Progress | None = None) -> VolumeResult:
    """Write a GENERATED PBF of Great Britain's download volume and mix over the road network of
    ``source`` (a ``routeplan synth`` PBF), and a JSON sidecar ``<out>.json``, both atomically.

    Parameters
    ----------
    source
        Road-only GENERATED PBF whose roads are kept (densified) and around which the rest is drawn.
    out
        The ``.osm.pbf`` to write.
    scale
        Share of the source's road km kept (the southern part), with its extras; 1.0 on the GB
        preset is a file of Great Britain's volume (about 230 M nodes, 32 M ways, 600 k relations).
    seed
        Everything drawn depends only on (source, seed, scale, chunk_km).
    chunk_km
        Road km per chunk: memory is bounded by one chunk.
    progress
        ``progress(stage, done, total)`` after each chunk of each pass.

    Raises
    ------
    ValueError
        ``scale`` not in (0, 1], ``chunk_km`` not positive, or a source with no ways.
    """
    if not (math.isfinite(scale) and 0 < scale <= 1):
        msg = f"scale must be in (0, 1], got {scale!r}"
        raise ValueError(msg)
    if not (math.isfinite(chunk_km) and chunk_km > 0):
        msg = f"chunk_km must be positive, got {chunk_km!r}"
        raise ValueError(msg)
    t0 = time.perf_counter()
    say = progress or (lambda _s, _d, _t: None)
    out = Path(out)
    src = _read_source(Path(source))
    plan = _plan(src, scale, chunk_km)
    n_chunks = len(plan.ways)
    kept = np.concatenate(plan.ways)
    road_src = np.unique(src.refs[_ranges(src.ptr[kept], src.ptr[kept + 1] - src.ptr[kept])])
    pad = 0.01  # the extras lie within a few hundred metres of the roads
    header = osmium.io.Header()
    header.set("generator", GENERATOR)
    header.set("sorting", "Type_then_ID")
    header.add_box(osmium.osm.Box(
        osmium.osm.Location(float(src.lon[road_src].min()) - pad, float(src.lat[road_src].min()) - pad),
        osmium.osm.Location(float(src.lon[road_src].max()) + pad, float(src.lat[road_src].max()) + pad)))
    pool = osmium.io.ThreadPool()
    counts: dict[str, int] = {}
    n_nodes = n_shape = 0
    relations: list[bytes] = []

    def feed(writer: Any, texts: list[bytes]) -> None:
        """libosmium parses the OPL and the writer encodes it as PBF (no Python per object)."""
        text = b"".join(texts)
        if text:
            osmium.apply(osmium.io.Reader(osmium.io.FileBuffer(text, "opl"), thread_pool=pool), writer)

    with atomic_path(out) as tmp:
        writer = osmium.SimpleWriter(osmium.io.File(str(tmp), "pbf,add_metadata=version+timestamp"),
                                     header=header, overwrite=True)
        try:
            node_start = np.zeros(n_chunks + 1, dtype=np.int64)
            for c in range(n_chunks):
                ch = _chunk(src, plan, c, seed, int(node_start[c]))
                feed(writer, _node_text(src, plan, ch, seed))
                node_start[c + 1] = ch.node_ids[-1] if ch.node_ids.shape[0] else node_start[c]
                n_nodes += ch.node_ids.shape[0]
                n_shape += ch.roads.n_shape
                for k, p in zip(NODE_KINDS, ch.points, strict=True):
                    counts[f"nodes.{k.name}"] = counts.get(f"nodes.{k.name}", 0) + int(p[1].shape[0])
                say("writing nodes", c + 1, n_chunks)
            way_start = rel_start = 0
            n_ways = n_rel = 0
            for c in range(n_chunks):
                ch = _chunk(src, plan, c, seed, int(node_start[c]))
                ways = _way_text(src, plan, ch, seed, way_start)
                feed(writer, ways.text)
                for name, v in ways.ids.items():
                    counts[f"ways.{name}"] = counts.get(f"ways.{name}", 0) + int(v.shape[0])
                    n_ways += int(v.shape[0])
                    way_start = max(way_start, int(v[-1]) if v.shape[0] else 0)
                text, n_r, rel_start = _relations(ways, float(plan.km[c]), rel_start, seed, c)
                relations.append(zlib.compress(text, 1))
                n_rel += n_r
                say("writing ways", c + 1, n_chunks)
            for c, packed in enumerate(relations):
                feed(writer, [zlib.decompress(packed)])
                say("writing relations", c + 1, n_chunks)
        finally:
            writer.close()
    result = VolumeResult(out, n_nodes, n_ways, n_rel, int(kept.shape[0]), int(road_src.shape[0]) + n_shape,
                          float(plan.km.sum()), n_chunks, dict(sorted(counts.items())), time.perf_counter() - t0)
    _sidecar(out, result, src, scale, seed, chunk_km)
    log.info("wrote %s: %d nodes, %d ways, %d relations in %.0f s", out, n_nodes, n_ways, n_rel, result.seconds)
    return result


def _sidecar(out: Path, result: VolumeResult, src: _Source, scale: float, seed: int, chunk_km: float) -> None:
    """Provenance beside the PBF (the PBF's own header and road tags are what mark it GENERATED)."""
    doc = {
        "generated": True, "note": NOTE, "generator": GENERATOR, "pbf": out.name,
        "source_sha256": src.sha256, "scale": scale, "seed": seed, "chunk_km": chunk_km,
        "nodes": result.nodes, "ways": result.ways, "relations": result.relations,
        "road_ways": result.road_ways, "road_nodes": result.road_nodes, "road_km": round(result.road_km, 3),
        "chunks": result.chunks, "counts": result.counts, "seconds": round(result.seconds, 1),
        "targets_scale_1": {"nodes": GB_NODES, "ways": GB_WAYS, "relations": GB_RELATIONS,
                            "reference_road_km": REFERENCE_ROAD_KM},
    }
    with atomic_write(Path(f"{out}.json")) as fh:
        json.dump(doc, fh, indent=2, sort_keys=True)
        fh.write("\n")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m routeplan.synth_volume OUT --source PBF [--scale S] [--seed N]``: one JSON line
    on stdout, a progress bar per pass on stderr."""
    ap = argparse.ArgumentParser(prog="python -m routeplan.synth_volume",
                                 description="Write a GENERATED PBF of Great Britain's OSM download volume and mix.")
    ap.add_argument("out", type=Path)
    ap.add_argument("--source", type=Path, required=True, help="road-only GENERATED PBF (routeplan synth --preset gb)")
    ap.add_argument("--scale", type=float, default=1.0, help="share of the source's road km, with its extras (0 < s <= 1)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chunk-km", type=float, default=CHUNK_KM)
    args = ap.parse_args(argv)
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def show(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="chunk", file=sys.stderr, mininterval=1.0)
        bar.update(done - bar.n)
        if done == total:
            bar.close()

    res = generate_volume(args.source, args.out, scale=args.scale, seed=args.seed, chunk_km=args.chunk_km, progress=show)
    print(json.dumps({"path": str(res.path), "nodes": res.nodes, "ways": res.ways, "relations": res.relations,
                      "road_ways": res.road_ways, "road_nodes": res.road_nodes, "road_km": round(res.road_km, 1),
                      "chunks": res.chunks, "seconds": round(res.seconds, 1), "bytes": res.path.stat().st_size}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
