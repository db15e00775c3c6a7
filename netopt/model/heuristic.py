"""A starting plan by LP rounding: solve the relaxation, open what it uses, re-solve flows.

The dismantling levels are first chosen by a small MIP with every other opening fixed
(relax-and-fix); only if that finds nothing are they rounded up too.

Rounding up keeps the relaxation's flows feasible: a collection point, recycler or reuse
outlet the relaxation opens at all is opened (open-stays-open holds, since the relaxed
values never decrease); a dismantling site gets the smallest level that carries its
relaxed inflow, never shrinking. The flows are then re-optimised with the openings fixed.
:func:`netopt.model.solve.solve` offers the plan to HiGHS as the search's first
incumbent (highspy's user-solution callback), and reports it if the search finds nothing
better before its time limit.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import pyomo.environ as pyo

from netopt.model.build import NetworkModel

OPEN_TOLERANCE = 1e-6


def _binaries(model: pyo.ConcreteModel) -> list:
    return [v for var in model.component_objects(pyo.Var) for v in var.values()
            if v.is_binary() and not v.fixed]


def lp_rounding(nm: NetworkModel, *, time_limit: float | None = None,
                threads: int | None = None, sub_mip_time: float | None = 30.0,
                persistent: Any = None) -> dict | None:
    """Objective (CNY) and variable values of a rounded plan, or None if none was found.

    ``time_limit`` (seconds) bounds the whole heuristic; if the relaxation is not solved
    within it, there is no rounded plan.

    With ``sub_mip_time`` (seconds), the dismantling levels are chosen by a MIP over the
    levels alone, the other openings fixed as the relaxation uses them.

    ``persistent`` is a pyomo HiGHS solver not yet used on this model: the model is then
    loaded into HiGHS once, and each later solve changes only domains and fixings (loading
    a large model takes about as long as building it).

    Leaves the model as it found it (domains and fixings restored).
    """
    from netopt.model.solve import holds_model, run_solver

    if nm.data.parameters["single_sourcing"]:
        return None  # binary shipments: rounding a split source is not a plan
    m = nm.model
    start = time.perf_counter()

    def left() -> float | None:  # seconds of the budget still unspent
        if time_limit is None:
            return None
        return max(1.0, time_limit - (time.perf_counter() - start))

    binaries = _binaries(m)

    def solve(**options) -> dict:
        if holds_model(persistent, nm.model):
            persistent.update_variables(binaries)  # domains and fixings changed
        return run_solver(nm, threads=threads, persistent=persistent, **options)

    for v in binaries:
        v.domain = pyo.UnitInterval
    try:
        relaxed = solve(time_limit=time_limit)
    finally:
        for v in binaries:
            v.domain = pyo.Binary
    if relaxed["status"] != "optimal" or nm.interrupted:
        return None  # a relaxation cut short is no guide (and the budget is spent)

    chosen: dict[int, float] = {}
    for name in ("open_collection_point", "open_recycler", "open_reuse_outlet"):
        for v in getattr(m, name).values():
            if not v.fixed:
                chosen[id(v)] = 1.0 if (v.value or 0.0) > OPEN_TOLERANCE or v.lb == 1 else 0.0
    # dismantling sites: smallest level carrying the relaxed inflow, never shrinking
    levels = nm.data.levels
    cap_of: dict[str, dict[str, float]] = defaultdict(dict)  # site -> level -> t/yr
    for k, lv, cap in zip(levels["dismantling_site_id"], levels["level"],
                          levels["capacity_t_per_yr"]):
        cap_of[k][lv] = float(cap)
    inflow: dict[tuple[str, int], float] = defaultdict(float)
    for (k, lv, t), v in m.site_level.items():
        inflow[(k, t)] += cap_of[k][lv] * (v.value or 0.0)
    sites = nm.case.dismantling_sites
    for k, by_level in cap_of.items():
        options = sorted((cap, lv) for lv, cap in by_level.items())
        existing = sites.at[k, "existing_level"] if k in sites.index else ""
        floor = by_level[existing] if existing else 0.0
        for t in nm.data.years:
            need = max(inflow[(k, t)], floor)
            pick = None
            if need > OPEN_TOLERANCE:
                pick = next((lv for cap, lv in options if cap >= need - 1e-6), options[-1][1])
                floor = max(floor, by_level[pick])
            for lv in by_level:
                chosen[id(m.site_level[k, lv, t])] = 1.0 if lv == pick else 0.0

    # First try: fix the openings the relaxation uses and let a small MIP choose the
    # dismantling levels (relax-and-fix); else round the levels up as well.
    level_ids = {id(v) for v in m.site_level.values()}
    result, values = None, None
    if sub_mip_time:
        fixed = []
        for v in binaries:
            if id(v) in chosen and id(v) not in level_ids:
                v.fix(chosen[id(v)])
                fixed.append(v)
        try:
            limit = sub_mip_time if time_limit is None else min(sub_mip_time, left())
            result = solve(time_limit=limit, mip_gap=1e-3)
            if result["status"] in ("optimal", "time_limit", "interrupted"):
                values = {id(v): v.value for var in m.component_objects(pyo.Var)
                          for v in var.values()}
        finally:
            for v in fixed:
                v.unfix()
    if values is None and nm.interrupted:
        return None
    if values is None:
        fixed = []
        for v in binaries:
            if id(v) in chosen:
                v.fix(chosen[id(v)])
                fixed.append(v)
        try:
            result = solve(time_limit=left())
            if result["status"] not in ("optimal", "time_limit"):
                return None
            values = {id(v): v.value for var in m.component_objects(pyo.Var)
                      for v in var.values()}
        finally:
            for v in fixed:
                v.unfix()
    return {"objective": result["objective"], "values": values,
            "bound": relaxed["bound"] if relaxed["status"] == "optimal" else float("nan"),
            "seconds": time.perf_counter() - start}


def load_values(nm: NetworkModel, values: dict[int, float]) -> None:
    """Put a stored plan's values back into the model's variables."""
    for var in nm.model.component_objects(pyo.Var):
        for v in var.values():
            if id(v) in values and not v.fixed:
                v.set_value(values[id(v)], skip_validation=True)
