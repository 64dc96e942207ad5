"""Benchmark: build time, memory and route latency of routeplan beside OSRM and Valhalla, same PBFs.

One command (from the repo root)::

    ROUTEPLAN_DATA=../shared/data .venv/bin/python -m bench.run

writes ``bench/results/latest.json`` (with git SHA, machine, checksums, raw numbers) and the
tables at the top of ``docs/benchmarks.md`` (the other sections of that file, the venue matrix
of ``bench/matrix.py`` and the days of ``bench/days.py``, are kept as they are).  Datasets: the
real Newport and Rutland extracts and GENERATED networks (``routeplan.synth``) of growing size for
the scaling curve; ``--sizes`` also takes any synth preset name or ``NAME=PATH.osm.pbf``.  A run
over some datasets updates their rows and keeps the others (``--fresh`` starts anew).

Peers, on the same PBF and the same 200 node pairs given by coordinates, queried in-process
through their Python bindings in their own Python >= 3.12 venv (``bench/peers.py``): Valhalla
(``valhalla.Actor``, ``costing: bus``, tiles from ``bench/valhalla.py``) and OSRM (``car.lua``,
CH and MLD).  Every external build runs under ``--build-timeout`` and ``--peer-mem-cap-mb``; a
build stopped there is recorded as such.  Wall-clock numbers live here, never in the test suite.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import mdsplice, peers
from bench import valhalla as vh

REAL = {"newport": "newport-2023-06-13.osm.pbf", "rutland": "rutland-latest.osm.pbf"}
SYNTH = ("county", "region", "nation", "gb")
#: Datasets OSRM is not run on by default, and why (issue 16).
OSRM_SKIP = {"gb": ("not run: on this 1.1 km jittered grid OSRM's CH contraction did not finish in 38 min on 2 threads "
                    "and MLD's customise step was killed at 23 GB (issue 16)"),
             "nation": ("not run: on the smaller county and region grids of this table OSRM's CH contraction timed out "
                        "at 15 min and MLD took 10 min and 3.2 GB on region; nation is 2.6x region (issue 16)")}
PEERS = ("valhalla", "osrm-ch", "osrm-mld")
#: Sections of docs/benchmarks.md that this script writes (the rest is kept as it is).
OWNED = ("## Scaling", "## Targets (issue 16)", "## Pairs a peer did not route", "## Notes")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def parse_dataset(spec: str) -> tuple[str, Path | None]:
    """``name`` or ``name=PATH.osm.pbf`` or a bare path (named after the file) -> (name, path)."""
    if "=" in spec:
        name, path = spec.split("=", 1)
        return name.strip(), Path(path.strip())
    if spec.endswith(".pbf") or "/" in spec:
        p = Path(spec)
        return p.name.split(".")[0], p
    return spec.strip(), None


def dataset_path(name: str, workdir: Path, seed: int, path: Path | None = None) -> tuple[Path, bool]:
    """The PBF of a dataset (a synth preset is generated on first use) and whether it is GENERATED
    (a given file is GENERATED when routeplan.synth's JSON sidecar lies beside it)."""
    from routeplan import settings

    if path is not None:
        if not path.is_file():
            msg = f"{path}: no such PBF"
            raise SystemExit(msg)
        return path, Path(str(path) + ".json").is_file()
    if name in REAL:
        return settings.data_dir() / "osm" / REAL[name], False
    out = workdir / "synth" / f"{name}-seed{seed}.osm.pbf"
    if not out.exists():
        import geopandas as gpd

        from routeplan import synth

        gdf = gpd.read_file(settings.data_dir() / "boundaries" / "wpc-2024.gpkg")
        t0 = time.perf_counter()
        synth.generate_national(gdf, out, size=name, seed=seed, motorways_path=settings.data_dir() / "roads" / "gb-motorways-os-openroads.fgb")
        print(f"  generated {name} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return out, True


def network_kind(pbf: Path, generated: bool) -> str:
    """real, grid (routeplan.synth's jittered-grid presets) or realistic (a generator whose sidecar
    says so: the stand-in of issue 16 item 6, with a road hierarchy, rivers and bridges)."""
    if not generated:
        return "real"
    try:
        spec = json.loads(Path(str(pbf) + ".json").read_text()).get("spec") or {}
    except (OSError, ValueError):
        return "grid"
    return "realistic" if "realistic" in str(spec.get("generator", "")) else "grid"


def measure_build(pbf: Path, cache_dir: Path) -> dict[str, Any]:
    """Cold build in a fresh process: wall time and that process's peak RSS.

    Peak RSS comes from ``/usr/bin/time -f %M`` (a child forked from this large process would
    otherwise report this process's pages too).
    """
    import shutil
    import tempfile

    for old in cache_dir.glob("*.npz"):
        old.unlink()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    timer = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    rss = Path(tempfile.mkstemp(suffix=".rss")[1])
    cmd = [sys.executable, str(REPO / "bench" / "build_one.py"), str(pbf), str(cache_dir)]
    t0 = time.perf_counter()
    proc = subprocess.run([timer, "-f", "%M", "-o", str(rss), *cmd] if timer else cmd, stdout=subprocess.PIPE, env=env, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        msg = f"build of {pbf} failed"
        raise RuntimeError(msg)
    info = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    peak = float(rss.read_text().split()[-1]) / 1024 if timer else float("nan")
    rss.unlink()
    info.update(wall_s=wall, peak_rss_mb=peak)
    return info


def pick_pairs(net: Any, n: int, seed: int) -> list[tuple[int, int]]:
    """``n`` random (origin, destination) node pairs, uniform over the nodes (seed ``seed``)."""
    rng = np.random.default_rng(seed)
    return [(int(a), int(b)) for a, b in rng.integers(0, net.n_nodes, size=(n, 2))]


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q)) if xs else float("nan")


def _node_stop(net: Any, n: int) -> Any:
    """A stop on road node ``n``, outside every seat (nothing charged for the stop itself), so that
    ``plan_leg`` solves the same problem as the kernels measured beside it."""
    from routeplan.locate import Stop

    return Stop(f"node {n}", float(net.pieces.node_lat[n]), float(net.pieces.node_lon[n]), n, 0.0, "node", -1, "outside")


def customise(net: Any, pol: Any) -> dict[str, Any]:
    """The one-off steps ``plan_leg``'s default engine needs on this network, before any query is
    timed (each is cached on disk after its first build): the constituency-cell overlay from
    ``routing.OVERLAY_MIN_NODES`` road nodes and the contraction hierarchy (always built here: the
    CH columns measure it on every network).  Times and RSS growth of this process."""
    import resource

    from routeplan import routing

    def rss() -> float:
        return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)

    out: dict[str, Any] = {"engine": "overlay" if net.n_nodes >= routing.OVERLAY_MIN_NODES else "flat",
                           "fastest": "CH" if net.n_nodes >= routing.CH_MIN_NODES else ("overlay" if net.n_nodes >= routing.OVERLAY_MIN_NODES else "A*")}
    r0, a = rss(), time.perf_counter()
    ch = net.ch()
    out["ch"] = {"build_s": time.perf_counter() - a, "peak_rss_growth_mb": max(0.0, rss() - r0), "mb": ch.nbytes / 2**20}
    if out["engine"] == "overlay":
        r0, a = rss(), time.perf_counter()
        ov = net.overlay(frozenset(pol.exempt_classes))
        out["overlay"] = {"build_s": time.perf_counter() - a, "peak_rss_growth_mb": max(0.0, rss() - r0), "mb": ov.nbytes / 2**20}
    return out


def run_queries(net: Any, pairs: list[tuple[int, int]]) -> dict[str, Any]:
    """Per pair, in this order (so that every measurement sees the same machine load):

    * fastest: A* with landmarks on the road graph;
    * cheapest: that A*, then the flat label search with its bound (``pareto_front_fast``,
      cheapest route only): the kernels' own figure, comparable with earlier runs;
    * whole leg: ``plan_leg`` with its default engine, as a planner gets it: on large networks the
      contraction hierarchy's fastest route and the overlay's label search, then both routes'
      ledgers (the stops stand outside every seat, so it is the same problem).  Its charge and
      time are checked against the flat kernel's (``leg_mismatches``).
    """
    from routeplan.kernels.dijkstra import shortest_path
    from routeplan.kernels.fastlabels import pareto_front_fast
    from routeplan.kernels.labels import route_cost
    from routeplan.policy import ExpensePolicy
    from routeplan.routing import plan_leg

    pol = ExpensePolicy()
    c = net.compile(pol)
    cg = net.cell_graph(frozenset(pol.exempt_classes))
    xy, iv, lm, ws = net.node_x_y, net.inv_vmax, net.landmarks, net.workspace
    prep = customise(net, pol)
    # Warm-up: JIT compilation is not part of a query.
    s0, t0_ = pairs[0]
    shortest_path(c.indptr, c.heads, c.time_s, s0, t0_, xy=xy, inv_vmax=iv, landmarks=lm, workspace=ws)
    plan_leg(net, _node_stop(net, s0), _node_stop(net, t0_), pol)
    fast_ms, cheap_ms, leg_ms, labels, times, costs, fast_costs = [], [], [], [], [], [], []
    fast_cpu, cheap_cpu, leg_cpu = [], [], []
    leg_bad = 0
    for s, t in pairs:
        ca, a = time.thread_time(), time.perf_counter()
        fp = shortest_path(c.indptr, c.heads, c.time_s, s, t, xy=xy, inv_vmax=iv, landmarks=lm, workspace=ws)
        b = time.perf_counter()
        fast_ms.append((b - a) * 1e3)
        fast_cpu.append((time.thread_time() - ca) * 1e3)
        if fp is None:
            times.append(None)
            continue
        ub = route_cost(fp[1], c.label, c.label_charge)[0]
        st: dict[str, float] = {}
        front = pareto_front_fast(c.indptr, c.heads, c.time_s, c.label, c.label_charge, s, t, cell_graph=cg, ub_cost=ub, xy=xy, inv_vmax=iv, landmarks=lm, workspace=ws, fastest=fp, first_only=True, stats=st)
        e = time.perf_counter()
        cheap_ms.append((e - a) * 1e3)  # includes the fastest search that gives the bound
        cheap_cpu.append((time.thread_time() - ca) * 1e3)
        labels.append(st["labels"])
        times.append(fp[0])
        costs.append(front[0].cost)
        fast_costs.append(ub)
        ca, a = time.thread_time(), time.perf_counter()
        leg = plan_leg(net, _node_stop(net, s), _node_stop(net, t), pol)
        leg_ms.append((time.perf_counter() - a) * 1e3)
        leg_cpu.append((time.thread_time() - ca) * 1e3)
        got = leg.cheapest
        if got.cost_pence != front[0].cost or abs(got.time_s - front[0].time_s) > 1e-6 * max(1.0, front[0].time_s) or abs(leg.fastest.time_s - fp[0]) > 1e-6 * max(1.0, fp[0]):
            leg_bad += 1
    ch = run_ch_queries(net, pairs, times)
    ch["ch"] = {**prep.pop("ch"), "time_mismatches": ch.pop("ch_time_mismatches")}
    return {
        **ch,
        "leg_engine": prep,
        "fastest_ms": {"p50": pct(fast_ms, 50), "p95": pct(fast_ms, 95), "max": max(fast_ms)},
        "cheapest_ms": {"p50": pct(cheap_ms, 50), "p95": pct(cheap_ms, 95), "max": max(cheap_ms) if cheap_ms else None},
        "leg_ms": {"p50": pct(leg_ms, 50), "p95": pct(leg_ms, 95), "max": max(leg_ms) if leg_ms else None},
        "fastest_cpu_ms": {"p50": pct(fast_cpu, 50), "p95": pct(fast_cpu, 95)},
        "cheapest_cpu_ms": {"p50": pct(cheap_cpu, 50), "p95": pct(cheap_cpu, 95)},
        "leg_cpu_ms": {"p50": pct(leg_cpu, 50), "p95": pct(leg_cpu, 95)},
        "leg_mismatches": leg_bad,
        "labels": {"p50": pct(labels, 50), "p95": pct(labels, 95)},
        "routes_found": len(costs),
        "mean_cheapest_cost_gbp": float(np.mean(costs)) / 100 if costs else None,
        "mean_fastest_cost_gbp": float(np.mean(fast_costs)) / 100 if fast_costs else None,
        "_times": times,
    }


def run_ch_queries(net: Any, pairs: list[tuple[int, int]], times: list[float | None]) -> dict[str, Any]:
    """The fastest route by the contraction hierarchy (what ``plan_leg`` uses from
    ``routing.CH_MIN_NODES`` road nodes; built by :func:`customise` before the queries) and a check
    against the A* times of the same pairs."""
    from routeplan.kernels.ch import ch_query

    ch = net.ch()
    ws = net.ch_workspace
    ch_query(ch, *pairs[0], ws)  # JIT warm-up
    ms, cpu, bad = [], [], 0
    for (s, t), ref in zip(pairs, times, strict=True):
        ca, a = time.thread_time(), time.perf_counter()
        got = ch_query(ch, s, t, ws)
        ms.append((time.perf_counter() - a) * 1e3)
        cpu.append((time.thread_time() - ca) * 1e3)
        if (got is None) != (ref is None) or (got is not None and ref is not None and abs(got[0] - ref) > 1e-9 * max(1.0, ref)):
            bad += 1
    return {
        "fastest_ch_ms": {"p50": pct(ms, 50), "p95": pct(ms, 95), "max": max(ms)},
        "fastest_ch_cpu_ms": {"p50": pct(cpu, 50), "p95": pct(cpu, 95)},
        "ch_time_mismatches": bad,
    }


def _coords(net: Any, pairs: list[tuple[int, int]]) -> list[list[float]]:
    lat, lon = net.pieces.node_lat, net.pieces.node_lon
    return [[float(lat[a]), float(lon[a]), float(lat[b]), float(lon[b])] for a, b in pairs]


def run_valhalla(pbf: Path, coords: list[list[float]], workdir: Path, env: peers.PeerEnv, timeout_s: float,
                 cap_mb: float | None) -> tuple[dict[str, Any], list[dict[str, Any]] | None]:
    """Valhalla's tile build (as bench/valhalla.py does it), then the pairs through ``valhalla.Actor``."""
    inst = vh.ensure_valhalla(workdir / "valhalla")
    try:
        built = vh.build_tiles(inst, pbf, workdir / "valhalla" / pbf.stem, timeout_s=timeout_s, max_rss_mb=cap_mb)
    except vh.ValhallaTimeout as exc:
        return {"status": "stopped", "reason": str(exc)}, None
    ans = peers.query(env, {"engine": "valhalla", "config": str(peers.actor_config(built.config_path)),
                            "config_unpruned": str(peers.actor_config(built.config_path, unpruned=True)),
                            "costing": "bus", "pairs": coords})
    return {
        "status": "ok", "version": inst.version, "api": "valhalla.Actor (in-process)", "costing": "bus",
        "build_s": built.seconds, "admin_s": built.admin_seconds, "peak_rss_mb": built.peak_rss_mb,
        "tiles_mb": built.tile_dir_mb, "load_s": ans["load_s"], "query_peak_rss_mb": ans["peak_rss_mb"],
    }, ans["answers"]


def run_osrm(pbf: Path, coords: list[list[float]], workdir: Path, env: peers.PeerEnv, algorithm: str, timeout_s: float,
             cap_mb: float | None, *, share_extract: bool = False) -> tuple[dict[str, Any], list[dict[str, Any]] | None]:
    """OSRM's build for ``algorithm`` with car.lua, then the pairs through the bindings' ``Route``."""
    stem = pbf.name.split(".")[0]
    cache = workdir / "osrm" / f"{stem}-extract" if share_extract else None
    if cache is not None and algorithm == peers.OSRM_ALGORITHMS[0] and cache.exists():
        shutil.rmtree(cache)  # a fresh extract for the first pipeline of this run
    built = peers.build_osrm(env, pbf, workdir / "osrm" / f"{stem}-{algorithm.lower()}", algorithm,
                             timeout_s=timeout_s, max_rss_mb=cap_mb, extract_cache=cache)
    if built["status"] != "ok":
        return built, None
    ans = peers.query(env, {"engine": "osrm", "path": built["path"], "algorithm": algorithm, "pairs": coords})
    built.update(api="osrm.OSRM.Route (in-process)", load_s=ans["load_s"], query_peak_rss_mb=ans["peak_rss_mb"])
    return built, ans["answers"]


def cpu_times() -> tuple[int, int]:
    """(steal, total) jiffies of all CPUs so far (Linux /proc/stat; zeros elsewhere)."""
    try:
        f = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return 0, 0
    return (f[7] if len(f) > 7 else 0), sum(f[:8])


def cpu_pressure_us() -> int | None:
    """Total microseconds some runnable task here waited for a CPU (Linux PSI), None without PSI."""
    try:
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
        return int(line.rsplit("total=", 1)[1])
    except (OSError, ValueError, IndexError):
        return None


def pressure_pct(psi0: int | None, wall0: float) -> float | None:
    """Share of the wall time since ``wall0`` (``time.perf_counter``) that some runnable task here
    waited for a CPU (%), from a ``cpu_pressure_us`` reading taken then; None without PSI."""
    psi1 = cpu_pressure_us()
    return None if psi0 is None or psi1 is None else (psi1 - psi0) / 1e4 / (time.perf_counter() - wall0)


def steal_pct(t0: tuple[int, int], t1: tuple[int, int]) -> float | None:
    """CPU time the hypervisor gave to others between two ``cpu_times`` readings (%): the load
    of other machines sharing these cores, which no process list here shows."""
    d = t1[1] - t0[1]
    return 100.0 * (t1[0] - t0[0]) / d if d > 0 else None


def machine() -> dict[str, Any]:
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False).stdout.strip()
    mem = None
    try:
        mem = int(next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")).split()[1]) // 1024
    except (OSError, StopIteration):
        pass
    return {"git_sha": sha, "python": platform.python_version(), "cpus": os.cpu_count(), "mem_mb": mem, "platform": platform.platform(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "loadavg": list(os.getloadavg())}


def fmt(x: Any, nd: int = 1) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "–"
    return f"{x:,.{nd}f}"


def ratio(a: Any, b: Any) -> float | None:
    """a / b when both are positive finite numbers, else None."""
    try:
        fa, fb = float(a), float(b)
    except (TypeError, ValueError):
        return None
    return fa / fb if np.isfinite(fa) and np.isfinite(fb) and fb > 0 else None


def _peer(r: dict[str, Any], key: str) -> dict[str, Any]:
    if "peers" not in r and key == "valhalla" and r.get("valhalla"):  # a row measured before OSRM was added
        return {"status": "ok", "api": "HTTP", **r["valhalla"]}
    return (r.get("peers") or {}).get(key) or {}


def _legacy(r: dict[str, Any]) -> bool:
    """A row kept from a run before OSRM and in-process Valhalla (its Valhalla was over HTTP)."""
    return bool(r.get("legacy")) or "peers" not in r


def _peer_build(p: dict[str, Any]) -> str:
    if not p:
        return "–"
    if p.get("status") == "not run":
        return "not run¹"
    if p.get("status") != "ok":
        at = p.get("build_s") or p.get("timeout_s")
        return f"{p.get('status')}" + (f" at {fmt(at, 0)} s" if at else " (see Notes)")
    return f"{fmt(p.get('build_s'))} / {fmt(p.get('peak_rss_mb'), 0)}"


def _peer_query(p: dict[str, Any], n: int) -> str:
    if not p or p.get("status") != "ok":
        return "–"
    q = p.get("route_ms") or {}
    return f"{fmt(q.get('p50'), 2)} / {fmt(q.get('p95'), 2)} ({p.get('routes_found', '–')}/{n})"


def _diff(p: dict[str, Any]) -> str:
    d = p.get("median_rel_time_diff") if p else None
    return "–" if d is None else f"{d * 100:+.1f} %"


def steal_line(results: dict[str, Any]) -> str:
    """How loaded the machine was while each dataset's queries ran (the latest measurement of
    them: a ``--queries-only`` re-run where there was one)."""
    parts = []
    for k, r in results["datasets"].items():
        q = r.get("queries_remeasured") or r
        if q.get("cpu_steal_pct") is not None:
            parts.append(f"{k} {fmt(q.get('cpu_pressure_pct'), 0)} % / {fmt(q.get('cpu_steal_pct'), 0)} %")
    if not parts:
        return ""
    return ("Load while each dataset's queries last ran: the share of time some task waited for a CPU (Linux PSI `cpu some`) / the CPU time the "
            f"hypervisor gave elsewhere (steal): {', '.join(parts)}. All engines of a dataset ran one after the other, so compare within a row; "
            "on a shared machine absolute latencies vary between runs by several times.")


def cpu_table(results: dict[str, Any]) -> list[str]:
    """Per-query CPU time of the calling thread: what the latency would be on an idle core."""
    ds = {k: r for k, r in results["datasets"].items() if "fastest_cpu_ms" in r["queries"]}
    if not ds:
        return []

    def cell(d: dict[str, Any] | None) -> str:
        return "–" if not d or d.get("p50") is None else f"{fmt(d['p50'], 2)} / {fmt(d['p95'], 2)}"

    out = ["**CPU time per query** (p50 / p95 ms of the querying thread's CPU time, `time.thread_time`; the shared machine's load inflates it far less than wall time):", "",
           "| network | our fastest A* | our fastest CH | our cheapest (A* + flat labels) | our whole leg (plan_leg) | Valhalla | OSRM CH | OSRM MLD | our fastest p50 ÷ OSRM CH p50 (CPU) |",
           "|---|---|---|---|---|---|---|---|---|"]
    for name, r in ds.items():
        q = r["queries"]
        ch = _peer(r, "osrm-ch").get("route_cpu_ms")
        ours = q.get("fastest_ch_cpu_ms") or q["fastest_cpu_ms"]
        x = ratio(ours["p50"], (ch or {}).get("p50"))
        out.append(f"| {name} | {cell(q['fastest_cpu_ms'])} | {cell(q.get('fastest_ch_cpu_ms'))} | {cell(q['cheapest_cpu_ms'])} | {cell(q.get('leg_cpu_ms'))} | {cell(_peer(r, 'valhalla').get('route_cpu_ms'))} | "
                   f"{cell(ch)} | {cell(_peer(r, 'osrm-mld').get('route_cpu_ms'))} | {fmt(x, 2)} |")
    return [*out, ""]


def _our_fastest(q: dict[str, Any]) -> tuple[dict[str, float], str]:
    """Our fastest-route latency as a planner gets it: the contraction hierarchy where it was
    measured (plan_leg uses it on large networks), else A*."""
    if q.get("fastest_ch_ms"):
        return q["fastest_ch_ms"], "CH"
    return q["fastest_ms"], "A*"


def _ch_cell(q: dict[str, Any]) -> str:
    c = q.get("ch")
    if not c:
        return "–"
    bad = f", **{c['time_mismatches']} times differ from A***" if c.get("time_mismatches") else ""
    return f"{fmt(q['fastest_ch_ms']['p50'], 3)} / {fmt(q['fastest_ch_ms']['p95'], 3)} ({fmt(c['build_s'])} s, {fmt(c['mb'], 0)} MB{bad})"


def _leg(q: dict[str, Any]) -> tuple[dict[str, float], str]:
    """The whole leg's latency: ``plan_leg`` where measured, else (older runs) the flat kernels'
    fastest + cheapest."""
    if q.get("leg_ms"):
        return q["leg_ms"], "plan_leg"
    return q["cheapest_ms"], "A* + flat labels"


def _leg_cell(q: dict[str, Any]) -> str:
    ms, how = _leg(q)
    if how != "plan_leg":
        return f"{fmt(ms['p50'], 2)} / {fmt(ms['p95'], 2)} ({how})"
    e = q["leg_engine"]
    ov = f"; {fmt(e['overlay']['build_s'])} s" if e.get("overlay") else ""
    bad = f", **{q['leg_mismatches']} differ from the flat kernel**" if q.get("leg_mismatches") else ""
    return f"{fmt(ms['p50'], 2)} / {fmt(ms['p95'], 2)} ({e['fastest']}, {e['engine']} labels{ov}{bad})"


def main_table(results: dict[str, Any]) -> list[str]:
    """One row per network: builds (s / peak MB) and queries (p50 / p95 ms, routes found) of all engines."""
    rows = [
        ("| network | nodes | edges | our build s / peak MB | Valhalla build s / peak MB | OSRM CH build s / peak MB | OSRM MLD build s / peak MB "
        "| our fastest A* p50 / p95 ms | our fastest CH p50 / p95 ms (CH build s, MB) | our whole leg p50 / p95 ms (fastest by; overlay build s) | Valhalla p50 / p95 ms (found) | OSRM CH p50 / p95 ms (found) "
        "| OSRM MLD p50 / p95 ms (found) | our fastest p50 ÷ OSRM CH p50 | median time diff vs Valhalla / OSRM CH |"),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results["datasets"].items():
        b, q = r["build"], r["queries"]
        n = results["pairs"]
        v, ch, mld = _peer(r, "valhalla"), _peer(r, "osrm-ch"), _peer(r, "osrm-mld")
        kind = {"grid": "GENERATED grid", "realistic": "GENERATED realistic"}.get(r.get("kind", ""), "GENERATED") if r["generated"] else ""
        label = name + (f" ({kind})" if kind else "") + (" ²" if _legacy(r) else "")
        rq = ratio(_our_fastest(q)[0]["p50"], (ch.get("route_ms") or {}).get("p50"))
        rows.append(
            f"| {label} | {b['nodes']:,} | {b['edges']:,} | {fmt(b['wall_s'])} / {fmt(b['peak_rss_mb'], 0)} | {_peer_build(v)} | {_peer_build(ch)} | {_peer_build(mld)} | "
            f"{fmt(q['fastest_ms']['p50'], 2)} / {fmt(q['fastest_ms']['p95'], 2)} | {_ch_cell(q)} | {_leg_cell(q)} | "
            f"{_peer_query(v, n)} | {_peer_query(ch, n)} | {_peer_query(mld, n)} | {fmt(rq, 2)} | {_diff(v)} / {_diff(ch)} |"
        )
    return rows


def write_markdown(results: dict[str, Any], path: Path) -> None:
    """Rewrite this script's part of ``path``; keep every other section (matrix, days) as it is."""
    from routeplan import routing
    m = results["machine"]
    dates = sorted({(r.get("machine") or m)["date"][:10] for r in results["datasets"].values()})
    shas = sorted({(r.get("machine") or m)["git_sha"][:10] for r in results["datasets"].values()})
    rows = [
        "# Benchmarks",
        "",
        f"Generated by `python -m bench.run` (datasets measured on {', '.join(dates)}; git {', '.join(shas)}; {m['cpus']} cores, {m['mem_mb']} MB; Python {m['python']}).",
        f"{results['pairs']} random origin/destination node pairs per network (seed {results['seed']}); policy £461/constituency/day, motorways exempt.",
        ("Networks marked GENERATED are synthetic roads over the real 2024 constituency polygons and the real GB motorway skeleton: *grid* = routeplan.synth's "
         "jittered street grids per constituency (a stress case), *realistic* = the national stand-in of issue 16 item 6 (road hierarchy, towns as clusters, rivers crossed at bridges)."),
        (f"Peers on the same PBF and the same pairs (by coordinates), queried **in-process** through their Python bindings (Python 3.12 venv, `bench/peers.py`): "
        f"Valhalla {vh.PYVALHALLA_VERSION} (`valhalla.Actor`, `costing: bus`, logging off) and OSRM {peers.OSRM_VERSION} (`osrm-bindings`, stock `car.lua`, "
        "CH = extract + contract, MLD = extract + partition + customize).  Their latency includes snapping the coordinates to their graph; ours starts from the node."),
        "",
        *main_table(results),
        "",
        ("Our build = Python start-up and imports, boundaries, read PBF, coach graph, overlay with 650 constituencies, landmarks, cache write, then policy compile and cell graph "
        "(fresh process, cold cache). Valhalla build = `valhalla_build_tiles` alone (its admin step is in the JSON). OSRM build = all its steps; per-step times and peaks are in the JSON. "
        "Peak MB = peak RSS of the build process(es) (`/usr/bin/time`), the largest step for OSRM."),
        ("Whole leg = `plan_leg` with its default engine, as a planner gets it: the fastest route (the contraction hierarchy from "
         f"{routing.CH_MIN_NODES:,} road nodes, A* below), the exact cheapest-then-fastest route (the label search on the constituency-cell overlay from "
         f"{routing.OVERLAY_MIN_NODES:,} road nodes, on the road graph below) and both routes' ledgers; the stops stand outside every seat, and each leg's charge and times are checked against the flat kernels' "
         "(A* + flat labels, whose latency is in the CPU table and the JSON as `cheapest_ms`). The one-off overlay build (customise, cached on disk) is not in the latency. "
         "Peer latencies are over the pairs they answered (`all_requests_ms` in the JSON includes failures); "
        "`found` counts the pairs they routed (ours: every pair, all nodes are in one strongly connected network). "
        "Time diff = median over routed pairs of (our time − theirs) / theirs: our coach speeds against their profiles."),
        steal_line(results),
    ]
    notes = [f"¹ {name}: {_peer(r, 'osrm-ch').get('reason')}" for name, r in results["datasets"].items() if _peer(r, "osrm-ch").get("status") == "not run"]
    notes += [f"² {name}: kept from the run of {(r.get('machine') or m)['date'][:10]} (git {(r.get('machine') or m)['git_sha'][:10]}), before OSRM was added; "
              "its Valhalla latency was measured over HTTP on 127.0.0.1 (round trip included), not in-process."
              for name, r in results["datasets"].items() if _legacy(r)]
    if notes:
        rows += ["", *notes]
    rows.append("")
    rows += cpu_table(results)
    rows += scaling_section(results)
    rows += targets_section(results)
    rows += failures_section(results)
    if results.get("notes"):
        rows += ["## Notes", ""]
        for note in results["notes"]:
            rows += [note, ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    owns = lambda h: h is None or h in OWNED
    path.write_text(mdsplice.rewrite_owned(old, "\n".join(rows), owns), encoding="utf-8")


def _slope(xs: np.ndarray, ys: list[float]) -> tuple[float, float, float]:
    y = np.asarray(ys, dtype=float)
    ok = np.isfinite(y) & (y > 0)
    slope = float(np.polyfit(np.log(xs[ok]), np.log(y[ok]), 1)[0]) if ok.sum() >= 3 else float("nan")
    return slope, float(y[ok][0]) if ok.any() else float("nan"), float(y[ok][-1]) if ok.any() else float("nan")


def scaling_section(results: dict[str, Any]) -> list[str]:
    """How cost grows with size: log-log slopes fitted over the networks (1.0 = linear)."""
    ds = results["datasets"]
    names = sorted((k for k, r in ds.items() if r["build"]["nodes"] > 0), key=lambda k: ds[k]["build"]["nodes"])
    if len(names) < 3:
        return []

    def nodes(keys: list[str]) -> np.ndarray:
        return np.array([ds[k]["build"]["nodes"] for k in keys], dtype=float)

    series: list[tuple[str, list[str], list[float]]] = [
        ("our build time (s)", names, [ds[k]["build"]["wall_s"] for k in names]),
        ("our peak memory (MB)", names, [ds[k]["build"]["peak_rss_mb"] for k in names]),
        ("our fastest p50 (ms)", names, [ds[k]["queries"]["fastest_ms"]["p50"] for k in names]),
        ("our cheapest p95, A* + flat labels (ms)", names, [ds[k]["queries"]["cheapest_ms"]["p95"] for k in names]),
    ]
    legs = [k for k in names if ds[k]["queries"].get("leg_ms")]
    if len(legs) >= 3:
        series.append(("our whole leg p95, plan_leg (ms)", legs, [ds[k]["queries"]["leg_ms"]["p95"] for k in legs]))
    for key, label in (("valhalla", "Valhalla"), ("osrm-ch", "OSRM CH"), ("osrm-mld", "OSRM MLD")):
        ks = [k for k in names if _peer(ds[k], key).get("status") == "ok"]
        if len(ks) >= 3:
            series += [(f"{label} build time (s)", ks, [_peer(ds[k], key)["build_s"] for k in ks]),
                       (f"{label} peak memory (MB)", ks, [_peer(ds[k], key)["peak_rss_mb"] for k in ks]),
                       (f"{label} route p50 (ms)", ks, [(_peer(ds[k], key).get("route_ms") or {}).get("p50") or float("nan") for k in ks])]
    out = ["## Scaling", "", (f"Log-log slope against node count (1.0 means linear growth), each over the networks where it was measured "
           f"({min(nodes(names)):,.0f} to {max(nodes(names)):,.0f} nodes for ours). "
           "Fixed costs flatten the slopes at the small end (about 1 s of Python start-up and imports in our build; snapping in the peers' latency)."), "",
           "| quantity | slope | networks | smallest network | largest network |", "|---|---|---|---|---|"]
    for label, ks, ys in series:
        slope, first, last = _slope(nodes(ks), ys)
        out.append(f"| {label} | {fmt(slope, 2)} | {len(ks)} ({ks[0]} … {ks[-1]}) | {fmt(first, 2)} | {fmt(last, 2)} |")
    return [*out, ""]


def targets_section(results: dict[str, Any]) -> list[str]:
    """Issue 16's measurable targets, met or missed, from the figures above."""
    ds = results["datasets"]
    rows = ["## Targets (issue 16)", "", "| target | network | figure | met? |", "|---|---|---|---|"]

    def line(target: str, net: str, figure: str, ok: bool | None) -> None:
        rows.append(f"| {target} | {net} | {figure} | {'–' if ok is None else ('met' if ok else '**missed**')} |")

    for name, r in ds.items():
        q, b, v = r["queries"], r["build"], _peer(r, "valhalla")
        if r["generated"]:
            leg, how = _leg(q)
            x = ratio(leg["p95"], q["fastest_ms"]["p95"])
            vs_ch = ratio(leg["p95"], (q.get("fastest_ch_ms") or {}).get("p95"))
            extra = f"; {fmt(vs_ch, 0)}× the CH's fastest p95" if vs_ch is not None else ""
            # Only plan_leg's own figure is judged: older runs timed the flat kernels, which plan_leg no longer runs at that size.
            line("3. whole-leg p95 ≤ 2× fastest p95 (A*)", name, f"{fmt(leg['p95'], 1)} ({how}) / {fmt(q['fastest_ms']['p95'], 1)} ms = {fmt(x, 2)}×{extra}"
                 + ("" if how == "plan_leg" else "; not re-measured with plan_leg"), None if x is None or how != "plan_leg" else x <= 2)
        ch = _peer(r, "osrm-ch")
        ours, how = _our_fastest(q)
        x = ratio(ours["p50"], (ch.get("route_ms") or {}).get("p50"))
        if x is not None:
            line("4. fastest p50 ≤ 3× OSRM CH p50" + ("" if r.get("kind") == "realistic" else " (the target is set on the realistic stand-in)"), name,
                 f"{fmt(ours['p50'], 2)} ({how}) / {fmt(ch['route_ms']['p50'], 2)} ms = {fmt(x, 2)}×", x <= 3)
        if v.get("status") == "ok":
            if not r["generated"]:
                x = ratio(b["wall_s"], v["build_s"])
                line("5. cold build ≤ 1.5× Valhalla's tile build", name, f"{fmt(b['wall_s'])} / {fmt(v['build_s'])} s = {fmt(x, 2)}×", None if x is None else x <= 1.5)
                x = ratio(b["peak_rss_mb"], v["peak_rss_mb"])
                line("5. peak RSS ≤ 3× Valhalla's", name, f"{fmt(b['peak_rss_mb'], 0)} / {fmt(v['peak_rss_mb'], 0)} MB = {fmt(x, 2)}×", None if x is None else x <= 3)
            elif name == "gb":
                x = ratio(b["peak_rss_mb"], v["peak_rss_mb"])
                line("5. peak RSS ≤ 1× Valhalla's on the GB preset", name, f"{fmt(b['peak_rss_mb'], 0)} / {fmt(v['peak_rss_mb'], 0)} MB = {fmt(x, 2)}×",
                     None if x is None else x <= 1)
        for key, label in (("valhalla", "Valhalla"), ("osrm-ch", "OSRM CH"), ("osrm-mld", "OSRM MLD")):
            p = _peer(r, key)
            if r.get("kind") == "realistic" and p.get("status") == "ok":
                share = p["routes_found"] / results["pairs"]
                line(f"6. {label} routes ≥ 99 % of pairs (realistic stand-in)", name, f"{p['routes_found']}/{results['pairs']}", share >= 0.99)
    return [*rows, ""]


def _why_class(why: str) -> str:
    """The explanation without the error prefix's particulars, for grouping."""
    head, _, rest = why.partition(": ")
    if rest.startswith("snapping"):
        out = f"{head}: an end snaps more than {peers.FAR_SNAP_M:.0f} m from our node (no usable road there for the peer)"
    else:
        out = f"{head}: both ends snapped within {peers.FAR_SNAP_M:.0f} m, no path between them"
    if "once its hierarchy limits are lifted" in rest:
        out += "; routed once Valhalla's hierarchy limits are lifted (pruned by them)"
    elif "hierarchy limits lifted either" in rest:
        out += "; not routed with its hierarchy limits lifted either"
    return out


def failures_section(results: dict[str, Any]) -> list[str]:
    """Every pair a peer did not route, grouped by why (the JSON lists each pair)."""
    out = ["## Pairs a peer did not route", "",
           ("From the peer's error and where it snaps each end (OSRM `Nearest`, Valhalla `locate`); every pair with its ends' OSM ids, road classes and snap "
           "distances is in `bench/results/latest.json` (`peers.*.failures`)."), ""]
    any_fail = False
    for name, r in results["datasets"].items():
        for key, label in (("valhalla", "Valhalla"), ("osrm-ch", "OSRM CH"), ("osrm-mld", "OSRM MLD")):
            p = _peer(r, key)
            fails = p.get("failures") or []
            if not fails:
                continue
            any_fail = True
            groups: dict[str, list[dict[str, Any]]] = {}
            for f in fails:
                groups.setdefault(_why_class(f["why"]), []).append(f)
            for why, fs in sorted(groups.items(), key=lambda kv: -len(kv[1])):
                ex = fs[0]
                out.append(f"* **{name}, {label}: {len(fs)} pair(s)**: {why}. Example: nodes {ex['pair'][0]} → {ex['pair'][1]}: {ex['why']}.")
            expl = (r.get("explanations") or {}).get(key)
            if expl:
                out.append(f"  * {expl}")
    if not any_fail:
        out.append("Every peer routed every pair it was run on.")
    return [*out, ""]


def _measured(res: dict[str, Any], args: argparse.Namespace, what: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, entry) of each dataset in ``--sizes`` that ``--out`` already holds from a run with
    the peers in process; the others are skipped with a word on stderr."""
    for spec in args.sizes.split(","):
        name, _ = parse_dataset(spec)
        entry = res["datasets"].get(name)
        if entry is None or "peers" not in entry:
            print(f"[{name}] not in {args.out} (or from an old run): skipped", file=sys.stderr)
            continue
        print(f"[{name}] {what}", file=sys.stderr)
        yield name, entry


def osrm_again(args: argparse.Namespace) -> None:
    """``--osrm-only``: OSRM's builds and queries again for datasets already measured."""
    from routeplan.boundaries import load_boundaries
    from routeplan.network import build_network
    from routeplan.policy import ExpensePolicy

    res = json.loads(args.out.read_text())
    env = peers.ensure_peer_env(args.peer_venv or args.workdir / "peers-venv")
    bnd = load_boundaries("wpc-2024")
    for name, entry in _measured(res, args, "OSRM only"):
        pbf = Path(entry["pbf"])
        net = build_network(pbf, bnd, cache_dir=args.workdir / "cache" / name)
        pairs = pick_pairs(net, res["pairs"], res["seed"])
        from routeplan.kernels.dijkstra import shortest_path

        c = net.compile(ExpensePolicy())
        times = []
        for s_, t_ in pairs:  # our fastest times only, for the time difference
            fp = shortest_path(c.indptr, c.heads, c.time_s, s_, t_, xy=net.node_x_y, inv_vmax=net.inv_vmax,
                               landmarks=net.landmarks, workspace=net.workspace)
            times.append(None if fp is None else fp[0])
        coords = _coords(net, pairs)
        infos = peers.node_infos(net, [v for pr in pairs for v in pr])
        del net, c
        for alg in peers.OSRM_ALGORITHMS:
            key = f"osrm-{alg.lower()}"
            info, answers = run_osrm(pbf, coords, args.workdir, env, alg, args.build_timeout, args.peer_mem_cap_mb,
                                     share_extract=args.share_extract)
            if answers is not None:
                info.update(peers.summarise(answers, times, pairs, infos))
            info["measured"] = machine()
            entry["peers"][key] = info
            print(f"  {key}: {info.get('status')}, build {fmt(info.get('build_s'))} s, peak {fmt(info.get('peak_rss_mb'), 0)} MB, "
                  f"p50 {fmt((info.get('route_ms') or {}).get('p50'), 2)} ms, found {info.get('routes_found', '–')}", file=sys.stderr)
            args.out.write_text(json.dumps(res, indent=1, default=str))
    write_markdown(res, args.markdown)


def requery(args: argparse.Namespace) -> None:
    """``--queries-only``: the same pairs again on every engine whose build is still in the workdir."""
    from routeplan.boundaries import load_boundaries
    from routeplan.network import build_network

    res = json.loads(args.out.read_text())
    env = peers.ensure_peer_env(args.peer_venv or args.workdir / "peers-venv")
    bnd = load_boundaries("wpc-2024")
    for name, entry in _measured(res, args, "queries only"):
        cpu0, psi0, wall0 = cpu_times(), cpu_pressure_us(), time.perf_counter()
        pbf = Path(entry["pbf"])
        net = build_network(pbf, bnd, cache_dir=args.workdir / "cache" / name)
        pairs = pick_pairs(net, res["pairs"], res["seed"])
        q = run_queries(net, pairs)
        times = q.pop("_times")
        coords = _coords(net, pairs)
        infos = peers.node_infos(net, [v for pr in pairs for v in pr])
        del net
        entry["queries"] = q
        for key, p in entry["peers"].items():
            if p.get("status") != "ok":
                continue
            if key == "valhalla":
                cfg = args.workdir / "valhalla" / pbf.stem / "config.json"
                req = {"engine": "valhalla", "config": str(peers.actor_config(cfg)),
                       "config_unpruned": str(peers.actor_config(cfg, unpruned=True)), "costing": "bus", "pairs": coords}
            else:
                req = {"engine": "osrm", "path": p["path"], "algorithm": p["algorithm"], "pairs": coords}
            ans = peers.query(env, req)
            p.update(peers.summarise(ans["answers"], times, pairs, infos), load_s=ans["load_s"], query_peak_rss_mb=ans["peak_rss_mb"])
            print(f"  {key}: p50 {fmt(p['route_ms']['p50'], 2)} ms, CPU p50 {fmt(p['route_cpu_ms']['p50'], 2)} ms, found {p['routes_found']}", file=sys.stderr)
        entry["queries_remeasured"] = {"machine": machine(), "cpu_steal_pct": steal_pct(cpu0, cpu_times()),
                                       "cpu_pressure_pct": pressure_pct(psi0, wall0)}
        args.out.write_text(json.dumps(res, indent=1, default=str))
    write_markdown(res, args.markdown)


def rebuild(args: argparse.Namespace) -> None:
    """``--builds-only``: the cold builds again (ours, then Valhalla's tiles, back to back on the same
    PBF) of datasets already in ``--out``; their queries are kept.  For a change that touches the
    build only (the built arrays must stay bit-identical: the cache tests and the bench's digests
    check that), so one build target can be judged against a peer measured in the same run."""
    res = json.loads(args.out.read_text())
    for name, entry in _measured(res, args, "builds only"):
        pbf = Path(entry["pbf"])
        if sha256(pbf) != entry["sha256"]:
            print(f"  {pbf} is not the file measured before: skipped", file=sys.stderr)
            continue
        cpu0, psi0, wall0 = cpu_times(), cpu_pressure_us(), time.perf_counter()
        cache = args.workdir / "cache" / name
        cache.mkdir(parents=True, exist_ok=True)
        build = measure_build(pbf, cache)
        if build["nodes"] != entry["build"].get("nodes") or build.get("edges") != entry["build"].get("edges"):
            msg = f"{name}: the rebuilt network differs from the measured one ({build['nodes']} against {entry['build'].get('nodes')} nodes)"
            raise RuntimeError(msg)
        entry["build"] = build
        print(f"  ours: build {build['wall_s']:.1f} s, peak {build['peak_rss_mb']:.0f} MB", file=sys.stderr)
        v = entry["peers"].get("valhalla") or {}
        valhalla = not args.no_valhalla and v.get("status") == "ok"
        if valhalla:
            built = vh.build_tiles(vh.ensure_valhalla(args.workdir / "valhalla"), pbf, args.workdir / "valhalla" / pbf.stem,
                                   timeout_s=args.build_timeout, max_rss_mb=args.peer_mem_cap_mb)
            v.update(build_s=built.seconds, admin_s=built.admin_seconds, peak_rss_mb=built.peak_rss_mb, tiles_mb=built.tile_dir_mb)
            print(f"  valhalla: build {built.seconds:.1f} s, peak {built.peak_rss_mb:.0f} MB", file=sys.stderr)
        entry["build_remeasured"] = {"machine": machine(), "cpu_steal_pct": steal_pct(cpu0, cpu_times()), "valhalla": valhalla,
                                     "cpu_pressure_pct": pressure_pct(psi0, wall0)}
        args.out.write_text(json.dumps(res, indent=1, default=str))
    write_markdown(res, args.markdown)


def rediagnose(results: dict[str, Any], names: list[str], workdir: Path, env: peers.PeerEnv) -> None:
    """Ask Valhalla again about the pairs it did not route (its tiles still in ``workdir``), with
    and without its hierarchy limits, and rewrite their explanations; latencies are not touched."""
    for name in names:
        r = results["datasets"].get(name) or {}
        v = _peer(r, "valhalla")
        fails = v.get("failures") or []
        cfg = workdir / "valhalla" / Path(r.get("pbf", "")).stem / "config.json"
        if not fails or not cfg.is_file():
            continue
        coords = [[f["ends"][0]["lat"], f["ends"][0]["lon"], f["ends"][1]["lat"], f["ends"][1]["lon"]] for f in fails]
        ans = peers.query(env, {"engine": "valhalla", "config": str(peers.actor_config(cfg)),
                                "config_unpruned": str(peers.actor_config(cfg, unpruned=True)), "costing": "bus", "pairs": coords})
        for f, a in zip(fails, ans["answers"], strict=True):
            if a["ok"]:  # routed this time: say so rather than drop it
                f["why"] = f"{f['why']}; routed when asked again ({a['time_s'] / 60:.0f} min)"
                continue
            f.update(error=a.get("error"), diagnose=a.get("diagnose"), unpruned=a.get("unpruned"))
            f["why"] = peers.explain_failure(a, f["ends"])
        print(f"  {name}: re-diagnosed {len(fails)} Valhalla failures", file=sys.stderr)


def merge(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """The datasets of ``old`` updated with those measured now (same pair count and seed only)."""
    if not old or old.get("pairs") != new["pairs"] or old.get("seed") != new["seed"]:
        return new
    out = dict(old)
    out["machine"] = new["machine"]
    data = {k: v if "machine" in v else {**v, "machine": old.get("machine")} for k, v in old.get("datasets", {}).items()}
    data.update(new["datasets"])
    out["datasets"] = data
    if new.get("notes"):
        out["notes"] = new["notes"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="newport,rutland,county,region,nation,gb",
                    help="comma-separated: newport, rutland, a synth preset (county, region, nation, gb, ...) or NAME=PATH.osm.pbf")
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "routeplan-bench")
    ap.add_argument("--peer-venv", type=Path, help="the peers' Python >= 3.12 venv (default WORKDIR/peers-venv; created on first use)")
    ap.add_argument("--no-valhalla", action="store_true")
    ap.add_argument("--no-osrm", action="store_true")
    ap.add_argument("--skip-osrm", default=",".join(OSRM_SKIP), help="datasets OSRM is not run on (default: gb and nation, see OSRM_SKIP)")
    ap.add_argument("--build-timeout", type=float, default=900.0, help="time limit (s) of each external build (default 15 min)")
    ap.add_argument("--peer-mem-cap-mb", type=float, default=12_000.0, help="stop an external build step above this RSS")
    ap.add_argument("--fresh", action="store_true", help="drop the datasets already in --out instead of keeping the ones not measured now")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "latest.json")
    ap.add_argument("--markdown", type=Path, default=REPO / "docs" / "benchmarks.md")
    ap.add_argument("--markdown-only", action="store_true", help="Rewrite the markdown from --out without measuring.")
    ap.add_argument("--share-extract", action="store_true",
                    help="run osrm-extract once per dataset and copy it for MLD (totals still count it; saves its time on a busy machine)")
    ap.add_argument("--osrm-only", action="store_true",
                    help="(Re)build and query only OSRM on the datasets in --sizes already in --out; keep the other figures.")
    ap.add_argument("--queries-only", action="store_true",
                    help="Re-run only the queries (ours and the peers', on the builds left in --workdir) of the datasets in --sizes; keep the builds' figures.")
    ap.add_argument("--builds-only", action="store_true",
                    help="Re-run only the cold builds (ours and Valhalla's) of the datasets in --sizes already in --out; keep the queries.")
    ap.add_argument("--rediagnose", action="store_true", help="Explain again the pairs Valhalla did not route in --out (datasets in --sizes), then rewrite the markdown.")
    args = ap.parse_args()
    if args.markdown_only:
        write_markdown(json.loads(args.out.read_text()), args.markdown)
        return
    if args.queries_only:
        requery(args)
        return
    if args.osrm_only:
        osrm_again(args)
        return
    if args.builds_only:
        rebuild(args)
        return
    if args.rediagnose:
        res = json.loads(args.out.read_text())
        rediagnose(res, [parse_dataset(x)[0] for x in args.sizes.split(",")], args.workdir,
                   peers.ensure_peer_env(args.peer_venv or args.workdir / "peers-venv"))
        args.out.write_text(json.dumps(res, indent=1, default=str))
        write_markdown(res, args.markdown)
        return
    from routeplan.boundaries import load_boundaries
    from routeplan.network import build_network

    args.workdir.mkdir(parents=True, exist_ok=True)
    skip_osrm = {s for s in args.skip_osrm.split(",") if s}
    env = None if args.no_valhalla and args.no_osrm else peers.ensure_peer_env(args.peer_venv or args.workdir / "peers-venv")
    old = None if args.fresh or not args.out.exists() else json.loads(args.out.read_text())
    results: dict[str, Any] = {"machine": machine(), "pairs": args.pairs, "seed": args.seed, "datasets": {}}
    bnd = load_boundaries("wpc-2024")
    for spec in args.sizes.split(","):
        name, given = parse_dataset(spec)
        print(f"[{name}]", file=sys.stderr)
        cpu0, psi0, wall0 = cpu_times(), cpu_pressure_us(), time.perf_counter()
        pbf, generated = dataset_path(name, args.workdir, args.seed, given)
        cache = args.workdir / "cache" / name
        cache.mkdir(parents=True, exist_ok=True)
        build = measure_build(pbf, cache)
        print(f"  build {build['wall_s']:.1f} s, peak {build['peak_rss_mb']:.0f} MB, {build['nodes']:,} nodes", file=sys.stderr)
        t0 = time.perf_counter()
        net = build_network(pbf, bnd, cache_dir=cache)
        load_s = time.perf_counter() - t0
        pairs = pick_pairs(net, args.pairs, args.seed)
        q = run_queries(net, pairs)
        times = q.pop("_times")
        print(f"  fastest p50 {q['fastest_ms']['p50']:.2f} ms, cheapest p50/p95 {q['cheapest_ms']['p50']:.2f}/{q['cheapest_ms']['p95']:.2f} ms", file=sys.stderr)
        coords = _coords(net, pairs)
        infos = peers.node_infos(net, [v for pr in pairs for v in pr])
        del net  # the peers' builds run with our network freed
        entry: dict[str, Any] = {"pbf": str(pbf), "sha256": sha256(pbf), "generated": generated, "kind": network_kind(pbf, generated),
                                 "build": build, "load_cached_s": load_s,
                                 "queries": q, "machine": machine(), "peers": {}}
        runs: list[tuple[str, str | None]] = [] if args.no_valhalla else [("valhalla", None)]
        if not args.no_osrm:
            for alg in peers.OSRM_ALGORITHMS:
                key = f"osrm-{alg.lower()}"
                if name in skip_osrm:
                    entry["peers"][key] = {"status": "not run", "reason": OSRM_SKIP.get(name, "not run (--skip-osrm)")}
                else:
                    runs.append((key, alg))
        for key, alg in runs:
            assert env is not None
            if alg is None:
                info, answers = run_valhalla(pbf, coords, args.workdir, env, args.build_timeout, args.peer_mem_cap_mb)
            else:
                info, answers = run_osrm(pbf, coords, args.workdir, env, alg, args.build_timeout, args.peer_mem_cap_mb,
                                         share_extract=args.share_extract)
            if answers is not None:
                info.update(peers.summarise(answers, times, pairs, infos))
            entry["peers"][key] = info
            rm = (info.get("route_ms") or {}).get("p50")
            print(f"  {key}: {info.get('status')}, build {fmt(info.get('build_s'))} s, peak {fmt(info.get('peak_rss_mb'), 0)} MB, "
                  f"p50 {fmt(rm, 2)} ms, found {info.get('routes_found', '–')}", file=sys.stderr)
        entry["cpu_steal_pct"] = steal_pct(cpu0, cpu_times())
        entry["cpu_pressure_pct"] = pressure_pct(psi0, wall0)
        print(f"  CPU steal {fmt(entry['cpu_steal_pct'])} %, CPU pressure {fmt(entry['cpu_pressure_pct'])} % during the run", file=sys.stderr)
        results["datasets"][name] = entry
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(merge(old, results), indent=1, default=str))
    write_markdown(merge(old, results), args.markdown)
    print(f"wrote {args.out} and {args.markdown}", file=sys.stderr)


if __name__ == "__main__":
    main()
