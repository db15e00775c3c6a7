"""A plan of the whole model improved by moving its dismantling sites' opening years, one
site at a time, each move costed by the LP of the whole model.

A site the forward pass (:mod:`netopt.model.forward`) opens early is sized for the dealers
it serves then; once a later site takes some of them, the whole model, where a site never
shrinks, pays for the capacity left idle. Where the model is too large for the
neighbourhoods' MIPs (:mod:`netopt.model.neighbourhood`), each move here is one LP: the
plan's openings fixed, one site opened a year later, a year earlier, never, or taken
over by a nearby site that opens later, and the sizes and flows re-optimised. The LP's
reduced costs at the plan rank the moves of a kind (the first-order change in cost of
each opening flipped); a move that lowers the cost is kept at once, and the sweeps go
on until one keeps nothing or the time is spent (BENCHMARKS.md, 'Scale: where 3,000
dealers lose the plan').

The LPs run in the HiGHS instance that holds the model, its integer columns made
continuous while the moves last: a move changes only the bounds of the columns it
flips, so each LP starts from the last one's basis, and yields its reduced costs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from netopt.geo import haversine_km
from netopt.model.build import NetworkModel
from netopt.model.highs import (
    Budget,
    binaries_fixed,
    highs_columns,
    load_values,
    loaded_highs,
    run_interruptibly,
)
from netopt.plan import relative_gap

#: A site's opening year may be taken over by this many of the nearest sites that open
#: after it.
TAKEOVER_NEIGHBOURS = 2
#: The kinds of move, in the order they are tried: a reduced cost is a poor guess of a
#: site's whole opening changed, so it ranks the moves within a kind only. On the
#: default case, a year later or earlier gained up to 2.5 M; never, up to 0.7 M; no
#: take-over gained (BENCHMARKS.md, 'Scale: where 3,000 dealers lose the plan').
MOVE_KINDS = ("a year later", "never", "a year earlier", "taken over")
#: A move must lower the cost by at least this share of it to be kept: less is the
#: LP's tolerance, and chasing it spends the time for nothing (0.07 M at 3,000 dealers).
MIN_GAIN = 5e-5
#: No LP starts with fewer seconds than this left.
MIN_SECONDS = 1.0
#: The kept moves' table (``plan["site_moves"]``).
MOVE_COLUMNS = ["sweep", "dismantling_site_id", "move", "opens", "objective_cny",
                "ended_s"]
#: (what the move is, the site moved, the first year open of each site it changes;
#: None: never)
Move = tuple[str, str, dict[str, "int | None"]]


def held_sites(nm: NetworkModel) -> set[str]:
    """The sites whose opening the model holds (an existing site, or one fixed): no move
    changes them."""
    return {str(k) for (k, _t), v in nm.model.site_open.items()
            if v.fixed or (v.lb is not None and v.lb > 0.5)}


def _opening_years(opening: dict[tuple[str, int], float], held: set[str],
                   ) -> dict[str, int | None]:
    """The first year each site not ``held`` is open in ``opening`` (0/1 by (site,
    year); None: never)."""
    first: dict[str, int | None] = {}
    for (k, t), value in opening.items():
        if k in held:
            continue
        current = first.setdefault(k, None)
        if value > 0.5 and (current is None or t < current):
            first[k] = t
    return first


def _nearest_later(nm: NetworkModel, first: dict[str, int | None], site: str,
                   ) -> list[str]:
    """The open sites that open after ``site``, nearest first (great-circle), at most
    TAKEOVER_NEIGHBOURS of them."""
    year = first[site]
    later = [k for k, t in first.items() if t is not None and year is not None and t > year]
    if not later:
        return []
    sites = nm.data.case.dismantling_sites
    km = haversine_km(sites.at[site, "lat"], sites.at[site, "lon"],
                      sites.loc[later, "lat"].to_numpy(), sites.loc[later, "lon"].to_numpy())
    return [later[i] for i in np.argsort(km, kind="stable")[:TAKEOVER_NEIGHBOURS]]


def site_moves(nm: NetworkModel, opening: dict[tuple[str, int], float],
               held: set[str]) -> list[Move]:
    """The moves of each site open in ``opening`` (0/1 by (site, year)) but those
    ``held``: opened a year later, never, a year earlier, and taken over from its
    opening year by one of the nearest sites that open later."""
    years = sorted({t for (_k, t) in opening})
    first = _opening_years(opening, held)
    moves: list[Move] = []
    for k, year in sorted(first.items()):
        if year is None:
            continue
        at = years.index(year)
        if at + 1 < len(years):
            moves.append(("a year later", k, {k: years[at + 1]}))
        moves.append(("never", k, {k: None}))
        if at > 0:
            moves.append(("a year earlier", k, {k: years[at - 1]}))
        moves.extend((f"taken over by {other}", k, {k: None, other: year})
                     for other in _nearest_later(nm, first, k))
    return moves


def moved(opening: dict[tuple[str, int], float],
          opens: dict[str, int | None]) -> dict[tuple[str, int], float]:
    """``opening`` (0/1 by (site, year)) with each site in ``opens`` open from that year
    on (None: never)."""
    after = dict(opening)
    for k, t in opening:
        if k in opens:
            year = opens[k]
            after[(k, t)] = 1.0 if year is not None and t >= year else 0.0
    return after


def _ranked(moves: list[Move], opening: dict[tuple[str, int], float],
            reduced_cost: dict[tuple[str, int], float]) -> list[Move]:
    """``moves`` by kind (MOVE_KINDS), and within a kind by the gain the LP's reduced
    costs at ``opening`` promise, largest first (an opening closed gains its reduced
    cost, one opened loses it)."""
    def order(move: Move) -> tuple[int, float]:
        after = moved(opening, move[2])
        promise = sum(reduced_cost[key] * (opening[key] - after[key])
                      for key in after if key[0] in move[2])
        kind = next(i for i, name in enumerate(MOVE_KINDS) if move[0].startswith(name))
        return kind, -promise
    return sorted(moves, key=order)


class _FixedLP:
    """The whole model's LP, every binary fixed, in the HiGHS that holds it: the sites'
    openings changed by their columns' bounds, each LP from the last one's basis."""

    def __init__(self, nm: NetworkModel, persistent: Any) -> None:
        self.nm = nm
        self.highs: Any = loaded_highs(persistent)
        assert self.highs is not None
        columns = highs_columns(persistent)
        self.columns = {(str(k), t): columns[id(v)]
                        for (k, t), v in nm.model.site_open.items() if id(v) in columns}
        self.index = np.array(list(self.columns.values()), dtype=np.int32)
        self.var_columns = columns

    def solve(self, opening: dict[tuple[str, int], float],
              time_limit: float | None) -> tuple[float, np.ndarray, np.ndarray] | None:
        """Cost (CNY), column values and reduced costs of the LP with the sites open as
        ``opening`` (every site and year) says; None if it does not end optimal (time,
        Ctrl-C)."""
        import highspy

        value = np.array([opening[key] for key in self.columns], dtype=float)
        self.highs.changeColsBounds(len(self.index), self.index, value, value)
        self.highs.setOptionValue("time_limit", float("inf") if time_limit is None
                                  else max(0.1, float(time_limit)))
        _, interrupted = run_interruptibly(self.highs.run, self.highs, finish_first=True)
        self.nm.interrupted = self.nm.interrupted or interrupted
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        solution = self.highs.getSolution()
        return (float(self.highs.getInfo().objective_function_value),
                np.asarray(solution.col_value), np.asarray(solution.col_dual))

    def reduced_costs(self, duals: np.ndarray) -> dict[tuple[str, int], float]:
        """Each site opening's reduced cost (CNY per opening) in ``duals``."""
        return {key: float(duals[column]) for key, column in self.columns.items()}

    def values(self, start: dict[int, float], columns: np.ndarray) -> dict[int, float]:
        """``start`` (values by ``id`` of variable) with every column's value."""
        values = dict(start)
        values.update({var_id: float(columns[c]) for var_id, c in self.var_columns.items()})
        return values


@contextlib.contextmanager
def _as_lp(nm: NetworkModel, persistent: Any, values: dict[int, float],
           ) -> Iterator[_FixedLP]:
    """The model's binaries fixed at ``values`` in ``persistent``'s HiGHS, its integer
    columns continuous and its log off; all as it was after the ``with`` block."""
    import highspy

    with binaries_fixed(nm, values, persistent=persistent):
        highs = loaded_highs(persistent)
        assert highs is not None  # (binaries_fixed loads the model)
        n = highs.getNumCol()
        index = np.arange(n, dtype=np.int32)
        integrality = list(highs.getLp().integrality_)
        # (highspy returns (status, value))
        options = {name: highs.getOptionValue(name)[1]
                   for name in ("time_limit", "output_flag")}
        highs.setOptionValue("output_flag", False)
        if integrality:
            highs.changeColsIntegrality(
                n, index, np.array([highspy.HighsVarType.kContinuous] * n))
        try:
            yield _FixedLP(nm, persistent)
        finally:
            if integrality:
                highs.changeColsIntegrality(n, index, np.array(integrality))
            for name, value in options.items():
                highs.setOptionValue(name, value)


def improve_by_site_moves(nm: NetworkModel, start: dict[str, Any], persistent: Any, *,
                          time_limit: float | Budget | None, bound: float = -float("inf"),
                          progress: Callable[[dict[str, Any]], None] | None = None,
                          ) -> dict[str, Any]:
    """``start`` (a plan of the whole model ``nm``: ``objective`` in CNY and ``values``)
    improved by moving its sites' opening years within ``time_limit`` (seconds, or a
    :class:`~netopt.model.highs.Budget`); ``persistent`` (pyomo's HiGHS) is loaded with
    the model if it is not yet.

    Each sweep ranks the moves of the plan it starts from (:func:`_ranked`) and tries
    them in turn, keeping each that gains; a move of a site that a kept move changed
    waits for the next sweep. The sweeps end when one keeps nothing, or the time is
    spent (HiGHS stops the LP under way at the limit).

    Returns the plan with ``objective``, ``values``, ``site_moves`` (the moves kept, one
    dict each with MOVE_COLUMNS) and ``site_moves_tried`` (how many moves were costed);
    the model holds it. ``bound`` (CNY) is only reported in ``progress``'s calls."""
    budget = Budget.of(time_limit)
    best, values = start["objective"], start["values"]
    kept: list[dict[str, Any]] = []
    tried, sweep = 0, 0
    site_open = nm.model.site_open
    if not len(site_open) or budget.spent(MIN_SECONDS):
        return {**start, "site_moves": kept, "site_moves_tried": tried}
    opening = {(str(k), t): round(values.get(id(v), 0.0)) for (k, t), v in site_open.items()}
    held = held_sites(nm)
    with _as_lp(nm, persistent, values) as lp:
        solved = lp.solve(opening, budget.left())
        while solved is not None and not nm.interrupted:
            sweep += 1
            changed: set[str] = set()
            reduced_cost = lp.reduced_costs(solved[2])
            for move, site, opens in _ranked(site_moves(nm, opening, held), opening,
                                             reduced_cost):
                if nm.interrupted or budget.spent(MIN_SECONDS):
                    break
                if changed & set(opens):
                    continue
                trial = moved(opening, opens)
                result = lp.solve(trial, budget.left())
                tried += 1
                if result is None or not result[0] < best - MIN_GAIN * abs(best):
                    continue
                # (its reduced costs rank the next sweep)
                best, opening, solved = result[0], trial, result
                changed.update(opens)
                values = lp.values(values, result[1])
                kept.append({"sweep": sweep, "dismantling_site_id": site, "move": move,
                             "opens": opens[site], "objective_cny": best,
                             "ended_s": budget.elapsed()})
                if progress is not None:
                    progress({"time_s": budget.elapsed(), "objective": best,
                              "bound": bound, "gap": relative_gap(best, bound),
                              "nodes": 0.0, "improved": 1.0,
                              "phase": f"the sites' moves: {site} {move}"})
            if not changed or budget.spent(MIN_SECONDS):
                break
    load_values(nm, values)
    return {**start, "objective": best, "values": values, "site_moves": kept,
            "site_moves_tried": tried}
