"""The synthetic snapshot builder: real NL00 figures unchanged, consistent roll-ups, suppressed
cells as null, determinism, gaps, labels, and the revised (later) version for incremental tests."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from veiligheidsbeeld.sources.odata import RowFilter, SnapshotSource
from veiligheidsbeeld.testing.synthetic import (
    NATIONAL_KEY,
    SYNTHETIC_PREFIX,
    build_police_snapshot,
    build_revised_snapshot,
    district_gemeenten,
    find_shared_dir,
    main,
)

OVERLAST = "47024NED"
MISDRIJVEN = "47022NED"
GEMEENTEN = ("GM1773", "GM0177")
MISDRIJF_CODES = ("0.0.0", "1.1.1", "1.4.6")


def typed_frame(root: Path, table: str) -> pd.DataFrame:
    rows = json.loads((root / table / "TypedDataSet.json").read_text(encoding="utf-8"))
    df = pd.DataFrame(rows)
    df["value"] = df.iloc[:, -1].astype("Int64")
    return df


def entity(root: Path, table: str, name: str) -> list[dict]:
    return json.loads((root / table / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory, shared_dir) -> Path:
    # Two whole years with the real year rows, a gap, and enough suppression to see it.
    root = tmp_path_factory.mktemp("synthetic")
    build_police_snapshot(
        root, shared_dir=shared_dir, gemeenten=GEMEENTEN, start="2012-01", end="2013-12",
        codes={MISDRIJVEN: MISDRIJF_CODES}, missing_months=["2013-06"], suppress_share=0.05,
    )
    return root


@pytest.fixture(scope="module")
def overlast(snapshot) -> pd.DataFrame:
    return typed_frame(snapshot, OVERLAST)


def politie(shared_dir: Path) -> Path:
    return shared_dir / "data" / "politie"


def test_real_national_overlast_including_the_yearly_row_trap(overlast, shared_dir):
    nl = overlast[overlast["WijkenEnBuurten"] == NATIONAL_KEY].set_index(["Overlast", "Perioden"])["value"]
    assert nl[("0.0.0 ", "2013JJ00")] == 291_796
    assert sum(nl[("0.0.0 ", f"2013MM{m:02d}")] for m in range(1, 13)) == 291_796
    # The year row is not read as a second January.
    assert nl[("0.0.0 ", "2013MM01")] == 21_557
    # Every real monthly value appears unchanged (titles mapped back to padded codes).
    codes = {r["Title"]: r["Key"] for r in csv.DictReader(open(politie(shared_dir) / "47024NED_Overlast.csv", encoding="utf-8"))}
    with open(politie(shared_dir) / "NL_overlast_per_maand_2012_2023.csv", encoding="utf-8") as fh:
        monthly = list(csv.DictReader(fh))
    seen: set[tuple[str, str]] = set()
    for row in monthly:
        if not row["date"].startswith(("2012", "2013")):
            continue
        year, month = row["date"][:4], row["date"][5:7]
        period = f"{year}MM{month}"
        if (row["crime_type_code"], period) in seen:
            period = f"{year}JJ00"  # the 13th row of a code and year
        seen.add((row["crime_type_code"], period))
        assert nl[(codes[row["crime_type_code"]], period)] == int(row["frequency"]), (row, period)
    # The published year rows match the yearly table too.
    with open(politie(shared_dir) / "NL_overlast_per_jaar_2012_2023.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["year"] in ("2012", "2013"):
                assert nl[(codes[row["incident_type_code"]], f"{row['year']}JJ00")] == int(row["incident_count"])


def test_real_national_misdrijven_and_year_row_is_sum_of_months(snapshot, shared_dir):
    df = typed_frame(snapshot, MISDRIJVEN)
    nl = df[df["WijkenEnBuurten"] == NATIONAL_KEY].set_index(["SoortMisdrijf", "Perioden"])["value"]
    with open(politie(shared_dir) / "NL_misdrijven_per_maand_2012_2023.csv", encoding="utf-8") as fh:
        real = {(r["crime_type_code"], r["date"][:7]): int(r["frequency"]) for r in csv.DictReader(fh)}
    assert nl[("0.0.0 ", "2012MM01")] == real[("Totaal misdrijven", "2012-01")] == 101_791
    assert nl[("1.1.1 ", "2013MM11")] == real[("1.1.1 Diefstal/inbraak woning", "2013-11")]
    for code in ("0.0.0 ", "1.1.1 ", "1.4.6 "):
        assert nl[(code, "2013JJ00")] == sum(nl[(code, f"2013MM{m:02d}")] for m in range(1, 13))
    # Only the requested codes, padded as served.
    assert sorted(df["SoortMisdrijf"].unique()) == ["0.0.0 ", "1.1.1 ", "1.4.6 "]
    # The code list stays complete (as cbsodata.download_data writes it for filtered data).
    assert len(entity(snapshot, MISDRIJVEN, "SoortMisdrijf")) == 59  # every row of the real code list


def test_rollups_equal_the_sum_of_their_parts(overlast):
    months = overlast[overlast["Perioden"].str.contains("MM")]
    cell = months.set_index(["WijkenEnBuurten", "Overlast", "Perioden"])["value"]
    regions = overlast["WijkenEnBuurten"].unique()
    gms = [r for r in regions if r.startswith("GM")]
    wks = [r for r in regions if r.startswith("WK")]
    bus = [r for r in regions if r.startswith("BU")]
    assert len(gms) == 2 and wks and bus
    for gm in gms:
        own_wk = [w for w in wks if w[2:6] == gm[2:6]]
        by_wk = months[months["WijkenEnBuurten"].isin(own_wk)].groupby(["Overlast", "Perioden"])["value"].sum()
        gm_rows = months[months["WijkenEnBuurten"] == gm].set_index(["Overlast", "Perioden"])["value"]
        pd.testing.assert_series_equal(gm_rows.sort_index(), by_wk.sort_index(), check_names=False)
    # A wijk is the sum of its buurten wherever none of them is suppressed.
    checked = 0
    for wk in wks[:6]:
        parts = months[months["WijkenEnBuurten"].str.startswith("BU" + wk[2:8])]
        grouped = parts.groupby(["Overlast", "Perioden"])["value"]
        complete = grouped.count() == grouped.size()
        sums = grouped.sum()[complete]
        for key, total in sums.items():
            assert cell[(wk, *key)] == total
            checked += 1
    assert checked > 100
    # 0.0.0 is the sum of the other codes (all overlast codes are present), NL00 excepted.
    local = months[months["WijkenEnBuurten"] != NATIONAL_KEY]
    parts = local[local["Overlast"] != "0.0.0 "].groupby(["WijkenEnBuurten", "Perioden"])["value"]
    full = parts.count() == parts.size()
    totals = local[local["Overlast"] == "0.0.0 "].set_index(["WijkenEnBuurten", "Perioden"])["value"]
    both = pd.concat([parts.sum()[full].rename("parts"), totals.rename("total")], axis=1, join="inner").dropna()
    assert len(both) > 1000 and (both["parts"] == both["total"]).all()


def test_suppressed_cells_are_null_not_zero_and_only_in_buurten(overlast):
    nulls = overlast[overlast["value"].isna()]
    assert len(nulls) > 0
    assert nulls["WijkenEnBuurten"].str.startswith("BU").all()
    buurt_months = overlast[overlast["WijkenEnBuurten"].str.startswith("BU") & overlast["Perioden"].str.contains("MM")]
    assert 0.03 < buurt_months["value"].isna().mean() < 0.07  # suppress_share=0.05
    assert (overlast["value"].dropna() >= 0).all() and (overlast["value"] == 0).any()
    # A year row is null when one of its months is, else the sum of its months.
    bu = overlast[overlast["WijkenEnBuurten"].str.startswith("BU") & overlast["Perioden"].str.startswith("2012")]
    months = bu[bu["Perioden"] != "2012JJ00"].groupby(["WijkenEnBuurten", "Overlast"])["value"]
    year = bu[bu["Perioden"] == "2012JJ00"].set_index(["WijkenEnBuurten", "Overlast"])["value"]
    any_null = months.count() < months.size()
    assert year[any_null[any_null].index].isna().all()
    complete = any_null[~any_null].index
    assert (year[complete] == months.sum()[complete]).all()


def test_missing_month_is_a_gap_except_for_nl00(snapshot, overlast):
    june = overlast[overlast["Perioden"] == "2013MM06"]
    assert set(june["WijkenEnBuurten"]) == {NATIONAL_KEY}
    assert "2013MM06" in [p["Key"] for p in entity(snapshot, OVERLAST, "Perioden")]
    # The year row of the gap year sums the months that are there.
    gm = overlast[(overlast["WijkenEnBuurten"] == "GM0177    ") & (overlast["Overlast"] == "0.0.0 ")]
    by_period = gm.set_index("Perioden")["value"]
    assert by_period["2013JJ00"] == by_period[[f"2013MM{m:02d}" for m in range(1, 13) if m != 6]].sum()


def test_layout_keys_and_labels(snapshot, overlast):
    assert (overlast["WijkenEnBuurten"].str.len() == 10).all() and (overlast["Overlast"].str.len() == 6).all()
    assert list(overlast.columns[:5]) == ["ID", "Overlast", "WijkenEnBuurten", "Perioden", "GeregistreerdeOverlast_1"]
    assert overlast["ID"].tolist() == list(range(len(overlast)))
    info = entity(snapshot, OVERLAST, "TableInfos")
    assert len(info) == 1 and info[0]["Title"].startswith(SYNTHETIC_PREFIX)
    assert "synthetisch" in info[0]["Summary"].lower() and "NL00" in info[0]["Summary"]
    assert info[0]["Identifier"] == OVERLAST and info[0]["Catalog"] == "Politie" and info[0]["RecordCount"] == len(overlast)
    assert "SYNTHETIC" in (snapshot / OVERLAST / "SYNTHETISCH.txt").read_text(encoding="utf-8")
    props = {p["Key"]: p for p in entity(snapshot, OVERLAST, "DataProperties")}
    assert {k: p["Type"] for k, p in props.items()} == {
        "Overlast": "Dimension", "WijkenEnBuurten": "GeoDimension", "Perioden": "TimeDimension",
        "GeregistreerdeOverlast_1": "Topic"}
    assert props["GeregistreerdeOverlast_1"]["Unit"] == "aantal" and props["GeregistreerdeOverlast_1"]["Datatype"] == "Long"
    assert entity(snapshot, OVERLAST, "CategoryGroups") == []
    regions = entity(snapshot, OVERLAST, "WijkenEnBuurten")
    assert regions[0]["Key"] == NATIONAL_KEY
    assert {r["Municipality"] for r in regions[1:]} == set(GEMEENTEN)
    periods = {p["Key"]: p for p in entity(snapshot, OVERLAST, "Perioden")}
    assert periods["2013MM01"]["Title"] == "2013 januari" and periods["2012JJ00"]["Title"] == "2012"
    assert periods["2012MM12"]["Status"] == "Definitief" and periods["2013MM01"]["Status"] == "Voorlopig"
    # The project's own snapshot reader takes it as is.
    source = SnapshotSource(snapshot)
    rows = [r for page in source.iter_pages(OVERLAST, RowFilter({"WijkenEnBuurten": ("GM1773    ",)})) for r in page]
    assert len(rows) == 9 * (24 + 2 - 1)


def test_deterministic_and_independent_of_the_selection(tmp_path, shared_dir, snapshot):
    common = dict(shared_dir=shared_dir, tables=(OVERLAST,), start="2012-01", end="2013-12",
                  missing_months=["2013-06"], suppress_share=0.05)
    build_police_snapshot(tmp_path / "a", gemeenten=GEMEENTEN, **common)
    first = (snapshot / OVERLAST / "TypedDataSet.json").read_bytes()
    assert (tmp_path / "a" / OVERLAST / "TypedDataSet.json").read_bytes() == first
    build_police_snapshot(tmp_path / "b", gemeenten=GEMEENTEN, seed=1, **common)
    assert (tmp_path / "b" / OVERLAST / "TypedDataSet.json").read_bytes() != first
    # One gemeente alone gets exactly the figures it had among others.
    build_police_snapshot(tmp_path / "c", gemeenten=["GM1773"], **common)
    alone = typed_frame(tmp_path / "c", OVERLAST).drop(columns="ID").reset_index(drop=True)
    together = typed_frame(snapshot, OVERLAST)
    together = together[together["WijkenEnBuurten"].isin(set(alone["WijkenEnBuurten"]))]
    pd.testing.assert_frame_equal(alone, together.drop(columns="ID").reset_index(drop=True))


def test_revised_snapshot_adds_a_month_and_revises_only_recent_values(tmp_path, shared_dir):
    common = dict(shared_dir=shared_dir, gemeenten=["GM1773"], tables=(OVERLAST,), start="2023-01")
    build_police_snapshot(tmp_path / "v1", end="2023-12", **common)
    build_revised_snapshot(tmp_path / "v2", end="2023-12", revise_share=0.3, **common)
    old = typed_frame(tmp_path / "v1", OVERLAST).drop(columns="ID")
    new = typed_frame(tmp_path / "v2", OVERLAST).drop(columns="ID")
    assert entity(tmp_path / "v2", OVERLAST, "TableInfos")[0]["Modified"] > entity(tmp_path / "v1", OVERLAST, "TableInfos")[0]["Modified"]
    assert set(new["Perioden"]) - set(old["Perioden"]) == {"2024JJ00", "2024MM01"}
    key = ["Overlast", "WijkenEnBuurten", "Perioden"]
    both = old.merge(new, on=key, suffixes=("_old", "_new"))
    assert len(both) == len(old)
    changed = both[both["value_old"].fillna(-1) != both["value_new"].fillna(-1)]
    assert len(changed) > 0
    assert set(changed["Perioden"]) <= {"2023MM10", "2023MM11", "2023MM12", "2023JJ00"}
    assert (changed["value_new"] > changed["value_old"]).all()  # late registrations only add
    assert not changed["WijkenEnBuurten"].eq(NATIONAL_KEY).any()  # NL00 stays the real series
    status = {p["Key"]: p["Status"] for p in entity(tmp_path / "v2", OVERLAST, "Perioden")}
    assert status["2023MM01"] == "Definitief" and status["2023MM02"] == "Voorlopig"


def test_gemeente_rows_only_and_validation(tmp_path, shared_dir):
    build_police_snapshot(tmp_path, shared_dir=shared_dir, gemeenten=["GM0177"], tables=(OVERLAST,),
                          start="2023-11", end="2023-12", include_wijken_buurten=False, codes={OVERLAST: ["E33"]})
    df = typed_frame(tmp_path, OVERLAST)
    assert set(df["WijkenEnBuurten"]) == {NATIONAL_KEY, "GM0177    "} and set(df["Overlast"]) == {"E33   "}
    with pytest.raises(ValueError, match="GM9999"):
        build_police_snapshot(tmp_path, shared_dir=shared_dir, gemeenten=["GM9999"], tables=(OVERLAST,))
    with pytest.raises(ValueError, match="X99"):
        build_police_snapshot(tmp_path, shared_dir=shared_dir, gemeenten=["GM0177"], tables=(OVERLAST,),
                              codes={OVERLAST: ["X99"]})
    with pytest.raises(ValueError, match="2030-01"):
        build_police_snapshot(tmp_path, shared_dir=shared_dir, gemeenten=["GM0177"], tables=(OVERLAST,),
                              missing_months=["2030-01"])
    with pytest.raises(ValueError, match="47099NED"):
        build_police_snapshot(tmp_path, shared_dir=shared_dir, gemeenten=["GM0177"], tables=("47099NED",))


def test_shared_dir_and_districts(monkeypatch, tmp_path, shared_dir):
    monkeypatch.setenv("VEILIGHEIDSBEELD_SHARED", str(shared_dir))
    assert find_shared_dir() == shared_dir
    monkeypatch.setenv("VEILIGHEIDSBEELD_SHARED", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="VEILIGHEIDSBEELD_SHARED"):
        find_shared_dir()
    assert len(district_gemeenten()) == 76
    ijsselland = district_gemeenten("VR04")
    assert "GM1773" in ijsselland and "GM0177" in ijsselland and len(ijsselland) < 76
    with pytest.raises(ValueError):
        district_gemeenten("VR99")


def test_command_line(tmp_path, shared_dir):
    assert main([str(tmp_path), "--shared", str(shared_dir), "--gemeenten", "GM1773", "--tables", OVERLAST,
                 "--start", "2023-12", "--end", "2023-12"]) == 0
    assert (tmp_path / OVERLAST / "TypedDataSet.json").is_file()
    assert len(typed_frame(tmp_path, OVERLAST)) == 9 * (1 + 36) * 2
