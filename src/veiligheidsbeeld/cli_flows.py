"""``veiligheidsbeeld serve`` and ``veiligheidsbeeld demo``.

``serve`` runs the deployments of ``prefect.yaml`` with their schedules in this one process: the
embedded default for a single analyst, no Prefect server or worker to install. It reads the same
``prefect.yaml`` that ``prefect deploy --all`` reads for the team setup, so both run the same
flows on the same schedules with the same parameters.

The commands are plain typer-style functions, registered in :mod:`veiligheidsbeeld.cli`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

PREFECT_YAML = "prefect.yaml"


# --------------------------------------------------------------------------------------------
# prefect.yaml -> deployments (shared by serve and the tests)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment of ``prefect.yaml``, as ``serve`` needs it."""

    name: str
    entrypoint: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    concurrency_limit: int | None = None
    schedules: tuple[Any, ...] = ()  # prefect.client.schemas.schedules objects

    @property
    def flow_file(self) -> str:
        return self.entrypoint.rsplit(":", 1)[0]

    @property
    def flow_function(self) -> str:
        return self.entrypoint.rsplit(":", 1)[1]


def find_project_dir(start: Path | None = None) -> Path:
    """The folder with ``prefect.yaml``: the given or current folder or one above it, else the
    checkout this package is installed from (editable install)."""
    from veiligheidsbeeld.errors import ConfigError

    here = Path(start or Path.cwd()).resolve()
    candidates = [here, *here.parents, Path(__file__).resolve().parents[2]]
    for folder in candidates:
        if (folder / PREFECT_YAML).is_file() and (folder / "flows").is_dir():
            return folder
    raise ConfigError(
        f"Geen {PREFECT_YAML} met flows/ gevonden in {here} of een map erboven. "
        "Start 'veiligheidsbeeld serve' in de projectmap of geef --project."
    )


def load_flow(name: str, project_dir: Path | None = None) -> Any:
    """The Prefect flow ``flows/<name>.py:<name>`` of the project, to run in this process."""
    from prefect.flows import load_flow_from_entrypoint

    folder = find_project_dir(project_dir)
    return load_flow_from_entrypoint(f"{folder / 'flows' / (name + '.py')}:{name}")


def schedule_from_config(config: dict[str, Any]) -> Any:
    """A Prefect schedule object for one ``schedules:`` entry of ``prefect.yaml`` (cron, rrule or
    interval; with timezone and anchor date), as ``prefect deploy`` builds it."""
    from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule, RRuleSchedule

    from veiligheidsbeeld.errors import ConfigError

    timezone = config.get("timezone")
    if config.get("cron"):
        kwargs = {"cron": config["cron"], "timezone": timezone, "day_or": config.get("day_or")}
        return CronSchedule(**{k: v for k, v in kwargs.items() if v is not None})
    if config.get("rrule"):
        return RRuleSchedule(rrule=config["rrule"], timezone=timezone or "UTC")
    if config.get("interval"):
        interval = config["interval"]
        if isinstance(interval, (int, float)):
            interval = timedelta(seconds=interval)
        kwargs = {"interval": interval, "anchor_date": config.get("anchor_date"), "timezone": timezone}
        return IntervalSchedule(**{k: v for k, v in kwargs.items() if v is not None})
    raise ConfigError(f"Onbekend schema in {PREFECT_YAML}: {config}. Verwacht cron, rrule of interval.")


def deployment_specs(project_dir: Path) -> list[DeploymentSpec]:
    """The deployments of ``<project_dir>/prefect.yaml``."""
    import yaml

    from veiligheidsbeeld.errors import ConfigError

    path = Path(project_dir) / PREFECT_YAML
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path} kan niet worden gelezen: {exc}") from None
    specs = []
    for d in data.get("deployments") or []:
        limit = d.get("concurrency_limit")
        if isinstance(limit, dict):
            limit = limit.get("limit")
        specs.append(DeploymentSpec(
            name=d["name"],
            entrypoint=d["entrypoint"],
            description=str(d.get("description") or "").strip(),
            parameters=dict(d.get("parameters") or {}),
            tags=tuple(d.get("tags") or ()),
            concurrency_limit=limit,
            schedules=tuple(schedule_from_config(s) for s in d.get("schedules") or () if s.get("active", True)),
        ))
    if not specs:
        raise ConfigError(f"{path} noemt geen deployments.")
    return specs


def runner_deployments(
    project_dir: Path, *, only: list[str] | None = None, parameters: dict[str, Any] | None = None
) -> list[Any]:
    """``RunnerDeployment`` objects for ``prefect.serve``: each flow loaded from its entrypoint in
    the project folder, with the schedules and parameters of ``prefect.yaml`` (``parameters``
    added on top, e.g. this machine's warehouse path)."""
    from prefect.flows import load_flow_from_entrypoint

    from veiligheidsbeeld.errors import ConfigError

    specs = deployment_specs(project_dir)
    if only:
        known = {s.name for s in specs} | {s.flow_function for s in specs}
        unknown = [o for o in only if o not in known]
        if unknown:
            raise ConfigError(f"Onbekende deployment(s) {', '.join(unknown)}. Geldig: {', '.join(sorted(known))}.")
        specs = [s for s in specs if s.name in only or s.flow_function in only]
    out = []
    for spec in specs:
        flow = load_flow_from_entrypoint(f"{Path(project_dir) / spec.flow_file}:{spec.flow_function}")
        accepted = set(flow.parameters.properties)
        extra = {k: v for k, v in (parameters or {}).items() if v is not None and k in accepted}
        out.append(flow.to_deployment(
            name=spec.name,
            schedules=list(spec.schedules),
            parameters={**spec.parameters, **extra},
            description=spec.description or None,
            tags=list(spec.tags),
            concurrency_limit=spec.concurrency_limit,
        ))
    return out


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------

WarehouseOpt = Annotated[Optional[Path], typer.Option("--warehouse", help="Pad naar het DuckDB-warehouse.")]
RawOpt = Annotated[Optional[Path], typer.Option("--raw", help="Pad naar de landingszone (standaard data/raw).")]
ReportsOpt = Annotated[Optional[Path], typer.Option("--reports", help="Map voor de rapporten (standaard reports).")]


def serve(
    source: Annotated[
        Optional[str], typer.Option("--source", help="'api' (live CBS) of een snapshotmap voor het ophalen.")
    ] = None,
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
    from rich.console import Console

    from veiligheidsbeeld.cli import STATE, run_safely

    console = Console()
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
    from rich.console import Console

    from veiligheidsbeeld.cli import STATE, run_safely
    from veiligheidsbeeld.demo import DemoOptions, demo_overview, run_demo

    console = Console()

    def split(text: str | None) -> tuple[str, ...] | None:
        return None if text is None else tuple(t.strip() for t in text.split(",") if t.strip())

    options = DemoOptions(root=folder, start=start, end=end, missing_month=missing, codes=split(codes),
                          buurt_gemeenten=split(buurt_gemeenten), gemeenten=split(gemeenten) or (), seed=seed)
    console.print("[bold yellow]DEMO MET SYNTHETISCHE CIJFERS[/] — niets hiervan zegt iets over de werkelijkheid.")
    result = run_safely(run_demo, options, config=STATE.config, say=lambda text: console.print(f"[cyan]{text}[/]"))
    console.print(demo_overview(result))
