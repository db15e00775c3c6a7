"""Solve the network MIP with HiGHS (through highspy, via pyomo) and return a Plan.

Pipeline: validate (the Case) -> prepare (arcs, distances) -> build -> solve -> extract.
The solver's termination condition is kept apart from whether a solution exists: a
plan stopped by the time limit says so (``status="time_limit"``, with its gap) in
every output; an infeasible case gets an explanation from the elastic model.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pyomo.environ as pyo

from netopt.case import Case
from netopt.model.bounds import year_relaxation_bound
from netopt.model.build import NetworkModel, build_model
from netopt.model.checks import presolve_checks
from netopt.model.decompose import YearsPolicy, solve_years_apart
from netopt.model.explain import explain_infeasibility
from netopt.model.extract import extract_plan
from netopt.model.forward import plan_values
from netopt.model.heuristic import lp_rounding, relaxes_by_year
from netopt.model.highs import (
    Budget,
    SolveResult,
    binaries,
    holds_model,
    load_values,
    model_rows,
    run_solver,
    solve_fixed,
)
from netopt.model.neighbourhood import MIN_STEP_SECONDS, improve_by_neighbourhoods
from netopt.model.network import prepare
from netopt.model.shrinks import SiteShrinks, shrinks_beside
from netopt.model.site_moves import improve_by_site_moves
from netopt.model.starts import GivenPlan, given_start
from netopt.plan import (
    INFEASIBLE,
    INTERRUPTED,
    NO_SOLUTION,
    OPTIMAL,
    TIME_LIMIT,
    Plan,
    relative_gap,
)


@dataclass(frozen=True)
class SolvePolicy:
    """How :func:`solve` shares its time among its stages, and when it builds a starting
    plan. Every share is of the time left when the stage starts; the defaults are the
    measured ones (BENCHMARKS.md, each in the section named)."""

    #: Models with fewer free binaries than this are left to the MIP search alone ...
    heuristic_min_binaries: int = 500
    #: ... unless they have at least this many rows: there each of HiGHS's LPs is slow,
    #: and a starting plan lets it fix columns by reduced cost and restart early
    #: ('With a starting plan', in the OR-Library section).
    heuristic_min_rows: int = 50_000
    #: Share the LP rounding's search may use (the MIP search gets the rest) ...
    heuristic_time_share: float = 0.5
    #: ... on models whose relaxation is taken year by year: there HiGHS's search has not
    #: improved on the starting plan, while each rounded plan solved could ('Scale: 700,
    #: 3,000 and 10,000 dealers') ...
    heuristic_time_share_large: float = 0.85
    #: ... and the share by which its relaxation and first rounded plan must be done,
    #: even past the first share: at scale the relaxation alone can take all of it.
    first_plan_time_share: float = 0.85
    #: Seconds kept back for extracting the plan, per second that preparing and building
    #: the model took: extraction grows with the build ('The time limit counts from the
    #: call').
    extract_reserve: float = 0.75
    #: Seconds that loading the whole model into HiGHS takes, per second that preparing
    #: and building it took: a fallback (the LP rounding after years apart that found no
    #: plan, or a search with no plan to start from and the model not yet loaded) does
    #: not start with less time left, since the load alone would overrun the limit
    #: ('Scale: years apart at 10,000 dealers'); nor does a search from a starting plan,
    #: whose hand-over and read-back take about as long ('Scale: every year bounded by
    #: the limit').
    load_per_build: float = 1.5
    #: Share a multi-year case's years solved apart may use
    #: (:mod:`netopt.model.decompose`); the search on the whole model gets the rest ...
    years_apart_time_share: float = 0.85
    #: ... or this share where the neighbourhoods follow: past its first round the
    #: years' bound gains less than the neighbourhoods gain on the plan
    #: ('Neighbourhoods over every year').
    years_apart_time_share_before_neighbourhoods: float = 0.5
    #: Share of the time left after the years apart that the neighbourhoods
    #: (:mod:`netopt.model.neighbourhood`) may use; the search on the whole model gets
    #: the rest ...
    neighbourhood_time_share: float = 0.9
    #: ... on models of at most these rows: at 3,000 dealers (188,878 rows) the sites'
    #: step does not close and the years' bound loses more than the plan gains
    #: (BENCHMARKS.md, 'Scale: years apart at 3,000 dealers').
    neighbourhood_max_rows: int = 100_000
    #: ... and where the time limit leaves them at least these seconds: the dismantling
    #: sites' step alone needs most of them on the default case, and a shorter limit (a
    #: coalition's in the savings game) keeps its time for the years apart
    #: ('Neighbourhoods over every year').
    neighbourhood_min_seconds: float = 100.0
    #: ... and whose sites are sized thus (``site_capacity``): in modules the sites' step
    #: does not close in the time, and the years apart lose more bound than the plan
    #: gains ('Neighbourhoods over every year').
    neighbourhood_sizings: tuple[str, ...] = ("continuous",)
    #: Share of the time left after the years apart that moving the plan's sites'
    #: opening years (:mod:`netopt.model.site_moves`) may use on models of more than
    #: ``neighbourhood_max_rows`` rows, where the neighbourhoods do not apply; the search
    #: gets the rest. At 3,000 dealers the search from the years' plan improved nothing
    #: in its 120 s; the moves gain 3.1 M in 20 s, and end their sweeps in 65 s ('The
    #: moves on the default path'). 0: no moves.
    site_moves_time_share: float = 1.0
    #: While the neighbourhoods search (one core), a worker process goes on with the
    #: years' bound on a second core: first the years alone held looser than the years
    #: apart's last gap, then the sites' shrinks that the years apart began
    #: ('The sites' shrinks as disjunctions').
    shrinks_beside_neighbourhoods: bool = True
    #: ... where the neighbourhoods get at least these seconds: fewer leave no year
    #: solved (a year alone takes 15-60 s on the default case), and the process slows
    #: the neighbourhoods' search a little (at 300 s, the sites' step took 105-110 s
    #: beside it instead of 85).
    shrinks_beside_min_seconds: float = 60.0
    #: how the years apart spend their time (:class:`netopt.model.decompose.YearsPolicy`)
    years_policy: YearsPolicy = YearsPolicy()
    #: Whether the years apart run their second pass (``YearsPolicy.other_pass``) where
    #: the neighbourhoods follow: on the default case it never beat the first pass's plan
    #: (backward: -1,556.7 M against forward's -1,560.2 M, 'Years apart'), and its worker
    #: bounds the years instead ('The sites' shrinks as disjunctions').
    other_pass_before_neighbourhoods: bool = False
    #: Models with more rows than this get no years-apart plan: each year would be a MIP
    #: too large for its share of the limit. 3,000 dealers (189,000 rows) are solved years
    #: apart, and so are 10,000 (620,000), each year's sites from its LP
    #: (``YearsPolicy.sites_rounding``; 'Scale: 10,000 dealers, each year's sites from
    #: its LP').
    year_by_year_max_rows: int = 1_000_000
    #: Each year of ``year_bound`` stops at this share of the plan's gap, at most
    #: ``year_gap_cap``: a year closed further would not move the plan's gap, and one
    #: held looser leaves its time to the others ('A stronger bound: each year on its
    #: own').
    year_gap_share: float = 0.1
    year_gap_cap: float = 0.01


DEFAULT_POLICY = SolvePolicy()


def _free_binaries(nm: NetworkModel, at_most: int) -> int:
    """Number of free (not fixed) binaries of ``nm``, counted up to ``at_most``."""
    count = 0
    for var in nm.model.component_objects(pyo.Var):
        for v in var.values():
            if v.is_binary() and not v.fixed:
                count += 1
                if count >= at_most:
                    return count
    return count


def _starting_plan_pays(nm: NetworkModel, rows: int, policy: SolvePolicy) -> bool:
    """Whether to build a starting plan: enough free binaries for the MIP search to
    need one, or a few on a model large enough (``rows``) that each of the search's LPs
    is slow (``policy``)."""
    free = _free_binaries(nm, policy.heuristic_min_binaries)
    return free >= policy.heuristic_min_binaries or (
        free > 0 and rows >= policy.heuristic_min_rows)


#: ``plan.termination`` of a starting plan within ``mip_gap`` of the relaxation's bound.
PROVEN_BY_RELAXATION = "starting plan within mip_gap of the relaxation's bound"
#: ``plan.termination`` of a plan of the years solved apart within ``mip_gap`` of the
#: sum of the years' bounds.
PROVEN_BY_YEARS = "plan within mip_gap of the years' bound"
#: ``plan.termination`` when the time left could not even load the model into HiGHS.
TOO_LATE_TO_LOAD = "time limit reached before the model could be loaded into the solver"
#: ``plan.termination`` of a starting plan reported as it stands: too little time was left
#: for a search to get past handing it over and reading it back.
TOO_LATE_TO_SEARCH = "time limit reached before a search could start from the starting plan"


def _proven_by_relaxation(rounded: dict[str, Any] | None, mip_gap: float) -> bool:
    """Whether the starting plan ``rounded`` is within ``mip_gap`` (relative) of its
    relaxation's bound, a lower bound on every plan's cost: then it is optimal to that
    gap as it stands."""
    return rounded is not None and relative_gap(rounded["objective"],
                                                 rounded["bound"]) <= mip_gap


def with_starting_plan(result: SolveResult, rounded: dict[str, Any],
                       ) -> tuple[SolveResult, bool]:
    """The search's ``result`` completed by the starting plan ``rounded``; and whether
    the rounded plan is the one to report (the search stopped with nothing better).

    The bound is the higher of the search's and the relaxation's: a search stopped early
    at scale may not have finished its own root relaxation, and its bound is then far
    weaker than the one the starting plan already proved.
    """
    stopped = result.status in (TIME_LIMIT, NO_SOLUTION, INTERRUPTED)
    take_rounded = stopped and (not math.isfinite(result.objective)
                                or rounded["objective"] < result.objective)
    if take_rounded:
        result = result.but(objective=rounded["objective"], status=INTERRUPTED
                            if result.status == INTERRUPTED else TIME_LIMIT)
    if stopped and math.isfinite(rounded["bound"]) and (
            not math.isfinite(result.bound) or rounded["bound"] > result.bound):
        result = result.but(bound=rounded["bound"])
    return result.but(gap=relative_gap(result.objective, result.bound)), take_rounded


def year_by_year_applies(case: Case, rows: int, policy: SolvePolicy = DEFAULT_POLICY,
                         ) -> bool:
    """A year-by-year plan needs years to go by, no opening budget over all of them
    (each year alone would spend the whole budget), and a model of at most
    ``policy.year_by_year_max_rows`` rows."""
    return (len(case.years) > 1 and rows <= policy.year_by_year_max_rows
            and not math.isfinite(case.parameters["opening_budget_cny"]))


def solves_years_apart(case: Case, nm: NetworkModel,
                       policy: SolvePolicy = DEFAULT_POLICY) -> bool:
    """Whether :func:`solve` (with HiGHS) starts ``case``, built as ``nm``, from its years
    solved apart (:mod:`netopt.model.decompose`): a model whose search needs a starting
    plan, over several years with no opening budget over all of them."""
    rows = model_rows(nm)
    return _starting_plan_pays(nm, rows, policy) and year_by_year_applies(case, rows, policy)


def _year_by_year_start(case: Case, nm: NetworkModel, persistent: Any, *,
                        budget: Budget, policy: SolvePolicy, neighbourhoods: bool,
                        mip_gap: float,
                        threads: int | None,
                        progress: Callable[[dict[str, Any]], None] | None,
                        ) -> dict[str, Any] | None:
    """The years solved apart (:mod:`netopt.model.decompose`: the years' bound and the
    forward pass, side by side): their plan as a plan of the whole model ``nm`` (its
    openings fixed, the flows re-optimised), with the years' bound. None if no plan.
    ``neighbourhoods``: whether the neighbourhoods follow (the years then get a smaller
    share of ``budget``)."""
    workers = max(1, threads if threads is not None else (os.cpu_count() or 1))
    seconds = budget.share(policy.years_apart_time_share_before_neighbourhoods
                           if neighbourhoods else policy.years_apart_time_share)
    years_policy = policy.years_policy
    if neighbourhoods and not policy.other_pass_before_neighbourhoods:
        years_policy = dataclasses.replace(years_policy, other_pass=False)
    apart = solve_years_apart(case, time_limit=seconds, mip_gap=mip_gap, workers=workers,
                              policy=years_policy, progress=progress)
    nm.interrupted = nm.interrupted or apart["interrupted"]
    if apart["plan"] is None:
        return None
    # the years' work is in this LP's flows: a first Ctrl-C lets it finish (a few
    # seconds) rather than lose the plan
    objective, values = solve_fixed(nm, plan_values(nm, apart["plan"]), persistent=persistent,
                                    threads=threads, time_limit=budget.left(1.0),
                                    finish_on_interrupt=True)
    if values is None:
        return None
    seconds = budget.elapsed()
    trace = [*apart["trace"], (seconds, objective, apart["bound"])]
    if progress is not None:
        progress({"time_s": seconds, "objective": objective, "bound": apart["bound"],
                  "gap": relative_gap(objective, apart["bound"]), "nodes": 0.0,
                  "improved": 1.0, "phase": "years apart: plan of the whole model"})
    record = {"bound_cny": apart["bound"], "rounds": apart["rounds"],
              "seconds": seconds, "years": apart["years"],
              "site_shrinks": apart["site_shrinks"],
              "trace": [{"seconds": t, "objective_cny": o, "bound_cny": b}
                        for t, o, b in trace]}
    return {**apart["plan"], "objective": objective, "values": values,
            "bound": apart["bound"], "method": "years_apart", "years_apart": record,
            "shrinks": (apart["shrinks_state"], apart["shrinks_gap"])}


def _neighbourhoods_apply(case: Case, rows: int, budget: Budget, policy: SolvePolicy,
                          ) -> bool:
    """Whether the years-apart plan of ``case`` (a model of ``rows`` rows) goes on to the
    neighbourhoods: sites sized as ``policy.neighbourhood_sizings`` says, at most
    ``policy.neighbourhood_max_rows`` rows, and ``budget`` leaves them at least
    ``policy.neighbourhood_min_seconds`` after the years apart."""
    left = budget.left()
    share = (1.0 - policy.years_apart_time_share_before_neighbourhoods) \
        * policy.neighbourhood_time_share
    sizing = case.parameters.get("site_capacity", "modules")
    return (policy.neighbourhood_time_share > 0 and sizing in policy.neighbourhood_sizings
            and rows <= policy.neighbourhood_max_rows
            and (left is None or share * left >= policy.neighbourhood_min_seconds))


def _trace_with(record: dict[str, Any], improvements: list[dict[str, Any]],
                bound: float) -> list[dict[str, Any]]:
    """The years apart's trace (``record["trace"]``) followed by one row per improvement
    of their plan (each with ``ended_s``, seconds since it began, and ``objective_cny``),
    at ``bound`` (CNY)."""
    return record["trace"] + [
        {"seconds": record["seconds"] + row["ended_s"], "objective_cny": row["objective_cny"],
         "bound_cny": bound} for row in improvements]


def _site_moves_apply(case: Case, rows: int, policy: SolvePolicy) -> bool:
    """Whether the years-apart plan of ``case`` (a model of ``rows`` rows) goes on to the
    sites' moves: sites sized by the tonne, a model too large for the neighbourhoods."""
    return (policy.site_moves_time_share > 0 and rows > policy.neighbourhood_max_rows
            and case.parameters.get("site_capacity", "modules") == "continuous")


def _site_moves_start(nm: NetworkModel, forward: dict[str, Any], persistent: Any, *,
                      budget: Budget, policy: SolvePolicy, mip_gap: float,
                      progress: Callable[[dict[str, Any]], None] | None,
                      ) -> dict[str, Any]:
    """The years-apart plan ``forward`` improved by moving its sites' opening years
    (:mod:`netopt.model.site_moves`) in ``policy.site_moves_time_share`` of the time
    left; as it was if it is proven already."""
    if nm.interrupted or relative_gap(forward["objective"], forward["bound"]) <= mip_gap:
        return forward
    moved = improve_by_site_moves(nm, forward, persistent,
                                  time_limit=budget.share(policy.site_moves_time_share),
                                  bound=forward["bound"], progress=progress)
    record = forward["years_apart"]
    trace = _trace_with(record, moved["site_moves"], forward["bound"])
    return {**moved, "years_apart": {**record, "trace": trace},
            "year_by_year_objective": forward.get("year_by_year_objective",
                                                  forward["objective"])}


def _neighbourhood_start(case: Case, nm: NetworkModel, forward: dict[str, Any],
                         persistent: Any, *, budget: Budget, policy: SolvePolicy,
                         mip_gap: float, threads: int | None,
                         progress: Callable[[dict[str, Any]], None] | None,
                         ) -> dict[str, Any]:
    """The years-apart plan ``forward`` improved by one kind of facility at a time over
    every year (:mod:`netopt.model.neighbourhood`), in ``policy.neighbourhood_time_share``
    of the time left; as it was if it is proven already, or there is no time left.
    Meanwhile a worker process goes on splitting the sites' shrinks
    (:func:`netopt.model.shrinks.shrinks_beside`) where the years apart began them and
    a second core is free: the neighbourhoods' search leaves it idle."""
    if nm.interrupted or relative_gap(forward["objective"], forward["bound"]) <= mip_gap:
        return forward
    seconds = budget.share(policy.neighbourhood_time_share)
    if seconds is not None and seconds < MIN_STEP_SECONDS:
        return forward
    shrinks, shrinks_gap = forward.get("shrinks", (None, mip_gap))
    cores = threads if threads is not None else (os.cpu_count() or 1)
    beside = (shrinks is not None and policy.shrinks_beside_neighbourhoods and cores >= 2
              and (seconds is None or seconds >= policy.shrinks_beside_min_seconds))
    watch = Budget()
    with (shrinks_beside(case, shrinks, mip_gap=shrinks_gap, budget=Budget(seconds),
                         year_seconds=policy.years_policy.shrink_year_seconds)
          if beside else contextlib.nullcontext(None)) as latest:
        improved = improve_by_neighbourhoods(nm, forward, persistent, time_limit=seconds,
                                             mip_gap=mip_gap, threads=threads,
                                             bound=forward["bound"], progress=progress)
        shrinks = latest() if latest is not None else shrinks
    record = forward["years_apart"]
    if beside and shrinks is not None:
        record = _record_with_shrinks(record, shrinks)
    bound = max(forward["bound"], record["bound_cny"])
    trace = _trace_with(record, [step for step in improved["neighbourhoods"]
                                 if step["improved"]], forward["bound"])
    if bound > forward["bound"]:
        trace.append({"seconds": record["seconds"] + watch.elapsed(),
                      "objective_cny": improved["objective"], "bound_cny": bound})
        if progress is not None:
            progress({"time_s": watch.elapsed(), "objective": improved["objective"],
                      "bound": bound, "gap": relative_gap(improved["objective"], bound),
                      "nodes": 0.0, "improved": 0.0, "phase": "the sites' shrinks"})
    return {**improved, "bound": bound, "year_by_year_objective": forward["objective"],
            "years_apart": {**record, "trace": trace}}


def _record_with_shrinks(record: dict[str, Any], shrinks: SiteShrinks) -> dict[str, Any]:
    """The years apart's ``record`` (``plan.meta["years_apart"]``) after the work beside
    the neighbourhoods (``shrinks``): its bound raised to the shrinks' where higher,
    whether that came from years alone solved again or from shrinks split; each year's
    row raised to the bound alone that ``shrinks`` holds, where higher
    (``tightened_beside``); and the shrinks' record where any was split."""
    shrinks_record = shrinks.record()
    if not shrinks_record["bound_cny"] > record["bound_cny"]:
        return record
    years = []
    for row in record["years"]:
        solve = shrinks.solved.get(row["year"], {}).get(frozenset())
        if solve is not None and solve.bound_cny > row["bound_cny"]:
            row = {**row, "bound_cny": solve.bound_cny, "tightened_beside": True}
        years.append(row)
    return {**record, "bound_cny": shrinks_record["bound_cny"], "years": years,
            "site_shrinks": shrinks_record if shrinks_record["shrinks"]
            else record.get("site_shrinks")}


def _starting_plan_record(best: dict[str, Any] | None, rounded: dict[str, Any] | None,
                          forward: dict[str, Any] | None,
                          given: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """For ``plan.meta["starting_plan"]``: the starting plans' costs (CNY), which one the
    search started from (``best``), and the year-by-year plan's table by year."""
    if best is None:
        return None
    record: dict[str, Any] = {"method": best["method"], "objective_cny": best["objective"],
                              "lp_rounding_cny": None if rounded is None
                              else rounded["objective"],
                              "given_cny": None if given is None else given["objective"]}
    if forward is not None:
        record.update(year_by_year_cny=forward.get("year_by_year_objective",
                                                   forward["objective"]),
                      neighbourhoods=forward.get("neighbourhoods", []),
                      site_moves=forward.get("site_moves", []),
                      site_moves_tried=forward.get("site_moves_tried", 0),
                      year_by_year_sweeps=forward.get("sweeps", 0),
                      years=forward["table"].to_dict("records"))
    return record


def _better_start(rounded: dict[str, Any] | None, forward: dict[str, Any] | None,
                  ) -> dict[str, Any] | None:
    """The better of the LP-rounding and year-by-year plans, with the rounding's bound."""
    if rounded is not None:
        rounded = {**rounded, "method": "lp_rounding"}
    if forward is None:
        return rounded
    if rounded is None:
        return forward
    best = forward if forward["objective"] < rounded["objective"] else rounded
    return {**best, "bound": rounded["bound"]}


def with_year_bound(case: Case, result: SolveResult, seconds: float, *, mip_gap: float,
                    threads: int | None,
                    progress: Callable[[dict[str, Any]], None] | None,
                    policy: SolvePolicy = DEFAULT_POLICY,
                    ) -> tuple[SolveResult, dict[str, Any]]:
    """``result`` with its bound raised by the year-by-year bound, and that bound's record.

    An infeasible year proves the whole case infeasible. Years run side by side, as many
    as ``threads`` (default: one per core), each HiGHS on one thread. Each year stops at
    a relative gap of a tenth of the plan's (between ``mip_gap`` and 1 %): a year closed
    further would not move the plan's gap, and its time goes to the years still open.
    If the bound fails (its ``error`` in the record), the search's result stands as it
    was.
    """
    watch = Budget()

    def report(row: dict[str, Any]) -> None:
        if progress is not None:
            progress({"time_s": watch.elapsed(), "objective": result.objective,
                      "bound": result.bound, "gap": result.gap, "nodes": 0.0,
                      "improved": 0.0, "phase": f"year-by-year bound ({row['year']} done)"})

    # years side by side, one HiGHS thread each (see year_relaxation_bound)
    workers = max(1, threads if threads is not None else (os.cpu_count() or 1))
    # each year only as precise as the plan's gap needs: a tenth of it, at most 1 %
    year_gap = max(mip_gap, min(policy.year_gap_cap, policy.year_gap_share * result.gap))
    try:
        bound, table = year_relaxation_bound(case, time_limit=seconds, mip_gap=year_gap,
                                             threads=threads, workers=workers,
                                             progress=report)
        years, error = table.to_dict("records"), None
    except Exception as exc:  # (a worker lost, a solver failing) the plan is kept whole
        bound, years, error = -math.inf, [], f"{type(exc).__name__}: {exc}"
    record = {"bound_cny": bound, "search_bound_cny": result.bound,
              "year_mip_gap": year_gap, "seconds": watch.elapsed(),
              "years": years}
    if error is not None:
        record["error"] = error
    if bound == math.inf:
        return result.but(status=INFEASIBLE,
                          termination="a year is infeasible on its own"), record
    if math.isfinite(bound) and not bound <= result.bound:  # (also replaces a NaN)
        result = result.but(bound=bound)
        if result.status == TIME_LIMIT and result.gap <= mip_gap:
            result = result.but(status=OPTIMAL,
                                termination="proven by the year-by-year bound")
    return result, record


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
    progress: Callable[[dict[str, Any]], None] | None = None,
    solver_options: dict[str, Any] | None = None,
    year_bound: float | None = None,
    policy: SolvePolicy | None = None,
    starts: Iterable[GivenPlan] | None = None,
) -> Plan:
    """Design the network of ``case`` at minimum discounted cost (CNY).

    Returns a :class:`netopt.Plan`; ``plan.status`` is "optimal", "time_limit" (a
    feasible plan with ``plan.gap`` left), "interrupted" (Ctrl-C: the best plan so far,
    with its gap), "infeasible" (``plan.explanation`` says what must give, from the
    elastic model) or "no_solution".

    ``progress``, if given, is called during the MIP search (from the solver's thread) at
    each better plan and about once a second, with a dict: ``time_s``, ``objective`` and
    ``bound`` (CNY; inf until known), ``gap``, ``nodes`` and ``improved`` (1.0 at a better
    plan). While the starting plan of a large model is built, the calls carry ``phase`` =
    "starting plan" (the objective is that of the best rounded plan so far, the bound the
    relaxation's).

    ``solver_options`` are more HiGHS options by name for the MIP search, e.g.
    ``{"random_seed": 2}`` (HiGHS only; they override netopt's own).

    ``time_limit`` (seconds) counts from this call: preparing and building the model,
    the starting plans and the search share it, and a little is kept back for extracting
    the plan (``policy.extract_reserve`` times the build's time), so that the whole call ends
    close to it.

    ``policy`` (a :class:`SolvePolicy`) sets how the time is shared among the stages and
    when a starting plan is built; the default is the measured one.

    ``starts``: plans of this case or of a related one (the grand coalition's plan, for a
    coalition of the savings game; a Plan or its ``sites`` table), each restricted to
    this case's facilities (:mod:`netopt.model.starts`) and costed by the LP; the best
    that serves the case competes with netopt's own starting plans, and the
    neighbourhoods and the search go on from the better.
    ``plan.meta["starting_plan"]["given_cny"]`` says what it cost.

    ``year_bound`` (seconds, HiGHS only), after the search, bounds the optimum from below
    by solving each year on its own (:func:`netopt.model.bounds.year_relaxation_bound`);
    ``plan.bound`` and ``plan.gap`` then use the better of the two bounds, and a plan it
    proves within ``mip_gap`` is "optimal". ``plan.meta["year_bound"]`` holds the bound
    and its table by year. This time comes on top of ``time_limit``.
    """
    timings: dict[str, float] = {}
    call = Budget(time_limit)
    watch = Budget()
    data = prepare(case)
    timings["prepare_s"] = watch.elapsed()
    problems = presolve_checks(data)
    if len(problems):  # infeasible on the data alone: say so without building the model
        return Plan.empty(case, status=INFEASIBLE, termination="presolve checks",
                          timings=timings, explanation=problems, solver=solver)
    watch = Budget()
    nm = build_model(data)
    timings["build_s"] = watch.elapsed()
    # extraction reads every variable back, as the build made them: keep its time aside
    policy = policy or DEFAULT_POLICY
    setup_s = timings["prepare_s"] + timings["build_s"]
    budget = call.less(policy.extract_reserve * setup_s)
    load_s = policy.load_per_build * setup_s
    rounded, forward, persistent, starting_record = None, None, None, None
    starts = list(starts or [])
    if (heuristic or starts) and solver == "highs":
        rounded, forward, persistent, starting_record = _starting_plans(
            case, nm, budget, policy, mip_gap=mip_gap, threads=threads, progress=progress,
            timings=timings, load_s=load_s, starts=starts, heuristic=heuristic)
    watch = Budget()
    result = _search(nm, rounded, persistent, budget, mip_gap=mip_gap, threads=threads,
                     solver=solver, log=log, progress=progress, options=solver_options,
                     load_s=load_s)
    timings["solve_s"] = watch.elapsed()
    if nm.interrupted and result.status == NO_SOLUTION and rounded is not None:
        result = result.but(status=INTERRUPTED)
    if rounded is not None:
        result, take_rounded = with_starting_plan(result, rounded)
        if take_rounded:  # the search stopped with nothing better: report the rounded plan
            load_values(nm, rounded["values"])
    by_year = None
    if year_bound is not None and solver == "highs" and not nm.interrupted \
            and result.status != INFEASIBLE:
        watch = Budget()
        result, by_year = with_year_bound(case, result, year_bound, mip_gap=mip_gap,
                                          threads=threads, progress=progress, policy=policy)
        timings["year_bound_s"] = watch.elapsed()
    if result.status == INFEASIBLE:
        explanation = explain_infeasibility(data, solver=solver) if explain else None
        return Plan.empty(case, status=INFEASIBLE, termination=result.termination,
                          timings=timings, explanation=explanation, solver=solver)
    if result.status == NO_SOLUTION:
        return Plan.empty(case, status=NO_SOLUTION, termination=result.termination,
                          timings=timings, solver=solver, bound=result.bound)
    watch = Budget()
    plan = extract_plan(
        nm, status=result.status, termination=result.termination,
        bound=result.bound, gap=result.gap, timings=timings, solver=solver,
    )
    timings["extract_s"] = watch.elapsed()
    plan.meta["solver_objective_cny"] = result.objective
    if by_year is not None:
        plan.meta["year_bound"] = by_year
    plan.meta["mip_gap_requested"] = mip_gap
    if starting_record is not None:
        plan.meta["starting_plan"] = starting_record
    if forward is not None and "years_apart" in forward:
        plan.meta["years_apart"] = forward["years_apart"]
    return plan


def _starting_plans(case: Case, nm: NetworkModel, budget: Budget, policy: SolvePolicy, *,
                    mip_gap: float,
                    threads: int | None,
                    progress: Callable[[dict[str, Any]], None] | None,
                    timings: dict[str, float], load_s: float, starts: list[GivenPlan],
                    heuristic: bool = True) -> tuple[Any, Any, Any, Any]:
    """The best starting plan of a model whose search needs one (years apart, or the LP
    rounding; ``heuristic``) or that is given ``starts``, the years-apart plan, the HiGHS
    instance that holds the model (loaded once for the starting plans and the search)
    and the record of the starting plans (:func:`_starting_plan_record`); Nones where
    there are none. The LP rounding does not start with fewer than ``load_s`` seconds
    left (what loading the model takes)."""
    rows = model_rows(nm)
    pays = heuristic and _starting_plan_pays(nm, rows, policy)
    if not pays and not starts:
        return None, None, None, None
    from pyomo.contrib.solver.common.factory import SolverFactory

    persistent = SolverFactory("highs")
    forward, rounded = None, None
    watch = Budget()
    given = given_start(nm, starts, case.years, persistent=persistent, threads=threads,
                        time_limit=budget.left(1.0)) if starts else None
    if starts:
        timings["given_start_s"] = watch.elapsed()
    if not pays:
        return given, None, persistent, _starting_plan_record(given, None, None, given)
    if year_by_year_applies(case, rows, policy):
        watch = Budget()
        neighbourhoods = _neighbourhoods_apply(case, rows, budget, policy)
        forward = _year_by_year_start(case, nm, persistent, budget=Budget(budget.left(1.0)),
                                      policy=policy, neighbourhoods=neighbourhoods,
                                      mip_gap=mip_gap, threads=threads, progress=progress)
        timings["year_by_year_s"] = watch.elapsed()
        if forward is not None:
            timings["year_by_year_build_s"] = forward["build_s"]
        if forward is not None and given is not None \
                and given["objective"] < forward["objective"]:
            # the neighbourhoods and the search go on from the given plan
            forward = {**forward, "objective": given["objective"], "values": given["values"],
                       "year_by_year_objective": forward["objective"]}
        if forward is not None and neighbourhoods:
            watch = Budget()
            forward = _neighbourhood_start(case, nm, forward, persistent, budget=budget,
                                           policy=policy, mip_gap=mip_gap, threads=threads,
                                           progress=progress)
            timings["neighbourhoods_s"] = watch.elapsed()
        elif forward is not None and _site_moves_apply(case, rows, policy):
            watch = Budget()
            forward = _site_moves_start(nm, forward, persistent, budget=budget,
                                        policy=policy, mip_gap=mip_gap, progress=progress)
            timings["site_moves_s"] = watch.elapsed()
    watch = Budget()
    # at most these shares of what is left, so that the search always gets the rest
    left = budget.left(1.0)
    share = policy.heuristic_time_share_large if relaxes_by_year(nm, rows) \
        else policy.heuristic_time_share
    if not nm.interrupted and forward is None and (left is None or left >= load_s):
        rounded = lp_rounding(nm, time_limit=None if left is None else share * left,
                              first_plan_time_limit=None if left is None
                              else policy.first_plan_time_share * left,
                              threads=threads, persistent=persistent, mip_gap=mip_gap,
                              progress=progress, rows=rows)
    timings["heuristic_s"] = watch.elapsed()
    best = _better_start(rounded, forward)
    if given is not None and (best is None or given["objective"] < best["objective"]):
        best = {**given, "bound": best["bound"] if best is not None else given["bound"]}
    return best, forward, persistent, _starting_plan_record(best, rounded, forward, given)


def _search(nm: NetworkModel, start: dict[str, Any] | None, persistent: Any, budget: Budget,
            *, mip_gap: float, threads: int | None, solver: str, log: bool,
            progress: Callable[[dict[str, Any]], None] | None,
            options: dict[str, Any] | None, load_s: float = 0.0) -> SolveResult:
    """The MIP search from the starting plan ``start`` (if any) in the time left: the
    solver's result, or the starting plan's when its bound already proves it. With no
    plan to start from, no HiGHS instance that holds the model and fewer than ``load_s``
    seconds left, the search does not start: loading the model would overrun the
    limit. With a plan and fewer than ``load_s`` seconds left it does not start either
    (the plan is then reported as it stands): handing a plan of the whole model over
    and reading it back take about as long as the load, so the search would overrun
    the limit and could not improve the plan (BENCHMARKS.md, 'Scale: every year
    bounded by the limit')."""
    if nm.interrupted:  # Ctrl-C during the starting plan: stop with what there is
        return SolveResult(NO_SOLUTION, "interrupted")
    if _proven_by_relaxation(start, mip_gap):
        # the starting plan's bound already proves it: no search needed
        assert start is not None
        load_values(nm, start["values"])
        return SolveResult(OPTIMAL, PROVEN_BY_YEARS if start["method"] == "years_apart"
                           else PROVEN_BY_RELAXATION, start["objective"], start["bound"],
                           relative_gap(start["objective"], start["bound"]))
    limit = budget.left(1.0)
    if start is not None and limit is not None and limit < load_s:
        return SolveResult(NO_SOLUTION, TOO_LATE_TO_SEARCH)  # solve() reports the start
    if holds_model(persistent, nm.model):
        persistent.update_variables(binaries(nm.model))  # back to the MIP's domains
    else:
        persistent = None
    if persistent is None and limit is not None and limit < load_s:
        return SolveResult(NO_SOLUTION, TOO_LATE_TO_LOAD)
    # HiGHS's clock leaves out what the call spends around it: what earlier solves of
    # this model spent so is taken off its limit
    if limit is not None:
        limit = max(1.0, limit - nm.solve_overhead_s)
    return run_solver(nm, time_limit=limit, mip_gap=mip_gap, threads=threads,
                      solver=solver, log=log, progress=progress, persistent=persistent,
                      options=options, start=start["values"] if start is not None else None)
