"""Published optima of OR-Library benchmarks, reproduced by the netopt model.

Sources (tests/data/orlib/README.md, and optima.csv's source column): Beasley (1988)
capacitated warehouse location, OR-Library capopt; Holmberg, Ronnqvist and Yuan (1999)
single-source CFLP. The capa group runs as a benchmark (benchmarks/), not here.
"""

from __future__ import annotations

import csv

import pytest

import netopt
from netopt.io import orlib
from tests.conftest import ORLIB, ORLIB_LARGE

with open(ORLIB / "optima.csv", encoding="utf-8", newline="") as handle:
    ROWS = list(csv.DictReader(handle))
CASES = [r for r in ROWS if r["instance"] not in ("capa", "capb", "capc")]


@pytest.mark.parametrize("row", CASES, ids=[r["instance"] for r in CASES])
def test_published_optimum(row):
    path = ORLIB / row["file"]
    capacity = float(row["capacity"]) if row["capacity"] else None
    if row["set"] == "orlib_cap":
        case = orlib.read_capacitated(path, capacity)
    else:
        case = orlib.read_single_source(path)
    plan = netopt.solve(case)
    expected = float(row["optimal_value"])
    assert plan.status == "optimal"
    assert plan.objective == pytest.approx(expected, rel=1e-6)
    # The plan's cost table is the objective, and every customer is fully served.
    assert plan.costs["discounted_cny"].sum() == pytest.approx(plan.objective, rel=1e-9)
    served = plan.flows.groupby("origin")["tonnes"].sum()
    demand = case.supply.set_index("source_id")["tonnes"]
    assert served.reindex(demand.index).to_numpy() == pytest.approx(demand.to_numpy())
    if row["set"] != "orlib_cap":  # single sourcing: one facility per customer
        assert plan.flows.groupby("origin")["destination"].nunique().max() == 1


def test_capa_needs_capacity():
    with pytest.raises(netopt.CaseError, match="capacity"):
        orlib.read_capacitated(ORLIB_LARGE / "cap" / "capa.txt")
