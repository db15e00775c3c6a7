"""The Case: validated input tables of one network-design problem.

``load_case(path)`` reads a folder of CSV (or Parquet) tables, one GeoPackage or one
Excel workbook, checks every value against the schema in :mod:`netopt.schema`, and
returns a :class:`Case`. Every problem found is collected and raised together as a
:class:`netopt.CaseError` naming file, row, column and rule.
"""

from __future__ import annotations

import difflib
import hashlib
import math
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from netopt.datasets import data_path
from netopt.errors import CaseError, Problem
from netopt.io.tables import RawTable, read_tables, textify
from netopt.schema import REQUIRED_TABLES, TABLES, Attribute, id_column, table_schema

#: Columns with these prefixes (or names) are kept as notes and never validated.
NOTE_PREFIXES = ("info_", "note", "comment")

OUTSIDE = ""  # member_id of facilities owned by an outside party

FACILITY_TABLES = ("collection_points", "dismantling_sites", "recyclers", "reuse_outlets")


def _blank(value: Any) -> bool:
    """True for None, NaN and '' (pandas may store a missing string as NaN)."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value == ""


def _is_note(column: str) -> bool:
    return column.startswith(NOTE_PREFIXES)


def _parse_cell(text: str, attribute: Attribute) -> tuple[Any, str | None]:
    """Parse one cell; returns (value, error message or None). Blank gives the default."""
    if text == "":
        if attribute.required:
            return None, "is required but empty"
        return attribute.default, None
    kind = attribute.type
    if kind in ("float", "int"):
        try:
            value = float(text.replace("_", ""))
        except ValueError:
            return None, f"must be a number (got '{text}')"
        if math.isnan(value):
            return None, "must be a number (got NaN)"
        if math.isinf(value) and not (
            isinstance(attribute.default, float) and math.isinf(attribute.default)
        ):
            return None, f"must be finite (got '{text}')"
        if kind == "int":
            if not value.is_integer():
                return None, f"must be a whole number (got '{text}')"
            value = int(value)
        if attribute.min is not None and value < attribute.min:
            return None, f"must be >= {attribute.min:g} (got {text})"
        if attribute.max is not None and value > attribute.max:
            return None, f"must be <= {attribute.max:g} (got {text})"
        return value, None
    if kind == "bool":
        lowered = text.lower()
        if lowered in {"true", "1", "yes", "y"}:
            return True, None
        if lowered in {"false", "0", "no", "n"}:
            return False, None
        return None, f"must be true or false (got '{text}')"
    if attribute.choices and text not in attribute.choices:
        return None, f"must be one of {', '.join(attribute.choices)} (got '{text}')"
    return text, None


def _parse_table(raw: RawTable, problems: list[Problem]) -> pd.DataFrame:
    """Check columns and parse every cell of one table; returns the typed frame."""
    schema = table_schema(raw.name)
    columns = [c for c in raw.frame.columns if not _is_note(c)]
    for column in columns:
        if column not in schema:
            hint = difflib.get_close_matches(column, list(schema), n=1)
            suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
            problems.append(
                Problem(
                    raw.origin,
                    raw.first_row - 1 if raw.first_row > 1 else None,
                    column,
                    f"unknown column{suggestion} (prefix it with 'info_' to keep it as a note)",
                )
            )
    missing = [a.name for a in schema.values() if a.required and a.name not in raw.frame.columns]
    for name in missing:
        problems.append(Problem(raw.origin, None, name, "required column is missing"))
    typed: dict[str, Any] = {}
    for attribute in schema.values():
        if attribute.name not in raw.frame.columns:
            typed[attribute.name] = pd.Series([attribute.default] * len(raw.frame), dtype=object)
            continue
        values = []
        for position, text in enumerate(raw.frame[attribute.name].tolist()):
            value, error = _parse_cell(text, attribute)
            if error:
                problems.append(
                    Problem(raw.origin, raw.row_number(position), attribute.name, error)
                )
            values.append(value)
        typed[attribute.name] = pd.Series(values, dtype=object)
    frame = pd.DataFrame(typed)
    for column in raw.frame.columns:
        if _is_note(column):
            frame[column] = raw.frame[column].to_numpy()
    return frame


def _check_ids(raw: RawTable, frame: pd.DataFrame, problems: list[Problem]) -> None:
    key = id_column(raw.name)
    if key is None or key not in raw.frame.columns:
        return
    seen: dict[str, int] = {}
    for position, value in enumerate(frame[key].tolist()):
        if _blank(value):
            continue
        if value in seen:
            problems.append(
                Problem(
                    raw.origin,
                    raw.row_number(position),
                    key,
                    f"duplicate id '{value}' (first at row {seen[value]})",
                )
            )
        else:
            seen[value] = raw.row_number(position)


#: Where a case's chain can end (:attr:`Case.chain_end`)
CHAIN_ENDS = ("collection_point", "dismantling_site", "recycler")


@dataclass
class Case:
    """Validated inputs of one recycling-network design problem.

    Tables are pandas DataFrames indexed by their id column; units are in the column
    names (t, t/yr, CNY, CNY/t, km). ``member_id`` is ``""`` for an outside party.
    """

    members: pd.DataFrame
    years: list[int]
    chemistries: pd.DataFrame
    sources: pd.DataFrame
    supply: pd.DataFrame  # columns source_id, chemistry, year, tonnes (long, no zeros needed)
    collection_points: pd.DataFrame
    dismantling_sites: pd.DataFrame
    dismantling_levels: pd.DataFrame  # columns dismantling_site_id, level, capacity...
    recyclers: pd.DataFrame
    reuse_outlets: pd.DataFrame
    parameters: dict[str, Any]
    road_nodes: pd.DataFrame | None = None
    road_edges: pd.DataFrame | None = None
    distances: pd.DataFrame | None = None  # origin_id, destination_id, km overrides
    name: str = "case"
    path: str | None = None
    #: where the chain ends (see :attr:`chain_end`); None: found from the tables
    chain_ends_at: str | None = None
    _hash: str | None = field(default=None, repr=False, compare=False)

    # --- convenience views -------------------------------------------------------
    @property
    def member_ids(self) -> list[str]:
        """Member ids, in the order of the members table."""
        return list(self.members.index)

    @property
    def chemistry_ids(self) -> list[str]:
        """Chemistry ids, in the order of the chemistries table."""
        return list(self.chemistries.index)

    @property
    def chain_end(self) -> str:
        """The echelon where the chain ends, what it takes in costing nothing further:
        ``"collection_point"`` (the case has no dismantling site), ``"dismantling_site"``
        (no recycler nor reuse outlet) or ``"recycler"``. ``chain_ends_at`` sets it; a
        coalition's case keeps its alliance's, so that a coalition owning no site must
        outsource what it collects rather than end the chain at its collection points."""
        if self.chain_ends_at is not None:
            return self.chain_ends_at
        if len(self.dismantling_sites) == 0:
            return "collection_point"
        if len(self.recyclers) + len(self.reuse_outlets) == 0:
            return "dismantling_site"
        return "recycler"

    def supply_tonnes(self) -> pd.Series:
        """Supply in tonnes indexed by (source_id, chemistry, year), zeros dropped."""
        frame = self.supply[self.supply["tonnes"] > 0]
        return frame.set_index(["source_id", "chemistry", "year"])["tonnes"]

    def total_supply_by_year(self) -> pd.Series:
        """Tonnes of supply per year."""
        return self.supply.groupby("year")["tonnes"].sum().reindex(self.years, fill_value=0.0)

    def replace(self, **changes: Any) -> Case:
        """A copy with some tables or parameters replaced (``parameters`` is merged)."""
        if "parameters" in changes:
            merged = dict(self.parameters)
            merged.update(changes["parameters"])
            changes["parameters"] = merged
        changes.setdefault("_hash", None)
        return replace(self, **changes)

    def content_hash(self) -> str:
        """SHA-256 of every table and parameter: equal hashes mean equal inputs."""
        if self._hash is None:
            digest = hashlib.sha256()
            for item in fields(self):
                if item.name in {"name", "path", "_hash"}:
                    continue
                value = getattr(self, item.name)
                if item.name == "chain_ends_at" and value is None:
                    continue  # found from the tables, which the hash already holds
                digest.update(item.name.encode())
                if isinstance(value, pd.DataFrame):
                    digest.update(value.to_csv().encode())
                else:
                    digest.update(repr(sorted(value.items()) if isinstance(value, dict)
                                       else value).encode())
            self._hash = digest.hexdigest()
        return self._hash

    def summary(self) -> dict[str, Any]:
        """Counts of the case's members, sources, candidates and supply."""
        return {
            "members": len(self.members),
            "years": f"{self.years[0]}-{self.years[-1]}",
            "chemistries": ", ".join(self.chemistry_ids),
            "sources": len(self.sources),
            "collection_points": len(self.collection_points),
            "dismantling_sites": len(self.dismantling_sites),
            "recyclers": len(self.recyclers),
            "reuse_outlets": len(self.reuse_outlets),
            "supply_t": float(self.supply["tonnes"].sum()),
        }


def _empty(table: str) -> pd.DataFrame:
    schema = table_schema(table)
    return pd.DataFrame({name: pd.Series(dtype=object) for name in schema})


def _parse_parameters(raw: RawTable | None, problems: list[Problem]) -> dict[str, Any]:
    schema = table_schema("parameters")
    values = {name: attribute.default for name, attribute in schema.items()}
    if raw is None:
        return values
    frame = raw.frame
    for column in ("parameter", "value"):
        if column not in frame.columns:
            problems.append(Problem(raw.origin, None, column, "required column is missing"))
            return values
    seen: dict[str, int] = {}
    for position, (name, text) in enumerate(zip(frame["parameter"], frame["value"])):
        row = raw.row_number(position)
        if name not in schema:
            hint = difflib.get_close_matches(name, list(schema), n=1)
            suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
            problems.append(Problem(raw.origin, row, "parameter",
                                    f"unknown parameter '{name}'{suggestion}"))
            continue
        if name in seen:
            problems.append(Problem(raw.origin, row, "parameter",
                                    f"parameter '{name}' given twice (first at row {seen[name]})"))
            continue
        seen[name] = row
        value, error = _parse_cell(text, schema[name])
        if error:
            problems.append(Problem(raw.origin, row, "value", f"{name} {error}"))
        else:
            values[name] = value
    return values


def _check_refs(
    raw: RawTable, frame: pd.DataFrame, ids: dict[str, set[str]], problems: list[Problem]
) -> None:
    for attribute in table_schema(raw.name).values():
        target = attribute.ref_table
        if target is None or attribute.name not in raw.frame.columns:
            continue
        known = ids.get(target, set())
        for position, value in enumerate(frame[attribute.name].tolist()):
            if _blank(value):
                continue  # a required blank is already reported
            items = [v.strip() for v in str(value).split(";")] if attribute.type.startswith(
                "list:") else [str(value)]
            for item in items:
                if item not in known:
                    problems.append(
                        Problem(
                            raw.origin,
                            raw.row_number(position),
                            attribute.name,
                            f"unknown {target[:-1] if target.endswith('s') else target}"
                            f" '{item}' (not in {target})",
                        )
                    )


def build_case(raw_tables: dict[str, RawTable], name: str = "case",
               path: str | None = None) -> Case:
    """Validate raw tables and assemble a Case; raises CaseError listing every problem."""
    problems: list[Problem] = []
    for table in sorted(REQUIRED_TABLES, key=TABLES.index):
        if table not in raw_tables:
            problems.append(Problem(f"{table}.csv", None, None, "required table is missing"))
    if "road_edges" in raw_tables and "road_nodes" not in raw_tables:
        problems.append(Problem("road_nodes.csv", None, None,
                                "required table is missing (road_edges.csv is given)"))
    if problems:
        raise CaseError(problems)
    for table, raw in raw_tables.items():
        if table != "parameters" and raw.frame.empty and table in REQUIRED_TABLES:
            problems.append(Problem(raw.origin, None, None, "has no rows"))
    typed: dict[str, pd.DataFrame] = {}
    for table in TABLES:
        if table == "parameters" or table not in raw_tables:
            continue
        raw = raw_tables[table]
        typed[table] = _parse_table(raw, problems)
        _check_ids(raw, typed[table], problems)
    parameters = _parse_parameters(raw_tables.get("parameters"), problems)

    ids: dict[str, set[str]] = {}
    for table, frame in typed.items():
        key = id_column(table)
        if key is not None and key in frame.columns:
            ids[table] = {str(v) for v in frame[key] if not _blank(v)}
    if "periods" in typed:
        ids["periods"] = {str(v) for v in typed["periods"]["year"] if not _blank(v)}
    for table, frame in typed.items():
        if table in raw_tables:
            _check_refs(raw_tables[table], frame, ids, problems)

    # Supply's year is a ref to periods: compare as integers too (e.g. "2026.0").
    if problems:
        raise CaseError(problems)

    years, supply = _check_years_and_supply(typed, raw_tables, problems)
    levels = typed.get("dismantling_levels", _empty("dismantling_levels"))
    _check_levels(typed, raw_tables, levels, problems)
    _check_members_own(typed, raw_tables, problems)

    if problems:
        raise CaseError(problems)

    supply["tonnes"] = supply["tonnes"].astype(float)
    levels = levels.copy()
    for column in ("capacity_t_per_yr", "annual_capex_cny", "fixed_cost_cny_per_yr"):
        levels[column] = levels[column].astype(float)

    def indexed(table: str) -> pd.DataFrame:
        return _indexed(typed, table)

    sites_frame = indexed("dismantling_sites")
    sites_frame["existing_level"] = sites_frame["existing_level"].fillna("").astype(str)
    case = Case(
        members=indexed("members"),
        years=years,
        chemistries=indexed("chemistries"),
        sources=indexed("sources"),
        supply=supply.reset_index(drop=True),
        collection_points=indexed("collection_points"),
        dismantling_sites=sites_frame,
        dismantling_levels=levels.reset_index(drop=True),
        recyclers=indexed("recyclers"),
        reuse_outlets=indexed("reuse_outlets"),
        parameters=parameters,
        road_nodes=indexed("road_nodes") if "road_nodes" in typed else None,
        road_edges=typed.get("road_edges"),
        distances=typed.get("distances"),
        name=name,
        path=path,
    )
    return case


def load_case(path: str | Path) -> Case:
    """Read and validate a case from a folder of CSV/Parquet tables, a .gpkg or an .xlsx.

    Raises :class:`netopt.CaseError` listing every problem (file, row, column, rule).
    """
    path = Path(path)
    tables = read_tables(path)
    name = path.stem if path.is_file() else path.name
    return build_case(tables, name=name, path=str(path))


def _check_years_and_supply(typed: dict[str, pd.DataFrame], raw_tables: dict[str, RawTable],
                            problems: list[Problem]) -> tuple[list[int], pd.DataFrame]:
    """The planning years (unique, consecutive) and the supply (no repeated row)."""
    years = sorted(int(y) for y in typed["periods"]["year"])
    periods_raw = raw_tables["periods"]
    if len(set(years)) != len(years):
        problems.append(Problem(periods_raw.origin, None, "year", "years must be unique"))
    elif years != list(range(years[0], years[0] + len(years))):
        problems.append(Problem(periods_raw.origin, None, "year",
                                f"years must be consecutive (got {years})"))

    supply = typed["supply"].copy()
    supply["year"] = supply["year"].astype(int)
    supply_raw = raw_tables["supply"]
    duplicated = supply.duplicated(["source_id", "chemistry", "year"], keep="first")
    for position in np.flatnonzero(duplicated.to_numpy()):
        record = supply.iloc[position]
        problems.append(Problem(supply_raw.origin, supply_raw.row_number(int(position)),
                                "tonnes", f"supply of {record.source_id}, {record.chemistry},"
                                f" {record.year} is given twice"))
    return years, supply


def _check_levels(typed: dict[str, pd.DataFrame], raw_tables: dict[str, RawTable],
                  levels: pd.DataFrame, problems: list[Problem]) -> None:
    """Every dismantling site has capacity levels, named once, its existing one among them."""
    sites = typed.get("dismantling_sites", _empty("dismantling_sites"))
    if "dismantling_levels" in raw_tables:
        lraw = raw_tables["dismantling_levels"]
        dup = levels.duplicated(["dismantling_site_id", "level"])
        for repeated in np.flatnonzero(dup.to_numpy()):
            problems.append(Problem(lraw.origin, lraw.row_number(int(repeated)), "level",
                                    "level name repeated for this site"))
    if len(sites):
        sraw = raw_tables["dismantling_sites"]
        with_levels = set(levels["dismantling_site_id"])
        for position, (site, existing) in enumerate(
            zip(sites["dismantling_site_id"], sites["existing_level"])
        ):
            if site not in with_levels:
                problems.append(Problem(sraw.origin, sraw.row_number(position),
                                        "dismantling_site_id",
                                        f"site '{site}' has no capacity level in"
                                        " dismantling_levels"))
            elif existing and existing not in set(
                levels.loc[levels["dismantling_site_id"] == site, "level"]
            ):
                problems.append(Problem(sraw.origin, sraw.row_number(position),
                                        "existing_level",
                                        f"level '{existing}' is not a level of site '{site}'"))


def _check_members_own(typed: dict[str, pd.DataFrame], raw_tables: dict[str, RawTable],
                       problems: list[Problem]) -> None:
    """Every member owns a source or a facility (else it cannot take part in the game)."""
    owned: set[str] = set(typed["sources"]["member_id"])
    for table in FACILITY_TABLES:
        if table in typed:
            owned |= {m for m in typed[table]["member_id"] if not _blank(m)}
    mraw = raw_tables["members"]
    for position, member in enumerate(typed["members"]["member_id"]):
        if member not in owned:
            problems.append(Problem(mraw.origin, mraw.row_number(position), "member_id",
                                    f"member '{member}' owns no source and no facility"))


def _indexed(typed: dict[str, pd.DataFrame], table: str) -> pd.DataFrame:
    """A checked table with its columns typed, indexed by its id column."""
    frame = typed.get(table, _empty(table))
    key = id_column(table)
    frame = frame.copy()
    if "member_id" in frame.columns:
        frame["member_id"] = frame["member_id"].fillna(OUTSIDE).astype(str)
    for column, attribute in table_schema(table).items():
        if attribute.type == "float":
            frame[column] = frame[column].astype(float)
        elif attribute.type == "bool":
            frame[column] = frame[column].astype(bool)
        elif attribute.type.startswith("list:"):
            frame[column] = frame[column].fillna("").astype(str)
    if key is not None:
        frame[key] = frame[key].astype(str)
        frame = frame.set_index(key)
    return frame


def default_case_path() -> Path:
    """Folder of the embedded default China case."""
    return data_path("china")


def validate(path: str | Path) -> list[Problem]:
    """Every problem of the case at ``path`` (empty when it is valid)."""
    try:
        load_case(path)
    except CaseError as exc:
        return exc.problems
    return []



def case_from_frames(
    tables: dict[str, pd.DataFrame], *, name: str = "case", path: str | None = None
) -> Case:
    """Validate in-memory tables (DataFrames by table name) into a Case.

    Same rules and messages as :func:`load_case`; a ``parameters`` table may also be
    given as a dict of parameter name to value.
    """
    raw: dict[str, RawTable] = {}
    for table, frame in tables.items():
        if frame is None:
            continue
        if table == "parameters" and isinstance(frame, dict):
            frame = pd.DataFrame({"parameter": list(frame), "value": list(frame.values())})
        raw[table] = RawTable(table, textify(frame), f"{table} table", 1)
    return build_case(raw, name=name, path=path)
