"""Core benchmark: netopt's build/solve/extract times beside raw highspy, in one run.

For each case: ``netopt.solve`` (prepare + build + solve + extract), then the identical
formulation (the same pyomo model written as MPS) read and solved by highspy directly.
Both runs use the same MIP gap, time limit and thread count.

    python benchmarks/core.py                       # default China case and capa x 4
    python benchmarks/core.py --only default --repeat 3
    python benchmarks/core.py --only capa --time-limit 300

Prints a Markdown table (medians over --repeat runs) for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import highspy

import netopt
from netopt.datasets import data_path
from netopt.io import orlib
from netopt.model.build import build_model
from netopt.model.network import prepare

#: capa (OR-Library, Beasley 1988): benchmarks/data/orlib/README.md
REFERENCE = Path(__file__).resolve().parent / "data" / "orlib"
CAPA = {8000: 19240822.449, 10000: 18438046.543, 12000: 17765201.949, 14000: 17160439.012}


def cases(only: str | None):
    if only in (None, "default"):
        yield "default (China)", netopt.load_case(data_path("china")), None
    if only in (None, "capa"):
        for capacity, optimum in CAPA.items():
            yield f"capa-{capacity}", orlib.read_capacitated(REFERENCE / "cap" / "capa.txt",
                                                           capacity), optimum


def raw_highspy(case, *, mip_gap: float, time_limit: float, threads: int | None) -> dict:
    """Write the identical pyomo model as MPS, read and solve it with highspy alone."""
    nm = build_model(prepare(case))
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "model.mps")
        nm.model.write(path, format="mps", io_options={"symbolic_solver_labels": False})
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        start = time.perf_counter()
        h.readModel(path)
        read = time.perf_counter() - start
        return {"read_s": read, **run_highs(h, mip_gap=mip_gap, time_limit=time_limit,
                                            threads=threads)}


def run_highs(h: highspy.Highs, *, mip_gap: float, time_limit: float,
              threads: int | None, options: dict | None = None) -> dict:
    """Solve the model loaded in ``h``: seconds, objective, bound, gap and status.

    ``options``: more HiGHS options by name (e.g. ``random_seed``)."""
    h.setOptionValue("mip_rel_gap", mip_gap)
    h.setOptionValue("time_limit", float(time_limit))
    if threads:
        h.setOptionValue("threads", threads)
    for name, value in (options or {}).items():
        h.setOptionValue(name, value)
    start = time.perf_counter()
    h.run()
    solve = time.perf_counter() - start
    info = h.getInfo()
    return {"solve_s": solve, "objective": info.objective_function_value,
            "bound": info.mip_dual_bound, "gap": info.mip_gap,
            "status": h.modelStatusToString(h.getModelStatus())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["default", "capa"])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--mip-gap", type=float, default=1e-4)
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    print("| case | netopt build s | netopt solve s | netopt extract s | netopt total s | "
          "gap | raw highspy solve s | raw gap | total / raw | objective | published |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, case, optimum in cases(args.only):
        ours, raw = [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            plan = netopt.solve(case, mip_gap=args.mip_gap, time_limit=args.time_limit,
                                threads=args.threads)
            total = time.perf_counter() - start
            ours.append((plan, total))
            raw.append(raw_highspy(case, mip_gap=args.mip_gap, time_limit=args.time_limit,
                                   threads=args.threads))
        med = statistics.median

        def timing(key: str, ours=ours) -> float:
            return statistics.median([p.timings.get(key, 0.0) for p, _ in ours])

        build = timing("prepare_s") + timing("build_s")
        total = med([t for _, t in ours])
        raw_solve = med([r["solve_s"] for r in raw])
        plan = ours[-1][0]
        published = f"{optimum:,.3f}" if optimum else "-"
        print(f"| {name} | {build:.2f} | {timing('solve_s'):.2f} | {timing('extract_s'):.2f} "
              f"| {total:.2f} | {plan.gap:.2e} | {raw_solve:.2f} | {raw[-1]['gap']:.2e} | "
              f"{total / raw_solve:.2f} | {plan.objective:,.3f} | {published} |", flush=True)


if __name__ == "__main__":
    main()
