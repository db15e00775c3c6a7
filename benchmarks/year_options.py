"""HiGHS's options on the years alone: does any setting prove a year faster?

The years' bound is what the default case lacks, and its speed is HiGHS's on each year
alone (one thread, to a tight gap). This solves each of ``--years`` of the default case
alone under each option set of ``--sets`` (two solves side by side, one thread each,
the tasks interleaved so that the second core's load is alike for every set) and prints
each solve's seconds, plan and bound, then each set's median ratio of seconds to the
default's over the years (a solve that stops at ``--time-limit`` counts its limit).

    python benchmarks/year_options.py --years 2030 2032 2034 --gap 0.001

Objectives in CNY million, not discounted.
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import netopt
from netopt.datasets import data_path
from netopt.model.bounds import year_case
from netopt.model.build import build_model
from netopt.model.network import prepare
from netopt.model.solve import run_solver

#: Each option set by name: HiGHS options on top of netopt's own.
SETS: dict[str, dict[str, Any]] = {
    "default": {},
    "heuristics_0.2": {"mip_heuristic_effort": 0.2},
    "heuristics_0": {"mip_heuristic_effort": 0.0},
    "no_symmetry": {"mip_detect_symmetry": False},
    "no_restart": {"mip_allow_restart": False},
    "lp_age_20": {"mip_lp_age_limit": 20},
}


def solve_one(task: tuple[str, int, float, float]) -> dict[str, Any]:
    """One year of the default case alone under one option set."""
    name, year, gap, time_limit = task
    case = netopt.load_case(data_path("china"))
    nm = build_model(prepare(year_case(case, year)))
    start = time.perf_counter()
    result = run_solver(nm, time_limit=time_limit, mip_gap=gap, threads=1,
                        options=SETS[name])
    return {"set": name, "year": year, "status": str(result.status),
            "seconds": time.perf_counter() - start, "plan_m": result.objective / 1e6,
            "bound_m": result.bound / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, nargs="+", default=[2030, 2032, 2034])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--gap", type=float, default=0.001)
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    tasks = [(name, year, args.gap, args.time_limit) for year in args.years
             for name in args.sets]
    rows = []
    with ProcessPoolExecutor(args.workers) as pool:
        for row in pool.map(solve_one, tasks):
            rows.append(row)
            print(f"{row['set']:>15} {row['year']} {row['status']:>12} "
                  f"{row['seconds']:7.1f} s  plan {row['plan_m']:9.2f}  "
                  f"bound {row['bound_m']:9.2f}", flush=True)
    seconds = {(row["set"], row["year"]): row["seconds"] for row in rows}
    print("\nset: median seconds against the default's, over the years")
    for name in args.sets:
        ratios = [seconds[name, year] / seconds["default", year] for year in args.years
                  if ("default", year) in seconds]
        if ratios:
            print(f"{name:>15} {statistics.median(ratios):5.2f}")


if __name__ == "__main__":
    main()
