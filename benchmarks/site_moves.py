"""The forward pass's plan improved by moving its sites' opening years
(:mod:`netopt.model.site_moves`, as the default path runs it on models too large for the
neighbourhoods), each move costed by the whole case's LP.

The forward pass (sizes left to the LP, as the default path runs it) opens sites that a
later year's sites then take dealers from; the whole case, where a site's size never
shrinks, pays for that ("Scale: where 3,000 dealers lose the plan" in BENCHMARKS.md).
This runs the pass on ``china_case(n_dealers=N)`` (or the default case), costs its plan
in the whole case (openings fixed, sizes and flows by an LP), then gives the moves
``--seconds``.

    python benchmarks/site_moves.py --dealers 3000 --seconds 300

Prints each kept move, then the plan before and after (CNY million, discounted).
"""

from __future__ import annotations

import argparse
import time

from pyomo.contrib.solver.common.factory import SolverFactory
from scale import china  # (benchmarks/scale.py, beside this file)

from netopt.model.build import build_model
from netopt.model.forward import plan_values, year_by_year_plan
from netopt.model.highs import solve_fixed
from netopt.model.network import prepare
from netopt.model.site_moves import improve_by_site_moves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dealers", type=int, default=None)
    parser.add_argument("--gap", type=float, default=0.005)
    parser.add_argument("--seconds", type=float, default=900.0)
    args = parser.parse_args()
    case = china(args.dealers)
    clock = time.perf_counter()
    plan = year_by_year_plan(case, mip_gap=args.gap, threads=1, keep_sizes=False)
    if plan is None:
        raise SystemExit("the forward pass found no plan")
    print(f"forward pass: its own sum {plan['objective'] / 1e6:,.2f} M, "
          f"{time.perf_counter() - clock:.0f} s")
    nm = build_model(prepare(case))
    persistent = SolverFactory("highs")
    start, values = solve_fixed(nm, plan_values(nm, plan), threads=1, persistent=persistent)
    assert values is not None
    print(f"in the whole case: {start / 1e6:,.2f} M\n")
    clock = time.perf_counter()
    moved = improve_by_site_moves(nm, {"objective": start, "values": values}, persistent,
                                  time_limit=args.seconds)
    seconds = time.perf_counter() - clock
    print("| s | sweep | site | move | plan M |\n|---:|---:|---|---|---:|")
    for row in moved["site_moves"]:
        print(f"| {row['ended_s']:.0f} | {row['sweep']} | {row['dismantling_site_id']} | "
              f"{row['move']} | {row['objective_cny'] / 1e6:,.2f} |")
    print(f"\n{moved['site_moves_tried']} moves costed in {seconds:.0f} s: {start / 1e6:,.2f} -> "
          f"{moved['objective'] / 1e6:,.2f} M ({(start - moved['objective']) / 1e6:,.2f} M)")


if __name__ == "__main__":
    main()
