"""The Shapley value: exact (subset formula) or estimated by sampling player orders."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from netopt.allocation.game import Game, allocation_series, coalition_sizes


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
    v = game.dense_values()
    pc = coalition_sizes(n)
    f = np.array([math.factorial(k) for k in range(n + 1)], dtype=float)
    weights = f[:n] * f[n - 1 :: -1] / f[n]  # |S|! (n-|S|-1)! / n! for |S| = 0..n-1
    phi = np.empty(n)
    for i in range(n):
        block = 1 << i
        v3 = v.reshape(-1, 2, block)
        marginal = v3[:, 1, :] - v3[:, 0, :]
        sizes = pc.reshape(-1, 2, block)[:, 0, :]
        phi[i] = float(np.sum(weights[sizes] * marginal))
    return allocation_series(game, phi, "shapley")


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
        if not game.is_lazy:
            vals = game.dense_values()[masks]
        else:
            uniq, inv = np.unique(masks, return_inverse=True)
            uvals = np.array([game.value_of_mask(int(m)) for m in uniq])
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
    out = allocation_series(game, mean, "shapley")
    out.attrs["samples"] = count
    for key, arr in (
        ("stderr", stderr),
        ("ci_low", mean - 1.96 * stderr),
        ("ci_high", mean + 1.96 * stderr),
    ):
        # plain dicts, not Series: pandas compares attrs when concatenating
        out.attrs[key] = {p: float(a) for p, a in zip(game.players, arr, strict=True)}
    return out


def shapley_table(estimate: pd.Series) -> pd.DataFrame:
    """DataFrame (estimate, stderr, ci_low, ci_high) of a sampled :func:`shapley` result."""
    if "stderr" not in estimate.attrs:
        raise ValueError("not a sampled Shapley estimate (no stderr in attrs)")
    table = pd.DataFrame({"estimate": estimate.to_numpy()}, index=estimate.index)
    for key in ("stderr", "ci_low", "ci_high"):
        table[key] = [estimate.attrs[key][p] for p in estimate.index]
    return table

