"""Where data and caches live.

The data directory is resolved in this order: an explicit argument (the CLI's ``--data-dir``),
the ``ROUTEPLAN_DATA`` environment variable, then the user data folder
(``$XDG_DATA_HOME/routeplan`` or ``~/.local/share/routeplan``), which is where
:mod:`routeplan.fetch` puts downloads for real users.  Tests and CI point ``ROUTEPLAN_DATA`` at
``../shared/data``.  The cache directory (built graphs) follows ``ROUTEPLAN_CACHE`` then
``$XDG_CACHE_HOME/routeplan``.

Relative paths (``ROUTEPLAN_DATA=../shared/data``, as the README's demo sets it) are resolved
against the working folder *at start-up* (:func:`freeze_environment`, called on import and by
the CLI), so code that later runs in another folder (a notebook kernel, a download into a
temporary folder) still finds the same data.
"""

from __future__ import annotations

import os
from pathlib import Path

from routeplan.errors import ConfigError

DATA_ENV = "ROUTEPLAN_DATA"
CACHE_ENV = "ROUTEPLAN_CACHE"
_START_CWD = Path.cwd() if os.path.isdir(".") else Path("/")


def _absolute(p: str | os.PathLike[str]) -> Path:
    path = Path(p).expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else _START_CWD / path))


def freeze_environment() -> None:
    """Make relative ``ROUTEPLAN_DATA``/``ROUTEPLAN_CACHE`` absolute (children inherit them)."""
    for var in (DATA_ENV, CACHE_ENV):
        val = os.environ.get(var)
        if val:
            os.environ[var] = str(_absolute(val))


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Return the data directory as an absolute path (it may not exist yet)."""
    if override:
        return _absolute(override)
    env = os.environ.get(DATA_ENV)
    if env:
        return _absolute(env)
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return _absolute(Path(base) / "routeplan")


def cache_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Return the cache directory for built graphs, creating it.

    Raises :class:`ConfigError` when it cannot be created (a file in the way, no permission).
    """
    if override:
        path = _absolute(override)
    elif os.environ.get(CACHE_ENV):
        path = _absolute(os.environ[CACHE_ENV])
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        path = _absolute(Path(base) / "routeplan")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"cache folder {path} cannot be created: {exc.strerror or exc}"
        raise ConfigError(msg) from exc
    if not os.access(path, os.W_OK | os.X_OK):
        msg = f"cache folder {path} is not writable"
        raise ConfigError(msg)
    return path


freeze_environment()
