"""Realistic GENERATED road networks for Great Britain: a stand-in with the structure of real roads.

The grid presets of :mod:`routeplan.synth` (one jittered street grid per constituency) are stress
cases, but they have none of the structure that hierarchy- and partition-based routers exploit
(contraction hierarchies, MLD/CRP cells, Valhalla's road-class levels): OSRM's contraction did not
finish on the GB grid and Valhalla routed a quarter of its pairs.  This module builds networks that
are shaped like real GB roads, over the real 2024 constituency polygons and the real motorway
skeleton (OS Open Roads), deterministic by seed:

* **Settlements** (several per seat) with heavy-tailed sizes: rank-size (Zipf) within each seat
  around a built-up budget (``urban_km2``, about England's 9 % urban share per seat); seats too small
  for their budget are built up whole, so neighbouring urban seats merge into cities.
* **Towns are dense clusters**: every built-up lattice cell (``lattice_m`` square) holds a
  neighbourhood of residential streets (a spanning tree of a ``block`` x ``block`` grid with a few
  loops, i.e. closes and crescents).  Distributor roads (tertiary) run on every second lattice line
  only, so estates of 2 x 2 cells lie between them, and a quarter of them are dropped where the
  mesh stays connected (T-junctions rather than crossroads); a neighbourhood meets them at one or
  two access points, never at a trunk/primary/secondary side when it has another, and its streets
  may join the next cell's inside the estate.  Arterials meet local streets at junctions, not at
  every street.  (A distributor on every line, the first design, left OSRM's contraction slower
  than on real data by an order of magnitude: a uniform-speed mesh is the hard case for CH.)
* **Arterial hierarchy** between settlement hubs, as proximity graphs at four levels: a relative
  neighbourhood graph of cities (trunk), a Gabriel graph of towns, cities and motorway junctions
  (primary), relative neighbourhood graphs of larger villages (secondary) and of all settlements
  (tertiary) [Toussaint 1980; Gabriel & Sokal 1969], each edge drawn as a digital straight line on the
  lattice (8-connected) so every meeting of two roads is a junction node (planar by construction).
* **Rural lanes**: a shortest-path forest on the lattice from the arterial network out to scattered
  hamlets and farms (density falling with the seat's area), pruned to the paths that lead somewhere,
  with a few loops; branches that serve many places become tertiary.
* **Water is crossed only at bridges**: tidal rivers and estuaries are the gaps in the BGC polygons
  (clipped to the coastline), and :data:`RIVERS` draws the main non-tidal rivers as lines over them.
  A road may cross water only on a bridge: where an arterial's line meets water, it becomes a bridge
  when the span is short enough and no other bridge is near (1 km in towns, 4 km elsewhere), else it
  is re-routed on the lattice to an existing bridge.  The long estuary crossings are the real ones
  (:data:`LONG_CROSSINGS`; the Severn and Dartford crossings come with the motorways).  Islands without
  a bridge are joined by one straight crossing each (a ferry in reality; the router here has none).
* **Motorways** are the real skeleton, cleaned (slip roads and junction loops collapsed), built as
  two one-way carriageways; they meet local roads only at junctions, which stand where the real slip
  roads were (gaps over 12 km filled with synthetic ones), each with four one-way ``motorway_link``
  slips to a junction node and a primary link road into the local network.
* Tags as OSM has them: ``highway``, ``ref`` (A/B numbers, real motorway refs), ``name``,
  ``maxspeed`` (20 mph residential, 30 mph built-up, 40 mph urban trunk, 60 mph on rural A roads,
  70 mph motorways; rural B and minor roads untagged, so routers use their class speeds),
  ``oneway`` on carriageways and slips, ``bridge``/``layer``, ``motorway_junction`` nodes,
  ``place`` nodes.

The final graph is strongly connected for a car: everything outside the largest strongly connected
part is dropped before writing (the count is reported).  Geometry is built in EPSG:27700 metres.
Randomness is hashed from the seed and absolute lattice position (warp, jitter, farms, neighbourhood
patterns) or from the seed and the seat code (settlements), so an area looks alike in the region and
GB presets.  The writer and the GENERATED marks are those of :mod:`routeplan.synth`.

References
----------
Gabriel, K. R. and Sokal, R. R. (1969). A new statistical approach to geographic variation
analysis. Systematic Zoology 18(3), 259-278. doi:10.2307/2412323
Toussaint, G. T. (1980). The relative neighbourhood graph of a finite planar set. Pattern
Recognition 12(4), 261-268. doi:10.1016/0031-3203(80)90066-7
Barthelemy, M. (2011). Spatial networks. Physics Reports 499(1-3), 1-101.
doi:10.1016/j.physrep.2010.11.002 (road networks: planar, hierarchical, heavy-tailed settlements)
Zipf, G. K. (1949). Human Behavior and the Principle of Least Effort (rank-size rule of towns).
"""

from __future__ import annotations

import itertools
import logging
import math
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import geopandas
import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, dijkstra, minimum_spanning_tree
from scipy.spatial import Delaunay, QhullError

from routeplan import synth as _synth
from routeplan.boundaries import Boundaries, sha256_file
from routeplan.errors import UsageError

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class RealisticSize:
    """A realistic preset.  Node counts scale with ``block`` squared (streets per built-up cell) and
    with ``urban_km2``; ``lattice_m`` sets the distributor and lane spacing."""

    n_constituencies: int | None  # None: every GB constituency; else this many around the centre
    lattice_m: float = 500.0  # distributor roads / rural lane lattice spacing
    block: int = 3  # a neighbourhood is block x block inner junctions
    urban_km2: float = 20.0  # built-up land per seat before noise (England: ~21 km2 a seat)
    settlement_rate: float = 0.5  # settlements in a seat: rate * area_km2 ** 0.7
    farm_share: float = 0.3  # share of rural lattice points served by a lane, lowland density
    nodes: tuple[int, int] = (0, 0)  # the node count the preset is tuned to land in


REALISTIC_SIZES: dict[str, RealisticSize] = {
    "realistic-county": RealisticSize(10, 400.0, 4, 20.0, 0.5, 0.3, (20_000, 120_000)),
    "realistic-region": RealisticSize(60, 400.0, 5, 20.0, 0.5, 0.3, (200_000, 500_000)),
    "realistic-gb": RealisticSize(None, 500.0, 4, 20.0, 0.5, 0.3, (1_000_000, 3_000_000)),
}

# Road classes, most important first: the index is the rank used everywhere below.
CLASSES = ("motorway", "motorway_link", "trunk", "primary", "secondary", "tertiary",
           "unclassified", "residential")
MOTORWAY, LINK, TRUNK, PRIMARY, SECONDARY, TERTIARY, UNCLASSIFIED, RESIDENTIAL = range(8)
URBAN, BRIDGE, TUNNEL = 1, 2, 4  # group flags

SLIVER_M = 25.0  # polygons grown by this before the union: closes slivers between neighbours
RIVER_HALF_WIDTH_M = 12.0
WARP_M = 0.16  # lattice warp amplitude, share of the spacing (smooth, so cells stay convex)
JITTER = 0.10  # node jitter, share of the spacing
PARK_SHARE = 0.08  # cells left open in built-up seats
CITY_SEAT_SHARE = 0.6  # a seat whose budget covers this share of its land is built up whole
SUBHUB_EVERY = 6  # lattice steps between extra primary hubs inside big built-up areas
SUBHUB_MIN_KM2 = 15.0  # agglomerations at least this big get them
TIER_KM2 = (40.0, 3.0, 0.75)  # settlement area for a trunk / primary / secondary hub (else tertiary)
MIN_ISLAND_KM2 = 10.0  # no settlement on smaller islands (St Kilda, Fair Isle...)
BRIDGE_SPAN_M = (1200.0, 1200.0, 800.0, 400.0)  # longest water span: trunk .. tertiary
BRIDGE_GAP_URBAN_M = 1000.0
BRIDGE_GAP_RURAL_M = 4000.0
NEW_BRIDGE_PENALTY_M = 3000.0  # a re-routed arterial prefers 3 km more road to a new bridge
DETOUR_MAX = 2.5  # a re-routed arterial is at most this times the straight line (+ 8 km)
FARM_REF_DENSITY = 150.0  # rural people per km2 at which farm_share applies
LANE_LOOP_P = 0.12
LANE_SIGMA = 1.0  # spread of the log of a lane side's random length
LANE_TERTIARY_SERVED = 12  # a lane serving this many places or more is tertiary
ACCESS_P = 0.6  # chance that a neighbourhood side has an access street
LOOP_P = 0.22  # chance of an extra (loop) street in a neighbourhood
ESTATE = 2  # distributor roads on every 2nd lattice line: estates of 2 x 2 cells between them
DISTRIBUTOR_DROP = 0.25  # share of distributor sides dropped where the mesh stays connected
INNER_STREET_P = 0.4  # chance that the streets of two cells of an estate join across their side
N_PATTERNS = 512
MW_SLIP_MAX_M = 2000.0  # dangling motorway pieces shorter than this are slip roads
MW_CONTRACT_M = 1000.0  # motorway chains shorter than this between branches are junction loops
MW_CLUSTER_M = 1500.0  # ... collapsed when the merged node stays within this
MW_HALF_GAP_M = 12.0  # carriageway offset from the centreline
JUNCTION_MIN_M = 1500.0
JUNCTION_MAX_GAP_M = 12000.0  # gaps longer than this get synthetic junctions ...
JUNCTION_FILL_M = (5000.0, 9000.0)  # ... this far apart
JUNCTION_SIDE_M = 180.0  # junction node off the motorway
JUNCTION_LINK_MAX_M = 2000.0

# Non-tidal stretches of the main rivers (the tidal ones are gaps in the polygons already), lon/lat
# waypoints approximated by hand from the OS 1:250 000 map; drawn as lines, crossed only at bridges.
RIVERS: dict[str, tuple[tuple[float, float], ...]] = {
    "Thames": ((-2.03, 51.69), (-1.69, 51.69), (-1.45, 51.71), (-1.26, 51.75), (-1.28, 51.67),
               (-1.12, 51.60), (-1.14, 51.52), (-0.97, 51.465), (-0.90, 51.54), (-0.77, 51.57),
               (-0.70, 51.52), (-0.61, 51.485), (-0.51, 51.43), (-0.41, 51.39), (-0.31, 51.41),
               (-0.32, 51.435), (-0.30, 51.46)),
    "Severn": ((-3.72, 52.49), (-3.54, 52.45), (-3.31, 52.51), (-3.14, 52.66), (-2.75, 52.71),
               (-2.48, 52.63), (-2.42, 52.53), (-2.32, 52.38), (-2.22, 52.19), (-2.22, 52.06),
               (-2.16, 51.99), (-2.25, 51.87), (-2.36, 51.80)),
    "Trent": ((-2.10, 53.12), (-2.18, 53.00), (-2.15, 52.90), (-1.93, 52.76), (-1.63, 52.80),
              (-1.14, 52.935), (-0.81, 53.08), (-0.78, 53.40), (-0.70, 53.70)),
    "Great Ouse": ((-1.15, 52.03), (-0.99, 52.00), (-0.72, 52.09), (-0.47, 52.135),
                   (-0.27, 52.23), (-0.18, 52.33), (0.27, 52.40), (0.37, 52.60), (0.39, 52.75)),
    "Ouse": ((-1.40, 54.09), (-1.08, 53.96), (-1.07, 53.78), (-0.87, 53.70)),
    "Wye": ((-3.75, 52.47), (-3.51, 52.30), (-3.40, 52.15), (-3.13, 52.07), (-2.72, 52.05),
            (-2.58, 51.91), (-2.71, 51.81), (-2.67, 51.64)),
    "Avon": ((-2.10, 51.58), (-2.12, 51.46), (-2.25, 51.35), (-2.36, 51.38), (-2.58, 51.45)),
    "Dee": ((-3.60, 52.91), (-3.17, 52.97), (-2.91, 53.00), (-2.89, 53.19)),
    "Mersey": ((-2.16, 53.41), (-2.40, 53.42), (-2.59, 53.39), (-2.70, 53.36)),
    "Tyne": ((-2.10, 54.97), (-1.85, 54.96), (-1.70, 54.96)),
    "Tweed": ((-3.40, 55.50), (-3.19, 55.65), (-2.81, 55.61), (-2.43, 55.60), (-2.25, 55.65),
              (-2.00, 55.77)),
    "Clyde": ((-3.65, 55.40), (-3.78, 55.67), (-4.04, 55.78), (-4.27, 55.857)),
    "Forth": ((-4.38, 56.18), (-3.94, 56.12), (-3.79, 56.11)),
    "Tay": ((-4.05, 56.50), (-3.87, 56.62), (-3.58, 56.565), (-3.43, 56.39)),
    "Spey": ((-4.35, 57.07), (-4.05, 57.08), (-3.83, 57.19), (-3.60, 57.33), (-3.10, 57.61),
             (-3.08, 57.67)),
    "Aberdeenshire Dee": ((-3.40, 57.01), (-3.04, 57.05), (-2.49, 57.05), (-2.08, 57.14)),
}

# The long real estuary crossings that are not motorways (ends approximated, lon/lat), so that the
# generic span rule need not allow 2 km bridges everywhere.
LONG_CROSSINGS: tuple[tuple[str, str, tuple[float, float], tuple[float, float], int, bool], ...] = (
    ("Humber Bridge", "A15", (-0.4515, 53.7175), (-0.4425, 53.6945), PRIMARY, False),
    ("Forth Road Bridge", "A90", (-3.4030, 55.9880), (-3.4060, 56.0130), TRUNK, False),
    ("Tay Road Bridge", "A92", (-2.9650, 56.4580), (-2.9380, 56.4330), PRIMARY, False),
    ("Kessock Bridge", "A9", (-4.2250, 57.4870), (-4.2150, 57.5020), TRUNK, False),
    ("Kincardine Bridge", "A985", (-3.7240, 56.0650), (-3.7230, 56.0500), PRIMARY, False),
    ("Erskine Bridge", "A898", (-4.4520, 55.9190), (-4.4650, 55.9360), TRUNK, False),
    ("Queensway Tunnel", "A41", (-2.9890, 53.4080), (-3.0180, 53.3930), PRIMARY, True),
    ("Silver Jubilee Bridge", "A533", (-2.7350, 53.3420), (-2.7330, 53.3560), PRIMARY, False),
    ("Tamar Bridge", "A38", (-4.1980, 50.4080), (-4.2160, 50.4100), TRUNK, False),
    ("Britannia Bridge", "A55", (-4.1760, 53.2130), (-4.1950, 53.2200), TRUNK, False),
    ("Skye Bridge", "A87", (-5.7140, 57.2790), (-5.7460, 57.2700), TRUNK, False),
    ("Cleddau Bridge", "A477", (-4.9420, 51.7120), (-4.9460, 51.6960), PRIMARY, False),
    ("Orwell Bridge", "A14", (1.1640, 52.0320), (1.1700, 52.0220), TRUNK, False),
    ("Itchen Bridge", "A3025", (-1.3880, 50.8970), (-1.3760, 50.8960), PRIMARY, False),
    ("Tyne Tunnel", "A19", (-1.4870, 55.0140), (-1.4860, 54.9990), TRUNK, True),
)


# -- seeded hashing: randomness tied to a place, not to the order things are made in -------------

def _mix(h: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64 finaliser (Steele, Lea & Flood 2014), on arrays (uint64 wraps silently)."""
    h = h ^ (h >> np.uint64(30))
    h = h * np.uint64(0xBF58476D1CE4E5B9)
    h = h ^ (h >> np.uint64(27))
    h = h * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


def _unif(seed: int, salt: int, *keys: npt.ArrayLike) -> FloatArray:
    """Uniform [0, 1) numbers that depend only on (seed, salt, keys): same place, same draw."""
    arrays = [np.atleast_1d(np.asarray(k, dtype=np.int64)) for k in keys]
    shape = np.broadcast_shapes(*(a.shape for a in arrays)) if arrays else (1,)
    h = np.full(shape, (seed * 1_000_003 + salt * 7919) & 0x7FFFFFFFFFFFFFFF, dtype=np.uint64)
    h = _mix(h)
    for a in arrays:
        h = _mix(h ^ np.broadcast_to(a, shape).astype(np.uint64))
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def _seat_rng(seed: int, code: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(code.encode()), 7])


# -- water: the land polygon (with rivers cut out) and its boundary in small pieces ---------------

@dataclass
class _Water:
    land: Any  # shapely (Multi)Polygon, prepared
    pieces: Any  # STRtree of the land boundary in short pieces (coast, estuary banks, river banks)
    rivers: list[tuple[str, Any]]  # (name, LineString in metres)


def _project_lonlat(points: tuple[tuple[float, float], ...] | list[tuple[float, float]]) -> FloatArray:
    tr = Transformer.from_crs(4326, 27700, always_xy=True)
    arr = np.asarray(points, dtype=np.float64)
    x, y = tr.transform(arr[:, 0], arr[:, 1])
    return np.column_stack([x, y])


def river_lines(box: tuple[float, float, float, float] | None = None) -> list[tuple[str, Any]]:
    """The :data:`RIVERS` as (name, LineString in EPSG:27700), clipped to ``box`` when given."""
    out = []
    for name, pts in RIVERS.items():
        line = shapely.linestrings(_project_lonlat(pts))
        if box is not None:
            line = shapely.clip_by_rect(line, *box)
        if not line.is_empty and line.length > 0:
            out.append((name, line))
    return out


def _water(geoms: list[Any]) -> _Water:
    grown = shapely.buffer(np.asarray(geoms, dtype=object), SLIVER_M, quad_segs=2)
    land = shapely.union_all(grown)
    box = land.bounds
    rivers = river_lines(box)
    if rivers:
        cut = shapely.union_all(shapely.buffer([g for _, g in rivers], RIVER_HALF_WIDTH_M,
                                               quad_segs=2))
        land = shapely.difference(land, cut)
    shapely.prepare(land)
    rings = shapely.get_parts(shapely.boundary(land))
    coords, idx = shapely.get_coordinates(rings, return_index=True)
    starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
    ends = np.r_[starts[1:], len(idx)]
    step = 31
    chunks: list[FloatArray] = []
    for s0, e0 in zip(starts.tolist(), ends.tolist(), strict=True):
        for k in range(s0, e0 - 1, step):
            chunks.append(coords[k:min(k + step + 1, e0)])
    lines = shapely.linestrings(np.concatenate(chunks),
                                indices=np.repeat(np.arange(len(chunks)), [len(c) for c in chunks]))
    return _Water(land, shapely.STRtree(lines), rivers)


def _crosses_water(water: _Water, a: FloatArray, b: FloatArray) -> BoolArray:
    """Does each straight segment a[k] -> b[k] touch the land boundary (coast, bank, river)?"""
    out = np.zeros(len(a), dtype=bool)
    if len(a) == 0:
        return out
    lines = shapely.linestrings(np.stack([a, b], axis=1))
    hit, _ = water.pieces.query(lines, predicate="intersects")
    out[np.unique(hit)] = True
    return out


def _water_length(water: _Water, a: FloatArray, b: FloatArray, step_m: float = 20.0) -> float:
    """Length of the segment a-b that is off land, sampled every ``step_m``."""
    length = float(np.hypot(*(b - a)))
    n = max(2, math.ceil(length / step_m))
    t = (np.arange(n) + 0.5) / n
    pts = a[None, :] + t[:, None] * (b - a)[None, :]
    wet = ~shapely.contains_xy(water.land, pts[:, 0], pts[:, 1])
    return float(wet.mean() * length)


# -- the lattice: distributor roads, rural lanes and the frame of every neighbourhood -------------

@dataclass
class _Lattice:
    d: float
    i0: int
    j0: int
    nx: int
    ny: int
    x: FloatArray  # warped node position, index g = j * nx + i (local i, j)
    y: FloatArray
    land: BoolArray
    seat: npt.NDArray[np.int32]
    valid_h: BoolArray  # edge g -> g + 1 is on land, crossing no water
    valid_v: BoolArray  # edge g -> g + nx
    clean: BoolArray  # cell g (corners g, g+1, g+nx+1, g+nx) wholly on dry land
    cell_comp: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    land_comp: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))  # per node

    def xy(self, g: IntArray) -> FloatArray:
        return np.column_stack([self.x[g], self.y[g]])

    def nearest_land(self, px: float, py: float, radius_m: float) -> int:
        """The land node nearest (px, py) within radius_m, or -1."""
        r = math.ceil(radius_m / self.d) + 1
        ci = round(px / self.d) - self.i0
        cj = round(py / self.d) - self.j0
        ii = np.arange(max(ci - r, 0), min(ci + r + 1, self.nx))
        jj = np.arange(max(cj - r, 0), min(cj + r + 1, self.ny))
        if len(ii) == 0 or len(jj) == 0:
            return -1
        g = (jj[:, None] * self.nx + ii[None, :]).ravel()
        g = g[self.land[g]]
        if len(g) == 0:
            return -1
        dist = np.hypot(self.x[g] - px, self.y[g] - py)
        k = int(np.argmin(dist))
        return int(g[k]) if dist[k] <= radius_m else -1


def _warp(bx: FloatArray, by: FloatArray, d: float, seed: int) -> tuple[FloatArray, FloatArray]:
    """A smooth displacement (a few long sine waves, fixed by the seed): streets bend gently."""
    rng = np.random.default_rng([seed, 11])
    wx = np.zeros_like(bx)
    wy = np.zeros_like(by)
    for _ in range(5):
        theta = rng.uniform(0, 2 * math.pi)
        wave = rng.uniform(3000.0, 12000.0)
        phase = rng.uniform(0, 2 * math.pi)
        amp = WARP_M * d / 2.5 * rng.uniform(0.5, 1.0)
        direction = rng.uniform(0, 2 * math.pi)
        s = np.sin(2 * math.pi * (bx * math.cos(theta) + by * math.sin(theta)) / wave + phase)
        wx += amp * math.cos(direction) * s
        wy += amp * math.sin(direction) * s
    return wx, wy


def _lattice(water: _Water, geoms: list[Any], d: float, seed: int) -> _Lattice:
    x0, y0, x1, y1 = water.land.bounds
    i0, j0 = math.floor(x0 / d) - 1, math.floor(y0 / d) - 1
    nx, ny = math.ceil(x1 / d) + 2 - i0, math.ceil(y1 / d) + 2 - j0
    gj, gi = np.divmod(np.arange(nx * ny, dtype=np.int64), nx)
    ai, aj = gi + i0, gj + j0
    bx, by = ai * d, aj * d
    wx, wy = _warp(bx, by, d, seed)
    x = bx + wx + (_unif(seed, 1, ai, aj) - 0.5) * 2 * JITTER * d
    y = by + wy + (_unif(seed, 2, ai, aj) - 0.5) * 2 * JITTER * d
    land = shapely.contains_xy(water.land, x, y)
    seat = np.full(nx * ny, -1, dtype=np.int32)
    for s, poly in enumerate(geoms):
        px0, py0, px1, py1 = poly.bounds
        ia, ib = max(math.floor(px0 / d) - 1 - i0, 0), min(math.ceil(px1 / d) + 1 - i0, nx - 1)
        ja, jb = max(math.floor(py0 / d) - 1 - j0, 0), min(math.ceil(py1 / d) + 1 - j0, ny - 1)
        g = (np.arange(ja, jb + 1)[:, None] * nx + np.arange(ia, ib + 1)[None, :]).ravel()
        g = g[land[g] & (seat[g] < 0)]
        shapely.prepare(poly)
        seat[g[shapely.contains_xy(poly, x[g], y[g])]] = s
    # nodes near water: only their edges and cells need an exact test
    lg = np.flatnonzero(land)
    hit, _ = water.pieces.query(shapely.points(x[lg], y[lg]), predicate="dwithin", distance=d)
    near = np.zeros(nx * ny, dtype=bool)
    near[lg[np.unique(hit)]] = True
    last_col = gi == nx - 1
    last_row = gj == ny - 1
    g_all = np.arange(nx * ny, dtype=np.int64)
    valid_h = land & ~last_col
    valid_h[~last_col] &= land[g_all[~last_col] + 1]
    valid_v = land & ~last_row
    valid_v[~last_row] &= land[g_all[~last_row] + nx]
    for valid, off in ((valid_h, 1), (valid_v, nx)):
        test = np.flatnonzero(valid & (near | np.roll(near, -off)))
        wet = _crosses_water(water, np.column_stack([x[test], y[test]]),
                             np.column_stack([x[test + off], y[test + off]]))
        valid[test[wet]] = False
    # a cell is clean when its four sides are dry and no coast or bank runs inside it
    clean = valid_h.copy()
    inner = ~last_row & ~last_col
    clean &= inner
    gi_in = g_all[inner]
    clean[gi_in] &= valid_v[gi_in] & valid_h[gi_in + nx] & valid_v[gi_in + 1]
    test = np.flatnonzero(clean & (near | np.roll(near, -1) | np.roll(near, -nx)
                                   | np.roll(near, -nx - 1)))
    if len(test):
        quad = np.stack([np.column_stack([x[c], y[c]]) for c in
                         (test, test + 1, test + nx + 1, test + nx, test)], axis=1)
        polys = shapely.polygons(quad)
        hit, _ = water.pieces.query(polys, predicate="intersects")
        clean[test[np.unique(hit)]] = False
    lat = _Lattice(d, i0, j0, nx, ny, x, y, land, seat, valid_h, valid_v, clean)
    # cells joined through a dry shared side: a settlement grows only within its own piece of land
    c = np.flatnonzero(clean)
    right = c[clean[np.minimum(c + 1, nx * ny - 1)] & valid_v[np.minimum(c + 1, nx * ny - 1)]]
    up = c[clean[np.minimum(c + nx, nx * ny - 1)] & valid_h[np.minimum(c + nx, nx * ny - 1)]]
    a = np.concatenate([right, up])
    z = np.concatenate([right + 1, up + nx])
    _, comp = connected_components(coo_matrix((np.ones(len(a)), (a, z)), shape=(nx * ny,) * 2),
                                   directed=False)
    lat.cell_comp = comp.astype(np.int64)
    h, v = np.flatnonzero(valid_h), np.flatnonzero(valid_v)
    a = np.concatenate([h, v])
    z = np.concatenate([h + 1, v + nx])
    _, comp = connected_components(coo_matrix((np.ones(len(a)), (a, z)), shape=(nx * ny,) * 2),
                                   directed=False)
    lat.land_comp = comp.astype(np.int64)
    return lat


# -- settlements --------------------------------------------------------------------------------

@dataclass
class _Settlements:
    centre: IntArray  # cell (= its lower-left lattice node) of each settlement
    cells: IntArray  # own cell count
    seat: IntArray
    main: BoolArray  # the seat's main settlement
    urban_cell: IntArray  # per lattice cell: settlement id or -1
    agglo_cells: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))  # per settlement
    agglo_sizes: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))  # all, largest first


def _grow(lat: _Lattice, owner: IntArray, centre: int, size: int, sid: int, seed: int) -> int:
    """Claim up to `size` free clean cells nearest `centre` (noisy distance: ragged edges) on the
    same piece of land; returns how many were claimed."""
    r = math.ceil(math.sqrt(size / math.pi) * 1.6) + 2
    ci, cj = centre % lat.nx, centre // lat.nx
    ii = np.arange(max(ci - r, 0), min(ci + r + 1, lat.nx - 1))
    jj = np.arange(max(cj - r, 0), min(cj + r + 1, lat.ny - 1))
    g = (jj[:, None] * lat.nx + ii[None, :]).ravel()
    ok = lat.clean[g] & (owner[g] < 0) & (lat.cell_comp[g] == lat.cell_comp[centre])
    g = g[ok]
    if len(g) == 0:
        return 0
    di = g % lat.nx - ci
    dj = g // lat.nx - cj
    scale = max(math.sqrt(size / math.pi), 1.0)
    prio = np.hypot(di, dj) / scale + 0.7 * _unif(seed, 20, g + lat.i0, sid)
    take = g[np.argsort(prio, kind="stable")[:size]]
    owner[take] = sid
    return len(take)


def _settlements(lat: _Lattice, codes: tuple[str, ...], geoms: list[Any], size: RealisticSize,
                 seed: int) -> _Settlements:
    cell_seat = np.where(lat.clean, lat.seat, -1)
    order = np.argsort(cell_seat, kind="stable")
    bounds = np.searchsorted(cell_seat[order], np.arange(len(codes) + 1))
    owner = np.full(lat.nx * lat.ny, -1, dtype=np.int64)
    cell_km2 = (lat.d / 1000.0) ** 2
    comp_size = np.bincount(lat.cell_comp[lat.clean], minlength=int(lat.cell_comp.max()) + 1)
    big_land = comp_size[lat.cell_comp] * cell_km2 >= MIN_ISLAND_KM2
    centre: list[int] = []
    cells: list[int] = []
    seat_of: list[int] = []
    main: list[bool] = []
    for s, (code, poly) in enumerate(zip(codes, geoms, strict=True)):
        mine = order[bounds[s]:bounds[s + 1]]
        if big_land[mine].any():
            mine = mine[big_land[mine]]
        if len(mine) == 0:
            continue
        rng = _seat_rng(seed, code)
        area = poly.area / 1e6
        budget = min(0.92 * len(mine), size.urban_km2 / cell_km2 * math.exp(rng.normal(0, 0.25)))
        rp = poly.representative_point()
        dist = np.hypot(lat.x[mine] - rp.x, lat.y[mine] - rp.y)
        home = int(mine[np.argmin(dist)])
        if budget >= CITY_SEAT_SHARE * len(mine):
            # built up whole, bar a few parks: neighbouring urban seats merge into one city
            sid = len(centre)
            free = mine[(owner[mine] < 0) & (_unif(seed, 21, mine + lat.i0) >= PARK_SHARE)]
            owner[free] = sid
            if owner[home] < 0:
                owner[home] = sid
            centre.append(home)
            cells.append(len(free))
            seat_of.append(s)
            main.append(True)
            continue
        n = max(1, round(size.settlement_rate * area ** 0.7))
        rank = np.arange(1, n + 1)
        zipf = budget / float(np.sum(1.0 / rank)) / rank * np.exp(rng.normal(0, 0.3, n))
        sizes = np.maximum(1, np.round(zipf)).astype(int)
        placed: list[tuple[float, float, float]] = []
        for k, want in enumerate(sizes.tolist()):
            radius = math.sqrt(want / math.pi) * lat.d
            spot = home if k == 0 else -1
            for _ in range(0 if k == 0 else 25):
                cand = int(mine[rng.integers(len(mine))])
                cx, cy = lat.x[cand], lat.y[cand]
                if owner[cand] < 0 and all(math.hypot(cx - px, cy - py) > 1.3 * (radius + pr) + lat.d
                                           for px, py, pr in placed):
                    spot = cand
                    break
            if spot < 0:
                continue
            sid = len(centre)
            got = _grow(lat, owner, spot, want, sid, seed)
            if got == 0:
                continue
            placed.append((float(lat.x[spot]), float(lat.y[spot]), radius))
            centre.append(spot)
            cells.append(got)
            seat_of.append(s)
            main.append(k == 0)
    st = _Settlements(np.asarray(centre, np.int64), np.asarray(cells, np.int64),
                      np.asarray(seat_of, np.int64), np.asarray(main, bool), owner)
    # agglomerations: built-up cells joined side to side
    u = np.flatnonzero(owner >= 0)
    nn = lat.nx * lat.ny
    right = u[owner[np.minimum(u + 1, nn - 1)] >= 0]
    up = u[owner[np.minimum(u + lat.nx, nn - 1)] >= 0]
    a = np.concatenate([right, up])
    z = np.concatenate([right + 1, up + lat.nx])
    _, comp = connected_components(coo_matrix((np.ones(len(a)), (a, z)), shape=(nn, nn)),
                                   directed=False)
    comp_cells = np.bincount(comp[u], minlength=comp.max() + 1)
    st.agglo_sizes = np.sort(comp_cells[comp_cells > 0])[::-1]
    st.agglo_cells = comp_cells[comp[st.centre]] if len(st.centre) else np.zeros(0, np.int64)
    st.agglo_cells = np.where(owner[st.centre] >= 0, st.agglo_cells, st.cells)
    return st


# -- motorways ------------------------------------------------------------------------------------

@dataclass
class _MotorwayNet:
    xy: FloatArray  # centreline nodes
    chains: list[tuple[IntArray, str]]  # node indexes from branch to branch, majority ref
    junction_hints: FloatArray  # (k, 2) where real slip roads left the main line
    ends: IntArray  # chain-end nodes of degree 1 (the motorway ends on an ordinary road)


def _walk_chains(n: int, a: IntArray, z: IntArray, alive: BoolArray
                 ) -> tuple[list[tuple[list[int], list[int]]], IntArray]:
    """Maximal paths through degree-2 nodes: (nodes, edge ids) from branch to branch, and degrees."""
    ids = np.flatnonzero(alive)
    deg = np.bincount(np.concatenate([a[ids], z[ids]]), minlength=n)
    adj: dict[int, list[tuple[int, int]]] = {}
    for k in ids.tolist():
        adj.setdefault(int(a[k]), []).append((int(z[k]), k))
        adj.setdefault(int(z[k]), []).append((int(a[k]), k))
    seen: set[int] = set()
    out: list[tuple[list[int], list[int]]] = []
    starts = sorted(v for v in adj if deg[v] != 2)
    for b in starts + sorted(adj):  # then pure cycles, from their lowest node
        for nb, k in adj[b]:
            if k in seen:
                continue
            path, ks, cur, e = [b], [], nb, k
            while True:
                seen.add(e)
                ks.append(e)
                path.append(cur)
                if deg[cur] != 2 or cur == b:
                    break
                nxt = [(v, kk) for v, kk in adj[cur] if kk not in seen]
                if not nxt:
                    break
                cur, e = nxt[0]
            out.append((path, ks))
    return out, deg


def _clean_motorways(mw: Any) -> _MotorwayNet:
    """The skeleton without slip roads and junction loops: centrelines from interchange to
    interchange, plus where the real junctions were (the slips' attachment points)."""
    xy = np.asarray(mw.xy, dtype=np.float64)
    n = len(xy)
    if n == 0 or not mw.ways:
        return _MotorwayNet(np.zeros((0, 2)), [], np.zeros((0, 2)), np.zeros(0, np.int64))
    a = np.concatenate([w[:-1] for w, _ in mw.ways]).astype(np.int64)
    z = np.concatenate([w[1:] for w, _ in mw.ways]).astype(np.int64)
    refs = np.concatenate([[r] * (len(w) - 1) for w, r in mw.ways])
    seg = np.hypot(*(xy[a] - xy[z]).T)
    alive = a != z
    hints: list[int] = []
    for _ in range(4):  # slip roads: short dangling chains (a slip of a slip goes next round)
        chains, deg = _walk_chains(n, a, z, alive)
        removed = 0
        for path, ks in chains:
            d0, d1 = deg[path[0]], deg[path[-1]]
            if (d0 == 1) != (d1 == 1) and seg[ks].sum() < MW_SLIP_MAX_M:
                alive[ks] = False
                hints.append(path[0] if d1 == 1 else path[-1])
                removed += 1
        if not removed:
            break
    # junction loops: short chains between branches collapse into one node (kept compact)
    parent = np.arange(n)

    def find(v: int) -> int:
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = int(parent[v])
        return v

    members: dict[int, list[int]] = {}
    chains, deg = _walk_chains(n, a, z, alive)
    for path, ks in sorted(chains, key=lambda c: (float(seg[c[1]].sum()), c[0][0])):
        if seg[ks].sum() >= MW_CONTRACT_M or deg[path[0]] == 1 or deg[path[-1]] == 1:
            continue
        ra, rb = find(path[0]), find(path[-1])
        if ra == rb:
            alive[ks] = False
            continue
        group = members.get(ra, [ra]) + members.get(rb, [rb]) + path[1:-1]
        pts = xy[group]
        if np.hypot(*(pts.max(axis=0) - pts.min(axis=0))) > MW_CLUSTER_M:
            continue
        parent[rb] = ra
        for v in path[1:-1]:
            parent[v] = ra
        members[ra] = group
        members.pop(rb, None)
        alive[ks] = False
    root = np.array([find(v) for v in range(n)])
    cxy = xy.copy()
    for r, group in members.items():
        cxy[r] = xy[group].mean(axis=0)
    a2, z2 = root[a], root[z]
    alive &= a2 != z2
    chains, deg = _walk_chains(n, a2, z2, alive)
    # parallel chains (dual carriageways drawn twice) between the same ends: keep the shorter
    best: dict[tuple[int, int], tuple[float, int]] = {}
    for c, (path, ks) in enumerate(chains):
        key = (min(path[0], path[-1]), max(path[0], path[-1]))
        length = float(seg[ks].sum())
        if key not in best or length < best[key][0]:
            best[key] = (length, c)
    keep = sorted(c for _, c in best.values())
    out: list[tuple[IntArray, str]] = []
    used_deg = np.zeros(n, np.int64)
    for c in keep:
        path, ks = chains[c]
        vals, counts = np.unique(refs[ks], return_counts=True)
        ref = str(vals[np.argmax(counts)])
        out.append((np.asarray(path, np.int64), ref))
        used_deg[path[0]] += 1
        used_deg[path[-1]] += 1
    ends = np.flatnonzero(used_deg == 1)
    hint_xy = xy[np.asarray(sorted(set(hints)), np.int64)] if hints else np.zeros((0, 2))
    return _MotorwayNet(cxy, out, hint_xy, ends)


# -- the network under construction ---------------------------------------------------------------

class _Net:
    """Nodes (lattice nodes by grid index, then extra nodes) and edges grouped into future ways.

    A group is one future way's tags (class, flags, number, text); edges of a group are chained
    into ways in ``seq`` order, so each edge is stored in its way's direction."""

    def __init__(self, n_lattice: int) -> None:
        self.n_lattice = n_lattice
        self.extra: list[FloatArray] = []
        self.n_extra = 0
        self.edges: list[tuple[IntArray, IntArray, IntArray, IntArray, BoolArray]] = []
        self.g_cls: list[int] = []
        self.g_flags: list[int] = []
        self.g_num: list[int] = []
        self.g_text: list[str] = []
        self.node_tags: dict[int, dict[str, str]] = {}

    def nodes(self, xy: FloatArray) -> IntArray:
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        first = self.n_lattice + self.n_extra
        self.extra.append(xy)
        self.n_extra += len(xy)
        return np.arange(first, first + len(xy), dtype=np.int64)

    def groups(self, cls: npt.ArrayLike, flags: npt.ArrayLike, num: npt.ArrayLike,
               text: str | list[str] = "") -> IntArray:
        c = np.atleast_1d(np.asarray(cls, np.int64))
        f = np.broadcast_to(np.asarray(flags, np.int64), c.shape)
        nm = np.broadcast_to(np.asarray(num, np.int64), c.shape)
        first = len(self.g_cls)
        self.g_cls.extend(c.tolist())
        self.g_flags.extend(f.tolist())
        self.g_num.extend(nm.tolist())
        self.g_text.extend(text if isinstance(text, list) else [text] * len(c))
        return np.arange(first, first + len(c), dtype=np.int64)

    def add(self, a: npt.ArrayLike, z: npt.ArrayLike, group: npt.ArrayLike, seq: npt.ArrayLike,
            oneway: bool = False) -> None:
        aa = np.atleast_1d(np.asarray(a, np.int64))
        if len(aa) == 0:
            return
        zz = np.broadcast_to(np.asarray(z, np.int64), aa.shape).copy()
        gg = np.broadcast_to(np.asarray(group, np.int64), aa.shape).copy()
        ss = np.broadcast_to(np.asarray(seq, np.int64), aa.shape).copy()
        self.edges.append((aa, zz, gg, ss, np.full(aa.shape, oneway)))

    def path(self, nodes: list[int] | IntArray, group: int, oneway: bool = False) -> None:
        p = np.asarray(nodes, np.int64)
        self.add(p[:-1], p[1:], group, np.arange(len(p) - 1), oneway)


def _subdivide(net: _Net, a_xy: FloatArray, b_xy: FloatArray, step_m: float) -> IntArray:
    """Inner nodes every ~step_m on the straight line a-b (may be none)."""
    length = float(np.hypot(*(b_xy - a_xy)))
    k = max(1, math.ceil(length / step_m))
    if k == 1:
        return np.zeros(0, np.int64)
    t = np.arange(1, k) / k
    return net.nodes(a_xy[None, :] + t[:, None] * (b_xy - a_xy)[None, :])


# -- corridors: the arterial hierarchy ------------------------------------------------------------

def _proximity_edges(pts: FloatArray, kind: str) -> list[tuple[int, int]]:
    """Gabriel or (approximate) relative neighbourhood graph edges from the Delaunay triangulation:
    an edge stays unless the vertex opposite it in an adjacent triangle sits in its diametral
    circle (Gabriel) or its lune (RNG, tested on those witnesses only)."""
    n = len(pts)
    if n < 2:
        return []
    if n == 2:
        return [(0, 1)]
    try:
        tri = Delaunay(pts)
    except QhullError:  # all on a line: chain them in order
        order = np.lexsort((pts[:, 1], pts[:, 0]))
        return [(int(min(p, q)), int(max(p, q))) for p, q in itertools.pairwise(order)]
    s = tri.simplices
    bad: set[tuple[int, int]] = set()
    edges: set[tuple[int, int]] = set()
    for k in range(3):
        p, q, o = s[:, k], s[:, (k + 1) % 3], s[:, (k + 2) % 3]
        lo, hi = np.minimum(p, q), np.maximum(p, q)
        edges.update(zip(lo.tolist(), hi.tolist(), strict=True))
        vp, vq = pts[p] - pts[o], pts[q] - pts[o]
        if kind == "delaunay":
            continue
        if kind == "gabriel":
            out = np.einsum("ij,ij->i", vp, vq) <= 0
        else:
            pq = np.hypot(*(pts[p] - pts[q]).T)
            out = np.maximum(np.hypot(*vp.T), np.hypot(*vq.T)) < pq
        bad.update(zip(lo[out].tolist(), hi[out].tolist(), strict=True))
    return sorted(edges - bad)


def _digital_lines(pa: IntArray, pb: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """8-connected lattice lines from (i, j) pa[k] to pb[k]: flat i, j and the line of each."""
    di, dj = pb[:, 0] - pa[:, 0], pb[:, 1] - pa[:, 1]
    steps = np.maximum(np.abs(di), np.abs(dj))
    counts = steps + 1
    line = np.repeat(np.arange(len(pa)), counts)
    k = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    t = k / np.maximum(steps[line], 1)
    i = pa[line, 0] + np.rint(t * di[line]).astype(np.int64)
    j = pa[line, 1] + np.rint(t * dj[line]).astype(np.int64)
    return i, j, line


@dataclass
class _Corridors:
    # per step: corridor, kind (0 lattice side, 1 diagonal, 2 bridge), from node, to node
    corr: IntArray
    kind: IntArray
    a: IntArray
    b: IntArray
    rank: IntArray  # per corridor
    bridges: list[tuple[int, int, int, str, bool]]  # (node a, node b, rank, name, tunnel)
    bridge_of_step: IntArray  # per step: bridge index or -1
    rerouted: int = 0
    dropped_runs: int = 0
    island_links: int = 0


class _Reroute:
    """Shortest lattice paths inside a window (scipy Dijkstra), for arterials that meet water
    where no bridge may stand: the road follows the bank to a bridge, as real roads do, or to a
    new short bridge (at a penalty, never near another one).  Holds the bridges made so far."""

    def __init__(self, lat: _Lattice, water: _Water, urban: BoolArray,
                 bridges: list[tuple[int, int, int, str, bool]]) -> None:
        self.lat = lat
        self.water = water
        self.urban = urban
        self.road = np.zeros(lat.nx * lat.ny, dtype=bool)  # lattice nodes on a corridor already
        self.bridges = bridges
        self.mid_x: list[float] = []
        self.mid_y: list[float] = []
        for p, q, *_ in bridges:
            self._note(p, q)

    def _note(self, p: int, q: int) -> None:
        self.mid_x.append(float((self.lat.x[p] + self.lat.x[q]) / 2))
        self.mid_y.append(float((self.lat.y[p] + self.lat.y[q]) / 2))

    def far_from_bridges(self, mx: FloatArray, my: FloatArray, gap: FloatArray) -> BoolArray:
        if not self.mid_x:
            return np.ones(len(mx), bool)
        bx, by = np.asarray(self.mid_x), np.asarray(self.mid_y)
        d = np.hypot(mx[:, None] - bx[None, :], my[:, None] - by[None, :]).min(axis=1)
        return np.asarray(d >= gap, dtype=bool)

    def gap(self, p: IntArray, q: IntArray) -> FloatArray:
        town = self.touches_urban(p) | self.touches_urban(q)
        return np.where(town, BRIDGE_GAP_URBAN_M, BRIDGE_GAP_RURAL_M)

    def touches_urban(self, g: IntArray) -> BoolArray:
        nx, n = self.lat.nx, len(self.urban)
        out = np.zeros(len(g), bool)
        for off in (0, 1, nx, nx + 1):
            c = g - off
            ok = (c >= 0) & (c < n)
            out[ok] |= self.urban[c[ok]]
        return out

    def add_bridge(self, p: int, q: int, rank: int) -> int:
        self.bridges.append((p, q, rank, "", False))
        self._note(p, q)
        return len(self.bridges) - 1

    def path(self, a: int, b: int, max_len: float, rank: int
             ) -> list[tuple[int, int, int]] | None:
        """Steps (from, to, bridge index or -1) from a to b, or None."""
        lat = self.lat
        nx = lat.nx
        ia, ja, ib, jb = a % nx, a // nx, b % nx, b // nx
        margin = math.ceil(max(6000.0, 0.45 * max_len) / lat.d)
        i_lo, i_hi = max(min(ia, ib) - margin, 0), min(max(ia, ib) + margin, nx - 1)
        j_lo, j_hi = max(min(ja, jb) - margin, 0), min(max(ja, jb) + margin, lat.ny - 1)
        w, h = i_hi - i_lo + 1, j_hi - j_lo + 1
        grid_i, grid_j = np.meshgrid(np.arange(w), np.arange(h))
        li, lj = grid_i.ravel(), grid_j.ravel()
        g = (lj + j_lo) * nx + li + i_lo
        loc = np.arange(w * h)
        src: list[IntArray] = []
        dst: list[IntArray] = []
        cell_ok = lat.clean[g] & ~self.urban[g] & (li < w - 1) & (lj < h - 1)
        for valid, lo in ((lat.valid_h[g] & (li < w - 1), 1),
                          (lat.valid_v[g] & (lj < h - 1), w), (cell_ok, w + 1)):
            k = np.flatnonzero(valid)
            src.append(loc[k])
            dst.append(loc[k] + lo)
        k = np.flatnonzero(cell_ok)  # the other diagonal: (i+1, j) -> (i, j+1)
        src.append(loc[k] + 1)
        dst.append(loc[k] + w)
        s_all, d_all = np.concatenate(src), np.concatenate(dst)
        gs, gd = g[s_all], g[d_all]
        wt = np.hypot(lat.x[gs] - lat.x[gd], lat.y[gs] - lat.y[gd])
        wt = wt * np.where(self.road[gs] & self.road[gd], 0.8, 1.0)
        kind = np.full(len(wt), -1, np.int64)  # -1 lattice, else bridge index (new: -2 - k)
        # existing bridges in the window
        bs, bd, bw, bk = [], [], [], []
        for bi, (p, q, *_) in enumerate(self.bridges):
            pi, pj, qi, qj = p % nx, p // nx, q % nx, q // nx
            if i_lo <= pi <= i_hi and i_lo <= qi <= i_hi and j_lo <= pj <= j_hi and j_lo <= qj <= j_hi:
                bs.append((pj - j_lo) * w + pi - i_lo)
                bd.append((qj - j_lo) * w + qi - i_lo)
                bw.append(math.hypot(lat.x[p] - lat.x[q], lat.y[p] - lat.y[q]))
                bk.append(bi)
        # candidate new bridges: one wet lattice side between two land nodes, short span, far
        # from other bridges, at a penalty so that existing ones are preferred
        cand_s: list[IntArray] = []
        cand_d: list[IntArray] = []
        for valid, lo, off, edge in ((lat.valid_h, 1, 1, li < w - 1), (lat.valid_v, w, nx, lj < h - 1)):
            far = np.minimum(g + off, lat.nx * lat.ny - 1)
            k = np.flatnonzero(edge & ~valid[g] & lat.land[g] & lat.land[far])
            cand_s.append(loc[k])
            cand_d.append(loc[k] + lo)
        cs, cd = np.concatenate(cand_s), np.concatenate(cand_d)
        new_bridges: list[tuple[int, int]] = []
        if len(cs):
            gcs, gcd = g[cs], g[cd]
            mx, my = (lat.x[gcs] + lat.x[gcd]) / 2, (lat.y[gcs] + lat.y[gcd]) / 2
            ok = self.far_from_bridges(mx, my, self.gap(gcs, gcd))
            cs, cd, gcs, gcd = cs[ok], cd[ok], gcs[ok], gcd[ok]
            spans = np.array([_water_length(self.water, lat.xy(np.array([u]))[0],
                                             lat.xy(np.array([v]))[0])
                              for u, v in zip(gcs.tolist(), gcd.tolist(), strict=True)])
            ok = spans <= BRIDGE_SPAN_M[rank - TRUNK] if len(spans) else np.zeros(0, bool)
            cs, cd, gcs, gcd = cs[ok], cd[ok], gcs[ok], gcd[ok]
            new_bridges = list(zip(gcs.tolist(), gcd.tolist(), strict=True))
            bs.extend(cs.tolist())
            bd.extend(cd.tolist())
            bw.extend((np.hypot(lat.x[gcs] - lat.x[gcd], lat.y[gcs] - lat.y[gcd])
                       + NEW_BRIDGE_PENALTY_M).tolist())
            bk.extend((-2 - np.arange(len(cs))).tolist())
        s_all = np.concatenate([s_all, np.asarray(bs, np.int64)])
        d_all = np.concatenate([d_all, np.asarray(bd, np.int64)])
        wt = np.concatenate([wt, np.asarray(bw, np.float64)])
        kind = np.concatenate([kind, np.asarray(bk, np.int64)])
        # one edge per pair, the cheapest (a sparse matrix would add duplicates up)
        lo_, hi_ = np.minimum(s_all, d_all), np.maximum(s_all, d_all)
        order = np.lexsort((kind, wt, hi_, lo_))
        lo_, hi_, wt, kind = lo_[order], hi_[order], wt[order], kind[order]
        first = np.r_[True, (lo_[1:] != lo_[:-1]) | (hi_[1:] != hi_[:-1])]
        s_all, d_all, wt, kind = lo_[first], hi_[first], wt[first], kind[first]
        graph = coo_matrix((wt, (s_all, d_all)), shape=(w * h, w * h)).tocsr()
        la, lb = (ja - j_lo) * w + ia - i_lo, (jb - j_lo) * w + ib - i_lo
        dist, pred = dijkstra(graph, directed=False, indices=int(la), return_predecessors=True,
                              limit=max_len)
        if not np.isfinite(dist[lb]):
            return None
        nodes = [int(lb)]
        while nodes[-1] != la:
            nodes.append(int(pred[nodes[-1]]))
        nodes.reverse()
        # which edge did each step use (cheapest between the pair: lattice side or bridge)
        out: list[tuple[int, int, int]] = []
        for u, v in itertools.pairwise(nodes):
            e = int(np.searchsorted(s_all * (w * h) + d_all, min(u, v) * (w * h) + max(u, v)))
            kk = int(kind[e])
            gu, gv = int(g[u]), int(g[v])
            if kk <= -2:
                p, q = new_bridges[-2 - kk]
                if not self.far_from_bridges(np.array([(lat.x[p] + lat.x[q]) / 2]),
                                             np.array([(lat.y[p] + lat.y[q]) / 2]),
                                             self.gap(np.array([p]), np.array([q])))[0]:
                    return None  # two new bridges too close on one path: give up on this run
                kk = self.add_bridge(p, q, rank)
                gu, gv = (p, q) if gu == p else (q, p)
            out.append((gu, gv, kk))
        return out


def _step_valid(lat: _Lattice, a: IntArray, b: IntArray, water: _Water
                ) -> tuple[BoolArray, BoolArray]:
    """Is each lattice step a -> b (side or diagonal) dry, and is it a diagonal?"""
    nx = lat.nx
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    diff = hi - lo
    ok = np.zeros(len(a), dtype=bool)
    h = diff == 1
    v = diff == nx
    ok[h] = lat.valid_h[lo[h]]
    ok[v] = lat.valid_v[lo[v]]
    diag = ~(h | v)
    k = np.flatnonzero(diag)
    if len(k):
        cell, _ = _diag_cell(nx, a[k], b[k])
        both_land = lat.land[a[k]] & lat.land[b[k]]
        dry = both_land & lat.clean[cell]
        test = k[both_land & ~lat.clean[cell]]
        ok[k] = dry
        if len(test):
            wet = _crosses_water(water, lat.xy(a[test]), lat.xy(b[test]))
            ok[test] = ~wet
    return ok, diag


def _diag_cell(nx: int, a: IntArray, b: IntArray) -> tuple[IntArray, IntArray]:
    """Cell and type (0: lower-left to upper-right, 1: the other) of diagonal steps."""
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    typ = (hi - lo == nx - 1).astype(np.int64)
    cell = np.where(typ == 0, lo, lo - 1)
    return cell, typ


def _corridors(lat: _Lattice, water: _Water, urban: BoolArray, hubs: IntArray, tiers: IntArray,
               bridges0: list[tuple[int, int, int, str, bool]], seed: int,
               progress: Callable[[], None]) -> _Corridors:
    """Arterials between hubs: proximity graphs per tier, drawn as lattice lines, bridged or
    re-routed where they meet water, islands joined at the end."""
    nx = lat.nx
    pts = lat.xy(hubs)
    pairs: dict[tuple[int, int], int] = {}
    for level, kind in ((TRUNK, "rng"), (PRIMARY, "gabriel"), (SECONDARY, "rng"),
                        (TERTIARY, "rng")):
        sel = np.flatnonzero(tiers <= level)
        for p, q in _proximity_edges(pts[sel], kind):
            key = (int(sel[p]), int(sel[q]))
            pairs.setdefault(key, level)
    keys = sorted(pairs, key=lambda k: (pairs[k], float(np.hypot(*(pts[k[0]] - pts[k[1]]))), k))
    pa_h = np.array([k[0] for k in keys], np.int64)
    pb_h = np.array([k[1] for k in keys], np.int64)
    rank = np.array([pairs[k] for k in keys], np.int64)
    ga, gb = hubs[pa_h], hubs[pb_h]
    i, j, line = _digital_lines(np.column_stack([ga % nx, ga // nx]),
                                np.column_stack([gb % nx, gb // nx]))
    pos = j * nx + i
    same = line[1:] == line[:-1]
    sa, sb, sc = pos[:-1][same], pos[1:][same], line[:-1][same]
    # diagonals through built-up cells turn into two sides (an L), on whichever corner is dry
    sa, sb, sc = _fix_diagonals(lat, sa, sb, sc, urban, seed)
    ok, _ = _step_valid(lat, sa, sb, water)
    bridges = list(bridges0)
    reroute = _Reroute(lat, water, urban, bridges)
    reroute.road[sa[ok]] = True
    reroute.road[sb[ok]] = True
    out_corr: list[IntArray] = []
    out_a: list[IntArray] = []
    out_b: list[IntArray] = []
    out_kind: list[IntArray] = []
    out_bridge: list[IntArray] = []
    starts = np.searchsorted(sc, np.arange(len(keys) + 1))
    wet_corr = np.unique(sc[~ok])
    dry_mask = np.ones(len(keys), bool)
    dry_mask[wet_corr] = False
    keep = dry_mask[sc]
    out_corr.append(sc[keep])
    out_a.append(sa[keep])
    out_b.append(sb[keep])
    out_kind.append(np.zeros(int(keep.sum()), np.int64))
    out_bridge.append(np.full(int(keep.sum()), -1, np.int64))
    rerouted = dropped = 0
    for c in wet_corr.tolist():
        s0, s1 = starts[c], starts[c + 1]
        a_c, b_c, ok_c = sa[s0:s1].tolist(), sb[s0:s1].tolist(), ok[s0:s1].tolist()
        ca: list[int] = []
        cb: list[int] = []
        ck: list[int] = []
        cbr: list[int] = []
        k = 0
        while k < len(a_c):
            if ok_c[k]:
                ca.append(a_c[k])
                cb.append(b_c[k])
                ck.append(0)
                cbr.append(-1)
                k += 1
                continue
            e = k
            while e < len(a_c) and not ok_c[e]:
                e += 1
            p, q = a_c[k], b_c[e - 1]
            k = e
            pxy, qxy = lat.xy(np.array([p]))[0], lat.xy(np.array([q]))[0]
            straight = float(np.hypot(*(qxy - pxy)))
            span = _water_length(water, pxy, qxy)
            r = int(rank[c])
            pq = np.array([p]), np.array([q])
            if (lat.land[p] and lat.land[q] and span <= BRIDGE_SPAN_M[r - TRUNK]
                    and (straight <= 1.5 * lat.d or span >= 0.5 * straight)
                    and reroute.far_from_bridges(np.array([(pxy[0] + qxy[0]) / 2]),
                                                 np.array([(pxy[1] + qxy[1]) / 2]),
                                                 reroute.gap(*pq))[0]):
                ca.append(p)
                cb.append(q)
                ck.append(2)
                cbr.append(reroute.add_bridge(p, q, r))
                continue
            route = reroute.path(p, q, DETOUR_MAX * straight + 8000.0, r) if (
                lat.land[p] and lat.land[q]) else None
            if route is None:
                dropped += 1
                continue
            rerouted += 1
            for u, v, bi in route:
                ca.append(u)
                cb.append(v)
                ck.append(2 if bi >= 0 else 0)
                cbr.append(bi)
                if bi < 0:
                    reroute.road[[u, v]] = True
        out_corr.append(np.full(len(ca), c, np.int64))
        out_a.append(np.asarray(ca, np.int64))
        out_b.append(np.asarray(cb, np.int64))
        out_kind.append(np.asarray(ck, np.int64))
        out_bridge.append(np.asarray(cbr, np.int64))
    progress()
    corr = np.concatenate(out_corr)
    order = np.argsort(corr, kind="stable")
    cor = _Corridors(corr[order], np.concatenate(out_kind)[order], np.concatenate(out_a)[order],
                     np.concatenate(out_b)[order], rank, bridges,
                     np.concatenate(out_bridge)[order], rerouted, dropped)
    _resolve_crossing_diagonals(lat, cor, seed)
    diag = (cor.kind == 0) & ~np.isin(np.abs(cor.b - cor.a), (1, nx))
    cor.kind[diag] = 1
    _join_islands(lat, cor, hubs)
    return cor


def _fix_diagonals(lat: _Lattice, sa: IntArray, sb: IntArray, sc: IntArray, urban: BoolArray,
                   seed: int, force: BoolArray | None = None) -> tuple[IntArray, IntArray, IntArray]:
    """Replace diagonal steps in built-up cells (or those in `force`) by two lattice sides."""
    nx = lat.nx
    d = np.abs(sb - sa)
    diag = ~np.isin(d, (1, nx))
    cell, _ = _diag_cell(nx, sa, sb)
    need = diag & (urban[np.clip(cell, 0, len(urban) - 1)] if force is None else force)
    k = np.flatnonzero(need)
    if len(k) == 0:
        return sa, sb, sc
    a, b = sa[k], sb[k]
    ai, bi = a % nx, b % nx
    c1 = (a // nx) * nx + bi  # along i first
    c2 = (b // nx) * nx + ai  # along j first

    def side_ok(p: IntArray, q: IntArray) -> BoolArray:
        lo, hi = np.minimum(p, q), np.maximum(p, q)
        return np.where(hi - lo == 1, lat.valid_h[lo], lat.valid_v[lo])

    ok1 = side_ok(a, c1) & side_ok(c1, b)
    ok2 = side_ok(a, c2) & side_ok(c2, b)
    pick1 = np.where(ok1 & ok2, _unif(seed, 30, a, b) < 0.5, ok1)
    corner = np.where(pick1, c1, c2)
    # insert the corner after each converted step: a -> corner -> b
    new_a = np.insert(sa, k + 1, corner)
    new_b = np.insert(sb, k + 1, sb[k])
    new_c = np.insert(sc, k + 1, sc[k])
    idx = k + np.arange(len(k))
    new_b[idx] = corner
    return new_a, new_b, new_c


def _resolve_crossing_diagonals(lat: _Lattice, cor: _Corridors, seed: int) -> None:
    """Two corridors through one cell on opposite diagonals would cross without meeting:
    turn the second kind into an L through a corner the first one uses."""
    nx = lat.nx
    lattice_step = cor.kind == 0
    d = np.abs(cor.b - cor.a)
    diag = lattice_step & ~np.isin(d, (1, nx))
    if not diag.any():
        return
    cell, typ = _diag_cell(nx, cor.a[diag], cor.b[diag])
    key0 = np.unique(cell[typ == 0])
    key1 = np.unique(cell[typ == 1])
    clash = np.intersect1d(key0, key1)
    if len(clash) == 0:
        return
    force = np.zeros(len(cor.a), bool)
    dk = np.flatnonzero(diag)
    force[dk[(typ == 1) & np.isin(cell, clash)]] = True
    na, nb, nc = _fix_diagonals(lat, cor.a, cor.b, cor.corr, np.zeros(0, bool), seed, force=force)
    grow = np.flatnonzero(force)
    ins = grow + 1
    cor.kind = np.insert(cor.kind, ins, 0)
    cor.bridge_of_step = np.insert(cor.bridge_of_step, ins, -1)
    cor.a, cor.b, cor.corr = na, nb, nc


def _join_islands(lat: _Lattice, cor: _Corridors, hubs: IntArray) -> None:
    """Hubs on land that no lattice path or bridge reaches from the rest (islands) join it by one
    straight crossing each, shortest first (Kruskal over the hubs' Delaunay edges).  Pieces that
    dry land joins are left to the rural lanes."""
    nodes = np.unique(np.concatenate([cor.a, cor.b, hubs]))
    labels, comp = np.unique(lat.land_comp[nodes], return_inverse=True)
    n_comp = len(labels)
    pos = {int(v): k for k, v in enumerate(nodes.tolist())}
    parent = list(range(n_comp))

    def find(v: int) -> int:
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    for p, q in zip(cor.a.tolist(), cor.b.tolist(), strict=True):
        ra, rb = find(int(comp[pos[p]])), find(int(comp[pos[q]]))
        if ra != rb:
            parent[rb] = ra
    roots = {find(c) for c in range(n_comp)}
    if len(roots) == 1:
        return
    xy = lat.xy(nodes)
    hub_loc = np.array([pos[int(h)] for h in hubs.tolist()], np.int64)
    cand = []
    for p, q in _proximity_edges(xy[hub_loc], "delaunay"):
        u, v = int(hub_loc[p]), int(hub_loc[q])
        if find(int(comp[u])) != find(int(comp[v])):
            cand.append((float(np.hypot(*(xy[u] - xy[v]))), u, v))
    new_a: list[int] = []
    new_b: list[int] = []
    for _, u, v in sorted(cand):
        ru, rv = find(int(comp[u])), find(int(comp[v]))
        if ru == rv:
            continue
        root_of = np.array([find(c) for c in range(n_comp)])[comp]
        mu, mv = np.flatnonzero(root_of == ru), np.flatnonzero(root_of == rv)
        p = int(mu[np.argmin(np.hypot(*(xy[mu] - xy[v]).T))])
        q = v
        for _ in range(2):
            q = int(mv[np.argmin(np.hypot(*(xy[mv] - xy[p]).T))])
            p = int(mu[np.argmin(np.hypot(*(xy[mu] - xy[q]).T))])
        parent[rv] = ru
        new_a.append(int(nodes[p]))
        new_b.append(int(nodes[q]))
    if not new_a:
        return
    first = len(cor.bridges)
    for p, q in zip(new_a, new_b, strict=True):
        cor.bridges.append((p, q, PRIMARY, "Crossing", False))
    n_corr = len(cor.rank)
    cor.rank = np.concatenate([cor.rank, np.full(len(new_a), PRIMARY, np.int64)])
    cor.corr = np.concatenate([cor.corr, np.arange(n_corr, n_corr + len(new_a))])
    cor.kind = np.concatenate([cor.kind, np.full(len(new_a), 2, np.int64)])
    cor.a = np.concatenate([cor.a, np.asarray(new_a, np.int64)])
    cor.b = np.concatenate([cor.b, np.asarray(new_b, np.int64)])
    cor.bridge_of_step = np.concatenate([cor.bridge_of_step,
                                         np.arange(first, first + len(new_a), dtype=np.int64)])
    cor.island_links = len(new_a)


# -- motorways: dual carriageways, junctions with slips ------------------------------------------

@dataclass
class _MotorwayOut:
    hubs: list[tuple[int, int]]  # (lattice node, tier) where junction and end links land
    cells: list[int] = field(default_factory=list)  # cells a link crosses: kept free of streets
    junctions_real: int = 0
    junctions_synthetic: int = 0
    junction_gaps_m: list[float] = field(default_factory=list)
    ends_linked: int = 0
    refs: list[str] = field(default_factory=list)


def _chain_positions(xy: FloatArray) -> FloatArray:
    """Cumulative length along a polyline."""
    return np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])


def _cell_of(lat: _Lattice, px: float, py: float) -> int:
    """The lattice cell whose (warped) quad holds the point, or -1."""
    ci, cj = math.floor(px / lat.d) - lat.i0, math.floor(py / lat.d) - lat.j0
    for dj in (0, -1, 1):
        for di in (0, -1, 1):
            i, j = ci + di, cj + dj
            if not (0 <= i < lat.nx - 1 and 0 <= j < lat.ny - 1):
                continue
            c = j * lat.nx + i
            quad = lat.xy(np.array([c, c + 1, c + lat.nx + 1, c + lat.nx]))
            if shapely.contains_xy(shapely.polygons(quad), px, py):
                return c
    return -1


def _link_target(lat: _Lattice, water: _Water, p: FloatArray, radius_m: float
                 ) -> tuple[int, int]:
    """Where a link road from p (a junction node, a motorway end) meets the lattice: the nearest
    dry corner of the cell holding p (so the link crosses no other road; the cell is then kept
    free of streets), else the nearest land node; (node, cell) or (-1, -1)."""
    cell = _cell_of(lat, float(p[0]), float(p[1]))
    if cell >= 0:
        corners = np.array([cell, cell + 1, cell + lat.nx + 1, cell + lat.nx])
        corners = corners[lat.land[corners]]
        order = np.argsort(np.hypot(lat.x[corners] - p[0], lat.y[corners] - p[1]))
        for g in corners[order].tolist():
            if _link_ok(lat, water, p, g):
                return g, cell
    g = lat.nearest_land(float(p[0]), float(p[1]), radius_m)
    if g >= 0 and _link_ok(lat, water, p, g):
        return g, -1
    return -1, -1


def _link_ok(lat: _Lattice, water: _Water, p: FloatArray, g: int) -> bool:
    """May a link road run straight from p (off the lattice) to lattice node g: p on land and
    the line crossing no water?"""
    if not shapely.contains_xy(water.land, float(p[0]), float(p[1])):
        return False
    return not bool(_crosses_water(water, p[None, :], lat.xy(np.array([g])))[0])


def _motorways(net: _Net, lat: _Lattice, water: _Water, mnet: _MotorwayNet, seed: int
               ) -> _MotorwayOut:
    """Two one-way carriageways per chain (traffic on the left), meeting at interchanges; four
    one-way slips per junction to a junction node, and a primary link road from it to the lattice."""
    out = _MotorwayOut([])
    if not mnet.chains:
        return out
    from scipy.spatial import cKDTree

    centre_id: dict[int, int] = {}

    def centre(v: int) -> int:
        if v not in centre_id:
            centre_id[v] = int(net.nodes(mnet.xy[v])[0])
        return centre_id[v]

    # real junctions: the slips' attachment points, moved to the nearest chain node
    owner_chain: list[int] = []
    owner_idx: list[int] = []
    pts: list[FloatArray] = []
    for c, (path, _) in enumerate(mnet.chains):
        owner_chain.extend([c] * len(path))
        owner_idx.extend(range(len(path)))
        pts.append(mnet.xy[path])
    all_pts = np.concatenate(pts)
    hints: dict[int, list[int]] = {}
    if len(mnet.junction_hints):
        dist, near = cKDTree(all_pts).query(mnet.junction_hints)
        for d_, k in zip(dist.tolist(), near.tolist(), strict=True):
            if d_ <= 600.0:
                hints.setdefault(owner_chain[k], []).append(owner_idx[k])
    numbers: dict[str, int] = {}
    for c, (path, ref) in enumerate(mnet.chains):
        cxy = mnet.xy[path]
        if len(cxy) < 3:
            cxy = np.vstack([cxy[0], (cxy[0] + cxy[-1]) / 2, cxy[-1]])
        m = len(cxy)
        tang = np.gradient(cxy, axis=0)
        tang /= np.maximum(np.hypot(*tang.T), 1e-9)[:, None]
        left = np.column_stack([-tang[:, 1], tang[:, 0]])
        a_nodes = np.empty(m, np.int64)
        b_nodes = np.empty(m, np.int64)
        a_nodes[0] = b_nodes[0] = centre(int(path[0]))
        a_nodes[-1] = b_nodes[-1] = centre(int(path[-1]))
        a_xy = cxy + MW_HALF_GAP_M * left
        b_xy = cxy - MW_HALF_GAP_M * left
        a_xy[[0, -1]] = b_xy[[0, -1]] = cxy[[0, -1]]
        a_nodes[1:-1] = net.nodes(a_xy[1:-1])
        b_nodes[1:-1] = net.nodes(b_xy[1:-1])
        text = ref or "M"
        ga, gb = net.groups([MOTORWAY, MOTORWAY], 0, 0, [text, text])
        net.path(a_nodes, int(ga), oneway=True)
        net.path(b_nodes[::-1], int(gb), oneway=True)
        if ref and ref not in out.refs:
            out.refs.append(ref)
        # junction positions along the chain (chain indexes 2..m-3, so slips fit)
        s = _chain_positions(cxy)
        real = sorted(v for v in hints.get(c, []) if 2 <= v <= m - 3)
        chosen: list[tuple[int, bool]] = []
        for v in real:
            if chosen and s[v] - s[chosen[-1][0]] < JUNCTION_MIN_M:
                continue
            chosen.append((v, True))
        fill: list[tuple[int, bool]] = []
        marks = [0.0] + [float(s[v]) for v, _ in chosen] + [float(s[-1])]
        for k, (lo, hi) in enumerate(itertools.pairwise(marks)):
            if hi - lo <= JUNCTION_MAX_GAP_M:
                continue
            pos = lo
            while True:
                u = float(_unif(seed, 50, c, k, round(pos))[0])
                pos += JUNCTION_FILL_M[0] + u * (JUNCTION_FILL_M[1] - JUNCTION_FILL_M[0])
                if pos > hi - JUNCTION_FILL_M[0]:
                    break
                v = int(np.clip(np.searchsorted(s, pos), 2, m - 3))
                if 2 <= v <= m - 3:
                    fill.append((v, False))
        junctions = sorted(set(chosen + fill))
        last_s = -1e18
        for v, is_real in junctions:
            if s[v] - last_s < JUNCTION_MIN_M:
                continue
            # the junction node on the side with land nearest (a side road must reach it)
            best = None
            for sign in (1.0, -1.0):
                hxy = cxy[v] + sign * JUNCTION_SIDE_M * left[v]
                g, cell = _link_target(lat, water, hxy, JUNCTION_LINK_MAX_M)
                if g >= 0:
                    d_ = math.hypot(lat.x[g] - hxy[0], lat.y[g] - hxy[1])
                    if best is None or d_ < best[0]:
                        best = (d_, g, hxy, cell)
            if best is None:
                continue
            _, g, hxy, cell = best
            if cell >= 0:
                out.cells.append(cell)
            if last_s > -1e17:
                out.junction_gaps_m.append(float(s[v] - last_s))
            last_s = float(s[v])
            num = numbers[text] = numbers.get(text, 0) + 1
            hub = int(net.nodes(hxy)[0])
            tags = {"highway": "motorway_junction", "ref": str(num), "name": f"{text} J{num}"}
            net.node_tags[int(a_nodes[v - 1])] = tags
            net.node_tags[int(b_nodes[v + 1])] = dict(tags)
            for frm, to, p, q in ((a_nodes[v - 1], hub, a_xy[v - 1], hxy),
                                  (hub, a_nodes[v + 1], hxy, a_xy[v + 1]),
                                  (b_nodes[v + 1], hub, b_xy[v + 1], hxy),
                                  (hub, b_nodes[v - 1], hxy, b_xy[v - 1])):
                mid = net.nodes((np.asarray(p) + np.asarray(q)) / 2)
                grp = net.groups(LINK, 0, num, f"{text} J{num}")
                net.path([int(frm), int(mid[0]), int(to)], int(grp[0]), oneway=True)
            inner = _subdivide(net, np.asarray(hxy), lat.xy(np.array([g]))[0], 300.0)
            grp = net.groups(PRIMARY, 0, 0, f"{text} J{num} Link Road")
            net.path([hub, *inner.tolist(), g], int(grp[0]))
            out.hubs.append((g, PRIMARY))
            if is_real:
                out.junctions_real += 1
            else:
                out.junctions_synthetic += 1
    for v in mnet.ends.tolist():
        if v not in centre_id:
            continue
        exy = mnet.xy[v]
        g, cell = _link_target(lat, water, exy, JUNCTION_LINK_MAX_M)
        if g < 0:
            continue
        if cell >= 0:
            out.cells.append(cell)
        inner = _subdivide(net, exy, lat.xy(np.array([g]))[0], 300.0)
        grp = net.groups(TRUNK, 0, 0, "Motorway End")
        net.path([centre_id[v], *inner.tolist(), g], int(grp[0]))
        out.hubs.append((g, TRUNK))
        out.ends_linked += 1
    return out


# -- neighbourhoods ------------------------------------------------------------------------------

@dataclass
class _Patterns:
    keep: BoolArray  # (P, n_inner_edges)
    side_on: BoolArray  # (P, 4): S, N, W, E
    slot: IntArray  # (P, 4)
    ea: IntArray  # inner edge endpoints (local), horizontal first then vertical
    ez: IntArray


def _patterns(block: int, seed: int) -> _Patterns:
    """Street layouts for one cell: a random spanning tree of the block x block junctions (so every
    house is reachable) plus a few loops, and which sides have an access street where."""
    b = block
    r, c = np.divmod(np.arange(b * b), b)
    h = np.flatnonzero(c < b - 1)
    v = np.flatnonzero(r < b - 1)
    ea = np.concatenate([h, v])
    ez = np.concatenate([h + 1, v + b])
    rng = np.random.default_rng([seed, 40])
    keep = np.zeros((N_PATTERNS, len(ea)), bool)
    for p in range(N_PATTERNS):
        u = rng.random(len(ea))
        tree = minimum_spanning_tree(coo_matrix((1.0 + u, (ea, ez)), shape=(b * b, b * b))).tocoo()
        in_tree = np.isin(ea * b * b + ez, np.minimum(tree.row, tree.col) * b * b
                          + np.maximum(tree.row, tree.col))
        keep[p] = in_tree | (rng.random(len(ea)) < LOOP_P)
    side_on = rng.random((N_PATTERNS, 4)) < ACCESS_P
    none = ~side_on.any(axis=1)
    side_on[np.flatnonzero(none), rng.integers(4, size=int(none.sum()))] = True
    slot = rng.integers(b, size=(N_PATTERNS, 4))
    return _Patterns(keep, side_on, slot, ea.astype(np.int64), ez.astype(np.int64))


# -- assembly -------------------------------------------------------------------------------------

def _edge_id(nx: int, a: IntArray, b: IntArray) -> IntArray:
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    out: IntArray = 2 * lo + (hi - lo == nx)
    return out


def _build(lat: _Lattice, water: _Water, st: _Settlements, mnet: _MotorwayNet,
           size: RealisticSize, seed: int, names: list[str], stats: dict[str, Any],
           tick: Callable[[], None]) -> _Net:
    nx, nn = lat.nx, lat.nx * lat.ny
    b = size.block
    net = _Net(nn)
    # motorways first: their junctions are hubs of the arterial network, and the cells their link
    # roads cross stay free of streets (and of arterial diagonals)
    mo = _motorways(net, lat, water, mnet, seed)
    link_cells = np.asarray(mo.cells, np.int64)
    st.urban_cell[link_cells] = -1
    urban = st.urban_cell >= 0
    no_diag = urban.copy()
    no_diag[link_cells] = True
    tick()
    # hubs: settlement centres by size, primary hubs inside big built-up areas, junctions, ends
    cell_km2 = (lat.d / 1000.0) ** 2
    km2 = st.cells * cell_km2
    tier = np.where(km2 >= TIER_KM2[0], TRUNK,
                    np.where(km2 >= TIER_KM2[1], PRIMARY,
                             np.where(km2 >= TIER_KM2[2], SECONDARY, TERTIARY)))
    tier = np.where(st.main & (st.agglo_cells * cell_km2 >= TIER_KM2[0]), TRUNK, tier)
    hub_g = [st.centre]
    hub_t = [tier]
    u = np.flatnonzero(urban)
    agg_big = np.zeros(nn, bool)
    big_settlements = np.flatnonzero(st.agglo_cells * cell_km2 >= SUBHUB_MIN_KM2)
    agg_big[u[np.isin(st.urban_cell[u], big_settlements)]] = True
    ai, aj = u % nx + lat.i0, u // nx + lat.j0
    sub = u[agg_big[u] & (ai % SUBHUB_EVERY == 0) & (aj % SUBHUB_EVERY == 0)]
    hub_g.append(sub)
    hub_t.append(np.full(len(sub), PRIMARY))
    if mo.hubs:
        hub_g.append(np.array([g for g, _ in mo.hubs], np.int64))
        hub_t.append(np.array([t for _, t in mo.hubs], np.int64))
    bridges0: list[tuple[int, int, int, str, bool]] = []
    box = (lat.x.min(), lat.y.min(), lat.x.max(), lat.y.max())
    for name, ref, p_ll, q_ll, rank, tunnel in LONG_CROSSINGS:
        pq = _project_lonlat([p_ll, q_ll])
        if not all(box[0] <= px <= box[2] and box[1] <= py <= box[3] for px, py in pq):
            continue
        p = lat.nearest_land(float(pq[0, 0]), float(pq[0, 1]), 2500.0)
        q = lat.nearest_land(float(pq[1, 0]), float(pq[1, 1]), 2500.0)
        if p < 0 or q < 0 or p == q or lat.land_comp[p] == lat.land_comp[q] and (
                _water_length(water, lat.xy(np.array([p]))[0], lat.xy(np.array([q]))[0]) < 50):
            continue
        bridges0.append((p, q, rank, f"{name} ({ref})", tunnel))
        hub_g.append(np.array([p, q], np.int64))
        hub_t.append(np.array([rank, rank], np.int64))
    hg = np.concatenate(hub_g)
    ht = np.concatenate(hub_t)
    order = np.lexsort((ht, hg))
    hg, ht = hg[order], ht[order]
    first = np.r_[True, hg[1:] != hg[:-1]]
    hubs, tiers = hg[first], ht[first]
    stats["hubs_by_tier"] = {CLASSES[t]: int((tiers == t).sum()) for t in (TRUNK, PRIMARY,
                                                                            SECONDARY, TERTIARY)}
    cor = _corridors(lat, water, no_diag, hubs, tiers, bridges0, seed, tick)
    stats.update(corridors=len(cor.rank), corridors_rerouted=cor.rerouted,
                 corridor_runs_dropped=cor.dropped_runs, island_crossings=cor.island_links)
    # lattice road edges: rank, owner group, seq, direction
    n_e = 2 * nn
    e_rank = np.full(n_e, 99, np.int8)
    e_group = np.full(n_e, -1, np.int64)
    e_seq = np.zeros(n_e, np.int64)
    e_rev = np.zeros(n_e, bool)
    n_corr = len(cor.rank)
    base = len(net.g_cls)
    cls2 = np.repeat(cor.rank, 2)
    net.groups(cls2, np.tile([0, URBAN], n_corr), np.repeat(np.arange(n_corr) + 1001, 2))
    seq = np.arange(len(cor.corr), dtype=np.int64)
    prio = np.lexsort((seq, cor.corr, cor.rank[cor.corr]))
    side = cor.kind == 0
    sk = prio[side[prio]]
    eid = _edge_id(nx, cor.a[sk], cor.b[sk])
    _, first_k = np.unique(eid, return_index=True)
    win = sk[first_k]
    we = _edge_id(nx, cor.a[win], cor.b[win])
    lo = np.minimum(cor.a[win], cor.b[win])
    cells_adj = np.where(we % 2 == 0, lo - nx, lo - 1)
    is_urban = urban[lo] | urban[np.clip(cells_adj, 0, nn - 1)]
    e_rank[we] = cor.rank[cor.corr[win]]
    e_group[we] = base + 2 * cor.corr[win] + is_urban
    e_seq[we] = win
    e_rev[we] = cor.a[win] > cor.b[win]
    # diagonals and bridges: one owner each, added as they are
    dk = prio[(cor.kind[prio] == 1)]
    dcell, dtyp = _diag_cell(nx, cor.a[dk], cor.b[dk])
    _, first_d = np.unique(dcell * 2 + dtyp, return_index=True)
    dwin = dk[first_d]
    net.add(cor.a[dwin], cor.b[dwin], base + 2 * cor.corr[dwin], dwin * (b + 2))
    bk = prio[cor.kind[prio] == 2]
    _, first_b = np.unique(cor.bridge_of_step[bk], return_index=True)
    bridge_kinds = {"generic": 0, "long": 0, "island": 0}
    bridge_lines: list[tuple[FloatArray, FloatArray]] = []
    for k in bk[first_b].tolist():
        p, q, rank, name, tunnel = cor.bridges[int(cor.bridge_of_step[k])]
        pxy, qxy = lat.xy(np.array([p, q]))
        inner = _subdivide(net, pxy, qxy, 400.0)
        flag = TUNNEL if tunnel else BRIDGE
        label = name or ""
        grp = net.groups(int(cor.rank[cor.corr[k]]), flag, 1001 + int(cor.corr[k]), label)
        net.path([p, *inner.tolist(), q], int(grp[0]))
        bridge_lines.append((pxy, qxy))
        kind = "island" if name == "Crossing" else ("long" if name else "generic")
        bridge_kinds[kind] += 1
    stats["bridges"] = bridge_kinds
    stats["river_bridges"] = _river_bridges(water, bridge_lines)
    tick()
    # distributors: the dry sides of built-up cells on every ESTATE-th lattice line, so estates of
    # ESTATE x ESTATE cells lie between them; some not needed to keep the mesh connected are
    # dropped (T-junctions rather than crossroads); every built-up cell keeps a road side
    dist_e = _distributors(lat, urban, e_rank, seed)
    _line_groups(net, lat, dist_e, np.full(len(dist_e), TERTIARY), URBAN, e_rank, e_group, e_seq,
                 b, "distributor")
    tick()
    # rural lanes: a shortest-path forest from the main network out to hamlets and farms
    lanes = _lanes(lat, st, cor, e_rank, names, size, seed, stats)
    _line_groups(net, lat, lanes[0], lanes[1], 0, e_rank, e_group, e_seq, b, "lane")
    tick()
    # neighbourhoods, their access slots on the distributors, then the lattice edges themselves
    slot_e, slot_m = _neighbourhoods(net, lat, st, e_rank, b, seed)
    _emit_lattice_edges(net, lat, e_group, e_seq, e_rev, slot_e, slot_m, b)
    tick()
    # places
    sizes = st.agglo_sizes * cell_km2
    stats["built_up"] = {"km2": round(float(sizes.sum()), 1), "areas": len(sizes),
                         "largest_km2": [round(float(v), 1) for v in sizes[:10]],
                         "median_km2": round(float(np.median(sizes)), 2) if len(sizes) else 0.0}
    stats["settlements"] = {"count": len(st.centre), "cells_max": int(st.cells.max(initial=0)),
                            "by_tier": {CLASSES[t]: int((tier == t).sum())
                                        for t in (TRUNK, PRIMARY, SECONDARY, TERTIARY)}}
    stats["junctions"] = {"real": mo.junctions_real, "synthetic": mo.junctions_synthetic,
                          "motorway_ends_linked": mo.ends_linked}
    gaps = np.asarray(mo.junction_gaps_m)
    if len(gaps):
        stats["junction_spacing_km"] = {
            "n": len(gaps), "min": round(float(gaps.min()) / 1000, 2),
            "p10": round(float(np.percentile(gaps, 10)) / 1000, 2),
            "median": round(float(np.median(gaps)) / 1000, 2),
            "mean": round(float(gaps.mean()) / 1000, 2),
            "p90": round(float(np.percentile(gaps, 90)) / 1000, 2)}
    stats["motorway_refs"] = sorted(mo.refs)
    return net


def _urban_sides(lat: _Lattice, urban: BoolArray) -> tuple[BoolArray, BoolArray]:
    """Per lattice node g: is the side g -> g+1 (horizontal) / g -> g+nx (vertical) a side of
    a built-up cell?"""
    nn, nx = len(urban), lat.nx
    idx = np.arange(nn)
    h = urban | (urban[np.clip(idx - nx, 0, nn - 1)] & (idx >= nx))
    v = urban | (urban[np.clip(idx - 1, 0, nn - 1)] & (idx % nx > 0))
    return h, v


def _distributors(lat: _Lattice, urban: BoolArray, e_rank: npt.NDArray[np.int8], seed: int
                  ) -> IntArray:
    nx, nn = lat.nx, len(urban)
    idx = np.arange(nn)
    ai, aj = idx % nx + lat.i0, idx // nx + lat.j0
    h_adj, v_adj = _urban_sides(lat, urban)
    cand = np.concatenate([2 * np.flatnonzero(h_adj & lat.valid_h & (aj % ESTATE == 0)),
                           2 * np.flatnonzero(v_adj & lat.valid_v & (ai % ESTATE == 0)) + 1])
    cand = cand[e_rank[cand] == 99]
    road = np.flatnonzero(e_rank < 99)
    # a random spanning forest of candidates and existing roads (at no cost) stays
    ends = [(e // 2, e // 2 + np.where(e % 2 == 1, nx, 1)) for e in (cand, road)]
    u = 1.0 + _unif(seed, 70, cand)
    wt = np.concatenate([u, np.full(len(road), 1e-6)])
    ga = np.concatenate([ends[0][0], ends[1][0]])
    gb = np.concatenate([ends[0][1], ends[1][1]])
    tree = minimum_spanning_tree(coo_matrix((wt, (ga, gb)), shape=(nn, nn)).tocsr()).tocoo()
    lo, hi = np.minimum(tree.row, tree.col), np.maximum(tree.row, tree.col)
    tree_e = 2 * lo + (hi - lo == nx)
    keep = np.isin(cand, tree_e) | (_unif(seed, 71, cand) >= DISTRIBUTOR_DROP)
    out = cand[keep]
    # a built-up cell with no road side left gets one of its estate sides back
    has = np.zeros(2 * nn, bool)
    has[out] = True
    has[road] = True
    cells = np.flatnonzero(urban)
    sides = np.column_stack([2 * cells, 2 * (cells + nx), 2 * cells + 1, 2 * (cells + 1) + 1])
    bare = cells[~has[sides].any(axis=1)]
    if len(bare):
        sides = np.column_stack([2 * bare, 2 * (bare + nx), 2 * bare + 1, 2 * (bare + 1) + 1])
        on_line = np.isin(sides, cand)
        pick = sides[np.arange(len(bare)), np.argmax(on_line, axis=1)]
        out = np.union1d(out, pick[on_line.any(axis=1)])
    return np.asarray(np.unique(out), dtype=np.int64)


def _river_bridges(water: _Water, lines: list[tuple[FloatArray, FloatArray]]) -> dict[str, int]:
    """How many bridges cross each drawn river."""
    if not lines or not water.rivers:
        return {name: 0 for name, _ in water.rivers}
    geoms = shapely.linestrings(np.stack([np.stack([p, q]) for p, q in lines]))
    return {name: int(shapely.intersects(geoms, river).sum()) for name, river in water.rivers}


def _line_groups(net: _Net, lat: _Lattice, eids: IntArray, ranks: IntArray, flags: int,
                 e_rank: npt.NDArray[np.int8], e_group: IntArray, e_seq: IntArray, b: int,
                 kind: str) -> None:
    """Lattice sides of one kind become ways along lattice lines: one group per line and class."""
    if len(eids) == 0:
        return
    nx = lat.nx
    g = eids // 2
    vert = eids % 2
    line = np.where(vert == 1, g % nx, g // nx) * 2 + vert
    pos = np.where(vert == 1, g // nx, g % nx)
    key = line * 16 + ranks
    uniq, inv = np.unique(key, return_inverse=True)
    u_line = uniq // 16
    num = np.where(u_line % 2 == 1, u_line // 2 + lat.i0, u_line // 2 + lat.j0)
    cls = uniq % 16
    grp = net.groups(cls, flags, num, kind)
    e_rank[eids] = ranks
    e_group[eids] = grp[inv]
    e_seq[eids] = pos


def _lanes(lat: _Lattice, st: _Settlements, cor: _Corridors, e_rank: npt.NDArray[np.int8],
           names: list[str], size: RealisticSize, seed: int, stats: dict[str, Any]
           ) -> tuple[IntArray, IntArray]:
    """Rural lanes: the shortest-path forest (random weights, so lanes wander a little) from the
    main network's largest piece over dry lattice sides, kept only on paths to farms, hamlets
    and cut-off pieces of the main network; a few loops.  Lanes that serve many places are
    tertiary."""
    nx, nn = lat.nx, lat.nx * lat.ny
    road = np.flatnonzero(e_rank < 99)
    ra = road // 2
    rb = ra + np.where(road % 2 == 1, nx, 1)
    extra_a = cor.a[cor.kind != 0]
    extra_b = cor.b[cor.kind != 0]
    ma = np.concatenate([ra, extra_a])
    mb = np.concatenate([rb, extra_b])
    main = np.zeros(nn, bool)
    main[ma] = main[mb] = True
    _, comp = connected_components(coo_matrix((np.ones(len(ma)), (ma, mb)), shape=(nn, nn)),
                                   directed=False)
    counts = np.bincount(comp[main], minlength=comp.max() + 1)
    root_comp = int(np.argmax(counts))
    roots = np.flatnonzero(main & (comp == root_comp))
    # graph: dry lattice sides (random lengths) plus the main network at no cost
    h, v = np.flatnonzero(lat.valid_h), np.flatnonzero(lat.valid_v)
    la = np.concatenate([h, v])
    lb = np.concatenate([h + 1, v + nx])
    eid = np.concatenate([2 * h, 2 * v + 1])
    # heavy-tailed random lengths: shortest paths meander and coalesce into branching trees
    # (first-passage percolation), as lanes do, instead of running straight out like a comb
    w = lat.d * np.exp(LANE_SIGMA * (_unif(seed, 60, eid) - 0.5) * 3.46)
    w[e_rank[eid] < 99] = 1e-3
    h_town, v_town = _urban_sides(lat, st.urban_cell >= 0)  # no lane between built-up cells
    town_side = np.concatenate([h_town[h], v_town[v]]) & (e_rank[eid] == 99)
    la, lb, eid, w = la[~town_side], lb[~town_side], eid[~town_side], w[~town_side]
    ga = np.concatenate([la, extra_a])
    gb = np.concatenate([lb, extra_b])
    gw = np.concatenate([w, np.full(len(extra_a), 1e-3)])
    graph = coo_matrix((gw, (ga, gb)), shape=(nn, nn)).tocsr()
    dist, pred, _ = dijkstra(graph, directed=False, indices=roots, min_only=True,
                          return_predecessors=True)
    # farms: fewer where the seat is big and empty (rural density ~ people / area)
    seat_area = np.zeros(len(names) + 1)
    cell_km2 = (lat.d / 1000.0) ** 2
    np.add.at(seat_area, np.where(lat.seat >= 0, lat.seat, len(names)), cell_km2)
    seat_area = np.maximum(seat_area, 1.0)
    density = 100_000.0 / seat_area
    share = size.farm_share * np.minimum(1.0, (density / FARM_REF_DENSITY) ** 0.6)
    share[-1] = size.farm_share * 0.3
    ai, aj = np.arange(nn) % nx + lat.i0, np.arange(nn) // nx + lat.j0
    urban = st.urban_cell >= 0
    in_town = urban.copy()
    for off in (1, nx, nx + 1):
        in_town[off:] |= urban[:-off]
    farm = lat.land & ~main & ~in_town & (
        _unif(seed, 61, ai, aj) < share[np.where(lat.seat >= 0, lat.seat, len(names))])
    term = np.flatnonzero((farm | (main & (comp != root_comp))) & np.isfinite(dist))
    served = np.zeros(nn, np.int64)
    served[term] = 1
    on = np.zeros(nn, bool)
    frontier = term
    while len(frontier):
        frontier = frontier[~on[frontier]]
        on[frontier] = True
        frontier = frontier[pred[frontier] >= 0]
        frontier = pred[frontier]
    kept = np.flatnonzero(on & (pred >= 0))
    # places served below each lane: sum up the forest from the far ends
    order = kept[np.argsort(-dist[kept], kind="stable")]
    pv = pred[order]
    for k in range(len(order)):  # sequential by construction (children before parents)
        served[pv[k]] += served[order[k]]
    pa, pb = pred[kept], kept
    side = np.abs(pb - pa)
    lattice_step = np.isin(side, (1, nx))
    pa, pb = pa[lattice_step], pb[lattice_step]
    le = _edge_id(nx, pa, pb)
    dry = np.where(le % 2 == 0, lat.valid_h[le // 2], lat.valid_v[le // 2])
    new = (e_rank[le] == 99) & dry  # not over a bridge the forest walked for free
    le, pb = le[new], pb[new]
    rank = np.where(served[pb] >= LANE_TERTIARY_SERVED, TERTIARY, UNCLASSIFIED)
    # loops: a few more sides between lane nodes
    lane_node = np.zeros(nn, bool)
    lane_node[kept] = True
    cand_a, cand_b = la, lb
    cand_e = eid
    loop = ((lane_node[cand_a] & (lane_node[cand_b] | main[cand_b]))
            | (lane_node[cand_b] & main[cand_a])) & (e_rank[cand_e] == 99)
    loop &= _unif(seed, 62, cand_e) < LANE_LOOP_P
    loop_e = np.setdiff1d(cand_e[loop], le)
    stats["lanes"] = {"farms": int(farm.sum()), "served": len(term),
                      "lane_sides": len(le), "loop_sides": len(loop_e),
                      "cut_off_main_nodes": int((main & (comp != root_comp)).sum())}
    return (np.concatenate([le, loop_e]),
            np.concatenate([rank, np.full(len(loop_e), UNCLASSIFIED)]).astype(np.int64))


def _neighbourhoods(net: _Net, lat: _Lattice, st: _Settlements, e_rank: npt.NDArray[np.int8],
                    b: int, seed: int) -> tuple[IntArray, IntArray]:
    """Residential streets in every built-up cell, joined to its sides at access slots; returns
    the slots (lattice edge, position 0..b-1) that split the distributor sides."""
    nx = lat.nx
    cells = np.flatnonzero(st.urban_cell >= 0)
    if len(cells) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pat = _patterns(b, seed)
    ai, aj = cells % nx + lat.i0, cells // nx + lat.j0
    pid = (_unif(seed, 41, ai, aj) * N_PATTERNS).astype(np.int64)
    # sides S, N, W, E as lattice edges
    side_e = np.column_stack([2 * cells, 2 * (cells + nx), 2 * cells + 1, 2 * (cells + 1) + 1])
    side_rank = e_rank[side_e].astype(np.int64)
    road = side_rank < 99
    on = pat.side_on[pid]
    allowed = on & road & (side_rank > SECONDARY)
    none = ~allowed.any(axis=1)
    if none.any():  # the least important road side (every built-up cell has one)
        worst = np.where(road[none], side_rank[none], -1)
        first = np.argmax(worst, axis=1)
        allowed[np.flatnonzero(none), first] = road[np.flatnonzero(none), first]
    # inside an estate: streets of two built-up cells join across their shared side, at a slot
    # fixed by the side, so both cells meet at the same node
    slot = pat.slot[pid].copy()
    across = np.column_stack([cells - nx, cells + nx, cells - 1, cells + 1])
    urban = st.urban_cell >= 0
    inner = ~road & urban[np.clip(across, 0, len(urban) - 1)]
    join = inner & (_unif(seed, 44, side_e) < INNER_STREET_P)
    slot[join] = (_unif(seed, 45, side_e[join]) * b).astype(np.int64)
    allowed |= join
    # junction positions: bilinear inside the (convex) cell, jittered
    c00 = np.column_stack([lat.x[cells], lat.y[cells]])
    c10 = np.column_stack([lat.x[cells + 1], lat.y[cells + 1]])
    c01 = np.column_stack([lat.x[cells + nx], lat.y[cells + nx]])
    c11 = np.column_stack([lat.x[cells + nx + 1], lat.y[cells + nx + 1]])
    r, c = np.divmod(np.arange(b * b), b)
    local = np.arange(b * b)
    ju = (_unif(seed, 42, cells[:, None], local[None, :]) - 0.5) * 0.36 / (b + 1)
    jv = (_unif(seed, 43, cells[:, None], local[None, :]) - 0.5) * 0.36 / (b + 1)
    uu = (c[None, :] + 1) / (b + 1) + ju
    vv = (r[None, :] + 1) / (b + 1) + jv
    px = ((1 - uu) * (1 - vv) * c00[:, :1] + uu * (1 - vv) * c10[:, :1] + uu * vv * c11[:, :1]
          + (1 - uu) * vv * c01[:, :1])
    py = ((1 - uu) * (1 - vv) * c00[:, 1:] + uu * (1 - vv) * c10[:, 1:] + uu * vv * c11[:, 1:]
          + (1 - uu) * vv * c01[:, 1:])
    ids = net.nodes(np.column_stack([px.ravel(), py.ravel()])).reshape(len(cells), b * b)
    # one group per row (r) and column (b + c) of each cell
    groups = net.groups(np.full(len(cells) * 2 * b, RESIDENTIAL), URBAN,
                        np.arange(len(cells) * 2 * b) + 1, "street").reshape(len(cells), 2 * b)
    keep = pat.keep[pid]
    n_h = b * (b - 1)
    for k in range(len(pat.ea)):
        sel = np.flatnonzero(keep[:, k])
        ea, ez = int(pat.ea[k]), int(pat.ez[k])
        if k < n_h:
            grp, sq = groups[sel, ea // b], ea % b + 1
        else:
            grp, sq = groups[sel, b + ea % b], ea // b + 1
        net.add(ids[sel, ea], ids[sel, ez], grp, sq)
    # access streets to the slots: they extend a row or column to the cell's side
    slot_e: list[IntArray] = []
    slot_m: list[IntArray] = []
    for s_ix in range(4):
        sel = np.flatnonzero(allowed[:, s_ix])
        m = slot[sel, s_ix]
        slot_e.append(side_e[sel, s_ix])
        slot_m.append(m)
        if s_ix == 0:  # S: column m from the side up to row 0
            inner, grp, sq, inward = ids[sel, m], groups[sel, b + m], 0, True
        elif s_ix == 1:  # N: column m from row b-1 up to the side
            inner, grp, sq, inward = ids[sel, (b - 1) * b + m], groups[sel, b + m], b, False
        elif s_ix == 2:  # W: row m from the side to column 0
            inner, grp, sq, inward = ids[sel, m * b], groups[sel, m], 0, True
        else:  # E: row m from column b-1 to the side
            inner, grp, sq, inward = ids[sel, m * b + b - 1], groups[sel, m], b, False
        slot_node = _SLOT_BASE + side_e[sel, s_ix] * b + m  # placeholder id, resolved later
        if inward:
            net.add(slot_node, inner, grp, sq)
        else:
            net.add(inner, slot_node, grp, sq)
    return np.concatenate(slot_e), np.concatenate(slot_m)


_SLOT_BASE = 1 << 52  # slot nodes are named (lattice edge, position) until they get ids


def _emit_lattice_edges(net: _Net, lat: _Lattice, e_group: IntArray, e_seq: IntArray,
                        e_rev: BoolArray, slot_e: IntArray, slot_m: IntArray, b: int) -> None:
    """Every lattice side that is a road, split at its access slots, in its way's direction."""
    nx = lat.nx
    key = np.unique(slot_e * b + slot_m)
    se, sm = key // b, key % b
    road = np.flatnonzero(e_group >= 0)
    lo = road // 2
    hi = lo + np.where(road % 2 == 1, nx, 1)
    t = (sm + 1) / (b + 1)
    sl = se // 2
    sh = sl + np.where(se % 2 == 1, nx, 1)
    sxy = np.column_stack([lat.x[sl] * (1 - t) + lat.x[sh] * t, lat.y[sl] * (1 - t) + lat.y[sh] * t])
    slot_ids = net.nodes(sxy)
    # pieces per road edge: lo, slots in order, hi (slots of non-road edges cannot occur)
    n_slots = np.zeros(len(e_group), np.int64)
    np.add.at(n_slots, se, 1)
    cnt = n_slots[road] + 1
    edge_of_piece = np.repeat(road, cnt)
    piece = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    # node sequence per road edge: [lo, s_1..s_k, hi]; slots sorted by (edge, m) already
    starts = np.searchsorted(se, road)
    seq_nodes_lo = np.where(piece == 0, lo[np.repeat(np.arange(len(road)), cnt)],
                            slot_ids[np.clip(np.repeat(starts, cnt) + piece - 1, 0,
                                             max(len(slot_ids) - 1, 0))] if len(slot_ids) else 0)
    last = piece == np.repeat(cnt - 1, cnt)
    seq_nodes_hi = np.where(last, hi[np.repeat(np.arange(len(road)), cnt)],
                            slot_ids[np.clip(np.repeat(starts, cnt) + piece, 0,
                                             max(len(slot_ids) - 1, 0))] if len(slot_ids) else 0)
    rev = e_rev[edge_of_piece]
    a = np.where(rev, seq_nodes_hi, seq_nodes_lo)
    z = np.where(rev, seq_nodes_lo, seq_nodes_hi)
    order_in = np.where(rev, np.repeat(cnt - 1, cnt) - piece, piece)
    net.add(a, z, e_group[edge_of_piece], e_seq[edge_of_piece] * (b + 2) + order_in)
    # resolve the neighbourhoods' placeholder slot ids
    lookup = np.full(0, 0)
    del lookup
    for k, (aa, zz, gg, ss, ow) in enumerate(net.edges):
        for arr in (aa, zz):
            ph = arr >= _SLOT_BASE
            if ph.any():
                idx = np.searchsorted(key, arr[ph] - _SLOT_BASE)
                arr[ph] = slot_ids[idx]
        net.edges[k] = (aa, zz, gg, ss, ow)


def _positions(net: _Net, lat: _Lattice, ids: IntArray) -> FloatArray:
    """Positions (metres) of sorted global node ids."""
    out = np.empty((len(ids), 2))
    lat_part = ids < net.n_lattice
    out[lat_part] = lat.xy(ids[lat_part])
    if net.extra:
        extra = np.concatenate(net.extra)
        out[~lat_part] = extra[ids[~lat_part] - net.n_lattice]
    return out


_NAMES = {"distributor": "Road", "lane": "Lane", "street": "Street"}


def _tags_of(net: _Net) -> Callable[[int], dict[str, str]]:
    """Tags of a way from its group: class, flags, number and text (built when written)."""
    cls, flags, num, text = net.g_cls, net.g_flags, net.g_num, net.g_text
    src = _synth.SOURCE_TAGS

    def tags(g: int) -> dict[str, str]:
        c, f, n, t = cls[g], flags[g], num[g], text[g]
        hw = CLASSES[c]
        out = {"highway": hw}
        urban = bool(f & URBAN)
        if c == MOTORWAY:
            out.update(ref=t, oneway="yes", maxspeed="70 mph", lanes="3")
        elif c == LINK:
            out.update(oneway="yes", name=f"{t} Slip Road")
        elif c in (TRUNK, PRIMARY, SECONDARY):
            if n:
                out["ref"] = f"{'B' if c == SECONDARY else 'A'}{n}"
            if t and not f & (BRIDGE | TUNNEL):
                out["name"] = t
            # as OSM has it: A roads tagged (national limit out of town, 40 on urban trunk
            # roads), B roads mostly untagged out of town, so routers use their class speeds
            if urban:
                out["maxspeed"] = "40 mph" if c == TRUNK else "30 mph"
            elif c != SECONDARY:
                out["maxspeed"] = "60 mph"
        elif c == TERTIARY:
            out["name"] = f"{_NAMES.get(t, 'Road')} {n}" if t in _NAMES else f"Road {n}"
            if urban:
                out["maxspeed"] = "30 mph"
        elif c == UNCLASSIFIED:
            out["name"] = f"{_NAMES.get(t, 'Lane')} {n}"
        else:
            out.update(name=f"Street {n}", maxspeed="20 mph")
        if f & BRIDGE:
            out.update(bridge="yes", layer="1")
            out["name"] = t if t and t != "Crossing" else f"{out.get('ref', 'Road')} Bridge"
            if t == "Crossing":
                out["note:crossing"] = "a ferry in reality; a synthetic bridge here"
        if f & TUNNEL:
            out.update(tunnel="yes", layer="-1", name=t)
        return {**out, **src}

    return tags


@dataclass
class _Final:
    xy: FloatArray
    way_lengths: IntArray
    way_nodes: IntArray  # 1-based node ids
    way_group: IntArray
    node_tags: dict[int, dict[str, str]]
    edge_cls: npt.NDArray[np.int8]
    edge_len: FloatArray
    dropped_nodes: int


def _finish(net: _Net, lat: _Lattice) -> _Final:
    """Keep the largest strongly connected part (one-way carriageways and slips honoured), number
    the nodes 1..n in a fixed order and chain edges into ways."""
    a = np.concatenate([e[0] for e in net.edges])
    z = np.concatenate([e[1] for e in net.edges])
    grp = np.concatenate([e[2] for e in net.edges])
    seq = np.concatenate([e[3] for e in net.edges])
    one = np.concatenate([e[4] for e in net.edges])
    loop = a == z
    a, z, grp, seq, one = a[~loop], z[~loop], grp[~loop], seq[~loop], one[~loop]
    used = np.unique(np.concatenate([a, z]))
    ia, iz = np.searchsorted(used, a), np.searchsorted(used, z)
    n = len(used)
    tails = np.concatenate([ia, iz[~one]])
    heads = np.concatenate([iz, ia[~one]])
    _, lab = connected_components(coo_matrix((np.ones(len(tails)), (tails, heads)),
                                             shape=(n, n)).tocsr(), directed=True,
                                  connection="strong")
    big = int(np.argmax(np.bincount(lab)))
    keep_node = lab == big
    keep = keep_node[ia] & keep_node[iz]
    a, z, grp, seq = a[keep], z[keep], grp[keep], seq[keep]
    kept_ids = used[keep_node]
    ia, iz = np.searchsorted(kept_ids, a), np.searchsorted(kept_ids, z)
    xy = _positions(net, lat, kept_ids)
    order = np.lexsort((seq, grp))
    ia, iz, grp = ia[order], iz[order], grp[order]
    brk = np.ones(len(ia), bool)
    brk[1:] = (grp[1:] != grp[:-1]) | (ia[1:] != iz[:-1])
    starts = np.flatnonzero(brk)
    lengths = np.diff(np.append(starts, len(ia))) + 1
    flat = np.insert(iz, starts, ia[starts]) + 1
    tags: dict[int, dict[str, str]] = {}
    for gid, t in net.node_tags.items():
        k = int(np.searchsorted(kept_ids, gid))
        if k < len(kept_ids) and kept_ids[k] == gid:
            tags[k + 1] = {**t, **_synth.SOURCE_TAGS}
    cls = np.asarray(net.g_cls, np.int8)[grp]
    elen = np.hypot(*(xy[ia] - xy[iz]).T)
    return _Final(xy, lengths.astype(np.int64), flat.astype(np.int64), grp[starts], tags, cls, elen,
                  int(n - keep_node.sum()))


def _place_nodes(lat: _Lattice, st: _Settlements, codes: tuple[str, ...], names: list[str]
                 ) -> tuple[FloatArray, list[dict[str, str]], dict[str, int]]:
    """A place node at each settlement's centre cell: city/town/village/hamlet, named after its
    seat (the main one ``<seat> Town``, as the grid presets name theirs)."""
    nx = lat.nx
    c = st.centre
    xy = (lat.xy(c) + lat.xy(c + 1) + lat.xy(c + nx) + lat.xy(c + nx + 1)) / 4
    tags: list[dict[str, str]] = []
    main_of: dict[str, int] = {}
    count: dict[int, int] = {}
    for k in range(len(c)):
        s = int(st.seat[k])
        if st.main[k] and names[s] + " Town" not in main_of:
            name = f"{names[s]} Town"
            main_of[name] = k
        else:
            count[s] = count.get(s, 1) + 1
            name = f"{names[s]} {count[s]}"
        cells = int(st.cells[k])
        agglo = int(st.agglo_cells[k])
        km2 = cells * (lat.d / 1000.0) ** 2
        place = ("city" if agglo * (lat.d / 1000.0) ** 2 >= 4 * TIER_KM2[0] and st.main[k]
                 else "town" if km2 >= TIER_KM2[1] else "village" if km2 >= TIER_KM2[2]
                 else "hamlet")
        tags.append({"place": place, "name": name, **_synth.SOURCE_TAGS})
    return xy, tags, main_of


def generate_realistic(boundaries: geopandas.GeoDataFrame | Boundaries, out_path: str | Path, *,
                       size: str | RealisticSize = "realistic-county", seed: int = 0,
                       motorways_path: str | Path | None = None,
                       centre_code: str = _synth.DEFAULT_CENTRE,
                       progress: Callable[[int, int], None] | None = None) -> _synth.SynthResult:
    """Generate a realistic GENERATED network (see the module docstring) and write `out_path`
    (.osm.pbf) plus its JSON sidecar, both atomically.  Same inputs give the same bytes."""
    t0 = time.perf_counter()
    if isinstance(size, str):
        if size not in REALISTIC_SIZES:
            msg = f"unknown size {size!r}; choose one of {', '.join(REALISTIC_SIZES)}"
            raise UsageError(msg)
        preset, params = size, REALISTIC_SIZES[size]
    else:
        preset, params = "custom", size
    if params.lattice_m < 100 or not 2 <= params.block <= 8 or params.urban_km2 < 0:
        msg = "lattice_m must be >= 100, block 2..8 and urban_km2 >= 0"
        raise UsageError(msg)
    if seed < 0:
        msg = f"seed must be >= 0, got {seed}"
        raise UsageError(msg)
    mw_path = _synth._motorways_file(motorways_path)
    gb = _synth._gb_boundaries(boundaries)
    if params.n_constituencies is None:
        codes = tuple(sorted(str(c) for c in gb["code"]))
    else:
        if centre_code not in set(gb["code"]):
            msg = f"unknown (or non-GB) constituency code {centre_code!r}"
            raise UsageError(msg)
        codes = _synth.neighbours_around(gb, centre_code, min(params.n_constituencies, len(gb)))
    sub = _synth._projected(gb.set_index("code").loc[list(codes)])
    geoms = list(sub.geometry.to_numpy())
    names = [str(n) for n in sub["name"]]
    total = 12
    step = [0]
    report = progress or (lambda done, tot: None)
    timings: dict[str, float] = {}
    last = [time.perf_counter()]

    def tick(name: str = "") -> None:
        step[0] = min(step[0] + 1, total - 1)
        now = time.perf_counter()
        if name:
            timings[name] = round(now - last[0], 2)
        last[0] = now
        report(step[0], total)

    stats: dict[str, Any] = {}
    water = _water(geoms)
    tick("water")
    lat = _lattice(water, geoms, params.lattice_m, seed)
    tick("lattice")
    st = _settlements(lat, codes, geoms, params, seed)
    tick("settlements")
    x0, y0, x1, y1 = water.land.bounds
    buf = _synth.MOTORWAY_CLIP_BUFFER_M
    mnet = _clean_motorways(_synth._motorway_skeleton(mw_path, (x0 - buf, y0 - buf, x1 + buf,
                                                                y1 + buf)))
    net = _build(lat, water, st, mnet, params, seed, names, stats, lambda: tick())
    fin = _finish(net, lat)
    tick("assemble")
    pxy, ptags, main_of = _place_nodes(lat, st, codes, names)
    n_road = len(fin.xy)
    node_tags = dict(fin.node_tags)
    for k, t in enumerate(ptags):
        node_tags[n_road + 1 + k] = t
    xy = np.vstack([fin.xy, pxy])
    tags_of = _tags_of(net)
    ends = np.cumsum(fin.way_lengths)
    starts = ends - fin.way_lengths

    def ways() -> Iterator[tuple[list[int], dict[str, str]]]:
        flat = fin.way_nodes
        for s0, e0, g in zip(starts.tolist(), ends.tolist(), fin.way_group.tolist(), strict=True):
            yield flat[s0:e0].tolist(), tags_of(g)

    out = Path(out_path)
    bbox, lon, lat_deg = _synth._write_pbf(xy, node_tags, ways(), out, progress=lambda: tick())
    town_pos = {name: (float(lat_deg[n_road + k]), float(lon[n_road + k]))
                for name, k in sorted(main_of.items())}
    tick("write")
    result = _synth.SynthResult(out, len(xy), len(fin.way_lengths), codes, bbox, town_pos)
    km = np.bincount(fin.edge_cls, weights=fin.edge_len, minlength=len(CLASSES)) / 1000
    cnt = np.bincount(fin.edge_cls, minlength=len(CLASSES))
    stats.update(
        road_nodes=n_road, place_nodes=len(pxy), ways=len(fin.way_lengths),
        edges=len(fin.edge_cls),
        edges_by_class={CLASSES[c]: int(cnt[c]) for c in range(len(CLASSES))},
        edge_share_by_class={CLASSES[c]: round(float(cnt[c] / max(cnt.sum(), 1)), 4)
                             for c in range(len(CLASSES))},
        km_by_class={CLASSES[c]: round(float(km[c]), 1) for c in range(len(CLASSES))},
        dropped_outside_largest_scc=fin.dropped_nodes, seconds=timings,
        total_seconds=round(time.perf_counter() - t0, 1))
    spec = {"size": preset, **asdict(params), "seed": seed,
            "centre_code": centre_code if params.n_constituencies is not None else None,
            "motorways": mw_path.name, "motorways_sha256": sha256_file(mw_path),
            "generator": "routeplan.synth_roads (realistic)"}
    _synth._write_sidecar(out, result, {"spec": spec, "motorway_attribution":
                                        _synth.MOTORWAY_ATTRIBUTION, "stats": stats,
                                        "sha256": sha256_file(out)}, codes, bbox, town_pos)
    report(total, total)
    logger.info("realistic %s network %s: %d seats, %d nodes, %d ways in %.1fs", preset, out.name,
                len(codes), result.n_nodes, result.n_ways, time.perf_counter() - t0)
    return result
