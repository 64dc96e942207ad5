"""Test oracles for the label-charged routing kernels, written from the definition only.

``brute_force_front`` enumerates every simple path (every Pareto-optimal route is simple: cutting
a cycle out of a walk drops its positive time and can only unpay labels), so it is exact on the
small graphs of ``tests/randgraphs.py``.  Independent of ``routeplan.kernels``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt

# Times equal within this relative tolerance are ties (the kernel sums in another order).
RTOL = 1e-9


class TooManyPaths(RuntimeError):
    """The enumeration passed its guard: the generator made a graph too dense to brute force."""


def simple_paths(
    n_nodes: int,
    tails: Sequence[int] | npt.NDArray[np.integer],
    heads: Sequence[int] | npt.NDArray[np.integer],
    allowed: Sequence[bool] | npt.NDArray[np.bool_],
    source: int,
    target: int,
    *,
    limit: int = 200_000,
) -> Iterator[tuple[int, ...]]:
    """Every simple path from ``source`` to ``target`` as a tuple of input edge indices.

    Own DFS (not networkx) so parallel edges are separate paths and self-loops are skipped.
    The empty path is yielded when ``source == target``.
    """
    out: list[list[int]] = [[] for _ in range(n_nodes)]
    for e, (u, v) in enumerate(
        zip(np.asarray(tails).tolist(), np.asarray(heads).tolist(), strict=True)
    ):
        if allowed[e] and u != v:
            out[u].append(e)
    if source == target:
        yield ()
        return
    on_path = [False] * n_nodes
    on_path[source] = True
    stack: list[int] = []
    count = 0
    hd = np.asarray(heads).tolist()

    def dfs(u: int) -> Iterator[tuple[int, ...]]:
        nonlocal count
        for e in out[u]:
            v = hd[e]
            if on_path[v]:
                continue
            stack.append(e)
            if v == target:
                count += 1
                if count > limit:
                    raise TooManyPaths(limit)
                yield tuple(stack)
            else:
                on_path[v] = True
                yield from dfs(v)
                on_path[v] = False
            stack.pop()

    yield from dfs(source)


def path_cost(
    edges: Sequence[int],
    label: Sequence[int] | npt.NDArray[np.integer],
    label_charge: Sequence[int] | npt.NDArray[np.integer],
) -> int:
    """Sum of the charges of the distinct positive-charge labels on the edges."""
    labs = {int(label[e]) for e in edges if label[e] >= 0 and label_charge[label[e]] > 0}
    return sum(int(label_charge[x]) for x in labs)


def path_time(edges: Sequence[int], time_s: Sequence[float] | npt.NDArray[np.floating]) -> float:
    """Travel time of the edges, summed in path order."""
    t = 0.0
    for e in edges:
        t += float(time_s[e])
    return t


def _allowed(
    label: npt.NDArray[np.integer], label_charge: npt.NDArray[np.integer]
) -> npt.NDArray[np.bool_]:
    lab = np.asarray(label, dtype=np.int64)
    ch = np.asarray(label_charge, dtype=np.int64)
    ok = np.ones(lab.shape[0], dtype=bool)
    ok[lab >= 0] = ch[lab[lab >= 0]] != -1  # label -1 (exempt) is always allowed
    return ok


def all_routes(
    n_nodes: int,
    tails: npt.ArrayLike,
    heads: npt.ArrayLike,
    time_s: npt.ArrayLike,
    label: npt.ArrayLike,
    label_charge: npt.ArrayLike,
    source: int,
    target: int,
) -> list[tuple[int, float, tuple[int, ...]]]:
    """``(cost, time, edges)`` of every simple allowed path from source to target."""
    lab = np.asarray(label, dtype=np.int64)
    ch = np.asarray(label_charge, dtype=np.int64)
    tm = np.asarray(time_s, dtype=np.float64)
    ok = _allowed(lab, ch)
    return [
        (path_cost(p, lab, ch), path_time(p, tm), p)
        for p in simple_paths(
            n_nodes, np.asarray(tails), np.asarray(heads), ok, int(source), int(target)
        )
    ]


def front_of(
    points: Sequence[tuple[int, float]],
    *,
    max_cost: int | None = None,
    max_time: float | None = None,
) -> list[tuple[int, float]]:
    """Pareto front of (cost, time) points: cost ascending, times strictly decreasing.

    For each cost, the fastest; kept only if strictly faster (beyond :data:`RTOL`) than every
    cheaper point.  ``max_cost`` / ``max_time`` drop dearer / slower points first.
    """
    pts = sorted(
        (c, t)
        for c, t in points
        if (max_cost is None or c <= max_cost) and (max_time is None or t <= max_time)
    )
    out: list[tuple[int, float]] = []
    best = np.inf
    for c, t in pts:
        if not out or t < best - RTOL * max(1.0, best):
            out.append((c, t))
            best = t
    return out


def brute_force_front(
    n_nodes: int,
    tails: npt.ArrayLike,
    heads: npt.ArrayLike,
    time_s: npt.ArrayLike,
    label: npt.ArrayLike,
    label_charge: npt.ArrayLike,
    source: int,
    target: int,
    *,
    max_cost: int | None = None,
    max_time: float | None = None,
) -> list[tuple[int, float]]:
    """Exact Pareto front ``[(cost, time)]`` by enumerating all simple paths; ``[]`` if none."""
    routes = all_routes(n_nodes, tails, heads, time_s, label, label_charge, source, target)
    return front_of([(c, t) for c, t, _ in routes], max_cost=max_cost, max_time=max_time)


def lex_min(
    routes: Sequence[tuple[int, float, tuple[int, ...]]],
) -> tuple[int, float] | None:
    """Cheapest, then fastest (cost, time) among routes; ``None`` if there are none."""
    if not routes:
        return None
    c, t, _ = min(routes, key=lambda r: (r[0], r[1]))
    return c, t


def validate_route(
    edges_input_idx: Sequence[int],
    tails: npt.ArrayLike,
    heads: npt.ArrayLike,
    time_s: npt.ArrayLike,
    label: npt.ArrayLike,
    label_charge: npt.ArrayLike,
    source: int,
    target: int,
    *,
    simple: bool = True,
) -> tuple[int, float]:
    """Check the edges form a walk ``source -> target`` on allowed edges; return (cost, time).

    Like ``networkx.is_valid_path`` but on edge ids, so parallel edges are distinguished.
    ``simple`` also requires no repeated node (every Pareto-optimal route is simple).
    Raises ``AssertionError`` with the reason on failure.
    """
    tl = np.asarray(tails, dtype=np.int64)
    hd = np.asarray(heads, dtype=np.int64)
    lab = np.asarray(label, dtype=np.int64)
    ch = np.asarray(label_charge, dtype=np.int64)
    edges = [int(e) for e in edges_input_idx]
    m = tl.shape[0]
    assert all(0 <= e < m for e in edges), f"edge id out of range in {edges}"
    if not edges:
        assert source == target, "empty route but source != target"
        return 0, 0.0
    assert tl[edges[0]] == source, f"route starts at {tl[edges[0]]}, not at source {source}"
    for a, b in itertools.pairwise(edges):
        assert hd[a] == tl[b], f"edges {a} and {b} are not consecutive ({hd[a]} != {tl[b]})"
    assert hd[edges[-1]] == target, f"route ends at {hd[edges[-1]]}, not at target {target}"
    bad = [e for e in edges if lab[e] >= 0 and ch[lab[e]] == -1]
    assert not bad, f"route uses forbidden edges {bad}"
    if simple:
        nodes = [int(tl[edges[0]])] + [int(hd[e]) for e in edges]
        assert len(set(nodes)) == len(nodes), f"route repeats a node: {nodes}"
    return path_cost(edges, lab, ch), path_time(edges, np.asarray(time_s, dtype=np.float64))


def times_close(a: float, b: float, rtol: float = RTOL) -> bool:
    """Equal within ``rtol`` relative to the larger magnitude (absolute below 1)."""
    return abs(a - b) <= rtol * max(1.0, abs(a), abs(b))


def per_entry_cost(
    edges: Sequence[int],
    label: Sequence[int] | npt.NDArray[np.integer],
    label_charge: Sequence[int] | npt.NDArray[np.integer],
) -> int:
    """The WRONG model (charge every entry into a label): for the sanity test only."""
    total, prev = 0, None
    for e in edges:
        lb = int(label[e])
        if lb != prev and lb >= 0 and label_charge[lb] > 0:
            total += int(label_charge[lb])
        prev = lb
    return total


__all__ = [
    "RTOL",
    "TooManyPaths",
    "all_routes",
    "brute_force_front",
    "front_of",
    "lex_min",
    "path_cost",
    "path_time",
    "per_entry_cost",
    "simple_paths",
    "times_close",
    "validate_route",
]
