"""``netopt.solve`` on a case, repeated: plan, bound, gap, seconds and where they went.

    python benchmarks/solve_repeat.py --time-limit 300 --threads 2 --repeat 2
    python benchmarks/solve_repeat.py --time-limit 200 --year-bound 100

To compare two commits side by side in one run, check the older one out beside the
repository (``git worktree add ../before COMMIT``) and alternate:
``PYTHONPATH=../before python benchmarks/solve_repeat.py ...`` then the same without
``PYTHONPATH``. Prints a Markdown table for BENCHMARKS.md (CNY, discounted; negative: the
network earns more than it spends); the last line gives the medians.
"""

from __future__ import annotations

import argparse
import statistics
import time

import netopt
from netopt.datasets import data_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default=str(data_path("china")))
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--year-bound", type=float, default=None,
                        help="seconds for the year-by-year bound after the search")
    args = parser.parse_args()
    case = netopt.load_case(args.case)
    print(f"netopt from {netopt.__file__}\n")
    print("| run | status | objective CNY | bound CNY | gap | total s | build s | "
          "year by year s | LP rounding s | search s | extract s | start taken |\n"
          "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    rows = []
    for run in range(1, args.repeat + 1):
        start = time.perf_counter()
        plan = netopt.solve(case, time_limit=args.time_limit, threads=args.threads,
                            year_bound=args.year_bound)
        total = time.perf_counter() - start
        timings = plan.timings
        taken = (plan.meta.get("starting_plan") or {}).get("method", "-")
        rows.append((plan.objective, plan.bound, plan.gap, total))
        print(f"| {run} | {plan.status} | {plan.objective:,.0f} | {plan.bound:,.0f} | "
              f"{plan.gap:.4f} | {total:.1f} | "
              f"{timings.get('prepare_s', 0.0) + timings.get('build_s', 0.0):.1f} | "
              f"{timings.get('year_by_year_s', 0.0):.1f} | "
              f"{timings.get('heuristic_s', 0.0):.1f} | {timings.get('solve_s', 0.0):.1f} | "
              f"{timings.get('extract_s', 0.0):.1f} | {taken} |", flush=True)
    medians = [statistics.median(column) for column in zip(*rows)]
    print(f"| median | | {medians[0]:,.0f} | {medians[1]:,.0f} | {medians[2]:.4f} | "
          f"{medians[3]:.1f} | | | | | | |")


if __name__ == "__main__":
    main()
