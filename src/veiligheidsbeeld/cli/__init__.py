"""The ``veiligheidsbeeld`` command (entry point ``veiligheidsbeeld.cli:app``).

The one place where the command tree is put together: :mod:`.core` holds the typer app, the
global options and the error handler; :mod:`.options` the option types commands share; each
command group is one module (:mod:`.warehouse`, :mod:`.reports`, :mod:`.doel`, :mod:`.incidents`,
:mod:`.flows`) of plain functions. Command modules import :mod:`.core`, never this package, so
there is no import cycle. The order below is the order of ``veiligheidsbeeld --help``.
"""

from __future__ import annotations

import typer

from veiligheidsbeeld.cli import doel, flows, incidents, reports, warehouse
from veiligheidsbeeld.cli.core import app

app.command()(warehouse.ingest)
app.command()(warehouse.regions)
app.command()(warehouse.status)
app.command("run")(flows.run_main)
app.command("near-repeat")(incidents.near_repeat)
app.command()(flows.serve)
app.command()(flows.demo)

report_app = typer.Typer(help="Rapporten maken.", no_args_is_help=True)
report_app.command("tweewekelijks")(reports.report_tweewekelijks)
report_app.command("jaaranalyse")(reports.report_jaaranalyse)
app.add_typer(report_app, name="report")

doel_app = typer.Typer(help="Doelstellingen volgen.", no_args_is_help=True)
doel_app.command("overlast")(doel.doel_overlast)
app.add_typer(doel_app, name="doel")

warehouse_app = typer.Typer(help="Het warehouse zelf: bijwerken naar de schemaversie van deze versie.", no_args_is_help=True)
warehouse_app.command("upgrade")(warehouse.warehouse_upgrade)
app.add_typer(warehouse_app, name="warehouse")

incidenten_app = typer.Typer(help="Incidentbestanden van de politie (politie-intern): importeren.", no_args_is_help=True)
incidenten_app.command("import")(incidents.incidenten_import)
incidenten_app.command("status")(incidents.incidenten_status)
app.add_typer(incidenten_app, name="incidenten")

__all__ = ["app"]
