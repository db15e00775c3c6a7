"""The nucleolus and prenucleolus (a sequence of LPs), and the least core."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from netopt.allocation.game import (
    Game,
    allocation_series,
    incidence,
    savings_vector,
    value_scale,
)
from netopt.allocation.lp import (
    INF,
    LP,
    TOL_CHECK,
    TOL_DUAL,
    TOL_SLACK,
    TOL_SPAN,
    TOL_TIGHT,
    CoalitionLP,
    initial_coalitions,
)


class _Span:
    """Orthonormal basis of the span of the fixed coalition vectors (Gram-Schmidt)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.q = np.zeros((n, 0))
        self.rows: list[np.ndarray] = []
        self.rhs: list[float] = []

    @property
    def rank(self) -> int:
        return self.q.shape[1]

    def residual(self, a: np.ndarray) -> np.ndarray:
        a = np.atleast_2d(a)
        r = a - (a @ self.q) @ self.q.T
        return r - (r @ self.q) @ self.q.T

    def contains(self, a: np.ndarray) -> np.ndarray:
        return np.linalg.norm(self.residual(a), axis=1) <= TOL_SPAN

    def add(self, a: np.ndarray, rhs: float) -> bool:
        """Add ``a . x = rhs`` if ``a`` is independent of the basis; report whether it was."""
        r = self.residual(a)[0]
        norm = float(np.linalg.norm(r))
        if norm <= TOL_SPAN:
            return False
        self.q = np.column_stack([self.q, r / norm])
        self.rows.append(np.asarray(a, dtype=float))
        self.rhs.append(float(rhs))
        return True


def _nucleolus_vector(v: np.ndarray, n: int, imputation: bool) -> tuple[np.ndarray, list[float]]:
    """(Pre)nucleolus of a profit game given as a scaled dense vector.

    Sequence of LPs (Maschler, Peleg & Shapley 1979; Kopelowitz 1967) with the
    safeguards of Guajardo & Jornsten (2015): at each level only the coalitions
    whose excess is at the level in *every* optimal solution are fixed (positive
    dual, or shown by an auxiliary LP to be unable to become slack); coalitions in
    the span of fixed ones (whose excess is then constant) leave the LP; the loop
    stops only when the fixed vectors have rank ``n`` (the allocation is unique).
    Rows are generated lazily over the full bitmask vector. Returns the
    allocation and the excess levels (scaled units).
    """
    full = (1 << n) - 1
    if n == 1:
        return np.array([v[full]]), []
    singles = 1 << np.arange(n, dtype=np.int64)
    if imputation:
        lb = v[singles].astype(float)
        if lb.sum() > v[full] + TOL_CHECK:
            raise ValueError(
                "the imputation set is empty: the stand-alone values add up to more "
                "than the grand coalition's value, so the nucleolus is undefined "
                "(use prenucleolus)"
            )
        x0 = lb + (v[full] - lb.sum()) / n
    else:
        lb = np.full(n, -INF)
        x0 = np.full(n, v[full] / n)
    # a safe lower bound on every level: keeps restricted LPs bounded
    t_lb = -float(n * n + 4 * n + 2)
    t = n
    lp = CoalitionLP(
        v,
        n,
        cost=np.r_[np.zeros(n), 1.0],
        lb=np.r_[lb, t_lb],
        ub=np.r_[np.full(n, INF), INF],
        t_col=t,
    )
    span = _Span(n)
    span.add(np.ones(n), v[full])
    lp.add_other_rows(np.r_[np.ones(n), 0.0], [v[full]], [v[full]])
    lp.add_coalitions(initial_coalitions(v, n, x0, 4 * n))
    # LP row -> coalition mask, for the rows that still carry the excess variable
    free: dict[int, int] = {r: m for r, m in enumerate(lp.row_mask) if m > 0}
    registered = lp.nrow
    pinned = np.zeros(n, dtype=bool)
    levels: list[float] = []

    def accept(masks: np.ndarray) -> np.ndarray:
        return ~span.contains(incidence(masks, n))

    def fix_row(r: int, level: float) -> None:
        mask = free.pop(r)
        rhs = v[mask] - level
        lp.h.changeCoeff(int(r), t, 0.0)
        if span.add(incidence([mask], n)[0], rhs):
            lp.h.changeRowBounds(int(r), rhs, rhs)
        else:  # dependent: its excess is already constant, drop the row
            lp.h.changeRowBounds(int(r), -INF, INF)

    def pin(i: int) -> None:
        pinned[i] = True
        lp.h.changeColBounds(int(i), lb[i], lb[i])
        e = np.zeros(n)
        e[i] = 1.0
        span.add(e, lb[i])

    for _ in range(4 * n + 10):
        if span.rank >= n:
            break
        # coalitions in the span of the fixed ones have a constant excess: drop them
        rows = np.fromiter(free, dtype=np.int64)
        if rows.size:
            dead = rows[span.contains(incidence([free[r] for r in rows], n))]
            for r in dead:
                free.pop(int(r))
                lp.h.changeRowBounds(int(r), -INF, INF)
        lp.generate(accept)
        for r in range(registered, lp.nrow):
            if lp.row_mask[r] > 0:
                free[r] = lp.row_mask[r]
        registered = lp.nrow
        level = float(lp.x[t])
        levels.append(level)
        # 1) coalitions with a positive dual are tight in every optimal solution
        duals = lp.row_dual
        positive = sorted((r for r in free if duals[r] > TOL_DUAL), key=lambda r: -duals[r])
        for r in positive:
            fix_row(r, level)
        if imputation:
            for col in np.flatnonzero(~pinned & (lp.col_dual[:n] > TOL_DUAL)):
                pin(int(col))
        if span.rank >= n:
            break
        # 2) other coalitions tight at this solution: can they be slack at this level?
        cand_rows: list[int] = []
        if free:
            masks = np.fromiter(free.values(), dtype=np.int64)
            exc = v[masks] - incidence(masks, n) @ lp.x[:n]
            cand_rows = [r for r, e in zip(free, exc, strict=True) if e >= level - TOL_TIGHT]
        cand_cols = (
            [int(i) for i in np.flatnonzero(~pinned & (lp.x[:n] <= lb + TOL_TIGHT))]
            if imputation
            else []
        )
        if cand_rows or cand_cols:
            tight_rows, tight_cols = _implicit_equalities(
                lp, free, span, level, lb, pinned, cand_rows, cand_cols
            )
            for r in tight_rows:
                if r in free:
                    fix_row(r, level)
            for i in tight_cols:
                pin(i)
    else:  # pragma: no cover - defensive
        raise RuntimeError("nucleolus: the sequence of LPs did not converge")
    a = np.vstack(span.rows)
    x = np.linalg.solve(a, np.asarray(span.rhs))
    return x, levels


def _implicit_equalities(
    lp: CoalitionLP,
    free: dict[int, int],
    span: _Span,
    level: float,
    lb: np.ndarray,
    pinned: np.ndarray,
    cand_rows: list[int],
    cand_cols: list[int],
) -> tuple[list[int], list[int]]:
    """Which candidate rows/bounds are tight on the whole optimal face of this level.

    Maximise the sum of slacks ``s <= 1`` of the candidates over the optimal face
    (fixed equalities, all free rows at excess <= level); candidates that get a
    positive slack can be slack and are dropped; repeat until the maximum is 0:
    the remaining candidates are then tight in every optimal solution.
    """
    n = lp.n
    nr, nc = len(cand_rows), len(cand_cols)
    xub = np.where(pinned, lb, INF)
    aux = LP(
        cost=np.r_[np.zeros(n), -np.ones(nr + nc)],
        lb=np.r_[lb, np.zeros(nr + nc)],
        ub=np.r_[xub, np.ones(nr + nc)],
    )
    ncol = n + nr + nc
    # fixed equalities
    eq = np.zeros((len(span.rows), ncol))
    eq[:, :n] = np.vstack(span.rows)
    rhs = np.asarray(span.rhs)
    aux.add_rows(eq, rhs, rhs)
    # free rows at excess <= level; candidates get a slack column
    pos = {r: k for k, r in enumerate(cand_rows)}
    masks = list(free.values())
    a = np.zeros((len(masks), ncol))
    a[:, :n] = incidence(masks, n)
    for k, r in enumerate(free):
        if r in pos:
            a[k, n + pos[r]] = -1.0
    aux.add_rows(a, np.array([lp.v[m] for m in masks]) - level, np.full(len(masks), INF))
    # candidate bounds x_i - s_i >= lb_i
    if nc:
        b = np.zeros((nc, ncol))
        b[np.arange(nc), cand_cols] = 1.0
        b[np.arange(nc), n + nr + np.arange(nc)] = -1.0
        aux.add_rows(b, lb[cand_cols], np.full(nc, INF))
    alive = np.ones(nr + nc, dtype=bool)
    while alive.any():
        aux.solve()
        s = aux.x[n:]
        slack = alive & (s > TOL_SLACK)
        if not slack.any():
            break
        alive &= ~slack
        cols = n + np.flatnonzero(slack)
        aux.h.changeColsCost(len(cols), cols.astype(np.int32), np.zeros(len(cols)))
    rows_tight = [r for k, r in enumerate(cand_rows) if alive[k]]
    cols_tight = [i for k, i in enumerate(cand_cols) if alive[nr + k]]
    return rows_tight, cols_tight


def nucleolus(game: Game) -> pd.Series:
    """Nucleolus: the imputation that lexicographically minimises the sorted excesses.

    Computed by the sequence of LPs with lazily generated coalition rows; fast for
    about 20 players. For a cost game it is the nucleolus of the savings game,
    returned as cost shares ``c({i}) - x_i``.

    Raises
    ------
    ValueError
        If the imputation set is empty (``sum_i v({i}) > v(N)``; for a cost game
        ``c(N) > sum_i c({i})``).
    """
    return _lex_center(game, imputation=True, name="nucleolus")


def prenucleolus(game: Game) -> pd.Series:
    """Prenucleolus: like :func:`nucleolus` over all efficient allocations (no x_i >= v({i}))."""
    return _lex_center(game, imputation=False, name="prenucleolus")


def _lex_center(game: Game, imputation: bool, name: str) -> pd.Series:
    v, sc = savings_vector(game)
    scale = value_scale(v)
    x, levels = _nucleolus_vector(v / scale, game.n, imputation)
    x = x * scale
    if sc is not None:
        x = sc - x
    out = allocation_series(game, x, name)
    out.attrs["excess_levels"] = [lev * scale for lev in levels]
    return out




def least_core_vector(v: np.ndarray, n: int) -> tuple[np.ndarray, float]:
    """Least core point and epsilon of a scaled profit game."""
    full = (1 << n) - 1
    if n == 1:
        return np.array([v[full]]), -math.inf
    t_lb = -float(n * n + 4 * n + 2)
    lp = CoalitionLP(
        v,
        n,
        cost=np.r_[np.zeros(n), 1.0],
        lb=np.r_[np.full(n, -INF), t_lb],
        ub=np.full(n + 1, INF),
        t_col=n,
    )
    lp.add_other_rows(np.r_[np.ones(n), 0.0], [v[full]], [v[full]])
    lp.add_coalitions(initial_coalitions(v, n, np.full(n, v[full] / n), 4 * n))
    lp.generate()
    return lp.x[:n].copy(), float(lp.x[n])


def least_core(game: Game) -> tuple[pd.Series, float]:
    """Least core: smallest epsilon with ``x(S) >= v(S) - epsilon`` for all proper S.

    Returns
    -------
    (pandas.Series, float)
        One least-core allocation (the LP's vertex; unique when the least core is a
        single point), named ``"least_core"``, and epsilon (units of the game's
        values; ``<= 0`` exactly when the core is non-empty). For a cost game the
        allocation is cost shares and the condition reads ``y(S) <= c(S) + epsilon``.
        For one player epsilon is ``-inf``.
    """
    v, sc = savings_vector(game)
    scale = value_scale(v)
    x, eps = least_core_vector(v / scale, game.n)
    x = x * scale
    if sc is not None:
        x = sc - x
    return allocation_series(game, x, "least_core"), eps * scale


