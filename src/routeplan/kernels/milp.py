"""Exact cheapest-then-fastest route by a MILP (HiGHS via ``scipy.optimize.milp``).

An *independent* check of :mod:`routeplan.kernels.labels`: it shares no code with the label
search (it works on the plain edge list, not on CSR, and uses no Dijkstra), so a bug in one is
unlikely to be repeated in the other.  Too slow for the planner; used by the tests.

Formulation (edges ``e``, positive-charge labels ``l``)::

    x_e in {0, 1}   edge e is used          y_l in {0, 1}   label l is paid
    out(v) - in(v) = [v = s] - [v = t]      (one unit of flow from s to t)
    x_e <= y_label(e)                       (for edges whose label has a positive charge)
    x_e = 0                                 (for edges whose label is forbidden)

Phase 1 minimises ``sum charge_l y_l`` (= c*); phase 2 minimises ``sum time_e x_e`` subject to
``sum charge_l y_l <= c*`` (and ``sum time_e x_e <= max_time`` when asked).

References
----------
.. [1] Q. Huangfu, J. A. J. Hall, "Parallelizing the dual revised simplex method", Mathematical
   Programming Computation 10 (2018) 119-142 (HiGHS). https://doi.org/10.1007/s12532-017-0130-5
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array, csr_array

# Relative slack on a ``max_time`` bound: times summed by HiGHS and by us differ by rounding.
TIME_RTOL = 1e-9


@dataclass(frozen=True)
class MilpResult:
    """A route found by the MILP: ``edges`` are *input* edge indices in path order."""

    cost: int
    time_s: float
    edges: tuple[int, ...]
    optimal: bool  # False when the time limit stopped HiGHS before it proved optimality
    status: int  # scipy.optimize.milp status (0 optimal, 1 limit reached)


def _model(
    n_nodes: int,
    tails: npt.NDArray[np.int64],
    heads: npt.NDArray[np.int64],
    label: npt.NDArray[np.int64],
    label_charge: npt.NDArray[np.int64],
    source: int,
    target: int,
) -> tuple[npt.NDArray[np.float64], list[LinearConstraint], Bounds]:
    """Variables ``[x_0..x_{m-1}, y_0..y_{p-1}]``: return the charge vector, rows and bounds."""
    m = tails.shape[0]
    edge_charge = np.zeros(m, dtype=np.int64)
    edge_charge[label >= 0] = label_charge[label[label >= 0]]  # label -1: exempt, free
    charged = edge_charge > 0
    paid_labels = np.unique(label[charged])
    p = paid_labels.shape[0]
    col = np.arange(m)
    # Flow conservation: +1 at the tail, -1 at the head (a self-loop cancels to 0).
    inc = coo_array(
        (np.r_[np.ones(m), -np.ones(m)], (np.r_[tails, heads], np.r_[col, col])),
        shape=(n_nodes, m + p),
    ).tocsr()
    rhs = np.zeros(n_nodes)
    rhs[source] += 1.0
    rhs[target] -= 1.0
    cons = [LinearConstraint(inc, rhs, rhs)]
    # Linking rows x_e - y_label(e) <= 0 for charged edges.
    ce = np.flatnonzero(charged)
    if ce.shape[0]:
        r = np.arange(ce.shape[0])
        y_col = m + np.searchsorted(paid_labels, label[ce])
        link = coo_array(
            (np.r_[np.ones(ce.shape[0]), -np.ones(ce.shape[0])], (np.r_[r, r], np.r_[ce, y_col])),
            shape=(ce.shape[0], m + p),
        ).tocsr()
        cons.append(LinearConstraint(link, -np.inf, 0.0))
    ub = np.ones(m + p)
    ub[:m][edge_charge == -1] = 0.0  # forbidden labels (label -1 edges have edge_charge 0)
    charge_vec = np.r_[np.zeros(m), label_charge[paid_labels].astype(np.float64)]
    return charge_vec, cons, Bounds(np.zeros(m + p), ub)


def _walk(
    used: npt.NDArray[np.bool_],
    tails: npt.NDArray[np.int64],
    heads: npt.NDArray[np.int64],
    time_s: npt.NDArray[np.float64],
    source: int,
    target: int,
    strict: bool,
) -> tuple[int, ...]:
    """The s-t path in the used edges.

    ``strict`` (a proven optimum): walk from ``source`` and assert the walk covers every used
    edge.  Otherwise (time limit hit, subtours possible) take the fastest s-t path inside the
    used edges by a plain scan, which is fine on the few edges of a solution.
    """
    idx = np.flatnonzero(used).tolist()
    if strict:
        out_of: dict[int, int] = {}
        for e in idx:
            assert int(tails[e]) not in out_of, "two used edges leave one node: not a path"
            out_of[int(tails[e])] = e
        path: list[int] = []
        v = source
        while v != target:
            e = out_of[v]
            path.append(e)
            v = int(heads[e])
            assert len(path) <= len(idx), "walk from the source does not reach the target"
        assert len(path) == len(idx), "used edges off the s-t path (a subtour)"
        return tuple(path)
    best: dict[int, tuple[float, tuple[int, ...]]] = {source: (0.0, ())}
    for _ in range(len(idx)):  # Bellman-Ford rounds on the support
        for e in idx:
            u, v = int(tails[e]), int(heads[e])
            if u in best and (v not in best or best[u][0] + time_s[e] < best[v][0]):
                best[v] = (best[u][0] + float(time_s[e]), (*best[u][1], e))
    return best[target][1]


def _solve(
    n_nodes: int,
    tails: npt.ArrayLike,
    heads: npt.ArrayLike,
    time_s: npt.ArrayLike,
    label: npt.ArrayLike,
    label_charge: npt.ArrayLike,
    source: int,
    target: int,
    max_time: float | None,
    time_limit: float,
) -> MilpResult | None:
    tl = np.asarray(tails, dtype=np.int64)
    hd = np.asarray(heads, dtype=np.int64)
    tm = np.asarray(time_s, dtype=np.float64)
    lb = np.asarray(label, dtype=np.int64)
    ch = np.asarray(label_charge, dtype=np.int64)
    source, target = int(source), int(target)
    if max_time is not None and max_time < 0:
        return None
    if source == target:
        return MilpResult(0, 0.0, (), True, 0)
    m = tl.shape[0]
    if m == 0:
        return None
    charge_vec, cons, bounds = _model(n_nodes, tl, hd, lb, ch, source, target)
    nv = charge_vec.shape[0]
    time_vec = np.r_[tm, np.zeros(nv - m)]
    integrality = np.ones(nv)
    # mip_rel_gap=0: the default 1e-4 gap would accept a slightly slower route as "optimal".
    opts = {"time_limit": float(time_limit), "mip_rel_gap": 0.0, "presolve": True}
    if max_time is not None:
        cap = float(max_time) * (1.0 + TIME_RTOL) + TIME_RTOL
        cons = [*cons, LinearConstraint(csr_array(time_vec[None, :]), -np.inf, cap)]

    # Phase 1: cheapest.  Subtours may appear here; they cannot lower the charge, so c* is right.
    r1 = milp(charge_vec, integrality=integrality, bounds=bounds, constraints=cons, options=opts)
    if r1.x is None:  # infeasible (status 2) or no incumbent before the time limit
        return None
    c_star = round(float(r1.fun))
    # Phase 2: fastest among the cheapest.  Charges are integers, so +0.5 is a safe tolerance.
    cons2 = [*cons, LinearConstraint(csr_array(charge_vec[None, :]), -np.inf, c_star + 0.5)]
    r2 = milp(time_vec, integrality=integrality, bounds=bounds, constraints=cons2, options=opts)
    if r2.x is None:  # pragma: no cover - phase 1's solution is feasible for phase 2
        return None
    optimal = r1.status == 0 and r2.status == 0
    path = _walk(r2.x[:m] > 0.5, tl, hd, tm, source, target, strict=optimal)
    # Recompute from the path itself, exactly: do not trust the LP's floating objective.
    labs = {int(lb[e]) for e in path if lb[e] >= 0 and ch[lb[e]] > 0}
    assert not any(lb[e] >= 0 and ch[lb[e]] == -1 for e in path), "forbidden edge used"
    cost = int(sum(int(ch[x]) for x in labs))
    t = float(sum(float(tm[e]) for e in path))
    assert cost <= c_star or not optimal, (cost, c_star)
    return MilpResult(cost, t, path, optimal, int(max(r1.status, r2.status)))


def milp_cheapest(
    n_nodes: int,
    tails: npt.ArrayLike,
    heads: npt.ArrayLike,
    time_s: npt.ArrayLike,
    label: npt.ArrayLike,
    label_charge: npt.ArrayLike,
    source: int,
    target: int,
    *,
    time_limit: float = 60,
) -> MilpResult | None:
    """Cheapest route, then fastest among the cheapest; ``None`` when no route exists.

    Why phase 2 has no subtours: a unit flow with binary ``x`` decomposes into one simple s-t
    path plus edge-disjoint cycles.  Dropping a cycle keeps flow conservation, can only unpay
    labels (so the charge bound still holds) and lowers the time by the cycle's time, which is
    > 0 because every edge time is.  So an optimal phase-2 solution has no cycle, and the path
    is recovered by walking from ``source`` (asserted to cover every used edge).
    """
    return _solve(
        n_nodes, tails, heads, time_s, label, label_charge, source, target, None, time_limit
    )


def milp_min_cost_within(
    n_nodes: int,
    tails: npt.ArrayLike,
    heads: npt.ArrayLike,
    time_s: npt.ArrayLike,
    label: npt.ArrayLike,
    label_charge: npt.ArrayLike,
    source: int,
    target: int,
    max_time: float,
    *,
    time_limit: float = 60,
) -> MilpResult | None:
    """Cheapest route no slower than ``max_time`` (fastest among those); ``None`` if none.

    At the time of a Pareto point this returns that point's cost: used to check the front.
    ``max_time`` gets a relative slack of :data:`TIME_RTOL` for rounding.
    """
    return _solve(
        n_nodes, tails, heads, time_s, label, label_charge, source, target, max_time, time_limit
    )


def milp_pareto_front(
    n_nodes: int,
    tails: npt.ArrayLike,
    heads: npt.ArrayLike,
    time_s: npt.ArrayLike,
    label: npt.ArrayLike,
    label_charge: npt.ArrayLike,
    source: int,
    target: int,
    *,
    rel_step: float = 1e-6,
    time_limit: float = 60,
) -> list[MilpResult]:
    """Pareto front by the epsilon-constraint method, cheapest first.

    After a point of time ``T`` the next one is the cheapest route no slower than
    ``T * (1 - rel_step)``.  ``rel_step`` must exceed HiGHS's feasibility tolerance relative to the
    times (about 1e-7 absolute), so routes whose times differ by less than that merge.
    """
    out: list[MilpResult] = []
    cap: float | None = None
    while True:
        r = _solve(
            n_nodes, tails, heads, time_s, label, label_charge, source, target, cap, time_limit
        )
        if r is None:
            return out
        out.append(r)
        if r.time_s <= 0.0:
            return out
        cap = r.time_s * (1.0 - rel_step)


__all__ = ["MilpResult", "milp_cheapest", "milp_min_cost_within", "milp_pareto_front"]
