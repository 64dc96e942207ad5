"""Fastest path by Dijkstra's algorithm on CSR arrays.

References
----------
.. [1] E. W. Dijkstra, "A note on two problems in connexion with graphs",
   Numerische Mathematik 1 (1959) 269-271. https://doi.org/10.1007/BF01386390
.. [2] P. E. Hart, N. J. Nilsson, B. Raphael, "A formal basis for the heuristic determination of
   minimum cost paths", IEEE Trans. SSC 4 (1968) 100-107. https://doi.org/10.1109/TSSC.1968.300136
"""

from __future__ import annotations

import heapq
from typing import TypeAlias

import numba
import numpy as np
import numpy.typing as npt

from routeplan.kernels.csr import reverse_csr
from routeplan.kernels.potential import NO_LANDMARKS, potential


class Workspace:
    """Per-network scratch arrays for repeated queries, so a query costs what it touches, not
    O(nodes) of allocation and initialisation (at 3 million nodes that was most of a query).

    Every kernel that uses it leaves it as it found it.  Not shared between threads.
    """

    def __init__(self, n_nodes: int) -> None:
        self.dist = np.full(n_nodes, np.inf)
        self.pred_edge = np.full(n_nodes, -1, dtype=np.int64)
        self.pred_node = np.full(n_nodes, -1, dtype=np.int64)
        self.done = np.zeros(n_nodes, dtype=np.bool_)
        self.head = np.full(n_nodes, -1, dtype=np.int64)  # used by the label search


@numba.njit(cache=True)
def _astar_ws(indptr, heads, weight, allowed, use_allowed, source, target, x, y, inv_vmax, lm_from, lm_to,  # type: ignore[no-untyped-def]
              dist, pred_edge, pred_node, done):
    """A* [2]_ (Dijkstra when there are no bounds) into a workspace; returns the path's edges and
    time, and resets every entry it touched."""
    use_h = target >= 0 and (inv_vmax > 0.0 or lm_from.shape[1] > 0)
    touched = [np.int64(source)]
    dist[source] = 0.0
    heap = [(0.0, np.int64(source))]
    while heap:
        _f, u = heapq.heappop(heap)
        if done[u]:
            continue
        done[u] = True
        if u == target:
            break
        d = dist[u]
        for k in range(indptr[u], indptr[u + 1]):
            if use_allowed and not allowed[k]:
                continue
            v = heads[k]
            nd = d + weight[k]
            if nd < dist[v]:
                if dist[v] == np.inf:
                    touched.append(np.int64(v))
                dist[v] = nd
                pred_edge[v] = k
                pred_node[v] = u
                h = potential(v, target, x, y, inv_vmax, lm_from, lm_to) if use_h else 0.0
                heapq.heappush(heap, (nd + h, np.int64(v)))
    total = dist[target]
    path = []
    if total < np.inf:
        v = target
        while v != source:
            path.append(pred_edge[v])
            v = pred_node[v]
        path.reverse()
    for v in touched:
        dist[v] = np.inf
        pred_edge[v] = -1
        pred_node[v] = -1
        done[v] = False
    return total, path


@numba.njit(cache=True)
def dijkstra_all(indptr, heads, weight, allowed, source):  # type: ignore[no-untyped-def]
    """Plain Dijkstra to every node (full distance array)."""
    n = indptr.shape[0] - 1
    dist = np.full(n, np.inf)
    done = np.zeros(n, dtype=np.bool_)
    dist[source] = 0.0
    heap = [(0.0, np.int64(source))]
    while heap:
        d, u = heapq.heappop(heap)
        if done[u]:
            continue
        done[u] = True
        for k in range(indptr[u], indptr[u + 1]):
            if not allowed[k]:
                continue
            v = heads[k]
            nd = d + weight[k]
            if nd < dist[v]:
                dist[v] = nd
                heapq.heappush(heap, (nd, np.int64(v)))
    return dist


# Node coordinates: an ``(n, 2)`` array or a contiguous ``(x, y)`` pair.
XY: TypeAlias = npt.NDArray[np.float64] | tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]

_NO_XY = np.zeros(1, dtype=np.float64)
_NO_MASK = np.ones(1, dtype=np.bool_)


def edge_tails(indptr: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Tail node of every CSR position."""
    return np.repeat(np.arange(indptr.shape[0] - 1, dtype=np.int64), np.diff(indptr))


def split_xy(xy: XY) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Contiguous x and y from an ``(n, 2)`` array or an ``(x, y)`` pair (pass the pair to avoid a
    copy per query)."""
    if isinstance(xy, tuple):
        return xy[0], xy[1]
    return np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])


def shortest_path(
    indptr: npt.NDArray[np.int64],
    heads: npt.NDArray[np.int32],
    weight: npt.NDArray[np.float64],
    source: int,
    target: int,
    allowed: npt.NDArray[np.bool_] | None = None,
    *,
    xy: XY | None = None,
    inv_vmax: float = 0.0,
    landmarks: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None,
    workspace: Workspace | None = None,
) -> tuple[float, list[int]] | None:
    """Return ``(distance, edge positions)`` of a shortest path, or ``None`` if unreachable.

    ``allowed`` masks edges out (hard-avoid cells, restricted searches).  With node coordinates
    ``xy`` (metres; an ``(n, 2)`` array or an ``(x, y)`` pair) and ``inv_vmax`` (1 / the top speed,
    so that ``dist/vmax`` never exceeds a travel time) the search is A*, settling far fewer nodes;
    ``landmarks`` (``from_l``, ``to_l`` of :mod:`routeplan.kernels.landmarks`) tighten the bound
    further.  A :class:`Workspace` makes repeated queries on one graph cheap.  Ties are broken by
    the heap order, which depends only on the arrays: results are deterministic.
    """
    n = indptr.shape[0] - 1
    ws = workspace if workspace is not None else Workspace(n)
    x, y = (_NO_XY, _NO_XY) if xy is None else split_xy(xy)
    lf, lt = landmarks if landmarks is not None else (NO_LANDMARKS, NO_LANDMARKS)
    total, path = _astar_ws(
        indptr, heads, weight, _NO_MASK if allowed is None else allowed, allowed is not None, int(source), int(target),
        x, y, float(inv_vmax if xy is not None else 0.0), lf, lt, ws.dist, ws.pred_edge, ws.pred_node, ws.done,
    )
    if not np.isfinite(total):
        return None
    return float(total), [int(k) for k in path]


def distances_to(
    indptr: npt.NDArray[np.int64],
    heads: npt.NDArray[np.int32],
    weight: npt.NDArray[np.float64],
    target: int,
    allowed: npt.NDArray[np.bool_] | None = None,
) -> npt.NDArray[np.float64]:
    """Distance from every node *to* ``target`` (Dijkstra on the reversed graph).

    Used as an admissible, consistent A* potential by the label-setting search.
    """
    rindptr, order = reverse_csr(indptr, heads)
    rheads = edge_tails(indptr)[order].astype(np.int32)
    rallowed = np.ones(heads.shape[0], dtype=np.bool_) if allowed is None else allowed[order]
    dist: npt.NDArray[np.float64] = dijkstra_all(rindptr, rheads, weight[order], rallowed, int(target))
    return dist
