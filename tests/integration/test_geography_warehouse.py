"""Geography in the warehouse end to end: districts, lineage, real boundaries from ../shared and
denominators pulled from a snapshot into data/raw and loaded; lookups with flags; idempotent
reloads and rollback.

The denominator values are SYNTHETIC (invented deterministically below, and labelled so in the
snapshot's TableInfos); the gemeente codes and boundaries are real.
"""

from __future__ import annotations

import math
import zlib
from pathlib import Path

import pandas as pd
import pytest
import testkit

from veiligheidsbeeld import regions as R
from veiligheidsbeeld.config import AreaSettings, GeographySettings
from veiligheidsbeeld.errors import DataError
from veiligheidsbeeld.sources import boundaries as B
from veiligheidsbeeld.sources import denominators as D
from veiligheidsbeeld.sources.odata import SnapshotSource
from veiligheidsbeeld.warehouse import db, queries
from veiligheidsbeeld.warehouse import geography as G

pytestmark = pytest.mark.integration

YEARS = range(2019, 2024)
SUPPRESSED = ("GM0148", 2021)


def inhabitants(code: str, year: int) -> int:
    """SYNTHETIC number of inhabitants."""
    return 5_000 + zlib.crc32(f"{code}{year}".encode()) % 150_000


def write_population_snapshot(root: Path, gemeenten: list[str]) -> Path:
    """A 03759ned-shaped snapshot holding only the total categories (SYNTHETIC values)."""
    return testkit.write_population_snapshot(
        root, gemeenten, YEARS, lambda c, y: None if (c, y) == SUPPRESSED else inhabitants(c, y)
    )


def _snapshot(con, table: str, order: str) -> pd.DataFrame:
    return con.execute(f"SELECT * EXCLUDE (loaded_at) FROM {table} ORDER BY {order}").df()


def test_geography_in_the_warehouse(tmp_path: Path, shared_dir: Path) -> None:
    geo = shared_dir / "data" / "geo"
    table = R.load_district_table()
    gemeenten = table["gemeente_code"].tolist()
    raw = tmp_path / "data" / "raw"
    path = tmp_path / "warehouse.duckdb"

    snapshot = write_population_snapshot(tmp_path / "snapshot", gemeenten + ["GM0363"])
    D.pull_denominators(SnapshotSource(snapshot), gemeenten, YEARS, raw, GeographySettings(denominator_tables=("bevolking",)))
    assert len(list((raw / "denominators" / "03759ned" / "20240628T020000").glob("*.parquet"))) == 1

    boundaries_2023 = B.get_boundaries("gemeente", 2023, raw, local_path=geo / "gemeente_2023.topojson", gemeente_codes=gemeenten)
    boundaries_2015 = B.get_boundaries("gemeente", 2015, raw, local_path=geo / "gemeente_2015.topojson")

    order = {"districts": "gemeente_code", "gemeente_lineage": "old_code", "denominators": "ALL"}
    with db.writer(path) as con:
        loaded = []
        for _ in range(2):  # a reload gives the same warehouse
            assert G.load_area_districts(con, AreaSettings()) == 76
            assert G.load_lineage(con) == len(R.load_lineage())
            assert G.load_boundaries(con, boundaries_2023, "gemeente_2023.topojson (cartomap/nl)") == 76
            assert G.load_boundaries(con, boundaries_2015, "gemeente_2015.topojson (cartomap/nl)") == 393
            assert G.load_denominators(con, D.load_raw_denominators(raw)) == 76 * 5 * 2
            loaded.append({t: _snapshot(con, t, o) for t, o in order.items()})
        for t in order:
            pd.testing.assert_frame_equal(loaded[0][t], loaded[1][t])
        assert con.execute("SELECT count(*) FROM boundaries").fetchall()[0][0] == 76 + 393

        # Lookups: the figure's own year; after the last published year the latest (flagged);
        # before the first, or a suppressed cell, missing (NaN) -- never 0, never another year.
        figures = pd.DataFrame(
            {
                "region_code": ["GM0153", "GM0153", "GM0153", "GM0148", "GM0164"],
                "year": [2012, 2021, 2024, 2021, 2023],
                "count": [40, 50, 60, 70, 80],
            }
        )
        out = G.attach_denominators(figures, con, "inwoners")
        assert out["denominator_status"].tolist() == ["ontbreekt", "eigen_jaar", "laatst_beschikbaar", "ontbreekt", "eigen_jaar"]
        assert out["denominator_flag"].tolist() == [True, False, True, True, False]
        assert out["denominator_year"].tolist()[1:3] == [2021, 2023]
        assert pd.isna(out["denominator_year"].iloc[0])
        assert out["denominator"].iloc[1] == inhabitants("GM0153", 2021)
        assert out["denominator"].iloc[2] == inhabitants("GM0153", 2023)
        assert math.isnan(out["denominator"].iloc[0]) and math.isnan(out["denominator"].iloc[3])
        assert (out["denominator"].fillna(-1) != 0).all()
        assert out.loc[1, "denominator_source_table"] == "03759ned" and out.loc[1, "denominator_vintage"] == "20240628T020000"

        rates = pytest.importorskip("veiligheidsbeeld.analysis.rates")
        per_1000 = rates.rate_per(out["count"], out["denominator"], per=1000)
        assert per_1000.iloc[1] == pytest.approx(50 / inhabitants("GM0153", 2021) * 1000)
        assert math.isnan(per_1000.iloc[0]) and math.isnan(per_1000.iloc[3])

        single = G.denominator_for(con, ["GM0193", "GM9999"], 2025, "inwoners_gemiddeld").set_index("region_code")
        assert single.at["GM0193", "status"] == "laatst_beschikbaar" and single.at["GM0193", "year_used"] == 2023
        assert single.at["GM0193", "value"] == inhabitants("GM0193", 2023) + 10
        assert single.at["GM9999", "status"] == "ontbreekt" and bool(single.at["GM9999", "flag"])

        # Per district: complete only when every gemeente has a value.
        district = con.execute(
            "SELECT district_code, year, value, volledig, gemeenten FROM district_denominators "
            "WHERE measure = 'inwoners' AND year IN (2021, 2022) ORDER BY ALL"
        ).df().set_index(["district_code", "year"])
        twente = table.loc[table["district_code"] == "VR05", "gemeente_code"]
        assert district.at[("VR05", 2022), "value"] == sum(inhabitants(c, 2022) for c in twente)
        assert district.at[("VR04", 2021), "volledig"] == False and pd.isna(district.at[("VR04", 2021), "value"])  # noqa: E712
        assert district.at[("VR04", 2022), "gemeenten"] == 11

        # Boundaries come back as they went in.
        back = G.read_boundaries(con, "gemeente", 2023)
        assert back.crs.to_epsg() == 28992 and len(back) == 76
        assert back.geometry.area.sum() == pytest.approx(boundaries_2023.geometry.area.sum())

        # A failing load changes nothing.
        clash = D.load_raw_denominators(raw).assign(source_table="99999NED")
        before = _snapshot(con, "denominators", "ALL")
        with pytest.raises(DataError, match="meer dan één CBS-tabel"):
            G.load_denominators(con, clash)
        pd.testing.assert_frame_equal(_snapshot(con, "denominators", "ALL"), before)

        overview = R.regions_overview(AreaSettings(), queries.police_region_codes(con))
        assert not overview.data_checked and overview.n_gemeenten == 76

    with db.reader(path) as con:
        assert con.execute("SELECT count(*) FROM districts").fetchall()[0][0] == 76
        assert con.execute("SELECT count(*) FROM gemeente_lineage WHERE new_code = 'GM1960'").fetchall()[0][0] == 3
