"""``routeplan matrix``: fastest and cheapest legs between every ordered pair of venues.

Registered on the main group by :mod:`routeplan.cli` (``cli.add_command``).  Same conventions as
the other commands: every planner error is a :class:`~routeplan.errors.RouteplanError` (one line,
its exit code), the output goes through an :class:`~routeplan.atomic.OutputSet` (all or nothing).
A run keeps ``<out>.partial.jsonl`` (one line per finished origin, fsynced) so that ``--resume``
continues an interrupted run; the partial file is removed once the output is in place.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from routeplan.cli import (
    FiniteFloat,
    _check_cache_dir,
    _check_input_file,
    _policy_from_options,
    _prepare_overlay,
    _Progress,
    _resolve_osm,
    _setup_logging,
    data_options,
)
from routeplan.errors import ConfigError, RouteplanError, UsageError
from routeplan.matrix import METHODS

__all__ = ["matrix", "read_venues"]


def read_venues(path: str | Path) -> list[tuple[int, str, str]]:
    """``(line, place, name)`` for every venue of a CSV with a ``place`` column and an optional
    ``name`` column (UTF-8, with or without BOM).  Blank lines are skipped; an empty place is a
    usage error naming its line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        msg = f"venues file {p} is not UTF-8 text: {exc.reason} at byte {exc.start}"
        raise ConfigError(msg) from None
    except OSError as exc:
        msg = f"cannot read venues file {p}: {exc.strerror or exc}"
        raise ConfigError(msg) from exc
    reader = csv.DictReader(text.splitlines())
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    if "place" not in fields:
        msg = f"venues file {p} needs a 'place' column (and optionally 'name'); found {reader.fieldnames or 'no header'}"
        raise UsageError(msg)
    out: list[tuple[int, str, str]] = []
    for rec in reader:
        line = reader.line_num
        row = {str(k).strip().lower(): (v or "").strip() for k, v in rec.items() if k is not None}
        if not any(row.values()):
            continue
        place = row.get("place", "")
        if not place:
            msg = f"{p} line {line}: empty place"
            raise UsageError(msg)
        out.append((line, place, row.get("name", "") or place))
    if len(out) < 2:
        msg = f"venues file {p} has {len(out)} venue{'s' if len(out) != 1 else ''}: a matrix needs at least two"
        raise UsageError(msg)
    return out


@click.command("matrix")
@click.argument("venues")
@click.option("--osm", "osm", required=True, help="OSM extract (.osm.pbf/.osm/.osm.bz2), or a name under <data-dir>/osm.")
@click.option("--boundaries", default="wpc-2024", show_default=True, help="Boundary set (wpc-2010, wpc-2024) or a polygon file.")
@click.option("--out", "out", required=True, help="Output file: .parquet, .csv or .json (by the extension).")
@click.option("--already-charged", multiple=True, help="Constituency code already charged today. Repeatable.")
@click.option("--scheduler", help="Run on a Dask cluster: the scheduler's address, tcp://HOST:8786.")
@click.option("--workers", type=click.IntRange(1, 1024), help="Run on a Dask LocalCluster of N worker processes on this machine.")
@click.option("--local", is_flag=True, help="Run in this process, without Dask (the default).")
@click.option("--resume", is_flag=True, help="Continue an interrupted run from <out>.partial.jsonl.")
@click.option("--batch", type=click.IntRange(1, 100_000), help="Origins per Dask task (default: batches that shrink to single origins at the end, so the workers finish together).")
@click.option("--method", type=click.Choice(list(METHODS)), default="pairwise", show_default=True,
              help="Exact search for the charges: pairwise (goal-directed, numba) or one-to-many (one label search per origin).")
@click.option("--policy", help="TOML file with a [policy] table.")
@click.option("--day-rate", type=FiniteFloat(0, 100_000, unit=" £"), help="Charge per constituency per day, £ (default 461).")
@click.option("--exempt", help="Comma-separated exempt road classes (default motorway,motorway_link; 'none' for none).")
@click.option("--overrides", help="CSV: constituency,charge (£ or 'avoid').")
@click.option("--avoid", multiple=True, help="Constituency (code or name) never to enter. Repeatable.")
@click.option("--free", multiple=True, help="Constituency charged £0 (target seat / already paid). Repeatable.")
@click.option("--no-stop-charges", is_flag=True, help="Do not charge the venues' own constituencies (then a pair's charge includes them).")
@click.option("--vehicle", help="TOML with a [vehicle] table.")
@click.option("--max-snap", type=FiniteFloat(0, 50_000, lo_open=True, unit=" m"), default=750.0, show_default=True, help="Max distance from a venue to a coach road (m).")
@click.option("--max-outside-percent", type=FiniteFloat(0, 100, unit=" %"), default=5.0, show_default=True, help="Refuse a boundary set that leaves more than this share of the road km outside every constituency.")
@data_options
def matrix(**o: Any) -> None:
    """Fastest and cheapest coach legs between every ordered pair of venues (VENUES: a CSV with a
    'place' column and an optional 'name' column).

    A pair's charge counts the seats its route drives through on non-exempt road, not the two
    venues' own seats (given as stop_seats/stop_pence), since a day plan pays those anyway.
    """
    from routeplan.atomic import OutputSet
    from routeplan.boundaries import load_boundaries
    from routeplan.boundaries import resolve as resolve_boundaries
    from routeplan.cli import _vehicle_from_options
    from routeplan.ledger import format_money
    from routeplan.locate import resolve
    from routeplan.matrix import (
        PartialFile,
        fingerprint,
        format_for,
        network_key,
        network_path,
        venue_matrix,
        venue_matrix_dask,
        write_matrix,
    )
    from routeplan.network import build_network

    _setup_logging(o["verbose"], o["quiet"])
    if o["verbose"] < 2 and "distributed" not in sys.modules:
        # Dask's own INFO lines (cluster start and stop) only with -vv; read when distributed is imported.
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    dask_mode = o["scheduler"] is not None or o["workers"] is not None
    if o["local"] and dask_mode:
        msg = "--local runs in this process: it cannot be combined with --scheduler or --workers"
        raise UsageError(msg)
    if o["scheduler"] is not None and o["workers"] is not None:
        msg = "--workers starts a local cluster; with --scheduler the workers are those started on the cluster"
        raise UsageError(msg)
    if o["scheduler"] is not None and not o["scheduler"].strip():
        msg = "--scheduler: empty address (give tcp://HOST:8786)"
        raise UsageError(msg)
    if dask_mode and o["no_cache"]:
        msg = "Dask workers load the cached network: --no-cache cannot be used with --scheduler or --workers"
        raise UsageError(msg)
    if o["batch"] is not None and not dask_mode:
        msg = "--batch sets the origins per Dask task: give --workers or --scheduler too"
        raise UsageError(msg)
    _check_input_file("VENUES", o["venues"])
    fmt = format_for(o["out"]) if o["out"] != "-" else None
    if fmt is None:
        msg = "--out: standard output is not supported (give a .parquet, .csv or .json file)"
        raise UsageError(msg)
    venues = read_venues(o["venues"])
    osm = _resolve_osm(o["osm"], o["data_dir"])
    bnd_path = resolve_boundaries(o["boundaries"], o["data_dir"])[0]
    outs = OutputSet(inputs=[o["venues"], osm, bnd_path, o["policy"], o["overrides"], o["vehicle"]])
    outs.add("--out", o["out"])
    partial_path = PartialFile.for_output(o["out"])
    if partial_path.exists() and not o["resume"]:
        msg = f"{partial_path} holds an interrupted run: add --resume to continue it, or delete it to start afresh"
        raise UsageError(msg)
    for flag, key in (("--policy", "policy"), ("--overrides", "overrides"), ("--vehicle", "vehicle")):
        if o[key] is not None:
            _check_input_file(flag, o[key])
    policy = _policy_from_options(o | {"value_of_time": None})
    profile = _vehicle_from_options(o | {"height_m": None, "length_m": None, "width_m": None, "weight_t": None,
                                         "avoid_hgv_restrictions": False})
    _check_cache_dir(o)
    already = tuple(o["already_charged"])
    with outs:
        bnd = load_boundaries(o["boundaries"], data_dir=o["data_dir"])
        prog = _Progress(o["quiet"])
        net = build_network(osm, bnd, profile=profile, cache=not o["no_cache"], cache_dir=o["cache_dir"], progress=prog,
                            max_outside_share=o["max_outside_percent"] / 100.0)
        prog.close()
        stops = []
        for line, place, name in venues:
            try:
                st = resolve(place, net, bnd, max_snap_m=o["max_snap"], data_dir=o["data_dir"])
            except RouteplanError as exc:
                raise type(exc)(f"{o['venues']} line {line}: {exc}") from None
            stops.append(dataclasses.replace(st, label=name))
        policy.label_charges(net.cell_codes, net.cell_names, already)  # a bad --already-charged fails now
        if o["method"] == "pairwise":
            # The one-off customise steps, announced and cached before the first origin (so
            # Dask workers load them instead of each building its own).
            _prepare_overlay(net, policy, o | {"engine": "fast", "as_json": False}, prog)
        part = PartialFile(partial_path, fingerprint(network_key(net), stops, policy, already))
        done = part.load() if o["resume"] else {}
        bar = _Progress(o["quiet"])
        stage = "venue matrix (origins)"

        def say(n_done: int, total: int) -> None:
            bar(stage, n_done, total)

        t0 = time.perf_counter()
        try:  # the partial file is opened by its first append: a run that finishes no origin leaves none
            if dask_mode:
                result = venue_matrix_dask(network_path(net), stops, policy, already_charged=already, scheduler=o["scheduler"],
                                           n_workers=o["workers"], batch=o["batch"], progress=say, done=done,
                                           on_origin=part.append, method=o["method"])
            else:
                result = venue_matrix(net, stops, policy, already_charged=already, progress=say, done=done,
                                      on_origin=part.append, method=o["method"])
        finally:
            part.close()
            bar.close()
        wall = time.perf_counter() - t0
        write_matrix(result, outs.path("--out"), fmt)
    part.remove()  # the output is in place: the partial file has served
    ok = [r for r in result.rows if r["status"] == "ok"]
    saving = [r for r in ok if (r["fastest_pence"] or 0) > (r["cheapest_pence"] or 0)]
    lines = []
    if net.meta.get("generated"):
        lines.append("NOTE: GENERATED synthetic network (not real roads) over real constituency polygons")
    cluster = o["scheduler"] or f"LocalCluster, {o['workers']} workers"
    where = f"Dask ({cluster})" if dask_mode else "this process"
    lines.append(f"Venue matrix: {len(stops)} venues, {len(result.rows)} ordered pairs on {net.meta.get('osm_file', '?')}, "
                 f"boundaries {net.meta.get('boundaries', '?')}; {len(result.computed)} origins computed in {wall:.1f} s "
                 f"({where}), {len(stops) - len(result.computed)} resumed")
    if len(ok) < len(result.rows):
        lines.append(f"  {len(result.rows) - len(ok)} pairs have no route (see the status column)")
    if saving:
        best = max(saving, key=lambda r: (r["fastest_pence"] or 0) - (r["cheapest_pence"] or 0))
        lines.append(f"  {len(saving)} pairs are cheaper off their fastest route; the largest saving is "
                     f"{format_money((best['fastest_pence'] or 0) - (best['cheapest_pence'] or 0))} "
                     f"({best['origin_label']} -> {best['destination_label']})")
    else:
        lines.append("  every pair's fastest route is also its cheapest")
    lines += [f"Wrote {w.lstrip('-')}: {p}" for w, p in outs.written]
    click.echo("".join(f"{ln}\n" for ln in lines), nl=False)
