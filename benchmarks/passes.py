"""The China case's passes over the years, alone: backward and forward.

Each pass solves the years in turn on one thread, each year's MIP to ``--gap``, with no
time limit: backward from the last year (each year within the next year's network) and
forward from the first (each keeping what the years before opened). Sized by the tonne,
each pass runs twice: carrying each site's size to the next year (sizes kept), and
carrying only that the site is open (sizes left to the plan's LP). Every plan is then
costed in the whole case: its openings fixed, its sizes and flows by an LP.

    python benchmarks/passes.py --gap 0.005 --sizing continuous
    python benchmarks/passes.py --gap 0.005 --sizing continuous --dealers 3000

``--dealers N``: a generated case of N dealers (``china_case``) instead of the default
case (``data/china``).

Prints a Markdown table for BENCHMARKS.md (discounted CNY million, seconds).
"""

from __future__ import annotations

import argparse
import time

from scale import china  # (benchmarks/scale.py, beside this file)

from netopt.model.build import build_model
from netopt.model.forward import plan_values, year_by_year_plan
from netopt.model.highs import solve_fixed
from netopt.model.network import prepare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gap", type=float, default=0.005)
    parser.add_argument("--sizing", nargs="+", default=["continuous", "modules"])
    parser.add_argument("--dealers", type=int, default=None)
    args = parser.parse_args()
    case = china(args.dealers)
    print("| sizing | pass | sizes | the pass's sum M | plan in the whole case M | s |")
    print("|---|---|---|---:|---:|---:|")
    for sizing in args.sizing:
        sized = case.replace(parameters={"site_capacity": sizing})
        nm = build_model(prepare(sized))
        for backward in (True, False):
            for keep_sizes in ((True, False) if sizing == "continuous" else (True,)):
                clock = time.perf_counter()
                plan = year_by_year_plan(sized, mip_gap=args.gap, threads=1,
                                         backward=backward, keep_sizes=keep_sizes)
                seconds = time.perf_counter() - clock
                if plan is None:
                    print(f"| {sizing} | {'backward' if backward else 'forward'} | - "
                          f"| no plan | | {seconds:.0f} |")
                    continue
                cost, _values = solve_fixed(nm, plan_values(nm, plan), threads=1)
                print(f"| {sizing} | {'backward' if backward else 'forward'} "
                      f"| {'kept' if keep_sizes else 'by the LP'} "
                      f"| {plan['objective'] / 1e6:,.1f} | {cost / 1e6:,.1f} "
                      f"| {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
