"""The overlast target monitor on the REAL national series (NL00 of 47024NED, from ../shared).

The national rows of the snapshot are the published police series; the two gemeenten are
SYNTHETIC (labelled so in the snapshot) and only used for the missing-baseline cases.
Known answers: 2013 = 291,796 registrations, 2016 = 333,401, 2018 = 349,988 → index 119.9.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from io import StringIO
from pathlib import Path

import duckdb
import pytest
from scipy import stats

from veiligheidsbeeld.analysis.overlast_doel import (
    AANTOONBAAR_BOVEN,
    BASISJAAR,
    DOEL_NIET_GEHAALD,
    NIET_OP_KOERS,
    ONBEKEND,
    TUSSENDOEL_NIET_GEHAALD,
    format_monitor,
    overlast_monitor,
)
from veiligheidsbeeld.config import AreaSettings, OverlastTargetSettings, load_settings
from veiligheidsbeeld.errors import ConfigError, DataError
from veiligheidsbeeld.ingest import run_ingest
from veiligheidsbeeld.reports.overlast import run_doel_overlast
from veiligheidsbeeld.testing.synthetic import build_police_snapshot
from veiligheidsbeeld.warehouse.db import reader
from veiligheidsbeeld.warehouse import queries

pytestmark = pytest.mark.integration

OVERLAST = "47024NED"
GEMEENTEN = ["GM1773", "GM0177"]  # Olst-Wijhe, Raalte (IJsselland): SYNTHETIC figures
PUBLISHED = {2013: 291_796, 2016: 333_401, 2018: 349_988}


@pytest.fixture(scope="module")
def warehouse_root(tmp_path_factory, shared_dir) -> Path:
    root = tmp_path_factory.mktemp("doel_overlast")
    snapshot = root / "snapshot"
    build_police_snapshot(snapshot, shared_dir=shared_dir, gemeenten=GEMEENTEN, tables=(OVERLAST,),
                          start="2012-01", end="2019-12", include_wijken_buurten=False)
    run_ingest(load_settings().with_paths(root=root), snapshot, tables=[OVERLAST], gemeenten=GEMEENTEN)
    return root


@pytest.fixture(scope="module")
def national(warehouse_root):
    settings = load_settings().with_paths(root=warehouse_root)
    with reader(settings.paths.resolved().warehouse) as con:
        return overlast_monitor(queries.overlast_inputs(con, settings, "NL00"))


@pytest.fixture(scope="module")
def national_rows_poisson(warehouse_root):
    settings = load_settings().with_paths(root=warehouse_root)
    # Overdispersion is a [statistiek] setting, the same for every report.
    settings = dataclasses.replace(settings, statistiek=dataclasses.replace(settings.statistiek, overdispersion=False))
    with reader(settings.paths.resolved().warehouse) as con:
        return overlast_monitor(queries.overlast_inputs(con, settings, "NL00"))


def published_yearly(shared_dir: Path, title: str = "Totaal registraties overlast") -> dict[int, int]:
    with (shared_dir / "data/politie/NL_overlast_per_jaar_2012_2023.csv").open(encoding="utf-8") as fh:
        return {int(r["year"]): int(r["incident_count"]) for r in csv.DictReader(fh) if r["incident_type_code"] == title}


def test_baseline_and_target_year_reproduce_the_published_national_figures(national, shared_dir):
    published = published_yearly(shared_dir)
    assert published[2013] == PUBLISHED[2013] and published[2018] == PUBLISHED[2018]  # the reference itself
    base = national.row("NL00", "0.0.0", "2013")
    target = national.row("NL00", "0.0.0", "2018")
    assert base.count == base.baseline == 291_796
    assert target.count == 349_988 and target.baseline == 291_796
    assert round(target.index, 1) == 119.9
    assert target.index == pytest.approx(100 * 349_988 / 291_796)
    assert round(100 * target.reduction, 1) == -19.9
    assert target.target_share == pytest.approx((1 - 349_988 / 291_796) / 0.20)
    assert target.norm == "doel 2018" and target.norm_index == pytest.approx(80.0)
    assert target.norm_count == pytest.approx(0.8 * 291_796)
    assert target.flags == ()  # monthly sum = published year row (JJ00), final figures
    assert national.missing_baseline == () and national.notes == ()
    # Every complete year equals the published yearly total (monthly facts summed, JJ00 rows not double counted).
    for year in range(2013, 2020):
        assert national.row("NL00", "0.0.0", str(year)).count == published[year]


def test_target_test_says_not_met(national):
    target = national.row("NL00", "0.0.0", "2018")
    assert target.p_below_norm > 0.99
    assert target.met is False
    assert target.status == DOEL_NIET_GEHAALD
    assert target.certainty == AANTOONBAAR_BOVEN
    assert target.rate_ratio == pytest.approx(349_988 / 291_796)
    assert target.ci_lower < target.rate_ratio < target.ci_upper
    # The real national series varies far more than Poisson (phi from its own months against the
    # same month a year earlier): the interval is several times wider than the Poisson one
    # (1.19-1.21), and the 20% miss is still beyond doubt.
    assert 1.0 < target.ci_lower < 1.18 and 1.22 < target.ci_upper < 1.40


def test_target_test_poisson_known_answer(national_rows_poisson):
    # With overdispersion switched off the test is the conditional binomial one: under the norm
    # (ratio 0.8) the 2018 count's share of the total is 0.8 / 1.8.
    target = national_rows_poisson.row("NL00", "0.0.0", "2018")
    n, k, p0 = 349_988 + 291_796, 349_988, 0.8 / 1.8
    lower = stats.binom.cdf(k - 1, n, p0) + 0.5 * stats.binom.pmf(k, n, p0)
    assert target.p_below_norm == pytest.approx(lower)
    assert target.ci_lower > 1.19 and target.ci_upper < 1.21


def test_milestone_2016_and_the_glide_path(national):
    milestone = national.row("NL00", "0.0.0", "2016")
    assert milestone.count == 333_401
    assert round(milestone.index, 1) == 114.3
    assert milestone.norm == "tussendoel 2016" and milestone.norm_index == pytest.approx(90.0)
    assert milestone.status == TUSSENDOEL_NIET_GEHAALD
    y2014 = national.row("NL00", "0.0.0", "2014")
    assert y2014.norm == "koerslijn" and y2014.norm_index == pytest.approx(100 - 10 / 3)
    assert y2014.status == NIET_OP_KOERS
    base = national.row("NL00", "0.0.0", "2013")
    assert base.status == BASISJAAR and base.rate_ratio is None and base.met is None
    after = national.row("NL00", "0.0.0", "2019")
    assert after.norm == "doel 2018, na doeljaar" and after.status == DOEL_NIET_GEHAALD


def test_categories_have_their_own_baseline(national, shared_dir):
    jeugd = published_yearly(shared_dir, "Melding overlast jeugd")
    e35 = national.row("NL00", "E35", "2018")
    assert e35.baseline == jeugd[2013] and e35.count == jeugd[2018]
    assert e35.category_name == "Melding overlast jeugd"
    assert {r.category for r in national.rows} >= {"0.0.0", "E33", "E35", "E38"}


def test_output_formats(national):
    table = format_monitor(national, "table")
    assert "Nederland (NL00" in table
    for text in ("291.796", "349.988", "119,9", "doel niet gehaald", "tussendoel niet gehaald", "-19,9%"):
        assert text in table
    rows = list(csv.DictReader(StringIO(format_monitor(national, "csv"))))
    row = next(r for r in rows if r["regiocode"] == "NL00" and r["categorie"] == "0.0.0" and r["periode"] == "2018")
    assert int(row["aantal"]) == 349_988 and int(row["basisjaar_aantal"]) == 291_796
    assert row["status"] == "doel niet gehaald"
    payload = json.loads(format_monitor(national, "json"))
    assert payload["doel"]["basisjaar"] == 2013 and payload["doel"]["tussendoelen"] == [{"jaar": 2016, "reductie": 0.1}]
    hit = [r for r in payload["rijen"] if r["regiocode"] == "NL00" and r["categorie"] == "0.0.0" and r["periode"] == "2018"]
    assert hit[0]["index_basisjaar_100"] == pytest.approx(119.943, abs=1e-3)
    assert payload["synthetisch"] is True  # the gemeenten of this snapshot are synthetic, and it says so
    with pytest.raises(ConfigError, match="table, csv of json"):
        format_monitor(national, "xml")


def test_base_year_without_data_is_an_error_naming_the_year(warehouse_root):
    settings = load_settings().with_paths(root=warehouse_root)
    target = OverlastTargetSettings(base_year=2011, target_year=2018, milestones=())
    with reader(settings.paths.resolved().warehouse) as con, pytest.raises(DataError, match="2011") as err:
        overlast_monitor(queries.overlast_inputs(con, settings, "NL00", target=target))
    assert "geen gegevens" in str(err.value)


def test_unknown_region_lists_the_valid_ones(warehouse_root):
    settings = load_settings().with_paths(root=warehouse_root)
    with reader(settings.paths.resolved().warehouse) as con, pytest.raises(ConfigError, match="IJsselland"):
        overlast_monitor(queries.overlast_inputs(con, settings, "Atlantis"))


@pytest.fixture
def small_area(tmp_path) -> AreaSettings:
    """A district with the two synthetic gemeenten and Dalfsen, which has no data at all."""
    path = tmp_path / "districten.csv"
    path.write_text(
        "gemeente_code,gemeente_naam,district_code,district_naam,eenheid_code,eenheid_naam\n"
        "GM1773,Olst-Wijhe,VR04,IJsselland,RE02,Oost-Nederland\n"
        "GM0177,Raalte,VR04,IJsselland,RE02,Oost-Nederland\n"
        "GM0148,Dalfsen,VR04,IJsselland,RE02,Oost-Nederland\n",
        encoding="utf-8",
    )
    return AreaSettings(district_table=str(path))


def test_gemeente_missing_from_the_baseline_is_flagged_not_zero(warehouse_root, small_area):
    settings = load_settings().with_paths(root=warehouse_root)
    settings = type(settings)(ingest=settings.ingest, area=small_area, paths=settings.paths)
    with reader(settings.paths.resolved().warehouse) as con:
        result = overlast_monitor(queries.overlast_inputs(con, settings, "IJsselland", categories=["0.0.0"]))
    assert result.missing_baseline == ("GM0148",)
    assert any("Dalfsen (GM0148)" in n for n in result.notes)
    assert "missing_baseline" not in format_monitor(result, "table")  # the table says it in Dutch:
    assert "Geen (volledige) basiswaarde 2013 voor: Dalfsen (GM0148)" in format_monitor(result, "table")
    dalfsen = result.row("GM0148", "0.0.0", "2018")
    assert dalfsen.baseline is None and dalfsen.count is None and dalfsen.index is None
    assert dalfsen.status == ONBEKEND
    assert any("geen basiswaarde 2013" in f for f in dalfsen.flags)
    district = result.row("VR04", "0.0.0", "2018")
    parts = [result.row(g, "0.0.0", "2018") for g in ("GM1773", "GM0177")]
    assert district.count == sum(p.count for p in parts)  # Dalfsen is left out, not added as 0
    assert district.baseline == sum(p.baseline for p in parts)
    assert any(f.startswith("totaal zonder Dalfsen") for f in district.flags)


def test_suppressed_base_year_month_makes_the_baseline_unknown(warehouse_root, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(warehouse_root / "data", root / "data")
    path = root / "data/warehouse/veiligheidsbeeld.duckdb"
    con = duckdb.connect(str(path))
    con.execute("UPDATE facts_monthly SET count = NULL, suppressed = true WHERE region_code = 'GM1773' "
                "AND type_code = 'E35' AND month = DATE '2013-05-01'")
    con.execute("UPDATE facts_monthly SET count = 0 WHERE region_code = 'GM0177' AND type_code = 'M062' "
                "AND month BETWEEN DATE '2013-01-01' AND DATE '2013-12-01'")
    con.close()
    settings = load_settings().with_paths(root=root)
    with reader(path) as con:
        result = overlast_monitor(queries.overlast_inputs(con, settings, "IJsselland", categories=["E35", "M062"]))
    olst = result.row("GM1773", "E35", "2018")
    assert olst.baseline is None and olst.index is None and olst.status == ONBEKEND
    assert any("1 maand(en) onderdrukt" in f for f in olst.flags)
    assert "GM1773" in result.missing_baseline  # (the other gemeenten of IJsselland have no data at all)
    assert "GM0177" not in result.missing_baseline  # M062 = 0 in Raalte is a value, not a missing baseline
    assert "Olst-Wijhe (GM1773: E35)" in result.notes[0]
    raalte = result.row("GM0177", "M062", "2018")
    assert raalte.baseline == 0 and raalte.index is None and raalte.status == ONBEKEND  # no division by zero
    assert any("0 registraties, geen index" in f for f in raalte.flags)


def test_command_line_function_prints_the_national_monitor(warehouse_root):
    settings = load_settings().with_paths(root=warehouse_root)
    text = run_doel_overlast(settings, "NL00", "table")
    assert "349.988" in text and "119,9" in text
    assert json.loads(run_doel_overlast(settings, "nl", "json"))["doel"]["doeljaar"] == 2018
    with pytest.raises(ConfigError, match="Kies table, csv of json"):
        run_doel_overlast(settings, "NL00", "yaml")
