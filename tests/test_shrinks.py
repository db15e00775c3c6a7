"""The years' bound raised by the sites' shrinks: a hand-solved case whose years alone
shrink a site.

tiny/growth sized by the tonne (tests/test_decompose.py), its supply turned round: 300 t
in 2026, 100 t in 2027. Every tonne nets 10 CNY in the network; c1 costs 1,000 a year;
d1 costs 1,000 + 10 CNY per t/yr of size a year, from 200 to 400 t/yr. Outsourcing a
tonne costs 400, far more than size (10 a t/yr).

- The years alone: 2026 sizes d1 at 300 (8,000), 2027 at its smallest, 200 (5,000):
  13,000, with d1 shrinking by 100 t/yr.
- The whole case: d1 may not shrink, so 2027 keeps 300 t/yr (6,000): 14,000.
- Split at 250 t/yr: 2026 at most 250 outsources 50 t (27,000, 19,000 more), 2027 at
  least 250 costs 500 more, so the bound is 13,500. Each further split halves what is left.
"""

from __future__ import annotations

import math
import multiprocessing
import time

import pytest

import netopt
from netopt.datasets import data_path
from netopt.model.bounds import solve_year_alone
from netopt.model.decompose import YearsPolicy, solve_years_apart
from netopt.model.highs import Budget
from netopt.model.network import discount_factors
from netopt.model.shrinks import (
    DOWN,
    UP,
    Shrink,
    SiteShrinks,
    YearSolve,
    shrinks_beside,
    split_shrinks,
)
from netopt.model.solve import PROVEN_BY_YEARS, SolvePolicy, _record_with_shrinks
from tests.test_forward import trap

EXACT = {"mip_gap": 1e-9}
#: starting plans (years apart) for models as small as these
STARTING_PLANS = SolvePolicy(heuristic_min_binaries=0)


def shrinking() -> netopt.Case:
    case = netopt.load_case(data_path("tiny/growth")).replace(
        parameters={"site_capacity": "continuous"})
    supply = case.supply.copy()
    supply["tonnes"] = supply["year"].map({2026: 300.0, 2027: 100.0})
    return case.replace(supply=supply)


def run_shrinks(case: netopt.Case, min_shrink: float) -> tuple[SiteShrinks, list[float]]:
    """The shrinks' rounds done here, each year exactly; the bound after each round."""
    years = list(case.years)
    factors = discount_factors(years, case.parameters["discount_rate"])
    shrinks = SiteShrinks(years, min_shrink_t_per_yr=min_shrink)

    def solve(year, literals):
        row = solve_year_alone(case, year, factors[year], None, 1e-9, 1,
                               shrinks.size_bounds(literals))
        shrinks.add(year, literals, row["bound_cny"], row["site_sizes_t_per_yr"])

    for year in years:
        solve(year, frozenset())
    bounds = [shrinks.bound()[0]]
    while tasks := shrinks.next_solves():
        for year, literals in tasks:
            solve(year, literals)
        bounds.append(shrinks.bound()[0])
    return shrinks, bounds


def test_the_years_alone_shrink_the_site():
    case = shrinking()
    rows = [solve_year_alone(case, year, 1.0, None, 1e-9, 1) for year in case.years]
    assert [row["bound_cny"] for row in rows] == pytest.approx([8000.0, 5000.0])
    assert [row["site_sizes_t_per_yr"] for row in rows] == [
        pytest.approx({"d1": 300.0}), pytest.approx({"d1": 200.0})]
    assert netopt.solve(case, **EXACT).objective == pytest.approx(14000.0)


def test_one_split_raises_the_bound_by_hand():
    shrinks, bounds = run_shrinks(shrinking(), min_shrink=100.0)
    assert bounds == pytest.approx([13000.0, 13500.0])
    record = shrinks.record()
    assert record["shrinks"] == [{"site": "d1", "year": 2027, "size_t_per_yr": 250.0,
                                  "side": "up"}]
    assert record["bound_cny"] == pytest.approx(13500.0)
    # 2026 at most 250 t/yr: 1,000 + 3,500 + 250 t x 10 + 50 t outsourced x 400
    down = shrinks.solved[2026][frozenset({(0, DOWN)})]
    assert down.bound_cny == pytest.approx(27000.0)
    up = shrinks.solved[2027][frozenset({(0, UP)})]
    assert up.bound_cny == pytest.approx(5500.0)
    assert up.site_sizes_t_per_yr == pytest.approx({"d1": 250.0})


def test_splits_close_in_on_the_optimum_and_never_pass_it():
    shrinks, bounds = run_shrinks(shrinking(), min_shrink=1.0)
    # each split halves the shrink left: 100 t/yr, then 50, 25, ... under 1 t/yr
    assert all(b <= 14000.0 + 1e-6 for b in bounds)
    assert all(later >= earlier - 1e-6 for earlier, later in zip(bounds, bounds[1:]))
    assert bounds[-1] == pytest.approx(14000.0, abs=10.0)
    assert len(shrinks.shrinks) == 7


def test_crossing_bounds_make_a_year_infeasible_without_a_solve():
    row = solve_year_alone(shrinking(), 2027, 1.0, None, 1e-9, 1,
                           ({"d1": 300.0}, {"d1": 250.0}))
    assert row["bound_cny"] == math.inf and row["seconds"] == 0.0


def test_an_infeasible_side_is_never_chosen():
    """A choice MIP by hand: the up side's year is infeasible, so the bound takes the
    down side, whatever it costs."""
    shrinks = SiteShrinks([2026, 2027])
    shrinks.add(2026, frozenset(), 100.0, {"d1": 300.0})
    shrinks.add(2027, frozenset(), 50.0, {"d1": 200.0})
    shrinks.shrinks.append(Shrink("d1", 2027, 250.0))
    shrinks.add(2026, frozenset({(0, DOWN)}), 5e6, {"d1": 250.0})
    shrinks.add(2027, frozenset({(0, UP)}), math.inf, {})
    assert shrinks.bound() == (pytest.approx(50.0 + 5e6), [DOWN])
    shrinks.add(2026, frozenset(), 100.0, {"d1": 300.0})
    # both sides infeasible: no plan keeps the link
    shrinks.add(2026, frozenset({(0, DOWN)}), math.inf, {})
    assert shrinks.bound()[0] == math.inf


def test_years_apart_raise_the_bound_by_the_shrinks():
    """solve_years_apart splits the shrinks from its third round on: the bound of one
    split (the default smallest shrink, 100 t/yr), and the plan of 14,000."""
    result = solve_years_apart(shrinking(), time_limit=None, workers=2, **EXACT)
    assert result["objective"] == pytest.approx(14000.0)
    assert result["bound"] == pytest.approx(13500.0)
    assert [row["bound_cny"] for row in result["years"]] == pytest.approx([8000.0, 5000.0])
    assert result["site_shrinks"]["shrinks"][0]["side"] == "up"
    for _seconds, objective, bound in result["trace"]:
        assert bound <= objective + 1e-6
    # switched off, the bound is the years alone's
    off = solve_years_apart(shrinking(), time_limit=None, workers=1,
                            policy=YearsPolicy(shrinks_from_round=0), **EXACT)
    assert off["bound"] == pytest.approx(13000.0) and off["site_shrinks"] is None


def test_sites_in_modules_have_no_shrinks_to_split():
    """In modules: 2026 takes the large level (1,000 + 5,000 + 3,000), 2027 alone the
    small one (1,000 + 3,000 + 1,000), 14,000; kept large in 2027 (7,000): 16,000. No
    size to split, so the bound stays the years alone's."""
    case = shrinking().replace(parameters={"site_capacity": "modules"})
    result = solve_years_apart(case, time_limit=None, workers=1, **EXACT)
    assert result["site_shrinks"] is None
    assert result["bound"] == pytest.approx(14000.0)
    assert result["objective"] == pytest.approx(16000.0)


def test_a_worker_process_goes_on_with_the_shrinks_beside():
    """shrinks_beside runs the splits in a process of its own; the state read back
    converges on the optimum as run_shrinks does here, and the block stops the worker."""
    case = shrinking()
    shrinks, _bounds = run_shrinks(case, min_shrink=100.0)
    shrinks.min_shrink_t_per_yr = 1.0
    with shrinks_beside(case, shrinks, mip_gap=1e-9, budget=Budget(120)) as latest:
        deadline = time.monotonic() + 120
        while latest().bound()[0] < 14000.0 - 10.0 and time.monotonic() < deadline:
            time.sleep(0.2)
        state = latest()
    assert state is not shrinks  # sent back from the worker
    assert state.bound()[0] == pytest.approx(14000.0, abs=10.0)
    assert state.bound()[0] <= 14000.0 + 1e-6
    assert [s.site for s in state.shrinks] == ["d1"] * len(state.shrinks)
    # the worker is gone once the block ends
    assert not [p for p in multiprocessing.active_children() if p.is_alive()]


def test_solve_reports_the_shrinks_bound_and_proves_the_optimum():
    """netopt.solve on the case: the years apart split the shrink once (13,500), the
    neighbourhoods and the search then prove 14,000; plan.meta keeps the record."""
    plan = netopt.solve(shrinking(), time_limit=300, policy=STARTING_PLANS, **EXACT)
    assert plan.status == "optimal"
    assert plan.objective == pytest.approx(14000.0)
    record = plan.meta["years_apart"]
    assert record["bound_cny"] == pytest.approx(13500.0)
    assert record["site_shrinks"]["shrinks"] == [
        {"site": "d1", "year": 2027, "size_t_per_yr": 250.0, "side": "up"}]
    for row in record["trace"]:
        assert row["bound_cny"] <= row["objective_cny"] + 1e-6


def test_the_shrinks_prove_the_trap_sized_by_the_tonne():
    """trap() sized by the tonne: 2026 alone opens d2 at its one size, 200 t/yr (4,900);
    2027 alone takes d1 at 300 (8,000) and shuts d2: 12,900, with d2 shrinking to 0.
    Split at 100 t/yr: 2026 with d2 at most 100 cannot open it (its smallest size is
    200) and takes d1 (5,000, 100 more); 2027 with d2 at least 100 keeps it open at 200,
    dearer. So the bound is 13,000, the optimum: the years apart prove it, and solve()
    reports it proven by the years."""
    case = trap().replace(parameters={"site_capacity": "continuous"})
    result = solve_years_apart(case, time_limit=None, workers=1, **EXACT)
    assert result["objective"] == pytest.approx(13000.0)
    assert result["bound"] == pytest.approx(13000.0)
    assert [row["bound_cny"] for row in result["years"]] == pytest.approx([4900.0, 8000.0])
    assert result["site_shrinks"]["shrinks"] == [
        {"site": "d2", "year": 2027, "size_t_per_yr": 100.0, "side": "down"}]
    plan = netopt.solve(case, time_limit=120, policy=STARTING_PLANS, **EXACT)
    assert plan.termination == PROVEN_BY_YEARS
    assert plan.objective == pytest.approx(13000.0) and plan.bound == pytest.approx(13000.0)


def test_a_split_not_yet_solved_leaves_the_bound_and_the_record_as_they_were():
    case = shrinking()
    shrinks = SiteShrinks(list(case.years))
    for year in case.years:
        row = solve_year_alone(case, year, 1.0, None, 1e-9, 1)
        shrinks.add(year, frozenset(), row["bound_cny"], row["site_sizes_t_per_yr"])
    tasks = shrinks.next_solves()
    assert tasks == [(2026, frozenset({(0, DOWN)})), (2027, frozenset({(0, UP)}))]
    assert len(shrinks.shrinks) == 1
    assert shrinks.bound()[0] == pytest.approx(13000.0)
    assert shrinks.record()["shrinks"] == []
    # asked again while those two are being solved: nothing more to do yet
    assert shrinks.next_solves(set(tasks)) == []


def test_the_plans_worker_may_go_on_beside_the_shrinks():
    """By default the plan's task stops after two rounds and the third round is the
    shrinks' alone; with it in every round, the same plan (the passes find 14,000) and
    the same bound of one split."""
    policy = YearsPolicy(plan_rounds_with_shrinks=None)
    result = solve_years_apart(shrinking(), time_limit=None, workers=2, policy=policy,
                               **EXACT)
    assert result["objective"] == pytest.approx(14000.0)
    assert result["bound"] == pytest.approx(13500.0)
    assert result["rounds"] >= 3
    default = solve_years_apart(shrinking(), time_limit=None, workers=2, **EXACT)
    assert default["rounds"] == 3 and default["bound"] == pytest.approx(13500.0)


def test_years_alone_held_loose_are_solved_again_before_a_split():
    """A state whose 2026 alone was stopped at 7,000 against a plan of 8,000: it is the
    one loose year, split_shrinks solves it again first (8,000 exactly), then splits
    the shrink (13,500 by hand); the years' table takes the tighter bound."""
    case = shrinking()
    shrinks = SiteShrinks(list(case.years))
    shrinks.add(2026, frozenset(), 7000.0, {"d1": 300.0}, 8000.0)
    shrinks.add(2027, frozenset(), 5000.0, {"d1": 200.0}, 5000.0)
    assert shrinks.loose_years(1e-9) == [2026]
    assert shrinks.loose_years(0.2) == []  # within 20 %: held tight enough
    assert shrinks.bound()[0] == pytest.approx(12000.0)
    split_shrinks(case, shrinks, mip_gap=1e-9, budget=Budget(120))
    alone = shrinks.solved[2026][frozenset()]
    assert alone.bound_cny == pytest.approx(8000.0)
    assert alone.objective_cny == pytest.approx(8000.0)
    assert shrinks.loose_years(1e-9) == []
    assert shrinks.bound()[0] == pytest.approx(13500.0)
    record = {"bound_cny": 12000.0, "site_shrinks": None,
              "years": [{"year": 2026, "bound_cny": 7000.0},
                        {"year": 2027, "bound_cny": 5000.0}]}
    after = _record_with_shrinks(record, shrinks)
    assert after["bound_cny"] == pytest.approx(13500.0)
    assert after["years"] == [
        {"year": 2026, "bound_cny": pytest.approx(8000.0), "tightened_beside": True},
        {"year": 2027, "bound_cny": 5000.0}]
    assert after["site_shrinks"]["shrinks"][0]["site"] == "d1"


def test_a_year_solved_again_beside_raises_the_reported_bound_with_no_split():
    """Beside the neighbourhoods the worker may only have solved a loose year again (at
    300 s on the default case it splits nothing): the record's bound takes it all the
    same, 8,000 + 5,000, and there is still no shrinks' record."""
    shrinks = SiteShrinks([2026, 2027])
    shrinks.add(2026, frozenset(), 7000.0, {"d1": 300.0}, 8000.0)
    shrinks.add(2027, frozenset(), 5000.0, {"d1": 200.0}, 5000.0)
    record = {"bound_cny": 12000.0, "site_shrinks": None,
              "years": [{"year": 2026, "bound_cny": 7000.0},
                        {"year": 2027, "bound_cny": 5000.0}]}
    assert _record_with_shrinks(record, shrinks) is record  # nothing gained yet
    shrinks.add(2026, frozenset(), 8000.0, {"d1": 300.0}, 8000.0)
    after = _record_with_shrinks(record, shrinks)
    assert after["bound_cny"] == pytest.approx(13000.0)
    assert after["site_shrinks"] is None
    assert after["years"][0] == {"year": 2026, "bound_cny": 8000.0, "tightened_beside": True}


def test_a_solve_keeps_the_higher_bound_and_the_lower_cost():
    shrinks = SiteShrinks([2026])
    shrinks.add(2026, frozenset(), 7000.0, {"d1": 300.0}, 8000.0)
    shrinks.add(2026, frozenset(), 7500.0, {"d1": 250.0}, 8200.0)
    assert shrinks.solved[2026][frozenset()] == YearSolve(7500.0, {"d1": 250.0}, 8000.0)
    shrinks.add(2026, frozenset(), 7200.0, {"d1": 280.0}, 7900.0)
    assert shrinks.solved[2026][frozenset()] == YearSolve(7500.0, {"d1": 250.0}, 7900.0)
    shrinks.add(2026, frozenset(), 7800.0, {"d1": 260.0})  # no plan's cost known
    assert shrinks.solved[2026][frozenset()] == YearSolve(7800.0, {"d1": 260.0}, 7900.0)


def test_without_the_other_pass_the_second_round_only_bounds():
    """YearsPolicy(other_pass=False), as netopt.solve runs it where the neighbourhoods
    follow: one plan's task (the forward pass, 14,000 here) instead of two, and the
    same bound of one split."""
    def plan_tasks(policy: YearsPolicy) -> tuple[dict, int]:
        phases: list[str] = []
        result = solve_years_apart(shrinking(), time_limit=None, workers=2, policy=policy,
                                   progress=lambda note: phases.append(note["phase"]),
                                   **EXACT)
        return result, phases.count("years apart: plan")

    both, with_other = plan_tasks(YearsPolicy())
    one, without = plan_tasks(YearsPolicy(other_pass=False))
    assert (with_other, without) == (2, 1)
    assert one["objective"] == pytest.approx(both["objective"]) == pytest.approx(14000.0)
    assert one["bound"] == pytest.approx(both["bound"]) == pytest.approx(13500.0)
