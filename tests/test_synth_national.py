"""National-scale synthetic networks over the real motorway skeleton (routeplan.synth).

Only the "county" preset (about 80k nodes, ~1 s) and a coarse all-GB custom size are generated
here; the bigger presets are benchmarks, not tests.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import geopandas
import numpy as np
import pytest
import shapely
from datapaths import DATA
from pbfread import Parsed, parse, sha

from routeplan.errors import UsageError
from routeplan.graph import largest_scc, split_ways
from routeplan.osm import read_osm
from routeplan.synth import (
    DEFAULT_CENTRE,
    SIZES,
    NationalSize,
    SynthResult,
    generate_national,
    neighbours_around,
)
from routeplan.vehicle import CLASS_CODES, CoachProfile

MOTORWAYS = DATA / "roads" / "gb-motorways-os-openroads.fgb"
# Every GB constituency, with coarse towns: exercises islands and the whole motorway network.
COARSE_GB = NationalSize(None, 1000.0, 0.05, 1000.0, 2000.0, (10_000, 200_000))


@pytest.fixture(scope="module")
def boundaries() -> geopandas.GeoDataFrame:
    assert MOTORWAYS.is_file(), f"motorway skeleton missing: {MOTORWAYS} (set ROUTEPLAN_DATA)"
    return geopandas.read_file(DATA / "boundaries" / "wpc-2024.gpkg")


@pytest.fixture(scope="module")
def county(
    boundaries: geopandas.GeoDataFrame, tmp_path_factory: pytest.TempPathFactory
) -> tuple[SynthResult, Parsed, list[tuple[int, int]]]:
    calls: list[tuple[int, int]] = []
    out = tmp_path_factory.mktemp("national") / "county.osm.pbf"
    result = generate_national(boundaries, out, size="county", motorways_path=MOTORWAYS,
                               progress=lambda done, total: calls.append((done, total)))
    return result, parse(out), calls


@pytest.fixture(scope="module")
def coarse_gb(
    boundaries: geopandas.GeoDataFrame, tmp_path_factory: pytest.TempPathFactory
) -> SynthResult:
    out = tmp_path_factory.mktemp("national") / "coarse-gb.osm.pbf"
    return generate_national(boundaries, out, size=COARSE_GB, motorways_path=MOTORWAYS)


def test_presets_are_ordered_and_county_lands_in_its_range(
    county: tuple[SynthResult, Parsed, list], boundaries: geopandas.GeoDataFrame
) -> None:
    assert list(SIZES) == ["county", "region", "nation", "gb"]
    lows = [SIZES[k].nodes[0] for k in SIZES]
    assert lows == sorted(lows) and SIZES["gb"].nodes[0] >= 3_000_000
    assert SIZES["nation"].n_constituencies is None is SIZES["gb"].n_constituencies
    result, parsed, calls = county
    lo, hi = SIZES["county"].nodes
    assert lo <= result.n_nodes <= hi
    assert (len(parsed.nodes), len(parsed.ways)) == (result.n_nodes, result.n_ways)
    assert parsed.node_order == list(range(1, result.n_nodes + 1))
    assert [w[0] for w in parsed.ways] == list(range(1, result.n_ways + 1))
    assert len(result.codes) == SIZES["county"].n_constituencies == len(result.towns)
    gb = boundaries[~boundaries["code"].str.startswith("N")]
    assert result.codes == neighbours_around(gb, DEFAULT_CENTRE, 10)
    assert calls[-1][0] == calls[-1][1] and [c[0] for c in calls] == sorted(c[0] for c in calls)


def test_sidecar_marks_generated_and_records_provenance(
    county: tuple[SynthResult, Parsed, list]
) -> None:
    result, _, _ = county
    side = json.loads(Path(f"{result.pbf_path}.json").read_text())
    assert side["generated"] is True and "synthetic" in side["note"]
    assert side["sha256"] == sha(result.pbf_path)
    assert (side["n_nodes"], side["n_ways"]) == (result.n_nodes, result.n_ways)
    assert side["spec"]["size"] == "county" and side["spec"]["centre_code"] == DEFAULT_CENTRE
    assert side["spec"]["motorways"] == MOTORWAYS.name
    assert "OS" in side["motorway_attribution"]
    assert "M4" in side["stats"]["motorway_refs"] and side["stats"]["junctions"] >= 3


def test_real_motorways_with_refs_two_way(county: tuple[SynthResult, Parsed, list]) -> None:
    _, parsed, _ = county
    motorway = [(refs, t) for _, refs, t in parsed.ways if t["highway"] == "motorway"]
    refs = Counter(t.get("ref") for _, t in motorway)
    assert refs["M4"] >= 20  # the real M4 past Reading, as many OS Open Roads segments
    assert {"M4", "A329(M)"} <= set(refs)
    assert all(t["oneway"] == "no" and t["maxspeed"] == "70 mph" for _, t in motorway)
    # the M4 lies where the real one does: between Reading and Wokingham, ~51.43-51.50 N
    lats = [parsed.nodes[r][1] for rs, t in motorway if t.get("ref") == "M4" for r in rs]
    assert 51.40 < float(np.median(lats)) < 51.52
    # segments share nodes: the skeleton is a connected network, not loose lines
    use = Counter(r for rs, _ in motorway for r in rs)
    assert sum(n >= 2 for n in use.values()) >= len(motorway) // 2
    # consecutive motorway nodes at most ~500 m apart (plus the 20 m snap)
    proj = geopandas.GeoSeries(
        [shapely.Point(parsed.nodes[r][:2]) for rs, _ in motorway for r in rs], crs=4326
    ).to_crs(27700)
    xy = np.column_stack([proj.x, proj.y])
    ends = np.cumsum([len(rs) for rs, _ in motorway])
    gaps = np.hypot(*np.diff(xy, axis=0).T)
    gaps[ends[:-1] - 1] = 0.0  # across ways
    assert gaps.max() < 560


def test_junctions_join_motorway_to_towns(county: tuple[SynthResult, Parsed, list]) -> None:
    _, parsed, _ = county
    junction = {nid for nid, (*_, t) in parsed.nodes.items()
                if t.get("highway") == "motorway_junction"}
    motorway_nodes = {r for _, refs, t in parsed.ways if t["highway"] == "motorway" for r in refs}
    links = [(refs, t) for _, refs, t in parsed.ways if t["highway"] == "motorway_link"]
    assert len(junction) >= 3 and junction <= motorway_nodes
    assert links and all(t["oneway"] == "no" for _, t in links)
    assert {refs[0] for refs, _ in links} == junction
    spurs = {refs[0]: refs[-1] for _, refs, t in parsed.ways
             if t["highway"] == "primary" and t.get("name", "").endswith("Link Road")}
    street = {r for _, refs, t in parsed.ways
              if t["highway"] in ("residential", "tertiary", "unclassified") for r in refs}
    for refs, _ in links:
        assert spurs[refs[-1]] in street  # slip road -> primary spur -> a town's street grid


def test_towns_and_streets_stay_in_their_constituencies(
    county: tuple[SynthResult, Parsed, list], boundaries: geopandas.GeoDataFrame
) -> None:
    result, parsed, _ = county
    polys = boundaries.set_index("code").loc[list(result.codes)]
    for code, name, poly in zip(result.codes, polys["name"], polys.geometry, strict=True):
        lat, lon = result.towns[f"{name} Town"]
        assert poly.contains(shapely.Point(lon, lat)), code
    street = sorted({r for _, refs, t in parsed.ways
                     if t["highway"] in ("residential", "tertiary", "unclassified") for r in refs})
    lonlat = np.array([parsed.nodes[r][:2] for r in street])
    inside = shapely.contains_xy(shapely.union_all(polys.geometry.to_numpy()), lonlat[:, 0],
                                 lonlat[:, 1])
    assert inside.mean() > 0.999  # grid nodes inside; a hair of slack for lon/lat rounding
    kinds = Counter(t["highway"] for _, _, t in parsed.ways)
    assert kinds["residential"] > kinds["unclassified"] > 0 and kinds["tertiary"] >= 20
    assert kinds["primary"] >= 10
    assert set(kinds) == {"residential", "unclassified", "tertiary", "primary", "motorway",
                          "motorway_link"}


def test_coach_graph_is_essentially_strongly_connected(
    county: tuple[SynthResult, Parsed, list]
) -> None:
    result, parsed, _ = county
    roads = read_osm(result.pbf_path, CoachProfile())
    motorway = roads.way_class == CLASS_CODES["motorway"]
    assert motorway.any() and (roads.way_fwd & roads.way_bwd)[motorway].all()
    scc = largest_scc(split_ways(roads))
    assert scc.stats["nodes"] > 0.95 * scc.stats["nodes_before_scc"]
    junction = [nid for nid, (*_, t) in parsed.nodes.items()
                if t.get("highway") == "motorway_junction"]
    assert np.isin(junction, scc.node_id).all()
    assert sum(p.kind == "place=town" for p in roads.places) == len(result.codes)


def test_output_is_deterministic_and_seeded(
    county: tuple[SynthResult, Parsed, list], boundaries: geopandas.GeoDataFrame, tmp_path: Path
) -> None:
    result, _, _ = county
    again = generate_national(boundaries, tmp_path / "again.osm.pbf", motorways_path=MOTORWAYS)
    assert sha(again.pbf_path) == sha(result.pbf_path)
    other = generate_national(boundaries, tmp_path / "s1.osm.pbf", seed=1,
                              motorways_path=MOTORWAYS)
    assert sha(other.pbf_path) != sha(result.pbf_path)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_routeplan_boundaries_give_the_same_bytes(
    county: tuple[SynthResult, Parsed, list], b2024: object, tmp_path: Path
) -> None:
    result, _, _ = county
    same = generate_national(b2024, tmp_path / "b.osm.pbf", motorways_path=MOTORWAYS)
    assert sha(same.pbf_path) == sha(result.pbf_path)


def test_all_gb_is_connected_across_islands_and_excludes_northern_ireland(
    coarse_gb: SynthResult, boundaries: geopandas.GeoDataFrame
) -> None:
    gb = boundaries[~boundaries["code"].str.startswith("N")]
    assert set(coarse_gb.codes) == set(gb["code"]) and len(coarse_gb.codes) == 632
    side = json.loads(Path(f"{coarse_gb.pbf_path}.json").read_text())
    stats = side["stats"]
    assert stats["crossings"] >= 2  # the Isle of Wight, Orkney and Shetland, ...
    assert {"M1", "M6", "M8", "M25", "A1(M)"} <= set(stats["motorway_refs"])
    assert stats["motorway_fragments_dropped"] >= 1
    roads = read_osm(coarse_gb.pbf_path, CoachProfile())
    scc = largest_scc(split_ways(roads))
    assert scc.stats["nodes"] == scc.stats["nodes_before_scc"]  # one network, islands and all
    assert side["spec"]["centre_code"] is None


def test_bad_arguments(boundaries: geopandas.GeoDataFrame, tmp_path: Path) -> None:
    out = tmp_path / "x.osm.pbf"
    with pytest.raises(UsageError):
        generate_national(boundaries, out, size="planet", motorways_path=MOTORWAYS)
    with pytest.raises(UsageError):
        generate_national(boundaries, out, centre_code="N05000001", motorways_path=MOTORWAYS)
    with pytest.raises(UsageError):
        generate_national(boundaries, out, motorways_path=tmp_path / "none.fgb")
    with pytest.raises(UsageError):
        generate_national(boundaries, out, size=replace(SIZES["county"], grid_spacing_m=0),
                          motorways_path=MOTORWAYS)
    assert not out.exists()


def test_region_far_from_motorways(boundaries: geopandas.GeoDataFrame, tmp_path: Path) -> None:
    tiny = NationalSize(3, 250.0, 0.1, 600.0, 1500.0, (500, 20_000))
    result = generate_national(boundaries, tmp_path / "ives.osm.pbf", size=tiny,
                               centre_code="E14001511", motorways_path=MOTORWAYS)  # St Ives
    assert tiny.nodes[0] <= result.n_nodes <= tiny.nodes[1]
    parsed = parse(result.pbf_path)
    assert not any(t["highway"].startswith("motorway") for _, _, t in parsed.ways)
