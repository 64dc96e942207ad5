"""The saved maps in a real browser with the network cut off (issue 15, items 1 and 6).

Headless Debian chromium opens the Newport leg map and the example tour map from ``file://``.
All its traffic goes to an unroutable proxy (``--proxy-server=127.0.0.1:9``, loopback included),
so any request for a script, stylesheet or font fails.  The test drives chromium through the
DevTools protocol over ``--remote-debugging-pipe`` (file descriptors 3 and 4: no port, no
websocket library) and checks that

* the page asks the network for nothing but map tiles (which fail), and logs no error or exception;
* Leaflet drew the expected routes (``path.leaflet-interactive`` with no fill), shaded
  constituencies and break circles (filled paths) and stop markers, and a stop's popup opens
  (folium builds popup content with jQuery);
* unticking a day in the tour map's layer control removes exactly that day's features.

Screenshots go to ``$ROUTEPLAN_SCREENSHOTS`` (default: a pytest temporary folder); their paths
are printed.  Without chromium the test fails under CI (``CI=true``) and is skipped elsewhere.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from datapaths import REPO

from routeplan.itinerary import read_itinerary
from routeplan.locate import resolve
from routeplan.policy import ExpensePolicy
from routeplan.render import DESTINATION_COLOUR, ORIGIN_COLOUR, route_map, save_map, tour_map
from routeplan.routing import plan_leg
from routeplan.tour import TourPlan, plan_tour

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TILE_URL = re.compile(r"^https://tile\.openstreetmap\.org/\d+/\d+/\d+\.png$")
WIDTH, HEIGHT = 1280, 900
TIMEOUT_S = 60.0


def _chromium() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found:
        return found
    why = "chromium is not installed (apt-get install chromium; .ci/run installs it)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{why}: the browser test must run in CI")
    pytest.skip(f"{why}; under CI=true this is a failure")


class Chromium:
    """Headless chromium driven by the DevTools protocol over a pipe (NUL-separated JSON)."""

    def __init__(self, binary: str, profile: Path) -> None:
        # chromium's own log goes to a file: a pipe nobody reads could fill up and stall it.
        self.log = profile.parent / f"{profile.name}.log"
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # chromium reads commands on fd 3 and answers on fd 4; move our ends above 9 first so
        # that placing them cannot overwrite each other, and let bash put them in place.
        child_in = fcntl.fcntl(to_child_r, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(from_child_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_child_r)
        os.close(from_child_w)
        flags = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
            f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}",
            # The network is cut: every request goes to a proxy on a port nothing listens on.
            "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
            "--remote-debugging-pipe", "about:blank",
        ]
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                ["bash", "-c", 'exec "$@" 3<&"$CDP_IN" 4>&"$CDP_OUT"', "bash", binary, *flags],
                env={**os.environ, "CDP_IN": str(child_in), "CDP_OUT": str(child_out)},
                pass_fds=(child_in, child_out), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=log,
            )
        os.close(child_in)
        os.close(child_out)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_child], [], [], left)[0]:
                msg = "timed out waiting for chromium"
                raise TimeoutError(msg)
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                err = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
                msg = f"chromium closed the DevTools pipe; end of {self.log}:\n{err}"
                raise RuntimeError(msg)
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        """Send one command and wait for its answer; events that arrive meanwhile are kept."""
        self._next_id += 1
        command: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            command["sessionId"] = session
        os.write(self._to_child, json.dumps(command).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            message = self._read_message(deadline)
            if message.get("id") == self._next_id:
                if "error" in message:
                    msg = f"{method}: {message['error']}"
                    raise RuntimeError(msg)
                result: dict[str, Any] = message.get("result", {})
                return result
            if "method" in message:
                self.events.append(message)

    def wait_event(self, method: str, session: str) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT_S
        seen = 0
        while True:
            for event in self.events[seen:]:
                if event["method"] == method and event.get("sessionId") == session:
                    return event
            seen = len(self.events)
            message = self._read_message(deadline)
            if "method" in message:
                self.events.append(message)

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (OSError, RuntimeError, TimeoutError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_child)
        os.close(self._from_child)


@dataclass
class Page:
    """One tab with a map loaded, and what it logged and requested."""

    browser: Chromium
    session: str
    url: str

    def evaluate(self, expression: str) -> Any:
        reply = self.browser.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, self.session,
        )
        if "exceptionDetails" in reply:
            msg = f"page script failed: {reply['exceptionDetails']}"
            raise AssertionError(msg)
        return reply["result"].get("value")

    def settle(self) -> None:
        """Wait for Leaflet's zoom/pan animation (fit_bounds animates) to end, then two frames, so
        whatever the last action changed is laid out and painted."""
        self.evaluate(_SETTLE)

    def screenshot(self, path: Path) -> Path:
        self.settle()
        shot = self.browser.send("Page.captureScreenshot", {"format": "png"}, self.session)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def events(self, method: str) -> list[dict[str, Any]]:
        return [e["params"] for e in self.browser.events if e["method"] == method and e.get("sessionId") == self.session]

    def requests(self) -> list[str]:
        return [p["request"]["url"] for p in self.events("Network.requestWillBeSent")]

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and browser log errors, except failed tiles."""
        out = [
            f"console.{p['type']}: {' '.join(str(a.get('value', a.get('description'))) for a in p['args'])}"
            for p in self.events("Runtime.consoleAPICalled") if p["type"] in ("error", "assert")
        ]
        out += [f"exception: {p['exceptionDetails']}" for p in self.events("Runtime.exceptionThrown")]
        for p in self.events("Log.entryAdded"):
            entry = p["entry"]
            if entry["level"] != "error":
                continue
            if entry.get("source") == "network" and TILE_URL.match(entry.get("url", "")):
                continue  # the tiles are the map's only online part: with no network they fail
            out.append(f"log {entry.get('source')}: {entry.get('text')} {entry.get('url', '')}")
        return out


def _open(browser: Chromium, html: Path) -> Page:
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.send(f"{domain}.enable", {}, session)
    browser.send("Emulation.setDeviceMetricsOverride",
                 {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False}, session)
    url = html.resolve().as_uri()
    browser.send("Page.navigate", {"url": url}, session)
    browser.wait_event("Page.loadEventFired", session)
    page = Page(browser, session, url)
    page.settle()
    return page


_SETTLE = """new Promise((resolve, reject) => {
  const start = performance.now();
  const poll = () => {
    if (document.querySelector('.leaflet-zoom-anim, .leaflet-pan-anim')) {
      if (performance.now() - start > 10000) { reject(new Error('map never stopped moving')); return; }
      setTimeout(poll, 50);
    } else {
      requestAnimationFrame(() => requestAnimationFrame(() => resolve(true)));
    }
  };
  setTimeout(poll, 50);
})"""

# What Leaflet put in the DOM: lines are paths with no fill; constituencies and break circles are filled.
_COUNT = """(() => {
  const paths = [...document.querySelectorAll('path.leaflet-interactive')];
  const lines = paths.filter(p => p.getAttribute('fill') === 'none').length;
  return {lines: lines, filled: paths.length - lines,
          markers: document.querySelectorAll('.leaflet-marker-icon').length,
          leaflet: typeof L === 'object' ? L.version : null,
          background: getComputedStyle(document.querySelector('.folium-map')).backgroundColor};
})()"""


@dataclass(frozen=True)
class Counts:
    lines: int
    filled: int
    markers: int

    def __sub__(self, other: Counts) -> Counts:
        return Counts(self.lines - other.lines, self.filled - other.filled, self.markers - other.markers)


def _counts(page: Page) -> Counts:
    got = page.evaluate(_COUNT)
    return Counts(got["lines"], got["filled"], got["markers"])


def _day_counts(net: Any, tour: TourPlan) -> list[Counts]:
    """What tour_map draws for each day: a line per leg (planned whole, and fastest), a polygon
    per charged constituency, a circle per driving break, a marker per stop."""
    out = []
    for d in tour.days:
        from routeplan.render import _runs_by_exemption

        mask = d.policy.exempt_mask()
        best_lines = sum(bool(parts) for leg in d.plan.best.legs for parts in _runs_by_exemption(net, leg, mask).values())
        lines = best_lines + sum(len(leg.coords(net)) >= 2 for leg in d.plan.fastest.legs)
        seats = sum(c.pence > 0 for c in d.plan.best.charges)
        seats += sum(r.pence == 0 and r.road_km == 0 and r.exempt_km > 0 for r in d.plan.best.ledger.rows)
        breaks = sum(b.kind != "stop dwell" and bool(d.plan.best.legs[b.leg].pieces) for b in d.hours.breaks)
        out.append(Counts(lines, seats + breaks, len(d.stops)))
    return out


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    browser = Chromium(_chromium(), tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("ROUTEPLAN_SCREENSHOTS")
    if not folder:
        return tmp_path_factory.mktemp("screenshots")
    path = Path(folder).resolve()
    assert REPO not in (path, *path.parents), "ROUTEPLAN_SCREENSHOTS must be outside the repo"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _check_offline(page: Page) -> None:
    """Nothing but tiles was asked of the network, the tiles failed, and nothing else went wrong."""
    online = [u for u in page.requests() if not u.startswith(("file:", "data:"))]
    assert online, "the page requested no tiles at all"
    assert all(TILE_URL.match(u) for u in online), [u for u in online if not TILE_URL.match(u)]
    failed = page.events("Network.loadingFailed")
    assert failed, "a tile loaded: the network was not cut off"
    assert page.errors() == []
    info = page.evaluate(_COUNT)
    assert info["leaflet"] == "1.9.4"
    assert info["background"] == "rgb(232, 230, 225)"  # assets.MAP_BACKGROUND: readable without tiles


def _hex_rgb(colour: str) -> str:
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def test_leg_map_works_offline(chromium: Chromium, shots: Path, tmp_path: Path, newport2024: Any, b2024: Any,
                               capsys: pytest.CaptureFixture[str]) -> None:
    net, bnd = newport2024, b2024
    leg = plan_leg(net, resolve("Duffryn", net, bnd), resolve("Stow Park", net, bnd), alternatives=True)
    html = save_map(route_map(net, bnd, leg), tmp_path / "newport-leg.html")
    page = _open(chromium, html)
    _check_offline(page)

    seats = {r.code for r in leg.cheapest.ledger.rows} | {r.code for r in leg.fastest.ledger.rows}
    assert _counts(page) == Counts(lines=2, filled=len(seats), markers=2)
    assert len(seats) == 2  # Newport West and Islwyn (cheapest), Newport East (fastest only)
    assert page.evaluate("document.querySelectorAll('path[stroke-dasharray=\"10 8\"]').length") == 1  # the fastest
    pins = page.evaluate("[...document.querySelectorAll('.routeplan-stop > div')].map(d => getComputedStyle(d).backgroundColor)")
    assert pins == [_hex_rgb(ORIGIN_COLOUR), _hex_rgb(DESTINATION_COLOUR)]
    # Every path lies within the view that fit_bounds chose (nothing drawn off-screen by mistake).
    assert page.evaluate(
        "[...document.querySelectorAll('path.leaflet-interactive[fill=\"none\"]')].every(p => {"
        f" const r = p.getBoundingClientRect(); return r.width > 50 && r.left >= 0 && r.right <= {WIDTH}"
        f" && r.top >= 0 && r.bottom <= {HEIGHT}; }})"
    )
    # A popup opens with its content (folium builds it with jQuery, inlined too).
    page.evaluate("document.querySelector('.routeplan-stop').click()")
    page.settle()
    popup = page.evaluate("(document.querySelector('.leaflet-popup-content') || {}).innerText || ''")
    assert "Origin: Duffryn" in popup and "Newport West and Islwyn" in popup
    page.evaluate("document.querySelector('.leaflet-popup-close-button').click()")
    shot = page.screenshot(shots / "newport-leg-offline.png")
    assert page.errors() == []
    with capsys.disabled():
        print(f"\nscreenshot: {shot}")


def test_tour_map_works_offline_and_days_toggle(chromium: Chromium, shots: Path, tmp_path: Path, newport2024: Any,
                                                b2024: Any, capsys: pytest.CaptureFixture[str]) -> None:
    net, bnd = newport2024, b2024
    itinerary = read_itinerary(REPO / "examples" / "newport-day.toml")
    policy = ExpensePolicy.from_mapping(itinerary.policy, source=f"{itinerary.source} [tour.policy]")
    tour = plan_tour(net, bnd, itinerary, policy)
    html = save_map(tour_map(net, bnd, tour), tmp_path / "newport-tour.html")
    page = _open(chromium, html)
    _check_offline(page)

    days = _day_counts(net, tour)
    assert len(days) == 2
    everything = Counts(sum(d.lines for d in days), sum(d.filled for d in days), sum(d.markers for d in days))
    assert _counts(page) == everything
    # Day 1: Marshfield + 3 stops + Stow Park (4 legs, each drawn planned whole and fastest), one seat paid;
    # day 2: Stow Park + 3 stops (3 legs), one seat paid (Newport West and Islwyn is free that day).
    assert days == [Counts(lines=8, filled=1, markers=5), Counts(lines=6, filled=1, markers=4)]
    first = page.screenshot(shots / "newport-tour-offline.png")

    toggle = """(n => {
      const label = [...document.querySelectorAll('.leaflet-control-layers-overlays label')]
        .find(l => l.textContent.trim().startsWith('Day ' + n + ':'));
      const box = label.querySelector('input'); box.click(); return box.checked;
    })"""
    assert page.evaluate(f"{toggle}(1)") is False
    page.settle()
    assert _counts(page) == everything - days[0]
    hidden = page.screenshot(shots / "newport-tour-day1-hidden.png")
    assert page.evaluate(f"{toggle}(1)") is True
    page.settle()
    assert _counts(page) == everything
    assert page.evaluate(f"{toggle}(2)") is False
    page.settle()
    assert _counts(page) == everything - days[1]
    assert page.errors() == []
    with capsys.disabled():
        print(f"\nscreenshots: {first} {hidden}")
