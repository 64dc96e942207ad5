"""The numpy component finders equal scipy's on random graphs and on the real extracts."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from routeplan.kernels.components import largest_strong_component, weak_components


def _graph(seed: int):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 80))
    m = int(rng.integers(0, 3 * n))
    shape = rng.integers(0, 3)
    if shape == 0:  # uniform random
        a, b = rng.integers(0, n, m), rng.integers(0, n, m)
    elif shape == 1:  # a long path (deep, many pointer-jumping rounds) plus noise
        perm = rng.permutation(n)
        a = np.concatenate([perm[:-1], rng.integers(0, n, m // 4)])
        b = np.concatenate([perm[1:], rng.integers(0, n, m // 4)])
    else:  # a big cycle (one large SCC) with a few tails
        perm = rng.permutation(n)
        k = max(1, int(n * rng.uniform(0.5, 1.0)))
        a = np.concatenate([perm[:k], rng.integers(0, n, m // 5)])
        b = np.concatenate([np.roll(perm[:k], -1), rng.integers(0, n, m // 5)])
    return n, a.astype(np.int64), b.astype(np.int64)


@pytest.mark.parametrize("seed", range(300))
def test_weak_components_equal_scipy_numbering(seed):
    n, a, b = _graph(seed)
    mat = coo_matrix((np.ones(a.shape[0]), (a, b)), shape=(n, n))
    _, want = connected_components(mat, directed=False)
    assert np.array_equal(weak_components(n, a, b, use_numpy=True), want)


@pytest.mark.parametrize("seed", range(300))
def test_largest_strong_component_equals_scipy_or_declines(seed):
    n, a, b = _graph(seed)
    used = np.zeros(n, dtype=bool)
    used[a] = True
    used[b] = True
    got = largest_strong_component(n, a, b, used, use_numpy=True)
    mat = coo_matrix((np.ones(a.shape[0]), (a, b)), shape=(n, n)).tocsr()
    _, comp = connected_components(mat, directed=True, connection="strong")
    if not used.any():
        assert got is None
        return
    counts = np.bincount(comp[used])
    if got is None:  # declined: no component holds more than half of the used nodes
        assert 2 * counts.max() <= used.sum() or counts.max() == 1
        return
    assert 2 * counts.max() > used.sum()
    assert np.array_equal(got, comp == int(np.argmax(counts)))


def test_decides_most_generated_cases():
    """The fast path is the common path, not a fallback that hides behind scipy."""
    decided = 0
    for seed in range(300):
        n, a, b = _graph(seed)
        used = np.zeros(n, dtype=bool)
        used[a] = True
        used[b] = True
        decided += largest_strong_component(n, a, b, used, use_numpy=True) is not None
    assert decided >= 60, decided


def test_big_graphs_go_to_scipy():
    """Above the size limit the scipy path answers (same numbering), and the SCC finder declines."""
    n, a, b = _graph(7)
    assert np.array_equal(weak_components(n, a, b, use_numpy=False), weak_components(n, a, b, use_numpy=True))
    assert largest_strong_component(n, a, b, np.ones(n, dtype=bool), use_numpy=False) is None


def test_real_extracts_keep_the_same_graph(newport2024, rutland2024):
    """The networks built with the numpy finders have the graph scipy's SCC gives."""
    for net in (newport2024, rutland2024):
        pc = net.pieces
        n = net.n_nodes
        t = np.concatenate([pc.a[pc.fwd], pc.b[pc.bwd]])
        h = np.concatenate([pc.b[pc.fwd], pc.a[pc.bwd]])
        mat = coo_matrix((np.ones(t.shape[0]), (t, h)), shape=(n, n)).tocsr()
        k, _ = connected_components(mat, directed=True, connection="strong")
        assert k == 1  # the built graph is one SCC
        assert net.pieces.stats["nodes"] < net.pieces.stats["nodes_before_scc"]
