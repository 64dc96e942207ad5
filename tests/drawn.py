"""Tiny drawn maps for behaviour tests, in the spirit of OSRM's cucumber features.

A map is an ASCII grid where letters/digits are nodes (100 m apart), plus a table of ways
(node string -> tags) and constituencies drawn as rectangles of grid cells.  It is written as a
real ``.osm`` XML file, so tests exercise the reader too.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

import shapely

# Origin of the drawn grid: a field near Newport; 100 m per grid step.
LAT0, LON0 = 51.50, -3.00
DLAT = 100.0 / 111_320.0
DLON = 100.0 / (111_320.0 * 0.6225)


def grid_nodes(picture: str) -> dict[str, tuple[float, float]]:
    """Node name -> (lat, lon) from the ASCII picture (row 0 at the top)."""
    out = {}
    lines = [ln for ln in picture.strip("\n").splitlines()]
    for r, line in enumerate(lines):
        for c, ch in enumerate(line):
            if ch.isalnum():
                out[ch] = (LAT0 - r * DLAT, LON0 + c / 2 * DLON)  # two characters per grid step
    return out


def write_osm(path: Path, picture: str, ways: list[tuple[str, dict[str, str]]]) -> dict[str, tuple[float, float]]:
    """Write the drawn map as OSM XML; returns the node positions."""
    nodes = grid_nodes(picture)
    ids = {name: i + 1 for i, name in enumerate(sorted(nodes))}
    rows = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="routeplan-tests">']
    for name in sorted(nodes):
        lat, lon = nodes[name]
        rows.append(f'<node id="{ids[name]}" version="1" lat="{lat:.7f}" lon="{lon:.7f}">'
                    f'<tag k="name" v="Node {name}"/><tag k="place" v="hamlet"/></node>')
    for w, (seq, tags) in enumerate(ways):
        rows.append(f'<way id="{w + 1}" version="1">')
        rows.extend(f'<nd ref="{ids[ch]}"/>' for ch in seq)
        rows.extend(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
        rows.append("</way>")
    rows.append("</osm>")
    path.write_text("\n".join(rows), encoding="utf-8")
    return nodes


def cell_box(col0: float, row0: float, col1: float, row1: float) -> shapely.Polygon:
    """A rectangle in grid units (columns are grid steps, not characters), as a WGS84 polygon."""
    return shapely.box(LON0 + col0 * DLON, LAT0 - row1 * DLAT, LON0 + col1 * DLON, LAT0 - row0 * DLAT)
