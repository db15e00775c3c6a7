"""The year-by-year lower bound: hand-solved cases, its use in solve(), random cases."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

import netopt
from netopt.case import case_from_frames
from netopt.datasets import data_path
from netopt.model.bounds import year_relaxation_bound
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
