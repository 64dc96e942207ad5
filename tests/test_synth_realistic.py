"""Realistic GENERATED networks (routeplan.synth_roads): structure, water, motorways, connectivity.

One small network (6 seats around Reading Central: the Thames, the M4, A329(M) and A404(M)) is
generated once; every property is checked on the written PBF, read back independently (pbfread),
not on the generator's own arrays.  The GB presets are benchmarks (bench/), not tests.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

import geopandas
import numpy as np
import pytest
import shapely
from datapaths import DATA
from pbfread import Parsed, parse, sha
from pyproj import Transformer

from routeplan.errors import UsageError
from routeplan.graph import largest_scc, split_ways
from routeplan.osm import read_osm
from routeplan.synth import PRESETS, SIZES, SynthResult, generate_national, neighbours_around
from routeplan.synth_roads import REALISTIC_SIZES, RealisticSize, generate_realistic, river_lines
from routeplan.vehicle import CoachProfile

MOTORWAYS = DATA / "roads" / "gb-motorways-os-openroads.fgb"
CENTRE = "E14001438"  # Reading Central
SMALL = replace(REALISTIC_SIZES["realistic-county"], n_constituencies=6, block=3)
MOTORWAY_CLASSES = ("motorway", "motorway_link")


@pytest.fixture(scope="module")
def boundaries() -> geopandas.GeoDataFrame:
    assert MOTORWAYS.is_file(), f"motorway skeleton missing: {MOTORWAYS} (set ROUTEPLAN_DATA)"
    return geopandas.read_file(DATA / "boundaries" / "wpc-2024.gpkg")


@pytest.fixture(scope="module")
def small(
    boundaries: geopandas.GeoDataFrame, tmp_path_factory: pytest.TempPathFactory
) -> tuple[SynthResult, Parsed, list[tuple[int, int]]]:
    calls: list[tuple[int, int]] = []
    out = tmp_path_factory.mktemp("realistic") / "small.osm.pbf"
    result = generate_realistic(boundaries, out, size=SMALL, centre_code=CENTRE,
                                motorways_path=MOTORWAYS,
                                progress=lambda done, total: calls.append((done, total)))
    return result, parse(out), calls


@pytest.fixture(scope="module")
def segments(small: tuple[SynthResult, Parsed, list]) -> dict[str, np.ndarray]:
    """Every consecutive node pair of every way, in EPSG:27700 metres, with its way's tags."""
    _, parsed, _ = small
    ids = np.array(sorted(parsed.nodes))
    lonlat = np.array([parsed.nodes[i][:2] for i in ids])
    x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(lonlat[:, 0], lonlat[:, 1])
    a, z, way = [], [], []
    for k, (_, refs, _) in enumerate(parsed.ways):
        idx = np.searchsorted(ids, refs)
        a.extend(idx[:-1])
        z.extend(idx[1:])
        way.extend([k] * (len(refs) - 1))
    a, z, way = np.array(a), np.array(z), np.array(way)
    tags = [t for _, _, t in parsed.ways]
    hw = np.array([tags[w]["highway"] for w in way])
    bridge = np.array(["bridge" in tags[w] or "tunnel" in tags[w] for w in way])
    lines = shapely.linestrings(np.stack([np.column_stack([x[a], y[a]]),
                                          np.column_stack([x[z], y[z]])], axis=1))
    return {"a": ids[a], "z": ids[z], "way": way, "highway": hw, "bridge": bridge,
            "lines": lines, "x": x, "y": y, "ids": ids}


def test_written_counts_marks_and_progress(small: tuple[SynthResult, Parsed, list]) -> None:
    result, parsed, calls = small
    assert (len(parsed.nodes), len(parsed.ways)) == (result.n_nodes, result.n_ways)
    assert parsed.node_order == list(range(1, result.n_nodes + 1))
    assert [w[0] for w in parsed.ways] == list(range(1, result.n_ways + 1))
    assert "GENERATED" in parsed.generator
    assert all(t["source"] == "routeplan-synth" for _, _, t in parsed.ways)
    assert calls[-1][0] == calls[-1][1] and [c[0] for c in calls] == sorted(c[0] for c in calls)
    side = json.loads(Path(f"{result.pbf_path}.json").read_text())
    assert side["generated"] is True and side["sha256"] == sha(result.pbf_path)
    assert side["stats"]["ways"] == result.n_ways
    assert side["codes"] == list(neighbours_around(
        geopandas.read_file(DATA / "boundaries" / "wpc-2024.gpkg").query("~code.str.startswith('N')"),
        CENTRE, 6))


def test_hierarchy_of_classes(small: tuple[SynthResult, Parsed, list],
                              segments: dict[str, np.ndarray]) -> None:
    """Every level present, local streets the bulk, arterials few; the levels meet at junctions
    only: residential streets never touch trunk roads or motorways, and they touch primary roads
    far less often than in a grid (where every street meets every cross street)."""
    _, parsed, _ = small
    share = Counter(segments["highway"].tolist())
    for cls in ("motorway", "motorway_link", "trunk", "primary", "secondary", "tertiary",
                "unclassified", "residential"):
        assert share[cls] > 0, cls
    total = sum(share.values())
    assert share["residential"] / total > 0.35
    assert (share["primary"] + share["trunk"]) / total < 0.08
    nodes_of: dict[str, set[int]] = defaultdict(set)
    for _, refs, t in parsed.ways:
        nodes_of[t["highway"]].update(refs)
    assert not nodes_of["residential"] & (nodes_of["trunk"] | nodes_of["motorway"])
    primary_km = float(shapely.length(segments["lines"][segments["highway"] == "primary"]).sum()) / 1000
    meets = len(nodes_of["residential"] & nodes_of["primary"])
    assert meets / primary_km < 0.5  # per km of primary road (a 250 m grid would give ~8)


def test_roads_cross_only_at_junctions(segments: dict[str, np.ndarray]) -> None:
    """Planar apart from grade separation: two non-motorway, non-bridge segments that cross
    always share a node."""
    local = np.flatnonzero(~np.isin(segments["highway"], MOTORWAY_CLASSES) & ~segments["bridge"])
    lines = segments["lines"][local]
    left, right = shapely.STRtree(lines).query(lines, predicate="crosses")
    left, right = local[left[left < right]], local[right[left < right]]
    a, z = segments["a"], segments["z"]
    share = (a[left] == a[right]) | (a[left] == z[right]) | (z[left] == a[right]) | (z[left] == z[right])
    assert share.all(), f"{(~share).sum()} crossings without a junction"


def test_water_is_crossed_only_on_bridges(small: tuple[SynthResult, Parsed, list],
                                          segments: dict[str, np.ndarray],
                                          boundaries: geopandas.GeoDataFrame) -> None:
    result, _, _ = small
    lines, hw, bridge = segments["lines"], segments["highway"], segments["bridge"]
    road = ~np.isin(hw, MOTORWAY_CLASSES)
    rivers = river_lines()
    assert "Thames" in dict(rivers)
    crossings = 0
    for name, river in rivers:
        hit = shapely.intersects(lines, river)
        assert not (hit & road & ~bridge).any(), name
        crossings += int((hit & road).sum())
    assert 1 <= crossings <= 12  # the Thames near Reading: a few bridges, not every street
    # tidal water and the sea are gaps in the polygons: nothing but bridges leaves the land
    land = shapely.buffer(shapely.union_all(
        boundaries.set_index("code").loc[list(result.codes)].to_crs(27700).geometry.to_numpy()), 30)
    shapely.prepare(land)
    assert shapely.contains(land, lines[road & ~bridge]).all()


def test_motorways_are_dual_and_joined_only_at_junctions(
    small: tuple[SynthResult, Parsed, list], segments: dict[str, np.ndarray]
) -> None:
    result, parsed, _ = small
    motorway = [(refs, t) for _, refs, t in parsed.ways if t["highway"] == "motorway"]
    links = [(refs, t) for _, refs, t in parsed.ways if t["highway"] == "motorway_link"]
    assert {"M4", "A329(M)"} <= {t["ref"] for _, t in motorway}
    assert all(t["oneway"] == "yes" and t["maxspeed"] == "70 mph" for _, t in motorway)
    assert links and all(t["oneway"] == "yes" for _, t in links)
    mw_nodes = {r for refs, _ in motorway for r in refs}
    # each slip runs between a carriageway and a junction node; a junction node has 4 slips
    hubs: Counter[int] = Counter()
    road_of: dict[int, str] = {}
    for refs, t in links:
        on_mw = (refs[0] in mw_nodes, refs[-1] in mw_nodes)
        assert on_mw in ((True, False), (False, True))
        hub = refs[-1] if on_mw[0] else refs[0]
        hubs[hub] += 1
        road_of[hub] = t["name"].split(" J")[0]  # "M4 J12 Slip Road"
    assert set(hubs.values()) == {4}
    # motorways meet other roads only at their ends (never mid-carriageway); junction nodes
    # tagged on the carriageway where the off-slip leaves
    other = {r for _, refs, t in parsed.ways if t["highway"] not in MOTORWAY_CLASSES for r in refs}
    touching = mw_nodes & other
    ends = Counter(r for refs, _ in motorway for r in (refs[0], refs[-1]))
    assert all(ends[r] >= 2 for r in touching)
    tagged = {nid for nid, (*_, t) in parsed.nodes.items() if t.get("highway") == "motorway_junction"}
    assert tagged <= mw_nodes and len(tagged) == len(hubs) * 2
    # real junction spacing: junctions of one motorway at least 1.2 km apart, a few km typical
    pos = {int(i): (x, y) for i, x, y in zip(segments["ids"], segments["x"], segments["y"], strict=True)}
    for road in set(road_of.values()):
        hub_xy = np.array([pos[h] for h in sorted(hubs) if road_of[h] == road])
        d = np.hypot(hub_xy[:, None, 0] - hub_xy[None, :, 0], hub_xy[:, None, 1] - hub_xy[None, :, 1])
        np.fill_diagonal(d, np.inf)
        assert d.min() >= 1200.0, road
    side = json.loads(Path(f"{result.pbf_path}.json").read_text())["stats"]
    assert 2.0 <= side["junction_spacing_km"]["median"] <= 10.0
    assert side["junctions"]["real"] >= side["junctions"]["synthetic"]


def test_settlements_are_heavy_tailed_clusters(small: tuple[SynthResult, Parsed, list]) -> None:
    result, parsed, _ = small
    places = Counter(t["place"] for *_, t in parsed.nodes.values() if "place" in t)
    assert places["town"] >= 3 and places["village"] + places["hamlet"] > places["town"]
    assert len(result.towns) == len(result.codes)  # every seat has its "<seat> Town"


def test_strongly_connected_for_the_coach(small: tuple[SynthResult, Parsed, list]) -> None:
    result, _, _ = small
    roads = read_osm(result.pbf_path, CoachProfile())
    assert roads.generated
    scc = largest_scc(split_ways(roads))
    assert scc.stats["nodes"] == scc.stats["nodes_before_scc"]


def test_build_network_routes_random_pairs(small: tuple[SynthResult, Parsed, list], b2024: object,
                                           tmp_path: Path) -> None:
    from routeplan.kernels.dijkstra import shortest_path
    from routeplan.network import build_network
    from routeplan.policy import ExpensePolicy

    result, _, _ = small
    net = build_network(result.pbf_path, b2024, cache_dir=tmp_path)
    assert net.meta["generated"] is True
    c = net.compile(ExpensePolicy())
    rng = np.random.default_rng(0)
    pairs = rng.integers(0, net.n_nodes, size=(50, 2))
    found = [shortest_path(c.indptr, c.heads, c.time_s, int(s), int(t)) is not None for s, t in pairs]
    assert all(found)


def test_deterministic_and_seeded(small: tuple[SynthResult, Parsed, list],
                                  boundaries: geopandas.GeoDataFrame, tmp_path: Path) -> None:
    result, _, _ = small
    again = generate_realistic(boundaries, tmp_path / "again.osm.pbf", size=SMALL,
                               centre_code=CENTRE, motorways_path=MOTORWAYS)
    assert sha(again.pbf_path) == sha(result.pbf_path)
    other = generate_realistic(boundaries, tmp_path / "s1.osm.pbf", size=SMALL, seed=1,
                               centre_code=CENTRE, motorways_path=MOTORWAYS)
    assert sha(other.pbf_path) != sha(result.pbf_path)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_presets_and_bad_arguments(boundaries: geopandas.GeoDataFrame, tmp_path: Path) -> None:
    assert list(SIZES) == ["county", "region", "nation", "gb"]  # grid stress cases unchanged
    assert set(REALISTIC_SIZES) <= set(PRESETS)
    assert REALISTIC_SIZES["realistic-gb"].n_constituencies is None
    out = tmp_path / "x.osm.pbf"
    with pytest.raises(UsageError):  # through the national entry point, as the CLI calls it
        generate_national(boundaries, out, size="realistic-planet", motorways_path=MOTORWAYS)
    with pytest.raises(UsageError):
        generate_realistic(boundaries, out, size=RealisticSize(3, block=1), motorways_path=MOTORWAYS)
    with pytest.raises(UsageError):
        generate_realistic(boundaries, out, size=SMALL, centre_code="N05000001",
                           motorways_path=MOTORWAYS)
    with pytest.raises(UsageError):
        generate_realistic(boundaries, out, size=SMALL, seed=-1, motorways_path=MOTORWAYS)
    assert not out.exists()
