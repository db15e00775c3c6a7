"""GIS layers of a Plan: GeoDataFrames, a styled GeoPackage, or RFC 7946 GeoJSON files.

Layers (EPSG:4326, lon/lat), one feature per thing; per-year figures are fields with the
year in their name (``thr_2026``), since a GIS attribute table has one row per feature:

=================  ==========  ==========================================================
layer              geometry    fields
=================  ==========  ==========================================================
sources            Point       id, name, kind, member, supply, collected, outsourced (t,
                               whole horizon), sup_YYYY, col_YYYY, out_YYYY (t)
collection_points  Point       id, name, kind, member, opened (first year open, null if
dismantling_sites              never), level (last level open), thr_total (t),
recyclers                      lvl_YYYY, cap_YYYY (t/yr), thr_YYYY (t), util_YYYY
reuse_outlets                  (fraction of capacity)
flows              LineString  leg, origin, dest, chemistry, condition, year, tonnes (t),
                               km, tkm (t-km), cost_cny (transport, CNY)
=================  ==========  ==========================================================

Field names are lower-case ASCII letters, digits and underscores, start with a letter and
have at most 10 characters, so that QGIS, ArcGIS and even a shapefile accept them.

The GeoPackage carries a QGIS default style per layer in the ``layer_styles`` table (the
table QGIS itself writes with "Save style ... in database"): opened sites are filled
symbols by kind, closed candidates hollow grey ones (a rule-based renderer on ``opened``),
and flow lines are coloured by leg with a width that follows ``tonnes``. GeoJSON output
gets the same style as a ``.qml`` file beside each layer, which QGIS loads by default.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import geopandas as gpd

# the layers are built in netopt.layers; these names stay importable from here
from netopt.layers import CRS as CRS
from netopt.layers import LAYER_TITLES as LAYER_TITLES
from netopt.layers import LAYER_UNITS as LAYER_UNITS
from netopt.layers import LAYERS as LAYERS
from netopt.layers import SITE_LAYERS, plan_layers
from netopt.layers import flow_layer as flow_layer
from netopt.layers import plan_years as plan_years
from netopt.layers import site_layer as site_layer
from netopt.layers import source_layer as source_layer


def to_geodataframes(plan: Any) -> dict[str, gpd.GeoDataFrame]:
    """The plan's GIS layers (sources, sites by kind, flows) as GeoDataFrames."""
    return plan_layers(plan)


#: Display colours (R, G, B) shared by the QGIS styles and the maps.
KIND_COLORS = {
    "source": (115, 115, 115),
    "collection_point": (31, 120, 180),
    "dismantling_site": (255, 127, 0),
    "recycler": (51, 160, 44),
    "reuse_outlet": (106, 61, 154),
}
LEG_COLORS = {
    "source_collection": (110, 170, 210),
    "source_site": (150, 200, 110),
    "collection_site": (31, 120, 180),
    "site_recycler": (51, 160, 44),
    "site_reuse": (106, 61, 154),
}
OTHER_COLOR = (90, 90, 90)
CLOSED_COLOR = (150, 150, 150)

#: QGIS marker shape per site kind (and for the maps' matplotlib markers).
KIND_SHAPES = {
    "source": "circle",
    "collection_point": "circle",
    "dismantling_site": "square",
    "recycler": "diamond",
    "reuse_outlet": "triangle",
}

FORMATS = ("gpkg", "geojson")


def write_plan(plan: Any, path: str | Path, *, format: str = "gpkg",
               overwrite: bool = False) -> Path:
    """Write the plan's layers: one styled GeoPackage, or a folder of GeoJSON files.

    ``format="gpkg"``: ``path`` is the ``.gpkg`` file; ``format="geojson"``: ``path`` is a
    folder that receives ``<layer>.geojson`` (RFC 7946: lon/lat, no ``crs`` member) and
    ``<layer>.qml`` per layer. The output is written beside its final place and moved
    there, so a failed write leaves nothing behind; an existing file or folder is replaced
    only with ``overwrite=True``.
    """
    if format not in FORMATS:
        raise ValueError(f"unknown GIS format '{format}'; choose one of {', '.join(FORMATS)}")
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; choose another path or overwrite")
    layers = plan_layers(plan)
    styles = layer_styles(layers)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        if format == "gpkg":
            target = staging / path.name
            _write_gpkg(layers, styles, target, plan_metadata(plan))
        else:
            target = staging / "layers"
            target.mkdir()
            _write_geojson(layers, styles, target, plan_metadata(plan))
        if path.exists():
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
        os.replace(target, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def plan_metadata(plan: Any) -> dict[str, str]:
    """The plan's solver status, gap, objective and bound, as written into every layer.

    ``note`` is empty for a proven-optimal plan, else says what the plan is not (a time
    limit or Ctrl-C stopped the search, with the gap left), for the layer descriptions.
    """
    note = "" if plan.status == "optimal" else (
        f" [plan not proven optimal: {plan.status.replace('_', ' ')}, gap {plan.gap:.2%}]")
    return {"netopt_case": str(plan.case_name), "netopt_status": str(plan.status),
            "netopt_gap": repr(float(plan.gap)),
            "netopt_objective_cny": repr(float(plan.objective)),
            "netopt_bound_cny": repr(float(plan.bound)), "note": note}


def _layer_metadata(metadata: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in metadata.items() if k != "note"}


def _geometry_type(name: str) -> str:
    return "LineString" if name == "flows" else "Point"


def _write_gpkg(layers: dict[str, gpd.GeoDataFrame], styles: dict[str, str],
                target: Path, metadata: dict[str, str]) -> None:
    import pyogrio

    for number, (name, layer) in enumerate(layers.items()):
        pyogrio.write_dataframe(
            layer, target, layer=name, driver="GPKG", geometry_type=_geometry_type(name),
            # GeoPackage 1.2: read by every GDAL since 2.2, QGIS and ArcGIS alike
            dataset_options={"VERSION": "1.2"} if number == 0 else None,
            layer_options={"DESCRIPTION": f"{LAYER_TITLES[name]} ({LAYER_UNITS[name]})"
                                          f"{metadata['note']}"},
            layer_metadata=_layer_metadata(metadata),
        )
    write_layer_styles(target, styles)


def _write_geojson(layers: dict[str, gpd.GeoDataFrame], styles: dict[str, str],
                   folder: Path, metadata: dict[str, str]) -> None:
    import pyogrio

    for name, layer in layers.items():
        pyogrio.write_dataframe(
            layer, folder / f"{name}.geojson", layer=name, driver="GeoJSON",
            geometry_type=_geometry_type(name),
            layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": 7,
                           "DESCRIPTION": f"{LAYER_TITLES[name]} ({LAYER_UNITS[name]})"
                                          f"{metadata['note']}"},
        )
        (folder / f"{name}.qml").write_text(styles[name], encoding="utf-8")


LAYER_STYLES_SQL = """
CREATE TABLE IF NOT EXISTS layer_styles (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    f_table_catalog TEXT(256),
    f_table_schema TEXT(256),
    f_table_name TEXT(256),
    f_geometry_column TEXT(256),
    styleName TEXT(30),
    styleQML TEXT,
    styleSLD TEXT,
    useAsDefault BOOLEAN,
    description TEXT,
    owner TEXT(30),
    ui TEXT(30),
    update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
)
"""


def write_layer_styles(gpkg: str | Path, styles: dict[str, str],
                       description: str = "netopt default style") -> None:
    """Store one default QML style per layer in the GeoPackage's ``layer_styles`` table.

    The table has the columns QGIS writes and reads (``f_table_name``,
    ``f_geometry_column``, ``styleName``, ``styleQML``, ``useAsDefault``, ...) and is
    registered in ``gpkg_contents`` as an attributes table, as GDAL registers it when QGIS
    saves a style. A layer's earlier default style stops being the default.
    """
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"
    with sqlite3.connect(gpkg) as db:
        geometry_columns = dict(db.execute(
            "SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall())
        db.execute(LAYER_STYLES_SQL)
        registered = db.execute(
            "SELECT 1 FROM gpkg_contents WHERE lower(table_name) = 'layer_styles'").fetchone()
        if not registered:
            db.execute(
                "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
                "last_change, srs_id) VALUES ('layer_styles', 'attributes', 'layer_styles', "
                "'QGIS layer styles', ?, 0)", (stamp,))
        for name, qml in styles.items():
            geometry_column = geometry_columns.get(name)
            if geometry_column is None:
                raise ValueError(f"{gpkg} has no layer '{name}' to style")
            db.execute("UPDATE layer_styles SET useAsDefault = 0 WHERE f_table_name = ? AND "
                       "f_geometry_column = ?", (name, geometry_column))
            db.execute(
                "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, "
                "owner, ui, update_time) VALUES ('', '', ?, ?, ?, ?, NULL, 1, ?, '', NULL, ?)",
                (name, geometry_column, name, qml, description, stamp))


# ---------------------------------------------------------------------------------------
# QGIS styles (QML)
# ---------------------------------------------------------------------------------------
def _rgba(rgb: tuple[int, int, int], alpha: int = 255) -> str:
    return f"{rgb[0]},{rgb[1]},{rgb[2]},{alpha}"


def _props(values: dict[str, str], indent: str) -> str:
    """Symbol layer properties in both forms QGIS 3 reads (Option map and legacy prop)."""
    options = "".join(f'{indent}  <Option type="QString" name={quoteattr(k)} '
                      f'value={quoteattr(v)}/>\n' for k, v in values.items())
    legacy = "".join(f'{indent}<prop k={quoteattr(k)} v={quoteattr(v)}/>\n'
                     for k, v in values.items())
    return f'{indent}<Option type="Map">\n{options}{indent}</Option>\n{legacy}'


def _data_defined(properties: dict[str, str], indent: str) -> str:
    """``<data_defined_properties>`` with expression-based properties (type 3)."""
    if properties:
        inner = "".join(
            f'{indent}      <Option type="Map" name={quoteattr(key)}>\n'
            f'{indent}        <Option type="bool" name="active" value="true"/>\n'
            f'{indent}        <Option type="QString" name="expression" '
            f'value={quoteattr(expression)}/>\n'
            f'{indent}        <Option type="int" name="type" value="3"/>\n'
            f'{indent}      </Option>\n' for key, expression in properties.items())
        props = f'{indent}    <Option type="Map" name="properties">\n{inner}{indent}    </Option>\n'
    else:
        props = f'{indent}    <Option name="properties"/>\n'
    return (f"{indent}<data_defined_properties>\n{indent}  <Option type=\"Map\">\n"
            f'{indent}    <Option type="QString" name="name" value=""/>\n{props}'
            f'{indent}    <Option type="QString" name="type" value="collection"/>\n'
            f"{indent}  </Option>\n{indent}</data_defined_properties>\n")


def _marker_symbol(name: str, shape: str, fill: str, outline: str, size: float,
                   outline_width: float = 0.3) -> str:
    indent = "        "
    values = {
        "angle": "0", "color": fill, "horizontal_anchor_point": "1", "joinstyle": "bevel",
        "name": shape, "offset": "0,0", "offset_map_unit_scale": "3x:0,0,0,0,0,0",
        "offset_unit": "MM", "outline_color": outline, "outline_style": "solid",
        "outline_width": str(outline_width), "outline_width_map_unit_scale": "3x:0,0,0,0,0,0",
        "outline_width_unit": "MM", "scale_method": "diameter", "size": str(size),
        "size_map_unit_scale": "3x:0,0,0,0,0,0", "size_unit": "MM",
        "vertical_anchor_point": "1",
    }
    return (f'      <symbol type="marker" name={quoteattr(name)} alpha="1" '
            f'clip_to_extent="1" force_rhr="0">\n'
            f"{_data_defined({}, indent)}"
            f'{indent}<layer class="SimpleMarker" enabled="1" locked="0" pass="0">\n'
            f"{_props(values, indent + '  ')}{_data_defined({}, indent + '  ')}"
            f"{indent}</layer>\n      </symbol>\n")


def _line_symbol(name: str, color: str, width: float, width_expression: str) -> str:
    indent = "        "
    values = {
        "capstyle": "round", "customdash": "5;2", "customdash_map_unit_scale":
        "3x:0,0,0,0,0,0", "customdash_unit": "MM", "draw_inside_polygon": "0",
        "joinstyle": "round", "line_color": color, "line_style": "solid",
        "line_width": str(width), "line_width_unit": "MM", "offset": "0",
        "offset_map_unit_scale": "3x:0,0,0,0,0,0", "offset_unit": "MM", "ring_filter": "0",
        "use_custom_dash": "0", "width_map_unit_scale": "3x:0,0,0,0,0,0",
    }
    return (f'      <symbol type="line" name={quoteattr(name)} alpha="0.85" '
            f'clip_to_extent="1" force_rhr="0">\n'
            f"{_data_defined({}, indent)}"
            f'{indent}<layer class="SimpleLine" enabled="1" locked="0" pass="0">\n'
            f"{_props(values, indent + '  ')}"
            f"{_data_defined({'outlineWidth': width_expression}, indent + '  ')}"
            f"{indent}</layer>\n      </symbol>\n")


def _qml(renderer: str, geometry_type: int, map_tip: str) -> str:
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.28.0-Firenze" styleCategories="Symbology|MapTips" '
        'labelsEnabled="0">\n'
        f"{renderer}"
        f"  <mapTip>{escape(map_tip)}</mapTip>\n"
        "  <blendMode>0</blendMode>\n  <featureBlendMode>0</featureBlendMode>\n"
        f"  <layerGeometryType>{geometry_type}</layerGeometryType>\n"
        "</qgis>\n"
    )


def site_style(kind: str) -> str:
    """Rule-based QML: opened sites (``opened`` not null) filled, closed ones hollow grey."""
    color = _rgba(KIND_COLORS[kind])
    shape = KIND_SHAPES[kind]
    rules = (
        '    <rules key="{netopt-rules}">\n'
        '      <rule key="{netopt-open}" symbol="0" label="opened" '
        'filter="&quot;opened&quot; IS NOT NULL"/>\n'
        '      <rule key="{netopt-closed}" symbol="1" label="closed candidate" '
        'filter="ELSE"/>\n'
        "    </rules>\n")
    symbols = (_marker_symbol("0", shape, color, "35,35,35,255", 4.2, 0.4)
               + _marker_symbol("1", shape, "255,255,255,0", _rgba(CLOSED_COLOR), 2.6, 0.3))
    renderer = ('  <renderer-v2 type="RuleRenderer" symbollevels="0" enableorderby="1" '
                'forceraster="0" referencescale="-1">\n'
                f"{rules}    <symbols>\n{symbols}    </symbols>\n"
                '    <orderby>\n      <orderByClause asc="1" nullsFirst="1">'
                "&quot;opened&quot;</orderByClause>\n    </orderby>\n"
                "  </renderer-v2>\n")
    tip = ('[% "name" %] ([% "id" %], [% "member" %]): opened [% coalesce("opened", \'never\') %]'
           ', level [% coalesce("level", \'-\') %], [% format_number("thr_total", 0) %] t')
    return _qml(renderer, 0, tip)


def source_style() -> str:
    """Single-symbol QML for sources: small grey dots."""
    symbol = _marker_symbol("0", "circle", _rgba(KIND_COLORS["source"], 200), "255,255,255,255",
                            1.8, 0.2)
    renderer = ('  <renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" '
                'forceraster="0" referencescale="-1">\n'
                f"    <symbols>\n{symbol}    </symbols>\n"
                "    <rotation/>\n    <sizescale/>\n  </renderer-v2>\n")
    tip = '[% "name" %] ([% "id" %], [% "member" %]): supply [% format_number("supply", 0) %] t'
    return _qml(renderer, 0, tip)


def flow_style(max_tonnes: float) -> str:
    """Categorized QML on ``leg``; line width (mm) follows ``tonnes`` linearly."""
    top = max_tonnes if max_tonnes > 0 else 1.0
    width = f'coalesce(scale_linear("tonnes", 0, {top:.3f}, 0.25, 2.5), 0.25)'
    categories = ""
    symbols = ""
    for number, (leg, rgb) in enumerate(LEG_COLORS.items()):
        label = leg.replace("_", " to ").replace("site", "dismantling site")
        categories += (f'      <category render="true" symbol="{number}" '
                       f'value={quoteattr(leg)} label={quoteattr(label)} type="string"/>\n')
        symbols += _line_symbol(str(number), _rgba(rgb), 0.5, width)
    other = len(LEG_COLORS)
    categories += f'      <category render="true" symbol="{other}" value="" label="other"/>\n'
    symbols += _line_symbol(str(other), _rgba(OTHER_COLOR), 0.5, width)
    renderer = ('  <renderer-v2 type="categorizedSymbol" attr="leg" symbollevels="0" '
                'enableorderby="1" forceraster="0" referencescale="-1">\n'
                f"    <categories>\n{categories}    </categories>\n"
                f"    <symbols>\n{symbols}    </symbols>\n"
                '    <orderby>\n      <orderByClause asc="1" nullsFirst="1">'
                "&quot;tonnes&quot;</orderByClause>\n    </orderby>\n"
                "  </renderer-v2>\n")
    tip = ('[% "leg" %] [% "origin" %] to [% "dest" %], [% "chemistry" %] [% "condition" %] '
           '[% "year" %]: [% format_number("tonnes", 1) %] t, [% format_number("km", 0) %] km')
    return _qml(renderer, 1, tip)


def layer_styles(layers: dict[str, gpd.GeoDataFrame]) -> dict[str, str]:
    """QML text of the default style of each layer."""
    styles = {"sources": source_style()}
    for kind, name in SITE_LAYERS.items():
        styles[name] = site_style(kind)
    flows = layers.get("flows")
    top = float(flows["tonnes"].max()) if flows is not None and len(flows) else 0.0
    styles["flows"] = flow_style(top)
    return {name: styles[name] for name in layers}
