"""The relaxation with its linking rows added as they bind, against the whole LP."""

from __future__ import annotations

import pyomo.environ as pyo
import pytest
from hypothesis import HealthCheck, given, settings
from pyomo.contrib.solver.common.factory import SolverFactory

import netopt
import netopt.model.relaxation as relaxation_module
from netopt.datasets import data_path
from netopt.io import orlib
from netopt.model.build import build_model
from netopt.model.highs import binaries
from netopt.model.network import prepare
from netopt.model.relaxation import LINK_GROUPS, relax_with_lazy_links
from netopt.model.solve import run_solver
from tests.conftest import ORLIB
from tests.strategies import case_tables


def relaxed_nm(case):
    """The case's model with its binaries relaxed."""
    nm = build_model(prepare(case))
    for v in binaries(nm.model):
        v.domain = pyo.UnitInterval
    return nm


def relaxed_model(case):
    """The case's relaxed model, loaded into a persistent HiGHS."""
    nm = relaxed_nm(case)
    persistent = SolverFactory("highs")
    persistent.set_instance(nm.model)
    return nm, persistent


def whole_relaxation(case) -> dict:
    """The relaxation with every row, solved by HiGHS through pyomo: the truth."""
    return run_solver(relaxed_nm(case))


def linking_rows_hold(nm) -> bool:
    """Every linking row holds at the values loaded into the model."""
    components = [getattr(nm.model, name) for name in LINK_GROUPS if hasattr(nm.model, name)]
    return all(pyo.value(con.body) <= con.upper + 1e-6
               for component in components for con in component.values())


@pytest.mark.parametrize("seed,expand", [(1, 0), (1, 3), (4, 4)])
def test_lazy_links_reach_the_whole_relaxation_on_cap41(monkeypatch, seed,
                                                       expand):
    """OR-Library cap41 (16 warehouses, 50 customers: 800 linking rows): the loop ends at
    the whole relaxation's optimum, every linking row holding, with far fewer of them in
    the LP; with one seeded row per customer it takes more than one round."""
    monkeypatch.setattr(relaxation_module, "SEED_LINKS", seed)
    monkeypatch.setattr(relaxation_module, "EXPAND_LINKS", expand)
    case = orlib.read_capacitated(ORLIB / "cap" / "cap41.txt")
    whole = whole_relaxation(case)
    nm, persistent = relaxed_model(case)
    lazy = relax_with_lazy_links(nm, persistent, threads=1)
    assert lazy.status == "optimal" and whole.status == "optimal"
    assert lazy.objective == pytest.approx(whole.objective, rel=1e-7)
    assert lazy.bound == lazy.objective
    added, total = lazy.stats["link_rows"]
    assert total == 800 and added < total
    assert linking_rows_hold(nm)
    # the loaded values are the relaxation's: their cost is its objective
    assert pyo.value(nm.model.total_cost) == pytest.approx(lazy.objective, rel=1e-7)
    if seed == 1 and expand == 0:
        assert lazy.stats["rounds"] > 1


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case_tables(max_years=3))
def test_lazy_links_reach_the_whole_relaxation(tables):
    """On random cases (sites, levels, several years: every kind of linking row), no
    linking row seeded: the same optimum as the whole relaxation."""
    from netopt.case import case_from_frames

    case = case_from_frames(tables)
    whole = whole_relaxation(case)
    nm, persistent = relaxed_model(case)
    seed, expand = relaxation_module.SEED_LINKS, relaxation_module.EXPAND_LINKS
    relaxation_module.SEED_LINKS, relaxation_module.EXPAND_LINKS = 0, 0
    try:
        lazy = relax_with_lazy_links(nm, persistent, threads=1)
    finally:
        relaxation_module.SEED_LINKS, relaxation_module.EXPAND_LINKS = seed, expand
    if whole.status == "infeasible":
        assert lazy.status == "infeasible"
        return
    assert lazy.status == "optimal"
    scale = max(1.0, abs(whole.objective))
    assert abs(lazy.objective - whole.objective) <= 1e-6 * scale
    assert linking_rows_hold(nm)


def test_lazy_links_with_sites_by_hand(monkeypatch):
    """tiny/growth relaxed is bounded by the hand-solved optimum 14,000 CNY, and its
    collection and site links are all lazy (none seeded)."""
    monkeypatch.setattr(relaxation_module, "SEED_LINKS", 0)
    monkeypatch.setattr(relaxation_module, "EXPAND_LINKS", 0)
    case = netopt.load_case(data_path("tiny/growth"))
    nm, persistent = relaxed_model(case)
    lazy = relax_with_lazy_links(nm, persistent, threads=1)
    assert lazy.status == "optimal"
    assert lazy.objective <= 14_000 + 1e-6
    assert lazy.objective == pytest.approx(whole_relaxation(case).objective, rel=1e-9)
    assert linking_rows_hold(nm)


def test_lazy_links_out_of_time():
    """No time left: no relaxation, and the model's values are not touched."""
    case = orlib.read_capacitated(ORLIB / "cap" / "cap41.txt")
    nm, persistent = relaxed_model(case)
    lazy = relax_with_lazy_links(nm, persistent, time_limit=0.0)
    assert lazy.status == "time_limit" and lazy.stats["rounds"] == 0
    assert all(v.value is None for v in binaries(nm.model))
