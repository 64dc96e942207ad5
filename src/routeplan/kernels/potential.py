"""The A* time potential shared by the kernels: a lower bound on the time from a node to the
target from straight-line distance at top speed and from ALT landmarks
(:mod:`routeplan.kernels.landmarks`).  Consistent, so A* and label setting stay exact."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, inline="always")
def potential(v, t, x, y, inv_vmax, lm_from, lm_to):  # type: ignore[no-untyped-def]
    """Lower bound on the time from ``v`` to ``t``: straight line at top speed, and landmarks."""
    h = 0.0
    if inv_vmax > 0.0:
        h = np.hypot(x[v] - x[t], y[v] - y[t]) * inv_vmax
    for j in range(lm_from.shape[1]):
        a = lm_to[v, j] - lm_to[t, j]
        if a > h:  # noqa: PLR1730 - numba kernel: keep the exact compiled comparison
            h = a
        b = lm_from[t, j] - lm_from[v, j]
        if b > h:  # noqa: PLR1730 - numba kernel: keep the exact compiled comparison
            h = b
    return h


# (nodes, landmarks) layout: one node's bounds sit in one cache line.
NO_LANDMARKS = np.zeros((1, 0), dtype=np.float64)
