"""The yearly police table 47025NED (misdrijven per jaar, per gemeente) ingested like the monthly
ones: live through the OData client against the local stub server, and from a snapshot directory.

NL01 rows are the REAL national yearly series from ../shared; gemeente rows are SYNTHETIC
(veiligheidsbeeld.testing.synthetic_jaar, labelled so in the snapshot's TableInfos).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from testkit import read_warehouse

from veiligheidsbeeld.config import load_settings
from veiligheidsbeeld.ingest import run_ingest
from veiligheidsbeeld.sources.odata import CbsApiSource
from veiligheidsbeeld.testing.odata_stub import StubODataServer
from veiligheidsbeeld.testing.synthetic import build_police_snapshot

pytestmark = pytest.mark.integration

GEMEENTEN = ["GM1773", "GM0177"]
JAAR = "47025NED"
ZEDEN_CODES = {"1.4.1", "3.2.1", "3.2.2"}


def settings_in(root: Path):
    settings = load_settings().with_paths(root=root).with_ingest(tables=(JAAR,))
    # Geography is not what this test is about: no denominators, no boundaries.
    return dataclasses.replace(settings, geography=dataclasses.replace(
        settings.geography, fetch_denominators=False, fetch_boundaries=False))


def warehouse_rows(root: Path) -> list[tuple]:
    with read_warehouse(root) as con:
        return con.execute("SELECT region_code, type_code, year, count FROM facts_yearly_reported "
                           "WHERE table_id = $t ORDER BY ALL", {"t": JAAR}).fetchall()


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory, shared_dir) -> Path:
    root = tmp_path_factory.mktemp("snapshot_jaar")
    build_police_snapshot(root, shared_dir=shared_dir, gemeenten=GEMEENTEN, tables=(JAAR,), start="2012-01", end="2023-12")
    return root


def served(snapshot: Path) -> list[tuple]:
    """What the snapshot holds for the pulled codes (the known answer), keys trimmed."""
    rows = json.loads((snapshot / JAAR / "TypedDataSet.json").read_text(encoding="utf-8"))
    return sorted(
        (r["RegioS"].strip(), r["SoortMisdrijf"].strip(), int(r["Perioden"][:4]), r["GeregistreerdeMisdrijven_1"])
        for r in rows if r["SoortMisdrijf"].strip() in ZEDEN_CODES
    )


def test_live_pull_through_the_stub_loads_exactly_what_was_served(tmp_path, snapshot, shared_dir):
    with StubODataServer(snapshot) as server:
        source = CbsApiSource(server.catalog_url, use_https=False, retries=2, backoff_seconds=0.01, timeout_seconds=5)
        report = run_ingest(settings_in(tmp_path), source, gemeenten=GEMEENTEN)
    pull = report.pulls[0]
    assert pull.table_id == JAAR and pull.kind == "full"
    # Small: one partition per region (NL01 and the two gemeenten), all years and the three codes in it.
    assert pull.partitions_fetched == 3
    got = warehouse_rows(tmp_path)
    assert got == served(snapshot)
    assert {r[0] for r in got} == {"NL01", *GEMEENTEN} and {r[1] for r in got} == ZEDEN_CODES
    assert {r[2] for r in got} == set(range(2012, 2024))
    # NL01 is the real published series: zedenmisdrijven 2013 = 7,413, 2023 = 8,214.
    national = {(r[1], r[2]): r[3] for r in got if r[0] == "NL01"}
    assert national[("1.4.1", 2013)] == 7_413 and national[("1.4.1", 2023)] == 8_214
    assert not [f for f in report.findings if str(f.severity) == "BLOCKER"], report.findings
    assert report.loads[0].rows == len(got)


def test_snapshot_directory_gives_the_same_warehouse(tmp_path, snapshot):
    run_ingest(settings_in(tmp_path / "a"), snapshot, gemeenten=GEMEENTEN)
    assert warehouse_rows(tmp_path / "a") == served(snapshot)
    # Unchanged table: the second run skips the pull and the warehouse stays the same.
    report = run_ingest(settings_in(tmp_path / "a"), snapshot, gemeenten=GEMEENTEN)
    assert report.pulls[0].kind == "skip"
    assert warehouse_rows(tmp_path / "a") == served(snapshot)


def test_status_judges_a_yearly_table_by_its_last_year(tmp_path, snapshot):
    from datetime import date

    from veiligheidsbeeld.status import warehouse_status

    settings = settings_in(tmp_path)
    run_ingest(settings, snapshot, gemeenten=GEMEENTEN)
    fresh = {t.table_id: t for t in warehouse_status(settings, today=date(2024, 6, 1)).tables}[JAAR]
    assert fresh.last_month == date(2023, 12, 1) and not fresh.stale
    old = {t.table_id: t for t in warehouse_status(settings, today=date(2025, 6, 1)).tables}[JAAR]
    assert old.stale and "2023" in old.stale_reason
