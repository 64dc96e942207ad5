"""The £0 reach (issue 15 item 5): roads the coach can still drive today at no further charge.

On GENERATED drawn maps (the generator of test_properties.py) every node time is checked against
an independent Dijkstra in networkx over exactly the edges that are exempt, outside every
constituency, or in a seat that is free or already charged; charging one more seat never shrinks
the reach.  On real Newport: from Newport West with Newport West charged, no local road of
Newport East is reachable.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import DrawnMap, build, drawn_maps

from routeplan.errors import ConfigError, InfeasibleError, UsageError
from routeplan.locate import Stop, resolve
from routeplan.network import Network
from routeplan.policy import AVOID, ExpensePolicy
from routeplan.reach import (
    ReachResult,
    check_bands,
    free_reach,
    reach_geojson,
    reach_pieces,
    reach_summary,
    seat_codes,
)
from routeplan.vehicle import CLASS_NAMES

PROPS = settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def brute_force(net: Network, policy: ExpensePolicy, charged: set[str], start: int) -> tuple[dict[int, float], dict[int, float]]:
    """Node and piece times by networkx over the £0 edges, written from the rules, not the code."""
    charges = policy.label_charges(net.cell_codes, net.cell_names)
    exempt = {CLASS_NAMES.index(c) for c in policy.exempt_classes}
    pc = net.pieces
    g = nx.DiGraph()
    g.add_node(start)
    free_piece = []
    for p in range(pc.a.shape[0]):
        cell = int(pc.cell[p])
        ok = cell < 0 or int(net.way_class[pc.way[p]]) in exempt or (charges[cell] != AVOID and (charges[cell] == 0 or net.cell_codes[cell] in charged))
        free_piece.append(ok)
        if not ok:
            continue
        for fw, (u, v) in ((True, (pc.a[p], pc.b[p])), (False, (pc.b[p], pc.a[p]))):
            if pc.fwd[p] if fw else pc.bwd[p]:
                w = net.edge_time_s(p, fw)
                u, v = int(u), int(v)
                if not g.has_edge(u, v) or g[u][v]["w"] > w:
                    g.add_edge(u, v, w=w)
    dist = nx.single_source_dijkstra_path_length(g, start, weight="w")
    piece: dict[int, float] = {}
    for p in range(pc.a.shape[0]):
        if not free_piece[p]:
            continue
        for fw, u in ((True, int(pc.a[p])), (False, int(pc.b[p]))):
            if (pc.fwd[p] if fw else pc.bwd[p]) and u in dist:
                piece[p] = min(piece.get(p, math.inf), dist[u] + net.edge_time_s(p, fw))
    return dist, piece


def check_against_brute(net: Network, policy: ExpensePolicy, res: ReachResult, charged: set[str]) -> None:
    dist, piece = brute_force(net, policy, charged, res.start)
    finite = set(np.flatnonzero(np.isfinite(res.node_time_s)).tolist())
    assert finite == set(dist), "reachable node sets differ"
    for v, t in dist.items():
        assert res.node_time_s[v] == pytest.approx(t, rel=1e-9, abs=1e-9)
    got = {int(p): float(res.piece_time_s[p]) for p in np.flatnonzero(np.isfinite(res.piece_time_s))}
    assert set(got) == set(piece)
    for p, t in piece.items():
        assert got[p] == pytest.approx(t, rel=1e-9, abs=1e-9)
    # Bands: the first limit that covers the piece's time.
    for p in range(net.pieces.a.shape[0]):
        t = float(res.piece_time_s[p])
        want = next((i for i, lim in enumerate(res.bands_s) if t <= lim), -1)
        assert res.piece_band[p] == want


@given(drawn_maps(), st.sets(st.integers(0, 9), max_size=3), st.integers(0, 9), st.sampled_from([(0.05,), (0.1, 0.5), (15.0, 30.0, 60.0)]))
@PROPS
def test_reach_equals_brute_force(m: DrawnMap, extra: set[int], more: int, bands: tuple[float, ...]) -> None:
    b = build(m)
    net, pol = b.net, m.policy()
    codes = [f"C{k % m.n_labels}" for k in sorted(extra)]
    start_code = net.cell_codes[b.origin.cell] if b.origin.cell >= 0 else None
    charges = pol.label_charges(net.cell_codes, net.cell_names)
    if b.origin.cell >= 0 and charges[b.origin.cell] == AVOID:  # pragma: no cover - drawn maps have no avoid
        return
    res = free_reach(net, pol, b.origin, already_charged=codes, bands_min=bands)
    charged = set(codes) | ({start_code} if start_code and m.charge_stops else set())
    assert set(res.charged_codes) == charged
    check_against_brute(net, pol, res, charged)
    assert res.node_time_s[b.origin.node] == 0.0
    # Charging one more seat never shrinks the reach, and never makes a node later.
    wider = free_reach(net, pol, b.origin, already_charged=[*codes, f"C{more % m.n_labels}"], bands_min=bands)
    assert np.all(wider.node_time_s <= res.node_time_s)
    assert set(reach_pieces(res).tolist()) <= set(reach_pieces(wider).tolist())
    check_against_brute(net, pol, wider, charged | {f"C{more % m.n_labels}"})
    # One more exempt class never shrinks it either.
    more_exempt = pol.with_(exempt_classes=pol.exempt_classes | {"residential"})
    assert np.all(free_reach(net, more_exempt, b.origin, already_charged=codes, bands_min=bands).node_time_s <= res.node_time_s)


@given(drawn_maps(), st.integers(0, 9))
@settings(PROPS, max_examples=25)
def test_hard_avoid_is_never_reached(m: DrawnMap, seat: int) -> None:
    b = build(m)
    net = b.net
    code = f"C{seat % m.n_labels}"
    pol = m.policy().with_(overrides={**m.policy().overrides, code: AVOID})
    cell = net.cell_codes.index(code)
    if b.origin.cell == cell:
        with pytest.raises(InfeasibleError):
            free_reach(net, pol, b.origin, already_charged=[code])
        return
    # Even when listed as already charged, a hard-avoid seat's local roads stay closed.
    res = free_reach(net, pol, b.origin, already_charged=[code])
    exempt = pol.exempt_mask()
    for p in reach_pieces(res):
        assert not (net.pieces.cell[p] == cell and not exempt[net.piece_class[p]])
    check_against_brute(net, pol, res, set(res.charged_codes) - {code})


def test_reach_pieces_and_summary_agree(newport2024: Any, b2024: Any) -> None:
    net = newport2024
    start = resolve("Duffryn", net, b2024)
    res = free_reach(net, None, start, bands_min=(5, 10, 20))
    prev: set[int] = set()
    summary = reach_summary(net, res)
    for i, lim in enumerate(res.bands_s):
        now = set(reach_pieces(res, lim).tolist())
        assert prev <= now
        assert now == set(np.flatnonzero((res.piece_band >= 0) & (res.piece_band <= i)).tolist())
        km = float(net.pieces.length_m[list(now)].sum()) / 1000
        assert summary[i]["km"] == pytest.approx(km, abs=1e-3)
        assert summary[i]["km"] == pytest.approx(sum(s["local_km"] + s["exempt_km"] for s in summary[i]["seats"]) + summary[i]["outside_km"], abs=0.01)
        prev = now
    assert len(reach_pieces(res, 0.0)) == 0
    assert set(reach_pieces(res).tolist()) == prev


def test_newport_west_charged_never_reaches_newport_east(newport2024: Any, b2024: Any) -> None:
    net = newport2024
    west = seat_codes(net, ["Newport West and Islwyn"])[0]
    east = seat_codes(net, ["newport east"])[0]
    start = resolve("Duffryn", net, b2024)
    assert net.cell_codes[start.cell] == west
    res = free_reach(net, ExpensePolicy(), start, already_charged=[west])
    assert res.charged_codes == (west,)
    pol = ExpensePolicy()
    exempt = pol.exempt_mask()
    reached = reach_pieces(res)
    assert len(reached) > 100
    cells = net.pieces.cell[reached]
    local = ~exempt[net.piece_class[reached]]
    assert not np.any((cells == net.cell_codes.index(east)) & local), "a local road of Newport East is in the £0 reach"
    assert np.any(cells == net.cell_codes.index(west))
    # Every reached local road is in a seat charged or free today.
    assert {net.cell_codes[c] for c in cells[local & (cells >= 0)]} <= set(res.free_codes)
    # Charge Newport East too: its roads join the reach (and nothing is lost).
    both = free_reach(net, pol, start, already_charged=[west, east])
    assert np.any(net.pieces.cell[reach_pieces(both)] == net.cell_codes.index(east))
    assert set(reached.tolist()) <= set(reach_pieces(both).tolist())
    # Without stop charges and nothing charged, only exempt/outside road is free.
    bare = free_reach(net, pol.with_(charge_stops=False), start)
    assert bare.charged_codes == ()
    for p in reach_pieces(bare):
        assert net.pieces.cell[p] < 0 or exempt[net.piece_class[p]]
    # The GeoJSON layer: one LineString per reached piece, with its band.
    gj = reach_geojson(net, res)
    lines = [f for f in gj["features"] if f["geometry"]["type"] == "LineString"]
    assert len(lines) == int((res.piece_band >= 0).sum())
    assert all(f["properties"]["band"] == res.piece_band[f["properties"]["piece"]] for f in lines)
    assert json.loads(json.dumps(gj, allow_nan=False)) == gj


def test_errors(newport2024: Any) -> None:
    net = newport2024
    with pytest.raises(ConfigError, match="Nowhere"):
        free_reach(net, None, 0, already_charged=["Nowhere"])
    with pytest.raises(UsageError):
        free_reach(net, None, net.n_nodes)
    for bad in ((), (30, 15), (0,), (math.nan,), (1e9,), (True,)):
        with pytest.raises(UsageError):
            check_bands(bad)
    assert check_bands([15, 30.5]) == (15.0, 30.5)
    st0 = Stop("x", float(net.pieces.node_lat[0]), float(net.pieces.node_lon[0]), 0, 0.0, "node", 0, "inside")
    avoid = ExpensePolicy(overrides={net.cell_codes[0]: AVOID})
    with pytest.raises(InfeasibleError):
        free_reach(net, avoid, st0)


# -- the command ---------------------------------------------------------------------------------

def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from routeplan.cli import cli, main
    from routeplan.cli_reach import reach

    if "reach" not in cli.commands:
        cli.add_command(reach)
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


def test_reach_command(tmp_path: Path, newport2024: Any, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["reach", "--osm", "newport", "--from", "Duffryn", "-q"]
    code, out, err = run_cli([*base, "--charged", "Newport West and Islwyn", "--bands", "5,10", "--geojson", str(tmp_path / "r.geojson")], capsys)
    assert code == 0, err
    assert "within 5 min" in out and "within 10 min" in out and "Newport West and Islwyn" in out and "Wrote geojson" in out
    assert "Newport East (W07000104): " not in out.split("within 5 min")[1].split("Wrote")[0]
    gj = json.loads((tmp_path / "r.geojson").read_text(encoding="utf-8"))
    assert gj["type"] == "FeatureCollection" and gj["metadata"]["bands_minutes"] == [5.0, 10.0]
    code, out, err = run_cli([*base, "--json", "--minutes", "7"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert [b["minutes"] for b in data["bands"]] == [7.0]
    assert data["charged"] == ["W07000105"]
    for bad, want in (([*base, "--bands", "30,15"], 2), ([*base, "--bands", "x"], 2), ([*base, "--charged", "Atlantis"], 4),
                      ([*base, "--minutes", "nan"], 2), (["reach", "--osm", "newport", "--from", " "], 2)):
        code, out, err = run_cli(bad, capsys)
        assert code == want, (bad, err)
        assert err.startswith("routeplan:") and "Traceback" not in err


@pytest.mark.integration
def test_reach_and_tour_maps_draw_the_layer(tmp_path, capsys, cache_root):
    """`reach --map` writes an offline map with the band layer; tour maps carry a per-day £0-reach layer."""
    from datapaths import NEWPORT, REPO

    from routeplan.cli import main

    m = tmp_path / "reach.html"
    with pytest.raises(SystemExit) as exc:
        main(["reach", "--osm", str(NEWPORT), "--from", "Duffryn", "--minutes", "30", "--map", str(m), "-q"])
    assert exc.value.code == 0, capsys.readouterr().err
    page = m.read_text()
    assert "0 reach (drive-time bands)" in page and "within 15 min" in page and "OpenStreetMap" in page
    assert "https://unpkg" not in page and "cdn.jsdelivr" not in page
    t = tmp_path / "tour.html"
    with pytest.raises(SystemExit) as exc:
        main(["plan", str(REPO / "examples" / "newport-day.toml"), "--map", str(t), "-q"])
    assert exc.value.code == 0, capsys.readouterr().err
    tour = t.read_text()
    assert "0 reach from Stow Park" in tour and "0 reach from Community centre" in tour
