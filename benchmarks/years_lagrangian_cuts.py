"""The sites' link between the years kept in a master, the years' MIPs as its cut oracles.

The years' bound (netopt.model.bounds) drops every row that links the years. This keeps
the dismantling sites' link (a site stays open, its size never shrinks) in a small
master over the sites' openings and sizes year by year, and drops only the collection
points' link. For each year t, the best cost of the year given its sites' openings and
sizes x, f_t(x), is bounded from below by a Lagrangian cut: for any prices p,

    f_t(x) >= L_t(p) + p . x,   L_t(p) = min over the year's plans y of cost_t(y) - p . x(y),

and the proven bound of the priced year MIP is a valid L_t(p) (Zou, Ahmed and Sun's
strengthened Benders cuts, "Stochastic dual dynamic integer programming", Mathematical
Programming 2019). The master, min sum_t theta_t over openings and sizes that keep the
link, with theta_t above every cut of year t, is then a bound of the whole case; with
zero prices its cuts give the years' bound. Each round takes the master's optimum (the
first round: the best plan's sites) as the point x of every year, prices it by the
reduced costs of the sites' variables in the year's relaxation with x held, and adds
the cuts (Kelley's cutting planes on the Lagrangian dual, that is, column generation
over the sites' trajectories with the years' MIPs pricing).

    python benchmarks/years_lagrangian_cuts.py --rounds 8 --gap 0.002

Prints, per round, the master's bound and the years' cuts at its point, in discounted
CNY million; the years on two worker processes of one HiGHS thread.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
from concurrent.futures import ProcessPoolExecutor

import pyomo.environ as pyo
from pyomo.contrib.solver.common.factory import SolverFactory
from years_lagrangian import best_plan, price_objective, relaxation_holding

import netopt
from netopt.datasets import data_path
from netopt.model.bounds import year_case
from netopt.model.build import build_model
from netopt.model.highs import run_solver
from netopt.model.network import discount_factors, prepare

#: The sites' variables a cut prices, [site, year] in every model.
SITE_VARIABLES = ("site_size", "site_open")


def year_cut(case: netopt.Case, year: int, factor: float, point: dict | None, gap: float,
             time_limit: float) -> dict:
    """Year ``year``'s Lagrangian cut at ``point`` (each site variable's value by
    (name, site)), priced by the year's relaxation with the point held; zero prices
    where ``point`` is None. CNY discounted to the whole case's first year."""
    nm = build_model(prepare(year_case(case, year)))
    m = nm.model
    prices: dict[tuple[str, str], float] = {}
    if point is not None:
        held = [(v, max(point[(name, k)], v.lb or 0.0)) for name in SITE_VARIABLES
                for (k, _t), v in getattr(m, name).items() if not v.fixed]
        with relaxation_holding(m, held), contextlib.redirect_stdout(io.StringIO()):
            results = SolverFactory("highs").solve(
                m, load_solutions=False, raise_exception_on_nonoptimal_result=False)
        if results.incumbent_objective is not None:
            reduced = results.solution_loader.get_reduced_costs()
            for name in SITE_VARIABLES:
                for (k, _t), v in getattr(m, name).items():
                    if not v.fixed and v in reduced:
                        prices[(name, k)] = float(reduced[v])
    price_objective(m, [(getattr(m, name)[k, year], -p) for (name, k), p in prices.items()
                        if p])
    result = run_solver(nm, mip_gap=gap, threads=1, time_limit=time_limit)
    return {"year": year, "constant": factor * result.bound,
            "prices": {key: factor * p for key, p in prices.items()},
            "status": str(result.status)}


def best_plan_point(case: netopt.Case, seconds: float, gap: float,
                    ) -> tuple[dict, float, pyo.ConcreteModel]:
    """The sites' openings and sizes, by (name, site, year), of the forward pass improved
    by the neighbourhoods for ``seconds`` (as ``netopt.solve`` builds its plan), its
    cost, and the whole model."""
    nm, best = best_plan(case, seconds, gap)
    point = {(name, k, t): float(v.value or 0.0) for name in SITE_VARIABLES
             for (k, t), v in getattr(nm.model, name).items()}
    return point, best["objective"], nm.model


class Master:
    """min sum_t theta_t over the sites' openings and sizes that keep the link between
    the years, theta_t above every cut of year t; the sites as in ``whole``, the whole
    case's model."""

    def __init__(self, case: netopt.Case, whole: pyo.ConcreteModel) -> None:
        sizing = prepare(case).site_sizing()
        self.years = list(case.years)
        m = self.model = pyo.ConcreteModel()
        keys = list(whole.site_size.keys())
        m.size = pyo.Var(keys, bounds=lambda _, k, t: (0.0, sizing[k].max_t_per_yr))
        m.open = pyo.Var(keys, domain=pyo.Binary)
        for (k, t), v in whole.site_open.items():
            if v.fixed or (v.lb or 0.0) >= 1.0:  # an existing site
                m.open[k, t].fix(1.0)
        m.theta = pyo.Var(self.years)
        m.size_min = pyo.Constraint(keys, rule=lambda _, k, t: m.size[k, t]
                                    >= sizing[k].min_t_per_yr * m.open[k, t])
        m.size_max = pyo.Constraint(keys, rule=lambda _, k, t: m.size[k, t]
                                    <= sizing[k].max_t_per_yr * m.open[k, t])
        later = [(k, t) for k, t in keys if t != self.years[0]]
        before = {t: self.years[i - 1] for i, t in enumerate(self.years) if i}
        m.no_shrink = pyo.Constraint(later, rule=lambda _, k, t: m.size[k, t]
                                     >= m.size[k, before[t]])
        m.stays_open = pyo.Constraint(later, rule=lambda _, k, t: m.open[k, t]
                                      >= m.open[k, before[t]])
        m.cuts = pyo.ConstraintList()
        m.cost = pyo.Objective(expr=sum(m.theta[t] for t in self.years))

    def add(self, cut: dict) -> None:
        m, t = self.model, cut["year"]
        variables = {"site_size": m.size, "site_open": m.open}
        expr = cut["constant"] + sum(p * variables[name][k, t]
                                     for (name, k), p in cut["prices"].items())
        m.cuts.add(m.theta[t] >= expr)

    def solve(self) -> tuple[float, dict]:
        """The master's optimum (CNY) and its point (by (name, site, year))."""
        with contextlib.redirect_stdout(io.StringIO()):
            results = SolverFactory("highs").solve(self.model, solver_options={
                "mip_rel_gap": 1e-6})
        m = self.model
        point = {("site_size", k, t): float(m.size[k, t].value) for k, t in m.size}
        point.update({("site_open", k, t): float(round(m.open[k, t].value))
                      for k, t in m.open})
        return float(results.objective_bound), point


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--gap", type=float, default=0.002, help="each year's MIP gap")
    parser.add_argument("--year-seconds", type=float, default=60.0)
    parser.add_argument("--plan-seconds", type=float, default=150.0)
    args = parser.parse_args()
    case = netopt.load_case(data_path("china"))
    years = list(case.years)
    factors = discount_factors(years, case.parameters["discount_rate"])
    clock = time.perf_counter()
    point, plan_cost, whole = best_plan_point(case, args.plan_seconds, 0.005)
    print(f"the best plan: {plan_cost / 1e6:,.2f} M ({time.perf_counter() - clock:.0f} s)",
          flush=True)
    master = Master(case, whole)
    with ProcessPoolExecutor(2) as pool:
        for round_number in range(args.rounds + 1):
            clock = time.perf_counter()
            points = [None if round_number == 0 else
                      {(name, k): value for (name, k, t), value in point.items() if t == year}
                      for year in years]
            cuts = list(pool.map(year_cut, [case] * len(years), years,
                                 [factors[y] for y in years], points,
                                 [args.gap] * len(years), [args.year_seconds] * len(years)))
            for cut in cuts:
                master.add(cut)
            at_point = sum(cut["constant"] + sum(
                p * point[(name, k, cut["year"])] for (name, k), p in cut["prices"].items())
                for cut in cuts)
            bound, next_point = master.solve()
            label = "zero prices (the years' bound)" if round_number == 0 else \
                ("the best plan's sites" if round_number == 1 else "the master's point")
            print(f"round {round_number}, cuts at {label}: their sum there "
                  f"{at_point / 1e6:,.2f} M; the master's bound {bound / 1e6:,.2f} M "
                  f"({time.perf_counter() - clock:.0f} s)", flush=True)
            if round_number >= 1:
                point = next_point


if __name__ == "__main__":
    main()
