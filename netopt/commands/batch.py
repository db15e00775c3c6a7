"""``netopt batch``: run model specs (TOML) into one result folder each, then compare them.

Exit codes: 0 every spec has a usable result, 1 some spec failed (the others still ran),
2 bad input (a spec file, the executor, the output folder; nothing was run), 130
interrupted (finished results are kept; run the same command again to resume).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from netopt.batch import BatchError, print_comparison, run_batch

_out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
_err = Console(stderr=True, highlight=False, soft_wrap=True)


def batch_command(
    specs: Annotated[list[Path], typer.Argument(
        help="Spec files (.toml) or folders of specs (e.g. models/).", show_default=False)],
    executor: Annotated[str, typer.Option(
        help="Where the solves run: local[:N] (N processes, default one per core), "
        "dask:ADDRESS (a running dask.distributed scheduler) or dask-local[:N] (a Dask "
        "LocalCluster of N single-threaded worker processes).")] = "local",
    out: Annotated[Path, typer.Option(help="Folder of the results: one folder per spec "
                                      "and comparison.csv.")] = Path("runs"),
    cache: Annotated[Path | None, typer.Option(
        help="Coalition cache folder (default: OUT/.coalitions).")] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress",
                                           help="Show progress bars.")] = True,
) -> None:
    """Run model specs (skipping those already done with the same inputs) and compare them."""
    try:
        frame = run_batch(specs, executor=executor, out=out, progress=progress,
                          cache=True if cache is None else cache, console=_out)
    except BatchError as exc:
        _err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        _err.print(f"interrupted: the finished specs are kept in {out} (see "
                   f"{out / 'comparison.csv'}); run the same command again to resume",
                   markup=False)
        raise typer.Exit(130) from None
    print_comparison(frame, _out)
    ran = frame.loc[frame["state"] == "ran", "spec"].tolist()
    skipped = frame.loc[frame["state"] == "skipped", "spec"].tolist()
    failed = frame.loc[~frame["ok"], "spec"].tolist()
    _out.print(f"ran: {', '.join(ran) or '-'}")
    _out.print(f"skipped: {', '.join(skipped) or '-'}")
    if failed:
        _out.print(f"[red]failed[/]: {', '.join(failed)}")
    _out.print(f"comparison written to [bold]{out / 'comparison.csv'}[/bold]")
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``netopt batch`` to the command line."""
    app.command("batch")(batch_command)
