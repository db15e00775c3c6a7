"""Explain an infeasible case in the planner's terms, with an elastic relaxation.

Every constraint group that can make a case infeasible (supply that must be served,
capacities, minimum contracts, the collection-rate target, the emissions cap, the
opening budget) gets a penalised slack; the elastic model is always feasible, and the
slacks it needs say which groups must give, where, when and by how much.
"""

from __future__ import annotations

import pandas as pd

from netopt.model.build import build_model
from netopt.model.highs import run_solver
from netopt.model.network import NetworkData

#: Slack below this is solver noise.
SLACK_TOLERANCE = 1e-6

_GROUPS = {
    "supply": ("supply", "t", "cannot be collected or outsourced: {amount:,.1f} t at source "
               "{where} in {year} has no allowed route"),
    "collection_capacity": ("collection_capacity", "t/yr",
                            "collection capacity at {where} in {year} is short by "
                            "{amount:,.1f} t/yr"),
    "site_capacity": ("site_capacity", "t/yr",
                      "dismantling capacity at {where} in {year} is short by {amount:,.1f} t/yr"),
    "recycler_capacity": ("recycler_capacity", "t/yr",
                          "recycler capacity at {where} in {year} is short by {amount:,.1f} t/yr"),
    "reuse_capacity": ("reuse_capacity", "t/yr",
                       "reuse capacity at {where} in {year} is short by {amount:,.1f} t/yr"),
    "recycler_min_contract": ("recycler_min_contract", "t/yr",
                              "minimum contract volume of {where} in {year} is missed by "
                              "{amount:,.1f} t/yr"),
    "collection_rate": ("collection_rate", "t",
                        "collection-rate target in {year} is missed by {amount:,.1f} t"),
    "emissions_cap": ("emissions_cap", "tCO2e",
                      "emissions cap in {year} is exceeded by {amount:,.1f} tCO2e"),
    "opening_budget": ("opening_budget", "CNY",
                       "opening budget is exceeded by CNY {amount:,.0f}"),
}


def explain_infeasibility(data: NetworkData, *, solver: str = "highs") -> pd.DataFrame:
    """Solve the elastic model and list the slack it needs, largest first.

    Columns: constraint (group name as in the model), where, year, shortfall, unit, message.
    """
    nm = build_model(data, elastic=True)
    result = run_solver(nm, solver=solver, mip_gap=1e-6)
    rows = []
    if not result.has_plan:
        return pd.DataFrame([{"constraint": "model", "where": "", "year": None,
                              "shortfall": float("nan"), "unit": "",
                              "message": f"the elastic model could not be solved either "
                                         f"({result.termination})"}])
    for name, var in nm.slacks.items():
        group, unit, template = _GROUPS[name]
        for key, value in var.get_values().items():
            if value is None or value <= SLACK_TOLERANCE:
                continue
            key = key if isinstance(key, tuple) else (key,)
            where, year, what = "", None, ""
            if name == "supply":
                where, year = key
            elif name in ("collection_rate", "emissions_cap"):
                year = key[0]
            elif name == "opening_budget":
                pass
            else:
                where, year = key
            rows.append({
                "constraint": f"{group}[{','.join(str(k) for k in key)}]",
                "where": where, "year": year, "shortfall": float(value), "unit": unit,
                "message": template.format(amount=value, where=where, year=year, what=what),
            })
    frame = pd.DataFrame(rows, columns=["constraint", "where", "year", "shortfall", "unit",
                                        "message"])
    return frame.sort_values("shortfall", ascending=False, kind="stable").reset_index(drop=True)
