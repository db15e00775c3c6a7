"""Maps: the PNG is a real picture; the HTML map renders offline in headless Chromium.

The browser runs with every network request refused (a dead proxy and a host resolver that
resolves nothing), so the page passes only if it carries Leaflet itself. The test counts
the SVG paths Leaflet drew for flows, sources and opened sites against the plan, and keeps
a screenshot in the test's tmp folder.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import netopt
from netopt.datasets import data_path
from netopt.maps import interactive_map, map_layers, static_map
from tests.conftest import external_program, run_cli


def chromium() -> str:
    """Headless Chromium (tests marked needs_browser: skipped when it is missing, failed
    when NETOPT_REQUIRE_BROWSER=1)."""
    return external_program("needs_browser")


def browse(page: Path, tmp: Path, *extra: str) -> subprocess.CompletedProcess:
    """Open ``page`` in headless Chromium with no network at all."""
    profile = tmp / "chromium-profile"
    profile.mkdir(exist_ok=True)
    command = [
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-extensions", "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
        "--virtual-time-budget=5000", "--window-size=1200,900",
        "--enable-logging=stderr", "--v=0", *extra, page.resolve().as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def svg_paths(dom: str) -> dict[str, int]:
    """Count SVG paths by netopt class (netopt-flow, netopt-source, netopt-open, ...)."""
    counts: dict[str, int] = {}
    for classes in re.findall(r'<path[^>]*\bclass="([^"]*)"', dom):
        for name in classes.split():
            if name.startswith("netopt-"):
                counts[name] = counts.get(name, 0) + 1
    return counts


def test_static_map_is_a_real_png(plan, tmp_path):
    path = static_map(plan, tmp_path / "map.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as image:
        assert image.format == "PNG"
        width, height = image.size
        pixels = np.asarray(image.convert("RGB"))
    assert width >= 1000 and height >= 800
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50  # not a blank canvas
    orange = np.all(np.abs(pixels.astype(int) - (255, 127, 0)) < 12, axis=-1)
    assert orange.sum() > 20  # the opened dismantling site d1 is drawn


def test_static_map_of_one_year(growth, tmp_path):
    path = static_map(growth, tmp_path / "map_2027.png", year=2027)
    with Image.open(path) as image:
        assert image.size[0] >= 1000
    with pytest.raises(ValueError, match="year 2031 is not in the plan"):
        static_map(growth, tmp_path / "map_2031.png", year=2031)
    with pytest.raises(FileExistsError):
        static_map(growth, path, year=2027, overwrite=False)


def test_map_layers_per_year(growth):
    whole = map_layers(growth)
    year = map_layers(growth, 2026)
    assert whole["arcs"]["tonnes"].sum() == pytest.approx(growth.flows["tonnes"].sum())
    assert year["arcs"]["tonnes"].sum() == pytest.approx(
        growth.flows.loc[growth.flows["year"] == 2026, "tonnes"].sum())
    d1 = year["sites"].set_index("id").loc["d1"]
    assert (d1["level"], d1["capacity"], d1["throughput"]) == ("small", 200, 100)


def test_map_of_a_plan_without_solution_is_refused(tmp_path):
    plan = netopt.solve(netopt.load_case(data_path("tiny/infeasible")))
    with pytest.raises(ValueError, match="no solution"):
        static_map(plan, tmp_path / "map.png")


def test_html_map_needs_no_network(plan, tmp_path):
    text = interactive_map(plan, tmp_path / "map.html").read_text(encoding="utf-8")
    assert not re.search(r"<(script|link|img)[^>]+(src|href)\s*=\s*[\"']?(https?:)?//", text)
    assert "sourceMappingURL" not in text
    # the online tiles are offered in the layer list but not added to the map
    tiles = re.findall(r"var (\w+) = L\.tileLayer\(", text)
    assert len(tiles) == 1
    assert f"{tiles[0]}.addTo(" not in text
    assert re.search(rf'"OpenStreetMap tiles \(online\)"\s*:\s*{tiles[0]}', text)
    assert "boundaries (Natural Earth, offline)" in text


@pytest.mark.needs_browser
def test_html_map_renders_offline_in_chromium(plan, tmp_path):
    page = interactive_map(plan, tmp_path / "map.html")
    result = browse(page, tmp_path, "--dump-dom")
    dom = result.stdout
    errors = [line for line in result.stderr.splitlines()
              if "CONSOLE" in line and ("Uncaught" in line or "Error" in line)]
    assert not errors, errors
    assert "leaflet-container" in dom
    counts = svg_paths(dom)
    arcs = plan.flows.groupby(["leg", "origin", "destination"]).ngroups
    assert arcs == 4
    assert counts.get("netopt-flow", 0) == arcs
    assert counts.get("netopt-source", 0) == len(plan.sources) == 2
    assert counts.get("netopt-open", 0) == len(plan.opened()) == 3
    assert counts.get("netopt-closed", 0) == 0  # closed candidates: a layer shown on demand
    toggles = re.findall(r'<input type="checkbox" class="leaflet-control-layers-selector"',
                         dom)
    # 3 flow legs, sources, closed candidates, 3 kinds opened, boundaries, online tiles
    assert len(toggles) == 10
    assert not re.search(r'<img[^>]*class="[^"]*leaflet-tile', dom)  # no tile requested
    for label in ("sources (2)", "closed candidates (1)", "collection points opened (1)",
                  "recyclers opened (1)"):
        assert label in dom

    shot = tmp_path / "map.png"
    browse(page, tmp_path, f"--screenshot={shot}")
    with Image.open(shot) as image:
        assert image.size == (1200, 900)
        pixels = np.asarray(image.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50
    orange = np.all(np.abs(pixels.astype(int) - (255, 127, 0)) < 12, axis=-1)
    assert orange.sum() > 20  # the dismantling site marker


@pytest.mark.needs_browser
def test_html_map_of_one_year_in_chromium(growth, tmp_path):
    page = interactive_map(growth, tmp_path / "map_2027.html", year=2027)
    counts = svg_paths(browse(page, tmp_path, "--dump-dom").stdout)
    flows_2027 = growth.flows[growth.flows["year"] == 2027]
    assert counts.get("netopt-flow", 0) == flows_2027.groupby(
        ["leg", "origin", "destination"]).ngroups
    assert counts.get("netopt-open", 0) == 3




#: Chinese cities (lat, lon) for a plan that spans the east coast: Shanghai, Beijing,
#: Jinan, Nanjing, Hangzhou, Tianjin.
CITIES = [(31.23, 121.47), (39.90, 116.40), (36.65, 117.00), (32.06, 118.80),
          (30.27, 120.15), (39.13, 117.20)]
#: BOUNDARY_STYLE colours as RGB
COAST, PROVINCE = (0x4F, 0x7E, 0xA8), (0xA9, 0xA2, 0xB5)


@pytest.fixture(scope="module")
def spread(tmp_path_factory):
    """data/tiny/basic with its places moved to cities of eastern China (its distances
    are given in distances.csv, so the plan is the same): the map spans the coast."""
    import pandas as pd

    folder = tmp_path_factory.mktemp("spread") / "basic"
    shutil.copytree(data_path("tiny/basic"), folder)
    n = 0
    for table in sorted(folder.glob("*.csv")):
        frame = pd.read_csv(table)
        if {"lat", "lon"} <= set(frame.columns):
            for i in frame.index:
                frame.loc[i, ["lat", "lon"]] = CITIES[n % len(CITIES)]
                n += 1
            frame.to_csv(table, index=False)
    return netopt.solve(netopt.load_case(folder))


def _near(pixels: np.ndarray, rgb: tuple[int, int, int], tol: int = 10) -> int:
    return int(np.all(np.abs(pixels.astype(int) - rgb) <= tol, axis=-1).sum())


def test_static_map_draws_the_coast_and_province_borders(spread, tmp_path):
    assert spread.objective == pytest.approx(8000)
    with Image.open(static_map(spread, tmp_path / "map.png")) as image:
        pixels = np.asarray(image.convert("RGB"))
    assert _near(pixels, COAST) > 300  # the coastline from Hangzhou Bay to Bohai
    assert _near(pixels, PROVINCE) > 300  # Jiangsu, Shandong, Hebei ... borders


@pytest.mark.needs_browser
def test_html_map_draws_the_boundaries_offline_in_chromium(spread, tmp_path):
    page = interactive_map(spread, tmp_path / "map.html")
    counts = svg_paths(browse(page, tmp_path, "--dump-dom").stdout)
    for kind in ("land", "coastline", "country_border", "province_border"):
        assert counts.get(f"netopt-{kind}", 0) == 1, kind  # one multi-part path each
    assert counts.get("netopt-flow", 0) == 4
    shot = tmp_path / "shot.png"
    browse(page, tmp_path, f"--screenshot={shot}")
    with Image.open(shot) as image:
        pixels = np.asarray(image.convert("RGB"))
    assert _near(pixels, COAST, 14) > 300
    assert _near(pixels, PROVINCE, 14) > 100


def test_map_command(plan, tmp_path, capsys):
    folder = plan.save(tmp_path / "plan")
    code, out, err = run_cli(capsys, "map", str(folder))
    assert code == 0, err
    assert (folder / "map.png").exists() and (folder / "map.html").exists()
    code, _, err = run_cli(capsys, "map", str(folder))
    assert code == 2 and "--overwrite" in err and err.strip().count("\n") == 0
    code, _, err = run_cli(capsys, "map", str(folder), "--year", "2026", "--out",
                       str(tmp_path / "one.html"))
    assert code == 0, err
    assert (tmp_path / "one.html").exists()
    for bad in (["--year", "1999"], ["--out", str(tmp_path / "map.pdf")]):
        code, _, err = run_cli(capsys, "map", str(folder), *bad)
        assert code == 2 and err.startswith("error: ")
    code, _, err = run_cli(capsys, "export", str(folder), "--to", "png", "--year", "2026")
    assert code == 0, err
    assert (folder / "map_2026.png").exists()


@pytest.mark.needs_browser
def test_html_map_survives_awkward_names(plan, tmp_path):
    """Names with quotes, backticks, ``${...}`` and markup stay text in popups and tooltips."""
    from dataclasses import replace

    awkward = "Dealer `1` ${document.title = 'HACKED'} <b>&</b> \"q\" 'x' </script>"
    named = replace(plan, sites=plan.sites.assign(name=awkward),
                    sources=plan.sources.assign(name=awkward))
    page = interactive_map(named, tmp_path / "map.html")
    result = browse(page, tmp_path, "--dump-dom")
    assert not [line for line in result.stderr.splitlines() if "Uncaught" in line]
    counts = svg_paths(result.stdout)
    assert counts.get("netopt-flow", 0) == 4 and counts.get("netopt-open", 0) == 3
    title = re.search(r"<title>(.*?)</title>", result.stdout, re.S).group(1)
    assert "HACKED" not in title  # the name was not run as code
    assert "basic" in title
