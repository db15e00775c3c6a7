"""Model specs (TOML): parsing, every override kind, errors naming file and key, models/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import netopt
from netopt.datasets import data_path
from netopt.spec import SCALE_KEYS, Spec, find_specs, load_spec, load_specs, parse_spec
from tests.conftest import REPO

MODELS = REPO / "models"
SPECS = REPO / "tests" / "data" / "specs"


@pytest.fixture(scope="module")
def china():
    return netopt.load_case(data_path("china"))


@pytest.fixture(scope="module")
def basic():
    return netopt.load_case(data_path("tiny/basic"))


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(excinfo) -> list[str]:
    return [str(p) for p in excinfo.value.problems]


# --- parsing -----------------------------------------------------------------------------

def test_full_spec_parses_into_settings(tmp_path):
    path = write(tmp_path, "scenario.toml", """
        # a comment
        description = "everything at once"
        case = "tiny/basic"
        [parameters]
        collection_rate_target = 0.5
        single_sourcing = true
        opening_budget_cny = inf
        [scale]
        supply = { NMC = 1.5 }
        outsourcing_cost = 2
        [chemistries.NMC]
        max_reuse_share = 0.2
        [candidates]
        drop = ["c2"]
        keep = ["d1"]
        [solver]
        time_limit = 0
        mip_gap = 0.01
        threads = 2
        [allocation]
        enabled = true
        methods = ["shapley", "nucleolus"]
        time_limit = 30
    """.replace("\n        ", "\n"))
    spec = load_spec(path)
    assert isinstance(spec, Spec)
    assert spec.name == "scenario"  # the file's stem
    assert spec.case == data_path("tiny/basic").resolve()
    assert spec.parameters == {"collection_rate_target": 0.5, "single_sourcing": True,
                               "opening_budget_cny": float("inf")}
    assert spec.scale == {"supply": {"NMC": 1.5}, "outsourcing_cost": 2.0}
    assert spec.chemistries == {"NMC": {"max_reuse_share": 0.2}}
    assert spec.drop == ("c2",) and spec.keep == ("d1",)
    assert spec.solve_options() == {"time_limit": None, "mip_gap": 0.01, "threads": 2}
    assert spec.allocation.enabled and spec.allocation.methods == ("shapley", "nucleolus")
    assert spec.allocation.time_limit == 30.0
    assert spec.source == str(path)


def test_defaults_and_explicit_name():
    spec = parse_spec('name = "my-run"\ncase = "tiny/basic"\n')
    assert spec.name == "my-run"
    assert spec.solve_options() == {"time_limit": 300.0, "mip_gap": 1e-4, "threads": 1}
    assert not spec.allocation.enabled and spec.allocation.methods is None
    assert not spec.parameters and not spec.scale and not spec.drop


def test_case_relative_to_the_spec_file_first(tmp_path, basic):
    shutil.copytree(data_path("tiny/basic"), tmp_path / "cases" / "mine")
    (tmp_path / "specs").mkdir()
    spec = load_spec(write(tmp_path / "specs", "a.toml", 'case = "../cases/mine"\n'))
    assert spec.case == (tmp_path / "cases" / "mine").resolve()
    assert spec.load_case().content_hash() == basic.content_hash()


def test_digest_ignores_comments_and_layout():
    one = parse_spec('case = "tiny/basic"\n[scale]\nsupply = 1.2\n')
    two = parse_spec('# a note\ncase   =   "tiny/basic"\n\n[scale]\nsupply = 1.2  # more\n')
    three = parse_spec('case = "tiny/basic"\n[scale]\nsupply = 1.3\n')
    assert one.digest() == two.digest() != three.digest()


# --- every override kind changes the case ------------------------------------------------

def test_parameters_override(basic):
    spec = parse_spec('case = "tiny/basic"\n[parameters]\ncarbon_price_cny_per_t = 150\n'
                      'single_sourcing = true\nmax_collection_points_per_source = 2\n')
    case = spec.apply(basic)
    assert case.parameters["carbon_price_cny_per_t"] == 150.0
    assert case.parameters["single_sourcing"] is True
    assert case.parameters["max_collection_points_per_source"] == 2
    assert basic.parameters["carbon_price_cny_per_t"] == 0.0  # the original is untouched
    assert case.content_hash() != basic.content_hash()


@pytest.mark.parametrize("key", sorted(SCALE_KEYS))
def test_every_scale_key_multiplies_its_columns(key, china):
    spec = parse_spec(f'case = "china"\n[scale]\n{key} = 2\n')
    case = spec.apply(china)
    how = SCALE_KEYS[key]
    changed = 0
    for table, column in how.columns:
        before = getattr(china, table)[column].astype(float)
        after = getattr(case, table)[column].astype(float)
        pd.testing.assert_series_equal(after, before * 2, check_names=False)
        changed += int((before != 0).sum())
    for name in how.parameters:
        assert case.parameters[name] == pytest.approx(2 * china.parameters[name])
        changed += 1
    assert changed > 0, f"scale.{key} changed nothing in the China case"


def test_scale_supply_per_chemistry(china):
    case = parse_spec('case = "china"\n[scale]\nsupply = { LFP = 1.3, NMC = 0.5 }\n'
                      'recycling_revenue = { NMC = 0.8 }\n').apply(china)
    before = china.supply.groupby("chemistry")["tonnes"].sum()
    after = case.supply.groupby("chemistry")["tonnes"].sum()
    assert after["LFP"] == pytest.approx(1.3 * before["LFP"])
    assert after["NMC"] == pytest.approx(0.5 * before["NMC"])
    revenue = "recycling_revenue_cny_per_t"
    assert case.chemistries.at["NMC", revenue] == pytest.approx(
        0.8 * china.chemistries.at["NMC", revenue])
    assert case.chemistries.at["LFP", revenue] == china.chemistries.at["LFP", revenue]


def test_chemistry_values_set_then_scaled(china):
    case = parse_spec('case = "china"\n[chemistries.LFP]\nmax_reuse_share = 0.05\n'
                      'reuse_revenue_cny_per_t = 10000\n[scale]\nmax_reuse_share = 0.5\n'
                      ).apply(china)
    assert case.chemistries.at["LFP", "max_reuse_share"] == pytest.approx(0.025)
    assert case.chemistries.at["NMC", "max_reuse_share"] == pytest.approx(0.015)
    assert case.chemistries.at["LFP", "reuse_revenue_cny_per_t"] == 10000.0


def test_candidates_drop_ids_and_kinds_keep_ids(china):
    case = parse_spec('case = "china"\n[candidates]\n'
                      'drop = ["pt-changsha", "reuse_outlets", "rec-hefei"]\n'
                      'keep = ["pt-wuhan", "pt-xian", "pt-changsha"]\n').apply(china)
    assert list(case.dismantling_sites.index) == ["pt-wuhan", "pt-xian"]
    assert set(case.dismantling_levels["dismantling_site_id"]) == {"pt-wuhan", "pt-xian"}
    assert len(case.reuse_outlets) == 0
    assert "rec-hefei" not in case.recyclers.index
    assert len(case.recyclers) == len(china.recyclers) - 1
    pd.testing.assert_frame_equal(case.collection_points, china.collection_points)


def test_applied_spec_solves(basic):
    # dropping c2 leaves B's dealer 10 km from c1: the plan still serves both (8,000 CNY)
    spec = parse_spec('case = "tiny/basic"\n[candidates]\ndrop = ["c2"]\n'
                      '[scale]\noutsourcing_cost = 2\n')
    case = spec.build_case()
    assert list(case.collection_points.index) == ["c1"]
    plan = netopt.solve(case, **spec.solve_options())
    assert plan.status == "optimal" and plan.objective == pytest.approx(8000)


# --- errors name the file and the key ----------------------------------------------------

def test_unknown_keys_and_bad_values_all_reported(tmp_path):
    path = write(tmp_path, "bad.toml", "\n".join([
        'case = "tiny/basic"',
        'sollver = 1',
        '[parameters]',
        'carbon_price = 100',
        'collection_rate_target = 1.5',
        'single_sourcing = "yes"',
        'circuity = "1.2"',
        '[scale]',
        'suply = 1.2',
        'outsourcing_cost = -1',
        'capex = { NMC = 2 }',
        '[chemistries.NMC]',
        'max_reuse_share = 2',
        'colour = 1',
        '[candidates]',
        'drop = "c1"',
        'hold = []',
        '[solver]',
        'mip_gap = 1.5',
        'threads = 0',
        'time_limit = -3',
        'verbose = true',
        '[allocation]',
        'enabled = "yes"',
        'methods = ["shapley", "banzhaf"]',
    ]))
    with pytest.raises(netopt.CaseError) as excinfo:
        load_spec(path)
    problems = excinfo.value.problems
    keys = [p.column for p in problems]
    assert keys == [
        "sollver", "parameters.carbon_price", "parameters.collection_rate_target",
        "parameters.single_sourcing", "parameters.circuity", "scale.suply",
        "scale.outsourcing_cost", "scale.capex", "chemistries.NMC.max_reuse_share",
        "chemistries.NMC.colour", "candidates.drop", "candidates.hold", "solver.mip_gap",
        "solver.threads", "solver.time_limit", "solver.verbose", "allocation.enabled",
        "allocation.methods",
    ]
    assert all(p.file == str(path) for p in problems)
    text = problems_of(excinfo)
    assert text[1] == (f"{path}, column 'parameters.carbon_price': unknown parameter; did you "
                       "mean 'carbon_price_cny_per_t'? (see: netopt schema parameters)")
    assert "must be <= 1 (got 1.5)" in text[2]
    assert "did you mean 'supply'?" in text[5]
    assert "banzhaf" in text[-1]


def test_missing_or_unknown_case(tmp_path):
    with pytest.raises(netopt.CaseError) as excinfo:
        load_spec(write(tmp_path, "a.toml", "[scale]\nsupply = 2\n"))
    assert [p.column for p in excinfo.value.problems] == ["case"]
    with pytest.raises(netopt.CaseError) as excinfo:
        load_spec(write(tmp_path, "b.toml", 'case = "no/such/case"\n'))
    (problem,) = excinfo.value.problems
    assert problem.file.endswith("b.toml") and problem.column == "case"
    assert "no/such/case" in problem.message


def test_bad_toml_names_the_file(tmp_path):
    path = write(tmp_path, "broken.toml", 'case = "tiny/basic"\n[scale\n')
    with pytest.raises(netopt.CaseError) as excinfo:
        load_spec(path)
    assert str(excinfo.value).startswith(f"{path}: not valid TOML")


def test_errors_only_the_case_can_tell(basic):
    spec = parse_spec('case = "tiny/basic"\n[chemistries.LFP]\nmax_reuse_share = 0.1\n'
                      '[scale]\nsupply = { LFP = 2 }\nmax_reuse_share = 5\n'
                      '[candidates]\ndrop = ["c11"]\nkeep = ["d9"]\n', source="s.toml")
    basic_with_reuse = basic.replace(chemistries=basic.chemistries.assign(max_reuse_share=0.5))
    with pytest.raises(netopt.CaseError) as excinfo:
        spec.apply(basic_with_reuse)
    text = problems_of(excinfo)
    assert text[0].startswith("s.toml, column 'candidates.drop': no facility 'c11' in the "
                              "case; did you mean")
    assert text[1].startswith("s.toml, column 'candidates.keep': no facility 'd9'")
    assert text[2] == ("s.toml, column 'chemistries.LFP': unknown chemistry 'LFP' (the case "
                       "has NMC)")
    assert text[3].startswith("s.toml, column 'scale.supply.LFP': unknown chemistry 'LFP'")
    assert text[4] == ("s.toml, column 'scale.max_reuse_share': gives max_reuse_share 2.5 for "
                       "'NMC' (must be <= 1)")


def test_keep_takes_ids_not_kinds():
    with pytest.raises(netopt.CaseError) as excinfo:
        parse_spec('case = "tiny/basic"\n[candidates]\nkeep = ["recyclers"]\n')
    assert excinfo.value.problems[0].column == "candidates.keep"


def test_load_specs_from_folders_and_duplicate_names(tmp_path):
    assert [p.name for p in find_specs([SPECS])] == sorted(p.name for p in SPECS.glob("*.toml"))
    write(tmp_path, "one.toml", 'name = "same"\ncase = "tiny/basic"\n')
    write(tmp_path, "two.toml", 'name = "same"\ncase = "tiny/growth"\n')
    with pytest.raises(netopt.CaseError) as excinfo:
        load_specs([tmp_path])
    (problem,) = excinfo.value.problems
    assert problem.column == "name" and problem.file.endswith("two.toml")
    (tmp_path / "empty").mkdir()
    with pytest.raises(netopt.CaseError, match="no spec"):
        load_specs([tmp_path / "empty", tmp_path / "missing.toml"])


# --- the shipped specs ----------------------------------------------------------------------

SHIPPED = ["base", "carbon_price", "collection_target", "high_growth", "lfp_dominant",
           "reuse_restricted", "single_sourcing"]


def test_shipped_models_load_and_apply(china):
    specs = {spec.name: spec for spec in load_specs([MODELS])}
    assert sorted(specs) == SHIPPED
    hashes = {}
    for name, spec in specs.items():
        text = Path(spec.source).read_text(encoding="utf-8")
        header = [line for line in text.splitlines() if line.startswith("#")]
        assert len(header) >= 5 and header[0].startswith(f"# {name}:"), name
        assert "data/china/README.md" in text or "gmteight.com" in text, \
            f"{name} does not say where its numbers come from"
        assert spec.case == data_path("china").resolve()
        case = spec.apply(china)
        hashes[name] = case.content_hash()
    assert hashes["base"] == china.content_hash()
    assert len(set(hashes.values())) == len(hashes)  # each spec changes something else


def test_shipped_models_change_what_they_say(china):
    specs = {spec.name: spec for spec in load_specs([MODELS])}
    supply = china.supply["tonnes"].sum()
    assert specs["high_growth"].apply(china).supply["tonnes"].sum() == pytest.approx(
        2 * supply)
    lfp = specs["lfp_dominant"].apply(china).supply.groupby("chemistry")["tonnes"].sum()
    assert lfp["NMC"] / lfp.sum() < 0.15
    assert specs["carbon_price"].apply(china).parameters["carbon_price_cny_per_t"] > 0
    reuse = specs["reuse_restricted"].apply(china).chemistries["max_reuse_share"]
    assert (reuse < china.chemistries["max_reuse_share"]).all()
    assert specs["single_sourcing"].apply(china).parameters["single_sourcing"] is True
    assert specs["collection_target"].apply(china).parameters["collection_rate_target"] == 0.9
