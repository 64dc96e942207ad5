"""Boundary rules of routeplan.overlay on drawn maps (see the module docstring for the rules)."""

import numpy as np
import pytest
from consuming import assert_consumed_alike
from drawn import cell_box, write_osm

from routeplan.boundaries import from_polygons
from routeplan.graph import largest_scc, split_ways
from routeplan.osm import read_osm
from routeplan.overlay import INSIDE, OUTSIDE, OUTSIDE_SNAPPED, OverlayParams, overlay
from routeplan.vehicle import CoachProfile

# Grid steps are 100 m; a row of 10 steps: a at 0, b at 5 km ... (columns are 2 chars per step)
LINE = "a - - - - - - - - b"


def _pieces(tmp_path, picture, ways, polys, params=None):
    path = tmp_path / "m.osm"
    write_osm(path, picture, ways)
    seg = largest_scc(split_ways(read_osm(path, CoachProfile())))
    bnd = from_polygons("drawn", [f"C{i}" for i in range(len(polys))], [f"Cell {i}" for i in range(len(polys))], polys)
    return overlay(seg, bnd, params or OverlayParams()), bnd


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


def test_zero_snap_means_no_snapping(tmp_path):
    polys = [cell_box(-1, -1, 3, 1), cell_box(6, -1, 10, 1)]
    pc, _ = _pieces(tmp_path, LINE, [("ab", {"highway": "primary"})], polys, OverlayParams(outside_snap_m=0))
    assert (pc.flag == OUTSIDE_SNAPPED).sum() == 0 and (pc.flag == OUTSIDE).sum() == 1
    assert pc.length_m[pc.cell < 0].sum() == pytest.approx(300, rel=0.02)
    far, _ = _pieces(tmp_path, LINE, [("ab", {"highway": "primary"})], [cell_box(40, 0, 50, 1)], OverlayParams(outside_snap_m=0.0))
    assert far.cell.tolist() == [-1] and far.flag.tolist() == [OUTSIDE]
    assert OverlayParams(outside_snap_m=0).key() == OverlayParams(outside_snap_m=0.0).key()


@pytest.mark.parametrize(
    ("kw", "name"),
    [
        ({"incursion_tol_m": float("nan")}, "incursion_tol_m"),
        ({"incursion_tol_m": -1.0}, "incursion_tol_m"),
        ({"incursion_tol_m": 1500.0}, "incursion_tol_m"),
        ({"incursion_tol_m": "25"}, "incursion_tol_m"),
        ({"outside_snap_m": float("inf")}, "outside_snap_m"),
        ({"outside_snap_m": -5.0}, "outside_snap_m"),
        ({"outside_snap_m": 60_000.0}, "outside_snap_m"),
        ({"outside_snap_m": True}, "outside_snap_m"),
    ],
)
def test_bad_overlay_params_name_the_parameter(kw, name):
    from routeplan.errors import ConfigError

    with pytest.raises(ConfigError, match=name) as exc:
        OverlayParams(**kw)
    assert "--" not in str(exc.value)  # the library names its parameter, not a CLI flag


def test_edge_values_are_accepted():
    assert OverlayParams(incursion_tol_m=0, outside_snap_m=50_000).incursion_tol_m == 0.0
    assert OverlayParams(incursion_tol_m=1000.0).outside_snap_m == 2000.0


# -- coverage: a boundary set that does not cover the roads is refused (issue 12 item 4) ------


@pytest.fixture(scope="module")
def rutland_only():
    import geopandas as gpd
    from datapaths import DATA

    gdf = gpd.read_file(DATA / "boundaries" / "wpc-2024.gpkg")
    sub = gdf[gdf["name"].str.contains("Rutland")]
    assert len(sub) >= 1
    return from_polygons("rutland-only", list(sub["code"]), list(sub["name"]), sub.geometry.to_numpy())


@pytest.mark.integration
def test_boundaries_that_miss_the_network_are_refused(rutland_only, tmp_path):
    from datapaths import NEWPORT

    from routeplan.errors import DataError
    from routeplan.network import build_network

    with pytest.raises(DataError, match=r"rutland-only covers only 0\.0 % of the road km in newport-2023-06-13\.osm\.pbf "
                                        r"\(100\.0 % lies outside every constituency; the limit is 5 %\)") as exc:
        build_network(NEWPORT, rutland_only, cache_dir=tmp_path)
    assert "\n" not in str(exc.value)
    assert not list(tmp_path.glob("network-*"))  # a refused build is not cached
    # Asked for explicitly, it builds; and the stored km say how much is uncovered.
    net = build_network(NEWPORT, rutland_only, cache_dir=tmp_path, max_outside_share=1.0)
    assert net.meta["outside_km"] == pytest.approx(net.meta["road_km"]) and net.meta["road_km"] > 100
    # A cache hit is checked too.
    with pytest.raises(DataError, match="100.0 % lies outside"):
        build_network(NEWPORT, rutland_only, cache_dir=tmp_path)


@pytest.mark.integration
def test_real_networks_are_covered(newport2024, rutland2024):
    for net in (newport2024, rutland2024):
        assert 0 <= net.meta["outside_km"] < 0.05 * net.meta["road_km"]
        assert net.meta["road_km"] == pytest.approx(net.pieces.length_m.sum() / 1000)


@pytest.mark.parametrize("bad", [float("nan"), -0.01, 1.5, float("inf")])
def test_max_outside_share_is_validated(bad, b2024, tmp_path):
    from datapaths import NEWPORT

    from routeplan.errors import ConfigError
    from routeplan.network import build_network

    with pytest.raises(ConfigError, match="max_outside_share"):
        build_network(NEWPORT, b2024, cache_dir=tmp_path, max_outside_share=bad)


def test_graph_outside_the_boundaries_is_refused(tmp_path, b2024):
    """network_from_graph checks coverage as build_network does (the drawn grid lies in the
    Severn estuary, outside every wpc-2024 polygon)."""
    import osmnx as ox

    from routeplan.errors import DataError
    from routeplan.interop import network_from_graph

    path = tmp_path / "m.osm"
    write_osm(path, LINE, [("ab", {"highway": "primary"})])
    G = ox.graph_from_xml(path, simplify=False, retain_all=True)
    with pytest.raises(DataError, match="outside every constituency"):
        network_from_graph(G, b2024)
    assert network_from_graph(G, b2024, max_outside_share=1.0).meta["outside_km"] > 0


def test_consuming_overlay_gives_the_same_pieces_and_empties_the_segments(b2024):
    """``consume=True`` (the national build's memory saving) changes no output: the real Newport
    overlay, array by array, and the segments it was handed are emptied, not half-kept."""
    from datapaths import NEWPORT

    seg = largest_scc(split_ways(read_osm(NEWPORT, CoachProfile())))
    kept = overlay(seg, b2024)
    fields = [k for k, v in vars(seg).items() if isinstance(v, np.ndarray)]
    before = {k: getattr(seg, k).copy() for k in fields}
    eaten = overlay(seg, b2024, consume=True)
    assert_consumed_alike(kept, eaten, seg)
    assert any(before[k].size for k in fields)
