"""The solver adapter: a built model solved by HiGHS (through pyomo's interface to
highspy) or by any MIP solver pyomo knows, stopped cleanly by Ctrl-C, started from a
plan, and read back as a status, an objective, a bound and a gap.

Every strategy of :mod:`netopt.model` solves through here; :mod:`netopt.model.solve`
chains them into the pipeline.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import pyomo.environ as pyo

from netopt.errors import SolverError
from netopt.model.build import NetworkModel
from netopt.plan import (
    INFEASIBLE,
    INTERRUPTED,
    NO_SOLUTION,
    OPTIMAL,
    TIME_LIMIT,
    Status,
    relative_gap,
)


@dataclass(frozen=True)
class SolveResult:
    """How a solve of a model ended: ``status``, the solver's ``termination`` (its words),
    the best plan's ``objective`` and the proven ``bound`` (CNY; NaN when there is
    none) and their relative ``gap``. ``stats``: what a strategy adds (counts)."""

    status: Status
    termination: str
    objective: float = math.nan
    bound: float = math.nan
    gap: float = math.inf
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def has_plan(self) -> bool:
        """Whether the solve left a plan (feasible values) in the model."""
        return self.status in (Status.OPTIMAL, Status.TIME_LIMIT, Status.INTERRUPTED)

    def but(self, **changes: Any) -> SolveResult:
        """A copy with some fields changed (the gap follows objective and bound)."""
        result = replace(self, **changes)
        if ("objective" in changes or "bound" in changes) and "gap" not in changes:
            result = replace(result, gap=relative_gap(result.objective, result.bound))
        return result


def now() -> float:
    """Seconds on netopt's one clock: monotonic and shared by the processes of one machine
    (only differences mean anything)."""
    return time.perf_counter()


class Budget:
    """A time limit held as a deadline on the one clock (:func:`now`), in seconds.

    Every strategy takes a Budget, not a number of seconds: what is left is read off one
    deadline, so no step re-derives it from its own start and limit. ``Budget(None)`` has
    no limit (and still tells the time elapsed since it was made). A Budget pickles, so a
    worker process on the same machine can share it.
    """

    __slots__ = ("started", "deadline")

    def __init__(self, seconds: float | None = None) -> None:
        self.started = now()
        self.deadline = None if seconds is None else self.started + float(seconds)

    @classmethod
    def of(cls, limit: float | Budget | None) -> Budget:
        """``limit`` as a Budget: a Budget passes as itself, seconds start one now."""
        return limit if isinstance(limit, Budget) else cls(limit)

    @property
    def limited(self) -> bool:
        """Whether there is a deadline at all."""
        return self.deadline is not None

    def elapsed(self) -> float:
        """Seconds since this budget was made."""
        return now() - self.started

    def left(self, floor: float = 0.0) -> float | None:
        """Seconds to the deadline (at least ``floor``), or None without a limit."""
        if self.deadline is None:
            return None
        return max(floor, self.deadline - now())

    def share(self, fraction: float, floor: float = 0.0) -> float | None:
        """``fraction`` of the seconds left (at least ``floor``), or None without a limit."""
        left = self.left()
        return None if left is None else max(floor, fraction * left)

    def within(self, seconds: float | None) -> Budget:
        """A budget of at most ``seconds`` from now that ends no later than this one."""
        inner = Budget(seconds)
        if self.deadline is not None and (inner.deadline is None
                                          or inner.deadline > self.deadline):
            inner.deadline = self.deadline
        return inner

    def less(self, seconds: float) -> Budget:
        """A copy with ``seconds`` kept back at its end (a reserve for what follows)."""
        inner = Budget()
        inner.started = self.started
        inner.deadline = None if self.deadline is None else self.deadline - seconds
        return inner

    def spent(self, margin: float = 0.0) -> bool:
        """Whether fewer than ``margin`` seconds are left (never, without a limit)."""
        return self.deadline is not None and self.deadline - now() <= margin

    def __repr__(self) -> str:
        left = self.left()
        return "Budget(no limit)" if left is None else f"Budget({left:.1f} s left)"


_UNSET = -1
_SCHEDULER_THREADS: int | None = _UNSET  # threads option of this process's last solve


def use_threads(threads: int | None) -> None:
    """HiGHS keeps one thread scheduler per process: rebuild it when the count changes."""
    global _SCHEDULER_THREADS
    if _SCHEDULER_THREADS != _UNSET and _SCHEDULER_THREADS != threads and threads is not None:
        import highspy

        highspy.Highs.resetGlobalScheduler(True)
    _SCHEDULER_THREADS = threads


def solve_interruptibly(opt: Any, model: Any, kwargs: dict[str, Any],
                         progress: Callable[[dict[str, Any]], None] | None = None,
                         start: dict[int, float] | None = None,
                         finish_first: bool = False) -> tuple[Any, bool]:
    """``opt.solve(model, **kwargs)``, stopped cleanly by Ctrl-C (:func:`run_interruptibly`).

    ``progress`` is called (from the solver's thread) with the search's state: see
    :func:`solve`. Returns the results and whether the user interrupted.
    """
    # a starting plan goes to a model already loaded (a persistent solver's)
    feeder = _feed_highs(opt, model, start) if start else []
    return run_interruptibly(lambda: opt.solve(model, **kwargs), opt, progress, feeder,
                             finish_first=finish_first)


def run_interruptibly(call: Callable[[], Any], opt: Any,
                      progress: Callable[[dict[str, Any]], None] | None = None,
                      subscribed: list | None = None, *,
                      finish_first: bool = False) -> tuple[Any, bool]:
    """``call()`` (a HiGHS solve) in a thread, so that Ctrl-C stops HiGHS cleanly.

    HiGHS runs in C++ and Python sees Ctrl-C only once it returns, so the solve runs in a
    worker thread while this (main) thread waits. On the first Ctrl-C HiGHS is asked to
    stop at its next check (between LP solves of the search); it returns its best plan so
    far, which is marked interrupted. A second Ctrl-C stops waiting. ``opt`` is the
    ``highspy.Highs`` that runs, or pyomo's persistent interface around it
    (:func:`loaded_highs`); ``subscribed``: (callback, function) pairs to take back afterwards.

    ``finish_first``: a short solve whose result would be lost if stopped (an LP: stopped,
    it has no solution) is let finish on the first Ctrl-C, and still marked interrupted;
    the second stops it, the third stops waiting.
    Returns what ``call`` returned and whether the user interrupted.
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["results"] = call()
        except BaseException as exc:  # re-raised in the calling thread
            outcome["error"] = exc
        finally:
            # as highspy's own threaded solve does: the scheduler is per thread
            import highspy

            highspy.Highs.resetThreadScheduler(False)
            done.set()

    # an Event, not Thread.join: a join interrupted by Ctrl-C can report a live thread dead
    done = threading.Event()
    thread = threading.Thread(target=target, name="netopt-highs", daemon=True)
    thread.start()
    interrupted, stopping = False, False
    stopper: list = []  # the callbacks subscribed, to take back afterwards
    watcher: list = []
    try:
        while True:
            try:
                if done.wait(0.1):
                    break
                if stopping and not stopper:
                    stopper = _stop_highs(opt)
                if progress is not None and not watcher:
                    watcher = _watch_highs(opt, progress)
            except KeyboardInterrupt:
                if stopping:
                    raise
                stopping = interrupted or not finish_first
                interrupted = True
                if stopping:
                    stopper = _stop_highs(opt)
    finally:
        for callback, function in stopper + watcher + (subscribed or []):
            callback.unsubscribe(function)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["results"], interrupted


def _stop_highs(opt: Any) -> list:
    """Make the running HiGHS stop at its next interrupt check; [] if it is not built yet.

    Returns the (callback, function) pairs subscribed; the interrupt callbacks are
    highspy's.
    """
    highs = loaded_highs(opt)
    if highs is None:
        return []

    def stop(event: Any) -> None:
        event.interrupt()

    subscribed = []
    for name in ("cbMipInterrupt", "cbSimplexInterrupt", "cbIpmInterrupt"):
        callback = getattr(highs, name, None)
        if callback is not None:
            callback.subscribe(stop)
            subscribed.append((callback, stop))
    return subscribed


def loaded_highs(opt: Any) -> Any | None:
    """The ``highspy.Highs`` behind ``opt``: pyomo's persistent HiGHS interface once it
    has built its instance (None before), or a ``highspy.Highs`` itself.

    pyomo keeps the instance and its maps as private attributes; this module's three
    accessors (with :func:`highs_columns` and :func:`highs_rows`) are the one place in
    netopt that reads them.
    """
    if opt is None:
        return None
    if hasattr(opt, "passModel"):  # a highspy.Highs already
        return opt
    return getattr(opt, "_solver_model", None)


def highs_columns(opt: Any) -> dict[int, int]:
    """HiGHS column index of each pyomo variable, by ``id``, in the model ``opt`` holds
    ({} before it holds one)."""
    return getattr(opt, "_pyomo_var_to_solver_var_map", None) or {}


def highs_rows(opt: Any) -> dict[Any, int]:
    """HiGHS row index of each pyomo constraint data object in the model ``opt`` holds
    ({} before it holds one)."""
    return getattr(opt, "_pyomo_con_to_solver_con_map", None) or {}


def holds_model(opt: Any, model: Any) -> bool:
    """Whether the persistent pyomo solver ``opt`` has ``model`` loaded already."""
    return opt is not None and getattr(opt, "_model", None) is model


def _feed_highs(opt: Any, model: Any, start: dict[int, float]) -> list:
    """Offer HiGHS a starting plan (values by ``id`` of pyomo variable) when it asks.

    Only for a persistent solver that holds ``model`` already: its map from pyomo
    variables to HiGHS columns (:func:`highs_columns`) places the values. HiGHS checks
    the plan and keeps it as its incumbent if it is feasible.
    """
    highs = loaded_highs(opt)
    columns = highs_columns(opt)
    if (highs is None or not columns or not holds_model(opt, model)
            or not hasattr(highs, "cbMipUserSolution")):
        return []
    import numpy as np

    values = np.zeros(highs.getNumCol())
    for var_id, column in columns.items():
        values[column] = start.get(var_id, 0.0) or 0.0
    given: list[bool] = []

    def offer(event: Any) -> None:
        if not given:
            given.append(True)
            event.data_in.user_has_solution = True
            event.data_in.setSolution(values)

    highs.cbMipUserSolution.subscribe(offer)
    return [(highs.cbMipUserSolution, offer)]


def _watch_highs(opt: Any, progress: Callable[[dict[str, Any]], None]) -> list:
    """Report the MIP search's state to ``progress``: at each better plan, else each second."""
    highs = loaded_highs(opt)
    if highs is None or not hasattr(highs, "cbMipImprovingSolution"):
        return []
    last = [-math.inf]

    def report(event: Any, improving: bool) -> None:
        out = event.data_out
        if not improving and out.running_time - last[0] < 1.0:
            return
        last[0] = out.running_time
        progress({"time_s": out.running_time, "objective": out.mip_primal_bound,
                  "bound": out.mip_dual_bound, "gap": out.mip_gap,
                  "nodes": float(out.mip_node_count), "improved": float(improving)})

    def on_solution(event: Any) -> None:
        report(event, True)

    def on_check(event: Any) -> None:
        report(event, False)

    highs.cbMipImprovingSolution.subscribe(on_solution)
    highs.cbMipInterrupt.subscribe(on_check)
    return [(highs.cbMipImprovingSolution, on_solution), (highs.cbMipInterrupt, on_check)]


class _DropInterruptWarning(logging.Filter):
    """pyomo warns of HiGHS's 'interrupted' status, which netopt handles (Ctrl-C)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "kInterrupt" not in record.getMessage()


logging.getLogger("pyomo.contrib.solver.solvers.highs").addFilter(_DropInterruptWarning())


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
    progress: Callable[[dict[str, Any]], None] | None = None,
    start: dict[int, float] | None = None,
    finish_on_interrupt: bool = False,
) -> SolveResult:
    """Solve ``nm.model`` in place; returns how it ended (:class:`SolveResult`).

    ``persistent`` is a pyomo HiGHS solver that has solved this model before and was told
    of every change since (``update_variables``/``update_parameters``): it is reused
    without rescanning the model. ``start`` (values by ``id`` of variable) is offered to
    HiGHS as a starting plan when ``persistent`` already holds the model.
    ``finish_on_interrupt``: the first Ctrl-C lets this solve finish (see
    :func:`run_interruptibly`); ``nm.interrupted`` is set all the same.
    """
    if all(v.fixed for v in nm.model.component_data_objects(pyo.Var)):
        # nothing to choose (a coalition with no supply and no facility of its own, say):
        # the solvers return no solution for an empty model, yet its cost is known
        cost = float(pyo.value(next(nm.model.component_data_objects(pyo.Objective,
                                                                    active=True))))
        return SolveResult(OPTIMAL, "nothing to choose", objective=cost, bound=cost, gap=0.0)
    if solver == "highs":
        return _run_highs(nm, time_limit=time_limit, mip_gap=mip_gap, threads=threads,
                          log=log, options=options, persistent=persistent,
                          progress=progress, start=start,
                          finish_on_interrupt=finish_on_interrupt)
    return _run_other_solver(nm, solver, time_limit=time_limit, log=log)


def _run_highs(nm: NetworkModel, *, time_limit: float | None, mip_gap: float,
               threads: int | None, log: bool, options: dict[str, Any] | None,
               persistent: Any, progress: Callable[[dict[str, Any]], None] | None,
               start: dict[int, float] | None, finish_on_interrupt: bool,
               ) -> SolveResult:
    """:func:`run_solver` with HiGHS, through pyomo's interface to highspy."""
    from pyomo.contrib.solver.common.factory import SolverFactory
    from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition

    model = nm.model
    opt = persistent if persistent is not None else SolverFactory("highs")
    if not opt.available():
        raise SolverError("HiGHS is not available: pip install highspy")
    # every option is set on each solve: a persistent HiGHS keeps what it was told
    solver_options = {"mip_rel_gap": mip_gap, "mip_abs_gap": 1e-6, "solver": "choose"}
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
    else:  # (solver options are set after pyomo's own, so this only clears an old one)
        solver_options.setdefault("time_limit", float("inf"))
    if threads is not None:
        kwargs["threads"] = int(threads)
    use_threads(None if threads is None else int(threads))
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
    clock = now()
    # HiGHS's run clock adds up over the runs of one instance (a persistent solver's)
    highs = loaded_highs(opt) if holds_model(opt, model) else None
    highs_before = highs.getRunTime() if highs is not None else 0.0
    results, interrupted = solve_interruptibly(opt, model, kwargs, progress, start,
                                                finish_first=finish_on_interrupt)
    nm.interrupted = nm.interrupted or interrupted
    tc = results.termination_condition
    has_solution = results.solution_status in (SolutionStatus.optimal,
                                               SolutionStatus.feasible)
    if has_solution:
        results.solution_loader.load_vars()
    objective = results.incumbent_objective
    bound = results.objective_bound
    objective = float(objective) if objective is not None else float("nan")
    if has_solution and persistent is not None:
        objective = plan_cost(nm, objective)
    bound = float(bound) if bound is not None else float("nan")
    if tc == TerminationCondition.convergenceCriteriaSatisfied and has_solution:
        status = OPTIMAL
    elif tc in (TerminationCondition.provenInfeasible,
                TerminationCondition.infeasibleOrUnbounded,
                TerminationCondition.locallyInfeasible):
        status = INFEASIBLE
    elif tc == TerminationCondition.interrupted or (
            interrupted and tc != TerminationCondition.maxTimeLimit):
        status = INTERRUPTED if has_solution else NO_SOLUTION
    elif has_solution:
        status = TIME_LIMIT
    else:
        status = NO_SOLUTION
    if status == OPTIMAL and not math.isfinite(bound):
        bound = objective
    termination = "interrupted" if interrupted and status in (
        INTERRUPTED, NO_SOLUTION) else tc.name
    # what the call spent outside HiGHS's own clock (its time limit): handing over a
    # starting plan, reading the values back (seconds, many at scale: BENCHMARKS.md,
    # 'Scale: 700, 3,000 and 10,000 dealers'); not on a first load (that would count
    # loading the model too)
    highs_s = getattr(results.timing_info, "highs_time", None)
    if highs is not None and highs_s is not None:
        nm.solve_overhead_s = max(nm.solve_overhead_s, now() - clock
                                  - (float(highs_s) - highs_before))
    return SolveResult(status, termination, objective, bound, relative_gap(objective, bound))


#: the largest relative difference between HiGHS's objective and the cost of the values
#: it hands back that is put down to rounding
PLAN_COST_TOLERANCE = 1e-6


def plan_cost(nm: NetworkModel, reported: float) -> float:
    """The objective (CNY) of the plan ``nm``'s variables hold, checked against the
    solver's ``reported`` objective for it.

    They agree but for rounding, and ``reported`` is returned. Where they do not, the
    solver handed back values other than its incumbent's (pyomo's persistent HiGHS once
    did, after a batch of bound changes): the plan held is what netopt extracts, so its
    own cost is returned, with a warning naming both.
    """
    objective = next(nm.model.component_data_objects(pyo.Objective, active=True))
    cost = float(pyo.value(objective.expr))
    if abs(cost - reported) <= PLAN_COST_TOLERANCE * max(1.0, abs(reported)):
        return reported
    warnings.warn(f"HiGHS reported an objective of CNY {reported:,.0f} for a plan that "
                  f"costs CNY {cost:,.0f}; the plan's own cost is used", RuntimeWarning,
                  stacklevel=2)
    return cost


def _run_other_solver(nm: NetworkModel, solver: str, *, time_limit: float | None,
                      log: bool) -> SolveResult:
    """:func:`run_solver` with any other MIP solver pyomo knows by name (cbc, glpk,
    gurobi, ...)."""
    model = nm.model
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
    return SolveResult(status, str(tc), objective, bound, relative_gap(objective, bound))


def binaries(model: pyo.ConcreteModel) -> list:
    """The model's free (not fixed) binary variables."""
    return [v for var in model.component_objects(pyo.Var) for v in var.values()
            if v.is_binary() and not v.fixed]


def model_rows(nm: NetworkModel) -> int:
    """Number of constraint rows of the model."""
    return sum(len(c) for c in nm.model.component_objects(pyo.Constraint, active=True))


@contextmanager
def binaries_relaxed(model: pyo.ConcreteModel) -> Iterator[list]:
    """The model with its free binaries fractional (in [0, 1]) for the ``with`` block,
    and binary again after it; yields them (a persistent solver that holds the model
    must be told of the change)."""
    free = binaries(model)
    for v in free:
        v.domain = pyo.UnitInterval
    try:
        yield free
    finally:
        for v in free:
            v.domain = pyo.Binary


@contextmanager
def binaries_fixed(nm: NetworkModel, chosen: Mapping[int, float], *,
                   persistent: Any = None) -> Iterator[None]:
    """The model with its free binaries in ``chosen`` (0/1 by ``id`` of variable) fixed
    for the ``with`` block, and free again after it.

    ``persistent`` (a pyomo HiGHS solver) is loaded with the model first if it is not
    yet, and told of the fixings; it is told they are gone at its next solve (each
    caller updates the binaries before solving).
    """
    m = nm.model
    free = binaries(m)
    if persistent is not None and not holds_model(persistent, m):
        persistent.set_instance(m)  # (loaded free: HiGHS keeps what is integer)
    fixed = [v for v in free if id(v) in chosen]
    for v in fixed:
        v.fix(chosen[id(v)])
    try:
        if holds_model(persistent, m):
            persistent.update_variables(free)
        yield
    finally:
        for v in fixed:
            v.unfix()


def model_values(nm: NetworkModel) -> dict[int, float]:
    """Every variable's value by ``id``: the plan the model holds."""
    return {id(v): v.value for var in nm.model.component_objects(pyo.Var)
            for v in var.values()}


def solve_fixed(nm: NetworkModel, chosen: Mapping[int, float], *, persistent: Any = None,
                threads: int | None = None, time_limit: float | None = None,
                finish_on_interrupt: bool = False,
                ) -> tuple[float, dict[int, float] | None]:
    """Objective (CNY; inf if none) and values of the model with the binaries in
    ``chosen`` (0/1 by ``id`` of variable) fixed: the flows of a plan of openings.

    ``persistent`` (a pyomo HiGHS solver) is loaded with the model first if it is not
    yet, and told of the fixings; the model is left as it was found
    (:func:`binaries_fixed`).
    ``finish_on_interrupt``: a first Ctrl-C lets the LP finish (:func:`run_solver`).
    """
    with binaries_fixed(nm, chosen, persistent=persistent):
        result = run_solver(nm, threads=threads, persistent=persistent,
                            time_limit=time_limit, finish_on_interrupt=finish_on_interrupt)
        if result.status not in (OPTIMAL, TIME_LIMIT):
            return float("inf"), None
        return result.objective, model_values(nm)


def load_values(nm: NetworkModel, values: dict[int, float]) -> None:
    """Put a stored plan's values back into the model's variables."""
    for var in nm.model.component_objects(pyo.Var):
        for v in var.values():
            if id(v) in values and not v.fixed:
                v.set_value(values[id(v)], skip_validation=True)
