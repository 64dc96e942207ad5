"""``kernels.corridor.mark_corridor`` against its definition (networkx reachability): the tight
edges from which the target is reached along tight edges, every one and no other; the scratch
arrays come back as they went in."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from routeplan.kernels.corridor import mark_corridor
from routeplan.matrix import tight_times
from routeplan.order import _reverse_csr


def _graph(n: int, m: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    tails = rng.integers(0, n, m)
    heads = rng.integers(0, n, m)
    # few distinct times, so that many routes tie for fastest (the case the corridor is for)
    time_s = rng.integers(1, 4, m).astype(np.float64)
    order = np.lexsort((heads, tails))
    tails, heads, time_s = tails[order], heads[order].astype(np.int32), time_s[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(tails, minlength=n), out=indptr[1:])
    return indptr, heads, tails.astype(np.int64), time_s


def _dist(n: int, heads: np.ndarray, tails: np.ndarray, time_s: np.ndarray, source: int) -> np.ndarray:
    g = nx.MultiDiGraph()
    g.add_nodes_from(range(n))
    for e in range(len(heads)):
        g.add_edge(int(tails[e]), int(heads[e]), weight=float(time_s[e]))
    got = nx.single_source_dijkstra_path_length(g, source)
    return np.array([got.get(v, np.inf) for v in range(n)])


@pytest.mark.parametrize("seed", range(12))
def test_corridor_is_the_tight_edges_that_lead_to_the_target(seed: int) -> None:
    n, m = 40, 160
    indptr, heads, tails, time_s = _graph(n, m, seed)
    dist = _dist(n, heads, tails, time_s, 0)
    tight = tight_times(tails, heads, time_s, dist)
    rev_ptr, _, rev_edge = _reverse_csr(indptr, heads)
    out = np.full(m, np.inf)
    seen = np.zeros(n, dtype=np.bool_)
    queue = np.empty(n, dtype=np.int64)
    edges = np.empty(m, dtype=np.int64)
    tg = nx.DiGraph()
    tg.add_nodes_from(range(n))
    tg.add_edges_from((int(tails[e]), int(heads[e])) for e in range(m) if np.isfinite(tight[e]))
    for target in range(n):
        k = mark_corridor(target, tight, tails, rev_ptr, rev_edge, out, seen, queue, edges)
        reach = nx.ancestors(tg, target) | {target}
        want = {e for e in range(m) if np.isfinite(tight[e]) and int(heads[e]) in reach}
        assert set(edges[:k].tolist()) == want and k == len(want)  # each edge once
        assert np.array_equal(np.flatnonzero(np.isfinite(out)), np.array(sorted(want), dtype=np.int64))
        assert np.array_equal(out[edges[:k]], time_s[edges[:k]])
        if np.isfinite(dist[target]) and target != 0:
            assert want  # a reached node has a fastest route in, so a corridor
        assert not seen.any()
        out[edges[:k]] = np.inf


@pytest.mark.parametrize("seed", range(8))
def test_route_cost_counts_each_charged_label_once(seed: int) -> None:
    """``labels.route_cost`` (numpy) against its definition, on routes that revisit labels and
    cross unlabelled (-1), free (0) and hard-avoid (negative) ones."""
    from routeplan.kernels.labels import route_cost

    rng = np.random.default_rng(seed)
    label = rng.integers(-1, 12, 500).astype(np.int32)
    charge = rng.choice(np.array([0, 46100, 46100, 12000, -1], dtype=np.int64), 12)
    for length in (0, 1, 5, 300):
        edges = rng.integers(0, 500, length).tolist()
        want = {int(label[k]) for k in edges if label[k] >= 0 and charge[label[k]] > 0}
        cost, labs = route_cost(edges, label, charge)
        assert labs == frozenset(want) and all(type(x) is int for x in labs)
        assert cost == sum(int(charge[x]) for x in want) and type(cost) is int
        assert route_cost(tuple(edges), label, charge) == (cost, labs)


@pytest.mark.parametrize("seed", range(6))
def test_reverse_csr_lists_each_nodes_in_edges_in_csr_order(seed: int) -> None:
    """``kernels.csr.reverse_csr``, which every backward search shares, against its
    definition: node v's slice holds exactly the CSR positions of the edges into v, ascending."""
    from routeplan.kernels.csr import reverse_csr

    n = 30 + seed  # some nodes have no in-edge (m is small for n at seed 0), parallel edges occur
    indptr, heads, _, _ = _graph(n, 10 * seed + 5, seed)
    rindptr, order = reverse_csr(indptr, heads)
    assert rindptr.dtype == np.int64 and order.dtype == np.int64 and rindptr[-1] == heads.shape[0]
    for v in range(n):
        want = [k for k in range(heads.shape[0]) if int(heads[k]) == v]
        assert order[rindptr[v]:rindptr[v + 1]].tolist() == want
