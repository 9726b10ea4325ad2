"""Report commands: ``report tweewekelijks``, ``report jaaranalyse``."""

from __future__ import annotations

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
    from veiligheidsbeeld.reports.tweewekelijks import render_tweewekelijks

    from veiligheidsbeeld.analysis.periods import check_report_date

    settings = settings_for(warehouse, reports=reports)
    report_date = run_safely(check_report_date, datum)
    files = run_safely(render_tweewekelijks, settings, report_date, district or None, workers=workers)
    index = next((f for f in files if f.name == "index.html"), None)
    console.print(f"{len(files)} bestanden geschreven in {files[0].parent if files else '-'}")
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
