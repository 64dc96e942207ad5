"""The expense policy: what a constituency charges, which roads are exempt, what to avoid.

Policy is plain data applied *after* the geometry (:mod:`routeplan.overlay`): changing it never
rebuilds the graph.  Money is integer pence throughout, so totals are exact.
"""

from __future__ import annotations

import csv
import hashlib
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from routeplan.errors import ConfigError
from routeplan.vehicle import CLASS_CODES, CLASS_NAMES

DEFAULT_DAY_RATE_PENCE = 46100  # £461: the notional figure used by planners in 2017
AVOID = -1


@dataclass(frozen=True)
class ExpensePolicy:
    """How a day's travel is charged.

    ``overrides`` maps a constituency code *or name* to pence (``0`` = already paid or a target
    seat) or :data:`AVOID` (never enter: its roads are removed from every search).
    """

    day_rate_pence: int = DEFAULT_DAY_RATE_PENCE
    exempt_classes: frozenset[str] = frozenset({"motorway", "motorway_link"})
    overrides: Mapping[str, int] = field(default_factory=dict)
    charge_stops: bool = True
    value_of_time_pence_per_hour: int | None = None

    def __post_init__(self) -> None:
        if self.day_rate_pence < 0:
            msg = f"day rate must not be negative, got {self.day_rate_pence}"
            raise ConfigError(msg)
        unknown = set(self.exempt_classes) - set(CLASS_NAMES)
        if unknown:
            msg = f"unknown road classes in exempt list: {sorted(unknown)} (known: {', '.join(CLASS_NAMES)})"
            raise ConfigError(msg)
        for k, v in self.overrides.items():
            if v < AVOID:
                msg = f"bad charge override for {k!r}: {v}"
                raise ConfigError(msg)
        object.__setattr__(self, "exempt_classes", frozenset(self.exempt_classes))
        object.__setattr__(self, "overrides", dict(self.overrides))

    # -- building -------------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, base: ExpensePolicy | None = None) -> ExpensePolicy:
        """From a TOML ``[policy]`` table; unknown keys raise.

        Keys: ``day_rate`` (£), ``exempt`` (road classes), ``charge_stops``,
        ``value_of_time`` (£/hour), ``overrides`` (table name-or-code -> £ or "avoid"),
        ``overrides_file`` (CSV, see :func:`read_overrides`).
        """
        known = {"day_rate", "exempt", "charge_stops", "value_of_time", "overrides", "overrides_file"}
        unknown = set(data) - known
        if unknown:
            msg = f"unknown policy settings: {sorted(unknown)} (known: {sorted(known)})"
            raise ConfigError(msg)
        pol = base or cls()
        kw: dict[str, Any] = {}
        if "day_rate" in data:
            kw["day_rate_pence"] = pounds_to_pence(data["day_rate"], "day_rate")
        if "exempt" in data:
            kw["exempt_classes"] = frozenset(data["exempt"])
        if "charge_stops" in data:
            kw["charge_stops"] = bool(data["charge_stops"])
        if "value_of_time" in data:
            kw["value_of_time_pence_per_hour"] = pounds_to_pence(data["value_of_time"], "value_of_time")
        ov = dict(pol.overrides)
        if "overrides_file" in data:
            ov.update(read_overrides(data["overrides_file"]))
        for k, v in dict(data.get("overrides", {})).items():
            ov[str(k)] = parse_charge(v, str(k))
        kw["overrides"] = ov
        return replace(pol, **kw)

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> ExpensePolicy:
        """Read the ``[policy]`` table of a TOML file (relative ``overrides_file`` from its folder)."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            msg = f"cannot read policy file {path}: {exc}"
            raise ConfigError(msg) from exc
        table = dict(data.get("policy", {}))
        if "overrides_file" in table:
            table["overrides_file"] = str(path.parent / table["overrides_file"])
        return cls.from_mapping(table)

    def with_(self, **kw: Any) -> ExpensePolicy:
        return replace(self, **kw)

    # -- applying -------------------------------------------------------------------------
    def exempt_mask(self) -> npt.NDArray[np.bool_]:
        """Boolean per road-class code: is travel on this class exempt?"""
        mask = np.zeros(len(CLASS_NAMES), dtype=np.bool_)
        for c in self.exempt_classes:
            mask[CLASS_CODES[c]] = True
        return mask

    def label_charges(self, codes: Iterable[str], names: Iterable[str], already_charged: Iterable[str] = ()) -> npt.NDArray[np.int64]:
        """Charge per cell in pence (``0`` free, ``-1`` avoid) for a boundary set.

        Overrides are matched by code, then by case-insensitive name; an override naming no
        constituency of the set raises, since a typo must not silently charge a seat.
        """
        codes = list(codes)
        names = list(names)
        out = np.full(len(codes), self.day_rate_pence, dtype=np.int64)
        by_code = {c: i for i, c in enumerate(codes)}
        by_name = {n.lower(): i for i, n in enumerate(names)}
        for key, val in self.overrides.items():
            i = by_code.get(key, by_name.get(key.lower()))
            if i is None:
                msg = f"charge override names no constituency of this boundary set: {key!r}"
                raise ConfigError(msg)
            out[i] = val
        for code in already_charged:
            i = by_code.get(code)
            if i is None:
                msg = f"already-charged constituency not in this boundary set: {code!r}"
                raise ConfigError(msg)
            if out[i] != AVOID:
                out[i] = 0
        return out

    def describe(self) -> dict[str, Any]:
        """Plain data for outputs (JSON, map legend), with a short hash to tell policies apart."""
        d = {
            "day_rate_pence": self.day_rate_pence,
            "exempt_classes": sorted(self.exempt_classes),
            "overrides": dict(sorted(self.overrides.items())),
            "charge_stops": self.charge_stops,
            "value_of_time_pence_per_hour": self.value_of_time_pence_per_hour,
        }
        d["hash"] = hashlib.sha1(repr(d).encode()).hexdigest()[:10]
        return d


def pounds_to_pence(value: Any, what: str) -> int:
    try:
        pence = round(float(value) * 100)
    except (TypeError, ValueError) as exc:
        msg = f"{what} must be an amount in pounds, got {value!r}"
        raise ConfigError(msg) from exc
    if pence < 0:
        msg = f"{what} must not be negative, got {value!r}"
        raise ConfigError(msg)
    return pence


def parse_charge(value: Any, key: str) -> int:
    """An override value: pounds, or ``"avoid"``."""
    if isinstance(value, str) and value.strip().lower() == "avoid":
        return AVOID
    return pounds_to_pence(value, f"charge for {key!r}")


def read_overrides(path: str | os.PathLike[str]) -> dict[str, int]:
    """Read a CSV of overrides: columns ``constituency`` (code or name) and ``charge`` (£ or avoid)."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        msg = f"cannot read overrides file {path}: {exc}"
        raise ConfigError(msg) from exc
    if rows and not {"constituency", "charge"} <= set(rows[0]):
        msg = f"overrides file {path} needs columns 'constituency' and 'charge'"
        raise ConfigError(msg)
    return {r["constituency"].strip(): parse_charge(r["charge"], r["constituency"]) for r in rows}


__all__ = ["AVOID", "DEFAULT_DAY_RATE_PENCE", "ExpensePolicy", "parse_charge", "read_overrides"]
