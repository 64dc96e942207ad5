"""The expense policy: what a constituency charges, which roads are exempt, what to avoid.

Policy is plain data applied *after* the geometry (:mod:`routeplan.overlay`): changing it never
rebuilds the graph.  Money is integer pence throughout, so totals are exact.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from routeplan.errors import ConfigError
from routeplan.vehicle import CLASS_CODES, CLASS_NAMES

DEFAULT_DAY_RATE_PENCE = 46100  # £461: the notional figure used by planners in 2017
AVOID = -1
# Caps: anything larger is a typo (or 1e17), not a policy.  Charges and the day rate in pence,
# value of time in pence per hour.
MAX_CHARGE_PENCE = 10_000_000  # £100,000 per constituency per day
MAX_VALUE_OF_TIME_PENCE = 100_000_000  # £1,000,000 per hour (£278 a second: time already outweighs any charge)
_POLICY_KEYS = ("day_rate", "exempt", "charge_stops", "value_of_time", "overrides", "overrides_file")


@dataclass(frozen=True)
class Override:
    """One charge override and where it came from (``"seats.csv line 4"``, ``"--avoid"``)."""

    key: str  # constituency code or name, as written
    pence: int  # 0 or more, or AVOID
    where: str


@dataclass(frozen=True)
class ExpensePolicy:
    """How a day's travel is charged.

    ``overrides`` maps a constituency code *or name* to pence (``0`` = already paid or a target
    seat) or :data:`AVOID` (never enter: its roads are removed from every search).
    ``override_sources`` says where each override came from, for error messages; it does not
    change what the policy charges (not compared, not in :meth:`describe`).

    Conflicts are errors, never resolved by order: two overrides for one constituency with
    different charges -- the same key twice, or its code and its name (seen only in
    :meth:`label_charges`, once the boundary set is known) -- raise :class:`ConfigError`
    naming both and where each came from.  The same charge given twice is accepted.
    """

    day_rate_pence: int = DEFAULT_DAY_RATE_PENCE
    exempt_classes: frozenset[str] = frozenset({"motorway", "motorway_link"})
    overrides: Mapping[str, int] = field(default_factory=dict)
    charge_stops: bool = True
    value_of_time_pence_per_hour: int | None = None
    override_sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        _check_pence(self.day_rate_pence, "day_rate_pence", MAX_CHARGE_PENCE)
        if self.value_of_time_pence_per_hour is not None:
            _check_pence(self.value_of_time_pence_per_hour, "value_of_time_pence_per_hour", MAX_VALUE_OF_TIME_PENCE)
        if not isinstance(self.charge_stops, bool):
            msg = f"charge_stops must be true or false, got {self.charge_stops!r}"
            raise ConfigError(msg)
        if isinstance(self.exempt_classes, str) or not all(isinstance(c, str) for c in self.exempt_classes):
            msg = f"exempt road classes must be a list of names, got {self.exempt_classes!r}"
            raise ConfigError(msg)
        unknown = set(self.exempt_classes) - set(CLASS_NAMES)
        if unknown:
            msg = f"unknown road classes in exempt list: {sorted(unknown)} (known: {', '.join(CLASS_NAMES)})"
            raise ConfigError(msg)
        for k, v in self.overrides.items():
            if not isinstance(k, str) or not k.strip():
                msg = f"charge override with an empty constituency: {k!r}"
                raise ConfigError(msg)
            if v != AVOID:
                _check_pence(v, f"charge override for {k!r}", MAX_CHARGE_PENCE)
        object.__setattr__(self, "exempt_classes", frozenset(self.exempt_classes))
        object.__setattr__(self, "overrides", dict(self.overrides))
        object.__setattr__(self, "override_sources", {k: str(self.override_sources[k]) for k in self.overrides if k in self.override_sources})

    # -- building -------------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, base: ExpensePolicy | None = None, source: str | None = None) -> ExpensePolicy:
        """From a TOML ``[policy]`` table; unknown keys and wrong types raise.

        Keys: ``day_rate`` (£), ``exempt`` (list of road classes), ``charge_stops`` (bool),
        ``value_of_time`` (£/hour), ``overrides`` (table name-or-code -> £ or "avoid"),
        ``overrides_file`` (CSV, see :func:`read_overrides`).  ``source`` names the file in
        messages.  Overrides are merged with ``base``'s; a conflicting charge raises.
        """
        pre = f"policy file {source}: " if source else ""
        unknown = set(data) - set(_POLICY_KEYS)
        if unknown:
            msg = f"{pre}unknown policy settings: {sorted(unknown)} (known: {sorted(_POLICY_KEYS)})"
            raise ConfigError(msg)
        pol = base or cls()
        kw: dict[str, Any] = {}
        try:
            if "day_rate" in data:
                kw["day_rate_pence"] = pounds_to_pence(data["day_rate"], "day_rate", strict=True)
            if "exempt" in data:
                ex = data["exempt"]
                if not isinstance(ex, list) or not all(isinstance(c, str) for c in ex):
                    msg = f"exempt must be a list of road class names, got {ex!r}"
                    raise ConfigError(msg)
                kw["exempt_classes"] = frozenset(ex)
            if "charge_stops" in data:
                if not isinstance(data["charge_stops"], bool):
                    msg = f"charge_stops must be true or false, got {data['charge_stops']!r}"
                    raise ConfigError(msg)
                kw["charge_stops"] = data["charge_stops"]
            if "value_of_time" in data:
                kw["value_of_time_pence_per_hour"] = pounds_to_pence(data["value_of_time"], "value_of_time", MAX_VALUE_OF_TIME_PENCE, strict=True)
            records = list(pol.override_records())
            if "overrides_file" in data:
                f = data["overrides_file"]
                if not isinstance(f, (str, os.PathLike)):
                    msg = f"overrides_file must be a file name, got {f!r}"
                    raise ConfigError(msg)
                records += read_override_records(f)
            if "overrides" in data:
                table = data["overrides"]
                if not isinstance(table, Mapping):
                    msg = f"overrides must be a table of constituency = £ or \"avoid\", got {table!r}"
                    raise ConfigError(msg)
                where = f"{source} [policy.overrides]" if source else "[policy.overrides]"
                for k, v in table.items():
                    records.append(Override(str(k).strip(), parse_charge(v, str(k), strict=True), where))
            ov, src = merge_overrides(records)
        except ConfigError as exc:
            raise ConfigError(f"{pre}{exc}") from exc
        return replace(pol, overrides=ov, override_sources=src, **kw)

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> ExpensePolicy:
        """Read a TOML file holding one ``[policy]`` table (relative ``overrides_file`` from its
        folder).  Anything else in the file is an error naming it."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            msg = f"cannot read policy file {path}: {reason}".splitlines()[0]
            raise ConfigError(msg) from exc
        other = sorted(set(data) - {"policy"})
        if other:
            hint = " (put policy settings under a [policy] table)" if set(other) & set(_POLICY_KEYS) else ""
            msg = f"policy file {path}: unknown keys or tables outside [policy]: {other}{hint}"
            raise ConfigError(msg)
        table = data.get("policy", {})
        if not isinstance(table, dict):
            msg = f"policy file {path}: 'policy' must be a table, got {table!r}"
            raise ConfigError(msg)
        table = dict(table)
        if isinstance(table.get("overrides_file"), str):
            table["overrides_file"] = str(path.parent / table["overrides_file"])
        return cls.from_mapping(table, source=str(path))

    def with_(self, **kw: Any) -> ExpensePolicy:
        return replace(self, **kw)

    def override_records(self) -> tuple[Override, ...]:
        """The overrides with where each came from (``"overrides"`` when not known)."""
        return tuple(Override(k, v, self.override_sources.get(k, "overrides")) for k, v in self.overrides.items())

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
        constituency of the set raises, since a typo must not silently charge a seat.  Two
        overrides reaching one constituency (its code and its name) with different charges
        raise, naming both and where each came from.
        """
        codes = list(codes)
        names = list(names)
        out = np.full(len(codes), self.day_rate_pence, dtype=np.int64)
        by_code = {c: i for i, c in enumerate(codes)}
        by_name: dict[str, int] | None = None  # built only when an override is not a code (1 ms on 650 seats, every leg)
        seen: dict[int, Override] = {}
        for rec in self.override_records():
            i = by_code.get(rec.key)
            if i is None:
                if by_name is None:
                    by_name = {n.strip().casefold(): j for j, n in enumerate(names)}
                i = by_name.get(rec.key.strip().casefold())
            if i is None:
                msg = f"charge override names no constituency of this boundary set: {rec.key!r} ({rec.where})"
                raise ConfigError(msg)
            first = seen.get(i)
            if first is not None and first.pence != rec.pence:
                msg = (
                    f"conflicting charges for {names[i]} ({codes[i]}): "
                    f"{first.key!r} = {_show(first.pence)} ({first.where}) and {rec.key!r} = {_show(rec.pence)} ({rec.where})"
                )
                raise ConfigError(msg)
            seen[i] = rec
            out[i] = rec.pence
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


def build_policy(
    policy_file: str | os.PathLike[str] | None = None,
    *,
    day_rate: float | None = None,
    exempt: Sequence[str] | None = None,
    value_of_time: float | None = None,
    charge_stops: bool | None = None,
    overrides_file: str | os.PathLike[str] | None = None,
    avoid: Sequence[str] = (),
    free: Sequence[str] = (),
    names: Mapping[str, str] | None = None,
) -> ExpensePolicy:
    """The policy from an optional TOML file and explicit values (the CLI's options).

    Explicit ``day_rate``, ``exempt``, ``value_of_time`` and ``charge_stops`` replace the
    file's.  Overrides are *merged* from every source -- the file's ``[policy.overrides]``
    and ``overrides_file``, ``overrides_file`` here, ``avoid`` (:data:`AVOID`) and ``free``
    (£0) -- and any two that give one constituency different charges raise, naming both
    sources.  ``exempt`` may be a comma-separated string; ``["none"]`` means no exempt roads.
    A string ``avoid``/``free`` is one constituency (names may contain commas).  ``names``
    maps argument names to what the caller calls them in messages (default: the names).
    """
    label = dict(names or {})

    def lab(k: str) -> str:
        return label.get(k, k)

    pol = ExpensePolicy.from_toml(policy_file) if policy_file is not None else ExpensePolicy()
    kw: dict[str, Any] = {}
    if day_rate is not None:
        kw["day_rate_pence"] = pounds_to_pence(day_rate, lab("day_rate"), strict=True)
    if value_of_time is not None:
        kw["value_of_time_pence_per_hour"] = pounds_to_pence(value_of_time, lab("value_of_time"), MAX_VALUE_OF_TIME_PENCE, strict=True)
    if charge_stops is not None:
        if not isinstance(charge_stops, bool):
            msg = f"{lab('charge_stops')} must be true or false, got {charge_stops!r}"
            raise ConfigError(msg)
        kw["charge_stops"] = charge_stops
    if exempt is not None:
        items = exempt.split(",") if isinstance(exempt, str) else list(exempt)
        if not all(isinstance(c, str) for c in items):
            msg = f"{lab('exempt')} must be road class names, got {exempt!r}"
            raise ConfigError(msg)
        classes = [c.strip() for c in items if c.strip()]
        if classes == ["none"]:
            classes = []
        unknown = sorted(set(classes) - set(CLASS_NAMES))
        if unknown:
            msg = f"{lab('exempt')}: unknown road classes {unknown} (known: {', '.join(CLASS_NAMES)})"
            raise ConfigError(msg)
        kw["exempt_classes"] = frozenset(classes)
    records = list(pol.override_records())
    if overrides_file is not None:
        records += read_override_records(overrides_file)
    for arg, values, pence in (("avoid", avoid, AVOID), ("free", free, 0)):
        for k in [values] if isinstance(values, str) else values:
            if not isinstance(k, str) or not k.strip():
                msg = f"{lab(arg)}: empty constituency name {k!r}"
                raise ConfigError(msg)
            records.append(Override(k.strip(), pence, lab(arg)))
    ov, src = merge_overrides(records)
    return replace(pol, overrides=ov, override_sources=src, **kw)


def merge_overrides(records: Iterable[Override]) -> tuple[dict[str, int], dict[str, str]]:
    """Merge override records into ``(key -> pence, key -> where)``.

    Keys match case-insensitively (the first spelling is kept).  The same key with different
    charges raises :class:`ConfigError` naming both sources; the same charge twice is fine.
    Code-versus-name conflicts need the boundary set: :meth:`ExpensePolicy.label_charges`.
    """
    first: dict[str, Override] = {}
    for rec in records:
        norm = rec.key.strip().casefold()
        prev = first.get(norm)
        if prev is None:
            first[norm] = rec
        elif prev.pence != rec.pence:
            if prev.key == rec.key:
                msg = f"conflicting charges for {rec.key!r}: {_show(prev.pence)} ({prev.where}) and {_show(rec.pence)} ({rec.where})"
            else:
                msg = f"conflicting charges: {prev.key!r} = {_show(prev.pence)} ({prev.where}) and {rec.key!r} = {_show(rec.pence)} ({rec.where})"
            raise ConfigError(msg)
    return {r.key: r.pence for r in first.values()}, {r.key: r.where for r in first.values()}


def _show(pence: int) -> str:
    return "avoid" if pence == AVOID else f"£{pence / 100:,.2f}"


def _check_pence(value: object, what: str, cap: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        msg = f"{what} must be a whole number of pence, got {value!r}"
        raise ConfigError(msg)
    if not 0 <= value <= cap:
        msg = f"{what} must be between 0 and {cap} pence, got {value!r}"
        raise ConfigError(msg)
    return int(value)


def pounds_to_pence(value: Any, what: str, cap_pence: int = MAX_CHARGE_PENCE, *, strict: bool = False) -> int:
    """An amount in pounds as integer pence: a finite real number (not a bool), ``0`` to
    ``cap_pence``.  Strings (CSV cells, ``"£461"``, ``"1,000"``) are parsed unless ``strict``
    (TOML values and arguments must be numbers)."""
    cap = f"£{cap_pence / 100:,.0f}"
    bad = f"{what} must be an amount in pounds (0 to {cap}), got {value!r}"
    if isinstance(value, bool):
        raise ConfigError(bad)
    if isinstance(value, str) and not strict:
        text = value.strip().replace(",", "").removeprefix("£").strip()
        try:
            num = float(text)
        except ValueError as exc:
            raise ConfigError(bad) from exc
    elif isinstance(value, (int, float, np.integer, np.floating)):
        num = float(value)
    else:
        raise ConfigError(bad)
    if not math.isfinite(num):
        raise ConfigError(bad)
    if num < 0:
        msg = f"{what} must not be negative, got {value!r}"
        raise ConfigError(msg)
    if num * 100 > cap_pence:
        msg = f"{what} must be at most {cap}, got {value!r}"
        raise ConfigError(msg)
    return round(num * 100)


def parse_charge(value: Any, key: str, *, strict: bool = False) -> int:
    """An override value: pounds, or ``"avoid"`` (any case)."""
    if isinstance(value, str) and value.strip().lower() == "avoid":
        return AVOID
    return pounds_to_pence(value, f"charge for {key!r}", strict=strict)


def _decode_csv(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        msg = f"cannot read overrides file {path}: {exc.strerror or exc}"
        raise ConfigError(msg) from exc
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"  # Excel's "Unicode text"; the BOM gives the byte order
    elif raw.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"  # Excel's "CSV UTF-8"
    else:
        encoding = "utf-8"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        msg = f"overrides file {path} is not UTF-8 or UTF-16 text (byte {exc.start}); save it as 'CSV UTF-8'"
        raise ConfigError(msg) from exc


def read_override_records(path: str | os.PathLike[str]) -> list[Override]:
    """Read a CSV of overrides, each with ``"<file> line <n>"`` as where it came from.

    Columns ``constituency`` (code or name) and ``charge`` (£ or ``avoid``), matched
    case-insensitively; extra columns are ignored; blank rows are skipped.  UTF-8 (with or
    without a BOM) and UTF-16 with a BOM are read; a header with tabs and no commas is read as
    tab-separated (Excel's "Unicode text").  Every row error names file and line.
    """
    path = Path(path)
    text = _decode_csv(path)
    dialect: type[csv.Dialect] = csv.excel_tab if "\t" in text.split("\n", 1)[0] and "," not in text.split("\n", 1)[0] else csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    header = next(reader, None)
    cols = [h.strip().casefold() for h in header] if header else []
    if "constituency" not in cols or "charge" not in cols:
        msg = f"overrides file {path} needs columns 'constituency' and 'charge' (header: {header!r})"
        raise ConfigError(msg)
    ci, vi = cols.index("constituency"), cols.index("charge")
    out: list[Override] = []
    for row in reader:
        line = reader.line_num
        if not any(c.strip() for c in row):
            continue
        where = f"{path} line {line}"
        key = row[ci].strip() if ci < len(row) else ""
        val = row[vi].strip() if vi < len(row) else ""
        if not key:
            msg = f"{where}: empty constituency"
            raise ConfigError(msg)
        if not val:
            msg = f"{where}: no charge for {key!r} (an amount in pounds or 'avoid')"
            raise ConfigError(msg)
        try:
            pence = parse_charge(val, key)
        except ConfigError as exc:
            msg = f"{where}: charge {val!r} for {key!r} is not an amount in pounds (0 to £{MAX_CHARGE_PENCE / 100:,.0f}) or 'avoid'"
            raise ConfigError(msg) from exc
        out.append(Override(key, pence, where))
    return out


def read_overrides(path: str | os.PathLike[str]) -> dict[str, int]:
    """Read a CSV of overrides (see :func:`read_override_records`) as ``key -> pence``;
    duplicate rows with different charges raise, naming both lines."""
    return merge_overrides(read_override_records(path))[0]


__all__ = [
    "AVOID",
    "DEFAULT_DAY_RATE_PENCE",
    "MAX_CHARGE_PENCE",
    "MAX_VALUE_OF_TIME_PENCE",
    "ExpensePolicy",
    "Override",
    "build_policy",
    "merge_overrides",
    "parse_charge",
    "pounds_to_pence",
    "read_override_records",
    "read_overrides",
]
