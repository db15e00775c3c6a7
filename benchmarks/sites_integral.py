"""The whole horizon with only the sites' binaries integral: how far a sites-only master can prove.

A Benders master over the dismantling sites, with the rest as an LP subproblem (the
issue's proposal after Fischetti, Ljubic and Sinnl 2017), converges at best to the
optimum of this relaxation: every year coupled, the sites' open binaries integral, the
collection points', recyclers' and outlets' opening binaries and single-sourcing shares
relaxed to [0, 1]. Any plan HiGHS finds for it bounds that optimum from above, and so
bounds what such a master could ever prove on the case.

    python benchmarks/sites_integral.py --time-limit 300 --threads 1
    python benchmarks/sites_integral.py --time-limit 300 --threads 1 --sizing modules

Prints the integers left, and HiGHS's status, incumbent and bound (discounted CNY
million) on the relaxation. With ``--fix-then SECONDS``, the relaxation's sites (open or
not; their levels in modules) are then fixed, every other binary is integral again, and
HiGHS solves what is left (relax and fix): its incumbent is a plan of the whole case.
"""

from __future__ import annotations

import argparse
import time

import pyomo.environ as pyo

import netopt
from netopt.datasets import data_path
from netopt.model.build import build_model
from netopt.model.highs import run_solver
from netopt.model.network import prepare

RELAXED = ("open_collection_point", "open_recycler", "open_reuse_outlet")
SITES = ("site_open", "site_level")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--case", default="china")
    parser.add_argument("--sizing", choices=("continuous", "modules"), default=None,
                        help="site_capacity for the case (default: the case's own)")
    parser.add_argument("--fix-then", type=float, default=None, metavar="SECONDS",
                        help="then fix the sites and solve the rest's MIP this long")
    args = parser.parse_args()
    case = netopt.load_case(data_path(args.case))
    if args.sizing:
        case = case.replace(parameters={"site_capacity": args.sizing})
    nm = build_model(prepare(case))
    model = nm.model
    relaxed = []
    for var in model.component_objects(pyo.Var):
        if var.name in RELAXED or var.name.startswith("ship_") \
                or var.name == "outsourced_share":
            for v in var.values():
                if v.is_binary():
                    relaxed.append(v)
                    v.domain = pyo.UnitInterval
    left = sum(1 for v in model.component_data_objects(pyo.Var)
               if v.is_binary() and not v.fixed)
    print(f"integers left: {left}")
    clock = time.perf_counter()
    result = run_solver(nm, time_limit=args.time_limit, threads=args.threads)
    print(f"{result.status}: incumbent {result.objective / 1e6:,.1f} M, bound "
          f"{result.bound / 1e6:,.1f} M, gap {result.gap:.2%}, "
          f"{time.perf_counter() - clock:.0f} s")
    if args.fix_then is None or not result.has_plan:
        return
    for name in SITES:
        for v in getattr(model, name, {}).values():
            v.fix(round(v.value or 0.0))
    for v in relaxed:
        v.domain = pyo.Binary
    clock = time.perf_counter()
    result = run_solver(nm, time_limit=args.fix_then, threads=args.threads)
    print(f"sites fixed, rest integral: {result.status}: plan "
          f"{result.objective / 1e6:,.1f} M, bound (sites fixed) "
          f"{result.bound / 1e6:,.1f} M, gap {result.gap:.2%}, "
          f"{time.perf_counter() - clock:.0f} s")


if __name__ == "__main__":
    main()
