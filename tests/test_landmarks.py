"""The two landmark engines (scipy's Dijkstra for small networks, numba's parallel kernel for
big ones) give bit-identical times, so the A* bounds do not depend on the network's size, and a
cold build of a small network never imports numba."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from routeplan.kernels import csr_from_edges
from routeplan.kernels.landmarks import compute_landmarks, select_landmarks


def _random_graph(seed: int):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60))
    m = int(rng.integers(1, 4 * n))
    tails = rng.integers(0, n, m)
    heads = rng.integers(0, n, m)
    # Parallel edges with different times, self loops, unreachable nodes, awkward floats.
    dup = rng.integers(0, m, m // 4)
    tails, heads = np.concatenate([tails, tails[dup]]), np.concatenate([heads, heads[dup]])
    time_s = rng.choice([0.1, 0.2, 0.3, 1e-3, 7.0, 1 / 3], tails.shape[0]) * rng.uniform(0.5, 2.0, tails.shape[0])
    indptr, hs, order = csr_from_edges(n, tails, heads)
    return indptr, hs, time_s[order], n


@pytest.mark.parametrize("seed", range(200))
def test_engines_bit_identical_on_random_graphs(seed):
    indptr, heads, t, n = _random_graph(seed)
    lms = np.unique(np.random.default_rng(seed + 1).integers(0, n, 3)).astype(np.int64)
    a = compute_landmarks(indptr, heads, t, lms, parallel=False)
    b = compute_landmarks(indptr, heads, t, lms, parallel=True)
    for x, y in zip(a, b, strict=True):
        assert x.shape == (n, lms.shape[0])
        assert np.array_equal(x, y)  # inf where unreachable in both
    # A brute-force check of the distances themselves (Bellman-Ford on the edge list).
    tails = np.repeat(np.arange(n), np.diff(indptr))
    for j, s in enumerate(lms.tolist()):
        d = np.full(n, np.inf)
        d[s] = 0.0
        for _ in range(n):
            nd = d.copy()
            np.minimum.at(nd, heads, d[tails] + t)
            if np.array_equal(nd, d):
                break
            d = nd
        assert np.allclose(a[0][:, j], d, rtol=1e-12, atol=0) or np.array_equal(a[0][:, j], d)


def test_engines_bit_identical_on_newport(newport2024):
    c = newport2024._csr
    lms = select_landmarks(newport2024.node_xy, 8)
    a = compute_landmarks(c["indptr"], c["heads"], c["time_s"], lms, parallel=False)
    b = compute_landmarks(c["indptr"], c["heads"], c["time_s"], lms, parallel=True)
    assert np.isfinite(a[0]).all() and np.isfinite(a[1]).all()  # one strongly connected graph
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_small_cold_build_does_not_import_numba(tmp_path):
    """Building (and customising) a small network stays numba-free; numba comes with a query."""
    code = (
        "import sys\n"
        "from routeplan.boundaries import load_boundaries\n"
        "from routeplan.network import build_network\n"
        "from routeplan.policy import ExpensePolicy\n"
        "from datapaths import NEWPORT as NEWPORT_PBF\n"
        f"net = build_network(NEWPORT_PBF, load_boundaries('wpc-2024'), cache_dir={str(tmp_path)!r})\n"
        "net.compile(ExpensePolicy()); net.cell_graph(frozenset({'motorway', 'motorway_link'}))\n"
        "print('numba' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parent, env={**os.environ, "ROUTEPLAN_CACHE": str(tmp_path)})
    assert out.stdout.strip().splitlines()[-1] == "False", out.stderr
