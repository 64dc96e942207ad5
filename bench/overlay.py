"""Benchmark: the constituency-cell overlay (``routeplan.kernels.overlay_cells``) against the
flat kernels, per network: customise time and memory, overlay size, and fastest / whole-leg
latency over random pairs.

Sizes in MiB.  One command (from the repo root)::

    ROUTEPLAN_DATA=../shared/data .venv/bin/python -m bench.overlay \\
        --nets newport,rutland,region=/path/region.osm.pbf,gb=/path/gb.osm.pbf

writes ``bench/results/overlay.json``.  Each network runs in a fresh process (its peak RSS is its
own).  Per pair (seed 0, uniform random road nodes, £461/seat/day, motorways exempt) and in this
order, so that every kernel sees the same machine load:

* ``flat``: A* fastest (landmarks), then the label search with that bound (``pareto_front_fast``,
  cheapest route only); the whole leg is their sum, as in ``bench/run.py``;
* ``overlay_goal``: the goal-directed fastest search on the overlay (corridor of the source and
  target cells, clique edges between), the overlay's *fastest search*;
* ``overlay_trees``: what ``plan_leg(engine="overlay")`` runs: both cells searched whole once,
  the fastest over border nodes, then the label search over border nodes (shared cell trees);
* ``overlay_hybrid``: the goal-directed fastest, then cell trees and label search only when the
  fastest route does not already pay the charge lower bound.

Every route is unpacked to road edges (the ledger's input), and the overlay's cheapest and fastest
are checked equal to the flat kernel's (``mismatches``).  Wall-clock numbers live here, never in
tests; the machine's load average is recorded before and after each network.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Self

import numpy as np

REPO = Path(__file__).resolve().parents[1]
REAL = {"newport": "newport-2023-06-13.osm.pbf", "rutland": "rutland-latest.osm.pbf"}


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Sampler:
    """Highest RSS seen while a block runs (sampled every 5 ms): a step's own peak, which the
    process high-water mark hides when an earlier step went higher."""

    def __enter__(self) -> Self:
        self.before = _rss_mb()
        self.peak = self.before
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss_mb())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, _rss_mb())


def pct(xs: list[float], q: float) -> float | None:
    return float(np.percentile(xs, q)) if xs else None


def summary(xs: list[float]) -> dict[str, float | None]:
    return {"p50": pct(xs, 50), "p95": pct(xs, 95), "max": max(xs) if xs else None}


def child(name: str, pbf: str, cache_dir: str, n_pairs: int, seed: int) -> dict[str, Any]:
    """Measure one network (runs in its own process)."""
    from routeplan import cache as rcache
    from routeplan.boundaries import load_boundaries
    from routeplan.kernels.dijkstra import shortest_path
    from routeplan.kernels.fastlabels import pareto_front_fast
    from routeplan.kernels.labels import route_cost
    from routeplan.kernels.overlay_cells import CellOverlay, OverlayQuery, build_overlay, edge_cells
    from routeplan.network import build_network
    from routeplan.policy import ExpensePolicy

    t0 = time.perf_counter()
    net = build_network(pbf, load_boundaries("wpc-2024"), cache_dir=cache_dir)
    load_s = time.perf_counter() - t0
    pol = ExpensePolicy()
    ex = frozenset(pol.exempt_classes)
    c = net.compile(pol)
    cg = net.cell_graph(ex)
    lm = net.landmarks
    xy, iv, ws = net.node_x_y, net.inv_vmax, net.workspace
    allowed = net.allowed_mask(ex, c.label_charge)
    # Compile the customise kernels on a tiny graph first: JIT time is not customise time.
    tiny = np.array([0, 1, 2], dtype=np.int64)
    build_overlay(tiny, np.array([1, 0], dtype=np.int32), np.ones(2), np.array([0, 1], dtype=np.int32), np.array([0, 1], dtype=np.int32))
    label = net._labels(ex)
    cell, cell_label = edge_cells(label, net.pieces.cell[net._csr["piece"]], len(net.cell_codes))
    with _Sampler() as mem:
        t0 = time.perf_counter()
        ov = build_overlay(c.indptr, c.heads, c.time_s, cell, cell_label)
        customise_s = time.perf_counter() - t0
    del cell
    net.overlay(ex)  # writes the cache entry (or finds it)
    entry = next(e.path for e in rcache.entries(cache_dir) if e.kind == "overlay")
    t0 = time.perf_counter()
    loaded = CellOverlay.from_arrays(rcache.read_npz(entry))
    cache_load_s = time.perf_counter() - t0
    assert loaded is not None and np.array_equal(loaded.ov_time, ov.ov_time)
    rng = np.random.default_rng(seed)
    pairs = [(int(a), int(b)) for a, b in rng.integers(0, net.n_nodes, size=(n_pairs, 2))]

    def flat(s: int, t: int) -> dict[str, Any]:
        a = time.perf_counter()
        fp = shortest_path(c.indptr, c.heads, c.time_s, s, t, allowed, xy=xy, inv_vmax=iv, landmarks=lm, workspace=ws)
        b = time.perf_counter()
        if fp is None:
            return {"fastest": (b - a) * 1e3}
        st: dict[str, float] = {}
        ub = route_cost(fp[1], c.label, c.label_charge)[0]
        fr = pareto_front_fast(c.indptr, c.heads, c.time_s, c.label, c.label_charge, s, t, cell_graph=cg, ub_cost=ub, xy=xy, inv_vmax=iv,
                               landmarks=lm, workspace=ws, fastest=fp, first_only=True, stats=st)
        e = time.perf_counter()
        return {"fastest": (b - a) * 1e3, "whole": (e - a) * 1e3, "t": fp[0], "cost": fr[0].cost, "ctime": fr[0].time_s, "labels": st["labels"]}

    def overlay(s: int, t: int, mode: str) -> dict[str, Any]:
        a = time.perf_counter()
        q = OverlayQuery(ov, c.indptr, c.heads, c.tails, c.time_s, c.label, c.label_charge, s, t, xy=xy, inv_vmax=iv, landmarks=lm, workspace=ws)
        fp = q.fastest(goal_directed=mode != "trees")
        b = time.perf_counter()
        if fp is None or mode == "goal":
            return {"fastest": (b - a) * 1e3} | ({"t": fp[0]} if fp is not None else {})
        st: dict[str, float] = {}
        ub = route_cost(fp[1], c.label, c.label_charge)[0]
        fr = q.front(cell_graph=cg, ub_cost=ub, fastest=fp, first_only=True, stats=st)
        e = time.perf_counter()
        return {"fastest": (b - a) * 1e3, "whole": (e - a) * 1e3, "t": fp[0], "cost": fr[0].cost, "ctime": fr[0].time_s, "labels": st["labels"]}

    modes = {"flat": flat, "overlay_goal": lambda s, t: overlay(s, t, "goal"), "overlay_trees": lambda s, t: overlay(s, t, "trees"),
             "overlay_hybrid": lambda s, t: overlay(s, t, "hybrid")}
    for f in modes.values():  # JIT warm-up
        f(*pairs[0])
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in modes}
    load_before = os.getloadavg()
    for s, t in pairs:
        for k, f in modes.items():
            runs[k].append(f(s, t))
    load_after = os.getloadavg()
    mismatches = 0
    for i in range(len(pairs)):
        ref = runs["flat"][i]
        for k in ("overlay_goal", "overlay_trees", "overlay_hybrid"):
            got = runs[k][i]
            bad_fastest = ("t" in ref) != ("t" in got) or ("t" in ref and not np.isclose(ref["t"], got["t"], rtol=1e-9))
            bad_cheapest = "cost" in got and (got["cost"] != ref["cost"] or not np.isclose(got["ctime"], ref["ctime"], rtol=1e-9))
            mismatches += bad_fastest or bad_cheapest
    out: dict[str, Any] = {}
    for k, rs in runs.items():
        fast = [r["fastest"] for r in rs]
        whole = [r["whole"] for r in rs if "whole" in r]
        labels = [r["labels"] for r in rs if "labels" in r]
        out[k] = {"fastest_ms": summary(fast), "whole_ms": summary(whole) if whole else None,
                  "labels": {"p50": pct(labels, 50), "p95": pct(labels, 95)} if labels else None}
    goal95 = out["overlay_goal"]["fastest_ms"]["p95"]
    ratios = {
        "flat_whole_over_flat_fastest": out["flat"]["whole_ms"]["p95"] / out["flat"]["fastest_ms"]["p95"],
        "trees_whole_over_trees_fastest": out["overlay_trees"]["whole_ms"]["p95"] / out["overlay_trees"]["fastest_ms"]["p95"],
        "trees_whole_over_goal_fastest": out["overlay_trees"]["whole_ms"]["p95"] / goal95,
        "hybrid_whole_over_goal_fastest": out["overlay_hybrid"]["whole_ms"]["p95"] / goal95,
    }
    return {
        "name": name, "pbf": Path(pbf).name, "nodes": net.n_nodes, "edges": int(c.heads.shape[0]), "network_load_s": load_s,
        "cells": int(np.unique(net.pieces.cell).shape[0]),
        "overlay": {"border_nodes": ov.n_border, "clique_edges": ov.n_clique_edges, "path_edges": int(ov.path_edges.shape[0]),
                    "mb": ov.nbytes / 2**20, "mb_without_reverse_csr": (ov.nbytes - ov.rev_ptr.nbytes - ov.rev_edge.nbytes) / 2**20,
                    "customise_s": customise_s, "customise_rss_before_mb": mem.before, "customise_rss_peak_mb": mem.peak,
                    "customise_extra_peak_mb": mem.peak - mem.before, "cache_file_mb": entry.stat().st_size / 2**20,
                    "cache_load_s": cache_load_s},
        "pairs": len(pairs), "routes": sum("t" in r for r in runs["flat"]), "mismatches": mismatches,
        "kernels": out, "p95_ratios": ratios, "load_avg_before": load_before, "load_avg_after": load_after,
        "peak_rss_mb": _peak_mb(),
    }


def _git_sha() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", default="newport,rutland", help="NAME (real extract) or NAME=PBF, comma-separated")
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "routeplan-bench-overlay")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "overlay.json")
    ap.add_argument("--child", nargs=3, metavar=("NAME", "PBF", "CACHE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(*args.child, args.pairs, args.seed)))
        return
    from routeplan import settings

    results: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    results.update({"git": _git_sha(), "cpus": os.cpu_count(), "python": sys.version.split()[0], "pairs": args.pairs, "seed": args.seed})
    results.setdefault("networks", {})
    for item in args.nets.split(","):
        name, _, path = item.partition("=")
        pbf = Path(path) if path else settings.data_dir() / "osm" / REAL[name]
        cache = args.workdir / name
        cache.mkdir(parents=True, exist_ok=True)
        print(f"[{name}] {pbf}", file=sys.stderr)
        env = dict(os.environ, PYTHONPATH=str(REPO))
        proc = subprocess.run([sys.executable, "-m", "bench.overlay", "--pairs", str(args.pairs), "--seed", str(args.seed),
                               "--child", name, str(pbf), str(cache)], cwd=REPO, env=env, stdout=subprocess.PIPE, check=True)
        res = json.loads(proc.stdout.decode().strip().splitlines()[-1])
        results["networks"][name] = res
        k = res["kernels"]
        print(f"  border {res['overlay']['border_nodes']:,}, clique {res['overlay']['clique_edges']:,}, customise {res['overlay']['customise_s']:.1f} s; "
              f"flat fastest/whole p95 {k['flat']['fastest_ms']['p95']:.2f}/{k['flat']['whole_ms']['p95']:.2f} ms; "
              f"overlay goal fastest p95 {k['overlay_goal']['fastest_ms']['p95']:.2f}, trees whole p95 {k['overlay_trees']['whole_ms']['p95']:.2f} ms; "
              f"mismatches {res['mismatches']}", file=sys.stderr)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1))
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
