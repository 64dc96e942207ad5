"""Read a (generated) .osm.pbf back into plain Python for assertions in the generator tests."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import osmium


@dataclass
class Parsed:
    nodes: dict[int, tuple[float, float, dict[str, str]]] = field(default_factory=dict)
    ways: list[tuple[int, list[int], dict[str, str]]] = field(default_factory=list)
    node_order: list[int] = field(default_factory=list)
    versions: set[int] = field(default_factory=set)
    timestamps: set[str] = field(default_factory=set)
    generator: str = ""


def parse(path: Path) -> Parsed:
    """Nodes, ways, ids in file order, versions, timestamps and the header's generator."""
    out = Parsed()
    reader = osmium.io.Reader(str(path))
    out.generator = reader.header().get("generator")
    reader.close()
    for obj in osmium.FileProcessor(str(path)):
        out.versions.add(obj.version)
        out.timestamps.add(obj.timestamp.isoformat())
        if obj.is_node():
            out.node_order.append(obj.id)
            out.nodes[obj.id] = (obj.location.lon, obj.location.lat, dict(obj.tags))
        elif obj.is_way():
            out.ways.append((obj.id, [n.ref for n in obj.nodes], dict(obj.tags)))
    return out


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
