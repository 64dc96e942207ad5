"""The £0 reach: which roads the coach can still drive today at no further charge.

A constituency is charged once a day.  Once a day has paid for some seats (the stops' own seats,
seats paid by earlier legs, seats given as already charged) and with the policy's free seats
(charge 0) and exempt road classes (motorways), the coach can drive on, at no extra cost, over
every edge whose label is -1 (exempt road, or road outside every constituency) or whose
constituency costs 0 under the policy with that charged set.  Hard-avoid seats are never entered
(their labelled edges cost :data:`~routeplan.policy.AVOID`, never 0), exactly as
:func:`routeplan.routing.plan_leg` treats them.

One Dijkstra from the start over those edges only (an allowed-edge mask on the compiled CSR
arrays; :func:`routeplan.kernels.dijkstra.dijkstra_all`) gives the drive time to every node.  A
road piece is *reached* when the coach can drive all of it: its time is the best over the
directions it may be driven of ``time(tail) + edge time``.  Pieces fall into bands (15, 30 and
60 minutes by default): the first band whose limit is at least the piece's time.

The start's own seat counts as charged when the policy charges stops (``charge_stops``), as in
:func:`~routeplan.routing.plan_leg`: the stop is there anyway.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from routeplan.errors import ConfigError, InfeasibleError, UsageError
from routeplan.kernels.dijkstra import dijkstra_all
from routeplan.locate import Stop
from routeplan.network import Compiled, Network
from routeplan.policy import AVOID, ExpensePolicy
from routeplan.vehicle import CLASS_NAMES

DEFAULT_BANDS_MIN: tuple[float, ...] = (15.0, 30.0, 60.0)
MAX_BAND_MIN = 24 * 60.0
_JSON_DP = 7


@dataclass(frozen=True)
class ReachResult:
    """Where the coach can drive at no further charge, and how soon.

    ``node_time_s``: drive time from the start to every node over free edges (``inf`` where it
    cannot get at £0).  ``piece_band``: per road piece, the index of the first band in
    ``bands_s`` whose limit covers ``piece_time_s`` (the time to have driven the whole piece),
    or -1 (not reachable at £0, or beyond the last band).  ``charged_codes``: the seats counted
    as charged today (given ones and the start's own); ``free_codes``: every seat that costs 0
    (charged ones and the policy's £0 overrides).
    """

    node_time_s: npt.NDArray[np.float64]
    piece_band: npt.NDArray[np.int16]
    bands_s: tuple[float, ...]
    charged_codes: tuple[str, ...]
    start: int
    piece_time_s: npt.NDArray[np.float64]
    free_codes: tuple[str, ...] = ()
    exempt_classes: frozenset[str] = frozenset()
    start_label: str = ""

    @property
    def max_s(self) -> float:
        return self.bands_s[-1]


def check_bands(bands_min: Iterable[float]) -> tuple[float, ...]:
    """Band limits in minutes: finite, > 0, at most a day, strictly increasing, at least one."""
    out: list[float] = []
    for b in bands_min:
        if isinstance(b, bool) or not isinstance(b, int | float):
            msg = f"reach bands must be numbers of minutes, got {b!r}"
            raise UsageError(msg)
        x = float(b)
        if not math.isfinite(x) or not 0 < x <= MAX_BAND_MIN:
            msg = f"reach band {b!r} must be a finite number of minutes > 0 and <= {MAX_BAND_MIN:g}"
            raise UsageError(msg)
        if out and x <= out[-1]:
            msg = f"reach bands must increase: {b!r} after {out[-1]:g}"
            raise UsageError(msg)
        out.append(x)
    if not out:
        msg = "give at least one reach band (minutes)"
        raise UsageError(msg)
    return tuple(out)


def seat_codes(net: Network, seats: Iterable[str]) -> tuple[str, ...]:
    """Constituency codes for codes or names (case-insensitive), in order, without repeats;
    one naming no seat of the network's boundary set is a :class:`ConfigError`."""
    by_code = set(net.cell_codes)
    by_name = {n.strip().casefold(): c for c, n in zip(net.cell_codes, net.cell_names, strict=True)}
    out: list[str] = []
    for s in seats:
        key = str(s).strip()
        if not key:
            msg = "empty constituency name in the charged list"
            raise UsageError(msg)
        code = key if key in by_code else by_name.get(key.casefold())
        if code is None:
            msg = f"charged constituency names no constituency of {net.meta.get('boundaries', 'this boundary set')}: {key!r}"
            raise ConfigError(msg)
        if code not in out:
            out.append(code)
    return tuple(out)


def free_edges(net: Network, policy: ExpensePolicy, charged: Sequence[str]) -> npt.NDArray[np.bool_]:
    """Allowed-edge mask over the compiled CSR positions: exempt/unlabelled edges, and edges in
    seats that cost 0 with ``charged`` (codes) charged already.  Hard-avoid edges are never free."""
    return _free_mask(net.compile(policy, tuple(charged)))


def _free_mask(comp: Compiled) -> npt.NDArray[np.bool_]:
    if comp.label_charge.size == 0:
        return np.asarray(comp.label < 0)
    free_cell = comp.label_charge == 0
    mask: npt.NDArray[np.bool_] = (comp.label < 0) | free_cell[np.maximum(comp.label, 0)]
    return mask


def free_reach(
    net: Network,
    policy: ExpensePolicy | None,
    start: Stop | int,
    *,
    already_charged: Iterable[str] = (),
    bands_min: Iterable[float] = DEFAULT_BANDS_MIN,
) -> ReachResult:
    """Roads reachable from ``start`` at no further charge today (see the module docstring).

    Parameters
    ----------
    policy
        Charging rules (default: £461, motorways exempt, stops charged).
    start
        A resolved stop (its seat counts as charged when the policy charges stops) or a node.
    already_charged
        Seats (codes or names) already charged today: earlier legs, other stops.
    bands_min
        Increasing band limits in minutes; the last one is the search limit.

    Raises
    ------
    UsageError
        Bad bands or a start node not on the network.
    ConfigError
        A charged seat that is not in the boundary set.
    InfeasibleError
        The start stands in a hard-avoid seat.
    """
    policy = policy or ExpensePolicy()
    bands = check_bands(bands_min)
    node = start.node if isinstance(start, Stop) else start
    if isinstance(node, bool) or not isinstance(node, int | np.integer) or not 0 <= int(node) < net.n_nodes:
        msg = f"reach start must be a node of the network (0 to {net.n_nodes - 1}), got {node!r}"
        raise UsageError(msg)
    node = int(node)
    charged = list(seat_codes(net, already_charged))
    label = start.label if isinstance(start, Stop) else f"node {node}"
    if isinstance(start, Stop) and start.cell >= 0:
        charges = policy.label_charges(net.cell_codes, net.cell_names, charged)
        if charges[start.cell] == AVOID:
            msg = f"reach start {start.label} lies in hard-avoid constituency {net.cell_names[start.cell]}"
            raise InfeasibleError(msg)
        code = net.cell_codes[start.cell]
        if policy.charge_stops and code not in charged:
            charged.append(code)
    comp = net.compile(policy, tuple(charged))
    allowed = _free_mask(comp)
    dist = np.asarray(dijkstra_all(comp.indptr, comp.heads, comp.time_s, allowed, node), dtype=np.float64)
    # A piece's time: the best over its allowed directions of time(tail) + its edge time.
    through = np.where(allowed, dist[comp.tails] + comp.time_s, np.inf)
    piece_t = np.full(net.pieces.a.shape[0], np.inf)
    np.minimum.at(piece_t, comp.piece, through)
    limits = np.asarray([60.0 * b for b in bands])
    band = np.searchsorted(limits, piece_t, side="left").astype(np.int16)
    band[band >= len(bands)] = -1
    free = tuple(c for c, ch in zip(net.cell_codes, comp.label_charge, strict=True) if ch == 0)
    return ReachResult(
        node_time_s=dist, piece_band=band, bands_s=tuple(float(x) for x in limits), charged_codes=tuple(charged),
        start=node, piece_time_s=piece_t, free_codes=free, exempt_classes=frozenset(policy.exempt_classes),
        start_label=label,
    )


def reach_pieces(result: ReachResult, max_s: float | None = None) -> npt.NDArray[np.int64]:
    """Road pieces the coach can drive whole at £0 within ``max_s`` seconds (default: the last
    band), in piece order."""
    limit = result.max_s if max_s is None else float(max_s)
    if math.isnan(limit):
        msg = "max_s must be a number of seconds"
        raise UsageError(msg)
    return np.flatnonzero(result.piece_time_s <= limit).astype(np.int64)


def reach_summary(net: Network, result: ReachResult) -> list[dict[str, Any]]:
    """Per band (cumulative: everything within its limit): road km reachable at £0 and, per
    constituency, the km of its local (non-exempt) and exempt road reached."""
    pc = net.pieces
    exempt = ExpensePolicy(exempt_classes=result.exempt_classes).exempt_mask()[net.piece_class]
    out: list[dict[str, Any]] = []
    for i, limit in enumerate(result.bands_s):
        sel = (result.piece_band >= 0) & (result.piece_band <= i)
        seats: dict[int, list[float]] = {}
        outside = 0.0
        for p in np.flatnonzero(sel):
            c = int(pc.cell[p])
            m = float(pc.length_m[p])
            if c < 0:
                outside += m
                continue
            s = seats.setdefault(c, [0.0, 0.0])
            s[1 if exempt[p] else 0] += m
        rows = [
            {"code": net.cell_codes[c], "name": net.cell_names[c], "local_km": round(v[0] / 1000, 3),
             "exempt_km": round(v[1] / 1000, 3), "charged": net.cell_codes[c] in result.charged_codes,
             "free": net.cell_codes[c] in result.free_codes}
            for c, v in sorted(seats.items(), key=lambda kv: -(kv[1][0] + kv[1][1]))
        ]
        out.append({
            "band": i, "minutes": round(limit / 60.0, 3), "pieces": int(sel.sum()),
            "km": round(float(pc.length_m[sel].sum()) / 1000, 3), "outside_km": round(outside / 1000, 3), "seats": rows,
        })
    return out


def reach_geojson(net: Network, result: ReachResult) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (lon/lat) a map layer can draw: every piece reached within the
    last band as a LineString (band index and minutes, time, road, class, constituency, exempt),
    and the start as a Point."""
    pc = net.pieces
    exempt = ExpensePolicy(exempt_classes=result.exempt_classes).exempt_mask()
    feats: list[dict[str, Any]] = []
    for p in (int(x) for x in np.flatnonzero(result.piece_band >= 0)):
        cell = int(pc.cell[p])
        cls = int(net.piece_class[p])
        band = int(result.piece_band[p])
        coords = [[round(float(lon), _JSON_DP), round(float(lat), _JSON_DP)] for lat, lon in net.piece_coords(p)]
        feats.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": coords}, "properties": {
            "layer": "reach", "piece": p, "band": band, "band_minutes": round(result.bands_s[band] / 60.0, 3),
            "time_s": round(float(result.piece_time_s[p]), 3), "road": net.way_name[int(pc.way[p])],
            "road_class": CLASS_NAMES[cls], "exempt": bool(exempt[cls]), "length_m": round(float(pc.length_m[p]), 2),
            "code": net.cell_codes[cell] if cell >= 0 else None, "constituency": net.cell_names[cell] if cell >= 0 else None,
        }})
    s = result.start
    feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [
        round(float(pc.node_lon[s]), _JSON_DP), round(float(pc.node_lat[s]), _JSON_DP)]},
        "properties": {"layer": "start", "label": result.start_label, "node": s}})
    generated = bool(net.meta.get("generated"))
    attribution = ["© OpenStreetMap contributors (ODbL)", str(net.meta.get("boundary_attribution", ""))]
    if generated:
        attribution.append("GENERATED synthetic network (not real roads) over real constituency polygons")
    return {
        "type": "FeatureCollection",
        "name": f"£0 reach from {result.start_label}",
        "metadata": {
            "start": result.start_label, "bands_minutes": [round(b / 60.0, 3) for b in result.bands_s],
            "charged": list(result.charged_codes), "free": list(result.free_codes), "exempt": sorted(result.exempt_classes),
            "generated": generated, "attribution": [a for a in attribution if a],
        },
        "features": feats,
    }


__all__ = ["DEFAULT_BANDS_MIN", "ReachResult", "check_bands", "free_edges", "free_reach", "reach_geojson", "reach_pieces",
           "reach_summary", "seat_codes"]
