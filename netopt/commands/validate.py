"""``netopt validate``: check a case and list every problem found."""

from __future__ import annotations

import typer

from netopt.case import validate as validate_case
from netopt.commands import CaseArg, case_path
from netopt.console import console, err_console


def validate(
    case: CaseArg = None,
) -> None:
    """Check a case and list every problem found (exit 2 if any)."""
    path = case_path(case)
    problems = validate_case(path)
    if not problems:
        console.print(f"{path}: valid")
        return
    for problem in problems:
        err_console.print(str(problem), markup=False, highlight=False, soft_wrap=True)
    err_console.print(f"{len(problems)} problem(s) found", style="red")
    raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add ``netopt validate`` to the command line."""
    app.command("validate")(validate)
