"""``netopt allocate``: value every coalition of members and split the savings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

import netopt
from netopt.batch import BatchError, open_executor
from netopt.commands import CaseArg, case_path
from netopt.console import console, err_console, print_allocation
from netopt.game import COALITION_METHODS, allocate_savings, default_cache_folder


def _write_atomic_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a CSV beside ``path`` and rename it into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(path)


def cache_folder(cache: Path | None) -> Path:
    """The coalition cache: ``cache``, else :func:`netopt.game.default_cache_folder`."""
    return cache if cache is not None else default_cache_folder()


def cache_help() -> str:
    """The --cache help: where the coalition values are kept by default, on this machine."""
    return ("Coalition cache folder: solved coalitions are kept there, keyed by the case's "
            f"content, so a rerun reuses them (default $NETOPT_CACHE, else "
            f"{default_cache_folder()}; delete it to free space).")


def allocate_case(loaded: Any, folder: Path | None, *, workers: int | None, cache: Path | None,
                  mip_gap: float, time_limit: float | None, executor: str = "local",
                  method: str = "auto", start: netopt.Plan | None = None) -> None:
    """Coalition values, every allocation method, stability; print and write tables.
    ``start``: a plan each coalition's solve also starts from, restricted to it."""
    n = len(loaded.member_ids)
    try:
        with open_executor(executor, workers=workers, tasks=2 ** n - 1) as (pool, label):
            console.print(f"valuing {2 ** n - 1} coalitions of {n} members on {label} "
                          f"(cache: {cache_folder(cache)})")
            savings = allocate_savings(loaded, executor=pool, cache=cache_folder(cache),
                                       mip_gap=mip_gap, time_limit=time_limit, method=method,
                                       start=start)
    except BatchError as exc:
        err_console.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    records = savings.values.attrs["records"]
    unproven = records[records["gap"] > mip_gap]
    if len(unproven):
        console.print(f"{len(unproven)} of {len(records)} coalitions are not proven to "
                      f"--mip-gap {mip_gap:g} (largest gap {records['gap'].max():.2%}); "
                      "the stability table says which allocations stay in the core for "
                      "every cost within the bounds proven", markup=False)
    members, stability = savings.members, savings.stability
    print_allocation(members, stability, savings.grand_savings_cny)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        for name, table in savings.tables().items():
            _write_atomic_csv(table, folder / f"{name}.csv")
        console.print(f"allocation written to [bold]{folder}[/bold]")


def allocate(
    case: CaseArg = None,
    out: Annotated[Path | None, typer.Option(help="Folder for the allocation tables.")] = None,
    workers: Annotated[int | None, typer.Option(help="Parallel coalition solves "
                                                "(default: cores).")] = None,
    cache: Annotated[Path | None, typer.Option(help=cache_help())] = None,
    mip_gap: Annotated[float, typer.Option(help="Relative MIP gap per coalition.")] = 1e-4,
    time_limit: Annotated[float | None, typer.Option(
        help="Seconds per coalition (0: none); a coalition stopped by it keeps its plan "
        "and its proven bound.")] = 120.0,
    executor: Annotated[str, typer.Option(
        help="Where the coalitions are solved: local[:N] (N processes, default one per "
        "core), dask:ADDRESS (a running dask.distributed scheduler) or dask-local[:N] (a "
        "Dask LocalCluster of N single-threaded worker processes).")] = "local",
    method: Annotated[str, typer.Option(
        help="How each coalition is solved: auto (as netopt run solves the case), whole "
        "(the MIP over every year) or years (the years apart, then the search).")] = "auto",
    start: Annotated[Path | None, typer.Option(
        help="A plan folder written by netopt run (its plan.json and sites.csv), the "
        "grand coalition's: each coalition also starts from its openings restricted to "
        "the coalition's facilities, where that is better than its own start.")] = None,
) -> None:
    """Value every coalition of members and split the savings (Shapley, nucleolus, ...).

    Resumable: solved coalitions are kept in the cache as they finish, so the same
    command run again (after Ctrl-C, or on another executor) solves only the rest.
    """
    loaded = netopt.load_case(case_path(case))
    if out is not None and out.exists() and any(out.glob("allocation*.csv")):
        raise FileExistsError(f"{out} already holds an allocation; choose another --out")
    if method not in COALITION_METHODS:
        err_console.print(f"error: --method {method}: choose from "
                          f"{', '.join(COALITION_METHODS)}", markup=False)
        raise typer.Exit(2)
    plan = None
    if start is not None:
        try:
            plan = netopt.load_plan(start)
        except (OSError, ValueError, KeyError) as exc:
            err_console.print(f"error: --start {start}: not a plan written by netopt run "
                              f"({exc})", markup=False)
            raise typer.Exit(2) from None
        if plan.case_hash and plan.case_hash != loaded.content_hash():
            console.print(f"--start {start}: that plan was made for another version of the "
                          "case; its openings are used where the facilities' ids match",
                          markup=False)
    allocate_case(loaded, out, workers=workers, cache=cache, mip_gap=mip_gap,
                  time_limit=time_limit if time_limit else None, executor=executor,
                  method=method, start=plan)


def register(app: typer.Typer) -> None:
    """Add ``netopt allocate`` to the command line."""
    app.command("allocate")(allocate)
