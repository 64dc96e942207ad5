"""Overlay road segments with constituency polygons: every piece of road gets one charging cell.

Boundary rules (chosen here, documented in the README, explained in the ledger):

1. **Crossings split roads.**  A segment that crosses a boundary is cut at the crossing and a
   new graph node is made there, so a route is charged only for the constituencies its pieces
   actually lie in.
2. **Tiny incursions are ignored.**  Pieces shorter than ``incursion_tol_m`` (default 25 m, about
   the ~20 m generalisation error of the ONS BGC boundaries) are merged into their longer
   neighbour: a roundabout clipping a corner, or a boundary drawn a few metres off the road,
   does not charge a constituency.
3. **Roads along a boundary** are charged to the side their centreline lies on, piece by piece,
   after rule 2.  The boundaries are generalised, so this is the best the data can say; the
   ledger lists such roads with their length so the planner can see them.
4. **Pieces outside every polygon** (estuary bridges, piers, coast roads clipped off by the
   coastline-clipped polygons) are charged to the nearest constituency within
   ``outside_snap_m`` (default 2 km) - the conservative choice, since a charge wrongly missed is
   worse than one wrongly counted - and flagged ``OUTSIDE_SNAPPED`` so the ledger says so.
   Farther than that (ferries, open sea), or always when ``outside_snap_m`` is 0, they are left
   uncharged and flagged ``OUTSIDE``.  :func:`routeplan.network.build_network` refuses a boundary
   set that leaves more than ``max_outside_share`` (5 %) of the road km outside every polygon.
5. **Overlapping polygons** (a few m² in the ONS files): the lowest constituency code wins.

The overlay is pure geometry: which roads are exempt (motorways) is policy, applied later, so a
policy change never reruns this step.
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import shapely

from routeplan.allocator import release_freed_memory
from routeplan.boundaries import Boundaries, from_bng, to_bng
from routeplan.errors import ConfigError
from routeplan.graph import Segments, concat_ranges, empty_field
from routeplan.kernels.components import weak_components

log = logging.getLogger(__name__)

INSIDE = 0
OUTSIDE_SNAPPED = 1
OUTSIDE = 2
MAX_INCURSION_TOL_M = 1000.0
MAX_OUTSIDE_SNAP_M = 50_000.0
LINE_BLOCK = 1 << 18  # segments made into GEOS lines at a time


@dataclass(frozen=True)
class OverlayParams:
    """Tolerances of the boundary rules; part of the cache key.

    ``incursion_tol_m`` in [0, 1000] (0: every incursion charges); ``outside_snap_m`` in
    [0, 50 000] (0: no snapping, road outside every polygon stays uncharged).  Anything else,
    NaN or infinite raises :class:`~routeplan.errors.ConfigError` naming the parameter.
    """

    incursion_tol_m: float = 25.0
    outside_snap_m: float = 2000.0

    def __post_init__(self) -> None:
        for name, top in (("incursion_tol_m", MAX_INCURSION_TOL_M), ("outside_snap_m", MAX_OUTSIDE_SNAP_M)):
            raw = getattr(self, name)
            value = float(raw) if isinstance(raw, numbers.Real) and not isinstance(raw, bool) else math.nan
            if not (math.isfinite(value) and 0.0 <= value <= top):
                msg = f"{name} must be a number of metres between 0 and {top:g}, got {raw!r}"
                raise ConfigError(msg)
            object.__setattr__(self, name, value)  # 0 and 0.0 are one cache key

    def key(self) -> str:
        return f"tol={self.incursion_tol_m!r};snap={self.outside_snap_m!r}"


@dataclass
class Pieces:
    """Segments cut at boundaries: undirected pieces with a cell, a flag and geometry."""

    node_id: npt.NDArray[np.int64]
    node_lon: npt.NDArray[np.float64]
    node_lat: npt.NDArray[np.float64]
    node_delay: npt.NDArray[np.float64]
    a: npt.NDArray[np.int64]
    b: npt.NDArray[np.int64]
    fwd: npt.NDArray[np.bool_]
    bwd: npt.NDArray[np.bool_]
    way: npt.NDArray[np.int64]
    cell: npt.NDArray[np.int32]
    flag: npt.NDArray[np.int8]
    length_m: npt.NDArray[np.float64]
    geom_ptr: npt.NDArray[np.int64]
    geom_lon: npt.NDArray[np.float64]
    geom_lat: npt.NDArray[np.float64]
    stats: dict[str, int]


def _intervals(cuts: list[float], length: float) -> list[list[float]]:
    pts = sorted({0.0, length, *[c for c in cuts if 0.0 < c < length]})
    out = [[pts[0], pts[0]]]
    for p in pts[1:]:
        if p - out[-1][0] < 0.01:  # collapse crossings closer than 1 cm
            continue
        out[-1][1] = p
        out.append([p, p])
    out.pop()
    if not out:
        return [[0.0, length]]
    out[-1][1] = length
    return out


def _merge_same(iv: list[list]) -> list[list]:  # type: ignore[type-arg]
    out: list[list] = []  # type: ignore[type-arg]
    for x in iv:
        if out and out[-1][2] == x[2] and out[-1][3] == x[3]:
            out[-1][1] = x[1]
        else:
            out.append(list(x))
    return out


def _absorb_small(iv: list[list], tol: float) -> list[list]:  # type: ignore[type-arg]
    """Rule 2: merge pieces shorter than ``tol`` into their longer neighbour."""
    iv = _merge_same(iv)
    while len(iv) > 1:
        lengths = [x[1] - x[0] for x in iv]
        i = int(np.argmin(lengths))
        if lengths[i] >= tol:
            break
        if i == 0:
            j = 1
        elif i == len(iv) - 1:
            j = i - 1
        else:
            j = i - 1 if lengths[i - 1] >= lengths[i + 1] else i + 1
        iv[i][2], iv[i][3] = iv[j][2], iv[j][3]
        iv = _merge_same(iv)
    return iv


def _boundary_chunks(polys: npt.NDArray[np.object_], size: int = 16) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.int64]]:
    """Every polygon ring as linestrings of at most ``size`` segments, with their polygon index."""
    parts = shapely.get_parts(polys)
    part_poly = np.repeat(np.arange(polys.shape[0]), shapely.get_num_geometries(polys))
    rings, part_of_ring = shapely.get_rings(parts, return_index=True)
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    ring_start = np.searchsorted(ring_of, np.arange(rings.shape[0]))
    n_vert = np.diff(np.append(ring_start, coords.shape[0]))  # closed rings: last == first
    n_chunks = np.maximum((n_vert - 2) // size + 1, 1)
    chunk_ring = np.repeat(np.arange(rings.shape[0]), n_chunks)
    k = np.arange(chunk_ring.shape[0]) - np.repeat(np.cumsum(n_chunks) - n_chunks, n_chunks)
    c_start = ring_start[chunk_ring] + k * size
    c_end = np.minimum(c_start + size, ring_start[chunk_ring] + n_vert[chunk_ring] - 1)  # inclusive
    idx = concat_ranges(c_start, c_end + 1)
    chunks = shapely.linestrings(coords[idx], indices=np.repeat(np.arange(chunk_ring.shape[0]), c_end - c_start + 1))
    return chunks, part_poly[part_of_ring[chunk_ring]]


def _to_global(cell: npt.NDArray[np.int64], keep_idx: npt.NDArray[np.int64]) -> npt.NDArray[np.int32]:
    """Map subset-local polygon indexes back to cells of the whole boundary set (-1 stays)."""
    return np.where(cell >= 0, keep_idx[np.maximum(cell, 0)], -1).astype(np.int32)


_G = TypeVar("_G", bound=np.generic)


def _take_then(src: npt.NDArray[_G], idx: npt.NDArray[np.int64] | npt.NDArray[np.bool_], tail: npt.NDArray[_G]) -> npt.NDArray[_G]:
    """``np.concatenate([src[idx], tail])`` without the temporary ``src[idx]`` (``idx``: indexes
    or a boolean mask)."""
    k = int(np.count_nonzero(idx)) if idx.dtype == np.bool_ else idx.shape[0]
    out = np.empty(k + tail.shape[0], dtype=np.result_type(src.dtype, tail.dtype))
    if idx.dtype == np.bool_:
        np.compress(idx.astype(np.bool_, copy=False), src, out=out[:k])
    else:
        np.take(src, idx, out=out[:k])
    out[k:] = tail
    return out


def _cut_coords(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], cum: npt.NDArray[np.float64], d0: float, d1: float) -> npt.NDArray[np.float64]:
    """Coordinates of the part of a polyline between distances ``d0`` and ``d1``."""
    inner = np.flatnonzero((cum > d0) & (cum < d1))
    xs = np.concatenate([[np.interp(d0, cum, x)], x[inner], [np.interp(d1, cum, x)]])
    ys = np.concatenate([[np.interp(d0, cum, y)], y[inner], [np.interp(d1, cum, y)]])
    return np.column_stack([xs, ys])


def _lines(seg: Segments, which: npt.NDArray[np.int64]) -> npt.NDArray[np.object_]:
    """Segments ``which`` as GEOS linestrings in British National Grid (projected afresh: the
    projection is point by point, so a subset's coordinates equal the whole set's)."""
    ptr = seg.geom_ptr
    starts, ends = ptr[:-1][which], ptr[1:][which]
    idx = concat_ranges(starts, ends)
    gx, gy = to_bng(seg.geom_lon[idx], seg.geom_lat[idx])
    lines: npt.NDArray[np.object_] = shapely.linestrings(np.column_stack([gx, gy]), indices=np.repeat(np.arange(which.shape[0]), ends - starts))
    return lines


def overlay(seg: Segments, bnd: Boundaries, params: OverlayParams = OverlayParams(), *, progress: Callable[[int, int | None], None] | None = None,
            consume: bool = False) -> Pieces:
    """Cut segments at constituency boundaries and give each piece a cell (see module rules).

    ``consume``: empty each of ``seg``'s arrays as soon as the pieces' copy of it is made, for a
    caller that needs ``seg`` no more (the segments and the pieces at once were a national
    build's peak memory).
    """
    gx, gy = to_bng(seg.geom_lon, seg.geom_lat)
    n_seg = seg.a.shape[0]
    ptr = seg.geom_ptr
    # Only the constituencies near the roads take part (a county extract meets a handful of the
    # 650): indexes below are local to this subset and mapped back at the end.
    pad = params.outside_snap_m
    near = shapely.box(gx.min() - pad, gy.min() - pad, gx.max() + pad, gy.max() + pad)
    keep_idx = bnd.cells_meeting_bng(near)  # repairs and reprojects only these polygons
    if keep_idx.size == 0:
        keep_idx = np.arange(len(bnd))
    polys = bnd.geom_bng_of(keep_idx)
    tree = shapely.STRtree(polys)
    # Boundaries cut into short chunks: a road is tested against the few chunks near it, never
    # against a whole constituency outline of thousands of vertices.
    chunks, chunk_poly = _boundary_chunks(polys)
    ctree = shapely.STRtree(chunks)
    # The segments as GEOS lines a block at a time: all of them at once (5.6 M on the GB preset)
    # would be the build's peak memory, and only their chunk hits and lengths are kept.
    li_parts: list[npt.NDArray[np.int64]] = []
    cj_parts: list[npt.NDArray[np.int64]] = []
    lengths = np.empty(n_seg, dtype=np.float64)
    for s0 in range(0, n_seg, LINE_BLOCK):
        s1 = min(s0 + LINE_BLOCK, n_seg)
        c0, c1 = ptr[s0], ptr[s1]
        block = shapely.linestrings(np.column_stack([gx[c0:c1], gy[c0:c1]]), indices=np.repeat(np.arange(s1 - s0), np.diff(ptr[s0 : s1 + 1])))
        bi, bj = ctree.query(block, predicate="intersects")
        li_parts.append(bi + s0)
        cj_parts.append(bj)
        lengths[s0:s1] = shapely.length(block)
        del block
    li = np.concatenate(li_parts) if li_parts else np.zeros(0, dtype=np.int64)
    cj = np.concatenate(cj_parts) if cj_parts else np.zeros(0, dtype=np.int64)
    del li_parts, cj_parts
    crossing = np.zeros(n_seg, dtype=bool)
    crossing[li] = True
    cidx = np.flatnonzero(crossing)
    # Only the crossing segments' projected points are needed from here on (a few per cent of
    # them): all of them were 182 MB of the GB preset's peak memory.
    cpt = concat_ranges(ptr[cidx], ptr[cidx + 1])
    cx, cy = gx[cpt], gy[cpt]
    cptr = np.zeros(cidx.shape[0] + 1, dtype=np.int64)
    np.cumsum(ptr[cidx + 1] - ptr[cidx], out=cptr[1:])
    del gx, gy, cpt

    # Segments touching no boundary: cells propagate along connected roads, so one
    # point-in-polygon test per connected group of such segments decides them all.
    sidx = np.flatnonzero(~crossing)
    n_nodes = seg.node_id.shape[0]
    comp = weak_components(n_nodes, seg.a[sidx], seg.b[sidx])
    seg_comp = comp[seg.a[sidx]]
    uniq, first_seg = np.unique(seg_comp, return_index=True)
    rep = sidx[first_seg]
    rep_pts = shapely.points(*to_bng(seg.geom_lon[ptr[rep]], seg.geom_lat[ptr[rep]]))
    pi, pj = tree.query(rep_pts, predicate="intersects")
    comp_cell = np.full(uniq.shape[0], -1, dtype=np.int64)
    order = np.lexsort((-pj, pi))  # for each point, the lowest polygon index last
    comp_cell[pi[order]] = pj[order]
    s_cell = comp_cell[np.searchsorted(uniq, seg_comp)]
    del comp, seg_comp
    s_flag = np.where(s_cell >= 0, INSIDE, OUTSIDE).astype(np.int8)
    out = np.flatnonzero(s_cell < 0)
    if out.size and params.outside_snap_m > 0:  # rule 4 for whole segments outside every polygon
        mids = shapely.line_interpolate_point(_lines(seg, sidx[out]), 0.5, normalized=True)
        qi, qj = tree.query_nearest(mids, max_distance=params.outside_snap_m, all_matches=False)
        s_cell[out[qi]] = qj
        s_flag[out[qi]] = OUTSIDE_SNAPPED
    # Shape points of the segments kept whole, as a mask (an index would be 8 bytes a point).
    s_geom = np.repeat(~crossing, np.diff(ptr))
    del crossing
    # Chunks met by each crossing segment (query output is sorted by segment), for the crossing
    # segments only: for all of them, with the arange it searched for, was 90 MB of the GB
    # preset's peak memory.
    c_lo = np.searchsorted(li, cidx)
    c_hi = np.searchsorted(li, cidx + 1)
    # Polygons holding each crossing segment's first vertex: candidates even if their outline is
    # not met (an overlapping polygon, say).
    fi, fp = tree.query(shapely.points(cx[cptr[:-1]], cy[cptr[:-1]]), predicate="intersects")
    first_in_ptr = np.searchsorted(fi, np.arange(cidx.shape[0] + 1))

    node_count = seg.node_id.shape[0]
    P_a: list[int] = []
    P_b: list[int] = []
    P_seg: list[int] = []
    P_cell: list[int] = []
    P_flag: list[int] = []
    P_len: list[float] = []
    P_geom: list[npt.NDArray[np.float64]] = []
    new_node_xy: list[tuple[float, float]] = []
    x = y = np.zeros(0, dtype=np.float64)
    my_chunks = np.zeros(0, dtype=np.int64)
    for i, s in enumerate(cidx.tolist()):
        if progress and i % 5000 == 0:
            progress(i, int(cidx.shape[0]))
        x = cx[cptr[i] : cptr[i + 1]]
        y = cy[cptr[i] : cptr[i + 1]]
        my_chunks = cj[c_lo[i] : c_hi[i]]
        cands = np.union1d(chunk_poly[my_chunks], fp[first_in_ptr[i] : first_in_ptr[i + 1]])
        cum = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
        total = float(cum[-1])
        subs = shapely.linestrings(np.column_stack([np.repeat(x, 2)[1:-1], np.repeat(y, 2)[1:-1]]), indices=np.repeat(np.arange(x.shape[0] - 1), 2))
        cuts: list[float] = []
        for c in my_chunks:
            inter = shapely.intersection(subs, chunks[c])
            for k in np.flatnonzero(~shapely.is_empty(inter)):
                pts = shapely.get_coordinates(inter[k])
                cuts.extend((cum[k] + np.hypot(pts[:, 0] - x[k], pts[:, 1] - y[k])).tolist())
        iv = _intervals(cuts, total)
        mids = np.array([(p + q) / 2 for p, q in iv])
        mx, my = np.interp(mids, cum, x), np.interp(mids, cum, y)
        cell_of = np.full(len(iv), -1, dtype=np.int64)
        for c in sorted(cands.tolist(), reverse=True):  # lowest code wins overlaps
            cell_of[shapely.intersects_xy(polys[c], mx, my)] = c
        ivs = [[p, q, int(cell_of[i]), INSIDE if cell_of[i] >= 0 else OUTSIDE] for i, (p, q) in enumerate(iv)]
        ivs = _absorb_small(ivs, params.incursion_tol_m)
        for item in ivs:
            if item[2] < 0 and params.outside_snap_m > 0:
                mid = (item[0] + item[1]) / 2
                pt = shapely.points([np.interp(mid, cum, x)], [np.interp(mid, cum, y)])
                _, qj = tree.query_nearest(pt, max_distance=params.outside_snap_m, all_matches=False)
                if qj.size:
                    item[2], item[3] = int(qj[0]), OUTSIDE_SNAPPED
        ivs = _merge_same(ivs)
        prev = int(seg.a[s])
        for i, (d0, d1, cell, flag) in enumerate(ivs):
            if i == len(ivs) - 1:
                nxt = int(seg.b[s])
            else:
                nxt = node_count + len(new_node_xy)
                new_node_xy.append((float(np.interp(d1, cum, x)), float(np.interp(d1, cum, y))))
            P_a.append(prev)
            P_b.append(nxt)
            P_seg.append(s)
            P_cell.append(int(cell))
            P_flag.append(int(flag))
            P_len.append(d1 - d0)
            P_geom.append(_cut_coords(x, y, cum, d0, d1))
            prev = nxt
    # The projected shape points and the boundary geometry are done with: free them before the
    # pieces' arrays are put together.  The loop's last x, y and my_chunks are views that would
    # keep all of cx, cy and cj alive.
    del x, y, my_chunks, cx, cy, cptr, c_lo, c_hi, li, cj, chunks, chunk_poly, ctree, tree, polys
    release_freed_memory()
    new_lon = new_lat = np.zeros(0, dtype=np.float64)
    if new_node_xy:
        nxy = np.asarray(new_node_xy)
        new_lon, new_lat = from_bng(nxy[:, 0], nxy[:, 1])
    if P_geom:
        allg = np.concatenate(P_geom)
        c_lon, c_lat = from_bng(allg[:, 0], allg[:, 1])
        c_glen = np.array([g.shape[0] for g in P_geom], dtype=np.int64)
    else:
        c_lon = c_lat = np.zeros(0, dtype=np.float64)
        c_glen = np.zeros(0, dtype=np.int64)
    P_seg_arr = np.concatenate([sidx, np.asarray(P_seg, dtype=np.int64)])
    flag_all = np.concatenate([s_flag, np.asarray(P_flag, dtype=np.int8)])
    glens = np.concatenate([np.diff(ptr)[sidx], c_glen])
    stats = dict(seg.stats)
    stats.update(
        pieces=int(P_seg_arr.shape[0]),
        boundary_crossing_segments=int(cidx.shape[0]),
        crossing_nodes=len(new_node_xy),
        outside_snapped_pieces=int(np.sum(flag_all == OUTSIDE_SNAPPED)),
        outside_pieces=int(np.sum(flag_all == OUTSIDE)),
    )
    log.info("overlay: %d segments -> %d pieces, %d crossing nodes", n_seg, P_seg_arr.shape[0], len(new_node_xy))
    del ptr
    n_new = len(new_node_xy)

    def done(name: str) -> None:
        if consume:
            empty_field(seg, name)

    geom_lon = _take_then(seg.geom_lon, s_geom, c_lon)
    done("geom_lon")
    geom_lat = _take_then(seg.geom_lat, s_geom, c_lat)
    done("geom_lat")
    del s_geom, c_lon, c_lat
    geom_ptr = np.concatenate([[0], np.cumsum(glens)]).astype(np.int64)
    done("geom_ptr")
    node_id = np.concatenate([seg.node_id, -np.arange(1, n_new + 1, dtype=np.int64)])
    done("node_id")
    node_lon = np.concatenate([seg.node_lon, np.asarray(new_lon, dtype=np.float64)])
    done("node_lon")
    node_lat = np.concatenate([seg.node_lat, np.asarray(new_lat, dtype=np.float64)])
    done("node_lat")
    node_delay = np.concatenate([seg.node_delay, np.zeros(n_new, dtype=np.float64)])
    done("node_delay")
    a = _take_then(seg.a, sidx, np.asarray(P_a, dtype=np.int64))
    done("a")
    b = _take_then(seg.b, sidx, np.asarray(P_b, dtype=np.int64))
    done("b")
    fwd, bwd, way = seg.fwd[P_seg_arr], seg.bwd[P_seg_arr], seg.way[P_seg_arr]
    for name in ("fwd", "bwd", "way"):
        done(name)
    return Pieces(
        node_id=node_id, node_lon=node_lon, node_lat=node_lat, node_delay=node_delay, a=a, b=b, fwd=fwd, bwd=bwd, way=way,
        cell=_to_global(np.concatenate([s_cell, np.asarray(P_cell, dtype=np.int64)]), keep_idx),
        flag=flag_all,
        length_m=_take_then(lengths, sidx, np.asarray(P_len, dtype=np.float64)),
        geom_ptr=geom_ptr, geom_lon=geom_lon, geom_lat=geom_lat, stats=stats,
    )
