"""Readers for the raw input tables of a case: CSV or Parquet folders, GeoPackage, Excel.

Every reader returns :class:`RawTable` objects whose cells are all text, so that the
validation in :mod:`netopt.case` can report the file, row and column of each bad value.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from netopt.errors import CaseError, Problem
from netopt.schema import TABLES


@dataclass
class RawTable:
    """One input table as read, all cells as stripped strings ('' for blank)."""

    name: str
    frame: pd.DataFrame
    origin: str  # what to call the file in messages, e.g. "sources.csv" or "case.xlsx[sources]"
    first_row: int  # row number (as the user sees it) of the frame's first data row

    def row_number(self, position: int) -> int:
        """Row number as the user sees it in the file for the frame's ``position``-th row."""
        return self.first_row + position


def _to_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def textify(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as text cells (blank and missing as empty), as read from a CSV."""
    frame = frame.copy()
    frame.columns = [str(c).strip() for c in frame.columns]
    for column in frame.columns:
        frame[column] = [_to_text(v) for v in frame[column].tolist()]
    return frame.reset_index(drop=True)


def _read_csv(path: Path) -> RawTable:
    origin = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CaseError([Problem(origin, None, None, f"cannot be read: {exc.strerror}")]) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CaseError(
            [Problem(origin, line, None, "is not UTF-8 text (save it as CSV UTF-8)")]
        ) from exc
    if not text.strip():
        raise CaseError([Problem(origin, None, None, "is empty (expected a header row)")])
    if "\x00" in text:
        raise CaseError([Problem(origin, None, None, "is not a CSV text file (NUL bytes)")])
    rows = list(csv.reader(text.splitlines()))
    header = [h.strip() for h in rows[0]]
    problems = []
    body = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank lines are harmless
        if len(row) != len(header):
            problems.append(
                Problem(
                    origin,
                    number,
                    None,
                    f"has {len(row)} fields but the header has {len(header)}"
                    " (truncated line or stray comma?)",
                )
            )
            continue
        body.append([cell.strip() for cell in row])
    if problems:
        raise CaseError(problems)
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        raise CaseError([Problem(origin, 1, dupes[0], "column appears more than once")])
    frame = pd.DataFrame(body, columns=header, dtype=object)
    # Keep exact row numbers even when blank lines were skipped.
    numbers = [n for n, row in enumerate(rows[1:], start=2) if any(c.strip() for c in row)]
    table = RawTable(path.stem, frame, origin, 2)
    if numbers != list(range(2, 2 + len(numbers))):
        table = _NumberedTable(path.stem, frame, origin, 2, numbers)
    return table


@dataclass
class _NumberedTable(RawTable):
    numbers: list[int] | None = None

    def row_number(self, position: int) -> int:
        assert self.numbers is not None
        return self.numbers[position]


def _read_parquet(path: Path) -> RawTable:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise CaseError(
            [Problem(path.name, None, None, f"is not a readable Parquet file ({exc})")]
        ) from exc
    return RawTable(path.stem, textify(frame), path.name, 1)


def _from_geometry(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn a point geometry column into lat/lon columns (reprojected to EPSG:4326)."""
    if "geometry" not in frame.columns:
        return frame
    geometry = frame["geometry"]
    frame = pd.DataFrame(frame.drop(columns="geometry"))
    present = geometry[geometry.notna()] if len(geometry) else geometry
    if len(geometry) and present.empty:
        return frame  # an attribute table stored with an empty geometry column
    crs = getattr(geometry, "crs", None)
    if crs is not None and crs.to_epsg() != 4326:
        geometry = geometry.to_crs(4326)
    if "lat" not in frame.columns and geometry.geom_type.dropna().eq("Point").all():
        frame["lat"] = geometry.y.to_numpy() if len(geometry) else []
        frame["lon"] = geometry.x.to_numpy() if len(geometry) else []
    return frame


def _read_geopackage(path: Path) -> dict[str, RawTable]:
    import pyogrio

    try:
        layers = [name for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:
        raise CaseError(
            [Problem(path.name, None, None, f"is not a readable GeoPackage ({exc})")]
        ) from exc
    tables = {}
    for layer in layers:
        if layer not in TABLES:
            continue
        frame = pyogrio.read_dataframe(path, layer=layer)
        tables[layer] = RawTable(
            layer, textify(_from_geometry(frame)), f"{path.name}:{layer}", 1
        )
    return tables


def _read_excel(path: Path) -> dict[str, RawTable]:
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=object)
    except Exception as exc:
        raise CaseError(
            [Problem(path.name, None, None, f"is not a readable Excel workbook ({exc})")]
        ) from exc
    return {
        name: RawTable(name, textify(frame), f"{path.name}[{name}]", 2)
        for name, frame in sheets.items()
        if name in TABLES
    }


def read_tables(path: str | Path) -> dict[str, RawTable]:
    """Read every input table found at ``path`` (folder, .gpkg, .xlsx) as raw text tables."""
    path = Path(path)
    if not path.exists():
        raise CaseError([Problem(str(path), None, None, "does not exist")])
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".gpkg":
            return _read_geopackage(path)
        if suffix in {".xlsx", ".xlsm"}:
            return _read_excel(path)
        raise CaseError(
            [
                Problem(
                    path.name,
                    None,
                    None,
                    "is not a case: give a folder of CSV/Parquet tables, a .gpkg or an .xlsx",
                )
            ]
        )
    tables: dict[str, RawTable] = {}
    problems: list[Problem] = []
    for table in TABLES:
        csv_path, parquet_path = path / f"{table}.csv", path / f"{table}.parquet"
        if csv_path.exists() and parquet_path.exists():
            problems.append(
                Problem(csv_path.name, None, None, f"and {parquet_path.name} both exist")
            )
            continue
        try:
            if csv_path.exists():
                tables[table] = _read_csv(csv_path)
            elif parquet_path.exists():
                tables[table] = _read_parquet(parquet_path)
        except CaseError as exc:
            problems.extend(exc.problems)
    if problems:
        raise CaseError(problems)
    return tables
