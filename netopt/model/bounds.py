"""A lower bound on a multi-year case's optimum from its years solved one by one.

Dropping the rows that link the years (a site's capacity never shrinks, a facility once
open stays open, and an opening budget over the whole horizon, which each year's own
opening costs then meet alone) leaves one independent MIP per year. Their optima,
discounted and summed, are the optimum of a relaxation, so the sum of their proven
bounds is a lower bound on the whole case's optimum.

It is much stronger than the relaxation of the whole model wherever the capacity
levels are what makes the MIP hard: the relaxation of the whole model buys each site
exactly the capacity it uses, while the year-by-year bound pays for whole levels in
every year and gives up only the link between the years. Each year is a MIP about a
tenth of the whole, and HiGHS's search proves far more on ten small trees than on one
large one (BENCHMARKS.md, 'A stronger bound: each year on its own').
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pandas as pd
import pyomo.environ as pyo

from netopt.case import Case
from netopt.model.build import NetworkModel, build_model
from netopt.model.highs import Budget, binaries, model_rows, run_solver
from netopt.model.network import discount_factors, prepare
from netopt.plan import INFEASIBLE, OPTIMAL
from netopt.pool import local_pool

#: (lower, upper) bounds on sites' sizes, t/yr by site id
SiteSizeBounds = tuple[dict[str, float], dict[str, float]]
#: t/yr by which a site's lower bound may pass its upper one before the year is taken
#: as infeasible (the bounds come from sizes a solver reported)
SIZE_BOUNDS_CROSS_T = 1e-6

YEAR_BOUND_COLUMNS = ["year", "discount_factor", "status", "objective_cny", "bound_cny",
                      "seconds"]


def years_case(case: Case, years: list[int]) -> Case:
    """The case restricted to some of its years: their supply, with every facility and
    parameter (costs discounted to the first of them)."""
    return case.replace(years=list(years), supply=case.supply[case.supply["year"].isin(years)])


def year_case(case: Case, year: int) -> Case:
    """The case restricted to one year: its supply, with every facility and parameter."""
    return years_case(case, [year])


def solve_year_alone(case: Case, year: int, weight: float, time_limit: float | None,
                     mip_gap: float, threads: int | None,
                     site_sizes: SiteSizeBounds | None = None,
                     points_relaxed: bool = False,
                     lp_above_rows: int | None = None) -> dict[str, Any]:
    """One row of the bound's table: ``year`` of ``case`` solved on its own (in a worker
    or here), its objective and bound discounted by ``weight``; stops at ``mip_gap``.

    ``points_relaxed``: the collection points' openings may be fractional, the sites
    and every other choice stay whole. That is a relaxation of the year, so its bound is
    one of the year's too, and where the points' many binaries keep HiGHS near the root
    it is the stronger (BENCHMARKS.md, 'Scale: the collection points relaxed'); its
    objective is no plan's cost, and the row gives ``objective_cny`` nan.

    ``lp_above_rows``: a year whose model has more rows than this is solved as its LP
    (every opening fractional), a bound in seconds where its MIP would not leave the
    root in minutes (BENCHMARKS.md, 'Scale: 10,000 dealers, each year's sites from its
    LP'); the row says ``relaxed`` and gives ``objective_cny`` inf (no plan).

    ``site_sizes`` (lower, upper: t/yr by site sized by the tonne) holds those sites'
    sizes within bounds; bounds that cross make the year infeasible (bound inf) without
    a solve. The row's ``site_sizes_t_per_yr`` gives each open site's size in the
    year's best plan (sites sized by the tonne; empty if none or no plan).
    """
    watch = Budget()
    lower, upper = site_sizes if site_sizes is not None else ({}, {})
    if any(low > upper.get(k, math.inf) + SIZE_BOUNDS_CROSS_T for k, low in lower.items()):
        return {"year": year, "discount_factor": weight, "status": INFEASIBLE,
                "objective_cny": math.inf, "bound_cny": math.inf, "seconds": 0.0,
                "interrupted": False, "site_sizes_t_per_yr": {}}
    nm = build_model(prepare(year_case(case, year)))
    for k, low in lower.items():
        nm.model.site_size[k, year].setlb(low)
    for k, high in upper.items():
        nm.model.site_size[k, year].setub(high)
    if points_relaxed:
        for v in nm.model.open_collection_point.values():
            v.domain = pyo.UnitInterval
    relaxed = lp_above_rows is not None and model_rows(nm) > lp_above_rows
    if relaxed:
        for v in binaries(nm.model):
            v.domain = pyo.UnitInterval
    result = run_solver(nm, time_limit=time_limit, mip_gap=mip_gap, threads=threads)
    if result.status == INFEASIBLE:
        bound = math.inf
    elif relaxed:  # the LP's optimum, if it reached it, bounds the year
        bound = result.objective if result.status == OPTIMAL else -math.inf
    else:
        bound = result.bound if math.isfinite(result.bound) else -math.inf
    objective = math.nan if points_relaxed else math.inf if relaxed \
        else weight * result.objective
    return {"year": year, "discount_factor": weight, "status": str(result.status),
            "objective_cny": objective, "bound_cny": weight * bound,
            "seconds": watch.elapsed(), "interrupted": nm.interrupted,
            "points_relaxed": points_relaxed, "relaxed": relaxed,
            "site_sizes_t_per_yr": {} if relaxed else open_site_sizes(nm, year)}


def open_site_sizes(nm: NetworkModel, year: int) -> dict[str, float]:
    """Size (t/yr) of each site sized by the tonne that the solved ``nm`` opens in
    ``year`` (empty when it holds no plan)."""
    m = nm.model
    return {str(k): float(m.site_size[k, t].value or 0.0)
            for (k, t), v in m.site_open.items()
            if t == year and v.value is not None and v.value > 0.5}


def year_relaxation_bound(
    case: Case,
    *,
    time_limit: float | Budget | None = None,
    mip_gap: float = 1e-4,
    threads: int | None = None,
    workers: int = 1,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[float, pd.DataFrame]:
    """Lower bound (CNY, discounted) on the case's optimum, and one row per year.

    Each year is solved on its own (see the module's docstring); the bound is the sum of
    the years' proven bounds, each discounted as in the whole case. ``time_limit``
    (seconds of wall time, or a :class:`~netopt.model.highs.Budget`) is shared out
    among the years still to start, so that a year finished early leaves its time to
    the rest. A year stopped before HiGHS proves any
    bound makes the bound -inf; an infeasible year makes it +inf (the whole case is then
    infeasible too).

    ``workers`` > 1 solves that many years at once in worker processes, each HiGHS with
    one thread: HiGHS's tree search is mostly serial, so a year gains little from a
    second thread (BENCHMARKS.md, 'A stronger bound: each year on its own').

    The table's columns: ``year``, ``discount_factor``, ``status`` (as a Plan's),
    ``objective_cny`` (the year's best plan, discounted: their sum is no plan of the
    whole case, since the years need not fit together), ``bound_cny`` (discounted) and
    ``seconds``. ``progress``, if given, is called after each year with its row.
    """
    years = list(case.years)
    factors = discount_factors(years, case.parameters["discount_rate"])
    budget = Budget.of(time_limit)
    workers = max(1, min(workers, len(years)))
    rows: list[dict[str, Any]] = []

    def limit_for(running: int) -> float | None:
        """A year's share of the time left: shared with those running and still to start."""
        left = budget.left()
        if left is None:
            return None
        waiting = len(years) - len(rows) - running
        return max(1.0, left * workers / max(1, waiting + running))

    def finish(row: dict[str, Any]) -> None:
        rows.append(row)
        if progress is not None:
            progress({k: v for k, v in row.items()
                      if k not in ("interrupted", "site_sizes_t_per_yr")})

    try:
        if workers == 1:
            for year in years:
                finish(solve_year_alone(case, year, factors[year], limit_for(0), mip_gap,
                                   threads))
                if rows[-1]["interrupted"]:
                    break
        else:
            from concurrent.futures import FIRST_COMPLETED, Future, wait

            with local_pool(workers) as pool:
                queue, running = list(years), set[Future]()
                while queue or running:
                    while queue and len(running) < workers:
                        year = queue.pop(0)
                        running.add(pool.submit(solve_year_alone, case, year, factors[year],
                                                limit_for(len(running)), mip_gap, 1))
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        finish(future.result())
    except KeyboardInterrupt:
        pass  # (any workers are stopped) the years not finished leave no bound
    table = pd.DataFrame(rows, columns=YEAR_BOUND_COLUMNS).sort_values("year",
                                                                      ignore_index=True)
    if (table["bound_cny"] == math.inf).any():
        return math.inf, table
    if len(table) < len(years):  # stopped (Ctrl-C) before every year was solved
        return -math.inf, table
    return float(table["bound_cny"].sum()), table
