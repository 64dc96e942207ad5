"""Exact cheapest-then-fastest day under time windows: multi-criteria label setting on the
layered graph of a day (:func:`routeplan.day.layered_graph`) with a clock.

The rules (:mod:`routeplan.schedule`): the day leaves stop 0 at ``start_s``; stop ``j >= 1`` must
be reached by ``latest_j``; service starts at ``max(arrival, earliest_j)`` and lasts ``dwell_j``;
minimise the day charge, then the total *driving* time, then the arrival at the last stop.

The search
----------
A label is ``(node, charged set, drive, clock)``: the layered node, the positive-charge labels
(constituencies) paid so far, the driving time so far and the time of day.

* A road edge (inside a layer) adds its time to ``drive`` and to ``clock`` and may add its label
  to the set.  The transfer edge at stop ``j`` (leg ``j`` ends, leg ``j + 1`` begins) leaves
  ``drive`` and the set unchanged and sets ``clock = max(clock, earliest_j) + dwell_j``.
* Feasibility bound (exact per layer).  A backward Dijkstra from each stop ``s_{i+1}`` gives
  ``d_i(v)``, the fastest time from ``v`` to the stop ending leg ``i`` (layer ``i``); ``D_i`` is
  the fastest time of leg ``i``.  Backwards from the last stop, ``LA_j`` (the latest arrival at
  stop ``j`` from which every later window can still be met) is ``LA_k = latest_k`` and
  ``LA_j = min(latest_j, LA_{j+1} - D_j - dwell_j)`` (where leg ``j`` runs from stop ``j``),
  provided ``earliest_j + dwell_j + D_j <= LA_{j+1}`` (otherwise no day is feasible).  A label at
  ``(i, v)`` whose ``clock + d_i(v) > LA_{i+1}`` is pruned.  Because the departure rule
  ``max(., e) + d`` is non-decreasing, driving the fastest route onward arrives everywhere as
  early as possible, so this test is exact: it removes precisely the labels of which **no**
  extension meets every window (and keeps every label some extension of which does).  In
  particular a label arriving at stop ``j`` after ``latest_j`` is pruned (``d = 0`` at the stop,
  ``LA_j <= latest_j``).
* Dominance at a node: ``A`` dominates ``B`` when ``set(A) ⊆ set(B)``, ``drive(A) <= drive(B)``
  and ``clock(A) <= clock(B)``.  Every extension of ``B`` applied to ``A`` is no dearer (set
  union is monotone), drives no longer (same added times) and is never later at any later point
  (``+ t`` and ``max(., e) + d`` are non-decreasing), hence meets every window ``B``'s does: ``B``
  can be dropped without losing an optimum.
* Labels are settled in lexicographic order of ``(charge, drive + h, clock)`` where ``h(i, v) =
  d_i(v) + D_{i+1} + ... + D_{k-1}`` is the exact fastest layered time to the target: admissible
  and consistent (Dijkstra distances; zero-time transfers keep it equal on both sides).  Along
  any extension each key component is non-decreasing given the earlier ones (charge only grows;
  with equal charge ``drive + h`` only grows by consistency; with both equal, the clock only
  grows), so keys are non-decreasing along paths and the first label settled at the target is
  lexicographically least in (charge, drive, arrival) among all window-feasible days: this is
  Martins' multi-criteria label setting [1]_ with three non-decreasing criteria, an exact
  dominance and pruning that only removes labels whose every extension is infeasible.
* Labels dearer than ``ub_cost`` (the all-fastest day, which meets the windows whenever any day
  does) are pruned: the optimum is no dearer.

The search terminates: every cycle lies inside one layer (transfers only climb) and has positive
time, so a label that closed a cycle is dominated by its ancestor at the same node (no waiting
happens inside a layer: its set, drive and clock are all no smaller).

Pure Python (``heapq``): the exact A* bound, the charge bound and the feasibility bound keep it
to a corridor: a few hundred to a few thousand labels, under 0.2 s, on real Newport days.

References
----------
.. [1] E. Q. V. Martins, "On a multicriteria shortest path problem", European Journal of
   Operational Research 16 (1984) 236-245. https://doi.org/10.1016/0377-2217(84)90077-8
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from routeplan.kernels import FORBIDDEN
from routeplan.kernels.dijkstra import distances_to
from routeplan.kernels.labels import LabelLimitError

if TYPE_CHECKING:  # pragma: no cover - import cycle at runtime (day imports this kernel)
    from routeplan.day import LayeredGraph

# Slack when comparing clocks with window ends (see routeplan.schedule.ON_TIME_SLACK_S).
SLACK_S = 1e-6


@dataclass(frozen=True)
class WindowRoute:
    """The optimum: layered edge positions, charge, driving time and arrival at the last stop."""

    cost: int
    time_s: float
    arrive_s: float
    edges: tuple[int, ...]
    labels: frozenset[int]


@dataclass(frozen=True)
class WindowBounds:
    """Per-stop bounds of a layered day: ``leg_s[i]`` the fastest time of leg ``i + 1`` (inf if
    none), ``latest_arrival[j]`` the ``LA_j`` of the module docstring, ``feasible`` whether any
    day can meet the windows, ``to_stop[i]`` the fastest times to the stop ending layer ``i``."""

    leg_s: tuple[float, ...]
    latest_arrival: tuple[float, ...]
    feasible: bool
    to_stop: tuple[npt.NDArray[np.float64], ...]


def stop_nodes(lg: LayeredGraph) -> list[int]:
    """The network nodes of the day's stops, recovered from the layered graph."""
    k, n = lg.legs, lg.n
    mids = [int(lg.heads[p]) - (i + 1) * n for i, p in enumerate(lg.transfer)]
    return [lg.source, *mids, lg.target - (k - 1) * n]


def window_bounds(
    lg: LayeredGraph,
    allowed: npt.NDArray[np.bool_],
    earliest: Sequence[float],
    latest: Sequence[float],
    dwell_s: Sequence[float],
) -> WindowBounds:
    """Backward Dijkstra from each stop and the latest feasible arrival at each stop."""
    k, n = lg.legs, lg.n
    stops = stop_nodes(lg)
    to_stop: list[npt.NDArray[np.float64]] = []
    leg: list[float] = []
    for i in range(k):
        d = distances_to(lg.indptr, lg.heads, lg.time_s, i * n + stops[i + 1], allowed)[i * n : (i + 1) * n]
        to_stop.append(np.ascontiguousarray(d))
        leg.append(float(d[stops[i]]))
    la = [math.inf] * (k + 1)
    la[k] = float(latest[k])
    feasible = all(math.isfinite(x) for x in leg)
    for j in range(k - 1, 0, -1):
        nxt = la[j + 1] - leg[j] - float(dwell_s[j])
        if float(earliest[j]) + float(dwell_s[j]) + leg[j] > la[j + 1] + SLACK_S:
            feasible = False
        la[j] = min(float(latest[j]), nxt)
    return WindowBounds(tuple(leg), tuple(la), feasible, tuple(to_stop))


def windowed_cheapest(
    lg: LayeredGraph,
    label_charge: npt.NDArray[np.int64],
    *,
    start_s: float,
    earliest: Sequence[float],
    latest: Sequence[float],
    dwell_s: Sequence[float],
    ub_cost: int | None = None,
    label_limit: int = 20_000_000,
    stats: dict[str, float] | None = None,
) -> WindowRoute | None:
    """The cheapest day meeting every window, driving least among the cheapest, arriving
    earliest among those; ``None`` when no day meets the windows (or a leg has no route).

    Parameters
    ----------
    lg
        The layered graph of the day (:func:`routeplan.day.layered_graph`).
    label_charge
        Pence per label (0 free, -1 forbidden), stops' own seats already made free.
    start_s
        Departure from stop 0.
    earliest, latest, dwell_s
        Per stop (``len = legs + 1``), ``-inf`` / ``+inf`` for no limit.  Index 0 is ignored;
        so are the last stop's earliest and dwell (no transfer follows it).
    ub_cost
        An upper bound on the optimal charge (e.g. the all-fastest day's), or ``None``.
    label_limit
        Raise :class:`~routeplan.kernels.labels.LabelLimitError` past this many labels.
    stats
        Filled with ``labels``, ``settled``, ``window_pruned``.
    """
    k = lg.legs
    if not (len(earliest) == len(latest) == len(dwell_s) == k + 1):
        msg = f"earliest, latest and dwell_s need {k + 1} entries (one per stop)"
        raise ValueError(msg)
    lab = np.asarray(lg.label, dtype=np.int64)
    charge = np.asarray(label_charge, dtype=np.int64)
    edge_charge = np.zeros(lab.shape[0], dtype=np.int64)
    edge_charge[lab >= 0] = charge[lab[lab >= 0]]
    allowed = edge_charge != FORBIDDEN
    wb = window_bounds(lg, allowed, earliest, latest, dwell_s)
    start = float(start_s)
    if not wb.feasible or start + wb.leg_s[0] > wb.latest_arrival[1] + SLACK_S:
        return None

    # Per layered node: h (exact time to the target) and the latest clock that can still meet
    # every window (LA_{i+1} - d_i(v); -inf where the stop cannot be reached).
    rest = [0.0] * (k + 1)
    for i in range(k - 1, -1, -1):
        rest[i] = rest[i + 1] + wb.leg_s[i]
    h_parts: list[npt.NDArray[np.float64]] = []
    lat_parts: list[npt.NDArray[np.float64]] = []
    for i in range(k):
        d = wb.to_stop[i]
        fin = np.isfinite(d)
        h_parts.append(np.where(fin, d + rest[i + 1], np.inf))
        lat_parts.append(np.where(fin, wb.latest_arrival[i + 1] - np.where(fin, d, 0.0), -np.inf) + SLACK_S)
    hh: list[float] = np.concatenate(h_parts).tolist()
    lat: list[float] = np.concatenate(lat_parts).tolist()

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
    # Transfer positions -> (earliest, dwell) of the stop they serve (stop i + 1).
    xfer = {int(p): (float(earliest[i + 1]), float(dwell_s[i + 1])) for i, p in enumerate(lg.transfer)}
    ub = math.inf if ub_cost is None else int(ub_cost)

    ind = lg.indptr.tolist()
    hd = lg.heads.tolist()
    tt = lg.time_s.tolist()
    eb = edge_bit.tolist()
    ok = allowed.tolist()
    target = lg.target

    l_node: list[int] = [lg.source]
    l_mask: list[int] = [0]
    l_drive: list[float] = [0.0]
    l_clock: list[float] = [start]
    l_parent: list[int] = [-1]
    l_edge: list[int] = [-1]
    alive: list[bool] = [True]
    at_node: dict[int, list[int]] = {lg.source: [0]}
    heap: list[tuple[int, float, float, int]] = [(0, hh[lg.source], start, 0)]
    settled = pruned = 0
    found: WindowRoute | None = None

    while heap:
        cost, _f, _c, li = heapq.heappop(heap)
        if not alive[li]:
            continue
        settled += 1
        u, mask, dr, ck = l_node[li], l_mask[li], l_drive[li], l_clock[li]
        if u == target:
            edges: list[int] = []
            x = li
            while l_parent[x] >= 0:
                edges.append(l_edge[x])
                x = l_parent[x]
            edges.reverse()
            labs = frozenset(bit_label[b] for b in range(len(bit_label)) if mask >> b & 1)
            found = WindowRoute(cost, dr, ck, tuple(edges), labs)
            break
        for p in range(ind[u], ind[u + 1]):
            if not ok[p]:
                continue
            v = hd[p]
            w = xfer.get(p)
            if w is None:
                nd = dr + tt[p]
                nc = ck + tt[p]
            else:
                nd = dr
                nc = max(ck, w[0]) + w[1]
            if nc > lat[v]:
                pruned += 1
                continue
            b = eb[p]
            if b >= 0 and not mask >> b & 1:
                nmask = mask | (1 << b)
                ncost = cost + bit_charge[b]
                if ncost > ub:
                    continue
            else:
                nmask, ncost = mask, cost
            kept = at_node.get(v)
            if kept is None:
                kept = at_node[v] = []
            dominated = False
            for j in kept:
                if l_drive[j] <= nd and l_clock[j] <= nc and (l_mask[j] & ~nmask) == 0:
                    dominated = True
                    break
            if dominated:
                continue
            survivors = []
            for j in kept:
                if nd <= l_drive[j] and nc <= l_clock[j] and (nmask & ~l_mask[j]) == 0:
                    alive[j] = False
                else:
                    survivors.append(j)
            nl = len(l_node)
            if nl >= label_limit:
                msg = f"the exact windowed search exceeded {label_limit:,} labels; loosen the time windows or plan fewer stops"
                raise LabelLimitError(msg)
            survivors.append(nl)
            at_node[v] = survivors
            l_node.append(v)
            l_mask.append(nmask)
            l_drive.append(nd)
            l_clock.append(nc)
            l_parent.append(li)
            l_edge.append(p)
            alive.append(True)
            heapq.heappush(heap, (ncost, nd + hh[v], nc, nl))
    if stats is not None:
        stats.update({"labels": float(len(l_node)), "settled": float(settled), "window_pruned": float(pruned)})
    return found


__all__ = ["SLACK_S", "WindowBounds", "WindowRoute", "stop_nodes", "window_bounds", "windowed_cheapest"]
