"""Synthetic PBF regions over real constituency polygons (routeplan.synth)."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from pathlib import Path

import geopandas
import pytest
import shapely
from datapaths import DATA
from pbfread import Parsed, parse, sha

from routeplan.errors import UsageError
from routeplan.synth import (
    MIN_TOWN_NODES,
    SynthResult,
    SynthSpec,
    generate_region,
    neighbours_around,
)

CENTRE = "W07000105"  # Newport West and Islwyn: Welsh, near England, has a real extract too
N_TOWNS = 6


@pytest.fixture(scope="module")
def boundaries() -> geopandas.GeoDataFrame:
    path = DATA / "boundaries" / "wpc-2024.gpkg"
    assert path.is_file(), f"boundary data missing: {path} (set ROUTEPLAN_DATA)"
    return geopandas.read_file(path)


@pytest.fixture(scope="module")
def codes(boundaries: geopandas.GeoDataFrame) -> tuple[str, ...]:
    return neighbours_around(boundaries, CENTRE, N_TOWNS)


@pytest.fixture(scope="module")
def region(
    boundaries: geopandas.GeoDataFrame,
    codes: tuple[str, ...],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[SynthResult, Parsed, list[tuple[int, int]]]:
    calls: list[tuple[int, int]] = []
    out = tmp_path_factory.mktemp("synth") / "region.osm.pbf"
    result = generate_region(boundaries, SynthSpec(codes), out,
                             progress=lambda done, total: calls.append((done, total)))
    return result, parse(out), calls


def test_neighbours_around_is_compact_and_deterministic(
    boundaries: geopandas.GeoDataFrame, codes: tuple[str, ...]
) -> None:
    assert codes[0] == CENTRE and len(codes) == N_TOWNS == len(set(codes))
    assert neighbours_around(boundaries, CENTRE, N_TOWNS) == codes
    proj = boundaries.to_crs(27700).set_index("code").geometry
    touching = [proj[c].distance(proj[CENTRE]) < 50 for c in codes[1:]]
    assert touching == sorted(touching, reverse=True)  # touching first
    assert all(touching[:3])
    with pytest.raises(UsageError):
        neighbours_around(boundaries, "X99999999", 3)


def test_counts_ids_and_generated_marks(region: tuple[SynthResult, Parsed, list]) -> None:
    result, parsed, calls = region
    assert (len(parsed.nodes), len(parsed.ways)) == (result.n_nodes, result.n_ways)
    assert parsed.node_order == sorted(parsed.node_order) and min(parsed.node_order) > 0
    way_ids = [w[0] for w in parsed.ways]
    assert way_ids == sorted(way_ids) and min(way_ids) > 0
    assert parsed.versions == {1} and parsed.timestamps == {"2024-01-01T00:00:00+00:00"}
    assert "GENERATED" in parsed.generator
    for _, _, tags in parsed.ways:
        assert tags["source"] == "routeplan-synth" and "generated" in tags["note"]
    lons = [n[0] for n in parsed.nodes.values()]
    lats = [n[1] for n in parsed.nodes.values()]
    assert result.bbox == pytest.approx((min(lons), min(lats), max(lons), max(lats)))
    assert calls[-1][0] == calls[-1][1] and [c[0] for c in calls] == sorted(c[0] for c in calls)
    sidecar = json.loads(Path(f"{result.pbf_path}.json").read_text())
    assert sidecar["generated"] is True and "synthetic" in sidecar["note"]
    assert (sidecar["n_nodes"], sidecar["n_ways"]) == (result.n_nodes, result.n_ways)
    assert sidecar["sha256"] == sha(result.pbf_path)
    assert tuple(sidecar["spec"]["codes"]) == result.codes


def test_motorway_carriageways_and_junctions(region: tuple[SynthResult, Parsed, list]) -> None:
    result, parsed, _ = region
    motorway = [t for _, _, t in parsed.ways if t["highway"] == "motorway"]
    links = [t for _, _, t in parsed.ways if t["highway"] == "motorway_link"]
    assert motorway and all(t["oneway"] == "yes" and t["ref"] == "M99" for t in motorway)
    assert all(t["maxspeed"] == "70 mph" for t in motorway)
    assert len(links) == 4 * len(result.codes) and all(t["oneway"] == "yes" for t in links)
    junctions = [t for *_, t in parsed.nodes.values() if t.get("highway") == "motorway_junction"]
    assert sorted({t["ref"] for t in junctions}, key=int) == [
        str(k) for k in range(1, len(result.codes) + 1)
    ]


def test_towns_lie_in_their_constituencies(
    region: tuple[SynthResult, Parsed, list], boundaries: geopandas.GeoDataFrame
) -> None:
    result, parsed, _ = region
    polys = boundaries.set_index("code")
    places = {t["name"]: (lon, lat) for lon, lat, t in parsed.nodes.values() if t.get("place")}
    assert len(places) == len(result.codes) == len(result.towns)
    for code in result.codes:
        name = f"{polys.loc[code, 'name']} Town"
        lon, lat = places[name]
        assert result.towns[name] == pytest.approx((lat, lon))
        assert polys.loc[code, "geometry"].contains(shapely.Point(lon, lat)), name
    halls = [t["name"] for *_, t in parsed.nodes.values() if t.get("amenity") == "townhall"]
    assert len(halls) == len(result.codes)


def test_primary_roads_cross_constituencies(
    region: tuple[SynthResult, Parsed, list], boundaries: geopandas.GeoDataFrame
) -> None:
    _, parsed, _ = region
    tree = shapely.STRtree(boundaries.geometry.to_numpy())
    codes = boundaries["code"].to_numpy()
    crossed: set[str] = set()
    multi = 0
    for _, refs, tags in parsed.ways:
        if tags["highway"] != "primary":
            continue
        pts = shapely.points([parsed.nodes[r][:2] for r in refs])
        hit = {codes[i] for i in tree.query(pts, predicate="within")[1]}
        crossed |= hit
        multi += len(hit) >= 2
    assert len(crossed) >= 3 and multi >= 3
    assert all(t["ref"].startswith("A") for _, _, t in parsed.ways if t["highway"] == "primary")


def test_special_cases_for_the_vehicle_filter(region: tuple[SynthResult, Parsed, list]) -> None:
    _, parsed, _ = region
    tags = [t for _, _, t in parsed.ways]
    assert any(t["highway"] == "residential" and t.get("oneway") == "yes" for t in tags)
    assert any(t["highway"] == "service" and t.get("access") == "private" for t in tags)
    assert any(t.get("maxheight") == "3.2" for t in tags)
    assert any(t.get("access") == "no" and t.get("bus") == "yes" for t in tags)
    assert sum(t["highway"] == "footway" for t in tags) >= 3


def test_coach_network_is_strongly_connected(region: tuple[SynthResult, Parsed, list]) -> None:
    """Every coach-legal node reaches and is reached from every other: no synthetic dead trap."""
    _, parsed, _ = region
    fwd: dict[int, set[int]] = defaultdict(set)
    rev: dict[int, set[int]] = defaultdict(set)
    for _, refs, t in parsed.ways:
        if t["highway"] == "footway" or t.get("maxheight") or t.get("access") == "private":
            continue
        for a, b in itertools.pairwise(refs):
            fwd[a].add(b)
            rev[b].add(a)
            if t.get("oneway") != "yes":
                fwd[b].add(a)
                rev[a].add(b)
    start = next(iter(fwd))
    for adj in (fwd, rev):
        seen, todo = {start}, [start]
        while todo:
            for nb in adj[todo.pop()]:
                if nb not in seen:
                    seen.add(nb)
                    todo.append(nb)
        assert seen == set(fwd) | set(rev)


def test_output_is_deterministic_and_seeded(
    region: tuple[SynthResult, Parsed, list], boundaries: geopandas.GeoDataFrame, tmp_path: Path
) -> None:
    result, _, _ = region
    again = generate_region(boundaries, SynthSpec(result.codes), tmp_path / "again.osm.pbf")
    assert sha(again.pbf_path) == sha(result.pbf_path)
    assert Path(f"{again.pbf_path}.json").read_text().replace("again.osm.pbf", "x") == Path(
        f"{result.pbf_path}.json"
    ).read_text().replace("region.osm.pbf", "x")
    other = generate_region(boundaries, SynthSpec(result.codes, seed=1), tmp_path / "s1.osm.pbf")
    assert sha(other.pbf_path) != sha(result.pbf_path)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_tiny_grid_shrinks_and_motorway_optional(
    boundaries: geopandas.GeoDataFrame, tmp_path: Path
) -> None:
    spec = SynthSpec(("E14001172",), grid_spacing_m=5000.0, motorway=False)  # central London
    result = generate_region(boundaries, spec, tmp_path / "tiny.osm.pbf")
    parsed = parse(result.pbf_path)
    assert not any(t["highway"].startswith("motorway") for _, _, t in parsed.ways)
    street_nodes = {r for _, refs, t in parsed.ways if t["highway"] != "footway" for r in refs}
    assert len(street_nodes) >= MIN_TOWN_NODES
    with pytest.raises(UsageError):
        generate_region(boundaries, SynthSpec(("E14001172", "NOPE")), tmp_path / "bad.osm.pbf")


def test_generated_is_read_from_the_pbf_itself_not_the_sidecar(
    region: tuple[SynthResult, Parsed, list], tmp_path: Path, b2024
) -> None:
    """The sidecar can go missing (copied without it, deleted): the file still says GENERATED.
    And a cache hit names the file given, not the one the cached build was made from."""
    import shutil

    from routeplan.network import build_network
    from routeplan.osm import read_osm
    from routeplan.vehicle import CoachProfile

    result, _, _ = region
    lone = tmp_path / "lone.osm.pbf"
    shutil.copy(result.pbf_path, lone)
    assert not Path(f"{lone}.json").exists()
    assert read_osm(lone, CoachProfile()).generated is True
    net = build_network(lone, b2024, cache_dir=tmp_path / "c")
    assert net.meta["generated"] is True and net.meta["cache"] == "miss"
    renamed = tmp_path / "renamed.osm.pbf"
    shutil.copy(lone, renamed)
    hit = build_network(renamed, b2024, cache_dir=tmp_path / "c")
    assert hit.meta["cache"] == "hit" and hit.meta["generated"] is True
    assert hit.meta["osm_file"] == "renamed.osm.pbf"
    assert build_network(lone, b2024, cache_dir=tmp_path / "c").meta["osm_file"] == "lone.osm.pbf"
