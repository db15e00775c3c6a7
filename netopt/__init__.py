"""netopt: end-of-life battery recycling networks for OEM-led alliances.

Stages, data flowing one way:

* the case: :func:`load_case` reads the input tables into a :class:`Case`;
* the solve: :func:`solve` designs the network, a :class:`Plan` (:func:`load_plan`
  reads a saved one);
* coalition values: :func:`coalition_values` gives c(S) for every coalition of members;
* the allocation: :func:`allocate_savings` splits the savings
  (:class:`SavingsAllocation`); the solution concepts are in :mod:`netopt.allocation`;
* the batch: :func:`run_batch` runs many model specs, locally or on Dask.
"""

from netopt import allocation, batch, datasets, game
from netopt.batch import run_batch
from netopt.case import Case, load_case
from netopt.errors import CaseError, InfeasibleError, Problem, SolverError
from netopt.game import SavingsAllocation, allocate_savings, coalition_values
from netopt.model.solve import solve
from netopt.plan import Plan, load_plan
from netopt.version import __version__

__all__ = [
    "Case",
    "CaseError",
    "InfeasibleError",
    "Plan",
    "Problem",
    "SavingsAllocation",
    "SolverError",
    "__version__",
    "allocate_savings",
    "allocation",
    "batch",
    "coalition_values",
    "datasets",
    "game",
    "load_case",
    "load_plan",
    "run_batch",
    "solve",
]
