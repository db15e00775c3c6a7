"""Readers for OR-Library facility-location benchmarks, as Cases of the netopt model.

- Beasley's capacitated warehouse location files (OR-Library ``cap41`` .. ``cap134``,
  ``capa``/``capb``/``capc``; J. E. Beasley, "An algorithm for solving large capacitated
  warehouse location problems", EJOR 33 (1988) 314-325).
- Holmberg, Ronnqvist and Yuan's single-source capacitated facility location files
  ``p1`` .. ``p71`` (EJOR 113 (1999) 544-559).

Each becomes the one-period, one-chemistry special case of the model: customers are
sources (supply = demand, in tonnes), warehouses are collection points with their
capacity and fixed cost (``annual_capex_cny``), there is no later echelon and no
outsourcing, and the cost of serving all of customer i from warehouse j is carried as a
leg length ``km = cost / demand`` at 1 CNY per tonne-km, so that the model's objective is
exactly the benchmark's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from netopt.case import Case, case_from_frames
from netopt.errors import CaseError, Problem

YEAR = 2000  # the single period of a benchmark case


def _tokens(path: Path) -> list[str]:
    try:
        return Path(path).read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseError(Problem(Path(path).name, None, None, f"cannot be read: {exc}")) from exc


def _number(token: str, path: Path, what: str) -> float:
    try:
        return float(token)
    except ValueError as exc:
        raise CaseError(Problem(path.name, None, None,
                                f"expected a number for {what}, got '{token}'")) from exc


def _benchmark_case(
    name: str,
    capacity: np.ndarray,
    fixed: np.ndarray,
    demand: np.ndarray,
    cost: np.ndarray,  # customers x facilities: cost of serving all of a customer's demand
    *,
    single_sourcing: bool,
) -> Case:
    n_fac, n_cust = len(capacity), len(demand)
    fac_ids = [f"w{j + 1}" for j in range(n_fac)]
    cust_ids = [f"c{i + 1}" for i in range(n_cust)]
    served = demand > 0
    sources = pd.DataFrame({"source_id": cust_ids, "kind": "dealership", "member_id": "m",
                            "lat": 0.0, "lon": 0.0})
    supply = pd.DataFrame({"source_id": cust_ids, "chemistry": "unit", "year": YEAR,
                           "tonnes": demand})[served]
    points = pd.DataFrame({"collection_point_id": fac_ids, "member_id": "m", "lat": 0.0,
                           "lon": 0.0, "capacity_t_per_yr": capacity,
                           "annual_capex_cny": fixed})
    rows, cols = np.nonzero(np.broadcast_to(served[:, None], cost.shape))
    distances = pd.DataFrame({
        "origin_id": np.asarray(cust_ids)[rows],
        "destination_id": np.asarray(fac_ids)[cols],
        "km": cost[rows, cols] / demand[rows],
    })
    tables = {
        "members": pd.DataFrame({"member_id": ["m"], "name": ["benchmark"]}),
        "periods": pd.DataFrame({"year": [YEAR]}),
        "chemistries": pd.DataFrame({"chemistry": ["unit"], "outsourcing_cost_cny_per_t": [0.0]}),
        "sources": sources,
        "supply": supply,
        "collection_points": points,
        "distances": distances,
        "parameters": {
            "transport_cost_source_collection_cny_per_tkm": 1.0,
            "allow_outsourcing": False,
            "single_sourcing": single_sourcing,
            "emission_factor_kg_per_tkm": 0.0,
        },
    }
    return case_from_frames(tables, name=name)


def read_capacitated(path: str | Path, capacity: float | None = None) -> Case:
    """Read a Beasley capacitated warehouse location file (demand may be split).

    ``capacity`` is required for capa/capb/capc, whose files give the literal word
    ``capacity`` instead of a number; it then applies to every warehouse.
    """
    path = Path(path)
    tokens = _tokens(path)
    n_fac, n_cust = int(tokens[0]), int(tokens[1])
    pos = 2
    caps, fixed = [], []
    for j in range(n_fac):
        token = tokens[pos]
        if token.lower() == "capacity":
            if capacity is None:
                raise CaseError(Problem(path.name, None, None,
                                        "warehouse capacity is the word 'capacity': pass "
                                        "capacity=... (e.g. 8000 for capa)"))
            caps.append(float(capacity))
        else:
            caps.append(_number(token, path, f"the capacity of warehouse {j + 1}"))
        fixed.append(_number(tokens[pos + 1], path, f"the fixed cost of warehouse {j + 1}"))
        pos += 2
    demand = np.empty(n_cust)
    cost = np.empty((n_cust, n_fac))
    expected = pos + n_cust * (n_fac + 1)
    if len(tokens) < expected:
        raise CaseError(Problem(path.name, None, None,
                                f"is truncated: {len(tokens)} numbers, {expected} expected"))
    for i in range(n_cust):
        demand[i] = _number(tokens[pos], path, f"the demand of customer {i + 1}")
        cost[i] = [float(t) for t in tokens[pos + 1: pos + 1 + n_fac]]
        pos += n_fac + 1
    return _benchmark_case(path.stem if capacity is None else f"{path.stem}-{capacity:g}",
                           np.array(caps), np.array(fixed), demand, cost,
                           single_sourcing=False)


def read_single_source(path: str | Path) -> Case:
    """Read a Holmberg single-source capacitated facility location file (p1 .. p71)."""
    path = Path(path)
    tokens = _tokens(path)
    n_fac, n_cust = int(tokens[0]), int(tokens[1])
    expected = 2 + 2 * n_fac + n_cust + n_fac * n_cust
    if len(tokens) < expected:
        raise CaseError(Problem(path.name, None, None,
                                f"is truncated: {len(tokens)} numbers, {expected} expected"))
    values = np.array([float(t) for t in tokens[2:expected]])
    caps = values[0: 2 * n_fac: 2]
    fixed = values[1: 2 * n_fac: 2]
    demand = values[2 * n_fac: 2 * n_fac + n_cust]
    cost = values[2 * n_fac + n_cust:].reshape(n_fac, n_cust).T
    return _benchmark_case(path.stem, caps, fixed, demand, cost, single_sourcing=True)
