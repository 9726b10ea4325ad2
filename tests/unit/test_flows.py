"""The orchestration around the Prefect flows, without a Prefect server: parameters, the stale
check, the run summary, the deployments that `veiligheidsbeeld serve` builds, and the flows'
signatures (what a deployment's parameter form shows)."""

from __future__ import annotations

import dataclasses
import inspect
import runpy
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from veiligheidsbeeld import pipeline
from veiligheidsbeeld.config import load_settings
from veiligheidsbeeld.errors import (
    ConfigError,
    DataError,
    SchemaDriftError,
    SourceError,
    WarehouseLockedError,
)

REPO = Path(__file__).resolve().parents[2]


def _settings(tmp_path: Path):
    return load_settings(None, warehouse=tmp_path / "wh.duckdb", raw=tmp_path / "raw", reports=tmp_path / "rep")


# --- parameters -------------------------------------------------------------------------------


def test_source_is_api_or_an_existing_folder(tmp_path):
    assert pipeline.check_source("api") == "api"
    assert pipeline.check_source(None) == "api"
    assert pipeline.check_source(str(tmp_path)) == str(tmp_path.resolve())
    with pytest.raises(ConfigError, match="geen map en niet 'api'"):
        pipeline.check_source(str(tmp_path / "bestaat-niet"))


def test_districts_by_name_or_code_default_all(tmp_path):
    settings = _settings(tmp_path)
    assert pipeline.check_districts(None, settings) == ["VR04", "VR05", "VR06", "VR07", "VR08"]
    assert pipeline.check_districts(["Twente", "vr08"], settings) == ["VR05", "VR08"]
    with pytest.raises(ConfigError, match="Onbekend district"):
        pipeline.check_districts(["Atlantis"], settings)


def test_run_settings_makes_paths_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = pipeline.run_settings(warehouse="w/vb.duckdb", raw="r")
    assert settings.paths.warehouse == tmp_path / "w" / "vb.duckdb"
    assert settings.paths.raw == tmp_path / "r"
    assert settings.paths.reports.is_absolute()


def test_a_missing_warehouse_is_stale(tmp_path):
    fresh = pipeline.freshness(_settings(tmp_path))
    assert fresh.stale and "nog geen warehouse" in fresh.text


def test_only_source_and_lock_failures_are_retried():
    assert pipeline.is_retryable(SourceError("timeout"))
    assert pipeline.is_retryable(WarehouseLockedError("bezet"))
    assert not pipeline.is_retryable(SchemaDriftError("kolom weg"))
    assert not pipeline.is_retryable(ConfigError("fout"))
    assert not pipeline.is_retryable(DataError("geen data"))
    assert not pipeline.is_retryable(None)


def test_a_missing_report_module_is_one_clear_sentence(monkeypatch):
    with pytest.raises(Exception, match="niet beschikbaar"):
        pipeline._report_function("veiligheidsbeeld.bestaat_niet", "render", "testrapport")


def test_report_results_become_paths():
    class Result:
        paths = ["a.html", Path("b.pdf")]

    assert pipeline._paths(Result()) == [Path("a.html"), Path("b.pdf")]
    assert pipeline._paths([Path("x"), ["y"]]) == [Path("x"), Path("y")]
    assert pipeline._paths(None) == []


# --- the summary ------------------------------------------------------------------------------


def _summary() -> pipeline.RunSummary:
    fig = dict(indicator="woninginbraak", comparison="Maand", current_label="december 2023",
               previous_label="december 2022", district_naam="Twente")
    return pipeline.RunSummary(
        title="Tweewekelijkse woninginbraakanalyse — rapportdatum 22 januari 2024",
        latest_month=date(2023, 12, 1),
        synthetic=True,
        districts=[
            pipeline.Figure(area_code="VR05", area_naam="Twente", current=40, previous=20, pct_change=100.0,
                            p_value=0.004, significant=True, direction="stijging", **fig),
            pipeline.Figure(area_code="VR04", area_naam="IJsselland", current=None, previous=12, pct_change=None,
                            p_value=None, significant=False, direction=None,
                            note="aantal huidige periode onderdrukt of onbekend",
                            **{**fig, "district_naam": "IJsselland"}),
        ],
        significant_gemeenten=[
            pipeline.Figure(area_code="GM0153", area_naam="Enschede", current=30, previous=10, pct_change=200.0,
                            p_value=0.0004, significant=True, direction="stijging", **fig),
        ],
        warnings=["Ontbrekende maand(en) in de gegevens: november 2022."],
        reports=[Path("/r/twente.html"), Path("/r/twente.pdf")],
        freshness=pipeline.Freshness(True, ("er is nog geen warehouse",)),
    )


def test_summary_markdown_has_every_part_in_dutch():
    text = pipeline.summary_markdown(_summary())
    assert text.startswith("# Tweewekelijkse woninginbraakanalyse")
    assert "SYNTHETISCHE CIJFERS" in text.split("## Kerncijfers")[0]  # before any figure
    assert "**Laatste maand met gegevens:** december 2023" in text
    assert "| Twente | woninginbraak | Maand | december 2023 | 40 | december 2022 | 20 | +100% | 0,004 | ja, stijging |" in text
    assert "onbekend: aantal huidige periode onderdrukt" in text
    assert "**Enschede** (Twente)" in text and "p = < 0,001" in text
    assert "- Ontbrekende maand(en) in de gegevens: november 2022." in text
    assert "- `/r/twente.pdf`" in text
    assert "nog geen warehouse" in text


def test_summary_tables():
    summary = _summary()
    rows = pipeline.key_figures_table(summary)
    assert rows[0]["district"] == "Twente" and rows[0]["significant"] is True and rows[1]["aantal"] is None
    reports = pipeline.reports_table(summary)
    assert reports == [{"rapport": "twente.html", "soort": "HTML", "pad": "/r/twente.html"},
                       {"rapport": "twente.pdf", "soort": "PDF", "pad": "/r/twente.pdf"}]


def test_artifact_keys_are_what_prefect_accepts():
    assert pipeline.artifact_key("Tweewekelijks 2024_01") == "tweewekelijks-2024-01"


def test_summary_or_warning_keeps_the_run_publishing():
    def fails():
        raise DataError("Er is nog geen warehouse.")

    summary = pipeline.summary_or_warning(fails, "Ingest")
    assert summary.title == "Ingest" and "Kerncijfers niet berekend: Er is nog geen warehouse." in summary.warnings


# --- the flows and the deployments of serve ------------------------------------------------------


@pytest.mark.parametrize("name, expected", [
    ("ingest", {"source", "tables", "warehouse", "raw", "config"}),
    ("tweewekelijks", {"report_date", "districts", "source", "warehouse", "raw", "reports", "config",
                       "ingest_if_stale", "pdf"}),
    ("jaaranalyse", {"year", "source", "warehouse", "raw", "reports", "config", "ingest_if_stale", "pdf"}),
])
def test_flows_are_thin_and_typed(name, expected):
    flow = runpy.run_path(str(REPO / "flows" / f"{name}.py"))[name]
    assert flow.name == name
    signature = inspect.signature(flow.fn)
    assert set(signature.parameters) == expected
    assert all(p.annotation is not inspect.Parameter.empty for p in signature.parameters.values())
    source = (REPO / "flows" / f"{name}.py").read_text()
    assert "duckdb" not in source and "import pandas" not in source  # no logic of its own


def test_serve_builds_the_deployments_of_prefect_yaml(monkeypatch, tmp_path):
    from veiligheidsbeeld.deployments import runner_deployments

    monkeypatch.chdir(REPO)
    deployments = runner_deployments(REPO, parameters={"warehouse": str(tmp_path / "w.duckdb"), "reports": None,
                                                       "source": "api"})
    by_name = {d.name: d for d in deployments}
    assert set(by_name) == {"maandelijks", "tweewekelijks-maandag", "jaarlijks"}
    assert by_name["tweewekelijks-maandag"].entrypoint == "flows/tweewekelijks.py:tweewekelijks"
    assert by_name["tweewekelijks-maandag"].parameters == {"source": "api", "warehouse": str(tmp_path / "w.duckdb")}
    assert by_name["maandelijks"].concurrency_limit == 1
    assert all(len(d.schedules) == 1 for d in deployments)
    only = runner_deployments(REPO, only=["tweewekelijks"])
    assert [d.name for d in only] == ["tweewekelijks-maandag"]
    with pytest.raises(ConfigError, match="Onbekende deployment"):
        runner_deployments(REPO, only=["bestaat-niet"])


def test_serve_command_starts_prefect_serve_with_the_deployments(monkeypatch, tmp_path):
    import prefect
    import typer
    from typer.testing import CliRunner

    from veiligheidsbeeld.cli.flows import serve

    served = []
    monkeypatch.setattr(prefect, "serve", lambda *deps, **kw: served.extend(deps))
    monkeypatch.chdir(tmp_path)  # serve finds the project itself and changes to it
    app = typer.Typer()
    app.command()(serve)
    result = CliRunner().invoke(app, ["--project", str(REPO), "--warehouse", str(tmp_path / "w.duckdb")])
    assert result.exit_code == 0, result.output
    assert {d.name for d in served} == {"maandelijks", "tweewekelijks-maandag", "jaarlijks"}
    assert "volgende runs" in result.output and "ma " in result.output  # Dutch weekday of the Mondays
    result = CliRunner().invoke(app, ["--project", str(REPO), "--toon"])
    assert result.exit_code == 0 and len(served) == 3  # --toon only shows


def test_a_second_writer_waits_and_then_stops_with_a_clear_message(tmp_path):
    """The warehouse lock behind 'two flows at once never corrupt the warehouse'."""
    from veiligheidsbeeld.warehouse import db

    path = tmp_path / "vb.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from veiligheidsbeeld.warehouse import db\n"
         "with db.writer(Path(sys.argv[1])):\n    print('bezet', flush=True); time.sleep(30)\n", str(path)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "bezet"
        with pytest.raises(WarehouseLockedError, match="Een ander proces .*schrijft al in het warehouse"):
            with db.writer(path, wait_seconds=1.0):
                pass
    finally:
        holder.kill()
        holder.wait()
    with db.writer(path, wait_seconds=5.0) as con:  # free again once the holder is gone
        assert con.execute("SELECT 1").fetchone() == (1,)


def test_validation_findings_are_summarised_per_table():
    from veiligheidsbeeld.warehouse.validation import Finding, Severity

    findings = [Finding("region_missing_month", Severity.BLOCKER, "47022NED", f"GM{i:04d}", f"GM{i:04d} mist 2023-05")
                for i in range(5)] + [Finding("suppressed_share", Severity.WARN, "47024NED", None, "veel onderdrukt")]
    lines = pipeline.validation_lines(findings)
    assert lines[0] == "Gegevenscontrole 47022NED: 5 blokkerend, 0 waarschuwing(en)."
    assert lines[1] == "  blokkerend: GM0000 mist 2023-05" and lines[4] == "  … en nog 2 blokkerende bevinding(en)."
    assert lines[5] == "Gegevenscontrole 47024NED: 0 blokkerend, 1 waarschuwing(en)."


def test_the_pull_step_finds_this_machines_checkout(tmp_path, monkeypatch):
    checkout = tmp_path / "checkout"
    (checkout / "flows").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VEILIGHEIDSBEELD_PROJECT_DIR", str(checkout))
    assert pipeline.set_project_directory() == {"directory": str(checkout.resolve())}
    assert Path.cwd() == checkout.resolve()
    monkeypatch.delenv("VEILIGHEIDSBEELD_PROJECT_DIR")
    assert pipeline.set_project_directory() == {"directory": str(REPO)}  # the installed checkout
    monkeypatch.setenv("VEILIGHEIDSBEELD_PROJECT_DIR", str(tmp_path / "elders"))
    with pytest.raises(ConfigError, match="VEILIGHEIDSBEELD_PROJECT_DIR"):
        pipeline.set_project_directory()


def test_the_biweekly_analysis_is_built_once_per_warehouse_state(tmp_path, monkeypatch):
    # The flow's render step and its summary share one analysis; a write to the warehouse
    # (a new ingest) builds it again.
    import duckdb

    import veiligheidsbeeld.analysis.woninginbraak as woninginbraak
    from veiligheidsbeeld.warehouse import db
    from veiligheidsbeeld.warehouse import queries

    settings = _settings(tmp_path)
    warehouse = settings.paths.resolved().warehouse
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with db.writer(warehouse):  # an empty warehouse at the current schema version
        pass
    built: list[tuple] = []

    def fake_read(con, settings, report_date, districts, *, today):
        built.append((report_date, districts, today))
        return object()

    monkeypatch.setattr(queries, "biweekly_inputs", fake_read)
    monkeypatch.setattr(woninginbraak, "build_biweekly", lambda inputs: object())
    day = date(2024, 3, 14)
    first = pipeline.biweekly_analysis(settings, day, ["IJsselland"], today=day)
    assert pipeline.biweekly_analysis(settings, day, ["IJsselland"], today=day) is first
    assert len(built) == 1
    assert pipeline.biweekly_analysis(settings, day, ["Twente"], today=day) is not first  # other arguments
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE TABLE written AS SELECT 1 AS x")
    pipeline.biweekly_analysis(settings, day, ["Twente"], today=day)
    assert len(built) == 3


def test_source_text_in_the_summary_is_literal_markdown():
    # A title from the source is shown as written, never rendered as a link or HTML in the Prefect UI.
    summary = _summary()
    hostile = dataclasses.replace(summary.significant_gemeenten[0], area_naam="[klik](http://example.invalid) <img>")
    summary.significant_gemeenten = [hostile]
    summary.warnings = ["Wijk '=HYPERLINK(x)|*y*' zonder woningen."]
    text = pipeline.summary_markdown(summary)
    assert r"**\[klik\](http://example.invalid) \<img\>**" in text
    assert "[klik](" not in text and "<img>" not in text
    assert r"- Wijk '=HYPERLINK(x)\|\*y\*' zonder woningen." in text
