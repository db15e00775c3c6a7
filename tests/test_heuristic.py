"""The starting-plan heuristic: level rounding by hand, and the threshold search."""

from __future__ import annotations

import pandas as pd
import pyomo.environ as pyo
import pytest
from hypothesis import HealthCheck, given, settings

import netopt
from netopt.datasets import data_path
from netopt.model.build import build_model
from netopt.model.heuristic import lp_rounding, round_levels
from netopt.model.highs import SolveResult, load_values
from netopt.model.network import prepare
from tests.invariants import check_plan
from tests.strategies import case_tables


def growth_model(decoy: bool = True, **parameters):
    """tiny/growth: one site with levels small (200 t/yr) and large (400 t/yr), and a
    second source s2 beside s1 with 300 t a year of a chemistry worth nothing (no
    revenue, free to outsource), so that every plan outsources it and the optimum stays
    the README's 14,000 CNY. s2 could reach d1, though: the relaxation may not cut d1's
    capacity down to s1's supply (100 t in 2026), and so it opens half a small level in
    2026, which the rounding below is about. ``decoy=False``: tiny/growth alone."""
    case = netopt.load_case(data_path("tiny/growth"))
    if decoy:
        case = _with_decoy(case)
    if parameters:
        case = case.replace(parameters=parameters)
    return case, build_model(prepare(case))


def _with_decoy(case):
    """tiny/growth with source s2 of the worthless chemistry (see growth_model)."""
    sources = pd.concat([case.sources, case.sources.rename(index={"s1": "s2"})])
    sources.index.name = case.sources.index.name
    supply = pd.concat([case.supply, pd.DataFrame({
        "source_id": "s2", "chemistry": "WORTHLESS", "year": [2026, 2027],
        "tonnes": 300.0})], ignore_index=True)
    worthless = case.chemistries.loc[["NMC"]].rename(index={"NMC": "WORTHLESS"})
    worthless.loc[:, ["recycling_revenue_cny_per_t", "outsourcing_cost_cny_per_t"]] = 0.0
    distances = pd.concat([case.distances, pd.DataFrame(
        {"origin_id": ["s2"], "destination_id": ["c1"], "km": [0.0]})], ignore_index=True)
    return case.replace(sources=sources, supply=supply, distances=distances,
                        chemistries=pd.concat([case.chemistries, worthless]))


def picked(nm, chosen) -> dict[int, str | None]:
    """Level chosen in each year ("" where the site is closed)."""
    out = {}
    for t in nm.data.years:
        on = [lv for (k, lv, year), v in nm.model.site_level.items()
              if year == t and chosen[id(v)] == 1.0]
        assert len(on) <= 1  # at most one level a year
        out[t] = on[0] if on else ""
    return out


@pytest.mark.parametrize("threshold,expected", [
    # relaxed capacity 100 t in 2026 (half the small level), 300 t in 2027 (half-way up)
    (0.0, {2026: "small", 2027: "large"}),   # round up
    (0.4, {2026: "small", 2027: "large"}),   # 100 > 0 + 0.4 x 200; 300 > 200 + 0.4 x 200
    (0.5, {2026: "", 2027: "small"}),        # 100 <= 0 + 0.5 x 200; 300 <= 200 + 0.5 x 200
    (1.0, {2026: "", 2027: "small"}),        # round down
])
def test_round_levels_by_hand(threshold, expected):
    _case, nm = growth_model()
    capacity = {("d1", 2026): 100.0, ("d1", 2027): 300.0}
    assert picked(nm, round_levels(nm, capacity, threshold)) == expected
    assert picked(nm, round_levels(nm, capacity, {"d1": threshold})) == expected


def test_round_levels_never_shrinks():
    """A relaxed capacity that falls keeps the level of the year before."""
    _case, nm = growth_model()
    capacity = {("d1", 2026): 390.0, ("d1", 2027): 10.0}
    assert picked(nm, round_levels(nm, capacity, 0.5)) == {2026: "large", 2027: "large"}


def opened(nm, chosen) -> dict[int, bool]:
    """Whether the site sized by the tonne is open in each year."""
    return {t: chosen[id(nm.model.site_open["d1", t])] == 1.0 for t in nm.data.years}


@pytest.mark.parametrize("threshold,expected", [
    # sized by the tonne: closed or open from the smallest size, 200 t/yr; relaxed
    # capacity 100 t in 2026, 150 t in 2027
    (0.0, {2026: True, 2027: True}),     # round up: any use opens
    (0.5, {2026: False, 2027: True}),    # 100 <= 0.5 x 200 < 150
    (0.75, {2026: False, 2027: False}),  # 150 <= 0.75 x 200
])
def test_round_site_openings_by_hand(threshold, expected):
    _case, nm = growth_model(site_capacity="continuous")
    capacity = {("d1", 2026): 100.0, ("d1", 2027): 150.0}
    assert opened(nm, round_levels(nm, capacity, threshold)) == expected
    assert opened(nm, round_levels(nm, capacity, {"d1": threshold})) == expected
    assert len(round_levels(nm, capacity, threshold)) == len(nm.data.years)


def test_a_site_sized_by_the_tonne_once_opened_stays_open():
    _case, nm = growth_model(site_capacity="continuous")
    capacity = {("d1", 2026): 390.0, ("d1", 2027): 10.0}
    assert opened(nm, round_levels(nm, capacity, 0.5)) == {2026: True, 2027: True}


def test_threshold_search_opens_sites_sized_by_the_tonne_at_their_hand_optimum():
    """Sized by the tonne (13,000 by hand, tests/test_decompose.py), the relaxation takes
    100 t to d1 in 2026, half its smallest size: rounding at 0.5 leaves it closed and
    outsources those 100 t; the search steps down to a threshold that opens it."""
    case, nm = growth_model(site_capacity="continuous")
    rounded = lp_rounding(nm, mip_gap=0.0)
    assert rounded["objective"] == pytest.approx(13000.0)
    assert rounded["bound"] <= 13000.0 + 1e-6
    assert rounded["thresholds"]["d1"] < 0.5
    assert rounded["improvements"][0][1] > rounded["improvements"][-1][1]


def test_threshold_search_finds_the_hand_solved_optimum():
    """Rounding to the nearest level closes the site in 2026 (outsourcing 100 t at 400 CNY/t);
    the search steps down to a threshold that opens it, the optimum of the README (14,000)."""
    case, nm = growth_model()
    rounded = lp_rounding(nm, mip_gap=0.0)
    assert rounded["objective"] == pytest.approx(14000.0)
    assert rounded["thresholds"]["d1"] < 0.5
    assert rounded["improvements"][0][1] > rounded["improvements"][-1][1]  # it did improve
    assert rounded["bound"] <= 14000.0 + 1e-6
    load_values(nm, rounded["values"])
    from netopt.model.extract import extract_plan

    plan = extract_plan(nm, status="time_limit", termination="heuristic",
                        bound=rounded["bound"], gap=0.0)
    check_plan(case, plan)


def test_threshold_search_without_outsourcing():
    """Without outsourcing every tonne must be taken in. The site's capacity then counts
    only up to the 100 t that reach it in 2026, so the relaxation opens the small level
    in full (nothing to round), and the first plan is the optimum."""
    _case, nm = growth_model(decoy=False, allow_outsourcing=False)
    rounded = lp_rounding(nm, mip_gap=0.0)
    assert rounded["objective"] == pytest.approx(14000.0)
    assert rounded["bound"] == pytest.approx(14000.0)


def test_search_stops_at_the_gap():
    """With a gap as wide as the relaxation's, the first plan is good enough: one solve."""
    _case, nm = growth_model()
    rounded = lp_rounding(nm, mip_gap=1e9)
    assert rounded["plans"] == 1


def test_first_plan_is_finished_past_the_search_budget():
    """With the search's budget already spent (0 s) but time left for a first plan, the
    relaxation and the nearest rounding are still solved, and nothing more: one plan, the
    one that closes the site in 2026 (dearer than the 14,000 CNY optimum)."""
    from pyomo.contrib.solver.common.factory import SolverFactory

    _case, nm = growth_model()
    rounded = lp_rounding(nm, time_limit=0.0, first_plan_time_limit=60.0, mip_gap=0.0,
                          persistent=SolverFactory("highs"))
    assert rounded is not None
    assert rounded["plans"] == 1
    assert rounded["thresholds"] == {"d1": 0.5}
    assert rounded["objective"] > 14000.0 + 1.0
    load_values(nm, rounded["values"])
    assert picked(nm, {id(v): round(v.value) for v in nm.model.site_level.values()}) == \
        {2026: "", 2027: "small"}


def test_persistent_solver_forgets_an_earlier_time_limit():
    """A persistent HiGHS keeps every option it was given: a solve without a time limit
    after one with a limit of 0 s must still run to optimality (and the LP method chosen
    for a relaxation must not carry over either)."""
    from pyomo.contrib.solver.common.factory import SolverFactory

    from netopt.model.solve import run_solver

    _case, nm = growth_model()
    persistent = SolverFactory("highs")
    stopped = run_solver(nm, persistent=persistent, time_limit=0.0, options={"solver": "ipm"})
    assert stopped.status != "optimal"
    result = run_solver(nm, persistent=persistent, mip_gap=0.0)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(14000.0)
    method = persistent._solver_model.getOptionValue("solver")
    assert (method[-1] if isinstance(method, tuple) else method) == "choose"


def test_solver_options_reach_highs():
    """``solve(solver_options=...)`` goes to HiGHS: an objective bound below the optimum
    (8,000 CNY) leaves no plan to find, where HiGHS's default finds the optimum."""
    case = netopt.load_case(data_path("tiny/basic"))
    assert netopt.solve(case, solver_options={"random_seed": 2}).objective == \
        pytest.approx(8000.0)
    assert not netopt.solve(case, solver_options={"objective_bound": 1.0}).has_solution


@pytest.mark.parametrize("search,expected", [
    # the search improved on the start but stopped before its root relaxation was done:
    # its own bound (-300) is weaker than the relaxation's (-150)
    ({"status": "time_limit", "objective": -110.0, "bound": -300.0},
     {"status": "time_limit", "objective": -110.0, "bound": -150.0, "take": False}),
    # the search found nothing better: the rounded plan, and the better bound
    ({"status": "time_limit", "objective": -90.0, "bound": -140.0},
     {"status": "time_limit", "objective": -100.0, "bound": -140.0, "take": True}),
    ({"status": "no_solution", "objective": float("nan"), "bound": float("-inf")},
     {"status": "time_limit", "objective": -100.0, "bound": -150.0, "take": True}),
    ({"status": "interrupted", "objective": -90.0, "bound": float("nan")},
     {"status": "interrupted", "objective": -100.0, "bound": -150.0, "take": True}),
    # a proof stands as it is
    ({"status": "optimal", "objective": -120.0, "bound": -120.0},
     {"status": "optimal", "objective": -120.0, "bound": -120.0, "take": False}),
])
def test_search_result_completed_by_the_starting_plan(search, expected):
    """Worked by hand: rounded plan -100 CNY, relaxation bound -150 CNY."""
    from netopt.model.solve import with_starting_plan

    rounded = {"objective": -100.0, "bound": -150.0, "values": {}}
    result, take = with_starting_plan(SolveResult(**search, termination="x", gap=0.0),
                                      rounded)
    assert take == expected["take"]
    assert result.status == expected["status"]
    for key in ("objective", "bound"):
        assert getattr(result, key) == pytest.approx(expected[key])
    assert result.gap == pytest.approx(abs(expected["objective"] - expected["bound"])
                                       / abs(expected["objective"]))


@pytest.mark.parametrize("workers", [1, 2])
def test_relaxation_by_year_by_hand(workers):
    """tiny/growth, each year's relaxation on its own. 2026: c1 (1,000), the small level in
    full, since it counts only the 100 t that reach it (3,000), and 100 t at 10 CNY/t;
    2027: c1, the large level in full (5,000: it counts 300 t; the small one 200 t), and
    300 t at 10 CNY/t. 5,000 + 9,000 = 14,000, the optimum: here nothing links the years.
    Alike with the years solved in two worker processes."""
    from netopt.model.heuristic import relaxation_by_year

    _case, nm = growth_model(decoy=False)
    relaxed = relaxation_by_year(nm, workers=workers)
    assert relaxed["bound"] == pytest.approx(14000.0)
    assert relaxed["capacity"][("d1", 2026)] == pytest.approx(200.0)
    assert relaxed["capacity"][("d1", 2027)] == pytest.approx(400.0)
    assert {("open_collection_point", "c1", 2026),
            ("open_collection_point", "c1", 2027)} <= relaxed["openings"]


def test_relaxation_by_year_opens_from_the_first_year_used(monkeypatch):
    """A facility that the years' relaxations use in 2026 but not in 2027 stays open in
    the rounded plan's 2027 too (open stays open): tiny/growth with its supply falling
    to nothing in 2027, rounded through the by-year path."""
    import netopt.model.heuristic as heuristic_module

    monkeypatch.setattr(heuristic_module, "RELAXATION_BY_YEAR_ROWS", 0)
    case = netopt.load_case(data_path("tiny/growth"))
    supply = case.supply.assign(tonnes=case.supply["tonnes"].where(
        case.supply["year"] == 2026, 0.0))
    case = case.replace(supply=supply)
    nm = build_model(prepare(case))
    relaxed = heuristic_module.relaxation_by_year(nm)
    assert ("open_collection_point", "c1", 2026) in relaxed["openings"]
    assert ("open_collection_point", "c1", 2027) not in relaxed["openings"]
    rounded = lp_rounding(nm, mip_gap=0.0)
    load_values(nm, rounded["values"])
    assert [round(nm.model.open_collection_point["c1", t].value) for t in (2026, 2027)] \
        == [1, 1]
    # hand: c1 two years (2,000), the small level both years (never shrinks: 6,000),
    # 100 t at 10 CNY/t
    assert rounded["objective"] == pytest.approx(9000.0)
    # the years' points MIPs chose c1 in 2026 (2027 has nothing to collect: the cover
    # rule's empty set stands in), the same plan as the other rules, so tried first alone
    assert relaxed["points_years"] == 0  # (called above without points_seconds)
    assert rounded["collection_points"] == "points MIP"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case_tables(max_years=3))
def test_relaxation_by_year_bounds_the_whole_relaxation(tables):
    """Each year's relaxation on its own drops the rows that link the years, so the
    discounted sum of their optima is no more than the whole model's relaxation."""
    from netopt.case import case_from_frames
    from netopt.model.heuristic import relaxation_by_year
    from netopt.model.highs import binaries
    from netopt.model.solve import run_solver

    nm = build_model(prepare(case_from_frames(tables)))
    by_year = relaxation_by_year(nm)
    for v in binaries(nm.model):
        v.domain = pyo.UnitInterval
    whole = run_solver(nm)
    if whole.status == "infeasible":
        return
    assert whole.status == "optimal" and by_year is not None
    assert by_year["bound"] <= whole.objective + 1e-6 * max(1.0, abs(whole.objective))


@pytest.mark.parametrize("s2_ships,expected", [
    # s2 ships only through c2, which the relaxation opens 0.3: c2 opens to cover it
    ({"c1": 0.0, "c2": 0.3}, {"c1", "c2"}),
    # s2 ships partly through c1 (opened 0.8, kept): c2 is not needed
    ({"c1": 0.5, "c2": 0.3}, {"c1"}),
])
def test_cover_rule_by_hand(s2_ships, expected):
    """The "cover" rule on relaxed values set by hand (tiny/basic, one year): c1 opened
    0.8 (at least 0.7: kept), c2 0.3; s1 ships everything through c1."""
    from netopt.model.heuristic import covering_points

    nm = build_model(prepare(netopt.load_case(data_path("tiny/basic"))))
    m = nm.model
    (year,) = nm.data.years
    for v in m.component_data_objects(pyo.Var):
        v.set_value(0.0, skip_validation=True)
    m.open_collection_point["c1", year].set_value(0.8)
    m.open_collection_point["c2", year].set_value(0.3)
    m.ship_source_collection["s1", "c1", year].set_value(1.0)
    for point, share in s2_ships.items():
        m.ship_source_collection["s2", point, year].set_value(share)
    assert covering_points(nm) == {("open_collection_point", j, year) for j in expected}


def test_relaxation_by_year_without_a_main_guard(tmp_path):
    """A script that calls it at its top level, with no ``if __name__ == "__main__":``
    guard: the "spawn" workers re-run the script and cannot start; the years are then
    solved one after another, with a warning, and the bound is still the hand-solved
    14,000 CNY of tiny/growth."""
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    script.write_text(
        "import netopt\n"
        "from netopt.datasets import data_path\n"
        "from netopt.model.build import build_model\n"
        "from netopt.model.heuristic import relaxation_by_year\n"
        "from netopt.model.network import prepare\n"
        "nm = build_model(prepare(netopt.load_case(data_path('tiny/growth'))))\n"
        "print('BOUND', relaxation_by_year(nm, workers=2)['bound'])\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    bound = [line for line in done.stdout.splitlines() if line.startswith("BOUND")]
    assert len(bound) == 1 and float(bound[0].split()[1]) == pytest.approx(14000.0)
    assert "worker processes could not start" in done.stderr


def _bound_in_a_daemon(queue) -> None:  # runs in the daemonic process below
    from netopt.model.heuristic import relaxation_by_year

    try:
        nm = build_model(prepare(netopt.load_case(data_path("tiny/growth"))))
        queue.put(relaxation_by_year(nm, workers=2)["bound"])
    except BaseException as error:  # the test says what went wrong at once
        queue.put(repr(error))


def test_relaxation_by_year_in_a_daemonic_process():
    """A daemonic process (a Dask worker's, for one) may not start worker processes:
    there the years are solved one after another, and the bound is the hand-solved
    14,000 CNY of tiny/growth."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_bound_in_a_daemon, args=(queue,), daemon=True)
    process.start()
    try:
        assert queue.get(timeout=300) == pytest.approx(14000.0)
    finally:
        process.join(timeout=60)


def test_points_mip_by_hand():
    """The MIP over one year's collection points (levels and other openings fixed) on
    tiny/basic, handed a relaxation that uses both points: both rules open c1 and c2
    (CNY 8,500), the MIP only c1, where s2 ships 10 km (8,000: the README's optimum)."""
    from pyomo.contrib.solver.common.factory import SolverFactory

    from netopt.model.heuristic import year_points

    nm = build_model(prepare(netopt.load_case(data_path("tiny/basic"))))
    (year,) = nm.data.years
    both = {("open_collection_point", j, year) for j in ("c1", "c2")}
    relaxed = {"capacity": {("d1", year): 500.0}, "openings": both, "covering": both}
    chosen = year_points(nm, relaxed, 60.0, SolverFactory("highs"), threads=1)
    assert chosen["points"] == {("open_collection_point", "c1", year)}
    assert chosen["objective"] == pytest.approx(8000.0)


@pytest.mark.parametrize("workers", [1, 2])
def test_relaxation_by_year_with_points_mip(workers):
    """tiny/growth, the years' relaxations with a MIP over each year's points: c1 in
    both years (its only point), the bound still the hand-solved 14,000 CNY."""
    from netopt.model.heuristic import relaxation_by_year

    _case, nm = growth_model(decoy=False)
    relaxed = relaxation_by_year(nm, workers=workers, points_seconds=30.0)
    assert relaxed["bound"] == pytest.approx(14000.0)
    assert relaxed["points_years"] == 2
    assert relaxed["points"] == {("open_collection_point", "c1", t) for t in (2026, 2027)}


def test_points_mip_keeps_to_the_allowed_points():
    """The same MIP allowed c2 alone: c2 serves both, s1 shipping 10 km (the README's
    8,500 CNY)."""
    from pyomo.contrib.solver.common.factory import SolverFactory

    from netopt.model.heuristic import year_points

    nm = build_model(prepare(netopt.load_case(data_path("tiny/basic"))))
    (year,) = nm.data.years
    both = {("open_collection_point", j, year) for j in ("c1", "c2")}
    relaxed = {"capacity": {("d1", year): 500.0}, "openings": both, "covering": both}
    chosen = year_points(nm, relaxed, 60.0, SolverFactory("highs"), threads=1,
                          allowed={"c2"})
    assert chosen["points"] == {("open_collection_point", "c2", year)}
    assert chosen["objective"] == pytest.approx(8500.0)


def two_year_basic():
    """tiny/basic over 2026-2027, no discounting; in 2027 only s2 (50 t) has packs."""
    case = netopt.load_case(data_path("tiny/basic"))
    later = case.supply[case.supply["source_id"] == "s2"].assign(year=2027)
    return case.replace(years=[2026, 2027], supply=pd.concat([case.supply, later],
                                                             ignore_index=True),
                        parameters={"discount_rate": 0.0})


@pytest.mark.parametrize("workers", [1, 2])
def test_points_mips_keep_to_the_last_years(workers, monkeypatch):
    """two_year_basic: 2027 alone opens c2 (s2 ships 0 km); 2026 alone would open c1
    (8,000), but keeps to 2027's points and opens c2 (8,500). Open from the first year
    chosen, the independent choices would pay for c1 and c2 in 2027 (15,500 in all); kept
    to 2027's they give 8,500 + 6,500 = 15,000 CNY, the optimum (c1 in both years:
    8,000 + 7,000, a tie), and the LP rounding's plan."""
    import netopt.model.heuristic as heuristic_module

    nm = build_model(prepare(two_year_basic()))
    relaxed = heuristic_module.relaxation_by_year(nm, workers=workers, points_seconds=30.0)
    assert relaxed["points_years"] == 2
    assert relaxed["points"] == {("open_collection_point", "c2", t) for t in (2026, 2027)}
    monkeypatch.setattr(heuristic_module, "RELAXATION_BY_YEAR_ROWS", 0)
    rounded = lp_rounding(nm, mip_gap=0.0)
    assert rounded["objective"] == pytest.approx(15000.0)
    assert rounded["collection_points"] == "points MIP"  # the other rules: 15,500
    assert netopt.solve(two_year_basic(), heuristic=False).objective == pytest.approx(15000.0)


def test_ctrl_c_in_a_points_mip_stops_the_relaxation_by_year(monkeypatch):
    """Ctrl-C during a year's points MIP, caught by HiGHS's handler (which marks the
    year's model interrupted and returns), stops the whole: no result, and the model
    marked interrupted, as for Ctrl-C in a relaxation."""
    import netopt.model.heuristic as heuristic_module

    def interrupted(year_nm, *args, **kwargs):
        year_nm.interrupted = True
        return {"points": set(), "objective": float("nan")}

    monkeypatch.setattr(heuristic_module, "year_points", interrupted)
    _case, nm = growth_model(decoy=False)
    assert heuristic_module.relaxation_by_year(nm, points_seconds=30.0) is None
    assert nm.interrupted


@pytest.mark.parametrize("decoy, proven", [(False, True), (True, False)])
def test_starting_plan_proven_by_its_relaxation_needs_no_search(decoy, proven):
    """Without outsourcing, tiny/growth's relaxation is integral (bound = first plan =
    14,000 CNY, above): the plan is optimal as it stands, and netopt.solve says so
    without a search. With the decoy source (and outsourcing, which it needs) the
    relaxation opens half a level, below 14,000, so HiGHS's search must prove it."""
    import netopt.model.solve as solve_module

    # the LP rounding's path: no years apart (whose bound would prove it first)
    policy = solve_module.SolvePolicy(heuristic_min_binaries=1, year_by_year_max_rows=0)
    case, _nm = growth_model(decoy=decoy) if decoy else growth_model(
        decoy=False, allow_outsourcing=False)
    plan = netopt.solve(case, mip_gap=1e-6, policy=policy)
    check_plan(case, plan)
    assert plan.status == "optimal"
    assert plan.objective == pytest.approx(14000.0)
    assert (plan.termination == solve_module.PROVEN_BY_RELAXATION) is proven
    assert plan.bound <= plan.objective + 1e-6
