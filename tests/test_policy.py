import numpy as np
import pytest

from routeplan.errors import ConfigError
from routeplan.policy import AVOID, ExpensePolicy, read_overrides

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
    (tmp_path / "ov.csv").write_text("constituency,charge\nAlpha,0\nB2,avoid\nGamma,100.50\n")
    (tmp_path / "p.toml").write_text(
        '[policy]\nday_rate = 500\nexempt = ["motorway", "motorway_link", "trunk"]\nvalue_of_time = 120\n'
        'overrides_file = "ov.csv"\n[policy.overrides]\nGamma = 0\n'
    )
    pol = ExpensePolicy.from_toml(tmp_path / "p.toml")
    assert pol.day_rate_pence == 50000
    assert "trunk" in pol.exempt_classes
    assert pol.value_of_time_pence_per_hour == 12000
    assert pol.label_charges(CODES, NAMES).tolist() == [0, AVOID, 0]  # inline table wins over the file
    assert read_overrides(tmp_path / "ov.csv") == {"Alpha": 0, "B2": AVOID, "Gamma": 10050}
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
