"""The code stays ruff clean (the same check a developer runs: ruff check .)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_ruff_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "netopt", "tests",
                             "benchmarks"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _functions():
    """(path, name, lines) of every function and method in netopt, nested ones within
    their parent's lines."""
    import ast

    for path in sorted((REPO / "netopt").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield path, node.name, node.end_lineno - node.lineno + 1


def test_no_function_over_120_lines():
    long = [f"{path.relative_to(REPO)}:{name} ({lines} lines)"
            for path, name, lines in _functions() if lines > 120]
    assert not long, long


def test_the_model_reads_one_clock():
    """Time limits in netopt.model are shared as one deadline (highs.Budget): no other
    module there reads a clock of its own."""
    readers = [path.name for path in sorted((REPO / "netopt" / "model").glob("*.py"))
               if any(clock in path.read_text(encoding="utf-8")
                      for clock in ("perf_counter", "time.monotonic", "time.time("))]
    assert readers == ["highs.py"], readers
