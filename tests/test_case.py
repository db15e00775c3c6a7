"""Loading and validating cases: one test per validation rule, and every reader."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import netopt
from netopt.case import load_case, validate
from netopt.datasets import data_path


@pytest.fixture
def basic(tmp_path: Path) -> Path:
    """A writable copy of data/tiny/basic."""
    target = tmp_path / "basic"
    shutil.copytree(data_path("tiny/basic"), target)
    return target


def edit(folder: Path, table: str, row: int, column: str, value: str) -> None:
    """Set one cell of a CSV table (row counts data rows from 0)."""
    frame = pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)
    frame.loc[row, column] = value
    frame.to_csv(folder / f"{table}.csv", index=False)


def only_problem(folder: Path):
    problems = validate(folder)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def test_valid_case_loads(basic):
    case = load_case(basic)
    assert case.member_ids == ["A", "B"]
    assert case.years == [2026]
    assert case.supply["tonnes"].sum() == pytest.approx(150)
    assert validate(basic) == []


def test_missing_required_table(basic):
    (basic / "sources.csv").unlink()
    problem = validate(basic)[0]
    assert problem.file == "sources.csv" and "required table is missing" in problem.message


def test_missing_required_column(basic):
    frame = pd.read_csv(basic / "sources.csv").drop(columns="lat")
    frame.to_csv(basic / "sources.csv", index=False)
    problem = only_problem(basic)
    assert (problem.file, problem.column) == ("sources.csv", "lat")
    assert "required column is missing" in problem.message


def test_unknown_column_suggests(basic):
    frame = pd.read_csv(basic / "collection_points.csv").rename(
        columns={"handling_cost_cny_per_t": "handling_cost_per_t"})
    frame.to_csv(basic / "collection_points.csv", index=False)
    problem = only_problem(basic)
    assert problem.column == "handling_cost_per_t"
    assert "did you mean 'handling_cost_cny_per_t'" in problem.message


def test_wrong_type(basic):
    edit(basic, "supply", 1, "tonnes", "fifty")
    problem = only_problem(basic)
    assert (problem.file, problem.row, problem.column) == ("supply.csv", 3, "tonnes")
    assert "must be a number (got 'fifty')" in problem.message


def test_empty_required_cell(basic):
    edit(basic, "sources", 0, "member_id", "")
    problem = only_problem(basic)
    assert (problem.row, problem.column) == (2, "member_id")
    assert "required but empty" in problem.message


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf"])
def test_nan_and_infinite_numbers(basic, text):
    edit(basic, "collection_points", 0, "capacity_t_per_yr", text)
    problem = only_problem(basic)
    assert problem.column == "capacity_t_per_yr"
    assert "NaN" in problem.message or "finite" in problem.message


@pytest.mark.parametrize("table,column", [
    ("collection_points", "capacity_t_per_yr"),
    ("collection_points", "handling_cost_cny_per_t"),
    ("supply", "tonnes"),
    ("chemistries", "outsourcing_cost_cny_per_t"),
])
def test_negative_values(basic, table, column):
    edit(basic, table, 0, column, "-5")
    problem = only_problem(basic)
    assert (problem.file, problem.row, problem.column) == (f"{table}.csv", 2, column)
    assert "must be >= 0" in problem.message


@pytest.mark.parametrize("column,value", [("lat", "95"), ("lon", "-181")])
def test_coordinates_out_of_range(basic, column, value):
    edit(basic, "sources", 1, column, value)
    problem = only_problem(basic)
    assert (problem.row, problem.column) == (3, column)


def test_unknown_reference(basic):
    edit(basic, "supply", 0, "source_id", "s9")
    problem = only_problem(basic)
    assert (problem.file, problem.row, problem.column) == ("supply.csv", 2, "source_id")
    assert "unknown source 's9'" in problem.message


def test_duplicate_id(basic):
    edit(basic, "collection_points", 1, "collection_point_id", "c1")
    problem = only_problem(basic)
    assert (problem.row, problem.column) == (3, "collection_point_id")
    assert "duplicate id 'c1' (first at row 2)" in problem.message


def test_duplicate_supply_row(basic):
    edit(basic, "supply", 1, "source_id", "s1")
    problems = validate(basic)
    assert any("given twice" in p.message and p.row == 3 for p in problems)


def test_member_that_owns_nothing(basic):
    with open(basic / "members.csv", "a") as handle:
        handle.write("C,Idle member,other\n")
    problem = only_problem(basic)
    assert (problem.file, problem.row, problem.column) == ("members.csv", 4, "member_id")
    assert "owns no source and no facility" in problem.message


def test_periods_must_be_consecutive(basic):
    (basic / "periods.csv").write_text("year\n2026\n2028\n")
    problem = only_problem(basic)
    assert problem.file == "periods.csv" and "consecutive" in problem.message


def test_supply_year_not_a_period(basic):
    edit(basic, "supply", 0, "year", "2030")
    problem = only_problem(basic)
    assert problem.column == "year" and "unknown period '2030'" in problem.message


def test_unknown_parameter(basic):
    with open(basic / "parameters.csv", "a") as handle:
        handle.write("discount_rat,0.05,\n")
    problem = only_problem(basic)
    assert problem.file == "parameters.csv" and problem.row == 6
    assert "did you mean 'discount_rate'" in problem.message


def test_bad_parameter_value(basic):
    with open(basic / "parameters.csv", "a") as handle:
        handle.write("discount_rate,2,\n")
    problem = only_problem(basic)
    assert problem.column == "value" and "discount_rate must be <= 1" in problem.message


def test_site_without_levels(basic):
    (basic / "dismantling_levels.csv").write_text(
        "dismantling_site_id,level,capacity_t_per_yr\n")
    problems = validate(basic)
    assert any("has no capacity level" in p.message for p in problems)


def test_empty_file(basic):
    (basic / "sources.csv").write_text("")
    problem = only_problem(basic)
    assert problem.file == "sources.csv" and "is empty" in problem.message


def test_truncated_csv_line(basic):
    with open(basic / "supply.csv", "a") as handle:
        handle.write("s1,NMC\n")
    problem = only_problem(basic)
    assert (problem.file, problem.row) == ("supply.csv", 4)
    assert "has 2 fields but the header has 4" in problem.message


def test_not_utf8(basic):
    (basic / "members.csv").write_bytes("member_id,name\nA,Hersteller Ä\n".encode("latin-1"))
    problem = only_problem(basic)
    assert problem.file == "members.csv" and "not UTF-8" in problem.message


def test_not_the_format_its_name_says(tmp_path):
    fake = tmp_path / "case.xlsx"
    fake.write_text("this is not a workbook")
    problem = validate(fake)[0]
    assert problem.file == "case.xlsx" and "not a readable Excel workbook" in problem.message


def test_every_problem_listed_at_once(basic):
    edit(basic, "supply", 0, "tonnes", "-1")
    edit(basic, "sources", 1, "lat", "abc")
    edit(basic, "collection_points", 0, "existing", "maybe")
    problems = validate(basic)
    assert len(problems) == 3
    with pytest.raises(netopt.CaseError) as info:
        load_case(basic)
    assert "and 2 more problem(s)" in str(info.value)


# --- other readers give the same case ------------------------------------------------

def _tables(case):
    return (case.supply.sort_values(["source_id", "year"]).reset_index(drop=True),
            case.collection_points, case.parameters)


def test_parquet_folder_equals_csv(basic, tmp_path):
    target = tmp_path / "parquet"
    target.mkdir()
    for path in basic.glob("*.csv"):
        pd.read_csv(path, dtype=str, keep_default_na=False).to_parquet(
            target / f"{path.stem}.parquet")
    a, b = load_case(basic), load_case(target)
    pd.testing.assert_frame_equal(_tables(a)[0], _tables(b)[0])
    assert netopt.solve(b).objective == pytest.approx(8000)


def test_excel_workbook_equals_csv(basic, tmp_path):
    book = tmp_path / "case.xlsx"
    with pd.ExcelWriter(book) as writer:
        for path in sorted(basic.glob("*.csv")):
            pd.read_csv(path, dtype=str, keep_default_na=False).to_excel(
                writer, sheet_name=path.stem, index=False)
    case = load_case(book)
    assert netopt.solve(case).objective == pytest.approx(8000)
    # a bad cell is reported with the sheet and the spreadsheet row number
    frame = pd.read_excel(book, sheet_name=None, dtype=str)
    frame["supply"].loc[1, "tonnes"] = "-3"
    with pd.ExcelWriter(book) as writer:
        for name, sheet in frame.items():
            sheet.to_excel(writer, sheet_name=name, index=False)
    problem = validate(book)[0]
    assert (problem.file, problem.row, problem.column) == ("case.xlsx[supply]", 3, "tonnes")


def test_geopackage_layers_equal_csv(basic, tmp_path):
    import geopandas as gpd

    gpkg = tmp_path / "case.gpkg"
    for path in sorted(basic.glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if {"lat", "lon"} <= set(frame.columns):
            geo = gpd.GeoDataFrame(
                frame.drop(columns=["lat", "lon"]),
                geometry=gpd.points_from_xy(frame["lon"].astype(float) if len(frame) else [],
                                            frame["lat"].astype(float) if len(frame) else []),
                crs=4326)
            geo.to_file(gpkg, layer=path.stem, driver="GPKG")
        else:
            gpd.GeoDataFrame(frame, geometry=[None] * len(frame), crs=4326).to_file(
                gpkg, layer=path.stem, driver="GPKG")
    case = load_case(gpkg)
    assert case.sources.loc["s2", "lon"] == pytest.approx(120.1)
    assert netopt.solve(case).objective == pytest.approx(8000)


# --- road graph tables -------------------------------------------------------------------

def write_road(folder: Path, edges: str, nodes: str | None = None) -> None:
    (folder / "distances.csv").unlink()
    if nodes is None:
        nodes = "node_id,lat,lon\na,30.0,120.0\nb,31.0,120.0\nc,32.0,120.0\n"
    if nodes:
        (folder / "road_nodes.csv").write_text(nodes)
    (folder / "road_edges.csv").write_text(edges)


def test_road_graph_loads(basic):
    write_road(basic, "from_node,to_node,km\na,b,150\nb,c,150\n")
    case = load_case(basic)
    assert len(case.road_edges) == 2 and list(case.road_nodes.index) == ["a", "b", "c"]


def test_road_edges_without_nodes(basic):
    write_road(basic, "from_node,to_node,km\na,b,150\n", nodes="")
    problem = only_problem(basic)
    assert problem.file == "road_nodes.csv" and "missing" in problem.message


def test_road_edge_unknown_node(basic):
    write_road(basic, "from_node,to_node,km\na,b,150\nb,zz,150\n")
    problem = only_problem(basic)
    assert (problem.file, problem.row, problem.column) == ("road_edges.csv", 3, "to_node")
    assert "zz" in problem.message


def test_road_edge_negative_length(basic):
    write_road(basic, "from_node,to_node,km\na,b,-150\nb,c,150\n")
    problem = only_problem(basic)
    assert (problem.file, problem.row, problem.column) == ("road_edges.csv", 2, "km")


def test_road_node_out_of_range(basic):
    write_road(basic, "from_node,to_node,km\na,b,150\n",
               nodes="node_id,lat,lon\na,30.0,120.0\nb,91.0,120.0\n")
    problem = only_problem(basic)
    assert (problem.file, problem.row, problem.column) == ("road_nodes.csv", 3, "lat")


def test_road_graph_that_cuts_a_source_off(basic):
    """Two road components: the sources' side reaches no dismantling site, so with
    outsourcing off the pre-solve checks name the sources that cannot be served."""
    write_road(basic, "from_node,to_node,km\nb,c,150\n",
               nodes="node_id,lat,lon\na,30.0,120.05\nb,31.0,120.0\nc,32.0,120.0\n")
    edit(basic, "parameters", 0, "parameter", "allow_outsourcing")
    edit(basic, "parameters", 0, "value", "false")
    plan = netopt.solve(load_case(basic))
    assert plan.status == "infeasible"
    text = " ".join(plan.explanation["message"])
    assert "s1" in text and "s2" in text
