"""A plan of the whole model improved one kind of facility at a time, over every year.

The forward pass (:mod:`netopt.model.forward`) decides each year knowing only the years
before it. What it loses is the link between the years, and the whole model, which holds
that link, is too large for HiGHS's search to move from the root. A neighbourhood in
between is: every year at once, but only one kind of facility free. The dismantling
sites' openings (and levels) over all the years, with the collection points fixed at the
plan's, are a MIP of a few hundred binaries that HiGHS closes; the collection points
with the sites fixed are larger, and improve within their time. Each step starts from
the best plan so far, so HiGHS's incumbent is never worse, and each step's plan is a plan
of the whole model (BENCHMARKS.md, 'A bound and a plan by regions' and
'Neighbourhoods over every year').
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from netopt.model.build import NetworkModel
from netopt.model.highs import (
    Budget,
    SolveResult,
    binaries,
    binaries_fixed,
    load_values,
    model_values,
    run_solver,
)
from netopt.plan import relative_gap

#: The neighbourhoods, in the order they are searched: (name, the model variables whose
#: binaries are free in it). Every other binary is fixed at the plan's value.
NEIGHBOURHOODS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("dismantling_sites", ("site_open", "site_level")),
    ("collection_points", ("open_collection_point",)),
)
#: A step that improves the plan by less than this share of its cost does not count as
#: an improvement (another round would only chase the solver's tolerance).
MIN_IMPROVEMENT = 1e-6
#: A step does not start with fewer seconds than this left.
MIN_STEP_SECONDS = 5.0

STEP_COLUMNS = ["round", "neighbourhood", "free_binaries", "status", "objective_cny",
                "bound_cny", "seconds", "ended_s", "improved"]


def _free_in(nm: NetworkModel, names: tuple[str, ...]) -> set[int]:
    """``id`` of each free binary of the model variables ``names`` (those the model has)."""
    free: set[int] = set()
    for name in names:
        component = getattr(nm.model, name, None)
        if component is None:
            continue
        free.update(id(v) for v in component.values() if v.is_binary() and not v.fixed)
    return free


def _step(nm: NetworkModel, persistent: Any, values: dict[int, float], free: set[int], *,
          time_limit: float | None, mip_gap: float, threads: int | None,
          progress: Callable[[dict[str, Any]], None] | None) -> SolveResult:
    """The whole MIP with only the binaries in ``free`` free, the others fixed at
    ``values``, started from ``values``; the binaries are free again afterwards (the
    variables hold the step's plan, if it has one)."""
    everything = binaries(nm.model)
    chosen = {id(v): 1.0 if (values.get(id(v)) or 0.0) > 0.5 else 0.0
              for v in everything if id(v) not in free}
    try:
        with binaries_fixed(nm, chosen, persistent=persistent):
            return run_solver(nm, time_limit=time_limit, mip_gap=mip_gap, threads=threads,
                              persistent=persistent, progress=progress, start=values)
    finally:
        # HiGHS is told at once that the binaries are free again: left with this step's
        # bounds until the next step changes them, the default case's second step
        # returned its plan's objective with this step's column values
        persistent.update_variables(everything)


def improve_by_neighbourhoods(
    nm: NetworkModel,
    plan: dict[str, Any],
    persistent: Any,
    *,
    time_limit: float | Budget | None,
    mip_gap: float = 1e-4,
    threads: int | None = None,
    rounds: int = 2,
    neighbourhoods: tuple[tuple[str, tuple[str, ...]], ...] = NEIGHBOURHOODS,
    bound: float = -math.inf,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """``plan`` (a plan of the whole model ``nm``: ``objective``, CNY, and ``values`` by
    ``id`` of variable) improved by the ``neighbourhoods`` in turn, each over every year.

    ``persistent`` is a pyomo HiGHS solver, ideally one that holds ``nm.model`` already
    (it is loaded if not). ``bound`` (CNY), a proven bound of the whole model, is what
    ``progress`` reports with each step's plans (a step's own bound holds only with the
    other binaries fixed).
    ``time_limit`` (seconds, or a Budget): each step may use all the time left; the
    dismantling sites' step, which HiGHS closes, ends early and leaves the rest to the
    collection points'. A round that improves nothing ends the search, as do ``rounds``
    rounds, the time or Ctrl-C. Returns ``plan`` with the better ``objective`` and
    ``values`` and ``neighbourhoods``, one record per step (``STEP_COLUMNS``: CNY;
    ``seconds`` the step's, ``ended_s`` since the search began; ``bound_cny`` holds only
    with the step's other binaries fixed). ``nm``'s variables hold the returned plan's
    values.
    """
    budget = Budget.of(time_limit)
    free_by_name = [(name, _free_in(nm, names)) for name, names in neighbourhoods]
    free_by_name = [(name, free) for name, free in free_by_name if free]
    best = {"objective": float(plan["objective"]), "values": plan["values"]}
    steps: list[dict[str, Any]] = []
    for round_number in range(1, rounds + 1):
        improved_in_round = False
        for name, free in free_by_name:
            if nm.interrupted or budget.spent(MIN_STEP_SECONDS):
                break
            watch = Budget()

            def report(state: dict[str, Any], name: str = name) -> None:
                assert progress is not None
                progress({**state, "time_s": budget.elapsed(), "bound": bound,
                          "gap": relative_gap(state["objective"], bound),
                          "phase": f"neighbourhood: {name}, every year"})

            result = _step(nm, persistent, best["values"], free, time_limit=budget.left(),
                           mip_gap=mip_gap, threads=threads,
                           progress=report if progress is not None else None)
            better = result.has_plan and result.objective < best["objective"] - MIN_IMPROVEMENT \
                * max(1.0, abs(best["objective"]))
            if better:
                best = {"objective": result.objective, "values": model_values(nm)}
                improved_in_round = True
            steps.append({"round": round_number, "neighbourhood": name,
                          "free_binaries": len(free), "status": str(result.status),
                          "objective_cny": result.objective, "bound_cny": result.bound,
                          "seconds": watch.elapsed(), "ended_s": budget.elapsed(),
                          "improved": better})
        if not improved_in_round or nm.interrupted or budget.spent(MIN_STEP_SECONDS):
            break
    load_values(nm, best["values"])
    return {**plan, "objective": best["objective"], "values": best["values"],
            "neighbourhoods": steps}

