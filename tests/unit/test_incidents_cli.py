"""The incident commands as a user runs them: `incidenten import` and `near-repeat` (the
command-line contract). SYNTHETIC incidents; the Chicago file is public reference data."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from veiligheidsbeeld.cli import app
from veiligheidsbeeld.testing.synthetic_incidents import Area, generate_incidents

AREA = Area("GM0153", (255_000.0, 465_000.0, 262_000.0, 472_000.0))


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def export(tmp_path) -> Path:
    frame = generate_incidents([AREA], date(2023, 1, 1), date(2024, 1, 1), burglaries_per_year=500, seed=8)
    path = tmp_path / "export.csv"
    frame.to_csv(path, index=False)
    return path


def test_import_then_near_repeat_from_the_warehouse(tmp_path, export):
    wh = tmp_path / "vb.duckdb"
    first = invoke("incidenten", "import", str(export), "--synthetisch", "--warehouse", str(wh))
    assert first.exit_code == 0, first.output
    assert "incidenten geïmporteerd" in first.output and "SYNTHETISCHE" in first.output
    again = invoke("incidenten", "import", str(export), "--warehouse", str(wh))
    assert again.exit_code == 0 and "al geïmporteerd" in again.output
    status = invoke("incidenten", "status", "--warehouse", str(wh))
    assert status.exit_code == 0 and "export.csv (SYNTHETISCH)" in status.output
    out = tmp_path / "nr"
    result = invoke("near-repeat", "--from-warehouse", "--type", "1.1.1", "--since", "2023-01-01",
                    "--permutations", "19", "--out", str(out), "--warehouse", str(wh))
    assert result.exit_code == 0, result.output
    assert "SYNTHETISCHE" in result.output
    table = pd.read_csv(out / "knox.csv")
    assert table["waargenomen"].sum() > 0 and (out / "knox.png").stat().st_size > 1000


def test_near_repeat_command_line_contract(tmp_path, chicago_reference):
    csv = tmp_path / "chicago_2016.csv"
    csv.write_bytes(gzip.decompress(chicago_reference.read_bytes()))
    out = tmp_path / "out"
    result = invoke("near-repeat", str(csv), "--x", "x", "--y", "y", "--date", "date_single",
                    "--distance-bands", "0,1,100,200,300", "--time-bands", "0,2,4", "--metric", "euclidean",
                    "--permutations", "19", "--seed", "1", "--out", str(out))
    assert result.exit_code == 0, result.output
    lines = (out / "knox.csv").read_text().splitlines()
    assert lines[0] == "afstand_van,afstand_tot,dagen_van,dagen_tot,waargenomen,verwacht,knox_ratio,p_waarde"
    assert lines[1].startswith("0,1,0,2,202,")  # the NRC's "Same location, 0 to 2 days": 202 pairs
    assert lines[-1].startswith("300,,4,,67037075,")  # both last bands open
    assert len(lines) == 1 + 5 * 3


@pytest.mark.parametrize(
    "args, message",
    [
        (["--distance-bands", "0,200,100"], "oplopend"),
        (["--time-bands", "0,x"], "geen lijst getallen"),
        (["--metric", "chebyshev"], "manhattan of euclidean"),
        (["--date", "pleegdatum"], "ontbreekt de kolom 'pleegdatum'"),
    ],
)
def test_near_repeat_bad_input_is_one_dutch_sentence(tmp_path, export, args, message):
    result = CliRunner().invoke(app, ["near-repeat", str(export), "--x", "x", "--y", "y", "--date", "pleegdatum_van",
                                      "--out", str(tmp_path / "o"), *args])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


def test_near_repeat_refuses_degrees(tmp_path):
    frame = pd.DataFrame({"lon": [6.89, 6.90, 6.91], "lat": [52.22, 52.23, 52.21], "datum": ["2024-01-01"] * 3})
    frame.to_csv(tmp_path / "ll.csv", index=False)
    result = CliRunner().invoke(app, ["near-repeat", str(tmp_path / "ll.csv"), "--x", "lon", "--y", "lat", "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "lengte- en breedtegraden" in result.output


def test_import_bad_file_is_one_sentence_and_nothing_written(tmp_path, export):
    wh = tmp_path / "vb.duckdb"
    frame = pd.read_csv(export)
    frame.loc[3, "x"] = 6.9
    frame.loc[3, "y"] = 52.2
    frame.to_csv(tmp_path / "bad.csv", index=False)
    result = CliRunner().invoke(app, ["incidenten", "import", str(tmp_path / "bad.csv"), "--warehouse", str(wh)])
    assert result.exit_code == 1
    assert "rij 5" in result.output and "Traceback" not in result.output
    assert not wh.exists()  # checked before the warehouse was even opened


def test_incident_commands_have_help():
    for args in (["incidenten", "--help"], ["incidenten", "import", "--help"], ["incidenten", "status", "--help"],
                 ["near-repeat", "--help"]):
        result = invoke(*args)
        assert result.exit_code == 0 and "Usage" in result.output, args
