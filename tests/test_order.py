"""Choosing the order of a day's stops (``routeplan.order``), against brute force.

* step 1: the one-to-many set-Pareto leg search equals the Pareto filter of every simple path
  (``tests/dayoracles.leg_options``) on generated graphs;
* generated days (3-6 free stops, fixed stops kept in place, overnight last stops): the chosen
  order equals the best of EVERY permutation of the free stops planned by ``day.plan_day``, without
  windows; with windows and dwell times it equals an independent exact oracle (every leg's simple
  paths, combined per order with the timetable simulated from the definition), which in turn
  agrees with ``plan_day`` whenever ``plan_day``'s timetable meets the windows; infeasible days
  raise ``InfeasibleError``;
* the heuristic (``exact_limit`` exceeded) never claims optimality and its lower bound is proven;
* the real Newport extract: 5 free stops against all 120 orders planned by ``plan_day``; 7 free
  stops against all 5040 orders on the matrix plus a sample through ``plan_day``; 10 free stops
  by the heuristic; timings are printed and recorded (``record_property``).
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from functools import cache

import numpy as np
import pytest
from dayoracles import day_network, free_stop_cells, leg_options, set_cost
from oracles import times_close
from randgraphs import Case, make_case

from routeplan.day import plan_day
from routeplan.errors import InfeasibleError, NoRouteError, UsageError
from routeplan.kernels import csr_from_edges
from routeplan.locate import Stop, resolve
from routeplan.order import TIME_TOL_S, leg_fronts, optimise_order, prepare_order
from routeplan.policy import AVOID, ExpensePolicy
from routeplan.schedule import Window

N_DAYS = 104  # generated days, each checked without and with windows
RTOL = 1e-6
START_S = 1000.0


# ----------------------------------------------------------------------------- step 1


def _pareto(opts: dict[frozenset[int], float]) -> dict[frozenset[int], float]:
    return {s: t for s, t in opts.items()
            if not any(s2 != s and s2 <= s and t2 <= t for s2, t2 in opts.items())}


@pytest.mark.parametrize("seed", range(120))
def test_leg_fronts_match_simple_paths(seed):
    case = make_case(seed)
    rng = np.random.default_rng(90_001 + seed)
    charge = case.label_charge.copy()
    indptr, heads, order = csr_from_edges(case.n_nodes, case.tails, case.heads)
    t, lab = case.time_s[order], case.label[order].astype(np.int32)
    origin = int(rng.integers(case.n_nodes))
    targets = list(range(case.n_nodes))
    cap = None if rng.random() < 0.5 else int(rng.choice([0, 100, 200, 400]))
    got = leg_fronts(indptr, heads, t, lab, charge, origin, targets, max_cost=cap)
    for b in targets:
        if b == origin:
            assert [(o.labels, o.time_s) for o in got[b]] == [(frozenset(), 0.0)]
            continue
        opts = leg_options(case.n_nodes, case.tails, case.heads, case.time_s, case.label, charge, origin, b)
        want = _pareto({s: v[0] for s, v in opts.items()})
        if cap is not None:
            want = {s: v for s, v in want.items() if set_cost(s, charge) <= cap}
        mine = {o.labels: o.time_s for o in got[b]}
        assert set(mine) == set(want), (case, origin, b, mine, want)
        for s, v in want.items():
            assert times_close(mine[s], v, 1e-9)
        for o in got[b]:
            assert o.cost == set_cost(o.labels, charge)
        assert [(o.cost, o.time_s) for o in got[b]] == sorted((o.cost, o.time_s) for o in got[b])


# ----------------------------------------------------------------------------- generated days


@dataclass(frozen=True)
class ODay:
    case: Case
    nodes: tuple[int, ...]
    cells: tuple[int, ...]
    fixed: tuple[bool, ...]
    n_free: int

    def __repr__(self) -> str:
        return f"ODay({self.case!r}, nodes={self.nodes}, cells={self.cells}, fixed={self.fixed})"


def _scc_of(case: Case, v: int) -> list[int]:
    def reach(tails, heads) -> set[int]:
        seen, todo = {v}, [v]
        while todo:
            u = todo.pop()
            for w in heads[tails == u].tolist():
                if w not in seen:
                    seen.add(int(w))
                    todo.append(int(w))
        return seen

    return sorted(reach(case.tails, case.heads) & reach(case.heads, case.tails))


def n_free_of(seed: int) -> int:
    r = seed % 26
    return 3 if r < 10 else 4 if r < 20 else 5 if r < 25 else 6


def make_oday(seed: int) -> ODay:
    """A generated day: a start, ``n_free_of(seed)`` free stops, sometimes a fixed stop in the
    middle and a fixed overnight stop last; stops mostly in one strongly connected component,
    sometimes on one node (zero-length legs), seldom in a hard-avoid seat."""
    rng = np.random.default_rng(7_000_003 + seed)
    for k in range(100):
        case = make_case(1000 * seed + k)
        scc = _scc_of(case, int(rng.integers(case.n_nodes)))
        if len(scc) >= 3:
            break
    n_free = n_free_of(seed)
    pool = scc if rng.random() < 0.95 else list(range(case.n_nodes))
    nodes = [int(rng.choice(pool)) for _ in range(n_free + 1)]
    fixed = [True] + [False] * n_free
    if rng.random() < 0.3:
        pos = int(rng.integers(1, n_free + 1))
        nodes.insert(pos, int(rng.choice(pool)))
        fixed.insert(pos, True)
    if rng.random() < 0.4:
        nodes.append(int(rng.choice(pool)))
        fixed.append(True)
    if rng.random() < 0.15:
        i, j = rng.choice(len(nodes), size=2, replace=False)
        nodes[int(i)] = nodes[int(j)]
    cells: list[int] = []
    for v in nodes:
        labs = sorted({int(x) for x in case.label[(case.tails == v) | (case.heads == v)] if x >= 0})
        if rng.random() < 0.9:
            labs = [x for x in labs if case.label_charge[x] != AVOID]
        cells.append(int(rng.choice(labs)) if labs and rng.random() < 0.7 else -1)
    return ODay(case, tuple(nodes), tuple(cells), tuple(fixed), n_free)


def stops_of(day: ODay) -> list[Stop]:
    return [Stop(f"S{j}", 51.55, -3.0, v, 0.0, "generated", c, "inside" if c >= 0 else "outside")
            for j, (v, c) in enumerate(zip(day.nodes, day.cells, strict=True))]


def orders_of(fixed: tuple[bool, ...]):
    """Every order: fixed stops at their index, free stops in every permutation of the rest."""
    slots = [i for i, f in enumerate(fixed) if not f]
    for perm in itertools.permutations(slots):
        order = list(range(len(fixed)))
        for s, p in zip(slots, perm, strict=True):
            order[s] = p
        yield tuple(order)


@dataclass(frozen=True)
class Planned:
    cost: int
    time_s: float
    legs: tuple[float, ...]


@cache
def brute_plan_day(seed: int):
    """plan_day on every order: order -> Planned, or the exception class it raised."""
    day = make_oday(seed)
    net, policy = day_network(day.case)
    stops = stops_of(day)
    out: dict[tuple[int, ...], Planned | type[Exception]] = {}
    for order in orders_of(day.fixed):
        try:
            p = plan_day(net, [stops[i] for i in order], policy)
        except NoRouteError as e:
            out[order] = type(e)
            continue
        out[order] = Planned(p.cost_pence, p.time_s, tuple(r.time_s for r in p.legs))
    return day, net, policy, stops, out


def simulate(order, legs, windows, dwell, start=START_S):
    """The timetable from the definition: (feasible, arrivals)."""
    clock = start
    arrivals = [start]
    ok = True
    for j in range(1, len(order)):
        arrive = clock + legs[j - 1]
        arrivals.append(arrive)
        lo, hi = windows[order[j]] or (None, None)
        if hi is not None and arrive > hi + TIME_TOL_S:
            ok = False
        clock = max(arrive, -math.inf if lo is None else lo) + dwell[order[j]]
    return ok, arrivals


def make_windows(seed: int, day: ODay, planned: dict):
    """Windows around the timetable of one drivable order (with waits and dwell), so they bind;
    sometimes an impossible arrive-by (before the day starts)."""
    rng = np.random.default_rng(31_337 + seed)
    n = len(day.nodes)
    dwell = [0.0] + [float(rng.choice([0.0, 0.0, 1.5, 3.0])) for _ in range(n - 1)]
    windows: list[tuple[float | None, float | None] | None] = [None] * n
    ok_orders = [o for o, p in planned.items() if isinstance(p, Planned)]
    if ok_orders:
        order = ok_orders[int(rng.integers(len(ok_orders)))]
        legs = planned[order].legs
        clock = START_S
        for j in range(1, n):
            arrive = clock + legs[j - 1]
            lo = arrive + float(rng.uniform(0.5, 4.0)) if rng.random() < 0.3 else None
            slack = rng.choice([0.25, 1.25, 5.25, -1.0])
            hi = None if slack < 0 else arrive + float(slack)
            if lo is not None and hi is not None and hi < lo:
                hi = lo + float(slack)
            windows[order[j]] = None if lo is None and hi is None else (lo, hi)
            clock = max(arrive, -math.inf if lo is None else lo) + dwell[order[j]]
    if rng.random() < 0.12:
        j = int(rng.integers(1, n))
        windows[j] = (None, START_S - 1.0)
    return windows, dwell


def leg_table(day: ODay):
    """(a, b) stop indexes -> {charged set: least time} over all simple paths (stops' seats free)."""
    c = day.case
    charge = free_stop_cells(c.label_charge, day.cells)
    out = {}
    for a, b in itertools.permutations(range(len(day.nodes)), 2):
        u, v = day.nodes[a], day.nodes[b]
        if u == v:
            out[a, b] = {frozenset(): 0.0}
        else:
            opts = leg_options(c.n_nodes, c.tails, c.heads, c.time_s, c.label, charge, u, v)
            out[a, b] = {s: tv[0] for s, tv in opts.items()}
    return out, charge


def oracle_order(order, table, charge, windows, dwell, stop_pence):
    """Exact best (cost, drive) of one order under windows: every combination of per-leg
    options, with only same-union states that are no faster and no earlier dropped."""
    states: dict[frozenset[int], list[tuple[float, float]]] = {frozenset(): [(0.0, START_S)]}
    for a, b in itertools.pairwise(order):
        lo, hi = windows[b] or (None, None)
        nxt: dict[frozenset[int], list[tuple[float, float]]] = {}
        for s, lst in states.items():
            for s2, t2 in table[a, b].items():
                u = s | s2
                for d, clock in lst:
                    arrive = clock + t2
                    if hi is not None and arrive > hi + TIME_TOL_S:
                        continue
                    dep = max(arrive, -math.inf if lo is None else lo) + dwell[b]
                    nxt.setdefault(u, []).append((d + t2, dep))
        states = {u: [x for x in lst if not any(y != x and y[0] <= x[0] and y[1] <= x[1] for y in lst)]
                  for u, lst in nxt.items()}
        states = {u: sorted(set(lst)) for u, lst in states.items()}
    if not states:
        return None
    return min((set_cost(u, charge) + stop_pence, min(d for d, _ in lst)) for u, lst in states.items())


def _stop_pence(day: ODay) -> int:
    ch = day.case.label_charge
    return int(sum(int(ch[c]) for c in {c for c in day.cells if c >= 0} if ch[c] > 0))


def _lex_le(a: tuple[int, float], b: tuple[int, float]) -> bool:
    return a[0] < b[0] or (a[0] == b[0] and a[1] <= b[1] * (1 + RTOL) + RTOL)


def test_generated_days_cover_the_cases():
    days = [make_oday(s) for s in range(N_DAYS)]
    counts = {k: sum(d.n_free == k for d in days) for k in (3, 4, 5, 6)}
    assert all(counts[k] >= 4 for k in counts) and sum(counts.values()) >= 100
    assert sum(any(d.fixed[1:-1]) for d in days) >= 10  # a fixed stop in the middle
    assert sum(d.fixed[-1] for d in days) >= 20  # an overnight stop
    assert sum(len(set(d.nodes)) < len(d.nodes) for d in days) >= 10  # stops on one node


@pytest.mark.parametrize("seed", range(N_DAYS))
def test_order_matches_brute_force_plan_day(seed):
    """No windows: the chosen order is the best of every permutation planned by plan_day."""
    day, net, policy, stops, planned = brute_plan_day(seed)
    ok = {o: p for o, p in planned.items() if isinstance(p, Planned)}
    if not ok:
        with pytest.raises(NoRouteError) as info:
            optimise_order(net, stops, day.fixed, policy)
        if all(p is NoRouteError for p in planned.values()):
            assert type(info.value) is NoRouteError
        if any(c >= 0 and day.case.label_charge[c] == AVOID for c in day.cells):
            assert type(info.value) is InfeasibleError
        return
    best = min(ok.values(), key=lambda p: (p.cost, p.time_s))
    res = optimise_order(net, stops, day.fixed, policy, start_s=START_S)
    assert res.optimal and res.lower_bound_pence == res.cost_pence
    assert res.cost_pence == best.cost, (day, res, best)
    assert times_close(res.drive_s, best.time_s, RTOL), (day, res, best)
    assert res.order in ok and res.order[0] == 0
    assert all(res.order[i] == i for i, f in enumerate(day.fixed) if f)
    p = ok[res.order]  # plan_day on the chosen order gives what was promised
    assert p.cost == res.cost_pence and times_close(p.time_s, res.drive_s, RTOL)
    assert times_close(sum(res.leg_s), res.drive_s, 1e-9)
    # The heuristic on the same day: a real plan, never called optimal, a proven bound.
    h = optimise_order(net, stops, day.fixed, policy, start_s=START_S, exact_limit=1, time_budget_s=5.0)
    assert not h.optimal
    assert h.lower_bound_pence <= best.cost <= h.cost_pence
    assert _lex_le((best.cost, best.time_s), (h.cost_pence, h.drive_s))
    ph = ok[h.order]
    assert ph.cost == h.cost_pence and times_close(ph.time_s, h.drive_s, RTOL)
    # No time at all: the best order on the fastest legs, with the root's bound (optimal only
    # when the bounds alone prove it).
    z = optimise_order(net, stops, day.fixed, policy, start_s=START_S, time_budget_s=0.0)
    assert z.lower_bound_pence <= best.cost <= z.cost_pence
    if z.optimal:
        assert z.cost_pence == best.cost and times_close(z.drive_s, best.time_s, RTOL)
    pz = ok[z.order]
    assert pz.cost == z.cost_pence and times_close(pz.time_s, z.drive_s, RTOL)


@pytest.mark.parametrize("seed", range(N_DAYS))
def test_order_with_windows_matches_oracles(seed):
    """Windows and dwell: the chosen order equals the best over every permutation of an exact
    oracle per order (all simple paths per leg, the timetable simulated), and the oracle equals
    plan_day on every order whose plan_day timetable meets the windows."""
    day, net, policy, stops, planned = brute_plan_day(seed)
    if any(c >= 0 and day.case.label_charge[c] == AVOID for c in day.cells):
        pytest.skip("stop in a hard-avoid seat: checked without windows")
    windows, dwell = make_windows(seed, day, planned)
    table, charge = leg_table(day)
    sp = _stop_pence(day)
    want: dict[tuple[int, ...], tuple[int, float] | None] = {}
    for order, p in planned.items():
        got = oracle_order(order, table, charge, windows, dwell, sp)
        want[order] = got
        if isinstance(p, Planned):
            feasible, _ = simulate(order, p.legs, windows, dwell)
            if feasible:  # plan_day's day meets the windows, so it is the order's optimum
                assert got is not None and got[0] == p.cost and times_close(got[1], p.time_s, RTOL), (day, order)
            elif got is not None:
                assert _lex_le((p.cost, p.time_s), got)
        else:
            assert got is None
    feasible_orders = {o: w for o, w in want.items() if w is not None}
    if not feasible_orders:
        with pytest.raises(NoRouteError) as info:
            optimise_order(net, stops, day.fixed, policy, start_s=START_S, windows=windows, dwell_s=dwell)
        if any(isinstance(p, Planned) for p in planned.values()):
            assert type(info.value) is InfeasibleError
        return
    best = min(feasible_orders.values())
    res = optimise_order(net, stops, day.fixed, policy, start_s=START_S, windows=windows, dwell_s=dwell)
    assert res.optimal and res.lower_bound_pence == res.cost_pence
    assert res.cost_pence == best[0] and times_close(res.drive_s, best[1], RTOL), (day, windows, dwell, res, best)
    assert all(res.order[i] == i for i, f in enumerate(day.fixed) if f)
    mine = want[res.order]
    assert mine is not None and mine[0] == res.cost_pence and times_close(mine[1], res.drive_s, RTOL)
    # Its own timetable is the definition's, and meets every window.
    ok, arrivals = simulate(res.order, res.leg_s, windows, dwell)
    assert ok and all(times_close(a, b, 1e-9) for a, b in zip(arrivals, res.arrive_s, strict=True))
    for j in range(1, len(res.order) - 1):
        lo = (windows[res.order[j]] or (None, None))[0]
        start = max(res.arrive_s[j], -math.inf if lo is None else lo)
        assert times_close(res.depart_s[j], start + dwell[res.order[j]], 1e-9)
    assert res.depart_s[-1] == res.arrive_s[-1]  # the last stop: nothing after it
    # plan_day with the same windows on the chosen order (its exact windowed day) agrees.
    wins = [None if w is None else Window(*w) for w in windows]
    p = plan_day(net, [stops[i] for i in res.order], policy, start_s=START_S,
                 windows=[wins[i] for i in res.order], dwell_s=[dwell[i] for i in res.order])
    assert p.cost_pence == res.cost_pence and times_close(p.time_s, res.drive_s, RTOL), (day, windows, res)


def test_some_window_days_are_infeasible_and_some_bind():
    """The window generator makes days where no order is feasible, and days where the windows
    change the answer (the windowed optimum differs from the unwindowed one)."""
    infeasible = binding = 0
    for seed in range(N_DAYS):
        day, _, _, _, planned = brute_plan_day(seed)
        if not any(isinstance(p, Planned) for p in planned.values()):
            continue
        windows, dwell = make_windows(seed, day, planned)
        table, charge = leg_table(day)
        sp = _stop_pence(day)
        w = [x for x in (oracle_order(o, table, charge, windows, dwell, sp) for o in planned) if x is not None]
        free = min((p.cost, p.time_s) for p in planned.values() if isinstance(p, Planned))
        if not w:
            infeasible += 1
        elif min(w)[0] != free[0] or not times_close(min(w)[1], free[1], RTOL):
            binding += 1
    assert infeasible >= 5 and binding >= 5, (infeasible, binding)


def _drawn(edges, n, charge):
    tails = np.array([e[0] for e in edges], dtype=np.int64)
    heads = np.array([e[1] for e in edges], dtype=np.int64)
    t = np.array([e[2] for e in edges], dtype=np.float64)
    lab = np.array([e[3] for e in edges], dtype=np.int32)
    return Case("drawn", 0, n, tails, heads, t, lab, np.asarray(charge, dtype=np.int64), 0, n - 1)


def test_waiting_state_is_not_dominated_by_a_shorter_drive():
    """S-X-Y-Z drives less than S-Y-X-Z but waits at X (open from 20) and so reaches Z later;
    after a fixed stop W with a 5 s dwell, the overnight T must be reached by 29: only S-Y-X-Z
    makes it.  A search that let less driving alone dominate (ignoring the clock) would say
    infeasible."""
    S, X, Y, Z, W, T = range(6)
    edges = [(S, X, 1, -1), (S, Y, 10, -1), (X, Y, 2, -1), (Y, X, 2, -1), (Y, Z, 2, -1), (X, Z, 1, -1),
             (Z, W, 1, -1), (W, T, 1, -1)]
    net, policy = day_network(_drawn(edges, 6, [100]))
    stops = [Stop(f"S{j}", 51.55, -3.0, j, 0.0, "generated", -1, "outside") for j in range(6)]
    fixed = (True, False, False, False, True, True)
    windows = [None, (20.0, None), None, None, None, (None, 29.0)]
    dwell = [0.0, 0.0, 0.0, 0.0, 5.0, 0.0]
    res = optimise_order(net, stops, fixed, policy, start_s=0.0, windows=windows, dwell_s=dwell)
    # S -> Y drives through X without stopping (3 s): a leg may pass another stop's node.
    assert res.order == (S, Y, X, Z, W, T) and res.drive_s == 8.0 and res.optimal
    assert res.arrive_s == (0.0, 3.0, 5.0, 21.0, 22.0, 28.0)
    free = optimise_order(net, stops, fixed, policy, start_s=0.0)
    assert free.order == (S, X, Y, Z, W, T) and free.drive_s == 7.0
    with pytest.raises(InfeasibleError):
        optimise_order(net, stops, fixed, policy, start_s=0.0, windows=[*windows[:5], (None, 27.0)], dwell_s=dwell)


def test_fixed_stops_and_bad_arguments():
    day, net, policy, stops, _ = brute_plan_day(1)
    n = len(stops)
    with pytest.raises(UsageError):
        optimise_order(net, stops, day.fixed[:-1], policy)
    with pytest.raises(UsageError):
        optimise_order(net, stops[:1], (True,), policy)
    # Stop 0's window and dwell are ignored (routeplan.schedule): the day starts at start_s.
    a = optimise_order(net, stops, day.fixed, policy, start_s=START_S)
    b = optimise_order(net, stops, day.fixed, policy, start_s=START_S, windows=[(0.0, 10.0)] + [None] * (n - 1),
                       dwell_s=[99.0] + [0.0] * (n - 1))
    assert (a.order, a.cost_pence, a.drive_s, a.arrive_s) == (b.order, b.cost_pence, b.drive_s, b.arrive_s)
    with pytest.raises(UsageError):
        optimise_order(net, stops, day.fixed, policy, windows=[None, [5.0, 1.0]] + [None] * (n - 2))
    with pytest.raises(UsageError):
        optimise_order(net, stops, day.fixed, policy, windows=[None, (5.0, 1.0)] + [None] * (n - 2))
    ok = optimise_order(net, stops, day.fixed, policy, windows=[None, Window(None, 1e9)] + [None] * (n - 2))
    assert (ok.order, ok.cost_pence) == (a.order, a.cost_pence)
    with pytest.raises(UsageError):
        optimise_order(net, stops, day.fixed, policy, windows=[None, (5.0, 1.0)] + [None] * (n - 2))
    with pytest.raises(UsageError):
        optimise_order(net, stops, day.fixed, policy, dwell_s=[0.0, -1.0] + [0.0] * (n - 2))
    with pytest.raises(UsageError):
        optimise_order(net, stops, day.fixed, policy, dwell_s=[0.0, math.nan] + [0.0] * (n - 2))
    with pytest.raises(UsageError):
        optimise_order(net, stops, day.fixed, policy, exact_limit=-1)
    with pytest.raises(UsageError):
        optimise_order(net, stops, day.fixed, policy, time_budget_s=math.inf)
    pb, _ = prepare_order(net, stops, day.fixed, policy)
    with pytest.raises(UsageError):
        pb.evaluate(tuple(range(1, n)) + (0,))


# ----------------------------------------------------------------------------- real Newport

NEWPORT_STOPS = ("Duffryn", "Stow Park", "Rogerstone", "Marshfield", "51.587113,-3.003535", "51.575,-2.990",
                 "Bassaleg", "Coedkernew", "51.560,-3.050", "51.545,-2.960", "51.590,-3.030")


def _newport(newport2024, b2024, n_free: int) -> list[Stop]:
    return [resolve(x, newport2024, b2024) for x in NEWPORT_STOPS[: n_free + 1]]


@pytest.mark.integration
def test_newport_5_free_stops_equals_plan_day_on_all_120_orders(newport2024, b2024, record_property):
    stops = _newport(newport2024, b2024, 5)
    pol = ExpensePolicy()
    fixed = (True,) + (False,) * 5
    t0 = time.perf_counter()
    res = optimise_order(newport2024, stops, fixed, pol)
    wall = time.perf_counter() - t0
    t0 = time.perf_counter()
    got = {}
    for order in orders_of(fixed):
        p = plan_day(newport2024, [stops[i] for i in order], pol)
        got[order] = (p.cost_pence, p.time_s)
    brute_s = time.perf_counter() - t0
    assert len(got) == 120
    best = min(got.values())
    assert res.optimal and res.cost_pence == best[0] and times_close(res.drive_s, best[1], RTOL)
    assert got[res.order][0] == res.cost_pence and times_close(got[res.order][1], res.drive_s, RTOL)
    for k, v in (("matrix_s", res.matrix_s), ("search_s", res.search_s), ("total_s", wall), ("brute_s", brute_s)):
        record_property(k, round(v, 4))
    print(f"\nNewport 5 free: matrix {res.matrix_s:.3f} s, search {res.search_s:.4f} s, total {wall:.3f} s, "
          f"explored {res.explored}; brute force (120 x plan_day) {brute_s:.1f} s")


@pytest.mark.integration
def test_newport_7_free_stops_equals_brute_force(newport2024, b2024, record_property):
    stops = _newport(newport2024, b2024, 7)
    pol = ExpensePolicy()
    fixed = (True,) + (False,) * 7
    t0 = time.perf_counter()
    res = optimise_order(newport2024, stops, fixed, pol)
    wall = time.perf_counter() - t0
    assert res.optimal
    pb, _ = prepare_order(newport2024, stops, fixed, pol)
    t0 = time.perf_counter()
    every = {o: pb.evaluate(o) for o in orders_of(fixed)}
    brute_s = time.perf_counter() - t0
    assert len(every) == 5040 and all(v is not None for v in every.values())
    best = min(v for v in every.values() if v is not None)
    assert res.cost_pence == best[0] and times_close(res.drive_s, best[1], RTOL)
    # The matrix's exact cost of an order is plan_day's, on a sample and on the chosen order.
    rng = np.random.default_rng(7)
    orders = list(every)
    sample = [orders[int(i)] for i in rng.choice(len(orders), size=10, replace=False)] + [res.order]
    for o in sample:
        p = plan_day(newport2024, [stops[i] for i in o], pol)
        v = every[o]
        assert v is not None and p.cost_pence == v[0] and times_close(p.time_s, v[1], RTOL), o
    for k, v in (("matrix_s", res.matrix_s), ("search_s", res.search_s), ("total_s", wall), ("brute_s", brute_s)):
        record_property(k, round(v, 4))
    print(f"\nNewport 7 free: matrix {res.matrix_s:.3f} s, search {res.search_s:.4f} s, total {wall:.3f} s, "
          f"explored {res.explored}; brute force over the matrix (5040 orders) {brute_s:.1f} s")


@pytest.mark.integration
def test_newport_windows(newport2024, b2024):
    """Windows that the unwindowed optimum misses: the answer meets them, equals brute force
    over the matrix, and plan_day on it has the same cost and time when its timetable fits."""
    stops = _newport(newport2024, b2024, 5)
    pol = ExpensePolicy()
    fixed = (True,) + (False,) * 5
    free_res = optimise_order(newport2024, stops, fixed, pol)
    # Ask for the unwindowed optimum's LAST stop to be reached first.
    last = free_res.order[-1]
    windows = [None] * 6
    dwell = [0.0] + [600.0] * 5
    windows[last] = (None, 8 * 3600 + 900.0)
    res = optimise_order(newport2024, stops, fixed, pol, windows=windows, dwell_s=dwell)
    assert res.optimal and res.order[1] == last
    assert res.arrive_s[1] <= 8 * 3600 + 900.0 + TIME_TOL_S
    pb, _ = prepare_order(newport2024, stops, fixed, pol, windows=windows, dwell_s=dwell)
    best = min(v for v in (pb.evaluate(o) for o in orders_of(fixed)) if v is not None)
    assert res.cost_pence == best[0] and times_close(res.drive_s, best[1], RTOL)
    assert _lex_le((free_res.cost_pence, free_res.drive_s), (res.cost_pence, res.drive_s))
    p = plan_day(newport2024, [stops[i] for i in res.order], pol)
    ok, _ = simulate(res.order, [r.time_s for r in p.legs], windows, dwell, start=8 * 3600)
    if ok:
        assert p.cost_pence == res.cost_pence and times_close(p.time_s, res.drive_s, RTOL)
    with pytest.raises(InfeasibleError):
        optimise_order(newport2024, stops, fixed, pol, windows=[None] + [(None, 8 * 3600 + 60.0)] * 5)


EAST_STOPS = ("Duffryn", "51.587113,-3.003535", "51.585047,-3.005481", "Stow Park", "Rogerstone", "Maesglas")


@pytest.mark.integration
def test_newport_windows_force_paying_newport_east(newport2024, b2024):
    """Stops all in Newport West and Islwyn, not charged for standing there: the cheapest day
    stays in that seat.  Arrive-by times on the fastest legs' timetable can only be met by fast
    legs through Newport East: the answer pays it, and is what plan_day gives on that order when
    East is already paid (same time, and the day's charge plus East)."""
    net = newport2024
    stops = [resolve(x, net, b2024) for x in EAST_STOPS]
    pol = ExpensePolicy(charge_stops=False)
    fixed = (True,) + (False,) * 5
    free = optimise_order(net, stops, fixed, pol)
    east = [c for c, nm in zip(net.cell_codes, net.cell_names, strict=True) if nm == "Newport East"]
    assert free.cost_pence == 46100 and free.optimal
    pb, _ = prepare_order(net, stops, fixed, pol)
    clock, windows = 8 * 3600.0, [None] * 6
    for a, b in itertools.pairwise(free.order):
        clock += pb.fast_s[a][b]
        windows[b] = (None, clock + 5.0)
    res = optimise_order(net, stops, fixed, pol, windows=windows)
    assert res.optimal and res.cost_pence == 92200 and res.drive_s < free.drive_s
    wpb, _ = prepare_order(net, stops, fixed, pol, windows=windows)
    every = {o: wpb.evaluate(o) for o in orders_of(fixed)}
    best = min(v for v in every.values() if v is not None)
    assert res.cost_pence == best[0] and times_close(res.drive_s, best[1], RTOL)
    paid = plan_day(net, [stops[i] for i in res.order], pol, already_charged=east)
    assert paid.cost_pence + 46100 == res.cost_pence and times_close(paid.time_s, res.drive_s, RTOL)
    ok, _ = simulate(res.order, [r.time_s for r in paid.legs], windows, [0.0] * 6, start=8 * 3600)
    assert ok
    plain = plan_day(net, [stops[i] for i in res.order], pol)  # cheapest for the order: misses them
    ok, _ = simulate(res.order, [r.time_s for r in plain.legs], windows, [0.0] * 6, start=8 * 3600)
    assert plain.cost_pence == 46100 and not ok
    # plan_day's own windowed day on the chosen order agrees.
    wins = [None if w is None else Window(*w) for w in windows]
    wp = plan_day(net, [stops[i] for i in res.order], pol, start_s=8 * 3600, windows=[wins[i] for i in res.order])
    assert wp.cost_pence == res.cost_pence and times_close(wp.time_s, res.drive_s, RTOL)


@pytest.mark.integration
def test_newport_10_free_stops_heuristic(newport2024, b2024, record_property):
    stops = _newport(newport2024, b2024, 10)
    pol = ExpensePolicy()
    fixed = (True,) + (False,) * 10
    t0 = time.perf_counter()
    h = optimise_order(newport2024, stops, fixed, pol, exact_limit=8, time_budget_s=20.0)
    wall = time.perf_counter() - t0
    assert not h.optimal
    assert h.lower_bound_pence <= h.cost_pence
    p = plan_day(newport2024, [stops[i] for i in h.order], pol)
    assert p.cost_pence == h.cost_pence and times_close(p.time_s, h.drive_s, RTOL)
    ex = optimise_order(newport2024, stops, fixed, pol, exact_limit=10, time_budget_s=60.0)
    if ex.optimal:
        assert h.lower_bound_pence <= ex.cost_pence
        assert _lex_le((ex.cost_pence, ex.drive_s), (h.cost_pence, h.drive_s))
    # Out of time at once: still a real plan, never called optimal, with a proven bound.
    z = optimise_order(newport2024, stops, fixed, pol, exact_limit=10, time_budget_s=0.0)
    assert z.lower_bound_pence <= z.cost_pence
    assert not z.optimal or (z.cost_pence == ex.cost_pence and times_close(z.drive_s, ex.drive_s, RTOL))
    if ex.optimal:
        assert z.lower_bound_pence <= ex.cost_pence and _lex_le((ex.cost_pence, ex.drive_s), (z.cost_pence, z.drive_s))
    record_property("total_s", round(wall, 4))
    print(f"\nNewport 10 free (heuristic): {wall:.3f} s, cost {h.cost_pence}, bound {h.lower_bound_pence}, "
          f"drive {h.drive_s:.1f} s; exact: {ex.optimal} {ex.cost_pence} {ex.drive_s:.1f} s in {ex.search_s:.3f} s")
