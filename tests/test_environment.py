"""The suite on a machine with only Python: tests that drive a program outside Python
(Chromium, GDAL's ogrinfo) skip with a one-line reason naming the test when it is
missing, and fail instead when the environment asks for it (as .ci/run does)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

BROWSER_TEST = """
import pytest

from tests.conftest import external_program


@pytest.mark.needs_browser
def test_draws_in_a_browser():
    assert external_program("needs_browser")


@pytest.mark.needs_gdal
def test_reads_with_gdal():
    assert external_program("needs_gdal")


def test_plain():
    assert True
"""

CONFTEST = "from tests.conftest import pytest_collection_modifyitems  # noqa: F401\n"
INI = """[pytest]
markers =
    needs_browser: drives Chromium
    needs_gdal: drives ogrinfo
"""


@pytest.fixture
def bare(pytester, monkeypatch, tmp_path):
    """A pytester folder whose PATH holds no program at all."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    for variable in ("NETOPT_REQUIRE_BROWSER", "NETOPT_REQUIRE_GDAL"):
        monkeypatch.delenv(variable, raising=False)
    pytester.makeconftest(CONFTEST)
    pytester.makeini(INI)
    pytester.makepyfile(test_programs=BROWSER_TEST)
    return pytester


def test_missing_programs_skip_with_the_test_named(bare):
    result = bare.runpytest("-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines([
        "SKIPPED*test_draws_in_a_browser: chromium not found:*NETOPT_REQUIRE_BROWSER=1*",
        "SKIPPED*test_reads_with_gdal: ogrinfo not found:*NETOPT_REQUIRE_GDAL=1*",
    ])


def test_missing_programs_fail_when_required(bare, monkeypatch):
    monkeypatch.setenv("NETOPT_REQUIRE_BROWSER", "1")
    monkeypatch.setenv("NETOPT_REQUIRE_GDAL", "1")
    result = bare.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*chromium not found*NETOPT_REQUIRE_BROWSER is set*"])
