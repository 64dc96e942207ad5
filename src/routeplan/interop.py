"""Accept road graphs made elsewhere: an osmnx/networkx ``MultiDiGraph`` becomes a Network.

Users who are online build graphs with osmnx (``graph_from_place``, ``graph_from_xml`` ...).
Each directed edge becomes a one-way road with its geometry (``geometry`` attribute, or a straight
line), its class (``highway``), speed (``maxspeed``/``speed_kph``) and name; the coach rules of
:mod:`routeplan.vehicle` still apply to whatever tags the graph kept.  The result goes through the
same graph, overlay and policy stages as an OSM file.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from routeplan.boundaries import Boundaries
from routeplan.errors import DataError
from routeplan.network import MAX_OUTSIDE_SHARE, Network, assemble, check_coverage, check_share
from routeplan.osm import OsmRoads, Place, road_label
from routeplan.overlay import OverlayParams
from routeplan.vehicle import CLASS_CODES, ROAD_CLASSES, CoachProfile, way_access, way_speed_kph

_TAGS = ("highway", "maxspeed", "name", "ref", "access", "motor_vehicle", "bus", "psv", "maxheight", "maxweight", "maxwidth", "junction")


def _first(v: Any) -> Any:
    """osmnx keeps lists where simplification merged ways with different tags."""
    if isinstance(v, list):
        return v[0] if v else None
    return v


def roads_from_graph(G: Any, profile: CoachProfile | None = None) -> OsmRoads:
    """Convert a networkx ``MultiDiGraph`` with lon/lat nodes (``x``, ``y``) into coach roads."""
    profile = profile or CoachProfile()
    crs = str(G.graph.get("crs", "epsg:4326")).lower()
    if crs not in {"epsg:4326", "wgs84", "+init=epsg:4326"}:
        msg = f"graph is in CRS {crs}; give an unprojected (EPSG:4326) graph, e.g. ox.project_graph(G, to_latlong=True)"
        raise DataError(msg)
    node_index: dict[Any, int] = {}
    lon: list[float] = []
    lat: list[float] = []
    ids: list[int] = []

    def add_node(key: Any, x: float, y: float) -> int:
        node_index[key] = len(lon)
        lon.append(float(x))
        lat.append(float(y))
        ids.append(int(key) if isinstance(key, (int, np.integer)) else -len(ids) - 1)
        return node_index[key]

    for n, d in G.nodes(data=True):
        if "x" not in d or "y" not in d:
            msg = f"graph node {n!r} has no x/y coordinates"
            raise DataError(msg)
        add_node(n, d["x"], d["y"])
    w_id, w_cls, w_kph, w_name, w_ptr, w_nodes = [], [], [], [], [0], []
    skipped = 0
    for k, (u, v, d) in enumerate(G.edges(data=True)):
        tags = {t: str(_first(d[t])) for t in _TAGS if d.get(t) is not None}
        hw = tags.get("highway")
        if hw not in ROAD_CLASSES:
            skipped += 1
            continue
        tags["oneway"] = "yes"  # a directed edge drives one way; its twin edge is the other way
        usable, _, _ = way_access(tags, profile)
        if not usable:
            skipped += 1
            continue
        seq = [node_index[u]]
        geom = d.get("geometry")
        if geom is not None:
            coords = list(geom.coords)[1:-1]
            for i, (x, y) in enumerate(coords):
                seq.append(add_node(("geom", k, i), x, y))
        seq.append(node_index[v])
        if len(seq) < 2 or (len(seq) == 2 and seq[0] == seq[1]):
            continue
        w_nodes.extend(seq)
        w_ptr.append(len(w_nodes))
        osmid = _first(d.get("osmid"))
        w_id.append(int(osmid) if isinstance(osmid, (int, np.integer)) else -k - 1)
        w_cls.append(CLASS_CODES[hw])
        w_kph.append(float(d["speed_kph"]) if "speed_kph" in d and "maxspeed" not in d else way_speed_kph(tags, profile))
        w_name.append(road_label(tags))
    if not w_id:
        msg = "the graph has no edges a coach may use"
        raise DataError(msg)
    n = len(w_id)
    return OsmRoads(
        node_id=np.asarray(ids, dtype=np.int64),
        node_lon=np.asarray(lon),
        node_lat=np.asarray(lat),
        node_delay=np.zeros(len(lon)),
        way_id=np.asarray(w_id, dtype=np.int64),
        way_class=np.asarray(w_cls, dtype=np.int8),
        way_kph=np.asarray(w_kph, dtype=np.float64),
        way_fwd=np.ones(n, dtype=np.bool_),
        way_bwd=np.zeros(n, dtype=np.bool_),
        way_ptr=np.asarray(w_ptr, dtype=np.int64),
        way_nodes=np.asarray(w_nodes, dtype=np.int64),
        way_name=w_name,
        places=[Place(str(d["name"]), "graph node", float(d["y"]), float(d["x"]), f"n{n_}") for n_, d in G.nodes(data=True) if isinstance(d.get("name"), str)],
        skipped_ways=skipped,
    )


def network_from_graph(
    G: Any,
    boundaries: Boundaries,
    *,
    profile: CoachProfile | None = None,
    params: OverlayParams | None = None,
    max_outside_share: float = MAX_OUTSIDE_SHARE,
) -> Network:
    """A Network from an osmnx/networkx graph (not cached: the graph has no file to checksum).

    Like :func:`routeplan.network.build_network`, refuses (DataError) a boundary set that leaves
    more than ``max_outside_share`` of the road km outside every constituency.
    """
    limit = check_share(max_outside_share)
    profile = profile or CoachProfile()
    roads = roads_from_graph(G, profile)
    meta = {"osm_file": str(G.graph.get("name", "networkx graph")), "generated": False, "source": "networkx"}
    net = assemble(roads, boundaries, profile=profile, params=params or OverlayParams(), meta=meta)
    check_coverage(net, limit)
    return net
