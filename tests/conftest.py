"""Shared fixtures: the real data folder (../shared/data, or $ROUTEPLAN_DATA) and built networks.

Missing real data is a hard error, never a skip: CI must not pass on tests that did not run.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from datapaths import DATA, NEWPORT, RUTLAND


def pytest_configure(config: pytest.Config) -> None:
    if not (DATA / "boundaries" / "wpc-2024.gpkg").exists() or not NEWPORT.exists():
        raise pytest.UsageError(f"real test data not found in {DATA}; set ROUTEPLAN_DATA to the shared data folder")
    os.environ["ROUTEPLAN_DATA"] = str(DATA)
    # Every cache the suite writes (boundaries, networks) goes to a fresh folder, never ~/.cache.
    os.environ["ROUTEPLAN_CACHE"] = tempfile.mkdtemp(prefix="routeplan-test-cache-")


@pytest.fixture(scope="session")
def cache_root() -> Path:
    return Path(os.environ["ROUTEPLAN_CACHE"])


@pytest.fixture(scope="session")
def b2024():
    from routeplan.boundaries import load_boundaries

    return load_boundaries("wpc-2024", data_dir=DATA)


@pytest.fixture(scope="session")
def b2010():
    from routeplan.boundaries import load_boundaries

    return load_boundaries("wpc-2010", data_dir=DATA)


@pytest.fixture(scope="session")
def newport2024(b2024, cache_root):
    from routeplan.network import build_network

    return build_network(NEWPORT, b2024, cache_dir=cache_root)


@pytest.fixture(scope="session")
def newport2010(b2010, cache_root):
    from routeplan.network import build_network

    return build_network(NEWPORT, b2010, cache_dir=cache_root)


@pytest.fixture(scope="session")
def rutland2024(b2024, cache_root):
    from routeplan.network import build_network

    return build_network(RUTLAND, b2024, cache_dir=cache_root)
