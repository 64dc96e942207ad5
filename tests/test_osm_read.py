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

from routeplan.osm import (
    NOT_PLACES,
    PLACE_KEYS,
    SOURCE_TAG,
    OsmRoads,
    _centroid,
    _parse_opl_block,
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


@pytest.mark.parametrize("text", [
    "w1 T Nn1x-1.5y51.25,n2x-1.0000001y51,n3xy,n4x0.1y-0.0000002\n",
    "w77 Thighway=primary,name=A%20%b Nn123456789012x-179.9999999y-89.9999999\n",
    "n5 T x1 y2\nw2 T N\nw3 Tx=y Nn9x0y0,n10x180y90\n",
])
def test_opl_parser_matches_python(text: str) -> None:
    """The vectorised OPL parser against a plain Python reading of the same lines."""
    way_id, n_valid, ref, lon, lat = _parse_opl_block(text.encode())
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
