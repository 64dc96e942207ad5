"""The one cache store (routeplan.cache): checksummed entries, never trusted when altered,
compact boundary entries, and a listing/clearing that covers every artefact kind."""

from __future__ import annotations

import io
import logging
import zipfile
from pathlib import Path

import numpy as np
import pytest
from datapaths import DATA, NEWPORT

from routeplan import cache
from routeplan.errors import DataError


def _tamper(path: Path, change: dict[str, np.ndarray]) -> None:
    """Rewrite some arrays of an npz entry, keeping every other member (and the stored checksum)
    byte for byte: what a bit flip or a hand edit that keeps shapes valid looks like."""
    with zipfile.ZipFile(path) as zin:
        members = {n: zin.read(n) for n in zin.namelist()}
    for name, arr in change.items():
        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.asarray(arr), allow_pickle=False)
        members[f"{name}.npy"] = buf.getvalue()
    with zipfile.ZipFile(path, "w") as zout:
        for n, data in members.items():
            zout.writestr(n, data)


def test_key_scheme_and_roundtrip(tmp_path: Path) -> None:
    key = cache.make_key("network", "abc", "def")
    assert len(key) == 40 and key == cache.make_key("network", "abc", "def") != cache.make_key("network", "abc")
    arrays = {"a": np.arange(5, dtype=np.int64), "b": np.linspace(0, 1, 7)}
    path = cache.save("network", key, arrays, tmp_path)
    assert path == tmp_path / f"network-{key}.npz"
    got = cache.load("network", key, tmp_path)
    assert got is not None and set(got) == {"a", "b"}
    assert all(np.array_equal(got[k], v) for k, v in arrays.items())
    assert cache.load("network", "0" * 40, tmp_path) is None
    with pytest.raises(ValueError, match="unknown cache kind"):
        cache.path_for("graphs", key, tmp_path)


def test_altered_entry_is_ignored_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    key = cache.make_key("x")
    path = cache.save("landmarks", key, {"from_l": np.ones((4, 2)), "to_l": np.ones((4, 2))}, tmp_path)
    _tamper(path, {"from_l": np.full((4, 2), 9.0)})  # same shape, wrong values
    with caplog.at_level(logging.WARNING, logger="routeplan.cache"):
        assert cache.load("landmarks", key, tmp_path) is None
    assert "checksum" in caplog.text
    with pytest.raises(DataError, match="checksum"):
        cache.read_npz(path)
    path.write_bytes(path.read_bytes()[:50])  # truncated
    assert cache.load("landmarks", key, tmp_path) is None
    np.savez(path, from_l=np.ones(3))  # an old entry with no checksum
    with pytest.raises(DataError, match="no checksum"):
        cache.read_npz(path)


def test_entries_and_clear_cover_every_kind_and_temp_files(tmp_path: Path) -> None:
    for kind in ("boundaries", "network", "landmarks"):
        cache.save(kind, cache.make_key(kind), {"v": np.zeros(100 + len(kind))}, tmp_path)
    (tmp_path / "landmarks-oldkey-abc-8.npz").write_bytes(b"x" * 10)  # an older naming scheme
    (tmp_path / ".network-abc.npz.k2j3.tmp").write_bytes(b"y" * 77)  # left by a kill -9
    (tmp_path / "notes.txt").write_text("not ours")
    got = cache.entries(tmp_path)
    kinds = sorted(e.kind for e in got)
    assert kinds == ["boundaries", "landmarks", "landmarks", "network", "tmp"]
    assert all(e.size == e.path.stat().st_size > 0 for e in got)
    total = sum(e.size for e in got)
    assert cache.clear(tmp_path) == (5, total)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    assert cache.entries(tmp_path) == [] and cache.clear(tmp_path) == (0, 0)


@pytest.mark.integration
def test_boundary_entry_is_compact_exact_and_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, b2024, caplog) -> None:
    """The wpc-2024 entry was 754 MB (fixed-width WKB bytes); now at most twice the 9 MB file,
    with exact coordinates, and an altered entry is rebuilt."""
    import shapely

    from routeplan.boundaries import load_boundaries

    monkeypatch.setenv("ROUTEPLAN_CACHE", str(tmp_path))
    first = load_boundaries("wpc-2024", data_dir=DATA)
    (entry,) = cache.entries(tmp_path)
    assert entry.kind == "boundaries"
    assert entry.size <= 2 * (DATA / "boundaries" / "wpc-2024.gpkg").stat().st_size
    again = load_boundaries("wpc-2024", data_dir=DATA)
    assert again.codes == b2024.codes and again.names == b2024.names
    assert all(shapely.equals_exact(again.geom, b2024.geom, tolerance=0))
    assert all(shapely.equals_exact(again.geom_bng, b2024.geom_bng, tolerance=0))
    codes = np.asarray(first.codes, dtype=str)
    codes[[0, 1]] = codes[[1, 0]]  # swap two constituencies: valid arrays, wrong answers
    _tamper(entry.path, {"codes": codes})
    with caplog.at_level(logging.WARNING):
        rebuilt = load_boundaries("wpc-2024", data_dir=DATA)
    assert "checksum" in caplog.text
    assert rebuilt.codes == b2024.codes


@pytest.mark.integration
def test_altered_landmarks_are_rebuilt_not_trusted(tmp_path: Path, b2024, caplog) -> None:
    """Landmark times with the right shape but wrong values made A* return a slower route
    (8:01 instead of 6:36); they must be detected and recomputed."""
    from routeplan.network import build_network

    built = build_network(NEWPORT, b2024, cache_dir=tmp_path)
    good_f, good_t = built.landmarks
    (lm,) = [e.path for e in cache.entries(tmp_path) if e.kind == "landmarks"]
    _tamper(lm, {"from_l": good_f * 3.0, "to_l": good_t * 3.0})
    hit = build_network(NEWPORT, b2024, cache_dir=tmp_path)
    assert hit.meta["cache"] == "hit"
    with caplog.at_level(logging.WARNING):
        lf, lt = hit.landmarks
    assert "checksum" in caplog.text
    assert np.array_equal(lf, good_f) and np.array_equal(lt, good_t)
    assert cache.read_npz(lm)["from_l"].tobytes() == good_f.tobytes()  # rewritten
