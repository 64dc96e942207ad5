"""The parallel landmark kernel (:func:`routeplan.kernels.landmarks.compute_landmarks` on big
networks): ``2k`` whole-graph Dijkstras, one per thread, with the queries' own Dijkstra."""

from __future__ import annotations

import numba
import numpy as np

from routeplan.kernels.dijkstra import dijkstra_all


@numba.njit(cache=True, parallel=True)
def many_dijkstra(indptr, heads, weight, rindptr, rheads, rweight, landmarks):  # type: ignore[no-untyped-def]
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
