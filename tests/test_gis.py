"""GIS exports read back by two independent readers: geopandas (pyogrio) and GDAL's ogrinfo.

data/tiny/basic is solved by hand (its README): objective 8,000 CNY; c1, d1 and r1 open;
flows s1->c1 100 t, s2->c1 50 t, c1->d1 150 t, d1->r1 150 t.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest

import netopt
from netopt.datasets import data_path
from netopt.io.gis import LAYERS, plan_layers, write_plan
from tests.conftest import external_program, run_cli

POINT_LAYERS = ("sources", "collection_points", "dismantling_sites", "recyclers",
                "reuse_outlets")
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,9}$")
#: data/tiny/basic: features per layer, opened sites per layer.
COUNTS = {"sources": 2, "collection_points": 2, "dismantling_sites": 1, "recyclers": 1,
          "reuse_outlets": 0, "flows": 4}
OPENED = {"collection_points": 1, "dismantling_sites": 1, "recyclers": 1, "reuse_outlets": 0}
FLOWS = {("s1", "c1"): 100.0, ("s2", "c1"): 50.0, ("c1", "d1"): 150.0, ("d1", "r1"): 150.0}



@pytest.fixture(scope="module")
def gpkg(plan, tmp_path_factory):
    return write_plan(plan, tmp_path_factory.mktemp("gpkg") / "plan.gpkg")


def ogrinfo(*args: str) -> str:
    """Run GDAL's ogrinfo (in tests marked needs_gdal)."""
    exe = external_program("needs_gdal")
    result = subprocess.run([exe, "-ro", *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_layers_match_the_plan(plan):
    assert plan.objective == pytest.approx(8000)
    layers = plan_layers(plan)
    assert tuple(layers) == LAYERS
    for name, layer in layers.items():
        assert isinstance(layer, gpd.GeoDataFrame)
        assert layer.crs.to_epsg() == 4326
        assert len(layer) == COUNTS[name], name
        assert all(FIELD_NAME.match(c) for c in layer.columns if c != "geometry"), name
    for name in POINT_LAYERS:
        assert set(layers[name].geom_type) <= {"Point"}
    cps = layers["collection_points"].set_index("id")
    assert cps.at["c1", "opened"] == 2026
    assert cps["opened"].isna().to_dict() == {"c1": False, "c2": True}
    assert cps.at["c1", "thr_2026"] == pytest.approx(150)
    assert cps.at["c1", "util_2026"] == pytest.approx(0.75)
    assert cps.loc["c1"].geometry.coords[0] == (120.0, 30.0)  # lon, lat
    assert layers["dismantling_sites"].set_index("id").at["d1", "level"] == "L1"
    flows = layers["flows"]
    assert set(flows.geom_type) == {"LineString"}
    assert dict(zip(zip(flows["origin"], flows["dest"]), flows["tonnes"])) == FLOWS
    d1_r1 = flows[(flows["origin"] == "d1")].geometry.iloc[0]
    assert list(d1_r1.coords) == [(120.0, 31.0), (120.0, 32.0)]  # d1 -> r1, lon/lat
    assert flows["cost_cny"].sum() == pytest.approx(plan.flows["transport_cost_cny"].sum())


def test_plan_method_gives_the_same_layers(plan):
    layers = plan.to_geodataframes()
    expected = plan_layers(plan)
    assert list(layers) == list(expected)
    for name in layers:
        assert layers[name].equals(expected[name]), name


def test_saved_plan_gives_the_same_layers(plan, tmp_path):
    loaded = netopt.load_plan(plan.save(tmp_path / "saved"))
    for name, layer in plan_layers(loaded).items():
        expected = plan_layers(plan)[name]
        assert list(layer.columns) == list(expected.columns)
        assert len(layer) == len(expected)
        assert layer.geometry.equals(expected.geometry), name


def test_per_year_fields(growth):
    layers = plan_layers(growth)
    d1 = layers["dismantling_sites"].set_index("id").loc["d1"]
    assert d1["opened"] == 2026
    assert (d1["lvl_2026"], d1["lvl_2027"]) == ("small", "large")
    assert (d1["cap_2026"], d1["cap_2027"]) == (200, 400)
    assert (d1["thr_2026"], d1["thr_2027"], d1["thr_total"]) == (100, 300, 400)
    s1 = layers["sources"].set_index("id").loc["s1"]
    assert (s1["sup_2026"], s1["sup_2027"], s1["supply"]) == (100, 300, 400)
    assert set(layers["flows"]["year"]) == {2026, 2027}


def test_geopackage_read_back_with_geopandas(plan, gpkg):
    listed = {name: geometry for name, geometry in pyogrio.list_layers(gpkg)}
    assert set(listed) == {*LAYERS, "layer_styles"}
    assert listed["flows"] == "LineString"
    assert listed["layer_styles"] is None
    for name in POINT_LAYERS:
        assert listed[name] == "Point"
    for name in LAYERS:
        layer = gpd.read_file(gpkg, layer=name)
        assert layer.crs.to_epsg() == 4326, name
        assert len(layer) == COUNTS[name], name
        assert all(FIELD_NAME.match(c) for c in layer.columns if c != "geometry"), name
        if name in OPENED:
            assert int(layer["opened"].notna().sum()) == OPENED[name], name
    flows = gpd.read_file(gpkg, layer="flows")
    assert flows["tonnes"].sum() == pytest.approx(plan.flows["tonnes"].sum()) == 450
    assert dict(zip(zip(flows["origin"], flows["dest"]), flows["tonnes"])) == FLOWS
    recyclers = gpd.read_file(gpkg, layer="recyclers")
    assert recyclers.geometry.iloc[0].coords[0] == (120.0, 32.0)


def _ogr_layers(text: str) -> dict[str, dict[str, str]]:
    """``ogrinfo -so -al`` output: per layer its geometry, feature count and SRS text."""
    layers: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("Layer name: "):
            current = layers.setdefault(line.split(": ", 1)[1].strip(), {"srs": ""})
        elif line.startswith("Geometry: "):
            current["geometry"] = line.split(": ", 1)[1].strip()
        elif line.startswith("Feature Count: "):
            current["count"] = line.split(": ", 1)[1].strip()
        elif current is not None and "srs" in current:
            current["srs"] += line
    return layers


@pytest.mark.needs_gdal
def test_geopackage_read_back_with_ogrinfo(gpkg):
    layers = _ogr_layers(ogrinfo("-so", "-al", str(gpkg)))
    assert set(layers) == {*LAYERS, "layer_styles"}
    for name in LAYERS:
        expected = "Line String" if name == "flows" else "Point"
        assert layers[name]["geometry"] == expected, name
        assert int(layers[name]["count"]) == COUNTS[name], name
        assert 'ID["EPSG",4326]' in layers[name]["srs"], name
    assert int(layers["layer_styles"]["count"]) == len(LAYERS)

    total = ogrinfo("-q", "-sql", "SELECT SUM(tonnes) AS total FROM flows", str(gpkg))
    assert re.search(r"total \(Real\) = 450(\.0+)?\b", total), total
    for name, count in OPENED.items():
        text = ogrinfo("-q", "-sql", f"SELECT COUNT(*) AS n FROM {name} WHERE opened = 2026",
                       str(gpkg))
        assert re.search(rf"n \(Integer\S*\) = {count}\b", text), (name, text)
    styles = ogrinfo("-q", "-sql", "SELECT f_table_name, useAsDefault FROM layer_styles",
                     str(gpkg))
    assert sorted(re.findall(r"f_table_name \(String\) = (\w+)", styles)) == sorted(LAYERS)
    c1 = ogrinfo("-q", "-where", "id = 'c1'", str(gpkg), "collection_points")
    assert "POINT (120 30)" in c1
    assert re.search(r"opened \(Integer\) = 2026", c1)


def test_layer_styles_table(gpkg):
    with sqlite3.connect(gpkg) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(layer_styles)")]
        rows = db.execute("SELECT f_table_name, f_geometry_column, styleName, styleQML, "
                          "useAsDefault FROM layer_styles").fetchall()
        registered = db.execute("SELECT data_type FROM gpkg_contents "
                                "WHERE table_name = 'layer_styles'").fetchone()
        geometry_columns = dict(db.execute(
            "SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall())
    assert columns == ["id", "f_table_catalog", "f_table_schema", "f_table_name",
                       "f_geometry_column", "styleName", "styleQML", "styleSLD",
                       "useAsDefault", "description", "owner", "ui", "update_time"]
    assert registered == ("attributes",)
    assert sorted(r[0] for r in rows) == sorted(LAYERS)  # one style per layer
    for name, geometry_column, style_name, qml, default in rows:
        assert default == 1
        assert style_name == name
        assert geometry_column == geometry_columns[name]
        root = ET.fromstring(qml.split("\n", 1)[1])  # past the DOCTYPE line
        assert root.tag == "qgis"
        renderer = root.find("renderer-v2")
        if name in OPENED:  # opened sites stand out from closed candidates
            assert renderer.get("type") == "RuleRenderer"
            filters = [rule.get("filter") for rule in renderer.iter("rule")]
            assert filters == ['"opened" IS NOT NULL', "ELSE"]
            sizes = [float(p.get("v")) for p in renderer.iter("prop") if p.get("k") == "size"]
            assert sizes[0] > sizes[1]
        elif name == "flows":  # width follows tonnes
            assert renderer.get("type") == "categorizedSymbol"
            assert renderer.get("attr") == "leg"
            widths = [o for o in renderer.iter("Option") if o.get("name") == "outlineWidth"]
            assert widths
            for option in widths:
                settings = {o.get("name"): o.get("value") for o in option}
                assert settings["active"] == "true" and settings["type"] == "3"
                assert '"tonnes"' in settings["expression"]
        else:
            assert renderer.get("type") == "singleSymbol"


def test_geojson_is_rfc7946(plan, tmp_path):
    folder = write_plan(plan, tmp_path / "layers", format="geojson")
    assert sorted(p.name for p in folder.glob("*.geojson")) == sorted(
        f"{name}.geojson" for name in LAYERS)
    assert sorted(p.name for p in folder.glob("*.qml")) == sorted(f"{n}.qml" for n in LAYERS)
    for name in LAYERS:
        document = json.loads((folder / f"{name}.geojson").read_text(encoding="utf-8"))
        assert document["type"] == "FeatureCollection"
        assert "crs" not in document
        assert len(document["features"]) == COUNTS[name]
        for feature in document["features"]:
            assert feature["type"] == "Feature"
            geometry = feature["geometry"]
            assert geometry["type"] == ("LineString" if name == "flows" else "Point")
            points = geometry["coordinates"]
            for lon, lat in (points if name == "flows" else [points]):
                assert 119 < lon < 121 and 29 < lat < 33  # lon first, lat second
        layer = gpd.read_file(folder / f"{name}.geojson")
        assert layer.crs.to_epsg() == 4326
    flows = json.loads((folder / "flows.geojson").read_text(encoding="utf-8"))["features"]
    assert sum(f["properties"]["tonnes"] for f in flows) == pytest.approx(450)
    d1 = json.loads((folder / "dismantling_sites.geojson").read_text())["features"][0]
    assert d1["geometry"]["coordinates"] == [120.0, 31.0]
    assert d1["properties"]["opened"] == 2026


def test_write_plan_keeps_existing_files(plan, tmp_path):
    path = write_plan(plan, tmp_path / "plan.gpkg")
    with pytest.raises(FileExistsError, match="exists"):
        write_plan(plan, path)
    write_plan(plan, path, overwrite=True)
    assert len(pyogrio.list_layers(path)) == len(LAYERS) + 1
    with pytest.raises(ValueError, match="unknown GIS format"):
        write_plan(plan, tmp_path / "plan.shp", format="shp")
    assert not list(tmp_path.glob(".*"))  # no staging left behind


def test_plan_without_solution_writes_empty_layers(tmp_path):
    plan = netopt.solve(netopt.load_case(data_path("tiny/infeasible")))
    assert plan.status == "infeasible"
    path = write_plan(plan, tmp_path / "plan.gpkg")
    layers = dict(pyogrio.list_layers(path))
    assert layers["flows"] == "LineString" and layers["sources"] == "Point"
    assert all(len(gpd.read_file(path, layer=name)) == 0 for name in ("flows", "recyclers"))




def test_export_command(plan, tmp_path, capsys):
    folder = plan.save(tmp_path / "plan")
    code, out, err = run_cli(capsys, "export", str(folder), "--to", "gpkg")
    assert code == 0, err
    assert (folder / "plan.gpkg").exists() and "plan.gpkg" in out
    code, _, err = run_cli(capsys, "export", str(folder), "--to", "gpkg")
    assert code == 2
    assert err.strip().count("\n") == 0 and "--overwrite" in err
    assert run_cli(capsys, "export", str(folder), "--to", "gpkg", "--overwrite")[0] == 0
    target = tmp_path / "elsewhere" / "layers"
    code, _, err = run_cli(capsys, "export", str(folder), "--to", "geojson", "--out", str(target))
    assert code == 0, err
    assert len(list(target.glob("*.geojson"))) == len(LAYERS)
    for bad in (["--to", "shp"], ["--to", "gpkg", "--year", "2026"]):
        code, _, err = run_cli(capsys, "export", str(folder), *bad)
        assert code == 2
        assert err.startswith("error: ") and err.strip().count("\n") == 0
    code, _, err = run_cli(capsys, "export", str(tmp_path / "nowhere"), "--to", "gpkg")
    assert code == 2 and "does not exist" in err


def test_export_of_a_plan_without_solution_is_refused(tmp_path):
    """As a planner runs it: a real ``python -m netopt`` process."""
    plan = netopt.solve(netopt.load_case(data_path("tiny/infeasible")))
    folder = plan.save(tmp_path / "plan")
    result = subprocess.run([sys.executable, "-m", "netopt", "export", str(folder), "--to",
                             "gpkg"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "no solution" in result.stderr
    assert not (folder / "plan.gpkg").exists()


@pytest.mark.needs_gdal
def test_ogrinfo_reads_the_exported_geojson(plan, tmp_path):
    folder = write_plan(plan, tmp_path / "layers", format="geojson")
    layers = _ogr_layers(ogrinfo("-so", "-al", str(folder / "flows.geojson")))
    assert layers["flows"]["geometry"] == "Line String"
    assert int(layers["flows"]["count"]) == COUNTS["flows"]
    assert 'ID["EPSG",4326]' in layers["flows"]["srs"]


def test_paths_are_plain(plan, tmp_path):
    """A folder name with spaces and non-ASCII letters is fine for every writer."""
    folder = tmp_path / "plans 2026 (规划)"
    write_plan(plan, folder / "plan.gpkg")
    assert Path(folder / "plan.gpkg").exists()
    assert len(gpd.read_file(folder / "plan.gpkg", layer="flows")) == 4


def _stopped(plan):
    """The plan, as if the time limit had stopped it at a 10 % gap."""
    import copy

    stopped = copy.copy(plan)
    stopped.status, stopped.bound = "time_limit", plan.objective * 0.9
    stopped.gap = 0.1
    return stopped


def test_a_plan_not_proven_optimal_says_so_in_every_export(plan, tmp_path):
    """A time-limited plan carries its status and gap into the GeoPackage (layer
    metadata), the GeoJSON and the map title."""
    from netopt.maps import map_title

    stopped = _stopped(plan)
    gpkg = write_plan(stopped, tmp_path / "stopped.gpkg")
    for name in LAYERS:
        info = pyogrio.read_info(gpkg, layer=name)
        assert info["layer_metadata"]["netopt_status"] == "time_limit"
        assert float(info["layer_metadata"]["netopt_gap"]) == pytest.approx(0.1)
    folder = write_plan(stopped, tmp_path / "layers", format="geojson")
    document = json.loads((folder / "sources.geojson").read_text(encoding="utf-8"))
    assert "time limit, gap 10.00%" in document["description"]
    assert "time limit, gap 10.00%" in map_title(stopped, None)
    # a proven plan carries no such note
    proven = write_plan(plan, tmp_path / "proven.gpkg")
    assert pyogrio.read_info(proven, layer="sources")["layer_metadata"][
        "netopt_status"] == "optimal"


@pytest.mark.needs_gdal
def test_gdal_reads_the_not_proven_note_in_the_layer_description(plan, tmp_path):
    gpkg = write_plan(_stopped(plan), tmp_path / "stopped.gpkg")
    for name in LAYERS:
        assert "not proven optimal: time limit, gap 10.00%" in ogrinfo(
            "-so", str(gpkg), name)
    proven = write_plan(plan, tmp_path / "proven.gpkg")
    assert "not proven" not in ogrinfo("-so", str(proven), "sources")
