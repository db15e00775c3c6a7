"""Batches of model specs: solve every spec on one executor, one result folder each.

``run_batch(["models/"], executor="local:2", out="runs")`` reads and checks every spec
first (a bad spec stops the batch before any solve: :class:`netopt.CaseError`), applies
each to its case, and solves the specs that are not done yet, on any executor with
``submit``: a local process pool (``local[:N]``, "spawn" processes: HiGHS breaks in forked
children), a running dask.distributed scheduler (``dask:ADDRESS``), a LocalCluster started
for the batch (``dask-local[:N]``), or an executor or ``dask.distributed.Client`` passed
in. The same code path serves all of them; a spec's coalition solves (``[allocation]``) go
to the same executor through :func:`netopt.game.coalition_values`.

Each spec's result is written into ``out/<spec name>/`` atomically: the plan tables,
``plan.json``, the allocation tables when they were computed, a copy of the spec
(``spec.toml``) and ``run.json`` (the run record: spec, input hash, versions, status,
objective, bound, gap, times). The folder is written beside its final place and renamed
into it, so a folder under a spec's name is always complete.

The input hash covers the spec's content and the content of the case it produces
(:meth:`netopt.Case.content_hash`): a spec whose folder holds a run record with the same
hash is skipped, so a stopped batch resumes where it stopped and a changed spec (or
case) runs again. A spec that fails (its case does not load, its solve raises, its plan
is infeasible) is reported and the others go on. ``comparison.csv`` in ``out`` compares
the specs side by side.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import platform
import shutil
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from rich.markup import escape

from netopt.case import load_case
from netopt.errors import CaseError
from netopt.files import jsonable, write_folder_atomically
from netopt.game import allocate_savings
from netopt.model.solve import solve
from netopt.plan import OPTIMAL
from netopt.pool import local_pool
from netopt.spec import Spec, load_specs
from netopt.version import __version__

RUN_RECORD = "run.json"
COMPARISON = "comparison.csv"
SPEC_COPY = "spec.toml"
_STAGING = ".partial-"  # staging folders: out/.<name>.partial-XXXX
_COALITION_CACHE = ".coalitions"

#: Columns of the comparison table (one row per spec).
COMPARISON_COLUMNS = [
    "spec", "state", "ok", "status", "total_cost_cny", "gap", "savings_cny", "savings_pct",
    "sites_opened", "collection_points_opened", "dismantling_sites_opened",
    "collection_rate", "co2_t", "seconds", "finished_at", "folder", "message",
]


class BatchError(ValueError):
    """Bad batch input that no spec file names (the executor, the output folder)."""


# --- executors ---------------------------------------------------------------------------

def parse_executor(text: str) -> tuple[str, str | int | None]:
    """``local[:N]``, ``dask:ADDRESS`` or ``dask-local[:N]`` -> (kind, N or address)."""
    kind, _, rest = text.strip().partition(":")
    if kind in ("local", "dask-local"):
        if not rest:
            return kind, None
        if rest.isdigit() and int(rest) >= 1:
            return kind, int(rest)
        raise BatchError(f"--executor {text}: the number of workers must be a whole number "
                         ">= 1 (e.g. local:2)")
    if kind == "dask":
        if not rest:
            raise BatchError(f"--executor {text}: give the scheduler's address "
                             "(dask:tcp://host:8786)")
        return kind, rest
    raise BatchError(f"--executor {text}: choose local[:N], dask:ADDRESS or dask-local[:N]")


@contextlib.contextmanager
def open_executor(executor: Any = None, *, workers: int | None = None,
                  tasks: int | None = None) -> Iterator[tuple[Any, str]]:
    """An executor and its label: started here from a text (and stopped at the end), or
    passed through as given (an object with ``submit``, left running).

    ``local`` without N gets ``workers`` or one process per core (no more than ``tasks``).
    """
    if executor is not None and not isinstance(executor, str):
        if not hasattr(executor, "submit"):
            raise BatchError(f"executor {executor!r} has no submit method")
        yield executor, _label(executor)
        return
    kind, arg = parse_executor(executor or "local")
    cores = os.cpu_count() or 1
    if kind == "local":
        assert not isinstance(arg, str)  # parse_executor gives local a count or None
        n = arg or workers or max(1, min(cores, tasks or cores))
        with local_pool(n) as pool:
            yield pool, f"local:{n}"
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - distributed is a dependency
        raise BatchError("the dask executors need dask.distributed: pip install "
                         "'dask[distributed]'") from exc
    if kind == "dask":
        try:
            client = Client(arg, timeout="20s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise BatchError(f"--executor dask:{arg}: cannot reach the scheduler ({exc})") \
                from None
        try:
            yield client, f"dask:{arg}"
        finally:
            client.close()
        return
    assert not isinstance(arg, str)  # parse_executor gives dask-local a count or None
    n = arg or workers or cores
    import logging

    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR)
    client = Client(cluster)
    try:
        yield client, f"dask-local:{n}"
    finally:
        client.close()
        cluster.close()


def _label(executor: Any) -> str:
    module = type(executor).__module__
    if module.startswith("distributed"):
        scheduler = getattr(executor, "scheduler", None)
        return f"dask:{getattr(scheduler, 'address', '?')}"
    workers = getattr(executor, "_max_workers", None)
    return f"{type(executor).__name__}" + (f":{workers}" if workers else "")


def _as_completed(futures: list) -> Iterable:
    if futures and type(futures[0]).__module__.startswith("distributed"):
        from distributed import as_completed as dask_as_completed

        return dask_as_completed(futures)
    from concurrent.futures import as_completed

    return as_completed(futures)


# --- the task run on a worker ---------------------------------------------------------------

def versions() -> dict[str, str]:
    """Versions of netopt, pyomo, highspy/HiGHS and Python in this process."""
    from importlib import metadata

    found = {"netopt": __version__, "python": platform.python_version()}
    for package in ("pyomo", "highspy"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:  # pragma: no cover
            found[package] = "unknown"
    try:
        from highspy import _core

        found["highs"] = (f"{_core.HIGHS_VERSION_MAJOR}.{_core.HIGHS_VERSION_MINOR}."
                          f"{_core.HIGHS_VERSION_PATCH}")
    except (ImportError, AttributeError):  # pragma: no cover
        found["highs"] = found["highspy"]
    return found


def solve_spec_task(case: Any, options: dict[str, Any]) -> dict[str, Any]:
    """Run on a worker: solve one spec's case; the plan comes back with where and when."""
    started = time.time()
    plan = solve(case, **options)
    return {"plan": plan, "started": started, "finished": time.time(),
            "worker": f"{socket.gethostname()}:{os.getpid()}", "versions": versions()}


# --- one spec's state in the batch ------------------------------------------------------------

@dataclass
class _Item:
    spec: Spec
    folder: Path
    case: Any = None
    input_hash: str | None = None
    state: str = "pending"  # pending -> ran | skipped | failed | interrupted
    record: dict[str, Any] | None = None
    message: str = ""
    future: Any = None
    submitted: float = 0.0

    @property
    def ok(self) -> bool:
        return self.state in ("ran", "skipped") and bool(self.record and self.record["ok"])


def input_hash(spec: Spec, case: Any) -> str:
    """Hash of everything a spec's result depends on: its content and its case's content."""
    payload = json.dumps({"spec": spec.digest(), "case": case.content_hash()}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _read_record(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / RUN_RECORD).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _problems_text(exc: CaseError) -> str:
    text = "; ".join(str(p) for p in exc.problems[:5])
    if len(exc.problems) > 5:
        text += f"; and {len(exc.problems) - 5} more"
    return text


def _prepare(item: _Item, cases: dict[Path, Any]) -> None:
    """Load and change the spec's case, hash its inputs, and skip it when already done."""
    try:
        base = cases.get(item.spec.case)
        if base is None:
            try:
                base = load_case(item.spec.case)
            except CaseError as exc:
                base = exc
            cases[item.spec.case] = base
        if isinstance(base, CaseError):
            raise base
        item.case = item.spec.apply(base)
        item.input_hash = input_hash(item.spec, item.case)
    except CaseError as exc:
        item.state, item.message = "failed", f"bad case: {_problems_text(exc)}"
        return
    except (OSError, ValueError) as exc:
        item.state, item.message = "failed", f"cannot load the case: {exc}"
        return
    record = _read_record(item.folder)
    if record is not None and record.get("input_hash") == item.input_hash:
        item.state, item.record = "skipped", record
        item.message = "done before with the same inputs"


def _clean_staging(out: Path, names: Iterable[str]) -> None:
    """Remove staging folders a killed batch left behind for these specs."""
    for name in names:
        for stale in out.glob(f".{name}{_STAGING}*"):
            shutil.rmtree(stale, ignore_errors=True)


# --- the batch --------------------------------------------------------------------------------

def run_batch(
    specs: Iterable[str | Path | Spec] | str | Path | Spec,
    *,
    executor: Any = None,
    out: str | Path = "runs",
    progress: bool = True,
    workers: int | None = None,
    cache: str | Path | bool = True,
    console: Any = None,
) -> pd.DataFrame:
    """Solve every spec not yet done into ``out/<spec name>/``; returns the comparison table.

    ``specs``: spec files, folders of ``*.toml`` specs, or :class:`netopt.spec.Spec`
    objects. ``executor``: ``"local[:N]"`` (default, N = ``workers`` or the cores),
    ``"dask:ADDRESS"``, ``"dask-local[:N]"``, or any object with ``submit`` (a
    ``concurrent.futures`` executor, a ``dask.distributed.Client``), used as it is and
    left running. ``workers``: processes of ``local``/``dask-local`` without N (default:
    one per core). ``cache``: where coalition values are kept between runs (default
    ``out/.coalitions``; ``False``: nowhere). ``progress``: progress bars and a line per
    spec on ``console`` (a rich Console; given one, the lines go there even without bars).

    Bad specs raise :class:`netopt.CaseError` before anything runs. A failing spec is
    reported in the table (``state`` "failed", ``message``) and the others go on; the
    table's ``state`` is "ran", "skipped" (done before with the same inputs), "failed"
    or "interrupted"; ``ok`` says whether the spec has a usable result. Ctrl-C
    (KeyboardInterrupt) stops the workers, keeps every finished folder, writes the table
    and is raised again.
    """
    if isinstance(specs, str | Path | Spec):
        specs = [specs]
    spec_list = load_specs(specs)
    if not spec_list:
        raise BatchError("no spec to run")
    if executor is None or isinstance(executor, str):
        parse_executor(executor or "local")  # a bad text stops the batch before it starts
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise BatchError(f"--out {out} is a file, not a folder")
    out.mkdir(parents=True, exist_ok=True)
    if cache is True:
        cache_dir: Path | None = out / _COALITION_CACHE
    elif cache is False or cache is None:
        cache_dir = None
    else:
        cache_dir = Path(cache)
    items = [_Item(spec, out / spec.name) for spec in spec_list]
    _clean_staging(out, [item.spec.name for item in items])
    log = _Log(console, progress)
    cases: dict[Path, Any] = {}
    for item in items:
        _prepare(item, cases)
        if item.state == "skipped":
            log.line(f"[dim]skipped[/] {item.spec.name}: {item.message} "
                     f"({escape(str(item.folder))})")
        elif item.state == "failed":
            log.line(f"[red]failed[/] {item.spec.name}: {escape(item.message)}")
    todo = [item for item in items if item.state == "pending"]
    # coalition solves share the executor: a spec with allocation wants every core
    tasks = len(todo) if not any(i.spec.allocation.enabled for i in todo) else None
    try:
        if todo:
            with open_executor(executor, workers=workers, tasks=tasks) as (pool, label):
                _Runner(pool, label, items, todo, out, cache_dir, progress, log).run()
    except KeyboardInterrupt:
        for item in items:
            if item.state == "pending":
                item.state, item.message = "interrupted", "stopped before it finished"
        write_comparison(out, items)
        raise
    return write_comparison(out, items)


class _Log:
    """Lines about each spec, printed above the progress bar: on ``console`` when one is
    given, else on a new console when ``progress`` is on, else nowhere."""

    def __init__(self, console: Any, progress: bool):
        if console is None and progress:
            from rich.console import Console

            console = Console(highlight=False)
        self.console = console  # None: quiet

    def line(self, text: str) -> None:
        if self.console is not None:
            self.console.print(text, soft_wrap=True)


class _Runner:
    """Submits the specs' solves, handles each result as it comes, writes the folders."""

    def __init__(self, pool: Any, label: str, items: list[_Item], todo: list[_Item],
                 out: Path, cache: Path | None, progress: bool, log: _Log):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.pool, self.label, self.items, self.todo = pool, label, items, todo
        self.out, self.cache, self.progress, self.log = out, cache, progress, log
        self.bar = Progress(TextColumn("specs"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[note]}"), TimeElapsedColumn(),
                            console=log.console, disable=not progress, transient=False)
        self.task = self.bar.add_task("specs", total=len(items),
                                      completed=len(items) - len(todo),
                                      note=f"on {label}")

    def run(self) -> None:
        by_future: dict[Any, _Item] = {}
        for item in self.todo:
            item.submitted = time.time()
            item.future = self.pool.submit(solve_spec_task, item.case,
                                           item.spec.solve_options())
            by_future[item.future] = item
        self.bar.start()
        try:
            for future in _as_completed(list(by_future)):
                item = by_future[future]
                if item.state == "pending":
                    self.handle(item)
        except BaseException:
            for item in self.todo:
                if item.future is not None and item.state == "pending":
                    item.future.cancel()
            raise
        finally:
            self.bar.stop()

    def advance(self, item: _Item, text: str) -> None:
        self.bar.update(self.task, advance=1, note=f"on {self.label}; last: {item.spec.name}")
        self.log.line(text)

    def fail(self, item: _Item, message: str) -> None:
        item.state, item.message = "failed", message
        self.advance(item, f"[red]failed[/] {item.spec.name}: {escape(message)}")

    def handle(self, item: _Item) -> None:
        """One finished solve: allocation when asked for, then the result folder."""
        try:
            result = item.future.result()
        except Exception as exc:  # the solve raised on the worker
            self.fail(item, f"{type(exc).__name__}: {exc}")
            return
        plan = result["plan"]
        settings = item.spec.allocation
        allocation: dict[str, Any] = {"enabled": settings.enabled}
        tables: dict[str, pd.DataFrame] = {}
        if settings.enabled:
            members = len(item.case.member_ids)
            if plan.status != OPTIMAL:
                allocation["skipped"] = (f"the plan is {plan.status}, not proven optimal: "
                                         "coalition values would not be comparable")
            elif members < 2:
                allocation["skipped"] = "the case has fewer than two members"
            else:
                self.handle_finished_others(item)
                try:
                    allocation, tables = self.allocate(item)
                except Exception as exc:
                    self.fail(item, f"allocation: {type(exc).__name__}: {exc}")
                    return
        try:
            record = write_result(item, plan, result, allocation, tables, self.label)
        except OSError as exc:
            self.fail(item, f"cannot write {item.folder}: {exc}")
            return
        item.state = "ran" if record["ok"] else "failed"
        item.record = record
        item.message = "" if record["ok"] else f"no usable plan ({plan.status})"
        summary = record["summary"]
        if record["ok"]:
            text = (f"[green]done[/] {item.spec.name}: {plan.status}, cost CNY "
                    f"{_millions(summary['total_cost_cny'])} M")
            if summary.get("savings_cny") is not None:
                text += f", savings CNY {_millions(summary['savings_cny'])} M"
        else:
            text = f"[red]failed[/] {item.spec.name}: {escape(item.message)}"
        self.advance(item, text + f" -> {escape(str(item.folder))}")

    def handle_finished_others(self, current: _Item) -> None:
        """Write the finished specs that need no allocation before a long allocation."""
        for item in self.todo:
            if (item is not current and item.state == "pending" and item.future.done()
                    and not item.spec.allocation.enabled):
                self.handle(item)

    def allocate(self, item: _Item) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
        settings = item.spec.allocation
        # solve options of allocate_savings (its **solve_options)
        options: dict[str, Any] = {"mip_gap": settings.mip_gap if settings.mip_gap is not None
                                   else item.spec.solver.mip_gap,
                                   "time_limit": settings.time_limit, "threads": 1}
        start = time.perf_counter()
        self.bar.stop()  # the coalition solves show their own bar
        self.log.line(f"valuing the coalitions of {item.spec.name} "
                      f"({2 ** len(item.case.member_ids) - 1})")
        try:
            savings = allocate_savings(item.case, settings.methods or None,
                                       executor=self.pool, cache=self.cache,
                                       progress=self.progress, **options)
        finally:
            self.bar.start()
        summary = {
            "enabled": True, "methods": list(settings.methods or []) or "all",
            "coalitions": len(savings.values), "grand_savings_cny": savings.grand_savings_cny,
            "standalone_cost_cny": savings.standalone_cost_cny,
            "savings_pct": savings.savings_pct,
            "seconds": time.perf_counter() - start, **options,
        }
        return summary, savings.tables()


# --- results ----------------------------------------------------------------------------------

def _millions(value: Any) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value / 1e6:,.2f}"


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def plan_summary(plan: Any) -> dict[str, Any]:
    """The figures the comparison shows: cost, sites opened, collection rate, CO2."""
    summary: dict[str, Any] = {"status": plan.status, "total_cost_cny": plan.objective,
                               "bound_cny": plan.bound, "gap": plan.gap}
    if not plan.has_solution:
        return summary
    kpis = plan.kpis.set_index("name")["value"]
    opened = plan.opened()
    per_kind = opened.groupby("kind").size() if len(opened) else pd.Series(dtype=int)
    summary.update(
        collection_rate=float(kpis.get("collection_rate", math.nan)),
        co2_t=float(kpis.get("emissions_t", math.nan)),
        collected_t=float(kpis.get("collected_t", math.nan)),
        outsourced_t=float(kpis.get("outsourced_t", math.nan)),
        collection_points_opened=int(per_kind.get("collection_point", 0)),
        dismantling_sites_opened=int(per_kind.get("dismantling_site", 0)),
        recyclers_open=int(per_kind.get("recycler", 0)),
        reuse_outlets_open=int(per_kind.get("reuse_outlet", 0)),
    )
    summary["sites_opened"] = (summary["collection_points_opened"]
                               + summary["dismantling_sites_opened"])
    return summary


def write_result(item: _Item, plan: Any, result: dict[str, Any], allocation: dict[str, Any],
                 tables: dict[str, pd.DataFrame], executor: str) -> dict[str, Any]:
    """Write one spec's folder atomically (staging folder, then rename); returns run.json."""
    spec, folder = item.spec, item.folder
    summary = plan_summary(plan)
    if allocation.get("grand_savings_cny") is not None:
        summary["savings_cny"] = allocation["grand_savings_cny"]
        summary["savings_pct"] = allocation.get("savings_pct")
    finished = time.time()
    timings = dict(plan.timings)
    timings.update(queued_s=max(0.0, result["started"] - item.submitted),
                   worker_s=result["finished"] - result["started"],
                   allocation_s=allocation.get("seconds", 0.0),
                   total_s=finished - item.submitted)
    record = {
        "spec": {"name": spec.name, "file": spec.source, "description": spec.description,
                 "content": spec.data, "digest": spec.digest()},
        "input_hash": item.input_hash,
        "case": {"name": item.case.name, "path": str(spec.case),
                 "content_hash": item.case.content_hash()},
        "versions": result.get("versions") or versions(),
        "executor": executor, "worker": result.get("worker"),
        "status": plan.status, "termination": plan.termination, "ok": plan.has_solution,
        "objective_cny": plan.objective, "bound_cny": plan.bound, "gap": plan.gap,
        "timings_s": timings,
        "solver": spec.solver.options(),
        "allocation": allocation,
        "summary": summary,
        "started_at": _stamp(result["started"]),
        "finished_at": _stamp(finished),
    }
    plan.meta["spec"] = spec.name

    def fill(staging: Path) -> None:
        plan.write_tables(staging)
        for name, frame in tables.items():
            frame.to_csv(staging / f"{name}.csv", index=False)
        if spec.text:
            (staging / SPEC_COPY).write_text(spec.text, encoding="utf-8")
        with open(staging / RUN_RECORD, "w", encoding="utf-8") as handle:
            json.dump(jsonable(record), handle, indent=2)

    write_folder_atomically(folder, fill, staging_prefix=f".{spec.name}{_STAGING}")
    return record


def _work_seconds(record: dict[str, Any]) -> float | None:
    timings = record.get("timings_s") or {}
    if "worker_s" not in timings:
        return None
    return float(timings["worker_s"]) + float(timings.get("allocation_s") or 0.0)


def comparison_table(items: list[_Item]) -> pd.DataFrame:
    """One row per spec: state, status, cost, savings, sites, collection rate, CO2."""
    rows = []
    for item in items:
        record = item.record or {}
        summary = record.get("summary", {})
        rows.append({
            "spec": item.spec.name, "state": item.state, "ok": item.ok,
            "status": record.get("status", ""),
            "total_cost_cny": summary.get("total_cost_cny"),
            "gap": summary.get("gap"),
            "savings_cny": summary.get("savings_cny"),
            "savings_pct": summary.get("savings_pct"),
            "sites_opened": summary.get("sites_opened"),
            "collection_points_opened": summary.get("collection_points_opened"),
            "dismantling_sites_opened": summary.get("dismantling_sites_opened"),
            "collection_rate": summary.get("collection_rate"),
            "co2_t": summary.get("co2_t"),
            "seconds": _work_seconds(record),
            "finished_at": record.get("finished_at"),
            "folder": str(item.folder) if record else "",
            "message": item.message,
        })
    frame = pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
    frame.attrs["unit"] = "CNY (discounted), t, tCO2e, s"
    return frame


def write_comparison(out: Path, items: list[_Item]) -> pd.DataFrame:
    """Write ``out/comparison.csv`` atomically and return the table."""
    frame = comparison_table(items)
    tmp = out / f".{COMPARISON}.tmp"
    frame.to_csv(tmp, index=False)
    os.replace(tmp, out / COMPARISON)
    return frame


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value)) or bool(
        pd.isna(value))


def print_comparison(frame: pd.DataFrame, console: Any = None) -> None:
    """The comparison table, readable (rich)."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()

    def show(value: Any, fmt: str) -> str:
        return "-" if _missing(value) else format(float(value), fmt)

    table = Table(title="Specs compared (money in CNY million, discounted)")
    table.add_column("spec")
    table.add_column("state")
    table.add_column("status")
    for column in ("total cost", "gap", "savings", "sites opened", "collection rate",
                   "CO2 (t)", "time (s)"):
        table.add_column(column, justify="right")
    for row in frame.itertuples(index=False):
        state = row.state if row.ok or row.state == "interrupted" else f"[red]{row.state}[/]"
        savings = "-" if _missing(row.savings_cny) else _millions(float(row.savings_cny))
        if not _missing(row.savings_pct):
            savings += f" ({row.savings_pct:.1f}%)"
        status = row.status or (row.message if len(row.message) <= 60
                                else row.message[:57] + "...")
        table.add_row(row.spec, state, escape(status),
                      "-" if _missing(row.total_cost_cny) else _millions(
                          float(row.total_cost_cny)),
                      show(row.gap, ".2%"), savings, show(row.sites_opened, ".0f"),
                      show(row.collection_rate, ".1%"), show(row.co2_t, ",.0f"),
                      show(row.seconds, ",.1f"))
    console.print(table)
