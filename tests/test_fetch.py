"""Fetching data for real users, exercised offline through file:// URLs on the shared data."""

import hashlib

import pytest
from datapaths import DATA, RUTLAND

from routeplan.boundaries import load_boundaries
from routeplan.errors import DataError
from routeplan.fetch import download, fetch_boundaries, fetch_osm


def test_fetch_known_boundary_set_and_load_it(tmp_path):
    seen = []
    path = fetch_boundaries("wpc-2024", data_dir=tmp_path, base_url=(DATA / "boundaries" / "source").as_uri(), progress=lambda d, t: seen.append(d))
    assert path == tmp_path / "boundaries" / "source" / "Westminster_Parliamentary_Constituencies_July_2024_Boundaries_UK_BGC.topojson"
    assert seen and seen[-1] == path.stat().st_size
    # No GeoPackage in this data folder: the verified source is read instead, same constituencies.
    b = load_boundaries("wpc-2024", data_dir=tmp_path)
    ref = load_boundaries("wpc-2024", data_dir=DATA)
    assert b.codes == ref.codes and b.names == ref.names
    assert b.names[b.cell_at(51.4600, -0.9720)[0]] == "Reading Central"


def test_checksum_mismatch_keeps_nothing(tmp_path):
    dest = tmp_path / "x.osm.pbf"
    with pytest.raises(DataError, match="checksum mismatch"):
        download(RUTLAND.as_uri(), dest, sha256="0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_fetch_osm_from_a_geofabrik_like_mirror(tmp_path):
    mirror = tmp_path / "mirror" / "europe" / "great-britain" / "england"
    mirror.mkdir(parents=True)
    (mirror / "rutland-latest.osm.pbf").write_bytes(RUTLAND.read_bytes())
    (mirror / "rutland-latest.osm.pbf.md5").write_text(hashlib.md5(RUTLAND.read_bytes()).hexdigest() + "  rutland-latest.osm.pbf\n")
    path = fetch_osm("europe/great-britain/england/rutland", data_dir=tmp_path / "data", base_url=(tmp_path / "mirror").as_uri())
    assert path.read_bytes() == RUTLAND.read_bytes()
    with pytest.raises(DataError, match="cannot fetch the checksum"):
        fetch_osm("europe/nowhere", data_dir=tmp_path / "data", base_url=(tmp_path / "mirror").as_uri())


def test_unreachable_url_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="cannot download"):
        download((tmp_path / "missing.pbf").as_uri(), tmp_path / "out.pbf")
    assert not (tmp_path / "out.pbf").exists()
