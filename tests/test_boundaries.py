import shutil

import geopandas as gpd
import pytest
import shapely
from datapaths import DATA, NEWPORT

from routeplan.boundaries import from_polygons, load_boundaries, manifest
from routeplan.errors import DataError


def test_manifest_matches_shared_sources():
    sets = manifest()
    assert set(sets) == {"wpc-2010", "wpc-2024"}
    sources = (DATA / "boundaries" / "SOURCES.md").read_text()
    for entry in sets.values():
        assert entry["sha256"] in sources
        assert entry["source_sha256"] in sources
        assert "Open Government Licence" in entry["attribution"]


@pytest.mark.parametrize(
    ("name", "lat", "lon", "expected"),
    [
        ("wpc-2010", 52.6083, 1.7305, "Great Yarmouth"),
        ("wpc-2024", 52.6083, 1.7305, "Great Yarmouth"),
        ("wpc-2010", 51.4600, -0.9720, "Reading East"),
        ("wpc-2024", 51.4600, -0.9720, "Reading Central"),
        ("wpc-2010", 52.6286, 1.2963, "Norwich South"),
        ("wpc-2010", 53.4774, -2.2309, "Manchester Central"),
        ("wpc-2010", 52.6705, -0.7270, "Rutland and Melton"),
        ("wpc-2024", 52.6705, -0.7270, "Rutland and Stamford"),
    ],
)
def test_known_points(request, name, lat, lon, expected):
    b = request.getfixturevalue("b2010" if name == "wpc-2010" else "b2024")
    cell, how = b.cell_at(lat, lon)
    assert (b.names[cell], how) == (expected, "inside")


def test_outside_point_snaps_or_not(b2024):
    # A point 500 m off the coast at Great Yarmouth: nearest constituency; far out at sea: none.
    cell, how = b2024.cell_at(52.6083, 1.7420)
    assert how == "nearest" and b2024.names[cell] == "Great Yarmouth"
    assert b2024.cell_at(52.6, 2.5) == (-1, "outside")


def test_topojson_without_crs_and_invalid_geometry():
    b = load_boundaries(DATA / "boundaries" / "source" / "martinjc-topo_wpc.json")
    assert len(b) == 632
    assert b.fixed_invalid > 500  # only 77 of 632 are valid as stored
    assert all(g.is_valid for g in b.geom)


def test_other_crs_is_reprojected(tmp_path, b2024):
    gdf = gpd.read_file(DATA / "boundaries" / "wpc-2024.gpkg").iloc[:40].to_crs("EPSG:27700")
    path = tmp_path / "bng.gpkg"
    gdf.to_file(path)
    b = load_boundaries(path)
    i = b.index_of["E14001063"]
    assert b.geom[i].equals_exact(b2024.geom[b2024.index_of["E14001063"]], tolerance=1e-6)


def test_shapefile_in_british_national_grid(tmp_path, b2024):
    gdf = gpd.read_file(DATA / "boundaries" / "wpc-2024.gpkg").iloc[:30].to_crs("EPSG:27700")
    path = tmp_path / "wpc.shp"
    gdf.to_file(path)
    b = load_boundaries(path)
    assert len(b) == 30 and set(b.codes) <= set(b2024.codes)
    ref = b2024.geom[b2024.index_of[b.codes[0]]]
    assert b.geom[b.index_of[b.codes[0]]].symmetric_difference(ref).area < 1e-6 * ref.area  # reprojection round trip


def test_wrong_crs_is_refused(tmp_path):
    gdf = gpd.read_file(DATA / "boundaries" / "wpc-2024.gpkg").iloc[:5].to_crs("EPSG:27700")
    path = tmp_path / "lies.gpkg"
    gdf.set_crs("EPSG:4326", allow_override=True).to_file(path)  # metres labelled as degrees
    with pytest.raises(DataError, match="wrong CRS|longitude/latitude|outside the UK"):
        load_boundaries(path)


def test_checksum_mismatch(tmp_path):
    (tmp_path / "boundaries").mkdir()
    dst = tmp_path / "boundaries" / "wpc-2024.gpkg"
    shutil.copy(DATA / "boundaries" / "wpc-2024.gpkg", dst)
    with dst.open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(DataError, match="checksum"):
        load_boundaries("wpc-2024", data_dir=tmp_path)


def test_missing_set_and_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_boundaries("wpc-2024", data_dir=tmp_path)
    with pytest.raises(DataError, match="unknown boundary set"):
        load_boundaries("wpc-1997")


def test_not_a_boundary_file(tmp_path):
    path = tmp_path / "x.geojson"
    path.write_text("{ not json")
    with pytest.raises(DataError, match="cannot read"):
        load_boundaries(path)


def test_fields_must_be_found(tmp_path):
    gdf = gpd.GeoDataFrame({"foo": ["a"], "bar": ["b"]}, geometry=[shapely.box(-1, 51, -0.9, 51.1)], crs="EPSG:4326")
    path = tmp_path / "f.gpkg"
    gdf.to_file(path)
    with pytest.raises(DataError, match="which field"):
        load_boundaries(path)
    b = load_boundaries(path, code_field="foo", name_field="bar")
    assert b.codes == ("a",)


def test_from_polygons_repairs_and_sorts():
    bowtie = shapely.Polygon([(-1, 51), (-0.9, 51.1), (-0.9, 51), (-1, 51.1)])
    b = from_polygons("t", ["Z", "A"], ["zed", "ay"], [bowtie, shapely.box(-1.2, 51, -1.1, 51.1)])
    assert b.codes == ("A", "Z") and b.fixed_invalid == 1 and b.geom[1].is_valid
    with pytest.raises(DataError, match="not unique"):
        from_polygons("t", ["A", "A"], ["a", "b"], [shapely.box(0, 51, 0.1, 51.1)] * 2)


def test_manifest_ships_in_the_package_and_the_repo_copy_is_the_same():
    """`pip install .` (not editable) has no repo beside it: the manifest is package data, and
    data/boundaries/manifest.toml (which the project brief requires) is a link to it."""
    from pathlib import Path

    from datapaths import REPO

    import routeplan
    from routeplan import boundaries

    pkg = Path(routeplan.__file__).resolve().parent
    assert boundaries.MANIFEST.resolve() == (pkg / "data" / "boundaries.toml").resolve()
    repo_copy = REPO / "data" / "boundaries" / "manifest.toml"
    assert repo_copy.is_symlink() and not Path(repo_copy.readlink()).is_absolute()
    assert repo_copy.read_bytes() == boundaries.MANIFEST.read_bytes()
    assert {"wpc-2010", "wpc-2024"} <= set(manifest())
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '"data/*.toml"' in pyproject


def test_directory_or_unreadable_file_is_a_data_error(tmp_path, monkeypatch):
    import os

    import routeplan.boundaries as rb

    folder = tmp_path / "wpc.gpkg"
    folder.mkdir()
    with pytest.raises(DataError, match="is a directory"):
        load_boundaries(folder)
    locked = tmp_path / "locked.gpkg"
    shutil.copy(DATA / "boundaries" / "wpc-2024.gpkg", locked)
    locked.chmod(0)
    if os.geteuid() == 0:  # root reads anything: make the read fail as it would for a user

        def denied(path):
            raise PermissionError(13, "Permission denied", str(path))

        monkeypatch.setattr(rb, "sha256_file", denied)
    with pytest.raises(DataError, match="cannot read boundary file .*Permission denied") as exc:
        load_boundaries(locked)
    assert "\n" not in str(exc.value)


def _eager(b):
    """The repaired polygons of every cell, as an eager load made them (a fresh, lazy copy)."""
    from routeplan.boundaries import _Geoms

    return _Geoms(b.polygons.raw, b.polygons.dropped_invalid)


def test_polygons_are_repaired_lazily_and_exactly(tmp_path, monkeypatch):
    """A cold load repairs and reprojects nothing; asking for a few cells repairs those only, and
    each cell's polygons are exactly what repairing the whole set gives."""
    import numpy as np

    monkeypatch.setenv("ROUTEPLAN_CACHE", str(tmp_path))
    b = load_boundaries("wpc-2024", data_dir=DATA)
    assert not b.polygons._done.any()
    some = np.array([3, 100, 641])
    part = b.geom_bng_of(some)
    assert b.polygons._done.sum() == 3
    full = _eager(b)
    assert all(shapely.equals_exact(part, full.bng()[some], tolerance=0))
    assert all(shapely.equals_exact(b.geom, full.wgs84(), tolerance=0))
    assert all(shapely.equals_exact(b.geom_bng, full.bng(), tolerance=0))
    assert b.fixed_invalid == full.n_invalid()


def test_build_leaves_the_boundary_cache_as_it_found_it(tmp_path, monkeypatch):
    """A build repairs the polygons its overlay needs and then drops them (about 100 MB on a
    national build), keeping those the caller had made before; dropped cells are made again
    exactly when asked for."""
    import numpy as np

    from routeplan.network import build_network

    monkeypatch.setenv("ROUTEPLAN_CACHE", str(tmp_path))
    b = load_boundaries("wpc-2024", data_dir=DATA)
    before = np.array([5, 641])
    b.geom_bng_of(before)
    build_network(NEWPORT, b, cache=False)
    assert np.flatnonzero(b.polygons._done).tolist() == before.tolist()
    assert all(g is None for g in np.delete(b.polygons._bng, before))
    assert b.geom_bng_of(before)[0] is not None
    full = _eager(b)
    assert all(shapely.equals_exact(b.geom_bng, full.bng(), tolerance=0))
    assert b.fixed_invalid == full.n_invalid()


def test_geopackage_read_without_gdal_matches_gdal():
    from routeplan.boundaries import _read_file, _read_gpkg, resolve

    path, entry = resolve("wpc-2024", DATA)
    fast = _read_gpkg(path, entry, "x", None, None)
    assert fast is not None and fast.polygons.wkb is not None
    slow = _read_file(path, entry, "x", None, None)
    assert fast.codes == slow.codes and fast.names == slow.names
    assert all(shapely.equals_exact(fast.polygons.raw, slow.polygons.raw, tolerance=0))


def test_geopackage_in_another_crs_goes_through_gdal(tmp_path):
    from routeplan.boundaries import _read_gpkg, resolve

    gdf = gpd.read_file(DATA / "boundaries" / "wpc-2024.gpkg").iloc[:3].to_crs("EPSG:27700")
    path = tmp_path / "bng.gpkg"
    gdf.to_file(path)
    assert _read_gpkg(path, resolve(path)[1], "x", None, None) is None


def test_prefilters_only_skip_cells_that_cannot_match(b2024):
    """cells_meeting_bng and cell_at look at the cells whose boxes come near; the answers are
    those of a search over every cell."""
    import numpy as np

    from routeplan.boundaries import to_bng

    full = _eager(b2024)
    rng = np.random.default_rng(3)
    for _ in range(6):
        x0, y0 = rng.uniform(150_000, 600_000), rng.uniform(50_000, 900_000)
        box = shapely.box(x0, y0, x0 + rng.uniform(100, 40_000), y0 + rng.uniform(100, 40_000))
        assert b2024.cells_meeting_bng(box).tolist() == np.flatnonzero(shapely.intersects(full.bng(), box)).tolist()
    # Points inside, on the coast, at sea; some snap, some do not.
    pts = [(52.6083, 1.7420), (52.6, 2.5), (51.55, -3.0), (51.52, -2.95), (50.05, -5.7), (58.6, -3.5), *zip(rng.uniform(50, 58, 25), rng.uniform(-6, 1.8, 25))]
    for lat, lon in pts:
        for snap in (0.0, 500.0, 2000.0, 20_000.0):
            x, y = to_bng([lon], [lat])
            pt = shapely.points(x, y)[0]
            hits = np.flatnonzero(shapely.intersects(full.bng(), pt))
            if hits.size:
                want = (int(hits[0]), "inside")
            else:
                dist = shapely.distance(full.bng(), pt)
                i = int(np.argmin(dist))
                want = (i, "nearest") if dist[i] <= snap else (-1, "outside")
            assert b2024.cell_at(lat, lon, snap_m=snap) == want, (lat, lon, snap)
