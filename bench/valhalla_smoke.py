"""Manual smoke run of the Valhalla peer harness (not collected by pytest).

    /tmp/venv/bin/python bench/valhalla_smoke.py [--workdir /tmp/valhalla-work] [--pairs 20]

For each extract: build tiles, start valhalla_service on 127.0.0.1, route seeded
random O/D pairs drawn from drivable highway nodes inside the extract bbox, and
print build time, peak RSS, tile size, latency p50/p95 and a few travel times.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import sys
from pathlib import Path

try:
    from bench import valhalla as vh
except ImportError:  # run as a plain script: load the sibling module by path
    _spec = importlib.util.spec_from_file_location(
        "bench_valhalla", Path(__file__).with_name("valhalla.py")
    )
    assert _spec and _spec.loader
    vh = importlib.util.module_from_spec(_spec)
    sys.modules["bench_valhalla"] = vh
    _spec.loader.exec_module(vh)

import osmium

DATA = Path("/work/shared/data/osm")
# name -> (pbf, bbox lon_min, lat_min, lon_max, lat_max)
EXTRACTS: dict[str, tuple[Path, tuple[float, float, float, float]]] = {
    "newport": (DATA / "newport-2023-06-13.osm.pbf", (-3.077081, 51.52222, -2.925075, 51.593596)),
    "rutland": (DATA / "rutland-latest.osm.pbf", (-0.822934, 52.52355, -0.427654, 52.76109)),
}
DRIVABLE = {
    "motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential",
    "motorway_link", "trunk_link", "primary_link", "secondary_link", "tertiary_link",
    "living_street",
}  # fmt: skip


def highway_nodes(pbf: Path, bbox: tuple[float, float, float, float]) -> list[tuple[float, float]]:
    """(lat, lon) of nodes on drivable highway ways that lie inside bbox, sorted by node id."""
    x0, y0, x1, y1 = bbox
    found: dict[int, tuple[float, float]] = {}
    for way in (
        osmium.FileProcessor(str(pbf))
        .with_locations()
        .with_filter(osmium.filter.KeyFilter("highway"))
    ):
        if not way.is_way() or way.tags.get("highway") not in DRIVABLE:
            continue
        for n in way.nodes:
            if n.location.valid():
                lon, lat = n.location.lon, n.location.lat
                if x0 <= lon <= x1 and y0 <= lat <= y1:
                    found[n.ref] = (lat, lon)
    return [found[k] for k in sorted(found)]


def pct(xs: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(q / 100 * len(s) + 0.5) - 1))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/valhalla-work"))
    ap.add_argument("--pairs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--costing", default="bus")
    ap.add_argument("--admin", choices=["gb", "none"], default="gb")
    ap.add_argument("--threads", type=int, default=None, help="valhalla_build_tiles -j")
    ap.add_argument("--only", choices=sorted(EXTRACTS), action="append")
    args = ap.parse_args()

    inst = vh.ensure_valhalla(args.workdir)
    print(f"pyvalhalla {inst.version}: {inst.bin_dir}")
    for name in args.only or sorted(EXTRACTS):
        pbf, bbox = EXTRACTS[name]
        built = vh.build_tiles(inst, pbf, args.workdir / name, admin=args.admin,
                               threads=args.threads)  # fmt: skip
        admin = (f"; admin db {built.admin_seconds:.2f} s / {built.admin_peak_rss_mb:.0f} MiB"
                 if built.admin_seconds is not None else "")  # fmt: skip
        print(f"\n== {name}: {pbf.name}")
        print(f"build_tiles: {built.seconds:.2f} s wall, peak RSS {built.peak_rss_mb:.0f} MiB, "
              f"tiles {built.tile_dir_mb:.1f} MiB in {built.tile_files} files{admin}")  # fmt: skip

        nodes = highway_nodes(pbf, bbox)
        rng = random.Random(args.seed)
        pairs: list[tuple[tuple[float, float], tuple[float, float]]] = []
        for _ in range(args.pairs):
            o, d = rng.sample(nodes, 2)
            pairs.append((o, d))
        with vh.ValhallaService(inst, built.config_path, threads=1) as svc:
            print(f"service: {svc.url} pid {svc.pid} (version {(svc.status or {}).get('version')})")
            vh.route(svc, pairs[0][0], pairs[0][1], args.costing)  # warm-up, not counted
            answers = vh.route_many(svc, pairs, costing=args.costing)
        lat_ms = [a.latency_s * 1e3 for a in answers if a is not None]
        fails = sum(a is None for a in answers)
        print(f"routes: {len(answers) - fails}/{len(answers)} found ({len(nodes)} candidate nodes)")
        if lat_ms:
            print(f"latency ms: p50 {pct(lat_ms, 50):.2f}  p95 {pct(lat_ms, 95):.2f}  "
                  f"mean {statistics.fmean(lat_ms):.2f}  max {max(lat_ms):.2f}")  # fmt: skip
        for (o, d), a in list(zip(pairs, answers))[:5]:
            what = (f"{a.time_s / 60:6.1f} min {a.distance_m / 1000:6.2f} km "
                    f"({a.latency_s * 1e3:.1f} ms)" if a else "no route")  # fmt: skip
            print(f"  ({o[0]:.5f},{o[1]:.5f}) -> ({d[0]:.5f},{d[1]:.5f}): {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
