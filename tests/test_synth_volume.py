"""GENERATED PBF of real download volume and mix (routeplan.synth_volume), on a tiny source."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import geopandas
import numpy as np
import osmium
import pytest
from datapaths import DATA

from routeplan import synth_volume as sv
from routeplan.graph import split_ways
from routeplan.osm import GENERATOR_PREFIX, read_osm
from routeplan.synth import SynthSpec, generate_region, neighbours_around
from routeplan.vehicle import CoachProfile

CENTRE = "W07000105"  # Newport West and Islwyn
CHUNK_KM = 150.0  # several chunks even on a tiny source


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = DATA / "boundaries" / "wpc-2024.gpkg"
    assert path.is_file(), f"boundary data missing: {path} (set ROUTEPLAN_DATA)"
    boundaries = geopandas.read_file(path)
    out = tmp_path_factory.mktemp("volume") / "roads.osm.pbf"
    generate_region(boundaries, SynthSpec(neighbours_around(boundaries, CENTRE, 2)), out)
    return out


@pytest.fixture(scope="module")
def volume(source: Path) -> sv.VolumeResult:
    return sv.generate_volume(source, source.parent / "volume.osm.pbf", seed=3, chunk_km=CHUNK_KM)


@pytest.fixture(scope="module")
def parsed(volume: sv.VolumeResult) -> dict[str, object]:
    """Every object of the volume file, read back with pyosmium."""
    order: list[tuple[str, int]] = []
    nodes: dict[int, tuple[float, float]] = {}
    tagged_nodes: Counter[str] = Counter()
    ways: dict[int, tuple[list[int], dict[str, str]]] = {}
    relations: list[tuple[int, list[tuple[str, int]], dict[str, str]]] = []
    for obj in osmium.FileProcessor(str(volume.path)):
        order.append((obj.type_str(), obj.id))
        if isinstance(obj, osmium.osm.Node):
            nodes[obj.id] = (obj.location.lon, obj.location.lat)
            if len(obj.tags):
                tagged_nodes[next(iter(obj.tags)).k] += 1
        elif isinstance(obj, osmium.osm.Way):
            ways[obj.id] = ([n.ref for n in obj.nodes], dict(obj.tags))
        elif isinstance(obj, osmium.osm.Relation):
            relations.append((obj.id, [(m.type, m.ref) for m in obj.members], dict(obj.tags)))
    return {"order": order, "nodes": nodes, "ways": ways, "relations": relations, "tagged_nodes": tagged_nodes}


def test_valid_sorted_and_referentially_complete(volume: sv.VolumeResult, parsed: dict) -> None:
    order = parsed["order"]
    assert order == sorted(order, key=lambda t: ("nwr".index(t[0]), t[1]))  # Type_then_ID, no repeats
    assert len(set(order)) == len(order)
    nodes, ways, relations = parsed["nodes"], parsed["ways"], parsed["relations"]
    assert (len(nodes), len(ways), len(relations)) == (volume.nodes, volume.ways, volume.relations)
    assert all(ref in nodes for refs, _ in ways.values() for ref in refs)
    for _, members, _ in relations:
        assert all((t == "w" and r in ways) or (t == "n" and r in nodes) for t, r in members)
    header = osmium.io.Reader(str(volume.path)).header()
    assert header.get("generator").startswith(GENERATOR_PREFIX)
    assert header.get("sorting") == "Type_then_ID"
    side = json.loads(Path(f"{volume.path}.json").read_text())
    assert side["generated"] is True and side["nodes"] == volume.nodes


def test_counts_in_the_intended_proportion(volume: sv.VolumeResult, parsed: dict) -> None:
    """Each kind of extra object at the GB density per road km (within 5 % or a few objects), and
    so the GB mix: buildings half the ways, highways about an eighth, 4 % of nodes tagged."""
    f = volume.road_km / sv.REFERENCE_ROAD_KM
    for kind in sv.WAY_KINDS:
        assert volume.counts[f"ways.{kind.name}"] == pytest.approx(kind.count * f, rel=0.05, abs=volume.chunks)
    for pkind in sv.NODE_KINDS:
        assert volume.counts[f"nodes.{pkind.name}"] == pytest.approx(pkind.count * f, rel=0.05, abs=volume.chunks)
    ways = parsed["ways"]
    highways = sum("highway" in tags for _, tags in ways.values())
    buildings = sum("building" in tags for _, tags in ways.values())
    assert 0.45 < buildings / len(ways) < 0.55
    assert 0.10 < highways / len(ways) < 0.20  # more roads per km than GB on a town-only source
    assert 0.02 < sum(parsed["tagged_nodes"].values()) / len(parsed["nodes"]) < 0.07
    expected = sv.expected_counts(volume.road_km, volume.road_ways, volume.road_nodes)
    for key in ("nodes", "ways", "relations"):
        assert getattr(volume, key) == pytest.approx(expected[key], rel=0.1)
    kinds = Counter(tags["type"] for _, _, tags in parsed["relations"])
    assert {"multipolygon", "restriction", "route"} <= set(kinds) <= {
        "multipolygon", "restriction", "route", "site", "associatedStreet", "public_transport"}
    assert kinds["multipolygon"] > kinds["route"]


def test_roads_densified_every_20_to_40_m(source: Path, volume: sv.VolumeResult, parsed: dict) -> None:
    nodes, ways = parsed["nodes"], parsed["ways"]
    gaps = []
    for refs, tags in ways.values():
        if tags.get("source") == "routeplan-synth":  # the source's road ways
            xy = np.array([nodes[r] for r in refs])
            k = np.cos(np.radians(xy[:, 1].mean()))
            gaps.append(np.hypot(np.diff(xy[:, 0]) * k, np.diff(xy[:, 1])) * sv.EARTH_M_PER_DEG)
    gap = np.concatenate(gaps)
    assert len(gaps) == volume.road_ways
    assert 18 < np.median(gap) < 42 and np.percentile(gap, 95) < 65


def test_read_gives_the_source_road_graph(source: Path, volume: sv.VolumeResult, parsed: dict) -> None:
    """The extras are skipped, the shape nodes kept as geometry: same junctions, segments, classes,
    speeds, directions and lengths as the roads-only source."""
    profile = CoachProfile()
    base, vol = read_osm(source, profile), read_osm(volume.path, profile)
    assert vol.generated and base.generated
    assert vol.way_id.shape == base.way_id.shape
    # road_nodes also counts the shape nodes of the source's own footways (not coach roads).
    assert volume.road_nodes >= vol.node_id.shape[0] > 3 * base.node_id.shape[0]
    extra_highways = sum("highway" in t and t.get("source") != "routeplan-synth" for _, t in parsed["ways"].values())
    assert extra_highways >= volume.counts["ways.paths"]
    assert vol.skipped_ways == extra_highways + base.skipped_ways  # footways, tracks, private drives

    a, pa, la = _segments(base)
    b, pb, lb = _segments(vol)
    np.testing.assert_array_equal(a, b)
    assert np.all(pb >= pa) and pb.sum() > 2 * pa.sum()
    # The shape nodes are collinear: each segment keeps its length to within a centimetre or two
    # (the new nodes are rounded to 1e-7 degrees).
    np.testing.assert_allclose(lb, la, atol=0.02)


def _segments(roads):
    """The road graph's segments as sorted rows (end coordinates as 1e-7 integers, class, speed,
    directions), with their geometry point counts and lengths in the same order."""
    seg = split_ways(roads)
    fix = lambda a: np.rint(a * 1e7).astype(np.int64)
    rows = np.stack([fix(seg.node_lon[seg.a]), fix(seg.node_lat[seg.a]), fix(seg.node_lon[seg.b]), fix(seg.node_lat[seg.b]),
                     roads.way_class[seg.way].astype(np.int64), np.rint(roads.way_kph[seg.way] * 1e6).astype(np.int64),
                     seg.fwd.astype(np.int64), seg.bwd.astype(np.int64)], axis=1)
    lengths = _lengths(seg)
    order = np.lexsort((np.rint(lengths * 10), *rows.T[::-1]))
    return rows[order], np.diff(seg.geom_ptr)[order], lengths[order]


def _lengths(seg) -> np.ndarray:
    """Haversine length of each segment's geometry (m)."""
    lon, lat = np.radians(seg.geom_lon), np.radians(seg.geom_lat)
    h = np.sin(np.diff(lat) / 2) ** 2 + np.cos(lat[:-1]) * np.cos(lat[1:]) * np.sin(np.diff(lon) / 2) ** 2
    d = 2 * 6_371_008.8 * np.arcsin(np.sqrt(h))
    inner = np.ones(d.shape[0], dtype=bool)
    inner[seg.geom_ptr[1:-1] - 1] = False
    owner = np.repeat(np.arange(seg.geom_ptr.shape[0] - 1), np.diff(seg.geom_ptr))[:-1]
    return np.bincount(owner[inner], weights=d[inner], minlength=seg.geom_ptr.shape[0] - 1)


def test_deterministic_by_seed(source: Path, volume: sv.VolumeResult, tmp_path: Path) -> None:
    again = sv.generate_volume(source, tmp_path / "again.osm.pbf", seed=3, chunk_km=CHUNK_KM)
    other = sv.generate_volume(source, tmp_path / "other.osm.pbf", seed=4, chunk_km=CHUNK_KM)
    digest = lambda p: hashlib.sha256(Path(p).read_bytes()).hexdigest()
    assert digest(again.path) == digest(volume.path)
    assert digest(other.path) != digest(volume.path)
    assert other.road_ways == volume.road_ways  # the same roads, other extras


def test_scale_keeps_the_southern_share(source: Path, volume: sv.VolumeResult, tmp_path: Path) -> None:
    half = sv.generate_volume(source, tmp_path / "half.osm.pbf", scale=0.5, seed=3, chunk_km=CHUNK_KM)
    assert half.road_km == pytest.approx(0.5 * volume.road_km, rel=0.05)
    assert half.nodes == pytest.approx(0.5 * volume.nodes, rel=0.1)
    south = read_osm(half.path, CoachProfile())
    whole = read_osm(volume.path, CoachProfile())
    assert np.median(south.node_lat) < np.median(whole.node_lat)
    with pytest.raises(ValueError, match="scale"):
        sv.generate_volume(source, tmp_path / "x.osm.pbf", scale=0.0)
    with pytest.raises(ValueError, match="scale"):
        sv.generate_volume(source, tmp_path / "x.osm.pbf", scale=1.5)


def test_build_network_sees_generated(volume: sv.VolumeResult, b2024, tmp_path: Path) -> None:
    from routeplan.network import build_network

    net = build_network(volume.path, b2024, cache_dir=tmp_path / "cache")
    assert net.meta["generated"] is True
    assert net.n_nodes > 0
