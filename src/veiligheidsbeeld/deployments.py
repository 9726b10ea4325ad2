"""The deployments of ``prefect.yaml`` as Python objects, and the project's flows by name.

``veiligheidsbeeld serve`` runs these deployments with their schedules in one process: the
embedded default for a single analyst, no Prefect server or worker to install. It reads the same
``prefect.yaml`` that ``prefect deploy --all`` reads for the team setup, so both run the same
flows on the same schedules with the same parameters. ``veiligheidsbeeld run`` loads one flow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from veiligheidsbeeld.errors import ConfigError

PREFECT_YAML = "prefect.yaml"


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
