"""A batch of 8 specs and 255 coalition solves on 1 and 2 local workers (and Dask).

    python benchmarks/batch.py                      # 1 and 2 workers, then dask-local:2
    python benchmarks/batch.py --years 2028 2030 --no-dask

The case is a sample of the China case as notebooks/01_quickstart.ipynb builds it: one
dealer (and one candidate collection point) per city, three years, every dismantling
site, recycler and reuse outlet, all 8 members. It is written as CSV into a temporary
folder beside 8 specs that change one assumption each (solver: mip_gap 1e-4, 60 s,
1 thread). For each executor the script times, in one run:

- ``netopt.batch.run_batch`` of the 8 specs (no allocation), from start to the last
  folder written, pool start-up included;
- ``netopt.game.coalition_values`` of all 255 coalitions of the 8 members on the same
  kind of executor (no cache), start-up included.

It prints a Markdown table with the wall times and the speed-up over 1 worker, checks
that every executor gives the same objectives and coalition values, and prints the sum
of the solve times the workers reported (the work itself, without start-up and
waiting).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import platform
import tempfile
import time
from pathlib import Path

import pandas as pd

import netopt
from netopt.batch import open_executor, run_batch
from netopt.datasets import data_path
from netopt.game import coalition_values

#: The 8 specs of the batch: name -> TOML body after ``case = ...``.
SPECS = {
    "base": "",
    "high_growth": "[scale]\nsupply = 2.0\n",
    "lfp_dominant": "[scale]\nsupply = { LFP = 1.3, NMC = 0.45 }\n",
    "carbon_price": "[parameters]\ncarbon_price_cny_per_t = 200.0\n",
    "reuse_restricted": "[chemistries.LFP]\nmax_reuse_share = 0.05\n"
                        "[chemistries.NMC]\nmax_reuse_share = 0.0\n",
    "collection_target": "[parameters]\ncollection_rate_target = 0.9\n",
    "outsourcing_dear": "[scale]\noutsourcing_cost = 1.5\n",
    "low_metal_prices": "[scale]\nrecycling_revenue = 0.8\n",
}
SOLVER = "[solver]\ntime_limit = 60\nmip_gap = 1e-4\nthreads = 1\n"


def sample(case: netopt.Case, years: list[int], dealers_per_city: int = 1) -> netopt.Case:
    """One dealer and one candidate collection point per city, the given years."""
    sources = case.sources.groupby("info_city").head(dealers_per_city)
    outlets = case.collection_points
    outlets = outlets[outlets["info_city"].isin(sources["info_city"])]
    outlets = outlets.groupby("info_city").head(dealers_per_city)
    supply = case.supply[case.supply["source_id"].isin(sources.index)
                         & case.supply["year"].isin(years)]
    return case.replace(years=list(years), sources=sources, collection_points=outlets,
                        supply=supply.reset_index(drop=True))


def write_case(case: netopt.Case, folder: Path) -> Path:
    """The case as a folder of CSV tables that netopt.load_case reads back."""
    folder.mkdir(parents=True, exist_ok=True)
    for table in ("members", "chemistries", "sources", "collection_points",
                  "dismantling_sites", "recyclers", "reuse_outlets"):
        getattr(case, table).reset_index().to_csv(folder / f"{table}.csv", index=False)
    for table in ("supply", "dismantling_levels", "distances", "road_edges"):
        frame = getattr(case, table)
        if frame is not None:
            frame.to_csv(folder / f"{table}.csv", index=False)
    if case.road_nodes is not None:
        case.road_nodes.reset_index().to_csv(folder / "road_nodes.csv", index=False)
    pd.DataFrame({"year": case.years}).to_csv(folder / "periods.csv", index=False)
    pd.DataFrame({"parameter": list(case.parameters),
                  "value": [str(v).lower() if isinstance(v, bool) else v
                            for v in case.parameters.values()]}).to_csv(
        folder / "parameters.csv", index=False)
    return folder


def time_batch(specs: Path, out: Path, executor: str) -> tuple[float, pd.DataFrame, float]:
    start = time.perf_counter()
    table = run_batch([specs], executor=executor, out=out, progress=False, cache=False)
    wall = time.perf_counter() - start
    failed = table.loc[~table["ok"], "spec"].tolist()
    if failed:
        raise SystemExit(f"specs failed on {executor}: {failed}")
    worker = 0.0
    for name in table["spec"]:
        record = pd.read_json(out / name / "run.json", typ="series")
        worker += float(record["timings_s"]["worker_s"])
    return wall, table, worker


def time_coalitions(case: netopt.Case, executor: str) -> tuple[float, pd.Series]:
    start = time.perf_counter()
    with open_executor(executor, tasks=255) as (pool, _label):
        values = coalition_values(case, executor=pool, progress=False, mip_gap=1e-4,
                                  time_limit=60, threads=1)
    return time.perf_counter() - start, values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, nargs=2, default=[2031, 2033],
                        metavar=("FIRST", "LAST"), help="the sample's years (3 by default)")
    parser.add_argument("--dealers-per-city", type=int, default=1)
    parser.add_argument("--no-dask", action="store_true", help="skip dask-local:2")
    args = parser.parse_args()

    china = netopt.load_case(data_path("china"))
    years = list(range(args.years[0], args.years[1] + 1))
    case = sample(china, years, args.dealers_per_city)
    executors = ["local:1", "local:2"] + ([] if args.no_dask else ["dask-local:2"])
    with tempfile.TemporaryDirectory(prefix="netopt-bench-batch-") as tmp:
        root = Path(tmp)
        case_dir = write_case(case, root / "case")
        loaded = netopt.load_case(case_dir)
        specs = root / "specs"
        specs.mkdir()
        for name, body in SPECS.items():
            (specs / f"{name}.toml").write_text(f'case = "../case"\n{body}{SOLVER}')
        summary = loaded.summary()
        print(f"sample of data/china: {summary['members']} members, {summary['sources']} "
              f"sources, {summary['collection_points']} collection candidates, "
              f"{summary['dismantling_sites']} dismantling sites, years {summary['years']}, "
              f"{summary['supply_t']:,.0f} t; {len(SPECS)} specs, "
              f"{2 ** summary['members'] - 1} coalitions")
        print(f"machine: {multiprocessing.cpu_count()} cores, Python "
              f"{platform.python_version()}\n")
        rows, tables, values = [], {}, {}
        for executor in executors:
            batch_s, tables[executor], worker_s = time_batch(
                specs, root / f"out-{executor.replace(':', '-')}", executor)
            coalition_s, values[executor] = time_coalitions(loaded, executor)
            solve_s = float(values[executor].attrs["records"]["seconds"].sum())
            rows.append({"executor": executor, "batch_s": batch_s, "batch_work_s": worker_s,
                         "coalitions_s": coalition_s, "coalition_work_s": solve_s})
            print(f"{executor}: batch {batch_s:.1f} s (solves {worker_s:.1f} s), "
                  f"coalitions {coalition_s:.1f} s (solves {solve_s:.1f} s)", flush=True)

    first = executors[0]
    for executor in executors[1:]:
        a, b = tables[first].set_index("spec"), tables[executor].set_index("spec")
        same_objective = all(math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-6)
                             for x, y in zip(a["total_cost_cny"], b["total_cost_cny"]))
        same_values = all(math.isclose(values[first][c], values[executor][c], rel_tol=1e-9,
                                       abs_tol=1e-6) for c in values[first].index)
        print(f"{executor} vs {first}: same objectives {same_objective}, same coalition "
              f"values {same_values}")
    base = rows[0]
    print()
    print("| executor | batch of 8 specs (s) | speed-up | 255 coalition solves (s) | "
          "speed-up | both (s) | speed-up |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        both = row["batch_s"] + row["coalitions_s"]
        base_both = base["batch_s"] + base["coalitions_s"]
        print(f"| {row['executor']} | {row['batch_s']:.1f} | "
              f"{base['batch_s'] / row['batch_s']:.2f}x | {row['coalitions_s']:.1f} | "
              f"{base['coalitions_s'] / row['coalitions_s']:.2f}x | {both:.1f} | "
              f"{base_both / both:.2f}x |")
    print()
    print("Wall times include starting the workers (spawned processes, or a Dask "
          "LocalCluster) and building one model per worker for the coalition solves; the "
          f"solves themselves took {base['batch_work_s']:.1f} s (specs) and "
          f"{base['coalition_work_s']:.1f} s (coalitions) of worker time on {first}.")


if __name__ == "__main__":
    main()
