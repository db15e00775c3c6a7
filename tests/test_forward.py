"""The year-by-year starting plan: hand-solved cases, its use in solve(), random cases."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import replace

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

import netopt
import netopt.model.highs as highs_module
import netopt.model.solve as solve_module
from netopt.case import case_from_frames
from netopt.datasets import data_path
from netopt.model.build import build_model
from netopt.model.forward import (
    SitesRounding,
    improve_year_by_year,
    plan_values,
    year_by_year_plan,
)
from netopt.model.highs import solve_fixed
from netopt.model.network import prepare
from netopt.model.solve import SolvePolicy, year_by_year_applies
from tests.strategies import case_tables

EXACT = {"mip_gap": 1e-9}
#: starting plans (years apart) for models as small as these
STARTING_PLANS = SolvePolicy(heuristic_min_binaries=0)


def growth():
    return netopt.load_case(data_path("tiny/growth"))


def trap():
    """tiny/growth with a second site d2: one level of 200 t/yr at 2,900 a year, placed
    like d1 (100 km from c1 and from r1), so every tonne still nets 10 CNY in-network.

    2026 alone (100 t) takes d2, 100 CNY cheaper than d1's small level: 1,000 (c1) +
    2,900 + 100 t x 10 = 4,900. In 2027 (300 t) d2 may not shrink, and the cheapest
    addition is d1 small: 1,000 + 2,900 + 3,000 + 300 x 10 = 9,900. Year by year:
    14,800. The whole case's optimum is tiny/growth's, 14,000 (d1 small, then large),
    as the README's table and d2 both years plus d1 small in 2027 (14,800) show.
    """
    case = growth()
    sites = pd.concat([case.dismantling_sites,
                       case.dismantling_sites.rename(index={"d1": "d2"})])
    sites.index.name = case.dismantling_sites.index.name
    sites.loc["d2", "name"] = "Pre-treatment 2"
    levels = pd.concat([case.dismantling_levels, pd.DataFrame([{
        "dismantling_site_id": "d2", "level": "only", "capacity_t_per_yr": 200.0,
        "annual_capex_cny": 2900.0, "fixed_cost_cny_per_yr": 0.0}])], ignore_index=True)
    distances = pd.concat([case.distances, pd.DataFrame(
        {"origin_id": ["c1", "d2"], "destination_id": ["d2", "r1"], "km": [100.0, 100.0]})],
        ignore_index=True)
    return case.replace(dismantling_sites=sites, dismantling_levels=levels,
                        distances=distances)


def whole_model_cost(case, plan) -> float:
    """The whole case's cost with the plan's openings fixed and its flows re-optimised."""
    nm = build_model(prepare(case))
    objective, values = solve_fixed(nm, plan_values(nm, plan))
    assert values is not None
    return objective


def test_growth_year_by_year_is_the_optimum():
    plan = year_by_year_plan(growth(), **EXACT)
    assert plan["levels"] == {2026: {"d1": "small"}, 2027: {"d1": "large"}}
    assert plan["open"][2027]["open_collection_point"] == {"c1"}
    assert plan["table"]["objective_cny"].tolist() == pytest.approx([5000.0, 9000.0])
    assert plan["objective"] == pytest.approx(14000.0)
    assert whole_model_cost(growth(), plan) == pytest.approx(14000.0)


def test_year_by_year_is_myopic_and_the_search_recovers_the_optimum(tmp_path):
    case = trap()
    plan = year_by_year_plan(case, **EXACT)
    assert plan["levels"] == {2026: {"d2": "only"}, 2027: {"d1": "small", "d2": "only"}}
    assert plan["table"]["objective_cny"].tolist() == pytest.approx([4900.0, 9900.0])
    assert plan["objective"] == pytest.approx(14800.0)
    assert whole_model_cost(case, plan) == pytest.approx(14800.0)

    assert netopt.solve(case, **EXACT).objective == pytest.approx(14000.0)
    # with the starting plans switched on for this small model, solve() takes the years
    # apart: the backward pass escapes the trap, and the plan is reported beside the
    # search's (no LP rounding once the years give a plan)
    solved = netopt.solve(case, time_limit=60, policy=STARTING_PLANS, **EXACT)
    assert solved.status == "optimal"
    assert solved.objective == pytest.approx(14000.0)
    record = solved.meta["starting_plan"]
    assert [row["objective_cny"] for row in record["years"]] == pytest.approx(
        [5000.0, 9000.0])
    assert record["year_by_year_cny"] == pytest.approx(14000.0)
    assert record["objective_cny"] == pytest.approx(14000.0)
    assert record["lp_rounding_cny"] is None
    # plan.json carries the record
    folder = solved.save(tmp_path / "plan")
    saved = json.loads((folder / "plan.json").read_text())
    assert saved["starting_plan"]["year_by_year_cny"] == pytest.approx(14000.0)
    assert [row["year"] for row in saved["starting_plan"]["years"]] == [2026, 2027]
    assert 0 < solved.timings["year_by_year_build_s"] <= solved.timings["year_by_year_s"]


def test_the_time_limit_counts_from_the_call(monkeypatch):
    """Building the model, the starting plans and the search share one time limit, less
    the extraction's reserve: a slow build leaves every solve less time."""
    build, run = solve_module.build_model, solve_module.run_solver

    def slow_build(data, **options):
        time.sleep(2.0)
        return build(data, **options)

    ends = []  # when each solve's time limit would run out, by the clock

    def timed_run(nm, **options):
        if options.get("time_limit") is not None:
            ends.append(time.perf_counter() + options["time_limit"])
        return run(nm, **options)

    monkeypatch.setattr(solve_module, "build_model", slow_build)
    monkeypatch.setattr(solve_module, "run_solver", timed_run)
    monkeypatch.setattr(highs_module, "run_solver", timed_run)  # (solve_fixed's LP)
    limit, case = 60.0, trap()
    called = time.perf_counter()
    solved = netopt.solve(case, time_limit=limit, policy=STARTING_PLANS, **EXACT)
    assert solved.objective == pytest.approx(14000.0)
    timings = solved.timings
    assert timings["build_s"] >= 2.0
    assert {"year_by_year_s", "heuristic_s"} <= set(timings)
    reserve = STARTING_PLANS.extract_reserve * (timings["prepare_s"] + timings["build_s"])
    # the LP of the years' plan and the search (the years themselves run in worker
    # processes): all within the limit less the reserve (before, the search had the
    # limit less the starting plans, from its start)
    assert len(ends) >= 2
    assert max(ends) <= called + limit - reserve + 0.05


def test_no_fallback_starts_that_could_not_load_the_model_in_time():
    """With less time left than loading the model takes (``load_per_build`` times the
    build), neither the LP rounding nor a search from no plan starts: the call ends
    inside its limit with no plan, where before each loaded the whole model past it."""
    rounding_only = SolvePolicy(heuristic_min_binaries=0, year_by_year_max_rows=0)
    case = trap()
    late = netopt.solve(case, time_limit=60, policy=replace(rounding_only,
                                                            load_per_build=1e9), **EXACT)
    assert late.status == "no_solution"
    assert late.termination == solve_module.TOO_LATE_TO_LOAD
    assert "year_by_year_s" not in late.timings  # years apart were never the path
    assert late.timings["heuristic_s"] < 0.5 and late.timings["solve_s"] < 0.5
    in_time = netopt.solve(case, time_limit=60, policy=replace(rounding_only,
                                                               load_per_build=0.0), **EXACT)
    assert in_time.status == "optimal" and in_time.objective == pytest.approx(14000.0)
    assert in_time.meta["starting_plan"]["method"] == "lp_rounding"


def test_no_search_starts_from_a_plan_with_less_time_left_than_a_load():
    """trap() from its years apart (plan 14,000, the years' bound 13,900) with loading
    taken to need forever: the search, which proves 14,000 optimal (next), does not
    start, and the years' plan is reported as it stands, with their bound."""
    late = netopt.solve(trap(), time_limit=60, policy=replace(STARTING_PLANS,
                                                              load_per_build=1e9), **EXACT)
    assert late.status == "time_limit"
    assert late.termination == solve_module.TOO_LATE_TO_SEARCH
    assert late.objective == pytest.approx(14000.0)
    assert late.bound == pytest.approx(13900.0)
    assert late.meta["starting_plan"]["method"] == "years_apart"
    in_time = netopt.solve(trap(), time_limit=60, policy=STARTING_PLANS, **EXACT)
    assert in_time.status == "optimal" and in_time.objective == pytest.approx(14000.0)


def test_two_years_solved_together_undo_the_trap():
    """On the trap, each year again between its neighbours changes nothing (d2 is still
    the cheaper for 2026 alone), but 2026 and 2027 solved together find the optimum."""
    case = trap()
    plan = year_by_year_plan(case, **EXACT)
    same = improve_year_by_year(case, plan, window=1, **EXACT)
    assert same["objective"] == pytest.approx(14800.0) and same["sweeps"] == 1
    better = improve_year_by_year(case, plan, window=2, **EXACT)
    assert better["levels"] == {2026: {"d1": "small"}, 2027: {"d1": "large"}}
    assert better["table"]["objective_cny"].tolist() == pytest.approx([5000.0, 9000.0])
    assert better["objective"] == pytest.approx(14000.0)
    assert better["sweeps"] == 2  # one that improved, one that found nothing more
    assert whole_model_cost(case, better) == pytest.approx(14000.0)
    assert plan["objective"] == pytest.approx(14800.0)  # the first plan is left as it was


def test_year_by_year_discounts_as_the_whole_case():
    case = growth().replace(parameters={"discount_rate": 0.1})
    plan = year_by_year_plan(case, **EXACT)
    assert plan["objective"] == pytest.approx(5000.0 + 9000.0 / 1.1)
    assert whole_model_cost(case, plan) == pytest.approx(plan["objective"])


def test_year_by_year_has_no_plan_when_a_year_is_infeasible():
    assert year_by_year_plan(netopt.load_case(data_path("tiny/infeasible")), **EXACT) is None


def test_an_opening_budget_over_all_years_or_a_large_model_turns_it_off():
    assert year_by_year_applies(growth(), rows=20)
    assert not year_by_year_applies(growth().replace(parameters={
        "opening_budget_cny": 1e6}), rows=20)
    assert not year_by_year_applies(netopt.load_case(data_path("tiny/basic")), rows=20)
    assert not year_by_year_applies(growth(), rows=SolvePolicy().year_by_year_max_rows + 1)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case_tables())
def test_year_by_year_plan_fits_the_whole_case(tables):
    """On random cases: openings never close, levels never shrink, the years' costs add
    up to the whole model's with the same openings, and never beat the optimum (which
    they equal for a case of one year)."""
    case = case_from_frames(tables)
    plan = year_by_year_plan(case, **EXACT)
    optimum = netopt.solve(case, **EXACT)
    if plan is None:
        return  # (a year alone on top of the years before may be infeasible)
    assert optimum.status == "optimal"
    years = list(case.years)
    for before, after in zip(years, years[1:]):
        for name, opened in plan["open"][before].items():
            assert opened <= plan["open"][after][name]
        capacity = case.dismantling_levels.set_index(["dismantling_site_id", "level"])[
            "capacity_t_per_yr"]
        for site, level in plan["levels"][before].items():
            assert site in plan["levels"][after]
            assert capacity[(site, plan["levels"][after][site])] >= capacity[(site, level)]
    tolerance = 1e-6 * max(1.0, abs(optimum.objective))
    assert whole_model_cost(case, plan) == pytest.approx(plan["objective"], rel=1e-6,
                                                         abs=1e-6)
    assert plan["objective"] >= optimum.objective - tolerance
    if len(years) == 1:  # one year alone is the whole case
        assert plan["objective"] == pytest.approx(optimum.objective, rel=1e-6, abs=1e-6)
    better = improve_year_by_year(case, plan, **EXACT)
    assert better["objective"] <= plan["objective"] + tolerance
    assert better["objective"] >= optimum.objective - tolerance
    assert whole_model_cost(case, better) == pytest.approx(better["objective"], rel=1e-6,
                                                           abs=1e-6)
    if len(years) <= 2:  # the window is the whole case
        assert better["objective"] == pytest.approx(optimum.objective, rel=1e-6, abs=1e-6)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case_tables())
def test_a_pass_holding_each_years_sites_from_its_lp_is_a_plan_of_the_whole_case(tables):
    """On random cases sized by the tonne, every year's sites held as its LP rounds them:
    openings never close, sizes never shrink, the whole model with the same openings
    costs no more than the years' sum (it may resize), and nothing beats the optimum."""
    case = case_from_frames(tables).replace(parameters={"site_capacity": "continuous"})
    rounding = SitesRounding(threshold=0.5, min_rows=0)
    plan = year_by_year_plan(case, sites_rounding=rounding, **EXACT)
    if plan is None:
        return  # (a year on top of the years before, its sites held, may be infeasible)
    optimum = netopt.solve(case, **EXACT)
    assert optimum.status == "optimal"
    years = list(case.years)
    for before, after in zip(years, years[1:]):
        for name, opened in plan["open"][before].items():
            assert opened <= plan["open"][after][name]
        for site, size in plan["sizes"][before].items():
            assert plan["sizes"][after][site] >= size - 1e-6
    tolerance = 1e-6 * max(1.0, abs(optimum.objective))
    assert whole_model_cost(case, plan) <= plan["objective"] + tolerance
    assert whole_model_cost(case, plan) >= optimum.objective - tolerance
    assert "first_year_bound_cny" not in plan
    better = improve_year_by_year(case, plan, sites_rounding=rounding, **EXACT)
    assert optimum.objective - tolerance <= better["objective"] <= plan["objective"] + tolerance


def run_trap_folder(tmp_path, policy: str, case: netopt.Case, *more: tuple[str, str],
                    ) -> subprocess.CompletedProcess:
    """``netopt run`` (in a subprocess, ``netopt.model.solve.DEFAULT_POLICY`` set to the
    expression ``policy``, the module being ``s``) on the trap written as a planner's
    folder, with ``more`` (file name, line) appended, which must load as ``case``; its
    output in ``tmp_path/out``."""
    folder = tmp_path / "trap"
    shutil.copytree(data_path("tiny/growth"), folder)
    for name, line in (("dismantling_sites", "d2,Pre-treatment 2,A,31.0,120.0,100"),
                       ("dismantling_levels", "d2,only,200,2900,0"),
                       ("distances", "c1,d2,100\nd2,r1,100"), *more):
        with open(folder / f"{name}.csv", "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    assert netopt.load_case(folder).content_hash() == case.content_hash()
    script = (f"import sys, netopt.model.solve as s; s.DEFAULT_POLICY = {policy}; "
              "from netopt.cli import main; sys.exit(main(sys.argv[1:]))")
    return subprocess.run([sys.executable, "-c", script, "run", str(folder), "--out",
                           str(tmp_path / "out"), "--no-export", "--no-allocate"],
                          capture_output=True, text=True, timeout=600)


def test_netopt_run_reports_the_starting_plans(tmp_path):
    """The trap as a planner's folder, through the command line (in a subprocess with
    the starting plans switched on for a model this small)."""
    result = run_trap_folder(tmp_path, "s.SolvePolicy(heuristic_min_binaries=0)", trap())
    out = tmp_path / "out"
    assert result.returncode == 0, result.stderr
    assert "starting plans: years apart 14,000" in result.stdout
    assert "years apart: bound 13,900" in result.stdout
    header = json.loads((out / "plan.json").read_text())
    assert header["objective_cny"] == pytest.approx(14000.0)
    assert header["starting_plan"]["year_by_year_cny"] == pytest.approx(14000.0)
