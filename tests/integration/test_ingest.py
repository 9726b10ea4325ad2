"""The ingest end to end: the real loading code against a local OData v3 stub server.

National (NL00) rows are the REAL police series from ../shared; gemeente, wijk and buurt rows
are SYNTHETIC (deterministic, labelled so in the snapshot's TableInfos).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from testkit import read_warehouse

from veiligheidsbeeld.config import load_settings
from veiligheidsbeeld.errors import ConfigError, SchemaDriftError, SourceError, VeiligheidsbeeldError
from veiligheidsbeeld.ingest import run_ingest
from veiligheidsbeeld.sources.odata import CbsApiSource
from veiligheidsbeeld.testing.odata_stub import Fault, StubODataServer
from veiligheidsbeeld.testing.synthetic import build_police_snapshot

pytestmark = pytest.mark.integration

GEMEENTEN = ["GM1773", "GM0177"]  # Olst-Wijhe and Raalte (IJsselland): small, so the tests stay fast
OVERLAST = "47024NED"
MISDRIJVEN = "47022NED"
WONINGINBRAAK_CODES = ["0.0.0", "1.1.1", "1.4.6"]


def api(server: StubODataServer, **kwargs) -> CbsApiSource:
    defaults = dict(use_https=False, retries=2, backoff_seconds=0.01, backoff_max_seconds=0.05, timeout_seconds=5)
    defaults.update(kwargs)
    return CbsApiSource(server.catalog_url, **defaults)


def settings_in(root: Path, **ingest):
    settings = load_settings().with_paths(root=root)
    return settings.with_ingest(**ingest) if ingest else settings


def facts(root: Path, table_id: str) -> pd.DataFrame:
    with read_warehouse(root) as con:
        return con.execute(
            "SELECT region_code, type_code, month, count, suppressed, provisional, vintage FROM facts_monthly "
            "WHERE table_id = $t ORDER BY ALL", {"t": table_id}
        ).df()


def sql(root: Path, text: str, params: dict | None = None):
    with read_warehouse(root) as con:
        return con.execute(text, params or {}).fetchall()


@pytest.fixture(scope="module")
def overlast_snapshot(tmp_path_factory, shared_dir) -> Path:
    root = tmp_path_factory.mktemp("snapshot_overlast")
    build_police_snapshot(root, shared_dir=shared_dir, gemeenten=GEMEENTEN, tables=(OVERLAST,), start="2012-01", end="2023-12")
    return root


@pytest.fixture(scope="module")
def misdrijven_snapshot(tmp_path_factory, shared_dir) -> Path:
    root = tmp_path_factory.mktemp("snapshot_misdrijven")
    build_police_snapshot(
        root, shared_dir=shared_dir, gemeenten=GEMEENTEN, tables=(MISDRIJVEN,), start="2021-01", end="2023-12",
        codes={MISDRIJVEN: WONINGINBRAAK_CODES},
    )
    return root


def test_real_national_overlast_series_reproduces_the_yearly_totals(tmp_path, overlast_snapshot, shared_dir):
    with StubODataServer(overlast_snapshot) as server:
        report = run_ingest(settings_in(tmp_path, tables=(OVERLAST,)), api(server), gemeenten=GEMEENTEN)
    assert report.pulls[0].kind == "full"
    yearly = pd.read_csv(shared_dir / "data/politie/NL_overlast_per_jaar_2012_2023.csv")
    codes = pd.read_csv(shared_dir / "data/politie/47024NED_Overlast.csv", dtype=str)
    title_to_code = dict(zip(codes["Title"], codes["Key"].str.strip()))
    got = {
        (code, year): total
        for code, year, total in sql(
            tmp_path,
            "SELECT type_code, year(month), sum(count) FROM facts_monthly WHERE table_id = '47024NED' "
            "AND region_code = 'NL00' GROUP BY ALL",
        )
    }
    expected = {(title_to_code[r.incident_type_code], r.year): r.incident_count for r in yearly.itertuples()}
    assert got == expected  # every category, every year 2012–2023, exactly
    assert got[("0.0.0", 2013)] == 291_796
    assert got[("0.0.0", 2018)] == 349_988
    # The published year rows are kept apart for reconciliation, not mixed into the months.
    assert sql(tmp_path, "SELECT count FROM facts_yearly_reported WHERE region_code='NL00' AND type_code='0.0.0' AND year=2013") == [(291_796,)]
    assert sql(tmp_path, "SELECT count(*) FROM facts_monthly WHERE month IS NULL") == [(0,)]


def test_traps_padding_rollups_suppression(tmp_path, overlast_snapshot):
    with StubODataServer(overlast_snapshot) as server:
        run_ingest(settings_in(tmp_path, tables=(OVERLAST,)), api(server), gemeenten=GEMEENTEN)
    # Padded keys are trimmed everywhere.
    assert sql(tmp_path, "SELECT count(*) FROM facts_monthly WHERE region_code <> trim(region_code) OR type_code <> trim(type_code)") == [(0,)]
    assert sql(tmp_path, "SELECT code FROM regions WHERE code LIKE 'GM%' ORDER BY 1") == [("GM0177",), ("GM1773",)]
    # 0.0.0 is a roll-up; suppressed cells stay NULL with a flag, never 0.
    assert sql(tmp_path, "SELECT code FROM overlast_types WHERE is_rollup") == [("0.0.0",)]
    suppressed = sql(tmp_path, "SELECT count(*), count(count) FROM facts_monthly WHERE suppressed")[0]
    assert suppressed[0] > 0 and suppressed[1] == 0
    # Wijken and buurten carry their gemeente.
    levels = dict(sql(tmp_path, "SELECT level, count(DISTINCT gemeente_code) FROM regions WHERE level IN ('WK','BU') GROUP BY 1"))
    assert levels == {"WK": 2, "BU": 2}


def test_reload_is_idempotent_and_unchanged_table_is_skipped(tmp_path, overlast_snapshot):
    settings = settings_in(tmp_path, tables=(OVERLAST,))
    with StubODataServer(overlast_snapshot) as server:
        run_ingest(settings, api(server), gemeenten=GEMEENTEN)
        first = facts(tmp_path, OVERLAST)
        server.reset_counters()
        report = run_ingest(settings, api(server), gemeenten=GEMEENTEN)
        data_requests = [r for r in server.requests_log if "TypedDataSet" in str(r)]
    assert report.pulls[0].kind == "skip"
    assert data_requests == []  # only metadata was asked for
    pd.testing.assert_frame_equal(first, facts(tmp_path, OVERLAST))
    assert len(list((tmp_path / "data/raw" / OVERLAST).iterdir())) == 1  # one vintage


def test_offline_snapshot_directory_gives_the_same_warehouse(tmp_path, overlast_snapshot):
    online, offline = tmp_path / "online", tmp_path / "offline"
    with StubODataServer(overlast_snapshot) as server:
        run_ingest(settings_in(online, tables=(OVERLAST,)), api(server), gemeenten=GEMEENTEN)
    run_ingest(settings_in(offline, tables=(OVERLAST,)), str(overlast_snapshot), gemeenten=GEMEENTEN)
    pd.testing.assert_frame_equal(facts(online, OVERLAST), facts(offline, OVERLAST))


def test_raw_layout_of_another_machine_is_imported(tmp_path, overlast_snapshot):
    elsewhere, here = tmp_path / "elsewhere", tmp_path / "here"
    run_ingest(settings_in(elsewhere, tables=(OVERLAST,)), str(overlast_snapshot), gemeenten=GEMEENTEN)
    report = run_ingest(settings_in(here, tables=(OVERLAST,)), str(elsewhere / "data/raw"))
    assert report.imported[OVERLAST] == ["20240328T020000"]
    pd.testing.assert_frame_equal(facts(elsewhere, OVERLAST), facts(here, OVERLAST))


def test_incremental_pull_fetches_only_the_window_and_keeps_old_vintages(tmp_path, shared_dir):
    old_snap, new_snap = tmp_path / "snap_old", tmp_path / "snap_new"
    common = dict(shared_dir=shared_dir, gemeenten=GEMEENTEN, tables=(MISDRIJVEN,), codes={MISDRIJVEN: WONINGINBRAAK_CODES})
    build_police_snapshot(old_snap, start="2020-01", end="2023-11", modified="2023-12-15T02:00:00", **common)
    build_police_snapshot(new_snap, start="2020-01", end="2023-12", modified="2024-01-15T02:00:00", **common)
    settings = settings_in(tmp_path / "proj", tables=(MISDRIJVEN,), revision_window_months=3)
    with StubODataServer(old_snap) as server:
        run_ingest(settings, api(server), gemeenten=GEMEENTEN)
        old_dir = tmp_path / "proj/data/raw" / MISDRIJVEN / "20231215T020000"
        old_files = {p.name: p.read_bytes() for p in (old_dir / "partitions").iterdir()}
        server.set_snapshot(new_snap)
        server.reset_counters()
        report = run_ingest(settings, api(server), gemeenten=GEMEENTEN)
        data_urls = [str(r) for r in server.requests_log if "TypedDataSet" in str(r)]
    pull = report.pulls[0]
    assert pull.kind == "incremental"
    # Only 2023 partitions (window Oct–Dec 2023) for NL00 and the two gemeenten.
    assert pull.partitions_fetched == 3
    assert all("2022" not in url and "2021" not in url for url in data_urls)
    # The old vintage is untouched.
    assert {p.name: p.read_bytes() for p in (old_dir / "partitions").iterdir()} == old_files
    loaded = facts(tmp_path / "proj", MISDRIJVEN)
    assert loaded["month"].max() == pd.Timestamp("2023-12-01")
    # Months outside the window come from the old vintage, the window from the new one.
    by_vintage = loaded.groupby("vintage")["month"].agg(["min", "max"])
    assert by_vintage.loc["20240115T020000", "min"] == pd.Timestamp("2023-10-01")
    assert by_vintage.loc["20231215T020000", "max"] == pd.Timestamp("2023-09-01")


def test_server_errors_after_retries_keep_finished_partitions_and_resume(tmp_path, misdrijven_snapshot):
    settings = settings_in(tmp_path, tables=(MISDRIJVEN,), concurrency=1)
    # Requests for Raalte's 2023 partition keep failing with 503: every retry is spent.
    failing = Fault(kind="status", status=503, match="GM0177", times=-1)
    with StubODataServer(misdrijven_snapshot, faults=[failing]) as server:
        with pytest.raises(SourceError, match="partities staan veilig"):
            run_ingest(settings, api(server), gemeenten=GEMEENTEN)
        assert not (tmp_path / "data/warehouse/veiligheidsbeeld.duckdb").exists() or sql(
            tmp_path, "SELECT count(*) FROM facts_monthly") == [(0,)]
        vintage_dir = tmp_path / "data/raw" / MISDRIJVEN / "20240328T020000"
        finished = sorted(p.name for p in (vintage_dir / "partitions").glob("*.parquet"))
        assert finished and not any(n.startswith("GM0177") for n in finished)
        assert list(vintage_dir.rglob("*.tmp")) == []
        server.set_faults([])
        report = run_ingest(settings, api(server), gemeenten=GEMEENTEN)
    assert report.pulls[0].partitions_reused == len(finished)
    clean = tmp_path / "clean"
    run_ingest(settings_in(clean, tables=(MISDRIJVEN,)), str(misdrijven_snapshot), gemeenten=GEMEENTEN)
    pd.testing.assert_frame_equal(facts(tmp_path, MISDRIJVEN), facts(clean, MISDRIJVEN))


def test_transient_errors_are_retried_to_a_correct_result(tmp_path, misdrijven_snapshot):
    faults = [
        Fault(kind="status", status=500, match="TypedDataSet", times=2),
        Fault(kind="status", status=429, retry_after="0", match="TypedDataSet", times=1),
        Fault(kind="invalid_json", match="TypedDataSet", times=1),
    ]
    with StubODataServer(misdrijven_snapshot, faults=faults) as server:
        run_ingest(settings_in(tmp_path, tables=(MISDRIJVEN,), retries=5), api(server, retries=5), gemeenten=GEMEENTEN)
    clean = tmp_path / "clean"
    run_ingest(settings_in(clean, tables=(MISDRIJVEN,)), str(misdrijven_snapshot), gemeenten=GEMEENTEN)
    pd.testing.assert_frame_equal(facts(tmp_path, MISDRIJVEN), facts(clean, MISDRIJVEN))


def test_malformed_page_after_retries_is_a_clear_error(tmp_path, misdrijven_snapshot):
    with StubODataServer(misdrijven_snapshot, faults=[Fault(kind="invalid_json", match="TypedDataSet", times=-1)]) as server:
        with pytest.raises(SourceError, match="ongeldige of afgebroken JSON"):
            run_ingest(settings_in(tmp_path, tables=(MISDRIJVEN,)), api(server), gemeenten=GEMEENTEN)


def _drift(snapshot: Path, tmp_path: Path, mutate) -> Path:
    drifted = tmp_path / "drifted"
    shutil.copytree(snapshot, drifted)
    mutate(drifted / MISDRIJVEN)
    return drifted


def test_schema_drift_writes_nothing(tmp_path, misdrijven_snapshot):
    import json

    settings = settings_in(tmp_path / "proj", tables=(MISDRIJVEN,))
    run_ingest(settings, str(misdrijven_snapshot), gemeenten=GEMEENTEN)
    before = facts(tmp_path / "proj", MISDRIJVEN)

    def rename_measure(table_dir: Path) -> None:
        props = json.loads((table_dir / "DataProperties.json").read_text())
        for p in props:
            if p["Key"] == "GeregistreerdeMisdrijven_1":
                p["Key"] = "GeregistreerdeMisdrijven_2"
        (table_dir / "DataProperties.json").write_text(json.dumps(props))
        infos = json.loads((table_dir / "TableInfos.json").read_text())
        infos[0]["Modified"] = "2024-05-01T02:00:00"
        (table_dir / "TableInfos.json").write_text(json.dumps(infos))

    drifted = _drift(misdrijven_snapshot, tmp_path, rename_measure)
    with StubODataServer(drifted) as server:
        with pytest.raises(SchemaDriftError, match="meetkolom 'GeregistreerdeMisdrijven_1' ontbreekt"):
            run_ingest(settings, api(server), gemeenten=GEMEENTEN)
    pd.testing.assert_frame_equal(before, facts(tmp_path / "proj", MISDRIJVEN))
    assert not (tmp_path / "proj/data/raw" / MISDRIJVEN / "20240501T020000").exists()


def test_unknown_table_and_gemeente_are_clear_errors(tmp_path, misdrijven_snapshot):
    with pytest.raises(ConfigError, match="Geldige tabellen: 47022NED, 47024NED"):
        run_ingest(settings_in(tmp_path), str(misdrijven_snapshot), tables=["47099NED"], gemeenten=GEMEENTEN)
    with pytest.raises(ConfigError, match="GM9999"):
        run_ingest(settings_in(tmp_path, tables=(MISDRIJVEN,)), str(misdrijven_snapshot), gemeenten=["GM9999"])
    with StubODataServer(misdrijven_snapshot) as server:
        with pytest.raises(VeiligheidsbeeldError, match="47099NED"):
            api(server).entity("47099NED", "TableInfos")
