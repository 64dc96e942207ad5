"""Offline postcodes from the real OS Code-Point Open files in the shared data folder (issue 14)."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
from datapaths import DATA

from routeplan import postcodes as pc
from routeplan.boundaries import from_bng, sha256_file
from routeplan.errors import DataError, LocateError

PCDIR = DATA / "postcodes"


@pytest.fixture(autouse=True)
def _fresh_memo():
    pc._MEMO.clear()
    yield
    pc._MEMO.clear()


# Real units, one per shared area file, with their Code-Point Open eastings/northings.
REAL = [
    ("NP20 1HG", 331272, 188184),
    ("CF11 7AJ", 318293, 174871),
    ("LE10 0UB", 441710, 294021),
    ("PE1 5NU", 519882, 299532),
    ("NR10 3GW", 621917, 316834),
    ("RG1 8EQ", 470613, 174344),
    ("LA1 4XR", 348459, 458290),
    ("M11 3TJ", 386915, 398129),
]


@pytest.mark.parametrize(("code", "east", "north"), REAL)
def test_real_units_resolve_to_their_centroid(code, east, north):
    lon, lat = from_bng([east], [north])
    for text in (code, code.lower(), code.replace(" ", ""), f"  {code.replace(' ', '   ').lower()} "):
        pt = pc.lookup(text, data_dir=DATA)
        assert pt.postcode == code and not pt.district and pt.warnings == ()
        assert (pt.easting, pt.northing) == (east, north)
        assert math.isclose(pt.lat, float(lat[0]), abs_tol=1e-9) and math.isclose(pt.lon, float(lon[0]), abs_tol=1e-9)
    assert 49 < pt.lat < 56 and -6 < pt.lon < 2


def test_spelling_helpers():
    assert pc.compact(" np20  1hg ") == "NP201HG"
    assert pc.format_postcode("np201hg") == "NP20 1HG" and pc.format_postcode("M113TJ") == "M11 3TJ"
    assert pc.parse_unit("EC1A 1BB") == ("EC1A", "1BB") and pc.parse_unit("W1A 0AX") == ("W1A", "0AX")
    assert pc.parse_unit("NP2O 1HG") is None  # O is not a district letter
    assert pc.parse_unit("NP20 1HO") is None  # O is never an inward letter
    assert pc.parse_outward("NP20") == "NP20" and pc.parse_outward("m4") == "M4"
    assert pc.parse_outward("A48") is None  # A is not a postcode area: a road, not a district
    for text in ("NP2O 1HG", "12345", "np201hg", "XX99 9ZZ"):
        assert pc.looks_like_postcode(text)
    for text in ("Tesco 24", "Stow Park", "NP20", "Rivermead Leisure Centre"):
        assert not pc.looks_like_postcode(text)
    assert len(pc.areas()) == 120 and {"NP", "M", "EC", "ZE"} <= pc.areas()


def test_outward_code_is_the_flagged_centroid_of_its_units():
    pt = pc.lookup("np20", data_dir=DATA)
    idx = pc.load_area("NP", data_dir=DATA)
    rows = idx.district_rows("NP20")
    codes = {idx.code(int(r)) for r in rows}
    assert all(c.startswith("NP20") and len(c) == 7 for c in codes)  # not NP2x units of other districts
    assert pt.district and pt.units == len(rows) > 500 and pt.postcode == "NP20"
    assert pt.easting == pytest.approx(idx.easting[rows].mean()) and pt.northing == pytest.approx(idx.northing[rows].mean())
    assert len(pt.warnings) == 1 and "not a full postcode" in pt.warnings[0] and f"{pt.units} units" in pt.warnings[0]
    assert 0 < pt.spread_m < 20_000


@pytest.mark.parametrize(
    ("text", "pattern", "first"),
    [
        ("NP2O 1HG", r"^not a valid postcode: 'NP2O 1HG'; nearest valid postcodes: NP20 1HG,", "NP20 1HG"),
        ("np2o1hg", r"nearest valid postcodes: NP20 1HG", "NP20 1HG"),
        ("NP20 1HX", r"^unknown postcode NP20 1HX .*nearest valid postcodes: NP20 1", None),
        ("NP201H", r"^not a valid postcode: 'NP201H'; nearest valid postcodes: NP20 1", None),
        ("XX99 9ZZ", r"^not a GB postcode: 'XX99 9ZZ' \(XX is not a GB postcode area", None),
        ("12345", r"^not a valid postcode: '12345' \(a GB postcode is an area", None),
        ("NP2", r"^unknown postcode district NP2 .*NP20", None),
    ],
)
def test_malformed_and_unknown_list_nearest_valid_spellings(text, pattern, first):
    with pytest.raises(LocateError, match=pattern) as exc:
        pc.lookup(text, data_dir=DATA)
    assert exc.value.exit_code == 5
    msg = str(exc.value)
    if first:
        assert msg.split("nearest valid postcodes: ")[1].split(",")[0] == first
    if "nearest valid postcodes" in msg:
        shown = msg.split("nearest valid postcodes: ")[1].split(", ")
        idx = pc.load_area("NP", data_dir=DATA)
        assert 0 < len(shown) <= 5 and all(idx.find(s) is not None for s in shown)  # all real


def test_unknown_unit_suggestions_keep_the_outward_code():
    idx = pc.load_area("NP", data_dir=DATA)
    got = pc.suggest("NP201HX", idx)
    assert got and all(s.startswith("NP20 1") for s in got)


def test_a_unit_without_coordinates_is_refused():
    # Code-Point Open quality 90: no grid reference (eastings and northings 0).
    with pytest.raises(LocateError, match="M35 5AN has no position"):
        pc.lookup("M35 5AN", data_dir=DATA)


def test_missing_area_file_says_which_and_how(tmp_path):
    with pytest.raises(DataError) as exc:
        pc.lookup("SW1A 1AA", data_dir=DATA)
    msg = str(exc.value)
    assert exc.value.exit_code == 3
    assert str(PCDIR / "sw.csv") in msg and "routeplan data fetch --postcodes SW" in msg and "Code-Point Open" in msg
    assert "https://api.os.uk/downloads/v1/products/CodePointOpen/downloads" in msg
    with pytest.raises(DataError, match=r"np\.csv is missing"):
        pc.lookup("NP20 1HG", data_dir=tmp_path)


def test_index_is_sorted_complete_and_cached(tmp_path):
    cache = tmp_path / "cache"
    idx = pc.load_area("NP", data_dir=DATA, cache_dir=cache)
    rows = sum(1 for line in (PCDIR / "np.csv").read_text().splitlines() if line.strip())
    assert len(idx) == rows and idx.sha256 == sha256_file(PCDIR / "np.csv")
    assert bool(np.all(idx.codes[:-1] < idx.codes[1:]))  # sorted, unique: a binary search finds each
    for r in range(0, len(idx), 997):
        assert idx.find(idx.code(r)) == r
    entries = sorted(cache.glob("postcodes-*.npz"))
    assert len(entries) == 1
    pc._MEMO.clear()
    again = pc.load_area("NP", data_dir=DATA, cache_dir=cache)
    assert again is not idx and np.array_equal(again.codes, idx.codes) and np.array_equal(again.lat, idx.lat, equal_nan=True)
    # A damaged entry is never trusted: rebuilt, same answer.
    entries[0].write_bytes(entries[0].read_bytes()[:-40])
    pc._MEMO.clear()
    rebuilt = pc.load_area("NP", data_dir=DATA, cache_dir=cache)
    assert np.array_equal(rebuilt.codes, idx.codes)


def test_manifest_describes_the_real_source():
    m = pc.manifest()
    src = m["source"]
    assert src["licence"] == "Open Government Licence v3.0" and "Code-Point Open" in src["title"]
    assert src["attribution"].startswith("Contains OS data © Crown copyright and database right 2023")
    assert src["attribution"] in (PCDIR / "SOURCES.md").read_text()
    assert src["download_url"].startswith("https://api.os.uk/downloads/v1/products/CodePointOpen/")
    for name, digest in m["sha256"].items():
        assert sha256_file(PCDIR / name) == digest, name


def test_fetch_postcodes_from_a_file_mirror(tmp_path):
    seen = []
    paths = pc.fetch_postcodes(["np", "RG"], data_dir=tmp_path, base_url=PCDIR.as_uri(), progress=lambda d, t: seen.append(d))
    assert [p.name for p in paths] == ["header.csv", "np.csv", "rg.csv"]
    for p in paths:
        assert p.read_bytes() == (PCDIR / p.name).read_bytes()
    assert seen and seen[-1] == sum(p.stat().st_size for p in paths) and seen == sorted(seen)
    pc._MEMO.clear()
    assert pc.lookup("RG1 8EQ", data_dir=tmp_path) == pc.lookup("RG1 8EQ", data_dir=DATA)


def test_fetch_postcodes_checks_checksums_and_areas(tmp_path):
    mirror = tmp_path / "mirror"
    shutil.copytree(PCDIR, mirror)
    for f in (mirror, *mirror.iterdir()):
        f.chmod(0o755 if f.is_dir() else 0o644)
    with (mirror / "np.csv").open("a") as fh:
        fh.write('"NP20 9ZZ",10,1,1,"","","","","",""\n')
    with pytest.raises(DataError, match="checksum mismatch"):
        pc.fetch_postcodes(["NP"], data_dir=tmp_path / "data", base_url=mirror.as_uri())
    assert not (tmp_path / "data" / "postcodes" / "np.csv").exists()
    with pytest.raises(DataError, match="unknown postcode area 'QQ'"):
        pc.fetch_postcodes(["QQ"], data_dir=tmp_path / "data", base_url=mirror.as_uri())
    with pytest.raises(DataError, match="cannot download"):
        pc.fetch_postcodes(["SW"], data_dir=tmp_path / "data", base_url=mirror.as_uri())
