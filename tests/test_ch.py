"""Exactness of the contraction hierarchy (``routeplan.kernels.ch``).

Every query is checked against scipy's Dijkstra on the same graph (parallel edges reduced to the
fastest by the test itself): the time must agree within 1e-9 relative, the route must be a
connected sequence of CSR positions from the source to the target whose times, added in driving
order, give exactly the returned time, and unreachable pairs must give None.  Graphs: small random
digraphs (one-ways, parallel edges, self-loops, disconnected parts, awkward floats), the routing
cases of ``randgraphs``, grids with equal times (ties everywhere), bigger road-like graphs, and the
real Newport network against the A* kernel.  Also: a hierarchy built with witness searches cut to
one settled node (many needless shortcuts) is still exact; builds are deterministic; the stored
arrays round-trip and damaged ones are refused; queries leave their workspace as they found it.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from randgraphs import cases
from scipy.sparse.csgraph import dijkstra

from routeplan import cache as rcache
from routeplan.kernels import csr_from_edges
from routeplan.kernels.ch import (
    CHWorkspace,
    ContractionHierarchy,
    build_ch,
    ch_one_to_many,
    ch_query,
)
from routeplan.kernels.dijkstra import edge_tails, shortest_path

RTOL = 1e-9


# ------------------------------------------------------------------------------------ helpers


def oracle(indptr: np.ndarray, heads: np.ndarray, time_s: np.ndarray, sources: np.ndarray | None = None) -> np.ndarray:
    """All-pairs (or from ``sources``) fastest times by scipy, fastest parallel edge only."""
    n = indptr.shape[0] - 1
    tails = edge_tails(indptr)
    keep = tails != heads
    t, h, w = tails[keep], heads[keep].astype(np.int64), time_s[keep]
    o = np.lexsort((w, h, t))
    t, h, w = t[o], h[o], w[o]
    first = np.ones(t.shape[0], bool)
    first[1:] = (t[1:] != t[:-1]) | (h[1:] != h[:-1])
    g = sp.csr_matrix((w[first], (t[first], h[first])), shape=(n, n))
    return dijkstra(g, directed=True, indices=sources)


def check_route(indptr, heads, time_s, s, t, got, want, tails=None) -> None:  # type: ignore[no-untyped-def]
    """``got`` (a ch_query result) against the oracle time ``want``."""
    if not np.isfinite(want):
        assert got is None, (s, t, got)
        return
    assert got is not None, (s, t, want)
    total, path = got
    if s == t:
        assert got == (0.0, [])
        return
    tails = edge_tails(indptr) if tails is None else tails
    x, acc = s, 0.0
    for k in path:
        assert 0 <= k < heads.shape[0]
        assert tails[k] == x, (s, t, path)
        x = int(heads[k])
        acc += time_s[k]
    assert x == t, (s, t, path)
    assert acc == total, (s, t, acc, total)  # summed in driving order, exactly
    assert abs(total - want) <= RTOL * want, (s, t, total, want)


def check_all_pairs(indptr, heads, time_s, ch, pairs=None) -> int:  # type: ignore[no-untyped-def]
    n = indptr.shape[0] - 1
    tails = edge_tails(indptr)
    ws = CHWorkspace(n)
    if pairs is None:
        d = oracle(indptr, heads, time_s)
        pairs = [(s, t) for s in range(n) for t in range(n)]
        want = {(s, t): d[s, t] for s, t in pairs}
    else:
        src = np.unique([s for s, _ in pairs])
        d = oracle(indptr, heads, time_s, src)
        row = {int(s): i for i, s in enumerate(src)}
        want = {(s, t): d[row[s], t] for s, t in pairs}
    for s, t in pairs:
        check_route(indptr, heads, time_s, s, t, ch_query(ch, s, t, ws), want[(s, t)], tails)
    assert_clean(ws)
    return len(pairs)


def assert_clean(ws: CHWorkspace) -> None:
    """A workspace after queries is as new (queries reset what they touch)."""
    assert np.all(np.isinf(ws.df)) and np.all(np.isinf(ws.db))
    assert np.all(ws.hpf == -1) and np.all(ws.hpb == -1)


def random_graph(seed: int, n_max: int = 40):  # type: ignore[no-untyped-def]
    """Random digraph: one-ways, parallel edges (some equally fast), self-loops, isolated and
    unreachable parts, times from a small set (ties) and awkward floats."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, n_max))
    m = int(rng.integers(0, 4 * n))
    tails = rng.integers(0, n, m)
    heads = rng.integers(0, n, m)
    if m and rng.random() < 0.5:  # two-way roads, like a road network
        tails, heads = np.r_[tails, heads], np.r_[heads, tails]
    dup = rng.integers(0, max(tails.shape[0], 1), tails.shape[0] // 4) if tails.shape[0] else np.zeros(0, int)
    tails, heads = np.r_[tails, tails[dup]], np.r_[heads, heads[dup]]
    if rng.random() < 0.5:
        time_s = rng.choice([1.0, 1.0, 2.0, 3.0], tails.shape[0])
    else:
        time_s = rng.choice([0.1, 0.2, 0.3, 1e-3, 7.0, 1 / 3], tails.shape[0]) * rng.uniform(0.5, 2.0, tails.shape[0])
    indptr, hs, order = csr_from_edges(n, tails, heads)
    return indptr, hs, np.ascontiguousarray(time_s[order])


def grid(rows: int, cols: int, seed: int, one_way: float = 0.0, times=(1.0,)):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    t, h = [], []
    for r in range(rows):
        for c in range(cols):
            u = r * cols + c
            for v in ([u + 1] if c + 1 < cols else []) + ([u + cols] if r + 1 < rows else []):
                x = rng.random()
                if x < one_way:
                    t.append(u if x < one_way / 2 else v)
                    h.append(v if x < one_way / 2 else u)
                else:
                    t += [u, v]
                    h += [v, u]
    indptr, hs, _order = csr_from_edges(rows * cols, t, h)
    return indptr, hs, rng.choice(times, hs.shape[0]).astype(np.float64)


def road_like(n: int, seed: int):  # type: ignore[no-untyped-def]
    """Points in a square joined to near neighbours (mostly two-way, some one-way), times by
    length over a few speeds, plus a few fast long "motorway" links; several components."""
    rng = np.random.default_rng(seed)
    xy = rng.random((n, 2)) * 100
    from scipy.spatial import cKDTree

    _d, nb = cKDTree(xy).query(xy, k=4)
    t, h = [], []
    for u in range(n):
        for v in nb[u, 1:]:
            if rng.random() < 0.9:
                t += [u, int(v)]
                h += [int(v), u]
            else:
                t.append(u)
                h.append(int(v))
    for _ in range(n // 50):
        u, v = rng.integers(0, n, 2)
        t += [int(u), int(v)]
        h += [int(v), int(u)]
    t, h = np.array(t), np.array(h)
    length = np.linalg.norm(xy[t] - xy[h], axis=1)
    speed = rng.choice([5.0, 10.0, 20.0], t.shape[0])
    speed[-2 * (n // 50):] = 40.0
    indptr, hs, order = csr_from_edges(n, t, h)
    return indptr, hs, np.maximum(length / speed, 1e-3)[order]


# ----------------------------------------------------------------------------------- exactness


@pytest.mark.parametrize("block", range(8))
def test_random_graphs_all_pairs(block):
    checked = 0
    for seed in range(block * 40, block * 40 + 40):
        indptr, heads, time_s = random_graph(seed)
        checked += check_all_pairs(indptr, heads, time_s, build_ch(indptr, heads, time_s))
    assert checked > 1000


def test_randgraphs_cases_all_pairs():
    for case in cases(150, start=7_000):
        indptr, heads, order = csr_from_edges(case.n_nodes, case.tails, case.heads)
        time_s = np.ascontiguousarray(case.time_s[order])
        check_all_pairs(indptr, heads, time_s, build_ch(indptr, heads, time_s))


@pytest.mark.parametrize(("rows", "cols", "one_way", "times"), [
    (12, 12, 0.0, (1.0,)),
    (9, 15, 0.15, (1.0,)),
    (10, 10, 0.1, (1.0, 2.0)),
    (1, 30, 0.0, (1.0,)),
])
def test_grids_with_ties_all_pairs(rows, cols, one_way, times):
    indptr, heads, time_s = grid(rows, cols, seed=rows * cols, one_way=one_way, times=times)
    check_all_pairs(indptr, heads, time_s, build_ch(indptr, heads, time_s))


@pytest.mark.parametrize("seed", range(3))
def test_road_like_sampled_pairs(seed):
    n = 3000
    indptr, heads, time_s = road_like(n, seed)
    rng = np.random.default_rng(seed)
    pairs = [(int(s), int(t)) for s, t in rng.integers(0, n, (600, 2))]
    ch = build_ch(indptr, heads, time_s)
    assert ch.n_shortcuts > 0
    check_all_pairs(indptr, heads, time_s, ch, pairs)


@pytest.mark.parametrize("seed", range(4))
def test_missing_witnesses_only_add_shortcuts(seed):
    """Witness searches cut to a single settled node miss most witnesses: more shortcuts, same
    answers."""
    indptr, heads, time_s = road_like(400, 100 + seed) if seed % 2 else grid(8, 9, seed, 0.1, (1.0, 2.0))
    full = build_ch(indptr, heads, time_s)
    cut = build_ch(indptr, heads, time_s, sim_limit=1, contract_limit=1)
    assert cut.n_shortcuts > full.n_shortcuts
    n = indptr.shape[0] - 1
    rng = np.random.default_rng(seed)
    pairs = [(int(s), int(t)) for s, t in rng.integers(0, n, (1500, 2))]
    check_all_pairs(indptr, heads, time_s, cut, pairs)


@pytest.mark.parametrize("seed", range(4))
def test_one_to_many(seed):
    """Times to many targets: the oracle's row, and exactly what ch_query returns."""
    if seed < 2:
        graphs = [random_graph(s) for s in range(seed * 60, seed * 60 + 60)]
    else:
        graphs = [road_like(1500, seed), grid(10, 11, seed, 0.1)]
    for indptr, heads, time_s in graphs:
        n = indptr.shape[0] - 1
        ch = build_ch(indptr, heads, time_s)
        ws = CHWorkspace(n)
        rng = np.random.default_rng(seed)
        sources = np.unique(rng.integers(0, n, 5))
        d = oracle(indptr, heads, time_s, sources)
        for i, s in enumerate(sources):
            targets = np.r_[rng.integers(0, n, 60), s, np.arange(min(n, 20))]
            got = ch_one_to_many(ch, int(s), targets, ws)
            want = d[i, targets]
            assert np.array_equal(np.isinf(got), np.isinf(want))
            fin = np.isfinite(want)
            assert np.all(np.abs(got[fin] - want[fin]) <= RTOL * want[fin])
            for t, g in zip(targets.tolist(), got.tolist(), strict=True):
                r = ch_query(ch, int(s), t, ws)
                assert (r is None and g == np.inf) or abs(r[0] - g) <= RTOL * g
        assert_clean(ws)
    assert ch_one_to_many(ch, 0, []).shape == (0,)
    with pytest.raises(IndexError):
        ch_one_to_many(ch, 0, [n])


def test_edge_cases():
    # No nodes, no edges, only self-loops, a single edge.
    empty = build_ch(np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0))
    assert empty.n_nodes == 0 and empty.n_arcs == 0
    iso = build_ch(np.zeros(4, np.int64), np.zeros(0, np.int32), np.zeros(0))
    assert ch_query(iso, 0, 2) is None and ch_query(iso, 1, 1) == (0.0, [])
    loops = build_ch(np.array([0, 2, 3]), np.array([0, 0, 1], np.int32), np.array([1.0, 2.0, 3.0]))
    assert loops.n_arcs == 0 and ch_query(loops, 0, 1) is None
    one = build_ch(np.array([0, 3, 3]), np.array([1, 0, 1], np.int32), np.array([2.0, 1.0, 0.5]))
    assert ch_query(one, 0, 1) == (0.5, [2]) and ch_query(one, 1, 0) is None
    with pytest.raises(IndexError):
        ch_query(one, 0, 2)
    with pytest.raises(ValueError, match="workspace"):
        ch_query(one, 0, 1, CHWorkspace(5))


def test_parallel_ties_pick_lowest_position():
    """Equally fast parallel edges: the lowest CSR position, so routes are reproducible."""
    indptr = np.array([0, 3, 5, 5])
    heads = np.array([1, 1, 2, 2, 2], np.int32)
    time_s = np.array([2.0, 2.0, 9.0, 1.0, 1.0])
    assert ch_query(build_ch(indptr, heads, time_s), 0, 2) == (3.0, [0, 3])


# ----------------------------------------------------------------- determinism and persistence


def _identical(a: ContractionHierarchy, b: ContractionHierarchy) -> bool:
    da, db = a.arrays(), b.arrays()
    return da.keys() == db.keys() and all(da[k].dtype == db[k].dtype and np.array_equal(da[k], db[k]) for k in da)


def test_deterministic_and_progress():
    indptr, heads, time_s = road_like(2000, 7)
    seen: list[tuple[int, int]] = []
    a = build_ch(indptr, heads, time_s, progress=lambda d, t: seen.append((d, t)))
    b = build_ch(indptr.copy(), heads.copy(), time_s.copy())
    assert _identical(a, b)
    assert len(seen) >= 10 and seen[-1] == (2000, 2000)
    assert all(x[0] <= y[0] for x, y in itertools.pairwise(seen))


def test_round_trip_on_disk(tmp_path):
    indptr, heads, time_s = road_like(500, 3)
    ch = build_ch(indptr, heads, time_s)
    assert ch.nbytes == sum(v.nbytes for k, v in ch.arrays().items() if k != "meta")
    path = tmp_path / "ch.npz"
    rcache.write_npz(path, ch.arrays(), compress=False)
    back = ContractionHierarchy.from_arrays(rcache.read_npz(path))
    assert back is not None and _identical(ch, back)
    check_all_pairs(indptr, heads, time_s, back, [(int(s), int(t)) for s, t in np.random.default_rng(0).integers(0, 500, (200, 2))])


def _damaged(ch: ContractionHierarchy) -> dict[str, callable]:  # type: ignore[valid-type]
    n_up = ch.up_head.shape[0]
    sc = int(np.flatnonzero(ch.arc_pos < 0)[0])

    def set_(key, fn):  # type: ignore[no-untyped-def]
        def f(d):  # type: ignore[no-untyped-def]
            d[key] = fn(d[key].copy())
        return f

    def put(a, i, v):  # type: ignore[no-untyped-def]
        a[i] = v
        return a

    return {
        "missing key": lambda d: d.pop("dn_w"),
        "no meta": lambda d: d.pop("meta"),
        "other format": set_("meta", lambda a: put(a, 0, 999)),
        "int64 heads": set_("up_head", lambda a: a.astype(np.int64)),
        "2-d": set_("rank", lambda a: a.reshape(1, -1)),
        "rank not a permutation": set_("rank", lambda a: put(a, 0, a[1])),
        "head out of range": set_("up_head", lambda a: put(a, 0, ch.n_nodes)),
        "negative tail": set_("dn_tail", lambda a: put(a, 0, -1)),
        "ptr not ending at m": set_("up_ptr", lambda a: put(a, -1, a[-1] - 1)),
        "ptr decreasing": set_("dn_ptr", lambda a: put(a, 1, a[2] + 1)),
        "short weights": set_("up_w", lambda a: a[:-1]),
        "negative time": set_("dn_w", lambda a: put(a, 0, -1.0)),
        "nan time": set_("up_w", lambda a: put(a, 0, np.nan)),
        "arc going down": set_("up_head", lambda a: put(a, 0, int(np.argmin(ch.rank)))),
        "position out of range": set_("arc_pos", lambda a: put(a, int(np.flatnonzero(a >= 0)[0]), ch.n_edges)),
        "shortcut cycle": set_("arc_first", lambda a: put(a, sc, sc)),
        "child out of range": set_("arc_second", lambda a: put(a, sc, ch.n_arcs)),
        "original with a child": set_("arc_first", lambda a: put(a, int(np.flatnonzero(ch.arc_pos >= 0)[0]), 0)),
        "shortcut time altered": (lambda d: set_("up_w" if sc < n_up else "dn_w", lambda a: put(a, sc if sc < n_up else sc - n_up, a[sc if sc < n_up else sc - n_up] + 1e-9))(d)),
        "children swapped": lambda d: (d.__setitem__("arc_first", d["arc_first"].copy()), d.__setitem__("arc_second", d["arc_second"].copy()),
                                       d["arc_first"].__setitem__(sc, ch.arc_second[sc]), d["arc_second"].__setitem__(sc, ch.arc_first[sc])),
    }


def test_malformed_arrays_are_refused():
    indptr, heads, time_s = road_like(300, 5)
    ch = build_ch(indptr, heads, time_s)
    assert ContractionHierarchy.from_arrays(ch.arrays()) is not None
    for name, damage in _damaged(ch).items():
        d = {k: v.copy() for k, v in ch.arrays().items()}
        damage(d)
        assert ContractionHierarchy.from_arrays(d) is None, name
    assert ContractionHierarchy.from_arrays({}) is None


# --------------------------------------------------------------------------------- real network


def test_newport_against_astar(newport2024):
    net = newport2024
    c = net._csr
    indptr, heads, time_s = c["indptr"], c["heads"], c["time_s"]
    ch = build_ch(indptr, heads, time_s)
    assert ch.n_nodes == net.n_nodes and ch.n_edges == heads.shape[0]
    rng = np.random.default_rng(2024)
    ws = CHWorkspace(net.n_nodes)
    tails = edge_tails(indptr)
    found = 0
    for s, t in rng.integers(0, net.n_nodes, (200, 2)):
        ref = shortest_path(indptr, heads, time_s, int(s), int(t), xy=net.node_x_y, inv_vmax=net.inv_vmax,
                            landmarks=net.landmarks, workspace=net.workspace)
        got = ch_query(ch, int(s), int(t), ws)
        check_route(indptr, heads, time_s, int(s), int(t), got, np.inf if ref is None else ref[0], tails)
        found += ref is not None
    assert found >= 150
    assert_clean(ws)
    # And a sample against scipy's Dijkstra, unreachable pairs included.
    pairs = [(int(s), int(t)) for s, t in rng.integers(0, net.n_nodes, (300, 2))]
    check_all_pairs(indptr, heads, time_s, ch, pairs)
    targets = rng.integers(0, net.n_nodes, 500)
    got = ch_one_to_many(ch, pairs[0][0], targets, ws)
    want = oracle(indptr, heads, time_s, np.array([pairs[0][0]]))[0, targets]
    assert np.array_equal(np.isinf(got), np.isinf(want))
    fin = np.isfinite(want)
    assert np.all(np.abs(got[fin] - want[fin]) <= RTOL * want[fin])
