"""Read a solved model back into a Plan of tidy tables."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd

from netopt.model.build import FIRST_LEGS, FLOW_LEGS, LATER_LEGS, NetworkModel
from netopt.model.network import NetworkData, Product
from netopt.plan import FLOW_COLUMNS, OUTSOURCED_COLUMNS, SITE_COLUMNS, SOURCE_COLUMNS, Plan

#: Flows below this many tonnes are solver noise and left out of the tables.
FLOW_TOLERANCE_T = 1e-7
#: Shares below this are solver noise.
SHARE_TOLERANCE = 1e-10

Row = dict[str, Any]


def _values(var) -> dict:
    return {k: (v if v is not None else 0.0) for k, v in var.get_values().items()}


def _round_binary(value: float) -> bool:
    return value > 0.5


def extract_plan(nm: NetworkModel, **header) -> Plan:
    """Build the Plan's tables from the values loaded in ``nm.model``."""
    case = nm.case
    flows, throughput = _flows(nm)
    outsourced = _outsourced(nm)
    sources = _sources(nm, outsourced)
    sites = _sites(nm, throughput)
    costs = _costs_by_year(nm)
    kpis = _kpis(nm, flows, outsourced, sites, costs)

    objective = float(costs["discounted_cny"].sum())
    header.setdefault("objective", objective)
    if header.get("bound") is None or not np.isfinite(header.get("bound", np.nan)):
        header["bound"] = float("nan")
    return Plan(
        sites=sites, sources=sources, flows=flows, outsourced=outsourced, costs=costs,
        kpis=kpis,
        case_name=case.name, case_hash=case.content_hash(), **header,
    )


# --- flows -------------------------------------------------------------------------------
def _condition(product: Product) -> str:
    """A product's condition as the tables name it: "damaged" or "intact"."""
    return "damaged" if product.damaged else "intact"


def _km_by_arc(data: NetworkData, leg: str) -> dict[tuple[str, str], float]:
    """Road distance in km of each (origin, destination) arc of a leg."""
    arcs = data.arcs[leg]
    return dict(zip(zip(arcs["origin"], arcs["destination"]), arcs["km"]))


def _flow_row(data: NetworkData, leg: str, origin: str, destination: str, pid: str, t: int,
              tonnes: float, km: float) -> Row:
    """One row of the flows table: tonnes of a product on an arc in a year, t-km and CNY."""
    product = data.products[pid]
    return {
        "leg": leg, "origin": origin, "destination": destination,
        "chemistry": product.chemistry, "condition": _condition(product),
        "year": t, "tonnes": tonnes, "km": km, "tkm": tonnes * km,
        "transport_cost_cny": tonnes * data.transport_cost(leg, pid, km),
    }


def _first_leg_rows(nm: NetworkModel) -> list[Row]:
    """Flow rows out of sources: each shipped share of a source's mix, in tonnes."""
    rows = []
    for leg in FIRST_LEGS:
        km_of = _km_by_arc(nm.data, leg)
        for (origin, destination, t), share in _values(getattr(nm.model, f"ship_{leg}")).items():
            if share <= SHARE_TOLERANCE:
                continue
            for pid, tonnes in nm.source_mix[(origin, t)].items():
                rows.append(_flow_row(nm.data, leg, origin, destination, pid, t,
                                      tonnes * share, km_of[(origin, destination)]))
    return rows


def _later_leg_rows(nm: NetworkModel) -> list[Row]:
    """Flow rows after collection, product by product, in tonnes."""
    rows = []
    for leg in LATER_LEGS:
        km_of = _km_by_arc(nm.data, leg)
        for (origin, destination, pid, t), tonnes in _values(
                getattr(nm.model, f"flow_{leg}")).items():
            if tonnes <= FLOW_TOLERANCE_T:
                continue
            rows.append(_flow_row(nm.data, leg, origin, destination, pid, t, tonnes,
                                  km_of[(origin, destination)]))
    return rows


def _flows(nm: NetworkModel) -> tuple[pd.DataFrame, dict[tuple[str, int], float]]:
    """The flows table (tonnes, km, t-km, CNY) and the tonnes into each facility by year."""
    rows = _first_leg_rows(nm) + _later_leg_rows(nm)
    throughput: dict[tuple[str, int], float] = defaultdict(float)
    for row in rows:
        throughput[(row["destination"], row["year"])] += row["tonnes"]
    flows = pd.DataFrame(rows, columns=FLOW_COLUMNS)
    flows.attrs["unit"] = "t"
    return flows, throughput


# --- outsourcing and sources -------------------------------------------------------------
def _outsourced(nm: NetworkModel) -> pd.DataFrame:
    """Tonnes handed to third parties, at sources (shares of their mix) and collection points."""
    m, products = nm.model, nm.data.products
    rows = []
    for (i, t), share in _values(m.outsourced_share).items():
        if share <= SHARE_TOLERANCE:
            continue
        for pid, tonnes in nm.source_mix[(i, t)].items():
            rows.append({"place": "source", "id": i, "chemistry": products[pid].chemistry,
                         "condition": _condition(products[pid]), "year": t,
                         "tonnes": tonnes * share})
    for (j, pid, t), tonnes in _values(m.outsourced_at_collection).items():
        if tonnes <= FLOW_TOLERANCE_T:
            continue
        rows.append({"place": "collection_point", "id": j,
                     "chemistry": products[pid].chemistry,
                     "condition": _condition(products[pid]), "year": t, "tonnes": tonnes})
    return pd.DataFrame(rows, columns=OUTSOURCED_COLUMNS)


def _sources(nm: NetworkModel, outsourced: pd.DataFrame) -> pd.DataFrame:
    """Supply, collected and outsourced tonnes of each source and year."""
    data, src = nm.data, nm.case.sources
    supply_by: dict[tuple[str, int], float] = defaultdict(float)
    for (i, _p, t), tonnes in data.supply.items():
        supply_by[(i, t)] += tonnes
    at_source = outsourced[outsourced["place"] == "source"]
    out_by = at_source.groupby(["id", "year"])["tonnes"].sum().to_dict() if len(
        at_source) else {}
    rows = [
        {"id": i, "name": src.at[i, "name"] or i, "kind": src.at[i, "kind"],
         "member": src.at[i, "member_id"], "lat": float(src.at[i, "lat"]),
         "lon": float(src.at[i, "lon"]), "year": t, "supply_t": supply_by.get((i, t), 0.0),
         "collected_t": supply_by.get((i, t), 0.0) - out_by.get((i, t), 0.0),
         "outsourced_t": out_by.get((i, t), 0.0)}
        for i in src.index for t in data.years
    ]
    return pd.DataFrame(rows, columns=SOURCE_COLUMNS)


# --- sites -------------------------------------------------------------------------------
def _facility_rows(kind: str, table: pd.DataFrame, var: Any, years: list[int],
                   throughput: dict[tuple[str, int], float]) -> list[Row]:
    """Site rows of facilities opened by a binary (collection points, recyclers, outlets)."""
    values = _values(var) if len(var) else {}
    rows = []
    for fid in table.index:
        for t in years:
            is_open = _round_binary(values.get((fid, t), 0.0))
            cap = float(table.at[fid, "capacity_t_per_yr"])
            flow_in = throughput.get((fid, t), 0.0)
            rows.append({
                "kind": kind, "id": fid, "name": table.at[fid, "name"] or fid,
                "member": table.at[fid, "member_id"] or "outside",
                "lat": float(table.at[fid, "lat"]), "lon": float(table.at[fid, "lon"]),
                "year": t, "opened": is_open, "level": "open" if is_open else "",
                "capacity_t_per_yr": cap if is_open else 0.0,
                "throughput_t": flow_in,
                "utilisation": flow_in / cap if is_open and cap > 0 else 0.0,
            })
    return rows


def _chosen_levels(nm: NetworkModel) -> dict[tuple[str, int], list[str]]:
    """The levels each dismantling site is built at, by (site, year)."""
    m = nm.model
    levels = _values(m.site_level) if len(m.site_level) else {}
    chosen: dict[tuple[str, int], list[str]] = defaultdict(list)
    for (k, lv, t), v in levels.items():
        if _round_binary(v):
            chosen[(k, t)].append(lv)
    return chosen


def _dismantling_site_rows(nm: NetworkModel,
                           throughput: dict[tuple[str, int], float]) -> list[Row]:
    """Site rows of dismantling sites: levels chosen, capacity (t/yr) and throughput."""
    data, m, table = nm.data, nm.model, nm.case.dismantling_sites
    level_cap = {(k, lv): float(c) for k, lv, c in zip(
        data.levels["dismantling_site_id"], data.levels["level"],
        data.levels["capacity_t_per_yr"])}
    chosen_levels = _chosen_levels(nm)
    # sized by the tonne: open, and its capacity (t/yr)
    site_open = _values(m.site_open) if len(m.site_open) else {}
    site_size = _values(m.site_size) if len(m.site_size) else {}
    rows = []
    for k in table.index:
        for t in data.years:
            if site_open:
                chosen = ["continuous"] if _round_binary(site_open.get((k, t), 0.0)) else []
                cap = site_size.get((k, t), 0.0) if chosen else 0.0
            else:
                chosen = chosen_levels.get((k, t), [])
                cap = sum(level_cap[(k, lv)] for lv in chosen)
            flow_in = throughput.get((k, t), 0.0)
            rows.append({
                "kind": "dismantling_site", "id": k, "name": table.at[k, "name"] or k,
                "member": table.at[k, "member_id"] or "outside",
                "lat": float(table.at[k, "lat"]), "lon": float(table.at[k, "lon"]),
                "year": t, "opened": bool(chosen), "level": ";".join(chosen),
                "capacity_t_per_yr": cap, "throughput_t": flow_in,
                "utilisation": flow_in / cap if cap > 0 else 0.0,
            })
    return rows


def _sites(nm: NetworkModel, throughput: dict[tuple[str, int], float]) -> pd.DataFrame:
    """Every facility and year: opened, level, capacity (t/yr), throughput (t), utilisation."""
    case, m, years = nm.case, nm.model, nm.data.years
    rows = (
        _facility_rows("collection_point", case.collection_points, m.open_collection_point,
                       years, throughput)
        + _dismantling_site_rows(nm, throughput)
        + _facility_rows("recycler", case.recyclers, m.open_recycler, years, throughput)
        + _facility_rows("reuse_outlet", case.reuse_outlets, m.open_reuse_outlet, years,
                         throughput)
    )
    return pd.DataFrame(rows, columns=SITE_COLUMNS)


# --- costs and KPIs ----------------------------------------------------------------------
def _costs_by_year(nm: NetworkModel) -> pd.DataFrame:
    """Cost in CNY, as paid and discounted, by category, member and year (zeros left out)."""
    rows = []
    for (category, member, t), pairs in nm.cost_terms.items():
        value = float(sum(c * (v.value or 0.0) for c, v in pairs))
        rows.append({"category": category, "member": member, "year": t,
                     "cost_cny": value, "discounted_cny": value * nm.data.discount[t]})
    costs = pd.DataFrame(rows, columns=["category", "member", "year", "cost_cny",
                                        "discounted_cny"])
    costs = costs.groupby(["category", "member", "year"], as_index=False).sum()
    costs = costs[costs["cost_cny"] != 0].reset_index(drop=True)
    costs.attrs["unit"] = "CNY"
    return costs


def _kpis(nm: NetworkModel, flows: pd.DataFrame, outsourced: pd.DataFrame,
          sites: pd.DataFrame, costs: pd.DataFrame) -> pd.DataFrame:
    """Headline figures: tonnes, collection rate, tCO2e, t-km, CNY and facilities open."""
    data, years = nm.data, nm.data.years
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
    return pd.DataFrame(kpis, columns=["name", "value", "unit"])
