"""Option types that more than one command takes: one definition, one help text."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

WarehouseOpt = Annotated[
    Optional[Path], typer.Option("--warehouse", help="Pad naar het DuckDB-warehouse (standaard data/warehouse/veiligheidsbeeld.duckdb).")
]
RawOpt = Annotated[Optional[Path], typer.Option("--raw", help="Pad naar de landingszone (standaard data/raw).")]
ReportsOpt = Annotated[Optional[Path], typer.Option("--reports", help="Map voor de rapporten (standaard reports).")]
ReportDateOpt = Annotated[Optional[str], typer.Option("--date", help="Rapportdatum JJJJ-MM-DD (standaard vandaag).")]
# The source of a flow run (run, serve); 'ingest' explains the snapshot kinds in its own help.
FlowSourceOpt = Annotated[
    Optional[str], typer.Option("--source", help="'api' (live CBS) of een snapshotmap voor het ophalen.")
]
DistrictsOpt = Annotated[
    Optional[list[str]], typer.Option("--district", help="District (naam of code), herhaalbaar; standaard alle.")
]


def comma_list(text: str | None) -> list[str]:
    """The non-empty items of a comma-separated option value ('a, b,' -> ['a', 'b'])."""
    return [t.strip() for t in (text or "").split(",") if t.strip()]
