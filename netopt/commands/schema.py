"""``netopt schema``: the input tables' columns with type, unit, default and meaning."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from netopt.console import console
from netopt.errors import CaseError
from netopt.schema import describe


def schema(
    table: Annotated[str | None, typer.Argument(help="Only this table.")] = None,
) -> None:
    """Print the input schema: every table's columns with type, unit, default and meaning."""
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


def register(app: typer.Typer) -> None:
    """Add ``netopt schema`` to the command line."""
    app.command("schema")(schema)
