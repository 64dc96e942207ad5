"""``routeplan reach``: how far the coach can still drive today at no further charge.

Registered on the main group: :mod:`routeplan.cli` imports this module at its end (``import
routeplan.cli_reach``), and this module adds the command to ``cli`` itself, so either import
order works without a circular-import failure.  Same conventions as
the other commands: every planner error is a :class:`~routeplan.errors.RouteplanError` (one line,
its exit code), outputs go through an :class:`~routeplan.atomic.OutputSet` (all or nothing).
"""

from __future__ import annotations

import json
from typing import Any

import click

from routeplan.cli import (
    FiniteFloat,
    _check_cache_dir,
    _check_input_file,
    _Progress,
    _resolve_osm,
    _setup_logging,
    cli,
    data_options,
)
from routeplan.errors import UsageError


def parse_bands(text: str) -> tuple[float, ...]:
    """``"15,30,60"`` -> ``(15.0, 30.0, 60.0)`` (checked by :func:`routeplan.reach.check_bands`)."""
    from routeplan.reach import check_bands

    parts = [t.strip() for t in text.split(",") if t.strip()]
    vals: list[float] = []
    for t in parts:
        try:
            vals.append(float(t))
        except ValueError:
            msg = f"--bands: {t!r} is not a number of minutes"
            raise UsageError(msg) from None
    try:
        return check_bands(vals)
    except UsageError as exc:
        raise UsageError(f"--bands: {exc}") from None


def bands_within(bands: tuple[float, ...], minutes: float | None) -> tuple[float, ...]:
    """The bands up to ``minutes`` (which becomes the last band when it is not one already)."""
    if minutes is None:
        return bands
    kept = tuple(b for b in bands if b < minutes)
    return (*kept, float(minutes))


@click.command("reach")
@click.option("--osm", "osm", required=True, help="OSM extract (.osm.pbf/.osm/.osm.bz2), or a name under <data-dir>/osm.")
@click.option("--boundaries", default="wpc-2024", show_default=True, help="Boundary set (wpc-2010, wpc-2024) or a polygon file.")
@click.option("--from", "origin", required=True, help="Where the coach is: 'lat,lon' or a name in the OSM data.")
@click.option("--charged", multiple=True, help="Constituency (code or name) already charged today. Repeatable.")
@click.option("--minutes", type=FiniteFloat(0, 24 * 60, lo_open=True, unit=" min"), help="Search limit in minutes (default: the largest band).")
@click.option("--bands", default="15,30,60", show_default=True, help="Comma-separated band limits, minutes.")
@click.option("--geojson", "geojson_path", help="Write the reachable roads as GeoJSON here ('-' for standard output).")
@click.option("--map", "map_path", help="Write an offline HTML map of the £0 reach (drive-time bands) here.")
@click.option("--online-assets", is_flag=True, help="Link the map's scripts from CDNs (smaller file, needs internet) instead of inlining them.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--policy", help="TOML file with a [policy] table.")
@click.option("--exempt", help="Comma-separated exempt road classes (default motorway,motorway_link; 'none' for none).")
@click.option("--free", multiple=True, help="Constituency charged £0 (target seat). Repeatable.")
@click.option("--avoid", multiple=True, help="Constituency never to enter. Repeatable.")
@click.option("--no-stop-charges", is_flag=True, help="Do not count the start's own constituency as charged.")
@click.option("--vehicle", help="TOML with a [vehicle] table.")
@click.option("--max-snap", type=FiniteFloat(0, 50_000, lo_open=True, unit=" m"), default=750.0, show_default=True, help="Max distance from the place to a coach road (m).")
@click.option("--max-outside-percent", type=FiniteFloat(0, 100, unit=" %"), default=5.0, show_default=True, help="Refuse a boundary set that leaves more than this share of the road km outside every constituency.")
@data_options
def reach(**o: Any) -> None:
    """Roads the coach can still reach today at NO further charge (exempt roads, seats already
    charged or free), by drive time from a place."""
    from routeplan.atomic import OutputSet
    from routeplan.boundaries import load_boundaries
    from routeplan.boundaries import resolve as resolve_boundaries
    from routeplan.cli import _policy_from_options, _vehicle_from_options
    from routeplan.locate import resolve
    from routeplan.network import build_network
    from routeplan.reach import free_reach, reach_geojson, reach_summary, seat_codes

    _setup_logging(o["verbose"], o["quiet"])
    if not o["origin"].strip():
        msg = "--from: empty place"
        raise UsageError(msg)
    bands = bands_within(parse_bands(o["bands"]), o["minutes"])
    osm = _resolve_osm(o["osm"], o["data_dir"])
    bnd_path = resolve_boundaries(o["boundaries"], o["data_dir"])[0]
    outs = OutputSet(inputs=[osm, bnd_path, o["policy"], o["vehicle"]])
    outs.add("--geojson", o["geojson_path"], stdout_ok=True)
    outs.add("--map", o["map_path"])
    if o["as_json"] and outs.claims_stdout():
        msg = "--json and --geojson - both write to standard output"
        raise UsageError(msg)
    for flag, key in (("--policy", "policy"), ("--vehicle", "vehicle")):
        if o[key] is not None:
            _check_input_file(flag, o[key])
    policy = _policy_from_options(o | {"day_rate": None, "value_of_time": None, "overrides": None})
    profile = _vehicle_from_options(o | {"height_m": None, "length_m": None, "width_m": None, "weight_t": None,
                                         "avoid_hgv_restrictions": False})
    _check_cache_dir(o)
    with outs:
        bnd = load_boundaries(o["boundaries"], data_dir=o["data_dir"])
        prog = _Progress(o["quiet"] or o["as_json"] and not o["verbose"])
        net = build_network(osm, bnd, profile=profile, cache=not o["no_cache"], cache_dir=o["cache_dir"], progress=prog,
                            max_outside_share=o["max_outside_percent"] / 100.0)
        prog.close()
        start = resolve(o["origin"], net, bnd, max_snap_m=o["max_snap"])
        res = free_reach(net, policy, start, already_charged=seat_codes(net, o["charged"]), bands_min=bands)
        summary = reach_summary(net, res)
        if o["geojson_path"]:
            outs.write_text("--geojson", json.dumps(reach_geojson(net, res), ensure_ascii=False, allow_nan=False) + "\n")
        if o["map_path"]:
            from routeplan.render import reach_map

            reach_map(net, bnd, res, online_assets=o["online_assets"]).save(str(outs.path("--map")))
        names = dict(zip(net.cell_codes, net.cell_names, strict=True))
        if o["as_json"]:
            data = {
                "start": {"label": start.label, "lat": start.lat, "lon": start.lon, "node": start.node,
                          "constituency": net.cell_codes[start.cell] if start.cell >= 0 else None},
                "generated": bool(net.meta.get("generated")), "charged": list(res.charged_codes), "free": list(res.free_codes),
                "exempt": sorted(res.exempt_classes), "bands": summary,
                "attribution": ["© OpenStreetMap contributors (ODbL)", net.meta.get("boundary_attribution", "")],
            }
            text = json.dumps(data, indent=1, allow_nan=False) + "\n"
        else:
            lines = []
            if net.meta.get("generated"):
                lines.append("NOTE: GENERATED synthetic network (not real roads) over real constituency polygons")
            where = net.cell_names[start.cell] if start.cell >= 0 else "no constituency"
            lines.append(f"£0 reach from {start.label} ({where}) on {net.meta.get('osm_file', '?')}, boundaries {net.meta.get('boundaries', '?')}")
            lines.append("Already charged today: " + (", ".join(f"{names[c]} ({c})" for c in res.charged_codes) or "none"))
            other_free = [c for c in res.free_codes if c not in res.charged_codes]
            if other_free:
                lines.append("Free under the policy: " + ", ".join(f"{names[c]} ({c})" for c in other_free))
            lines.append(f"Exempt roads: {', '.join(sorted(res.exempt_classes)) or 'none'}")
            for band in summary:
                lines.append(f"  within {band['minutes']:g} min: {band['km']:.1f} km of road at £0")
                for s in band["seats"]:
                    kind = "local and exempt road" if s["local_km"] and s["exempt_km"] else "exempt road only" if s["exempt_km"] else "local road"
                    lines.append(f"    {s['name']} ({s['code']}): {s['local_km'] + s['exempt_km']:.1f} km ({kind})")
            text = "".join(f"{ln}\n" for ln in lines) + "".join(f"Wrote {w.lstrip('-')}: {p}\n" for w, p in outs.written)
    click.echo(text, nl=False)


# Registered here as well as by routeplan.cli: whichever module is imported first, the command is
# on the group once both are loaded (add_command is idempotent).
cli.add_command(reach)

__all__ = ["bands_within", "parse_bands", "reach"]
