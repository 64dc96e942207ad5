"""The itinerary file (routeplan.itinerary): the example, every error with its line and field,
times round-tripping.  Pure parsing: no network is built here."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from routeplan.errors import ConfigError
from routeplan.itinerary import (
    DaySpec,
    Itinerary,
    StopSpec,
    format_time,
    itinerary_from_mapping,
    parse_itinerary,
    parse_time,
    read_itinerary,
)

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "newport-day.toml"


def H(hhmm: str) -> float:
    h, m = hhmm.split(":")
    return int(h) * 3600.0 + int(m) * 60.0


# -- the example -----------------------------------------------------------------------------------
def test_example_parses_to_the_expected_model() -> None:
    it = read_itinerary(EXAMPLE)
    assert isinstance(it, Itinerary)
    assert (it.name, it.osm, it.boundaries, it.start_date) == ("Newport day", "newport", "wpc-2024", dt.date(2026, 12, 3))
    assert it.vehicle == {"height_m": 4.0}
    assert it.policy == {"day_rate": 461, "exempt": ["motorway", "motorway_link"]}
    assert it.source == str(EXAMPLE)
    d1, d2 = it.days
    assert d1 == DaySpec(
        number=1, date=dt.date(2026, 12, 3), start="Marshfield", start_s=H("07:00"),
        stops=(
            StopSpec("Rogerstone", "Dawn photo call", None, H("08:00"), 45 * 60.0, True, 27),
            StopSpec("Bassaleg", "School visit", H("09:30"), H("10:30"), 60 * 60.0, False, 34),
            StopSpec("Duffryn", "Walkabout, Duffryn", H("12:00"), H("13:00"), 90 * 60.0, False, 40),
        ),
        overnight="Stow Park", overnight_latest_s=H("22:30"), already_charged=(), overrides={}, line=21,
    )
    assert d2 == DaySpec(
        number=2, date=dt.date(2026, 12, 4), start="Stow Park", start_s=H("08:00"),
        stops=(
            StopSpec("51.5880,-2.9980", "Walkabout, city centre", H("10:00"), H("11:00"), 90 * 60.0, False, 55),
            StopSpec("Maindee", "Evening rally", None, H("19:00"), 120 * 60.0, False, 61),
            StopSpec("Alway", "Community centre", None, None, 30 * 60.0, False, 67),
        ),
        overnight=None, overnight_latest_s=None, already_charged=(),
        overrides={"Newport West and Islwyn": 0}, line=47,
    )
    # line numbers point at the headers in the file
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    assert lines[d1.line - 1] == lines[d2.line - 1] == "[[day]]"
    assert all(lines[s.line - 1] == "[[day.stop]]" for d in it.days for s in d.stops)


def test_example_policy_and_vehicle_are_valid_for_the_later_layers() -> None:
    from routeplan.policy import ExpensePolicy
    from routeplan.vehicle import CoachProfile

    it = read_itinerary(EXAMPLE)
    CoachProfile.from_mapping(it.vehicle)
    pol = ExpensePolicy.from_mapping(it.policy)
    assert pol.day_rate_pence == 46100
    ExpensePolicy.from_mapping({"overrides": it.days[1].overrides}, base=pol)


def test_model_is_frozen() -> None:
    it = parse_itinerary(MINIMAL)
    with pytest.raises(AttributeError):
        it.days[0].start = "x"  # type: ignore[misc]


# -- defaults and accepted forms ---------------------------------------------------------------
MINIMAL = """\
[[day]]
start = "Duffryn"
start_time = "07:00"
[[day.stop]]
place = "Rogerstone"
"""


def test_minimal_defaults() -> None:
    it = parse_itinerary(MINIMAL)
    assert (it.name, it.osm, it.boundaries, it.start_date, it.vehicle, it.policy, it.source) == (None, None, None, None, {}, {}, "<string>")
    (day,) = it.days
    assert (day.number, day.date, day.overnight, day.overnight_latest_s, day.already_charged, day.overrides, day.line) == (1, None, None, None, (), {}, 1)
    (stop,) = day.stops
    assert stop == StopSpec("Rogerstone", "Rogerstone", None, None, 1800.0, False, 4)


def test_travel_day_without_stops_and_late_times() -> None:
    it = parse_itinerary('[[day]]\nstart = " Duffryn "\nstart_time = "23:00"\novernight = "Stow Park"\novernight_arrive_by = "25:30"\n')
    (day,) = it.days
    assert day.start == "Duffryn"  # stripped
    assert day.stops == ()
    assert day.overnight_latest_s == 25.5 * 3600


def test_dates_follow_start_date_and_previous_day() -> None:
    text = '[tour]\nstart_date = 2026-12-03\n' + "".join(
        f'[[day]]\n{date}start = "A"\nstart_time = "07:00"\novernight = "B"\n'
        for date in ("", "", 'date = "2026-12-08"\n', "")
    )
    it = parse_itinerary(text)
    assert [d.date for d in it.days] == [dt.date(2026, 12, 3), dt.date(2026, 12, 4), dt.date(2026, 12, 8), dt.date(2026, 12, 9)]
    assert it.start_date == dt.date(2026, 12, 3)  # a TOML date is accepted as well as text


def test_dates_without_start_date() -> None:
    text = "".join(
        f'[[day]]\n{date}start = "A"\nstart_time = "07:00"\novernight = "B"\n'
        for date in ("", 'date = "2026-12-05"\n', "")
    )
    assert [d.date for d in parse_itinerary(text).days] == [None, dt.date(2026, 12, 5), dt.date(2026, 12, 6)]


def test_from_mapping_without_text_has_no_lines() -> None:
    data = {"day": [{"start": "A", "start_time": "07:00", "stop": [{"place": "B", "dwell": 0}]}]}
    it = itinerary_from_mapping(data, "api")
    assert it.days[0].line == 0 and it.days[0].stops[0].line == 0 and it.days[0].stops[0].dwell_s == 0.0
    data["day"][0]["stop"][0]["dwell"] = -5  # type: ignore[index]
    with pytest.raises(ConfigError, match=r"^api: day 1, stop 1: dwell must be minutes from 0 to 720, got -5$"):
        itinerary_from_mapping(data, "api")


def test_bom_and_crlf_are_accepted(tmp_path: Path) -> None:
    p = tmp_path / "tour.toml"
    p.write_bytes(b"\xef\xbb\xbf" + MINIMAL.replace("\n", "\r\n").encode())
    assert read_itinerary(p).days[0].stops[0].line == 4


# -- times ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["00:00", "07:00", "09:05", "12:30", "23:59", "24:00", "25:30", "29:59", "30:00"])
def test_time_round_trip(text: str) -> None:
    s = parse_time(text)
    assert format_time(s) == text
    assert parse_time(format_time(s)) == s


@pytest.mark.parametrize(("text", "seconds"), [("7:05", 25500.0), (" 07:05 ", 25500.0), ("25:30", 91800.0), ("30:00", 108000.0)])
def test_time_values(text: str, seconds: float) -> None:
    assert parse_time(text) == seconds


@pytest.mark.parametrize("seconds", [0.0, 59.0, 25200.0, 91800.0, 107999.0])
def test_seconds_round_trip_to_the_minute(seconds: float) -> None:
    assert abs(parse_time(format_time(seconds)) - seconds) <= 30.0


@pytest.mark.parametrize("bad", ["7am", "24:61", "-01:00", "30:01", "31:00", "07:00:00", "0700", "", "07.00", "７:00"])
def test_bad_times(bad: str) -> None:
    with pytest.raises(ConfigError, match="HH:MM"):
        parse_time(bad)


@pytest.mark.parametrize("bad", [float("nan"), -1.0, float("inf")])
def test_format_time_rejects(bad: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        format_time(bad)


# -- errors: line and field ----------------------------------------------------------------------
GOOD_DAY = '[[day]]\nstart = "A"\nstart_time = "07:00"\n[[day.stop]]\nplace = "B"\n'  # lines 1-5

ERRORS = [
    # (id, text, line, pieces the message must contain)
    ("syntax", 'x = 1\n[[day]]\nstart = \n', 3, ["invalid TOML", "line 3, column"]),
    ("syntax-unquoted-time", '[[day]]\nstart = "A"\nstart_time = 07:00\n', 3, ["invalid TOML", "(at line 3"]),
    ("unknown-top", "days = 3\n" + GOOD_DAY, 1, ["unknown key or table 'days'", "known: day, tour"]),
    ("unknown-top-table", GOOD_DAY + "[vehicle]\nheight_m = 4\n", 6, ["unknown key or table 'vehicle'", "known: day, tour"]),
    ("unknown-tour", '[tour]\nname = "x"\nosmfile = "a"\n' + GOOD_DAY, 3, ["tour: unknown key or table 'osmfile'", "known: boundaries, name, osm, policy, start_date, vehicle"]),
    ("unknown-day", GOOD_DAY.replace('start_time = "07:00"\n', 'start_time = "07:00"\nfinish = "C"\n'), 4, ["day 1: unknown key or table 'finish'", "known: already_charged"]),
    ("unknown-stop", GOOD_DAY + GOOD_DAY + "dwel = 10\n", 11, ["day 2, stop 1: unknown key or table 'dwel'", "known: arrive_by, dwell, fixed, name, place, window"]),
    ("unknown-keys", GOOD_DAY + "b = 1\na = 2\n", 6, ["day 1, stop 1: unknown keys or tables 'a', 'b'"]),
    ("unknown-day-policy", GOOD_DAY + "[day.policy]\nday_rate = 0\n", 7, ["day 1, policy: unknown key or table 'day_rate'", "known: overrides", "[tour.policy]"]),
    ("unknown-subtable", GOOD_DAY + "[day.stop.extra]\nx = 1\n", 6, ["day 1, stop 1: unknown key or table 'extra'"]),
    ("no-days", '[tour]\nname = "x"\n', 1, ["no days", "[[day]]"]),
    ("day-not-array", '[day]\nstart = "A"\n', 1, ["day must be [[day]] tables", "single [day] table"]),
    ("day-is-text", 'day = "monday"\n', 1, ["day must be [[day]] tables, got 'monday'"]),
    ("stop-not-array", GOOD_DAY.replace("[[day.stop]]", "[day.stop]"), 4, ["day 1: stop must be [[day.stop]] tables"]),
    ("missing-start", '[[day]]\nstart_time = "07:00"\novernight = "B"\n', 1, ["day 1: needs start"]),
    ("missing-start-time", GOOD_DAY + '[[day]]\nstart = "A"\novernight = "B"\n', 6, ["day 2: needs start_time"]),
    ("empty-start", GOOD_DAY.replace('start = "A"', 'start = "  "'), 2, ["day 1: start must not be empty"]),
    ("empty-place", GOOD_DAY.replace('place = "B"', 'place = ""'), 5, ["day 1, stop 1: place must not be empty"]),
    ("missing-place", GOOD_DAY.replace('place = "B"', 'name = "B"'), 4, ["day 1, stop 1: needs place"]),
    ("place-not-text", GOOD_DAY.replace('place = "B"', "place = 51.5"), 5, ["place must be text, got 51.5"]),
    ("place-bad-latlon", GOOD_DAY.replace('place = "B"', 'place = "-2.99,51.58"'), 5, ["day 1, stop 1: place: '-2.99,51.58' looks like lon,lat"]),
    ("place-latlon-range", GOOD_DAY.replace('place = "B"', 'place = "95,3"'), 5, ["place: not a latitude,longitude: '95,3'"]),
    ("label-empty", GOOD_DAY + 'name = ""\n', 6, ["day 1, stop 1: name must not be empty"]),
    ("tour-name-type", '[tour]\nname = 3\n' + GOOD_DAY, 2, ["tour: name must be text, got 3"]),
    ("tour-osm-type", '[tour]\nosm = ["a"]\n' + GOOD_DAY, 2, ["tour: osm must be text, got ['a']"]),
    ("tour-vehicle-type", '[tour]\nvehicle = "coach.toml"\n' + GOOD_DAY, 2, ["tour: vehicle must be a table, got 'coach.toml'"]),
    ("tour-start-date", '[tour]\nstart_date = "3/12/2026"\n' + GOOD_DAY, 2, ["tour: start_date must be a date \"YYYY-MM-DD\", got '3/12/2026'"]),
    ("tour-start-date-invalid", '[tour]\nstart_date = "2026-02-30"\n' + GOOD_DAY, 2, ["start_date must be a date"]),
    ("date-datetime", GOOD_DAY.replace('start = "A"', 'date = 2026-12-03T07:00:00\nstart = "A"'), 2, ["day 1: date must be a date", "date-time"]),
    ("bad-time-7am", GOOD_DAY.replace('"07:00"', '"7am"'), 3, ["day 1: start_time must be a time \"HH:MM\"", "got '7am'"]),
    ("bad-time-24:61", GOOD_DAY.replace('"07:00"', '"24:61"'), 3, ["start_time must be a time", "'24:61'"]),
    ("bad-time-negative", GOOD_DAY.replace('"07:00"', '"-01:00"'), 3, ["start_time must be a time", "'-01:00'"]),
    ("bad-time-too-late", GOOD_DAY.replace('"07:00"', '"30:30"'), 3, ["start_time must be a time", "30:00"]),
    ("bad-time-number", GOOD_DAY.replace('"07:00"', "7"), 3, ["start_time must be a time", "got 7"]),
    ("bad-time-toml-time", GOOD_DAY.replace('"07:00"', "07:00:00"), 3, ["start_time must be quoted text", "unquoted TOML time 07:00:00"]),
    ("arrive-by-bad", GOOD_DAY + 'arrive_by = "9.30"\n', 6, ["day 1, stop 1: arrive_by must be a time", "'9.30'"]),
    ("arrive-by-before-start", GOOD_DAY + 'arrive_by = "06:30"\n', 6, ["arrive_by 06:30 is before the day's start_time 07:00"]),
    ("both-arrive-by-and-window", GOOD_DAY + 'arrive_by = "09:30"\nwindow = ["09:00", "09:30"]\n', 7, ["day 1, stop 1: window and arrive_by both given"]),
    ("window-reversed", GOOD_DAY + 'window = ["10:00", "09:30"]\n', 6, ["window ends before it starts: '10:00' to '09:30'"]),
    ("window-one", GOOD_DAY + 'window = ["10:00"]\n', 6, ["window must be a list of two times", "got ['10:00']"]),
    ("window-text", GOOD_DAY + 'window = "09:00-10:00"\n', 6, ["window must be a list of two times", "got '09:00-10:00'"]),
    ("window-bad-time", GOOD_DAY + 'window = ["09:00", "9h30"]\n', 6, ["window end must be a time", "'9h30'"]),
    ("window-before-start", GOOD_DAY + 'window = ["05:00", "06:00"]\n', 6, ["window 06:00 is before the day's start_time 07:00"]),
    ("dwell-negative", GOOD_DAY + GOOD_DAY + "[[day.stop]]\nplace = \"C\"\n[[day.stop]]\nplace = \"D\"\ndwell = -5\n",
     15, ["day 2, stop 3: dwell must be minutes from 0 to 720, got -5"]),
    ("dwell-too-long", GOOD_DAY + "dwell = 721\n", 6, ["dwell must be minutes from 0 to 720, got 721"]),
    ("dwell-bool", GOOD_DAY + "dwell = true\n", 6, ["dwell must be minutes", "got true"]),
    ("dwell-text", GOOD_DAY + 'dwell = "45"\n', 6, ["dwell must be minutes", "got '45'"]),
    ("dwell-nan", GOOD_DAY + "dwell = nan\n", 6, ["dwell must be minutes", "got nan"]),
    ("dwell-inf", GOOD_DAY + "dwell = inf\n", 6, ["dwell must be minutes", "got inf"]),
    ("fixed-text", GOOD_DAY + 'fixed = "true"\n', 6, ["day 1, stop 1: fixed must be true or false, got 'true'"]),
    ("fixed-int", GOOD_DAY + "fixed = 1\n", 6, ["fixed must be true or false, got 1"]),
    ("already-charged-text", GOOD_DAY.replace('start = "A"', 'start = "A"\nalready_charged = "W07000104"'), 3, ["day 1: already_charged must be a list", "got 'W07000104'"]),
    ("already-charged-number", GOOD_DAY.replace('start = "A"', 'start = "A"\nalready_charged = [1]'), 3, ["already_charged must be a list", "got [1]"]),
    ("already-charged-empty-name", GOOD_DAY.replace('start = "A"', 'start = "A"\nalready_charged = ["W07000104", " "]'), 3, ["already_charged must be a list"]),
    ("override-bad", GOOD_DAY + '[day.policy]\noverrides = { "Newport East" = "free" }\n', 7, ["day 1, policy.overrides: charge for 'Newport East' must be an amount in pounds"]),
    ("override-bad-table", GOOD_DAY + '[day.policy.overrides]\n"Newport East" = 0\n"Newport West" = true\n', 8, ["day 1, policy.overrides: charge for 'Newport West' must be"]),
    ("override-dotted-key", GOOD_DAY.replace('start = "A"', 'start = "A"\npolicy.overrides."Newport East" = "x"'), 3, ["day 1, policy.overrides: charge for 'Newport East'"]),
    ("override-not-table", GOOD_DAY + "[day.policy]\noverrides = 0\n", 7, ["day 1, policy: overrides must be a table", "got 0"]),
    ("day-policy-not-table", GOOD_DAY.replace('start = "A"', 'start = "A"\npolicy = "p.toml"'), 3, ["day 1: policy must be a table"]),
    ("overnight-by-without-overnight", GOOD_DAY.replace('start = "A"', 'start = "A"\novernight_arrive_by = "22:00"'), 3, ["overnight_arrive_by needs an overnight place"]),
    ("overnight-by-before-start", GOOD_DAY.replace('start = "A"', 'start = "A"\novernight = "C"\novernight_arrive_by = "01:00"'), 4, ["overnight_arrive_by 01:00 is before the day's start_time 07:00", "25:30"]),
    ("no-stops-no-overnight", GOOD_DAY + '[[day]]\nstart = "A"\nstart_time = "07:00"\n', 6, ["day 2: has no stops and no overnight"]),
    ("duplicate-dates", GOOD_DAY.replace('start = "A"', 'date = "2026-12-03"\nstart = "A"') * 2, 8, ["day 2: date 2026-12-03 is also the date of day 1 (line 1)"]),
    ("dates-out-of-order", GOOD_DAY.replace('start = "A"', 'date = "2026-12-04"\nstart = "A"') + GOOD_DAY.replace('start = "A"', 'date = "2026-12-03"\nstart = "A"'), 8,
     ["day 2: date 2026-12-03 is before day 1's date 2026-12-04"]),
    ("date-before-start-date", '[tour]\nstart_date = "2026-12-03"\n' + GOOD_DAY + GOOD_DAY.replace('start = "A"', 'date = "2026-12-03"\nstart = "A"'), 9,
     ["day 2: date 2026-12-03 is before 2026-12-04, day 2 of a tour from start_date 2026-12-03"]),
    ("date-before-derived", GOOD_DAY.replace('start = "A"', 'date = "2026-12-03"\nstart = "A"') + GOOD_DAY + GOOD_DAY.replace('start = "A"', 'date = "2026-12-04"\nstart = "A"'), 13,
     ["day 3: date 2026-12-04 is also the date of day 2"]),
    ("vehicle-in-inline-table", '[tour]\nvehicle = { height_m = 4 }\npolicy = { day_rate = 1, }\n' + GOOD_DAY, 3, ["invalid TOML"]),
]


@pytest.mark.parametrize(("text", "line", "pieces"), [pytest.param(t, n, p, id=i) for i, t, n, p in ERRORS])
def test_error_names_file_line_and_field(text: str, line: int, pieces: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        parse_itinerary(text, "tour.toml")
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"tour.toml line {line}: "), msg
    for piece in pieces:
        assert piece in msg, msg
    assert info.value.exit_code == 4


def test_error_ids_are_unique_and_many() -> None:
    assert len({e[0] for e in ERRORS}) == len(ERRORS) >= 30


def test_example_errors_from_the_issue(tmp_path: Path) -> None:
    """The message quoted in issue 13: a bad dwell on day 2, stop 3 of a real file."""
    text = EXAMPLE.read_text(encoding="utf-8").replace('place = "Alway"\nname = "Community centre"\ndwell = 30\n',
                                                       'place = "Alway"\nname = "Community centre"\ndwell = -5\n')
    assert "dwell = -5" in text
    p = tmp_path / "tour.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        read_itinerary(p)
    line = text.splitlines().index("dwell = -5") + 1
    assert str(info.value) == f"{p} line {line}: day 2, stop 3: dwell must be minutes from 0 to 720, got -5"


# -- files ---------------------------------------------------------------------------------------
def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^cannot read itinerary file .*nope\.toml: No such file or directory$"):
        read_itinerary(tmp_path / "nope.toml")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^cannot read itinerary file .*: Is a directory$"):
        read_itinerary(tmp_path)


def test_not_utf8(tmp_path: Path) -> None:
    p = tmp_path / "tour.toml"
    p.write_bytes(b'[[day]]\nstart = "Caf\xe9"\n')
    with pytest.raises(ConfigError) as info:
        read_itinerary(p)
    assert re.fullmatch(rf"{re.escape(str(p))} line 2: itinerary file is not UTF-8 text \(byte 0xe9 at offset \d+\); save it as UTF-8", str(info.value))


def test_syntax_error_at_end_of_document_uses_last_line() -> None:
    with pytest.raises(ConfigError, match=r"^t line 3: invalid TOML: Cannot overwrite a value \(at end of document\)$"):
        parse_itinerary('[[day]]\nstart = "A"\nstart = "B"', "t")


def test_keys_in_multiline_strings_are_not_located() -> None:
    text = '[tour]\nname = """\n[[day]]\ndwell = 1\n"""\n' + GOOD_DAY + "dwell = -1\n"
    with pytest.raises(ConfigError, match=r"^s line 11: day 1, stop 1: dwell"):
        parse_itinerary(text, "s")
