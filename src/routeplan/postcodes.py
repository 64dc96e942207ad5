"""Offline GB postcodes: ``"NP20 1HG"`` -> a point, from OS Code-Point Open.

Code-Point Open gives the centroid of every postcode unit in British National Grid metres, as
one CSV per postcode area (``np.csv``, no header; the column names are in ``header.csv``) under
``<data-dir>/postcodes/``.  Each area is indexed once: its postcodes, without the space, as a
sorted fixed-width byte array beside their positions, cached through :mod:`routeplan.cache`
keyed on the CSV's sha256, so a look-up is a binary search (:meth:`AreaIndex.find`).

* A full unit postcode in any spacing or case (``np201hg``, ``NP20 1HG``) is a point.
* An outward code alone (``NP20``, a *district*) is the centroid of its units, flagged
  (:attr:`PostcodePoint.district`) and with a warning: a district spans kilometres.
* A malformed or unknown postcode is a :class:`~routeplan.errors.LocateError` listing the nearest
  valid spellings (same length with one or two characters changed, ``O``/``0`` and ``I``/``1``
  first; one character more or fewer), same outward code first.
* A missing area file is a :class:`~routeplan.errors.DataError` that names the file and how to
  get it (:func:`fetch_postcodes`, ``routeplan data fetch --postcodes AREA``).

The source, licence (OGL v3) and attribution are in the packaged ``data/postcodes.toml``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import math
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from routeplan import cache as rcache
from routeplan import settings
from routeplan.boundaries import from_bng, sha256_file
from routeplan.errors import DataError, LocateError

log = logging.getLogger(__name__)

MANIFEST = Path(__file__).resolve().parent / "data" / "postcodes.toml"
CACHE_KIND = "postcodes"
FORMAT_VERSION = 1
_CODE = hashlib.sha1(Path(__file__).read_bytes()).hexdigest()
WIDTH = 7  # the longest postcode without its space: "SW1A1AA", "NP201HG"
NO_POSITION_QUALITY = 90  # Code-Point Open: "no coordinates available"
_N_SUGGEST = 5
# A full unit postcode (outward code, inward code), compact and upper case.  The outward code is
# area letters, then one or two digits or a digit and a letter (W1A, EC1A, SW1A); the inward
# code's letters never include C, I, K, M, O or V (Royal Mail), so "NP2O 1HG" is malformed.
_OUT = r"[A-Z]{1,2}(?:[0-9]{1,2}|[0-9][ABEHJKMNPRSTUVWXY])"
_UNIT = re.compile(rf"^({_OUT})([0-9][ABD-HJLNP-UW-Z]{{2}})$")
_OUTWARD = re.compile(rf"^({_OUT})$")
_AREA = re.compile(r"^[A-Z]{1,2}")
# Characters people (and OCR) confuse: a change between them costs half.
_CONFUSABLE = {frozenset(p) for p in ("O0", "I1", "L1", "S5", "Z2", "B8", "G6", "Q0", "D0")}
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_STAGE = Callable[[int, int | None], None]


@cache
def manifest() -> dict[str, Any]:
    """The packaged description of the source: ``{"source": {...}, "sha256": {file: hex}}``."""
    with MANIFEST.open("rb") as fh:
        return dict(tomllib.load(fh))


def areas() -> frozenset[str]:
    """The GB postcode areas (``NP``, ``M`` ...)."""
    return frozenset(manifest()["source"]["areas"])


def attribution() -> str:
    """The attribution Code-Point Open's licence (OGL v3) asks for."""
    return str(manifest()["source"]["attribution"])


# -- spelling -------------------------------------------------------------------------------------
def compact(text: str) -> str:
    """``" np20  1hg "`` -> ``"NP201HG"``: upper case, every space removed."""
    return "".join(text.split()).upper()


def format_postcode(code: str) -> str:
    """``"NP201HG"`` -> ``"NP20 1HG"`` (an outward code alone is returned as it is)."""
    c = compact(code)
    return f"{c[:-3]} {c[-3:]}" if _UNIT.match(c) else c


def parse_unit(text: str) -> tuple[str, str] | None:
    """``(outward, inward)`` when ``text`` is written like a full unit postcode, else None."""
    m = _UNIT.match(compact(text))
    return (m.group(1), m.group(2)) if m else None


def parse_outward(text: str) -> str | None:
    """The outward code (``"NP20"``) when ``text`` is one in a known GB area, else None."""
    c = compact(text)
    return c if _OUTWARD.match(c) and area_of(c) in areas() else None


def area_of(text: str) -> str:
    """The area letters a postcode starts with (``"NP"``, ``"M"``), ``""`` if none."""
    m = _AREA.match(compact(text))
    return m.group(0) if m else ""


def looks_like_postcode(text: str) -> bool:
    """Text a planner most likely meant as a postcode, well formed or not (``"NP2O 1HG"``,
    ``"12345"``): one or two letter-and-digit tokens, 5 to 8 characters, at most two letters
    before the first digit.  Place names (``"Tesco 24"``) do not look like this."""
    tokens = text.split()
    c = compact(text)
    return (
        0 < len(tokens) <= 2
        and all(t.isascii() and t.isalnum() for t in tokens)
        and 5 <= len(c) <= 8
        and re.match(r"^[A-Z]{0,2}[0-9]", c) is not None
    )


# -- the index -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PostcodePoint:
    """Where a postcode is: a unit's centroid, or (``district``) the centroid of a district's units."""

    postcode: str  # as shown: "NP20 1HG", or "NP20" for a district
    lat: float
    lon: float
    easting: float
    northing: float
    quality: int  # Code-Point Open positional quality (10 best); for a district the worst of its units
    district: bool = False
    units: int = 1  # units averaged (districts)
    spread_m: float = 0.0  # farthest unit from the district centroid
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class AreaIndex:
    """One area's postcodes, sorted, with their positions: a look-up is a binary search."""

    area: str
    source: str  # the CSV file
    sha256: str
    codes: npt.NDArray[np.bytes_]  # "NP201HG" as S7, sorted
    easting: npt.NDArray[np.int32]
    northing: npt.NDArray[np.int32]
    quality: npt.NDArray[np.int16]
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    def find(self, code: str) -> int | None:
        """Row of a compact postcode (``"NP201HG"``), or None."""
        key = compact(code).encode("ascii", "replace")
        if len(key) > WIDTH:
            return None
        i = int(np.searchsorted(self.codes, key))
        return i if i < len(self) and self.codes[i] == key else None

    def code(self, row: int) -> str:
        return bytes(self.codes[row]).decode("ascii")

    def district_rows(self, outward: str) -> npt.NDArray[np.int64]:
        """Rows of every unit of an outward code (``NP20`` has NP20 1AA ..., not NP2x)."""
        out = compact(outward).encode("ascii", "replace")
        lo = int(np.searchsorted(self.codes, out, side="left"))
        hi = int(np.searchsorted(self.codes, out + b"\xff", side="left"))
        rows = np.arange(lo, hi, dtype=np.int64)
        keep: npt.NDArray[np.bool_] = self.lengths[lo:hi] == len(out) + 3
        return rows[keep]

    @cached_property
    def lengths(self) -> npt.NDArray[np.int64]:
        return np.char.str_len(self.codes).astype(np.int64)

    @cached_property
    def districts(self) -> tuple[str, ...]:
        """Every outward code of the area, sorted."""
        return tuple(sorted({c[:-3] for c in (bytes(x).decode("ascii") for x in self.codes)}))

    @cached_property
    def _matrix(self) -> npt.NDArray[np.uint8]:
        return np.frombuffer(self.codes.tobytes(), dtype=np.uint8).reshape(len(self), WIDTH)


def _data_folder(data_dir: str | os.PathLike[str] | None) -> Path:
    return settings.data_dir(data_dir) / "postcodes"


def missing_message(area: str, path: Path) -> str:
    """What a planner reads when an area's file is not there: which file, and how to get it."""
    src = manifest()["source"]
    return (
        f"postcode area {area} not available: {path} is missing; fetch it with "
        f"`routeplan data fetch --postcodes {area}` (OS Code-Point Open, {src['licence']}: {src['download_url']}, "
        f"unzip Data/CSV/{area.lower()}.csv into {path.parent})"
    )


def _columns(folder: Path) -> tuple[int, int, int, int]:
    """Positions of Postcode, Positional_quality_indicator, Eastings, Northings."""
    names = list(manifest()["source"]["columns"])
    header = folder / manifest()["source"]["header_file"]
    if header.is_file():
        try:
            row = next(csv.reader(io.StringIO(header.read_text(encoding="utf-8-sig"))), [])
        except (OSError, UnicodeDecodeError) as exc:
            msg = f"cannot read postcode header {header}: {exc}"
            raise DataError(msg) from exc
        names = [c.strip() for c in row]
    want = ("Postcode", "Positional_quality_indicator", "Eastings", "Northings")
    lower = [n.lower() for n in names]
    missing = [w for w in want if w.lower() not in lower]
    if missing:
        msg = f"postcode header {header} has no column {', '.join(missing)} (columns: {', '.join(names)})"
        raise DataError(msg)
    pc, q, e, n = (lower.index(w.lower()) for w in want)
    return pc, q, e, n


_MEMO: dict[tuple[str, int, int], AreaIndex] = {}


def load_area(area: str, *, data_dir: str | os.PathLike[str] | None = None, cache_dir: str | os.PathLike[str] | None = None,
              cache: bool = True) -> AreaIndex:
    """The index of one area (``"NP"``), built from ``<data-dir>/postcodes/np.csv`` once.

    Kept in memory for the process (keyed on the file's path, size and time) and on disk in the
    cache (keyed on its sha256, the columns and this module's code).

    Raises
    ------
    DataError
        The file is missing (the message says how to fetch it), unreadable or has a bad row.
    LocateError
        ``area`` is not a GB postcode area.
    """
    area = area.upper()
    if area not in areas():
        msg = f"{area!r} is not a GB postcode area"
        raise LocateError(msg)
    folder = _data_folder(data_dir)
    path = folder / f"{area.lower()}.csv"
    try:
        st = path.stat()
    except OSError as exc:
        raise DataError(missing_message(area, path)) from exc
    memo_key = (str(path), st.st_mtime_ns, st.st_size)
    hit = _MEMO.get(memo_key)
    if hit is not None:
        return hit
    try:
        digest = sha256_file(path)
    except OSError as exc:
        msg = f"cannot read postcode file {path}: {exc.strerror or exc}"
        raise DataError(msg) from exc
    cols = _columns(folder)
    key = rcache.make_key(CACHE_KIND, f"v{FORMAT_VERSION}", _CODE, digest, area, ",".join(map(str, cols)))
    index = _load_cached(key, area, path, digest, cache_dir) if cache else None
    if index is None:
        index = _build(area, path, digest, cols)
        if cache:
            _save_cached(key, index, cache_dir)
    _MEMO[memo_key] = index
    return index


def _cache_path(key: str, cache_dir: str | os.PathLike[str] | None) -> Path:
    if CACHE_KIND in rcache.KINDS:
        return rcache.path_for(CACHE_KIND, key, cache_dir)
    return settings.cache_dir(cache_dir) / f"{CACHE_KIND}-{key}.{rcache.EXT}"


def _load_cached(key: str, area: str, path: Path, digest: str, cache_dir: str | os.PathLike[str] | None) -> AreaIndex | None:
    entry = _cache_path(key, cache_dir)
    if not entry.exists():
        return None
    try:
        z = rcache.read_npz(entry)
        index = AreaIndex(area, str(path), digest, z["codes"].astype(f"S{WIDTH}"), z["easting"].astype(np.int32),
                          z["northing"].astype(np.int32), z["quality"].astype(np.int16), z["lat"].astype(np.float64),
                          z["lon"].astype(np.float64))
        n = len(index)
        if not all(a.shape == (n,) for a in (index.easting, index.northing, index.quality, index.lat, index.lon)):
            msg = "array lengths differ"
            raise ValueError(msg)
    except (DataError, KeyError, ValueError) as exc:
        log.warning("ignoring unusable postcode cache entry (it will be rebuilt): %s", exc)
        return None
    log.debug("postcode area %s from cache %s", area, entry)
    return index


def _save_cached(key: str, index: AreaIndex, cache_dir: str | os.PathLike[str] | None) -> None:
    arrays = {"codes": index.codes, "easting": index.easting, "northing": index.northing, "quality": index.quality,
              "lat": index.lat, "lon": index.lon}
    try:
        rcache.write_npz(_cache_path(key, cache_dir), arrays)
    except OSError as exc:  # a read-only cache must not stop a look-up
        log.warning("cannot store the postcode index in the cache: %s", exc)


def _build(area: str, path: Path, digest: str, cols: tuple[int, int, int, int]) -> AreaIndex:
    pc_i, q_i, e_i, n_i = cols
    codes: list[bytes] = []
    east: list[int] = []
    north: list[int] = []
    qual: list[int] = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for line_no, row in enumerate(csv.reader(fh), 1):
                if not row or not any(c.strip() for c in row):
                    continue
                try:
                    code = compact(row[pc_i])
                    if not code or len(code) > WIDTH or not code.isascii():
                        raise ValueError(f"bad postcode {row[pc_i]!r}")
                    codes.append(code.encode("ascii"))
                    qual.append(int(row[q_i]))
                    east.append(int(float(row[e_i])))
                    north.append(int(float(row[n_i])))
                except (IndexError, ValueError) as exc:
                    msg = f"postcode file {path} line {line_no}: not a Code-Point Open row ({exc})"
                    raise DataError(msg) from exc
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        msg = f"cannot read postcode file {path}: {exc}"
        raise DataError(msg) from exc
    if not codes:
        msg = f"postcode file {path} has no rows"
        raise DataError(msg)
    arr = np.array(codes, dtype=f"S{WIDTH}")
    order = np.argsort(arr, kind="stable")
    arr = arr[order]
    e = np.asarray(east, dtype=np.int32)[order]
    n = np.asarray(north, dtype=np.int32)[order]
    q = np.asarray(qual, dtype=np.int16)[order]
    lon, lat = from_bng(e.astype(np.float64), n.astype(np.float64))
    none = (q >= NO_POSITION_QUALITY) | ((e == 0) & (n == 0))
    lat, lon = np.where(none, np.nan, lat), np.where(none, np.nan, lon)
    log.info("indexed postcode area %s: %d units from %s", area, arr.shape[0], path.name)
    return AreaIndex(area, str(path), digest, arr, e, n, q, np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64))


# -- look-ups ------------------------------------------------------------------------------------
def lookup(text: str, *, data_dir: str | os.PathLike[str] | None = None, cache_dir: str | os.PathLike[str] | None = None,
           cache: bool = True) -> PostcodePoint:
    """A unit postcode's centroid, or an outward code's (``district=True``, with a warning).

    Raises
    ------
    LocateError
        Malformed or unknown postcode or district, with the nearest valid spellings; a unit
        Code-Point Open gives no position for.
    DataError
        The area's file is missing (the message says how to fetch it) or unreadable.
    """
    c = compact(text)
    unit = parse_unit(c)
    if unit is None and parse_outward(c) is not None:
        return _district(c, load_area(area_of(c), data_dir=data_dir, cache_dir=cache_dir, cache=cache))
    area = area_of(c)
    if unit is None or area not in areas():
        raise LocateError(_malformed_message(text, c, data_dir, cache_dir, cache))
    index = load_area(area, data_dir=data_dir, cache_dir=cache_dir, cache=cache)
    row = index.find(c)
    if row is None:
        close = suggest(c, index)
        hint = f"; nearest valid postcodes: {', '.join(close)}" if close else ""
        msg = f"unknown postcode {format_postcode(c)} (not in OS Code-Point Open for area {area}){hint}"
        raise LocateError(msg)
    if not math.isfinite(float(index.lat[row])):
        msg = f"postcode {format_postcode(c)} has no position in OS Code-Point Open (quality {int(index.quality[row])}); give lat,lon"
        raise LocateError(msg)
    return PostcodePoint(format_postcode(c), float(index.lat[row]), float(index.lon[row]), float(index.easting[row]),
                         float(index.northing[row]), int(index.quality[row]))


def _district(outward: str, index: AreaIndex) -> PostcodePoint:
    rows = index.district_rows(outward)
    rows = rows[np.isfinite(index.lat[rows])]
    if rows.size == 0:
        close = _close_districts(outward, index.districts)
        hint = f"; districts of {index.area} near in spelling: {', '.join(close)}" if close else ""
        msg = f"unknown postcode district {outward} (no units in OS Code-Point Open){hint}"
        raise LocateError(msg)
    e = float(index.easting[rows].astype(np.float64).mean())
    n = float(index.northing[rows].astype(np.float64).mean())
    lon, lat = from_bng([e], [n])
    spread = float(np.hypot(index.easting[rows] - e, index.northing[rows] - n).max())
    warn = (
        f"{outward} is a postcode district, not a full postcode: using the centroid of its {rows.size} units "
        f"(they lie up to {spread / 1000:.1f} km from it); give the full postcode for a stop"
    )
    return PostcodePoint(outward, float(lat[0]), float(lon[0]), e, n, int(index.quality[rows].max()), district=True,
                         units=int(rows.size), spread_m=spread, warnings=(warn,))


def _close_districts(outward: str, districts: Sequence[str]) -> list[str]:
    scored = sorted((_distance(outward, d), d) for d in districts)
    return [d for s, d in scored if s <= 1.0][:8]


def _malformed_message(text: str, c: str, data_dir: str | os.PathLike[str] | None, cache_dir: str | os.PathLike[str] | None,
                       cache: bool) -> str:
    area = area_of(c)
    shape = "a GB postcode is an area (1-2 letters), a district number, then a digit and two letters, like NP20 1HG"
    if area and area not in areas():
        near = sorted(a for a in areas() if _distance(area, a) <= 1.0)
        hint = f"; areas near in spelling: {', '.join(near)}" if near else ""
        return f"not a GB postcode: {text.strip()!r} ({area} is not a GB postcode area{hint})"
    close: list[str] = []
    if area:
        try:
            index = load_area(area, data_dir=data_dir, cache_dir=cache_dir, cache=cache)
        except DataError:
            index = None
        if index is not None:
            close = suggest(c, index) if len(c) > 4 else _close_districts(c, index.districts)
    hint = f"; nearest valid postcodes: {', '.join(close)}" if close else f" ({shape})"
    return f"not a valid postcode: {text.strip()!r}{hint}"


def _distance(a: str, b: str) -> float:
    """Edit distance where a change between look-alikes (``O``/``0``) costs 0.5."""
    prev = [float(j) for j in range(len(b) + 1)]
    for i, ca in enumerate(a, 1):
        cur = [float(i)]
        for j, cb in enumerate(b, 1):
            sub = 0.0 if ca == cb else 0.5 if frozenset((ca, cb)) in _CONFUSABLE else 1.0
            cur.append(min(prev[j] + 1.0, cur[j - 1] + 1.0, prev[j - 1] + sub))
        prev = cur
    return prev[-1]


def suggest(code: str, index: AreaIndex, n: int = _N_SUGGEST) -> list[str]:
    """Up to ``n`` real postcodes of ``index`` nearest in spelling to ``code``, best first.

    Candidates: the same length with one or two characters changed, or one character more or
    fewer.  Ranked by edit distance (look-alikes ``O``/``0``, ``I``/``1`` cost half), then those
    with the same outward code, then alphabetically.
    """
    c = compact(code)
    found: set[str] = set()
    if 0 < len(c) <= WIDTH:
        q = np.frombuffer(c.encode("ascii", "replace").ljust(WIDTH, b"\0"), dtype=np.uint8)
        same_len = index.lengths == len(c)
        diff = (index._matrix != q).sum(axis=1)
        found.update(index.code(int(r)) for r in np.flatnonzero(same_len & (diff <= 2)))
    variants = {c[:i] + c[i + 1:] for i in range(len(c))}
    variants |= {c[:i] + ch + c[i:] for i in range(len(c) + 1) for ch in _ALPHABET}
    found.update(v for v in variants if index.find(v) is not None)
    found.discard(c)
    unit = parse_unit(c)
    outward = unit[0] if unit else c[:-3]
    ranked = sorted(found, key=lambda s: (_distance(c, s), s[:-3] != outward, s))
    return [format_postcode(s) for s in ranked[:n]]


# -- fetching ------------------------------------------------------------------------------------
def fetch_postcodes(
    areas_wanted: Iterable[str] | None = None,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
    progress: _STAGE | None = None,
) -> list[Path]:
    """Fetch Code-Point Open area files (and ``header.csv``) into ``<data-dir>/postcodes/``.

    ``areas_wanted``: area codes (``["NP", "RG"]``, any case), or None for every area whose
    sha256 the manifest pins.  Files come from the manifest's pinned copy (``source_url``, laid
    out as ``header.csv`` and ``csv/<area>.csv``) or, with ``base_url``, from a mirror laid out
    like a data folder's ``postcodes/`` (``header.csv``, ``<area>.csv``; a ``file://`` URL
    works).  A file with a pinned sha256 is checked and kept only if it matches; others are
    kept with a warning naming their sha256.  ``progress(done_bytes, total_or_None)`` is called
    as bytes arrive, summed over the files.

    Raises
    ------
    DataError
        An unknown area, a download that fails or does not match its checksum (nothing is kept).
    """
    from routeplan.fetch import download

    man = manifest()
    src, pinned = man["source"], dict(man.get("sha256", {}))
    if areas_wanted is None:
        wanted = sorted(f.removesuffix(".csv").upper() for f in pinned if f != src["header_file"])
    else:
        wanted = [a.strip().upper() for a in areas_wanted]
        bad = [a for a in wanted if a not in areas()]
        if bad:
            msg = f"unknown postcode area {', '.join(map(repr, bad))} (GB areas: {', '.join(sorted(areas()))})"
            raise DataError(msg)
    folder = _data_folder(data_dir)
    files = [(src["header_file"], src["header_file"])]
    files += [(src["area_file"].format(area=a.lower()), f"{a.lower()}.csv") for a in dict.fromkeys(wanted)]
    done_before = 0
    out: list[Path] = []
    for remote, local in files:
        rel = local if base_url else remote
        url = (base_url or src["source_url"]).rstrip("/") + "/" + rel

        def step(done: int, total: int | None, base: int = done_before) -> None:
            if progress:
                progress(base + done, None if total is None else base + total)

        path = download(url, folder / local, sha256=pinned.get(local), progress=step)
        if local not in pinned:
            log.warning("no pinned checksum for %s: kept it unchecked (sha256 %s)", local, sha256_file(path))
        done_before += path.stat().st_size
        out.append(path)
        _MEMO.clear()
    return out


__all__ = [
    "AreaIndex",
    "PostcodePoint",
    "area_of",
    "areas",
    "attribution",
    "compact",
    "fetch_postcodes",
    "format_postcode",
    "load_area",
    "looks_like_postcode",
    "lookup",
    "manifest",
    "missing_message",
    "parse_outward",
    "parse_unit",
    "suggest",
]
