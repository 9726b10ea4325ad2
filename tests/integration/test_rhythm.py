"""The two-week rhythm through the local stub server: every scheduled run asks the source whether
the table changed (one request), ingests when it did, and every report opens with what is new.

National (NL00) rows are the REAL police series from ../shared; every gemeente, wijk and buurt
figure is SYNTHETIC (deterministic); the later version revises a share of the last three months.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
from datetime import date
from pathlib import Path

import pytest

from veiligheidsbeeld import pipeline
from veiligheidsbeeld.analysis.whats_new import STAMP_FILE, read_stamp
from veiligheidsbeeld.config import load_settings
from veiligheidsbeeld.regions import load_district_table
from veiligheidsbeeld.testing.odata_stub import StubODataServer
from veiligheidsbeeld.testing.synthetic import build_police_snapshot, build_revised_snapshot

pytestmark = pytest.mark.integration

MISDRIJVEN = "47022NED"
GEMEENTEN = ["GM1773", "GM0180"]  # Olst-Wijhe, Staphorst (district IJsselland)
CODES = ["0.0.0", "1.1.1", "1.4.3", "1.4.4", "1.4.5", "1.4.6", "1.4.7"]
COMMON = dict(gemeenten=GEMEENTEN, tables=(MISDRIJVEN,), start="2021-01", codes={MISDRIJVEN: CODES})


def month_cells(snapshot: Path) -> dict[tuple[str, str, str], int | None]:
    rows = json.loads((snapshot / MISDRIJVEN / "TypedDataSet.json").read_text(encoding="utf-8"))
    return {(r["WijkenEnBuurten"].strip(), r["SoortMisdrijf"].strip(), r["Perioden"]): r["GeregistreerdeMisdrijven_1"]
            for r in rows if "MM" in r["Perioden"]}


@pytest.fixture(scope="module")
def versions(tmp_path_factory, shared_dir) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("rhythm_snapshots")
    build_police_snapshot(root / "a", shared_dir=shared_dir, end="2023-11", modified="2023-12-14T02:00:00", **COMMON)
    build_revised_snapshot(root / "b", shared_dir=shared_dir, end="2023-11", extra_months=1, last_months_revised=3,
                           revise_share=0.05, modified="2024-01-17T02:00:00", **COMMON)
    return root / "a", root / "b"


def settings_for(root: Path, server: StubODataServer):
    table = load_district_table()
    table[table["gemeente_code"].isin(GEMEENTEN)].to_csv(root / "districts.csv", index=False)
    settings = load_settings().with_paths(root=root).with_ingest(
        tables=(MISDRIJVEN,), catalog_url=server.catalog_url, use_https=False, retries=1, backoff_seconds=0.01,
        backoff_max_seconds=0.05, timeout_seconds=10,
    )
    return dataclasses.replace(
        settings,
        area=dataclasses.replace(settings.area, district_table=str(root / "districts.csv")),
        geography=dataclasses.replace(settings.geography, fetch_denominators=False, fetch_boundaries=False),
    )


def scheduled_run(settings, report_date: date) -> tuple[pipeline.Freshness, Path]:
    """What the 'tweewekelijks' flow does: ask the source, ingest when it changed, write the reports."""
    check = pipeline.source_changed(settings, "api")
    if check.stale:
        pipeline.ingest(settings, "api")
    paths = pipeline.render_tweewekelijks_reports(settings, report_date, ["VR04"], pdf=False)
    district = next(p for p in paths if p.name == "ijsselland.html")
    return check, district


def news_line(report: Path) -> str:
    text = report.read_text(encoding="utf-8")
    match = re.search(r'<section class="banner banner-news" id="nieuw"[^>]*>(.*?)</section>', text, re.S)
    assert match, "the report has no 'wat is nieuw' line"
    text = html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()
    assert text.startswith("Wat is nieuw:")
    return text.removeprefix("Wat is nieuw:").strip()


def test_two_scheduled_runs_around_a_new_version_and_one_without(tmp_path, versions):
    a, b = versions
    before, after = month_cells(a), month_cells(b)
    expected_revisions = sum(1 for key, value in after.items() if key in before and before[key] != value)
    assert expected_revisions > 50  # the later version really revises cells
    with StubODataServer(a) as server:
        settings = settings_for(tmp_path, server)

        # 15 January: no warehouse yet -> ingest; no earlier report to compare with.
        check, first = scheduled_run(settings, date(2024, 1, 15))
        assert check.stale
        assert "Geen eerder rapport gevonden" in news_line(first)
        assert read_stamp(first.parent / STAMP_FILE, MISDRIJVEN).vintage == "20231214T020000"

        # 29 January: the police published December mid-month -> the run finds and ingests it.
        server.set_snapshot(b)
        server.reset_counters()
        check, second = scheduled_run(settings, date(2024, 1, 29))
        assert check.stale and "nieuwe versie" in check.text
        line = news_line(second)
        assert line.startswith("Nieuw sinds het vorige rapport (15 januari 2024; versie van de bron van 17 januari 2024)")
        assert "nieuwe maand december 2023" in line
        n = f"{expected_revisions:,}".replace(",", ".")
        assert f"{n} cellen in het revisievenster" in line
        assert f"waarvan {n} in district IJsselland" in line  # both gemeenten lie in IJsselland

        # 12 February: nothing new -> one request, no ingest, and the report says so.
        server.reset_counters()
        check, third = scheduled_run(settings, date(2024, 2, 12))
        assert not check.stale and "ongewijzigd" in check.text
        assert server.request_count == 1
        assert news_line(third) == (
            "Geen nieuwe cijfers sinds 17 januari 2024: dit rapport is gelijk aan het vorige "
            "(rapport van 29 januari 2024)."
        )
        index = third.parent / "index.html"
        assert "Geen nieuwe cijfers sinds 17 januari 2024" in news_line(index)


def test_an_unchanged_table_costs_one_request_per_table(tmp_path, versions):
    a, _ = versions
    with StubODataServer(a) as server:
        settings = settings_for(tmp_path, server)
        pipeline.ingest(settings, "api")
        server.reset_counters()
        check = pipeline.source_changed(settings, "api")
        assert not check.stale
        assert server.request_count == 1
        assert all("TableInfos" in r for r in server.requests_log)
        # A source that cannot be asked does not stop a report on the data already loaded.
    unreachable = pipeline.source_changed(settings, "api")
    assert not unreachable.stale and "niet te bevragen" in unreachable.text
