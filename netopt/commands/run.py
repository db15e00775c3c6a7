"""``netopt run``: solve a case, write its plan into a new folder, split the savings."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

import netopt
from netopt.commands import CaseArg, case_path
from netopt.commands.allocate import allocate_case, cache_help
from netopt.commands.export import export_all
from netopt.console import MONEY_SCALE, SolveProgress, console, err_console, money, print_plan


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
    cache: Annotated[Path | None, typer.Option(help=cache_help())] = None,
    export: Annotated[bool, typer.Option(
        "--export/--no-export",
        help="Also write the GeoPackage, the maps (PNG, HTML) and the Excel report.")] = True,
    year_bound: Annotated[float | None, typer.Option(
        help="After the search, spend this many more seconds bounding the optimum from "
        "below by solving each year on its own; the bound and gap reported are the "
        "better of the two.")] = None,
) -> None:
    """Solve a case, write its plan into a new output folder, and split the savings."""
    path = case_path(case)
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
        passes = "years apart" if "years_apart" in plan.meta else "year by year"
        shown = {passes: start_record.get("year_by_year_cny"),
                 "LP rounding": start_record.get("lp_rounding_cny")}
        console.print("starting plans: " + ", ".join(
            f"{name} {money(cost)} {MONEY_SCALE['unit']}" for name, cost in shown.items()
            if cost is not None and math.isfinite(cost)), markup=False)
    if "year_bound" in plan.meta:
        by_year = plan.meta["year_bound"]
        if math.isfinite(by_year["bound_cny"]):
            console.print(f"year-by-year bound {money(by_year['bound_cny'])} "
                          f"{MONEY_SCALE['unit']} in {by_year['seconds']:,.0f} s "
                          f"(the search's own: {money(by_year['search_bound_cny'])})")
        elif "error" in by_year:
            console.print(f"year-by-year bound failed ({by_year['error']}); the plan and "
                          "its gap are the search's", markup=False)
        else:
            console.print(f"year-by-year bound: none after {by_year['seconds']:,.0f} s "
                          f"({sum(math.isfinite(row['bound_cny']) for row in by_year['years'])}"
                          f" of {len(loaded.years)} years bounded; "
                          "give it more time)")
    if "years_apart" in plan.meta:
        apart = plan.meta["years_apart"]
        console.print(f"years apart: bound {money(apart['bound_cny'])} {MONEY_SCALE['unit']} "
                      f"(each year alone, {apart['rounds']} rounds in "
                      f"{apart['seconds']:,.0f} s); the plan's gap is against the better "
                      "of it and the search's", markup=False)
    elif plan.status == "time_limit" and len(loaded.years) > 1 and solver == "highs" \
            and "year_bound" not in plan.meta:
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
            n = len(loaded.member_ids)
            console.print(
                f"savings allocation not run: the plan is not proven optimal, and each of "
                f"the {2 ** n - 1} coalitions is a model of its own. To split the savings, "
                f"run: netopt allocate {path} --out {folder / 'allocation'} (each coalition "
                "with its proven bound and the core within those bounds; resumable; "
                "--executor dask:ADDRESS spreads it over a Dask cluster)", markup=False)
    if allocate:
        allocate_case(loaded, folder, workers=workers, cache=cache, mip_gap=mip_gap,
                      time_limit=time_limit)
    if export:
        for written in export_all(folder):
            console.print(f"wrote [bold]{written}[/bold]")


def register(app: typer.Typer) -> None:
    """Add ``netopt run`` to the command line."""
    app.command("run")(run)
