"""The bad-input matrix: what a planner can get wrong, and what routeplan must do about it.

Every case asserts the documented exit code, a single ``routeplan: ...`` line on stderr with no
traceback, and that outputs which existed before the run are byte-identical afterwards with no
temporary file left beside them (issue 12, items 3, 6, 9, 10).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from datapaths import DATA, NEWPORT

from routeplan.cli import main

BASE = ["route", "--osm", str(NEWPORT), "--boundaries", "wpc-2024", "-q"]
OK_STOPS = ["--from", "Stow Park", "--to", "Marshfield"]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    """Inputs a planner might pass, good and bad, and two precious earlier outputs."""
    f: dict[str, Path] = {}
    out = tmp_path / "out"
    out.mkdir()
    (out / "map.html").write_text("<html>yesterday's map</html>\n")
    (out / "ledger.csv").write_text("yesterday's ledger\n")
    f["out"] = out
    inp = tmp_path / "in"
    inp.mkdir()
    def w(name: str, text: str | bytes) -> Path:
        p = inp / name
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text, encoding="utf-8")
        f[name] = p
        return p

    w("good.toml", "[policy]\nday_rate = 461\n")
    w("stops_false.toml", '[policy]\ncharge_stops = "false"\n')
    w("rate_bool.toml", "[policy]\nday_rate = true\n")
    w("rate_nan.toml", "[policy]\nday_rate = nan\n")
    w("unknown_key.toml", "[policy]\nday_rat = 400\n")
    w("outside_key.toml", "day_rate = 400\n[policy]\n")
    w("overrides_str.toml", '[policy]\noverrides = "x"\n')
    w("bad.toml", "[policy\nday_rate = 4\n")
    w("conflict.csv", "constituency,charge\nNewport East,avoid\nW07000104,0\n")
    w("dupe.csv", "constituency,charge\nNewport East,avoid\nNewport East,0\n")
    w("badcharge.csv", "constituency,charge\nNewport East,lots\n")
    w("nocols.csv", "seat,price\nNewport East,0\n")
    w("latin1.csv", "constituency,charge\nYnys M\xf4n,0\n".encode("latin-1"))
    w("vehicle_key.toml", "[vehicle]\nheight = 4.0\n")
    w("vehicle_type.toml", '[vehicle]\nweight_t = "heavy"\n')
    w("vehicle_nan.toml", "[vehicle]\nheight_m = nan\n")
    w("garbage.osm.pbf", b"garbage" * 100)
    w("empty.osm.pbf", b"")
    w("truncated.osm.pbf", NEWPORT.read_bytes()[: 300_000])
    w("notes.txt", "a file, not a folder\n")
    # Polygons in British National Grid metres but labelled as WGS84: the wrong CRS.
    import geopandas as gpd
    from shapely.geometry import box

    gdf = gpd.GeoDataFrame({"code": ["X1"], "name": ["Nowhere"]}, geometry=[box(330000, 180000, 340000, 190000)], crs="EPSG:4326")
    gdf.to_file(inp / "wrongcrs.gpkg")
    f["wrongcrs.gpkg"] = inp / "wrongcrs.gpkg"
    # Real polygons that do not cover the Newport roads (Rutland's seat only).
    real = gpd.read_file(DATA / "boundaries" / "wpc-2024.gpkg")
    real[real["name"] == "Rutland and Stamford"].to_file(inp / "rutland-only.gpkg")
    f["rutland-only.gpkg"] = inp / "rutland-only.gpkg"
    (inp / "folder").mkdir()
    f["folder"] = inp / "folder"
    os.symlink(out / "map.html", inp / "link.html")
    f["link.html"] = inp / "link.html"
    os.mkfifo(inp / "fifo.html")
    f["fifo.html"] = inp / "fifo.html"
    return f


# (id, args (with {name} placeholders for files), exit code, text in the message, give outputs?)
CASES: list[tuple[str, list[str], int, str, bool]] = [
    # places (exit 5; empty is a usage error)
    ("unknown-place", ["--from", "Nowhere Special", "--to", "Marshfield"], 5, "unknown place", True),
    ("substring-is-no-match-chepstow", ["--from", "Stow Park", "--to", "Chepstow"], 5, "unknown place", True),
    ("substring-is-no-match-caerleon", ["--from", "Caerleon", "--to", "Marshfield"], 5, "unknown place", True),
    ("ambiguous-place", ["--from", "Tesco", "--to", "Marshfield"], 5, "ambiguous", True),
    ("empty-place", ["--from", "", "--to", "Marshfield"], 2, "empty place", True),
    ("blank-place", ["--from", "Stow Park", "--to", "   "], 2, "empty place", True),
    ("point-off-network", ["--from", "51.40,-3.00", "--to", "Marshfield"], 5, "nearest road", True),
    ("lon-lat-swapped", ["--from", "-3.00,51.58", "--to", "Marshfield"], 5, "lon,lat", True),
    ("lat-out-of-range", ["--from", "95.0,-3.0", "--to", "Marshfield"], 5, "latitude", True),
    # numbers: finite and in range (exit 2)
    ("max-extra-negative", [*OK_STOPS, "--max-extra-minutes", "-3"], 2, "--max-extra-minutes", True),
    ("max-extra-nan", [*OK_STOPS, "--max-extra-minutes", "nan"], 2, "not a finite number", True),
    ("max-extra-inf", [*OK_STOPS, "--max-extra-minutes", "inf"], 2, "not a finite number", True),
    ("max-detour-negative", [*OK_STOPS, "--max-detour-percent", "-1"], 2, "--max-detour-percent", True),
    ("max-snap-nan", [*OK_STOPS, "--max-snap", "nan"], 2, "--max-snap", True),
    ("max-snap-zero", [*OK_STOPS, "--max-snap", "0"], 2, "--max-snap", True),
    ("max-snap-huge", [*OK_STOPS, "--max-snap", "1e9"], 2, "--max-snap", True),
    ("incursion-nan", [*OK_STOPS, "--incursion-tolerance", "nan"], 2, "--incursion-tolerance", True),
    ("incursion-negative", [*OK_STOPS, "--incursion-tolerance", "-1"], 2, "--incursion-tolerance", True),
    ("day-rate-inf", [*OK_STOPS, "--day-rate", "inf"], 2, "--day-rate", True),
    ("day-rate-absurd", [*OK_STOPS, "--day-rate", "1e17"], 2, "--day-rate", True),
    ("day-rate-negative", [*OK_STOPS, "--day-rate", "-1"], 2, "--day-rate", True),
    ("day-rate-text", [*OK_STOPS, "--day-rate", "lots"], 2, "not a number", True),
    ("value-of-time-inf", [*OK_STOPS, "--value-of-time", "inf"], 2, "--value-of-time", True),
    ("height-zero", [*OK_STOPS, "--height", "0"], 2, "--height", True),
    ("weight-nan", [*OK_STOPS, "--weight", "nan"], 2, "--weight", True),
    ("outside-percent-150", [*OK_STOPS, "--max-outside-percent", "150"], 2, "--max-outside-percent", True),
    # policy, overrides and vehicle files (exit 4)
    ("avoid-unknown-seat", [*OK_STOPS, "--avoid", "Atlantis"], 4, "names no constituency", True),
    ("avoid-and-free-same-seat", [*OK_STOPS, "--avoid", "Newport East", "--free", "Newport East"], 4, "Newport East", True),
    ("avoid-by-name-free-by-code", [*OK_STOPS, "--avoid", "Newport East", "--free", "W07000104"], 4, "W07000104", True),
    ("exempt-unknown-class", [*OK_STOPS, "--exempt", "motorways"], 4, "unknown road class", True),
    ("already-charged-unknown", [*OK_STOPS, "--already-charged", "ZZ999"], 4, "ZZ999", True),
    ("policy-bool-as-string", [*OK_STOPS, "--policy", "{stops_false.toml}"], 4, "charge_stops", True),
    ("policy-bool-as-rate", [*OK_STOPS, "--policy", "{rate_bool.toml}"], 4, "day_rate", True),
    ("policy-nan-rate", [*OK_STOPS, "--policy", "{rate_nan.toml}"], 4, "day_rate", True),
    ("policy-unknown-key", [*OK_STOPS, "--policy", "{unknown_key.toml}"], 4, "day_rat", True),
    ("policy-key-outside-table", [*OK_STOPS, "--policy", "{outside_key.toml}"], 4, "day_rate", True),
    ("policy-overrides-not-table", [*OK_STOPS, "--policy", "{overrides_str.toml}"], 4, "overrides", True),
    ("policy-invalid-toml", [*OK_STOPS, "--policy", "{bad.toml}"], 4, "bad.toml", True),
    ("policy-missing", [*OK_STOPS, "--policy", "/nonexistent/policy.toml"], 4, "not found", True),
    ("policy-is-folder", [*OK_STOPS, "--policy", "{folder}"], 4, "not a regular file", True),
    ("overrides-code-and-name-conflict", [*OK_STOPS, "--overrides", "{conflict.csv}"], 4, "W07000104", True),
    ("overrides-duplicate-row", [*OK_STOPS, "--overrides", "{dupe.csv}"], 4, "line 3", True),
    ("overrides-bad-charge", [*OK_STOPS, "--overrides", "{badcharge.csv}"], 4, "line 2", True),
    ("overrides-no-columns", [*OK_STOPS, "--overrides", "{nocols.csv}"], 4, "constituency", True),
    ("overrides-not-utf8", [*OK_STOPS, "--overrides", "{latin1.csv}"], 4, "latin1.csv", True),
    ("vehicle-unknown-key", [*OK_STOPS, "--vehicle", "{vehicle_key.toml}"], 4, "height", True),
    ("vehicle-wrong-type", [*OK_STOPS, "--vehicle", "{vehicle_type.toml}"], 4, "weight_t", True),
    ("vehicle-nan", [*OK_STOPS, "--vehicle", "{vehicle_nan.toml}"], 4, "height_m", True),
    # data (exit 3)
    ("osm-missing-absolute", ["--osm", "/nonexistent/region.osm.pbf", *OK_STOPS], 3, "not found", True),
    ("osm-missing-name", ["--osm", "atlantis", *OK_STOPS], 3, "not found", True),
    ("osm-is-folder", ["--osm", "{folder}", *OK_STOPS], 3, "folder", True),
    ("osm-garbage", ["--osm", "{garbage.osm.pbf}", *OK_STOPS], 3, "OSM file", True),
    ("osm-empty", ["--osm", "{empty.osm.pbf}", *OK_STOPS], 3, "OSM file", True),
    ("osm-truncated", ["--osm", "{truncated.osm.pbf}", *OK_STOPS], 3, "OSM file", True),
    ("boundaries-unknown-set", ["--boundaries", "wpc-1066", *OK_STOPS], 3, "unknown boundary set", True),
    ("boundaries-is-folder", ["--boundaries", "{folder}", *OK_STOPS], 3, "folder", True),
    ("boundaries-wrong-crs", ["--boundaries", "{wrongcrs.gpkg}", *OK_STOPS], 3, "wrong CRS", True),
    ("boundaries-do-not-cover", ["--boundaries", "{rutland-only.gpkg}", *OK_STOPS], 3, "outside every constituency", True),
    # outputs (exit 2): never over an input, a device, a link, a pipe; never two on one path
    ("map-dev-full", [*OK_STOPS, "--map", "/dev/full"], 2, "not a regular file", False),
    ("ledger-dev-full", [*OK_STOPS, "--ledger", "/dev/full"], 2, "not a regular file", False),
    ("map-under-proc", [*OK_STOPS, "--map", "/proc/routeplan/map.html"], 2, "--map", False),
    ("map-under-a-file", [*OK_STOPS, "--map", "{notes.txt}/map.html"], 2, "is a file", False),
    ("map-is-folder", [*OK_STOPS, "--map", "{folder}"], 2, "folder", False),
    ("map-is-symlink", [*OK_STOPS, "--map", "{link.html}"], 2, "symbolic link", False),
    ("map-is-fifo", [*OK_STOPS, "--map", "{fifo.html}"], 2, "not a regular file", False),
    ("map-equals-ledger", [*OK_STOPS, "--map", "{out}/same", "--ledger", "{out}/same"], 2, "same file", False),
    ("ledger-over-policy-input", [*OK_STOPS, "--policy", "{good.toml}", "--ledger", "{good.toml}"], 2, "input", False),
    ("map-over-osm-input", [*OK_STOPS, "--map", str(NEWPORT)], 2, "input", False),
    ("json-and-ledger-stdout", [*OK_STOPS, "--json", "--ledger", "-"], 2, "standard output", False),
    ("cache-dir-is-a-file", [*OK_STOPS, "--cache-dir", "{notes.txt}"], 4, "cache folder", True),
    # usage and infeasible plans
    ("unknown-flag", [*OK_STOPS, "--colour", "red"], 2, "--colour", True),
    ("missing-to", ["--from", "Stow Park"], 2, "--to", True),
    ("osm-name-with-glob-characters", ["--osm", "new[port*", *OK_STOPS], 3, "not found", True),
    ("hard-avoid-blocks-every-route", ["--from", "Duffryn", "--to", "Stow Park", "--avoid", "Newport West and Islwyn"], 6, "hard-avoid", True),
]


def _expand(args: list[str], files: dict[str, Path]) -> list[str]:
    out = []
    for a in args:
        for k, v in files.items():
            a = a.replace("{" + k + "}", str(v))
        out.append(a)
    return out


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize(("args", "code", "text", "outputs"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(files: dict[str, Path], capsys: pytest.CaptureFixture[str], args: list[str], code: int, text: str, outputs: bool) -> None:
    argv = [*BASE, *_expand(args, files)]
    if outputs:
        argv += ["--map", str(files["out"] / "map.html"), "--ledger", str(files["out"] / "ledger.csv")]
    before = _snapshot(files["out"])
    inputs_before = {p.name: p.read_bytes() for p in files["folder"].parent.iterdir() if p.is_file() and not p.is_symlink()}
    got, out, err = run(argv, capsys)
    assert got == code, err
    assert err.startswith("routeplan: ") and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert text in err, err
    assert out == ""
    assert _snapshot(files["out"]) == before
    assert {p.name: p.read_bytes() for p in files["folder"].parent.iterdir() if p.is_file() and not p.is_symlink()} == inputs_before
    assert not list(files["out"].glob(".*.tmp"))


def test_matrix_is_large_enough() -> None:
    assert len(CASES) >= 45
    assert len({c[0] for c in CASES}) == len(CASES)


SYNTH_CASES = [
    (["--around", "Newport East", "--seed", "-1"], 2, "--seed"),
    (["--around", "Newport East", "-n", "0"], 2, "-n"),
    (["--around", "Newport East", "--preset", "county"], 2, "either --around"),
    (["--around", "Atlantis"], 2, "unknown constituency"),
]


@pytest.mark.parametrize(("args", "code", "text"), SYNTH_CASES)
def test_bad_synth(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: int, text: str) -> None:
    out = tmp_path / "net.osm.pbf"
    out.write_bytes(b"precious")
    got, _, err = run(["synth", *args, "--out", str(out), "-q"], capsys)
    assert got == code, err
    assert text in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert out.read_bytes() == b"precious"


def test_synth_out_under_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "f").write_text("x")
    got, _, err = run(["synth", "--around", "Newport East", "--out", str(tmp_path / "f" / "n.osm.pbf"), "-q"], capsys)
    assert got == 2 and "is a file" in err


def test_ledger_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    got, out, err = run([*BASE, *OK_STOPS, "--ledger", "-"], capsys)
    assert got == 0, err
    assert "route,day,code,constituency" in out and "CHEAPEST" in out


def test_missing_output_folders_are_created(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "a" / "b" / "ledger.csv"
    got, _, err = run([*BASE, *OK_STOPS, "--ledger", str(target)], capsys)
    assert got == 0, err
    assert target.read_text().startswith("route,day,code")


def _cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    # Ctrl-C as a planner's terminal delivers it: a suite started in the background by a
    # non-interactive shell ignores SIGINT, the child would inherit that and Python would then
    # install no KeyboardInterrupt handler at all.
    code = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); from routeplan.cli import main; main()"
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


@pytest.mark.integration
@pytest.mark.parametrize(("sig", "code", "word"), [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")])
def test_signal_during_cold_build_leaves_nothing(tmp_path: Path, sig: int, code: int, word: str) -> None:
    """SIGTERM/Ctrl-C during a cold build: earlier outputs intact, no temporary file anywhere."""
    cache = tmp_path / "cache"
    out = tmp_path / "out"
    out.mkdir()
    (out / "ledger.csv").write_text("precious\n")
    env = dict(os.environ, ROUTEPLAN_DATA=str(DATA), ROUTEPLAN_CACHE=str(cache))
    proc = _cli([*BASE[:-1], *OK_STOPS, "--ledger", str(out / "ledger.csv"), "--map", str(out / "map.html")], env)
    # Wait until the build has started writing (the boundary cache), then stop it at once: a
    # cold Newport build now takes about a second, so a pause here let it finish first.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(cache.glob("*")) and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.fail("the run finished before the signal; make the build slower or signal sooner")
    assert proc.returncode == code, err
    assert err.strip().splitlines()[-1].startswith(f"routeplan: {word}")
    assert (out / "ledger.csv").read_text() == "precious\n"
    assert sorted(p.name for p in out.iterdir()) == ["ledger.csv"]
    assert not [p for p in cache.rglob("*") if p.name.endswith(".tmp")]
