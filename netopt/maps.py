"""Maps of a Plan: a static PNG (matplotlib) and an interactive HTML page (folium/Leaflet).

Both show the plan's GIS layers (:func:`netopt.io.gis.plan_layers`): flows as lines whose
width follows the tonnes carried, sources as small grey dots, opened sites as filled
symbols by kind and closed candidates as hollow grey ones. ``year=None`` maps the whole
planning horizon (a site counts as opened if it is open in any year, flows are summed
over the years); ``year=2030`` maps that year alone.

Both draw the network over a small offline boundary layer (:func:`boundaries`: Natural
Earth land, coastline, country borders and China's province borders, public domain,
shipped in ``netopt/data/boundaries``). The HTML page works offline: Leaflet's script and
style sheet (from the XStatic-Leaflet package) are inlined, its images are data URIs, and
the boundary layer is inlined too; an OpenStreetMap tile layer is offered in the layer
list, off by default (it needs the network). Every path the page draws carries a class
naming what it is (``netopt-flow``, ``netopt-source``, ``netopt-site netopt-open`` /
``netopt-closed``, ``netopt-boundary netopt-coastline`` / ``netopt-country_border`` /
``netopt-province_border`` / ``netopt-land``), so that a browser test can count them.
"""

from __future__ import annotations

import base64
import html
import math
import re
from functools import cache
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import pandas as pd

from netopt.io.gis import (
    CLOSED_COLOR,
    KIND_COLORS,
    LEG_COLORS,
    OTHER_COLOR,
    SITE_LAYERS,
    plan_layers,
    plan_years,
)

KIND_LABELS = {
    "collection_point": "collection points",
    "dismantling_site": "dismantling sites",
    "recycler": "recyclers",
    "reuse_outlet": "reuse outlets",
}
LEG_LABELS = {
    "source_collection": "source to collection point",
    "source_site": "source to dismantling site",
    "collection_site": "collection point to dismantling site",
    "site_recycler": "dismantling site to recycler",
    "site_reuse": "dismantling site to reuse outlet",
}
MPL_MARKERS = {"collection_point": "o", "dismantling_site": "s", "recycler": "D",
               "reuse_outlet": "^"}
MIN_WIDTH, MAX_WIDTH = 0.6, 6.0  # matplotlib points
#: The boundary layer's look: sea (the background), land, and each kind of line (colour,
#: width in matplotlib points, width in Leaflet pixels, dashes).
SEA_COLOR, LAND_COLOR = "#e3edf5", "#f7f5f0"
BOUNDARY_STYLE = {
    "coastline": ("#4f7ea8", 0.8, 1.2, None),
    "country_border": ("#7a6a8a", 0.9, 1.4, "6 3"),
    "province_border": ("#a9a2b5", 0.5, 0.8, "3 3"),
}
BOUNDARIES = Path(__file__).resolve().parent / "data" / "boundaries" / "east_asia.geojson"
TILES_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
TILES_ATTRIBUTION = "&copy; OpenStreetMap contributors"
MIN_WEIGHT, MAX_WEIGHT = 1.5, 12.0  # Leaflet pixels


@cache
def boundaries() -> gpd.GeoDataFrame:
    """The offline boundary layer (EPSG:4326): one row per ``kind`` (land, coastline,
    country_border, province_border), Natural Earth, lon 70-140 E, lat 15-55 N."""
    return gpd.read_file(BOUNDARIES)


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


# ---------------------------------------------------------------------------------------
# What a map shows
# ---------------------------------------------------------------------------------------
def map_layers(plan: Any, year: int | None = None) -> dict[str, gpd.GeoDataFrame]:
    """The layers a map draws, for one year or (``year=None``) the whole horizon.

    ``sites``: one row per candidate facility with ``is_open``, ``capacity`` (t/yr),
    ``throughput`` (t) and ``utilisation`` for the year (for the horizon: the largest
    capacity, the total throughput and throughput over summed capacity); ``sources``: one
    row per source with ``supply``, ``collected``, ``outsourced`` (t); ``arcs``: one row per
    leg, origin and destination with ``tonnes``, ``km``, ``tkm``, ``cost_cny`` summed over
    products (and years).
    """
    if not plan.has_solution:
        raise ValueError(f"the plan has no solution (status {plan.status}): nothing to map")
    years = plan_years(plan)
    if year is not None:
        year = int(year)
        if year not in years:
            raise ValueError(f"year {year} is not in the plan (years {years[0]}-{years[-1]})"
                             if years else f"year {year} is not in the plan")
    layers = plan_layers(plan)
    frames = []
    for kind, name in SITE_LAYERS.items():
        layer = layers[name]
        if layer.empty:
            continue
        frame = layer[["id", "name", "kind", "member", "opened", "level", "geometry"]].copy()
        frame["kind"] = kind
        opened = layer["opened"].astype("Float64")
        if year is None:
            cap = layer[[f"cap_{y}" for y in years]]
            thr = layer[[f"thr_{y}" for y in years]]
            frame["is_open"] = opened.notna().to_numpy(dtype=bool)
            frame["capacity"] = cap.max(axis=1)
            frame["throughput"] = thr.sum(axis=1)
            total_cap = cap.sum(axis=1)
            frame["utilisation"] = (thr.sum(axis=1) / total_cap.where(total_cap > 0)).fillna(0)
        else:
            frame["is_open"] = (opened <= year).fillna(False).to_numpy(dtype=bool)
            frame["level"] = layer[f"lvl_{year}"]
            frame["capacity"] = layer[f"cap_{year}"]
            frame["throughput"] = layer[f"thr_{year}"]
            frame["utilisation"] = layer[f"util_{year}"]
        frame["years"] = [_site_years(row, years) for _, row in layer.iterrows()]
        frames.append(frame)
    if frames:
        sites = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=layers["sources"].crs)
    else:
        sites = gpd.GeoDataFrame(
            {c: [] for c in ("id", "name", "kind", "member", "opened", "level", "is_open",
                             "capacity", "throughput", "utilisation", "years")},
            geometry=gpd.GeoSeries([], crs=layers["sources"].crs))

    sources = layers["sources"].copy()
    if year is not None and not sources.empty:
        sources["supply"] = sources[f"sup_{year}"]
        sources["collected"] = sources[f"col_{year}"]
        sources["outsourced"] = sources[f"out_{year}"]

    flows = layers["flows"]
    if year is not None:
        flows = flows[flows["year"] == year]
    arcs = _arcs(flows)
    return {"sites": sites, "sources": sources, "arcs": arcs}


def _site_years(row: pd.Series, years: list[int]) -> list[tuple]:
    return [(y, row.get(f"lvl_{y}"), row.get(f"cap_{y}"), row.get(f"thr_{y}"),
             row.get(f"util_{y}")) for y in years]


def _arcs(flows: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Flows summed per leg, origin and destination; ``products`` lists their parts."""
    columns = ["leg", "origin", "dest", "tonnes", "km", "tkm", "cost_cny", "products"]
    flows = flows[flows["tonnes"] > 0] if len(flows) else flows
    if flows.empty:
        return gpd.GeoDataFrame({c: [] for c in columns},
                                geometry=gpd.GeoSeries([], crs=flows.crs))
    keys = ["leg", "origin", "dest"]
    grouped = flows.groupby(keys, sort=False)
    arcs = grouped.agg(tonnes=("tonnes", "sum"), km=("km", "first"), tkm=("tkm", "sum"),
                       cost_cny=("cost_cny", "sum"), geometry=("geometry", "first"))
    parts = flows.groupby([*keys, "chemistry", "condition"], sort=False)["tonnes"].sum()
    products: dict[tuple[str, str, str], list[tuple[str, str, float]]] = {}
    for (leg, origin, dest, chemistry, condition), tonnes in parts.items():
        products.setdefault((leg, origin, dest), []).append((chemistry, condition, tonnes))
    arcs["products"] = [products.get(key, []) for key in arcs.index]
    arcs = arcs.reset_index()
    return gpd.GeoDataFrame(arcs, geometry="geometry", crs=flows.crs)


def _widths(tonnes: pd.Series, low: float, high: float) -> list[float]:
    top = float(tonnes.max()) if len(tonnes) else 0.0
    if top <= 0:
        return [low] * len(tonnes)
    return [low + (high - low) * float(t) / top for t in tonnes]


def map_title(plan: Any, year: int | None) -> str:
    """The map's title: case, years, status and, for a plan not proven optimal, its gap."""
    years = plan_years(plan)
    span = str(year) if year is not None else (
        f"{years[0]}-{years[-1]}" if len(years) > 1 else str(years[0]) if years else "")
    status = "" if plan.status == "optimal" else (
        f", {plan.status.replace('_', ' ')}, gap {plan.gap:.2%}")
    value = plan.objective
    money = f"{value / 1e6:,.2f} M" if abs(value) >= 1e6 else f"{value:,.0f}"
    return f"{plan.case_name} {span}: objective CNY {money} (discounted{status})"


# ---------------------------------------------------------------------------------------
# Static map (PNG)
# ---------------------------------------------------------------------------------------
def plot_plan(plan: Any, ax: Any = None, year: int | None = None) -> Any:
    """Draw the plan on a matplotlib Axes (a new figure if ``ax`` is None); return the Axes."""
    from matplotlib.lines import Line2D

    data = map_layers(plan, year)
    if ax is None:
        from matplotlib.figure import Figure

        ax = Figure(figsize=(10, 8), dpi=150, layout="constrained").subplots()
    sites, sources, arcs = data["sites"], data["sources"], data["arcs"]
    _draw_boundaries(ax)
    handles = []
    if len(arcs):
        colors = [_hex(LEG_COLORS.get(leg, OTHER_COLOR)) for leg in arcs["leg"]]
        order = arcs["tonnes"].argsort().to_numpy()  # heavy flows on top
        arcs = arcs.iloc[order]
        arcs.plot(ax=ax, color=[colors[i] for i in order], alpha=0.8, zorder=1,
                  linewidth=_widths(arcs["tonnes"], MIN_WIDTH, MAX_WIDTH),
                  capstyle="round")
        top = float(arcs["tonnes"].max())
        for leg in dict.fromkeys(arcs["leg"]):
            handles.append(Line2D([], [], color=_hex(LEG_COLORS.get(leg, OTHER_COLOR)),
                                  linewidth=2.5, label=LEG_LABELS.get(leg, leg)))
        handles.append(Line2D([], [], color="0.35", linewidth=MAX_WIDTH,
                              label=f"{top:,.0f} t (width follows tonnes)"))
    if len(sources):
        sources.plot(ax=ax, color=_hex(KIND_COLORS["source"]), markersize=6, alpha=0.7,
                     zorder=2)
        handles.append(Line2D([], [], linestyle="", marker=".", markersize=6,
                              color=_hex(KIND_COLORS["source"]), label="sources"))
    closed = sites[~sites["is_open"].astype(bool)] if len(sites) else sites
    opened = sites[sites["is_open"].astype(bool)] if len(sites) else sites
    for kind, marker in MPL_MARKERS.items():
        part = closed[closed["kind"] == kind]
        if len(part):
            part.plot(ax=ax, marker=marker, markersize=28, facecolor="none",
                      edgecolor=_hex(CLOSED_COLOR), linewidth=0.8, zorder=3)
    for kind, marker in MPL_MARKERS.items():
        part = opened[opened["kind"] == kind]
        if len(part):
            part.plot(ax=ax, marker=marker, markersize=70, color=_hex(KIND_COLORS[kind]),
                      edgecolor="#232323", linewidth=0.6, zorder=4)
            handles.append(Line2D([], [], linestyle="", marker=marker, markersize=8,
                                  markerfacecolor=_hex(KIND_COLORS[kind]),
                                  markeredgecolor="#232323",
                                  label=f"{KIND_LABELS[kind]} opened ({len(part)})"))
    if len(closed):
        handles.append(Line2D([], [], linestyle="", marker="o", markersize=6,
                              markerfacecolor="none", markeredgecolor=_hex(CLOSED_COLOR),
                              label=f"closed candidates ({len(closed)})"))
    _frame(ax, [g for frame in (sites, sources) for g in frame.geometry if g is not None])
    ax.set_title(map_title(plan, year), fontsize=11)
    ax.set_xlabel("longitude (deg E)")
    ax.set_ylabel("latitude (deg N)")
    ax.grid(True, linewidth=0.3, color="0.8", alpha=0.6)
    ax.set_axisbelow(True)
    ax.text(0.995, 0.005, "boundaries: Natural Earth", transform=ax.transAxes, ha="right",
            va="bottom", fontsize=6, color="0.45")
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8,
                  frameon=False)
    return ax


def _draw_boundaries(ax: Any) -> None:
    """Sea, land, coastline, country and province borders under the network (zorder 0)."""
    layer = boundaries()
    ax.set_facecolor(SEA_COLOR)
    land = layer[layer["kind"] == "land"]
    if len(land):
        land.plot(ax=ax, color=LAND_COLOR, linewidth=0, zorder=0)
    for kind, (color, width, _, dashes) in BOUNDARY_STYLE.items():
        part = layer[layer["kind"] == kind]
        if len(part):
            style = (0, tuple(float(d) for d in dashes.split())) if dashes else "solid"
            part.plot(ax=ax, color=color, linewidth=width, linestyle=style, zorder=0.5)


def _frame(ax: Any, points: list) -> None:
    """Limits around the points, padded to a near-square view (at least 0.5 deg)."""
    if not points:
        return
    xs, ys = [p.x for p in points], [p.y for p in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    squeeze = max(math.cos(math.radians((y0 + y1) / 2)), 0.1)  # km per deg lon vs lat
    half = max((x1 - x0) * squeeze, y1 - y0, 0.5) / 2 * 1.08
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    ax.set_xlim(cx - half / squeeze, cx + half / squeeze)
    ax.set_ylim(cy - half, cy + half)
    ax.set_aspect(1 / squeeze)


def static_map(plan: Any, path: str | Path, year: int | None = None, *,
               overwrite: bool = True) -> Path:
    """Write the plan as a PNG map (matplotlib's Agg renderer; no network, no tiles)."""
    from matplotlib.figure import Figure

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; choose another path or overwrite")
    # a bare Figure: no pyplot, no GUI backend; savefig renders it with Agg
    figure = Figure(figsize=(10, 8), dpi=150, layout="constrained")
    plot_plan(plan, figure.subplots(), year)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    try:
        figure.savefig(tmp, format="png", bbox_inches="tight", pad_inches=0.15)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


# ---------------------------------------------------------------------------------------
# Interactive map (HTML, offline)
# ---------------------------------------------------------------------------------------
@cache
def leaflet_assets() -> tuple[str, str]:
    """Leaflet's JavaScript and CSS (images inlined as data URIs), from XStatic-Leaflet."""
    from xstatic.pkg import leaflet

    folder = Path(leaflet.BASE_DIR)
    script = (folder / "leaflet.js").read_text(encoding="utf-8")
    script = re.sub(r"//# sourceMappingURL=\S+\s*$", "", script)
    style = (folder / "leaflet.css").read_text(encoding="utf-8")

    def inline(match: re.Match) -> str:
        image = folder / match.group(1)
        data = base64.b64encode(image.read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    style = re.sub(r"url\((images/[\w.-]+\.png)\)", inline, style)
    return script, style


def _esc(text: Any) -> str:
    """Text for a popup: HTML-escaped, and inert inside folium's JavaScript template strings."""
    return html.escape(str(text)).replace("$", "&#36;").replace("`", "&#96;")


def _number(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "-"
    return f"{float(value):,.{digits}f}"


def _site_popup(row: pd.Series) -> str:
    e = _esc
    opened = "never" if pd.isna(row["opened"]) else str(int(row["opened"]))
    rows = "".join(
        f"<tr><td>{y}</td><td>{e(str(lvl)) if isinstance(lvl, str) and lvl else '-'}</td>"
        f"<td>{_number(cap, 0)}</td><td>{_number(thr)}</td>"
        f"<td>{_number(None if util is None else 100 * float(util), 0)}%</td></tr>"
        for y, lvl, cap, thr, util in row["years"])
    return (
        f"<b>{e(str(row['name']))}</b><br>{e(KIND_LABELS[row['kind']][:-1])} "
        f"<code>{e(str(row['id']))}</code>, member {e(str(row['member'] or 'outside'))}<br>"
        f"opened: {opened}<br>"
        "<table class='netopt-table'><tr><th>year</th><th>level</th><th>capacity t/yr</th>"
        f"<th>throughput t</th><th>utilisation</th></tr>{rows}</table>")


def _source_popup(row: pd.Series, year: int | None) -> str:
    e = _esc
    span = f"in {year}" if year is not None else "over the horizon"
    return (f"<b>{e(str(row['name']))}</b><br>{e(str(row['kind']))} "
            f"<code>{e(str(row['id']))}</code>, member {e(str(row['member']))}<br>"
            f"supply {_number(row['supply'])} t {span}: collected {_number(row['collected'])}"
            f" t, outsourced {_number(row['outsourced'])} t")


def _arc_popup(row: pd.Series, names: dict[str, str], year: int | None) -> str:
    e = _esc
    span = f"in {year}" if year is not None else "over the horizon"
    parts = "".join(f"<li>{e(str(c))} {e(str(k))}: {_number(t)} t</li>"
                    for c, k, t in row["products"])
    origin, dest = str(row["origin"]), str(row["dest"])
    return (f"<b>{e(LEG_LABELS.get(row['leg'], str(row['leg'])))}</b><br>"
            f"{e(names.get(origin, origin))} (<code>{e(origin)}</code>) to "
            f"{e(names.get(dest, dest))} (<code>{e(dest)}</code>)<br>"
            f"{_number(row['tonnes'])} t {span}, {_number(row['km'])} km, "
            f"transport CNY {_number(row['cost_cny'], 0)}<ul>{parts}</ul>")


def _legend(plan: Any, year: int | None, data: dict[str, gpd.GeoDataFrame]) -> str:
    e = _esc
    items = []
    for leg in dict.fromkeys(data["arcs"]["leg"]):
        color = _hex(LEG_COLORS.get(leg, OTHER_COLOR))
        items.append(f"<div><span class='swatch-line' style='background:{color}'></span>"
                     f"{e(LEG_LABELS.get(leg, leg))}</div>")
    if len(data["arcs"]):
        top = float(data["arcs"]["tonnes"].max())
        items.append(f"<div class='note'>line width follows tonnes (widest: {top:,.0f} t)</div>")
    sites = data["sites"]
    for kind, label in KIND_LABELS.items():
        count = int((sites["is_open"].astype(bool) & (sites["kind"] == kind)).sum()) \
            if len(sites) else 0
        if count:
            items.append(f"<div><span class='swatch-dot' style='background:"
                         f"{_hex(KIND_COLORS[kind])}'></span>{label} opened ({count})</div>")
    closed = int((~sites["is_open"].astype(bool)).sum()) if len(sites) else 0
    if closed:
        items.append(f"<div><span class='swatch-dot closed'></span>closed candidates "
                     f"({closed}, hidden: tick the layer)</div>")
    if len(data["sources"]):
        items.append(f"<div><span class='swatch-dot small' style='background:"
                     f"{_hex(KIND_COLORS['source'])}'></span>sources</div>")
    return (f"<div class='netopt-legend'><div class='title'>{e(map_title(plan, year))}</div>"
            f"{''.join(items)}</div>")


def _add_boundaries(fmap: Any) -> None:
    """The offline outline (shown by default) and an online tile layer (off by default)."""
    import folium

    layer = boundaries()
    group = folium.FeatureGroup(name="boundaries (Natural Earth, offline)", show=True)
    for _, row in layer.iterrows():
        kind = str(row["kind"])
        if kind == "land":
            style = {"fillColor": LAND_COLOR, "fillOpacity": 1.0, "stroke": False,
                     "className": "netopt-boundary netopt-land"}
        else:
            color, _, weight, dashes = BOUNDARY_STYLE[kind]
            style = {"color": color, "weight": weight, "opacity": 1.0, "fill": False,
                     "dashArray": dashes, "className": f"netopt-boundary netopt-{kind}"}
        folium.GeoJson(row.geometry.__geo_interface__, style_function=lambda _, s=style: s,
                       interactive=False, control=False, smooth_factor=1.0).add_to(group)
    group.add_to(fmap)
    folium.TileLayer(TILES_URL, name="OpenStreetMap tiles (online)", attr=TILES_ATTRIBUTION,
                     overlay=True, show=False, max_zoom=19).add_to(fmap)


#: folium builds popup contents with ``$(`<div>...</div>`)[0]`` (jQuery); this is all of
#: jQuery the page needs, so the page does not carry jQuery itself.
JQUERY_SHIM = """
window.$ = window.$ || function (markup) {
  var template = document.createElement("template");
  template.innerHTML = String(markup).trim();
  return Array.prototype.slice.call(template.content.childNodes);
};
"""

PAGE_STYLE = """
.leaflet-container { background: #e3edf5; font: 12px/1.4 system-ui, sans-serif; }
.netopt-legend { position: absolute; right: 10px; bottom: 24px; z-index: 1000;
  background: rgba(255,255,255,0.92); padding: 8px 10px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.3); font: 12px/1.5 system-ui, sans-serif; }
.netopt-legend .title { font-weight: bold; margin-bottom: 4px; }
.netopt-legend .note { color: #555; font-style: italic; }
.netopt-legend .swatch-line { display: inline-block; width: 22px; height: 4px;
  margin: 0 6px 3px 0; vertical-align: middle; }
.netopt-legend .swatch-dot { display: inline-block; width: 10px; height: 10px;
  border-radius: 50%; border: 1px solid #232323; margin: 0 6px 0 6px; vertical-align: middle; }
.netopt-legend .swatch-dot.small { width: 6px; height: 6px; border-color: #fff; }
.netopt-legend .swatch-dot.closed { background: none; border-color: #969696; }
table.netopt-table { border-collapse: collapse; margin-top: 4px; }
table.netopt-table td, table.netopt-table th { border: 1px solid #ddd; padding: 1px 4px;
  text-align: right; }
"""


def interactive_map(plan: Any, path: str | Path, year: int | None = None, *,
                    overwrite: bool = True) -> Path:
    """Write the plan as a self-contained HTML map (folium; works offline).

    Under the network, the offline boundary layer (Natural Earth, shown) and OpenStreetMap
    tiles (online, off until ticked in the layer list). One toggleable layer per flow leg,
    for sources, for each kind of opened site and for the closed candidates (hidden at
    first); a popup on each site gives its figures year by
    year, on each flow its tonnes by product, distance and transport cost.
    """
    import folium
    from branca.element import Element, Figure

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; choose another path or overwrite")
    data = map_layers(plan, year)
    sites, sources, arcs = data["sites"], data["sources"], data["arcs"]

    points = [g for frame in (sites, sources) for g in frame.geometry if g is not None]
    lats = [p.y for p in points] or [0.0]
    lons = [p.x for p in points] or [0.0]
    fmap = folium.Map(location=[(min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2],
                      zoom_start=5, tiles=None, control_scale=True, zoom_snap=0.25)
    fmap.default_js = []  # the page inlines Leaflet instead of loading it from a CDN
    fmap.default_css = []
    root = cast(Figure, fmap.get_root())  # a folium Map sits in a branca Figure
    script, style = leaflet_assets()
    header = root.header
    # elements with a ``code`` attribute of their own, which their template renders
    inline_css: Any = Element("<style>{{ this.code }}</style>")
    inline_css.code = style + PAGE_STYLE
    inline_js: Any = Element("<script>{{ this.code }}</script>")
    inline_js.code = script + JQUERY_SHIM
    header.add_child(inline_css, name="leaflet_css_inline")
    header.add_child(inline_js, name="leaflet_js_inline")

    _add_boundaries(fmap)

    names = {str(i): str(n) for i, n in zip(sources.get("id", []), sources.get("name", []))}
    names.update({str(i): str(n) for i, n in zip(sites.get("id", []), sites.get("name", []))})

    weights = _widths(arcs["tonnes"], MIN_WEIGHT, MAX_WEIGHT) if len(arcs) else []
    groups: dict[str, folium.FeatureGroup] = {}
    for (_, row), weight in zip(arcs.iterrows(), weights):
        leg = str(row["leg"])
        if leg not in groups:
            groups[leg] = folium.FeatureGroup(name=f"flows: {LEG_LABELS.get(leg, leg)}")
        line = row.geometry
        folium.PolyLine(
            [(lat, lon) for lon, lat in line.coords], color=_hex(LEG_COLORS.get(leg, OTHER_COLOR)),
            weight=round(weight, 2), opacity=0.75, class_name=f"netopt-flow netopt-{leg}",
            popup=folium.Popup(_arc_popup(row, names, year), max_width=420),
            tooltip=f"{_number(row['tonnes'])} t",
        ).add_to(groups[leg])
    for group in groups.values():
        group.add_to(fmap)

    if len(sources):
        group = folium.FeatureGroup(name=f"sources ({len(sources)})")
        for _, row in sources.iterrows():
            folium.CircleMarker(
                (row.geometry.y, row.geometry.x), radius=3, weight=1, color="#ffffff",
                fill_color=_hex(KIND_COLORS["source"]), fill_opacity=0.8,
                class_name="netopt-source", tooltip=_esc(row["name"]),
                popup=folium.Popup(_source_popup(row, year), max_width=360),
            ).add_to(group)
        group.add_to(fmap)

    if len(sites):
        closed = sites[~sites["is_open"].astype(bool)]
        if len(closed):
            group = folium.FeatureGroup(name=f"closed candidates ({len(closed)})", show=False)
            for _, row in closed.iterrows():
                folium.CircleMarker(
                    (row.geometry.y, row.geometry.x), radius=5, weight=1.5,
                    color=_hex(CLOSED_COLOR), fill_color="#ffffff", fill_opacity=0.6,
                    class_name=f"netopt-site netopt-closed netopt-{row['kind']}",
                    tooltip=_esc(row["name"]),
                    popup=folium.Popup(_site_popup(row), max_width=460),
                ).add_to(group)
            group.add_to(fmap)
        radius = {"collection_point": 6, "dismantling_site": 9, "recycler": 11,
                  "reuse_outlet": 9}
        for kind, label in KIND_LABELS.items():
            part = sites[sites["is_open"].astype(bool) & (sites["kind"] == kind)]
            if part.empty:
                continue
            group = folium.FeatureGroup(name=f"{label} opened ({len(part)})")
            for _, row in part.iterrows():
                folium.CircleMarker(
                    (row.geometry.y, row.geometry.x), radius=radius[kind], weight=1.5,
                    color="#232323", fill_color=_hex(KIND_COLORS[kind]), fill_opacity=0.9,
                    class_name=f"netopt-site netopt-open netopt-{kind}",
                    tooltip=_esc(row["name"]),
                    popup=folium.Popup(_site_popup(row), max_width=460),
                ).add_to(group)
            group.add_to(fmap)

    if points:
        pad = 0.05
        # keep the network clear of the layer list and the legend on the right
        fmap.fit_bounds([[min(lats) - pad, min(lons) - pad], [max(lats) + pad, max(lons) + pad]],
                        padding_top_left=(30, 30), padding_bottom_right=(430, 30))
    folium.LayerControl(collapsed=False).add_to(fmap)
    root.html.add_child(Element(_legend(plan, year, data)))
    root.title = html.escape(map_title(plan, year))

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(fmap.get_root().render(), encoding="utf-8")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
