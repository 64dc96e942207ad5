"""The venue matrix keeps only the two ends of each pair's (charge, time) front
(``routeplan.matrix.front_ends``: the cheapest route, and the cheapest within the fastest time,
asked of the fastest-route edges only, ``tight_times``): both must equal brute force's front ends,
on the flat kernel and on the cell overlay, on generated graphs full of equal times (where "the
cheapest of the equally fastest" is not the fastest route Dijkstra happens to find)."""

from __future__ import annotations

import numpy as np
import pytest
from oracles import all_routes, front_of, times_close
from randgraphs import make_case

from routeplan.kernels import csr_from_edges
from routeplan.kernels.dijkstra import dijkstra_all, edge_tails, shortest_path
from routeplan.kernels.fastlabels import pareto_front_fast
from routeplan.kernels.labels import route_cost
from routeplan.kernels.overlay_cells import OverlayQuery, build_overlay, edge_cells
from routeplan.matrix import front_ends, tight_times

SEEDS = range(70_000, 70_400)


def _ends(want: list[tuple[int, float]], got: list) -> None:
    assert got, want
    cheap = got[0]
    fast = min(got, key=lambda r: (r.time_s, r.cost))
    assert cheap.cost == want[0][0] and times_close(cheap.time_s, want[0][1]), (want, [(r.cost, r.time_s) for r in got])
    assert fast.cost == want[-1][0] and times_close(fast.time_s, want[-1][1]), (want, [(r.cost, r.time_s) for r in got])


@pytest.mark.parametrize("seed", SEEDS)
def test_front_ends_equal_brute_force(seed: int) -> None:
    c = make_case(seed)
    want = front_of([(cost, t) for cost, t, _ in all_routes(*c.args)])
    indptr, heads, order = csr_from_edges(c.n_nodes, c.tails, c.heads)
    tm, lab, charge = c.time_s[order], c.label[order], c.label_charge
    allowed = ~((lab >= 0) & (charge[np.maximum(lab, 0)] == -1))
    fast = shortest_path(indptr, heads, tm, c.source, c.target, allowed)
    assert (fast is None) == (not want)
    if fast is None:
        return

    def flat(**kw):  # type: ignore[no-untyped-def]
        return pareto_front_fast(indptr, heads, tm, lab, charge, c.source, c.target, **kw)

    got = front_ends(flat, fast, lab, charge)
    _ends(want, got)
    assert len(got) <= 2
    for r in got:  # each route is what it says it is
        assert route_cost(list(r.edges), lab, charge)[0] == r.cost
        assert times_close(float(tm[list(r.edges)].sum()), r.time_s)

    # The matrix's way: the second question asked of the fastest-route edges only.
    tight = tight_times(edge_tails(indptr), heads, tm, dijkstra_all(indptr, heads, tm, allowed, c.source))

    def flat_tight(**kw):  # type: ignore[no-untyped-def]
        return pareto_front_fast(indptr, heads, tight, lab, charge, c.source, c.target, **kw)

    got_t = front_ends(flat, fast, lab, charge, within=flat_tight)
    _ends(want, got_t)
    assert [(r.cost, r.time_s) for r in got_t[:1]] == [(r.cost, r.time_s) for r in got[:1]]
    for r in got_t:
        assert times_close(float(tm[list(r.edges)].sum()), r.time_s)

    cell, cell_label = edge_cells(lab, None, charge.shape[0])
    ov = build_overlay(indptr, heads, tm, cell, cell_label, threads=1)
    q = OverlayQuery(ov, indptr, heads, edge_tails(indptr), tm, lab, charge, c.source, c.target)
    ofast = q.fastest()
    assert ofast is not None and times_close(ofast[0], fast[0])
    _ends(want, front_ends(q.front, ofast, lab, charge, indptr_heads=(indptr, heads)))
    _ends(want, front_ends(q.front, ofast, lab, charge, within=lambda **kw: flat_tight(**{k: v for k, v in kw.items() if k != "indptr_heads"}),
                           indptr_heads=(indptr, heads)))


def test_front_ends_corpus_has_ties_that_matter() -> None:
    """The corpus must hold pairs whose cheapest route is slower than the fastest, and pairs where
    two equally fast routes pay differently (else the second search would go untested)."""
    slower = ties = 0
    for seed in SEEDS:
        c = make_case(seed)
        routes = all_routes(*c.args)
        if not routes:
            continue
        pts = front_of([(cost, t) for cost, t, _ in routes])
        slower += len(pts) > 1
        tmin = min(t for _, t, _ in routes)
        ties += len({cost for cost, t, _ in routes if times_close(t, tmin)}) > 1
    assert slower >= 50 and ties >= 20, (slower, ties)
