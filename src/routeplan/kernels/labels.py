"""Exact cheapest-then-fastest routes and the cost/time Pareto front.

The charge of a route is the sum, over the *distinct* labels (constituencies) of its edges, of
each label's day charge: a set function, so ordinary shortest-path algorithms do not apply and
the general problem is NP-hard (minimum-label path, [2]_, [3]_).  This module solves it exactly
by multi-criteria label setting [1]_ over states ``(node, charged set)``:

* label ``A`` dominates ``B`` at the same node when ``set(A) ⊆ set(B)`` and
  ``time(A) <= time(B)``: every completion of ``B`` is also a completion of ``A``, no dearer and
  no slower, so ``B`` can be dropped without losing any Pareto-optimal (cost, time) route;
* labels are settled in lexicographic order of ``(cost, time + h(node))`` where ``h`` is the
  exact fastest time to the target (a consistent A* potential), so the first label settled at the
  target is the cheapest route and the fastest among the cheapest;
* labels dearer than the fastest route, or that cannot beat the fastest time already found at a
  lower cost, are pruned: neither can yield a new Pareto point.

Notes
-----
Worst-case exponential in the number of labels reachable within the cost bound; with
geographic labels (a few constituencies between two stops) it stays small.  Exactness is tested
against brute-force enumeration of simple paths and an independent MILP (``tests/``).

References
----------
.. [1] E. Q. V. Martins, "On a multicriteria shortest path problem", European Journal of
   Operational Research 16 (1984) 236-245. https://doi.org/10.1016/0377-2217(84)90077-8
.. [2] H. Broersma, X. Li, G. Woeginger, S. Zhang, "Paths and cycles in colored graphs",
   Australasian Journal of Combinatorics 31 (2005) 299-311.
.. [3] R. Hassin, J. Monnot, D. Segev, "Approximation algorithms and hardness results for
   labeled connectivity problems", Journal of Combinatorial Optimization 14 (2007) 437-453.
   https://doi.org/10.1007/s10878-007-9044-x
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from routeplan.errors import NoRouteError
from routeplan.kernels import FORBIDDEN
from routeplan.kernels.dijkstra import distances_to, edge_tails, shortest_path

# Relative slack when comparing float times that were summed in different orders.
_EPS = 1e-9


@dataclass(frozen=True)
class LabelRoute:
    """One route found by the search: edges are CSR positions, ``labels`` the charged ones."""

    cost: int
    time_s: float
    edges: tuple[int, ...]
    labels: frozenset[int]


class LabelLimitError(NoRouteError):
    """The search created more labels than allowed (a guard against runaway instances): the
    planner gets a clear message, not a machine out of memory."""


def route_cost(
    edges: list[int] | tuple[int, ...],
    label: npt.NDArray[np.int32],
    label_charge: npt.NDArray[np.int64],
) -> tuple[int, frozenset[int]]:
    """Charge of a route given by CSR positions: each positive-charge label counted once.

    With numpy over the whole route (a matrix asks this of every answer, routes of thousands of
    edges: a Python loop over them was a tenth of a region matrix's time)."""
    idx = np.asarray(edges, dtype=np.int64)
    if idx.size == 0:
        return 0, frozenset()
    labs = np.unique(label[idx])
    labs = labs[labs >= 0]
    labs = labs[label_charge[labs] > 0]
    return int(label_charge[labs].sum()), frozenset(labs.tolist())


def pareto_front(
    indptr: npt.NDArray[np.int64],
    heads: npt.NDArray[np.int32],
    time_s: npt.NDArray[np.float64],
    label: npt.NDArray[np.int32],
    label_charge: npt.NDArray[np.int64],
    source: int,
    target: int,
    *,
    first_only: bool = False,
    max_cost: int | None = None,
    max_time: float | None = None,
    label_limit: int = 20_000_000,
) -> list[LabelRoute]:
    """Return the Pareto front of (charge, time) routes from ``source`` to ``target``.

    Parameters
    ----------
    indptr, heads, time_s, label, label_charge
        The graph and its charging, see :mod:`routeplan.kernels`.
    source, target
        Node indexes.
    first_only
        Stop at the first route: the cheapest, and the fastest among the cheapest.
    max_cost, max_time
        Ignore routes dearer or slower than this (limits asked by the planner).
    label_limit
        Raise :class:`LabelLimitError` past this many labels instead of running for ever.

    Returns
    -------
    list[LabelRoute]
        Sorted by cost ascending; times strictly decreasing.  Empty when no route exists.
    """
    source, target = int(source), int(target)
    if max_cost is not None and max_cost < 0:
        return []
    lab = np.asarray(label, dtype=np.int64)
    charge = np.asarray(label_charge, dtype=np.int64)
    # Edge charge class: forbidden edges are masked out of every search.
    edge_charge = np.zeros(lab.shape[0], dtype=np.int64)
    edge_charge[lab >= 0] = charge[lab[lab >= 0]]
    allowed = edge_charge != FORBIDDEN
    h = distances_to(indptr, heads, time_s, target, allowed)
    if not np.isfinite(h[source]):
        return []
    if source == target:
        return [LabelRoute(0, 0.0, (), frozenset())]

    # Upper bound: the fastest route; anything dearer is dominated by it.
    fastest = shortest_path(indptr, heads, time_s, source, target, allowed)
    assert fastest is not None
    ub_cost, _ = route_cost(fastest[1], label, charge)
    if max_cost is not None:
        ub_cost = min(ub_cost, max_cost)
    t_limit = np.inf if max_time is None else float(max_time)
    # Bounds are summed from the target backwards, routes forwards: allow a rounding step when
    # pruning, and apply the exact limit only to complete routes.
    t_prune = t_limit + _EPS * max(1.0, t_limit)

    # Bits for positive-charge labels, assigned on first sight (Python ints are bitsets).
    bit_of: dict[int, int] = {}
    bit_label: list[int] = []
    bit_charge: list[int] = []
    edge_bit = np.full(lab.shape[0], -1, dtype=np.int64)
    for pos in np.flatnonzero(edge_charge > 0):
        lb = int(lab[pos])
        if lb not in bit_of:
            bit_of[lb] = len(bit_label)
            bit_label.append(lb)
            bit_charge.append(int(charge[lb]))
        edge_bit[pos] = bit_of[lb]

    ind = indptr.tolist()
    hd = heads.tolist()
    tt = time_s.tolist()
    eb = edge_bit.tolist()
    ok = allowed.tolist()
    hh = h.tolist()

    # Label store (parallel lists): node, mask, cost, time, parent label, edge used.
    l_node: list[int] = [source]
    l_mask: list[int] = [0]
    l_time: list[float] = [0.0]
    l_parent: list[int] = [-1]
    l_edge: list[int] = [-1]
    alive: list[bool] = [True]
    at_node: dict[int, list[int]] = {source: [0]}
    heap: list[tuple[int, float, int]] = [(0, hh[source], 0)]
    best_t = np.inf
    out: list[LabelRoute] = []

    while heap:
        cost, _f, li = heapq.heappop(heap)
        if not alive[li]:
            continue
        u, mask, t = l_node[li], l_mask[li], l_time[li]
        if t + hh[u] >= best_t - _EPS * max(1.0, best_t):
            continue
        if u == target:
            if t > t_limit:
                continue
            best_t = t
            edges = []
            x = li
            while l_parent[x] >= 0:
                edges.append(l_edge[x])
                x = l_parent[x]
            edges.reverse()
            labs = frozenset(bit_label[b] for b in range(len(bit_label)) if mask >> b & 1)
            out.append(LabelRoute(cost, t, tuple(edges), labs))
            if first_only:
                break
            continue
        for k in range(ind[u], ind[u + 1]):
            if not ok[k]:
                continue
            v = hd[k]
            nt = t + tt[k]
            if nt + hh[v] > t_prune or nt + hh[v] >= best_t - _EPS * max(1.0, best_t):
                continue
            b = eb[k]
            if b >= 0 and not mask >> b & 1:
                nmask = mask | (1 << b)
                ncost = cost + bit_charge[b]
                if ncost > ub_cost:
                    continue
            else:
                nmask, ncost = mask, cost
            # Dominance against the labels kept at v.
            kept = at_node.get(v)
            if kept is None:
                kept = at_node[v] = []
            dominated = False
            for j in kept:
                if l_time[j] <= nt and (l_mask[j] & ~nmask) == 0:
                    dominated = True
                    break
            if dominated:
                continue
            survivors = []
            for j in kept:
                if nt <= l_time[j] and (nmask & ~l_mask[j]) == 0:
                    alive[j] = False
                else:
                    survivors.append(j)
            nl = len(l_node)
            if nl >= label_limit:
                msg = f"the exact search exceeded {label_limit:,} labels; give a time limit (--max-extra-minutes) or fewer stops"
                raise LabelLimitError(msg)
            survivors.append(nl)
            at_node[v] = survivors
            l_node.append(v)
            l_mask.append(nmask)
            l_time.append(nt)
            l_parent.append(li)
            l_edge.append(k)
            alive.append(True)
            heapq.heappush(heap, (ncost, nt + hh[v], nl))
    return out


def cheapest(
    indptr: npt.NDArray[np.int64],
    heads: npt.NDArray[np.int32],
    time_s: npt.NDArray[np.float64],
    label: npt.NDArray[np.int32],
    label_charge: npt.NDArray[np.int64],
    source: int,
    target: int,
    **kw: object,
) -> LabelRoute | None:
    """Cheapest route, fastest among the cheapest; ``None`` if the target is unreachable."""
    front = pareto_front(indptr, heads, time_s, label, label_charge, source, target, first_only=True, **kw)  # type: ignore[arg-type]
    return front[0] if front else None


__all__ = ["LabelLimitError", "LabelRoute", "cheapest", "edge_tails", "pareto_front", "route_cost"]
