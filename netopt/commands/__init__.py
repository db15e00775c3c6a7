"""Further ``netopt`` commands, one module each; every module defines ``register(app)``.

The modules are discovered here so that the core command line (:mod:`netopt.cli`) does
not grow with every export or batch feature.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Annotated

import typer

from netopt.case import default_case_path

CaseArg = Annotated[
    Path | None,
    typer.Argument(help="Case: a folder of CSV/Parquet tables, a .gpkg or an .xlsx "
                   "(default: the embedded China case)."),
]


def case_path(case: Path | None) -> Path:
    """The case given on the command line, or the embedded default case."""
    return default_case_path() if case is None else case


def register_all(app: typer.Typer) -> None:
    """Import every command module of this package and let it add its commands."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(app)
