"""Each year's proven bound as a floor on that year's cost in the whole model.

Any plan of the whole case, restricted to one year, is a plan of that year alone, so its
discounted cost that year is at least the year's proven bound B_t. The rows
``discount_t * cost_t >= B_t`` are valid cuts of the whole model: its relaxation then
starts at the years' bound (their sum), and branching on the links between the years
could lift it further. This measures whether it does, on the whole model and on the
same with the collection points relaxed (the sites' binaries integral).

    python benchmarks/year_floors.py --time-limit 600 --variants floors floors-points-relaxed
    python benchmarks/year_floors.py --points-integrality 2030 2033
    python benchmarks/year_floors.py --dealers 3000 --points-integrality 2029 2030 \
        --year-seconds 100 --year-gap 0.005

``--points-integrality YEAR ...``: each year alone as a MIP against the same with its
collection points relaxed (sites integral): what the points' integrality is worth in a
year. Objectives in CNY million, discounted. The years' bounds are solved first (each
year to ``--year-gap`` in at most ``--year-seconds``, two years side by side).
``--dealers N``: the generated case of N dealers instead (``--points-integrality`` then
gives each solve ``--year-seconds`` and ``--year-gap``; on data/china 120 s and 0.02 %).
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pyomo.environ as pyo
from scale import china  # (benchmarks/scale.py, beside this file)

import netopt
from netopt.model.bounds import SiteSizeBounds, solve_year_alone
from netopt.model.build import build_model, linear_sum
from netopt.model.highs import run_solver
from netopt.model.network import discount_factors, prepare


def year_rows(case: netopt.Case, gap: float, seconds: float, years: list[int] | None = None,
              sizes: list[SiteSizeBounds | None] | None = None) -> list[dict[str, Any]]:
    """Each year alone (or each of ``years``, with its ``sizes`` bounds), two side by
    side: the rows of :func:`netopt.model.bounds.solve_year_alone`."""
    years = list(case.years) if years is None else years
    factors = discount_factors(list(case.years), case.parameters["discount_rate"])
    n = len(years)
    with ProcessPoolExecutor(2) as pool:
        return list(pool.map(solve_year_alone, [case] * n, years, [factors[y] for y in years],
                             [seconds] * n, [gap] * n, [1] * n, sizes or [None] * n))


def year_bounds(case: netopt.Case, gap: float, seconds: float) -> dict[int, float]:
    """Each year's proven bound alone (CNY, discounted), two years side by side."""
    return {row["year"]: row["bound_cny"] for row in year_rows(case, gap, seconds)}


def relax_points(model: pyo.ConcreteModel) -> None:
    """The collection points' opening binaries relaxed to [0, 1]."""
    for v in model.open_collection_point.values():
        if not v.fixed:
            v.domain = pyo.UnitInterval


def floored(case: netopt.Case, bounds: dict[int, float], variant: str, seconds: float,
            threads: int) -> None:
    nm = build_model(prepare(case))
    m = nm.model
    per_year: dict[int, list] = {}
    for (_category, _member, t), pairs in nm.cost_terms.items():
        per_year.setdefault(t, []).extend(pairs)

    def year_floor_rule(_: pyo.ConcreteModel, t: int) -> object:
        cost = linear_sum([v for _c, v in per_year[t]], [c for c, _v in per_year[t]])
        return nm.data.discount[t] * cost >= bounds[t]

    m.year_floor = pyo.Constraint(sorted(bounds), rule=year_floor_rule)
    if variant == "floors-points-relaxed":
        relax_points(m)
    clock = time.perf_counter()
    result = run_solver(nm, time_limit=seconds, mip_gap=1e-4, threads=threads)
    print(f"| {variant} | {result.status} | {result.objective / 1e6:,.1f} | "
          f"{result.bound / 1e6:,.2f} | {time.perf_counter() - clock:.0f} |", flush=True)


def points_integrality(case: netopt.Case, years: list[int], seconds: float,
                       gap: float = 2e-4) -> None:
    """Each year alone as the years apart solve it (``solve_year_alone``, one thread):
    as a MIP, then with the collection points relaxed; seconds include the build."""
    factors = discount_factors(list(case.years), case.parameters["discount_rate"])
    print("| year | MIP: plan | MIP: bound | s | points relaxed: bound | s |")
    print("|---|---:|---:|---:|---:|---:|")
    for year in years:
        mip, relaxed = (solve_year_alone(case, year, factors[year], seconds, gap, 1, None,
                                         points_relaxed) for points_relaxed in (False, True))
        cells = [f"{mip['objective_cny'] / 1e6:,.2f}", f"{mip['bound_cny'] / 1e6:,.2f}",
                 f"{mip['seconds']:.0f}", f"{relaxed['bound_cny'] / 1e6:,.2f}",
                 f"{relaxed['seconds']:.0f}"]
        print(f"| {year} | " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=600.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--variants", nargs="*", default=["floors", "floors-points-relaxed"],
                        choices=["floors", "floors-points-relaxed"])
    parser.add_argument("--year-gap", type=float, default=1e-3)
    parser.add_argument("--year-seconds", type=float, default=90.0)
    parser.add_argument("--points-integrality", type=int, nargs="*", default=[])
    parser.add_argument("--dealers", type=int, default=None,
                        help="china_case(n_dealers=N) instead of data/china")
    args = parser.parse_args()
    case = china(args.dealers)
    if args.points_integrality:
        points_integrality(case, args.points_integrality, args.year_seconds
                           if args.dealers is not None else 120.0,
                           args.year_gap if args.dealers is not None else 2e-4)
        return
    bounds = year_bounds(case, args.year_gap, args.year_seconds)
    print(f"years' bound {sum(bounds.values()) / 1e6:,.2f} CNY million\n")
    print("| variant | status | plan M | bound M | s |")
    print("|---|---|---:|---:|---:|")
    for variant in args.variants:
        floored(case, bounds, variant, args.time_limit, args.threads)


if __name__ == "__main__":
    main()
