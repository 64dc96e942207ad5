"""Query OSRM or Valhalla in-process through their Python bindings (run by ``bench/peers.py``).

Runs under the peers' own Python >= 3.12 venv (``osrm-bindings`` and ``pyvalhalla`` need it), so
it imports only the standard library and the engine's bindings.  Usage::

    PEER_PYTHON bench/peer_query.py REQUEST.json ANSWER.json

REQUEST: ``{"engine": "osrm", "path": "x.osrm", "algorithm": "CH"|"MLD", "pairs": [[lat, lon,
lat, lon], ...], "table": {"points": [[lat, lon], ...], "repeat": 1}}`` or ``{"engine":
"valhalla", "config": "config.json", "costing": "bus", "pairs": ...}``.  ``table`` is optional.

Latency is ``perf_counter`` around the engine call alone (and ``cpu_ms`` the calling thread's CPU
time over it, which the load of a shared machine inflates far less; both engines answer in the
calling thread): OSRM's ``Route`` (parameters built
before, no geometry, no steps) and Valhalla's ``Actor.route`` on a JSON string (its answer is a
string; parsing it is left out).  Both include snapping the coordinates to the road network,
which our in-process search (by node id) does not do.  One warm-up query is not counted.

For each pair the engine cannot route, the answer says why as far as the engine tells: its error
code and message, and where it snaps each end (OSRM ``Nearest``; Valhalla ``locate``), so the
benchmark can tell a snap far from the node from a disconnected island or an access rule.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

# This folder holds bench/valhalla.py, which would shadow the ``valhalla`` bindings.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Osrm:
    def __init__(self, req: dict[str, Any]) -> None:
        import osrm

        self.osrm = osrm
        self.engine = osrm.OSRM(storage_config=req["path"], algorithm=req["algorithm"],
                                use_shared_memory=False, max_locations_distance_table=100_000)

    def route(self, lat0: float, lon0: float, lat1: float, lon1: float) -> dict[str, Any]:
        p = self.osrm.RouteParameters(coordinates=[(lon0, lat0), (lon1, lat1)], overview="false",
                                      generate_hints=False)
        c0, t0 = time.thread_time(), time.perf_counter()
        try:
            res = self.engine.Route(p)
            err = None
        except RuntimeError as exc:  # the bindings raise on NoRoute / NoSegment
            res, err = None, str(exc)
        ms, cpu = (time.perf_counter() - t0) * 1e3, (time.thread_time() - c0) * 1e3
        if res is None or res["code"] != "Ok" or not len(res["routes"]):
            return {"ok": False, "latency_ms": ms, "cpu_ms": cpu, "error": err or str(res["code"] if res is not None else "?")}
        r = res["routes"][0]
        wps = res["waypoints"]
        return {"ok": True, "latency_ms": ms, "cpu_ms": cpu, "time_s": float(r["duration"]), "distance_m": float(r["distance"]),
                "snap_m": [float(w["distance"]) for w in wps],
                "snapped": [[float(w["location"][1]), float(w["location"][0])] for w in wps]}

    def diagnose(self, lat: float, lon: float) -> dict[str, Any]:
        p = self.osrm.NearestParameters(coordinates=[(lon, lat)], generate_hints=False)
        p.number_of_results = 1
        try:
            res = self.engine.Nearest(p)
        except RuntimeError as exc:
            return {"error": str(exc)}
        w = res["waypoints"][0]
        return {"snap_m": float(w["distance"]), "snapped": [float(w["location"][1]), float(w["location"][0])],
                "name": str(w["name"])}

    def table(self, pts: list[list[float]]) -> dict[str, Any]:
        p = self.osrm.TableParameters(coordinates=[(lon, lat) for lat, lon in pts], annotations=["duration"],
                                      generate_hints=False)
        t0 = time.perf_counter()
        res = self.engine.Table(p)
        s = time.perf_counter() - t0
        durs = res["durations"]
        n = len(pts)
        found = sum(1 for i in range(n) for j in range(n) if i != j and durs[i][j] is not None)
        return {"seconds": s, "pairs": n * (n - 1), "found": found}


class _Valhalla:
    def __init__(self, req: dict[str, Any]) -> None:
        import valhalla

        self.valhalla = valhalla
        self.actor = valhalla.Actor(str(req["config"]))
        self.costing = str(req.get("costing", "bus"))
        self.unpruned_config = req.get("config_unpruned")
        self._unpruned: Any = None

    def _req(self, locs: list[tuple[float, float]], **extra: Any) -> str:
        return json.dumps({"locations": [{"lat": a, "lon": b} for a, b in locs], "costing": self.costing,
                           "units": "kilometers", "directions_type": "none", **extra})

    def route(self, lat0: float, lon0: float, lat1: float, lon1: float) -> dict[str, Any]:
        body = self._req([(lat0, lon0), (lat1, lon1)])
        c0, t0 = time.thread_time(), time.perf_counter()
        try:
            out = self.actor.route(body)
            err = None
        except RuntimeError as exc:  # valhalla.ValhallaError derives from RuntimeError
            out, err = None, str(exc)
        ms, cpu = (time.perf_counter() - t0) * 1e3, (time.thread_time() - c0) * 1e3
        if out is None:
            return {"ok": False, "latency_ms": ms, "cpu_ms": cpu, "error": err}
        s = json.loads(out)["trip"]["summary"]
        return {"ok": True, "latency_ms": ms, "cpu_ms": cpu, "time_s": float(s["time"]), "distance_m": float(s["length"]) * 1000.0}

    def retry_unpruned(self, lat0: float, lon0: float, lat1: float, lon1: float) -> dict[str, Any] | None:
        """The pair again with Valhalla's hierarchy limits lifted (``config_unpruned``): its
        bidirectional A* expands local roads only within 5 km of either end and arterials within
        20 km by default, which a town of local roads wider than that defeats."""
        if not self.unpruned_config:
            return None
        if self._unpruned is None:
            self._unpruned = self.valhalla.Actor(str(self.unpruned_config))
        try:
            out = json.loads(self._unpruned.route(self._req([(lat0, lon0), (lat1, lon1)])))
        except RuntimeError as exc:
            return {"ok": False, "error": str(exc)}
        return {"ok": True, "time_s": float(out["trip"]["summary"]["time"])}

    def diagnose(self, lat: float, lon: float) -> dict[str, Any]:
        try:
            out = json.loads(self.actor.locate(self._req([(lat, lon)], verbose=True)))
        except RuntimeError as exc:
            return {"error": str(exc)}
        edges = (out[0] or {}).get("edges") or []
        if not edges:
            return {"error": "no edge near the point"}
        e = min(edges, key=lambda x: float(x.get("distance", 1e18)))
        info = e.get("edge_info", {}) or {}
        edge = e.get("edge", {}) or {}
        return {"snap_m": float(e.get("distance", float("nan"))),
                "snapped": [float(e.get("correlated_lat", float("nan"))), float(e.get("correlated_lon", float("nan")))],
                "name": " / ".join(n.get("value", "") if isinstance(n, dict) else str(n) for n in info.get("names", [])),
                "access": edge.get("access"), "classification": edge.get("classification")}

    def table(self, pts: list[list[float]]) -> dict[str, Any]:
        locs = [{"lat": a, "lon": b} for a, b in pts]
        body = json.dumps({"sources": locs, "targets": locs, "costing": self.costing})
        t0 = time.perf_counter()
        try:
            out = json.loads(self.actor.matrix(body))
        except RuntimeError as exc:
            return {"seconds": time.perf_counter() - t0, "error": str(exc)}
        s = time.perf_counter() - t0
        n = len(pts)
        rows = out["sources_to_targets"]
        found = sum(1 for i in range(n) for j in range(n) if i != j and rows[i][j].get("time") is not None)
        return {"seconds": s, "pairs": n * (n - 1), "found": found}


def main() -> None:
    req = json.loads(Path(sys.argv[1]).read_text())
    t0 = time.perf_counter()
    eng: _Osrm | _Valhalla = _Osrm(req) if req["engine"] == "osrm" else _Valhalla(req)
    load_s = time.perf_counter() - t0
    pairs = req["pairs"]
    if pairs:
        eng.route(*pairs[0])  # warm-up: first touch of the data is not a query
    answers = [eng.route(*p) for p in pairs]
    for p, a in zip(pairs, answers, strict=True):
        if not a["ok"]:
            a["diagnose"] = [eng.diagnose(p[0], p[1]), eng.diagnose(p[2], p[3])]
            if isinstance(eng, _Valhalla):
                retry = eng.retry_unpruned(*p)
                if retry is not None:
                    a["unpruned"] = retry
    out: dict[str, Any] = {"load_s": load_s, "answers": answers}
    if req.get("table"):
        out["table"] = [eng.table(req["table"]["points"]) for _ in range(int(req["table"].get("repeat", 1)))]
    out["peak_rss_mb"] = _peak_mb()
    Path(sys.argv[2]).write_text(json.dumps(out))


if __name__ == "__main__":
    main()
