"""Two adjacent years of the default China case solved together, against each alone.

Where is the gap between the years' bound and the best plan? If it were in the links
between adjacent years (a site's size never shrinks, an opening stays open), a pair of
years solved as one MIP would bound well above the two years alone. For each pair
``Y Y+1`` (sites sized by the tonne, as the default case), one thread, to ``--gap``:
the pair's best plan and bound, and the two years alone (their bounds summed, a bound
of the pair; their plans summed, no plan of the pair: their sites need not fit
together). All figures discounted as in the whole case, CNY million.

    python benchmarks/years_coupled.py --pairs 2034 2030 --gap 0.001

Prints a Markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import time

import netopt
from netopt.datasets import data_path
from netopt.model.bounds import solve_year_alone, years_case
from netopt.model.build import build_model
from netopt.model.highs import run_solver
from netopt.model.network import discount_factors, prepare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, nargs="+", default=[2034, 2030],
                        help="first year of each pair")
    parser.add_argument("--gap", type=float, default=0.001)
    parser.add_argument("--time-limit", type=float, default=900.0, help="per MIP, s")
    args = parser.parse_args()
    case = netopt.load_case(data_path("china"))
    factors = discount_factors(list(case.years), case.parameters["discount_rate"])
    print("| years | pair: status | plan M | bound M | s | alone: plans M | bounds M | s "
          "| the pair's bound above the years alone M |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for first in args.pairs:
        pair = [first, first + 1]
        clock = time.perf_counter()
        nm = build_model(prepare(years_case(case, pair)))
        result = run_solver(nm, time_limit=args.time_limit, mip_gap=args.gap, threads=1)
        pair_s = time.perf_counter() - clock
        weight = factors[first]  # the pair's model is discounted to its first year
        clock = time.perf_counter()
        alone = [solve_year_alone(case, year, factors[year], args.time_limit, args.gap, 1)
                 for year in pair]
        alone_s = time.perf_counter() - clock
        plans = sum(row["objective_cny"] for row in alone)
        bounds = sum(row["bound_cny"] for row in alone)
        bound = weight * result["bound"]
        print(f"| {first}-{first + 1} | {result['status']} "
              f"| {weight * result['objective'] / 1e6:,.2f} | {bound / 1e6:,.2f} "
              f"| {pair_s:.0f} | {plans / 1e6:,.2f} | {bounds / 1e6:,.2f} | {alone_s:.0f} "
              f"| {(bound - bounds) / 1e6:,.2f} |")


if __name__ == "__main__":
    main()
