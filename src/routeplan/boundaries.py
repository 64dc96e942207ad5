"""Load Westminster constituency polygons: known sets by name, or any polygon file in any CRS.

Real boundary files are messy (the ONS generalised sets have invalid rings, slivers and small
overlaps), so every geometry goes through ``shapely.make_valid`` and only polygonal parts are
kept.  Geometry is kept twice: WGS84 for maps and British National Grid (EPSG:27700) for
metric work in the overlay.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
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


@dataclass(frozen=True)
class Boundaries:
    """A boundary set: parallel arrays indexed by *cell* (the label used by the routing kernels)."""

    name: str
    codes: tuple[str, ...]
    names: tuple[str, ...]
    geom: npt.NDArray[np.object_]  # shapely polygons, EPSG:4326
    geom_bng: npt.NDArray[np.object_]  # the same in EPSG:27700
    attribution: str
    sha256: str
    source: str
    fixed_invalid: int = 0
    index_of: dict[str, int] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.index_of.update({c: i for i, c in enumerate(self.codes)})

    def __len__(self) -> int:
        return len(self.codes)

    def cell_at(self, lat: float, lon: float, *, snap_m: float = 2000.0) -> tuple[int, str]:
        """The cell a point stands in, with how it was found: ``inside``, ``nearest`` or ``outside``.

        Overlaps resolve to the lowest code; a point outside every polygon (a pier, a bridge over
        an estuary) takes the nearest constituency within ``snap_m``, as road pieces do
        (:mod:`routeplan.overlay`, rule 4).
        """
        x, y = to_bng([lon], [lat])
        pt = shapely.points(x, y)
        hits = np.flatnonzero(shapely.intersects(self.geom_bng, pt[0]))
        if hits.size:
            return int(hits[0]), "inside"
        dist = shapely.distance(self.geom_bng, pt[0])
        i = int(np.argmin(dist))
        if dist[i] <= snap_m:
            return i, "nearest"
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
    reprojection is refused as a wrong CRS.  The repaired, reprojected polygons are cached (keyed
    on the file's sha256, the fields and this module's code), so later loads skip GDAL and pyproj.

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
    bnd = _read_file(path, entry, digest, code_field, name_field)
    if cache:
        rcache.save("boundaries", key, _to_arrays(bnd))
    return bnd


def _pack(geoms: npt.NDArray[np.object_]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Exact geometry, compactly: every WKB concatenated, with offsets (n + 1)."""
    wkb = [bytes(b) for b in shapely.to_wkb(geoms)]
    offsets = np.zeros(len(wkb) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in wkb], out=offsets[1:])
    return np.frombuffer(b"".join(wkb), dtype=np.uint8), offsets


def _unpack(blob: npt.NDArray[np.generic], offsets: npt.NDArray[np.generic]) -> npt.NDArray[np.object_]:
    raw = bytes(blob.astype(np.uint8))
    cuts = offsets.astype(np.int64).tolist()
    return np.asarray(shapely.from_wkb([raw[s:e] for s, e in itertools.pairwise(cuts)]), dtype=object)


def _to_arrays(bnd: Boundaries) -> dict[str, npt.NDArray[np.generic]]:
    wkb, off = _pack(bnd.geom)
    wkb_bng, off_bng = _pack(bnd.geom_bng)
    return {
        "codes": np.asarray(bnd.codes, dtype=str),
        "names": np.asarray(bnd.names, dtype=str),
        "wkb": wkb,
        "wkb_offsets": off,
        "wkb_bng": wkb_bng,
        "wkb_bng_offsets": off_bng,
        "fixed": np.asarray([bnd.fixed_invalid], dtype=np.int64),
    }


def _from_arrays(z: dict[str, npt.NDArray[np.generic]], entry: dict[str, Any], digest: str, source: Path) -> Boundaries | None:
    try:
        geom = _unpack(z["wkb"], z["wkb_offsets"])
        bng = _unpack(z["wkb_bng"], z["wkb_bng_offsets"])
        codes, names, fixed = tuple(str(c) for c in z["codes"].tolist()), tuple(str(n) for n in z["names"].tolist()), int(z["fixed"][0])
        if not (len(codes) == len(names) == geom.shape[0] == bng.shape[0]):
            msg = "array lengths differ"
            raise ValueError(msg)
    except (KeyError, ValueError, IndexError, shapely.errors.GEOSException) as exc:
        log.warning("ignoring unusable boundary cache entry (it will be rebuilt): %s", exc)
        return None
    shapely.prepare(geom)
    shapely.prepare(bng)
    return Boundaries(entry["name"], codes, names, geom, bng, entry.get("attribution", ""), digest, str(source), fixed)


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
    minx, miny, maxx, maxy = gdf.total_bounds
    if not (np.isfinite([minx, miny, maxx, maxy]).all() and minx < UK_BOX[2] and maxx > UK_BOX[0] and miny < UK_BOX[3] and maxy > UK_BOX[1]):
        msg = f"boundary file {path} lies outside the UK after reprojection (bounds {minx:.3f},{miny:.3f},{maxx:.3f},{maxy:.3f}): wrong CRS?"
        raise DataError(msg)
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
) -> Boundaries:
    """Build a boundary set from WGS84 polygons: repair, keep polygonal parts, sort by code.

    Used by :func:`load_boundaries` and by tests that draw their own constituencies.
    """
    geoms = np.asarray(geoms, dtype=object)
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    polys = np.array([_polygonal(g) for g in geoms] + [None], dtype=object)[:-1]
    keep = np.array([g is not None and not g.is_empty for g in polys], dtype=bool)
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
    polys = polys[keep][order]
    out_codes = tuple(str(c) for c in kcodes[order])
    out_names = tuple(str(n) for n in np.asarray(names, dtype=object)[keep][order])
    bng = shapely.transform(polys, _to_bng, interleaved=False)
    shapely.prepare(bng)
    shapely.prepare(polys)
    log.info("boundaries %s: %d constituencies (%d invalid geometries repaired)", name, len(out_codes), int(invalid.sum()))
    return Boundaries(
        name=name,
        codes=out_codes,
        names=out_names,
        geom=polys,
        geom_bng=bng,
        attribution=attribution,
        sha256=sha256 or hashlib.sha256(b"".join(shapely.to_wkb(polys))).hexdigest(),
        source=source,
        fixed_invalid=int(invalid.sum()),
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
