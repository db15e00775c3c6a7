"""Starting-plan heuristic on the default China case: plan quality against time.

In one run, on the same machine and thread count:

1. ``netopt.solve(case, heuristic=False)``: HiGHS alone on the MIP, for the time limit;
2. ``netopt.solve(case)``: the LP-rounding start (at most half the limit), then HiGHS;
3. the heuristic alone, with no time limit: each better plan with its time, until no
   step of the threshold search improves it.

    python benchmarks/heuristic.py --time-limit 120 --threads 2

Prints Markdown tables for BENCHMARKS.md. Objectives are discounted net costs in CNY
(negative: the network earns more than it spends); the gap is relative to the objective,
against the best bound proven.
"""

from __future__ import annotations

import argparse
import time

import netopt
from netopt.datasets import data_path
from netopt.model.build import build_model
from netopt.model.heuristic import lp_rounding
from netopt.model.network import prepare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default=str(data_path("china")))
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    case = netopt.load_case(args.case)

    rows = []
    for label, heuristic in (("HiGHS alone", False), ("netopt.solve (start + HiGHS)", True)):
        start = time.perf_counter()
        plan = netopt.solve(case, time_limit=args.time_limit, threads=args.threads,
                            heuristic=heuristic)
        rows.append((label, time.perf_counter() - start, plan.timings.get("heuristic_s", 0.0),
                     plan.objective, plan.bound, plan.gap))
    print(f"time limit {args.time_limit:g} s, {args.threads} threads\n")
    print("| run | total s | heuristic s | objective CNY | bound CNY | gap |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, total, heur, objective, bound, gap in rows:
        print(f"| {label} | {total:.1f} | {heur:.1f} | {objective:,.0f} | {bound:,.0f} "
              f"| {gap:.3f} |")

    nm = build_model(prepare(case))
    from pyomo.contrib.solver.common.factory import SolverFactory

    rounded = lp_rounding(nm, threads=args.threads, persistent=SolverFactory("highs"))
    print(f"\nheuristic alone, no time limit: {rounded['plans']} level plans solved in "
          f"{rounded['seconds']:.1f} s; relaxation bound {rounded['bound']:,.0f} CNY\n")
    print("| seconds | better plan CNY |")
    print("|---:|---:|")
    for seconds, objective in rounded["improvements"]:
        print(f"| {seconds:.1f} | {objective:,.0f} |")
    shares = ", ".join(f"{k} {v:g}" for k, v in rounded["thresholds"].items())
    print(f"\nthresholds of the best plan: {shares}")


if __name__ == "__main__":
    main()
