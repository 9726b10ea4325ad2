"""The ``veiligheidsbeeld`` command: one entry point for everything a user does.

Commands only parse arguments, call plain functions of the package and print the result.
Errors of the package (:class:`VeiligheidsbeeldError`) are printed as one clear sentence; the
traceback only with ``--debug``.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from veiligheidsbeeld.config import Settings, load_settings
from veiligheidsbeeld.errors import VeiligheidsbeeldError

app = typer.Typer(
    help="veiligheidsbeeld — politie- en CBS-cijfers voor Oost-Nederland: ophalen, analyseren, rapporteren.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
report_app = typer.Typer(help="Rapporten maken.", no_args_is_help=True)
doel_app = typer.Typer(help="Doelstellingen volgen.", no_args_is_help=True)
app.add_typer(report_app, name="report")
app.add_typer(doel_app, name="doel")

console = Console()
err_console = Console(stderr=True)


class _State:
    debug: bool = False
    config: Path | None = None


STATE = _State()

WarehouseOpt = Annotated[
    Optional[Path], typer.Option("--warehouse", help="Pad naar het DuckDB-warehouse (standaard data/warehouse/veiligheidsbeeld.duckdb).")
]
RawOpt = Annotated[Optional[Path], typer.Option("--raw", help="Pad naar de landingszone (standaard data/raw).")]


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Toon de volledige traceback bij een fout.")] = False,
    config: Annotated[Optional[Path], typer.Option("--config", help="Configuratiebestand (TOML).")] = None,
) -> None:
    STATE.debug = debug
    STATE.config = config
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def settings_for(warehouse: Path | None = None, raw: Path | None = None, reports: Path | None = None) -> Settings:
    return load_settings(STATE.config, warehouse=warehouse, raw=raw, reports=reports)


def run_safely(fn, *args, **kwargs):
    """Call ``fn``; print a package error as one sentence and exit 1 (traceback with --debug)."""
    try:
        return fn(*args, **kwargs)
    except VeiligheidsbeeldError as exc:
        if STATE.debug:
            raise
        err_console.print(f"[bold red]Fout:[/] {exc}")
        raise typer.Exit(code=1) from None
    except KeyboardInterrupt:
        err_console.print("Afgebroken. Wat al binnen was, staat veilig in data/raw; de volgende run gaat verder.")
        raise typer.Exit(code=130) from None


def _fmt_int(n: int | None) -> str:
    from veiligheidsbeeld.formatting import fmt_int

    return fmt_int(n)


@app.command()
def ingest(
    source: Annotated[
        str, typer.Option("--source", help="'api' (live CBS) of een snapshotmap (cbsodata.download_data of data/raw).")
    ] = "api",
    tables: Annotated[str, typer.Option("--tables", help="Tabellen, komma-gescheiden.")] = "47022NED,47024NED",
    gemeenten: Annotated[
        Optional[str], typer.Option("--gemeenten", help="Alleen deze gemeenten (codes, komma-gescheiden); standaard de hele eenheid.")
    ] = None,
    warehouse: WarehouseOpt = None,
    raw: RawOpt = None,
) -> None:
    """Haal de politietabellen op (live of uit een snapshot) en laad ze in het warehouse."""
    from veiligheidsbeeld.ingest import run_ingest

    settings = settings_for(warehouse, raw)
    table_ids = [t.strip() for t in tables.split(",") if t.strip()]
    selected = [g.strip().upper() for g in gemeenten.split(",") if g.strip()] if gemeenten else None
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
            f"    vintage {', '.join(load.vintages)}; {_fmt_int(load.rows)} rijen; {months}; "
            f"{_fmt_int(load.suppressed_cells)} onderdrukte cellen; {load.provisional_months} voorlopige maanden",
            soft_wrap=True, highlight=False,
        )
    for line in report.geography:
        console.print(f"Geladen: {line}")
    for line in report.warnings:
        console.print(f"[yellow]Let op:[/] {line}")
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


@app.command()
def regions(warehouse: WarehouseOpt = None) -> None:
    """Toon de districten met hun gemeenten, en controleer ze tegen de politiecijfers in het warehouse."""
    from veiligheidsbeeld.errors import DataError
    from veiligheidsbeeld.regions import regions_overview_text
    from veiligheidsbeeld.warehouse import db
    from veiligheidsbeeld.warehouse.geography import regions_overview_for_warehouse

    settings = settings_for(warehouse)

    def overview() -> str:
        try:
            with db.reader(settings.paths.resolved().warehouse) as con:
                return regions_overview_for_warehouse(con, settings.area).to_text()
        except DataError:
            return regions_overview_text(settings.area) + "\n(Nog geen warehouse: niet gecontroleerd tegen de politiecijfers.)"

    console.print(run_safely(overview), highlight=False, soft_wrap=True)


@doel_app.command("overlast")
def doel_overlast(
    region: Annotated[
        Optional[str], typer.Option("--region", help="NL00, de eenheid (RE02), een district (VR05 of naam) of een gemeente (code of naam).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv of json.")] = "table",
    warehouse: WarehouseOpt = None,
) -> None:
    """Overlast tegen het basisjaar: index, glijpad, rate ratio met 95%-interval, toets en status."""
    from veiligheidsbeeld.analysis.overlast_doel import run_doel_overlast

    typer.echo(run_safely(run_doel_overlast, settings_for(warehouse), region, fmt), nl=False)


@report_app.command("tweewekelijks")
def report_tweewekelijks(
    datum: Annotated[
        Optional[datetime], typer.Option("--date", formats=["%Y-%m-%d"], help="Rapportdatum (standaard vandaag).")
    ] = None,
    district: Annotated[
        Optional[list[str]], typer.Option("--district", help="District (naam of code), herhaalbaar; standaard alle.")
    ] = None,
    workers: Annotated[
        Optional[int], typer.Option("--workers", min=1, help="Aantal processen (standaard: alle kernen).")
    ] = None,
    warehouse: WarehouseOpt = None,
    reports: Annotated[Optional[Path], typer.Option("--reports", help="Map voor de rapporten (standaard reports).")] = None,
) -> None:
    """Tweewekelijkse woninginbraakanalyse: per district een HTML- en PDF-rapport, tabellen in Excel en CSV."""
    from veiligheidsbeeld.reports.render import render_tweewekelijks

    settings = settings_for(warehouse, reports=reports)
    files = run_safely(render_tweewekelijks, settings, datum.date() if datum else None, district or None, workers=workers)
    index = next((f for f in files if f.name == "index.html"), None)
    console.print(f"{len(files)} bestanden geschreven in {files[0].parent if files else '-'}")
    if index is not None:
        console.print(f"Overzicht: {index}")


@report_app.command("jaaranalyse")
def report_jaaranalyse(
    year: Annotated[int, typer.Option("--year", help="Het jaar van de analyse.")],
    warehouse: WarehouseOpt = None,
    reports: Annotated[Optional[Path], typer.Option("--reports", help="Uitvoermap (standaard reports/).")] = None,
) -> None:
    """De jaarlijkse strategische analyse voor de BBG, in reports/<jaar>/jaaranalyse/."""
    from veiligheidsbeeld.reports.jaaranalyse import render_jaaranalyse

    paths = run_safely(render_jaaranalyse, settings_for(warehouse, reports=reports), year)
    for path in paths:
        console.print(str(path))


@app.command()
def status(warehouse: WarehouseOpt = None) -> None:
    """Toon per tabel de laatste maand, vintage, ophaalmoment, voorlopige maanden en onderdrukte cellen."""
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
            f"{t.provisional_months} voorlopige maanden; {_fmt_int(t.suppressed_cells)} onderdrukte cellen; {fresh}"
            if t.last_month else f"  {t.table_id}: geen maanden; {fresh}",
            soft_wrap=True, highlight=False,
        )
    for line in st.validation_lines:
        console.print(line, soft_wrap=True, highlight=False)


@app.command("run")
def run_main(
    source: Annotated[
        str, typer.Option("--source", help="'api' (live CBS) of een snapshotmap voor het ophalen.")
    ] = "api",
    demo_mode: Annotated[bool, typer.Option("--demo", help="Alles op synthetische cijfers (geen netwerk nodig).")] = False,
    datum: Annotated[
        Optional[datetime], typer.Option("--date", formats=["%Y-%m-%d"], help="Rapportdatum (standaard vandaag).")
    ] = None,
    pdf: Annotated[bool, typer.Option("--pdf/--geen-pdf", help="Ook pdf-versies maken.")] = True,
    warehouse: WarehouseOpt = None,
) -> None:
    """De hoofdtaak: ophalen (als het warehouse niet actueel is) en het tweewekelijkse rapport voor elk district.

    Draait de Prefect-flow 'tweewekelijks' in dit proces (geen server nodig).
    """
    if demo_mode:
        from veiligheidsbeeld.cli_flows import demo as run_demo_command

        run_demo_command()
        return
    from veiligheidsbeeld.cli_flows import load_flow
    from veiligheidsbeeld.errors import SourceUnavailableError

    flow = load_flow("tweewekelijks")
    settings = settings_for(warehouse)
    try:
        paths = flow(
            report_date=datum.date() if datum else None,
            source=source,
            warehouse=str(settings.paths.resolved().warehouse),
            config=str(STATE.config) if STATE.config else None,
            pdf=pdf,
        )
    except SourceUnavailableError:
        err_console.print(
            "[bold red]Geen verbinding met de CBS-API[/] (dit netwerk bereikt dataderden.cbs.nl niet). "
            "Draai vanuit een snapshotmap: [bold]bash scripts/run.sh --source /pad/naar/snapshot[/] "
            "(gemaakt met cbsodata.download_data op een machine met toegang), of bekijk alles op synthetische "
            "cijfers: [bold]bash scripts/run.sh --demo[/]."
        )
        raise typer.Exit(code=1) from None
    except VeiligheidsbeeldError as exc:
        if STATE.debug:
            raise
        err_console.print(f"[bold red]Fout:[/] {exc}")
        raise typer.Exit(code=1) from None
    index = next((p for p in paths if p.endswith("index.html")), None)
    console.print(f"{len(paths)} bestanden geschreven." + (f" Overzicht: {index}" if index else ""))


def _register_flow_commands() -> None:
    from veiligheidsbeeld.cli_flows import demo, serve

    app.command()(serve)
    app.command()(demo)


_register_flow_commands()


def run() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
