"""plan_leg with the contraction hierarchy answering the fastest route (what ``engine="fast"``
does from ``routing.CH_MIN_NODES`` road nodes): the same legs as without it, on real Newport pairs;
a hard-avoid list falls back to the overlay's own search; the hierarchy is cached beside the
network and rebuilt when its file is damaged."""

import numpy as np
import pytest

from routeplan import routing
from routeplan.locate import resolve
from routeplan.network import Network
from routeplan.policy import AVOID, ExpensePolicy
from routeplan.routing import plan_leg

pytestmark = pytest.mark.integration

PLACES = ["Rogerstone", "Marshfield", "Maesglas", "High Cross", "Bassaleg", "Duffryn", "Stow Park", "Newport", "Coedkernew"]


def _legs(net, bnd, pairs, policy=None):
    out = []
    for a, z in pairs:
        o, d = resolve(a, net, bnd), resolve(z, net, bnd)
        out.append(plan_leg(net, o, d, policy, alternatives=True))
    return out


@pytest.fixture
def ch_everywhere(monkeypatch):
    monkeypatch.setattr(routing, "CH_MIN_NODES", 0)
    monkeypatch.setattr(routing, "OVERLAY_MIN_NODES", 0)


def test_ch_legs_equal_overlay_legs(newport2024, b2024, monkeypatch):
    pairs = [(a, z) for a in PLACES for z in PLACES if a != z][::3]
    monkeypatch.setattr(routing, "OVERLAY_MIN_NODES", 0)
    monkeypatch.setattr(routing, "CH_MIN_NODES", 10**9)
    plain = _legs(newport2024, b2024, pairs)
    assert all("ch_s" not in leg.timings for leg in plain)
    monkeypatch.setattr(routing, "CH_MIN_NODES", 0)
    with_ch = _legs(newport2024, b2024, pairs)
    assert all("ch_s" in leg.timings for leg in with_ch)
    for a, b in zip(plain, with_ch, strict=True):
        assert b.fastest.time_s == pytest.approx(a.fastest.time_s, rel=1e-9)
        assert b.cheapest.cost_pence == a.cheapest.cost_pence
        assert b.cheapest.time_s == pytest.approx(a.cheapest.time_s, rel=1e-9)
        assert [(r.cost_pence, round(r.time_s, 6)) for r in b.front] == [(r.cost_pence, round(r.time_s, 6)) for r in a.front]


def test_hard_avoid_does_not_use_the_hierarchy(newport2024, b2024, ch_everywhere):
    o, d = resolve("Duffryn", newport2024, b2024), resolve("Stow Park", newport2024, b2024)
    east = "W07000104"
    free = plan_leg(newport2024, o, d)
    assert "ch_s" in free.timings
    assert "Newport East" in {r.name for r in free.fastest.ledger.rows}  # the hierarchy's route crosses it
    avoid = plan_leg(newport2024, o, d, ExpensePolicy(overrides={east: AVOID}))
    assert "ch_s" not in avoid.timings
    assert "Newport East" not in {r.name for r in avoid.fastest.ledger.rows}
    assert avoid.fastest.time_s >= free.fastest.time_s


def test_hierarchy_is_cached_and_damage_rebuilds(newport2024, tmp_path):
    src = newport2024
    copy = Network(pieces=src.pieces, way_id=src.way_id, way_class=src.way_class, way_kph=src.way_kph, way_name=src.way_name,
                   cell_codes=src.cell_codes, cell_names=src.cell_names, places=src.places,
                   meta={**src.meta, "cache_dir": str(tmp_path)})
    ch1 = copy.ch()
    files = sorted(tmp_path.glob("ch-*.npz"))
    assert len(files) == 1
    again = Network(pieces=src.pieces, way_id=src.way_id, way_class=src.way_class, way_kph=src.way_kph, way_name=src.way_name,
                    cell_codes=src.cell_codes, cell_names=src.cell_names, places=src.places, meta=dict(copy.meta))
    ch2 = again.ch()
    for k, v in ch1.arrays().items():
        assert np.array_equal(v, ch2.arrays()[k]), k
    data = bytearray(files[0].read_bytes())
    data[len(data) // 2] ^= 0xFF
    files[0].write_bytes(bytes(data))
    third = Network(pieces=src.pieces, way_id=src.way_id, way_class=src.way_class, way_kph=src.way_kph, way_name=src.way_name,
                    cell_codes=src.cell_codes, cell_names=src.cell_names, places=src.places, meta=dict(copy.meta))
    ch3 = third.ch()
    for k, v in ch1.arrays().items():
        assert np.array_equal(v, ch3.arrays()[k]), k
