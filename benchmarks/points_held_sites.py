"""The collection points chosen again with the moved sites held: does the plan the sites'
moves leave at 3,000 dealers gain from its points?

The default path at 3,000 dealers ends with the forward pass's plan, its sites moved
(:mod:`netopt.model.site_moves`). Its points were chosen by the pass, year by year, while
a site's size could still shrink. This runs the same steps on one thread (the pass, its
plan costed in the whole case, the moves), then holds the sites the moves left and
chooses the points again, two ways:

- a forward pass over the points (each year's MIP on top of the points the years before
  opened, the sites open as in the plan and each at most its size there; ``--sizes
  fixed``: exactly its size), costed in the whole case, then the sites' moves again;
- ``--whole-mip SECONDS``: HiGHS's search on the whole case with the sites held,
  from the plan (0: not run).

    python benchmarks/points_held_sites.py --dealers 3000

Prints each step's plan in the whole case, and the LP bound of the plan's sites
(CNY million, discounted).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from pyomo.contrib.solver.common.factory import SolverFactory
from scale import china  # (benchmarks/scale.py, beside this file)

from netopt.case import Case
from netopt.model.bounds import years_case
from netopt.model.build import NetworkModel, build_model
from netopt.model.forward import (
    _chosen,
    _with_existing,
    plan_values,
    year_by_year_plan,
)
from netopt.model.highs import binaries, binaries_relaxed, run_solver, solve_fixed
from netopt.model.network import prepare
from netopt.model.site_moves import improve_by_site_moves

Sites = dict[tuple[str, int], tuple[int, float]]


def plan_sites(nm: NetworkModel, values: dict[int, float]) -> Sites:
    """Each (site, year) of the plan ``values``: open (0/1) and size (t/yr)."""
    m = nm.model
    return {(str(k), t): (round(values[id(v)]), float(values[id(m.site_size[k, t])]))
            for (k, t), v in m.site_open.items()}


def points_pass(case: Case, sites: Sites, *,
                fixed_sizes: bool, gap: float, year_seconds: float) -> dict[str, Any]:
    """The points chosen forward in time, each year's MIP with the ``sites`` held."""
    chosen = None
    found: dict[str, Any] = {"open": {}, "levels": {}, "sizes": {}}
    for year in case.years:
        watch = time.perf_counter()
        year_of = _with_existing(case, chosen) if chosen is not None else case
        nm = build_model(prepare(years_case(year_of, [year])))
        for (k, t), v in nm.model.site_open.items():
            opened, size = sites[str(k), t]
            if not v.fixed:
                v.fix(opened)
            if fixed_sizes:
                nm.model.site_size[k, t].fix(size if opened else 0.0)
            else:
                nm.model.site_size[k, t].setub(size + 1e-6)
        result = run_solver(nm, time_limit=year_seconds, mip_gap=gap, threads=1)
        chosen = _chosen(nm, year)
        for key in ("open", "levels", "sizes"):
            found[key][year] = chosen[key]
        print(f"  {year}: {result.status}, gap {result.gap:.2%}, "
              f"{len(chosen['open']['open_collection_point'])} points, "
              f"{time.perf_counter() - watch:.1f} s", flush=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dealers", type=int, default=3000)
    parser.add_argument("--gap", type=float, default=0.005)
    parser.add_argument("--moves-seconds", type=float, default=300.0)
    parser.add_argument("--year-seconds", type=float, default=60.0)
    parser.add_argument("--sizes", choices=("at_most", "fixed"), default="at_most")
    parser.add_argument("--whole-mip", type=float, default=0.0)
    args = parser.parse_args()
    case = china(args.dealers)
    clock = time.perf_counter()

    def say(what: str, cost: float) -> None:
        print(f"{time.perf_counter() - clock:7.1f} s  {what}: {cost / 1e6:,.2f}", flush=True)

    plan = year_by_year_plan(case, mip_gap=args.gap, threads=1, keep_sizes=False)
    assert plan is not None, "the forward pass found no plan"
    nm = build_model(prepare(case))
    persistent = SolverFactory("highs")
    cost, values = solve_fixed(nm, plan_values(nm, plan), persistent=persistent)
    assert values is not None
    say("the forward pass in the whole case", cost)
    moved = improve_by_site_moves(nm, {"objective": cost, "values": values}, persistent,
                                  time_limit=args.moves_seconds)
    say(f"after the sites' moves ({len(moved['site_moves'])} kept)", moved["objective"])
    sites = plan_sites(nm, moved["values"])

    found = points_pass(case, sites, fixed_sizes=args.sizes == "fixed", gap=args.gap,
                        year_seconds=args.year_seconds)
    cost, values = solve_fixed(nm, plan_values(nm, found), persistent=persistent)
    assert values is not None
    say(f"the points' pass, sites held (sizes {args.sizes})", cost)
    again = improve_by_site_moves(nm, {"objective": cost, "values": values}, persistent,
                                  time_limit=args.moves_seconds)
    say(f"then the sites' moves again ({len(again['site_moves'])} kept of "
        f"{again['site_moves_tried']})", again["objective"])

    m = nm.model
    for (k, t), v in m.site_open.items():
        v.fix(sites[str(k), t][0])
    persistent.update_variables(list(m.site_open.values()))
    free = binaries(m)
    with binaries_relaxed(m) as relaxed:
        persistent.update_variables(relaxed)
        lp = run_solver(nm, persistent=persistent, threads=1)
    persistent.update_variables(free)
    say("the LP with the moves' sites held (a bound for them)", lp.objective)
    if args.whole_mip > 0:
        search = run_solver(nm, persistent=persistent, time_limit=args.whole_mip,
                            mip_gap=1e-3, threads=1, start=moved["values"])
        say(f"the whole MIP, sites held, {args.whole_mip:.0f} s ({search.status}); "
            f"bound {search.bound / 1e6:,.2f}", search.objective)


if __name__ == "__main__":
    main()
