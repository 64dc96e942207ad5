import pytest

from routeplan.errors import ConfigError
from routeplan.vehicle import MPH, CoachProfile, parse_length_m, parse_speed_kph, way_access, way_speed_kph


@pytest.mark.parametrize(
    ("text", "kph"),
    [("30 mph", 30 * MPH), ("50", 50.0), ("GB:nsl_single", 60 * MPH), ("GB:nsl_dual", 70 * MPH), ("20 mph;30 mph", 20 * MPH), ("signals", None), (None, None)],
)
def test_parse_speed(text, kph):
    got = parse_speed_kph(text)
    assert got == (pytest.approx(kph) if kph else None)


@pytest.mark.parametrize(("text", "m"), [("4.2", 4.2), ("14'6\"", 14 * 0.3048 + 6 * 0.0254), ("13 ft", 13 * 0.3048), ("3.5 m", 3.5), ("default", None)])
def test_parse_length(text, m):
    got = parse_length_m(text)
    assert got == (pytest.approx(m) if m else None)


COACH = CoachProfile()


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"highway": "residential"}, (True, True, True)),
        ({"highway": "footway"}, (False, False, False)),
        ({"highway": "residential", "oneway": "yes"}, (True, True, False)),
        ({"highway": "residential", "oneway": "-1"}, (True, False, True)),
        ({"highway": "primary", "junction": "roundabout"}, (True, True, False)),
        ({"highway": "motorway"}, (True, True, False)),
        ({"highway": "service", "access": "private"}, (False, False, False)),
        ({"highway": "service", "access": "no", "bus": "yes"}, (True, True, True)),
        ({"highway": "service", "motor_vehicle": "no", "psv": "yes"}, (True, True, True)),
        ({"highway": "unclassified", "maxheight": "3.2"}, (False, False, False)),
        ({"highway": "unclassified", "maxheight": "14'6\""}, (True, True, True)),
        ({"highway": "unclassified", "maxweight": "7.5"}, (False, False, False)),
        ({"highway": "unclassified", "maxwidth": "2.0"}, (False, False, False)),
    ],
)
def test_way_access(tags, expected):
    assert way_access(tags, COACH) == expected


def test_speed_caps_for_long_coach():
    assert way_speed_kph({"highway": "motorway"}, COACH) == pytest.approx(60 * MPH)
    short = COACH.with_(length_m=11.0)
    # A coach of 12 m or less may do 70 mph on a motorway, but the 100 km/h limiter still binds.
    assert way_speed_kph({"highway": "motorway"}, short) == pytest.approx(100.0)
    assert way_speed_kph({"highway": "trunk", "oneway": "yes"}, COACH) == pytest.approx(60 * MPH)
    assert way_speed_kph({"highway": "trunk"}, COACH) == pytest.approx(50 * MPH)
    assert way_speed_kph({"highway": "primary", "maxspeed": "30 mph"}, COACH) == pytest.approx(30 * MPH)


def test_profile_is_strict():
    with pytest.raises(ConfigError, match="unknown vehicle settings"):
        CoachProfile.from_mapping({"hieght_m": 4})
    with pytest.raises(ConfigError, match="positive"):
        CoachProfile(height_m=0)
    assert CoachProfile.from_mapping({"height_m": 4.4}).height_m == 4.4
