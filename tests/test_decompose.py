"""Sites sized by the tonne, and multi-year cases solved years apart: hand-solved cases.

tiny/growth (README): supply 100 t in 2026 and 300 t in 2027, every tonne nets 10 CNY
in the network, c1 costs 1,000 a year, d1 has a small level (200 t/yr, 3,000 a year)
and a large one (400 t/yr, 5,000 a year). In modules its optimum is 14,000.

Sized by the tonne, d1's cost is the line through its two levels: 1,000 + 10 CNY per
t/yr, from 200 to 400 t/yr. 2026 needs 100 t/yr but gets the smallest size, 200
(3,000); 2027 needs 300 (4,000): 2 x 1,000 + 3,000 + 4,000 + 400 t x 10 = 13,000.
"""

from __future__ import annotations

import math
import shutil

import pandas as pd
import pytest

import netopt
import netopt.model.solve as solve_module
from netopt.datasets import data_path
from netopt.errors import CaseError
from netopt.model.bounds import solve_year_alone
from netopt.model.decompose import (
    YearsPolicy,
    _InlineExecutor,
    _YearsApart,
    solve_years_apart,
)
from netopt.model.forward import SitesRounding, year_by_year_plan
from netopt.model.highs import Budget
from netopt.model.solve import SolvePolicy
from tests.test_forward import trap

EXACT = {"mip_gap": 1e-9}
#: starting plans (years apart) for models as small as these
STARTING_PLANS = SolvePolicy(heuristic_min_binaries=0)


def growth(sizing: str = "modules") -> netopt.Case:
    return netopt.load_case(data_path("tiny/growth")).replace(
        parameters={"site_capacity": sizing})


def site_rows(plan: netopt.Plan) -> pd.DataFrame:
    return plan.sites[plan.sites["kind"] == "dismantling_site"].set_index("year")


def test_sized_by_the_tonne_growth_is_solved_by_hand():
    plan = netopt.solve(growth("continuous"), **EXACT)
    assert plan.status == "optimal"
    assert plan.objective == pytest.approx(13000.0)
    sites = site_rows(plan)
    assert sites["capacity_t_per_yr"].tolist() == pytest.approx([200.0, 300.0])
    assert sites["opened"].tolist() == [True, True]
    costs = plan.costs.groupby("category")["discounted_cny"].sum()
    # c1 1,000 a year, d1 3,000 then 4,000
    assert costs["opening"] == pytest.approx(2 * 1000.0 + 3000.0 + 4000.0)
    # the same case in modules keeps its hand optimum
    assert netopt.solve(growth("modules"), **EXACT).objective == pytest.approx(14000.0)


def test_a_site_sized_by_the_tonne_never_shrinks_and_an_existing_one_stays():
    case = growth("continuous")
    sites = case.dismantling_sites.copy()
    sites["existing_level"] = "large"  # d1 exists at 400 t/yr
    plan = netopt.solve(case.replace(dismantling_sites=sites), **EXACT)
    # both years at 400 t/yr (5,000 each): 2,000 + 10,000 + 4,000
    assert site_rows(plan)["capacity_t_per_yr"].tolist() == pytest.approx([400.0, 400.0])
    assert plan.objective == pytest.approx(16000.0)


def test_site_capacity_is_a_checked_choice(tmp_path):
    folder = tmp_path / "case"
    shutil.copytree(data_path("tiny/growth"), folder)
    with open(folder / "parameters.csv", "a", encoding="utf-8") as handle:
        handle.write("site_capacity,by the tonne,\n")
    with pytest.raises(CaseError) as error:
        netopt.load_case(folder)
    message = str(error.value)
    assert "parameters.csv" in message and "value" in message
    assert "must be one of modules, continuous" in message


@pytest.mark.parametrize("sizing, optimum", [("modules", 14000.0), ("continuous", 13000.0)])
def test_years_apart_prove_growth(sizing, optimum):
    """Each year alone is the year of the optimum here: the years' bound meets the plan."""
    result = solve_years_apart(growth(sizing), time_limit=None, workers=1, **EXACT)
    assert result["objective"] == pytest.approx(optimum)
    assert result["bound"] == pytest.approx(optimum)
    assert [row["year"] for row in result["years"]] == [2026, 2027]
    assert result["rounds"] == 1 and not result["interrupted"]


#: every year's sites from its LP, however small the year's model
ROUNDED = SitesRounding(threshold=0.5, min_rows=0)


def test_sites_from_each_years_lp_reach_growths_hand_optimum():
    """Sized by the tonne, each year's LP opens d1 in full (the supply that can reach it,
    100 t then 300 t, is what it takes in), so the sites held from it are the optimum's:
    13,000. The first year, its sites held, bounds nothing, and the pass says so."""
    case = growth("continuous")
    plan = year_by_year_plan(case, sites_rounding=ROUNDED, **EXACT)
    assert plan["open"][2026]["site_open"] == {"d1"}
    assert [plan["sizes"][year]["d1"] for year in (2026, 2027)] == pytest.approx(
        [200.0, 300.0])
    assert plan["objective"] == pytest.approx(13000.0)
    assert "first_year_bound_cny" not in plan
    # a model of more rows than the year's keeps its sites free, and its bound: 5,000
    free = year_by_year_plan(case, sites_rounding=SitesRounding(min_rows=10**6), **EXACT)
    assert free["first_year_bound_cny"] == pytest.approx(5000.0)


def test_sites_held_shut_by_the_lp_send_everything_out():
    """No opening of a relaxation reaches a threshold above 1, so d1 is held shut every
    year and each tonne is outsourced at 400 CNY: 100 x 400 + 300 x 400 = 160,000."""
    plan = year_by_year_plan(growth("continuous"), sites_rounding=SitesRounding(
        threshold=1.01, min_rows=0), **EXACT)
    assert plan["open"][2026]["site_open"] == plan["open"][2027]["site_open"] == set()
    assert plan["table"]["objective_cny"].tolist() == pytest.approx([40000.0, 120000.0])


def test_years_apart_with_the_sites_rounded_still_prove_growth():
    """The passes hold each year's sites from its LP; the years alone still bound (the
    first year among them, since the pass's first year bounds nothing)."""
    policy = YearsPolicy(sites_rounding=ROUNDED)
    result = solve_years_apart(growth("continuous"), time_limit=None, workers=1,
                               policy=policy, **EXACT)
    assert result["objective"] == pytest.approx(13000.0)
    assert result["bound"] == pytest.approx(13000.0)
    assert [row["year"] for row in result["years"]] == [2026, 2027]
    plan = netopt.solve(growth("continuous"), policy=SolvePolicy(
        heuristic_min_binaries=0, years_policy=policy), **EXACT)
    assert plan.status == "optimal" and plan.objective == pytest.approx(13000.0)


def test_a_large_year_alone_is_bounded_first_by_its_lp():
    """trap()'s 2027 (300 t) as its LP: d2 in full (200 t, 2,900) and half of d1's small
    level (100 t, 1,500), the cheapest per tonne, with c1 (1,000) and 300 t x 10: 8,400,
    under the MIP's 9,000 (d1 large). The row has no plan."""
    row = solve_year_alone(trap(), 2027, 1.0, None, 1e-9, None, lp_above_rows=0)
    assert row["relaxed"] and row["bound_cny"] == pytest.approx(8400.0)
    assert row["objective_cny"] == math.inf
    whole = solve_year_alone(trap(), 2027, 1.0, None, 1e-9, None, lp_above_rows=10**6)
    assert not whole["relaxed"] and whole["bound_cny"] == pytest.approx(9000.0)


def test_years_apart_bound_large_years_by_their_lp_then_by_their_mip():
    """With every year "large", the first round bounds 2027 by its LP (8,400; 2026 comes
    from the pass, 4,900): 13,300; the second round's MIPs raise it to 13,900."""
    policy = YearsPolicy(lp_first_above_rows=0)
    result = solve_years_apart(trap(), time_limit=None, workers=1, policy=policy, **EXACT)
    bounds = [bound for _seconds, _objective, bound in result["trace"]]
    assert pytest.approx(13300.0) in bounds
    assert bounds.index(pytest.approx(13300.0)) < bounds.index(pytest.approx(13900.0))
    assert result["bound"] == pytest.approx(13900.0)
    assert result["objective"] == pytest.approx(14000.0)


def test_the_backward_pass_escapes_the_forward_trap():
    """trap(): 2026 alone takes d2 (4,900) and the forward pass pays 14,800; backward,
    2027 alone takes d1 large (9,000) and 2026 the small level within it (5,000)."""
    case = trap()
    backward = year_by_year_plan(case, backward=True, **EXACT)
    assert backward["levels"] == {2026: {"d1": "small"}, 2027: {"d1": "large"}}
    assert backward["objective"] == pytest.approx(14000.0)
    assert year_by_year_plan(case, **EXACT)["objective"] == pytest.approx(14800.0)


def test_years_apart_bound_the_trap_below_its_optimum():
    """The years alone: 2026 with d2, 4,900; 2027 with d1 large, 9,000: a bound of
    13,900 under the optimum of 14,000, which the backward pass finds."""
    result = solve_years_apart(trap(), time_limit=None, workers=2, **EXACT)
    by_year = {row["year"]: row["bound_cny"] for row in result["years"]}
    assert by_year == pytest.approx({2026: 4900.0, 2027: 9000.0})
    assert result["bound"] == pytest.approx(13900.0)
    assert result["objective"] == pytest.approx(14000.0)
    # not proven to 1e-9: the rounds went on until the gap could not shrink further
    assert result["rounds"] > 1


def test_rounds_go_on_while_a_pass_improves_the_plan_at_a_coarse_gap():
    """At a 5 % gap the years hold it from the first round, whose forward pass pays
    14,800 (6 % above the bound of 13,900): the second round's backward pass still runs
    and finds 14,000, proven to 0.7 %."""
    result = solve_years_apart(trap(), time_limit=None, workers=1, mip_gap=0.05)
    assert result["objective"] == pytest.approx(14000.0)
    assert result["bound"] == pytest.approx(13900.0, rel=0.05)
    assert result["rounds"] == 2


def test_a_loose_year_is_solved_again_with_the_points_relaxed():
    """Every year counts as loose here (threshold below zero), so the second round solves
    each with the collection points relaxed, in the workers. trap() has one point, which
    its dealer fills: the relaxation proves what the MIP did (4,900 and 9,000), no more,
    so the years keep their rows; each year is relaxed once."""
    phases: list[str] = []
    result = solve_years_apart(
        trap(), time_limit=None, workers=2,
        policy=YearsPolicy(points_relaxed_above_gap=-1.0),
        progress=lambda row: phases.append(row["phase"]), **EXACT)
    relaxed = [p for p in phases if p.endswith("the collection points relaxed")]
    assert len(relaxed) == 2
    assert result["bound"] == pytest.approx(13900.0)
    assert result["objective"] == pytest.approx(14000.0)
    assert not any(row.get("points_relaxed") for row in result["years"])


def test_a_relaxed_bound_raises_the_year_and_keeps_its_plan():
    """A year at 7,300 with a bound of 6,000 (18 % apart: loose) takes a relaxation's
    6,800 as its bound and keeps its plan's 7,300; a weaker relaxation changes nothing."""
    state = _YearsApart(trap(), Budget(), 1e-4, YearsPolicy(), None)
    state.take_year({"year": 2026, "objective_cny": 7300.0, "bound_cny": 6000.0}, 0.005)
    assert state.years_to_relax() == {2026}
    state.points_relaxed.add(2026)
    state.take_year({"year": 2026, "objective_cny": math.nan, "bound_cny": 6800.0,
                     "points_relaxed": True}, 0.001)
    row = state.by_year[2026]
    assert (row["objective_cny"], row["bound_cny"], row["gap"]) == (7300.0, 6800.0, 0.005)
    assert row["points_relaxed"] and state.years_to_relax() == set()
    state.take_year({"year": 2026, "objective_cny": math.nan, "bound_cny": 6500.0,
                     "points_relaxed": True}, 0.001)
    assert state.by_year[2026]["bound_cny"] == 6800.0


def test_no_year_starts_its_mip_once_the_time_is_spent():
    """A limit already spent: the first round's pass still runs (its floor, a second a
    year, finds the forward plan of 14,800 on this small case), but 2027's MIP is not
    started past the limit: 2027 takes its LP's bound (8,400, as above), and the years'
    bound is 4,900 (the pass's 2026) + 8,400. Without that last floor, only the pass's
    first year has a bound and the years' bound is not yet one."""
    result = solve_years_apart(trap(), time_limit=Budget(0.0), workers=1, **EXACT)
    assert result["objective"] == pytest.approx(14800.0)
    rows = {row["year"]: row for row in result["years"]}
    assert rows[2027]["relaxed"] and rows[2027]["bound_cny"] == pytest.approx(8400.0)
    assert result["bound"] == pytest.approx(13300.0)
    assert result["rounds"] == 1
    without = solve_years_apart(trap(), time_limit=Budget(0.0), workers=1,
                                policy=YearsPolicy(lp_floor_seconds=0.0), **EXACT)
    assert [row["year"] for row in without["years"]] == [2026]
    assert without["bound"] == -math.inf


def three_years() -> netopt.Case:
    """trap() with a third year, 2028, supplied as 2027 (300 t)."""
    case = trap()
    supply = pd.concat([case.supply, case.supply[case.supply["year"] == 2027].assign(
        year=2028)], ignore_index=True)
    return case.replace(years=[2026, 2027, 2028], supply=supply)


class RecordingExecutor(_InlineExecutor):
    """Runs each task as it is submitted, and records each year alone it solves:
    (year, whether the collection points were relaxed)."""

    def __init__(self) -> None:
        self.years: list[tuple[int, bool]] = []

    def submit(self, function, *args):
        if function is solve_year_alone:
            self.years.append((args[1], args[7]))
        return super().submit(function, *args)


def test_a_loose_years_relaxation_waits_until_every_year_has_a_bound():
    """Every year loose (threshold below zero): in the first round 2027 and 2028 are
    bounded by their MIPs before either is solved again with the points relaxed, so a
    round cut short by its limit is not left without a year's bound by the relaxations
    (as a 3,000-dealer run was; BENCHMARKS.md)."""
    pool = RecordingExecutor()
    state = _YearsApart(three_years(), Budget(3600.0), 1e-9,
                        YearsPolicy(points_relaxed_above_gap=-1.0), None)
    state.run_round(pool, 1, 1, 1e-9, backward_first=False, plan_task=True,
                    years_again=True)
    assert pool.years[:2] == [(2027, False), (2028, False)]
    assert sorted(pool.years[2:]) == [(2027, True), (2028, True)]
    assert set(state.by_year) == {2026, 2027, 2028}


def test_no_plan_task_starts_that_would_outlive_the_limit():
    """A round whose time left is less than the longest plan's task so far bounds the
    years without one. trap() at an hour's limit: the first round's forward pass pays
    14,800; with its task then taken to have needed two hours, the second round runs no
    backward pass (which finds 14,000) and only bounds the years (4,900 and 9,000)."""
    state = _YearsApart(trap(), Budget(3600.0), 1e-9, YearsPolicy(), None)
    state.run_round(_InlineExecutor(), 1, 1, 1e-9, backward_first=False, plan_task=True,
                    years_again=True)
    assert state.best["objective"] == pytest.approx(14800.0)
    assert 0.0 < state.plan_task_s < 3600.0
    state.plan_task_s = 7200.0
    state.run_round(_InlineExecutor(), 1, 2, 1e-9, backward_first=False, plan_task=True,
                    years_again=True)
    assert state.best["objective"] == pytest.approx(14800.0)
    assert {year: row["bound_cny"] for year, row in state.by_year.items()} \
        == pytest.approx({2026: 4900.0, 2027: 9000.0})


def test_solve_reports_the_years_bound_and_plan():
    """With the starting plans switched on for this small model, solve() takes the years
    apart: their plan, their bound in plan.meta, and the search proves the optimum."""
    plan = netopt.solve(trap(), time_limit=120, policy=STARTING_PLANS, **EXACT)
    assert plan.status == "optimal"
    assert plan.objective == pytest.approx(14000.0)
    record = plan.meta["years_apart"]
    assert record["bound_cny"] == pytest.approx(13900.0)
    assert plan.meta["starting_plan"]["method"] == "years_apart"
    # the trace never has a bound above a plan, and ends with the whole model's plan
    for row in record["trace"]:
        assert row["bound_cny"] <= row["objective_cny"] + 1e-6
    assert record["trace"][-1]["objective_cny"] == pytest.approx(14000.0)


def test_a_plan_within_the_gap_of_the_years_bound_needs_no_search():
    plan = netopt.solve(growth("continuous"), time_limit=120, mip_gap=1e-6,
                        policy=STARTING_PLANS)
    assert plan.status == "optimal"
    assert plan.termination == solve_module.PROVEN_BY_YEARS
    assert plan.objective == pytest.approx(13000.0)
    assert plan.bound == pytest.approx(13000.0)
