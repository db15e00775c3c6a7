"""Every constraint group that can make a case infeasible is explained by the elastic
model: the group, where, when and the shortfall, hand-computed on data/tiny/basic.

tiny/basic: sources s1 (100 t) and s2 (50 t) of NMC in 2026; collection points c1, c2
(200 t/yr each, 0 km from s1 and s2 respectively, 10 km across); dismantling site d1
(500 t/yr, 100 km from both points); recycler r1 (1,000 t/yr, 100 km from d1).
"""

from __future__ import annotations

import pytest

import netopt
from netopt.datasets import data_path
from netopt.model.explain import explain_infeasibility
from netopt.model.network import prepare


@pytest.fixture(scope="module")
def basic():
    return netopt.load_case(data_path("tiny/basic"))


def explained(case) -> dict[str, tuple[float, str]]:
    frame = explain_infeasibility(prepare(case))
    return {row.constraint: (row.shortfall, row.message) for row in frame.itertuples()}


def closed_outsourcing(case, **parameters):
    return case.replace(parameters={"allow_outsourcing": False, **parameters})


def test_site_capacity_short(basic):
    levels = basic.dismantling_levels.assign(capacity_t_per_yr=120.0)
    found = explained(closed_outsourcing(basic.replace(dismantling_levels=levels)))
    assert list(found) == ["site_capacity[d1,2026]"]
    shortfall, message = found["site_capacity[d1,2026]"]
    assert shortfall == pytest.approx(30.0)
    assert "dismantling capacity at d1 in 2026 is short by 30.0 t/yr" in message


def test_recycler_capacity_short(basic):
    recyclers = basic.recyclers.assign(capacity_t_per_yr=100.0)
    found = explained(closed_outsourcing(basic.replace(recyclers=recyclers)))
    assert list(found) == ["recycler_capacity[r1,2026]"]
    assert found["recycler_capacity[r1,2026]"][0] == pytest.approx(50.0)


def test_collection_capacity_short(basic):
    points = basic.collection_points.assign(capacity_t_per_yr=60.0)
    found = explained(closed_outsourcing(basic.replace(collection_points=points)))
    # 150 t over two points of 60 t/yr: 30 t/yr short in all, wherever it is put
    assert set(found) <= {"collection_capacity[c1,2026]", "collection_capacity[c2,2026]"}
    assert sum(shortfall for shortfall, _ in found.values()) == pytest.approx(30.0)


def test_minimum_contract_missed(basic):
    recyclers = basic.recyclers.assign(min_contract_t_per_yr=200.0)
    found = explained(basic.replace(recyclers=recyclers))
    assert list(found) == ["recycler_min_contract[r1,2026]"]
    shortfall, message = found["recycler_min_contract[r1,2026]"]
    assert shortfall == pytest.approx(50.0)  # all 150 t of supply, 200 t contracted
    assert "missed by 50.0 t/yr" in message


def test_collection_rate_target_missed(basic):
    # s2 is 10 km from c1 and c2 is gone: within 5 km only s1's 100 t can be collected
    points = basic.collection_points.loc[["c1"]]
    case = basic.replace(collection_points=points, parameters={
        "max_km_source_collection": 5.0, "collection_rate_target": 0.8})
    found = explained(case)
    assert list(found) == ["collection_rate[2026]"]
    assert found["collection_rate[2026]"][0] == pytest.approx(0.8 * 150 - 100)


def test_emissions_cap_exceeded(basic):
    # 150 t go 100 km to d1 and 100 km on to r1 (s1 and s2 sit on their points):
    # 30,000 t-km at 0.1 tCO2e/t-km = 3,000 tCO2e, against a cap of 2,000
    case = closed_outsourcing(basic, emission_factor_kg_per_tkm=100.0,
                              emissions_cap_t_per_yr=2000.0)
    found = explained(case)
    assert list(found) == ["emissions_cap[2026]"]
    shortfall, message = found["emissions_cap[2026]"]
    assert shortfall == pytest.approx(1000.0)
    assert "exceeded by 1,000.0 tCO2e" in message


def test_unreachable_supply(basic):
    points = basic.collection_points.loc[["c1"]]
    case = closed_outsourcing(basic.replace(collection_points=points),
                              max_km_source_collection=5.0)
    found = explained(case)
    assert list(found) == ["supply[s2,2026]"]
    assert found["supply[s2,2026]"][0] == pytest.approx(50.0)


def test_opening_budget_exceeded(basic):
    # serving 150 t needs a collection point (1,000 CNY) and d1 (5,000 CNY)
    found = explained(closed_outsourcing(basic, opening_budget_cny=4000.0))
    assert list(found) == ["opening_budget[0]"]
    assert found["opening_budget[0]"][0] == pytest.approx(2000.0)


def test_solve_reports_the_explanation(basic):
    recyclers = basic.recyclers.assign(min_contract_t_per_yr=200.0)
    plan = netopt.solve(basic.replace(recyclers=recyclers))
    assert plan.status == "infeasible" and not plan.has_solution
    assert plan.explanation.iloc[0]["constraint"] == "recycler_min_contract[r1,2026]"
