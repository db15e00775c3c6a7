"""Nucleolus of random 20-player games given their values: netopt beside coopgame-py.

    python benchmarks/allocation.py --players 20 --games 3

Each game is random but superadditive-leaning (v(S) = sum of member weights times a
size bonus plus noise), the kind a savings game produces. Prints median seconds per
game for netopt.allocation.nucleolus and for coopgame-py's nucleolus (Rust), measured
in one run, and the largest difference between the two allocations.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from netopt.allocation import Game, nucleolus


def random_game(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    weights = rng.uniform(1.0, 10.0, n)
    masks = np.arange(2**n)
    bits = (masks[:, None] >> np.arange(n)) & 1
    size = bits.sum(axis=1)
    values = bits @ weights * (1 + 0.05 * size) + rng.uniform(0, 1, 2**n)
    values[0] = 0.0
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--players", type=int, default=20)
    parser.add_argument("--games", type=int, default=3)
    args = parser.parse_args()
    n = args.players
    players = [f"p{i}" for i in range(n)]
    ours, theirs, diffs = [], [], []
    for seed in range(args.games):
        values = random_game(n, seed)
        game = Game.from_array(players, values, kind="savings")
        start = time.perf_counter()
        x = nucleolus(game).to_numpy()
        ours.append(time.perf_counter() - start)
        try:
            import coopgame

            peer = coopgame.Game(list(values[1:]))  # values of masks 1 .. 2^n - 1
            start = time.perf_counter()
            y = np.asarray(coopgame.nucleolus(peer)["allocation"])
            theirs.append(time.perf_counter() - start)
            diffs.append(float(np.abs(x - y).max()))
        except (ImportError, AttributeError, TypeError):
            pass
    print(f"players {n}, games {args.games}")
    print(f"netopt nucleolus: median {statistics.median(ours):.3f} s")
    if theirs:
        print(f"coopgame-py nucleolus: median {statistics.median(theirs):.3f} s; "
              f"max |difference| {max(diffs):.2e}")


if __name__ == "__main__":
    main()
