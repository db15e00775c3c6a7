"""Core checks: is an allocation in the core, which coalition blocks it, by how much."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from netopt.allocation.game import (
    Game,
    additive,
    allocation_vector,
    coalition_sizes,
    savings_vector,
    value_scale,
)
from netopt.allocation.lp import TOL_CHECK
from netopt.allocation.nucleolus import least_core_vector


def core_is_empty(game: Game) -> bool:
    """True when no efficient allocation satisfies every coalition (least-core epsilon > 0)."""
    v, _ = savings_vector(game)
    scale = value_scale(v)
    _, eps = least_core_vector(v / scale, game.n)
    return eps > TOL_CHECK




def _excess_vector(game: Game, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dissatisfaction of every coalition (positive = blocks) and the game vector."""
    v = game.dense_values()
    xs = additive(x)
    return (xs - v if game.is_cost else v - xs), v


def in_core(
    game: Game,
    x: pd.Series | Mapping[Hashable, float] | Sequence[float],
    tol: float = 1e-7,
    max_rows: int | None = None,
) -> pd.DataFrame:
    """Coalitions that block an allocation, most blocking first.

    Parameters
    ----------
    game
        The game.
    x
        Allocation by player (Series/mapping, or sequence in player order). For a
        cost game, cost shares: ``S`` blocks when ``x(S) > c(S)``; otherwise ``S``
        blocks when ``x(S) < v(S)``.
    tol
        Tolerance relative to ``max(1, max |v(S)|)``.
    max_rows
        Keep only the most blocking coalitions.

    Returns
    -------
    pandas.DataFrame
        Columns ``coalition`` (tuple of players), ``value`` (``v(S)`` or ``c(S)``),
        ``allocated`` (``x(S)``), ``excess`` (how much ``S`` loses by staying, in the
        game's units). Empty when ``x`` is in the core. The grand coalition blocks
        when it is under-paid (profit) or over-charged (cost); the opposite
        (infeasible) imbalance is reported in ``attrs["efficiency_gap"]``
        (``x(N) - v(N)``), which is 0 for an efficient allocation.
    """
    xv = allocation_vector(game, x)
    exc, v = _excess_vector(game, xv)
    atol = tol * max(1.0, float(np.max(np.abs(v))))
    exc[0] = -np.inf
    idx = np.flatnonzero(exc > atol)
    pc = coalition_sizes(game.n)
    order = np.lexsort((idx, pc[idx], -exc[idx]))
    idx = idx[order]
    if max_rows is not None:
        idx = idx[:max_rows]
    xs = additive(xv)
    df = pd.DataFrame(
        {
            "coalition": pd.Series([game.coalition_of(int(m)) for m in idx], dtype=object),
            "value": v[idx],
            "allocated": xs[idx],
            "excess": exc[idx],
        }
    )
    df.attrs["efficiency_gap"] = float(xs[-1] - v[-1])
    return df


@dataclass(frozen=True)
class Stability:
    """Core stability of an allocation (amounts in the game's units).

    Attributes
    ----------
    in_core
        Efficient and no coalition blocks.
    efficient
        ``x(N) == v(N)`` (or ``c(N)``) within tolerance.
    efficiency_gap
        ``x(N) - v(N)``.
    max_excess
        Largest excess over proper coalitions (positive: some coalition blocks).
    most_blocking
        The proper coalition with the largest excess if it blocks, else ``None``.
    n_blocking
        Number of blocking proper coalitions.
    tightest
        The proper coalition with the largest excess, blocking or not (``None`` for a
        one-player game).
    """

    in_core: bool
    efficient: bool
    efficiency_gap: float
    max_excess: float
    most_blocking: tuple | None
    n_blocking: int
    tightest: tuple | None = None


def stability(
    game: Game, x: pd.Series | Mapping[Hashable, float] | Sequence[float], tol: float = 1e-7
) -> Stability:
    """Summarise the core stability of allocation ``x`` (cost shares for a cost game).

    ``tol`` is relative to ``max(1, max |v(S)|)``.
    """
    xv = allocation_vector(game, x)
    exc, v = _excess_vector(game, xv)
    atol = tol * max(1.0, float(np.max(np.abs(v))))
    gap = float(xv.sum() - v[-1])
    efficient = abs(gap) <= atol
    proper = exc[1:-1]
    if proper.size:
        k = int(np.argmax(proper))
        max_exc = float(proper[k])
        n_block = int(np.count_nonzero(proper > atol))
        tightest: tuple | None = game.coalition_of(k + 1)
        most = tightest if max_exc > atol else None
    else:
        max_exc, n_block, most, tightest = -math.inf, 0, None, None
    return Stability(
        in_core=bool(efficient and n_block == 0),
        efficient=bool(efficient),
        efficiency_gap=gap,
        max_excess=max_exc,
        most_blocking=most,
        n_blocking=n_block,
        tightest=tightest,
    )


def optimistic_savings_game(game: Game, lower_costs: Mapping[Any, float]) -> Game:
    """The savings game as each coalition would see it if its cost were as low as its
    proven bound: ``v(S) = sum_{i in S} c({i}) - L(S)``, with ``c({i})`` the stand-alone
    costs found and ``L(S)`` from ``lower_costs`` (by coalition); the grand coalition keeps
    its value, so that the same shares stay efficient.

    An allocation of ``game`` in this game's core is in the core of every game whose costs
    lie between their bounds and the values found (the core of the interval game): no
    coalition could do better alone, whatever its true cost within its bound.
    ``game`` is a savings game built with :meth:`Game.from_costs`.
    """
    standalone = game.standalone_costs
    if standalone is None:
        raise ValueError("optimistic_savings_game needs a game built with Game.from_costs")
    lower = {frozenset(_as_members(k)): float(v) for k, v in lower_costs.items()}
    grand = frozenset(game.players)
    values: dict[frozenset, float] = {}
    for mask in range(1, 1 << game.n):
        coalition = frozenset(game.coalition_of(mask))
        if coalition == grand:
            values[coalition] = float(game.grand_value)
            continue
        if coalition not in lower:
            raise ValueError(f"no lower bound for coalition {sorted(coalition)}")
        bound = lower[coalition]
        if not math.isfinite(bound):
            raise ValueError(f"the bound of coalition {sorted(coalition)} is not finite")
        values[coalition] = float(sum(standalone[p] for p in coalition)) - bound
    return Game(values, kind="savings", players=game.players)


def _as_members(key: Any) -> tuple:
    """A coalition key as a tuple of players (a str is a one-player coalition)."""
    return (key,) if isinstance(key, str) else tuple(key)


