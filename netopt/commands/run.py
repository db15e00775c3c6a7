"""``netopt run``: solve a case, write its plan into a new folder, split the savings."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

import netopt
from netopt.commands import CaseArg, case_path
from netopt.commands.allocate import allocate_case, cache_folder, cache_help
from netopt.commands.export import export_all
from netopt.console import (
    MONEY_SCALE,
    SolveProgress,
    console,
    err_console,
    money,
    print_plan,
    print_standalone_split,
)
from netopt.errors import SolverError
from netopt.game import standalone_split as split_from_standalone_costs

#: Seconds per member alone when netopt run splits the savings from stand-alone costs:
#: netopt allocate's default per coalition, so that its cache serves both.
STANDALONE_SECONDS = 120.0


def _print_starting_plans(plan: netopt.Plan) -> None:
    """The starting plans' costs, and each neighbourhood's step and the sites' moves, if
    the solve made any."""
    start_record = plan.meta.get("starting_plan")
    if start_record is None:
        return
    passes = "years apart" if "years_apart" in plan.meta else "year by year"
    shown = {passes: start_record.get("year_by_year_cny"),
             "LP rounding": start_record.get("lp_rounding_cny")}
    console.print("starting plans: " + ", ".join(
        f"{name} {money(cost)} {MONEY_SCALE['unit']}" for name, cost in shown.items()
        if cost is not None and math.isfinite(cost)), markup=False)
    steps = start_record.get("neighbourhoods") or []
    if steps:
        console.print("then one kind of facility at a time, every year: " + ", ".join(
            f"{step['neighbourhood'].replace('_', ' ')} {money(step['objective_cny'])} "
            f"{MONEY_SCALE['unit']} ({step['seconds']:,.0f} s)" for step in steps),
            markup=False)
    moves = start_record.get("site_moves") or []
    if moves:
        console.print(f"then the sites' moves: {len(moves)} kept of "
                      f"{start_record.get('site_moves_tried', len(moves))} costed, "
                      f"{money(moves[-1]['objective_cny'])} {MONEY_SCALE['unit']}",
                      markup=False)


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
    standalone_split: Annotated[bool, typer.Option(
        "--standalone-split",
        help="Split the savings from each member alone and the plan's cost (proportional, "
        "equal split) instead of valuing every coalition: the default when the plan is not "
        "proven optimal or the alliance has more than 10 members.")] = False,
    separable_costs: Annotated[bool, typer.Option(
        "--separable-costs",
        help="In the split from each member alone, also value each coalition of all "
        "members but one (each about as hard as the whole case) for the separable costs "
        "remaining benefits rule.")] = False,
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
    _print_starting_plans(plan)
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
        shrinks = apart.get("site_shrinks")
        split = "" if not shrinks else (
            f", {len(shrinks['shrinks'])} of the sites' shrinks split over "
            f"{shrinks['year_solves']} year solves")
        console.print(f"years apart: bound {money(apart['bound_cny'])} {MONEY_SCALE['unit']} "
                      f"(each year alone, {apart['rounds']} rounds in "
                      f"{apart['seconds']:,.0f} s{split}); the plan's gap is against the "
                      "better of it and the search's", markup=False)
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
    n = len(loaded.member_ids)
    if allocate is None:
        allocate = 2 <= n <= 10 and plan.status == "optimal" and not standalone_split
        standalone_split = standalone_split or (n >= 2 and not allocate)
    if standalone_split and n >= 2 and not allocate:
        _split_from_standalone(loaded, plan, folder, path, workers=workers, cache=cache,
                               mip_gap=mip_gap, separable=separable_costs)
    if allocate:
        allocate_case(loaded, folder, workers=workers, cache=cache, mip_gap=mip_gap,
                      time_limit=time_limit)
    if export:
        for written in export_all(folder):
            console.print(f"wrote [bold]{written}[/bold]")


def _split_from_standalone(loaded: netopt.Case, plan: netopt.Plan, folder: Path, path: Path,
                           *, workers: int | None, cache: Path | None,
                           mip_gap: float, separable: bool = False) -> None:
    """The whole game is out of this run's reach: split the savings by the rules that need
    only each member alone and the plan's cost (and, ``separable``, each coalition of all
    members but one), written to allocation_standalone.csv, and say how to run the whole
    game."""
    n = len(loaded.member_ids)
    why = "the plan is not proven optimal" if plan.status != "optimal" else (
        f"the alliance has {n} members" if n > 10 else "--standalone-split")
    console.print(f"{why}, and each of the {2 ** n - 1} coalitions is a model of its "
                  f"own: valuing the {n} members alone"
                  + (f" and the {n} coalitions of all members but one" if separable else "")
                  + f" ({STANDALONE_SECONDS:g} s each at most), for the rules that need no "
                  "other coalition", markup=False)
    try:
        table = split_from_standalone_costs(
            loaded, plan.objective, separable=separable, workers=workers,
            cache=cache_folder(cache), mip_gap=mip_gap, time_limit=STANDALONE_SECONDS,
            start=plan)
    except SolverError as exc:
        err_console.print(f"stand-alone costs not found: {exc}", markup=False)
    else:
        print_standalone_split(table)
        table.to_csv(folder / "allocation_standalone.csv", index=False)
        console.print(f"wrote [bold]{folder / 'allocation_standalone.csv'}[/bold]")
    console.print(
        f"To split the savings by every method (Shapley, nucleolus, core, ...), run: "
        f"netopt allocate {path} --out {folder / 'allocation'} --start {folder}"
        + (f" --cache {cache}" if cache is not None else "")
        + " (each coalition with its "
        "proven bound and the core within those bounds, each also started from this "
        "plan restricted to it; resumable, and the members valued here are reused from "
        "the cache; --executor dask:ADDRESS spreads it over a Dask cluster)", markup=False)


def register(app: typer.Typer) -> None:
    """Add ``netopt run`` to the command line."""
    app.command("run")(run)
