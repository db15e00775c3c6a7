"""A multi-year case solved years apart: a proven bound from the years alone, and
plans from passes over the years, side by side on the machine's cores.

Dropping the rows that link the years (a facility stays open, a site never shrinks)
leaves one MIP per year; the sum of their proven bounds bounds the whole case
(:mod:`netopt.model.bounds`). A pass (:mod:`netopt.model.forward`) solves the years in
turn, each within what its neighbour opened: backward from the last year (each year
opens part of the next year's network) or forward from the first (each keeps what the
years before opened). Either is a plan of the whole case; the first year of a pass is
solved alone, so its bound serves the years' bound too.

The work runs in rounds on a pool of worker processes, one HiGHS thread each: a pass
is one task (its years depend on each other), each year's bound another. The first
round holds the years' MIPs to ``YearsPolicy.first_gap`` and runs one pass (forward:
``YearsPolicy.first_pass``); sites sized by the tonne are kept open from year to year
but sized by the LP over the whole case that costs each plan;
while time is left and the plan is not proven to ``mip_gap``, each later round divides
the gap by ``YearsPolicy.gap_divisor``, solves again the years whose bound is furthest
from their plan, and runs the other pass (second round) or the best plan's two-year
windows (:func:`netopt.model.forward.improve_year_by_year`, later rounds).
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import Any

from netopt.case import Case
from netopt.model.bounds import solve_year_alone
from netopt.model.build import build_model
from netopt.model.forward import improve_year_by_year, plan_values, year_by_year_plan
from netopt.model.highs import Budget, solve_fixed
from netopt.model.network import discount_factors, prepare
from netopt.plan import relative_gap
from netopt.pool import local_pool


class _InlineExecutor:
    """Runs each task as it is submitted: for a process that may not start workers
    (a daemonic one, such as a Dask worker's) or wants none."""

    def submit(self, function: Callable[..., Any], *args: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(function(*args))
        except Exception as exc:  # (re-raised by future.result())
            future.set_exception(exc)
        return future


@contextlib.contextmanager
def _pool(workers: int) -> Iterator[Any]:
    """``workers`` processes, or this one when it is one or may not start any."""
    if workers <= 1 or multiprocessing.current_process().daemon:
        yield _InlineExecutor()
    else:
        with local_pool(workers) as pool:
            yield pool


@dataclass(frozen=True)
class YearsPolicy:
    """How the years-apart solve spends its time."""

    #: relative gap of each year's MIP in the first round
    first_gap: float = 5e-3
    #: each later round's gap is the last one's divided by this
    gap_divisor: float = 4.0
    #: a year's MIP gets at least this many seconds (or what is left)
    min_year_seconds: float = 5.0
    #: ... and at most this many times its share of the time left
    year_share_factor: float = 2.0
    #: the first round's pass, "forward" or "backward" (the second round's is the other):
    #: forward is the better on the default case in both sizings (BENCHMARKS.md, 'Years
    #: apart: sites sized by the tonne, the years' bound and passes over the years')
    first_pass: str = "forward"


def _first_pass_backward(policy: YearsPolicy) -> bool:
    """Whether the first round's pass goes backward (else forward)."""
    return policy.first_pass == "backward"


def _plan_task(case: Case, plan: dict[str, Any] | None, time_limit: float | None,
               gap: float, round_number: int, backward_first: bool,
               ) -> dict[str, Any] | None:
    """The plan's task of a round (in a worker): the first pass, then the other one,
    then the best plan's two-year windows solved again; each plan costed in the whole
    case (its openings fixed, sizes and flows by an LP)."""
    # sites sized by the tonne: the passes keep a site open, and the LP sizes it
    keep_sizes = case.parameters.get("site_capacity") != "continuous"
    if round_number <= 2:
        backward = backward_first if round_number == 1 else not backward_first
        found = year_by_year_plan(case, time_limit=time_limit, mip_gap=gap, threads=1,
                                  backward=backward, keep_sizes=keep_sizes)
    elif plan is not None:
        found = improve_year_by_year(case, plan, time_limit=time_limit, mip_gap=gap,
                                     threads=1, keep_sizes=keep_sizes)
    else:
        return None
    if found is None:
        return None
    nm = build_model(prepare(case))
    cost, _values = solve_fixed(nm, plan_values(nm, found), threads=1)
    return {**found, "pass_objective": found["objective"], "objective": cost}


def _first_year_row(plan: dict[str, Any], factors: dict[int, float],
                    ) -> dict[str, Any] | None:
    """The bound's row of the pass's first year, when the pass solved that year alone
    (its bound then serves the years' bound), else None."""
    if plan.get("first_year_bound_cny") is None:
        return None
    first = plan["first_year"]
    row = plan["table"].set_index("year").loc[first]
    return {"year": first, "discount_factor": factors[first], "status": "plan",
            "objective_cny": float(row["objective_cny"]),
            "bound_cny": plan["first_year_bound_cny"], "seconds": float(row["seconds"])}


def _years_to_bound(round_number: int, years: list[int],
                    by_year: dict[int, dict[str, Any]], backward_first: bool) -> list[int]:
    """The years a round bounds: the first round every year but the pass's first (solved
    alone there); later rounds every year, furthest from its plan first."""
    if round_number == 1:
        return years[:-1] if backward_first else years[1:]
    return sorted(years, key=lambda y: by_year[y]["bound_cny"] - by_year[y]["objective_cny"])


def _year_limit(budget: Budget, policy: YearsPolicy, free_workers: int,
                waiting: int) -> float | None:
    """Seconds for a year's bound: up to ``policy.year_share_factor`` times its share of
    the time left among the years ``waiting`` (a year stopped early keeps a weak bound,
    one done early leaves its time to the rest), at least ``policy.min_year_seconds``."""
    left = budget.left()
    if left is None:
        return None
    share = left * free_workers / max(1, waiting)
    return max(1.0, min(policy.min_year_seconds, left),
               min(left, policy.year_share_factor * share))


def solve_years_apart(
    case: Case,
    *,
    time_limit: float | Budget | None,
    mip_gap: float = 1e-4,
    workers: int = 2,
    policy: YearsPolicy | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Bound and plan of a multi-year ``case`` from its years solved apart.

    ``time_limit`` (seconds of wall time, or a :class:`~netopt.model.highs.Budget`) for
    the whole; ``mip_gap``: stop once the plan
    is proven to this relative gap. ``workers`` processes run the tasks side by side.
    Returns ``plan`` (as :func:`netopt.model.forward.year_by_year_plan`'s, or None),
    ``objective`` (its cost, CNY, discounted), ``bound`` (the sum of the years' bounds,
    CNY; -inf until every year has one: no year starts once the time is spent, so a
    round cut short leaves the years it did not reach with their last bound), ``years``
    (by year: ``bound_cny``, ``objective_cny`` of the year alone, ``gap``, ``seconds``),
    ``trace`` (one (seconds, objective, bound) per change), ``rounds`` and
    ``interrupted`` (Ctrl-C).
    """
    policy = policy or YearsPolicy()
    years = list(case.years)
    factors = discount_factors(years, case.parameters["discount_rate"])
    budget = Budget.of(time_limit)
    best: dict[str, Any] = {"plan": None, "objective": math.inf}
    by_year: dict[int, dict[str, Any]] = {}
    trace: list[tuple[float, float, float]] = []

    def bound() -> float:
        if len(by_year) < len(years):
            return -math.inf
        return float(sum(row["bound_cny"] for row in by_year.values()))

    def note(phase: str) -> None:
        elapsed = budget.elapsed()
        trace.append((elapsed, best["objective"], bound()))
        if progress is not None:
            progress({"time_s": elapsed, "objective": best["objective"], "bound": bound(),
                      "gap": relative_gap(best["objective"], bound()), "nodes": 0.0,
                      "improved": 0.0, "phase": phase})

    def take_year(row: dict[str, Any], gap: float) -> None:
        old = by_year.get(row["year"])
        if old is None or row["bound_cny"] > old["bound_cny"]:
            by_year[row["year"]] = {**row, "gap": gap}

    def take_plan(plan: dict[str, Any] | None) -> None:
        if plan is None:
            return
        first_row = _first_year_row(plan, factors)
        if first_row is not None:
            take_year(first_row, plan.get("mip_gap", math.nan))
        if plan["objective"] < best["objective"]:
            best.update(plan=plan, objective=plan["objective"])

    def proven() -> bool:
        return relative_gap(best["objective"], bound()) <= mip_gap

    if multiprocessing.current_process().daemon:
        workers = 1
    workers = max(1, workers)
    backward_first = _first_pass_backward(policy)
    gap, rounds, interrupted = max(mip_gap, policy.first_gap), 0, False
    gap_at_floor, round_start = False, math.inf
    try:
        with _pool(workers) as pool:
            while True:
                rounds += 1
                # alone in this process, the pass leaves half the time to the bounds
                plan_limit = budget.share(0.5 if workers == 1 else 1.0, floor=1.0)
                plan_future: Future | None = pool.submit(
                    _plan_task, case, best["plan"], plan_limit, gap, rounds, backward_first)
                queue = [] if gap_at_floor else _years_to_bound(rounds, years, by_year,
                                                                backward_first)
                running: dict[Future, int] = {}
                while queue or running or plan_future is not None:
                    busy = len(running) + (plan_future is not None)
                    if budget.spent():
                        queue.clear()  # a year started now would outlive the limit
                    while queue and busy < workers:
                        year = queue.pop(0)
                        limit = _year_limit(budget, policy, workers - (plan_future is not None),
                                            len(queue) + 1 + len(running))
                        running[pool.submit(solve_year_alone, case, year, factors[year],
                                            limit, gap, 1)] = year
                        busy += 1
                    pending = set(running) | ({plan_future} if plan_future else set())
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        if future is plan_future:
                            plan_future = None
                            plan = future.result()
                            if plan is not None:
                                plan["mip_gap"] = gap
                            take_plan(plan)
                            first = years[-1] if backward_first else years[0]
                            if first not in by_year:  # no pass: bound its first year
                                queue.append(first)
                            note("years apart: plan")
                        else:
                            running.pop(future)
                            take_year(future.result(), gap)
                            note("years apart: bound")
                out_of_time = budget.spent(policy.min_year_seconds)
                # once the years hold mip_gap, the rounds go on while a pass improves the
                # plan (the second round's pass always runs: it starts from elsewhere)
                stalled = gap_at_floor and rounds >= 2 and best["objective"] >= round_start
                if proven() or out_of_time or stalled or not math.isfinite(bound()):
                    break
                gap_at_floor = gap <= mip_gap
                gap = max(mip_gap, gap / policy.gap_divisor)
                round_start = best["objective"]
    except KeyboardInterrupt:
        interrupted = True
    table = [by_year[y] for y in years if y in by_year]
    return {"plan": best["plan"], "objective": best["objective"], "bound": bound(),
            "years": table, "trace": trace, "rounds": rounds, "interrupted": interrupted,
            "seconds": budget.elapsed()}
