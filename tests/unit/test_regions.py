"""Districts, gemeente lineage and region checks, against the real files in ../shared."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from veiligheidsbeeld import regions as R
from veiligheidsbeeld.config import AreaSettings
from veiligheidsbeeld.errors import ConfigError, SchemaDriftError
from veiligheidsbeeld.sources.odata import SnapshotSource

ON_DISTRICTS = {
    "VR04": ("IJsselland", 11),
    "VR05": ("Twente", 14),
    "VR06": ("Noord- en Oost-Gelderland", 22),
    "VR07": ("Gelderland-Midden", 15),
    "VR08": ("Gelderland-Zuid", 14),
}
#: Every regionale eenheid covers whole veiligheidsregio's (Politiewet 2012); used to give the
#: test snapshot of "Gebieden in Nederland" its police-unit columns.
VR_TO_RE = {
    **{f"VR{n:02d}": "RE01" for n in (1, 2, 3)},
    **{f"VR{n:02d}": "RE02" for n in (4, 5, 6, 7, 8)},
    **{f"VR{n:02d}": "RE03" for n in (9, 14, 25)},
    **{f"VR{n:02d}": "RE04" for n in (10, 11, 12)},
    "VR13": "RE05",
    **{f"VR{n:02d}": "RE06" for n in (15, 16)},
    **{f"VR{n:02d}": "RE07" for n in (17, 18)},
    **{f"VR{n:02d}": "RE08" for n in (19, 20)},
    **{f"VR{n:02d}": "RE09" for n in (21, 22)},
    **{f"VR{n:02d}": "RE10" for n in (23, 24)},
}


# --------------------------------------------------------------------------------------------
# Real shared files
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def geo(shared_dir: Path) -> Path:
    return shared_dir / "data" / "geo"


@pytest.fixture(scope="module")
def mapping_2020(geo: Path) -> pd.DataFrame:
    rows = json.loads((geo / "gemeente_veiligheidsregio.json").read_text(encoding="utf-8"))
    return pd.DataFrame(rows).rename(columns={"gemcode": "gemeente_code", "safetyRegion": "district_code", "name": "naam"})


@pytest.fixture(scope="module")
def gemeenten_2015(geo: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(geo / "gemeente_2015.topojson").set_crs(4326).to_crs(28992)


@pytest.fixture(scope="module")
def gemeenten_2023(geo: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(geo / "gemeente_2023.topojson").set_crs(4326).to_crs(28992)


@pytest.fixture(scope="module")
def region_list(shared_dir: Path) -> pd.DataFrame:
    """The real region dimension of 47022NED (2023 layout), keys trimmed."""
    frame = pd.read_csv(shared_dir / "data" / "politie" / "47022NED_WijkenEnBuurten.csv", dtype=str, keep_default_na=False)
    frame["code"] = frame["Key"].str.strip()
    return frame


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return R.load_district_table()


# --------------------------------------------------------------------------------------------
# The district table
# --------------------------------------------------------------------------------------------


def test_reference_table_has_76_gemeenten_in_five_districts(table: pd.DataFrame) -> None:
    assert len(table) == 76
    assert set(table["eenheid_code"]) == {"RE02"}
    sizes = table.groupby(["district_code", "district_naam"]).size()
    assert {code: (naam, n) for (code, naam), n in sizes.items()} == ON_DISTRICTS


def test_reference_table_agrees_with_real_2020_mapping(table: pd.DataFrame, mapping_2020: pd.DataFrame, gemeenten_2023) -> None:
    codes_2023 = set(gemeenten_2023["statcode"])
    # The 2020 mapping is one layout behind: it lacks the 5 gemeenten formed since and still has
    # 18 codes merged away since -- none of them in Oost-Nederland.
    newer = codes_2023 - set(mapping_2020["gemeente_code"])
    merged_away = set(mapping_2020["gemeente_code"]) - codes_2023
    assert len(mapping_2020) == 355
    assert newer == {"GM1979", "GM1980", "GM1982", "GM1991", "GM1992"}
    assert len(merged_away) == 18
    on = mapping_2020[mapping_2020["district_code"].isin(list(ON_DISTRICTS))]
    assert not (set(on["gemeente_code"]) & (merged_away | newer))
    assert dict(zip(on["gemeente_code"], on["district_code"])) == dict(zip(table["gemeente_code"], table["district_code"]))
    # Names agree too, apart from how the 2020 source spells Hengelo.
    names = dict(zip(on["gemeente_code"], on["naam"]))
    differ = {c for c, n in zip(table["gemeente_code"], table["gemeente_naam"]) if names[c] != n}
    assert differ == {"GM0164"} and names["GM0164"] == "Hengelo (O.)"


def test_every_change_since_2020_is_in_the_lineage(mapping_2020: pd.DataFrame, gemeenten_2023) -> None:
    lineage = R.load_lineage()
    codes_2023 = set(gemeenten_2023["statcode"])
    merged_away = set(mapping_2020["gemeente_code"]) - codes_2023
    rows = lineage.set_index("old_code")
    assert merged_away <= set(rows.index)
    assert set(rows.loc[sorted(merged_away), "layout_year"]) <= {2021, 2022, 2023}
    assert {R.successor(c, 2023, lineage) for c in merged_away} <= codes_2023
    created = set(lineage.loc[lineage["new_code_created"] & lineage["layout_year"].between(2021, 2023), "new_code"])
    assert created == {"GM1979", "GM1980", "GM1982", "GM1991", "GM1992"}


def test_reference_names_match_the_2023_region_list(table: pd.DataFrame, region_list: pd.DataFrame) -> None:
    titles = dict(zip(region_list["code"], region_list["Title"]))
    assert {c: titles[c] for c in table["gemeente_code"]} == dict(zip(table["gemeente_code"], table["gemeente_naam"]))


def test_resolve_district_by_code_or_name(table: pd.DataFrame) -> None:
    for given in ("VR05", "vr5", "5", "Twente", "twente", " TWENTE "):
        assert R.resolve_district(given, table).code == "VR05"
    district = R.resolve_district("noord en oost gelderland", table)
    assert district.code == "VR06" and len(district.gemeenten) == 22
    assert "GM0200" in district.gemeente_codes


def test_unknown_district_lists_the_valid_ones(table: pd.DataFrame) -> None:
    with pytest.raises(ConfigError) as err:
        R.resolve_district("Utrecht", table)
    message = str(err.value)
    assert "Onbekend district 'Utrecht'" in message
    for code, (naam, _) in ON_DISTRICTS.items():
        assert f"{code} {naam}" in message


def test_resolve_gemeente_by_code_or_name(table: pd.DataFrame) -> None:
    for given in ("GM0153", "gm153", "153", "0153", "Enschede", "enschede"):
        gemeente = R.resolve_gemeente(given, table)
        assert (gemeente.code, gemeente.district_code) == ("GM0153", "VR05")
    assert R.resolve_gemeente("Hengelo", table).code == "GM0164"
    assert R.resolve_gemeente("berg en dal", table).district_naam == "Gelderland-Zuid"


def test_unknown_gemeente_lists_the_valid_ones(table: pd.DataFrame) -> None:
    with pytest.raises(ConfigError) as err:
        R.resolve_gemeente("Amsterdam", table)
    message = str(err.value)
    assert "Onbekende gemeente 'Amsterdam'" in message
    assert "Enschede (GM0153)" in message and "Zevenaar (GM0299)" in message
    assert message.count("(GM") == 76
    # An old code says where the gemeente went.
    with pytest.raises(ConfigError, match=r"Rijnwaarden \(GM0196\) bestaat niet meer.*Zevenaar \(GM0299\)"):
        R.resolve_gemeente("GM0196", table)


def test_another_eenheid_by_configuration_only(tmp_path: Path, mapping_2020: pd.DataFrame) -> None:
    # A small district table for RE01 Noord-Nederland, written here (nothing ships for RE01).
    names = {"VR01": "Groningen", "VR02": "Fryslân", "VR03": "Drenthe"}
    picked = mapping_2020[mapping_2020["gemeente_code"].isin(["GM0014", "GM0080", "GM0106", "GM0114", "GM1900"])]
    path = tmp_path / "districts_RE01.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(R.DISTRICT_COLUMNS)
        for r in picked.itertuples():
            writer.writerow([r.gemeente_code, r.naam, r.district_code, names[r.district_code], "RE01", "Noord-Nederland"])
    area = AreaSettings(eenheid_code="RE01", eenheid_naam="Noord-Nederland", district_table=str(path))
    table = R.load_district_table(area)
    assert len(table) == 5 and set(table["district_code"]) == {"VR01", "VR02", "VR03"}
    assert R.resolve_district("fryslan", table).gemeente_codes == ("GM0080", "GM1900")
    assert R.resolve_gemeente("Assen", table).district_naam == "Drenthe"
    text = R.regions_overview(area).to_text()
    assert "Regionale eenheid RE01 Noord-Nederland" in text and "3 districten, 5 gemeenten" in text

    with pytest.raises(ConfigError, match=r"geen districtentabel meegeleverd voor eenheid RE01.*district_table"):
        R.load_district_table(AreaSettings(eenheid_code="RE01", eenheid_naam="Noord-Nederland"))
    with pytest.raises(ConfigError, match=r"hoort bij eenheid RE01, niet bij de ingestelde eenheid RE02"):
        R.load_district_table(AreaSettings(district_table=str(path)))


def test_district_table_validation(tmp_path: Path, table: pd.DataFrame) -> None:
    bad = table.drop(columns=["district_naam"])
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(ConfigError, match="mist de kolom"):
        R.load_district_table(AreaSettings(district_table=str(path)))
    dup = pd.concat([table, table.head(1)])
    dup.to_csv(path, index=False)
    with pytest.raises(ConfigError, match=r"GM\d{4} staan in meer dan één rij"):
        R.load_district_table(AreaSettings(district_table=str(path)))
    with pytest.raises(ConfigError, match="bestaat niet"):
        R.load_district_table(AreaSettings(district_table=str(tmp_path / "nope.csv")))


# --------------------------------------------------------------------------------------------
# Derivation from "Gebieden in Nederland"
# --------------------------------------------------------------------------------------------


def _pad(value: str, width: int) -> str:
    return value.ljust(width)


def write_gebieden_snapshot(
    root: Path, year: int, mapping: pd.DataFrame, region_list: pd.DataFrame, vr_names: dict[str, str],
    re_names: dict[str, str], first_key: int,
) -> None:
    """A "Gebieden in Nederland"-shaped snapshot: real gemeente -> veiligheidsregio mapping (2020),
    real names; column keys numbered from ``first_key`` (they move between years)."""
    table_id = R.GEBIEDEN_IN_NEDERLAND[year]
    directory = root / table_id
    directory.mkdir(parents=True)
    k = first_key
    props = [
        {"ID": 0, "Position": "0", "ParentID": None, "Type": "GeoDimension", "Key": "RegioS", "Title": "Regio's"},
        {"ID": 1, "Position": "1", "ParentID": None, "Type": "TopicGroup", "Key": "", "Title": "Codes en namen van gemeenten"},
        {"ID": 2, "Position": "2", "ParentID": 1, "Type": "Topic", "Key": "Code_1", "Title": "Code"},
        {"ID": 3, "Position": "3", "ParentID": 1, "Type": "Topic", "Key": "Naam_2", "Title": "Naam"},
        {"ID": 4, "Position": "4", "ParentID": None, "Type": "TopicGroup", "Key": "", "Title": "Lokaliseringen van gemeenten"},
        {"ID": 5, "Position": "5", "ParentID": 4, "Type": "TopicGroup", "Key": "", "Title": "COROP-gebieden"},
        {"ID": 6, "Position": "6", "ParentID": 5, "Type": "Topic", "Key": f"Code_{k}", "Title": "Code"},
        {"ID": 7, "Position": "7", "ParentID": 5, "Type": "Topic", "Key": f"Naam_{k + 1}", "Title": "Naam"},
        {"ID": 8, "Position": "8", "ParentID": 4, "Type": "TopicGroup", "Key": "", "Title": "Politie Regionale eenheden"},
        {"ID": 9, "Position": "9", "ParentID": 8, "Type": "Topic", "Key": f"Code_{k + 2}", "Title": "Code"},
        {"ID": 10, "Position": "10", "ParentID": 8, "Type": "Topic", "Key": f"Naam_{k + 3}", "Title": "Naam"},
        {"ID": 11, "Position": "11", "ParentID": 4, "Type": "TopicGroup", "Key": "", "Title": "Veiligheidsregio's"},
        {"ID": 12, "Position": "12", "ParentID": 11, "Type": "Topic", "Key": f"Code_{k + 4}", "Title": "Code"},
        {"ID": 13, "Position": "13", "ParentID": 11, "Type": "Topic", "Key": f"Naam_{k + 5}", "Title": "Naam"},
    ]
    titles = dict(zip(region_list["code"], region_list["Title"]))
    rows = []
    for i, r in enumerate(mapping.itertuples()):
        re_code = VR_TO_RE[r.district_code]
        rows.append(
            {
                "ID": i,
                "RegioS": r.gemeente_code,
                "Code_1": _pad(r.gemeente_code, 10),
                "Naam_2": _pad(titles.get(r.gemeente_code, r.naam), 50),
                f"Code_{k}": _pad("CR00", 10),
                f"Naam_{k + 1}": _pad("(niet gebruikt)", 50),
                f"Code_{k + 2}": _pad(re_code, 10),
                f"Naam_{k + 3}": _pad(re_names[re_code], 50),
                f"Code_{k + 4}": _pad(r.district_code, 10),
                f"Naam_{k + 5}": _pad(vr_names[r.district_code], 50),
            }
        )
    infos = [{"ID": 0, "Identifier": table_id, "Title": f"Gebieden in Nederland {year} (testsnapshot)", "Modified": f"{year}-03-01T02:00:00"}]
    for name, data in (("TableInfos", infos), ("DataProperties", props), ("TypedDataSet", rows)):
        (directory / f"{name}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


@pytest.fixture(scope="module")
def gebieden_root(tmp_path_factory, mapping_2020, region_list, geo, shared_dir) -> Path:
    vr = gpd.read_file(geo / "veiligheidsregio_2023.topojson")
    vr_names = dict(zip(vr["statcode"], vr["statnaam"]))
    regios = pd.read_csv(shared_dir / "data" / "politie" / "47025NED_RegioS.csv", dtype=str, keep_default_na=False)
    re_names = {k.strip(): t.removesuffix(" (RE)") for k, t in zip(regios["Key"], regios["Title"]) if k.startswith("RE")}
    root = tmp_path_factory.mktemp("gebieden")
    write_gebieden_snapshot(root, 2023, mapping_2020, region_list, vr_names, re_names, first_key=38)
    write_gebieden_snapshot(root, 2020, mapping_2020, region_list, vr_names, re_names, first_key=22)
    return root


def test_derived_districts_agree_with_reference(gebieden_root: Path, table: pd.DataFrame) -> None:
    source = SnapshotSource(gebieden_root)
    for year in (2023, 2020):  # different column keys, resolved by title
        derived = R.derive_districts_from_gebieden(source, year, "RE02")
        assert len(derived) == 76
        assert set(derived["eenheid_naam"]) == {"Oost-Nederland"}
        findings = R.compare_district_tables(table, derived)
        assert [f for f in findings if f.severity == "fout"] == []
        assert derived.equals(table)
    other = R.derive_districts_from_gebieden(source, 2023, "RE01")
    assert set(other["district_code"]) == {"VR01", "VR02", "VR03"}


def test_comparison_reports_differences(table: pd.DataFrame) -> None:
    other = table.copy()
    other.loc[other["gemeente_code"] == "GM0153", "district_code"] = "VR04"
    other = other[other["gemeente_code"] != "GM0193"]
    kinds = {(f.kind, f.code) for f in R.compare_district_tables(table, other)}
    assert kinds == {("ander_district", "GM0153"), ("ontbreekt", "GM0193")}


def test_gebieden_schema_drift_names_table_and_column(tmp_path: Path, gebieden_root: Path) -> None:
    src = gebieden_root / "85385NED"
    dst = tmp_path / "85385NED"
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    props = json.loads((dst / "DataProperties.json").read_text(encoding="utf-8"))
    props = [p for p in props if p.get("Title") != "Politie Regionale eenheden" and p.get("ParentID") != 8]
    (dst / "DataProperties.json").write_text(json.dumps(props), encoding="utf-8")
    with pytest.raises(SchemaDriftError, match=r"85385NED.*'Code'.*politie"):
        R.derive_districts_from_gebieden(SnapshotSource(tmp_path), 2023, "RE02")
    with pytest.raises(ConfigError, match="Bekende jaren"):
        R.gebieden_table_id(1999)


# --------------------------------------------------------------------------------------------
# Lineage
# --------------------------------------------------------------------------------------------


def test_lineage_explains_every_change_between_the_2015_and_2023_boundaries(gemeenten_2015, gemeenten_2023) -> None:
    lineage = R.load_lineage()
    g15 = gemeenten_2015.set_index("statcode")
    g23 = gemeenten_2023.set_index("statcode")
    gone = sorted(set(g15.index) - set(g23.index))
    new = set(g23.index) - set(g15.index)
    assert len(gone) == 72 and len(new) == 21
    created = set(lineage.loc[lineage["new_code_created"] & (lineage["layout_year"] > 2015), "new_code"])
    assert new == created
    g23_valid = g23.geometry.make_valid()
    for code in gone:
        target = R.successor(code, 2023, lineage)
        assert target in g23.index, code
        # The successor is the 2023 gemeente that holds the largest part of the 2015 area.
        shape = g15.geometry[code].buffer(0)
        overlap = g23_valid.intersection(shape).area
        assert overlap.idxmax() == target, (code, target, overlap.idxmax())


def test_lineage_before_2015_fits_the_2015_layout(gemeenten_2015) -> None:
    lineage = R.load_lineage()
    codes_2015 = set(gemeenten_2015["statcode"])
    early = lineage[lineage["layout_year"] <= 2015]
    assert len(early) == 18
    assert not (set(early["old_code"]) & codes_2015)
    assert {R.successor(c, 2015, lineage) for c in early["old_code"]} <= codes_2015


def test_oost_nederland_had_79_gemeenten_in_the_2015_layout(table, gemeenten_2015, geo: Path) -> None:
    old = R.district_table_in_layout(table, 2015)
    assert len(old) == 79 and old["gemeente_code"].is_unique
    assert set(old["gemeente_code"]) <= set(gemeenten_2015["statcode"])
    changed = old[old["gemeente_code"] != old["current_code"]]
    assert sorted(zip(changed["gemeente_code"], changed["current_code"])) == [
        ("GM0196", "GM0299"),
        ("GM0236", "GM1960"),
        ("GM0241", "GM1945"),
        ("GM0304", "GM1960"),
        ("GM0733", "GM1960"),
    ]
    # The same 79 are exactly the 2015 gemeenten inside today's five veiligheidsregio's.
    vr = gpd.read_file(geo / "veiligheidsregio_2023.topojson").set_crs(4326).to_crs(28992)
    area = vr[vr["statcode"].isin(list(ON_DISTRICTS))].geometry.make_valid().union_all()
    inside = gemeenten_2015[gemeenten_2015.geometry.representative_point().within(area)]
    assert set(inside["statcode"]) == set(old["gemeente_code"])


def test_predecessors_and_successors() -> None:
    assert R.predecessors("GM1945", 2015) == ["GM0241"]
    assert R.predecessors("GM1945", 2014) == ["GM0241", "GM0265", "GM0282"]
    assert R.predecessors("GM1960", 2018) == ["GM0236", "GM0304", "GM0733"]
    assert R.predecessors("GM0299", 2017) == ["GM0196", "GM0299"]
    assert R.predecessors("GM0153", 2013) == ["GM0153"]
    assert R.successor("GM0265", 2014) == "GM0265"
    assert R.successor("GM0265", 2015) == "GM0241"
    assert R.successor("GM0265", 2016) == "GM1945"
    assert R.successor("GM0733", 2023) == "GM1960"


def test_map_to_layout_sums_merged_gemeenten() -> None:
    frame = pd.DataFrame(
        {
            "gemeente": ["GM0236", "GM0733", "GM0304", "GM0196", "GM0299", "GM0241", "GM0153", "GM0282", "NL00"],
            "naam": ["Geldermalsen", "Lingewaal", "Neerijnen", "Rijnwaarden", "Zevenaar", "Groesbeek", "Enschede", "Ubbergen", "Nederland"],
            "year": [2017] * 9,
            "count": [10.0, 5.0, np.nan, 3.0, 7.0, 4.0, 1.0, np.nan, 100.0],
        }
    )
    out = R.map_to_layout(frame, "gemeente", 2023, value_cols=["count"], name_col="naam").set_index("gemeente")
    assert out.loc["GM1960", "count"] == 15.0  # a missing part is skipped, not counted as 0
    assert out.loc["GM1960", "naam"] == "West Betuwe"
    assert out.loc["GM0299", "count"] == 10.0
    assert out.loc["GM1945", "count"] == 4.0
    assert out.loc["NL00", "count"] == 100.0
    assert len(out) == 5
    # All parts missing: the sum stays missing.
    only_missing = R.map_to_layout(frame[frame["gemeente"] == "GM0282"], "gemeente", 2023, value_cols=["count"])
    assert only_missing["gemeente"].tolist() == ["GM1945"] and np.isnan(only_missing["count"].iloc[0])
    # Sums are preserved overall.
    assert out["count"].sum() == np.nansum(frame["count"])


def test_map_to_layout_reports_splits_and_codes_too_new() -> None:
    frame = pd.DataFrame({"gemeente": ["GM0788", "GM1960"], "count": [3, 4]})
    to_2023 = R.map_to_layout(frame, "gemeente", 2023)
    assert to_2023["gemeente"].tolist() == ["GM0865", "GM1960"]
    assert any("Haaren (GM0788) is opgesplitst" in f for f in to_2023.attrs["lineage_findings"])
    to_2015 = R.map_to_layout(frame, "gemeente", 2015)
    assert to_2015["gemeente"].tolist() == ["GM0788", "GM1960"]
    assert any("GM1960 bestaan pas na de indeling van 2015" in f for f in to_2015.attrs["lineage_findings"])


# --------------------------------------------------------------------------------------------
# Checks against the police data
# --------------------------------------------------------------------------------------------


def _codes_of(region_list: pd.DataFrame, gemeenten: set[str]) -> list[str]:
    municipality = region_list["Municipality"].str.strip()
    return region_list.loc[municipality.isin(gemeenten) | region_list["code"].isin(gemeenten), "Key"].tolist()


def test_region_check_on_the_real_region_list(table: pd.DataFrame, region_list: pd.DataFrame) -> None:
    gemeenten = set(table["gemeente_code"])
    codes = _codes_of(region_list, gemeenten) + ["NL00      ", "GM0000    "]
    assert len(codes) > 3000  # gemeenten, wijken and buurten of the eenheid, padded as served
    findings = R.check_regions_against_data(table, codes)
    assert [(f.severity, f.kind) for f in findings] == [("info", "gemeente_onbekend")]

    without_enschede = [c for c in codes if R.gemeente_of_region(c.strip()) != "GM0153"]
    extra = without_enschede + ["GM0363", "WK036300", "GM0196"]
    findings = {(f.severity, f.kind, f.code): f.message for f in R.check_regions_against_data(table, extra)}
    assert ("fout", "geen_gegevens", "GM0153") in findings
    assert "Enschede (GM0153, district Twente)" in findings[("fout", "geen_gegevens", "GM0153")]
    assert ("fout", "niet_ingedeeld", "GM0363") in findings
    assert "2 regiocode(s)" in findings[("fout", "niet_ingedeeld", "GM0363")]
    assert "opgegaan in Zevenaar (GM0299" in findings[("waarschuwing", "oude_code", "GM0196")]


def test_overview_text_for_the_cli(table: pd.DataFrame, region_list: pd.DataFrame) -> None:
    overview = R.regions_overview(AreaSettings(), ["GM0153", "GM0363"], table=table)
    assert overview.n_gemeenten == 76 and len(overview.districts) == 5
    text = overview.to_text()
    assert text.startswith("Regionale eenheid RE02 Oost-Nederland — gemeentelijke indeling 2023")
    assert "5 districten, 76 gemeenten" in text
    assert "VR05 Twente (14 gemeenten)" in text and "  GM0153  Enschede" in text
    assert "[fout] Gemeente GM0363 staat in de politiegegevens" in text
    assert "niet vergeleken" not in text.lower()
    plain = R.regions_overview_text()
    assert "Niet vergeleken met de politiegegevens" in plain


def test_gemeente_of_a_region_code():
    from veiligheidsbeeld.regions import gemeente_of

    assert gemeente_of("BU01530001") == "GM0153"
    assert gemeente_of("WK015300  ") == "GM0153"  # padded as served
    assert gemeente_of("GM0153") == "GM0153"
    assert gemeente_of("BU01530001", "GM1234") == "GM1234"  # the region list's own answer wins
    assert gemeente_of("NL00") is None
