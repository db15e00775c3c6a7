"""netopt: end-of-life battery recycling networks for OEM-led alliances.

Stages, data flowing one way: files -> :class:`Case` -> model -> :class:`Plan` ->
game and allocation -> exports.
"""

from netopt import datasets
from netopt.case import Case, load_case
from netopt.errors import CaseError, InfeasibleError, Problem, SolverError
from netopt.model.bounds import year_relaxation_bound
from netopt.model.solve import solve
from netopt.plan import Plan, load_plan

__version__ = "0.1.0"

__all__ = [
    "Case",
    "CaseError",
    "InfeasibleError",
    "Plan",
    "Problem",
    "datasets",
    "SolverError",
    "load_case",
    "load_plan",
    "solve",
    "year_relaxation_bound",
    "__version__",
]
