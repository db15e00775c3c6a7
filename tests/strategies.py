"""Hypothesis strategies: small valid random cases (tables by name) for property tests."""

from __future__ import annotations

import pandas as pd
from hypothesis import strategies as st


@st.composite
def case_tables(draw, max_sources: int = 4, max_points: int = 3, max_years: int = 2,
                chemistries: tuple[str, ...] = ("NMC", "LFP")) -> dict:
    """Tables (as accepted by ``case_from_frames``) of a small random valid case."""
    n_members = draw(st.integers(1, 3))
    members = [f"m{k}" for k in range(n_members)]
    n_years = draw(st.integers(1, max_years))
    years = list(range(2026, 2026 + n_years))
    chems = list(chemistries[: draw(st.integers(1, len(chemistries)))])
    coord = st.floats(29.0, 31.0, allow_nan=False, allow_infinity=False)

    n_sources = draw(st.integers(1, max_sources))
    sources = pd.DataFrame({
        "source_id": [f"s{i}" for i in range(n_sources)],
        "member_id": [members[i % n_members] for i in range(n_sources)],
        "lat": [draw(coord) for _ in range(n_sources)],
        "lon": [draw(coord) + 90 for _ in range(n_sources)],
    })
    supply_rows = []
    for s in sources["source_id"]:
        for c in chems:
            for t in years:
                supply_rows.append({"source_id": s, "chemistry": c, "year": t,
                                    "tonnes": draw(st.integers(0, 200))})
    n_points = draw(st.integers(1, max_points))
    points = pd.DataFrame({
        "collection_point_id": [f"c{j}" for j in range(n_points)],
        "member_id": [members[j % n_members] if j < n_members else "" for j in range(n_points)],
        "lat": [draw(coord) for _ in range(n_points)],
        "lon": [draw(coord) + 90 for _ in range(n_points)],
        "capacity_t_per_yr": [draw(st.integers(50, 800)) for _ in range(n_points)],
        "annual_capex_cny": [draw(st.integers(0, 20000)) for _ in range(n_points)],
        "fixed_cost_cny_per_yr": [draw(st.integers(0, 5000)) for _ in range(n_points)],
        "handling_cost_cny_per_t": [draw(st.integers(0, 50)) for _ in range(n_points)],
    })
    n_sites = draw(st.integers(1, 2))
    sites = pd.DataFrame({
        "dismantling_site_id": [f"d{k}" for k in range(n_sites)],
        "member_id": [members[(k + 1) % n_members] for k in range(n_sites)],
        "lat": [draw(coord) for _ in range(n_sites)],
        "lon": [draw(coord) + 90 for _ in range(n_sites)],
        "processing_cost_cny_per_t": [draw(st.integers(0, 300)) for _ in range(n_sites)],
    })
    level_rows = []
    for k in sites["dismantling_site_id"]:
        for name, cap in (("small", draw(st.integers(100, 600))),
                          ("large", draw(st.integers(600, 2000)))):
            level_rows.append({"dismantling_site_id": k, "level": name,
                               "capacity_t_per_yr": cap,
                               "annual_capex_cny": draw(st.integers(1000, 40000)),
                               "fixed_cost_cny_per_yr": draw(st.integers(0, 3000))})
    recyclers = pd.DataFrame({
        "recycler_id": ["r0", "r1"],
        "member_id": ["", members[-1]],
        "lat": [draw(coord), draw(coord)],
        "lon": [draw(coord) + 90, draw(coord) + 90],
        "capacity_t_per_yr": [draw(st.integers(500, 3000)), draw(st.integers(200, 3000))],
        "processing_cost_cny_per_t": [draw(st.integers(0, 300)), draw(st.integers(0, 300))],
        "existing": [True, False],
        "annual_capex_cny": [0, draw(st.integers(0, 30000))],
        "chemistries": ["", chems[0]],
    })
    outlets = pd.DataFrame({
        "reuse_outlet_id": ["u0"], "member_id": [""], "lat": [draw(coord)],
        "lon": [draw(coord) + 90], "capacity_t_per_yr": [draw(st.integers(10, 300))],
        "chemistries": [chems[-1]],
    })
    chem_frame = pd.DataFrame({
        "chemistry": chems,
        "recycling_revenue_cny_per_t": [draw(st.integers(0, 600)) for _ in chems],
        "reuse_revenue_cny_per_t": [draw(st.integers(0, 900)) for _ in chems],
        "max_reuse_share": [draw(st.sampled_from([0.0, 0.1, 0.3])) for _ in chems],
        "outsourcing_cost_cny_per_t": [draw(st.integers(100, 2000)) for _ in chems],
        "recycling_emissions_kg_per_t": [draw(st.integers(0, 2000)) for _ in chems],
    })
    parameters = {
        "discount_rate": draw(st.sampled_from([0.0, 0.08])),
        "damaged_share": draw(st.sampled_from([0.0, 0.05])),
        "carbon_price_cny_per_t": draw(st.sampled_from([0.0, 100.0])),
        "allow_direct_source_to_site": draw(st.booleans()),
        "single_sourcing": draw(st.booleans()),
        "transport_cost_source_collection_cny_per_tkm": 1.5,
        "transport_cost_source_site_cny_per_tkm": 2.0,
    }
    return {
        "members": pd.DataFrame({"member_id": members}),
        "periods": pd.DataFrame({"year": years}),
        "chemistries": chem_frame,
        "sources": sources,
        "supply": pd.DataFrame(supply_rows),
        "collection_points": points,
        "dismantling_sites": sites,
        "dismantling_levels": pd.DataFrame(level_rows),
        "recyclers": recyclers,
        "reuse_outlets": outlets,
        "parameters": parameters,
    }


#: Every column that holds a cost or a revenue, per table (scaled together in tests).
MONEY_COLUMNS = {
    "collection_points": ["annual_capex_cny", "fixed_cost_cny_per_yr", "handling_cost_cny_per_t"],
    "dismantling_sites": ["processing_cost_cny_per_t"],
    "dismantling_levels": ["annual_capex_cny", "fixed_cost_cny_per_yr"],
    "recyclers": ["processing_cost_cny_per_t", "annual_capex_cny"],
    "chemistries": ["recycling_revenue_cny_per_t", "reuse_revenue_cny_per_t",
                    "outsourcing_cost_cny_per_t"],
}
MONEY_PARAMETERS = [
    "transport_cost_source_collection_cny_per_tkm",
    "transport_cost_collection_site_cny_per_tkm",
    "transport_cost_source_site_cny_per_tkm",
    "transport_cost_site_recycler_cny_per_tkm",
    "transport_cost_site_reuse_cny_per_tkm",
    "carbon_price_cny_per_t",
]
