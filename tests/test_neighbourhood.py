"""A plan improved one kind of facility at a time, over every year: hand-solved cases.

trap() (tests/test_forward.py): the forward pass pays 14,800 (d2 in 2026, kept in 2027,
plus d1 small). With the collection points fixed at that plan, the sites over both
years are free again: in modules the optimum is tiny/growth's 14,000 (d1 small, then
large, 14,000); sized by the tonne d1 grows from 200 to 300 t/yr, 13,000
(tests/test_decompose.py works both by hand).
"""

from __future__ import annotations

import pyomo.environ as pyo
import pytest
from pyomo.contrib.solver.common.factory import SolverFactory

import netopt
from netopt.model.build import build_model
from netopt.model.decompose import YearsPolicy
from netopt.model.extract import extract_plan
from netopt.model.forward import plan_values, year_by_year_plan
from netopt.model.highs import Budget, binaries, solve_fixed
from netopt.model.neighbourhood import STEP_COLUMNS, improve_by_neighbourhoods
from netopt.model.network import prepare
from netopt.model.solve import SolvePolicy
from tests.invariants import check_plan
from tests.test_forward import trap

EXACT = {"mip_gap": 1e-9}


def forward_start(case: netopt.Case):
    """The model of ``case``, a HiGHS instance holding it, and the forward pass's plan as
    a plan of the whole model."""
    forward = year_by_year_plan(case, **EXACT)
    nm = build_model(prepare(case))
    persistent = SolverFactory("highs")
    objective, values = solve_fixed(nm, plan_values(nm, forward), persistent=persistent)
    assert values is not None
    return nm, persistent, {**forward, "objective": objective, "values": values}


def opened(nm, name: str) -> set:
    return {index for index, v in getattr(nm.model, name).items()
            if v.value is not None and v.value > 0.5}


@pytest.mark.parametrize("sizing, optimum", [("modules", 14000.0), ("continuous", 13000.0)])
def test_the_sites_over_every_year_undo_the_forward_trap(sizing, optimum):
    case = trap().replace(parameters={"site_capacity": sizing})
    nm, persistent, start = forward_start(case)
    assert start["objective"] == pytest.approx(14800.0)
    points = opened(nm, "open_collection_point")
    improved = improve_by_neighbourhoods(nm, start, persistent, time_limit=60, **EXACT)
    assert improved["objective"] == pytest.approx(optimum)
    # the model holds the plan it returns, a plan of the whole case
    assert pyo.value(nm.model.total_cost) == pytest.approx(optimum)
    assert opened(nm, "open_collection_point") == points
    steps = improved["neighbourhoods"]
    assert list(steps[0]) == STEP_COLUMNS
    first = steps[0]
    assert first["neighbourhood"] == "dismantling_sites" and first["improved"]
    assert first["objective_cny"] == pytest.approx(optimum)
    # the second round found nothing more, and no step is worse than the one before
    assert not any(step["improved"] for step in steps if step["round"] == 2)
    assert all(step["objective_cny"] <= start["objective"] + 1e-6 for step in steps)
    # every binary is free again
    assert all(not v.fixed for v in binaries(nm.model)) and binaries(nm.model)
    plan = extract_plan(nm, status="time_limit", termination="neighbourhoods",
                        bound=optimum, gap=0.0, timings={}, solver="highs")
    check_plan(case, plan)
    assert plan.objective == pytest.approx(optimum)


def test_a_spent_budget_leaves_the_plan_as_it_was():
    nm, persistent, start = forward_start(trap())
    improved = improve_by_neighbourhoods(nm, start, persistent, time_limit=Budget(0.0))
    assert improved["objective"] == start["objective"]
    assert improved["neighbourhoods"] == []
    assert pyo.value(nm.model.total_cost) == pytest.approx(14800.0)


@pytest.mark.parametrize("sizing, optimum", [("modules", 14000.0), ("continuous", 13000.0)])
def test_solve_takes_the_neighbourhoods_after_the_years_apart(sizing, optimum):
    """With the starting plans on for this small model, solve() runs the years apart and
    then the neighbourhoods from their plan; the record says what each step found, and
    the optimum is reached whatever the passes found. (Sized by the tonne, the sites'
    shrinks would prove the years apart's plan, and no neighbourhood would run:
    tests/test_shrinks.py; they are switched off here.)"""
    policy = SolvePolicy(heuristic_min_binaries=0, neighbourhood_min_seconds=0.0,
                         neighbourhood_sizings=("continuous", "modules"),
                         years_policy=YearsPolicy(shrinks_from_round=0))
    case = trap().replace(parameters={"site_capacity": sizing})
    plan = netopt.solve(case, time_limit=120, policy=policy, **EXACT)
    assert plan.status == "optimal"
    assert plan.objective == pytest.approx(optimum)
    check_plan(case, plan)
    record = plan.meta["starting_plan"]
    assert record["objective_cny"] <= record["year_by_year_cny"] + 1e-6
    assert record["neighbourhoods"]
    for step in record["neighbourhoods"]:
        assert step["objective_cny"] >= optimum - 1e-6
    # the trace never has a bound above a plan
    for row in plan.meta["years_apart"]["trace"]:
        assert row["bound_cny"] <= row["objective_cny"] + 1e-6


ALL = {"neighbourhood_min_seconds": 0.0, "neighbourhood_sizings": ("continuous", "modules")}


@pytest.mark.parametrize("changes", [
    {**ALL, "neighbourhood_time_share": 0.0},  # switched off
    {**ALL, "neighbourhood_min_seconds": 100.0},  # 120 s leave them 54 s: too few
    {**ALL, "neighbourhood_max_rows": 10},  # too large a model
    {**ALL, "neighbourhood_sizings": ("continuous",)},  # trap() is in modules
])
def test_no_neighbourhoods_where_they_do_not_apply(changes):
    policy = SolvePolicy(heuristic_min_binaries=0, **changes)
    plan = netopt.solve(trap(), time_limit=120, policy=policy, **EXACT)
    assert plan.objective == pytest.approx(14000.0)
    assert plan.meta["starting_plan"]["neighbourhoods"] == []
