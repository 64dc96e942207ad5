"""The edges on some fastest route between two nodes, from one origin's fastest-route graph.

A matrix row needs, besides the cheapest route, the cheapest *among the fastest* routes of a
pair.  Every prefix of a fastest route is a fastest route, so its edges are *tight* from the
origin (``dist[u] + t(u, v) == dist[v]``, :func:`routeplan.matrix.tight_times`).  A label search
over all tight edges still opens every node nearer the origin than the destination (on the
GENERATED region preset, 25 ms a pair and most of a matrix's time).  The fastest routes to one
destination use only the tight edges from which that destination is reached along tight edges:
the reverse search below collects exactly those (a breadth-first walk backwards over tight edges
from the destination, each edge looked at once), so the label search then runs along a corridor
of a few hundred edges and returns the same answer, since the routes it can take are the same.

Scratch arrays are the caller's, reused across pairs and left as found (``seen`` all False; the
caller resets ``out`` at the edges listed), so a pair allocates nothing.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def mark_corridor(target, tight, tails, rev_ptr, rev_edge, out, seen, queue, edges):  # type: ignore[no-untyped-def]
    """Set ``out[e] = tight[e]`` for every tight edge ``e`` from which ``target`` is reached along
    tight edges (``tight`` is inf elsewhere); return ``k``, with those edges in ``edges[:k]``.

    ``rev_ptr``/``rev_edge``: the edges entering each node (CSR positions); ``tails[e]``: edge
    ``e``'s tail.  ``seen`` (bool, one per node) must be all False and is so again on return.
    """
    k = 0
    queue[0] = target
    seen[target] = True
    count = 1
    head = 0
    while head < count:
        v = queue[head]
        head += 1
        for j in range(rev_ptr[v], rev_ptr[v + 1]):
            e = rev_edge[j]
            if tight[e] < np.inf:
                out[e] = tight[e]
                edges[k] = e
                k += 1
                u = tails[e]
                if not seen[u]:
                    seen[u] = True
                    queue[count] = u
                    count += 1
    for q in range(count):
        seen[queue[q]] = False
    return k
