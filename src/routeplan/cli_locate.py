"""``routeplan locate PLACE...``: where a place is, which road a coach would use, what a stop costs.

For each place: the point and how it was found (:func:`routeplan.locate.resolve_point`: lat,lon,
postcode, name with town/postcode); with ``--osm`` the nearest coach-usable road node and the
straight-line walk to it, or that the extract does not cover the place; and the constituency it
stands in under *every* known boundary set with what a stop there is charged under the policy.
Registered on the ``routeplan`` group by :mod:`routeplan.cli` (``cli.add_command``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import click

from routeplan.cli import (
    POLICY_NAMES,
    FiniteFloat,
    _check_cache_dir,
    _check_input_file,
    _Progress,
    _resolve_osm,
    _setup_logging,
    data_options,
)
from routeplan.errors import UsageError


@click.command("locate")
@click.argument("places", nargs=-1, required=True)
@click.option("--osm", "osm", help="OSM extract (file, or a name under <data-dir>/osm): names are looked up in it and the nearest coach road found.")
@click.option("--policy", help="TOML file with a [policy] table.")
@click.option("--day-rate", type=FiniteFloat(0, 100_000, unit=" £"), help="Charge per constituency per day, £ (default 461).")
@click.option("--overrides", help="CSV: constituency,charge (£ or 'avoid').")
@click.option("--avoid", multiple=True, help="Constituency (code or name) never to enter. Repeatable.")
@click.option("--free", multiple=True, help="Constituency charged £0 (target seat / already paid). Repeatable.")
@click.option("--no-stop-charges", is_flag=True, help="Do not charge the stops' own constituencies.")
@click.option("--max-snap", type=FiniteFloat(0, 50_000, lo_open=True, unit=" m"), default=750.0, show_default=True,
              help="Farther than this from a coach road, the extract does not cover the place (m).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@data_options
def locate(**o: Any) -> None:
    """Show where each PLACE is: point, nearest coach road, constituency and stop charge under every boundary set.

    PLACE is 'lat,lon', a GB postcode ('NP20 1HG'; an outward code 'NP20' gives its centroid),
    or a name in the --osm extract, optionally with a town and/or postcode after a comma
    ('Rivermead Leisure Centre, Reading RG1 8EQ').
    """
    from routeplan.boundaries import load_boundaries, manifest
    from routeplan.locate import resolve_point
    from routeplan.policy import build_policy

    _setup_logging(o["verbose"], o["quiet"])
    texts: Sequence[str] = o["places"]
    for t in texts:
        if not t.strip():
            msg = "locate: empty place"
            raise UsageError(msg)
    osm = _resolve_osm(o["osm"], o["data_dir"]) if o["osm"] is not None else None
    for flag, key in (("--policy", "policy"), ("--overrides", "overrides")):
        if o[key] is not None:
            _check_input_file(flag, o[key])
    policy = build_policy(
        o["policy"], day_rate=o["day_rate"], charge_stops=False if o["no_stop_charges"] else None,
        overrides_file=o["overrides"], avoid=tuple(o["avoid"]), free=tuple(o["free"]), names=POLICY_NAMES,
    )
    _check_cache_dir(o)
    sets = {name: load_boundaries(name, data_dir=o["data_dir"], cache=not o["no_cache"]) for name in sorted(manifest())}
    net = None
    if osm is not None:
        from routeplan.network import build_network

        prog = _Progress(o["quiet"] or o["as_json"] and not o["verbose"])
        net = build_network(osm, sets["wpc-2024"], cache=not o["no_cache"], cache_dir=o["cache_dir"], progress=prog)
        prog.close()
    places = net.places if net is not None else ()
    cache_dir = None if o["no_cache"] else o["cache_dir"]
    points = [resolve_point(t, places=places, data_dir=o["data_dir"], cache_dir=cache_dir) for t in texts]
    charges = {name: _charges(policy, bnd) for name, bnd in sets.items()}
    results = []
    for text, pt in zip(texts, points, strict=True):
        road = _road(net, pt.lat, pt.lon, o["max_snap"]) if net is not None else None
        seats = []
        for name, bnd in sets.items():
            cell, how = bnd.cell_at(pt.lat, pt.lon)
            pence, rule = charges[name]
            seat: dict[str, Any] = {"boundaries": name, "code": None, "name": None, "how": how, "charge_pence": None, "charge": "no constituency"}
            if cell >= 0:
                p = int(pence[cell])
                seat |= {"code": bnd.codes[cell], "name": bnd.names[cell], "charge_pence": p if p >= 0 else None}
                seat["charge"] = _charge_text(p, policy.charge_stops, rule.get(cell))
            seats.append(seat)
        results.append({"query": text, "label": pt.label, "lat": pt.lat, "lon": pt.lon, "how": pt.how, "kind": pt.kind,
                        "warnings": list(pt.warnings), "road": road, "constituencies": seats})
    notes = [n for _, (_, rule) in charges.items() for n in rule.get(-1, "").split("\n") if n]
    attribution = [bnd.attribution for bnd in sets.values()]
    if net is not None:
        attribution.insert(0, "© OpenStreetMap contributors (ODbL)")
    if any(pt.kind in ("postcode", "district", "venue-postcode") for pt in points):
        from routeplan.postcodes import attribution as pc_attribution

        attribution.append(pc_attribution())
    if o["as_json"]:
        out = {"places": results, "osm_file": net.meta.get("osm_file") if net is not None else None, "max_snap_m": o["max_snap"],
               "policy": policy.describe(), "notes": notes, "attribution": attribution}
        click.echo(json.dumps(out, indent=1, ensure_ascii=False, allow_nan=False))
        return
    click.echo(_text(results, o["max_snap"], notes, attribution), nl=False)


def _charges(policy: Any, bnd: Any) -> tuple[Any, dict[int, str]]:
    """Per-cell charge of a stop in ``bnd``, and which override set it (``-1``: notes).

    Overrides naming no constituency of this set (a seat of the other boundary set) are left out
    for this set, with a note, instead of failing: a stop is charged under each set separately.
    """
    codes, names = list(bnd.codes), [n.strip().casefold() for n in bnd.names]
    keep = {k: v for k, v in policy.overrides.items() if k in codes or k.strip().casefold() in names}
    dropped = sorted(set(policy.overrides) - set(keep))
    pol = replace(policy, overrides=keep, override_sources={k: v for k, v in policy.override_sources.items() if k in keep})
    pence = pol.label_charges(bnd.codes, bnd.names)
    rule: dict[int, str] = {}
    for k in keep:
        i = codes.index(k) if k in codes else names.index(k.strip().casefold())
        rule[i] = f"{k!r} ({policy.override_sources.get(k, 'overrides')})"
    if dropped:
        rule[-1] = f"{bnd.name}: ignored override(s) naming no constituency of this set: {', '.join(map(repr, dropped))}"
    return pence, rule


def _charge_text(pence: int, charge_stops: bool, why: str | None) -> str:
    if pence < 0:
        return "avoid (the policy says never to enter it)" + (f": override {why}" if why else "")
    if not charge_stops:
        return "£0 (stop charges off)"
    money = f"£{pence / 100:,.2f}"
    return f"{money} (override {why})" if why else f"{money} (day rate)"


def _road(net: Any, lat: float, lon: float, max_snap_m: float) -> dict[str, Any]:
    """Nearest coach-usable node of ``net`` and the straight-line walk to it, or 'not covered'."""
    import numpy as np

    from routeplan.boundaries import to_bng

    x, y = to_bng([lon], [lat])
    dist, idx = net.kdtree.query(np.array([x[0], y[0]]))
    d, i = float(dist), int(idx)
    osm_file = str(net.meta.get("osm_file", ""))
    if not math.isfinite(d) or d > max_snap_m:
        return {"osm_file": osm_file, "covered": False, "nearest_road_m": round(d, 1) if math.isfinite(d) else None, "max_snap_m": max_snap_m}
    pc = net.pieces
    touching = np.flatnonzero((pc.a == i) | (pc.b == i))
    road = str(net.way_name[int(pc.way[touching[0]])]) if touching.size else ""
    node_id = int(pc.node_id[i])
    return {"osm_file": osm_file, "covered": True, "node": i, "osm_node": node_id if node_id > 0 else None,
            "lat": float(pc.node_lat[i]), "lon": float(pc.node_lon[i]), "walk_m": round(d, 1), "road": road}


def _text(results: list[dict[str, Any]], max_snap_m: float, notes: list[str], attribution: list[str]) -> str:
    lines: list[str] = []
    for r in results:
        lines.append(f"{r['query']}: {r['lat']:.5f},{r['lon']:.5f}  ({r['how']})")
        lines.extend(f"  WARNING: {w}" for w in r["warnings"])
        road = r["road"]
        if road is None:
            lines.append("  road: no road network given (use --osm FILE|NAME for the nearest coach road)")
        elif not road["covered"]:
            far = f"{road['nearest_road_m'] / 1000:.1f} km" if road["nearest_road_m"] is not None else "no road"
            lines.append(f"  road: {road['osm_file']} does not cover this place: its nearest coach road is {far} away (--max-snap {max_snap_m:g} m)")
        else:
            node = f"OSM node {road['osm_node']}" if road["osm_node"] else f"node {road['node']} (a boundary crossing)"
            on = f" on {road['road']}" if road["road"] else ""
            lines.append(f"  road: {node}{on} at {road['lat']:.5f},{road['lon']:.5f}, {road['walk_m']:.0f} m walk (straight line)")
        for s in r["constituencies"]:
            if s["code"] is None:
                lines.append(f"  {s['boundaries']}: outside every constituency (more than 2 km from one): no stop charge")
            else:
                near = " (nearest; the point is outside every polygon)" if s["how"] == "nearest" else ""
                lines.append(f"  {s['boundaries']}: {s['name']} ({s['code']}){near}: a stop is charged {s['charge']}")
    lines.extend(f"NOTE: {n}" for n in notes)
    lines.append("Sources: " + " | ".join(a for a in attribution if a))
    return "".join(f"{ln}\n" for ln in lines)


__all__ = ["locate"]
