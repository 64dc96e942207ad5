"""The one on-disk store for built artefacts (boundary sets, networks, landmarks, cell overlays).

Every entry is a ``.npz`` file named ``<kind>-<key>.npz`` in :func:`routeplan.settings.cache_dir`,
where ``key`` is the sha1 of a text that names everything the artefact depends on
(:func:`make_key`).  Each file carries the sha256 of its own arrays (names, dtypes, shapes and
bytes) in a ``__sha256__`` member, checked on every load: a damaged or tampered entry is never
trusted (:func:`load` logs a warning and reports a miss, so the caller rebuilds it).  Writes go
through :func:`routeplan.atomic.atomic_path`, whose ``finally`` removes the temporary file if the
write is interrupted; :func:`clear` also sweeps any ``.*.tmp`` file an outright kill left behind.
"""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from routeplan import settings
from routeplan.atomic import atomic_path
from routeplan.errors import DataError

log = logging.getLogger(__name__)

KINDS = ("boundaries", "network", "landmarks", "cells", "overlay", "ch", "postcodes")
TMP_KIND = "tmp"
CHECKSUM = "__sha256__"
EXT = "npz"

Arrays = Mapping[str, npt.NDArray[np.generic]]


@dataclass(frozen=True)
class CacheEntry:
    """One file of the cache: its artefact kind (or ``tmp`` for a stray temporary file)."""

    kind: str
    path: Path
    size: int  # bytes on disk (the file's length)


def make_key(*parts: str) -> str:
    """The cache key of an artefact: sha1 of its key text (the parts joined by ``|``)."""
    return hashlib.sha1("|".join(parts).encode()).hexdigest()


def path_for(kind: str, key: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """``<cache_dir>/<kind>-<key>.npz``."""
    if kind not in KINDS:
        msg = f"unknown cache kind {kind!r} (known: {', '.join(KINDS)})"
        raise ValueError(msg)
    return settings.cache_dir(cache_dir) / f"{kind}-{key}.{EXT}"


def checksum(arrays: Arrays) -> str:
    """sha256 over the arrays' names, dtypes, shapes and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        if name == CHECKSUM:
            continue
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.reshape(-1).view(np.uint8).data)  # the bytes, without tobytes()'s copy
    return h.hexdigest()


def write_npz(path: str | os.PathLike[str], arrays: Arrays, *, compress: bool = True) -> None:
    """Write arrays and their checksum atomically (no pickled objects)."""
    payload = dict(arrays)
    payload[CHECKSUM] = np.frombuffer(checksum(arrays).encode(), dtype=np.uint8)
    save = np.savez_compressed if compress else np.savez
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        save(fh, **payload)  # type: ignore[arg-type]


def read_npz(path: str | os.PathLike[str]) -> dict[str, npt.NDArray[np.generic]]:
    """Read every array of a file written by :func:`write_npz`, checking its checksum.

    Raises
    ------
    DataError
        Unreadable, truncated, without a checksum, or whose arrays do not match it.
    """
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        msg = f"cannot read cache file {path}: {exc}"
        raise DataError(msg) from exc
    stored = arrays.pop(CHECKSUM, None)
    if stored is None:
        msg = f"cache file {path} has no checksum"
        raise DataError(msg)
    if bytes(stored.astype(np.uint8)).decode("ascii", "replace") != checksum(arrays):
        msg = f"cache file {path} does not match its checksum (damaged or altered)"
        raise DataError(msg)
    return arrays


def save(kind: str, key: str, arrays: Arrays, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Store an artefact under ``kind``/``key``; returns its path."""
    path = path_for(kind, key, cache_dir)
    write_npz(path, arrays)
    return path


def load(kind: str, key: str, cache_dir: str | os.PathLike[str] | None = None) -> dict[str, npt.NDArray[np.generic]] | None:
    """The arrays of an artefact, or None when absent or damaged (logged; the caller rebuilds)."""
    path = path_for(kind, key, cache_dir)
    if not path.exists():
        return None
    try:
        return read_npz(path)
    except DataError as exc:
        log.warning("ignoring damaged %s cache entry (it will be rebuilt): %s", kind, exc)
        return None


def _files(root: Path) -> list[CacheEntry]:
    out: list[CacheEntry] = []
    for p in sorted(root.iterdir()):
        if not p.is_file() or p.is_symlink():
            continue
        if p.name.startswith(".") and p.name.endswith(".tmp"):
            kind = TMP_KIND
        else:
            kind = next((k for k in KINDS if p.name.startswith(f"{k}-")), "")
            if not kind:
                continue  # not ours: never touched
        try:
            size = p.stat().st_size
        except OSError:
            continue  # removed meanwhile
        out.append(CacheEntry(kind, p, size))
    return out


def entries(cache_dir: str | os.PathLike[str] | None = None) -> list[CacheEntry]:
    """Every artefact file of the cache (all kinds, any key or format) and stray temp files."""
    return _files(settings.cache_dir(cache_dir))


def clear(cache_dir: str | os.PathLike[str] | None = None) -> tuple[int, int]:
    """Delete what :func:`entries` lists; returns (files removed, bytes freed)."""
    n = size = 0
    for e in entries(cache_dir):
        try:
            e.path.unlink()
        except FileNotFoundError:
            continue
        n += 1
        size += e.size
    return n, size


__all__ = ["KINDS", "CacheEntry", "clear", "entries", "load", "make_key", "path_for", "read_npz", "save", "write_npz"]
