"""The years' bound with the linking rows priced by subgradient steps (a Lagrangian bound).

Each row that links two years (a facility stays open, a site never shrinks:
``var[f, t-1] - var[f, t] <= 0``) gets a multiplier mu >= 0 and moves into the years'
objectives: +mu on ``var[f, t-1]``, -mu on ``var[f, t]``. For any mu >= 0 the sum of the
years' proven bounds is a lower bound on the whole case's optimum (mu = 0 is netopt's
years' bound). The subgradient method (Polyak's step towards the best plan's cost,
Held, Wolfe and Crowder 1974) fits mu to the years' MIPs, where the LP's duals
(``years_lagrangian.py``) did not move the bound. A size row is scaled by the site's
largest size, so that every subgradient component lies in [-1, 1].

    python benchmarks/years_subgradient.py --iterations 12 --gap 0.001 --target -1560.2

Prints one line per iteration: the Lagrangian bound (discounted CNY million), the best so
far, the step size and the rows violated by the years' plans; each year to ``--gap`` on
one thread, ``--workers`` years at a time.
"""

from __future__ import annotations

import argparse
import math
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pyomo.environ as pyo

import netopt
from netopt.datasets import data_path
from netopt.model.bounds import year_case
from netopt.model.build import build_model, linear_sum
from netopt.model.highs import run_solver
from netopt.model.network import discount_factors, prepare

#: Each linking row group (var[f, t] >= var[f, t - 1]) and the variable it links.
LINKS = {"collection_stays_open": "open_collection_point",
         "recycler_stays_open": "open_recycler", "reuse_stays_open": "open_reuse_outlet",
         "site_stays_open": "site_open", "site_no_shrink": "site_size"}


def linked_keys(case: netopt.Case) -> tuple[list[tuple[str, Any, int]], dict[Any, float]]:
    """Every linking row as (variable, facility, year t >= second year), and each site's
    largest size (t/yr), the scale of its size rows."""
    data = prepare(case)
    model = build_model(data).model
    keys = []
    for group, var_name in LINKS.items():
        rows = getattr(model, group, None)
        if rows is not None:
            keys += [(var_name, f, t) for (f, t) in rows]
    scale = {k: sizing.max_t_per_yr for k, sizing in data.site_sizing().items()}
    return keys, scale


def solve_year(case: netopt.Case, year: int, prices: dict[tuple[str, Any], float],
               gap: float, time_limit: float | None) -> dict[str, Any]:
    """One year's MIP with its linked variables priced (undiscounted CNY per unit): its
    bound, objective and the linked variables' values."""
    nm = build_model(prepare(year_case(case, year)))
    model = nm.model
    terms = [(getattr(model, name)[f, year], p) for (name, f), p in prices.items() if p]
    if terms:
        model.total_cost.deactivate()
        model.priced_cost = pyo.Objective(expr=model.total_cost.expr + linear_sum(
            [v for v, _p in terms], [p for _v, p in terms]))
    result = run_solver(nm, mip_gap=gap, threads=1, time_limit=time_limit)
    values = {}
    for name in set(LINKS.values()):
        var = getattr(model, name, None)
        if var is not None:
            values.update({(name, f): float(pyo.value(v, exception=False) or 0.0)
                           for (f, _t), v in var.items()})
    return {"year": year, "bound": result.bound, "objective": result.objective,
            "values": values}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=12)
    parser.add_argument("--gap", type=float, default=0.001)
    parser.add_argument("--year-time-limit", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--target", type=float, default=-1560.2,
                        help="the best plan's cost, CNY million (Polyak's step)")
    parser.add_argument("--theta", type=float, default=1.0)
    parser.add_argument("--case", default="china")
    args = parser.parse_args()
    case = netopt.load_case(data_path(args.case))
    years = list(case.years)
    factors = discount_factors(years, case.parameters["discount_rate"])
    keys, scale = linked_keys(case)
    row_scale = {key: (scale[key[1]] if key[0] == "site_size" else 1.0) for key in keys}
    mu = dict.fromkeys(keys, 0.0)
    target = args.target * 1e6
    best, theta, stale = -math.inf, args.theta, 0
    clock = time.perf_counter()
    print("| iteration | bound M | best M | theta | violated rows | s |")
    print("|---:|---:|---:|---:|---:|---:|")
    with ProcessPoolExecutor(args.workers) as pool:
        for iteration in range(args.iterations):
            # discounted price of each variable-year, then undiscounted into its year
            price: dict[int, dict[tuple[str, Any], float]] = {t: {} for t in years}
            for (name, f, t), m in mu.items():
                if not m:
                    continue
                m_cny = m / row_scale[(name, f, t)]
                before = years[years.index(t) - 1]
                price[t][(name, f)] = price[t].get((name, f), 0.0) - m_cny / factors[t]
                price[before][(name, f)] = (price[before].get((name, f), 0.0)
                                            + m_cny / factors[before])
            futures = [pool.submit(solve_year, case, t, price[t], args.gap,
                                   args.year_time_limit) for t in years]
            results = {r["year"]: r for r in (f.result() for f in futures)}
            bound = sum(factors[t] * results[t]["bound"] for t in years)
            best = max(best, bound)
            # subgradient of each row var[f,t-1] - var[f,t] <= 0 (scaled)
            sub = {}
            for (name, f, t) in keys:
                before = years[years.index(t) - 1]
                sub[(name, f, t)] = (results[before]["values"].get((name, f), 0.0)
                                     - results[t]["values"].get((name, f), 0.0)) \
                    / row_scale[(name, f, t)]
            violated = sum(1 for g in sub.values() if g > 1e-6)
            print(f"| {iteration} | {bound / 1e6:,.2f} | {best / 1e6:,.2f} | {theta:.3g} | "
                  f"{violated} | {time.perf_counter() - clock:.0f} |", flush=True)
            if bound >= best - 1e-6 * abs(best) and iteration:
                stale = 0
            else:
                stale += 1
                if stale >= 2:
                    theta, stale = theta / 2, 0
            norm = sum(g * g for (key, g) in sub.items() if g > 0 or mu[key] > 0)
            if norm == 0:
                print("no linking row violated: the bound is the optimum")
                break
            step = theta * max(target - bound, 0.001 * abs(target)) / norm
            mu = {key: max(0.0, mu[key] + step * sub[key]) for key in keys}


if __name__ == "__main__":
    main()
