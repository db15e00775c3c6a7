"""The command line, run as a planner runs it (a real subprocess)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from netopt.datasets import data_path


def netopt(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netopt", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


def test_run_tiny_case_writes_plan(tmp_path):
    out = tmp_path / "plan"
    result = netopt("run", str(data_path("tiny/basic")), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "optimal" in result.stdout
    header = json.loads((out / "plan.json").read_text())
    assert header["status"] == "optimal"
    assert header["objective_cny"] == pytest.approx(8000)
    costs = pd.read_csv(out / "costs.csv")
    assert costs["discounted_cny"].sum() == pytest.approx(8000)
    for table in ("sites", "flows", "outsourced", "kpis"):
        assert (out / f"{table}.csv").exists()


def test_run_never_overwrites(tmp_path):
    out = tmp_path / "plan"
    out.mkdir()
    (out / "mine.txt").write_text("a planner's notes")
    result = netopt("run", str(data_path("tiny/basic")), "--out", str(out))
    assert result.returncode == 2
    assert "exists" in result.stderr and "Traceback" not in result.stderr
    assert (out / "mine.txt").read_text() == "a planner's notes"
    # the default output folder gets a new name instead of replacing the old one
    first = netopt("run", str(data_path("tiny/basic")), cwd=tmp_path)
    second = netopt("run", str(data_path("tiny/basic")), cwd=tmp_path)
    assert first.returncode == 0 and second.returncode == 0
    assert (tmp_path / "out" / "basic").is_dir() and (tmp_path / "out" / "basic-2").is_dir()


def test_bad_case_one_line_exit_2(tmp_path):
    case = tmp_path / "bad"
    shutil.copytree(data_path("tiny/basic"), case)
    text = (case / "supply.csv").read_text().replace("s2,NMC,2026,50", "s2,NMC,2026,-50")
    (case / "supply.csv").write_text(text)
    result = netopt("run", str(case))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == ["error: supply.csv, row 3, column 'tonnes': must be >= 0 (got -50)"]


def test_validate_lists_all_problems(tmp_path):
    case = tmp_path / "bad"
    shutil.copytree(data_path("tiny/basic"), case)
    (case / "supply.csv").write_text(
        "source_id,chemistry,year,tonnes\ns1,NMC,2026,x\ns3,NMC,2026,5\n")
    result = netopt("validate", str(case))
    assert result.returncode == 2
    assert "supply.csv, row 2, column 'tonnes': must be a number (got 'x')" in result.stderr
    assert "supply.csv, row 3, column 'source_id': unknown source 's3'" in result.stderr
    assert "2 problem(s) found" in result.stderr
    ok = netopt("validate", str(data_path("tiny/basic")))
    assert ok.returncode == 0 and "valid" in ok.stdout


def test_infeasible_run_explains(tmp_path):
    result = netopt("run", str(data_path("tiny/infeasible")), "--out", str(tmp_path / "p"))
    assert result.returncode == 3
    assert "collection capacity at c1 in 2026 is short by 30.0 t/yr" in result.stdout
    explanation = pd.read_csv(tmp_path / "p" / "explanation.csv")
    assert explanation.loc[0, "shortfall"] == pytest.approx(30.0)


def test_missing_case_path():
    result = netopt("run", "/no/such/case")
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [[], ["run"], ["validate"], ["schema"]])
def test_help_is_complete(command):
    result = netopt(*command, "--help")
    assert result.returncode == 0
    assert "Usage" in result.stdout


def test_schema_command_documents_tables():
    result = netopt("schema", "collection_points")
    assert result.returncode == 0
    assert "capacity_t_per_yr" in result.stdout and "t/yr" in result.stdout


def test_run_with_year_bound_writes_it(tmp_path):
    out = tmp_path / "plan"
    result = netopt("run", str(data_path("tiny/growth")), "--out", str(out), "--year-bound",
                    "30", "--no-export", "--no-allocate")
    assert result.returncode == 0, result.stderr
    assert "year-by-year bound" in result.stdout
    header = json.loads((out / "plan.json").read_text())
    # tiny/growth's years fit together: the bound is the optimum (README: 14,000 CNY)
    assert header["year_bound"]["bound_cny"] == pytest.approx(14000)
    assert [row["year"] for row in header["year_bound"]["years"]] == [2026, 2027]
    assert header["bound_cny"] == pytest.approx(header["objective_cny"])


def test_run_in_an_empty_folder_leaves_only_its_output_folder(tmp_path):
    """A run writes its output folder and the coalition cache in the user cache folder
    (platformdirs: $XDG_CACHE_HOME/netopt on Linux), nothing else where the user stands."""
    import os

    here, cache = tmp_path / "here", tmp_path / "user-cache"
    here.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "NETOPT_CACHE"}
    env["XDG_CACHE_HOME"] = str(cache)
    env["MPLCONFIGDIR"] = str(tmp_path / "mpl")
    result = subprocess.run(
        [sys.executable, "-m", "netopt", "run", str(data_path("tiny/basic")), "--out", "x"],
        capture_output=True, text=True, cwd=here, env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in here.iterdir()) == ["x"]
    assert (here / "x" / "allocation.csv").exists()  # the coalitions were valued
    stored = list((cache / "netopt" / "coalitions").rglob("*.json"))
    assert len(stored) == 3  # 2 members: 3 coalitions, kept for the next run
    assert str(cache / "netopt" / "coalitions") in result.stdout.replace("\n", "")


def test_run_help_says_where_the_cache_is(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if k != "NETOPT_CACHE"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "c")
    env["COLUMNS"] = "200"
    result = subprocess.run([sys.executable, "-m", "netopt", "run", "--help"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.replace("│", " ").split())
    assert f"{tmp_path / 'c' / 'netopt' / 'coalitions'}" in text
    assert "$NETOPT_CACHE" in text


def _printed(width: int, draw) -> list[str]:
    """The lines ``draw(console)`` prints on a ``width``-column console."""
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), width=width, color_system=None)
    draw(console)
    return console.file.getvalue().splitlines()


def test_allocation_tables_fit_100_columns():
    """Eight members (the default case's count), eight methods: every table fits a
    100-column terminal, each method is a row, each member a column, no cell wrapped."""
    import itertools

    from netopt.allocation import Game, savings_report
    from netopt.console import print_allocation

    members = ["battery_maker", "dealer_group", "dismantler", "oem_a", "oem_b", "oem_c",
               "recycler_a", "recycler_b"]
    alone = {m: 1.0e9 + 1.5e8 * i for i, m in enumerate(members)}
    costs = {frozenset(c): sum(alone[m] for m in c) * (1 - 0.04 * (len(c) - 1))
             for k in range(1, len(members) + 1) for c in itertools.combinations(members, k)}
    game = Game.from_costs(costs)
    report, stability = savings_report(game)
    lines = _printed(100, lambda c: print_allocation(report, stability, game.grand_value, c))
    assert max(len(line) for line in lines) <= 100, "\n".join(lines)
    text = "\n".join(lines)
    for name in members:
        assert name in text
    methods = list(dict.fromkeys(report["method"]))
    for method in methods:  # one row per method, in the cost and the savings tables
        assert sum(line.startswith(("│ " + method + " ", "┃ " + method + " "))
                   for line in lines) >= 2, method
    # every number is on one line: the allocated cost of each member under the Shapley value
    shapley = report[report["method"] == "shapley"].set_index("member")["allocated_cost"]
    for value in shapley:
        assert f"{value / 1e6:,.2f}" in text


def test_wide_tables_are_split_to_fit():
    from netopt.console import print_split

    headers = [f"member_{i}" for i in range(11)]
    rows = [("processing", [f"{-1234567.89 * (i + 1):,.2f}" for i in range(11)]),
            ("total", [f"{9876543.21 * (i + 1):,.2f}" for i in range(11)])]
    lines = _printed(100, lambda c: print_split(c, "Cost (CNY)", "category", headers, rows))
    assert max(len(line) for line in lines) <= 100
    text = "\n".join(lines)
    assert "Cost (CNY) (1 of " in text and all(h in text for h in headers)
    assert all(value in text for _, values in rows for value in values)
    assert sum("processing" in line for line in lines) >= 2  # the key repeats per part


def test_allocate_on_local_processes_and_a_dask_cluster_agree(tmp_path):
    """netopt allocate on two local processes and on a Dask LocalCluster of two workers
    (each with its own cache): the hand-solved values of tiny/basic (c(A) = 7,000,
    c(B) = 20,000, c(A+B) = 8,000 CNY), each with its bound, and the core's verdict
    within those bounds in the stability table."""
    tables = {}
    for executor in ("local:2", "dask-local:2"):
        out = tmp_path / executor.replace(":", "-")
        result = netopt("allocate", str(data_path("tiny/basic")), "--out", str(out),
                        "--executor", executor, "--cache", str(tmp_path / f"cache-{executor}"))
        assert result.returncode == 0, result.stderr
        assert f"on {executor}" in result.stdout
        tables[executor] = pd.read_csv(out / "coalition_values.csv").set_index("coalition")
        stability = pd.read_csv(out / "allocation_stability.csv")
        assert {"in_interval_core", "excess_uncertainty"} <= set(stability.columns)
    local, dask = tables["local:2"], tables["dask-local:2"]
    assert local["cost_cny"].to_dict() == pytest.approx({"A": 7000, "B": 20000, "A+B": 8000})
    assert dask["cost_cny"].to_dict() == pytest.approx(local["cost_cny"].to_dict())
    assert (local["bound_cny"] <= local["cost_cny"] + 1e-6).all()


def test_allocate_rejects_a_bad_executor_or_method_in_one_line(tmp_path):
    for option, value in (("--executor", "cluster:9"), ("--method", "lagrange")):
        result = netopt("allocate", str(data_path("tiny/basic")), option, value,
                        "--cache", str(tmp_path))
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        assert f"{option} {value}" in result.stderr


def test_run_splits_the_savings_from_the_members_alone(tmp_path):
    """--standalone-split (the default when the plan is not proven optimal): tiny/basic's
    members alone by hand cost 7,000 and 20,000 CNY and together 8,000; the proportional
    and equal-split rules each hand out exactly the 19,000 saved, and the run says how to
    split them by every method."""
    out = tmp_path / "plan"
    result = netopt("run", str(data_path("tiny/basic")), "--out", str(out), "--no-export",
                    "--standalone-split", "--cache", str(tmp_path / "cache"))
    assert result.returncode == 0, result.stderr
    assert "netopt allocate" in result.stdout
    assert not (out / "allocation.csv").exists()
    split = pd.read_csv(out / "allocation_standalone.csv")
    assert set(split["method"]) == {"proportional", "equal_split"}
    alone = split.groupby("member")["standalone_cost"].first()
    assert alone.to_dict() == pytest.approx({"A": 7000.0, "B": 20000.0})
    for _method, group in split.groupby("method"):
        assert group["allocated_cost"].sum() == pytest.approx(8000.0)
        assert group["savings"].sum() == pytest.approx(19000.0)


def test_run_adds_the_separable_split_when_asked(tmp_path):
    """--separable-costs: the separable costs remaining benefits rule joins the split; with
    tiny/basic's two members it is the equal split of the 19,000 saved (by hand), and each
    row names what the other member costs alone."""
    out = tmp_path / "plan"
    result = netopt("run", str(data_path("tiny/basic")), "--out", str(out), "--no-export",
                    "--standalone-split", "--separable-costs",
                    "--cache", str(tmp_path / "cache"))
    assert result.returncode == 0, result.stderr
    assert "coalitions of all members but one" in result.stdout
    split = pd.read_csv(out / "allocation_standalone.csv")
    assert set(split["method"]) == {"proportional", "equal_split", "separable_costs"}
    separable = split[split["method"] == "separable_costs"].set_index("member")
    assert separable["savings"].to_dict() == pytest.approx({"A": 9500.0, "B": 9500.0})
    assert separable["others_cost"].to_dict() == pytest.approx({"A": 20000.0, "B": 7000.0})


def test_allocate_starts_each_coalition_from_a_saved_plan(tmp_path):
    """netopt allocate --start with the folder netopt run wrote: the same hand-solved
    values of tiny/basic; a folder with no plan in it is refused in one line."""
    plan_folder = tmp_path / "plan"
    result = netopt("run", str(data_path("tiny/basic")), "--out", str(plan_folder),
                    "--no-export", "--cache", str(tmp_path / "cache-run"))
    assert result.returncode == 0, result.stderr
    out = tmp_path / "allocation"
    result = netopt("allocate", str(data_path("tiny/basic")), "--out", str(out),
                    "--start", str(plan_folder), "--cache", str(tmp_path / "cache"))
    assert result.returncode == 0, result.stderr
    values = pd.read_csv(out / "coalition_values.csv").set_index("coalition")
    assert values["cost_cny"].to_dict() == pytest.approx({"A": 7000, "B": 20000, "A+B": 8000})
    empty = tmp_path / "empty"
    empty.mkdir()
    result = netopt("allocate", str(data_path("tiny/basic")), "--start", str(empty),
                    "--cache", str(tmp_path / "cache"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"--start {empty}: not a plan written by netopt run" in result.stderr
