r"""The network-design MIP in pyomo, built in named groups a planner can read.

Formulation (all sums over the arcs that exist; t years, p products, c chemistries)::

    min  sum_t delta_t [ sum_f (capex_f + fixed_f) open[f,t]                       (opening, fixed)
                       + sum_{k,l} (capex_kl + fixed_kl) site_level[k,l,t]
                       + sum_arcs (handling/processing at the head) x[a,p,t]         (handling)
                       + sum_arcs rate_leg * m_p * km_a * x[a,p,t]                 (transport)
                       + sum_{i,p} outsourcing_c * outsourced[i,p,t]               (outsourcing)
                       + price_CO2 * emissions_t                                   (carbon)
                       - sum revenue_c x[a,p,t] into recyclers and reuse outlets ] (revenue)

    supply[i,p,t]            sum_j x[i,j,p,t] + sum_k x[i,k,p,t] + outsourced[i,p,t] = s[i,p,t]
    collection_balance[j,p,t] sum_i x[i,j,p,t] = sum_k x[j,k,p,t]      (unless j is a sink)
    site_balance[k,p,t]       inflow[k,p,t] = sum_r x[k,r,p,t] + sum_u x[k,u,p,t]
    collection_capacity[j,t]  sum_{i,p} x[i,j,p,t] <= cap_j open[j,t]
    collection_link[i,j,p,t]  x[i,j,p,t] <= s[i,p,t] open[j,t]      (strong linking)
    site_capacity[k,t]        sum_p inflow[k,p,t] <= sum_l cap_kl site_level[k,l,t]
    site_one_level[k,t]       sum_l site_level[k,l,t] <= 1
    site_no_shrink[k,t]       capacity in t >= capacity in t-1
    recycler_capacity[r,t], reuse_capacity[u,t], recycler_min_contract[r,t]
    reuse_share[k,c,t]        sum_u x[k,u,c,t] <= share_c * inflow[k,c,t]
    *_stays_open[f,t]         open[f,t] >= open[f,t-1]
    collection_rate[t]        sum outsourced[.,.,t] <= (1 - target) * supply_t
    emissions_cap[t], opening_budget
    single sourcing:  assign_*[i,d,t] binaries, x[i,d,p,t] = s[i,p,t] assign[i,d,t]

Symbol to pyomo component: open[j,t] -> ``open_collection_point``, site_level ->
``site_level``, open[r,t] -> ``open_recycler``, open[u,t] -> ``open_reuse_outlet``,
x -> ``flow_<leg>``, outsourced -> ``outsourced``, delta_t -> ``data.discount``.

The elastic variant (``elastic=True``) adds penalised slack to every group that can make
a case infeasible; :mod:`netopt.model.explain` reads it back to say what must give.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from netopt.case import Case
from netopt.model.network import NetworkData, prepare

#: Penalty (CNY per unit of slack) of the elastic model: large against any real cost.
ELASTIC_PENALTY = 1e9

#: Relative weight of each group's slack in the elastic model: tonnes and tCO2e weigh 1,
#: money 1e-3 per CNY (a tonne of capacity against about a thousand CNY of budget), and
#: unserved supply 10 (blame a short capacity before the supply it cannot carry).
SLACK_WEIGHT = {"supply": 10.0, "opening_budget": 1e-3}

FLOW_LEGS = ("source_collection", "collection_site", "source_site", "site_recycler", "site_reuse")


@dataclass
class NetworkModel:
    """A built model: the pyomo block, the data it came from, and cost expressions.

    ``cost_terms`` maps (category, member, year) to lists of (coefficient, var) pairs and
    ``cost_constants`` to constants, so that the Plan's cost table sums to the objective.
    """

    data: NetworkData
    model: pyo.ConcreteModel
    elastic: bool = False
    cost_terms: dict[tuple[str, str, int], list[tuple[float, object]]] = field(
        default_factory=dict
    )
    slacks: dict[str, object] = field(default_factory=dict)
    emission_terms: dict[int, list[tuple[float, object]]] = field(default_factory=dict)
    existing_vars: set[int] = field(default_factory=set)  # ids of vars with lb 1 (existing)

    @property
    def case(self) -> Case:
        return self.data.case


_OWNER_CACHE: dict[int, dict] = {}


def _owner(table, fid) -> str:
    """Member owning a row of a facility/source table ("outside" for a third party)."""
    owners = _OWNER_CACHE.get(id(table))
    if owners is None or owners.get("__table__") is not table:
        owners = {k: (v if v else "outside") for k, v in table["member_id"].items()}
        owners["__table__"] = table
        _OWNER_CACHE[id(table)] = owners
    return owners[fid]


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
    """Build the MIP of ``case`` (or of prepared :class:`NetworkData`)."""
    data = case if isinstance(case, NetworkData) else prepare(case)
    case = data.case
    par = data.parameters
    m = pyo.ConcreteModel(name=f"netopt[{case.name}]")
    years = data.years
    first = years[0]
    prev = {t: t - 1 for t in years[1:]}
    cps, sites, recyclers, outlets = (
        case.collection_points, case.dismantling_sites, case.recyclers, case.reuse_outlets,
    )
    levels = data.levels
    products = data.products
    chem_of = {pid: prod.chemistry for pid, prod in products.items()}
    supply = data.supply
    nm = NetworkModel(data=data, model=m, elastic=elastic)
    terms: dict[tuple[str, str, int], list[tuple[float, object]]] = defaultdict(list)

    # --- sets ------------------------------------------------------------------------
    m.YEARS = pyo.Set(initialize=years, ordered=True)
    m.PRODUCTS = pyo.Set(initialize=list(products), ordered=True)
    m.COLLECTION_POINTS = pyo.Set(initialize=list(cps.index), ordered=True)
    m.DISMANTLING_SITES = pyo.Set(initialize=list(sites.index), ordered=True)
    level_keys = list(zip(levels["dismantling_site_id"], levels["level"]))
    m.SITE_LEVELS = pyo.Set(initialize=level_keys, dimen=2, ordered=True)
    m.RECYCLERS = pyo.Set(initialize=list(recyclers.index), ordered=True)
    m.REUSE_OUTLETS = pyo.Set(initialize=list(outlets.index), ordered=True)

    # --- flow indices (first: a facility no flow can reach is closed) ---
    flow_index = {}
    for leg in FLOW_LEGS:
        index = []
        frame = data.arcs[leg]
        allowed = data.arc_products[leg]
        for origin, destination in zip(frame["origin"], frame["destination"]):
            for pid in allowed[(origin, destination)]:
                if leg in ("source_collection", "source_site"):
                    if not any(supply.get((origin, pid, t), 0) > 0 for t in years):
                        continue
                for t in years:
                    if leg in ("source_collection", "source_site") and supply.get(
                        (origin, pid, t), 0.0
                    ) <= 0:
                        continue
                    index.append((origin, destination, pid, t))
        flow_index[leg] = index
    # --- variables: facilities ---------------------------------------------------------
    existing_vars: set[int] = set()

    def facility_var(name, table, used: bool) -> None:
        index = [(f, t) for f in table.index for t in years] if used else []
        var = pyo.Var(index, within=pyo.Binary, dense=True)
        m.add_component(name, var)
        existing = table["existing"] if "existing" in table.columns else None
        for f in table.index:
            is_existing = existing is not None and bool(existing[f])
            if not used:
                continue
            if str(f) not in reached:
                # no arc reaches it: it can only be open because it exists
                for t in years:
                    var[f, t].fix(1 if is_existing else 0)
                    if is_existing:
                        existing_vars.add(id(var[f, t]))
                continue
            if is_existing:
                for t in years:
                    # a bound, not fix(): a coalition solve may close it (owner absent)
                    var[f, t].setlb(1)
                    existing_vars.add(id(var[f, t]))

    has_sites = len(sites) > 0
    downstream = has_sites and not data.site_is_sink
    reached = {str(key[1]) for index in flow_index.values() for key in index}
    facility_var("open_collection_point", cps, True)
    facility_var("open_recycler", recyclers, downstream)
    facility_var("open_reuse_outlet", outlets, downstream)
    m.site_level = pyo.Var(
        [(k, lv, t) for (k, lv) in level_keys for t in years], within=pyo.Binary, dense=True
    )

    for leg in FLOW_LEGS:
        m.add_component(f"flow_{leg}",
                        pyo.Var(flow_index[leg], within=pyo.NonNegativeReals, dense=True))
    flow = {leg: getattr(m, f"flow_{leg}") for leg in FLOW_LEGS}
    supply_keys = [key for key, tonnes in supply.items() if tonnes > 0]
    outsourcing_allowed = bool(par["allow_outsourcing"])
    m.outsourced = pyo.Var(
        supply_keys if outsourcing_allowed else [], within=pyo.NonNegativeReals, dense=True
    )

    # adjacency (built once, used by every constraint group)
    out_arcs: dict[tuple[str, str, int], list[tuple]] = defaultdict(list)  # by (node,p,t)
    in_arcs: dict[tuple[str, str, int], list[tuple]] = defaultdict(list)
    in_total: dict[tuple[str, int], list[tuple]] = defaultdict(list)  # by (node,t)
    for leg in FLOW_LEGS:
        var = flow[leg]
        for key in flow_index[leg]:
            origin, destination, pid, t = key
            out_arcs[(origin, pid, t)].append(var[key])
            in_arcs[(destination, pid, t)].append(var[key])
            in_total[(destination, t)].append(var[key])

    # --- constraints -------------------------------------------------------------------
    def slack(name: str, index: list) -> pyo.Var | None:
        if not elastic:
            return None
        var = pyo.Var(index, within=pyo.NonNegativeReals, dense=True)
        m.add_component(f"slack_{name}", var)
        nm.slacks[name] = var
        return var

    # supply: every tonne collected or outsourced
    unserved = slack("supply", supply_keys)

    # Supply is a mutable parameter so that a coalition solve can zero non-members' supply
    # without rebuilding the model.
    m.supply_t = pyo.Param(supply_keys, initialize=supply, mutable=True, within=pyo.Reals)

    def supply_rule(_, i, p, t):
        expr = linear_sum(out_arcs.get((i, p, t), []))
        if outsourcing_allowed:
            expr = expr + m.outsourced[i, p, t]
        if unserved is not None:
            expr = expr + unserved[i, p, t]
        return expr == m.supply_t[i, p, t]

    m.supply = pyo.Constraint(supply_keys, rule=supply_rule)

    # flow balance at collection points
    if not data.collection_is_sink:
        # every (point, product, year) with an arc in or out: an outflow with no inflow
        # must be forced to zero, or revenue downstream would come from nothing
        keys = [(j, p, t) for j in cps.index for p in products for t in years
                if in_arcs.get((j, p, t)) or out_arcs.get((j, p, t))]

        def collection_balance_rule(_, j, p, t):
            ins, outs = in_arcs.get((j, p, t), []), out_arcs.get((j, p, t), [])
            return linear_sum(ins + outs, [1.0] * len(ins) + [-1.0] * len(outs)) == 0

        m.collection_balance = pyo.Constraint(keys, rule=collection_balance_rule)

    # collection capacity and strong linking
    cap_slack = slack("collection_capacity", [(j, t) for j in cps.index for t in years])
    cap_j = cps["capacity_t_per_yr"].to_dict()

    def collection_capacity_rule(_, j, t):
        inflow = in_total.get((j, t), [])
        if not inflow:
            return pyo.Constraint.Skip
        rhs = cap_j[j] * m.open_collection_point[j, t]
        if cap_slack is not None:
            rhs = rhs + cap_slack[j, t]
        return linear_sum(inflow) <= rhs

    m.collection_capacity = pyo.Constraint(
        [(j, t) for j in cps.index for t in years], rule=collection_capacity_rule
    )
    m.collection_link = pyo.Constraint(
        flow_index["source_collection"],
        rule=lambda _, i, j, p, t: flow["source_collection"][i, j, p, t]
        <= supply[(i, p, t)] * m.open_collection_point[j, t],
    )
    m.collection_stays_open = pyo.Constraint(
        [(j, t) for j in cps.index for t in years[1:]],
        rule=lambda _, j, t: m.open_collection_point[j, t] >= m.open_collection_point[j, prev[t]],
    )

    # dismantling sites: levels, capacity, balance
    if has_sites:
        by_site: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for k, lv, cap in zip(levels["dismantling_site_id"], levels["level"],
                              levels["capacity_t_per_yr"]):
            by_site[k].append((lv, float(cap)))

        def site_cap_expr(k, t):
            return sum(cap * m.site_level[k, lv, t] for lv, cap in by_site[k])

        m.site_one_level = pyo.Constraint(
            [(k, t) for k in sites.index for t in years],
            rule=lambda _, k, t: sum(m.site_level[k, lv, t] for lv, _c in by_site[k]) <= 1,
        )
        m.site_no_shrink = pyo.Constraint(
            [(k, t) for k in sites.index for t in years[1:]],
            rule=lambda _, k, t: site_cap_expr(k, t) >= site_cap_expr(k, prev[t]),
        )
        existing_sites = [k for k in sites.index if sites.at[k, "existing_level"]]
        existing_cap = {
            k: dict(by_site[k])[sites.at[k, "existing_level"]] for k in existing_sites
        }
        m.site_existing = pyo.Constraint(
            [(k, t) for k in existing_sites for t in years],
            rule=lambda _, k, t: site_cap_expr(k, t) >= existing_cap[k],
        )
        site_slack = slack("site_capacity", [(k, t) for k in sites.index for t in years])

        def site_capacity_rule(_, k, t):
            inflow = in_total.get((k, t), [])
            if not inflow:
                return pyo.Constraint.Skip
            rhs = site_cap_expr(k, t)
            if site_slack is not None:
                rhs = rhs + site_slack[k, t]
            return linear_sum(inflow) <= rhs

        m.site_capacity = pyo.Constraint(
            [(k, t) for k in sites.index for t in years], rule=site_capacity_rule
        )
        if "source_site" in data.arcs and len(data.arcs["source_site"]):
            m.site_link = pyo.Constraint(
                flow_index["source_site"],
                rule=lambda _, i, k, p, t: flow["source_site"][i, k, p, t]
                <= supply[(i, p, t)] * sum(m.site_level[k, lv, t] for lv, _c in by_site[k]),
            )
        if downstream:
            keys = [(k, p, t) for k in sites.index for p in products for t in years
                    if in_arcs.get((k, p, t)) or out_arcs.get((k, p, t))]
            m.site_balance = pyo.Constraint(
                keys,
                rule=lambda _, k, p, t: linear_sum(
                    in_arcs.get((k, p, t), []) + out_arcs.get((k, p, t), []),
                    [1.0] * len(in_arcs.get((k, p, t), []))
                    + [-1.0] * len(out_arcs.get((k, p, t), []))) == 0,
            )
            # reuse share by chemistry at each site
            reuse_by_site: dict[tuple[str, str, int], list] = defaultdict(list)
            for key in flow_index["site_reuse"]:
                k, _u, p, t = key
                reuse_by_site[(k, chem_of[p], t)].append(flow["site_reuse"][key])
            share = case.chemistries["max_reuse_share"].to_dict()

            def reuse_share_rule(_, k, c, t):
                inflow = [v for p in products if chem_of[p] == c
                          for v in in_arcs.get((k, p, t), [])]
                return sum(reuse_by_site[(k, c, t)]) <= share[c] * sum(inflow)

            m.reuse_share = pyo.Constraint(list(reuse_by_site), rule=reuse_share_rule)

    if downstream:
        for name, table, var_name in (
            ("recycler", recyclers, "open_recycler"),
            ("reuse", outlets, "open_reuse_outlet"),
        ):
            var = getattr(m, var_name)
            caps = table["capacity_t_per_yr"].to_dict()
            cap_sl = slack(f"{name}_capacity", [(f, t) for f in table.index for t in years])

            def capacity_rule(_, f, t, var=var, caps=caps, cap_sl=cap_sl):
                inflow = in_total.get((f, t), [])
                if not inflow:
                    return pyo.Constraint.Skip
                rhs = caps[f] * var[f, t]
                if cap_sl is not None:
                    rhs = rhs + cap_sl[f, t]
                return linear_sum(inflow) <= rhs

            m.add_component(
                f"{name}_capacity",
                pyo.Constraint([(f, t) for f in table.index for t in years], rule=capacity_rule),
            )
            m.add_component(
                f"{name}_stays_open",
                pyo.Constraint(
                    [(f, t) for f in table.index for t in years[1:]],
                    rule=lambda _, f, t, var=var: var[f, t] >= var[f, prev[t]],
                ),
            )
        minimum = recyclers["min_contract_t_per_yr"].to_dict()
        contract_keys = [(r, t) for r in recyclers.index for t in years if minimum[r] > 0]
        contract_slack = slack("recycler_min_contract", contract_keys)

        def contract_rule(_, r, t):
            lhs = sum(in_total.get((r, t), []))
            if contract_slack is not None:
                lhs = lhs + contract_slack[r, t]
            return lhs >= minimum[r] * m.open_recycler[r, t]

        m.recycler_min_contract = pyo.Constraint(contract_keys, rule=contract_rule)

    # single sourcing: each source ships all of a year's packs to one destination
    if par["single_sourcing"]:
        first_legs = [leg for leg in ("source_collection", "source_site") if flow_index[leg]]
        assign_index = sorted({(i, d, t) for leg in first_legs
                               for (i, d, _p, t) in flow_index[leg]})
        m.assign = pyo.Var(assign_index, within=pyo.Binary, dense=True)
        src_prod = data.sources_products()
        source_years = sorted({(i, t) for (i, _p, t) in supply_keys})
        by_source: dict[tuple[str, int], list] = defaultdict(list)
        for (i, d, t) in assign_index:
            by_source[(i, t)].append(m.assign[i, d, t])
        if outsourcing_allowed:
            m.assign_outsourced = pyo.Var(source_years, within=pyo.Binary, dense=True)
        m.single_source = pyo.Constraint(
            source_years,
            rule=lambda _, i, t: sum(by_source.get((i, t), []))
            + (m.assign_outsourced[i, t] if outsourcing_allowed else 0)
            == 1,
        )
        flow_of = {}
        for leg in first_legs:
            for key in flow_index[leg]:
                flow_of[key] = flow[leg][key]
        assign_keys = [(i, d, p, t) for (i, d, t) in assign_index for p in src_prod.get(i, [])
                       if supply.get((i, p, t), 0) > 0]

        def assign_rule(_, i, d, p, t):
            var = flow_of.get((i, d, p, t))
            if var is None:  # product cannot use this arc: the source must not pick it
                return m.assign[i, d, t] == 0
            return var == m.supply_t[i, p, t] * m.assign[i, d, t]

        m.assign_flow = pyo.Constraint(assign_keys, rule=assign_rule)
        if outsourcing_allowed:
            m.assign_outsourcing = pyo.Constraint(
                supply_keys,
                rule=lambda _, i, p, t: m.outsourced[i, p, t]
                == m.supply_t[i, p, t] * m.assign_outsourced[i, t],
            )

    # --- costs (also the objective) -----------------------------------------------------
    emission_factor_t = par["emission_factor_kg_per_tkm"] / 1000.0  # tCO2e per t-km
    carbon_price = par["carbon_price_cny_per_t"]
    recycle_em = (case.chemistries["recycling_emissions_kg_per_t"] / 1000.0).to_dict()
    emissions: dict[int, list[tuple[float, object]]] = defaultdict(list)
    source_owner = case.sources["member_id"].to_dict()
    owner_tables = {
        "source_collection": case.sources, "collection_site": cps, "source_site": case.sources,
        "site_recycler": sites, "site_reuse": sites,
    }
    head_cost = {
        "source_collection": ("handling", cps, "handling_cost_cny_per_t"),
        "collection_site": ("processing", sites, "processing_cost_cny_per_t"),
        "source_site": ("processing", sites, "processing_cost_cny_per_t"),
        "site_recycler": ("processing", recyclers, "processing_cost_cny_per_t"),
        "site_reuse": ("handling", outlets, "handling_cost_cny_per_t"),
    }
    revenue = {
        "site_recycler": case.chemistries["recycling_revenue_cny_per_t"].to_dict(),
        "site_reuse": case.chemistries["reuse_revenue_cny_per_t"].to_dict(),
    }
    for leg in FLOW_LEGS:
        if not flow_index[leg]:
            continue
        km_of = dict(zip(zip(data.arcs[leg]["origin"], data.arcs[leg]["destination"]),
                         data.arcs[leg]["km"]))
        category, head_table, head_column = head_cost[leg]
        head_rate = head_table[head_column].to_dict()
        origin_table = owner_tables[leg]
        var = flow[leg]
        for key in flow_index[leg]:
            origin, destination, pid, t = key
            km = km_of[(origin, destination)]
            x = var[key]
            transport = data.transport_cost(leg, pid, km)
            if transport:
                terms[("transport", _owner(origin_table, origin), t)].append((transport, x))
            if head_rate[destination]:
                terms[(category, _owner(head_table, destination), t)].append(
                    (head_rate[destination], x))
            if leg in revenue and revenue[leg][chem_of[pid]]:
                terms[("revenue", _owner(head_table, destination), t)].append(
                    (-revenue[leg][chem_of[pid]], x))
            if emission_factor_t and km:
                emissions[t].append((emission_factor_t * km, x))
                if carbon_price:
                    terms[("carbon", _owner(origin_table, origin), t)].append(
                        (carbon_price * emission_factor_t * km, x))
            if leg == "site_recycler" and recycle_em[chem_of[pid]]:
                emissions[t].append((recycle_em[chem_of[pid]], x))
                if carbon_price:
                    terms[("carbon", _owner(recyclers, destination), t)].append(
                        (carbon_price * recycle_em[chem_of[pid]], x))
    if outsourcing_allowed:
        price = case.chemistries["outsourcing_cost_cny_per_t"].to_dict()
        for (i, p, t) in supply_keys:
            terms[("outsourcing", source_owner[i], t)].append((price[chem_of[p]],
                                                               m.outsourced[i, p, t]))

    def facility_costs(table, var, keys):
        for f in keys:
            capex = float(table.at[f, "annual_capex_cny"])
            fixed = float(table.at[f, "fixed_cost_cny_per_yr"])
            owner = _owner(table, f)
            for t in years:
                if capex:
                    terms[("opening", owner, t)].append((capex, var[f, t]))
                if fixed:
                    terms[("fixed", owner, t)].append((fixed, var[f, t]))

    facility_costs(cps, m.open_collection_point, cps.index)
    if downstream:
        facility_costs(recyclers, m.open_recycler, recyclers.index)
        facility_costs(outlets, m.open_reuse_outlet, outlets.index)
    for k, lv, capex, fixed in zip(levels["dismantling_site_id"], levels["level"],
                                   levels["annual_capex_cny"], levels["fixed_cost_cny_per_yr"]):
        owner = _owner(sites, k)
        for t in years:
            if capex:
                terms[("opening", owner, t)].append((float(capex), m.site_level[k, lv, t]))
            if fixed:
                terms[("fixed", owner, t)].append((float(fixed), m.site_level[k, lv, t]))

    # policy constraints
    target = par["collection_rate_target"]
    if target > 0 and outsourcing_allowed:
        rate_slack = slack("collection_rate", years)
        total = defaultdict(float)
        by_year = defaultdict(list)
        for (i, p, t) in supply_keys:
            total[t] += supply[(i, p, t)]
            by_year[t].append(m.outsourced[i, p, t])

        def rate_rule(_, t):
            lhs = sum(by_year[t])
            if rate_slack is not None:
                lhs = lhs - rate_slack[t]
            return lhs <= (1 - target) * total[t]

        m.collection_rate = pyo.Constraint([t for t in years if by_year[t]], rule=rate_rule)
    cap = par["emissions_cap_t_per_yr"]
    if math.isfinite(cap):
        em_slack = slack("emissions_cap", years)
        m.emissions_cap = pyo.Constraint(
            years,
            rule=lambda _, t: sum(c * v for c, v in emissions[t])
            - (em_slack[t] if em_slack is not None else 0) <= cap,
        )
    budget = par["opening_budget_cny"]
    if math.isfinite(budget):
        budget_slack = slack("opening_budget", [0])
        opening = [(c, v) for (cat, _o, _t), pairs in terms.items() if cat == "opening"
                   for c, v in pairs if id(v) not in existing_vars]
        m.opening_budget = pyo.Constraint(
            expr=sum(c * v for c, v in opening)
            - (budget_slack[0] if budget_slack is not None else 0) <= budget
        )

    nm.cost_terms = dict(terms)
    nm.existing_vars = existing_vars
    nm.emission_terms = dict(emissions)
    coefficient_of: dict[int, float] = defaultdict(float)
    var_of: dict[int, object] = {}
    for (_cat, _o, t), pairs in terms.items():
        weight = data.discount[t]
        for c, v in pairs:
            coefficient_of[id(v)] += weight * c
            var_of[id(v)] = v
    objective = linear_sum([var_of[k] for k in coefficient_of], list(coefficient_of.values()))
    if elastic:
        # Unserved supply costs more than missing capacity, so that where capacity is
        # what is short, the explanation names the capacity.
        objective = objective + ELASTIC_PENALTY * sum(
            SLACK_WEIGHT.get(name, 1.0) * pyo.quicksum(var.values())
            for name, var in nm.slacks.items()
        )
    m.total_cost = pyo.Objective(expr=objective, sense=pyo.minimize)
    _ = first
    return nm
