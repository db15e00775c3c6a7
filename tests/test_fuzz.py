"""Fuzzing: random valid cases through load, solve, allocate and export; corrupted case
files each give a clean one-line error (file, row, column, rule) and exit code 2.

Bounded for CI. A longer run: ``NETOPT_FUZZ_EXAMPLES=300 python -m pytest
tests/test_fuzz.py`` (see BENCHMARKS.md for its count and result).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netopt
from netopt.allocation import Game, nucleolus, shapley
from netopt.errors import CaseError
from netopt.game import coalition_values
from netopt.generate import write_case
from netopt.io.gis import SITE_LAYERS, write_plan
from netopt.schema import table_schema
from tests.conftest import run_cli
from tests.invariants import check_plan
from tests.strategies import case_tables

EXAMPLES = int(os.environ.get("NETOPT_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=EXAMPLES or 10, deadline=None, derandomize=not EXAMPLES,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])


def _write(tables: dict, folder: Path) -> Path:
    frames = dict(tables)
    frames["parameters"] = pd.DataFrame(
        {"parameter": list(tables["parameters"]),
         "value": [str(v).lower() if isinstance(v, bool) else str(v)
                   for v in tables["parameters"].values()]})
    write_case(frames, folder)
    return folder


def _fresh(tmp_path: Path, name: str, suffix: str = "") -> Path:
    """A path under ``tmp_path`` not used yet (hypothesis reuses the test's tmp_path)."""
    n = 0
    while (tmp_path / f"{name}-{n}{suffix}").exists():
        n += 1
    return tmp_path / f"{name}-{n}{suffix}"


# --- valid random cases: every stage ------------------------------------------------------

@FUZZ
@given(case_tables(max_sources=3, max_points=2))
def test_valid_random_case_loads_solves_allocates_and_exports(tmp_path, tables):
    folder = _write(tables, _fresh(tmp_path, "case"))
    case = netopt.load_case(folder)
    plan = netopt.solve(case, time_limit=60)
    check_plan(case, plan)

    # export: the GeoPackage read back by a real reader has a row per site and year
    gpkg = write_plan(plan, _fresh(tmp_path, "plan", ".gpkg"))
    layers = {name for name, _kind in pyogrio.list_layers(gpkg)}
    assert {"sources", "flows", *SITE_LAYERS.values()} <= layers
    for kind, layer in SITE_LAYERS.items():
        read = pyogrio.read_dataframe(gpkg, layer=layer)
        assert len(read) == plan.sites.loc[plan.sites["kind"] == kind, "id"].nunique()
    assert len(pyogrio.read_dataframe(gpkg, layer="sources")) == len(case.sources)

    # allocation: efficient, and the grand coalition's cost is the plan's
    if len(case.member_ids) >= 2:
        with ThreadPoolExecutor(1) as pool:
            costs = coalition_values(case, executor=pool, progress=False)
        grand = costs[frozenset(case.member_ids)]
        assert grand == pytest.approx(plan.objective, rel=1e-3, abs=1e-3)
        game = Game.from_costs(costs)
        for method in (shapley, nucleolus):
            assert method(game).sum() == pytest.approx(game.grand_value, rel=1e-6, abs=1e-6)


# --- corrupted cases: a clean error each -------------------------------------------------

TABLES = ["members", "periods", "chemistries", "sources", "supply", "collection_points",
          "dismantling_sites", "dismantling_levels", "recyclers", "reuse_outlets"]


def _required_columns(table: str) -> list[str]:
    return [a.name for a in table_schema(table).values() if a.required and a.default is None]


def _numeric_columns(table: str, minimum_zero: bool = False) -> list[str]:
    return [a.name for a in table_schema(table).values() if a.type in ("float", "int")
            and (not minimum_zero or a.min == 0)]


def _read(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)


def _save(frame: pd.DataFrame, folder: Path, table: str) -> None:
    frame.to_csv(folder / f"{table}.csv", index=False)


@st.composite
def corruptions(draw):
    """(kind, table, row, column, value): one change that breaks a rule of the schema."""
    kind = draw(st.sampled_from([
        "missing_file", "missing_column", "blank_cell", "wrong_type", "nan", "infinite",
        "negative", "unknown_ref", "duplicate_id", "empty_file", "truncated_line",
        "not_utf8", "binary_garbage"]))
    table = draw(st.sampled_from(TABLES))
    return kind, table, draw(st.integers(0, 50)), draw(st.integers(0, 50))


def _apply(folder: Path, kind: str, table: str, pick_row: int, pick_col: int):
    """Corrupt ``folder``; returns (file, row, column) the error must name (None: any)."""
    path = folder / f"{table}.csv"
    file = path.name
    if kind == "missing_file":
        if table in ("dismantling_levels", "recyclers", "reuse_outlets", "periods",
                     "dismantling_sites"):
            table, path, file = "sources", folder / "sources.csv", "sources.csv"
        path.unlink()
        return file, None, None
    if kind == "empty_file":
        path.write_text("")
        return file, None, None
    if kind == "not_utf8":
        path.write_bytes(path.read_bytes() + "x,Zubehör\n".encode("latin-1"))
        return file, None, None
    if kind == "binary_garbage":
        path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xff\xfe\x00")
        return file, None, None
    frame = _read(folder, table)
    if len(frame) == 0:
        path.unlink()
        return file, None, None
    row = pick_row % len(frame)
    required = _required_columns(table)
    if len(frame.columns) == 1:
        # a one-column table's blank cell is a blank line (skipped by CSV readers) and
        # without its column the file is empty: the error names the file, or the rows
        # that refer to the id now missing
        frame.iloc[row, 0] = "" if kind != "missing_column" else frame.iloc[row, 0]
        _save(frame if kind != "missing_column" else frame.iloc[:, :0], folder, table)
        return None, None, None
    if kind == "missing_column":
        column = required[pick_col % len(required)]
        _save(frame.drop(columns=[column]), folder, table)
        return file, None, column
    if kind == "truncated_line":
        text = path.read_text(encoding="utf-8")
        header = text.splitlines()[0]
        if header.count(",") == 0:
            path.write_text(text + "a,b,c\n")
        else:
            path.write_text(text + ",".join(header.split(",")[:1]) + "\n")
        return file, None, None
    if kind == "duplicate_id":  # a copied row repeats its table's key
        frame = pd.concat([frame, frame.iloc[[row]]], ignore_index=True)
        _save(frame, folder, table)
        return file, len(frame) + 1, None
    if kind in ("unknown_ref",):
        refs = [c for c in frame.columns if c in ("member_id", "source_id",
                                                  "dismantling_site_id", "chemistry")
                and c != frame.columns[0]]
        if table in ("supply", "dismantling_levels"):
            refs = [frame.columns[0]]
        if refs:
            column = refs[pick_col % len(refs)]
            frame.loc[row, column] = "no-such-id"
            _save(frame, folder, table)
            return file, row + 2, column
        kind = "blank_cell"
    numeric = _numeric_columns(table, minimum_zero=kind == "negative")
    if kind in ("wrong_type", "nan", "infinite", "negative") and numeric:
        column = numeric[pick_col % len(numeric)]
        frame.loc[row, column] = {"wrong_type": "twelve", "nan": "nan", "infinite": "inf",
                                  "negative": "-5"}[kind]
        if kind == "infinite" and table == "dismantling_levels" and column == "level":
            frame.loc[row, column] = "twelve"
        _save(frame, folder, table)
        return file, row + 2, column
    # blank a required cell (and the fall-back of kinds that do not apply to the table)
    column = required[pick_col % len(required)]
    frame.loc[row, column] = ""
    _save(frame, folder, table)
    return file, row + 2, column


@FUZZ
@given(case_tables(max_sources=3, max_points=2), corruptions())
def test_corrupted_case_gives_a_clean_error(tmp_path, capsys, tables, corruption):
    folder = _write(tables, _fresh(tmp_path, "case"))
    kind, table, pick_row, pick_col = corruption
    file, row, column = _apply(folder, kind, table, pick_row, pick_col)

    with pytest.raises(CaseError) as caught:
        netopt.load_case(folder)
    problems = caught.value.problems
    assert problems and all(p.file for p in problems)
    if file is not None:
        assert any(p.file == file for p in problems), [str(p) for p in problems]
    if row is not None:
        assert any(p.file == file and p.row == row for p in problems), \
            [str(p) for p in problems]
    if column is not None:
        assert any(p.file == file and p.column == column for p in problems), \
            [str(p) for p in problems]

    for command in ("validate", "run"):
        code, out, err = run_cli(capsys, command, str(folder), "--out",
                                 str(tmp_path / "never")) if command == "run" else \
            run_cli(capsys, command, str(folder))
        assert code == 2, (command, out, err)
        assert "Traceback" not in out + err
        assert (file or problems[0].file) in err
    assert not (tmp_path / "never").exists()  # nothing written for a bad case
