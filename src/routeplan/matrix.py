"""Venue matrix: fastest and cheapest legs between every ordered pair of venues, in one pass.

A campaign planner with a list of venues wants, for every ordered pair ``(i, j)``, ``i != j``:

* ``fastest_s`` -- the least driving time, and ``fastest_pence`` / ``fastest_seats`` -- the charge
  and charged seats of the fastest route: among the routes of exactly that (least) time, the
  cheapest, which is what :func:`routeplan.routing.plan_leg` reports with ``alternatives=True``;
* ``cheapest_pence`` -- the exact least charge of any route, ``cheapest_s`` -- the least time of a
  route with that charge, and ``cheapest_seats`` -- the seats that route is charged for (codes), so
  that day planning can take unions of them.

Convention: what a pair's charge counts
---------------------------------------
A pair's charge is the charge of the constituencies its route drives through on NON-EXEMPT road,
each once, NOT counting the seats the two stops stand in when the policy charges stops
(``policy.charge_stops``, the default): a day plan pays those for the stops anyway, whatever the
route.  They are given beside it, per pair, as ``stop_seats`` (codes) and ``stop_pence`` (their
charge), so ``cheapest_pence + stop_pence`` is what ``plan_leg`` reports as the leg's cost.  With
``charge_stops=False`` nothing is set aside (``stop_seats`` is empty).  Seats in
``already_charged`` and seats with a £0 override are free and never appear in a charged set.
This is exactly the kernel cost of :func:`~routeplan.routing.plan_leg` on the same pair.

Rows with ``status`` other than ``"ok"`` have no times or charges (``None``):

* ``"avoid-stop"`` -- one of the two stops stands in a hard-avoid seat (``plan_leg`` raises
  :class:`~routeplan.errors.InfeasibleError`);
* ``"avoid-blocked"`` -- routes exist, but none avoids the hard-avoid seats (likewise);
* ``"no-route"`` -- no coach route at all (:class:`~routeplan.errors.NoRouteError`).

How (one-to-many per origin)
----------------------------
All fastest times from an origin come from ONE Dijkstra (:func:`~routeplan.kernels.dijkstra.
dijkstra_all`).  The charges come from ONE label-setting search per origin that settles every
target at once (:func:`routeplan.order.leg_fronts`): it returns every *set-Pareto* route to each
target (no other route has a subset of its charged seats and no more time), with the origin's seat
free.  For each target the destination's own seat is then set aside, and the cheapest-then-fastest
route and the cheapest of the fastest routes are picked among those options.  This is exact: any
route ``r`` is dominated by a set-Pareto ``r'`` (``S(r') ⊆ S(r)``, ``t(r') <= t(r)``), and removing
the destination's seat from both sets keeps ``S(r') ⊆ S(r)``, so ``r'`` is no dearer and no slower
under the pair's charge.  The fastest times to every target used to prune the search (one reverse
Dijkstra per distinct venue) are computed once per run (once per worker with Dask).

How (pairwise, the default)
---------------------------
One Dijkstra per origin gives the fastest times; then per pair the search
:func:`~routeplan.routing.plan_leg` runs (the flat label search, or from ``OVERLAY_MIN_NODES``
road nodes the constituency-cell overlay's, with the contraction hierarchy's fastest route), asked
only for the two ends of the pair's front (:func:`front_ends`): the cheapest route, and the
cheapest route within the fastest time.

Outputs, resume, Dask
---------------------
Rows are plain data (:class:`MatrixRow`).  :func:`write_matrix` writes Parquet (pyarrow), CSV or
JSON, chosen by the file's extension.  :class:`PartialFile` makes a long run resumable: every
finished origin is appended to ``<out>.partial.jsonl`` and fsynced; a resumed run reads it back
and skips those origins (``done=``), and the file is removed after the final atomic write.
:func:`venue_matrix_dask` runs batches of origins as tasks on ``dask.distributed``; every worker
loads the cached network once, and the overlay and the hierarchy the driver put in its cache
before the first task.  Its rows are equal to :func:`venue_matrix`'s, exactly.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import importlib
import io
import json
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict, cast

import numpy as np
import numpy.typing as npt

from routeplan import cache as rcache
from routeplan.allocator import reuse_freed_memory
from routeplan.errors import DataError, UsageError
from routeplan.kernels.corridor import mark_corridor
from routeplan.kernels.dijkstra import dijkstra_all, shortest_path
from routeplan.kernels.fastlabels import pareto_front_fast
from routeplan.kernels.labels import LabelRoute, route_cost
from routeplan.kernels.overlay_cells import CellOverlay, OverlayQuery
from routeplan.locate import Stop
from routeplan.network import Network
from routeplan.order import LegOption, _reverse_csr, leg_fronts, times_to
from routeplan.policy import AVOID, ExpensePolicy
from routeplan.routing import CH_MIN_NODES, OVERLAY_MIN_NODES, OVERLAY_TREES_FIRST_NODES

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
STATUSES = ("ok", "avoid-stop", "avoid-blocked", "no-route")
COLUMNS = (
    "origin", "destination", "origin_label", "destination_label", "status",
    "fastest_s", "fastest_pence", "fastest_seats",
    "cheapest_s", "cheapest_pence", "cheapest_seats",
    "stop_seats", "stop_pence",
)
_SEAT_COLUMNS = ("fastest_seats", "cheapest_seats", "stop_seats")
_INT_COLUMNS = ("origin", "destination", "fastest_pence", "cheapest_pence", "stop_pence")
_FLOAT_COLUMNS = ("fastest_s", "cheapest_s")
FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".json": "json"}
# Relative slack when the label search's fastest time is checked against Dijkstra's.
_TIME_CHECK = 1e-9
_NETWORK_KEY = re.compile(r"^[0-9a-f]{40}$")

# How the charges are found (module docstring): both exact, with equal results.
Method = Literal["pairwise", "one-to-many"]
METHODS: tuple[Method, ...] = ("pairwise", "one-to-many")
# (done origins, all origins) after each finished origin.
Progress = Callable[[int, int], None]


class MatrixRow(TypedDict):
    """One ordered pair of venues (see the module docstring for the convention)."""

    origin: int
    destination: int
    origin_label: str
    destination_label: str
    status: str
    fastest_s: float | None
    fastest_pence: int | None
    fastest_seats: list[str]
    cheapest_s: float | None
    cheapest_pence: int | None
    cheapest_seats: list[str]
    stop_seats: list[str]
    stop_pence: int


@dataclass(frozen=True)
class MatrixResult:
    """Every ordered pair ``(i, j)``, ``i != j``, in order of ``(origin, destination)``.

    ``computed`` lists the origins computed by this call (the others came from ``done=``);
    ``meta`` describes the run (network, policy, convention) and goes into the outputs.
    """

    labels: tuple[str, ...]
    rows: tuple[MatrixRow, ...]
    meta: dict[str, Any]
    computed: tuple[int, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)

    def cell(self, i: int, j: int) -> MatrixRow:
        """The row of the pair ``(i, j)``."""
        n = len(self.labels)
        if not (0 <= i < n and 0 <= j < n) or i == j:
            msg = f"no pair ({i}, {j}) in a matrix of {n} venues"
            raise UsageError(msg)
        return self.rows[i * (n - 1) + (j if j < i else j - 1)]


# ------------------------------------------------------------------------------ computing


def _check_inputs(net: Network, stops: Sequence[Stop], policy: ExpensePolicy) -> None:
    if policy.value_of_time_pence_per_hour is not None:
        msg = "a value of time is not supported for the venue matrix: it gives the cheapest and the fastest legs"
        raise UsageError(msg)
    if len(stops) < 2:
        msg = f"a venue matrix needs at least two venues, got {len(stops)}"
        raise UsageError(msg)
    for st in stops:
        if not isinstance(st, Stop):
            msg = f"stops must be resolved stops (routeplan.locate.resolve), got {st!r}"
            raise UsageError(msg)
        if not 0 <= st.node < net.n_nodes or not -1 <= st.cell < len(net.cell_codes):
            msg = f"stop {st.label} is not on this network (node {st.node}, constituency {st.cell})"
            raise UsageError(msg)


def fingerprint(network_key: str, stops: Sequence[Stop], policy: ExpensePolicy, already_charged: Sequence[str]) -> str:
    """What a matrix depends on (network, venues, policy, seats already charged): a partial file
    written for another fingerprint is never resumed."""
    desc = policy.describe()
    data = {
        "format": FORMAT_VERSION,
        "network": network_key,
        "stops": [[s.label, repr(s.lat), repr(s.lon), s.node, s.cell] for s in stops],
        "policy": desc,
        "overrides": sorted([k, v] for k, v in policy.overrides.items()),
        "charge_stops": policy.charge_stops,
        "already": sorted(set(already_charged)),
    }
    return hashlib.sha1(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def network_key(net: Network) -> str:
    """The key a network is known by: its cache key, else the OSM file's sha256 and boundaries."""
    key = net.meta.get("cache_key")
    if key:
        return str(key)
    return f"{net.meta.get('osm_sha256', '?')}|{net.meta.get('boundaries', '?')}|{net.n_nodes}|{net.n_edges}"


@dataclass
class _Corridor:
    """Reverse adjacency of one CSR and the scratch of :func:`mark_corridor` (reused by every pair)."""

    heads: npt.NDArray[np.int32]
    rev_ptr: npt.NDArray[np.int64]
    rev_edge: npt.NDArray[Any]
    out: npt.NDArray[np.float64]
    seen: npt.NDArray[np.bool_]
    queue: npt.NDArray[np.int64]
    edges: npt.NDArray[Any]


class _Context:
    """What every origin of one matrix shares: charges, the allowed edges and the fastest times
    from every node to every venue (the search's pruning bound)."""

    def __init__(self, net: Network, stops: Sequence[Stop], policy: ExpensePolicy, already: tuple[str, ...],
                 method: Method = "pairwise") -> None:
        if method not in METHODS:
            msg = f"unknown matrix method {method!r} ({', '.join(METHODS)})"
            raise UsageError(msg)
        self.method = method
        self.net = net
        self.stops = tuple(stops)
        self.policy = policy
        self.already = already
        self.charges = policy.label_charges(net.cell_codes, net.cell_names, already)
        self.exempt = frozenset(policy.exempt_classes)
        comp = net.compile(policy, already)
        self.allowed: npt.NDArray[np.bool_] = net.allowed_mask(self.exempt, comp.label_charge)
        self.avoid_stop = [s.cell >= 0 and int(self.charges[s.cell]) == AVOID for s in self.stops]
        self.tnodes = sorted({s.node for s, bad in zip(self.stops, self.avoid_stop, strict=True) if not bad})
        self.col = {v: k for k, v in enumerate(self.tnodes)}
        self._to_all: npt.NDArray[np.float64] | None = None
        self._corridor_scratch: _Corridor | None = None
        self._trees: dict[tuple[int, bool, int], tuple[Any, ...]] = {}
        self._trees_for: npt.NDArray[np.float64] | None = None

    @property
    def to_all(self) -> npt.NDArray[np.float64]:
        if self._to_all is None:
            c = self.net.compile(self.policy, self.already)
            self._to_all = times_to(c.indptr, c.heads, c.time_s, self.tnodes, self.allowed)
        return self._to_all

    def _corridor(self, indptr: npt.NDArray[np.int64], heads: npt.NDArray[np.int32], ov: CellOverlay | None) -> _Corridor:
        """The reverse adjacency and scratch arrays of :func:`mark_corridor`, made once: the
        overlay's in-edge lists when there is one (built from the same CSR), else the reversed CSR
        ``times_to`` uses (:func:`routeplan.order._reverse_csr`)."""
        sc = self._corridor_scratch
        if sc is None or sc.heads is not heads:
            n, m = self.net.n_nodes, heads.shape[0]
            rev_edge: npt.NDArray[Any]
            if ov is not None:
                rev_ptr, rev_edge = ov.rev_ptr, ov.rev_edge
            else:
                rev_ptr, _, rev_edge = _reverse_csr(indptr, heads)
            sc = self._corridor_scratch = _Corridor(heads=heads, rev_ptr=rev_ptr, rev_edge=rev_edge, out=np.full(m, np.inf),
                                                    seen=np.zeros(n, dtype=np.bool_), queue=np.empty(n, dtype=np.int64),
                                                    edges=np.empty(m, dtype=rev_edge.dtype))
        return sc

    def _cell_trees(self, time_s: npt.NDArray[np.float64]) -> dict[tuple[int, bool, int], tuple[Any, ...]]:
        """The overlay's end-cell searches, kept for the whole matrix: an origin's serves all its
        destinations and a destination's all origins (2 n cell searches instead of 2 n^2).  They
        take venues x cell size x about 16 bytes: on realistic GENERATED GB, 294 trees and 11 MB
        after 3 origins of 300 venues."""
        if self._trees_for is not time_s:
            self._trees, self._trees_for = {}, time_s
        return self._trees

    def _stop_seats(self, i: int, j: int) -> tuple[list[int], int]:
        if not self.policy.charge_stops:
            return [], 0
        cells = sorted({c for c in (self.stops[i].cell, self.stops[j].cell) if c >= 0 and int(self.charges[c]) > 0})
        return cells, sum(int(self.charges[c]) for c in cells)

    def _codes(self, cells: Iterable[int]) -> list[str]:
        return sorted(self.net.cell_codes[c] for c in cells)

    def origin_rows(self, i: int) -> list[MatrixRow]:
        """The rows ``(i, j)`` for every ``j != i`` (see the module docstring)."""
        net, stops, n = self.net, self.stops, len(self.stops)
        origin = stops[i]
        rows: list[MatrixRow] = []

        def row(j: int, status: str, fast: tuple[float, int, list[int]] | None = None,
                cheap: tuple[float, int, list[int]] | None = None) -> MatrixRow:
            seats, pence = self._stop_seats(i, j)
            return MatrixRow(
                origin=i, destination=j, origin_label=origin.label, destination_label=stops[j].label, status=status,
                fastest_s=None if fast is None else fast[0], fastest_pence=None if fast is None else fast[1],
                fastest_seats=[] if fast is None else self._codes(fast[2]),
                cheapest_s=None if cheap is None else cheap[0], cheapest_pence=None if cheap is None else cheap[1],
                cheapest_seats=[] if cheap is None else self._codes(cheap[2]),
                stop_seats=self._codes(seats), stop_pence=pence,
            )

        others = [j for j in range(n) if j != i]
        if self.avoid_stop[i]:
            return [row(j, "avoid-stop") for j in others]
        free = list(self.already)
        if self.policy.charge_stops and origin.cell >= 0 and net.cell_codes[origin.cell] not in free:
            free.append(net.cell_codes[origin.cell])
        comp = net.compile(self.policy, tuple(free))
        dist = dijkstra_all(comp.indptr, comp.heads, comp.time_s, self.allowed, int(origin.node))
        tight = tight_times(comp.tails, comp.heads, comp.time_s, dist) if self.method == "pairwise" else None
        if self.method == "one-to-many":
            tl = [t for t in self.tnodes if t != origin.node]
            sub = np.ascontiguousarray(self.to_all[:, [self.col[t] for t in tl]]) if tl else np.zeros((comp.n_nodes, 0))
            fronts = leg_fronts(comp.indptr, comp.heads, comp.time_s, comp.label, comp.label_charge, origin.node,
                                [*tl, origin.node], allowed=self.allowed, to_targets=sub)
        plain: npt.NDArray[np.float64] | None = None
        for j in others:
            dest = stops[j]
            if self.avoid_stop[j]:
                rows.append(row(j, "avoid-stop"))
                continue
            d = float(dist[dest.node])
            if not math.isfinite(d):
                if plain is None:
                    plain = dijkstra_all(comp.indptr, comp.heads, comp.time_s, np.ones(comp.heads.shape[0], dtype=np.bool_),
                                         int(origin.node))
                rows.append(row(j, "avoid-blocked" if math.isfinite(float(plain[dest.node])) else "no-route"))
                continue
            if self.method == "one-to-many":
                cands = self._from_front(fronts.get(dest.node, ()), dest, comp.label_charge)
            else:
                assert tight is not None
                cands = self._pairwise(origin, dest, free, tight)
            if not cands:
                msg = f"internal error: no route found from {origin.label} to {dest.label} though Dijkstra reached it"
                raise AssertionError(msg)
            c_cost, c_time, c_labs = min(cands, key=lambda x: (x[0], x[1]))
            f_cost, f_time, f_labs = min(cands, key=lambda x: (x[1], x[0]))
            if abs(f_time - d) > _TIME_CHECK * max(1.0, d):
                msg = f"internal error: label search time {f_time} != Dijkstra {d} for {origin.label} -> {dest.label}"
                raise AssertionError(msg)
            rows.append(row(j, "ok", (d, f_cost, f_labs), (c_time, c_cost, c_labs)))
        return rows

    def _from_front(self, opts: Sequence[LegOption], dest: Stop, ch: npt.NDArray[np.int64]) -> list[tuple[int, float, list[int]]]:
        """(charge, time, seats) of every set-Pareto option, the destination's own seat set aside."""
        own = dest.cell if self.policy.charge_stops and dest.cell >= 0 else -1
        own_ch = int(ch[own]) if own >= 0 and int(ch[own]) > 0 else 0
        out = []
        for o in opts:
            labs = sorted(o.labels)
            if own >= 0 and own in labs:
                labs.remove(own)
                out.append((o.cost - own_ch, o.time_s, labs))
            else:
                out.append((o.cost, o.time_s, labs))
        return out

    def _pairwise(self, origin: Stop, dest: Stop, free: list[str], tight: npt.NDArray[np.float64]) -> list[tuple[int, float, list[int]]]:
        """The cheapest route (fastest among the cheapest) and the cheapest among the fastest routes
        of one pair, both stops' seats free, by the goal-directed exact kernel plan_leg runs.

        A row needs only these two ends of the (charge, time) Pareto front: :func:`front_ends`.
        """
        net = self.net
        pfree = list(free)
        if self.policy.charge_stops and dest.cell >= 0 and net.cell_codes[dest.cell] not in pfree:
            pfree.append(net.cell_codes[dest.cell])
        comp = net.compile(self.policy, tuple(pfree))
        cg = net.cell_graph(self.exempt)

        def flat(times: npt.NDArray[np.float64]) -> Callable[..., list[LabelRoute]]:
            def run(**kw: Any) -> list[LabelRoute]:
                return pareto_front_fast(comp.indptr, comp.heads, times, comp.label, comp.label_charge, origin.node, dest.node,
                                         xy=net.node_x_y, inv_vmax=net.inv_vmax, landmarks=net.landmarks, workspace=net.workspace, **kw)
            return run

        search: Callable[..., list[LabelRoute]]
        ov: CellOverlay | None = None
        if net.n_nodes >= OVERLAY_MIN_NODES:  # the engine plan_leg's "fast" picks at this size
            ov = net.overlay(self.exempt)
            query = OverlayQuery(ov, comp.indptr, comp.heads, comp.tails, comp.time_s, comp.label,
                                 comp.label_charge, origin.node, dest.node, xy=net.node_x_y, inv_vmax=net.inv_vmax,
                                 landmarks=net.landmarks, workspace=net.workspace, trees=self._cell_trees(comp.time_s))
            if net.n_nodes >= CH_MIN_NODES and not bool((comp.label_charge == AVOID).any()):
                # As plan_leg: the hierarchy's fastest route (it cannot drop hard-avoid roads).
                from routeplan.kernels.ch import ch_query

                fast = ch_query(net.ch(), origin.node, dest.node, net.ch_workspace)
            else:
                fast = query.fastest(goal_directed=net.n_nodes < OVERLAY_TREES_FIRST_NODES)
            search = query.front
        else:
            fast = shortest_path(comp.indptr, comp.heads, comp.time_s, origin.node, dest.node, self.allowed, xy=net.node_x_y,
                                 inv_vmax=net.inv_vmax, landmarks=net.landmarks, workspace=net.workspace)
            search = flat(comp.time_s)
        if fast is None:
            return []
        def within(**kw: Any) -> list[LabelRoute]:
            # The cheapest among the fastest routes: the same search, along the fastest routes to
            # this destination only (kernels.corridor); the routes it may take are the same.
            sc = self._corridor(comp.indptr, comp.heads, ov)
            k = mark_corridor(dest.node, tight, comp.tails, sc.rev_ptr, sc.rev_edge, sc.out, sc.seen, sc.queue, sc.edges)
            try:
                return flat(sc.out)(**kw)
            finally:
                sc.out[sc.edges[:k]] = np.inf

        routes = front_ends(search, fast, comp.label, comp.label_charge, within=within, cell_graph=cg)
        return [(lr.cost, lr.time_s, sorted(route_cost(lr.edges, comp.label, comp.label_charge)[1])) for lr in routes]


def front_ends(search: Callable[..., list[LabelRoute]], fast: tuple[float, list[int]], label: npt.NDArray[np.int32],
               label_charge: npt.NDArray[np.int64], *, within: Callable[..., list[LabelRoute]] | None = None,
               **kw: Any) -> list[LabelRoute]:
    """The two ends of a pair's (charge, time) Pareto front: the cheapest route (fastest among the
    cheapest) and, when slower than ``fast``, the cheapest route within ``fast``'s time (the
    cheapest of the equally fastest routes: the fastest row's charge).

    ``search(**kw)`` is an exact front search with the contract of
    :func:`~routeplan.kernels.fastlabels.pareto_front_fast` (or ``OverlayQuery.front``) on one
    pair, ``fast`` that pair's fastest route; ``within`` (default ``search``) answers the second
    question, e.g. the same search over :func:`tight_times` only.  Two searches that stop at their
    first answer cost far less than the whole front: on the realistic GENERATED region, 100 pairs,
    mean 103 against 202 ms a pair; on realistic GB some pairs' whole front runs for minutes.
    """
    ub, _ = route_cost(fast[1], label, label_charge)
    routes = search(ub_cost=ub, fastest=fast, first_only=True, **kw)
    if routes and routes[0].time_s > fast[0]:
        routes += (within or search)(ub_cost=ub, fastest=fast, first_only=True, max_time=fast[0] * (1 + 1e-12), **kw)
    return routes


def tight_times(tails: npt.NDArray[np.int64], heads: npt.NDArray[np.int32], time_s: npt.NDArray[np.float64],
                dist: npt.NDArray[np.float64], rtol: float = 1e-9) -> npt.NDArray[np.float64]:
    """Edge times with every edge that lies on no fastest route from the origin set to infinity.

    ``dist`` holds the fastest times from the origin.  Every prefix of a fastest route is a fastest
    route, so each of its edges ``u -> v`` is *tight*: ``dist[u] + t(u, v) == dist[v]`` (here within
    ``rtol``, which admits the float noise of adding the same times in another order).  A search
    for the cheapest route within the fastest time therefore loses nothing by keeping tight edges
    only, and it then follows the fastest-route tree instead of every cheap detour whose lower time
    bound is loose: on realistic GENERATED GB one such pair took minutes on all edges.
    """
    du = dist[tails]
    ok = np.isfinite(du) & (du + time_s <= dist[heads] * (1 + rtol) + rtol)
    return np.where(ok, time_s, np.inf)


def venue_matrix(
    net: Network,
    stops: Sequence[Stop],
    policy: ExpensePolicy | None = None,
    *,
    already_charged: Sequence[str] = (),
    progress: Progress | None = None,
    done: Mapping[int, Sequence[MatrixRow]] | None = None,
    on_origin: Callable[[int, list[MatrixRow]], None] | None = None,
    method: Method = "pairwise",
) -> MatrixResult:
    """Fastest and cheapest legs between every ordered pair of ``stops`` (module docstring).

    Parameters
    ----------
    net, stops, policy, already_charged
        As for :func:`routeplan.routing.plan_leg`; ``stops`` from :func:`routeplan.locate.resolve`.
        A policy with a value of time is refused (the matrix gives cheapest and fastest).
    progress
        Called with ``(origins done, origins)`` after each origin (resumed ones count as done).
    done
        Rows of origins already finished (a resumed run, :meth:`PartialFile.load`): not
        recomputed.  Each must hold the ``n - 1`` rows of its origin.
    on_origin
        Called with ``(origin, rows)`` as soon as an origin is finished (e.g.
        :meth:`PartialFile.append`), in the order they finish.

    Raises
    ------
    UsageError
        Fewer than two stops, a stop not on the network, a value of time, bad ``done`` rows.
    ConfigError
        An ``already_charged`` code not in the boundary set.
    """
    policy = policy or ExpensePolicy()
    stops = tuple(stops)
    already = tuple(already_charged)
    _check_inputs(net, stops, policy)
    got = _check_done(done, stops)
    t0 = time.perf_counter()
    ctx = _Context(net, stops, policy, already, method)
    todo = [i for i in range(len(stops)) if i not in got]
    n_done = len(got)
    if progress is not None:
        progress(n_done, len(stops))
    for i in todo:
        rows = ctx.origin_rows(i)
        got[i] = rows
        if on_origin is not None:
            on_origin(i, rows)
        n_done += 1
        if progress is not None:
            progress(n_done, len(stops))
    return _result(net, stops, policy, already, got, tuple(todo), {"matrix_s": time.perf_counter() - t0})


def as_row(data: Mapping[str, Any]) -> MatrixRow:
    """A :class:`MatrixRow` from a mapping with (at least) its columns, in column order."""
    try:
        return cast(MatrixRow, {k: data[k] for k in COLUMNS})
    except KeyError as exc:
        msg = f"matrix row without column {exc}"
        raise DataError(msg) from None


def _check_done(done: Mapping[int, Sequence[MatrixRow]] | None, stops: Sequence[Stop]) -> dict[int, list[MatrixRow]]:
    n = len(stops)
    got: dict[int, list[MatrixRow]] = {}
    for i, rows in (done or {}).items():
        want = [j for j in range(n) if j != i]
        if not 0 <= i < n or [r["origin"] for r in rows] != [i] * len(rows) or [r["destination"] for r in rows] != want:
            msg = f"done rows for origin {i} do not fit a matrix of {n} venues"
            raise UsageError(msg)
        got[int(i)] = [as_row(r) for r in rows]
    return got


def _result(net: Network, stops: Sequence[Stop], policy: ExpensePolicy, already: tuple[str, ...],
            got: Mapping[int, Sequence[MatrixRow]], computed: tuple[int, ...], timings: dict[str, float]) -> MatrixResult:
    rows = tuple(r for i in range(len(stops)) for r in got[i])
    return MatrixResult(labels=tuple(s.label for s in stops), rows=rows, meta=_meta(net, stops, policy, already),
                        computed=computed, timings=timings)


def _meta(net: Network, stops: Sequence[Stop], policy: ExpensePolicy, already: tuple[str, ...]) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "network": {"osm_file": net.meta.get("osm_file"), "boundaries": net.meta.get("boundaries"),
                    "generated": bool(net.meta.get("generated")), "key": network_key(net)},
        "policy": policy.describe(),
        "already_charged": list(already),
        "venues": [{"label": s.label, "lat": s.lat, "lon": s.lon, "node": s.node,
                    "constituency": net.cell_codes[s.cell] if s.cell >= 0 else None} for s in stops],
        "convention": ("pence: seats the route drives through on non-exempt road, each once, not counting the "
                       "stops' own seats (stop_seats/stop_pence) when stops are charged; fastest_pence: the cheapest "
                       "route of exactly the least time"),
        "attribution": ["© OpenStreetMap contributors (ODbL)", net.meta.get("boundary_attribution", "")],
    }


# ------------------------------------------------------------------------------ resume


class PartialFile:
    """``<out>.partial.jsonl``: the finished origins of an interrupted run, one JSON line each.

    Use: ``done = pf.load()`` (resume) or nothing (afresh: an existing file is replaced), then
    ``on_origin=pf.append``; the file is created by the first append.

    The first line holds the run's :func:`fingerprint`; each later line ``{"origin": i, "rows":
    [...]}`` is appended and fsynced when origin ``i`` is finished.  A torn last line (the run was
    killed while writing it) is ignored and cut off.  A file written for other inputs is refused.
    """

    def __init__(self, path: str | os.PathLike[str], fp: str) -> None:
        self.path = Path(path)
        self.fp = fp
        self._fh: io.TextIOWrapper | None = None
        self._lock = threading.Lock()
        self._loaded = False

    @staticmethod
    def for_output(out: str | os.PathLike[str]) -> Path:
        return Path(f"{out}.partial.jsonl")

    def load(self) -> dict[int, list[MatrixRow]]:
        """The rows of the finished origins (empty when there is no file)."""
        if not self.path.exists():
            return {}
        self._loaded = True
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            msg = f"cannot read partial file {self.path}: {exc.strerror or exc}"
            raise DataError(msg) from exc
        lines = data.split(b"\n")
        good = 0  # bytes of whole, valid lines
        out: dict[int, list[MatrixRow]] = {}
        for k, raw in enumerate(lines):
            if k == len(lines) - 1 and raw == b"":
                break
            try:
                rec = json.loads(raw)
            except ValueError:
                if k >= len(lines) - 2:  # the last line: torn by a kill
                    log.warning("partial file %s: ignoring a torn last line", self.path)
                    break
                msg = f"partial file {self.path} line {k + 1} is not JSON; delete it to start afresh"
                raise DataError(msg) from None
            if k == 0:
                if not isinstance(rec, dict) or rec.get("fingerprint") != self.fp:
                    msg = (f"partial file {self.path} was written for other inputs (network, venues or policy); "
                           "delete it to start afresh")
                    raise UsageError(msg)
            else:
                if not isinstance(rec, dict) or not isinstance(rec.get("origin"), int) or not isinstance(rec.get("rows"), list):
                    msg = f"partial file {self.path} line {k + 1} is not an origin's rows; delete it to start afresh"
                    raise DataError(msg)
                out[rec["origin"]] = rec["rows"]
            good += len(raw) + 1
        if good < len(data):
            with open(self.path, "r+b") as fh:
                fh.truncate(good)
        return out

    def open(self, *, resume: bool) -> None:
        """Start appending: after the lines kept by :meth:`load` (``resume``), or afresh."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if resume and self.path.exists() and self.path.stat().st_size > 0:
            self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()
            return
        self._fh = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 - closed by close()
        self._write({"fingerprint": self.fp, "format": FORMAT_VERSION})

    def _write(self, rec: Mapping[str, Any]) -> None:
        assert self._fh is not None
        self._fh.write(json.dumps(rec, allow_nan=False, separators=(",", ":")) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def append(self, origin: int, rows: Sequence[MatrixRow]) -> None:
        """Record a finished origin (durable when this returns)."""
        with self._lock:
            if self._fh is None:
                self.open(resume=self._loaded)
            self._write({"origin": origin, "rows": list(rows)})

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def remove(self) -> None:
        self.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


# ------------------------------------------------------------------------------ writers


def format_for(path: str | os.PathLike[str]) -> str:
    """``parquet``, ``csv`` or ``json`` from the file's extension."""
    ext = Path(path).suffix.lower()
    if ext not in FORMATS:
        msg = f"matrix output {path}: unknown extension {ext or '(none)'!r}; use .parquet, .csv or .json"
        raise UsageError(msg)
    return FORMATS[ext]


def _module(name: str) -> Any:
    """An optional dependency (pyarrow, distributed), imported when used; untyped here."""
    return importlib.import_module(name)


def _arrow_schema() -> Any:
    pa = _module("pyarrow")
    seats = pa.list_(pa.string())
    return pa.schema([
        ("origin", pa.int32()), ("destination", pa.int32()), ("origin_label", pa.string()),
        ("destination_label", pa.string()), ("status", pa.string()),
        ("fastest_s", pa.float64()), ("fastest_pence", pa.int64()), ("fastest_seats", seats),
        ("cheapest_s", pa.float64()), ("cheapest_pence", pa.int64()), ("cheapest_seats", seats),
        ("stop_seats", seats), ("stop_pence", pa.int64()),
    ])


def _csv_cell(key: str, value: Any) -> str:
    if key in _SEAT_COLUMNS:
        return ";".join(value)
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def matrix_csv(result: MatrixResult) -> str:
    """CSV text: one line per pair; seat lists joined by ``;``; empty cells for ``None``."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(COLUMNS)
    for r in result.rows:
        w.writerow([_csv_cell(k, r[k]) for k in COLUMNS])  # type: ignore[literal-required]
    return buf.getvalue()


def matrix_json(result: MatrixResult) -> str:
    """JSON text: ``{"meta": ..., "columns": [...], "rows": [{...}, ...]}``."""
    data = {"meta": result.meta, "columns": list(COLUMNS), "rows": list(result.rows)}
    return json.dumps(data, indent=1, allow_nan=False, ensure_ascii=False) + "\n"


def write_matrix(result: MatrixResult, path: str | os.PathLike[str], fmt: str | None = None) -> None:
    """Write the rows to ``path`` in ``fmt`` (default: by the extension of ``path``).

    Not atomic by itself: the CLI writes to an :class:`~routeplan.atomic.OutputSet` temporary path
    (library callers may use :func:`routeplan.atomic.atomic_path`).
    """
    fmt = fmt or format_for(path)
    if fmt == "csv":
        Path(path).write_text(matrix_csv(result), encoding="utf-8")
    elif fmt == "json":
        Path(path).write_text(matrix_json(result), encoding="utf-8")
    elif fmt == "parquet":
        pa, pq = _module("pyarrow"), _module("pyarrow.parquet")
        schema = _arrow_schema().with_metadata({"routeplan": json.dumps(result.meta, allow_nan=False)})
        table = pa.Table.from_pylist([dict(r) for r in result.rows], schema=schema)
        pq.write_table(table, str(path))
    else:
        msg = f"unknown matrix format {fmt!r} (parquet, csv, json)"
        raise UsageError(msg)


def read_matrix(path: str | os.PathLike[str], fmt: str | None = None) -> list[MatrixRow]:
    """Read rows written by :func:`write_matrix` back (for checks and round trips)."""
    fmt = fmt or format_for(path)
    if fmt == "parquet":
        return [as_row(r) for r in _module("pyarrow.parquet").read_table(str(path)).to_pylist()]
    if fmt == "json":
        return [as_row(r) for r in json.loads(Path(path).read_text(encoding="utf-8"))["rows"]]
    if fmt != "csv":
        msg = f"unknown matrix format {fmt!r} (parquet, csv, json)"
        raise UsageError(msg)
    out: list[MatrixRow] = []
    with open(path, encoding="utf-8", newline="") as fh:
        for rec in csv.DictReader(fh):
            r: dict[str, Any] = dict(rec)
            for k in _SEAT_COLUMNS:
                r[k] = r[k].split(";") if r[k] else []
            for k in _INT_COLUMNS:
                r[k] = int(r[k]) if r[k] != "" else None
            for k in _FLOAT_COLUMNS:
                r[k] = float(r[k]) if r[k] != "" else None
            out.append(as_row(r))
    return out


# ------------------------------------------------------------------------------ Dask

# Worker-level memo: the network (per cache file) and the shared per-matrix context (per
# fingerprint), so a worker loads the network once, not once per task.
_WORKER_NETS: dict[str, Network] = {}
_WORKER_CTX: dict[str, _Context] = {}
_WORKER_LOCK = threading.RLock()
WORKER_STATS: dict[str, int] = {"network_loads": 0, "contexts": 0, "origins": 0, "malloc_tuned": 0}


def network_path(network: Network | str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The cache file of a network: given as the file, its cache key (40 hex digits; looked up in
    ``cache_dir`` / ``ROUTEPLAN_CACHE``) or a :class:`Network` that came from the cache."""
    if isinstance(network, Network):
        key, root = network.meta.get("cache_key"), network.meta.get("cache_dir")
        if not key or not root:
            msg = "this network was not built with the cache (no cache file for Dask workers to load)"
            raise UsageError(msg)
        return rcache.path_for("network", str(key), root)
    text = os.fspath(network)
    if _NETWORK_KEY.match(text):
        return rcache.path_for("network", text, cache_dir)
    p = Path(text)
    if not p.is_file():
        msg = f"network cache file not found: {p}"
        raise DataError(msg)
    return p.resolve()


def customise_on_disk(net: Network, policy: ExpensePolicy, method: Method, *, keep: bool) -> None:
    """Build (or find) on disk the one-off structures the pairwise search uses on this network
    (the cell overlay, the contraction hierarchy), once, before any task: otherwise every Dask
    worker would build its own at the same time.  ``keep=False`` drops them from this process's
    memory afterwards (the workers hold their own copies)."""
    if method != "pairwise":
        return
    if net.n_nodes >= OVERLAY_MIN_NODES:
        net.overlay(frozenset(policy.exempt_classes))
    if net.n_nodes >= CH_MIN_NODES:
        net.ch()
    if not keep:
        net.__dict__.pop("_overlay_cache", None)
        net.__dict__.pop("_ch", None)


def _worker_context(path: str, stops: Sequence[Stop], policy: ExpensePolicy, already: tuple[str, ...], fp: str,
                    method: Method) -> _Context:
    with _WORKER_LOCK:
        ctx = _WORKER_CTX.get(f"{fp}|{method}")
        if ctx is None:
            net = _WORKER_NETS.get(path)
            if net is None:
                if reuse_freed_memory():  # Dask's MALLOC_TRIM_THRESHOLD_ would make every search fault afresh
                    WORKER_STATS["malloc_tuned"] = 1
                net = _WORKER_NETS[path] = Network.load(path)
                WORKER_STATS["network_loads"] += 1
            ctx = _WORKER_CTX[f"{fp}|{method}"] = _Context(net, stops, policy, already, method)
            WORKER_STATS["contexts"] += 1
        return ctx


def _dask_batch(path: str, stops: tuple[Stop, ...], policy: ExpensePolicy, already: tuple[str, ...], fp: str,
                origins: tuple[int, ...], method: Method) -> list[tuple[int, list[MatrixRow]]]:
    """One task: the rows of a batch of origins (runs on a worker)."""
    ctx = _worker_context(path, stops, policy, already, fp, method)
    out = []
    for i in origins:
        with _WORKER_LOCK:  # the network's scratch arrays serve one query at a time
            out.append((i, ctx.origin_rows(i)))
            WORKER_STATS["origins"] += 1
    return out


def origin_batches(todo: Sequence[int], n_workers: int, batch: int | None = None) -> list[tuple[int, ...]]:
    """The origins cut into tasks, in order.  A fixed ``batch`` gives batches of that size.
    By default the sizes shrink as the work left does (guided self-scheduling; Polychronopoulos
    and Kuck, IEEE Trans. Computers 36(12), 1987): each batch is a quarter of one worker's share
    of the origins not yet batched, down to single origins at the end.  Dask hands tasks out in
    the order submitted, so the big batches go first and the workers finish together: with equal
    batches, one worker could sit idle for most of a batch at the end (on GB, 38 origins of
    about 40 s each), and the last batches also bound what a lost worker costs."""
    if batch is not None:
        return [tuple(todo[k:k + batch]) for k in range(0, len(todo), batch)]
    out: list[tuple[int, ...]] = []
    k = 0
    while k < len(todo):
        size = max(1, math.ceil((len(todo) - k) / (4 * max(1, n_workers))))
        out.append(tuple(todo[k:k + size]))
        k += size
    return out


def _start_client(dist: Any, scheduler: str | None, n_workers: int | None, own: list[Any]) -> Any:
    """A client of a new LocalCluster (one single-threaded worker process per core, or
    ``n_workers``) or of the cluster at ``scheduler``; what it starts is appended to ``own``."""
    try:
        if scheduler is None:
            workers = n_workers or os.cpu_count() or 1
            cluster = dist.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                        dashboard_address=None, silence_logs=logging.ERROR)
            own.append(cluster)
            client = dist.Client(cluster)
        else:
            client = dist.Client(scheduler, timeout="30s")
    except (OSError, TimeoutError, RuntimeError, ValueError) as exc:
        where = f"the Dask scheduler at {scheduler}" if scheduler else "a local Dask cluster"
        msg = f"cannot start or reach {where}: {type(exc).__name__}: {exc}"
        raise UsageError(" ".join(msg.split())) from exc
    own.append(client)
    return client


def venue_matrix_dask(
    network: Network | str | os.PathLike[str],
    stops: Sequence[Stop],
    policy: ExpensePolicy | None = None,
    *,
    already_charged: Sequence[str] = (),
    scheduler: str | None = None,
    n_workers: int | None = None,
    batch: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    done: Mapping[int, Sequence[MatrixRow]] | None = None,
    on_origin: Callable[[int, list[MatrixRow]], None] | None = None,
    client: Any = None,
    method: Method = "pairwise",
) -> MatrixResult:
    """:func:`venue_matrix` with batches of origins run as tasks on ``dask.distributed``.

    Parameters
    ----------
    network
        The network's cache file (``network-<key>.npz``), its cache key, or a cached
        :class:`Network`.  Every worker loads it once (:meth:`Network.load`, checksummed) and
        keeps it for the tasks that follow; workers on other machines need the same path on a
        shared filesystem (``ROUTEPLAN_CACHE``).
    scheduler
        ``"tcp://HOST:8786"`` for a running cluster; ``None`` starts a ``LocalCluster`` of
        ``n_workers`` processes (default: one per core), one thread each, and closes it after.
    batch
        Origins per task (default: shrinking batches, see :func:`origin_batches`).  A lost worker
        costs only its batches: Dask runs them again elsewhere (``retries=2``).
    client
        An existing ``distributed.Client`` to use instead (``scheduler`` and ``n_workers`` are
        then ignored; it is not closed).
    progress, done, on_origin
        As for :func:`venue_matrix` (called in this process, as batches come back).

    The rows equal :func:`venue_matrix`'s exactly (the same code on the same data).
    """
    dist = _module("distributed")
    policy = policy or ExpensePolicy()
    stops = tuple(stops)
    already = tuple(already_charged)
    path = network_path(network, cache_dir)
    if isinstance(network, Network):
        net = network
    else:
        net = Network.load(path)
    _check_inputs(net, stops, policy)
    policy.label_charges(net.cell_codes, net.cell_names, already)  # bad codes fail here, not on a worker
    if n_workers is not None and (isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1):
        msg = f"n_workers must be a whole number >= 1, got {n_workers!r}"
        raise UsageError(msg)
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
        msg = f"batch must be a whole number >= 1, got {batch!r}"
        raise UsageError(msg)
    got = _check_done(done, stops)
    todo = [i for i in range(len(stops)) if i not in got]
    fp = fingerprint(network_key(net), stops, policy, already)
    t0 = time.perf_counter()
    n_done = len(got)
    if progress is not None:
        progress(n_done, len(stops))
    if todo:
        customise_on_disk(net, policy, method, keep=isinstance(network, Network))
        own: list[Any] = []
        try:
            if client is None:
                client = _start_client(dist, scheduler, n_workers, own)
            n_w = max(1, len(client.scheduler_info().get("workers", {})) or n_workers or 1)
            batches = origin_batches(todo, n_w, batch)
            futs = [client.submit(_dask_batch, str(path), stops, policy, already, fp, b, method, retries=2, pure=False,
                                  key=f"routeplan-matrix-{fp[:10]}-{b[0]}-{b[-1]}") for b in batches]
            for fut in dist.as_completed(futs):
                for i, rows in fut.result():
                    got[i] = rows
                    if on_origin is not None:
                        on_origin(i, rows)
                    n_done += 1
                    if progress is not None:
                        progress(n_done, len(stops))
        finally:
            for thing in reversed(own):
                with contextlib.suppress(Exception):
                    thing.close()
    return _result(net, stops, policy, already, got, tuple(todo), {"matrix_s": time.perf_counter() - t0})


__all__ = [
    "COLUMNS", "FORMATS", "STATUSES", "MatrixResult", "MatrixRow", "PartialFile", "fingerprint", "format_for",
    "matrix_csv", "matrix_json", "network_key", "network_path", "read_matrix", "venue_matrix", "venue_matrix_dask",
    "write_matrix",
]
