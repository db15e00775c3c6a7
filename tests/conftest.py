"""Shared fixtures: where the public reference data lives."""

from __future__ import annotations

from pathlib import Path

import pytest

import netopt
from netopt.datasets import data_path

REPO = Path(__file__).resolve().parents[1]


def reference_dir() -> Path:
    """../shared/reference beside the repository (CI lays shared/ beside the clone)."""
    for candidate in (REPO.parent / "shared" / "reference", Path("/work/shared/reference")):
        if candidate.exists():
            return candidate
    return REPO / "tests" / "data" / "reference"


@pytest.fixture(scope="session")
def reference() -> Path:
    path = reference_dir()
    assert path.exists(), f"reference data not found at {path}"
    return path


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
