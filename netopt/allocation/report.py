"""Every allocation method side by side, and the members' savings report."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from netopt.allocation.core import optimistic_savings_game, stability
from netopt.allocation.game import Game
from netopt.allocation.nucleolus import least_core, nucleolus, prenucleolus
from netopt.allocation.rules import (
    equal_profit_method,
    equal_split,
    proportional,
    separable_costs_remaining_benefits,
    tau_value,
)
from netopt.allocation.shapley import shapley

#: Columns of :func:`allocate_all`, in order.
METHODS: tuple[str, ...] = (
    "shapley",
    "nucleolus",
    "prenucleolus",
    "least_core",
    "tau",
    "epm",
    "proportional",
    "equal_split",
    "separable_costs",
)


def allocate_all(
    game: Game,
    methods: Sequence[str] | None = None,
    weights: pd.Series | Mapping[Hashable, float] | None = None,
) -> pd.DataFrame:
    """Every allocation method side by side.

    Parameters
    ----------
    game
        The game (a cost game gives cost shares).
    methods
        Subset of :data:`METHODS` (default: all, in that order).
    weights
        Weights of ``proportional`` (default: stand-alone costs when the game came
        from costs or is a cost game; otherwise the column is NaN). EPM always uses
        the stand-alone costs.

    Returns
    -------
    pandas.DataFrame
        One row per player, one column per method, NaN where a method is undefined
        (empty imputation set, tau not quasi-balanced, no stand-alone costs, ...).
        ``attrs["least_core_epsilon"]`` holds the least-core epsilon when computed.
    """
    methods = list(METHODS if methods is None else methods)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown methods {unknown!r}; choose from {METHODS}")
    cols: dict[str, np.ndarray] = {}
    attrs: dict[str, Any] = {}
    nan = np.full(game.n, np.nan)
    for method in methods:
        try:
            if method == "shapley":
                res: pd.Series | None = shapley(game)
            elif method == "nucleolus":
                res = nucleolus(game)
            elif method == "prenucleolus":
                res = prenucleolus(game)
            elif method == "least_core":
                res, eps = least_core(game)
                attrs["least_core_epsilon"] = eps
            elif method == "tau":
                res = tau_value(game)
            elif method == "epm":
                res = equal_profit_method(game)
            elif method == "proportional":
                res = proportional(game, weights)
            elif method == "separable_costs":
                res = separable_costs_remaining_benefits(game)
            else:
                res = equal_split(game)
        except ValueError:
            res = None
        cols[method] = nan.copy() if res is None else res.to_numpy(dtype=float)
    df = pd.DataFrame(cols, index=game.player_index())
    df.attrs.update(attrs)
    return df




def _label(coalition: Sequence[Any] | None) -> str | None:
    return None if coalition is None else "+".join(map(str, coalition))


def savings_report(
    game: Game, methods: Sequence[str] | None = None,
    lower_costs: Mapping[Any, float] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per member and method: stand-alone cost, allocated cost, savings; and stability.

    ``game`` is a savings game built with :meth:`Game.from_costs` (money in its units).
    Returns ``(members, stability)``: ``members`` is tidy, one row per member and method
    (columns member, method, standalone_cost, allocated_cost, savings, savings_pct);
    ``stability`` has one row per method (in_core, most_blocking, excess, efficient).

    ``lower_costs`` (by coalition), proven lower bounds on the costs the game was built
    from, add to ``stability``: ``tightest`` (the coalition with the largest excess) and
    ``excess_uncertainty`` (how much larger its excess may be, its cost found less its
    bound); ``in_interval_core`` (in the core for every cost within the bounds, see
    :func:`netopt.allocation.core.optimistic_savings_game`; None when a bound is not
    finite), ``interval_most_blocking`` and ``interval_excess`` (the same at the bounds).
    """
    if game.standalone_costs is None:
        raise ValueError("savings_report needs a game built with Game.from_costs")
    standalone = game.standalone_costs
    table = allocate_all(game, methods)
    optimistic = None
    if lower_costs is not None:
        try:
            optimistic = optimistic_savings_game(game, lower_costs)
        except ValueError:
            optimistic = None  # a bound is missing or infinite: no interval verdict
    interval_columns = {"tightest": None, "excess_uncertainty": np.nan,
                        "in_interval_core": None, "interval_most_blocking": None,
                        "interval_excess": np.nan} if lower_costs is not None else {}
    rows, checks = [], []
    for method in table.columns:
        shares = table[method]
        if shares.isna().any():
            checks.append({"method": method, "defined": False, "in_core": None,
                           "most_blocking": None, "excess": np.nan, "efficient": None,
                           **interval_columns})
            continue
        for member in game.players:
            saving = float(shares[member])
            alone = float(standalone[member])
            rows.append({
                "member": member, "method": method, "standalone_cost": alone,
                "allocated_cost": alone - saving, "savings": saving,
                "savings_pct": 100.0 * saving / alone if alone else np.nan,
            })
        verdict = stability(game, shares)
        check = {
            "method": method, "defined": True, "in_core": verdict.in_core,
            "most_blocking": _label(verdict.most_blocking),
            "excess": verdict.max_excess, "efficient": verdict.efficient,
            **interval_columns,
        }
        if lower_costs is not None and verdict.tightest is not None:
            check["tightest"] = _label(verdict.tightest)
        if optimistic is not None:
            at_bounds = stability(optimistic, shares)
            tightest = verdict.tightest
            if tightest is not None:
                check["excess_uncertainty"] = (optimistic.value(tightest)
                                               - game.value(tightest))
            check.update(in_interval_core=at_bounds.in_core,
                         interval_most_blocking=_label(at_bounds.most_blocking),
                         interval_excess=at_bounds.max_excess)
        checks.append(check)
    members = pd.DataFrame(rows, columns=["member", "method", "standalone_cost",
                                          "allocated_cost", "savings", "savings_pct"])
    checks_frame = pd.DataFrame(checks)
    checks_frame.attrs["grand_savings"] = game.grand_value
    checks_frame.attrs["least_core_epsilon"] = table.attrs.get("least_core_epsilon")
    return members, checks_frame
