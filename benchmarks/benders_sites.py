"""Benders decomposition over the dismantling sites: what a sites-only master proves.

The issue's proposal for ``site_capacity = modules``, after Fischetti, Ljubic and Sinnl,
"Redesigning Benders decomposition for large-scale facility location" (Management
Science 63(7), 2017): the sites' binaries (``site_level`` in modules, ``site_open`` by
the tonne) form the master; everything else, every other binary relaxed, is one LP
subproblem over the whole horizon. For sites fixed at y (integer or not) the LP's value
z(y) is convex in y, and the reduced costs of the fixed columns are a subgradient, so
each LP gives a cut ``eta >= z(y^) - c y^ + (d - c)(y - y^)`` (c: the sites' own costs,
kept in the master's objective; d: the reduced costs). The master (sites' own rows, the
sites' costs plus eta) is a small MIP; its proven bound is a bound of the whole case.
Cuts are separated at an in-out point between the master's plan and a core point (Ben
Ameur and Neto 2007, as Fischetti et al. do), and at the master's plan itself.

At the end, the master's best sites (the lowest z) are fixed in the whole MIP (every
other binary integral again) and HiGHS solves the rest for ``--plan-time`` seconds: its
plan is a plan of the whole case.

    python benchmarks/benders_sites.py --sizing modules --time-limit 900 --plan-time 300

Prints one line per iteration: the master's bound, the best z(y) at an integer y (the
relaxation's incumbent), cuts and seconds; then the plan. Discounted CNY million, one
HiGHS thread.
"""

from __future__ import annotations

import argparse
import time

import highspy
import numpy as np
from pyomo.contrib.solver.common.factory import SolverFactory

import netopt
from netopt.datasets import data_path
from netopt.model.build import build_model
from netopt.model.highs import highs_columns, loaded_highs, run_solver
from netopt.model.network import prepare

SITE_VARIABLES = {"modules": "site_level", "continuous": "site_open"}
OPTIMAL = highspy.HighsModelStatus.kOptimal


def _quiet(threads: int) -> highspy.Highs:
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", threads)
    return highs


def _rowwise(lp: highspy.HighsLp) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The matrix as (row, column, value) triplets."""
    matrix = lp.a_matrix_
    start = np.asarray(matrix.start_, dtype=np.int64)
    index = np.asarray(matrix.index_, dtype=np.int64)
    value = np.asarray(matrix.value_, dtype=float)
    if matrix.format_ == highspy.MatrixFormat.kRowwise:
        return np.repeat(np.arange(lp.num_row_), np.diff(start[: lp.num_row_ + 1])), index, value
    return index, np.repeat(np.arange(lp.num_col_), np.diff(start[: lp.num_col_ + 1])), value


class Subproblem:
    """The whole LP (every binary relaxed) with the sites' columns fixed by bounds."""

    def __init__(self, lp: highspy.HighsLp, sites: np.ndarray, threads: int) -> None:
        lp.integrality_ = []
        self.highs = _quiet(threads)
        self.highs.passModel(lp)
        self.sites = sites.astype(np.int32)
        self.lower = np.asarray(lp.col_lower_, dtype=float)[sites]
        self.upper = np.asarray(lp.col_upper_, dtype=float)[sites]
        self.solves = 0

    def free(self) -> tuple[float, np.ndarray]:
        """The LP relaxation with the sites free in their bounds: (z, the sites' values)."""
        self.highs.changeColsBounds(len(self.sites), self.sites, self.lower, self.upper)
        self.highs.run()
        x = np.asarray(self.highs.getSolution().col_value, dtype=float)
        return self.highs.getInfo().objective_function_value, x[self.sites]

    def at(self, y: np.ndarray) -> tuple[float, np.ndarray]:
        """z(y) and the sites' reduced costs d (a subgradient of z at y)."""
        y = np.clip(y, self.lower, self.upper)
        self.highs.changeColsBounds(len(self.sites), self.sites, y, y)
        self.highs.run()
        self.solves += 1
        if self.highs.getModelStatus() != OPTIMAL:
            status = self.highs.modelStatusToString(self.highs.getModelStatus())
            raise RuntimeError(f"subproblem: {status}")
        dual = np.asarray(self.highs.getSolution().col_dual, dtype=float)
        return self.highs.getInfo().objective_function_value, dual[self.sites]


class Master:
    """min c y + eta over the sites' own rows and the cuts; y binary (or as the model)."""

    def __init__(self, lp: highspy.HighsLp, sites: np.ndarray, threads: int) -> None:
        row, col, value = _rowwise(lp)
        is_site = np.zeros(lp.num_col_, dtype=bool)
        is_site[sites] = True
        outside = np.zeros(lp.num_row_, dtype=bool)
        outside[row[~is_site[col]]] = True
        inside = np.zeros(lp.num_row_, dtype=bool)
        inside[row] = True
        own = inside & ~outside
        position = np.full(lp.num_col_, -1, dtype=np.int64)
        position[sites] = np.arange(len(sites))
        self.cost = np.asarray(lp.col_cost_, dtype=float)[sites]
        self.n = len(sites)
        h = self.highs = _quiet(threads)
        lower = np.asarray(lp.col_lower_, dtype=float)[sites]
        upper = np.asarray(lp.col_upper_, dtype=float)[sites]
        h.addVars(
            self.n + 1, np.append(lower, -highspy.kHighsInf), np.append(upper, highspy.kHighsInf)
        )
        h.changeColsCost(
            self.n + 1, np.arange(self.n + 1, dtype=np.int32), np.append(self.cost, 1.0)
        )
        integrality = np.asarray(lp.integrality_, dtype=object)
        if len(integrality):
            kinds = [highspy.HighsVarType.kInteger] * self.n
            h.changeColsIntegrality(self.n, np.arange(self.n, dtype=np.int32), kinds)
        row_lower = np.asarray(lp.row_lower_, dtype=float)
        row_upper = np.asarray(lp.row_upper_, dtype=float)
        keep = own[row]
        order = np.argsort(row[keep], kind="stable")
        rows, cols, values = row[keep][order], position[col[keep][order]], value[keep][order]
        starts = np.searchsorted(rows, np.flatnonzero(own))
        ends = np.append(starts[1:], len(rows))
        for r, start, end in zip(np.flatnonzero(own), starts, ends):
            h.addRow(
                row_lower[r],
                row_upper[r],
                int(end - start),
                cols[start:end].astype(np.int32),
                values[start:end],
            )
        self.own_rows = int(own.sum())
        self.cuts = 0

    def cut(self, z: float, d: np.ndarray, y: np.ndarray) -> None:
        """eta >= (z - c y) + (d - c)(y' - y)."""
        g = d - self.cost
        rhs = z - self.cost @ y - g @ y
        index = np.arange(self.n + 1, dtype=np.int32)
        self.highs.addRow(rhs, highspy.kHighsInf, self.n + 1, index, np.append(-g, 1.0))
        self.cuts += 1

    def solve(self, time_limit: float) -> tuple[float, float, np.ndarray]:
        """(proven bound, objective, the sites' values) of the master."""
        self.highs.setOptionValue("time_limit", max(1.0, time_limit))
        self.highs.setOptionValue("mip_rel_gap", 1e-6)
        self.highs.run()
        info = self.highs.getInfo()
        x = np.asarray(self.highs.getSolution().col_value, dtype=float)
        objective = float(info.objective_function_value)
        return float(info.mip_dual_bound), objective, np.round(x[: self.n])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizing", choices=tuple(SITE_VARIABLES), default="modules")
    parser.add_argument("--case", default="china")
    parser.add_argument("--time-limit", type=float, default=900.0, help="the Benders loop (s)")
    parser.add_argument(
        "--plan-time", type=float, default=300.0, help="the whole MIP with the best sites fixed (s)"
    )
    parser.add_argument(
        "--inout",
        type=float,
        default=0.5,
        help="lambda: the cut point's share of the master's plan",
    )
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    case = netopt.load_case(data_path(args.case)).replace(parameters={"site_capacity": args.sizing})
    nm = build_model(prepare(case))
    opt = SolverFactory("highs")
    opt.set_instance(nm.model)
    columns = highs_columns(opt)
    site_vars = list(getattr(nm.model, SITE_VARIABLES[args.sizing]).values())
    sites = np.array([columns[id(v)] for v in site_vars], dtype=np.int64)
    lp = loaded_highs(opt).getLp()

    clock = time.perf_counter()
    master = Master(lp, sites, args.threads)
    sub = Subproblem(lp, sites, args.threads)
    z_lp, core = sub.free()
    print(
        f"{len(sites)} site columns, {master.own_rows} rows of their own; "
        f"LP {z_lp / 1e6:,.3f} M ({time.perf_counter() - clock:.0f} s)"
    )
    z, d = sub.at(core)
    master.cut(z, d, core)
    best_z, best_y, bound = np.inf, None, -np.inf
    iteration = 0
    while time.perf_counter() - clock < args.time_limit:
        left = args.time_limit - (time.perf_counter() - clock)
        master_bound, master_objective, y = master.solve(left)
        bound = max(bound, master_bound)
        z, d = sub.at(y)
        master.cut(z, d, y)
        if z < best_z:
            best_z, best_y = z, y.copy()
        point = args.inout * y + (1 - args.inout) * core
        z_in, d_in = sub.at(point)
        master.cut(z_in, d_in, point)
        core = 0.5 * (core + y)
        iteration += 1
        gap = (best_z - bound) / abs(best_z)
        print(
            f"{iteration:3d}: bound {bound / 1e6:,.3f} M, z(y) {z / 1e6:,.3f} M, best "
            f"{best_z / 1e6:,.3f} M, gap {gap:.2%}, {master.cuts} cuts, "
            f"{time.perf_counter() - clock:.0f} s",
            flush=True,
        )
        if gap <= 1e-4:
            break
    print(
        f"Benders: bound {bound / 1e6:,.3f} M, the relaxation's best {best_z / 1e6:,.3f} M, "
        f"{iteration} iterations, {sub.solves} LPs, {time.perf_counter() - clock:.0f} s"
    )
    if best_y is None or args.plan_time <= 0:
        return
    for var, value in zip(site_vars, best_y):
        var.fix(float(value))
    plan_clock = time.perf_counter()
    result = run_solver(nm, time_limit=args.plan_time, threads=args.threads)
    objective = result.objective
    print(
        f"sites fixed, rest integral: {result.status}: plan {objective / 1e6:,.3f} M "
        f"(its bound with the sites fixed {result.bound / 1e6:,.3f} M), "
        f"{time.perf_counter() - plan_clock:.0f} s; against the Benders bound: "
        f"gap {(objective - bound) / abs(objective):.2%}"
    )


if __name__ == "__main__":
    main()
