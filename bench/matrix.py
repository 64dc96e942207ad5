"""Benchmark of ``routeplan.matrix``: exact venue matrices on the GENERATED presets, 1 and 2 workers.

One command (from the repo root)::

    ROUTEPLAN_DATA=../shared/data .venv/bin/python -m bench.matrix \\
        --dataset region=/tmp/rp-days/synth/region-seed0.osm.pbf --venues 100,300 --modes local,dask1,dask2

writes ``bench/results/matrix.json`` and the "Venue matrix" section of ``docs/benchmarks.md`` (the
rest of that file is kept as it is).  Venues are random network nodes (seed 0), given as
``lat,lon`` and resolved like ``routeplan matrix`` does; the 100 venues are the first 100 of the
300.  Each configuration runs in a fresh process (``--one``) whose process tree (the Dask workers
included) is sampled for its peak RSS; modes: ``local`` (``venue_matrix`` in one process, no Dask),
``daskN`` (``venue_matrix_dask`` on a LocalCluster of N single-threaded worker processes).

``--origins K`` computes only the first K origins' rows (all their destinations: the other
origins are handed in as done) and extrapolates the whole matrix's time by n / K over the
origins' part; the fixed costs (cluster start, workers loading the network) are not scaled.  Every
run records a digest of its rows, so runs of the same venues on 1 and 2 workers and in one process
can be checked to be equal.

``--part A:B`` (repeatable) measures a matrix too long for one sitting in parts: each part computes
origins A..B-1 (all their destinations) in its own fresh process, is recorded as soon as it ends
(``parts`` in the JSON) and keeps its rows in ``WORKDIR/matrix-rows/``.  Once the parts of a
configuration tile all n origins, the whole matrix is recorded (``wholes``): its time is the sum of
the parts' matrix times plus the parts' mean fixed costs (counted once), and its digest is that of
all the rows in origin order, the same digest a run in one piece gives.

Optionally ``--osrm-table`` times OSRM's ``Table`` (fastest times only,
no charges; CH) on the same venues as a reference for the one-to-many part.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import mdsplice
from bench.proc import tree_rss_mb

HEADING = "## Venue matrix (`routeplan matrix`)"
MODES = ("local", "dask1", "dask2")


def venue_nodes(n_nodes: int, n: int, seed: int) -> list[int]:
    """``n`` distinct random nodes (seed ``seed``); a smaller ``n`` gives a prefix of a larger one."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return [int(v) for v in rng.permutation(n_nodes)[:n]]


def places(net: Any, nodes: list[int]) -> list[str]:
    """The nodes as ``lat,lon`` text, as a planner would type them (7 decimals, about 1 cm)."""
    lat, lon = net.pieces.node_lat, net.pieces.node_lon
    return [f"{lat[v]:.7f},{lon[v]:.7f}" for v in nodes]


def canonical(row: Any) -> str:
    """A row as canonical JSON: what the digest hashes and what a part's rows file holds."""
    return json.dumps(row, sort_keys=True, default=str)


def rows_digest(rows: Any) -> str:
    """sha1 of the rows in a canonical JSON form (equal digests = equal matrices)."""
    h = hashlib.sha1()
    for r in rows:
        h.update(canonical(r).encode())
    return h.hexdigest()


def part_range(text: str, n: int) -> tuple[int, int]:
    """``"A:B"`` as origins [A, B) of ``n``; an error unless 0 <= A < B <= n."""
    try:
        a, b = (int(x) for x in text.split(":"))
    except ValueError:
        msg = f"a part is A:B (origins A to B-1), got {text!r}"
        raise SystemExit(msg) from None
    if not 0 <= a < b <= n:
        msg = f"part {text!r} is not within origins 0..{n}"
        raise SystemExit(msg)
    return a, b


def write_rows(path: Path, rows: Any) -> None:
    """A part's rows as JSON lines (written whole, then renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(canonical(r) + "\n")
    tmp.replace(path)


def read_rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def rows_path(workdir: Path, name: str, n: int, mode: str, lo: int, hi: int) -> Path:
    return workdir / "matrix-rows" / f"{name}-{n}-{mode}-{lo}-{hi}.jsonl"


def tiling(parts: list[dict[str, Any]], n: int) -> list[dict[str, Any]] | None:
    """The parts in origin order if their ranges cover 0..n-1 exactly once, else None."""
    ordered = sorted(parts, key=lambda p: p["origin_lo"])
    at = 0
    for p in ordered:
        if p["origin_lo"] != at:
            return None
        at += p["origins"]
    return ordered if at == n else None


def whole_from_parts(parts: list[dict[str, Any]], rows: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """The whole matrix from its parts (in origin order) and their rows."""
    p0 = parts[0]
    matrix_s = sum(p["matrix_s"] for p in parts)
    fixed = sum(p["cluster_s"] + p["load_s"] + p["resolve_s"] + p["customise_s"] for p in parts) / len(parts)
    flat = [r for part in rows for r in part]
    return {"dataset": p0["dataset"], "generated": p0.get("generated"), "n": p0["n"], "mode": p0["mode"], "method": p0.get("method"),
            "parts": len(parts), "pairs": sum(p["pairs"] for p in parts), "ok_pairs": sum(p["ok_pairs"] for p in parts),
            "pairs_cheaper_off_fastest": sum(p["pairs_cheaper_off_fastest"] for p in parts), "matrix_s": matrix_s,
            "total_s": fixed + matrix_s, "pairs_per_s": sum(p["pairs"] for p in parts) / matrix_s if matrix_s > 0 else None,
            "peak_rss_mb": max(p["peak_rss_mb"] for p in parts), "cpu_s": sum(p["cpu_s"] for p in parts),
            "cpu_pressure_pct": max(p["cpu_pressure_pct"] for p in parts), "digest": rows_digest(flat),
            "first": min(p["date"] for p in parts), "last": max(p["date"] for p in parts),
            "git_shas": sorted({p["git_sha"] for p in parts})}


def extrapolate(matrix_s: float, fixed_s: float, n: int, k: int) -> float:
    """Whole-matrix seconds from a run of ``k`` of ``n`` origins: the fixed part once, the rest
    scaled by n / k (origins are independent and drawn at random)."""
    if k <= 0 or n <= 0:
        msg = "n and k must be positive"
        raise ValueError(msg)
    return fixed_s + max(0.0, matrix_s - fixed_s) * n / k


def run_one(args: argparse.Namespace) -> dict[str, Any]:
    """One configuration in this process (the parent samples our memory)."""
    from routeplan.boundaries import load_boundaries
    from routeplan.locate import resolve
    from routeplan.matrix import MatrixRow, network_path, venue_matrix, venue_matrix_dask
    from routeplan.network import build_network
    from routeplan.policy import ExpensePolicy

    t0 = time.perf_counter()
    bnd = load_boundaries("wpc-2024")
    net = build_network(args.pbf, bnd, cache_dir=args.cache_dir)
    load_s = time.perf_counter() - t0
    nodes = venue_nodes(net.n_nodes, args.n, args.seed)
    t1 = time.perf_counter()
    stops = [resolve(p, net, bnd) for p in places(net, nodes)]
    resolve_s = time.perf_counter() - t1
    moved = sum(1 for s, v in zip(stops, nodes, strict=True) if s.node != v)
    n = len(stops)
    lo, k = part_range(args.part, n) if args.part else (0, min(args.origins or n, n))
    done: dict[int, list[MatrixRow]] = {}
    for i in (i for i in range(n) if not lo <= i < k):  # origins outside the slice: handed in as done, not computed
        done[i] = [MatrixRow(origin=i, destination=j, origin_label=stops[i].label, destination_label=stops[j].label,
                             status="no-route", fastest_s=None, fastest_pence=None, fastest_seats=[], cheapest_s=None,
                             cheapest_pence=None, cheapest_seats=[], stop_seats=[], stop_pence=0)
                   for j in range(n) if j != i]
    policy = ExpensePolicy()
    # The one-off customise steps (overlay, hierarchy; cached on disk), before the clock starts,
    # as `routeplan matrix` does before its first origin.
    from routeplan.matrix import customise_on_disk

    t1 = time.perf_counter()
    customise_on_disk(net, policy, args.method, keep=args.mode == "local")
    customise_s = time.perf_counter() - t1
    cluster_s = 0.0
    if args.mode == "local":
        t2 = time.perf_counter()
        res = venue_matrix(net, stops, policy, done=done, method=args.method)
        matrix_s = time.perf_counter() - t2
    else:
        import logging

        import distributed

        workers = int(args.mode.removeprefix("dask"))
        t2 = time.perf_counter()
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                                           silence_logs=logging.ERROR)
        client = distributed.Client(cluster)
        cluster_s = time.perf_counter() - t2
        try:
            t3 = time.perf_counter()
            res = venue_matrix_dask(network_path(net), stops, policy, client=client, done=done, method=args.method)
            matrix_s = time.perf_counter() - t3
        finally:
            client.close()
            cluster.close()
    computed = [r for r in res.rows if lo <= r["origin"] < k]
    if args.rows_out:
        write_rows(args.rows_out, computed)
    ok = [r for r in computed if r["status"] == "ok"]
    saving = sum(1 for r in ok if (r["fastest_pence"] or 0) > (r["cheapest_pence"] or 0))
    return {"n": n, "origin_lo": lo, "origins": k - lo, "pairs": len(computed), "ok_pairs": len(ok), "pairs_cheaper_off_fastest": saving,
            "load_s": load_s, "resolve_s": resolve_s, "customise_s": customise_s, "cluster_s": cluster_s, "matrix_s": matrix_s,
            "venues_snapped_elsewhere": moved, "digest": rows_digest(computed), "net_nodes": net.n_nodes}


def measure(pbf: Path, cache_dir: Path, n: int, mode: str, origins: int | None, seed: int, method: str,
            timeout_s: float, part: str | None = None, rows_out: Path | None = None) -> dict[str, Any]:
    """Run one configuration in a fresh process; its wall time and the peak RSS of its tree."""
    cmd = [sys.executable, "-m", "bench.matrix", "--one", "--pbf", str(pbf), "--cache-dir", str(cache_dir), "--n", str(n),
           "--mode", mode, "--seed", str(seed), "--method", method]
    if origins:
        cmd += ["--origins", str(origins)]
    if part:
        cmd += ["--part", part]
    if rows_out:
        cmd += ["--rows-out", str(rows_out)]
    from bench.run import cpu_pressure_us, pressure_pct

    # This checkout's routeplan first (a run from a worktree measures that worktree's code, not the
    # one the venv has installed); the Dask workers inherit it.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "src"), str(REPO)]), DASK_LOGGING__DISTRIBUTED="error")
    import resource

    psi0 = cpu_pressure_us()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO, start_new_session=True)
    peak = [0.0]
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.5):
            peak[0] = max(peak[0], tree_rss_mb(proc.pid))

    th = threading.Thread(target=watch, daemon=True)
    th.start()
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.communicate()
        return {"status": "timeout", "timeout_s": timeout_s, "wall_s": time.perf_counter() - t0, "peak_rss_mb": peak[0]}
    finally:
        stop.set()
        th.join()
    wall = time.perf_counter() - t0
    pressure = pressure_pct(psi0, t0)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)  # every reaped descendant, Dask workers too
    if proc.returncode != 0:
        return {"status": "failed", "stderr": err.decode(errors="replace")[-2000:], "wall_s": wall, "peak_rss_mb": peak[0]}
    res: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    res.update(status="ok", wall_s=wall, peak_rss_mb=peak[0], cpu_pressure_pct=pressure, cpu_s=cpu_s)
    fixed = res["cluster_s"]
    res["pairs_per_s"] = res["pairs"] / res["matrix_s"] if res["matrix_s"] > 0 else None
    whole_pairs = res["n"] * (res["n"] - 1)
    if part is None:  # a part's whole matrix is its parts' sum (whole_from_parts), not an extrapolation
        res["extrapolated_matrix_s"] = (extrapolate(res["matrix_s"], 0.0, res["n"], res["origins"]) if res["origins"] < res["n"]
                                        else res["matrix_s"])
        res["extrapolated_total_s"] = fixed + res["load_s"] + res["resolve_s"] + res["customise_s"] + res["extrapolated_matrix_s"]
    res["whole_pairs"] = whole_pairs
    return res


def osrm_table(pbf: Path, cache_dir: Path, n: int, seed: int, workdir: Path) -> dict[str, Any]:
    """OSRM CH's ``Table`` on the same venues (fastest times only), built like bench/run.py does."""
    from bench import peers
    from routeplan.boundaries import load_boundaries
    from routeplan.network import build_network

    env = peers.ensure_peer_env(workdir / "peers-venv")
    net = build_network(pbf, load_boundaries("wpc-2024"), cache_dir=cache_dir)
    pts = [[float(net.pieces.node_lat[v]), float(net.pieces.node_lon[v])] for v in venue_nodes(net.n_nodes, n, seed)]
    del net
    built = peers.build_osrm(env, pbf, workdir / "osrm" / f"{pbf.name.split('.')[0]}-ch", "CH")
    if built["status"] != "ok":
        return {"status": built["status"]}
    ans = peers.query(env, {"engine": "osrm", "path": built["path"], "algorithm": "CH", "pairs": [], "table": {"points": pts, "repeat": 3}})
    best = min(ans["table"], key=lambda t: t["seconds"])
    return {"status": "ok", "n": n, "seconds": best["seconds"], "found": best["found"], "pairs": best["pairs"], "repeats": len(ans["table"])}


def fmt(x: Any, nd: int = 1) -> str:
    if x is None:
        return "–"
    return f"{x:,.{nd}f}"


def markdown(results: dict[str, Any]) -> str:
    """The "Venue matrix" section from matrix.json."""
    lines = [HEADING, "",
             (f"Generated by `python -m bench.matrix` ({results.get('date', '?')[:10]}, git {_short(results.get('git_sha', '?'))}); raw numbers in `bench/results/matrix.json`. "
              "`routeplan.matrix` (method `pairwise`: one Dijkstra per origin for the fastest times; per pair, from 50k road nodes, the fastest route from the contraction hierarchy and the exact label search on the constituency-cell overlay for the two ends of the front: the cheapest route, and the cheapest among the fastest routes, searched along the fastest routes to that destination only (`kernels.corridor`, since git f5c5885; before, over every edge on a fastest route from the origin); the overlay's end-cell searches are kept across pairs since f5c5885) "
              "on random network nodes given as `lat,lon` (seed 0; the 100 venues are the first 100 of the 300), £461/seat/day, motorways exempt. "
              "local = `venue_matrix` in one process; dask N = `venue_matrix_dask` on a LocalCluster of N single-threaded worker processes (each loads the cached network once). "
              "Wall = the whole process: Python start, load the cached network, resolve the venues, start the cluster, the matrix. Peak RSS = the process tree (parent and workers), sampled every 0.5 s. "
              "CPU s = user + system time of the run's process and every worker (`getrusage` of reaped children): on a shared machine pairs per CPU second is the steadier rate "
              "(it counts the fixed costs too, so it understates the matrix's own rate)."),
             "",
             "| network | venues | mode | origins run | pairs run | matrix s | pairs/s | cluster start s | network load s (+ overlay and CH load) | whole matrix s (wall, extrapolated if sliced) | peak RSS MB | rows equal to local | CPU s (all processes) | pairs per CPU s | CPU pressure % |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results.get("runs", []):
        label = _label(r)
        if r.get("status") != "ok":
            lines.append(f"| {label} | {r['n']}×{r['n']} | {r['mode']} | {r.get('origins_asked') or r['n']} | – | {r.get('status')} after {fmt(r.get('wall_s'), 0)} s | – | – | – | – | {fmt(r.get('peak_rss_mb'), 0)} | – | – | – | – |")
            continue
        sliced = r["origins"] < r["n"]
        whole = f"{fmt(r['extrapolated_total_s'], 0)}{' (extrapolated ×' + fmt(r['n'] / r['origins'], 1) + ')' if sliced else ''}"
        lines.append(f"| {label} | {r['n']}×{r['n']} | {r['mode']} | {r['origins']} | {r['pairs']:,} | {fmt(r['matrix_s'])} | {fmt(r['pairs_per_s'], 0)} | "
                     f"{fmt(r['cluster_s'])} | {fmt(r['load_s'])}{' (+' + fmt(r['customise_s']) + ')' if r.get('customise_s') else ''} | {whole} | {fmt(r['peak_rss_mb'], 0)} | {r.get('equal_to_local', '–')} | {fmt(r.get('cpu_s'), 0)} | {fmt(r['pairs'] / r['cpu_s'] if r.get('cpu_s') else None, 0)} | {fmt(r.get('cpu_pressure_pct'), 0)} |")
    lines += coverage_markdown(results)
    lines += parts_markdown(results)
    for t in results.get("osrm_table", []):
        if t.get("status") == "ok":
            lines += ["", (f"Reference: OSRM CH's `Table` on the same {t['n']} venues of {t['dataset']} (fastest times only, no charges, in-process, best of {t['repeats']}): "
                          f"{fmt(t['seconds'], 2)} s for {t['pairs']:,} pairs ({t['found']:,} found).")]
    for note in results.get("notes", []):
        lines += ["", note]
    return "\n".join(lines) + "\n"


def coverage_markdown(results: dict[str, Any]) -> list[str]:
    """Issue 16 item 8 at a glance: for each network and venue count, each mode's whole-matrix
    seconds (measured in one piece or from parts), or the extrapolation of a slice, or nothing."""
    cells: dict[tuple[str, int], dict[str, str]] = {}
    for r in results.get("runs", []):
        if r.get("status") != "ok":
            continue
        k = (_label(r), r["n"])
        if r["origins"] == r["n"]:
            cells.setdefault(k, {})[r["mode"]] = f"{fmt(r['matrix_s'], 0)} s ({r.get('date', '?')[:10]}, {_short(r.get('git_sha', '?'))})"
        else:
            cells.setdefault(k, {}).setdefault(r["mode"], f"slice of {r['origins']} origins only: ~{fmt(r.get('extrapolated_matrix_s'), 0)} s extrapolated "
                                                          f"({r.get('date', '?')[:10]}, {_short(r.get('git_sha', '?'))})")
    for w in results.get("wholes", []):
        k = (_label(w), w["n"])
        cells.setdefault(k, {})[w["mode"]] = f"{fmt(w['matrix_s'], 0)} s, {w['parts']} parts ({w['last'][:10]}, {', '.join(_short(g) for g in w['git_shas'])})"
    if not cells:
        return []
    lines = ["", ("Whole matrices measured (matrix seconds; day and git of the code; in one piece or from parts, else a slice's extrapolation). "
                  "Compare a row's modes with each other only where they were measured on the same day (see the tables and notes):"), "",
             "| network | venues | one process | 1 worker | 2 workers |", "|---|---|---|---|---|"]
    for (label, n), by in sorted(cells.items()):
        lines.append(f"| {label} | {n}×{n} | {by.get('local', '–')} | {by.get('dask1', '–')} | {by.get('dask2', '–')} |")
    return lines


def parts_markdown(results: dict[str, Any]) -> list[str]:
    """Matrices measured in parts (``--part``): each whole one, and each part."""
    parts = results.get("parts", [])
    if not parts:
        return []
    lines = ["", ("Matrices measured in parts (`--part A:B`: origins A to B-1, all their destinations, each part in its own fresh process; "
             "the whole matrix's time is the sum of its parts' matrix times plus one part's mean fixed costs):"), "",
             "| network | venues | mode | parts | pairs | matrix s (sum) | pairs/s | whole matrix s | peak RSS MB | rows equal to local | same rows as | CPU s | max CPU pressure % | measured |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for w in results.get("wholes", []):
        label = _label(w)
        lines.append(f"| {label} | {w['n']}×{w['n']} | {w['mode']} | {w['parts']} | {w['pairs']:,} | {fmt(w['matrix_s'], 0)} | {fmt(w['pairs_per_s'], 1)} | "
                     f"{fmt(w['total_s'], 0)} | {fmt(w['peak_rss_mb'], 0)} | {w.get('equal_to_local', '–')} | {agreement(results, w)} | {fmt(w['cpu_s'], 0)} | "
                     f"{fmt(w['cpu_pressure_pct'], 0)} | {w['first'][:16]} to {w['last'][:16]}, git {', '.join(_short(g) for g in w['git_shas'])} |")
    lines += ["", "| network | venues | mode | origins | pairs | matrix s | pairs/s | peak RSS MB | rows equal to local | CPU s | CPU pressure % | measured |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for p in sorted(parts, key=lambda x: (x["dataset"], x["n"], x["mode"], x["origin_lo"])):
        label = _label(p)
        span = f"{p['origin_lo']}-{p['origin_lo'] + p['origins'] - 1}"
        if p.get("status") != "ok":
            lines.append(f"| {label} | {p['n']}×{p['n']} | {p['mode']} | {span} | – | {p.get('status')} after {fmt(p.get('wall_s'), 0)} s | – | {fmt(p.get('peak_rss_mb'), 0)} | – | – | – | {p['date'][:16]} |")
            continue
        lines.append(f"| {label} | {p['n']}×{p['n']} | {p['mode']} | {span} | {p['pairs']:,} | {fmt(p['matrix_s'])} | {fmt(p['pairs_per_s'], 1)} | "
                     f"{fmt(p['peak_rss_mb'], 0)} | {p.get('equal_to_local', '–')} | {fmt(p.get('cpu_s'), 0)} | {fmt(p.get('cpu_pressure_pct'), 0)} | "
                     f"{p['date'][:16]}, git {_short(p['git_sha'])} |")
    return lines


def agreement(results: dict[str, Any], w: dict[str, Any]) -> str:
    """How a whole matrix's rows compare with every other whole matrix of the same venues (runs in
    one piece and matrices from parts, any mode): ``dask2 yes, local **NO**``; ``–`` if none."""
    others = [(x["mode"], x) for x in results.get("runs", []) if x.get("status") == "ok" and x.get("origins") == x["n"]]
    others += [(x["mode"] + " (parts)", x) for x in results.get("wholes", []) if x["mode"] != w["mode"]]
    seen: dict[str, str] = {}
    for kind, x in others:
        if x["dataset"] == w["dataset"] and x["n"] == w["n"]:
            seen[kind] = "yes" if x["digest"] == w["digest"] else "**NO**"
    return ", ".join(f"{k} {v}" for k, v in sorted(seen.items())) or "–"


def write_markdown(results: dict[str, Any], path: Path) -> None:
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    path.write_text(mdsplice.replace_section(old, markdown(results), before=("## Whole days",)), encoding="utf-8")


def _label(r: dict[str, Any]) -> str:
    """A result's network as the tables name it (generated networks say so)."""
    return str(r["dataset"]) + (" (GENERATED)" if r.get("generated") else "")


def _short(sha: str) -> str:
    """The first 10 hex digits, keeping a ``+dirty`` mark."""
    return sha[:10] + ("+dirty" if sha.endswith("+dirty") else "")


def _git_sha() -> str:
    """HEAD, with ``+dirty`` when tracked files other than the bench's own results differ from it
    (the run measured uncommitted code)."""
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/results", ":!docs"],
                           cwd=REPO, capture_output=True, text=True, check=False).stdout.strip()
    return f"{sha}+dirty" if sha and dirty else sha


def _same(x: dict[str, Any], name: str, n: int, mode: str) -> bool:
    return bool(x["dataset"] == name and x["n"] == n and x["mode"] == mode)


def measure_parts(results: dict[str, Any], args: argparse.Namespace, name: str, pbf: Path, generated: bool, n: int,
                  mode: str) -> None:
    """Measure ``args.part`` of one configuration, one fresh process each, saving the results
    after each part; record the whole matrix once its parts tile all origins."""
    for text in args.part:
        lo, hi = part_range(text, n)
        print(f"[{name} {n}x{n} {mode} part {lo}:{hi}]", file=sys.stderr, flush=True)
        out = rows_path(args.workdir, name, n, mode, lo, hi)
        r = measure(pbf, args.cache_dir, n, mode, None, args.seed, args.method, args.timeout, part=f"{lo}:{hi}", rows_out=out)
        r.update(dataset=name, generated=generated, n=n, mode=mode, method=args.method, origin_lo=lo, origins=hi - lo,
                 rows_file=str(out), date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), git_sha=_git_sha())
        # the same origins measured in one process: as a part, or as a slice run (first K origins)
        local = [x for x in results.get("parts", []) if _same(x, name, n, "local") and x.get("origin_lo") == lo]
        local += [x for x in results["runs"] if _same(x, name, n, "local") and x.get("origin_lo", 0) == lo and x.get("origins") == hi - lo]
        local = [x for x in local if x.get("status") == "ok" and x.get("origins") == hi - lo]
        if mode != "local" and r.get("status") == "ok" and local:
            r["equal_to_local"] = "yes" if local[0]["digest"] == r["digest"] else "**NO**"
        results["parts"] = [x for x in results.get("parts", []) if not (_same(x, name, n, mode) and x["origin_lo"] == lo)] + [r]
        print(f"  {r.get('status')}: matrix {fmt(r.get('matrix_s'))} s, {fmt(r.get('pairs_per_s'), 0)} pairs/s", file=sys.stderr, flush=True)
        ok = [x for x in results["parts"] if _same(x, name, n, mode) and x.get("status") == "ok"]
        tiles = tiling(ok, n)
        if tiles is not None:
            whole = whole_from_parts(tiles, [read_rows(Path(p["rows_file"])) for p in tiles])
            ref = [x for x in results["runs"] if _same(x, name, n, "local") and x.get("status") == "ok" and x.get("origins") == n]
            ref += [x for x in results.get("wholes", []) if _same(x, name, n, "local")]
            whole["equal_to_local"] = "–" if mode == "local" else ("yes" if ref and ref[0]["digest"] == whole["digest"] else
                                                                    "**NO**" if ref else "–")
            results["wholes"] = [x for x in results.get("wholes", []) if not _same(x, name, n, mode)] + [whole]
            print(f"  whole matrix from {len(tiles)} parts: {fmt(whole['matrix_s'], 0)} s", file=sys.stderr, flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--pbf", type=Path)
    ap.add_argument("--n", type=int)
    ap.add_argument("--mode", choices=MODES, default="local")
    ap.add_argument("--dataset", action="append", default=[], help="NAME=PATH.osm.pbf (repeatable)")
    ap.add_argument("--venues", default="100,300")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--origins", type=int, help="run only this many origins and extrapolate (all their destinations)")
    ap.add_argument("--part", action="append", default=[], help="A:B: measure origins A..B-1 as one part of a whole matrix (repeatable)")
    ap.add_argument("--rows-out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--cache-dir", type=Path, default=Path("/tmp/rp-days/cache"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--method", default="pairwise")
    ap.add_argument("--timeout", type=float, default=3600.0)
    ap.add_argument("--osrm-table", action="store_true")
    ap.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "routeplan-bench")
    ap.add_argument("--note", action="append", default=[])
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "matrix.json")
    ap.add_argument("--markdown", type=Path, default=REPO / "docs" / "benchmarks.md")
    ap.add_argument("--markdown-only", action="store_true")
    args = ap.parse_args()
    if args.one:
        args.part = args.part[0] if args.part else None
        print(json.dumps(run_one(args)))
        return
    results: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {"runs": [], "osrm_table": []}
    if args.markdown_only:
        write_markdown(results, args.markdown)
        return
    results.update(date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), git_sha=_git_sha())
    if args.note:
        results["notes"] = args.note
    for spec in args.dataset:
        name, path = spec.split("=", 1)
        pbf = Path(path)
        generated = Path(str(pbf) + ".json").is_file()
        if args.part:
            for n in (int(x) for x in args.venues.split(",")):
                for mode in args.modes.split(","):
                    measure_parts(results, args, name, pbf, generated, n, mode)
            continue
        for n in (int(x) for x in args.venues.split(",")):
            for mode in args.modes.split(","):
                print(f"[{name} {n}x{n} {mode}{' origins ' + str(args.origins) if args.origins else ''}]", file=sys.stderr, flush=True)
                r = measure(pbf, args.cache_dir, n, mode, args.origins, args.seed, args.method, args.timeout)
                r.update(dataset=name, generated=generated, n=n, mode=mode, origins_asked=args.origins, method=args.method,
                         date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), git_sha=_git_sha())
                local = next((x for x in results["runs"] if _same(x, name, n, "local")
                              and x.get("status") == "ok" and x.get("origins") == r.get("origins")), None)
                if mode == "local":
                    r["equal_to_local"] = "–"
                elif r.get("status") == "ok" and local is not None:
                    r["equal_to_local"] = "yes" if local["digest"] == r["digest"] else "**NO**"
                results["runs"] = [x for x in results["runs"] if not _same(x, name, n, mode)] + [r]
                print(f"  {r.get('status')}: matrix {fmt(r.get('matrix_s'))} s, {fmt(r.get('pairs_per_s'), 0)} pairs/s, "
                      f"peak {fmt(r.get('peak_rss_mb'), 0)} MB, whole {fmt(r.get('extrapolated_total_s'), 0)} s", file=sys.stderr, flush=True)
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(json.dumps(results, indent=1))
        if args.osrm_table:
            for n in (int(x) for x in args.venues.split(",")):
                t = osrm_table(pbf, args.cache_dir, n, args.seed, args.workdir)
                t["dataset"] = name
                results["osrm_table"] = [x for x in results.get("osrm_table", []) if not (x.get("dataset") == name and x.get("n") == n)] + [t]
                args.out.write_text(json.dumps(results, indent=1))
    write_markdown(results, args.markdown)
    print(f"wrote {args.out} and {args.markdown}", file=sys.stderr)


if __name__ == "__main__":
    main()
