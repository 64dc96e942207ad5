"""The cell graph: constituencies and free-road components as vertices, adjacent when they meet
at a road node.  It gives the label search an admissible, consistent lower bound on the charge
still to pay (see :mod:`routeplan.kernels.fastlabels`).

Structure depends only on which edges are free (the exempt classes), so it is built once per
compiled network ("customise" in OSRM's terms); the per-query work is a node-weighted Dijkstra
over a few hundred vertices (:func:`routeplan.kernels.cellcost.cost_to_go`, kept apart so that
building a network never imports numba: about 0.9 s and 100 MB of a cold build).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from routeplan.kernels.components import weak_components

INF_COST = np.int64(1) << 60
_KEY_BLOCK = 1 << 20  # CSR positions per block of node incidence keys (16 MB of keys)


@dataclass(frozen=True)
class CellGraph:
    """Vertices ``0..n_labels-1`` are labels (cells); ``n_labels..`` are free-road components."""

    n_labels: int
    n_vertices: int
    edge_vertex: npt.NDArray[np.int32]  # vertex of every CSR edge
    node_vptr: npt.NDArray[np.int64]  # vertices incident to each node: node_verts[node_vptr[v]:...]
    node_verts: npt.NDArray[np.int32]
    adj_ptr: npt.NDArray[np.int64]  # vertex adjacency (CSR, symmetric, no self loops)
    adj: npt.NDArray[np.int32]


def build_cell_graph(indptr: npt.NDArray[np.int64], heads: npt.NDArray[np.int32], label: npt.NDArray[np.int32], n_labels: int,
                     tails: npt.NDArray[np.signedinteger[Any]] | None = None) -> CellGraph:
    """Build the cell graph of a CSR graph whose free edges have ``label == -1``.

    ``tails``: the tail of every CSR position, when the caller holds them already (else derived
    from ``indptr``: 45 MB more on the GB preset).
    """
    n = indptr.shape[0] - 1
    if tails is None:
        tails = np.repeat(np.arange(n, dtype=np.int32), np.diff(indptr))
    free = np.flatnonzero(label < 0)
    # Components of the free subgraph (undirected: the bound is a relaxation).
    ft, fh = tails[free].astype(np.int64), heads[free].astype(np.int64)
    comp = weak_components(n, ft, fh)
    used = np.zeros(n, dtype=bool)
    used[ft] = True
    used[fh] = True
    del ft, fh
    # Renumber only components that contain a free edge.
    comp_ids = np.unique(comp[used])
    remap = np.full(comp.max() + 1 if comp.size else 1, -1, dtype=np.int64)
    remap[comp_ids] = np.arange(comp_ids.shape[0])
    edge_vertex = label.astype(np.int32)
    edge_vertex[free] = n_labels + remap[comp[tails[free]]]
    del comp, remap, free, used
    n_vertices = n_labels + comp_ids.shape[0]
    # Node incidence: (node, vertex) pairs from both ends of each edge, deduplicated a block of
    # CSR positions at a time (a block's pairs shrink to about one per node it touches), then
    # all blocks' together: a key array of all 2m pairs at once was 180 MB of the GB preset's
    # peak memory.
    parts = []
    for e0 in range(0, heads.shape[0], _KEY_BLOCK):
        e1 = min(e0 + _KEY_BLOCK, heads.shape[0])
        key = np.empty(2 * (e1 - e0), dtype=np.int64)
        key[: e1 - e0] = tails[e0:e1]
        key[e1 - e0 :] = heads[e0:e1]
        key *= n_vertices
        key[: e1 - e0] += edge_vertex[e0:e1]
        key[e1 - e0 :] += edge_vertex[e0:e1]
        parts.append(_sorted_unique(key))
    key = _sorted_unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
    del parts
    inc_node = key // n_vertices
    inc_vert = (key % n_vertices).astype(np.int32)
    del key
    node_vptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(inc_node, minlength=n), out=node_vptr[1:])
    adj_ptr, adj = vertex_adjacency(node_vptr, inc_vert, n_vertices)
    return CellGraph(n_labels, n_vertices, edge_vertex, node_vptr, inc_vert, adj_ptr, adj)


def _sorted_unique(key: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """``np.unique(key)``, sorting ``key`` in place (no second full-size copy)."""
    key.sort()
    if key.shape[0] < 2:
        return key
    first = np.empty(key.shape[0], dtype=bool)
    first[0] = True
    np.not_equal(key[1:], key[:-1], out=first[1:])
    return key[first]


def vertex_adjacency(node_vptr: npt.NDArray[np.int64], node_verts: npt.NDArray[np.int32], nv: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]]:
    deg = np.diff(node_vptr)
    multi = np.flatnonzero(deg > 1)
    a_list: list[npt.NDArray[np.int32]] = []
    b_list: list[npt.NDArray[np.int32]] = []
    for k in np.unique(deg[multi]):
        rows = multi[deg[multi] == k]
        block = node_verts[node_vptr[rows][:, None] + np.arange(k)]
        for i in range(k):
            for j in range(k):
                if i != j:
                    a_list.append(block[:, i])
                    b_list.append(block[:, j])
    if a_list:
        a = np.concatenate(a_list).astype(np.int64)
        b = np.concatenate(b_list).astype(np.int64)
        key = np.unique(a * nv + b)
        a, b_out = key // nv, (key % nv).astype(np.int32)
    else:
        a, b_out = np.zeros(0, np.int64), np.zeros(0, np.int32)
    ptr = np.zeros(nv + 1, dtype=np.int64)
    np.cumsum(np.bincount(a, minlength=nv), out=ptr[1:])
    return ptr, b_out


def vertex_weights(cg: CellGraph, label_charge: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Charge per vertex: label charges (0 free, -1 forbidden), 0 for free-road components."""
    w = np.zeros(cg.n_vertices, dtype=np.int64)
    w[: cg.n_labels] = label_charge
    return w
