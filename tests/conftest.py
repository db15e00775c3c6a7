"""Shared fixtures: the reference data in tests/data, programs outside Python, solved plans."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import netopt
from netopt.datasets import data_path

REPO = Path(__file__).resolve().parents[1]


#: Reference instances with published optima (tests/data/orlib/README.md); capa, too large
#: for tests/data, is under benchmarks/data/orlib.
ORLIB = REPO / "tests" / "data" / "orlib"
ORLIB_LARGE = REPO / "benchmarks" / "data" / "orlib"


#: Programs outside Python that some tests drive, by marker: the names to look for on the
#: PATH, the variable that makes a missing one a failure (.ci/run sets both), and why.
PROGRAMS = {
    "needs_browser": (("chromium", "chromium-browser", "google-chrome"),
                      "NETOPT_REQUIRE_BROWSER",
                      "headless Chromium renders the HTML map (apt-get install chromium)"),
    "needs_gdal": (("ogrinfo",), "NETOPT_REQUIRE_GDAL",
                   "GDAL's ogrinfo reads the exports back (apt-get install gdal-bin)"),
}


def required(variable: str) -> bool:
    """True when the environment asks for a program outside Python (``VARIABLE=1``)."""
    return os.environ.get(variable, "").strip().lower() not in ("", "0", "false", "no")


def _which(names: tuple[str, ...]) -> str | None:
    return next((exe for exe in map(shutil.which, names) if exe), None)


def external_program(marker: str) -> str:
    """The program a ``needs_*`` test drives; fails the test when it is missing (the
    marker has already skipped it unless its variable asks for the program)."""
    names, variable, why = PROGRAMS[marker]
    exe = _which(names)
    if exe is None:
        pytest.fail(f"{names[0]} not found: {why} ({variable} is set)")
    return exe


def pytest_collection_modifyitems(config, items) -> None:
    """Skip, with a one-line reason naming the test, the tests whose program is missing
    and not required."""
    for item in items:
        for marker, (names, variable, why) in PROGRAMS.items():
            if item.get_closest_marker(marker) and not required(variable) \
                    and _which(names) is None:
                item.add_marker(pytest.mark.skip(
                    reason=f"{item.name}: {names[0]} not found: {why}; "
                           f"{variable}=1 fails instead"))


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run the command line in this process: exit code, stdout, stderr."""
    from netopt.cli import main

    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def plan():
    """The solved plan of data/tiny/basic (GIS and map tests)."""
    return netopt.solve(netopt.load_case(data_path("tiny/basic")))


@pytest.fixture(scope="module")
def growth():
    """The solved plan of data/tiny/growth: a site that grows (GIS and map tests)."""
    return netopt.solve(netopt.load_case(data_path("tiny/growth")))
