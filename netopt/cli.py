"""The ``netopt`` command line: the app and its entry point; the commands are in
:mod:`netopt.commands`, one module each.

Errors in the input are printed on one line naming file, row, column and rule, with
exit code 2 and no traceback.
"""

from __future__ import annotations

import sys

import typer

from netopt.commands import register_all
from netopt.console import err_console
from netopt.errors import CaseError, SolverError

app = typer.Typer(
    name="netopt",
    help="Design end-of-life battery recycling networks for OEM-led alliances and split "
    "the savings fairly.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

register_all(app)


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
