"""Property tests of the whole pipeline on GENERATED small maps (issue 12 item 10).

Hypothesis draws a small grid of junctions 100 m apart, roads between them (class, one-way,
sometimes a low bridge the coach cannot pass, sometimes a fast bypass with no junctions), and
constituencies as rectangles of the grid, some of them in two separate pieces (so a route can leave
and re-enter one); plus charges, exempt classes and two stops.  The map is written as a real
``.osm`` file and built with :func:`routeplan.network.build_network`, then planned with
:func:`routeplan.routing.plan_leg`.  The properties:

(a) the ledger recomputed from the returned pieces equals the reported charge (and an independent
    count of distinct charged constituencies agrees);
(b) the cheapest route costs no more than the fastest, takes no less time, and the fastest is as
    fast as a plain Dijkstra (networkx) on the same network;
(c) exempting one more road class, or freeing a constituency (override 0), never raises the
    optimum charge;
(d) hard-avoiding a constituency never lowers it (or makes the leg infeasible), and the route then
    drives no charged road inside it;
(e) the same inputs give identical routes, twice on one network and on a rebuilt one;
(f) one-way roads are never driven against their direction as drawn, and a road with a
    ``maxheight`` below the coach never appears in the network or a route.

Examples are derandomised, so CI sees the same maps every run.
"""

from __future__ import annotations

import itertools
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import shapely
from drawn import cell_box, grid_nodes, write_osm
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from routeplan.boundaries import Boundaries, from_polygons
from routeplan.errors import DataError, InfeasibleError, NoRouteError
from routeplan.ledger import build_ledger
from routeplan.locate import Stop
from routeplan.network import Network, build_network
from routeplan.policy import AVOID, ExpensePolicy
from routeplan.routing import Leg, Route, plan_leg
from routeplan.vehicle import CLASS_NAMES, CoachProfile

CLASSES = ("motorway", "trunk", "primary", "secondary", "tertiary", "residential", "unclassified")
ONEWAY = ("", "", "", "", "no", "yes", "-1")  # "" = untagged (a motorway is then one-way by default)
LOW = "3.0"  # maxheight below the 3.9 m coach
CHARGES = (0, 5000, 46100, 46100, 100000)
NODE_NAMES = "abcdefghijklmnopqrstuvwxyz"

PROPS = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class Road:
    u: str
    v: str
    highway: str
    oneway: str
    low: bool

    @property
    def tags(self) -> dict[str, str]:
        t = {"highway": self.highway, "name": f"{self.u}{self.v} road"}
        if self.oneway:
            t["oneway"] = self.oneway
        if self.low:
            t["maxheight"] = LOW
        return t

    def direction(self) -> int:
        """+1 only u->v, -1 only v->u, 0 both ways: OSM's rule, written independently here."""
        if self.oneway == "yes":
            return 1
        if self.oneway == "-1":
            return -1
        if self.oneway == "no":
            return 0
        return 1 if self.highway in {"motorway", "motorway_link"} else 0


@dataclass(frozen=True)
class DrawnMap:
    rows: int
    cols: int
    roads: tuple[Road, ...]
    cuts: tuple[int, ...]  # column boundaries of the seats, at column c + 0.5
    row_cuts: tuple[int, ...]  # row boundaries, at row r + 0.5
    strip_label: tuple[int, ...]  # seat of each rectangle, row-major (repeats: one seat in pieces)
    charges: tuple[int, ...]  # pence, per constituency
    exempt: frozenset[str]
    charge_stops: bool
    stops: tuple[tuple[int, int], tuple[int, int]]  # (row, column): the nearest network node

    def picture(self) -> str:
        return "\n".join(" ".join(NODE_NAMES[r * self.cols + c] for c in range(self.cols)) for r in range(self.rows))

    @property
    def n_labels(self) -> int:
        return max(self.strip_label) + 1

    def boundaries(self) -> Boundaries:
        xs = [-1.0, *(c + 0.5 for c in self.cuts), self.cols + 0.0]
        ys = [-1.0, *(r + 0.5 for r in self.row_cuts), self.rows + 0.0]
        parts: dict[int, list[shapely.Polygon]] = {}
        for i, lab in enumerate(self.strip_label):
            r, c = divmod(i, len(xs) - 1)
            parts.setdefault(lab, []).append(cell_box(xs[c], ys[r], xs[c + 1], ys[r + 1]))
        labs = sorted(parts)
        return from_polygons("drawn", [f"C{k}" for k in labs], [f"Seat {k}" for k in labs], [shapely.union_all(parts[k]) for k in labs])

    def policy(self) -> ExpensePolicy:
        return ExpensePolicy(exempt_classes=self.exempt, charge_stops=self.charge_stops, overrides={f"C{k}": self.charges[k] for k in range(self.n_labels)})


@st.composite
def drawn_maps(draw: st.DrawFn) -> DrawnMap:
    rows = draw(st.integers(2, 4))
    cols = draw(st.integers(3, 6))

    def name(r: int, c: int) -> str:
        return NODE_NAMES[r * cols + c]

    pairs = []
    for r in range(rows):
        for c in range(cols):
            if c + 1 < cols:
                pairs.append((name(r, c), name(r, c + 1)))
            if r + 1 < rows:
                pairs.append((name(r, c), name(r + 1, c)))
    diag = [(name(r, c), name(r + 1, c + 1)) for r in range(rows - 1) for c in range(cols - 1)]
    pairs += draw(st.lists(st.sampled_from(diag), max_size=2, unique=True))
    # Bypasses: a road along a row with no junction between its ends (a motorway, often).
    span = st.tuples(st.integers(0, rows - 1), st.integers(0, cols - 3), st.integers(2, cols - 1))
    for r, c0, k in draw(st.lists(span, max_size=2)):
        pairs.append((name(r, c0), name(r, min(cols - 1, c0 + k))))
    road = st.tuples(st.sampled_from(CLASSES), st.sampled_from(ONEWAY), st.integers(0, 9))
    roads = []
    for u, v in pairs:
        hw, ow, x = draw(road)
        if x == 0:
            continue  # no road here
        roads.append(Road(u, v, hw, ow, low=x == 1))
    cuts = tuple(sorted(draw(st.sets(st.integers(0, cols - 2), min_size=max(1, cols - 3), max_size=cols - 1))))
    row_cuts = tuple(sorted(draw(st.sets(st.integers(0, rows - 2), min_size=1, max_size=rows - 1))))
    n_strips = (len(cuts) + 1) * (len(row_cuts) + 1)
    strip_label = draw(st.lists(st.integers(0, n_strips - 1), min_size=n_strips, max_size=n_strips))
    relabel = {lab: i for i, lab in enumerate(dict.fromkeys(strip_label))}  # labels 0..k-1 in order
    labels = tuple(relabel[x] for x in strip_label)
    charges = tuple(draw(st.lists(st.sampled_from(CHARGES), min_size=len(relabel), max_size=len(relabel))))
    exempt = frozenset(draw(st.sets(st.sampled_from(("motorway", "motorway", "trunk", "primary", "residential")), max_size=2)))
    charge_stops = draw(st.booleans())
    row = st.integers(0, rows - 1)
    # Mostly across the map (through several seats), sometimes anywhere.
    c0 = draw(st.one_of(st.just(0), st.integers(0, cols - 1)))
    c1 = draw(st.one_of(st.just(cols - 1), st.integers(0, cols - 1)))
    stops = ((draw(row), c0), (draw(row), c1))
    return DrawnMap(rows, cols, tuple(roads), cuts, row_cuts, labels, charges, exempt, charge_stops, stops)


@dataclass
class Built:
    drawn: DrawnMap
    path: Path
    bnd: Boundaries
    net: Network
    origin: Stop
    destination: Stop


_TMP = Path(tempfile.mkdtemp(prefix="routeplan-props-"))
_COUNTER = itertools.count()


def build(m: DrawnMap) -> Built:
    path = _TMP / f"map-{next(_COUNTER)}.osm"
    write_osm(path, m.picture(), [(r.u + r.v, r.tags) for r in m.roads])
    bnd = m.boundaries()
    try:
        net = build_network(path, bnd, cache=False)
    except DataError:  # a drawn map with no road a coach may use at all
        assume(False)
        raise
    grid = grid_nodes(m.picture())
    s, t = (nearest_node(net, *grid[NODE_NAMES[r * m.cols + c]]) for r, c in m.stops)
    assume(s != t)
    return Built(m, path, bnd, net, stop(net, bnd, s), stop(net, bnd, t))


def nearest_node(net: Network, lat: float, lon: float) -> int:
    d = (net.pieces.node_lat - lat) ** 2 + ((net.pieces.node_lon - lon) * 0.6225) ** 2
    return int(np.argmin(d))


def stop(net: Network, bnd: Boundaries, n: int) -> Stop:
    lat, lon = float(net.pieces.node_lat[n]), float(net.pieces.node_lon[n])
    cell, how = bnd.cell_at(lat, lon)
    return Stop(f"node {n}", lat, lon, n, 0.0, "node", cell, how)


def plan(b: Built, policy: ExpensePolicy, **kw: object) -> Leg:
    return plan_leg(b.net, b.origin, b.destination, policy, **kw)  # type: ignore[arg-type]


def charged_cells(net: Network, route: Route, policy: ExpensePolicy) -> set[int]:
    """Constituencies whose non-exempt roads the route drives on (independent of the ledger)."""
    exempt = {CLASS_NAMES.index(c) for c in policy.exempt_classes}
    pc = net.pieces
    return {int(pc.cell[p]) for p in route.pieces if pc.cell[p] >= 0 and int(net.way_class[pc.way[p]]) not in exempt}


def open_roads(net: Network, policy: ExpensePolicy, avoided: int) -> nx.DiGraph:
    """The directed road graph without the charged (non-exempt) roads of one seat."""
    exempt = {CLASS_NAMES.index(c) for c in policy.exempt_classes}
    pc = net.pieces
    g = nx.DiGraph()
    g.add_nodes_from(range(net.n_nodes))
    for p in range(pc.a.shape[0]):
        if pc.cell[p] == avoided and int(net.way_class[pc.way[p]]) not in exempt:
            continue
        if pc.fwd[p]:
            g.add_edge(int(pc.a[p]), int(pc.b[p]))
        if pc.bwd[p]:
            g.add_edge(int(pc.b[p]), int(pc.a[p]))
    return g


def independent_cost(net: Network, route: Route, stops: tuple[Stop, ...], policy: ExpensePolicy) -> int:
    charges = policy.label_charges(net.cell_codes, net.cell_names)
    cells = charged_cells(net, route, policy) | ({s.cell for s in stops if s.cell >= 0} if policy.charge_stops else set())
    return sum(int(charges[c]) for c in cells if charges[c] > 0)


def key(r: Route) -> tuple[object, ...]:
    return (r.pieces, r.forward, r.cost_pence, r.time_s, r.length_m, r.ledger)


# -- (a) (b) (f): one leg ------------------------------------------------------------------------

@given(drawn_maps())
@PROPS
def test_ledger_order_and_legality(m: DrawnMap) -> None:
    b = build(m)
    net, pol = b.net, m.policy()
    leg = plan(b, pol, alternatives=True)
    stops = leg.stops
    pc = net.pieces
    roads = {i + 1: r for i, r in enumerate(m.roads)}  # OSM way id -> drawn road
    # (f) no low bridge anywhere in the network, so in no route.
    low_ids = {w for w, r in roads.items() if r.low}
    assert not low_ids & set(net.way_id[pc.way].tolist()), "a way lower than the coach is in the network"
    for r in (leg.cheapest, leg.fastest, *leg.front):
        # (a) the ledger is a function of the pieces, and counts each charged seat once.
        assert build_ledger(net, r.pieces, stops, pol) == r.ledger
        assert r.cost_pence == r.ledger.total_pence == independent_cost(net, r, stops, pol)
        # (f) contiguous, legal directions, never against a one-way as drawn.
        node, t = b.origin.node, 0.0
        for p, fw in zip(r.pieces, r.forward, strict=True):
            a, z = (int(pc.a[p]), int(pc.b[p])) if fw else (int(pc.b[p]), int(pc.a[p]))
            assert a == node, "route pieces are not contiguous"
            assert pc.fwd[p] if fw else pc.bwd[p], "route drives a piece the network marks one-way the other way"
            road = roads[int(net.way_id[pc.way[p]])]
            assert not road.low
            want = road.direction()
            if want:
                uu, vv = (road.u, road.v) if want > 0 else (road.v, road.u)
                pos = {n: np.array(xy) for n, xy in grid_nodes(m.picture()).items()}
                drive = np.array([pc.node_lat[z] - pc.node_lat[a], pc.node_lon[z] - pc.node_lon[a]])
                assert float(drive @ (pos[vv] - pos[uu])) > 0, f"one-way {uu}->{vv} ({road.highway}) driven backwards"
            node, t = z, t + net.edge_time_s(p, fw)
        assert node == b.destination.node
        assert t == pytest.approx(r.time_s, rel=1e-9, abs=1e-9)
    # (b) the trade-off goes the right way, and the fastest is really the fastest.
    assert leg.cheapest.cost_pence <= leg.fastest.cost_pence
    assert leg.cheapest.time_s >= leg.fastest.time_s * (1 - 1e-12)
    g = net.to_networkx()
    best = nx.shortest_path_length(g, b.origin.node, b.destination.node, weight="travel_time")
    assert leg.fastest.time_s == pytest.approx(best, rel=1e-9, abs=1e-9)
    assert leg.front[0].cost_pence == leg.cheapest.cost_pence
    assert all(r.cost_pence >= leg.cheapest.cost_pence and r.time_s >= leg.fastest.time_s * (1 - 1e-12) for r in leg.front)


# -- (c) (d): the policy moves the optimum the right way -------------------------------------------

@given(drawn_maps(), st.sampled_from(CLASSES), st.integers(0, 9))
@PROPS
def test_policy_monotonicity(m: DrawnMap, extra: str, seat: int) -> None:
    b = build(m)
    pol = m.policy()
    base = plan(b, pol).cheapest.cost_pence
    seat %= m.n_labels
    code = f"C{seat}"
    # (c) one more exempt class, or a seat made free: never dearer.
    more = pol.with_(exempt_classes=pol.exempt_classes | {extra})
    assert plan(b, more).cheapest.cost_pence <= base
    free = pol.with_(overrides={**pol.overrides, code: 0})
    assert plan(b, free).cheapest.cost_pence <= base
    # (d) a seat hard-avoided: never cheaper, or no route at all; and its charged roads unused.
    avoid = pol.with_(overrides={**pol.overrides, code: AVOID})
    cell = b.net.cell_codes.index(code)
    try:
        leg = plan(b, avoid)
    except (InfeasibleError, NoRouteError):
        # Only when it really is: a stop stands in the seat, or every route drives its roads.
        stuck = cell in {b.origin.cell, b.destination.cell} or not nx.has_path(open_roads(b.net, avoid, cell), b.origin.node, b.destination.node)
        assert stuck, f"avoiding {code} reported infeasible, but a route around it exists"
        return
    assert leg.cheapest.cost_pence >= base
    for r in (leg.cheapest, leg.fastest):
        assert cell not in charged_cells(b.net, r, avoid), f"route drives charged roads in avoided {code}"


# -- (e) determinism -----------------------------------------------------------------------------

@given(drawn_maps())
@settings(PROPS, max_examples=30)
def test_deterministic(m: DrawnMap) -> None:
    b = build(m)
    pol = m.policy()
    one = plan(b, pol, alternatives=True)
    two = plan(b, pol, alternatives=True)
    again = build_network(b.path, m.boundaries(), cache=False)
    for name in ("a", "b", "fwd", "bwd", "way", "cell", "length_m"):
        assert np.array_equal(getattr(b.net.pieces, name), getattr(again.pieces, name)), name
    three = plan_leg(again, b.origin, b.destination, pol, alternatives=True)
    for other in (two, three):
        assert key(one.cheapest) == key(other.cheapest)
        assert key(one.fastest) == key(other.fastest)
        assert [key(r) for r in one.front] == [key(r) for r in other.front]


def test_generator_reaches_the_interesting_cases() -> None:
    """The drawn maps do contain what the properties are about (else they would pass vacuously)."""
    seen: dict[str, int] = dict.fromkeys(("saving", "low_bridge", "one_way_used", "two_piece_seat", "infeasible_avoid"), 0)

    @given(drawn_maps())
    @settings(PROPS, max_examples=60)
    def look(m: DrawnMap) -> None:
        b = build(m)
        pol = m.policy()
        leg = plan(b, pol)
        seen["saving"] += leg.saving_pence > 0
        seen["low_bridge"] += any(r.low for r in m.roads)
        roads = {i + 1: r for i, r in enumerate(m.roads)}
        seen["one_way_used"] += any(roads[int(b.net.way_id[b.net.pieces.way[p]])].direction() for p in leg.cheapest.pieces)
        seen["two_piece_seat"] += len(set(m.strip_label)) < len(m.strip_label)
        try:
            plan(b, pol.with_(overrides={**pol.overrides, "C0": AVOID}))
        except (InfeasibleError, NoRouteError):
            seen["infeasible_avoid"] += 1

    look()
    assert all(v > 0 for v in seen.values()), seen


def test_profile_is_taller_than_the_low_bridges() -> None:
    assert CoachProfile().height_m > float(LOW) and math.isfinite(CoachProfile().height_m)
