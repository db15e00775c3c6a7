"""A plan improved region by region: each region's openings freed over the whole horizon.

The forward pass (netopt.model.forward) chooses each year's openings knowing only the
years before, so the link between the years (a site once built stays and never
shrinks) is what its plan loses. This re-solves the whole case, every year at once,
with the openings of one region free and every other opening fixed at the current
plan: a large neighbourhood search by place, whose every step is a plan of the whole
case (no prices: the rows between regions hold). The regions are those of
``regions_lagrangian.py``.

    python benchmarks/regions_lns.py --time-limit 120 --rounds 2

Prints the forward plan's cost and each step's, in discounted CNY million, one HiGHS
thread.
"""

from __future__ import annotations

import argparse
import time

import highspy
import numpy as np
from pyomo.contrib.solver.common.factory import SolverFactory
from regions_lagrangian import REGIONS, Regions, _quiet, column_regions, relaxed

import netopt
from netopt.datasets import data_path
from netopt.model.build import build_model
from netopt.model.forward import plan_values, year_by_year_plan
from netopt.model.highs import highs_columns, loaded_highs
from netopt.model.network import prepare


def whole_lp(lp: highspy.HighsLp, fixed: dict[int, float]) -> tuple[float, np.ndarray]:
    """The whole case's cost (CNY) and column values with ``fixed`` binaries, the rest
    by the LP."""
    h = relaxed(lp, fixed)
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError("the plan is infeasible in the whole case")
    return (float(h.getInfo().objective_function_value),
            np.asarray(h.getSolution().col_value, dtype=float))


def region_step(lp: highspy.HighsLp, cut: Regions, region: int, fixed: dict[int, float],
                start: np.ndarray, time_limit: float, gap: float) -> dict[str, object]:
    """The whole MIP with ``region``'s binaries free, the others at ``fixed``, from
    ``start``."""
    h = _quiet(1)
    h.setOptionValue("time_limit", time_limit)
    h.setOptionValue("mip_rel_gap", gap)
    h.passModel(lp)
    others = [c for c in fixed if cut.code[c] != region]
    columns = np.asarray(others, dtype=np.int32)
    value = np.round(np.asarray([fixed[c] for c in others], dtype=float))
    h.changeColsBounds(len(columns), columns, value, value)
    solution = highspy.HighsSolution()
    solution.col_value = list(start)
    solution.value_valid = True
    h.setSolution(solution)
    clock = time.perf_counter()
    h.run()
    info = h.getInfo()
    values = np.asarray(h.getSolution().col_value, dtype=float)
    return {"objective": float(info.objective_function_value),
            "bound": float(info.mip_dual_bound), "free": len(fixed) - len(others),
            "status": h.modelStatusToString(h.getModelStatus()),
            "seconds": time.perf_counter() - clock, "values": values}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", default=REGIONS, help="sites by region: a,b;c,d")
    parser.add_argument("--time-limit", type=float, default=120.0, help="per step (s)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--gap", type=float, default=1e-4)
    parser.add_argument("--plan-gap", type=float, default=0.005)
    parser.add_argument("--neighbourhood", choices=("regions", "sites", "alternate"),
                        default="regions",
                        help="free one region's binaries at a time; every site's opening "
                             "(the collection points fixed); or the sites' openings and "
                             "then the collection points' (the sites fixed) in turn")
    args = parser.parse_args()

    case = netopt.load_case(data_path("china"))
    nm = build_model(prepare(case))
    opt = SolverFactory("highs")
    opt.set_instance(nm.model)
    columns = highs_columns(opt)
    lp = loaded_highs(opt).getLp()
    regions = [group.split(",") for group in args.regions.split(";")]
    if args.neighbourhood == "regions":
        cut = Regions(lp, column_regions(nm, columns, regions))
    else:
        kind = np.full(lp.num_col_, "other", dtype=object)
        for var in nm.model.site_open.values():
            if id(var) in columns:
                kind[columns[id(var)]] = "sites"
        if args.neighbourhood == "alternate":
            for var in nm.model.open_collection_point.values():
                if id(var) in columns:
                    kind[columns[id(var)]] = "points"
        cut = Regions(lp, kind)
    order = sorted(range(len(cut.names)), key=lambda r: cut.names[r] != "sites")

    clock = time.perf_counter()
    plan = year_by_year_plan(case, mip_gap=args.plan_gap, threads=1, keep_sizes=False)
    assert plan is not None
    fixed = {columns[i]: v for i, v in plan_values(nm, plan).items()}
    best, start = whole_lp(lp, fixed)
    print(f"the forward plan: {best / 1e6:,.2f} M ({time.perf_counter() - clock:.0f} s); "
          f"{len(fixed)} binaries", flush=True)
    total = time.perf_counter()
    for round_number in range(args.rounds):
        for r in order:
            name = cut.names[r]
            if not any(cut.code[c] == r for c in fixed) or name == "other":
                continue
            step = region_step(lp, cut, r, fixed, start, args.time_limit, args.gap)
            improved = step["objective"] < best - 1.0
            if improved:
                values = step["values"]
                fixed = {c: float(round(values[c])) for c in fixed}
                best, start = step["objective"], values
            print(f"  round {round_number + 1}, {name}: {step['free']} binaries free; "
                  f"{step['status']}, plan {step['objective'] / 1e6:,.2f} M (bound "
                  f"{step['bound'] / 1e6:,.2f} M), {step['seconds']:.0f} s; best "
                  f"{best / 1e6:,.2f} M after {time.perf_counter() - total:.0f} s", flush=True)


if __name__ == "__main__":
    main()
