"""A real user's machine: ``pip install .`` (not editable) then ``routeplan route``, with a
relative ``ROUTEPLAN_DATA`` as the README's demo sets it (issue 12, item 8)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from datapaths import DATA, REPO


@pytest.mark.integration
@pytest.mark.slow
def test_non_editable_install_routes_with_relative_data(tmp_path: Path) -> None:
    target = tmp_path / "site"
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(REPO)],
        capture_output=True, text=True, check=False,
    )
    assert pip.returncode == 0, pip.stderr
    assert (target / "routeplan" / "data" / "boundaries.toml").is_file(), "the boundary manifest must ship in the package"
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = dict(os.environ, PYTHONPATH=str(target), ROUTEPLAN_DATA=os.path.relpath(DATA, work), ROUTEPLAN_CACHE=str(tmp_path / "cache"))
    code = "import routeplan, sys; print(routeplan.__file__, file=sys.stderr); from routeplan.cli import main; main()"
    res = subprocess.run(
        [sys.executable, "-c", code, "route", "--osm", "newport", "--from", "Rogerstone", "--to", "Marshfield", "-q"],
        capture_output=True, text=True, cwd=work, env=env, check=False,
    )
    assert res.returncode == 0, res.stderr
    assert res.stderr.splitlines()[0].startswith(str(target)), "ran the editable source, not the installed copy"
    assert "CHEAPEST" in res.stdout and "FASTEST" in res.stdout
