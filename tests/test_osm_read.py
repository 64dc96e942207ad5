"""read_osm's two strategies (one pass with a location index over all nodes; two passes tracking
only the road nodes) against the reader they replaced, kept here as the oracle: same arrays,
places, names and counts on the real extracts and on a drawn file full of edge cases."""

from __future__ import annotations

import dataclasses
from array import array
from pathlib import Path

import numpy as np
import osmium
import pytest
from datapaths import NEWPORT, RUTLAND

import routeplan.osm as osm_mod
from routeplan.osm import (
    NOT_PLACES,
    PLACE_KEYS,
    SOURCE_TAG,
    OsmRoads,
    _centroid,
    _opl_lines,
    _opl_refs,
    _opl_tags,
    _parse_opl_block,
    _parse_opl_block_numba,
    break_place_kind,
    read_osm,
    road_label,
)
from routeplan.vehicle import CLASS_CODES, CoachProfile, node_delay_s, way_access, way_speed_kph

ARRAYS = ("node_id", "node_lon", "node_lat", "node_delay", "way_id", "way_class", "way_kph",
          "way_fwd", "way_bwd", "way_ptr", "way_nodes")


def reference_read(path: Path, profile: CoachProfile) -> dict[str, object]:
    """The one-pass reader as it was before the two-pass reader (routeplan 69dfda1), minus its
    error handling: a dict node index, a Python call per node reference."""
    node_index: dict[int, int] = {}
    lons, lats, ids = array("d"), array("d"), array("q")
    w_id, w_cls, w_kph, w_fwd, w_bwd = array("q"), [], [], [], []
    w_ptr, w_nodes, w_name = array("q", [0]), array("q"), []
    places, delay_of, skipped = [], {}, 0
    src_key, src_val = SOURCE_TAG
    fp = (osmium.FileProcessor(str(path)).with_locations()
          .with_filter(osmium.filter.KeyFilter("highway", *PLACE_KEYS))
          .with_filter(osmium.filter.KeyFilter("highway", "name", src_key)))
    generated = str(fp.header.get("generator", "")).startswith("routeplan.synth")
    for obj in fp:
        if isinstance(obj, osmium.osm.Way):
            tags = dict(obj.tags)
            generated = generated or tags.get(src_key) == src_val
            name = tags.get("name")
            if "highway" not in tags:
                if name:
                    kind = next((f"{k}={tags[k]}" for k in PLACE_KEYS if k in tags), None)
                    if kind is not None and kind not in NOT_PLACES:
                        pts = [(n.location.lon, n.location.lat) for n in obj.nodes if n.location.valid()]
                        if pts:
                            arr = np.asarray(pts)
                            places.append((name, kind, float(arr[:, 1].mean()), float(arr[:, 0].mean()), f"w{obj.id}"))
                continue
            svc = break_place_kind(tags)
            if svc is not None:
                pts = [(n.location.lon, n.location.lat) for n in obj.nodes if n.location.valid()]
                if pts:
                    lat, lon = _centroid(pts)
                    places.append((name or "services", svc, lat, lon, f"w{obj.id}"))
            usable, fwd, bwd = way_access(tags, profile)
            if not usable:
                skipped += 1
                continue
            refs = []
            for n in obj.nodes:
                if not n.location.valid():
                    continue
                idx = node_index.get(n.ref)
                if idx is None:
                    idx = node_index[n.ref] = len(ids)
                    ids.append(n.ref)
                    lons.append(n.location.lon)
                    lats.append(n.location.lat)
                refs.append(idx)
            if len(refs) < 2:
                continue
            w_id.append(obj.id)
            w_cls.append(CLASS_CODES[tags["highway"]])
            w_kph.append(way_speed_kph(tags, profile))
            w_fwd.append(fwd)
            w_bwd.append(bwd)
            w_nodes.extend(refs)
            w_ptr.append(len(w_nodes))
            w_name.append(road_label(tags))
        elif isinstance(obj, osmium.osm.Node):
            tags = dict(obj.tags)
            d = node_delay_s(tags, profile)
            if d > 0:
                delay_of[obj.id] = d
            name = tags.get("name")
            if name and any(k in tags for k in PLACE_KEYS):
                kind = next(f"{k}={tags[k]}" for k in PLACE_KEYS if k in tags)
                if kind not in NOT_PLACES:
                    places.append((name, kind, obj.location.lat, obj.location.lon, f"n{obj.id}"))
            svc = break_place_kind(tags)
            if svc is not None and obj.location.valid():
                places.append((name or "services", svc, obj.location.lat, obj.location.lon, f"n{obj.id}"))
    node_delay = np.zeros(len(ids))
    for osm_id, d in delay_of.items():
        if osm_id in node_index:
            node_delay[node_index[osm_id]] = d
    return {
        "node_id": np.frombuffer(ids, dtype=np.int64), "node_lon": np.frombuffer(lons), "node_lat": np.frombuffer(lats),
        "node_delay": node_delay, "way_id": np.frombuffer(w_id, dtype=np.int64),
        "way_class": np.asarray(w_cls, dtype=np.int8), "way_kph": np.asarray(w_kph, dtype=np.float64),
        "way_fwd": np.asarray(w_fwd, dtype=np.bool_), "way_bwd": np.asarray(w_bwd, dtype=np.bool_),
        "way_ptr": np.frombuffer(w_ptr, dtype=np.int64), "way_nodes": np.frombuffer(w_nodes, dtype=np.int64),
        "way_name": w_name, "places": places, "skipped_ways": skipped, "generated": generated,
    }


def assert_same(got: OsmRoads, ref: dict[str, object]) -> None:
    for f in ARRAYS:
        want = ref[f]
        assert isinstance(want, np.ndarray)
        assert getattr(got, f).dtype == want.dtype, f
        np.testing.assert_array_equal(getattr(got, f), want, err_msg=f)  # exact, floats included
    assert got.way_name == ref["way_name"]
    assert [dataclasses.astuple(p) for p in got.places] == ref["places"]
    assert got.skipped_ways == ref["skipped_ways"]
    assert got.generated == ref["generated"]


@pytest.mark.integration
@pytest.mark.parametrize("path", [NEWPORT, RUTLAND], ids=["newport", "rutland"])
@pytest.mark.parametrize("two_pass", [False, True], ids=["one-pass", "two-pass"])
def test_real_extracts_read_as_before(path: Path, two_pass: bool) -> None:
    assert path.is_file(), f"real extract missing: {path} (set ROUTEPLAN_DATA)"
    profile = CoachProfile()
    got = read_osm(path, profile, two_pass=two_pass)
    assert_same(got, reference_read(path, profile))
    assert got.way_id.shape[0] > 4000 and got.places


EDGE_XML = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="tests">
  <node id="1" version="1" lat="51.5" lon="-3.0"/>
  <node id="2" version="1" lat="51.5000001" lon="-2.9999999"><tag k="highway" v="traffic_signals"/></node>
  <node id="3" version="1" lat="51.501" lon="-2.998"/>
  <node id="4" version="1" lat="51.502" lon="-2.997"><tag k="name" v="Stow Hill"/><tag k="place" v="suburb"/></node>
  <node id="5" version="1" lat="51.503" lon="-2.996"/>
  <node id="6" version="1" lat="51.504" lon="3.0"><tag k="highway" v="services"/></node>
  <node id="7" version="1" lat="-0.0000002" lon="0.0000001"/>
  <node id="8" version="1" lat="0" lon="-0.1"/>
  <node id="9" version="1" lat="51.505" lon="-2.995"><tag k="highway" v="bus_stop"/><tag k="name" v="Kingsway"/><tag k="public_transport" v="platform"/></node>
  <node id="10" version="1" lat="51.506" lon="-2.994"><tag k="highway" v="crossing"/><tag k="crossing" v="traffic_signals"/></node>
  <node id="11" version="1" lat="51.507" lon="-2.993"/>
  <node id="12" version="1" lat="51.508" lon="-2.992"/>
  <node id="13" version="1" lat="51.509" lon="-2.991"/>
  <way id="20" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="99"/><nd ref="5"/>
    <tag k="highway" v="primary"/><tag k="ref" v="A48"/><tag k="name" v="Cardiff Road, =x y@"/></way>
  <way id="21" version="1"><nd ref="98"/><nd ref="3"/><nd ref="97"/><tag k="highway" v="residential"/></way>
  <way id="22" version="1"><nd ref="7"/><nd ref="8"/><nd ref="10"/><nd ref="5"/><tag k="highway" v="unclassified"/><tag k="oneway" v="-1"/></way>
  <way id="23" version="1"><nd ref="11"/><nd ref="12"/><nd ref="13"/><nd ref="11"/><tag k="highway" v="services"/><tag k="name" v="Magor"/></way>
  <way id="24" version="1"><nd ref="11"/><nd ref="12"/><nd ref="13"/><tag k="building" v="yes"/><tag k="name" v="Kiln"/></way>
  <way id="25" version="1"><nd ref="12"/><nd ref="13"/><tag k="highway" v="footway"/></way>
  <way id="26" version="1"><nd ref="12"/><nd ref="13"/><tag k="railway" v="rail"/><tag k="name" v="Main line"/></way>
  <way id="27" version="1"><nd ref="96"/><nd ref="95"/><tag k="building" v="yes"/><tag k="name" v="Lost"/></way>
  <way id="28" version="1"><nd ref="12"/><nd ref="3"/><tag k="highway" v="motorway"/><tag k="access" v="no"/></way>
  <way id="29" version="1"><nd ref="3"/><nd ref="12"/><nd ref="1"/><tag k="highway" v="tertiary"/><tag k="maxspeed" v="30 mph"/></way>
  <relation id="30" version="1"><member type="way" ref="20" role=""/><tag k="type" v="route"/><tag k="name" v="X5"/></relation>
</osm>
"""


@pytest.fixture(params=["osm", "pbf"])
def edge_file(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Missing nodes (ways cut, a way left with one node), a node exactly on 0/0 and signed
    tiny coordinates, delays, services and place ways and nodes, escaped names; as XML and PBF."""
    xml = tmp_path / "edge.osm"
    xml.write_text(EDGE_XML, encoding="utf-8")
    if request.param == "osm":
        return xml
    pbf = tmp_path / "edge.osm.pbf"
    writer = osmium.SimpleWriter(str(pbf))
    osmium.apply(str(xml), writer)
    writer.close()
    return pbf


@pytest.mark.parametrize("two_pass", [False, True], ids=["one-pass", "two-pass"])
def test_edge_cases_read_as_before(edge_file: Path, two_pass: bool) -> None:
    profile = CoachProfile()
    got = read_osm(edge_file, profile, two_pass=two_pass)
    assert_same(got, reference_read(edge_file, profile))
    # Way 21 keeps one valid node: dropped, but its node stays (as it always has).
    assert 21 not in got.way_id.tolist() and 3 in got.node_id.tolist()
    assert got.way_id.tolist() == [20, 22, 29]
    assert got.node_delay[got.node_id.tolist().index(2)] > 0
    assert {p.osm for p in got.places} >= {"w23", "w24", "n4", "n6", "n9"}
    assert "w27" not in {p.osm for p in got.places}  # no located node
    assert got.way_name[0] == "A48 Cardiff Road, =x y@"


def test_progress_counts_bytes_over_both_passes(edge_file: Path) -> None:
    size = edge_file.stat().st_size
    for two_pass, passes in ((False, 1), (True, 2)):
        calls: list[tuple[int, int]] = []
        read_osm(edge_file, CoachProfile(), two_pass=two_pass, progress=lambda d, t, c=calls: c.append((d, t)))
        assert calls[-1] == (passes * size, passes * size)
        done = [d for d, _ in calls]
        assert done == sorted(done) and all(t == passes * size for _, t in calls)


@pytest.mark.integration
@pytest.mark.parametrize("path", [NEWPORT], ids=["newport"])
def test_one_pass_variants_read_as_before(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The one-pass reader with pyosmium's public tag look-up (no private fast path) and with the
    numba OPL parser (as for a large file) gives the oracle's arrays too."""
    profile = CoachProfile()
    ref = reference_read(path, profile)
    monkeypatch.setattr(osm_mod, "_FAST_TAGS", False)
    monkeypatch.setattr(osm_mod, "NUMBA_OPL_BYTES", 0)
    assert_same(read_osm(path, profile, two_pass=False), ref)


def _read_with_colliding_hashes(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every OPL line gets the same tag hash: the two-pass reader's byte comparison alone must
    keep distinct tag lists apart, so the arrays still equal the reference reader's."""
    real = osm_mod._opl_lines

    def one_hash(data: bytes) -> tuple[np.ndarray, ...]:
        kind, oid, span, fix, ok, digest, named = real(data)
        return kind, oid, span, fix, ok, np.zeros_like(digest), named

    monkeypatch.setattr(osm_mod, "_opl_lines", one_hash)
    profile = CoachProfile()
    assert_same(read_osm(path, profile, two_pass=True), reference_read(path, profile))


@pytest.mark.integration
def test_two_pass_with_colliding_hashes_reads_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """The two-pass reader judges each distinct tag list once, grouping lines by a hash of their
    tags; when every line gets the same hash the byte comparison must still keep them apart."""
    _read_with_colliding_hashes(NEWPORT, monkeypatch)


def test_edge_cases_with_colliding_hashes(edge_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _read_with_colliding_hashes(edge_file, monkeypatch)


@pytest.mark.parametrize("parse", [_parse_opl_block, _parse_opl_block_numba], ids=["numpy", "numba"])
@pytest.mark.parametrize("text", [
    "w1 T Nn1x-1.5y51.25,n2x-1.0000001y51,n3xy,n4x0.1y-0.0000002\n",
    "w77 Thighway=primary,name=A%20%b Nn123456789012x-179.9999999y-89.9999999\n",
    "n5 T x1 y2\nw2 T N\nw3 Tx=y Nn9x0y0,n10x180y90\n",
    "w4 T Nn1x-0.5y-0.5,n2xy0,n3x1y\n",
])
def test_opl_parser_matches_python(text: str, parse: object) -> None:
    """The OPL parsers (numpy's vectorised one, numba's loop) against a plain Python reading."""
    way_id, n_valid, ref, lon, lat = parse(text.encode())  # type: ignore[operator]
    want_ids, want_n, want_ref, want_lon, want_lat = [], [], [], [], []
    for line in text.splitlines():
        if not line.startswith("w"):
            continue
        want_ids.append(int(line[1:line.index(" ")]))
        body = line.rsplit(" ", 1)[1][1:]
        k = 0
        for tok in filter(None, body.split(",")):
            r, rest = tok[1:].split("x")
            x, y = rest.split("y")
            if x and y:
                k += 1
                want_ref.append(int(r))
                want_lon.append(round(float(x) * 1e7))
                want_lat.append(round(float(y) * 1e7))
        want_n.append(k)
    assert way_id.tolist() == want_ids and n_valid.tolist() == want_n
    assert ref.tolist() == want_ref and lon.tolist() == want_lon and lat.tolist() == want_lat


TRICKY_TAGS = [
    {"name": "A b,c=d%e@f\u00e9\u00a0\u00df \u4e2d", "highway": "bus_stop"},
    {"name": "%20%", "x y": "1,2", "": "empty key", "k": ""},
    {},
    {"building": "yes", "name": "Ty Coch \u0175", "name:cy": "T\u0177"},
]


def test_opl_lines_and_tags_round_trip(tmp_path: Path) -> None:
    """Objects written by libosmium as OPL come back with their ids, tags (escapes undone),
    locations and node refs; an unlocated node is marked so."""
    opl = tmp_path / "t.opl"
    writer = osmium.SimpleWriter(osmium.io.File(str(opl), "opl,add_metadata=false"), overwrite=True)
    locs = [(-3.0000001, 51.5), (0.0, -0.0000002), (179.9999999, -89.9999999), (1.25, 2.0)]
    for i, (tags, loc) in enumerate(zip(TRICKY_TAGS, locs, strict=True)):
        writer.add_node(osmium.osm.mutable.Node(id=10 + i, location=loc, tags=tags))
    writer.add_node(osmium.osm.mutable.Node(id=20, tags={"name": "nowhere", "place": "hamlet"}))
    ways = [(5, [1, 2, 3]), (6, []), (7, [123456789012])]
    for (wid, refs), tags in zip(ways, TRICKY_TAGS, strict=False):
        writer.add_way(osmium.osm.mutable.Way(id=wid, nodes=refs, tags=tags))
    writer.close()
    data = opl.read_bytes()
    kind, oid, span, fix, ok, digest, named = _opl_lines(data)
    assert kind.tolist() == [0] * 5 + [1] * 3
    assert oid.tolist() == [10, 11, 12, 13, 20, 5, 6, 7]
    got = [_opl_tags(data[a:b]) for a, b in span[:, 2:4].tolist()]
    assert got == [*TRICKY_TAGS, {"name": "nowhere", "place": "hamlet"}, *TRICKY_TAGS[:3]]
    assert named.tolist() == [("name" in t) for t in got]
    assert ok.tolist() == [True] * 4 + [False] * 4
    want = np.round(np.array(locs) * 1e7).astype(np.int64)
    np.testing.assert_array_equal(fix[:4], want)
    assert (fix[:4] / 1e7).tolist() == [list(loc) for loc in locs]  # as osmium.osm.Location gives them
    assert digest[0] == digest[5] and digest[1] == digest[6] and digest[0] != digest[1]  # same tags, same hash
    ref, cnt = _opl_refs(data, span[5:, 4], span[5:, 5])
    assert cnt.tolist() == [3, 0, 1] and ref.tolist() == [1, 2, 3, 123456789012]
