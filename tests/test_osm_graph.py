import bz2

import numpy as np
import pytest
from consuming import assert_consumed_alike
from datapaths import NEWPORT, RUTLAND
from drawn import write_osm

from routeplan.errors import DataError
from routeplan.graph import largest_scc, split_ways
from routeplan.osm import read_osm
from routeplan.vehicle import CoachProfile

PICTURE = """
a - b - c
    |   |
    d - e   f
"""


def test_drawn_map_graph(tmp_path):
    path = tmp_path / "m.osm"
    write_osm(path, PICTURE, [
        ("abc", {"highway": "residential", "name": "Top"}),
        ("bd", {"highway": "residential"}),
        ("de", {"highway": "residential", "oneway": "yes"}),
        ("ce", {"highway": "residential"}),
        ("ef", {"highway": "footway"}),
    ])
    roads = read_osm(path, CoachProfile())
    assert roads.way_id.tolist() == [1, 2, 3, 4]  # the footway is not a coach road
    assert roads.skipped_ways == 1
    seg = split_ways(roads)
    assert seg.a.shape[0] == 5  # Top is cut at b, its junction with bd
    big = largest_scc(seg)
    # a is a dead end on a two-way street, so still strongly connected; f is gone with the footway.
    assert big.stats["nodes"] == 5
    assert len({p.name for p in roads.places}) == 6


def test_one_way_trap_is_dropped(tmp_path):
    path = tmp_path / "m.osm"
    write_osm(path, PICTURE, [
        ("abc", {"highway": "residential"}),
        ("cef", {"highway": "residential", "oneway": "yes"}),  # f: can drive in, never out
    ])
    big = largest_scc(split_ways(read_osm(path, CoachProfile())))
    assert big.stats["nodes_before_scc"] == 3  # a, c, f (e is not a junction)
    assert big.stats["nodes"] == 2


def test_bz2_xml(tmp_path):
    plain = tmp_path / "m.osm"
    write_osm(plain, PICTURE, [("abc", {"highway": "primary"})])
    packed = tmp_path / "m.osm.bz2"
    packed.write_bytes(bz2.compress(plain.read_bytes()))
    assert read_osm(packed, CoachProfile()).way_id.tolist() == [1]


@pytest.mark.parametrize("content", [b"", b"this is not a pbf file at all" * 10])
def test_bad_files(tmp_path, content):
    path = tmp_path / "bad.osm.pbf"
    path.write_bytes(content)
    with pytest.raises(DataError, match="OSM file"):
        read_osm(path, CoachProfile())


def test_truncated_pbf(tmp_path):
    path = tmp_path / "cut.osm.pbf"
    path.write_bytes(NEWPORT.read_bytes()[:300_000])
    with pytest.raises(DataError):
        read_osm(path, CoachProfile())


def test_wrong_suffix_and_missing(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_osm(tmp_path / "nope.osm.pbf", CoachProfile())
    other = tmp_path / "x.txt"
    other.write_text("x")
    with pytest.raises(DataError, match="not an OSM file"):
        read_osm(other, CoachProfile())


@pytest.mark.integration
def test_real_extracts():
    rut = read_osm(RUTLAND, CoachProfile())
    # Rutland: the A1 is trunk, and there is no motorway.
    from routeplan.vehicle import CLASS_CODES

    assert (rut.way_class == CLASS_CODES["trunk"]).sum() > 50
    assert (rut.way_class == CLASS_CODES["motorway"]).sum() == 0
    new = read_osm(NEWPORT, CoachProfile())
    assert (new.way_class == CLASS_CODES["motorway"]).sum() == 44
    seg = largest_scc(split_ways(new))
    # Keeping the largest SCC drops only a small part of the junctions.
    assert seg.stats["nodes"] / seg.stats["nodes_before_scc"] > 0.9
    assert np.all(np.diff(seg.geom_ptr) >= 2)


def test_real_and_drawn_files_are_not_generated(tmp_path):
    """GENERATED comes from the file's own header/tags: a drawn map (another generator, no
    routeplan-synth tags) is not, even with a sidecar that claims it is."""
    path = tmp_path / "m.osm"
    write_osm(path, PICTURE, [("abc", {"highway": "primary"})])
    (tmp_path / "m.osm.json").write_text('{"generated": true}')
    assert read_osm(path, CoachProfile()).generated is False
    tagged = tmp_path / "t.osm"
    write_osm(tagged, PICTURE, [("abc", {"highway": "primary", "source": "routeplan-synth"})])
    assert read_osm(tagged, CoachProfile()).generated is True


def test_directory_is_not_an_osm_file(tmp_path):
    folder = tmp_path / "x.osm.pbf"
    folder.mkdir()
    with pytest.raises(DataError, match="not a file"):
        read_osm(folder, CoachProfile())


@pytest.mark.parametrize("path", [NEWPORT, RUTLAND])
def test_consuming_scc_gives_the_same_segments_and_empties_its_input(path):
    """``consume=True`` (the national build's memory saving) changes no output: the real
    extracts' largest SCC, array by array (some nodes are dropped on both, so the kept-point
    mask is exercised), and the segments it was handed are emptied, not half-kept."""
    seg = split_ways(read_osm(path, CoachProfile()))
    kept = largest_scc(seg)
    assert kept.stats["nodes"] < kept.stats["nodes_before_scc"]
    eaten = largest_scc(seg, consume=True)
    assert_consumed_alike(kept, eaten, seg)
