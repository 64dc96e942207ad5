"""ALT landmarks: exact travel times to and from a few far-apart nodes give a consistent A*
potential far tighter than straight-line distance [1]_.

For a landmark ``L`` and target ``t``, the triangle inequality gives two lower bounds on the time
from ``v`` to ``t``: ``d(v, L) - d(t, L)`` and ``d(L, t) - d(L, v)``; the potential is the largest
over all landmarks (and the straight-line bound).  Landmarks depend only on travel times, never on
the expense policy, so they are computed once per network ("customise") and cached.  Removing
edges (hard-avoid cells) only lengthens true times, so the bounds stay valid under any policy.

References
----------
.. [1] A. V. Goldberg, C. Harrelson, "Computing the shortest path: A* search meets graph theory",
   SODA 2005, 156-165. https://dl.acm.org/doi/10.5555/1070432.1070455
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from routeplan.kernels.csr import reverse_csr

__all__ = ["PARALLEL_MIN_NODES", "compute_landmarks", "select_landmarks"]

PARALLEL_MIN_NODES = 200_000
"""From this size on, the landmark Dijkstras run in numba, in parallel; below it, in scipy's
compiled Dijkstra, so that building a small network never imports numba (about 0.9 s and 100 MB
of a cold build; the queries import it when they need it)."""


def select_landmarks(xy: npt.NDArray[np.float64], k: int) -> npt.NDArray[np.int64]:
    """``k`` nodes on the rim of the network: the farthest from the centre in each of ``k``
    angular sectors (the "planar" selection of [1]_; deterministic)."""
    c = xy.mean(axis=0)
    d = xy - c
    ang = np.arctan2(d[:, 1], d[:, 0])
    sector = np.minimum(((ang + np.pi) / (2 * np.pi) * k).astype(np.int64), k - 1)
    r2 = (d**2).sum(axis=1)
    out = []
    for s in range(k):
        idx = np.flatnonzero(sector == s)
        if idx.size:
            out.append(int(idx[np.argmax(r2[idx])]))
    return np.asarray(sorted(set(out)), dtype=np.int64)


def compute_landmarks(
    indptr: npt.NDArray[np.int64], heads: npt.NDArray[np.int32], time_s: npt.NDArray[np.float64], landmarks: npt.NDArray[np.int64],
    *, parallel: bool | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """``(from_l, to_l)``, each ``(nodes, landmarks)``: times from each landmark to every node, and
    from every node to it.

    Kept in float64, summed edge by edge from the landmark like the queries' own Dijkstra
    (``d[v] = d[u] + w``), so the bounds are as exact as the searches' sums (a float32 store would
    need a rounding slack on every bound).  Both engines give bit-identical arrays (tested):
    ``parallel`` picks numba's parallel kernel (default: from :data:`PARALLEL_MIN_NODES` nodes on)
    or scipy's Dijkstra.
    """
    n = indptr.shape[0] - 1
    rindptr, order = reverse_csr(indptr, heads)
    rheads = np.repeat(np.arange(n, dtype=np.int32), np.diff(indptr))[order]  # the tails, by head
    rtime = time_s[order]
    del order
    if parallel is None:
        parallel = n >= PARALLEL_MIN_NODES
    if parallel:
        import numba

        from routeplan.kernels._landmarks_numba import many_dijkstra

        # A few landmarks per call (both directions: a search for every thread), copied
        # into the (nodes, landmarks) outputs as they come: the kernel's (2k, nodes) rows for all
        # landmarks at once plus their transposed copies were the build's peak memory.
        k = landmarks.shape[0]
        from_l = np.empty((n, k), dtype=np.float64)
        to_l = np.empty((n, k), dtype=np.float64)
        step = max(1, numba.get_num_threads() // 2)
        for j0 in range(0, k, step):
            part = np.ascontiguousarray(landmarks[j0 : j0 + step])
            m = part.shape[0]
            both = many_dijkstra(indptr, heads, time_s, rindptr, rheads, rtime, part)
            from_l[:, j0 : j0 + m] = both[:m].T
            to_l[:, j0 : j0 + m] = both[m:].T
            del both
        return from_l, to_l
    fwd = _scipy_dijkstra(indptr, heads, time_s, landmarks)
    bwd = _scipy_dijkstra(rindptr, rheads, rtime, landmarks)
    return np.ascontiguousarray(fwd.T), np.ascontiguousarray(bwd.T)


def _scipy_dijkstra(indptr: npt.NDArray[np.int64], heads: npt.NDArray[np.int32], weight: npt.NDArray[np.float64],
                    sources: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Times from each source to every node (``inf`` where unreachable) by scipy's Dijkstra.

    Parallel edges are reduced to the fastest first: a sparse matrix holds one entry per
    (tail, head), and scipy may sum duplicates.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    n = indptr.shape[0] - 1
    tails = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    h = heads.astype(np.int64)
    key = tails * n + h
    order = np.lexsort((weight, key))
    first = np.ones(order.shape[0], dtype=bool)
    first[1:] = key[order][1:] != key[order][:-1]
    keep = order[first]
    mat = csr_matrix((weight[keep], (tails[keep], h[keep])), shape=(n, n))
    if sources.shape[0] == 0:
        return np.zeros((0, n))
    out = dijkstra(mat, directed=True, indices=sources)
    return np.asarray(out, dtype=np.float64).reshape(sources.shape[0], n)
