"""Where data and caches live.

The data directory is resolved in this order: an explicit argument (the CLI's ``--data-dir``),
the ``ROUTEPLAN_DATA`` environment variable, then the user data folder
(``$XDG_DATA_HOME/routeplan`` or ``~/.local/share/routeplan``), which is where
:mod:`routeplan.fetch` puts downloads for real users.  Tests and CI point ``ROUTEPLAN_DATA`` at
``../shared/data``.  The cache directory (built graphs) follows ``ROUTEPLAN_CACHE`` then
``$XDG_CACHE_HOME/routeplan``.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "ROUTEPLAN_DATA"
CACHE_ENV = "ROUTEPLAN_CACHE"


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Return the data directory (it may not exist yet)."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "routeplan"


def cache_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Return the cache directory for built graphs, creating it."""
    if override:
        path = Path(override).expanduser()
    elif os.environ.get(CACHE_ENV):
        path = Path(os.environ[CACHE_ENV]).expanduser()
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        path = Path(base) / "routeplan"
    path.mkdir(parents=True, exist_ok=True)
    return path
