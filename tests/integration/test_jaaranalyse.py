"""The annual strategic analysis end to end: warehouse → figures → HTML/PDF/Excel/CSV.

All gemeente figures here are SYNTHETIC (deterministic, labelled so in the snapshot and in every
report); inhabitants and dwellings are made up by the test so the jeugdoverlast rates are known.
Only the national rows (NL00) are real. The area is a small made-up district table (two
districts of two gemeenten each) so that district and eenheid totals are complete and the tests
stay fast.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path

import duckdb
import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
from shapely.geometry import box

from veiligheidsbeeld.analysis.jaaranalyse import build_jaaranalyse
from veiligheidsbeeld.analysis.stats import compare_counts
from veiligheidsbeeld.config import (
    BBV_INDICATORS,
    AreaSettings,
    JaaranalyseSettings,
    OverlastTargetSettings,
    RankingSettings,
    Settings,
    load_settings,
)
from veiligheidsbeeld.errors import DataError
from veiligheidsbeeld.formatting import fmt_int, fmt_num
from veiligheidsbeeld.ingest import run_ingest
from veiligheidsbeeld.reports.jaaranalyse import TEMPLATE, render_jaaranalyse, report_context
from veiligheidsbeeld.reports.kit import Geography, render_template
from veiligheidsbeeld.testing.synthetic import build_police_snapshot
from veiligheidsbeeld.warehouse import db, queries
from veiligheidsbeeld.warehouse.geography import load_boundaries, load_denominators

pytestmark = pytest.mark.integration

YEAR = 2018
AREA = {  # gemeente -> (naam, district code, district naam)
    "GM1773": ("Olst-Wijhe", "VR04", "IJsselland"),
    "GM0177": ("Raalte", "VR04", "IJsselland"),
    "GM0147": ("Borne", "VR05", "Twente"),
    "GM0168": ("Losser", "VR05", "Twente"),
}
OTHERS = ["GM0344", "GM0363", "GM0096"]  # Utrecht, Amsterdam, Vlieland (small): outside the eenheid
#: Made-up jeugdoverlast rates per 1,000 inhabitants in 2018; the inhabitants are chosen to give them.
E35_RATES = {"GM1773": 6.0, "GM0344": 3.0, "GM0147": 2.5, "GM0363": 2.0, "GM0177": 1.0, "GM0168": 0.5}
VLIELAND_INHABITANTS = 1_100
HIC_CODES = ["1.1.1", "1.4.3", "1.4.4", "1.4.5", "1.4.6", "1.4.7"]
CODES = sorted({"0.0.0", *HIC_CODES, *(c for g in BBV_INDICATORS for c in g.codes)})


def sql(con: duckdb.DuckDBPyConnection, codes, regions, year: int) -> int:
    return int(con.execute(
        "SELECT sum(count) FROM facts_monthly WHERE table_id = '47022NED' AND list_contains($c, type_code) "
        "AND list_contains($r, region_code) AND year(month) = $y", {"c": list(codes), "r": list(regions), "y": year},
    ).fetchone()[0])


def zeden(con: duckdb.DuckDBPyConnection, codes, regions, year: int) -> int:
    """The year rows of the yearly table 47025NED (0 for a group without yearly codes)."""
    if not codes:
        return 0
    return int(con.execute(
        "SELECT sum(count) FROM facts_yearly_reported WHERE table_id = '47025NED' AND list_contains($c, type_code) "
        "AND list_contains($r, region_code) AND year = $y", {"c": list(codes), "r": list(regions), "y": year},
    ).fetchone()[0])


@pytest.fixture(scope="module")
def settings(tmp_path_factory, shared_dir) -> Settings:
    root = tmp_path_factory.mktemp("jaaranalyse")
    gemeenten = [*AREA, *OTHERS]
    snapshot = root / "snapshot"
    build_police_snapshot(snapshot, shared_dir=shared_dir, gemeenten=gemeenten, start="2013-01", end="2019-06",
                          include_wijken_buurten=False, codes={"47022NED": CODES},
                          tables=("47022NED", "47024NED", "47025NED"))
    table = root / "districten.csv"
    table.write_text(
        "gemeente_code,gemeente_naam,district_code,district_naam,eenheid_code,eenheid_naam\n"
        + "".join(f"{g},{n},{dc},{dn},RE02,Oost-Nederland\n" for g, (n, dc, dn) in AREA.items()),
        encoding="utf-8",
    )
    base = load_settings().with_paths(root=root).with_ingest(tables=("47022NED", "47024NED", "47025NED"))
    settings = dataclasses.replace(base, area=AreaSettings(district_table=str(table)))
    run_ingest(settings, snapshot, gemeenten=gemeenten)
    path = settings.paths.resolved().warehouse
    with db.writer(path) as con:
        e35 = dict(con.execute(
            "SELECT region_code, sum(count) FROM facts_monthly WHERE table_id = '47024NED' AND type_code = 'E35' "
            "AND year(month) = 2018 AND region_code LIKE 'GM%' GROUP BY 1").fetchall())
        rows = []
        for g in gemeenten:
            inhabitants = VLIELAND_INHABITANTS if g == "GM0096" else e35[g] * 1000 / E35_RATES[g]
            for year in range(2013, 2019):
                for measure, value in (("inwoners", inhabitants), ("woningen", inhabitants / 2.2)):
                    # CBS publishes each year on that year's layout; the police publish Amsterdam with
                    # Weesp (merged 2022, layout 2023): 2% of the made-up total is Weesp's (GM0457).
                    total = float(round(value))
                    parts = {g: total} if g != "GM0363" else {"GM0457": float(round(0.02 * total))}
                    if g == "GM0363":
                        parts[g] = total - parts["GM0457"]
                    for code, part in parts.items():
                        rows.append({"region_code": code, "region_level": "gemeente", "year": year, "month": None,
                                     "measure": measure, "value": part, "source_table": "SYNTHETISCH",
                                     "table_title": "synthetische noemers (test)", "vintage": "20240101T000000",
                                     "modified": "", "fetched_at": "", "period_status": "Definitief", "source": "test"})
        load_denominators(con, pd.DataFrame(rows))
        # Made-up square "gemeenten" in RD New, side by side: enough for the maps to be drawn.
        squares = gpd.GeoDataFrame(
            {"region_code": list(AREA), "region_name": [n for n, _, _ in AREA.values()], "level": "gemeente",
             "gemeente_code": list(AREA), "layout_year": 2023},
            geometry=[box(200_000 + 10_000 * i, 480_000, 209_000 + 10_000 * i, 489_000) for i in range(len(AREA))],
            crs="EPSG:28992",
        )
        load_boundaries(con, squares, "synthetische vierkanten (test)")
    return settings


@pytest.fixture(scope="module")
def analysis(settings):
    with db.reader(settings.paths.resolved().warehouse) as con:
        return build_jaaranalyse(queries.annual_inputs(con, settings, YEAR, ranking=RankingSettings(top_n=3)))


@pytest.fixture(scope="module")
def con(settings):
    with db.reader(settings.paths.resolved().warehouse) as c:
        yield c


def test_woninginbraak_totals_and_changes_per_level(analysis, con):
    twente = ["GM0147", "GM0168"]
    for region, members in (("RE02", list(AREA)), ("VR05", twente), ("GM0147", ["GM0147"])):
        row = analysis.change(region, "woninginbraak")
        current, previous, base = (sql(con, ["1.1.1"], members, y) for y in (YEAR, YEAR - 1, 2013))
        assert (row["current"], row["previous"], row["base"]) == (current, previous, base)
        assert row["pct_change_vj"] == pytest.approx(100 * (current / previous - 1))
        # The one test, with the row's own overdispersion; the flag is the FDR-controlled one.
        expected = compare_counts(current, previous, phi=row["phi_vj"])
        assert row["phi_vj"] >= 1.0
        assert row["p_value_vj"] == pytest.approx(expected.p_value)
        assert row["q_value_vj"] >= row["p_value_vj"]
        assert bool(row["significant_vj"]) == (row["q_value_vj"] < 0.10)
        assert row["p_value_basis"] == pytest.approx(compare_counts(current, base, phi=row["phi_basis"]).p_value)


def test_hic_total_is_the_sum_of_its_groups_and_rates_use_the_right_denominator(analysis, con):
    total = analysis.change("VR04", "hic_totaal")
    assert total["current"] == sql(con, HIC_CODES, ["GM1773", "GM0177"], YEAR)
    parts = [analysis.change("VR04", g.key)["current"] for g in analysis.groups if g.kind in ("woninginbraak", "hic")]
    assert total["current"] == sum(parts)
    inhabitants = con.execute("SELECT sum(value) FROM denominators WHERE measure = 'inwoners' AND year = 2018 "
                              "AND region_code IN ('GM1773', 'GM0177')").fetchone()[0]
    dwellings = con.execute("SELECT sum(value) FROM denominators WHERE measure = 'woningen' AND year = 2018 "
                            "AND region_code IN ('GM1773', 'GM0177')").fetchone()[0]
    assert total["rate"] == pytest.approx(total["current"] / inhabitants * 1000)
    woninginbraak = analysis.change("VR04", "woninginbraak")
    assert woninginbraak["rate"] == pytest.approx(woninginbraak["current"] / dwellings * 1000)


def test_bbv_indicators_use_exactly_the_documented_codes(analysis, con):
    inhabitants = dict(con.execute("SELECT region_code, value FROM denominators WHERE measure = 'inwoners' "
                                   "AND year = 2018").fetchall())
    for group in BBV_INDICATORS:
        row = analysis.change("GM0168", group.key)
        expected = sql(con, group.codes, ["GM0168"], YEAR) + zeden(con, group.yearly_codes, ["GM0168"], YEAR)
        assert row["current"] == expected
        assert row["rate"] == pytest.approx(row["current"] / inhabitants["GM0168"] * 1000)
        previous = sql(con, group.codes, ["GM0168"], YEAR - 1) + zeden(con, group.yearly_codes, ["GM0168"], YEAR - 1)
        assert row["rate_previous"] == pytest.approx(previous / inhabitants["GM0168"] * 1000)


def test_trend_runs_from_the_comparison_year(analysis, con):
    trend = analysis.trend_for(["RE02"], "woninginbraak").set_index("year")["count"]
    assert list(trend.index) == list(range(2013, YEAR + 1))
    assert trend[2015] == sql(con, ["1.1.1"], list(AREA), 2015)


def test_overlast_monitor_stops_at_the_report_year(analysis):
    monitor = analysis.monitor
    assert monitor is not None and analysis.monitor_error is None
    assert [p.label for p in monitor.periods] == [str(y) for y in range(2013, YEAR + 1)]
    assert {u.code for u in monitor.units} == {"RE02", "VR04", "VR05", *AREA}
    eenheid = monitor.row("RE02", "0.0.0", "2018")
    assert eenheid.count == sum(monitor.row(g, "0.0.0", "2018").count for g in AREA)
    assert {r.category for r in monitor.rows if r.region_code == "GM1773"} == {"0.0.0", "E35"}


def test_jeugd_ranking_flags_area_gemeenten_in_the_top(analysis):
    ranking = analysis.ranking
    assert ranking is not None and ranking.years == (2017, 2018)
    frame = ranking.for_year(2018).set_index("gemeente_code")
    ranks = frame["rank"].dropna().astype(int).to_dict()
    assert ranks == {"GM1773": 1, "GM0344": 2, "GM0147": 3, "GM0363": 4, "GM0177": 5, "GM0168": 6}
    for code, rate in E35_RATES.items():
        assert frame.loc[code, "rate"] == pytest.approx(rate, rel=1e-3)
    # Vlieland (1,100 inhabitants) has the highest rate but no rank; its interval lies above the
    # rate of place 3 (Borne, 2.5), so it is reported separately.
    vlieland = frame.loc["GM0096"]
    assert pd.isna(vlieland["rank"]) and vlieland["small"] and vlieland["rate"] > 6
    assert "minder dan 10.000 inwoners" in vlieland["note"]
    assert vlieland["above_top_certain"] and vlieland["ci_lower"] > 2.5
    assert list(ranking.small_above_cutoff(2018)["gemeente_code"]) == ["GM0096"]
    assert list(ranking.area_in_top(2018)["gemeente_code"]) == ["GM1773", "GM0147"]
    assert ranking.target_status() == (
        "niet gehaald: Olst-Wijhe (plaats 1), Borne (plaats 3) in de landelijke top 3 van 2018")
    assert ranking.complete and not frame.loc["GM0344", "in_area"] and frame.loc["GM0147", "in_area"]
    assert "minstens 10.000 inwoners" in ranking.rule_text


def test_summary_is_computed_from_the_figures(analysis):
    summary = " ".join(analysis.summary)
    woninginbraak = analysis.change("RE02", "woninginbraak")
    assert f"In 2018 registreerde de politie in Oost-Nederland {fmt_int(woninginbraak['current'])} woninginbraken" in summary
    eenheid = analysis.monitor.row("RE02", "0.0.0", "2018")
    assert f"index {fmt_num(eenheid.index, 1)}" in summary
    assert eenheid.status in summary
    assert "Olst-Wijhe (plaats 1)" in summary
    assert analysis.synthetic  # the report carries the synthetic banner (base template)


#: Neither the default 022 nor mkstemp's 0600: a file written around the one writer shows up.
UMASK = 0o007


@pytest.fixture(scope="module")
def rendered(settings, analysis) -> list[Path]:
    """The whole report through the entry point (the analysis of the fixture stands in for the
    warehouse read, which the other tests cover)."""
    previous = os.umask(UMASK)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr("veiligheidsbeeld.warehouse.queries.annual_inputs", lambda con, s, year: None)
            mp.setattr("veiligheidsbeeld.reports.jaaranalyse.build_jaaranalyse", lambda inputs: analysis)
            return render_jaaranalyse(settings, YEAR)
    finally:
        os.umask(previous)


def test_render_writes_html_pdf_excel_csv_into_reports_year_jaaranalyse(settings, rendered):
    out = settings.paths.resolved().reports / "2018" / "jaaranalyse"
    assert all(f.is_relative_to(out) for f in rendered)
    names = {f.name for f in rendered}
    slug = "jaaranalyse-2018-oost-nederland"
    assert {f"{slug}.html", f"{slug}.pdf", f"{slug}.xlsx"} <= names
    assert {f"{slug}_{t}.csv" for t in
            ("misdrijven", "bbv_indicatoren", "reeks_per_jaar", "overlastmonitor", "jeugdoverlast_ranglijst")} <= names
    assert (out / f"{slug}.pdf").read_bytes()[:5] == b"%PDF-"


def test_every_file_of_the_report_has_the_same_shared_mode(settings, rendered):
    out = settings.paths.resolved().reports / "2018" / "jaaranalyse"
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {".html", ".pdf", ".xlsx", ".csv"} <= {p.suffix for p in files}
    modes = {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
    assert set(modes.values()) == {oct(0o666 & ~UMASK)}, modes


#: The annual tables and the overlast monitor files written by the code of the baseline commit
#: (before the reports were split by product, issue 16), from the same warehouse and settings.
BASELINE_TABLES = """
import dataclasses, sys
from pathlib import Path

import veiligheidsbeeld

src, root, table, out, year = sys.argv[1:]
assert veiligheidsbeeld.__file__.startswith(src), veiligheidsbeeld.__file__
from veiligheidsbeeld.analysis.jaaranalyse import build_jaaranalyse
from veiligheidsbeeld.analysis.jeugd_ranking import RankingSettings
from veiligheidsbeeld.config import AreaSettings, load_settings
from veiligheidsbeeld.pipeline import render_overlast_monitor
from veiligheidsbeeld.reports.jaaranalyse import explanation, report_slug, report_tables
from veiligheidsbeeld.reports.render import write_tables
from veiligheidsbeeld.warehouse.db import reader

base = load_settings().with_paths(root=Path(root)).with_ingest(tables=("47022NED", "47024NED", "47025NED"))
settings = dataclasses.replace(base, area=AreaSettings(district_table=table))
with reader(settings.paths.resolved().warehouse) as con:
    a = build_jaaranalyse(con, settings, int(year), ranking=RankingSettings(top_n=3))
write_tables(report_tables(a), explanation(a), Path(out), report_slug(a), synthetic=a.synthetic, vintage=a.info.vintage)
render_overlast_monitor(settings.with_paths(reports=Path(out) / "monitor"), int(year))
"""


def test_tables_and_monitor_files_are_those_of_the_code_before_the_split(settings, rendered, baseline, tmp_path):
    """Every CSV of the annual report, and the overlast monitor's text, CSV and JSON (now
    reports/overlast.py, before in pipeline.py), byte for byte as the baseline commit's code
    writes them from the same warehouse (see the biweekly test for why whole files)."""
    from veiligheidsbeeld.pipeline import render_overlast_monitor

    reference = tmp_path / "baseline"
    root = settings.paths.resolved().root
    baseline.run(BASELINE_TABLES, root, settings.area.district_table, reference, YEAR, cwd=tmp_path)
    out = settings.paths.resolved().reports / "2018" / "jaaranalyse" / "tabellen"
    before = sorted(p.name for p in (reference / "tabellen").glob("*.csv"))
    assert before == sorted(p.name for p in out.glob("*.csv")) and len(before) >= 5
    assert [n for n in before if (reference / "tabellen" / n).read_bytes() != (out / n).read_bytes()] == []
    monitor = render_overlast_monitor(settings.with_paths(reports=tmp_path / "monitor"), YEAR)
    old = reference / "monitor" / str(YEAR) / "overlastdoel"
    assert sorted(p.name for p in monitor) == sorted(p.name for p in old.iterdir()) and len(monitor) == 3
    assert [p.name for p in monitor if p.read_bytes() != (old / p.name).read_bytes()] == []


def test_report_shows_the_figures_and_says_what_it_is(analysis, settings, rendered):
    out = settings.paths.resolved().reports / "2018" / "jaaranalyse"
    html = (out / "jaaranalyse-2018-oost-nederland.html").read_text(encoding="utf-8")
    for text in ("Jaaranalyse 2018", "SYNTHETISCHE CIJFERS", "District IJsselland", "District Twente",
                 analysis.summary[0], "1.4.2, 1.4.4, 1.4.5, 1.6.3, 3.1.2", "Overlastdoel: 20% minder overlast in 2018",
                 "minstens 10.000 inwoners", "data:image/png;base64,", "doel niet gehaald",
                 "Kaart: woninginbraak per 1.000 woningen — ijsselland",
                 # issue 13: the yearly part of the geweld indicator, winkeldiefstal, and Halt said to be absent
                 "per jaar uit 47025NED: 1.4.1, 3.2.1, 3.2.2", "Winkeldiefstallen",
                 "niet in de open data van de politie"):
        assert text in html
    assert "Halt" in html
    book = openpyxl.load_workbook(out / "jaaranalyse-2018-oost-nederland.xlsx", read_only=True)
    assert book.sheetnames[0] == "toelichting"
    assert {"misdrijven", "bbv_indicatoren", "overlastmonitor", "jeugdoverlast_ranglijst"} <= set(book.sheetnames)
    csv = pd.read_csv(out / "tabellen" / "jaaranalyse-2018-oost-nederland_misdrijven.csv")
    row = csv[(csv["regiocode"] == "RE02") & (csv["delict"] == "Woninginbraak")].iloc[0]
    assert row["aantal"] == analysis.change("RE02", "woninginbraak")["current"]
    assert bool(row["synthetisch"])


def test_incomplete_year_is_an_error_naming_it(con, settings):
    with pytest.raises(DataError, match="2019 is niet volledig"):
        queries.annual_inputs(con, settings, 2019)  # data run to June 2019


def test_missing_overlast_base_year_is_flagged_in_the_report(con, settings):
    target = OverlastTargetSettings(base_year=2011, target_year=2018, milestones=())
    result = build_jaaranalyse(queries.annual_inputs(con, settings, YEAR, target=target,
                                                     options=JaaranalyseSettings(compare_year=2011)))
    assert result.monitor is None and "2011" in result.monitor_error
    assert any(w.startswith("Overlastmonitor niet beschikbaar") and "2011" in w for w in result.warnings)
    assert any("vergelijkingsjaar 2011" in w for w in result.warnings)
    assert result.changes["base"].isna().all()  # no comparison year: unknown, not 0
    assert any("overlastmonitor ontbreekt" in s for s in result.summary)
    html = render_template(TEMPLATE, **report_context(result, Geography(), slug="test", pdf=False))
    assert "Overlastmonitor niet beschikbaar" in html and "2011" in html


def test_one_verdict_for_the_same_gemeente_and_period_in_every_product(settings, analysis):
    """The annual report (2018 against 2017), the biweekly report whose last 12 months are 2018,
    and both flows' run summaries judge woninginbraak per gemeente with the same test, the same
    overdispersion and the same family: the same p-value and the same flag. A generous q makes
    some flags appear, so the comparison is not between empty lists."""
    from datetime import date

    from veiligheidsbeeld.config import StatistiekSettings
    from veiligheidsbeeld.pipeline import biweekly_analysis, jaaranalyse_summary, tweewekelijks_summary

    loose = dataclasses.replace(settings, statistiek=StatistiekSettings(fdr_q=0.45, overdispersion=False))
    with db.reader(settings.paths.resolved().warehouse) as con:
        annual = build_jaaranalyse(queries.annual_inputs(con, loose, YEAR, ranking=RankingSettings(top_n=3)))
    report_date = date(YEAR + 1, 1, 20)
    biweekly = biweekly_analysis(loose, report_date, None)
    assert biweekly.latest_month == date(YEAR, 12, 1)
    rolling = biweekly.changes_for(group="Woninginbraak", comparison="12_maanden").set_index("region_code")
    flagged = 0
    for region in [*AREA, "VR04", "VR05"]:
        row = annual.change(region, "woninginbraak")
        assert rolling.loc[region, "current_period"] == "januari – december 2018"
        assert row["p_value_vj"] == pytest.approx(rolling.loc[region, "p_value"])
        assert row["q_value_vj"] == pytest.approx(rolling.loc[region, "q_value"])
        assert bool(row["significant_vj"]) == bool(rolling.loc[region, "significant"])
        flagged += bool(row["significant_vj"])
    assert flagged >= 1
    # The run summaries list exactly the gemeenten the reports flag.
    in_reports = {g for g in AREA if bool(rolling.loc[g, "significant"])}
    annual_summary = jaaranalyse_summary(loose, YEAR)
    assert {f.area_code for f in annual_summary.significant_gemeenten if f.indicator == "woninginbraak"} == in_reports
    biweekly_summary = tweewekelijks_summary(loose, report_date)
    assert {f.area_code for f in biweekly_summary.significant_gemeenten
            if f.comparison == "Laatste 12 maanden"} == in_reports
    # With the default settings (phi, q = 10%) the verdicts agree just the same.
    default = analysis.change("GM0147", "woninginbraak")
    plain = biweekly_analysis(settings, report_date, None).changes_for(
        group="Woninginbraak", comparison="12_maanden").set_index("region_code")
    assert default["p_value_vj"] == pytest.approx(plain.loc["GM0147", "p_value"])
    assert bool(default["significant_vj"]) == bool(plain.loc["GM0147", "significant"])


def test_the_annual_report_does_not_open_with_banners_about_months_its_figures_do_not_use(settings, tmp_path):
    """June 2015 missing for every gemeente (the data checks give one finding per gemeente) is
    about a month none of the 2018-versus-2017-and-2013 comparisons uses: it is in the folded full
    list only. June 2017 is used (the previous year): one banner on the first screen."""
    import html as html_lib
    import re
    import shutil

    from veiligheidsbeeld.warehouse.validation import store_findings, validate_table

    copy = tmp_path / "wh.duckdb"
    shutil.copy(settings.paths.resolved().warehouse, copy)
    local = settings.with_paths(warehouse=copy, reports=tmp_path / "reports")
    with db.writer(copy) as con:
        con.execute("DELETE FROM facts_monthly WHERE table_id = '47022NED' AND list_contains($g, region_code) "
                    "AND month IN ('2015-06-01', '2017-06-01')", {"g": list(AREA)})
        found = validate_table(con, "47022NED", area_gemeenten=list(AREA))
        assert sum(f.rule == "region_missing_month" for f in found) == len(AREA)
        store_findings(con, "test-months", found, tables=["47022NED"])
    files = render_jaaranalyse(local, YEAR, pdf=False)
    text = html_lib.unescape(next(f for f in files if f.suffix == ".html").read_text(encoding="utf-8"))
    first_screen = text.split('<details class="banner-list"')[0]
    banners = re.findall(r'<div class="banner banner-warning" role="alert">(.*?)</div>', first_screen, re.S)
    assert len(banners) <= 3
    assert any("juni 2017 ontbreekt voor alle 4 gemeenten" in b for b in banners)
    assert not any("2015" in b for b in banners)
    assert not any("mist" in b and "maand(en)" in b for b in banners)  # no banner per gemeente
    folded = text.split('<details class="banner-list"')[1].split("</details>")[0]
    assert re.search(r"juni 2015 ontbreekt voor alle 4 gemeenten.*?\(Geen figuur in dit rapport gebruikt deze maand\.\)",
                     folded, re.S)
