"""Coach access on real OSM data (Newport extract): ``hgv=no`` does not close a road to coaches.

Somerton Road (Newport East) carries ``hgv=no`` (GB "no goods vehicles over 7.5 t", which does
not apply to buses and coaches).  It must be in the default coach network and out of it only
when the operator opts in with ``avoid_hgv_restrictions``.
"""

from __future__ import annotations

import numpy as np
import osmium
import pytest
from datapaths import NEWPORT

from routeplan.locate import resolve
from routeplan.routing import plan_leg
from routeplan.vehicle import CoachProfile


@pytest.fixture(scope="module")
def hgv_no_somerton() -> set[int]:
    """Way ids of Somerton Road tagged ``hgv=no``, read from the PBF with pyosmium."""
    ids = set()
    for w in osmium.FileProcessor(str(NEWPORT), osmium.osm.WAY):
        if w.tags.get("name") == "Somerton Road" and w.tags.get("hgv") == "no":
            ids.add(w.id)
    return ids


@pytest.fixture(scope="module")
def newport2024_avoid_hgv(b2024, cache_root):
    from routeplan.network import build_network

    return build_network(NEWPORT, b2024, profile=CoachProfile(avoid_hgv_restrictions=True), cache_dir=cache_root)


def test_hgv_no_way_is_a_coach_road_by_default(newport2024, newport2024_avoid_hgv, hgv_no_somerton):
    assert hgv_no_somerton == {37845877, 43113514, 656368674}  # the 2023-06-13 extract
    default_ways = set(newport2024.way_id.tolist())
    avoid_ways = set(newport2024_avoid_hgv.way_id.tolist())
    assert hgv_no_somerton <= default_ways
    assert not hgv_no_somerton & avoid_ways
    assert avoid_ways < default_ways


def test_route_through_somerton_road(newport2024, newport2024_avoid_hgv, b2024, hgv_no_somerton):
    """North of Somerton Road to south of it: the way through is the hgv=no section.

    Both routes stay in Newport East (£461), so on this extract the opt-in costs time, not
    money: no real pair was found whose charge changes (within each constituency the hgv ways
    do not split its strongly connected core).
    """
    a, b = "51.594218,-2.966075", "51.583678,-2.963336"
    leg = plan_leg(newport2024, resolve(a, newport2024, b2024), resolve(b, newport2024, b2024))
    used = {int(newport2024.way_id[newport2024.pieces.way[p]]) for p in leg.cheapest.pieces}
    assert used & hgv_no_somerton
    net = newport2024_avoid_hgv
    careful = plan_leg(net, resolve(a, net, b2024), resolve(b, net, b2024))
    used = {int(net.way_id[net.pieces.way[p]]) for p in careful.cheapest.pieces}
    assert not used & hgv_no_somerton
    assert leg.cheapest.cost_pence == careful.cheapest.cost_pence == 46100
    assert careful.cheapest.time_s > leg.cheapest.time_s + 120
    assert np.isfinite(careful.cheapest.time_s)
