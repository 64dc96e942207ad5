"""OSRM and Valhalla beside routeplan: their own Python venv, OSRM's builds, in-process queries.

Both peers ship Python bindings that need Python >= 3.12 (``osrm-bindings``, cp312 abi3;
``pyvalhalla``), while routeplan runs on 3.11, so they live in a venv of their own that this
module creates on first use (``ensure_peer_env``) with pinned versions, like ``bench/valhalla.py``
fetches the Valhalla binaries.  Queries run in a separate process of that venv
(``bench/peer_query.py``): in-process for the engine (its bindings, no HTTP), one process per
network and engine.

OSRM (Luxen and Vetter, "Real-time routing with OpenStreetMap data", ACM GIS 2011) is built with
its stock ``car.lua`` profile, shipped in the wheel, in its two pipelines:

* CH, contraction hierarchies (Geisberger, Sanders, Schultes and Delling, WEA 2008):
  ``osrm-extract`` then ``osrm-contract``;
* MLD, multi-level Dijkstra, OSRM's customisable route planning (Delling, Goldberg, Pajor and
  Werneck, "Customizable Route Planning", SEA 2011): ``osrm-extract``, ``osrm-partition``,
  ``osrm-customize``.

Every step runs under a time limit and a memory cap (``bench/proc.py``); a step stopped there is
recorded as such, never retried silently.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    from bench.proc import run_measured
except ImportError:  # run as a script from bench/
    from proc import run_measured  # type: ignore[no-redef]

OSRM_VERSION = "26.10.0"
PYVALHALLA_VERSION = "3.9.1"
QUERY_SCRIPT = Path(__file__).resolve().with_name("peer_query.py")
OSRM_ALGORITHMS = ("CH", "MLD")
#: A peer snapping an end further than this from our node is said to snap far (metres).
FAR_SNAP_M = 50.0


class PeerError(RuntimeError):
    """The peers' venv or a peer query could not be set up or run."""


def find_peer_python() -> Path:
    """A Python >= 3.12 interpreter: ``$ROUTEPLAN_PEER_PYTHON``, then python3.12/3.13 on PATH,
    then pyenv's versions."""
    env = os.environ.get("ROUTEPLAN_PEER_PYTHON")
    cands: list[Path] = [Path(env)] if env else []
    for name in ("python3.12", "python3.13"):
        w = shutil.which(name)
        if w:
            cands.append(Path(w))
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if pyenv.is_dir():
        for d in sorted(pyenv.iterdir()):
            if d.name.startswith(("3.12", "3.13")):
                cands.append(d / "bin" / "python3")
    for c in cands:  # a pyenv shim on PATH may name a version it cannot run: try each
        if c.is_file() and os.access(c, os.X_OK):
            probe = subprocess.run([str(c), "-c", "import sys; print(sys.version_info >= (3, 12))"],
                                   capture_output=True, text=True, check=False)
            if probe.returncode == 0 and probe.stdout.strip() == "True":
                return c
    msg = "no Python >= 3.12 found for the OSRM/Valhalla bindings: set ROUTEPLAN_PEER_PYTHON"
    raise PeerError(msg)


@dataclass(frozen=True)
class PeerEnv:
    """The peers' venv: its interpreter and where the OSRM wheel put its tools and profiles."""

    python: Path
    site: Path

    @property
    def osrm_bin(self) -> Path:
        return self.site / "osrm" / "bin"

    @property
    def car_lua(self) -> Path:
        return self.site / "osrm" / "share" / "profiles" / "car.lua"


def ensure_peer_env(venv: Path) -> PeerEnv:
    """Create (once) a venv at ``venv`` with osrm-bindings and pyvalhalla at pinned versions."""
    venv = venv.resolve()
    py = venv / "bin" / "python"
    stamp = venv / "routeplan-peers.json"
    want = {"osrm-bindings": OSRM_VERSION, "pyvalhalla": PYVALHALLA_VERSION}
    if not (py.exists() and stamp.exists() and json.loads(stamp.read_text()) == want):
        if venv.exists():
            shutil.rmtree(venv)
        base = find_peer_python()
        subprocess.run([str(base), "-m", "venv", str(venv)], check=True)
        pkgs = [f"{k}=={v}" for k, v in want.items()]
        proc = subprocess.run([str(py), "-m", "pip", "install", "-q", "--only-binary=:all:", *pkgs],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            msg = f"pip install {' '.join(pkgs)} into {venv} failed:\n{proc.stderr[-2000:]}"
            raise PeerError(msg)
        stamp.write_text(json.dumps(want))
    site = subprocess.run([str(py), "-c", "import osrm, os; print(os.path.dirname(os.path.dirname(osrm.__file__)))"],
                          capture_output=True, text=True, check=False)
    if site.returncode != 0:
        msg = f"the peers' venv {venv} cannot import osrm: {site.stderr[-1000:]}"
        raise PeerError(msg)
    env = PeerEnv(python=py, site=Path(site.stdout.strip()))
    if not env.car_lua.is_file():
        msg = f"car.lua not found in the osrm-bindings wheel ({env.car_lua})"
        raise PeerError(msg)
    return env


def build_osrm(env: PeerEnv, pbf: Path, workdir: Path, algorithm: str, *, timeout_s: float = 900.0,
               max_rss_mb: float | None = None, threads: int | None = None, extract_cache: Path | None = None) -> dict[str, Any]:
    """Build OSRM's data for ``algorithm`` (CH or MLD) from scratch in ``workdir``.

    Returns the steps (wall s, peak RSS MB, status), their totals, ``status`` (ok, timeout,
    memory or failed: the first step that did not finish) and ``path`` (the ``.osrm`` base).
    The time limit is for the whole pipeline; each step gets what is left of it.  With
    ``extract_cache``, ``osrm-extract`` (the same for both pipelines) runs once: its output and
    figures are kept there and a later build copies them (its extract step says ``shared``), and
    the totals still count the extract.
    """
    if algorithm not in OSRM_ALGORITHMS:
        msg = f"unknown OSRM algorithm {algorithm!r}"
        raise ValueError(msg)
    workdir = workdir.resolve()
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    src = workdir / "net.osm.pbf"
    src.symlink_to(pbf.resolve())
    base = workdir / "net.osrm"
    log = workdir / "build.log"
    jobs = ["-t", str(threads)] if threads else []
    steps: list[tuple[str, list[str | Path]]] = [("extract", [env.osrm_bin / "osrm-extract", "-p", env.car_lua, *jobs, src])]
    if algorithm == "CH":
        steps.append(("contract", [env.osrm_bin / "osrm-contract", *jobs, base]))
    else:
        steps += [("partition", [env.osrm_bin / "osrm-partition", *jobs, base]),
                  ("customize", [env.osrm_bin / "osrm-customize", *jobs, base])]
    out: dict[str, Any] = {"algorithm": algorithm, "profile": "car.lua", "version": OSRM_VERSION, "steps": {},
                           "timeout_s": timeout_s, "max_rss_mb": max_rss_mb, "status": "ok", "path": str(base)}
    spent = 0.0
    marker = extract_cache / "extract.json" if extract_cache is not None else None
    if marker is not None and marker.is_file():
        ex = json.loads(marker.read_text())
        for f in marker.parent.glob("net.osrm*"):
            shutil.copy2(f, workdir / f.name)
        out["steps"]["extract"] = {**ex, "shared": True}
        spent = float(ex["s"])
        steps = steps[1:]
    for name, cmd in steps:
        st = run_measured(cmd, log=log, cwd=workdir, timeout_s=max(1.0, timeout_s - spent), max_rss_mb=max_rss_mb)
        spent += st.seconds
        out["steps"][name] = {"s": st.seconds, "peak_rss_mb": st.peak_rss_mb, "status": st.status}
        if not st.ok:
            out["status"] = st.status
            out["stopped_at"] = name
            out["log_tail"] = log.read_text(errors="replace")[-1500:]
            break
        if name == "extract" and marker is not None:
            marker.parent.mkdir(parents=True, exist_ok=True)
            for f in workdir.glob("net.osrm*"):
                shutil.copy2(f, marker.parent / f.name)
            marker.write_text(json.dumps(out["steps"]["extract"]))
    out["build_s"] = spent
    out["peak_rss_mb"] = max(s["peak_rss_mb"] for s in out["steps"].values())
    out["data_mb"] = sum(p.stat().st_size for p in workdir.glob("net.osrm*")) / 2**20
    return out


def query(env: PeerEnv, request: dict[str, Any], *, timeout_s: float = 1800.0) -> dict[str, Any]:
    """Run ``bench/peer_query.py`` in the peers' venv on ``request`` and return its answer."""
    with tempfile.TemporaryDirectory(prefix="rp-peer-") as tmp:
        req, ans = Path(tmp) / "req.json", Path(tmp) / "ans.json"
        req.write_text(json.dumps(request))
        proc = subprocess.run([str(env.python), str(QUERY_SCRIPT), str(req), str(ans)], capture_output=True,
                              text=True, timeout=timeout_s, check=False)
        if proc.returncode != 0 or not ans.exists():
            msg = f"peer query ({request.get('engine')}) failed (rc={proc.returncode}): {proc.stderr[-2000:]}"
            raise PeerError(msg)
        result: dict[str, Any] = json.loads(ans.read_text())
        return result


def actor_config(config: Path, *, unpruned: bool = False) -> Path:
    """A copy of a Valhalla service config for ``valhalla.Actor``: logging off (its per-request
    INFO lines would be timed as part of each query).  ``unpruned`` also lifts the hierarchy
    limits of its A* searches (by default local roads are expanded only within 5 km of either end,
    arterials within 20 km): used only to explain a pair Valhalla did not route."""
    cfg = json.loads(config.read_text())
    cfg["logging"] = {"type": "", "color": False}
    if unpruned:
        for alg in ("bidirectional_astar", "unidirectional_astar"):
            cfg["thor"][alg]["hierarchy_limits"] = {"max_up_transitions": {"1": 10**9, "2": 10**9},
                                                    "expand_within_distance": {"0": 1e9, "1": 1e9, "2": 1e9}}
    out = config.with_name("actor-unpruned.json" if unpruned else "actor.json")
    out.write_text(json.dumps(cfg, indent=1))
    return out


def haversine_m(lat0: float, lon0: float, lat1: float, lon1: float) -> float:
    """Great-circle distance in metres (mean Earth radius)."""
    p0, p1 = math.radians(lat0), math.radians(lat1)
    a = math.sin((p1 - p0) / 2) ** 2 + math.cos(p0) * math.cos(p1) * math.sin(math.radians(lon1 - lon0) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(min(1.0, a)))


def explain_failure(answer: dict[str, Any], ends: Sequence[dict[str, Any]]) -> str:
    """Why a peer did not route a pair, from its error and where it snaps each end.

    ``answer`` is a failed peer answer (``error`` and ``diagnose``: per end ``snap_m`` or
    ``error``); ``ends`` describe our two nodes (``classes``: the road classes at the node).
    A far snap means the peer has no usable road at our node (its profile drops the road there);
    both ends snapped close means the road is there but the peer finds no path between them
    (a disconnected part of its graph, one-way or access rules, or a search limit).
    """
    err = str(answer.get("error") or "?")
    diag = answer.get("diagnose") or [{}, {}]
    parts = []
    far = []
    for k, (d, ours) in enumerate(zip(diag, ends, strict=True)):
        which = ("origin", "destination")[k]
        if "snap_m" not in d:
            far.append(f"{which}: no road found near it ({d.get('error', '?')}; ours: {ours.get('classes', '?')})")
        elif float(d["snap_m"]) > FAR_SNAP_M:
            far.append(f"{which} snaps {float(d['snap_m']):,.0f} m away to {d.get('name') or 'an unnamed road'} "
                       f"(ours: {ours.get('classes', '?')})")
    if far:
        parts.append("snapping: " + "; ".join(far))
    else:
        snaps = ", ".join(f"{float(d['snap_m']):.0f}" for d in diag)
        parts.append(f"no path between ends snapped within {FAR_SNAP_M:.0f} m ({snaps} m)")
    retry = answer.get("unpruned")
    if retry is not None:
        if retry.get("ok"):
            parts.append(f"routed ({float(retry['time_s']) / 60:.0f} min) once its hierarchy limits are lifted: pruned by them")
        else:
            parts.append(f"not routed with its hierarchy limits lifted either ({retry.get('error')})")
    return f"{err}: {'; '.join(parts)}"


def node_infos(net: Any, nodes: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Our view of some nodes: OSM id, lat/lon and the road classes and OSM ways of the pieces
    that touch each (one pass over the pieces, so it can be taken before the network is freed)."""
    import numpy as np

    from routeplan.vehicle import CLASS_NAMES

    pc = net.pieces
    want = np.unique(np.asarray(list(nodes), dtype=np.int64))
    out: dict[int, dict[str, Any]] = {}
    for v in want.tolist():
        out[v] = {"node": v, "osm_id": int(pc.node_id[v]), "lat": float(pc.node_lat[v]), "lon": float(pc.node_lon[v]),
                  "classes": set(), "ways": set()}
    for ends in (pc.a, pc.b):
        hit = np.flatnonzero(np.isin(ends, want))
        for p in hit.tolist():
            info = out[int(ends[p])]
            w = int(pc.way[p])
            info["classes"].add(CLASS_NAMES[int(net.way_class[w])])
            info["ways"].add(int(net.way_id[w]))
    for info in out.values():
        info["classes"] = ",".join(sorted(info["classes"]))
        info["ways"] = sorted(info["ways"])[:4]
    return out


def summarise(answers: Sequence[dict[str, Any]], our_times: Sequence[float | None], pairs: Sequence[tuple[int, int]],
              infos: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Latency percentiles, routes found, time difference against ours and every failure explained."""
    import numpy as np

    ok = [a for a in answers if a["ok"]]
    lat_ok = [a["latency_ms"] for a in ok]
    lat_all = [a["latency_ms"] for a in answers]
    rel, snaps = [], []
    failed = []
    for (s, t), a, ours in zip(pairs, answers, our_times, strict=True):
        if a["ok"]:
            snaps += [float(x) for x in a.get("snap_m", [])]
            if ours is not None and a["time_s"] > 60:
                rel.append((ours - a["time_s"]) / a["time_s"])
        else:
            ends = [infos[s], infos[t]]
            failed.append({"pair": [s, t], "ends": ends, "error": a.get("error"), "diagnose": a.get("diagnose"),
                           "why": explain_failure(a, ends)})

    def pct(xs: list[float], q: float) -> float | None:
        return float(np.percentile(xs, q)) if xs else None

    cpu_ok = [a["cpu_ms"] for a in ok if "cpu_ms" in a]
    return {
        "route_ms": {"p50": pct(lat_ok, 50), "p95": pct(lat_ok, 95)},
        "route_cpu_ms": {"p50": pct(cpu_ok, 50), "p95": pct(cpu_ok, 95)},
        "all_requests_ms": {"p50": pct(lat_all, 50), "p95": pct(lat_all, 95)},
        "routes_found": len(ok),
        "median_rel_time_diff": float(np.median(rel)) if rel else None,
        "median_abs_rel_time_diff": float(np.median(np.abs(rel))) if rel else None,
        "compared": len(rel),
        "snap_m": {"p50": pct(snaps, 50), "p95": pct(snaps, 95), "max": max(snaps) if snaps else None},
        "failures": failed,
    }


def main() -> None:
    """``python -m bench.peers VENV``: create the peers' venv and print where it is."""
    env = ensure_peer_env(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/routeplan-peers"))
    print(json.dumps({"python": str(env.python), "site": str(env.site), "car_lua": str(env.car_lua)}))


if __name__ == "__main__":
    main()
