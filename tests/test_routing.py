"""Integration tests on the real Newport extract (M4 J27-J29) and Rutland (A1 trunk)."""

import numpy as np
import pytest

from routeplan.errors import InfeasibleError, LocateError
from routeplan.ledger import build_ledger
from routeplan.locate import resolve
from routeplan.policy import AVOID, ExpensePolicy
from routeplan.routing import plan_leg

pytestmark = pytest.mark.integration

# Rogerstone, High Cross and Bassaleg lie north-west of the M4 (J27-J29); Marshfield, Maesglas,
# Duffryn and Stow Park south-east of it.  Duffryn -> Stow Park has a known saving in 2024.
PAIRS = [("Rogerstone", "Marshfield"), ("Maesglas", "High Cross"), ("Bassaleg", "Duffryn"), ("Duffryn", "Stow Park"), ("Newport", "Coedkernew")]


def _validate(net, route, stops, policy, already=()):
    """Recompute a route's time, length and ledger from its pieces (like networkx's validate_path)."""
    pc = net.pieces
    node = stops[0].node
    t = 0.0
    for p, fw in zip(route.pieces, route.forward, strict=True):
        a, b = (pc.a[p], pc.b[p]) if fw else (pc.b[p], pc.a[p])
        assert a == node, "route pieces are not contiguous"
        assert (pc.fwd[p] if fw else pc.bwd[p]), "route drives a one-way piece the wrong way"
        node = b
        t += net.edge_time_s(p, fw)
    assert node == stops[-1].node
    assert t == pytest.approx(route.time_s, rel=1e-9)
    assert pc.length_m[list(route.pieces)].sum() == pytest.approx(route.length_m, rel=1e-9)
    assert build_ledger(net, route.pieces, stops, policy, already_charged=already) == route.ledger


@pytest.mark.parametrize("which", ["newport2024", "newport2010"])
@pytest.mark.parametrize(("a", "z"), PAIRS)
def test_cheapest_vs_fastest(request, which, a, z):
    net = request.getfixturevalue(which)
    bnd = request.getfixturevalue("b2024" if which.endswith("2024") else "b2010")
    o, d = resolve(a, net, bnd), resolve(z, net, bnd)
    pol = ExpensePolicy()
    leg = plan_leg(net, o, d, pol, alternatives=True)
    assert leg.cheapest.cost_pence <= leg.fastest.cost_pence
    assert leg.cheapest.time_s >= leg.fastest.time_s - 1e-9
    for r in (leg.cheapest, leg.fastest, *leg.front):
        _validate(net, r, leg.stops, pol)
    assert leg.front[0].cost_pence == leg.cheapest.cost_pence
    assert leg.front[0].time_s == pytest.approx(leg.cheapest.time_s)
    costs = [r.cost_pence for r in leg.front]
    times = [r.time_s for r in leg.front]
    assert costs == sorted(costs) and all(np.diff(times) < 0)
    # Every route charges the stops' own constituencies.
    for st in leg.stops:
        assert net.cell_codes[st.cell] in {r.code for r in leg.cheapest.ledger.charged}


def test_known_saving_2024(newport2024, b2024):
    """On the 2024 map the fastest Duffryn -> Stow Park route runs through Newport East (the new
    boundary runs along Stow Hill); the cheapest stays in Newport West and Islwyn."""
    leg = plan_leg(newport2024, resolve("Duffryn", newport2024, b2024), resolve("Stow Park", newport2024, b2024))
    assert leg.saving_pence == 46100
    assert 0 < leg.extra_time_s < 120
    assert [r.name for r in leg.cheapest.ledger.charged] == ["Newport West and Islwyn"]
    east = next(r for r in leg.fastest.ledger.charged if r.name == "Newport East")
    assert east.road_km > 0.5 and any("Stow Park Avenue" in why for why in east.reasons)
    # Without the motorway exemption the M4 is no cheaper than local roads.
    strict = plan_leg(newport2024, leg.stops[0], leg.stops[1], ExpensePolicy(exempt_classes=frozenset()))
    assert strict.cheapest.cost_pence >= leg.cheapest.cost_pence


def test_limits_and_value_of_time(newport2024, b2024):
    o, d = resolve("Duffryn", newport2024, b2024), resolve("Stow Park", newport2024, b2024)
    free = plan_leg(newport2024, o, d)
    assert free.extra_time_s > 0
    tight = plan_leg(newport2024, o, d, max_extra_minutes=free.extra_time_s / 120)  # half the extra time
    assert tight.cheapest.cost_pence == tight.fastest.cost_pence
    assert tight.cheapest.time_s <= tight.limit_time_s
    loose = plan_leg(newport2024, o, d, max_detour_percent=50)
    assert loose.cheapest.cost_pence == free.cheapest.cost_pence
    # Time worth £1m an hour: take the fastest; worth nothing: take the cheapest.
    rich = plan_leg(newport2024, o, d, ExpensePolicy(value_of_time_pence_per_hour=100_000_000))
    assert rich.cheapest.time_s == pytest.approx(rich.fastest.time_s)
    poor = plan_leg(newport2024, o, d, ExpensePolicy(value_of_time_pence_per_hour=0))
    assert poor.cheapest.cost_pence == free.cheapest.cost_pence


def test_already_charged_and_avoid(newport2024, b2024):
    o, d = resolve("Duffryn", newport2024, b2024), resolve("Stow Park", newport2024, b2024)
    east = "W07000104"
    assert newport2024.cell_names[newport2024.cell_codes.index(east)] == "Newport East"
    paid = plan_leg(newport2024, o, d, already_charged=(east,))
    assert paid.cheapest.cost_pence == 46100  # only the stops' constituency is charged
    assert paid.cheapest.time_s == pytest.approx(paid.fastest.time_s)
    avoid = plan_leg(newport2024, o, d, ExpensePolicy(overrides={east: AVOID}))
    assert "Newport East" not in {r.name for r in avoid.fastest.ledger.rows}
    with pytest.raises(InfeasibleError, match="hard-avoid"):
        plan_leg(newport2024, o, d, ExpensePolicy(overrides={"Newport West and Islwyn": AVOID}))


def test_locate_errors(newport2024, b2024):
    with pytest.raises(LocateError, match="unknown place"):
        resolve("Rivermead Leisure Centre", newport2024, b2024)
    with pytest.raises(LocateError, match="ambiguous"):
        resolve("Tesco", newport2024, b2024)
    with pytest.raises(LocateError, match="from the nearest road"):
        resolve("51.40,-3.00", newport2024, b2024)  # in the Bristol Channel
    with pytest.raises(LocateError, match="lon,lat"):
        resolve("-3.0,51.58", newport2024, b2024)
    st = resolve("51.5675,-3.0200", newport2024, b2024)
    assert st.snap_m < 750 and st.cell >= 0


def test_rutland_trunk_policy(rutland2024, b2024):
    """Rutland has no motorway; the A1 is trunk.  Making trunk exempt must never cost more, and the
    exempt kilometres must then appear in the ledger as A1."""
    o = resolve("52.6705,-0.7270", rutland2024, b2024)  # Oakham
    d = resolve("52.6520,-0.4810", rutland2024, b2024)  # Stamford, by the A1
    base = plan_leg(rutland2024, o, d)
    trunk = plan_leg(rutland2024, o, d, ExpensePolicy(exempt_classes=frozenset({"motorway", "motorway_link", "trunk", "trunk_link"})))
    assert trunk.cheapest.cost_pence <= base.cheapest.cost_pence
    for leg, pol in ((base, ExpensePolicy()), (trunk, trunk.policy)):
        _validate(rutland2024, leg.cheapest, leg.stops, pol)


def test_network_cache_roundtrip(newport2024, b2024, tmp_path):
    from datapaths import NEWPORT

    from routeplan.network import Network, build_network

    a = build_network(NEWPORT, b2024, cache_dir=tmp_path)
    assert a.meta["cache"] == "miss"
    b = build_network(NEWPORT, b2024, cache_dir=tmp_path)
    assert b.meta["cache"] == "hit"
    assert np.array_equal(a.pieces.cell, b.pieces.cell) and a.way_name == b.way_name
    # Read from its cache entry (as a Dask worker does), a network uses that cache for its
    # landmarks and the rest; a copy saved elsewhere has no cache.
    from routeplan.matrix import network_path

    e = Network.load(network_path(a))
    assert e.meta["cache_dir"] == str(tmp_path.resolve()) and e.meta["cache_key"] == a.meta["cache_key"]
    a.save(tmp_path / "elsewhere.npz")
    assert "cache_dir" not in Network.load(tmp_path / "elsewhere.npz").meta
    (tmp_path / "elsewhere.npz").unlink()
    # A changed input (tolerance) is a different key; a damaged entry is rebuilt, not trusted.
    from routeplan.overlay import OverlayParams

    c = build_network(NEWPORT, b2024, cache_dir=tmp_path, params=OverlayParams(incursion_tol_m=0.0))
    assert c.meta["cache"] == "miss"
    entry = next(tmp_path.glob("network-*.npz"))
    entry.write_bytes(entry.read_bytes()[:1000])
    with pytest.raises(Exception, match="cannot read cached network"):
        Network.load(entry)
    d = build_network(NEWPORT, b2024, cache_dir=tmp_path)
    assert d.meta["cache"] in {"hit", "miss"}
    assert np.array_equal(d.pieces.cell, a.pieces.cell)


def test_to_networkx_is_osmnx_compatible(newport2024):
    import osmnx as ox

    G = newport2024.to_networkx()
    assert G.number_of_edges() == newport2024.n_edges
    nodes, edges = ox.graph_to_gdfs(G)
    assert {"x", "y"} <= set(nodes.columns) and {"length", "travel_time", "constituency", "geometry"} <= set(edges.columns)
    u, v = 0, next(iter(G.successors(0)))
    route = ox.routing.shortest_path(G, u, v, weight="travel_time")
    assert route[0] == u and route[-1] == v


@pytest.mark.parametrize("which", ["newport2024", "newport2010", "rutland2024"])
def test_fast_engine_equals_reference_on_real_pairs(request, which):
    """The numba kernel (cell-graph charge bound, straight-line time bound) returns exactly the
    reference kernel's Pareto front on random real origin/destination pairs, under two policies."""
    from kernelcheck import compare_fast_with_reference

    net = request.getfixturevalue(which)
    for pol in (ExpensePolicy(), ExpensePolicy(exempt_classes=frozenset({"motorway", "trunk", "primary"}))):
        compare_fast_with_reference(net, pol, pairs=40, seed=7)


def test_astar_fastest_equals_dijkstra(newport2024):
    from routeplan.kernels.dijkstra import shortest_path

    c = newport2024.compile(ExpensePolicy())
    rng = np.random.default_rng(3)
    for _ in range(100):
        s, t = (int(v) for v in rng.integers(0, newport2024.n_nodes, 2))
        a = shortest_path(c.indptr, c.heads, c.time_s, s, t)
        b = shortest_path(c.indptr, c.heads, c.time_s, s, t, xy=newport2024.node_x_y, inv_vmax=newport2024.inv_vmax,
                          landmarks=newport2024.landmarks, workspace=newport2024.workspace)
        assert (a is None) == (b is None)
        if a is not None:
            assert b[0] == pytest.approx(a[0], rel=1e-12)


def direct_len(path, bnd, tmp_path):
    from routeplan.network import build_network

    return build_network(path, bnd, cache_dir=tmp_path / "c", max_outside_share=1.0).pieces.length_m.sum()


def test_osmnx_graph_is_accepted(b2024, tmp_path):
    """A graph made with osmnx (graph_from_xml on an OSM file) routes like the file itself."""
    import osmnx as ox
    from drawn import write_osm

    from routeplan.interop import network_from_graph
    from routeplan.locate import Stop
    from routeplan.network import build_network

    pic = "a - b - c - d\n|       |   |\ne - - - f - g"
    path = tmp_path / "m.osm"
    write_osm(path, pic, [("abcd", {"highway": "primary", "name": "High St"}), ("ae", {"highway": "residential"}),
                          ("efg", {"highway": "residential"}), ("cf", {"highway": "tertiary"}), ("dg", {"highway": "residential"})])
    # Unsimplified, so that no edge merges ways of different classes (osmnx keeps a list then).
    G = ox.graph_from_xml(path, simplify=False, retain_all=True)
    via_osmnx = network_from_graph(G, b2024, max_outside_share=1.0)  # drawn in the estuary
    simplified = network_from_graph(ox.graph_from_xml(path, simplify=True, retain_all=True), b2024, max_outside_share=1.0)
    assert simplified.n_nodes == 2 and simplified.pieces.length_m.sum() == pytest.approx(2 * direct_len(path, b2024, tmp_path), rel=1e-3)
    direct = build_network(path, b2024, cache_dir=tmp_path / "c", max_outside_share=1.0)
    for net in (via_osmnx, direct):
        assert net.pieces.length_m.sum() > 0
    # The same trip a -> g takes the same time either way.
    def trip(net):
        lat, lon = net.pieces.node_lat, net.pieces.node_lon
        ia = int(np.argmin((lat - lat.max()) ** 2 + (lon - lon.min()) ** 2))
        ig = int(np.argmin((lat - lat.min()) ** 2 + (lon - lon.max()) ** 2))
        mk = lambda i: Stop("x", float(lat[i]), float(lon[i]), i, 0.0, "node", -1, "outside")
        return plan_leg(net, mk(ia), mk(ig))
    assert trip(via_osmnx).fastest.time_s == pytest.approx(trip(direct).fastest.time_s, rel=1e-6)
    # And our own network round-trips through networkx.
    again = network_from_graph(direct.to_networkx(), b2024, max_outside_share=1.0)
    assert again.pieces.length_m.sum() == pytest.approx(2 * direct.pieces.length_m.sum(), rel=1e-6)  # two-way roads -> two one-way edges


def test_label_limit_is_a_clear_error(newport2024, b2024):
    """A runaway search stops with a planner-facing error (exit code 6), never a crash."""
    from routeplan.errors import NoRouteError
    from routeplan.kernels.fastlabels import pareto_front_fast
    from routeplan.kernels.labels import LabelLimitError, pareto_front

    c = newport2024.compile(ExpensePolicy(exempt_classes=frozenset()))
    o, d = resolve("Duffryn", newport2024, b2024), resolve("Stow Park", newport2024, b2024)
    for kernel in (pareto_front, pareto_front_fast):
        with pytest.raises(LabelLimitError, match="exceeded 5 labels") as exc:
            kernel(c.indptr, c.heads, c.time_s, c.label, c.label_charge, o.node, d.node, label_limit=5)
        assert isinstance(exc.value, NoRouteError) and exc.value.exit_code == 6
