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
        marker.write_text(repr(state))

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
