"""A starting plan built forward in time: each year solved on its own, on top of the last.

First pass: the first year is solved as a MIP of its own (its supply, every facility).
What it opens, and each dismantling site's level, then stand in the next year's case as
existing: open, and a level it may raise but not lower. So year by year the openings
never close and no site shrinks, and together the years are a plan of the whole case.
Each year is about a tenth of the whole model, and with the years before it fixed,
HiGHS gets far on it, where its search on the whole model stalls at the root
(BENCHMARKS.md, 'Starting plan: year by year, then two years at a time').

The first pass is myopic: a year opens what serves it best, not what the years after it
must then keep. The second pass (:func:`improve_year_by_year`) solves two years at a
time again, between what the year before and the year after open, and keeps what costs
less.

The passes run in the rounds of :mod:`netopt.model.decompose`, beside the years'
bound; their best plan is the search's starting plan, not its answer. A year's MIP needs
time to be worth keeping, and one stopped by its time limit stops at a different point
each run, so plans vary from run to run (BENCHMARKS.md, 'Starting plan: year by year,
then two years at a time').
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from netopt.case import Case
from netopt.model.bounds import open_site_sizes, years_case
from netopt.model.build import NetworkModel, build_model
from netopt.model.heuristic import level_capacities
from netopt.model.highs import (
    Budget,
    SolveResult,
    binaries_relaxed,
    model_rows,
    run_solver,
)
from netopt.model.network import discount_factors, prepare
from netopt.plan import OPTIMAL

#: (model variable, case table) of each facility that opens and stays open.
FACILITIES = (("open_collection_point", "collection_points"),
              ("open_recycler", "recyclers"),
              ("open_reuse_outlet", "reuse_outlets"),
              ("site_open", "dismantling_sites"))  # (sites sized by the tonne)
#: The first year's share of the time, against 1 for each later year: it decides the
#: most (every later year builds on it) and, with nothing fixed, is the slowest to solve.
FIRST_YEAR_WEIGHT = 3.0
#: Each window of the second pass gets at least this many seconds (or what is left): a
#: shorter solve rarely beats the first pass, so the early windows, whose openings the
#: later years inherit, go first and get enough.
WINDOW_MIN_SECONDS = 15.0

YEAR_BY_YEAR_COLUMNS = ["year", "status", "objective_cny", "gap", "seconds",
                        "facilities_open", "site_capacity_t_per_yr"]

ONE = 0.5  # a binary's value above this counts as 1


def _chosen(nm: NetworkModel, year: int) -> dict[str, Any]:
    """What the solved model ``nm`` opens in ``year``: facility ids by model variable
    (``open``) and each open site's level (``levels``)."""
    m = nm.model
    opened = {var_name: {str(f) for (f, t), v in getattr(m, var_name).items()
                         if t == year and (v.value or 0.0) > ONE}
              for var_name, _table in FACILITIES}
    levels = {str(k): str(lv) for (k, lv, t), v in m.site_level.items()
              if t == year and (v.value or 0.0) > ONE}
    return {"open": opened, "levels": levels, "sizes": open_site_sizes(nm, year)}


#: Tonnes per year a size handed from one year to the next may lose to rounding.
SIZE_TOLERANCE_T = 1e-6


def _keep_sizes(nm: NetworkModel, below: dict[str, Any] | None,
                above: dict[str, Any] | None, keep_sizes: bool = True) -> None:
    """Keep open the sites sized by the tonne that ``below`` (the year before) opened,
    and, with ``keep_sizes``, bound their sizes: at least what ``below`` built, at most
    what ``above`` (the year after) has."""
    m = nm.model
    for (k, _t), size in m.site_size.items():
        if below is not None and str(k) in below.get("sizes", {}):
            m.site_open[k, _t].setlb(1)
            if keep_sizes:
                size.setlb(max(0.0, below["sizes"][str(k)] - SIZE_TOLERANCE_T))
        if above is not None and keep_sizes:
            size.setub(above.get("sizes", {}).get(str(k), 0.0) + SIZE_TOLERANCE_T)


@dataclass(frozen=True)
class SitesRounding:
    """A pass's years whose own model has more than ``min_rows`` rows take their
    dismantling sites sized by the tonne from their LP: open where the relaxed opening
    reaches ``threshold`` (or a year before opened it), shut elsewhere; the year's MIP
    then chooses the rest with the sites held. At 10,000 dealers HiGHS finds poor plans
    for a whole year in its time, and good ones once the sites are held (BENCHMARKS.md,
    'Scale: 10,000 dealers, each year's sites from its LP')."""

    threshold: float = 0.5
    min_rows: int = 40_000


def _hold_sites_from_relaxation(nm: NetworkModel, threshold: float, budget: Budget,
                                threads: int | None) -> None:
    """Fix each free site opening of the (one-year or window) model ``nm`` as its LP
    rounds at ``threshold``; left free if the LP is not solved within ``budget``."""
    with binaries_relaxed(nm.model):
        relaxed = run_solver(nm, time_limit=budget.left(1.0), threads=threads)
    if relaxed.status == OPTIMAL:
        hold_sites_as_rounded(nm, threshold)


def hold_sites_as_rounded(nm: NetworkModel, threshold: float) -> int:
    """Fix each free site opening of ``nm``, which holds a relaxed solution: open where
    it is at least ``threshold`` or must be (an existing site), else shut. Returns how
    many sites are held open (sites fixed before count, and keep their value)."""
    opened = 0
    for v in nm.model.site_open.values():
        if not v.fixed:  # (a site a year before opened stays open whatever the LP)
            v.fix(1.0 if (v.lb or 0.0) >= 1.0 or (v.value or 0.0) >= threshold else 0.0)
        opened += int((v.value or 0.0) > 0.5)
    return opened


def _with_existing(case: Case, chosen: dict[str, Any]) -> Case:
    """``case`` with the facilities and site levels of ``chosen`` marked as existing."""
    changes: dict[str, Any] = {}
    for var_name, table_name in FACILITIES:
        now = chosen["open"][var_name]
        table = getattr(case, table_name)
        if "existing" in table.columns and now:
            table = table.copy()
            table["existing"] = [bool(e) or str(f) in now
                                 for f, e in zip(table.index, table["existing"])]
            changes[table_name] = table
    if chosen["levels"]:
        sites = case.dismantling_sites.copy()
        sites["existing_level"] = [chosen["levels"].get(str(k), e)
                                   for k, e in zip(sites.index, sites["existing_level"])]
        changes["dismantling_sites"] = sites
    return case.replace(**changes) if changes else case


def _solve_years(case: Case, window: list[int], *, time_limit: float | None,
                 mip_gap: float, threads: int | None, below: dict[str, Any] | None = None,
                 above: dict[str, Any] | None = None, keep_sizes: bool = True,
                 sites_rounding: SitesRounding | None = None,
                 ) -> tuple[NetworkModel, SolveResult]:
    """Solve the consecutive years ``window`` of ``case`` on their own, opening at least
    what ``below`` opens (the year before them) and at most what ``above`` opens (the
    year after them), if given; a large window's sites from its LP if ``sites_rounding``
    says so (``stats["sites_rounded"]``)."""
    watch = Budget()
    if below is not None:
        case = _with_existing(case, below)
    nm = build_model(prepare(years_case(case, window)))
    build_s = watch.elapsed()
    budget = Budget(time_limit)
    _keep_sizes(nm, below, above, keep_sizes)
    if above is not None:
        m = nm.model
        for var_name, _table in FACILITIES:
            for (f, _t), v in getattr(m, var_name).items():
                if not v.fixed and str(f) not in above["open"][var_name]:
                    v.fix(0)
        capacity = level_capacities(nm)
        for (k, lv, _t), v in m.site_level.items():
            most = capacity[k].get(above["levels"].get(str(k)), 0.0)
            if not v.fixed and capacity[k][lv] > most:
                v.fix(0)
    rounded = False
    if sites_rounding is not None and model_rows(nm) > sites_rounding.min_rows:
        _hold_sites_from_relaxation(nm, sites_rounding.threshold, budget, threads)
        rounded = True
    solved = run_solver(nm, time_limit=budget.left(1.0), mip_gap=mip_gap,
                        threads=threads)
    solved = solved.but(stats={"build_s": build_s, "sites_rounded": rounded})
    if nm.interrupted:
        raise KeyboardInterrupt  # (caught in HiGHS's thread: pass it on)
    return nm, solved


def _year_cost(nm: NetworkModel, year: int) -> float:
    """Cost (CNY, not discounted) of ``year`` in the solved model ``nm``."""
    return float(sum(c * (v.value or 0.0) for (_category, _member, t), pairs
                     in nm.cost_terms.items() if t == year for c, v in pairs))


def year_by_year_plan(
    case: Case,
    *,
    time_limit: float | Budget | None = None,
    mip_gap: float = 1e-4,
    threads: int | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
    backward: bool = False,
    keep_sizes: bool = True,
    sites_rounding: SitesRounding | None = None,
) -> dict[str, Any] | None:
    """Openings and site levels of every year, chosen forward in time; None if none.

    ``backward``: the years go from the last to the first instead, each opening at most
    what the year after it opens (no site larger): the last year gets its own best
    network, and each year before it the part of that network it needs.

    ``keep_sizes=False`` (sites sized by the tonne): a year keeps the sites the year
    before opened but not their sizes, which the plan's LP over the whole case chooses
    (:func:`plan_values` fixes openings only). The years' costs in ``table`` then leave
    out what sizes that never shrink cost; the LP's cost is the plan's.

    ``sites_rounding``: large years take their sites from their LP (:class:`SitesRounding`).

    ``time_limit`` (seconds, or a :class:`~netopt.model.highs.Budget`) is shared among
    the years as they come: the first year
    gets ``FIRST_YEAR_WEIGHT`` shares, each later one share of what is left, and a year
    done early leaves its time to the rest. Each year stops at ``mip_gap``. There is no
    plan if a year finds none (it is infeasible on top of the years before, or out of
    time). Ctrl-C raises KeyboardInterrupt.

    Returns ``open`` (year -> model variable name -> facility ids open that year),
    ``levels`` (year -> site -> level), ``table`` (one row per year: status, the year's
    cost in CNY discounted to the first year, gap, seconds, facilities open, site
    capacity in t/yr), ``objective`` (their sum, CNY: the plan's cost in the whole
    case), ``seconds``, and ``build_s`` (of those, building the years' models).
    """
    years = list(case.years)
    factors = discount_factors(years, case.parameters["discount_rate"])
    weights = [FIRST_YEAR_WEIGHT] + [1.0] * (len(years) - 1)
    budget = Budget.of(time_limit)
    chosen: dict[str, Any] | None = None  # what the year before (after) opened
    result: dict[str, Any] = {"open": {}, "levels": {}, "sizes": {}, "build_s": 0.0}
    rows: list[dict[str, Any]] = []
    for position, year in enumerate(years[::-1] if backward else years):
        limit = budget.share(weights[position] / sum(weights[position:]), floor=1.0)
        watch = Budget()
        nm, solved = _solve_years(case, [year], time_limit=limit, mip_gap=mip_gap,
                                  threads=threads, below=None if backward else chosen,
                                  above=chosen if backward else None,
                                  keep_sizes=keep_sizes, sites_rounding=sites_rounding)
        result["build_s"] += solved.stats["build_s"]
        if not solved.has_plan:
            return None
        if position == 0 and not solved.stats["sites_rounded"]:
            # the first year alone: its bound bounds that year of any plan
            result["first_year_bound_cny"] = factors[year] * solved.bound
            result["first_year"] = year
        chosen = _chosen(nm, year)
        result["open"][year] = chosen["open"]
        result["levels"][year] = chosen["levels"]
        result["sizes"][year] = chosen["sizes"]
        rows.append(_year_row(nm, year, solved, factors[year] * _year_cost(nm, year),
                              chosen, watch.elapsed()))
        if progress is not None:
            progress({"time_s": budget.elapsed(), "objective": math.inf,
                      "bound": -math.inf, "gap": math.inf, "nodes": 0.0, "improved": 0.0,
                      "phase": f"starting plan, year {year}"})
    table = pd.DataFrame(rows, columns=YEAR_BY_YEAR_COLUMNS).sort_values(
        "year", ignore_index=True)
    result.update(table=table, objective=float(table["objective_cny"].sum()),
                  seconds=budget.elapsed())
    return result


def improve_year_by_year(
    case: Case,
    plan: dict[str, Any],
    *,
    window: int = 2,
    time_limit: float | Budget | None = None,
    mip_gap: float = 1e-4,
    threads: int | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
    keep_sizes: bool = True,
    sites_rounding: SitesRounding | None = None,
) -> dict[str, Any]:
    """A plan of :func:`year_by_year_plan` improved ``window`` years at a time.

    Each run of ``window`` consecutive years is solved again as one MIP, opening at
    least what the year before it opens and at most what the year after it opens, so
    that the plan stays a plan of the whole case; its new openings are kept if they cost
    less (``keep_sizes`` and ``sites_rounding`` as :func:`year_by_year_plan`'s). This
    undoes the first pass's myopia where it can: two years solved together
    see that what the first opens, the second must keep. Sweeps go from the first years
    to the last until one improves nothing; ``time_limit`` (seconds, or a Budget) is
    shared among the windows of each sweep as they come, each getting at least
    ``WINDOW_MIN_SECONDS``.
    Returns a new plan, as :func:`year_by_year_plan`'s, with the ``sweeps`` done.
    """
    years = list(case.years)
    window = max(1, min(window, len(years)))
    factors = discount_factors(years, case.parameters["discount_rate"])
    budget = Budget.of(time_limit)
    plan = {**plan, "open": dict(plan["open"]), "levels": dict(plan["levels"]),
            "sizes": dict(plan["sizes"])}
    rows = {row["year"]: row for row in plan["table"].to_dict("records")}

    def neighbour(position: int) -> dict[str, Any] | None:
        if not 0 <= position < len(years):
            return None
        return {"open": plan["open"][years[position]],
                "levels": plan["levels"][years[position]],
                "sizes": plan["sizes"][years[position]]}

    starts = list(range(len(years) - window + 1))
    sweeps, improved, out_of_time = 0, True, False
    while improved and not out_of_time:
        improved = False
        for number, first in enumerate(starts):
            if budget.spent(1.0):
                out_of_time = True
                break
            left = budget.left()
            limit = None if left is None else max(left / (len(starts) - number),
                                                  min(left, WINDOW_MIN_SECONDS))
            watch = Budget()
            span = years[first:first + window]
            nm, solved = _solve_years(case, span, time_limit=limit, mip_gap=mip_gap,
                                      threads=threads, below=neighbour(first - 1),
                                      above=neighbour(first + window),
                                      keep_sizes=keep_sizes, sites_rounding=sites_rounding)
            plan["build_s"] = plan.get("build_s", 0.0) + solved.stats["build_s"]
            if solved.has_plan:
                costs = {year: factors[year] * _year_cost(nm, year) for year in span}
                before = sum(rows[year]["objective_cny"] for year in span)
                if sum(costs.values()) < before - 1e-9 * max(1.0, abs(before)):
                    seconds = watch.elapsed()
                    for year in span:
                        chosen = _chosen(nm, year)
                        plan["open"][year] = chosen["open"]
                        plan["levels"][year] = chosen["levels"]
                        plan["sizes"][year] = chosen["sizes"]
                        rows[year] = _year_row(nm, year, solved, costs[year], chosen,
                                               seconds)
                    improved = True
            if progress is not None:  # (the plan so far is a plan of the whole case)
                progress({"time_s": budget.elapsed(),
                          "objective": sum(row["objective_cny"] for row in rows.values()),
                          "bound": -math.inf, "gap": math.inf, "nodes": 0.0,
                          "improved": float(improved),
                          "phase": f"starting plan, years {span[0]}-{span[-1]} again"})
        else:
            sweeps += 1
    table = pd.DataFrame([rows[year] for year in years], columns=YEAR_BY_YEAR_COLUMNS)
    plan.update(table=table, objective=float(table["objective_cny"].sum()),
                seconds=plan.get("seconds", 0.0) + budget.elapsed(),
                sweeps=sweeps)
    return plan


def _year_row(nm: NetworkModel, year: int, solved: SolveResult, cost: float,
              chosen: dict[str, Any], seconds: float) -> dict[str, Any]:
    """The plan's table row of ``year`` (``cost``: CNY, discounted as the whole case)."""
    capacity = level_capacities(nm)
    return {"year": year, "status": str(solved.status),
            "objective_cny": cost, "gap": solved.gap,
            "seconds": seconds,
            "facilities_open": sum(len(ids) for ids in chosen["open"].values()),
            "site_capacity_t_per_yr": float(sum(capacity[k][lv]
                                                for k, lv in chosen["levels"].items())
                                            + sum(chosen["sizes"].values()))}


def plan_values(nm: NetworkModel, plan: dict[str, Any]) -> dict[int, float]:
    """0/1 value (by ``id`` of variable) of every free opening and level of the whole
    model ``nm`` in a plan of :func:`year_by_year_plan`."""
    m = nm.model
    values: dict[int, float] = {}
    for var_name, _table in FACILITIES:
        for (f, t), v in getattr(m, var_name).items():
            if not v.fixed:
                values[id(v)] = 1.0 if str(f) in plan["open"][t][var_name] else 0.0
    for (k, lv, t), v in m.site_level.items():
        if not v.fixed:
            values[id(v)] = 1.0 if plan["levels"][t].get(str(k)) == str(lv) else 0.0
    return values
