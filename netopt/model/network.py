"""Indexed network data of a Case: products, arcs, distances and cost coefficients.

This is the bridge from the Case's tables to the optimisation model: every set and
coefficient the MIP needs, keyed by labels (ids), never by positions.

Products are chemistry × condition: each chemistry's supply splits into intact packs
and, when ``damaged_share`` > 0, damaged packs (``"<chemistry>/damaged"``), which pay
``damaged_cost_multiplier`` times the transport cost, obey ``damaged_max_km`` on every
leg, and never go to reuse.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from netopt.case import CHAIN_ENDS, Case
from netopt.geo import RoadGraph, allowed_arcs, distance_matrix
from netopt.plan import LEG_ENDS

#: Legs of the network: name -> (origin table, destination table) of the Case, the
#: plural of each end's kind in ``netopt.plan.LEG_ENDS`` ("source" -> "sources", ...).
LEGS = {leg: (f"{origin}s", f"{destination}s")
        for leg, (origin, destination) in LEG_ENDS.items()}


@dataclass
class Product:
    """A chemistry in one condition (intact or damaged)."""

    id: str
    chemistry: str
    damaged: bool


def _line_through(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float]:
    """(intercept, slope) of the line through (x0, y0) and (x1, y1); flat if x1 == x0."""
    slope = (y1 - y0) / (x1 - x0) if x1 > x0 else 0.0
    return y0 - slope * x0, slope


@dataclass(frozen=True)
class SiteSizing:
    """A dismantling site sized by the tonne: capacity between ``min_t_per_yr`` and
    ``max_t_per_yr`` once open; each cost is ``intercept + slope * capacity`` (CNY/yr,
    the slope in CNY per t/yr), the line through the site's smallest and largest level."""

    min_t_per_yr: float
    max_t_per_yr: float
    capex_intercept_cny: float
    capex_cny_per_t: float
    fixed_intercept_cny: float
    fixed_cny_per_t: float


@dataclass
class NetworkData:
    """Everything the MIP needs, keyed by ids. Distances in km, money in CNY, mass in t."""

    case: Case
    years: list[int]
    discount: dict[int, float]
    products: dict[str, Product]
    supply: dict[tuple[str, str, int], float]  # (source, product, year) -> t
    arcs: dict[str, pd.DataFrame]  # leg -> origin, destination, km
    arc_products: dict[str, dict[tuple[str, str], list[str]]]  # leg -> arc -> products allowed
    levels: pd.DataFrame
    collection_is_sink: bool
    site_is_sink: bool
    parameters: dict = field(default_factory=dict)

    @property
    def continuous_sites(self) -> bool:
        """Whether dismantling sites are sized by the tonne (``site_capacity`` =
        "continuous") rather than in the modules of their levels."""
        return self.parameters.get("site_capacity", "modules") == "continuous"

    def level_capacities(self) -> dict[str, dict[str, float]]:
        """Capacity (t/yr) of each dismantling site's levels: site -> level -> t/yr."""
        capacity: dict[str, dict[str, float]] = {}
        for k, lv, cap in zip(self.levels["dismantling_site_id"], self.levels["level"],
                              self.levels["capacity_t_per_yr"]):
            capacity.setdefault(str(k), {})[str(lv)] = float(cap)
        return capacity

    def site_sizing(self) -> dict[str, SiteSizing]:
        """Each dismantling site's continuous sizing, from its smallest and largest level."""
        sizing: dict[str, SiteSizing] = {}
        for k, group in self.levels.groupby("dismantling_site_id", sort=False):
            ordered = group.sort_values("capacity_t_per_yr")
            low, high = ordered.iloc[0], ordered.iloc[-1]
            lines = [_line_through(float(low["capacity_t_per_yr"]), float(low[column]),
                                   float(high["capacity_t_per_yr"]), float(high[column]))
                     for column in ("annual_capex_cny", "fixed_cost_cny_per_yr")]
            sizing[str(k)] = SiteSizing(float(low["capacity_t_per_yr"]),
                                        float(high["capacity_t_per_yr"]),
                                        *lines[0], *lines[1])
        return sizing

    def transport_cost(self, leg: str, product: str, km: float) -> float:
        """CNY per tonne moved over one arc of ``leg``."""
        rate = self.parameters[f"transport_cost_{leg}_cny_per_tkm"]
        if self.products[product].damaged:
            rate *= self.parameters["damaged_cost_multiplier"]
        return rate * km


def _products(case: Case) -> dict[str, Product]:
    products = {}
    damaged = case.parameters["damaged_share"] > 0
    for chemistry in case.chemistry_ids:
        if case.parameters["damaged_share"] < 1:
            products[chemistry] = Product(chemistry, chemistry, False)
        if damaged:
            pid = f"{chemistry}/damaged"
            products[pid] = Product(pid, chemistry, True)
    return products


def _accepts(table: pd.DataFrame) -> dict[str, set[str] | None]:
    """Chemistries each facility accepts (None: all)."""
    if "chemistries" not in table.columns:
        return {fid: None for fid in table.index}
    out: dict[str, set[str] | None] = {}
    for fid, text in table["chemistries"].items():
        items = {c.strip() for c in str(text).split(";") if c.strip()}
        out[fid] = items or None
    return out


def discount_factors(years: list[int], rate: float) -> dict[int, float]:
    """Present-value factor of each year's costs: 1 in the first year, ``1/(1+rate)`` a year."""
    return {t: 1.0 / (1.0 + rate) ** (t - years[0]) for t in years}


def prepare(case: Case) -> NetworkData:
    """Compute products, supply, pruned arcs with km, and which echelons are sinks."""
    p = case.parameters
    years = list(case.years)
    discount = discount_factors(years, p["discount_rate"])
    products = _products(case)
    share = p["damaged_share"]

    supply: dict[tuple[str, str, int], float] = {}
    for source, chemistry, year, tonnes in case.supply[
        ["source_id", "chemistry", "year", "tonnes"]
    ].itertuples(index=False):
        if tonnes <= 0:
            continue
        if chemistry in products:
            supply[(source, chemistry, int(year))] = tonnes * (1 - share)
        if share > 0:
            supply[(source, f"{chemistry}/damaged", int(year))] = tonnes * share

    road = None
    if case.road_nodes is not None and case.road_edges is not None:
        road = RoadGraph(case.road_nodes, case.road_edges, circuity=p["circuity"])
    tables = {
        "sources": case.sources,
        "collection_points": case.collection_points,
        "dismantling_sites": case.dismantling_sites,
        "recyclers": case.recyclers,
        "reuse_outlets": case.reuse_outlets,
    }
    has_sites = len(case.dismantling_sites) > 0
    has_downstream = len(case.recyclers) + len(case.reuse_outlets) > 0
    chain_end = case.chain_end
    if chain_end not in CHAIN_ENDS:
        raise ValueError(f"case '{case.name}': the chain cannot end at {chain_end!r}; "
                         f"choose from {', '.join(CHAIN_ENDS)}")
    if case.chain_ends_at is None and not has_sites and has_downstream:
        warnings.warn(
            f"case '{case.name}' has recyclers or reuse outlets but no dismantling site: "
            "collection points end the chain (what they collect costs nothing further) "
            "and the recyclers and reuse outlets are unused",
            UserWarning, stacklevel=3)
    leg_limits = {
        "source_collection": (p["max_km_source_collection"], p["max_collection_points_per_source"]),
        "collection_site": (p["max_km_collection_site"], p["max_sites_per_collection_point"]),
        "source_site": (p["max_km_source_site"], p["max_sites_per_source"]),
        "site_recycler": (p["max_km_site_recycler"], 0),
        "site_reuse": (p["max_km_site_reuse"], 0),
    }
    active_legs = ["source_collection"]
    if has_sites and chain_end != "collection_point":
        active_legs.append("collection_site")
        if p["allow_direct_source_to_site"]:
            active_legs.append("source_site")
        if has_downstream and chain_end == "recycler":
            active_legs += ["site_recycler", "site_reuse"]

    accepts = {
        "recyclers": _accepts(case.recyclers),
        "reuse_outlets": _accepts(case.reuse_outlets),
    }
    arcs: dict[str, pd.DataFrame] = {}
    arc_products: dict[str, dict[tuple[str, str], list[str]]] = {}
    for leg in LEGS:
        origin_table, destination_table = LEGS[leg]
        if leg not in active_legs:
            arcs[leg] = pd.DataFrame({"origin": [], "destination": [], "km": []})
            arc_products[leg] = {}
            continue
        origins, destinations = tables[origin_table], tables[destination_table]
        km = distance_matrix(
            origins, destinations, circuity=p["circuity"], road=road, overrides=case.distances
        )
        max_km, nearest = leg_limits[leg]
        frame = allowed_arcs(km, origins.index, destinations.index, max_km=max_km,
                             nearest=nearest)
        allowed: dict[tuple[str, str], list[str]] = {}
        keep = []
        for origin, destination, length in frame.itertuples(index=False):
            ok = []
            for pid, product in products.items():
                if product.damaged and length > p["damaged_max_km"]:
                    continue
                if leg == "site_reuse" and product.damaged:
                    continue
                if leg in ("site_recycler", "site_reuse"):
                    accepted = accepts[destination_table][destination]
                    if accepted is not None and product.chemistry not in accepted:
                        continue
                    if leg == "site_reuse" and case.chemistries.loc[
                        product.chemistry, "max_reuse_share"] <= 0:
                        continue
                ok.append(pid)
            keep.append(bool(ok))
            if ok:
                allowed[(origin, destination)] = ok
        arcs[leg] = frame[np.asarray(keep, dtype=bool)].reset_index(drop=True)
        arc_products[leg] = allowed

    return NetworkData(
        case=case,
        years=years,
        discount=discount,
        products=products,
        supply=supply,
        arcs=arcs,
        arc_products=arc_products,
        levels=case.dismantling_levels,
        collection_is_sink=chain_end == "collection_point",
        site_is_sink=has_sites and chain_end == "dismantling_site",
        parameters=dict(p),
    )
