"""What the command line prints: plans, allocations and the search's progress (rich).

Money is shown in CNY million, or in CNY when every figure is small (tiny cases).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, TypedDict

import pandas as pd
from rich.console import Console
from rich.status import Status
from rich.table import Table

# Output that is not a terminal (a log, a pipe) gets wide tables rather than cut ones.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)


class _MoneyScale(TypedDict):
    """The unit money is shown in: the divisor and its name."""

    scale: float
    unit: str


MONEY_SCALE: _MoneyScale = {"scale": 1e6, "unit": "CNY million"}


def set_money_unit(*values: float) -> None:
    """Show money in CNY million, or in CNY when every figure is small (tiny cases)."""
    finite = [abs(v) for v in values if v == v and abs(v) != float("inf")]
    big = max(finite, default=0.0) >= 1e6
    MONEY_SCALE.update({"scale": 1e6 if big else 1.0, "unit": "CNY million" if big else "CNY"})


def money(value: float) -> str:
    """An amount in the unit chosen by :func:`set_money_unit`, two decimals."""
    return f"{value / MONEY_SCALE['scale']:,.2f}"


def print_split(console: Console, title: str, key: str, headers: list[str],
                rows: list[tuple[str, list[str]]], bold_last: bool = False) -> None:
    """Print a table of right-aligned value columns, split into as many tables as it takes
    to fit the console's width (each repeats the ``key`` column), so that a table of many
    members or years stays readable in a 100-column terminal."""
    key_width = max([len(key), *(len(label) for label, _ in rows)])
    widths = [max([len(h), *(len(values[i]) for _, values in rows)])
              for i, h in enumerate(headers)]
    blocks: list[list[int]] = [[]]
    used = 1 + key_width + 3  # the left border, the key column and its padding
    for i, width in enumerate(widths):
        if blocks[-1] and used + width + 3 > console.width:
            blocks.append([])
            used = 1 + key_width + 3
        blocks[-1].append(i)
        used += width + 3
    size = -(-len(widths) // len(blocks))  # the same number of columns in each part, if
    even = [list(range(i, min(i + size, len(widths)))) for i in range(0, len(widths), size)]
    if len(even) == len(blocks) and all(  # that fits too
            1 + key_width + 3 + sum(widths[i] + 3 for i in block) <= console.width
            for block in even):
        blocks = even
    for n, block in enumerate(blocks, start=1):
        part = f" ({n} of {len(blocks)})" if len(blocks) > 1 else ""
        table = Table(title=title + part)
        table.add_column(key, no_wrap=True)
        for i in block:
            table.add_column(headers[i], justify="right", no_wrap=True)
        for r, (label, values) in enumerate(rows):
            style = "bold" if bold_last and r == len(rows) - 1 else None
            table.add_row(label, *[values[i] for i in block], style=style)
        console.print(table)


def print_plan(plan: Any, console: Console = console) -> None:
    """Readable summary of a Plan: status, sites per year, tonnes, costs, KPIs."""
    status_style = "green" if plan.status == "optimal" else "yellow"
    set_money_unit(plan.objective, *(plan.costs["discounted_cny"].abs().tolist()
                                      if len(plan.costs) else []))
    console.print(
        f"[bold]{plan.case_name}[/bold]: status [{status_style}]{plan.status}[/] "
        f"({plan.termination}); objective {money(plan.objective)} {MONEY_SCALE['unit']}, "
        f"bound {money(plan.bound)} {MONEY_SCALE['unit']}, gap {plan.gap:.4%}"
    )
    times = ", ".join(f"{k.removesuffix('_s')} {v:.2f} s" for k, v in plan.timings.items())
    console.print(f"times: {times}")
    if plan.status == "infeasible":
        if plan.explanation is not None:
            table = Table(title="Why the case is infeasible (elastic relaxation)")
            for col in ("constraint", "shortfall", "unit", "message"):
                table.add_column(col)
            for row in plan.explanation.head(20).itertuples():
                table.add_row(row.constraint, f"{row.shortfall:,.2f}", row.unit, row.message)
            console.print(table)
        return
    if not plan.has_solution:
        return
    sites = plan.sites
    years = sorted(sites["year"].unique())
    opened = sites[sites["opened"]]
    rows = []
    for kind, group in opened.groupby("kind", sort=False):
        counts = group.groupby("year").size().reindex(years, fill_value=0)
        rows.append((str(kind), [str(int(c)) for c in counts]))
    print_split(console, "Sites open per year", "kind", [str(y) for y in years], rows)

    rows = []
    if len(plan.flows):
        pivot = plan.flows.pivot_table(index="leg", columns="year", values="tonnes",
                                       aggfunc="sum", fill_value=0.0, sort=False)
        for leg, row in pivot.iterrows():
            rows.append((str(leg), [f"{row.get(y, 0.0):,.0f}" for y in years]))
    if len(plan.outsourced):
        by_year = plan.outsourced.groupby("year")["tonnes"].sum()
        rows.append(("outsourced", [f"{by_year.get(y, 0.0):,.0f}" for y in years]))
    print_split(console, "Tonnes through each echelon (t)", "leg", [str(y) for y in years],
                rows)

    pivot = plan.costs.pivot_table(index="category", columns="member", values="discounted_cny",
                                   aggfunc="sum", fill_value=0.0)
    rows = [(str(category), [*(money(v) for v in row), money(row.sum())])
            for category, row in pivot.iterrows()]
    rows.append(("total", [*(money(v) for v in pivot.sum()), money(pivot.to_numpy().sum())]))
    print_split(console, f"Discounted cost by category and member ({MONEY_SCALE['unit']})",
                "category", [*(str(m) for m in pivot.columns), "total"], rows, bold_last=True)

    kpis = plan.kpis.set_index("name")
    console.print(
        f"collection rate {kpis.at['collection_rate', 'value']:.1%}; "
        f"collected {kpis.at['collected_t', 'value']:,.0f} t, outsourced "
        f"{kpis.at['outsourced_t', 'value']:,.0f} t; CO2 {kpis.at['emissions_t', 'value']:,.0f} "
        f"tCO2e; transport {kpis.at['transport_tkm', 'value'] / 1e6:,.1f} M t-km"
    )


class SolveProgress:
    """Shows the MIP search (best plan, bound, gap) while HiGHS runs.

    The solver's output capture takes over stdout during a solve, so this writes to its
    own copy of the terminal: a live status line on a terminal, else a line every 30 s.
    """

    def __init__(self, every_s: float = 30.0):
        self.every_s = every_s
        self.stream = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
        self.console = Console(file=self.stream, width=console.width)
        self.status: Status | None = None
        self.last = -float("inf")

    def __enter__(self) -> SolveProgress:
        if self.console.is_terminal:
            self.status = self.console.status("building and solving the network model "
                                              "(HiGHS) ...")
            self.status.start()
        else:
            self.console.print("building and solving the network model (HiGHS) ...")
        return self

    def __call__(self, state: dict[str, float]) -> None:
        """Show one progress report of the search (best plan, bound, gap in CNY)."""
        set_money_unit(state["objective"])
        best = state["objective"]
        phase = state.get("phase", "searching")
        if abs(best) < float("inf"):
            bound, gap = state["bound"], state["gap"]
            bound_text = money(bound) if abs(bound) < float("inf") else "-"
            gap_text = f"{gap:.2%}" if abs(gap) < float("inf") else "-"
            text = (f"{phase} {state['time_s']:,.0f} s: best plan {money(best)}, bound "
                    f"{bound_text} {MONEY_SCALE['unit']}, gap {gap_text}")
        else:
            text = f"{phase} {state['time_s']:,.0f} s: no plan yet"
        if self.status is not None:
            self.status.update(text)
        elif time.monotonic() - self.last >= self.every_s:  # (time_s restarts per phase)
            self.last = time.monotonic()
            self.console.print(text, markup=False, highlight=False)

    def __exit__(self, *exc: object) -> None:
        if self.status is not None:
            self.status.stop()
        self.stream.close()


def print_standalone_split(table: pd.DataFrame, console: Console = console) -> None:
    """The savings split from the members' stand-alone costs alone (one row per rule, one
    column per member: cost, then savings %), each stand-alone cost with its gap."""
    grand = table.attrs.get("grand_savings_cny", float("nan"))
    set_money_unit(grand, *table["standalone_cost"].tolist())
    unit = MONEY_SCALE["unit"]
    console.print(f"the alliance saves {money(grand)} {unit} against every member going "
                  "alone (each member alone solved; no other coalition)", markup=False)
    alone = table.groupby("member", sort=False)[["standalone_cost", "standalone_gap"]].first()
    names = [str(m) for m in alone.index]
    cost = table.pivot(index="method", columns="member", values="allocated_cost")
    pct = table.pivot(index="method", columns="member", values="savings_pct")
    methods = list(dict.fromkeys(table["method"]))
    rows = [("alone", [money(alone.at[m, "standalone_cost"]) for m in alone.index]),
            ("alone: gap", [f"{alone.at[m, 'standalone_gap']:.2%}" for m in alone.index])]
    rows += [(str(method), [money(cost.at[method, m]) for m in alone.index])
             for method in methods]
    print_split(console, f"Allocated cost, {unit}", "rule", names, rows)
    # (a share of a stand-alone cost of zero or below says nothing)
    rows = [(str(method), [f"{pct.at[method, m]:.1f}%"
                           if alone.at[m, "standalone_cost"] > 0 else "-"
                           for m in alone.index]) for method in methods]
    print_split(console, "Savings against going alone, %", "rule", names, rows)
    if "proportional" not in methods:
        console.print("no proportional split: a member's stand-alone cost is below zero "
                      "(it earns alone)", markup=False)


def print_allocation(members: pd.DataFrame, stability: pd.DataFrame, grand: float,
                     console: Console = console) -> None:
    """Allocations, one row per method and one column per member (cost, then savings %),
    and their core stability."""
    set_money_unit(grand, *members["standalone_cost"].tolist())
    unit = MONEY_SCALE["unit"]
    console.print(f"the alliance saves {money(grand)} {unit} against every member going alone")
    methods = list(dict.fromkeys(members["method"]))
    cost = members.pivot(index="method", columns="member", values="allocated_cost")
    pct = members.pivot(index="method", columns="member", values="savings_pct")
    alone = members.groupby("member", sort=False)["standalone_cost"].first()
    names = [str(m) for m in alone.index]
    rows = [("alone", [money(alone[m]) for m in alone.index])]
    rows += [(str(method), [money(cost.at[method, m]) for m in alone.index])
             for method in methods]
    print_split(console, f"Allocated cost, {unit}", "method", names, rows)
    rows = [(str(method), [f"{pct.at[method, m]:.1f}%" for m in alone.index])
            for method in methods]
    print_split(console, "Savings against going alone, %", "method", names, rows)
    interval = "in_interval_core" in stability.columns
    table = Table(title="Stability: is each allocation in the core?")
    columns = ["method", "in core", "most-blocking coalition", f"excess ({unit})"]
    if interval:  # each coalition's cost is known to within its proven bound
        columns += [f"excess could be more by ({unit})", "in core within the bounds"]
    for col in columns:
        table.add_column(col)
    for row in stability.itertuples():
        if not row.defined:
            table.add_row(row.method, "undefined", *[""] * (len(columns) - 2))
            continue
        blocking = row.most_blocking if isinstance(row.most_blocking, str) else "-"
        cells = [row.method, "yes" if row.in_core else "[red]no[/red]", blocking,
                 money(row.excess)]
        if interval:
            verdict = {True: "yes", False: "[red]no[/red]"}.get(row.in_interval_core,
                                                                "unknown")
            cells += [money(row.excess_uncertainty), verdict]
        table.add_row(*cells)
    console.print(table)
