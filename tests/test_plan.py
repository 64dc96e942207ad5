"""``routeplan plan``: a tour from an itinerary file, as a planner runs it (issue 13)."""

from __future__ import annotations

import csv
import io
import itertools
import json
from pathlib import Path

import pytest
from datapaths import REPO

from routeplan.cli import main

EXAMPLE = REPO / "examples" / "newport-day.toml"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


@pytest.mark.integration
def test_example_tour_json_map_and_ledger(tmp_path: Path, capsys: pytest.CaptureFixture[str], cache_root: Path) -> None:
    m, led = tmp_path / "tour.html", tmp_path / "tour.csv"
    code, out, err = run(["plan", str(EXAMPLE), "-q", "--json", "--map", str(m), "--ledger", str(led)], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert len(data["days"]) == 2
    for d in data["days"]:
        best, fast, lbl = d["best"], d["fastest"], d["leg_by_leg"]
        # The day planned whole is never dearer than either baseline, and its ledger adds up.
        assert best["cost_pence"] <= fast["cost_pence"] and best["cost_pence"] <= lbl["cost_pence"]
        assert best["cost_pence"] == sum(c["pence"] for c in best["charges"]) == best["ledger"]["total_pence"]
        # Every stop's window is met by the best plan; the schedule is in time order.
        visits = best["visits"]
        assert len(visits) == len(d["stops"])
        for v in visits:
            assert v["late_s"] == 0
            assert v["arrive_s"] <= v["start_s"] <= v["depart_s"]
        assert all(a["depart_s"] <= b["arrive_s"] for a, b in itertools.pairwise(visits))
    totals = data["totals_pence"]
    assert totals["best"] == sum(d["best"]["cost_pence"] for d in data["days"])
    assert totals["best"] < totals["fastest"], "the example must show a saving over the fastest legs"
    html = m.read_text()
    assert "OpenStreetMap" in html and "Open Government Licence" in html
    assert "Day 1:" in html and "Day 2:" in html
    rows = list(csv.reader(io.StringIO(led.read_text())))
    assert rows[0][:6] == ["plan", "day", "date", "code", "constituency", "charge_gbp"]
    tour_total = [r for r in rows if r[0] == "best" and r[4] == "TOUR TOTAL"]
    assert tour_total and round(float(tour_total[0][5]) * 100) == totals["best"]


@pytest.mark.integration
def test_example_tour_text(capsys: pytest.CaptureFixture[str], cache_root: Path) -> None:
    code, out, err = run(["plan", str(EXAMPLE), "-q"], capsys)
    assert code == 0, err
    assert "Day 1 (Thu 03 Dec 2026)" in out and "Day 2" in out
    assert "Tour total:" in out and "fastest legs" in out and "leg by leg" in out
    assert "Dawn photo call" in out


def _itinerary(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "tour.toml"
    p.write_text('[tour]\nosm = "newport"\nboundaries = "wpc-2024"\n' + body)
    return p


@pytest.mark.integration
def test_infeasible_window_is_exit_6_with_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str], cache_root: Path) -> None:
    p = _itinerary(tmp_path, '[[day]]\nstart = "Duffryn"\nstart_time = "07:00"\n'
                             '[[day.stop]]\nplace = "Marshfield"\narrive_by = "07:02"\n')
    code, _, err = run(["plan", str(p), "-q"], capsys)
    assert code == 6, err
    assert "Marshfield" in err and "late" in err and len(err.strip().splitlines()) == 1


@pytest.mark.integration
def test_unknown_place_names_day_and_stop(tmp_path: Path, capsys: pytest.CaptureFixture[str], cache_root: Path) -> None:
    p = _itinerary(tmp_path, '[[day]]\nstart = "Duffryn"\nstart_time = "07:00"\n[[day.stop]]\nplace = "Chepstow"\n')
    code, _, err = run(["plan", str(p), "-q"], capsys)
    assert code == 5 and "day 1, stop 1" in err and "unknown place" in err


@pytest.mark.integration
def test_optimise_order_never_worse(tmp_path: Path, capsys: pytest.CaptureFixture[str], cache_root: Path) -> None:
    body = ('[[day]]\nstart = "Duffryn"\nstart_time = "07:00"\novernight = "Stow Park"\n'
            + "".join(f'[[day.stop]]\nplace = "{p}"\ndwell = 10\n' for p in ("Marshfield", "Rogerstone", "Bassaleg", "Maindee")))
    p = _itinerary(tmp_path, body)
    code, out, err = run(["plan", str(p), "-q", "--json"], capsys)
    assert code == 0, err
    given = json.loads(out)["days"][0]["best"]
    code, out, err = run(["plan", str(p), "-q", "--json", "--optimise-order"], capsys)
    assert code == 0, err
    day = json.loads(out)["days"][0]
    best = day["best"]
    assert day["order"]["optimal"] is True
    assert (best["cost_pence"], best["time_s"]) <= (given["cost_pence"], given["time_s"] + 1e-6)
    assert day["stops"][0]["label"] == "Duffryn" and day["stops"][-1]["label"] == "Stow Park"


@pytest.mark.integration
def test_each_day_is_charged_afresh(tmp_path: Path, capsys: pytest.CaptureFixture[str], cache_root: Path) -> None:
    """The same trip on two days pays the same seats twice, and the ledger says so."""
    day = '[[day]]\nstart = "Duffryn"\nstart_time = "08:00"\n[[day.stop]]\nplace = "Stow Park"\n'
    p = _itinerary(tmp_path, day + day.replace("08:00", "09:00"))
    led = tmp_path / "l.csv"
    code, out, err = run(["plan", str(p), "-q", "--json", "--ledger", str(led)], capsys)
    assert code == 0, err
    data = json.loads(out)
    d1, d2 = (d["best"] for d in data["days"])
    assert d1["cost_pence"] == d2["cost_pence"] == 46100
    assert data["totals_pence"]["best"] == 92200
    rows = list(csv.DictReader(io.StringIO(led.read_text())))
    day2 = [r for r in rows if r["plan"] == "best" and r["day"] == "2" and r["code"]]
    assert day2 and all("paid again: also charged on day 1" in r["note"] for r in day2 if float(r["charge_gbp"]) > 0)
    day1 = [r for r in rows if r["plan"] == "best" and r["day"] == "1" and r["code"]]
    assert all(r["note"] == "" for r in day1)


@pytest.mark.integration
def test_long_day_gets_a_drivers_break(tmp_path: Path, capsys: pytest.CaptureFixture[str], cache_root: Path) -> None:
    """Thirty back-and-forth legs (about 4 h 48 of driving, no dwell): a 45-minute break must be
    placed before 4 h 30 of driving, and every later arrival moves by it."""
    body = '[[day]]\nstart = "Marshfield"\nstart_time = "06:00"\n' + "".join(
        f'[[day.stop]]\nplace = "{"Rogerstone" if i % 2 == 0 else "Marshfield"}"\ndwell = 0\nname = "visit {i + 1}"\n' for i in range(30))
    p = _itinerary(tmp_path, body)
    code, out, err = run(["plan", str(p), "-q", "--json"], capsys)
    assert code == 0, err
    day = json.loads(out)["days"][0]
    breaks = [b for b in day["hours"]["breaks"] if b["kind"] != "stop dwell"]
    assert len(breaks) == 1 and breaks[0]["duration_s"] >= 45 * 60
    assert day["hours"]["driving_s"] > 4.5 * 3600
    # Driving before the break never exceeds 4 h 30.
    drive_before = sum(leg["time_s"] for leg in day["best"]["legs"][: breaks[0]["leg"] + 1])
    assert drive_before <= 4.5 * 3600
    plain, timed = day["best"]["visits"], day["schedule"]
    assert timed[-1]["arrive_s"] - plain[-1]["arrive_s"] >= 45 * 60 - 1
    assert not [v for v in day["hours"]["violations"] if v["kind"] == "break"]
