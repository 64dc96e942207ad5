"""Where the real test data lives: ``$ROUTEPLAN_DATA`` or ``../shared/data`` beside the repo."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Absolute: tests (the notebook, downloads) run in other folders too.
DATA = Path(os.environ.get("ROUTEPLAN_DATA") or REPO.parent / "shared" / "data").resolve()
NEWPORT = DATA / "osm" / "newport-2023-06-13.osm.pbf"
RUTLAND = DATA / "osm" / "rutland-latest.osm.pbf"
