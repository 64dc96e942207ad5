"""Seeded small random labelled digraphs for exactness tests (6-14 nodes, brute-forceable).

Two flavours:

* ``grid``: nodes on a small grid, labels by region (nearest of a few seed cells), so labels look
  like constituencies; then deliberately: two regions merged into one label (a constituency in
  two separate pieces, so routes leave and re-enter it), enclaves, a fast exempt motorway
  (label ``-1``) touching the grid at few junctions, sometimes through an off-grid interchange,
  one-way streets, parallel edges with other labels, free (charge 0) and forbidden (charge -1)
  labels, and sometimes an unreachable target.
* ``random``: uniform random edges and labels, same charge and time distributions.

Times and charges are often drawn from tiny sets so equal times / equal costs (ties) are common;
some cases use one-decimal float times so sums are rounded differently in different orders.
Pure numpy, independent of ``routeplan``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

CHARGES = (50, 100, 100, 150, 200, 200, 300, 500)
GRID_SHAPES = ((2, 3), (2, 4), (3, 3), (2, 5), (3, 4), (4, 3), (2, 6), (3, 3), (3, 4))


@dataclass(frozen=True)
class Case:
    """One routing instance on an input edge list (not CSR)."""

    kind: str
    seed: int
    n_nodes: int
    tails: npt.NDArray[np.int64]
    heads: npt.NDArray[np.int64]
    time_s: npt.NDArray[np.float64]
    label: npt.NDArray[np.int32]
    label_charge: npt.NDArray[np.int64]
    source: int
    target: int
    tags: frozenset[str] = field(default_factory=frozenset)

    @property
    def args(self) -> tuple:  # type: ignore[type-arg]
        """Positional arguments of the oracles and of the MILP."""
        return (
            self.n_nodes,
            self.tails,
            self.heads,
            self.time_s,
            self.label,
            self.label_charge,
            self.source,
            self.target,
        )

    def __repr__(self) -> str:
        return f"Case({self.kind}, seed={self.seed}, n={self.n_nodes}, m={self.tails.shape[0]})"


class _Builder:
    def __init__(self) -> None:
        self.t: list[int] = []
        self.h: list[int] = []
        self.w: list[float] = []
        self.lab: list[int] = []

    def add(self, u: int, v: int, w: float, lab: int) -> None:
        self.t.append(u)
        self.h.append(v)
        self.w.append(float(w))
        self.lab.append(lab)


def _time(rng: np.random.Generator, floaty: bool) -> float:
    """A road's time: from a tiny integer set (ties), or one-decimal floats (rounding)."""
    if floaty:
        return round(float(rng.uniform(1.0, 8.0)), 1)
    return float(rng.choice((1, 2, 3, 3, 4, 4, 5, 6, 8)))


def _charges(rng: np.random.Generator, n_labels: int, tags: set[str]) -> npt.NDArray[np.int64]:
    ch = rng.choice(CHARGES, size=n_labels).astype(np.int64)
    if n_labels >= 2 and rng.random() < 0.45:
        ch[rng.integers(n_labels)] = 0
        tags.add("zero_charge")
    if n_labels >= 3 and rng.random() < 0.25:
        ch[rng.integers(n_labels)] = -1
        tags.add("forbidden")
    return ch


def _finish_edges(rng: np.random.Generator, b: _Builder, n_labels: int, tags: set[str]) -> None:
    """Parallel edges (other label / time), rare self-loops, one-way reversals: in place."""
    m = len(b.t)
    if m and rng.random() < 0.55:
        for _ in range(int(rng.integers(1, 4))):
            e = int(rng.integers(m))
            lab = int(rng.integers(-1, n_labels))
            w = b.w[e] * float(rng.choice((0.5, 1.0, 1.0, 1.5, 2.0)))  # 1.0: a tie
            b.add(b.t[e], b.h[e], w, lab)
        tags.add("parallel")
    if m and rng.random() < 0.1:
        u = b.t[int(rng.integers(m))]
        b.add(u, u, 1.0, int(rng.integers(-1, n_labels)))
        tags.add("self_loop")


def grid_case(seed: int) -> Case:
    """Constituency-like instance on a grid; see the module docstring."""
    rng = np.random.default_rng(seed)
    tags: set[str] = set()
    rows, cols = GRID_SHAPES[int(rng.integers(len(GRID_SHAPES)))]
    if rng.random() < 0.5:
        rows, cols = cols, rows
    n = rows * cols
    floaty = rng.random() < 0.35
    if floaty:
        tags.add("float_times")

    def node(r: int, c: int) -> int:
        return r * cols + c

    # Regions: nearest seed cell (Manhattan), random tie-break.
    k = int(rng.integers(3, 8))
    seeds = rng.choice(n, size=min(k, n), replace=False)
    noise = rng.random(n) * 0.5
    region = np.empty(n, dtype=np.int64)
    for v in range(n):
        r, c = divmod(v, cols)
        d = [
            abs(r - s // cols) + abs(c - s % cols) + noise[(v + i) % n] for i, s in enumerate(seeds)
        ]
        region[v] = int(np.argmin(d))
    n_labels = len(seeds)
    # Merge two regions into one label: a constituency in two pieces (re-entry bait).
    region_label = np.arange(n_labels)
    if n_labels >= 3 and rng.random() < 0.6:
        i, j = rng.choice(n_labels, size=2, replace=False)
        region_label[j] = region_label[i]
        tags.add("merged_label")

    b = _Builder()
    for r in range(rows):
        for c in range(cols):
            for dr, dc in ((0, 1), (1, 0)):
                r2, c2 = r + dr, c + dc
                if r2 >= rows or c2 >= cols:
                    continue
                u, v = node(r, c), node(r2, c2)
                x = rng.random()
                if x < 0.05:
                    continue  # no road
                # Label by the midpoint's region: the tail's or the head's cell.
                lab = int(region_label[region[u] if rng.random() < 0.5 else region[v]])
                if rng.random() < 0.07:
                    lab = -1  # an exempt local road
                w = _time(rng, floaty)
                if x < 0.17:  # one-way
                    if rng.random() < 0.5:
                        u, v = v, u
                    b.add(u, v, w, lab)
                    tags.add("one_way")
                else:
                    b.add(u, v, w, lab)
                    b.add(v, u, w if rng.random() < 0.6 else _time(rng, floaty), lab)
    # A few diagonal roads (more alternative routes), labelled by one end.
    for _ in range(int(rng.integers(0, 4))):
        r, c = int(rng.integers(rows - 1)), int(rng.integers(cols - 1))
        u, v = (
            (node(r, c), node(r + 1, c + 1))
            if rng.random() < 0.5
            else (node(r, c + 1), node(r + 1, c))
        )
        lab = int(region_label[region[u] if rng.random() < 0.5 else region[v]])
        w = _time(rng, floaty) * 1.4
        b.add(u, v, w, lab)
        if rng.random() < 0.7:
            b.add(v, u, w, lab)
    # Enclave: one edge far from its region carries that region's label.
    if b.t and rng.random() < 0.3:
        e = int(rng.integers(len(b.t)))
        b.lab[e] = int(rng.integers(n_labels))
        tags.add("enclave")
    # Motorway: exempt, fast, along a row (or column), junctions only at a few grid nodes.
    if rng.random() < 0.65:
        tags.add("motorway")
        horizontal = rng.random() < 0.5 and cols >= 3 or rows < 3
        line = int(rng.integers(rows if horizontal else cols))
        length = cols if horizontal else rows
        nj = int(min(length, rng.integers(2, 4)))
        junc = np.sort(rng.choice(length, size=nj, replace=False))
        pts = [node(line, j) if horizontal else node(j, line) for j in junc.tolist()]
        two_way = rng.random() < 0.75
        via = n < 14 and rng.random() < 0.4  # an off-grid interchange between two junctions
        for a, z, span in zip(pts, pts[1:], np.diff(junc).tolist(), strict=False):
            w = max(0.5, round(0.9 * span * (1.0 if not floaty else rng.uniform(0.8, 1.2)), 1))
            if via and n < 14:
                mid = n
                n += 1
                tags.add("interchange")
                b.add(a, mid, w / 2, -1)
                b.add(mid, z, w / 2, -1)
                if two_way:
                    b.add(z, mid, w / 2, -1)
                    b.add(mid, a, w / 2, -1)
            else:
                b.add(a, z, w, -1)
                if two_way:
                    b.add(z, a, w, -1)
        if not two_way:
            tags.add("one_way")
        if rng.random() < 0.5:
            # The motorway leaves and re-enters one constituency: local roads at its first and
            # last junctions share a label (charge-per-entry would pay it twice).
            lab = int(rng.integers(n_labels))
            ends = {pts[0], pts[-1]}
            for e in range(len(b.t)):
                if b.lab[e] != -1 and (b.t[e] in ends or b.h[e] in ends) and rng.random() < 0.8:
                    b.lab[e] = lab
            tags.add("motorway_reentry")
    _finish_edges(rng, b, n_labels, tags)
    charge = _charges(rng, n_labels, tags)

    corners = [0, cols - 1, node(rows - 1, 0), node(rows - 1, cols - 1)]
    if rng.random() < 0.5:
        s, t = (int(x) for x in rng.choice(corners, size=2, replace=False))
    else:
        s, t = (int(x) for x in rng.choice(n, size=2, replace=False))
    case = _make("grid", seed, n, b, charge, s, t, tags)
    return _maybe_unreachable(rng, case)


def random_case(seed: int) -> Case:
    """Uniform random digraph with random labels; 6-14 nodes, sparse enough to brute force."""
    rng = np.random.default_rng(seed)
    tags: set[str] = set()
    n = int(rng.integers(6, 15))
    m = int(n * rng.uniform(1.8, 4.0 if n <= 9 else 2.8))
    n_labels = int(rng.integers(2, 8))
    floaty = rng.random() < 0.35
    if floaty:
        tags.add("float_times")
    b = _Builder()
    for _ in range(m):
        u, v = (int(x) for x in rng.choice(n, size=2, replace=False))
        lab = -1 if rng.random() < 0.2 else int(rng.integers(n_labels))
        b.add(u, v, _time(rng, floaty), lab)
    s, t = (int(x) for x in rng.choice(n, size=2, replace=False))
    if rng.random() < 0.6:  # a slow charged backbone s -> ... -> t, so t is mostly reachable
        mids = [int(x) for x in rng.permutation(n) if x not in (s, t)][: int(rng.integers(1, 4))]
        for a, z in zip([s, *mids], [*mids, t], strict=True):
            b.add(a, z, 2.0 * _time(rng, floaty), int(rng.integers(n_labels)))
    if rng.random() < 0.4:  # a fast exempt chain: a crude motorway
        tags.add("motorway")
        chain = rng.choice(n, size=int(rng.integers(2, 4)), replace=False).tolist()
        for a, z in itertools.pairwise(chain):
            b.add(a, z, 1.0, -1)
    _finish_edges(rng, b, n_labels, tags)
    charge = _charges(rng, n_labels, tags)
    return _maybe_unreachable(rng, _make("random", seed, n, b, charge, s, t, tags))


def corridor_case(seed: int) -> Case:
    """A road through a row of constituencies where one of them comes back (re-entry), with an
    exempt motorway between its two pieces and random chords (bypasses) with their own labels.
    """
    rng = np.random.default_rng(seed)
    tags: set[str] = {"motorway", "merged_label", "corridor"}
    length = int(rng.integers(5, 11))
    floaty = rng.random() < 0.35
    if floaty:
        tags.add("float_times")
    n_labels = int(rng.integers(3, 6))
    # Segment labels: A first and last, others in between, sometimes A again in the middle.
    inner = rng.integers(1, n_labels, size=length - 1)
    seg = np.r_[0, 0, inner[: max(0, length - 5)], 0, 0][: length - 1]
    if rng.random() < 0.3:
        seg[len(seg) // 2] = 0
    b = _Builder()
    for i in range(length - 1):
        w = _time(rng, floaty)
        b.add(i, i + 1, w, int(seg[i]))
        if rng.random() < 0.85:
            b.add(i + 1, i, w, int(seg[i]))
        else:
            tags.add("one_way")
    n = length
    j1, j2 = (1, length - 2) if rng.random() < 0.8 else (0, length - 1)
    w_mw = max(1.0, round(0.5 * (j2 - j1) * (1.0 if not floaty else rng.uniform(0.8, 1.2)), 1))
    if n < 14 and rng.random() < 0.4:
        b.add(j1, n, w_mw / 2, -1)
        b.add(n, j2, w_mw / 2, -1)
        n += 1
        tags.add("interchange")
    else:
        b.add(j1, j2, w_mw, -1)
    for _ in range(int(rng.integers(1, 5))):  # bypasses with their own (often new) labels
        u, v = sorted(int(x) for x in rng.choice(length, size=2, replace=False))
        lab = int(rng.integers(0, n_labels))
        b.add(u, v, _time(rng, floaty) * (v - u) * 0.7, lab)
    # A direct alternative in one other constituency B, often dearer than A but cheaper than 2A.
    b_lab = n_labels
    n_labels += 1
    b.add(0, length - 1, _time(rng, floaty) * length * float(rng.choice((0.3, 0.6, 1.0))), b_lab)
    _finish_edges(rng, b, n_labels, tags)
    charge = _charges(rng, n_labels, tags)
    charge[0] = int(rng.choice((100, 100, 200)))  # A itself is charged: that is the point
    charge[b_lab] = int(rng.choice((150, 150, 300, 100)))
    s, t = (
        (0, length - 1)
        if rng.random() < 0.7
        else tuple(int(x) for x in rng.choice(n, size=2, replace=False))
    )
    return _maybe_unreachable(rng, _make("corridor", seed, n, b, charge, s, t, tags))


def _make(
    kind: str,
    seed: int,
    n: int,
    b: _Builder,
    charge: npt.NDArray[np.int64],
    s: int,
    t: int,
    tags: set[str],
) -> Case:
    return Case(
        kind=kind,
        seed=seed,
        n_nodes=n,
        tails=np.asarray(b.t, dtype=np.int64),
        heads=np.asarray(b.h, dtype=np.int64),
        time_s=np.asarray(b.w, dtype=np.float64),
        label=np.asarray(b.lab, dtype=np.int32),
        label_charge=charge,
        source=s,
        target=t,
        tags=frozenset(tags),
    )


def _maybe_unreachable(rng: np.random.Generator, case: Case) -> Case:
    """Sometimes cut the target off: drop its in-edges, or put them all in a forbidden label."""
    if rng.random() >= 0.1:
        return case
    into = case.heads == case.target
    if rng.random() < 0.5:
        keep = ~into
        return Case(
            case.kind,
            case.seed,
            case.n_nodes,
            case.tails[keep],
            case.heads[keep],
            case.time_s[keep],
            case.label[keep],
            case.label_charge,
            case.source,
            case.target,
            case.tags | {"unreachable"},
        )
    charge = np.r_[case.label_charge, -1].astype(np.int64)
    label = case.label.copy()
    label[into] = charge.shape[0] - 1
    return Case(
        case.kind,
        case.seed,
        case.n_nodes,
        case.tails,
        case.heads,
        case.time_s,
        label,
        charge,
        case.source,
        case.target,
        case.tags | {"unreachable", "forbidden"},
    )


def make_case(seed: int) -> Case:
    """Half grid (constituency-like), a third fully random, a sixth corridor (re-entry)."""
    if seed % 6 == 5:
        return corridor_case(seed)
    return grid_case(seed) if seed % 3 else random_case(seed)


def cases(n: int, start: int = 0) -> list[Case]:
    """``n`` cases with seeds ``start .. start + n - 1``."""
    return [make_case(s) for s in range(start, start + n)]


def big_grid_case(seed: int, rows: int = 25, cols: int = 25, n_regions: int = 12) -> Case:
    """A larger constituency grid (too big to brute force) for the MILP cross-checks.

    Same ingredients as :func:`grid_case` at scale: region labels with two regions merged, a
    motorway with a junction every few nodes, one-way streets, parallel edges, a free label and
    (for odd seeds) a forbidden one.  Source and target are opposite corners.
    """
    rng = np.random.default_rng(seed)
    tags = {"motorway", "merged_label", "zero_charge", "parallel", "one_way"}
    n = rows * cols
    seeds = rng.choice(n, size=n_regions, replace=False)
    rr, cc = np.divmod(np.arange(n), cols)
    sr, sc = np.divmod(seeds, cols)
    d = np.abs(rr[:, None] - sr[None, :]) + np.abs(cc[:, None] - sc[None, :])
    region = np.argmin(d + rng.random((n, n_regions)) * 0.5, axis=1)
    region_label = np.arange(n_regions)
    region_label[1] = region_label[2]  # one constituency in two pieces
    b = _Builder()
    for r in range(rows):
        for c in range(cols):
            u = r * cols + c
            for dr, dc in ((0, 1), (1, 0)):
                if r + dr < rows and c + dc < cols:
                    v = (r + dr) * cols + c + dc
                    lab = int(region_label[region[u] if rng.random() < 0.5 else region[v]])
                    x = rng.random()
                    if x < 0.1:
                        b.add(u, v, float(rng.integers(20, 60)), lab)  # one-way
                    else:
                        b.add(u, v, float(rng.integers(20, 60)), lab)
                        b.add(v, u, float(rng.integers(20, 60)), lab)
    mid = rows // 2
    step = max(2, cols // 5)
    for c in range(0, cols - step, step):  # motorway along the middle row
        a, z = mid * cols + c, mid * cols + c + step
        b.add(a, z, 20.0 * step, -1)
        b.add(z, a, 20.0 * step, -1)
    for _ in range(max(1, len(b.t) // 50)):  # parallel edges with another label
        e = int(rng.integers(len(b.t)))
        b.add(
            b.t[e],
            b.h[e],
            b.w[e] * float(rng.choice((0.5, 1.0, 2.0))),
            int(rng.integers(-1, n_regions)),
        )
    charge = rng.choice(CHARGES, size=n_regions).astype(np.int64)
    charge[0] = 0
    ends = {int(region_label[region[0]]), int(region_label[region[n - 1]])}
    if seed % 2:  # forbid a constituency away from both ends
        charge[next(x for x in range(n_regions) if x not in ends and x != region_label[2])] = -1
        tags.add("forbidden")
    return _make("big_grid", seed, n, b, charge, 0, n - 1, tags)


__all__ = [
    "Case",
    "big_grid_case",
    "cases",
    "corridor_case",
    "grid_case",
    "make_case",
    "random_case",
]
