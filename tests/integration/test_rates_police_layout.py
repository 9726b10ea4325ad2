"""Rates on the police layout: the police publish every year on today's gemeenten, CBS publishes
inhabitants of year Y on the layout of 1 January Y. Through the real ingest (a 03759ned snapshot on
each year's layout, pulled with the predecessors) and the annual analysis.

Gemeente codes and names are real (lineage file, ../shared region list); every count and every
number of inhabitants is SYNTHETIC (deterministic, labelled so in the snapshot).
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import zlib
from pathlib import Path

import pandas as pd
import pytest

from testkit import write_population_snapshot

from veiligheidsbeeld.analysis.jaaranalyse import build_jaaranalyse
from veiligheidsbeeld.config import AreaSettings, Settings, load_settings
from veiligheidsbeeld.ingest import run_ingest
from veiligheidsbeeld.testing.synthetic import build_police_snapshot, politie_dir
from veiligheidsbeeld.testing.synthetic_cbs import build_cbs_snapshot
from veiligheidsbeeld.warehouse import db
from veiligheidsbeeld.warehouse.geography import attach_denominators, denominator_for
from veiligheidsbeeld.warehouse import queries

pytestmark = pytest.mark.integration

AREA = {"GM0299": ("Zevenaar", "VR07", "Gelderland-Midden"), "GM1945": ("Berg en Dal", "VR08", "Gelderland-Zuid"),
        "GM1960": ("West Betuwe", "VR08", "Gelderland-Zuid")}
#: The real layout of 1 January per year (the gemeenten that make up today's three), written out
#: by hand from the CBS herindelingen, independent of the lineage code under test.
LAYOUT = {
    2013: ["GM0299", "GM0196", "GM0241", "GM0265", "GM0282", "GM0236", "GM0304", "GM0733"],
    2015: ["GM0299", "GM0196", "GM0241", "GM0236", "GM0304", "GM0733"],
    2016: ["GM0299", "GM0196", "GM1945", "GM0236", "GM0304", "GM0733"],
    2017: ["GM0299", "GM0196", "GM1945", "GM0236", "GM0304", "GM0733"],
    2018: ["GM0299", "GM1945", "GM0236", "GM0304", "GM0733"],
    2019: ["GM0299", "GM1945", "GM1960"],
}
#: 2014 is not in the snapshot at all: a year without any denominator.
YEARS = sorted(LAYOUT)
ALL_CODES = sorted({c for codes in LAYOUT.values() for c in codes})


def inhabitants(code: str, year: int) -> int:
    """SYNTHETIC number of inhabitants of ``code`` on 1 January ``year``."""
    return 8_000 + zlib.crc32(f"{code}{year}".encode()) % 40_000


@pytest.fixture(scope="module")
def settings(tmp_path_factory, shared_dir) -> Settings:
    root = tmp_path_factory.mktemp("layout")
    snapshot = root / "snapshot"
    build_police_snapshot(snapshot, shared_dir=shared_dir, gemeenten=list(AREA), start="2013-01", end="2019-06",
                          include_wijken_buurten=False,
                          codes={"47022NED": ["0.0.0", "1.1.1", "1.4.3", "1.4.4", "1.4.5", "1.4.6", "1.4.7"],
                                 "47024NED": ["0.0.0", "E35"]})
    write_population_snapshot(snapshot, ALL_CODES, YEARS, lambda c, y: inhabitants(c, y) if c in LAYOUT[y] else None)
    # The ingest also reads one "Kerncijfers wijken en buurten" table (SYNTHETIC, real wijk codes).
    tables = build_cbs_snapshot(root / "cbs", region_list=politie_dir(shared_dir) / "47022NED_WijkenEnBuurten.csv",
                                gemeenten=list(AREA), years=[2018], wijk_buurt_years=(2018,))
    shutil.copytree(tables["84286NED"], snapshot / "84286NED")
    table = root / "districten.csv"
    table.write_text(
        "gemeente_code,gemeente_naam,district_code,district_naam,eenheid_code,eenheid_naam\n"
        + "".join(f"{g},{n},{dc},{dn},RE02,Oost-Nederland\n" for g, (n, dc, dn) in AREA.items()),
        encoding="utf-8",
    )
    base = load_settings().with_paths(root=root)
    geography = dataclasses.replace(base.geography, denominator_tables=("bevolking",),
                                    wijk_buurt_years=(2018,), fetch_boundaries=False)
    settings = dataclasses.replace(base, area=AreaSettings(district_table=str(table)), geography=geography)
    report = run_ingest(settings, snapshot, gemeenten=list(AREA))
    assert not [w for w in report.warnings if "Noemers" in w], report.warnings
    return settings


@pytest.fixture(scope="module")
def con(settings):
    with db.reader(settings.paths.resolved().warehouse) as c:
        yield c


def test_the_ingest_pulls_the_predecessors_of_every_year(con) -> None:
    stored = {r[0] for r in con.execute("SELECT DISTINCT region_code FROM denominators "
                                        "WHERE value IS NOT NULL AND region_code LIKE 'GM%'").fetchall()}
    assert stored == set(ALL_CODES)


def test_zevenaar_2015_includes_rijnwaarden(con) -> None:
    found = denominator_for(con, ["GM0299"], 2015, "inwoners").iloc[0]
    expected = inhabitants("GM0299", 2015) + inhabitants("GM0196", 2015)
    assert found["value"] == expected and found["status"] == "eigen_jaar"
    assert found["parts"] == "GM0196,GM0299"
    # After the merger Zevenaar's own figure, not Zevenaar plus a Rijnwaarden that no longer exists.
    assert denominator_for(con, ["GM0299"], 2018, "inwoners").iloc[0]["value"] == inhabitants("GM0299", 2018)


def test_every_consumer_lookup_is_on_the_police_layout(con) -> None:
    frame = pd.DataFrame({"gemeente_code": ["GM1945", "GM1960", "GM1945", "GM0299"], "year": [2013, 2016, 2015, 2014]})
    out = attach_denominators(frame, con, "inwoners", "year", region_col="gemeente_code", prefix="inhabitants")
    assert out["inhabitants"].iloc[0] == sum(inhabitants(c, 2013) for c in ("GM0241", "GM0265", "GM0282"))
    assert out["inhabitants"].iloc[1] == sum(inhabitants(c, 2016) for c in ("GM0236", "GM0304", "GM0733"))
    assert out["inhabitants"].iloc[2] == inhabitants("GM0241", 2015)
    assert math.isnan(out["inhabitants"].iloc[3]) and out["inhabitants_status"].iloc[3] == "ontbreekt"
    assert "2014" in out["inhabitants_reason"].iloc[3]


def test_annual_rates_use_the_police_layout_and_report_every_missing_year(con, settings) -> None:
    analysis = build_jaaranalyse(queries.annual_inputs(con, settings, 2018))
    trend = analysis.trend[analysis.trend["group"] == analysis.group("hic_totaal").label].set_index(["region_code", "year"])
    zevenaar = trend.loc[("GM0299", 2015)]
    rijnwaarden_included = inhabitants("GM0299", 2015) + inhabitants("GM0196", 2015)
    assert zevenaar["denominator"] == rijnwaarden_included
    assert zevenaar["rate"] == pytest.approx(zevenaar["count"] / rijnwaarden_included * 1000)
    assert zevenaar["rate"] < zevenaar["count"] / inhabitants("GM0299", 2015) * 1000  # the old, too high rate
    assert trend.loc[("GM1945", 2013), "rate"] > 0  # Berg en Dal has rates from 2013
    assert trend.loc[("GM1960", 2016), "rate"] > 0  # West Betuwe before 2019
    # The district Gelderland-Zuid is complete too: the sum of its gemeenten on the police layout.
    vr08 = trend.loc[("VR08", 2013), "denominator"]
    assert vr08 == sum(inhabitants(c, 2013) for c in ("GM0241", "GM0265", "GM0282", "GM0236", "GM0304", "GM0733"))
    # 2014 has no denominator at all: reported, and not only the last year.
    assert math.isnan(trend.loc[("GM0299", 2014), "rate"])
    missing = [w for w in analysis.warnings if "inwoners" in w and "2014" in w]
    assert missing and "alle 3 gemeenten" in missing[0], analysis.warnings


def test_after_the_last_published_year_the_last_figure_on_the_police_layout_is_used(tmp_path, con) -> None:
    from veiligheidsbeeld.warehouse.geography import load_denominators, police_layout_denominators

    later = denominator_for(con, ["GM1960", "GM0299"], 2025, "inwoners").set_index("region_code")
    assert (later["status"] == "laatst_beschikbaar").all() and (later["year_used"] == 2019).all()
    assert later.at["GM1960", "value"] == inhabitants("GM1960", 2019)

    # Only the predecessors are published (up to 2018): West Betuwe in 2020 gets their 2018 sum, flagged.
    rows = [{"region_code": c, "region_level": "gemeente", "year": y, "month": None, "measure": "inwoners",
             "value": float(inhabitants(c, y)), "source_table": "SYNTHETISCH", "table_title": "synthetische noemers (test)",
             "vintage": "20240101T000000", "modified": "", "fetched_at": "", "period_status": "Definitief", "source": "test"}
            for c in ("GM0236", "GM0304", "GM0733") for y in (2016, 2017, 2018)]
    with db.writer(tmp_path / "w.duckdb") as own:
        load_denominators(own, pd.DataFrame(rows))
        out = police_layout_denominators(own, ["GM1960"], [2015, 2017, 2020], "inwoners").set_index("year")
    assert out.at[2017, "status"] == "eigen_jaar" and out.at[2017, "parts"] == "GM0236,GM0304,GM0733"
    assert out.at[2020, "status"] == "laatst_beschikbaar" and out.at[2020, "year_used"] == 2018
    assert out.at[2020, "value"] == sum(inhabitants(c, 2018) for c in ("GM0236", "GM0304", "GM0733"))
    assert out.at[2015, "status"] == "ontbreekt" and "2015" in out.at[2015, "reason"]


def test_jeugd_ranking_uses_the_police_layout_and_says_why_a_count_is_missing(con, settings) -> None:
    from veiligheidsbeeld.analysis.jeugd_ranking import jeugd_ranking

    result = jeugd_ranking(queries.ranking_inputs(con, settings, [2014, 2015]))
    frame = result.frame.set_index(["gemeente_code", "year"])
    assert frame.loc[("GM0299", 2015), "inhabitants"] == inhabitants("GM0299", 2015) + inhabitants("GM0196", 2015)
    assert "niet gepubliceerd" in frame.loc[("GM0299", 2014), "note"]
    assert any("2014" in note for note in result.notes)
