"""The veiligheidsbeeld command as a user runs it: ingest, status, regions, doel, report, errors.

The snapshot's national rows are real; its gemeente, wijk and buurt rows are SYNTHETIC.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from veiligheidsbeeld.cli import app
from veiligheidsbeeld.testing.synthetic import build_police_snapshot
from veiligheidsbeeld.testing.synthetic_cbs import build_cbs_snapshot, copy_boundaries

pytestmark = pytest.mark.integration

GEMEENTEN = "GM1773,GM0177"


@pytest.fixture(scope="module")
def project(tmp_path_factory, shared_dir) -> Path:
    root = tmp_path_factory.mktemp("cli")
    snap = root / "snapshot"
    build_police_snapshot(snap, shared_dir=shared_dir, gemeenten=GEMEENTEN.split(","), start="2012-01", end="2023-12",
                          codes={"47022NED": ("0.0.0", "1.1.1", "1.4.3", "1.4.4", "1.4.5", "1.4.6", "1.4.7")},
                          missing_months=["2023-06"])
    build_cbs_snapshot(snap, region_list=shared_dir / "data/politie/47022NED_WijkenEnBuurten.csv", gemeenten=GEMEENTEN.split(","),
                       years=range(2012, 2024), wijk_buurt_years=(2022, 2023))
    copy_boundaries(snap, shared_dir)
    return root


def run(project: Path, *args: str):
    cwd = os.getcwd()
    os.chdir(project)  # the default paths (data/, reports/) are relative to where the user works
    try:
        return CliRunner().invoke(app, list(args), catch_exceptions=False)
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="module")
def ingested(project):
    result = run(project, "ingest", "--source", "snapshot", "--gemeenten", GEMEENTEN)
    assert result.exit_code == 0, result.output
    return result


def test_ingest_prints_a_summary(ingested):
    out = ingested.output
    assert "Ingest klaar" in out
    assert "47022NED: volledig (eerste volledige pull)" in out
    assert "2012-01 t/m 2023-12" in out
    assert "onderdrukte cellen" in out and "voorlopige maanden" in out
    assert "Gegevenscontrole:" in out
    assert "2023-06" in out  # the missing month is reported, not hidden


def test_status_shows_every_table_and_the_checks(project, ingested):
    result = run(project, "status")
    assert result.exit_code == 0, result.output
    assert "47022NED: laatste maand 2023-12" in result.output
    assert "47024NED: laatste maand 2023-12" in result.output
    assert "NIET ACTUEEL" in result.output  # 2023 data is stale today
    assert "Gegevenscontrole 47022NED" in result.output


def test_regions_lists_districts_and_checks_them_against_the_data(project, ingested):
    result = run(project, "regions")
    assert result.exit_code == 0, result.output
    assert "VR04 IJsselland" in result.output and "GM1773  Olst-Wijhe" in result.output
    assert "staat niet in de politiegegevens" in result.output  # only 2 of 76 gemeenten were ingested


def test_doel_overlast_reproduces_the_national_figures(project, ingested):
    result = run(project, "doel", "overlast", "--region", "NL00", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    flat = json.dumps(rows)
    assert "291796" in flat and "349988" in flat


def test_report_tweewekelijks_writes_every_file(project, ingested):
    result = run(project, "report", "tweewekelijks", "--date", "2024-01-20", "--district", "IJsselland")
    assert result.exit_code == 0, result.output
    out = project / "reports" / "2024-01-20" / "tweewekelijks"
    assert (out / "index.html").is_file() and (out / "ijsselland.html").is_file() and (out / "ijsselland.pdf").is_file()
    # A progress line per district as it is ready, then where everything is.
    assert "s: district IJsselland (ijsselland.html)" in result.output and "klaar na " in result.output
    flat = "".join(result.output.split())  # the console wraps long paths
    assert f"bestandengeschrevenin{out}Overzicht:" in flat
    page = (out / "ijsselland.html").read_text(encoding="utf-8")
    assert "SYNTHETISCH" in page.upper()
    assert "juni 2023" in page  # the missing month is a banner


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ingest", "--source", "/bestaat/niet"), "geen map"),
        (("ingest", "--tables", "47099NED", "--source", "snapshot"), "Onbekende tabel '47099NED'"),
        (("report", "tweewekelijks", "--district", "Atlantis"), "Atlantis"),
        (("report", "tweewekelijks", "--date", "2099-01-01"), "2099"),
        (("doel", "overlast", "--region", "GM9999"), "GM9999"),
    ],
)
def test_bad_input_is_one_clear_sentence(project, ingested, args, message):
    result = run(project, *args)
    assert result.exit_code == 1
    assert result.output.startswith("Fout:") and message in result.output
    assert "Traceback" not in result.output


def test_every_command_has_help(project):
    for args in (["--help"], ["ingest", "--help"], ["status", "--help"], ["regions", "--help"],
                 ["report", "tweewekelijks", "--help"], ["report", "jaaranalyse", "--help"], ["doel", "overlast", "--help"]):
        result = run(project, *args)
        assert result.exit_code == 0 and "Usage" in result.output, args


def test_run_demo_runs_the_demo(project, monkeypatch):
    calls = []
    monkeypatch.setattr("veiligheidsbeeld.cli.flows.demo", lambda: calls.append("demo"))
    result = run(project, "run", "--demo")
    assert result.exit_code == 0, result.output
    assert calls == ["demo"]


def test_run_without_network_says_so_in_one_sentence(project, monkeypatch):
    from veiligheidsbeeld.errors import SourceUnavailableError

    def flow(**kwargs):
        raise SourceUnavailableError("dataderden.cbs.nl is niet bereikbaar")

    monkeypatch.setattr("veiligheidsbeeld.cli.flows.load_flow", lambda name, project_dir=None: flow)
    result = run(project, "run")
    assert result.exit_code == 1
    assert "Geen verbinding met de CBS-API" in result.output and "--source" in result.output and "--demo" in result.output


def test_ingest_summary_names_what_was_loaded(ingested):
    out = " ".join(ingested.output.split())
    assert "Geladen: politiecijfers van 2 van de 76 gemeenten van eenheid Oost-Nederland: Raalte (GM0177), " \
           "Olst-Wijhe (GM1773)" in out or "Olst-Wijhe (GM1773), Raalte (GM0177)" in out
    assert "76 gemeenten in de districten" not in out
    assert "buiten eenheid" not in out


def test_ingest_of_a_gemeente_outside_the_eenheid_says_the_reports_leave_it_out(tmp_path, shared_dir):
    # Schiermonnikoog (GM0088) lies in eenheid Noord-Nederland; its figures here are SYNTHETIC.
    build_police_snapshot(tmp_path / "snapshot", shared_dir=shared_dir, gemeenten=["GM0088"], tables=("47022NED",),
                          start="2022-01", end="2023-12", codes={"47022NED": ("0.0.0", "1.1.1")})
    result = run(tmp_path, "ingest", "--source", "snapshot", "--tables", "47022NED", "--gemeenten", "GM0088")
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "Geladen: politiecijfers van 1 gemeente(n) buiten eenheid Oost-Nederland: Schiermonnikoog (GM0088)" in out
    assert ("Let op: Schiermonnikoog (GM0088) ligt buiten eenheid Oost-Nederland: de rapporten (tweewekelijks en "
            "jaaranalyse) behandelen alleen de gemeenten van de eenheid en laten deze gemeente weg.") in out
    assert "76 gemeenten in de districten" not in out and "politiecijfers van alle" not in out
