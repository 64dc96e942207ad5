"""Build the coach road graph: split OSM ways at junctions, keep the largest strongly connected part.

The result is a set of *segments*: undirected pieces of road between junctions, each with its
geometry, class, speed and the directions a coach may drive it.  Segments (not directed edges)
are what the overlay splits at constituency boundaries, so both directions of a two-way road
always get the same charging cells.  Directed edges are derived from segments last
(:mod:`routeplan.network`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from routeplan.errors import DataError
from routeplan.kernels.components import largest_strong_component
from routeplan.osm import OsmRoads

log = logging.getLogger(__name__)


@dataclass
class Segments:
    """Undirected road segments between junction nodes.

    Nodes are indexes into ``node_*``; a segment's geometry is
    ``geom_lon/lat[geom_ptr[i]:geom_ptr[i+1]]`` from ``a`` to ``b``.
    """

    node_id: npt.NDArray[np.int64]  # OSM node id (negative for nodes made by the overlay)
    node_lon: npt.NDArray[np.float64]
    node_lat: npt.NDArray[np.float64]
    node_delay: npt.NDArray[np.float64]  # seconds to pass each node
    a: npt.NDArray[np.int64]
    b: npt.NDArray[np.int64]
    fwd: npt.NDArray[np.bool_]
    bwd: npt.NDArray[np.bool_]
    way: npt.NDArray[np.int64]  # index into the OsmRoads way arrays
    geom_ptr: npt.NDArray[np.int64]
    geom_lon: npt.NDArray[np.float64]
    geom_lat: npt.NDArray[np.float64]
    stats: dict[str, int]


def empty_field(obj: Any, name: str) -> None:
    """Replace the array attribute ``name`` of ``obj`` by an empty array of its dtype: frees it
    (when nothing else holds it) while ``obj`` keeps its shape of fields.  How the build's steps
    drop an input array once its copy is made, or set one aside while another step runs."""
    setattr(obj, name, np.zeros(0, dtype=getattr(obj, name).dtype))


def concat_ranges(starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Concatenate ``arange(starts[i], ends[i])`` for all i, vectorised."""
    lens = ends - starts
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offs: npt.NDArray[np.int64] = np.repeat(starts - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
    return np.arange(total, dtype=np.int64) + offs


def split_ways(roads: OsmRoads) -> Segments:
    """Cut every way at nodes shared with another way (or repeated in the same way) and at nodes
    with a delay.

    Vectorised over all ways at once: national extracts have millions of ways.
    """
    wn = roads.way_nodes
    ptr = roads.way_ptr
    n_ways = roads.way_id.shape[0]
    use = np.bincount(wn, minlength=roads.node_id.shape[0])
    way_of_pos = np.repeat(np.arange(n_ways, dtype=np.int64), np.diff(ptr))
    # Nodes with a delay (signals, stop lines) become graph nodes so the delay has a place.
    is_cut = (use[wn] > 1) | (roads.node_delay[wn] > 0)
    is_cut[ptr[:-1]] = True
    is_cut[ptr[1:] - 1] = True
    cuts = np.flatnonzero(is_cut)
    # A segment joins consecutive cut positions of the same way.
    same = way_of_pos[cuts[:-1]] == way_of_pos[cuts[1:]]
    s_start = cuts[:-1][same]
    s_end = cuts[1:][same]
    a = wn[s_start]
    b = wn[s_end]
    degenerate = (a == b) & (s_end - s_start <= 1)
    s_start, s_end, a, b = s_start[~degenerate], s_end[~degenerate], a[~degenerate], b[~degenerate]
    way = way_of_pos[s_start]
    gidx = concat_ranges(s_start, s_end + 1)
    gptr = np.concatenate([[0], np.cumsum(s_end - s_start + 1)]).astype(np.int64)
    flat = wn[gidx]
    return Segments(
        node_id=roads.node_id,
        node_lon=roads.node_lon,
        node_lat=roads.node_lat,
        node_delay=roads.node_delay,
        a=a.astype(np.int64),
        b=b.astype(np.int64),
        fwd=roads.way_fwd[way],
        bwd=roads.way_bwd[way],
        way=way,
        geom_ptr=gptr,
        geom_lon=roads.node_lon[flat],
        geom_lat=roads.node_lat[flat],
        stats={"ways": int(n_ways), "segments": int(a.shape[0])},
    )


def _largest_scc_tarjan(n: int, tails: npt.NDArray[np.int64], heads: npt.NDArray[np.int64], used: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """The largest SCC by scipy's full decomposition (ties: the lowest component number)."""
    from scipy.sparse import coo_matrix  # lazy: scipy is 0.4 s to import
    from scipy.sparse.csgraph import connected_components

    mat = coo_matrix((np.ones(tails.shape[0]), (tails, heads)), shape=(n, n)).tocsr()
    _, comp = connected_components(mat, directed=True, connection="strong")
    counts = np.bincount(comp[used])
    if counts.size == 0 or counts.max() < 2:
        msg = "the coach road graph has no strongly connected part with more than one node"
        raise DataError(msg)
    return np.asarray(comp == int(np.argmax(counts)))


def largest_scc(seg: Segments, *, consume: bool = False) -> Segments:
    """Keep the segments inside the largest strongly connected component, renumbering nodes.

    A coach must be able to get back out of anywhere it can drive into; islands of one-way
    streets and roads cut off by the extract's edge would make routes fail mysteriously.

    ``consume``: empty each of ``seg``'s arrays as soon as its kept copy is made, for a caller
    that needs ``seg`` no more (the segments before and after at once were a national build's
    peak memory).
    """
    n = seg.node_id.shape[0]
    tails = np.concatenate([seg.a[seg.fwd], seg.b[seg.bwd]])
    heads = np.concatenate([seg.b[seg.fwd], seg.a[seg.bwd]])
    used = np.zeros(n, dtype=bool)
    used[seg.a] = True
    used[seg.b] = True
    keep = largest_strong_component(n, tails, heads, used)
    if keep is None or int(keep.sum()) < 2:  # no component with most nodes: Tarjan decides
        keep = _largest_scc_tarjan(n, tails, heads, used)
    del tails, heads  # 2 x 8 bytes a directed edge, not needed while the kept part is copied
    keep_node = keep
    keep = keep_node[seg.a] & keep_node[seg.b]
    new_index = np.cumsum(keep_node) - 1
    ptr = seg.geom_ptr
    lens = np.diff(ptr)[keep]
    # The kept shape points as a mask (an index would be 8 bytes a point).
    keep_point = np.repeat(keep, np.diff(ptr))
    del ptr
    stats = dict(seg.stats)
    stats.update(
        nodes_before_scc=int(used.sum()),
        nodes=int(keep_node.sum()),
        segments_before_scc=int(seg.a.shape[0]),
        segments=int(keep.sum()),
    )
    dropped = stats["nodes_before_scc"] - stats["nodes"]
    log.info(
        "largest strongly connected component: kept %d of %d junction nodes (dropped %d, %.1f%%)",
        stats["nodes"], stats["nodes_before_scc"], dropped, 100.0 * dropped / max(1, stats["nodes_before_scc"]),
    )

    def take(name: str, which: npt.NDArray[np.bool_]) -> npt.NDArray[Any]:
        kept = getattr(seg, name)[which]
        if consume:
            empty_field(seg, name)
        return kept  # type: ignore[no-any-return]

    node_id, node_lon, node_lat, node_delay = (take(k, keep_node) for k in ("node_id", "node_lon", "node_lat", "node_delay"))
    a, b = new_index[take("a", keep)], new_index[take("b", keep)]
    fwd, bwd, way = (take(k, keep) for k in ("fwd", "bwd", "way"))
    geom_ptr = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    if consume:
        empty_field(seg, "geom_ptr")
    geom_lon = take("geom_lon", keep_point)
    geom_lat = take("geom_lat", keep_point)
    return Segments(
        node_id=node_id,
        node_lon=node_lon,
        node_lat=node_lat,
        node_delay=node_delay,
        a=a,
        b=b,
        fwd=fwd,
        bwd=bwd,
        way=way,
        geom_ptr=geom_ptr,
        geom_lon=geom_lon,
        geom_lat=geom_lat,
        stats=stats,
    )
