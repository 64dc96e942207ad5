"""The expense ledger: which constituency is charged, on which day, and why.

A pure function of a route's pieces, its stops and the policy, so any printed ledger can be
recomputed from the route alone (the tests do exactly that).  Rows follow the order in which
the route meets each constituency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from routeplan.errors import InfeasibleError
from routeplan.locate import Stop
from routeplan.network import Network
from routeplan.overlay import OUTSIDE, OUTSIDE_SNAPPED
from routeplan.policy import AVOID, ExpensePolicy


@dataclass(frozen=True)
class Charge:
    """One constituency on one day."""

    day: int
    code: str
    name: str
    pence: int
    reasons: tuple[str, ...]
    road_km: float  # non-exempt km driven inside it
    exempt_km: float  # exempt km (e.g. motorway) driven inside it, not charged


@dataclass(frozen=True)
class Ledger:
    """All constituencies a day's route touches; ``total_pence`` is what the route costs."""

    day: int
    rows: tuple[Charge, ...]
    uncharged_km: float = 0.0  # pieces outside every polygon beyond the snap distance
    notes: tuple[str, ...] = field(default=())

    @property
    def total_pence(self) -> int:
        return sum(r.pence for r in self.rows)

    @property
    def charged(self) -> tuple[Charge, ...]:
        return tuple(r for r in self.rows if r.pence > 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "total_pence": self.total_pence,
            "rows": [r.__dict__ | {"reasons": list(r.reasons)} for r in self.rows],
            "uncharged_km": self.uncharged_km,
            "notes": list(self.notes),
        }


def _km(m: float) -> str:
    return f"{m / 1000:.2f} km"


def build_ledger(
    net: Network,
    pieces: Sequence[int],
    stops: Sequence[Stop],
    policy: ExpensePolicy,
    *,
    day: int = 1,
    already_charged: Sequence[str] = (),
) -> Ledger:
    """Recompute the ledger of a route from its pieces (in driving order) and stops."""
    charges = policy.label_charges(net.cell_codes, net.cell_names, already_charged)
    exempt = policy.exempt_mask()
    pc = net.pieces
    order: list[int] = []
    stop_reasons: dict[int, list[str]] = {}
    road_m: dict[int, dict[str, float]] = {}
    exempt_m: dict[int, dict[str, float]] = {}
    snapped: set[int] = set()
    uncharged = 0.0

    def touch(c: int) -> None:
        if c not in road_m:
            road_m[c] = {}
            order.append(c)

    if policy.charge_stops:
        for i, st in enumerate(stops):
            if st.cell < 0:
                continue
            touch(st.cell)
            role = "origin" if i == 0 else "destination" if i == len(stops) - 1 else f"stop {i}"
            where = "" if st.cell_how == "inside" else " (outside every polygon; nearest constituency)"
            stop_reasons.setdefault(st.cell, []).append(f"stop: {role} {st.label}{where}")
    for p in pieces:
        c = int(pc.cell[p])
        length = float(pc.length_m[p])
        if c < 0:
            if pc.flag[p] == OUTSIDE:
                uncharged += length
            continue
        touch(c)
        cls = int(net.way_class[pc.way[p]])
        name = net.way_name[int(pc.way[p])]
        if exempt[cls]:
            ex = exempt_m.setdefault(c, {})
            ex[name] = ex.get(name, 0.0) + length
            continue
        road_m[c][name] = road_m[c].get(name, 0.0) + length
        if pc.flag[p] == OUTSIDE_SNAPPED:
            snapped.add(c)
    rows = []
    for c in order:
        roads = road_m[c]
        reasons = list(stop_reasons.get(c, []))
        for name, m in sorted(roads.items(), key=lambda kv: -kv[1]):
            reasons.append(f"road: {name} {_km(m)}")
        for name, m in sorted(exempt_m.get(c, {}).items(), key=lambda kv: -kv[1]):
            reasons.append(f"exempt road, not charged: {name} {_km(m)}")
        if c in snapped:
            reasons.append("includes road outside every polygon (bridge/coast), charged to the nearest constituency")
        used = bool(roads) or c in stop_reasons
        ch = int(charges[c])
        if ch == AVOID and used:
            msg = f"route enters hard-avoid constituency {net.cell_names[c]} ({net.cell_codes[c]})"
            raise InfeasibleError(msg)
        if not used:
            pence = 0
        elif ch == 0:
            why = "already charged today" if net.cell_codes[c] in already_charged else "charge override £0 (target or already paid)"
            if policy.day_rate_pence == 0:
                why = "day rate £0"
            reasons.append(f"not charged: {why}")
            pence = 0
        else:
            pence = ch
        rows.append(
            Charge(
                day=day,
                code=net.cell_codes[c],
                name=net.cell_names[c],
                pence=pence,
                reasons=tuple(reasons),
                road_km=round(sum(roads.values()) / 1000, 3),
                exempt_km=round(sum(exempt_m.get(c, {}).values()) / 1000, 3),
            )
        )
    notes = []
    if uncharged > 0:
        notes.append(
            f"the route drives {_km(uncharged)} on road outside every constituency of {net.meta.get('boundaries', 'the boundary set')} "
            "(farther than the snap distance from any polygon): not charged; check the boundary set covers the area"
        )
    return Ledger(day=day, rows=tuple(rows), uncharged_km=round(uncharged / 1000, 3), notes=tuple(notes))


def format_money(pence: int) -> str:
    """``£1,383.00``."""
    return f"£{pence / 100:,.2f}"


__all__ = ["Charge", "Ledger", "build_ledger", "format_money"]
