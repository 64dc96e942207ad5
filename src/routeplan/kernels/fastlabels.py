"""Exact cheapest-then-fastest routes at national scale: label setting with two A* bounds.

The search is the one of :mod:`routeplan.kernels.labels` (states ``(node, charged set)``,
subset/time dominance, Pareto front of (charge, time)), compiled with numba and made
goal-directed in *both* criteria:

* **charge**: labels are settled by ``cost + h_c`` where ``h_c(v, S)`` is a lower bound on the
  charge still to pay, from the cell graph (:mod:`routeplan.kernels.cells`)::

      h_c(v, S) = min( min_{x in S} D[x],  min_{x incident to v} (w_S(x) + D[x]) )

  with ``D`` the node-weighted distance in the cell graph to the target and ``w_S(x)`` the
  charge of ``x`` unless already paid.  The route's last visit to a paid cell (or its first cell)
  starts a walk of unpaid cells to the target, which costs at least ``D`` of that cell: so the
  bound is admissible; it is also consistent (``D`` is a shortest-path distance), which keeps
  label setting exact.  Far-away constituencies are never opened: the search follows a corridor.
* **time**: ties in ``cost + h_c`` are settled by ``time + h_t`` with ``h_t`` the larger of the
  straight-line time at the network's top speed and the ALT landmark bounds
  (:mod:`routeplan.kernels.landmarks`); both are consistent.

The first label settled at the target is therefore the cheapest route and the fastest among the
cheapest; continuing yields the exact Pareto front.  Tests check it against the reference kernel,
brute force and an independent MILP.

References
----------
.. [1] E. Q. V. Martins, "On a multicriteria shortest path problem", EJOR 16 (1984) 236-245.
   https://doi.org/10.1016/0377-2217(84)90077-8
.. [2] P. E. Hart, N. J. Nilsson, B. Raphael, "A formal basis for the heuristic determination of
   minimum cost paths", IEEE Trans. SSC 4 (1968) 100-107. https://doi.org/10.1109/TSSC.1968.300136
.. [3] L. Mandow, J. L. Pérez de la Cruz, "Multiobjective A* search with consistent heuristics",
   J. ACM 57 (2010) 27. https://doi.org/10.1145/1754399.1754400
"""

from __future__ import annotations

import heapq

import numba
import numpy as np
import numpy.typing as npt

from routeplan.kernels.cellcost import cost_to_go
from routeplan.kernels.cells import (
    INF_COST,
    CellGraph,
    build_cell_graph,
    vertex_weights,
)
from routeplan.kernels.dijkstra import XY, Workspace, shortest_path, split_xy
from routeplan.kernels.labels import LabelLimitError, LabelRoute, route_cost
from routeplan.kernels.potential import NO_LANDMARKS, potential

_EPS = 1e-9


@numba.njit(cache=True, inline="always")
def _h_cost(v, mask, w_words, minD, node_vptr, node_verts, vweight, vbit, D):  # type: ignore[no-untyped-def]
    best = minD
    for j in range(node_vptr[v], node_vptr[v + 1]):
        x = node_verts[j]
        wx = vweight[x]
        if wx < 0:
            continue
        b = vbit[x]
        add = 0
        if b >= 0 and (mask[b >> 6] >> np.uint64(b & 63)) & np.uint64(1) == 0:
            add = wx
        val = add + D[x]
        if val < best:  # noqa: PLR1730 - numba kernel: keep the exact compiled comparison
            best = val
    return best


@numba.njit(cache=True)
def _search(indptr, heads, time_s, edge_vertex, vweight, vbit, D, node_vptr, node_verts,  # type: ignore[no-untyped-def]
            x, y, inv_vmax, lm_from, lm_to, source, target, ub_cost, max_time, first_only, n_words, label_limit, cap, head):
    l_node = np.empty(cap, np.int64)
    l_cost = np.empty(cap, np.int64)
    l_time = np.empty(cap, np.float64)
    l_minD = np.empty(cap, np.int64)
    l_parent = np.empty(cap, np.int64)
    l_edge = np.empty(cap, np.int64)
    l_next = np.empty(cap, np.int64)  # next label at the same node (singly linked list)
    l_alive = np.empty(cap, np.bool_)
    l_mask = np.zeros((cap, n_words), np.uint64)
    nmask = np.zeros(n_words, np.uint64)

    t_prune = max_time + _EPS * max(1.0, max_time) if max_time < np.inf else np.inf
    l_node[0] = source
    l_cost[0] = 0
    l_time[0] = 0.0
    l_minD[0] = INF_COST
    l_parent[0] = -1
    l_edge[0] = -1
    l_next[0] = -1
    l_alive[0] = True
    head[source] = 0
    nl = 1
    h0 = _h_cost(source, l_mask[0], n_words, INF_COST, node_vptr, node_verts, vweight, vbit, D)
    heap = [(h0, potential(source, target, x, y, inv_vmax, lm_from, lm_to), np.int64(0))]
    best_t = np.inf
    res_labels = []
    while heap:
        _k1, _k2, li = heapq.heappop(heap)
        if not l_alive[li]:
            continue
        u = l_node[li]
        t = l_time[li]
        hu = potential(u, target, x, y, inv_vmax, lm_from, lm_to)
        if t + hu >= best_t - _EPS * max(1.0, best_t):
            continue
        if u == target:
            if t > max_time:
                continue
            best_t = t
            res_labels.append(li)
            if first_only:
                break
            continue
        cost = l_cost[li]
        for k in range(indptr[u], indptr[u + 1]):
            xv = edge_vertex[k]
            wx = vweight[xv]
            if wx < 0:
                continue
            v = heads[k]
            nt = t + time_s[k]
            hv = potential(v, target, x, y, inv_vmax, lm_from, lm_to)
            if nt + hv > t_prune or nt + hv >= best_t - _EPS * max(1.0, best_t):
                continue
            b = vbit[xv]
            for w in range(n_words):
                nmask[w] = l_mask[li, w]
            ncost = cost
            nminD = l_minD[li]
            if b >= 0 and (nmask[b >> 6] >> np.uint64(b & 63)) & np.uint64(1) == 0:
                nmask[b >> 6] |= np.uint64(1) << np.uint64(b & 63)
                ncost = cost + wx
                if D[xv] < nminD:  # noqa: PLR1730 - numba kernel: keep the exact compiled comparison
                    nminD = D[xv]
            hc = _h_cost(v, nmask, n_words, nminD, node_vptr, node_verts, vweight, vbit, D)
            if hc >= INF_COST or ncost + hc > ub_cost:
                continue
            # Dominance at v: drop the new label if an alive one has subset set and no more time;
            # kill alive labels the new one dominates.
            dominated = False
            j = head[v]
            prev = -1
            while j >= 0:
                nxt = l_next[j]
                if not l_alive[j]:
                    if prev < 0:
                        head[v] = nxt
                    else:
                        l_next[prev] = nxt
                    j = nxt
                    continue
                sub_old = True  # old ⊆ new
                sub_new = True  # new ⊆ old
                for w in range(n_words):
                    om = l_mask[j, w]
                    if om & ~nmask[w]:
                        sub_old = False
                    if nmask[w] & ~om:
                        sub_new = False
                if sub_old and l_time[j] <= nt:
                    dominated = True
                    break
                if sub_new and nt <= l_time[j]:
                    l_alive[j] = False
                    if prev < 0:
                        head[v] = nxt
                    else:
                        l_next[prev] = nxt
                    j = nxt
                    continue
                prev = j
                j = nxt
            if dominated:
                continue
            if nl >= label_limit:
                for i in range(nl):
                    head[l_node[i]] = -1
                return res_labels, l_parent[:nl], l_edge[:nl], l_cost[:nl], l_time[:nl], -1
            if nl == cap:
                cap *= 2
                l_node = _grow(l_node, cap)
                l_cost = _grow(l_cost, cap)
                l_time = _grow(l_time, cap)
                l_minD = _grow(l_minD, cap)
                l_parent = _grow(l_parent, cap)
                l_edge = _grow(l_edge, cap)
                l_next = _grow(l_next, cap)
                l_alive = _grow(l_alive, cap)
                nm = np.zeros((cap, n_words), np.uint64)
                nm[: nl] = l_mask[: nl]
                l_mask = nm
            l_node[nl] = v
            l_cost[nl] = ncost
            l_time[nl] = nt
            l_minD[nl] = nminD
            l_parent[nl] = li
            l_edge[nl] = k
            l_alive[nl] = True
            for w in range(n_words):
                l_mask[nl, w] = nmask[w]
            l_next[nl] = head[v]
            head[v] = nl
            heapq.heappush(heap, (ncost + hc, nt + hv, np.int64(nl)))
            nl += 1
    for i in range(nl):  # leave the shared workspace as we found it
        head[l_node[i]] = -1
    return res_labels, l_parent[:nl], l_edge[:nl], l_cost[:nl], l_time[:nl], nl


@numba.njit(cache=True)
def _grow(a, cap):  # type: ignore[no-untyped-def]
    """A copy of ``a`` with room for ``cap`` items (numba compiles one version per dtype)."""
    out = np.empty(cap, a.dtype)
    out[: a.shape[0]] = a
    return out


def pareto_front_fast(
    indptr: npt.NDArray[np.int64],
    heads: npt.NDArray[np.int32],
    time_s: npt.NDArray[np.float64],
    label: npt.NDArray[np.int32],
    label_charge: npt.NDArray[np.int64],
    source: int,
    target: int,
    *,
    cell_graph: CellGraph | None = None,
    ub_cost: int | None = None,
    xy: XY | None = None,
    inv_vmax: float = 0.0,
    landmarks: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None,
    first_only: bool = False,
    max_cost: int | None = None,
    max_time: float | None = None,
    label_limit: int = 20_000_000,
    initial_capacity: int = 1 << 12,
    workspace: Workspace | None = None,
    fastest: tuple[float, list[int]] | None = None,
    stats: dict[str, float] | None = None,
) -> list[LabelRoute]:
    """Pareto front of (charge, time) routes, same contract as :func:`labels.pareto_front`.

    Parameters
    ----------
    cell_graph
        From :func:`routeplan.kernels.cells.build_cell_graph` on the same arrays (built here
        if omitted; pass it to reuse it across queries).
    ub_cost
        Charge of a known route (the fastest): dearer labels are pruned.  Computed here by a
        fastest-path search when omitted.
    max_cost, max_time
        Ignore routes dearer or slower than this.
    xy, inv_vmax, landmarks
        Node coordinates in metres and 1 / top speed (s/m), and ALT landmark times
        (:mod:`routeplan.kernels.landmarks`), for the time bound; omit for none.
    label_limit
        Raise :class:`LabelLimitError` (a :class:`~routeplan.errors.NoRouteError`) past this many
        labels: about 150 bytes each, so the default bounds a query near 3 GB.
    initial_capacity
        Labels allocated up front (the store doubles as needed).
    workspace
        Scratch arrays reused across queries (:class:`routeplan.kernels.dijkstra.Workspace`).
    fastest
        A fastest route ``(time, edges)`` already known (it also gives ``ub_cost``).  When its
        charge equals the lower bound at the source it *is* the answer: nothing is cheaper and
        nothing is faster, so the label search is skipped.
    stats
        If given, receives ``labels`` (created) for benchmarks.
    """
    source, target = int(source), int(target)
    if max_cost is not None and max_cost < 0:
        return []
    lab = np.asarray(label)
    charge = np.asarray(label_charge, dtype=np.int64)
    if fastest is None and ub_cost is None:
        allowed = np.ones(lab.shape[0], dtype=np.bool_)
        pos_lab = lab >= 0
        allowed[pos_lab] = charge[lab[pos_lab]] != -1
        fastest = shortest_path(indptr, heads, time_s, source, target, allowed, xy=xy, inv_vmax=inv_vmax, landmarks=landmarks, workspace=workspace)
        if fastest is None:
            return []
    fastest_cost = route_cost(fastest[1], lab, charge)[0] if fastest is not None else None
    if ub_cost is None:
        # Here ``fastest`` was given or has just been computed, so its cost is known.
        assert fastest_cost is not None
        ub_cost = fastest_cost
    if max_cost is not None:
        ub_cost = min(ub_cost, max_cost)
    if source == target:
        return [LabelRoute(0, 0.0, (), frozenset())] if max_time is None or max_time >= 0 else []
    if cell_graph is None:
        cell_graph = build_cell_graph(indptr, heads, np.asarray(label, dtype=np.int32), charge.shape[0])
    n = indptr.shape[0] - 1
    vweight = vertex_weights(cell_graph, np.asarray(label_charge, dtype=np.int64))
    vbit = np.full(cell_graph.n_vertices, -1, dtype=np.int64)
    pos = np.flatnonzero(vweight[: cell_graph.n_labels] > 0)
    vbit[pos] = pos
    n_words = max(1, (cell_graph.n_labels + 63) // 64)
    D = cost_to_go(cell_graph.adj_ptr, cell_graph.adj, cell_graph.node_vptr, cell_graph.node_verts, vweight, target)
    if stats is not None:
        stats["labels"] = 0.0
    if fastest is not None and fastest_cost is not None and fastest_cost <= ub_cost and (max_time is None or fastest[0] <= max_time):
        lb = _h_cost(source, np.zeros(n_words, np.uint64), n_words, INF_COST, cell_graph.node_vptr, cell_graph.node_verts, vweight, vbit, D)
        if fastest_cost == lb:
            # The fastest route pays only what every route must pay: it is the whole front.
            edges = tuple(int(k) for k in fastest[1])
            return [LabelRoute(int(fastest_cost), float(fastest[0]), edges, route_cost(edges, lab, charge)[1])]
    if xy is None:
        x = y = np.zeros(1, dtype=np.float64)
        inv_vmax = 0.0
    else:
        x, y = split_xy(xy)
    ws = workspace if workspace is not None else Workspace(n)
    lm_from, lm_to = landmarks if landmarks is not None else (NO_LANDMARKS, NO_LANDMARKS)
    res, parent, edge, cost, ltime, nl = _search(
        indptr, heads, time_s, cell_graph.edge_vertex, vweight, vbit, D, cell_graph.node_vptr, cell_graph.node_verts,
        x, y, float(inv_vmax), lm_from, lm_to, source, target, np.int64(ub_cost), np.inf if max_time is None else float(max_time),
        bool(first_only), n_words, int(label_limit), max(1, int(initial_capacity)), ws.head,
    )
    if nl < 0:
        msg = f"the exact search exceeded {label_limit:,} labels; give a time limit (--max-extra-minutes) or fewer stops"
        raise LabelLimitError(msg)
    if stats is not None:
        stats["labels"] = float(nl)
    out: list[LabelRoute] = []
    for li in res:
        path: list[int] = []
        j = li
        while parent[j] >= 0:
            path.append(int(edge[j]))
            j = parent[j]
        path.reverse()
        labs = frozenset(int(lab[k]) for k in path if lab[k] >= 0 and charge[lab[k]] > 0)
        out.append(LabelRoute(int(cost[li]), float(ltime[li]), tuple(path), labs))
    return out
