"""Shared check for the build steps that can consume their input (``consume=True``: each input
array is emptied as soon as its copy is made, to bound a national build's peak memory)."""

from __future__ import annotations

from typing import Any

import numpy as np


def assert_consumed_alike(kept: Any, eaten: Any, given: Any) -> None:
    """``eaten`` (made with ``consume=True`` from ``given``) equals ``kept`` (made without) array
    by array, dtype included, and in its stats; every array of ``given`` is emptied, none
    half-kept."""
    for k, v in vars(kept).items():
        if isinstance(v, np.ndarray):
            got = getattr(eaten, k)
            assert got.dtype == v.dtype and np.array_equal(got, v), k
    assert kept.stats == eaten.stats
    fields = [k for k, v in vars(given).items() if isinstance(v, np.ndarray)]
    assert {k for k in fields if getattr(given, k).size == 0} == set(fields)
