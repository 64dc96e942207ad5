"""Whole-day planning for a given stop order (``routeplan.day``), against independent oracles.

* brute force over every simple path of every leg (``tests/dayoracles.py``) on hundreds of
  generated days (2-4 legs; shared seats across legs, re-entries, stops whose seat an earlier
  leg can use for free, ties, exempt shortcuts, zero-length legs, unreachable stops), through the
  library entry point :func:`plan_day` with the fast and the reference engines;
* an independent multi-leg MILP (one flow per leg, shared label variables) on generated days,
  larger generated grids and real sub-graphs of the Newport extract;
* the real Newport network: engines agree, invariants hold, and a day where planning whole is
  strictly cheaper than leg by leg.
"""

from __future__ import annotations

import itertools
import json
from functools import cache

import numpy as np
import pytest
from dayoracles import (
    Day,
    brute_force_day,
    day_network,
    free_stop_cells,
    leg_options,
    make_day,
    milp_day,
    set_cost,
    sum_of_legs_cost,
)
from oracles import times_close
from randgraphs import Case, big_grid_case

from routeplan.day import (
    DayPlan,
    DayRoute,
    _allowed,
    cheapest_day,
    derive_layered_cell_graph,
    fastest_day,
    layered_cell_graph,
    layered_graph,
    layered_time_to_target,
    leg_by_leg_day,
    plan_day,
)
from routeplan.errors import InfeasibleError, NoRouteError, UsageError
from routeplan.kernels import csr_from_edges
from routeplan.kernels.cellcost import cost_to_go
from routeplan.kernels.cells import build_cell_graph, vertex_weights
from routeplan.kernels.dijkstra import distances_to
from routeplan.kernels.labels import route_cost
from routeplan.ledger import build_ledger
from routeplan.locate import Stop, resolve
from routeplan.policy import AVOID, ExpensePolicy

N_BRUTE = 300  # generated days vs brute force (each through plan_day, two engines)
N_MILP = 40  # generated days vs the multi-leg MILP
BRUTE_SEEDS = range(N_BRUTE)
MILP_SEEDS = range(50_000, 50_000 + N_MILP)
TIME_RTOL = 1e-6


# ----------------------------------------------------------------------------- helpers


def stops_of(day: Day) -> list[Stop]:
    return [
        Stop(f"S{j}", 51.55, -3.0, v, 0.0, "generated", c, "inside" if c >= 0 else "outside")
        for j, (v, c) in enumerate(zip(day.nodes, day.stop_cells, strict=True))
    ]


def stop_pence(charge: np.ndarray, cells: list[int] | tuple[int, ...]) -> int:
    return int(sum(int(charge[c]) for c in {c for c in cells if c >= 0} if charge[c] > 0))


def check_route(net, dr: DayRoute, plan: DayPlan) -> None:
    """Each leg drives from its stop to the next, with the times it reports; the day ledger and
    the legs' marginal ledgers recompute from the pieces and add up to the reported total."""
    pc = net.pieces
    stops = plan.stops
    assert len(dr.legs) == len(stops) - 1
    pieces: list[int] = []
    for i, r in enumerate(dr.legs):
        node = stops[i].node
        t = 0.0
        for p, fw in zip(r.pieces, r.forward, strict=True):
            a, b = (pc.a[p], pc.b[p]) if fw else (pc.b[p], pc.a[p])
            assert a == node, f"{dr.kind} leg {i + 1} is not contiguous"
            assert pc.fwd[p] if fw else pc.bwd[p], "a one-way piece driven the wrong way"
            node = b
            t += net.edge_time_s(p, fw)
        assert node == stops[i + 1].node, f"{dr.kind} leg {i + 1} does not reach its stop"
        assert t == pytest.approx(r.time_s, rel=1e-9, abs=1e-9)
        pieces.extend(r.pieces)
    ledger = build_ledger(net, pieces, stops, plan.policy, day=plan.day, already_charged=plan.already_charged)
    assert ledger == dr.ledger
    charges = plan.policy.label_charges(net.cell_codes, net.cell_names, plan.already_charged)
    cells = [s.cell for s in stops] if plan.policy.charge_stops else []
    assert sum(r.cost_pence for r in dr.legs) + stop_pence(charges, cells) == dr.cost_pence
    assert sum(c.pence for c in dr.charges) == dr.cost_pence
    assert all(c.charged_by for c in dr.charges if c.pence > 0)
    # No charged constituency is missing from the day ledger: recompute the union directly.
    exempt = plan.policy.exempt_mask()
    seats = {int(pc.cell[p]) for p in pieces if pc.cell[p] >= 0 and not exempt[int(net.way_class[pc.way[p]])]}
    seats |= {c for c in cells if c >= 0}
    assert dr.cost_pence == sum(int(charges[c]) for c in seats if charges[c] > 0)


def check_baselines(plan: DayPlan) -> None:
    """What is provably true: the optimum is no dearer than either baseline, and no slower than a
    baseline that costs the same."""
    for base in (plan.fastest, plan.leg_by_leg):
        assert plan.best.cost_pence <= base.cost_pence
        if plan.best.cost_pence == base.cost_pence:
            assert plan.best.time_s <= base.time_s * (1 + 1e-9) + 1e-9
    assert plan.fastest.time_s <= plan.best.time_s * (1 + 1e-9) + 1e-9
    assert plan.fastest.time_s <= plan.leg_by_leg.time_s * (1 + 1e-9) + 1e-9
    assert plan.saving_vs_leg_by_leg_pence >= 0 and plan.saving_vs_fastest_pence >= 0


def expected_error(day: Day) -> type[Exception] | None:
    """What plan_day must raise, from the definition (first failing leg decides)."""
    c = day.case
    if any(x >= 0 and c.label_charge[x] == AVOID for x in day.stop_cells):
        return InfeasibleError
    charge = free_stop_cells(c.label_charge, day.stop_cells)
    for a, z in itertools.pairwise(day.nodes):
        args = (c.n_nodes, c.tails, c.heads, c.time_s, c.label, charge, a, z)
        if not leg_options(*args):
            return InfeasibleError if leg_options(*args, allowed_only=False) else NoRouteError
    return None


@cache
def brute(seed: int):
    day = make_day(seed)
    c = day.case
    charge = free_stop_cells(c.label_charge, day.stop_cells)
    return day, charge, brute_force_day(c.n_nodes, c.tails, c.heads, c.time_s, c.label, charge, day.nodes)


def csr(case: Case):
    indptr, heads, order = csr_from_edges(case.n_nodes, case.tails, case.heads)
    return indptr, heads, case.time_s[order], case.label[order], order


# ------------------------------------------------------------------- the layered graph itself


def test_layered_graph_structure():
    case = make_day(3).case
    indptr, heads, t, lab, _ = csr(case)
    nodes = [case.source, 2, 2, case.target]
    lg = layered_graph(indptr, heads, t, lab, nodes)
    n, m, k = case.n_nodes, heads.shape[0], 3
    assert lg.n_nodes == n * k and lg.n_edges == k * m + (k - 1)
    assert (lg.orig == -1).sum() == k - 1 and len(lg.transfer) == k - 1
    tails = np.repeat(np.arange(lg.n_nodes), np.diff(lg.indptr))
    for i, p in enumerate(lg.transfer):
        assert tails[p] == i * n + nodes[i + 1] and lg.heads[p] == (i + 1) * n + nodes[i + 1]
        assert lg.time_s[p] == 0.0 and lg.label[p] == -1
    inner = lg.orig >= 0
    # Every other edge stays in its layer with the original head, time and (shared) label.
    assert (tails[inner] // n == lg.heads[inner] // n).all()
    assert (lg.heads[inner] % n == heads[lg.orig[inner]]).all()
    assert (lg.time_s[inner] == t[lg.orig[inner]]).all() and (lg.label[inner] == lab[lg.orig[inner]]).all()
    assert (np.bincount(lg.orig[inner], minlength=m) == k).all()
    sol = fastest_day(indptr, heads, t, lab, case.label_charge, nodes)
    if sol is not None:
        assert lg.split(lg.positions(sol.legs)) == sol.legs
    with pytest.raises(UsageError):
        layered_graph(indptr, heads, t, lab, [case.source])


# ------------------------------------------------------------------ (a) brute force, hundreds


@pytest.mark.parametrize("seed", BRUTE_SEEDS)
def test_day_matches_brute_force(seed):
    day, charge, want = brute(seed)
    c = day.case
    net, policy = day_network(c)
    stops = stops_of(day)
    err = expected_error(day)
    assert (want is None) == (err is not None) or err is InfeasibleError
    for engine in ("fast", "reference"):
        if err is not None:
            with pytest.raises(err) as info:
                plan_day(net, stops, policy, engine=engine)
            assert type(info.value) is err
            continue
        plan = plan_day(net, stops, policy, engine=engine)
        paid = stop_pence(c.label_charge, day.stop_cells)
        assert plan.cost_pence == want.cost + paid, (day, engine)
        assert times_close(plan.time_s, want.time_s, TIME_RTOL), (day, engine, plan.time_s, want.time_s)
        for dr in (plan.best, plan.fastest, plan.leg_by_leg):
            check_route(net, dr, plan)
        check_baselines(plan)
        # The baselines are what they claim: each fastest leg is a fastest path; each
        # leg-by-leg leg is cheapest-then-fastest given what the earlier legs actually paid.
        ch = charge.copy()
        for i, (a, z) in enumerate(itertools.pairwise(day.nodes)):
            args = (c.n_nodes, c.tails, c.heads, c.time_s, c.label)
            opts = leg_options(*args, charge, a, z)
            assert times_close(plan.fastest.legs[i].time_s, min(t for t, _ in opts.values()), TIME_RTOL)
            opts = leg_options(*args, ch, a, z)
            lc, lt = min((set_cost(s, ch), t) for s, (t, _) in opts.items())
            leg = plan.leg_by_leg.legs[i]
            assert leg.cost_pence == lc and times_close(leg.time_s, lt, TIME_RTOL), (day, i)
            for p in leg.pieces:
                if c.label[p] >= 0 and ch[c.label[p]] > 0:
                    ch[c.label[p]] = 0


def test_brute_force_days_cover_the_hard_cases():
    """The generated days contain what they are meant to, and the oracle tells the once-a-day
    rule from the wrong per-leg model (so the comparison above can fail)."""
    tags: set[str] = set()
    differ = strict = errors = multi = 0
    for seed in BRUTE_SEEDS:
        day, charge, want = brute(seed)
        tags |= day.tags
        if want is None:
            errors += 1
            continue
        c = day.case
        args = (c.n_nodes, c.tails, c.heads, c.time_s, c.label, charge, day.nodes)
        per_leg = sum_of_legs_cost(*args)
        assert per_leg is not None and per_leg >= want.cost
        differ += per_leg > want.cost
        multi += day.legs >= 3
        indptr, heads, t, lab, _ = csr(c)
        lbl = leg_by_leg_day(indptr, heads, t, lab, charge, day.nodes, engine="reference")
        assert lbl is not None and lbl.cost >= want.cost
        strict += lbl.cost > want.cost
    assert {"zero_leg", "revisit", "motorway", "merged_label", "parallel", "unreachable", "stop_in_avoid", "zero_charge"} <= tags
    assert differ >= 20, differ  # a seat shared by legs is paid once, not once per leg
    assert strict >= 3, strict  # planning the day whole beats leg by leg on generated days
    assert errors >= 10 and multi >= 100


@pytest.mark.parametrize("seed", range(0, N_BRUTE, 3))
def test_fast_bounds_admissible_on_layered_graph(seed):
    """The fast engine's charge bound, built from the layered graph's own cell graph, never
    exceeds the true optimum at the source (admissible), and the array-level engines agree."""
    day, charge, want = brute(seed)
    if want is None:
        return
    c = day.case
    indptr, heads, t, lab, _ = csr(c)
    lg = layered_graph(indptr, heads, t, lab, day.nodes)
    cg = layered_cell_graph(lg, charge.shape[0])
    w = vertex_weights(cg, charge)
    D = cost_to_go(cg.adj_ptr, cg.adj, cg.node_vptr, cg.node_verts, w, lg.target)
    inc = cg.node_verts[cg.node_vptr[lg.source] : cg.node_vptr[lg.source + 1]]
    lb = min((int(w[x]) + int(D[x]) for x in inc if w[x] >= 0), default=0)
    assert lb <= want.cost
    for engine in ("fast", "reference", "milp"):
        got = cheapest_day(indptr, heads, t, lab, charge, day.nodes, engine=engine)
        assert got is not None and got.cost == want.cost, (engine, day)
        assert times_close(got.time_s, want.time_s, TIME_RTOL)
        flat = [k for leg in got.legs for k in leg]
        assert route_cost(flat, lab, charge)[0] == got.cost


def _canonical(cg):
    """A cell graph up to the numbering of its free components: labels as they are, each free
    vertex named by the smallest edge position it covers (every free vertex covers an edge)."""
    name = {}
    for e, x in enumerate(cg.edge_vertex.tolist()):
        if x >= cg.n_labels:
            name.setdefault(x, ("free", e))
    assert len(name) == cg.n_vertices - cg.n_labels  # no free vertex without an edge
    nm = lambda x: x if x < cg.n_labels else name[x]
    edges = [nm(x) for x in cg.edge_vertex.tolist()]
    nodes = [frozenset(nm(int(x)) for x in cg.node_verts[cg.node_vptr[v]:cg.node_vptr[v + 1]])
             for v in range(cg.node_vptr.shape[0] - 1)]
    adj = {(nm(a), nm(int(b))) for a in range(cg.n_vertices) for b in cg.adj[cg.adj_ptr[a]:cg.adj_ptr[a + 1]]}
    return edges, nodes, adj


@pytest.mark.parametrize("seed", range(1, N_BRUTE, 3))
def test_derived_layered_cell_graph_and_time_bound_equal_the_rebuilt_ones(seed):
    """The fast engine's two shortcuts are the same objects as the layered-graph originals: the
    cell graph derived from the network's equals ``build_cell_graph`` on the layered arrays (up
    to free-component numbering), and the time bound from per-stop reverse Dijkstras equals the
    reverse Dijkstra on the layered graph; the day found with them is the same."""
    day, charge, want = brute(seed)
    c = day.case
    indptr, heads, t, lab, _ = csr(c)
    lg = layered_graph(indptr, heads, t, lab, day.nodes)
    base = build_cell_graph(indptr, heads, lab, charge.shape[0])
    assert _canonical(derive_layered_cell_graph(lg, base)) == _canonical(layered_cell_graph(lg, charge.shape[0]))
    h = layered_time_to_target(indptr, heads, t, _allowed(lab, charge), day.nodes)
    ref = distances_to(lg.indptr, lg.heads, lg.time_s, lg.target, _allowed(lg.label, charge))
    fin = np.isfinite(ref)
    assert np.array_equal(fin, h < 1e29)
    assert np.allclose(h[fin], ref[fin], rtol=1e-9, atol=1e-9)
    got = cheapest_day(indptr, heads, t, lab, charge, day.nodes, engine="fast", base_cell_graph=base)
    if want is None:
        assert got is None
        return
    assert got is not None and got.cost == want.cost
    assert times_close(got.time_s, want.time_s, TIME_RTOL)


def test_lower_bound_shortcut_is_exact_and_both_paths_run():
    """When the all-fastest day already pays the day's charge lower bound, the fast engine
    returns it without building the layered graph; on generated days both paths are taken and
    both give the brute-force optimum."""
    from routeplan.day import day_charge_lower_bound

    hit = searched = 0
    for seed in range(0, N_BRUTE, 2):
        day, charge, want = brute(seed)
        if want is None:
            continue
        indptr, heads, t, lab, _ = csr(day.case)
        lb = day_charge_lower_bound(build_cell_graph(indptr, heads, lab, charge.shape[0]), charge, day.nodes)
        assert lb <= want.cost  # a lower bound
        got = cheapest_day(indptr, heads, t, lab, charge, day.nodes, engine="fast")
        assert got is not None and got.cost == want.cost and times_close(got.time_s, want.time_s, TIME_RTOL)
        if got.stats.get("fastest_proven_cheapest"):
            hit += 1
            assert got.stats["layered_nodes"] == 0
        else:
            searched += 1
    assert hit >= 10 and searched >= 10, (hit, searched)


# ----------------------------------------------------------------------- (b) independent MILP


def _compare_with_milp(n, tails, heads, t_in, lab_in, charge, nodes):
    indptr, hd, order = csr_from_edges(n, tails, heads)
    t, lab = t_in[order], lab_in[order]
    m = milp_day(n, tails, heads, t_in, lab_in, charge, nodes)
    got = cheapest_day(indptr, hd, t, lab, charge, nodes, engine="fast")
    if m is None:
        assert got is None
        return None
    assert m.optimal
    assert got is not None and got.cost == m.cost
    assert got.time_s == pytest.approx(m.time_s, rel=TIME_RTOL)
    ref = cheapest_day(indptr, hd, t, lab, charge, nodes, engine="reference")
    assert ref is not None and ref.cost == m.cost and ref.time_s == pytest.approx(m.time_s, rel=TIME_RTOL)
    # The MILP's own legs recompute to its charge (shared labels paid once).
    flat = [e for leg in m.legs for e in leg]
    labs = {int(lab_in[e]) for e in flat if lab_in[e] >= 0 and charge[lab_in[e]] > 0}
    assert sum(int(charge[x]) for x in labs) == m.cost
    return m


@pytest.mark.parametrize("seed", MILP_SEEDS)
def test_day_matches_milp_generated(seed):
    day = make_day(seed)
    c = day.case
    charge = free_stop_cells(c.label_charge, day.stop_cells)
    m = _compare_with_milp(c.n_nodes, c.tails, c.heads, c.time_s, c.label, charge, list(day.nodes))
    want = brute_force_day(c.n_nodes, c.tails, c.heads, c.time_s, c.label, charge, day.nodes)
    assert (m is None) == (want is None)
    if m is not None and want is not None:
        assert m.cost == want.cost and times_close(m.time_s, want.time_s, TIME_RTOL)


@pytest.mark.parametrize("seed", range(4))
def test_day_matches_milp_on_larger_grids(seed):
    """Too big to brute force: 12x12 constituency grids, 3-4 stops across the grid."""
    case = big_grid_case(seed, rows=12, cols=12, n_regions=8)
    rng = np.random.default_rng(seed)
    nodes = [0, *(int(x) for x in rng.integers(0, case.n_nodes, 1 + seed % 2)), case.n_nodes - 1]
    m = _compare_with_milp(case.n_nodes, case.tails, case.heads, case.time_s, case.label, case.label_charge, nodes)
    assert m is not None


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
    return nodes.shape[0], new[c.tails[keep]], new[c.heads[keep]], c.time_s[keep], c.label[keep], c.label_charge


@pytest.mark.integration
@pytest.mark.parametrize(("which", "centre", "half"), [("newport2024", (51.5820, -3.0050), 600), ("newport2010", (51.5820, -3.0050), 600)])
def test_day_matches_milp_on_real_subgraphs(request, which, centre, half):
    """Real roads around the 2024 Newport East/West boundary near Stow Park (the same window
    under the 2010 boundaries): 3-stop days, stops' seats free as the planner makes them."""
    net = request.getfixturevalue(which)
    n, tails, heads, t, lab, charge = subgraph(net, ExpensePolicy(), centre, half)
    assert 100 < tails.shape[0] < 3000, tails.shape
    rng = np.random.default_rng(7)
    compared = charged = 0
    for _ in range(40):
        nodes = [int(v) for v in rng.integers(0, n, 3)]
        m = _compare_with_milp(n, tails, heads, t, lab, charge.copy(), nodes)
        if m is None:
            continue
        compared += 1
        charged += m.cost > 0
        if compared == 3:
            break
    assert compared == 3 and charged >= 1


# ------------------------------------------------------------------ (c) constructed days


def _tiny(edges, n, charge):
    tails = np.array([e[0] for e in edges], dtype=np.int64)
    heads = np.array([e[1] for e in edges], dtype=np.int64)
    t = np.array([e[2] for e in edges], dtype=np.float64)
    lab = np.array([e[3] for e in edges], dtype=np.int32)
    return Case("drawn", 0, n, tails, heads, t, lab, np.asarray(charge, dtype=np.int64), 0, n - 1)


def test_whole_day_strictly_cheaper_generated():
    """Leg 1 (A -> B) may go through X or Y at the same charge, Y faster; leg 2 (B -> C) must
    pass X.  Leg by leg pays X and Y; the whole day pays X once."""
    X, Y = 0, 1
    A, x, y, B, C = 0, 1, 2, 3, 4
    edges = [(A, x, 2, X), (x, B, 2, X), (A, y, 1, Y), (y, B, 1, Y), (B, C, 3, X)]
    case = _tiny(edges, 5, [100, 100])
    nodes = [A, B, C]
    want = brute_force_day(case.n_nodes, case.tails, case.heads, case.time_s, case.label, case.label_charge, nodes)
    assert want is not None and (want.cost, want.time_s) == (100, 7.0)
    indptr, heads, t, lab, _ = csr(case)
    lbl = leg_by_leg_day(indptr, heads, t, lab, case.label_charge, nodes)
    assert lbl is not None and (lbl.cost, lbl.time_s) == (200, 5.0)
    net, policy = day_network(case)
    day = Day(case, tuple(nodes), (-1, -1, -1))
    plan = plan_day(net, stops_of(day), policy)
    assert (plan.cost_pence, plan.time_s) == (100, 7.0)
    assert (plan.leg_by_leg.cost_pence, plan.fastest.cost_pence) == (200, 200)
    assert plan.saving_vs_leg_by_leg_pence == 100
    assert [ch.charged_by for ch in plan.best.charges if ch.pence] == ["leg 1"]
    assert plan.best.charges[0].legs == ((1, 0.004), (2, 0.003))  # X driven on both legs
    for dr in (plan.best, plan.fastest, plan.leg_by_leg):
        check_route(net, dr, plan)


def test_a_later_stops_seat_is_free_for_an_early_leg():
    """Leg 1 (A -> B) can take a fast road in Z or a slow free road; the last stop stands in Z,
    so Z is paid anyway and leg 1 takes the fast road -- once-a-day, stops included."""
    Z, W = 0, 1
    A, B, C = 0, 1, 2
    edges = [(A, B, 1, Z), (A, B, 5, -1), (B, C, 2, W)]
    case = _tiny(edges, 3, [300, 100])
    net, policy = day_network(case)
    day = Day(case, (A, B, C), (W, W, Z))
    plan = plan_day(net, stops_of(day), policy)
    assert plan.cost_pence == 400 and plan.time_s == 3.0
    assert plan.legs[0].cost_pence == 0  # Z is charged by the stop, not by leg 1
    z = next(ch for ch in plan.best.charges if ch.code == "C0")
    assert z.charged_by == "stop S2" and z.legs == ((1, 0.001),)
    # Without stop charging, leg 1 would pay Z itself: the slow exempt road wins.
    plan2 = plan_day(net, stops_of(day), ExpensePolicy(day_rate_pence=100, overrides=policy.overrides, charge_stops=False))
    assert plan2.cost_pence == 100 and plan2.time_s == 7.0


def test_day_ties_and_zero_length_legs():
    """Equal-charge, equal-time alternatives; a repeated stop (zero-length leg) costs nothing."""
    edges = [(0, 1, 2, 0), (0, 1, 2, 1), (1, 2, 2, 0), (1, 2, 2, 1)]
    case = _tiny(edges, 3, [100, 100])
    net, policy = day_network(case)
    day = Day(case, (0, 1, 1, 2), (-1, -1, -1, -1))
    plan = plan_day(net, stops_of(day), policy)
    assert plan.cost_pence == 100 and plan.time_s == 4.0
    assert plan.legs[1].pieces == () and plan.legs[1].time_s == 0.0
    check_route(net, plan.best, plan)


# -------------------------------------------------------------- (d) the real Newport network


@pytest.mark.integration
@pytest.mark.parametrize("names", [("Duffryn", "Stow Park", "Rogerstone", "Marshfield"), ("Rogerstone", "Newport", "Maesglas"), ("Bassaleg", "Duffryn", "Newport", "Coedkernew")])
def test_newport_days(newport2024, b2024, names):
    stops = [resolve(x, newport2024, b2024) for x in names]
    pol = ExpensePolicy()
    plans = {e: plan_day(newport2024, stops, pol, engine=e) for e in ("fast", "reference")}
    f, r = plans["fast"], plans["reference"]
    assert f.cost_pence == r.cost_pence and f.time_s == pytest.approx(r.time_s, rel=1e-9)
    for plan in plans.values():
        for dr in (plan.best, plan.fastest, plan.leg_by_leg):
            check_route(newport2024, dr, plan)
        check_baselines(plan)
        shortcut = plan.sizes["fastest_proven_cheapest"]  # fast engine: no layered search needed
        assert shortcut in (0, 1) and (shortcut == 0 or plan.engine == "fast")
        assert plan.sizes["layered_nodes"] == (0 if shortcut else (len(names) - 1) * newport2024.n_nodes)
    doc = json.loads(json.dumps(f.as_dict(newport2024)))
    assert doc["best"]["cost_pence"] == f.cost_pence and len(doc["best"]["legs"]) == len(names) - 1
    # Every stop's own seat is charged, by a stop.
    for st in stops:
        row = next(c for c in f.best.charges if c.code == newport2024.cell_codes[st.cell])
        assert row.pence > 0 and row.charged_by.startswith("stop ")


# Found on the 2024 map: stops near the new East/West boundary by Stow Park; with stops not
# charged (policy charge_stops = false), leg 1 may stay in Newport West and Islwyn or run in
# Newport East; leg 2 must enter Newport East.  Leg by leg pays both seats.
STRICT_STOPS = ("51.587113,-3.003535", "51.585047,-3.005481", "51.581085,-2.976704")


@pytest.mark.integration
def test_newport_whole_day_strictly_cheaper(newport2024, b2024):
    stops = [resolve(x, newport2024, b2024) for x in STRICT_STOPS]
    pol = ExpensePolicy(charge_stops=False)
    plan = plan_day(newport2024, stops, pol)
    ref = plan_day(newport2024, stops, pol, engine="reference")
    assert plan.cost_pence == ref.cost_pence == 46100
    assert plan.time_s == pytest.approx(ref.time_s, rel=1e-9)
    assert plan.leg_by_leg.cost_pence == 92200 and plan.saving_vs_leg_by_leg_pence == 46100
    assert [c.name for c in plan.best.ledger.charged] == ["Newport East"]
    assert {c.name for c in plan.leg_by_leg.ledger.charged} == {"Newport East", "Newport West and Islwyn"}
    assert plan.time_s > plan.leg_by_leg.time_s  # the saving costs driving time
    east = next(c for c in plan.best.charges if c.name == "Newport East")
    assert [i for i, _ in east.legs] == [1, 2] and east.charged_by == "leg 1"
    for dr in (plan.best, plan.fastest, plan.leg_by_leg):
        check_route(newport2024, dr, plan)
    # The leg-by-leg answer is what plan_leg gives leg by leg.
    from routeplan.routing import plan_leg

    leg1 = plan_leg(newport2024, stops[0], stops[1], pol)
    paid = [c.code for c in leg1.cheapest.ledger.charged]
    leg2 = plan_leg(newport2024, stops[1], stops[2], pol, already_charged=paid)
    assert leg1.cheapest.cost_pence + leg2.cheapest.cost_pence == plan.leg_by_leg.cost_pence


@pytest.mark.integration
def test_newport_already_charged_and_day(newport2024, b2024):
    stops = [resolve(x, newport2024, b2024) for x in STRICT_STOPS]
    pol = ExpensePolicy(charge_stops=False)
    east = newport2024.cell_codes[stops[2].cell]
    plan = plan_day(newport2024, stops, pol, already_charged=[east], day=3)
    assert plan.cost_pence <= 46100 and plan.best.ledger.day == 3
    assert all(r.day == 3 for r in plan.best.ledger.rows)
    row = next(c for c in plan.best.charges if c.code == east)
    assert row.pence == 0 and row.charged_by == "already charged"
    check_route(newport2024, plan.best, plan)


# ------------------------------------------------------------------------- (e) bad input


@pytest.mark.integration
def test_bad_days(newport2024, b2024):
    net = newport2024
    a, b = resolve("Duffryn", net, b2024), resolve("Newport", net, b2024)
    with pytest.raises(UsageError, match="at least two stops"):
        plan_day(net, [a])
    with pytest.raises(UsageError, match="not on this network"):
        plan_day(net, [a, Stop("far", 52.0, -1.0, b.node, 10.0, "lat,lon", b.cell, "inside")])
    with pytest.raises(UsageError, match="not on this network"):
        plan_day(net, [a, Stop("x", b.lat, b.lon, net.n_nodes + 5, 0.0, "lat,lon", b.cell, "inside")])
    with pytest.raises(UsageError, match="unknown engine"):
        plan_day(net, [a, b], engine="quantum")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="value of time"):
        plan_day(net, [a, b], ExpensePolicy(value_of_time_pence_per_hour=12000))
    with pytest.raises(UsageError, match="day"):
        plan_day(net, [a, b], day=0)
    east = net.cell_names[b.cell]
    with pytest.raises(InfeasibleError, match="hard-avoid"):
        plan_day(net, [a, b, a], ExpensePolicy(overrides={east: AVOID}))
    # Consecutive identical stops: a zero-length leg, allowed.
    plan = plan_day(net, [a, a, b])
    assert plan.legs[0].pieces == () and plan.legs[0].time_s == 0.0
    single = plan_day(net, [a, b])
    assert plan.cost_pence == single.cost_pence and plan.time_s == pytest.approx(single.time_s)
