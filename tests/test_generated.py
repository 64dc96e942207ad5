"""The whole pipeline on GENERATED networks (real .osm.pbf over real constituency polygons):
more constituencies and motorway than the real extracts have.  The fast kernel must equal the
reference kernel on every pair, and the reference must equal the independent MILP on some."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from datapaths import DATA
from kernelcheck import compare_fast_with_reference

from routeplan import synth
from routeplan.network import build_network
from routeplan.policy import ExpensePolicy

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def generated(tmp_path_factory, b2024):
    gdf = gpd.read_file(DATA / "boundaries" / "wpc-2024.gpkg")
    codes = synth.neighbours_around(gdf, "W07000105", 12)  # Newport West and Islwyn + 11
    out = tmp_path_factory.mktemp("gen") / "region.osm.pbf"
    synth.generate_region(gdf, synth.SynthSpec(codes=codes, seed=3), out)
    net = build_network(out, b2024, cache_dir=tmp_path_factory.mktemp("gencache"))
    assert net.meta["generated"] is True
    return net


@pytest.mark.parametrize("exempt", [("motorway", "motorway_link"), ("motorway", "motorway_link", "primary"), ()])
def test_fast_equals_reference_on_generated(generated, exempt):
    charged = compare_fast_with_reference(generated, ExpensePolicy(exempt_classes=frozenset(exempt)), pairs=60, seed=11)
    assert charged > 10  # the cases are not all trivial


def test_motorway_saves_money_on_generated(generated):
    """Somewhere in the generated region the exempt motorway must make the cheapest route cheaper
    than the fastest one, and never dearer."""
    from routeplan.errors import NoRouteError
    from routeplan.locate import Stop
    from routeplan.routing import plan_leg

    net = generated
    rng = np.random.default_rng(5)
    savings = 0
    for _ in range(40):
        s, t = (int(v) for v in rng.integers(0, net.n_nodes, 2))
        mk = lambda n: Stop(f"node {n}", float(net.pieces.node_lat[n]), float(net.pieces.node_lon[n]), n, 0.0, "node", -1, "outside")
        try:
            leg = plan_leg(net, mk(s), mk(t))
        except NoRouteError:
            continue
        assert leg.cheapest.cost_pence <= leg.fastest.cost_pence
        savings += leg.saving_pence > 0
    assert savings > 0


def test_tour_map_colours_exempt_road_on_generated(generated, b2024):
    """A GENERATED day whose best legs use the motorway: those pieces are drawn in the exempt colour,
    seats crossed only on exempt road are outlined, the map says GENERATED."""
    from routeplan.itinerary import parse_itinerary
    from routeplan.render import EXEMPT_COLOUR, GENERATED_NOTICE, tour_map
    from routeplan.tour import plan_tour

    net = generated
    motorway = np.flatnonzero(np.asarray(net.piece_class) == 0)  # class code 0: motorway
    assert motorway.size
    ends = [int(net.pieces.a[motorway[0]]), int(net.pieces.b[motorway[-1]])]
    pts = [f"{float(net.pieces.node_lat[n]):.6f},{float(net.pieces.node_lon[n]):.6f}" for n in ends]
    itin = parse_itinerary(f'[[day]]\nstart = "{pts[0]}"\nstart_time = "08:00"\n[[day.stop]]\nplace = "{pts[1]}"\n')
    plan = plan_tour(net, b2024, itin)
    best = plan.days[0].plan.best
    exempt_km = sum(r.exempt_km for r in best.ledger.rows)
    assert exempt_km > 0, "the chosen route should use the exempt motorway"
    page = tour_map(net, b2024, plan).get_root().render()
    assert f"\"color\": \"{EXEMPT_COLOUR}\"" in page and GENERATED_NOTICE in page  # a drawn line, not just the legend
