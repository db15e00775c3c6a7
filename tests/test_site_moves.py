"""A plan's sites moved one opening year at a time, each move costed by the LP of the whole
model: hand-solved cases.

trap() (tests/test_forward.py), sites sized by the tonne: the forward pass opens d2 in
2026 (200 t/yr, kept in 2027) and d1 in 2027, 14,800. The optimum is d1 alone, growing
from 200 to 300 t/yr, 13,000 (tests/test_decompose.py works both by hand). No single
site's year moves the pass's plan there; d1 taking over d2's opening year does.
"""

from __future__ import annotations

import json

import pyomo.environ as pyo
import pytest

import netopt
from netopt.model.decompose import YearsPolicy
from netopt.model.extract import extract_plan
from netopt.model.highs import Budget, binaries, solve_fixed
from netopt.model.site_moves import MOVE_COLUMNS, improve_by_site_moves, moved
from netopt.model.solve import SolvePolicy
from tests.invariants import check_plan
from tests.test_forward import run_trap_folder, trap
from tests.test_neighbourhood import EXACT, forward_start, opened

OPTIMUM = 13000.0


def continuous_trap() -> netopt.Case:
    return trap().replace(parameters={"site_capacity": "continuous"})


def test_the_nearest_later_site_takes_over_and_undoes_the_forward_trap():
    case = continuous_trap()
    nm, persistent, start = forward_start(case)
    assert start["objective"] == pytest.approx(14800.0)
    assert opened(nm, "site_open") == {("d1", 2027), ("d2", 2026), ("d2", 2027)}
    points = opened(nm, "open_collection_point")
    improved = improve_by_site_moves(nm, start, persistent, time_limit=60)
    assert improved["objective"] == pytest.approx(OPTIMUM)
    [move] = improved["site_moves"]
    assert list(move) == MOVE_COLUMNS
    assert move["sweep"] == 1
    assert (move["dismantling_site_id"], move["move"], move["opens"]) == (
        "d2", "taken over by d1", None)
    # every move of the plan it returns was costed, and none gained
    assert improved["site_moves_tried"] > 1
    # the model holds the plan it returns, with the collection points as they were
    assert pyo.value(nm.model.total_cost) == pytest.approx(OPTIMUM)
    assert opened(nm, "site_open") == {("d1", 2026), ("d1", 2027)}
    assert opened(nm, "open_collection_point") == points
    assert all(not v.fixed for v in binaries(nm.model)) and binaries(nm.model)
    plan = extract_plan(nm, status="time_limit", termination="site moves", bound=OPTIMUM,
                        gap=0.0, timings={}, solver="highs")
    check_plan(case, plan)
    assert plan.objective == pytest.approx(OPTIMUM)
    d1 = plan.sites[plan.sites["id"] == "d1"].sort_values("year")
    assert d1["capacity_t_per_yr"].tolist() == pytest.approx([200.0, 300.0])


def test_a_site_opened_for_nothing_is_never_opened():
    """The optimum with d2 opened in 2027 too costs more (d2's opening); the move that
    never opens d2 gives the optimum back, and no other move gains."""
    nm, persistent, start = forward_start(continuous_trap())
    opening = {("d1", 2026): 1.0, ("d1", 2027): 1.0, ("d2", 2026): 0.0, ("d2", 2027): 1.0}
    assert moved(opening, {"d2": None, "d1": 2027}) == {
        ("d1", 2026): 0.0, ("d1", 2027): 1.0, ("d2", 2026): 0.0, ("d2", 2027): 0.0}
    chosen = dict(start["values"])
    chosen.update({id(nm.model.site_open[key]): value for key, value in opening.items()})
    extra, values = solve_fixed(nm, chosen, persistent=persistent)
    assert extra > OPTIMUM + 1.0 and values is not None
    improved = improve_by_site_moves(nm, {"objective": extra, "values": values}, persistent,
                                     time_limit=60)
    assert improved["objective"] == pytest.approx(OPTIMUM)
    assert [(m["dismantling_site_id"], m["move"]) for m in improved["site_moves"]] == [
        ("d2", "never")]


def test_a_spent_budget_or_sites_in_modules_leave_the_plan_as_it_was():
    nm, persistent, start = forward_start(continuous_trap())
    improved = improve_by_site_moves(nm, start, persistent, time_limit=Budget(0.0))
    assert improved["objective"] == start["objective"]
    assert improved["site_moves"] == [] and improved["site_moves_tried"] == 0
    assert pyo.value(nm.model.total_cost) == pytest.approx(14800.0)
    # in modules the sites' openings are their levels: nothing to move
    nm, persistent, start = forward_start(trap())
    improved = improve_by_site_moves(nm, start, persistent, time_limit=60)
    assert improved["objective"] == pytest.approx(14800.0)
    assert improved["site_moves_tried"] == 0


def test_solve_moves_the_sites_where_the_neighbourhoods_do_not_apply():
    """A model over ``neighbourhood_max_rows`` rows: the years apart's forward pass, then
    the sites' moves, which reach the optimum. The years apart run one round, whose
    plan task is the forward pass alone (later rounds' passes and windows escape the
    trap on their own), and then split the sites' shrinks, which bound the optimum."""
    policy = SolvePolicy(heuristic_min_binaries=0, neighbourhood_max_rows=10,
                         years_policy=YearsPolicy(shrinks_from_round=1, plan_rounds_with_shrinks=1))
    case = continuous_trap()
    plan = netopt.solve(case, time_limit=120, policy=policy, **EXACT)
    assert plan.objective == pytest.approx(OPTIMUM)
    check_plan(case, plan)
    record = plan.meta["starting_plan"]
    assert record["year_by_year_cny"] == pytest.approx(14800.0)
    assert record["neighbourhoods"] == []
    assert [m["move"] for m in record["site_moves"]] == ["taken over by d1"]
    assert record["objective_cny"] == pytest.approx(OPTIMUM)
    for row in plan.meta["years_apart"]["trace"]:
        assert row["bound_cny"] <= row["objective_cny"] + 1e-6
    # switched off, the plan the search starts from is the pass's
    off = netopt.solve(case, time_limit=120, policy=SolvePolicy(
        heuristic_min_binaries=0, neighbourhood_max_rows=10, site_moves_time_share=0.0,
        years_policy=policy.years_policy), **EXACT)
    assert off.meta["starting_plan"]["site_moves"] == []
    assert off.meta["starting_plan"]["objective_cny"] == pytest.approx(14800.0)


def test_netopt_run_reports_the_moves_kept(tmp_path):
    """The trap sized by the tonne as a planner's folder, through the command line (in a
    subprocess, with the policy of the test above for a model this small)."""
    result = run_trap_folder(
        tmp_path, "s.SolvePolicy(heuristic_min_binaries=0, neighbourhood_max_rows=10, "
        "years_policy=s.YearsPolicy(shrinks_from_round=1, plan_rounds_with_shrinks=1))",
        continuous_trap(), ("parameters", "site_capacity,continuous,"))
    assert result.returncode == 0, result.stderr
    assert "starting plans: years apart 14,800" in result.stdout
    assert "then the sites' moves: 1 kept of " in result.stdout
    assert "costed, 13,000" in result.stdout
    header = json.loads((tmp_path / "out" / "plan.json").read_text())
    assert header["objective_cny"] == pytest.approx(OPTIMUM)
