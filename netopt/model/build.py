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
from dataclasses import dataclass, field

import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from netopt.case import Case
from netopt.model.network import NetworkData, prepare
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
    cost_terms: dict[tuple[str, str, int], list[tuple[float, object]]] = field(
        default_factory=dict
    )
    slacks: dict[str, object] = field(default_factory=dict)
    emission_terms: dict[int, list[tuple[float, object]]] = field(default_factory=dict)
    existing_vars: set[int] = field(default_factory=set)  # ids of vars with lb 1 (existing)
    source_mix: dict[tuple[str, int], dict[str, float]] = field(default_factory=dict)
    interrupted: bool = False  # the user stopped a solve of this model (Ctrl-C)
    #: the most a solve of this model has spent outside HiGHS's own clock (seconds):
    #: handing over a starting plan and reading the values back, which a time limit
    #: given to HiGHS leaves out (about 5-10 s at 10,000 dealers)
    solve_overhead_s: float = 0.0

    @property
    def case(self) -> Case:
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
    """Build the MIP of ``case`` (or of prepared :class:`NetworkData`)."""
    data = case if isinstance(case, NetworkData) else prepare(case)
    case = data.case
    par = data.parameters
    m = pyo.ConcreteModel(name=f"netopt[{case.name}]")
    years = data.years
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

    # --- indices (first: a facility no flow can reach is closed) -----------------------
    # A source ships its packs as they come (its mix of chemistries and conditions) to
    # a destination: one share variable per (source, destination, year), used only on
    # arcs every product of the source may take. Later legs carry each product apart.
    source_total: dict[tuple[str, int], float] = defaultdict(float)
    source_mix: dict[tuple[str, int], dict[str, float]] = defaultdict(dict)
    for (i, p, t), tonnes in supply.items():
        if tonnes > 0:
            source_total[(i, t)] += tonnes
            source_mix[(i, t)][p] = tonnes
    source_years = sorted(source_total)
    ship_index: dict[str, list[tuple]] = {}
    heads = {"source_collection": cps, "source_site": sites}
    for leg in FIRST_LEGS:
        frame = data.arcs[leg]
        allowed = data.arc_products[leg]
        by_origin: dict[str, list[str]] = defaultdict(list)
        for origin, destination in zip(frame["origin"], frame["destination"]):
            by_origin[origin].append(destination)
        # each source's destinations in the order of their table, not of distance: the
        # textbook's order. netopt.solve proves capa-14000 in 110-116 s so, against
        # 157-160 s by distance (2 HiGHS seeds; raw textbook model 88-101 s)
        position = {d: n for n, d in enumerate(heads[leg].index)}
        for destinations in by_origin.values():
            destinations.sort(key=lambda d: position.get(d, len(position)))
        index = []
        for (i, t) in source_years:
            for d in by_origin.get(i, []):
                if all(p in allowed[(i, d)] for p in source_mix[(i, t)]):
                    index.append((i, d, t))
        ship_index[leg] = index
    flow_index = {}
    for leg in LATER_LEGS:
        index = []
        frame = data.arcs[leg]
        allowed = data.arc_products[leg]
        for origin, destination in zip(frame["origin"], frame["destination"]):
            for pid in allowed[(origin, destination)]:
                for t in years:
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
    reached = {str(key[1]) for index in (*ship_index.values(), *flow_index.values())
               for key in index}
    facility_var("open_collection_point", cps, True)
    facility_var("open_recycler", recyclers, downstream)
    facility_var("open_reuse_outlet", outlets, downstream)
    continuous = data.continuous_sites
    sizing = data.site_sizing() if continuous else {}
    m.site_level = pyo.Var(
        [] if continuous else [(k, lv, t) for (k, lv) in level_keys for t in years],
        within=pyo.Binary, dense=True)
    site_years_continuous = [(k, t) for k in sizing for t in years]
    m.site_open = pyo.Var(site_years_continuous, within=pyo.Binary, dense=True)
    m.site_size = pyo.Var(site_years_continuous, within=pyo.NonNegativeReals, dense=True)

    # --- variables: shipments and flows --------------------------------------------------
    single = bool(par["single_sourcing"])
    share_domain = pyo.Binary if single else pyo.UnitInterval
    for leg in FIRST_LEGS:
        m.add_component(f"ship_{leg}", pyo.Var(ship_index[leg], within=share_domain,
                                               dense=True))
    ship = {leg: getattr(m, f"ship_{leg}") for leg in FIRST_LEGS}
    for leg in LATER_LEGS:
        m.add_component(f"flow_{leg}",
                        pyo.Var(flow_index[leg], within=pyo.NonNegativeReals, dense=True))
    flow = {leg: getattr(m, f"flow_{leg}") for leg in LATER_LEGS}
    outsourcing_allowed = bool(par["allow_outsourcing"])
    m.outsourced_share = pyo.Var(source_years if outsourcing_allowed else [],
                                 within=share_domain, dense=True)
    # packs a collection point cannot send on (e.g. damaged packs beyond every site's
    # distance limit) go to licensed third parties from there
    at_collection = [(j, p, t) for j in cps.index for p in products for t in years] \
        if outsourcing_allowed and not data.collection_is_sink else []
    m.outsourced_at_collection = pyo.Var(at_collection, within=pyo.NonNegativeReals,
                                         dense=True)

    # adjacency as (coefficient, variable) terms, built once for every constraint group
    out_terms: dict[tuple[str, str, int], list] = defaultdict(list)  # by (node, product, t)
    in_terms: dict[tuple[str, str, int], list] = defaultdict(list)
    in_total: dict[tuple[str, int], list] = defaultdict(list)  # by (node, t)
    ships_of: dict[tuple[str, int], list] = defaultdict(list)  # by (source, t)
    for leg in FIRST_LEGS:
        var = ship[leg]
        for key in ship_index[leg]:
            i, d, t = key
            v = var[key]
            ships_of[(i, t)].append(v)
            in_total[(d, t)].append((source_total[(i, t)], v))
            for p, tonnes in source_mix[(i, t)].items():
                in_terms[(d, p, t)].append((tonnes, v))
    for leg in LATER_LEGS:
        var = flow[leg]
        for key in flow_index[leg]:
            origin, destination, pid, t = key
            v = var[key]
            out_terms[(origin, pid, t)].append((1.0, v))
            in_terms[(destination, pid, t)].append((1.0, v))
            in_total[(destination, t)].append((1.0, v))
    for (j, p, t) in at_collection:
        out_terms[(j, p, t)].append((1.0, m.outsourced_at_collection[j, p, t]))

    def terms_sum(terms_list, sign: float = 1.0):
        return linear_sum([v for _c, v in terms_list], [sign * c for c, _v in terms_list])

    # --- constraints -------------------------------------------------------------------
    def slack(name: str, index: list) -> pyo.Var | None:
        if not elastic:
            return None
        var = pyo.Var(index, within=pyo.NonNegativeReals, dense=True)
        m.add_component(f"slack_{name}", var)
        nm.slacks[name] = var
        return var

    # supply: every source's packs shipped or outsourced. ``source_active`` is a mutable
    # parameter (1 or 0) so that a coalition solve can switch non-members' sources off
    # without rebuilding the model.
    unserved = slack("supply", source_years)  # in tonnes
    m.source_active = pyo.Param(source_years, initialize=1.0, mutable=True, within=pyo.Reals)

    def supply_rule(_, i, t):
        variables = list(ships_of.get((i, t), []))
        coefficients = [1.0] * len(variables)
        if outsourcing_allowed:
            variables.append(m.outsourced_share[i, t])
            coefficients.append(1.0)
        if unserved is not None:
            variables.append(unserved[i, t])
            coefficients.append(1.0 / source_total[(i, t)])
        return linear_sum(variables, coefficients) == m.source_active[i, t]

    m.supply = pyo.Constraint(source_years, rule=supply_rule)

    def balance_keys(nodes):
        # every (node, product, year) with a flow in or out: an outflow with no inflow
        # must be forced to zero, or revenue downstream would come from nothing
        return [(n, p, t) for n in nodes for p in products for t in years
                if in_terms.get((n, p, t)) or out_terms.get((n, p, t))]

    def balance_rule(_, n, p, t):
        return terms_sum(in_terms.get((n, p, t), []) + [
            (-c, v) for c, v in out_terms.get((n, p, t), [])]) == 0

    if not data.collection_is_sink:
        m.collection_balance = pyo.Constraint(balance_keys(cps.index), rule=balance_rule)

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
        return terms_sum(inflow) <= rhs

    m.collection_capacity = pyo.Constraint(
        [(j, t) for j in cps.index for t in years], rule=collection_capacity_rule
    )
    if not single:  # with single sourcing the capacity row already links (binary shares)
        m.collection_link = pyo.Constraint(
            ship_index["source_collection"],
            rule=lambda _, i, j, t: ship["source_collection"][i, j, t]
            <= m.open_collection_point[j, t],
        )
    m.collection_stays_open = pyo.Constraint(
        [(j, t) for j in cps.index for t in years[1:]],
        rule=lambda _, j, t: m.open_collection_point[j, t] >= m.open_collection_point[j, prev[t]],
    )

    # dismantling sites: sizing (modules or continuous), capacity, balance
    if has_sites:
        by_site: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for k, lv, cap in zip(levels["dismantling_site_id"], levels["level"],
                              levels["capacity_t_per_yr"]):
            by_site[k].append((lv, float(cap)))
        max_level = {k: max(cap for _lv, cap in by_site[k]) for k in by_site}
        existing_sites = [k for k in sites.index if sites.at[k, "existing_level"]]
        existing_cap = {
            k: dict(by_site[k])[sites.at[k, "existing_level"]] for k in existing_sites
        }
        site_years = [(k, t) for k in sites.index for t in years]

        if continuous:
            def site_cap_expr(k, t, at_most=math.inf):
                """Site k's capacity in year t (t/yr)."""
                return m.site_size[k, t]

            def site_open_terms(k, t):
                """(coefficient, variable) terms summing to 1 if site k is open in year t."""
                return [(1.0, m.site_open[k, t])]

            m.site_size_min = pyo.Constraint(
                site_years, rule=lambda _, k, t: m.site_size[k, t]
                >= sizing[k].min_t_per_yr * m.site_open[k, t])
            m.site_size_max = pyo.Constraint(
                site_years, rule=lambda _, k, t: m.site_size[k, t]
                <= sizing[k].max_t_per_yr * m.site_open[k, t])
            m.site_stays_open = pyo.Constraint(
                [(k, t) for k in sites.index for t in years[1:]],
                rule=lambda _, k, t: m.site_open[k, t] >= m.site_open[k, prev[t]])
            for k in existing_sites:
                for t in years:
                    m.site_open[k, t].setlb(1)
                    existing_vars.add(id(m.site_open[k, t]))
        else:
            def site_cap_expr(k, t, at_most=math.inf):
                """Site k's capacity in year t, each level's counted up to ``at_most``."""
                return linear_sum([m.site_level[k, lv, t] for lv, _c in by_site[k]],
                                  [min(cap, at_most) for _lv, cap in by_site[k]])

            def site_open_terms(k, t):
                """(coefficient, variable) terms summing to 1 if site k is open in year t
                (at one of its levels)."""
                return [(1.0, m.site_level[k, lv, t]) for lv, _c in by_site[k]]

            m.site_one_level = pyo.Constraint(
                site_years, rule=lambda _, k, t: terms_sum(site_open_terms(k, t)) <= 1)
        m.site_no_shrink = pyo.Constraint(
            [(k, t) for k in sites.index for t in years[1:]],
            rule=lambda _, k, t: site_cap_expr(k, t) >= site_cap_expr(k, prev[t]),
        )
        m.site_existing = pyo.Constraint(
            [(k, t) for k in existing_sites for t in years],
            rule=lambda _, k, t: site_cap_expr(k, t) >= existing_cap[k],
        )
        site_slack = slack("site_capacity", site_years)

        # A site can take in no more than the supply of the sources that can reach it
        # that year (through a collection point or direct). Early on, with little
        # supply, that is far less than a module, and the relaxation must then open a
        # site in full to take a region's supply, not a sliver of it.
        sites_of_point: dict[str, set[str]] = defaultdict(set)
        for j, k, _p, _t in flow_index["collection_site"]:
            sites_of_point[j].add(k)
        reaching: dict[tuple[str, int], set[str]] = defaultdict(set)  # sources by site
        for leg in FIRST_LEGS:
            for i, d, t in ship_index[leg]:
                for k in (sites_of_point[d] if leg == "source_collection" else (d,)):
                    reaching[(k, t)].add(i)
        site_reach = {(k, t): sum(source_total[(i, t)] for i in sources)
                      for (k, t), sources in reaching.items()}

        def site_capacity_rule(_, k, t):
            inflow = in_total.get((k, t), [])
            if not inflow:
                return pyo.Constraint.Skip
            rhs = site_cap_expr(k, t, at_most=site_reach.get((k, t), 0.0))
            if site_slack is not None:
                rhs = rhs + site_slack[k, t]
            return terms_sum(inflow) <= rhs

        m.site_capacity = pyo.Constraint(site_years, rule=site_capacity_rule)
        if continuous:
            # the same bound on the open binary: the size may exceed what arrives (it
            # never shrinks), so its row alone would let the relaxation open a sliver
            def site_reach_open_rule(_, k, t):
                inflow = in_total.get((k, t), [])
                if not inflow:
                    return pyo.Constraint.Skip
                most = min(max_level[k], site_reach.get((k, t), 0.0))
                if site_slack is not None:
                    return terms_sum(inflow) <= most * m.site_open[k, t] + site_slack[k, t]
                return terms_sum(inflow) <= most * m.site_open[k, t]

            m.site_reach_open = pyo.Constraint(site_years, rule=site_reach_open_rule)
        # strong linking of each collection point's shipment to a site: it can carry no
        # more than the point's capacity, and nothing unless the site is open. Without it
        # the relaxation opens a sliver of a module for each tonne (a very weak bound).
        if flow_index["collection_site"]:
            to_site: dict[tuple[str, str, int], list] = defaultdict(list)
            for key in flow_index["collection_site"]:
                j, k, _p, t = key
                to_site[(j, k, t)].append(flow["collection_site"][key])

            def site_link_collection_rule(_, j, k, t):
                # a point can pass on no more than the supply of the sources that reach
                # it that year (its inflow's coefficients): early on, far less than its
                # capacity. (The elastic model may exceed a point's capacity.)
                reach = sum(co for co, _v in in_total.get((j, t), []))
                bound = min(max_level[k], reach)
                if not elastic:
                    bound = min(bound, cap_j[j])
                return terms_sum([(1.0, v) for v in to_site[(j, k, t)]] + [
                    (-bound * c, v) for c, v in site_open_terms(k, t)]) <= 0

            m.site_link_collection = pyo.Constraint(list(to_site),
                                                    rule=site_link_collection_rule)
        if ship_index["source_site"] and not single:
            m.site_link = pyo.Constraint(
                ship_index["source_site"],
                rule=lambda _, i, k, t: terms_sum([(1.0, ship["source_site"][i, k, t])] + [
                    (-c, v) for c, v in site_open_terms(k, t)]) <= 0,
            )
        if downstream:
            m.site_balance = pyo.Constraint(balance_keys(sites.index), rule=balance_rule)
            # reuse share by chemistry at each site
            reuse_by_site: dict[tuple[str, str, int], list] = defaultdict(list)
            for key in flow_index["site_reuse"]:
                k, _u, p, t = key
                reuse_by_site[(k, chem_of[p], t)].append(flow["site_reuse"][key])
            share = case.chemistries["max_reuse_share"].to_dict()

            def reuse_share_rule(_, k, c, t):
                inflow = [term for p in products if chem_of[p] == c
                          for term in in_terms.get((k, p, t), [])]
                return terms_sum([(1.0, v) for v in reuse_by_site[(k, c, t)]]
                                 + [(-share[c] * co, v) for co, v in inflow]) <= 0

            m.reuse_share = pyo.Constraint(list(reuse_by_site), rule=reuse_share_rule)

    # capacity cover: with no outsourcing every tonne of a year's supply enters a
    # collection point (or a site, where sources ship direct), so the capacity open that
    # year must cover the supply of the sources taking part. Implied by the rows above,
    # but HiGHS does not derive it, and its cover cuts need it: with it HiGHS proves
    # OR-Library capa-8000 at the root node (BENCHMARKS.md, issue 6).
    receivers = [j for j in cps.index if any(in_total.get((j, t)) for t in years)]
    direct_sites = sorted({str(k) for _i, k, _t in ship_index["source_site"]}) \
        if has_sites else []
    finite = all(math.isfinite(cap_j[j]) for j in receivers) and all(
        math.isfinite(cap) for k in direct_sites for _lv, cap in by_site[k])
    if not outsourcing_allowed and not elastic and finite and (receivers or direct_sites):
        supply_of_year: dict[int, list] = defaultdict(list)
        for (i, t), tonnes in source_total.items():
            supply_of_year[t].append((tonnes, m.source_active[i, t]))

        def collection_cover_rule(_, t):
            capacity = linear_sum([m.open_collection_point[j, t] for j in receivers],
                                  [cap_j[j] for j in receivers])
            for k in direct_sites:
                capacity = capacity + site_cap_expr(k, t)
            return capacity >= sum(tonnes * active for tonnes, active in supply_of_year[t])

        m.collection_cover = pyo.Constraint([t for t in years if supply_of_year[t]],
                                            rule=collection_cover_rule)

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
                return terms_sum(inflow) <= rhs

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
            lhs = terms_sum(in_total.get((r, t), []))
            if contract_slack is not None:
                lhs = lhs + contract_slack[r, t]
            return lhs >= minimum[r] * m.open_recycler[r, t]

        m.recycler_min_contract = pyo.Constraint(contract_keys, rule=contract_rule)

    # --- costs (also the objective) -----------------------------------------------------
    emission_factor_t = par["emission_factor_kg_per_tkm"] / 1000.0  # tCO2e per t-km
    carbon_price = par["carbon_price_cny_per_t"]
    recycle_em = (case.chemistries["recycling_emissions_kg_per_t"] / 1000.0).to_dict()
    emissions: dict[int, list[tuple[float, object]]] = defaultdict(list)
    source_owner = case.sources["member_id"].to_dict()
    owner_by_table = {id(t): _owners(t) for t in (case.sources, cps, sites, recyclers, outlets)}

    def _owner(table, fid) -> str:
        return owner_by_table[id(table)][fid]

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
    for leg in FIRST_LEGS:
        if not ship_index[leg]:
            continue
        km_of = dict(zip(zip(data.arcs[leg]["origin"], data.arcs[leg]["destination"]),
                         data.arcs[leg]["km"]))
        category, head_table, head_column = head_cost[leg]
        head_rate = head_table[head_column].to_dict()
        for key in ship_index[leg]:
            i, d, t = key
            v = ship[leg][key]
            km = km_of[(i, d)]
            mix = source_mix[(i, t)]
            total_t = source_total[(i, t)]
            transport = sum(tonnes * data.transport_cost(leg, p, km) for p, tonnes in mix.items())
            if transport:
                terms[("transport", _owner(case.sources, i), t)].append((transport, v))
            if head_rate[d]:
                terms[(category, _owner(head_table, d), t)].append((head_rate[d] * total_t, v))
            if emission_factor_t and km:
                emissions[t].append((emission_factor_t * km * total_t, v))
                if carbon_price:
                    terms[("carbon", _owner(case.sources, i), t)].append(
                        (carbon_price * emission_factor_t * km * total_t, v))
    for leg in LATER_LEGS:
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
        for (i, t) in source_years:
            cost = sum(tonnes * price[chem_of[p]] for p, tonnes in source_mix[(i, t)].items())
            if cost:
                terms[("outsourcing", source_owner[i], t)].append(
                    (cost, m.outsourced_share[i, t]))
        for (j, p, t) in at_collection:
            if price[chem_of[p]]:
                terms[("outsourcing", _owner(cps, j), t)].append(
                    (price[chem_of[p]], m.outsourced_at_collection[j, p, t]))

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
        if continuous:
            break
        owner = _owner(sites, k)
        for t in years:
            if capex:
                terms[("opening", owner, t)].append((float(capex), m.site_level[k, lv, t]))
            if fixed:
                terms[("fixed", owner, t)].append((float(fixed), m.site_level[k, lv, t]))
    for k, size in sizing.items():
        owner = _owner(sites, k)
        for t in years:
            for category, intercept, slope in (
                    ("opening", size.capex_intercept_cny, size.capex_cny_per_t),
                    ("fixed", size.fixed_intercept_cny, size.fixed_cny_per_t)):
                if intercept:
                    terms[(category, owner, t)].append((intercept, m.site_open[k, t]))
                if slope:
                    terms[(category, owner, t)].append((slope, m.site_size[k, t]))

    # policy constraints
    target = par["collection_rate_target"]
    if target > 0 and outsourcing_allowed:
        rate_slack = slack("collection_rate", years)
        total = defaultdict(float)
        by_year: dict[int, list] = defaultdict(list)
        for (i, t) in source_years:
            total[t] += source_total[(i, t)]
            by_year[t].append((source_total[(i, t)], m.outsourced_share[i, t]))
        for (j, p, t) in at_collection:
            by_year[t].append((1.0, m.outsourced_at_collection[j, p, t]))

        def rate_rule(_, t):
            lhs = terms_sum(by_year[t])
            if rate_slack is not None:
                lhs = lhs - rate_slack[t]
            return lhs <= (1 - target) * total[t]

        m.collection_rate = pyo.Constraint([t for t in years if by_year[t]], rule=rate_rule)
    cap = par["emissions_cap_t_per_yr"]
    if math.isfinite(cap):
        em_slack = slack("emissions_cap", years)
        m.emissions_cap = pyo.Constraint(
            years,
            rule=lambda _, t: terms_sum(emissions[t])
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
    nm.source_mix = dict(source_mix)
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
    return nm
