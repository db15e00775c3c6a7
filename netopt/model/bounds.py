"""A lower bound on a multi-year case's optimum from its years solved one by one.

Dropping the rows that link the years (a site's capacity never shrinks, a facility once
open stays open, and an opening budget over the whole horizon, which each year's own
opening costs then meet alone) leaves one independent MIP per year. Their optima,
discounted and summed, are the optimum of a relaxation, so the sum of their proven
bounds is a lower bound on the whole case's optimum.

It is much stronger than the relaxation of the whole model wherever the capacity
levels are what makes the MIP hard: the relaxation of the whole model buys each site
exactly the capacity it uses, while the year-by-year bound pays for whole levels in
every year and gives up only the link between the years. On the default China case
(BENCHMARKS.md) it raises the bound from CNY -1.66 bn to about -1.48 bn, against a best
plan of -1.33 bn. Each year is a MIP about a tenth of the whole, and HiGHS's search
proves far more on ten small trees than on one large one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from netopt.case import Case
from netopt.model.build import build_model
from netopt.model.network import discount_factors, prepare
from netopt.plan import INFEASIBLE

YEAR_BOUND_COLUMNS = ["year", "discount_factor", "status", "objective_cny", "bound_cny",
                      "seconds"]


def year_case(case: Case, year: int) -> Case:
    """The case restricted to one year: its supply, with every facility and parameter."""
    return case.replace(years=[year], supply=case.supply[case.supply["year"] == year])


def year_relaxation_bound(
    case: Case,
    *,
    time_limit: float | None = None,
    mip_gap: float = 1e-4,
    threads: int | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[float, pd.DataFrame]:
    """Lower bound (CNY, discounted) on the case's optimum, and one row per year.

    Each year is solved on its own (see the module's docstring); the bound is the sum of
    the years' proven bounds, each discounted as in the whole case. ``time_limit``
    (seconds) is shared out among the years still to solve, so that a year finished
    early leaves its time to the rest. A year stopped before HiGHS proves any bound
    makes the bound -inf; an infeasible year makes it +inf (the whole case is then
    infeasible too).

    The table's columns: ``year``, ``discount_factor``, ``status`` (as a Plan's),
    ``objective_cny`` (the year's best plan, discounted: their sum is no plan of the
    whole case, since the years need not fit together), ``bound_cny`` (discounted) and
    ``seconds``. ``progress``, if given, is called after each year with its row.
    """
    from netopt.model.solve import run_solver

    years = list(case.years)
    factors = discount_factors(years, case.parameters["discount_rate"])
    start = time.perf_counter()
    rows = []
    for done, year in enumerate(years):
        clock = time.perf_counter()
        limit = None
        if time_limit is not None:
            left = time_limit - (clock - start)
            limit = max(1.0, left / (len(years) - done))
        nm = build_model(prepare(year_case(case, year)))
        result = run_solver(nm, time_limit=limit, mip_gap=mip_gap, threads=threads)
        weight = factors[year]
        if result["status"] == INFEASIBLE:
            bound = math.inf
        else:
            bound = result["bound"] if math.isfinite(result["bound"]) else -math.inf
        row = {"year": year, "discount_factor": weight, "status": result["status"],
               "objective_cny": weight * result["objective"], "bound_cny": weight * bound,
               "seconds": time.perf_counter() - clock}
        rows.append(row)
        if progress is not None:
            progress(dict(row))
        if nm.interrupted:
            break
    table = pd.DataFrame(rows, columns=YEAR_BOUND_COLUMNS)
    if (table["bound_cny"] == math.inf).any():
        return math.inf, table
    if len(table) < len(years):  # stopped (Ctrl-C) before every year was solved
        return -math.inf, table
    return float(table["bound_cny"].sum()), table
