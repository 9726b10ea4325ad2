"""Target commands: ``doel overlast``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from veiligheidsbeeld.cli.core import fail, run_safely, settings_for
from veiligheidsbeeld.cli.options import WarehouseOpt


def doel_overlast(
    region: Annotated[
        Optional[str], typer.Option("--region", help="NL00, de eenheid (RE02), een district (VR05 of naam) of een gemeente (code of naam).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv of json.")] = "table",
    warehouse: WarehouseOpt = None,
) -> None:
    """Overlast tegen het basisjaar: index, glijpad, rate ratio met 95%-interval, toets en status."""
    from veiligheidsbeeld.reports.overlast import run_doel_overlast

    if region is not None and not region.strip():
        fail("--region is leeg; geef NL00, RE02, een district (VR05 of naam) of een gemeente (code of naam).")
    typer.echo(run_safely(run_doel_overlast, settings_for(warehouse), region, fmt), nl=False)
