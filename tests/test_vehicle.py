import pytest

from routeplan.errors import ConfigError
from routeplan.vehicle import (
    MPH,
    CoachProfile,
    build_profile,
    parse_length_m,
    parse_speed_kph,
    way_access,
    way_speed_kph,
)


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
        # hgv/goods restrict goods vehicles, not coaches (GB 7.5 t sign; Valhalla bus costing).
        ({"highway": "tertiary", "hgv": "no"}, (True, True, True)),
        ({"highway": "tertiary", "hgv": "destination"}, (True, True, True)),
        ({"highway": "tertiary", "goods": "no"}, (True, True, True)),
        ({"highway": "tertiary", "maxweight:hgv": "7.5"}, (True, True, True)),
        ({"highway": "tertiary", "access": "no", "hgv": "yes"}, (False, False, False)),
        # Most specific wins: coach > bus > psv > motor_vehicle > vehicle > access.
        ({"highway": "service", "access": "yes", "psv": "no"}, (False, False, False)),
        ({"highway": "service", "psv": "no", "bus": "yes"}, (True, True, True)),
        ({"highway": "service", "bus": "no", "psv": "yes"}, (False, False, False)),
        ({"highway": "service", "bus": "no", "coach": "yes"}, (True, True, True)),
        ({"highway": "service", "access": "no", "coach": "no", "bus": "yes"}, (False, False, False)),
        ({"highway": "service", "vehicle": "no", "motor_vehicle": "yes"}, (True, True, True)),
        ({"highway": "service", "motor_vehicle": "no", "vehicle": "yes"}, (False, False, False)),
        ({"highway": "service", "access": "no", "bus": "unknown"}, (False, False, False)),
        ({"highway": "busway"}, (False, False, False)),
        ({"highway": "busway", "bus": "designated"}, (True, True, True)),
        ({"highway": "busway", "access": "no", "psv": "designated"}, (True, True, True)),
        ({"highway": "unclassified", "maxweight": "7.5", "hgv": "no"}, (False, False, False)),
    ],
)
def test_way_access(tags, expected):
    assert way_access(tags, COACH) == expected


@pytest.mark.parametrize(
    ("tags", "usable"),
    [
        ({"highway": "tertiary", "hgv": "no"}, False),
        ({"highway": "tertiary", "hgv": "destination"}, False),
        ({"highway": "tertiary", "hgv": "discouraged"}, False),
        ({"highway": "tertiary", "goods": "no"}, False),
        ({"highway": "tertiary", "goods": "no", "hgv": "yes"}, True),
        ({"highway": "tertiary", "maxweight:hgv": "7.5"}, False),
        ({"highway": "tertiary", "maxweightrating:hgv": "26"}, True),
        ({"highway": "tertiary", "hgv": "yes", "access": "no"}, False),  # opting in never opens a road
        ({"highway": "tertiary"}, True),
    ],
)
def test_avoid_hgv_restrictions_opt_in(tags, usable):
    careful = COACH.with_(avoid_hgv_restrictions=True)
    assert way_access(tags, careful)[0] is usable
    # A minibus (3.5 t or less) is no heavy goods vehicle even then.
    assert way_access(tags, careful.with_(weight_t=3.5))[0] is way_access(tags, COACH.with_(weight_t=3.5))[0]


def test_avoid_hgv_restrictions_is_part_of_the_cache_key():
    assert COACH.avoid_hgv_restrictions is False
    assert COACH.key() != COACH.with_(avoid_hgv_restrictions=True).key()


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
    with pytest.raises(ConfigError, match="height_m must be between 1 and 6 m"):
        CoachProfile(height_m=0)
    assert CoachProfile.from_mapping({"height_m": 4.4}).height_m == 4.4


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"height_m": float("nan")}, "height_m"),
        ({"height_m": float("inf")}, "height_m"),
        ({"height_m": 1e17}, "height_m"),
        ({"height_m": 6.5}, "height_m"),
        ({"length_m": 2.0}, "length_m"),
        ({"length_m": 30.0}, "length_m"),
        ({"width_m": 0.5}, "width_m"),
        ({"width_m": 4.5}, "width_m"),
        ({"weight_t": 0.1}, "weight_t"),
        ({"weight_t": 61}, "weight_t"),
        ({"weight_t": True}, "weight_t"),
        ({"weight_t": "18"}, "weight_t"),
        ({"max_kph_single": 0}, "max_kph_single"),
        ({"limiter_kph": 250}, "limiter_kph"),
        ({"max_kph_motorway": float("nan")}, "max_kph_motorway"),
        ({"node_delays_s": (("stop", -1.0),)}, "node_delays_s"),
        ({"node_delays_s": (("stop", float("inf")),)}, "node_delays_s"),
        ({"node_delays_s": (("stop", 601.0),)}, "node_delays_s"),
        ({"avoid_hgv_restrictions": "no"}, "avoid_hgv_restrictions"),
        ({"road_classes": ("motorway", 3)}, "road_classes"),
    ],
)
def test_profile_values_finite_and_in_range(kw, field):
    with pytest.raises(ConfigError, match=field):
        CoachProfile(**kw)


def test_profile_accepts_range_edges():
    p = CoachProfile(height_m=6, length_m=3, width_m=4, weight_t=60, limiter_kph=200, node_delays_s=(("stop", 600),))
    assert p.height_m == 6.0 and isinstance(p.height_m, float)
    assert dict(p.node_delays_s) == {"stop": 600.0}


def test_build_profile_file_and_arguments(tmp_path):
    f = tmp_path / "coach.toml"
    f.write_text('[vehicle]\nheight_m = 4.2\nweight_t = 12\navoid_hgv_restrictions = true\n[vehicle.node_delays_s]\nstop = 8\n')
    p = build_profile(f)
    assert (p.height_m, p.weight_t, p.avoid_hgv_restrictions, dict(p.node_delays_s)) == (4.2, 12.0, True, {"stop": 8.0})
    # Explicit arguments win over the file.
    p = build_profile(f, height_m=3.5, weight_t=19.0, avoid_hgv_restrictions=False)
    assert (p.height_m, p.weight_t, p.avoid_hgv_restrictions, p.length_m) == (3.5, 19.0, False, 13.7)
    assert build_profile() == CoachProfile()
    assert build_profile(length_m=11.0).max_kph_motorway == pytest.approx(70 * MPH)


def test_build_profile_names_the_argument():
    with pytest.raises(ConfigError, match=r"^--height must be between 1 and 6 m, got nan$"):
        build_profile(height_m=float("nan"), names={"height_m": "--height"})
    with pytest.raises(ConfigError, match=r"^weight_t must be between"):
        build_profile(weight_t=1e17)
    with pytest.raises(ConfigError, match="avoid_hgv_restrictions must be true or false"):
        build_profile(avoid_hgv_restrictions="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[vehicle]\nhieght_m = 4\n", "unknown vehicle settings.*hieght_m"),
        ("height_m = 4\n", r"outside \[vehicle\].*height_m.*under a \[vehicle\] table"),
        ("[vehicle]\nheight_m = 4\n[policy]\nday_rate = 1\n", r"outside \[vehicle\].*policy"),
        ("vehicle = 3\n", "'vehicle' must be a table"),
        ('[vehicle]\nheight_m = "4"\n', "height_m must be a number"),
        ("[vehicle]\nheight_m = nan\n", "height_m must be between"),
        ("[vehicle]\nweight_t = true\n", "weight_t must be a number"),
        ('[vehicle]\navoid_hgv_restrictions = "false"\n', "avoid_hgv_restrictions must be true or false"),
        ('[vehicle]\nroad_classes = "motorway"\n', "road_classes must be a list"),
        ("[vehicle]\nnode_delays_s = 5\n", "node_delays_s must be a table"),
        ("[vehicle\n", "cannot read vehicle file"),
    ],
)
def test_vehicle_file_errors_name_file_and_key(tmp_path, text, match):
    f = tmp_path / "coach.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=match) as exc:
        build_profile(f)
    assert "coach.toml" in str(exc.value)
    assert "\n" not in str(exc.value)


def test_vehicle_file_unreadable(tmp_path):
    for path in (tmp_path / "missing.toml", tmp_path):
        with pytest.raises(ConfigError, match="cannot read vehicle file") as exc:
            build_profile(path)
        assert "\n" not in str(exc.value)
    (tmp_path / "latin1.toml").write_bytes(b"[vehicle]\n# caf\xe9\nheight_m = 4\n")
    with pytest.raises(ConfigError, match="cannot read vehicle file.*latin1.toml"):
        build_profile(tmp_path / "latin1.toml")
