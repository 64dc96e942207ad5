"""Boundary rules of routeplan.overlay on drawn maps (see the module docstring for the rules)."""

import numpy as np
import pytest

from drawn import cell_box, write_osm
from routeplan.boundaries import from_polygons
from routeplan.graph import largest_scc, split_ways
from routeplan.osm import read_osm
from routeplan.overlay import INSIDE, OUTSIDE, OUTSIDE_SNAPPED, OverlayParams, overlay
from routeplan.vehicle import CoachProfile

# Grid steps are 100 m; a row of 10 steps: a at 0, b at 5 km ... (columns are 2 chars per step)
LINE = "a - - - - - - - - b"


def _pieces(tmp_path, picture, ways, polys, params=OverlayParams()):
    path = tmp_path / "m.osm"
    write_osm(path, picture, ways)
    seg = largest_scc(split_ways(read_osm(path, CoachProfile())))
    bnd = from_polygons("drawn", [f"C{i}" for i in range(len(polys))], [f"Cell {i}" for i in range(len(polys))], polys)
    return overlay(seg, bnd, params), bnd


def test_crossing_splits_the_road(tmp_path):
    # a at column 0, b at column 9; boundary at column 4.
    pc, _ = _pieces(tmp_path, LINE, [("ab", {"highway": "primary"})], [cell_box(-1, -1, 4, 1), cell_box(4, -1, 10, 1)])
    assert pc.a.shape[0] == 2
    assert sorted(pc.cell.tolist()) == [0, 1]
    assert pc.length_m[pc.cell == 0].sum() == pytest.approx(400, rel=0.01)
    assert pc.length_m.sum() == pytest.approx(900, rel=0.01)
    assert pc.stats["crossing_nodes"] == 1 and (pc.node_id < 0).sum() == 1


def test_tiny_incursion_is_absorbed(tmp_path):
    # Cell 1 pokes 10 m across the road: shorter than the 25 m tolerance, so no split.
    poke = cell_box(4, -1, 4.1, 0.0)
    polys = [cell_box(-1, -1, 10, 1).difference(poke), poke]
    pc, _ = _pieces(tmp_path, LINE, [("ab", {"highway": "primary"})], polys)
    assert pc.cell.tolist() == [0]
    # With no tolerance the 10 m are charged to cell 1.
    pc0, _ = _pieces(tmp_path, LINE, [("ab", {"highway": "primary"})], polys, OverlayParams(incursion_tol_m=0.0))
    assert sorted(set(pc0.cell.tolist())) == [0, 1]
    assert pc0.length_m[pc0.cell == 1].sum() == pytest.approx(10, abs=0.5)


def test_outside_pieces(tmp_path):
    # A gap (an estuary) between two cells: 1 km of road outside every polygon.
    polys = [cell_box(-1, -1, 3, 1), cell_box(6, -1, 10, 1)]
    pc, _ = _pieces(tmp_path, LINE, [("ab", {"highway": "primary"})], polys)
    assert (pc.flag == OUTSIDE_SNAPPED).sum() >= 1
    assert (pc.cell >= 0).all()  # conservative: charged to the nearest
    pc2, _ = _pieces(tmp_path, LINE, [("ab", {"highway": "primary"})], polys, OverlayParams(outside_snap_m=50.0))
    assert (pc2.flag == OUTSIDE).sum() >= 1
    assert pc2.length_m[pc2.cell < 0].sum() > 100


def test_road_wholly_outside(tmp_path):
    pc, _ = _pieces(tmp_path, LINE, [("ab", {"highway": "primary"})], [cell_box(40, 0, 50, 1)])  # 3 km away: beyond the 2 km snap
    assert pc.cell.tolist() == [-1] and pc.flag.tolist() == [OUTSIDE]


def test_overlap_goes_to_lowest_code(tmp_path):
    polys = [cell_box(-1, -1, 10, 1), cell_box(-1, -1, 10, 1)]
    pc, _ = _pieces(tmp_path, LINE, [("ab", {"highway": "primary"})], polys)
    assert pc.cell.tolist() == [0]


def test_road_re_entering_a_cell(tmp_path):
    # A - B - A along one road: three pieces, cell 0 twice.
    polys = [cell_box(-1, -1, 10, 1).difference(cell_box(3, -1, 6, 1)), cell_box(3, -1, 6, 1)]
    pc, _ = _pieces(tmp_path, LINE, [("ab", {"highway": "primary"})], polys)
    assert pc.cell.tolist() == [0, 1, 0]
    assert np.all(pc.flag == INSIDE)


@pytest.mark.integration
def test_real_overlay_conserves_length(newport2024, newport2010):
    for net in (newport2024, newport2010):
        pc = net.pieces
        assert pc.stats["crossing_nodes"] > 0
        # Pieces are geometry-preserving: their length is the length of their own geometry.
        from routeplan.boundaries import to_bng

        for p in range(0, pc.a.shape[0], 97):
            s, e = pc.geom_ptr[p], pc.geom_ptr[p + 1]
            x, y = to_bng(pc.geom_lon[s:e], pc.geom_lat[s:e])
            assert np.hypot(np.diff(x), np.diff(y)).sum() == pytest.approx(pc.length_m[p], rel=1e-6, abs=0.01)
        assert (pc.cell >= 0).mean() > 0.99
