"""Benchmark: whole-day plans (``routeplan.day.plan_day``) and stop ordering (``routeplan.order``).

One command (from the repo root)::

    ROUTEPLAN_DATA=../shared/data .venv/bin/python -m bench.days [--sizes newport,rutland,region,gb] [--days 50]

writes ``bench/results/days.json`` (atomically; git SHA, machine, raw numbers per day) and prints
the markdown tables pasted into ``docs/benchmarks.md`` (``--markdown-only`` re-prints them from
the JSON).  Datasets: the real Newport and Rutland extracts and the GENERATED ``region`` and
``gb`` presets (``routeplan.synth``: synthetic roads over the real 2024 constituencies and the
real motorway skeleton), generated once into ``--workdir`` and built through the graph cache.

Days are random and deterministic (``--seed``): the first stop is a uniformly random network
node, the others uniformly random nodes within ``--radius-km`` of it (a day's campaigning area;
on Newport and Rutland that is the whole extract), each given to the resolver as ``"lat,lon"``
exactly as an itinerary would.  Each day is planned with ``plan_day`` (fast engine, default
policy: £461 a constituency a day, motorways exempt, stops' own seats charged); we record the
whole call, the exact whole-day search alone (``timings["day_s"]``), both baselines (fastest legs,
leg by leg), the label counts and the charges of the three plans.  ``optimise_order`` runs on
days of 5 and 7 free stops (the start is fixed) with its default 60 s budget.

Each dataset runs in a fresh process so its peak RSS is its own.  ``--sizes`` may list a subset;
the datasets not run keep their earlier entry in the JSON.  Wall-clock numbers live here, never
in the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.run import REAL, dataset_path, machine, pct, sha256

DEFAULT_SIZES = "newport,rutland,region,gb"
STOP_COUNTS = (3, 5, 8)
FREE_COUNTS = (5, 7)


# ------------------------------------------------------------------------------ one dataset


def pick_day(net: Any, xy: np.ndarray, rng: np.random.Generator, n_stops: int, radius_m: float) -> list[str]:
    """``n_stops`` distinct random nodes as ``"lat,lon"``: the first uniform, the rest within
    ``radius_m`` of it (straight line, British National Grid)."""
    first = int(rng.integers(0, net.n_nodes))
    near = np.flatnonzero(np.hypot(xy[:, 0] - xy[first, 0], xy[:, 1] - xy[first, 1]) <= radius_m)
    near = near[near != first]
    rest = rng.choice(near, size=n_stops - 1, replace=False)
    lat, lon = net.pieces.node_lat, net.pieces.node_lon
    return [f"{float(lat[v]):.7f},{float(lon[v]):.7f}" for v in [first, *map(int, rest)]]


def resolve_all(texts: list[str], net: Any, bnd: Any) -> list[Any]:
    from routeplan.locate import resolve

    return [resolve(t, net, bnd, max_snap_m=50.0) for t in texts]


def run_days(net: Any, bnd: Any, n_stops: int, days: int, seed: int, radius_m: float,
             wall_cap_s: float = float("inf")) -> list[dict[str, Any]]:
    """Plan ``days`` random days; no new day is started after ``wall_cap_s`` seconds (the days
    run are the first ones of the same deterministic sequence)."""
    from routeplan.day import plan_day
    from routeplan.errors import RouteplanError
    from routeplan.policy import ExpensePolicy

    pol = ExpensePolicy()
    xy = net.node_xy
    out: list[dict[str, Any]] = []
    t_start = time.perf_counter()
    for d in range(days):
        if time.perf_counter() - t_start > wall_cap_s:
            print(f"    {n_stops} stops: stopped after {d} days (--day-wall-cap {wall_cap_s:g} s)", file=sys.stderr)
            break
        rng = np.random.default_rng([seed, n_stops, d])
        texts = pick_day(net, xy, rng, n_stops, radius_m)
        rec: dict[str, Any] = {"day": d, "stops": texts}
        try:
            stops = resolve_all(texts, net, bnd)
            t0 = time.perf_counter()
            plan = plan_day(net, stops, pol)
            rec["wall_s"] = time.perf_counter() - t0
        except RouteplanError as exc:  # a random day may have an unreachable stop: record, go on
            rec["error"] = f"{type(exc).__name__}: {exc}"
            out.append(rec)
            print(f"    {n_stops} stops day {d}: {rec['error']}", file=sys.stderr)
            continue
        rec.update(
            timings=plan.timings, sizes=plan.sizes,
            best={"pence": plan.best.cost_pence, "time_s": plan.best.time_s},
            fastest={"pence": plan.fastest.cost_pence, "time_s": plan.fastest.time_s},
            leg_by_leg={"pence": plan.leg_by_leg.cost_pence, "time_s": plan.leg_by_leg.time_s},
            rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        )
        out.append(rec)
        print(f"    {n_stops} stops day {d}: {rec['wall_s']:.2f} s (day {plan.timings['day_s']:.2f} s, "
              f"{plan.sizes['labels']:,} labels), best £{plan.best.cost_pence / 100:,.0f} / lbl £{plan.leg_by_leg.cost_pence / 100:,.0f}"
              f" / fastest £{plan.fastest.cost_pence / 100:,.0f}", file=sys.stderr)
    return out


def run_orders(net: Any, bnd: Any, n_free: int, days: int, seed: int, radius_m: float, budget_s: float) -> list[dict[str, Any]]:
    from routeplan.errors import RouteplanError
    from routeplan.order import optimise_order
    from routeplan.policy import ExpensePolicy

    pol = ExpensePolicy()
    xy = net.node_xy
    out: list[dict[str, Any]] = []
    for d in range(days):
        rng = np.random.default_rng([seed, 1000 + n_free, d])
        texts = pick_day(net, xy, rng, n_free + 1, radius_m)
        rec: dict[str, Any] = {"day": d, "stops": texts}
        try:
            stops = resolve_all(texts, net, bnd)
            t0 = time.perf_counter()
            res = optimise_order(net, stops, [True] + [False] * n_free, pol, time_budget_s=budget_s)
            rec["wall_s"] = time.perf_counter() - t0
        except RouteplanError as exc:
            rec["error"] = f"{type(exc).__name__}: {exc}"
            out.append(rec)
            print(f"    order {n_free} free day {d}: {rec['error']}", file=sys.stderr)
            continue
        rec.update(order=list(res.order), optimal=res.optimal, pence=res.cost_pence, lower_bound_pence=res.lower_bound_pence,
                   drive_s=res.drive_s, matrix_s=res.matrix_s, search_s=res.search_s, explored=res.explored,
                   stats={k: float(v) for k, v in res.stats.items()},
                   rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        out.append(rec)
        print(f"    order {n_free} free day {d}: {rec['wall_s']:.2f} s (matrix {res.matrix_s:.2f} s, search {res.search_s:.2f} s), "
              f"optimal={res.optimal}", file=sys.stderr)
    return out


def worker(args: argparse.Namespace) -> None:
    """Measure one dataset in this process and write its entry as JSON to ``args.worker_out``."""
    from routeplan.boundaries import load_boundaries
    from routeplan.network import build_network

    name = args.worker
    pbf, generated = dataset_path(name, args.workdir, args.seed)
    cache = Path(os.environ.get("ROUTEPLAN_CACHE") or args.workdir / "cache")
    cache.mkdir(parents=True, exist_ok=True)
    bnd = load_boundaries("wpc-2024")
    t0 = time.perf_counter()
    net = build_network(pbf, bnd, cache_dir=cache)
    load_s = time.perf_counter() - t0
    print(f"  {name}: {net.n_nodes:,} nodes, loaded in {load_s:.1f} s", file=sys.stderr)
    radius_m = args.radius_km * 1000.0
    # Warm-up: numba compilation and the network's lazy arrays (landmarks, cell graph) are not part
    # of a day's latency.
    run_days(net, bnd, 3, 1, args.seed + 999, radius_m)
    entry: dict[str, Any] = {"pbf": pbf.name, "sha256": sha256(pbf), "generated": generated, "nodes": net.n_nodes,
                             "edges": net.n_edges, "load_cached_s": load_s, "radius_km": args.radius_km,
                             "days": {}, "orders": {}}
    out = Path(args.worker_out)

    def save() -> None:  # after every step, so an interrupted run keeps what it measured
        entry["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        tmp = out.with_suffix(".part")
        tmp.write_text(json.dumps(entry, default=float))
        tmp.replace(out)

    n_days = args.days if args.gb_days is None or name != "gb" else args.gb_days
    for k in args.stops:
        entry["days"][str(k)] = run_days(net, bnd, k, n_days, args.seed, radius_m, args.day_wall_cap)
        save()
    n_orders = args.order_days if args.gb_order_days is None or name != "gb" else args.gb_order_days
    t_orders = time.perf_counter()
    for f in args.free:
        if time.perf_counter() - t_orders > args.order_wall_cap:
            print(f"    order {f} free: skipped, over --order-wall-cap {args.order_wall_cap:g} s", file=sys.stderr)
            entry["orders"][str(f)] = []
            continue
        entry["orders"][str(f)] = run_orders(net, bnd, f, n_orders, args.seed, radius_m, args.order_budget)
        save()
    save()


# ------------------------------------------------------------------------------ summaries


def _ok(recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in recs if "error" not in r]


def day_summary(recs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = _ok(recs)

    def q(xs: list[float]) -> dict[str, float]:
        return {"p50": pct(xs, 50), "p95": pct(xs, 95), "max": max(xs) if xs else float("nan")}

    return {
        "days": len(recs), "planned": len(ok),
        "plan_day_s": q([r["wall_s"] for r in ok]),
        "whole_day_search_s": q([r["timings"]["day_s"] for r in ok]),
        "fastest_legs_s": q([r["timings"]["fastest_s"] for r in ok]),
        "leg_by_leg_s": q([r["timings"]["leg_by_leg_s"] for r in ok]),
        "labels": q([float(r["sizes"]["labels"]) for r in ok]),
        "layered_nodes": q([float(r["sizes"]["layered_nodes"]) for r in ok]),
        "peak_rss_mb": max((r["rss_mb"] for r in ok), default=float("nan")),
        # days whose all-fastest day already pays only the lower bound: no label was created, the
        # set-up (layered graph, time bound, cell graph) was all the work
        "search_skipped_days": sum(1 for r in ok if r["sizes"]["labels"] == 0),
        "errors": sorted({r["error"].split(":")[0] for r in recs if "error" in r}),
        **comparison(ok),
    }


def comparison(ok: list[dict[str, Any]]) -> dict[str, Any]:
    """How often, and by how much, the day planned whole beats each baseline."""
    out: dict[str, Any] = {}
    for base in ("leg_by_leg", "fastest"):
        save = [r[base]["pence"] - r["best"]["pence"] for r in ok]
        extra = [r["best"]["time_s"] - r[base]["time_s"] for r in ok]
        wins = [i for i, s in enumerate(save) if s > 0]
        ties_faster = [i for i, s in enumerate(save) if s == 0 and extra[i] < -1e-6]
        out[f"vs_{base}"] = {
            "cheaper_days": len(wins),
            "same_charge_faster_days": len(ties_faster),
            "never_worse": all(s >= 0 for s in save),
            "saving_pence_total": int(sum(save)),
            "saving_pence_mean_when_cheaper": float(np.mean([save[i] for i in wins])) if wins else 0.0,
            "saving_pence_max": int(max(save, default=0)),
            "extra_drive_s_median_when_cheaper": float(np.median([extra[i] for i in wins])) if wins else 0.0,
        }
    return out


def order_summary(recs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = _ok(recs)
    w = [r["wall_s"] for r in ok]
    return {
        "days": len(recs), "solved": len(ok), "optimal": sum(1 for r in ok if r["optimal"]),
        "wall_s": {"p50": pct(w, 50), "p95": pct(w, 95), "max": max(w) if w else float("nan")},
        "matrix_s_p50": pct([r["matrix_s"] for r in ok], 50), "search_s_p50": pct([r["search_s"] for r in ok], 50),
        "within_60s_and_optimal": sum(1 for r in ok if r["optimal"] and r["wall_s"] <= 60.0),
    }


def summarise(results: dict[str, Any]) -> None:
    for entry in results["datasets"].values():
        entry["day_summary"] = {k: day_summary(v) for k, v in entry["days"].items()}
        entry["order_summary"] = {k: order_summary(v) for k, v in entry["orders"].items()}


def _f(x: Any, nd: int = 2) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "–"
    return f"{x:,.{nd}f}"


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        "## Whole days and stop order",
        "",
        (f"Generated by `python -m bench.days` on {m['date']} (git {m['git_sha'][:10]}; {m['cpus']} cores, {m['mem_mb']} MB; Python {m['python']}); "
        f"raw numbers in `bench/results/days.json`."),
        (f"Random days (seed {results['seed']}): the first stop a uniformly random network node, the others random nodes within "
        f"{results['radius_km']:g} km of it, each given as `lat,lon`; `plan_day`, fast engine, £461/constituency/day, motorways exempt, "
        "stops' own seats charged.  Networks marked GENERATED are synthetic roads (routeplan.synth) over the real 2024 constituencies "
        "and the real motorway skeleton.  Each network runs in a fresh process after one warm-up day (numba compilation excluded)."),
        "",
        "| network | nodes | stops | days planned | plan_day p50 / p95 s | whole-day search p50 / p95 s | fastest legs p50 / p95 s | leg by leg p50 / p95 s | labels p50 / p95 | layered nodes p50 | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, e in results["datasets"].items():
        label = name + (" (GENERATED)" if e["generated"] else "")
        for k, s in e["day_summary"].items():
            lines.append(
                f"| {label} | {e['nodes']:,} | {k} | {s['planned']}/{s['days']} | {_f(s['plan_day_s']['p50'])} / {_f(s['plan_day_s']['p95'])} | "
                f"{_f(s['whole_day_search_s']['p50'])} / {_f(s['whole_day_search_s']['p95'])} | {_f(s['fastest_legs_s']['p50'], 3)} / {_f(s['fastest_legs_s']['p95'], 3)} | "
                f"{_f(s['leg_by_leg_s']['p50'])} / {_f(s['leg_by_leg_s']['p95'])} | {_f(s['labels']['p50'], 0)} / {_f(s['labels']['p95'], 0)} | "
                f"{_f(s['layered_nodes']['p50'], 0)} | {_f(s['peak_rss_mb'], 0)} |")
    lines += ["", ("`plan_day` is the whole call (compile, both baselines, the exact whole-day search, three day ledgers); the whole-day search is "
              "`DayPlan.timings['day_s']` (layered graph, its exact time bound and cell graph, label setting); labels and layered nodes are "
              "`DayPlan.sizes`.  Peak RSS is the process's high-water mark after that row."), "",
              ("**Planned whole vs the baselines** (same days): days where the whole-day plan is strictly cheaper, the mean and largest "
              "saving on those days, and the median extra driving the saving costs."), "",
              "| network | stops | days | cheaper than leg by leg | mean / max saving | extra driving (median) | cheaper than fastest legs | mean / max saving | extra driving (median) |",
              "|---|---|---|---|---|---|---|---|---|"]
    for name, e in results["datasets"].items():
        label = name + (" (GENERATED)" if e["generated"] else "")
        for k, s in e["day_summary"].items():
            a, b = s["vs_leg_by_leg"], s["vs_fastest"]
            lines.append(
                f"| {label} | {k} | {s['planned']} | {a['cheaper_days']} ({a['same_charge_faster_days']} more same charge, faster) | "
                f"£{a['saving_pence_mean_when_cheaper'] / 100:,.0f} / £{a['saving_pence_max'] / 100:,.0f} | {a['extra_drive_s_median_when_cheaper'] / 60:+.1f} min | "
                f"{b['cheaper_days']} | £{b['saving_pence_mean_when_cheaper'] / 100:,.0f} / £{b['saving_pence_max'] / 100:,.0f} | {b['extra_drive_s_median_when_cheaper'] / 60:+.1f} min |")
    lines += ["", "**Stop order** (`optimise_order`, start fixed, the other stops free, default 60 s search budget; wall time = leg matrix + search):", "",
              "| network | free stops | days solved | proven optimal | within 60 s and optimal | wall p50 / p95 s | max s | matrix p50 s | search p50 s |",
              "|---|---|---|---|---|---|---|---|---|"]
    for name, e in results["datasets"].items():
        label = name + (" (GENERATED)" if e["generated"] else "")
        for k, s in e["order_summary"].items():
            lines.append(f"| {label} | {k} | {s['solved']}/{s['days']} | {s['optimal']} | {s['within_60s_and_optimal']} | "
                         f"{_f(s['wall_s']['p50'])} / {_f(s['wall_s']['p95'])} | {_f(s['wall_s']['max'])} | {_f(s['matrix_s_p50'])} | {_f(s['search_s_p50'])} |")
    if results.get("notes"):
        lines += ["", "Runs: " + " ".join(results["notes"])]
    return "\n".join(lines) + "\n"


def write_json(results: dict[str, Any], path: Path) -> None:
    from routeplan.atomic import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as fh:
        fh.write(json.dumps(results, indent=1, default=float))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=DEFAULT_SIZES)
    ap.add_argument("--days", type=int, default=50, help="Random days per stop count.")
    ap.add_argument("--gb-days", type=int, default=None, help="Days per stop count on gb (default: --days).")
    ap.add_argument("--stops", type=lambda s: [int(x) for x in s.split(",")], default=list(STOP_COUNTS))
    ap.add_argument("--free", type=lambda s: [int(x) for x in s.split(",")], default=list(FREE_COUNTS))
    ap.add_argument("--order-days", type=int, default=10, help="Random days per free-stop count for optimise_order.")
    ap.add_argument("--gb-order-days", type=int, default=None)
    ap.add_argument("--order-budget", type=float, default=60.0)
    ap.add_argument("--day-wall-cap", type=float, default=float("inf"),
                    help="Per network and stop count: start no new day after this many seconds.")
    ap.add_argument("--order-wall-cap", type=float, default=900.0,
                    help="Per network: start no new free-stop count after this many seconds of optimise_order.")
    ap.add_argument("--radius-km", type=float, default=80.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "routeplan-bench")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "days.json")
    ap.add_argument("--markdown-only", action="store_true", help="Print the markdown from --out without measuring.")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--worker-out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    if args.markdown_only:
        print(markdown(json.loads(args.out.read_text())), end="")
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    old = json.loads(args.out.read_text()) if args.out.exists() else {}
    results: dict[str, Any] = {"machine": machine(), "seed": args.seed, "radius_km": args.radius_km,
                               "datasets": dict(old.get("datasets", {})) if old.get("seed") == args.seed else {}}
    for name in args.sizes.split(","):
        if name not in REAL and name not in ("county", "region", "nation", "gb"):
            sys.exit(f"unknown dataset {name!r}")
        print(f"[{name}]", file=sys.stderr)
        dataset_path(name, args.workdir, args.seed)  # generate once, outside the measured process
        fd, tmp = tempfile.mkstemp(suffix=".json")
        os.close(fd)
        cmd = [sys.executable, "-m", "bench.days", "--worker", name, "--worker-out", tmp, "--days", str(args.days),
               "--stops", ",".join(map(str, args.stops)), "--free", ",".join(map(str, args.free)),
               "--order-days", str(args.order_days), "--order-budget", str(args.order_budget), "--radius-km", str(args.radius_km),
               "--seed", str(args.seed), "--workdir", str(args.workdir), "--day-wall-cap", str(args.day_wall_cap),
               "--order-wall-cap", str(args.order_wall_cap)]
        if args.gb_days is not None:
            cmd += ["--gb-days", str(args.gb_days)]
        if args.gb_order_days is not None:
            cmd += ["--gb-order-days", str(args.gb_order_days)]
        subprocess.run(cmd, cwd=REPO, check=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
        results["datasets"][name] = json.loads(Path(tmp).read_text())
        Path(tmp).unlink()
        summarise(results)
        write_json(results, args.out)
    summarise(results)
    write_json(results, args.out)
    print(markdown(results), end="")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
