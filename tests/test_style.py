"""The code stays ruff clean (the same check a developer runs: ruff check .)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_ruff_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "netopt", "tests",
                             "benchmarks"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
