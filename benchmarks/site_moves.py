"""The forward pass's plan improved by moving its sites' opening years, each move costed
by the whole case's LP.

The forward pass (sizes left to the LP, as the default path runs it) opens sites that a
later year's sites then take dealers from; the whole case, where a site's size never
shrinks, pays for that ("Scale: where 3,000 dealers lose the plan" in BENCHMARKS.md).
This runs the pass on ``china_case(n_dealers=N)`` (or the default case), costs its plan
in the whole case (openings fixed, sizes and flows by an LP), then tries, site by site,
never opening it, opening it a year later and a year earlier. A move that lowers the
LP's cost is kept at once, and the sweeps go on until none does or ``--seconds`` pass.

    python benchmarks/site_moves.py --dealers 3000 --seconds 900

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


def _moves(model, values: dict[int, float], years: list[int]) -> list[tuple[str, str, int]]:
    """(site, move, year) for every site the plan opens: never, a year later, earlier."""
    first: dict[str, int] = {}
    for (k, t), v in model.site_open.items():
        if not v.fixed and values.get(id(v), 0.0) > 0.5:
            first[k] = min(first.get(k, years[-1]), t)
    moves = []
    for k, year in sorted(first.items()):
        moves.append((k, "never", year))
        if year < years[-1]:
            moves.append((k, "a year later", year + 1))
        if year > years[0]:
            moves.append((k, "a year earlier", year - 1))
    return moves


def _moved(model, values: dict[int, float], site: str, move: str,
           year: int) -> dict[int, float]:
    """``values`` with ``site`` opened as ``move`` says (from ``year`` on, or never)."""
    trial = dict(values)
    for (k, t), v in model.site_open.items():
        if k != site or v.fixed:
            continue
        if move == "never":
            trial[id(v)] = 0.0
        else:
            trial[id(v)] = 1.0 if t >= year else 0.0
    return trial


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
    values = plan_values(nm, plan)
    best, _ = solve_fixed(nm, values, threads=1, persistent=persistent)
    start, years, tried = best, sorted(case.years), 0
    print(f"in the whole case: {best / 1e6:,.2f} M\n")
    print("| s | site | move | from | plan M |\n|---:|---|---|---:|---:|")
    clock = time.perf_counter()
    improved = True
    while improved and time.perf_counter() - clock < args.seconds:
        improved = False
        for site, move, year in _moves(nm.model, values, years):
            if time.perf_counter() - clock >= args.seconds:
                break
            trial = _moved(nm.model, values, site, move, year)
            cost, _ = solve_fixed(nm, trial, threads=1, persistent=persistent)
            tried += 1
            if cost < best - 1e5:  # (CNY: a move must gain at least 0.1 M)
                best, values, improved = cost, trial, True
                print(f"| {time.perf_counter() - clock:.0f} | {site} | {move} | "
                      f"{year if move != 'never' else ''} | {best / 1e6:,.2f} |",
                      flush=True)
    print(f"\n{tried} moves costed in {time.perf_counter() - clock:.0f} s: "
          f"{start / 1e6:,.2f} -> {best / 1e6:,.2f} M ({(start - best) / 1e6:,.2f} M)")


if __name__ == "__main__":
    main()
