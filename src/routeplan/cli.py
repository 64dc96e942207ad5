"""``routeplan`` command line: parse into settings and policy, call the library, print.

Errors a planner can cause are :class:`~routeplan.errors.RouteplanError`: one line on stderr
and that error's exit code (2 usage, 3 data, 4 config, 5 locate, 6 no route; 130 interrupted,
143 terminated).  Anything else is a bug: one line naming a log file that holds the traceback,
exit 1 (``--debug`` shows it).  The library names its parameters (``max_snap_m``); this module
maps them to the flags a planner typed (``--max-snap``).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import math
import os
import re
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import click

from routeplan import __version__, settings
from routeplan.errors import ConfigError, DataError, RouteplanError, UsageError

log = logging.getLogger("routeplan")

# Library parameter names -> the CLI flags that set them, for error messages.
PARAM_FLAGS: dict[str, str] = {
    "max_extra_minutes": "--max-extra-minutes",
    "max_detour_percent": "--max-detour-percent",
    "max_snap_m": "--max-snap",
    "incursion_tol_m": "--incursion-tolerance",
    "max_outside_share": "--max-outside-percent",
}
_PARAM_RE = re.compile(r"\b(" + "|".join(map(re.escape, PARAM_FLAGS)) + r")\b")


class FiniteFloat(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click stubs
    """A float that is finite and within ``[lo, hi]``: NaN, ±inf and absurd values are usage errors."""

    name = "number"

    def __init__(self, lo: float, hi: float, *, lo_open: bool = False, unit: str = "") -> None:
        self.lo, self.hi, self.lo_open, self.unit = lo, hi, lo_open, unit

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            x = value
        else:
            try:
                x = float(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(x):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        low_bad = x <= self.lo if self.lo_open else x < self.lo
        if low_bad or x > self.hi:
            lo = f"> {self.lo:g}" if self.lo_open else f">= {self.lo:g}"
            self.fail(f"{x:g} is out of range (must be {lo} and <= {self.hi:g}{self.unit})", param, ctx)
        return x


# -- shared options ------------------------------------------------------------------------------
def data_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--data-dir``/``--cache-dir``/``--no-cache``/``-v``/``-q``/``--debug`` for every command."""
    for opt in reversed(
        [
            click.option("--data-dir", envvar=settings.DATA_ENV, help=f"Data folder with osm/ and boundaries/ (env {settings.DATA_ENV})."),
            click.option("--cache-dir", envvar=settings.CACHE_ENV, help=f"Cache for built graphs (env {settings.CACHE_ENV})."),
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


_BARS: list[_Progress] = []


class _Progress:
    """tqdm bars on stderr for the library's progress callbacks (CLI only; the library never prints)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: Any = None
        self.stage = ""
        self.t0 = time.perf_counter()
        _BARS.append(self)

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


def _close_bars() -> None:
    """End every progress line so an error message starts on a line of its own."""
    while _BARS:
        with contextlib.suppress(Exception):
            _BARS.pop().close()


def _fail_internal(exc: BaseException, debug: bool) -> None:
    fd, name = tempfile.mkstemp(prefix="routeplan-crash-", suffix=".log")
    with os.fdopen(fd, "w") as fh:
        traceback.print_exception(exc, file=fh)
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    click.echo(f"routeplan: internal error (a bug): {type(exc).__name__}: {exc}; traceback in {name}", err=True)


class Terminated(BaseException):
    """SIGTERM, raised so that every ``finally`` (temporary files) runs before exit 143."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the click group and map errors to exit codes."""
    args = argv if argv is not None else sys.argv[1:]
    debug = "--debug" in args
    settings.freeze_environment()
    old = None
    with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
        old = signal.signal(signal.SIGTERM, _on_sigterm)
    code = 0
    try:
        cli.main(args=args, prog_name="routeplan", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        _close_bars()
        click.echo("routeplan: interrupted; nothing was written", err=True)
        code = 130
    except Terminated:
        _close_bars()
        click.echo("routeplan: terminated; nothing was written", err=True)
        code = 143
    except click.ClickException as exc:
        _close_bars()
        click.echo(f"routeplan: {_one_line(exc.format_message())} (see 'routeplan --help')", err=True)
        code = exc.exit_code
    except RouteplanError as exc:
        _close_bars()
        click.echo(f"routeplan: {_one_line(_PARAM_RE.sub(lambda m: PARAM_FLAGS[m.group(1)], str(exc)))}", err=True)
        code = exc.exit_code
    except Exception as exc:  # noqa: BLE001 - last resort: a bug, reported in one line
        _close_bars()
        _fail_internal(exc, debug)
        code = 1
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="routeplan")
def cli() -> None:
    """Campaign coach routes that minimise local election expenses (Great Britain)."""


# -- route ---------------------------------------------------------------------------------------
def _resolve_osm(value: str, data_dir: str | None) -> Path:
    """A path to an OSM file, or a name (or name prefix) of a file under ``<data-dir>/osm``."""
    if not value.strip():
        msg = "--osm: empty file name"
        raise UsageError(msg)
    p = Path(value).expanduser()
    if p.exists():
        if not p.is_file():
            msg = f"--osm: {p} is a folder, not an OSM file"
            raise DataError(msg)
        return p
    is_path = p.is_absolute() or os.sep in value or (os.altsep or os.sep) in value
    osm_dir = settings.data_dir(data_dir) / "osm"
    if is_path:
        msg = f"OSM file not found: {value}"
        raise DataError(msg)
    if (osm_dir / value).is_file():
        return osm_dir / value
    pattern = f"{glob_escape(value)}*.osm.pbf"
    matches = sorted(q for q in osm_dir.glob(pattern) if q.is_file()) if osm_dir.is_dir() else []
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        msg = f"--osm {value!r} matches several files in {osm_dir}: {', '.join(m.name for m in matches)}"
        raise UsageError(msg)
    msg = f"OSM file not found: {value} (nor {value}*.osm.pbf in {osm_dir})"
    raise DataError(msg)


def glob_escape(text: str) -> str:
    """Escape glob metacharacters so a name is matched literally."""
    import glob

    return glob.escape(text)


POLICY_NAMES = {
    "day_rate": "--day-rate", "avoid": "--avoid", "free": "--free", "value_of_time": "--value-of-time",
    "overrides_file": "--overrides", "exempt": "--exempt", "charge_stops": "--no-stop-charges",
}


def _policy_from_options(o: dict[str, Any]) -> Any:
    from routeplan.policy import build_policy

    exempt = None
    if o["exempt"] is not None:
        exempt = [c.strip() for c in o["exempt"].split(",") if c.strip() and c.strip() != "none"]
    return build_policy(
        o["policy"],
        day_rate=o["day_rate"],
        exempt=exempt,
        value_of_time=o["value_of_time"],
        charge_stops=False if o["no_stop_charges"] else None,
        overrides_file=o["overrides"],
        avoid=tuple(o["avoid"]),
        free=tuple(o["free"]),
        names=POLICY_NAMES,
    )


def _vehicle_from_options(o: dict[str, Any]) -> Any:
    from routeplan.vehicle import build_profile

    return build_profile(
        o["vehicle"],
        height_m=o["height_m"], length_m=o["length_m"], width_m=o["width_m"], weight_t=o["weight_t"],
        avoid_hgv_restrictions=True if o["avoid_hgv_restrictions"] else None,
        names={"height_m": "--height", "length_m": "--length", "width_m": "--width", "weight_t": "--weight",
               "avoid_hgv_restrictions": "--avoid-hgv-restrictions"},
    )


def _fmt_time(s: float) -> str:
    m, sec = divmod(round(s), 60)
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min" if h else f"{m} min {sec:02d} s"


def _print_route(title: str, route: Any, echo: Callable[[str], None]) -> None:
    from routeplan.ledger import format_money

    echo(f"{title}: {format_money(route.cost_pence)}   {_fmt_time(route.time_s)}   {route.length_m / 1000:.1f} km")
    for r in route.ledger.rows:
        echo(f"  {format_money(r.pence):>10}  {r.name} ({r.code})")
        for why in r.reasons:
            echo(f"              - {why}")
    for note in route.ledger.notes:
        echo(f"  NOTE: {note}")


def _ledger_csv(leg: Any) -> str:
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(["route", "day", "code", "constituency", "charge_gbp", "road_km", "exempt_km", "reasons"])
    for route in (leg.cheapest, leg.fastest):
        for r in route.ledger.rows:
            w.writerow([route.kind, r.day, r.code, r.name, f"{r.pence / 100:.2f}", f"{r.road_km:.3f}", f"{r.exempt_km:.3f}", " | ".join(r.reasons)])
        for note in route.ledger.notes:
            w.writerow([route.kind, route.ledger.day, "", "", "0.00", "", "", f"note: {note}"])
    return buf.getvalue()


def _check_cache_dir(o: dict[str, Any]) -> None:
    """Fail fast (exit 4) on an unusable cache folder, before any slow work."""
    if not o["no_cache"]:
        settings.cache_dir(o["cache_dir"])


@cli.command()
@click.option("--osm", "osm", required=True, help="OSM extract (.osm.pbf/.osm/.osm.bz2), or a name under <data-dir>/osm.")
@click.option("--boundaries", default="wpc-2024", show_default=True, help="Boundary set (wpc-2010, wpc-2024) or a polygon file.")
@click.option("--code-field", default=None, help="Field with the constituency code (custom boundary files).")
@click.option("--name-field", default=None, help="Field with the constituency name (custom boundary files).")
@click.option("--from", "origin", required=True, help="Start: 'lat,lon' or a name in the OSM data.")
@click.option("--to", "destination", required=True, help="End: 'lat,lon' or a name in the OSM data.")
@click.option("--map", "map_path", help="Write a Folium HTML map here (works offline).")
@click.option("--online-assets", is_flag=True, help="Link the map's scripts from CDNs (smaller file, needs internet) instead of inlining them.")
@click.option("--ledger", "ledger_path", help="Write the ledger CSV here ('-' for standard output).")
@click.option("--chart", "chart_path", help="Write the trade-off chart (charge against time, exact Pareto set) as SVG here.")
@click.option("--export", "export", multiple=True, metavar="FORMAT=PATH", help="Also write the chosen route as gpx, geojson, gpkg or driver-sheet (printable HTML). Repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--policy", help="TOML file with a [policy] table.")
@click.option("--day-rate", type=FiniteFloat(0, 100_000, unit=" £"), help="Charge per constituency per day, £ (default 461).")
@click.option("--exempt", help="Comma-separated exempt road classes (default motorway,motorway_link; 'none' for none).")
@click.option("--overrides", help="CSV: constituency,charge (£ or 'avoid').")
@click.option("--avoid", multiple=True, help="Constituency (code or name) never to enter. Repeatable.")
@click.option("--free", multiple=True, help="Constituency charged £0 (target seat / already paid). Repeatable.")
@click.option("--already-charged", multiple=True, help="Constituency code already charged today. Repeatable.")
@click.option("--no-stop-charges", is_flag=True, help="Do not charge the stops' own constituencies.")
@click.option("--max-extra-minutes", type=FiniteFloat(0, 24 * 60, unit=" min"), help="Chosen route at most this many minutes slower than the fastest.")
@click.option("--max-detour-percent", type=FiniteFloat(0, 1000, unit=" %"), help="Chosen route at most this % slower than the fastest.")
@click.option("--value-of-time", type=FiniteFloat(0, 100_000, unit=" £/h"), help="Trade money for time at £ per hour.")
@click.option("--alternatives", is_flag=True, help="Print the Pareto set of (charge, time) routes.")
@click.option("--engine", type=click.Choice(["fast", "flat", "overlay", "reference", "milp"]), default="fast", show_default=True, help="Exact engine: fast (overlay from 50,000 road nodes, flat below), flat (numba label search on the road graph), overlay (the same on the constituency-cell overlay), reference (pure Python), milp (independent check, slow).")
@click.option("--vehicle", help="TOML with a [vehicle] table.")
@click.option("--height", "height_m", type=FiniteFloat(1, 6, unit=" m"), help="Coach height, m.")
@click.option("--length", "length_m", type=FiniteFloat(3, 25, unit=" m"), help="Coach length, m.")
@click.option("--width", "width_m", type=FiniteFloat(1, 4, unit=" m"), help="Coach width, m.")
@click.option("--weight", "weight_t", type=FiniteFloat(0.5, 60, unit=" t"), help="Coach weight, t.")
@click.option("--avoid-hgv-restrictions", is_flag=True, help="Also avoid roads closed to heavy goods vehicles (hgv=no); coaches may use them by law.")
@click.option("--incursion-tolerance", type=FiniteFloat(0, 1000, unit=" m"), default=25.0, show_default=True, help="Ignore boundary incursions shorter than this (m).")
@click.option("--max-snap", type=FiniteFloat(0, 50_000, lo_open=True, unit=" m"), default=750.0, show_default=True, help="Max distance from a stop to a coach road (m).")
@click.option("--max-outside-percent", type=FiniteFloat(0, 100, unit=" %"), default=5.0, show_default=True, help="Refuse a boundary set that leaves more than this share of the road km outside every constituency.")
@data_options
def route(**o: Any) -> None:
    """Cheapest (then fastest) coach route between two places, beside the fastest."""
    from routeplan.atomic import OutputSet
    from routeplan.boundaries import load_boundaries
    from routeplan.boundaries import resolve as resolve_boundaries
    from routeplan.locate import resolve
    from routeplan.network import build_network
    from routeplan.overlay import OverlayParams
    from routeplan.routing import plan_leg

    _setup_logging(o["verbose"], o["quiet"])
    for flag, key in (("--from", "origin"), ("--to", "destination")):
        if not o[key].strip():
            msg = f"{flag}: empty place"
            raise UsageError(msg)
    # Everything a planner gave is checked before the slow work: outputs, then inputs.
    osm = _resolve_osm(o["osm"], o["data_dir"])
    bnd_path = resolve_boundaries(o["boundaries"], o["data_dir"])[0]
    outs = OutputSet(inputs=[osm, bnd_path, o["policy"], o["overrides"], o["vehicle"]])
    outs.add("--map", o["map_path"])
    outs.add("--ledger", o["ledger_path"], stdout_ok=True)
    outs.add("--chart", o["chart_path"])
    targets = _export_targets(o["export"], outs)
    if o["as_json"] and outs.claims_stdout():
        msg = "--json and --ledger - both write to standard output"
        raise UsageError(msg)
    for flag, key in (("--policy", "policy"), ("--overrides", "overrides"), ("--vehicle", "vehicle")):
        if o[key] is not None:
            _check_input_file(flag, o[key])
    policy = _policy_from_options(o)
    profile = _vehicle_from_options(o)
    _check_cache_dir(o)
    with outs:
        bnd = load_boundaries(o["boundaries"], data_dir=o["data_dir"], code_field=o["code_field"], name_field=o["name_field"])
        prog = _Progress(o["quiet"] or o["as_json"] and not o["verbose"])
        net = build_network(
            osm, bnd, profile=profile, params=OverlayParams(incursion_tol_m=o["incursion_tolerance"]),
            cache=not o["no_cache"], cache_dir=o["cache_dir"], progress=prog,
            max_outside_share=o["max_outside_percent"] / 100.0,
        )
        prog.close()
        origin = resolve(o["origin"], net, bnd, max_snap_m=o["max_snap"])
        dest = resolve(o["destination"], net, bnd, max_snap_m=o["max_snap"])
        _prepare_overlay(net, policy, o, prog)
        leg = plan_leg(
            net, origin, dest, policy,
            already_charged=tuple(o["already_charged"]),
            max_extra_minutes=o["max_extra_minutes"], max_detour_percent=o["max_detour_percent"],
            alternatives=o["alternatives"], engine=o["engine"],
        )
        # Outputs: all or nothing - every file is written to its temporary path, then renamed together.
        if o["map_path"]:
            from routeplan import render

            render.route_map(net, bnd, leg, online_assets=o["online_assets"]).save(str(outs.path("--map")))
        if o["ledger_path"]:
            outs.write_text("--ledger", _ledger_csv(leg))
        if o["chart_path"]:
            from routeplan.render import tradeoff_svg

            outs.write_text("--chart", tradeoff_svg(leg) + "\n")
        _write_exports(targets, outs, net, bnd, leg)
        text = _route_json(net, policy, leg) if o["as_json"] else _route_text(net, policy, leg, origin, dest)
        if not o["as_json"]:
            text += "".join(f"Wrote {what.lstrip('-')}: {p}\n" for what, p in outs.written)
    # Printed after the files are in place, so a planner never reads "Wrote" for a file that is not there.
    click.echo(text, nl=False)


def _export_targets(specs: tuple[str, ...], outs: Any) -> list[tuple[str, str, str]]:
    """``--export FORMAT=PATH`` options, registered with the run's outputs (checked up front)."""
    from routeplan.exports import export_targets

    targets = export_targets(specs)
    for what, _fmt, path in targets:
        outs.add(what, path)
    return targets


def _write_exports(targets: list[tuple[str, str, str]], outs: Any, net: Any, bnd: Any, what_to_write: Any) -> None:
    from routeplan.exports import export

    for what, fmt, _path in targets:
        export(fmt, outs.path(what), net, bnd, what_to_write)


def _check_input_file(flag: str, value: str) -> None:
    p = Path(value).expanduser()
    if not p.exists():
        msg = f"{flag}: file not found: {value}"
        raise ConfigError(msg)
    if not p.is_file():
        msg = f"{flag}: {value} is not a regular file"
        raise ConfigError(msg)


def _route_json(net: Any, policy: Any, leg: Any) -> str:
    generated = bool(net.meta.get("generated"))
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
    # allow_nan=False: a NaN anywhere is a bug, never invalid JSON handed to a planner's tools.
    return json.dumps(out, indent=1, default=str, allow_nan=False) + "\n"


def _route_text(net: Any, policy: Any, leg: Any, origin: Any, dest: Any) -> str:
    from routeplan.ledger import format_money

    lines: list[str] = []
    echo = lines.append
    if net.meta.get("generated"):
        echo("NOTE: GENERATED synthetic network (not real roads) over real constituency polygons")
    st = net.pieces.stats
    dropped = st.get("nodes_before_scc", 0) - st.get("nodes", 0)
    echo(f"Network: {net.meta['osm_file']} ({net.n_nodes:,} nodes, {net.n_edges:,} edges), boundaries {net.meta['boundaries']}; "
               f"{dropped:,} of {st.get('nodes_before_scc', 0):,} junctions dropped outside the largest strongly connected part")
    pd = policy.describe()
    echo(f"Policy: {format_money(pd['day_rate_pence'])} per constituency per day; exempt: {', '.join(pd['exempt_classes']) or 'none'}"
               + (f"; {len(pd['overrides'])} overrides" if pd["overrides"] else ""))
    for tag, s in (("From", origin), ("To", dest)):
        where = net.cell_names[s.cell] if s.cell >= 0 else "no constituency"
        echo(f"{tag}: {s.label} [{s.source}] in {where}; joins the road network {s.snap_m:.0f} m away")
    echo("")
    what = "CHEAPEST (fastest among the cheapest)"
    if leg.limit_time_s is not None:
        what += f", within {_fmt_time(leg.limit_time_s)}"
    if policy.value_of_time_pence_per_hour is not None:
        what = f"BEST at {format_money(policy.value_of_time_pence_per_hour)}/hour"
    _print_route(what, leg.cheapest, echo)
    echo("")
    if leg.fastest.pieces == leg.cheapest.pieces:
        echo("FASTEST: the same route")
    else:
        _print_route("FASTEST", leg.fastest, echo)
    echo("")
    if leg.saving_pence > 0:
        echo(f"Saving: {format_money(leg.saving_pence)} for {_fmt_time(max(0.0, leg.extra_time_s))} extra")
    else:
        echo("The fastest route is also the cheapest.")
    if leg.front:
        echo("\nTrade-offs (Pareto set, exact):")
        for r in leg.front:
            echo(f"  {format_money(r.cost_pence):>10}  {_fmt_time(r.time_s):>16}  {r.length_m / 1000:6.1f} km  "
                       f"{', '.join(c.name for c in r.ledger.charged)}")
    return "".join(f"{ln}\n" for ln in lines)


# -- plan ----------------------------------------------------------------------------------------
@cli.command()
@click.argument("itinerary")
@click.option("--osm", "osm", help="OSM extract (overrides the itinerary's [tour] osm).")
@click.option("--boundaries", help="Boundary set or polygon file (overrides the itinerary's; default wpc-2024).")
@click.option("--optimise-order", "optimise", is_flag=True, help="Reorder the stops not marked fixed (exact up to 8 free stops a day).")
@click.option("--order-budget", type=FiniteFloat(1, 3600, unit=" s"), default=60.0, show_default=True, help="Time budget per day for --optimise-order.")
@click.option("--map", "map_path", help="Write a Folium HTML map (one layer per day) here.")
@click.option("--online-assets", is_flag=True, help="Link the map's scripts from CDNs (smaller file, needs internet) instead of inlining them.")
@click.option("--ledger", "ledger_path", help="Write the tour ledger CSV here ('-' for standard output).")
@click.option("--export", "export", multiple=True, metavar="FORMAT=PATH", help="Also write the tour as gpx, geojson, gpkg or driver-sheet (printable HTML). Repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--policy", help="TOML file with a [policy] table (merged with the itinerary's [tour.policy]).")
@click.option("--day-rate", type=FiniteFloat(0, 100_000, unit=" £"), help="Charge per constituency per day, £.")
@click.option("--exempt", help="Comma-separated exempt road classes ('none' for none).")
@click.option("--overrides", help="CSV: constituency,charge (£ or 'avoid').")
@click.option("--avoid", multiple=True, help="Constituency never to enter. Repeatable.")
@click.option("--free", multiple=True, help="Constituency charged £0. Repeatable.")
@click.option("--engine", type=click.Choice(["fast", "reference"]), default="fast", show_default=True, help="Exact engine.")
@click.option("--vehicle", help="TOML with a [vehicle] table (or give [tour.vehicle] in the itinerary).")
@click.option("--max-snap", type=FiniteFloat(0, 50_000, lo_open=True, unit=" m"), default=750.0, show_default=True, help="Max distance from a stop to a coach road (m).")
@click.option("--max-outside-percent", type=FiniteFloat(0, 100, unit=" %"), default=5.0, show_default=True, help="Refuse a boundary set that leaves more than this share of the road km outside every constituency.")
@data_options
def plan(**o: Any) -> None:
    """Plan a campaign tour from an itinerary file: each day planned whole, with schedule and ledger."""
    from routeplan.atomic import OutputSet
    from routeplan.boundaries import load_boundaries
    from routeplan.boundaries import resolve as resolve_boundaries
    from routeplan.itinerary import read_itinerary
    from routeplan.network import build_network
    from routeplan.policy import ExpensePolicy
    from routeplan.tour import plan_tour

    _setup_logging(o["verbose"], o["quiet"])
    _check_input_file("itinerary", o["itinerary"])
    itin = read_itinerary(o["itinerary"])
    osm_spec = o["osm"] or itin.osm
    if not osm_spec:
        msg = "no OSM extract: give --osm or osm = ... under [tour] in the itinerary"
        raise UsageError(msg)
    bspec = o["boundaries"] or itin.boundaries or "wpc-2024"
    osm = _resolve_osm(osm_spec, o["data_dir"])
    bnd_path = resolve_boundaries(bspec, o["data_dir"])[0]
    outs = OutputSet(inputs=[o["itinerary"], osm, bnd_path, o["policy"], o["overrides"], o["vehicle"]])
    outs.add("--map", o["map_path"])
    outs.add("--ledger", o["ledger_path"], stdout_ok=True)
    targets = _export_targets(o["export"], outs)
    if o["as_json"] and outs.claims_stdout():
        msg = "--json and --ledger - both write to standard output"
        raise UsageError(msg)
    for flag, key in (("--policy", "policy"), ("--overrides", "overrides"), ("--vehicle", "vehicle")):
        if o[key] is not None:
            _check_input_file(flag, o[key])
    o.setdefault("value_of_time", None)
    o.setdefault("no_stop_charges", False)
    base = _policy_from_options(o)
    policy = ExpensePolicy.from_mapping(itin.policy, base=base, source=f"{itin.source} [tour.policy]") if itin.policy else base
    profile = _tour_vehicle(o, itin)
    _check_cache_dir(o)
    with outs:
        bnd = load_boundaries(bspec, data_dir=o["data_dir"])
        prog = _Progress(o["quiet"] or o["as_json"] and not o["verbose"])
        net = build_network(osm, bnd, profile=profile, cache=not o["no_cache"], cache_dir=o["cache_dir"], progress=prog,
                            max_outside_share=o["max_outside_percent"] / 100.0)
        prog.close()
        say = (lambda _m: None) if o["quiet"] or o["as_json"] else (lambda m: click.echo(f"routeplan: {m}", err=True))
        tour = plan_tour(net, bnd, itin, policy, optimise=o["optimise"], engine=o["engine"], max_snap_m=o["max_snap"],
                         order_budget_s=o["order_budget"], progress=say)
        if o["map_path"]:
            from routeplan import render

            render.tour_map(net, bnd, tour, online_assets=o["online_assets"]).save(str(outs.path("--map")))
        if o["ledger_path"]:
            from routeplan.tour import ledger_rows

            buf = io.StringIO(newline="")
            csv.writer(buf).writerows(ledger_rows(tour))
            outs.write_text("--ledger", buf.getvalue())
        _write_exports(targets, outs, net, bnd, tour)
        if o["as_json"]:
            data = tour.as_dict(net) | {"attribution": ["© OpenStreetMap contributors (ODbL)", net.meta.get("boundary_attribution", "")]}
            text = json.dumps(data, indent=1, default=str, allow_nan=False) + "\n"
        else:
            text = _tour_text(net, tour) + "".join(f"Wrote {what.lstrip('-')}: {p}\n" for what, p in outs.written)
    click.echo(text, nl=False)


def _tour_vehicle(o: dict[str, Any], itin: Any) -> Any:
    from routeplan.vehicle import CoachProfile

    if itin.vehicle and o["vehicle"]:
        msg = "the vehicle is given twice: in the itinerary's [tour.vehicle] and with --vehicle"
        raise UsageError(msg)
    if itin.vehicle:
        return CoachProfile.from_mapping(itin.vehicle, source=f"{itin.source} [tour.vehicle]")
    return _vehicle_from_options(o | {k: None for k in ("height_m", "length_m", "width_m", "weight_t")} | {"avoid_hgv_restrictions": False})


def _tour_text(net: Any, tour: Any) -> str:
    """Day by day: time, stop, what each leg adds, the running day total; then the savings."""
    from routeplan.ledger import format_money
    from routeplan.schedule import format_clock, format_duration
    from routeplan.tour import PLAN_KINDS, PLAN_TITLES, paid_before

    again = paid_before(tour)
    lines: list[str] = []
    echo = lines.append
    if tour.generated:
        echo("NOTE: GENERATED synthetic network (not real roads) over real constituency polygons")
    echo(f"Tour: {tour.name} ({len(tour.days)} day{'s' if len(tour.days) != 1 else ''}) on {net.meta['osm_file']}, boundaries {net.meta['boundaries']}")
    for d in tour.days:
        best = d.plan.best
        when = d.date.strftime("%a %d %b %Y") if d.date else f"day {d.number}"
        echo("")
        echo(f"Day {d.number} ({when}): {d.stops[0].label} -> {d.stops[-1].label}")
        if d.order is not None:
            proof = "optimal order" if d.order.optimal else f"best order found, NOT proven optimal (lower bound {format_money(d.order.lower_bound_pence)})"
            echo(f"  stop order chosen by --optimise-order: {proof}")
        stop_pence = best.cost_pence - sum(leg.cost_pence for leg in best.legs)
        running = stop_pence
        echo(f"  {'time':>8}  {'stop':<34} {'leg adds':>10} {'day total':>10}")
        v0 = d.schedule  # with the drivers' breaks
        echo(f"  {format_clock(d.spec.start_s):>8}  {'depart ' + d.stops[0].label:<34} {'':>10} {format_money(running):>10}  (stops' own seats)")
        for i, leg in enumerate(best.legs):
            running += leg.cost_pence
            v = v0[i + 1]
            extra = f"  wait {format_duration(v.wait_s)}" if v.wait_s > 0 else ""
            extra += f"  dwell {format_duration(v.dwell_s)}" if v.dwell_s > 0 else ""
            extra += f"  LATE by {format_duration(v.late_s)}" if v.late_s > 0 else ""
            echo(f"  {format_clock(v.arrive_s):>8}  {d.stops[i + 1].label:<34} {format_money(leg.cost_pence):>10} {format_money(running):>10}{extra}")
        echo(f"  Day total {format_money(best.cost_pence)}, driving {format_duration(best.time_s)}, {best.length_m / 1000:.1f} km")
        for c in best.charges:
            if c.pence > 0:
                legs = ", ".join(f"leg {i} {km:.2f} km" for i, km in c.legs)
                prior = again.get((d.number, c.code))
                echo(f"    {format_money(c.pence):>10}  {c.name} ({c.code}): {c.charged_by}" + (f"; {legs}" if legs else "")
                     + (f"  [paid again: also charged on day {', '.join(map(str, prior))}]" if prior else ""))
        for note in best.ledger.notes:
            echo(f"    NOTE: {note}")
        for kind in PLAN_KINDS[1:]:
            r = d.route(kind)
            diff = r.cost_pence - best.cost_pence
            echo(f"  {PLAN_TITLES[kind]:>14}: {format_money(r.cost_pence)}, driving {format_duration(r.time_s)}"
                 + (f"  -> planning the day whole saves {format_money(diff)}" if diff > 0 else ""))
        h = d.hours
        for b in h.breaks:
            if b.kind != "stop dwell":  # a dwell that already counts as a break needs no line
                echo(f"  break {format_clock(b.clock_s)} {format_duration(b.duration_s)} ({b.kind}): {b.where}")
        echo(f"  Drivers' hours: {format_duration(h.driving_s)} driving"
             + (", extended day (over 9 h)" if h.uses_extended_day else "") + (f", breaks add {format_duration(h.added_s)}" if h.added_s > 0 else ""))
        for viol in h.violations:
            if viol.kind != "window":  # the schedule above marks a late arrival itself
                echo(f"  WARNING ({viol.kind}): {viol.message}")
        for v in d.schedule:
            if v.late_s > 0:
                echo(f"  WARNING (window): {v.label} arrives {format_clock(v.arrive_s)} with the breaks, {format_duration(v.late_s)} after its window ends")
        if h.needs_second_driver:
            echo("  WARNING: this day needs a second driver")
    echo("")
    for viol in tour.week:
        echo(f"WARNING ({viol.kind}): {viol.message}")
    tb, tf, tl = (tour.total_pence(k) for k in PLAN_KINDS)
    echo(f"Tour total: {format_money(tb)} planned whole; fastest legs {format_money(tf)} (saving {format_money(tf - tb)}); "
         f"leg by leg {format_money(tl)} (saving {format_money(tl - tb)})")
    return "".join(f"{ln}\n" for ln in lines)


def _prepare_overlay(net: Any, policy: Any, o: dict[str, Any], prog: _Progress | None = None) -> None:
    """Say so before the one-off "customise" steps (the cell overlay and the contraction
    hierarchy: minutes on a national network, then cached on disk), so a planner is not left
    waiting on a silent first query."""
    from routeplan.routing import CH_MIN_NODES, OVERLAY_MIN_NODES

    say = not (o["quiet"] or o["as_json"])
    if o["engine"] == "overlay" or (o["engine"] == "fast" and net.n_nodes >= OVERLAY_MIN_NODES):
        exempt = frozenset(policy.exempt_classes)
        if exempt not in net.__dict__.get("_overlay_cache", {}) and say:
            click.echo(f"constituency-cell overlay for {net.n_nodes:,} road nodes: loading it, or building it once (cached)", err=True)
        net.overlay(exempt)
    if o["engine"] == "fast" and net.n_nodes >= CH_MIN_NODES and "_ch" not in net.__dict__:
        if say:
            click.echo(f"contraction hierarchy for {net.n_nodes:,} road nodes (fastest routes): loading it, or building it once (cached)", err=True)
        net.ch(progress=None if prog is None else (lambda done, total: prog("contracting nodes", done, total)))
        if prog is not None:
            prog.close()


# -- synth ---------------------------------------------------------------------------------------
@cli.command()
@click.option("--boundaries", default="wpc-2024", show_default=True, help="Boundary set whose real polygons to cover.")
@click.option("--around", "code", help="Regional network: constituency code (or name) at the centre.")
@click.option("-n", "count", type=click.IntRange(1, 100), default=6, show_default=True, help="Regional network: number of constituencies (1-100).")
@click.option("--preset", type=click.Choice(["county", "region", "nation", "gb", "realistic-county", "realistic-region", "realistic-gb"]), help="National network over the real motorway skeleton, by size: grid stress cases, or realistic-* (towns, arterial hierarchy, lanes, bridges).")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True, help="Random seed (0 to 2^32-1); the same seed gives the same file.")
@click.option("--no-motorway", is_flag=True, help="Regional network without a motorway.")
@click.option("--out", required=True, help="Output .osm.pbf.")
@data_options
def synth(**o: Any) -> None:
    """Write a GENERATED synthetic road network (.osm.pbf) over real constituency polygons.

    Either a regional network (--around CODE -n N) or a national one (--preset), for tests and
    benchmarks: more constituencies and motorway than the real extracts have.
    """
    from routeplan import boundaries as bmod
    from routeplan import synth as smod
    from routeplan.atomic import OutputSet

    _setup_logging(o["verbose"], o["quiet"])
    if bool(o["code"]) == bool(o["preset"]):
        msg = "give either --around CODE (regional) or --preset SIZE (national)"
        raise UsageError(msg)
    path, _ = bmod.resolve(o["boundaries"], o["data_dir"])
    motorways = settings.data_dir(o["data_dir"]) / "roads" / "gb-motorways-os-openroads.fgb"
    outs = OutputSet(inputs=[path, motorways])
    outs.add("--out", o["out"])
    outs.add("--out (sidecar)", f"{o['out']}.json")
    gdf = _read_polygons(path)
    if o["preset"]:
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


def _read_polygons(path: Path) -> Any:
    """The boundary file as a WGS84 GeoDataFrame with ``code``/``name`` columns, or DataError."""
    import geopandas as gpd

    try:
        gdf = gpd.read_file(path).to_crs("EPSG:4326")
    except Exception as exc:  # pyogrio raises several types for unreadable input
        msg = f"cannot read boundary file {path}: {_one_line(str(exc))}"
        raise DataError(msg) from exc
    if "code" not in gdf.columns or "name" not in gdf.columns:
        msg = f"boundary file {path} needs 'code' and 'name' fields for synth"
        raise DataError(msg)
    return gdf


# -- data ----------------------------------------------------------------------------------------
@cli.group()
def data() -> None:
    """Inspect the data folder and the graph cache."""


@data.command("info")
@data_options
def data_info(**o: Any) -> None:
    """List the known boundary sets and OSM files in the data folder, with checksum status."""
    from routeplan import cache as cmod
    from routeplan.boundaries import manifest, sha256_file

    _setup_logging(o["verbose"], o["quiet"])
    root = settings.data_dir(o["data_dir"])
    click.echo(f"data folder: {root}{'' if root.exists() else ' (missing)'}")
    for name, entry in sorted(manifest().items()):
        p = root / "boundaries" / entry["file"]
        state = "missing" if not p.is_file() else "ok" if sha256_file(p) == entry["sha256"] else "CHECKSUM MISMATCH"
        click.echo(f"  {name:10} {state:18} {p}  ({entry['licence']})")
    for p in sorted((root / "osm").glob("*.osm.pbf")) if (root / "osm").is_dir() else []:
        click.echo(f"  osm        {p.stat().st_size / 1e6:7.1f} MB  {p}")
    folder = settings.cache_dir(o["cache_dir"])
    entries = cmod.entries(folder)
    total = sum(e.size for e in entries)
    click.echo(f"cache folder: {folder} ({len(entries)} files, {total / 1e6:.1f} MB)")
    kinds: dict[str, list[int]] = {}
    for e in entries:
        kinds.setdefault(e.kind, []).append(e.size)
    for kind, sizes in sorted(kinds.items()):
        click.echo(f"  {kind:12} {len(sizes):4d} files {sum(sizes) / 1e6:9.1f} MB")


@data.command("fetch")
@click.option("--boundaries", "bsets", multiple=True, help="Known boundary set to fetch (wpc-2010, wpc-2024). Repeatable.")
@click.option("--osm", "regions", multiple=True, help="Geofabrik region, e.g. europe/great-britain/england/rutland. Repeatable.")
@click.option("--postcodes", "pc_areas", multiple=True, help="Code-Point Open postcode area (NP, RG, ...) or 'all'. Repeatable.")
@click.option("--base-url", help="Mirror to fetch from instead of the manifest's/Geofabrik's address.")
@data_options
def data_fetch(**o: Any) -> None:
    """Download boundary sets, OSM extracts and postcode files into the data folder, checking their checksums."""
    from routeplan import fetch
    from routeplan.postcodes import fetch_postcodes

    _setup_logging(o["verbose"], o["quiet"])
    if not o["bsets"] and not o["regions"] and not o["pc_areas"]:
        msg = "nothing to fetch: give --boundaries, --osm and/or --postcodes"
        raise UsageError(msg)
    if o["pc_areas"]:
        prog = _Progress(o["quiet"])
        wanted = None if "all" in [a.lower() for a in o["pc_areas"]] else list(o["pc_areas"])
        paths = fetch_postcodes(wanted, data_dir=o["data_dir"], base_url=o["base_url"], progress=_stage_cb(prog, "postcodes"))
        prog.close()
        click.echo(f"fetched {len(paths)} postcode files into {paths[0].parent if paths else settings.data_dir(o['data_dir']) / 'postcodes'}")
    for name in o["bsets"]:
        prog = _Progress(o["quiet"])
        path = fetch.fetch_boundaries(name, data_dir=o["data_dir"], base_url=o["base_url"], progress=_stage_cb(prog, f"boundaries {name}"))
        prog.close()
        click.echo(f"fetched {name}: {path}")
    for region in o["regions"]:
        prog = _Progress(o["quiet"])
        kw = {"base_url": o["base_url"]} if o["base_url"] else {}
        path = fetch.fetch_osm(region, data_dir=o["data_dir"], progress=_stage_cb(prog, f"osm {region}"), **kw)
        prog.close()
        click.echo(f"fetched {region}: {path}")


def _stage_cb(prog: _Progress, stage: str) -> Callable[[int, int | None], None]:
    return lambda done, total: prog(stage, done, total)


@data.command("clear-cache")
@data_options
def data_clear(**o: Any) -> None:
    """Delete every cached artefact (boundaries, networks, landmarks) and stray temporary files."""
    from routeplan import cache as cmod

    folder = settings.cache_dir(o["cache_dir"])
    n, size = cmod.clear(folder)
    click.echo(f"removed {n} cached files ({size / 1e6:.1f} MB) from {folder}")


# Commands in their own modules (they import the helpers above, so they register last).
from routeplan.cli_locate import locate as _locate_cmd

cli.add_command(_locate_cmd)
import routeplan.cli_reach  # noqa: F401 - registers the `reach` command on `cli` (see that module)
from routeplan.cli_matrix import matrix as _matrix_cmd

cli.add_command(_matrix_cmd)
