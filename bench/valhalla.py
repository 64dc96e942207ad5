"""Valhalla peer-comparison harness: fetch, build tiles, serve, and route.

Uses the native binaries shipped inside the PyPI wheel ``pyvalhalla==3.9.1``
(cp312 abi3, manylinux_2_28 x86_64).  Only the binaries and the stdlib-only
``valhalla_build_config.py`` script are used, so the Python version of the
wheel does not matter (the compiled ``_valhalla`` module is never imported).

Typical use::

    inst = ensure_valhalla(Path("/tmp/valhalla-work"))
    built = build_tiles(inst, Path("newport.osm.pbf"), Path("/tmp/valhalla-work/newport"))
    with ValhallaService(inst, built.config_path) as svc:
        ans = route(svc, (51.588, -2.998), (51.55, -3.05), costing="bus")

Everything listens on 127.0.0.1 only, and nothing in the generated config
needs network access (no elevation download, no timezone DB, no traffic).
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Self

try:
    from bench.proc import RunStats, run_measured
except ImportError:  # loaded by path (bench/valhalla_smoke.py run as a script)
    from proc import RunStats, run_measured  # type: ignore[no-redef]

__all__ = [
    "GB_BBOX",
    "PYVALHALLA_VERSION",
    "BuildResult",
    "RouteAnswer",
    "ValhallaError",
    "ValhallaInstall",
    "ValhallaService",
    "ValhallaTimeout",
    "build_tiles",
    "ensure_valhalla",
    "route",
    "route_many",
    "write_config",
]

PYVALHALLA_VERSION = "3.9.1"
#: lon_min, lat_min, lon_max, lat_max of the synthetic "United Kingdom" admin polygon.
GB_BBOX: tuple[float, float, float, float] = (-8.7, 49.8, 1.9, 60.9)

LatLon = tuple[float, float]
AdminMode = Literal["gb", "none"]

_REQUIRED_BINS = ("valhalla_build_tiles", "valhalla_service", "valhalla_build_admins")


class ValhallaError(RuntimeError):
    """Anything in the Valhalla harness that went wrong (download, build, service)."""


# --------------------------------------------------------------------------- install


@dataclass(frozen=True)
class ValhallaInstall:
    """Location of an unpacked pyvalhalla wheel."""

    root: Path  # directory the wheel was unzipped into
    bin_dir: Path  # .../valhalla/bin
    lib_dir: Path  # .../pyvalhalla.libs
    build_config_script: Path  # .../valhalla/valhalla_build_config.py
    version: str

    def bin(self, name: str) -> Path:
        """Path of one of the bundled executables, e.g. ``inst.bin("valhalla_service")``."""
        return self.bin_dir / name

    def env(self) -> dict[str, str]:
        """Environment for running the binaries (LD_LIBRARY_PATH -> pyvalhalla.libs)."""
        env = dict(os.environ)
        old = env.get("LD_LIBRARY_PATH", "")
        env["LD_LIBRARY_PATH"] = str(self.lib_dir) + (os.pathsep + old if old else "")
        return env


def _pip_cmd() -> list[str]:
    """A pip command line: this interpreter's pip if available, else ``pip`` on PATH."""
    probe = subprocess.run(
        [sys.executable, "-m", "pip", "--version"], check=False, capture_output=True, text=True
    )
    if probe.returncode == 0:
        return [sys.executable, "-m", "pip"]
    pip = shutil.which("pip3") or shutil.which("pip")
    if pip is None:
        raise ValhallaError("pip is not available (neither `python -m pip` nor pip on PATH)")
    return [pip]


def _download_wheel(wheel_dir: Path, version: str) -> Path:
    """``pip download`` the cp312 abi3 wheel into wheel_dir (cached) and return its path."""
    pattern = f"pyvalhalla-{version}-*.whl"
    found = sorted(wheel_dir.glob(pattern))
    if found:
        return found[0]
    wheel_dir.mkdir(parents=True, exist_ok=True)
    cmd = _pip_cmd() + [
        "download", "--no-deps", "--only-binary=:all:", "--python-version", "3.12",
        f"pyvalhalla=={version}", "-d", str(wheel_dir),
    ]  # fmt: skip
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
    found = sorted(wheel_dir.glob(pattern))
    if proc.returncode != 0 or not found:
        raise ValhallaError(
            f"pip download of pyvalhalla=={version} failed (rc={proc.returncode}):\n"
            f"{' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        )
    return found[0]


def _unzip_wheel(wheel: Path, dest: Path) -> None:
    """Unzip wheel into dest atomically, keeping the Unix permission bits."""
    tmp = dest.with_name(dest.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            out = Path(zf.extract(info, tmp))
            mode = (info.external_attr >> 16) & 0o7777
            if mode and not info.is_dir():
                out.chmod(mode)
    tmp.rename(dest)


def ensure_valhalla(workdir: Path, version: str = PYVALHALLA_VERSION) -> ValhallaInstall:
    """Download (cached) and unpack pyvalhalla, locate binaries/libs and check they run.

    Layout: ``workdir/wheels/*.whl`` and ``workdir/pyvalhalla-<version>/``.
    Raises ValhallaError with a clear message if anything is missing or broken.
    """
    workdir = Path(workdir).resolve()
    root = workdir / f"pyvalhalla-{version}"
    if not (root / "valhalla" / "bin").is_dir():
        if root.exists():
            shutil.rmtree(root)
        wheel = _download_wheel(workdir / "wheels", version)
        _unzip_wheel(wheel, root)

    inst = ValhallaInstall(
        root=root,
        bin_dir=root / "valhalla" / "bin",
        lib_dir=root / "pyvalhalla.libs",
        build_config_script=root / "valhalla" / "valhalla_build_config.py",
        version=version,
    )
    missing = [p for p in (inst.lib_dir, inst.build_config_script) if not p.exists()]
    missing += [inst.bin(b) for b in _REQUIRED_BINS if not inst.bin(b).is_file()]
    if missing:
        raise ValhallaError(
            "pyvalhalla wheel is missing expected files: "
            + ", ".join(map(str, missing))
            + f" (delete {root} to re-extract)"
        )
    for b in _REQUIRED_BINS:  # zip extraction may have lost +x on some systems
        p = inst.bin(b)
        if not os.access(p, os.X_OK):
            p.chmod(p.stat().st_mode | 0o755)
        proc = subprocess.run(
            [str(p), "--version"],
            check=False,
            capture_output=True,
            text=True,
            env=inst.env(),
            timeout=60,
        )
        out = (proc.stdout + proc.stderr).strip()
        if proc.returncode != 0 or version not in out:
            raise ValhallaError(f"{p} --version failed (rc={proc.returncode}): {out[-2000:]}")
    return inst


# --------------------------------------------------------------------------- config


def _set(cfg: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``cfg["a"]["b"]["c"] = value`` for dotted key ``"a.b.c"``."""
    *parents, leaf = dotted.split(".")
    node = cfg
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value


def write_config(
    inst: ValhallaInstall,
    workdir: Path,
    *,
    listen: str = "tcp://127.0.0.1:8002",
    admin_db: Path | None = None,
    overrides: dict[str, Any] | None = None,
    out: Path | None = None,
) -> Path:
    """Write an offline, loopback-only Valhalla config.json under workdir and return its path.

    Starts from ``valhalla_build_config.py`` defaults (run with this interpreter; the
    script is stdlib-only and works on Python 3.11), then points every data path into
    workdir, drops the tile/traffic tar keys (tiles are read from workdir/tiles),
    disables elevation/timezone/traffic/transit, uses the admin DB only if
    given, moves the zmq ipc sockets into workdir, and sets drain/shutdown to 0 s so
    SIGTERM stops the service at once (the default drain is 28 s).
    ``overrides`` maps dotted keys (``"mjolnir.concurrency"``) to values.
    """
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [sys.executable, str(inst.build_config_script)], check=False, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise ValhallaError(f"valhalla_build_config.py failed: {proc.stderr[-2000:]}")
    cfg: dict[str, Any] = json.loads(proc.stdout)

    ipc = workdir / "ipc"
    ipc.mkdir(exist_ok=True)
    settings: dict[str, Any] = {
        "mjolnir.tile_dir": str(workdir / "tiles"),
        "mjolnir.admin": str(admin_db if admin_db is not None else workdir / "admin.sqlite"),
        "mjolnir.landmarks": str(workdir / "landmarks.sqlite.unused"),
        "mjolnir.timezone": str(workdir / "tz_world.sqlite.unused"),
        "mjolnir.transit_dir": str(workdir / "transit.unused"),
        "mjolnir.transit_feeds_dir": str(workdir / "transit_feeds.unused"),
        "mjolnir.data_processing.use_admin_db": admin_db is not None,
        "additional_data.elevation": "",
        "logging.color": False,
        "httpd.service.listen": listen,
        "httpd.service.loopback": f"ipc://{ipc}/loopback",
        "httpd.service.interrupt": f"ipc://{ipc}/interrupt",
        "httpd.service.drain_seconds": 0,
        "httpd.service.shutdown_seconds": 0,
    }
    for section in ("loki", "thor", "odin", "meili"):
        settings[f"{section}.service.proxy"] = f"ipc://{ipc}/{section}"
    # No tar extracts: dropping the keys makes the service read tile_dir without
    # logging "(stat) ... No such file" errors at startup.
    for key in ("tile_extract", "traffic_extract"):
        cfg["mjolnir"].pop(key, None)
    settings.update(overrides or {})
    for key, value in settings.items():
        _set(cfg, key, value)
    if not listen.startswith("tcp://127.0.0.1:"):
        raise ValhallaError(f"refusing to listen on {listen!r}: only tcp://127.0.0.1:PORT")

    out = Path(out) if out is not None else workdir / "config.json"
    out.write_text(json.dumps(cfg, indent=2) + "\n")
    return out


# --------------------------------------------------------------------------- build


@dataclass(frozen=True)
class BuildResult:
    """Outcome of ``build_tiles``: timing and size of the tile build."""

    pbf: Path
    config_path: Path
    tile_dir: Path
    seconds: float  # wall time of valhalla_build_tiles
    peak_rss_mb: float  # peak RSS of valhalla_build_tiles (MiB)
    tile_dir_bytes: int
    tile_files: int
    log_path: Path
    admin_seconds: float | None = None  # wall time of valhalla_build_admins, if run
    admin_peak_rss_mb: float | None = None

    @property
    def tile_dir_mb(self) -> float:
        """Tile directory size in MiB (apparent size)."""
        return self.tile_dir_bytes / 2**20


class ValhallaTimeout(ValhallaError):
    """A build step went over its time limit or memory cap and was stopped."""


def _run_measured(
    cmd: Sequence[str | Path], env: dict[str, str], log: Path, cwd: Path, *,
    timeout_s: float | None = None, max_rss_mb: float | None = None,
) -> RunStats:
    """Run cmd (bench/proc.py: own process group, time limit, memory cap), log its output and
    return wall time and the command's own peak RSS; raise on failure, timeout or cap."""
    stats = run_measured(cmd, log=log, cwd=cwd, env=env, timeout_s=timeout_s, max_rss_mb=max_rss_mb)
    if stats.status in ("timeout", "memory"):
        what = f"{timeout_s:.0f} s" if stats.status == "timeout" else f"{max_rss_mb:.0f} MB"
        raise ValhallaTimeout(f"{Path(cmd[0]).name} stopped at its {stats.status} limit ({what}) after "
                              f"{stats.seconds:.0f} s, peak {stats.peak_rss_mb:.0f} MB; log {log}")
    if not stats.ok:
        tail = log.read_text(errors="replace")[-3000:]
        raise ValhallaError(f"{cmd[0]} failed (rc={stats.returncode}); log {log}:\n{tail}")
    return stats


def _write_gb_admin_pbf(path: Path, bbox: tuple[float, float, float, float]) -> None:
    """Write a tiny .osm.pbf with one admin_level=2 'United Kingdom' rectangle (needs pyosmium)."""
    try:
        import osmium
    except ImportError as exc:  # pragma: no cover - osmium is a project dependency
        raise ValhallaError("admin='gb' needs pyosmium (pip package 'osmium')") from exc
    if path.exists():
        path.unlink()
    base = 9_000_000_000_000  # far from real OSM ids; file is only read by build_admins
    x0, y0, x1, y1 = bbox
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    tags = {
        "type": "boundary", "boundary": "administrative", "admin_level": "2",
        "name": "United Kingdom", "name:en": "United Kingdom",
        "ISO3166-1": "GB", "ISO3166-1:alpha2": "GB",
    }  # fmt: skip
    w = osmium.SimpleWriter(str(path))
    try:
        for i, loc in enumerate(corners):
            w.add_node(osmium.osm.mutable.Node(id=base + i, location=loc, version=1, tags={}))
        ring = [base + i for i in range(4)] + [base]
        w.add_way(osmium.osm.mutable.Way(id=base, nodes=ring, version=1, tags={}))
        w.add_relation(osmium.osm.mutable.Relation(
            id=base, members=[("w", base, "outer")], version=1, tags=tags))  # fmt: skip
    finally:
        w.close()


def _dir_size(path: Path) -> tuple[int, int]:
    """(total bytes, number of files) under path."""
    total = n = 0
    for p in path.rglob("*"):
        if p.is_file():
            total += p.stat().st_size
            n += 1
    return total, n


def build_tiles(
    inst: ValhallaInstall,
    pbf: Path,
    workdir: Path,
    *,
    admin: AdminMode = "gb",
    gb_bbox: tuple[float, float, float, float] = GB_BBOX,
    threads: int | None = None,
    config_overrides: dict[str, Any] | None = None,
    timeout_s: float | None = None,
    max_rss_mb: float | None = None,
) -> BuildResult:
    """Write the config and run ``valhalla_build_tiles -c config.json [-j N] PBF`` in workdir.

    The tile dir (``workdir/tiles``) is wiped first so every build is from scratch.
    admin="gb" (default) first builds a one-polygon admin DB declaring the whole GB
    bbox as "United Kingdom" so Valhalla uses left-hand traffic and UK access
    defaults; county extracts do not contain complete country boundaries, so a DB
    built from the extract itself would be empty and Valhalla would assume
    right-hand traffic.  admin="none" skips it.  No timezone DB, no elevation.
    ``threads`` maps to ``-j`` (None = all hardware threads).  ``timeout_s`` and
    ``max_rss_mb`` stop the tile build (ValhallaTimeout) when it goes over them.
    """
    pbf = Path(pbf).resolve()
    workdir = Path(workdir).resolve()
    if not pbf.is_file():
        raise ValhallaError(f"pbf not found: {pbf}")
    workdir.mkdir(parents=True, exist_ok=True)
    tile_dir = workdir / "tiles"
    if tile_dir.exists():
        shutil.rmtree(tile_dir)
    tile_dir.mkdir()
    log = workdir / "build.log"
    log.write_text("")

    admin_db: Path | None = None
    admin_stats: RunStats | None = None
    if admin == "gb":
        admin_db = workdir / "admin_gb.sqlite"
        admin_db.unlink(missing_ok=True)
        admin_pbf = workdir / "gb_admin.osm.pbf"
        _write_gb_admin_pbf(admin_pbf, gb_bbox)
        cfg = write_config(inst, workdir, admin_db=admin_db, overrides=config_overrides)
        admin_stats = _run_measured(
            [inst.bin("valhalla_build_admins"), "-c", cfg, admin_pbf], inst.env(), log, workdir
        )
        if not admin_db.is_file():
            raise ValhallaError(f"valhalla_build_admins did not create {admin_db}; see {log}")
    elif admin != "none":
        raise ValueError(f"admin must be 'gb' or 'none', not {admin!r}")
    else:
        cfg = write_config(inst, workdir, admin_db=None, overrides=config_overrides)

    cmd: list[str | Path] = [inst.bin("valhalla_build_tiles"), "-c", cfg]
    if threads is not None:
        cmd += ["-j", str(threads)]
    cmd.append(pbf)
    stats = _run_measured(cmd, inst.env(), log, workdir, timeout_s=timeout_s, max_rss_mb=max_rss_mb)
    size, nfiles = _dir_size(tile_dir)
    if nfiles == 0:
        raise ValhallaError(f"valhalla_build_tiles produced no tiles in {tile_dir}; see {log}")
    return BuildResult(
        pbf=pbf,
        config_path=cfg,
        tile_dir=tile_dir,
        seconds=stats.seconds,
        peak_rss_mb=stats.peak_rss_mb,
        tile_dir_bytes=size,
        tile_files=nfiles,
        log_path=log,
        admin_seconds=admin_stats.seconds if admin_stats else None,
        admin_peak_rss_mb=admin_stats.peak_rss_mb if admin_stats else None,
    )


# --------------------------------------------------------------------------- service


def _free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_LIVE: set[subprocess.Popen[bytes]] = set()


@atexit.register
def _kill_leftovers() -> None:
    """Last-resort cleanup: never leave a valhalla_service running after exit."""
    for proc in list(_LIVE):
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        _LIVE.discard(proc)


class ValhallaService:
    """Context manager running ``valhalla_service CONFIG THREADS`` on 127.0.0.1:PORT.

    Writes a per-port copy of the config (``service-<port>.json`` next to it), starts
    the service, waits until ``GET /status`` answers 200 (and, with require_tiles,
    reports a loaded tileset), and on exit sends SIGTERM,
    then SIGKILL after ``stop_timeout`` seconds.  Requests go through one keep-alive
    ``http.client`` connection (reopened transparently if the server drops it).
    """

    def __init__(
        self,
        inst: ValhallaInstall,
        config_path: Path,
        *,
        threads: int = 1,
        port: int | None = None,
        startup_timeout: float = 60.0,
        stop_timeout: float = 10.0,
        request_timeout: float = 60.0,
        log_path: Path | None = None,
        require_tiles: bool = True,
    ) -> None:
        self.inst = inst
        self.base_config = Path(config_path).resolve()
        self.threads = threads
        self.port = port
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.request_timeout = request_timeout
        self.log_path = log_path
        self.require_tiles = require_tiles
        self.proc: subprocess.Popen[bytes] | None = None
        self.config_path: Path | None = None
        self.status: dict[str, Any] | None = None
        self.last_error: dict[str, Any] | None = None
        self._conn: http.client.HTTPConnection | None = None
        self._log_fh: Any = None

    # -- lifecycle
    def start(self) -> Self:
        """Start the service and block until /status answers (raises on failure)."""
        if self.proc is not None:
            raise ValhallaError("service already started")
        self.port = self.port or _free_port()
        cfg = json.loads(self.base_config.read_text())
        _set(cfg, "httpd.service.listen", f"tcp://127.0.0.1:{self.port}")
        _set(cfg, "httpd.service.drain_seconds", 0)
        _set(cfg, "httpd.service.shutdown_seconds", 0)
        self.config_path = self.base_config.with_name(f"service-{self.port}.json")
        self.config_path.write_text(json.dumps(cfg, indent=2) + "\n")
        log = self.log_path or self.base_config.with_name(f"service-{self.port}.log")
        self.log_path = Path(log)
        self._log_fh = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(self.inst.bin("valhalla_service")), str(self.config_path), str(self.threads)],
            stdout=self._log_fh,
            stderr=subprocess.STDOUT,
            env=self.inst.env(),
            cwd=self.config_path.parent,
            start_new_session=True,  # Ctrl-C in a terminal reaches us, not the service
        )
        _LIVE.add(self.proc)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        last_exc: Exception | None = None
        assert self.proc is not None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ValhallaError(
                    f"valhalla_service exited with rc={self.proc.returncode} during startup; "
                    f"log {self.log_path}:\n{self._log_tail()}"
                )
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/status")
                resp = conn.getresponse()
                body = resp.read()
                conn.close()
                if resp.status == 200:
                    self.status = json.loads(body)
                    # With a wrong tile_dir the service starts happily and answers every
                    # route with error 171; catch that here instead.
                    if self.require_tiles and not self.status.get("tileset_last_modified"):
                        raise ValhallaError(
                            f"valhalla_service found no tiles (config {self.config_path}, "
                            f"status {self.status}); check mjolnir.tile_dir"
                        )
                    return
            except (OSError, http.client.HTTPException, ValueError) as exc:
                last_exc = exc
            time.sleep(0.05)
        raise ValhallaError(
            f"valhalla_service not ready after {self.startup_timeout}s ({last_exc!r}); "
            f"log {self.log_path}:\n{self._log_tail()}"
        )

    def _log_tail(self, n: int = 3000) -> str:
        try:
            return Path(self.log_path).read_text(errors="replace")[-n:]  # type: ignore[arg-type]
        except OSError:
            return ""

    def stop(self) -> None:
        """Terminate the service (SIGTERM, then SIGKILL after stop_timeout). Idempotent."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=self.stop_timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            _LIVE.discard(proc)
        if self._log_fh is not None:
            self._log_fh.close()
            self._log_fh = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __del__(self) -> None:  # pragma: no cover - safety net only
        with contextlib.suppress(Exception):
            self.stop()

    # -- requests
    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:40123``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """PID of the running service, or None."""
        return self.proc.pid if self.proc is not None else None

    def post(self, path: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
        """POST JSON on the keep-alive connection; return (HTTP status, JSON body, latency s).

        Latency is perf_counter from sending the request to having read the whole
        body (JSON decoding excluded).  One transparent retry on a dropped connection.
        """
        if self.proc is None or self.proc.poll() is not None:
            raise ValhallaError("valhalla_service is not running")
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
        for attempt in (0, 1):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=self.request_timeout
                )
                self._conn.connect()
            try:
                t0 = time.perf_counter()
                self._conn.request("POST", path, body=body, headers=headers)
                resp = self._conn.getresponse()
                raw = resp.read()
                latency = time.perf_counter() - t0
            except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
                self._conn.close()
                self._conn = None
                if attempt:
                    raise
                continue
            if resp.will_close:
                self._conn.close()
                self._conn = None
            try:
                data = json.loads(raw) if raw else {}
            except ValueError:
                data = {"error": raw[:500].decode(errors="replace")}
            return resp.status, data, latency
        raise AssertionError("unreachable")


# --------------------------------------------------------------------------- routing


@dataclass(frozen=True)
class RouteAnswer:
    """One Valhalla route: trip summary plus client-side latency."""

    time_s: float  # trip.summary.time
    distance_m: float  # trip.summary.length (km, 3 decimals) * 1000
    latency_s: float  # client-side request latency
    raw_summary: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


def route(
    service: ValhallaService,
    origin_latlon: LatLon,
    dest_latlon: LatLon,
    costing: str = "bus",
    costing_options: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> RouteAnswer | None:
    """POST /route for one O/D pair; None if Valhalla finds no route (HTTP 4xx error JSON).

    Request: ``locations`` (lat/lon), ``costing``, ``units: kilometers``,
    ``directions_type: none``.  ``costing_options`` goes under
    ``costing_options[costing]``; ``extra`` is merged into the top-level request.
    The error JSON of a failed request is kept in ``service.last_error``.
    Raises ValhallaError on 5xx or malformed answers.
    """
    payload: dict[str, Any] = {
        "locations": [
            {"lat": float(origin_latlon[0]), "lon": float(origin_latlon[1])},
            {"lat": float(dest_latlon[0]), "lon": float(dest_latlon[1])},
        ],
        "costing": costing,
        "units": "kilometers",
        "directions_type": "none",
    }
    if costing_options:
        payload["costing_options"] = {costing: costing_options}
    if extra:
        payload.update(extra)
    status, data, latency = service.post("/route", payload)
    if 400 <= status < 500:
        service.last_error = {"http_status": status, "latency_s": latency, **data}
        return None
    if status != 200:
        raise ValhallaError(f"/route HTTP {status}: {data}")
    try:
        summary = data["trip"]["summary"]
        if data["trip"].get("units", "kilometers") != "kilometers":
            raise ValhallaError(f"unexpected units {data['trip'].get('units')!r}")
        return RouteAnswer(
            time_s=float(summary["time"]),
            distance_m=float(summary["length"]) * 1000.0,
            latency_s=latency,
            raw_summary=summary,
        )
    except (KeyError, TypeError) as exc:
        raise ValhallaError(f"malformed /route answer: {str(data)[:500]}") from exc


def route_many(
    service: ValhallaService,
    pairs: Iterable[tuple[LatLon, LatLon]],
    costing: str = "bus",
    costing_options: dict[str, Any] | None = None,
) -> list[RouteAnswer | None]:
    """``route`` for each (origin, dest) pair, sequentially on one keep-alive connection."""
    return [route(service, o, d, costing, costing_options) for o, d in pairs]
