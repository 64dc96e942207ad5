"""Shared check: on random pairs of a network, the fast kernel's Pareto front equals the
reference kernel's, and every returned route recomputes to its reported charge and time."""

from __future__ import annotations

import numpy as np
import pytest

from routeplan.kernels.dijkstra import shortest_path
from routeplan.kernels.fastlabels import pareto_front_fast
from routeplan.kernels.labels import pareto_front, route_cost


def compare_fast_with_reference(net, policy, *, pairs: int, seed: int) -> int:
    """Run ``pairs`` reachable random pairs; return how many had a non-zero cheapest charge."""
    c = net.compile(policy)
    cg = net.cell_graph(frozenset(policy.exempt_classes))
    rng = np.random.default_rng(seed)
    checked = charged = 0
    while checked < pairs:
        s, t = (int(v) for v in rng.integers(0, net.n_nodes, 2))
        fp = shortest_path(c.indptr, c.heads, c.time_s, s, t)
        if fp is None:
            continue
        ub = route_cost(fp[1], c.label, c.label_charge)[0]
        ref = pareto_front(c.indptr, c.heads, c.time_s, c.label, c.label_charge, s, t)
        fast = pareto_front_fast(c.indptr, c.heads, c.time_s, c.label, c.label_charge, s, t, cell_graph=cg, ub_cost=ub,
                                 xy=net.node_x_y, inv_vmax=net.inv_vmax, landmarks=net.landmarks, workspace=net.workspace)
        assert [r.cost for r in fast] == [r.cost for r in ref]
        assert [r.time_s for r in fast] == pytest.approx([r.time_s for r in ref], rel=1e-9)
        for r in fast:
            assert route_cost(r.edges, c.label, c.label_charge)[0] == r.cost
            assert c.time_s[list(r.edges)].sum() == pytest.approx(r.time_s, rel=1e-9)
        charged += ref[0].cost > 0
        checked += 1
    # The shared workspace is left as found after every query.
    ws = net.workspace
    assert np.isinf(ws.dist).all() and (ws.pred_edge == -1).all() and not ws.done.any() and (ws.head == -1).all()
    return charged
