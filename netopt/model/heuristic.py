"""A starting plan by LP rounding and local search, for models too large to prove.

1. Solve the relaxation. Collection points, recyclers and reuse outlets it opens at all
   are opened (open-stays-open holds, since the relaxed values never decrease). Large
   multi-year models take it one year at a time (:func:`relaxation_by_year`), and a
   facility is then open from the first year a year's relaxation uses it. There, each
   year also chooses its collection points by a MIP over them alone (levels rounded,
   other openings fixed: :func:`year_points`), since rounding the points is where
   most is lost at scale; the first plan is solved with these points, with the
   relaxation's ("any use") and with the "cover" rule's, and the search goes on with
   the best.
2. Round each dismantling site's relaxed capacity to a level, year by year: the level
   below if the relaxed capacity lies within a share ``threshold`` of the step above it,
   else the level above, never shrinking (a site sized by the tonne has two steps,
   closed and open from its smallest size: its size is left to the LP). With every
   opening fixed, the flows are re-optimised (an LP, cheap enough to solve many times
   over: BENCHMARKS.md, 'Starting plan: LP rounding with a threshold search').
3. Search the threshold: one for all sites (from 0.5, stepping towards the better
   neighbour), then one per site (coordinate descent, largest sites first), keeping the
   best plan, while the time budget lasts. A level plan already evaluated is not solved
   again.

Rounding every level up loses most: surplus modules cost more than the packs they take
from outsourcing earn (BENCHMARKS.md, 'Starting plan: LP rounding with a threshold
search'). Threshold 0 (round up) keeps the relaxation's flows feasible, so it is the
fallback when every cut-down plan is infeasible (a collection-rate target, no
outsourcing).

:func:`netopt.model.solve.solve` offers the plan to HiGHS as the search's first
incumbent (highspy's user-solution callback), and reports it if the search finds nothing
better before its time limit.
"""

from __future__ import annotations

import multiprocessing
import os
import warnings
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

from netopt.model.bounds import year_case
from netopt.model.build import NetworkModel, build_model
from netopt.model.highs import (
    Budget,
    SolveResult,
    binaries_fixed,
    binaries_relaxed,
    holds_model,
    model_rows,
    run_solver,
    solve_fixed,
)
from netopt.model.network import discount_factors, prepare
from netopt.model.relaxation import relax_with_lazy_links
from netopt.plan import INTERRUPTED, OPTIMAL, TIME_LIMIT, relative_gap
from netopt.pool import local_pool

OPEN_TOLERANCE = 1e-6

#: First rounding threshold tried, and the steps of the search around it.
THRESHOLD_START = 0.5
THRESHOLD_STEP = 0.1
SITE_STEPS = (-0.2, -0.1, 0.1, 0.2)

#: Relaxations of models with more rows than this are solved with their linking rows
#: added as they bind (:func:`netopt.model.relaxation.relax_with_lazy_links`), the first
#: LP by interior point (then crossover) rather than HiGHS's choice, simplex: few linking
#: rows bind, and interior point pays only on large LPs (BENCHMARKS.md, 'The relaxation
#: with its linking rows added as they bind', and 'Scale: 700, 3,000 and 10,000 dealers').
RELAXATION_IPM_ROWS = 100_000
#: Multi-year models with more rows than this take their relaxation one year at a time
#: (:func:`relaxation_by_year`): at scale the whole model's LP takes most of a time limit,
#: the years' LPs far less (BENCHMARKS.md, 'The relaxation one year at a time').
RELAXATION_BY_YEAR_ROWS = 100_000
#: ... that many years at a time, in worker processes (at most the machine's cores).
RELAXATION_BY_YEAR_WORKERS = 2
#: The kinds of facility a relaxation opens (a site's levels, or its opening when sized
#: by the tonne, are then rounded by :func:`round_levels`, which overrides these).
OPENINGS = ("open_collection_point", "open_recycler", "open_reuse_outlet", "site_open")
#: At scale, each year's MIP over its collection points (:func:`year_points`) gets this
#: share of the first plan's budget, spread over the years (``workers`` at a time), up
#: to ``POINTS_MIP_SECONDS`` a year.
POINTS_MIP_SHARE = 0.3
POINTS_MIP_SECONDS = 60.0
#: The "cover" rule opens the collection points the relaxation opens at least this much
#: (see :func:`covering_points`).
COVER_THRESHOLD = 0.7


def _relaxed_capacity(nm: NetworkModel) -> dict[tuple[str, int], float]:
    """Each dismantling site's capacity (t/yr) in the solved relaxation, by year."""
    capacity: dict[tuple[str, int], float] = defaultdict(float)
    cap_of = level_capacities(nm)
    for (k, lv, t), v in nm.model.site_level.items():
        capacity[(k, t)] += cap_of[k][lv] * (v.value or 0.0)
    for (k, t), v in nm.model.site_size.items():
        capacity[(k, t)] += v.value or 0.0
    return capacity


def relaxes_by_year(nm: NetworkModel, rows: int) -> bool:
    """Whether :func:`lp_rounding` takes ``nm``'s relaxation one year at a time: a
    multi-year model of more than ``RELAXATION_BY_YEAR_ROWS`` rows (``model_rows``)."""
    return len(nm.data.years) > 1 and rows > RELAXATION_BY_YEAR_ROWS


def _relaxed_openings(nm: NetworkModel) -> set[tuple[str, str, int]]:
    """(variable name, facility, year) of each opening the solved relaxation uses at all."""
    return {(name, f, t) for name in OPENINGS for (f, t), v in getattr(nm.model, name).items()
            if (v.value or 0.0) > OPEN_TOLERANCE or v.lb == 1}


def covering_points(nm: NetworkModel) -> set[tuple[str, str, int]]:
    """The collection points of the "cover" rule, as (variable name, point, year), from a
    solved relaxation: those it opens at least ``COVER_THRESHOLD``, and, for each source
    it collects through points none of which is among them, the one it opens most.

    The relaxation spreads a city's packs over many points, each opened in part (and paid
    for in proportion): opening every point it uses at all opens far more than a plan
    needs. Neither rule wins on every case, so :func:`lp_rounding` tries both
    (BENCHMARKS.md, 'Scale: 700, 3,000 and 10,000 dealers', the one-year table).
    """
    m = nm.model
    opened = {key: v.value or 0.0 for key, v in m.open_collection_point.items()}
    keep = {key for key, value in opened.items()
            if value >= COVER_THRESHOLD - OPEN_TOLERANCE}
    points_of: dict[tuple[str, int], list[str]] = defaultdict(list)  # by (source, year)
    for (i, j, t), v in m.ship_source_collection.items():
        if (v.value or 0.0) > OPEN_TOLERANCE:
            points_of[(i, t)].append(j)
    for (_i, t), points in points_of.items():
        if not any((j, t) in keep for j in points):
            keep.add((max(points, key=lambda j: opened[(j, t)]), t))
    return {("open_collection_point", j, t) for j, t in keep}


def _without_points(openings: set[tuple[str, str, int]]) -> set[tuple[str, str, int]]:
    """The openings (variable name, facility, year) that are not collection points'."""
    return {key for key in openings if key[0] != "open_collection_point"}


def open_from_first_use(nm: NetworkModel, openings: set[tuple[str, str, int]],
                        names: tuple[str, ...] = OPENINGS) -> dict[int, float]:
    """0/1 (by ``id`` of variable) of each free opening of ``nm`` of the kinds ``names``:
    a facility is open from the first year it is in ``openings`` ((variable name,
    facility, year)); the relaxation of the whole model never closes one, but year by
    year a later year may not use it."""
    chosen: dict[int, float] = {}
    for name in names:
        first_used: dict[str, int] = {}
        for (_name, f, t) in sorted(key for key in openings if key[0] == name):
            first_used.setdefault(f, t)
        for (f, t), v in getattr(nm.model, name).items():
            if not v.fixed:
                chosen[id(v)] = 1.0 if v.lb == 1 or (
                    f in first_used and t >= first_used[f]) else 0.0  # lb 1: existing
    return chosen


def year_points(year_nm: NetworkModel, relaxed: dict[str, Any], time_limit: float,
                 persistent: Any, threads: int | None,
                 allowed: set[str] | None = None) -> dict[str, Any]:
    """The collection points of one year's model chosen by a MIP over the points alone:
    the sites' levels rounded at ``THRESHOLD_START`` and the other openings the
    relaxation uses fixed, started from the better of the "any use" and "cover" rules.

    The points are where rounding loses most at scale, and a MIP over them alone gains
    much over both rules (BENCHMARKS.md, 'Each year's collection points by a MIP').

    Returns ``points`` ((variable name, point, year)) and the year's ``objective``
    (CNY), or no points if there was no time or no plan. ``allowed`` (point ids), if
    given, keeps every other point closed.
    """
    m = year_nm.model
    levels = round_levels(year_nm, relaxed["capacity"], THRESHOLD_START)
    others = _without_points(relaxed["openings"])

    def within(keys: set[tuple[str, str, int]]) -> set[tuple[str, str, int]]:
        return keys if allowed is None else {key for key in keys if key[1] in allowed}

    best: tuple[float, dict[int, float] | None] = (float("inf"), None)
    for points in (within(relaxed["openings"]), others | within(relaxed["covering"])):
        objective, values = solve_fixed(year_nm, {**open_from_first_use(year_nm, points),
                                                  **levels},
                                        persistent=persistent, threads=threads)
        if objective < best[0]:
            best = (objective, values)
    if best[1] is None:
        return {"points": set(), "objective": float("inf")}
    fixed = open_from_first_use(year_nm, others, names=tuple(
        name for name in OPENINGS if name != "open_collection_point"))
    fixed.update(levels)
    if allowed is not None:
        fixed.update({id(v): 0.0 for (j, _t), v in m.open_collection_point.items()
                      if j not in allowed and not v.fixed})
    with binaries_fixed(year_nm, fixed, persistent=persistent):
        result = run_solver(year_nm, time_limit=time_limit, mip_gap=1e-3, threads=threads,
                            persistent=persistent, start=best[1])
    if result.status not in (OPTIMAL, TIME_LIMIT) or result.objective > best[0]:
        return {"points": set(), "objective": best[0]}
    return {"points": {("open_collection_point", j, t)
                       for (j, t), v in m.open_collection_point.items()
                       if (v.value or 0.0) > 0.5},
            "objective": result.objective}


def _year_model(case: Any, year: int) -> NetworkModel:
    """The model of ``case``'s year ``year`` on its own."""
    return build_model(prepare(year_case(case, year)))


def _points_seconds(budget: Budget, points_seconds: float) -> float:
    """What a year's points MIP may take: ``points_seconds``, within ``budget``."""
    left = budget.left()
    return points_seconds if left is None else min(points_seconds, left)


def _points_row(year_nm: NetworkModel, relaxed: dict[str, Any], seconds: float,
                persistent: Any, threads: int | None,
                allowed: set[str] | None = None) -> dict[str, Any]:
    """:func:`year_points` as the fields of a year's row: ``points``,
    ``points_objective`` (CNY) and ``interrupted`` (Ctrl-C, caught here or by HiGHS)."""
    try:
        chosen = year_points(year_nm, relaxed, seconds, persistent, threads, allowed)
    except KeyboardInterrupt:
        year_nm.interrupted = True
        chosen = {"points": set(), "objective": float("nan")}
    return {"points": chosen["points"], "points_objective": chosen["objective"],
            "interrupted": year_nm.interrupted}


def _relax_year(case: Any, year: int, budget: Budget, threads: int | None,
                points_seconds: float = 0.0) -> dict[str, Any]:
    """One year's relaxation on its own (here or in a worker process), to be done within
    ``budget``: its status, its optimum (CNY, discounted to the year),
    the sites' capacities and the openings used; then, given ``points_seconds``, the
    year's collection points chosen by a MIP for that long at most (``year_points``),
    within the budget too."""
    from pyomo.contrib.solver.common.factory import SolverFactory

    year_nm = _year_model(case, year)
    persistent = SolverFactory("highs")
    limit = budget.left(1.0)
    try:
        with binaries_relaxed(year_nm.model):
            persistent.set_instance(year_nm.model)
            result = run_solver(year_nm, time_limit=limit, threads=threads,
                                persistent=persistent)
    except KeyboardInterrupt:
        year_nm.interrupted = True
        result = SolveResult(INTERRUPTED, "interrupted")
    solved = result.status == OPTIMAL and not year_nm.interrupted
    row = {"year": year, "status": str(result.status), "interrupted": year_nm.interrupted,
           "objective": result.objective,
           "capacity": _relaxed_capacity(year_nm) if solved else {},
           "openings": _relaxed_openings(year_nm) if solved else set(),
           "covering": covering_points(year_nm) if solved else set(),
           "points": set(), "points_objective": float("nan")}
    seconds = _points_seconds(budget, points_seconds)
    if solved and points_seconds > 0 and seconds >= 1.0:
        row.update(_points_row(year_nm, row, seconds, persistent, threads))
    return row


def _points_year(case: Any, relaxed: dict[str, Any], budget: Budget,
                 threads: int | None, points_seconds: float,
                 allowed: set[str] | None) -> dict[str, Any]:
    """One year's points MIP (:func:`year_points`) on its own model, built again (here or
    in a worker process), from that year's solved relaxation ``relaxed`` (a row of
    :func:`_relax_year`), keeping the points not in ``allowed`` closed."""
    from pyomo.contrib.solver.common.factory import SolverFactory

    row = {"year": relaxed["year"], "interrupted": False, "points": set(),
           "points_objective": float("nan")}
    seconds = _points_seconds(budget, points_seconds)
    if seconds >= 1.0:
        row.update(_points_row(_year_model(case, relaxed["year"]), relaxed, seconds,
                               SolverFactory("highs"), threads, allowed))
    return row


def relaxation_by_year(nm: NetworkModel, *, time_limit: float | Budget | None = None,
                       threads: int | None = None, workers: int = 1,
                       points_seconds: float = 0.0) -> dict[str, Any] | None:
    """The relaxation of ``nm``'s case solved one year at a time, or None if a year's is
    not solved to optimality within ``time_limit`` (seconds, for all the years).

    Dropping the rows that link the years (capacity never shrinks, an opening stays open)
    leaves one LP per year, each about a tenth of the whole and far quicker to solve
    (:data:`RELAXATION_BY_YEAR_ROWS`). Their optima, discounted and summed, bound the
    case's optimum from below (``bound``, CNY), a little below the whole relaxation's
    (BENCHMARKS.md, 'The relaxation one year at a time'). Also returns each
    dismantling site's relaxed ``capacity`` (t/yr, by (site, year)), the ``openings``
    used, as (variable name, facility, year), and the collection points of the "cover"
    rule (``covering``, alike: :func:`covering_points`).

    ``points_seconds`` > 0 also gives each year that long at most (within
    ``time_limit``) for a MIP over its collection points (:func:`year_points`): the
    last year's first, beside the other years' relaxations, then each other year's,
    keeping to the points the last year chose. ``points`` holds the points they open, or
    the cover rule's in a year that had no time, and ``points_years`` the number of
    years a MIP chose.

    ``workers`` > 1 solves that many years at once in worker processes, HiGHS on one
    thread in each (building a year's model is Python, and HiGHS's simplex mostly serial).
    """
    case = nm.case
    years = list(case.years)
    budget = Budget.of(time_limit)
    factors = discount_factors(years, case.parameters["discount_rate"])
    workers = max(1, min(workers, len(years)))
    if multiprocessing.current_process().daemon:
        workers = 1  # a daemonic process may not start any (a Dask worker's, for one)

    last = years[-1]
    # the last year first: its points MIP bounds the other years' (second phase)
    order = [last, *years[:-1]] if points_seconds > 0 else years

    def relaxations(threads: int | None) -> list[tuple[Callable, tuple]]:
        return [(_relax_year, (case, year, budget, threads,
                               points_seconds if year == last else 0.0)) for year in order]

    def point_mips(rows: list[dict[str, Any]], threads: int | None,
                   ) -> list[tuple[Callable, tuple]]:
        """The other years' points MIPs, each keeping to the last year's points: a point
        is open from the first year that chooses it (open stays open), so points chosen
        by early years alone would stay open, unused, to the end (BENCHMARKS.md, 'Each
        year's collection points by a MIP')."""
        if len(rows) < len(years) or any(not solved(row) for row in rows):
            return []
        # (a last year that opens no point, having nothing to collect, bounds nothing)
        allowed = {j for (_name, j, _t) in rows[0]["points"]} or None
        return [(_points_year, (case, row, budget, threads, points_seconds, allowed))
                for row in rows[1:]]

    def solved(row: dict[str, Any]) -> bool:
        return row.get("status", "optimal") == "optimal" and not row["interrupted"]

    def in_turn(tasks: list[tuple[Callable, tuple]]) -> list[dict[str, Any]]:
        done = []
        for function, args in tasks:
            done.append(function(*args))
            if not solved(done[-1]):
                break
        return done

    def in_pool(pool: Any, tasks: list[tuple[Callable, tuple]]) -> list[dict[str, Any]]:
        futures = [pool.submit(function, *args) for function, args in tasks]
        return [future.result() for future in futures]

    rows: list[dict[str, Any]] = []
    chosen: list[dict[str, Any]] = []
    try:
        if workers == 1:
            rows = in_turn(relaxations(threads))
            chosen = in_turn(point_mips(rows, threads))
        else:
            from concurrent.futures.process import BrokenProcessPool

            try:
                with local_pool(workers) as pool:
                    rows = in_pool(pool, relaxations(1))
                    chosen = in_pool(pool, point_mips(rows, 1))
            except BrokenProcessPool:
                # no worker could start: e.g. a script that calls netopt.solve without
                # an ``if __name__ == "__main__":`` guard, which "spawn" re-runs
                warnings.warn("worker processes could not start: the years' relaxations "
                              "are solved one after another", RuntimeWarning, stacklevel=2)
                rows = in_turn(relaxations(threads))
                chosen = in_turn(point_mips(rows, threads))
    except KeyboardInterrupt:
        nm.interrupted = True
        return None
    for row in chosen:
        if row["interrupted"]:
            nm.interrupted = True
        by_year = next(r for r in rows if r["year"] == row["year"])
        by_year["points"], by_year["points_objective"] = row["points"], \
            row["points_objective"]
    if any(row["interrupted"] for row in rows):
        nm.interrupted = True
    if len(rows) < len(years) or nm.interrupted or any(
            row["status"] != "optimal" for row in rows):
        return None
    capacity: dict[tuple[str, int], float] = {}
    openings: set[tuple[str, str, int]] = set()
    covering: set[tuple[str, str, int]] = set()
    points: set[tuple[str, str, int]] = set()
    for row in rows:
        capacity.update(row["capacity"])
        openings |= row["openings"]
        covering |= row["covering"]
        points |= row["points"] or row["covering"]
    return {"status": "optimal", "capacity": capacity, "openings": openings,
            "covering": covering, "points": points,
            "points_years": sum(1 for row in rows if row["points"]),
            "bound": sum(factors[row["year"]] * row["objective"] for row in rows)}


def level_capacities(nm: NetworkModel) -> dict[str, dict[str, float]]:
    """Capacity (t/yr) of each dismantling site's levels: site -> level -> t/yr."""
    return nm.data.level_capacities()


def round_levels(nm: NetworkModel, capacity: dict[tuple[str, int], float],
                 threshold: float | Mapping[str, float]) -> dict[int, float]:
    """0/1 value (by ``id`` of variable) of every site's choice for a rounding threshold:
    its ``site_level`` in modules, its ``site_open`` sized by the tonne.

    Year by year, a site whose relaxed capacity ``q`` (t/yr, ``capacity[site, year]``)
    lies between levels ``a < b`` gets ``a`` if ``q <= a + threshold (b - a)``, else
    ``b``; never less than the year before or its existing level. Threshold 0 rounds up,
    1 down; a mapping gives each site its own. A site sized by the tonne has two steps,
    closed (0) and open (from its smallest size up): it opens once ``q`` exceeds
    ``threshold`` times its smallest size, and stays open; the plan's LP sizes it.
    """
    m = nm.model
    sites = nm.case.dismantling_sites
    continuous = nm.data.continuous_sites
    chosen: dict[int, float] = {}
    for k, by_level in level_capacities(nm).items():
        share = threshold if isinstance(threshold, (int, float)) else threshold[k]
        existing = sites.at[k, "existing_level"] if k in sites.index else ""
        if continuous:  # one step: open, from the smallest size
            by_level = {"open": min(by_level.values())}
            existing = "open" if existing else ""
        steps = [(0.0, None), *sorted((cap, lv) for lv, cap in by_level.items())]
        floor = by_level[existing] if existing else 0.0
        for t in nm.data.years:
            need = capacity.get((k, t), 0.0)
            pick = steps[-1]
            for low, high in zip(steps, steps[1:]):
                if need <= low[0] + share * (high[0] - low[0]) + OPEN_TOLERANCE:
                    pick = low
                    break
            if pick[0] < floor:
                pick = next(step for step in steps if step[0] >= floor)
            floor = pick[0]
            if continuous:
                chosen[id(m.site_open[k, t])] = 0.0 if pick[1] is None else 1.0
                continue
            for lv in by_level:
                chosen[id(m.site_level[k, lv, t])] = 1.0 if lv == pick[1] else 0.0
    return chosen


def lp_rounding(nm: NetworkModel, *, time_limit: float | Budget | None = None,
                first_plan_time_limit: float | Budget | None = None,
                threads: int | None = None, persistent: Any = None,
                mip_gap: float = 1e-4,
                progress: Callable[[dict[str, Any]], None] | None = None,
                rows: int | None = None) -> dict | None:
    """Objective (CNY) and variable values of the best rounded plan, or None if none.

    ``time_limit`` (seconds from the call, or a Budget) bounds the search: no plan is
    started after it. Without it, the search runs until no step improves the plan. It
    also stops once the best plan is within ``mip_gap`` (relative) of the relaxation's
    bound.

    ``first_plan_time_limit`` (seconds from the call, or a Budget; default
    ``time_limit``) bounds the relaxation and the first rounded plan, which are finished
    even when they run past ``time_limit``: on large models the relaxation alone can
    take most of the time a planner gives, and one rounded plan is worth far more than
    none. If the relaxation is not solved within it, there is no plan.

    ``persistent`` is a pyomo HiGHS solver not yet used on this model: the model is then
    loaded into HiGHS once, and each later solve changes only domains and fixings (loading
    a large model takes about as long as building it).

    ``progress``, if given, is called after the relaxation and after each plan solved,
    with the keys of :func:`netopt.solve`'s progress and ``phase`` = "starting plan".
    ``rows``: the model's :func:`model_rows`, if the caller has counted them.

    Also returns ``thresholds`` (the best plan's, by site), ``plans`` (level plans solved)
    and ``improvements`` (seconds since the start and objective of each better plan).
    Leaves the model as it found it (domains and fixings restored).
    """
    if nm.data.parameters["single_sourcing"]:
        return None  # binary shipments: rounding a split source is not a plan
    budget = Budget.of(time_limit)
    first_budget = budget if first_plan_time_limit is None else Budget.of(first_plan_time_limit)
    if budget.deadline is not None and first_budget.deadline is not None \
            and first_budget.deadline < budget.deadline:
        first_budget = budget  # the first plan may always take the search's time
    rows = model_rows(nm) if rows is None else rows
    relaxed = _relaxation_to_round(nm, persistent, first_budget, threads, rows)
    if relaxed is None:
        return None
    search = _RoundingSearch(nm, relaxed, persistent, threads, budget, first_budget,
                             progress)
    return search.run(mip_gap)


def _load_persistent(nm: NetworkModel, persistent: Any) -> bool:
    """Load the model into ``persistent`` now (False if Ctrl-C stopped it), so that the
    next solve's HiGHS time limit (its clock starts after the load) leaves out what the
    load has already spent."""
    if persistent is not None and not holds_model(persistent, nm.model):
        try:
            persistent.set_instance(nm.model)
        except KeyboardInterrupt:
            nm.interrupted = True
            return False
    return True


def _relaxation_to_round(nm: NetworkModel, persistent: Any, budget: Budget,
                         threads: int | None, rows: int) -> dict[str, Any] | None:
    """The relaxation a rounding starts from, solved within ``budget``: its ``bound``
    (CNY), the sites' relaxed ``capacity`` (t/yr by (site, year)), the openings ``used``,
    the cover rule's points (``covering``) and the years' points MIPs' (``points``, or
    None); None if it was not solved to optimality."""
    points: set[tuple[str, str, int]] | None = None
    if relaxes_by_year(nm, rows):
        workers = min(RELAXATION_BY_YEAR_WORKERS, os.cpu_count() or 1)
        limit = budget.left(1.0)
        points_seconds = POINTS_MIP_SECONDS if limit is None else min(
            POINTS_MIP_SECONDS, POINTS_MIP_SHARE * limit * workers / len(nm.data.years))
        by_year = relaxation_by_year(nm, time_limit=limit, threads=threads,
                                     workers=workers, points_seconds=points_seconds)
        if by_year is None or not _load_persistent(nm, persistent):
            return None
        if by_year["points_years"]:
            points = by_year["points"]
        return {"bound": by_year["bound"], "capacity": by_year["capacity"],
                "used": by_year["openings"], "covering": by_year["covering"],
                "points": points}
    # large: by interior point (then crossover), the linking rows added as they bind
    lazy = rows > RELAXATION_IPM_ROWS and persistent is not None
    with binaries_relaxed(nm.model) as free:
        if not _load_persistent(nm, persistent):
            return None
        if lazy:  # (on a relaxed copy: the loaded model's domains do not matter)
            result = relax_with_lazy_links(nm, persistent, time_limit=budget.left(1.0),
                                           threads=threads, method="ipm")
        else:
            if holds_model(persistent, nm.model):
                persistent.update_variables(free)  # domains changed
            method = {"solver": "ipm"} if rows > RELAXATION_IPM_ROWS else {}
            result = run_solver(nm, threads=threads, persistent=persistent,
                                time_limit=budget.left(1.0), options=method)
    if result.status != OPTIMAL or nm.interrupted:
        return None  # a relaxation cut short is no guide (and the budget is spent)
    return {"bound": result.bound, "capacity": _relaxed_capacity(nm),
            "used": _relaxed_openings(nm), "covering": covering_points(nm),
            "points": None}


class _RoundingSearch:
    """The search over rounding thresholds of :func:`lp_rounding`, from one relaxation.

    Collection points: every one the relaxation uses ("any use"), or the "cover" rule;
    the first plan is solved with each, and the search goes on with the better (and,
    year by year at scale, the points of a MIP over them: "points MIP", first).
    """

    def __init__(self, nm: NetworkModel, relaxed: dict[str, Any], persistent: Any,
                 threads: int | None, budget: Budget, first_budget: Budget,
                 progress: Callable[[dict[str, Any]], None] | None) -> None:
        self.nm, self.relaxed, self.persistent, self.threads = nm, relaxed, persistent, \
            threads
        self.budget, self.first_budget, self.progress = budget, first_budget, progress
        others = _without_points(relaxed["used"])
        self.rules = {"any use": open_from_first_use(nm, relaxed["used"]),
                      "cover": open_from_first_use(nm, others | relaxed["covering"])}
        if relaxed["points"] is not None:
            self.rules = {"points MIP": open_from_first_use(nm, others | relaxed["points"]),
                          **self.rules}
        self.search_rule = next(iter(self.rules))
        self.sites = list(level_capacities(nm))
        self.solved: dict[tuple, float] = {}  # level plan -> objective (inf: infeasible)
        self.best: dict[str, Any] = {"objective": float("inf"), "thresholds": None,
                                     "values": None}
        self.improvements: list[tuple[float, float]] = []  # (seconds, objective CNY)
        self.last_seconds = 0.0

    def report(self, improved: bool) -> None:
        """Tell ``progress`` of the best plan so far."""
        if self.progress is not None:
            bound = self.relaxed["bound"]
            self.progress({"time_s": self.budget.elapsed(),
                           "objective": self.best["objective"], "bound": bound,
                           "nodes": 0.0, "improved": float(improved),
                           "gap": relative_gap(self.best["objective"], bound),
                           "phase": "starting plan"})

    def evaluate(self, thresholds: dict[str, float], rule_name: str | None = None) -> float:
        """Objective (CNY) of the plan rounded with these thresholds and the rule's
        collection points (the search's rule by default), solved once per plan."""
        rule_name = rule_name or self.search_rule
        levels = round_levels(self.nm, self.relaxed["capacity"], thresholds)
        key = (rule_name, tuple(sorted(i for i, on in levels.items() if on)))
        if key in self.solved:
            return self.solved[key]
        watch = Budget()
        # until there is a plan, the first plan's limit; then the search's
        budget = self.budget if self.best["values"] else self.first_budget
        objective, values = solve_fixed(
            self.nm, {**self.rules[rule_name], **levels}, persistent=self.persistent,
            threads=self.threads, time_limit=budget.left(1.0))
        better = objective < self.best["objective"]
        if better:
            self.best.update(objective=objective, thresholds=dict(thresholds),
                             values=values, rule=rule_name)
            self.improvements.append((self.budget.elapsed(), objective))
        self.last_seconds = watch.elapsed()
        self.solved[key] = objective
        self.report(better)
        return objective

    def affordable(self, mip_gap: float) -> bool:
        """Whether another plan fits in the time left and could still matter."""
        left = self.budget.left()
        if self.nm.interrupted or (left is not None and left <= self.last_seconds):
            return False
        return relative_gap(self.best["objective"], self.relaxed["bound"]) > mip_gap

    def common(self, share: float) -> dict[str, float]:
        """One threshold for every site."""
        return dict.fromkeys(self.sites, share)

    def one_threshold(self, mip_gap: float) -> None:
        """One threshold for all sites: from ``THRESHOLD_START`` towards the better
        neighbour, with the better rule for collection points at ``THRESHOLD_START``."""
        names = list(self.rules)
        self.evaluate(self.common(THRESHOLD_START))
        for n, rule_name in enumerate(names[1:], 1):
            if all(self.rules[rule_name] != self.rules[other] for other in names[:n]) \
                    and self.affordable(mip_gap):
                self.evaluate(self.common(THRESHOLD_START), rule_name)
        self.search_rule = self.best.get("rule", self.search_rule)
        for direction in (-1, 1):
            share = THRESHOLD_START
            while self.affordable(mip_gap):
                share = round(share + direction * THRESHOLD_STEP, 6)
                if not 0.0 <= share <= 1.0:
                    break
                self.evaluate(self.common(share))
                if self.best["thresholds"] != self.common(share):
                    break  # no better than the step before
            if self.best["thresholds"] is not None \
                    and self.best["thresholds"] != self.common(THRESHOLD_START):
                break  # improved going down: no need to look up

    def per_site(self, mip_gap: float) -> None:
        """One threshold per site, largest sites first, until a pass improves nothing."""
        final_year = self.nm.data.years[-1]
        capacity = self.relaxed["capacity"]
        order = sorted(self.sites, key=lambda k: -capacity.get((k, final_year), 0.0))
        improved = self.best["thresholds"] is not None
        while improved and self.affordable(mip_gap):
            improved = False
            for k in order:
                for step in SITE_STEPS:
                    if not self.affordable(mip_gap):
                        break
                    trial = dict(self.best["thresholds"])
                    trial[k] = round(min(1.0, max(0.0, trial[k] + step)), 6)
                    before = self.best["objective"]
                    if self.evaluate(trial) < before:
                        improved = True

    def run(self, mip_gap: float) -> dict[str, Any] | None:
        """The search, then :func:`lp_rounding`'s result (None: no plan)."""
        self.report(False)
        self.one_threshold(mip_gap)
        self.per_site(mip_gap)
        if self.best["values"] is None and not self.nm.interrupted:
            # round up, every point used: keeps the relaxation's flows feasible
            self.evaluate(self.common(0.0), "any use")
        if self.best["values"] is None:
            return None
        return {"objective": self.best["objective"], "values": self.best["values"],
                "thresholds": self.best["thresholds"],
                "collection_points": self.best["rule"], "plans": len(self.solved),
                "improvements": self.improvements, "bound": self.relaxed["bound"],
                "seconds": self.budget.elapsed()}
