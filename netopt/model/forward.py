"""A starting plan built forward in time: each year solved on its own, on top of the last.

The first year is solved as a MIP of its own (its supply, every facility). What it
opens, and each dismantling site's level, then stand in the next year's case as
existing: open, and a level it may raise but not lower. So year by year the openings
never close and no site shrinks, and together the years are a plan of the whole case.
Each year is about a tenth of the whole model, and with the years before it fixed,
HiGHS proves most of them in seconds, where its search on the whole model spends
minutes at the root (BENCHMARKS.md, issue 2).

The plan is myopic: a year opens what serves it best, not what serves the years after
it. It is the search's starting plan, not its answer: :func:`netopt.solve` compares it
with the LP-rounding plan of :mod:`netopt.model.heuristic` and hands the better one to
HiGHS. On the default China case, with 15 s a year, it gives CNY -1,349 M, where the
rounding's threshold search reaches -1,325 M in twice the time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from netopt.case import Case
from netopt.model.bounds import year_case
from netopt.model.build import NetworkModel, build_model
from netopt.model.network import discount_factors, prepare
from netopt.plan import OPTIMAL, TIME_LIMIT

#: (model variable, case table) of each facility that opens and stays open.
FACILITIES = (("open_collection_point", "collection_points"),
              ("open_recycler", "recyclers"),
              ("open_reuse_outlet", "reuse_outlets"))
#: The first year's share of the time, against 1 for each later year: it decides the
#: most (every later year builds on it) and, with nothing fixed, is the slowest to solve.
FIRST_YEAR_WEIGHT = 3.0
#: Each year is solved to at least this gap: a starting plan need not be proven.
YEAR_GAP_FLOOR = 1e-3

YEAR_BY_YEAR_COLUMNS = ["year", "status", "objective_cny", "gap", "seconds",
                        "facilities_open", "site_capacity_t_per_yr"]

ONE = 0.5  # a binary's value above this counts as 1


def _carry_over(case: Case, nm: NetworkModel, year: int) -> tuple[Case, dict[str, Any]]:
    """``case`` with what the solved year model ``nm`` opened marked as existing."""
    m = nm.model
    changes: dict[str, Any] = {}
    opened: dict[str, set[str]] = {}
    for var_name, table_name in FACILITIES:
        var = getattr(m, var_name)
        now = {str(f) for (f, t), v in var.items() if t == year and (v.value or 0.0) > ONE}
        opened[var_name] = now
        table = getattr(case, table_name)
        if "existing" in table.columns and now:
            table = table.copy()
            table["existing"] = [bool(e) or str(f) in now
                                 for f, e in zip(table.index, table["existing"])]
            changes[table_name] = table
    levels = {str(k): str(lv) for (k, lv, t), v in m.site_level.items()
              if t == year and (v.value or 0.0) > ONE}
    if levels:
        sites = case.dismantling_sites.copy()
        sites["existing_level"] = [levels.get(str(k), e)
                                   for k, e in zip(sites.index, sites["existing_level"])]
        changes["dismantling_sites"] = sites
    return (case.replace(**changes) if changes else case), {"open": opened,
                                                            "levels": levels}


def year_by_year_plan(
    case: Case,
    *,
    time_limit: float | None = None,
    mip_gap: float = 1e-4,
    threads: int | None = None,
    progress: Callable[[dict[str, float]], None] | None = None,
) -> dict[str, Any] | None:
    """Openings and site levels of every year, chosen forward in time; None if none.

    ``time_limit`` (seconds) is shared among the years as they come: the first year
    gets ``FIRST_YEAR_WEIGHT`` shares, each later one share of what is left, and a year
    done early leaves its time to the rest. Each year stops at ``mip_gap`` or
    ``YEAR_GAP_FLOOR``, whichever is larger. There is no plan if a year finds none (it
    is infeasible on top of the years before, or out of time). Ctrl-C raises
    KeyboardInterrupt.

    Returns ``open`` (year -> model variable name -> facility ids open that year),
    ``levels`` (year -> site -> level), ``table`` (one row per year: status, the year's
    cost in CNY discounted to the first year, gap, seconds, facilities open, site
    capacity in t/yr), ``objective`` (their sum, CNY: the plan's cost in the whole
    case) and ``seconds``.
    """
    from netopt.model.solve import run_solver

    years = list(case.years)
    factors = discount_factors(years, case.parameters["discount_rate"])
    weights = [FIRST_YEAR_WEIGHT] + [1.0] * (len(years) - 1)
    start = time.perf_counter()
    current = case
    result: dict[str, Any] = {"open": {}, "levels": {}}
    rows: list[dict[str, Any]] = []
    for position, year in enumerate(years):
        limit = None
        if time_limit is not None:
            left = time_limit - (time.perf_counter() - start)
            limit = max(1.0, left * weights[position] / sum(weights[position:]))
        clock = time.perf_counter()
        nm = build_model(prepare(year_case(current, year)))
        solved = run_solver(nm, time_limit=limit, mip_gap=max(mip_gap, YEAR_GAP_FLOOR),
                            threads=threads)
        if nm.interrupted:
            raise KeyboardInterrupt  # (caught in HiGHS's thread: pass it on)
        if solved["status"] not in (OPTIMAL, TIME_LIMIT):
            return None
        current, chosen = _carry_over(current, nm, year)
        result["open"][year] = chosen["open"]
        result["levels"][year] = chosen["levels"]
        capacity = nm.data.levels.set_index(["dismantling_site_id", "level"])[
            "capacity_t_per_yr"]
        rows.append({
            "year": year, "status": solved["status"],
            "objective_cny": factors[year] * solved["objective"], "gap": solved["gap"],
            "seconds": time.perf_counter() - clock,
            "facilities_open": sum(len(ids) for ids in chosen["open"].values()),
            "site_capacity_t_per_yr": float(sum(capacity[(k, lv)]
                                                for k, lv in chosen["levels"].items())),
        })
        if progress is not None:
            progress({"time_s": time.perf_counter() - start, "objective": math.inf,
                      "bound": -math.inf, "gap": math.inf, "nodes": 0.0, "improved": 0.0,
                      "phase": f"starting plan, year {year}"})
    table = pd.DataFrame(rows, columns=YEAR_BY_YEAR_COLUMNS)
    result.update(table=table, objective=float(table["objective_cny"].sum()),
                  seconds=time.perf_counter() - start)
    return result


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
