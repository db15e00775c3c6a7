r"""The network-design MIP in pyomo, built in named groups a planner can read.

Formulation (all sums over the arcs that exist; t years, p products, c chemistries)::

    min  sum_t delta_t [ sum_f (capex_f + fixed_f) open[f,t]                       (opening, fixed)
                       + sum_{k,l} (capex_kl + fixed_kl) site_level[k,l,t]
                       + sum_arcs (handling/processing at the head) x[a,p,t]         (handling)
                       + sum_arcs rate_leg * m_p * km_a * x[a,p,t]                 (transport)
                       + sum_{i,p} outsourcing_c * outsourced[i,p,t]               (outsourcing)
                       + price_CO2 * emissions_t                                   (carbon)
                       - sum revenue_c x[a,p,t] into recyclers and reuse outlets ] (revenue)

    A source ships its packs as they come (its mix of chemistries and conditions): the
    first leg carries shares y[i,d,t] in [0, 1] of source i's packs of year t, so the
    product p reaching d is s[i,p,t] y[i,d,t]; later legs carry each product apart.

    supply[i,t]              sum_d y[i,d,t] + outsourced_share[i,t] = 1 (0: not in coalition)
    collection_balance[j,p,t] sum_i s[i,p,t] y[i,j,t] = sum_k x[j,k,p,t] + out_j[j,p,t]
    site_balance[k,p,t]       inflow[k,p,t] = sum_r x[k,r,p,t] + sum_u x[k,u,p,t]
    collection_capacity[j,t]  sum_i S[i,t] y[i,j,t] <= cap_j open[j,t]
    collection_link[i,j,t]    y[i,j,t] <= open[j,t]                  (strong linking)
    site_link_collection[j,k,t] sum_p x[j,k,p,t]
                              <= min(cap_j, max_l cap_kl, R_jt) sum_l level[k,l,t]
    site_capacity[k,t]        sum_p inflow[k,p,t] <= sum_l min(cap_kl, R_kt) site_level[k,l,t]
                              (R_jt, R_kt: the supply of year t of the sources that can
                              reach point j or site k; nothing more can arrive, and early
                              on it is far less than a module: a much tighter relaxation)
    site_one_level[k,t]       sum_l site_level[k,l,t] <= 1
    site_no_shrink[k,t]       capacity in t >= capacity in t-1
    sites sized by the tonne (parameter site_capacity = continuous), instead of levels:
    site_size_min/max[k,t]    cmin_k open[k,t] <= size[k,t] <= cmax_k open[k,t]
    site_capacity[k,t]        sum_p inflow[k,p,t] <= size[k,t]
    site_reach_open[k,t]      sum_p inflow[k,p,t] <= min(cmax_k, R_kt) open[k,t]
    site_no_shrink[k,t]       size[k,t] >= size[k,t-1];  site_stays_open[k,t]
                              (cost a_k open[k,t] + b_k size[k,t], the line through the
                              site's smallest and largest level: NetworkData.site_sizing)
    collection_cover[t]       sum_j cap_j open[j,t] (+ capacity of sites sources ship to
                              direct) >= sum_i S[i,t]; only without outsourcing (implied
                              by the rows above, but it lets HiGHS derive cover cuts)
    recycler_capacity[r,t], reuse_capacity[u,t], recycler_min_contract[r,t]
    reuse_share[k,c,t]        sum_u x[k,u,c,t] <= share_c * inflow[k,c,t]
    *_stays_open[f,t]         open[f,t] >= open[f,t-1]
    collection_rate[t]        outsourced tonnes in t <= (1 - target) * supply_t
    emissions_cap[t], opening_budget
    single sourcing:          y and outsourced_share binary

Symbol to pyomo component: open[j,t] -> ``open_collection_point``, site_level ->
``site_level``, open[k,t] and size[k,t] (sized by the tonne) -> ``site_open`` and
``site_size``, open[r,t] -> ``open_recycler``, open[u,t] -> ``open_reuse_outlet``,
y -> ``ship_<leg>``, x -> ``flow_<leg>``, outsourced_share -> ``outsourced_share``,
out_j -> ``outsourced_at_collection``, delta_t -> ``data.discount``.

The elastic variant (``elastic=True``) adds penalised slack to every group that can make
a case infeasible; :mod:`netopt.model.explain` reads it back to say what must give.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from netopt.case import Case
from netopt.model.network import NetworkData, Product, SiteSizing, prepare
from netopt.plan import LEG_ENDS

#: Penalty (CNY per unit of slack) of the elastic model: large against any real cost.
ELASTIC_PENALTY = 1e9

#: Relative weight of each group's slack in the elastic model: tonnes and tCO2e weigh 1,
#: money 1e-3 per CNY (a tonne of capacity against about a thousand CNY of budget), and
#: unserved supply 1,000 per tonne: blame a short capacity, a tight cap or target before
#: the supply that cannot be served (a tonne moved 1,000 km emits about 0.1 tCO2e).
SLACK_WEIGHT = {"supply": 1000.0, "opening_budget": 1e-3}

FLOW_LEGS = tuple(LEG_ENDS)  # the Plan's legs: source_collection, ..., site_reuse
FIRST_LEGS = ("source_collection", "source_site")  # a source's whole mix, as shares
LATER_LEGS = ("collection_site", "site_recycler", "site_reuse")  # product by product


@dataclass
class NetworkModel:
    """A built model: the pyomo block, the data it came from, and cost expressions.

    ``cost_terms`` maps (category, member, year) to lists of (coefficient, var) pairs and
    ``cost_constants`` to constants, so that the Plan's cost table sums to the objective.
    """

    data: NetworkData
    model: pyo.ConcreteModel
    elastic: bool = False
    # (coefficient, pyomo variable) pairs: pyomo's components carry no types
    cost_terms: dict[tuple[str, str, int], list[tuple[float, Any]]] = field(
        default_factory=dict
    )
    slacks: dict[str, Any] = field(default_factory=dict)
    emission_terms: dict[int, list[tuple[float, Any]]] = field(default_factory=dict)
    existing_vars: set[int] = field(default_factory=set)  # ids of vars with lb 1 (existing)
    source_mix: dict[tuple[str, int], dict[str, float]] = field(default_factory=dict)
    interrupted: bool = False  # the user stopped a solve of this model (Ctrl-C)
    #: the most a solve of this model has spent outside HiGHS's own clock (seconds):
    #: handing over a starting plan and reading the values back, which a time limit
    #: given to HiGHS leaves out
    solve_overhead_s: float = 0.0

    @property
    def case(self) -> Case:
        """The case the model was built from."""
        return self.data.case


def _owners(table) -> dict[str, str]:
    """Member owning each row of a facility/source table ("outside" for a third party)."""
    return {k: (v if v else "outside") for k, v in table["member_id"].items()}


def linear_sum(variables, coefficients=None):
    """A pyomo linear expression built in one step (much faster than sum() for long lists)."""
    variables = list(variables)
    if coefficients is None:
        coefficients = [1.0] * len(variables)
    if not variables:
        return 0.0
    return LinearExpression(constant=0.0, linear_coefs=list(coefficients),
                            linear_vars=variables)


def build_model(case: Case | NetworkData, *, elastic: bool = False) -> NetworkModel:
    """Build the MIP of ``case`` (or of prepared :class:`NetworkData`).

    One builder per family of variables or rows, called in the order the model's
    components are constructed (which fixes the order of the rows in an LP file).
    """
    b = _Build(case if isinstance(case, NetworkData) else prepare(case), elastic)
    _index_supply(b)
    _index_shipments(b)
    _index_flows(b)
    _create_facility_vars(b)
    _create_site_vars(b)
    _create_flow_vars(b)
    _index_adjacency(b)
    _create_supply(b)
    _create_collection(b)
    if b.has_sites:
        _create_site_sizing(b)
        _create_site_capacity(b)
        _create_site_links(b)
        if b.downstream:
            _create_site_balance(b)
    _create_collection_cover(b)
    if b.downstream:
        _create_downstream_capacity(b)
        _create_recycler_min_contract(b)
    _add_shipment_costs(b)
    _add_flow_costs(b)
    _add_outsourcing_costs(b)
    _add_facility_costs(b)
    _create_collection_rate(b)
    _create_emissions_cap(b)
    _create_opening_budget(b)
    _create_objective(b)
    return b.nm


#: A (coefficient, pyomo variable) term of a linear expression.
Term = tuple[float, Any]


def _terms_sum(terms: list[Term], sign: float = 1.0) -> Any:
    """The linear expression sum of ``sign * coefficient * variable`` over ``terms``."""
    return linear_sum([v for _c, v in terms], [sign * c for c, _v in terms])


@dataclass
class _Build:
    """What the family builders share: the model being built, its data and elastic flag,
    and the indices, adjacency and cost terms that earlier builders fill in for later
    ones (``build_model`` calls them in the model's construction order)."""

    data: NetworkData
    elastic: bool
    # set from the data (__post_init__)
    nm: NetworkModel = field(init=False)
    m: Any = field(init=False)  # the pyo.ConcreteModel
    case: Case = field(init=False)
    par: dict[str, Any] = field(init=False)
    years: list[int] = field(init=False)
    prev: dict[int, int] = field(init=False)  # year -> the year before
    sources: pd.DataFrame = field(init=False)
    cps: pd.DataFrame = field(init=False)
    sites: pd.DataFrame = field(init=False)
    recyclers: pd.DataFrame = field(init=False)
    outlets: pd.DataFrame = field(init=False)
    products: dict[str, Product] = field(init=False)
    chem_of: dict[str, str] = field(init=False)  # product -> chemistry
    has_sites: bool = field(init=False)
    downstream: bool = field(init=False)  # sites send on to recyclers and reuse outlets
    continuous: bool = field(init=False)  # sites sized by the tonne
    single: bool = field(init=False)  # single sourcing: binary shares
    outsourcing_allowed: bool = field(init=False)
    cap_j: dict[str, float] = field(init=False)  # collection point -> t/yr
    sizing: dict[str, SiteSizing] = field(init=False)  # sized by the tonne only
    # supply and arcs (_index_supply, _index_shipments, _index_flows)
    source_total: defaultdict[tuple[str, int], float] = field(
        default_factory=lambda: defaultdict(float))
    source_mix: defaultdict[tuple[str, int], dict[str, float]] = field(
        default_factory=lambda: defaultdict(dict))
    source_years: list[tuple[str, int]] = field(default_factory=list)
    ship_index: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)
    flow_index: dict[str, list[tuple[str, str, str, int]]] = field(default_factory=dict)
    # variables (_create_*_vars)
    existing_vars: set[int] = field(default_factory=set)
    ship: dict[str, Any] = field(default_factory=dict)  # first leg -> share var
    flow: dict[str, Any] = field(default_factory=dict)  # later leg -> flow var
    at_collection: list[tuple[str, str, int]] = field(default_factory=list)
    # adjacency (_index_adjacency): by (node, product, year), (node, year), (source, year)
    out_terms: defaultdict[tuple[str, str, int], list[Term]] = field(
        default_factory=lambda: defaultdict(list))
    in_terms: defaultdict[tuple[str, str, int], list[Term]] = field(
        default_factory=lambda: defaultdict(list))
    in_total: defaultdict[tuple[str, int], list[Term]] = field(
        default_factory=lambda: defaultdict(list))
    ships_of: defaultdict[tuple[str, int], list[Any]] = field(
        default_factory=lambda: defaultdict(list))
    # dismantling sites (_create_site_sizing): site -> [(level, t/yr)], largest t/yr
    by_site: defaultdict[str, list[tuple[str, float]]] = field(
        default_factory=lambda: defaultdict(list))
    max_level: dict[str, float] = field(default_factory=dict)
    # costs (_add_*_costs): (category, member, year) -> terms; year -> tCO2e terms
    terms: defaultdict[tuple[str, str, int], list[Term]] = field(
        default_factory=lambda: defaultdict(list))
    emissions: defaultdict[int, list[Term]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        data = self.data
        case = self.case = data.case
        self.par = data.parameters
        self.m = pyo.ConcreteModel(name=f"netopt[{case.name}]")
        self.nm = NetworkModel(data=data, model=self.m, elastic=self.elastic)
        self.years = data.years
        self.prev = {t: t - 1 for t in self.years[1:]}
        self.sources = case.sources
        self.cps, self.sites, self.recyclers, self.outlets = (
            case.collection_points, case.dismantling_sites, case.recyclers, case.reuse_outlets,
        )
        self.products = data.products
        self.chem_of = {pid: prod.chemistry for pid, prod in self.products.items()}
        self.has_sites = len(self.sites) > 0
        self.downstream = self.has_sites and not data.site_is_sink
        self.continuous = data.continuous_sites
        self.single = bool(self.par["single_sourcing"])
        self.outsourcing_allowed = bool(self.par["allow_outsourcing"])
        self.cap_j = self.cps["capacity_t_per_yr"].to_dict()
        self.sizing = data.site_sizing() if self.continuous else {}

    @cached_property
    def owners(self) -> dict[int, dict[str, str]]:
        """Owner of each row, by id() of the source and facility tables."""
        return {id(t): _owners(t) for t in (self.sources, self.cps, self.sites,
                                            self.recyclers, self.outlets)}

    def owner(self, table: pd.DataFrame, fid: str) -> str:
        """Member owning row ``fid`` of ``table`` ("outside" for a third party)."""
        return self.owners[id(table)][fid]

    def slack(self, name: str, index: list) -> Any:
        """The elastic model's slack ``slack_<name>`` over ``index`` (None if not elastic)."""
        if not self.elastic:
            return None
        var = pyo.Var(index, within=pyo.NonNegativeReals, dense=True)
        self.m.add_component(f"slack_{name}", var)
        self.nm.slacks[name] = var
        return var

    def site_cap_expr(self, k: str, t: int, at_most: float = math.inf) -> Any:
        """Site k's capacity in year t (t/yr): its size, or each level's counted up to
        ``at_most``."""
        if self.continuous:
            return self.m.site_size[k, t]
        return linear_sum([self.m.site_level[k, lv, t] for lv, _c in self.by_site[k]],
                          [min(cap, at_most) for _lv, cap in self.by_site[k]])

    def site_open_terms(self, k: str, t: int) -> list[Term]:
        """(coefficient, variable) terms summing to 1 if site k is open in year t (at one
        of its levels)."""
        if self.continuous:
            return [(1.0, self.m.site_open[k, t])]
        return [(1.0, self.m.site_level[k, lv, t]) for lv, _c in self.by_site[k]]

    def facility_years(self, table: pd.DataFrame, years: list[int] | None = None,
                       ) -> list[tuple[str, int]]:
        """Every (facility, year) of ``table`` (over ``years``, default all)."""
        return [(f, t) for f in table.index for t in (self.years if years is None else years)]


# --- indices (first: a facility no flow can reach is closed) ------------------------------

def _index_supply(b: _Build) -> None:
    """Each source's supply by year: its tonnes S[i,t] and mix s[i,p,t] (no rows)."""
    for (i, p, t), tonnes in b.data.supply.items():
        if tonnes > 0:
            b.source_total[(i, t)] += tonnes
            b.source_mix[(i, t)][p] = tonnes
    b.source_years = sorted(b.source_total)


def _index_shipments(b: _Build) -> None:
    """The index (i, d, t) of y on each first leg (no rows).

    A source ships its packs as they come (its mix of chemistries and conditions) to a
    destination: one share variable per (source, destination, year), used only on arcs
    every product of the source may take.
    """
    heads = {"source_collection": b.cps, "source_site": b.sites}
    for leg in FIRST_LEGS:
        frame = b.data.arcs[leg]
        allowed = b.data.arc_products[leg]
        by_origin: dict[str, list[str]] = defaultdict(list)
        for origin, destination in zip(frame["origin"], frame["destination"]):
            by_origin[origin].append(destination)
        # each source's destinations in the order of their table, not of distance: the
        # textbook's order, which HiGHS searches faster (BENCHMARKS.md, 'OR-Library capa,
        # capb, capc against the textbook strong formulation')
        position = {d: n for n, d in enumerate(heads[leg].index)}
        for destinations in by_origin.values():
            destinations.sort(key=lambda d: position.get(d, len(position)))
        index = []
        for (i, t) in b.source_years:
            for d in by_origin.get(i, []):
                if all(p in allowed[(i, d)] for p in b.source_mix[(i, t)]):
                    index.append((i, d, t))
        b.ship_index[leg] = index


def _index_flows(b: _Build) -> None:
    """The index (origin, destination, p, t) of x on each later leg, product by product
    (no rows)."""
    for leg in LATER_LEGS:
        index = []
        frame = b.data.arcs[leg]
        allowed = b.data.arc_products[leg]
        for origin, destination in zip(frame["origin"], frame["destination"]):
            for pid in allowed[(origin, destination)]:
                for t in b.years:
                    index.append((origin, destination, pid, t))
        b.flow_index[leg] = index


# --- variables ----------------------------------------------------------------------------

def _facility_var(b: _Build, name: str, table: pd.DataFrame, used: bool,
                  reached: set[str]) -> None:
    """The binary open[f,t] ``name`` of the facilities of ``table`` (empty if not
    ``used``): fixed if no arc reaches f, at least 1 if f exists."""
    index = b.facility_years(table) if used else []
    var = pyo.Var(index, within=pyo.Binary, dense=True)
    b.m.add_component(name, var)
    existing = table["existing"] if "existing" in table.columns else None
    for f in table.index:
        is_existing = existing is not None and bool(existing[f])
        if not used:
            continue
        if str(f) not in reached:
            # no arc reaches it: it can only be open because it exists
            for t in b.years:
                var[f, t].fix(1 if is_existing else 0)
                if is_existing:
                    b.existing_vars.add(id(var[f, t]))
            continue
        if is_existing:
            for t in b.years:
                # a bound, not fix(): a coalition solve may close it (owner absent)
                var[f, t].setlb(1)
                b.existing_vars.add(id(var[f, t]))


def _create_facility_vars(b: _Build) -> None:
    """open[j,t] -> ``open_collection_point``, open[r,t] -> ``open_recycler``,
    open[u,t] -> ``open_reuse_outlet`` (no rows)."""
    reached = {str(d) for index in b.ship_index.values() for _i, d, _t in index}
    reached |= {str(d) for index in b.flow_index.values() for _o, d, _p, _t in index}
    _facility_var(b, "open_collection_point", b.cps, True, reached)
    _facility_var(b, "open_recycler", b.recyclers, b.downstream, reached)
    _facility_var(b, "open_reuse_outlet", b.outlets, b.downstream, reached)


def _create_site_vars(b: _Build) -> None:
    """level[k,l,t] -> ``site_level`` (in modules); open[k,t] -> ``site_open`` and
    size[k,t] -> ``site_size`` (by the tonne) (no rows)."""
    levels = b.data.levels
    level_keys = list(zip(levels["dismantling_site_id"], levels["level"]))
    b.m.site_level = pyo.Var(
        [] if b.continuous else [(k, lv, t) for (k, lv) in level_keys for t in b.years],
        within=pyo.Binary, dense=True)
    site_years_continuous = [(k, t) for k in b.sizing for t in b.years]
    b.m.site_open = pyo.Var(site_years_continuous, within=pyo.Binary, dense=True)
    b.m.site_size = pyo.Var(site_years_continuous, within=pyo.NonNegativeReals, dense=True)


def _create_flow_vars(b: _Build) -> None:
    """Shares y -> ``ship_<leg>``, flows x -> ``flow_<leg>``, outsourced_share ->
    ``outsourced_share``, out_j -> ``outsourced_at_collection`` (no rows)."""
    m = b.m
    share_domain = pyo.Binary if b.single else pyo.UnitInterval
    for leg in FIRST_LEGS:
        m.add_component(f"ship_{leg}", pyo.Var(b.ship_index[leg], within=share_domain,
                                               dense=True))
    b.ship = {leg: getattr(m, f"ship_{leg}") for leg in FIRST_LEGS}
    for leg in LATER_LEGS:
        m.add_component(f"flow_{leg}",
                        pyo.Var(b.flow_index[leg], within=pyo.NonNegativeReals, dense=True))
    b.flow = {leg: getattr(m, f"flow_{leg}") for leg in LATER_LEGS}
    m.outsourced_share = pyo.Var(b.source_years if b.outsourcing_allowed else [],
                                 within=share_domain, dense=True)
    # packs a collection point cannot send on (e.g. damaged packs beyond every site's
    # distance limit) go to licensed third parties from there
    b.at_collection = [(j, p, t) for j in b.cps.index for p in b.products for t in b.years] \
        if b.outsourcing_allowed and not b.data.collection_is_sink else []
    m.outsourced_at_collection = pyo.Var(b.at_collection, within=pyo.NonNegativeReals,
                                         dense=True)


def _index_adjacency(b: _Build) -> None:
    """Each node's inflow and outflow as (coefficient, variable) terms, built once for
    every group of rows (no rows)."""
    for leg in FIRST_LEGS:
        var = b.ship[leg]
        for i, d, t in b.ship_index[leg]:
            v = var[i, d, t]
            b.ships_of[(i, t)].append(v)
            b.in_total[(d, t)].append((b.source_total[(i, t)], v))
            for p, tonnes in b.source_mix[(i, t)].items():
                b.in_terms[(d, p, t)].append((tonnes, v))
    for leg in LATER_LEGS:
        var = b.flow[leg]
        for key in b.flow_index[leg]:
            origin, destination, pid, t = key
            v = var[key]
            b.out_terms[(origin, pid, t)].append((1.0, v))
            b.in_terms[(destination, pid, t)].append((1.0, v))
            b.in_total[(destination, t)].append((1.0, v))
    for (j, p, t) in b.at_collection:
        b.out_terms[(j, p, t)].append((1.0, b.m.outsourced_at_collection[j, p, t]))


# --- rows: supply and collection -------------------------------------------------------------

def _create_supply(b: _Build) -> None:
    """supply[i,t] -> ``supply`` (slack ``slack_supply``, in tonnes), over the mutable
    parameter ``source_active``.

    Every source's packs are shipped or outsourced. ``source_active`` (1 or 0) lets a
    coalition solve switch non-members' sources off without rebuilding the model.
    """
    m = b.m
    unserved = b.slack("supply", b.source_years)  # in tonnes
    m.source_active = pyo.Param(b.source_years, initialize=1.0, mutable=True,
                                within=pyo.Reals)

    def supply_rule(_, i, t):
        variables = list(b.ships_of.get((i, t), []))
        coefficients = [1.0] * len(variables)
        if b.outsourcing_allowed:
            variables.append(m.outsourced_share[i, t])
            coefficients.append(1.0)
        if unserved is not None:
            variables.append(unserved[i, t])
            coefficients.append(1.0 / b.source_total[(i, t)])
        return linear_sum(variables, coefficients) == m.source_active[i, t]

    m.supply = pyo.Constraint(b.source_years, rule=supply_rule)


def _balance_rows(b: _Build, nodes: Iterable[str]) -> Any:
    """inflow[n,p,t] = outflow[n,p,t] at each of ``nodes``: a pyo.Constraint over every
    (node, product, year) with a flow in or out (an outflow with no inflow must be forced
    to zero, or revenue downstream would come from nothing)."""
    keys = [(n, p, t) for n in nodes for p in b.products for t in b.years
            if b.in_terms.get((n, p, t)) or b.out_terms.get((n, p, t))]

    def balance_rule(_, n, p, t):
        return _terms_sum(b.in_terms.get((n, p, t), []) + [
            (-c, v) for c, v in b.out_terms.get((n, p, t), [])]) == 0

    return pyo.Constraint(keys, rule=balance_rule)


def _create_collection(b: _Build) -> None:
    """collection_balance[j,p,t] -> ``collection_balance`` (unless points end the chain),
    collection_capacity[j,t] -> ``collection_capacity`` (slack
    ``slack_collection_capacity``), collection_link[i,j,t] -> ``collection_link`` (not
    with single sourcing, where the capacity row links), open[j,t] >= open[j,t-1] ->
    ``collection_stays_open``."""
    m = b.m
    if not b.data.collection_is_sink:
        m.collection_balance = _balance_rows(b, b.cps.index)
    cap_slack = b.slack("collection_capacity", b.facility_years(b.cps))

    def collection_capacity_rule(_, j, t):
        inflow = b.in_total.get((j, t), [])
        if not inflow:
            return pyo.Constraint.Skip
        rhs = b.cap_j[j] * m.open_collection_point[j, t]
        if cap_slack is not None:
            rhs = rhs + cap_slack[j, t]
        return _terms_sum(inflow) <= rhs

    m.collection_capacity = pyo.Constraint(b.facility_years(b.cps),
                                           rule=collection_capacity_rule)
    if not b.single:  # with single sourcing the capacity row already links (binary shares)
        ship = b.ship["source_collection"]
        m.collection_link = pyo.Constraint(
            b.ship_index["source_collection"],
            rule=lambda _, i, j, t: ship[i, j, t] <= m.open_collection_point[j, t],
        )
    m.collection_stays_open = pyo.Constraint(
        b.facility_years(b.cps, b.years[1:]),
        rule=lambda _, j, t: m.open_collection_point[j, t]
        >= m.open_collection_point[j, b.prev[t]],
    )


# --- rows: dismantling sites ----------------------------------------------------------------

def _create_site_sizing(b: _Build) -> None:
    """The sites' sizing rows: by the tonne (:func:`_create_site_size_rows`) or
    site_one_level[k,t] -> ``site_one_level`` (in modules); then site_no_shrink[k,t] ->
    ``site_no_shrink`` and capacity >= an existing site's level -> ``site_existing``."""
    m, sites, levels = b.m, b.sites, b.data.levels
    for k, lv, cap in zip(levels["dismantling_site_id"], levels["level"],
                          levels["capacity_t_per_yr"]):
        b.by_site[k].append((lv, float(cap)))
    b.max_level = {k: max(cap for _lv, cap in b.by_site[k]) for k in b.by_site}
    existing_sites = [k for k in sites.index if sites.at[k, "existing_level"]]
    existing_cap = {
        k: dict(b.by_site[k])[sites.at[k, "existing_level"]] for k in existing_sites
    }
    if b.continuous:
        _create_site_size_rows(b, existing_sites)
    else:
        m.site_one_level = pyo.Constraint(
            b.facility_years(sites),
            rule=lambda _, k, t: _terms_sum(b.site_open_terms(k, t)) <= 1)
    m.site_no_shrink = pyo.Constraint(
        b.facility_years(sites, b.years[1:]),
        rule=lambda _, k, t: b.site_cap_expr(k, t) >= b.site_cap_expr(k, b.prev[t]),
    )
    m.site_existing = pyo.Constraint(
        [(k, t) for k in existing_sites for t in b.years],
        rule=lambda _, k, t: b.site_cap_expr(k, t) >= existing_cap[k],
    )


def _create_site_size_rows(b: _Build, existing_sites: list[str]) -> None:
    """Sites sized by the tonne: site_size_min/max[k,t] -> ``site_size_min`` and
    ``site_size_max``, open[k,t] >= open[k,t-1] -> ``site_stays_open``; an existing site's
    ``site_open`` is at least 1."""
    m, sizing = b.m, b.sizing
    site_years = b.facility_years(b.sites)
    m.site_size_min = pyo.Constraint(
        site_years, rule=lambda _, k, t: m.site_size[k, t]
        >= sizing[k].min_t_per_yr * m.site_open[k, t])
    m.site_size_max = pyo.Constraint(
        site_years, rule=lambda _, k, t: m.site_size[k, t]
        <= sizing[k].max_t_per_yr * m.site_open[k, t])
    m.site_stays_open = pyo.Constraint(
        b.facility_years(b.sites, b.years[1:]),
        rule=lambda _, k, t: m.site_open[k, t] >= m.site_open[k, b.prev[t]])
    for k in existing_sites:
        for t in b.years:
            m.site_open[k, t].setlb(1)
            b.existing_vars.add(id(m.site_open[k, t]))


def _site_reach(b: _Build) -> dict[tuple[str, int], float]:
    """R_kt: the supply of year t of the sources that can reach site k (through a
    collection point or direct)."""
    sites_of_point: dict[str, set[str]] = defaultdict(set)
    for j, k, _p, _t in b.flow_index["collection_site"]:
        sites_of_point[j].add(k)
    reaching: dict[tuple[str, int], set[str]] = defaultdict(set)  # sources by site
    for leg in FIRST_LEGS:
        for i, d, t in b.ship_index[leg]:
            for k in (sites_of_point[d] if leg == "source_collection" else (d,)):
                reaching[(k, t)].add(i)
    # summed in a fixed order: a set's order changes from process to process, and with it
    # the last digits of the sum, and so the model and HiGHS's path through it
    return {(k, t): sum(b.source_total[(i, t)] for i in sorted(sources))
            for (k, t), sources in reaching.items()}


def _create_site_capacity(b: _Build) -> None:
    """site_capacity[k,t] -> ``site_capacity`` (slack ``slack_site_capacity``), and by the
    tonne site_reach_open[k,t] -> ``site_reach_open``.

    A site can take in no more than the supply of the sources that can reach it that
    year (R_kt). Early on, with little supply, that is far less than a module, and the
    relaxation must then open a site in full to take a region's supply, not a sliver.
    """
    m = b.m
    site_years = b.facility_years(b.sites)
    site_slack = b.slack("site_capacity", site_years)
    site_reach = _site_reach(b)

    def site_capacity_rule(_, k, t):
        inflow = b.in_total.get((k, t), [])
        if not inflow:
            return pyo.Constraint.Skip
        rhs = b.site_cap_expr(k, t, at_most=site_reach.get((k, t), 0.0))
        if site_slack is not None:
            rhs = rhs + site_slack[k, t]
        return _terms_sum(inflow) <= rhs

    m.site_capacity = pyo.Constraint(site_years, rule=site_capacity_rule)
    if b.continuous:
        # the same bound on the open binary: the size may exceed what arrives (it
        # never shrinks), so its row alone would let the relaxation open a sliver
        def site_reach_open_rule(_, k, t):
            inflow = b.in_total.get((k, t), [])
            if not inflow:
                return pyo.Constraint.Skip
            most = min(b.max_level[k], site_reach.get((k, t), 0.0))
            if site_slack is not None:
                return _terms_sum(inflow) <= most * m.site_open[k, t] + site_slack[k, t]
            return _terms_sum(inflow) <= most * m.site_open[k, t]

        m.site_reach_open = pyo.Constraint(site_years, rule=site_reach_open_rule)


def _create_site_links(b: _Build) -> None:
    """site_link_collection[j,k,t] -> ``site_link_collection``; y[i,k,t] <= open[k,t] ->
    ``site_link`` (direct shipping, not with single sourcing).

    Strong linking of each collection point's shipment to a site: it can carry no more
    than the point's capacity, and nothing unless the site is open. Without it the
    relaxation opens a sliver of a module for each tonne (a very weak bound).
    """
    m = b.m
    if b.flow_index["collection_site"]:
        to_site: dict[tuple[str, str, int], list] = defaultdict(list)
        for key in b.flow_index["collection_site"]:
            j, k, _p, t = key
            to_site[(j, k, t)].append(b.flow["collection_site"][key])

        def site_link_collection_rule(_, j, k, t):
            # a point can pass on no more than the supply of the sources that reach
            # it that year (its inflow's coefficients): early on, far less than its
            # capacity. (The elastic model may exceed a point's capacity.)
            reach = sum(co for co, _v in b.in_total.get((j, t), []))
            bound = min(b.max_level[k], reach)
            if not b.elastic:
                bound = min(bound, b.cap_j[j])
            return _terms_sum([(1.0, v) for v in to_site[(j, k, t)]] + [
                (-bound * c, v) for c, v in b.site_open_terms(k, t)]) <= 0

        m.site_link_collection = pyo.Constraint(list(to_site),
                                                rule=site_link_collection_rule)
    if b.ship_index["source_site"] and not b.single:
        ship = b.ship["source_site"]
        m.site_link = pyo.Constraint(
            b.ship_index["source_site"],
            rule=lambda _, i, k, t: _terms_sum([(1.0, ship[i, k, t])] + [
                (-c, v) for c, v in b.site_open_terms(k, t)]) <= 0,
        )


def _create_site_balance(b: _Build) -> None:
    """site_balance[k,p,t] -> ``site_balance``, reuse_share[k,c,t] -> ``reuse_share``."""
    m = b.m
    m.site_balance = _balance_rows(b, b.sites.index)
    # reuse share by chemistry at each site
    reuse_by_site: dict[tuple[str, str, int], list] = defaultdict(list)
    for key in b.flow_index["site_reuse"]:
        k, _u, p, t = key
        reuse_by_site[(k, b.chem_of[p], t)].append(b.flow["site_reuse"][key])
    share = b.case.chemistries["max_reuse_share"].to_dict()

    def reuse_share_rule(_, k, c, t):
        inflow = [term for p in b.products if b.chem_of[p] == c
                  for term in b.in_terms.get((k, p, t), [])]
        return _terms_sum([(1.0, v) for v in reuse_by_site[(k, c, t)]]
                          + [(-share[c] * co, v) for co, v in inflow]) <= 0

    m.reuse_share = pyo.Constraint(list(reuse_by_site), rule=reuse_share_rule)


# --- rows: cover, recyclers and reuse outlets ------------------------------------------------

def _create_collection_cover(b: _Build) -> None:
    """collection_cover[t] -> ``collection_cover`` (only without outsourcing, not elastic,
    and with finite capacities).

    With no outsourcing every tonne of a year's supply enters a collection point (or a
    site, where sources ship direct), so the capacity open that year must cover the supply
    of the sources taking part. Implied by the rows above, but HiGHS does not derive it,
    and its cover cuts need it: with it HiGHS proves OR-Library capa-8000 at the root node
    (BENCHMARKS.md, issue 6).
    """
    m, years, cap_j = b.m, b.years, b.cap_j
    receivers = [j for j in b.cps.index if any(b.in_total.get((j, t)) for t in years)]
    direct_sites = sorted({str(k) for _i, k, _t in b.ship_index["source_site"]}) \
        if b.has_sites else []
    finite = all(math.isfinite(cap_j[j]) for j in receivers) and all(
        math.isfinite(cap) for k in direct_sites for _lv, cap in b.by_site[k])
    if b.outsourcing_allowed or b.elastic or not finite or not (receivers or direct_sites):
        return
    supply_of_year: dict[int, list] = defaultdict(list)
    for (i, t), tonnes in b.source_total.items():
        supply_of_year[t].append((tonnes, m.source_active[i, t]))

    def collection_cover_rule(_, t):
        capacity = linear_sum([m.open_collection_point[j, t] for j in receivers],
                              [cap_j[j] for j in receivers])
        for k in direct_sites:
            capacity = capacity + b.site_cap_expr(k, t)
        return capacity >= sum(tonnes * active for tonnes, active in supply_of_year[t])

    m.collection_cover = pyo.Constraint([t for t in years if supply_of_year[t]],
                                        rule=collection_cover_rule)


def _create_downstream_capacity(b: _Build) -> None:
    """recycler_capacity[r,t] -> ``recycler_capacity`` and reuse_capacity[u,t] ->
    ``reuse_capacity`` (slacks ``slack_recycler_capacity``, ``slack_reuse_capacity``),
    open[f,t] >= open[f,t-1] -> ``recycler_stays_open`` and ``reuse_stays_open``."""
    m = b.m
    for name, table, var_name in (
        ("recycler", b.recyclers, "open_recycler"),
        ("reuse", b.outlets, "open_reuse_outlet"),
    ):
        var = getattr(m, var_name)
        caps = table["capacity_t_per_yr"].to_dict()
        cap_sl = b.slack(f"{name}_capacity", b.facility_years(table))

        def capacity_rule(_, f, t, var=var, caps=caps, cap_sl=cap_sl):
            inflow = b.in_total.get((f, t), [])
            if not inflow:
                return pyo.Constraint.Skip
            rhs = caps[f] * var[f, t]
            if cap_sl is not None:
                rhs = rhs + cap_sl[f, t]
            return _terms_sum(inflow) <= rhs

        m.add_component(
            f"{name}_capacity",
            pyo.Constraint(b.facility_years(table), rule=capacity_rule),
        )
        m.add_component(
            f"{name}_stays_open",
            pyo.Constraint(
                b.facility_years(table, b.years[1:]),
                rule=lambda _, f, t, var=var: var[f, t] >= var[f, b.prev[t]],
            ),
        )


def _create_recycler_min_contract(b: _Build) -> None:
    """recycler_min_contract[r,t] -> ``recycler_min_contract`` (slack
    ``slack_recycler_min_contract``), for recyclers with a minimum contract."""
    m = b.m
    minimum = b.recyclers["min_contract_t_per_yr"].to_dict()
    contract_keys = [(r, t) for r in b.recyclers.index for t in b.years if minimum[r] > 0]
    contract_slack = b.slack("recycler_min_contract", contract_keys)

    def contract_rule(_, r, t):
        lhs = _terms_sum(b.in_total.get((r, t), []))
        if contract_slack is not None:
            lhs = lhs + contract_slack[r, t]
        return lhs >= minimum[r] * m.open_recycler[r, t]

    m.recycler_min_contract = pyo.Constraint(contract_keys, rule=contract_rule)


# --- costs (also the objective) ----------------------------------------------------------------

#: The cost at the head of each leg: category, facility table (a _Build attribute), column.
_HEAD_COST = {
    "source_collection": ("handling", "cps", "handling_cost_cny_per_t"),
    "collection_site": ("processing", "sites", "processing_cost_cny_per_t"),
    "source_site": ("processing", "sites", "processing_cost_cny_per_t"),
    "site_recycler": ("processing", "recyclers", "processing_cost_cny_per_t"),
    "site_reuse": ("handling", "outlets", "handling_cost_cny_per_t"),
}


def _leg_costs(b: _Build, leg: str) -> tuple[dict[tuple[str, str], float], str,
                                             pd.DataFrame, dict[str, float]]:
    """An arc's km, and the category, facility table and rate of the cost at its head."""
    arcs = b.data.arcs[leg]
    km_of = dict(zip(zip(arcs["origin"], arcs["destination"]), arcs["km"]))
    category, table_name, head_column = _HEAD_COST[leg]
    head_table = getattr(b, table_name)
    return km_of, category, head_table, head_table[head_column].to_dict()


def _add_shipment_costs(b: _Build) -> None:
    """The cost terms of y (transport, handling/processing at the head, carbon) and its
    emission terms (no rows)."""
    emission_factor_t = b.par["emission_factor_kg_per_tkm"] / 1000.0  # tCO2e per t-km
    carbon_price = b.par["carbon_price_cny_per_t"]
    terms, sources = b.terms, b.sources
    for leg in FIRST_LEGS:
        if not b.ship_index[leg]:
            continue
        km_of, category, head_table, head_rate = _leg_costs(b, leg)
        for key in b.ship_index[leg]:
            i, d, t = key
            v = b.ship[leg][key]
            km = km_of[(i, d)]
            mix = b.source_mix[(i, t)]
            total_t = b.source_total[(i, t)]
            transport = sum(tonnes * b.data.transport_cost(leg, p, km)
                            for p, tonnes in mix.items())
            if transport:
                terms[("transport", b.owner(sources, i), t)].append((transport, v))
            if head_rate[d]:
                terms[(category, b.owner(head_table, d), t)].append((head_rate[d] * total_t, v))
            if emission_factor_t and km:
                b.emissions[t].append((emission_factor_t * km * total_t, v))
                if carbon_price:
                    terms[("carbon", b.owner(sources, i), t)].append(
                        (carbon_price * emission_factor_t * km * total_t, v))


def _add_flow_costs(b: _Build) -> None:
    """The cost terms of x (transport, handling/processing at the head, revenue, carbon)
    and its emission terms, recycling's included (no rows)."""
    emission_factor_t = b.par["emission_factor_kg_per_tkm"] / 1000.0  # tCO2e per t-km
    carbon_price = b.par["carbon_price_cny_per_t"]
    chemistries, chem_of, terms = b.case.chemistries, b.chem_of, b.terms
    recycle_em = (chemistries["recycling_emissions_kg_per_t"] / 1000.0).to_dict()
    owner_tables = {"collection_site": b.cps, "site_recycler": b.sites, "site_reuse": b.sites}
    revenue = {
        "site_recycler": chemistries["recycling_revenue_cny_per_t"].to_dict(),
        "site_reuse": chemistries["reuse_revenue_cny_per_t"].to_dict(),
    }
    for leg in LATER_LEGS:
        if not b.flow_index[leg]:
            continue
        km_of, category, head_table, head_rate = _leg_costs(b, leg)
        origin_table = owner_tables[leg]
        var = b.flow[leg]
        for key in b.flow_index[leg]:
            origin, destination, pid, t = key
            km = km_of[(origin, destination)]
            x = var[key]
            transport = b.data.transport_cost(leg, pid, km)
            if transport:
                terms[("transport", b.owner(origin_table, origin), t)].append((transport, x))
            if head_rate[destination]:
                terms[(category, b.owner(head_table, destination), t)].append(
                    (head_rate[destination], x))
            if leg in revenue and revenue[leg][chem_of[pid]]:
                terms[("revenue", b.owner(head_table, destination), t)].append(
                    (-revenue[leg][chem_of[pid]], x))
            if emission_factor_t and km:
                b.emissions[t].append((emission_factor_t * km, x))
                if carbon_price:
                    terms[("carbon", b.owner(origin_table, origin), t)].append(
                        (carbon_price * emission_factor_t * km, x))
            if leg == "site_recycler" and recycle_em[chem_of[pid]]:
                b.emissions[t].append((recycle_em[chem_of[pid]], x))
                if carbon_price:
                    terms[("carbon", b.owner(b.recyclers, destination), t)].append(
                        (carbon_price * recycle_em[chem_of[pid]], x))


def _add_outsourcing_costs(b: _Build) -> None:
    """The cost terms of outsourced_share and out_j (no rows)."""
    if not b.outsourcing_allowed:
        return
    price = b.case.chemistries["outsourcing_cost_cny_per_t"].to_dict()
    source_owner = b.sources["member_id"].to_dict()
    for (i, t) in b.source_years:
        cost = sum(tonnes * price[b.chem_of[p]] for p, tonnes in b.source_mix[(i, t)].items())
        if cost:
            b.terms[("outsourcing", source_owner[i], t)].append(
                (cost, b.m.outsourced_share[i, t]))
    for (j, p, t) in b.at_collection:
        if price[b.chem_of[p]]:
            b.terms[("outsourcing", b.owner(b.cps, j), t)].append(
                (price[b.chem_of[p]], b.m.outsourced_at_collection[j, p, t]))


def _add_facility_costs(b: _Build) -> None:
    """The opening and fixed cost terms of open[f,t], site_level, and site_open and
    site_size (no rows)."""
    m, terms, sites, years = b.m, b.terms, b.sites, b.years

    def facility_costs(table: pd.DataFrame, var: Any) -> None:
        for f in table.index:
            capex = float(table.at[f, "annual_capex_cny"])
            fixed = float(table.at[f, "fixed_cost_cny_per_yr"])
            owner = b.owner(table, f)
            for t in years:
                if capex:
                    terms[("opening", owner, t)].append((capex, var[f, t]))
                if fixed:
                    terms[("fixed", owner, t)].append((fixed, var[f, t]))

    facility_costs(b.cps, m.open_collection_point)
    if b.downstream:
        facility_costs(b.recyclers, m.open_recycler)
        facility_costs(b.outlets, m.open_reuse_outlet)
    levels = b.data.levels
    for k, lv, capex, fixed in zip(levels["dismantling_site_id"], levels["level"],
                                   levels["annual_capex_cny"], levels["fixed_cost_cny_per_yr"]):
        if b.continuous:
            break
        owner = b.owner(sites, k)
        for t in years:
            if capex:
                terms[("opening", owner, t)].append((float(capex), m.site_level[k, lv, t]))
            if fixed:
                terms[("fixed", owner, t)].append((float(fixed), m.site_level[k, lv, t]))
    for k, size in b.sizing.items():
        owner = b.owner(sites, k)
        for t in years:
            for category, intercept, slope in (
                    ("opening", size.capex_intercept_cny, size.capex_cny_per_t),
                    ("fixed", size.fixed_intercept_cny, size.fixed_cny_per_t)):
                if intercept:
                    terms[(category, owner, t)].append((intercept, m.site_open[k, t]))
                if slope:
                    terms[(category, owner, t)].append((slope, m.site_size[k, t]))


# --- rows: policy ------------------------------------------------------------------------------

def _create_collection_rate(b: _Build) -> None:
    """collection_rate[t] -> ``collection_rate`` (slack ``slack_collection_rate``), with a
    target and outsourcing."""
    target = b.par["collection_rate_target"]
    if not (target > 0 and b.outsourcing_allowed):
        return
    m = b.m
    rate_slack = b.slack("collection_rate", b.years)
    total: dict[int, float] = defaultdict(float)
    by_year: dict[int, list] = defaultdict(list)
    for (i, t) in b.source_years:
        total[t] += b.source_total[(i, t)]
        by_year[t].append((b.source_total[(i, t)], m.outsourced_share[i, t]))
    for (j, p, t) in b.at_collection:
        by_year[t].append((1.0, m.outsourced_at_collection[j, p, t]))

    def rate_rule(_, t):
        lhs = _terms_sum(by_year[t])
        if rate_slack is not None:
            lhs = lhs - rate_slack[t]
        return lhs <= (1 - target) * total[t]

    m.collection_rate = pyo.Constraint([t for t in b.years if by_year[t]], rule=rate_rule)


def _create_emissions_cap(b: _Build) -> None:
    """emissions_cap[t] -> ``emissions_cap`` (slack ``slack_emissions_cap``), if finite."""
    cap = b.par["emissions_cap_t_per_yr"]
    if not math.isfinite(cap):
        return
    em_slack = b.slack("emissions_cap", b.years)
    b.m.emissions_cap = pyo.Constraint(
        b.years,
        rule=lambda _, t: _terms_sum(b.emissions[t])
        - (em_slack[t] if em_slack is not None else 0) <= cap,
    )


def _create_opening_budget(b: _Build) -> None:
    """opening_budget -> ``opening_budget`` (slack ``slack_opening_budget``), if finite:
    the undiscounted opening costs of facilities that do not exist yet."""
    budget = b.par["opening_budget_cny"]
    if not math.isfinite(budget):
        return
    budget_slack = b.slack("opening_budget", [0])
    opening = [(c, v) for (cat, _o, _t), pairs in b.terms.items() if cat == "opening"
               for c, v in pairs if id(v) not in b.existing_vars]
    b.m.opening_budget = pyo.Constraint(
        expr=sum(c * v for c, v in opening)
        - (budget_slack[0] if budget_slack is not None else 0) <= budget
    )


def _create_objective(b: _Build) -> None:
    """The objective -> ``total_cost``: the discounted cost terms (plus the penalised
    slacks of the elastic model); hands the terms to the NetworkModel."""
    nm = b.nm
    nm.cost_terms = dict(b.terms)
    nm.source_mix = dict(b.source_mix)
    nm.existing_vars = b.existing_vars
    nm.emission_terms = dict(b.emissions)
    coefficient_of: dict[int, float] = defaultdict(float)
    var_of: dict[int, object] = {}
    for (_cat, _o, t), pairs in b.terms.items():
        weight = b.data.discount[t]
        for c, v in pairs:
            coefficient_of[id(v)] += weight * c
            var_of[id(v)] = v
    objective = linear_sum([var_of[k] for k in coefficient_of], list(coefficient_of.values()))
    if b.elastic:
        # Unserved supply costs more than missing capacity, so that where capacity is
        # what is short, the explanation names the capacity.
        slacks: dict[str, Any] = nm.slacks
        objective = objective + ELASTIC_PENALTY * sum(
            SLACK_WEIGHT.get(name, 1.0) * pyo.quicksum(var.values())
            for name, var in slacks.items()
        )
    b.m.total_cost = pyo.Objective(expr=objective, sense=pyo.minimize)
