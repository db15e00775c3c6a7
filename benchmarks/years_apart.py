"""The default China case solved years apart, sized by the tonne and in modules.

For each sizing, ``netopt.solve(case, time_limit=T)`` (the default path: the years'
bound and the backward and forward passes side by side, then the neighbourhoods over
every year from their plan where the time allows, then HiGHS),
with the time at which the proven gap first fell to 5 %, 2 %, 1 % and 0.5 % (from
``plan.meta["years_apart"]["trace"]``, seconds since the years started, plus the build
before them), and each year's bound.

    python benchmarks/years_apart.py --time-limit 300 --sizing continuous modules

Prints Markdown tables for BENCHMARKS.md. Objectives and bounds are discounted net
costs in CNY million (negative: the network earns more than it spends).
"""

from __future__ import annotations

import argparse
import math
import time

import netopt
from netopt.datasets import data_path

THRESHOLDS = (0.05, 0.02, 0.01, 0.005)


def _gap(objective: float, bound: float) -> float:
    if not (math.isfinite(objective) and math.isfinite(bound)):
        return math.inf
    return abs(objective - bound) / abs(objective)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--sizing", nargs="+", default=["continuous", "modules"])
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    case = netopt.load_case(data_path("china"))
    print(f"time limit {args.time_limit:g} s\n")
    print("| sizing | status | objective M | bound M | gap | years' bound M | total s "
          "| " + " | ".join(f"s to {t:.1%}" for t in THRESHOLDS) + " |")
    print("|---|---|---:|---:|---:|---:|---:|" + "---:|" * len(THRESHOLDS))
    tables = []
    for sizing in args.sizing:
        sized = case.replace(parameters={"site_capacity": sizing})
        clock = time.perf_counter()
        plan = netopt.solve(sized, time_limit=args.time_limit, threads=args.threads)
        total = time.perf_counter() - clock
        record = plan.meta.get("years_apart", {})
        before = plan.timings.get("prepare_s", 0.0) + plan.timings.get("build_s", 0.0)
        reached = []
        for threshold in THRESHOLDS:
            times = [before + row["seconds"] for row in record.get("trace", [])
                     if _gap(row["objective_cny"], row["bound_cny"]) <= threshold]
            reached.append(f"{min(times):.0f}" if times else "-")
        print(f"| {sizing} | {plan.status} | {plan.objective / 1e6:,.1f} "
              f"| {plan.bound / 1e6:,.1f} | {plan.gap:.4f} "
              f"| {record.get('bound_cny', math.nan) / 1e6:,.1f} | {total:.0f} | "
              + " | ".join(reached) + " |")
        steps = plan.meta.get("starting_plan", {}).get("neighbourhoods", [])
        tables.append((sizing, record, steps))
    for sizing, record, steps in tables:
        print(f"\n{sizing}: {record.get('rounds', 0)} rounds; each year's bound\n")
        print("| year | status | year alone M | bound M | gap held | seconds |")
        print("|---|---|---:|---:|---:|---:|")
        for row in record.get("years", []):
            print(f"| {row['year']} | {row['status']} | {row['objective_cny'] / 1e6:,.2f} "
                  f"| {row['bound_cny'] / 1e6:,.2f} | {row['gap']:.4f} "
                  f"| {row['seconds']:.1f} |")
        if steps:
            print(f"\n{sizing}: the neighbourhoods from the years apart's plan\n")
            print("| round | neighbourhood | binaries free | status | plan M "
                  "| bound with the rest fixed M | seconds |")
            print("|---:|---|---:|---|---:|---:|---:|")
            for step in steps:
                print(f"| {step['round']} | {step['neighbourhood']} | {step['free_binaries']} "
                      f"| {step['status']} | {step['objective_cny'] / 1e6:,.2f} "
                      f"| {step['bound_cny'] / 1e6:,.2f} | {step['seconds']:.0f} |")


if __name__ == "__main__":
    main()
