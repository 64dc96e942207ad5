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

import numba
import numpy as np
import numpy.typing as npt

from routeplan.kernels.dijkstra import dijkstra_all
from routeplan.kernels.potential import NO_LANDMARKS, potential

__all__ = ["NO_LANDMARKS", "compute_landmarks", "potential", "select_landmarks"]



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


@numba.njit(cache=True, parallel=True)
def _many(indptr, heads, weight, rindptr, rheads, rweight, landmarks):  # type: ignore[no-untyped-def]
    k = landmarks.shape[0]
    n = indptr.shape[0] - 1
    every = np.ones(heads.shape[0], dtype=np.bool_)
    out = np.empty((2 * k, n), dtype=np.float64)
    for j in numba.prange(2 * k):
        if j < k:
            out[j] = dijkstra_all(indptr, heads, weight, every, landmarks[j])
        else:
            out[j] = dijkstra_all(rindptr, rheads, rweight, every, landmarks[j - k])
    return out


def compute_landmarks(
    indptr: npt.NDArray[np.int64], heads: npt.NDArray[np.int32], time_s: npt.NDArray[np.float64], landmarks: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """``(from_l, to_l)``, each ``(nodes, landmarks)``: times from each landmark to every node, and
    from every node to it.

    Kept in float64, summed by the same Dijkstra as the queries, so the bounds are as exact as
    the searches' own sums (a float32 store would need a rounding slack on every bound).
    """
    n = indptr.shape[0] - 1
    tails = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    order = np.argsort(heads, kind="stable")
    rindptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(heads, minlength=n), out=rindptr[1:])
    both = _many(indptr, heads, time_s, rindptr, tails[order].astype(np.int32), time_s[order], landmarks)
    k = landmarks.shape[0]
    return np.ascontiguousarray(both[:k].T), np.ascontiguousarray(both[k:].T)
