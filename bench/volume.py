"""Benchmark: reading, filtering and building on a PBF of Great Britain's download volume (issue 16, item 7).

One command (from the repo root), on a file written by ``python -m routeplan.synth_volume``::

    ROUTEPLAN_DATA=../shared/data .venv/bin/python -m bench.volume --pbf /tmp/s18/volume/gb-volume.osm.pbf

Each step runs in a fresh process, timed and measured (peak RSS) by ``/usr/bin/time`` under a
memory cap (``bench/proc.py``):

* ``floor``: ``osmium tags-filter FILE w/highway -o roads.osm.pbf``, the least work any router does
  with the file (libosmium in C++, two passes: ways, then their nodes);
* ``read``: :func:`routeplan.osm.read_osm` (two passes on a file this size), with its progress
  callbacks recorded (how often the bar moves);
* ``read-one-pass`` (``--steps``): the one-pass strategy, for comparison (a location index over
  every node);
* ``build``: :func:`routeplan.network.build_network` with wpc-2024 into a fresh cache folder (read,
  graph, overlay, landmarks, cache write), with its progress recorded stage by stage.

Writes ``bench/results/volume.json`` (machine, load, the command, every number) and prints a
markdown table for ``docs/benchmarks.md``.  Wall-clock numbers live here, never in the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import itertools

from bench.proc import run_measured

TARGET_BUILD_RATIO = 3.0
TARGET_RSS_MB = 12 * 1024
STEPS = ("floor", "read", "build")


def machine() -> dict[str, Any]:
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False).stdout.strip()
    mem = None
    try:
        mem = int(next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")).split()[1]) // 1024
    except (OSError, StopIteration):
        pass
    return {"git_sha": sha, "python": platform.python_version(), "cpus": os.cpu_count(), "mem_mb": mem,
            "platform": platform.platform(), "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def cpu_times() -> tuple[int, int, int]:
    """(idle, steal, total) jiffies of all CPUs so far (Linux /proc/stat; zeros elsewhere)."""
    try:
        f = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return 0, 0, 0
    return f[3], (f[7] if len(f) > 7 else 0), sum(f[:8])


# --- the measured steps, each in its own process ------------------------------------------

class _Recorder:
    """Progress callbacks with their times: how often a planner's bar moves."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.calls: list[tuple[float, str, int, int | None]] = []

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        self.calls.append((time.perf_counter() - self.t0, stage, done, total))

    def summary(self) -> dict[str, Any]:
        times = [c[0] for c in self.calls]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        stages: dict[str, dict[str, float]] = {}
        for t, stage, _, _ in self.calls:
            s = stages.setdefault(stage, {"first_s": t, "last_s": t, "calls": 0})
            s["last_s"] = t
            s["calls"] += 1
        worst = max(range(len(gaps)), key=gaps.__getitem__) if gaps else None
        return {"calls": len(self.calls), "max_gap_s": max(gaps) if gaps else None,
                "max_gap_after": self.calls[worst][1] if worst is not None else None,
                "max_gap_before": self.calls[worst + 1][1] if worst is not None else None,
                "stages": stages}


def child_read(pbf: Path, two_pass: bool | None) -> dict[str, Any]:
    from routeplan.osm import TWO_PASS_BYTES, read_osm
    from routeplan.vehicle import CoachProfile

    rec = _Recorder()
    c0 = time.process_time()
    roads = read_osm(pbf, CoachProfile(), progress=lambda d, t: rec("read", d, t), two_pass=two_pass)
    out = {"cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - rec.t0, "nodes": int(roads.node_id.shape[0]),
           "ways": int(roads.way_id.shape[0]), "places": len(roads.places), "skipped_ways": roads.skipped_ways,
           "generated": roads.generated, "progress": rec.summary(),
           "two_pass": two_pass if two_pass is not None else pbf.stat().st_size >= TWO_PASS_BYTES}
    done = [c[2] for c in rec.calls]
    out["progress"]["monotonic"] = done == sorted(done)
    out["progress"]["distinct_values"] = len(set(done))
    return out


def child_build(pbf: Path, cache_dir: Path) -> dict[str, Any]:
    from routeplan.boundaries import load_boundaries
    from routeplan.network import build_network

    rec = _Recorder()
    c0 = time.process_time()
    bnd = load_boundaries("wpc-2024")
    net = build_network(pbf, bnd, cache_dir=cache_dir, progress=rec)
    return {"cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - rec.t0, "nodes": net.n_nodes, "edges": net.n_edges,
            "cache": net.meta.get("cache"), "generated": net.meta.get("generated"), "stats": net.pieces.stats,
            "progress": rec.summary()}


# --- the parent ----------------------------------------------------------------------------

def run_step(name: str, cmd: list[str], workdir: Path, mem_cap_mb: float, timeout_s: float) -> dict[str, Any]:
    """One step in a fresh process: wall, peak RSS, what the machine did meanwhile."""
    log = workdir / f"{name}.log"
    t0, load0 = cpu_times(), os.getloadavg()
    stats = run_measured(cmd, log=log, cwd=REPO, timeout_s=timeout_s, max_rss_mb=mem_cap_mb)
    t1, load1 = cpu_times(), os.getloadavg()
    total = t1[2] - t0[2]
    busy = 100.0 * (1 - (t1[0] - t0[0]) / total) if total > 0 else None
    steal = 100.0 * (t1[1] - t0[1]) / total if total > 0 else None
    out: dict[str, Any] = {"command": " ".join(cmd), "wall_s": round(stats.seconds, 2), "peak_rss_mb": round(stats.peak_rss_mb, 1),
                           "status": stats.status, "machine_busy_pct": busy, "steal_pct": steal,
                           "loadavg_before": list(load0), "loadavg_after": list(load1)}
    child_json = workdir / f"{name}.json"
    if child_json.exists():
        out["child"] = json.loads(child_json.read_text())
    print(f"{name}: {out['status']} {out['wall_s']:.1f} s, {out['peak_rss_mb']:.0f} MB (machine {busy or 0:.0f} % busy)", file=sys.stderr)
    return out


def markdown(res: dict[str, Any]) -> str:
    f = res["file"]
    steps = res["steps"]
    floor = steps.get("floor", {}).get("wall_s")
    rows = ["| step | wall s | × floor | peak RSS MB | progress calls / max gap s | notes |", "|---|---|---|---|---|---|"]
    for name, label in (("floor", "`osmium tags-filter w/highway` (floor)"), ("read", "`read_osm`"),
                        ("read-one-pass", "`read_osm`"), ("build", "`build_network` wpc-2024, cold")):
        s = steps.get(name)
        if not s:
            continue
        if name.startswith("read") and s.get("child"):
            label += " (two passes)" if s["child"].get("two_pass") else " (one pass)"
        ratio = f"{s['wall_s'] / floor:.2f}" if floor and s["status"] == "ok" else "–"
        prog = s.get("child", {}).get("progress")
        pg = f"{prog['calls']} / {prog['max_gap_s']:.1f}" if prog and prog.get("max_gap_s") is not None else "–"
        note = s["status"] if s["status"] != "ok" else ""
        if name == "build" and s.get("child"):
            note = f"{s['child']['nodes']:,} nodes, {s['child']['edges']:,} edges; slowest bar gap in '{prog['max_gap_after']}'"
        if name.startswith("read") and s.get("child"):
            note = f"{s['child']['nodes']:,} road nodes, {s['child']['ways']:,} coach ways, {s['child']['places']:,} places"
        rows.append(f"| {label} | {s['wall_s']:.1f} | {ratio} | {s['peak_rss_mb']:,.0f} | {pg} | {note} |")
    head = (f"File: `{Path(f['path']).name}`, {f['bytes'] / 2**30:.2f} GiB, {f.get('nodes', 0):,} nodes, {f.get('ways', 0):,} ways, "
            f"{f.get('relations', 0):,} relations (GENERATED, scale {f.get('scale')}).")
    tgt = res["targets"]
    lines = [head, "", *rows, "",
             (f"Targets (issue 16, item 7): build ≤ {TARGET_BUILD_RATIO:g}× the floor: **{tgt['build_ratio_met']}** "
             f"({tgt['build_ratio']}×); peak RSS ≤ 12 GB: **{tgt['rss_met']}** ({tgt['peak_rss_mb']} MB).")]
    if f.get("scale") and f["scale"] < 1:
        lines.append(f"Measured on scale {f['scale']}; linear extrapolation to the full volume: "
                     + ", ".join(f"{k} {v:.0f} s" for k, v in res.get("extrapolated_full_wall_s", {}).items()) + ".")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.volume", description=__doc__.split("\n")[0])
    ap.add_argument("--pbf", type=Path, required=True)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/s18/volume/bench"))
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "volume.json")
    ap.add_argument("--steps", default=",".join(STEPS), help=f"comma list of {', '.join((*STEPS, 'read-one-pass'))}")
    ap.add_argument("--mem-cap-mb", type=float, default=10_000.0, help="stop a step above this RSS (the machine is shared)")
    ap.add_argument("--timeout", type=float, default=7200.0)
    ap.add_argument("--child", choices=("read", "read-one-pass", "build"), help=argparse.SUPPRESS)
    ap.add_argument("--json", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--cache-dir", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--markdown-only", action="store_true", help="print the table of --out and stop")
    args = ap.parse_args(argv)
    if args.child:
        res = (child_build(args.pbf, args.cache_dir) if args.child == "build"
               else child_read(args.pbf, False if args.child == "read-one-pass" else None))
        args.json.write_text(json.dumps(res, indent=1))
        return 0
    if args.markdown_only:
        print(markdown(json.loads(args.out.read_text())))
        return 0
    pbf = args.pbf.resolve()
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    side = Path(f"{pbf}.json")
    meta = json.loads(side.read_text()) if side.exists() else {}
    res: dict[str, Any] = {
        "machine": machine(), "command": " ".join([sys.executable, "-m", "bench.volume", *(argv or sys.argv[1:])]),
        "file": {"path": str(pbf), "bytes": pbf.stat().st_size, **{k: meta.get(k) for k in ("nodes", "ways", "relations", "scale", "seed", "road_km", "road_ways", "road_nodes", "counts", "source_sha256")}},
        "steps": {},
    }
    if args.out.exists():  # keep steps measured by an earlier run on the same file
        old = json.loads(args.out.read_text())
        if old.get("file", {}).get("path") == str(pbf) and old.get("file", {}).get("bytes") == res["file"]["bytes"]:
            res["steps"] = old.get("steps", {})
    py = [sys.executable, "-m", "bench.volume", "--pbf", str(pbf)]
    for step in [s for s in args.steps.split(",") if s]:
        child_json = work / f"{step}.json"
        child_json.unlink(missing_ok=True)
        if step == "floor":
            osmium_tool = shutil.which("osmium")
            if osmium_tool is None:
                print("floor: osmium-tool not installed (apt-get install osmium-tool)", file=sys.stderr)
                continue
            version = subprocess.run([osmium_tool, "--version"], capture_output=True, text=True, check=False).stdout.splitlines()[0]
            res["steps"]["floor"] = run_step("floor", [osmium_tool, "tags-filter", str(pbf), "w/highway", "-o", str(work / "roads.osm.pbf"), "--overwrite"],
                                             work, args.mem_cap_mb, args.timeout)
            res["steps"]["floor"]["tool"] = version
            res["steps"]["floor"]["output_bytes"] = (work / "roads.osm.pbf").stat().st_size if (work / "roads.osm.pbf").exists() else None
        elif step in ("read", "read-one-pass"):
            res["steps"][step] = run_step(step, [*py, "--child", step, "--json", str(child_json)], work, args.mem_cap_mb, args.timeout)
        elif step == "build":
            cache = work / "cache"
            shutil.rmtree(cache, ignore_errors=True)
            res["steps"]["build"] = run_step("build", [*py, "--child", "build", "--json", str(child_json), "--cache-dir", str(cache)],
                                             work, args.mem_cap_mb, args.timeout)
            shutil.rmtree(cache, ignore_errors=True)
        else:
            ap.error(f"unknown step {step!r}")
    steps = res["steps"]
    floor = steps.get("floor", {}).get("wall_s")
    build = steps.get("build", {})
    peak = max((s["peak_rss_mb"] for s in steps.values() if s.get("status") == "ok" and "peak_rss_mb" in s and s is not steps.get("floor")), default=None)
    ratio = round(build["wall_s"] / floor, 2) if floor and build.get("status") == "ok" else None
    res["targets"] = {"build_ratio": ratio, "build_ratio_met": ratio is not None and ratio <= TARGET_BUILD_RATIO,
                      "peak_rss_mb": peak, "rss_met": peak is not None and peak <= TARGET_RSS_MB}
    scale = res["file"].get("scale")
    if scale and scale < 1:
        res["extrapolated_full_wall_s"] = {k: s["wall_s"] / scale for k, s in steps.items() if s.get("status") == "ok"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1, sort_keys=True) + "\n")
    print(markdown(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
