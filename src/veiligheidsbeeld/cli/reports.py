"""Report commands: ``report tweewekelijks``, ``report jaaranalyse``."""

from __future__ import annotations

import time
from typing import Annotated, Optional

import typer

from veiligheidsbeeld.cli.core import console, run_safely, settings_for
from veiligheidsbeeld.cli.options import DistrictsOpt, ReportDateOpt, ReportsOpt, WarehouseOpt


def report_tweewekelijks(
    datum: ReportDateOpt = None,
    district: DistrictsOpt = None,
    workers: Annotated[
        Optional[int], typer.Option("--workers", min=1, help="Aantal processen (standaard: alle kernen).")
    ] = None,
    warehouse: WarehouseOpt = None,
    reports: ReportsOpt = None,
) -> None:
    """Tweewekelijkse woninginbraakanalyse: per district een HTML- en PDF-rapport, tabellen in Excel en CSV."""
    from veiligheidsbeeld.reports.tweewekelijks import JobDone, render_tweewekelijks

    from veiligheidsbeeld.analysis.periods import check_report_date

    settings = settings_for(warehouse, reports=reports)
    report_date = run_safely(check_report_date, datum)
    started = time.monotonic()

    def progress(done: JobDone) -> None:
        # Each district's pages as they are ready: the first can be read while the rest follows.
        if done.part == "pages" and done.html is not None:
            console.print(f"  klaar na {time.monotonic() - started:.0f} s: {done.what} ({done.html.name})")

    files = run_safely(render_tweewekelijks, settings, report_date, district or None, workers=workers,
                       on_done=progress)
    index = next((f for f in files if f.name == "index.html"), None)
    folder = next((f.parent for f in files if f.suffix == ".html"), files[0].parent if files else "-")
    console.print(f"{len(files)} bestanden geschreven in {folder}")
    if index is not None:
        console.print(f"Overzicht: {index}")


def report_jaaranalyse(
    year: Annotated[int, typer.Option("--year", help="Het jaar van de analyse.")],
    warehouse: WarehouseOpt = None,
    reports: ReportsOpt = None,
) -> None:
    """De jaarlijkse strategische analyse voor de BBG, in reports/<jaar>/jaaranalyse/."""
    from veiligheidsbeeld.reports.jaaranalyse import render_jaaranalyse

    paths = run_safely(render_jaaranalyse, settings_for(warehouse, reports=reports), year)
    for path in paths:
        console.print(str(path))
