"""The default China case's passes over the years, alone: backward and forward.

Each pass solves the years in turn on one thread, each year's MIP to ``--gap``, with no
time limit: backward from the last year (each year within the next year's network) and
forward from the first (each keeping what the years before opened).

    python benchmarks/passes.py --gap 0.005 --sizing continuous

Prints a Markdown table for BENCHMARKS.md (discounted CNY million, seconds).
"""

from __future__ import annotations

import argparse
import time

import netopt
from netopt.datasets import data_path
from netopt.model.forward import year_by_year_plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gap", type=float, default=0.005)
    parser.add_argument("--sizing", nargs="+", default=["continuous", "modules"])
    args = parser.parse_args()
    case = netopt.load_case(data_path("china"))
    print("| sizing | pass | plan M | seconds |")
    print("|---|---|---:|---:|")
    for sizing in args.sizing:
        sized = case.replace(parameters={"site_capacity": sizing})
        for backward in (True, False):
            clock = time.perf_counter()
            plan = year_by_year_plan(sized, mip_gap=args.gap, threads=1, backward=backward)
            seconds = time.perf_counter() - clock
            objective = "no plan" if plan is None else f"{plan['objective'] / 1e6:,.1f}"
            print(f"| {sizing} | {'backward' if backward else 'forward'} | {objective} "
                  f"| {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
