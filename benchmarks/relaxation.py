"""The LP relaxation of OR-Library capa, capb, capc: whole, or its linking rows lazily.

    python benchmarks/relaxation.py --cap-dir DIR --threads 2
    python benchmarks/relaxation.py --cap-dir DIR --only capc --capacities 6500

For each instance, netopt's model with its binaries relaxed, loaded into a persistent
HiGHS, is solved three ways: the whole LP by interior point (then crossover), the whole
LP by HiGHS's choice (dual simplex), and with its linking rows added as they bind
(:func:`netopt.model.relaxation.relax_with_lazy_links`: the first LP by interior point,
what netopt's starting plan runs on models over 100,000 rows). Prints a Markdown table:
seconds (loading excluded) and optimum of each, which must agree, and the linking rows
the lazy LP ended with. DIR holds capa.txt, capb.txt and capc.txt.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pyomo.environ as pyo
from pyomo.contrib.solver.common.factory import SolverFactory

from netopt.io.orlib import read_capacitated
from netopt.model.build import build_model
from netopt.model.highs import binaries
from netopt.model.network import prepare
from netopt.model.relaxation import relax_with_lazy_links
from netopt.model.solve import run_solver

CAPACITIES = {"capa": (8000, 10000, 12000, 14000), "capb": (5000, 6000, 7000, 8000),
              "capc": (5000, 5750, 6500, 7250)}


def relaxed(path: Path, capacity: float):
    """The instance's model with its binaries relaxed, loaded into a persistent HiGHS."""
    nm = build_model(prepare(read_capacitated(path, capacity)))
    for v in binaries(nm.model):
        v.domain = pyo.UnitInterval
    persistent = SolverFactory("highs")
    persistent.set_instance(nm.model)
    return nm, persistent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap-dir", type=Path, required=True)
    parser.add_argument("--only", choices=list(CAPACITIES))
    parser.add_argument("--capacities", type=float, nargs="+", default=None)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    print("| instance | whole, interior point s | whole, simplex s | lazy links s | "
          "optimum (CNY) | lazy = whole | linking rows in the lazy LP | rounds |")
    print("|---|---:|---:|---:|---:|---|---:|---:|")
    for instance in [args.only] if args.only else list(CAPACITIES):
        for capacity in args.capacities or CAPACITIES[instance]:
            path = args.cap_dir / f"{instance}.txt"
            seconds, optima = [], []
            for method in ("ipm", "choose"):
                nm, persistent = relaxed(path, capacity)
                clock = time.perf_counter()
                whole = run_solver(nm, threads=args.threads, persistent=persistent,
                                   options={"solver": method})
                seconds.append(time.perf_counter() - clock)
                optima.append(whole.objective)
            nm, persistent = relaxed(path, capacity)
            clock = time.perf_counter()
            lazy = relax_with_lazy_links(nm, persistent, threads=args.threads, method="ipm")
            seconds.append(time.perf_counter() - clock)
            same = all(abs(lazy.objective - o) <= 1e-7 * abs(o) for o in optima)
            added, total = lazy.stats["link_rows"]
            print(f"| {instance}-{capacity:g} | {seconds[0]:.1f} | {seconds[1]:.1f} | "
                  f"{seconds[2]:.1f} | {lazy['objective']:,.2f} | {'yes' if same else 'NO'} | "
                  f"{added:,} of {total:,} | {lazy['rounds']} |", flush=True)


if __name__ == "__main__":
    main()
