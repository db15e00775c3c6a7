"""A relaxation that keeps the sites' link between the years and the years' own bounds.

R: the sites' openings whole and their sizes never shrinking, as in the whole case; the
collection points, recyclers and reuse outlets relaxed; and each year's discounted cost
at least that year's proven bound alone (B_t, "the years' floors"). Every plan of the
whole case is a plan of R, so R's optimum bounds the case's.

For a fixed pattern of the sites' openings, R is convex in the sites' sizes and splits by
year once they are fixed: Benders' cuts (Kelley's method) from each year's LP, with the
sites' openings and sizes held by bounds, find R at that pattern in a few seconds. This
measures R at a plan's pattern, whether that pattern is a local minimum of R (each site
opened a year earlier, a year later, or never), and what R's relaxation proves with only
some sites' openings held to the plan's (the others fractional), which is what a search
over the patterns would have to prove from.

    netopt run data/china --no-export --out out/china      # or any plan folder
    python benchmarks/floored_sites.py --plan out/china --what value search partial

Each year alone is solved first (to ``--year-gap`` in at most ``--year-seconds``, two
years side by side). Values in CNY million, discounted.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from typing import Any

import highspy
import numpy as np
import pandas as pd
from year_floors import year_rows

import netopt
from netopt.datasets import data_path
from netopt.model.bounds import year_case
from netopt.model.build import build_model
from netopt.model.network import discount_factors, prepare

#: CNY by which a year's LP must pass its cut before another cut is added
CUT_TOLERANCE_CNY = 1e3
#: R at a pattern is taken as found once its bound is within this of the best point's
CONVERGED_CNY = 2e4


class YearLP:
    """One year's LP (every choice relaxed, elastic), its sites' columns held by bounds."""

    def __init__(self, case: netopt.Case, year: int, sites: list[str], folder: str) -> None:
        nm = build_model(prepare(year_case(case, year)), elastic=True)
        path = f"{folder}/year{year}.mps"
        nm.model.write(path, io_options={"symbolic_solver_labels": True})
        self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)
        self.highs.readModel(path)
        self.highs.setOptionValue("threads", 1)
        n = self.highs.getLp().num_col_
        self.highs.changeColsIntegrality(n, np.arange(n, dtype=np.int32),
                                         np.zeros(n, dtype=np.uint8))
        names = {self.highs.getColName(i)[1]: i for i in range(n)}

        def column(var: str, k: str) -> int:
            return names[f"{var}({k.replace('-', '_')}_{year})"]

        self.columns = np.array([column("site_open", k) for k in sites]
                                + [column("site_size", k) for k in sites], dtype=np.int32)

    def value(self, point: np.ndarray) -> tuple[float, np.ndarray]:
        """The LP's objective (CNY, undiscounted) at the sites' openings and sizes
        ``point``, and its reduced costs there (a subgradient)."""
        self.highs.changeColsBounds(len(self.columns), self.columns, point, point)
        self.highs.run()
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            self.highs.clearSolver()
            self.highs.run()
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"year LP: {self.highs.getModelStatus()}")
        duals = np.asarray(self.highs.getSolution().col_dual)[self.columns]
        return self.highs.getInfo().objective_function_value, duals


class FlooredSites:
    """R's master (the sites' openings and sizes, one cost per year) and its cuts."""

    def __init__(self, case: netopt.Case, floors: dict[int, float], folder: str) -> None:
        self.years = list(case.years)
        self.factors = discount_factors(self.years, case.parameters["discount_rate"])
        self.sizing = prepare(case).site_sizing()
        self.sites = sorted(self.sizing)
        self.floors = floors
        self.year_lps = {t: YearLP(case, t, self.sites, folder) for t in self.years}
        k_count, y_count = len(self.sites), len(self.years)
        pairs = [(k, t) for t in self.years for k in self.sites]
        self.opened = {pair: i for i, pair in enumerate(pairs)}
        self.size = {pair: k_count * y_count + i for i, pair in enumerate(pairs)}
        self.cost = {t: 2 * k_count * y_count + j for j, t in enumerate(self.years)}
        self.master = highspy.Highs()
        self.master.setOptionValue("output_flag", False)
        self.master.setOptionValue("threads", 1)  # HiGHS's scheduler is one per process
        n = 2 * k_count * y_count + y_count
        lower, upper, cost = np.zeros(n), np.ones(n), np.zeros(n)
        for (k, _t), i in self.size.items():
            upper[i] = self.sizing[k].max_t_per_yr
        for t, j in self.cost.items():
            lower[j], upper[j], cost[j] = floors[t], highspy.kHighsInf, 1.0
        self.master.addVars(n, lower, upper)
        self.master.changeColsCost(n, np.arange(n, dtype=np.int32), cost)
        for k in self.sites:
            for t in self.years:
                self.row([(self.size[k, t], 1.0),
                          (self.opened[k, t], -self.sizing[k].min_t_per_yr)], 0.0)
                self.row([(self.size[k, t], 1.0),
                          (self.opened[k, t], -self.sizing[k].max_t_per_yr)], -highspy.kHighsInf,
                         0.0)
            for before, after in zip(self.years, self.years[1:]):
                self.row([(self.opened[k, after], 1.0), (self.opened[k, before], -1.0)], 0.0)
                self.row([(self.size[k, after], 1.0), (self.size[k, before], -1.0)], 0.0)
        self.low = np.array([self.sizing[k].min_t_per_yr for k in self.sites])
        self.high = np.array([self.sizing[k].max_t_per_yr for k in self.sites])
        self.cuts = 0

    def row(self, terms: list[tuple[int, float]], lower: float,
            upper: float = highspy.kHighsInf) -> None:
        columns = np.array([c for c, _ in terms], dtype=np.int32)
        values = np.array([v for _, v in terms], dtype=float)
        self.master.addRow(lower, upper, len(columns), columns, values)

    def year_point(self, x: np.ndarray, t: int) -> np.ndarray:
        """Year t's openings and sizes in the master's solution, made exactly consistent
        (an opening within 1e-7 of 0 or 1 rounded, each size within its opening's range)."""
        opened = np.array([x[self.opened[k, t]] for k in self.sites])
        opened[np.abs(opened) < 1e-7] = 0.0
        opened[np.abs(opened - 1.0) < 1e-7] = 1.0
        sizes = np.array([x[self.size[k, t]] for k in self.sites])
        return np.concatenate([opened, np.clip(sizes, self.low * opened, self.high * opened)])

    def solve(self, held: dict[str, tuple[int, int]], iterations: int = 400) -> float:
        """R's relaxation (CNY, discounted) with each site in ``held`` opening in a year of
        its (first, last) range (last past the horizon: it may never open), the other
        sites' openings fractional. With every site held to one year, R at that pattern."""
        columns, lower, upper = [], [], []
        for k in self.sites:
            first, last = held.get(k, (self.years[0], self.years[-1] + 1))
            for t in self.years:
                columns.append(self.opened[k, t])
                lower.append(1.0 if t >= last else 0.0)
                upper.append(0.0 if t < first else 1.0)
        self.master.changeColsBounds(len(columns), np.array(columns, dtype=np.int32),
                                     np.array(lower), np.array(upper))
        bound = -math.inf
        for _ in range(iterations):
            self.master.run()
            bound = self.master.getInfo().objective_function_value
            x = np.asarray(self.master.getSolution().col_value)
            at_point, added = 0.0, 0
            for t in self.years:
                point = self.year_point(x, t)
                objective, duals = self.year_lps[t].value(point)
                value = self.factors[t] * objective
                at_point += max(value, self.floors[t])
                if value > x[self.cost[t]] + CUT_TOLERANCE_CNY:
                    columns_t = [self.opened[k, t] for k in self.sites] + \
                        [self.size[k, t] for k in self.sites]
                    self.row([(self.cost[t], 1.0)] + [
                        (c, -self.factors[t] * d) for c, d in zip(columns_t, duals)
                        if abs(d) > 1e-9], value - self.factors[t] * float(np.dot(duals, point)))
                    added += 1
            self.cuts += added
            if added == 0 or at_point - bound < CONVERGED_CNY:
                break
        return bound


def conditioned_floors(case: netopt.Case, rows: list[dict[str, Any]],
                       opening: dict[str, int | None], gap: float, seconds: float) -> None:
    """Each year alone again with one site held to the plan's state where the year's own
    plan differs: how far each such floor rises above the year's."""
    base = {row["year"]: row for row in rows}
    tasks = []
    for t, row in base.items():
        for k, year in opening.items():
            planned = year is not None and t >= year
            if planned != (k in row["site_sizes_t_per_yr"]):
                tasks.append((t, k, planned))
    sizing = prepare(case).site_sizing()  # held open: at least the smallest size
    held = year_rows(case, gap, seconds, years=[t for t, _, _ in tasks], sizes=[
        ({k: sizing[k].min_t_per_yr}, {}) if planned else ({}, {k: 0.0})
        for _, k, planned in tasks])
    print("| year | site held | open | floor M | conditioned M | rise M |\n"
          "|---|---|---|---:|---:|---:|")
    for (t, k, planned), row in zip(tasks, held):
        print(f"| {t} | {k} | {'yes' if planned else 'no'} | {base[t]['bound_cny'] / 1e6:,.2f} "
              f"| {row['bound_cny'] / 1e6:,.2f} "
              f"| {(row['bound_cny'] - base[t]['bound_cny']) / 1e6:,.2f} |", flush=True)


def plan_opening_years(folder: str) -> dict[str, int | None]:
    """Each dismantling site's first year open in the plan saved in ``folder``."""
    sites = netopt.load_plan(folder).sites
    sites = sites[sites["kind"] == "dismantling_site"]
    opened = sites[sites["opened"]].groupby("id")["year"].min()
    return {str(k): (int(opened[k]) if k in opened.index else None)
            for k in sites["id"].unique()}


def held_to(opening: dict[str, int | None], last_year: int,
            sites: list[str] | None = None) -> dict[str, tuple[int, int]]:
    """The (first, last) range of each site in ``sites`` (all if None) held to one year."""
    never = last_year + 1
    return {k: (never, never) if year is None else (year, year)
            for k, year in opening.items() if sites is None or k in sites}


def local_search(r: FlooredSites, opening: dict[str, int | None]) -> None:
    """R at each single-site move of the plan's pattern (a year earlier, later, never);
    moves to any better pattern and starts again."""
    last = r.years[-1]
    value = r.solve(held_to(opening, last))
    print(f"| the plan's pattern | {value / 1e6:,.2f} |", flush=True)
    improved = True
    while improved:
        improved = False
        for k in r.sites:
            if opening[k] is None:
                continue
            for moved in (opening[k] - 1, opening[k] + 1, None):
                if moved is not None and not r.years[0] <= moved <= last:
                    continue
                trial = {**opening, k: moved}
                trial_value = r.solve(held_to(trial, last))
                print(f"| {k} opens {moved or 'never'} | {trial_value / 1e6:,.2f} |", flush=True)
                if trial_value < value - 1e5:
                    opening, value, improved = trial, trial_value, True
    print(f"local minimum of R: {value / 1e6:,.2f} at {opening}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", default="out/china", help="a folder netopt run wrote")
    parser.add_argument("--year-gap", type=float, default=0.002)
    parser.add_argument("--year-seconds", type=float, default=120.0)
    parser.add_argument("--what", nargs="+", default=["value", "search", "partial"],
                        choices=["value", "search", "partial", "conditioned"])
    args = parser.parse_args()
    case = netopt.load_case(data_path("china"))
    clock = time.perf_counter()
    rows = year_rows(case, args.year_gap, args.year_seconds)
    floors = {row["year"]: row["bound_cny"] for row in rows}
    print(f"years' floors: {sum(floors.values()) / 1e6:,.2f} "
          f"({time.perf_counter() - clock:.0f} s)", flush=True)
    opening = plan_opening_years(args.plan)
    if "conditioned" in args.what:
        conditioned_floors(case, rows, opening, args.year_gap, args.year_seconds)
    with tempfile.TemporaryDirectory() as folder:
        clock = time.perf_counter()
        r = FlooredSites(case, floors, folder)
        last = r.years[-1]
        if "value" in args.what:
            value = r.solve(held_to(opening, last))
            print(f"R at the plan's pattern: {value / 1e6:,.2f} "
                  f"({time.perf_counter() - clock:.0f} s, {r.cuts} cuts)", flush=True)
            relaxed = r.solve({})
            print(f"R with every opening fractional: {relaxed / 1e6:,.2f}", flush=True)
        if "search" in args.what:
            clock = time.perf_counter()
            print("| pattern | R |\n|---|---:|")
            local_search(r, opening)
            print(f"({time.perf_counter() - clock:.0f} s)", flush=True)
        if "partial" in args.what:
            order = sorted(r.sites, key=lambda k: (opening[k] or last + 1, k))
            print("| sites held to the plan's | R's relaxation |\n|---|---:|")
            for orders, name in ((order, "earliest first"), (order[::-1], "latest first")):
                for count in range(len(order) + 1):
                    value = r.solve(held_to(opening, last, orders[:count]))
                    print(f"| {name}: {count} ({', '.join(orders[:count][-1:])}) "
                          f"| {value / 1e6:,.2f} |", flush=True)
    print(pd.Timestamp.now().isoformat(timespec="seconds"))


if __name__ == "__main__":
    main()
