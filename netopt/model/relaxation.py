"""The LP relaxation of a large model, its linking rows added only where they bind.

The strong linking rows (``collection_link[i,j,t]``: the share of source i's supply sent
to collection point j in year t is at most j's opening; ``site_link[i,k,t]`` and
``site_link_collection[j,k,t]`` the same for sites) are most of a facility-location
model's rows (nearly all of OR-Library capa's). The capacity rows already keep a
closed facility's inflow at zero, so with whole openings the linking rows are redundant:
they only tighten the relaxation, and few of them bind at its optimum. So the relaxation
is solved by row generation, the usual way with the strong formulation's many linking
rows:

1. the LP without linking rows but each origin's ``SEED_LINKS`` cheapest in each year
   (by the cost of the shipment they bound; the origin is the source, or for
   ``site_link_collection`` the collection point);
2. then, while some linking row left out is violated (by more than
   ``VIOLATION_TOLERANCE``), add those and the next ``EXPAND_LINKS`` cheapest of the
   same origin and year, and solve again by dual simplex from the last basis.

It ends at the optimum of the whole relaxation (every linking row holds), on an LP with
far fewer rows, solved in a fraction of the whole LP's time (BENCHMARKS.md, 'The
relaxation with its linking rows added as they bind'). HiGHS works on a copy of the
model a persistent pyomo solver holds; the relaxation's values are put back into the
pyomo model's variables.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from netopt.model.build import NetworkModel
from netopt.model.highs import (
    Budget,
    SolveResult,
    highs_columns,
    highs_rows,
    load_values,
    loaded_highs,
    run_interruptibly,
    use_threads,
)
from netopt.plan import INFEASIBLE, NO_SOLUTION, OPTIMAL, TIME_LIMIT

#: The linking constraint groups handled lazily; each indexed (origin, facility, year).
LINK_GROUPS = ("collection_link", "site_link", "site_link_collection")
#: Linking rows in the first LP: each (group, origin, year)'s cheapest this many.
SEED_LINKS = 20
#: With each violated row, this many more of its (group, origin, year), cheapest first.
EXPAND_LINKS = 20
#: A linking row is violated when its activity exceeds its bound by more than this
#: (shares of a source's supply, or tonnes).
VIOLATION_TOLERANCE = 1e-6


def _link_rows(nm: NetworkModel, persistent: Any) -> dict[tuple, list[int]]:
    """HiGHS row indices of the model's linking rows, by (group, origin, year)."""
    rows_of = highs_rows(persistent)
    groups: dict[tuple, list[int]] = {}
    for name in LINK_GROUPS:
        component = getattr(nm.model, name, None)
        if component is None:
            continue
        for index, con in component.items():
            if con in rows_of:
                groups.setdefault((name, index[0], index[-1]), []).append(rows_of[con])
    return groups


class _LinkRows:
    """The linking rows' coefficients (row-wise), their order within each (group, origin,
    year), and which are in the LP so far."""

    def __init__(self, lp: Any, groups: dict[tuple, list[int]]) -> None:
        import highspy

        num_row, num_col = lp.num_row_, lp.num_col_
        matrix = lp.a_matrix_
        start = np.asarray(matrix.start_, dtype=np.int64)
        index = np.asarray(matrix.index_, dtype=np.int64)
        value = np.asarray(matrix.value_, dtype=float)
        if matrix.format_ == highspy.MatrixFormat.kRowwise:
            row, col = np.repeat(np.arange(num_row), np.diff(start[:num_row + 1])), index
        else:
            row, col = index, np.repeat(np.arange(num_col), np.diff(start[:num_col + 1]))
        self.all = np.array(sorted(r for rows in groups.values() for r in rows), dtype=np.int64)
        is_link = np.zeros(num_row, dtype=bool)
        is_link[self.all] = True
        keep = is_link[row]
        order = np.argsort(row[keep], kind="stable")
        self.row, self.col = row[keep][order], col[keep][order]
        self.value = value[keep][order]
        self.lower = np.asarray(lp.row_lower_, dtype=float)
        self.upper = np.asarray(lp.row_upper_, dtype=float)
        self.num_row = num_row
        self.added = np.zeros(num_row, dtype=bool)
        # a row's cost: the cheapest shipment it bounds (its positive coefficients)
        cost = np.asarray(lp.col_cost_, dtype=float)
        row_cost = np.full(num_row, np.inf)
        positive = self.value > 0
        np.minimum.at(row_cost, self.row[positive], cost[self.col[positive]])
        self.by_group: list[np.ndarray] = []
        self.group_of = np.full(num_row, -1, dtype=np.int64)
        for g, members in enumerate(groups.values()):
            rows = np.asarray(members, dtype=np.int64)
            rows = rows[np.argsort(row_cost[rows], kind="stable")]
            self.by_group.append(rows)
            self.group_of[rows] = g

    def seed(self, count: int) -> np.ndarray:
        """Each group's ``count`` cheapest rows."""
        if not self.by_group:
            return np.zeros(0, dtype=np.int64)
        return np.sort(np.concatenate([rows[:count] for rows in self.by_group]))

    def violated(self, x: np.ndarray, tolerance: float) -> np.ndarray:
        """Rows not yet in the LP that the columns' values ``x`` violate."""
        activity = np.bincount(self.row, weights=self.value * x[self.col],
                               minlength=self.num_row)
        out = (activity > self.upper + tolerance) | (activity < self.lower - tolerance)
        return self.all[out[self.all] & ~self.added[self.all]]

    def with_next(self, rows: np.ndarray, count: int) -> np.ndarray:
        """``rows`` and, for each of their groups, the next ``count`` cheapest not in."""
        extra = [rows]
        for g in np.unique(self.group_of[rows]):
            group = self.by_group[g]
            extra.append(group[~self.added[group]][:count])
        return np.unique(np.concatenate(extra))

    def add(self, highs: Any, rows: np.ndarray) -> None:
        """Add ``rows`` (of the whole model's numbering) to ``highs``."""
        if not len(rows):
            return
        first = np.searchsorted(self.row, rows)
        counts = np.searchsorted(self.row, rows, side="right") - first
        starts = np.cumsum(counts) - counts
        entries = np.repeat(first - starts, counts) + np.arange(int(counts.sum()))
        highs.addRows(len(rows), self.lower[rows], self.upper[rows], len(entries),
                      starts.astype(np.int32), self.col[entries].astype(np.int32),
                      self.value[entries])
        self.added[rows] = True


def relax_with_lazy_links(nm: NetworkModel, persistent: Any, *,
                          time_limit: float | Budget | None = None,
                          threads: int | None = None, method: str = "choose",
                          ) -> SolveResult:
    """Solve the LP relaxation of the model ``persistent`` holds, linking rows lazily.

    ``persistent`` is a pyomo HiGHS solver holding ``nm.model``; the LP is a relaxed copy
    of what it holds (its integrality dropped; the loaded model is not changed).
    ``method`` ("choose", "simplex" or "ipm") solves the first LP; later ones are solved
    by dual simplex from the last basis.
    ``time_limit`` (seconds, or a Budget) bounds the whole loop.

    Loads the optimum's values into the model's variables and returns how the loop
    ended (:class:`~netopt.model.highs.SolveResult`: objective and bound equal at the
    optimum), its ``stats`` the ``rounds`` (LPs solved) and ``link_rows`` (added, of all).
    """
    import highspy

    budget = Budget.of(time_limit)
    loaded = loaded_highs(persistent)
    if loaded is None:
        raise ValueError("the relaxation needs a persistent HiGHS solver that holds the model")
    lp = loaded.getLp()
    lp.integrality_ = []  # a relaxation, whatever the loaded model's domains
    links = _LinkRows(lp, _link_rows(nm, persistent))

    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    if threads is not None:
        highs.setOptionValue("threads", int(threads))
    use_threads(None if threads is None else int(threads))
    highs.passModel(lp)
    if len(links.all):
        highs.deleteRows(len(links.all), links.all.astype(np.int32))
    links.add(highs, links.seed(SEED_LINKS))
    highs.setOptionValue("solver", method)
    rounds = 0
    status, termination = NO_SOLUTION, "not solved"
    while True:
        if budget.spent():
            status, termination = TIME_LIMIT, "maxTimeLimit"
            break
        left = budget.left()
        if left is not None:
            highs.setOptionValue("time_limit", float(left))
        _, interrupted = run_interruptibly(highs.run, highs)
        rounds += 1
        model_status = highs.getModelStatus()
        if interrupted:
            nm.interrupted = True
            status, termination = NO_SOLUTION, "interrupted"
            break
        if model_status != highspy.HighsModelStatus.kOptimal:
            infeasible = model_status in (highspy.HighsModelStatus.kInfeasible,
                                          highspy.HighsModelStatus.kUnboundedOrInfeasible)
            status = INFEASIBLE if infeasible else (
                TIME_LIMIT if model_status == highspy.HighsModelStatus.kTimeLimit
                else NO_SOLUTION)
            termination = highs.modelStatusToString(model_status)
            break
        x = np.asarray(highs.getSolution().col_value, dtype=float)
        violated = links.violated(x, VIOLATION_TOLERANCE)
        if not len(violated):
            status, termination = OPTIMAL, "convergenceCriteriaSatisfied"
            break
        links.add(highs, links.with_next(violated, EXPAND_LINKS))
        highs.setOptionValue("solver", "simplex")
    objective = float("nan")
    if status == OPTIMAL:
        objective = float(highs.getInfo().objective_function_value)
        columns = highs_columns(persistent)
        load_values(nm, {var_id: float(x[column]) for var_id, column in columns.items()})
    return SolveResult(status, termination, objective, objective,
                       0.0 if status == OPTIMAL else float("inf"),
                       stats={"rounds": rounds,
                              "link_rows": (int(links.added.sum()), len(links.all))})
