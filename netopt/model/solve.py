"""Solve the network MIP with HiGHS (through highspy, via pyomo) and return a Plan.

Pipeline: validate (the Case) -> prepare (arcs, distances) -> build -> solve -> extract.
The solver's termination condition is kept apart from whether a solution exists: a
plan stopped by the time limit says so (``status="time_limit"``, with its gap) in
every output; an infeasible case gets an explanation from the elastic model.
"""

from __future__ import annotations

import math
import time
from typing import Any

import pyomo.environ as pyo

from netopt.case import Case
from netopt.errors import SolverError
from netopt.model.build import NetworkModel, build_model
from netopt.model.extract import extract_plan
from netopt.model.network import prepare
from netopt.plan import INFEASIBLE, INTERRUPTED, NO_SOLUTION, OPTIMAL, TIME_LIMIT, Plan

_UNSET = -1
_SCHEDULER_THREADS: int | None = _UNSET  # threads option of this process's last solve


def _use_threads(threads: int | None) -> None:
    """HiGHS keeps one thread scheduler per process: rebuild it when the count changes."""
    global _SCHEDULER_THREADS
    if _SCHEDULER_THREADS != _UNSET and _SCHEDULER_THREADS != threads and threads is not None:
        import highspy

        highspy.Highs.resetGlobalScheduler(True)
    _SCHEDULER_THREADS = threads


#: Models with fewer free binaries than this are left to the MIP search alone.
HEURISTIC_MIN_BINARIES = 500


def _has_free_binaries(nm: NetworkModel, at_least: int = HEURISTIC_MIN_BINARIES) -> bool:
    count = 0
    for var in nm.model.component_objects(pyo.Var):
        for v in var.values():
            if v.is_binary() and not v.fixed:
                count += 1
                if count >= at_least:
                    return True
    return False


def _relative_gap(objective: float, bound: float) -> float:
    if not (math.isfinite(objective) and math.isfinite(bound)):
        return float("inf")
    return abs(objective - bound) / max(abs(objective), 1e-10) if objective != bound else 0.0


def run_solver(
    nm: NetworkModel,
    *,
    time_limit: float | None = None,
    mip_gap: float = 1e-4,
    threads: int | None = None,
    solver: str = "highs",
    log: bool = False,
    options: dict[str, Any] | None = None,
    persistent: Any = None,
) -> dict[str, Any]:
    """Solve ``nm.model`` in place; returns status, termination, objective, bound, gap.

    ``persistent`` is a pyomo HiGHS solver that has solved this model before and was told
    of every change since (``update_variables``/``update_parameters``): it is reused
    without rescanning the model.
    """
    model = nm.model
    if solver == "highs":
        from pyomo.contrib.solver.common.factory import SolverFactory
        from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition

        opt = persistent if persistent is not None else SolverFactory("highs")
        if not opt.available():
            raise SolverError("HiGHS is not available: pip install highspy")
        solver_options = {"mip_rel_gap": mip_gap, "mip_abs_gap": 1e-6}
        if options:
            solver_options.update(options)
        kwargs: dict[str, Any] = {
            "tee": log,
            "load_solutions": False,
            "raise_exception_on_nonoptimal_result": False,
            "solver_options": solver_options,
        }
        if time_limit is not None:
            kwargs["time_limit"] = float(time_limit)
        if threads is not None:
            kwargs["threads"] = int(threads)
        _use_threads(None if threads is None else int(threads))
        if persistent is not None:
            kwargs["auto_updates"] = {
                "check_for_new_or_removed_constraints": False,
                "check_for_new_or_removed_vars": False,
                "check_for_new_or_removed_params": False,
                "check_for_new_objective": False,
                "update_constraints": False,
                "update_vars": False,
                "update_parameters": False,
                "update_named_expressions": False,
                "update_objective": False,
            }
        results = opt.solve(model, **kwargs)
        tc = results.termination_condition
        has_solution = results.solution_status in (SolutionStatus.optimal,
                                                   SolutionStatus.feasible)
        if has_solution:
            results.solution_loader.load_vars()
        objective = results.incumbent_objective
        bound = results.objective_bound
        objective = float(objective) if objective is not None else float("nan")
        bound = float(bound) if bound is not None else float("nan")
        if tc == TerminationCondition.convergenceCriteriaSatisfied and has_solution:
            status = OPTIMAL
        elif tc in (TerminationCondition.provenInfeasible,
                    TerminationCondition.infeasibleOrUnbounded,
                    TerminationCondition.locallyInfeasible):
            status = INFEASIBLE
        elif tc == TerminationCondition.interrupted:
            status = INTERRUPTED if has_solution else NO_SOLUTION
        elif has_solution:
            status = TIME_LIMIT
        else:
            status = NO_SOLUTION
        if status == OPTIMAL and not math.isfinite(bound):
            bound = objective
        return {"status": status, "termination": tc.name, "objective": objective,
                "bound": bound, "gap": _relative_gap(objective, bound)}

    # Any other MIP solver pyomo knows by name (cbc, glpk, gurobi, ...).
    opt = pyo.SolverFactory(solver)
    if opt is None or not opt.available(exception_flag=False):
        raise SolverError(f"solver '{solver}' is not installed or not known to pyomo")
    if time_limit is not None:
        opt.options["time_limit" if solver != "cbc" else "sec"] = time_limit
    result = opt.solve(model, tee=log, load_solutions=False)
    from pyomo.opt import SolutionStatus as LegacyStatus
    from pyomo.opt import TerminationCondition as LegacyTC

    tc = result.solver.termination_condition
    solutions = [s for s in result.solution if s.status in (LegacyStatus.optimal,
                                                              LegacyStatus.feasible)]
    if solutions:
        model.solutions.load_from(result)
    objective = float(pyo.value(model.total_cost)) if solutions else float("nan")
    bound = result.problem.lower_bound
    bound = float(bound) if bound is not None and math.isfinite(bound) else objective
    if tc == LegacyTC.optimal:
        status = OPTIMAL
    elif tc in (LegacyTC.infeasible, LegacyTC.infeasibleOrUnbounded):
        status = INFEASIBLE
    else:
        status = TIME_LIMIT if solutions else NO_SOLUTION
    return {"status": status, "termination": str(tc), "objective": objective,
            "bound": bound, "gap": _relative_gap(objective, bound)}


def solve(
    case: Case,
    *,
    time_limit: float | None = None,
    mip_gap: float = 1e-4,
    threads: int | None = None,
    solver: str = "highs",
    log: bool = False,
    explain: bool = True,
    heuristic: bool = True,
) -> Plan:
    """Design the network of ``case`` at minimum discounted cost (CNY).

    Returns a :class:`netopt.Plan`; ``plan.status`` is "optimal", "time_limit" (a
    feasible plan with ``plan.gap`` left), "infeasible" (``plan.explanation`` says what
    must give, from the elastic model) or "no_solution".
    """
    timings: dict[str, float] = {}
    start = time.perf_counter()
    data = prepare(case)
    timings["prepare_s"] = time.perf_counter() - start
    from netopt.model.checks import presolve_checks

    problems = presolve_checks(data)
    if len(problems):  # infeasible on the data alone: say so without building the model
        return Plan.empty(case, status=INFEASIBLE, termination="presolve checks",
                          timings=timings, explanation=problems, solver=solver)
    start = time.perf_counter()
    nm = build_model(data)
    timings["build_s"] = time.perf_counter() - start
    start = time.perf_counter()
    rounded = None
    if heuristic and solver == "highs" and _has_free_binaries(nm):
        from netopt.model.heuristic import lp_rounding

        rounded = lp_rounding(nm, time_limit=time_limit, threads=threads)
        timings["heuristic_s"] = time.perf_counter() - start
        if time_limit is not None:
            time_limit = max(1.0, time_limit - timings["heuristic_s"])
    start = time.perf_counter()
    result = run_solver(nm, time_limit=time_limit, mip_gap=mip_gap, threads=threads,
                        solver=solver, log=log)
    timings["solve_s"] = time.perf_counter() - start
    if rounded is not None and result["status"] in (TIME_LIMIT, NO_SOLUTION, INTERRUPTED) and (
        not math.isfinite(result["objective"]) or rounded["objective"] < result["objective"]
    ):
        # the search stopped with nothing better than the rounded plan: report that plan
        from netopt.model.heuristic import load_values

        load_values(nm, rounded["values"])
        bound = result["bound"]
        if not math.isfinite(bound) or (math.isfinite(rounded["bound"])
                                        and rounded["bound"] > bound):
            bound = rounded["bound"]
        result.update(objective=rounded["objective"], bound=bound,
                      gap=_relative_gap(rounded["objective"], bound),
                      status=TIME_LIMIT if result["status"] != INTERRUPTED else INTERRUPTED)
    if result["status"] == INFEASIBLE:
        from netopt.model.explain import explain_infeasibility

        explanation = explain_infeasibility(data, solver=solver) if explain else None
        return Plan.empty(case, status=INFEASIBLE, termination=result["termination"],
                          timings=timings, explanation=explanation, solver=solver)
    if result["status"] == NO_SOLUTION:
        return Plan.empty(case, status=NO_SOLUTION, termination=result["termination"],
                          timings=timings, solver=solver, bound=result["bound"])
    start = time.perf_counter()
    plan = extract_plan(
        nm, status=result["status"], termination=result["termination"],
        bound=result["bound"], gap=result["gap"], timings=timings, solver=solver,
    )
    timings["extract_s"] = time.perf_counter() - start
    plan.meta["solver_objective_cny"] = result["objective"]
    plan.meta["mip_gap_requested"] = mip_gap
    return plan
