"""The savings game on the default China case: coalitions of every size, solved as
``netopt allocate data/china`` solves them (each coalition's own case, its years apart,
then the search from their plan; one thread each, ``--time-limit`` seconds each).

A sample of coalitions of each size (all of them when there are few) is valued on a
local pool of ``--workers`` processes; the table gives, by size, how many coalitions
there are, how many were solved, their median seconds and gap, and the largest gap. The
last line estimates the whole game's wall time: each size's median seconds times its
number of coalitions, over the workers.

    python benchmarks/game_china.py --time-limit 120 --mip-gap 0.01 --per-size 3

Coalitions with no sources (the recyclers' and the battery maker's alone) have nothing
to ship and cost nothing; they count with their own (short) times.
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
import statistics
import time

import netopt
from netopt.datasets import data_path
from netopt.game import coalition_values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--mip-gap", type=float, default=0.01)
    parser.add_argument("--per-size", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    case = netopt.load_case(data_path("china"))
    members = case.member_ids
    rng = random.Random(args.seed)
    by_size = {size: list(itertools.combinations(members, size))
               for size in range(1, len(members) + 1)}
    sample = [c for size, all_of_size in by_size.items()
              for c in (all_of_size if len(all_of_size) <= args.per_size
                        else rng.sample(all_of_size, args.per_size))]
    clock = time.perf_counter()
    values = coalition_values(case, sample, workers=args.workers, progress=False,
                              time_limit=args.time_limit, mip_gap=args.mip_gap)
    wall = time.perf_counter() - clock
    records = values.attrs["records"]
    print(f"time limit {args.time_limit:g} s per coalition, mip gap {args.mip_gap:g}, "
          f"{args.workers} workers; {len(sample)} coalitions in {wall:,.0f} s\n")
    print("| coalition | status | cost M | bound M | gap | s |")
    print("|---|---|---:|---:|---:|---:|")
    for row in records.itertuples():
        print(f"| {'+'.join(row.coalition)} | {row.status} | {row.cost_cny / 1e6:,.2f} | "
              f"{row.bound_cny / 1e6:,.2f} | {row.gap:.4f} | {row.seconds:,.1f} |")
    print("\n| size | coalitions | solved | median s | median gap | largest gap |")
    print("|---:|---:|---:|---:|---:|---:|")
    estimate = 0.0
    for size, all_of_size in by_size.items():
        rows = records[records["size"] == size]
        seconds = statistics.median(rows["seconds"])
        gaps = [g if math.isfinite(g) else math.inf for g in rows["gap"]]
        estimate += seconds * len(all_of_size)
        print(f"| {size} | {len(all_of_size)} | {len(rows)} | {seconds:,.1f} | "
              f"{statistics.median(gaps):.4f} | {max(gaps):.4f} |")
    print(f"\nestimated whole game: {estimate / args.workers / 60:,.0f} min on "
          f"{args.workers} workers")


if __name__ == "__main__":
    main()
