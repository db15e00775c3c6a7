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
    SEPARABLE_RULE,
    STANDALONE_RULES,
    CoalitionSolver,
    SolverToleranceWarning,
    all_coalitions,
    check_subadditive,
    coalition_case,
    coalition_values,
    standalone_shares,
    standalone_split,
)
from netopt.model.solve import SolvePolicy
from tests.test_forward import trap


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
    """On a 3-member random-ish case: savings sum to v(N), and each coalition's own
    case (the years-apart method) costs what the whole model with non-members'
    facilities shut costs (the cases' sites are members', so some coalitions own none)."""
    from hypothesis import given, settings

    from netopt.case import case_from_frames
    from tests.strategies import case_tables

    @settings(max_examples=20, deadline=None)
    @given(case_tables(max_sources=4))
    def check(tables):
        case = case_from_frames(tables)
        solver = CoalitionSolver(case, mip_gap=1e-9)
        values = pd.Series({c: solver.solve(c)["cost_cny"] for c in all_coalitions(
            case.member_ids)})
        apart = CoalitionSolver(case, mip_gap=1e-9, method="years")
        for coalition, cost in values.items():
            assert apart.solve(coalition)["cost_cny"] == pytest.approx(
                cost, rel=1e-6, abs=1e-6), sorted(coalition)
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


def two_member_trap():
    """tests.test_forward.trap() with its second site d2 owned by member B (no sources):
    A alone has tiny/growth's optimum, 14,000 (d1 small, then large); B alone ships
    nothing and pays nothing; together d2 is on offer, but the optimum stays 14,000.
    The years alone bound A+B at 13,900 and its forward pass pays 14,800."""
    case = trap()
    sites = case.dismantling_sites.copy()
    sites.loc["d1", "member_id"] = "A"
    sites.loc["d2", "member_id"] = "B"
    members = pd.concat([case.members, pd.DataFrame(
        {"name": ["Dismantler B"], "kind": ["dismantler"]},
        index=pd.Index(["B"], name=case.members.index.name))])
    return case.replace(dismantling_sites=sites, members=members)


def test_a_coalition_case_keeps_its_members_and_outside_parties():
    case = two_member_trap()
    alone = coalition_case(case, ["B"])
    assert len(alone.sources) == 0 and alone.supply["tonnes"].sum() == 0
    assert list(alone.dismantling_sites.index) == ["d2"]
    assert set(alone.dismantling_levels["dismantling_site_id"]) == {"d2"}
    # facilities of outside parties (blank member_id) stay in every coalition
    outside = case.recyclers.index[case.recyclers["member_id"] == ""]
    assert set(outside) <= set(alone.recyclers.index)
    with pytest.raises(ValueError, match="unknown member"):
        coalition_case(case, ["Z"])


def test_coalitions_valued_years_apart_match_the_whole_model():
    """Each coalition's own case solved years apart (then searched from that plan) gives
    the values the whole-horizon MIP gives, and the hand-solved 14,000 / 0 / 14,000."""
    case = two_member_trap()
    years = coalition_values(case, progress=False, workers=1, method="years", mip_gap=1e-6)
    whole = coalition_values(case, progress=False, workers=1, method="whole", mip_gap=1e-6)
    expected = {frozenset("A"): 14000.0, frozenset("B"): 0.0, frozenset("AB"): 14000.0}
    assert dict(years.items()) == pytest.approx(expected)
    assert dict(whole.items()) == pytest.approx(expected)
    records = years.attrs["records"]
    assert set(records["method"]) == {"years"}
    assert (records["bound_cny"] <= records["cost_cny"] + 1e-6).all()
    with pytest.raises(ValueError, match="method"):
        CoalitionSolver(case, method="lagrange")


@pytest.mark.parametrize("recycler_owner, expected", [
    # data/tiny/basic/README.md: B owns no site and outsources its 50 t at 400 CNY/t
    ("", {"A": 7000.0, "B": 20000.0, "AB": 8000.0}),
    # with r1 B's, A's site can send nothing on, so A outsources its 100 t at 400 CNY/t
    # (collecting first would add c1's 1,000 and handling)
    ("B", {"A": 40000.0, "B": 20000.0, "AB": 8000.0}),
])
def test_a_coalition_without_the_chains_far_end_outsources_by_either_method(
        basic, recycler_owner, expected):
    """A coalition lacking the sites (or recyclers) its alliance's chain runs through
    cannot end the chain early: its own case keeps the alliance's chain end, and its
    years-apart value is the whole model's and the hand-solved one."""
    recyclers = basic.recyclers.copy()
    recyclers.loc["r1", "member_id"] = recycler_owner
    case = basic.replace(recyclers=recyclers)
    assert coalition_case(case, ["B"]).chain_end == "recycler"
    assert case.chain_end == "recycler" and basic.replace(
        recyclers=recyclers.iloc[:0], reuse_outlets=basic.reuse_outlets.iloc[:0]
    ).chain_end == "dismantling_site"
    for method in ("years", "whole"):
        solver = CoalitionSolver(case, method=method)
        costs = {"".join(c): solver.solve(c)["cost_cny"] for c in (("A",), ("B",), ("A", "B"))}
        assert costs == pytest.approx(expected), method


def test_a_coalition_with_nothing_to_choose_costs_nothing_by_either_method(basic):
    """A member owning only a recycler, alone: no supply, no site to send it through, so
    its own case's model has no variable; it costs 0 (the whole model's value), not
    'no solution'."""
    members = pd.concat([basic.members, pd.DataFrame(
        {"name": ["Recycler C"], "kind": ["recycler"]},
        index=pd.Index(["C"], name=basic.members.index.name))])
    recyclers = basic.recyclers.copy()
    recyclers.loc["r1", "member_id"] = "C"
    case = basic.replace(members=members, recyclers=recyclers)
    plan = netopt.solve(coalition_case(case, ["C"]))
    assert (plan.status, plan.objective, plan.gap) == ("optimal", 0.0, 0.0)
    for method in ("years", "whole"):
        record = CoalitionSolver(case, method=method).solve(("C",))
        assert (record["status"], record["cost_cny"]) == ("optimal", 0.0), method


def test_the_savings_report_carries_each_coalitions_bound(basic):
    """allocate_savings hands every c(S)'s proven bound to the report: at the optimal
    values of tiny/basic (bounds within 1e-4) each method's verdict within the bounds is
    its verdict at the values found."""
    savings = netopt.allocate_savings(basic, progress=False, workers=1)
    stability = savings.stability.set_index("method")
    defined = stability[stability["defined"]]
    assert (defined["in_interval_core"] == defined["in_core"]).all()
    assert (defined["excess_uncertainty"] >= -1e-6).all()
    assert (defined["excess_uncertainty"] <= 1e-4 * 20000).all()


def test_the_standalone_split_matches_the_whole_games_rules_by_hand(basic, tmp_path):
    """tiny/basic by hand: c(A) = 7,000, c(B) = 20,000, c(AB) = 8,000, so 19,000 saved;
    in proportion to the stand-alone costs A saves 19,000 * 7/27, and an equal split
    gives each 9,500. The same as the whole game's proportional and equal-split rules,
    from the members alone and the grand coalition's cost; the cache serves both."""
    grand = netopt.solve(basic).objective
    split = standalone_split(basic, grand, workers=1, cache=tmp_path, progress=False)
    assert split.attrs["grand_savings_cny"] == pytest.approx(19000)
    shares = split.set_index(["method", "member"])
    assert shares.loc[("proportional", "A"), "savings"] == pytest.approx(19000 * 7 / 27)
    assert shares.loc[("equal_split", "B"), "allocated_cost"] == pytest.approx(20000 - 9500)
    for _method, group in split.groupby("method"):
        assert group["allocated_cost"].sum() == pytest.approx(8000)
    assert (split["standalone_bound"] <= split["standalone_cost"] + 1e-6).all()
    whole = netopt.allocate_savings(basic, ["proportional", "equal_split"], progress=False,
                                    workers=1, cache=tmp_path)
    for method in STANDALONE_RULES:
        expected = whole.members[whole.members["method"] == method].set_index("member")
        found = split[split["method"] == method].set_index("member")
        assert found["allocated_cost"].to_dict() == pytest.approx(
            expected["allocated_cost"].to_dict()), method
    # the singletons came from the cache: solved once
    assert len(list(tmp_path.rglob("*.json"))) == 3


def test_the_separable_split_matches_the_whole_games_rule_by_hand(basic, tmp_path):
    """tiny/basic by hand: with two members each one's marginal savings are the 19,000
    saved (c(A) - c(AB) + c(B) = 7,000 - 8,000 + 20,000), so the separable costs
    remaining benefits split them equally: A pays 7,000 - 9,500, B 20,000 - 9,500. The
    cost of the others without a member is the other's stand-alone cost. The whole
    game's rule (on every coalition) agrees."""
    split = standalone_split(basic, 8000.0, separable=True, workers=1, cache=tmp_path,
                             progress=False)
    separable = split[split["method"] == SEPARABLE_RULE].set_index("member")
    assert separable["allocated_cost"].to_dict() == pytest.approx(
        {"A": 7000 - 9500, "B": 20000 - 9500})
    assert separable["others_cost"].to_dict() == pytest.approx({"A": 20000, "B": 7000})
    assert split[split["method"] != SEPARABLE_RULE]["others_cost"].isna().all()
    whole = netopt.allocate_savings(basic, [SEPARABLE_RULE], progress=False, workers=1,
                                    cache=tmp_path)
    expected = whole.members.set_index("member")["allocated_cost"].to_dict()
    assert separable["allocated_cost"].to_dict() == pytest.approx(expected)
    without = standalone_split(basic, 8000.0, workers=1, cache=tmp_path, progress=False)
    assert SEPARABLE_RULE not in set(without["method"])


def test_the_separable_split_values_the_others_without_each_member(basic, tmp_path):
    """tiny/basic with a third member C that owns nothing: c(C) = 0, and without A the
    others cost c(B) = 20,000, without B c(A) = 7,000, without C c(AB) = 8,000. Marginal
    savings: A 7,000 - 8,000 + 20,000 = 19,000, B 19,000, C 0 - 8,000 + 8,000 = 0, so A
    and B save 9,500 each and C nothing."""
    members = pd.concat([basic.members, pd.DataFrame(
        {"name": ["Bystander C"], "kind": ["recycler"]},
        index=pd.Index(["C"], name=basic.members.index.name))])
    case = basic.replace(members=members)
    split = standalone_split(case, 8000.0, separable=True, workers=1, cache=tmp_path,
                             progress=False)
    separable = split[split["method"] == SEPARABLE_RULE].set_index("member")
    assert separable["savings"].to_dict() == pytest.approx({"A": 9500, "B": 9500, "C": 0})
    assert separable["others_cost"].to_dict() == pytest.approx(
        {"A": 20000, "B": 7000, "C": 8000})
    assert separable["allocated_cost"].sum() == pytest.approx(8000)


def test_no_proportional_split_when_a_member_earns_alone():
    """Stand-alone costs below zero (a member that earns alone) give no proportional
    split; the equal split stands, and each rule hands out exactly the savings."""
    alone = pd.Series({"A": 7000.0, "B": 20000.0})
    shares = standalone_shares(alone, 8000.0)
    assert shares["proportional"].to_dict() == pytest.approx(
        {"A": 19000 * 7 / 27, "B": 19000 * 20 / 27})
    shares = standalone_shares(pd.Series({"A": -5000.0, "B": 20000.0}), 8000.0)
    assert set(shares) == {"equal_split"}
    assert shares["equal_split"].to_dict() == pytest.approx({"A": 3500.0, "B": 3500.0})


def test_a_coalition_starts_from_the_grand_plan_restricted_to_it(basic):
    """tiny/basic's optimum opens A's c1 and d1. Restricted to A it is A's own optimum
    (7,000 by hand); restricted to B nothing of it is left, and B outsources (20,000).
    Each is costed as a plan of the coalition's case, and each solve still ends at the
    hand values."""
    grand = netopt.solve(basic)
    plan = netopt.solve(coalition_case(basic, ["A"]), starts=[grand])
    assert plan.meta["starting_plan"]["given_cny"] == pytest.approx(7000.0)
    assert plan.objective == pytest.approx(7000.0)
    # the whole model of every coalition: the start's openings within its bounds
    solver = CoalitionSolver(basic)
    for coalition, cost in ((("B",), 20000.0), (("A",), 7000.0), (("A", "B"), 8000.0)):
        assert solver.solve(coalition, grand.sites)["cost_cny"] == pytest.approx(cost)
    solver.solve(("B",))
    values = solver.start_values(grand.sites)
    m = solver.model
    assert values is not None
    assert values[id(m.open_collection_point["c1", 2026])] == 0.0  # A's: shut for B alone
    assert values[id(m.outsourced_share["s2", 2026])] == pytest.approx(1.0)


def test_a_given_plan_better_than_netopts_own_start_is_the_one_searched_from():
    """two_member_trap() started from its LP rounding (years apart off) at a mip_gap of
    10 %: the rounding pays 14,800 and HiGHS stops there, within 10 % of its bound.
    Given the grand optimum (14,000) as a start, the search starts from it and reports
    it. Valued from it, every coalition keeps its hand value."""
    case = two_member_trap()
    grand = netopt.solve(case, mip_gap=1e-9)
    assert grand.objective == pytest.approx(14000.0)
    policy = SolvePolicy(heuristic_min_binaries=0, year_by_year_max_rows=0)
    alone = netopt.solve(case, policy=policy, mip_gap=0.1)
    assert alone.objective == pytest.approx(14800.0)
    plan = netopt.solve(case, starts=[grand.sites], policy=policy, mip_gap=0.1)
    record = plan.meta["starting_plan"]
    assert record["given_cny"] == pytest.approx(14000.0)
    assert record["lp_rounding_cny"] == pytest.approx(14800.0)
    assert record["method"] == "given"
    assert plan.objective == pytest.approx(14000.0)
    values = coalition_values(case, progress=False, workers=1, method="years",
                              mip_gap=1e-6, start=grand)
    assert dict(values.items()) == pytest.approx(
        {frozenset("A"): 14000.0, frozenset("B"): 0.0, frozenset("AB"): 14000.0})
    records = values.attrs["records"].set_index("size")
    assert records.loc[2, "start_cny"] == pytest.approx(14000.0)
