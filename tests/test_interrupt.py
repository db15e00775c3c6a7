"""Ctrl-C (SIGINT) during a solve stops HiGHS and keeps its best plan, marked interrupted."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netopt.plan import load_plan

# The child reports its first plan through solve()'s progress callback by writing a file
# (during a solve the solver's output capture owns stdout).
SCRIPT = """
import math, signal, sys, netopt
from pathlib import Path
from netopt.datasets import data_path
# as in a terminal, whatever the test runner inherited (a background job ignores SIGINT)
signal.signal(signal.SIGINT, signal.default_int_handler)
marker = Path(sys.argv[2])

def progress(state):
    if math.isfinite(state["objective"]) and not marker.exists():
        # written whole, then renamed: the test reads it as soon as it exists
        part = marker.with_suffix(".part")
        part.write_text(repr(state))
        part.replace(marker)

case = netopt.load_case(data_path("china"))
plan = netopt.solve(case, time_limit=900, threads=1, heuristic=False, progress=progress)
plan.save(sys.argv[1])
print("STATUS", plan.status, plan.termination, plan.objective, plan.gap, flush=True)
"""


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float) -> None:
    end = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < end, "no plan reported by the progress callback"
        time.sleep(0.2)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_during_solve_keeps_the_best_plan(tmp_path):
    folder, marker = tmp_path / "plan", tmp_path / "first-plan"
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(folder), str(marker)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(marker, proc, 600)
        first = eval(marker.read_text(), {"inf": float("inf")})  # the progress dict
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        output, _ = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    waited = time.monotonic() - sent
    assert proc.returncode == 0, output
    assert "Traceback" not in output and "kInterrupt" not in output
    status = [ln for ln in output.splitlines() if ln.startswith("STATUS")][-1].split()
    assert status[1:3] == ["interrupted", "interrupted"]
    objective, gap = float(status[3]), float(status[4])
    assert objective <= first["objective"] + 1e-6 * abs(first["objective"])  # best so far
    assert gap > 0  # not passed off as optimal
    assert waited < 300  # HiGHS stopped long before its 900 s limit
    plan = load_plan(folder)
    assert plan.status == "interrupted"
    assert plan.objective == pytest.approx(objective)
    assert plan.costs["discounted_cny"].sum() == pytest.approx(objective, rel=1e-6)
    assert plan.sites["opened"].any()


# A relaxation of about 36,000 rows (60 warehouses, 600 customers in OR-Library's
# capacitated format), long enough (a few seconds by simplex) for a Ctrl-C sent 0.5 s
# after the solve starts to land inside it.
LP_SCRIPT = """
import os, random, signal, sys, threading
import pyomo.environ as pyo
from pathlib import Path
from netopt.io.orlib import read_capacitated
from netopt.model.build import build_model
from netopt.model.highs import binaries
from netopt.model.network import prepare
from netopt.model.solve import run_solver
signal.signal(signal.SIGINT, signal.default_int_handler)

rng = random.Random(7)
m, n = 60, 600
lines = [f"{m} {n}"] + [f"{rng.uniform(2000, 4000):.1f} {rng.uniform(5000, 20000):.1f}"
                        for _ in range(m)]
for _ in range(n):
    demand = rng.uniform(10, 100)
    lines += [f"{demand:.1f}", " ".join(f"{rng.uniform(1, 100) * demand:.1f}"
                                        for _ in range(m))]
path = Path(sys.argv[1])
path.write_text("\\n".join(lines) + "\\n")
nm = build_model(prepare(read_capacitated(path)))
for v in binaries(nm.model):
    v.domain = pyo.UnitInterval
threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
result = run_solver(nm, threads=1, options={"solver": "simplex"},
                    finish_on_interrupt=sys.argv[2] == "finish")
print("RESULT", result.status, result.objective, nm.interrupted, flush=True)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("mode", ["finish", "stop"])
def test_ctrl_c_lets_a_short_solve_finish_when_asked(tmp_path, mode):
    """A solve whose result would be lost if stopped (the LP that gives the year-by-year
    plan its flows) runs to its optimum on the first Ctrl-C when asked to
    (``finish_on_interrupt``), marked interrupted all the same; otherwise the Ctrl-C
    stops the LP, and an LP stopped has no solution."""
    proc = subprocess.run([sys.executable, "-c", LP_SCRIPT, str(tmp_path / "lp.txt"), mode],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    result = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")][-1].split()
    assert result[3] == "True"  # nm.interrupted: the caller stops after this solve
    if mode == "finish":
        assert result[1] == "optimal" and float(result[2]) > 0
    else:
        assert result[1] == "no_solution"
