"""A plan's GIS layers as GeoDataFrames (EPSG:4326), built from its tables alone.

One layer of points per site kind and one for the sources, one of lines for the flows;
:mod:`netopt.io.gis` writes them (GeoPackage, GeoJSON) and :mod:`netopt.maps` draws them.
Field names and units are listed in :mod:`netopt.io.gis`.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString, Point

CRS = "EPSG:4326"

#: Site kind in ``Plan.sites`` -> layer name.
SITE_LAYERS = {
    "collection_point": "collection_points",
    "dismantling_site": "dismantling_sites",
    "recycler": "recyclers",
    "reuse_outlet": "reuse_outlets",
}
LAYERS = ("sources", *SITE_LAYERS.values(), "flows")

LAYER_TITLES = {
    "sources": "Sources (dealerships, service outlets, dismantlers)",
    "collection_points": "Candidate collection points",
    "dismantling_sites": "Candidate dismantling / pre-treatment sites",
    "recyclers": "Recyclers",
    "reuse_outlets": "Reuse (second-life) outlets",
    "flows": "Flows in tonnes per leg, product and year",
}
LAYER_UNITS = {
    "sources": "supply, collected, outsourced and sup_/col_/out_YYYY in t",
    "collection_points": "cap_YYYY t/yr, thr_YYYY and thr_total t, util_YYYY fraction",
    "flows": "tonnes t, km, tkm t-km, cost_cny CNY (transport)",
}
for _layer in ("dismantling_sites", "recyclers", "reuse_outlets"):
    LAYER_UNITS[_layer] = LAYER_UNITS["collection_points"]


def plan_years(plan: Any) -> list[int]:
    """Planning years that appear in the plan's sites or sources, ascending."""
    years: set[int] = set()
    for table in (plan.sites, plan.sources):
        if "year" in table.columns and len(table):
            years.update(int(y) for y in table["year"].unique())
    return sorted(years)


def _text(value: Any) -> str | None:
    """A cell as text, blank and missing as None."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = str(value)
    return text if text.strip() else None


def _points(frame: pd.DataFrame) -> list[Point]:
    return [Point(float(lon), float(lat)) for lon, lat in zip(frame["lon"], frame["lat"])]


def _wide(long: pd.DataFrame, ids: pd.Index, columns: dict[str, str],
          years: list[int]) -> pd.DataFrame:
    """One column ``prefix_YYYY`` per value column and year, from a long table by id."""
    names = [f"{prefix}_{year}" for prefix in columns.values() for year in years]
    if long.empty:
        return pd.DataFrame(index=ids, columns=names, dtype=float)
    table = (long.drop_duplicates(["id", "year"]).set_index(["id", "year"])[list(columns)]
             .unstack("year"))
    table = table.reindex(index=ids, columns=pd.MultiIndex.from_product([list(columns), years]))
    table.columns = names
    return table


def _empty_layer(columns: dict[str, str]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=CRS), crs=CRS)


def site_layer(sites: pd.DataFrame, years: list[int]) -> gpd.GeoDataFrame:
    """Point layer of one kind of candidate facility, one feature per site."""
    static = {"id": "str", "name": "str", "kind": "str", "member": "str", "opened": "Int32",
              "level": "str", "thr_total": "float64"}
    sites = sites.copy()
    if sites.empty:
        frame = _empty_layer(static)
        for year in years:
            for prefix, dtype in (("lvl", "str"), ("cap", "float64"), ("thr", "float64"),
                                  ("util", "float64")):
                frame[f"{prefix}_{year}"] = pd.Series(dtype=dtype)
        return frame
    sites["id"] = sites["id"].astype(str)
    sites["year"] = sites["year"].astype(int)
    first = sites.drop_duplicates("id").set_index("id")
    ids = first.index
    open_rows = sites[sites["opened"].astype(bool)].sort_values("year")
    opened = open_rows.groupby("id")["year"].min().reindex(ids)
    level = open_rows.groupby("id")["level"].last().reindex(ids)
    frame = pd.DataFrame({
        "id": ids,
        "name": [_text(v) or i for i, v in zip(ids, first["name"])],
        "kind": first["kind"].astype(str).to_numpy(),
        "member": [_text(v) for v in first["member"]],
        "opened": pd.array([None if pd.isna(v) else int(v) for v in opened], dtype="Int32"),
        "level": [_text(v) for v in level],
        "thr_total": sites.groupby("id")["throughput_t"].sum().reindex(ids).to_numpy(),
    }, index=ids)
    sites["level"] = [_text(v) if o else None for v, o in zip(sites["level"], sites["opened"])]
    levels = _wide(sites, ids, {"level": "lvl"}, years)
    figures = _wide(sites, ids, {"capacity_t_per_yr": "cap", "throughput_t": "thr",
                                 "utilisation": "util"}, years).astype(float).fillna(0.0)
    frame = pd.concat([frame, levels, figures], axis=1).reset_index(drop=True)
    for year in years:  # level text per year, None where closed
        frame[f"lvl_{year}"] = pd.Series([_text(v) for v in frame[f"lvl_{year}"]],
                                         dtype="str")
    return gpd.GeoDataFrame(frame, geometry=_points(first), crs=CRS)


def source_layer(sources: pd.DataFrame, years: list[int]) -> gpd.GeoDataFrame:
    """Point layer of the sources, one feature per source."""
    static = {"id": "str", "name": "str", "kind": "str", "member": "str", "supply": "float64",
              "collected": "float64", "outsourced": "float64"}
    if sources.empty:
        frame = _empty_layer(static)
        for year in years:
            for prefix in ("sup", "col", "out"):
                frame[f"{prefix}_{year}"] = pd.Series(dtype="float64")
        return frame
    sources = sources.copy()
    sources["id"] = sources["id"].astype(str)
    sources["year"] = sources["year"].astype(int)
    first = sources.drop_duplicates("id").set_index("id")
    ids = first.index
    totals = sources.groupby("id")[["supply_t", "collected_t", "outsourced_t"]].sum()
    totals = totals.reindex(ids)
    frame = pd.DataFrame({
        "id": ids,
        "name": [_text(v) or i for i, v in zip(ids, first["name"])],
        "kind": first["kind"].astype(str).to_numpy(),
        "member": [_text(v) for v in first["member"]],
        "supply": totals["supply_t"].to_numpy(),
        "collected": totals["collected_t"].to_numpy(),
        "outsourced": totals["outsourced_t"].to_numpy(),
    }, index=ids)
    figures = _wide(sources, ids, {"supply_t": "sup", "collected_t": "col",
                                   "outsourced_t": "out"}, years).astype(float).fillna(0.0)
    frame = pd.concat([frame, figures], axis=1).reset_index(drop=True)
    return gpd.GeoDataFrame(frame, geometry=_points(first), crs=CRS)


FLOW_FIELDS = {"leg": "leg", "origin": "origin", "destination": "dest",
               "chemistry": "chemistry", "condition": "condition", "year": "year",
               "tonnes": "tonnes", "km": "km", "tkm": "tkm",
               "transport_cost_cny": "cost_cny"}


def _locator(plan: Any):
    """A function (kind, id) -> (lon, lat) over the plan's sources and sites."""
    by_kind: dict[tuple[str, str], tuple[float, float]] = {}
    by_id: dict[str, set[tuple[float, float]]] = {}
    tables = [("source", plan.sources)] + [
        (kind, group) for kind, group in plan.sites.groupby("kind", sort=False)]
    for kind, table in tables:
        if table.empty:
            continue
        for fid, lon, lat in zip(table["id"].astype(str), table["lon"], table["lat"]):
            where = (float(lon), float(lat))
            by_kind[(kind, fid)] = where
            by_id.setdefault(fid, set()).add(where)

    def locate(kind: str | None, fid: str) -> tuple[float, float]:
        if kind is not None and (kind, fid) in by_kind:
            return by_kind[(kind, fid)]
        places = by_id.get(fid, set())
        if len(places) == 1:
            return next(iter(places))
        raise ValueError(f"flow end '{fid}' ({kind or 'unknown kind'}) has "
                         f"{'no' if not places else 'ambiguous'} coordinates in the plan")

    return locate


def flow_layer(plan: Any) -> gpd.GeoDataFrame:
    """LineString layer, origin to destination, one feature per row of ``plan.flows``."""
    flows = plan.flows
    if flows.empty:
        dtypes = {"leg": "str", "origin": "str", "dest": "str", "chemistry": "str",
                  "condition": "str", "year": "int32", "tonnes": "float64", "km": "float64",
                  "tkm": "float64", "cost_cny": "float64"}
        return _empty_layer(dtypes)
    locate = _locator(plan)
    geometry = []
    for leg, origin, dest in zip(flows["leg"], flows["origin"], flows["destination"]):
        start, end = plan.leg_ends.get(leg, (None, None))
        geometry.append(LineString([locate(start, str(origin)), locate(end, str(dest))]))
    columns = [c for c in FLOW_FIELDS if c in flows.columns]
    frame = flows[columns].rename(columns=FLOW_FIELDS).reset_index(drop=True)
    for column in ("leg", "origin", "dest", "chemistry", "condition"):
        if column in frame.columns:
            frame[column] = frame[column].astype(str)
    frame["year"] = frame["year"].astype("int32")
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=CRS)


def plan_layers(plan: Any) -> dict[str, gpd.GeoDataFrame]:
    """The plan's GIS layers (see the module docstring), in EPSG:4326, keyed by name."""
    years = plan_years(plan)
    layers: dict[str, gpd.GeoDataFrame] = {"sources": source_layer(plan.sources, years)}
    sites = plan.sites
    for kind, name in SITE_LAYERS.items():
        rows = sites[sites["kind"] == kind] if "kind" in sites.columns else sites.iloc[:0]
        layers[name] = site_layer(rows, years)
    layers["flows"] = flow_layer(plan)
    for name, layer in list(layers.items()):
        fields = [c for c in layer.columns if c != layer.geometry.name]
        layer = layers[name] = layer[[*fields, layer.geometry.name]]
        layer.attrs["title"] = LAYER_TITLES[name]
        layer.attrs["unit"] = LAYER_UNITS[name]
    return layers

