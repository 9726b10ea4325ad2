"""The report kit: one writer and one mode for every report file, safe names, the maps' boundaries."""

from __future__ import annotations

import os
import stat

from pathlib import Path

import duckdb
import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from veiligheidsbeeld.errors import ConfigError
from veiligheidsbeeld.reports import kit
from veiligheidsbeeld.warehouse.geography import load_boundaries
from veiligheidsbeeld.warehouse.queries import boundary_layout_years
from veiligheidsbeeld.warehouse.schema import migrate


@pytest.fixture
def umask_027():
    # Neither the default 022 nor mkstemp's owner-only 0600: every file must be 0640.
    old = os.umask(0o027)
    try:
        yield 0o640
    finally:
        os.umask(old)


def test_publish_and_the_table_writers_give_every_file_the_same_mode(tmp_path, umask_027):
    written = [
        kit.publish(tmp_path / "pagina.html", "<p>één</p>"),
        kit.publish(tmp_path / "grafiek.png", b"\x89PNG\r\n"),
        *kit.write_tables({"vergelijkingen": pd.DataFrame({"naam": ["=SOM(A1)", "Raalte"], "aantal": [3, None]})},
                          pd.DataFrame({"onderwerp": ["rapport"], "toelichting": ["test"]}), tmp_path, "twente",
                          synthetic=True, vintage="20240101T000000"),
    ]
    assert [p.name for p in written] == ["pagina.html", "grafiek.png", "twente_vergelijkingen.csv", "twente.xlsx"]
    assert {stat.S_IMODE(p.stat().st_mode) for p in written} == {umask_027}
    assert (tmp_path / "pagina.html").read_text(encoding="utf-8") == "<p>één</p>"
    csv = (tmp_path / "tabellen" / "twente_vergelijkingen.csv").read_text(encoding="utf-8").splitlines()
    assert csv == ["naam,aantal,versie,synthetisch", "'=SOM(A1),3.0,20240101T000000,True",
                   "Raalte,,20240101T000000,True"]  # a formula stays text; unknown is empty, never 0
    assert not [p for p in tmp_path.rglob(".*")]  # no temporary file left behind


def test_a_name_outside_the_report_folder_is_refused_and_nothing_written(tmp_path):
    with pytest.raises(ConfigError, match="valt buiten de uitvoermap"):
        kit.safe_path(tmp_path / "out", "../elders.html")
    assert not (tmp_path / "elders.html").exists()
    assert kit.slugify("'s-Leeg/../Súdwest") == "s-leeg-sudwest"


def squares(level: str, codes: list[str], year: int) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"region_code": codes, "region_name": codes, "level": level,
         "gemeente_code": ["GM" + c[2:6] for c in codes], "layout_year": year},
        geometry=[box(200_000 + 1_000 * i, 480_000, 200_900 + 1_000 * i, 480_900) for i in range(len(codes))],
        crs="EPSG:28992",
    )


def test_geography_takes_the_police_layout_year_else_the_latest_and_says_so():
    con = duckdb.connect()
    migrate(con, Path("test.duckdb"))
    assert boundary_layout_years(con) == {}  # a warehouse without boundaries
    assert kit.read_geography(con, 2023, ["GM0147"]).note == (
        "Let op: geen gemeentegrenzen in het warehouse: de kaarten ontbreken.")
    load_boundaries(con, squares("gemeente", ["GM0147", "GM0168"], 2021), "test")
    load_boundaries(con, squares("gemeente", ["GM0147", "GM0168", "GM0153"], 2023), "test")
    load_boundaries(con, squares("wijk", ["WK014701", "WK016801", "WK015301"], 2022), "test")
    assert boundary_layout_years(con) == {"gemeente": [2021, 2023], "wijk": [2022]}
    geo = kit.read_geography(con, 2023, ["GM0147", "GM0168"])
    assert sorted(geo.gemeenten["region_code"]) == ["GM0147", "GM0153", "GM0168"]
    assert sorted(geo.wijken["region_code"]) == ["WK014701", "WK016801"]  # only the report's gemeenten
    assert geo.note == "Let op: wijkgrenzen van 2022 (indeling 2023 niet beschikbaar)."
    older = kit.read_geography(con, 2024, ["GM0147"])
    assert len(older.gemeenten) == 3 and "gemeentegrenzen van 2023 (indeling 2024 niet beschikbaar)" in older.note


def test_change_view_shows_counts_and_flags_only_what_was_tested():
    view = kit.change_view({"current": 30, "previous": 20, "difference": 10, "pct_change": 50.0, "significant": True,
                            "direction": "stijging", "p_value": 0.0004})
    assert (view.current, view.previous, view.difference, view.flag, view.p_value) == ("30", "20", "+10", "stijging",
                                                                                       "p < 0,001")
    assert view.pct.startswith("+50")
    small = kit.change_view({"current": 3, "previous": 1, "difference": 2, "pct_change": 200.0, "significant": False})
    assert small.pct == "" and small.flag == ""  # no +200% on a base of 1
    gap = kit.change_view({"current": None, "current_known": 12, "previous": 20, "significant": True,
                           "direction": "daling"})
    assert gap.current == "≥ 12" and gap.incomplete and "niet getoetst" in gap.note and gap.difference == "–"
    assert kit.is_missing(float("nan")) and kit.is_missing(pd.NA) and not kit.is_missing(0)


def test_the_report_heap_is_settled_only_while_open_and_no_garbage_cycle_is_frozen():
    import gc
    import weakref

    class Node:
        pass

    def cycle() -> weakref.ref:
        a, b = Node(), Node()
        a.other, b.other = b, a
        return weakref.ref(a)

    before = gc.get_threshold()
    old_garbage = cycle()
    with kit.long_lived_heap():
        assert old_garbage() is None  # collected before the heap was frozen, not kept for ever
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] == kit.RENDER_GC_THRESHOLD
        new_garbage = cycle()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert new_garbage() is None  # a cycle made inside is still freed afterwards
