"""One year of a scaled China case: its sites chosen three ways, then its points whole.

For ``--year`` of ``china_case(n_dealers=N)`` (sites sized by the tonne), one thread:

- ``lp``: the year's LP (every opening fractional), its sites held open where their
  relaxed opening reaches ``--threshold`` and shut elsewhere, then the year's MIP;
- ``points relaxed``: the year's MIP with the collection points' openings relaxed (the
  sites whole), its sites held, then the year's MIP;
- ``whole``: the year's MIP as it is.

Each MIP gets ``--time-limit`` seconds and stops at a gap of ``--mip-gap``. Prints each
way's plan, bound and seconds (CNY million, not discounted).

    python benchmarks/year_sites_rounded.py --dealers 10000 --year 2030 --threshold 0.5 0.3
"""

from __future__ import annotations

import argparse
import time

import pyomo.environ as pyo

from netopt.case import case_from_frames
from netopt.generate import china_case
from netopt.model.bounds import year_case
from netopt.model.build import NetworkModel, build_model
from netopt.model.forward import hold_sites_as_rounded
from netopt.model.highs import binaries, run_solver
from netopt.model.network import prepare


def _held_then_whole(nm: NetworkModel, relax: list, args: argparse.Namespace,
                     threshold: float) -> tuple[str, float]:
    """Solve ``nm`` with the variables ``relax`` fractional, hold its sites as that
    solve opens them (at ``threshold``), then solve it whole: a printed row, seconds."""
    clock = time.perf_counter()
    for v in relax:
        v.domain = pyo.UnitInterval
    first = run_solver(nm, time_limit=args.time_limit, mip_gap=args.mip_gap, threads=1)
    for v in relax:
        v.domain = pyo.Binary
    # an LP's optimum is its bound; a MIP's is HiGHS's dual bound
    bound = first.objective if len(relax) == len(binaries(nm.model)) else first.bound
    opened = hold_sites_as_rounded(nm, threshold)
    held = run_solver(nm, time_limit=args.time_limit, mip_gap=args.mip_gap, threads=1)
    for v in nm.model.site_open.values():
        v.unfix()
    seconds = time.perf_counter() - clock
    return (f"{first.status}, {bound / 1e6:,.2f} | {opened} | {held.status} | "
            f"{held.objective / 1e6:,.2f} | {held.bound / 1e6:,.2f}"), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dealers", type=int, default=10000)
    parser.add_argument("--year", type=int, default=2030)
    parser.add_argument("--threshold", type=float, nargs="+", default=[0.5])
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--mip-gap", type=float, default=0.005)
    parser.add_argument("--ways", nargs="+", default=["lp", "points relaxed", "whole"],
                        choices=["lp", "points relaxed", "whole"])
    args = parser.parse_args()
    case = case_from_frames(china_case(n_dealers=args.dealers), name=f"china-{args.dealers}")
    print(f"{args.dealers} dealers, {args.year}, MIPs {args.time_limit:g} s at most\n")
    print("| way | first solve: status, bound M | sites open | held: status | plan M "
          "| bound M | seconds |")
    print("|---|---|---:|---|---:|---:|---:|")
    for way in args.ways:
        for threshold in (args.threshold if way == "lp" else [0.5]):
            nm = build_model(prepare(year_case(case, args.year)))
            if way == "whole":
                clock = time.perf_counter()
                whole = run_solver(nm, time_limit=args.time_limit, mip_gap=args.mip_gap,
                                   threads=1)
                print(f"| whole | | | {whole.status} | {whole.objective / 1e6:,.2f} | "
                      f"{whole.bound / 1e6:,.2f} | {time.perf_counter() - clock:.0f} |",
                      flush=True)
                continue
            relax = binaries(nm.model) if way == "lp" \
                else list(nm.model.open_collection_point.values())
            row, seconds = _held_then_whole(nm, relax, args, threshold)
            name = f"lp at {threshold:g}" if way == "lp" else way
            print(f"| {name} | {row} | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
