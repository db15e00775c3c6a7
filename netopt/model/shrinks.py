"""The years' bound raised by the dismantling sites' shrinks, held as disjunctions.

The years alone (:mod:`netopt.model.bounds`) drop the link between the years, and on
the default case their plans shrink a few sites from one year to the next, which no plan
of the whole case may do. A shrink of site k from year t-1 to year t, split at a size s
(t/yr), gives a disjunction that every plan keeping the link satisfies:

    size[k, y] <= s for every year y < t   or   size[k, y] >= s for every year y >= t.

Each side is a set of literals, bounds on one year's size each. A year solved alone
under some literals bounds that year under any choice of sides that imposes at least
those literals on it, so one solve serves every such choice. A small MIP over the sides
(:meth:`SiteShrinks.bound`) finds the choice whose years' bounds sum lowest, using for
each year the best solve within that choice: its optimum bounds the whole case. Unlike
a branch-and-bound tree over the same splits, whose nodes count only the splits on their
own path, shrinks at different sites add solves, not nodes (BENCHMARKS.md, 'The sites'
shrinks as disjunctions').

The work goes in rounds (:meth:`SiteShrinks.next_solves`): solve again each year of the
lowest choice whose plan breaks one of that choice's literals; once none does, split the
largest shrinks of the choice's years into new disjunctions. Only sites sized by the
tonne (``site_capacity = continuous``) have a size to split.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import multiprocessing
import queue
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from netopt.case import Case
from netopt.model.bounds import SiteSizeBounds, solve_year_alone
from netopt.model.highs import Budget
from netopt.model.network import discount_factors
from netopt.pool import ignore_sigint

#: (disjunction, side): side 0 holds the site's size at most s before year t, side 1 at
#: least s from year t on
Literal = tuple[int, int]
DOWN, UP = 0, 1

#: t/yr by which a year's size may pass a literal's bound and still keep it
KEEPS_TOLERANCE_T = 1e-3


@dataclass(frozen=True)
class Shrink:
    """A disjunction: site ``site``'s size (t/yr) is at most ``size_t_per_yr`` in every
    year before ``year``, or at least that from ``year`` on."""

    site: str
    year: int
    size_t_per_yr: float


@dataclass(frozen=True)
class YearSolve:
    """One year solved alone under some literals: its proven bound (CNY, discounted;
    inf if infeasible), each open site's size (t/yr) in its best plan, and that plan's
    cost (CNY, discounted; nan if not known)."""

    bound_cny: float
    site_sizes_t_per_yr: dict[str, float]
    objective_cny: float = math.nan


class SiteShrinks:
    """The disjunctions found so far and every year's solves under their literals."""

    def __init__(self, years: list[int], *, min_shrink_t_per_yr: float = 100.0,
                 per_round: int = 2) -> None:
        self.years = list(years)
        #: shrinks smaller than this (t/yr) are not split
        self.min_shrink_t_per_yr = min_shrink_t_per_yr
        #: at most this many new disjunctions a round
        self.per_round = per_round
        self.shrinks: list[Shrink] = []
        self.solved: dict[int, dict[frozenset[Literal], YearSolve]] = {y: {} for y in years}

    @property
    def year_solves(self) -> int:
        """How many years have been solved, under any literals."""
        return sum(len(by_literals) for by_literals in self.solved.values())

    def add(self, year: int, literals: frozenset[Literal], bound_cny: float,
            site_sizes_t_per_yr: dict[str, float], objective_cny: float = math.nan) -> None:
        """Take a solve of ``year`` under ``literals`` (the year alone: no literals) and
        its plan's cost ``objective_cny``; of two solves under the same literals, the
        higher bound stays, with the lower cost of the two."""
        old = self.solved[year].get(literals)
        if old is not None and not objective_cny <= old.objective_cny:
            objective_cny = old.objective_cny  # (also where this one's is nan)
        if old is None or bound_cny > old.bound_cny:
            self.solved[year][literals] = YearSolve(bound_cny, dict(site_sizes_t_per_yr),
                                                    objective_cny)
        elif objective_cny < old.objective_cny:
            self.solved[year][literals] = YearSolve(old.bound_cny, old.site_sizes_t_per_yr,
                                                    objective_cny)

    def loose_years(self, mip_gap: float) -> list[int]:
        """The years alone whose bound is further than ``mip_gap`` (relative) from their
        plan's cost, the furthest (in CNY) first: solved again to ``mip_gap``, each
        raises the bound of every choice by what it gains."""
        loose = []
        for year in self.years:
            solve = self.solved[year].get(frozenset())
            if solve is None or not math.isfinite(solve.bound_cny) \
                    or not math.isfinite(solve.objective_cny):
                continue
            excess = solve.objective_cny - solve.bound_cny
            if excess > mip_gap * max(abs(solve.objective_cny), 1.0) * (1 + 1e-9):
                loose.append((excess, year))
        return [year for _excess, year in sorted(loose, reverse=True)]

    def ready(self) -> bool:
        """Whether every year has been solved alone (the bound needs it)."""
        return all(frozenset() in by_literals for by_literals in self.solved.values())

    def applies(self, literal: Literal, year: int) -> bool:
        """Whether ``literal`` bounds a site's size in ``year``."""
        first = self.shrinks[literal[0]].year
        return year < first if literal[1] == DOWN else year >= first

    def size_bounds(self, literals: frozenset[Literal]) -> SiteSizeBounds:
        """The sites' (lower, upper) sizes, t/yr, that ``literals`` hold."""
        lower: dict[str, float] = {}
        upper: dict[str, float] = {}
        for i, side in literals:
            shrink = self.shrinks[i]
            if side == DOWN:
                upper[shrink.site] = min(upper.get(shrink.site, math.inf), shrink.size_t_per_yr)
            else:
                lower[shrink.site] = max(lower.get(shrink.site, 0.0), shrink.size_t_per_yr)
        return lower, upper

    def breaks(self, literal: Literal, sizes: dict[str, float]) -> bool:
        """Whether a year whose sites have ``sizes`` (t/yr) breaks ``literal``."""
        shrink = self.shrinks[literal[0]]
        size = sizes.get(shrink.site, 0.0)
        if literal[1] == DOWN:
            return size > shrink.size_t_per_yr + KEEPS_TOLERANCE_T
        return size < shrink.size_t_per_yr - KEEPS_TOLERANCE_T

    def bound(self) -> tuple[float, list[int]]:
        """The lowest sum of the years' bounds over the disjunctions' sides (CNY, a bound
        on every plan that keeps the sites' link; -inf until every year has been solved
        alone), and those sides (by disjunction, DOWN or UP)."""
        if not self.ready():
            return -math.inf, [DOWN] * len(self.shrinks)
        alone = {y: self.solved[y][frozenset()].bound_cny for y in self.years}
        if not all(math.isfinite(b) for b in alone.values()):
            inf = math.inf if math.inf in alone.values() else -math.inf
            return inf, [DOWN] * len(self.shrinks)
        return _lowest_choice(self, alone)

    def literals_for(self, year: int, sides: list[int]) -> frozenset[Literal]:
        """The literals that the choice ``sides`` imposes on ``year``."""
        return frozenset(lit for lit in enumerate(sides) if self.applies(lit, year))

    def standing(self, year: int, literals: frozenset[Literal],
                 ) -> tuple[frozenset[Literal], YearSolve]:
        """The year's solve under the most of ``literals`` (the better bound of equals)."""
        within = [(lits, solve) for lits, solve in self.solved[year].items() if lits <= literals]
        return max(within, key=lambda item: (len(item[0]), item[1].bound_cny))

    def next_solves(self, busy: set[tuple[int, frozenset[Literal]]] | None = None,
                    ) -> list[tuple[int, frozenset[Literal]]]:
        """The (year, literals) to solve next, none of them in ``busy`` (being solved):
        the lowest choice's years whose plans break a literal of the choice, each with
        those literals added; if there are none (and nothing is ``busy``), the years
        that the largest shrinks of the choice's plans, split into new disjunctions,
        need solved again. Empty when the lowest choice keeps the sites' link, or when
        what it needs is being solved."""
        busy = busy or set()
        _bound, sides = self.bound()
        standing = {y: self.standing(y, self.literals_for(y, sides)) for y in self.years}
        tasks = []
        for y in self.years:
            literals = self.literals_for(y, sides)
            held, solve = standing[y]
            broken = {lit for lit in literals - held
                      if self.breaks(lit, solve.site_sizes_t_per_yr)}
            if broken:
                tasks.append((y, held | broken))
        tasks = [task for task in tasks if task not in busy]
        if tasks or busy:
            return tasks
        sizes = {y: standing[y][1].site_sizes_t_per_yr for y in self.years}
        split: set[tuple[str, int]] = set()
        for _amount, site, first, size in self._largest_shrinks(sizes):
            if len(split) >= self.per_round or (site, first) in split:
                continue
            split.add((site, first))
            self.shrinks.append(Shrink(site, first, size))
            i = len(self.shrinks) - 1
            for y in self.years:
                held, solve = standing[y]
                for lit in ((i, DOWN), (i, UP)):
                    if self.applies(lit, y) and self.breaks(lit, solve.site_sizes_t_per_yr):
                        tasks.append((y, held | {lit}))
        return list(dict.fromkeys(tasks))

    def _largest_shrinks(self, sizes: dict[int, dict[str, float]],
                         ) -> list[tuple[float, str, int, float]]:
        """(t/yr lost, site, year t, the split's size) of each shrink of at least
        ``min_shrink_t_per_yr`` between consecutive years of ``sizes``, largest first."""
        found = []
        for before, first in itertools.pairwise(self.years):
            for site, a in sizes[before].items():
                b = sizes[first].get(site, 0.0)
                if a - b >= self.min_shrink_t_per_yr:
                    found.append((a - b, site, first, (a + b) / 2))
        return sorted(found, reverse=True)

    def record(self) -> dict[str, Any]:
        """What the bound rests on, for a plan's meta: its disjunctions (those that some
        year has been solved under), with the side the bound takes, and its solves."""
        bound, sides = self.bound()
        used = {i for by_literals in self.solved.values() for literals in by_literals
                for i, _side in literals}
        return {"bound_cny": bound, "year_solves": self.year_solves,
                "shrinks": [{"site": s.site, "year": s.year, "size_t_per_yr": s.size_t_per_yr,
                             "side": "down" if side == DOWN else "up"}
                            for i, (s, side) in enumerate(zip(self.shrinks, sides))
                            if i in used]}


def split_shrinks(case: Case, shrinks: SiteShrinks, *, mip_gap: float, budget: Budget,
                  year_seconds: float = 120.0, snapshots: Any = None) -> SiteShrinks:
    """Go on with ``shrinks`` of ``case`` here, one year's solve at a time (each to
    ``mip_gap``, at most ``year_seconds``, one HiGHS thread), until ``budget`` is spent
    or nothing more is needed; ``snapshots`` (a queue), if given, gets the state after
    each solve. The years alone held looser than ``mip_gap`` are solved again first
    (:meth:`SiteShrinks.loose_years`): in a short time that raises the bound more than
    a split, whose two sides each need their years solved."""
    factors = discount_factors(shrinks.years, case.parameters["discount_rate"])
    tightened: set[int] = set()
    while not budget.spent(1.0):
        loose = [y for y in shrinks.loose_years(mip_gap) if y not in tightened]
        tasks = [(loose[0], frozenset())] if loose else shrinks.next_solves()
        if not tasks:
            break
        for year, literals in tasks:
            left = budget.left()
            if left is not None and left < 1.0:
                break
            limit = year_seconds if left is None else min(left, year_seconds)
            row = solve_year_alone(case, year, factors[year], limit, mip_gap, 1,
                                   shrinks.size_bounds(literals))
            shrinks.add(year, literals, row["bound_cny"], row["site_sizes_t_per_yr"],
                        row["objective_cny"])
            if not literals:
                tightened.add(year)  # once: a year stopped by its limit stays loose
            if snapshots is not None:
                snapshots.put(shrinks)
    return shrinks


def _split_beside(case: Case, shrinks: SiteShrinks, mip_gap: float, budget: Budget,
                  year_seconds: float, snapshots: Any,
                  ) -> None:  # pragma: no cover - runs in a worker process
    ignore_sigint()
    split_shrinks(case, shrinks, mip_gap=mip_gap, budget=budget, year_seconds=year_seconds,
                  snapshots=snapshots)


@contextlib.contextmanager
def shrinks_beside(case: Case, shrinks: SiteShrinks, *, mip_gap: float, budget: Budget,
                   year_seconds: float = 120.0) -> Iterator[Callable[[], SiteShrinks]]:
    """:func:`split_shrinks` in a worker process of its own while this one does other
    work; yields a function that returns the latest state it has sent. The worker is
    stopped when the block ends (the state then is the last one sent), so it never
    holds the caller up. In a process that may not start workers (a daemonic one) the
    state stays as given."""
    latest = [shrinks]
    if multiprocessing.current_process().daemon:
        yield lambda: latest[0]
        return
    context = multiprocessing.get_context("spawn")
    snapshots = context.Queue()
    worker = context.Process(target=_split_beside, daemon=True,
                             args=(case, shrinks, mip_gap, budget, year_seconds, snapshots))
    worker.start()

    def latest_state() -> SiteShrinks:
        with contextlib.suppress(queue.Empty, EOFError, OSError):
            while True:
                latest[0] = snapshots.get_nowait()
        return latest[0]

    try:
        yield latest_state
    finally:
        latest_state()
        worker.terminate()
        worker.join(timeout=10)
        snapshots.close()
        snapshots.cancel_join_thread()


#: The choice's MIP counts in millions of CNY (its rows then stay well scaled).
_SCALE_CNY = 1e6


def _lowest_choice(shrinks: SiteShrinks, alone: dict[int, float]) -> tuple[float, list[int]]:
    """The choice of sides whose years' bounds sum lowest (see :meth:`SiteShrinks.bound`).

    A binary per disjunction (1: UP) and a year's excess over its bound alone w[y] >= 0,
    in millions; a solve of year y under literals L with a bound above the year alone
    by d gives w[y] >= d * (1 - (literals of L not chosen)), and an infeasible one
    forbids choosing all of L. Its proven optimum (HiGHS, gap 0) plus the years alone
    is the bound.
    """
    import highspy

    n = len(shrinks.shrinks)
    base = sum(alone.values())
    if n == 0:
        return base, []
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("mip_rel_gap", 0.0)
    highs.setOptionValue("threads", 1)
    for i in range(n):
        highs.addVar(0.0, 1.0)
        highs.changeColIntegrality(i, highspy.HighsVarType.kInteger)
    for j, _year in enumerate(shrinks.years):
        highs.addVar(0.0, highspy.kHighsInf)
        highs.changeColCost(n + j, 1.0)
    for j, year in enumerate(shrinks.years):
        for literals, solve in shrinks.solved[year].items():
            if not literals:
                continue
            downs = sum(1 for _i, side in literals if side == DOWN)
            signs = [1.0 if side == UP else -1.0 for _i, side in literals]
            columns = [i for i, _side in literals]
            if solve.bound_cny == math.inf:  # never every literal of L
                highs.addRow(-highspy.kHighsInf, len(literals) - 1 - downs, len(columns),
                             columns, signs)
                continue
            excess = (solve.bound_cny - alone[year]) / _SCALE_CNY
            if not excess > 0:
                continue
            highs.addRow(excess * (1 - len(literals) + downs), highspy.kHighsInf,
                         len(columns) + 1, [n + j, *columns],
                         [1.0, *(-excess * sign for sign in signs)])
    highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return math.inf, [DOWN] * n  # every choice forbidden: no plan keeps the link
    values = list(highs.getSolution().col_value)
    info = highs.getInfo()
    proven = (info.mip_dual_bound if math.isfinite(info.mip_dual_bound)
              else info.objective_function_value)
    return base + _SCALE_CNY * proven, [UP if v > 0.5 else DOWN for v in values[:n]]
