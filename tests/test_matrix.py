"""Venue matrix (routeplan.matrix, ``routeplan matrix``): every cell equals plan_leg on the same
pair, Dask equals one process, resume skips finished origins, writers round-trip."""

from __future__ import annotations

import itertools
import json
import logging
import math
import sys
import time

import numpy as np
import pytest
from datapaths import DATA

from routeplan.errors import InfeasibleError, UsageError
from routeplan.locate import resolve
from routeplan.matrix import (
    COLUMNS,
    METHODS,
    PartialFile,
    fingerprint,
    network_key,
    network_path,
    read_matrix,
    venue_matrix,
    venue_matrix_dask,
    write_matrix,
)
from routeplan.policy import AVOID, ExpensePolicy
from routeplan.routing import plan_leg

# Dask's scheduler may warn (a busy default port, a slow start): not a failure of ours.
pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore::UserWarning"),
              pytest.mark.filterwarnings("ignore::ResourceWarning"), pytest.mark.filterwarnings("ignore::DeprecationWarning")]

VENUES = ("Nash", "Rhiwderin", "Marshfield", "Gaer", "Coedkernew", "Bassaleg", "Maindee", "Beechwood", "Ringland",
          "High Cross", "Pillgwenlly", "Maesglas", "Alway", "Somerton", "Liswerry", "Duffryn", "Stow Park", "Rogerstone",
          "Bishpool", "Glan Llyn", "Eveswell", "Lawrence Hill")


@pytest.fixture(scope="module")
def venues(newport2024, b2024):
    return [resolve(v, newport2024, b2024) for v in VENUES]


@pytest.fixture(scope="module")
def fresh(newport2024, venues):
    return venue_matrix(newport2024, venues[:10])


def _check_against_plan_leg(net, stops, res, policy, already=()):
    names = dict(zip(net.cell_codes, net.cell_names, strict=True))
    charges = policy.label_charges(net.cell_codes, net.cell_names, already)
    n = len(stops)
    assert len(res.rows) == n * (n - 1)
    seen_saving = 0
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            r = res.cell(i, j)
            assert (r["origin"], r["destination"]) == (i, j)
            in_avoid = [s.cell >= 0 and charges[s.cell] == AVOID for s in (stops[i], stops[j])]
            if any(in_avoid):
                assert r["status"] == "avoid-stop"
                with pytest.raises(InfeasibleError):
                    plan_leg(net, stops[i], stops[j], policy, already_charged=already)
                continue
            leg = plan_leg(net, stops[i], stops[j], policy, already_charged=already, alternatives=True)
            assert r["status"] == "ok", (i, j, r)
            # The convention: the pair's charge leaves out the stops' own seats (stop_pence).
            want_stop = {net.cell_codes[s.cell] for s in (stops[i], stops[j])
                         if policy.charge_stops and s.cell >= 0 and charges[s.cell] > 0}
            assert set(r["stop_seats"]) == want_stop
            assert r["stop_pence"] == sum(int(charges[net.cell_codes.index(c)]) for c in want_stop)
            assert r["cheapest_pence"] + r["stop_pence"] == leg.cheapest.cost_pence, (i, j)
            assert r["fastest_pence"] + r["stop_pence"] == leg.fastest.cost_pence, (i, j)
            assert math.isclose(r["cheapest_s"], leg.cheapest.time_s, rel_tol=1e-9), (i, j)
            assert math.isclose(r["fastest_s"], leg.fastest.time_s, rel_tol=1e-9), (i, j)
            for kind, route in (("cheapest", leg.cheapest), ("fastest", leg.fastest)):
                ledger = {c.code for c in route.ledger.charged}
                assert set(r[f"{kind}_seats"]) == ledger - want_stop, (i, j, kind)
                assert all(c in names for c in r[f"{kind}_seats"])
            seen_saving += r["fastest_pence"] > r["cheapest_pence"]
    return seen_saving


@pytest.mark.parametrize("method", METHODS)
def test_every_cell_equals_plan_leg_on_22_newport_venues(newport2024, venues, method, record_property):
    assert len(venues) >= 20
    pol = ExpensePolicy()
    res = venue_matrix(newport2024, venues, pol, method=method)
    record_property("matrix_s", res.timings["matrix_s"])
    assert res.computed == tuple(range(len(venues)))
    saving = _check_against_plan_leg(newport2024, venues, res, pol)
    assert saving > 0  # some pair's fastest route cuts through a seat the cheapest avoids


def test_matrix_conventions_other_policies(newport2024, venues):
    """No stop charges (the pair pays the stops' seats it drives in), a seat already charged,
    and a hard-avoid seat (pairs with a venue in it have no route; the rest avoid it)."""
    net, stops = newport2024, venues[:7]
    east = net.cell_codes[net.cell_names.index("Newport East")]
    west = net.cell_codes[net.cell_names.index("Newport West and Islwyn")]
    cases = [(ExpensePolicy(charge_stops=False), ()), (ExpensePolicy(charge_stops=False), (east,)),
             (ExpensePolicy(overrides={"Cardiff East": AVOID}), ()), (ExpensePolicy(overrides={"Newport East": AVOID}), (west,))]
    for pol, already in cases:
        a = venue_matrix(net, stops, pol, already_charged=already)
        b = venue_matrix(net, stops, pol, already_charged=already, method="one-to-many")
        assert a.rows == b.rows
        _check_against_plan_leg(net, stops, a, pol, already)
    statuses = {r["status"] for r in a.rows}
    assert statuses == {"ok", "avoid-stop"}
    assert all(r["fastest_s"] is None and r["cheapest_pence"] is None for r in a.rows if r["status"] != "ok")


def test_bad_arguments(newport2024, venues):
    with pytest.raises(UsageError, match="at least two"):
        venue_matrix(newport2024, venues[:1])
    with pytest.raises(UsageError, match="value of time"):
        venue_matrix(newport2024, venues[:3], ExpensePolicy(value_of_time_pence_per_hour=100))
    with pytest.raises(UsageError, match="method"):
        venue_matrix(newport2024, venues[:3], method="guess")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="do not fit"):
        venue_matrix(newport2024, venues[:3], done={0: []})


@pytest.mark.parametrize(("n", "workers"), [(1, 1), (7, 2), (100, 2), (300, 2), (300, 8), (1000, 3)])
def test_origin_batches_shrink_to_single_origins_and_cover_each_once(n, workers):
    from routeplan.matrix import origin_batches

    todo = [3 * i + 1 for i in range(n)]  # any origin numbers, kept in order
    got = origin_batches(todo, workers)
    assert [i for b in got for i in b] == todo
    sizes = [len(b) for b in got]
    assert sizes[0] == max(1, math.ceil(n / (4 * workers)))
    assert all(a >= b for a, b in itertools.pairwise(sizes))  # the big ones first
    assert sizes[-1] == 1
    assert len(got) <= 4 * workers * (1 + math.log(max(n, 1))) + 4 * workers  # O(P log n) tasks, not one per origin
    assert origin_batches(todo, workers, 4) == [tuple(todo[k:k + 4]) for k in range(0, n, 4)]  # a fixed size as asked
    assert origin_batches([], workers) == []


def test_dask_local_cluster_equals_single_process(newport2024, venues, fresh, record_property):
    """Two worker processes (one thread each) on 8 venues: the same rows exactly, and each worker
    loads the network once for all its tasks."""
    from distributed import Client, LocalCluster

    from routeplan import matrix as mmod

    stops = venues[:8]
    single = venue_matrix(newport2024, stops)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        seen = []
        got = venue_matrix_dask(network_path(newport2024), stops, client=client, batch=1,
                                progress=lambda d, t: seen.append((d, t)))
        assert got.rows == single.rows
        assert seen[-1] == (8, 8)
        again = venue_matrix_dask(newport2024, stops, client=client, method="one-to-many", batch=3)
        assert again.rows == single.rows
        stats = client.run(lambda: dict(mmod.WORKER_STATS))
        assert len(stats) == 2
        assert all(s["network_loads"] == 1 for s in stats.values()), stats
        assert sum(s["origins"] for s in stats.values()) == 16
        if sys.platform.startswith("linux"):  # Dask's nanny sets MALLOC_TRIM_THRESHOLD_; each worker undid it once
            assert all(s["malloc_tuned"] == 1 for s in stats.values()), stats
    with pytest.raises(UsageError, match="n_workers"):
        venue_matrix_dask(newport2024, stops, n_workers=0)


@pytest.mark.parametrize("ch", [False, True], ids=["overlay", "overlay+ch"])
def test_overlay_engine_gives_the_same_matrix(newport2024, venues, fresh, monkeypatch, ch):
    """From ``OVERLAY_MIN_NODES`` road nodes on, the matrix searches the constituency-cell
    overlay, and from ``CH_MIN_NODES`` takes the fastest route from the contraction hierarchy, as
    ``plan_leg`` does; forced on Newport they give the flat kernel's rows exactly."""
    from routeplan import matrix as mmod
    from routeplan.kernels import ch as chmod

    monkeypatch.setattr(mmod, "OVERLAY_MIN_NODES", 0)
    calls = []
    if ch:
        monkeypatch.setattr(mmod, "CH_MIN_NODES", 0)
        real = chmod.ch_query
        monkeypatch.setattr(chmod, "ch_query", lambda *a: calls.append(1) or real(*a))
    got = venue_matrix(newport2024, venues[:10])
    assert len(got.rows) == len(fresh.rows) == 90
    for a, b in zip(got.rows, fresh.rows, strict=True):
        # Times agree to rounding: the overlay adds a clique's precomputed in-cell sum where the
        # flat search adds the same road times one by one.
        for key in ("fastest_s", "cheapest_s"):
            assert a[key] == pytest.approx(b[key], rel=1e-12, abs=1e-9)  # type: ignore[literal-required]
        assert {k: v for k, v in a.items() if not k.endswith("_s")} == {k: v for k, v in b.items() if not k.endswith("_s")}
    assert len(calls) == (90 if ch else 0)


def test_fifty_newport_venues_local_cluster_equals_single_process(newport2024, b2024, venues, record_property):
    """Issue 16's acceptance case: 50 Newport venues (the 22 named places and 28 coordinates of
    road nodes, as a planner would paste them), single process vs a 2-worker LocalCluster: the
    same 2,450 rows exactly."""
    from distributed import Client, LocalCluster

    rng = np.random.default_rng(50)
    lat, lon = newport2024.pieces.node_lat, newport2024.pieces.node_lon
    picks = rng.choice(newport2024.n_nodes, size=28, replace=False)
    extra = [resolve(f"{lat[i]:.6f},{lon[i]:.6f}", newport2024, b2024) for i in picks.tolist()]
    stops = [*venues, *extra]
    assert len(stops) == 50
    t0 = time.perf_counter()
    single = venue_matrix(newport2024, stops)
    t1 = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        got = venue_matrix_dask(network_path(newport2024), stops, client=client)
    t2 = time.perf_counter()
    assert len(single.rows) == 50 * 49
    assert got.rows == single.rows
    assert sum(r["cheapest_pence"] < r["fastest_pence"] for r in single.rows) >= 1  # not a trivial matrix
    record_property("single_s", round(t1 - t0, 2))
    record_property("local_cluster_s", round(t2 - t1, 2))


def test_resume_skips_finished_origins(newport2024, venues, fresh, tmp_path):
    stops = venues[:10]
    fp = fingerprint(network_key(newport2024), stops, ExpensePolicy(), ())
    part = PartialFile(PartialFile.for_output(tmp_path / "m.parquet"), fp)
    by_origin = {i: [r for r in fresh.rows if r["origin"] == i] for i in range(10)}
    for i in (0, 3, 7):
        part.append(i, by_origin[i])
    part.close()
    with open(part.path, "a", encoding="utf-8") as fh:  # a run killed while writing origin 9
        fh.write('{"origin": 9, "rows": [{"origin"')
    again = PartialFile(part.path, fp)
    done = again.load()
    assert sorted(done) == [0, 3, 7]
    computed = []
    res = venue_matrix(newport2024, stops, done=done, on_origin=lambda i, rows: (computed.append(i), again.append(i, rows)))
    again.close()
    assert computed == [1, 2, 4, 5, 6, 8, 9]
    assert res.computed == tuple(computed)
    assert res.rows == fresh.rows
    # The partial file now holds every origin (the torn line was cut off), each once.
    lines = part.path.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["fingerprint"] == fp
    assert sorted(json.loads(x)["origin"] for x in lines[1:]) == list(range(10))
    # A partial file written for other inputs is refused, never mixed in.
    other = PartialFile(part.path, fingerprint(network_key(newport2024), stops[:9], ExpensePolicy(), ()))
    with pytest.raises(UsageError, match="other inputs"):
        other.load()


@pytest.mark.parametrize("ext", [".parquet", ".csv", ".json"])
def test_writers_round_trip(fresh, tmp_path, ext):
    path = tmp_path / f"m{ext}"
    write_matrix(fresh, path)
    assert read_matrix(path) == list(fresh.rows)
    if ext == ".parquet":
        import pandas as pd
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        assert tuple(table.column_names) == COLUMNS
        meta = json.loads(table.schema.metadata[b"routeplan"])
        assert meta["venues"][0]["label"] == "Nash"
        df = pd.read_parquet(path)
        assert len(df) == 90
        assert df["cheapest_pence"].tolist() == [r["cheapest_pence"] for r in fresh.rows]
        assert list(df["cheapest_seats"].iloc[0]) == fresh.rows[0]["cheapest_seats"]
    if ext == ".csv":
        import pandas as pd

        df = pd.read_csv(path)
        assert df["fastest_s"].tolist() == [r["fastest_s"] for r in fresh.rows]


# -- the command ------------------------------------------------------------------------------


def _cli(args, capsys):
    from routeplan.cli import cli, main
    from routeplan.cli_matrix import matrix

    cli.add_command(matrix)  # the lead registers it in cli.py; harmless twice
    with pytest.raises(SystemExit) as exc:
        main(["matrix", *args])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_cli_writes_resumes_and_names_bad_lines(tmp_path, capsys, fresh, newport2024):
    venues_csv = tmp_path / "venues.csv"
    venues_csv.write_text("name,place\n" + "".join(f"{v} stop,{v}\n" for v in VENUES[:10]), encoding="utf-8")
    out = tmp_path / "out" / "m.csv"
    code, text, err = _cli([str(venues_csv), "--osm", "newport", "--out", str(out), "-q", "--data-dir", str(DATA)], capsys)
    assert code == 0, err
    assert "10 venues, 90 ordered pairs" in text
    rows = read_matrix(out)
    assert [r["cheapest_pence"] for r in rows] == [r["cheapest_pence"] for r in fresh.rows]
    assert rows[0]["origin_label"] == "Nash stop"
    assert not PartialFile.for_output(out).exists()

    # Resume: a partial file with some origins (from the same inputs) is read back, not recomputed.
    out2 = tmp_path / "m2.json"
    import dataclasses

    from routeplan.boundaries import load_boundaries

    policy = ExpensePolicy()
    bnd = load_boundaries("wpc-2024", data_dir=DATA)
    stops = [dataclasses.replace(resolve(v, newport2024, bnd), label=f"{v} stop") for v in VENUES[:10]]
    fp = fingerprint(network_key(newport2024), stops, policy, ())
    part = PartialFile(PartialFile.for_output(out2), fp)
    marked = [dict(r) | {"status": "ok"} for r in rows if r["origin"] == 4]
    for r in marked:
        r["cheapest_s"] = 12345.0  # a value no fresh run gives: proves the origin was not recomputed
    part.append(4, marked)
    part.close()
    code, text, err = _cli([str(venues_csv), "--osm", "newport", "--out", str(out2), "-q"], capsys)
    assert code == 2 and "--resume" in err  # never silently discarded
    code, text, err = _cli([str(venues_csv), "--osm", "newport", "--out", str(out2), "-q", "--resume"], capsys)
    assert code == 0, err
    assert "9 origins computed" in text and "1 resumed" in text
    got = read_matrix(out2)
    assert [r["cheapest_s"] for r in got if r["origin"] == 4] == [12345.0] * 9
    assert [r for r in got if r["origin"] != 4] == [r for r in rows if r["origin"] != 4]
    assert not part.path.exists()

    bad = tmp_path / "bad.csv"
    bad.write_text("name,place\nA,Nash\nB,\n", encoding="utf-8")
    code, _, err = _cli([str(bad), "--osm", "newport", "--out", str(tmp_path / "x.csv"), "-q"], capsys)
    assert code == 2 and "line 3: empty place" in err
    bad.write_text("name,place\nA,Nash\nB,Atlantis\n", encoding="utf-8")
    code, _, err = _cli([str(bad), "--osm", "newport", "--out", str(tmp_path / "x.csv"), "-q"], capsys)
    assert code == 5 and "bad.csv line 3:" in err and "Atlantis" in err
    code, _, err = _cli([str(venues_csv), "--osm", "newport", "--out", str(tmp_path / "x.txt"), "-q"], capsys)
    assert code == 2 and ".parquet, .csv or .json" in err
    code, _, err = _cli([str(venues_csv), "--osm", "newport", "--out", str(tmp_path / "x.csv"), "--local", "--workers", "2"], capsys)
    assert code == 2
    assert not (tmp_path / "x.csv").exists()


def test_cli_prepares_the_customise_steps_before_the_first_origin(tmp_path, capsys, fresh, monkeypatch):
    """On a network big enough for the overlay and the hierarchy, ``routeplan matrix`` says so and
    builds (or loads) both before the matrix starts, so Dask workers find them cached; forced on
    Newport, the rows are the flat kernel's."""
    from routeplan import matrix as mmod
    from routeplan import routing

    for mod in (routing, mmod):
        monkeypatch.setattr(mod, "OVERLAY_MIN_NODES", 0)
        monkeypatch.setattr(mod, "CH_MIN_NODES", 0)
    venues_csv = tmp_path / "venues.csv"
    venues_csv.write_text("name,place\n" + "".join(f"{v} stop,{v}\n" for v in VENUES[:10]), encoding="utf-8")
    out = tmp_path / "m.csv"
    code, _, err = _cli([str(venues_csv), "--osm", "newport", "--out", str(out), "--data-dir", str(DATA)], capsys)
    assert code == 0, err
    assert "constituency-cell overlay" in err and "contraction hierarchy" in err
    rows = read_matrix(out)
    assert [(r["cheapest_pence"], r["fastest_pence"]) for r in rows] == [(r["cheapest_pence"], r["fastest_pence"]) for r in fresh.rows]


def test_dask_parent_puts_the_customise_steps_on_disk_first(b2024, tmp_path, monkeypatch):
    """Before any task, the Dask driver builds the overlay and the hierarchy into the network's
    cache (so workers load them, not each build its own) and, for a network it loaded itself,
    does not keep them in memory."""
    from routeplan import matrix as mmod
    from routeplan.network import Network, build_network
    from routeplan.settings import data_dir

    monkeypatch.setattr(mmod, "OVERLAY_MIN_NODES", 0)
    monkeypatch.setattr(mmod, "CH_MIN_NODES", 0)
    built = build_network(data_dir(DATA) / "osm" / "newport-2023-06-13.osm.pbf", b2024, cache_dir=tmp_path)
    kinds = lambda: sorted({f.name.split("-")[0] for f in tmp_path.glob("*.npz")})
    assert "overlay" not in kinds() and "ch" not in kinds()
    net = Network.load(network_path(built))
    mmod.customise_on_disk(net, ExpensePolicy(), "one-to-many", keep=False)
    assert "overlay" not in kinds() and "ch" not in kinds()  # that method uses neither
    mmod.customise_on_disk(net, ExpensePolicy(), "pairwise", keep=False)
    assert {"overlay", "ch"} <= set(kinds())
    assert "_ch" not in net.__dict__ and not net.__dict__.get("_overlay_cache")
    mmod.customise_on_disk(built, ExpensePolicy(), "pairwise", keep=True)
    assert "_ch" in built.__dict__ and built.__dict__.get("_overlay_cache")
