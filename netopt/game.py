"""Coalition values: the cost c(S) of every coalition S of the alliance's members.

c(S) is the optimal cost of serving the supply of S's sources using only S's facilities
plus outside parties (facilities with a blank ``member_id``) at market prices. One model
is built per worker process and reused: a coalition is switched in by bounding the
facilities of non-members closed and switching non-members' sources off (a mutable
parameter),
with no rebuild. Results are cached on disk, keyed by the case's content, the solver
settings and the coalition, so a stopped run resumes where it stopped.

Solves run on any executor with ``submit`` (``concurrent.futures`` pools, or a
``dask.distributed.Client``); the default is a local process pool.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import os
import tempfile
import time
import warnings
from collections.abc import Iterable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import pandas as pd
from pyomo.contrib.solver.common.factory import SolverFactory

from netopt.allocation import Game, savings_report
from netopt.allocation.rules import split_by_marginal_savings
from netopt.case import Case
from netopt.errors import SolverError
from netopt.model.build import build_model
from netopt.model.solve import run_solver, solve, solves_years_apart
from netopt.model.starts import GivenPlan, given_start, openings_table
from netopt.pool import local_pool
from netopt.progress import ProgressCallback, no_progress, progress_bar

Coalition = frozenset[str]


class _SolveOptions(TypedDict):
    """The settings a :class:`CoalitionSolver` passes to each solve."""

    mip_gap: float
    time_limit: float | None
    threads: int | None
    log: bool


class SolverToleranceWarning(UserWarning):
    """Coalition values that break subadditivity by more than the solver tolerance."""


def coalition_case(case: Case, coalition: Iterable[str]) -> Case:
    """The case as ``coalition`` alone sees it: its members' sources and their supply,
    and the facilities of its members and of outside parties (blank ``member_id``). The
    chain ends where the alliance's does: a coalition without a dismantling site (or a
    recycler) outsources what its facilities cannot send on."""
    members = set(coalition)
    unknown = members - set(case.member_ids)
    if unknown:
        raise ValueError(f"unknown member(s) in the coalition: {sorted(unknown)}")

    def kept(table: pd.DataFrame) -> pd.DataFrame:
        return table[table["member_id"].isin(members) | (table["member_id"] == "")]

    sources = case.sources[case.sources["member_id"].isin(members)]
    sites = kept(case.dismantling_sites)
    levels = case.dismantling_levels
    return case.replace(
        sources=sources, supply=case.supply[case.supply["source_id"].isin(sources.index)],
        collection_points=kept(case.collection_points), dismantling_sites=sites,
        dismantling_levels=levels[levels["dismantling_site_id"].isin(sites.index)],
        recyclers=kept(case.recyclers), reuse_outlets=kept(case.reuse_outlets),
        chain_ends_at=case.chain_end)


# --- one model per worker process --------------------------------------------------------

#: How a coalition is valued: ``whole`` (the MIP over the whole horizon, on the worker's
#: one model with non-members' facilities bounded closed), ``years`` (the coalition's own
#: case through :func:`netopt.solve`: its years solved apart, then the search from their
#: plan, as the grand coalition's plan is found) or ``auto`` (``years`` where
#: :func:`netopt.solve` solves the whole case years apart, else ``whole``).
COALITION_METHODS = ("auto", "whole", "years")


class CoalitionSolver:
    """A built model of a case that solves coalitions by changing bounds and supply only
    (or, by ``method``, each coalition's own case years apart)."""

    def __init__(self, case: Case, *, mip_gap: float = 1e-4, time_limit: float | None = None,
                 threads: int | None = 1, log: bool = False, method: str = "auto"):
        if method not in COALITION_METHODS:
            raise ValueError(f"method {method!r}: choose from {', '.join(COALITION_METHODS)}")
        self.case = case
        self.nm = build_model(case)
        self.model = self.nm.model
        self.options: _SolveOptions = {"mip_gap": mip_gap, "time_limit": time_limit,
                                       "threads": threads, "log": log}
        self.method = method if method != "auto" else (
            "years" if solves_years_apart(case, self.nm) else "whole")
        self.opt = SolverFactory("highs")
        self.first = True
        m = self.model
        facility_vars: dict[str, list] = {}  # member -> open/level vars it owns

        def collect(table: pd.DataFrame, var: Any) -> None:
            for (fid, _t), v in var.items():
                owner = table.at[fid, "member_id"]
                if owner:
                    facility_vars.setdefault(owner, []).append(v)

        collect(case.collection_points, m.open_collection_point)
        collect(case.recyclers, m.open_recycler)
        collect(case.reuse_outlets, m.open_reuse_outlet)
        collect(case.dismantling_sites, m.site_open)
        for (k, _lv, _t), v in m.site_level.items():
            owner = case.dismantling_sites.at[k, "member_id"]
            if owner:
                facility_vars.setdefault(owner, []).append(v)
        self.facility_vars = facility_vars
        self.fixed_values = {id(v): v.value for vs in facility_vars.values() for v in vs
                             if v.fixed}
        self.original_bounds = {id(v): (v.lb, v.ub) for vs in facility_vars.values() for v in vs}
        owner_of_source = case.sources["member_id"].to_dict()
        self.supply_params: dict[str, list] = {}
        for (i, _t), param in m.source_active.items():
            self.supply_params.setdefault(owner_of_source[i], []).append(param)

    def solve(self, coalition: Iterable[str], start: pd.DataFrame | None = None,
              ) -> dict[str, Any]:
        """Cost c(S) of one coalition (CNY, discounted), with status, bound and gap.
        ``start``: a plan (:data:`netopt.model.starts.GivenPlan`) whose openings,
        restricted to the coalition's facilities, the solve starts from where they are
        better than its own starting plan (the grand coalition's, say)."""
        members = set(coalition)
        if self.method == "years":
            return self.solve_apart(members, start)
        changed = []
        for owner, variables in self.facility_vars.items():
            for v in variables:
                if id(v) in self.fixed_values:  # no arc reaches it: a constant 0 or 1
                    v.fix(self.fixed_values[id(v)] if owner in members else 0)
                    continue
                lb, ub = self.original_bounds[id(v)] if owner in members else (0, 0)
                if (v.lb, v.ub) != (lb, ub):
                    v.setlb(lb)
                    v.setub(ub)
                    changed.append(v)
        for owner, params in self.supply_params.items():
            for param in params:
                param.set_value(1.0 if owner in members else 0.0)
        clock = time.perf_counter()
        values = self.start_values(start) if start is not None else None
        options: _SolveOptions = {**self.options}
        limit = options["time_limit"]
        if limit is not None:  # the start's LP counts in the limit
            options["time_limit"] = max(1.0, limit - (time.perf_counter() - clock))
        if self.first:
            result = run_solver(self.nm, **options, persistent=self.opt, start=values)
            self.first = False
        else:
            self.opt_update(changed)
            result = run_solver(self.nm, **options, persistent=self.opt, start=values)
        return {"coalition": sorted(members), "cost_cny": result.objective,
                "status": str(result.status), "bound_cny": result.bound, "gap": result.gap,
                "seconds": time.perf_counter() - clock}

    def start_values(self, start: pd.DataFrame) -> dict[int, float] | None:
        """The values of ``start``'s openings within the coalition whose bounds are set
        (a facility bounded closed stays closed), the flows by the LP; None if they do
        not serve it."""
        limit = self.options["time_limit"]
        given = given_start(self.nm, [start], self.case.years, threads=self.options["threads"],
                            time_limit=None if limit is None else limit / 4)
        return None if given is None else given["values"]

    def solve_apart(self, members: set[str], start: pd.DataFrame | None = None,
                    ) -> dict[str, Any]:
        """Cost c(S) of one coalition from its own case (:func:`coalition_case`) solved
        as :func:`netopt.solve` solves a case, years apart where it applies (from
        ``start`` too, where it is better)."""
        clock = time.perf_counter()
        plan = solve(coalition_case(self.case, members), explain=False, **self.options,
                     starts=None if start is None else [start])
        record = {"coalition": sorted(members), "cost_cny": plan.objective,
                  "status": str(plan.status), "bound_cny": plan.bound, "gap": plan.gap,
                  "seconds": time.perf_counter() - clock, "method": "years"}
        given = (plan.meta.get("starting_plan") or {}).get("given_cny")
        if given is not None:
            record["start_cny"] = given
        return record

    def opt_update(self, changed: list) -> None:
        """Send the changed bounds and the mutable supply to the persistent solver."""
        if changed:
            self.opt.update_variables(changed)
        self.opt.update_parameters()


_WORKER_SOLVERS: dict[str, CoalitionSolver] = {}


def _solve_coalition(case: Case, coalition: tuple[str, ...], options: dict,
                     start: pd.DataFrame | None = None) -> dict[str, Any]:
    """Task run in a worker: reuse the worker's model of ``case`` if it has one."""
    key = case.content_hash() + json.dumps(options, sort_keys=True)
    solver = _WORKER_SOLVERS.get(key)
    if solver is None:
        _WORKER_SOLVERS.clear()  # one case per worker at a time keeps memory bounded
        solver = CoalitionSolver(case, **options)
        _WORKER_SOLVERS[key] = solver
    return solver.solve(coalition, start)


# --- cache --------------------------------------------------------------------------------

def default_cache_folder() -> Path:
    """Where the command line keeps coalition values: ``$NETOPT_CACHE`` if set, else the
    platform's user cache folder (``~/.cache/netopt/coalitions`` on Linux, from
    platformdirs), never the folder the user stands in."""
    override = os.environ.get("NETOPT_CACHE")
    if override:
        return Path(override)
    from platformdirs import user_cache_path

    return user_cache_path("netopt", appauthor=False) / "coalitions"


class CoalitionCache:
    """One JSON file per solved coalition under ``folder/<case hash>/``; writes are atomic."""

    def __init__(self, folder: str | Path, case: Case, options: dict):
        settings = json.dumps(options, sort_keys=True)
        digest = hashlib.sha256((case.content_hash() + settings).encode()).hexdigest()[:20]
        self.folder = Path(folder) / digest
        self.folder.mkdir(parents=True, exist_ok=True)

    def _path(self, coalition: Iterable[str]) -> Path:
        name = hashlib.sha256("\x1f".join(sorted(coalition)).encode()).hexdigest()[:24]
        return self.folder / f"{name}.json"

    def get(self, coalition: Iterable[str]) -> dict | None:
        """The cached record of a coalition, or None (a damaged entry is None too)."""
        path = self._path(coalition)
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None  # a damaged entry is solved again

    def put(self, record: dict) -> None:
        """Store one solve's record, atomically."""
        path = self._path(record["coalition"])
        handle, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(record, stream)
        os.replace(tmp, path)


# --- the public function -------------------------------------------------------------------

def all_coalitions(members: Iterable[str]) -> list[Coalition]:
    """Every non-empty coalition, smallest first (singletons, pairs, ...)."""
    members = list(members)
    return [frozenset(c) for size in range(1, len(members) + 1)
            for c in itertools.combinations(members, size)]


def _as_completed(executor: Any, futures: list) -> Iterable:
    """The futures as they finish, on a concurrent.futures executor or a Dask client."""
    if type(executor).__module__.startswith("distributed"):
        # dask.distributed is heavy to import; only a Dask client needs its as_completed
        from distributed import as_completed as dask_as_completed

        return dask_as_completed(futures)
    from concurrent.futures import as_completed

    return as_completed(futures)


def coalition_values(
    case: Case,
    coalitions: Iterable[Iterable[str]] | None = None,
    *,
    executor: Executor | Any | None = None,
    cache: str | Path | None = None,
    progress: bool | ProgressCallback = True,
    workers: int | None = None,
    start: GivenPlan | None = None,
    **solve_options: Any,
) -> pd.Series:
    """Cost c(S) in CNY (discounted) of each coalition, as a Series indexed by frozenset.

    ``coalitions`` defaults to every non-empty coalition of the case's members.
    ``executor`` is anything with ``submit`` (a ``concurrent.futures`` executor or a
    ``dask.distributed.Client``); by default a process pool of ``workers`` (the number of
    cores) runs the solves. ``cache`` is a folder: finished coalitions are stored there
    as they finish and are not solved again. ``solve_options`` are ``mip_gap``,
    ``time_limit`` (seconds per coalition), ``threads`` (per solve, default 1) and
    ``method`` (:data:`COALITION_METHODS`, default "auto"). ``progress`` is True (a bar on
    the terminal), False, or a callback ``progress(done, total)`` called as coalitions
    finish (cached ones count as done). The Series' ``attrs["records"]`` holds a tidy
    frame of every solve (status, bound, gap, seconds).

    ``start``: a plan of the case (the grand coalition's, as ``netopt run`` finds it; a
    Plan or its ``sites`` table). Each coalition's solve also starts from its openings
    restricted to the coalition's facilities, where that is better than its own
    starting plan (``start_cny`` in the records: what the restricted plan cost). It
    changes how good a value is found in the time, not what a value means, so cached
    values stand.
    """
    members = list(case.member_ids)
    wanted = all_coalitions(members) if coalitions is None else [
        frozenset(c) for c in coalitions]
    unknown = {m for c in wanted for m in c} - set(members)
    if unknown:
        raise ValueError(f"unknown member(s) in coalitions: {sorted(unknown)}")
    options: dict[str, Any] = {"mip_gap": 1e-4, "time_limit": None, "threads": 1,
                               "log": False, "method": "auto"}
    options.update(solve_options)
    store = CoalitionCache(cache, case, options) if cache is not None else None
    opening = openings_table(start) if start is not None else None
    records: dict[Coalition, dict] = {}
    todo = []
    for coalition in dict.fromkeys(wanted):
        cached = store.get(coalition) if store else None
        if cached is not None:
            records[coalition] = cached
        else:
            todo.append(coalition)

    if todo:
        report_context = (progress_bar("coalitions") if progress is True
                          else contextlib.nullcontext(progress or no_progress))
        with report_context as report:
            report(len(wanted) - len(todo), len(wanted))
            if executor is not None:
                _run(executor, case, todo, options, records, store, report, len(wanted),
                     opening)
            else:
                with local_pool(max(1, workers or min(len(todo), os.cpu_count() or 1))) \
                        as pool:
                    _run(pool, case, todo, options, records, store, report, len(wanted),
                         opening)

    values = pd.Series({c: records[c]["cost_cny"] for c in dict.fromkeys(wanted)},
                       name="cost_cny", dtype=float)
    table = pd.DataFrame([{**records[c], "coalition": tuple(sorted(c)), "size": len(c)}
                          for c in dict.fromkeys(wanted)])
    values.attrs["records"] = table
    values.attrs["unit"] = "CNY"
    check_subadditive(values, tolerance=options["mip_gap"])
    return values


def _run(executor: Any, case: Case, todo: list[Coalition], options: dict[str, Any],
         records: dict[Coalition, dict], store: CoalitionCache | None,
         report: ProgressCallback, total: int, start: pd.DataFrame | None = None) -> None:
    """Solve ``todo`` on ``executor`` (each from ``start`` too), storing each record as it
    finishes."""
    futures = {executor.submit(_solve_coalition, case, tuple(sorted(coalition)), options,
                               start): coalition for coalition in todo}
    done = total - len(todo)
    try:
        for future in _as_completed(executor, list(futures)):
            record = future.result()
            coalition = futures[future]
            records[coalition] = record
            if record["status"] not in ("optimal", "time_limit"):
                raise SolverError(
                    f"coalition {'+'.join(record['coalition'])} was not solved "
                    f"({record['status']}); finished coalitions are kept in the cache")
            if store is not None:
                store.put(record)
            done += 1
            report(done, total)
    except BaseException:
        for future in futures:
            future.cancel()
        raise


def check_subadditive(values: pd.Series, tolerance: float = 1e-4) -> list[dict]:
    """Violations of c(S) <= c(A) + c(B) over every split of S into two, as warnings.

    A violation larger than ``tolerance`` x |c(A) + c(B)| (the solver's gap) is reported
    with its numbers as a :class:`SolverToleranceWarning`; the list is returned.
    """
    cost = dict(values.items())
    found = []
    for coalition, value in cost.items():
        members = sorted(coalition)
        if len(members) < 2:
            continue
        first, rest = members[0], members[1:]
        for size in range(0, len(rest)):
            for part in itertools.combinations(rest, size):
                a = frozenset((first, *part))
                b = coalition - a
                if a in cost and b in cost:
                    total = cost[a] + cost[b]
                    excess = value - total
                    if excess > tolerance * max(1.0, abs(total)) + 1e-6:
                        found.append({"coalition": tuple(members), "cost": value,
                                      "split": (tuple(sorted(a)), tuple(sorted(b))),
                                      "split_cost": total, "excess": excess})
    for item in found[:10]:
        warnings.warn(
            f"c({','.join(item['coalition'])}) = {item['cost']:,.2f} exceeds "
            f"c({','.join(item['split'][0])}) + c({','.join(item['split'][1])}) = "
            f"{item['split_cost']:,.2f} by {item['excess']:,.2f} CNY (solver tolerance?)",
            SolverToleranceWarning, stacklevel=3)
    return found


def coalition_table(values: pd.Series) -> pd.DataFrame:
    """Tidy table of coalition values: coalition, size, cost_cny (and solve records)."""
    records = values.attrs.get("records")
    if records is not None:
        return records
    return pd.DataFrame({"coalition": [tuple(sorted(c)) for c in values.index],
                         "size": [len(c) for c in values.index],
                         "cost_cny": values.to_numpy()})


@dataclass(frozen=True)
class SavingsAllocation:
    """The alliance's savings split among its members, every method side by side.

    ``values`` holds c(S) in CNY (discounted) by coalition (see :func:`coalition_values`);
    ``game`` is the savings game v(S) built from them; ``members`` and ``stability`` are
    the two tables of :func:`netopt.allocation.savings_report` (money in CNY).
    """

    values: pd.Series
    game: Game
    members: pd.DataFrame
    stability: pd.DataFrame

    @property
    def grand_savings_cny(self) -> float:
        """What the grand coalition saves against every member going alone (CNY)."""
        return float(self.game.grand_value)

    @property
    def standalone_cost_cny(self) -> float:
        """The sum of the members' stand-alone costs c({i}) (CNY)."""
        standalone = self.game.standalone_costs
        return math.nan if standalone is None else float(standalone.sum())

    @property
    def savings_pct(self) -> float | None:
        """The grand coalition's savings in % of the stand-alone costs (None if <= 0)."""
        standalone = self.standalone_cost_cny
        return 100.0 * self.grand_savings_cny / standalone if standalone > 0 else None

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables written as CSV: coalition_values (members joined by "+"),
        allocation and allocation_stability."""
        table = coalition_table(self.values).copy()
        table["coalition"] = ["+".join(c) for c in table["coalition"]]
        return {"coalition_values": table, "allocation": self.members,
                "allocation_stability": self.stability}


def allocate_savings(
    case: Case,
    methods: Iterable[str] | None = None,
    *,
    executor: Executor | Any | None = None,
    cache: str | Path | None = None,
    progress: bool | ProgressCallback = True,
    workers: int | None = None,
    **solve_options: Any,
) -> SavingsAllocation:
    """Value every coalition of the case's members and split the savings.

    The coalitions are valued by :func:`coalition_values` (same ``executor``, ``cache``,
    ``progress``, ``workers`` and ``solve_options``), then every method of
    :data:`netopt.allocation.METHODS` (or only ``methods``) splits the savings.
    """
    values = coalition_values(case, executor=executor, cache=cache, progress=progress,
                              workers=workers, **solve_options)
    game = Game.from_costs(values)
    records = values.attrs["records"]
    lower = {frozenset(c): float(b) if b is not None else -math.inf
             for c, b in zip(records["coalition"], records["bound_cny"], strict=True)}
    members, stability = savings_report(game, None if methods is None else list(methods),
                                        lower_costs=lower)
    return SavingsAllocation(values, game, members, stability)


#: The split rules that need only the stand-alone costs c({i}) and the grand coalition's.
STANDALONE_RULES = ("proportional", "equal_split")
#: ... and the rule that needs each c(N minus i) too (``standalone_split(separable=True)``).
SEPARABLE_RULE = "separable_costs"


def standalone_shares(alone: pd.Series, grand_cost_cny: float) -> dict[str, pd.Series]:
    """Each member's savings (CNY) by :data:`STANDALONE_RULES`, from the stand-alone costs
    ``alone`` (CNY by member) and the grand coalition's cost: ``proportional`` only when
    the stand-alone costs are all >= 0 with a positive sum."""
    savings = float(alone.sum()) - float(grand_cost_cny)
    shares = {"equal_split": pd.Series(savings / len(alone), index=alone.index)}
    if (alone >= 0).all() and alone.sum() > 0:
        shares = {"proportional": savings * alone / alone.sum(), **shares}
    return shares


def standalone_split(
    case: Case,
    grand_cost_cny: float,
    *,
    separable: bool = False,
    executor: Executor | Any | None = None,
    cache: str | Path | None = None,
    progress: bool | ProgressCallback = True,
    workers: int | None = None,
    **solve_options: Any,
) -> pd.DataFrame:
    """The savings split by the rules that need only each member's stand-alone cost.

    When the whole game (every coalition) is out of reach, what can be computed exactly
    is each member alone, c({i}) (n small models), and the grand coalition's cost
    ``grand_cost_cny`` (CNY, discounted: a plan of the whole case). The savings
    ``sum c({i}) - c(N)`` are then split by :data:`STANDALONE_RULES`: ``proportional``
    (in proportion to the stand-alone costs; not defined, and left out, unless they are
    all >= 0 with a positive sum) and ``equal_split`` (equal shares of the savings).
    ``separable=True`` also values each coalition of all members but one, c(N minus i)
    (n models each about as hard as the whole case), for :data:`SEPARABLE_RULE`, the
    separable costs remaining benefits (left out where undefined: a member whose
    marginal savings ``c({i}) - c(N) + c(N minus i)`` are below zero).
    No core check is possible without the other coalitions.

    The members are valued by :func:`coalition_values` (same ``executor``, ``cache``,
    ``progress``, ``workers`` and ``solve_options``: with :func:`allocate_savings`'s
    options, the cache serves both). Returns one row per member and rule, as
    :func:`netopt.allocation.savings_report`'s members (member, method,
    standalone_cost, allocated_cost, savings, savings_pct; CNY) with the stand-alone
    solve's ``standalone_bound`` (CNY) and ``standalone_gap``, and for the separable
    rule the cost of the others without the member, ``others_cost`` (CNY), and its
    solve's ``others_gap``; ``attrs["grand_savings_cny"]`` holds the savings split.
    """
    members = list(case.member_ids)
    coalitions = [[m] for m in members]
    if separable and len(members) > 2:
        coalitions += [[m for m in members if m != member] for member in members]
    values = coalition_values(case, coalitions, executor=executor, cache=cache,
                              progress=progress, workers=workers, **solve_options)
    table = values.attrs["records"]
    records = {frozenset(coalition): row for coalition, row
               in zip(table["coalition"], table.to_dict("records"), strict=True)}
    alone = pd.Series({m: float(values[frozenset([m])]) for m in members}, dtype=float)
    savings = float(alone.sum()) - float(grand_cost_cny)
    shares = standalone_shares(alone, grand_cost_cny)
    others: dict[str, dict[str, Any]] = {}
    if separable:
        everyone = frozenset(members)
        others = {m: records[everyone - {m}] for m in members}
        marginal = pd.Series({m: alone[m] - float(grand_cost_cny) + others[m]["cost_cny"]
                              for m in members})
        split = split_by_marginal_savings(savings, marginal.to_numpy())
        if split is not None:
            shares[SEPARABLE_RULE] = pd.Series(split, index=alone.index)
    rows = []
    for method in (*STANDALONE_RULES, SEPARABLE_RULE):
        if method not in shares:
            continue
        for member in members:
            record = records[frozenset([member])]
            saving = float(shares[method][member])
            other = others.get(member, {}) if method == SEPARABLE_RULE else {}
            rows.append({
                "member": member, "method": method, "standalone_cost": alone[member],
                "allocated_cost": alone[member] - saving, "savings": saving,
                "savings_pct": 100.0 * saving / alone[member] if alone[member] else math.nan,
                "standalone_bound": record["bound_cny"], "standalone_gap": record["gap"],
                "others_cost": other.get("cost_cny", math.nan),
                "others_gap": other.get("gap", math.nan),
            })
    table = pd.DataFrame(rows, columns=["member", "method", "standalone_cost",
                                        "allocated_cost", "savings", "savings_pct",
                                        "standalone_bound", "standalone_gap",
                                        "others_cost", "others_gap"])
    table.attrs["grand_savings_cny"] = savings
    return table
