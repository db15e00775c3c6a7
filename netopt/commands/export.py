"""``netopt map`` and ``netopt export``: maps, GIS layers and the Excel report of a saved plan.

Both read a plan folder written by ``netopt run`` (or :meth:`netopt.Plan.save`) and never
touch the model. Existing files are kept unless ``--overwrite`` is given; a bad argument
or an unreadable plan ends with a one-line error and exit code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from netopt.io.excel import write_report
from netopt.plan import load_plan

#: ``--to`` choices -> default output name inside the plan folder.
EXPORTS = {
    "gpkg": "plan.gpkg",
    "geojson": "geojson",
    "xlsx": "report.xlsx",
    "png": "map.png",
    "html": "map.html",
}

_err = Console(stderr=True, highlight=False, soft_wrap=True)


class ExportError(Exception):
    """A problem with the command's input, reported on one line (exit code 2)."""


def _load(plan_dir: Path) -> Any:
    if not plan_dir.exists():
        raise ExportError(f"{plan_dir} does not exist")
    if not plan_dir.is_dir():
        raise ExportError(f"{plan_dir} is not a folder (give the plan's folder)")
    try:
        plan = load_plan(plan_dir)
    except FileNotFoundError as exc:
        raise ExportError(str(exc)) from exc
    except (ValueError, KeyError, OSError) as exc:
        raise ExportError(f"{plan_dir}: cannot read the plan ({exc})") from exc
    if not plan.has_solution:
        raise ExportError(f"{plan_dir}: the plan has no solution (status {plan.status}); "
                          "nothing to export")
    return plan


def _check_year(plan: Any, year: int | None) -> None:
    # deferred: geopandas (and matplotlib, folium for the maps) are slow to import, and
    # `netopt --help` should not wait for them
    from netopt.io.gis import plan_years

    if year is None:
        return
    years = plan_years(plan)
    if year not in years:
        span = f"{years[0]}-{years[-1]}" if years else "none"
        raise ExportError(f"year {year} is not in the plan (years {span})")


def _target(path: Path, overwrite: bool) -> Path:
    if path.exists() and not overwrite:
        raise ExportError(f"{path} exists; pass --overwrite to replace it")
    return path


def export_plan(plan: Any, plan_dir: Path, kind: str, out: Path | None = None, *,
                year: int | None = None, overwrite: bool = False) -> Path:
    """Write one export of a loaded plan; ``kind`` is a key of :data:`EXPORTS`."""
    if kind not in EXPORTS:
        raise ExportError(f"unknown export '{kind}'; choose one of {', '.join(EXPORTS)}")
    _check_year(plan, year)
    path = _target(out if out is not None else plan_dir / _default_name(kind, year), overwrite)
    if kind in ("gpkg", "geojson"):
        # deferred: geopandas is slow to import
        from netopt.io.gis import write_plan

        return write_plan(plan, path, format=kind, overwrite=overwrite)
    if kind == "xlsx":

        return write_report(plan, path, allocation_folder=plan_dir, overwrite=overwrite)
    # deferred: geopandas (and matplotlib, folium for the maps) are slow to import, and
    # `netopt --help` should not wait for them
    from netopt.maps import interactive_map, static_map

    writer = static_map if kind == "png" else interactive_map
    return writer(plan, path, year, overwrite=overwrite)


def _default_name(kind: str, year: int | None) -> str:
    name = EXPORTS[kind]
    if year is not None and kind in ("png", "html"):
        stem, suffix = name.rsplit(".", 1)
        name = f"{stem}_{year}.{suffix}"
    return name


def export_all(plan_dir: Path, *, overwrite: bool = False) -> list[Path]:
    """Write the GeoPackage, both maps and the Excel report beside a saved plan.

    Called by ``netopt run`` after the plan and its allocation tables are written (so the
    report includes the allocation). A plan without a solution gets no exports.
    """
    plan_dir = Path(plan_dir)
    plan = load_plan(plan_dir)
    if not plan.has_solution:
        return []
    return [export_plan(plan, plan_dir, kind, overwrite=overwrite)
            for kind in ("gpkg", "png", "html", "xlsx")]


def _fail(exc: Exception) -> typer.Exit:
    _err.print(f"error: {exc}", markup=False)
    return typer.Exit(2)


PlanDir = Annotated[Path, typer.Argument(help="Folder of a saved plan (netopt run's output).",
                                         show_default=False)]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace existing files.")]
Year = Annotated[int | None, typer.Option(help="Map one planning year (default: the whole "
                                          "horizon).")]


def map_command(
    plan_dir: PlanDir,
    year: Year = None,
    out: Annotated[Path | None, typer.Option(
        help="Map file: .png (static) or .html (interactive, works offline); default both "
        "beside the plan.")] = None,
    overwrite: Overwrite = False,
) -> None:
    """Draw a saved plan: a PNG map and an offline HTML map."""
    try:
        if out is not None and out.suffix.lower() not in (".png", ".html", ".htm"):
            raise ExportError(f"--out {out}: the map file must end in .png or .html")
        plan = _load(plan_dir)
        kinds: list[tuple[str, Path | None]]
        if out is None:
            kinds = [("png", None), ("html", None)]
        else:
            kinds = [("png" if out.suffix.lower() == ".png" else "html", out)]
        _check_year(plan, year)
        for kind, path in kinds:  # check every target before writing any
            _target(path if path is not None else plan_dir / _default_name(kind, year),
                    overwrite)
        for kind, path in kinds:
            written = export_plan(plan, plan_dir, kind, path, year=year, overwrite=overwrite)
            typer.echo(f"wrote {written}")
    except (ExportError, FileExistsError, ValueError) as exc:
        raise _fail(exc) from None


def export_command(
    plan_dir: PlanDir,
    to: Annotated[str, typer.Option(
        "--to", help="gpkg (styled GeoPackage), geojson (folder of RFC 7946 files), xlsx "
        "(Excel report), png or html (map).", show_default=False)],
    out: Annotated[Path | None, typer.Option(
        help="Output file (a folder for geojson); default beside the plan.")] = None,
    year: Year = None,
    overwrite: Overwrite = False,
) -> None:
    """Re-export a saved plan as GIS layers, an Excel report or a map."""
    try:
        kind = to.lower().lstrip(".")
        if kind not in EXPORTS:
            raise ExportError(f"--to {to}: choose one of {', '.join(EXPORTS)}")
        if year is not None and kind not in ("png", "html"):
            raise ExportError("--year applies to maps only (--to png or html)")
        plan = _load(plan_dir)
        written = export_plan(plan, plan_dir, kind, out, year=year, overwrite=overwrite)
        typer.echo(f"wrote {written}")
    except (ExportError, FileExistsError, ValueError) as exc:
        raise _fail(exc) from None


def register(app: typer.Typer) -> None:
    """Add ``netopt map`` and ``netopt export`` to the command line."""
    app.command("map")(map_command)
    app.command("export")(export_command)
