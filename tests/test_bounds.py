"""The year-by-year lower bound: hand-solved cases, its use in solve(), random cases."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

import netopt
from netopt.case import case_from_frames
from netopt.datasets import data_path
from netopt.model.bounds import solve_year_alone, year_relaxation_bound
from netopt.model.highs import SolveResult
from netopt.model.solve import with_year_bound
from netopt.plan import TIME_LIMIT, relative_gap
from tests.strategies import case_tables

EXACT = {"mip_gap": 1e-9}


def growth():
    return netopt.load_case(data_path("tiny/growth"))


def shrinking():
    """tiny/growth with its supply reversed: 300 t in 2026, 100 t in 2027.

    Whole case: the large level (400 t) is needed in 2026 and may not shrink, so it is
    paid in both years: 2 x 1,000 (c1) + 2 x 5,000 + 400 t x 10 = 16,000 CNY. Year by
    year, 2027 alone takes the small level: 1,000 + 5,000 + 3,000 (2026) and
    1,000 + 3,000 + 1,000 (2027) = 14,000, the bound.
    """
    case = growth()
    supply = case.supply.copy()
    supply["tonnes"] = supply["year"].map({2026: 300.0, 2027: 100.0})
    return case.replace(supply=supply)


def test_bound_equals_the_optimum_where_the_years_fit_together():
    """tiny/growth (README): small level in 2026, large in 2027; each year's own optimum
    (1,000 + 3,000 + 100 t x 10 = 5,000, then 1,000 + 5,000 + 300 t x 10 = 9,000) is
    already a plan of the whole case, so the bound is the optimum, 14,000."""
    bound, table = year_relaxation_bound(growth(), **EXACT)
    assert table["year"].tolist() == [2026, 2027]
    assert table["status"].tolist() == ["optimal", "optimal"]
    assert table["bound_cny"].tolist() == pytest.approx([5000.0, 9000.0])
    assert bound == pytest.approx(14000.0)
    assert netopt.solve(growth(), **EXACT).objective == pytest.approx(bound)


def test_bound_is_below_the_optimum_where_a_site_may_not_shrink():
    case = shrinking()
    plan = netopt.solve(case, **EXACT)
    assert plan.objective == pytest.approx(16000.0)
    bound, table = year_relaxation_bound(case, **EXACT)
    assert table["bound_cny"].tolist() == pytest.approx([9000.0, 5000.0])
    assert bound == pytest.approx(14000.0)


def test_bound_discounts_each_year_as_the_whole_case_does():
    case = growth().replace(parameters={"discount_rate": 0.1})
    bound, table = year_relaxation_bound(case, **EXACT)
    assert table["discount_factor"].tolist() == pytest.approx([1.0, 1 / 1.1])
    assert bound == pytest.approx(5000.0 + 9000.0 / 1.1)
    assert netopt.solve(case, **EXACT).objective == pytest.approx(bound)


def test_an_infeasible_year_makes_the_bound_infinite():
    case = netopt.load_case(data_path("tiny/infeasible"))
    bound, table = year_relaxation_bound(case, **EXACT)
    assert bound == math.inf
    assert "infeasible" in set(table["status"])


def test_year_bound_raises_a_weak_search_bound_and_proves_the_plan():
    """A search stopped by its time limit at 14,000 with a bound of 0 (the state a hard
    case is left in): the year-by-year bound, 14,000, proves the plan optimal."""
    stopped = SolveResult(TIME_LIMIT, "maxTimeLimit", 14000.0, 0.0,
                          relative_gap(14000.0, 0.0))
    result, record = with_year_bound(growth(), stopped, 60.0, mip_gap=1e-4, threads=None,
                                      progress=None)
    assert result.bound == pytest.approx(14000.0)
    assert result.gap == pytest.approx(0.0, abs=1e-9)
    assert result.status == "optimal"
    assert record["search_bound_cny"] == 0.0
    assert record["bound_cny"] == pytest.approx(14000.0)
    assert record["year_mip_gap"] == 0.01  # a tenth of the plan's gap (100 %), at most 1 %

    # on the shrinking case the plan (16,000) is left 12.5 % above the bound, not proven
    stopped = stopped.but(objective=16000.0)
    result, _ = with_year_bound(shrinking(), stopped, 60.0, mip_gap=1e-4, threads=None,
                                 progress=None)
    assert result.status == "time_limit"
    assert result.gap == pytest.approx(2000.0 / 16000.0)

    # a stronger search bound is kept
    strong = stopped.but(bound=15000.0)
    assert strong.gap == pytest.approx(relative_gap(16000.0, 15000.0))
    result, _ = with_year_bound(shrinking(), strong, 60.0, mip_gap=1e-4, threads=None,
                                 progress=None)
    assert result.bound == 15000.0


def test_solve_reports_the_year_bound():
    rows = []
    plan = netopt.solve(shrinking(), year_bound=60.0, progress=rows.append, **EXACT)
    assert plan.status == "optimal"
    assert plan.bound == pytest.approx(16000.0)  # the search's own bound is the better
    record = plan.meta["year_bound"]
    assert record["bound_cny"] == pytest.approx(14000.0)
    assert [row["year"] for row in record["years"]] == [2026, 2027]
    assert any(str(row.get("phase", "")).startswith("year-by-year bound") for row in rows)
    assert "year_bound_s" in plan.timings
    assert record["year_mip_gap"] == EXACT["mip_gap"]  # a proven plan: the gap asked for


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case_tables())
def test_bound_never_exceeds_the_optimum_and_is_exact_for_one_year(tables):
    case = case_from_frames(tables)
    plan = netopt.solve(case, **EXACT)
    bound, table = year_relaxation_bound(case, **EXACT)
    assert isinstance(table, pd.DataFrame) and len(table) == len(case.years)
    if plan.status == "infeasible":
        return  # (a relaxation of an infeasible case may be feasible or not)
    assert plan.status == "optimal"
    tolerance = 1e-6 * max(1.0, abs(plan.objective))
    assert bound <= plan.objective + tolerance
    if len(case.years) == 1:
        assert bound == pytest.approx(plan.objective, rel=1e-6, abs=1e-6)


def test_years_side_by_side_give_the_same_bound():
    serial, serial_table = year_relaxation_bound(shrinking(), **EXACT)
    parallel, table = year_relaxation_bound(shrinking(), workers=2, **EXACT)
    assert parallel == pytest.approx(serial)
    assert table["year"].tolist() == [2026, 2027]
    assert table["bound_cny"].tolist() == pytest.approx(serial_table["bound_cny"].tolist())


def test_a_failing_year_bound_leaves_the_plan_as_the_search_found_it(monkeypatch):
    import netopt.model.solve as solve_module

    def broken(*args, **kwargs):
        raise RuntimeError("a worker was lost")

    monkeypatch.setattr(solve_module, "year_relaxation_bound", broken)
    plan = netopt.solve(shrinking(), year_bound=10.0, **EXACT)
    assert plan.status == "optimal" and plan.objective == pytest.approx(16000.0)
    assert plan.bound == pytest.approx(16000.0)
    record = plan.meta["year_bound"]
    assert record["bound_cny"] == -math.inf and "a worker was lost" in record["error"]


def triangle():
    """tiny/basic with three dealers of 10 t each and three points in a ring: each dealer
    reaches two points at 0 km (s1: c1, c2; s2: c2, c3; s3: c3, c1), and each point costs
    1,000 a year (no other leg to a point).

    Two points must open to reach all three dealers: 2,000 + handling 30 t x 10 + to d1
    30 t x 100 km + d1's level 5,000 + processing 30 x 100 + to r1 30 x 100 km + recycling
    30 x 200 - revenue 30 x 500 = 7,300 (outsourcing a dealer, 4,000, saves one point at
    most). With the points' openings relaxed, each opens half way and each dealer sends
    half its packs to each of its points: 1.5 points, 500 less, 6,800.
    """
    case = netopt.load_case(data_path("tiny/basic"))
    sources = pd.concat([case.sources, case.sources.loc[["s2"]].rename(index={"s2": "s3"})])
    sources.index.name = case.sources.index.name
    points = pd.concat([case.collection_points,
                        case.collection_points.loc[["c2"]].rename(index={"c2": "c3"})])
    points.index.name = case.collection_points.index.name
    ring = [("s1", "c1"), ("s1", "c2"), ("s2", "c2"), ("s2", "c3"), ("s3", "c3"),
            ("s3", "c1")]
    distances = pd.DataFrame(
        [{"origin_id": o, "destination_id": d, "km": 0.0} for o, d in ring]
        + [{"origin_id": c, "destination_id": "d1", "km": 100.0} for c in ("c1", "c2", "c3")]
        + [{"origin_id": "d1", "destination_id": "r1", "km": 100.0}])
    supply = pd.DataFrame({"source_id": ["s1", "s2", "s3"], "chemistry": "NMC",
                           "year": 2026, "tonnes": 10.0})
    # s3 and c3 away from the rest, and no leg to a point longer than 5 km: only the ring
    sources.loc["s3", ["lat", "lon"]] = points.loc["c3", ["lat", "lon"]] = (30.1, 120.05)
    return case.replace(sources=sources, collection_points=points, distances=distances,
                        supply=supply, parameters={"max_km_source_collection": 5.0})


@pytest.mark.parametrize("sizing", ["modules", "continuous"])
def test_a_year_with_the_points_relaxed_bounds_it_below(sizing):
    case = triangle()
    if sizing == "continuous":  # d1 from 500 t/yr at 5,000: the same costs by the tonne
        case = case.replace(parameters={"site_capacity": "continuous"})
    whole = solve_year_alone(case, 2026, 1.0, None, 1e-9, 1)
    relaxed = solve_year_alone(case, 2026, 1.0, None, 1e-9, 1, points_relaxed=True)
    assert whole["objective_cny"] == pytest.approx(7300.0)
    assert whole["bound_cny"] == pytest.approx(7300.0)
    assert relaxed["bound_cny"] == pytest.approx(6800.0)
    assert math.isnan(relaxed["objective_cny"]) and relaxed["points_relaxed"]
    assert relaxed["site_sizes_t_per_yr"] == (
        {"d1": pytest.approx(500.0)} if sizing == "continuous" else {})
