"""Branch and bound over the dismantling sites' link, each node bounded by the years alone.

The years' bound (netopt.model.bounds) drops the rows that link the years; on the
default case its years keep the sites' openings nested but shrink five sites eight
times (BENCHMARKS.md, 'Where the gap is'). This branches on those shrinks. A node holds
bounds on the sites' sizes year by year; its bound is the sum of the years' proven
bounds, each year alone within the node's bounds. Take the node of the lowest bound and
the largest shrink of its years' solutions, site k from year t-1 (a t/yr) to year t
(b < a), and split at s = (a + b) / 2:

- down: size[k, y] <= s for every year y < t (a site never shrinks, so size[k, t-1]
  <= s binds every year before it);
- up: size[k, y] >= s for every year y >= t.

Every plan of the whole case that keeps the link lies in one child, so the lowest bound
over the open nodes bounds the whole case. A child solves again only the years whose
solution breaks its new bounds; the others keep their solution and bound. A year's
"size" is what its plan needs (``--needed``: the tonnes the site takes in, at least its
smallest size when open) or the size the year's MIP reports, which a MIP stopped at its
gap may leave larger than needed. The collection points', recyclers' and outlets' links
stay dropped (cheap, 'Where the gap is').

    python benchmarks/years_branching.py --seconds 1800 --needed

Prints the root's bound, then each node: the shrink it splits, what each child gained,
the lowest bound over the open nodes (discounted CNY million) and the seconds so far;
each year's MIP to ``--gap`` on one HiGHS thread, ``--workers`` side by side.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import math
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import netopt
from netopt.datasets import data_path
from netopt.model.bounds import year_case
from netopt.model.build import build_model
from netopt.model.extract import extract_plan
from netopt.model.forward import _chosen
from netopt.model.highs import run_solver
from netopt.model.network import discount_factors, prepare

_CASE: netopt.Case | None = None
_NEEDED = False


def _start_worker(path: str, needed: bool) -> None:
    global _CASE, _NEEDED
    _CASE = netopt.load_case(path)
    _NEEDED = needed


def year_within(year: int, weight: float, lower: dict[str, float],
                upper: dict[str, float], gap: float, seconds: float,
                ) -> tuple[int, float, dict[str, float]]:
    """``year`` alone with each site's size (t/yr) held within ``lower`` and ``upper``:
    its proven bound (CNY, discounted by ``weight``) and each open site's size."""
    assert _CASE is not None
    nm = build_model(prepare(year_case(_CASE, year)))
    m = nm.model
    for k, low in lower.items():
        m.site_size[k, year].setlb(low)
    for k, high in upper.items():
        m.site_size[k, year].setub(high)
    result = run_solver(nm, mip_gap=gap, time_limit=seconds, threads=1)
    bound = result.bound if math.isfinite(result.bound) else -math.inf
    if _NEEDED:
        smallest = nm.data.site_sizing()
        plan = extract_plan(nm, status=result.status, gap=result.gap)
        sites = plan.sites.query("kind == 'dismantling_site' and opened")
        sizes = {k: max(flow, smallest[k].min_t_per_yr, lower.get(k, 0.0))
                 for k, flow in zip(sites["id"], sites["throughput_t"])}
    else:
        sizes = _chosen(nm, year)["sizes"]
    return year, weight * bound, sizes


@dataclass
class Node:
    """Bounds on the sites' sizes (t/yr) by year, and each year's bound and sizes."""

    lower: dict[int, dict[str, float]]
    upper: dict[int, dict[str, float]]
    bound: dict[int, float]
    sizes: dict[int, dict[str, float]]
    depth: int = 0
    total: float = field(init=False)

    def __post_init__(self) -> None:
        self.total = sum(self.bound.values())


def largest_shrink(node: Node, years: list[int], tolerance: float,
                   ) -> tuple[float, str, int] | None:
    """(t/yr, site, year t) of the node's largest shrink from year t-1 to t, if any is
    above ``tolerance``."""
    worst = None
    for before, t in itertools.pairwise(years):
        for k, size in node.sizes[before].items():
            shrink = size - node.sizes[t].get(k, 0.0)
            if shrink > tolerance and (worst is None or shrink > worst[0]):
                worst = (shrink, k, t)
    return worst


def split(node: Node, years: list[int], k: str, t: int, s: float,
          ) -> list[tuple[str, dict, dict, list[int]]]:
    """The two children of splitting site ``k``'s size at ``s`` (t/yr) between years
    t-1 and ``t``: (side, lower, upper, the years to solve again) each."""
    children = []
    for side in ("down", "up"):
        lower = {y: dict(v) for y, v in node.lower.items()}
        upper = {y: dict(v) for y, v in node.upper.items()}
        again = []
        for y in years:
            size = node.sizes[y].get(k, 0.0)
            if side == "down" and y < t:
                upper[y][k] = min(upper[y].get(k, math.inf), s)
                if size > s + 1e-6:
                    again.append(y)
            elif side == "up" and y >= t:
                lower[y][k] = max(lower[y].get(k, 0.0), s)
                if size < s - 1e-6:
                    again.append(y)
        if all(lower[y].get(k, 0.0) <= upper[y].get(k, math.inf) + 1e-6 for y in years):
            children.append((side, lower, upper, again))
    return children


def branch_and_bound(args: argparse.Namespace) -> None:
    path = str(data_path("china"))
    case = netopt.load_case(path)
    years = list(case.years)
    factors = discount_factors(years, case.parameters["discount_rate"])
    clock = time.perf_counter()
    order = itertools.count()
    with ProcessPoolExecutor(args.workers, initializer=_start_worker,
                             initargs=(path, args.needed)) as pool:
        def solve(tasks: list[tuple[int, dict, dict]]) -> list[tuple[int, float, dict]]:
            futures = [pool.submit(year_within, y, factors[y], low, high, args.gap,
                                   args.year_seconds) for y, low, high in tasks]
            return [f.result() for f in futures]

        solved = solve([(y, {}, {}) for y in years])
        root = Node({y: {} for y in years}, {y: {} for y in years},
                    {y: b for y, b, _s in solved}, {y: s for y, _b, s in solved})
        print(f"root: {root.total / 1e6:,.2f} M ({time.perf_counter() - clock:.0f} s)",
              flush=True)
        heap = [(root.total, next(order), root)]
        nodes = 0
        while heap and time.perf_counter() - clock < args.seconds:
            _total, _n, node = heapq.heappop(heap)
            shrink = largest_shrink(node, years, args.tolerance)
            if shrink is None:
                print(f"the lowest node keeps the sites' link: {node.total / 1e6:,.2f} M")
                heapq.heappush(heap, (node.total, next(order), node))
                break
            amount, k, t = shrink
            s = (node.sizes[years[years.index(t) - 1]][k] + node.sizes[t].get(k, 0.0)) / 2
            children = split(node, years, k, t, s)
            solved = iter(solve([(y, low[y], high[y]) for _side, low, high, again
                                 in children for y in again]))
            gains = []
            for side, low, high, again in children:
                bound, sizes = dict(node.bound), dict(node.sizes)
                for y in again:
                    _y, year_bound, year_sizes = next(solved)
                    bound[y], sizes[y] = max(year_bound, node.bound[y]), year_sizes
                child = Node(low, high, bound, sizes, node.depth + 1)
                gains.append(f"{side} +{(child.total - node.total) / 1e6:.2f} M "
                             f"({len(again)} years)")
                if child.total < args.incumbent * 1e6:
                    heapq.heappush(heap, (child.total, next(order), child))
            nodes += 1
            lowest = heap[0][0] if heap else math.inf
            print(f"node {nodes} (depth {node.depth}): {k} {t} shrinks {amount:,.0f} t/yr, "
                  f"split at {s:,.0f}: {', '.join(gains)}; lowest {lowest / 1e6:,.2f} M, "
                  f"{len(heap)} open ({time.perf_counter() - clock:.0f} s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gap", type=float, default=1e-3, help="each year's MIP gap")
    parser.add_argument("--year-seconds", type=float, default=120.0)
    parser.add_argument("--seconds", type=float, default=1800.0)
    parser.add_argument("--tolerance", type=float, default=100.0,
                        help="shrinks below this (t/yr) are not split")
    parser.add_argument("--needed", action="store_true",
                        help="a year's size of a site is what its plan takes in")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--incumbent", type=float, default=-1_566.55,
                        help="a plan's cost (CNY million): nodes above it are dropped")
    branch_and_bound(parser.parse_args())


if __name__ == "__main__":
    main()
