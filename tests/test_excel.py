"""The Excel report (written with XlsxWriter) read back with an independent reader, openpyxl."""

from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import load_workbook

import netopt
from netopt.allocation import Game, savings_report
from netopt.datasets import data_path
from netopt.io.excel import write_report

PLAN_SHEETS = ["summary", "sites", "sources", "flows", "outsourced", "costs"]


@pytest.fixture(scope="module")
def plan():
    return netopt.solve(netopt.load_case(data_path("tiny/basic")))


@pytest.fixture()
def allocation_folder(tmp_path):
    """The allocation tables ``netopt run`` writes, for data/tiny/basic's game.

    Coalition costs from data/tiny/basic/README.md: c(A) = 7,000, c(B) = 20,000 and
    c(AB) = 8,000 CNY, so the alliance saves 19,000 CNY.
    """
    costs = {frozenset({"A"}): 7000.0, frozenset({"B"}): 20000.0,
             frozenset({"A", "B"}): 8000.0}
    members, stability = savings_report(Game.from_costs(costs))
    folder = tmp_path / "plan"
    folder.mkdir()
    members.to_csv(folder / "allocation.csv", index=False)
    stability.to_csv(folder / "allocation_stability.csv", index=False)
    pd.DataFrame({"coalition": ["A", "B", "A+B"], "cost_cny": [7000.0, 20000.0, 8000.0],
                  "status": "optimal", "bound_cny": [7000.0, 20000.0, 8000.0], "gap": 0.0,
                  "seconds": 0.01, "size": [1, 1, 2]}).to_csv(
        folder / "coalition_values.csv", index=False)
    return folder


def rows(sheet) -> list[tuple]:
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def header(sheet) -> list[str]:
    return [cell.value for cell in sheet[1] if cell.value is not None]


def test_report_sheets_headers_and_totals(plan, allocation_folder, tmp_path):
    path = write_report(plan, tmp_path / "report.xlsx", allocation_folder=allocation_folder)
    book = load_workbook(path)
    assert book.sheetnames == [*PLAN_SHEETS, "allocation", "stability", "coalitions"]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title  # header row stays in view
        assert all(sheet.column_dimensions[c].width >= 8 for c in "ABC"), sheet.title

    assert header(book["sites"]) == [
        "kind", "id", "name", "member", "year", "open", "level", "capacity (t/yr)",
        "throughput (t)", "utilisation (%)", "latitude (deg N)", "longitude (deg E)"]
    assert header(book["flows"]) == [
        "leg", "origin", "destination", "chemistry", "condition", "year", "tonnes (t)",
        "distance (km)", "transport (t-km)", "transport cost (CNY)"]
    assert header(book["costs"]) == ["category", "member", "year", "cost (CNY, that year)",
                                     "discounted cost (CNY)"]
    assert header(book["allocation"])[2:] == [
        "stand-alone cost (CNY)", "allocated cost (CNY)", "savings (CNY)",
        "savings (% of stand-alone)"]

    costs = book["costs"]
    data = rows(costs)
    assert len(data) == len(plan.costs) + 2  # header, one row per cost, total
    total = data[-1]
    assert total[0] == "total"
    assert total[4] == pytest.approx(plan.objective) == pytest.approx(8000)
    assert sum(r[4] for r in data[1:-1]) == pytest.approx(plan.objective)
    assert costs.auto_filter.ref == f"A1:E{len(plan.costs) + 1}"
    assert costs.cell(row=2, column=5).number_format == "#,##0"

    summary = {r[0]: r[1] for r in rows(book["summary"])[1:] if r[0]}
    assert summary["status"] == "optimal"
    assert summary["objective (discounted total cost)"] == pytest.approx(8000)
    assert summary["best bound"] == pytest.approx(8000)
    assert summary["relative gap"] == pytest.approx(0)
    assert summary["collected_t"] == pytest.approx(150)
    assert summary["collection_rate"] == pytest.approx(1.0)
    pivot_header = [r for r in rows(book["summary"]) if r[0] == "category"][0]
    assert pivot_header[-1] == "total (CNY)"  # cost by category and member ...
    pivot_total = [r for r in rows(book["summary"]) if r[0] == "total"][-1]
    assert pivot_total[-1] == pytest.approx(8000)  # ... adds up to the objective

    flows = book["flows"]
    tonnes = {(r[1], r[2]): r[6] for r in rows(flows)[1:]}
    assert tonnes == {("s1", "c1"): 100, ("s2", "c1"): 50, ("c1", "d1"): 150,
                      ("d1", "r1"): 150}
    assert flows.cell(row=2, column=7).number_format == "#,##0.0"
    sites = {r[1]: r for r in rows(book["sites"])[1:]}
    assert sites["c1"][5] is True and sites["c2"][5] is False
    assert sites["c1"][9] == pytest.approx(0.75)
    assert book["sites"].cell(row=2, column=10).number_format == "0.0%"

    allocation = rows(book["allocation"])[1:]
    shapley = {r[0]: r for r in allocation if r[1] == "shapley"}
    assert shapley["A"][2] == pytest.approx(7000) and shapley["B"][2] == pytest.approx(20000)
    assert shapley["A"][4] == pytest.approx(9500) and shapley["B"][4] == pytest.approx(9500)
    assert shapley["B"][5] == pytest.approx(0.475)  # 47.5 % shown as a percentage
    assert shapley["A"][3] + shapley["B"][3] == pytest.approx(plan.objective)
    stability = {r[0]: r for r in rows(book["stability"])[1:]}
    assert stability["nucleolus"][2] is True
    coalitions = {r[0]: r[2] for r in rows(book["coalitions"])[1:]}
    assert coalitions == {"A": 7000, "B": 20000, "A+B": 8000}


def test_report_without_allocation(plan, tmp_path):
    path = write_report(plan, tmp_path / "report.xlsx")
    assert load_workbook(path).sheetnames == PLAN_SHEETS
    path = write_report(plan, tmp_path / "report2.xlsx", allocation_folder=tmp_path)
    assert load_workbook(path).sheetnames == PLAN_SHEETS  # no CSVs there
    with pytest.raises(FileExistsError):
        write_report(plan, path, overwrite=False)
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_report_of_a_time_limited_plan_says_so(plan, tmp_path):
    from dataclasses import replace

    stopped = replace(plan, status="time_limit", bound=7000.0, gap=0.125)
    book = load_workbook(write_report(stopped, tmp_path / "report.xlsx"))
    texts = [r[0] for r in rows(book["summary"]) if isinstance(r[0], str)]
    assert any(t.startswith("Not proven optimal: status time_limit") for t in texts)


def test_export_xlsx_command_includes_allocation(plan, allocation_folder, capsys):
    from netopt.cli import main

    plan.write_tables(allocation_folder)  # a plan folder as netopt run leaves it
    capsys.readouterr()
    assert main(["export", str(allocation_folder), "--to", "xlsx"]) == 0
    book = load_workbook(allocation_folder / "report.xlsx")
    assert "allocation" in book.sheetnames
    assert main(["export", str(allocation_folder), "--to", "xlsx"]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_every_sheet_prints_to_its_page_width_with_frozen_headers(plan, allocation_folder,
                                                                   tmp_path):
    """Printed (e.g. LibreOffice to PDF), each sheet fits one page wide, A4 landscape, the
    header row repeated on every page; on screen the header row stays frozen."""
    path = write_report(plan, tmp_path / "report.xlsx", allocation_folder)
    book = load_workbook(path)
    assert len(book.sheetnames) == 9
    for sheet in book.worksheets:
        setup = sheet.page_setup
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.title
        # fitToWidth absent is 1 (ECMA-376's default); fitToHeight 0: as many pages as needed
        assert int(setup.fitToWidth or 1) == 1 and int(setup.fitToHeight) == 0, sheet.title
        assert setup.orientation == "landscape" and int(setup.paperSize) == 9, sheet.title
        assert sheet.print_title_rows.replace("$", "") == "1:1", sheet.title
        assert sheet.freeze_panes == "A2", sheet.title
        assert "&A" in sheet.oddFooter.left.text and "&P" in sheet.oddFooter.right.text
