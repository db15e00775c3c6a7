"""The solver adapter's own types: the one clock (a time limit held as a deadline, Budget)
and how a solve ended (SolveResult, its Status)."""

import json
import math
import pickle
from concurrent.futures import ProcessPoolExecutor

import pytest

from netopt.model.highs import Budget, SolveResult
from netopt.plan import INTERRUPTED, OPTIMAL, TIME_LIMIT, Status


def _left_in_worker(budget: Budget) -> float | None:
    return budget.left()


def test_no_limit_has_nothing_left_to_count_but_still_tells_the_time():
    budget = Budget(None)
    assert not budget.limited
    assert budget.left() is None and budget.share(0.5) is None
    assert not budget.spent(1e9)
    assert budget.elapsed() >= 0.0
    assert Budget.of(None).left() is None


def test_what_is_left_only_shrinks_and_shares_are_of_what_is_left():
    budget = Budget(100.0)
    first = budget.left()
    second = budget.left()
    assert 0.0 < second <= first <= 100.0
    assert budget.share(0.25) <= 0.25 * first
    assert budget.share(0.25) >= 0.25 * budget.left() - 1e-9
    assert Budget(-5.0).left() == 0.0 and Budget(-5.0).left(1.0) == 1.0
    assert Budget(-5.0).spent() and not budget.spent()
    assert budget.spent(margin=1000.0)


def test_of_passes_a_budget_as_itself():
    budget = Budget(10.0)
    assert Budget.of(budget) is budget
    assert Budget.of(10.0) is not budget


def test_a_budget_within_never_ends_after_its_parent():
    parent = Budget(50.0)
    assert parent.within(1000.0).deadline == parent.deadline
    assert parent.within(None).deadline == parent.deadline
    inner = parent.within(5.0)
    assert inner.deadline < parent.deadline and inner.left() <= 5.0
    assert Budget(None).within(5.0).left() <= 5.0
    assert Budget(None).within(None).left() is None


def test_a_reserve_kept_back_moves_the_deadline_not_the_start():
    budget = Budget(30.0)
    reserved = budget.less(10.0)
    assert reserved.deadline == pytest.approx(budget.deadline - 10.0)
    assert reserved.started == budget.started
    assert Budget(None).less(10.0).deadline is None


def test_a_budget_crosses_to_a_worker_process_with_its_deadline():
    budget = Budget(60.0)
    copy = pickle.loads(pickle.dumps(budget))
    assert copy.deadline == budget.deadline and copy.started == budget.started
    with ProcessPoolExecutor(1) as pool:
        before = budget.left()
        in_worker = pool.submit(_left_in_worker, budget).result()
    # one machine, one clock: the worker sees the same deadline, later
    assert 0.0 < in_worker <= before


def test_a_status_is_its_string():
    assert Status.OPTIMAL == "optimal" and OPTIMAL is Status.OPTIMAL
    assert f"{TIME_LIMIT}" == "time_limit" and str(Status.NO_SOLUTION) == "no_solution"
    assert json.loads(json.dumps({"status": INTERRUPTED})) == {"status": "interrupted"}


def test_a_result_changed_keeps_its_gap_true_to_its_objective_and_bound():
    stopped = SolveResult(TIME_LIMIT, "maxTimeLimit", 16000.0, 0.0, 1.0)
    raised = stopped.but(bound=14000.0)
    assert raised.gap == pytest.approx(2000.0 / 16000.0)
    assert stopped.bound == 0.0  # (a result is never changed in place)
    better = raised.but(objective=15000.0, status=OPTIMAL)
    assert better.gap == pytest.approx(1000.0 / 15000.0) and better.status == "optimal"
    assert raised.but(gap=0.5).gap == 0.5
    assert better.has_plan and stopped.has_plan
    nothing = SolveResult(Status.NO_SOLUTION, "interrupted")
    assert not nothing.has_plan
    assert math.isnan(nothing.objective) and nothing.gap == math.inf


def test_the_loaded_instance_and_its_maps_match_the_model():
    """``loaded_highs``, ``highs_columns`` and ``highs_rows`` read what pyomo's persistent
    HiGHS interface holds: one column per variable and one row per constraint of the
    model, each index once; nothing before the model is loaded."""
    import highspy
    import pyomo.environ as pyo
    from pyomo.contrib.solver.common.factory import SolverFactory

    from netopt.model.highs import highs_columns, highs_rows, loaded_highs

    opt = SolverFactory("highs")
    assert loaded_highs(opt) is None and highs_columns(opt) == {} and highs_rows(opt) == {}
    m = pyo.ConcreteModel()
    m.x = pyo.Var([1, 2, 3], bounds=(0, 10))
    m.cap = pyo.Constraint([1, 2], rule=lambda m, i: m.x[i] + m.x[3] <= 4 * i)
    m.cost = pyo.Objective(expr=-m.x[1] - 2 * m.x[2] - 3 * m.x[3])
    opt.set_instance(m)
    highs = loaded_highs(opt)
    assert highs.getNumCol() == 3 and highs.getNumRow() == 2
    columns, rows = highs_columns(opt), highs_rows(opt)
    assert sorted(columns.values()) == [0, 1, 2]
    assert {id(m.x[i]) for i in (1, 2, 3)} == set(columns)
    assert sorted(rows.values()) == [0, 1]
    # the row of cap[2] carries its bound, 8
    lp = highs.getLp()
    assert lp.row_upper_[rows[m.cap[2]]] == pytest.approx(8.0)
    plain = highspy.Highs()
    assert loaded_highs(plain) is plain


def test_a_plan_is_reported_at_its_own_cost_when_the_solver_says_otherwise():
    """``plan_cost``: HiGHS's objective where it is what the model's values cost, else
    the values' own cost, with a warning that names both (the trap case, solved exactly:
    13,000 by the tonne, by hand in tests/test_forward.py)."""
    import pyomo.environ as pyo
    from pyomo.contrib.solver.common.factory import SolverFactory

    from netopt.model.build import build_model
    from netopt.model.highs import plan_cost, run_solver
    from netopt.model.network import prepare
    from tests.test_forward import trap

    nm = build_model(prepare(trap().replace(parameters={"site_capacity": "continuous"})))
    result = run_solver(nm, mip_gap=1e-9, persistent=SolverFactory("highs"))
    assert result.objective == pytest.approx(13000.0)
    assert plan_cost(nm, result.objective) == result.objective
    with pytest.warns(RuntimeWarning, match="12,000 for a plan that costs CNY 13,000"):
        assert plan_cost(nm, 12000.0) == pytest.approx(13000.0)
    assert pyo.value(nm.model.total_cost) == pytest.approx(13000.0)
