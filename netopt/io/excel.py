"""The Excel report of a Plan: one workbook a planner can read and filter (XlsxWriter).

Sheets: ``summary`` (status, objective, bound, gap, timings, KPIs, cost by category),
``sites``, ``sources``, ``flows``, ``outsourced``, ``costs`` (with a total row equal to
the objective) and, when the allocation tables of ``netopt run`` are given,
``allocation``, ``stability`` and ``coalitions``. Every sheet has one header row with
units in the header names, number formats, an autofilter, a frozen header row and
column widths that fit the content.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

#: Number formats.
TONNES = "#,##0.0"
CNY = "#,##0"
KM = "#,##0.0"
PCT = "0.0%"
DEG = "0.0000"
INT = "0"
GENERAL = "General"
SECONDS = "0.00"

ALLOCATION_FILES = ("allocation.csv", "allocation_stability.csv", "coalition_values.csv")


@dataclass(frozen=True)
class Column:
    """One report column: the table column it shows, its header and number format."""

    source: str
    header: str
    number_format: str = GENERAL
    scale: float | None = None  # multiply by this (e.g. 0.01 to turn % into a fraction)


SITE_COLUMNS = [
    Column("kind", "kind"), Column("id", "id"), Column("name", "name"),
    Column("member", "member"), Column("year", "year", INT), Column("opened", "open"),
    Column("level", "level"), Column("capacity_t_per_yr", "capacity (t/yr)", TONNES),
    Column("throughput_t", "throughput (t)", TONNES),
    Column("utilisation", "utilisation (%)", PCT),
    Column("lat", "latitude (deg N)", DEG), Column("lon", "longitude (deg E)", DEG),
]
SOURCE_COLUMNS = [
    Column("id", "id"), Column("name", "name"), Column("kind", "kind"),
    Column("member", "member"), Column("year", "year", INT),
    Column("supply_t", "supply (t)", TONNES), Column("collected_t", "collected (t)", TONNES),
    Column("outsourced_t", "outsourced (t)", TONNES),
    Column("lat", "latitude (deg N)", DEG), Column("lon", "longitude (deg E)", DEG),
]
FLOW_COLUMNS = [
    Column("leg", "leg"), Column("origin", "origin"), Column("destination", "destination"),
    Column("chemistry", "chemistry"), Column("condition", "condition"),
    Column("year", "year", INT), Column("tonnes", "tonnes (t)", TONNES),
    Column("km", "distance (km)", KM), Column("tkm", "transport (t-km)", CNY),
    Column("transport_cost_cny", "transport cost (CNY)", CNY),
]
OUTSOURCED_COLUMNS = [  # "place" and "id" (a source or a collection point), or "source"
    Column("place", "place"), Column("id", "id"), Column("source", "source"),
    Column("chemistry", "chemistry"),
    Column("condition", "condition"), Column("year", "year", INT),
    Column("tonnes", "tonnes (t)", TONNES),
]
COST_COLUMNS = [
    Column("category", "category"), Column("member", "member"), Column("year", "year", INT),
    Column("cost_cny", "cost (CNY, that year)", CNY),
    Column("discounted_cny", "discounted cost (CNY)", CNY),
]
ALLOCATION_COLUMNS = [
    Column("member", "member"), Column("method", "method"),
    Column("standalone_cost", "stand-alone cost (CNY)", CNY),
    Column("allocated_cost", "allocated cost (CNY)", CNY),
    Column("savings", "savings (CNY)", CNY),
    Column("savings_pct", "savings (% of stand-alone)", PCT, scale=0.01),
]
STABILITY_COLUMNS = [
    Column("method", "method"), Column("defined", "defined"), Column("in_core", "in core"),
    Column("most_blocking", "most-blocking coalition"),
    Column("excess", "largest excess (CNY)", CNY), Column("efficient", "efficient"),
]
COALITION_COLUMNS = [
    Column("coalition", "coalition"), Column("size", "members", INT),
    Column("cost_cny", "cost (CNY)", CNY), Column("status", "status"),
    Column("bound_cny", "bound (CNY)", CNY), Column("gap", "gap (%)", "0.00%"),
    Column("seconds", "solve time (s)", SECONDS),
]

KPI_FORMATS = {"t": TONNES, "fraction": PCT, "tCO2e": TONNES, "t-km": CNY, "count": INT,
               "CNY": CNY, "CNY (discounted)": CNY}


def _cell(value: Any) -> Any:
    """A plain Python value; NaN, missing and blank text as None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _width(values: list[Any], header: str, number_format: str) -> float:
    longest = len(header)
    for value in values[:2000]:
        if value is None:
            continue
        if isinstance(value, float | int) and not isinstance(value, bool):
            text = f"{value:,.1f}" if number_format not in (INT, GENERAL) else str(value)
        else:
            text = str(value)
        longest = max(longest, len(text))
    return min(max(longest + 2, 8), 60)


class _Sheet:
    """A worksheet being written, with the workbook's cached formats."""

    def __init__(self, report: _Report, title: str) -> None:
        self.report = report
        self.sheet = report.book.add_worksheet(title)
        self.widths: dict[int, float] = {}
        self.print_setup()

    def print_setup(self) -> None:
        """Print to the page's width (as many pages down as it takes), A4 landscape, the
        header row repeated on every page, the sheet's name and page number in the footer."""
        page = self.sheet
        page.set_landscape()
        page.set_paper(9)  # A4
        page.fit_to_pages(1, 0)  # 1 page wide, any number of pages tall
        page.repeat_rows(0)
        page.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.6)  # inches
        page.set_footer("&L&A&RPage &P of &N")

    def write(self, row: int, col: int, value: Any, number_format: str = GENERAL,
              bold: bool = False, color: str | None = None) -> None:
        style = self.report.style(number_format, bold=bold, color=color)
        value = _cell(value)
        if value is None:
            self.sheet.write_blank(row, col, None, style)
        elif isinstance(value, bool):
            self.sheet.write_boolean(row, col, value, style)
        elif isinstance(value, int | float):
            self.sheet.write_number(row, col, value, style)
        else:
            self.sheet.write_string(row, col, str(value), style)

    def fit(self, col: int, width: float) -> None:
        self.widths[col] = max(self.widths.get(col, 0.0), width)
        self.sheet.set_column(col, col, self.widths[col])

    def table(self, frame: pd.DataFrame, columns: list[Column], *, first_row: int = 0,
              autofilter: bool = True) -> int:
        """Header and rows of ``frame`` from ``first_row`` (0-based); returns the last row."""
        columns = [c for c in columns if c.source in frame.columns]
        header = self.report.header_style()
        for number, column in enumerate(columns):
            self.sheet.write_string(first_row, number, column.header, header)
        for number, column in enumerate(columns):
            values = [_cell(v) for v in frame[column.source].tolist()]
            if column.scale is not None:
                values = [v * column.scale if isinstance(v, int | float)
                          and not isinstance(v, bool) else v for v in values]
            for offset, value in enumerate(values, start=1):
                self.write(first_row + offset, number, value, column.number_format)
            self.fit(number, _width(values, column.header, column.number_format))
        last = first_row + len(frame)
        if autofilter and columns:
            self.sheet.autofilter(first_row, 0, last, len(columns) - 1)
        return last


class _Report:
    """An xlsxwriter workbook with one cached format per (number format, bold, color)."""

    def __init__(self, path: Path) -> None:
        import xlsxwriter

        self.book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False,
                                                    "strings_to_formulas": False,
                                                    "strings_to_urls": False})
        self._styles: dict[tuple, Any] = {}

    def style(self, number_format: str, *, bold: bool = False, color: str | None = None) -> Any:
        key = (number_format, bold, color)
        if key not in self._styles:
            spec: dict[str, Any] = {}
            if number_format != GENERAL:
                spec["num_format"] = number_format
            if bold:
                spec["bold"] = True
            if color:
                spec["font_color"] = color
            self._styles[key] = self.book.add_format(spec) if spec else None
        return self._styles[key]

    def header_style(self) -> Any:
        key = ("header",)
        if key not in self._styles:
            self._styles[key] = self.book.add_format(
                {"bold": True, "bg_color": "#DDE7F0", "bottom": 1, "valign": "vcenter"})
        return self._styles[key]

    def data_sheet(self, title: str, frame: pd.DataFrame, columns: list[Column]) -> _Sheet:
        sheet = _Sheet(self, title)
        sheet.table(frame, columns)
        sheet.sheet.freeze_panes(1, 0)
        return sheet


def _summary(report: _Report, plan: Any) -> None:
    sheet = _Sheet(report, "summary")
    rows: list[tuple[str, Any, str, str]] = [
        ("case", plan.case_name, "", GENERAL),
        ("status", plan.status, "", GENERAL),
        ("termination", plan.termination, "", GENERAL),
        ("solver", plan.solver, "", GENERAL),
        ("objective (discounted total cost)", plan.objective, "CNY", CNY),
        ("best bound", plan.bound, "CNY", CNY),
        ("relative gap", plan.gap, "fraction", "0.0000%"),
    ]
    for name, seconds in plan.timings.items():
        rows.append((f"time: {name.removesuffix('_s')}", seconds, "s", SECONDS))
    for row in plan.kpis.itertuples(index=False):
        unit = str(row.unit)
        rows.append((str(row.name), row.value, unit, KPI_FORMATS.get(unit, "#,##0.00")))
    frame = pd.DataFrame(rows, columns=["item", "value", "unit", "format"])
    header = report.header_style()
    for number, title in enumerate(("item", "value", "unit")):
        sheet.sheet.write_string(0, number, title, header)
    for offset, row in enumerate(frame.itertuples(index=False), start=1):
        sheet.write(offset, 0, row.item)
        sheet.write(offset, 1, row.value, row.format)
        sheet.write(offset, 2, row.unit)
    sheet.fit(0, _width(frame["item"].tolist(), "item", GENERAL))
    sheet.fit(1, 18)
    sheet.fit(2, _width(frame["unit"].tolist(), "unit", GENERAL))
    sheet.sheet.freeze_panes(1, 0)
    last = len(frame)
    if plan.status != "optimal":
        last += 2
        sheet.write(last, 0, f"Not proven optimal: status {plan.status}, gap {plan.gap:.4%}",
                    bold=True, color="#C00000")

    if len(plan.costs):
        start = last + 3
        sheet.write(start - 1, 0, "Discounted cost by category and member (CNY)", bold=True)
        pivot = plan.costs.pivot_table(index="category", columns="member",
                                       values="discounted_cny", aggfunc="sum", fill_value=0.0)
        pivot["total"] = pivot.sum(axis=1)
        pivot.loc["total"] = pivot.sum(axis=0)
        pivot = pivot.reset_index()
        pivot.columns = [str(c) for c in pivot.columns]
        columns = [Column("category", "category")] + [
            Column(c, f"{c} (CNY)", CNY) for c in pivot.columns if c != "category"]
        end = sheet.table(pivot, columns, first_row=start, autofilter=False)
        for number, column in enumerate(columns):  # the total row in bold
            sheet.write(end, number, pivot[column.source].iloc[-1], column.number_format,
                        bold=True)


def read_allocation(folder: str | Path) -> dict[str, pd.DataFrame]:
    """The allocation tables ``netopt run`` writes beside a plan (those that exist)."""
    folder = Path(folder)
    tables = {}
    for name in ALLOCATION_FILES:
        path = folder / name
        if path.exists() and path.stat().st_size:
            tables[name.removesuffix(".csv")] = pd.read_csv(
                path, dtype={"member": str, "coalition": str, "most_blocking": str},
                keep_default_na=False, na_values={"excess": [""], "allocated_cost": [""],
                                                  "savings": [""], "savings_pct": [""]})
    return tables


def write_report(plan: Any, path: str | Path, allocation_folder: str | Path | None = None,
                 *, overwrite: bool = True) -> Path:
    """Write the plan (and its savings allocation, if given) as one ``.xlsx`` workbook.

    ``allocation_folder`` is where ``allocation.csv``, ``allocation_stability.csv`` and
    ``coalition_values.csv`` are (the plan's folder after ``netopt run``); sheets for the
    tables found there are added. The workbook (written with XlsxWriter) is written beside
    its final place and moved there, so a failed write leaves no partial file.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; choose another path or overwrite")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.xlsx")
    try:
        report = _Report(tmp)
        _summary(report, plan)
        report.data_sheet("sites", plan.sites, SITE_COLUMNS)
        report.data_sheet("sources", plan.sources, SOURCE_COLUMNS)
        report.data_sheet("flows", plan.flows, FLOW_COLUMNS)
        report.data_sheet("outsourced", plan.outsourced, OUTSOURCED_COLUMNS)
        costs = report.data_sheet("costs", plan.costs, COST_COLUMNS)
        if len(plan.costs):
            row = len(plan.costs) + 1
            costs.write(row, 0, "total", bold=True)
            costs.write(row, 3, float(plan.costs["cost_cny"].sum()), CNY, bold=True)
            costs.write(row, 4, float(plan.costs["discounted_cny"].sum()), CNY, bold=True)
        if allocation_folder is not None:
            tables = read_allocation(allocation_folder)
            if "allocation" in tables:
                report.data_sheet("allocation", tables["allocation"], ALLOCATION_COLUMNS)
            if "allocation_stability" in tables:
                report.data_sheet("stability", tables["allocation_stability"],
                                  STABILITY_COLUMNS)
            if "coalition_values" in tables:
                report.data_sheet("coalitions", tables["coalition_values"], COALITION_COLUMNS)
        report.book.close()
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
