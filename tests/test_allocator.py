"""``allocator.reuse_freed_memory``: under Dask's ``MALLOC_TRIM_THRESHOLD_`` every freed block
above 128 KiB goes back to the OS and the next search faults its pages in afresh; after the call
the blocks are reused.  Measured as minor page faults of a fresh process (Linux with glibc)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from routeplan.allocator import ENV, reuse_freed_memory

PROBE = """
import json, resource, sys
import numpy as np
from routeplan.allocator import reuse_freed_memory
tuned = reuse_freed_memory() if sys.argv[1] == "tune" else False
a = np.ones(1 << 18); del a  # 2 MiB: one warm-up block
r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(200):  # a search's scratch: allocate, write, free
    a = np.ones(1 << 18); del a
print(json.dumps({"tuned": tuned, "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0}))
"""


def _faults(tune: bool, trim_env: bool) -> dict[str, int]:
    env = {k: v for k, v in os.environ.items() if k != ENV}
    if trim_env:
        env[ENV] = "65536"
    out = subprocess.run([sys.executable, "-c", PROBE, "tune" if tune else "plain"], env=env, capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")
def test_blocks_are_reused_after_the_call_under_dasks_trim_threshold() -> None:
    plain = _faults(tune=False, trim_env=True)
    tuned = _faults(tune=True, trim_env=True)
    default = _faults(tune=False, trim_env=False)
    assert tuned["tuned"] and not plain["tuned"]
    # 200 blocks of 512 pages: faulted afresh every time under the setting, reused after the call
    assert plain["faults"] > 200 * 400, plain
    assert tuned["faults"] < plain["faults"] / 20, (tuned, plain)
    assert default["faults"] < plain["faults"] / 20, (default, plain)  # glibc's own dynamic rule, for comparison


def test_nothing_is_changed_without_the_variable() -> None:
    assert reuse_freed_memory({}) is False
    assert reuse_freed_memory({"PATH": "/bin"}) is False


TRIM_PROBE = """
import json, sys
from routeplan.allocator import release_freed_memory

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

blocks = [bytearray(4096) for _ in range(25_000)]  # 100 MB of heap blocks (below the mmap threshold)
pin = bytearray(4096)  # the heap's top stays in use, so free() alone cannot shrink the heap
del blocks
before = rss_mb()
if sys.argv[1] == "trim":
    release_freed_memory()
print(json.dumps({"freed_mb": before - rss_mb()}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_release_freed_memory_hands_freed_heap_pages_back() -> None:
    """The build calls it between stages: freed heap blocks below a block still in use stay
    resident until ``malloc_trim`` returns their pages."""
    env = {k: v for k, v in os.environ.items() if k != ENV}

    def freed(mode: str) -> float:
        out = subprocess.run([sys.executable, "-c", TRIM_PROBE, mode], env=env, capture_output=True, text=True, check=True)
        return float(json.loads(out.stdout)["freed_mb"])

    assert freed("trim") > 80  # measured: about 100 MB
    assert freed("keep") < 20  # and nothing without the call
