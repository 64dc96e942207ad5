"""Plan a leg between two stops: the cheapest route (fastest among the cheapest), the fastest
route beside it, and optionally the whole cost/time trade-off curve.

This is the library entry point the CLI and notebooks call.  It compiles the network under the
policy, marks the stops' own constituencies as charged (they are charged for the stop whatever
the route does), runs the exact kernel and builds a ledger for every route it returns.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from routeplan.errors import InfeasibleError, NoRouteError, UsageError
from routeplan.kernels.dijkstra import shortest_path
from routeplan.kernels.fastlabels import pareto_front_fast
from routeplan.kernels.labels import LabelRoute, pareto_front, route_cost
from routeplan.kernels.overlay_cells import OverlayQuery
from routeplan.ledger import Ledger, build_ledger
from routeplan.locate import Stop
from routeplan.network import Compiled, Network
from routeplan.policy import AVOID, ExpensePolicy

log = logging.getLogger(__name__)

Engine = Literal["fast", "flat", "overlay", "reference", "milp"]
# "fast" searches the constituency-cell overlay from this many road nodes up, the flat road graph
# below, where both take about the same time and the overlay would only add a customise step
# (bench/results/overlay.json, whole leg p95: Newport 13.0 flat vs 12.8 ms overlay, the 79k-node
# grid county preset 122 vs 71 ms).
OVERLAY_MIN_NODES = 50_000
# From this many road nodes up the overlay engine searches the two end cells whole before the
# fastest route (most legs there need the label search, which needs them); below, it first runs
# the goal-directed fastest search and searches the cells only when the fastest route does not
# already pay the least possible charge (bench/results/overlay.json, whole leg p50/p95 ms, "trees"
# vs "hybrid": realistic GENERATED region 226k nodes 43/146 vs 49/166, gb 1.3M 87/704 vs 102/709;
# grid gb 3.2M 45/120 vs 62/143; grid region 364k 30/57 vs 24/65; grid county 79k 56/76 vs 17/71).
OVERLAY_TREES_FIRST_NODES = 200_000
# "fast" finds the fastest route in the contraction hierarchy (:mod:`routeplan.kernels.ch`) from
# this many road nodes up, with the overlay; it is built once per network and cached, like the
# overlay (GENERATED grid county, 79k nodes: built in 20 s; whole leg p50/p95 6.3/18 -> 4.0/16 ms,
# the fastest part's p95 6.6 -> 0.5 ms).
CH_MIN_NODES = OVERLAY_MIN_NODES
# Limits on the trade-off parameters: beyond them a value is a typo, not a plan.
MAX_EXTRA_MINUTES = 24 * 60
MAX_DETOUR_PERCENT = 1000


@dataclass(frozen=True)
class Route:
    """A route as road pieces in driving order, with its own ledger."""

    kind: str
    pieces: tuple[int, ...]
    forward: tuple[bool, ...]
    time_s: float
    length_m: float
    ledger: Ledger
    optimal: bool = True

    @property
    def cost_pence(self) -> int:
        return self.ledger.total_pence

    def coords(self, net: Network) -> list[tuple[float, float]]:
        """(lat, lon) of the whole route, for maps and exports."""
        pts: list[tuple[float, float]] = []
        for p, fw in zip(self.pieces, self.forward, strict=True):
            seg = net.piece_coords(p, fw)
            start = 1 if pts else 0
            pts.extend((float(a), float(b)) for a, b in seg[start:])
        return pts

    def as_dict(self, net: Network) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "cost_pence": self.cost_pence,
            "time_s": round(self.time_s, 3),
            "length_m": round(self.length_m, 1),
            "optimal": self.optimal,
            "pieces": list(self.pieces),
            "forward": list(self.forward),
            "ledger": self.ledger.as_dict(),
        }


@dataclass(frozen=True)
class Leg:
    """The answer for one leg: the chosen (cheapest) route, the fastest, and the trade-offs."""

    stops: tuple[Stop, ...]
    policy: ExpensePolicy
    cheapest: Route
    fastest: Route
    front: tuple[Route, ...]
    limit_time_s: float | None
    already_charged: tuple[str, ...]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def saving_pence(self) -> int:
        return self.fastest.cost_pence - self.cheapest.cost_pence

    @property
    def extra_time_s(self) -> float:
        return self.cheapest.time_s - self.fastest.time_s


def _route_from_positions(kind: str, net: Network, comp: Compiled, positions: Sequence[int], stops: Sequence[Stop], policy: ExpensePolicy, already: Sequence[str], day: int) -> Route:
    pos = np.asarray(positions, dtype=np.int64)
    pieces = tuple(int(p) for p in comp.piece[pos])
    ledger = build_ledger(net, pieces, stops, policy, day=day, already_charged=already)
    return Route(
        kind=kind,
        pieces=pieces,
        forward=tuple(bool(f) for f in comp.forward[pos]),
        time_s=float(comp.time_s[pos].sum()),
        length_m=float(net.pieces.length_m[list(pieces)].sum()) if pieces else 0.0,
        ledger=ledger,
    )


def day_charges(net: Network, policy: ExpensePolicy, stops: Sequence[Stop], already_charged: Sequence[str]) -> tuple[
    npt.NDArray[np.int64], tuple[str, ...]
]:
    """The day's charge per cell, and the seats free for the routes: those already charged plus,
    when the policy charges stops, the stops' own seats (paid for the stop whatever the route).

    Raises :class:`InfeasibleError` for a stop standing in a hard-avoid seat.  One rule for a leg,
    a day and a stop order alike.
    """
    charges = policy.label_charges(net.cell_codes, net.cell_names, already_charged)
    for st in stops:
        if st.cell >= 0 and charges[st.cell] == AVOID:
            msg = f"stop {st.label} lies in hard-avoid constituency {net.cell_names[st.cell]}"
            raise InfeasibleError(msg)
    free = list(already_charged)
    if policy.charge_stops:
        free += [net.cell_codes[s.cell] for s in stops if s.cell >= 0 and net.cell_codes[s.cell] not in free]
    return charges, tuple(free)


def plan_leg(
    net: Network,
    origin: Stop,
    destination: Stop,
    policy: ExpensePolicy | None = None,
    *,
    already_charged: Sequence[str] = (),
    max_extra_minutes: float | None = None,
    max_detour_percent: float | None = None,
    alternatives: bool = False,
    day: int = 1,
    engine: Engine = "fast",
) -> Leg:
    """Cheapest-then-fastest and fastest routes between two stops.

    Parameters
    ----------
    net
        The overlaid network (:func:`routeplan.network.build_network`).
    origin, destination
        Resolved stops (:func:`routeplan.locate.resolve`).
    policy
        Charging rules; the default is £461 a constituency a day, motorways exempt.
    already_charged
        Constituency codes already charged today (earlier legs, other stops): free for this leg.
    max_extra_minutes, max_detour_percent
        The chosen route may be at most this much slower than the fastest (both may be given;
        the tighter wins).  The cheapest route *within the limit* is returned, still exact.
    alternatives
        Also return the whole Pareto front of (charge, time) routes.
    engine
        ``"fast"`` (default): ``"overlay"`` on networks of :data:`OVERLAY_MIN_NODES` road nodes or
        more, ``"flat"`` below; from :data:`CH_MIN_NODES` the fastest route comes from the
        contraction hierarchy (:meth:`Network.ch`) unless a hard-avoid list is given.  ``"flat"``: exact label search (numba, goal-directed in charge and
        time) on the road graph; ``"overlay"``: the same search on the constituency-cell overlay
        (:mod:`routeplan.kernels.overlay_cells`, built once per exempt set and cached), which
        crosses a seat in one step; ``"reference"`` (exact, pure Python, the readable
        specification) or ``"milp"`` (an independent MILP solver, slow, for checking; cheapest
        route only).

    Raises
    ------
    NoRouteError, InfeasibleError
        No coach route at all, or none that avoids the hard-avoid list / fits the limits.
    """
    policy = policy or ExpensePolicy()
    stops = (origin, destination)
    charges, free = day_charges(net, policy, stops, already_charged)
    t0 = time.perf_counter()
    comp = net.compile(policy, free)
    timings = {"compile_s": time.perf_counter() - t0}
    allowed = net.allowed_mask(frozenset(policy.exempt_classes), comp.label_charge)

    use_ch = engine == "fast" and net.n_nodes >= CH_MIN_NODES
    if engine == "fast":
        engine = "overlay" if net.n_nodes >= OVERLAY_MIN_NODES else "flat"
    t0 = time.perf_counter()
    query: OverlayQuery | None = None
    if engine == "overlay":
        query = OverlayQuery(
            net.overlay(frozenset(policy.exempt_classes)), comp.indptr, comp.heads, comp.tails, comp.time_s, comp.label, comp.label_charge,
            origin.node, destination.node, xy=net.node_x_y, inv_vmax=net.inv_vmax, landmarks=net.landmarks, workspace=net.workspace,
        )
        timings["overlay_s"] = time.perf_counter() - t0
        if use_ch and not bool((comp.label_charge == AVOID).any()):
            # The hierarchy knows travel times only: with a hard-avoid list the overlay's own
            # search (which drops the avoided cells) answers instead.
            from routeplan.kernels.ch import ch_query

            t1 = time.perf_counter()
            ch = net.ch()
            timings["ch_s"] = time.perf_counter() - t1
            fast = ch_query(ch, origin.node, destination.node, net.ch_workspace)
        else:
            fast = query.fastest(goal_directed=net.n_nodes < OVERLAY_TREES_FIRST_NODES)
    else:
        fast = shortest_path(comp.indptr, comp.heads, comp.time_s, origin.node, destination.node, allowed, xy=net.node_x_y, inv_vmax=net.inv_vmax, landmarks=net.landmarks, workspace=net.workspace)
    timings["fastest_s"] = time.perf_counter() - t0
    if fast is None:
        reach = shortest_path(comp.indptr, comp.heads, comp.time_s, origin.node, destination.node)
        if reach is not None:
            msg = f"no route from {origin.label} to {destination.label} avoids the hard-avoid constituencies"
            raise InfeasibleError(msg)
        msg = f"no coach route from {origin.label} to {destination.label}"
        raise NoRouteError(msg)
    fastest_t = fast[0]
    # Among equally fast routes, the fastest route reported is the cheapest of them (the last
    # point of the Pareto front); plain Dijkstra gives just one of them.
    limit = None
    if max_extra_minutes is not None:
        if not math.isfinite(max_extra_minutes) or not 0 <= max_extra_minutes <= MAX_EXTRA_MINUTES:
            msg = f"max_extra_minutes must be a finite number from 0 to {MAX_EXTRA_MINUTES}, got {max_extra_minutes!r}"
            raise UsageError(msg)
        limit = fastest_t + 60.0 * max_extra_minutes
    if max_detour_percent is not None:
        if not math.isfinite(max_detour_percent) or not 0 <= max_detour_percent <= MAX_DETOUR_PERCENT:
            msg = f"max_detour_percent must be a finite number from 0 to {MAX_DETOUR_PERCENT}, got {max_detour_percent!r}"
            raise UsageError(msg)
        pct = fastest_t * (1 + max_detour_percent / 100.0)
        limit = pct if limit is None else min(limit, pct)
    max_time = None if limit is None else limit * (1 + 1e-12)

    t0 = time.perf_counter()
    vot = policy.value_of_time_pence_per_hour
    need_front = alternatives or vot is not None
    kstats: dict[str, float] = {}
    if engine == "milp":
        front = _milp_front(comp, origin.node, destination.node, max_time)
    elif engine == "overlay":
        assert query is not None
        ub, _ = route_cost(fast[1], comp.label, comp.label_charge)
        front = query.front(
            cell_graph=net.cell_graph(frozenset(policy.exempt_classes)), ub_cost=ub, first_only=not need_front, max_time=max_time, fastest=fast,
            stats=kstats,
        )
        timings["labels"] = kstats.get("labels", 0.0)
    elif engine == "flat":
        ub, _ = route_cost(fast[1], comp.label, comp.label_charge)
        front = pareto_front_fast(
            comp.indptr, comp.heads, comp.time_s, comp.label, comp.label_charge, origin.node, destination.node,
            cell_graph=net.cell_graph(frozenset(policy.exempt_classes)), ub_cost=ub, xy=net.node_x_y, inv_vmax=net.inv_vmax, landmarks=net.landmarks, workspace=net.workspace,
            first_only=not need_front, max_time=max_time, fastest=fast, stats=kstats,
        )
        timings["labels"] = kstats.get("labels", 0.0)
    elif engine == "reference":
        front = pareto_front(
            comp.indptr, comp.heads, comp.time_s, comp.label, comp.label_charge, origin.node, destination.node,
            first_only=not need_front, max_time=max_time,
        )
    else:
        msg = f"unknown engine {engine!r} (fast, flat, overlay, reference, milp)"
        raise UsageError(msg)
    timings["cheapest_s"] = time.perf_counter() - t0
    if not front:
        msg = f"no route from {origin.label} to {destination.label} within the time limit"
        raise InfeasibleError(msg)
    if vot is not None:
        per_s = vot / 3600.0
        chosen = min(front, key=lambda r: (r.cost + per_s * r.time_s, r.cost))
    else:
        chosen = front[0]

    def mk(kind: str, lr: LabelRoute) -> Route:
        return _route_from_positions(kind, net, comp, lr.edges, stops, policy, already_charged, day)

    cheapest = mk("cheapest", chosen)
    fastest_lr = LabelRoute(route_cost(fast[1], comp.label, comp.label_charge)[0], fastest_t, tuple(fast[1]), frozenset())
    if need_front and front[-1].time_s <= fastest_t * (1 + 1e-9) and limit is None:
        fastest_lr = front[-1]  # the cheapest among the equally fastest
    fastest = mk("fastest", fastest_lr)
    routes = tuple(mk(f"pareto-{i + 1}", lr) for i, lr in enumerate(front)) if alternatives else ()
    _check_consistency(chosen, cheapest, stops, charges, policy)
    return Leg(
        stops=stops,
        policy=policy,
        cheapest=cheapest,
        fastest=fastest,
        front=routes,
        limit_time_s=limit,
        already_charged=tuple(already_charged),
        timings=timings,
    )


def _check_consistency(lr: LabelRoute, route: Route, stops: Sequence[Stop], charges: np.ndarray, policy: ExpensePolicy) -> None:
    """The kernel's charge plus the stops' charges must equal the ledger total (a bug otherwise)."""
    stop_cells = {s.cell for s in stops if s.cell >= 0} if policy.charge_stops else set()
    stop_pence = sum(int(charges[c]) for c in stop_cells if charges[c] > 0)
    if lr.cost + stop_pence != route.cost_pence:
        msg = f"internal error: kernel charge {lr.cost}+{stop_pence} != ledger {route.cost_pence}"
        raise AssertionError(msg)


def _milp_front(comp: Compiled, s: int, t: int, max_time: float | None) -> list[LabelRoute]:
    """The MILP engine answers only the cheapest route (no front); used to cross-check."""
    from routeplan.kernels.milp import milp_cheapest

    res = milp_cheapest(comp.n_nodes, comp.tails, comp.heads, comp.time_s, comp.label, comp.label_charge, s, t)
    if res is None or (max_time is not None and res.time_s > max_time):
        if max_time is not None:
            msg = "the MILP engine does not support time limits"
            raise UsageError(msg)
        return []
    cost, labs = route_cost(list(res.edges), comp.label, comp.label_charge)
    return [LabelRoute(cost, res.time_s, tuple(res.edges), labs)]
