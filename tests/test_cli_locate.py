"""``routeplan locate`` end to end through routeplan.cli.main (issue 14)."""

from __future__ import annotations

import json
import math

import pytest
from datapaths import NEWPORT

from routeplan.cli import cli, main
from routeplan.cli_locate import locate

if "locate" not in cli.commands:  # until routeplan.cli registers it at its bottom
    cli.add_command(locate)


def run(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def _finite(x):
    if isinstance(x, float):
        assert math.isfinite(x)
    elif isinstance(x, dict):
        for v in x.values():
            _finite(v)
    elif isinstance(x, list):
        for v in x:
            _finite(v)


README_EXAMPLE = ["locate", "NP20 1HG", "Rivermead Leisure Centre, Reading RG1 8EQ", "--osm", "newport"]


@pytest.mark.integration
def test_readme_example_text(capsys, cache_root):
    code, out, err = run([*README_EXAMPLE, "-q"], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "NP20 1HG: 51.58830,-2.99343  (postcode NP20 1HG)"
    assert lines[1].startswith("  road: OSM node ") and "m walk (straight line)" in lines[1]
    assert lines[2] == "  wpc-2010: Newport West (W07000056): a stop is charged £461.00 (day rate)"
    assert lines[3] == "  wpc-2024: Newport East (W07000104): a stop is charged £461.00 (day rate)"
    assert lines[4] == "Rivermead Leisure Centre, Reading RG1 8EQ: 51.46367,-0.98492  (postcode RG1 8EQ (venue name not in the map data))"
    assert lines[5].startswith("  WARNING: 'Rivermead Leisure Centre, Reading' is not in the map data")
    assert lines[6].startswith("  road: newport-2023-06-13.osm.pbf does not cover this place: its nearest coach road is 1")
    assert lines[7] == "  wpc-2010: Reading East (E14000889): a stop is charged £461.00 (day rate)"
    assert lines[8] == "  wpc-2024: Reading Central (E14001438): a stop is charged £461.00 (day rate)"
    assert lines[-1].startswith("Sources: © OpenStreetMap contributors (ODbL) | ") and "Royal Mail" in lines[-1]


@pytest.mark.integration
def test_readme_example_json_with_overrides(capsys, cache_root):
    args = [*README_EXAMPLE, "--json", "--free", "Newport East", "--avoid", "Reading Central", "--osm", str(NEWPORT)]
    code, out, err = run(args, capsys)
    assert code == 0, err
    data = json.loads(out)
    _finite(data)
    a, b = data["places"]
    assert a["kind"] == "postcode" and a["road"]["covered"] and 0 <= a["road"]["walk_m"] < 100 and a["road"]["osm_node"] > 0
    assert {s["boundaries"]: (s["name"], s["charge_pence"]) for s in a["constituencies"]} == {
        "wpc-2010": ("Newport West", 46100), "wpc-2024": ("Newport East", 0)}
    assert b["kind"] == "venue-postcode" and not b["road"]["covered"] and b["road"]["nearest_road_m"] > 100_000
    seats = {s["boundaries"]: s for s in b["constituencies"]}
    assert seats["wpc-2024"]["charge_pence"] is None and seats["wpc-2024"]["charge"].startswith("avoid")
    assert seats["wpc-2010"]["name"] == "Reading East" and seats["wpc-2010"]["charge_pence"] == 46100
    # "Reading Central" is a 2024 seat: for the 2010 set the override is left out, with a note.
    assert any("wpc-2010" in n and "'Reading Central'" in n for n in data["notes"])
    assert data["osm_file"] == "newport-2023-06-13.osm.pbf" and data["policy"]["day_rate_pence"] == 46100


def test_without_osm_postcodes_and_points_still_work(capsys):
    code, out, err = run(["locate", "np201hg", "NP20", "51.46367,-0.98492", "-q"], capsys)
    assert code == 0, err
    assert out.count("road: no road network given") == 3
    assert "NP20: " in out and "(postcode district NP20 (centroid of" in out and "WARNING: NP20 is a postcode district" in out
    assert out.count("wpc-2024: ") == 3 and "Reading Central (E14001438)" in out
    code, out, err = run(["locate", "NP20 1HG", "--no-stop-charges", "--day-rate", "500", "-q"], capsys)
    assert code == 0 and out.count("£0 (stop charges off)") == 2


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["locate", "NP2O 1HG"], 5, "nearest valid postcodes: NP20 1HG"),
        (["locate", "XX99 9ZZ"], 5, "not a GB postcode area"),
        (["locate", "12345"], 5, "not a valid postcode"),
        (["locate", "Norwich Castle"], 5, "no map data to look names up in"),
        (["locate", "SW1A 1AA"], 3, "routeplan data fetch --postcodes SW"),
        (["locate", "  "], 2, "empty place"),
        (["locate"], 2, "Missing argument"),
        (["locate", "NP20 1HG", "--max-snap", "nan"], 2, "not a finite number"),
        (["locate", "NP20 1HG", "--osm", "nowhere-at-all"], 3, "OSM file not found"),
        (["locate", "NP20 1HG", "--free", "Nowhere Central"], 0, "ignored override"),
    ],
)
def test_errors_are_one_line_with_exit_codes(capsys, args, code, needle):
    got, out, err = run([*args, "-q"], capsys)
    assert got == code, (out, err)
    if code:
        assert err.startswith("routeplan: ") and err.count("\n") == 1 and needle in err and "Traceback" not in err
    else:
        assert needle in out


@pytest.mark.integration
def test_names_from_the_extract_and_ambiguity(capsys, cache_root):
    code, out, err = run(["locate", "Stow Park", "Tesco Extra, Newport NP19 4TX", "--osm", "newport", "-q"], capsys)
    assert code == 0, err
    assert "Stow Park: " in out and "place=suburb)" in out and "shop=supermarket)" in out
    code, out, err = run(["locate", "Tesco Extra, Newport", "--osm", "newport", "-q"], capsys)
    assert code == 5 and "is ambiguous" in err and "km from Gaer" in err and "km from Liswerry" in err
    code, out, err = run(["locate", "Chepstow", "--osm", "newport", "-q"], capsys)
    assert code == 5 and "unknown place 'Chepstow'" in err and "Shell Chepstow Road (amenity=fuel, " in err
