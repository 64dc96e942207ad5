"""Benchmark: build time, memory and route latency of routeplan beside Valhalla, same PBF files.

One command (from the repo root)::

    ROUTEPLAN_DATA=../shared/data .venv/bin/python -m bench.run

writes ``bench/results/latest.json`` (with git SHA, machine, checksums, raw numbers) and the
markdown table ``docs/benchmarks.md``.  Datasets: the real Newport and Rutland extracts and
GENERATED networks (``routeplan.synth``) of growing size for the scaling curve.  Wall-clock
numbers live here, never in the test suite.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import valhalla as vh

REAL = {"newport": "newport-2023-06-13.osm.pbf", "rutland": "rutland-latest.osm.pbf"}
SYNTH = ("county", "region", "nation", "gb")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def dataset_path(name: str, workdir: Path, seed: int) -> tuple[Path, bool]:
    """The PBF of a dataset (generated on first use) and whether it is GENERATED."""
    from routeplan import settings

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
    rng = np.random.default_rng(seed)
    return [(int(a), int(b)) for a, b in rng.integers(0, net.n_nodes, size=(n, 2))]


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q)) if xs else float("nan")


def run_queries(net: Any, pairs: list[tuple[int, int]]) -> dict[str, Any]:
    """Fastest (A*) and exact cheapest (fastest first for the bound, then the label search)."""
    from routeplan.kernels.dijkstra import shortest_path
    from routeplan.kernels.fastlabels import pareto_front_fast
    from routeplan.kernels.labels import route_cost
    from routeplan.policy import ExpensePolicy

    pol = ExpensePolicy()
    c = net.compile(pol)
    cg = net.cell_graph(frozenset(pol.exempt_classes))
    xy, iv, lm, ws = net.node_x_y, net.inv_vmax, net.landmarks, net.workspace
    # Warm-up: JIT compilation is not part of a query.
    s0, t0_ = pairs[0]
    shortest_path(c.indptr, c.heads, c.time_s, s0, t0_, xy=xy, inv_vmax=iv, landmarks=lm, workspace=ws)
    fast_ms, cheap_ms, labels, times, costs, fast_costs = [], [], [], [], [], []
    for s, t in pairs:
        a = time.perf_counter()
        fp = shortest_path(c.indptr, c.heads, c.time_s, s, t, xy=xy, inv_vmax=iv, landmarks=lm, workspace=ws)
        b = time.perf_counter()
        fast_ms.append((b - a) * 1e3)
        if fp is None:
            times.append(None)
            continue
        ub = route_cost(fp[1], c.label, c.label_charge)[0]
        st: dict[str, float] = {}
        front = pareto_front_fast(c.indptr, c.heads, c.time_s, c.label, c.label_charge, s, t, cell_graph=cg, ub_cost=ub, xy=xy, inv_vmax=iv, landmarks=lm, workspace=ws, fastest=fp, first_only=True, stats=st)
        e = time.perf_counter()
        cheap_ms.append((e - a) * 1e3)  # includes the fastest search that gives the bound
        labels.append(st["labels"])
        times.append(fp[0])
        costs.append(front[0].cost)
        fast_costs.append(ub)
    return {
        "fastest_ms": {"p50": pct(fast_ms, 50), "p95": pct(fast_ms, 95), "max": max(fast_ms)},
        "cheapest_ms": {"p50": pct(cheap_ms, 50), "p95": pct(cheap_ms, 95), "max": max(cheap_ms) if cheap_ms else None},
        "labels": {"p50": pct(labels, 50), "p95": pct(labels, 95)},
        "routes_found": len(costs),
        "mean_cheapest_cost_gbp": float(np.mean(costs)) / 100 if costs else None,
        "mean_fastest_cost_gbp": float(np.mean(fast_costs)) / 100 if fast_costs else None,
        "_times": times,
    }


def run_valhalla(pbf: Path, net: Any, pairs: list[tuple[int, int]], workdir: Path, our_times: list[float | None]) -> dict[str, Any]:
    inst = vh.ensure_valhalla(workdir / "valhalla")
    built = vh.build_tiles(inst, pbf, workdir / "valhalla" / pbf.stem)
    lat, lon = net.pieces.node_lat, net.pieces.node_lon
    lat_ms, all_ms, rel = [], [], []
    found = 0
    with vh.ValhallaService(inst, built.config_path) as svc:
        vh.route(svc, (lat[pairs[0][0]], lon[pairs[0][0]]), (lat[pairs[0][1]], lon[pairs[0][1]]))  # warm-up
        for (s, t), ours in zip(pairs, our_times, strict=True):
            ans = vh.route(svc, (float(lat[s]), float(lon[s])), (float(lat[t]), float(lon[t])), costing="bus")
            if ans is None:  # "no path" answers count in the all-requests latency, not the found one
                err = svc.last_error or {}
                if "latency_s" in err:
                    all_ms.append(float(err["latency_s"]) * 1e3)
                continue
            all_ms.append(ans.latency_s * 1e3)
            found += 1
            lat_ms.append(ans.latency_s * 1e3)
            if ours is not None and ans.time_s > 60:
                rel.append((ours - ans.time_s) / ans.time_s)
    return {
        "build_s": built.seconds,
        "admin_s": built.admin_seconds,
        "peak_rss_mb": built.peak_rss_mb,
        "tiles_mb": built.tile_dir_mb,
        "route_ms": {"p50": pct(lat_ms, 50), "p95": pct(lat_ms, 95)},
        "all_requests_ms": {"p50": pct(all_ms, 50), "p95": pct(all_ms, 95)},
        "routes_found": found,
        "median_rel_time_diff": float(np.median(rel)) if rel else None,
        "median_abs_rel_time_diff": float(np.median(np.abs(rel))) if rel else None,
        "compared": len(rel),
    }


def machine() -> dict[str, Any]:
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False).stdout.strip()
    mem = None
    try:
        mem = int(next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")).split()[1]) // 1024
    except (OSError, StopIteration):
        pass
    return {"git_sha": sha, "python": platform.python_version(), "cpus": os.cpu_count(), "mem_mb": mem, "platform": platform.platform(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def fmt(x: Any, nd: int = 1) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "–"
    return f"{x:,.{nd}f}"


def write_markdown(results: dict[str, Any], path: Path) -> None:
    m = results["machine"]
    rows = [
        "# Benchmarks",
        "",
        f"Generated by `python -m bench.run` on {m['date']} (git {m['git_sha'][:10]}; {m['cpus']} cores, {m['mem_mb']} MB; Python {m['python']}).",
        f"{results['pairs']} random origin/destination node pairs per network (seed {results['seed']}); policy £461/constituency/day, motorways exempt.",
        "Networks marked GENERATED are synthetic roads (routeplan.synth) over the real 2024 constituency polygons and the real GB motorway skeleton.",
        "Valhalla 3.9.1 (PyPI wheel binaries) builds tiles from the same PBF and answers `costing: bus` over HTTP on 127.0.0.1; its latency includes the HTTP round trip, ours is in-process.",
        "",
        "| network | nodes | edges | our build s | our peak MB | Valhalla build s | Valhalla peak MB | build ratio | our fastest p50/p95 ms | our cheapest p50/p95 ms | Valhalla p50/p95 ms (routes found) | fastest p50 ratio | median time diff vs Valhalla |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results["datasets"].items():
        b, q, v = r["build"], r["queries"], r.get("valhalla") or {}
        label = name + (" (GENERATED)" if r["generated"] else "")
        ratio_b = b["wall_s"] / v["build_s"] if v.get("build_s") else None
        ratio_q = q["fastest_ms"]["p50"] / v["route_ms"]["p50"] if v.get("route_ms") else None
        diff = v.get("median_rel_time_diff")
        rows.append(
            f"| {label} | {b['nodes']:,} | {b['edges']:,} | {fmt(b['wall_s'])} | {fmt(b['peak_rss_mb'], 0)} | {fmt(v.get('build_s'))} | {fmt(v.get('peak_rss_mb'), 0)} | {fmt(ratio_b, 2)} | "
            f"{fmt(q['fastest_ms']['p50'], 2)} / {fmt(q['fastest_ms']['p95'], 2)} | {fmt(q['cheapest_ms']['p50'], 2)} / {fmt(q['cheapest_ms']['p95'], 2)} | "
            f"{fmt(v.get('route_ms', {}).get('p50'), 2)} / {fmt(v.get('route_ms', {}).get('p95'), 2)} ({v.get('routes_found', '–')}/{q['routes_found']}) | {fmt(ratio_q, 2)} | {'–' if diff is None else f'{diff * 100:+.1f} %'} |"
        )
    rows += ["", "Our build = Python start-up and imports, boundaries, read PBF, coach graph, overlay with 650 constituencies, landmarks, cache write, then policy compile and cell graph (fresh process, cold cache). Valhalla build = `valhalla_build_tiles` alone (its admin step is reported in the JSON).",
             "Cheapest latency includes the fastest search that supplies its cost bound. Valhalla latency is over the pairs it answered; `all_requests_ms` in the JSON includes its 'no path' answers.", ""]
    rows += scaling_section(results)
    notes = results.get("notes")
    if notes:
        rows += ["## Notes", "", *notes, ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def scaling_section(results: dict[str, Any]) -> list[str]:
    """How cost grows with size: log-log slopes fitted over the networks (1.0 = linear)."""
    names = sorted((k for k, r in results["datasets"].items() if r["build"]["nodes"] > 0), key=lambda k: results["datasets"][k]["build"]["nodes"])
    if len(names) < 4:
        return []
    n = np.array([results["datasets"][k]["build"]["nodes"] for k in names], dtype=float)
    series = {
        "our build time": [results["datasets"][k]["build"]["wall_s"] for k in names],
        "our peak memory": [results["datasets"][k]["build"]["peak_rss_mb"] for k in names],
        "our fastest p50": [results["datasets"][k]["queries"]["fastest_ms"]["p50"] for k in names],
        "our cheapest p95": [results["datasets"][k]["queries"]["cheapest_ms"]["p95"] for k in names],
    }
    vh_names = [k for k in names if (results["datasets"][k].get("valhalla") or {}).get("build_s")]
    if len(vh_names) >= 4:
        n_vh = np.array([results["datasets"][k]["build"]["nodes"] for k in vh_names], dtype=float)
        series_vh = {
            "Valhalla build time": [results["datasets"][k]["valhalla"]["build_s"] for k in vh_names],
            "Valhalla route p50": [results["datasets"][k]["valhalla"]["route_ms"]["p50"] for k in vh_names],
        }
    else:
        n_vh, series_vh = n, {}
    out = ["## Scaling", "", (f"Log-log slope against node count over {len(names)} networks ({min(n):,.0f} to {max(n):,.0f} nodes); 1.0 means linear growth. "
           "Fixed costs flatten the slopes at the small end (about 1 s of Python start-up and imports in our build; the HTTP round trip in Valhalla's latency)."), "",
           "| quantity | slope | smallest | largest |", "|---|---|---|---|"]
    for label, ys in [*series.items(), *series_vh.items()]:
        xs = n_vh if label.startswith("Valhalla") else n
        y = np.asarray(ys, dtype=float)
        ok = np.isfinite(y) & (y > 0)
        slope = float(np.polyfit(np.log(xs[ok]), np.log(y[ok]), 1)[0]) if ok.sum() >= 3 else float("nan")
        out.append(f"| {label} | {slope:.2f} | {y[0]:,.2f} | {y[-1]:,.2f} |")
    return [*out, ""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="newport,rutland,county,region,nation,gb")
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "routeplan-bench")
    ap.add_argument("--no-valhalla", action="store_true")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "latest.json")
    ap.add_argument("--markdown", type=Path, default=REPO / "docs" / "benchmarks.md")
    ap.add_argument("--markdown-only", action="store_true", help="Rewrite the markdown from --out without measuring.")
    args = ap.parse_args()
    if args.markdown_only:
        write_markdown(json.loads(args.out.read_text()), args.markdown)
        return
    from routeplan.boundaries import load_boundaries
    from routeplan.network import build_network

    args.workdir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": machine(), "pairs": args.pairs, "seed": args.seed, "datasets": {}}
    bnd = load_boundaries("wpc-2024")
    for name in args.sizes.split(","):
        print(f"[{name}]", file=sys.stderr)
        pbf, generated = dataset_path(name, args.workdir, args.seed)
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
        entry = {"pbf": pbf.name, "sha256": sha256(pbf), "generated": generated, "build": build, "load_cached_s": load_s, "queries": q}
        if not args.no_valhalla:
            entry["valhalla"] = run_valhalla(pbf, net, pairs, args.workdir, times)
            v = entry["valhalla"]
            print(f"  valhalla build {v['build_s']:.1f} s, p50 {v['route_ms']['p50']:.2f} ms, time diff {v['median_rel_time_diff']}", file=sys.stderr)
        results["datasets"][name] = entry
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1, default=str))
    write_markdown(results, args.markdown)
    print(f"wrote {args.out} and {args.markdown}", file=sys.stderr)


if __name__ == "__main__":
    main()
