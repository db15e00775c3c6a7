"""The network MIP: hand-solved tiny cases, invariants, and properties on random cases."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netopt
from netopt.case import case_from_frames
from netopt.datasets import data_path
from netopt.model.solve import SolvePolicy
from tests.invariants import check_plan
from tests.strategies import MONEY_COLUMNS, MONEY_PARAMETERS, case_tables

EXACT = {"mip_gap": 1e-9}


#: the LP rounding's path on cases small enough to solve by hand: a starting plan for a
#: model of one free binary, and no years apart (whose bound would prove it first)
LP_ROUNDING = SolvePolicy(heuristic_min_binaries=1, year_by_year_max_rows=0)


def solve_checked(case, **options):
    plan = netopt.solve(case, **{**EXACT, **options})
    check_plan(case, plan)
    return plan


def test_tiny_basic_hand_solved():
    """data/tiny/basic/README.md works the optimum out by hand: 8,000 CNY, only c1 open."""
    case = netopt.load_case(data_path("tiny/basic"))
    plan = solve_checked(case)
    assert plan.status == "optimal"
    assert plan.objective == pytest.approx(8000.0)
    opened = set(plan.sites.loc[plan.sites["opened"], "id"])
    assert opened == {"c1", "d1", "r1"}
    first = plan.flows[plan.flows["leg"] == "source_collection"].set_index("origin")
    assert first.loc["s1", "destination"] == "c1"
    assert first.loc["s1", "tonnes"] == pytest.approx(100)
    assert first.loc["s2", "destination"] == "c1"
    assert first.loc["s2", "tonnes"] == pytest.approx(50)
    assert plan.kpi("collection_rate") == pytest.approx(1.0)
    # cost by category: opening 6,000; handling 1,500; net of revenue the rest
    by_category = plan.cost_by("category")
    assert by_category["opening"] == pytest.approx(6000)
    assert by_category["revenue"] == pytest.approx(-75000)


def test_tiny_growth_upgrades_site():
    """data/tiny/growth/README.md: small level in 2026, large in 2027, total 14,000 CNY."""
    case = netopt.load_case(data_path("tiny/growth"))
    plan = solve_checked(case)
    assert plan.objective == pytest.approx(14000.0)
    d1 = plan.sites[plan.sites["id"] == "d1"].set_index("year")
    assert d1.loc[2026, "level"] == "small" and d1.loc[2027, "level"] == "large"
    c1 = plan.sites[plan.sites["id"] == "c1"].set_index("year")
    assert c1["opened"].all()


def test_tiny_infeasible_explained():
    case = netopt.load_case(data_path("tiny/infeasible"))
    plan = netopt.solve(case)
    assert plan.status == "infeasible"
    top = plan.explanation.iloc[0]
    assert top["constraint"] == "collection_capacity[c1,2026]"
    assert top["shortfall"] == pytest.approx(30.0)
    assert "short by 30.0 t/yr" in top["message"]


def test_discounting_weights_years():
    case = netopt.load_case(data_path("tiny/growth"))
    undiscounted = solve_checked(case)
    discounted = solve_checked(case.replace(parameters={"discount_rate": 0.1}))
    # same decisions, 2027's money weighted 1/1.1
    costs = undiscounted.costs.groupby("year")["cost_cny"].sum()
    assert discounted.objective == pytest.approx(costs[2026] + costs[2027] / 1.1)


def test_policy_targets_bind():
    """Forbidding cheap outsourcing through a collection-rate target raises the cost."""
    base = netopt.load_case(data_path("tiny/basic"))
    expensive = base.replace(chemistries=base.chemistries.assign(outsourcing_cost_cny_per_t=5.0))
    free = solve_checked(expensive)
    assert free.kpi("collection_rate") == pytest.approx(0.0)  # outsourcing at 5 CNY/t wins
    targeted = solve_checked(expensive.replace(parameters={"collection_rate_target": 0.6}))
    assert targeted.kpi("collection_rate") >= 0.6 - 1e-9
    assert targeted.objective > free.objective
    # 60% of 150 t needs c1 (or c2) and d1 open: 6,000 CNY of capex, 1 more than the budget
    budget = netopt.solve(expensive.replace(parameters={"collection_rate_target": 0.6,
                                                        "opening_budget_cny": 5999}))
    assert budget.status == "infeasible"
    groups = set(budget.explanation["constraint"])
    assert groups <= {"opening_budget[0]", "collection_rate[2026]"}


def test_opening_budget_infeasible_is_explained():
    base = netopt.load_case(data_path("tiny/basic"))
    case = base.replace(parameters={"allow_outsourcing": False, "opening_budget_cny": 5000})
    plan = netopt.solve(case)
    assert plan.status == "infeasible"
    assert plan.explanation.iloc[0]["constraint"] == "opening_budget[0]"
    assert plan.explanation.iloc[0]["shortfall"] == pytest.approx(1000.0)


def test_damaged_packs_pay_multiplier_and_never_reuse():
    base = netopt.load_case(data_path("tiny/basic"))
    case = base.replace(parameters={"damaged_share": 0.1, "damaged_cost_multiplier": 3.0})
    # At 400 CNY/t outsourcing beats the 410 CNY/t damaged packs cost in the network
    # (10 + 3 x 200 + 100 + 200 - 500); at 1,000 CNY/t they stay in the network.
    assert solve_checked(case).outsourced["tonnes"].sum() == pytest.approx(15)
    case = case.replace(chemistries=case.chemistries.assign(outsourcing_cost_cny_per_t=1000.0))
    plan = solve_checked(case)
    damaged = plan.flows[plan.flows["condition"] == "damaged"]
    assert damaged["tonnes"].groupby(damaged["leg"]).sum()["site_recycler"] == pytest.approx(15)
    # transport of damaged packs: 3 x 1 CNY/t-km over the 10 + 100 + 100 km legs
    assert damaged["transport_cost_cny"].sum() == pytest.approx(3 * (5 * 10 + 15 * 200))


def test_damaged_distance_limit_forces_outsourcing():
    base = netopt.load_case(data_path("tiny/basic"))
    case = base.replace(parameters={"damaged_share": 0.1, "damaged_max_km": 50})
    plan = solve_checked(case)
    # damaged packs cannot travel the 100 km legs: they are outsourced
    out = plan.outsourced
    assert set(out["condition"]) == {"damaged"}
    assert out["tonnes"].sum() == pytest.approx(15)


def test_single_sourcing_one_destination():
    base = netopt.load_case(data_path("tiny/basic"))
    points = base.collection_points.assign(capacity_t_per_yr=[120.0, 120.0])
    split = solve_checked(base.replace(collection_points=points))
    single = solve_checked(base.replace(collection_points=points,
                                        parameters={"single_sourcing": True}))
    assert single.objective >= split.objective - 1e-6
    first = single.flows[single.flows["leg"] == "source_collection"]
    assert first.groupby(["origin", "year"])["destination"].nunique().max() == 1


def test_existing_facility_fixed_open():
    base = netopt.load_case(data_path("tiny/basic"))
    points = base.collection_points.assign(existing=[False, True])
    plan = solve_checked(base.replace(collection_points=points))
    assert plan.sites.set_index("id").loc["c2", "opened"]
    # c2 is paid for anyway, so both dealers use their own point: 2,000 + 5,000 + 1,500
    assert plan.objective == pytest.approx(8500.0)


def test_road_graph_distances():
    """With a road graph, leg lengths are shortest paths (networkx) plus access legs."""
    base = netopt.load_case(data_path("tiny/basic"))
    nodes = pd.DataFrame({"node_id": ["a", "b", "c"], "lat": [30.0, 31.0, 32.0],
                          "lon": [120.0, 120.0, 120.0]}).set_index("node_id")
    edges = pd.DataFrame({"from_node": ["a", "b"], "to_node": ["b", "c"], "km": [150.0, 150.0]})
    case = base.replace(road_nodes=nodes, road_edges=edges, distances=None)
    plan = solve_checked(case)
    legs = plan.flows.set_index("leg")
    assert legs.loc["collection_site", "km"] == pytest.approx(150.0)
    assert legs.loc["site_recycler", "km"] == pytest.approx(150.0)


# --- properties on random cases ------------------------------------------------------

PROPERTY_SETTINGS = settings(max_examples=15, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(case_tables())
def test_random_cases_satisfy_invariants(tables):
    case = case_from_frames(tables)
    solve_checked(case)


@PROPERTY_SETTINGS
@given(case_tables(), st.integers(0, 10_000), st.integers(50, 1000))
def test_adding_a_candidate_never_raises_the_optimum(tables, capex, capacity):
    case = case_from_frames(tables)
    before = solve_checked(case).objective
    extra = dict(tables)
    row = tables["collection_points"].iloc[[0]].assign(
        collection_point_id="c_new", annual_capex_cny=capex, capacity_t_per_yr=capacity,
        lat=tables["sources"]["lat"].iloc[0], lon=tables["sources"]["lon"].iloc[0])
    extra["collection_points"] = pd.concat([tables["collection_points"], row])
    after = solve_checked(case_from_frames(extra)).objective
    assert after <= before + 1e-6 * max(1.0, abs(before))


@PROPERTY_SETTINGS
@given(case_tables(), st.floats(1.0, 3.0))
def test_raising_a_capacity_never_raises_the_optimum(tables, factor):
    case = case_from_frames(tables)
    before = solve_checked(case).objective
    bigger = case.replace(
        collection_points=case.collection_points.assign(
            capacity_t_per_yr=case.collection_points["capacity_t_per_yr"] * factor),
        recyclers=case.recyclers.assign(
            capacity_t_per_yr=case.recyclers["capacity_t_per_yr"] * factor),
    )
    after = solve_checked(bigger).objective
    assert after <= before + 1e-6 * max(1.0, abs(before))


@PROPERTY_SETTINGS
@given(case_tables(), st.sampled_from([0.5, 2.0, 10.0]))
def test_scaling_all_costs_scales_the_objective(tables, factor):
    case = case_from_frames(tables)
    before = solve_checked(case).objective
    changes = {}
    for table, columns in MONEY_COLUMNS.items():
        frame = getattr(case, table).copy()
        for column in columns:
            frame[column] = frame[column] * factor
        changes[table] = frame
    changes["parameters"] = {name: case.parameters[name] * factor for name in MONEY_PARAMETERS}
    after = solve_checked(case.replace(**changes)).objective
    assert after == pytest.approx(before * factor, rel=1e-6, abs=1e-6)


def test_plan_save_and_load_round_trip(tmp_path):
    case = netopt.load_case(data_path("tiny/basic"))
    plan = netopt.solve(case)
    folder = plan.save(tmp_path / "plan")
    loaded = netopt.load_plan(folder)
    assert loaded.status == plan.status and loaded.objective == pytest.approx(plan.objective)
    for name in ("sites", "sources", "flows", "costs", "kpis"):
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(plan, name),
                                      check_dtype=False)
    with pytest.raises(FileExistsError):
        plan.save(folder)
    sources = plan.sources.set_index("id")
    assert sources.loc["s1", "supply_t"] == pytest.approx(100)
    assert sources.loc["s2", "collected_t"] == pytest.approx(50)


def test_lp_rounding_gives_a_feasible_upper_bound():
    """The rounded plan is feasible (every invariant) and no cheaper than the optimum."""
    from netopt.model.build import build_model
    from netopt.model.heuristic import lp_rounding
    from netopt.model.highs import load_values
    from netopt.model.network import prepare

    case = netopt.load_case(data_path("tiny/growth"))
    nm = build_model(prepare(case))
    rounded = lp_rounding(nm)
    assert rounded is not None
    optimum = solve_checked(case).objective
    assert rounded["bound"] <= optimum + 1e-6 <= rounded["objective"] + 2e-6
    from netopt.model.extract import extract_plan

    load_values(nm, rounded["values"])
    plan = extract_plan(nm, status="time_limit", termination="heuristic",
                        bound=rounded["bound"], gap=0.0)
    check_plan(case, plan)
    assert plan.objective == pytest.approx(rounded["objective"])


def test_same_input_same_plan():
    """Determinism: two solves of the same case give the same tables, row for row."""
    case = netopt.load_case(data_path("tiny/basic"))
    first, second = netopt.solve(case), netopt.solve(case)
    for name in ("sites", "sources", "flows", "outsourced", "costs", "kpis"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name))


def test_presolve_check_names_total_capacity_short():
    """No outsourcing and 150 t of supply against 100 t/yr of collection capacity in all."""
    case = netopt.load_case(data_path("tiny/infeasible"))
    points = case.collection_points.assign(capacity_t_per_yr=[50.0, 50.0])
    plan = netopt.solve(case.replace(collection_points=points))
    assert plan.status == "infeasible" and plan.termination == "presolve checks"
    row = plan.explanation.iloc[0]
    assert row["constraint"] == "collection_capacity[*,2026]"
    assert row["shortfall"] == pytest.approx(50.0)
    assert "(100.0 t/yr) is less than the supply of 2026 (150.0 t)" in row["message"]


def test_presolve_check_names_unreachable_source():
    case = netopt.load_case(data_path("tiny/infeasible"))
    plan = netopt.solve(case.replace(parameters={"max_km_source_collection": 5.0}))
    assert plan.status == "infeasible"
    row = plan.explanation.set_index("where").loc["s2"]
    assert row["shortfall"] == pytest.approx(50.0) and "no allowed arc" in row["message"]


def test_chain_without_sites_warns():
    """No dismantling site but recyclers: collection points end the chain, and we say so."""
    case = netopt.load_case(data_path("tiny/basic"))
    empty_sites = case.dismantling_sites.iloc[0:0]
    empty_levels = case.dismantling_levels.iloc[0:0]
    with pytest.warns(UserWarning, match="collection points end the chain"):
        plan = netopt.solve(case.replace(dismantling_sites=empty_sites,
                                         dismantling_levels=empty_levels))
    assert plan.status == "optimal"
    assert set(plan.flows["leg"]) == {"source_collection"}


@pytest.mark.parametrize("relaxation", ["choose", "ipm", "by_year"])
@pytest.mark.parametrize("name,sizing,optimum", [
    ("tiny/basic", "modules", 8000.0), ("tiny/growth", "modules", 14000.0),
    # sites sized by the tonne (tests/test_decompose.py works it by hand): no levels to
    # round, the plan's LP sizes them
    ("tiny/growth", "continuous", 13000.0)])
def test_starting_plan_path_gives_the_hand_solved_optimum(monkeypatch, name, sizing,
                                                         optimum, relaxation):
    """The path large models take (LP-rounding start on one persistent HiGHS, offered
    to the search as its first plan) on cases small enough to solve by hand, also with
    the relaxation as for the largest single-year models (its linking rows added as they
    bind, the first LP by interior point, on a copy of the persistent HiGHS's model), and
    with the relaxation taken one year at a time as for models over 100,000 rows (with
    each year's MIP over its collection points)."""
    import netopt.model.heuristic as heuristic_module

    if relaxation == "ipm":
        monkeypatch.setattr(heuristic_module, "RELAXATION_IPM_ROWS", 0)
    if relaxation == "by_year":
        monkeypatch.setattr(heuristic_module, "RELAXATION_BY_YEAR_ROWS", 0)
    seen = []
    case = netopt.load_case(data_path(name)).replace(parameters={"site_capacity": sizing})
    plan = solve_checked(case, progress=seen.append, policy=LP_ROUNDING)
    assert "heuristic_s" in plan.timings
    assert plan.status == "optimal"
    assert plan.objective == pytest.approx(optimum)
    # the starting plan reports its progress too: each plan no cheaper than the optimum,
    # the relaxation's bound no dearer
    starting = [state for state in seen if state.get("phase") == "starting plan"]
    plans = [state["objective"] for state in starting if state["objective"] < float("inf")]
    assert plans and min(plans) >= optimum - 1e-6
    assert all(state["bound"] <= optimum + 1e-6 for state in starting)


@pytest.mark.parametrize("min_rows, planned", [(1, True), (10**9, False)])
def test_starting_plan_for_few_binaries_on_many_rows(min_rows, planned):
    """A model with fewer free binaries than ``heuristic_min_binaries`` gets a starting
    plan only if it has at least ``heuristic_min_rows`` rows (OR-Library's capb: 100
    binaries, 101,101 rows); either way the search ends at the hand-solved optimum of
    tiny/basic."""
    policy = SolvePolicy(heuristic_min_binaries=10**9, heuristic_min_rows=min_rows)
    plan = solve_checked(netopt.load_case(data_path("tiny/basic")), policy=policy)
    assert ("heuristic_s" in plan.timings) is planned
    assert ("starting_plan" in plan.meta) is planned
    assert plan.status == "optimal"
    assert plan.objective == pytest.approx(8_000)


def test_capacity_cover_by_hand():
    """tiny/basic without outsourcing: 100 + 50 t in 2026 must enter collection points
    c1 and c2 (200 t/yr each), so the cover row reads 200 c1 + 200 c2 >= 150; with s2 out
    of the coalition, >= 100. With outsourcing allowed there is no such row."""
    import pyomo.environ as pyo
    from pyomo.repn import generate_standard_repn

    from netopt.model.build import build_model
    from netopt.model.network import prepare

    case = netopt.load_case(data_path("tiny/basic"))
    nm = build_model(prepare(case.replace(parameters={"allow_outsourcing": False})))
    m = nm.model
    assert list(m.collection_cover) == [2026]
    row = m.collection_cover[2026]
    repn = generate_standard_repn(row.body)
    coefficients = {v.name: c for v, c in zip(repn.linear_vars, repn.linear_coefs)}
    assert coefficients == {"open_collection_point[c1,2026]": 200.0,
                            "open_collection_point[c2,2026]": 200.0}
    assert pyo.value(row.lower) == pytest.approx(150.0)
    # a coalition solve switches sources off on a persistent HiGHS: the row follows
    from pyomo.contrib.solver.common.factory import SolverFactory

    from netopt.model.solve import run_solver

    persistent = SolverFactory("highs")
    assert run_solver(nm, persistent=persistent).objective == pytest.approx(8000.0)
    m.source_active["s2", 2026] = 0.0
    assert pyo.value(row.lower) == pytest.approx(100.0)
    persistent.update_parameters()
    highs_lower = persistent._solver_model.getLp().row_lower_
    assert 100.0 in highs_lower and 150.0 not in highs_lower
    alone = build_model(prepare(case.replace(parameters={"allow_outsourcing": False})))
    alone.model.source_active["s2", 2026] = 0.0
    assert run_solver(nm, persistent=persistent).objective == pytest.approx(
        run_solver(alone).objective)
    assert not hasattr(build_model(prepare(case)).model, "collection_cover")
    assert not hasattr(build_model(prepare(case.replace(
        parameters={"allow_outsourcing": False})), elastic=True).model, "collection_cover")


def test_relaxation_counts_a_site_only_up_to_the_supply_that_reaches_it():
    """tiny/basic relaxed. 150 t can reach d1 (s1 100 t, s2 50 t, each through c1 or
    c2), far below its 500 t level, so its capacity row counts the level as 150 t and each
    point's link to it as 150 t: taking all 150 t in needs d1 open in full. Splitting
    each source half and half over c1 and c2 would otherwise open c1, c2 and d1 by half:
    1,000 + 2,500 + 1,500 (10 CNY/t) + 750 (the 10 km legs) = 5,750 CNY, under the
    hand-solved optimum of 8,000. With the reach, the relaxation is the optimum."""
    import pyomo.environ as pyo

    from netopt.model.build import build_model
    from netopt.model.network import prepare
    from netopt.model.solve import run_solver

    case = netopt.load_case(data_path("tiny/basic"))
    nm = build_model(prepare(case))
    pyo.TransformationFactory("core.relax_integer_vars").apply_to(nm.model)
    assert run_solver(nm).objective == pytest.approx(8000.0)
    assert pyo.value(nm.model.site_level["d1", "L1", 2026]) == pytest.approx(1.0)


@pytest.mark.parametrize("large,share", [(False, 0.5), (True, 0.85)])
def test_large_models_give_the_starting_plan_more_time(monkeypatch, large, share):
    """The LP rounding's search may use half of the time left, or 85 % on models whose
    relaxation is taken year by year (HiGHS's search has not improved on their starting
    plan): its limit against its first plan's (85 % of the same time left)."""
    import netopt.model.heuristic as heuristic_module
    import netopt.model.solve as solve_module

    if large:
        monkeypatch.setattr(heuristic_module, "RELAXATION_BY_YEAR_ROWS", 0)
    seen = {}
    real = heuristic_module.lp_rounding

    def spy(nm, **kwargs):
        seen.update(kwargs)
        return real(nm, **kwargs)

    monkeypatch.setattr(solve_module, "lp_rounding", spy)
    plan = netopt.solve(netopt.load_case(data_path("tiny/growth")), time_limit=100.0,
                        policy=LP_ROUNDING)
    assert plan.objective == pytest.approx(14000.0)
    assert seen["time_limit"] / seen["first_plan_time_limit"] == pytest.approx(
        share / LP_ROUNDING.first_plan_time_share)


def test_search_limit_leaves_out_the_time_spent_around_highs(monkeypatch):
    """HiGHS's clock starts after the call hands it the model's changes and a starting
    plan, and stops before the values are read back. What earlier solves of the model
    spent so (here at least 0.5 s each, added by hand) is taken off the search's limit."""
    import time

    import netopt.model.solve as solve_module

    # the rounded plan is proven by its relaxation here: hide its bound, so that the
    # search runs all the same
    real_rounding = solve_module.lp_rounding

    def unproven(*args, **kwargs):
        rounded = real_rounding(*args, **kwargs)
        return {**rounded, "bound": -math.inf}

    monkeypatch.setattr(solve_module, "lp_rounding", unproven)
    import netopt.model.highs as highs_module

    real_solve, real_run = highs_module.solve_interruptibly, solve_module.run_solver

    def slow(*args, **kwargs):
        time.sleep(0.5)
        return real_solve(*args, **kwargs)

    calls = []

    def spy(nm, **kwargs):
        calls.append((time.perf_counter() - clock, kwargs.get("time_limit"), nm))
        return real_run(nm, **kwargs)

    monkeypatch.setattr(highs_module, "solve_interruptibly", slow)
    monkeypatch.setattr(solve_module, "run_solver", spy)
    case = netopt.load_case(data_path("tiny/growth"))
    clock = time.perf_counter()
    plan = netopt.solve(case, time_limit=100.0, policy=LP_ROUNDING)
    assert plan.objective == pytest.approx(14000.0)
    at, limit, nm = calls[-1]  # the search's
    assert nm.solve_overhead_s >= 0.5
    assert limit <= 100.0 - at - 0.45
