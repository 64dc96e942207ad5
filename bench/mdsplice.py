"""Several benchmark scripts write one ``docs/benchmarks.md``: each rewrites only its own sections.

The file is cut at its level-2 headings (``## ...`` outside code fences).  ``bench/run.py`` owns
the preamble and a few sections, ``bench/matrix.py`` the venue-matrix section, and the "Whole days
and stop order" section (``bench/days.py`` plus hand-written analysis) is kept byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence


def split_sections(text: str) -> list[tuple[str | None, str]]:
    """``[(heading, chunk), ...]`` in order: ``heading`` is the ``## `` line (``None`` for what
    comes before the first one) and the chunks joined give ``text`` back exactly."""
    out: list[tuple[str | None, str]] = []
    head: str | None = None
    buf: list[str] = []
    fenced = False
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            if buf or head is not None:
                out.append((head, "".join(buf)))
            head, buf = line.rstrip("\r\n"), [line]
        else:
            buf.append(line)
    if buf or head is not None:
        out.append((head, "".join(buf)))
    return out


def _block(chunk: str) -> str:
    """A chunk ending in exactly one blank line (sections are separated by one)."""
    return chunk.rstrip("\n") + "\n\n"


def rewrite_owned(old: str, new_owned: str, owns: Callable[[str | None], bool]) -> str:
    """``new_owned`` (the owner's preamble and sections) followed by every section of ``old``
    that the owner does not own, unchanged and in their order."""
    kept = [chunk for head, chunk in split_sections(old) if not owns(head)]
    parts = [_block(new_owned), *kept]
    return "".join(parts).rstrip("\n") + "\n"


def replace_section(old: str, section: str, *, before: Sequence[str] = ()) -> str:
    """Put ``section`` (starting with its ``## `` heading) in place of the section of the same
    heading; if there is none, insert it before the first section whose heading starts with one
    of ``before``, else append it.  Everything else is kept unchanged."""
    head = section.splitlines()[0].rstrip()
    if not head.startswith("## "):
        msg = f"a section starts with a '## ' heading, not {head!r}"
        raise ValueError(msg)
    parts = split_sections(old)
    new = _block(section)
    for k, (h, _) in enumerate(parts):
        if h == head:
            tail = parts[k + 1:]
            chunk = new if tail else new.rstrip("\n") + "\n"
            return "".join([*(c for _, c in parts[:k]), chunk, *(c for _, c in tail)])
    for k, (h, _) in enumerate(parts):
        if h is not None and any(h.startswith(b) for b in before):
            prev = [c for _, c in parts[:k]]
            if prev:
                prev[-1] = _block(prev[-1])
            return "".join([*prev, new, *(c for _, c in parts[k:])])
    body = "".join(c for _, c in parts)
    return (_block(body) if body.strip() else "") + section.rstrip("\n") + "\n"
