"""The incident section of the biweekly report, end to end: a SYNTHETIC police snapshot and
SYNTHETIC incidents (generated here, inside the real 2023 gemeente boundaries from ../shared)
-> ingest + incident import -> district report with the 14-day comparison, the grid map, the
near-repeat alert per buurt and the hotspot map, marked politie-intern on every page.

National rows of the snapshot are the real police series; every incident is synthetic.
"""

from __future__ import annotations

import dataclasses
import html
import re
import subprocess
from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest

from veiligheidsbeeld.analysis.stats import compare_frame
from veiligheidsbeeld.config import load_settings
from veiligheidsbeeld.incidents.biweekly import fourteen_day_periods
from veiligheidsbeeld.incidents.importer import import_incidents
from veiligheidsbeeld.ingest import run_ingest
from veiligheidsbeeld.regions import load_district_table
from veiligheidsbeeld.reports.tweewekelijks import render_tweewekelijks
from veiligheidsbeeld.sources.boundaries import read_boundaries_file
from veiligheidsbeeld.testing.synthetic import build_police_snapshot
from veiligheidsbeeld.testing.synthetic_incidents import Area, generate_incidents
from veiligheidsbeeld.warehouse.db import writer
from veiligheidsbeeld.warehouse.geography import load_boundaries

pytestmark = pytest.mark.integration

GEMEENTEN = {"VR05": ["GM0168", "GM0173"], "VR04": ["GM1773"]}  # Losser, Oldenzaal; Olst-Wijhe
ALL = [g for codes in GEMEENTEN.values() for g in codes]
REPORT_DATE = date(2024, 1, 20)


@pytest.fixture(scope="module")
def setup(tmp_path_factory, shared_dir):
    root = tmp_path_factory.mktemp("incidenten_rapport")
    build_police_snapshot(root / "snapshot", shared_dir=shared_dir, gemeenten=ALL, tables=("47022NED",),
                          start="2022-01", end="2023-12", codes={"47022NED": ["0.0.0", "1.1.1", "1.4.3", "1.4.4", "1.4.5", "1.4.6", "1.4.7"]})
    settings = load_settings().with_paths(root=root).with_ingest(tables=("47022NED",))
    run_ingest(settings, root / "snapshot", gemeenten=ALL)
    gdf = read_boundaries_file(shared_dir / "data" / "geo" / "gemeente_2023.topojson", "gemeente", 2023)
    with writer(settings.paths.resolved().warehouse) as con:
        load_boundaries(con, gdf, "shared/data/geo/gemeente_2023.topojson")
    table = load_district_table()
    table[table["gemeente_code"].isin(ALL)].to_csv(root / "districts.csv", index=False)
    settings = dataclasses.replace(settings, area=dataclasses.replace(settings.area, district_table=str(root / "districts.csv")))
    gm = gdf.to_crs("EPSG:28992").set_index("region_code")
    with writer(settings.paths.resolved().warehouse) as con:
        buurten = con.execute("SELECT code FROM regions WHERE level = 'BU' ORDER BY code").df()["code"]
    areas = [Area(code, tuple(gm.loc[code].geometry.bounds), gm.loc[code].geometry, weight=2.0 if code == "GM0173" else 1.0,
                  buurten=tuple(b for b in buurten if b[2:6] == code[2:6]))
             for code in ALL]
    extract = generate_incidents(areas, date(2022, 12, 1), REPORT_DATE, burglaries_per_year=900, seed=21)
    path = root / "synthetisch_incidenten.csv"
    extract.to_csv(path, index=False)
    return settings, root, extract, path


@pytest.fixture(scope="module")
def before(setup):
    """The report without incident data: unchanged, no marking."""
    settings, root, _, _ = setup
    out = root / "zonder"
    render_tweewekelijks(settings, REPORT_DATE, out_dir=out, today=REPORT_DATE, pdf=False)
    return out


@pytest.fixture(scope="module")
def after(setup, before):
    settings, root, _, path = setup
    result = import_incidents(settings, path, synthetic=True)
    assert result.rows_imported > 500
    out = root / "met"
    render_tweewekelijks(settings, REPORT_DATE, out_dir=out, today=REPORT_DATE, pdf=True)
    return out


def test_without_incident_data_the_report_has_no_incident_section(before):
    text = (before / "twente.html").read_text(encoding="utf-8")
    assert "POLITIE-INTERN" not in text and 'id="incidenten"' not in text


def test_section_counts_and_comparison_through_the_engine(setup, after):
    settings, _, extract, _ = setup
    text = html.unescape((after / "twente.html").read_text(encoding="utf-8"))
    assert "De laatste 14 dagen (incidentregistraties)" in text
    current, previous, year = fourteen_day_periods(REPORT_DATE)
    assert f"{current.start:%d-%m-%Y} t/m {(current.end - timedelta(days=1)):%d-%m-%Y}" in text
    # Known answer: the Losser row holds the number of its SYNTHETIC burglaries in the period.
    con = duckdb.connect(str(settings.paths.resolved().warehouse), read_only=True)
    n = {}
    for label, p in (("cur", current), ("prev", previous), ("year", year)):
        n[label] = con.execute(
            "SELECT count(*) FROM incidenten WHERE gemeente_code = 'GM0168' AND soort_code = '1.1.1' "
            "AND pleeg_midden >= $a AND pleeg_midden < $b", {"a": p.start, "b": p.end}).fetchone()[0]
    assigned = con.execute("SELECT count(*) FILTER (WHERE gemeente_code IS NOT NULL), count(*) FROM incidenten").fetchone()
    con.close()
    assert assigned[0] == assigned[1]  # every point lies in a gemeente polygon
    row = re.search(r"<td class=\"name\">Losser</td>(.*?)</tr>", text, re.S).group(1)
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert cells[0] == str(n["cur"]) and cells[1] == str(n["prev"])
    assert cells[3] == str(n["cur"]) and cells[4] == str(n["year"])
    # The same engine: a flag needs at least the single test's evidence (the engine's FDR over the
    # district's family and the gemeente's phi only make it harder); the known answers of that
    # family are in tests/unit/test_engine.py.
    frame = compare_frame(pd.DataFrame({"c": [n["cur"]], "p": [n["prev"]]}), "c", "p")
    if "▲ significant" in cells[2] or "▼ significant" in cells[2]:
        assert frame["p_value"].iloc[0] < 0.10


def test_alert_lists_buurten_never_addresses(setup, after):
    _, _, extract, _ = setup
    text = re.sub(r"<[^>]+>", "", html.unescape((after / "twente.html").read_text(encoding="utf-8")))
    assert "Near-repeat-waarschuwing per buurt" in text
    # The planted chains (within 150 m, 1-7 days) give a raised-risk zone.
    assert re.search(r"verhoogd risico tot \d+ meter en \d+ dagen", text)
    # No coordinate and no registration id of any incident appears on the page.
    for value in extract["x"].head(200):
        assert f"{value:.1f}" not in text and f"{value:.1f}".replace(".", ",") not in text
    assert "SYN-" not in text
    # Per buurt: every buurt with a burglary in the last 14 days is listed, with its name.
    current = fourteen_day_periods(REPORT_DATE)[0]
    mid = pd.to_datetime(extract["pleegdatum_van"]) + (pd.to_datetime(extract["pleegdatum_tot"]) - pd.to_datetime(extract["pleegdatum_van"])) / 2
    recent = extract[(extract["soort_misdrijf"] == "1.1.1") & current.mask(mid) & extract["gebied"].isin(["GM0168", "GM0173"])]
    assert len(recent) > 0
    for code in recent["buurtcode"].unique():
        assert f"({code})" in text


def test_every_page_marked_politie_intern_and_synthetic(after):
    pdf = after / "twente.pdf"
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout).group(1))
    assert pages > 3
    for page in range(1, pages + 1):
        text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"], capture_output=True, text=True).stdout
        assert "POLITIE-INTERN / VERTROUWELIJK" in text, page
    html_text = (after / "twente.html").read_text(encoding="utf-8")
    assert "SYNTHETISCHE incidenten" in html_text
    assert html_text.count("POLITIE-INTERN / VERTROUWELIJK") >= 3
    assert all(s.startswith("data:image/png;base64,") for s in re.findall(r"<img[^>]*\ssrc=\"([^\"]*)\"", html_text))


def test_near_repeat_notebook_runs_read_only(setup, after, tmp_path, monkeypatch):
    import jupytext
    import nbformat
    from nbclient import NotebookClient

    from pathlib import Path

    settings, root, _, _ = setup
    warehouse = settings.paths.resolved().warehouse
    notebook = jupytext.read(Path(__file__).resolve().parents[2] / "notebooks" / "near_repeat.py")
    index = next(i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", []))
    notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(f'DISTRICT = "Twente"\nWAREHOUSE = r"{warehouse}"'))
    before_state = (warehouse.stat().st_mtime_ns, warehouse.stat().st_size)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VEILIGHEIDSBEELD_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text(f'[area]\ndistrict_table = "{root / "districts.csv"}"\n', encoding="utf-8")
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"], [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "SYNTHETISCHE INCIDENTEN" in text and "District Twente: 2 gemeenten" in text
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 2
    assert (warehouse.stat().st_mtime_ns, warehouse.stat().st_size) == before_state


def test_each_district_builds_its_own_section_in_its_own_job(setup, after, tmp_path, monkeypatch):
    """Issue 17: no district's incident section (statistics and maps) is built before the pages
    start; each is built once, inside the job that renders that district, so that with several
    processes the sections are made in parallel."""
    from veiligheidsbeeld.incidents.report import IncidentSections
    from veiligheidsbeeld.reports import tweewekelijks

    settings, _, _, _ = setup
    events: list[tuple[str, str]] = []
    render_job, context = tweewekelijks._render_job, IncidentSections.context

    def job(job, *args, **kwargs):
        events.append(("job", f"{job[0]}:{job[1]}:{job[2]}"))
        return render_job(job, *args, **kwargs)

    def section(self, district):
        events.append(("section", district.code))
        return context(self, district)

    monkeypatch.setattr(tweewekelijks, "_render_job", job)
    monkeypatch.setattr(IncidentSections, "context", section)
    render_tweewekelijks(settings, REPORT_DATE, out_dir=tmp_path, today=REPORT_DATE, pdf=False, workers=1)
    sections = [i for i, (kind, _) in enumerate(events) if kind == "section"]
    assert sections and events[0][0] == "job"
    assert sorted(events[i][1] for i in sections) == sorted({e[1].split(":")[1] for e in events
                                                             if e[0] == "job" and e[1].startswith("district:")})
    for i in sections:
        assert events[i - 1] == ("job", f"district:{events[i][1]}:pages")
