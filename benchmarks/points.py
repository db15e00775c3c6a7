"""Collection points at scale: the LP rounding's rules against a MIP over the points.

    python benchmarks/points.py --dealers 10000 --year 2030 --time-limit 90 --whole-year
    python benchmarks/points.py --dealers 3000 --first-plans --points-seconds 15

``--year Y``: that year of ``netopt.generate.china_case(n_dealers=N)`` on its own
(``netopt.model.bounds.year_case``): its relaxation (a bound), then its plan with the
sites' levels rounded at 0.5 and the flows re-optimised, the collection points chosen by
each rule: every point the relaxation uses ("any use"), the "cover" rule, and a MIP
over the points alone (levels and the other openings fixed, started from the better
rule, for ``--time-limit`` seconds: what ``relaxation_by_year`` runs in its workers).
``--whole-year`` then gives HiGHS the whole year's MIP, every binary free, started from
the MIP's plan, for twice as long.

``--first-plans``: the whole case. ``relaxation_by_year`` with ``--points-seconds``
(two workers), the points each year's MIP chose and their running union (a point is open
from the first year that chooses it), then the first plan of the LP rounding (levels
rounded at 0.5, flows re-optimised on the whole model) with each rule's points.

HiGHS on 2 threads (the workers: one each). Prints Markdown tables for BENCHMARKS.md
(CNY M, discounted; negative: the network earns more than it spends).
"""

from __future__ import annotations

import argparse
import time

import pyomo.environ as pyo
from pyomo.contrib.solver.common.factory import SolverFactory

from netopt.case import case_from_frames
from netopt.generate import china_case
from netopt.model import heuristic
from netopt.model.bounds import year_case
from netopt.model.build import build_model
from netopt.model.network import prepare
from netopt.model.solve import run_solver


def _millions(value: float) -> str:
    return f"{value / 1e6:,.1f}"


def one_year(case, year: int, time_limit: float, whole_year: bool, threads: int) -> None:
    nm = build_model(prepare(year_case(case, year)))
    m = nm.model
    persistent = SolverFactory("highs")
    binaries = heuristic.binaries(m)
    for v in binaries:
        v.domain = pyo.UnitInterval
    persistent.set_instance(m)
    clock = time.perf_counter()
    relaxation = run_solver(nm, threads=threads, persistent=persistent)
    rows = [("the year's relaxation (a bound)", relaxation.objective, "",
             time.perf_counter() - clock)]
    relaxed = {"capacity": heuristic._relaxed_capacity(nm),
               "openings": heuristic._relaxed_openings(nm),
               "covering": heuristic.covering_points(nm)}
    for v in binaries:
        v.domain = pyo.Binary
    persistent.update_variables(binaries)
    levels = heuristic.round_levels(nm, relaxed["capacity"], heuristic.THRESHOLD_START)
    others = heuristic._without_points(relaxed["openings"])
    for name, points in (("every point used", relaxed["openings"]),
                         ("cover rule", others | relaxed["covering"])):
        clock = time.perf_counter()
        objective, _values = heuristic.solve_fixed(
            nm, {**heuristic.open_from_first_use(nm, points), **levels},
            persistent=persistent, threads=threads)
        count = sum(1 for key in points if key[0] == "open_collection_point")
        rows.append((name, objective, str(count), time.perf_counter() - clock))
    clock = time.perf_counter()
    chosen = heuristic.year_points(nm, relaxed, time_limit, persistent, threads)
    rows.append((f"MIP over the points, {time_limit:.0f} s", chosen["objective"],
                 str(len(chosen["points"])), time.perf_counter() - clock))
    if whole_year and chosen["points"]:
        start = {id(v): v.value for v in m.component_data_objects(pyo.Var)}
        persistent.update_variables(binaries)  # (the points MIP fixed and freed them)
        clock = time.perf_counter()
        result = run_solver(nm, time_limit=2 * time_limit, threads=threads,
                            persistent=persistent, start=start)
        rows.append((f"whole year's MIP from it, {2 * time_limit:.0f} s (bound "
                     f"{_millions(result.bound)})", result.objective, "",
                     time.perf_counter() - clock))
    print(f"\n| {year}, collection points | CNY M | points | s |\n|---|---:|---:|---:|")
    for name, objective, count, seconds in rows:
        print(f"| {name} | {_millions(objective)} | {count} | {seconds:.1f} |")


def first_plans(case, points_seconds: float, threads: int) -> None:
    nm = build_model(prepare(case))
    clock = time.perf_counter()
    relaxed = heuristic.relaxation_by_year(nm, workers=2, points_seconds=points_seconds)
    print(f"relaxation_by_year: {time.perf_counter() - clock:.1f} s, bound "
          f"{_millions(relaxed['bound'])}, points MIPs in {relaxed['points_years']} years")
    print("\n| year | points chosen | open (running union) |\n|---|---:|---:|")
    union: set[str] = set()
    for year in case.years:
        chosen = {j for (_name, j, t) in relaxed["points"] if t == year}
        union |= chosen
        print(f"| {year} | {len(chosen)} | {len(union)} |")
    persistent = SolverFactory("highs")
    persistent.set_instance(nm.model)
    levels = heuristic.round_levels(nm, relaxed["capacity"], heuristic.THRESHOLD_START)
    others = heuristic._without_points(relaxed["openings"])
    print("\n| first plan, collection points | CNY M | s |\n|---|---:|---:|")
    for name, points in (("every point used", relaxed["openings"]),
                         ("cover rule", others | relaxed["covering"]),
                         ("the years' points MIPs", others | relaxed["points"])):
        clock = time.perf_counter()
        objective, _values = heuristic.solve_fixed(
            nm, {**heuristic.open_from_first_use(nm, points), **levels},
            persistent=persistent, threads=threads)
        print(f"| {name} | {_millions(objective)} | {time.perf_counter() - clock:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dealers", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--year", type=int, help="one year on its own")
    parser.add_argument("--time-limit", type=float, default=60.0,
                        help="the one year's points MIP, seconds")
    parser.add_argument("--whole-year", action="store_true")
    parser.add_argument("--first-plans", action="store_true")
    parser.add_argument("--points-seconds", type=float, default=15.0)
    args = parser.parse_args()
    case = case_from_frames(china_case(n_dealers=args.dealers),
                            name=f"china-{args.dealers}")
    if args.year is not None:
        one_year(case, args.year, args.time_limit, args.whole_year, args.threads)
    if args.first_plans:
        first_plans(case, args.points_seconds, args.threads)


if __name__ == "__main__":
    main()
