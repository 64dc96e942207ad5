"""Contraction hierarchies: exact fastest routes in well under a millisecond after a one-off build.

Build ("preprocess")
--------------------
Nodes are contracted one at a time, least important first [1]_.  Contracting ``v`` removes it
from the remaining graph; for every in-neighbour ``u`` and out-neighbour ``w`` whose path
``u -> v -> w`` may be the only shortest one, a **shortcut** arc ``u -> w`` of the same time is
added.  A bounded Dijkstra from ``u`` that avoids ``v`` (the **witness search**) looks for another
path no longer than ``u -> v -> w``; the search stops after a fixed number of settled nodes, so a
witness may be missed, which only adds a needless shortcut, never a wrong distance.  Shortcuts
that duplicate an existing arc keep the faster of the two.

The order comes from a priority recomputed for the neighbours of every contracted node and checked
again lazily when a node reaches the top of the queue (re-queued if it got worse than the next
one).  The priority is the edge difference of [1]_ in the quotient form used by RoutingKit and
OSRM: ``added arcs / removed arcs + added original edges / removed original edges + level``,
where ``level`` (the depth of the node in the hierarchy so far, raised by each contracted
neighbour) plays the part of the "deleted neighbours" term: it spreads contraction evenly.
Everything is sequential with ties broken by node id: the same input gives identical arrays.

Query
-----
Every arc, original or shortcut, goes from a lower to a higher **rank** (contraction order) or
from higher to lower.  A shortest path always has an up-then-down shape in the hierarchy, so a
forward Dijkstra from the source over upward arcs and a backward Dijkstra from the target over
downward arcs (reversed: upward from the target) meet at the path's highest node.  Each side stops
when its queue's smallest key reaches the best meeting time.  **Stall-on-demand** [2]_: a node
``u`` reached by the forward search with ``d(u)`` is not expanded if some higher node ``x`` with a
downward arc ``x -> u`` already gives ``d(x) + c(x, u) < d(u)`` (then ``u``'s label is not a
shortest distance and nothing useful goes through it); likewise backwards.  Each shortcut records
its two child arcs, so the route unpacks to CSR positions of the road graph; the returned time is
the sum of those edges' times in driving order, exactly as the other kernels add them.

Queries keep their scratch arrays in a :class:`CHWorkspace` and reset only what they touched, so a
query costs what it explores (a few hundred nodes), not ``O(n)``.  :func:`ch_one_to_many` explores
the source's upward space once and then runs only the backward half per target [4]_.

References
----------
.. [1] R. Geisberger, P. Sanders, D. Schultes, D. Delling, "Contraction Hierarchies: Faster and
   Simpler Hierarchical Routing in Road Networks", WEA 2008, LNCS 5038, 319-333.
   https://doi.org/10.1007/978-3-540-68552-4_24
.. [2] R. Geisberger, P. Sanders, D. Schultes, C. Vetter, "Exact Routing in Large Road Networks
   Using Contraction Hierarchies", Transportation Science 46 (2012) 388-404.
   https://doi.org/10.1287/trsc.1110.0401 (stall-on-demand, Section 4.1)
.. [3] J. Dibbelt, B. Strasser, D. Wagner, "Customizable Contraction Hierarchies", ACM JEA 21
   (2016) 1.5. https://doi.org/10.1145/2886843 (RoutingKit's priority terms)
.. [4] S. Knopp, P. Sanders, D. Schultes, F. Schulz, D. Wagner, "Computing Many-to-Many Shortest
   Paths Using Highway Hierarchies", ALENEX 2007, 36-45. https://doi.org/10.1137/1.9781611972870.4
   (bucket-based one-to-many)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import numba
import numpy as np
import numpy.typing as npt

FORMAT = 1  # bump when the stored arrays change meaning

# Witness search limits (settled nodes): while computing priorities, and when contracting.
SIM_LIMIT = 300
CONTRACT_LIMIT = 1000

_INF = np.inf

# Indices into the build's counter array.
_C_ARCS, _C_ADJ, _C_HEAP, _C_DONE = 0, 1, 2, 3
# Return codes of the contraction step.
_OK, _NEED_ARCS, _NEED_ADJ = 0, 1, 2


# --------------------------------------------------------------------------------- indexed heap
# A binary min-heap of nodes keyed by (float key, node id) with a position index, so decrease-key
# and increase-key are in place and the pop order depends only on the keys and ids (deterministic).


@numba.njit(cache=True, inline="always")
def _less(k1, n1, k2, n2):  # type: ignore[no-untyped-def]
    return k1 < k2 or (k1 == k2 and n1 < n2)


@numba.njit(cache=True)
def _sift_up(hk, hn, hpos, i):  # type: ignore[no-untyped-def]
    k = hk[i]
    x = hn[i]
    while i > 0:
        p = (i - 1) >> 1
        if _less(k, x, hk[p], hn[p]):
            hk[i] = hk[p]
            hn[i] = hn[p]
            hpos[hn[i]] = i
            i = p
        else:
            break
    hk[i] = k
    hn[i] = x
    hpos[x] = i


@numba.njit(cache=True)
def _sift_down(hk, hn, hpos, i, size):  # type: ignore[no-untyped-def]
    k = hk[i]
    x = hn[i]
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and _less(hk[c + 1], hn[c + 1], hk[c], hn[c]):
            c += 1
        if _less(hk[c], hn[c], k, x):
            hk[i] = hk[c]
            hn[i] = hn[c]
            hpos[hn[i]] = i
            i = c
        else:
            break
    hk[i] = k
    hn[i] = x
    hpos[x] = i


@numba.njit(cache=True)
def _heap_set(hk, hn, hpos, size, node, key):  # type: ignore[no-untyped-def]
    """Insert ``node`` or change its key (either way); returns the new size."""
    i = hpos[node]
    if i < 0:
        i = size
        size += 1
        hk[i] = key
        hn[i] = node
        hpos[node] = i
        _sift_up(hk, hn, hpos, i)
    else:
        old = hk[i]
        hk[i] = key
        if key < old:
            _sift_up(hk, hn, hpos, i)
        else:
            _sift_down(hk, hn, hpos, i, size)
    return size


@numba.njit(cache=True)
def _heap_pop(hk, hn, hpos, size):  # type: ignore[no-untyped-def]
    """Remove the top; returns ``(node, key, new size)``."""
    x = hn[0]
    k = hk[0]
    hpos[x] = -1
    size -= 1
    if size > 0:
        hk[0] = hk[size]
        hn[0] = hn[size]
        hpos[hn[0]] = 0
        _sift_down(hk, hn, hpos, 0, size)
    return x, k, size


@numba.njit(cache=True)
def _heap_clear(hn, hpos, size):  # type: ignore[no-untyped-def]
    for i in range(size):
        hpos[hn[i]] = -1
    return 0


# ------------------------------------------------------------------------------------ the build


@dataclass
class _Build:
    """Mutable state of a build: an arc pool and per-node in/out arc lists in one segment pool."""

    n: int
    a_tail: npt.NDArray[np.int32]
    a_head: npt.NDArray[np.int32]
    a_w: npt.NDArray[np.float64]
    a_first: npt.NDArray[np.int32]
    a_second: npt.NDArray[np.int32]
    a_pos: npt.NDArray[np.int64]
    a_hops: npt.NDArray[np.int32]
    a_dead: npt.NDArray[np.bool_]
    adj: npt.NDArray[np.int32]
    # seg[v] = (out start, out len, out cap, in start, in len, in cap)
    seg: npt.NDArray[np.int64]
    counters: npt.NDArray[np.int64]


def _grow(a: npt.NDArray[np.generic], size: int, fill: float | bool = 0) -> npt.NDArray[np.generic]:
    out = np.full(size, fill, dtype=a.dtype)
    out[: a.shape[0]] = a
    return out


@numba.njit(cache=True)
def _init_lists(n, a_tail, a_head, n_arcs, adj, seg):  # type: ignore[no-untyped-def]
    """Lay out every node's out-list then in-list with some room to grow; returns pool use."""
    outdeg = np.zeros(n, np.int64)
    indeg = np.zeros(n, np.int64)
    for a in range(n_arcs):
        outdeg[a_tail[a]] += 1
        indeg[a_head[a]] += 1
    p = 0
    for v in range(n):
        c = outdeg[v] + 2
        seg[v, 0] = p
        seg[v, 1] = 0
        seg[v, 2] = c
        p += c
        c = indeg[v] + 2
        seg[v, 3] = p
        seg[v, 4] = 0
        seg[v, 5] = c
        p += c
    for a in range(n_arcs):
        u = a_tail[a]
        adj[seg[u, 0] + seg[u, 1]] = a
        seg[u, 1] += 1
        x = a_head[a]
        adj[seg[x, 3] + seg[x, 4]] = a
        seg[x, 4] += 1
    return p


@numba.njit(cache=True)
def _witness(src, skip, bound, limit, n_tgt, is_tgt, seg, adj, a_head, a_w, dist, hk, hn, hpos, touched):  # type: ignore[no-untyped-def]
    """Bounded Dijkstra from ``src`` avoiding ``skip``; fills ``dist`` (reset by the caller from
    ``touched``) and returns how many nodes it touched."""
    dist[src] = 0.0
    touched[0] = src
    nt = 1
    size = _heap_set(hk, hn, hpos, 0, src, 0.0)
    settled = 0
    remaining = n_tgt
    while size > 0:
        u, d, size = _heap_pop(hk, hn, hpos, size)
        if d > bound:
            break
        if is_tgt[u] and u != src:
            remaining -= 1
            if remaining == 0:
                break
        settled += 1
        if settled > limit:
            break
        s = seg[u, 0]
        for j in range(s, s + seg[u, 1]):
            a = adj[j]
            x = a_head[a]
            if x == skip:
                continue
            nd = d + a_w[a]
            if nd <= bound and nd < dist[x]:
                if dist[x] == _INF:
                    touched[nt] = x
                    nt += 1
                dist[x] = nd
                size = _heap_set(hk, hn, hpos, size, x, nd)
    _heap_clear(hn, hpos, size)
    return nt


@numba.njit(cache=True)
def _simulate(v, limit, record, seg, adj, a_tail, a_head, a_w, a_hops, dist, hk, hn, hpos, touched, is_tgt,  # type: ignore[no-untyped-def]
              sc_u, sc_x, sc_w, sc_a1, sc_a2):
    """Witness searches for contracting ``v``.  Returns ``(shortcuts, added hops, removed arcs,
    removed hops)``; with ``record`` the shortcuts are written to the ``sc_*`` buffers (sized
    in-degree x out-degree by the caller)."""
    os_, ol = seg[v, 0], seg[v, 1]
    is_, il = seg[v, 3], seg[v, 4]
    removed = ol + il
    removed_hops = 0
    max_out = 0.0
    for j in range(os_, os_ + ol):
        a = adj[j]
        is_tgt[a_head[a]] = True
        removed_hops += a_hops[a]
        max_out = max(max_out, a_w[a])
    for j in range(is_, is_ + il):
        removed_hops += a_hops[adj[j]]
    added = 0
    added_hops = 0
    for i in range(is_, is_ + il):
        ain = adj[i]
        u = a_tail[ain]
        w_in = a_w[ain]
        n_tgt = ol
        if is_tgt[u]:
            n_tgt -= 1
        if n_tgt == 0:
            continue
        nt = _witness(u, v, w_in + max_out, limit, n_tgt, is_tgt, seg, adj, a_head, a_w, dist, hk, hn, hpos, touched)
        for j in range(os_, os_ + ol):
            aout = adj[j]
            x = a_head[aout]
            if x == u:
                continue
            via = w_in + a_w[aout]
            if dist[x] > via:
                if record:
                    sc_u[added] = u
                    sc_x[added] = x
                    sc_w[added] = via
                    sc_a1[added] = ain
                    sc_a2[added] = aout
                added += 1
                added_hops += a_hops[ain] + a_hops[aout]
        for k in range(nt):
            dist[touched[k]] = _INF
    for j in range(os_, os_ + ol):
        is_tgt[a_head[adj[j]]] = False
    return added, added_hops, removed, removed_hops


@numba.njit(cache=True)
def _priority(v, limit, level, seg, adj, a_tail, a_head, a_w, a_hops, dist, hk, hn, hpos, touched, is_tgt, dummy_i, dummy_f):  # type: ignore[no-untyped-def]
    added, added_hops, removed, removed_hops = _simulate(
        v, limit, False, seg, adj, a_tail, a_head, a_w, a_hops, dist, hk, hn, hpos, touched, is_tgt,
        dummy_i, dummy_i, dummy_f, dummy_i, dummy_i)
    p = float(level[v])
    if removed > 0:
        p += added / removed
    if removed_hops > 0:
        p += added_hops / removed_hops
    return p


@numba.njit(cache=True)
def _init_priorities(n, limit, level, seg, adj, a_tail, a_head, a_w, a_hops, dist, whk, whn, whpos, touched, is_tgt,  # type: ignore[no-untyped-def]
                     qk, qn, qpos):
    dummy_i = np.zeros(1, np.int32)
    dummy_f = np.zeros(1, np.float64)
    size = 0
    for v in range(n):
        p = _priority(v, limit, level, seg, adj, a_tail, a_head, a_w, a_hops, dist, whk, whn, whpos, touched, is_tgt, dummy_i, dummy_f)
        size = _heap_set(qk, qn, qpos, size, v, p)
    return size


@numba.njit(cache=True)
def _reserve(seg, v, col, extra, adj, used):  # type: ignore[no-untyped-def]
    """Make room for ``extra`` more entries in list ``col`` (0: out, 3: in) of ``v``; returns the
    new pool use (``adj`` must be big enough: see :func:`_room_needed`)."""
    s, ln, cap = seg[v, col], seg[v, col + 1], seg[v, col + 2]
    if ln + extra <= cap:
        return used
    nc = max(2 * cap, ln + extra, 4)
    for j in range(ln):
        adj[used + j] = adj[s + j]
    seg[v, col] = used
    seg[v, col + 2] = nc
    return used + nc


@numba.njit(cache=True)
def _room_needed(seg, col, v, extra):  # type: ignore[no-untyped-def]
    ln, cap = seg[v, col + 1], seg[v, col + 2]
    if ln + extra <= cap:
        return 0
    return max(2 * cap, ln + extra, 4)


@numba.njit(cache=True)
def _remove_arc_to(seg, col, v, other_is_head, other, adj, a_tail, a_head):  # type: ignore[no-untyped-def]
    """Drop the entry of list ``col`` of ``v`` whose other end is ``other`` (swap with the last)."""
    s, ln = seg[v, col], seg[v, col + 1]
    for j in range(s, s + ln):
        a = adj[j]
        o = a_head[a] if other_is_head else a_tail[a]
        if o == other:
            adj[j] = adj[s + ln - 1]
            seg[v, col + 1] = ln - 1
            return


@numba.njit(cache=True)
def _contract_steps(max_steps, sim_limit, contract_limit, n, a_tail, a_head, a_w, a_first, a_second, a_pos, a_hops, a_dead, adj, seg, counters,  # type: ignore[no-untyped-def]
                    rank, level, stamp, dist, whk, whn, whpos, touched, is_tgt, qk, qn, qpos):
    """Contract up to ``max_steps`` nodes.  Returns ``(status, needed)``: ``_OK``, or
    ``_NEED_ARCS``/``_NEED_ADJ`` with how many free arc or list slots the next contraction needs
    (the caller makes room and calls again; nothing was changed for that node)."""
    dummy_i = np.zeros(1, np.int32)
    dummy_f = np.zeros(1, np.float64)
    n_arcs = counters[_C_ARCS]
    used = counters[_C_ADJ]
    size = counters[_C_HEAP]
    done = counters[_C_DONE]
    steps = 0
    while size > 0 and steps < max_steps:
        v = qn[0]
        # Lazy update: the key may be stale; re-queue when another node is now smaller.
        p = _priority(v, sim_limit, level, seg, adj, a_tail, a_head, a_w, a_hops, dist, whk, whn, whpos, touched,
                      is_tgt, dummy_i, dummy_f)
        if p != qk[0]:
            size = _heap_set(qk, qn, qpos, size, v, p)
            if qn[0] != v:
                continue
        il, ol = seg[v, 4], seg[v, 1]
        cap = max(il * ol, 1)
        sc_u = np.empty(cap, np.int32)
        sc_x = np.empty(cap, np.int32)
        sc_w = np.empty(cap, np.float64)
        sc_a1 = np.empty(cap, np.int32)
        sc_a2 = np.empty(cap, np.int32)
        k, _ah, _r, _rh = _simulate(v, contract_limit, True, seg, adj, a_tail, a_head, a_w, a_hops, dist, whk, whn, whpos,
                                    touched, is_tgt, sc_u, sc_x, sc_w, sc_a1, sc_a2)
        # Room: arcs, and list growth (reserve out-degree on every in-neighbour's out-list and
        # in-degree on every out-neighbour's in-list, whether used or not).
        if n_arcs + k > a_tail.shape[0]:
            counters[_C_ARCS], counters[_C_ADJ], counters[_C_HEAP], counters[_C_DONE] = n_arcs, used, size, done
            return _NEED_ARCS, k
        if k > 0:
            room = 0
            for j in range(seg[v, 3], seg[v, 3] + il):
                room += _room_needed(seg, 0, a_tail[adj[j]], ol)
            for j in range(seg[v, 0], seg[v, 0] + ol):
                room += _room_needed(seg, 3, a_head[adj[j]], il)
            if used + room > adj.shape[0]:
                counters[_C_ARCS], counters[_C_ADJ], counters[_C_HEAP], counters[_C_DONE] = n_arcs, used, size, done
                return _NEED_ADJ, room
            for j in range(seg[v, 3], seg[v, 3] + il):
                used = _reserve(seg, a_tail[adj[j]], 0, ol, adj, used)
            for j in range(seg[v, 0], seg[v, 0] + ol):
                used = _reserve(seg, a_head[adj[j]], 3, il, adj, used)
        # Commit: v leaves the queue and gets the next rank.
        _x, _k, size = _heap_pop(qk, qn, qpos, size)
        rank[v] = done
        done += 1
        steps += 1
        for i in range(k):
            u, x, w = sc_u[i], sc_x[i], sc_w[i]
            s, ln = seg[u, 0], seg[u, 1]
            found = -1
            for j in range(s, s + ln):
                if a_head[adj[j]] == x:
                    found = j
                    break
            if found >= 0 and a_w[adj[found]] <= w:
                continue
            a = n_arcs
            n_arcs += 1
            a_tail[a] = u
            a_head[a] = x
            a_w[a] = w
            a_first[a] = sc_a1[i]
            a_second[a] = sc_a2[i]
            a_pos[a] = -1
            a_hops[a] = a_hops[sc_a1[i]] + a_hops[sc_a2[i]]
            if found >= 0:
                old = adj[found]
                a_dead[old] = True
                adj[found] = a
                s2, ln2 = seg[x, 3], seg[x, 4]
                for j in range(s2, s2 + ln2):
                    if adj[j] == old:
                        adj[j] = a
                        break
            else:
                adj[s + ln] = a
                seg[u, 1] = ln + 1
                s2, ln2 = seg[x, 3], seg[x, 4]
                adj[s2 + ln2] = a
                seg[x, 4] = ln2 + 1
        # Detach v from its neighbours, raise their level, and requeue them.
        lv = level[v] + 1
        for j in range(seg[v, 3], seg[v, 3] + seg[v, 4]):
            u = a_tail[adj[j]]
            _remove_arc_to(seg, 0, u, True, v, adj, a_tail, a_head)
        for j in range(seg[v, 0], seg[v, 0] + seg[v, 1]):
            x = a_head[adj[j]]
            _remove_arc_to(seg, 3, x, False, v, adj, a_tail, a_head)
        for side in range(2):
            col = 3 if side == 0 else 0
            for j in range(seg[v, col], seg[v, col] + seg[v, col + 1]):
                a = adj[j]
                u = a_tail[a] if side == 0 else a_head[a]
                if stamp[u] == v:
                    continue
                stamp[u] = v
                level[u] = max(level[u], lv)
                pu = _priority(u, sim_limit, level, seg, adj, a_tail, a_head, a_w, a_hops, dist, whk, whn, whpos, touched, is_tgt, dummy_i, dummy_f)
                size = _heap_set(qk, qn, qpos, size, u, pu)
    counters[_C_ARCS], counters[_C_ADJ], counters[_C_HEAP], counters[_C_DONE] = n_arcs, used, size, done
    return _OK, 0


@numba.njit(cache=True)
def _dedup_sorted(tail, head, n_keep):  # type: ignore[no-untyped-def]
    """Mask of the first arc of every (tail, head) run in sorted arrays."""
    keep = np.zeros(tail.shape[0], np.bool_)
    for i in range(tail.shape[0]):
        if i == 0 or tail[i] != tail[i - 1] or head[i] != head[i - 1]:
            keep[i] = True
    return keep


# ------------------------------------------------------------------------------------ hierarchy

_I32, _I64, _F64 = np.dtype(np.int32), np.dtype(np.int64), np.dtype(np.float64)
_DTYPES = {
    "rank": _I32, "up_ptr": _I64, "up_head": _I32, "up_w": _F64, "dn_ptr": _I64, "dn_tail": _I32, "dn_w": _F64,
    "arc_pos": _I64, "arc_first": _I32, "arc_second": _I32,
}


@dataclass(frozen=True)
class ContractionHierarchy:
    """A contraction hierarchy over a CSR road graph (see the module docstring).

    ``rank[v]``: contraction order (higher = more important).  Upward graph (forward search):
    arcs ``up_ptr[u]:up_ptr[u + 1]`` go ``u -> up_head`` with ``rank[up_head] > rank[u]`` and
    time ``up_w``.  Downward graph reversed (backward search): arcs ``dn_ptr[v]:dn_ptr[v + 1]`` go
    ``dn_tail -> v`` with ``rank[dn_tail] > rank[v]``.  Arc ids: ``0..U-1`` are the upward arcs
    in that order, ``U + j`` is downward arc ``j``.  Arc ``a`` is the road edge at CSR position
    ``arc_pos[a]`` when that is ``>= 0`` (its time is then exactly ``time_s`` of that edge), else a
    shortcut made of arcs ``arc_first[a]`` then ``arc_second[a]`` (whose times it sums).
    ``n_edges`` is the number of edges of the road graph it was built on.
    """

    n_edges: int
    rank: npt.NDArray[np.int32]
    up_ptr: npt.NDArray[np.int64]
    up_head: npt.NDArray[np.int32]
    up_w: npt.NDArray[np.float64]
    dn_ptr: npt.NDArray[np.int64]
    dn_tail: npt.NDArray[np.int32]
    dn_w: npt.NDArray[np.float64]
    arc_pos: npt.NDArray[np.int64]
    arc_first: npt.NDArray[np.int32]
    arc_second: npt.NDArray[np.int32]

    @property
    def n_nodes(self) -> int:
        return int(self.rank.shape[0])

    @property
    def n_arcs(self) -> int:
        return int(self.arc_pos.shape[0])

    @property
    def n_shortcuts(self) -> int:
        return int(np.count_nonzero(self.arc_pos < 0))

    @property
    def nbytes(self) -> int:
        return sum(int(getattr(self, f.name).nbytes) for f in fields(self) if f.name != "n_edges")

    def arrays(self) -> dict[str, npt.NDArray[np.generic]]:
        """The arrays to store (:mod:`routeplan.cache`)."""
        out: dict[str, npt.NDArray[np.generic]] = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "n_edges"}
        out["meta"] = np.array([FORMAT, self.n_edges], dtype=np.int64)
        return out

    @classmethod
    def from_arrays(cls, z: dict[str, npt.NDArray[np.generic]]) -> ContractionHierarchy | None:
        """Rebuild from :meth:`arrays`; None when the format is another one or the arrays are
        inconsistent (wrong dtypes or shapes, indices out of range, arcs not going up, shortcuts
        whose children do not chain or whose time is not theirs: anything a query could trip on).
        """
        try:
            meta = np.asarray(z["meta"])
            if meta.shape != (2,) or meta.dtype != np.int64 or int(meta[0]) != FORMAT or int(meta[1]) < 0:
                return None
            kw = {}
            for name, want in _DTYPES.items():
                a = np.asarray(z[name])
                if a.dtype != want or a.ndim != 1:
                    return None
                kw[name] = a
            ch = cls(n_edges=int(meta[1]), **kw)
            return ch if ch._valid() else None
        except (KeyError, TypeError, ValueError, IndexError):
            return None

    def arc_ends(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Tail, head and time of every arc (by arc id)."""
        n = self.n_nodes
        tail = np.concatenate([np.repeat(np.arange(n), np.diff(self.up_ptr)), self.dn_tail.astype(np.int64)])
        head = np.concatenate([self.up_head.astype(np.int64), np.repeat(np.arange(n), np.diff(self.dn_ptr))])
        return tail, head, np.concatenate([self.up_w, self.dn_w])

    def _valid(self) -> bool:
        n, na = self.n_nodes, self.n_arcs
        if not np.array_equal(np.sort(self.rank), np.arange(n)):
            return False
        for ptr, other, w in ((self.up_ptr, self.up_head, self.up_w), (self.dn_ptr, self.dn_tail, self.dn_w)):
            m = other.shape[0]
            if ptr.shape[0] != n + 1 or ptr[0] != 0 or ptr[-1] != m or np.any(np.diff(ptr) < 0):
                return False
            if w.shape[0] != m or np.any((other < 0) | (other >= n)) or not np.all(w >= 0):
                return False
        if self.up_head.shape[0] + self.dn_tail.shape[0] != na:
            return False
        if self.arc_first.shape[0] != na or self.arc_second.shape[0] != na:
            return False
        tail, head, w = self.arc_ends()
        low = np.minimum(self.rank[tail], self.rank[head])
        if np.any(self.rank[tail] == self.rank[head]) or np.any(self.rank[np.r_[self.up_head, self.dn_tail]] != np.maximum(
                self.rank[tail], self.rank[head])):
            return False
        orig = self.arc_pos >= 0
        if np.any(self.arc_pos >= self.n_edges) or np.any(orig & ((self.arc_first != -1) | (self.arc_second != -1))):
            return False
        sc = np.flatnonzero(~orig)
        f, s = self.arc_first[sc].astype(np.int64), self.arc_second[sc].astype(np.int64)
        if np.any((f < 0) | (f >= na) | (s < 0) | (s >= na)):
            return False
        # Children chain tail -> middle -> head through a lower node (so unpacking ends), and the
        # shortcut's time is exactly theirs.
        return bool(np.all(tail[f] == tail[sc]) and np.all(head[f] == tail[s]) and np.all(head[s] == head[sc])
                    and np.all(low[f] < low[sc]) and np.all(low[s] < low[sc]) and np.all(w[f] + w[s] == w[sc]))


def build_ch(
    indptr: npt.NDArray[np.int64],
    heads: npt.NDArray[np.int32],
    time_s: npt.NDArray[np.float64],
    *,
    progress: Callable[[int, int], None] | None = None,
    sim_limit: int = SIM_LIMIT,
    contract_limit: int = CONTRACT_LIMIT,
) -> ContractionHierarchy:
    """Build a contraction hierarchy of a CSR graph [1]_.

    Parameters
    ----------
    indptr, heads, time_s : arrays
        The road graph (``routeplan.kernels`` conventions); times must be positive.  Self-loops
        are dropped and of parallel edges only the fastest is kept (the lowest CSR position among
        equally fast ones).
    progress : callable, optional
        ``progress(done, total)`` with the number of contracted nodes, every couple of percent.
    sim_limit, contract_limit : int
        Witness searches stop after this many settled nodes when computing a priority, and when
        contracting.  Lower is a faster build with more shortcuts (slower queries).

    Returns
    -------
    ContractionHierarchy
        Deterministic: the same arrays give identical hierarchies.

    Notes
    -----
    Witness searches are bounded (``sim_limit``, ``contract_limit``), so a few needless
    shortcuts may be added; distances are exact regardless.

    References
    ----------
    .. [1] R. Geisberger, P. Sanders, D. Schultes, D. Delling, "Contraction Hierarchies: Faster
       and Simpler Hierarchical Routing in Road Networks", WEA 2008, LNCS 5038, 319-333.
       https://doi.org/10.1007/978-3-540-68552-4_24
    """
    indptr = np.asarray(indptr, dtype=np.int64)
    heads = np.asarray(heads, dtype=np.int32)
    time_s = np.asarray(time_s, dtype=np.float64)
    n = indptr.shape[0] - 1
    m = heads.shape[0]
    tails = np.repeat(np.arange(n, dtype=np.int32), np.diff(indptr))
    pos = np.arange(m, dtype=np.int64)
    ok = tails != heads
    t, h, w, p = tails[ok], heads[ok], time_s[ok], pos[ok]
    order = np.lexsort((p, w, h, t))
    t, h, w, p = t[order], h[order], w[order], p[order]
    keep = _dedup_sorted(t, h, 0)
    t, h, w, p = t[keep], h[keep], w[keep], p[keep]
    m0 = t.shape[0]

    cap = int(m0 * 2.5) + 16
    b = _Build(
        n=n,
        a_tail=_grow(t, cap),  # type: ignore[arg-type]
        a_head=_grow(h, cap),  # type: ignore[arg-type]
        a_w=_grow(w, cap),  # type: ignore[arg-type]
        a_first=np.full(cap, -1, np.int32),
        a_second=np.full(cap, -1, np.int32),
        a_pos=_grow(p, cap, -1),  # type: ignore[arg-type]
        a_hops=np.ones(cap, np.int32),
        a_dead=np.zeros(cap, np.bool_),
        adj=np.zeros(2 * m0 + 4 * n + int(2.5 * m0) + 64, np.int32),
        seg=np.zeros((n, 6), np.int64),
        counters=np.zeros(4, np.int64),
    )
    b.counters[_C_ARCS] = m0
    b.counters[_C_ADJ] = _init_lists(n, b.a_tail, b.a_head, m0, b.adj, b.seg)

    rank = np.full(n, -1, np.int32)
    level = np.zeros(n, np.int32)
    stamp = np.full(n, -1, np.int64)
    dist = np.full(n, np.inf)
    whk = np.zeros(n, np.float64)
    whn = np.zeros(n, np.int32)
    whpos = np.full(n, -1, np.int32)
    touched = np.zeros(n, np.int32)
    is_tgt = np.zeros(n, np.bool_)
    qk = np.zeros(n, np.float64)
    qn = np.zeros(n, np.int32)
    qpos = np.full(n, -1, np.int32)
    b.counters[_C_HEAP] = _init_priorities(n, sim_limit, level, b.seg, b.adj, b.a_tail, b.a_head, b.a_w, b.a_hops, dist, whk, whn,
                                           whpos, touched, is_tgt, qk, qn, qpos)
    step = max(1, n // 50)
    while b.counters[_C_HEAP] > 0:
        status, need = _contract_steps(step, sim_limit, contract_limit, n, b.a_tail, b.a_head, b.a_w, b.a_first, b.a_second, b.a_pos, b.a_hops,
                                       b.a_dead, b.adj, b.seg, b.counters, rank, level, stamp, dist, whk, whn, whpos,
                                       touched, is_tgt, qk, qn, qpos)
        if status == _NEED_ARCS:
            size = int(b.counters[_C_ARCS]) + int(need) + b.a_tail.shape[0] // 2
            b.a_tail, b.a_head = _grow(b.a_tail, size), _grow(b.a_head, size)  # type: ignore[assignment]
            b.a_w = _grow(b.a_w, size)  # type: ignore[assignment]
            b.a_first, b.a_second = _grow(b.a_first, size, -1), _grow(b.a_second, size, -1)  # type: ignore[assignment]
            b.a_pos, b.a_hops = _grow(b.a_pos, size, -1), _grow(b.a_hops, size, 1)  # type: ignore[assignment]
            b.a_dead = _grow(b.a_dead, size, False)  # type: ignore[assignment]
        elif status == _NEED_ADJ:
            live = _compact_lists(n, b.seg, b.adj)
            if b.adj.shape[0] - live < int(need) + b.adj.shape[0] // 4:
                b.adj = _grow(b.adj, live + int(need) + b.adj.shape[0] // 2)  # type: ignore[assignment]
            b.counters[_C_ADJ] = live
        if progress is not None and status == _OK:
            progress(int(b.counters[_C_DONE]), n)
    return _assemble(n, m, rank, b)


@numba.njit(cache=True)
def _compact_lists(n, seg, adj):  # type: ignore[no-untyped-def]
    """Pack every list to the front of the pool (in node order, keeping spare capacity); returns
    the pool use.  Lists only move towards the front, so an in-place copy is safe when done in
    order of their current start."""
    starts = np.empty(2 * n, np.int64)
    for v in range(n):
        starts[2 * v] = seg[v, 0]
        starts[2 * v + 1] = seg[v, 3]
    order = np.argsort(starts, kind="mergesort")
    p = 0
    for i in order:
        v, col = i // 2, 3 * (i % 2)
        s, ln, cap = seg[v, col], seg[v, col + 1], seg[v, col + 2]
        nc = min(cap, 2 * ln + 2)  # never more than before: p stays <= s
        for j in range(ln):
            adj[p + j] = adj[s + j]
        seg[v, col] = p
        seg[v, col + 2] = nc
        p += nc
    return p


def _assemble(n: int, m: int, rank: npt.NDArray[np.int32], b: _Build) -> ContractionHierarchy:
    """Number the live arcs: upward ones in CSR order, then downward ones; map the children."""
    na = int(b.counters[_C_ARCS])
    old = np.flatnonzero(~b.a_dead[:na])
    tail, head = b.a_tail[old], b.a_head[old]
    up = rank[tail] < rank[head]
    own = np.where(up, tail, head)
    order = np.lexsort((np.where(up, head, tail), own, ~up))  # up first; by owner; by other end
    old = old[order]
    tail, head, up, own = tail[order], head[order], up[order], own[order]
    n_up = int(np.count_nonzero(up))
    new_id = np.full(na, -1, np.int64)
    new_id[old] = np.arange(old.shape[0])
    f, s = b.a_first[old], b.a_second[old]
    first = np.where(f >= 0, new_id[np.maximum(f, 0)], -1).astype(np.int32)
    second = np.where(s >= 0, new_id[np.maximum(s, 0)], -1).astype(np.int32)
    if np.any((f >= 0) & (first < 0)) or np.any((s >= 0) & (second < 0)):
        msg = "internal error: a shortcut refers to a replaced arc"
        raise AssertionError(msg)
    w = b.a_w[old]

    def ptr(owner: npt.NDArray[np.int32]) -> npt.NDArray[np.int64]:
        out = np.zeros(n + 1, np.int64)
        np.cumsum(np.bincount(owner, minlength=n), out=out[1:])
        return out

    return ContractionHierarchy(
        n_edges=m, rank=rank,
        up_ptr=ptr(own[:n_up]), up_head=head[:n_up].astype(np.int32), up_w=w[:n_up].astype(np.float64),
        dn_ptr=ptr(own[n_up:]), dn_tail=tail[n_up:].astype(np.int32), dn_w=w[n_up:].astype(np.float64),
        arc_pos=b.a_pos[old].astype(np.int64), arc_first=first, arc_second=second,
    )


# ---------------------------------------------------------------------------------------- query


class CHWorkspace:
    """Scratch arrays for queries on one hierarchy (one thread at a time).

    Every query leaves it as it found it, resetting only the entries it touched.
    """

    def __init__(self, n_nodes: int) -> None:
        self.n_nodes = n_nodes
        self.df = np.full(n_nodes, np.inf)
        self.db = np.full(n_nodes, np.inf)
        self.pf = np.zeros(n_nodes, np.int32)  # arc into the node (forward)
        self.pb = np.zeros(n_nodes, np.int32)  # arc out of the node (backward)
        self.nf = np.zeros(n_nodes, np.int32)  # node before (forward)
        self.nb = np.zeros(n_nodes, np.int32)  # node after (backward)
        self.hkf = np.zeros(n_nodes, np.float64)
        self.hnf = np.zeros(n_nodes, np.int32)
        self.hpf = np.full(n_nodes, -1, np.int32)
        self.hkb = np.zeros(n_nodes, np.float64)
        self.hnb = np.zeros(n_nodes, np.int32)
        self.hpb = np.full(n_nodes, -1, np.int32)
        self.tf = np.zeros(n_nodes, np.int32)
        self.tb = np.zeros(n_nodes, np.int32)

    @property
    def nbytes(self) -> int:
        return sum(int(a.nbytes) for a in vars(self).values() if isinstance(a, np.ndarray))


@numba.njit(cache=True)
def _stalled(u, du, ptr, other, w, dist):  # type: ignore[no-untyped-def]
    """Stall-on-demand: a higher node already reaches ``u`` faster than ``du``."""
    for j in range(ptr[u], ptr[u + 1]):
        if dist[other[j]] + w[j] < du:
            return True
    return False


@numba.njit(cache=True)
def _unpack(arcs, n_up, up_w, dn_w, arc_pos, arc_first, arc_second):  # type: ignore[no-untyped-def]
    """Road edges (CSR positions) of a sequence of arcs in driving order, and their summed time
    (added in driving order)."""
    out = np.empty(64, np.int64)
    n = 0
    total = 0.0
    stack = np.empty(64, np.int32)
    for i in range(len(arcs)):
        stack[0] = arcs[i]
        top = 1
        while top > 0:
            top -= 1
            a = stack[top]
            p = arc_pos[a]
            if p >= 0:
                if n == out.shape[0]:
                    bigger = np.empty(2 * n, np.int64)
                    bigger[:n] = out
                    out = bigger
                out[n] = p
                n += 1
                total += up_w[a] if a < n_up else dn_w[a - n_up]
            else:
                if top + 2 > stack.shape[0]:
                    bigger_s = np.empty(2 * stack.shape[0], np.int32)
                    bigger_s[:top] = stack[:top]
                    stack = bigger_s
                stack[top] = arc_second[a]
                stack[top + 1] = arc_first[a]
                top += 2
    return total, out[:n]


@numba.njit(cache=True)
def _meeting_arcs(meet, source, target, pf, nf, pb, nb):  # type: ignore[no-untyped-def]
    """The arcs of the route through ``meet``: the forward search's from the source, then the
    backward search's to the target."""
    arcs = []
    x = meet
    while x != source:
        arcs.append(pf[x])
        x = nf[x]
    arcs.reverse()
    x = meet
    while x != target:
        arcs.append(pb[x])
        x = nb[x]
    return arcs


@numba.njit(cache=True, inline="always")
def _relax(u, d, ptr, nbr, w, arc_off, dist, pred, pnode, touched, nt, hk, hn, hp, size, other, meeting, best, meet):  # type: ignore[no-untyped-def]
    """Relax the arcs ``ptr[u]..ptr[u + 1]`` of ``u``, settled at ``d``, in one search direction:
    a shorter distance to ``x = nbr[j]`` is recorded with its arc (``arc_off + j``) and tail, ``x``
    is remembered for the reset (``touched``) and queued; with ``meeting``, ``x`` is also checked
    as a meeting point against the other direction's distances ``other``.  One step for the query's
    two directions and both phases of one-to-many.  Returns ``(nt, size, best, meet)``."""
    for j in range(ptr[u], ptr[u + 1]):
        x = nbr[j]
        nd = d + w[j]
        if nd < dist[x]:
            if dist[x] == _INF:
                touched[nt] = x
                nt += 1
            dist[x] = nd
            pred[x] = arc_off + j
            pnode[x] = u
            size = _heap_set(hk, hn, hp, size, x, nd)
            if meeting and nd + other[x] < best:
                best = nd + other[x]
                meet = x
    return nt, size, best, meet


@numba.njit(cache=True)
def _ch_query(source, target, up_ptr, up_head, up_w, dn_ptr, dn_tail, dn_w, arc_pos, arc_first, arc_second,  # type: ignore[no-untyped-def]
              df, db, pf, pb, nf, nb, hkf, hnf, hpf, hkb, hnb, hpb, tf, tb):
    """Bidirectional upward Dijkstra with stall-on-demand; returns ``(time, CSR positions)``,
    time ``inf`` when unreachable.  Resets every workspace entry it touched."""
    n_up = up_head.shape[0]
    df[source] = 0.0
    db[target] = 0.0
    tf[0] = source
    tb[0] = target
    ntf = 1
    ntb = 1
    sf = _heap_set(hkf, hnf, hpf, 0, source, 0.0)
    sb = _heap_set(hkb, hnb, hpb, 0, target, 0.0)
    best = _INF
    meet = -1
    while True:
        kf = hkf[0] if sf > 0 else _INF
        kb = hkb[0] if sb > 0 else _INF
        if kf >= best:
            sf = _heap_clear(hnf, hpf, sf)
            kf = _INF
        if kb >= best:
            sb = _heap_clear(hnb, hpb, sb)
            kb = _INF
        if kf == _INF and kb == _INF:
            break
        if kf <= kb:
            u, d, sf = _heap_pop(hkf, hnf, hpf, sf)
            if db[u] + d < best:
                best = db[u] + d
                meet = u
            if _stalled(u, d, dn_ptr, dn_tail, dn_w, df):
                continue
            ntf, sf, best, meet = _relax(u, d, up_ptr, up_head, up_w, 0, df, pf, nf, tf, ntf, hkf, hnf, hpf, sf, db, True, best, meet)
        else:
            u, d, sb = _heap_pop(hkb, hnb, hpb, sb)
            if df[u] + d < best:
                best = df[u] + d
                meet = u
            if _stalled(u, d, up_ptr, up_head, up_w, db):
                continue
            ntb, sb, best, meet = _relax(u, d, dn_ptr, dn_tail, dn_w, n_up, db, pb, nb, tb, ntb, hkb, hnb, hpb, sb, df, True, best, meet)
    total = _INF
    path = np.empty(0, np.int64)
    if meet >= 0:
        arcs = _meeting_arcs(meet, source, target, pf, nf, pb, nb)
        total, path = _unpack(arcs, n_up, up_w, dn_w, arc_pos, arc_first, arc_second)
    for i in range(ntf):
        df[tf[i]] = _INF
    for i in range(ntb):
        db[tb[i]] = _INF
    return total, path


def ch_query(
    ch: ContractionHierarchy,
    source: int,
    target: int,
    workspace: CHWorkspace | None = None,
) -> tuple[float, list[int]] | None:
    """Fastest route by a bidirectional upward search in a contraction hierarchy [1]_ with
    stall-on-demand [2]_.

    Parameters
    ----------
    ch : ContractionHierarchy
        From :func:`build_ch`.
    source, target : int
        Nodes of the road graph.
    workspace : CHWorkspace, optional
        Reused scratch arrays; without one every query allocates ``O(n)`` arrays (slow on big
        networks: keep one per hierarchy).

    Returns
    -------
    (time, positions) or None
        The CSR positions of a fastest route in driving order and its time: the sum of the road
        graph's ``time_s`` over them, added in driving order (as
        :func:`routeplan.kernels.dijkstra.shortest_path` adds them).  ``None`` when the target
        cannot be reached; ``(0.0, [])`` when ``source == target``.

    References
    ----------
    .. [1] R. Geisberger, P. Sanders, D. Schultes, D. Delling, "Contraction Hierarchies: Faster
       and Simpler Hierarchical Routing in Road Networks", WEA 2008, LNCS 5038, 319-333.
       https://doi.org/10.1007/978-3-540-68552-4_24
    .. [2] R. Geisberger, P. Sanders, D. Schultes, C. Vetter, "Exact Routing in Large Road
       Networks Using Contraction Hierarchies", Transportation Science 46 (2012) 388-404.
       https://doi.org/10.1287/trsc.1110.0401
    """
    n = ch.n_nodes
    s, t = int(source), int(target)
    if not (0 <= s < n and 0 <= t < n):
        msg = f"node out of range: {source} -> {target} (n = {n})"
        raise IndexError(msg)
    if s == t:
        return 0.0, []
    ws = workspace if workspace is not None else CHWorkspace(n)
    if ws.n_nodes != n:
        msg = f"workspace is for {ws.n_nodes} nodes, the hierarchy has {n}"
        raise ValueError(msg)
    total, path = _ch_query(
        s, t, ch.up_ptr, ch.up_head, ch.up_w, ch.dn_ptr, ch.dn_tail, ch.dn_w, ch.arc_pos, ch.arc_first, ch.arc_second,
        ws.df, ws.db, ws.pf, ws.pb, ws.nf, ws.nb, ws.hkf, ws.hnf, ws.hpf, ws.hkb, ws.hnb, ws.hpb, ws.tf, ws.tb,
    )
    if total == np.inf:
        return None
    return float(total), path.tolist()


@numba.njit(cache=True)
def _ch_one_to_many(source, targets, up_ptr, up_head, up_w, dn_ptr, dn_tail, dn_w, arc_pos, arc_first, arc_second,  # type: ignore[no-untyped-def]
                    df, db, pf, pb, nf, nb, hkf, hnf, hpf, hkb, hnb, hpb, tf, tb, out):
    """The source's whole upward search space once (its labels are the one "bucket" every target
    scans), then per target a backward upward search pruned at the best meeting time."""
    n_up = up_head.shape[0]
    df[source] = 0.0
    tf[0] = source
    ntf = 1
    sf = _heap_set(hkf, hnf, hpf, 0, source, 0.0)
    while sf > 0:
        u, d, sf = _heap_pop(hkf, hnf, hpf, sf)
        if _stalled(u, d, dn_ptr, dn_tail, dn_w, df):
            continue
        ntf, sf, _best, _meet = _relax(u, d, up_ptr, up_head, up_w, 0, df, pf, nf, tf, ntf, hkf, hnf, hpf, sf, db, False, _INF, -1)
    for i in range(targets.shape[0]):
        target = targets[i]
        if target == source:
            out[i] = 0.0
            continue
        db[target] = 0.0
        tb[0] = target
        ntb = 1
        sb = _heap_set(hkb, hnb, hpb, 0, target, 0.0)
        best = df[target]
        meet = target if best < _INF else -1
        while sb > 0 and hkb[0] < best:
            u, d, sb = _heap_pop(hkb, hnb, hpb, sb)
            if df[u] + d < best:
                best = df[u] + d
                meet = u
            if _stalled(u, d, up_ptr, up_head, up_w, db):
                continue
            ntb, sb, _best, _meet = _relax(u, d, dn_ptr, dn_tail, dn_w, n_up, db, pb, nb, tb, ntb, hkb, hnb, hpb, sb, df, False, _INF, -1)
        sb = _heap_clear(hnb, hpb, sb)
        out[i] = _INF
        if meet >= 0:
            arcs = _meeting_arcs(meet, source, target, pf, nf, pb, nb)
            out[i], _path = _unpack(arcs, n_up, up_w, dn_w, arc_pos, arc_first, arc_second)
        for k in range(ntb):
            db[tb[k]] = _INF
    for k in range(ntf):
        df[tf[k]] = _INF


def ch_one_to_many(
    ch: ContractionHierarchy,
    source: int,
    targets: npt.ArrayLike,
    workspace: CHWorkspace | None = None,
) -> npt.NDArray[np.float64]:
    """Fastest times from one source to many targets [1]_.

    The source's upward search space is explored once, without pruning; its labels play the part
    of the buckets of the many-to-many algorithm [2]_ (with one source there is one bucket entry
    per node).  Each target then runs only a backward upward search with stall-on-demand, pruned
    at the best meeting time: about half a :func:`ch_query` per target.

    Returns
    -------
    ndarray of float64
        ``times[i]`` from ``source`` to ``targets[i]``: the time :func:`ch_query` would return
        (the road edges' times added in driving order), ``inf`` when unreachable, ``0.0`` when
        the target is the source.

    References
    ----------
    .. [1] R. Geisberger, P. Sanders, D. Schultes, D. Delling, "Contraction Hierarchies: Faster
       and Simpler Hierarchical Routing in Road Networks", WEA 2008, LNCS 5038, 319-333.
       https://doi.org/10.1007/978-3-540-68552-4_24
    .. [2] S. Knopp, P. Sanders, D. Schultes, F. Schulz, D. Wagner, "Computing Many-to-Many
       Shortest Paths Using Highway Hierarchies", ALENEX 2007, 36-45.
       https://doi.org/10.1137/1.9781611972870.4
    """
    n = ch.n_nodes
    s = int(source)
    tg = np.asarray(targets, dtype=np.int64).reshape(-1)
    if not 0 <= s < n or np.any((tg < 0) | (tg >= n)):
        msg = f"node out of range (n = {n})"
        raise IndexError(msg)
    ws = workspace if workspace is not None else CHWorkspace(n)
    if ws.n_nodes != n:
        msg = f"workspace is for {ws.n_nodes} nodes, the hierarchy has {n}"
        raise ValueError(msg)
    out = np.empty(tg.shape[0], np.float64)
    _ch_one_to_many(
        s, tg, ch.up_ptr, ch.up_head, ch.up_w, ch.dn_ptr, ch.dn_tail, ch.dn_w, ch.arc_pos, ch.arc_first, ch.arc_second,
        ws.df, ws.db, ws.pf, ws.pb, ws.nf, ws.nb, ws.hkf, ws.hnf, ws.hpf, ws.hkb, ws.hnb, ws.hpb, ws.tf, ws.tb, out,
    )
    return out
