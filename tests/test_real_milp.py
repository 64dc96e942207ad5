"""Exactness on REAL road data: the label kernels against an independent MILP (HiGHS) on
sub-graphs of the Newport and Rutland extracts cut around constituency boundaries and the M4."""

from __future__ import annotations

import numpy as np
import pytest

from routeplan.kernels import csr_from_edges
from routeplan.kernels.fastlabels import pareto_front_fast
from routeplan.kernels.labels import pareto_front, route_cost
from routeplan.kernels.milp import milp_cheapest, milp_pareto_front
from routeplan.policy import ExpensePolicy

pytestmark = pytest.mark.integration


def subgraph(net, policy, centre_latlon, half_m):
    """Edges of the compiled network with both ends within a square around a point."""
    from routeplan.boundaries import to_bng

    c = net.compile(policy)
    cx, cy = to_bng([centre_latlon[1]], [centre_latlon[0]])
    xy = net.node_xy
    inside = (np.abs(xy[:, 0] - cx[0]) <= half_m) & (np.abs(xy[:, 1] - cy[0]) <= half_m)
    keep = inside[c.tails] & inside[c.heads]
    nodes = np.flatnonzero(inside)
    new = np.full(net.n_nodes, -1, dtype=np.int64)
    new[nodes] = np.arange(nodes.shape[0])
    tails, heads = new[c.tails[keep]], new[c.heads[keep]]
    return nodes.shape[0], tails, heads, c.time_s[keep], c.label[keep], c.label_charge


# (fixture, centre, half-size in m, policy): a Newport window over the Usk and the 2024
# East/West boundary near Stow Park, one over M4 J28, and the A1 at Stamford with trunk exempt.
WINDOWS = [
    ("newport2024", (51.5820, -3.0050), 1100, ExpensePolicy()),
    ("newport2010", (51.5820, -3.0050), 1100, ExpensePolicy()),
    ("newport2024", (51.5680, -3.0450), 1300, ExpensePolicy()),
    ("rutland2024", (52.6500, -0.4900), 1500, ExpensePolicy(exempt_classes=frozenset({"motorway", "motorway_link", "trunk", "trunk_link"}))),
]


@pytest.mark.parametrize(("which", "centre", "half", "policy"), WINDOWS)
def test_kernels_equal_milp_on_real_subgraphs(request, which, centre, half, policy):
    net = request.getfixturevalue(which)
    n, tails, heads, t, lab, charge = subgraph(net, policy, centre, half)
    assert 200 < tails.shape[0] < 6000, tails.shape
    indptr, hd, order = csr_from_edges(n, tails, heads)
    args = (indptr, hd, t[order], lab[order], charge)
    rng = np.random.default_rng(1)
    compared = charged = 0
    tries = 0
    while compared < 6 and tries < 200:
        tries += 1
        s, d = (int(v) for v in rng.integers(0, n, 2))
        ref = pareto_front(*args, s, d)
        if not ref:
            continue
        fast = pareto_front_fast(*args, s, d)
        assert [(r.cost, pytest.approx(r.time_s, rel=1e-9)) for r in fast] == [(r.cost, r.time_s) for r in ref]
        m = milp_cheapest(n, tails, heads, t, lab, charge, s, d)
        assert m is not None and m.optimal
        assert m.cost == ref[0].cost
        assert m.time_s == pytest.approx(ref[0].time_s, rel=1e-6)
        # The MILP's route recomputes to the same charge.
        assert route_cost(list(m.edges), lab, charge)[0] == m.cost
        charged += ref[0].cost > 0
        compared += 1
    assert compared == 6
    assert charged >= 1


def test_milp_front_on_a_real_window(newport2024):
    """The whole Pareto front, not just the cheapest point, on the Stow Park window."""
    n, tails, heads, t, lab, charge = subgraph(newport2024, ExpensePolicy(), (51.5820, -3.0050), 900)
    indptr, hd, order = csr_from_edges(n, tails, heads)
    rng = np.random.default_rng(4)
    fronts = 0
    for _ in range(60):
        s, d = (int(v) for v in rng.integers(0, n, 2))
        ref = pareto_front(indptr, hd, t[order], lab[order], charge, s, d)
        if len(ref) < 2:
            continue
        m = milp_pareto_front(n, tails, heads, t, lab, charge, s, d)
        assert [r.cost for r in m] == [r.cost for r in ref]
        assert [r.time_s for r in m] == pytest.approx([r.time_s for r in ref], rel=1e-6)
        fronts += 1
        if fronts == 2:
            break
    assert fronts >= 1
