"""OR-Library capa/capb/capc: netopt beside raw highspy on the textbook strong formulation.

    python benchmarks/orlib_strong.py --time-limit 120 --threads 2
    python benchmarks/orlib_strong.py --only capa --capacities 8000 14000 --time-limit 300
    python benchmarks/orlib_strong.py --only capa --capacities 14000 --seeds 1 2
    python benchmarks/orlib_strong.py --cap-dir FOLDER --optima optima.csv more-optima.csv
    python benchmarks/orlib_strong.py --only capc --no-raw       # netopt alone

For each instance (Beasley's capacitated warehouse location files, 100 warehouses x
1,000 customers, at each of its four capacities):

- netopt: ``netopt.io.orlib.read_capacitated(path, capacity)`` then ``netopt.solve``
  (mip_gap 1e-4, the time limit, threads); "netopt total" is the wall time of both.
- raw highspy: this script parses the file itself (with the semantics of
  ``netopt/io/orlib.py``: whitespace-separated tokens; ``m n``; m pairs ``capacity
  fixed_cost`` where the literal word ``capacity`` stands for the given capacity; then per
  customer its demand and m costs of serving ALL of its demand from each warehouse;
  customers with zero demand are left out, as netopt leaves them out of the supply) and
  passes the textbook strong formulation to ``highspy.Highs().passModel`` as column-wise
  (CSC) numpy arrays::

      min  sum_j f_j y_j + sum_ij a_ij x_ij       a_ij = c_ij d_i: the file's cost as is
      s.t. sum_j x_ij = 1                           (each customer fully served)
           sum_i d_i x_ij - s_j y_j <= 0            (capacity)
           x_ij - y_j <= 0                          (strong linking)
           0 <= x_ij <= 1,  y_j in {0, 1}

  with the same mip_rel_gap (1e-4), time limit and threads; "raw total" = parse +
  arrays + passModel + solve.

capa is read from ``benchmarks/data/orlib/cap/`` (capb and capc are not shipped: give
their folder with ``--cap-dir``). Published optima are read from
``tests/data/orlib/optima.csv`` (columns set, instance, file, capacity, optimal_value,
source; OR-Library's capopt, Beasley 1988);
``--optima`` may name more CSV files of the same columns. An instance whose file is not
in ``--cap-dir`` is reported as missing, one without a published value gets "-".

Prints a Markdown table for BENCHMARKS.md (one row per instance and capacity).
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from pathlib import Path

import highspy
import numpy as np

import netopt
from netopt.io.orlib import read_capacitated

sys.path.insert(0, str(Path(__file__).resolve().parent))
from core import run_highs  # noqa: E402  (benchmarks/core.py, beside this file)

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "data" / "orlib"  # capa.txt (benchmarks/data/orlib/README.md)
OPTIMA = HERE.parent / "tests" / "data" / "orlib" / "optima.csv"
CAPACITIES = {
    "capa": [8000, 10000, 12000, 14000],
    "capb": [5000, 6000, 7000, 8000],
    "capc": [5000, 5750, 6500, 7250],
}


def read_optima(paths: list[Path]) -> dict[tuple[str, float], float]:
    """Published optimal values by (instance, capacity) from optima.csv-style files."""
    optima: dict[tuple[str, float], float] = {}
    for path in paths:
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                if row["instance"] in CAPACITIES and row["capacity"]:
                    optima[row["instance"], float(row["capacity"])] = float(row["optimal_value"])
    return optima


def parse(path: Path, capacity: float) -> tuple[np.ndarray, ...]:
    """Capacities, fixed costs, demands and customers x warehouses costs of one file."""
    tokens = path.read_text(encoding="ascii").split()
    m, n = int(tokens[0]), int(tokens[1])
    pairs = tokens[2: 2 + 2 * m]
    caps = np.array([float(capacity) if t.lower() == "capacity" else float(t)
                     for t in pairs[0::2]])
    fixed = np.array([float(t) for t in pairs[1::2]])
    body = np.array(tokens[2 + 2 * m: 2 + 2 * m + n * (m + 1)], dtype=float)
    if body.size != n * (m + 1):
        raise ValueError(f"{path.name} is truncated")
    body = body.reshape(n, m + 1)
    demand, cost = body[:, 0], body[:, 1:]
    served = demand > 0
    return caps, fixed, demand[served], cost[served]


def strong_lp(caps: np.ndarray, fixed: np.ndarray, demand: np.ndarray,
              cost: np.ndarray) -> highspy.HighsLp:
    """The textbook strong formulation as a HighsLp with a column-wise matrix.

    Columns: y_0..y_{m-1}, then x_ij at m + i m + j. Rows: assignment i (0..n-1),
    capacity j (n + j), linking (i, j) (n + m + i m + j).
    """
    n, m = cost.shape
    inf = highspy.kHighsInf
    link_rows = n + m + np.arange(n * m).reshape(n, m)  # [i, j]
    # y_j: -s_j in capacity row j, -1 in every linking row (i, j)
    y_index = np.column_stack([n + np.arange(m), link_rows.T])  # m x (1 + n)
    y_value = np.column_stack([-caps, -np.ones((m, n))])
    # x_ij: 1 in assignment row i, d_i in capacity row j, 1 in linking row (i, j)
    i_of = np.repeat(np.arange(n), m)
    j_of = np.tile(np.arange(m), n)
    x_index = np.column_stack([i_of, n + j_of, link_rows.ravel()])  # (n m) x 3
    x_value = np.column_stack([np.ones(n * m), demand[i_of], np.ones(n * m)])
    index = np.concatenate([y_index.ravel(), x_index.ravel()]).astype(np.int32)
    value = np.concatenate([y_value.ravel(), x_value.ravel()])
    start = np.concatenate([np.arange(m + 1) * (n + 1),
                            m * (n + 1) + 3 * np.arange(1, n * m + 1)]).astype(np.int32)

    lp = highspy.HighsLp()
    lp.num_col_ = m + n * m
    lp.num_row_ = n + m + n * m
    lp.col_cost_ = np.concatenate([fixed, cost.ravel()])
    lp.col_lower_ = np.zeros(lp.num_col_)
    lp.col_upper_ = np.ones(lp.num_col_)
    lp.row_lower_ = np.concatenate([np.ones(n), np.full(m + n * m, -inf)])
    lp.row_upper_ = np.concatenate([np.ones(n), np.zeros(m + n * m)])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = lp.num_col_
    lp.a_matrix_.num_row_ = lp.num_row_
    lp.a_matrix_.start_ = start
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = value
    lp.integrality_ = ([highspy.HighsVarType.kInteger] * m
                       + [highspy.HighsVarType.kContinuous] * (n * m))
    return lp


def raw_strong(path: Path, capacity: float, *, mip_gap: float, time_limit: float,
               threads: int | None, options: dict | None = None) -> dict:
    """Parse, build and solve the strong formulation with highspy alone."""
    start = time.perf_counter()
    lp = strong_lp(*parse(path, capacity))
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(lp)
    build = time.perf_counter() - start
    return {"build_s": build, **run_highs(h, mip_gap=mip_gap, time_limit=time_limit,
                                          threads=threads, options=options),
            "rows": h.getNumRow(), "cols": h.getNumCol(), "nnz": h.getNumNz()}


def _deviation(objective: float, optimum: float | None) -> str:
    if optimum is None or not math.isfinite(objective):
        return "-"
    return f"{(objective - optimum) / optimum:+.1e}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=list(CAPACITIES))
    parser.add_argument("--capacities", type=float, nargs="+", default=None,
                        help="instead of each instance's four published capacities")
    parser.add_argument("--time-limit", type=float, default=300.0, help="per solve, s")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--mip-gap", type=float, default=1e-4)
    parser.add_argument("--cap-dir", type=Path, default=REFERENCE / "cap",
                        help="folder of capa.txt, capb.txt, capc.txt")
    parser.add_argument("--optima", type=Path, nargs="+", default=[OPTIMA])
    parser.add_argument("--seeds", type=int, nargs="+", default=[None],
                        help="HiGHS random_seed values, each run on both sides "
                        "(default: HiGHS's own)")
    parser.add_argument("--no-raw", action="store_true",
                        help="netopt alone (the raw-HiGHS columns left empty)")
    args = parser.parse_args()
    optima = read_optima(args.optima)
    instances = [args.only] if args.only else list(CAPACITIES)
    print(f"time limit {args.time_limit:g} s per solve, threads {args.threads}, "
          f"mip_rel_gap {args.mip_gap:g}", file=sys.stderr)
    print("| instance | netopt total s | netopt status | netopt gap | netopt objective | "
          "raw total s | raw status | raw gap | raw objective | netopt / raw | published | "
          "netopt vs published | raw vs published |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for instance in instances:
        path = args.cap_dir / f"{instance}.txt"
        for capacity, seed in ((c, seed) for c in args.capacities or CAPACITIES[instance]
                               for seed in args.seeds):
            name = f"{instance}-{capacity:g}" + (f" seed {seed}" if seed is not None else "")
            options = {"random_seed": seed} if seed is not None else None
            if not path.exists():
                print(f"| {name} | {path} not found | | | | | | | | | | | |", flush=True)
                continue
            optimum = optima.get((instance, float(capacity)))
            start = time.perf_counter()
            case = read_capacitated(path, capacity)
            plan = netopt.solve(case, time_limit=args.time_limit, threads=args.threads,
                                mip_gap=args.mip_gap, solver_options=options)
            ours = time.perf_counter() - start
            published = f"{optimum:,.3f}" if optimum is not None else "-"
            netopt_cells = (f"| {name} | {ours:.1f} | {plan.status} | {plan.gap:.2e} | "
                            f"{plan.objective:,.3f} |")
            timings = ", ".join(f"{k} {v:.1f}" for k, v in plan.timings.items())
            if args.no_raw:
                print(f"{netopt_cells} - | - | - | - | - | {published} | "
                      f"{_deviation(plan.objective, optimum)} | - |", flush=True)
                print(f"  {name}: netopt {timings}", file=sys.stderr, flush=True)
                continue
            raw = raw_strong(path, capacity, mip_gap=args.mip_gap,
                             time_limit=args.time_limit, threads=args.threads, options=options)
            raw_total = raw["build_s"] + raw["solve_s"]
            print(f"{netopt_cells} {raw_total:.1f} | {raw['status']} | "
                  f"{raw['gap']:.2e} | {raw['objective']:,.3f} | {ours / raw_total:.2f} | "
                  f"{published} | {_deviation(plan.objective, optimum)} | "
                  f"{_deviation(raw['objective'], optimum)} |", flush=True)
            print(f"  {name}: netopt {timings}"
                  f"; raw build {raw['build_s']:.1f} s, solve {raw['solve_s']:.1f} s, "
                  f"{raw['rows']:,} rows, {raw['cols']:,} columns, {raw['nnz']:,} nonzeros",
                  file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
