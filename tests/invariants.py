"""Invariants every solved plan must satisfy, checked from the Case and the Plan alone."""

from __future__ import annotations

import numpy as np
import pandas as pd

from netopt.case import Case
from netopt.plan import Plan

TOL = 1e-5  # tonnes; solver feasibility tolerance scaled to the case sizes in tests


def check_plan(case: Case, plan: Plan) -> None:
    """Assert flow balance, capacities, supply coverage, open-stays-open and cost sums."""
    assert plan.has_solution, plan.status
    flows, sites = plan.flows, plan.sites
    share = case.parameters["damaged_share"]
    tol = TOL * max(1.0, float(case.supply["tonnes"].max()))

    # all supply collected or outsourced, per source, chemistry and year
    supplied = case.supply.groupby(["source_id", "chemistry", "year"])["tonnes"].sum()
    first = flows[flows["leg"].isin(["source_collection", "source_site"])]
    shipped = first.groupby(["origin", "chemistry", "year"])["tonnes"].sum()
    at_source = plan.outsourced[plan.outsourced["place"] == "source"]
    outsourced = at_source.groupby(["id", "chemistry", "year"])["tonnes"].sum()
    for key, tonnes in supplied.items():
        got = shipped.get(key, 0.0) + outsourced.get(key, 0.0)
        assert abs(got - tonnes) <= tol, f"supply {key}: {got} != {tonnes}"
    # damaged share per source and chemistry
    if share > 0 and len(first):
        damaged = first[first["condition"] == "damaged"].groupby(
            ["origin", "chemistry", "year"])["tonnes"].sum()
        out_damaged = at_source[at_source["condition"] == "damaged"].groupby(
            ["id", "chemistry", "year"])["tonnes"].sum()
        for key, tonnes in supplied.items():
            got = damaged.get(key, 0.0) + out_damaged.get(key, 0.0)
            assert abs(got - share * tonnes) <= tol

    # flow balance at collection points and dismantling sites (per product and year)
    has_sites = len(case.dismantling_sites) > 0
    has_downstream = len(case.recyclers) + len(case.reuse_outlets) > 0
    keys = ["chemistry", "condition", "year"]
    inflow = flows.groupby(["destination", *keys])["tonnes"].sum()
    at_points = plan.outsourced[plan.outsourced["place"] == "collection_point"].rename(
        columns={"id": "origin"})
    outflow = pd.concat([flows, at_points]).groupby(["origin", *keys])["tonnes"].sum()
    nodes = []
    if has_sites:
        nodes += list(case.collection_points.index)
        if has_downstream:
            nodes += list(case.dismantling_sites.index)
    for node in nodes:
        ins = inflow[inflow.index.get_level_values(0) == node] if len(inflow) else inflow
        outs = outflow[outflow.index.get_level_values(0) == node] if len(outflow) else outflow
        ins = ins.droplevel(0) if len(ins) else pd.Series(dtype=float)
        outs = outs.droplevel(0) if len(outs) else pd.Series(dtype=float)
        both = ins.index.union(outs.index)
        diff = ins.reindex(both, fill_value=0.0) - outs.reindex(both, fill_value=0.0)
        assert (diff.abs() <= tol).all(), f"balance at {node}: {diff[diff.abs() > tol]}"

    # capacities hold and closed sites receive nothing
    through = flows.groupby(["destination", "year"])["tonnes"].sum()
    for row in sites.itertuples():
        got = through.get((row.id, row.year), 0.0)
        if not row.opened:
            assert got <= tol, f"closed {row.kind} {row.id} receives {got} t in {row.year}"
        else:
            assert got <= row.capacity_t_per_yr + tol, f"{row.id} over capacity in {row.year}"
        assert abs(row.throughput_t - got) <= tol

    # open stays open, capacity never shrinks
    for (_kind, _fid), group in sites.sort_values("year").groupby(["kind", "id"]):
        opened = group["opened"].to_numpy(dtype=int)
        assert (np.diff(opened) >= 0).all(), f"{_fid} closes again"
        assert (np.diff(group["capacity_t_per_yr"].to_numpy()) >= -1e-9).all()

    # reuse share at every site
    if len(flows) and (flows["leg"] == "site_reuse").any():
        into = flows[flows["destination"].isin(case.dismantling_sites.index)].groupby(
            ["destination", "chemistry", "year"])["tonnes"].sum()
        reuse = flows[flows["leg"] == "site_reuse"].groupby(
            ["origin", "chemistry", "year"])["tonnes"].sum()
        limit = case.chemistries["max_reuse_share"]
        for (site, chem, year), tonnes in reuse.items():
            assert tonnes <= limit[chem] * into.get((site, chem, year), 0.0) + tol

    # the cost table sums to the objective, and transport costs follow t x km x rate
    assert abs(plan.costs["discounted_cny"].sum() - plan.objective) <= 1e-6 * max(
        1.0, abs(plan.objective))
    solver_objective = plan.meta.get("solver_objective_cny")
    if solver_objective is not None:
        assert abs(solver_objective - plan.objective) <= 1e-6 * max(1.0, abs(plan.objective))
    if plan.status == "optimal":
        assert plan.bound <= plan.objective + 1e-6 * max(1.0, abs(plan.objective))
