"""Cooperative-game allocation of alliance costs and savings.

Pure numpy, pandas and highspy: from the characteristic function of a
transferable-utility (TU) game to allocations. One module per concept:

* :mod:`~netopt.allocation.game`: the :class:`Game` (values by coalition bitmask);
* :mod:`~netopt.allocation.shapley`: the Shapley value, exact or sampled;
* :mod:`~netopt.allocation.nucleolus`: the nucleolus, prenucleolus and least core;
* :mod:`~netopt.allocation.core`: core checks (:func:`in_core`, :func:`stability`), and
  the game at the coalitions' proven bounds (:func:`optimistic_savings_game`);
* :mod:`~netopt.allocation.rules`: tau value, equal profit method, separable costs
  remaining benefits, proportional and equal splits;
* :mod:`~netopt.allocation.report`: every method side by side and the savings report.

Conventions
-----------
* A :class:`Game` has a ``kind``: ``"savings"`` or ``"profit"`` (more is better)
  or ``"cost"`` (less is better). Every solution concept returns amounts in the
  units of the game's values: shares of ``v(N)`` for savings/profit games and
  *cost shares* of ``c(N)`` for cost games.
* For a cost game, the nucleolus, prenucleolus, least core, tau value and EPM are
  computed on the savings game ``v(S) = sum_{i in S} c({i}) - c(S)`` and turned
  back into cost shares ``c({i}) - x_i``. The Shapley value is linear, so it is
  computed on the costs directly (same result).
* Coalitions are stored densely as a numpy vector indexed by bitmask over the
  players (bit ``k`` is ``game.players[k]``), so explicit games are limited to
  :data:`MAX_DENSE_PLAYERS` players. Larger games can be built lazily with
  :meth:`Game.from_function` and used with the sampled Shapley value.
* Linear programs are solved with HiGHS through ``highspy``. Internally the game
  is scaled by ``max |v(S)|`` so that solver tolerances are relative.
"""

from netopt.allocation.core import (
    Stability,
    core_is_empty,
    in_core,
    optimistic_savings_game,
    stability,
)
from netopt.allocation.game import MAX_DENSE_PLAYERS, Game
from netopt.allocation.nucleolus import least_core, nucleolus, prenucleolus
from netopt.allocation.report import METHODS, allocate_all, savings_report
from netopt.allocation.rules import (
    equal_profit_method,
    equal_split,
    proportional,
    separable_costs_remaining_benefits,
    tau_value,
)
from netopt.allocation.shapley import shapley, shapley_table

__all__ = [
    "MAX_DENSE_PLAYERS",
    "METHODS",
    "Game",
    "Stability",
    "allocate_all",
    "core_is_empty",
    "equal_profit_method",
    "equal_split",
    "in_core",
    "least_core",
    "nucleolus",
    "optimistic_savings_game",
    "prenucleolus",
    "proportional",
    "savings_report",
    "separable_costs_remaining_benefits",
    "shapley",
    "shapley_table",
    "stability",
    "tau_value",
]
