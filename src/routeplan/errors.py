"""Exception hierarchy.

Every error a planner can cause carries an ``exit_code`` so the CLI can turn it into one line
and a distinct exit status (OSRM's error codes start at 2 for the same reason: they never
collide with a generic failure).  Anything that is *not* a :class:`RouteplanError` is a bug.
"""

from __future__ import annotations


class RouteplanError(Exception):
    """Base of all errors a user can cause; the CLI prints these as one line."""

    exit_code = 1


class UsageError(RouteplanError, ValueError):
    """Arguments that do not make sense together."""

    exit_code = 2


class DataError(RouteplanError):
    """Missing, corrupt or stale input data (PBF, boundary file, cache entry)."""

    exit_code = 3


class ConfigError(RouteplanError, ValueError):
    """A policy, vehicle or settings file with unknown keys or bad values."""

    exit_code = 4


class LocateError(RouteplanError, LookupError):
    """A place that cannot be found, is ambiguous, or is too far from a coach road."""

    exit_code = 5


class NoRouteError(RouteplanError):
    """No coach route joins the stops (one-ways, restrictions, disconnected data)."""

    exit_code = 6


class InfeasibleError(NoRouteError):
    """Routes exist, but the hard-avoid list or the limits rule all of them out."""

    exit_code = 6
