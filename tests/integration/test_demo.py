"""`veiligheidsbeeld demo`: the whole chain on a SYNTHETIC snapshot, every report labelled.

The full demo covers the 76 gemeenten of the eenheid; here one small gemeente per district
keeps the run short (same code path: snapshot -> ingest -> biweekly reports -> annual analysis
-> overlast monitor).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

pytestmark = pytest.mark.integration

GEMEENTEN = ("GM1773", "GM0168", "GM0244", "GM0279", "GM0225")  # one per district
TODAY = date(2026, 11, 29)
NOTICE = "SYNTHETISCHE CIJFERS"


@pytest.fixture(scope="module")
def demo(tmp_path_factory, shared_dir):
    from veiligheidsbeeld.demo import DemoOptions, run_demo

    root = tmp_path_factory.mktemp("demo")
    lines: list[str] = []
    options = DemoOptions(root=root, gemeenten=GEMEENTEN, shared_dir=shared_dir)
    result = run_demo(options, say=lines.append, today=TODAY)
    return result, lines


def test_demo_snapshot_has_both_tables_one_missing_month_and_suppressed_cells(demo):
    result, lines = demo
    assert [line[:3] for line in lines if line[:1].isdigit()] == ["1/4", "2/4", "3/4", "4/4"]
    # The first district's report is announced as soon as it exists, between "3/4" and "4/4".
    first = [i for i, line in enumerate(lines) if "eerste rapport klaar" in line]
    steps = {line[:3]: i for i, line in enumerate(lines) if line[:1].isdigit()}
    assert len(first) == 1 and steps["3/4"] < first[0] < steps["4/4"]
    assert result.first_report_seconds is not None and 0 < result.first_report_seconds < sum(result.seconds.values())
    assert lines[first[0]].endswith(".html") and Path(lines[first[0]].rsplit(": ", 1)[1]).is_file()
    assert any("Gegevenscontrole 47022NED" in line for line in lines)
    con = duckdb.connect(str(result.settings.paths.warehouse), read_only=True)
    try:
        infos = con.execute("SELECT table_id, synthetic FROM table_infos ORDER BY 1").fetchall()
        assert infos == [("47022NED", True), ("47024NED", True), ("47025NED", True)]
        # The yearly table: zeden codes per gemeente, complete years only (2013–2025).
        zeden = con.execute("SELECT count(DISTINCT region_code), min(year), max(year), count(DISTINCT type_code) "
                            "FROM facts_yearly_reported WHERE table_id = '47025NED' AND region_code LIKE 'GM%'").fetchone()
        assert zeden == (len(GEMEENTEN), 2013, 2025, 3)
        first, last = con.execute("SELECT min(month), max(month) FROM facts_monthly").fetchone()
        assert (first, last) == (date(2013, 1, 1), date(2026, 9, 1))  # up to two months before today
        months = {r[0] for r in con.execute(
            "SELECT DISTINCT month FROM facts_monthly WHERE region_code = 'GM1773' AND table_id = '47022NED'").fetchall()}
        expected = set(pd.date_range(first, last, freq="MS").date)
        assert expected - months == {date(2023, 5, 1)}  # exactly one missing month
        suppressed = con.execute("SELECT count(*) FROM facts_monthly WHERE suppressed").fetchone()[0]
        assert suppressed > 0
        # Small counts: a typical gemeente month has a handful of break-ins, not hundreds.
        median = con.execute("SELECT median(count) FROM facts_monthly WHERE table_id = '47022NED' "
                             "AND type_code = '1.1.1' AND region_code LIKE 'GM%'").fetchone()[0]
        assert 0 < median < 30
        # Seasonality from the real national series: more break-ins in the dark months.
        by_month = con.execute(
            "SELECT month(month) AS m, sum(count) FROM facts_monthly WHERE table_id = '47022NED' AND type_code = '1.1.1' "
            "AND region_code LIKE 'GM%' AND year(month) BETWEEN 2014 AND 2019 GROUP BY 1").fetchall()
        totals = dict(by_month)
        assert totals[12] + totals[1] > totals[6] + totals[7]
        # The data checks: full cubes, consistent totals; the only blocking findings are the
        # deliberate missing month.
        blocking = {r[0] for r in con.execute(
            "SELECT DISTINCT rule FROM validation_results WHERE severity = 'BLOCKER'").fetchall()}
        assert blocking <= {"missing_month", "region_missing_month"}, blocking
    finally:
        con.close()


def test_demo_writes_every_report(demo):
    result, _ = demo
    names = {p.name for p in result.reports}
    for slug in ("ijsselland", "twente", "noord-en-oost-gelderland", "gelderland-midden", "gelderland-zuid"):
        assert f"{slug}.html" in names and f"{slug}.pdf" in names
    assert any(n.startswith("jaaranalyse-2025") and n.endswith(".html") for n in names)
    assert any(n.startswith("jaaranalyse-2025") and n.endswith(".pdf") for n in names)
    assert {"overlastdoel-2013-2025.txt", "overlastdoel-2013-2025.csv", "overlastdoel-2013-2025.json"} <= names
    assert all(p.is_file() and p.stat().st_size > 0 for p in result.reports)
    assert all(str(p).startswith(str(result.root)) for p in result.reports)  # nothing outside the demo folder


def _unlabelled(reports: list[Path]) -> list[tuple[str, str]]:
    """(file, page or sheet) of every part of a report that does not say it is synthetic."""
    missing = []
    for path in reports:
        suffix = path.suffix.lower()
        if suffix == ".html":
            text = path.read_text(encoding="utf-8")
            body = text[text.find("<body"):]
            # The ribbon stays on screen while scrolling; the banner opens the page.
            if not body.startswith('<body class="synthetic"') or NOTICE not in body[:3000]:
                missing.append((path.name, "html"))
        elif suffix == ".pdf":
            pages = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                                   check=True).stdout.split("\f")
            missing += [(path.name, f"pagina {i + 1}") for i, p in enumerate(pages) if p.strip() and NOTICE not in p]
        elif suffix == ".csv":
            frame = pd.read_csv(path)
            if "synthetisch" not in frame.columns or not frame["synthetisch"].astype(str).str.lower().isin(
                    ["true", "ja"]).all():
                missing.append((path.name, "csv"))
        elif suffix == ".xlsx":
            import openpyxl

            for sheet in openpyxl.load_workbook(path, read_only=True).worksheets:
                rows = [tuple(c.value for c in row) for row in sheet.iter_rows()]
                column = "synthetisch" in rows[0]  # a table: a 'synthetisch' column on every row
                explained = any(r[:1] == ("synthetisch",) and str(r[1]).startswith("JA") for r in rows)
                if not (column or explained):
                    missing.append((path.name, sheet.title))
        elif suffix == ".txt" and not path.read_text(encoding="utf-8").startswith(NOTICE):
            missing.append((path.name, "txt"))
        elif suffix == ".json" and json.loads(path.read_text(encoding="utf-8"))["synthetisch"] is not True:
            missing.append((path.name, "json"))
    return missing



@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) ontbreekt")
def test_every_page_and_table_of_a_demo_report_says_synthetic(demo):
    result, _ = demo
    assert any(p.suffix == ".pdf" for p in result.reports)
    assert _unlabelled(result.reports) == []


def test_the_annual_workbook_explanation_says_synthetic(demo):
    result, _ = demo
    assert ("jaaranalyse-2025-oost-nederland.xlsx", "toelichting") not in _unlabelled(
        [p for p in result.reports if p.suffix == ".xlsx"])


def test_demo_summary_and_overview(demo):
    from veiligheidsbeeld import pipeline
    from veiligheidsbeeld.demo import demo_overview

    result, _ = demo
    biweekly, annual = result.summaries
    assert biweekly.synthetic and biweekly.latest_month == date(2026, 9, 1)
    assert len([f for f in biweekly.districts if f.comparison == "Maand"]) == 5
    text = pipeline.summary_markdown(biweekly)
    assert NOTICE in text and "Kerncijfers per district" in text
    assert annual.title == "Jaaranalyse 2025" and annual.districts
    overview = demo_overview(result)
    assert overview.startswith(NOTICE) and "twente.html" in overview


def test_demo_command_refuses_bad_input(tmp_path):
    import typer
    from typer.testing import CliRunner

    from veiligheidsbeeld.cli.flows import demo

    app = typer.Typer()
    app.command()(demo)
    result = CliRunner().invoke(app, ["--map", str(tmp_path / "d"), "--einde", "2024-13"])
    assert result.exit_code == 1
    assert "geen maand in de vorm JJJJ-MM" in result.output


def test_demo_imports_synthetic_incidents_and_marks_the_reports(demo):
    """Issue 18: the demo's SYNTHETIC incidents reach the district reports as a police-internal section."""
    result, lines = demo
    assert any("synthetische incidenten" in line for line in lines)
    con = duckdb.connect(str(result.settings.paths.warehouse), read_only=True)
    try:
        synthetic, n, ids = con.execute(
            "SELECT bool_and(synthetic), count(*), bool_and(registratie_id LIKE 'SYN-%') FROM incidenten").fetchone()
        assert synthetic and ids and n > 1000
        assert con.execute("SELECT count(*) FROM incidenten WHERE gemeente_code IS NULL").fetchone()[0] == 0
    finally:
        con.close()
    twente = next(p for p in result.reports if p.name == "twente.html").read_text(encoding="utf-8")
    assert "POLITIE-INTERN / VERTROUWELIJK" in twente and "SYNTHETISCHE incidenten" in twente
    assert "Near-repeat-waarschuwing per buurt" in twente
