"""Plans given from outside as starting plans: a plan of a related case (the grand
coalition's, for a coalition of the savings game) restricted to this case's facilities.

A facility open in the given plan and present in this case opens here in the same years
(a dismantling site in modules at the same level); every other one stays shut. The
openings are costed in this case's model by its LP (sizes and flows re-optimised), so a
given plan is always a plan of this case, or none where it cannot serve it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, TypeAlias

import pandas as pd

from netopt.model.build import NetworkModel
from netopt.model.forward import FACILITIES, plan_values
from netopt.model.highs import binaries, solve_fixed
from netopt.plan import Plan

#: The model's opening variable of each kind of facility in ``Plan.sites``.
OPENING_OF_KIND = {"collection_point": "open_collection_point",
                   "recycler": "open_recycler",
                   "reuse_outlet": "open_reuse_outlet",
                   "dismantling_site": "site_open"}

#: A plan to start from: a :class:`~netopt.plan.Plan`, or its ``sites`` table (the
#: columns ``kind``, ``id``, ``year``, ``opened`` and ``level`` are read).
GivenPlan: TypeAlias = Plan | pd.DataFrame

#: The columns of ``Plan.sites`` that a start needs (:func:`openings_table`).
OPENING_COLUMNS = ["kind", "id", "year", "opened", "level"]


def openings_table(plan: GivenPlan) -> pd.DataFrame:
    """Only what a start needs of ``plan``: its sites table's opening columns (light to
    send to worker processes)."""
    sites = plan.sites if isinstance(plan, Plan) else plan
    if sites.empty:
        return pd.DataFrame(columns=OPENING_COLUMNS)
    return sites[OPENING_COLUMNS].reset_index(drop=True)


def plan_openings(plan: GivenPlan, years: Iterable[int]) -> dict[str, Any]:
    """The openings of ``plan`` in each of ``years`` in the form of
    :func:`netopt.model.forward.year_by_year_plan`'s plans: ``open`` (year -> model
    variable -> facility ids) and ``levels`` (year -> site -> module level)."""
    opened: dict[str, Any] = {"open": {}, "levels": {}}
    for year in years:
        opened["open"][year] = {var_name: set() for var_name, _table in FACILITIES}
        opened["levels"][year] = {}
    sites = openings_table(plan)
    if sites.empty:
        return opened
    for row in sites[sites["opened"].astype(bool)].itertuples(index=False):
        year = int(row.year)
        var_name = OPENING_OF_KIND.get(str(row.kind))
        if year not in opened["open"] or var_name is None:
            continue
        opened["open"][year][var_name].add(str(row.id))
        if row.kind == "dismantling_site":  # its module level ("continuous" matches none)
            opened["levels"][year][str(row.id)] = str(row.level)
    return opened


def given_start(nm: NetworkModel, plans: Iterable[GivenPlan], years: Iterable[int], *,
                persistent: Any = None, threads: int | None = None,
                time_limit: float | None = None) -> dict[str, Any] | None:
    """The best of ``plans``, each restricted to the facilities of ``nm`` (and to those
    its bounds leave open) and costed by its LP, as a starting plan (``objective`` CNY,
    ``values``, ``bound`` -inf, ``method`` "given"); None if none of them serves the
    case."""
    years = list(years)
    # a facility bounded closed (a non-member's, in a coalition's bounds) stays closed
    closed = {id(v) for v in binaries(nm.model) if v.ub is not None and v.ub < 0.5}
    best: dict[str, Any] | None = None
    for plan in plans:
        chosen = plan_values(nm, plan_openings(plan, years))
        chosen.update(dict.fromkeys(closed & chosen.keys(), 0.0))
        objective, values = solve_fixed(nm, chosen, persistent=persistent, threads=threads,
                                        time_limit=time_limit)
        if values is not None and (best is None or objective < best["objective"]):
            best = {"objective": objective, "values": values, "bound": -math.inf,
                    "method": "given"}
    return best
