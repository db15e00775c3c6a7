"""Read a solved model back into a Plan of tidy tables."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from netopt.model.build import FIRST_LEGS, FLOW_LEGS, LATER_LEGS, NetworkModel
from netopt.plan import FLOW_COLUMNS, OUTSOURCED_COLUMNS, SOURCE_COLUMNS, Plan

#: Flows below this many tonnes are solver noise and left out of the tables.
FLOW_TOLERANCE_T = 1e-7
#: Shares below this are solver noise.
SHARE_TOLERANCE = 1e-10


def _values(var) -> dict:
    return {k: (v if v is not None else 0.0) for k, v in var.get_values().items()}


def _round_binary(value: float) -> bool:
    return value > 0.5


def extract_plan(nm: NetworkModel, **header) -> Plan:
    """Build the Plan's tables from the values loaded in ``nm.model``."""
    data, m, case = nm.data, nm.model, nm.case
    years = data.years
    products = data.products

    # flows: first legs from the shipped shares of each source's mix, later legs as is
    rows = []
    throughput: dict[tuple[str, int], float] = defaultdict(float)

    def add_row(leg, origin, destination, pid, t, tonnes, km):
        rows.append({
            "leg": leg, "origin": origin, "destination": destination,
            "chemistry": products[pid].chemistry,
            "condition": "damaged" if products[pid].damaged else "intact",
            "year": t, "tonnes": tonnes, "km": km, "tkm": tonnes * km,
            "transport_cost_cny": tonnes * data.transport_cost(leg, pid, km),
        })
        throughput[(destination, t)] += tonnes

    for leg in FIRST_LEGS:
        var = getattr(m, f"ship_{leg}")
        arcs = data.arcs[leg]
        km_of = dict(zip(zip(arcs["origin"], arcs["destination"]), arcs["km"]))
        for (origin, destination, t), share in _values(var).items():
            if share <= SHARE_TOLERANCE:
                continue
            for pid, tonnes in nm.source_mix[(origin, t)].items():
                add_row(leg, origin, destination, pid, t, tonnes * share,
                        km_of[(origin, destination)])
    for leg in LATER_LEGS:
        var = getattr(m, f"flow_{leg}")
        arcs = data.arcs[leg]
        km_of = dict(zip(zip(arcs["origin"], arcs["destination"]), arcs["km"]))
        for (origin, destination, pid, t), tonnes in _values(var).items():
            if tonnes <= FLOW_TOLERANCE_T:
                continue
            add_row(leg, origin, destination, pid, t, tonnes, km_of[(origin, destination)])
    flows = pd.DataFrame(rows, columns=FLOW_COLUMNS)
    flows.attrs["unit"] = "t"

    out_rows = []
    for (i, t), share in _values(m.outsourced_share).items():
        if share <= SHARE_TOLERANCE:
            continue
        for pid, tonnes in nm.source_mix[(i, t)].items():
            out_rows.append({"place": "source", "id": i, "chemistry": products[pid].chemistry,
                             "condition": "damaged" if products[pid].damaged else "intact",
                             "year": t, "tonnes": tonnes * share})
    for (j, pid, t), tonnes in _values(m.outsourced_at_collection).items():
        if tonnes <= FLOW_TOLERANCE_T:
            continue
        out_rows.append({"place": "collection_point", "id": j,
                         "chemistry": products[pid].chemistry,
                         "condition": "damaged" if products[pid].damaged else "intact",
                         "year": t, "tonnes": tonnes})
    outsourced = pd.DataFrame(out_rows, columns=OUTSOURCED_COLUMNS)

    # sources: supply, collected and outsourced per source and year
    src = case.sources
    supply_by = defaultdict(float)
    for (i, _p, t), tonnes in data.supply.items():
        supply_by[(i, t)] += tonnes
    at_source = outsourced[outsourced["place"] == "source"]
    out_by = at_source.groupby(["id", "year"])["tonnes"].sum().to_dict() if len(
        at_source) else {}
    source_rows = [
        {"id": i, "name": src.at[i, "name"] or i, "kind": src.at[i, "kind"],
         "member": src.at[i, "member_id"], "lat": float(src.at[i, "lat"]),
         "lon": float(src.at[i, "lon"]), "year": t, "supply_t": supply_by.get((i, t), 0.0),
         "collected_t": supply_by.get((i, t), 0.0) - out_by.get((i, t), 0.0),
         "outsourced_t": out_by.get((i, t), 0.0)}
        for i in src.index for t in years
    ]
    sources = pd.DataFrame(source_rows, columns=SOURCE_COLUMNS)

    # sites
    site_rows = []

    def add_facility(kind, table, var):
        values = _values(var) if len(var) else {}
        for fid in table.index:
            for t in years:
                is_open = _round_binary(values.get((fid, t), 0.0))
                cap = float(table.at[fid, "capacity_t_per_yr"])
                flow_in = throughput.get((fid, t), 0.0)
                site_rows.append({
                    "kind": kind, "id": fid, "name": table.at[fid, "name"] or fid,
                    "member": table.at[fid, "member_id"] or "outside",
                    "lat": float(table.at[fid, "lat"]), "lon": float(table.at[fid, "lon"]),
                    "year": t, "opened": is_open, "level": "open" if is_open else "",
                    "capacity_t_per_yr": cap if is_open else 0.0,
                    "throughput_t": flow_in,
                    "utilisation": flow_in / cap if is_open and cap > 0 else 0.0,
                })

    add_facility("collection_point", case.collection_points, m.open_collection_point)
    levels = _values(m.site_level) if len(m.site_level) else {}
    level_cap = {(k, lv): float(c) for k, lv, c in zip(
        data.levels["dismantling_site_id"], data.levels["level"],
        data.levels["capacity_t_per_yr"])}
    sites_table = case.dismantling_sites
    chosen_levels: dict[tuple[str, int], list[str]] = defaultdict(list)
    for (k, lv, t), v in levels.items():
        if _round_binary(v):
            chosen_levels[(k, t)].append(lv)
    # sized by the tonne: open, and its capacity (t/yr)
    site_open = _values(m.site_open) if len(m.site_open) else {}
    site_size = _values(m.site_size) if len(m.site_size) else {}
    for k in sites_table.index:
        for t in years:
            if site_open:
                chosen = ["continuous"] if _round_binary(site_open.get((k, t), 0.0)) else []
                cap = site_size.get((k, t), 0.0) if chosen else 0.0
            else:
                chosen = chosen_levels.get((k, t), [])
                cap = sum(level_cap[(k, lv)] for lv in chosen)
            flow_in = throughput.get((k, t), 0.0)
            site_rows.append({
                "kind": "dismantling_site", "id": k, "name": sites_table.at[k, "name"] or k,
                "member": sites_table.at[k, "member_id"] or "outside",
                "lat": float(sites_table.at[k, "lat"]), "lon": float(sites_table.at[k, "lon"]),
                "year": t, "opened": bool(chosen), "level": ";".join(chosen),
                "capacity_t_per_yr": cap, "throughput_t": flow_in,
                "utilisation": flow_in / cap if cap > 0 else 0.0,
            })
    add_facility("recycler", case.recyclers, m.open_recycler)
    add_facility("reuse_outlet", case.reuse_outlets, m.open_reuse_outlet)
    sites = pd.DataFrame(site_rows, columns=[
        "kind", "id", "name", "member", "lat", "lon", "year", "opened", "level",
        "capacity_t_per_yr", "throughput_t", "utilisation"])

    # costs
    cost_rows = []
    for (category, member, t), pairs in nm.cost_terms.items():
        value = float(sum(c * (v.value or 0.0) for c, v in pairs))
        cost_rows.append({"category": category, "member": member, "year": t,
                          "cost_cny": value, "discounted_cny": value * data.discount[t]})
    costs = pd.DataFrame(cost_rows, columns=["category", "member", "year", "cost_cny",
                                             "discounted_cny"])
    costs = costs.groupby(["category", "member", "year"], as_index=False).sum()
    costs = costs[costs["cost_cny"] != 0].reset_index(drop=True)
    costs.attrs["unit"] = "CNY"

    # KPIs
    supply_total = float(sum(data.supply.values()))
    outsourced_total = float(outsourced["tonnes"].sum()) if len(outsourced) else 0.0
    emissions = {t: float(sum(c * (v.value or 0.0) for c, v in pairs))
                 for t, pairs in nm.emission_terms.items()}
    kpis = [
        ("supply_t", supply_total, "t"),
        ("collected_t", supply_total - outsourced_total, "t"),
        ("outsourced_t", outsourced_total, "t"),
        ("collection_rate", (supply_total - outsourced_total) / supply_total
         if supply_total else 1.0, "fraction"),
        ("emissions_t", float(sum(emissions.values())), "tCO2e"),
        ("transport_tkm", float(flows["tkm"].sum()) if len(flows) else 0.0, "t-km"),
        ("total_cost_cny", float(costs["discounted_cny"].sum()), "CNY (discounted)"),
        ("undiscounted_cost_cny", float(costs["cost_cny"].sum()), "CNY"),
    ]
    for kind in ("collection_point", "dismantling_site", "recycler", "reuse_outlet"):
        opened = sites[(sites["kind"] == kind) & sites["opened"] & (sites["year"] == years[-1])]
        kpis.append((f"{kind}s_open_{years[-1]}", float(len(opened)), "count"))
    for leg in FLOW_LEGS:
        if len(flows):
            kpis.append((f"{leg}_t", float(flows.loc[flows["leg"] == leg, "tonnes"].sum()), "t"))
    kpi_frame = pd.DataFrame(kpis, columns=["name", "value", "unit"])

    objective = float(costs["discounted_cny"].sum())
    header.setdefault("objective", objective)
    if header.get("bound") is None or not np.isfinite(header.get("bound", np.nan)):
        header["bound"] = float("nan")
    return Plan(
        sites=sites, sources=sources, flows=flows, outsourced=outsourced, costs=costs,
        kpis=kpi_frame,
        case_name=case.name, case_hash=case.content_hash(), **header,
    )
