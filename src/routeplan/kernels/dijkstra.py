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

import numba
import numpy as np
import numpy.typing as npt

from routeplan.kernels.landmarks import NO_LANDMARKS, potential


@numba.njit(cache=True)
def _astar_nb(indptr, heads, weight, allowed, source, target, x, y, inv_vmax, lm_from, lm_to):  # type: ignore[no-untyped-def]
    """Dijkstra (no target, or no bounds) or A* with straight-line and landmark potentials [2]_."""
    n = indptr.shape[0] - 1
    dist = np.full(n, np.inf)
    pred = np.full(n, -1, dtype=np.int64)  # CSR position of the edge used to reach the node
    done = np.zeros(n, dtype=np.bool_)
    dist[source] = 0.0
    use_h = target >= 0 and (inv_vmax > 0.0 or lm_from.shape[0] > 0)
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
            if not allowed[k]:
                continue
            v = heads[k]
            nd = d + weight[k]
            if nd < dist[v]:
                dist[v] = nd
                pred[v] = k
                h = potential(v, target, x, y, inv_vmax, lm_from, lm_to) if use_h else 0.0
                heapq.heappush(heap, (nd + h, np.int64(v)))
    return dist, pred


_NO_XY = np.zeros(1, dtype=np.float64)


def _dijkstra_nb(indptr, heads, weight, allowed, source, target):  # type: ignore[no-untyped-def]
    return _astar_nb(indptr, heads, weight, allowed, source, target, _NO_XY, _NO_XY, 0.0, NO_LANDMARKS, NO_LANDMARKS)


def edge_tails(indptr: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Tail node of every CSR position."""
    return np.repeat(np.arange(indptr.shape[0] - 1, dtype=np.int64), np.diff(indptr))


def path_edges(pred: npt.NDArray[np.int64], tails: npt.NDArray[np.int64], source: int, target: int) -> list[int]:
    """Walk predecessor edges back from ``target``; empty list when source == target."""
    out: list[int] = []
    v = target
    while v != source:
        k = int(pred[v])
        if k < 0:
            msg = "target not reached"
            raise ValueError(msg)
        out.append(k)
        v = int(tails[k])
    out.reverse()
    return out


def shortest_path(
    indptr: npt.NDArray[np.int64],
    heads: npt.NDArray[np.int32],
    weight: npt.NDArray[np.float64],
    source: int,
    target: int,
    allowed: npt.NDArray[np.bool_] | None = None,
    *,
    xy: npt.NDArray[np.float64] | None = None,
    inv_vmax: float = 0.0,
    landmarks: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None,
) -> tuple[float, list[int]] | None:
    """Return ``(distance, edge positions)`` of a shortest path, or ``None`` if unreachable.

    ``allowed`` masks edges out (hard-avoid cells, restricted searches).  With node coordinates
    ``xy`` (metres) and ``inv_vmax`` (1 / the top speed, so that ``dist/vmax`` never exceeds a
    travel time) the search is A*, settling far fewer nodes; ``landmarks`` (``from_l``, ``to_l``
    of :mod:`routeplan.kernels.landmarks`) tighten the bound further.  Ties are broken by the heap
    order, which depends only on the arrays: results are deterministic.
    """
    if allowed is None:
        allowed = np.ones(heads.shape[0], dtype=np.bool_)
    x, y = (_NO_XY, _NO_XY) if xy is None else (np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1]))
    lf, lt = landmarks if landmarks is not None else (NO_LANDMARKS, NO_LANDMARKS)
    dist, pred = _astar_nb(indptr, heads, weight, allowed, int(source), int(target), x, y, float(inv_vmax if xy is not None else 0.0), lf, lt)
    if not np.isfinite(dist[target]):
        return None
    return float(dist[target]), path_edges(pred, edge_tails(indptr), int(source), int(target))


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
    tails = edge_tails(indptr)
    order = np.argsort(heads, kind="stable")
    n = indptr.shape[0] - 1
    rindptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(heads, minlength=n), out=rindptr[1:])
    rheads = tails[order].astype(np.int32)
    rallowed = np.ones(heads.shape[0], dtype=np.bool_) if allowed is None else allowed[order]
    dist, _ = _dijkstra_nb(rindptr, rheads, weight[order], rallowed, int(target), -1)
    return dist
