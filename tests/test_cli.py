"""The CLI as a planner uses it: exit codes, one-line errors, atomic outputs, JSON that recomputes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import click
import pytest
from datapaths import DATA, NEWPORT

from routeplan.cli import cli, main


def run(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_every_command_has_help(capsys):
    def walk(group, prefix):
        for name, cmd in group.commands.items():
            assert cmd.help, f"command {prefix + [name]} has no help text"
            code, out, _ = run([*prefix, name, "--help"], capsys)
            assert code == 0 and "Usage:" in out
            if isinstance(cmd, click.Group):
                walk(cmd, [*prefix, name])

    walk(cli, [])


BASE = ["route", "--osm", str(NEWPORT), "--boundaries", "wpc-2024", "-q"]


@pytest.mark.integration
@pytest.mark.parametrize(("bset", "a", "z"), [("wpc-2024", "Rogerstone", "Marshfield"), ("wpc-2010", "Rogerstone", "Marshfield"), ("wpc-2024", "Duffryn", "Stow Park")])
def test_route_json_ledger_recomputes(request, capsys, cache_root, bset, a, z):
    """Either side of the M4, under both boundary sets: the printed ledger of each route equals
    the ledger recomputed from its printed path, and the cheapest never costs more."""
    from routeplan.ledger import build_ledger
    from routeplan.locate import resolve
    from routeplan.policy import ExpensePolicy

    net = request.getfixturevalue("newport2024" if bset == "wpc-2024" else "newport2010")
    bnd = request.getfixturevalue("b2024" if bset == "wpc-2024" else "b2010")
    code, out, err = run(["route", "--osm", str(NEWPORT), "--boundaries", bset, "-q", "--from", a, "--to", z, "--json", "--alternatives"], capsys)
    assert code == 0, err
    data = json.loads(out)
    stops = [resolve(a, net, bnd), resolve(z, net, bnd)]
    for kind in ("cheapest", "fastest"):
        r = data[kind]
        led = build_ledger(net, r["pieces"], stops, ExpensePolicy())
        assert led.as_dict() == r["ledger"]
        assert led.total_pence == r["cost_pence"]
    assert data["cheapest"]["cost_pence"] <= data["fastest"]["cost_pence"]
    assert data["saving_pence"] == data["fastest"]["cost_pence"] - data["cheapest"]["cost_pence"]
    assert "OpenStreetMap" in data["attribution"][0] and "Open Government Licence" in data["attribution"][1]


@pytest.mark.integration
@pytest.mark.parametrize("bset", ["wpc-2024", "wpc-2010"])
def test_route_text_map_and_ledger(tmp_path, capsys, cache_root, bset):
    args = ["route", "--osm", "newport", "--boundaries", bset, "-q", "--from", "Rogerstone", "--to", "Marshfield",
            "--map", str(tmp_path / "m.html"), "--ledger", str(tmp_path / "l.csv")]
    code, out, err = run(args, capsys)
    assert code == 0, err
    assert "CHEAPEST" in out and "FASTEST" in out and "Newport" in out
    html = (tmp_path / "m.html").read_text()
    assert "OpenStreetMap" in html and "Open Government Licence" in html
    rows = (tmp_path / "l.csv").read_text().splitlines()
    assert rows[0].startswith("route,day,code") and any(r.startswith("cheapest,1,") for r in rows)


@pytest.mark.parametrize(
    ("args", "code", "msg"),
    [
        (["--from", "Nowhere Special", "--to", "Marshfield"], 5, "unknown place"),
        (["--from", "Tesco", "--to", "Marshfield"], 5, "ambiguous"),
        (["--from", "51.40,-3.00", "--to", "Marshfield"], 5, "nearest road"),
        (["--from", "Duffryn", "--to", "Stow Park", "--avoid", "Newport West and Islwyn"], 6, "hard-avoid"),
        (["--from", "Stow Park", "--to", "Marshfield", "--avoid", "Atlantis"], 4, "names no constituency"),
        (["--from", "Stow Park", "--to", "Marshfield", "--exempt", "motorways"], 4, "unknown road classes"),
        (["--from", "Stow Park", "--to", "Marshfield", "--max-extra-minutes", "-3"], 2, "out of range"),
    ],
)
def test_bad_input_is_one_line(capsys, cache_root, args, code, msg):
    got, _, err = run([*BASE, *args], capsys)
    assert got == code
    assert msg in err and err.startswith("routeplan: ") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_bad_files(tmp_path, capsys, cache_root):
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(b"garbage" * 100)
    code, _, err = run(["route", "--osm", str(bad), "--from", "a", "--to", "b", "-q"], capsys)
    assert code == 3 and "cannot read OSM file" in err
    code, _, err = run(["route", "--osm", "nosuch", "--from", "a", "--to", "b", "-q"], capsys)
    assert code == 3 and "not found" in err
    code, _, err = run([*BASE[:4], "wpc-1066", "--from", "a", "--to", "b"], capsys)
    assert code == 3 and "unknown boundary set" in err


@pytest.mark.integration
def test_failed_run_keeps_existing_outputs(tmp_path, capsys, cache_root):
    ledger = tmp_path / "l.csv"
    ledger.write_text("precious\n")
    code, _, _ = run([*BASE, "--from", "Nowhere Special", "--to", "Marshfield", "--ledger", str(ledger), "--map", str(tmp_path / "m.html")], capsys)
    assert code == 5
    assert ledger.read_text() == "precious\n"
    assert not (tmp_path / "m.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["l.csv"]  # no temp files left


def test_internal_error_is_one_line_with_log(monkeypatch, capsys):
    import routeplan.boundaries

    def boom(*a, **k):
        raise ZeroDivisionError("synthetic bug")

    monkeypatch.setattr(routeplan.boundaries, "load_boundaries", boom)
    code, _, err = run([*BASE, "--from", "a", "--to", "b"], capsys)
    assert code == 1 and "internal error" in err and "traceback in" in err and "Traceback" not in err


@pytest.mark.integration
def test_console_script_end_to_end(tmp_path, cache_root):
    """The installed ``routeplan`` entry point, as a planner's shell runs it."""
    env = dict(os.environ, ROUTEPLAN_DATA=str(DATA), ROUTEPLAN_CACHE=str(cache_root))
    exe = [sys.executable, "-c", "from routeplan.cli import main; main()"]
    ok = subprocess.run([*exe, "route", "--osm", "newport", "--from", "Rogerstone", "--to", "Marshfield", "-q"], capture_output=True, text=True, env=env, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "FASTEST" in ok.stdout
    bad = subprocess.run([*exe, "route", "--osm", "newport", "--from", "Atlantis", "--to", "Marshfield", "-q"], capture_output=True, text=True, env=env, check=False)
    assert bad.returncode == 5 and bad.stderr.startswith("routeplan: unknown place")


def test_synth_and_data_commands(tmp_path, capsys, cache_root):
    out = tmp_path / "region.osm.pbf"
    code, text, err = run(["synth", "--around", "Newport West and Islwyn", "-n", "3", "--out", str(out), "-q"], capsys)
    assert code == 0, err
    assert text.startswith("GENERATED synthetic network") and out.exists() and out.with_name(out.name + ".json").exists()
    towns = [ln.strip().split(":")[0] for ln in text.splitlines()[1:]]
    assert len(towns) == 3 and towns[0] == "Newport West and Islwyn Town"
    code, text, err = run(["route", "--osm", str(out), "--from", towns[0], "--to", towns[2], "-q"], capsys)
    assert code == 0, err
    assert "NOTE: GENERATED synthetic network" in text
    code, _, err = run(["synth", "--out", str(tmp_path / "x.osm.pbf")], capsys)
    assert code == 2 and "either --around" in err
    code, text, _ = run(["data", "info"], capsys)
    assert code == 0 and "wpc-2024" in text and "ok" in text
    code, text, err = run(["data", "fetch", "--boundaries", "wpc-2010", "--data-dir", str(tmp_path / "d"),
                           "--base-url", (DATA / "boundaries" / "source").as_uri(), "-q"], capsys)
    assert code == 0, err
    assert (tmp_path / "d" / "boundaries" / "source" / "Westminster_Parliamentary_Constituencies_Dec_2017_UK_BGC_2022.topojson").exists()
    code, _, err = run(["data", "fetch", "--boundaries", "wpc-1832", "--data-dir", str(tmp_path / "d")], capsys)
    assert code == 3 and "unknown boundary set" in err
