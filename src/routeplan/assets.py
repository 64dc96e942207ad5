"""The scripts and stylesheets a routeplan map needs, inlined so the page works offline.

folium links Leaflet, jQuery, Bootstrap, Font Awesome and Leaflet.awesome-markers from CDNs: with
no network the saved map is a blank page.  routeplan's maps need only Leaflet and, for folium's
``Popup`` template (``$(`...`)[0]``), jQuery; stop markers are inline-styled ``DivIcon``s.  Those
two are vendored in ``routeplan/static/`` (see its README: npm versions, checksums, licences) and
:func:`inline_assets` puts them, with their licence notices, into the map's page instead of the
CDN links.  Only the map tiles stay online; the map container gets a plain background so the page
still reads when they fail.
"""

from __future__ import annotations

import base64
import functools
import re
from importlib import resources
from typing import TYPE_CHECKING, cast

from branca.element import Element, Figure
from jinja2 import Template

if TYPE_CHECKING:
    import folium

LEAFLET_VERSION = "1.9.4"
JQUERY_VERSION = "3.7.1"
MAP_BACKGROUND = "#e8e6e1"  # what shows where no tile loaded: light grey, like an empty OSM tile
HEAD_NAME = "routeplan_offline_assets"  # the name of the inlined block among the page's header elements

# (file under static/, its licence file, a one-line notice), in load order.
_SCRIPTS = (
    ("leaflet/leaflet.js", "leaflet/LICENSE", f"Leaflet {LEAFLET_VERSION} (https://leafletjs.com), BSD-2-Clause"),
    ("jquery/jquery.slim.min.js", "jquery/LICENSE.txt", f"jQuery {JQUERY_VERSION} slim (https://jquery.com), MIT"),
)
_STYLES = (("leaflet/leaflet.css", "leaflet/LICENSE", f"Leaflet {LEAFLET_VERSION} stylesheet, BSD-2-Clause"),)
_CSS_URL = re.compile(r"url\((images/[\w.-]+\.png)\)")
_SOURCE_MAP = re.compile(r"^\s*//# sourceMappingURL=\S*\s*$", flags=re.MULTILINE)


def static_bytes(name: str) -> bytes:
    """A vendored file, by its path under ``routeplan/static/`` (works from a wheel or a zip too)."""
    return resources.files("routeplan").joinpath("static", *name.split("/")).read_bytes()


def _text(name: str) -> str:
    return static_bytes(name).decode("utf-8")


def _notice(licence: str, line: str) -> str:
    """The licence as a block comment (valid in both JS and CSS), kept next to the code."""
    text = _text(licence).strip()
    if "*/" in text:  # would end the comment early
        msg = f"licence file {licence} cannot go in a comment"
        raise ValueError(msg)
    return f"/*! {line}; bundled by routeplan from routeplan/static/. Licence ({licence}):\n{text}\n*/\n"


def _raw(code: str, name: str, tag: str) -> str:
    """Code to go inside ``<tag>``: it must not close the element itself."""
    if f"</{tag}" in code.lower():
        msg = f"{name} contains </{tag}: it cannot be inlined"
        raise ValueError(msg)
    return code


def _css(name: str) -> str:
    """A stylesheet with the images it refers to inlined as ``data:`` URIs (no file requests)."""
    folder = name.rsplit("/", 1)[0]

    def data_uri(match: re.Match[str]) -> str:
        png = base64.b64encode(static_bytes(f"{folder}/{match.group(1)}")).decode("ascii")
        return f'url("data:image/png;base64,{png}")'

    return _CSS_URL.sub(data_uri, _text(name))


@functools.cache
def offline_head() -> str:
    """The ``<style>`` and ``<script>`` elements that replace folium's CDN links (built once)."""
    parts = [
        f"<style>{_raw(_notice(lic, line) + _css(name), name, 'style')}</style>" for name, lic, line in _STYLES
    ]
    parts.append(f"<style>.folium-map.leaflet-container {{ background: {MAP_BACKGROUND}; }}</style>")
    for name, lic, line in _SCRIPTS:
        code = _SOURCE_MAP.sub("", _text(name))  # the .map file is not shipped: no request for it
        parts.append(f"<script>{_raw(_notice(lic, line) + code, name, 'script')}</script>")
    return "\n".join(parts)


class RawHTML(Element):
    """HTML put into the page as it is: a fixed template, so the code is never parsed by Jinja
    (``folium.Element(text)`` would evaluate ``{{ ... }}`` in a stop's name)."""

    _template = Template("{{ this.code }}")

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "RouteplanRaw"
        self.code = code


def inline_assets(m: folium.Map) -> None:
    """Make the folium Map ``m`` self-contained: drop its CDN links, inline Leaflet and jQuery.

    Call it once, right after creating the map.  Only the Map's own links are affected: a plugin
    added later would bring its own (the tests check that a saved map links nothing).
    """
    m.default_js = []
    m.default_css = []
    cast("Figure", m.get_root()).header.add_child(RawHTML(offline_head()), name=HEAD_NAME)


__all__ = ["JQUERY_VERSION", "LEAFLET_VERSION", "MAP_BACKGROUND", "inline_assets", "offline_head", "static_bytes"]

