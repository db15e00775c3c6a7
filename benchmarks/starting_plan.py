"""Starting plans on the default China case: year by year, LP rounding, and both.

In one run, on the same machine and thread count:

1. ``netopt.solve(case, time_limit=T)`` with the year-by-year plan switched off: the
   LP-rounding start (at most half the limit), then HiGHS (netopt before issue 2's
   year-by-year start);
2. ``netopt.solve(case, time_limit=T)``: the years solved apart
   (:mod:`netopt.model.decompose`), then HiGHS from their plan;
3. the forward pass alone as issue 2 ran it (three quarters of the limit, six tenths of
   that for the first pass, then two years at a time, each year to a gap of 1e-3): each
   pass's plan, and the final plan year by year.

    python benchmarks/starting_plan.py --time-limit 300 --threads 2

Prints Markdown tables for BENCHMARKS.md. Objectives are discounted net costs in CNY
(negative: the network earns more than it spends); the gap is relative to the objective,
against the best bound proven.
"""

from __future__ import annotations

import argparse
import time

import netopt
import netopt.model.solve as solve_module
from netopt.datasets import data_path
from netopt.model.forward import improve_year_by_year, year_by_year_plan

#: The forward passes' settings of issue 2 (part 3 reproduces them).
PASSES_TIME_SHARE, FIRST_PASS_SHARE, PASS_GAP = 0.75, 0.6, 1e-3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default=str(data_path("china")))
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    case = netopt.load_case(args.case)

    rows = []
    applies = solve_module.year_by_year_applies
    for label, year_by_year in (("LP rounding, then HiGHS", False),
                                ("year by year and LP rounding, then HiGHS", True)):
        solve_module.year_by_year_applies = applies if year_by_year else (
            lambda _case, _rows: False)
        start = time.perf_counter()
        plan = netopt.solve(case, time_limit=args.time_limit, threads=args.threads)
        total = time.perf_counter() - start
        starting = plan.meta.get("starting_plan", {})
        rows.append((label, total, plan.timings.get("year_by_year_s", 0.0),
                     plan.timings.get("heuristic_s", 0.0), starting.get("method", "-"),
                     plan.objective, plan.bound, plan.gap))
    solve_module.year_by_year_applies = applies
    print(f"time limit {args.time_limit:g} s, {args.threads} threads\n")
    print("| run | total s | year by year s | LP rounding s | start taken | objective CNY "
          "| bound CNY | gap |")
    print("|---|---:|---:|---:|---|---:|---:|---:|")
    for label, total, forward_s, rounding_s, method, objective, bound, gap in rows:
        print(f"| {label} | {total:.1f} | {forward_s:.1f} | {rounding_s:.1f} | {method} "
              f"| {objective:,.0f} | {bound:,.0f} | {gap:.3f} |")

    budget = PASSES_TIME_SHARE * args.time_limit
    first = year_by_year_plan(case, time_limit=FIRST_PASS_SHARE * budget,
                              mip_gap=PASS_GAP, threads=args.threads)
    plan = improve_year_by_year(case, first, time_limit=budget - first["seconds"],
                                mip_gap=PASS_GAP, threads=args.threads)
    print(f"\nyear by year alone, {budget:g} s: first pass CNY {first['objective']:,.0f} "
          f"in {first['seconds']:.1f} s; two years at a time CNY {plan['objective']:,.0f} "
          f"after {plan['seconds']:.1f} s in all ({plan['sweeps']} full sweeps)\n")
    print("| year | status | cost CNY M (discounted) | gap | seconds | facilities open "
          "| site capacity kt/yr |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for row in plan["table"].itertuples():
        print(f"| {row.year} | {row.status} | {row.objective_cny / 1e6:,.1f} | "
              f"{row.gap:.4f} | {row.seconds:.1f} | {row.facilities_open} | "
              f"{row.site_capacity_t_per_yr / 1e3:,.0f} |")


if __name__ == "__main__":
    main()
