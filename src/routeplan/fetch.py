"""Download data for real users (who have no shared data folder): OSM extracts and boundary sets.

Downloads go to the data folder (``--data-dir`` / ``ROUTEPLAN_DATA`` / the user data folder),
are written atomically, checked against a checksum, and report progress through a callback
(the CLI draws a bar).  Known boundary sets come from ``data/boundaries/manifest.toml``: the
source TopoJSON is fetched and verified against its sha256; :mod:`routeplan.boundaries` reads it
directly when the ready-made GeoPackage is absent.
"""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from routeplan import settings
from routeplan.atomic import atomic_path
from routeplan.boundaries import manifest
from routeplan.errors import DataError

log = logging.getLogger(__name__)

GEOFABRIK = "https://download.geofabrik.de/"
Progress = Callable[[int, int | None], None]


def download(url: str, dest: str | os.PathLike[str], *, sha256: str | None = None, md5: str | None = None, progress: Progress | None = None, timeout: float = 60.0) -> Path:
    """Fetch ``url`` to ``dest`` atomically; a checksum mismatch keeps nothing and raises."""
    dest = Path(dest)
    h256, h5 = hashlib.sha256(), hashlib.md5()  # md5: Geofabrik publishes md5 sums
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, atomic_path(dest) as tmp, open(tmp, "wb") as fh:
            total = resp.headers.get("Content-Length")
            total_n = int(total) if total and total.isdigit() else None
            done = 0
            for chunk in iter(lambda: resp.read(1 << 20), b""):
                fh.write(chunk)
                h256.update(chunk)
                h5.update(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total_n)
            fh.flush()
            if sha256 and h256.hexdigest() != sha256:
                msg = f"checksum mismatch for {url}: sha256 {h256.hexdigest()[:12]}…, expected {sha256[:12]}…"
                raise DataError(msg)
            if md5 and h5.hexdigest() != md5:
                msg = f"checksum mismatch for {url}: md5 {h5.hexdigest()}, expected {md5}"
                raise DataError(msg)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        msg = f"cannot download {url}: {exc}"
        raise DataError(msg) from exc
    log.info("downloaded %s -> %s", url, dest)
    return dest


def fetch_boundaries(name: str, *, data_dir: str | os.PathLike[str] | None = None, base_url: str | None = None, progress: Progress | None = None) -> Path:
    """Fetch a known boundary set's source file into ``<data>/boundaries/source/``."""
    sets = manifest()
    if name not in sets:
        msg = f"unknown boundary set {name!r} (known: {', '.join(sorted(sets))})"
        raise DataError(msg)
    entry = sets[name]
    url = (base_url or entry["source_url"]).rstrip("/") + "/" + entry["source_file"]
    dest = settings.data_dir(data_dir) / "boundaries" / "source" / entry["source_file"]
    return download(url, dest, sha256=entry["source_sha256"], progress=progress)


def fetch_osm(region: str, *, data_dir: str | os.PathLike[str] | None = None, base_url: str = GEOFABRIK, progress: Progress | None = None) -> Path:
    """Fetch a Geofabrik extract, e.g. ``europe/great-britain/england/rutland``, checked by its md5."""
    region = region.strip("/").removesuffix("-latest.osm.pbf")
    url = f"{base_url.rstrip('/')}/{region}-latest.osm.pbf"
    try:
        with urllib.request.urlopen(url + ".md5", timeout=60) as resp:
            md5 = resp.read().decode().split()[0]
    except (urllib.error.URLError, OSError, IndexError) as exc:
        msg = f"cannot fetch the checksum {url}.md5: {exc}"
        raise DataError(msg) from exc
    dest = settings.data_dir(data_dir) / "osm" / f"{region.rsplit('/', 1)[-1]}-latest.osm.pbf"
    return download(url, dest, md5=md5, progress=progress)
