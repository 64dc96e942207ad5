"""Plan a whole day for a GIVEN order of stops: every leg chosen together, so a constituency paid
on one leg (or for a stop) is free on every other leg of the day.

Why planning the day whole matters
----------------------------------
The charge is per constituency per *day*: the day's charge is the charge of the **union** of the
constituencies entered on non-exempt road by any leg, plus those the stops stand in, each once.
Planning leg by leg (each leg cheapest given what is already paid) can be strictly dearer: leg 1
may choose between seats X and Y at the same charge and take Y because it is faster, while leg 2
must pass X anyway; the whole day then pays X and Y where X alone would do.

The layered graph (the exactness argument)
------------------------------------------
For stops ``s_0, ..., s_k`` (``k`` legs, leg ``i`` runs ``s_i -> s_{i+1}``) build ``k`` copies
of the network, node ``(i, v)`` numbered ``i * n + v``, with every edge of the network copied into
each layer with its time and its *same* cell label, plus one zero-time, unlabelled (free) transfer
edge ``(i, s_{i+1}) -> (i + 1, s_{i+1})`` for ``i < k - 1``.  Then

1. the only edges between layers are the transfers, which go from layer ``i`` to ``i + 1``, so
   every walk from ``(0, s_0)`` to ``(k - 1, s_k)`` uses exactly one transfer per intermediate stop
   and is the concatenation of a walk ``s_0 -> s_1`` in layer 0, ``s_1 -> s_2`` in layer 1, ...:
   walks of the layered graph and day routes (one walk per leg) are in one-to-one
   correspondence, with the same total time (transfers take no time);
2. labels are shared between layers, so the charge of the layered walk -- each positive-charge
   label of its edges counted once -- is the charge of the union of the legs' constituencies:
   exactly the once-per-day rule.  Constituencies of the stops and those already charged today are
   given charge 0 (as :func:`routeplan.routing.plan_leg` does); hard-avoid (-1) labels are never
   traversed by any kernel;
3. the cheapest-then-fastest route on this graph is therefore the cheapest-then-fastest day, and
   it is found exactly by multi-criteria label setting (Martins 1984 [1]_) over states
   ``(node, charged set)``: its correctness uses only non-negative edge times and the monotone set
   cost, never the shape of the graph.  Zero-time transfer edges are allowed (no cycle contains
   one, as layers are only ever climbed); every cycle inside a layer has positive time.

Engines on the layered graph:

* ``"reference"``: :func:`routeplan.kernels.labels.pareto_front`, A* by the exact time to the
  target computed on the layered graph itself: always exact.
* ``"fast"``: :func:`routeplan.kernels.fastlabels.pareto_front_fast` with bounds valid for the
  layered graph: the cell graph is built **from the layered arrays** (its admissibility proof --
  the cells a walk meets form a walk in the cell graph -- holds for any CSR graph); the time bound
  is the exact layered time to the target, passed as one ALT landmark placed at the target
  (``h(v) = d(v, L) - d(t, L)`` with ``L = t``), which is exact, hence admissible and consistent.
  The network's own straight-line bound and landmarks are *not* passed: they bound the time to
  ``s_k``, which is still admissible (any remaining route physically drives to ``s_k``) but weaker.
* ``"milp"``: :func:`routeplan.kernels.milp.milp_cheapest` on the layered edge list (slow; for
  checking).  Its no-subtour argument carries over: every cycle lies in one layer and has
  positive time.

Time windows (:mod:`routeplan.schedule` states the rules)
---------------------------------------------------------
With ``windows`` the day starts at ``start_s``; each stop may have a window (earliest service,
latest arrival) and a dwell.  The best day is then the cheapest that meets every window, driving
least among those (waiting and dwell are not driving), arriving earliest among those: found
exactly by :func:`routeplan.kernels.windowlabels.windowed_cheapest`, label setting on the same
layered graph with a clock (the transfer edge at stop ``j`` sets ``clock = max(clock,
earliest_j) + dwell_j``), for both the ``"fast"`` and ``"reference"`` engines.  Every day route
carries its timetable (``visits``); the baselines are *not* constrained by the windows (they are
what a naive planner would drive) and report their lateness.  Since departure times are
non-decreasing in arrival times, the all-fastest day arrives everywhere as early as possible: no
day meets the windows iff it misses one, and the error names its first late stop.  Without any
window the unconstrained path above runs unchanged.

Baselines reported beside the optimum: ``fastest`` (every leg its fastest route, as a plain
fastest-route planner would drive) and ``leg_by_leg`` (each leg in turn cheapest-then-fastest
given the day's stops and what earlier legs already charged).  The optimum is never dearer than
either, and when a baseline costs the same it is never faster.

References
----------
.. [1] E. Q. V. Martins, "On a multicriteria shortest path problem", European Journal of
   Operational Research 16 (1984) 236-245. https://doi.org/10.1016/0377-2217(84)90077-8
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from routeplan.errors import InfeasibleError, NoRouteError, UsageError
from routeplan.kernels.cells import CellGraph, build_cell_graph, vertex_adjacency
from routeplan.kernels.csr import reverse_csr
from routeplan.kernels.dijkstra import Workspace, dijkstra_all, edge_tails, shortest_path
from routeplan.kernels.fastlabels import pareto_front_fast
from routeplan.kernels.labels import LabelRoute, pareto_front, route_cost
from routeplan.kernels.windowlabels import windowed_cheapest
from routeplan.ledger import Ledger, build_ledger
from routeplan.locate import Stop
from routeplan.network import Compiled, Network
from routeplan.policy import AVOID, ExpensePolicy
from routeplan.routing import Route, day_charges
from routeplan.schedule import (
    Visit,
    Window,
    check_dwell,
    check_start,
    check_windows,
    effective,
    format_clock,
    format_duration,
    timetable,
)

Engine = Literal["fast", "reference", "milp"]
ENGINES: tuple[str, ...] = ("fast", "reference", "milp")
# A time bound standing for "cannot reach the target" (finite, so it prunes; consistent, since an
# allowed edge never leads from a node that cannot reach the target to one that can).
_UNREACHABLE_S = 1e30
_INT32_MAX = 2**31 - 1

IntArray = npt.NDArray[np.int64]
# Solve one leg cheapest-then-fastest under given charges: (source, target, charges) -> route.
LegSolver = Callable[[int, int, npt.NDArray[np.int64]], LabelRoute | None]


# ------------------------------------------------------------------------------ array level


@dataclass(frozen=True)
class LayeredGraph:
    """``legs`` copies of a CSR graph joined by zero-time free transfer edges at the stops."""

    n: int  # nodes per layer
    legs: int
    indptr: npt.NDArray[np.int64]
    heads: npt.NDArray[np.int32]
    time_s: npt.NDArray[np.float64]
    label: npt.NDArray[np.int32]
    orig: npt.NDArray[np.int64]  # position in the original CSR, -1 for a transfer edge
    layer: npt.NDArray[np.int64]  # layer of each position's tail
    transfer: tuple[int, ...]  # position of the transfer edge ending leg i (i < legs - 1)
    source: int
    target: int
    orig_indptr: npt.NDArray[np.int64] = field(repr=False)
    orig_tails: npt.NDArray[np.int64] = field(repr=False)

    @property
    def n_nodes(self) -> int:
        return self.n * self.legs

    @property
    def n_edges(self) -> int:
        return int(self.heads.shape[0])

    def split(self, positions: Sequence[int]) -> tuple[tuple[int, ...], ...]:
        """A layered path as one tuple of original CSR positions per leg."""
        legs: list[tuple[int, ...]] = []
        cur: list[int] = []
        for p in positions:
            o = int(self.orig[p])
            if o < 0:
                legs.append(tuple(cur))
                cur = []
            else:
                cur.append(o)
        legs.append(tuple(cur))
        if len(legs) != self.legs:  # pragma: no cover - impossible by construction
            msg = f"internal error: layered path has {len(legs)} legs, expected {self.legs}"
            raise AssertionError(msg)
        return tuple(legs)

    def positions(self, legs: Sequence[Sequence[int]]) -> list[int]:
        """The layered path of a day given as original CSR positions per leg (inverse of split)."""
        out: list[int] = []
        for i, leg in enumerate(legs):
            for k in leg:
                u = int(self.orig_tails[k])
                out.append(int(self.indptr[i * self.n + u]) + int(k) - int(self.orig_indptr[u]))
            if i < self.legs - 1:
                out.append(self.transfer[i])
        return out


def layered_graph(
    indptr: npt.NDArray[np.int64],
    heads: npt.NDArray[np.int32],
    time_s: npt.NDArray[np.float64],
    label: npt.NDArray[np.int32],
    nodes: Sequence[int],
) -> LayeredGraph:
    """Build the layered graph of a day with stops at ``nodes`` (see the module docstring).

    In layer ``i`` node ``v`` is ``i * n + v`` and its out-edges are the network's, in the same
    order, followed by the transfer edge when ``v`` is the stop ending leg ``i``.
    """
    n = int(indptr.shape[0] - 1)
    m = int(heads.shape[0])
    k = len(nodes) - 1
    if k < 1:
        msg = "a day needs at least two stops"
        raise UsageError(msg)
    if n * k > _INT32_MAX or (m + 1) * k > _INT32_MAX:
        msg = f"a {k}-leg day on a {n:,}-node network is too large for one layered search"
        raise UsageError(msg)
    deg = np.diff(indptr)
    deg_l = np.tile(deg, k)
    for i in range(k - 1):
        deg_l[i * n + int(nodes[i + 1])] += 1
    indptr_l = np.zeros(n * k + 1, dtype=np.int64)
    np.cumsum(deg_l, out=indptr_l[1:])
    total = int(indptr_l[-1])
    heads_l = np.empty(total, dtype=np.int32)
    time_l = np.empty(total, dtype=np.float64)
    label_l = np.empty(total, dtype=np.int32)
    orig_l = np.empty(total, dtype=np.int64)
    layer_l = np.empty(total, dtype=np.int64)
    tails = edge_tails(indptr)
    offset = np.arange(m, dtype=np.int64) - indptr[tails]
    transfer: list[int] = []
    for i in range(k):
        pos = indptr_l[i * n + tails] + offset
        heads_l[pos] = heads.astype(np.int64) + i * n
        time_l[pos] = time_s
        label_l[pos] = label
        orig_l[pos] = np.arange(m, dtype=np.int64)
        layer_l[pos] = i
        if i < k - 1:
            v = int(nodes[i + 1])
            p = int(indptr_l[i * n + v + 1] - 1)  # the last out-edge of (i, v)
            heads_l[p] = (i + 1) * n + v
            time_l[p] = 0.0
            label_l[p] = -1
            orig_l[p] = -1
            layer_l[p] = i
            transfer.append(p)
    return LayeredGraph(
        n=n, legs=k, indptr=indptr_l, heads=heads_l, time_s=time_l, label=label_l, orig=orig_l, layer=layer_l,
        transfer=tuple(transfer), source=int(nodes[0]), target=(k - 1) * n + int(nodes[-1]),
        orig_indptr=np.asarray(indptr, dtype=np.int64), orig_tails=tails,
    )


@dataclass(frozen=True)
class DaySolution:
    """A day as CSR positions of the network, one tuple per leg, with its charge and time."""

    cost: int
    time_s: float
    legs: tuple[tuple[int, ...], ...]
    labels: frozenset[int]
    optimal: bool = True
    stats: dict[str, float] = field(default_factory=dict, compare=False)


def _allowed(label: npt.NDArray[np.int32], label_charge: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    ok = np.ones(label.shape[0], dtype=np.bool_)
    pos = label >= 0
    ok[pos] = label_charge[label[pos]] != AVOID
    return ok


def _solution(legs: Sequence[Sequence[int]], time_s: npt.NDArray[np.float64], label: npt.NDArray[np.int32],
              label_charge: npt.NDArray[np.int64], optimal: bool = True) -> DaySolution:
    flat = [int(k) for leg in legs for k in leg]
    cost, labs = route_cost(flat, label, label_charge)
    t = float(sum(float(time_s[list(leg)].sum()) for leg in legs))
    return DaySolution(cost, t, tuple(tuple(int(k) for k in leg) for leg in legs), labs, optimal)


def fastest_day(
    indptr: npt.NDArray[np.int64],
    heads: npt.NDArray[np.int32],
    time_s: npt.NDArray[np.float64],
    label: npt.NDArray[np.int32],
    label_charge: npt.NDArray[np.int64],
    nodes: Sequence[int],
    *,
    leg_fastest: Callable[[int, int, npt.NDArray[np.bool_]], tuple[float, list[int]] | None] | None = None,
) -> DaySolution | None:
    """Every leg its fastest route (plain Dijkstra, hard-avoid edges excluded); ``None`` when a
    leg has no route.  ``leg_fastest`` replaces the plain Dijkstra (e.g. A* with landmarks)."""
    allowed = _allowed(label, label_charge)
    legs: list[list[int]] = []
    for a, z in itertools.pairwise(nodes):
        if leg_fastest is None:
            r = shortest_path(indptr, heads, time_s, int(a), int(z), allowed)
        else:
            r = leg_fastest(int(a), int(z), allowed)
        if r is None:
            return None
        legs.append(r[1])
    return _solution(legs, time_s, label, label_charge)


def _plain_leg_solver(indptr: npt.NDArray[np.int64], heads: npt.NDArray[np.int32], time_s: npt.NDArray[np.float64],
                      label: npt.NDArray[np.int32], engine: str) -> LegSolver:
    def solve(s: int, t: int, charge: npt.NDArray[np.int64]) -> LabelRoute | None:
        if engine == "fast":
            front = pareto_front_fast(indptr, heads, time_s, label, charge, s, t, first_only=True)
        elif engine == "reference":
            front = pareto_front(indptr, heads, time_s, label, charge, s, t, first_only=True)
        else:
            return _milp_leg(indptr, heads, time_s, label, charge, s, t)
        return front[0] if front else None

    return solve


def _milp_leg(indptr: npt.NDArray[np.int64], heads: npt.NDArray[np.int32], time_s: npt.NDArray[np.float64],
              label: npt.NDArray[np.int32], charge: npt.NDArray[np.int64], s: int, t: int) -> LabelRoute | None:
    from routeplan.kernels.milp import milp_cheapest

    n = int(indptr.shape[0] - 1)
    res = milp_cheapest(n, edge_tails(indptr), heads, time_s, label, charge, s, t)
    if res is None:
        return None
    cost, labs = route_cost(list(res.edges), label, charge)
    return LabelRoute(cost, res.time_s, tuple(res.edges), labs)


def leg_by_leg_day(
    indptr: npt.NDArray[np.int64],
    heads: npt.NDArray[np.int32],
    time_s: npt.NDArray[np.float64],
    label: npt.NDArray[np.int32],
    label_charge: npt.NDArray[np.int64],
    nodes: Sequence[int],
    *,
    engine: Engine = "fast",
    leg_solver: LegSolver | None = None,
) -> DaySolution | None:
    """Each leg in turn cheapest-then-fastest, with the labels earlier legs paid made free.

    ``label_charge`` must already be 0 for what the stops and the day's earlier plans charge;
    ``None`` when a leg has no route.
    """
    _check_engine(engine)
    solver = leg_solver or _plain_leg_solver(indptr, heads, time_s, label, engine)
    charge = np.array(label_charge, dtype=np.int64, copy=True)
    legs: list[tuple[int, ...]] = []
    for a, z in itertools.pairwise(nodes):
        r = solver(int(a), int(z), charge)
        if r is None:
            return None
        legs.append(tuple(r.edges))
        for k in r.edges:
            c = int(label[k])
            if c >= 0 and charge[c] > 0:
                charge[c] = 0
    return _solution(legs, time_s, label, label_charge)


def _check_engine(engine: str) -> None:
    if engine not in ENGINES:
        msg = f"unknown engine {engine!r} ({', '.join(ENGINES)})"
        raise UsageError(msg)


def cheapest_day(
    indptr: npt.NDArray[np.int64],
    heads: npt.NDArray[np.int32],
    time_s: npt.NDArray[np.float64],
    label: npt.NDArray[np.int32],
    label_charge: npt.NDArray[np.int64],
    nodes: Sequence[int],
    *,
    engine: Engine = "fast",
    fastest: DaySolution | None = None,
    label_limit: int = 20_000_000,
    milp_time_limit: float = 600.0,
    base_cell_graph: CellGraph | None = None,
) -> DaySolution | None:
    """The cheapest day through ``nodes`` in order, fastest among the cheapest; ``None`` if a leg
    cannot be driven without hard-avoid edges.

    Exact for every engine (see the module docstring).  ``fastest`` (the per-leg fastest day)
    gives the fast engine an upper bound on the charge; it is computed when omitted.
    ``base_cell_graph`` (``build_cell_graph`` of the same arrays, e.g. ``Network.cell_graph``)
    lets the fast engine derive the layered cell graph instead of rebuilding it (same graph).
    """
    _check_engine(engine)
    charge = np.asarray(label_charge, dtype=np.int64)
    if engine == "fast":
        if fastest is None:
            fastest = fastest_day(indptr, heads, time_s, label, charge, nodes)
            if fastest is None:
                return None
        base = base_cell_graph if base_cell_graph is not None else build_cell_graph(indptr, heads, label, int(charge.shape[0]))
        lb = day_charge_lower_bound(base, charge, nodes)
        if fastest.cost <= lb:
            # Nothing is cheaper than the all-fastest day and nothing is faster: it is the optimum,
            # and the k-fold layered graph is never built.
            return DaySolution(fastest.cost, fastest.time_s, fastest.legs, fastest.labels, True,
                               {"layered_nodes": 0.0, "layered_edges": 0.0, "labels": 0.0, "fastest_proven_cheapest": 1.0})
    lg = layered_graph(indptr, heads, time_s, label, nodes)
    stats: dict[str, float] = {"layered_nodes": float(lg.n_nodes), "layered_edges": float(lg.n_edges)}
    if engine == "reference":
        front = pareto_front(lg.indptr, lg.heads, lg.time_s, lg.label, charge, lg.source, lg.target,
                             first_only=True, label_limit=label_limit)
        if not front:
            return None
        lr = front[0]
        optimal = True
    elif engine == "milp":
        from routeplan.kernels.milp import milp_cheapest

        res = milp_cheapest(lg.n_nodes, edge_tails(lg.indptr), lg.heads, lg.time_s, lg.label, charge, lg.source, lg.target,
                            time_limit=milp_time_limit)
        if res is None:
            return None
        lr = LabelRoute(0, res.time_s, tuple(res.edges), frozenset())
        optimal = res.optimal
    else:
        assert fastest is not None  # computed above
        h = layered_time_to_target(indptr, heads, time_s, _allowed(label, charge), nodes)
        lm_to = np.ascontiguousarray(h[:, None])
        lm_from = np.zeros_like(lm_to)
        cg = derive_layered_cell_graph(lg, base)
        kstats: dict[str, float] = {}
        front = pareto_front_fast(
            lg.indptr, lg.heads, lg.time_s, lg.label, charge, lg.source, lg.target,
            cell_graph=cg, ub_cost=fastest.cost, landmarks=(lm_from, lm_to), workspace=Workspace(lg.n_nodes),
            fastest=(fastest.time_s, lg.positions(fastest.legs)), first_only=True, label_limit=label_limit, stats=kstats,
        )
        stats.update(kstats)
        if not front:  # pragma: no cover - the fastest day is a route
            return None
        lr = front[0]
        optimal = True
    sol = _solution(lg.split(lr.edges), time_s, label, charge, optimal)
    if engine != "milp" and (sol.cost != lr.cost or not math.isclose(sol.time_s, lr.time_s, rel_tol=1e-9, abs_tol=1e-9)):
        msg = f"internal error: layered route ({lr.cost}, {lr.time_s}) != its legs ({sol.cost}, {sol.time_s})"
        raise AssertionError(msg)
    return DaySolution(sol.cost, sol.time_s, sol.legs, sol.labels, optimal, stats)


def windowed_day(
    indptr: npt.NDArray[np.int64],
    heads: npt.NDArray[np.int32],
    time_s: npt.NDArray[np.float64],
    label: npt.NDArray[np.int32],
    label_charge: npt.NDArray[np.int64],
    nodes: Sequence[int],
    *,
    start_s: float,
    windows: Sequence[Window | None],
    dwell_s: Sequence[float] | None = None,
    ub_cost: int | None = None,
    label_limit: int = 20_000_000,
) -> DaySolution | None:
    """The cheapest day through ``nodes`` in order that meets every window (rules:
    :mod:`routeplan.schedule`), driving least among the cheapest, arriving earliest among those;
    ``None`` when no day meets the windows or a leg cannot avoid the hard-avoid edges.

    Exact (:mod:`routeplan.kernels.windowlabels`); ``stats["arrive_s"]`` is the arrival at the
    last stop.  ``ub_cost`` (e.g. the all-fastest day's charge) only speeds the search up.
    """
    n_stops = len(nodes)
    wins = check_windows(windows, n_stops)
    dwell = check_dwell(dwell_s, n_stops)
    lo, hi, dw = effective(wins, dwell)
    lg = layered_graph(indptr, heads, time_s, label, nodes)
    charge = np.asarray(label_charge, dtype=np.int64)
    stats: dict[str, float] = {"layered_nodes": float(lg.n_nodes), "layered_edges": float(lg.n_edges)}
    kstats: dict[str, float] = {}
    wr = windowed_cheapest(lg, charge, start_s=check_start(start_s), earliest=lo, latest=hi, dwell_s=dw,
                           ub_cost=ub_cost, label_limit=label_limit, stats=kstats)
    stats.update(kstats)
    if wr is None:
        return None
    stats["arrive_s"] = wr.arrive_s
    sol = _solution(lg.split(wr.edges), time_s, label, charge)
    if sol.cost != wr.cost or not math.isclose(sol.time_s, wr.time_s, rel_tol=1e-9, abs_tol=1e-9):
        msg = f"internal error: windowed route ({wr.cost}, {wr.time_s}) != its legs ({sol.cost}, {sol.time_s})"
        raise AssertionError(msg)
    return DaySolution(sol.cost, sol.time_s, sol.legs, sol.labels, True, stats)


def layered_cell_graph(lg: LayeredGraph, n_labels: int) -> CellGraph:
    """The cell graph of a layered graph (what the fast engine bounds the charge with)."""
    return build_cell_graph(lg.indptr, lg.heads, lg.label, n_labels)


def day_charge_lower_bound(cg: CellGraph, label_charge: npt.NDArray[np.int64], nodes: Sequence[int]) -> int:
    """A lower bound on the charge of any day through ``nodes`` in order: the largest over the
    legs of the cell-graph bound at the leg's start (:mod:`routeplan.kernels.fastlabels`), since
    the day pays at least what any one of its legs must pay.  When the all-fastest day pays no
    more, it is the exact optimum (cheapest, and fastest of all)."""
    from routeplan.kernels.cellcost import cost_to_go
    from routeplan.kernels.cells import vertex_weights

    w = vertex_weights(cg, np.asarray(label_charge, dtype=np.int64))
    best = 0
    for a, z in itertools.pairwise(nodes):
        if int(a) == int(z):
            continue
        D = cost_to_go(cg.adj_ptr, cg.adj, cg.node_vptr, cg.node_verts, w, int(z))
        inc = cg.node_verts[cg.node_vptr[int(a)]:cg.node_vptr[int(a) + 1]]
        ok = inc[w[inc] >= 0]
        if ok.size:
            best = max(best, int((w[ok] + D[ok]).min()))
    return best


def layered_time_to_target(indptr: npt.NDArray[np.int64], heads: npt.NDArray[np.int32], time_s: npt.NDArray[np.float64],
                           allowed: npt.NDArray[np.bool_], nodes: Sequence[int]) -> npt.NDArray[np.float64]:
    """Exact time from every layered node to the day's target, from one reverse Dijkstra per stop
    on the NETWORK (not the k-times larger layered graph).

    A walk from ``(i, v)`` to ``(k - 1, s_k)`` climbs the layers only through the transfers at
    ``s_{i+1}, ..., s_{k-1}`` (module docstring, point 1), every layer has the network's allowed
    edges, so its least time is ``d(v, s_{i+1}) + sum_{l > i} d(s_l, s_{l+1})``: the value
    :func:`distances_to` computes on the layered graph, up to float rounding.  Unreachable:
    ``_UNREACHABLE_S``.
    """
    n, k = int(indptr.shape[0] - 1), len(nodes) - 1
    rindptr, order = reverse_csr(indptr, heads)  # the reversed network, built once for all stops
    rheads = edge_tails(indptr)[order].astype(np.int32)
    rw, ra = np.ascontiguousarray(time_s[order]), np.ascontiguousarray(allowed[order])
    h = np.empty(n * k, dtype=np.float64)
    after = 0.0  # sum over later legs of d(s_l, s_{l+1})
    for i in range(k - 1, -1, -1):
        d = dijkstra_all(rindptr, rheads, rw, ra, int(nodes[i + 1]))
        h[i * n:(i + 1) * n] = d + after
        after += float(d[int(nodes[i])])
    return np.where(np.isfinite(h), h, _UNREACHABLE_S)


def derive_layered_cell_graph(lg: LayeredGraph, base: CellGraph) -> CellGraph:
    """``build_cell_graph`` of the layered arrays, derived from the network's cell graph in
    O(k * n) array copies instead of a sort over 2 * k * m edge keys.

    Same graph up to the numbering of free components: label vertices are shared by all layers;
    a free component of the layered graph is a union of layer copies of the network's free
    components and transfer edges (the only edges between layers, both free), merged here by
    union-find where a transfer touches a component; a layered node is incident to its network
    node's vertices (mapped to its layer) plus the vertex of a transfer it ends; adjacency is
    co-incidence, computed by the same ``vertex_adjacency``.  So the charge bound is the same at every
    layered node and the search settles the same labels.
    """
    n_lab, k, n = base.n_labels, lg.legs, lg.n
    n_comp = base.n_vertices - n_lab
    parent = list(range(k * n_comp + k - 1))  # layer copies of the free components, then transfers

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def free_comp(v: int) -> int:
        vs = base.node_verts[base.node_vptr[v]:base.node_vptr[v + 1]]
        f = vs[vs >= n_lab]
        return int(f[0]) - n_lab if f.size else -1

    def union(x: int, y: int) -> None:
        a, b = find(x), find(y)
        if a != b:
            parent[a] = b

    stops = [int(lg.heads[p]) - (i + 1) * n for i, p in enumerate(lg.transfer)]
    at_node: dict[int, int] = {}  # layered node -> a transfer touching it
    for i, s in enumerate(stops):
        c = free_comp(s)
        for layer in (i, i + 1):
            if c >= 0:
                union(k * n_comp + i, layer * n_comp + c)
            # Transfers meeting at one layered node (a stop repeated: a zero-length leg) are one
            # free component even where the stop touches no free road.
            prev = at_node.setdefault(layer * n + s, i)
            if prev != i:
                union(k * n_comp + i, k * n_comp + prev)
    roots = np.array([find(x) for x in range(len(parent))], dtype=np.int64)
    uniq, inverse = np.unique(roots, return_inverse=True)
    vid = n_lab + inverse.astype(np.int64)
    n_vertices = n_lab + int(uniq.shape[0])

    edge_vertex = np.empty(lg.n_edges, dtype=np.int32)
    copy = lg.orig >= 0
    ev = base.edge_vertex[lg.orig[copy]].astype(np.int64)
    free = ev >= n_lab
    ev[free] = vid[lg.layer[copy][free] * n_comp + ev[free] - n_lab]
    edge_vertex[copy] = ev
    tvert = [int(vid[k * n_comp + i]) for i in range(k - 1)]
    for i, p in enumerate(lg.transfer):
        edge_vertex[p] = tvert[i]

    bv = base.node_verts.astype(np.int64)
    bfree = bv >= n_lab
    per_layer = []
    for i in range(k):
        seg = bv.copy()
        seg[bfree] = vid[i * n_comp + bv[bfree] - n_lab]
        per_layer.append(seg)
    extra: dict[int, list[int]] = {}
    for i, s in enumerate(stops):
        for layer in (i, i + 1):
            have = per_layer[layer][base.node_vptr[s]:base.node_vptr[s + 1]]
            node = layer * n + s
            if tvert[i] not in have and tvert[i] not in extra.get(node, []):
                extra.setdefault(node, []).append(tvert[i])
    deg = np.tile(np.diff(base.node_vptr), k)
    add = np.zeros(k * n, dtype=np.int64)
    for node, xs in extra.items():
        add[node] = len(xs)
    node_vptr = np.zeros(k * n + 1, dtype=np.int64)
    np.cumsum(deg + add, out=node_vptr[1:])
    node_verts = np.empty(int(node_vptr[-1]), dtype=np.int32)
    flat = np.concatenate(per_layer)
    if extra:
        rank = np.arange(flat.shape[0], dtype=np.int64) - np.repeat(np.cumsum(deg) - deg, deg)
        node_verts[np.repeat(node_vptr[:-1], deg) + rank] = flat
        for node, xs in extra.items():
            for r, x in enumerate(xs):
                node_verts[node_vptr[node] + deg[node] + r] = x
    else:
        node_verts[:] = flat
    adj_ptr, adj = vertex_adjacency(node_vptr, node_verts, n_vertices)
    return CellGraph(n_lab, n_vertices, edge_vertex, node_vptr, node_verts, adj_ptr, adj)


# ------------------------------------------------------------------------------ network level


@dataclass(frozen=True)
class DayCharge:
    """One constituency of the day: what it costs and what caused it."""

    code: str
    name: str
    pence: int
    stops: tuple[str, ...]  # labels of the stops standing in it
    legs: tuple[tuple[int, float], ...]  # (leg number from 1, non-exempt km driven in it)
    charged_by: str  # "already charged", "stop <label>", "leg <i>" or "" when free

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "pence": self.pence, "stops": list(self.stops),
                "legs": [{"leg": i, "road_km": km} for i, km in self.legs], "charged_by": self.charged_by}


@dataclass(frozen=True)
class DayRoute:
    """One way to drive the day: a route per leg and the day's ledger, computed once for the union.

    Each leg's own ledger holds what that leg's roads *add* to the day, given the day's stops and
    the earlier legs; the day ledger (all legs' pieces and all stops) is what the day costs.
    """

    kind: str
    legs: tuple[Route, ...]
    ledger: Ledger
    charges: tuple[DayCharge, ...]
    optimal: bool = True
    visits: tuple[Visit, ...] = ()  # the timetable (routeplan.schedule), one visit per stop

    @property
    def cost_pence(self) -> int:
        return self.ledger.total_pence

    @property
    def on_time(self) -> bool:
        """Every stop reached by the end of its window."""
        return all(v.late_s == 0.0 for v in self.visits)

    @property
    def time_s(self) -> float:
        return float(sum(r.time_s for r in self.legs))

    @property
    def length_m(self) -> float:
        return float(sum(r.length_m for r in self.legs))

    def as_dict(self, net: Network) -> dict[str, Any]:
        return {
            "kind": self.kind, "cost_pence": self.cost_pence, "time_s": round(self.time_s, 3),
            "length_m": round(self.length_m, 1), "optimal": self.optimal,
            "legs": [r.as_dict(net) for r in self.legs], "ledger": self.ledger.as_dict(),
            "charges": [c.as_dict() for c in self.charges], "visits": [v.as_dict() for v in self.visits],
        }


@dataclass(frozen=True)
class DayPlan:
    """The day planned whole (``best``) beside the two baselines a planner knows."""

    stops: tuple[Stop, ...]
    policy: ExpensePolicy
    day: int
    already_charged: tuple[str, ...]
    engine: str
    best: DayRoute
    fastest: DayRoute
    leg_by_leg: DayRoute
    timings: dict[str, float] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    start_s: float = 8 * 3600.0
    windows: tuple[Window | None, ...] = ()  # as given (empty: none)
    dwell_s: tuple[float, ...] = ()  # as given (empty: none)

    @property
    def legs(self) -> tuple[Route, ...]:
        return self.best.legs

    @property
    def cost_pence(self) -> int:
        return self.best.cost_pence

    @property
    def time_s(self) -> float:
        return self.best.time_s

    @property
    def saving_vs_leg_by_leg_pence(self) -> int:
        return self.leg_by_leg.cost_pence - self.best.cost_pence

    @property
    def saving_vs_fastest_pence(self) -> int:
        return self.fastest.cost_pence - self.best.cost_pence

    def as_dict(self, net: Network) -> dict[str, Any]:
        return {
            "day": self.day, "engine": self.engine, "stops": [s.label for s in self.stops],
            "already_charged": list(self.already_charged), "policy": self.policy.describe(),
            "best": self.best.as_dict(net), "fastest": self.fastest.as_dict(net), "leg_by_leg": self.leg_by_leg.as_dict(net),
            "saving_vs_leg_by_leg_pence": self.saving_vs_leg_by_leg_pence, "saving_vs_fastest_pence": self.saving_vs_fastest_pence,
            "timings": self.timings, "sizes": self.sizes, "start_s": self.start_s,
            "windows": [None if w is None else {"earliest_s": w.earliest_s, "latest_s": w.latest_s} for w in self.windows],
            "dwell_s": list(self.dwell_s),
        }


def _check_stops(net: Network, stops: Sequence[Stop]) -> None:
    if len(stops) < 2:
        msg = f"a day needs at least two stops, got {len(stops)}"
        raise UsageError(msg)
    xy = net.node_xy
    from routeplan.boundaries import to_bng

    for st in stops:
        if not isinstance(st, Stop):
            msg = f"stops must be resolved stops (routeplan.locate.resolve), got {st!r}"
            raise UsageError(msg)
        if not 0 <= st.node < net.n_nodes or not -1 <= st.cell < len(net.cell_codes):
            msg = f"stop {st.label} is not on this network (node {st.node}, constituency {st.cell})"
            raise UsageError(msg)
        x, y = to_bng([st.lon], [st.lat])
        d = float(math.hypot(float(x[0]) - xy[st.node, 0], float(y[0]) - xy[st.node, 1]))
        if not d <= max(st.snap_m, 0.0) + 1.0:
            msg = f"stop {st.label} is not on this network: its road node lies {d:.0f} m away, not {st.snap_m:.0f} m"
            raise UsageError(msg)


def _leg_ledger(net: Network, pieces: Sequence[int], policy: ExpensePolicy, day: int, prior: Sequence[str]) -> Ledger:
    return build_ledger(net, pieces, (), policy, day=day, already_charged=prior)


def _day_route(kind: str, net: Network, comp: Compiled, sol: DaySolution, stops: Sequence[Stop], policy: ExpensePolicy,
               already: Sequence[str], day: int, schedule: tuple[float, Sequence[Window | None], Sequence[float]]) -> DayRoute:
    """Routes per leg with marginal ledgers, and the day ledger computed once for the union."""
    pc = net.pieces
    exempt = policy.exempt_mask()
    prior = list(already)
    if policy.charge_stops:
        prior += [net.cell_codes[s.cell] for s in stops if s.cell >= 0 and net.cell_codes[s.cell] not in prior]
    routes: list[Route] = []
    all_pieces: list[int] = []
    km: dict[int, list[tuple[int, float]]] = {}
    for i, leg in enumerate(sol.legs):
        pos = np.asarray(leg, dtype=np.int64)
        pieces = tuple(int(p) for p in comp.piece[pos]) if leg else ()
        ledger = _leg_ledger(net, pieces, policy, day, tuple(prior))
        routes.append(Route(
            kind=f"{kind}-leg-{i + 1}", pieces=pieces,
            forward=tuple(bool(f) for f in comp.forward[pos]) if leg else (),
            time_s=float(comp.time_s[pos].sum()) if leg else 0.0,
            length_m=float(pc.length_m[list(pieces)].sum()) if pieces else 0.0,
            ledger=ledger, optimal=sol.optimal,
        ))
        prior += [r.code for r in ledger.charged if r.code not in prior]
        all_pieces.extend(pieces)
        per: dict[int, float] = {}
        for p in pieces:
            c = int(pc.cell[p])
            if c >= 0 and not exempt[int(net.way_class[pc.way[p]])]:
                per[c] = per.get(c, 0.0) + float(pc.length_m[p])
        for c, m in per.items():
            km.setdefault(c, []).append((i + 1, round(m / 1000.0, 3)))
    ledger = build_ledger(net, all_pieces, stops, policy, day=day, already_charged=already)
    index = {code: i for i, code in enumerate(net.cell_codes)}
    charges: list[DayCharge] = []
    for row in ledger.rows:
        c = index[row.code]
        at = tuple(s.label for s in stops if s.cell == c) if policy.charge_stops else ()
        legs = tuple(km.get(c, ()))
        if row.pence <= 0:
            by = "already charged" if row.code in already else ""
        elif at:
            by = f"stop {at[0]}"
        else:
            by = f"leg {legs[0][0]}" if legs else ""
        charges.append(DayCharge(row.code, row.name, row.pence, at, legs, by))
    start_s, windows, dwell_s = schedule
    visits = timetable(start_s, [r.time_s for r in routes], windows, dwell_s, [s.label for s in stops])
    return DayRoute(kind=kind, legs=tuple(routes), ledger=ledger, charges=tuple(charges), optimal=sol.optimal,
                    visits=visits)


def plan_day(
    net: Network,
    stops: Sequence[Stop],
    policy: ExpensePolicy | None = None,
    *,
    already_charged: Sequence[str] = (),
    day: int = 1,
    engine: Engine = "fast",
    label_limit: int = 20_000_000,
    start_s: float = 8 * 3600,
    windows: Sequence[Window | None] | None = None,
    dwell_s: Sequence[float] | None = None,
) -> DayPlan:
    """The cheapest day through ``stops`` in the given order, then the fastest among the cheapest.

    All legs are chosen together on the layered graph (module docstring; exact multi-criteria
    label setting, Martins 1984), so the day's charge -- the union of the constituencies every leg
    drives through on non-exempt road and every stop stands in (when ``policy.charge_stops``),
    each once -- is minimal, then the total driving time.  With time windows, among the days that
    meet every window (rules: :mod:`routeplan.schedule`), then the earliest final arrival.

    Parameters
    ----------
    net
        The overlaid network.
    stops
        Resolved stops in driving order (at least two); consecutive identical stops make a
        zero-length leg.
    policy
        Charging rules (default £461 a constituency a day, motorways exempt).  A value of time is
        not applied to days yet (raises :class:`UsageError`).
    already_charged
        Constituency codes already charged today (free for the whole day).
    day
        Day number written in the ledgers.
    engine
        ``"fast"`` (default), ``"reference"`` or ``"milp"``; all exact, see the module docstring.
        With windows ``"fast"`` and ``"reference"`` both run the exact windowed kernel; ``"milp"``
        does not take windows.
    label_limit
        Raise :class:`~routeplan.kernels.labels.LabelLimitError` past this many labels.
    start_s
        Departure from the first stop, seconds since the day's midnight (default 08:00).
    windows
        One :class:`~routeplan.schedule.Window` or ``None`` per stop (the first stop's is
        ignored; the last stop's ``earliest_s`` too): reach stop ``j`` by ``latest_s``, start
        serving it not before ``earliest_s``.  ``None`` (or all ``None``): the unconstrained plan.
    dwell_s
        Seconds spent at each stop (the first and last stops' are ignored); default none.

    Returns
    -------
    DayPlan
        ``best`` (the optimum), ``fastest`` (every leg its fastest route) and ``leg_by_leg``
        (each leg cheapest given the stops and earlier legs), each with per-leg routes, a day
        ledger and a timetable (``visits``).  The baselines ignore the windows; their visits
        report any lateness.

    Raises
    ------
    UsageError
        Fewer than two stops, a stop not on this network, an unknown engine, a value of time,
        a time that is not a finite non-negative number, a window ending before it starts,
        windows or dwell times not one per stop, windows with the ``"milp"`` engine.
    InfeasibleError
        A stop in a hard-avoid constituency, or a leg that cannot avoid them; no day meets the
        windows (naming the first stop that even the fastest day reaches too late, and by how
        much).
    NoRouteError
        A leg with no coach route at all.
    """
    policy = policy or ExpensePolicy()
    _check_engine(engine)
    if policy.value_of_time_pence_per_hour is not None:
        msg = "a value of time is not supported for whole-day plans yet: the day is cheapest first, then fastest"
        raise UsageError(msg)
    if isinstance(day, bool) or not isinstance(day, int) or day < 1:
        msg = f"day must be a whole number from 1, got {day!r}"
        raise UsageError(msg)
    stops = tuple(stops)
    _check_stops(net, stops)
    start = check_start(start_s)
    wins = check_windows(windows, len(stops))
    dwell = check_dwell(dwell_s, len(stops))
    windowed = any(w is not None for w in wins[1:])
    if windowed and engine == "milp":
        msg = "windows not supported by the milp engine"
        raise UsageError(msg)
    schedule = (start, wins, dwell)
    already = tuple(already_charged)
    charges, free = day_charges(net, policy, stops, already)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    comp = net.compile(policy, free)
    exempt = frozenset(policy.exempt_classes)
    allowed = net.allowed_mask(exempt, comp.label_charge)
    nodes = [s.node for s in stops]
    timings["compile_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    legs_fast: list[list[int]] = []
    for i, (a, z) in enumerate(itertools.pairwise(stops)):
        r = shortest_path(comp.indptr, comp.heads, comp.time_s, a.node, z.node, allowed, xy=net.node_x_y,
                          inv_vmax=net.inv_vmax, landmarks=net.landmarks, workspace=net.workspace)
        if r is None:
            where = f"leg {i + 1} from {a.label} to {z.label}"
            if shortest_path(comp.indptr, comp.heads, comp.time_s, a.node, z.node) is not None:
                msg = f"no route for {where} avoids the hard-avoid constituencies"
                raise InfeasibleError(msg)
            msg = f"no coach route for {where}"
            raise NoRouteError(msg)
        legs_fast.append(r[1])
    fastest = _solution(legs_fast, comp.time_s, comp.label, comp.label_charge)
    timings["fastest_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    best: DaySolution | None
    if windowed:
        fast_visits = timetable(start, [float(comp.time_s[leg].sum()) for leg in legs_fast], wins, dwell,
                                [s.label for s in stops])
        late = next((v for v in fast_visits if v.late_s > 0.0), None)
        if late is not None:
            assert late.latest_s is not None
            msg = (f"no plan meets the time windows: stop {late.stop_index} {late.label}: window ends "
                   f"{format_clock(late.latest_s)} but the earliest possible arrival is {format_clock(late.arrive_s)} "
                   f"({format_duration(late.late_s)} late)")
            raise InfeasibleError(msg)
        best = windowed_day(comp.indptr, comp.heads, comp.time_s, comp.label, comp.label_charge, nodes,
                            start_s=start, windows=wins, dwell_s=dwell, ub_cost=fastest.cost, label_limit=label_limit)
        if best is None:  # pragma: no cover - the all-fastest day meets the windows (checked above)
            msg = "internal error: the windowed search found no day although the fastest day is on time"
            raise AssertionError(msg)
    else:
        best = cheapest_day(comp.indptr, comp.heads, comp.time_s, comp.label, comp.label_charge, nodes,
                            engine=engine, fastest=fastest, label_limit=label_limit,
                            base_cell_graph=net.cell_graph(exempt))
    timings["day_s"] = time.perf_counter() - t0
    if best is None:  # pragma: no cover - every leg has a route (checked above)
        msg = "no route for the day avoids the hard-avoid constituencies"
        raise InfeasibleError(msg)

    t0 = time.perf_counter()
    cg = net.cell_graph(exempt)

    def leg_solver(s: int, t: int, charge: npt.NDArray[np.int64]) -> LabelRoute | None:
        if engine != "fast":
            return _plain_leg_solver(comp.indptr, comp.heads, comp.time_s, comp.label, engine)(s, t, charge)
        front = pareto_front_fast(comp.indptr, comp.heads, comp.time_s, comp.label, charge, s, t, cell_graph=cg,
                                  xy=net.node_x_y, inv_vmax=net.inv_vmax, landmarks=net.landmarks,
                                  workspace=net.workspace, first_only=True, label_limit=label_limit)
        return front[0] if front else None

    lbl = leg_by_leg_day(comp.indptr, comp.heads, comp.time_s, comp.label, comp.label_charge, nodes,
                         engine=engine, leg_solver=leg_solver)
    timings["leg_by_leg_s"] = time.perf_counter() - t0
    if lbl is None:  # pragma: no cover - every leg has a route
        msg = "no leg-by-leg route for the day"
        raise InfeasibleError(msg)

    t0 = time.perf_counter()
    routes = {kind: _day_route(kind, net, comp, sol, stops, policy, already, day, schedule)
              for kind, sol in (("best", best), ("fastest", fastest), ("leg-by-leg", lbl))}
    timings["ledgers_s"] = time.perf_counter() - t0
    if not routes["best"].on_time:  # pragma: no cover - the windowed kernel meets every window
        msg = f"internal error: the best day misses a window: {routes['best'].visits}"
        raise AssertionError(msg)
    stop_cells = {s.cell for s in stops if s.cell >= 0} if policy.charge_stops else set()
    stop_pence = sum(int(charges[c]) for c in stop_cells if charges[c] > 0)
    for kind, sol in (("best", best), ("fastest", fastest), ("leg-by-leg", lbl)):
        dr = routes[kind]
        legs_total = sum(r.cost_pence for r in dr.legs)
        if sol.cost + stop_pence != dr.cost_pence or legs_total + stop_pence != dr.cost_pence:
            msg = f"internal error ({kind}): kernel {sol.cost}+{stop_pence}, legs {legs_total}, ledger {dr.cost_pence}"
            raise AssertionError(msg)
    sizes = {"legs": len(stops) - 1, "network_nodes": net.n_nodes,
             "layered_nodes": int(best.stats.get("layered_nodes", 0)), "layered_edges": int(best.stats.get("layered_edges", 0)),
             "labels": int(best.stats.get("labels", 0)),
             # 1 when the all-fastest day paid the day's charge lower bound: no layered search ran
             "fastest_proven_cheapest": int(best.stats.get("fastest_proven_cheapest", 0))}
    return DayPlan(stops=stops, policy=policy, day=day, already_charged=already, engine=engine,
                   best=routes["best"], fastest=routes["fastest"], leg_by_leg=routes["leg-by-leg"],
                   timings=timings, sizes=sizes, start_s=start, windows=wins if windows is not None else (),
                   dwell_s=dwell if dwell_s is not None else ())


__all__ = [
    "DayCharge", "DayPlan", "DayRoute", "DaySolution", "LayeredGraph", "cheapest_day", "fastest_day",
    "layered_cell_graph", "layered_graph", "leg_by_leg_day", "plan_day", "windowed_day",
]
