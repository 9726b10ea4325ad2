"""A region-filtered snapshot, as analysts have it: ``cbsodata.download_data(..., filters=...)``
writes the full dimension files (every Dutch region) but data rows only for what the filter asked.

National (NL00) rows are the REAL police series from ../shared; every gemeente, wijk and buurt
figure is SYNTHETIC (deterministic), and so are the inhabitants written here. The region list is
the real 2023 list of ../shared/data/politie.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest

from veiligheidsbeeld.analysis.jeugd_ranking import jeugd_ranking
from veiligheidsbeeld.config import load_settings
from veiligheidsbeeld.errors import DataError
from veiligheidsbeeld.ingest import run_ingest
from veiligheidsbeeld.sources.raw_archive import RawArchive
from veiligheidsbeeld.testing.synthetic import build_police_snapshot
from veiligheidsbeeld.warehouse import db, validation
from veiligheidsbeeld.warehouse.geography import load_denominators
from veiligheidsbeeld.warehouse import queries

pytestmark = pytest.mark.integration

# Olst-Wijhe, Raalte (IJsselland), Losser (Twente): small, so the test stays fast. Only Olst-Wijhe
# has wijk and buurt rows, like a download that asked for the wijken of one gemeente.
GEMEENTEN = ["GM1773", "GM0177", "GM0168"]
WITH_WIJKEN = ["GM1773"]
MISDRIJVEN, OVERLAST = "47022NED", "47024NED"


def build_filtered(root: Path, shared_dir: Path, **kwargs) -> Path:
    build_police_snapshot(
        root, shared_dir=shared_dir, gemeenten=GEMEENTEN, start="2021-01", end="2023-12",
        codes={MISDRIJVEN: ("0.0.0", "1.1.1", "1.4.6")}, wijken_buurten_for=WITH_WIJKEN,
        full_region_list=True, **kwargs,
    )
    return root


@pytest.fixture(scope="module")
def filtered_snapshot(tmp_path_factory, shared_dir) -> Path:
    return build_filtered(tmp_path_factory.mktemp("filtered_snapshot"), shared_dir)


def settings_in(root: Path):
    settings = load_settings().with_paths(root=root)
    geography = dataclasses.replace(settings.geography, fetch_denominators=False, fetch_boundaries=False)
    return dataclasses.replace(settings, geography=geography)


def synthetic_inhabitants(codes: list[str]) -> pd.DataFrame:
    """SYNTHETIC inhabitants per gemeente (deterministic), enough for a ranking per 1,000."""
    rows = []
    for code in codes:
        for year in (2021, 2022, 2023):
            rows.append(dict(
                region_code=code, region_level="gemeente", year=year, month=None, measure="inwoners",
                value=float(15_000 + int(code[2:]) * 37), source_table="SYNTHETISCH",
                table_title="SYNTHETISCH — inwoners (test)", vintage="20240101T000000", modified="2024-01-01",
                fetched_at="2024-01-01", period_status="Definitief", source="tests",
            ))
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, filtered_snapshot) -> tuple[Path, object]:
    root = tmp_path_factory.mktemp("filtered_ingest")
    report = run_ingest(settings_in(root), filtered_snapshot, gemeenten=GEMEENTEN)
    return root, report


def test_the_snapshot_lists_every_dutch_region_but_holds_rows_for_few(filtered_snapshot, shared_dir):
    listed = json.loads((filtered_snapshot / OVERLAST / "WijkenEnBuurten.json").read_text(encoding="utf-8"))
    real = pd.read_csv(shared_dir / "data/politie/47022NED_WijkenEnBuurten.csv", dtype=str)
    assert len(listed) == len(real)  # the full region dimension of the real table
    rows = json.loads((filtered_snapshot / OVERLAST / "TypedDataSet.json").read_text(encoding="utf-8"))
    served = {r["WijkenEnBuurten"].strip() for r in rows}
    assert {c for c in served if c.startswith("GM")} == set(GEMEENTEN)
    assert all(c[2:6] == "1773" for c in served if c[:2] in ("WK", "BU"))


def test_both_tables_ingest_with_one_warning_per_missing_level_and_no_blocker(ingested):
    root, report = ingested
    # The monthly tables (the yearly 47025NED, per gemeente only, rides along as in a real snapshot).
    assert {MISDRIJVEN, OVERLAST} <= {load.table_id for load in report.loads} <= {MISDRIJVEN, OVERLAST, "47025NED"}
    blockers = [f for f in report.findings if f.severity == validation.Severity.BLOCKER]
    assert blockers == []
    for table_id in (MISDRIJVEN, OVERLAST):
        levels = [f for f in report.findings if f.table_id == table_id and f.rule == "level_not_delivered"
                  and "wijk- en buurtcijfers" in f.detail]
        assert len(levels) == 1, [f.detail for f in report.findings if f.table_id == table_id]
        assert "voor 2 van de 3 gemeenten" in levels[0].detail
        assert "Raalte" in levels[0].detail and "Losser" in levels[0].detail
        assert "De gemeentecijfers zijn volledig." in levels[0].detail
        # No missing cells: only the code subset of this snapshot (3 of the 59 misdrijven codes) is said.
        assert not any(f.rule == "partition_rows" and "codes van de codelijst" not in f.detail
                       for f in report.findings if f.table_id == table_id)
    wijk_lists = next(f for f in report.findings if f.table_id == MISDRIJVEN and f.rule == "level_not_delivered")
    assert "lijsten van wijken en buurten" in wijk_lists.detail and "wijkkaarten" in wijk_lists.detail
    national = [f for f in report.findings if f.table_id == OVERLAST and "buiten het werkgebied" in f.detail]
    assert len(national) == 1 and national[0].severity == validation.Severity.WARN
    assert "gemeenterijen van 0 van de" in national[0].detail and "jeugdoverlastranglijst" in national[0].detail
    # The stored findings are what 'status' and the reports read: the tables are publishable.
    with db.reader(root / "data/warehouse/veiligheidsbeeld.duckdb") as con:
        warnings = validation.assert_publishable(con, [MISDRIJVEN, OVERLAST])
        assert sum(f.rule == "level_not_delivered" for f in warnings) == 3
        wijken = con.execute(
            "SELECT DISTINCT left(region_code, 6) FROM facts_monthly WHERE region_code LIKE 'WK%'"
        ).fetchall()
    assert wijken == [("WK1773",)]


def test_the_ranking_says_it_covers_only_the_gemeenten_present(ingested):
    root, _ = ingested
    settings = settings_in(root)
    with db.writer(root / "data/warehouse/veiligheidsbeeld.duckdb") as con:
        load_denominators(con, synthetic_inhabitants(GEMEENTEN))
    with db.reader(root / "data/warehouse/veiligheidsbeeld.duckdb") as con:
        result = jeugd_ranking(queries.ranking_inputs(con, settings, [2022]))
        known = con.execute("SELECT count(*) FROM regions WHERE level = 'GM' AND code <> 'GM0000'").fetchone()[0]
        with pytest.raises(DataError, match="alleen"):
            jeugd_ranking(queries.ranking_inputs(con, settings, [2022]), require_complete=True)
    assert not result.complete
    assert result.n_gemeenten_data == 3
    assert "omvat alleen de 3 gemeenten" in result.coverage_text
    assert f"van de {known}" in result.coverage_text.replace(".", "")
    assert set(result.for_year(2022)["gemeente_code"]) == set(GEMEENTEN)


def test_cells_missing_inside_a_delivered_level_stay_a_blocker(tmp_path, shared_dir):
    snapshot = build_filtered(tmp_path / "snap", shared_dir, tables=(MISDRIJVEN,))
    data = snapshot / MISDRIJVEN / "TypedDataSet.json"
    rows = json.loads(data.read_text(encoding="utf-8"))
    buurten = sorted({r["WijkenEnBuurten"] for r in rows if r["WijkenEnBuurten"].startswith("BU")})
    keep = buurten[0]  # the buurt level is delivered (one buurt) but most of its cells are missing
    rows = [r for r in rows if not r["WijkenEnBuurten"].startswith("BU") or r["WijkenEnBuurten"] == keep]
    data.write_text(json.dumps(rows), encoding="utf-8")
    settings = settings_in(tmp_path / "proj").with_ingest(tables=(MISDRIJVEN,))
    report = run_ingest(settings, snapshot, gemeenten=GEMEENTEN)
    blockers = [f for f in report.findings if f.severity == validation.Severity.BLOCKER]
    assert blockers and {f.rule for f in blockers} == {"partition_rows"}
    assert all(f.region_code == "GM1773" and "cellen ontbreken" in f.detail for f in blockers)
    with db.reader(tmp_path / "proj/data/warehouse/veiligheidsbeeld.duckdb") as con:
        with pytest.raises(DataError, match="niet gepubliceerd"):
            validation.assert_publishable(con, [MISDRIJVEN])


def test_the_same_snapshot_without_the_filter_gives_the_same_figures(tmp_path, shared_dir, ingested):
    # The data are fine: with the region dimension cut to the data's regions the facts are identical.
    root, _ = ingested
    cut = tmp_path / "cut"
    build_police_snapshot(
        cut, shared_dir=shared_dir, gemeenten=GEMEENTEN, start="2021-01", end="2023-12",
        codes={MISDRIJVEN: ("0.0.0", "1.1.1", "1.4.6")}, wijken_buurten_for=WITH_WIJKEN, tables=(MISDRIJVEN,),
    )
    settings = settings_in(tmp_path / "proj").with_ingest(tables=(MISDRIJVEN,))
    run_ingest(settings, cut, gemeenten=GEMEENTEN)
    query = ("SELECT region_code, type_code, month, count, suppressed FROM facts_monthly "
             "WHERE table_id = '47022NED' ORDER BY ALL")
    with db.reader(root / "data/warehouse/veiligheidsbeeld.duckdb") as con:
        filtered = con.execute(query).fetchall()
    with db.reader(tmp_path / "proj/data/warehouse/veiligheidsbeeld.duckdb") as con:
        plain = con.execute(query).fetchall()
    assert filtered == plain and len(plain) > 0


def test_the_raw_manifest_records_which_levels_were_served(ingested):
    root, _ = ingested
    manifest = RawArchive(root / "data/raw").manifests(OVERLAST)[-1]
    raalte = next(r for n, r in manifest.partitions.items() if n.startswith("GM0177"))
    assert raalte.levels["GM"] == 1 and raalte.levels["WK"] > 0 and raalte.levels["BU"] > 0
    assert raalte.delivered == {"GM": 1}
    national = next(r for n, r in manifest.partitions.items() if n.startswith("GMNL"))
    assert national.rows == 0 and national.delivered == {}


def test_the_biweekly_analysis_lists_only_wijken_the_source_delivered(ingested, tmp_path):
    from datetime import date

    from veiligheidsbeeld.analysis.woninginbraak import build_biweekly
    from veiligheidsbeeld.regions import load_district_table

    root, _ = ingested
    table = load_district_table()
    table[table["gemeente_code"].isin(GEMEENTEN)].to_csv(tmp_path / "districts.csv", index=False)
    settings = settings_in(root)
    settings = dataclasses.replace(settings, area=dataclasses.replace(settings.area,
                                                                      district_table=str(tmp_path / "districts.csv")))
    with db.reader(root / "data/warehouse/veiligheidsbeeld.duckdb") as con:
        analysis = build_biweekly(queries.biweekly_inputs(con, settings, date(2024, 1, 20), None, today=date(2024, 1, 20)))
    listed = set(analysis.top_areas["gemeente_code"])
    assert listed == {"GM1773"}  # no list of empty (or zero) wijken for Raalte and Losser
    texts = " ".join(w.message for w in analysis.warnings)
    assert "de bron levert geen wijk- en buurtcijfers voor 2 van de 3 gemeenten" in texts
