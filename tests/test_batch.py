"""netopt batch: result folders, resuming, failures, Dask against serial, and a kill test."""

from __future__ import annotations

import json
import multiprocessing
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

import netopt
from netopt.batch import COMPARISON, RUN_RECORD, parse_executor, run_batch
from netopt.datasets import data_path
from netopt.game import coalition_values
from netopt.plan import TABLES
from tests.conftest import REPO

SPECS = REPO / "tests" / "data" / "specs"
GOOD = sorted(p.stem for p in SPECS.glob("*.toml"))  # basic, basic_pricey, growth, ...
EXPECTED = {"basic": 8000.0, "basic_pricey": 38500.0, "growth": 14800.0,
            "growth_no_outlet": 160000.0}


def netopt_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netopt", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def pool():
    """One process pool for the in-process batches (spawn: HiGHS breaks in forked children)."""
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as executor:
        yield executor


@pytest.fixture
def specs(tmp_path) -> Path:
    folder = tmp_path / "specs"
    folder.mkdir()
    for path in SPECS.glob("*.toml"):
        shutil.copy(path, folder / path.name)
    return folder


def records(out: Path) -> dict[str, dict]:
    return {d.name: json.loads((d / RUN_RECORD).read_text()) for d in sorted(out.iterdir())
            if d.is_dir() and not d.name.startswith(".")}


def assert_complete(folder: Path) -> None:
    """A result folder under a final name holds every file of a finished spec."""
    names = {p.name for p in folder.iterdir()}
    expected = {f"{t}.csv" for t in TABLES} | {"plan.json", RUN_RECORD, "spec.toml"}
    assert expected <= names, f"{folder} misses {sorted(expected - names)}"
    record = json.loads((folder / RUN_RECORD).read_text())
    assert record["spec"]["name"] == folder.name


def test_batch_writes_folders_then_skips_and_reruns_what_changed(specs, tmp_path, pool):
    out = tmp_path / "runs"
    table = run_batch([specs], executor=pool, out=out, progress=False)
    assert list(table["spec"]) == GOOD
    assert set(table["state"]) == {"ran"} and table["ok"].all()
    assert dict(zip(table["spec"], table["total_cost_cny"])) == pytest.approx(EXPECTED)
    first = records(out)
    assert sorted(first) == GOOD
    for name, record in first.items():
        assert_complete(out / name)
        assert record["status"] == "optimal" and record["ok"]
        assert record["objective_cny"] == pytest.approx(EXPECTED[name])
        assert record["bound_cny"] == pytest.approx(EXPECTED[name])
        assert record["gap"] == pytest.approx(0.0, abs=1e-9)
        assert set(record["versions"]) >= {"netopt", "pyomo", "highspy", "highs"}
        assert record["versions"]["netopt"] == netopt.__version__
        assert len(record["input_hash"]) == 64
        assert record["case"]["content_hash"]
        assert {"solve_s", "worker_s", "total_s"} <= set(record["timings_s"])
        assert record["started_at"] <= record["finished_at"]
        assert netopt.load_plan(out / name).objective == pytest.approx(EXPECTED[name])
    # the basic spec split its savings: c(A) = 7,000, c(B) = 20,000, c(AB) = 8,000
    values = pd.read_csv(out / "basic" / "coalition_values.csv").set_index("coalition")
    assert values["cost_cny"].to_dict() == pytest.approx({"A": 7000, "B": 20000, "A+B": 8000})
    assert set(pd.read_csv(out / "basic" / "allocation.csv")["method"]) == {
        "shapley", "nucleolus"}
    assert first["basic"]["summary"]["savings_cny"] == pytest.approx(19000)
    saved = pd.read_csv(out / COMPARISON)
    assert list(saved["spec"]) == GOOD
    assert saved.set_index("spec").at["basic", "savings_cny"] == pytest.approx(19000)
    assert saved.set_index("spec").at["growth_no_outlet", "collection_rate"] == 0.0

    # a second run finds every spec done with the same inputs
    again = run_batch([specs], executor=pool, out=out, progress=False)
    assert set(again["state"]) == {"skipped"} and again["ok"].all()
    assert records(out) == first

    # a changed spec runs again, and only it
    growth = specs / "growth.toml"
    growth.write_text(growth.read_text().replace("supply = 1.2", "supply = 1.5"))
    (specs / "basic_pricey.toml").write_text("# only a comment changed\n" + (
        specs / "basic_pricey.toml").read_text())
    third = run_batch([specs], executor=pool, out=out, progress=False).set_index("spec")
    assert third["state"].to_dict() == {name: "ran" if name == "growth" else "skipped"
                                        for name in GOOD}
    after = records(out)
    assert after["growth"]["input_hash"] != first["growth"]["input_hash"]
    assert after["growth"]["objective_cny"] > first["growth"]["objective_cny"]
    assert {k: v for k, v in after.items() if k != "growth"} == {
        k: v for k, v in first.items() if k != "growth"}


def test_changed_case_reruns_its_spec(tmp_path, pool):
    case = tmp_path / "case"
    shutil.copytree(data_path("tiny/basic"), case)
    (tmp_path / "s.toml").write_text('case = "case"\n[solver]\ntime_limit = 30\n')
    out = tmp_path / "runs"
    assert run_batch(tmp_path / "s.toml", executor=pool, out=out, progress=False)[
        "state"].tolist() == ["ran"]
    assert run_batch(tmp_path / "s.toml", executor=pool, out=out, progress=False)[
        "state"].tolist() == ["skipped"]
    supply = case / "supply.csv"
    supply.write_text(supply.read_text().replace("s2,NMC,2026,50", "s2,NMC,2026,60"))
    table = run_batch(tmp_path / "s.toml", executor=pool, out=out, progress=False)
    assert table["state"].tolist() == ["ran"]
    assert table["total_cost_cny"].iloc[0] > 8000


def test_failing_specs_are_reported_and_the_others_finish(tmp_path, specs):
    bad_case = tmp_path / "bad_case"
    shutil.copytree(data_path("tiny/basic"), bad_case)
    supply = bad_case / "supply.csv"
    supply.write_text(supply.read_text().replace("s2,NMC,2026,50", "s2,NMC,2026,-50"))
    (specs / "bad_case.toml").write_text(f'case = "{bad_case}"\n')
    shutil.copy(SPECS / "failing" / "infeasible.toml", specs / "infeasible.toml")
    out = tmp_path / "runs"
    result = netopt_cli("batch", str(specs), "--out", str(out), "--executor", "local:2",
                        "--no-progress")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "failed bad_case: bad case: " in result.stdout
    assert "supply.csv, row 3, column 'tonnes': must be >= 0 (got -50)" in result.stdout
    assert "failed infeasible: no usable plan (infeasible)" in result.stdout
    assert "failed: bad_case, infeasible" in result.stdout
    table = pd.read_csv(out / COMPARISON).set_index("spec")
    assert table.loc[GOOD, "ok"].all() and set(table.loc[GOOD, "state"]) == {"ran"}
    assert table.at["bad_case", "state"] == "failed" and not table.at["bad_case", "ok"]
    assert not (out / "bad_case").exists()  # nothing was solved: no folder
    # the infeasible spec ran: its folder says why it is infeasible
    assert json.loads((out / "infeasible" / RUN_RECORD).read_text())["status"] == "infeasible"
    assert (out / "infeasible" / "explanation.csv").exists()
    for name in GOOD:
        assert_complete(out / name)


def test_bad_input_exit_2_and_nothing_runs(tmp_path, specs):
    (specs / "typo.toml").write_text('case = "tiny/basic"\n[scale]\nsuply = 2\n')
    out = tmp_path / "runs"
    result = netopt_cli("batch", str(specs), "--out", str(out))
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: {specs / 'typo.toml'}, column 'scale.suply': "
                                     "unknown multiplier; did you mean 'supply'? (known: "
                                     "supply, recycling_revenue, reuse_revenue, "
                                     "outsourcing_cost, max_reuse_share, recycling_emissions, "
                                     "recycling_fee, processing_cost, handling_cost, capex, "
                                     "fixed_cost, transport_cost, collection_capacity, "
                                     "site_capacity, recycler_capacity, reuse_capacity)")
    assert not out.exists()
    result = netopt_cli("batch", str(SPECS / "basic.toml"), "--out", str(out),
                        "--executor", "cluster:4")
    assert result.returncode == 2
    assert "choose local[:N], dask:ADDRESS or dask-local[:N]" in result.stderr
    assert not out.exists()


def test_parse_executor():
    assert parse_executor("local") == ("local", None)
    assert parse_executor("local:3") == ("local", 3)
    assert parse_executor("dask-local:2") == ("dask-local", 2)
    assert parse_executor("dask:tcp://127.0.0.1:8786") == ("dask", "tcp://127.0.0.1:8786")
    for bad in ("local:0", "local:x", "dask:", "ray"):
        with pytest.raises(ValueError):
            parse_executor(bad)


# --- Dask ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_dask_batch_matches_the_serial_run(tmp_path, specs, dask_client):
    serial = run_batch([specs], executor="local:1", out=tmp_path / "serial", progress=False)
    on_dask = run_batch([specs], executor=dask_client, out=tmp_path / "dask", progress=False)
    columns = ["spec", "state", "ok", "status", "total_cost_cny", "gap", "savings_cny",
               "sites_opened", "collection_rate", "co2_t"]
    pd.testing.assert_frame_equal(serial[columns], on_dask[columns])
    assert set(dask_client.scheduler_info()["workers"]) and len(
        dask_client.scheduler_info()["workers"]) == 2
    a, b = records(tmp_path / "serial"), records(tmp_path / "dask")
    assert b["basic"]["executor"].startswith("dask:")
    for name in GOOD:
        assert a[name]["input_hash"] == b[name]["input_hash"]
        for table in ("sites", "flows", "costs", "outsourced", "kpis"):
            pd.testing.assert_frame_equal(
                pd.read_csv(tmp_path / "serial" / name / f"{table}.csv"),
                pd.read_csv(tmp_path / "dask" / name / f"{table}.csv"))
    for table in ("coalition_values", "allocation"):
        left = pd.read_csv(tmp_path / "serial" / "basic" / f"{table}.csv")
        right = pd.read_csv(tmp_path / "dask" / "basic" / f"{table}.csv")
        left, right = (frame.drop(columns=["seconds"], errors="ignore") for frame in (left, right))
        pd.testing.assert_frame_equal(left, right)


def test_dask_coalition_values_match_serial(dask_client):
    case = netopt.load_case(data_path("tiny/basic"))
    serial = coalition_values(case, workers=1, progress=False)
    on_dask = coalition_values(case, executor=dask_client, progress=False)
    assert on_dask.to_dict() == serial.to_dict()
    assert on_dask[frozenset({"A"})] == pytest.approx(7000)
    assert on_dask[frozenset({"B"})] == pytest.approx(20000)
    assert on_dask[frozenset({"A", "B"})] == pytest.approx(8000)
    assert set(on_dask.attrs["records"]["status"]) == {"optimal"}


# --- Ctrl-C, then kill: finished folders are whole, and a rerun does only the rest ------------

def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_interrupted_batch_keeps_finished_results_and_resumes(tmp_path):
    specs = tmp_path / "specs"
    specs.mkdir()
    names = [f"g{i:02d}" for i in range(30)]
    for i, name in enumerate(names):
        (specs / f"{name}.toml").write_text(
            f'case = "tiny/growth"\n[scale]\nsupply = {1 + i / 100}\n')
    out = tmp_path / "runs"
    command = [sys.executable, "-m", "netopt", "batch", str(specs), "--out", str(out),
               "--executor", "local:1", "--no-progress"]
    # a shell starts background jobs with Ctrl-C ignored, and Python then leaves it
    # ignored: give the batch the default, as a terminal would
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, preexec_fn=_default_sigint)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        # a finished spec: a record in a final folder (a staging folder, ".<name>.partial-",
        # gets its record just before it is renamed, and a Ctrl-C then may come between)
        if out.exists() and any((d / RUN_RECORD).exists() for d in out.iterdir()
                                if not d.name.startswith(".")):
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    try:
        stdout, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    assert process.returncode in (130, -signal.SIGKILL), stdout + stderr
    assert "Traceback" not in stderr

    finished = {}
    for folder in out.iterdir():
        if folder.is_dir() and not folder.name.startswith("."):
            assert_complete(folder)  # no partial folder under a final name
            finished[folder.name] = json.loads((folder / RUN_RECORD).read_text())
    assert finished, "no spec finished before the interrupt"
    assert len(finished) < len(names), "the batch ended before it was interrupted"
    if process.returncode == 130:
        assert "interrupted: the finished specs are kept in" in stderr
        table = pd.read_csv(out / COMPARISON).set_index("spec")
        assert set(table.index[table["state"] == "ran"]) == set(finished)
        assert set(table.loc[~table.index.isin(list(finished)), "state"]) == {"interrupted"}

    result = netopt_cli("batch", str(specs), "--out", str(out), "--executor", "local:2",
                        "--no-progress")
    assert result.returncode == 0, result.stdout + result.stderr
    table = pd.read_csv(out / COMPARISON).set_index("spec")
    assert set(table.index[table["state"] == "skipped"]) == set(finished)
    assert set(table.index[table["state"] == "ran"]) == set(names) - set(finished)
    after = records(out)
    assert sorted(after) == names
    for name, record in finished.items():
        assert after[name]["finished_at"] == record["finished_at"]  # not run again
    assert not [p for p in out.iterdir() if ".partial-" in p.name]
