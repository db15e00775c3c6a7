"""The ``netopt`` command line: run, validate, schema.

Errors in the input are printed on one line naming file, row, column and rule, with
exit code 2 and no traceback.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from netopt.errors import CaseError, SolverError

app = typer.Typer(
    name="netopt",
    help="Design end-of-life battery recycling networks for OEM-led alliances and split "
    "the savings fairly.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Output that is not a terminal (a log, a pipe) gets wide tables rather than cut ones.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

CaseArg = Annotated[
    Path | None,
    typer.Argument(help="Case: a folder of CSV/Parquet tables, a .gpkg or an .xlsx "
                   "(default: the embedded China case)."),
]


def _case_path(case: Path | None) -> Path:
    from netopt.case import default_case_path

    return default_case_path() if case is None else case


def _new_output_folder(out: Path | None, case_name: str, overwrite: bool) -> Path:
    """The folder to write into: ``out`` as given, or a new ``out/<case>[-N]``."""
    if out is not None:
        if out.exists() and any(out.iterdir()) and not overwrite:
            raise FileExistsError(f"{out} exists and is not empty; choose another --out or "
                                  "pass --overwrite")
        return out
    base = Path("out")
    folder = base / case_name
    n = 2
    while folder.exists():
        folder = base / f"{case_name}-{n}"
        n += 1
    return folder


_MONEY_SCALE = {"scale": 1e6, "unit": "CNY million"}


def _set_money_unit(*values: float) -> None:
    """Show money in CNY million, or in CNY when every figure is small (tiny cases)."""
    finite = [abs(v) for v in values if v == v and abs(v) != float("inf")]
    big = max(finite, default=0.0) >= 1e6
    _MONEY_SCALE.update(scale=1e6 if big else 1.0, unit="CNY million" if big else "CNY")


def _money(value: float) -> str:
    return f"{value / _MONEY_SCALE['scale']:,.2f}"


def print_split(console: Console, title: str, key: str, headers: list[str],
                rows: list[tuple[str, list[str]]], bold_last: bool = False) -> None:
    """Print a table of right-aligned value columns, split into as many tables as it takes
    to fit the console's width (each repeats the ``key`` column), so that a table of many
    members or years stays readable in a 100-column terminal."""
    key_width = max([len(key), *(len(label) for label, _ in rows)])
    widths = [max([len(h), *(len(values[i]) for _, values in rows)])
              for i, h in enumerate(headers)]
    blocks: list[list[int]] = [[]]
    used = 1 + key_width + 3  # the left border, the key column and its padding
    for i, width in enumerate(widths):
        if blocks[-1] and used + width + 3 > console.width:
            blocks.append([])
            used = 1 + key_width + 3
        blocks[-1].append(i)
        used += width + 3
    size = -(-len(widths) // len(blocks))  # the same number of columns in each part, if
    even = [list(range(i, min(i + size, len(widths)))) for i in range(0, len(widths), size)]
    if len(even) == len(blocks) and all(  # that fits too
            1 + key_width + 3 + sum(widths[i] + 3 for i in block) <= console.width
            for block in even):
        blocks = even
    for n, block in enumerate(blocks, start=1):
        part = f" ({n} of {len(blocks)})" if len(blocks) > 1 else ""
        table = Table(title=title + part)
        table.add_column(key, no_wrap=True)
        for i in block:
            table.add_column(headers[i], justify="right", no_wrap=True)
        for r, (label, values) in enumerate(rows):
            style = "bold" if bold_last and r == len(rows) - 1 else None
            table.add_row(label, *[values[i] for i in block], style=style)
        console.print(table)


def print_plan(plan, console: Console = console) -> None:
    """Readable summary of a Plan: status, sites per year, tonnes, costs, KPIs."""
    status_style = "green" if plan.status == "optimal" else "yellow"
    _set_money_unit(plan.objective, *(plan.costs["discounted_cny"].abs().tolist()
                                      if len(plan.costs) else []))
    console.print(
        f"[bold]{plan.case_name}[/bold]: status [{status_style}]{plan.status}[/] "
        f"({plan.termination}); objective {_money(plan.objective)} {_MONEY_SCALE['unit']}, "
        f"bound {_money(plan.bound)} {_MONEY_SCALE['unit']}, gap {plan.gap:.4%}"
    )
    times = ", ".join(f"{k.removesuffix('_s')} {v:.2f} s" for k, v in plan.timings.items())
    console.print(f"times: {times}")
    if plan.status == "infeasible":
        if plan.explanation is not None:
            table = Table(title="Why the case is infeasible (elastic relaxation)")
            for col in ("constraint", "shortfall", "unit", "message"):
                table.add_column(col)
            for row in plan.explanation.head(20).itertuples():
                table.add_row(row.constraint, f"{row.shortfall:,.2f}", row.unit, row.message)
            console.print(table)
        return
    if not plan.has_solution:
        return
    sites = plan.sites
    years = sorted(sites["year"].unique())
    opened = sites[sites["opened"]]
    rows = []
    for kind, group in opened.groupby("kind", sort=False):
        counts = group.groupby("year").size().reindex(years, fill_value=0)
        rows.append((str(kind), [str(int(c)) for c in counts]))
    print_split(console, "Sites open per year", "kind", [str(y) for y in years], rows)

    rows = []
    if len(plan.flows):
        pivot = plan.flows.pivot_table(index="leg", columns="year", values="tonnes",
                                       aggfunc="sum", fill_value=0.0, sort=False)
        for leg, row in pivot.iterrows():
            rows.append((str(leg), [f"{row.get(y, 0.0):,.0f}" for y in years]))
    if len(plan.outsourced):
        by_year = plan.outsourced.groupby("year")["tonnes"].sum()
        rows.append(("outsourced", [f"{by_year.get(y, 0.0):,.0f}" for y in years]))
    print_split(console, "Tonnes through each echelon (t)", "leg", [str(y) for y in years],
                rows)

    pivot = plan.costs.pivot_table(index="category", columns="member", values="discounted_cny",
                                   aggfunc="sum", fill_value=0.0)
    rows = [(str(category), [*(_money(v) for v in row), _money(row.sum())])
            for category, row in pivot.iterrows()]
    rows.append(("total", [*(_money(v) for v in pivot.sum()), _money(pivot.to_numpy().sum())]))
    print_split(console, f"Discounted cost by category and member ({_MONEY_SCALE['unit']})",
                "category", [*(str(m) for m in pivot.columns), "total"], rows, bold_last=True)

    kpis = plan.kpis.set_index("name")
    console.print(
        f"collection rate {kpis.at['collection_rate', 'value']:.1%}; "
        f"collected {kpis.at['collected_t', 'value']:,.0f} t, outsourced "
        f"{kpis.at['outsourced_t', 'value']:,.0f} t; CO2 {kpis.at['emissions_t', 'value']:,.0f} "
        f"tCO2e; transport {kpis.at['transport_tkm', 'value'] / 1e6:,.1f} M t-km"
    )


class SolveProgress:
    """Shows the MIP search (best plan, bound, gap) while HiGHS runs.

    The solver's output capture takes over stdout during a solve, so this writes to its
    own copy of the terminal: a live status line on a terminal, else a line every 30 s.
    """

    def __init__(self, every_s: float = 30.0):
        import os

        self.every_s = every_s
        self.stream = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
        self.console = Console(file=self.stream, width=console.width)
        self.status = None
        self.last = -float("inf")

    def __enter__(self) -> SolveProgress:
        if self.console.is_terminal:
            self.status = self.console.status("building and solving the network model "
                                              "(HiGHS) ...")
            self.status.start()
        else:
            self.console.print("building and solving the network model (HiGHS) ...")
        return self

    def __call__(self, state: dict[str, float]) -> None:
        _set_money_unit(state["objective"])
        best = state["objective"]
        phase = state.get("phase", "searching")
        if abs(best) < float("inf"):
            bound, gap = state["bound"], state["gap"]
            bound_text = _money(bound) if abs(bound) < float("inf") else "-"
            gap_text = f"{gap:.2%}" if abs(gap) < float("inf") else "-"
            text = (f"{phase} {state['time_s']:,.0f} s: best plan {_money(best)}, bound "
                    f"{bound_text} {_MONEY_SCALE['unit']}, gap {gap_text}")
        else:
            text = f"{phase} {state['time_s']:,.0f} s: no plan yet"
        if self.status is not None:
            self.status.update(text)
        elif time.monotonic() - self.last >= self.every_s:  # (time_s restarts per phase)
            self.last = time.monotonic()
            self.console.print(text, markup=False, highlight=False)

    def __exit__(self, *exc) -> None:
        if self.status is not None:
            self.status.stop()
        self.stream.close()


def _write_atomic_csv(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(path)


def _cache_folder(cache: Path | None) -> Path:
    from netopt.game import default_cache_folder

    return cache if cache is not None else default_cache_folder()


def _cache_help() -> str:
    """The --cache help: where the coalition values are kept by default, on this machine."""
    from netopt.game import default_cache_folder

    return ("Coalition cache folder: solved coalitions are kept there, keyed by the case's "
            f"content, so a rerun reuses them (default $NETOPT_CACHE, else "
            f"{default_cache_folder()}; delete it to free space).")


def allocate_case(loaded, folder: Path | None, *, workers: int | None, cache: Path | None,
                  mip_gap: float, time_limit: float | None) -> None:
    """Coalition values, every allocation method, stability; print and write tables."""
    from netopt.allocation import Game, savings_report
    from netopt.game import coalition_table, coalition_values

    n = len(loaded.member_ids)
    console.print(f"valuing {2 ** n - 1} coalitions of {n} members "
                  f"(cache: {_cache_folder(cache)})")
    values = coalition_values(loaded, workers=workers, cache=_cache_folder(cache),
                              mip_gap=mip_gap, time_limit=time_limit)
    game = Game.from_costs(values)
    members, stability = savings_report(game)
    print_allocation(members, stability, game.grand_value)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        table = coalition_table(values).copy()
        table["coalition"] = ["+".join(c) for c in table["coalition"]]
        _write_atomic_csv(table, folder / "coalition_values.csv")
        _write_atomic_csv(members, folder / "allocation.csv")
        _write_atomic_csv(stability, folder / "allocation_stability.csv")
        console.print(f"allocation written to [bold]{folder}[/bold]")


def print_allocation(members: pd.DataFrame, stability: pd.DataFrame, grand: float,
                     console: Console = console) -> None:
    """Allocations, one row per method and one column per member (cost, then savings %),
    and their core stability."""
    _set_money_unit(grand, *members["standalone_cost"].tolist())
    unit = _MONEY_SCALE["unit"]
    console.print(f"the alliance saves {_money(grand)} {unit} against every member going alone")
    methods = list(dict.fromkeys(members["method"]))
    cost = members.pivot(index="method", columns="member", values="allocated_cost")
    pct = members.pivot(index="method", columns="member", values="savings_pct")
    alone = members.groupby("member", sort=False)["standalone_cost"].first()
    names = [str(m) for m in alone.index]
    rows = [("alone", [_money(alone[m]) for m in alone.index])]
    rows += [(str(method), [_money(cost.at[method, m]) for m in alone.index])
             for method in methods]
    print_split(console, f"Allocated cost, {unit}", "method", names, rows)
    rows = [(str(method), [f"{pct.at[method, m]:.1f}%" for m in alone.index])
            for method in methods]
    print_split(console, "Savings against going alone, %", "method", names, rows)
    table = Table(title="Stability: is each allocation in the core?")
    for col in ("method", "in core", "most-blocking coalition", f"excess ({unit})"):
        table.add_column(col)
    for row in stability.itertuples():
        if not row.defined:
            table.add_row(row.method, "undefined", "", "")
            continue
        blocking = row.most_blocking if isinstance(row.most_blocking, str) else "-"
        table.add_row(row.method, "yes" if row.in_core else "[red]no[/red]", blocking,
                      _money(row.excess))
    console.print(table)


@app.command()
def allocate(
    case: CaseArg = None,
    out: Annotated[Path | None, typer.Option(help="Folder for the allocation tables.")] = None,
    workers: Annotated[int | None, typer.Option(help="Parallel coalition solves "
                                                "(default: cores).")] = None,
    cache: Annotated[Path | None, typer.Option(help=_cache_help())] = None,
    mip_gap: Annotated[float, typer.Option(help="Relative MIP gap per coalition.")] = 1e-4,
    time_limit: Annotated[float | None, typer.Option(help="Seconds per coalition.")] = None,
) -> None:
    """Value every coalition of members and split the savings (Shapley, nucleolus, ...)."""
    import netopt

    loaded = netopt.load_case(_case_path(case))
    if out is not None and out.exists() and any(out.glob("allocation*.csv")):
        raise FileExistsError(f"{out} already holds an allocation; choose another --out")
    allocate_case(loaded, out, workers=workers, cache=cache, mip_gap=mip_gap,
                  time_limit=time_limit)


@app.command()
def run(
    case: CaseArg = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default: a new "
                                             "out/<case> folder).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output folder.")] = False,
    time_limit: Annotated[float | None, typer.Option(
        help="Time limit in seconds (0: none), counted from the start: building the "
        "model, the starting plans and the search share it. A plan stopped by it says so, "
        "with its gap, in every output.")] = 300.0,
    mip_gap: Annotated[float, typer.Option(help="Relative MIP gap to stop at.")] = 1e-4,
    threads: Annotated[int | None, typer.Option(help="Solver threads.")] = None,
    solver: Annotated[str, typer.Option(help="MIP solver (pyomo name).")] = "highs",
    log: Annotated[bool, typer.Option(help="Show the solver's log.")] = False,
    allocate: Annotated[bool | None, typer.Option(
        "--allocate/--no-allocate",
        help="Value every coalition and split the savings (default: on for up to 10 "
        "members).")] = None,
    workers: Annotated[int | None, typer.Option(help="Parallel coalition solves.")] = None,
    cache: Annotated[Path | None, typer.Option(help=_cache_help())] = None,
    export: Annotated[bool, typer.Option(
        "--export/--no-export",
        help="Also write the GeoPackage, the maps (PNG, HTML) and the Excel report.")] = True,
    year_bound: Annotated[float | None, typer.Option(
        help="After the search, spend this many more seconds bounding the optimum from "
        "below by solving each year on its own; the bound and gap reported are the "
        "better of the two.")] = None,
) -> None:
    """Solve a case, write its plan into a new output folder, and split the savings."""
    import netopt

    path = _case_path(case)
    loaded = netopt.load_case(path)
    folder = _new_output_folder(out, loaded.name, overwrite)
    if time_limit is not None and time_limit <= 0:
        time_limit = None
    summary = loaded.summary()
    console.print(
        f"case [bold]{loaded.name}[/bold]: {summary['members']} members, {summary['sources']} "
        f"sources, {summary['collection_points']} collection candidates, "
        f"{summary['dismantling_sites']} dismantling sites, {summary['recyclers']} recyclers, "
        f"{summary['reuse_outlets']} reuse outlets, {summary['years']}, "
        f"{summary['supply_t']:,.0f} t supply"
    )
    if log:
        plan = netopt.solve(loaded, time_limit=time_limit, mip_gap=mip_gap, threads=threads,
                            solver=solver, log=True, year_bound=year_bound)
    else:
        with SolveProgress() as progress:
            plan = netopt.solve(loaded, time_limit=time_limit, mip_gap=mip_gap,
                                threads=threads, solver=solver, progress=progress,
                                year_bound=year_bound)
    print_plan(plan)
    start_record = plan.meta.get("starting_plan")
    if start_record is not None:
        shown = {"year by year": start_record.get("year_by_year_cny"),
                 "LP rounding": start_record.get("lp_rounding_cny")}
        console.print("starting plans: " + ", ".join(
            f"{name} {_money(cost)} {_MONEY_SCALE['unit']}" for name, cost in shown.items()
            if cost is not None and math.isfinite(cost)), markup=False)
    if "year_bound" in plan.meta:
        by_year = plan.meta["year_bound"]
        if math.isfinite(by_year["bound_cny"]):
            console.print(f"year-by-year bound {_money(by_year['bound_cny'])} "
                          f"{_MONEY_SCALE['unit']} in {by_year['seconds']:,.0f} s "
                          f"(the search's own: {_money(by_year['search_bound_cny'])})")
        elif "error" in by_year:
            console.print(f"year-by-year bound failed ({by_year['error']}); the plan and "
                          "its gap are the search's", markup=False)
        else:
            console.print(f"year-by-year bound: none after {by_year['seconds']:,.0f} s "
                          f"({sum(math.isfinite(row['bound_cny']) for row in by_year['years'])}"
                          f" of {len(loaded.years)} years bounded; "
                          "give it more time)")
    elif plan.status == "time_limit" and len(loaded.years) > 1 and solver == "highs":
        console.print("the gap is measured against the bound the search proved; "
                      "--year-bound SECONDS bounds the optimum year by year, which can be far "
                      "tighter")
    plan.save(folder, overwrite=overwrite)
    console.print(f"plan written to [bold]{folder}[/bold]")
    if plan.status == "infeasible":
        raise typer.Exit(3)
    if plan.termination == "interrupted" or plan.status == "interrupted":
        # Ctrl-C: the best plan found so far is written (marked interrupted); stop here
        err_console.print("interrupted: " + ("the best plan found so far was written, marked "
                          "'interrupted' with its gap" if plan.has_solution else
                          "no plan had been found yet"), markup=False)
        raise typer.Exit(130)
    if not plan.has_solution:
        raise typer.Exit(4)
    if allocate is None:
        allocate = 2 <= len(loaded.member_ids) <= 10 and plan.status == "optimal"
        if plan.status != "optimal" and len(loaded.member_ids) >= 2:
            console.print("savings allocation skipped: the plan is not proven optimal, so "
                          "coalition values would not be comparable (run netopt allocate, "
                          "or netopt run --allocate, to compute them anyway)")
    if allocate:
        allocate_case(loaded, folder, workers=workers, cache=cache, mip_gap=mip_gap,
                      time_limit=time_limit)
    if export:
        from netopt.commands.export import export_all

        for written in export_all(folder):
            console.print(f"wrote [bold]{written}[/bold]")


@app.command()
def validate(
    case: CaseArg = None,
) -> None:
    """Check a case and list every problem found (exit 2 if any)."""
    from netopt.case import validate as validate_case

    path = _case_path(case)
    problems = validate_case(path)
    if not problems:
        console.print(f"{path}: valid")
        return
    for problem in problems:
        err_console.print(str(problem), markup=False, highlight=False, soft_wrap=True)
    err_console.print(f"{len(problems)} problem(s) found", style="red")
    raise typer.Exit(2)


@app.command()
def schema(
    table: Annotated[str | None, typer.Argument(help="Only this table.")] = None,
) -> None:
    """Print the input schema: every table's columns with type, unit, default and meaning."""
    from netopt.schema import describe

    frame = describe()
    if table:
        frame = frame[frame["table"] == table]
        if frame.empty:
            raise CaseError(f"unknown table '{table}'")
    for name, group in frame.groupby("table", sort=False):
        out = Table(title=f"{name}.csv")
        for col in ("attribute", "type", "unit", "default", "required", "description"):
            out.add_column(col)
        for row in group.itertuples():
            default = "" if row.default is None or pd.isna(row.default) else str(row.default)
            out.add_row(row.attribute, row.type, row.unit, default,
                        "yes" if row.required else "", row.description)
        console.print(out)


def _register_commands() -> None:
    from netopt.commands import register_all

    register_all(app)


_register_commands()


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning known errors into one-line messages."""
    try:
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int):
            return code
    except CaseError as exc:
        for problem in exc.problems[:50]:
            err_console.print(f"error: {problem}", markup=False, highlight=False,
                              soft_wrap=True)
        if len(exc.problems) > 50:
            err_console.print(f"... and {len(exc.problems) - 50} more", markup=False)
        return 2
    except FileExistsError as exc:
        err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return 2
    except (SolverError, FileNotFoundError) as exc:
        err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        err_console.print("interrupted; finished results were kept", markup=False)
        return 130
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        return 130
    except Exception as exc:  # usage errors of the command line (click's exceptions)
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            return exc.exit_code
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
