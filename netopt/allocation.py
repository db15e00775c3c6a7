"""Cooperative-game allocation of alliance costs and savings.

A pure, self-contained module (numpy, pandas and highspy only) that turns the
characteristic function of a transferable-utility (TU) game into allocations:
the Shapley value (exact or sampled), the nucleolus and prenucleolus, the least
core, the tau value, the equal profit method (EPM), proportional and equal
splits, and core-stability diagnostics.

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

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
import pandas as pd

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
    "prenucleolus",
    "proportional",
    "shapley",
    "shapley_table",
    "stability",
    "tau_value",
]

#: Largest number of players for which the full coalition vector is built.
MAX_DENSE_PLAYERS = 25

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
)

_KINDS = ("savings", "profit", "cost")
_INF = highspy.kHighsInf

# Tolerances in scaled units (the game divided by max |v(S)|).
_TOL_VIOL = 1e-9  # constraint violation that triggers constraint generation
_TOL_TIGHT = 1e-7  # excess this close to the LP optimum is a candidate "tight" coalition
_TOL_DUAL = 1e-9  # a dual value above this is positive
_TOL_SLACK = 1e-9  # a slack above this (in the auxiliary LP) is real
_TOL_SPAN = 1e-8  # residual norm below which a vector is in a span
_TOL_CHECK = 1e-9  # feasibility checks (imputation set, tau conditions, core)


# --------------------------------------------------------------------------- bitmask helpers


def _additive(w: np.ndarray) -> np.ndarray:
    """Return ``sum_{i in S} w_i`` for every bitmask ``S`` (length ``2**len(w)``)."""
    out = np.zeros(1)
    for wi in np.asarray(w, dtype=float):
        out = np.concatenate([out, out + wi])
    return out


_POPCOUNT_CACHE: dict[int, np.ndarray] = {}


def _popcount(n: int) -> np.ndarray:
    """Return the number of players in every bitmask over ``n`` players."""
    if n not in _POPCOUNT_CACHE:
        out = np.zeros(1, dtype=np.int8)
        for _ in range(n):
            out = np.concatenate([out, out + 1])
        _POPCOUNT_CACHE.clear()
        _POPCOUNT_CACHE[n] = out
    return _POPCOUNT_CACHE[n]


def _bits(masks: np.ndarray | Sequence[int], n: int) -> np.ndarray:
    """Return the 0/1 incidence matrix (``len(masks)`` x ``n``) of the bitmasks."""
    m = np.asarray(masks, dtype=np.int64).reshape(-1, 1)
    return ((m >> np.arange(n, dtype=np.int64)) & 1).astype(float)


def _members(mask: int, n: int) -> list[int]:
    return [i for i in range(n) if (mask >> i) & 1]


# --------------------------------------------------------------------------- the game


def _as_coalition(key: Any) -> tuple:
    """Read a coalition key: a str/bytes or non-iterable key is a single player."""
    if isinstance(key, (str, bytes)) or not isinstance(key, Iterable):
        return (key,)
    return tuple(key)


def _sorted_or_given(items: list) -> list:
    try:
        return sorted(items)
    except TypeError:
        return items


class Game:
    """A transferable-utility cooperative game.

    Parameters
    ----------
    values
        Mapping from coalitions to values. A coalition is any iterable of player
        names (tuple, list, set, frozenset); a str or other non-iterable key is a
        one-player coalition. The empty coalition may be omitted (its value is 0).
        Every other coalition must be present.
    kind
        ``"savings"`` or ``"profit"`` (more is better) or ``"cost"`` (less is better).
    players
        Player order. By default: order of first appearance of the singleton keys,
        then any other player in sorted order.

    Raises
    ------
    ValueError
        On an unknown kind, a missing coalition (named in the message), a
        non-finite value, a non-zero empty coalition, or more than
        :data:`MAX_DENSE_PLAYERS` players.
    """

    def __init__(
        self,
        values: Mapping[Any, float],
        kind: str = "savings",
        players: Sequence[Hashable] | None = None,
    ) -> None:
        kind = _check_kind(kind)
        if isinstance(values, pd.Series):  # e.g. netopt.coalition_values(...)
            values = dict(values.items())
        keys = [_as_coalition(k) for k in values]
        vals = np.array([float(x) for x in values.values()], dtype=float)
        if players is None:
            order: dict[Hashable, None] = {}
            for coal in keys:
                if len(coal) == 1:
                    order.setdefault(coal[0], None)
            others = {p for coal in keys for p in coal if p not in order}
            players = list(order) + _sorted_or_given(list(others))
        players = list(players)
        self._init_players(players, kind)
        n = self._n
        if n > MAX_DENSE_PLAYERS:
            raise ValueError(
                f"{n} players: explicit games are limited to {MAX_DENSE_PLAYERS} players; "
                "use Game.from_function for larger games"
            )
        bit = {p: 1 << i for i, p in enumerate(players)}
        masks = np.empty(len(keys), dtype=np.int64)
        for k, coal in enumerate(keys):
            mask = 0
            for p in coal:
                b = bit.get(p)
                if b is None:
                    raise ValueError(f"unknown player {p!r} in coalition {coal!r}")
                mask |= b
            masks[k] = mask
        bad = np.flatnonzero(~np.isfinite(vals))
        if bad.size:
            k = int(bad[0])
            raise ValueError(f"value of coalition {keys[k]!r} is not finite: {vals[k]}")
        if np.any(vals[masks == 0] != 0.0):
            raise ValueError("the empty coalition must have value 0")
        vec = np.full(1 << n, np.nan)
        vec[masks] = vals
        vec[0] = 0.0
        clash = np.flatnonzero(vec[masks] != vals)
        if clash.size:
            m = int(masks[clash[0]])
            raise ValueError(
                f"coalition {self._label(m)} given twice with different values "
                f"({vals[masks == m].tolist()})"
            )
        missing = np.flatnonzero(np.isnan(vec))
        if missing.size:
            raise ValueError(
                f"missing value for coalition {self._label(int(missing[0]))} "
                f"({missing.size} of {(1 << n) - 1} coalitions missing)"
            )
        self._v: np.ndarray | None = vec

    # -- construction helpers -------------------------------------------------------------

    def _init_players(self, players: list, kind: str) -> None:
        if len(players) == 0:
            raise ValueError("a game needs at least one player")
        if len(set(players)) != len(players):
            raise ValueError(f"duplicate player names in {players!r}")
        self._players: tuple = tuple(players)
        self._index: dict[Hashable, int] = {p: i for i, p in enumerate(players)}
        self._n = len(players)
        self._kind = kind
        self._func: Callable[[frozenset], float] | None = None
        self._cache: dict[int, float] = {}
        self._standalone: np.ndarray | None = None

    @classmethod
    def _from_vector(cls, players: Sequence[Hashable], vec: np.ndarray, kind: str) -> Game:
        game = cls.__new__(cls)
        game._init_players(list(players), _check_kind(kind))
        game._v = np.asarray(vec, dtype=float)
        return game

    @classmethod
    def from_array(
        cls,
        players: Sequence[Hashable],
        values: Sequence[float] | np.ndarray,
        kind: str = "savings",
    ) -> Game:
        """Build a game from values in bitmask order (bit ``k`` is ``players[k]``).

        ``values`` has length ``2**n`` (entry 0, the empty coalition, must be 0) or
        ``2**n - 1`` (the empty coalition left out).
        """
        players = list(players)
        n = len(players)
        if n > MAX_DENSE_PLAYERS:
            raise ValueError(f"at most {MAX_DENSE_PLAYERS} players in an explicit game")
        vec = np.asarray(values, dtype=float).ravel()
        if vec.size == (1 << n) - 1:
            vec = np.r_[0.0, vec]
        if vec.size != 1 << n:
            raise ValueError(f"{n} players need 2**n = {1 << n} values, got {vec.size}")
        if vec[0] != 0.0:
            raise ValueError("the empty coalition must have value 0")
        if not np.all(np.isfinite(vec)):
            raise ValueError(
                f"non-finite value for coalition mask {int(np.argmin(np.isfinite(vec)))}"
            )
        return cls._from_vector(players, vec.copy(), kind)

    @classmethod
    def from_function(
        cls,
        players: Sequence[Hashable],
        func: Callable[[frozenset], float],
        kind: str = "savings",
    ) -> Game:
        """Build a lazy game whose values are computed on demand and cached.

        Parameters
        ----------
        players
            Player names, in order.
        func
            ``func(coalition) -> value`` for a non-empty ``frozenset`` of player names.
        kind
            As in :class:`Game`.

        Notes
        -----
        Only :func:`shapley` with ``samples`` evaluates just the coalitions it needs;
        other methods evaluate all ``2**n - 1`` coalitions (at most
        :data:`MAX_DENSE_PLAYERS` players).
        """
        game = cls.__new__(cls)
        game._init_players(list(players), _check_kind(kind))
        game._v = None
        game._func = func
        return game

    @classmethod
    def from_costs(
        cls, costs: Mapping[Any, float], players: Sequence[Hashable] | None = None
    ) -> Game:
        """Build the savings game ``v(S) = sum_{i in S} c({i}) - c(S)`` from coalition costs.

        The stand-alone costs are kept in :attr:`standalone_costs` so that savings
        shares can be turned back into cost shares with :meth:`to_cost_shares`.
        """
        return cls(costs, kind="cost", players=players).savings_game()

    # -- properties -------------------------------------------------------------------------

    @property
    def players(self) -> list:
        """Player names, in the order of the bitmask (bit ``k`` is ``players[k]``)."""
        return list(self._players)

    @property
    def n(self) -> int:
        """Number of players."""
        return self._n

    @property
    def kind(self) -> str:
        """``"savings"``, ``"profit"`` or ``"cost"``."""
        return self._kind

    @property
    def is_cost(self) -> bool:
        """True for a cost game (less is better)."""
        return self._kind == "cost"

    @property
    def grand_value(self) -> float:
        """Value (or cost) of the grand coalition."""
        return self._value_mask((1 << self._n) - 1)

    @property
    def standalone_costs(self) -> pd.Series | None:
        """Stand-alone costs ``c({i})``: for a cost game, or a savings game built from costs."""
        if self._kind == "cost":
            sc = np.array([self._value_mask(1 << i) for i in range(self._n)])
        elif self._standalone is not None:
            sc = self._standalone
        else:
            return None
        return pd.Series(sc, index=self._index_obj(), name="standalone_cost")

    # -- values -------------------------------------------------------------------------

    def _mask(self, coalition: Any) -> int:
        mask = 0
        for p in _as_coalition(coalition):
            try:
                mask |= 1 << self._index[p]
            except KeyError:
                raise ValueError(
                    f"unknown player {p!r} (players: {list(self._players)!r})"
                ) from None
        return mask

    def _coalition(self, mask: int) -> tuple:
        return tuple(self._players[i] for i in _members(int(mask), self._n))

    def _label(self, mask: int) -> str:
        return "{" + ", ".join(repr(p) for p in self._coalition(mask)) + "}"

    def _index_obj(self) -> pd.Index:
        return pd.Index(list(self._players), name="player")

    def _value_mask(self, mask: int) -> float:
        mask = int(mask)
        if mask == 0:
            return 0.0
        if self._v is not None:
            return float(self._v[mask])
        if mask not in self._cache:
            assert self._func is not None
            val = float(self._func(frozenset(self._coalition(mask))))
            if not math.isfinite(val):
                raise ValueError(f"value of coalition {self._label(mask)} is not finite: {val}")
            self._cache[mask] = val
        return self._cache[mask]

    def _dense(self) -> np.ndarray:
        """The full value vector indexed by bitmask (evaluates a lazy game fully)."""
        if self._v is None:
            if self._n > MAX_DENSE_PLAYERS:
                raise ValueError(
                    f"{self._n} players: this method needs all 2**n coalition values "
                    f"(at most {MAX_DENSE_PLAYERS} players); use shapley(game, samples=...)"
                )
            vec = np.empty(1 << self._n)
            vec[0] = 0.0
            for mask in range(1, 1 << self._n):
                vec[mask] = self._value_mask(mask)
            self._v = vec
        return self._v

    def value(self, coalition: Any) -> float:
        """Value (or cost) of a coalition given as an iterable of players or one player name."""
        return self._value_mask(self._mask(coalition))

    def to_series(self) -> pd.Series:
        """All coalition values as a Series indexed by coalition tuples (bitmask order)."""
        vec = self._dense()
        idx = [self._coalition(m) for m in range(1, 1 << self._n)]
        index = pd.Index(idx, dtype=object, tupleize_cols=False, name="coalition")
        return pd.Series(vec[1:], index=index, name=self._kind)

    # -- conversions ------------------------------------------------------------------------

    def savings_game(self) -> Game:
        """The savings version of a cost game (``v(S) = sum c({i}) - c(S)``); else itself."""
        if self._kind != "cost":
            return self
        sc = np.array([self._value_mask(1 << i) for i in range(self._n)])
        if self._v is not None:
            game = Game._from_vector(self._players, _additive(sc) - self._v, "savings")
        else:
            cost_game = self

            def saving(coalition: frozenset) -> float:
                mask = cost_game._mask(coalition)
                total = sum(sc[i] for i in _members(mask, cost_game._n))
                return float(total - cost_game._value_mask(mask))

            game = Game.from_function(self._players, saving, kind="savings")
        game._standalone = sc
        return game

    def to_cost_shares(self, x: pd.Series | Mapping[Hashable, float]) -> pd.Series:
        """Turn savings shares of a game built from costs into cost shares ``c({i}) - x_i``."""
        sc = self.standalone_costs
        if sc is None:
            raise ValueError("no stand-alone costs: the game was not built from costs")
        if self._kind == "cost":
            raise ValueError("a cost game's allocations are already cost shares")
        xv = _as_allocation(self, x)
        name = x.name if isinstance(x, pd.Series) else None
        return pd.Series(sc.to_numpy() - xv, index=self._index_obj(), name=name)

    def __repr__(self) -> str:
        lazy = ", lazy" if self._v is None else ""
        return f"Game(kind={self._kind!r}, players={list(self._players)!r}{lazy})"


def _check_kind(kind: str) -> str:
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    return kind


def _as_allocation(game: Game, x: Any) -> np.ndarray:
    """An allocation (Series/mapping by player, or sequence in player order) as a vector."""
    if isinstance(x, pd.Series):
        missing = [p for p in game._players if p not in x.index]
        if missing:
            raise ValueError(f"allocation has no entry for players {missing!r}")
        return x.loc[list(game._players)].to_numpy(dtype=float)
    if isinstance(x, Mapping):
        try:
            return np.array([float(x[p]) for p in game._players])
        except KeyError as err:
            raise ValueError(f"allocation has no entry for player {err.args[0]!r}") from None
    arr = np.asarray(x, dtype=float).ravel()
    if arr.size != game.n:
        raise ValueError(f"allocation has {arr.size} entries for {game.n} players")
    return arr


def _series(game: Game, values: np.ndarray, name: str) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float), index=game._index_obj(), name=name)


def _savings_vector(game: Game) -> tuple[np.ndarray, np.ndarray | None]:
    """Dense savings vector of the game, and the stand-alone costs if it is a cost game."""
    v = game._dense()
    if game.is_cost:
        sc = v[1 << np.arange(game.n)]
        return _additive(sc) - v, sc
    return v, None


def _scale_of(v: np.ndarray) -> float:
    s = float(np.max(np.abs(v))) if v.size else 0.0
    return s if s > 0 else 1.0


# --------------------------------------------------------------------------- LP machinery


class _LP:
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

    def add_rows(self, a: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Add dense rows; return their row indices."""
        a = np.atleast_2d(np.asarray(a, dtype=float))
        m = a.shape[0]
        if m == 0:
            return np.zeros(0, dtype=np.int64)
        rows, cols = np.nonzero(a)
        starts = np.searchsorted(rows, np.arange(m)).astype(np.int32)
        self.h.addRows(
            m,
            np.asarray(lo, dtype=float),
            np.asarray(hi, dtype=float),
            len(cols),
            starts,
            cols.astype(np.int32),
            a[rows, cols],
        )
        idx = np.arange(self.nrow, self.nrow + m)
        self.nrow += m
        return idx

    def solve(self) -> None:
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
        return float(self.h.getInfo().objective_function_value)


class _CoalitionLP(_LP):
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

    def add_other_rows(self, a: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        idx = self.add_rows(a, lo, hi)
        self.row_mask.extend([-1] * len(idx))
        return idx

    def add_coalitions(self, masks: Iterable[int]) -> np.ndarray:
        masks = np.unique(np.asarray(list(masks), dtype=np.int64))
        masks = masks[np.isfinite(self.candidate_v[masks])]
        if masks.size == 0:
            return np.zeros(0, dtype=np.int64)
        a = np.zeros((masks.size, self.ncol))
        a[:, : self.n] = _bits(masks, self.n)
        if self.t_col is not None:
            a[:, self.t_col] = 1.0
        idx = self.add_rows(a, self.v[masks] - self.shift, np.full(masks.size, _INF))
        self.row_mask.extend(int(m) for m in masks)
        self.candidate_v[masks] = -np.inf
        return idx

    def excess_slack(self) -> np.ndarray:
        """``v(S) - shift - x(S) - t`` for every coalition still to be generated."""
        slack = self.candidate_v - _additive(self.x[: self.n]) - self.shift
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
                viol = np.flatnonzero(slack > _TOL_VIOL)
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


def _initial_coalitions(v: np.ndarray, n: int, x0: np.ndarray, k: int) -> np.ndarray:
    """Singletons, their complements and the ``k`` coalitions of largest excess at ``x0``."""
    full = (1 << n) - 1
    single = 1 << np.arange(n, dtype=np.int64)
    masks = [single, full ^ single]
    exc = v - _additive(x0)
    exc[0] = exc[full] = -np.inf
    if exc.size > k:
        masks.append(np.argpartition(exc, -k)[-k:])
    else:
        masks.append(np.arange(exc.size))
    out = np.unique(np.concatenate(masks))
    return out[(out != 0) & (out != full)]


# --------------------------------------------------------------------------- Shapley value


def shapley(game: Game, samples: int | None = None, seed: int | None = None) -> pd.Series:
    """Shapley value, exact or estimated by permutation sampling.

    Parameters
    ----------
    game
        The game. For a cost game the result is cost shares (Shapley is linear).
    samples
        ``None`` for the exact value (subset formula over all ``2**n`` coalitions).
        Otherwise the number of random player orders: only the coalitions they touch
        are evaluated, so this works with :meth:`Game.from_function` for many players.
    seed
        Seed of the random orders (``numpy.random.default_rng``).

    Returns
    -------
    pandas.Series
        Shares by player (units of the game's values), named ``"shapley"``. With
        ``samples``, ``attrs`` holds ``"stderr"`` (standard error of each estimate),
        ``"ci_low"`` and ``"ci_high"`` (95% normal interval, estimate +/- 1.96
        stderr), each a plain ``{player: float}`` dict (so that pandas can still
        concatenate results), and ``"samples"``. :func:`shapley_table` collects them
        in a DataFrame. Every sampled order splits ``v(N)`` exactly, so the estimate
        is efficient.
    """
    if samples is not None:
        return _shapley_sampled(game, int(samples), seed)
    n = game.n
    v = game._dense()
    pc = _popcount(n)
    f = np.array([math.factorial(k) for k in range(n + 1)], dtype=float)
    weights = f[:n] * f[n - 1 :: -1] / f[n]  # |S|! (n-|S|-1)! / n! for |S| = 0..n-1
    phi = np.empty(n)
    for i in range(n):
        block = 1 << i
        v3 = v.reshape(-1, 2, block)
        marginal = v3[:, 1, :] - v3[:, 0, :]
        sizes = pc.reshape(-1, 2, block)[:, 0, :]
        phi[i] = float(np.sum(weights[sizes] * marginal))
    return _series(game, phi, "shapley")


def _shapley_sampled(game: Game, samples: int, seed: int | None) -> pd.Series:
    n = game.n
    if samples < 2:
        raise ValueError("samples must be at least 2")
    if n > 62:
        raise ValueError("sampled Shapley supports at most 62 players")
    rng = np.random.default_rng(seed)
    chunk = max(1, min(samples, (1 << 20) // max(n, 1)))
    count = 0
    mean = np.zeros(n)
    m2 = np.zeros(n)
    base = np.tile(np.arange(n), (chunk, 1))
    done = 0
    while done < samples:
        k = min(chunk, samples - done)
        perms = rng.permuted(base[:k], axis=1)
        masks = np.cumsum(np.left_shift(np.int64(1), perms.astype(np.int64)), axis=1)
        if game._v is not None:
            vals = game._v[masks]
        else:
            uniq, inv = np.unique(masks, return_inverse=True)
            uvals = np.array([game._value_mask(int(m)) for m in uniq])
            vals = uvals[inv.reshape(masks.shape)]
        marg = np.diff(vals, axis=1, prepend=0.0)
        contrib = np.empty_like(marg)
        np.put_along_axis(contrib, perms, marg, axis=1)
        # merge chunk statistics (Chan et al.)
        c_mean = contrib.mean(axis=0)
        c_m2 = ((contrib - c_mean) ** 2).sum(axis=0)
        total = count + k
        delta = c_mean - mean
        mean = mean + delta * k / total
        m2 = m2 + c_m2 + delta**2 * count * k / total
        count = total
        done += k
    stderr = np.sqrt(m2 / (count - 1) / count)
    out = _series(game, mean, "shapley")
    out.attrs["samples"] = count
    for key, arr in (
        ("stderr", stderr),
        ("ci_low", mean - 1.96 * stderr),
        ("ci_high", mean + 1.96 * stderr),
    ):
        # plain dicts, not Series: pandas compares attrs when concatenating
        out.attrs[key] = {p: float(a) for p, a in zip(game._players, arr, strict=True)}
    return out


def shapley_table(estimate: pd.Series) -> pd.DataFrame:
    """DataFrame (estimate, stderr, ci_low, ci_high) of a sampled :func:`shapley` result."""
    if "stderr" not in estimate.attrs:
        raise ValueError("not a sampled Shapley estimate (no stderr in attrs)")
    table = pd.DataFrame({"estimate": estimate.to_numpy()}, index=estimate.index)
    for key in ("stderr", "ci_low", "ci_high"):
        table[key] = [estimate.attrs[key][p] for p in estimate.index]
    return table


# --------------------------------------------------------------------------- nucleolus


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
        return np.linalg.norm(self.residual(a), axis=1) <= _TOL_SPAN

    def add(self, a: np.ndarray, rhs: float) -> bool:
        """Add ``a . x = rhs`` if ``a`` is independent of the basis; report whether it was."""
        r = self.residual(a)[0]
        norm = float(np.linalg.norm(r))
        if norm <= _TOL_SPAN:
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
        if lb.sum() > v[full] + _TOL_CHECK:
            raise ValueError(
                "the imputation set is empty: the stand-alone values add up to more "
                "than the grand coalition's value, so the nucleolus is undefined "
                "(use prenucleolus)"
            )
        x0 = lb + (v[full] - lb.sum()) / n
    else:
        lb = np.full(n, -_INF)
        x0 = np.full(n, v[full] / n)
    # a safe lower bound on every level: keeps restricted LPs bounded
    t_lb = -float(n * n + 4 * n + 2)
    t = n
    lp = _CoalitionLP(
        v,
        n,
        cost=np.r_[np.zeros(n), 1.0],
        lb=np.r_[lb, t_lb],
        ub=np.r_[np.full(n, _INF), _INF],
        t_col=t,
    )
    span = _Span(n)
    span.add(np.ones(n), v[full])
    lp.add_other_rows(np.r_[np.ones(n), 0.0], [v[full]], [v[full]])
    lp.add_coalitions(_initial_coalitions(v, n, x0, 4 * n))
    # LP row -> coalition mask, for the rows that still carry the excess variable
    free: dict[int, int] = {r: m for r, m in enumerate(lp.row_mask) if m > 0}
    registered = lp.nrow
    pinned = np.zeros(n, dtype=bool)
    levels: list[float] = []

    def accept(masks: np.ndarray) -> np.ndarray:
        return ~span.contains(_bits(masks, n))

    def fix_row(r: int, level: float) -> None:
        mask = free.pop(r)
        rhs = v[mask] - level
        lp.h.changeCoeff(int(r), t, 0.0)
        if span.add(_bits([mask], n)[0], rhs):
            lp.h.changeRowBounds(int(r), rhs, rhs)
        else:  # dependent: its excess is already constant, drop the row
            lp.h.changeRowBounds(int(r), -_INF, _INF)

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
            dead = rows[span.contains(_bits([free[r] for r in rows], n))]
            for r in dead:
                free.pop(int(r))
                lp.h.changeRowBounds(int(r), -_INF, _INF)
        lp.generate(accept)
        for r in range(registered, lp.nrow):
            if lp.row_mask[r] > 0:
                free[r] = lp.row_mask[r]
        registered = lp.nrow
        level = float(lp.x[t])
        levels.append(level)
        # 1) coalitions with a positive dual are tight in every optimal solution
        duals = lp.row_dual
        positive = sorted((r for r in free if duals[r] > _TOL_DUAL), key=lambda r: -duals[r])
        for r in positive:
            fix_row(r, level)
        if imputation:
            for i in np.flatnonzero(~pinned & (lp.col_dual[:n] > _TOL_DUAL)):
                pin(int(i))
        if span.rank >= n:
            break
        # 2) other coalitions tight at this solution: can they be slack at this level?
        cand_rows: list[int] = []
        if free:
            masks = np.fromiter(free.values(), dtype=np.int64)
            exc = v[masks] - _bits(masks, n) @ lp.x[:n]
            cand_rows = [r for r, e in zip(free, exc, strict=True) if e >= level - _TOL_TIGHT]
        cand_cols = (
            [int(i) for i in np.flatnonzero(~pinned & (lp.x[:n] <= lb + _TOL_TIGHT))]
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
    lp: _CoalitionLP,
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
    xub = np.where(pinned, lb, _INF)
    aux = _LP(
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
    a[:, :n] = _bits(masks, n)
    for k, r in enumerate(free):
        if r in pos:
            a[k, n + pos[r]] = -1.0
    aux.add_rows(a, np.array([lp.v[m] for m in masks]) - level, np.full(len(masks), _INF))
    # candidate bounds x_i - s_i >= lb_i
    if nc:
        b = np.zeros((nc, ncol))
        b[np.arange(nc), cand_cols] = 1.0
        b[np.arange(nc), n + nr + np.arange(nc)] = -1.0
        aux.add_rows(b, lb[cand_cols], np.full(nc, _INF))
    alive = np.ones(nr + nc, dtype=bool)
    while alive.any():
        aux.solve()
        s = aux.x[n:]
        slack = alive & (s > _TOL_SLACK)
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
    v, sc = _savings_vector(game)
    scale = _scale_of(v)
    x, levels = _nucleolus_vector(v / scale, game.n, imputation)
    x = x * scale
    if sc is not None:
        x = sc - x
    out = _series(game, x, name)
    out.attrs["excess_levels"] = [lev * scale for lev in levels]
    return out


# --------------------------------------------------------------------------- least core


def _least_core_vector(v: np.ndarray, n: int) -> tuple[np.ndarray, float]:
    """Least core point and epsilon of a scaled profit game."""
    full = (1 << n) - 1
    if n == 1:
        return np.array([v[full]]), -math.inf
    t_lb = -float(n * n + 4 * n + 2)
    lp = _CoalitionLP(
        v,
        n,
        cost=np.r_[np.zeros(n), 1.0],
        lb=np.r_[np.full(n, -_INF), t_lb],
        ub=np.full(n + 1, _INF),
        t_col=n,
    )
    lp.add_other_rows(np.r_[np.ones(n), 0.0], [v[full]], [v[full]])
    lp.add_coalitions(_initial_coalitions(v, n, np.full(n, v[full] / n), 4 * n))
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
    v, sc = _savings_vector(game)
    scale = _scale_of(v)
    x, eps = _least_core_vector(v / scale, game.n)
    x = x * scale
    if sc is not None:
        x = sc - x
    return _series(game, x, "least_core"), eps * scale


def core_is_empty(game: Game) -> bool:
    """True when no efficient allocation satisfies every coalition (least-core epsilon > 0)."""
    v, _ = _savings_vector(game)
    scale = _scale_of(v)
    _, eps = _least_core_vector(v / scale, game.n)
    return eps > _TOL_CHECK


# --------------------------------------------------------------------------- core checks


def _excess_vector(game: Game, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dissatisfaction of every coalition (positive = blocks) and the game vector."""
    v = game._dense()
    xs = _additive(x)
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
    xv = _as_allocation(game, x)
    exc, v = _excess_vector(game, xv)
    atol = tol * max(1.0, float(np.max(np.abs(v))))
    exc[0] = -np.inf
    idx = np.flatnonzero(exc > atol)
    pc = _popcount(game.n)
    order = np.lexsort((idx, pc[idx], -exc[idx]))
    idx = idx[order]
    if max_rows is not None:
        idx = idx[:max_rows]
    xs = _additive(xv)
    df = pd.DataFrame(
        {
            "coalition": pd.Series([game._coalition(int(m)) for m in idx], dtype=object),
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
    """

    in_core: bool
    efficient: bool
    efficiency_gap: float
    max_excess: float
    most_blocking: tuple | None
    n_blocking: int


def stability(
    game: Game, x: pd.Series | Mapping[Hashable, float] | Sequence[float], tol: float = 1e-7
) -> Stability:
    """Summarise the core stability of allocation ``x`` (cost shares for a cost game).

    ``tol`` is relative to ``max(1, max |v(S)|)``.
    """
    xv = _as_allocation(game, x)
    exc, v = _excess_vector(game, xv)
    atol = tol * max(1.0, float(np.max(np.abs(v))))
    gap = float(xv.sum() - v[-1])
    efficient = abs(gap) <= atol
    proper = exc[1:-1]
    if proper.size:
        k = int(np.argmax(proper))
        max_exc = float(proper[k])
        n_block = int(np.count_nonzero(proper > atol))
        most = game._coalition(k + 1) if max_exc > atol else None
    else:
        max_exc, n_block, most = -math.inf, 0, None
    return Stability(
        in_core=bool(efficient and n_block == 0),
        efficient=bool(efficient),
        efficiency_gap=gap,
        max_excess=max_exc,
        most_blocking=most,
        n_blocking=n_block,
    )


# --------------------------------------------------------------------------- tau value


def tau_value(game: Game) -> pd.Series | None:
    """Tau value (Tijs 1981), or ``None`` where it is undefined.

    Utopia payoffs ``M_i = v(N) - v(N minus i)``; minimal rights
    ``m_i = max_{S containing i} (v(S) - sum_{j in S, j != i} M_j)``. Defined when
    ``m <= M`` and ``sum m <= v(N) <= sum M`` (quasi-balanced game); then tau is
    the efficient point on the segment from ``m`` to ``M``. For a cost game it is
    computed on the savings game and returned as cost shares.
    """
    v, sc = _savings_vector(game)
    n = game.n
    full = (1 << n) - 1
    tol = _TOL_CHECK * _scale_of(v)
    big_m = v[full] - v[full ^ (1 << np.arange(n))]
    g = v - _additive(big_m)
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
    return _series(game, x, "tau")


# --------------------------------------------------------------------------- EPM


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
        w = _as_allocation(game, weights)
    if np.any(~np.isfinite(w)) or np.any(w <= 0):
        raise ValueError("EPM needs positive stand-alone costs / weights")
    v, sc_vec = _savings_vector(game)
    scale = _scale_of(v)
    vs = v / scale
    full = (1 << n) - 1
    if n == 1:
        x = np.array([vs[full]])
    else:
        _, eps = _least_core_vector(vs, n)
        shift = max(0.0, eps) + _TOL_VIOL
        lp = _CoalitionLP(
            vs,
            n,
            cost=np.r_[np.zeros(n), 1.0],
            lb=np.r_[np.full(n, -_INF), 0.0],
            ub=np.full(n + 1, _INF),
            t_col=None,
            shift=shift,
        )
        lp.add_other_rows(np.r_[np.ones(n), 0.0], [vs[full]], [vs[full]])
        ii, jj = np.nonzero(~np.eye(n, dtype=bool))
        pairs = np.zeros((ii.size, n + 1))
        pairs[np.arange(ii.size), ii] = 1.0 / w[ii]
        pairs[np.arange(ii.size), jj] = -1.0 / w[jj]
        pairs[:, n] = -1.0
        lp.add_other_rows(pairs, np.full(ii.size, -_INF), np.zeros(ii.size))
        x0 = np.full(n, vs[full] / n)
        lp.add_coalitions(_initial_coalitions(vs, n, x0, 4 * n))
        lp.generate()
        x = lp.x[:n].copy()
    x = x * scale
    if sc_vec is not None:
        x = sc_vec - x
    return _series(game, x, "epm")


# --------------------------------------------------------------------------- simple rules


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
        w = _as_allocation(game, weights)
    if np.any(~np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("proportional needs non-negative weights with a positive sum")
    return _series(game, game.grand_value * w / w.sum(), "proportional")


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
        return _series(game, np.full(n, game.grand_value / n), "equal_split")
    if basis != "savings":
        raise ValueError(f"basis must be 'value' or 'savings', got {basis!r}")
    sc = np.array([game._value_mask(1 << i) for i in range(n)])
    saving = sc.sum() - game.grand_value
    return _series(game, sc - saving / n, "equal_split")


# --------------------------------------------------------------------------- all methods


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
            else:
                res = equal_split(game)
        except ValueError:
            res = None
        cols[method] = nan.copy() if res is None else res.to_numpy(dtype=float)
    df = pd.DataFrame(cols, index=game._index_obj())
    df.attrs.update(attrs)
    return df


# --------------------------------------------------------------------------- the report


def savings_report(
    game: Game, methods: Sequence[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per member and method: stand-alone cost, allocated cost, savings; and stability.

    ``game`` is a savings game built with :meth:`Game.from_costs` (money in its units).
    Returns ``(members, stability)``: ``members`` is tidy, one row per member and method
    (columns member, method, standalone_cost, allocated_cost, savings, savings_pct);
    ``stability`` has one row per method (in_core, most_blocking, excess, efficient).
    """
    if game.standalone_costs is None:
        raise ValueError("savings_report needs a game built with Game.from_costs")
    standalone = game.standalone_costs
    table = allocate_all(game, methods)
    rows, checks = [], []
    for method in table.columns:
        shares = table[method]
        if shares.isna().any():
            checks.append({"method": method, "defined": False, "in_core": None,
                           "most_blocking": None, "excess": np.nan, "efficient": None})
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
        blocking = verdict.most_blocking
        checks.append({
            "method": method, "defined": True, "in_core": verdict.in_core,
            "most_blocking": None if blocking is None else "+".join(map(str, blocking)),
            "excess": verdict.max_excess, "efficient": verdict.efficient,
        })
    members = pd.DataFrame(rows, columns=["member", "method", "standalone_cost",
                                          "allocated_cost", "savings", "savings_pct"])
    checks_frame = pd.DataFrame(checks)
    checks_frame.attrs["grand_savings"] = game.grand_value
    checks_frame.attrs["least_core_epsilon"] = table.attrs.get("least_core_epsilon")
    return members, checks_frame
