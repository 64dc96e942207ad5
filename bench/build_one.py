"""Build one network in a fresh process (so the parent can measure its wall time and peak RSS).

Prints one JSON line: timings of the stages, node/edge counts.  Used by ``bench/run.py``.
"""

from __future__ import annotations

import json
import sys
import time


def _peak_mb() -> float:
    """Peak RSS of this process so far (MB; Linux reports kB; NaN where unknown)."""
    try:
        import resource
    except ImportError:  # Windows
        return float("nan")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    pbf, cache_dir = sys.argv[1], sys.argv[2]
    t0 = time.perf_counter()
    from routeplan.boundaries import load_boundaries
    from routeplan.network import build_network

    bnd = load_boundaries("wpc-2024")
    t1 = time.perf_counter()
    peak = {"boundaries": _peak_mb()}
    net = build_network(pbf, bnd, cache_dir=cache_dir)
    t2 = time.perf_counter()  # includes the landmark "customise" step
    peak["build"] = _peak_mb()
    net.compile(__import__("routeplan.policy", fromlist=["ExpensePolicy"]).ExpensePolicy())
    net.cell_graph(frozenset({"motorway", "motorway_link"}))
    t3 = time.perf_counter()
    peak["customise"] = _peak_mb()
    print(json.dumps({
        "boundaries_s": t1 - t0, "build_s": t2 - t1, "customise_s": t3 - t2, "total_s": t3 - t0,
        "nodes": net.n_nodes, "edges": net.n_edges, "cache": net.meta["cache"], "stats": net.pieces.stats,
        "peak_rss_mb_after": peak,
    }))


if __name__ == "__main__":
    main()
