"""Flow commands: ``run`` (the main job, in this process), ``serve`` (the schedules of
``prefect.yaml`` in this process) and ``demo`` (the whole chain on synthetic figures)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from veiligheidsbeeld.cli.core import STATE, console, err_console, run_safely, settings_for
from veiligheidsbeeld.cli.options import FlowSourceOpt, RawOpt, ReportDateOpt, ReportsOpt, WarehouseOpt, comma_list
from veiligheidsbeeld.deployments import find_project_dir, load_flow, runner_deployments


def run_main(
    source: FlowSourceOpt = "api",
    demo_mode: Annotated[bool, typer.Option("--demo", help="Alles op synthetische cijfers (geen netwerk nodig).")] = False,
    datum: ReportDateOpt = None,
    pdf: Annotated[bool, typer.Option("--pdf/--geen-pdf", help="Ook pdf-versies maken.")] = True,
    warehouse: WarehouseOpt = None,
) -> None:
    """De hoofdtaak: ophalen (als de bron een nieuwe versie van een tabel heeft) en het tweewekelijkse rapport voor elk district.

    Draait de Prefect-flow 'tweewekelijks' in dit proces (geen server nodig).
    """
    if demo_mode:
        demo()
        return
    from veiligheidsbeeld.analysis.periods import check_report_date
    from veiligheidsbeeld.errors import SourceUnavailableError

    settings = settings_for(warehouse)
    # The same date guard as 'report' and the flow, before a Prefect run (and an ingest) starts.
    report_date = run_safely(check_report_date, datum)
    flow = load_flow("tweewekelijks")

    def run_flow() -> list[str]:
        try:
            return flow(
                report_date=report_date,
                source=source,
                warehouse=str(settings.paths.resolved().warehouse),
                config=str(STATE.config) if STATE.config else None,
                pdf=pdf,
            )
        except SourceUnavailableError:
            # Also with --debug: the way out (a snapshot, the demo) matters more than the traceback.
            err_console.print(
                "[bold red]Geen verbinding met de CBS-API[/] (dit netwerk bereikt dataderden.cbs.nl niet). "
                "Draai vanuit een snapshotmap: [bold]bash scripts/run.sh --source /pad/naar/snapshot[/] "
                "(gemaakt met cbsodata.download_data op een machine met toegang), of bekijk alles op synthetische "
                "cijfers: [bold]bash scripts/run.sh --demo[/]."
            )
            raise typer.Exit(code=1) from None

    paths = run_safely(run_flow)
    index = next((p for p in paths if p.endswith("index.html")), None)
    console.print(f"{len(paths)} bestanden geschreven." + (f" Overzicht: {index}" if index else ""))


def serve(
    source: FlowSourceOpt = None,
    warehouse: WarehouseOpt = None,
    raw: RawOpt = None,
    reports: ReportsOpt = None,
    only: Annotated[
        Optional[list[str]], typer.Option("--alleen", help="Alleen deze deployment(s) of flow(s), bijv. tweewekelijks.")
    ] = None,
    project: Annotated[
        Optional[Path], typer.Option("--project", help="Map met prefect.yaml en flows/ (standaard: gevonden vanaf hier).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--toon", help="Toon de deployments en hun eerstvolgende runs, zonder te starten.")
    ] = False,
) -> None:
    """Voer de geplande flows (ophalen, tweewekelijks rapport, jaaranalyse) uit in dit ene proces, zonder server.

    De schema's en parameters komen uit prefect.yaml. Stop met Ctrl+C.
    """
    project_dir = run_safely(find_project_dir, project)
    parameters = {
        "config": str(Path(STATE.config).resolve()) if STATE.config else None,
        "source": source,
        "warehouse": str(warehouse.resolve()) if warehouse else None,
        "raw": str(raw.resolve()) if raw else None,
        "reports": str(reports.resolve()) if reports else None,
    }
    # Flow runs start in subprocesses that load flows/… relative to the working directory.
    os.chdir(project_dir)
    deployments = run_safely(runner_deployments, project_dir, only=only, parameters=parameters)
    console.print(next_runs_text(deployments))
    if dry_run:
        return
    import prefect

    console.print("[bold]Flows draaien nu volgens schema in dit proces.[/] Stop met Ctrl+C.")
    prefect.serve(*deployments)


def next_runs_text(deployments: list[Any], n: int = 3) -> str:
    """The deployments with their next ``n`` runs in Europe/Amsterdam time (Dutch)."""
    import asyncio
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from babel.dates import format_datetime
    from prefect.server.schemas import schedules as server_schedules

    from veiligheidsbeeld.pipeline import TIMEZONE

    tz = ZoneInfo(TIMEZONE)
    lines = []
    for dep in deployments:
        lines.append(f"{dep.flow_name}/{dep.name}:")
        for s in dep.schedules or []:
            schedule = getattr(s, "schedule", s)
            server = getattr(server_schedules, type(schedule).__name__).model_validate(schedule.model_dump())
            dates = asyncio.run(server.get_dates(n=n, start=datetime.now(tz)))
            lines.append("  volgende runs: " + ", ".join(
                format_datetime(d.astimezone(tz), "EEE d MMM y HH:mm", locale="nl_NL") for d in dates))
    return "\n".join(lines)


def demo(
    folder: Annotated[Path, typer.Option("--map", help="Map voor de demo (snapshot, warehouse, rapporten).")] = Path("demo"),
    start: Annotated[str, typer.Option("--start", help="Eerste maand van de snapshot (JJJJ-MM).")] = "2013-01",
    end: Annotated[
        Optional[str], typer.Option("--einde", help="Laatste maand (JJJJ-MM); standaard twee maanden terug.")
    ] = None,
    missing: Annotated[
        Optional[str], typer.Option("--ontbrekend", help="De ontbrekende maand (JJJJ-MM); standaard 40 maanden vóór het einde.")
    ] = None,
    codes: Annotated[
        Optional[str], typer.Option("--codes", help="47022NED-codes, komma-gescheiden (standaard wat de rapporten nodig hebben).")
    ] = None,
    buurt_gemeenten: Annotated[
        Optional[str], typer.Option("--buurtgemeenten", help="Gemeenten met wijken en buurten, komma-gescheiden (standaard één kleine per district).")
    ] = None,
    gemeenten: Annotated[
        Optional[str], typer.Option("--gemeenten", help="Gemeentecodes, komma-gescheiden (standaard de hele eenheid).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Startwaarde van de toevalsgenerator.")] = 20151007,
) -> None:
    """Maak een synthetische snapshot van de eenheid en draai de hele keten erop: elk rapport, in een paar minuten.

    Alle cijfers zijn SYNTHETISCH; elk rapport zegt dat. Het echte warehouse wordt niet aangeraakt.
    """
    from veiligheidsbeeld.demo import DemoOptions, demo_overview, run_demo

    def split(text: str | None) -> tuple[str, ...] | None:
        return None if text is None else tuple(comma_list(text))

    options = DemoOptions(root=folder, start=start, end=end, missing_month=missing, codes=split(codes),
                          buurt_gemeenten=split(buurt_gemeenten), gemeenten=split(gemeenten) or (), seed=seed)
    console.print("[bold yellow]DEMO MET SYNTHETISCHE CIJFERS[/] — niets hiervan zegt iets over de werkelijkheid.")
    result = run_safely(run_demo, options, config=STATE.config, say=lambda text: console.print(f"[cyan]{text}[/]"))
    console.print(demo_overview(result))
