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
from their plan, and runs the other pass (second round, unless
``YearsPolicy.other_pass`` is off) or the best plan's two-year
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
from netopt.model.forward import (
    SitesRounding,
    improve_year_by_year,
    plan_values,
    year_by_year_plan,
)
from netopt.model.highs import Budget, solve_fixed
from netopt.model.network import discount_factors, prepare
from netopt.model.shrinks import Literal, SiteShrinks
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
    #: whether the second round's plan task runs the other pass (where it does not, its
    #: worker bounds the years instead); :func:`netopt.solve` turns it off where the
    #: neighbourhoods follow, which take the plan further from the first pass alone
    #: (BENCHMARKS.md, 'The sites' shrinks as disjunctions')
    other_pass: bool = True
    #: from this round on, where the sites are sized by the tonne, the bound's workers
    #: split the sites' shrinks (:mod:`netopt.model.shrinks`) instead of solving the
    #: years alone again at a tighter gap (0: never)
    shrinks_from_round: int = 3
    #: a year's solve for the shrinks gets at most this many seconds
    shrink_year_seconds: float = 120.0
    #: where the shrinks are split, the plan's task runs in at most this many rounds (its
    #: worker then splits shrinks too); None: in every round. The neighbourhoods that
    #: follow improve the plan more than the later rounds' windows (BENCHMARKS.md, 'The
    #: sites' shrinks as disjunctions')
    plan_rounds_with_shrinks: int | None = 2
    #: a year alone whose plan is still further than this (relative) from its bound
    #: once its MIP stops is solved next with the collection points' openings relaxed
    #: (:func:`netopt.model.bounds.solve_year_alone`), once: where HiGHS stays near
    #: the root of a year, that relaxation proves more in less time (BENCHMARKS.md,
    #: 'Scale: the collection points relaxed'); inf: never
    points_relaxed_above_gap: float = 0.02
    #: the passes' years too large for HiGHS to plan whole in their time take their
    #: sites from their LP (:class:`netopt.model.forward.SitesRounding`); None: never
    sites_rounding: SitesRounding | None = SitesRounding()
    #: a year alone whose model has more rows than this is bounded first by its LP (its
    #: MIP only in a later round): at 10,000 dealers a year's MIP takes minutes to
    #: bound what its LP bounds in seconds, and the years' bound needs every year
    #: (BENCHMARKS.md, 'Scale: 10,000 dealers, each year's sites from its LP'); None:
    #: never
    lp_first_above_rows: int | None = 40_000
    #: once the time is spent, a year with no bound yet is bounded by its LP in at most
    #: this many seconds (a few at 3,000 dealers) rather than by its MIP: without it the
    #: years have no bound at all (BENCHMARKS.md, 'Scale: every year bounded by the
    #: limit'); 0: never
    lp_floor_seconds: float = 60.0


def _first_pass_backward(policy: YearsPolicy) -> bool:
    """Whether the first round's pass goes backward (else forward)."""
    return policy.first_pass == "backward"


def _plan_task(case: Case, plan: dict[str, Any] | None, time_limit: float | None,
               gap: float, round_number: int, backward_first: bool,
               sites_rounding: SitesRounding | None = None) -> dict[str, Any] | None:
    """The plan's task of a round (in a worker): the first pass, then the other one,
    then the best plan's two-year windows solved again; each plan costed in the whole
    case (its openings fixed, sizes and flows by an LP)."""
    # sites sized by the tonne: the passes keep a site open, and the LP sizes it
    keep_sizes = case.parameters.get("site_capacity") != "continuous"
    if round_number <= 2:
        backward = backward_first if round_number == 1 else not backward_first
        found = year_by_year_plan(case, time_limit=time_limit, mip_gap=gap, threads=1,
                                  backward=backward, keep_sizes=keep_sizes,
                                  sites_rounding=sites_rounding)
    elif plan is not None:
        found = improve_year_by_year(case, plan, time_limit=time_limit, mip_gap=gap,
                                     threads=1, keep_sizes=keep_sizes,
                                     sites_rounding=sites_rounding)
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
            "bound_cny": plan["first_year_bound_cny"], "seconds": float(row["seconds"]),
            "site_sizes_t_per_yr": dict(plan["sizes"].get(first, {}))}


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


class _YearsApart:
    """The state of one :func:`solve_years_apart`: the best plan, each year's best
    bound alone, the sites' shrinks, and the trace."""

    def __init__(self, case: Case, budget: Budget, mip_gap: float, policy: YearsPolicy,
                 progress: Callable[[dict[str, Any]], None] | None) -> None:
        self.case, self.budget, self.mip_gap, self.policy = case, budget, mip_gap, policy
        self.progress = progress
        self.years = list(case.years)
        self.factors = discount_factors(self.years, case.parameters["discount_rate"])
        self.best: dict[str, Any] = {"plan": None, "objective": math.inf}
        self.by_year: dict[int, dict[str, Any]] = {}
        self.trace: list[tuple[float, float, float]] = []
        by_tonne = (case.parameters.get("site_capacity") == "continuous"
                    and policy.shrinks_from_round > 0)
        self.shrinks = SiteShrinks(self.years) if by_tonne else None
        self.shrink_gap = math.nan  # the years' gap when the shrinks start
        self.points_relaxed: set[int] = set()  # years given their relaxed solve
        self.plan_task_s = 0.0  # wall seconds of the longest plan's task so far

    def years_bound(self) -> float:
        if len(self.by_year) < len(self.years):
            return -math.inf
        return float(sum(row["bound_cny"] for row in self.by_year.values()))

    def bound(self) -> float:
        years = self.years_bound()
        if self.shrinks is None or not self.shrinks.shrinks:
            return years
        return max(years, self.shrinks.bound()[0])

    def note(self, phase: str) -> None:
        elapsed, bound = self.budget.elapsed(), self.bound()
        self.trace.append((elapsed, self.best["objective"], bound))
        if self.progress is not None:
            self.progress({"time_s": elapsed, "objective": self.best["objective"],
                           "bound": bound, "gap": relative_gap(self.best["objective"], bound),
                           "nodes": 0.0, "improved": 0.0, "phase": phase})

    def take_year(self, row: dict[str, Any], gap: float,
                  literals: frozenset[Literal] = frozenset()) -> None:
        if self.shrinks is not None and "site_sizes_t_per_yr" in row \
                and not row.get("relaxed"):
            self.shrinks.add(row["year"], literals, row["bound_cny"],
                             row["site_sizes_t_per_yr"], row["objective_cny"])
        if literals:
            return
        old = self.by_year.get(row["year"])
        if row.get("points_relaxed") and old is not None:
            # a relaxation's bound, and no plan: the year keeps its plan's cost and gap
            if row["bound_cny"] > old["bound_cny"]:
                old.update(bound_cny=row["bound_cny"], points_relaxed=True)
            return
        if old is None or row["bound_cny"] > old["bound_cny"]:
            self.by_year[row["year"]] = {k: v for k, v in row.items()
                                         if k != "site_sizes_t_per_yr"} | {"gap": gap}

    def years_to_relax(self) -> set[int]:
        """The years alone whose plan is still further than
        ``policy.points_relaxed_above_gap`` from their bound, and not yet solved with the
        collection points relaxed."""
        return {year for year, row in self.by_year.items()
                if year not in self.points_relaxed
                and math.isfinite(row["objective_cny"]) and math.isfinite(row["bound_cny"])
                and relative_gap(row["objective_cny"], row["bound_cny"])
                > self.policy.points_relaxed_above_gap}

    def take_plan(self, plan: dict[str, Any] | None) -> None:
        if plan is None:
            return
        first_row = _first_year_row(plan, self.factors)
        if first_row is not None:
            self.take_year(first_row, plan.get("mip_gap", math.nan))
        if plan["objective"] < self.best["objective"]:
            self.best.update(plan=plan, objective=plan["objective"])

    def proven(self) -> bool:
        return relative_gap(self.best["objective"], self.bound()) <= self.mip_gap

    def years_gap(self) -> float:
        """The tightest gap the years alone have been solved to (their shrinks' gap)."""
        return min((row["gap"] for row in self.by_year.values()), default=self.mip_gap)

    def shrinking(self, round_number: int) -> bool:
        """Whether this round's bound splits the sites' shrinks."""
        return (self.shrinks is not None and round_number >= self.policy.shrinks_from_round
                and self.shrinks.ready())

    def bound_first_year(self, queue: list[tuple[int, frozenset[Literal]]],
                         running: dict[Future, tuple[int, frozenset[Literal]]],
                         backward_first: bool) -> None:
        """Queue the pass's first year alone unless it is bounded, queued or running
        (the pass bounds it where it solves it whole)."""
        first = self.years[-1] if backward_first else self.years[0]
        task: tuple[int, frozenset[Literal]] = (first, frozenset())
        if task[0] not in self.by_year and task not in queue \
                and task not in running.values():
            queue.append(task)

    def unbounded(self, queue: list[tuple[int, frozenset[Literal]]],
                  running: dict[Future, tuple[int, frozenset[Literal]]],
                  ) -> list[tuple[int, frozenset[Literal]]]:
        """The years of ``queue`` alone with no bound yet, none of them running (where
        the time is spent: their LPs are the years' bound's last floor)."""
        if self.policy.lp_floor_seconds <= 0:
            return []
        started = {year for year, literals in running.values() if not literals}
        return [task for task in queue if not task[1] and task[0] not in self.by_year
                and task[0] not in started]

    def submit_year(self, pool: Any, task: tuple[int, frozenset[Literal]], gap: float,
                    limit: float | None, relax: bool = False, lp: bool = False) -> Future:
        """Start ``task`` (a year alone, or one of its shrinks) in ``pool``: as its LP
        where ``lp`` (in at most ``policy.lp_floor_seconds``), or where the year is large
        and not yet bounded; with the collection points relaxed where ``relax``."""
        year, literals = task
        if lp:
            return pool.submit(solve_year_alone, self.case, year, self.factors[year],
                               self.policy.lp_floor_seconds, gap, 1, None, False, 0)
        if not literals:
            if relax:
                self.points_relaxed.add(year)
            lp_rows = self.policy.lp_first_above_rows if year not in self.by_year else None
            return pool.submit(solve_year_alone, self.case, year, self.factors[year], limit,
                               gap, 1, None, relax, lp_rows)
        assert self.shrinks is not None
        if limit is not None:
            limit = min(limit, self.policy.shrink_year_seconds)
        return pool.submit(solve_year_alone, self.case, year, self.factors[year], limit,
                           self.shrink_gap, 1, self.shrinks.size_bounds(literals))

    def run_round(self, pool: Any, workers: int, round_number: int, gap: float,
                  backward_first: bool, plan_task: bool, years_again: bool) -> None:
        """One round: the plan's task (``plan_task``) beside the bound's: each year alone
        at ``gap`` (``years_again``), or the sites' shrinks while the plan's task runs
        (or, with no plan's task, until they need nothing more)."""
        budget, policy = self.budget, self.policy
        # alone in this process, the pass leaves half the time to the bounds
        plan_future: Future | None = None
        left = budget.left()
        if left is not None and left < self.plan_task_s:
            # a task as long as the last would outlive the limit: its worker bounds
            plan_task = False
        plan_started = Budget()
        if plan_task:
            plan_future = pool.submit(_plan_task, self.case, self.best["plan"],
                                      budget.share(0.5 if workers == 1 else 1.0, floor=1.0),
                                      gap, round_number, backward_first,
                                      policy.sites_rounding)
        shrinking = self.shrinking(round_number)
        queue: list[tuple[int, frozenset[Literal]]] = []
        relax: set[int] = set()
        if years_again and not shrinking:
            queue = [(y, frozenset()) for y in _years_to_bound(
                round_number, self.years, self.by_year, backward_first)]
            relax = self.years_to_relax() if round_number >= 2 else set()
        running: dict[Future, tuple[int, frozenset[Literal]]] = {}
        while True:
            busy = len(running) + (plan_future is not None)
            floors = budget.spent()
            if floors:  # a MIP started now would outlive the limit
                queue = self.unbounded(queue, running)
            elif shrinking and not queue and busy < workers and self.shrinks is not None:
                queue = self.shrinks.next_solves(set(running.values()))
                shrinking = plan_future is not None or bool(queue)
            while queue and busy < workers:
                task = queue.pop(0)
                limit = _year_limit(budget, policy, workers - (plan_future is not None),
                                    len(queue) + 1 + len(running))
                relaxed = not floors and not task[1] and task[0] in relax
                relax.discard(task[0])
                running[self.submit_year(pool, task, gap, limit, relaxed, floors)] = task
                busy += 1
            pending = set(running) | ({plan_future} if plan_future else set())
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                if future is plan_future:
                    plan_future = None
                    self.plan_task_s = max(self.plan_task_s, plan_started.elapsed())
                    plan = future.result()
                    if plan is not None:
                        plan["mip_gap"] = gap
                    self.take_plan(plan)
                    self.bound_first_year(queue, running, backward_first)
                    self.note("years apart: plan")
                else:
                    task = running.pop(future)
                    row = future.result()
                    self.take_year(row, gap, task[1])
                    if row.get("relaxed") and round_number == 1:
                        # large years: the pass holds its first year's sites and so
                        # bounds nothing there
                        self.bound_first_year(queue, running, backward_first)
                    if not task[1] and not row.get("points_relaxed") \
                            and task[0] in self.years_to_relax():
                        # its relaxation next in this round, once every year has a bound
                        # (the years' bound needs them all)
                        if len(self.by_year) == len(self.years):
                            queue.insert(0, task)
                        else:
                            queue.append(task)
                        relax.add(task[0])
                    self.note("years apart: the sites' shrinks" if task[1]
                              else "years apart: bound, the collection points relaxed"
                              if row.get("points_relaxed")
                              else "years apart: bound, its LP" if row.get("relaxed")
                              else "years apart: bound")


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
    ``objective`` (its cost, CNY, discounted), ``bound`` (CNY: the sum of the years'
    bounds, or the sites' shrinks' where higher; -inf until every year has one: no
    year's MIP starts once the time is spent, so a round cut short leaves the years it
    did not reach with their last bound, and one with none yet with its LP's, in at most
    ``policy.lp_floor_seconds`` past the limit), ``years``
    (by year: ``bound_cny``, ``objective_cny`` of the year alone, ``gap``, ``seconds``),
    ``site_shrinks`` (:meth:`netopt.model.shrinks.SiteShrinks.record`, or None),
    ``shrinks_state`` (the :class:`~netopt.model.shrinks.SiteShrinks` to go on with, once
    every year has been solved alone; else None) and ``shrinks_gap`` (its years' gap),
    ``trace`` (one (seconds, objective, bound) per change), ``rounds`` and
    ``interrupted`` (Ctrl-C).
    """
    policy = policy or YearsPolicy()
    state = _YearsApart(case, Budget.of(time_limit), mip_gap, policy, progress)
    if multiprocessing.current_process().daemon:
        workers = 1
    workers = max(1, workers)
    backward_first = _first_pass_backward(policy)
    gap, rounds, interrupted = max(mip_gap, policy.first_gap), 0, False
    gap_at_floor, round_start, plan_stalled = False, math.inf, False
    try:
        with _pool(workers) as pool:
            while True:
                rounds += 1
                if state.shrinking(rounds) and math.isnan(state.shrink_gap):
                    state.shrink_gap = state.years_gap()
                limit = policy.plan_rounds_with_shrinks
                if state.shrinking(rounds) and limit is not None and rounds > limit:
                    plan_stalled = True
                plan_task = not plan_stalled and (rounds != 2 or policy.other_pass)
                state.run_round(pool, workers, rounds, gap, backward_first,
                                plan_task=plan_task, years_again=not gap_at_floor)
                out_of_time = state.budget.spent(policy.min_year_seconds)
                # once the years hold mip_gap, the rounds go on while a pass improves the
                # plan (the second round's pass always runs: it starts from elsewhere)
                plan_stalled = plan_stalled or (
                    gap_at_floor and rounds >= 2 and state.best["objective"] >= round_start)
                if state.proven() or out_of_time or not math.isfinite(state.bound()):
                    break
                if plan_stalled and not (state.shrinking(rounds + 1) and state.shrinks
                                         is not None and state.shrinks.next_solves()):
                    break
                gap_at_floor = gap <= mip_gap
                gap = max(mip_gap, gap / policy.gap_divisor)
                round_start = state.best["objective"]
    except KeyboardInterrupt:
        interrupted = True
    table = [state.by_year[y] for y in state.years if y in state.by_year]
    record = state.shrinks.record() if state.shrinks is not None else None
    return {"plan": state.best["plan"], "objective": state.best["objective"],
            "bound": state.bound(), "years": table, "trace": state.trace, "rounds": rounds,
            "interrupted": interrupted, "seconds": state.budget.elapsed(),
            "site_shrinks": record if record is not None and record["shrinks"] else None,
            "shrinks_state": state.shrinks if state.shrinks is not None
            and state.shrinks.ready() else None,
            "shrinks_gap": state.shrink_gap if not math.isnan(state.shrink_gap)
            else state.years_gap()}
