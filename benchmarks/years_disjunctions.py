"""The sites' shrinks as disjunctions shared by the years: a bound without a tree.

Branching on the sites' shrinks (benchmarks/years_branching.py) stalls because the
shrinks of different sites are nearly independent: each split adds an open node, and a
node's bound counts only the splits on its own path. Here every split is kept as a
disjunction that every plan keeping the link satisfies (netopt.model.shrinks): for site
k, years t-1 and t, size s (t/yr),

    size[k, y] <= s for every year y < t   or   size[k, y] >= s for every year y >= t.

Each year is solved alone under a set of such literals; its proven bound holds for any
choice of the disjunctions' sides that imposes at least those literals on it, and a
small MIP over the sides finds the lowest sum: a bound on the whole case. This runs the
package's SiteShrinks on the default case alone, on ``--workers`` processes of one HiGHS
thread each (each year to ``--gap``), a new solve starting whenever a worker is free:

    python benchmarks/years_disjunctions.py --seconds 1800

Prints the bound (discounted CNY million) whenever it rises, with the disjunctions and
the year solves so far.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

import netopt
from netopt.datasets import data_path
from netopt.model.bounds import solve_year_alone
from netopt.model.network import discount_factors
from netopt.model.shrinks import SiteShrinks


def run(args: argparse.Namespace) -> None:
    case = netopt.load_case(data_path("china"))
    years = list(case.years)
    factors = discount_factors(years, case.parameters["discount_rate"])
    clock = time.perf_counter()
    shrinks = SiteShrinks(years, min_shrink_t_per_yr=args.tolerance,
                          per_round=args.per_round)
    best = -float("inf")
    with ProcessPoolExecutor(args.workers) as pool:
        queue = [(y, frozenset()) for y in years]
        running = {}
        while True:
            elapsed = time.perf_counter() - clock
            if not queue and len(running) < args.workers and shrinks.ready() \
                    and elapsed < args.seconds:
                queue = shrinks.next_solves(set(running.values()))
            while queue and len(running) < args.workers and elapsed < args.seconds:
                year, literals = queue.pop(0)
                future = pool.submit(solve_year_alone, case, year, factors[year],
                                     args.year_seconds, args.gap, 1,
                                     shrinks.size_bounds(literals))
                running[future] = (year, literals)
            if not running:
                break
            done, _ = wait(set(running), return_when=FIRST_COMPLETED)
            for future in done:
                year, literals = running.pop(future)
                row = future.result()
                shrinks.add(year, literals, row["bound_cny"], row["site_sizes_t_per_yr"])
            bound = shrinks.bound()[0]
            if bound > best:
                best = bound
                print(f"bound {bound / 1e6:,.2f} M: {len(shrinks.shrinks)} disjunctions, "
                      f"{shrinks.year_solves} year solves "
                      f"({time.perf_counter() - clock:.0f} s)", flush=True)
    bound, _sides = shrinks.bound()
    print(f"final: bound {bound / 1e6:,.2f} M, {len(shrinks.shrinks)} disjunctions, "
          f"{shrinks.year_solves} year solves ({time.perf_counter() - clock:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gap", type=float, default=1e-3, help="each year's MIP gap")
    parser.add_argument("--year-seconds", type=float, default=120.0)
    parser.add_argument("--seconds", type=float, default=1800.0,
                        help="no solve starts after this many seconds")
    parser.add_argument("--tolerance", type=float, default=100.0,
                        help="shrinks below this (t/yr) are not split")
    parser.add_argument("--per-round", type=int, default=2,
                        help="new disjunctions at a time (at most)")
    parser.add_argument("--workers", type=int, default=2)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
