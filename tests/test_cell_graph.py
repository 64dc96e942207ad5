"""The cell graph (:func:`routeplan.kernels.cells.build_cell_graph`) against a plain-Python
reference built from its definition: vertices are labels and the connected components of the
free (label -1) edges; a node is incident to the vertex of every edge at either end; two vertices
are adjacent when they meet at a node.  Run with the node-incidence keys in one block and in many
small blocks (the build deduplicates a block of CSR positions at a time to bound its memory)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from routeplan.kernels import cells, csr_from_edges


def _random_case(seed: int) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, int]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60))
    m = int(rng.integers(1, 4 * n))
    tails = rng.integers(0, n, m)
    heads = rng.integers(0, n, m)
    n_labels = int(rng.integers(1, 8))
    label = rng.integers(-1, n_labels, m).astype(np.int32)
    label[rng.random(m) < 0.3] = -1  # plenty of free edges, so free components join and split
    return n, tails, heads, label, n_labels


def _reference(n: int, tails: np.ndarray, heads: np.ndarray, label: np.ndarray) -> tuple[list[object], list[set[object]], set[frozenset[object]]]:
    """Per edge its vertex (a label, or the frozenset of free edges in its component), per node
    its incident vertices, and the adjacent pairs."""
    free = nx.MultiGraph()
    free.add_nodes_from(range(n))
    free.add_edges_from((int(tails[e]), int(heads[e]), e) for e in range(len(label)) if label[e] < 0)
    comp_edges = {}
    for nodes in nx.connected_components(free):
        edges = frozenset(k for _, _, k in free.subgraph(nodes).edges(keys=True))
        for v in nodes:
            comp_edges[v] = edges
    vertex: list[object] = [int(label[e]) if label[e] >= 0 else comp_edges[int(tails[e])] for e in range(len(label))]
    incident: list[set[object]] = [set() for _ in range(n)]
    for e, v in enumerate(vertex):
        incident[int(tails[e])].add(v)
        incident[int(heads[e])].add(v)
    adjacent = {frozenset((a, b)) for vs in incident for a in vs for b in vs if a != b}
    return vertex, incident, adjacent


@pytest.mark.parametrize("block", [None, 1, 3, 16])
@pytest.mark.parametrize("seed", range(40))
def test_cell_graph_matches_its_definition(seed: int, block: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    if block is not None:
        monkeypatch.setattr(cells, "_KEY_BLOCK", block)
    n, tails, heads, label, n_labels = _random_case(seed)
    indptr, heads_s, order = csr_from_edges(n, tails, heads)
    tails_s, label_s = tails[order], label[order]
    # Odd seeds give the tails, as the network does; even seeds let the build derive them.
    cg = cells.build_cell_graph(indptr, heads_s, label_s, n_labels, tails=tails_s.astype(np.int32) if seed % 2 else None)
    vertex, incident, adjacent = _reference(n, tails_s, heads_s, label_s)

    # Each reference vertex is one vertex of the build, and distinct ones stay distinct.
    to_got: dict[object, int] = {}
    for e, v in enumerate(vertex):
        assert to_got.setdefault(v, int(cg.edge_vertex[e])) == int(cg.edge_vertex[e])
        if isinstance(v, int):
            assert cg.edge_vertex[e] == v
        else:
            assert cg.edge_vertex[e] >= n_labels
    assert len(set(to_got.values())) == len(to_got)
    assert cg.n_vertices == n_labels + sum(1 for v in to_got if not isinstance(v, int))

    for v in range(n):
        got = cg.node_verts[cg.node_vptr[v] : cg.node_vptr[v + 1]].tolist()
        assert got == sorted({to_got[x] for x in incident[v]})
    got_adj = {frozenset((a, int(b))) for a in range(cg.n_vertices) for b in cg.adj[cg.adj_ptr[a] : cg.adj_ptr[a + 1]]}
    assert got_adj == {frozenset(to_got[x] for x in pair) for pair in adjacent}
    assert all(a != b for a in range(cg.n_vertices) for b in cg.adj[cg.adj_ptr[a] : cg.adj_ptr[a + 1]])


def test_cell_graph_of_an_edgeless_graph() -> None:
    cg = cells.build_cell_graph(np.zeros(4, dtype=np.int64), np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32), 2)
    assert (cg.n_labels, cg.n_vertices) == (2, 2)
    assert cg.node_vptr.tolist() == [0, 0, 0, 0]
    assert cg.adj.size == 0
