"""The leg map (routeplan.render): content, attribution, escaping and atomic writes."""

from __future__ import annotations

import dataclasses
import html
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from routeplan.assets import JQUERY_VERSION, LEAFLET_VERSION, MAP_BACKGROUND, static_bytes
from routeplan.boundaries import Boundaries, load_boundaries
from routeplan.itinerary import read_itinerary
from routeplan.ledger import format_money
from routeplan.locate import resolve
from routeplan.network import Network, build_network
from routeplan.policy import ExpensePolicy
from routeplan.render import (
    ALTERNATIVE_COLOUR,
    DESTINATION_COLOUR,
    GENERATED_NOTICE,
    ORIGIN_COLOUR,
    OSM_COPYRIGHT_URL,
    OSM_TEXT,
    PAID_CHEAPEST,
    PAID_FASTEST_ONLY,
    route_map,
    save_map,
    tour_map,
)
from routeplan.routing import Leg, plan_leg
from routeplan.tour import plan_tour

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ROUTEPLAN_DATA") or "/work/shared/data")
PBF = DATA / "osm" / "newport-2023-06-13.osm.pbf"
OGL = "Open Government Licence v.3.0"
# folium names every element <kind>_<32 hex>, at random; everything else should be stable.
_FOLIUM_ID = re.compile(r"_[0-9a-f]{32}(?![0-9a-f])")


@dataclasses.dataclass(frozen=True)
class World:
    bnd: Boundaries
    net: Network
    leg: Leg
    html: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    assert PBF.exists(), f"no Newport extract at {PBF} (set ROUTEPLAN_DATA)"
    bnd = load_boundaries("wpc-2024", data_dir=DATA)
    net = build_network(PBF, bnd, cache_dir=tmp_path_factory.mktemp("cache"))
    leg = plan_leg(net, resolve("Duffryn", net, bnd), resolve("Stow Park", net, bnd), alternatives=True)
    out = save_map(route_map(net, bnd, leg), tmp_path_factory.mktemp("maps") / "leg.html")
    return World(bnd, net, leg, out.read_text(encoding="utf-8"))


def _tooltips(page: str) -> list[str]:
    """The HTML of every bindTooltip(`...`) call (folium puts it in a JS template literal)."""
    return re.findall(r"bindTooltip\(\s*`(.*?)`", page, flags=re.DOTALL)


def _attribution(page: str) -> str:
    m = re.search(r'"attribution": ("(?:[^"\\]|\\.)*")', page)
    assert m, "tile layer has no attribution option"
    return str(json.loads(m.group(1)))


def test_leg_is_the_known_trade_off(world: World) -> None:
    """Guard the data the map assertions below rely on (2024 set: £461 vs £922)."""
    assert world.leg.cheapest.cost_pence == 46100
    assert world.leg.fastest.cost_pence == 92200
    assert world.leg.cheapest.time_s > world.leg.fastest.time_s


def test_both_routes_drawn_once(world: World) -> None:
    page = world.html
    # The front here is exactly {cheapest, fastest}: no duplicate grey copies of them.
    assert page.count("L.polyline(") == 2
    assert page.count('"dashArray": "10 8"') == 1
    assert ALTERNATIVE_COLOUR not in page
    assert "L.control.layers(" in page
    assert "fitBounds(" in page


def test_attribution_in_tiles_and_legend(world: World) -> None:
    attr = _attribution(world.html)
    assert OSM_TEXT in attr
    assert OSM_COPYRIGHT_URL in attr
    assert "ODbL" in attr
    assert world.net.meta["boundary_attribution"] == world.bnd.attribution
    assert html.escape(world.bnd.attribution) in attr
    assert OGL in attr
    legend = world.html[world.html.index('id="routeplan-legend"'):]
    assert OSM_TEXT in legend
    assert OSM_COPYRIGHT_URL in legend
    assert html.escape(world.bnd.attribution) in legend


def test_charged_constituencies_shaded_with_ledger(world: World) -> None:
    leg, page = world.leg, world.html
    charged_cheap = {r.name for r in leg.cheapest.ledger.charged}
    charged_fast_only = {r.name for r in leg.fastest.ledger.charged} - charged_cheap
    assert charged_cheap == {"Newport West and Islwyn"}
    assert charged_fast_only == {"Newport East"}
    assert page.count("L.geoJson(") == 2
    seat_tips = [t for t in _tooltips(page) if "Cheapest route:" in t and "Fastest route:" in t]
    assert len(seat_tips) == 2
    for name in charged_cheap | charged_fast_only:
        tip = next(t for t in seat_tips if f"<b>{html.escape(name)}</b>" in t)
        assert format_money(46100) in tip
    east = next(t for t in seat_tips if "Newport East" in t)
    assert "<b>Cheapest route:</b> not entered" in east
    assert "road: B4240 Stow Park Avenue" in east  # the ledger's reason
    west = next(t for t in seat_tips if "Newport West and Islwyn" in t)
    assert "stop: origin Duffryn" in west
    assert PAID_CHEAPEST in page and PAID_FASTEST_ONLY in page


def test_money_and_minutes_in_tooltips_and_legend(world: World) -> None:
    leg, page = world.leg, world.html
    tips = _tooltips(page)
    cheap = next(t for t in tips if "Cheapest route</b> (chosen)" in t)
    fast = next(t for t in tips if "Fastest route</b>:" in t)
    assert format_money(leg.cheapest.cost_pence) in cheap and f"{leg.cheapest.time_s / 60:.1f} min" in cheap
    assert format_money(leg.fastest.cost_pence) in fast and f"{leg.fastest.time_s / 60:.1f} min" in fast
    assert f"{leg.cheapest.length_m / 1000:.2f} km" in cheap
    legend = page[page.index('id="routeplan-legend"'):]
    for text in ("£461.00 · 7.3 min", "£922.00 · 6.6 min", "Saving £461.00 for 0.7 min extra", "Day rate £461.00", "motorway, motorway_link"):
        assert text in legend


def test_stop_markers_and_popups(world: World) -> None:
    page = world.html
    assert page.count("L.marker(") == 2
    # Pins styled inline (green origin, red destination): no icon font, Bootstrap or plugin.
    assert page.count("L.divIcon(") == 2
    assert f"background:{ORIGIN_COLOUR}" in page and f"background:{DESTINATION_COLOUR}" in page
    assert "AwesomeMarkers" not in page and "markerColor" not in page
    assert "Origin: Duffryn" in page
    assert "Destination: Stow Park" in page
    assert "place=suburb" in page  # the stop's source
    assert "Constituency: Newport West and Islwyn (W07000105)" in page
    assert GENERATED_NOTICE not in page


def test_alternatives_are_a_grey_layer(world: World) -> None:
    other = plan_leg(world.net, resolve("Rogerstone", world.net, world.bnd), resolve("Marshfield", world.net, world.bnd))
    alt = dataclasses.replace(other.cheapest, kind="pareto-9")
    leg = dataclasses.replace(world.leg, front=(*world.leg.front, alt))
    page = route_map(world.net, world.bnd, leg).get_root().render()
    assert page.count("L.polyline(") == 3
    assert ALTERNATIVE_COLOUR in page
    assert "Alternative pareto-9" in page


def test_generated_network_says_so(world: World) -> None:
    fake = dataclasses.replace(world.net, meta={**world.net.meta, "generated": True})
    page = route_map(fake, world.bnd, world.leg, title="Demo").get_root().render()
    assert f"<title>Demo - {GENERATED_NOTICE}</title>" in page
    legend = page[page.index('id="routeplan-legend"'):]
    assert legend.count(GENERATED_NOTICE) == 3  # title, warning and the roads source line
    assert OSM_TEXT in _attribution(page)  # the tiles are still OSM
    assert f"Roads: {GENERATED_NOTICE}" in legend


def test_text_is_escaped(world: World) -> None:
    """Names reach a JS template literal: backticks, ${...} and tags must not survive raw."""
    evil = "Bad`<b>${alert(1)}</b>\\"
    o, d = world.leg.stops
    leg = dataclasses.replace(world.leg, stops=(dataclasses.replace(o, label=evil), d))
    page = route_map(world.net, world.bnd, leg).get_root().render()
    assert evil not in page
    assert "${alert" not in page and "`<b>" not in page
    assert "Bad&#96;&lt;b&gt;&#36;&#123;alert(1)&#125;&lt;/b&gt;&#92;" in page


def test_names_are_never_evaluated_as_templates(world: World) -> None:
    """folium.Element(text) is a Jinja template: a stop called "X{{ 7*7 }}Y" must stay text in the
    title and the legend, never become X49Y (template injection)."""
    o, d = world.leg.stops
    leg = dataclasses.replace(world.leg, stops=(dataclasses.replace(o, label="X{{ 7*7 }}Y"), d))
    page = route_map(world.net, world.bnd, leg).get_root().render()
    assert "X49Y" not in page
    assert "<title>X&#123;&#123; 7*7 &#125;&#125;Y" in page


def test_render_is_deterministic_apart_from_folium_ids(world: World) -> None:
    a = route_map(world.net, world.bnd, world.leg).get_root().render()
    b = route_map(world.net, world.bnd, world.leg).get_root().render()
    assert _FOLIUM_ID.sub("ID", a) == _FOLIUM_ID.sub("ID", b)


def test_failed_render_leaves_existing_file_intact(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "leg.html"
    target.write_text("previous map", encoding="utf-8")
    m = route_map(world.net, world.bnd, world.leg)

    def half_written(path: str, **_kw: object) -> None:
        Path(path).write_text("<html><body>partial", encoding="utf-8")
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(m, "save", half_written)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        save_map(m, target)
    assert target.read_text(encoding="utf-8") == "previous map"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["leg.html"]


def test_failed_route_map_writes_nothing(world: World, tmp_path: Path) -> None:
    target = tmp_path / "leg.html"
    target.write_text("previous map", encoding="utf-8")
    wrong = dataclasses.replace(world.bnd, codes=world.bnd.codes[:-1], index_of={})
    with pytest.raises(ValueError, match="not the one the network was built with"):
        save_map(route_map(world.net, wrong, world.leg), target)
    assert target.read_text(encoding="utf-8") == "previous map"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["leg.html"]


def test_write_under_a_file_fails_cleanly(world: World, tmp_path: Path) -> None:
    blocker = tmp_path / "maps"
    blocker.write_text("not a folder", encoding="utf-8")
    m = route_map(world.net, world.bnd, world.leg)
    with pytest.raises(OSError):
        save_map(m, blocker / "leg.html")
    assert blocker.read_text(encoding="utf-8") == "not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps"]


def test_save_map_returns_path_and_replaces(world: World, tmp_path: Path) -> None:
    target = tmp_path / "sub" / "leg.html"
    target.parent.mkdir()
    target.write_text("old", encoding="utf-8")
    out = save_map(route_map(world.net, world.bnd, world.leg), target)
    assert out == target
    text = target.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "routeplan-legend" in text
    assert sorted(p.name for p in target.parent.iterdir()) == ["leg.html"]


def test_saved_map_is_shareable(world: World, tmp_path: Path) -> None:
    """atomic_path's temporary file is 0600; the map gets the umask mode, or keeps the old one."""
    old = os.umask(0o022)
    try:
        fresh = save_map(route_map(world.net, world.bnd, world.leg), tmp_path / "new.html")
    finally:
        os.umask(old)
    assert fresh.stat().st_mode & 0o777 == 0o644
    kept = tmp_path / "kept.html"
    kept.write_text("old", encoding="utf-8")
    kept.chmod(0o640)
    save_map(route_map(world.net, world.bnd, world.leg), kept)
    assert kept.stat().st_mode & 0o777 == 0o640


def test_zero_length_leg_draws_markers_only(world: World) -> None:
    """Origin and destination on one node: no polyline (folium refuses empty ones), still a map."""
    o = world.leg.stops[0]
    leg = plan_leg(world.net, o, o)
    assert leg.cheapest.coords(world.net) == []
    page = route_map(world.net, world.bnd, leg).get_root().render()
    assert page.count("L.polyline(") == 0
    assert page.count("L.marker(") == 2
    assert "£461.00 · 0.0 min" in page


# -- offline pages (issue 15, item 1) ---------------------------------------------------------
# Every http(s) URL an offline page may contain: tiles, attribution links, the SVG namespace and
# the URLs inside the vendored code's comments and licence notices.  None is a script or style.
_ALLOWED_HOSTS = {
    "tile.openstreetmap.org", "www.openstreetmap.org", "www.w3.org", "leafletjs.com", "jquery.com", "openjsf.org",
    "bugs.chromium.org", "bugzilla.mozilla.org",
}


class _Resources(HTMLParser):
    """What a page would fetch: script/img/iframe sources, <link> hrefs, @import and url() in <style>."""

    def __init__(self) -> None:
        super().__init__()
        self.fetched: list[str] = []
        self._tag = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag = tag
        a = dict(attrs)
        if tag in ("script", "img", "iframe", "source", "embed") and a.get("src"):
            self.fetched.append(str(a["src"]))
        if tag == "link" and a.get("href"):
            self.fetched.append(str(a["href"]))

    def handle_data(self, data: str) -> None:
        if self._tag == "style":
            self.fetched += re.findall(r"@import\s+[^;]+", data)
            self.fetched += [u for u in re.findall(r"url\(\s*['\"]?([^'\")]+)", data) if not u.startswith(("data:", "#"))]


def _fetched(page: str) -> list[str]:
    parser = _Resources()
    parser.feed(page)
    return parser.fetched


def _leaflet_inlined(page: str) -> bool:
    return "<script>/*! Leaflet" in page


def _check_offline(page: str) -> None:
    assert _fetched(page) == []
    hosts = {urlsplit(u).hostname for u in re.findall(r"https?://[^\s\"'`<>()\\]+", page)}
    assert hosts <= _ALLOWED_HOSTS, hosts - _ALLOWED_HOSTS
    leaflet = static_bytes("leaflet/leaflet.js").decode().replace("//# sourceMappingURL=leaflet.js.map", "").strip()
    assert leaflet in page  # verbatim: not mangled by folium's templates
    assert page.count(f"<script>/*! Leaflet {LEAFLET_VERSION}") == 1
    assert "Copyright (c) 2010-2023, Volodymyr Agafonkin" in page  # the BSD-2-Clause notice, beside the code
    assert f"jQuery {JQUERY_VERSION}" in page and "Copyright OpenJS Foundation" in page
    assert "sourceMappingURL" not in page
    assert f"background: {MAP_BACKGROUND}" in page


def test_map_is_offline_by_default(world: World) -> None:
    """The saved page links no script, stylesheet or font: Leaflet and jQuery are inlined."""
    _check_offline(world.html)
    assert "bootstrap" not in world.html.lower() and "fontawesome" not in world.html.lower()
    assert world.html.count("L.tileLayer(") == 1 and "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in world.html


def test_tour_map_is_offline_by_default(world: World, tmp_path: Path) -> None:
    itinerary = read_itinerary(REPO / "examples" / "newport-day.toml")
    tour = plan_tour(world.net, world.bnd, itinerary, ExpensePolicy.from_mapping(itinerary.policy, source="tour"))
    page = save_map(tour_map(world.net, world.bnd, tour), tmp_path / "tour.html").read_text(encoding="utf-8")
    _check_offline(page)
    assert page.count("L.divIcon(") == sum(len(d.stops) for d in tour.days)
    online = tour_map(world.net, world.bnd, tour, online_assets=True).get_root().render()
    assert "cdn.jsdelivr.net/npm/leaflet@" in online and _leaflet_inlined(online) is False


def test_online_assets_keeps_folium_cdn_links(world: World) -> None:
    page = route_map(world.net, world.bnd, world.leg, online_assets=True).get_root().render()
    fetched = _fetched(page)
    assert any(re.fullmatch(r"https://cdn\.jsdelivr\.net/npm/leaflet@[\d.]+/dist/leaflet\.js", u) for u in fetched)
    assert any(u.endswith("/leaflet.css") for u in fetched)
    assert not _leaflet_inlined(page) and "routeplan_offline_assets" not in page
    assert page.count("L.polyline(") == 2 and page.count("L.divIcon(") == 2  # the same map otherwise


def test_inlined_code_survives_hostile_names(world: World) -> None:
    """Escaping is unchanged by inlining, and a name cannot close the inlined <script>."""
    evil = "</script><script>alert(1)</script>`${x}`"
    o, d = world.leg.stops
    leg = dataclasses.replace(world.leg, stops=(dataclasses.replace(o, label=evil), d))
    page = route_map(world.net, world.bnd, leg).get_root().render()
    assert evil not in page and "<script>alert(1)" not in page
    _check_offline(page)
