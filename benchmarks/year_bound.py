"""The year-by-year lower bound on the default China case, against the relaxation's.

In one run, on the same machine:

1. the relaxation of the whole model (every binary between 0 and 1): the bound HiGHS
   starts from;
2. ``year_relaxation_bound`` with the years one after another, HiGHS on ``--threads``;
3. the same with two years side by side, HiGHS on one thread each;
4. with ``--plan``: ``netopt.solve(case, time_limit=T, threads=2, year_bound=T)``, the
   plan, the search's own bound and the year-by-year bound.

``--year-gap`` sets the relative gap at which each year of rows 2 and 3 stops (solve
picks its own: a tenth of the plan's gap, at most 1 %).

    python benchmarks/year_bound.py --time-limit 300 --threads 2 --plan
    python benchmarks/year_bound.py --relaxation-only --years 2026 2030 2035

``--relaxation-only`` prints row 1 alone, and with ``--years`` also the relaxation and
the proven optimum (or best bound within ``--time-limit``) of each of those years alone;
``--where`` adds each year's relaxation with its best plan's site levels fixed, then
with its collection points fixed: which of the two the relaxation's gap is in.

Prints Markdown tables for BENCHMARKS.md (CNY, discounted; negative: the network earns
more than it spends).
"""

from __future__ import annotations

import argparse
import time

import pyomo.environ as pyo

import netopt
from netopt.datasets import data_path
from netopt.model.bounds import year_case, year_relaxation_bound
from netopt.model.build import build_model
from netopt.model.highs import binaries
from netopt.model.network import prepare
from netopt.model.solve import run_solver


def relaxation_bound(case, threads: int) -> tuple[float, float]:
    """The whole model's relaxation (CNY) and its seconds."""
    start = time.perf_counter()
    nm = build_model(prepare(case))
    for v in binaries(nm.model):
        v.domain = pyo.UnitInterval
    result = run_solver(nm, threads=threads)
    return result.objective, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default=str(data_path("china")))
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--year-gap", type=float, default=1e-4,
                        help="relative gap at which each year stops (bound rows)")
    parser.add_argument("--plan", action="store_true",
                        help="also solve with netopt.solve(..., year_bound=time limit)")
    parser.add_argument("--relaxation-only", action="store_true",
                        help="only the relaxation (and, with --years, single years)")
    parser.add_argument("--years", type=int, nargs="*", default=[],
                        help="with --relaxation-only: years to relax and solve alone")
    parser.add_argument("--where", action="store_true",
                        help="with --years: also relax each year with its best plan's "
                        "site levels fixed, then with its collection points fixed")
    args = parser.parse_args()
    case = netopt.load_case(args.case)

    rows = []
    value, seconds = relaxation_bound(case, args.threads)
    rows.append(("relaxation of the whole model", value, seconds))
    if args.relaxation_only:
        print("| bound | CNY | seconds |\n|---|---:|---:|")
        print(f"| {rows[0][0]} | {value:,.0f} | {seconds:.1f} |")
        if args.years:
            print("\n| year alone | relaxation CNY | relaxation s | MIP status | MIP CNY | "
                  "MIP bound CNY | MIP s |\n|---|---:|---:|---|---:|---:|---:|")
        for year in args.years:
            alone = year_case(case, year)
            relaxed, relax_s = relaxation_bound(alone, args.threads)
            start = time.perf_counter()
            nm = build_model(prepare(alone))
            solved = run_solver(nm, time_limit=args.time_limit, threads=args.threads,
                                mip_gap=args.year_gap)
            print(f"| {year} | {relaxed:,.0f} | {relax_s:.1f} | {solved.status} | "
                  f"{solved.objective:,.0f} | {solved.bound:,.0f} | "
                  f"{time.perf_counter() - start:.1f} |")
            if args.where:
                best = {v.name: round(v.value) for v in binaries(nm.model)}
                for group in ("site_level", "open_collection_point"):
                    fixed = build_model(prepare(alone))
                    for v in binaries(fixed.model):
                        if v.parent_component().name == group:
                            v.fix(best[v.name])
                        else:
                            v.domain = pyo.UnitInterval
                    value = run_solver(fixed, threads=args.threads).objective
                    print(f"|   relaxed with the best plan's {group} fixed | {value:,.0f} "
                          "| | | | | |")
        return
    tables = {}
    for label, workers in (("years one after another", 1), ("two years side by side", 2)):
        start = time.perf_counter()
        bound, table = year_relaxation_bound(case, time_limit=args.time_limit,
                                             threads=args.threads, workers=workers,
                                             mip_gap=args.year_gap)
        rows.append((label, bound, time.perf_counter() - start))
        tables[label] = table
    print("| bound | CNY | seconds |\n|---|---:|---:|")
    for label, value, seconds in rows:
        print(f"| {label} | {value:,.0f} | {seconds:.1f} |")
    for label, table in tables.items():
        print(f"\n{label}, by year (CNY M, discounted):\n")
        print("| year | status | best plan of the year | bound | seconds |\n"
              "|---|---|---:|---:|---:|")
        for row in table.itertuples():
            print(f"| {row.year} | {row.status} | {row.objective_cny / 1e6:,.1f} | "
                  f"{row.bound_cny / 1e6:,.1f} | {row.seconds:.1f} |")
    if args.plan:
        start = time.perf_counter()
        plan = netopt.solve(case, time_limit=args.time_limit, threads=args.threads,
                            year_bound=args.time_limit)
        total = time.perf_counter() - start
        record = plan.meta["year_bound"]
        print("\n| plan CNY | search bound CNY | year-by-year bound CNY | gap | total s | "
              "year bound s |\n|---:|---:|---:|---:|---:|---:|")
        print(f"| {plan.objective:,.0f} | {record['search_bound_cny']:,.0f} | "
              f"{record['bound_cny']:,.0f} | {plan.gap:.3f} | {total:.1f} | "
              f"{record['seconds']:.1f} |")


if __name__ == "__main__":
    main()
