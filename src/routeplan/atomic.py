"""Atomic file writes: a planner never finds a half-written map, ledger or cache entry.

Two tools:

* :func:`atomic_path` / :func:`atomic_write` for one file (caches, a synthetic PBF);
* :class:`OutputSet` for *all* outputs of one run: every target is checked up front (never an
  input of the run, never two outputs on one path, only a regular file or a new path), written to
  a temporary file beside it, and renamed into place only when every output has been written.  A
  failure, Ctrl-C or SIGTERM (the CLI turns it into an exception) leaves every earlier file as it
  was and no temporary file behind.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from routeplan.errors import UsageError

STDOUT = "-"


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (no thread race)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success.

    The result gets the mode of the file it replaces, or ``0666 & ~umask`` for a new file, as
    a plain ``open()`` would give (mkstemp's private 0600 is right only while writing).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = target.stat().st_mode & 0o777
    except OSError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        tmp_path.chmod(mode)
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w", **kw: Any) -> Iterator[IO[Any]]:
    """Open a temporary file for writing; it replaces ``path`` only if the block succeeds."""
    with atomic_path(path) as tmp, open(tmp, mode, **kw) as fh:
        yield fh


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def check_output_path(path: str | os.PathLike[str], what: str) -> Path:
    """Refuse a target that is not a regular file or a new path, or whose folder cannot exist.

    Missing parent folders are allowed (they are created on commit) unless a part of the path
    is a file.  Raises :class:`UsageError` naming ``what`` (the parameter or flag).
    """
    p = Path(path)
    if str(path) == "" or p.name in ("", ".", ".."):
        msg = f"{what}: not a file name: {str(path)!r}"
        raise UsageError(msg)
    try:
        st = os.lstat(p)
    except (FileNotFoundError, NotADirectoryError):
        st = None  # a new path (or one under a file: reported below)
    except OSError as exc:
        msg = f"{what}: cannot use {p}: {exc.strerror or exc}"
        raise UsageError(msg) from exc
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            msg = f"{what}: {p} is a symbolic link; give the real file's path"
            raise UsageError(msg)
        if stat.S_ISDIR(st.st_mode):
            msg = f"{what}: {p} is a folder, not a file"
            raise UsageError(msg)
        if not stat.S_ISREG(st.st_mode):
            msg = f"{what}: {p} is not a regular file (device, pipe or socket); refusing to replace it"
            raise UsageError(msg)
    # The nearest existing ancestor must be a writable folder.
    parent = p.absolute().parent
    while not parent.exists():
        if parent.is_symlink():  # dangling link
            break
        parent = parent.parent
    if not parent.is_dir():
        msg = f"{what}: cannot create {p}: {parent} is a file, not a folder"
        raise UsageError(msg)
    if not os.access(parent, os.W_OK | os.X_OK):
        msg = f"{what}: cannot write in folder {parent}"
        raise UsageError(msg)
    return p


class OutputSet:
    """All outputs of one run, written together or not at all.

    >>> outs = OutputSet(inputs=["policy.toml"])          # doctest: +SKIP
    >>> outs.add("--map", "out/route.html")               # checked now
    >>> with outs:                                        # renamed on success, removed on error
    ...     outs.write_text("--map", html)

    ``-`` as a path means standard output, written at commit time too (so a failed run prints
    nothing half-done).  Temporary files are made when the block starts, so an unwritable folder
    fails before any slow work.
    """

    def __init__(self, inputs: Iterable[str | os.PathLike[str] | None] = ()) -> None:
        self._inputs = [Path(i) for i in inputs if i]
        self._targets: dict[str, Path | None] = {}
        self._tmp: dict[str, Path] = {}
        self._stdout: dict[str, str] = {}
        self._open = False

    def add(self, what: str, path: str | os.PathLike[str] | None, *, stdout_ok: bool = False) -> None:
        """Register an output under a name (the flag or parameter, used in messages)."""
        if path is None:
            return
        if str(path) == STDOUT:
            if not stdout_ok:
                msg = f"{what}: '-' (standard output) is not supported for this output"
                raise UsageError(msg)
            if None in self._targets.values():
                other = next(k for k, v in self._targets.items() if v is None)
                msg = f"{what} and {other} both write to standard output"
                raise UsageError(msg)
            self._targets[what] = None
            return
        p = check_output_path(path, what)
        for inp in self._inputs:
            if _same_file(p, inp):
                msg = f"{what}: {p} is an input of this run; refusing to overwrite it"
                raise UsageError(msg)
        for other, q in self._targets.items():
            if q is not None and _same_file(p, q):
                msg = f"{what} and {other} name the same file {p}"
                raise UsageError(msg)
        self._targets[what] = p

    def claims_stdout(self) -> bool:
        return None in self._targets.values()

    def __contains__(self, what: str) -> bool:
        return what in self._targets

    def __enter__(self) -> Self:
        self._open = True
        try:
            for what, p in self._targets.items():
                if p is None:
                    continue
                try:
                    p.parent.mkdir(parents=True, exist_ok=True)
                    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
                except OSError as exc:
                    msg = f"{what}: cannot write {p}: {exc.strerror or exc}"
                    raise UsageError(msg) from exc
                os.close(fd)
                self._tmp[what] = Path(tmp)
        except BaseException:
            self._cleanup()
            raise
        return self

    def path(self, what: str) -> Path:
        """The temporary path to write ``what`` to (inside the ``with`` block)."""
        if what not in self._tmp:
            msg = f"output {what} is not a file output of this run"
            raise KeyError(msg)
        return self._tmp[what]

    def write_text(self, what: str, text: str) -> None:
        """Write a whole text output (file or standard output)."""
        if self._targets.get(what, 0) is None:
            self._stdout[what] = text
            return
        self.path(what).write_text(text, encoding="utf-8")

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            if exc_type is None:
                self._commit()
        finally:
            self._cleanup()
            self._open = False

    def _commit(self) -> None:
        umask = _umask()
        for what, tmp in self._tmp.items():
            target = self._targets[what]
            assert target is not None
            try:
                mode = target.stat().st_mode & 0o777
            except OSError:
                mode = 0o666 & ~umask
            tmp.chmod(mode)
        # Every file is complete: the renames are all that is left.
        for what, tmp in self._tmp.items():
            target = self._targets[what]
            assert target is not None
            os.replace(tmp, target)
        for text in self._stdout.values():
            sys.stdout.write(text)
        sys.stdout.flush()

    def _cleanup(self) -> None:
        for tmp in self._tmp.values():
            with contextlib.suppress(OSError):
                tmp.unlink()
        self._tmp.clear()

    @property
    def written(self) -> list[tuple[str, Path]]:
        return [(w, p) for w, p in self._targets.items() if p is not None]


__all__ = ["STDOUT", "OutputSet", "atomic_path", "atomic_write", "check_output_path"]
