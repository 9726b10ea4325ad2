"""The synthetic CBS denominator snapshot (veiligheidsbeeld.testing.synthetic_cbs).

Every number these tests read is SYNTHETIC (invented by the builder); only the codes and the
gemeente boundaries are real.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from veiligheidsbeeld.regions import layout_parts
from veiligheidsbeeld.config import GeographySettings
from veiligheidsbeeld.sources import denominators as D
from veiligheidsbeeld.sources.boundaries import read_boundaries_file
from veiligheidsbeeld.sources.odata import SnapshotSource
from veiligheidsbeeld.testing.synthetic import district_gemeenten
from veiligheidsbeeld.warehouse.geography import police_layout_codes
from veiligheidsbeeld.testing.synthetic_cbs import (
    SYNTHETIC_PREFIX,
    build_cbs_snapshot,
    copy_boundaries,
    synthetic_wijk_boundaries,
)

YEARS = tuple(range(2012, 2024))
KWB_YEARS = (2022, 2023)
GEMEENTE_MEASURES = ("inwoners", "inwoners_gemiddeld", "huishoudens", "woningen", "woningen_eindstand")


@pytest.fixture(scope="module")
def region_list_path(shared_dir: Path) -> Path:
    return shared_dir / "data" / "politie" / "47022NED_WijkenEnBuurten.csv"


@pytest.fixture(scope="module")
def region_list(region_list_path: Path) -> pd.DataFrame:
    frame = pd.read_csv(region_list_path, dtype=str, keep_default_na=False)
    frame["code"] = frame["Key"].str.strip()
    return frame


@pytest.fixture(scope="module")
def eenheid() -> list[str]:
    return district_gemeenten("RE02")


@pytest.fixture(scope="module")
def built(tmp_path_factory, region_list_path: Path, eenheid: list[str]) -> tuple[Path, dict[str, Path], float]:
    root = tmp_path_factory.mktemp("cbs") / "snapshot"
    started = time.perf_counter()
    written = build_cbs_snapshot(root, region_list=region_list_path, gemeenten=eenheid, years=YEARS, wijk_buurt_years=KWB_YEARS)
    return root, written, time.perf_counter() - started


@pytest.fixture(scope="module")
def pulled(built, eenheid: list[str], tmp_path_factory) -> pd.DataFrame:
    root, _, _ = built
    raw = tmp_path_factory.mktemp("raw")
    # Year Y is published on the layout of that year: the predecessors are pulled too (as the ingest does).
    codes = police_layout_codes(eenheid, YEARS)
    return D.pull_denominators(SnapshotSource(root), codes, YEARS, raw, GeographySettings(wijk_buurt_years=KWB_YEARS))


def _gemeente_wide(frame: pd.DataFrame) -> pd.DataFrame:
    gm = frame[frame["region_level"] == "gemeente"]
    return gm.pivot_table(index=["region_code", "year"], columns="measure", values="value", aggfunc="first", dropna=False)


def test_writes_exactly_the_tables_the_default_settings_ask_for(built) -> None:
    root, written, seconds = built
    expected = [s.table_id for s in D.table_specs(GeographySettings(wijk_buurt_years=KWB_YEARS))]
    assert list(written) == expected == ["03759ned", "71486ned", "81955NED", "85318NED", "85618NED"]
    assert sorted(p.name for p in root.iterdir()) == sorted(expected)
    assert seconds < 15, f"76 gemeenten x 12 years took {seconds:.1f} s"


def test_round_trip_gives_every_gemeente_year_and_measure(pulled: pd.DataFrame, eenheid: list[str]) -> None:
    wide = _gemeente_wide(pulled)
    assert set(wide.columns) == set(GEMEENTE_MEASURES)
    # Every year on that year's layout (real herindelingen in Oost-Nederland since 2013).
    layout = {y: sorted(c for g in eenheid for c in layout_parts(g, y).parts) for y in YEARS}
    wide = wide.dropna(how="all")  # the pivot lists every code × year; a code is published in its years only
    assert set(wide.index) == {(c, y) for y, codes in layout.items() for c in codes}
    # Zevenaar + Rijnwaarden 2012–2017, Berg en Dal as three 2012–2014, West Betuwe as three 2012–2018.
    assert len(wide) == sum(len(codes) for codes in layout.values()) == 76 * 12 + 6 * 1 + 3 * 2 + 7 * 2
    assert {"GM0196", "GM0299", "GM0241"} <= set(layout[2015]) and "GM1945" not in layout[2015]
    assert "GM1960" in layout[2019] and "GM0236" not in layout[2019]
    assert set(wide.index.get_level_values("region_code")) == set(police_layout_codes(eenheid, YEARS))
    assert not wide.isna().any().any()
    # The parts of a merger add up to the gemeente after it: no jump at the merger on the police layout.
    zevenaar = wide.loc[("GM0299", 2018), "inwoners"] / (wide.loc[("GM0299", 2017), "inwoners"] + wide.loc[("GM0196", 2017), "inwoners"])
    assert 1.001 <= zevenaar <= 1.012
    unchanged = [g for g in eenheid if all(layout_parts(g, y).parts == (g,) for y in YEARS)]
    assert len(unchanged) == 73
    wide = wide[wide.index.get_level_values("region_code").isin(unchanged)]
    assert wide["inwoners"].between(5_500, 190_000).all()
    assert wide["inwoners"].min() < 15_000 and wide["inwoners"].max() > 120_000  # a realistic spread
    assert (wide["huishoudens"] < wide["inwoners"]).all()
    assert (wide["inwoners"] / wide["huishoudens"]).between(2.14, 2.31).all()
    assert (wide["inwoners"] / wide["woningen"]).between(2.09, 2.26).all()
    assert (wide["woningen"] <= wide["woningen_eindstand"]).all()
    growth = wide["inwoners"].groupby(level="region_code").pct_change().dropna()
    assert growth.between(0.0015, 0.011).all() and 0.003 <= growth.mean() <= 0.008
    # The stock at the end of a year is the stock at the start of the next.
    for code in unchanged[:10]:
        w = wide.xs(code, level="region_code")
        assert (w["woningen_eindstand"].iloc[:-1].to_numpy() == w["woningen"].iloc[1:].to_numpy()).all()
    gm = pulled[pulled["region_level"] == "gemeente"]
    assert gm["table_title"].str.startswith(SYNTHETIC_PREFIX).all()
    assert set(gm["source_table"]) == {"03759ned", "71486ned", "81955NED"}


def test_wijken_and_buurten_add_up_to_the_gemeente(pulled: pd.DataFrame, region_list: pd.DataFrame, eenheid: list[str]) -> None:
    wide = _gemeente_wide(pulled)
    members = region_list[region_list["Municipality"].str.strip().isin(eenheid)]
    for year, table_id in ((y, D.KERNCIJFERS_WIJKEN_BUURTEN[y]) for y in KWB_YEARS):
        kwb = pulled[pulled["source_table"] == table_id]
        assert set(kwb["year"]) == {year} and set(kwb["region_level"]) == {"wijk", "buurt"}
        assert set(kwb["region_code"]) == set(members.loc[members["code"].str[:2].isin(["WK", "BU"]), "code"])
        per = kwb.pivot_table(index="region_code", columns="measure", values="value", aggfunc="first", dropna=False)
        per["gemeente"] = "GM" + per.index.str[2:6]
        level = per.index.str[:2]
        gemeente = wide.xs(year, level="year")
        wijk_sum = per[level == "WK"].groupby("gemeente")[["inwoners", "woningen"]].sum()
        assert np.allclose(wijk_sum["inwoners"] / gemeente.loc[wijk_sum.index, "inwoners"], 1.0, atol=0.005)
        assert np.allclose(wijk_sum["woningen"] / gemeente.loc[wijk_sum.index, "woningen"], 1.0, atol=0.005)
        buurten = per[level == "BU"]
        buurt_sum = buurten.groupby("gemeente")[["inwoners", "woningen"]].sum()  # nulls skipped
        assert (buurt_sum["inwoners"] / gemeente.loc[buurt_sum.index, "inwoners"]).between(0.94, 1.01).all()
        assert (buurt_sum["woningen"] / gemeente.loc[buurt_sum.index, "woningen"]).between(0.94, 1.01).all()
        # Small buurten (a minimum-dwellings threshold matters) and a few suppressed cells.
        assert (buurten["woningen"] < 50).sum() >= 50
        nulls = buurten[["inwoners", "woningen"]].isna().sum()
        assert (nulls > 0).all() and (nulls < 0.05 * len(buurten)).all()
        assert (buurten["inwoners"].dropna() % 5 == 0).all()  # inhabitants rounded to 5, as CBS does


def test_tables_are_labelled_synthetic(built) -> None:
    _, written, _ = built
    for table_id, directory in written.items():
        info = json.loads((directory / "TableInfos.json").read_text(encoding="utf-8"))[0]
        assert info["Identifier"] == table_id
        assert info["Title"].startswith(SYNTHETIC_PREFIX) and info["ShortTitle"].startswith(SYNTHETIC_PREFIX)
        assert "verzonnen" in info["Summary"] and "SYNTHETISCH" in info["Summary"]
        notice = (directory / "SYNTHETISCH.txt").read_text(encoding="utf-8")
        assert notice.startswith(SYNTHETIC_PREFIX + table_id) and "invented" in notice


def test_snapshot_is_internally_consistent(built) -> None:
    _, written, _ = built
    stock = pd.DataFrame(json.loads((written["81955NED"] / "TypedDataSet.json").read_text(encoding="utf-8")))
    change = (
        stock["BeginstandVoorraad_1"] + stock["Nieuwbouw_2"] + stock["OverigeToevoeging_3"] - stock["Sloop_4"]
        - stock["OverigeOnttrekking_5"] + stock["Correctie_6"]
    )
    assert (change == stock["EindstandVoorraad_8"]).all() and (stock["Nieuwbouw_2"] >= 0).all()
    by_use = stock.set_index(["Gebruiksfunctie", "RegioS", "Perioden"])["EindstandVoorraad_8"].unstack("Gebruiksfunctie")
    assert (by_use["T001419"] == by_use["A045364"] + by_use["A045365"]).all()

    pop = pd.DataFrame(json.loads((written["03759ned"] / "TypedDataSet.json").read_text(encoding="utf-8")))
    totals = pop[(pop["Leeftijd"] == "10000") & (pop["BurgerlijkeStaat"] == "T001019")]
    sexes = totals.pivot_table(index=["RegioS", "Perioden"], columns="Geslacht", values="BevolkingOp1Januari_1")
    assert ((sexes["3000   "] + sexes["4000   "] - sexes["T001038"]).abs() <= 1).all()
    assert set(pop["RegioS"].str.len()) == {6}  # GM codes, as the CBS tables serve them

    regions = json.loads((written["85618NED"] / "WijkenEnBuurten.json").read_text(encoding="utf-8"))
    assert {len(r["Key"]) for r in regions} == {10}  # WijkenEnBuurten keys padded to 10
    assert all(r["Municipality"] == "GM" + r["Key"][2:6] for r in regions)


def test_deterministic_and_independent_of_the_selection(tmp_path: Path, built, region_list: pd.DataFrame) -> None:
    root, written, _ = built
    again = build_cbs_snapshot(
        tmp_path / "again", region_list=region_list, gemeenten=district_gemeenten("RE02"), years=YEARS, wijk_buurt_years=KWB_YEARS
    )
    for table_id, directory in written.items():
        for path in sorted(directory.iterdir()):
            assert path.read_bytes() == (again[table_id] / path.name).read_bytes(), f"{table_id}/{path.name} differs"

    # A smaller selection gives the same values for what it contains.
    small = build_cbs_snapshot(tmp_path / "small", region_list=region_list, gemeenten=["GM1773", "GM0177"], years=[2020, 2023])
    full = D.fetch_denominator_table(SnapshotSource(root), D.POPULATION, ["GM1773", "GM0177"], [2020, 2023]).frame
    part = D.fetch_denominator_table(SnapshotSource(tmp_path / "small"), D.POPULATION, ["GM1773", "GM0177"], [2020, 2023]).frame
    assert list(small) == ["03759ned", "71486ned", "81955NED"]
    assert full["value"].tolist() == part["value"].tolist()

    other = build_cbs_snapshot(tmp_path / "other", region_list=region_list, gemeenten=["GM1773", "GM0177"], years=[2020, 2023], seed=7)
    other_frame = D.fetch_denominator_table(SnapshotSource(tmp_path / "other"), D.POPULATION, ["GM1773", "GM0177"], [2020, 2023]).frame
    assert other_frame["value"].tolist() != part["value"].tolist()
    assert other["03759ned"].name == "03759ned"


def test_monthly_population_on_request(tmp_path: Path, region_list: pd.DataFrame) -> None:
    gemeenten = ["GM0153", "GM1773"]
    written = build_cbs_snapshot(tmp_path / "s", region_list=region_list, gemeenten=gemeenten, years=[2022, 2023], monthly_population=True)
    assert "37230ned" in written
    settings = GeographySettings(monthly_population=True)
    frame = D.pull_denominators(SnapshotSource(tmp_path / "s"), gemeenten, [2022, 2023], tmp_path / "raw", settings)
    monthly = frame[frame["measure"] == "inwoners_maand"]
    assert len(monthly) == 2 * 2 * 12 and monthly["value"].notna().all()
    january = monthly[monthly["month"] == 1].set_index(["region_code", "year"])["value"]
    inwoners = frame[frame["measure"] == "inwoners"].set_index(["region_code", "year"])["value"]
    assert (january == inwoners.loc[january.index]).all()


def test_unknown_gemeente_and_bad_years_are_refused(tmp_path: Path, region_list: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="GM9999"):
        build_cbs_snapshot(tmp_path, region_list=region_list, gemeenten=["GM0153", "GM9999"], years=[2023])
    with pytest.raises(ValueError, match="no years"):
        build_cbs_snapshot(tmp_path, region_list=region_list, gemeenten=["GM0153"], years=[])


# --- boundaries ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def boundaries(tmp_path_factory, shared_dir: Path, region_list_path: Path, eenheid: list[str]) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("geo")
    gemeente = copy_boundaries(root, shared_dir, 2023)
    assert gemeente is not None
    wijk = synthetic_wijk_boundaries(root, gemeente, region_list_path, eenheid, 2023)
    return root, gemeente, wijk


def test_copy_boundaries_puts_the_real_file_where_the_ingest_looks(boundaries, shared_dir: Path, eenheid, tmp_path: Path) -> None:
    root, gemeente, _ = boundaries
    assert gemeente == root / "boundaries" / "gemeente_2023.topojson"
    assert gemeente.read_bytes() == (shared_dir / "data" / "geo" / "gemeente_2023.topojson").read_bytes()
    gdf = read_boundaries_file(gemeente, "gemeente", 2023)
    assert gdf.crs.to_epsg() == 28992 and set(eenheid) <= set(gdf["region_code"])
    assert copy_boundaries(tmp_path, tmp_path / "no-shared", 2023) is None


def test_synthetic_wijk_boundaries_tile_each_gemeente(boundaries, region_list: pd.DataFrame, eenheid: list[str]) -> None:
    root, gemeente, wijk = boundaries
    assert wijk == root / "boundaries" / "wijk_2023.geojson"
    gdf = read_boundaries_file(wijk, "wijk", 2023)
    assert gdf.crs.to_epsg() == 28992
    expected = region_list[region_list["Municipality"].str.strip().isin(eenheid) & region_list["code"].str.startswith("WK")]
    assert sorted(gdf["region_code"]) == sorted(expected["code"])
    assert (gdf["gemeente_code"] == "GM" + gdf["region_code"].str[2:6]).all()
    assert gdf.geometry.is_valid.all() and (gdf.geometry.area > 0).all()
    gm = read_boundaries_file(gemeente, "gemeente", 2023).set_index("region_code")
    sums = gdf.assign(area=gdf.geometry.area).groupby("gemeente_code")["area"].sum()
    assert np.allclose(sums / gm.loc[sums.index].geometry.area, 1.0, rtol=1e-4)  # a tiling: no gaps, no overlaps
    for code in ("GM0153", "GM0200"):  # each piece inside its gemeente
        pieces = gdf[gdf["gemeente_code"] == code]
        assert pieces.geometry.buffer(-1).within(gm.loc[code, "geometry"]).all()

    raw = json.loads(wijk.read_text(encoding="utf-8"))
    assert raw["name"].startswith(SYNTHETIC_PREFIX)
    assert all(f["properties"]["synthetisch"] is True for f in raw["features"])
    assert "VERZONNEN" in (root / "boundaries" / "SYNTHETISCH.txt").read_text(encoding="utf-8")


def test_synthetic_wijk_boundaries_are_deterministic(boundaries, tmp_path: Path, region_list: pd.DataFrame) -> None:
    _, gemeente, wijk = boundaries
    again = synthetic_wijk_boundaries(tmp_path, gemeente, region_list, district_gemeenten("RE02"), 2023)
    assert again.read_bytes() == wijk.read_bytes()
    with pytest.raises(ValueError, match="GM9999"):
        synthetic_wijk_boundaries(tmp_path, gemeente, region_list, ["GM9999"], 2023)
