"""The neighbourhoods over every year from another starting plan: the years alone, joined.

``netopt.solve`` improves the forward pass's plan by the neighbourhoods
(netopt.model.neighbourhood: the dismantling sites over every year with the collection
points fixed, then the points with the sites fixed). Does the plan they end at depend
on where they start? This starts them instead from the years solved alone (each year's
own best network, the link between the years dropped), joined into a plan of the whole
case: each facility open from the first year that any year alone opens it, every
site's size and every flow left to the LP of the whole case (the sizes then never
shrink).

    python benchmarks/neighbourhood_starts.py --time-limit 900

Prints each year alone, the joined plan's cost and each neighbourhood step, in
discounted CNY million; the years on two worker processes of one HiGHS thread, the
steps on two threads.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor

from pyomo.contrib.solver.common.factory import SolverFactory

import netopt
from netopt.datasets import data_path
from netopt.model.bounds import year_case
from netopt.model.build import build_model
from netopt.model.highs import run_solver, solve_fixed
from netopt.model.neighbourhood import improve_by_neighbourhoods
from netopt.model.network import prepare

#: The openings joined across the years (the model variables indexed [facility, year]).
OPENINGS = ("site_open", "open_collection_point")


def year_alone(case: netopt.Case, year: int, gap: float,
               ) -> tuple[int, float, dict, dict[str, float]]:
    """``year`` solved on its own to ``gap``: its cost (CNY, discounted to that year),
    the facilities it opens, by model variable, and each site's size (t/yr)."""
    nm = build_model(prepare(year_case(case, year)))
    result = run_solver(nm, mip_gap=gap, threads=1)
    opened = {name: {f for (f, _t), v in getattr(nm.model, name).items()
                     if v.value is not None and v.value > 0.5} for name in OPENINGS}
    sizes = {k: max(0.0, v.value or 0.0) for (k, _t), v in nm.model.site_size.items()}
    return year, result.objective, opened, sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=900.0,
                        help="seconds for the neighbourhoods")
    parser.add_argument("--gap", type=float, default=0.002, help="each year's MIP gap")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    case = netopt.load_case(data_path("china"))
    years = list(case.years)

    clock = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        solved = list(pool.map(year_alone, [case] * len(years), years,
                               [args.gap] * len(years)))
    alone = {year: (cost, opened) for year, cost, opened, _sizes in solved}
    sizes = {year: by_site for year, _cost, _opened, by_site in solved}
    for year in years:
        cost, opened = alone[year]
        print(f"{year} alone: {cost / 1e6:,.2f} M (undiscounted), "
              f"{len(opened['site_open'])} sites of {sum(sizes[year].values()) / 1e3:,.0f} "
              f"kt/yr, {len(opened['open_collection_point'])} collection points")
    print("each site's size, kt/yr: " + " ".join(str(year) for year in years))
    for site in sorted(sizes[years[-1]]):
        row = [sizes[year][site] / 1e3 for year in years]
        if max(row) > 0.5:
            print(f"  {site}: " + " ".join(f"{size:.0f}" for size in row))
    nm = build_model(prepare(case))
    chosen = {}
    for name in OPENINGS:
        for (f, t), v in getattr(nm.model, name).items():
            if not v.fixed:
                chosen[id(v)] = float(any(f in alone[y][1][name] for y in years if y <= t))
    persistent = SolverFactory("highs")
    objective, values = solve_fixed(nm, chosen, persistent=persistent, threads=2)
    assert values is not None, "the joined plan is infeasible in the whole case"
    print(f"the years alone, joined: {objective / 1e6:,.2f} M "
          f"({time.perf_counter() - clock:.0f} s)", flush=True)
    improved = improve_by_neighbourhoods(
        nm, {"objective": objective, "values": values}, persistent,
        time_limit=args.time_limit, threads=2, rounds=args.rounds)
    for step in improved["neighbourhoods"]:
        print(f"  round {step['round']}, {step['neighbourhood']}: {step['status']}, "
              f"{step['objective_cny'] / 1e6:,.2f} M (bound with the rest fixed "
              f"{step['bound_cny'] / 1e6:,.2f} M), {step['seconds']:.0f} s")
    print(f"best: {improved['objective'] / 1e6:,.2f} M")


if __name__ == "__main__":
    main()
