"""Allocation rules: the tau value, the equal profit method, separable costs remaining
benefits, proportional and equal splits."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import pandas as pd

from netopt.allocation.game import (
    Game,
    additive,
    allocation_series,
    allocation_vector,
    savings_vector,
    value_scale,
)
from netopt.allocation.lp import INF, TOL_CHECK, TOL_VIOL, CoalitionLP, initial_coalitions
from netopt.allocation.nucleolus import least_core_vector


def tau_value(game: Game) -> pd.Series | None:
    """Tau value (Tijs 1981), or ``None`` where it is undefined.

    Utopia payoffs ``M_i = v(N) - v(N minus i)``; minimal rights
    ``m_i = max_{S containing i} (v(S) - sum_{j in S, j != i} M_j)``. Defined when
    ``m <= M`` and ``sum m <= v(N) <= sum M`` (quasi-balanced game); then tau is
    the efficient point on the segment from ``m`` to ``M``. For a cost game it is
    computed on the savings game and returned as cost shares.
    """
    v, sc = savings_vector(game)
    n = game.n
    full = (1 << n) - 1
    tol = TOL_CHECK * value_scale(v)
    big_m = v[full] - v[full ^ (1 << np.arange(n))]
    g = v - additive(big_m)
    small_m = np.array([g.reshape(-1, 2, 1 << i)[:, 1, :].max() for i in range(n)]) + big_m
    vn = v[full]
    if np.any(small_m > big_m + tol) or small_m.sum() > vn + tol or vn > big_m.sum() + tol:
        return None
    span_ = big_m.sum() - small_m.sum()
    if span_ <= tol:
        x = big_m.copy()
    else:
        lam = (vn - small_m.sum()) / span_
        x = small_m + lam * (big_m - small_m)
    if sc is not None:
        x = sc - x
    return allocation_series(game, x, "tau")




def equal_profit_method(
    game: Game, weights: pd.Series | Mapping[Hashable, float] | None = None
) -> pd.Series:
    """Equal profit method (Frisk, Goethe-Lundgren, Jornsten & Ronnqvist, EJOR 2010).

    Minimise the largest difference between the players' relative savings
    ``x_i / w_i`` (for a cost game ``(c({i}) - y_i) / c({i})``) over the core; when
    the core is empty, over the least core (epsilon-core with the least-core
    epsilon). Ties between optimal allocations are resolved by the LP solver.

    Parameters
    ----------
    game
        The game; a cost game returns cost shares.
    weights
        Positive reference amounts ``w_i``; default: the stand-alone costs (a cost
        game, or a savings game built with :meth:`Game.from_costs`).

    Raises
    ------
    ValueError
        Without weights for a plain profit game, or with non-positive weights.
    """
    n = game.n
    if weights is None:
        sc = game.standalone_costs
        if sc is None:
            raise ValueError(
                "EPM needs reference amounts: pass weights, or build the game from costs"
            )
        w = sc.to_numpy(dtype=float)
    else:
        w = allocation_vector(game, weights)
    if np.any(~np.isfinite(w)) or np.any(w <= 0):
        raise ValueError("EPM needs positive stand-alone costs / weights")
    v, sc_vec = savings_vector(game)
    scale = value_scale(v)
    vs = v / scale
    full = (1 << n) - 1
    if n == 1:
        x = np.array([vs[full]])
    else:
        _, eps = least_core_vector(vs, n)
        shift = max(0.0, eps) + TOL_VIOL
        lp = CoalitionLP(
            vs,
            n,
            cost=np.r_[np.zeros(n), 1.0],
            lb=np.r_[np.full(n, -INF), 0.0],
            ub=np.full(n + 1, INF),
            t_col=None,
            shift=shift,
        )
        lp.add_other_rows(np.r_[np.ones(n), 0.0], [vs[full]], [vs[full]])
        ii, jj = np.nonzero(~np.eye(n, dtype=bool))
        pairs = np.zeros((ii.size, n + 1))
        pairs[np.arange(ii.size), ii] = 1.0 / w[ii]
        pairs[np.arange(ii.size), jj] = -1.0 / w[jj]
        pairs[:, n] = -1.0
        lp.add_other_rows(pairs, np.full(ii.size, -INF), np.zeros(ii.size))
        x0 = np.full(n, vs[full] / n)
        lp.add_coalitions(initial_coalitions(vs, n, x0, 4 * n))
        lp.generate()
        x = lp.x[:n].copy()
    x = x * scale
    if sc_vec is not None:
        x = sc_vec - x
    return allocation_series(game, x, "epm")




def proportional(
    game: Game, weights: pd.Series | Mapping[Hashable, float] | Sequence[float] | None = None
) -> pd.Series:
    """Split ``v(N)`` (profit) or ``c(N)`` (cost) in proportion to ``weights``.

    Parameters
    ----------
    game
        The game.
    weights
        Non-negative weights by player (e.g. stand-alone cost or volume) with a
        positive sum. Default: the stand-alone costs, when known.
    """
    if weights is None:
        sc = game.standalone_costs
        if sc is None:
            raise ValueError("proportional needs weights (no stand-alone costs are known)")
        w = sc.to_numpy(dtype=float)
    else:
        w = allocation_vector(game, weights)
    if np.any(~np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("proportional needs non-negative weights with a positive sum")
    return allocation_series(game, game.grand_value * w / w.sum(), "proportional")


def separable_costs_remaining_benefits(game: Game) -> pd.Series | None:
    """Separable costs remaining benefits (SCRB; James and Lee 1971, as used for water
    projects by Young, Okada and Hashimoto 1982), or ``None`` where it is undefined.

    On costs: each player pays its separable cost ``m_i = c(N) - c(N minus i)`` (what it
    adds to the others' network), and the non-separable rest ``c(N) - sum m`` is shared
    in proportion to the remaining benefits ``r_i = c({i}) - m_i``. On the savings game
    ``r_i = v(N) - v(N minus i)``, each player's marginal savings, and the rule is the
    savings ``v(N)`` split in proportion to them; so it is computed on the savings game
    (on the values themselves for a profit game) and, for a cost game, returned as cost
    shares. Undefined when some ``r_i`` is negative or they sum to zero or less (to within
    1e-9 of the members' stand-alone costs together, where the game has them). Needs
    only the grand coalition, each player alone and each ``N minus i``; with two players
    it is the equal split of the savings.
    """
    v, sc = savings_vector(game)
    n = game.n
    full = (1 << n) - 1
    # savings below the rounding of the costs they come from are none
    scale, standalone = value_scale(v), game.standalone_costs
    if standalone is not None:
        scale = max(scale, float(np.abs(standalone.to_numpy(dtype=float)).sum()))
    x = split_by_marginal_savings(float(v[full]), v[full] - v[full ^ (1 << np.arange(n))],
                                  TOL_CHECK * scale)
    if x is None:
        return None
    if sc is not None:
        x = sc - x
    return allocation_series(game, x, "separable_costs")


def split_by_marginal_savings(grand_savings: float, marginal: np.ndarray,
                              tolerance: float = 0.0) -> np.ndarray | None:
    """The savings ``grand_savings`` split in proportion to each player's marginal
    savings ``v(N) - v(N minus i)`` (the separable costs remaining benefits rule on the
    savings game); None when one is below ``-tolerance`` or they sum to no more than
    ``tolerance``."""
    marginal = np.asarray(marginal, dtype=float)
    if np.any(marginal < -tolerance) or marginal.sum() <= tolerance:
        return None
    marginal = np.maximum(marginal, 0.0)
    return grand_savings * marginal / marginal.sum()


def equal_split(game: Game, basis: str = "value") -> pd.Series:
    """Split the grand coalition's value equally.

    Parameters
    ----------
    game
        The game.
    basis
        ``"value"``: ``v(N)/n`` (a cost game: ``c(N)/n`` cost shares).
        ``"savings"`` (cost games): split the savings ``sum c({i}) - c(N)`` equally
        and return cost shares ``c({i}) - savings/n``.
    """
    n = game.n
    if basis == "value" or not game.is_cost:
        if basis not in ("value", "savings"):
            raise ValueError(f"basis must be 'value' or 'savings', got {basis!r}")
        return allocation_series(game, np.full(n, game.grand_value / n), "equal_split")
    if basis != "savings":
        raise ValueError(f"basis must be 'value' or 'savings', got {basis!r}")
    sc = np.array([game.value_of_mask(1 << i) for i in range(n)])
    saving = sc.sum() - game.grand_value
    return allocation_series(game, sc - saving / n, "equal_split")


