"""A bound by regions: each region's sites and points over the whole horizon, priced apart.

The years' bound (netopt.model.bounds) cuts the case by time and loses what links the
years: a site once built stays and never shrinks. This cuts it by place instead. In the
default case each collection point ships to its two nearest sites, and the sites fall
into a few regions that share few points. Each column goes to one region (a site's, a
point's, a source's: the region of the site the point ships to first); the rows that
span regions (the supply rows of sources whose points lie in two regions, the balance
rows of points shipping into two regions, and the recyclers' and reuse outlets'
capacities) are dualized with the row prices ``y`` of an LP. What is left splits into
one MIP per region, each with every year and the links between them, and

    L(y) = sum over regions of min (c - A_D' y) x  +  sum over D of y_r * (its bound)

bounds the whole case from below for any prices of the right sign (the Lagrangian
relaxation of the rows D). A region's MIP that ends before optimality adds its proven
bound, so L stays a bound.

    python benchmarks/regions_lagrangian.py --prices lp plan --time-limit 300

Prices: ``lp``, the duals of the whole model's LP relaxation; ``plan``, the duals of the
LP with every binary fixed at the forward pass's plan (netopt.model.forward). Prints
each region's size, proven bound and plan, and L(y), in discounted CNY million, one
HiGHS thread per region MIP.
"""

from __future__ import annotations

import argparse
import math
import time
from collections import Counter, defaultdict

import highspy
import numpy as np
import pyomo.environ as pyo
from benders_sites import _quiet, _rowwise
from pyomo.contrib.solver.common.factory import SolverFactory

import netopt
from netopt.datasets import data_path
from netopt.model.build import build_model
from netopt.model.forward import plan_values, year_by_year_plan
from netopt.model.highs import highs_columns, highs_rows, loaded_highs
from netopt.model.network import prepare

#: The default case's sites by region: the points shared between two regions are few.
REGIONS = ("pt-hefei,pt-suzhou;pt-changsha,pt-foshan,pt-wuhan;"
           "pt-jinan,pt-tianjin,pt-shenyang,pt-zhengzhou,pt-xian;pt-chengdu,pt-chongqing")
REST = "downstream"
INF = highspy.kHighsInf


def column_regions(nm, columns: dict[int, int], regions: list[list[str]]) -> np.ndarray:
    """The region (a name) of each HiGHS column."""
    region_of_site = {k: ",".join(group) for group in regions for k in group}
    first_site: dict[str, str] = {}
    arcs = nm.data.arcs["collection_site"].sort_values("km")
    for j, k in zip(arcs["origin"], arcs["destination"]):
        first_site.setdefault(str(j), str(k))
    region_of_point = {j: region_of_site[k] for j, k in first_site.items()}
    votes: dict[str, Counter] = defaultdict(Counter)
    for i, j, _t in nm.model.ship_source_collection:
        votes[str(i)][region_of_point[str(j)]] += 1
    region_of_source = {i: c.most_common(1)[0][0] for i, c in votes.items()}
    by_name = {
        "site_open": lambda ix: region_of_site[ix[0]],
        "site_size": lambda ix: region_of_site[ix[0]],
        "site_level": lambda ix: region_of_site[ix[0]],
        "open_collection_point": lambda ix: region_of_point[ix[0]],
        "outsourced_at_collection": lambda ix: region_of_point[ix[0]],
        "ship_source_collection": lambda ix: region_of_point[ix[1]],
        "ship_source_site": lambda ix: region_of_site[ix[1]],
        "flow_collection_site": lambda ix: region_of_site[ix[1]],
        "flow_site_recycler": lambda ix: region_of_site[ix[0]],
        "flow_site_reuse": lambda ix: region_of_site[ix[0]],
        "outsourced_share": lambda ix: region_of_source.get(ix[0], REST),
        "open_recycler": lambda ix: REST,
        "open_reuse_outlet": lambda ix: REST,
    }
    region = np.empty(len(columns), dtype=object)
    for var in nm.model.component_data_objects(pyo.Var):
        if id(var) not in columns:
            continue
        name = var.parent_component().name
        index = var.index() if isinstance(var.index(), tuple) else (var.index(),)
        region[columns[id(var)]] = by_name[name](tuple(str(x) for x in index))
    return region


def relaxed(lp: highspy.HighsLp, fixed: dict[int, float] | None = None) -> highspy.Highs:
    """HiGHS after solving the LP relaxation of ``lp``, with the ``fixed`` columns (by
    index) at their values rounded: a plan's flows when every binary is fixed."""
    h = _quiet(1)
    h.passModel(lp)
    index = np.arange(lp.num_col_, dtype=np.int32)
    h.changeColsIntegrality(lp.num_col_, index,
                            [highspy.HighsVarType.kContinuous] * lp.num_col_)
    if fixed:
        columns = np.fromiter(fixed, dtype=np.int32)
        value = np.round(np.fromiter(fixed.values(), dtype=float))
        h.changeColsBounds(len(columns), columns, value, value)
    h.run()
    return h


def lp_prices(lp: highspy.HighsLp,
              fixed: dict[int, float] | None = None) -> tuple[float, np.ndarray]:
    """The LP relaxation's value and row duals (with ``fixed`` columns at their values)."""
    h = relaxed(lp, fixed)
    return h.getInfo().objective_function_value, np.asarray(h.getSolution().row_dual, dtype=float)


class Regions:
    """The whole model cut into regions, with the rows spanning two of them dualized."""

    def __init__(self, lp: highspy.HighsLp, region: np.ndarray) -> None:
        self.lp = lp
        self.row, self.col, self.val = _rowwise(lp)
        names = sorted(set(region))
        self.names = names
        code = np.array([names.index(r) for r in region])
        self.code = code
        spans = np.zeros((lp.num_row_, len(names)), dtype=bool)
        spans[self.row, code[self.col]] = True
        self.dualized = spans.sum(axis=1) > 1
        self.row_region = np.where(self.dualized, -1, spans.argmax(axis=1))
        self.row_lower = np.asarray(lp.row_lower_, dtype=float)
        self.row_upper = np.asarray(lp.row_upper_, dtype=float)
        self.cost = np.asarray(lp.col_cost_, dtype=float)
        self.col_lower = np.asarray(lp.col_lower_, dtype=float)
        self.col_upper = np.asarray(lp.col_upper_, dtype=float)
        self.integer = np.asarray([str(v).endswith("kInteger") for v in lp.integrality_]
                                  or [False] * lp.num_col_)

    def priced(self, y: np.ndarray) -> tuple[np.ndarray, float]:
        """Costs with the dualized rows priced by ``y``, and the constant part of L(y)."""
        y = np.where(self.dualized, y, 0.0)
        # a price may only lean on a finite side of its row
        y = np.where((y > 0) & ~np.isfinite(self.row_lower), 0.0, y)
        y = np.where((y < 0) & ~np.isfinite(self.row_upper), 0.0, y)
        cost = self.cost.copy()
        np.subtract.at(cost, self.col, self.val * y[self.row])
        constant = float(np.sum(np.where(y > 0, y * np.where(np.isfinite(self.row_lower),
                                                              self.row_lower, 0.0), 0.0))
                         + np.sum(np.where(y < 0, y * np.where(np.isfinite(self.row_upper),
                                                               self.row_upper, 0.0), 0.0)))
        return cost, constant + float(self.lp.offset_)

    def region_model(self, r: int, cost: np.ndarray) -> highspy.HighsLp:
        cols = np.flatnonzero(self.code == r)
        rows = np.flatnonzero(self.row_region == r)
        col_pos = np.full(self.lp.num_col_, -1)
        col_pos[cols] = np.arange(len(cols))
        row_pos = np.full(self.lp.num_row_, -1)
        row_pos[rows] = np.arange(len(rows))
        keep = (row_pos[self.row] >= 0) & (col_pos[self.col] >= 0)
        sub_col, sub_row, sub_val = col_pos[self.col[keep]], row_pos[self.row[keep]], self.val[keep]
        order = np.lexsort((sub_row, sub_col))
        sub_col, sub_row, sub_val = sub_col[order], sub_row[order], sub_val[order]
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = len(cols), len(rows)
        lp.col_cost_ = cost[cols]
        lp.col_lower_, lp.col_upper_ = self.col_lower[cols], self.col_upper[cols]
        lp.row_lower_, lp.row_upper_ = self.row_lower[rows], self.row_upper[rows]
        matrix = lp.a_matrix_
        matrix.format_ = highspy.MatrixFormat.kColwise
        matrix.num_col_, matrix.num_row_ = len(cols), len(rows)
        matrix.start_ = np.searchsorted(sub_col, np.arange(len(cols) + 1)).astype(np.int32)
        matrix.index_ = sub_row.astype(np.int32)
        matrix.value_ = sub_val
        lp.a_matrix_ = matrix
        lp.integrality_ = [highspy.HighsVarType.kInteger if self.integer[c]
                           else highspy.HighsVarType.kContinuous for c in cols]
        return lp


def solve_region(lp: highspy.HighsLp, time_limit: float, gap: float) -> dict[str, float]:
    h = _quiet(1)
    h.setOptionValue("time_limit", time_limit)
    h.setOptionValue("mip_rel_gap", gap)
    if h.passModel(lp) != highspy.HighsStatus.kOk:
        raise RuntimeError("the region's model was not accepted")
    clock = time.perf_counter()
    h.run()
    info = h.getInfo()
    integers = any(v == highspy.HighsVarType.kInteger for v in lp.integrality_)
    bound = info.mip_dual_bound if integers else info.objective_function_value
    values = np.asarray(h.getSolution().col_value, dtype=float)
    return {"bound": float(bound), "objective": float(info.objective_function_value),
            "status": h.modelStatusToString(h.getModelStatus()),
            "seconds": time.perf_counter() - clock, "values": values}


def repaired_plan(lp: highspy.HighsLp, chosen: dict[int, float]) -> float:
    """The whole case's cost (CNY) with every binary at the regions' plans, the rest by
    the LP (a plan of the whole case: the dualized rows hold again)."""
    h = relaxed(lp, chosen)
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return math.nan
    return float(h.getInfo().objective_function_value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", default=REGIONS, help="sites by region: a,b;c,d")
    parser.add_argument("--prices", nargs="+", default=["lp", "plan"], choices=("lp", "plan"))
    parser.add_argument("--time-limit", type=float, default=300.0, help="per region MIP (s)")
    parser.add_argument("--gap", type=float, default=1e-4)
    parser.add_argument("--plan-gap", type=float, default=0.005)
    args = parser.parse_args()

    case = netopt.load_case(data_path("china"))
    nm = build_model(prepare(case))
    opt = SolverFactory("highs")
    opt.set_instance(nm.model)
    columns = highs_columns(opt)
    lp = loaded_highs(opt).getLp()
    regions = [group.split(",") for group in args.regions.split(";")]
    region = column_regions(nm, columns, regions)
    cut = Regions(lp, region)
    print(f"{lp.num_row_} rows, {int(cut.dualized.sum())} dualized; columns by region: "
          + ", ".join(f"{n}: {int((cut.code == i).sum())}" for i, n in enumerate(cut.names)))
    by_group: Counter = Counter()
    names = {r: c.parent_component().name for c, r in highs_rows(opt).items()}
    for r in np.flatnonzero(cut.dualized):
        by_group[names.get(int(r), "?")] += 1
    print("dualized rows:", dict(by_group))

    for source in args.prices:
        clock = time.perf_counter()
        if source == "lp":
            value, y = lp_prices(lp)
            print(f"prices: the LP, {value / 1e6:,.2f} M ({time.perf_counter() - clock:.0f} s)")
        else:
            plan = year_by_year_plan(case, mip_gap=args.plan_gap, threads=1, keep_sizes=False)
            assert plan is not None
            fixed = {columns[i]: v for i, v in plan_values(nm, plan).items()}
            value, y = lp_prices(lp, fixed)
            print(f"prices: the forward plan's LP, {value / 1e6:,.2f} M "
                  f"({time.perf_counter() - clock:.0f} s)")
        cost, constant = cut.priced(y)
        total = constant
        upper = constant
        chosen: dict[int, float] = {}
        for r, name in enumerate(cut.names):
            sub = cut.region_model(r, cost)
            result = solve_region(sub, args.time_limit, args.gap)
            cols = np.flatnonzero(cut.code == r)
            for c, v in zip(cols, result["values"]):
                if cut.integer[c]:
                    chosen[int(c)] = float(v)
            total += result["bound"]
            upper += result["objective"] if math.isfinite(result["objective"]) else math.nan
            print(f"  {name}: {sub.num_col_} columns, {sub.num_row_} rows; {result['status']}, "
                  f"bound {result['bound'] / 1e6:,.2f} M, plan {result['objective'] / 1e6:,.2f} M, "
                  f"{result['seconds']:.0f} s", flush=True)
        print(f"L(y) with {source} prices: {total / 1e6:,.2f} M (at the regions' plans "
              f"{upper / 1e6:,.2f} M)", flush=True)
        clock = time.perf_counter()
        plan = repaired_plan(lp, chosen)
        print(f"the regions' openings as a plan of the whole case: {plan / 1e6:,.2f} M "
              f"({time.perf_counter() - clock:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
