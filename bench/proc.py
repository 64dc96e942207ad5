"""Run an external build step with a time limit and a memory cap, and measure it.

Peers' build tools (``osrm-extract``, ``valhalla_build_tiles``, ...) run in their own process
group so that a step over its time limit or memory cap is stopped whole, and the benchmark records
a timeout honestly instead of hanging.  Peak RSS comes from ``/usr/bin/time -f %M`` when the step
ends by itself (exact, the step's own pages; a child forked from this large process would report
the parent's too through ``wait4``) and from sampling the process tree with psutil otherwise.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunStats:
    """Outcome of one measured step: ``status`` is ok, failed, timeout or memory."""

    seconds: float
    peak_rss_mb: float
    returncode: int | None
    status: str

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def tree_rss_mb(pid: int) -> float:
    """RSS of a process and its descendants (MB), 0 when it is gone."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total / 2**20


def run_measured(cmd: Sequence[str | os.PathLike[str]], *, log: Path, cwd: Path, env: dict[str, str] | None = None,
                 timeout_s: float | None = None, max_rss_mb: float | None = None) -> RunStats:
    """Run ``cmd`` (output appended to ``log``); stop its process group at the time limit or cap."""
    timer = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    rss_file = log.with_suffix(log.suffix + ".rss")
    rss_file.unlink(missing_ok=True)
    args = [str(c) for c in cmd]
    full = [timer, "-f", "%M", "-o", str(rss_file), *args] if timer else args
    sampled = [0.0]
    why: list[str] = []
    with log.open("ab") as fh:
        fh.write(("$ " + " ".join(args) + "\n").encode())
        fh.flush()
        t0 = time.perf_counter()
        proc = subprocess.Popen(full, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True)
        stop = threading.Event()

        def watch() -> None:
            while not stop.wait(0.25):
                rss = tree_rss_mb(proc.pid)
                sampled[0] = max(sampled[0], rss)
                over_time = timeout_s is not None and time.perf_counter() - t0 > timeout_s
                over_mem = max_rss_mb is not None and rss > max_rss_mb
                if over_time or over_mem:
                    why.append("timeout" if over_time else "memory")
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    return

        th = threading.Thread(target=watch, daemon=True)
        th.start()
        try:
            rc = proc.wait()
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        finally:
            stop.set()
            th.join()
        seconds = time.perf_counter() - t0
    peak = sampled[0]
    if timer and rss_file.exists():
        with contextlib.suppress(ValueError, IndexError):
            peak = max(peak, float(rss_file.read_text().split()[-1]) / 1024)
    rss_file.unlink(missing_ok=True)
    status = why[0] if why else ("ok" if rc == 0 else "failed")
    return RunStats(seconds=seconds, peak_rss_mb=peak, returncode=rc, status=status)
