"""CBS denominators through the OData source: resolution by title, filtering, provenance, raw store.

The snapshots are built here in the shape of the real tables (dimension keys, total keys and
column keys as CBS serves them; real gemeente, wijk and buurt codes from ../shared). Every
number in them is SYNTHETIC: invented deterministically from the codes, labelled as such in
the TableInfos of each snapshot.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from veiligheidsbeeld import regions as R
from veiligheidsbeeld.config import GeographySettings
from veiligheidsbeeld.errors import ConfigError, SchemaDriftError
from veiligheidsbeeld.sources import denominators as D
from veiligheidsbeeld.sources.odata import CbsApiSource, SnapshotSource

SYNTHETIC = "SYNTHETISCH: verzonnen testgetallen, geen CBS-cijfers"
YEARS = (2019, 2020, 2021, 2022, 2023)
MODIFIED = "2024-06-28T02:00:00"
SUPPRESSED = ("GM0148", 2021)  # one cell published as null


def synthetic_value(*parts: object) -> int:
    """A deterministic invented count (SYNTHETIC)."""
    return 1_000 + zlib.crc32("|".join(map(str, parts)).encode()) % 200_000


def _write(directory: Path, name: str, data: object) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def _infos(table_id: str, title: str, modified: str = MODIFIED) -> list[dict]:
    return [{"ID": 0, "Identifier": table_id, "Title": f"{title} ({SYNTHETIC})", "Modified": modified, "ShortDescription": SYNTHETIC}]


def write_population_snapshot(
    root: Path,
    gemeenten: list[tuple[str, str]],
    *,
    measure_key: str = "BevolkingOp1Januari_1",
    measure_title: str = "Bevolking op 1 januari",
    extra_dimension: bool = False,
    modified: str = MODIFIED,
    bump: int = 0,
) -> Path:
    """03759ned-shaped snapshot with SYNTHETIC values (total = sum over sexes + 17 for checks)."""
    directory = root / "03759ned"
    props = [
        {"ID": 0, "Position": "0", "ParentID": None, "Type": "Dimension", "Key": "Geslacht", "Title": "Geslacht"},
        {"ID": 1, "Position": "1", "ParentID": None, "Type": "Dimension", "Key": "Leeftijd", "Title": "Leeftijd"},
        {"ID": 2, "Position": "2", "ParentID": None, "Type": "Dimension", "Key": "BurgerlijkeStaat", "Title": "Burgerlijke staat"},
        {"ID": 3, "Position": "3", "ParentID": None, "Type": "GeoDimension", "Key": "RegioS", "Title": "Regio's"},
        {"ID": 4, "Position": "4", "ParentID": None, "Type": "TimeDimension", "Key": "Perioden", "Title": "Perioden"},
        {"ID": 5, "Position": "5", "ParentID": None, "Type": "Topic", "Key": measure_key, "Title": measure_title, "Unit": "aantal"},
        {"ID": 6, "Position": "6", "ParentID": None, "Type": "Topic", "Key": "GemiddeldeBevolking_2", "Title": "Gemiddelde bevolking", "Unit": "aantal"},
    ]
    if extra_dimension:
        props.insert(3, {"ID": 9, "Position": "3", "ParentID": None, "Type": "Dimension", "Key": "Herkomst", "Title": "Herkomst"})
    geslacht = [{"Key": "T001038", "Title": "Totaal mannen en vrouwen"}, {"Key": "3000   ", "Title": "Mannen"}, {"Key": "4000   ", "Title": "Vrouwen"}]
    leeftijd = [{"Key": "10000", "Title": "Totaal"}, {"Key": "70100", "Title": "0 jaar"}]
    staat = [{"Key": "T001019", "Title": "Totaal burgerlijke staat"}, {"Key": "1010   ", "Title": "Ongehuwd"}]
    regios = [{"Key": "NL01  ", "Title": "Nederland"}] + [{"Key": c, "Title": n} for c, n in gemeenten]
    perioden = [{"Key": f"{y}JJ00", "Title": str(y), "Status": "Voorlopig" if y == 2023 else "Definitief"} for y in YEARS]
    rows = []
    i = 0
    for g in geslacht:
        for l in leeftijd:
            for s in staat:
                for r in regios:
                    for p in perioden:
                        year = int(p["Key"][:4])
                        code = r["Key"].strip()
                        base = synthetic_value(code, year) + bump
                        total = g["Key"] == "T001038" and l["Key"] == "10000" and s["Key"] == "T001019"
                        value = base if total else synthetic_value(code, year, g["Key"], l["Key"], s["Key"]) % 997
                        if total and (code, year) == SUPPRESSED:
                            value = None
                        rows.append(
                            {
                                "ID": i, "Geslacht": g["Key"], "Leeftijd": l["Key"], "BurgerlijkeStaat": s["Key"],
                                "RegioS": r["Key"], "Perioden": p["Key"], measure_key: value,
                                "GemiddeldeBevolking_2": None if value is None else value + 17,
                            }
                        )
                        i += 1
    _write(directory, "TableInfos", _infos("03759ned", D.POPULATION.label, modified))
    _write(directory, "DataProperties", props)
    for name, data in (("Geslacht", geslacht), ("Leeftijd", leeftijd), ("BurgerlijkeStaat", staat), ("RegioS", regios), ("Perioden", perioden)):
        _write(directory, name, data)
    _write(directory, "TypedDataSet", rows)
    return root


@pytest.fixture(scope="module")
def on_gemeenten() -> list[tuple[str, str]]:
    table = R.load_district_table()
    return list(zip(table["gemeente_code"], table["gemeente_naam"]))


@pytest.fixture(scope="module")
def population_root(tmp_path_factory, on_gemeenten) -> Path:
    # Oost-Nederland plus two gemeenten elsewhere, which a pull for the eenheid must leave out.
    return write_population_snapshot(tmp_path_factory.mktemp("pop"), on_gemeenten + [("GM0363", "Amsterdam"), ("GM0014", "Groningen")])


def test_population_pull_keeps_only_totals_regions_and_years(population_root: Path, on_gemeenten) -> None:
    codes = [c for c, _ in on_gemeenten]
    pull = D.fetch_denominator_table(SnapshotSource(population_root), D.POPULATION, codes, [2020, 2021, 2023], fetched_at="2024-07-01T10:00:00+00:00")
    frame = pull.frame
    assert list(frame.columns) == list(D.FRAME_COLUMNS)
    assert set(frame["region_code"]) == set(codes)
    assert sorted(set(frame["year"])) == [2020, 2021, 2023]
    assert set(frame["measure"]) == {"inwoners", "inwoners_gemiddeld"}
    assert len(frame) == 76 * 3 * 2  # one row per gemeente, year and measure: only the totals
    inwoners = frame[frame["measure"] == "inwoners"].set_index(["region_code", "year"])["value"]
    assert inwoners[("GM0153", 2020)] == synthetic_value("GM0153", 2020)
    assert np.isnan(inwoners[SUPPRESSED])  # null stays missing, never 0
    gemiddeld = frame[frame["measure"] == "inwoners_gemiddeld"].set_index(["region_code", "year"])["value"]
    assert gemiddeld[("GM0153", 2020)] == synthetic_value("GM0153", 2020) + 17
    row = frame.iloc[0]
    assert (row["source_table"], row["vintage"], row["modified"]) == ("03759ned", "20240628T020000", MODIFIED)
    assert row["fetched_at"] == "2024-07-01T10:00:00+00:00" and "SYNTHETISCH" in row["table_title"]
    status = frame.drop_duplicates("year").set_index("year")["period_status"]
    assert status[2023] == "Voorlopig" and status[2020] == "Definitief"
    prov = pull.provenance
    assert prov["measures"] == {"inwoners": {"column": "BevolkingOp1Januari_1"}, "inwoners_gemiddeld": {"column": "GemiddeldeBevolking_2"}}
    assert prov["selections"] == {"Geslacht": "T001038", "Leeftijd": "10000", "BurgerlijkeStaat": "T001019"}
    assert prov["missing_values"] == 2


def test_measure_column_found_by_title_when_its_key_moves(tmp_path: Path, on_gemeenten) -> None:
    root = write_population_snapshot(tmp_path, on_gemeenten[:3], measure_key="BevolkingOp1Januari_7")
    frame = D.fetch_denominator_table(SnapshotSource(root), D.POPULATION, [on_gemeenten[0][0]], [2022]).frame
    assert frame.loc[frame["measure"] == "inwoners", "value"].tolist() == [synthetic_value(on_gemeenten[0][0], 2022)]


def test_missing_column_is_schema_drift_naming_table_and_column(tmp_path: Path, on_gemeenten) -> None:
    root = write_population_snapshot(tmp_path, on_gemeenten[:3], measure_title="Bevolking per 1 januari (nieuw)")
    with pytest.raises(SchemaDriftError, match=r"03759ned.*'Bevolking op 1 januari'.*'inwoners' ontbreekt"):
        D.fetch_denominator_table(SnapshotSource(root), D.POPULATION, ["GM0153"], [2022])


def test_unexpected_dimension_is_schema_drift(tmp_path: Path, on_gemeenten) -> None:
    root = write_population_snapshot(tmp_path, on_gemeenten[:3], extra_dimension=True)
    with pytest.raises(SchemaDriftError, match=r"03759ned.*onverwachte dimensie\(s\) Herkomst"):
        D.fetch_denominator_table(SnapshotSource(root), D.POPULATION, ["GM0153"], [2022])


def test_raw_store_is_atomic_and_newest_vintage_wins(tmp_path: Path, on_gemeenten) -> None:
    codes = [c for c, _ in on_gemeenten[:5]]
    old = write_population_snapshot(tmp_path / "v1", on_gemeenten[:5])
    new = write_population_snapshot(tmp_path / "v2", on_gemeenten[:5], modified="2025-03-01T02:00:00", bump=5)
    raw = tmp_path / "raw"
    first = D.write_raw(D.fetch_denominator_table(SnapshotSource(old), D.POPULATION, codes, YEARS), raw)
    assert first.path is not None and first.path.parent == raw / "denominators" / "03759ned" / "20240628T020000"
    provenance = json.loads(first.path.with_suffix("").with_suffix(".provenance.json").read_text(encoding="utf-8"))
    assert provenance["table_id"] == "03759ned" and provenance["modified"] == MODIFIED and provenance["file"] == first.path.name
    again = D.write_raw(D.fetch_denominator_table(SnapshotSource(old), D.POPULATION, codes, YEARS), raw)
    assert again.path == first.path  # same selection, same vintage: same file
    D.write_raw(D.fetch_denominator_table(SnapshotSource(new), D.POPULATION, codes[:2], [2023]), raw)
    assert not list(raw.rglob("*.tmp"))
    stored = D.load_raw_denominators(raw)
    inwoners = stored[stored["measure"] == "inwoners"].set_index(["region_code", "year"])
    assert inwoners.loc[(codes[0], 2023), "value"] == synthetic_value(codes[0], 2023) + 5
    assert inwoners.loc[(codes[0], 2023), "vintage"] == "20250301T020000"
    assert inwoners.loc[(codes[0], 2022), "vintage"] == "20240628T020000"
    assert inwoners.loc[(codes[4], 2023), "value"] == synthetic_value(codes[4], 2023)
    assert len(stored) == 5 * len(YEARS) * 2


def write_kwb_snapshot(root: Path, region_list: pd.DataFrame, gemeenten: set[str], year: int = 2023) -> Path:
    """'Kerncijfers wijken en buurten'-shaped snapshot: real GM/WK/BU codes, SYNTHETIC values."""
    table_id = D.KERNCIJFERS_WIJKEN_BUURTEN[year]
    directory = root / table_id
    props = [
        {"ID": 0, "Position": "0", "ParentID": None, "Type": "GeoDetail", "Key": "WijkenEnBuurten", "Title": "Wijken en buurten"},
        {"ID": 1, "Position": "1", "ParentID": None, "Type": "Topic", "Key": "Gemeentenaam_1", "Title": "Gemeentenaam"},
        {"ID": 2, "Position": "2", "ParentID": None, "Type": "Topic", "Key": "SoortRegio_2", "Title": "Soort regio"},
        {"ID": 3, "Position": "3", "ParentID": None, "Type": "Topic", "Key": "Codering_3", "Title": "Codering"},
        {"ID": 4, "Position": "4", "ParentID": None, "Type": "TopicGroup", "Key": "", "Title": "Bevolking"},
        {"ID": 5, "Position": "5", "ParentID": 4, "Type": "Topic", "Key": "AantalInwoners_5", "Title": "Aantal inwoners"},
        {"ID": 6, "Position": "6", "ParentID": None, "Type": "TopicGroup", "Key": "", "Title": "Wonen"},
        {"ID": 7, "Position": "7", "ParentID": 6, "Type": "Topic", "Key": "Woningvoorraad_35", "Title": "Woningvoorraad"},
    ]
    municipality = region_list["Municipality"].str.strip()
    picked = region_list[(municipality.isin(gemeenten) | municipality.isin(["GM0363"])) & (region_list["code"] != "NL00")]
    regions = [{"Key": r.Key, "Title": r.Title, "Municipality": r.Municipality, "DetailRegionCode": r.code} for r in picked.itertuples()]
    rows = [
        {
            "ID": i, "WijkenEnBuurten": r["Key"], "Gemeentenaam_1": "x", "SoortRegio_2": r["Key"][:2], "Codering_3": r["Key"],
            "AantalInwoners_5": synthetic_value(r["Key"].strip(), year) % 5000,
            "Woningvoorraad_35": synthetic_value(r["Key"].strip(), year, "w") % 2500,
        }
        for i, r in enumerate(regions)
    ]
    _write(directory, "TableInfos", _infos(table_id, f"Kerncijfers wijken en buurten {year}"))
    _write(directory, "DataProperties", props)
    _write(directory, "WijkenEnBuurten", regions)
    _write(directory, "TypedDataSet", rows)
    return root


@pytest.fixture(scope="module")
def region_list(shared_dir: Path) -> pd.DataFrame:
    frame = pd.read_csv(shared_dir / "data" / "politie" / "47022NED_WijkenEnBuurten.csv", dtype=str, keep_default_na=False)
    frame["code"] = frame["Key"].str.strip()
    return frame


def test_kerncijfers_gives_wijken_and_buurten_of_the_gemeenten(tmp_path: Path, region_list: pd.DataFrame) -> None:
    root = write_kwb_snapshot(tmp_path, region_list, {"GM0153", "GM0164"})
    spec = D.kerncijfers_table(2023)
    assert spec.table_id == "85618NED"
    frame = D.fetch_denominator_table(SnapshotSource(root), spec, ["GM0153", "GM0164"]).frame
    expected = region_list[region_list["Municipality"].str.strip().isin(["GM0153", "GM0164"]) & region_list["code"].str[:2].isin(["WK", "BU"])]
    assert set(frame["region_code"]) == set(expected["code"])  # no gemeente rows, nothing of Amsterdam
    assert set(frame["region_level"]) == {"wijk", "buurt"}
    assert set(frame["year"]) == {2023} and frame["month"].isna().all()
    woningen = frame[frame["measure"] == "woningen"].set_index("region_code")["value"]
    some = expected["code"].iloc[3]
    assert woningen[some] == synthetic_value(some, 2023, "w") % 2500
    with pytest.raises(ConfigError, match="Bekend"):
        D.kerncijfers_table(2010)


def test_pull_denominators_writes_every_configured_table(tmp_path: Path, population_root: Path) -> None:
    settings = GeographySettings(denominator_tables=("bevolking",))
    frame = D.pull_denominators(SnapshotSource(population_root), ["GM0153", "GM0164"], [2022, 2023], tmp_path / "raw", settings)
    assert sorted(set(zip(frame["region_code"], frame["year"]))) == [("GM0153", 2022), ("GM0153", 2023), ("GM0164", 2022), ("GM0164", 2023)]
    assert len(list((tmp_path / "raw" / "denominators" / "03759ned").rglob("*.parquet"))) == 1
    with pytest.raises(ConfigError, match="Onbekende noemertabel"):
        D.pull_denominators(SnapshotSource(population_root), ["GM0153"], [2022], tmp_path / "raw", GeographySettings(denominator_tables=("inkomen",)))


def test_pull_through_the_local_odata_stub(population_root: Path) -> None:
    stub = pytest.importorskip("veiligheidsbeeld.testing.odata_stub")
    with stub.StubODataServer(population_root, page_size=100) as server:
        source = CbsApiSource(server.catalog_url, use_https=False, retries=0)
        pull = D.fetch_denominator_table(source, D.POPULATION, ["GM0153", "GM0148", "GM0193"], [2021, 2022], max_url_chars=400)
    inwoners = pull.frame[pull.frame["measure"] == "inwoners"].set_index(["region_code", "year"])["value"]
    assert len(inwoners) == 6
    assert inwoners[("GM0193", 2022)] == synthetic_value("GM0193", 2022)
    assert np.isnan(inwoners[SUPPRESSED])
    assert pull.provenance["source"].startswith("http://127.0.0.1:")
