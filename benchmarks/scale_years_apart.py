"""A scaled China case solved years apart, against the default path for its size.

Models over ``SolvePolicy.year_by_year_max_rows`` rows start from the LP rounding (it was
100,000, which sent 3,000 dealers there; 250,000 since this benchmark; 1,000,000 since
10,000 dealers' years take their sites from their LP). This
runs ``netopt.solve(case, time_limit=T)`` on ``china_case(n_dealers=N)`` in each of
``--paths``: ``years apart`` (the row threshold lifted), ``neighbourhoods`` (that and the
neighbourhoods' row threshold lifted), ``lp rounding`` (the threshold at zero) and
``default`` (the policy as shipped), and
prints each one's status, plan, bound and gap, and when the gap first fell to 5 %, 2 %
and 1 % (years apart only: from ``plan.meta["years_apart"]["trace"]``).

    python benchmarks/scale_years_apart.py --dealers 3000 --time-limit 900 \
        --paths "years apart" "lp rounding"

Objectives and bounds in CNY million (discounted; negative: the network earns more than
it spends).
"""

from __future__ import annotations

import argparse
import math
import time

import netopt
from netopt.case import case_from_frames
from netopt.generate import china_case
from netopt.model.solve import SolvePolicy

THRESHOLDS = (0.05, 0.02, 0.01)


def _gap(objective: float, bound: float) -> float:
    if not (math.isfinite(objective) and math.isfinite(bound)):
        return math.inf
    return abs(objective - bound) / abs(objective)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dealers", type=int, default=3000)
    parser.add_argument("--time-limit", type=float, default=900.0)
    parser.add_argument("--paths", nargs="+", default=["years apart", "lp rounding"],
                        choices=["years apart", "neighbourhoods", "lp rounding", "default"])
    args = parser.parse_args()
    case = case_from_frames(china_case(n_dealers=args.dealers), name=f"china-{args.dealers}")
    policies = {"default": SolvePolicy(), "lp rounding": SolvePolicy(year_by_year_max_rows=0),
                "years apart": SolvePolicy(year_by_year_max_rows=10**9),
                "neighbourhoods": SolvePolicy(year_by_year_max_rows=10**9,
                                              neighbourhood_max_rows=10**9)}
    print(f"{args.dealers} dealers, time limit {args.time_limit:g} s\n")
    print("| path | status | plan M | bound M | gap | total s | "
          + " | ".join(f"s to {t:.0%}" for t in THRESHOLDS) + " |")
    print("|---|---|---:|---:|---:|---:|" + "---:|" * len(THRESHOLDS))
    for path in args.paths:
        clock = time.perf_counter()
        plan = netopt.solve(case, time_limit=args.time_limit, policy=policies[path])
        total = time.perf_counter() - clock
        trace = plan.meta.get("years_apart", {}).get("trace", [])
        before = plan.timings.get("prepare_s", 0.0) + plan.timings.get("build_s", 0.0)
        reached = []
        for threshold in THRESHOLDS:
            times = [before + row["seconds"] for row in trace
                     if _gap(row["objective_cny"], row["bound_cny"]) <= threshold]
            reached.append(f"{min(times):.0f}" if times else "-")
        print(f"| {path} | {plan.status} | {plan.objective / 1e6:,.1f} "
              f"| {plan.bound / 1e6:,.1f} | {plan.gap:.4f} | {total:.0f} | "
              + " | ".join(reached) + " |", flush=True)
        for step in (plan.meta.get("starting_plan") or {}).get("neighbourhoods", []):
            print(f"  neighbourhood {step['round']} {step['neighbourhood']}: "
                  f"{step['status']}, {step['objective_cny'] / 1e6:,.1f} M, "
                  f"{step['seconds']:.0f} s", flush=True)


if __name__ == "__main__":
    main()
