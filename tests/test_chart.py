"""The trade-off chart: valid SVG, one dot per Pareto route, the chosen route ringed, offline."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from routeplan.chart import Point, pareto_svg

NS = {"s": "http://www.w3.org/2000/svg"}


def test_chart_draws_every_point_and_rings_the_chosen() -> None:
    pts = [Point(46100, 437.0), Point(92200, 396.0), Point(0, 900.0)]
    svg = pareto_svg(pts, chosen=0, fastest=1)
    root = ET.fromstring(svg)
    circles = root.findall("s:circle", NS)
    dots = [c for c in circles if c.get("fill") not in (None, "none")]
    ring = [c for c in circles if c.get("fill") == "none"]
    assert len(dots) == 3 and len(ring) == 1
    chosen_dot = next(c for c in dots if c.get("fill") == "#0b3d91")
    assert (chosen_dot.get("cx"), chosen_dot.get("cy")) == (ring[0].get("cx"), ring[0].get("cy"))
    # Cheaper is lower on the chart, slower is further right.
    by_pence = sorted(dots, key=lambda c: float(c.get("cy", 0)))
    top_title = by_pence[0].find("s:title", NS)
    assert top_title is not None and str(top_title.text).startswith("£922")
    assert "http://" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert pareto_svg(pts, chosen=0, fastest=1) == svg  # deterministic


def test_single_route_and_bad_points() -> None:
    ET.fromstring(pareto_svg([Point(46100, 400.0)]))
    with pytest.raises(ValueError, match="at least one"):
        pareto_svg([])
    with pytest.raises(ValueError, match="finite"):
        pareto_svg([Point(1, float("nan"))])


@pytest.mark.integration
def test_route_writes_the_chart_and_the_map_carries_it(tmp_path: Path, capsys: pytest.CaptureFixture[str], cache_root: Path) -> None:
    from datapaths import NEWPORT

    from routeplan.cli import main

    chart, m = tmp_path / "c.svg", tmp_path / "m.html"
    with pytest.raises(SystemExit) as exc:
        main(["route", "--osm", str(NEWPORT), "--from", "Duffryn", "--to", "Stow Park", "--alternatives", "-q",
              "--chart", str(chart), "--map", str(m)])
    assert exc.value.code == 0, capsys.readouterr().err
    root = ET.fromstring(chart.read_text())
    assert len([c for c in root.findall("s:circle", NS) if c.get("fill") != "none"]) == 2  # £461 / £922 front
    assert "Charge against driving time" in m.read_text()
