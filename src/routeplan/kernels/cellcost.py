"""The per-query half of the cell graph's charge bound (:mod:`routeplan.kernels.cells`): a
node-weighted reverse Dijkstra over the few hundred cell-graph vertices, compiled with numba."""

from __future__ import annotations

import heapq

import numba
import numpy as np

from routeplan.kernels.cells import INF_COST


@numba.njit(cache=True)
def cost_to_go(adj_ptr, adj, node_vptr, node_verts, weight, target):  # type: ignore[no-untyped-def]
    """``D[x]``: least charge of the vertices after ``x`` on a vertex path from ``x`` to a vertex
    incident to ``target`` (node-weighted reverse Dijkstra; forbidden vertices excluded).

    Any route from a road in vertex ``x`` to ``target`` pays at least ``D[x]`` for vertices other
    than ``x`` that it has not paid before the last time it was in ``x``.
    """
    nv = adj_ptr.shape[0] - 1
    D = np.full(nv, INF_COST, dtype=np.int64)
    done = np.zeros(nv, dtype=np.bool_)
    heap = [(np.int64(0), np.int64(0))]
    heap.pop()
    for j in range(node_vptr[target], node_vptr[target + 1]):
        x = node_verts[j]
        if weight[x] >= 0:
            D[x] = 0
            heap.append((np.int64(0), np.int64(x)))
    heapq.heapify(heap)
    while heap:
        d, y = heapq.heappop(heap)
        if done[y]:
            continue
        done[y] = True
        step = d + weight[y]
        for k in range(adj_ptr[y], adj_ptr[y + 1]):
            x = adj[k]
            if weight[x] < 0 or done[x]:
                continue
            if step < D[x]:
                D[x] = step
                heapq.heappush(heap, (step, np.int64(x)))
    return D
