import numpy as np
import pytest

from routeplan.errors import ConfigError
from routeplan.policy import (
    AVOID,
    ExpensePolicy,
    Override,
    build_policy,
    read_override_records,
    read_overrides,
)

CODES = ["A1", "B2", "C3"]
NAMES = ["Alpha", "Beta", "Gamma"]


def test_defaults():
    pol = ExpensePolicy()
    assert pol.day_rate_pence == 46100
    assert pol.exempt_classes == {"motorway", "motorway_link"}
    assert pol.label_charges(CODES, NAMES).tolist() == [46100] * 3


def test_overrides_by_code_and_name_and_already_charged():
    pol = ExpensePolicy(overrides={"A1": 0, "beta": AVOID})
    got = pol.label_charges(CODES, NAMES, already_charged=["C3"])
    assert got.tolist() == [0, AVOID, 0]
    # Already charged never un-avoids a constituency.
    assert pol.label_charges(CODES, NAMES, already_charged=["B2"]).tolist()[1] == AVOID


def test_unknown_override_is_an_error():
    with pytest.raises(ConfigError, match="names no constituency"):
        ExpensePolicy(overrides={"Delta": 0}).label_charges(CODES, NAMES)
    with pytest.raises(ConfigError, match="not in this boundary set"):
        ExpensePolicy().label_charges(CODES, NAMES, already_charged=["ZZ"])


def test_toml_and_csv(tmp_path):
    (tmp_path / "ov.csv").write_text("constituency,charge\nAlpha,0\nB2,avoid\nGamma,0.00\n")
    (tmp_path / "p.toml").write_text(
        '[policy]\nday_rate = 500\nexempt = ["motorway", "motorway_link", "trunk"]\nvalue_of_time = 120\n'
        'overrides_file = "ov.csv"\n[policy.overrides]\nGamma = 0\n'
    )
    pol = ExpensePolicy.from_toml(tmp_path / "p.toml")
    assert pol.day_rate_pence == 50000
    assert "trunk" in pol.exempt_classes
    assert pol.value_of_time_pence_per_hour == 12000
    assert pol.label_charges(CODES, NAMES).tolist() == [0, AVOID, 0]  # same charge for Gamma twice: fine
    assert read_overrides(tmp_path / "ov.csv") == {"Alpha": 0, "B2": AVOID, "Gamma": 0}
    mask = pol.exempt_mask()
    assert mask.dtype == np.bool_ and mask.sum() == 3


@pytest.mark.parametrize(
    ("table", "match"),
    [({"dayrate": 1}, "unknown policy settings"), ({"exempt": ["motorways"]}, "unknown road classes"), ({"day_rate": "lots"}, "amount in pounds"), ({"day_rate": -1}, "negative")],
)
def test_bad_policy(table, match):
    with pytest.raises(ConfigError, match=match):
        ExpensePolicy.from_mapping(table)


def test_bad_files(tmp_path):
    (tmp_path / "bad.toml").write_text("[policy\n")
    with pytest.raises(ConfigError, match="cannot read policy file"):
        ExpensePolicy.from_toml(tmp_path / "bad.toml")
    (tmp_path / "bad.csv").write_text("code,amount\nA1,0\n")
    with pytest.raises(ConfigError, match="needs columns"):
        read_overrides(tmp_path / "bad.csv")


def test_describe_hash_tells_policies_apart():
    assert ExpensePolicy().describe()["hash"] != ExpensePolicy(day_rate_pence=1).describe()["hash"]
    assert ExpensePolicy().describe()["hash"] == ExpensePolicy().describe()["hash"]


# -- conflicts are errors naming both entries and where each came from ------------------------------


def test_code_and_name_conflict_in_one_csv(tmp_path):
    f = tmp_path / "seats.csv"
    f.write_text("constituency,charge\nBeta,avoid\nB2,0\n")
    pol = build_policy(overrides_file=f)  # only the boundary set tells that Beta is B2
    with pytest.raises(ConfigError, match=r"Beta \(B2\).*'Beta' = avoid \(.*seats.csv line 2\).*'B2' = £0.00 \(.*seats.csv line 3\)"):
        pol.label_charges(CODES, NAMES)
    # The same charge by code and by name is accepted.
    f.write_text("constituency,charge\nBeta,0\nB2,0\n")
    assert build_policy(overrides_file=f).label_charges(CODES, NAMES).tolist() == [46100, 0, 46100]


def test_duplicate_rows_in_one_csv(tmp_path):
    f = tmp_path / "seats.csv"
    f.write_text("constituency,charge\nAlpha,0\nGamma,5\nalpha,avoid\n")
    with pytest.raises(ConfigError, match=r"'Alpha' = £0.00 \(.*seats.csv line 2\) and 'alpha' = avoid \(.*seats.csv line 4\)"):
        read_overrides(f)
    f.write_text("constituency,charge\nAlpha,0\nAlpha,0.00\n")
    assert read_overrides(f) == {"Alpha": 0}


def test_toml_overrides_versus_overrides_file(tmp_path):
    (tmp_path / "ov.csv").write_text("constituency,charge\nGamma,100.50\n")
    (tmp_path / "p.toml").write_text('[policy]\noverrides_file = "ov.csv"\n[policy.overrides]\nGamma = 0\n')
    with pytest.raises(ConfigError, match=r"p.toml.*'Gamma'.*£100.50 \(.*ov.csv line 2\) and £0.00 \(.*p.toml \[policy.overrides\]\)"):
        ExpensePolicy.from_toml(tmp_path / "p.toml")


def test_avoid_versus_free_from_the_caller():
    names = {"avoid": "--avoid", "free": "--free"}
    with pytest.raises(ConfigError, match=r"'Alpha': avoid \(--avoid\) and £0.00 \(--free\)"):
        build_policy(avoid=["Alpha"], free=["Alpha"], names=names)
    with pytest.raises(ConfigError, match=r"'Alpha' = avoid \(--avoid\) and 'alpha' = £0.00 \(--free\)"):
        build_policy(avoid=["Alpha"], free=["alpha"], names=names)
    pol = build_policy(avoid=["Alpha"], free=["B2"], names=names)
    assert pol.label_charges(CODES, NAMES).tolist() == [AVOID, 0, 46100]
    with pytest.raises(ConfigError, match=r"Alpha \(A1\).*avoid \(--avoid\).*£0.00 \(--free\)"):
        build_policy(avoid=["Alpha"], free=["A1"], names=names).label_charges(CODES, NAMES)
    # A string is one constituency (names can hold commas), never its letters.
    assert build_policy(avoid="Alpha").overrides == {"Alpha": AVOID}
    with pytest.raises(ConfigError, match="avoid: empty constituency"):
        build_policy(avoid=[" "])


def test_caller_versus_policy_file(tmp_path):
    (tmp_path / "p.toml").write_text('[policy]\nday_rate = 500\n[policy.overrides]\nAlpha = "avoid"\n')
    with pytest.raises(ConfigError, match=r"avoid \(.*p.toml \[policy.overrides\]\) and £0.00 \(--free\)"):
        build_policy(tmp_path / "p.toml", free=["Alpha"], names={"free": "--free"})
    pol = build_policy(tmp_path / "p.toml", avoid=["Alpha"], free=["Gamma"])
    assert pol.label_charges(CODES, NAMES).tolist() == [AVOID, 50000, 0]
    assert pol.override_sources["Gamma"] == "free"


def test_override_records_keep_provenance(tmp_path):
    f = tmp_path / "seats.csv"
    f.write_text("constituency,charge\nAlpha,0\n")
    pol = build_policy(overrides_file=f, avoid=["Beta"])
    assert set(pol.override_records()) == {Override("Alpha", 0, f"{f} line 2"), Override("Beta", AVOID, "avoid")}
    assert pol == ExpensePolicy(overrides={"Alpha": 0, "Beta": AVOID})  # provenance is not compared


# -- TOML types are strict -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('[policy]\ncharge_stops = "false"\n', "charge_stops must be true or false"),
        ("[policy]\nday_rate = true\n", "day_rate must be an amount in pounds"),
        ('[policy]\nday_rate = "461"\n', "day_rate must be an amount in pounds"),
        ("[policy]\nday_rate = nan\n", "day_rate must be an amount in pounds"),
        ("[policy]\nday_rate = inf\n", "day_rate must be an amount in pounds"),
        ("[policy]\nday_rate = 1e17\n", "day_rate must be at most £100,000"),
        ("[policy]\nvalue_of_time = -1\n", "value_of_time must not be negative"),
        ("[policy]\nvalue_of_time = 1e17\n", "value_of_time must be at most"),
        ('[policy]\nexempt = "motorway"\n', "exempt must be a list of road class names"),
        ("[policy]\nexempt = [1]\n", "exempt must be a list of road class names"),
        ('[policy]\noverrides = "x"\n', "overrides must be a table"),
        ("[policy]\noverrides_file = 3\n", "overrides_file must be a file name"),
        ("[policy.overrides]\nAlpha = true\n", "charge for 'Alpha' must be an amount in pounds"),
        ('[policy.overrides]\nAlpha = "0"\n', "charge for 'Alpha' must be an amount in pounds"),
        ("[policy.overrides]\nAlpha = 1e17\n", "charge for 'Alpha' must be at most"),
        ("[policy]\ndayrate = 1\n", "unknown policy settings.*dayrate"),
        ("[policy]\nday_rate = 1\n[vehicle]\nheight_m = 4\n", r"outside \[policy\].*vehicle"),
        ("day_rate = 461\n", r"outside \[policy\].*day_rate.*under a \[policy\] table"),
        ("policy = 3\n", "'policy' must be a table"),
        ("[policy\n", "cannot read policy file"),
    ],
)
def test_policy_file_types_are_strict(tmp_path, text, match):
    f = tmp_path / "p.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=match) as exc:
        ExpensePolicy.from_toml(f)
    assert "p.toml" in str(exc.value)
    assert "\n" not in str(exc.value)


def test_policy_file_unreadable(tmp_path):
    for path in (tmp_path / "missing.toml", tmp_path):
        with pytest.raises(ConfigError, match="cannot read policy file") as exc:
            build_policy(path)
        assert "\n" not in str(exc.value)
    (tmp_path / "latin1.toml").write_bytes(b"[policy]\n# caf\xe9\nday_rate = 4\n")
    with pytest.raises(ConfigError, match="cannot read policy file.*latin1.toml"):
        build_policy(tmp_path / "latin1.toml")


# -- the overrides CSV -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        "constituency,charge\nNewport East,avoid\nYnys Môn,0\n".encode("utf-8-sig"),  # Excel "CSV UTF-8"
        "constituency\tcharge\r\nNewport East\tavoid\r\nYnys Môn\t0\r\n".encode("utf-16"),  # Excel "Unicode text"
        "constituency,charge\r\nNewport East,avoid\r\nYnys Môn,0\r\n".encode("utf-16-be").join([b"\xfe\xff", b""]),
        "Constituency,Charge,Notes\nNewport East,avoid,hold\n,,\nYnys Môn,£0,\n\n".encode(),  # extra columns, blank rows
    ],
)
def test_csv_encodings(tmp_path, data):
    f = tmp_path / "seats.csv"
    f.write_bytes(data)
    assert read_overrides(f) == {"Newport East": AVOID, "Ynys Môn": 0}


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("constituency,charge\nAlpha,0\nBeta,abc\n", r"seats.csv line 3: charge 'abc' for 'Beta' is not an amount in pounds .*or 'avoid'"),
        ("constituency,charge\nAlpha,0\n,5\n", r"seats.csv line 3: empty constituency"),
        ("constituency,charge\nAlpha\n", r"seats.csv line 2: no charge for 'Alpha'"),
        ("constituency,charge\nAlpha,nan\n", r"seats.csv line 2: charge 'nan'"),
        ("constituency,charge\nAlpha,inf\n", r"seats.csv line 2: charge 'inf'"),
        ("constituency,charge\nAlpha,-5\n", r"seats.csv line 2: charge '-5'"),
        ("constituency,charge\nAlpha,1e17\n", r"seats.csv line 2: charge '1e17'"),
        ("code,amount\nA1,0\n", "seats.csv needs columns"),
        ("", "seats.csv needs columns"),
    ],
)
def test_csv_row_errors_name_file_and_line(tmp_path, text, match):
    f = tmp_path / "seats.csv"
    f.write_text(text)
    with pytest.raises(ConfigError, match=match):
        read_override_records(f)


def test_csv_undecodable_and_unreadable(tmp_path):
    f = tmp_path / "seats.csv"
    f.write_bytes(b"constituency,charge\nYnys M\xf4n,0\n")  # cp1252
    with pytest.raises(ConfigError, match="seats.csv is not UTF-8 or UTF-16"):
        read_overrides(f)
    with pytest.raises(ConfigError, match="cannot read overrides file"):
        read_overrides(tmp_path / "missing.csv")
    with pytest.raises(ConfigError, match="cannot read overrides file"):
        read_overrides(tmp_path)


# -- numbers finite and in range; builder arguments -------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"day_rate": float("nan")}, r"^--day-rate must be an amount in pounds"),
        ({"day_rate": float("inf")}, r"^--day-rate must be an amount in pounds"),
        ({"day_rate": 1e17}, r"^--day-rate must be at most £100,000"),
        ({"day_rate": -1.0}, r"^--day-rate must not be negative"),
        ({"day_rate": True}, r"^--day-rate must be an amount in pounds"),
        ({"day_rate": "461"}, r"^--day-rate must be an amount in pounds"),
        ({"value_of_time": float("nan")}, r"^--value-of-time must be"),
        ({"value_of_time": 1e17}, r"^--value-of-time must be at most"),
        ({"charge_stops": "false"}, r"^charge_stops must be true or false"),
        ({"exempt": ["motorways"]}, r"^--exempt: unknown road classes \['motorways'\]"),
    ],
)
def test_build_policy_argument_errors(kw, match):
    names = {"day_rate": "--day-rate", "value_of_time": "--value-of-time", "exempt": "--exempt"}
    with pytest.raises(ConfigError, match=match):
        build_policy(**kw, names=names)


def test_build_policy_arguments_override_the_file(tmp_path):
    (tmp_path / "p.toml").write_text('[policy]\nday_rate = 500\nexempt = ["motorway"]\ncharge_stops = false\nvalue_of_time = 10\n')
    pol = build_policy(tmp_path / "p.toml")
    assert (pol.day_rate_pence, pol.exempt_classes, pol.charge_stops, pol.value_of_time_pence_per_hour) == (50000, {"motorway"}, False, 1000)
    pol = build_policy(tmp_path / "p.toml", day_rate=461, exempt="motorway,trunk", charge_stops=True, value_of_time=120.5)
    assert (pol.day_rate_pence, pol.exempt_classes, pol.charge_stops, pol.value_of_time_pence_per_hour) == (46100, {"motorway", "trunk"}, True, 12050)
    assert build_policy(exempt=["none"]).exempt_classes == frozenset()
    assert build_policy(exempt=[]).exempt_classes == frozenset()
    assert build_policy() == ExpensePolicy()


def test_build_policy_merges_every_override_source(tmp_path):
    (tmp_path / "a.csv").write_text("constituency,charge\nAlpha,10\n")
    (tmp_path / "b.csv").write_text("constituency,charge\nBeta,20\n")
    (tmp_path / "p.toml").write_text('[policy]\noverrides_file = "a.csv"\n')
    pol = build_policy(tmp_path / "p.toml", overrides_file=tmp_path / "b.csv", avoid=["Gamma"])
    assert pol.label_charges(CODES, NAMES).tolist() == [1000, 2000, AVOID]


@pytest.mark.parametrize(
    "kw",
    [{"day_rate_pence": 10_000_001}, {"day_rate_pence": -1}, {"day_rate_pence": 4.5}, {"day_rate_pence": True}, {"value_of_time_pence_per_hour": float("nan")}, {"overrides": {"A1": -2}}, {"overrides": {"A1": 10**17}}, {"charge_stops": "no"}],
)
def test_dataclass_refuses_bad_numbers(kw):
    with pytest.raises(ConfigError):
        ExpensePolicy(**kw)


def test_describe_is_json_and_finite(tmp_path):
    import json
    import math

    pol = build_policy(day_rate=100000, value_of_time=1_000_000, avoid=["Alpha"], free=["B2"])
    d = json.loads(json.dumps(pol.describe(), allow_nan=False))
    assert d["day_rate_pence"] == 10_000_000 and d["value_of_time_pence_per_hour"] == 100_000_000
    assert all(math.isfinite(v) for v in d["overrides"].values())
