"""Scale benchmark: model size, time and peak memory of scaled China cases (issue 6).

    python benchmarks/scale.py --dealers 700 3000 --time-limit 120 --threads 2
    python benchmarks/scale.py --dealers 10000 --time-limit 600 --threads 2
    python benchmarks/scale.py --dealers 700 --repeat 3 --plot benchmarks/scale.png

Each case is the default China case scaled by ``netopt.generate.china_case(n_dealers=N)``
(the same tables ``python -m netopt.generate FOLDER --dealers N`` writes). What grows
with N, as ``netopt/generate.py`` builds it (s = N / 713, the default case's dealers):

- sources: N dealers plus 10 ELV dismantlers (fixed);
- collection candidates: every 4th dealer of a city (about N / 4), 10 dismantler
  outlets (fixed), and ``round(s)`` storage hubs in each city with at least 15 s
  dealers: 218 / 837 / 2,734 candidates for N = 700 / 3,000 / 10,000;
- pre-treatment site candidates: 12 up to N = 713, then ``round(12 sqrt(s))`` capped at
  the 45 source cities: 12 / 25 / 45 (x 3 capacity levels each);
- fixed: the 12 recyclers, the 8 reuse outlets, the members, the 10 years 2026-2035,
  the two chemistries and the alliance's total supply (spread over more dealers).

Every case runs in a fresh Python process (``python benchmarks/scale.py --one N``), so
its peak memory is its own: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (KiB on
Linux) read in the child right after ``netopt.solve`` returns (case generation
included) and again at the child's end (after the raw-highspy run and the size count,
which build the pyomo model again). The parent also watches, in ``/proc``, the child's
VmHWM and the resident memory of the child with every process it starts (the worker
processes of the year-by-year relaxation at scale), summed each half second, and stops
the child above ``--max-rss-gb``, so that a case too big for the machine is reported as
such instead of swapping a shared machine to a halt.

In each child, in this order:

1. ``netopt.solve(case, time_limit, threads, mip_gap)``: the wall time of the call is
   "netopt total"; ``plan.timings`` splits it into prepare, build, the year-by-year and
   LP-rounding starts (``year_by_year_s``, ``heuristic_s``; models with 500+ binaries;
   their time counts against the time limit), solve and extract. Modelling overhead =
   (prepare + build + extract) / total.
2. The same model solved by raw highspy: ``benchmarks/core.py``'s ``raw_highspy`` (the
   pyomo model written as MPS without symbolic labels, read by ``highspy.Highs`` and
   solved with the same mip_rel_gap, time limit and threads). "Raw total" = MPS read +
   solve; writing the MPS is not timed. ``--no-raw`` leaves it out (its columns show
   "-"), e.g. to rerun netopt alone after a change that leaves the model as it was.
3. (First repeat only) the model's size: rows, columns, nonzeros and integer columns of
   that MPS as highspy reads it.

Prints two Markdown tables (medians over ``--repeat`` runs; status, gap and size of the
last run) for BENCHMARKS.md; ``--plot PATH`` draws time and memory against dealers.
``--json PATH`` saves every run; ``--load A.json B.json --plot PATH`` prints the tables
and draws the plot of runs made apart (e.g. 10,000 dealers with a longer time limit).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import highspy

import netopt
from netopt.case import Case, case_from_frames
from netopt.datasets import data_path
from netopt.generate import china_case
from netopt.model.build import build_model
from netopt.model.network import prepare

sys.path.insert(0, str(Path(__file__).resolve().parent))
from core import raw_highspy  # noqa: E402  (benchmarks/core.py, beside this file)

DEALERS = [700, 3000, 10000]
PHASES = ("prepare_s", "build_s", "year_by_year_s", "heuristic_s", "solve_s",
          "extract_s")


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def china(n_dealers: int | None = None) -> Case:
    """The China case scaled to ``n_dealers`` dealers, validated as ``load_case`` would;
    the default case (``data/china``) where None."""
    if n_dealers is None:
        return netopt.load_case(data_path("china"))
    return case_from_frames(china_case(n_dealers=n_dealers), name=f"china-{n_dealers}")


def model_size(case: Case) -> dict:
    """Rows, columns, nonzeros and integer columns of the model as highspy reads its MPS."""
    nm = build_model(prepare(case))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.mps"
        nm.model.write(str(path), format="mps", io_options={"symbolic_solver_labels": False})
        mps_mb = path.stat().st_size / 1e6
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.readModel(str(path))
    integrality = h.getLp().integrality_
    integers = sum(1 for v in integrality if v != highspy.HighsVarType.kContinuous)
    return {"rows": h.getNumRow(), "cols": h.getNumCol(), "nnz": h.getNumNz(),
            "integers": integers, "mps_mb": mps_mb}


def run_one(n_dealers: int, *, time_limit: float, threads: int | None, mip_gap: float,
            size: bool, raw: bool = True) -> dict:
    """One case, in this process: netopt, then raw highspy, then (optionally) the size."""
    out: dict = {"dealers": n_dealers, "time_limit": time_limit, "threads": threads}
    start = time.perf_counter()
    case = china(n_dealers)
    out["case_s"] = time.perf_counter() - start
    out["sources"] = len(case.sources)
    out["collection_points"] = len(case.collection_points)
    out["sites"] = len(case.dismantling_sites)
    out["rss_case_mib"] = peak_rss_mib()
    log(f"{n_dealers} dealers: case in {out['case_s']:.1f} s ({out['sources']} sources, "
        f"{out['collection_points']} collection candidates, {out['sites']} sites); netopt")

    start = time.perf_counter()
    plan = netopt.solve(case, time_limit=time_limit, threads=threads, mip_gap=mip_gap)
    out["netopt_total_s"] = time.perf_counter() - start
    out["rss_netopt_mib"] = peak_rss_mib()
    out.update({key: float(plan.timings.get(key, 0.0)) for key in PHASES})
    out["heuristic_used"] = "heuristic_s" in plan.timings
    out.update(status=plan.status, objective=plan.objective, bound=plan.bound, gap=plan.gap)
    log(f"netopt {plan.status} gap {plan.gap:.3g} in {out['netopt_total_s']:.1f} s "
        f"({', '.join(f'{k} {v:.1f}' for k, v in plan.timings.items())}); "
        f"peak RSS {out['rss_netopt_mib']:.0f} MiB; raw highspy")
    del plan

    if raw:
        result = raw_highspy(case, mip_gap=mip_gap, time_limit=time_limit, threads=threads)
        out.update({f"raw_{key}": value for key, value in result.items()})
        out["rss_raw_mib"] = peak_rss_mib()
        log(f"raw highspy {result['status']} gap {result['gap']:.3g}: read "
            f"{result['read_s']:.1f} s, solve {result['solve_s']:.1f} s; peak RSS "
            f"{out['rss_raw_mib']:.0f} MiB")
    else:
        out["rss_raw_mib"] = out["rss_netopt_mib"]
    if size:
        out.update(model_size(case))
        log(f"size: {out['rows']} rows, {out['cols']} columns, {out['nnz']} nonzeros, "
            f"{out['integers']} integers")
    out["rss_end_mib"] = peak_rss_mib()
    return out


def _vm_hwm_mib(pid: int) -> float | None:
    """Peak resident memory of a running process from /proc (Linux), MiB."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def _tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants now, MiB (Linux /proc)."""
    parent_of: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    # the command may hold spaces and parentheses: the fields after it
                    parent_of[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, grew = {pid}, True
    while grew:
        more = {child for child, parent in parent_of.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    total = 0.0
    for member in tree:
        try:
            with open(f"/proc/{member}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) / 1024.0
        except OSError:
            continue
    return total


def run_child(n_dealers: int, args: argparse.Namespace, size: bool) -> dict:
    """Run one case in a fresh Python process, watching its memory; its result dict."""
    with tempfile.TemporaryDirectory() as folder:
        result_path = Path(folder) / "result.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--one", str(n_dealers),
                   "--result", str(result_path), "--time-limit", str(args.time_limit),
                   "--mip-gap", str(args.mip_gap)]
        if args.threads:
            command += ["--threads", str(args.threads)]
        if not size:
            command.append("--no-size")
        if args.no_raw:
            command.append("--no-raw")
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=sys.stderr)
        peak, tree_peak, killed = 0.0, 0.0, False
        limit_mib = args.max_rss_gb * 1024.0
        while child.poll() is None:
            hwm = _vm_hwm_mib(child.pid)
            if hwm is not None:
                peak = max(peak, hwm)
            tree_peak = max(tree_peak, _tree_rss_mib(child.pid))
            peak = max(peak, tree_peak)
            if peak > limit_mib:
                child.kill()  # our own child, by its pid
                killed = True
                child.wait()
                break
            time.sleep(0.5)
        wall = time.perf_counter() - start
        if child.returncode == 0 and result_path.exists():
            result = json.loads(result_path.read_text())
            result["wall_s"] = wall
            result["watched_peak_mib"] = peak
            result["watched_tree_peak_mib"] = tree_peak
            return result
    why = (f"stopped above {args.max_rss_gb:g} GB" if killed
           else f"child failed (exit code {child.returncode})")
    log(f"{n_dealers} dealers: {why}; peak RSS seen {peak:.0f} MiB after {wall:.0f} s")
    return {"dealers": n_dealers, "failed": why, "watched_peak_mib": peak, "wall_s": wall}


def _fmt(value: float | None, spec: str = ".1f") -> str:
    if value is None:
        return "-"
    return format(value, spec)


def _millions(value: float | None) -> str:
    """CNY as millions, "-" where there is no plan (older JSON files have no objective)."""
    if value is None or value != value or abs(value) == float("inf"):
        return "-"
    return f"{value / 1e6:,.1f}"


def summarise(runs: list[dict]) -> dict:
    """Medians of the timings and memory over repeats; status, gap and size of the last."""
    ok = [r for r in runs if "failed" not in r]
    if not ok:
        return dict(runs[-1])
    last = dict(ok[-1])
    for r in ok:
        if "rows" in r:
            last.update({k: r[k] for k in ("rows", "cols", "nnz", "integers", "mps_mb")})
    keys = ["case_s", "netopt_total_s", *PHASES, "raw_read_s", "raw_solve_s",
            "rss_case_mib", "rss_netopt_mib", "rss_raw_mib", "rss_end_mib"]
    for key in keys:
        if all(key in r for r in ok):  # (no raw_* keys in --no-raw runs)
            last[key] = statistics.median(r[key] for r in ok)
    last["repeats"] = len(ok)
    return last


def print_tables(rows: list[dict]) -> None:
    print("| dealers | sources | collection cands | sites | rows | columns | nonzeros | "
          "integers | case s | peak RSS netopt MiB | peak RSS run MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "failed" in r:
            print(f"| {r['dealers']:,} | {r['failed']} (peak {r['watched_peak_mib']:,.0f} MiB) "
                  "| | | | | | | | | |")
            continue
        size = (f"{r['rows']:,} | {r['cols']:,} | {r['nnz']:,} | {r['integers']:,}"
                if "rows" in r else "- | - | - | -")
        print(f"| {r['dealers']:,} | {r['sources']:,} | {r['collection_points']:,} | "
              f"{r['sites']} | {size} | {r['case_s']:.1f} | {r['rss_netopt_mib']:,.0f} | "
              f"{max(r['rss_end_mib'], r['watched_peak_mib']):,.0f} |")
    print()
    print("| dealers | prepare + build s | year-by-year s | LP-rounding s | solve s | "
          "extract s | netopt total s | overhead | status | objective M CNY | gap | "
          "raw read s | raw solve s | raw status | raw objective M CNY | raw gap | "
          "total / raw |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "failed" in r:
            print(f"| {r['dealers']:,} | {r['failed']} | | | | | | | | | | | | | | | |")
            continue
        build = r["prepare_s"] + r["build_s"]
        total = r["netopt_total_s"]
        overhead = (build + r["extract_s"]) / total
        if "raw_status" in r:
            raw_total = r["raw_read_s"] + r["raw_solve_s"]
            raw = (f"{r['raw_read_s']:.1f} | {r['raw_solve_s']:.1f} | {r['raw_status']} | "
                   f"{_millions(r.get('raw_objective'))} | {r['raw_gap']:.3g} | "
                   f"{total / raw_total:.2f}")
        else:
            raw = "- | - | - | - | - | -"
        heuristic = _fmt(r["heuristic_s"]) if r["heuristic_used"] else "-"
        extract = "-" if r["status"] in ("no_solution", "infeasible") else _fmt(r["extract_s"])
        forward = r.get("year_by_year_s", 0.0)
        print(f"| {r['dealers']:,} | {build:.1f} | {_fmt(forward) if forward else '-'} | "
              f"{heuristic} | {r['solve_s']:.1f} | "
              f"{extract} | {total:.1f} | {overhead:.0%} | {r['status']} | "
              f"{_millions(r.get('objective'))} | {r['gap']:.3g} | {raw} |")


def plot(rows: list[dict], path: Path) -> None:
    """Stacked netopt time by phase and raw highspy time; peak memory; against dealers."""
    try:
        import matplotlib
    except ImportError:
        print(f"matplotlib is not installed: no plot written to {path}", file=sys.stderr)
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = sorted((r for r in rows if "failed" not in r), key=lambda r: r["dealers"])
    if not ok:
        print("no finished case: no plot", file=sys.stderr)
        return
    dealers = [r["dealers"] for r in ok]
    labels = [f"{r['dealers']:,}\n(limit {r['time_limit']:g} s)" if "time_limit" in r
              else f"{r['dealers']:,}" for r in ok]
    fig, (ax_time, ax_mem) = plt.subplots(1, 2, figsize=(11, 4.2))
    parts = [("prepare + build", lambda r: r["prepare_s"] + r["build_s"]),
             ("year-by-year start", lambda r: r.get("year_by_year_s", 0.0)),
             ("LP-rounding start", lambda r: r["heuristic_s"]),
             ("solve", lambda r: r["solve_s"]),
             ("extract", lambda r: r["extract_s"])]
    x = list(range(len(ok)))
    bottom = [0.0] * len(ok)
    for name, get in parts:
        values = [get(r) for r in ok]
        ax_time.bar([i - 0.2 for i in x], values, 0.4, bottom=bottom, label=f"netopt: {name}")
        bottom = [b + v for b, v in zip(bottom, values)]
    def raw_total(r: dict) -> float:
        return r.get("raw_read_s", 0.0) + r.get("raw_solve_s", 0.0)

    ax_time.bar([i + 0.2 for i in x], [raw_total(r) for r in ok], 0.4,
                color="grey", label="raw highspy: read + solve")
    for i, r in enumerate(ok):  # what each run ended with
        ends = [(-0.2, bottom[i], r["gap"])]
        if "raw_gap" in r:
            ends.append((0.2, raw_total(r), r["raw_gap"]))
        for dx, top, gap in ends:
            has_plan = gap == gap and gap != float("inf")  # not NaN, finite
            text = f"gap {gap:.3g}" if has_plan else "no plan"
            ax_time.annotate(text, (i + dx, top), ha="center", va="bottom", fontsize=7)
    ax_time.set_ylim(0, 1.1 * max(*bottom, *(raw_total(r) for r in ok)))
    ax_time.set_xticks(x, labels)
    ax_time.set_xlabel("dealers")
    ax_time.set_ylabel("seconds")
    ax_time.set_title("Time by phase, and the gap each run ended with")
    ax_time.legend(fontsize=8)
    ax_mem.plot(dealers, [r["rss_netopt_mib"] / 1024 for r in ok], "o-",
                label="after netopt.solve")
    ax_mem.plot(dealers, [max(r["rss_end_mib"], r["watched_peak_mib"]) / 1024 for r in ok],
                "s--", label="whole run (+ raw highspy, size count)")
    ax_mem.plot(dealers, [r["rss_case_mib"] / 1024 for r in ok], "^:", label="case only")
    ax_mem.set_xlabel("dealers")
    ax_mem.set_ylabel("peak RSS, GiB")
    ax_mem.set_title("Peak memory of the process")
    ax_mem.set_ylim(bottom=0)
    ax_mem.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"plot written to {path}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dealers", type=int, nargs="+", default=DEALERS)
    parser.add_argument("--time-limit", type=float, default=120.0, help="per solve, s")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--mip-gap", type=float, default=1e-4)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--plot", type=Path, default=None, help="PNG (or SVG) to write")
    parser.add_argument("--max-rss-gb", type=float, default=12.0,
                        help="stop a case whose process grows beyond this (GB)")
    parser.add_argument("--json", type=Path, default=None, help="also save all runs here")
    parser.add_argument("--load", type=Path, nargs="+", default=None,
                        help="no runs: print the tables (and --plot) of saved --json files")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--no-size", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-raw", action="store_true",
                        help="netopt only: leave out the raw-highspy run")
    args = parser.parse_args()

    if args.one is not None:  # the child: one case, result as JSON
        result = run_one(args.one, time_limit=args.time_limit, threads=args.threads,
                         mip_gap=args.mip_gap, size=not args.no_size, raw=not args.no_raw)
        args.result.write_text(json.dumps(result))
        return

    if args.load:  # tables and plot of earlier runs, e.g. 700 3000 and 10000 apart
        every = {}
        for path in args.load:
            every.update({int(n): runs for n, runs in json.loads(path.read_text()).items()})
        rows = [summarise(every[n]) for n in sorted(every)]
        print_tables(rows)
        if args.plot:
            plot(rows, args.plot)
        return

    log(f"{os.cpu_count()} CPUs; dealers {args.dealers}, time limit {args.time_limit:g} s, "
        f"threads {args.threads}, gap {args.mip_gap:g}, repeat {args.repeat}")
    rows, every = [], {}
    for n in args.dealers:
        runs = [run_child(n, args, size=(i == 0)) for i in range(args.repeat)]
        every[n] = runs
        rows.append(summarise(runs))
    print_tables(rows)
    if args.json:
        args.json.write_text(json.dumps(every, indent=1))
    if args.plot:
        plot(rows, args.plot)


if __name__ == "__main__":
    main()
