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

import duckdb
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
    # Inside the error handler: a bad configuration is one sentence like any other error.
    return run_safely(load_settings, STATE.config, warehouse=warehouse, raw=raw, reports=reports)


def _fail(text: str) -> None:
    # markup=False: a message may contain [brackets] (TOML sections) that are not rich markup.
    err_console.print("Fout: " + text, style="bold red" if err_console.is_terminal else None, markup=False,
                      highlight=False, soft_wrap=True)
    raise typer.Exit(code=1)


def run_safely(fn, *args, **kwargs):
    """Call ``fn``; print a package error as one sentence and exit 1 (traceback with --debug).

    An OSError that no layer turned into a sentence (a reports folder on a full disk, a file that
    cannot be written) is still one sentence naming the file, never a traceback."""
    try:
        return fn(*args, **kwargs)
    except VeiligheidsbeeldError as exc:
        if STATE.debug:
            raise
        _fail(str(exc))
    except duckdb.CatalogException as exc:
        # An empty or foreign DuckDB file given as warehouse: its first query misses our tables.
        if STATE.debug:
            raise
        import re

        found = re.search(r"with name (\S+) does not exist", str(exc))
        missing = f"tabel '{found.group(1)}' ontbreekt" if found else str(exc).splitlines()[0]
        _fail(f"Het warehouse is geen (volledig) warehouse van veiligheidsbeeld: {missing}. Geef het juiste pad "
              "met --warehouse, of draai 'veiligheidsbeeld ingest' om het te vullen.")
    except OSError as exc:
        if STATE.debug:
            raise
        from veiligheidsbeeld.files import why

        where = f"{exc.filename}" if exc.filename else "een bestand"
        _fail(f"{where} kan niet worden gelezen of geschreven: {why(exc)}. Wat al was opgeslagen, is niet veranderd.")
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
    tables: Annotated[str, typer.Option("--tables", help="Tabellen, komma-gescheiden.")] = "47022NED,47024NED,47025NED",
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
    if not table_ids:
        _fail(f"--tables '{tables}' noemt geen tabel; geef bijvoorbeeld --tables 47022NED,47024NED.")
    selected_given = gemeenten is not None
    selected = [g.strip().upper() for g in gemeenten.split(",") if g.strip()] if gemeenten else None
    if selected_given and not selected:
        _fail(f"--gemeenten '{gemeenten}' noemt geen gemeente; geef codes, bijvoorbeeld --gemeenten GM0153,GM1773.")
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

    if region is not None and not region.strip():
        _fail("--region is leeg; geef NL00, RE02, een district (VR05 of naam) of een gemeente (code of naam).")
    typer.echo(run_safely(run_doel_overlast, settings_for(warehouse), region, fmt), nl=False)


@report_app.command("tweewekelijks")
def report_tweewekelijks(
    datum: Annotated[Optional[str], typer.Option("--date", help="Rapportdatum JJJJ-MM-DD (standaard vandaag).")] = None,
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

    from veiligheidsbeeld.analysis.periods import check_report_date

    settings = settings_for(warehouse, reports=reports)
    report_date = run_safely(check_report_date, datum)
    files = run_safely(render_tweewekelijks, settings, report_date, district or None, workers=workers)
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
    datum: Annotated[Optional[str], typer.Option("--date", help="Rapportdatum JJJJ-MM-DD (standaard vandaag).")] = None,
    pdf: Annotated[bool, typer.Option("--pdf/--geen-pdf", help="Ook pdf-versies maken.")] = True,
    warehouse: WarehouseOpt = None,
) -> None:
    """De hoofdtaak: ophalen (als de bron een nieuwe versie van een tabel heeft) en het tweewekelijkse rapport voor elk district.

    Draait de Prefect-flow 'tweewekelijks' in dit proces (geen server nodig).
    """
    if demo_mode:
        from veiligheidsbeeld.cli_flows import demo as run_demo_command

        run_demo_command()
        return
    from veiligheidsbeeld.cli_flows import load_flow
    from veiligheidsbeeld.errors import SourceUnavailableError

    from veiligheidsbeeld.analysis.periods import check_report_date

    settings = settings_for(warehouse)
    # The same date guard as 'report' and the flow, before a Prefect run (and an ingest) starts.
    report_date = run_safely(check_report_date, datum)
    flow = load_flow("tweewekelijks")
    try:
        paths = flow(
            report_date=report_date,
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
        _fail(str(exc))
    index = next((p for p in paths if p.endswith("index.html")), None)
    console.print(f"{len(paths)} bestanden geschreven." + (f" Overzicht: {index}" if index else ""))


# --- Incident data (issue 18) ----------------------------------------------------------------

incidenten_app = typer.Typer(help="Incidentbestanden van de politie (politie-intern): importeren.", no_args_is_help=True)
app.add_typer(incidenten_app, name="incidenten")


@incidenten_app.command("import")
def incidenten_import(
    file: Annotated[Path, typer.Argument(help="CSV-, Excel- of Parquet-bestand met één rij per incident.")],
    synthetisch: Annotated[bool, typer.Option("--synthetisch", help="Markeer de import als synthetisch (test/demo).")] = False,
    warehouse: WarehouseOpt = None,
) -> None:
    """Importeer een incidentbestand in het lokale warehouse (kolommen volgens [incidenten].kolommen)."""
    from veiligheidsbeeld.incidents.importer import import_incidents

    result = run_safely(import_incidents, settings_for(warehouse), file, synthetic=synthetisch)
    console.print(result.summary(), soft_wrap=True, highlight=False)


@incidenten_app.command("status")
def incidenten_status(warehouse: WarehouseOpt = None) -> None:
    """Toon de imports van incidentbestanden: bestand, moment, controlegetal, rijen en hoeveel nog gelden."""
    from veiligheidsbeeld.warehouse.queries import import_history
    from veiligheidsbeeld.warehouse.db import reader

    settings = settings_for(warehouse)

    def history():
        with reader(settings.paths.resolved().warehouse) as con:
            return import_history(con)

    frame = run_safely(history)
    if frame.empty:
        console.print("Nog geen incidentbestanden geïmporteerd ('veiligheidsbeeld incidenten import BESTAND').")
        return
    console.print("[bold]Incidentimports[/] (politie-intern)")
    for r in frame.itertuples():
        console.print(
            f"  {r.import_id}: {r.file_name}" + (" (SYNTHETISCH)" if r.synthetic else "")
            + f" — {r.imported_at:%d-%m-%Y %H:%M}, controlegetal {r.checksum}…; {r.rows_in_file} rijen, "
            f"{r.rows_imported} geïmporteerd, {r.rows_unusable} onbruikbaar, {r.current_rows} nog geldend; {r.coordinates}",
            soft_wrap=True, highlight=False,
        )


@app.command("near-repeat")
def near_repeat(
    input_file: Annotated[Optional[Path], typer.Argument(help="CSV/Excel/Parquet met x, y en datum per incident.")] = None,
    x: Annotated[str, typer.Option("--x", help="Kolom met de x-coördinaat (meters, bijv. RD).")] = "x",
    y: Annotated[str, typer.Option("--y", help="Kolom met de y-coördinaat (meters).")] = "y",
    datum: Annotated[str, typer.Option("--date", help="Kolom met de (begin)datum.")] = "datum",
    datum_tot: Annotated[
        Optional[str], typer.Option("--date-to", help="Kolom met de einddatum van een venster (het midden telt).")
    ] = None,
    distance_bands: Annotated[
        Optional[str], typer.Option("--distance-bands", help="Afstandsgrenzen, bijv. 0,1,100,200,300 (banden [a, b), de laatste open).")
    ] = None,
    time_bands: Annotated[
        Optional[str], typer.Option("--time-bands", help="Tijdsgrenzen in dagen, bijv. 0,7,14,21.")
    ] = None,
    metric: Annotated[Optional[str], typer.Option("--metric", help="manhattan of euclidean.")] = None,
    permutations: Annotated[Optional[int], typer.Option("--permutations", help="Aantal Monte Carlo-permutaties van de data.")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Startwaarde van de toevalsgenerator.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Uitvoermap voor knox.csv en knox.png.")] = Path("near-repeat"),
    from_warehouse: Annotated[bool, typer.Option("--from-warehouse", help="De incidenten uit het warehouse gebruiken.")] = False,
    soort: Annotated[Optional[str], typer.Option("--type", help="Soort misdrijf (CBS-code) bij --from-warehouse.")] = None,
    since: Annotated[
        Optional[datetime], typer.Option("--since", formats=["%Y-%m-%d"], help="Vanaf deze datum (bij --from-warehouse; standaard een jaar terug).")
    ] = None,
    warehouse: WarehouseOpt = None,
) -> None:
    """Near-repeat-analyse (Knox-toets): waargenomen en verwachte paren per afstand- en tijdsband, Knox-ratio en p-waarde."""
    from veiligheidsbeeld.errors import ConfigError
    from veiligheidsbeeld.incidents import nearrepeat as nr

    settings = settings_for(warehouse)
    inc = settings.incidenten

    def run():
        d_edges = nr.parse_edges(distance_bands, "--distance-bands") if distance_bands else inc.afstandsbanden
        t_edges = nr.parse_edges(time_bands, "--time-bands") if time_bands else inc.tijdsbanden
        how = (metric or inc.metriek).lower()
        if how not in ("manhattan", "euclidean"):
            raise ConfigError(f"--metric '{metric}' bestaat niet: kies manhattan of euclidean.")
        common = dict(metric=how, permutations=permutations or inc.permutaties, seed=inc.seed if seed is None else seed)
        if from_warehouse:
            if input_file is not None:
                raise ConfigError("Geef een invoerbestand óf --from-warehouse, niet allebei.")
            code = soort or inc.woninginbraak_code
            start = since.date() if since else nr.default_since()
            frame, wide, synthetic = nr.warehouse_incidents(settings, code, start)
            notes = (f"{wide} incidenten met een pleegvenster van meer dan {inc.max_venster_dagen:g} dagen niet meegeteld.",) if wide else ()
            source = f"Incidenten {code} sinds {start:%d-%m-%Y} uit het warehouse" + (" (SYNTHETISCH)" if synthetic else "") + "; politie-intern."
            return nr.run_near_repeat(frame, out, d_edges, t_edges, title=f"Near-repeat {code}", source=source,
                                      synthetic=synthetic, notes=notes, **common)
        if input_file is None:
            raise ConfigError("Geef een invoerbestand (CSV) of --from-warehouse.")
        frame, skipped = nr.incidents_from_csv(input_file, x, y, datum, datum_tot, inc.datum_formaat)
        return nr.run_near_repeat(frame, out, d_edges, t_edges, title="Near-repeat (Knox-toets)",
                                  source=f"Bron: {input_file.name}.", skipped=skipped, **common)

    result = run_safely(run)
    k = result.result
    console.print(
        f"Knox-toets: {k.n_incidents} incidenten, {k.n_pairs} paren ({k.close_pairs} binnen {k.distance_edges[-1]:g} m), "
        f"{k.metric}, {k.permutations} permutaties, seed {k.seed}." + (" SYNTHETISCHE gegevens." if result.synthetic else ""),
        soft_wrap=True, highlight=False,
    )
    if result.skipped:
        console.print(f"{result.skipped} rijen zonder coördinaten of datum overgeslagen.")
    for note in result.notes:
        console.print(note, soft_wrap=True)
    table = Table("afstand", *[f"{c} d" for c in k.matrix("knox_ratio").columns], title="Knox-ratio (p-waarde)")
    ratio, pv = k.matrix("knox_ratio"), k.matrix("p_waarde")
    for label in ratio.index:
        table.add_row(label, *[f"{ratio.loc[label, c]:.2f} ({pv.loc[label, c]:.3f})" for c in ratio.columns])
    console.print(table)
    for path in result.files:
        console.print(str(path))


def _register_flow_commands() -> None:
    from veiligheidsbeeld.cli_flows import demo, serve

    app.command()(serve)
    app.command()(demo)


_register_flow_commands()


def run() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
