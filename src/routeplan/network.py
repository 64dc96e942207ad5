"""The overlaid coach network: build it (extract -> split -> overlay), cache it, compile it.

Stages follow OSRM's extract -> customise -> query split:

* :func:`build_network` reads OSM, builds segments, overlays boundaries (slow, geometry only)
  and caches the result on disk (:mod:`routeplan.cache`: checksummed, never trusted when
  altered) keyed on the input checksums and every parameter;
* :meth:`Network.compile` applies an :class:`~routeplan.policy.ExpensePolicy` in milliseconds,
  giving the CSR arrays the kernels search.  This is the only place that maps pieces (the
  network's undirected road pieces) to CSR positions and back.
"""

from __future__ import annotations

import json
import logging
import math
import numbers
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from routeplan import __version__
from routeplan import cache as rcache
from routeplan.allocator import release_freed_memory
from routeplan.boundaries import Boundaries, sha256_file, to_bng
from routeplan.errors import ConfigError, DataError
from routeplan.graph import empty_field, largest_scc, split_ways
from routeplan.kernels import csr_from_edges
from routeplan.osm import OsmRoads, Place, read_osm
from routeplan.overlay import INSIDE, OverlayParams, Pieces, overlay
from routeplan.policy import AVOID, ExpensePolicy
from routeplan.vehicle import CLASS_NAMES, CoachProfile

log = logging.getLogger(__name__)

FORMAT_VERSION = 3
N_LANDMARKS = 8
MAX_OUTSIDE_SHARE = 0.05
_ARRAYS = ("node_id", "node_lon", "node_lat", "node_delay", "a", "b", "fwd", "bwd", "way", "cell", "flag", "length_m", "geom_ptr", "geom_lon", "geom_lat")


@dataclass
class Compiled:
    """A network frozen under one policy: CSR arrays plus the piece of every CSR position."""

    indptr: npt.NDArray[np.int64]
    heads: npt.NDArray[np.int32]
    tails: npt.NDArray[np.signedinteger[Any]]  # int32 below 2**31 nodes
    time_s: npt.NDArray[np.float64]
    label: npt.NDArray[np.int32]  # cell, or -1 when exempt/uncharged
    label_charge: npt.NDArray[np.int64]
    piece: npt.NDArray[np.signedinteger[Any]]  # int32 below 2**31 pieces
    forward: npt.NDArray[np.bool_]  # True when the position runs the piece from a to b
    policy: ExpensePolicy

    @property
    def n_nodes(self) -> int:
        return int(self.indptr.shape[0] - 1)


@dataclass
class Network:
    """Road pieces with their charging cells, plus the tables needed to explain them."""

    pieces: Pieces
    way_id: npt.NDArray[np.int64]
    way_class: npt.NDArray[np.int8]
    way_kph: npt.NDArray[np.float64]
    way_name: list[str]
    cell_codes: tuple[str, ...]
    cell_names: tuple[str, ...]
    places: list[Place]
    meta: dict[str, Any] = field(default_factory=dict)

    # -- sizes and derived arrays --------------------------------------------------------------
    @property
    def n_nodes(self) -> int:
        return int(self.pieces.node_id.shape[0])

    @property
    def n_edges(self) -> int:
        """Directed edges (a two-way piece counts twice)."""
        return int(self.pieces.fwd.sum() + self.pieces.bwd.sum())

    @cached_property
    def piece_time_s(self) -> npt.NDArray[np.float64]:
        kph = self.way_kph[self.pieces.way]
        return np.maximum(self.pieces.length_m / (kph / 3.6), 1e-3)

    @cached_property
    def piece_class(self) -> npt.NDArray[np.int8]:
        return self.way_class[self.pieces.way]

    @cached_property
    def node_xy(self) -> npt.NDArray[np.float64]:
        x, y = to_bng(self.pieces.node_lon, self.pieces.node_lat)
        return np.column_stack([x, y])

    @cached_property
    def node_x_y(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Contiguous x and y (metres), the form the kernels take without copying."""
        return np.ascontiguousarray(self.node_xy[:, 0]), np.ascontiguousarray(self.node_xy[:, 1])

    @cached_property
    def workspace(self) -> Any:
        """Scratch arrays reused by queries on this network (one thread at a time)."""
        from routeplan.kernels.dijkstra import Workspace

        return Workspace(self.n_nodes)

    @cached_property
    def kdtree(self) -> Any:
        from scipy.spatial import cKDTree

        return cKDTree(self.node_xy)

    def edge_time_s(self, p: int, forward: bool = True) -> float:
        """Time to drive piece ``p`` in a direction, including the delay at the node it ends at."""
        end = self.pieces.b[p] if forward else self.pieces.a[p]
        return float(self.piece_time_s[p] + self.pieces.node_delay[end])

    def piece_coords(self, p: int, forward: bool = True) -> npt.NDArray[np.float64]:
        """(lat, lon) rows of a piece in driving order."""
        s, e = self.pieces.geom_ptr[p], self.pieces.geom_ptr[p + 1]
        pts = np.column_stack([self.pieces.geom_lat[s:e], self.pieces.geom_lon[s:e]])
        return pts if forward else pts[::-1]

    @cached_property
    def _csr(self) -> dict[str, Any]:
        """Policy-independent CSR structure, built once per network (the costly sort)."""
        pc = self.pieces
        fw = np.flatnonzero(pc.fwd)
        bw = np.flatnonzero(pc.bwd)
        tails = np.concatenate([pc.a[fw], pc.b[bw]])
        heads = np.concatenate([pc.b[fw], pc.a[bw]])
        # The piece of every position in int32 (fewer than 2**31 pieces): half the memory of
        # int64, 45 MB of the GB preset's build peak (the tails, likewise, see _tails).
        piece = np.empty(fw.size + bw.size, dtype=_index_dtype(pc.a.shape[0]))
        piece[: fw.size] = fw
        piece[fw.size :] = bw
        forward = np.concatenate([np.ones(fw.size, bool), np.zeros(bw.size, bool)])
        indptr, heads_s, order = csr_from_edges(self.n_nodes, tails, heads)
        del heads, tails, fw, bw
        piece = piece[order]
        forward = forward[order]
        del order  # each input freed as its sorted copy is made: the build's peak memory
        # Driving a piece, then passing the node at its end (signals, stop lines).
        time_s = self.piece_time_s[piece] + self.pieces.node_delay[heads_s]
        # Top speed over all edges, a hair higher so straight-line/vmax never exceeds a time.
        vmax = float(np.max(self.pieces.length_m[piece] / time_s)) * (1 + 1e-9) if piece.size else 1.0
        return {
            "indptr": indptr, "heads": heads_s, "piece": piece,
            "forward": forward, "time_s": time_s, "inv_vmax": 1.0 / vmax,
        }

    @cached_property
    def _tails(self) -> npt.NDArray[np.signedinteger[Any]]:
        """The tail of every CSR position: sorted by tail, the CSR rows.  Made when a search
        first needs them, not by the build (45 MB of the GB preset's landmark step)."""
        return np.repeat(np.arange(self.n_nodes, dtype=_index_dtype(self.n_nodes)), np.diff(self._csr["indptr"]))

    def _labels(self, exempt: frozenset[str]) -> npt.NDArray[np.int32]:
        cache = self.__dict__.setdefault("_label_cache", {})
        if exempt not in cache:
            piece = self._csr["piece"]
            mask = ExpensePolicy(exempt_classes=exempt).exempt_mask()[self.piece_class[piece]]
            cache[exempt] = np.where(mask, -1, self.pieces.cell[piece]).astype(np.int32, copy=False)
        return cache[exempt]  # type: ignore[no-any-return]

    def allowed_mask(self, exempt: frozenset[str], label_charge: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Edges a coach may use under the hard-avoid list (cached per exempt set and avoid list)."""
        avoid = tuple(np.flatnonzero(label_charge == AVOID).tolist())
        cache = self.__dict__.setdefault("_allowed_cache", {})
        key = (exempt, avoid)
        if key not in cache:
            label = self._labels(exempt)
            cache.clear()  # one policy at a time is the common case; keep memory flat
            cache[key] = ~((label >= 0) & np.isin(label, avoid)) if avoid else np.ones(label.shape[0], dtype=np.bool_)
        return cache[key]  # type: ignore[no-any-return]

    def cell_graph(self, exempt: frozenset[str]) -> Any:
        """The cell graph under a set of exempt classes (cached: it is policy structure only)."""
        from routeplan.kernels.cells import build_cell_graph

        cache = self.__dict__.setdefault("_cell_graph_cache", {})
        if exempt not in cache:
            c = self._csr
            cache[exempt] = build_cell_graph(c["indptr"], c["heads"], self._labels(exempt), len(self.cell_codes), tails=self._tails)
        return cache[exempt]

    def overlay(self, exempt: frozenset[str]) -> Any:
        """The constituency-cell overlay under a set of exempt classes
        (:class:`routeplan.kernels.overlay_cells.CellOverlay`): border nodes and per-cell cliques.

        Policy structure only (hard-avoid and already-paid seats change whole cells' charges, not
        the cliques), so it is built once per exempt set ("customise") and cached on disk beside
        the network, keyed like the landmarks plus the exempt set.
        """
        from routeplan.kernels.overlay_cells import CellOverlay, build_overlay, edge_cells

        cache = self.__dict__.setdefault("_overlay_cache", {})
        if exempt in cache:
            return cache[exempt]
        net_key, root = self.meta.get("cache_key"), self.meta.get("cache_dir")
        key = rcache.make_key("overlay", str(net_key), _code_fingerprint(_OVERLAY_MODULES), ",".join(sorted(exempt)))
        c = self._csr
        ov = None
        if net_key and root:
            got = rcache.load("overlay", key, root)
            ov = CellOverlay.from_arrays(got) if got is not None else None
            if ov is not None and (ov.node_code.shape[0] != self.n_nodes or ov.rev_edge.shape[0] != c["heads"].shape[0]):
                ov = None
        if ov is None:
            label = self._labels(exempt)
            cell, cell_label = edge_cells(label, self.pieces.cell[c["piece"]], len(self.cell_codes))
            ov = build_overlay(c["indptr"], c["heads"], c["time_s"], cell, cell_label)
            del cell
            if net_key and root:
                rcache.write_npz(rcache.path_for("overlay", key, root), ov.arrays(), compress=False)
        cache[exempt] = ov
        return ov

    @cached_property
    def landmarks(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """ALT landmark times (from, to) for the A* bounds: policy-independent, computed once and
        cached on disk beside the network (keyed on the same fingerprint)."""
        from routeplan.kernels.landmarks import compute_landmarks, select_landmarks

        net_key, root = self.meta.get("cache_key"), self.meta.get("cache_dir")
        key = rcache.make_key("landmarks", str(net_key), _code_fingerprint(_LANDMARK_MODULES), str(N_LANDMARKS))
        if net_key and root:
            got = rcache.load("landmarks", key, root)
            if got is not None and all(got.get(k, np.empty(0)).shape[:1] == (self.n_nodes,) for k in ("from_l", "to_l")):
                return np.asarray(got["from_l"], dtype=np.float64), np.asarray(got["to_l"], dtype=np.float64)
        c = self._csr
        lm = select_landmarks(self.node_xy, N_LANDMARKS)
        lf, lt = compute_landmarks(c["indptr"], c["heads"], c["time_s"], lm)
        if net_key and root:
            # Uncompressed: float times barely compress, and zlib cost more than the search.
            rcache.write_npz(rcache.path_for("landmarks", key, root), {"from_l": lf, "to_l": lt, "landmarks": lm}, compress=False)
        return lf, lt

    def ch(self, *, progress: Callable[[int, int], None] | None = None) -> Any:
        """Contraction hierarchy of the travel times (:mod:`routeplan.kernels.ch`) for the fastest
        route at national scale.

        Policy-independent like the landmarks (a hard-avoid list removes roads, which the
        hierarchy cannot; callers then fall back to their own search), so it is built once per network
        ("customise") and cached on disk beside it, keyed on the network and the kernel's code.
        """
        cached = self.__dict__.get("_ch")
        if cached is not None:
            return cached
        from routeplan.kernels.ch import ContractionHierarchy, build_ch

        net_key, root = self.meta.get("cache_key"), self.meta.get("cache_dir")
        key = rcache.make_key("ch", str(net_key), _code_fingerprint(_CH_MODULES))
        c = self._csr
        ch = None
        if net_key and root:
            got = rcache.load("ch", key, root)
            ch = ContractionHierarchy.from_arrays(got) if got is not None else None
            if ch is not None and (ch.n_nodes != self.n_nodes or ch.n_edges != c["heads"].shape[0]):
                ch = None
        if ch is None:
            ch = build_ch(c["indptr"], c["heads"], c["time_s"], progress=progress)
            if net_key and root:
                rcache.write_npz(rcache.path_for("ch", key, root), ch.arrays(), compress=False)
        self.__dict__["_ch"] = ch
        return ch

    @cached_property
    def ch_workspace(self) -> Any:
        """Scratch arrays for :func:`routeplan.kernels.ch.ch_query` on this network (one thread)."""
        from routeplan.kernels.ch import CHWorkspace

        return CHWorkspace(self.n_nodes)

    @property
    def inv_vmax(self) -> float:
        """1 / the top speed (s/m): straight-line distance times this bounds any travel time."""
        return float(self._csr["inv_vmax"])

    def compile(self, policy: ExpensePolicy, already_charged: tuple[str, ...] = ()) -> Compiled:
        """Apply a policy: CSR arrays with labels and charges (fast; the structure is cached)."""
        c = self._csr
        return Compiled(
            indptr=c["indptr"],
            heads=c["heads"],
            tails=self._tails,
            time_s=c["time_s"],
            label=self._labels(frozenset(policy.exempt_classes)),
            label_charge=policy.label_charges(self.cell_codes, self.cell_names, already_charged),
            piece=c["piece"],
            forward=c["forward"],
            policy=policy,
        )

    # -- interchange -----------------------------------------------------------------------------
    def to_networkx(self) -> Any:
        """An osmnx-compatible ``MultiDiGraph`` (lon/lat, ``length``, ``travel_time``, geometry).

        Extra edge attributes: ``constituency`` (code or None), ``cell_flag``.  For
        interchange and plotting; the routing kernels never use it.
        """
        import networkx as nx
        from shapely.geometry import LineString

        pc = self.pieces
        G = nx.MultiDiGraph(crs="epsg:4326", name=self.meta.get("name", "routeplan"))
        for i in range(self.n_nodes):
            G.add_node(i, x=float(pc.node_lon[i]), y=float(pc.node_lat[i]), osmid_original=int(pc.node_id[i]))
        tt = self.piece_time_s
        for p in range(pc.a.shape[0]):
            coords = self.piece_coords(p)[:, ::-1]
            cell = int(pc.cell[p])
            attrs = {
                "osmid": int(self.way_id[pc.way[p]]),
                "highway": CLASS_NAMES[int(self.piece_class[p])],
                "name": self.way_name[int(pc.way[p])],
                "length": float(pc.length_m[p]),
                "travel_time": float(tt[p]),
                "speed_kph": float(self.way_kph[pc.way[p]]),
                "constituency": self.cell_codes[cell] if cell >= 0 else None,
                "cell_flag": int(pc.flag[p]),
                "oneway": bool(pc.fwd[p] != pc.bwd[p]),
            }
            if pc.fwd[p]:
                G.add_edge(int(pc.a[p]), int(pc.b[p]), geometry=LineString(coords), reversed=False, **(attrs | {"travel_time": self.edge_time_s(p, True)}))
            if pc.bwd[p]:
                G.add_edge(int(pc.b[p]), int(pc.a[p]), geometry=LineString(coords[::-1]), reversed=True, **(attrs | {"travel_time": self.edge_time_s(p, False)}))
        return G

    # -- persistence -------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the network atomically as ``.npz`` (arrays) with JSON metadata inside."""
        arrays = {f"p_{k}": getattr(self.pieces, k) for k in _ARRAYS}
        arrays.update(way_id=self.way_id, way_class=self.way_class, way_kph=self.way_kph)
        side = {
            "format": FORMAT_VERSION,
            "way_name": self.way_name,
            "cell_codes": list(self.cell_codes),
            "cell_names": list(self.cell_names),
            "places": [asdict(p) for p in self.places],
            "stats": self.pieces.stats,
            # Where this copy's cache lives and whether it was a hit describe this process, not
            # the network: a file read back finds its cache from its own place (load).
            "meta": {k: v for k, v in self.meta.items() if k not in _RUNTIME_META},
        }
        arrays["json"] = np.frombuffer(json.dumps(side).encode(), dtype=np.uint8)
        rcache.write_npz(path, arrays, compress=False)  # zlib cost more than the overlay; the file is a few MB

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Network:
        """Read a network written by :meth:`save`; a damaged, altered or old file raises DataError."""
        try:
            z = rcache.read_npz(path)
            side = json.loads(bytes(z["json"].astype(np.uint8)).decode())
            if side.get("format") != FORMAT_VERSION:
                msg = f"format {side.get('format')}, expected {FORMAT_VERSION}"
                raise ValueError(msg)
            pieces = Pieces(**{k: z[f"p_{k}"] for k in _ARRAYS}, stats=side["stats"])  # type: ignore[arg-type]
            meta = dict(side["meta"])
            key = meta.get("cache_key")
            if key and Path(path).name == rcache.path_for("network", str(key), Path(path).parent).name:
                # A network read from its own cache entry (a Dask worker's copy) finds its
                # landmarks, overlay and hierarchy there too, instead of recomputing them.
                meta["cache_dir"] = str(Path(path).resolve().parent)
            return cls(
                pieces=pieces,
                way_id=z["way_id"],  # type: ignore[arg-type]
                way_class=z["way_class"],  # type: ignore[arg-type]
                way_kph=z["way_kph"],  # type: ignore[arg-type]
                way_name=side["way_name"],
                cell_codes=tuple(side["cell_codes"]),
                cell_names=tuple(side["cell_names"]),
                places=[Place(**p) for p in side["places"]],
                meta=meta,
            )
        except (DataError, ValueError, KeyError, TypeError) as exc:
            msg = f"cannot read cached network {path}: {exc}"
            raise DataError(msg) from exc


_RUNTIME_META = ("cache_dir", "cache")


def _index_dtype(n: int) -> type[np.signedinteger[Any]]:
    """The narrowest of int32 and int64 that indexes ``n`` items."""
    return np.int32 if n < 2**31 else np.int64


_NOT_FOR_CSR = ("geom_ptr", "geom_lon", "geom_lat", "cell", "flag")  # pieces arrays the search graph is built without
_NOT_FOR_LANDMARKS = tuple(k for k in _ARRAYS if k != "node_id")  # pieces arrays the landmark search never reads
_BUILD_MODULES = ("osm.py", "graph.py", "overlay.py", "vehicle.py", "network.py", "boundaries.py", "kernels/components.py")
_LANDMARK_MODULES = ("kernels/landmarks.py", "kernels/dijkstra.py", "kernels/csr.py")
_OVERLAY_MODULES = ("kernels/overlay_cells.py", "kernels/csr.py", "policy.py")
_CH_MODULES = ("kernels/ch.py",)


def _code_fingerprint(modules: tuple[str, ...] = _BUILD_MODULES) -> str:
    """Hash of the source of a stage: a code change that alters its output misses the cache."""
    import hashlib

    here = Path(__file__).resolve().parent
    h = hashlib.sha1()
    for name in modules:
        h.update((here / name).read_bytes())
    return h.hexdigest()


def cache_key(osm_sha: str, bnd: Boundaries, profile: CoachProfile, params: OverlayParams) -> str:
    """Fingerprint of everything the built network depends on: inputs, parameters and code."""
    return rcache.make_key("network", f"v{FORMAT_VERSION}", __version__, _code_fingerprint(), osm_sha, bnd.sha256, bnd.name, profile.key(), params.key())


def build_network(
    osm_path: str | os.PathLike[str],
    boundaries: Boundaries,
    *,
    profile: CoachProfile | None = None,
    params: OverlayParams | None = None,
    cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
    max_outside_share: float = MAX_OUTSIDE_SHARE,
) -> Network:
    """Read an OSM file and overlay a boundary set, reusing a cached build when inputs match.

    The cache entry is keyed on the sha256 of the OSM file and the boundary file, the vehicle
    profile, the overlay tolerances and the format version; any change builds afresh.

    Raises
    ------
    DataError
        Unreadable OSM file, or a boundary set that leaves more than ``max_outside_share`` of
        the road length outside every constituency (checked on cache hits too).
    ConfigError
        ``max_outside_share`` not a number in [0, 1].
    """
    limit = check_share(max_outside_share)
    profile = profile or CoachProfile()
    params = params or OverlayParams()
    osm_path = Path(osm_path)
    if not osm_path.is_file():
        msg = f"OSM file not found: {osm_path}" if not osm_path.exists() else f"not a file: {osm_path}"
        raise DataError(msg)

    def stage(name: str) -> Callable[[int, int | None], None]:
        say(name, 0, None)
        return lambda done, total: say(name, done, total)

    say = progress or (lambda _stage, _done, _total: None)
    try:
        osm_sha = sha256_file(osm_path)
    except OSError as exc:
        msg = f"cannot read OSM file {osm_path}: {exc.strerror or exc}"
        raise DataError(msg) from exc
    key = cache_key(osm_sha, boundaries, profile, params)
    entry = rcache.path_for("network", key, cache_dir)
    hit = _cached(entry, key) if cache else None
    if hit is not None:
        # The same bytes may come under another name: say the name given now.
        hit.meta.update(cache="hit", cache_dir=str(entry.parent), osm_file=osm_path.name)
        check_coverage(hit, limit)
        return hit
    # In a list that assemble() takes it from: its reference is then the only one, and it drops
    # the extract's nodes and way refs once the roads are split (not needed by the overlay).
    roads = [read_osm(osm_path, profile, progress=stage(f"reading {osm_path.name} (ways)"))]
    release_freed_memory()  # libosmium's buffers and location index
    meta = {"cache_key": key, "osm_file": osm_path.name, "osm_sha256": osm_sha, "generated": roads[0].generated}
    net = assemble(roads.pop(), boundaries, profile=profile, params=params, meta=meta, progress=progress)
    check_coverage(net, limit)
    release_freed_memory()  # the overlay's geometry objects
    if cache:
        net.save(entry)
        net.meta["cache_dir"] = str(entry.parent)
        say("computing landmarks", 0, None)
        # "customise": the policy-independent A* bounds, cached beside the network.  Their search
        # reads only the CSR arrays and the node positions: every pieces array but node_id
        # (n_nodes) waits in the file just written meanwhile, as does the pieces' travel time
        # (the search's arrays plus them were the build's peak memory).
        pc = net.pieces
        try:  # the arrays come back from the file whatever happens
            for k in _NOT_FOR_CSR:
                empty_field(pc, k)
            _ = net._csr, net.node_xy
            net.__dict__.pop("piece_time_s", None)
            for k in _NOT_FOR_LANDMARKS:
                empty_field(pc, k)
            release_freed_memory()
            _ = net.landmarks
            # Not kept in memory either (8 x 2 x nodes floats, 410 MB on the GB preset): a query
            # reads them back from the cache when it needs them.
            del _, net.landmarks
            release_freed_memory()
        finally:
            with np.load(entry, allow_pickle=False) as z:
                for k in _NOT_FOR_LANDMARKS:
                    setattr(pc, k, z[f"p_{k}"])
        say("done", 1, 1)
    net.meta["cache"] = "miss" if cache else "off"
    return net


def _cached(entry: Path, key: str) -> Network | None:
    """The cached network at ``entry`` if it is there, intact and built for ``key``."""
    if not entry.exists():
        return None
    try:
        net = Network.load(entry)
    except DataError as exc:
        log.warning("ignoring damaged cache entry (it will be rebuilt): %s", exc)
        return None
    if net.meta.get("cache_key") != key:
        log.warning("ignoring cache entry %s built for another key (it will be rebuilt)", entry)
        return None
    log.info("using cached network %s", entry)
    return net


def check_share(max_outside_share: float) -> float:
    """Validate ``max_outside_share``: a finite number in [0, 1]."""
    ok = isinstance(max_outside_share, numbers.Real) and not isinstance(max_outside_share, bool)
    x = float(max_outside_share) if ok else math.nan
    if not (math.isfinite(x) and 0.0 <= x <= 1.0):
        msg = f"max_outside_share must be a number between 0 and 1, got {max_outside_share!r}"
        raise ConfigError(msg)
    return x


def road_coverage(pieces: Pieces) -> tuple[float, float]:
    """(road km, km outside every constituency: pieces flagged OUTSIDE or OUTSIDE_SNAPPED)."""
    total = float(pieces.length_m.sum()) / 1000.0
    outside = float(pieces.length_m[pieces.flag != INSIDE].sum()) / 1000.0
    return total, outside


def check_coverage(net: Network, max_outside_share: float = MAX_OUTSIDE_SHARE) -> None:
    """Refuse a boundary set that does not cover the road network (wrong set or extract).

    Raises
    ------
    DataError
        More than ``max_outside_share`` of the road km lies outside every constituency.
    """
    road_km, outside_km = road_coverage(net.pieces)
    net.meta.update(road_km=road_km, outside_km=outside_km)
    share = outside_km / road_km if road_km > 0 else 0.0
    if share > max_outside_share:
        msg = (
            f"boundary set {net.meta.get('boundaries', '?')} covers only {100 * (1 - share):.1f} % of the road km in "
            f"{net.meta.get('osm_file', '?')} ({100 * share:.1f} % lies outside every constituency; the limit is "
            f"{100 * max_outside_share:g} %): wrong boundary set or extract?"
        )
        raise DataError(msg)


def assemble(
    roads: OsmRoads,
    boundaries: Boundaries,
    *,
    profile: CoachProfile,
    params: OverlayParams,
    meta: dict[str, Any],
    progress: Callable[[str, int, int | None], None] | None = None,
) -> Network:
    """Coach roads -> segments -> largest SCC -> overlay -> :class:`Network` (no I/O).

    Drops its reference to ``roads`` once they are split: a caller that hands over its only
    one frees the extract's node arrays before the overlay.
    """
    say = progress or (lambda _stage, _done, _total: None)
    say("building the coach graph", 0, None)
    way_id, way_class, way_kph, way_name = roads.way_id, roads.way_class, roads.way_kph, roads.way_name
    places, skipped_ways = roads.places, roads.skipped_ways
    seg = split_ways(roads)
    del roads
    seg = largest_scc(seg, consume=True)
    release_freed_memory()  # the SCC search's graph
    name = f"overlaying {boundaries.name} (segments)"
    say(name, 0, None)
    made = boundaries.polygons.made()
    pieces = overlay(seg, boundaries, params, progress=lambda d, t: say(name, d, t), consume=True)
    del seg
    # The boundary set is left as it came: polygons repaired for the overlay only are dropped.
    boundaries.polygons.forget_since(made)
    say("done", 1, 1)
    meta = {
        **meta,
        "boundaries": boundaries.name,
        "boundary_sha256": boundaries.sha256,
        "boundary_attribution": boundaries.attribution,
        "profile": asdict(profile),
        "overlay": asdict(params),
        "skipped_ways": skipped_ways,
    }
    meta["road_km"], meta["outside_km"] = road_coverage(pieces)
    return Network(
        pieces=pieces,
        way_id=way_id,
        way_class=way_class,
        way_kph=way_kph,
        way_name=way_name,
        cell_codes=boundaries.codes,
        cell_names=boundaries.names,
        places=places,
        meta=meta,
    )


__all__ = ["AVOID", "MAX_OUTSIDE_SHARE", "Compiled", "Network", "build_network", "cache_key", "check_coverage", "check_share", "road_coverage"]
