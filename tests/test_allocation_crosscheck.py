"""Cross-check netopt.allocation against an independent implementation.

The peer is coopgame-py (PyPI ``coopgame-py``, import ``coopgame``; a Rust
library with Python bindings, MIT licence). Its explicit games take the values
of the non-empty coalitions in bitmask order, ``values[mask - 1]``, which is
our order too. Results are dicts (``nucleolus(g)["allocation"]``,
``least_core(g, domain)["epsilon"]``); ``tau_value`` raises ValueError where the
tau value is undefined, as ``nucleolus`` does for an empty imputation set.
"""

from __future__ import annotations

import numpy as np
import pytest

from netopt.allocation import (
    Game,
    core_is_empty,
    least_core,
    nucleolus,
    prenucleolus,
    shapley,
    tau_value,
)

coopgame = pytest.importorskip("coopgame")

TOL = 1e-6


def _sizes(n: int) -> np.ndarray:
    return np.array([bin(m).count("1") for m in range(1 << n)], dtype=float)


def _random_game(kind: str, n: int, seed: int) -> np.ndarray:
    """Values in bitmask order (empty coalition first)."""
    rng = np.random.default_rng(seed)
    size = _sizes(n)
    if kind == "integer":  # small integers: many ties, degenerate LPs
        v = rng.integers(-3, 6, 1 << n) * size
    elif kind == "uniform":  # Benedek et al. type-1 style: unstructured values
        v = np.round(rng.uniform(0, 100, 1 << n), 2)
    elif kind == "superadditive-ish":
        w = rng.uniform(1, 10, n)
        base = ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1) @ w
        v = np.round(base * (1 + 0.4 * rng.random(1 << n)) * np.sqrt(size / n), 3)
    elif kind == "majority":
        v = (size > n / 2).astype(float)
    else:
        raise ValueError(kind)
    v = v.astype(float)
    v[0] = 0.0
    return v


GAMES = [
    (kind, n, seed)
    for kind, sizes in [
        ("integer", (3, 5, 8, 12)),
        ("uniform", (4, 7, 10, 12)),
        ("superadditive-ish", (3, 6, 9, 12)),
        ("majority", (5, 8)),
    ]
    for seed, n in enumerate(sizes)
]


@pytest.mark.parametrize(("kind", "n", "seed"), GAMES, ids=[f"{k}-n{n}" for k, n, _ in GAMES])
def test_profit_game_matches_coopgame(kind: str, n: int, seed: int) -> None:
    v = _random_game(kind, n, seed)
    ours = Game.from_array(list(range(n)), v, kind="profit")
    peer = coopgame.Game(list(v[1:]))
    assert np.allclose(shapley(ours), coopgame.shapley(peer), atol=TOL)
    assert np.allclose(prenucleolus(ours), coopgame.prenucleolus(peer)["allocation"], atol=TOL)
    try:
        expected = coopgame.nucleolus(peer)["allocation"]
    except ValueError:  # empty imputation set
        with pytest.raises(ValueError, match="imputation set is empty"):
            nucleolus(ours)
    else:
        x = nucleolus(ours)
        assert np.allclose(x, expected, atol=TOL)
        assert coopgame.verify(peer, list(x), "imputation")["satisfied"]
    try:
        tau_expected = coopgame.tau_value(peer)
    except ValueError:
        assert tau_value(ours) is None
    else:
        assert np.allclose(tau_value(ours), tau_expected, atol=TOL)
    eps = coopgame.least_core(peer, "preimputation")["epsilon"]
    assert least_core(ours)[1] == pytest.approx(eps, abs=TOL)
    assert core_is_empty(ours) == (eps > TOL)


@pytest.mark.parametrize("seed", range(4))
def test_cost_game_matches_coopgame(seed: int) -> None:
    # subadditive-ish cost games: c(S) = max-based plus noise, c({i}) > 0
    rng = np.random.default_rng(50 + seed)
    n = 4 + 2 * seed
    members = (np.arange(1 << n)[:, None] >> np.arange(n)) & 1
    unit = rng.uniform(10, 50, n)
    c = np.round(members @ unit * (0.6 + 0.4 * rng.random(1 << n)), 2)
    c[1 << np.arange(n)] = np.round(unit, 2)
    c[0] = 0.0
    ours = Game.from_array(list(range(n)), c, kind="cost")
    peer = coopgame.Game(list(c[1:]))
    assert np.allclose(shapley(ours), coopgame.shapley(peer), atol=TOL)
    assert np.allclose(nucleolus(ours), coopgame.cost_nucleolus(peer), atol=TOL)


@pytest.mark.parametrize("n", [4, 7, 11])
def test_airport_game_matches_coopgame(n: int) -> None:
    # coopgame's airport() uses Littlechild-Owen for Shapley and a convex-game
    # method for the nucleolus: independent of any sequence of LPs
    rng = np.random.default_rng(n)
    runway = np.sort(rng.integers(1, 20, n)).astype(float)
    members = (np.arange(1 << n)[:, None] >> np.arange(n)) & 1
    cost = np.max(members * runway, axis=1)
    ours = Game.from_array(list(range(n)), cost, kind="cost")
    peer = coopgame.airport(list(runway))
    assert np.allclose(shapley(ours), peer["shapley"], atol=TOL)
    assert np.allclose(nucleolus(ours), peer["nucleolus"], atol=1e-6)


@pytest.mark.parametrize(
    ("estate", "claims"),
    [(100, [100, 200, 300]), (300, [100, 200, 300]), (250, [60, 90, 150, 210, 40])],
)
def test_bankruptcy_nucleolus_is_talmud_rule(estate: float, claims: list[float]) -> None:
    n = len(claims)
    d = np.asarray(claims, dtype=float)
    members = (np.arange(1 << n)[:, None] >> np.arange(n)) & 1
    v = np.maximum(0.0, estate - (1 - members) @ d)  # v(S) = (E - d(N minus S))+
    ours = Game.from_array(list(range(n)), v)
    assert np.allclose(nucleolus(ours), coopgame.talmud(estate, claims), atol=TOL)
