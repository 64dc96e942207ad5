"""Oracles for whole-day planning (``routeplan.day``), written from the definition only.

A day visits stops ``s_0 .. s_k`` in order; leg ``i`` is a route ``s_i -> s_{i+1}``.  Its charge
is the sum of the charges of the DISTINCT positive-charge labels over all legs (once per day),
its time the sum of the legs' times.  Stops' own constituencies are made free by the caller
(``free_stop_cells``), as the planner charges them separately.

* :func:`brute_force_day` enumerates every simple path of every leg (an optimal day uses simple
  legs: cutting a cycle out of a leg drops its positive time and can only unpay labels), keeps the
  fastest path per label set per leg, and combines legs by a DP over the union of label sets --
  exact, since the objective depends only on the union and the sum of times.
* :func:`milp_day` is an independent MILP (HiGHS via ``scipy.optimize.milp``): one unit flow per
  leg on the plain edge list, ONE shared 0/1 variable per label, ``y_l >= x_{i,e}`` for every
  charged edge of every leg; lexicographic in two phases (charge, then time under the optimal
  charge).  No subtour constraints are needed: a leg's binary unit flow is a path plus cycles;
  dropping a cycle keeps every constraint, can only unpay labels, and saves its positive time, so
  a phase-2 optimum has none (asserted when the legs are walked).

Neither imports ``routeplan`` (only :func:`day_network`, which wraps a generated graph as a
``routeplan`` network so the library entry point can be run on it end to end).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from oracles import simple_paths
from randgraphs import Case, make_case
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array, csr_array, vstack


@dataclass(frozen=True)
class Day:
    """A generated graph with an ordered list of stops and the label each stop stands in."""

    case: Case
    nodes: tuple[int, ...]
    stop_cells: tuple[int, ...]  # label of each stop's constituency, -1 for none
    tags: frozenset[str] = field(default_factory=frozenset)

    @property
    def legs(self) -> int:
        return len(self.nodes) - 1

    def __repr__(self) -> str:
        return f"Day({self.case!r}, stops={self.nodes}, cells={self.stop_cells}, tags={sorted(self.tags)})"


def make_day(seed: int) -> Day:
    """2-4 legs on a graph of ``tests/randgraphs.py``: from its source to its target (so its
    unreachable cases stay unreachable) through random intermediate stops, sometimes a repeated
    stop (zero-length leg) or a return to an earlier stop; each stop stands in the label of one of
    its roads (or none), so a later stop often pays a seat an earlier leg can then use for free."""
    case = make_case(seed)
    rng = np.random.default_rng(10_000_019 + seed)
    tags: set[str] = set(case.tags)
    legs = int(rng.integers(2, 5))
    nodes = [case.source]
    for _ in range(legs - 1):  # mostly a stop reachable from the previous one
        reach = _reachable(case, nodes[-1])
        pool = reach if reach and rng.random() < 0.9 else list(range(case.n_nodes))
        nodes.append(int(rng.choice(pool)))
    nodes.append(case.target)
    if rng.random() < 0.15:
        j = int(rng.integers(0, legs))
        nodes[j + 1] = nodes[j]
        tags.add("zero_leg")
    if legs >= 3 and rng.random() < 0.2:
        nodes[2] = nodes[0]
        tags.add("revisit")
    cells: list[int] = []
    for v in nodes:
        labs = sorted({int(x) for x in case.label[(case.tails == v) | (case.heads == v)] if x >= 0})
        if rng.random() < 0.85:  # seldom a stop in a hard-avoid seat
            labs = [x for x in labs if case.label_charge[x] != -1]
        if labs and rng.random() < 0.7:
            cells.append(int(rng.choice(labs)))
        else:
            cells.append(-1)
    if any(c >= 0 and case.label_charge[c] == -1 for c in cells):
        tags.add("stop_in_avoid")
    return Day(case, tuple(nodes), tuple(cells), frozenset(tags))


def _reachable(case: Case, v: int) -> list[int]:
    """Nodes reachable from ``v`` on any edge (a plain BFS), ``v`` excluded."""
    seen = {v}
    todo = [v]
    while todo:
        u = todo.pop()
        for w in case.heads[case.tails == u].tolist():
            if w not in seen:
                seen.add(int(w))
                todo.append(int(w))
    return sorted(seen - {v})


def free_stop_cells(label_charge: npt.ArrayLike, stop_cells: Sequence[int]) -> npt.NDArray[np.int64]:
    """Charges with the stops' labels made free (charge 0), forbidden ones left forbidden."""
    ch = np.array(label_charge, dtype=np.int64, copy=True)
    for c in stop_cells:
        if c >= 0 and ch[c] > 0:
            ch[c] = 0
    return ch


def _allowed(label: npt.NDArray[np.int64], charge: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    ok = np.ones(label.shape[0], dtype=bool)
    ok[label >= 0] = charge[label[label >= 0]] != -1
    return ok


def leg_options(
    n_nodes: int,
    tails: npt.ArrayLike,
    heads: npt.ArrayLike,
    time_s: npt.ArrayLike,
    label: npt.ArrayLike,
    label_charge: npt.ArrayLike,
    source: int,
    target: int,
    *,
    allowed_only: bool = True,
) -> dict[frozenset[int], tuple[float, tuple[int, ...]]]:
    """For one leg: positive-charge label set -> (least time, a path) over all simple paths."""
    lab = np.asarray(label, dtype=np.int64)
    ch = np.asarray(label_charge, dtype=np.int64)
    tm = np.asarray(time_s, dtype=np.float64)
    ok = _allowed(lab, ch) if allowed_only else np.ones(lab.shape[0], dtype=bool)
    out: dict[frozenset[int], tuple[float, tuple[int, ...]]] = {}
    for p in simple_paths(n_nodes, np.asarray(tails), np.asarray(heads), ok, source, target):
        s = frozenset(int(lab[e]) for e in p if lab[e] >= 0 and ch[lab[e]] > 0)
        t = 0.0
        for e in p:
            t += float(tm[e])
        if s not in out or t < out[s][0]:
            out[s] = (t, p)
    return out


def set_cost(labels: frozenset[int], label_charge: npt.ArrayLike) -> int:
    ch = np.asarray(label_charge, dtype=np.int64)
    return int(sum(int(ch[x]) for x in labels))


@dataclass(frozen=True)
class DayAnswer:
    cost: int
    time_s: float
    legs: tuple[tuple[int, ...], ...]  # input edge indices per leg


def brute_force_day(
    n_nodes: int,
    tails: npt.ArrayLike,
    heads: npt.ArrayLike,
    time_s: npt.ArrayLike,
    label: npt.ArrayLike,
    label_charge: npt.ArrayLike,
    nodes: Sequence[int],
) -> DayAnswer | None:
    """Cheapest day, fastest among the cheapest; ``None`` if a leg has no allowed path."""
    per_leg = [
        leg_options(n_nodes, tails, heads, time_s, label, label_charge, int(a), int(z))
        for a, z in itertools.pairwise(nodes)
    ]
    if any(not opts for opts in per_leg):
        return None
    # DP over the union of label sets: union -> (least total time, legs' paths).
    states: dict[frozenset[int], tuple[float, tuple[tuple[int, ...], ...]]] = {frozenset(): (0.0, ())}
    for opts in per_leg:
        nxt: dict[frozenset[int], tuple[float, tuple[tuple[int, ...], ...]]] = {}
        for s, (t, paths) in states.items():
            for s2, (t2, p2) in opts.items():
                u = s | s2
                tt = t + t2
                if u not in nxt or tt < nxt[u][0]:
                    nxt[u] = (tt, (*paths, p2))
        states = nxt
    best = min(states.items(), key=lambda kv: (set_cost(kv[0], label_charge), kv[1][0]))
    return DayAnswer(set_cost(best[0], label_charge), best[1][0], best[1][1])


def sum_of_legs_cost(
    n_nodes: int,
    tails: npt.ArrayLike,
    heads: npt.ArrayLike,
    time_s: npt.ArrayLike,
    label: npt.ArrayLike,
    label_charge: npt.ArrayLike,
    nodes: Sequence[int],
) -> int | None:
    """The WRONG model (each leg charged on its own, labels paid again on every leg): the tests
    show it differs from the day oracle, so they can tell the two apart."""
    total = 0
    for a, z in itertools.pairwise(nodes):
        opts = leg_options(n_nodes, tails, heads, time_s, label, label_charge, int(a), int(z))
        if not opts:
            return None
        total += min(set_cost(s, label_charge) for s in opts)
    return total


# ------------------------------------------------------------------------- days with time windows
#
# The rules, restated from the brief (independently of routeplan.schedule): the day leaves stop 0
# at ``start_s``; stop j >= 1 is reached at ``depart_{j-1} + drive_j`` and must be reached by its
# ``latest`` (None: any time; a microsecond of slack for float sums); service starts at
# ``max(arrival, earliest)`` and the coach leaves ``dwell_j`` later.  The last stop has only a
# latest.  Best: least charge, then least total driving, then earliest arrival at the last stop.

SLACK_S = 1e-6


def simulate(
    start_s: float,
    leg_times: Sequence[float],
    windows: Sequence[tuple[float | None, float | None] | None],
    dwell_s: Sequence[float],
) -> tuple[list[float], int | None]:
    """Arrival at every stop (stop 0: ``start_s``) and the first late stop (``None``: on time)."""
    k = len(leg_times)
    arrive = [float(start_s)]
    depart = float(start_s)
    first_late: int | None = None
    for j in range(1, k + 1):
        a = depart + float(leg_times[j - 1])
        arrive.append(a)
        e, z = windows[j] if windows[j] is not None else (None, None)  # type: ignore[misc]
        if z is not None and a > z + SLACK_S and first_late is None:
            first_late = j
        if j < k:
            depart = (a if e is None else max(a, e)) + float(dwell_s[j])
    return arrive, first_late


@dataclass(frozen=True)
class WindowAnswer:
    cost: int
    time_s: float  # total driving
    arrive_s: float  # at the last stop
    legs: tuple[tuple[int, ...], ...]
    arrivals: tuple[float, ...]


def brute_force_windowed_day(
    n_nodes: int,
    tails: npt.ArrayLike,
    heads: npt.ArrayLike,
    time_s: npt.ArrayLike,
    label: npt.ArrayLike,
    label_charge: npt.ArrayLike,
    nodes: Sequence[int],
    *,
    start_s: float,
    windows: Sequence[tuple[float | None, float | None] | None],
    dwell_s: Sequence[float],
) -> WindowAnswer | None:
    """Best day meeting every window by enumeration; ``None`` when no day does (or a leg has
    no allowed path).

    Every simple path of every leg is enumerated (a walk with a cycle is never better: the cycle
    adds driving, arrives later everywhere -- departures are non-decreasing in arrivals -- and
    can only add labels).  The legs are combined leg after leg keeping, per (labels so far, time
    of departure from the last stop reached), the least driving: the rest of the day depends on
    nothing else.  Each candidate day is then simulated by :func:`simulate`.
    """
    tm = np.asarray(time_s, dtype=np.float64)
    per_leg: list[list[tuple[frozenset[int], float, tuple[int, ...]]]] = []
    for a, z in itertools.pairwise(nodes):
        lab = np.asarray(label, dtype=np.int64)
        ch = np.asarray(label_charge, dtype=np.int64)
        ok = _allowed(lab, ch)
        opts: list[tuple[frozenset[int], float, tuple[int, ...]]] = []
        for p in simple_paths(n_nodes, np.asarray(tails), np.asarray(heads), ok, int(a), int(z)):
            s = frozenset(int(lab[e]) for e in p if lab[e] >= 0 and ch[lab[e]] > 0)
            t = 0.0
            for e in p:
                t += float(tm[e])
            opts.append((s, t, p))
        if not opts:
            return None
        per_leg.append(opts)
    k = len(per_leg)
    # (labels, departure clock) -> (drive, leg times, paths)
    State = tuple[float, tuple[float, ...], tuple[tuple[int, ...], ...]]
    states: dict[tuple[frozenset[int], float], State] = {(frozenset(), float(start_s)): (0.0, (), ())}
    finals: list[WindowAnswer] = []
    for j, opts in enumerate(per_leg, start=1):
        nxt: dict[tuple[frozenset[int], float], State] = {}
        w = windows[j] if windows[j] is not None else (None, None)
        e, z = w  # type: ignore[misc]
        for (labs, dep), (drive, times, paths) in states.items():
            for s2, t2, p2 in opts:
                a = dep + t2
                if z is not None and a > z + SLACK_S:
                    continue
                u = labs | s2
                d = drive + t2
                if j == k:
                    arrivals, late = simulate(start_s, (*times, t2), windows, dwell_s)
                    assert late is None and abs(arrivals[-1] - a) <= 1e-6
                    finals.append(WindowAnswer(set_cost(u, label_charge), d, a, (*paths, p2), tuple(arrivals)))
                    continue
                dep2 = (a if e is None else max(a, e)) + float(dwell_s[j])
                key = (u, dep2)
                if key not in nxt or d < nxt[key][0]:
                    nxt[key] = (d, (*times, t2), (*paths, p2))
        states = nxt
    if not finals:
        return None
    # Drive times equal up to float summation order are ties (then the earliest arrival wins).
    return min(finals, key=lambda x: (x.cost, round(x.time_s, 6), x.arrive_s))


@dataclass(frozen=True)
class WindowedDay:
    """A generated day with a start time, a window (or None) and a dwell per stop."""

    day: Day
    start_s: float
    windows: tuple[tuple[float | None, float | None] | None, ...]
    dwell_s: tuple[float, ...]
    kinds: tuple[str, ...]  # how each stop's latest was drawn (for coverage)

    def __repr__(self) -> str:
        return f"WindowedDay({self.day!r}, start={self.start_s}, windows={self.windows}, dwell={self.dwell_s})"


def make_windowed_day(seed: int) -> WindowedDay:
    """A day of :func:`make_day` with windows drawn around the arrival times of two reference
    days (every leg fastest, and the unconstrained optimum) as the windows so far shape them:
    no limit, an arrive-by exactly at the earliest possible arrival (a tie), strictly between the
    fastest and the unconstrained optimum (forcing a faster, often dearer leg), exactly at the
    optimum's arrival, loose, or before the earliest possible arrival (infeasible); an earliest
    time near or after the fastest arrival (waiting); random dwell times, and sometimes a window
    or dwell at stop 0 or the last stop (which the rules ignore)."""
    day = make_day(seed)
    c = day.case
    rng = np.random.default_rng(20_000_003 + seed)
    charge = free_stop_cells(c.label_charge, day.stop_cells)
    k = day.legs
    start = float(rng.choice((0.0, 8 * 3600.0, 37.5)))
    dwell = [float(rng.choice((0.0, 0.0, 1.0, 2.5, 4.0))) for _ in range(k + 1)]
    if rng.random() < 0.7:
        dwell[0] = 0.0
    if rng.random() < 0.7:
        dwell[k] = 0.0
    fast: list[float] = []
    for a, z in itertools.pairwise(day.nodes):
        opts = leg_options(c.n_nodes, c.tails, c.heads, c.time_s, c.label, charge, a, z)
        fast.append(min((t for t, _ in opts.values()), default=math.inf))
    best = brute_force_day(c.n_nodes, c.tails, c.heads, c.time_s, c.label, charge, day.nodes)
    tm = np.asarray(c.time_s, dtype=np.float64)
    unc = [float(sum(float(tm[e]) for e in leg)) for leg in best.legs] if best is not None else fast
    windows: list[tuple[float | None, float | None] | None] = [None]
    if rng.random() < 0.15:
        windows[0] = (0.0, 1.0)  # ignored: the day starts when it starts
    kinds: list[str] = ["start"]
    dep_f = dep_u = start
    for j in range(1, k + 1):
        a_f, a_u = dep_f + fast[j - 1], dep_u + unc[j - 1]
        if not math.isfinite(a_f):
            windows.append(None)
            kinds.append("none")
            continue
        r = rng.random()
        latest: float | None
        if r < 0.3:
            latest, kind = None, "none"
        elif r < 0.45:
            latest, kind = a_f, "tie_fastest"
        elif r < 0.62:
            latest, kind = ((a_f + a_u) / 2, "between") if a_u > a_f + 1e-9 else (a_f + 0.5, "tight")
        elif r < 0.72:
            latest, kind = a_u, "tie_optimum"
        elif r < 0.9:
            latest, kind = a_u + float(rng.uniform(0.0, 5.0)), "loose"
        else:
            latest, kind = a_f - float(rng.choice((0.05, 1.0, 3.0))), "infeasible"
        if latest is not None:
            latest = max(latest, 0.0)
        earliest: float | None = None
        if rng.random() < (0.35 if j < k else 0.1):
            earliest = max(a_f + float(rng.choice((-2.0, 0.0, 1.0, 3.0, 6.0, 10.0))), 0.0)
            if latest is not None and earliest > latest:
                earliest = latest if rng.random() < 0.5 else None
        windows.append(None if earliest is None and latest is None else (earliest, latest))
        kinds.append(kind)
        if j < k:
            dep_f = (a_f if earliest is None else max(a_f, earliest)) + dwell[j]
            dep_u = (a_u if earliest is None else max(a_u, earliest)) + dwell[j]
    return WindowedDay(day, start, tuple(windows), tuple(dwell), tuple(kinds))


# ------------------------------------------------------------------------------------- MILP


@dataclass(frozen=True)
class MilpDay:
    cost: int
    time_s: float
    legs: tuple[tuple[int, ...], ...]  # input edge indices per leg
    optimal: bool


def milp_day(
    n_nodes: int,
    tails: npt.ArrayLike,
    heads: npt.ArrayLike,
    time_s: npt.ArrayLike,
    label: npt.ArrayLike,
    label_charge: npt.ArrayLike,
    nodes: Sequence[int],
    *,
    time_limit: float = 60.0,
) -> MilpDay | None:
    """Cheapest day then fastest by a MILP with one flow per leg and shared label variables."""
    tl = np.asarray(tails, dtype=np.int64)
    hd = np.asarray(heads, dtype=np.int64)
    tm = np.asarray(time_s, dtype=np.float64)
    lab = np.asarray(label, dtype=np.int64)
    ch = np.asarray(label_charge, dtype=np.int64)
    m = tl.shape[0]
    k = len(nodes) - 1
    edge_ch = np.zeros(m, dtype=np.int64)
    edge_ch[lab >= 0] = ch[lab[lab >= 0]]
    charged = np.flatnonzero(edge_ch > 0)
    paid = np.unique(lab[charged])
    p = paid.shape[0]
    nv = k * m + p  # x[i, e] at i * m + e, then y
    col = np.arange(m)
    rows: list[Any] = []
    lo: list[npt.NDArray[np.float64]] = []
    hi: list[npt.NDArray[np.float64]] = []
    for i, (a, z) in enumerate(itertools.pairwise(nodes)):
        inc = coo_array(
            (np.r_[np.ones(m), -np.ones(m)], (np.r_[tl, hd], np.r_[col, col] + i * m)), shape=(n_nodes, nv)
        )
        rhs = np.zeros(n_nodes)
        rhs[int(a)] += 1.0
        rhs[int(z)] -= 1.0
        rows.append(inc)
        lo.append(rhs)
        hi.append(rhs)
        if charged.shape[0]:
            r = np.arange(charged.shape[0])
            ycol = k * m + np.searchsorted(paid, lab[charged])
            link = coo_array(
                (np.r_[np.ones(r.shape[0]), -np.ones(r.shape[0])], (np.r_[r, r], np.r_[charged + i * m, ycol])),
                shape=(r.shape[0], nv),
            )
            rows.append(link)
            lo.append(np.full(r.shape[0], -np.inf))
            hi.append(np.zeros(r.shape[0]))
    A = vstack([csr_array(r) for r in rows]).tocsr()
    cons = [LinearConstraint(A, np.concatenate(lo), np.concatenate(hi))]
    ub = np.ones(nv)
    for i in range(k):
        ub[i * m : (i + 1) * m][edge_ch == -1] = 0.0
    bounds = Bounds(np.zeros(nv), ub)
    cvec = np.r_[np.zeros(k * m), ch[paid].astype(np.float64)]
    tvec = np.r_[np.tile(tm, k), np.zeros(p)]
    integ = np.ones(nv)
    opts = {"time_limit": float(time_limit), "mip_rel_gap": 0.0, "presolve": True}
    r1 = milp(cvec, integrality=integ, bounds=bounds, constraints=cons, options=opts)
    if r1.x is None:
        return None
    c_star = round(float(r1.fun))
    cons2 = [*cons, LinearConstraint(csr_array(cvec[None, :]), -np.inf, c_star + 0.5)]
    r2 = milp(tvec, integrality=integ, bounds=bounds, constraints=cons2, options=opts)
    assert r2.x is not None
    optimal = r1.status == 0 and r2.status == 0
    x = r2.x[: k * m].reshape(k, m) > 0.5
    legs: list[tuple[int, ...]] = []
    for i, (a, z) in enumerate(itertools.pairwise(nodes)):
        used = np.flatnonzero(x[i]).tolist()
        out_of: dict[int, int] = {}
        for e in used:
            assert int(tl[e]) not in out_of, f"leg {i}: two used edges leave node {tl[e]}"
            out_of[int(tl[e])] = e
        path: list[int] = []
        v = int(a)
        while v != int(z):
            e = out_of[v]
            path.append(e)
            v = int(hd[e])
            assert len(path) <= len(used), f"leg {i}: walk does not reach the stop"
        assert len(path) == len(used), f"leg {i}: used edges off the path (a subtour)"
        legs.append(tuple(path))
    flat = [e for leg in legs for e in leg]
    labs = {int(lab[e]) for e in flat if lab[e] >= 0 and ch[lab[e]] > 0}
    cost = int(sum(int(ch[x_]) for x_ in labs))
    t = float(sum(float(tm[e]) for e in flat))
    assert not optimal or cost == c_star, (cost, c_star)
    return MilpDay(cost, t, tuple(legs), optimal)


# ------------------------------------------------------------------ a generated graph as a Network


def day_network(case: Case) -> Any:
    """The generated graph as a :class:`routeplan.network.Network`: one one-way piece per edge,
    length = time at 1 m/s, label ``l`` -> constituency ``C<l>`` charged ``label_charge[l]``
    pence by override (-1: avoid), label -1 -> an exempt motorway piece outside every cell.
    All nodes share one position (the straight-line time bound is then 0, trivially valid).
    Returns ``(network, policy)``."""
    from routeplan.network import Network
    from routeplan.overlay import INSIDE, Pieces
    from routeplan.policy import ExpensePolicy
    from routeplan.vehicle import CLASS_CODES

    n, m = case.n_nodes, case.tails.shape[0]
    lat0, lon0 = 51.55, -3.0
    lab = case.label.astype(np.int32)
    pieces = Pieces(
        node_id=np.arange(1, n + 1, dtype=np.int64),
        node_lon=np.full(n, lon0),
        node_lat=np.full(n, lat0),
        node_delay=np.zeros(n),
        a=case.tails.astype(np.int64),
        b=case.heads.astype(np.int64),
        fwd=np.ones(m, dtype=bool),
        bwd=np.zeros(m, dtype=bool),
        way=np.arange(m, dtype=np.int64),
        cell=lab,
        flag=np.full(m, INSIDE, dtype=np.int8),
        length_m=case.time_s.astype(np.float64),
        geom_ptr=np.arange(0, 2 * m + 1, 2, dtype=np.int64),
        geom_lon=np.full(2 * m, lon0),
        geom_lat=np.full(2 * m, lat0),
        stats={},
    )
    cls = np.where(lab < 0, CLASS_CODES["motorway"], CLASS_CODES["unclassified"]).astype(np.int8)
    n_labels = case.label_charge.shape[0]
    net = Network(
        pieces=pieces,
        way_id=np.arange(1, m + 1, dtype=np.int64),
        way_class=cls,
        way_kph=np.full(m, 3.6),
        way_name=[f"road {e}" for e in range(m)],
        cell_codes=tuple(f"C{i}" for i in range(n_labels)),
        cell_names=tuple(f"Seat {i}" for i in range(n_labels)),
        places=[],
        meta={"name": f"generated {case!r}"},
    )
    policy = ExpensePolicy(day_rate_pence=100, overrides={f"C{i}": int(c) for i, c in enumerate(case.label_charge)})
    return net, policy


__all__ = [
    "Day", "DayAnswer", "MilpDay", "WindowAnswer", "WindowedDay", "brute_force_day", "brute_force_windowed_day",
    "day_network", "free_stop_cells", "leg_options", "make_day", "make_windowed_day", "milp_day", "set_cost",
    "simulate", "sum_of_legs_cost",
]
