"""The years' bound with the linking rows priced by the LP's duals (a Lagrangian bound).

The whole model's LP relaxation gives a dual price to each row that links two years (a
facility stays open, a site never shrinks). Moved into the years' objectives, those
prices give each year alone a share of what its choices cost the years after it; any
nonnegative prices give a bound (the Lagrangian relaxation of the linking rows), and
zero prices give the plain years' bound of netopt.model.bounds. This measures whether
the LP's prices raise it; with ``--prices plan``, whether the prices of a good plan do:
the duals of the LP of the whole case with its binaries held at the plan's (the forward
pass improved by the neighbourhoods for ``--plan-seconds``, as ``netopt.solve`` does),
of the rows ``--links`` names, each scaled by every ``--theta``.

    python benchmarks/years_lagrangian.py --gap 0.005
    python benchmarks/years_lagrangian.py --prices plan --links site_no_shrink \
        --theta 0.1 1 --gap 0.002

Prints the LP bound (or the plan's cost), the years' bound with zero prices and with
the prices (discounted CNY million), each year to ``--gap`` on one thread.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pyomo.environ as pyo
from pyomo.contrib.solver.common.factory import SolverFactory

import netopt
from netopt.datasets import data_path
from netopt.model.bounds import year_case
from netopt.model.build import NetworkModel, build_model, linear_sum
from netopt.model.forward import plan_values, year_by_year_plan
from netopt.model.highs import solve_fixed
from netopt.model.neighbourhood import improve_by_neighbourhoods
from netopt.model.network import discount_factors, prepare
from netopt.model.solve import run_solver

#: Each linking row group (var[f, t] >= var[f, t - 1]) and the variable it links.
LINKS = {"collection_stays_open": "open_collection_point",
         "recycler_stays_open": "open_recycler", "reuse_stays_open": "open_reuse_outlet",
         "site_stays_open": "site_open", "site_no_shrink": "site_size"}


def linking_prices(case: netopt.Case) -> tuple[dict[tuple[str, object, int], float], float]:
    """Each linked variable's price (CNY per unit, discounted) from the LP's duals of the
    linking rows, and the LP bound."""
    model = build_model(prepare(case)).model
    with relaxation_holding(model, []):
        results = SolverFactory("highs").solve(model, load_solutions=False,
                                               raise_exception_on_nonoptimal_result=False)
    duals = results.solution_loader.get_duals()
    return _prices(case, model, duals, list(LINKS)), float(results.incumbent_objective)


@contextlib.contextmanager
def relaxation_holding(model: pyo.ConcreteModel, held: list[tuple[Any, float]],
                       ) -> Iterator[None]:
    """``model``'s relaxation (its free binaries between 0 and 1) with each variable of
    ``held`` held at its value by its bounds (so that the rows through it keep their
    duals), for the ``with`` block; the model as it was after it."""
    saved = [(v, v.domain, v.lb, v.ub) for v in model.component_data_objects(pyo.Var)]
    try:
        for v in model.component_data_objects(pyo.Var):
            if v.is_binary() and not v.fixed:
                v.domain = pyo.Reals
                v.setlb(0.0)
                v.setub(1.0)
        for v, value in held:
            v.setlb(value)
            v.setub(value)
        yield
    finally:
        for v, domain, lb, ub in saved:
            v.domain = domain
            v.setlb(lb)
            v.setub(ub)


def price_objective(model: pyo.ConcreteModel, terms: list[tuple[Any, float]]) -> None:
    """Make ``model``'s objective its cost plus each variable of ``terms`` times its
    price (CNY per unit)."""
    model.total_cost.deactivate()
    model.priced_cost = pyo.Objective(expr=model.total_cost.expr + linear_sum(
        [v for v, _p in terms], [p for _v, p in terms]))


def _prices(case: netopt.Case, model: pyo.ConcreteModel, duals: dict, links: list[str],
            ) -> dict[tuple[str, object, int], float]:
    """The linked variables' prices from the ``links`` rows' ``duals``."""
    years = list(case.years)
    price: dict[tuple[str, object, int], float] = {}
    for group in links:
        var_name = LINKS[group]
        rows = getattr(model, group, None)
        if rows is None:
            continue
        for (f, t), row in rows.items():
            # pyomo's dual of a >= row of a minimisation is <= 0: its multiplier is -dual
            multiplier = max(0.0, -duals[row])
            before = years[years.index(t) - 1]
            price[(var_name, f, t)] = price.get((var_name, f, t), 0.0) - multiplier
            price[(var_name, f, before)] = price.get((var_name, f, before), 0.0) + multiplier
    return price


def best_plan(case: netopt.Case, seconds: float, gap: float) -> tuple[NetworkModel, dict]:
    """The forward pass (each year to ``gap``) improved by the neighbourhoods for
    ``seconds``, as ``netopt.solve`` builds its plan: the whole model, holding the plan,
    and the plan (``objective``, CNY, and ``values``)."""
    nm = build_model(prepare(case))
    persistent = SolverFactory("highs")
    forward = year_by_year_plan(case, mip_gap=gap, threads=1, keep_sizes=False)
    assert forward is not None
    objective, values = solve_fixed(nm, plan_values(nm, forward), persistent=persistent)
    assert values is not None
    best = improve_by_neighbourhoods(nm, {"objective": objective, "values": values},
                                     persistent, time_limit=seconds, threads=2)
    return nm, best


def plan_prices(case: netopt.Case, links: list[str], seconds: float,
                gap: float) -> tuple[dict[tuple[str, object, int], float], float]:
    """Each linked variable's price (CNY per unit, discounted) from the duals of the
    ``links`` rows in the LP of the whole case with its binaries at a good plan's, and
    that plan's cost."""
    nm, best = best_plan(case, seconds, gap)
    model = nm.model
    held = [(v, float(round(best["values"][id(v)])))
            for v in model.component_data_objects(pyo.Var) if v.is_binary() and not v.fixed]
    with relaxation_holding(model, held):
        results = SolverFactory("highs").solve(model, load_solutions=False,
                                               raise_exception_on_nonoptimal_result=False)
    return _prices(case, model, results.solution_loader.get_duals(), links), \
        float(results.incumbent_objective)


def years_bound(case: netopt.Case, price: dict, gap: float) -> float:
    """The sum of the years' bounds with the linked variables priced (CNY, discounted)."""
    years = list(case.years)
    factors = discount_factors(years, case.parameters["discount_rate"])
    total = 0.0
    for t in years:
        nm = build_model(prepare(year_case(case, t)))
        model = nm.model
        terms = [(getattr(model, name)[f, t], p / factors[t])
                 for (name, f, year), p in price.items() if year == t and p]
        price_objective(model, terms)
        total += factors[t] * run_solver(nm, mip_gap=gap, threads=1).bound
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gap", type=float, default=0.005)
    parser.add_argument("--prices", choices=("lp", "plan"), default="lp")
    parser.add_argument("--links", nargs="+", choices=list(LINKS), default=list(LINKS),
                        help="the rows priced (--prices plan)")
    parser.add_argument("--theta", type=float, nargs="+", default=[1.0],
                        help="scales of the plan's prices")
    parser.add_argument("--plan-seconds", type=float, default=150.0)
    args = parser.parse_args()
    case = netopt.load_case(data_path("china"))
    clock = time.perf_counter()
    if args.prices == "lp":
        price, lp = linking_prices(case)
        print(f"LP bound {lp / 1e6:,.1f} M ({time.perf_counter() - clock:.0f} s)")
        runs = [("zero prices", {}), ("the LP's prices", price)]
    else:
        price, cost = plan_prices(case, args.links, args.plan_seconds, args.gap)
        print(f"the plan: {cost / 1e6:,.2f} M; {sum(1 for p in price.values() if p)} "
              f"prices ({time.perf_counter() - clock:.0f} s)")
        runs = [("zero prices", {})] + [
            (f"the plan's prices times {theta:g}",
             {key: theta * p for key, p in price.items()}) for theta in args.theta]
    for label, prices in runs:
        clock = time.perf_counter()
        bound = years_bound(case, prices, args.gap)
        print(f"years' bound, {label}: {bound / 1e6:,.1f} M "
              f"({time.perf_counter() - clock:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
