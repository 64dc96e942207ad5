"""The C allocator: hand freed memory back between build stages, and undo a setting that makes
the query hot path fault on fresh pages.

:func:`release_freed_memory` runs after each build stage (glibc ``malloc_trim``), so the next
stage's allocations raise the process's peak RSS less.

Dask's nanny starts every worker process with ``MALLOC_TRIM_THRESHOLD_=65536``
(``distributed.nanny.pre-spawn-environ``), to hand memory back to the OS early in data-heavy
workloads.  Setting that variable also turns off glibc's *dynamic* mmap threshold, so every
allocation above 128 KiB is a fresh ``mmap`` and every free an ``munmap``.  A matrix worker runs
thousands of searches, each allocating and freeing a few MB of scratch arrays: under that setting
each search touches its scratch pages afresh (on region, 1 M minor page faults and 2.5-3.3 s of
system time per 3,000 pairs, against 2,500 faults without it; see issue 16's notes).

:func:`reuse_freed_memory` sets the two thresholds to where glibc's dynamic rule settles for large
blocks (mmap above 32 MiB; trim the heap top above 64 MiB), so the scratch blocks are reused
from the heap.  It is called once in each matrix worker, only when the variable is set: a plain
process keeps glibc's own dynamic rule.  On other C libraries it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from functools import cache
from typing import Any

#: glibc's ``mallopt`` parameters (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: Where glibc's dynamic rule caps the mmap threshold on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX),
#: and the trim threshold it sets with it (twice the mmap threshold).
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 64 << 20
ENV = "MALLOC_TRIM_THRESHOLD_"


@cache
def _libc_function(name: str) -> Any:
    """A glibc function, or None on another C library (nothing to do there)."""
    try:
        return getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    except (OSError, AttributeError):  # not glibc
        return None


def _mallopt() -> Any:
    return _libc_function("mallopt") if sys.platform.startswith("linux") else None


def release_freed_memory() -> None:
    """Give memory freed by a finished stage back to the OS (glibc ``malloc_trim``; a no-op
    elsewhere), so the next stage's allocations raise the process's peak RSS less.  Freed
    blocks otherwise stay in the heap, fragmented, and count as resident."""
    trim = _libc_function("malloc_trim")
    if trim is not None:
        trim(0)


def reuse_freed_memory(environ: dict[str, str] | None = None) -> bool:
    """Let this process reuse freed blocks of up to 32 MiB when ``MALLOC_TRIM_THRESHOLD_`` has
    turned glibc's dynamic thresholds off; True if the thresholds were set."""
    env = os.environ if environ is None else environ
    if ENV not in env:
        return False
    mallopt = _mallopt()
    if mallopt is None:
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1)
