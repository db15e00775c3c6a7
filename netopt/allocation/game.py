"""The transferable-utility game: :class:`Game` and its coalition bitmasks.

Coalitions are stored densely as a numpy vector indexed by bitmask over the players
(bit ``k`` is ``game.players[k]``), so explicit games are limited to
:data:`MAX_DENSE_PLAYERS` players; larger games are built lazily with
:meth:`Game.from_function`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

MAX_DENSE_PLAYERS = 25

_KINDS = ("savings", "profit", "cost")


def additive(w: np.ndarray) -> np.ndarray:
    """Return ``sum_{i in S} w_i`` for every bitmask ``S`` (length ``2**len(w)``)."""
    out = np.zeros(1)
    for wi in np.asarray(w, dtype=float):
        out = np.concatenate([out, out + wi])
    return out


_POPCOUNT_CACHE: dict[int, np.ndarray] = {}


def coalition_sizes(n: int) -> np.ndarray:
    """Return the number of players in every bitmask over ``n`` players."""
    if n not in _POPCOUNT_CACHE:
        out = np.zeros(1, dtype=np.int8)
        for _ in range(n):
            out = np.concatenate([out, out + 1])
        _POPCOUNT_CACHE.clear()
        _POPCOUNT_CACHE[n] = out
    return _POPCOUNT_CACHE[n]


def incidence(masks: np.ndarray | Sequence[int], n: int) -> np.ndarray:
    """Return the 0/1 incidence matrix (``len(masks)`` x ``n``) of the bitmasks."""
    m = np.asarray(masks, dtype=np.int64).reshape(-1, 1)
    return ((m >> np.arange(n, dtype=np.int64)) & 1).astype(float)


def _members(mask: int, n: int) -> list[int]:
    return [i for i in range(n) if (mask >> i) & 1]




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
    def is_lazy(self) -> bool:
        """True while the values are computed on demand (not all known yet)."""
        return self._v is None

    @property
    def grand_value(self) -> float:
        """Value (or cost) of the grand coalition."""
        return self.value_of_mask((1 << self._n) - 1)

    @property
    def standalone_costs(self) -> pd.Series | None:
        """Stand-alone costs ``c({i})``: for a cost game, or a savings game built from costs."""
        if self._kind == "cost":
            sc = np.array([self.value_of_mask(1 << i) for i in range(self._n)])
        elif self._standalone is not None:
            sc = self._standalone
        else:
            return None
        return pd.Series(sc, index=self.player_index(), name="standalone_cost")

    # -- values -------------------------------------------------------------------------

    def mask_of(self, coalition: Any) -> int:
        """Bitmask of a coalition (bit ``k`` set when ``players[k]`` is in it)."""
        mask = 0
        for p in _as_coalition(coalition):
            try:
                mask |= 1 << self._index[p]
            except KeyError:
                raise ValueError(
                    f"unknown player {p!r} (players: {list(self._players)!r})"
                ) from None
        return mask

    def coalition_of(self, mask: int) -> tuple:
        """Players of the coalition with this bitmask, in player order."""
        return tuple(self._players[i] for i in _members(int(mask), self._n))

    def _label(self, mask: int) -> str:
        return "{" + ", ".join(repr(p) for p in self.coalition_of(mask)) + "}"

    def player_index(self) -> pd.Index:
        """The players as a pandas Index named ``player`` (the index of allocations)."""
        return pd.Index(list(self._players), name="player")

    def value_of_mask(self, mask: int) -> float:
        """Value (or cost) of the coalition with this bitmask; 0 for the empty one."""
        mask = int(mask)
        if mask == 0:
            return 0.0
        if self._v is not None:
            return float(self._v[mask])
        if mask not in self._cache:
            assert self._func is not None
            val = float(self._func(frozenset(self.coalition_of(mask))))
            if not math.isfinite(val):
                raise ValueError(f"value of coalition {self._label(mask)} is not finite: {val}")
            self._cache[mask] = val
        return self._cache[mask]

    def dense_values(self) -> np.ndarray:
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
                vec[mask] = self.value_of_mask(mask)
            self._v = vec
        return self._v

    def value(self, coalition: Any) -> float:
        """Value (or cost) of a coalition given as an iterable of players or one player name."""
        return self.value_of_mask(self.mask_of(coalition))

    def to_series(self) -> pd.Series:
        """All coalition values as a Series indexed by coalition tuples (bitmask order)."""
        vec = self.dense_values()
        idx = [self.coalition_of(m) for m in range(1, 1 << self._n)]
        index = pd.Index(idx, dtype=object, tupleize_cols=False, name="coalition")
        return pd.Series(vec[1:], index=index, name=self._kind)

    # -- conversions ------------------------------------------------------------------------

    def savings_game(self) -> Game:
        """The savings version of a cost game (``v(S) = sum c({i}) - c(S)``); else itself."""
        if self._kind != "cost":
            return self
        sc = np.array([self.value_of_mask(1 << i) for i in range(self._n)])
        if self._v is not None:
            game = Game._from_vector(self._players, additive(sc) - self._v, "savings")
        else:
            cost_game = self

            def saving(coalition: frozenset) -> float:
                mask = cost_game.mask_of(coalition)
                total = sum(sc[i] for i in _members(mask, cost_game._n))
                return float(total - cost_game.value_of_mask(mask))

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
        xv = allocation_vector(self, x)
        name = x.name if isinstance(x, pd.Series) else None
        return pd.Series(sc.to_numpy() - xv, index=self.player_index(), name=name)

    def __repr__(self) -> str:
        lazy = ", lazy" if self._v is None else ""
        return f"Game(kind={self._kind!r}, players={list(self._players)!r}{lazy})"


def _check_kind(kind: str) -> str:
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    return kind


def allocation_vector(game: Game, x: Any) -> np.ndarray:
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


def allocation_series(game: Game, values: np.ndarray, name: str) -> pd.Series:
    """Shares by player (index :meth:`Game.player_index`), in the game's units."""
    return pd.Series(np.asarray(values, dtype=float), index=game.player_index(), name=name)


def savings_vector(game: Game) -> tuple[np.ndarray, np.ndarray | None]:
    """Dense savings vector of the game, and the stand-alone costs if it is a cost game."""
    v = game.dense_values()
    if game.is_cost:
        sc = v[1 << np.arange(game.n)]
        return additive(sc) - v, sc
    return v, None


def value_scale(v: np.ndarray) -> float:
    """The largest ``|v(S)|`` (1 when all are 0), by which the LPs scale the game."""
    s = float(np.max(np.abs(v))) if v.size else 0.0
    return s if s > 0 else 1.0

