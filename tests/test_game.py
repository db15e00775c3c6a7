"""Coalition values from coalition solves, their cache, and the savings report."""

from __future__ import annotations

import multiprocessing
import warnings
from concurrent.futures import ProcessPoolExecutor

import pandas as pd
import pytest

import netopt
from netopt.allocation import Game, nucleolus, savings_report, shapley
from netopt.datasets import data_path
from netopt.game import (
    CoalitionSolver,
    SolverToleranceWarning,
    all_coalitions,
    check_subadditive,
    coalition_values,
)


@pytest.fixture(scope="module")
def basic():
    return netopt.load_case(data_path("tiny/basic"))


def test_coalition_values_match_hand_solution(basic, tmp_path):
    """data/tiny/basic/README.md: c(A) = 7,000, c(B) = 20,000, c(AB) = 8,000 CNY."""
    values = coalition_values(basic, workers=2, cache=tmp_path, progress=False)
    assert values[frozenset({"A"})] == pytest.approx(7000)
    assert values[frozenset({"B"})] == pytest.approx(20000)
    assert values[frozenset({"A", "B"})] == pytest.approx(8000)
    # the grand coalition's value is the plan's objective
    assert values[frozenset({"A", "B"})] == pytest.approx(netopt.solve(basic).objective)
    records = values.attrs["records"]
    assert set(records["status"]) == {"optimal"}


def test_one_model_serves_every_coalition_in_any_order(basic):
    solver = CoalitionSolver(basic)
    order = [("A", "B"), ("B",), ("A",), ("A", "B"), ("B",)]
    costs = [solver.solve(c)["cost_cny"] for c in order]
    assert costs == pytest.approx([8000, 20000, 7000, 8000, 20000])


def test_cache_resumes_without_solving(basic, tmp_path):
    first = coalition_values(basic, [("A",)], cache=tmp_path, progress=False, workers=1)
    entries = list(tmp_path.rglob("*.json"))
    assert len(entries) == 1
    # a later run with more coalitions solves only the new ones and reuses the cached one
    second = coalition_values(basic, cache=tmp_path, progress=False, workers=1)
    assert len(list(tmp_path.rglob("*.json"))) == 3
    rec1 = dict(zip(first.attrs["records"]["coalition"], first.attrs["records"]["seconds"]))
    rec2 = dict(zip(second.attrs["records"]["coalition"], second.attrs["records"]["seconds"]))
    assert rec2[("A",)] == rec1[("A",)]  # not solved again
    # a changed case is a different cache entry
    changed = basic.replace(chemistries=basic.chemistries.assign(outsourcing_cost_cny_per_t=300.0))
    third = coalition_values(changed, [("B",)], cache=tmp_path, progress=False, workers=1)
    assert third[frozenset({"B"})] == pytest.approx(50 * 300)


def test_pluggable_executor(basic):
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        values = coalition_values(basic, executor=pool, progress=False)
    assert values.sum() == pytest.approx(35000)


def test_random_case_game_is_consistent():
    """On a 3-member random-ish case: c(S) <= c(A) + c(B), savings sum to v(N)."""
    from hypothesis import given, settings

    from netopt.case import case_from_frames
    from tests.strategies import case_tables

    @settings(max_examples=5, deadline=None)
    @given(case_tables(max_sources=4))
    def check(tables):
        case = case_from_frames(tables)
        solver = CoalitionSolver(case, mip_gap=1e-9)
        values = pd.Series({c: solver.solve(c)["cost_cny"] for c in all_coalitions(
            case.member_ids)})
        grand = frozenset(case.member_ids)
        assert values[grand] == pytest.approx(netopt.solve(case, mip_gap=1e-9).objective,
                                              rel=1e-6, abs=1e-6)
        if len(case.member_ids) > 1:
            game = Game.from_costs(values)
            assert shapley(game).sum() == pytest.approx(game.grand_value, abs=1e-6)

    check()


def test_subadditivity_violation_is_reported():
    values = pd.Series({frozenset({"a"}): 10.0, frozenset({"b"}): 10.0,
                        frozenset({"a", "b"}): 25.0})
    with pytest.warns(SolverToleranceWarning, match=r"exceeds c\(a\) \+ c\(b\) = 20.00 by 5"):
        found = check_subadditive(values)
    assert found[0]["excess"] == pytest.approx(5.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_subadditive(values.replace(25.0, 19.0)) == []


def test_savings_report_basic(basic, tmp_path):
    values = coalition_values(basic, cache=tmp_path, progress=False, workers=1)
    game = Game.from_costs(values)
    members, stability = savings_report(game)
    assert game.grand_value == pytest.approx(19000)
    shap = members[members["method"] == "shapley"].set_index("member")
    # two players: each gets its stand-alone cost less half the 19,000 saved
    assert shap.loc["A", "allocated_cost"] == pytest.approx(7000 - 9500)
    assert shap.loc["B", "allocated_cost"] == pytest.approx(20000 - 9500)
    assert shap["allocated_cost"].sum() == pytest.approx(8000)
    for method, group in members.groupby("method"):
        assert group["allocated_cost"].sum() == pytest.approx(8000), method
    assert stability.set_index("method").loc["nucleolus", "in_core"]
    assert nucleolus(game).sum() == pytest.approx(19000)
