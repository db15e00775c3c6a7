"""The input schema of a case, declared once as CSV tables (one per input table).

Each ``<table>.csv`` beside this module lists the table's columns with their type, unit,
default, whether they are required, bounds and a description. Validation
(:mod:`netopt.case`) and the documentation (``netopt schema``) are both driven from it.

Types:
``id`` a unique identifier of the table's rows; ``ref:<table>`` a reference to another
table's ids (``ref:<table>?`` may be blank); ``list:<table>`` ``;``-separated ids;
``str``, ``int``, ``float``, ``bool``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from importlib import resources

import pandas as pd

#: Input tables in load order; optional ones may be absent from a case.
TABLES: tuple[str, ...] = (
    "members",
    "periods",
    "chemistries",
    "sources",
    "supply",
    "collection_points",
    "dismantling_sites",
    "dismantling_levels",
    "recyclers",
    "reuse_outlets",
    "parameters",
    "road_nodes",
    "road_edges",
    "distances",
)
REQUIRED_TABLES: frozenset[str] = frozenset(
    {"members", "periods", "chemistries", "sources", "supply", "collection_points"}
)


@dataclass(frozen=True)
class Attribute:
    """One column of an input table (or one parameter)."""

    name: str
    type: str
    unit: str
    default: object
    required: bool
    min: float | None
    max: float | None
    description: str

    @property
    def ref_table(self) -> str | None:
        """The table this column refers to, if any."""
        if self.type.startswith(("ref:", "list:")):
            return self.type.split(":", 1)[1].rstrip("?")
        return None

    @property
    def choices(self) -> tuple[str, ...]:
        """The values a ``choice:a|b`` attribute may take (empty for other types)."""
        if self.type.startswith("choice:"):
            return tuple(self.type.split(":", 1)[1].split("|"))
        return ()

    @property
    def nullable_ref(self) -> bool:
        """True for a reference that may be left blank (``ref:table?``)."""
        return self.type.startswith("ref:") and self.type.endswith("?")


def _parse_default(raw: object, type_: str) -> object:
    if raw is None or (isinstance(raw, float) and math.isnan(raw)) or raw == "":
        return None
    text = str(raw)
    if type_ == "float":
        return float(text)
    if type_ == "int":
        return int(float(text))
    if type_ == "bool":
        return text.strip().lower() in {"true", "1", "yes"}
    return text


@cache
def table_schema(table: str) -> dict[str, Attribute]:
    """Columns of one input table, by name, in declaration order."""
    with resources.files("netopt.schema").joinpath(f"{table}.csv").open("r") as handle:
        frame = pd.read_csv(handle, dtype=str, keep_default_na=False)
    attributes: dict[str, Attribute] = {}
    for row in frame.itertuples(index=False):
        attributes[row.attribute] = Attribute(
            name=row.attribute,
            type=row.type,
            unit=row.unit,
            default=_parse_default(row.default, row.type),
            required=row.required == "yes",
            min=float(row.min) if row.min != "" else None,
            max=float(row.max) if row.max != "" else None,
            description=row.description,
        )
    return attributes


def id_column(table: str) -> str | None:
    """Name of the table's id column, or None for tables keyed by several columns."""
    for attribute in table_schema(table).values():
        if attribute.type == "id":
            return attribute.name
    return None


def describe() -> pd.DataFrame:
    """The whole schema as one tidy table (table, attribute, type, unit, default, ...)."""
    frames = []
    for table in TABLES:
        rows = [
            {
                "table": table,
                "attribute": a.name,
                "type": a.type,
                "unit": a.unit,
                "default": a.default,
                "required": a.required,
                "min": a.min,
                "max": a.max,
                "description": a.description,
            }
            for a in table_schema(table).values()
        ]
        frames.append(pd.DataFrame(rows))
    return pd.concat(frames, ignore_index=True)
