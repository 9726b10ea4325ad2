"""Warehouse commands: ``ingest``, ``status``, ``regions``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from veiligheidsbeeld.cli.core import console, err_console, fail, run_safely, settings_for
from veiligheidsbeeld.cli.options import RawOpt, WarehouseOpt, comma_list


def ingest(
    source: Annotated[
        str, typer.Option("--source", help="'api' (live CBS) of een snapshotmap (cbsodata.download_data of data/raw).")
    ] = "api",
    tables: Annotated[
        Optional[str], typer.Option("--tables", help="Tabellen, komma-gescheiden (standaard [ingest] tables).")
    ] = None,
    gemeenten: Annotated[
        Optional[str], typer.Option("--gemeenten", help="Alleen deze gemeenten (codes, komma-gescheiden); standaard de hele eenheid.")
    ] = None,
    warehouse: WarehouseOpt = None,
    raw: RawOpt = None,
) -> None:
    """Haal de politietabellen op (live of uit een snapshot) en laad ze in het warehouse."""
    from veiligheidsbeeld.formatting import fmt_int
    from veiligheidsbeeld.ingest import run_ingest

    settings = settings_for(warehouse, raw)
    table_ids = list(settings.ingest.tables) if tables is None else comma_list(tables)
    if not table_ids:
        fail(f"--tables '{tables}' noemt geen tabel; geef bijvoorbeeld --tables 47022NED,47024NED.")
    selected_given = gemeenten is not None
    selected = [g.upper() for g in comma_list(gemeenten)] or None
    if selected_given and not selected:
        fail(f"--gemeenten '{gemeenten}' noemt geen gemeente; geef codes, bijvoorbeeld --gemeenten GM0153,GM1773.")
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err_console, transient=False, disable=not err_console.is_terminal,
    ) as bar:
        tasks: dict[str, int] = {}

        def progress(table_id: str, done: int, total: int) -> None:
            if table_id not in tasks:
                tasks[table_id] = bar.add_task(f"{table_id} ophalen", total=total)
            bar.update(tasks[table_id], completed=done, total=total)

        report = run_safely(run_ingest, settings, source, tables=table_ids, gemeenten=selected, progress=progress)

    console.print(f"[bold]Ingest klaar[/] — bron: {report.source}")
    pulls = {p.table_id: p for p in report.pulls}
    for load in report.loads:
        pull = pulls.get(load.table_id)
        if pull is not None:
            kind = {"full": "volledig", "incremental": "incrementeel", "skip": "overgeslagen"}.get(pull.kind, pull.kind)
            how = f"{kind} ({pull.reason}); {pull.partitions_fetched} partities opgehaald, {pull.partitions_reused} hervat"
        else:
            how = f"geïmporteerd: {', '.join(report.imported.get(load.table_id, [])) or 'niets nieuws'}"
        months = f"{load.first_month:%Y-%m} t/m {load.last_month:%Y-%m}" if load.first_month else "geen maanden"
        console.print(
            f"  {load.table_id}: {how}\n"
            f"    vintage {', '.join(load.vintages)}; {fmt_int(load.rows)} rijen; {months}; "
            f"{fmt_int(load.suppressed_cells)} onderdrukte cellen; {load.provisional_months} voorlopige maanden",
            soft_wrap=True, highlight=False,
        )
    for line in [*report.loaded, *report.geography]:
        console.print(f"Geladen: {line}", soft_wrap=True, highlight=False)
    for line in report.warnings:
        console.print(f"[yellow]Let op:[/] {line}", soft_wrap=True, highlight=False)
    _print_findings(report.findings)


def _print_findings(findings) -> None:
    """The data checks after the load, in one summary line and the findings that matter."""
    from veiligheidsbeeld.warehouse.validation import Severity

    blocking = [f for f in findings if f.severity == Severity.BLOCKER]
    warning = [f for f in findings if f.severity == Severity.WARN]
    verdict = "rapporten worden NIET gepubliceerd" if blocking else ("publiceerbaar met waarschuwingen" if warning else "in orde")
    console.print(f"Gegevenscontrole: {len(blocking)} blokkerend, {len(warning)} waarschuwing(en) — {verdict}.", soft_wrap=True)
    for f in blocking[:10]:
        console.print(f"  [red]BLOKKEREND[/] {f.detail}", soft_wrap=True, highlight=False)
    for f in warning[:10]:
        console.print(f"  [yellow]WAARSCHUWING[/] {f.detail}", soft_wrap=True, highlight=False)
    if len(blocking) + len(warning) > 20:
        console.print("  … meer in 'veiligheidsbeeld status'.")


def regions(warehouse: WarehouseOpt = None) -> None:
    """Toon de districten met hun gemeenten, en controleer ze tegen de politiecijfers in het warehouse."""
    from veiligheidsbeeld.errors import DataError
    from veiligheidsbeeld.regions import regions_overview, regions_overview_text
    from veiligheidsbeeld.warehouse import db, queries

    settings = settings_for(warehouse)

    def overview() -> str:
        try:
            with db.reader(settings.paths.resolved().warehouse) as con:
                return regions_overview(settings.area, queries.police_region_codes(con)).to_text()
        except DataError:
            return regions_overview_text(settings.area) + "\n(Nog geen warehouse: niet gecontroleerd tegen de politiecijfers.)"

    console.print(run_safely(overview), highlight=False, soft_wrap=True)


def status(warehouse: WarehouseOpt = None) -> None:
    """Toon per tabel de laatste maand, vintage, ophaalmoment, voorlopige maanden en onderdrukte cellen."""
    from veiligheidsbeeld.formatting import fmt_int
    from veiligheidsbeeld.status import warehouse_status

    settings = settings_for(warehouse)
    st = run_safely(warehouse_status, settings)
    console.print(f"[bold]Warehouse[/] {st.path}", soft_wrap=True)
    if not st.tables:
        console.print("  Nog geen tabellen geladen: draai 'veiligheidsbeeld ingest'.")
    for t in st.tables:
        fresh = "actueel" if not t.stale else f"[yellow]NIET ACTUEEL[/] ({t.stale_reason})"
        console.print(
            f"  {t.table_id}: laatste maand {t.last_month:%Y-%m}; vintage {t.vintage}; opgehaald {t.fetched_at or '—'}; "
            f"{t.provisional_months} voorlopige maanden; {fmt_int(t.suppressed_cells)} onderdrukte cellen; {fresh}"
            if t.last_month else f"  {t.table_id}: geen maanden; {fresh}",
            soft_wrap=True, highlight=False,
        )
    for line in st.validation_lines:
        console.print(line, soft_wrap=True, highlight=False)


def warehouse_upgrade(warehouse: WarehouseOpt = None) -> None:
    """Werk het warehouse bij naar de schemaversie van deze versie van veiligheidsbeeld (de gegevens blijven)."""
    from veiligheidsbeeld.warehouse import db

    settings = settings_for(warehouse)
    done = run_safely(db.upgrade, settings.paths.resolved().warehouse)
    console.print(done.summary(), soft_wrap=True, highlight=False, markup=False)
