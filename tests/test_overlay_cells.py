"""Exactness of the constituency-cell overlay (``routeplan.kernels.overlay_cells``).

The overlay replaces every run of a route inside one cell by the cell's fastest border-to-border
path; it must give exactly the Pareto front of (charge, time) of the road graph, the same fastest
time, and routes that are real road paths.  Checked against brute force (every simple path), the
flat fast kernel, the reference kernel and the MILP, on generated graphs with several cells,
exempt shortcuts, forbidden and free cells, re-entries and ties, under three partitions (cells =
labels; exempt roads split "geographically"; a random refinement of every cell), and on the real
Newport and Rutland networks (random pairs, hard-avoid and free seats, small real sub-graphs).
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from functools import cache

import numpy as np
import pytest
from oracles import all_routes, front_of, times_close, validate_route
from randgraphs import Case, big_grid_case, make_case

from routeplan import cache as rcache
from routeplan.kernels import csr_from_edges
from routeplan.kernels.dijkstra import Workspace, edge_tails, shortest_path
from routeplan.kernels.fastlabels import pareto_front_fast
from routeplan.kernels.labels import pareto_front, route_cost
from routeplan.kernels.landmarks import compute_landmarks
from routeplan.kernels.milp import milp_cheapest, milp_pareto_front
from routeplan.kernels.overlay_cells import (
    CellOverlay,
    OverlayQuery,
    build_overlay,
    edge_cells,
    pareto_front_overlay,
    shortest_path_overlay,
)
from routeplan.network import Network, build_network
from routeplan.policy import AVOID, ExpensePolicy

N_CASES = 600
SEEDS = range(50_000, 50_000 + N_CASES)
PARTITIONS = ("labels", "geo", "refined")
RTOL_MILP = 1e-6


@dataclass(frozen=True)
class Prepared:
    case: Case
    order: np.ndarray
    indptr: np.ndarray
    heads: np.ndarray
    tails: np.ndarray
    time_s: np.ndarray
    label: np.ndarray

    @property
    def charge(self) -> np.ndarray:
        return self.case.label_charge

    def input_edges(self, edges: tuple[int, ...] | list[int]) -> list[int]:
        return [int(self.order[k]) for k in edges]


def prepare(case: Case) -> Prepared:
    indptr, heads, order = csr_from_edges(case.n_nodes, case.tails, case.heads)
    return Prepared(case, order, indptr, heads, edge_tails(indptr), case.time_s[order], case.label[order])


def partition(p: Prepared, kind: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Edge cells refining the labels: the labels themselves, exempt edges split by a random
    'geographic' seat, or every cell split again by a random colour of the edge's tail."""
    n_labels = p.charge.shape[0]
    rng = np.random.default_rng(seed)
    if kind == "labels":
        return edge_cells(p.label, None, n_labels)
    geo = rng.integers(-1, max(1, n_labels), size=p.label.shape[0])
    cell, cell_label = edge_cells(p.label, geo, n_labels)
    if kind == "refined":
        k = 3
        colour = rng.integers(0, k, size=p.case.n_nodes)[p.tails]
        cell = (cell.astype(np.int64) * k + colour).astype(np.int32)
        cell_label = np.repeat(cell_label, k)
    return cell, cell_label


@cache
def brute(seed: int) -> list[tuple[int, float]]:
    c = make_case(seed)
    return front_of([(cost, t) for cost, t, _ in all_routes(*c.args)])


def check_routes(p: Prepared, front: list, *, simple: bool = True) -> None:
    c = p.case
    for r in front:
        cost, t = validate_route(p.input_edges(r.edges), c.tails, c.heads, c.time_s, c.label, c.label_charge, c.source, c.target, simple=simple)
        assert cost == r.cost and times_close(t, r.time_s), (r, cost, t)
        assert r.labels == route_cost(list(r.edges), p.label, p.charge)[1]


def points(front: list) -> list[tuple[int, float]]:
    return [(r.cost, r.time_s) for r in front]


def assert_same(got: list[tuple[int, float]], want: list[tuple[int, float]], rtol: float = 1e-9) -> None:
    assert len(got) == len(want), (got, want)
    for (gc, gt), (wc, wt) in zip(got, want, strict=True):
        assert gc == wc and times_close(gt, wt, rtol), (got, want)


# --------------------------------------------------------------------------- generated graphs


def _crosses(p: Prepared, cell: np.ndarray, edges: tuple[int, ...]) -> int:
    """Runs of the route in distinct consecutive cells (3+ means a middle run, i.e. a clique edge)."""
    runs = [k for k, _ in itertools.groupby(int(cell[e]) for e in edges)]
    return len(runs)


@pytest.mark.parametrize("seed", SEEDS)
def test_overlay_front_matches_brute_force_and_fast_kernel(seed: int) -> None:
    c = make_case(seed)
    p = prepare(c)
    want = brute(seed)
    lms = compute_landmarks(p.indptr, p.heads, p.time_s, np.array([0, c.n_nodes - 1], dtype=np.int64))
    fast = pareto_front_fast(p.indptr, p.heads, p.time_s, p.label, p.charge, c.source, c.target)
    assert_same(points(fast), want)
    allowed = np.ones(p.label.shape[0], dtype=bool)
    allowed[p.label >= 0] = p.charge[p.label[p.label >= 0]] != AVOID
    plain = shortest_path(p.indptr, p.heads, p.time_s, c.source, c.target, allowed)
    for kind in PARTITIONS:
        cell, cell_label = partition(p, kind, seed)
        ov = build_overlay(p.indptr, p.heads, p.time_s, cell, cell_label, threads=1)
        ws = Workspace(c.n_nodes)
        lm = None if kind == "labels" else lms  # landmark bounds here include infinities: they must prune correctly
        got = pareto_front_overlay(ov, p.indptr, p.heads, p.tails, p.time_s, p.label, p.charge, c.source, c.target,
                                   landmarks=lm, workspace=ws, initial_capacity=2)
        assert_same(points(got), want)
        check_routes(p, got)
        first = pareto_front_overlay(ov, p.indptr, p.heads, p.tails, p.time_s, p.label, p.charge, c.source, c.target,
                                     landmarks=lm, workspace=ws, first_only=True)
        assert points(first) == points(got[:1])
        for goal in (True, False):
            q = OverlayQuery(ov, p.indptr, p.heads, p.tails, p.time_s, p.label, p.charge, c.source, c.target, landmarks=lms, workspace=ws)
            f = q.fastest(goal_directed=goal)
            assert (f is None) == (plain is None)
            if f is not None and plain is not None:
                assert times_close(f[0], plain[0])
                _, t = validate_route(p.input_edges(f[1]), c.tails, c.heads, c.time_s, c.label, c.label_charge, c.source, c.target)
                assert times_close(t, f[0])
                # The front from the same query (cell trees shared) is the same front.
                assert_same(points(q.front(indptr_heads=(p.indptr, p.heads))), want)
        assert np.isinf(ws.dist).all() and (ws.pred_node == -1).all() and not ws.done.any() and (ws.head == -1).all()


def test_overlay_corpus_is_not_trivial() -> None:
    """The cases above really exercise the overlay: routes through clique edges (three or more
    cell runs), fronts of two points and more, unreachable targets, forbidden and free cells."""
    stats: Counter[str] = Counter()
    for seed in SEEDS:
        c = make_case(seed)
        p = prepare(c)
        stats.update(c.tags)
        for kind in PARTITIONS:
            cell, cell_label = partition(p, kind, seed)
            ov = build_overlay(p.indptr, p.heads, p.time_s, cell, cell_label, threads=1)
            got = pareto_front_overlay(ov, p.indptr, p.heads, p.tails, p.time_s, p.label, p.charge, c.source, c.target)
            stats[f"{kind}:clique_used"] += bool(got) and max(_crosses(p, cell, r.edges) for r in got) >= 3
            if kind == "labels":
                stats["front>=2"] += len(got) >= 2
                stats["no_route"] += not got
    for kind in PARTITIONS:
        assert stats[f"{kind}:clique_used"] >= N_CASES // 10, (kind, stats)
    floors = {"front>=2": 50, "no_route": 20, "forbidden": 60, "zero_charge": 100, "motorway": 150, "merged_label": 100}
    short = {k: stats[k] for k, v in floors.items() if stats[k] < v}
    assert not short, short


@pytest.mark.parametrize("seed", range(60_000, 60_150))
def test_overlay_bounds_match_brute_force(seed: int) -> None:
    """max_cost / max_time limits give the brute-force front within the limits."""
    c = make_case(seed)
    p = prepare(c)
    routes = all_routes(*c.args)
    pts = [(cost, t) for cost, t, _ in routes]
    front = front_of(pts)
    cell, cell_label = partition(p, "geo", seed)
    ov = build_overlay(p.indptr, p.heads, p.time_s, cell, cell_label, threads=1)
    if not front:
        assert pareto_front_overlay(ov, p.indptr, p.heads, p.tails, p.time_s, p.label, p.charge, c.source, c.target, max_time=1e9) == []
        return
    limits: list[dict[str, float]] = []
    for i, (cost, t) in enumerate(front):
        limits += [{"max_cost": cost}, {"max_time": t * (1 + 1e-7)}, {"max_time": t * (1 - 1e-7)}]
        if i + 1 < len(front):
            limits.append({"max_cost": cost, "max_time": (t + front[i + 1][1]) / 2})
    for kw in limits:
        got = pareto_front_overlay(ov, p.indptr, p.heads, p.tails, p.time_s, p.label, p.charge, c.source, c.target, **kw)  # type: ignore[arg-type]
        mc, mt = kw.get("max_cost"), kw.get("max_time")
        assert_same(points(got), front_of(pts, max_cost=None if mc is None else int(mc), max_time=mt))
        check_routes(p, got)


def test_threads_do_not_change_the_overlay() -> None:
    c = big_grid_case(3, 20, 20, 10)
    p = prepare(c)
    cell, cell_label = partition(p, "refined", 3)
    a = build_overlay(p.indptr, p.heads, p.time_s, cell, cell_label, threads=1)
    b = build_overlay(p.indptr, p.heads, p.time_s, cell, cell_label, threads=2)
    for name, arr in a.arrays().items():
        assert np.array_equal(arr, b.arrays()[name]), name
    assert a.n_border > 20 and a.n_clique_edges > 50


def test_dominated_clique_edges_are_dropped_but_paths_kept() -> None:
    """A cell that is a path a -> b -> c through three border nodes keeps a->b and b->c only;
    a route a -> c still uses both (and the answer is unchanged)."""
    # 0 -A-> 1 -A-> 2 -A-> 3 ; border nodes 1 and 2 (B edges leave them), 0 -A-> ... only cell A.
    tails = np.array([0, 1, 2, 1, 2, 5, 4])
    heads = np.array([1, 2, 3, 4, 5, 3, 0])
    tm = np.array([1.0, 1.0, 1.0, 5.0, 5.0, 5.0, 1.0])
    lab = np.array([0, 0, 0, 1, 1, 1, 1], dtype=np.int32)
    indptr, hd, order = csr_from_edges(6, tails, heads)
    t, lb = tm[order], lab[order]
    cell, cell_label = edge_cells(lb, None, 2)
    ov = build_overlay(indptr, hd, t, cell, cell_label, threads=1)
    border = set(ov.border_node.tolist())
    assert {0, 1, 2, 3} <= border
    pairs = {(int(ov.border_node[b]), int(ov.border_node[ov.ov_head[e]]))
             for b in range(ov.n_border) for e in range(ov.ov_ptr[b], ov.ov_ptr[b + 1]) if ov.ov_cell[e] == 0}
    assert pairs == {(0, 1), (1, 2), (2, 3)}  # 0->2, 0->3, 1->3 pass another border node
    charge = np.array([100, 200], dtype=np.int64)
    got = pareto_front_overlay(ov, indptr, hd, edge_tails(indptr), t, lb, charge, 0, 3)
    assert points(got) == [(100, 3.0)]
    assert [int(order[k]) for k in got[0].edges] == [0, 1, 2]


def test_overlay_front_matches_milp_on_grids() -> None:
    """10x10 constituency grids: too big to brute force, so the MILP front is the oracle."""
    fronts = []
    for seed in range(4):
        c = big_grid_case(seed, 10, 10, 8)
        p = prepare(c)
        cell, cell_label = partition(p, "refined", seed)
        ov = build_overlay(p.indptr, p.heads, p.time_s, cell, cell_label, threads=1)
        got = pareto_front_overlay(ov, p.indptr, p.heads, p.tails, p.time_s, p.label, p.charge, c.source, c.target)
        want = milp_pareto_front(*c.args)
        assert_same(points(got), [(r.cost, r.time_s) for r in want], RTOL_MILP)
        check_routes(p, got)
        fronts.append(len(got))
    assert sum(n >= 2 for n in fronts) >= 2, fronts


def test_overlay_cheapest_matches_milp_on_thousands_of_edges() -> None:
    c = big_grid_case(1, 25, 25, 12)
    p = prepare(c)
    cell, cell_label = partition(p, "geo", 1)
    ov = build_overlay(p.indptr, p.heads, p.time_s, cell, cell_label)
    (got,) = pareto_front_overlay(ov, p.indptr, p.heads, p.tails, p.time_s, p.label, p.charge, c.source, c.target, first_only=True)
    m = milp_cheapest(*c.args, time_limit=60)
    assert m is not None and m.optimal
    assert got.cost == m.cost and times_close(got.time_s, m.time_s, RTOL_MILP)
    check_routes(p, [got])


# --------------------------------------------------------------------------- real networks


def _policies(net: Network) -> list[tuple[str, ExpensePolicy, tuple[str, ...]]]:
    """Default; a hard-avoid seat and a free seat; trunk roads exempt too."""
    counts = np.bincount(net.pieces.cell[net.pieces.cell >= 0], minlength=len(net.cell_codes))
    big = [net.cell_codes[i] for i in np.argsort(-counts)[:3] if counts[i] > 0]
    out = [("default", ExpensePolicy(), ())]
    if len(big) >= 2:
        out.append(("avoid+free", ExpensePolicy(overrides={big[1]: AVOID}), (big[0],)))
    out.append(("trunk", ExpensePolicy(exempt_classes=frozenset({"motorway", "motorway_link", "trunk", "trunk_link"})), ()))
    return out


def _check_real(net: Network, pairs: int, seed: int, reference_every: int) -> Counter[str]:
    seen: Counter[str] = Counter()
    for name, pol, free in _policies(net):
        comp = net.compile(pol, free)
        ex = frozenset(pol.exempt_classes)
        ov = net.overlay(ex)
        cg = net.cell_graph(ex)
        allowed = net.allowed_mask(ex, comp.label_charge)
        rng = np.random.default_rng(seed)
        done = 0
        while done < pairs:
            s, t = (int(v) for v in rng.integers(0, net.n_nodes, 2))
            plain = shortest_path(comp.indptr, comp.heads, comp.time_s, s, t, allowed, workspace=net.workspace)
            q = OverlayQuery(ov, comp.indptr, comp.heads, comp.tails, comp.time_s, comp.label, comp.label_charge, s, t,
                             xy=net.node_x_y, inv_vmax=net.inv_vmax, landmarks=net.landmarks, workspace=net.workspace)
            goal = q.fastest()
            if plain is None:
                assert goal is None and q.fastest(goal_directed=False) is None
                continue
            tree = q.fastest(goal_directed=False)
            for f in (goal, tree):
                assert f is not None and times_close(f[0], plain[0])
                edges = f[1]
                if edges:
                    assert comp.tails[edges[0]] == s and comp.heads[edges[-1]] == t
                    assert all(comp.heads[a] == comp.tails[b] for a, b in itertools.pairwise(edges))
                    assert times_close(float(comp.time_s[edges].sum()), f[0])
            flat = pareto_front_fast(comp.indptr, comp.heads, comp.time_s, comp.label, comp.label_charge, s, t, cell_graph=cg,
                                     xy=net.node_x_y, inv_vmax=net.inv_vmax, landmarks=net.landmarks, workspace=net.workspace)
            got = q.front(cell_graph=cg)
            assert_same(points(got), points(flat))
            if done % reference_every == 0:
                ref = pareto_front(comp.indptr, comp.heads, comp.time_s, comp.label, comp.label_charge, s, t)
                assert_same(points(got), points(ref))
            for r in got:
                assert route_cost(list(r.edges), comp.label, comp.label_charge)[0] == r.cost
                assert times_close(float(comp.time_s[list(r.edges)].sum()), r.time_s)
                assert all(comp.heads[a] == comp.tails[b] for a, b in itertools.pairwise(r.edges))
            seen[f"{name}:charged"] += got[0].cost > 0
            seen[f"{name}:front>=2"] += len(got) >= 2
            seen[f"{name}:inner_both"] += int(ov.node_code[s] >= 0 and ov.node_code[t] >= 0)
            done += 1
    ws = net.workspace
    assert np.isinf(ws.dist).all() and (ws.pred_node == -1).all() and not ws.done.any() and (ws.head == -1).all()
    return seen


@pytest.mark.integration
def test_overlay_on_newport(newport2024) -> None:
    seen = _check_real(newport2024, pairs=60, seed=3, reference_every=6)
    assert seen["default:charged"] > 10 and seen["default:inner_both"] > 10, seen


@pytest.mark.integration
def test_shared_cell_trees_give_the_same_answers(newport2024) -> None:
    """A venue matrix keeps the end-cell searches across pairs (``trees``): every ordered pair of
    some venues, two of them in one cell with a third, gives the same front and fastest route as
    a query with its own searches, and the searches are shared."""
    net = newport2024
    pol = ExpensePolicy()
    comp = net.compile(pol, ())
    ex = frozenset(pol.exempt_classes)
    ov, cg = net.overlay(ex), net.cell_graph(ex)
    rng = np.random.default_rng(5)
    inner = np.flatnonzero((ov.node_code >= 0) & (ov.node_code < ov.n_cells))
    venues = [int(v) for v in rng.choice(inner, 6, replace=False)]
    for v in venues[:2]:  # a second venue in the same cell
        mates = inner[(ov.node_code[inner] == ov.node_code[v]) & (inner != v)]
        venues.append(int(mates[len(mates) // 2]))
    trees: dict = {}
    same_cell = 0
    for s in venues:
        for t in venues:
            if s == t:
                continue
            same_cell += int(ov.node_code[s] == ov.node_code[t])
            args = (ov, comp.indptr, comp.heads, comp.tails, comp.time_s, comp.label, comp.label_charge, s, t)
            kw = {"xy": net.node_x_y, "inv_vmax": net.inv_vmax, "landmarks": net.landmarks, "workspace": net.workspace}
            own, shared = OverlayQuery(*args, **kw), OverlayQuery(*args, **kw, trees=trees)
            assert shared.front(cell_graph=cg) == own.front(cell_graph=cg)
            assert shared.fastest(goal_directed=False) == own.fastest(goal_directed=False)
    assert same_cell >= 4
    n_pairs = len(venues) * (len(venues) - 1)
    assert len(trees) <= 2 * len(venues) + same_cell < 2 * n_pairs  # one source and one target search per venue
    ws = net.workspace
    assert (ws.pred_node == -1).all()


@pytest.mark.integration
def test_overlay_on_rutland(rutland2024) -> None:
    seen = _check_real(rutland2024, pairs=60, seed=4, reference_every=6)
    assert seen["default:charged"] > 10, seen


def _real_subgraphs(net: Network, count: int, seed: int) -> list[Case]:
    """Small induced sub-graphs of a real network around border nodes (brute-forceable), with
    the real labels, charges of the default policy, one seat free and one forbidden at times."""
    pol = ExpensePolicy()
    comp = net.compile(pol)
    ov = net.overlay(frozenset(pol.exempt_classes))
    rng = np.random.default_rng(seed)
    out: list[Case] = []
    for b in rng.permutation(ov.n_border):
        root = int(ov.border_node[b])
        nodes = [root]
        seen = {root}
        frontier = [root]
        while frontier and len(nodes) < 11:  # breadth first over both directions
            nxt = []
            for u in frontier:
                for k in range(comp.indptr[u], comp.indptr[u + 1]):
                    for v in (int(comp.heads[k]),):
                        if v not in seen and len(nodes) < 11:
                            seen.add(v)
                            nodes.append(v)
                            nxt.append(v)
            frontier = nxt
        idx = {v: i for i, v in enumerate(nodes)}
        keep = [k for k in range(comp.heads.shape[0]) if int(comp.tails[k]) in idx and int(comp.heads[k]) in idx]
        if len(keep) < len(nodes):
            continue
        lab = comp.label[keep].astype(np.int32)
        charge = comp.label_charge.copy()
        used = sorted({int(x) for x in lab if x >= 0})
        if len(used) >= 2 and rng.random() < 0.5:
            charge[used[int(rng.integers(len(used)))]] = 0
        if len(used) >= 2 and rng.random() < 0.3:
            charge[used[int(rng.integers(len(used)))]] = AVOID
        s, t = (int(x) for x in rng.choice(len(nodes), size=2, replace=False))
        out.append(Case("real", int(b), len(nodes), np.array([idx[int(comp.tails[k])] for k in keep]),
                        np.array([idx[int(comp.heads[k])] for k in keep]), comp.time_s[keep].copy(), lab, charge, s, t))
        if len(out) == count:
            break
    return out


@pytest.mark.integration
@pytest.mark.parametrize("which", ["newport2024", "rutland2024"])
def test_overlay_on_real_subgraphs_matches_brute_force(which: str, request: pytest.FixtureRequest) -> None:
    net = request.getfixturevalue(which)
    cases = _real_subgraphs(net, 40, 9)
    assert len(cases) >= 20
    nontrivial = 0
    for c in cases:
        p = prepare(c)
        want = front_of([(cost, t) for cost, t, _ in all_routes(*c.args)])
        for kind in ("labels", "refined"):
            cell, cell_label = partition(p, kind, c.seed)
            ov = build_overlay(p.indptr, p.heads, p.time_s, cell, cell_label, threads=1)
            got = pareto_front_overlay(ov, p.indptr, p.heads, p.tails, p.time_s, p.label, p.charge, c.source, c.target)
            assert_same(points(got), want)
            check_routes(p, got)
        nontrivial += len({lab for lab in c.label.tolist() if lab >= 0}) >= 2 and bool(want)
    assert nontrivial >= 5


@pytest.mark.integration
def test_plan_leg_overlay_equals_flat_on_newport(newport2024) -> None:
    from routeplan.locate import Stop
    from routeplan.routing import plan_leg

    net = newport2024
    rng = np.random.default_rng(12)
    mk = lambda n: Stop(f"node {n}", float(net.pieces.node_lat[n]), float(net.pieces.node_lon[n]), n, 0.0, "node", -1, "outside")
    checked = 0
    for _ in range(25):
        s, t = (int(v) for v in rng.integers(0, net.n_nodes, 2))
        a = plan_leg(net, mk(s), mk(t), engine="flat", alternatives=True)
        b = plan_leg(net, mk(s), mk(t), engine="overlay", alternatives=True)
        assert (a.cheapest.cost_pence, a.fastest.cost_pence) == (b.cheapest.cost_pence, b.fastest.cost_pence)
        assert times_close(a.cheapest.time_s, b.cheapest.time_s) and times_close(a.fastest.time_s, b.fastest.time_s)
        assert [(r.cost_pence, round(r.time_s, 6)) for r in a.front] == [(r.cost_pence, round(r.time_s, 6)) for r in b.front]
        checked += 1
    assert checked == 25


@pytest.mark.integration
def test_overlay_is_cached_and_a_damaged_entry_is_rebuilt(tmp_path, b2024) -> None:
    from datapaths import NEWPORT

    net = build_network(NEWPORT, b2024, cache_dir=tmp_path)
    ex = frozenset(ExpensePolicy().exempt_classes)
    ov = net.overlay(ex)
    (entry,) = [e.path for e in rcache.entries(tmp_path) if e.kind == "overlay"]
    again = build_network(NEWPORT, b2024, cache_dir=tmp_path)
    hit = again.overlay(ex)
    for name, arr in ov.arrays().items():
        assert np.array_equal(arr, hit.arrays()[name]), name
    # Another exempt set is another entry.
    again.overlay(frozenset({"motorway"}))
    assert len([e for e in rcache.entries(tmp_path) if e.kind == "overlay"]) == 2
    # A damaged entry is rebuilt, never trusted.
    raw = bytearray(entry.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    entry.write_bytes(bytes(raw))
    third = build_network(NEWPORT, b2024, cache_dir=tmp_path)
    rebuilt = third.overlay(ex)
    assert isinstance(rebuilt, CellOverlay)
    for name, arr in ov.arrays().items():
        assert np.array_equal(arr, rebuilt.arrays()[name]), name


def test_shortest_path_overlay_equals_dijkstra_on_a_grid() -> None:
    c = big_grid_case(5, 30, 30, 12)
    p = prepare(c)
    cell, cell_label = partition(p, "geo", 5)
    ov = build_overlay(p.indptr, p.heads, p.time_s, cell, cell_label)
    allowed = np.ones(p.label.shape[0], dtype=bool)
    allowed[p.label >= 0] = p.charge[p.label[p.label >= 0]] != AVOID
    rng = np.random.default_rng(5)
    for _ in range(100):
        s, t = (int(v) for v in rng.integers(0, c.n_nodes, 2))
        want = shortest_path(p.indptr, p.heads, p.time_s, s, t, allowed)
        got = shortest_path_overlay(ov, p.indptr, p.heads, p.tails, p.time_s, p.label, p.charge, s, t)
        assert (want is None) == (got is None)
        if want is not None and got is not None:
            assert times_close(want[0], got[0])
            assert times_close(float(p.time_s[got[1]].sum()), got[0])


@pytest.mark.integration
def test_fast_engine_uses_the_overlay_on_large_networks(newport2024, monkeypatch) -> None:
    """``engine="fast"`` is the flat search below ``OVERLAY_MIN_NODES`` road nodes, the overlay
    from there up; both give the same leg."""
    from routeplan import routing
    from routeplan.locate import Stop

    net = newport2024
    mk = lambda n: Stop(f"node {n}", float(net.pieces.node_lat[n]), float(net.pieces.node_lon[n]), n, 0.0, "node", -1, "outside")
    s, t = 17, net.n_nodes - 5
    small = routing.plan_leg(net, mk(s), mk(t), alternatives=True)
    assert "overlay_s" not in small.timings
    monkeypatch.setattr(routing, "OVERLAY_MIN_NODES", 1)
    big = routing.plan_leg(net, mk(s), mk(t), alternatives=True)
    assert "overlay_s" in big.timings
    assert [(r.cost_pence, round(r.time_s, 6)) for r in small.front] == [(r.cost_pence, round(r.time_s, 6)) for r in big.front]
    assert small.cheapest.cost_pence == big.cheapest.cost_pence and times_close(small.cheapest.time_s, big.cheapest.time_s)
