"""``routeplan`` command line: parse into settings and policy, call the library, print.

Errors a planner can cause are :class:`~routeplan.errors.RouteplanError`: one line on stderr
and that error's exit code (2 usage, 3 data, 4 config, 5 locate, 6 no route).  Anything else is
a bug: one line naming a log file that holds the traceback, exit 1 (``--debug`` shows it).
"""

from __future__ import annotations

import csv
import json
import logging
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from routeplan import __version__, settings
from routeplan.errors import ConfigError, DataError, RouteplanError, UsageError

log = logging.getLogger("routeplan")


# -- shared options ------------------------------------------------------------------------------
def data_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--data-dir``/``--cache-dir``/``--no-cache``/``-v``/``-q``/``--debug`` for every command."""
    for opt in reversed(
        [
            click.option("--data-dir", type=click.Path(file_okay=False), envvar=settings.DATA_ENV, help=f"Data folder with osm/ and boundaries/ (env {settings.DATA_ENV})."),
            click.option("--cache-dir", type=click.Path(file_okay=False), envvar=settings.CACHE_ENV, help=f"Cache for built graphs (env {settings.CACHE_ENV})."),
            click.option("--no-cache", is_flag=True, help="Build the graph afresh and do not store it."),
            click.option("-v", "--verbose", count=True, help="More log output on stderr."),
            click.option("-q", "--quiet", is_flag=True, help="No progress output."),
            click.option("--debug", is_flag=True, help="Show tracebacks for internal errors."),
        ]
    ):
        f = opt(f)
    return f


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet or not verbose else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="routeplan: %(message)s", stream=sys.stderr, force=True)


class _Progress:
    """tqdm bars on stderr for the library's progress callbacks (CLI only; the library never prints)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: Any = None
        self.stage = ""
        self.t0 = time.perf_counter()

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if self.quiet:
            return
        from tqdm import tqdm

        if stage != self.stage:
            self.close()
            self.stage = stage
            if stage == "done":
                click.echo(f"built in {time.perf_counter() - self.t0:.1f} s", err=True)
                return
            self.bar = tqdm(total=total, desc=stage, unit="", file=sys.stderr, leave=False, mininterval=0.5)
        elif self.bar is not None:
            if total and self.bar.total != total:
                self.bar.total = total
            self.bar.n = done
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _fail_internal(exc: BaseException, debug: bool) -> None:
    fd, name = tempfile.mkstemp(prefix="routeplan-crash-", suffix=".log")
    with os.fdopen(fd, "w") as fh:
        traceback.print_exception(exc, file=fh)
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    click.echo(f"routeplan: internal error (a bug): {type(exc).__name__}: {exc}; traceback in {name}", err=True)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the click group and map errors to exit codes."""
    debug = "--debug" in (argv if argv is not None else sys.argv)
    try:
        cli.main(args=argv, prog_name="routeplan", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("routeplan: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except RouteplanError as exc:
        click.echo(f"routeplan: {exc}", err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - last resort: a bug, reported in one line
        _fail_internal(exc, debug)
        sys.exit(1)
    sys.exit(0)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="routeplan")
def cli() -> None:
    """Campaign coach routes that minimise local election expenses (Great Britain)."""


# -- route ---------------------------------------------------------------------------------------
def _resolve_osm(value: str, data_dir: str | None) -> Path:
    p = Path(value)
    if p.exists():
        return p
    osm_dir = settings.data_dir(data_dir) / "osm"
    if (osm_dir / value).is_file():
        return osm_dir / value
    matches = sorted(osm_dir.glob(f"{value}*.osm.pbf")) if osm_dir.exists() else []
    if len(matches) == 1:
        return matches[0]
    msg = f"OSM file not found: {value}" + (f" (nor {value}*.osm.pbf in {osm_dir})" if osm_dir else "")
    raise DataError(msg)


def _policy_from_options(o: dict[str, Any]) -> Any:
    from routeplan.policy import ExpensePolicy, parse_charge, read_overrides

    pol = ExpensePolicy.from_toml(o["policy"]) if o["policy"] else ExpensePolicy()
    table: dict[str, Any] = {}
    if o["day_rate"] is not None:
        table["day_rate"] = o["day_rate"]
    if o["exempt"] is not None:
        table["exempt"] = [c.strip() for c in o["exempt"].split(",") if c.strip() and c.strip() != "none"]
    if o["value_of_time"] is not None:
        table["value_of_time"] = o["value_of_time"]
    if o["no_stop_charges"]:
        table["charge_stops"] = False
    ov: dict[str, int] = {}
    if o["overrides"]:
        ov.update(read_overrides(o["overrides"]))
    for name in o["avoid"]:
        ov[name] = parse_charge("avoid", name)
    for name in o["free"]:
        ov[name] = 0
    pol = ExpensePolicy.from_mapping(table, base=pol)
    return pol.with_(overrides={**pol.overrides, **ov}) if ov else pol


def _vehicle_from_options(o: dict[str, Any]) -> Any:
    import tomllib

    from routeplan.vehicle import CoachProfile

    prof = CoachProfile()
    if o["vehicle"]:
        try:
            data = tomllib.loads(Path(o["vehicle"]).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            msg = f"cannot read vehicle file {o['vehicle']}: {exc}"
            raise ConfigError(msg) from exc
        prof = CoachProfile.from_mapping(data.get("vehicle", data))
    kw = {k: o[k] for k in ("height_m", "length_m", "width_m", "weight_t") if o[k] is not None}
    return prof.with_(**kw) if kw else prof


def _fmt_time(s: float) -> str:
    m, sec = divmod(round(s), 60)
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min" if h else f"{m} min {sec:02d} s"


def _print_route(title: str, route: Any, net: Any) -> None:
    from routeplan.ledger import format_money

    click.echo(f"{title}: {format_money(route.cost_pence)}   {_fmt_time(route.time_s)}   {route.length_m / 1000:.1f} km")
    for r in route.ledger.rows:
        click.echo(f"  {format_money(r.pence):>10}  {r.name} ({r.code})")
        for why in r.reasons:
            click.echo(f"              - {why}")
    if route.ledger.uncharged_km:
        click.echo(f"  (uncharged: {route.ledger.uncharged_km:.2f} km outside every constituency)")


def _write_ledger_csv(path: str, leg: Any) -> None:
    from routeplan.atomic import atomic_write

    with atomic_write(path, newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["route", "day", "code", "constituency", "charge_gbp", "road_km", "exempt_km", "reasons"])
        for route in (leg.cheapest, leg.fastest):
            for r in route.ledger.rows:
                w.writerow([route.kind, r.day, r.code, r.name, f"{r.pence / 100:.2f}", f"{r.road_km:.3f}", f"{r.exempt_km:.3f}", " | ".join(r.reasons)])


@cli.command()
@click.option("--osm", "osm", required=True, help="OSM extract (.osm.pbf/.osm/.osm.bz2), or a name under <data-dir>/osm.")
@click.option("--boundaries", default="wpc-2024", show_default=True, help="Boundary set (wpc-2010, wpc-2024) or a polygon file.")
@click.option("--code-field", default=None, help="Field with the constituency code (custom boundary files).")
@click.option("--name-field", default=None, help="Field with the constituency name (custom boundary files).")
@click.option("--from", "origin", required=True, help="Start: 'lat,lon' or a name in the OSM data.")
@click.option("--to", "destination", required=True, help="End: 'lat,lon' or a name in the OSM data.")
@click.option("--map", "map_path", type=click.Path(dir_okay=False), help="Write a Folium HTML map here.")
@click.option("--ledger", "ledger_path", type=click.Path(dir_okay=False), help="Write the ledger CSV here.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--policy", type=click.Path(exists=True, dir_okay=False), help="TOML file with a [policy] table.")
@click.option("--day-rate", type=float, help="Charge per constituency per day, £ (default 461).")
@click.option("--exempt", help="Comma-separated exempt road classes (default motorway,motorway_link; 'none' for none).")
@click.option("--overrides", type=click.Path(exists=True, dir_okay=False), help="CSV: constituency,charge (£ or 'avoid').")
@click.option("--avoid", multiple=True, help="Constituency (code or name) never to enter. Repeatable.")
@click.option("--free", multiple=True, help="Constituency charged £0 (target seat / already paid). Repeatable.")
@click.option("--already-charged", multiple=True, help="Constituency code already charged today. Repeatable.")
@click.option("--no-stop-charges", is_flag=True, help="Do not charge the stops' own constituencies.")
@click.option("--max-extra-minutes", type=float, help="Chosen route at most this many minutes slower than the fastest.")
@click.option("--max-detour-percent", type=float, help="Chosen route at most this % slower than the fastest.")
@click.option("--value-of-time", type=float, help="Trade money for time at £ per hour.")
@click.option("--alternatives", is_flag=True, help="Print the Pareto set of (charge, time) routes.")
@click.option("--engine", type=click.Choice(["fast", "reference", "milp"]), default="fast", show_default=True, help="Exact engine: fast (numba), reference (pure Python), milp (independent check, slow).")
@click.option("--vehicle", type=click.Path(exists=True, dir_okay=False), help="TOML with a [vehicle] table.")
@click.option("--height", "height_m", type=float, help="Coach height, m.")
@click.option("--length", "length_m", type=float, help="Coach length, m.")
@click.option("--width", "width_m", type=float, help="Coach width, m.")
@click.option("--weight", "weight_t", type=float, help="Coach weight, t.")
@click.option("--incursion-tolerance", type=float, default=25.0, show_default=True, help="Ignore boundary incursions shorter than this (m).")
@click.option("--max-snap", type=float, default=750.0, show_default=True, help="Max distance from a stop to a coach road (m).")
@data_options
def route(**o: Any) -> None:
    """Cheapest (then fastest) coach route between two places, beside the fastest."""
    from routeplan.boundaries import load_boundaries
    from routeplan.ledger import format_money
    from routeplan.locate import resolve
    from routeplan.network import build_network
    from routeplan.overlay import OverlayParams
    from routeplan.routing import plan_leg

    _setup_logging(o["verbose"], o["quiet"])
    for flag in ("map_path", "ledger_path"):
        if o[flag] and Path(o[flag]).is_dir():
            msg = f"output path is a directory: {o[flag]}"
            raise UsageError(msg)
    if o["incursion_tolerance"] < 0 or o["max_snap"] <= 0:
        msg = "--incursion-tolerance must be >= 0 and --max-snap > 0"
        raise UsageError(msg)
    policy = _policy_from_options(o)
    profile = _vehicle_from_options(o)
    osm = _resolve_osm(o["osm"], o["data_dir"])
    bnd = load_boundaries(o["boundaries"], data_dir=o["data_dir"], code_field=o["code_field"], name_field=o["name_field"])
    prog = _Progress(o["quiet"] or o["as_json"] and not o["verbose"])
    net = build_network(
        osm, bnd, profile=profile, params=OverlayParams(incursion_tol_m=o["incursion_tolerance"]),
        cache=not o["no_cache"], cache_dir=o["cache_dir"], progress=prog,
    )
    prog.close()
    origin = resolve(o["origin"], net, bnd, max_snap_m=o["max_snap"])
    dest = resolve(o["destination"], net, bnd, max_snap_m=o["max_snap"])
    leg = plan_leg(
        net, origin, dest, policy,
        already_charged=tuple(o["already_charged"]),
        max_extra_minutes=o["max_extra_minutes"], max_detour_percent=o["max_detour_percent"],
        alternatives=o["alternatives"], engine=o["engine"],
    )
    # Outputs: all or nothing - build everything first, then write each file atomically.
    fmap = None
    if o["map_path"]:
        from routeplan import render

        fmap = render.route_map(net, bnd, leg)
    if o["ledger_path"]:
        _write_ledger_csv(o["ledger_path"], leg)
    if fmap is not None:
        from routeplan import render

        render.save_map(fmap, o["map_path"])
    generated = bool(net.meta.get("generated"))
    if o["as_json"]:
        out = {
            "network": {
                "osm_file": net.meta["osm_file"], "generated": generated, "boundaries": net.meta["boundaries"],
                "nodes": net.n_nodes, "edges": net.n_edges, "cache": net.meta.get("cache"),
            },
            "policy": policy.describe(),
            "stops": [s.__dict__ | {"constituency": net.cell_codes[s.cell] if s.cell >= 0 else None} for s in leg.stops],
            "cheapest": leg.cheapest.as_dict(net),
            "fastest": leg.fastest.as_dict(net),
            "saving_pence": leg.saving_pence,
            "extra_time_s": round(leg.extra_time_s, 3),
            "limit_time_s": leg.limit_time_s,
            "alternatives": [r.as_dict(net) | {"pieces": None, "forward": None} for r in leg.front],
            "timings": leg.timings,
            "attribution": ["© OpenStreetMap contributors (ODbL)", net.meta.get("boundary_attribution", "")],
        }
        click.echo(json.dumps(out, indent=1, default=str))
        return
    if generated:
        click.echo("NOTE: GENERATED synthetic network (not real roads) over real constituency polygons")
    st = net.pieces.stats
    dropped = st.get("nodes_before_scc", 0) - st.get("nodes", 0)
    click.echo(f"Network: {net.meta['osm_file']} ({net.n_nodes:,} nodes, {net.n_edges:,} edges), boundaries {net.meta['boundaries']}; "
               f"{dropped:,} of {st.get('nodes_before_scc', 0):,} junctions dropped outside the largest strongly connected part")
    pd = policy.describe()
    click.echo(f"Policy: {format_money(pd['day_rate_pence'])} per constituency per day; exempt: {', '.join(pd['exempt_classes']) or 'none'}"
               + (f"; {len(pd['overrides'])} overrides" if pd["overrides"] else ""))
    for tag, s in (("From", origin), ("To", dest)):
        where = net.cell_names[s.cell] if s.cell >= 0 else "no constituency"
        click.echo(f"{tag}: {s.label} [{s.source}] in {where}; joins the road network {s.snap_m:.0f} m away")
    click.echo("")
    what = "CHEAPEST (fastest among the cheapest)"
    if leg.limit_time_s is not None:
        what += f", within {_fmt_time(leg.limit_time_s)}"
    if policy.value_of_time_pence_per_hour is not None:
        what = f"BEST at {format_money(policy.value_of_time_pence_per_hour)}/hour"
    _print_route(what, leg.cheapest, net)
    click.echo("")
    if leg.fastest.pieces == leg.cheapest.pieces:
        click.echo("FASTEST: the same route")
    else:
        _print_route("FASTEST", leg.fastest, net)
    click.echo("")
    if leg.saving_pence > 0:
        click.echo(f"Saving: {format_money(leg.saving_pence)} for {_fmt_time(max(0.0, leg.extra_time_s))} extra")
    else:
        click.echo("The fastest route is also the cheapest.")
    if leg.front:
        click.echo("\nTrade-offs (Pareto set, exact):")
        for r in leg.front:
            click.echo(f"  {format_money(r.cost_pence):>10}  {_fmt_time(r.time_s):>16}  {r.length_m / 1000:6.1f} km  "
                       f"{', '.join(c.name for c in r.ledger.charged)}")
    for label, p in (("map", o["map_path"]), ("ledger", o["ledger_path"])):
        if p:
            click.echo(f"Wrote {label}: {p}")


# -- synth ---------------------------------------------------------------------------------------
@cli.command()
@click.option("--boundaries", default="wpc-2024", show_default=True, help="Boundary set whose real polygons to cover.")
@click.option("--around", "code", help="Regional network: constituency code (or name) at the centre.")
@click.option("-n", "count", type=int, default=6, show_default=True, help="Regional network: number of constituencies.")
@click.option("--preset", type=click.Choice(["county", "region", "nation", "gb"]), help="National network over the real motorway skeleton, by size.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--no-motorway", is_flag=True, help="Regional network without a motorway.")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Output .osm.pbf.")
@data_options
def synth(**o: Any) -> None:
    """Write a GENERATED synthetic road network (.osm.pbf) over real constituency polygons.

    Either a regional network (--around CODE -n N) or a national one (--preset), for tests and
    benchmarks: more constituencies and motorway than the real extracts have.
    """
    import geopandas as gpd

    from routeplan import boundaries as bmod
    from routeplan import synth as smod

    _setup_logging(o["verbose"], o["quiet"])
    if bool(o["code"]) == bool(o["preset"]):
        msg = "give either --around CODE (regional) or --preset SIZE (national)"
        raise UsageError(msg)
    path, _ = bmod.resolve(o["boundaries"], o["data_dir"])
    gdf = gpd.read_file(path).to_crs("EPSG:4326")
    if o["preset"]:
        motorways = settings.data_dir(o["data_dir"]) / "roads" / "gb-motorways-os-openroads.fgb"
        res = smod.generate_national(gdf, o["out"], size=o["preset"], seed=o["seed"], motorways_path=motorways)
        codes = res.codes
    else:
        code = o["code"]
        if code not in set(gdf["code"]):
            match = gdf[gdf["name"].str.lower() == code.lower()]
            if match.empty:
                msg = f"unknown constituency {code!r} in {o['boundaries']}"
                raise UsageError(msg)
            code = match["code"].iloc[0]
        codes = smod.neighbours_around(gdf, code, o["count"])
        res = smod.generate_region(gdf, smod.SynthSpec(codes=codes, seed=o["seed"], motorway=not o["no_motorway"]), o["out"])
    click.echo(f"GENERATED synthetic network: {res.pbf_path} ({res.n_nodes:,} nodes, {res.n_ways:,} ways) over {len(codes)} real constituencies")
    if not o["preset"]:
        for name, (lat, lon) in res.towns.items():
            click.echo(f"  {name}: {lat:.5f},{lon:.5f}")


# -- data ----------------------------------------------------------------------------------------
@cli.group()
def data() -> None:
    """Inspect the data folder and the graph cache."""


@data.command("info")
@data_options
def data_info(**o: Any) -> None:
    """List the known boundary sets and OSM files in the data folder, with checksum status."""
    from routeplan.boundaries import manifest, sha256_file

    _setup_logging(o["verbose"], o["quiet"])
    root = settings.data_dir(o["data_dir"])
    click.echo(f"data folder: {root}{'' if root.exists() else ' (missing)'}")
    for name, entry in sorted(manifest().items()):
        p = root / "boundaries" / entry["file"]
        state = "missing" if not p.exists() else "ok" if sha256_file(p) == entry["sha256"] else "CHECKSUM MISMATCH"
        click.echo(f"  {name:10} {state:18} {p}  ({entry['licence']})")
    for p in sorted((root / "osm").glob("*.osm.pbf")) if (root / "osm").exists() else []:
        click.echo(f"  osm        {p.stat().st_size / 1e6:7.1f} MB  {p}")
    cache = settings.cache_dir(o["cache_dir"])
    entries = sorted(cache.glob("network-*.npz"))
    click.echo(f"cache folder: {cache} ({len(entries)} built networks, {sum(e.stat().st_size for e in entries) / 1e6:.1f} MB)")


@data.command("fetch")
@click.option("--boundaries", "bsets", multiple=True, help="Known boundary set to fetch (wpc-2010, wpc-2024). Repeatable.")
@click.option("--osm", "regions", multiple=True, help="Geofabrik region, e.g. europe/great-britain/england/rutland. Repeatable.")
@click.option("--base-url", help="Mirror to fetch from instead of the manifest's/Geofabrik's address.")
@data_options
def data_fetch(**o: Any) -> None:
    """Download boundary sets and OSM extracts into the data folder, checking their checksums."""
    from routeplan import fetch

    _setup_logging(o["verbose"], o["quiet"])
    if not o["bsets"] and not o["regions"]:
        msg = "nothing to fetch: give --boundaries and/or --osm"
        raise UsageError(msg)
    for name in o["bsets"]:
        prog = _Progress(o["quiet"])
        path = fetch.fetch_boundaries(name, data_dir=o["data_dir"], base_url=o["base_url"], progress=lambda d, t, p=prog, n=name: p(f"boundaries {n}", d, t))
        prog.close()
        click.echo(f"fetched {name}: {path}")
    for region in o["regions"]:
        prog = _Progress(o["quiet"])
        kw = {"base_url": o["base_url"]} if o["base_url"] else {}
        path = fetch.fetch_osm(region, data_dir=o["data_dir"], progress=lambda d, t, p=prog, r=region: p(f"osm {r}", d, t), **kw)
        prog.close()
        click.echo(f"fetched {region}: {path}")


@data.command("clear-cache")
@data_options
def data_clear(**o: Any) -> None:
    """Delete the built-graph cache."""
    cache = settings.cache_dir(o["cache_dir"])
    n = 0
    for e in cache.glob("network-*.npz"):
        e.unlink()
        n += 1
    click.echo(f"removed {n} cached networks from {cache}")


