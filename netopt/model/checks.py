"""Pre-solve checks: infeasibilities visible from the data alone, stated with the numbers.

Run before the model is built. When a case cannot hand packs to outsiders, every tonne
must find room in the network: these checks compare each year's supply with the most the
network could hold, and list sources no allowed arc leaves.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from netopt.model.network import NetworkData


def presolve_checks(data: NetworkData) -> pd.DataFrame:
    """Problems that make the case infeasible, as an explanation table (may be empty).

    Columns as :func:`netopt.model.explain.explain_infeasibility`: constraint, where, year,
    shortfall, unit, message.
    """
    case, par = data.case, data.parameters
    rows: list[dict] = []
    if par["allow_outsourcing"]:
        return pd.DataFrame(rows, columns=["constraint", "where", "year", "shortfall", "unit",
                                           "message"])
    supply_by_year: dict[int, float] = defaultdict(float)
    supply_by_source: dict[tuple[str, int], float] = defaultdict(float)
    for (i, _p, t), tonnes in data.supply.items():
        supply_by_year[t] += tonnes
        supply_by_source[(i, t)] += tonnes
    first_legs = pd.concat([data.arcs["source_collection"], data.arcs["source_site"]])
    reachable = set(first_legs["origin"]) if len(first_legs) else set()
    for (i, t), tonnes in sorted(supply_by_source.items()):
        if tonnes > 0 and i not in reachable:
            rows.append({"constraint": f"supply[{i},{t}]", "where": i, "year": t,
                         "shortfall": tonnes, "unit": "t",
                         "message": f"source {i} has {tonnes:,.1f} t in {t} but no allowed "
                                    "arc (distance limits) and outsourcing is off"})
    capacities = {"collection_capacity": float(case.collection_points["capacity_t_per_yr"].sum())}
    if len(case.dismantling_sites):
        top = data.levels.groupby("dismantling_site_id")["capacity_t_per_yr"].max()
        capacities["site_capacity"] = float(top.sum())
        if not data.site_is_sink:
            capacities["recycler_capacity"] = float(
                case.recyclers["capacity_t_per_yr"].sum()
                + case.reuse_outlets["capacity_t_per_yr"].sum())
    names = {"collection_capacity": "collection points", "site_capacity": "dismantling sites",
             "recycler_capacity": "recyclers and reuse outlets"}
    if par["allow_direct_source_to_site"]:
        capacities.pop("collection_capacity")
    for group, capacity in capacities.items():
        for t, tonnes in sorted(supply_by_year.items()):
            if capacity < tonnes - 1e-6:
                rows.append({
                    "constraint": f"{group}[*,{t}]", "where": "all", "year": t,
                    "shortfall": tonnes - capacity, "unit": "t/yr",
                    "message": f"total capacity of all {names[group]} ({capacity:,.1f} t/yr) "
                               f"is less than the supply of {t} ({tonnes:,.1f} t), and "
                               "outsourcing is off",
                })
    return pd.DataFrame(rows, columns=["constraint", "where", "year", "shortfall", "unit",
                                       "message"])
