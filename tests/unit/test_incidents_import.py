"""Import of incident extracts: mapping, checks with Dutch messages, versioning, idempotence,
newest import wins, nothing half-imported. All incidents here are SYNTHETIC."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

import duckdb
import pandas as pd
import pytest

from veiligheidsbeeld.config import load_settings
from veiligheidsbeeld.errors import ConfigError, DataError
from veiligheidsbeeld.incidents.importer import import_incidents
from veiligheidsbeeld.warehouse import queries
from veiligheidsbeeld.incidents.settings import IncidentSettings
from veiligheidsbeeld.testing.synthetic_incidents import Area, generate_incidents

ENSCHEDE = Area("GM0153", (255_000.0, 465_000.0, 262_000.0, 472_000.0))


@pytest.fixture
def settings(tmp_path):
    return load_settings(None, warehouse=tmp_path / "wh" / "vb.duckdb")


@pytest.fixture
def extract() -> pd.DataFrame:
    frame = generate_incidents([ENSCHEDE], date(2024, 1, 1), date(2024, 3, 1), burglaries_per_year=300, seed=5)
    return frame.astype({"x": object, "y": object})  # tests put text into them


def write(frame: pd.DataFrame, path, **kw):
    frame.to_csv(path, index=False, **kw)
    return path


def stored(settings) -> pd.DataFrame:
    con = duckdb.connect(str(settings.paths.resolved().warehouse), read_only=True)
    try:
        return con.execute("SELECT * FROM incidenten ORDER BY registratie_id").df()
    finally:
        con.close()


def counts(settings) -> tuple[int, int]:
    con = duckdb.connect(str(settings.paths.resolved().warehouse), read_only=True)
    try:
        return (con.execute("SELECT count(*) FROM incident_imports").fetchone()[0],
                con.execute("SELECT count(*) FROM incident_records").fetchone()[0])
    finally:
        con.close()


def test_import_csv_midpoints_windows_and_versions(settings, extract, tmp_path):
    path = write(extract, tmp_path / "export.csv")
    result = import_incidents(settings, path, synthetic=True)
    assert not result.already_imported
    assert result.rows_imported == len(extract) and result.rows_in_file == len(extract)
    rows = stored(settings)
    assert len(rows) == len(extract) and rows["synthetic"].all()
    one = rows.set_index("registratie_id").loc[extract["registratienummer"].iloc[3]]
    src = extract.iloc[3]
    van, tot = pd.Timestamp(src["pleegdatum_van"]), pd.Timestamp(src["pleegdatum_tot"])
    assert one["pleeg_midden"] == van + (tot - van) / 2
    assert one["venster_dagen"] == (tot - van).days
    assert (one["x"], one["y"]) == (src["x"], src["y"])
    assert result.coordinates == "RD"


def test_same_file_twice_changes_nothing(settings, extract, tmp_path):
    path = write(extract, tmp_path / "export.csv")
    import_incidents(settings, path)
    before = counts(settings)
    again = import_incidents(settings, path)
    assert again.already_imported and "al geïmporteerd" in again.summary()
    assert counts(settings) == before


def test_newest_import_wins_for_a_registration_id(settings, extract, tmp_path):
    first = write(extract, tmp_path / "week1.csv")
    import_incidents(settings, first)
    changed = extract.head(10).copy()
    changed["soort_misdrijf"] = "1.4.6"  # the same registrations, reclassified later
    second = import_incidents(settings, write(changed, tmp_path / "week2.csv"))
    assert second.replaced == 10
    rows = stored(settings).set_index("registratie_id")
    assert len(rows) == len(extract)
    assert (rows.loc[changed["registratienummer"], "soort_code"] == "1.4.6").all()
    assert (rows.drop(changed["registratienummer"])["soort_code"] == extract.set_index("registratienummer").drop(
        changed["registratienummer"])["soort_misdrijf"]).all()
    # Both versions are kept (versioned), the view shows the newest.
    assert counts(settings) == (2, len(extract) + 10)


def test_lon_lat_columns_are_converted_to_rd(settings, tmp_path):
    from veiligheidsbeeld.config import Settings

    frame = pd.DataFrame({
        "registratienummer": ["A1"], "soort_misdrijf": ["1.1.1"], "pleegdatum_van": ["03-02-2024"],
        "lengtegraad": ["6,8937"], "breedtegraad": ["52,2215"],  # Enschede, Dutch decimal comma
    })
    inc = IncidentSettings(kolommen={"x": "", "y": "", "lon": "lengtegraad", "lat": "breedtegraad"}).validate()
    s = dataclasses.replace(settings, incidenten=inc)
    assert isinstance(s, Settings)
    result = import_incidents(s, write(frame, tmp_path / "ll.csv", sep=";"))
    row = stored(s).iloc[0]
    assert result.coordinates.startswith("WGS84")
    assert 257_000 < row["x"] < 259_500 and 470_000 < row["y"] < 472_500
    assert row["pleeg_van"] == datetime(2024, 2, 3)  # day first


def test_excel_and_parquet(settings, extract, tmp_path):
    xlsx = tmp_path / "export.xlsx"
    extract.head(20).to_excel(xlsx, index=False)
    assert import_incidents(settings, xlsx).rows_imported == 20
    pq = tmp_path / "export.parquet"
    extract.iloc[20:40].to_parquet(pq)
    assert import_incidents(settings, pq).rows_imported == 20
    assert len(stored(settings)) == 40


def test_rows_without_date_or_place_are_reported_not_dropped_silently(settings, extract, tmp_path):
    frame = extract.head(30).copy()
    frame.loc[3, "pleegdatum_van"] = ""
    frame.loc[7, "x"] = ""
    result = import_incidents(settings, write(frame, tmp_path / "gaps.csv"))
    assert result.rows_imported == 28
    assert list(result.unusable["file_row"]) == [5, 9]  # spreadsheet rows (header = 1)
    assert set(result.unusable["reason"]) == {"geen pleegdatum", "geen locatie"}
    assert "2 rijen zonder bruikbare datum of plaats" in result.summary()
    con = duckdb.connect(str(settings.paths.resolved().warehouse), read_only=True)
    assert con.execute("SELECT count(*) FROM incident_unusable").fetchone()[0] == 2
    con.close()


def test_duplicate_ids_in_one_file_keep_the_last_row(settings, extract, tmp_path):
    frame = extract.head(5).copy()
    dup = frame.iloc[[1]].copy()
    dup["soort_misdrijf"] = "1.4.7"
    frame = pd.concat([frame, dup], ignore_index=True)
    result = import_incidents(settings, write(frame, tmp_path / "dup.csv"))
    assert result.duplicates == 1 and result.rows_imported == 5
    assert stored(settings).set_index("registratie_id").loc[dup["registratienummer"].iloc[0], "soort_code"] == "1.4.7"


def test_soort_mapping_from_toml(tmp_path, extract):
    toml = tmp_path / "vb.toml"
    toml.write_text(
        '[incidenten]\nkolommen = { registratie_id = "BVH-nummer", soort = "Maatschappelijke klasse" }\n'
        'soort_mapping = { "Inbraak woning" = "1.1.1" }\ncel_grootte_m = 150\n',
        encoding="utf-8",
    )
    settings = load_settings(toml, warehouse=tmp_path / "vb.duckdb")
    assert settings.incidenten.cel_grootte_m == 150
    assert settings.incidenten.column("x") == "x"  # roles not named keep their default
    frame = extract.head(3).rename(columns={"registratienummer": "BVH-nummer", "soort_misdrijf": "Maatschappelijke klasse"})
    frame["Maatschappelijke klasse"] = "inbraak woning"  # case does not matter
    import_incidents(settings, write(frame, tmp_path / "bvh.csv"))
    assert (stored(settings)["soort_code"] == "1.1.1").all()


@pytest.mark.parametrize("cells", [50, 400])
def test_cell_size_outside_100_250_is_refused(tmp_path, cells):
    toml = tmp_path / "vb.toml"
    toml.write_text(f"[incidenten]\ncel_grootte_m = {cells}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="100 t/m 250"):
        load_settings(toml)


# --- bad input: one Dutch sentence naming column and rows, nothing written -------------------


def bad_case(settings, tmp_path, extract, mutate, match):
    good = write(extract.head(10), tmp_path / "good.csv")
    import_incidents(settings, good)
    before = counts(settings), stored(settings)
    frame = extract.iloc[10:20].reset_index(drop=True).copy()
    frame = mutate(frame)
    path = tmp_path / "bad.csv"
    if isinstance(frame, str):
        path.write_text(frame, encoding="utf-8")
    else:
        write(frame, path)
    with pytest.raises(DataError, match=match) as err:
        import_incidents(settings, path)
    assert "\n" not in str(err.value)
    after = counts(settings), stored(settings)
    assert after[0] == before[0]
    pd.testing.assert_frame_equal(after[1], before[1])
    return str(err.value)


def test_missing_column(settings, tmp_path, extract):
    msg = bad_case(settings, tmp_path, extract, lambda f: f.drop(columns=["pleegdatum_van"]),
                   "ontbreekt de kolom 'pleegdatum_van'")
    assert "registratienummer" in msg  # lists what the file has


def test_unparseable_dates_name_column_and_rows(settings, tmp_path, extract):
    def mutate(f):
        f.loc[[2, 6], "pleegdatum_van"] = "gisteren"
        return f
    msg = bad_case(settings, tmp_path, extract, mutate, "Kolom 'pleegdatum_van'")
    assert "rijen 4, 8" in msg and "gisteren" in msg


def test_window_ending_before_it_starts(settings, tmp_path, extract):
    def mutate(f):
        f.loc[0, "pleegdatum_tot"] = "2023-01-01"
        return f
    bad_case(settings, tmp_path, extract, mutate, r"pleegdatum_tot.*vóór.*rij 2")


def test_coordinates_outside_the_netherlands(settings, tmp_path, extract):
    def mutate(f):
        f.loc[4, "x"] = 450_000.0  # east of Germany's border
        return f
    msg = bad_case(settings, tmp_path, extract, mutate, "buiten Nederland")
    assert "'x' en 'y'" in msg and "rij 6" in msg


def test_lon_lat_given_as_rd(settings, tmp_path, extract):
    def mutate(f):
        f["x"], f["y"] = 6.89, 52.22
        return f
    msg = bad_case(settings, tmp_path, extract, mutate, "lengte- en breedtegraden")
    assert "lon en lat" in msg


def test_rd_given_as_lon_lat(settings, tmp_path, extract):
    inc = IncidentSettings(kolommen={"x": "", "y": "", "lon": "x", "lat": "y"}).validate()
    s = dataclasses.replace(settings, incidenten=inc)
    with pytest.raises(DataError, match="geen graden"):
        import_incidents(s, write(extract.head(5), tmp_path / "rd.csv"))


def test_unknown_crime_type(settings, tmp_path, extract):
    def mutate(f):
        f.loc[1, "soort_misdrijf"] = "Fietsdiefstal"
        return f
    bad_case(settings, tmp_path, extract, mutate, "onbekende soort misdrijf 'Fietsdiefstal'.*soort_mapping")


def test_empty_file_and_header_only(settings, tmp_path, extract):
    bad_case(settings, tmp_path, extract, lambda f: "", "leeg")
    bad_case(settings, tmp_path, extract, lambda f: ",".join(extract.columns) + "\n", "alleen een kopregel")


def test_file_where_no_row_is_usable(settings, tmp_path, extract):
    def mutate(f):
        f["x"] = ""
        return f
    bad_case(settings, tmp_path, extract, mutate, "geen enkel bruikbaar incident")


def test_read_incidents_by_code_and_period(settings, extract, tmp_path):
    import_incidents(settings, write(extract, tmp_path / "e.csv"))
    con = duckdb.connect(str(settings.paths.resolved().warehouse), read_only=True)
    got = queries.incidents(con, ["1.1.1"], datetime(2024, 2, 1), datetime(2024, 3, 1))
    con.close()
    mid = pd.to_datetime(extract["pleegdatum_van"]) + (pd.to_datetime(extract["pleegdatum_tot"]) - pd.to_datetime(extract["pleegdatum_van"])) / 2
    want = extract[(extract["soort_misdrijf"] == "1.1.1") & (mid >= "2024-02-01") & (mid < "2024-03-01")]
    assert sorted(got["registratie_id"]) == sorted(want["registratienummer"])
