"""Choose the order of a day's stops: cheapest day first, then least driving, under time windows.

:func:`routeplan.day.plan_day` plans a day exactly for a GIVEN order.  This module chooses the
order.  The caller then runs ``plan_day`` on the chosen order to get the routes and the ledger.

The problem
-----------
Stops ``0 .. n-1``: stop 0 is the start and always first.  A stop marked ``fixed`` keeps its index
in the list (a fixed last stop is how an overnight stop is given); the free stops fill the
remaining positions in any order.  The day's charge is the charge of the union of the
constituencies entered on non-exempt road by any leg and those the stops stand in, each once;
the stops' own seats are charged whatever the order (``policy.charge_stops``), and seats already
charged today are free.  Optional time windows ``(earliest, latest)`` and dwell times per stop:

* the coach leaves stop 0 at ``start_s``;
* ``arrive_j = depart_{j-1} + drive time of leg j``; the day is feasible iff
  ``arrive_j <= latest_j`` for every ``j`` (to within :data:`TIME_TOL_S`);
* service starts at ``max(arrive_j, earliest_j)`` and ``depart_j = start + dwell_j``.

For the last stop only the arrive-by matters (an overnight has nothing after it).  Among feasible
(order, routes) pairs the optimum has the least day charge, then the least total driving time.

Step 1 -- one matrix pass: set-Pareto leg routes between every pair of stops
---------------------------------------------------------------------------
For an ordered pair of stops ``(a, b)`` a route ``r`` is *set-Pareto* when no other route
``a -> b`` has a charged set ``S' ⊆ S(r)`` and a time ``t' <= t(r)`` (one representative is kept
for equal sets and times).  :func:`leg_fronts` finds them for ALL targets at once with ONE
label-setting search per origin (Martins 1984 [1]_, as in :mod:`routeplan.kernels.labels`):
labels ``(node, charged set, time)`` are settled in order of time (then charge), a label is dropped
when another at its node has a subset of its seats and no more time, and every label settled at a
stop's node is a set-Pareto route to that stop (a later label has no less time, and one with the
same time and a strict subset has a strictly lower charge, so it would have been settled first).
Two prunings keep the search finite and small, both exact:

* charge: labels dearer than an upper bound ``UB`` on the optimal day charge are dropped (a leg
  of the optimal day, and any route that dominates it, costs at most the day: its set is part of
  the union).  ``UB`` is the charge of the best feasible order found on the per-leg FASTEST routes;
* targets: with the exact fastest time ``d_b(v)`` from ``v`` to each stop ``b`` (reverse
  Dijkstra), a label ``(v, S, t)`` is dropped when, for every stop ``b``, either ``b`` cannot be
  reached from ``v`` or a route to ``b`` already settled has a set ``⊆ S`` and a time
  ``<= t + d_b(v)``: every way of finishing the label at any stop is dominated.  (Labels are
  settled in time order, so a settled route is never slower than ``t``: once a stop has a route
  with a subset of ``S``, labels with set ``⊇`` it stop spreading towards that stop.)

The stops' own seats and the already-charged seats have charge 0 (they are paid anyway) and are
not part of any charged set.

Why set-Pareto legs are exact for the whole day
-----------------------------------------------
Take any feasible day: an order and a route per leg.  Replace every leg's route ``r`` by a
set-Pareto route ``r'`` that dominates it (``S(r') ⊆ S(r)``, ``t(r') <= t(r)``; one exists because
times are positive, so a fastest route per set exists and is a simple path).  Then

* the union of the charged sets can only shrink, so the day's charge does not increase;
* the total driving time does not increase;
* no arrival time increases: by induction over the legs, ``depart_{j-1}`` does not increase and
  ``arrive_j = depart_{j-1} + t_j`` neither, and ``depart_j = max(arrive_j, earliest_j) + dwell_j``
  is non-decreasing in ``arrive_j`` -- so every window still holds.

Hence some optimal day uses set-Pareto legs only, and all of them cost at most ``UB``: combining
the matrix entries loses nothing.  (The same monotonicity shows an order is feasible at all iff it
is feasible with every leg its fastest route, which the ``UB`` search uses.)

Step 2 -- exact order search: branch and bound
----------------------------------------------
Depth-first over positions; a state is ``(visited stops, last stop, charged set, drive, clock)``
where ``clock`` is the departure time from the last stop; a child picks the next stop (the fixed
stop of that position, or any unvisited free stop) and one of the matrix routes to it.  Pruning:

* bound: the charge of ``charged set ∪ seats every remaining leg must pay`` (the intersection of
  the sets of all matrix routes into each remaining stop, and out of the new last stop) is a lower
  bound on the final charge (the charge is monotone in the set); the driving time so far plus, per
  remaining stop, the least time of any matrix route into it is a lower bound on the final drive.
  A child whose bounds cannot beat the incumbent lexicographically is pruned;
* windows: a route arriving after ``latest`` is not taken, and a child is dropped when some
  remaining stop ``c`` cannot be reached in time even directly, ``clock + fastest(b, c) > latest_c``
  (fastest times obey the triangle inequality, so no detour via other stops arrives earlier);
* dominance (memo): for the same visited stops and last stop, a state whose charged set is a
  superset, with no less drive and no earlier clock, than a state already expanded has no better
  completion (the same completions are feasible from the other, no dearer, no slower).

Children are tried in order of their bounds; the first incumbent is the best order found on the
fastest-route matrix.  When the search finishes, its incumbent is optimal (``optimal=True``,
``lower_bound_pence == cost_pence``).

Heuristic above ``exact_limit`` free stops (or when the time budget runs out)
--------------------------------------------------------------------------------
The order search starts from the best of the fastest-route order and the first orders of a short
branch and bound, improves it by local search (swap two free stops, move one, reverse a run of
free slots) under the EXACT cost of a given order (the same search restricted to one order), and
spends the rest of the budget on the branch and bound seeded with it.  It reports its best plan
and a PROVEN lower bound on the charge: the least bound over the subtrees the branch and bound did
not finish (each fully explored subtree is covered by the incumbent).  The result then says
``optimal=False``, whatever the gap.

References
----------
.. [1] E. Q. V. Martins, "On a multicriteria shortest path problem", European Journal of
   Operational Research 16 (1984) 236-245. https://doi.org/10.1016/0377-2217(84)90077-8
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from routeplan.errors import InfeasibleError, NoRouteError, UsageError
from routeplan.kernels.csr import reverse_csr
from routeplan.kernels.dijkstra import dijkstra_all, edge_tails, shortest_path
from routeplan.kernels.labels import LabelLimitError
from routeplan.locate import Stop
from routeplan.network import Network
from routeplan.policy import AVOID, ExpensePolicy
from routeplan.routing import day_charges
from routeplan.schedule import ON_TIME_SLACK_S
from routeplan.schedule import Window as ScheduleWindow

# Slack allowed when an arrival is compared with a window's latest time (float sums); the same as
# :mod:`routeplan.schedule` (what plan_day's timetable uses).
TIME_TOL_S = ON_TIME_SLACK_S
# Relative slack for time comparisons of sums taken in different orders.
_EPS = 1e-9
_INF = math.inf
# Share of the budget (and at most this many seconds) spent on the fastest-route order search.
_UB_SHARE, _UB_MIN_S, _UB_MAX_S = 0.2, 0.5, 5.0

# A stop's window: a :class:`routeplan.schedule.Window`, ``(earliest, latest)`` or ``None``.
Window = ScheduleWindow | tuple[float | None, float | None] | None


# ------------------------------------------------------------------------------ leg fronts


@dataclass(frozen=True)
class LegOption:
    """One set-Pareto route between two stops: its charged seats (as a bit mask over label ids
    and as a set), their charge and its driving time."""

    mask: int
    cost: int
    time_s: float

    @property
    def labels(self) -> frozenset[int]:
        out: set[int] = set()
        m = self.mask
        while m:
            low = m & -m
            out.add(low.bit_length() - 1)
            m ^= low
        return frozenset(out)


def _mask_of(labels: Sequence[int] | frozenset[int]) -> int:
    m = 0
    for x in labels:
        m |= 1 << int(x)
    return m


def _reverse_csr(indptr: npt.NDArray[np.int64], heads: npt.NDArray[np.int32],
                 ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.int64]]:
    """Reversed CSR: (indptr, heads, order) with ``order[k]`` the forward position of reversed k."""
    rindptr, order = reverse_csr(indptr, heads)
    return rindptr, edge_tails(indptr)[order].astype(np.int32), order


def times_to(indptr: npt.NDArray[np.int64], heads: npt.NDArray[np.int32], time_s: npt.NDArray[np.float64],
             targets: Sequence[int], allowed: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """``(n_nodes, len(targets))`` exact fastest times from every node to each target (inf if none)."""
    rindptr, rheads, order = _reverse_csr(indptr, heads)
    rw = np.ascontiguousarray(time_s[order])
    ra = np.ascontiguousarray(allowed[order])
    n = int(indptr.shape[0] - 1)
    out = np.empty((n, len(targets)), dtype=np.float64)
    for j, t in enumerate(targets):
        out[:, j] = dijkstra_all(rindptr, rheads, rw, ra, int(t))
    return out


def leg_fronts(
    indptr: npt.NDArray[np.int64],
    heads: npt.NDArray[np.int32],
    time_s: npt.NDArray[np.float64],
    label: npt.NDArray[np.int32],
    label_charge: npt.NDArray[np.int64],
    origin: int,
    targets: Sequence[int],
    *,
    allowed: npt.NDArray[np.bool_] | None = None,
    max_cost: int | None = None,
    to_targets: npt.NDArray[np.float64] | None = None,
    label_limit: int = 5_000_000,
    stats: dict[str, float] | None = None,
) -> dict[int, tuple[LegOption, ...]]:
    """Every set-Pareto route from ``origin`` to each node of ``targets``, by ONE label-setting
    search (see the module docstring).

    Parameters
    ----------
    indptr, heads, time_s, label, label_charge
        The graph and its charging (:mod:`routeplan.kernels`); a label of charge ``-1`` is never
        traversed, one of charge ``0`` is free and not part of any set.
    origin, targets
        Node indexes; a target equal to the origin gets the empty route only.
    allowed
        Edges that may be used (default: all but hard-avoid ones).
    max_cost
        Routes dearer than this are not wanted (an upper bound on the day's charge).
    to_targets
        ``times_to(..., targets, allowed)`` when already known (the pruning bound).

    Returns
    -------
    dict
        target node -> options sorted by (charge, time); empty when the target is unreachable.
    """
    origin = int(origin)
    tlist = sorted({int(t) for t in targets})
    out: dict[int, tuple[LegOption, ...]] = {}
    if origin in tlist:
        out[origin] = (LegOption(0, 0, 0.0),)
    tl = [t for t in tlist if t != origin]
    if not tl:
        return out
    lab = np.asarray(label, dtype=np.int64)
    ch = np.asarray(label_charge, dtype=np.int64)
    edge_ch = np.zeros(lab.shape[0], dtype=np.int64)
    has = lab >= 0
    edge_ch[has] = ch[lab[has]]
    if allowed is None:
        allowed = edge_ch != AVOID
    else:
        allowed = allowed & (edge_ch != AVOID)
    if to_targets is None:
        to_targets = times_to(indptr, heads, time_s, tl, allowed)
    elif to_targets.shape[1] != len(tl):
        msg = f"to_targets has {to_targets.shape[1]} columns for {len(tl)} targets"
        raise UsageError(msg)
    cap = _INF if max_cost is None else max_cost
    k = len(tl)
    tidx = {t: j for j, t in enumerate(tl)}
    ind = indptr.tolist()
    hd = heads.tolist()
    tt = time_s.tolist()
    ok = allowed.tolist()
    ech = np.where(edge_ch > 0, edge_ch, 0).tolist()
    elab = lab.tolist()

    # Label store (parallel lists): node, mask, time; alive flags for dominance.
    l_node: list[int] = [origin]
    l_mask: list[int] = [0]
    l_time: list[float] = [0.0]
    alive: list[bool] = [True]
    at_node: dict[int, list[int]] = {origin: [0]}
    heap: list[tuple[float, int, int]] = [(0.0, 0, 0)]
    settled: list[list[tuple[int, float, int]]] = [[] for _ in range(k)]
    pops = 0
    while heap:
        t, cost, li = heapq.heappop(heap)
        if not alive[li]:
            continue
        pops += 1
        v = l_node[li]
        mask = l_mask[li]
        j0 = tidx.get(v)
        if j0 is not None:
            settled[j0].append((mask, t, cost))
        # Target pruning: keep the label only if some stop could still get a new route from it.
        hv = to_targets[v].tolist()
        useful = False
        for j in range(k):
            d = hv[j]
            if d == _INF:
                continue
            lim = t + d
            lim -= _EPS * max(1.0, lim)
            for mm, tm, _c in settled[j]:
                if tm <= lim and mm & ~mask == 0:
                    break
            else:
                useful = True
                break
        if not useful:
            continue
        for e in range(ind[v], ind[v + 1]):
            if not ok[e]:
                continue
            w = hd[e]
            nt = t + tt[e]
            c = ech[e]
            if c > 0 and not mask >> elab[e] & 1:
                nmask = mask | (1 << elab[e])
                ncost = cost + c
                if ncost > cap:
                    continue
            else:
                nmask, ncost = mask, cost
            kept = at_node.get(w)
            if kept is None:
                kept = at_node[w] = []
            dominated = False
            for x in kept:
                if l_time[x] <= nt and l_mask[x] & ~nmask == 0:
                    dominated = True
                    break
            if dominated:
                continue
            survivors = []
            for x in kept:
                if nt <= l_time[x] and nmask & ~l_mask[x] == 0:
                    alive[x] = False
                else:
                    survivors.append(x)
            nl = len(l_node)
            if nl >= label_limit:
                msg = f"the leg-matrix search exceeded {label_limit:,} labels; give fewer stops"
                raise LabelLimitError(msg)
            survivors.append(nl)
            at_node[w] = survivors
            l_node.append(w)
            l_mask.append(nmask)
            l_time.append(nt)
            alive.append(True)
            heapq.heappush(heap, (nt, ncost, nl))
    for j, t in enumerate(tl):
        out[t] = tuple(sorted((LegOption(m, c, tm) for m, tm, c in settled[j]), key=lambda o: (o.cost, o.time_s)))
    if stats is not None:
        stats["labels"] = stats.get("labels", 0.0) + float(len(l_node))
        stats["settled"] = stats.get("settled", 0.0) + float(pops)
    return out


# ------------------------------------------------------------------------------ order search


@dataclass(frozen=True)
class OrderResult:
    """The chosen order of the day's stops and what it costs.

    ``order`` indexes into the stops given (``order[0] == 0``; fixed stops at their own index).
    ``cost_pence`` is the whole day's charge (stops' seats included, as ``plan_day`` reports it)
    and ``drive_s`` its driving time; ``optimal`` is True only when the exact search finished.
    ``lower_bound_pence`` is a proven lower bound on the charge of every feasible day (equal to
    ``cost_pence`` when optimal).  ``explored`` counts search states expanded; ``matrix_s`` and
    ``search_s`` are the times of the two steps.  ``arrive_s`` / ``depart_s`` are the timetable of
    the plan found (position 0: ``start_s``) and ``leg_s`` its legs' driving times.
    """

    order: tuple[int, ...]
    cost_pence: int
    drive_s: float
    optimal: bool
    lower_bound_pence: int
    explored: int
    matrix_s: float
    search_s: float
    arrive_s: tuple[float, ...] = ()
    depart_s: tuple[float, ...] = ()
    leg_s: tuple[float, ...] = ()
    stats: dict[str, float] = field(default_factory=dict, compare=False)


@dataclass
class _Best:
    cost: int  # charge of the legs' union (stops' seats excluded)
    drive: float
    order: tuple[int, ...]
    arrive: tuple[float, ...]
    depart: tuple[float, ...]
    legs: tuple[float, ...]


def _better(cost: int, drive: float, best: _Best | None) -> bool:
    """Lexicographically better than the incumbent (charge, then drive beyond rounding)."""
    if best is None or cost < best.cost:
        return True
    return cost == best.cost and drive < best.drive - _EPS * max(1.0, best.drive)


class _Aborted(Exception):
    pass


class OrderProblem:
    """A day's ordering problem on the leg matrix: exact evaluation of a given order, branch and
    bound over orders, local search.  Build it with :func:`prepare_order`."""

    def __init__(self, options: list[list[tuple[LegOption, ...]]], fast_s: list[list[float]], fixed: Sequence[bool],
                 earliest: Sequence[float], latest: Sequence[float], dwell: Sequence[float], start_s: float,
                 label_charge: Sequence[int], stop_pence: int = 0) -> None:
        self.n = len(options)
        self.options = options
        self.fast_s = fast_s
        self.fixed = tuple(bool(f) or i == 0 for i, f in enumerate(fixed))
        self.free = tuple(i for i in range(self.n) if not self.fixed[i])
        self.earliest = tuple(float(x) for x in earliest)
        self.latest = tuple(float(x) for x in latest)
        self.dwell = tuple(float(x) for x in dwell)
        self.start_s = float(start_s)
        self.charge = [int(x) for x in label_charge]
        self.stop_pence = int(stop_pence)
        self._cost_cache: dict[int, int] = {0: 0}
        n = self.n
        # Bounds per stop: least time into it, seats every route into it / out of it pays.
        self.min_in = [0.0] * n
        self.must_in = [0] * n
        self.must_out = [0] * n
        for c in range(n):
            times = [o.time_s for a in range(n) if a != c for o in options[a][c]]
            self.min_in[c] = min(times) if times else _INF
            self.must_in[c] = self._meet([o.mask for a in range(n) if a != c for o in options[a][c]])
            self.must_out[c] = self._meet([o.mask for b in range(n) if b != c for o in options[c][b]])
        self.windowed = tuple(c for c in range(n) if math.isfinite(self.latest[c]))
        self.explored = 0
        self.fastest_order: tuple[int, ...] | None = None  # best order on the fastest legs, if known

    @staticmethod
    def _meet(masks: list[int]) -> int:
        if not masks:
            return 0
        m = masks[0]
        for x in masks[1:]:
            m &= x
        return m

    def mask_cost(self, mask: int) -> int:
        got = self._cost_cache.get(mask)
        if got is None:
            got = 0
            m = mask
            while m:
                low = m & -m
                got += max(self.charge[low.bit_length() - 1], 0)
                m ^= low
            self._cost_cache[mask] = got
        return got

    # -- the branch and bound (also the exact evaluation of one order) -------------------------
    def _search(self, best: _Best | None, deadline: float, forced: Sequence[int] | None = None,
                ) -> tuple[_Best | None, float, bool]:
        """Depth-first branch and bound.  Returns (incumbent, least bound of unfinished subtrees
        -- inf when the search finished --, finished)."""
        n = self.n
        memo: dict[tuple[int, int], list[tuple[int, float, float]]] = {}
        state: dict[str, _Best | None] = {"best": best}
        trail: list[tuple[int, float, float, float]] = []  # (stop, arrive, depart, leg time)
        full = (1 << n) - 1
        aborted = [False]

        def dfs(pos: int, last: int, used: int, mask: int, cost: int, drive: float, clock: float) -> float:
            self.explored += 1
            cands: Sequence[int]
            if forced is not None:
                cands = (forced[pos],)
            elif self.fixed[pos]:
                cands = (pos,)
            else:
                cands = [f for f in self.free if not used >> f & 1]
            inc = state["best"]
            children: list[tuple[int, float, int, int, int, int, float, float, float]] = []
            for b in cands:
                if used >> b & 1:
                    continue
                rem = full & ~(used | 1 << b)
                must = self.must_out[b] if pos < n - 1 else 0
                rest = 0.0
                r = rem
                while r:
                    low = r & -r
                    c = low.bit_length() - 1
                    must |= self.must_in[c]
                    rest += self.min_in[c]
                    r ^= low
                for oi, o in enumerate(self.options[last][b]):
                    arrive = clock + o.time_s
                    if arrive > self.latest[b] + TIME_TOL_S:
                        continue
                    nmask = mask | o.mask
                    ncost = self.mask_cost(nmask)
                    ndrive = drive + o.time_s
                    lbc = self.mask_cost(nmask | must)
                    lbd = ndrive + rest
                    if not _better(lbc, lbd, inc):
                        continue
                    depart = max(arrive, self.earliest[b]) + self.dwell[b]
                    if any(rem >> c & 1 and depart + self.fast_s[b][c] > self.latest[c] + TIME_TOL_S
                           for c in self.windowed):
                        continue
                    children.append((lbc, lbd, b, oi, nmask, ncost, ndrive, arrive, depart))
            children.sort(key=lambda x: (x[0], x[1]))
            for ci, (lbc, lbd, b, oi, nmask, ncost, ndrive, arrive, depart) in enumerate(children):
                if time.perf_counter() > deadline:
                    aborted[0] = True
                    return float(min(x[0] for x in children[ci:]))
                if not _better(lbc, lbd, state["best"]):
                    continue
                o = self.options[last][b][oi]
                trail.append((b, arrive, depart, o.time_s))
                try:
                    if pos == n - 1:
                        if _better(ncost, ndrive, state["best"]):
                            state["best"] = _Best(
                                ncost, ndrive, (0, *(x[0] for x in trail)), (self.start_s, *(x[1] for x in trail)),
                                (self.start_s, *(x[2] for x in trail)), tuple(x[3] for x in trail))
                        continue
                    nused = used | 1 << b
                    key = (nused, b)
                    kept = memo.get(key)
                    if kept is None:
                        kept = memo[key] = []
                    if any(m & ~nmask == 0 and d <= ndrive and c <= depart for m, d, c in kept):
                        continue
                    kept[:] = [(m, d, c) for m, d, c in kept if not (nmask & ~m == 0 and ndrive <= d and depart <= c)]
                    kept.append((nmask, ndrive, depart))
                    sub = dfs(pos + 1, b, nused, nmask, ncost, ndrive, depart)
                finally:
                    trail.pop()
                if aborted[0]:
                    rest_lb = min((x[0] for x in children[ci + 1:]), default=_INF)
                    return min(sub, float(rest_lb))
            return _INF

        if n == 1:  # pragma: no cover - prepare_order needs two stops
            return _Best(0, 0.0, (0,), (self.start_s,), (self.start_s,), ()), _INF, True
        lb = dfs(1, 0, 1, 0, 0, 0.0, self.start_s)
        return state["best"], lb, not aborted[0]

    def evaluate(self, order: Sequence[int]) -> tuple[int, float] | None:
        """Exact (day charge in pence, drive) of a given order, or ``None`` when no choice of
        routes meets the windows (or a leg has no route)."""
        got = self._evaluate(order)
        return None if got is None else (got.cost + self.stop_pence, got.drive)

    def _evaluate(self, order: Sequence[int], best: _Best | None = None) -> _Best | None:
        order = tuple(int(x) for x in order)
        if sorted(order) != list(range(self.n)) or order[0] != 0:
            msg = f"an order must be a permutation of 0..{self.n - 1} starting with 0, got {order}"
            raise UsageError(msg)
        if any(self.fixed[i] and order[i] != i for i in range(self.n)):
            msg = f"order {order} moves a fixed stop"
            raise UsageError(msg)
        got, _, _ = self._search(best, _INF, forced=order)
        return got if got is not best else None

    def branch_and_bound(self, best: _Best | None, deadline: float) -> tuple[_Best | None, float, bool]:
        return self._search(best, deadline)

    def local_search(self, best: _Best, deadline: float) -> _Best:
        """First-improvement local search over the free stops' order (swap, move, reverse) under
        the exact cost of an order; stops at a local optimum or at the deadline."""
        slots = list(self.free)
        improved = True
        while improved:
            improved = False
            perm = [best.order[s] for s in slots]
            k = len(perm)
            moves: list[list[int]] = []
            for i, j in itertools.combinations(range(k), 2):
                p = perm.copy()
                p[i], p[j] = p[j], p[i]
                moves.append(p)
                p = perm.copy()
                p[i:j + 1] = reversed(p[i:j + 1])
                if j - i > 1:
                    moves.append(p)
            for i in range(k):
                for j in range(k):
                    if abs(i - j) > 1:
                        p = perm.copy()
                        p.insert(j, p.pop(i))
                        moves.append(p)
            for p in moves:
                if time.perf_counter() > deadline:
                    return best
                order = list(range(self.n))
                for s, f in zip(slots, p, strict=True):
                    order[s] = f
                got = self._evaluate(order, best)
                if got is not None and _better(got.cost, got.drive, best):
                    best = got
                    improved = True
                    break
        return best


def _check_windows(n: int, windows: Sequence[Window] | None, dwell_s: Sequence[float] | None,
                   start_s: float) -> tuple[list[float], list[float], list[float]]:
    if not isinstance(start_s, int | float) or isinstance(start_s, bool) or not math.isfinite(start_s):
        msg = f"start_s must be a finite number of seconds, got {start_s!r}"
        raise UsageError(msg)
    earliest = [-_INF] * n
    latest = [_INF] * n
    dwell = [0.0] * n
    if windows is not None:
        if len(windows) != n:
            msg = f"windows has {len(windows)} entries for {n} stops"
            raise UsageError(msg)
        for i, w in enumerate(windows):
            if w is None or i == 0:  # stop 0's window is ignored: the day starts at start_s
                continue
            if isinstance(w, ScheduleWindow):
                lo, hi = w.earliest_s, w.latest_s
            elif isinstance(w, tuple) and len(w) == 2:
                lo, hi = w
            else:
                msg = f"window of stop {i} must be a Window, (earliest, latest) or None, got {w!r}"
                raise UsageError(msg)
            for x in (lo, hi):
                if x is not None and (isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x)):
                    msg = f"window of stop {i} must hold finite seconds or None, got {w!r}"
                    raise UsageError(msg)
            if lo is not None and hi is not None and lo > hi:
                msg = f"window of stop {i} ends before it starts: {w!r}"
                raise UsageError(msg)
            earliest[i] = -_INF if lo is None else float(lo)
            latest[i] = _INF if hi is None else float(hi)
    if dwell_s is not None:
        if len(dwell_s) != n:
            msg = f"dwell_s has {len(dwell_s)} entries for {n} stops"
            raise UsageError(msg)
        for i, d in enumerate(dwell_s):
            if isinstance(d, bool) or not isinstance(d, int | float) or not math.isfinite(d) or d < 0:
                msg = f"dwell of stop {i} must be finite seconds >= 0, got {d!r}"
                raise UsageError(msg)
            dwell[i] = float(d) if i > 0 else 0.0  # stop 0's dwell is ignored
    return earliest, latest, dwell


def prepare_order(
    net: Network,
    stops: Sequence[Stop],
    fixed: Sequence[bool],
    policy: ExpensePolicy | None = None,
    *,
    already_charged: Sequence[str] = (),
    start_s: float = 8 * 3600,
    windows: Sequence[Window] | None = None,
    dwell_s: Sequence[float] | None = None,
    ub_budget_s: float = _UB_MAX_S,
    label_limit: int = 5_000_000,
) -> tuple[OrderProblem, dict[str, float]]:
    """Check the input and build the leg matrix (step 1 of the module docstring).

    Returns the problem and statistics (``matrix_s``, ``ub_pence``, ``options``, ``labels``).
    Raises as :func:`optimise_order` does.
    """
    policy = policy or ExpensePolicy()
    if policy.value_of_time_pence_per_hour is not None:
        msg = "a value of time is not supported for whole-day plans yet: the day is cheapest first, then fastest"
        raise UsageError(msg)
    stops = tuple(stops)
    n = len(stops)
    if n < 2:
        msg = f"a day needs at least two stops, got {n}"
        raise UsageError(msg)
    if len(fixed) != n:
        msg = f"fixed has {len(fixed)} entries for {n} stops"
        raise UsageError(msg)
    for st in stops:
        if not isinstance(st, Stop):
            msg = f"stops must be resolved stops (routeplan.locate.resolve), got {st!r}"
            raise UsageError(msg)
        if not 0 <= st.node < net.n_nodes or not -1 <= st.cell < len(net.cell_codes):
            msg = f"stop {st.label} is not on this network (node {st.node}, constituency {st.cell})"
            raise UsageError(msg)
    earliest, latest, dwell = _check_windows(n, windows, dwell_s, start_s)
    t0 = time.perf_counter()
    already = tuple(already_charged)
    charges, free = day_charges(net, policy, stops, already)
    stop_cells = {s.cell for s in stops if s.cell >= 0} if policy.charge_stops else set()
    stop_pence = sum(int(charges[c]) for c in stop_cells if charges[c] > 0)
    comp = net.compile(policy, free)
    exempt = frozenset(policy.exempt_classes)
    allowed = net.allowed_mask(exempt, comp.label_charge)
    ch = comp.label_charge
    nodes = [s.node for s in stops]
    fixed_t = tuple(bool(f) or i == 0 for i, f in enumerate(fixed))

    # Fastest route between every ordered pair: times (bounds) and their charged sets (the UB).
    fast_s = [[_INF] * n for _ in range(n)]
    fast_opts: list[list[tuple[LegOption, ...]]] = [[() for _ in range(n)] for _ in range(n)]
    for a in range(n):
        for b in range(n):
            if a == b:
                continue
            if nodes[a] == nodes[b]:
                fast_s[a][b] = 0.0
                fast_opts[a][b] = (LegOption(0, 0, 0.0),)
                continue
            r = shortest_path(comp.indptr, comp.heads, comp.time_s, nodes[a], nodes[b], allowed, xy=net.node_x_y,
                              inv_vmax=net.inv_vmax, landmarks=net.landmarks, workspace=net.workspace)
            if r is None:
                continue
            labs = {int(comp.label[k]) for k in r[1] if comp.label[k] >= 0 and ch[comp.label[k]] > 0}
            m = _mask_of(frozenset(labs))
            fast_s[a][b] = r[0]
            fast_opts[a][b] = (LegOption(m, int(sum(int(ch[x]) for x in labs)), r[0]),)
    stats: dict[str, float] = {}
    fpb = OrderProblem(fast_opts, fast_s, fixed_t, earliest, latest, dwell, start_s, ch.tolist(), stop_pence)
    t_ub = time.perf_counter()
    fbest, _, ffinished = fpb.branch_and_bound(None, time.perf_counter() + max(0.0, ub_budget_s))
    stats["ub_search_s"] = time.perf_counter() - t_ub
    if fbest is None and ffinished:
        # An order is feasible iff it is with its fastest legs (module docstring): none is.
        reach = [[_INF] * n for _ in range(n)]
        plain = np.ones(comp.heads.shape[0], dtype=np.bool_)
        for a in range(n):
            d = dijkstra_all(comp.indptr, comp.heads, comp.time_s, plain, nodes[a])
            for b in range(n):
                reach[a][b] = float(d[nodes[b]])
        zero: tuple[LegOption, ...] = (LegOption(0, 0, 0.0),)
        ropts = [[zero if a != b and math.isfinite(reach[a][b]) else () for b in range(n)] for a in range(n)]
        inf_w = [_INF] * n
        rpb = OrderProblem(ropts, reach, fixed_t, [-_INF] * n, inf_w, [0.0] * n, start_s, ch.tolist())
        got, _, _ = rpb.branch_and_bound(None, _INF)
        if got is None:
            msg = "no order of the stops can be driven: some stop cannot be reached from the others"
            raise NoRouteError(msg)
        msg = "no order of the stops meets the time windows while avoiding the hard-avoid constituencies"
        raise InfeasibleError(msg)
    ub: int | None = None if fbest is None else fbest.cost
    stats["ub_pence"] = float(-1 if ub is None else ub + stop_pence)

    # Step 1: set-Pareto routes, one label-setting search per origin.
    opts: list[list[tuple[LegOption, ...]]] = [[() for _ in range(n)] for _ in range(n)]
    kstats: dict[str, float] = {}
    tnodes = sorted({nodes[b] for b in range(1, n)})
    to_all = times_to(comp.indptr, comp.heads, comp.time_s, tnodes, allowed)
    col = {v: j for j, v in enumerate(tnodes)}
    done: dict[int, dict[int, tuple[LegOption, ...]]] = {}
    for a in range(n):
        if a == n - 1 and fixed_t[a]:
            continue  # a fixed last stop has no leg out
        v = nodes[a]
        if v not in done:
            tl = [t for t in tnodes if t != v]
            sub = to_all[:, [col[t] for t in tl]] if tl else np.zeros((comp.n_nodes, 0))
            done[v] = leg_fronts(comp.indptr, comp.heads, comp.time_s, comp.label, ch, v, tl + [v], allowed=allowed,
                                 max_cost=ub, to_targets=np.ascontiguousarray(sub), label_limit=label_limit, stats=kstats)
        for b in range(1, n):
            if b != a:
                opts[a][b] = done[v].get(nodes[b], ())
    stats.update(kstats)
    stats["options"] = float(sum(len(o) for row in opts for o in row))
    stats["matrix_s"] = time.perf_counter() - t0
    pb = OrderProblem(opts, fast_s, fixed_t, earliest, latest, dwell, start_s, ch.tolist(), stop_pence)
    pb.fastest_order = None if fbest is None else fbest.order
    return pb, stats


def optimise_order(
    net: Network,
    stops: Sequence[Stop],
    fixed: Sequence[bool],
    policy: ExpensePolicy | None = None,
    *,
    already_charged: Sequence[str] = (),
    start_s: float = 8 * 3600,
    windows: Sequence[Window] | None = None,
    dwell_s: Sequence[float] | None = None,
    exact_limit: int = 8,
    time_budget_s: float = 60.0,
) -> OrderResult:
    """The order of the day's stops with the cheapest day, then the least driving, meeting the
    time windows (module docstring: problem, algorithm, exactness).

    Parameters
    ----------
    net, policy, already_charged
        As for :func:`routeplan.day.plan_day`.
    stops
        Resolved stops; ``stops[0]`` is the start and always first.  An overnight stop is passed
        last with ``fixed=True``.
    fixed
        One flag per stop: a fixed stop keeps its index in the list; free stops fill the other
        positions in any order.  ``fixed[0]`` is ignored (the start is always first).
    start_s
        When the coach leaves stop 0 (seconds).
    windows
        Per stop a :class:`routeplan.schedule.Window`, ``(earliest, latest)`` seconds (either may
        be ``None``) or ``None``.  Arrival must be by ``latest``; service starts no earlier than
        ``earliest``.  Stop 0's window is ignored (the day starts at ``start_s``), as are the last
        stop's earliest time and dwell in effect (nothing follows it), as in
        :mod:`routeplan.schedule`.
    dwell_s
        Per stop service time (seconds, >= 0; stop 0's is ignored).
    exact_limit
        Up to this many free stops the search is exact (branch and bound); above, a heuristic
        with a proven lower bound (``optimal=False``).
    time_budget_s
        Wall-clock budget of the order search (after the matrix); when it runs out the best plan
        so far is returned with ``optimal=False`` and a proven lower bound.

    Raises
    ------
    UsageError
        Bad arguments (see :func:`prepare_order`).
    InfeasibleError
        A stop in a hard-avoid constituency, or no order meets the windows (or avoids the
        hard-avoid seats); also when the budget ran out before any feasible order was found.
    NoRouteError
        Some stop cannot be reached at all in any order.
    """
    if isinstance(exact_limit, bool) or not isinstance(exact_limit, int) or exact_limit < 0:
        msg = f"exact_limit must be a whole number >= 0, got {exact_limit!r}"
        raise UsageError(msg)
    if isinstance(time_budget_s, bool) or not isinstance(time_budget_s, int | float) or not time_budget_s >= 0 \
            or not math.isfinite(time_budget_s):
        msg = f"time_budget_s must be finite seconds >= 0, got {time_budget_s!r}"
        raise UsageError(msg)
    t_all = time.perf_counter()
    ub_budget = min(_UB_MAX_S, max(_UB_MIN_S, _UB_SHARE * time_budget_s))
    pb, stats = prepare_order(net, stops, fixed, policy, already_charged=already_charged, start_s=start_s,
                              windows=windows, dwell_s=dwell_s, ub_budget_s=ub_budget)
    matrix_s = time.perf_counter() - t_all
    t0 = time.perf_counter()
    deadline = t0 + time_budget_s
    best: _Best | None = None
    if pb.fastest_order is not None:
        best = pb._evaluate(pb.fastest_order)
    exact = len(pb.free) <= exact_limit
    if exact:
        best, lb, finished = pb.branch_and_bound(best, deadline)
    else:
        # Heuristic: a short branch and bound for first orders, local search, then the rest of
        # the budget on the branch and bound for a proven lower bound.
        best, lb, finished = pb.branch_and_bound(best, min(deadline, time.perf_counter() + 0.1 * time_budget_s))
        if not finished:
            if best is not None:
                best = pb.local_search(best, t0 + 0.5 * time_budget_s)
            best, lb, finished = pb.branch_and_bound(best, deadline)
    search_s = time.perf_counter() - t0
    if best is None:
        if finished:
            msg = "no order of the stops meets the time windows with the leg routes available"
            raise InfeasibleError(msg)
        msg = f"no feasible order found within the time budget of {time_budget_s:g} s (not proven infeasible)"
        raise InfeasibleError(msg)
    optimal = exact and finished
    lower = best.cost if finished else min(best.cost, math.floor(lb) if math.isfinite(lb) else best.cost)
    stats["search_s"] = search_s
    depart = (*best.depart[:-1], best.arrive[-1])  # the last stop: no wait, no dwell (schedule)
    return OrderResult(
        order=best.order, cost_pence=best.cost + pb.stop_pence, drive_s=best.drive, optimal=optimal,
        lower_bound_pence=int(lower) + pb.stop_pence, explored=pb.explored, matrix_s=matrix_s, search_s=search_s,
        arrive_s=best.arrive, depart_s=depart, leg_s=best.legs, stats=stats,
    )


__all__ = [
    "TIME_TOL_S", "LegOption", "OrderProblem", "OrderResult", "leg_fronts", "optimise_order", "prepare_order",
    "times_to",
]
