"""The Plan: a solved network design as tidy tables, with its solver status.

Tables (pandas DataFrames, one row per thing, units in column names):

- ``sites``: one row per candidate facility and year: kind, id, name, member, lat, lon,
  opened, level, capacity_t_per_yr, throughput_t, utilisation.
- ``sources``: one row per source and year: kind, id, name, member, lat, lon, supply_t,
  collected_t, outsourced_t.
- ``flows``: one row per arc, product and year with tonnes > 0: leg, origin, destination,
  chemistry, condition, year, tonnes, km, transport_cost_cny.
- ``outsourced``: packs handed to licensed third parties, one row per place (a source,
  or a collection point that cannot send them on), product and year with tonnes > 0.
- ``costs``: one row per category, member and year: cost_cny (that year's money) and
  discounted_cny (its part of the objective). ``costs.discounted_cny.sum()`` equals
  ``objective``. Revenue rows are negative.
- ``kpis``: one row per indicator: name, value, unit.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from netopt.files import jsonable, write_folder_atomically


class Status(StrEnum):
    """How a solve ended: a Plan's ``status`` (each equal to its string, e.g. "optimal")."""

    OPTIMAL = "optimal"
    TIME_LIMIT = "time_limit"  # stopped by the time limit with a feasible plan
    INFEASIBLE = "infeasible"
    NO_SOLUTION = "no_solution"  # stopped (time limit, interrupt) before any feasible plan
    INTERRUPTED = "interrupted"  # stopped by the user with a feasible plan


OPTIMAL = Status.OPTIMAL
TIME_LIMIT = Status.TIME_LIMIT
INFEASIBLE = Status.INFEASIBLE
NO_SOLUTION = Status.NO_SOLUTION
INTERRUPTED = Status.INTERRUPTED

TABLES = ("sites", "sources", "flows", "outsourced", "costs", "kpis")
SOURCE_COLUMNS = ["id", "name", "kind", "member", "lat", "lon", "year", "supply_t",
                  "collected_t", "outsourced_t"]
SITE_COLUMNS = ["kind", "id", "name", "member", "lat", "lon", "year", "opened", "level",
                "capacity_t_per_yr", "throughput_t", "utilisation"]
OUTSOURCED_COLUMNS = ["place", "id", "chemistry", "condition", "year", "tonnes"]

#: Each leg of ``Plan.flows`` -> (origin kind, destination kind): "source" is a row of
#: ``Plan.sources``, the others a ``kind`` of ``Plan.sites``. The model's legs, in order.
LEG_ENDS = {
    "source_collection": ("source", "collection_point"),
    "collection_site": ("collection_point", "dismantling_site"),
    "source_site": ("source", "dismantling_site"),
    "site_recycler": ("dismantling_site", "recycler"),
    "site_reuse": ("dismantling_site", "reuse_outlet"),
}

FLOW_COLUMNS = ["leg", "origin", "destination", "chemistry", "condition", "year", "tonnes",
                "km", "tkm", "transport_cost_cny"]



def relative_gap(objective: float, bound: float) -> float:
    """The gap between a plan's ``objective`` and a ``bound`` on it, relative to the
    objective (CNY / CNY); inf unless both are finite."""
    if not (math.isfinite(objective) and math.isfinite(bound)):
        return float("inf")
    return abs(objective - bound) / max(abs(objective), 1e-10) if objective != bound else 0.0

@dataclass
class Plan:
    """A network plan and how it was found. Money in CNY, mass in t, distance in km."""

    #: Each leg of :attr:`flows` -> (origin kind, destination kind), as :data:`LEG_ENDS`.
    leg_ends: ClassVar[dict[str, tuple[str, str]]] = LEG_ENDS

    status: str
    objective: float
    bound: float
    gap: float
    sites: pd.DataFrame
    sources: pd.DataFrame
    flows: pd.DataFrame
    outsourced: pd.DataFrame
    costs: pd.DataFrame
    kpis: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)
    case_name: str = "case"
    case_hash: str = ""
    termination: str = ""
    solver: str = "highs"
    meta: dict[str, Any] = field(default_factory=dict)
    explanation: pd.DataFrame | None = None  # why an infeasible case is infeasible

    @classmethod
    def empty(cls, case: Any, *, status: str, termination: str = "",
              timings: dict[str, float] | None = None, explanation: pd.DataFrame | None = None,
              solver: str = "highs", bound: float = float("nan")) -> Plan:
        """A plan with no solution (infeasible or stopped before any was found)."""
        return cls(
            status=status, objective=float("nan"), bound=bound, gap=float("inf"),
            sites=pd.DataFrame(columns=SITE_COLUMNS),
            sources=pd.DataFrame(columns=SOURCE_COLUMNS), flows=pd.DataFrame(columns=FLOW_COLUMNS),
            outsourced=pd.DataFrame(columns=OUTSOURCED_COLUMNS),
            costs=pd.DataFrame(columns=["category", "member", "year", "cost_cny",
                                        "discounted_cny"]),
            kpis=pd.DataFrame(columns=["name", "value", "unit"]),
            timings=timings or {}, case_name=case.name, case_hash=case.content_hash(),
            termination=termination, solver=solver, explanation=explanation,
        )

    @property
    def is_optimal(self) -> bool:
        """True when the plan is proven optimal (within the MIP gap)."""
        return self.status == OPTIMAL

    @property
    def has_solution(self) -> bool:
        """True when the plan has flows to show (optimal, time limit or interrupted)."""
        return self.status in (OPTIMAL, TIME_LIMIT, INTERRUPTED)

    def kpi(self, name: str) -> float:
        """Value of one KPI by name."""
        row = self.kpis.loc[self.kpis["name"] == name, "value"]
        if row.empty:
            raise KeyError(name)
        return float(row.iloc[0])

    def opened(self, kind: str | None = None) -> pd.DataFrame:
        """Sites open in at least one year (optionally of one kind), first year opened."""
        sites = self.sites[self.sites["opened"]]
        if kind is not None:
            sites = sites[sites["kind"] == kind]
        return (
            sites.groupby(["kind", "id"], sort=False)
            .agg(name=("name", "first"), member=("member", "first"),
                 first_year=("year", "min"), max_level=("level", "last"))
            .reset_index()
        )

    def cost_by(self, *keys: str, discounted: bool = True) -> pd.Series:
        """Costs grouped by 'category', 'member' and/or 'year'."""
        column = "discounted_cny" if discounted else "cost_cny"
        return self.costs.groupby(list(keys))[column].sum()

    def to_geodataframes(self) -> dict[str, Any]:
        """GIS layers (sources, sites by kind, flows) as GeoDataFrames in EPSG:4326.

        See :func:`netopt.layers.plan_layers`; the same layers ``netopt export`` writes.
        """
        # deferred: geopandas and shapely are slow to import and only the layers need them
        from netopt.layers import plan_layers

        return plan_layers(self)

    def header(self) -> dict[str, Any]:
        """Status, objective, bound, gap and timings as plain values (for plan.json)."""
        return {
            "status": self.status,
            "termination": self.termination,
            "objective_cny": self.objective,
            "bound_cny": self.bound,
            "gap": self.gap,
            "timings_s": self.timings,
            "case_name": self.case_name,
            "case_hash": self.case_hash,
            "solver": self.solver,
            **self.meta,
        }

    def save(self, folder: str | Path, *, overwrite: bool = False) -> Path:
        """Write the tables (CSV) and plan.json into ``folder``, atomically.

        The folder is written beside its final place and renamed into it, so a failed
        write leaves no partial folder. An existing folder is replaced only with
        ``overwrite=True``.
        """
        folder = Path(folder)
        if folder.exists() and not overwrite:
            raise FileExistsError(f"{folder} exists; choose another folder or overwrite")
        return write_folder_atomically(folder, self.write_tables)

    def write_tables(self, folder: str | Path) -> None:
        """Write each table as CSV and the header as plan.json into an existing folder."""
        folder = Path(folder)
        for name in TABLES:
            getattr(self, name).to_csv(folder / f"{name}.csv", index=False)
        if self.explanation is not None:
            self.explanation.to_csv(folder / "explanation.csv", index=False)
        header = self.header()
        with open(folder / "plan.json", "w", encoding="utf-8") as handle:
            json.dump(jsonable(header), handle, indent=2)


def load_plan(folder: str | Path) -> Plan:
    """Read a Plan written by :meth:`Plan.save`."""
    folder = Path(folder)
    header_path = folder / "plan.json"
    if not header_path.exists():
        raise FileNotFoundError(f"{folder} is not a saved plan (no plan.json)")
    header = json.loads(header_path.read_text(encoding="utf-8"))
    tables = {}
    for name in TABLES:
        path = folder / f"{name}.csv"
        text_columns = {c: str for c in ("id", "name", "member", "origin", "destination",
                                          "source", "level", "category", "unit")}
        tables[name] = pd.read_csv(path, dtype=text_columns, keep_default_na=False,
                                   na_values={"value": ["nan"]}) \
            if path.exists() and path.stat().st_size else pd.DataFrame()
    if "opened" in tables["sites"].columns:
        tables["sites"]["opened"] = tables["sites"]["opened"].astype(bool)
    for name in ("sites", "sources"):  # ids are text even when they look like numbers
        if "id" in tables[name].columns:
            tables[name]["id"] = tables[name]["id"].astype(str)
    known = {"status", "termination", "objective_cny", "bound_cny", "gap", "timings_s",
             "case_name", "case_hash", "solver"}

    def num(key: str) -> float:
        value = header.get(key)
        return float("nan") if value is None else float(value)

    explanation_path = folder / "explanation.csv"
    explanation = pd.read_csv(explanation_path) if explanation_path.exists() else None
    return Plan(
        explanation=explanation,
        status=header["status"],
        objective=num("objective_cny"),
        bound=num("bound_cny"),
        gap=num("gap"),
        timings=header.get("timings_s", {}),
        case_name=header.get("case_name", "case"),
        case_hash=header.get("case_hash", ""),
        termination=header.get("termination", ""),
        solver=header.get("solver", "highs"),
        meta={k: v for k, v in header.items() if k not in known},
        **tables,
    )
