"""A constituency-cell overlay: exact fastest and cheapest-then-fastest routes that cross a seat
in one step (single-level Customizable Route Planning over the charging cells).

Why it is exact
---------------
Partition the edges into **cells** that refine the charging label: every edge of a cell has the
same label (one constituency, or ``-1`` for exempt/uncharged roads; exempt roads are split further
by their geographic constituency so that cells stay local).  Any route splits into maximal runs of
edges inside one cell; consecutive runs meet at a node that touches two cells (a **border node**).
Inside one cell every run charges the same set (its label, or nothing), so replacing a run between
two border nodes by the cell's fastest border-to-border path keeps the charged set and never adds
time.  Hence the **overlay** (border nodes, and per cell a clique of border-to-border edges weighted
by the fastest in-cell time, CRP's "customise" [1]_) plus the original edges of the cells holding
the source and the target (where the first and last runs start and end at inner nodes) has the same
Pareto front of (charge, time) as the road graph: for the fastest route and for the exact label
search alike.  Hard-avoid and already-paid constituencies only change the charge of whole cells, so
the cliques depend only on the network and the exemption rule, and are cached per exempt set.

A clique edge ``u -> w`` whose in-cell fastest path passes another border node ``x`` of the same
cell is dropped: ``u -> x -> w`` (two clique edges of the same cell) charges the same and is no
slower (times are strictly positive, so induction on the distance ends).  What remains is stored
with its in-cell path, so unpacking a route to road pieces is a copy.

Queries (no copy of the graph per query)
----------------------------------------
:class:`OverlayQuery` holds one source/target pair.  A route's first run starts at the source and
ends at its first border node (or at the target), through inner nodes of the source's cell only;
its last run likewise.  So the query searches the source's cell once (Dijkstra over its inner
nodes: the fastest first run to each border node it reaches, and to an inner target) and the
target's cell once backwards; the fastest search and the exact label search then run over border
nodes only (index ``B`` for an inner source, ``B + 1`` for an inner target), with clique edges
between border nodes and these runs at the ends, and share the two cell searches.  The fastest
route can also be found goal-directed without searching the cells whole (A* through the open end
cells and the cliques: only a corridor of the two cells), which pays when the label search is not
needed: when the fastest route already pays the least possible charge, it is the answer.  Bounds
are those of :mod:`routeplan.kernels.fastlabels`: the ALT time potential and the cell-graph charge
bound are consistent along every road edge, hence along every clique path and end run.

Cost: customise runs a Dijkstra per (border node, cell) over the cell; a query searches its two end
cells whole (or a corridor of them), so small cells make fast queries: cells far larger than a
constituency's few thousand road nodes would call for a second level (CRP's multi-level cells).

References
----------
.. [1] D. Delling, A. V. Goldberg, T. Pajor, R. F. Werneck, "Customizable Route Planning in Road
   Networks", Transportation Science 51 (2017) 566-591. https://doi.org/10.1287/trsc.2014.0579
   (first in SEA 2011, LNCS 6630, 376-387. https://doi.org/10.1007/978-3-642-20662-7_32)
.. [2] E. Q. V. Martins, "On a multicriteria shortest path problem", EJOR 16 (1984) 236-245.
   https://doi.org/10.1016/0377-2217(84)90077-8
.. [3] A. V. Goldberg, C. Harrelson, "Computing the shortest path: A* search meets graph theory",
   SODA 2005, 156-165. https://dl.acm.org/doi/10.5555/1070432.1070455
"""

from __future__ import annotations

import heapq
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from routeplan.kernels.cellcost import cost_to_go
from routeplan.kernels.cells import INF_COST, CellGraph, build_cell_graph, vertex_weights
from routeplan.kernels.csr import reverse_csr
from routeplan.kernels.dijkstra import XY, Workspace, edge_tails, split_xy
from routeplan.kernels.fastlabels import _grow, _h_cost
from routeplan.kernels.labels import LabelLimitError, LabelRoute, route_cost
from routeplan.kernels.potential import NO_LANDMARKS, potential

_EPS = 1e-9
FORMAT = 1  # bump when the stored arrays change meaning


@dataclass(frozen=True)
class CellOverlay:
    """Border nodes and per-cell cliques with their in-cell paths (see the module docstring).

    ``node_code[v]`` is the cell of an inner node ``v`` (``>= 0``; ``n_cells`` for a node with no
    edge), or ``-(b + 1)`` for border node ``b`` (``border_node[b] == v``).  Clique edges of border
    ``b`` are ``ov_ptr[b]:ov_ptr[b + 1]``, with head (a border id), time, cell and road path
    ``path_edges[path_ptr[e]:path_ptr[e + 1]]`` (CSR positions).  ``rev_ptr``/``rev_edge`` list
    the in-edges of every node (the backward search from an inner target needs them).
    """

    n_cells: int
    cell_label: npt.NDArray[np.int32]
    node_code: npt.NDArray[np.int32]
    border_node: npt.NDArray[np.int32]
    ov_ptr: npt.NDArray[np.int64]
    ov_head: npt.NDArray[np.int32]
    ov_time: npt.NDArray[np.float64]
    ov_cell: npt.NDArray[np.int32]
    path_ptr: npt.NDArray[np.int64]
    path_edges: npt.NDArray[np.int32]
    rev_ptr: npt.NDArray[np.int64]
    rev_edge: npt.NDArray[np.int32]

    @property
    def n_border(self) -> int:
        return int(self.border_node.shape[0])

    @property
    def n_clique_edges(self) -> int:
        return int(self.ov_head.shape[0])

    @property
    def nbytes(self) -> int:
        return sum(int(getattr(self, f.name).nbytes) for f in fields(self) if f.name != "n_cells")

    def arrays(self) -> dict[str, npt.NDArray[np.generic]]:
        """The arrays to store (:mod:`routeplan.cache`)."""
        out: dict[str, npt.NDArray[np.generic]] = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "n_cells"}
        out["meta"] = np.array([FORMAT, self.n_cells], dtype=np.int64)
        return out

    @classmethod
    def from_arrays(cls, z: dict[str, npt.NDArray[np.generic]]) -> CellOverlay | None:
        """Rebuild from :meth:`arrays`; None when the format is another one."""
        meta = z.get("meta")
        if meta is None or meta.shape != (2,) or int(meta[0]) != FORMAT:
            return None
        kw = {f.name: z[f.name] for f in fields(cls) if f.name != "n_cells"}
        return cls(n_cells=int(meta[1]), **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------- cells


def edge_cells(label: npt.NDArray[np.int32], geo_cell: npt.NDArray[np.int64] | None, n_labels: int) -> tuple[
    npt.NDArray[np.int32], npt.NDArray[np.int32]
]:
    """The cell of every edge and the label of every cell.

    Charged edges: their label.  Label ``-1`` (exempt or outside every polygon): one cell per
    geographic constituency ``geo_cell`` (``-1`` outside all), so exempt cells stay local; without
    ``geo_cell`` all of them form one cell.
    """
    lab = np.asarray(label, dtype=np.int32)
    if geo_cell is None:
        cell = np.where(lab >= 0, lab, n_labels).astype(np.int32)
        n_cells = n_labels + 1
    else:
        cell = np.where(lab >= 0, lab, n_labels + 1 + np.asarray(geo_cell, dtype=np.int64)).astype(np.int32)
        n_cells = 2 * n_labels + 1
    cell_label = np.full(n_cells, -1, dtype=np.int32)
    cell_label[:n_labels] = np.arange(n_labels, dtype=np.int32)
    return cell, cell_label


@numba.njit(cache=True)
def _classify(indptr, heads, cell, n_cells):  # type: ignore[no-untyped-def]
    """``node_code`` (inner cell or ``-(border + 1)``) and the border nodes, in one pass."""
    n = indptr.shape[0] - 1
    first = np.full(n, -1, np.int32)
    border = np.zeros(n, np.bool_)
    for u in range(n):
        for k in range(indptr[u], indptr[u + 1]):
            c = cell[k]
            v = heads[k]
            if first[u] < 0:
                first[u] = c
            elif first[u] != c:
                border[u] = True
            if first[v] < 0:
                first[v] = c
            elif first[v] != c:
                border[v] = True
    code = np.empty(n, np.int32)
    nb = 0
    for v in range(n):
        if border[v]:
            nb += 1
            code[v] = -nb
        elif first[v] >= 0:
            code[v] = first[v]
        else:
            code[v] = n_cells
    out = np.empty(nb, np.int32)
    for v in range(n):
        if code[v] < 0:
            out[-code[v] - 1] = v
    return code, out


@numba.njit(cache=True, nogil=True)
def _customise_cell(edges, tails, heads, time_s, node_code):  # type: ignore[no-untyped-def]
    """Clique edges of one cell: a Dijkstra [1]_ from each border node over the cell's edges only.

    ``edges`` are the cell's CSR positions in increasing order (so grouped by tail).  Returns
    (tail, head, time, path length, path edges) of the kept clique edges, deterministic.
    """
    m = edges.shape[0]
    ends = np.empty(2 * m, np.int64)
    for i in range(m):
        ends[2 * i] = tails[edges[i]]
        ends[2 * i + 1] = heads[edges[i]]
    nodes = np.unique(ends)
    nl = nodes.shape[0]
    lt = np.searchsorted(nodes, tails[edges])
    lh = np.searchsorted(nodes, heads[edges])
    lptr = np.zeros(nl + 1, np.int64)
    for i in range(m):
        lptr[lt[i] + 1] += 1
    for i in range(nl):
        lptr[i + 1] += lptr[i]
    is_b = np.zeros(nl, np.bool_)
    nb = 0
    for i in range(nl):
        if node_code[nodes[i]] < 0:
            is_b[i] = True
            nb += 1
    cap = 16
    o_src = np.empty(cap, np.int32)
    o_dst = np.empty(cap, np.int32)
    o_time = np.empty(cap, np.float64)
    o_len = np.empty(cap, np.int64)
    pcap = 64
    o_path = np.empty(pcap, np.int32)
    ne = 0
    np_ = 0
    if nb < 2:
        return o_src[:0], o_dst[:0], o_time[:0], o_len[:0], o_path[:0]
    dist = np.full(nl, np.inf)
    pred = np.full(nl, -1, np.int64)
    done = np.zeros(nl, np.bool_)
    via = np.zeros(nl, np.bool_)
    for u in range(nl):
        if not is_b[u] or lptr[u] == lptr[u + 1]:
            continue
        touched = [u]
        dist[u] = 0.0
        heap = [(0.0, u)]
        reached = 0
        while heap:
            d, x = heapq.heappop(heap)
            if done[x]:
                continue
            done[x] = True
            if is_b[x] and x != u:
                reached += 1
                if not via[x]:
                    if ne == cap:
                        cap *= 2
                        o_src = _grow(o_src, cap)
                        o_dst = _grow(o_dst, cap)
                        o_time = _grow(o_time, cap)
                        o_len = _grow(o_len, cap)
                    o_src[ne] = nodes[u]
                    o_dst[ne] = nodes[x]
                    o_time[ne] = d
                    ln = 0
                    yy = x
                    while yy != u:
                        ln += 1
                        yy = lt[pred[yy]]
                    while np_ + ln > pcap:
                        pcap *= 2
                        o_path = _grow(o_path, pcap)
                    yy = x
                    j = np_ + ln
                    while yy != u:
                        i = pred[yy]
                        j -= 1
                        o_path[j] = edges[i]
                        yy = lt[i]
                    np_ += ln
                    o_len[ne] = ln
                    ne += 1
                if reached == nb - 1:
                    break
            through = via[x] or (is_b[x] and x != u)
            for i in range(lptr[x], lptr[x + 1]):
                yy = lh[i]
                nd = d + time_s[edges[i]]
                if nd < dist[yy]:
                    if dist[yy] == np.inf:
                        touched.append(yy)
                    dist[yy] = nd
                    pred[yy] = i
                    via[yy] = through
                    heapq.heappush(heap, (nd, yy))
        for yy in touched:
            dist[yy] = np.inf
            pred[yy] = -1
            done[yy] = False
            via[yy] = False
    return o_src[:ne].copy(), o_dst[:ne].copy(), o_time[:ne].copy(), o_len[:ne].copy(), o_path[:np_].copy()


def build_overlay(
    indptr: npt.NDArray[np.int64],
    heads: npt.NDArray[np.int32],
    time_s: npt.NDArray[np.float64],
    cell: npt.NDArray[np.int32],
    cell_label: npt.NDArray[np.int32],
    *,
    threads: int | None = None,
) -> CellOverlay:
    """Customise: border nodes and the cliques of every cell (cells run on ``threads`` threads;
    the result does not depend on it).

    ``cell`` (per CSR edge, ``0 <= cell < len(cell_label)``) must refine the charging label:
    the caller guarantees every edge of cell ``c`` has label ``cell_label[c]``.
    """
    cell = np.ascontiguousarray(cell, dtype=np.int32)
    n_cells = int(cell_label.shape[0])
    if cell.size and (cell.min() < 0 or cell.max() >= n_cells):
        msg = "cell index out of range"
        raise ValueError(msg)
    node_code, border_node = _classify(indptr, heads, cell, n_cells)
    tails = edge_tails(indptr)
    order = np.argsort(cell, kind="stable")
    cptr = np.zeros(n_cells + 1, dtype=np.int64)
    np.cumsum(np.bincount(cell, minlength=n_cells), out=cptr[1:])
    todo = [c for c in range(n_cells) if cptr[c + 1] > cptr[c]]

    def work(c: int, order: npt.NDArray[np.int64] = order, tails: npt.NDArray[np.int64] = tails) -> tuple[npt.NDArray[np.generic], ...]:
        return _customise_cell(order[cptr[c]:cptr[c + 1]], tails, heads, time_s, node_code)  # type: ignore[no-any-return]

    nthreads = max(1, min(threads if threads is not None else (os.cpu_count() or 1), len(todo) or 1))
    if nthreads > 1:
        with ThreadPoolExecutor(nthreads) as ex:
            parts = list(ex.map(work, todo))
    else:
        parts = [work(c) for c in todo]
    del work, order, tails
    src = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int32)
    dst = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int32)
    tt = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, np.float64)
    plen = np.concatenate([p[3] for p in parts]) if parts else np.zeros(0, np.int64)
    pedges = np.concatenate([p[4] for p in parts]) if parts else np.zeros(0, np.int32)
    ecell = np.concatenate([np.full(p[0].shape[0], c, np.int32) for c, p in zip(todo, parts, strict=True)]) if parts else np.zeros(0, np.int32)
    del parts
    # CSR over border ids (stable: cells, then Dijkstra order, as produced).
    bsrc = (-node_code[src].astype(np.int64)) - 1
    by = np.argsort(bsrc, kind="stable")
    nb = border_node.shape[0]
    ov_ptr = np.zeros(nb + 1, dtype=np.int64)
    np.cumsum(np.bincount(bsrc, minlength=nb), out=ov_ptr[1:])
    old_ptr = np.zeros(plen.shape[0] + 1, dtype=np.int64)
    np.cumsum(plen, out=old_ptr[1:])
    path_ptr = np.zeros(plen.shape[0] + 1, dtype=np.int64)
    np.cumsum(plen[by], out=path_ptr[1:])
    path_edges = _gather(pedges, old_ptr, by, path_ptr)
    ov_head = (-node_code[dst[by]] - 1).astype(np.int32)
    del dst, src, bsrc, pedges, plen
    # In-edges of every node, for the backward search from an inner target.
    rev_ptr, rev_order = reverse_csr(indptr, heads)
    rev_edge = rev_order.astype(np.int32)
    del rev_order
    return CellOverlay(
        n_cells=n_cells,
        cell_label=np.asarray(cell_label, dtype=np.int32),
        node_code=node_code,
        border_node=border_node,
        ov_ptr=ov_ptr,
        ov_head=ov_head,
        ov_time=tt[by],
        ov_cell=ecell[by],
        path_ptr=path_ptr,
        path_edges=path_edges,
        rev_ptr=rev_ptr,
        rev_edge=rev_edge,
    )


@numba.njit(cache=True)
def _gather(pedges, old_ptr, by, new_ptr):  # type: ignore[no-untyped-def]
    out = np.empty(new_ptr[-1], np.int32)
    for j in range(by.shape[0]):
        i = by[j]
        a = old_ptr[i]
        out[new_ptr[j]: new_ptr[j + 1]] = pedges[a: a + new_ptr[j + 1] - new_ptr[j]]
    return out


# --------------------------------------------------------------------------------------- queries
# A query works in "overlay index" space: 0..B-1 are the border nodes, B the source and B+1 the
# target when they are inner nodes.  Edges are encoded as ``e >= 0`` (clique edge), ``-(j + 1)``
# (j-th run from the source to a border node), ``-(n_src + 1)`` (the run from the source straight
# to the target) and ``-(n_src + 2)`` (a run from a border node to the target).


@numba.njit(cache=True, inline="always")
def _sift_up(hk, hl, pos, i):  # type: ignore[no-untyped-def]
    key = hk[i]
    loc = hl[i]
    while i > 0:
        p = (i - 1) >> 1
        if hk[p] <= key:
            break
        hk[i] = hk[p]
        hl[i] = hl[p]
        pos[hl[i]] = i
        i = p
    hk[i] = key
    hl[i] = loc
    pos[loc] = i


@numba.njit(cache=True, inline="always")
def _sift_down(hk, hl, pos, n, i):  # type: ignore[no-untyped-def]
    key = hk[i]
    loc = hl[i]
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and hk[c + 1] < hk[c]:
            c += 1
        if hk[c] >= key:
            break
        hk[i] = hk[c]
        hl[i] = hl[c]
        pos[hl[i]] = i
        i = c
    hk[i] = key
    hl[i] = loc
    pos[loc] = i


@numba.njit(cache=True)
def _cell_tree(start, backward, indptr, heads, tails, rev_ptr, rev_edge, time_s, node_code, other, local):  # type: ignore[no-untyped-def]
    """Dijkstra [1]_ from an inner node over the inner nodes of its cell (forward, or backward on
    in-edges): the fastest first (last) run to every border node it reaches, and to ``other``.

    Nodes are numbered in the order first reached (``local``, a per-network array of -1 left as
    found); an indexed binary heap with decrease-key keeps one entry per node.  Returns the tree
    (``t_pred``, ``t_edge`` by tree index; the root is 0), the border nodes reached (border id,
    time, tree index) and the tree index and time of ``other`` (-1 if not reached).
    """
    cap = 1024
    t_node = np.empty(cap, np.int64)
    t_pred = np.empty(cap, np.int64)
    t_edge = np.empty(cap, np.int64)
    t_dist = np.empty(cap, np.float64)
    pos = np.empty(cap, np.int64)
    hk = np.empty(cap, np.float64)
    hl = np.empty(cap, np.int64)
    t_node[0] = start
    t_pred[0] = -1
    t_edge[0] = -1
    t_dist[0] = 0.0
    k = 1
    local[start] = 0
    hk[0] = 0.0
    hl[0] = 0
    pos[0] = 0
    hn = 1
    while hn > 0:
        lu = hl[0]
        d = hk[0]
        hn -= 1
        pos[lu] = -1
        if hn > 0:
            hk[0] = hk[hn]
            hl[0] = hl[hn]
            _sift_down(hk, hl, pos, hn, 0)
        u = t_node[lu]
        lo = rev_ptr[u] if backward else indptr[u]
        hi = rev_ptr[u + 1] if backward else indptr[u + 1]
        for j in range(lo, hi):
            if backward:
                e = np.int64(rev_edge[j])
                v = np.int64(tails[e])
            else:
                e = np.int64(j)
                v = np.int64(heads[j])
            nd = d + time_s[e]
            lv = local[v]
            if lv < 0:
                if k == cap:
                    cap *= 2
                    t_node = _grow(t_node, cap)
                    t_pred = _grow(t_pred, cap)
                    t_edge = _grow(t_edge, cap)
                    t_dist = _grow(t_dist, cap)
                    pos = _grow(pos, cap)
                    hk = _grow(hk, cap)
                    hl = _grow(hl, cap)
                lv = k
                local[v] = k
                t_node[k] = v
                k += 1
                t_dist[lv] = nd
                t_pred[lv] = lu
                t_edge[lv] = e
                pos[lv] = -1
                if node_code[v] >= 0:  # border nodes end the run: they are not expanded
                    hk[hn] = nd
                    hl[hn] = lv
                    hn += 1
                    _sift_up(hk, hl, pos, hn - 1)
            elif nd < t_dist[lv]:
                t_dist[lv] = nd
                t_pred[lv] = lu
                t_edge[lv] = e
                p = pos[lv]
                if p >= 0:
                    hk[p] = nd
                    _sift_up(hk, hl, pos, p)
    nr = 0
    for i in range(k):
        if node_code[t_node[i]] < 0:
            nr += 1
    r_bid = np.empty(nr, np.int64)
    r_dist = np.empty(nr, np.float64)
    r_loc = np.empty(nr, np.int64)
    nr = 0
    for i in range(k):
        v = t_node[i]
        if node_code[v] < 0:
            r_bid[nr] = -node_code[v] - 1
            r_dist[nr] = t_dist[i]
            r_loc[nr] = i
            nr += 1
    o_loc = np.int64(-1)
    o_dist = np.inf
    if other >= 0 and local[other] >= 0:
        o_loc = local[other]
        o_dist = t_dist[o_loc]
    for i in range(k):
        local[t_node[i]] = -1
    return t_pred[:k].copy(), t_edge[:k].copy(), r_bid, r_dist, r_loc, o_loc, o_dist


@numba.njit(cache=True, inline="always")
def _node_of(i, nb, border_node, source, target):  # type: ignore[no-untyped-def]
    if i < nb:
        return np.int64(border_node[i])
    return np.int64(source) if i == nb else np.int64(target)


@numba.njit(cache=True, inline="always")
def _h_idx(i, hcache, nb, border_node, source, target, x, y, inv_vmax, lm_from, lm_to):  # type: ignore[no-untyped-def]
    """The time potential of overlay index ``i``, computed once per query (``hcache`` < 0 unknown):
    a border node is reached by many clique edges, and its landmark rows are far apart in memory."""
    h = hcache[i]
    if h < 0.0:
        h = potential(_node_of(i, nb, border_node, source, target), target, x, y, inv_vmax, lm_from, lm_to)
        hcache[i] = h
    return h


@numba.njit(cache=True)
def _ov_astar(nb, sidx, tidx, source, target, src_bid, src_d, direct_d, src_lab, tgt_d, tgt_lab, ov_ptr, ov_head, ov_time,  # type: ignore[no-untyped-def]
              ov_cell, cell_label, label_charge, border_node, x, y, inv_vmax, lm_from, lm_to, hcache):
    """A* [3]_ over the overlay index space; returns the time and the path as (edge code, tail)
    pairs (see the note above)."""
    ni = nb + 2
    dist = np.full(ni, np.inf)
    p_enc = np.zeros(ni, np.int64)
    p_idx = np.full(ni, -1, np.int64)
    done = np.zeros(ni, np.bool_)
    nsrc = src_bid.shape[0]
    src_ok = src_lab < 0 or label_charge[src_lab] >= 0
    tgt_ok = tgt_lab < 0 or label_charge[tgt_lab] >= 0
    use_h = inv_vmax > 0.0 or lm_from.shape[1] > 0
    dist[sidx] = 0.0
    heap = [(0.0, np.int64(sidx))]
    while heap:
        _f, u = heapq.heappop(heap)
        if done[u]:
            continue
        done[u] = True
        if u == tidx:
            break
        d = dist[u]
        if u == nb:
            m_out = (nsrc + 1) if src_ok else 0
        elif u < nb:
            m_out = ov_ptr[u + 1] - ov_ptr[u] + 1
        else:
            m_out = 0
        for j in range(m_out):
            if u == nb:
                if j < nsrc:
                    v = src_bid[j]
                    nd = d + src_d[j]
                    enc = -(j + 1)
                else:
                    if direct_d == np.inf:
                        continue
                    v = np.int64(nb + 1)
                    nd = d + direct_d
                    enc = -(nsrc + 1)
            else:
                e = ov_ptr[u] + j
                if e < ov_ptr[u + 1]:
                    lb = cell_label[ov_cell[e]]
                    if lb >= 0 and label_charge[lb] < 0:
                        continue
                    v = np.int64(ov_head[e])
                    nd = d + ov_time[e]
                    enc = e
                else:
                    if not tgt_ok or tgt_d[u] == np.inf:
                        continue
                    v = np.int64(nb + 1)
                    nd = d + tgt_d[u]
                    enc = -(nsrc + 2)
            if nd < dist[v]:
                dist[v] = nd
                p_enc[v] = enc
                p_idx[v] = u
                h = _h_idx(v, hcache, nb, border_node, source, target, x, y, inv_vmax, lm_from, lm_to) if use_h else 0.0
                heapq.heappush(heap, (nd + h, v))
    total = dist[tidx]
    encs = []
    tl = []
    if total < np.inf:
        v = tidx
        while v != sidx:
            encs.append(p_enc[v])
            tl.append(p_idx[v])
            v = p_idx[v]
        encs.reverse()
        tl.reverse()
    return total, encs, tl


@numba.njit(cache=True)
def _open_astar(indptr, heads, time_s, label, label_charge, node_code, ca, cb, ov_ptr, ov_head, ov_time, ov_cell,  # type: ignore[no-untyped-def]
                cell_label, border_node, source, target, x, y, inv_vmax, lm_from, lm_to, dist, pred_edge, pred_node, done):
    """Goal-directed fastest search (A* [3]_ on road-node ids) through the *open* source and target
    cells and the overlay: settles only a corridor of the two cells, where :func:`_cell_tree`
    searches them whole.  Returns the time and the path (road edge ``k`` as ``k``, clique edge
    ``e`` as ``-(e + 1)``); leaves the workspace arrays as found."""
    use_h = inv_vmax > 0.0 or lm_from.shape[1] > 0
    touched = [np.int64(source)]
    dist[source] = 0.0
    heap = [(0.0, np.int64(source))]
    while heap:
        _f, u = heapq.heappop(heap)
        if done[u]:
            continue
        done[u] = True
        if u == target:
            break
        d = dist[u]
        code = node_code[u]
        if code < 0:
            b = -code - 1
            for e in range(ov_ptr[b], ov_ptr[b + 1]):
                lb = cell_label[ov_cell[e]]
                if lb >= 0 and label_charge[lb] < 0:
                    continue
                v = np.int64(border_node[ov_head[e]])
                nd = d + ov_time[e]
                if nd < dist[v]:
                    if dist[v] == np.inf:
                        touched.append(v)
                    dist[v] = nd
                    pred_edge[v] = -(e + 1)
                    pred_node[v] = u
                    h = potential(v, target, x, y, inv_vmax, lm_from, lm_to) if use_h else 0.0
                    heapq.heappush(heap, (nd + h, v))
        for k in range(indptr[u], indptr[u + 1]):
            v = np.int64(heads[k])
            if code < 0:
                # From a border node, road edges only into an inner node of an open cell (the
                # first edge of a last run); border-to-border runs are clique edges.
                cv = node_code[v]
                if cv < 0 or (cv != ca and cv != cb):
                    continue
            lb = label[k]
            if lb >= 0 and label_charge[lb] < 0:
                continue
            nd = d + time_s[k]
            if nd < dist[v]:
                if dist[v] == np.inf:
                    touched.append(v)
                dist[v] = nd
                pred_edge[v] = k
                pred_node[v] = u
                h = potential(v, target, x, y, inv_vmax, lm_from, lm_to) if use_h else 0.0
                heapq.heappush(heap, (nd + h, v))
    total = dist[target]
    out = []
    if total < np.inf:
        v = target
        while v != source:
            out.append(pred_edge[v])
            v = pred_node[v]
        out.reverse()
    for v in touched:
        dist[v] = np.inf
        pred_edge[v] = -1
        pred_node[v] = -1
        done[v] = False
    return total, out


@numba.njit(cache=True)
def _unpack_open(encs, path_ptr, path_edges):  # type: ignore[no-untyped-def]
    out = []
    for c in encs:
        if c >= 0:
            out.append(np.int64(c))
        else:
            for j in range(path_ptr[-c - 1], path_ptr[-c]):
                out.append(np.int64(path_edges[j]))
    return np.array(out, dtype=np.int64)


@numba.njit(cache=True)
def _unpack(encs, tails_idx, nsrc, path_ptr, path_edges, s_pred, s_edge, s_loc, direct_loc, t_pred, t_edge, tgt_loc):  # type: ignore[no-untyped-def]
    """Road edges of an encoded overlay path: stored clique paths, and the runs from the source
    and to the target read off their trees."""
    out = []
    for i in range(encs.shape[0]):
        c = encs[i]
        if c >= 0:
            for j in range(path_ptr[c], path_ptr[c + 1]):
                out.append(np.int64(path_edges[j]))
        elif c >= -(nsrc + 1):
            loc = s_loc[-c - 1] if c > -(nsrc + 1) else direct_loc
            run = []
            while s_pred[loc] >= 0:
                run.append(s_edge[loc])
                loc = s_pred[loc]
            for j in range(len(run) - 1, -1, -1):
                out.append(run[j])
        else:
            loc = tgt_loc[tails_idx[i]]
            while t_pred[loc] >= 0:
                out.append(t_edge[loc])
                loc = t_pred[loc]
    return np.array(out, dtype=np.int64)


@numba.njit(cache=True)
def _ov_search(nb, sidx, tidx, source, target, src_bid, src_d, direct_d, src_lab, tgt_d, tgt_lab, ov_ptr, ov_head, ov_time,  # type: ignore[no-untyped-def]
               ov_cell, cell_label, border_node, vweight, vbit, D, node_vptr, node_verts, x, y, inv_vmax, lm_from, lm_to, hcache,
               ub_cost, max_time, first_only, n_words, label_limit, cap):
    """The label search of :func:`routeplan.kernels.fastlabels._search` [2]_ over the overlay
    index space: same keys (charge + cell-graph bound, then time + ALT bound), dominance and
    pruning; the label's edge is an edge code (see the note above)."""
    ni = nb + 2
    head = np.full(ni, -1, np.int64)
    nsrc = src_bid.shape[0]
    l_node = np.empty(cap, np.int64)
    l_cost = np.empty(cap, np.int64)
    l_time = np.empty(cap, np.float64)
    l_minD = np.empty(cap, np.int64)
    l_parent = np.empty(cap, np.int64)
    l_edge = np.empty(cap, np.int64)
    l_next = np.empty(cap, np.int64)
    l_alive = np.empty(cap, np.bool_)
    l_mask = np.zeros((cap, n_words), np.uint64)
    nmask = np.zeros(n_words, np.uint64)

    t_prune = max_time + _EPS * max(1.0, max_time) if max_time < np.inf else np.inf
    l_node[0] = sidx
    l_cost[0] = 0
    l_time[0] = 0.0
    l_minD[0] = INF_COST
    l_parent[0] = -1
    l_edge[0] = 0
    l_next[0] = -1
    l_alive[0] = True
    head[sidx] = 0
    nl = 1
    h0 = _h_cost(source, l_mask[0], n_words, INF_COST, node_vptr, node_verts, vweight, vbit, D)
    heap = [(h0, _h_idx(sidx, hcache, nb, border_node, source, target, x, y, inv_vmax, lm_from, lm_to), np.int64(0))]
    best_t = np.inf
    res_labels = []
    while heap:
        _k1, _k2, li = heapq.heappop(heap)
        if not l_alive[li]:
            continue
        u = l_node[li]
        t = l_time[li]
        hu = _h_idx(u, hcache, nb, border_node, source, target, x, y, inv_vmax, lm_from, lm_to)
        if t + hu >= best_t - _EPS * max(1.0, best_t):
            continue
        if u == tidx:
            if t > max_time:
                continue
            best_t = t
            res_labels.append(li)
            if first_only:
                break
            continue
        cost = l_cost[li]
        if u == nb:
            m_out = nsrc + 1
        elif u < nb:
            m_out = ov_ptr[u + 1] - ov_ptr[u] + 1
        else:
            m_out = 0
        for j in range(m_out):
            if u == nb:
                lb = src_lab
                if j < nsrc:
                    v = src_bid[j]
                    dt = src_d[j]
                    enc = -(j + 1)
                else:
                    if direct_d == np.inf:
                        continue
                    v = np.int64(nb + 1)
                    dt = direct_d
                    enc = -(nsrc + 1)
            else:
                e = ov_ptr[u] + j
                if e < ov_ptr[u + 1]:
                    lb = cell_label[ov_cell[e]]
                    v = np.int64(ov_head[e])
                    dt = ov_time[e]
                    enc = e
                else:
                    if tgt_d[u] == np.inf:
                        continue
                    lb = tgt_lab
                    v = np.int64(nb + 1)
                    dt = tgt_d[u]
                    enc = -(nsrc + 2)
            wx = np.int64(0)
            b = np.int64(-1)
            if lb >= 0:
                wx = vweight[lb]
                if wx < 0:
                    continue
                b = vbit[lb]
            nt = t + dt
            vn = _node_of(v, nb, border_node, source, target)
            hv = _h_idx(v, hcache, nb, border_node, source, target, x, y, inv_vmax, lm_from, lm_to)
            if nt + hv > t_prune or nt + hv >= best_t - _EPS * max(1.0, best_t):
                continue
            for w in range(n_words):
                nmask[w] = l_mask[li, w]
            ncost = cost
            nminD = l_minD[li]
            if b >= 0 and (nmask[b >> 6] >> np.uint64(b & 63)) & np.uint64(1) == 0:
                nmask[b >> 6] |= np.uint64(1) << np.uint64(b & 63)
                ncost = cost + wx
                if D[lb] < nminD:  # noqa: PLR1730 - numba kernel: keep the exact compiled comparison
                    nminD = D[lb]
            hc = _h_cost(vn, nmask, n_words, nminD, node_vptr, node_verts, vweight, vbit, D)
            if hc >= INF_COST or ncost + hc > ub_cost:
                continue
            dominated = False
            jj = head[v]
            prev = -1
            while jj >= 0:
                nxt = l_next[jj]
                if not l_alive[jj]:
                    if prev < 0:
                        head[v] = nxt
                    else:
                        l_next[prev] = nxt
                    jj = nxt
                    continue
                sub_old = True
                sub_new = True
                for w in range(n_words):
                    om = l_mask[jj, w]
                    if om & ~nmask[w]:
                        sub_old = False
                    if nmask[w] & ~om:
                        sub_new = False
                if sub_old and l_time[jj] <= nt:
                    dominated = True
                    break
                if sub_new and nt <= l_time[jj]:
                    l_alive[jj] = False
                    if prev < 0:
                        head[v] = nxt
                    else:
                        l_next[prev] = nxt
                    jj = nxt
                    continue
                prev = jj
                jj = nxt
            if dominated:
                continue
            if nl >= label_limit:
                return res_labels, l_node[:nl], l_parent[:nl], l_edge[:nl], l_cost[:nl], l_time[:nl], -1
            if nl == cap:
                cap *= 2
                l_node = _grow(l_node, cap)
                l_cost = _grow(l_cost, cap)
                l_time = _grow(l_time, cap)
                l_minD = _grow(l_minD, cap)
                l_parent = _grow(l_parent, cap)
                l_edge = _grow(l_edge, cap)
                l_next = _grow(l_next, cap)
                l_alive = _grow(l_alive, cap)
                nm = np.zeros((cap, n_words), np.uint64)
                nm[:nl] = l_mask[:nl]
                l_mask = nm
            l_node[nl] = v
            l_cost[nl] = ncost
            l_time[nl] = nt
            l_minD[nl] = nminD
            l_parent[nl] = li
            l_edge[nl] = enc
            l_alive[nl] = True
            for w in range(n_words):
                l_mask[nl, w] = nmask[w]
            l_next[nl] = head[v]
            head[v] = nl
            heapq.heappush(heap, (ncost + hc, nt + hv, np.int64(nl)))
            nl += 1
    return res_labels, l_node[:nl], l_parent[:nl], l_edge[:nl], l_cost[:nl], l_time[:nl], nl


_NO_TREE = (np.zeros(1, np.int64) - 1, np.zeros(1, np.int64) - 1, np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64), -1, np.inf)


class OverlayQuery:
    """One source/target pair on the overlay: the in-cell runs from the source and to the target
    are searched once (one Dijkstra each over the inner nodes of their cells) and shared by the
    fastest search and the label search, which then run over border nodes only.

    Parameters are the kernel arrays of :func:`pareto_front_overlay` (``tails``: tail of every CSR
    position); ``workspace`` is borrowed during construction only.

    ``trees``: a dict the caller keeps for many queries on the same overlay and times (a venue
    matrix: each origin's source tree serves all its destinations, each destination's target tree
    all origins).  A cell search depends only on its root, its direction and, for the source, an
    inner target in the *same* cell (an inner node of another cell is never reached: every edge of
    an inner node lies in its own cell), so that is the key; the trees are read-only.
    """

    def __init__(
        self,
        ov: CellOverlay,
        indptr: npt.NDArray[np.int64],
        heads: npt.NDArray[np.int32],
        tails: npt.NDArray[np.int64],
        time_s: npt.NDArray[np.float64],
        label: npt.NDArray[np.int32],
        label_charge: npt.NDArray[np.int64],
        source: int,
        target: int,
        *,
        xy: XY | None = None,
        inv_vmax: float = 0.0,
        landmarks: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None,
        workspace: Workspace | None = None,
        trees: dict[tuple[int, bool, int], tuple[Any, ...]] | None = None,
    ) -> None:
        self.ov = ov
        self.tree_cache = trees
        self.label = np.asarray(label)
        self.charge = np.asarray(label_charge, dtype=np.int64)
        self.source, self.target = int(source), int(target)
        s, t = self.source, self.target
        if xy is None:
            self.x = self.y = np.zeros(1, dtype=np.float64)
            self.inv_vmax = 0.0
        else:
            self.x, self.y = split_xy(xy)
            self.inv_vmax = float(inv_vmax)
        self.lm_from, self.lm_to = landmarks if landmarks is not None else (NO_LANDMARKS, NO_LANDMARKS)
        nb = ov.n_border
        self.nb = nb
        cs, ct = int(ov.node_code[s]), int(ov.node_code[t])
        self.sidx = nb if cs >= 0 else -cs - 1
        self.tidx = nb + 1 if ct >= 0 else -ct - 1
        self.ws = workspace if workspace is not None else Workspace(indptr.shape[0] - 1)
        self.arrays = (indptr, heads, tails, time_s)
        self.cs, self.ct = cs, ct
        self.hcache = np.full(nb + 2, -1.0)
        self._trees = False

    def _ensure_trees(self) -> None:
        """Search the source's and the target's cells (once): the runs to and from border nodes."""
        if self._trees:
            return
        ov, s, t, cs, ct = self.ov, self.source, self.target, self.cs, self.ct
        nb = self.nb
        if cs >= 0:
            self.src = self._tree(s, False, t if ct == cs else -1)
            self.src_lab = int(ov.cell_label[cs]) if cs < ov.n_cells else -1
        else:
            self.src = _NO_TREE
            self.src_lab = -1
        self.tgt_d = np.full(nb + 2, np.inf)
        self.tgt_loc = np.full(nb + 2, -1, dtype=np.int64)
        if ct >= 0:
            self.tgt = self._tree(t, True, -1)
            self.tgt_d[self.tgt[2]] = self.tgt[3]
            self.tgt_loc[self.tgt[2]] = self.tgt[4]
            self.tgt_lab = int(ov.cell_label[ct]) if ct < ov.n_cells else -1
        else:
            self.tgt = _NO_TREE
            self.tgt_lab = -1
        self._trees = True

    def _tree(self, root: int, backward: bool, other: int) -> tuple[Any, ...]:
        key = (root, backward, other)
        got = None if self.tree_cache is None else self.tree_cache.get(key)
        if got is None:
            indptr, heads, tails, time_s = self.arrays
            ov = self.ov
            got = _cell_tree(root, backward, indptr, heads, tails, ov.rev_ptr, ov.rev_edge, time_s, ov.node_code, other, self.ws.pred_node)
            if self.tree_cache is not None:
                self.tree_cache[key] = got
        return got

    def _edges(self, encs: npt.NDArray[np.int64], tails_idx: npt.NDArray[np.int64]) -> list[int]:
        ov = self.ov
        out = _unpack(encs, tails_idx, self.src[2].shape[0], ov.path_ptr, ov.path_edges, self.src[0], self.src[1], self.src[4],
                      self.src[5], self.tgt[0], self.tgt[1], self.tgt_loc)
        return out.tolist()  # type: ignore[no-any-return]

    def fastest(self, *, goal_directed: bool = True) -> tuple[float, list[int]] | None:
        """Fastest route avoiding forbidden labels: ``(time, road edges)``, None if unreachable.

        ``goal_directed``: when the cell trees are not searched yet, search only a corridor of
        the source and target cells (:func:`_open_astar`) instead of the whole cells.
        """
        if self.source == self.target:
            return 0.0, []
        ov = self.ov
        if goal_directed and not self._trees:
            indptr, heads, _tails, time_s = self.arrays
            ws = self.ws
            ca = self.cs if 0 <= self.cs < ov.n_cells else -1
            cb = self.ct if 0 <= self.ct < ov.n_cells else -1
            total, encs = _open_astar(
                indptr, heads, time_s, self.label, self.charge, ov.node_code, ca, cb, ov.ov_ptr, ov.ov_head, ov.ov_time, ov.ov_cell,
                ov.cell_label, ov.border_node, self.source, self.target, self.x, self.y, self.inv_vmax, self.lm_from, self.lm_to,
                ws.dist, ws.pred_edge, ws.pred_node, ws.done,
            )
            if not np.isfinite(total):
                return None
            return float(total), _unpack_open(np.asarray(encs, dtype=np.int64), ov.path_ptr, ov.path_edges).tolist()
        self._ensure_trees()
        total, encs, tl = _ov_astar(
            self.nb, self.sidx, self.tidx, self.source, self.target, self.src[2], self.src[3], self.src[6], self.src_lab, self.tgt_d,
            self.tgt_lab, ov.ov_ptr, ov.ov_head, ov.ov_time, ov.ov_cell, ov.cell_label, self.charge, ov.border_node, self.x, self.y,
            self.inv_vmax, self.lm_from, self.lm_to, self.hcache,
        )
        if not np.isfinite(total):
            return None
        return float(total), self._edges(np.asarray(encs, dtype=np.int64), np.asarray(tl, dtype=np.int64))

    def front(
        self,
        *,
        cell_graph: CellGraph | None = None,
        indptr_heads: tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]] | None = None,
        ub_cost: int | None = None,
        first_only: bool = False,
        max_cost: int | None = None,
        max_time: float | None = None,
        label_limit: int = 20_000_000,
        initial_capacity: int = 1 << 10,
        fastest: tuple[float, list[int]] | None = None,
        stats: dict[str, float] | None = None,
    ) -> list[LabelRoute]:
        """Pareto front of (charge, time) routes, the contract of
        :func:`routeplan.kernels.fastlabels.pareto_front_fast` (``indptr_heads`` builds the cell
        graph when ``cell_graph`` is not given)."""
        s, t = self.source, self.target
        lab, charge = self.label, self.charge
        if max_cost is not None and max_cost < 0:
            return []
        if fastest is None and ub_cost is None:
            fastest = self.fastest()
            if fastest is None:
                return []
        fastest_cost = route_cost(fastest[1], lab, charge)[0] if fastest is not None else None
        if ub_cost is None:
            assert fastest_cost is not None
            ub_cost = fastest_cost
        if max_cost is not None:
            ub_cost = min(ub_cost, max_cost)
        if s == t:
            return [LabelRoute(0, 0.0, (), frozenset())] if max_time is None or max_time >= 0 else []
        if cell_graph is None:
            if indptr_heads is None:
                msg = "give cell_graph or indptr_heads"
                raise ValueError(msg)
            cell_graph = build_cell_graph(indptr_heads[0], indptr_heads[1], np.asarray(lab, dtype=np.int32), charge.shape[0])
        vweight = vertex_weights(cell_graph, charge)
        vbit = np.full(cell_graph.n_vertices, -1, dtype=np.int64)
        pos = np.flatnonzero(vweight[: cell_graph.n_labels] > 0)
        vbit[pos] = pos
        n_words = max(1, (cell_graph.n_labels + 63) // 64)
        D = cost_to_go(cell_graph.adj_ptr, cell_graph.adj, cell_graph.node_vptr, cell_graph.node_verts, vweight, t)
        if stats is not None:
            stats["labels"] = 0.0
        if fastest is not None and fastest_cost is not None and fastest_cost <= ub_cost and (max_time is None or fastest[0] <= max_time):
            lb = _h_cost(s, np.zeros(n_words, np.uint64), n_words, INF_COST, cell_graph.node_vptr, cell_graph.node_verts, vweight, vbit, D)
            if fastest_cost == lb:
                edges = tuple(int(k) for k in fastest[1])
                return [LabelRoute(int(fastest_cost), float(fastest[0]), edges, route_cost(edges, lab, charge)[1])]
        ov = self.ov
        self._ensure_trees()
        res, lnode, parent, edge, cost, ltime, nl = _ov_search(
            self.nb, self.sidx, self.tidx, s, t, self.src[2], self.src[3], self.src[6], self.src_lab, self.tgt_d, self.tgt_lab,
            ov.ov_ptr, ov.ov_head, ov.ov_time, ov.ov_cell, ov.cell_label, ov.border_node, vweight, vbit, D, cell_graph.node_vptr,
            cell_graph.node_verts, self.x, self.y, self.inv_vmax, self.lm_from, self.lm_to, self.hcache, np.int64(ub_cost),
            np.inf if max_time is None else float(max_time), bool(first_only), n_words, int(label_limit), max(1, int(initial_capacity)),
        )
        if nl < 0:
            msg = f"the exact search exceeded {label_limit:,} labels; give a time limit (--max-extra-minutes) or fewer stops"
            raise LabelLimitError(msg)
        if stats is not None:
            stats["labels"] = float(nl)
        out: list[LabelRoute] = []
        for li in res:
            encs: list[int] = []
            tl: list[int] = []
            j = li
            while parent[j] >= 0:
                encs.append(int(edge[j]))
                tl.append(int(lnode[parent[j]]))
                j = parent[j]
            encs.reverse()
            tl.reverse()
            path = self._edges(np.asarray(encs, dtype=np.int64), np.asarray(tl, dtype=np.int64))
            labs = frozenset(int(lab[k]) for k in path if lab[k] >= 0 and charge[lab[k]] > 0)
            out.append(LabelRoute(int(cost[li]), float(ltime[li]), tuple(path), labs))
        return out


def shortest_path_overlay(
    ov: CellOverlay,
    indptr: npt.NDArray[np.int64],
    heads: npt.NDArray[np.int32],
    tails: npt.NDArray[np.int64],
    time_s: npt.NDArray[np.float64],
    label: npt.NDArray[np.int32],
    label_charge: npt.NDArray[np.int64],
    source: int,
    target: int,
    *,
    xy: XY | None = None,
    inv_vmax: float = 0.0,
    landmarks: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None,
    workspace: Workspace | None = None,
) -> tuple[float, list[int]] | None:
    """Fastest route avoiding forbidden labels, as ``(time, road edges)``; None if unreachable.

    The answer of :func:`routeplan.kernels.dijkstra.shortest_path` with the allowed mask of
    ``label_charge`` (times may differ in the last bits: sums are grouped per clique edge).
    """
    q = OverlayQuery(ov, indptr, heads, tails, time_s, label, label_charge, source, target, xy=xy, inv_vmax=inv_vmax,
                     landmarks=landmarks, workspace=workspace)
    return q.fastest()


def pareto_front_overlay(
    ov: CellOverlay,
    indptr: npt.NDArray[np.int64],
    heads: npt.NDArray[np.int32],
    tails: npt.NDArray[np.int64],
    time_s: npt.NDArray[np.float64],
    label: npt.NDArray[np.int32],
    label_charge: npt.NDArray[np.int64],
    source: int,
    target: int,
    *,
    cell_graph: CellGraph | None = None,
    ub_cost: int | None = None,
    xy: XY | None = None,
    inv_vmax: float = 0.0,
    landmarks: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None,
    first_only: bool = False,
    max_cost: int | None = None,
    max_time: float | None = None,
    label_limit: int = 20_000_000,
    initial_capacity: int = 1 << 10,
    workspace: Workspace | None = None,
    fastest: tuple[float, list[int]] | None = None,
    stats: dict[str, float] | None = None,
) -> list[LabelRoute]:
    """Pareto front of (charge, time) routes on the overlay: the contract (and the answer) of
    :func:`routeplan.kernels.fastlabels.pareto_front_fast`, routes unpacked to road edges.

    ``ov`` must have been built from the same graph with cells that refine ``label``.
    """
    q = OverlayQuery(ov, indptr, heads, tails, time_s, label, label_charge, source, target, xy=xy, inv_vmax=inv_vmax,
                     landmarks=landmarks, workspace=workspace)
    return q.front(cell_graph=cell_graph, indptr_heads=(indptr, heads), ub_cost=ub_cost, first_only=first_only, max_cost=max_cost,
                   max_time=max_time, label_limit=label_limit, initial_capacity=initial_capacity, fastest=fastest, stats=stats)


__all__ = ["CellOverlay", "OverlayQuery", "build_overlay", "edge_cells", "pareto_front_overlay", "shortest_path_overlay"]
