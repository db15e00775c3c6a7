"""Model specs: a TOML file that names a case, the assumptions to change, and solver settings.

A spec is one scenario of a study. It names a case and says what differs from it::

    # high_growth.toml: retirements as the high forecasts have them
    case = "china"                 # relative to this file, or a case under data/
    description = "Supply x2"

    [parameters]                   # any case parameter (netopt schema parameters)
    collection_rate_target = 0.9   # policy targets and switches are parameters too
    single_sourcing = true

    [scale]                        # multipliers of the case's own numbers
    supply = 2.0                   # or per chemistry: supply = { LFP = 1.3, NMC = 0.5 }
    recycling_revenue = 0.8
    outsourcing_cost = 1.5

    [chemistries.LFP]              # set a chemistry's values outright
    max_reuse_share = 0.05

    [candidates]                   # facilities taken out of the case
    drop = ["pt-changsha", "reuse_outlet"]   # facility ids or whole kinds
    keep = ["pt-wuhan", "pt-xian"]           # of each kind named here, only these ids

    [solver]
    time_limit = 300               # seconds (0: none)
    mip_gap = 1e-4
    threads = 1

    [allocation]                   # coalition values and savings split (proven plans)
    enabled = true
    methods = ["shapley", "nucleolus"]
    time_limit = 60                # seconds per coalition solve

Specs are validated the way cases are: every unknown key or bad value is reported at
once as a :class:`netopt.CaseError` whose problems name the spec file and the key
(``scale.supply``, ``parameters.carbon_price``, ...). Facts only the case knows (its
chemistries, its facility ids) are checked when the spec is applied to the case.

:meth:`Spec.apply` returns a changed copy of a case (``Case.replace``); the order is
candidates, then set values (``[parameters]``, ``[chemistries]``), then ``[scale]``.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from netopt.allocation import METHODS
from netopt.case import Case, load_case
from netopt.datasets import data_path
from netopt.errors import CaseError, Problem
from netopt.schema import Attribute, table_schema

#: Records a problem with a spec key: ``bad(key, message)``.
_Bad = Callable[[str, str], None]

#: Top-level keys of a spec and the sections they open.
TOP_KEYS = ("name", "description", "case", "parameters", "scale", "chemistries",
            "candidates", "solver", "allocation")

#: Facility kinds, by the name a spec uses, and the Case table holding them.
FACILITY_KINDS = {
    "collection_point": "collection_points",
    "dismantling_site": "dismantling_sites",
    "recycler": "recyclers",
    "reuse_outlet": "reuse_outlets",
}


@dataclass(frozen=True)
class _Scaling:
    """What one ``[scale]`` key multiplies: (table, column) pairs or parameters."""

    columns: tuple[tuple[str, str], ...] = ()
    parameters: tuple[str, ...] = ()
    by_chemistry: bool = False
    help: str = ""


_TRANSPORT = tuple(name for name in table_schema("parameters")
                   if name.startswith("transport_cost_"))

#: ``[scale]`` keys. Chemistry-wise keys take a number or a table {chemistry: number}.
SCALE_KEYS: dict[str, _Scaling] = {
    "supply": _Scaling((("supply", "tonnes"),), by_chemistry=True,
                       help="tonnes of every source, year (and chemistry)"),
    "recycling_revenue": _Scaling((("chemistries", "recycling_revenue_cny_per_t"),),
                                  by_chemistry=True),
    "reuse_revenue": _Scaling((("chemistries", "reuse_revenue_cny_per_t"),),
                              by_chemistry=True),
    "outsourcing_cost": _Scaling((("chemistries", "outsourcing_cost_cny_per_t"),),
                                 by_chemistry=True),
    "max_reuse_share": _Scaling((("chemistries", "max_reuse_share"),), by_chemistry=True),
    "recycling_emissions": _Scaling((("chemistries", "recycling_emissions_kg_per_t"),),
                                    by_chemistry=True),
    "recycling_fee": _Scaling((("recyclers", "processing_cost_cny_per_t"),)),
    "processing_cost": _Scaling((("dismantling_sites", "processing_cost_cny_per_t"),)),
    "handling_cost": _Scaling((("collection_points", "handling_cost_cny_per_t"),
                               ("reuse_outlets", "handling_cost_cny_per_t"))),
    "capex": _Scaling((("collection_points", "annual_capex_cny"),
                       ("dismantling_levels", "annual_capex_cny"),
                       ("recyclers", "annual_capex_cny"),
                       ("reuse_outlets", "annual_capex_cny"))),
    "fixed_cost": _Scaling((("collection_points", "fixed_cost_cny_per_yr"),
                            ("dismantling_levels", "fixed_cost_cny_per_yr"),
                            ("recyclers", "fixed_cost_cny_per_yr"),
                            ("reuse_outlets", "fixed_cost_cny_per_yr"))),
    "transport_cost": _Scaling(parameters=_TRANSPORT),
    "collection_capacity": _Scaling((("collection_points", "capacity_t_per_yr"),)),
    "site_capacity": _Scaling((("dismantling_levels", "capacity_t_per_yr"),)),
    "recycler_capacity": _Scaling((("recyclers", "capacity_t_per_yr"),)),
    "reuse_capacity": _Scaling((("reuse_outlets", "capacity_t_per_yr"),)),
}

SOLVER_KEYS = ("time_limit", "mip_gap", "threads")
ALLOCATION_KEYS = ("enabled", "methods", "time_limit", "mip_gap")
CANDIDATE_KEYS = ("drop", "keep")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class SolverSettings:
    """``[solver]``: options of :func:`netopt.solve` for the spec's plan.

    ``time_limit`` defaults to 300 s as for ``netopt run`` (``0`` in the file: none);
    ``threads`` to 1, one solve per worker core.
    """

    time_limit: float | None = 300.0
    mip_gap: float = 1e-4
    threads: int | None = 1

    def options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`netopt.solve` for these settings."""
        return {"time_limit": self.time_limit, "mip_gap": self.mip_gap,
                "threads": self.threads}


@dataclass(frozen=True)
class AllocationSettings:
    """``[allocation]``: coalition values and the savings split after a proven plan."""

    enabled: bool = False
    methods: tuple[str, ...] | None = None  # None: every method of netopt.allocation
    time_limit: float | None = None  # seconds per coalition solve
    mip_gap: float | None = None  # None: the solver's mip_gap


@dataclass(frozen=True, eq=False)
class Spec:
    """One validated model spec; :meth:`apply` turns a case into the spec's variant."""

    name: str
    case: Path
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    scale: Mapping[str, Any] = field(default_factory=dict)
    chemistries: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    drop: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()
    solver: SolverSettings = SolverSettings()
    allocation: AllocationSettings = AllocationSettings()
    source: str = "<spec>"  # the file it was read from, for messages
    text: str = field(default="", repr=False)  # the file's text as read
    data: Mapping[str, Any] = field(default_factory=dict, repr=False)  # the parsed TOML

    # --- identity --------------------------------------------------------------------
    def digest(self) -> str:
        """SHA-256 of the spec's content (the parsed TOML: comments and layout aside)."""
        payload = json.dumps(_plain(self.data), sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()

    def solve_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`netopt.solve` for this spec."""
        return self.solver.options()

    # --- cases -----------------------------------------------------------------------
    def load_case(self) -> Case:
        """The case the spec names, as it is on disk (not yet changed)."""
        return load_case(self.case)

    def build_case(self) -> Case:
        """The spec's variant of its case: ``apply(load_case())``."""
        return self.apply(self.load_case())

    def apply(self, case: Case) -> Case:
        """A copy of ``case`` with the spec's overrides; raises CaseError naming keys."""
        problems: list[Problem] = []
        changes: dict[str, Any] = {}

        def table(name: str) -> pd.DataFrame:
            if name not in changes:
                changes[name] = getattr(case, name).copy()
            return changes[name]

        self._apply_candidates(case, table, changes, problems)
        self._apply_chemistries(case, table, problems)
        parameters = dict(case.parameters)
        parameters.update(self.parameters)
        self._apply_scale(case, table, parameters, problems)
        if problems:
            raise CaseError(problems)
        if self.parameters or any(SCALE_KEYS[key].parameters for key in self.scale):
            changes["parameters"] = parameters
        return case.replace(**changes)

    def _problem(self, key: str, message: str) -> Problem:
        return Problem(self.source, None, key, message)

    def _apply_candidates(self, case: Case, table: Callable[[str], pd.DataFrame],
                          changes: dict[str, Any],
                          problems: list[Problem]) -> None:
        if not self.drop and not self.keep:
            return
        kind_of: dict[str, str] = {}
        for kind, name in FACILITY_KINDS.items():
            for fid in getattr(case, name).index:
                kind_of[str(fid)] = kind
        dropped: dict[str, set[str]] = {kind: set() for kind in FACILITY_KINDS}
        for entry in self.drop:
            whole_kind = _kind_name(entry)
            if whole_kind is not None:
                dropped[whole_kind] |= {str(i) for i in
                                        getattr(case, FACILITY_KINDS[whole_kind]).index}
            elif entry in kind_of:
                dropped[kind_of[entry]].add(entry)
            else:
                problems.append(self._problem("candidates.drop", _unknown_facility(
                    entry, kind_of)))
        kept: dict[str, set[str]] = {}
        for entry in self.keep:
            if entry in kind_of:
                kept.setdefault(kind_of[entry], set()).add(entry)
            else:
                problems.append(self._problem("candidates.keep", _unknown_facility(
                    entry, kind_of)))
        for kind, name in FACILITY_KINDS.items():
            frame = getattr(case, name)
            ids = frame.index.astype(str)
            mask = ~ids.isin(dropped[kind])
            if kind in kept:
                mask &= ids.isin(kept[kind])
            if mask.all():
                continue
            changes[name] = table(name)[mask]
            if kind == "dismantling_site":
                levels = table("dismantling_levels")
                gone = levels["dismantling_site_id"].astype(str).isin(ids[~mask])
                changes["dismantling_levels"] = levels[~gone].reset_index(drop=True)

    def _apply_chemistries(self, case: Case, table: Callable[[str], pd.DataFrame],
                           problems: list[Problem]) -> None:
        for chemistry, values in self.chemistries.items():
            if chemistry not in case.chemistries.index:
                problems.append(self._problem(
                    f"chemistries.{chemistry}",
                    f"unknown chemistry '{chemistry}' (the case has "
                    f"{', '.join(map(str, case.chemistries.index))})"))
                continue
            frame = table("chemistries")
            for column, value in values.items():
                frame.loc[chemistry, column] = float(value)

    def _apply_scale(self, case: Case, table: Callable[[str], pd.DataFrame],
                     parameters: dict[str, Any],
                     problems: list[Problem]) -> None:
        for key, factor in self.scale.items():
            how = SCALE_KEYS[key]
            if isinstance(factor, Mapping):
                unknown = [c for c in factor if c not in case.chemistries.index]
                for chemistry in unknown:
                    problems.append(self._problem(
                        f"scale.{key}.{chemistry}",
                        f"unknown chemistry '{chemistry}' (the case has "
                        f"{', '.join(map(str, case.chemistries.index))})"))
                if unknown:
                    continue
            for name, column in how.columns:
                frame = table(name)
                if not len(frame):
                    continue
                values = frame[column].astype(float)
                if not isinstance(factor, Mapping):
                    frame[column] = values * float(factor)
                elif name == "chemistries":
                    multiplier = pd.Series(
                        [float(factor.get(c, 1.0)) for c in frame.index], index=frame.index)
                    frame[column] = values * multiplier
                else:  # supply rows carry their chemistry
                    multiplier = frame["chemistry"].map(dict(factor)).astype(float)
                    frame[column] = values * multiplier.fillna(1.0)
                limit = table_schema(name)[column].max
                if limit is not None:
                    for fid, value in frame[column].items():
                        if value > limit + 1e-12:
                            problems.append(self._problem(
                                f"scale.{key}",
                                f"gives {column} {value:g} for '{fid}' (must be <= {limit:g})"))
            for name in how.parameters:
                parameters[name] = float(parameters[name]) * float(factor)


# --- reading --------------------------------------------------------------------------------

def load_spec(path: str | Path) -> Spec:
    """Read and validate one spec file; raises CaseError naming the file and each bad key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CaseError(Problem(str(path), None, None, "spec file not found")) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseError(Problem(str(path), None, None, f"cannot read the spec ({exc})")) \
            from None
    return parse_spec(text, source=str(path), base_dir=path.parent, default_name=path.stem)


def parse_spec(text: str, *, source: str = "<spec>", base_dir: str | Path | None = None,
               default_name: str = "spec") -> Spec:
    """Validate the text of a spec; ``base_dir`` is where a relative ``case`` is looked up."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CaseError(Problem(source, None, None, f"not valid TOML: {exc}")) from None
    problems: list[Problem] = []

    def bad(key: str, message: str) -> None:
        problems.append(Problem(source, None, key, message))

    for key in data:
        if key not in TOP_KEYS:
            bad(key, _unknown("key", key, TOP_KEYS))

    name = data.get("name", default_name)
    if not isinstance(name, str) or not _NAME.match(name):
        bad("name", f"must be a name of letters, digits, '_', '-' or '.' (got {name!r})")
    description = data.get("description", "")
    if not isinstance(description, str):
        bad("description", f"must be text (got {description!r})")

    case_path = None
    if "case" not in data:
        bad("case", "is required: the case to start from (a path, or a case under data/)")
    elif not isinstance(data["case"], str) or not data["case"].strip():
        bad("case", f"must be a path or an embedded case name (got {data['case']!r})")
    else:
        case_path = _resolve_case(data["case"], base_dir)
        if case_path is None:
            bad("case", f"case '{data['case']}' not found (looked beside the spec and "
                        "under data/)")

    parameters = _check_parameters(_section(data, "parameters", bad), bad)
    scale = _check_scale(_section(data, "scale", bad), bad)
    chemistries = _check_chemistries(_section(data, "chemistries", bad), bad)
    drop, keep = _check_candidates(_section(data, "candidates", bad), bad)
    solver = _check_solver(_section(data, "solver", bad), bad)
    allocation = _check_allocation(_section(data, "allocation", bad), bad)
    if problems:
        raise CaseError(problems)
    assert case_path is not None  # a missing or unknown case is a problem, raised above
    return Spec(
        name=name, case=case_path, description=description,
        parameters=parameters, scale=scale, chemistries=chemistries, drop=drop, keep=keep,
        solver=solver, allocation=allocation, source=source, text=text, data=data,
    )


def find_specs(paths: Iterable[str | Path]) -> list[Path]:
    """Spec files among ``paths``: files as given, folders' ``*.toml`` (sorted, not nested)."""
    found: list[Path] = []
    problems: list[Problem] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            files = sorted(p for p in path.glob("*.toml") if p.is_file())
            if not files:
                problems.append(Problem(str(path), None, None, "no spec (*.toml) in this folder"))
            found.extend(files)
        elif path.is_file():
            found.append(path)
        else:
            problems.append(Problem(str(path), None, None, "spec file or folder not found"))
    if problems:
        raise CaseError(problems)
    return list(dict.fromkeys(found))


def load_specs(paths: Iterable[str | Path | Spec]) -> list[Spec]:
    """Every spec named by ``paths`` (files, folders or Spec objects), all problems at once.

    Two specs with the same name would write the same result folder: that is a problem too.
    """
    specs: list[Spec] = []
    files: list[str | Path] = []
    for item in paths:
        if isinstance(item, Spec):
            specs.append(item)
        else:
            files.append(item)
    problems: list[Problem] = []
    for path in find_specs(files) if files else []:
        try:
            specs.append(load_spec(path))
        except CaseError as exc:
            problems.extend(exc.problems)
    seen: dict[str, str] = {}
    for spec in specs:
        if spec.name in seen:
            problems.append(Problem(spec.source, None, "name",
                                    f"spec name '{spec.name}' is also the name of "
                                    f"{seen[spec.name]} (each spec needs its own name)"))
        else:
            seen[spec.name] = spec.source
    if problems:
        raise CaseError(problems)
    return specs


# --- checks --------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


def _unknown(what: str, key: str, known: Iterable[str]) -> str:
    known = list(known)
    hint = difflib.get_close_matches(str(key), known, n=1)
    suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
    return f"unknown {what}{suggestion} (known: {', '.join(known)})" if len(known) <= 20 \
        else f"unknown {what}{suggestion}"


def _kind_name(entry: str) -> str | None:
    singular = entry[:-1] if entry.endswith("s") else entry
    return singular if singular in FACILITY_KINDS else None


def _unknown_facility(entry: str, kind_of: Mapping[str, str]) -> str:
    hint = difflib.get_close_matches(entry, list(kind_of), n=1)
    suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
    return (f"no facility '{entry}' in the case{suggestion} (give facility ids, or kinds: "
            f"{', '.join(FACILITY_KINDS)})")


def _resolve_case(text: str, base_dir: str | Path | None) -> Path | None:
    path = Path(text).expanduser()
    if path.is_absolute():
        return path if path.exists() else None
    if base_dir is not None and (Path(base_dir) / path).exists():
        return (Path(base_dir) / path).resolve()

    try:
        return data_path(text).resolve()
    except FileNotFoundError:
        return None


def _section(data: Mapping[str, Any], key: str, bad: _Bad) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        bad(key, f"must be a table ([{key}]), got {value!r}")
        return {}
    return dict(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_value(key: str, value: Any, attribute: Attribute, bad: _Bad) -> Any:
    """A TOML value checked against a schema attribute; returns it typed (or None)."""
    if attribute.type == "bool":
        if not isinstance(value, bool):
            bad(key, f"must be true or false (got {value!r})")
            return None
        return value
    if attribute.choices:
        if value not in attribute.choices:
            bad(key, f"must be one of {', '.join(attribute.choices)} (got {value!r})")
            return None
        return value
    if attribute.type not in ("float", "int"):
        bad(key, "cannot be set by a spec")
        return None
    if not _is_number(value):
        bad(key, f"must be a number (got {value!r})")
        return None
    if math.isnan(value):
        bad(key, "must be a number (got nan)")
        return None
    if math.isinf(value) and not (isinstance(attribute.default, float)
                                  and math.isinf(attribute.default)):
        bad(key, f"must be finite (got {value})")
        return None
    if attribute.type == "int":
        if not float(value).is_integer():
            bad(key, f"must be a whole number (got {value})")
            return None
        value = int(value)
    else:
        value = float(value)
    if attribute.min is not None and value < attribute.min:
        bad(key, f"must be >= {attribute.min:g} (got {value:g})")
        return None
    if attribute.max is not None and value > attribute.max:
        bad(key, f"must be <= {attribute.max:g} (got {value:g})")
        return None
    return value


def _check_parameters(section: dict[str, Any], bad: _Bad) -> dict[str, Any]:
    schema = table_schema("parameters")
    checked: dict[str, Any] = {}
    for key, value in section.items():
        if key not in schema:
            hint = difflib.get_close_matches(key, list(schema), n=1)
            suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
            bad(f"parameters.{key}", f"unknown parameter{suggestion} (see: netopt schema "
                                     "parameters)")
            continue
        typed = _check_value(f"parameters.{key}", value, schema[key], bad)
        if typed is not None:
            checked[key] = typed
    return checked


def _factor(key: str, value: Any, bad: _Bad) -> float | None:
    if not _is_number(value) or not math.isfinite(value) or value < 0:
        bad(key, f"must be a finite number >= 0 (a multiplier; got {value!r})")
        return None
    return float(value)


def _check_scale(section: dict[str, Any], bad: _Bad) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for key, value in section.items():
        if key not in SCALE_KEYS:
            bad(f"scale.{key}", _unknown("multiplier", key, SCALE_KEYS))
            continue
        if isinstance(value, Mapping):
            if not SCALE_KEYS[key].by_chemistry:
                per = ", ".join(k for k, how in SCALE_KEYS.items() if how.by_chemistry)
                bad(f"scale.{key}", f"must be one number (only {per} take a value per "
                                    "chemistry)")
                continue
            factors = {}
            for chemistry, factor in value.items():
                number = _factor(f"scale.{key}.{chemistry}", factor, bad)
                if number is not None:
                    factors[str(chemistry)] = number
            if len(factors) == len(value):
                checked[key] = factors
            continue
        number = _factor(f"scale.{key}", value, bad)
        if number is not None:
            checked[key] = number
    return checked


def _check_chemistries(section: dict[str, Any], bad: _Bad) -> dict[str, Any]:
    schema = {name: a for name, a in table_schema("chemistries").items() if a.type != "id"}
    checked: dict[str, Any] = {}
    for chemistry, values in section.items():
        if not isinstance(values, Mapping):
            bad(f"chemistries.{chemistry}", f"must be a table ([chemistries.{chemistry}]) "
                                            f"of column = value (got {values!r})")
            continue
        row = {}
        for column, value in values.items():
            key = f"chemistries.{chemistry}.{column}"
            if column not in schema:
                bad(key, _unknown("column of chemistries", column, schema))
                continue
            typed = _check_value(key, value, schema[column], bad)
            if typed is not None:
                row[column] = typed
        checked[str(chemistry)] = row
    return checked


def _check_candidates(section: dict[str, Any],
                      bad: _Bad) -> tuple[tuple[str, ...], tuple[str, ...]]:
    lists: dict[str, tuple[str, ...]] = {"drop": (), "keep": ()}
    for key, value in section.items():
        if key not in CANDIDATE_KEYS:
            bad(f"candidates.{key}", _unknown("key", key, CANDIDATE_KEYS))
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            bad(f"candidates.{key}", f"must be a list of facility ids (got {value!r})")
            continue
        if key == "keep":
            kinds = [v for v in value if _kind_name(v) is not None]
            if kinds:
                bad("candidates.keep", f"takes facility ids, not kinds ({', '.join(kinds)}): "
                                       "a kind not named in keep is kept whole")
                continue
        lists[key] = tuple(value)
    return lists["drop"], lists["keep"]


def _seconds(key: str, value: Any, bad: _Bad) -> float | None | bool:
    """Seconds >= 0 (0: no limit -> None); False when the value is bad."""
    if not _is_number(value) or math.isnan(value) or value < 0:
        bad(key, f"must be a number of seconds >= 0 (0: no limit; got {value!r})")
        return False
    return None if value == 0 or math.isinf(value) else float(value)


def _gap(key: str, value: Any, bad: _Bad) -> float | None:
    if not _is_number(value) or not 0 <= value < 1:
        bad(key, f"must be a relative gap in [0, 1) (got {value!r})")
        return None
    return float(value)


def _check_solver(section: dict[str, Any], bad: _Bad) -> SolverSettings:
    settings: dict[str, Any] = {}
    for key, value in section.items():
        full = f"solver.{key}"
        if key not in SOLVER_KEYS:
            bad(full, _unknown("solver setting", key, SOLVER_KEYS))
        elif key == "time_limit":
            seconds = _seconds(full, value, bad)
            if seconds is not False:
                settings["time_limit"] = seconds
        elif key == "mip_gap":
            gap = _gap(full, value, bad)
            if gap is not None:
                settings["mip_gap"] = gap
        elif not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            bad(full, f"must be a whole number >= 1 (got {value!r})")
        else:
            settings["threads"] = value
    return SolverSettings(**settings)


def _check_allocation(section: dict[str, Any], bad: _Bad) -> AllocationSettings:
    settings: dict[str, Any] = {}
    for key, value in section.items():
        full = f"allocation.{key}"
        if key not in ALLOCATION_KEYS:
            bad(full, _unknown("allocation setting", key, ALLOCATION_KEYS))
        elif key == "enabled":
            if isinstance(value, bool):
                settings["enabled"] = value
            else:
                bad(full, f"must be true or false (got {value!r})")
        elif key == "methods":
            if not isinstance(value, list) or not value or not all(
                    isinstance(v, str) for v in value):
                bad(full, f"must be a list of methods ({', '.join(METHODS)}); got {value!r}")
                continue
            unknown = [v for v in value if v not in METHODS]
            if unknown:
                bad(full, f"unknown method(s) {', '.join(unknown)} (known: "
                          f"{', '.join(METHODS)})")
            else:
                settings["methods"] = tuple(dict.fromkeys(value))
        elif key == "time_limit":
            seconds = _seconds(full, value, bad)
            if seconds is not False:
                settings["time_limit"] = seconds
        else:
            gap = _gap(full, value, bad)
            if gap is not None:
                settings["mip_gap"] = gap
    return AllocationSettings(**settings)
