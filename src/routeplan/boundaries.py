"""Load Westminster constituency polygons: known sets by name, or any polygon file in any CRS.

Real boundary files are messy (the ONS generalised sets have invalid rings, slivers and small
overlaps), so every geometry goes through ``shapely.make_valid`` and only polygonal parts are
kept.  Geometry is kept twice: WGS84 for maps and British National Grid (EPSG:27700) for
metric work in the overlay.  Both are made lazily, cell by cell, on first use: a county
extract needs a handful of the 650 constituencies, and repairing and reprojecting all of them
cost more than building the county's network.  A one-layer WGS84 GeoPackage (the known sets)
is read straight from SQLite; anything else through GDAL (pyogrio, geopandas).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from routeplan import cache as rcache
from routeplan import settings
from routeplan.allocator import release_freed_memory
from routeplan.errors import DataError

log = logging.getLogger(__name__)
_CODE = hashlib.sha1(Path(__file__).read_bytes()).hexdigest()

# Ships inside the package (``pip install .`` works); ``data/boundaries/manifest.toml`` in the
# repository is a symlink to it.
MANIFEST = Path(__file__).resolve().parent / "data" / "boundaries.toml"
BNG = "EPSG:27700"
# Generous lon/lat box around the UK: a file outside it is in the wrong CRS.
UK_BOX = (-11.0, 49.0, 3.0, 61.5)
_CODE_FIELDS = ("code", "pcon24cd", "pcon17cd", "pcon13cd", "pcon10cd", "pcon_code", "id")
_NAME_FIELDS = ("name", "pcon24nm", "pcon17nm", "pcon13nm", "pcon10nm", "pcon_name")


class _Geoms:
    """The polygons of a boundary set, repaired and reprojected lazily, cell by cell.

    ``raw`` holds the polygons as read (WGS84, sorted by code, only those that keep a polygonal
    part), or ``wkb`` holds them as WKB (blob and offsets, decoded per cell when needed: the
    compact form, as read from a GeoPackage or the cache).  A cell's repaired WGS84 polygon and
    its British National Grid copy are made on first use, by exactly the element-wise steps an
    eager load takes (``make_valid`` when invalid, keep the polygonal parts, reproject,
    prepare), so a cell's geometry never depends on which other cells were asked for.  A county
    extract touches a handful of the 650 constituencies.
    """

    def __init__(
        self,
        raw: npt.NDArray[np.object_] | None,
        dropped_invalid: int = 0,
        wkb: tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]] | None = None,
        bounds: npt.NDArray[np.float64] | None = None,
    ) -> None:
        if raw is None and (wkb is None or bounds is None):
            msg = "_Geoms needs the polygons, or their WKB and bounds"
            raise ValueError(msg)
        self._raw = raw
        self.wkb = wkb  # the polygons as WKB (blob, offsets): what the cache stores
        self.dropped_invalid = dropped_invalid  # invalid (or missing) features dropped on load
        self.bounds = shapely.bounds(raw) if bounds is None else bounds  # lon/lat boxes, unrepaired
        n = self.bounds.shape[0]
        self._wgs = np.empty(n, dtype=object)
        self._bng = np.empty(n, dtype=object)
        self._done = np.zeros(n, dtype=bool)
        self._invalid = np.zeros(n, dtype=bool)
        self._n_invalid: int | None = None

    def raw_of(self, idx: npt.NDArray[np.int64]) -> npt.NDArray[np.object_]:
        """The unrepaired polygons of some cells."""
        if self._raw is not None:
            return self._raw[idx]
        assert self.wkb is not None
        blob, off = self.wkb
        return np.asarray(shapely.from_wkb([blob[off[i] : off[i + 1]].tobytes() for i in idx.tolist()] + [None]), dtype=object)[:-1]

    @property
    def raw(self) -> npt.NDArray[np.object_]:
        """The unrepaired polygons of every cell."""
        return self.raw_of(np.arange(self.bounds.shape[0]))

    def ensure(self, idx: npt.ArrayLike) -> None:
        todo = np.asarray(idx, dtype=np.int64)
        todo = np.unique(todo[~self._done[todo]])
        if todo.size == 0:
            return
        geoms = self.raw_of(todo)
        invalid = ~shapely.is_valid(geoms)
        if invalid.any():
            geoms = geoms.copy()
            geoms[invalid] = shapely.make_valid(geoms[invalid])
        polys = np.array([_polygonal(g) for g in geoms] + [None], dtype=object)[:-1]
        if any(g is None or g.is_empty for g in polys):  # from_polygons kept only polygons with area
            msg = "a boundary polygon with area has no polygonal part after repair"
            raise DataError(msg)
        bng = shapely.transform(polys, _to_bng, interleaved=False)
        shapely.prepare(bng)
        shapely.prepare(polys)
        self._wgs[todo] = polys
        self._bng[todo] = bng
        self._invalid[todo] = invalid
        self._done[todo] = True

    def made(self) -> npt.NDArray[np.bool_]:
        """Which cells' repaired polygons are made (a copy, for :meth:`forget_since`)."""
        return self._done.copy()

    def forget_since(self, made: npt.NDArray[np.bool_]) -> None:
        """Drop the repaired polygons made since :meth:`made` gave ``made``: they are made again,
        identically, if asked for.  A national build repairs all 650 constituencies for its
        overlay (about 100 MB with their prepared indexes) and needs none of them afterwards."""
        drop = self._done & ~made
        self._wgs[drop] = None
        self._bng[drop] = None
        self._done[drop] = False

    def wgs84(self) -> npt.NDArray[np.object_]:
        self.ensure(np.arange(self.raw.shape[0]))
        return self._wgs

    def bng(self, idx: npt.ArrayLike | None = None) -> npt.NDArray[np.object_]:
        if idx is None:
            self.ensure(np.arange(self.raw.shape[0]))
            return self._bng
        self.ensure(idx)
        return self._bng[np.asarray(idx, dtype=np.int64)]

    def n_invalid(self) -> int:
        if self._n_invalid is None:
            todo = ~self._done
            self._n_invalid = self.dropped_invalid + int(self._invalid[~todo].sum() + (~shapely.is_valid(self.raw_of(np.flatnonzero(todo)))).sum())
        return self._n_invalid

    def near(self, minx: float, miny: float, maxx: float, maxy: float) -> npt.NDArray[np.int64]:
        """Cells whose raw lon/lat box meets a lon/lat box (a superset of the cells that meet it)."""
        b = self.bounds
        return np.flatnonzero((b[:, 0] <= maxx) & (b[:, 2] >= minx) & (b[:, 1] <= maxy) & (b[:, 3] >= miny))


# Slack around lon/lat boxes (degrees, ~50 m): a straight BNG edge is a slightly curved line in
# lon/lat, and the pre-filters below must only ever over-select.
_PAD_DEG = 5e-4


@dataclass(frozen=True)
class Boundaries:
    """A boundary set: parallel arrays indexed by *cell* (the label used by the routing kernels).

    ``geom`` (EPSG:4326) and ``geom_bng`` (EPSG:27700) are the repaired polygons of every cell;
    they are made on first use (see :class:`_Geoms`), and :meth:`geom_bng_of`,
    :meth:`cells_meeting_bng` and :meth:`cell_at` repair only the cells they need.
    """

    name: str
    codes: tuple[str, ...]
    names: tuple[str, ...]
    polygons: _Geoms = field(repr=False, compare=False)
    attribution: str
    sha256: str
    source: str
    index_of: dict[str, int] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.index_of.update({c: i for i, c in enumerate(self.codes)})

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def geom(self) -> npt.NDArray[np.object_]:
        """Repaired polygons of every cell, EPSG:4326."""
        return self.polygons.wgs84()

    @property
    def geom_bng(self) -> npt.NDArray[np.object_]:
        """The same in EPSG:27700."""
        return self.polygons.bng()

    @property
    def fixed_invalid(self) -> int:
        """How many polygons were invalid as read (and repaired with ``make_valid``)."""
        return self.polygons.n_invalid()

    def geom_bng_of(self, idx: npt.ArrayLike) -> npt.NDArray[np.object_]:
        """``geom_bng[idx]``, repairing only those cells."""
        return self.polygons.bng(idx)

    def cells_meeting_bng(self, geometry: Any) -> npt.NDArray[np.int64]:
        """``flatnonzero(intersects(geom_bng, geometry))`` for a BNG geometry, repairing only the
        cells whose lon/lat box comes near it."""
        if geometry is None or shapely.is_empty(geometry):
            return np.zeros(0, dtype=np.int64)
        ring = shapely.segmentize(shapely.envelope(geometry).buffer(1.0, join_style="mitre"), 100.0)
        xy = shapely.get_coordinates(ring)
        lon, lat = from_bng(xy[:, 0], xy[:, 1])
        cand = self.polygons.near(lon.min() - _PAD_DEG, lat.min() - _PAD_DEG, lon.max() + _PAD_DEG, lat.max() + _PAD_DEG)
        return cand[shapely.intersects(self.polygons.bng(cand), geometry)]  # type: ignore[no-any-return]

    def cell_at(self, lat: float, lon: float, *, snap_m: float = 2000.0) -> tuple[int, str]:
        """The cell a point stands in, with how it was found: ``inside``, ``nearest`` or ``outside``.

        Overlaps resolve to the lowest code; a point outside every polygon (a pier, a bridge over
        an estuary) takes the nearest constituency within ``snap_m``, as road pieces do
        (:mod:`routeplan.overlay`, rule 4).
        """
        x, y = to_bng([lon], [lat])
        pt = shapely.points(x, y)
        cand = self.polygons.near(lon - _PAD_DEG, lat - _PAD_DEG, lon + _PAD_DEG, lat + _PAD_DEG)
        hits = cand[shapely.intersects(self.polygons.bng(cand), pt[0])]
        if hits.size:
            return int(hits[0]), "inside"
        # Only cells within snap_m can be the answer: a generous lon/lat box of that radius.
        dlat = snap_m / 110_000.0 + _PAD_DEG
        coslat = math.cos(math.radians(min(89.0, abs(lat) + dlat)))
        dlon = snap_m / (110_000.0 * coslat) + _PAD_DEG
        cand = self.polygons.near(lon - dlon, lat - dlat, lon + dlon, lat + dlat) if math.isfinite(dlon) and abs(lat) + dlat < 89.0 else np.arange(len(self))
        if cand.size == 0:
            return -1, "outside"
        dist = shapely.distance(self.polygons.bng(cand), pt[0])
        i = int(np.argmin(dist))
        if dist[i] <= snap_m:
            return int(cand[i]), "nearest"
        return -1, "outside"


@cache
def manifest() -> dict[str, dict[str, Any]]:
    """The boundary sets routeplan knows, from the packaged ``routeplan/data/boundaries.toml``."""
    with MANIFEST.open("rb") as fh:
        return dict(tomllib.load(fh)["sets"])


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def resolve(spec: str | os.PathLike[str], data_dir: str | os.PathLike[str] | None = None) -> tuple[Path, dict[str, Any]]:
    """Turn a set name (``wpc-2024``) or a path into a file path and its manifest entry."""
    sets = manifest()
    if str(spec) in sets:
        entry = sets[str(spec)]
        root = settings.data_dir(data_dir) / "boundaries"
        path = root / entry["file"]
        source = root / "source" / entry["source_file"]
        if not path.exists() and source.exists():
            # Fetched by `routeplan data fetch`: the raw source, checked against its own sha256.
            return source, {"name": str(spec), **entry, "sha256": entry["source_sha256"], "code_field": None, "name_field": None}
        if not path.exists():
            msg = (
                f"boundary set {spec} not found at {path}; point --data-dir or ${settings.DATA_ENV} "
                "at a folder with boundaries/, or fetch it with `routeplan data fetch`"
            )
            raise DataError(msg)
        return path, {"name": str(spec), **entry}
    path = Path(spec)
    if not path.exists():
        msg = f"unknown boundary set or missing file: {spec!r} (known sets: {', '.join(sorted(sets))})"
        raise DataError(msg)
    if path.is_dir():
        msg = f"boundary file {path} is a directory; give a GeoPackage, GeoJSON, TopoJSON or Shapefile"
        raise DataError(msg)
    return path, {"name": path.stem, "attribution": f"Boundaries: {path.name} (see its licence)"}


def _pick(columns: list[str], wanted: str | None, candidates: tuple[str, ...], what: str) -> str:
    lower = {c.lower(): c for c in columns}
    if wanted:
        if wanted in columns:
            return wanted
        msg = f"boundary file has no {what} field {wanted!r} (fields: {', '.join(columns)})"
        raise DataError(msg)
    for c in candidates:
        if c in lower:
            return lower[c]
    pat = re.compile(r"^pcon\d\d(cd)$" if what == "code" else r"^pcon\d\d(nm)$")
    for c in columns:
        if pat.match(c.lower()):
            return c
    msg = f"cannot tell which field holds the constituency {what} (fields: {', '.join(columns)}); name it explicitly"
    raise DataError(msg)


def load_boundaries(
    spec: str | os.PathLike[str],
    *,
    data_dir: str | os.PathLike[str] | None = None,
    code_field: str | None = None,
    name_field: str | None = None,
    verify: bool = True,
    cache: bool = True,
) -> Boundaries:
    """Load a boundary set by name (``wpc-2010``, ``wpc-2024``) or from a file.

    GeoPackage, GeoJSON, TopoJSON and Shapefile are read through GDAL (pyogrio).  A file with no
    CRS is taken as WGS84 when its coordinates look like lon/lat; anything outside the UK after
    reprojection is refused as a wrong CRS.  The polygons as read (WGS84 WKB, with codes, names
    and boxes) are cached, checksummed, keyed on the file's sha256, the fields and this module's
    code, so later loads skip GDAL and pyproj; repair and reprojection happen per cell on use.

    Raises
    ------
    DataError
        Missing or unreadable file, checksum mismatch for a known set, wrong CRS, no polygons.
    """
    path, entry = resolve(spec, data_dir)
    try:
        digest = sha256_file(path)
    except OSError as exc:
        msg = f"cannot read boundary file {path}: {exc.strerror or exc}"
        raise DataError(msg) from exc
    if verify and "sha256" in entry and digest != entry["sha256"]:
        msg = f"boundary file {path} does not match the checksum of set {entry['name']} (got {digest[:12]}…, want {entry['sha256'][:12]}…)"
        raise DataError(msg)
    key = rcache.make_key("boundaries", digest, entry["name"], str(code_field), str(name_field), _CODE)
    if cache:
        arrays = rcache.load("boundaries", key)
        if arrays is not None:
            got = _from_arrays(arrays, entry, digest, path)
            if got is not None:
                return got
    bnd = _read_gpkg(path, entry, digest, code_field, name_field) if path.suffix.lower() == ".gpkg" else None
    if bnd is None:
        bnd = _read_file(path, entry, digest, code_field, name_field)
    if cache:
        # Uncompressed: the polygons as read are about the size of the source file, and
        # compressing them cost more than the whole cold load.
        rcache.write_npz(rcache.path_for("boundaries", key), _to_arrays(bnd), compress=False)
    release_freed_memory()
    return bnd


def _pack(geoms: npt.NDArray[np.object_]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Exact geometry, compactly: every WKB concatenated, with offsets (n + 1)."""
    wkb = [bytes(b) for b in shapely.to_wkb(geoms)]
    offsets = np.zeros(len(wkb) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in wkb], out=offsets[1:])
    return np.frombuffer(b"".join(wkb), dtype=np.uint8), offsets


def _to_arrays(bnd: Boundaries) -> dict[str, npt.NDArray[np.generic]]:
    wkb, off = bnd.polygons.wkb or _pack(bnd.polygons.raw)
    return {
        "codes": np.asarray(bnd.codes, dtype=str),
        "names": np.asarray(bnd.names, dtype=str),
        "bounds": np.asarray(bnd.polygons.bounds, dtype=np.float64),
        "wkb_raw": wkb,
        "wkb_raw_offsets": off,
        "dropped_invalid": np.asarray([bnd.polygons.dropped_invalid], dtype=np.int64),
    }


def _from_arrays(z: dict[str, npt.NDArray[np.generic]], entry: dict[str, Any], digest: str, source: Path) -> Boundaries | None:
    try:
        blob = np.asarray(z["wkb_raw"], dtype=np.uint8)
        off = np.asarray(z["wkb_raw_offsets"], dtype=np.int64)
        bounds = np.asarray(z["bounds"], dtype=np.float64)
        codes, names = tuple(str(c) for c in z["codes"].tolist()), tuple(str(n) for n in z["names"].tolist())
        dropped = int(z["dropped_invalid"][0])
        if not (len(codes) == len(names) == off.shape[0] - 1 == bounds.shape[0]) or bounds.shape[1:] != (4,) or off[-1] != blob.shape[0]:
            msg = "array lengths differ"
            raise ValueError(msg)
    except (KeyError, ValueError, IndexError, shapely.errors.GEOSException) as exc:
        log.warning("ignoring unusable boundary cache entry (it will be rebuilt): %s", exc)
        return None
    return Boundaries(entry["name"], codes, names, _Geoms(None, dropped, (blob, off), bounds), entry.get("attribution", ""), digest, str(source))


# GeoPackage geometry blob header: envelope sizes by the flags' envelope indicator (bits 1-3).
_GPKG_ENVELOPE = (0, 32, 48, 48, 64)


def _read_gpkg(path: Path, entry: dict[str, Any], digest: str, code_field: str | None, name_field: str | None) -> Boundaries | None:
    """A one-layer WGS84 GeoPackage read straight from SQLite (no GDAL, no pandas: a GeoPackage
    is a SQLite file whose geometries are WKB behind a short header).  None when the file needs
    GDAL (another CRS, several layers, extended geometry, anything unexpected): the caller then
    reads it through :func:`_read_file`, which gives the same polygons for the files read here."""
    import sqlite3

    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        layers = con.execute("SELECT table_name FROM gpkg_contents WHERE data_type = 'features'").fetchall()
        if len(layers) != 1:
            return None
        table = str(layers[0][0])
        gcols = con.execute("SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE table_name = ?", (table,)).fetchall()
        if len(gcols) != 1:
            return None
        gcol, srs_id = str(gcols[0][0]), gcols[0][1]
        srs = con.execute("SELECT organization, organization_coordsys_id FROM gpkg_spatial_ref_sys WHERE srs_id = ?", (srs_id,)).fetchall()
        if len(srs) != 1 or str(srs[0][0]).upper() != "EPSG" or srs[0][1] != 4326:
            return None
        info = con.execute(f'PRAGMA table_info("{table.replace(chr(34), chr(34) * 2)}")').fetchall()
        # GDAL's fields: every column but the integer primary key (the FID) and the geometry.
        cols = [str(r[1]) for r in info if str(r[1]) != gcol and not (r[5] == 1 and str(r[2]).upper() == "INTEGER")]
        types = {str(r[1]): str(r[2]).upper() for r in info}
        cfield = _pick(cols, code_field or entry.get("code_field"), _CODE_FIELDS, "code")
        nfield = _pick(cols, name_field or entry.get("name_field"), _NAME_FIELDS, "name")
        if not (types[cfield].startswith("TEXT") and types[nfield].startswith("TEXT")):
            return None
        q = '"{}"'
        cur = con.execute(
            f"SELECT {q.format(cfield.replace(chr(34), chr(34) * 2))}, {q.format(nfield.replace(chr(34), chr(34) * 2))}, "
            f"{q.format(gcol.replace(chr(34), chr(34) * 2))} FROM {q.format(table.replace(chr(34), chr(34) * 2))} ORDER BY rowid"
        )
        codes: list[str] = []
        names: list[str] = []
        wkb: list[bytes | None] = []
        for code, cname, blob in cur:  # row by row: one GeoPackage blob alive at a time
            codes.append(str(code))
            names.append(str(cname))
            if blob is None:
                wkb.append(None)
                continue
            head = bytes(blob[:4])
            if len(blob) < 8 or head[:2] != b"GP" or head[3] & 0x20 or (head[3] >> 1) & 7 >= len(_GPKG_ENVELOPE):
                return None  # not a standard GeoPackage binary geometry
            wkb.append(bytes(blob[8 + _GPKG_ENVELOPE[(head[3] >> 1) & 7] :]))
    except sqlite3.Error:
        return None
    finally:
        con.close()
    if not codes:
        msg = f"boundary file {path} has no features"
        raise DataError(msg)
    try:
        geoms = np.asarray(shapely.from_wkb(wkb), dtype=object)
    except shapely.errors.GEOSException:
        return None
    _check_uk(path, *shapely.total_bounds(geoms))
    return from_polygons(entry["name"], codes, names, geoms, attribution=entry.get("attribution", ""), sha256=digest, source=str(path), wkb=wkb)


def _check_uk(path: Path, minx: float, miny: float, maxx: float, maxy: float) -> None:
    if not (np.isfinite([minx, miny, maxx, maxy]).all() and minx < UK_BOX[2] and maxx > UK_BOX[0] and miny < UK_BOX[3] and maxy > UK_BOX[1]):
        msg = f"boundary file {path} lies outside the UK after reprojection (bounds {minx:.3f},{miny:.3f},{maxx:.3f},{maxy:.3f}): wrong CRS?"
        raise DataError(msg)


def _read_file(path: Path, entry: dict[str, Any], digest: str, code_field: str | None, name_field: str | None) -> Boundaries:
    import geopandas as gpd

    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for unreadable input
        msg = f"cannot read boundary file {path}: {exc}"
        raise DataError(msg) from exc
    if gdf.empty:
        msg = f"boundary file {path} has no features"
        raise DataError(msg)
    if gdf.crs is None:
        minx, miny, maxx, maxy = gdf.total_bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            msg = f"boundary file {path} has no CRS and its coordinates are not longitude/latitude; set a CRS in the file"
            raise DataError(msg)
        log.warning("boundary file %s has no CRS; assuming WGS84 longitude/latitude", path.name)
        gdf = gdf.set_crs("EPSG:4326")
    else:
        gdf = gdf.to_crs("EPSG:4326")
    _check_uk(path, *gdf.total_bounds)
    cols = [c for c in gdf.columns if c != gdf.geometry.name]
    cfield = _pick(cols, code_field or entry.get("code_field"), _CODE_FIELDS, "code")
    nfield = _pick(cols, name_field or entry.get("name_field"), _NAME_FIELDS, "name")
    return from_polygons(
        entry["name"],
        [str(c) for c in gdf[cfield].to_numpy()],
        [str(n) for n in gdf[nfield].to_numpy()],
        np.asarray(gdf.geometry.values, dtype=object),
        attribution=entry.get("attribution", ""),
        sha256=digest,
        source=str(path),
    )


def from_polygons(
    name: str,
    codes: list[str],
    names: list[str],
    geoms: npt.ArrayLike,
    *,
    attribution: str = "",
    sha256: str = "",
    source: str = "",
    wkb: list[bytes | None] | None = None,
) -> Boundaries:
    """Build a boundary set from WGS84 polygons: repair, keep polygonal parts, sort by code.

    Used by :func:`load_boundaries` and by tests that draw their own constituencies.  ``wkb``,
    when given, is ``geoms`` as read (WKB), kept for the cache instead of encoding them again.
    """
    geoms = np.asarray(geoms, dtype=object)
    # Which features keep a polygonal part, decided without repairing them: a non-empty polygon
    # with area keeps one after make_valid.  The rest (empty, lines, zero-area or mixed
    # geometry: rare) are repaired now to find out.
    typ = shapely.get_type_id(geoms)
    sure = np.isin(typ, (3, 6)) & ~shapely.is_empty(geoms) & (shapely.area(geoms) > 0)
    keep = sure.copy()
    for i in np.flatnonzero(~sure):
        g = geoms[i]
        if g is not None and not shapely.is_valid(g):
            g = shapely.make_valid(g)
        p = _polygonal(g)
        keep[i] = p is not None and not p.is_empty
    if not keep.any():
        msg = f"boundary set {name} has no valid polygon geometry ({source or 'in memory'})"
        raise DataError(msg)
    if (~keep).any():
        log.warning("dropped %d boundary features with no polygonal geometry", int((~keep).sum()))
    kcodes = np.asarray(codes, dtype=object)[keep]
    if len(set(kcodes.tolist())) != kcodes.shape[0]:
        msg = f"boundary set {name}: constituency codes are not unique ({source or 'in memory'})"
        raise DataError(msg)
    order = np.argsort(kcodes.astype(str), kind="stable")
    sel = np.flatnonzero(keep)[order]
    packed = None
    if wkb is not None:
        blobs = [wkb[i] or b"" for i in sel.tolist()]
        offsets = np.zeros(len(blobs) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in blobs], out=offsets[1:])
        packed = (np.frombuffer(b"".join(blobs), dtype=np.uint8), offsets)
        del blobs
    dropped_invalid = int((~shapely.is_valid(geoms[~keep])).sum())
    # With the WKB at hand, keep that (compact) rather than the decoded polygons.
    polygons = _Geoms(None, dropped_invalid, packed, shapely.bounds(geoms[sel])) if packed else _Geoms(geoms[sel], dropped_invalid)
    out_codes = tuple(str(c) for c in kcodes[order])
    out_names = tuple(str(n) for n in np.asarray(names, dtype=object)[keep][order])
    log.info("boundaries %s: %d constituencies (repaired and reprojected on first use)", name, len(out_codes))
    return Boundaries(
        name=name,
        codes=out_codes,
        names=out_names,
        polygons=polygons,
        attribution=attribution,
        sha256=sha256 or hashlib.sha256(b"".join(shapely.to_wkb(polygons.wgs84()))).hexdigest(),
        source=source,
    )


def _polygonal(g: Any) -> Any:
    if g is None or g.is_empty:
        return None
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    parts = [p for p in getattr(g, "geoms", []) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else None


def _to_bng(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    return to_bng(x, y)


@cache
def _transformers() -> tuple[Any, Any]:
    from pyproj import Transformer

    return (
        Transformer.from_crs("EPSG:4326", BNG, always_xy=True),
        Transformer.from_crs(BNG, "EPSG:4326", always_xy=True),
    )


def to_bng(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """WGS84 lon/lat to British National Grid metres."""
    x, y = _transformers()[0].transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x), np.asarray(y)


def from_bng(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """British National Grid metres to WGS84 lon/lat."""
    lon, lat = _transformers()[1].transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(lon), np.asarray(lat)
