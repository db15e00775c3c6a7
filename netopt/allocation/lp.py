"""The small linear programs behind the nucleolus, the least core and the EPM.

HiGHS (through ``highspy``) solves them; the game is scaled by ``max |v(S)|`` first, so
the tolerances here are relative. Rows are coalitions, added by constraint generation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import highspy
import numpy as np
from numpy.typing import ArrayLike, NDArray

from netopt.allocation.game import additive, incidence

INF = highspy.kHighsInf

# Tolerances in scaled units (the game divided by max |v(S)|).
TOL_VIOL = 1e-9  # constraint violation that triggers constraint generation
TOL_TIGHT = 1e-7  # excess this close to the LP optimum is a candidate "tight" coalition
TOL_DUAL = 1e-9  # a dual value above this is positive
TOL_SLACK = 1e-9  # a slack above this (in the auxiliary LP) is real
TOL_SPAN = 1e-8  # residual norm below which a vector is in a span
TOL_CHECK = 1e-9  # feasibility checks (imputation set, tau conditions, core)


class LP:
    """A small LP ``min c.x, lo <= A x <= hi, lb <= x <= ub`` on a silent HiGHS instance."""

    def __init__(self, cost: np.ndarray, lb: np.ndarray, ub: np.ndarray) -> None:
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("primal_feasibility_tolerance", 1e-10)
        h.setOptionValue("dual_feasibility_tolerance", 1e-10)
        ncol = len(cost)
        h.addVars(ncol, np.asarray(lb, dtype=float), np.asarray(ub, dtype=float))
        h.changeColsCost(ncol, np.arange(ncol, dtype=np.int32), np.asarray(cost, dtype=float))
        self.h = h
        self.ncol = ncol
        self.nrow = 0
        self.x = np.zeros(ncol)
        self.row_dual = np.zeros(0)
        self.col_dual = np.zeros(ncol)
        self.solves = 0

    def add_rows(self, a: ArrayLike, lo: ArrayLike, hi: ArrayLike) -> np.ndarray:
        """Add dense rows; return their row indices."""
        dense = np.atleast_2d(np.asarray(a, dtype=float))
        m = dense.shape[0]
        if m == 0:
            return np.zeros(0, dtype=np.int64)
        rows, cols = np.nonzero(dense)
        starts = np.searchsorted(rows, np.arange(m)).astype(np.int32)
        self.h.addRows(
            m,
            np.asarray(lo, dtype=float),
            np.asarray(hi, dtype=float),
            len(cols),
            starts,
            cols.astype(np.int32),
            dense[rows, cols],
        )
        idx = np.arange(self.nrow, self.nrow + m)
        self.nrow += m
        return idx

    def solve(self) -> None:
        """Solve the LP; keep the solution in ``x`` and the row duals in ``dual``."""
        self.h.run()
        self.solves += 1
        status = self.h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"HiGHS did not solve an allocation LP: {status}")
        sol = self.h.getSolution()
        self.x = np.array(sol.col_value)
        self.row_dual = np.array(sol.row_dual)
        self.col_dual = np.array(sol.col_dual)

    @property
    def objective(self) -> float:
        """Objective value of the last solve."""
        return float(self.h.getInfo().objective_function_value)


class CoalitionLP(LP):
    """An LP with one row ``x(S) [+ t] >= v(S) - shift`` per generated coalition ``S``.

    Columns ``0..n-1`` are the allocation ``x``; further columns are extra
    variables (``t_col`` is the excess variable, if any). Coalition rows are
    generated lazily: :meth:`generate` solves, computes the excess of all ``2**n``
    coalitions at once and adds the most violated ones until none is violated.
    """

    def __init__(
        self,
        v: np.ndarray,
        n: int,
        cost: np.ndarray,
        lb: np.ndarray,
        ub: np.ndarray,
        t_col: int | None,
        shift: float = 0.0,
    ) -> None:
        super().__init__(cost, lb, ub)
        self.v = v
        self.n = n
        self.t_col = t_col
        self.shift = shift
        self.row_mask: list[int] = []  # coalition of each LP row (-1 for other rows)
        # v(S) for coalitions that may still be generated, -inf for the others
        self.candidate_v = v.astype(float).copy()
        self.candidate_v[0] = -np.inf
        self.candidate_v[-1] = -np.inf
        self.batch = max(2 * n, 16)

    def add_other_rows(self, a: ArrayLike, lo: ArrayLike, hi: ArrayLike) -> np.ndarray:
        """Add rows that are not coalitions; return their indices."""
        idx = self.add_rows(a, lo, hi)
        self.row_mask.extend([-1] * len(idx))
        return idx

    def add_coalitions(self, masks: Iterable[int]) -> np.ndarray:
        """Add a row per new coalition (bitmask); return the row indices."""
        new: NDArray[np.int64] = np.unique(np.asarray(list(masks), dtype=np.int64))
        new = new[np.isfinite(self.candidate_v[new])]
        if new.size == 0:
            return np.zeros(0, dtype=np.int64)
        a = np.zeros((new.size, self.ncol))
        a[:, : self.n] = incidence(new, self.n)
        if self.t_col is not None:
            a[:, self.t_col] = 1.0
        idx = self.add_rows(a, self.v[new] - self.shift, np.full(new.size, INF))
        self.row_mask.extend(int(m) for m in new)
        self.candidate_v[new] = -np.inf
        return idx

    def excess_slack(self) -> np.ndarray:
        """``v(S) - shift - x(S) - t`` for every coalition still to be generated."""
        slack = self.candidate_v - additive(self.x[: self.n]) - self.shift
        if self.t_col is not None:
            slack -= self.x[self.t_col]
        return slack

    def generate(self, accept: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        """Solve with constraint generation until no coalition is violated.

        ``accept(masks) -> bool array`` may refuse violated coalitions (they are then
        dropped from the candidates for good).
        """
        while True:
            self.solve()
            slack = self.excess_slack()
            while True:
                viol = np.flatnonzero(slack > TOL_VIOL)
                if viol.size == 0:
                    return
                if viol.size > self.batch:
                    top = np.argpartition(slack[viol], -self.batch)[-self.batch :]
                    viol = viol[top]
                if accept is not None:
                    ok = accept(viol)
                    refused = viol[~ok]
                    self.candidate_v[refused] = -np.inf
                    slack[refused] = -np.inf
                    viol = viol[ok]
                if viol.size:
                    self.add_coalitions(viol)
                    break


def initial_coalitions(v: np.ndarray, n: int, x0: np.ndarray, k: int) -> np.ndarray:
    """Singletons, their complements and the ``k`` coalitions of largest excess at ``x0``."""
    full = (1 << n) - 1
    single = 1 << np.arange(n, dtype=np.int64)
    masks = [single, full ^ single]
    exc = v - additive(x0)
    exc[0] = exc[full] = -np.inf
    if exc.size > k:
        masks.append(np.argpartition(exc, -k)[-k:])
    else:
        masks.append(np.arange(exc.size))
    out = np.unique(np.concatenate(masks))
    return out[(out != 0) & (out != full)]

