"""A starting plan by LP rounding and local search, for models too large to prove.

1. Solve the relaxation. Collection points, recyclers and reuse outlets it opens at all
   are opened (open-stays-open holds, since the relaxed values never decrease). Large
   multi-year models take it one year at a time (:func:`relaxation_by_year`), and a
   facility is then open from the first year a year's relaxation uses it. There, each
   year also chooses its collection points by a MIP over them alone (levels rounded,
   other openings fixed: :func:`_year_points`), since rounding the points is where
   most is lost at scale; the first plan is solved with these points, with the
   relaxation's ("any use") and with the "cover" rule's, and the search goes on with
   the best.
2. Round each dismantling site's relaxed capacity to a level, year by year: the level
   below if the relaxed capacity lies within a share ``threshold`` of the step above it,
   else the level above, never shrinking. With every opening fixed, the flows are
   re-optimised (an LP: about 2 s on the default China case).
3. Search the threshold: one for all sites (from 0.5, stepping towards the better
   neighbour), then one per site (coordinate descent, largest sites first), keeping the
   best plan, while the time budget lasts. A level plan already evaluated is not solved
   again.

On the default China case (benchmarks/heuristic.py) rounding to the nearest level gives
CNY -1.13 bn, the best common threshold (0.4) -1.18 bn and the per-site search -1.33 bn,
where rounding every level up gives -0.37 bn: surplus modules cost more than the packs
they take from outsourcing earn, and HiGHS's own search, started from the best of these,
finds nothing better in minutes. Threshold 0 (round up) keeps the relaxation's flows
feasible, so it is the fallback when every cut-down plan is infeasible (a collection-rate
target, no outsourcing).

:func:`netopt.model.solve.solve` offers the plan to HiGHS as the search's first
incumbent (highspy's user-solution callback), and reports it if the search finds nothing
better before its time limit.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

import pyomo.environ as pyo

from netopt.model.bounds import year_case
from netopt.model.build import NetworkModel, build_model
from netopt.model.highs import binaries, holds_model, model_rows, run_solver, solve_fixed
from netopt.model.network import discount_factors, prepare
from netopt.model.relaxation import relax_with_lazy_links
from netopt.plan import relative_gap
from netopt.pool import local_pool

OPEN_TOLERANCE = 1e-6

#: First rounding threshold tried, and the steps of the search around it.
THRESHOLD_START = 0.5
THRESHOLD_STEP = 0.1
SITE_STEPS = (-0.2, -0.1, 0.1, 0.2)

#: Relaxations of models with more rows than this are solved with their linking rows
#: added as they bind (:func:`netopt.model.relaxation.relax_with_lazy_links`), the first
#: LP by interior point (then crossover) rather than HiGHS's choice, simplex: OR-Library
#: capa, capb and capc (101,101 rows) 5-10 s against 15-40 s for the whole LP. (Whole
#: LPs by interior point: 144 s against 259 s at 3,000 dealers, 189,000 rows, but 17 s
#: against 9 s on the default case, 46,000 rows.)
RELAXATION_IPM_ROWS = 100_000
#: Multi-year models with more rows than this take their relaxation one year at a time
#: (:func:`relaxation_by_year`): at 3,000 dealers (189,000 rows) 61 s for the ten years,
#: builds included, against about 150 s for the whole model's; at 10,000 dealers
#: (620,000 rows) the whole model's was not done in 765 s.
RELAXATION_BY_YEAR_ROWS = 100_000
#: ... that many years at a time, in worker processes (at most the machine's cores).
RELAXATION_BY_YEAR_WORKERS = 2
#: The kinds of facility a relaxation opens (a site's levels are rounded instead; a site
#: sized by the tonne is opened as the others, its size left to the plan's LP).
OPENINGS = ("open_collection_point", "open_recycler", "open_reuse_outlet", "site_open")
#: At scale, each year's MIP over its collection points (:func:`_year_points`) gets this
#: share of the first plan's budget, spread over the years (``workers`` at a time), up
#: to ``POINTS_MIP_SECONDS`` a year.
POINTS_MIP_SHARE = 0.3
POINTS_MIP_SECONDS = 60.0
#: The "cover" rule opens the collection points the relaxation opens at least this much
#: (see :func:`_covering_points`).
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


def _covering_points(nm: NetworkModel) -> set[tuple[str, str, int]]:
    """The collection points of the "cover" rule, as (variable name, point, year), from a
    solved relaxation: those it opens at least ``COVER_THRESHOLD``, and, for each source
    it collects through points none of which is among them, the one it opens most.

    The relaxation spreads a city's packs over many points, each opened about half
    (capacity 1,500 t/yr, paid for in proportion): opening every point it uses at all
    opens about twice as many as a plan needs. On the 3,000-dealer case's 2030 (levels
    rounded, flows re-optimised) every point used gives CNY -120 M, this rule -149 M, and
    the best choice of points (a MIP, 60 s) -154 M; on the default case's 2030 it is the
    other way round (-209 M against -173 M): :func:`lp_rounding` tries both.
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


def _year_points(year_nm: NetworkModel, relaxed: dict[str, Any], time_limit: float,
                 persistent: Any, threads: int | None,
                 allowed: set[str] | None = None) -> dict[str, Any]:
    """The collection points of one year's model chosen by a MIP over the points alone:
    the sites' levels rounded at ``THRESHOLD_START`` and the other openings the
    relaxation uses fixed, started from the better of the "any use" and "cover" rules.

    The points are where rounding loses most at scale: in 2030 of the 10,000-dealer case
    (relaxation CNY -67.0 M) every point used gives CNY +59.9 M, the cover rule -13.1 M
    and this MIP -37.5 M in 90 s, where HiGHS on the whole year's MIP, started from that
    plan, finds nothing better in 180 s (benchmarks/points.py). Returns ``points``
    ((variable name, point, year)) and the year's ``objective`` (CNY), or no points if
    there was no time or no plan. ``allowed`` (point ids), if given, keeps every other
    point closed.
    """
    m = year_nm.model
    free = binaries(m)
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
    held = [v for v in free if id(v) in fixed]
    for v in held:
        v.fix(fixed[id(v)])
    try:
        persistent.update_variables(free)
        result = run_solver(year_nm, time_limit=time_limit, mip_gap=1e-3, threads=threads,
                            persistent=persistent, start=best[1])
    finally:
        for v in held:
            v.unfix()
    if result["status"] not in ("optimal", "time_limit") or result["objective"] > best[0]:
        return {"points": set(), "objective": best[0]}
    return {"points": {("open_collection_point", j, t)
                       for (j, t), v in m.open_collection_point.items()
                       if (v.value or 0.0) > 0.5},
            "objective": result["objective"]}


def _year_model(case: Any, year: int) -> NetworkModel:
    """The model of ``case``'s year ``year`` on its own."""

    return build_model(prepare(year_case(case, year)))


def _points_seconds(deadline: float | None, points_seconds: float) -> float:
    """What a year's points MIP may take: ``points_seconds``, within ``deadline``."""
    return points_seconds if deadline is None else min(points_seconds,
                                                       deadline - time.time())


def _points_row(year_nm: NetworkModel, relaxed: dict[str, Any], seconds: float,
                persistent: Any, threads: int | None,
                allowed: set[str] | None = None) -> dict[str, Any]:
    """:func:`_year_points` as the fields of a year's row: ``points``,
    ``points_objective`` (CNY) and ``interrupted`` (Ctrl-C, caught here or by HiGHS)."""
    try:
        chosen = _year_points(year_nm, relaxed, seconds, persistent, threads, allowed)
    except KeyboardInterrupt:
        year_nm.interrupted = True
        chosen = {"points": set(), "objective": float("nan")}
    return {"points": chosen["points"], "points_objective": chosen["objective"],
            "interrupted": year_nm.interrupted}


def _relax_year(case: Any, year: int, deadline: float | None, threads: int | None,
                points_seconds: float = 0.0) -> dict[str, Any]:
    """One year's relaxation on its own (here or in a worker process), to be done by
    ``deadline`` (``time.time()``): its status, its optimum (CNY, discounted to the year),
    the sites' capacities and the openings used; then, given ``points_seconds``, the
    year's collection points chosen by a MIP for that long at most (``_year_points``),
    within the deadline too."""
    from pyomo.contrib.solver.common.factory import SolverFactory

    year_nm = _year_model(case, year)
    free = binaries(year_nm.model)
    for v in free:
        v.domain = pyo.UnitInterval
    persistent = SolverFactory("highs")
    limit = None if deadline is None else max(1.0, deadline - time.time())
    try:
        persistent.set_instance(year_nm.model)
        result = run_solver(year_nm, time_limit=limit, threads=threads, persistent=persistent)
    except KeyboardInterrupt:
        year_nm.interrupted = True
        result = {"status": "interrupted", "objective": float("nan")}
    finally:
        for v in free:
            v.domain = pyo.Binary
    solved = result["status"] == "optimal" and not year_nm.interrupted
    row = {"year": year, "status": result["status"], "interrupted": year_nm.interrupted,
           "objective": result["objective"],
           "capacity": _relaxed_capacity(year_nm) if solved else {},
           "openings": _relaxed_openings(year_nm) if solved else set(),
           "covering": _covering_points(year_nm) if solved else set(),
           "points": set(), "points_objective": float("nan")}
    seconds = _points_seconds(deadline, points_seconds)
    if solved and points_seconds > 0 and seconds >= 1.0:
        row.update(_points_row(year_nm, row, seconds, persistent, threads))
    return row


def _points_year(case: Any, relaxed: dict[str, Any], deadline: float | None,
                 threads: int | None, points_seconds: float,
                 allowed: set[str] | None) -> dict[str, Any]:
    """One year's points MIP (:func:`_year_points`) on its own model, built again (here or
    in a worker process), from that year's solved relaxation ``relaxed`` (a row of
    :func:`_relax_year`), keeping the points not in ``allowed`` closed."""
    from pyomo.contrib.solver.common.factory import SolverFactory

    row = {"year": relaxed["year"], "interrupted": False, "points": set(),
           "points_objective": float("nan")}
    seconds = _points_seconds(deadline, points_seconds)
    if seconds >= 1.0:
        row.update(_points_row(_year_model(case, relaxed["year"]), relaxed, seconds,
                               SolverFactory("highs"), threads, allowed))
    return row


def relaxation_by_year(nm: NetworkModel, *, time_limit: float | None = None,
                       threads: int | None = None, workers: int = 1,
                       points_seconds: float = 0.0) -> dict[str, Any] | None:
    """The relaxation of ``nm``'s case solved one year at a time, or None if a year's is
    not solved to optimality within ``time_limit`` (seconds, for all the years).

    Dropping the rows that link the years (capacity never shrinks, an opening stays open)
    leaves one LP per year, each about a tenth of the whole and far quicker to solve
    (:data:`RELAXATION_BY_YEAR_ROWS`). Their optima, discounted and summed, bound the
    case's optimum from below (``bound``, CNY), a little below the whole relaxation's
    (CNY -1,600.7 M against -1,597.4 M on the default China case). Also returns each
    dismantling site's relaxed ``capacity`` (t/yr, by (site, year)), the ``openings``
    used, as (variable name, facility, year), and the collection points of the "cover"
    rule (``covering``, alike: :func:`_covering_points`).

    ``points_seconds`` > 0 also gives each year that long at most (within
    ``time_limit``) for a MIP over its collection points (:func:`_year_points`): the
    last year's first, beside the other years' relaxations, then each other year's,
    keeping to the points the last year chose. ``points`` holds the points they open, or
    the cover rule's in a year that had no time, and ``points_years`` the number of
    years a MIP chose.

    ``workers`` > 1 solves that many years at once in worker processes, HiGHS on one
    thread in each (building a year's model is Python, and HiGHS's simplex mostly serial).
    """

    case = nm.case
    years = list(case.years)
    deadline = None if time_limit is None else time.time() + time_limit
    factors = discount_factors(years, case.parameters["discount_rate"])
    workers = max(1, min(workers, len(years)))
    if multiprocessing.current_process().daemon:
        workers = 1  # a daemonic process may not start any (a Dask worker's, for one)

    last = years[-1]
    # the last year first: its points MIP bounds the other years' (second phase)
    order = [last, *years[:-1]] if points_seconds > 0 else years

    def relaxations(threads: int | None) -> list[tuple[Callable, tuple]]:
        return [(_relax_year, (case, year, deadline, threads,
                               points_seconds if year == last else 0.0)) for year in order]

    def point_mips(rows: list[dict[str, Any]], threads: int | None,
                   ) -> list[tuple[Callable, tuple]]:
        """The other years' points MIPs, each keeping to the last year's points: a point
        is open from the first year that chooses it (open stays open), so points chosen
        by early years alone would stay open, unused, to the end (at 3,000 dealers the
        ten years' choices, each made alone, added up to 612 points where 2035 chose
        452; kept to 2035's, 481, and the first plan gains CNY 24 M)."""
        if len(rows) < len(years) or any(not solved(row) for row in rows):
            return []
        # (a last year that opens no point, having nothing to collect, bounds nothing)
        allowed = {j for (_name, j, _t) in rows[0]["points"]} or None
        return [(_points_year, (case, row, deadline, threads, points_seconds, allowed))
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
    """0/1 value (by ``id`` of variable) of every ``site_level`` for a rounding threshold.

    Year by year, a site whose relaxed capacity ``q`` (t/yr, ``capacity[site, year]``)
    lies between levels ``a < b`` gets ``a`` if ``q <= a + threshold (b - a)``, else
    ``b``; never less than the year before or its existing level. Threshold 0 rounds up,
    1 down; a mapping gives each site its own.
    """
    m = nm.model
    sites = nm.case.dismantling_sites
    chosen: dict[int, float] = {}
    for k, by_level in level_capacities(nm).items():
        share = threshold if isinstance(threshold, (int, float)) else threshold[k]
        steps = [(0.0, None), *sorted((cap, lv) for lv, cap in by_level.items())]
        existing = sites.at[k, "existing_level"] if k in sites.index else ""
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
            for lv in by_level:
                chosen[id(m.site_level[k, lv, t])] = 1.0 if lv == pick[1] else 0.0
    return chosen


def lp_rounding(nm: NetworkModel, *, time_limit: float | None = None,
                first_plan_time_limit: float | None = None,
                threads: int | None = None, persistent: Any = None,
                mip_gap: float = 1e-4,
                progress: Callable[[dict[str, float]], None] | None = None,
                rows: int | None = None) -> dict | None:
    """Objective (CNY) and variable values of the best rounded plan, or None if none.

    ``time_limit`` (seconds, from the call) bounds the search: no plan is started after
    it. Without it, the search runs until no step improves the plan. It also stops once
    the best plan is within ``mip_gap`` (relative) of the relaxation's bound.

    ``first_plan_time_limit`` (seconds, from the call; default ``time_limit``) bounds
    the relaxation and the first rounded plan, which are finished even when they run
    past ``time_limit``: on large models the relaxation alone can take most of the time
    a planner gives (about 150 s at 3,000 dealers), and one rounded plan is worth far
    more than none. If the relaxation is not solved within it, there is no plan.

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
    m = nm.model
    start = time.perf_counter()

    first_limit = time_limit if first_plan_time_limit is None else first_plan_time_limit
    if time_limit is not None and first_limit is not None:
        first_limit = max(first_limit, time_limit)

    def left(limit: float | None = time_limit, floor: float = 1.0) -> float | None:
        """Seconds of ``limit`` still unspent (at least ``floor``: a solve's limit)."""
        if limit is None:
            return None
        return max(floor, limit - (time.perf_counter() - start))

    free = binaries(m)

    def solve(**options) -> dict:
        if holds_model(persistent, nm.model):
            persistent.update_variables(free)  # domains and fixings changed
        return run_solver(nm, threads=threads, persistent=persistent, **options)

    def load_persistent() -> bool:
        """Load the model into ``persistent`` now (False if Ctrl-C stopped it), so that
        the next solve's HiGHS time limit (its clock starts after the load: about 20 s at
        3,000 dealers) leaves out what the load has already spent."""
        if persistent is not None and not holds_model(persistent, m):
            try:
                persistent.set_instance(m)
            except KeyboardInterrupt:
                nm.interrupted = True
                return False
        return True

    rows = model_rows(nm) if rows is None else rows
    points: set[tuple[str, str, int]] | None = None  # the years' points MIPs', if any
    if relaxes_by_year(nm, rows):
        workers = min(RELAXATION_BY_YEAR_WORKERS, os.cpu_count() or 1)
        budget = left(first_limit)
        points_seconds = POINTS_MIP_SECONDS if budget is None else min(
            POINTS_MIP_SECONDS, POINTS_MIP_SHARE * budget * workers / len(nm.data.years))
        relaxed = relaxation_by_year(nm, time_limit=budget, threads=threads,
                                     workers=workers, points_seconds=points_seconds)
        if relaxed is None or not load_persistent():
            return None
        used, covering = relaxed["openings"], relaxed["covering"]
        capacity = relaxed["capacity"]
        if relaxed["points_years"]:
            points = relaxed["points"]
    else:
        # large: by interior point (then crossover), the linking rows added as they bind
        lazy = rows > RELAXATION_IPM_ROWS and persistent is not None
        for v in free:
            v.domain = pyo.UnitInterval
        try:
            if not load_persistent():
                return None
            if lazy:  # (on a relaxed copy: the loaded model's domains do not matter)
                relaxed = relax_with_lazy_links(nm, persistent, time_limit=left(first_limit),
                                                threads=threads, method="ipm")
            else:
                method = {"solver": "ipm"} if rows > RELAXATION_IPM_ROWS else {}
                relaxed = solve(time_limit=left(first_limit), options=method)
        finally:
            for v in free:
                v.domain = pyo.Binary
        if relaxed["status"] != "optimal" or nm.interrupted:
            return None  # a relaxation cut short is no guide (and the budget is spent)
        used, covering = _relaxed_openings(nm), _covering_points(nm)
        capacity = _relaxed_capacity(nm)

    # collection points: every one the relaxation uses ("any use"), or the "cover" rule;
    # the first plan is solved with each, and the search goes on with the better
    # (and, year by year at scale, the points of a MIP over them: "points MIP", first)
    others = _without_points(used)
    rules = {"any use": open_from_first_use(nm, used),
             "cover": open_from_first_use(nm, others | covering)}
    if points is not None:
        rules = {"points MIP": open_from_first_use(nm, others | points), **rules}
    search_rule = next(iter(rules))
    # (sites sized by the tonne have no levels to round: their LP sizes them)
    sites = [] if nm.data.continuous_sites else list(level_capacities(nm))
    solved: dict[tuple, float] = {}  # level plan -> objective (inf: infeasible)
    best: dict[str, Any] = {"objective": float("inf"), "thresholds": None, "values": None}
    improvements: list[tuple[float, float]] = []  # (seconds, objective CNY)
    last_seconds = 0.0

    def report(improved: bool) -> None:
        if progress is not None:
            progress({"time_s": time.perf_counter() - start, "objective": best["objective"],
                      "bound": relaxed["bound"], "nodes": 0.0, "improved": float(improved),
                      "gap": relative_gap(best["objective"], relaxed["bound"]),
                      "phase": "starting plan"})

    report(False)

    def evaluate(thresholds: dict[str, float], rule_name: str | None = None) -> float:
        """Objective of the plan rounded with these thresholds and the rule's collection
        points (the search's rule by default), solved once per plan."""
        nonlocal last_seconds
        rule_name = rule_name or search_rule
        levels = round_levels(nm, capacity, thresholds)
        key = (rule_name, tuple(sorted(i for i, on in levels.items() if on)))
        if key in solved:
            return solved[key]
        clock = time.perf_counter()
        # until there is a plan, the first plan's limit; then the search's
        objective, values = solve_fixed(
            nm, {**rules[rule_name], **levels}, persistent=persistent, threads=threads,
            time_limit=left(time_limit if best["values"] else first_limit))
        better = objective < best["objective"]
        if better:
            best.update(objective=objective, thresholds=dict(thresholds), values=values,
                        rule=rule_name)
            improvements.append((time.perf_counter() - start, objective))
        last_seconds = time.perf_counter() - clock
        solved[key] = objective
        report(better)
        return objective

    def affordable() -> bool:
        budget = left(floor=0.0)
        if nm.interrupted or (budget is not None and budget <= last_seconds):
            return False
        return relative_gap(best["objective"], relaxed["bound"]) > mip_gap

    def common(share: float) -> dict[str, float]:
        return dict.fromkeys(sites, share)

    # one threshold for all sites: from THRESHOLD_START towards the better neighbour,
    # with the better rule for collection points at THRESHOLD_START
    names = list(rules)
    evaluate(common(THRESHOLD_START))
    for n, rule_name in enumerate(names[1:], 1):
        if all(rules[rule_name] != rules[other] for other in names[:n]) and affordable():
            evaluate(common(THRESHOLD_START), rule_name)
    search_rule = best.get("rule", search_rule)
    for direction in (-1, 1):
        share = THRESHOLD_START
        while affordable():
            share = round(share + direction * THRESHOLD_STEP, 6)
            if not 0.0 <= share <= 1.0:
                break
            evaluate(common(share))
            if best["thresholds"] != common(share):
                break  # no better than the step before
        if best["thresholds"] is not None and best["thresholds"] != common(THRESHOLD_START):
            break  # improved going down: no need to look up
    # then one per site, largest sites first, until a pass improves nothing
    final_year = nm.data.years[-1]
    order = sorted(sites, key=lambda k: -capacity.get((k, final_year), 0.0))
    improved = best["thresholds"] is not None
    while improved and affordable():
        improved = False
        for k in order:
            for step in SITE_STEPS:
                if not affordable():
                    break
                trial = dict(best["thresholds"])
                trial[k] = round(min(1.0, max(0.0, trial[k] + step)), 6)
                before = best["objective"]
                if evaluate(trial) < before:
                    improved = True
    if best["values"] is None and not nm.interrupted:
        # round up, every point used: keeps the relaxation's flows feasible
        evaluate(common(0.0), "any use")
    if best["values"] is None:
        return None
    return {"objective": best["objective"], "values": best["values"],
            "thresholds": best["thresholds"], "collection_points": best["rule"],
            "plans": len(solved),
            "improvements": improvements, "bound": relaxed["bound"],
            "seconds": time.perf_counter() - start}
