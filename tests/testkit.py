"""Test helpers that several test modules share (importable as ``testkit``: pytest puts tests/,
the folder of conftest.py, on the path). Every value they write is SYNTHETIC and labelled so."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb


@contextmanager
def read_warehouse(root: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the warehouse of the project folder ``root`` (default path), closed after."""
    con = duckdb.connect(str(root / "data/warehouse/veiligheidsbeeld.duckdb"), read_only=True)
    try:
        yield con
    finally:
        con.close()


def write_population_snapshot(
    root: Path, regions: Sequence[str], years: Sequence[int], inhabitants: Callable[[str, int], int | None]
) -> Path:
    """A 03759ned snapshot (cbsodata.download_data layout) under ``root`` holding only the total
    categories, one row per region and year like CBS. ``inhabitants(code, year)`` is 'Bevolking op
    1 januari' (None: suppressed, or the code is not in that year's layout); 'Gemiddelde bevolking'
    is that plus 10. Returns ``root``."""
    directory = root / "03759ned"
    directory.mkdir(parents=True)
    entities = {
        "TableInfos": [{"Identifier": "03759ned", "Title": "Bevolking (SYNTHETISCH, testgegevens)", "Modified": "2024-06-28T02:00:00"}],
        "DataProperties": [
            {"ID": 0, "Type": "Dimension", "Key": "Geslacht", "Title": "Geslacht"},
            {"ID": 1, "Type": "Dimension", "Key": "Leeftijd", "Title": "Leeftijd"},
            {"ID": 2, "Type": "Dimension", "Key": "BurgerlijkeStaat", "Title": "Burgerlijke staat"},
            {"ID": 3, "Type": "GeoDimension", "Key": "RegioS", "Title": "Regio's"},
            {"ID": 4, "Type": "TimeDimension", "Key": "Perioden", "Title": "Perioden"},
            {"ID": 5, "Type": "Topic", "Key": "BevolkingOp1Januari_1", "Title": "Bevolking op 1 januari"},
            {"ID": 6, "Type": "Topic", "Key": "GemiddeldeBevolking_2", "Title": "Gemiddelde bevolking"},
        ],
        "Geslacht": [{"Key": "T001038", "Title": "Totaal mannen en vrouwen"}],
        "Leeftijd": [{"Key": "10000", "Title": "Totaal"}],
        "BurgerlijkeStaat": [{"Key": "T001019", "Title": "Totaal burgerlijke staat"}],
        "RegioS": [{"Key": c, "Title": c} for c in regions],
        "Perioden": [{"Key": f"{y}JJ00", "Title": str(y), "Status": "Definitief"} for y in years],
        "TypedDataSet": [
            {
                "Geslacht": "T001038", "Leeftijd": "10000", "BurgerlijkeStaat": "T001019", "RegioS": c, "Perioden": f"{y}JJ00",
                "BevolkingOp1Januari_1": value,
                "GemiddeldeBevolking_2": None if value is None else value + 10,
            }
            for c in regions
            for y in years
            for value in [inhabitants(c, y)]
        ],
    }
    for name, data in entities.items():
        (directory / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")
    return root


def cli(root: Path, *args: str, env: dict[str, str] | None = None):
    """The command as a user runs it in ``root`` (default paths data/, reports/ are relative)."""
    import os

    from typer.testing import CliRunner

    from veiligheidsbeeld.cli import app

    cwd = os.getcwd()
    os.chdir(root)
    try:
        return CliRunner().invoke(app, list(args), env=env, catch_exceptions=True)
    finally:
        os.chdir(cwd)
